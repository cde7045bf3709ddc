// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console with a single port (no MULTIPORT): the guest's hvc0.
 * With --console virtio it owns the terminal: what the user types fills
 * the receiveq's buffers, what the guest writes to the transmitq goes to
 * term_output(). The UART stays in the machine, and prints, so an
 * earlycon on it still shows the early boot.
 */
#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/init.h"
#include "lkvm/iov.h"
#include "lkvm/kvm.h"
#include "lkvm/serial.h"
#include "lkvm/term.h"
#include "lkvm/virtio.h"

#define VCON_RX			0	/* receiveq: host -> guest */
#define VCON_TX			1	/* transmitq: guest -> host */
#define VCON_QUEUE_SIZE		256

struct vcon {
	struct virtio_device vdev;
	struct console_ops console;
	bool owns_term;
	struct virtq_elem elem;		/* under vdev.lock */
};

/* No feature that uses the config space is offered: it reads as zeroes. */
static void vcon_config(struct virtio_device *vdev, u32 offset, u8 *data,
			u32 len, bool is_write)
{
	if (!is_write)
		memset(data, 0, len);
}

/*
 * Host keyboard -> receiveq. Takes what the guest has buffers for, and
 * nothing when it has none or the VM is paused (lkvm pause: no guest
 * memory is written until the resume): the terminal keeps the rest and
 * retries.
 */
static size_t vcon_input(void *opaque, const u8 *buf, size_t len)
{
	struct vcon *vc = opaque;
	struct virtio_device *vdev = &vc->vdev;
	struct virtqueue *vq = &vdev->vqs[VCON_RX];
	struct virtq_elem *e = &vc->elem;
	enum virtq_pop_result r = VIRTQ_EMPTY;
	size_t done = 0, n;
	bool pushed = false;

	pthread_mutex_lock(&vdev->lock);
	if (!virtio_device_live(vdev) || vdev->paused)
		goto out;
	while (done < len && (r = virtq_pop(vq, e)) == VIRTQ_GOT) {
		n = iov_from_buf(virtq_elem_in(e), e->in_num, 0, buf + done,
				 len - done);
		virtq_push(vq, e->head, n);
		pushed = true;
		done += n;
	}
	if (pushed)
		virtio_notify_used(vdev, VCON_RX);
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed receiveq chain");
out:
	pthread_mutex_unlock(&vdev->lock);
	return done;
}

/* transmitq -> terminal; see virtio.h for the notification dance. */
static void vcon_transmit(struct vcon *vc)
{
	struct virtio_device *vdev = &vc->vdev;
	struct virtqueue *vq = &vdev->vqs[VCON_TX];
	struct virtq_elem *e = &vc->elem;
	enum virtq_pop_result r;
	unsigned int i;

	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT) {
			for (i = 0; i < e->out_num; i++)
				term_output(vdev->kvm, e->iov[i].iov_base,
					    e->iov[i].iov_len);
			virtq_push(vq, e->head, 0);
		}
		virtio_notify_used(vdev, VCON_TX);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed transmitq chain");
}

/* A receiveq kick needs nothing: the terminal retries pending input. */
static void vcon_notify(struct virtio_device *vdev, unsigned int q)
{
	if (q == VCON_TX)
		vcon_transmit(vdev->priv);
}

static void vcon_exit(struct virtio_device *vdev)
{
	struct vcon *vc = vdev->priv;

	/* Once this returns, the terminal thread no longer calls us. */
	if (vc->owns_term)
		term_set_console(vdev->kvm, NULL);
	virtio_unregister(vdev);
	zfree_lazy(vc, sizeof(*vc));
}

static const struct virtio_device_ops vcon_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.queue_size = VCON_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_console_config),
	.config_access = vcon_config,
	.notify = vcon_notify,
	.exit = vcon_exit,
};

static int vcon_init(struct kvm *kvm)
{
	struct vcon *vc;
	int ret;

	/* hw/serial.c owns the terminal otherwise. */
	if (kvm->cfg.console != CONSOLE_VIRTIO)
		return 0;
	vc = zalloc_lazy(sizeof(*vc));
	if (!vc)
		return -ENOMEM;
	virtio_device_init(&vc->vdev, &vcon_ops, kvm, &kvm->mem, vc);
	ret = virtio_register(kvm, &vc->vdev);
	if (ret < 0) {
		pr_err("virtio-console: cannot register the device: %s",
		       strerror(-ret));
		zfree_lazy(vc, sizeof(*vc));
		return ret;
	}
	/* hvc0 is the console; the UART's earlycon still shows the early boot */
	ret = serial_add_console_params(kvm, "hvc0");
	if (ret < 0) {
		virtio_unregister(&vc->vdev);
		zfree_lazy(vc, sizeof(*vc));
		return ret;
	}
	vc->console = (struct console_ops) {
		.input = vcon_input,
		.opaque = vc,
	};
	term_set_console(kvm, &vc->console);
	vc->owns_term = true;
	return 0;
}
lkvm_init(INIT_DEV, vcon_init, NULL);
