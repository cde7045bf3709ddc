// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's relay between the queues and the backends: delivery of
 * one received packet into a receiveq, the transmit loop that hands each
 * buffer to a backend's send, and the threads the backends run. Both the
 * device (virtio/net.c) and the backends (net/tap.c, net/slirp.c,
 * net/vhost.c) call it; it calls neither, so the backends sit between it
 * and the device without a loop. Portable: unit-tested natively.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/net-backend.h"
#include "lkvm/util.h"

void vnet_wake(int fd)
{
	u64 one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("virtio-net: eventfd write: %s",
				    strerror(errno));
}

void vnet_drain(int fd)
{
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("virtio-net: eventfd read: %s",
				    strerror(errno));
}

int vnet_thread_start(struct vnet_thread *t, void *(*fn)(void *), void *arg,
		      const char *name)
{
	int ret;

	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0)
		return -errno;
	ret = -pthread_create(&t->tid, NULL, fn, arg);
	if (ret)
		return ret;
	t->started = true;
	pthread_setname_np(t->tid, name);
	return 0;
}

void vnet_thread_stop(struct vnet_thread *t)
{
	if (t->started) {
		vnet_wake(t->wake_fd);
		pthread_join(t->tid, NULL);
		t->started = false;
	}
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	t->wake_fd = -1;
}

static bool vnet_mergeable(struct vnet *vn)
{
	return vn->vdev.driver_features & BIT_ULL(VIRTIO_NET_F_MRG_RXBUF);
}

bool vnet_rx_one(struct vnet *vn, struct vnet_pair *p, const u8 *pkt,
		 size_t len)
{
	struct virtio_device *vdev = &vn->vdev;
	struct virtqueue *vq = &vdev->vqs[vnet_rx_q(p->idx)];
	enum net_rx_result r;

	/*
	 * lkvm pause: the frame waits with the backend, as for want of
	 * buffers; the resume serves this receiveq as if kicked, which
	 * wakes the backend's delivery.
	 */
	if (vdev->paused) {
		vdev->held_kicks |= 1ULL << vnet_rx_q(p->idx);
		return false;
	}
	for (;;) {
		r = net_rx_deliver(vq, &p->rx_elem[0], &p->rx_elem[1], pkt, len,
				   vnet_mergeable(vn));
		switch (r) {
		case NET_RX_DONE:
			vnet_stat_add(&vn->rx_frames, 1);
			return true;
		case NET_RX_DROPPED:
			vnet_stat_add(&vn->rx_dropped, 1);
			pr_warn_ratelimited("virtio-%s: receive buffers too small for a %zu-byte frame: dropped",
					    vn->name, len - NET_HDR_LEN);
			return true;
		case NET_RX_BAD:
			vnet_stat_add(&vn->rx_dropped, 1);
			virtio_device_broken(vdev, "malformed receiveq chain");
			return true;
		case NET_RX_NO_BUFFERS:
			/* buffers may have come meanwhile: then retry */
			if (!virtq_enable_notify(vq, true))
				return false;
			break;
		}
	}
}

void vnet_tx(struct vnet *vn, struct vnet_pair *p, vnet_send_fn *send)
{
	struct virtio_device *vdev = &vn->vdev;
	unsigned int q = vnet_tx_q(p->idx);
	struct virtqueue *vq = &vdev->vqs[q];
	struct virtq_elem *e = &p->tx_elem;
	struct net_tx_caps caps = net_tx_caps_from_features(vdev->driver_features);
	enum virtq_pop_result r;

	if (!vq->ready)
		return;
	/* paused: a backend that polls (user) takes no frame either */
	if (vdev->paused) {
		vdev->held_kicks |= 1ULL << q;
		return;
	}
	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT) {
			if (send(vn, p, e, &caps))
				vnet_stat_add(&vn->tx_frames, 1);
			else
				vnet_stat_add(&vn->tx_dropped, 1);
			virtq_push(vq, e->head, 0);
		}
		virtio_notify_used(vdev, q);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed transmitq chain");
}

bool vnet_tx_bad(struct vnet *vn, enum net_tx_error err)
{
	pr_warn_ratelimited("virtio-%s: transmit buffer dropped: %s",
			    vn->name, net_tx_strerror(err));
	return false;
}
