// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (-n/--network, repeatable), with three backends:
 *
 *   user  libslirp in a thread of its own (DHCP, DNS forwarding, the host
 *         as 10.0.2.2 = its loopback, hostfwd=). The thread owns slirp:
 *         kicks only wake it; it moves transmit buffers into slirp_input()
 *         and slirp's frames, queued (bounded, drop when full) until the
 *         guest has receive buffers, into the receiveq.
 *   tap   /dev/net/tun, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (12-byte
 *         headers, the guest's own: buffers pass through unchanged),
 *         offloads as negotiated, IFF_MULTI_QUEUE for queues=N. Transmit
 *         runs in the kick (ioeventfd thread), receive in a thread per
 *         queue pair that holds at most one frame the guest has no room
 *         for: the tap's own queue (txqueuelen) bounds the rest.
 *   vhost tap with the data path in the kernel (/dev/vhost-net, one per
 *         queue pair): KVM signals vhost's kick eventfds directly (the
 *         transport's set_kick_fd); vhost's call eventfds are relayed by a
 *         thread to the transport's signal_vq, so that MMIO's
 *         InterruptStatus and PCI's MSI-X masking and INTx stay right on
 *         both transports.
 *
 * Queues: receiveq N = 2N, transmitq N = 2N + 1, then the controlq when
 * there is more than one pair (MQ needs CTRL_VQ to pick the pair count).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSLIRP
#include <slirp/libslirp.h>
#endif

#include "lkvm/init.h"
#include "lkvm/iov.h"
#include "lkvm/kvm.h"
#include "lkvm/net.h"
#include "lkvm/virtio.h"
#include "lkvm/seccomp.h"

#define BIT_ULL(n)		(1ULL << (n))
#define VNET_QUEUE_SIZE		256
#define VNET_CTRL_QUEUE_SIZE	64
#define VNET_RXQ_FRAMES		512	/* user mode: frames waiting for buffers */
#define VNET_RX_BATCH		64	/* tap: frames read per wake-up */
#define VNET_RX_BUF		(NET_HDR_LEN + 65536 + 64)
#define VNET_CONFIG_SIZE	10	/* mac, status, max_virtqueue_pairs */

#define VNET_F_COMMON	(BIT_ULL(VIRTIO_NET_F_MAC) |			\
			 BIT_ULL(VIRTIO_NET_F_STATUS) |			\
			 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))
/* UFO is not offered: Linux no longer makes UFO packets. */
#define VNET_F_OFFLOADS	(BIT_ULL(VIRTIO_NET_F_CSUM) |			\
			 BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_ECN) |		\
			 BIT_ULL(VIRTIO_NET_F_HOST_TSO4) |		\
			 BIT_ULL(VIRTIO_NET_F_HOST_TSO6) |		\
			 BIT_ULL(VIRTIO_NET_F_HOST_ECN))
#define VNET_F_MQ	(BIT_ULL(VIRTIO_NET_F_CTRL_VQ) | BIT_ULL(VIRTIO_NET_F_MQ))
/* Ring features vhost-net must support for us to offer them. */
#define VNET_F_RING	(BIT_ULL(VIRTIO_F_VERSION_1) |			\
			 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |		\
			 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |		\
			 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))

struct vnet;

/*
 * A backend thread and the eventfd that wakes it: for work, and to see
 * vn->stop when the device goes away.
 */
struct vnet_thread {
	pthread_t tid;
	bool started;
	int wake_fd;
};

/* One receiveq/transmitq pair and its backend state. */
struct vnet_pair {
	struct vnet *vn;
	unsigned int idx;
	int tap_fd;
	struct vnet_thread rx;	/* tap: the receive thread */
	/* tap receive: one frame read from the tap, not yet delivered */
	u8 *rx_buf;
	size_t rx_len;
	bool rx_pending;
	/* vhost */
	int vhost_fd;
	int kick_fd[2], call_fd[2];	/* [0] receiveq, [1] transmitq */
	bool vhost_running;
	/* under vdev.lock */
	struct virtq_elem rx_elem[2];
	struct virtq_elem tx_elem;
	/* tap transmit: the checked header, then the guest's frame */
	u8 tx_hdr[NET_HDR_LEN];
	struct iovec tx_iov[VIRTQ_MAX_IOV + 1];
};

struct vnet {
	struct virtio_device vdev;
	struct virtio_device_ops ops;
	struct net_spec spec;
	struct kvm *kvm;
	unsigned int index;
	char name[16];
	u8 config[VNET_CONFIG_SIZE];
	unsigned int nr_pairs;
	struct vnet_pair *pairs[NET_MAX_QUEUE_PAIRS];
	struct virtq_elem ctrl_elem;	/* under vdev.lock */
	bool stop;			/* atomic: threads exit */

	/* statistics, atomic */
	u64 tx_frames, tx_dropped, rx_frames, rx_dropped;

	struct vnet_thread relay;	/* vhost: the call relay thread */

	/* user */
	struct vnet_thread user;
	u8 *tx_buf;			/* one frame, NET_MAX_FRAME */
	struct net_pktq rxq;		/* owned by the user thread */
#ifdef HAVE_LIBSLIRP
	Slirp *slirp;
	struct vnet_timer *timers;
	struct pollfd *pfds;
	unsigned int nr_pfds, cap_pfds;
#endif
};

static void stat_add(u64 *stat, u64 n)
{
	__atomic_fetch_add(stat, n, __ATOMIC_RELAXED);
}

static u64 stat_get(const u64 *stat)
{
	return __atomic_load_n(stat, __ATOMIC_RELAXED);
}

static void wake(int fd)
{
	u64 one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("virtio-net: eventfd write: %s",
				    strerror(errno));
}

static void drain(int fd)
{
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("virtio-net: eventfd read: %s",
				    strerror(errno));
}

static bool vnet_stopping(struct vnet *vn)
{
	return __atomic_load_n(&vn->stop, __ATOMIC_ACQUIRE);
}

static int vnet_thread_start(struct vnet_thread *t, void *(*fn)(void *),
			     void *arg, const char *name)
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

/* With vn->stop set: the thread sees it once woken. */
static void vnet_thread_stop(struct vnet_thread *t)
{
	if (t->started) {
		wake(t->wake_fd);
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

static unsigned int rx_q(unsigned int pair)
{
	return 2 * pair;
}

static unsigned int tx_q(unsigned int pair)
{
	return 2 * pair + 1;
}

/* ---- config space ---- */

static void vnet_config(struct virtio_device *vdev, u32 offset, u8 *data,
			u32 len, bool is_write)
{
	struct vnet *vn = vdev->priv;

	/* The MAC is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR. */
	if (is_write)
		return;
	memcpy(data, vn->config + offset, len);
}

/* ---- receive, common: @pkt is header + frame ---- */

/*
 * Called with vdev.lock held. Returns false if the guest has no buffers
 * for it now (the frame is kept by the caller, notifications enabled).
 */
static bool vnet_rx_one(struct vnet *vn, struct vnet_pair *p, const u8 *pkt,
			size_t len)
{
	struct virtio_device *vdev = &vn->vdev;
	struct virtqueue *vq = &vdev->vqs[rx_q(p->idx)];
	enum net_rx_result r;

	for (;;) {
		r = net_rx_deliver(vq, &p->rx_elem[0], &p->rx_elem[1], pkt, len,
				   vnet_mergeable(vn));
		switch (r) {
		case NET_RX_DONE:
			stat_add(&vn->rx_frames, 1);
			return true;
		case NET_RX_DROPPED:
			stat_add(&vn->rx_dropped, 1);
			pr_warn_ratelimited("virtio-%s: receive buffers too small for a %zu-byte frame: dropped",
					    vn->name, len - NET_HDR_LEN);
			return true;
		case NET_RX_BAD:
			stat_add(&vn->rx_dropped, 1);
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

/* ---- transmit: the backend's send() takes one chain at a time ---- */

/*
 * Every transmit buffer of pair @p to @send, which returns false if it
 * dropped the frame. Called with vdev.lock held.
 */
static void vnet_tx(struct vnet *vn, struct vnet_pair *p,
		    bool (*send)(struct vnet *vn, struct vnet_pair *p,
				 struct virtq_elem *e,
				 const struct net_tx_caps *caps))
{
	struct virtio_device *vdev = &vn->vdev;
	unsigned int q = tx_q(p->idx);
	struct virtqueue *vq = &vdev->vqs[q];
	struct virtq_elem *e = &p->tx_elem;
	struct net_tx_caps caps = net_tx_caps_from_features(vdev->driver_features);
	enum virtq_pop_result r;

	if (!vq->ready)
		return;
	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT) {
			if (send(vn, p, e, &caps))
				stat_add(&vn->tx_frames, 1);
			else
				stat_add(&vn->tx_dropped, 1);
			virtq_push(vq, e->head, 0);
		}
		virtio_notify_used(vdev, q);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed transmitq chain");
}

/* A transmit buffer the driver got wrong: say why once in a while. */
static bool vnet_tx_bad(struct vnet *vn, enum net_tx_error err)
{
	pr_warn_ratelimited("virtio-%s: transmit buffer dropped: %s",
			    vn->name, net_tx_strerror(err));
	return false;
}

/*
 * Tap: the frame goes from the guest's buffers, behind our copy of the
 * header we checked (the guest's may change under another vCPU).
 */
static bool vnet_tap_send(struct vnet *vn, struct vnet_pair *p,
			  struct virtq_elem *e, const struct net_tx_caps *caps)
{
	enum net_tx_error err;
	unsigned int n;

	err = net_tx_iov(virtq_elem_out(e), e->out_num, caps, p->tx_hdr,
			 p->tx_iov, &n);
	if (err != NET_TX_OK)
		return vnet_tx_bad(vn, err);
	/* false: full (EAGAIN) or refused by the tap */
	return writev(p->tap_fd, p->tx_iov, (int)n) >= 0;
}

/* ---- receive, tap: one thread per queue pair ---- */

/* Called with vdev.lock held: deliver what the tap has, while it fits. */
static void vnet_tap_rx_locked(struct vnet *vn, struct vnet_pair *p)
{
	unsigned int n = 0;
	ssize_t got;

	while (n < VNET_RX_BATCH) {
		if (!p->rx_pending) {
			got = read(p->tap_fd, p->rx_buf, VNET_RX_BUF);
			if (got < 0)
				break;
			if (got < NET_HDR_LEN + NET_ETH_HLEN) {
				stat_add(&vn->rx_dropped, 1);
				continue;
			}
			p->rx_len = got;
			p->rx_pending = true;
		}
		if (!vnet_rx_one(vn, p, p->rx_buf, p->rx_len))
			break;
		p->rx_pending = false;
		n++;
	}
	virtio_notify_used(&vn->vdev, rx_q(p->idx));
}

static void *vnet_tap_thread(void *arg)
{
	struct vnet_pair *p = arg;
	struct vnet *vn = p->vn;
	struct virtio_device *vdev = &vn->vdev;
	struct pollfd pfd[2];
	bool live;

	seccomp_apply(SECCOMP_NET_TAP);
	while (!vnet_stopping(vn)) {
		pthread_mutex_lock(&vdev->lock);
		live = virtio_device_live(vdev) &&
		       vdev->vqs[rx_q(p->idx)].ready;
		if (live)
			vnet_tap_rx_locked(vn, p);
		else if (p->rx_pending) {
			p->rx_pending = false;
			stat_add(&vn->rx_dropped, 1);
		}
		pthread_mutex_unlock(&vdev->lock);

		pfd[0] = (struct pollfd) { .fd = p->rx.wake_fd, .events = POLLIN };
		/* No room in the guest: leave frames in the tap's queue. */
		pfd[1] = (struct pollfd) {
			.fd = p->tap_fd,
			.events = live && !p->rx_pending ? POLLIN : 0,
		};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			pr_err("virtio-%s: poll: %s", vn->name, strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			drain(p->rx.wake_fd);
	}
	return NULL;
}

/* ---- tap setup ---- */

static int tap_open_queue(struct vnet *vn, bool multi)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = NET_HDR_LEN, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		pr_err("virtio-%s: cannot open /dev/net/tun: %s", vn->name,
		       strerror(errno));
		return ret;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (multi)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	memcpy(ifr.ifr_name, vn->spec.tapif, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		pr_err("virtio-%s: cannot create or attach tap '%s': %s",
		       vn->name, vn->spec.tapif, strerror(errno));
		close(fd);
		return ret;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		ret = -errno;
		pr_err("virtio-%s: tap '%s': cannot set the vnet header: %s",
		       vn->name, vn->spec.tapif, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

/* Without a script, bring the interface up (its addresses are the host's). */
static void tap_link_up(struct vnet *vn)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memcpy(ifr.ifr_name, vn->spec.tapif, sizeof(ifr.ifr_name));
	if (!ioctl(s, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			pr_debug("virtio-%s: cannot bring %s up: %s", vn->name,
				 vn->spec.tapif, strerror(errno));
	}
	close(s);
}

static int tap_run_script(struct vnet *vn)
{
	char *argv[] = { vn->spec.script, vn->spec.tapif, NULL };
	extern char **environ;
	pid_t pid;
	int ret, st;

	ret = posix_spawn(&pid, vn->spec.script, NULL, NULL, argv, environ);
	if (ret) {
		pr_err("virtio-%s: cannot run script '%s': %s", vn->name,
		       vn->spec.script, strerror(ret));
		return -ret;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		pr_err("virtio-%s: script '%s %s' failed (status %d)", vn->name,
		       vn->spec.script, vn->spec.tapif,
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -EIO;
	}
	return 0;
}

/* TUNSETOFFLOAD: what the tap may hand us = what the guest can receive. */
static void tap_set_offloads(struct vnet *vn, struct vnet_pair *p)
{
	u64 f = vn->vdev.driver_features;
	unsigned int off = 0;

	if (f & BIT_ULL(VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & BIT_ULL(VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & BIT_ULL(VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) &&
		    (f & BIT_ULL(VIRTIO_NET_F_GUEST_ECN)))
			off |= TUN_F_TSO_ECN;
		if (f & BIT_ULL(VIRTIO_NET_F_GUEST_UFO))
			off |= TUN_F_UFO;
	}
	if (ioctl(p->tap_fd, TUNSETOFFLOAD, off) < 0)
		pr_warn("virtio-%s: TUNSETOFFLOAD %#x: %s", vn->name, off,
			strerror(errno));
}

/* ---- vhost-net ---- */

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

static void vhost_stop_pair(struct vnet *vn, struct vnet_pair *p)
{
	struct vhost_vring_file f;
	unsigned int i;

	if (!p->vhost_running)
		return;
	for (i = 0; i < 2; i++) {
		f = (struct vhost_vring_file) { .index = i, .fd = -1 };
		vhost_ioctl(vn, p->vhost_fd, VHOST_NET_SET_BACKEND, &f,
			    "VHOST_NET_SET_BACKEND(off)");
	}
	p->vhost_running = false;
}

static int vhost_start_pair(struct vnet *vn, struct vnet_pair *p)
{
	struct virtio_device *vdev = &vn->vdev;
	const struct guest_mem *mem = vdev->mem;
	struct vhost_memory *vm;
	struct vhost_vring_state st;
	struct vhost_vring_addr addr;
	struct vhost_vring_file f;
	u64 features;
	unsigned int i;
	int ret;

	features = vdev->driver_features & VNET_F_RING;
	ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_FEATURES, &features,
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
	ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_MEM_TABLE, vm,
			  "VHOST_SET_MEM_TABLE");
	free(vm);
	if (ret < 0)
		return ret;

	for (i = 0; i < 2; i++) {
		struct virtqueue *vq = &vdev->vqs[2 * p->idx + i];

		if (!vq->ready)
			return -EINVAL;
		st = (struct vhost_vring_state) { .index = i, .num = vq->size };
		ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_VRING_NUM, &st,
				  "VHOST_SET_VRING_NUM");
		if (ret < 0)
			return ret;
		st = (struct vhost_vring_state) {
			.index = i, .num = vq->last_avail,
		};
		ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_VRING_BASE, &st,
				  "VHOST_SET_VRING_BASE");
		if (ret < 0)
			return ret;
		addr = (struct vhost_vring_addr) {
			.index = i,
			.desc_user_addr = (u64)(unsigned long)vq->desc,
			.avail_user_addr = (u64)(unsigned long)vq->avail,
			.used_user_addr = (u64)(unsigned long)vq->used,
		};
		ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_VRING_ADDR, &addr,
				  "VHOST_SET_VRING_ADDR");
		if (ret < 0)
			return ret;
		f = (struct vhost_vring_file) { .index = i, .fd = p->kick_fd[i] };
		ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_VRING_KICK, &f,
				  "VHOST_SET_VRING_KICK");
		if (ret < 0)
			return ret;
		f = (struct vhost_vring_file) { .index = i, .fd = p->call_fd[i] };
		ret = vhost_ioctl(vn, p->vhost_fd, VHOST_SET_VRING_CALL, &f,
				  "VHOST_SET_VRING_CALL");
		if (ret < 0)
			return ret;
	}
	tap_set_offloads(vn, p);
	for (i = 0; i < 2; i++) {
		f = (struct vhost_vring_file) { .index = i, .fd = p->tap_fd };
		ret = vhost_ioctl(vn, p->vhost_fd, VHOST_NET_SET_BACKEND, &f,
				  "VHOST_NET_SET_BACKEND");
		if (ret < 0)
			return ret;
	}
	p->vhost_running = true;
	/* kicks that came before the rings were handed over */
	wake(p->kick_fd[0]);
	wake(p->kick_fd[1]);
	return 0;
}

/* vhost's "used buffers" eventfds -> the transport's interrupt. */
static void *vnet_relay_thread(void *arg)
{
	struct vnet *vn = arg;
	struct pollfd pfd[1 + 2 * NET_MAX_QUEUE_PAIRS];
	unsigned int i, n;

	seccomp_apply(SECCOMP_NET_VHOST);
	while (!vnet_stopping(vn)) {
		n = 0;
		pfd[n++] = (struct pollfd) { .fd = vn->relay.wake_fd, .events = POLLIN };
		for (i = 0; i < 2 * vn->nr_pairs; i++)
			pfd[n++] = (struct pollfd) {
				.fd = vn->pairs[i / 2]->call_fd[i % 2],
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
			drain(pfd[i].fd);
			if (vn->vdev.transport && vn->vdev.transport->signal_vq)
				vn->vdev.transport->signal_vq(&vn->vdev, i - 1);
		}
	}
	return NULL;
}

static int vhost_open_pair(struct vnet *vn, struct vnet_pair *p)
{
	u64 features;
	int i;

	p->vhost_fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (p->vhost_fd < 0) {
		pr_err("virtio-%s: cannot open /dev/vhost-net: %s", vn->name,
		       strerror(errno));
		return -errno;
	}
	if (vhost_ioctl(vn, p->vhost_fd, VHOST_SET_OWNER, NULL,
			"VHOST_SET_OWNER") < 0 ||
	    vhost_ioctl(vn, p->vhost_fd, VHOST_GET_FEATURES, &features,
			"VHOST_GET_FEATURES") < 0)
		return -EIO;
	/* offer only the ring features vhost can do */
	vn->vdev.features &= ~(VNET_F_RING & ~features);
	for (i = 0; i < 2; i++) {
		p->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		p->call_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->kick_fd[i] < 0 || p->call_fd[i] < 0)
			return -errno;
	}
	return 0;
}

/* ---- the controlq (MQ) ---- */

static u8 vnet_ctrl_cmd(struct vnet *vn, struct virtq_elem *e)
{
	struct virtio_net_ctrl_hdr hdr;
	u16 pairs;

	if (iov_to_buf(virtq_elem_out(e), e->out_num, 0, &hdr,
		       sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_NET_ERR;
	switch (hdr.class) {
	case VIRTIO_NET_CTRL_MQ:
		if (hdr.cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    iov_to_buf(virtq_elem_out(e), e->out_num, sizeof(hdr),
			       &pairs, 2) != 2)
			return VIRTIO_NET_ERR;
		pairs = le16toh(pairs);
		if (pairs < 1 || pairs > vn->nr_pairs)
			return VIRTIO_NET_ERR;
		/* every pair stays served: the driver uses the first ones */
		pr_debug("virtio-%s: %u queue pairs in use", vn->name, pairs);
		return VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR;
}

static void vnet_ctrl(struct vnet *vn)
{
	struct virtio_device *vdev = &vn->vdev;
	unsigned int q = 2 * vn->nr_pairs;
	struct virtqueue *vq = &vdev->vqs[q];
	struct virtq_elem *e = &vn->ctrl_elem;
	enum virtq_pop_result r;
	u8 ack;

	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT) {
			ack = vnet_ctrl_cmd(vn, e);
			if (!e->in_num) {
				virtq_push(vq, e->head, 0);
				continue;
			}
			/* the ack is the last byte the driver gave us */
			iov_from_buf(virtq_elem_in(e), e->in_num, e->in_len - 1,
				     &ack, 1);
			virtq_push(vq, e->head, 1);
		}
		virtio_notify_used(vdev, q);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed controlq chain");
}

/* ---- user mode: libslirp ---- */

#ifdef HAVE_LIBSLIRP
struct vnet_timer {
	SlirpTimerCb cb;
	void *opaque;
	s64 expire_ms;		/* -1: not armed */
	struct vnet_timer *next;
};

static s64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ssize_t slirp_cb_send(const void *buf, size_t len, void *opaque)
{
	static const u8 hdr[NET_HDR_LEN];
	struct vnet *vn = opaque;

	/* queued until the guest has room; dropped (and counted) if full */
	if (!net_pktq_push(&vn->rxq, hdr, buf, len))
		stat_add(&vn->rx_dropped, 1);
	return len;
}

static void slirp_cb_guest_error(const char *msg, void *opaque)
{
	struct vnet *vn = opaque;

	pr_warn_ratelimited("virtio-%s: slirp: %s", vn->name, msg);
}

static s64 slirp_cb_clock(void *opaque)
{
	return now_ns();
}

static void *slirp_cb_timer_new(SlirpTimerCb cb, void *cb_opaque,
				void *opaque)
{
	struct vnet *vn = opaque;
	struct vnet_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = cb;
	t->opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = vn->timers;
	vn->timers = t;
	return t;
}

static void slirp_cb_timer_free(void *timer, void *opaque)
{
	struct vnet *vn = opaque;
	struct vnet_timer **pp;

	for (pp = &vn->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct vnet_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void slirp_cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct vnet_timer *)timer)->expire_ms = expire_ms;
}

static void slirp_cb_nop_fd(int fd, void *opaque)
{
}

static void slirp_cb_notify(void *opaque)
{
}

static const SlirpCb vnet_slirp_cb = {
	.send_packet = slirp_cb_send,
	.guest_error = slirp_cb_guest_error,
	.clock_get_ns = slirp_cb_clock,
	.timer_new = slirp_cb_timer_new,
	.timer_free = slirp_cb_timer_free,
	.timer_mod = slirp_cb_timer_mod,
	.register_poll_fd = slirp_cb_nop_fd,
	.unregister_poll_fd = slirp_cb_nop_fd,
	.notify = slirp_cb_notify,
};

static int slirp_add_poll(int fd, int events, void *opaque)
{
	struct vnet *vn = opaque;
	struct pollfd *pfd;
	unsigned int cap;

	if (vn->nr_pfds == vn->cap_pfds) {
		cap = vn->cap_pfds ? 2 * vn->cap_pfds : 32;
		pfd = realloc(vn->pfds, cap * sizeof(*pfd));
		if (!pfd)
			return -1;
		vn->pfds = pfd;
		vn->cap_pfds = cap;
	}
	pfd = &vn->pfds[vn->nr_pfds];
	*pfd = (struct pollfd) { .fd = fd };
	if (events & SLIRP_POLL_IN)
		pfd->events |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		pfd->events |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		pfd->events |= POLLPRI;
	return vn->nr_pfds++;
}

static int slirp_get_revents(int idx, void *opaque)
{
	struct vnet *vn = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned int)idx >= vn->nr_pfds)
		return 0;
	r = vn->pfds[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & (POLLERR | POLLNVAL))
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Run expired timers; returns ms until the next one (or @max). */
static u32 slirp_run_timers(struct vnet *vn, u32 max)
{
	s64 now = now_ns() / 1000000;
	struct vnet_timer *t;
	u32 next = max;
	bool again;

	do {
		again = false;
		for (t = vn->timers; t; t = t->next) {
			if (t->expire_ms < 0)
				continue;
			if (t->expire_ms <= now) {
				t->expire_ms = -1;
				/* the callback may add or free timers */
				t->cb(t->opaque);
				again = true;
				break;
			}
			if ((u64)(t->expire_ms - now) < next)
				next = t->expire_ms - now;
		}
	} while (again);
	return next;
}

/* User: a copy of the frame, without its header, to slirp_input(). */
static bool vnet_user_send(struct vnet *vn, struct vnet_pair *p,
			   struct virtq_elem *e, const struct net_tx_caps *caps)
{
	enum net_tx_error err;
	struct net_hdr h;
	size_t flen;

	err = net_tx_extract(virtq_elem_out(e), e->out_num, caps, &h,
			     vn->tx_buf, &flen);
	if (err != NET_TX_OK)
		return vnet_tx_bad(vn, err);
	slirp_input(vn->slirp, vn->tx_buf, flen);
	return true;
}

/* Queued frames -> receive buffers. Called with vdev.lock held. */
static void vnet_user_rx(struct vnet *vn)
{
	struct vnet_pair *p = vn->pairs[0];
	struct net_pkt *pkt;
	bool any = false;

	if (!vn->vdev.vqs[rx_q(0)].ready)
		return;
	while ((pkt = net_pktq_peek(&vn->rxq))) {
		if (!vnet_rx_one(vn, p, pkt->data, pkt->len))
			break;
		net_pktq_pop(&vn->rxq);
		any = true;
	}
	if (any)
		virtio_notify_used(&vn->vdev, rx_q(0));
}

static void *vnet_user_thread(void *arg)
{
	struct vnet *vn = arg;
	struct virtio_device *vdev = &vn->vdev;
	u32 timeout;
	int n;

	seccomp_apply(SECCOMP_NET_USER);
	while (!vnet_stopping(vn)) {
		vn->nr_pfds = 0;
		if (slirp_add_poll(vn->user.wake_fd, SLIRP_POLL_IN, vn) < 0) {
			pr_err("virtio-%s: out of memory", vn->name);
			break;
		}
		timeout = slirp_run_timers(vn, 1000);
		slirp_pollfds_fill(vn->slirp, &timeout, slirp_add_poll, vn);
		n = poll(vn->pfds, vn->nr_pfds, timeout);
		if (n < 0 && errno != EINTR) {
			pr_err("virtio-%s: poll: %s", vn->name, strerror(errno));
			break;
		}
		if (vn->pfds[0].revents & POLLIN)
			drain(vn->user.wake_fd);
		slirp_pollfds_poll(vn->slirp, n < 0, slirp_get_revents, vn);
		slirp_run_timers(vn, 0);

		pthread_mutex_lock(&vdev->lock);
		if (virtio_device_live(vdev)) {
			vnet_tx(vn, vn->pairs[0], vnet_user_send);
			vnet_user_rx(vn);
		} else if (vn->rxq.count) {
			stat_add(&vn->rx_dropped, vn->rxq.count);
			net_pktq_clear(&vn->rxq);
		}
		pthread_mutex_unlock(&vdev->lock);
	}
	return NULL;
}

static int vnet_user_setup(struct vnet *vn)
{
	struct net_spec *ns = &vn->spec;
	SlirpConfig cfg = { 0 };
	u32 net = ntohl(ns->host_ip.s_addr) & 0xffffff00;
	unsigned int i;

	cfg.version = 1;
	cfg.in_enabled = true;
	cfg.vnetwork.s_addr = htonl(net);
	cfg.vnetmask.s_addr = htonl(0xffffff00);
	cfg.vhost = ns->host_ip;
	cfg.vdhcp_start = ns->guest_ip;
	cfg.vnameserver.s_addr = htonl(net | 3);
	cfg.vhostname = vn->kvm->cfg.name;
	vn->slirp = slirp_new(&cfg, &vnet_slirp_cb, vn);
	if (!vn->slirp) {
		pr_err("virtio-%s: cannot start libslirp", vn->name);
		return -ENOMEM;
	}
	for (i = 0; i < ns->nr_fwd; i++) {
		struct net_hostfwd *f = &ns->fwd[i];
		struct in_addr guest = f->guest_addr;
		char host[INET_ADDRSTRLEN];

		if (!guest.s_addr)
			guest = ns->guest_ip;
		if (slirp_add_hostfwd(vn->slirp, f->udp, f->host_addr,
				      f->host_port, guest, f->guest_port) < 0) {
			inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
			pr_err("virtio-%s: hostfwd %s:%s:%u: cannot listen (port in use?)",
			       vn->name, f->udp ? "udp" : "tcp", host,
			       f->host_port);
			return -EADDRINUSE;
		}
	}
	vn->tx_buf = malloc(NET_MAX_FRAME);
	if (!vn->tx_buf || net_pktq_init(&vn->rxq, VNET_RXQ_FRAMES) < 0)
		return -ENOMEM;
	return vnet_thread_start(&vn->user, vnet_user_thread, vn, "net-user");
}

static void vnet_user_teardown(struct vnet *vn)
{
	struct vnet_timer *t;

	if (vn->slirp)
		slirp_cleanup(vn->slirp);
	vn->slirp = NULL;
	while ((t = vn->timers)) {
		vn->timers = t->next;
		free(t);
	}
	free(vn->pfds);
	vn->pfds = NULL;
}
#else
static int vnet_user_setup(struct vnet *vn)
{
	pr_err("virtio-%s: mode=user needs libslirp, which this lkvm was built without",
	       vn->name);
	return -ENOSYS;
}

static void vnet_user_teardown(struct vnet *vn)
{
}
#endif

/* ---- device ops ---- */

static void vnet_notify(struct virtio_device *vdev, unsigned int q)
{
	struct vnet *vn = vdev->priv;
	struct vnet_pair *p;

	if (q == 2 * vn->nr_pairs) {
		vnet_ctrl(vn);
		return;
	}
	if (vn->spec.mode == NET_MODE_USER) {
		wake(vn->user.wake_fd);
		return;
	}
	p = vn->pairs[q / 2];
	if (vn->spec.vhost) {
		/* KVM could not signal vhost itself: pass the kick on */
		wake(p->kick_fd[q % 2]);
		return;
	}
	if (q % 2)
		vnet_tx(vn, p, vnet_tap_send);
	else
		wake(p->rx.wake_fd);
}

static int vnet_start(struct virtio_device *vdev)
{
	struct vnet *vn = vdev->priv;
	unsigned int i;
	int ret;

	if (vn->spec.mode != NET_MODE_TAP)
		return 0;
	for (i = 0; i < vn->nr_pairs; i++) {
		struct vnet_pair *p = vn->pairs[i];

		if (!vn->spec.vhost) {
			tap_set_offloads(vn, p);
			wake(p->rx.wake_fd);
			continue;
		}
		/* pairs the driver did not set up stay idle */
		if (!vdev->vqs[rx_q(i)].ready || !vdev->vqs[tx_q(i)].ready)
			continue;
		ret = vhost_start_pair(vn, p);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void vnet_reset(struct virtio_device *vdev)
{
	struct vnet *vn = vdev->priv;
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		if (vn->spec.vhost)
			vhost_stop_pair(vn, vn->pairs[i]);
		else if (vn->pairs[i]->rx_pending) {
			vn->pairs[i]->rx_pending = false;
			stat_add(&vn->rx_dropped, 1);
		}
	}
	/* user mode: its thread drops the queued frames while not live */
	wake(vn->user.wake_fd);
}

/* ---- init/exit ---- */

static void vnet_free(struct vnet *vn)
{
	unsigned int i, j;

	__atomic_store_n(&vn->stop, true, __ATOMIC_RELEASE);
	/* before the pairs they use are freed */
	vnet_thread_stop(&vn->relay);
	vnet_thread_stop(&vn->user);
	virtio_unregister(&vn->vdev);
	for (i = 0; i < vn->nr_pairs; i++) {
		struct vnet_pair *p = vn->pairs[i];

		if (!p)
			continue;
		vnet_thread_stop(&p->rx);
		if (p->vhost_fd >= 0) {
			vhost_stop_pair(vn, p);
			close(p->vhost_fd);
		}
		for (j = 0; j < 2; j++) {
			if (p->kick_fd[j] >= 0)
				close(p->kick_fd[j]);
			if (p->call_fd[j] >= 0)
				close(p->call_fd[j]);
		}
		if (p->tap_fd >= 0)
			close(p->tap_fd);
		free(p->rx_buf);
		free(p);
	}
	vnet_user_teardown(vn);
	net_pktq_free(&vn->rxq);
	free(vn->tx_buf);
	free(vn);
}

static int vnet_tap_setup(struct vnet *vn)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vn->nr_pairs; i++) {
		struct vnet_pair *p = vn->pairs[i];

		p->tap_fd = tap_open_queue(vn, vn->nr_pairs > 1);
		if (p->tap_fd < 0)
			return p->tap_fd;
		if (vn->spec.vhost) {
			ret = vhost_open_pair(vn, p);
			if (ret < 0)
				return ret;
			continue;
		}
		p->rx_buf = malloc(VNET_RX_BUF);
		if (!p->rx_buf)
			return -ENOMEM;
	}
	if (vn->spec.script[0]) {
		ret = tap_run_script(vn);
		if (ret < 0)
			return ret;
	} else {
		tap_link_up(vn);
	}
	return 0;
}

/* Once registered: threads, and vhost's kicks straight from KVM. */
static int vnet_tap_run(struct vnet *vn)
{
	const struct virtio_transport_ops *t = vn->vdev.transport;
	unsigned int i, j;
	int ret;

	for (i = 0; i < vn->nr_pairs; i++) {
		struct vnet_pair *p = vn->pairs[i];

		if (!vn->spec.vhost) {
			ret = vnet_thread_start(&p->rx, vnet_tap_thread, p, "net-tap-rx");
			if (ret < 0)
				return ret;
			continue;
		}
		for (j = 0; j < 2 && t->set_kick_fd; j++) {
			ret = t->set_kick_fd(&vn->vdev, 2 * i + j, p->kick_fd[j]);
			if (ret < 0)
				pr_debug("virtio-%s: queue %u kicks relayed: %s",
					 vn->name, 2 * i + j, strerror(-ret));
		}
	}
	if (!vn->spec.vhost)
		return 0;
	return vnet_thread_start(&vn->relay, vnet_relay_thread, vn,
				 "net-vhost-irq");
}

static void vnet_stats(struct virtio_device *vdev, device_stat_fn emit,
		       void *ctx)
{
	struct vnet *vn = vdev->priv;

	emit(ctx, &vdev->dev, "tx_frames", stat_get(&vn->tx_frames));
	emit(ctx, &vdev->dev, "tx_dropped", stat_get(&vn->tx_dropped));
	emit(ctx, &vdev->dev, "rx_frames", stat_get(&vn->rx_frames));
	emit(ctx, &vdev->dev, "rx_dropped", stat_get(&vn->rx_dropped));
}

/* The registry's exit hook: relay threads stop before the device goes. */
static void vnet_dev_exit(struct virtio_device *vdev)
{
	struct vnet *vn = vdev->priv;

	pr_debug("virtio-%s: tx %llu frames (%llu dropped), rx %llu frames (%llu dropped)",
		 vn->name, (unsigned long long)vn->tx_frames,
		 (unsigned long long)vn->tx_dropped,
		 (unsigned long long)vn->rx_frames,
		 (unsigned long long)vn->rx_dropped);
	vnet_free(vn);
}

static struct vnet *vnet_new(struct kvm *kvm, unsigned int index,
			     const struct net_spec *ns)
{
	struct vnet *vn = calloc(1, sizeof(*vn));
	unsigned int i;

	if (!vn)
		return NULL;
	vn->kvm = kvm;
	vn->index = index;
	vn->spec = *ns;
	vn->relay.wake_fd = vn->user.wake_fd = -1;
	snprintf(vn->name, sizeof(vn->name), "net%u", index);
	vn->nr_pairs = ns->mode == NET_MODE_TAP ? ns->queues : 1;
	for (i = 0; i < vn->nr_pairs; i++) {
		struct vnet_pair *p = calloc(1, sizeof(*p));

		if (!p) {
			vnet_free(vn);
			return NULL;
		}
		*p = (struct vnet_pair) {
			.vn = vn, .idx = i, .tap_fd = -1, .rx.wake_fd = -1,
			.vhost_fd = -1, .kick_fd = { -1, -1 },
			.call_fd = { -1, -1 },
		};
		vn->pairs[i] = p;
	}
	if (!vn->spec.mac_set)
		net_default_mac(kvm->cfg.name, index, vn->spec.mac);
	memcpy(vn->config, vn->spec.mac, 6);
	vn->config[6] = VIRTIO_NET_S_LINK_UP;
	vn->config[8] = vn->nr_pairs;

	vn->ops = (struct virtio_device_ops) {
		.name = vn->name,
		.device_id = VIRTIO_ID_NET,
		.features = VNET_F_COMMON,
		.nr_queues = 2 * vn->nr_pairs,
		.queue_size = VNET_QUEUE_SIZE,
		.config_size = VNET_CONFIG_SIZE,
		.config_access = vnet_config,
		.start = vnet_start,
		.notify = vnet_notify,
		.reset = vnet_reset,
		.stats = vnet_stats,
		.exit = vnet_dev_exit,
	};
	if (ns->mode == NET_MODE_TAP)
		vn->ops.features |= VNET_F_OFFLOADS;
	if (vn->nr_pairs > 1) {
		vn->ops.features |= VNET_F_MQ;
		vn->ops.nr_queues++;
	}
	virtio_device_init(&vn->vdev, &vn->ops, kvm, &kvm->mem, vn);
	return vn;
}

static int vnet_init_one(struct kvm *kvm, unsigned int index,
			 const struct net_spec *ns)
{
	struct vnet *vn = vnet_new(kvm, index, ns);
	int ret;

	if (!vn)
		return -ENOMEM;
	if (ns->mode == NET_MODE_USER)
		ret = vnet_user_setup(vn);
	else
		ret = vnet_tap_setup(vn);
	if (ret < 0)
		goto err_free;
	ret = virtio_register(kvm, &vn->vdev);
	if (ret < 0) {
		pr_err("virtio-%s: cannot register the device: %s", vn->name,
		       strerror(-ret));
		goto err_free;
	}
	/* registered: from here on the registry frees it */
	if (ns->mode == NET_MODE_TAP) {
		ret = vnet_tap_run(vn);
		if (ret < 0) {
			pr_err("virtio-%s: cannot start: %s", vn->name,
			       strerror(-ret));
			return ret;
		}
	}
	pr_debug("virtio-%s: mode=%s mac=%02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s)%s",
		 vn->name, ns->mode == NET_MODE_USER ? "user" : "tap",
		 vn->spec.mac[0], vn->spec.mac[1], vn->spec.mac[2],
		 vn->spec.mac[3], vn->spec.mac[4], vn->spec.mac[5],
		 vn->nr_pairs, ns->vhost ? ", vhost" : "");
	return 0;

err_free:
	vnet_free(vn);
	return ret;
}

static int vnet_init(struct kvm *kvm)
{
	struct net_spec ns;
	char err[256];
	int i, ret;

	for (i = 0; i < kvm->cfg.nr_nics; i++) {
		/* checked by the option parser already */
		if (net_parse_spec(kvm->cfg.nics[i], &ns, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			ret = -EINVAL;
			goto err;
		}
		if (ns.mode == NET_MODE_NONE)
			continue;
		ret = vnet_init_one(kvm, i, &ns);
		if (ret < 0)
			goto err;
	}
	return 0;

err:	/* the registry tears down the NICs registered before */
	return ret;
}

lkvm_init(INIT_DEV, vnet_init, NULL);
