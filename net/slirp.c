// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's user-mode backend (-n mode=user): libslirp in a thread of
 * its own (DHCP, DNS forwarding, the host as 10.0.2.2 = its loopback,
 * hostfwd=). The thread owns slirp: kicks only wake it; it moves
 * transmit buffers into slirp_input() and slirp's frames, queued
 * (bounded, drop when full) until the guest has receive buffers, into
 * the receiveq. Linked only into lkvm-slirp, the dynamically linked
 * lkvm (libslirp and its glib are shared libraries only): the static
 * lkvm runs that for a mode=user NIC (net/slirp-exec.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lkvm/kvm.h"
#include "lkvm/net-backend.h"
#include "lkvm/seccomp.h"
#include "lkvm/util.h"

#define SLIRP_RXQ_FRAMES	512	/* frames waiting for buffers */

struct slirp_timer {
	SlirpTimerCb cb;
	void *opaque;
	s64 expire_ms;		/* -1: not armed */
	struct slirp_timer *next;
};

/* The device's backend state; everything but the queues is the thread's. */
struct slirp_state {
	struct vnet *vn;
	struct vnet_thread thread;
	Slirp *slirp;
	struct slirp_timer *timers;
	struct pollfd *pfds;
	unsigned int nr_pfds, cap_pfds;
	u8 *tx_buf;			/* one frame, NET_MAX_FRAME */
	struct net_pktq rxq;
};

/* ---- libslirp's callbacks: @opaque is the struct slirp_state ---- */

static ssize_t slirp_cb_send(const void *buf, size_t len, void *opaque)
{
	static const u8 hdr[NET_HDR_LEN];
	struct slirp_state *ss = opaque;

	/* queued until the guest has room; dropped (and counted) if full */
	if (!net_pktq_push(&ss->rxq, hdr, buf, len))
		vnet_stat_add(&ss->vn->rx_dropped, 1);
	return len;
}

static void slirp_cb_guest_error(const char *msg, void *opaque)
{
	struct slirp_state *ss = opaque;

	pr_warn_ratelimited("virtio-%s: slirp: %s", ss->vn->name, msg);
}

static s64 slirp_cb_clock(void *opaque)
{
	return (s64)mono_ns();
}

static void *slirp_cb_timer_new(SlirpTimerCb cb, void *cb_opaque,
				void *opaque)
{
	struct slirp_state *ss = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = cb;
	t->opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = ss->timers;
	ss->timers = t;
	return t;
}

static void slirp_cb_timer_free(void *timer, void *opaque)
{
	struct slirp_state *ss = opaque;
	struct slirp_timer **pp;

	for (pp = &ss->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct slirp_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void slirp_cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void slirp_cb_nop_fd(int fd, void *opaque)
{
}

static void slirp_cb_notify(void *opaque)
{
}

static const SlirpCb slirp_callbacks = {
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

/* ---- the thread's poll loop ---- */

static int slirp_add_poll(int fd, int events, void *opaque)
{
	struct slirp_state *ss = opaque;
	struct pollfd *pfd;
	unsigned int cap;

	if (ss->nr_pfds == ss->cap_pfds) {
		cap = ss->cap_pfds ? 2 * ss->cap_pfds : 32;
		pfd = realloc(ss->pfds, cap * sizeof(*pfd));
		if (!pfd)
			return -1;
		ss->pfds = pfd;
		ss->cap_pfds = cap;
	}
	pfd = &ss->pfds[ss->nr_pfds];
	*pfd = (struct pollfd) { .fd = fd };
	if (events & SLIRP_POLL_IN)
		pfd->events |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		pfd->events |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		pfd->events |= POLLPRI;
	return ss->nr_pfds++;
}

static int slirp_get_revents(int idx, void *opaque)
{
	struct slirp_state *ss = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned int)idx >= ss->nr_pfds)
		return 0;
	r = ss->pfds[idx].revents;
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
static u32 slirp_run_timers(struct slirp_state *ss, u32 max)
{
	s64 now = (s64)(mono_ns() / 1000000);
	struct slirp_timer *t;
	u32 next = max;
	bool again;

	do {
		again = false;
		for (t = ss->timers; t; t = t->next) {
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

/* A copy of the frame, without its header, to slirp_input(). */
static bool slirp_send(struct vnet *vn, struct vnet_pair *p,
		       struct virtq_elem *e, const struct net_tx_caps *caps)
{
	struct slirp_state *ss = vn->be_state;
	enum net_tx_error err;
	struct net_hdr h;
	size_t flen;

	err = net_tx_extract(virtq_elem_out(e), e->out_num, caps, &h,
			     ss->tx_buf, &flen);
	if (err != NET_TX_OK)
		return vnet_tx_bad(vn, err);
	slirp_input(ss->slirp, ss->tx_buf, flen);
	return true;
}

/* Queued frames -> receive buffers. Called with vdev.lock held. */
static void slirp_rx(struct slirp_state *ss)
{
	struct vnet *vn = ss->vn;
	struct net_pkt *pkt;
	bool any = false;

	if (!vn->vdev.vqs[vnet_rx_q(0)].ready)
		return;
	while ((pkt = net_pktq_peek(&ss->rxq))) {
		if (!vnet_rx_one(vn, vn->pairs[0], pkt->data, pkt->len))
			break;
		net_pktq_pop(&ss->rxq);
		any = true;
	}
	if (any)
		virtio_notify_used(&vn->vdev, vnet_rx_q(0));
}

/* Under vdev.lock: the queues' work, or drop what waits while not live. */
static void slirp_relay(struct slirp_state *ss)
{
	struct vnet *vn = ss->vn;

	if (virtio_device_live(&vn->vdev)) {
		vnet_tx(vn, vn->pairs[0], slirp_send);
		slirp_rx(ss);
	} else if (ss->rxq.count) {
		vnet_stat_add(&vn->rx_dropped, ss->rxq.count);
		net_pktq_clear(&ss->rxq);
	}
}

static void *slirp_thread(void *arg)
{
	struct slirp_state *ss = arg;
	struct vnet *vn = ss->vn;
	u32 timeout;
	int n;

	seccomp_apply(SECCOMP_NET_USER);
	while (!vnet_stopping(vn)) {
		ss->nr_pfds = 0;
		if (slirp_add_poll(ss->thread.wake_fd, SLIRP_POLL_IN, ss) < 0) {
			pr_err("virtio-%s: out of memory", vn->name);
			break;
		}
		timeout = slirp_run_timers(ss, 1000);
		slirp_pollfds_fill(ss->slirp, &timeout, slirp_add_poll, ss);
		n = poll(ss->pfds, ss->nr_pfds, timeout);
		if (n < 0 && errno != EINTR) {
			pr_err("virtio-%s: poll: %s", vn->name, strerror(errno));
			break;
		}
		if (ss->pfds[0].revents & POLLIN)
			vnet_drain(ss->thread.wake_fd);
		slirp_pollfds_poll(ss->slirp, n < 0, slirp_get_revents, ss);
		slirp_run_timers(ss, 0);

		pthread_mutex_lock(&vn->vdev.lock);
		slirp_relay(ss);
		pthread_mutex_unlock(&vn->vdev.lock);
	}
	return NULL;
}

/* ---- the backend ---- */

static int slirp_add_fwds(struct slirp_state *ss)
{
	struct vnet *vn = ss->vn;
	struct net_spec *ns = &vn->spec;
	unsigned int i;

	for (i = 0; i < ns->nr_fwd; i++) {
		struct net_hostfwd *f = &ns->fwd[i];
		struct in_addr guest = f->guest_addr;
		char host[INET_ADDRSTRLEN];

		if (!guest.s_addr)
			guest = ns->guest_ip;
		if (slirp_add_hostfwd(ss->slirp, f->udp, f->host_addr,
				       f->host_port, guest, f->guest_port) < 0) {
			inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
			pr_err("virtio-%s: hostfwd %s:%s:%u: cannot listen (port in use?)",
			       vn->name, f->udp ? "udp" : "tcp", host,
			       f->host_port);
			return -EADDRINUSE;
		}
	}
	return 0;
}

static int slirp_open(struct vnet *vn)
{
	struct slirp_state *ss = calloc(1, sizeof(*ss));
	struct net_spec *ns = &vn->spec;
	u32 net = ntohl(ns->host_ip.s_addr) & 0xffffff00;
	SlirpConfig cfg = { 0 };
	int ret;

	if (!ss)
		return -ENOMEM;
	ss->vn = vn;
	ss->thread.wake_fd = -1;
	vn->be_state = ss;
	cfg.version = 1;
	cfg.in_enabled = true;
	cfg.vnetwork.s_addr = htonl(net);
	cfg.vnetmask.s_addr = htonl(0xffffff00);
	cfg.vhost = ns->host_ip;
	cfg.vdhcp_start = ns->guest_ip;
	cfg.vnameserver.s_addr = htonl(net | 3);
	cfg.vhostname = vn->kvm->cfg.name;
	ss->slirp = slirp_new(&cfg, &slirp_callbacks, ss);
	if (!ss->slirp) {
		pr_err("virtio-%s: cannot start libslirp", vn->name);
		return -ENOMEM;
	}
	ret = slirp_add_fwds(ss);
	if (ret < 0)
		return ret;
	ss->tx_buf = malloc(NET_MAX_FRAME);
	if (!ss->tx_buf || net_pktq_init(&ss->rxq, SLIRP_RXQ_FRAMES) < 0)
		return -ENOMEM;
	return 0;
}

static int slirp_run(struct vnet *vn)
{
	struct slirp_state *ss = vn->be_state;

	return vnet_thread_start(&ss->thread, slirp_thread, ss, "net-user");
}

/* Every kick only wakes the thread, which owns slirp. */
static void slirp_notify(struct vnet *vn, unsigned int q)
{
	struct slirp_state *ss = vn->be_state;

	vnet_wake(ss->thread.wake_fd);
}

/* The thread drops the queued frames while the device is not live. */
static void slirp_reset(struct vnet *vn)
{
	slirp_notify(vn, 0);
}

static void slirp_stop(struct vnet *vn)
{
	struct slirp_state *ss = vn->be_state;

	if (ss)
		vnet_thread_stop(&ss->thread);
}

static void slirp_close(struct vnet *vn)
{
	struct slirp_state *ss = vn->be_state;
	struct slirp_timer *t;

	if (!ss)
		return;
	if (ss->slirp)
		slirp_cleanup(ss->slirp);
	while ((t = ss->timers)) {
		ss->timers = t->next;
		free(t);
	}
	free(ss->pfds);
	net_pktq_free(&ss->rxq);
	free(ss->tx_buf);
	free(ss);
	vn->be_state = NULL;
}

const struct net_backend_ops net_slirp_ops = {
	.open = slirp_open,
	.run = slirp_run,
	.notify = slirp_notify,
	.reset = slirp_reset,
	.stop = slirp_stop,
	.close = slirp_close,
};
