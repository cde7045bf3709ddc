// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-vsock (--vsock CID): AF_VSOCK between the host and the guest
 * with no network, the data path in the host kernel (/dev/vhost-vsock,
 * the vhost_vsock module).
 *
 * Queues: rx 0 and tx 1 are vhost's (virtio/vhost.c hands them over at
 * DRIVER_OK and relays its interrupts); the event queue 2 stays with
 * lkvm, as the spec has it: its buffers are only held, since the one
 * event (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) is for migration, which
 * lkvm does not do. Config space: the guest's CID (le64, read-only).
 *
 * The CID is taken at start-up (VHOST_VSOCK_SET_GUEST_CID): one already
 * used by another VM on this host fails there, in one line.
 */
#include <endian.h>
#include <errno.h>
#include <linux/vhost.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio.h"

#define VSOCK_QUEUE_SIZE	256
#define VSOCK_NR_QUEUES		3	/* rx, tx, event */
#define VSOCK_EVENT_Q		2
#define VSOCK_CONFIG_SIZE	8	/* le64 guest_cid */
/* Features vhost-vsock must support for us to offer them. */
#define VSOCK_F_VHOST	(BIT_ULL(VIRTIO_F_VERSION_1) |			\
			 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |		\
			 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |		\
			 BIT_ULL(VIRTIO_VSOCK_F_SEQPACKET))

struct vvsock {
	struct virtio_device vdev;
	struct vhost_dev vd;		/* rings 0 rx, 1 tx */
	struct vhost_relay relay;
	u64 cid;
	bool running;			/* under vdev.lock */
};

static void vsock_config(struct virtio_device *vdev, u32 offset, u8 *data,
			 u32 len, bool is_write)
{
	struct vvsock *vs = vdev->priv;
	u64 cid = htole64(vs->cid);

	if (!is_write)
		memcpy(data, (u8 *)&cid + offset, len);
}

static int vsock_set_running(struct vvsock *vs, int on)
{
	return vhost_dev_ioctl(&vs->vd, VHOST_VSOCK_SET_RUNNING, &on,
			       on ? "VHOST_VSOCK_SET_RUNNING" :
			       "VHOST_VSOCK_SET_RUNNING(off)");
}

static int vsock_start(struct virtio_device *vdev)
{
	struct vvsock *vs = vdev->priv;
	int ret;

	ret = vhost_dev_start(&vs->vd, vdev->driver_features & VSOCK_F_VHOST);
	if (!ret)
		ret = vsock_set_running(vs, 1);
	if (ret < 0)
		return ret;
	vs->running = true;
	vhost_dev_replay_kicks(&vs->vd);
	return 0;
}

/* rx/tx kicks KVM could not route; the event queue's buffers are held. */
static void vsock_notify(struct virtio_device *vdev, unsigned int q)
{
	struct vvsock *vs = vdev->priv;

	if (q != VSOCK_EVENT_Q)
		vhost_dev_kick(&vs->vd, q);
}

static void vsock_reset(struct virtio_device *vdev)
{
	struct vvsock *vs = vdev->priv;

	if (vs->running)
		vsock_set_running(vs, 0);
	vs->running = false;
}

static void vsock_free(struct vvsock *vs)
{
	vhost_relay_stop(&vs->relay);
	if (vs->running)
		vsock_set_running(vs, 0);
	virtio_unregister(&vs->vdev);
	vhost_dev_close(&vs->vd);
	free(vs);
}

static void vsock_exit(struct virtio_device *vdev)
{
	vsock_free(vdev->priv);
}

static const struct virtio_device_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.features = BIT_ULL(VIRTIO_VSOCK_F_SEQPACKET),
	.nr_queues = VSOCK_NR_QUEUES,
	.queue_size = VSOCK_QUEUE_SIZE,
	.config_size = VSOCK_CONFIG_SIZE,
	.config_access = vsock_config,
	.start = vsock_start,
	.notify = vsock_notify,
	.reset = vsock_reset,
	.exit = vsock_exit,
};

/* Claim the CID on this host: one line if another VM has it. */
static int vsock_set_cid(struct vvsock *vs)
{
	u64 cid = vs->cid;

	if (ioctl(vs->vd.fd, VHOST_VSOCK_SET_GUEST_CID, &cid) >= 0)
		return 0;
	if (errno == EADDRINUSE)
		pr_err("--vsock %llu: guest CID %llu is in use by another VM on this host; give another",
		       (unsigned long long)vs->cid, (unsigned long long)vs->cid);
	else
		pr_err("--vsock %llu: %s VHOST_VSOCK_SET_GUEST_CID: %s",
		       (unsigned long long)vs->cid, vs->vd.path, strerror(errno));
	return -errno;
}

/* /dev/vhost-vsock opened, the CID ours, the features vhost can do. */
static int vsock_open(struct vvsock *vs)
{
	int ret = vhost_dev_open(&vs->vd);

	if (!ret)
		ret = vsock_set_cid(vs);
	if (ret < 0)
		return ret;
	vs->vdev.features &= ~(VSOCK_F_VHOST & ~vs->vd.features);
	return 0;
}

static int vsock_init(struct kvm *kvm)
{
	struct vhost_dev *vd;
	struct vvsock *vs;
	int ret;

	if (!kvm->cfg.vsock_cid)
		return 0;
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->cid = kvm->cfg.vsock_cid;
	virtio_device_init(&vs->vdev, &vsock_ops, kvm, &kvm->mem, vs);
	vhost_dev_init(&vs->vd, &vs->vdev, "vsock", "/dev/vhost-vsock", 0, 2);
	ret = vsock_open(vs);
	if (ret < 0)
		goto err_free;
	ret = virtio_register(kvm, &vs->vdev);
	if (ret < 0) {
		pr_err("virtio-vsock: cannot register the device: %s",
		       strerror(-ret));
		goto err_free;
	}
	/* registered: from here on the registry frees it */
	vhost_dev_route_kicks(&vs->vd);
	vd = &vs->vd;
	ret = vhost_relay_start(&vs->relay, &vd, 1, "vsock-vhost-irq");
	if (ret < 0)
		pr_err("virtio-vsock: cannot start its interrupt relay: %s",
		       strerror(-ret));
	return ret;

err_free:
	vsock_free(vs);
	return ret;
}
lkvm_init(INIT_DEV, vsock_init, NULL);
