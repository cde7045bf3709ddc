// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's vhost-net backend (-n mode=tap,vhost=on): a tap (opened by
 * net/tap.c) with the data path in the kernel, /dev/vhost-net, one per
 * queue pair. What every vhost device does (memory table, rings, kick
 * routes, the thread relaying vhost's calls to the transport) is
 * virtio/vhost.c's; here only the taps and VHOST_NET_SET_BACKEND.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <unistd.h>

#include "lkvm/net-backend.h"
#include "lkvm/util.h"
#include "lkvm/vhost.h"

/* Ring features vhost-net must support for us to offer them. */
#define VHOST_F_RING	(BIT_ULL(VIRTIO_F_VERSION_1) |			\
			 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |		\
			 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |		\
			 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))

/* A queue pair: its tap queue and its vhost-net instance (2 rings). */
struct vhost_pair {
	int tap_fd;
	struct vhost_dev vd;	/* ring 0 receiveq, ring 1 transmitq */
	bool running;
};

/* The device's: the thread that relays vhost's calls. */
struct vhost_state {
	struct vhost_relay relay;
};

static struct vhost_pair *vhost_pair(struct vnet *vn, unsigned int i)
{
	return vn->pairs[i]->be;
}

static void vhost_stop_pair(struct vhost_pair *vp)
{
	struct vhost_vring_file f;
	unsigned int i;

	if (!vp->running)
		return;
	for (i = 0; i < 2; i++) {
		f = (struct vhost_vring_file) { .index = i, .fd = -1 };
		vhost_dev_ioctl(&vp->vd, VHOST_NET_SET_BACKEND, &f,
				"VHOST_NET_SET_BACKEND(off)");
	}
	vp->running = false;
}

static int vhost_start_pair(struct vnet *vn, unsigned int idx)
{
	struct vhost_pair *vp = vhost_pair(vn, idx);
	struct vhost_vring_file f;
	unsigned int i;
	int ret;

	ret = vhost_dev_start(&vp->vd, vn->vdev.driver_features & VHOST_F_RING);
	if (ret < 0)
		return ret;
	net_tap_set_offloads(vn, vp->tap_fd);
	for (i = 0; i < 2; i++) {
		f = (struct vhost_vring_file) { .index = i, .fd = vp->tap_fd };
		ret = vhost_dev_ioctl(&vp->vd, VHOST_NET_SET_BACKEND, &f,
				      "VHOST_NET_SET_BACKEND");
		if (ret < 0)
			return ret;
	}
	vp->running = true;
	vhost_dev_replay_kicks(&vp->vd);
	return 0;
}

static int vhost_open_pair(struct vnet *vn, struct vhost_pair *vp)
{
	int ret = vhost_dev_open(&vp->vd);

	if (ret < 0)
		return ret;
	/* offer only the ring features vhost can do */
	vn->vdev.features &= ~(VHOST_F_RING & ~vp->vd.features);
	return 0;
}

/* ---- the backend ---- */

static int vhost_open(struct vnet *vn)
{
	struct vhost_state *vs = calloc(1, sizeof(*vs));
	unsigned int i;
	int ret;

	if (!vs)
		return -ENOMEM;
	vn->be_state = vs;
	for (i = 0; i < vn->nr_pairs; i++) {
		struct vhost_pair *vp = calloc(1, sizeof(*vp));

		if (!vp)
			return -ENOMEM;
		vp->tap_fd = -1;
		vhost_dev_init(&vp->vd, &vn->vdev, vn->name, "/dev/vhost-net",
			       vnet_rx_q(i), 2);
		vn->pairs[i]->be = vp;
		vp->tap_fd = net_tap_open_queue(vn, i);
		if (vp->tap_fd < 0)
			return vp->tap_fd;
		ret = vhost_open_pair(vn, vp);
		if (ret < 0)
			return ret;
	}
	return net_tap_configure(vn);
}

/* Once registered: vhost's kicks straight from KVM, and the relay. */
static int vhost_run(struct vnet *vn)
{
	struct vhost_state *vs = vn->be_state;
	struct vhost_dev *devs[NET_MAX_QUEUE_PAIRS];
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		devs[i] = &vhost_pair(vn, i)->vd;
		vhost_dev_route_kicks(devs[i]);
	}
	return vhost_relay_start(&vs->relay, devs, vn->nr_pairs,
				 "net-vhost-irq");
}

static int vhost_start(struct vnet *vn)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vn->nr_pairs; i++) {
		/* pairs the driver did not set up stay idle */
		if (!vn->vdev.vqs[vnet_rx_q(i)].ready ||
		    !vn->vdev.vqs[vnet_tx_q(i)].ready)
			continue;
		ret = vhost_start_pair(vn, i);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* KVM could not signal vhost itself: pass the kick on */
static void vhost_notify(struct vnet *vn, unsigned int q)
{
	vhost_dev_kick(&vhost_pair(vn, q / 2)->vd, q);
}

static void vhost_reset(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++)
		vhost_stop_pair(vhost_pair(vn, i));
}

static void vhost_stop(struct vnet *vn)
{
	struct vhost_state *vs = vn->be_state;

	if (vs)
		vhost_relay_stop(&vs->relay);
}

static void vhost_close_pair(struct vhost_pair *vp)
{
	if (vp->vd.fd >= 0)
		vhost_stop_pair(vp);
	vhost_dev_close(&vp->vd);
	if (vp->tap_fd >= 0)
		close(vp->tap_fd);
	free(vp);
}

static void vhost_close(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		if (vhost_pair(vn, i))
			vhost_close_pair(vhost_pair(vn, i));
		vn->pairs[i]->be = NULL;
	}
	free(vn->be_state);
	vn->be_state = NULL;
}

const struct net_backend_ops net_vhost_ops = {
	.features = VNET_F_OFFLOADS,
	.multiqueue = true,
	.open = vhost_open,
	.run = vhost_run,
	.start = vhost_start,
	.notify = vhost_notify,
	.reset = vhost_reset,
	.stop = vhost_stop,
	.close = vhost_close,
};
