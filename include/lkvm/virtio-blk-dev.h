/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-blk's device (virtio/blk.c) and its I/O backends: what they
 * share. The device pops and checks requests and completes them; a
 * backend carries out the checked reads, writes and flushes off the vCPU
 * threads: the worker threads (virtio/blk-threads.c) or io_uring
 * (virtio/blk-uring.c, built only with liburing). vblk_start_backend()
 * in virtio/blk.c is the one place that chooses; the request path both
 * use is virtio/blk-queue.c, below them (they never call virtio/blk.c).
 */
#ifndef LKVM_VIRTIO_BLK_DEV_H
#define LKVM_VIRTIO_BLK_DEV_H

#include <pthread.h>

#include "lkvm/virtio-blk.h"

/*
 * No chain may be longer than the queue, so seg_max is the queue size less
 * the header and status: 1024 lets a 1 MiB request in 4 KiB pages go as
 * one, where 256 made the guest split it in two (254 pages, then 2).
 */
#define VBLK_QUEUE_SIZE		1024
#define VBLK_MAX_QUEUES		16
#define VBLK_TIMED_KINDS	4	/* read, write, flush, other */

struct vblk;

struct vblk_req {
	struct virtq_elem elem;
	struct blk_req req;
	unsigned int q;
	u8 status;
	u32 written;		/* used length: data in + status */
	void *bounce;		/* O_DIRECT copy of unaligned guest memory */
	struct iovec bounce_iov;
	u64 popped_ns;		/* --debug: when it was popped */
	struct vblk_req *next;
};

/* A queue's worker thread and its list (the worker-thread backend). */
struct vblk_queue {
	struct vblk *vb;
	unsigned int idx;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;	/* the list and stop */
	pthread_cond_t cond;
	struct vblk_req *head, **tail;
	bool stop;
	struct vblk_req *batch, **batch_tail;	/* this pop's, vdev.lock */
};

/*
 * A backend. Every hook but start runs once start succeeded; submit,
 * popped and notify run with vdev.lock held.
 */
struct vblk_backend_ops {
	const char *name;	/* for --debug */
	/* start serving @vb (before registration); -errno: cannot */
	int (*start)(struct vblk *vb);
	/* @vb is registered with its transport; may be NULL */
	void (*registered)(struct vblk *vb);
	/* take a checked request; false: the device carries it out itself */
	bool (*submit)(struct vblk *vb, struct vblk_req *r);
	/* every available request of a queue was popped; may be NULL */
	void (*popped)(struct vblk *vb, unsigned int q);
	/* a kick of queue @q reached lkvm */
	void (*notify)(struct vblk *vb, unsigned int q);
	/* nothing is in flight: stop, free what start took */
	void (*stop)(struct vblk *vb);
};

struct vblk {
	struct virtio_device vdev;
	struct virtio_device_ops ops;
	char name[16];		/* vda, vdb... */
	struct disk *disk;
	struct blk_limits lim;
	struct virtio_blk_config cfg;
	unsigned int nr_queues;
	struct vblk_queue queues[VBLK_MAX_QUEUES];
	const struct vblk_backend_ops *be;
	void *be_state;		/* the backend's own */

	/* under vdev.lock */
	struct vblk_req *free_reqs;
	unsigned int inflight;
	u64 nr_reqs, nr_segs, nr_kicks;	/* for --debug */
	bool timing;		/* --debug: pop to push time by request type */
	u64 timed_nr[VBLK_TIMED_KINDS], timed_ns[VBLK_TIMED_KINDS];
	/*
	 * --debug: the device's waits for the guest, from the moment it has
	 * nothing in flight and found its queue empty to its next pop;
	 * those over VBLK_WAIT_LONG_NS (the guest busy with something else)
	 * are only counted
	 */
	bool found_empty;
	u64 wait_since, wait_nr, wait_ns, wait_long;
	pthread_cond_t idle;	/* inflight dropped to zero */
	bool resetting;
	struct virtq_poll poll;	/* the io_uring thread's (virtio/blk-uring.c) */
	/*
	 * The io_uring thread holds queue 0's interrupt back while it polls
	 * for the driver's next request: vblk_pop_queue() does not notify,
	 * but for a large request (VBLK_SIGNAL_EARLY). held: completions
	 * pushed meanwhile; guest_depth: the most requests the guest was
	 * seen to have outstanding (in flight here or held), see
	 * vblk_guest_waits().
	 */
	bool hold_irq;
	unsigned int held, guest_depth;
};

/* virtio/blk-threads.c */
extern const struct vblk_backend_ops vblk_threads_ops;
/* virtio/blk-uring.c, linked only with liburing */
extern const struct vblk_backend_ops vblk_uring_ops;

/* ---- virtio/blk-queue.c ---- */

#define VBLK_WAIT_LONG_NS	10000000ULL	/* struct vblk's wait_long */

/*
 * A request of this many bytes or more that the pop carries out itself
 * (a buffered write of the io_uring backend), and that leaves at most
 * one request in the queue, is signalled at once, held interrupt or not:
 * the guest then refills the queue while the last one is copied. With
 * the pop's one interrupt at its end, a guest writing 1 MiB at depth 8
 * got it once the eighth was copied, and the device then waited for the
 * next eight, 0.8-1.2 ms a round in the rig (bench part blkseq: --debug's
 * "waited for the guest").
 */
#define VBLK_SIGNAL_EARLY	(64 << 10)

/* Does @r move VBLK_SIGNAL_EARLY bytes or more? */
static inline bool vblk_req_large(const struct vblk_req *r)
{
	return r->req.data_len >= VBLK_SIGNAL_EARLY;
}

/* Carry out a checked request synchronously; sets status and written. */
void vblk_req_exec(struct vblk *vb, struct vblk_req *r);
/* Hand the buffer back (vdev.lock held); the caller notifies the queue. */
void vblk_req_done(struct vblk *vb, struct vblk_req *r);
/*
 * With @n more completions held, would everything the guest has
 * outstanding be done and held (vdev.lock held)? A guest that keeps a
 * fixed number of requests in flight then sends nothing more until it
 * hears of them, so a wait for its next request only delays it. The
 * depth learnt only grows: a guest that is merely slow between two
 * requests would teach a smaller one, and be signalled for nearly every
 * request (tried: 0.14 -> 0.61-0.88 interrupts a random read at depth 8,
 * 36-41 % fewer reads). A guest whose depth shrank is held as before.
 * Never when @large (the @n include one of VBLK_SIGNAL_EARLY or more):
 * 1 MiB reads at depth 8 lost 13-16 % with it (bench blkr A/B).
 */
bool vblk_guest_waits(const struct vblk *vb, unsigned int n, bool large);
/* Send queue @qi's interrupt if it is held back (vdev.lock held). */
void vblk_release_irq(struct vblk *vb, unsigned int qi);
/* Pop and start every available request of queue @qi (vdev.lock held). */
void vblk_pop_queue(struct vblk *vb, unsigned int qi);
/* "blk-vda" for a disk's thread (@queue < 0), "blk-vda-q0" for a queue's */
void vblk_name_thread(struct vblk *vb, pthread_t t, int queue);
/* Free the requests kept for reuse (nothing in flight any more). */
void vblk_free_reqs(struct vblk *vb);

#endif
