// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's tap backend (-n mode=tap): /dev/net/tun, IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR (12-byte headers, the guest's own: buffers
 * pass through unchanged), offloads as negotiated, IFF_MULTI_QUEUE for
 * queues=N. Transmit runs in the kick (ioeventfd thread), receive in a
 * thread per queue pair that holds at most one frame the guest has no
 * room for: the tap's own queue (txqueuelen) bounds the rest.
 *
 * Opening the taps, the script= and the offloads are shared with the
 * vhost-net backend (net/vhost.c), which hands the same taps to the
 * kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/net-backend.h"
#include "lkvm/seccomp.h"
#include "lkvm/util.h"

#define TAP_RX_BATCH		64	/* frames read per wake-up */
#define TAP_RX_BUF		(NET_HDR_LEN + 65536 + 64)

/* A queue pair's tap queue and its receive thread. */
struct tap_pair {
	int fd;
	struct vnet_thread rx;
	/* receive: one frame read from the tap, not yet delivered */
	u8 *rx_buf;
	size_t rx_len;
	bool rx_pending;
	/* transmit, under vdev.lock: the checked header, the guest's frame */
	u8 tx_hdr[NET_HDR_LEN];
	struct iovec tx_iov[VIRTQ_MAX_IOV + 1];
};

static struct tap_pair *tap_pair(struct vnet_pair *p)
{
	return p->be;
}

/* ---- opening the taps (also for vhost-net) ---- */

int net_tap_open_queue(struct vnet *vn, unsigned int i)
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
	if (vn->nr_pairs > 1)
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

int net_tap_configure(struct vnet *vn)
{
	if (vn->spec.script[0])
		return tap_run_script(vn);
	tap_link_up(vn);
	return 0;
}

/* TUNSETOFFLOAD: what the tap may hand us = what the guest can receive. */
void net_tap_set_offloads(struct vnet *vn, int fd)
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
	if (ioctl(fd, TUNSETOFFLOAD, off) < 0)
		pr_warn("virtio-%s: TUNSETOFFLOAD %#x: %s", vn->name, off,
			strerror(errno));
}

/* ---- transmit: in the kick ---- */

/*
 * The frame goes from the guest's buffers, behind our copy of the header
 * we checked (the guest's may change under another vCPU).
 */
static bool tap_send(struct vnet *vn, struct vnet_pair *p,
		     struct virtq_elem *e, const struct net_tx_caps *caps)
{
	struct tap_pair *tp = tap_pair(p);
	enum net_tx_error err;
	unsigned int n;

	err = net_tx_iov(virtq_elem_out(e), e->out_num, caps, tp->tx_hdr,
			 tp->tx_iov, &n);
	if (err != NET_TX_OK)
		return vnet_tx_bad(vn, err);
	/* false: full (EAGAIN) or refused by the tap */
	return writev(tp->fd, tp->tx_iov, (int)n) >= 0;
}

/* ---- receive: one thread per queue pair ---- */

/* Called with vdev.lock held: deliver what the tap has, while it fits. */
static void tap_rx_locked(struct vnet *vn, struct vnet_pair *p)
{
	struct tap_pair *tp = tap_pair(p);
	unsigned int n = 0;
	ssize_t got;

	while (n < TAP_RX_BATCH) {
		if (!tp->rx_pending) {
			got = read(tp->fd, tp->rx_buf, TAP_RX_BUF);
			if (got < 0)
				break;
			if (got < NET_HDR_LEN + NET_ETH_HLEN) {
				vnet_stat_add(&vn->rx_dropped, 1);
				continue;
			}
			tp->rx_len = got;
			tp->rx_pending = true;
		}
		if (!vnet_rx_one(vn, p, tp->rx_buf, tp->rx_len))
			break;
		tp->rx_pending = false;
		n++;
	}
	virtio_notify_used(&vn->vdev, vnet_rx_q(p->idx));
}

/* Not live: the frame held for the guest is lost (counted). */
static void tap_drop_pending(struct vnet *vn, struct tap_pair *tp)
{
	if (tp->rx_pending) {
		tp->rx_pending = false;
		vnet_stat_add(&vn->rx_dropped, 1);
	}
}

static void *tap_rx_thread(void *arg)
{
	struct vnet_pair *p = arg;
	struct tap_pair *tp = tap_pair(p);
	struct vnet *vn = p->vn;
	struct virtio_device *vdev = &vn->vdev;
	struct pollfd pfd[2];
	bool live;

	seccomp_apply(SECCOMP_NET_TAP);
	while (!vnet_stopping(vn)) {
		pthread_mutex_lock(&vdev->lock);
		live = virtio_device_live(vdev) &&
		       vdev->vqs[vnet_rx_q(p->idx)].ready;
		if (live)
			tap_rx_locked(vn, p);
		else
			tap_drop_pending(vn, tp);
		pthread_mutex_unlock(&vdev->lock);

		pfd[0] = (struct pollfd) { .fd = tp->rx.wake_fd, .events = POLLIN };
		/* No room in the guest: leave frames in the tap's queue. */
		pfd[1] = (struct pollfd) {
			.fd = tp->fd,
			.events = live && !tp->rx_pending ? POLLIN : 0,
		};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			pr_err("virtio-%s: poll: %s", vn->name, strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			vnet_drain(tp->rx.wake_fd);
	}
	return NULL;
}

/* ---- the backend ---- */

static int tap_open(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		struct tap_pair *tp = zalloc_lazy(sizeof(*tp));

		if (!tp)
			return -ENOMEM;
		tp->fd = tp->rx.wake_fd = -1;
		vn->pairs[i]->be = tp;
		tp->fd = net_tap_open_queue(vn, i);
		if (tp->fd < 0)
			return tp->fd;
		tp->rx_buf = malloc(TAP_RX_BUF);
		if (!tp->rx_buf)
			return -ENOMEM;
	}
	return net_tap_configure(vn);
}

static int tap_run(struct vnet *vn)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vn->nr_pairs; i++) {
		struct vnet_pair *p = vn->pairs[i];

		ret = vnet_thread_start(&tap_pair(p)->rx, tap_rx_thread, p,
					"net-tap-rx");
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int tap_start(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		struct tap_pair *tp = tap_pair(vn->pairs[i]);

		net_tap_set_offloads(vn, tp->fd);
		vnet_wake(tp->rx.wake_fd);
	}
	return 0;
}

static void tap_notify(struct vnet *vn, unsigned int q)
{
	struct vnet_pair *p = vn->pairs[q / 2];

	if (q % 2)
		vnet_tx(vn, p, tap_send);
	else
		vnet_wake(tap_pair(p)->rx.wake_fd);
}

static void tap_reset(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++)
		tap_drop_pending(vn, tap_pair(vn->pairs[i]));
}

static void tap_stop(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++)
		if (tap_pair(vn->pairs[i]))
			vnet_thread_stop(&tap_pair(vn->pairs[i])->rx);
}

static void tap_close(struct vnet *vn)
{
	unsigned int i;

	for (i = 0; i < vn->nr_pairs; i++) {
		struct tap_pair *tp = tap_pair(vn->pairs[i]);

		if (!tp)
			continue;
		if (tp->fd >= 0)
			close(tp->fd);
		free(tp->rx_buf);
		zfree_lazy(tp, sizeof(*tp));
		vn->pairs[i]->be = NULL;
	}
}

const struct net_backend_ops net_tap_ops = {
	.features = VNET_F_OFFLOADS,
	.multiqueue = true,
	.open = tap_open,
	.run = tap_run,
	.start = tap_start,
	.notify = tap_notify,
	.reset = tap_reset,
	.stop = tap_stop,
	.close = tap_close,
};
