// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's vhost-net backend (-n mode=tap,vhost=on): a tap (opened by
 * net/tap.c) with the data path in the kernel, /dev/vhost-net, one per
 * queue pair. KVM signals vhost's kick eventfds directly (the
 * transport's set_kick_fd); vhost's call eventfds are relayed by a
 * thread to the transport's signal_vq, so that MMIO's InterruptStatus
 * and PCI's MSI-X masking and INTx stay right on both transports.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/net-backend.h"
#include "lkvm/seccomp.h"
#include "lkvm/util.h"

/* Ring features vhost-net must support for us to offer them. */
#define VHOST_F_RING	(BIT_ULL(VIRTIO_F_VERSION_1) |			\
			 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |		\
			 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |		\
			 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))

/* A queue pair: its tap queue, its vhost-net instance, their eventfds. */
struct vhost_pair {
	int tap_fd;
	int vhost_fd;
	int kick_fd[2], call_fd[2];	/* [0] receiveq, [1] transmitq */
	bool running;
};

/* The device's: the thread that relays vhost's calls. */
struct vhost_state {
	struct vnet_thread relay;
};

static struct vhost_pair *vhost_pair(struct vnet *vn, unsigned int i)
{
	return vn->pairs[i]->be;
}

static int vhost_ioctl(struct vnet *vn, int fd, unsigned long req, void *arg,
		       const char *what)
{
	if (ioctl(fd, req, arg) < 0) {
		int ret = -errno;

		pr_err("virtio-%s: vhost-net %s: %s", vn->name, what,
		       strerror(errno));
		return ret;
	}
	return 0;
}

static void vhost_stop_pair(struct vnet *vn, struct vhost_pair *vp)
{
	struct vhost_vring_file f;
	unsigned int i;

	if (!vp->running)
		return;
	for (i = 0; i < 2; i++) {
		f = (struct vhost_vring_file) { .index = i, .fd = -1 };
		vhost_ioctl(vn, vp->vhost_fd, VHOST_NET_SET_BACKEND, &f,
			    "VHOST_NET_SET_BACKEND(off)");
	}
	vp->running = false;
}

/* Features and guest memory (one region: all of it). */
static int vhost_set_mem(struct vnet *vn, struct vhost_pair *vp)
{
	const struct guest_mem *mem = vn->vdev.mem;
	struct vhost_memory *vm;
	u64 features;
	int ret;

	features = vn->vdev.driver_features & VHOST_F_RING;
	ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_FEATURES, &features,
			  "VHOST_SET_FEATURES");
	if (ret < 0)
		return ret;
	vm = calloc(1, sizeof(*vm) + sizeof(vm->regions[0]));
	if (!vm)
		return -ENOMEM;
	vm->nregions = 1;
	vm->regions[0] = (struct vhost_memory_region) {
		.guest_phys_addr = mem->gpa_start,
		.memory_size = mem->size,
		.userspace_addr = (u64)(unsigned long)mem->host,
	};
	ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_MEM_TABLE, vm,
			  "VHOST_SET_MEM_TABLE");
	free(vm);
	return ret;
}

/* Hand ring @i (0 receiveq, 1 transmitq) of virtqueue @vq to vhost. */
static int vhost_set_ring(struct vnet *vn, struct vhost_pair *vp,
			  unsigned int i, struct virtqueue *vq)
{
	struct vhost_vring_state st;
	struct vhost_vring_addr addr;
	struct vhost_vring_file f;
	int ret;

	st = (struct vhost_vring_state) { .index = i, .num = vq->size };
	ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_VRING_NUM, &st,
			  "VHOST_SET_VRING_NUM");
	if (ret < 0)
		return ret;
	st = (struct vhost_vring_state) { .index = i, .num = vq->last_avail };
	ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_VRING_BASE, &st,
			  "VHOST_SET_VRING_BASE");
	if (ret < 0)
		return ret;
	addr = (struct vhost_vring_addr) {
		.index = i,
		.desc_user_addr = (u64)(unsigned long)vq->desc,
		.avail_user_addr = (u64)(unsigned long)vq->avail,
		.used_user_addr = (u64)(unsigned long)vq->used,
	};
	ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_VRING_ADDR, &addr,
			  "VHOST_SET_VRING_ADDR");
	if (ret < 0)
		return ret;
	f = (struct vhost_vring_file) { .index = i, .fd = vp->kick_fd[i] };
	ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_VRING_KICK, &f,
			  "VHOST_SET_VRING_KICK");
	if (ret < 0)
		return ret;
	f = (struct vhost_vring_file) { .index = i, .fd = vp->call_fd[i] };
	return vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_VRING_CALL, &f,
			   "VHOST_SET_VRING_CALL");
}

static int vhost_start_pair(struct vnet *vn, unsigned int idx)
{
	struct vhost_pair *vp = vhost_pair(vn, idx);
	struct vhost_vring_file f;
	unsigned int i;
	int ret;

	ret = vhost_set_mem(vn, vp);
	if (ret < 0)
		return ret;
	for (i = 0; i < 2; i++) {
		struct virtqueue *vq = &vn->vdev.vqs[2 * idx + i];

		if (!vq->ready)
			return -EINVAL;
		ret = vhost_set_ring(vn, vp, i, vq);
		if (ret < 0)
			return ret;
	}
	net_tap_set_offloads(vn, vp->tap_fd);
	for (i = 0; i < 2; i++) {
		f = (struct vhost_vring_file) { .index = i, .fd = vp->tap_fd };
		ret = vhost_ioctl(vn, vp->vhost_fd, VHOST_NET_SET_BACKEND, &f,
				  "VHOST_NET_SET_BACKEND");
		if (ret < 0)
			return ret;
	}
	vp->running = true;
	/* kicks that came before the rings were handed over */
	vnet_wake(vp->kick_fd[0]);
	vnet_wake(vp->kick_fd[1]);
	return 0;
}

/* vhost's "used buffers" eventfds -> the transport's interrupt. */
static void *vhost_relay_thread(void *arg)
{
	struct vnet *vn = arg;
	struct vhost_state *vs = vn->be_state;
	struct pollfd pfd[1 + 2 * NET_MAX_QUEUE_PAIRS];
	unsigned int i, n;

	seccomp_apply(SECCOMP_NET_VHOST);
	while (!vnet_stopping(vn)) {
		n = 0;
		pfd[n++] = (struct pollfd) { .fd = vs->relay.wake_fd, .events = POLLIN };
		for (i = 0; i < 2 * vn->nr_pairs; i++)
			pfd[n++] = (struct pollfd) {
				.fd = vhost_pair(vn, i / 2)->call_fd[i % 2],
				.events = POLLIN,
			};
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("virtio-%s: poll: %s", vn->name, strerror(errno));
			break;
		}
		for (i = 1; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			vnet_drain(pfd[i].fd);
			if (vn->vdev.transport && vn->vdev.transport->signal_vq)
				vn->vdev.transport->signal_vq(&vn->vdev, i - 1);
		}
	}
	return NULL;
}

static int vhost_open_pair(struct vnet *vn, struct vhost_pair *vp)
{
	u64 features;
	int i;

	vp->vhost_fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (vp->vhost_fd < 0) {
		pr_err("virtio-%s: cannot open /dev/vhost-net: %s", vn->name,
		       strerror(errno));
		return -errno;
	}
	if (vhost_ioctl(vn, vp->vhost_fd, VHOST_SET_OWNER, NULL,
			"VHOST_SET_OWNER") < 0 ||
	    vhost_ioctl(vn, vp->vhost_fd, VHOST_GET_FEATURES, &features,
			"VHOST_GET_FEATURES") < 0)
		return -EIO;
	/* offer only the ring features vhost can do */
	vn->vdev.features &= ~(VHOST_F_RING & ~features);
	for (i = 0; i < 2; i++) {
		vp->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vp->call_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->kick_fd[i] < 0 || vp->call_fd[i] < 0)
			return -errno;
	}
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
	vs->relay.wake_fd = -1;
	vn->be_state = vs;
	for (i = 0; i < vn->nr_pairs; i++) {
		struct vhost_pair *vp = calloc(1, sizeof(*vp));

		if (!vp)
			return -ENOMEM;
		*vp = (struct vhost_pair) {
			.tap_fd = -1, .vhost_fd = -1,
			.kick_fd = { -1, -1 }, .call_fd = { -1, -1 },
		};
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
	const struct virtio_transport_ops *t = vn->vdev.transport;
	struct vhost_state *vs = vn->be_state;
	unsigned int q;
	int ret;

	for (q = 0; q < 2 * vn->nr_pairs && t->set_kick_fd; q++) {
		ret = t->set_kick_fd(&vn->vdev, q,
				     vhost_pair(vn, q / 2)->kick_fd[q % 2]);
		if (ret < 0)
			pr_debug("virtio-%s: queue %u kicks relayed: %s",
				 vn->name, q, strerror(-ret));
	}
	return vnet_thread_start(&vs->relay, vhost_relay_thread, vn,
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
	vnet_wake(vhost_pair(vn, q / 2)->kick_fd[q % 2]);
}

static void vhost_reset(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++)
		vhost_stop_pair(vn, vhost_pair(vn, i));
}

static void vhost_stop(struct vnet *vn)
{
	struct vhost_state *vs = vn->be_state;

	if (vs)
		vnet_thread_stop(&vs->relay);
}

static void vhost_close_pair(struct vnet *vn, struct vhost_pair *vp)
{
	unsigned int j;

	if (vp->vhost_fd >= 0) {
		vhost_stop_pair(vn, vp);
		close(vp->vhost_fd);
	}
	for (j = 0; j < 2; j++) {
		if (vp->kick_fd[j] >= 0)
			close(vp->kick_fd[j]);
		if (vp->call_fd[j] >= 0)
			close(vp->call_fd[j]);
	}
	if (vp->tap_fd >= 0)
		close(vp->tap_fd);
	free(vp);
}

static void vhost_close(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		if (vhost_pair(vn, i))
			vhost_close_pair(vn, vhost_pair(vn, i));
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
