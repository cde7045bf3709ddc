// SPDX-License-Identifier: GPL-2.0
/* virtio-rng (--rng): the guest's hwrng, fed by the host's getrandom(). */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

#define VRNG_QUEUE_SIZE		64

struct vrng {
	struct virtio_device vdev;
	struct virtq_elem elem;		/* under vdev.lock */
};

/* Fill @iov with random bytes; returns how many were written. */
static u32 vrng_fill(const struct iovec *iov, unsigned int n)
{
	unsigned int i;
	size_t off;
	ssize_t got;
	u32 done = 0;

	for (i = 0; i < n; i++) {
		for (off = 0; off < iov[i].iov_len; off += got) {
			got = getrandom((u8 *)iov[i].iov_base + off,
					iov[i].iov_len - off, 0);
			if (got < 0 && errno == EINTR) {
				got = 0;
				continue;
			}
			if (got <= 0) {
				pr_warn_ratelimited("virtio-rng: getrandom: %s",
						    strerror(errno));
				return done;
			}
			done += got;
		}
	}
	return done;
}

static void vrng_notify(struct virtio_device *vdev, unsigned int q)
{
	struct vrng *vr = vdev->priv;
	struct virtqueue *vq = &vdev->vqs[0];
	struct virtq_elem *e = &vr->elem;
	enum virtq_pop_result r;

	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT)
			virtq_push(vq, e->head,
				   vrng_fill(virtq_elem_in(e), e->in_num));
		virtio_notify_used(vdev, 0);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed requestq chain");
}

static void vrng_exit(struct virtio_device *vdev)
{
	virtio_unregister(vdev);
	zfree_lazy(vdev->priv, sizeof(struct vrng));
}

static const struct virtio_device_ops vrng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_size = VRNG_QUEUE_SIZE,
	.notify = vrng_notify,
	.exit = vrng_exit,
};

static int vrng_init(struct kvm *kvm)
{
	struct vrng *vr;
	int ret;

	if (!kvm->cfg.rng)
		return 0;
	vr = zalloc_lazy(sizeof(*vr));
	if (!vr)
		return -ENOMEM;
	virtio_device_init(&vr->vdev, &vrng_ops, kvm, &kvm->mem, vr);
	ret = virtio_register(kvm, &vr->vdev);
	if (ret < 0) {
		pr_err("virtio-rng: cannot register the device: %s",
		       strerror(-ret));
		zfree_lazy(vr, sizeof(*vr));
		return ret;
	}
	return 0;
}
lkvm_init(INIT_DEV, vrng_init, NULL);
