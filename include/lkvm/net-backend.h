/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-net's device (virtio/net.c) and its backends: what they share.
 *
 * The device owns the queues, the config space, the controlq and feature
 * negotiation, and chooses one backend per NIC (vnet_choose_backend()):
 * libslirp (net/slirp.c, -n mode=user: in lkvm-slirp, net/slirp-exec.c), a tap
 * (net/tap.c) or a tap with vhost-net's data path in the kernel
 * (net/vhost.c, which opens its taps through net/tap.c). The relay
 * between the queues and a backend (virtio/net-queue.c: receive delivery,
 * the transmit loop, the backends' threads) sits below all of them, so
 * that no backend calls back into the device (scripts/deploops.py).
 */
#ifndef LKVM_NET_BACKEND_H
#define LKVM_NET_BACKEND_H

#include <linux/virtio_net.h>
#include <pthread.h>

#include "lkvm/net.h"
#include "lkvm/virtio.h"

#define VNET_CONFIG_SIZE	10	/* mac, status, max_virtqueue_pairs */

/* UFO is not offered: Linux no longer makes UFO packets. */
#define VNET_F_OFFLOADS	(BIT_ULL(VIRTIO_NET_F_CSUM) |			\
			 BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) |		\
			 BIT_ULL(VIRTIO_NET_F_GUEST_ECN) |		\
			 BIT_ULL(VIRTIO_NET_F_HOST_TSO4) |		\
			 BIT_ULL(VIRTIO_NET_F_HOST_TSO6) |		\
			 BIT_ULL(VIRTIO_NET_F_HOST_ECN))

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

/* One receiveq/transmitq pair: receiveq N = 2N, transmitq N = 2N + 1. */
struct vnet_pair {
	struct vnet *vn;
	unsigned int idx;
	void *be;			/* the backend's, for this pair */
	/* under vdev.lock */
	struct virtq_elem rx_elem[2];
	struct virtq_elem tx_elem;
};

struct vnet {
	struct virtio_device vdev;
	struct virtio_device_ops ops;
	struct net_spec spec;
	struct kvm *kvm;
	unsigned int index;
	char name[16];			/* net0, net1... */
	u8 config[VNET_CONFIG_SIZE];
	unsigned int nr_pairs;
	struct vnet_pair *pairs[NET_MAX_QUEUE_PAIRS];
	struct virtq_elem ctrl_elem;	/* under vdev.lock */
	bool stop;			/* atomic: threads exit */
	const struct net_backend_ops *be;
	void *be_state;			/* the backend's, per device */

	/* statistics, atomic */
	u64 tx_frames, tx_dropped, rx_frames, rx_dropped;
};

/*
 * A backend. open and close run before registration and after
 * unregistration; notify, start and reset with vdev.lock held (the virtio
 * core's calls). A backend says why it fails in one line itself.
 */
struct net_backend_ops {
	u64 features;		/* offered besides MAC, STATUS, MRG_RXBUF */
	bool multiqueue;	/* serves queues=N pairs (else one) */
	/* take what the NIC needs (fds, buffers); -errno */
	int (*open)(struct vnet *vn);
	/* registered with the transport: threads, kick routes; -errno */
	int (*run)(struct vnet *vn);
	/* DRIVER_OK; may be NULL */
	int (*start)(struct vnet *vn);
	/* a kick of receiveq or transmitq @q reached lkvm */
	void (*notify)(struct vnet *vn, unsigned int q);
	/* driver reset: stop touching the queues */
	void (*reset)(struct vnet *vn);
	/* vn->stop is set: join the threads (the queues still exist) */
	void (*stop)(struct vnet *vn);
	/* free what open took, also after a failed or partial open */
	void (*close)(struct vnet *vn);
};

extern const struct net_backend_ops net_tap_ops;	/* net/tap.c */
extern const struct net_backend_ops net_vhost_ops;	/* net/vhost.c */
/*
 * net/slirp.c: linked into the dynamic builds only (lkvm-slirp,
 * lkvm-asan), hence weak: NULL in the static lkvm, which becomes
 * lkvm-slirp for a mode=user NIC (net/slirp-exec.c).
 */
extern const struct net_backend_ops net_slirp_ops __attribute__((weak));

/* ---- net/slirp-exec.c: a static lkvm's mode=user NICs ---- */

struct kvm_config;
/* Has @cfg a mode=user NIC, and this lkvm no libslirp for it? */
bool net_slirp_exec_needed(const struct kvm_config *cfg);
/*
 * Become lkvm-slirp with this process's arguments (/proc/self/cmdline);
 * net_slirp_execv() with @argv, argv[0] included. They return only on
 * failure, said why: -errno.
 */
int net_slirp_exec(void);
int net_slirp_execv(char **argv);

/* ---- net/tap.c: taps, for the tap and vhost backends ---- */

/* Open queue @i of vn's tap (IFF_MULTI_QUEUE if several); fd or -errno. */
int net_tap_open_queue(struct vnet *vn, unsigned int i);
/* Every queue open: run the script=, or bring the tap up; -errno. */
int net_tap_configure(struct vnet *vn);
/* TUNSETOFFLOAD on @fd: what the guest accepted it can receive. */
void net_tap_set_offloads(struct vnet *vn, int fd);

/* ---- virtio/net-queue.c: the relay between queues and backends ---- */

static inline unsigned int vnet_rx_q(unsigned int pair)
{
	return 2 * pair;
}

static inline unsigned int vnet_tx_q(unsigned int pair)
{
	return 2 * pair + 1;
}

static inline void vnet_stat_add(u64 *stat, u64 n)
{
	__atomic_fetch_add(stat, n, __ATOMIC_RELAXED);
}

static inline bool vnet_stopping(struct vnet *vn)
{
	return __atomic_load_n(&vn->stop, __ATOMIC_ACQUIRE);
}

/* Signal / consume an eventfd (nothing if @fd < 0). */
void vnet_wake(int fd);
void vnet_drain(int fd);
/* Start @fn(@arg) as thread @name with a fresh wake eventfd; -errno. */
int vnet_thread_start(struct vnet_thread *t, void *(*fn)(void *), void *arg,
		      const char *name);
/* With vn->stop set: wake the thread, join it, close its eventfd. */
void vnet_thread_stop(struct vnet_thread *t);

/*
 * Deliver @pkt (header + frame) into pair @p's receiveq, vdev.lock held.
 * false: the guest has no buffers for it now (kept by the caller,
 * notifications enabled) or the VM is paused (kept; the resume calls the
 * backend's notify for this receiveq); true: delivered or dropped
 * (counted).
 */
bool vnet_rx_one(struct vnet *vn, struct vnet_pair *p, const u8 *pkt,
		 size_t len);

/* A backend's send: false if it dropped the frame. */
typedef bool vnet_send_fn(struct vnet *vn, struct vnet_pair *p,
			  struct virtq_elem *e, const struct net_tx_caps *caps);
/* Every transmit buffer of pair @p to @send, vdev.lock held; none while paused. */
void vnet_tx(struct vnet *vn, struct vnet_pair *p, vnet_send_fn *send);
/* A transmit buffer the driver got wrong: say why now and then; false. */
bool vnet_tx_bad(struct vnet *vn, enum net_tx_error err);

#endif
