// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (-d PATH[,ro][,direct][,snapshot][,id=SERIAL][,format=F]): one
 * device per disk, vda, vdb... in command line order, one request queue per
 * vCPU.
 *
 * No disk I/O is done on a vCPU thread. Two ways to serve the queues:
 *
 *   raw images: io_uring, one ring and one thread per disk, which does
 *     everything: the kicks of every queue arrive on it as reads of the
 *     queues' eventfds (KVM signals them: the transport's set_kick_fd), it
 *     pops the available chains, checks them (virtio/blk-req.c), queues
 *     reads, writes and flushes to the ring and pushes the used buffers of
 *     the completions; one io_uring_enter() per round submits everything
 *     the round brought and waits for the next event. One thread rather
 *     than a kick thread and a completion thread: a request costs one
 *     wake-up less, and the ring has a single issuer (so the kernel runs
 *     its completion work when we wait: IORING_SETUP_DEFER_TASKRUN).
 *     io_uring rather than libaio because libaio is only asynchronous with
 *     O_DIRECT (io_submit() blocks on buffered files, the common case
 *     here), while io_uring serves buffered I/O asynchronously, has fsync
 *     and needs no O_DIRECT alignment of its own. Without liburing at
 *     build time, or if the kernel refuses io_uring, raw images use the
 *     worker threads below.
 *   qcow2 images (and the snapshot overlay): a kick (ioeventfd thread, or
 *     a vCPU without ioeventfds) pops the chains and hands them to the
 *     queue's worker thread, which carries them out synchronously through
 *     the qcow2 library (which may be called concurrently).
 *
 * Discard, write zeroes and GET_ID of raw images are served where they are
 * popped (fallocate() and a copy: quick), and so are the writes that reach
 * the first sector of an image probed as raw: disk_pwritev() checks those
 * (include/lkvm/disk.h), which the ring would bypass.
 *
 * Every request in flight is counted under vdev->lock; a driver reset and
 * the device's exit wait for the count to drop to zero, so no I/O touches
 * guest memory after a reset, and every write the guest saw completed is
 * in the image (flushed at exit) whatever way lkvm stops.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#include <sys/eventfd.h>
#endif

#include "lkvm/disk.h"
#include "lkvm/init.h"
#include "lkvm/iov.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-blk.h"
#include "lkvm/seccomp.h"

#define BIT_ULL(n)		(1ULL << (n))
#define VBLK_QUEUE_SIZE		256
#define VBLK_SEG_MAX		(VBLK_QUEUE_SIZE - 2)
#define VBLK_SIZE_MAX		(1U << 20)
#define VBLK_MAX_DWZ_SECTORS	(1U << 21)	/* 1 GiB per segment */
#define VBLK_MAX_QUEUES		16

struct vblk;

struct vblk_req {
	struct virtq_elem elem;
	struct blk_req req;
	unsigned int q;
	u8 status;
	u32 written;		/* used length: data in + status */
	void *bounce;		/* O_DIRECT copy of unaligned guest memory */
	struct iovec bounce_iov;
	struct vblk_req *next;
};

struct vblk_queue {
	struct vblk *vb;
	unsigned int idx;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;	/* the list and stop */
	pthread_cond_t cond;
	struct vblk_req *head, **tail;
	bool stop;
};

struct vblk {
	struct virtio_device vdev;
	struct virtio_device_ops ops;
	char name[16];		/* vda, vdb... */
	struct disk *disk;
	struct blk_limits lim;
	struct virtio_blk_config cfg;
	bool registered;
	unsigned int nr_queues;
	struct vblk_queue queues[VBLK_MAX_QUEUES];

	/* under vdev.lock */
	struct vblk_req *free_reqs;
	unsigned int inflight;
	u64 nr_reqs, nr_segs, nr_kicks;	/* for --debug */
	pthread_cond_t idle;	/* inflight dropped to zero */
	bool resetting;

#ifdef HAVE_LIBURING
	bool uring;		/* raw I/O through the ring */
	struct io_uring ring;	/* only ever used by uring_thread */
	pthread_t uring_thread;
	int uring_ret;		/* the ring's setup, for uring_start() */
	bool stopping;		/* under vdev.lock */
	int kick_fd[VBLK_MAX_QUEUES];	/* eventfds KVM signals on kicks */
	u64 kick_val[VBLK_MAX_QUEUES];	/* read into by the ring */
#endif
};

static struct vblk *vblks[LKVM_MAX_DISKS];
static int nr_vblks;

/* ---- requests ---- */

static struct vblk_req *req_get(struct vblk *vb)
{
	struct vblk_req *r = vb->free_reqs;

	if (r)
		vb->free_reqs = r->next;
	else
		r = malloc(sizeof(*r));
	return r;
}

static void req_put(struct vblk *vb, struct vblk_req *r)
{
	r->next = vb->free_reqs;
	vb->free_reqs = r;
}

/*
 * Hand the buffer back (vdev.lock held); the caller then notifies the
 * queue. After a reset began, the queue is gone: just forget the request.
 */
static void req_done(struct vblk *vb, struct vblk_req *r)
{
	struct virtqueue *vq = &vb->vdev.vqs[r->q];

	free(r->bounce);
	r->bounce = NULL;
	if (!vb->resetting && virtio_device_live(&vb->vdev)) {
		if (r->req.status)
			*r->req.status = r->status;
		virtq_push(vq, r->elem.head, r->written);
	}
	req_put(vb, r);
	if (!--vb->inflight)
		pthread_cond_broadcast(&vb->idle);
}

static u8 errno_status(ssize_t ret)
{
	return ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Carry out a checked request synchronously; sets status and written. */
static void req_exec(struct vblk *vb, struct vblk_req *r)
{
	struct blk_req *q = &r->req;
	int ret = blk_req_exec(vb->disk, q, &r->written);

	/* -EPERM: the guard of sector 0, which said why once already */
	if (ret < 0 && ret != -EPERM)
		pr_warn_ratelimited("virtio-blk %s: request %u at sector %llu: %s",
				    vb->name, q->type,
				    (unsigned long long)q->sector,
				    strerror(-ret));
	r->status = errno_status(ret);
}

/* "blk-vda" for a disk's ring thread, "blk-vda-q0" for a queue's worker */
static void vblk_name_thread(struct vblk *vb, pthread_t t, int queue)
{
	char name[40];

	if (queue < 0)
		snprintf(name, sizeof(name), "blk-%s", vb->name);
	else
		snprintf(name, sizeof(name), "blk-%s-q%d", vb->name, queue);
	name[15] = '\0';	/* the kernel's limit */
	pthread_setname_np(t, name);
}

/* ---- worker threads: qcow2, and raw without io_uring ---- */

static void *queue_thread(void *arg)
{
	struct vblk_queue *vq = arg;
	struct vblk *vb = vq->vb;
	struct vblk_req *list, *r, *next;
	bool stop;

	seccomp_apply(SECCOMP_BLK_WORKER);
	for (;;) {
		pthread_mutex_lock(&vq->lock);
		while (!vq->head && !vq->stop)
			pthread_cond_wait(&vq->cond, &vq->lock);
		list = vq->head;
		vq->head = NULL;
		vq->tail = &vq->head;
		stop = vq->stop;
		pthread_mutex_unlock(&vq->lock);
		if (!list && stop)
			break;

		for (r = list; r; r = r->next)
			req_exec(vb, r);
		pthread_mutex_lock(&vb->vdev.lock);
		for (r = list; r; r = next) {
			next = r->next;
			req_done(vb, r);
		}
		if (!vb->resetting)
			virtio_notify_used(&vb->vdev, vq->idx);
		pthread_mutex_unlock(&vb->vdev.lock);
	}
	return NULL;
}

/* ---- io_uring: raw images ---- */

#ifdef HAVE_LIBURING
/* user_data of a kick's eventfd read: its queue, tagged (requests are not) */
#define KICK_TAG	1UL

static struct io_uring_sqe *uring_sqe(struct vblk *vb)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&vb->ring);

	if (!sqe) {
		io_uring_submit(&vb->ring);
		sqe = io_uring_get_sqe(&vb->ring);
	}
	return sqe;
}

/* Prepare one read, write or flush; false if the ring is full. */
static bool uring_prep(struct vblk *vb, struct vblk_req *r)
{
	struct blk_req *q = &r->req;
	struct disk *d = vb->disk;
	struct io_uring_sqe *sqe;
	const struct iovec *iov = q->data;
	unsigned int n = q->data_num;
	u64 off = q->sector * DISK_SECTOR_SIZE;

	if (q->type != VIRTIO_BLK_T_FLUSH && d->align > 1 &&
	    !disk_iov_aligned(d, iov, n)) {
		/* O_DIRECT: bounce through an aligned buffer */
		if (posix_memalign(&r->bounce, d->align,
				   MAX(q->data_len, d->align))) {
			r->bounce = NULL;
			return false;
		}
		r->bounce_iov.iov_base = r->bounce;
		r->bounce_iov.iov_len = q->data_len;
		if (q->type == VIRTIO_BLK_T_OUT)
			iov_to_buf(iov, n, 0, r->bounce, q->data_len);
		iov = &r->bounce_iov;
		n = 1;
	}
	sqe = uring_sqe(vb);
	if (!sqe) {
		free(r->bounce);
		r->bounce = NULL;
		return false;
	}
	if (q->type == VIRTIO_BLK_T_FLUSH)
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
	else if (q->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, d->fd, iov, n, off);
	else
		io_uring_prep_writev(sqe, d->fd, iov, n, off);
	io_uring_sqe_set_data(sqe, r);
	return true;
}

/* A completion: finish short transfers synchronously, set the status. */
static void uring_finish(struct vblk *vb, struct vblk_req *r, int res)
{
	struct blk_req *q = &r->req;

	if (q->type == VIRTIO_BLK_T_FLUSH) {
		r->status = errno_status(res);
		return;
	}
	if (res >= 0 && (u64)res < q->data_len) {
		/* short: redo the whole request the slow way */
		req_exec(vb, r);
		return;
	}
	if (res < 0) {
		pr_warn_ratelimited("virtio-blk %s: request %u at sector %llu: %s",
				    vb->name, q->type,
				    (unsigned long long)q->sector,
				    strerror(-res));
		r->status = VIRTIO_BLK_S_IOERR;
		return;
	}
	if (q->type == VIRTIO_BLK_T_IN) {
		if (r->bounce)
			iov_from_buf(q->data, q->data_num, 0, r->bounce,
				     q->data_len);
		r->written += q->data_len;
	}
	r->status = VIRTIO_BLK_S_OK;
}

/* Wait for the next kick of queue @q: a read of its eventfd. */
static void uring_arm_kick(struct vblk *vb, unsigned int q)
{
	struct io_uring_sqe *sqe = uring_sqe(vb);

	if (!sqe) {
		pr_err("virtio-blk %s: io_uring full: queue %u stalls",
		       vb->name, q);
		return;
	}
	io_uring_prep_read(sqe, vb->kick_fd[q], &vb->kick_val[q],
			   sizeof(vb->kick_val[q]), 0);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)&vb->queues[q] |
					    KICK_TAG));
}

static void vblk_pop_queue(struct vblk *vb, unsigned int qi);

/*
 * One round's events, vdev.lock held: push what completed, tell the
 * driver, then pop what the kicked queues have.
 */
static void uring_round(struct vblk *vb, struct vblk_req *done, u64 kicked)
{
	struct virtio_device *vdev = &vb->vdev;
	struct vblk_req *r, *next;
	u64 queues = 0;
	unsigned int q;

	for (r = done; r; r = next) {
		next = r->next;
		queues |= BIT_ULL(r->q);
		req_done(vb, r);
	}
	for (q = 0; q < vb->nr_queues && !vb->resetting; q++)
		if (queues & BIT_ULL(q))
			virtio_notify_used(vdev, q);
	if (kicked)
		vb->nr_kicks++;
	for (q = 0; q < vb->nr_queues; q++)
		if ((kicked & BIT_ULL(q)) && !vb->resetting &&
		    virtio_device_live(vdev) && vdev->vqs[q].ready)
			vblk_pop_queue(vb, q);
}

/* Create the ring on its own thread: it must be the ring's one issuer. */
static int uring_setup(struct vblk *vb)
{
	static const unsigned int flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,	/* before Linux 6.1 */
		0,				/* before 5.19 */
	};
	unsigned int entries = 1, i;
	int ret = -EINVAL;

	while (entries < vb->nr_queues * (VBLK_QUEUE_SIZE + 1) &&
	       entries < 4096)
		entries <<= 1;
	for (i = 0; i < ARRAY_SIZE(flags) && ret == -EINVAL; i++)
		ret = io_uring_queue_init(entries, &vb->ring, flags[i]);
	return ret;
}

static void *uring_thread(void *arg)
{
	struct vblk *vb = arg;
	struct io_uring_cqe *cqe;
	struct vblk_req *done, *r;
	unsigned int head, seen, q;
	bool stop;
	u64 kicked;
	int ret;

	pthread_mutex_lock(&vb->vdev.lock);
	vb->uring_ret = uring_setup(vb);
	pthread_cond_broadcast(&vb->idle);
	pthread_mutex_unlock(&vb->vdev.lock);
	if (vb->uring_ret < 0)
		return NULL;
	seccomp_apply(SECCOMP_BLK_URING);	/* the ring is set up */
	for (q = 0; q < vb->nr_queues; q++)
		uring_arm_kick(vb, q);

	for (;;) {
		ret = io_uring_submit_and_wait(&vb->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			pr_err("virtio-blk %s: io_uring: %s", vb->name,
			       strerror(-ret));
			break;
		}
		done = NULL;
		kicked = 0;
		seen = 0;
		io_uring_for_each_cqe(&vb->ring, head, cqe) {
			uintptr_t tag = (uintptr_t)io_uring_cqe_get_data(cqe);

			seen++;
			if (tag & KICK_TAG) {
				q = ((struct vblk_queue *)(tag & ~KICK_TAG))->idx;
				kicked |= BIT_ULL(q);
				continue;
			}
			r = (struct vblk_req *)tag;
			uring_finish(vb, r, cqe->res);
			r->next = done;
			done = r;
		}
		io_uring_cq_advance(&vb->ring, seen);

		pthread_mutex_lock(&vb->vdev.lock);
		uring_round(vb, done, vb->stopping ? 0 : kicked);
		stop = vb->stopping && !vb->inflight;
		pthread_mutex_unlock(&vb->vdev.lock);
		if (stop)
			break;
		for (q = 0; q < vb->nr_queues; q++)
			if (kicked & BIT_ULL(q))
				uring_arm_kick(vb, q);
	}
	return NULL;
}

static void uring_close_kicks(struct vblk *vb)
{
	unsigned int q;

	for (q = 0; q < VBLK_MAX_QUEUES; q++) {
		if (vb->kick_fd[q] >= 0)
			close(vb->kick_fd[q]);
		vb->kick_fd[q] = -1;
	}
}

static bool uring_start(struct vblk *vb)
{
	unsigned int q;

	if (vb->disk->format != DISK_RAW)
		return false;
	for (q = 0; q < vb->nr_queues; q++) {
		vb->kick_fd[q] = eventfd(0, EFD_CLOEXEC);
		if (vb->kick_fd[q] < 0)
			goto fail;
	}
	vb->uring_ret = 1;	/* not yet known */
	if (pthread_create(&vb->uring_thread, NULL, uring_thread, vb))
		goto fail;
	vblk_name_thread(vb, vb->uring_thread, -1);
	pthread_mutex_lock(&vb->vdev.lock);
	while (vb->uring_ret > 0)
		pthread_cond_wait(&vb->idle, &vb->vdev.lock);
	pthread_mutex_unlock(&vb->vdev.lock);
	if (vb->uring_ret < 0) {
		pr_debug("virtio-blk %s: no io_uring (%s): worker threads",
			 vb->name, strerror(-vb->uring_ret));
		pthread_join(vb->uring_thread, NULL);
		goto fail;
	}
	vb->uring = true;
	return true;
fail:
	uring_close_kicks(vb);
	return false;
}

/*
 * Once registered: KVM signals the queues' eventfds itself. Where it
 * cannot (no ioeventfds), kicks still reach vblk_notify(), which passes
 * them on to the same eventfds.
 */
static void uring_route_kicks(struct vblk *vb)
{
	const struct virtio_transport_ops *t = vb->vdev.transport;
	unsigned int q;
	int ret;

	for (q = 0; q < vb->nr_queues && t->set_kick_fd; q++) {
		ret = t->set_kick_fd(&vb->vdev, q, vb->kick_fd[q]);
		if (ret < 0)
			pr_debug("virtio-blk %s: queue %u kicks through lkvm: %s",
				 vb->name, q, strerror(-ret));
	}
}

/* After the drain: wake the ring's thread, which sees it must stop. */
static void uring_stop(struct vblk *vb)
{
	if (!vb->uring)
		return;
	pthread_mutex_lock(&vb->vdev.lock);
	vb->stopping = true;
	pthread_mutex_unlock(&vb->vdev.lock);
	if (eventfd_write(vb->kick_fd[0], 1) == 0)
		pthread_join(vb->uring_thread, NULL);
	else
		pthread_cancel(vb->uring_thread);
	io_uring_queue_exit(&vb->ring);
	uring_close_kicks(vb);
	vb->uring = false;
}
#endif

/* ---- the device ---- */

static void vblk_config(struct virtio_device *vdev, u32 offset, u8 *data,
			u32 len, bool is_write)
{
	struct vblk *vb = vdev->priv;

	/* No CONFIG_WCE: nothing is writable. */
	if (is_write)
		return;
	if (offset > sizeof(vb->cfg) || len > sizeof(vb->cfg) - offset) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, (u8 *)&vb->cfg + offset, len);
}

/*
 * Start one popped request: complete it at once (errors, GET_ID,
 * discard), queue it to the ring, or to the queue's worker list.
 * Returns true if it was completed here.
 */
static bool vblk_start_req(struct vblk *vb, struct vblk_req *r,
			   struct vblk_req ***tail)
{
	struct blk_req *q = &r->req;

	r->status = blk_req_parse(&r->elem, &vb->lim, q);
	r->written = q->status ? 1 : 0;
	r->bounce = NULL;
	r->next = NULL;
	vb->inflight++;
	vb->nr_reqs++;
	vb->nr_segs += q->data_num;
	if (r->status != VIRTIO_BLK_S_OK || q->type == VIRTIO_BLK_T_GET_ID) {
		if (r->status == VIRTIO_BLK_S_OK)
			req_exec(vb, r);
		req_done(vb, r);
		return true;
	}
#ifdef HAVE_LIBURING
	if (vb->uring) {
		/* and writes that disk/disk.c must check: sector 0 */
		if ((q->type != VIRTIO_BLK_T_IN && q->type != VIRTIO_BLK_T_OUT &&
		     q->type != VIRTIO_BLK_T_FLUSH) ||
		    (q->type == VIRTIO_BLK_T_OUT &&
		     disk_write_checked(vb->disk, q->sector * DISK_SECTOR_SIZE))) {
			req_exec(vb, r);
			req_done(vb, r);
			return true;
		}
		if (uring_prep(vb, r))
			return false;
		/* no room in the ring, no memory: do it here */
		req_exec(vb, r);
		req_done(vb, r);
		return true;
	}
#endif
	**tail = r;
	*tail = &r->next;
	return false;
}

/*
 * Pop and start every available request of queue @qi (vdev.lock held):
 * on the ring's thread, or on the kicking thread for worker threads.
 */
static void vblk_pop_queue(struct vblk *vb, unsigned int qi)
{
	struct virtio_device *vdev = &vb->vdev;
	struct virtqueue *vq = &vdev->vqs[qi];
	struct vblk_queue *bq = &vb->queues[qi];
	struct vblk_req *batch = NULL, **tail = &batch, *r;
	enum virtq_pop_result res = VIRTQ_EMPTY;

	do {
		virtq_enable_notify(vq, false);
		for (;;) {
			r = req_get(vb);
			if (!r) {
				pr_warn_ratelimited("virtio-blk %s: out of memory",
						    vb->name);
				break;
			}
			res = virtq_pop(vq, &r->elem);
			if (res != VIRTQ_GOT) {
				req_put(vb, r);
				break;
			}
			r->q = qi;
			vblk_start_req(vb, r, &tail);
		}
		virtio_notify_used(vdev, qi);
	} while (r && res == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (res == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed request chain");

	/* everything this kick brought, in one go */
	if (batch) {
		pthread_mutex_lock(&bq->lock);
		*bq->tail = batch;
		bq->tail = tail;
		pthread_cond_signal(&bq->cond);
		pthread_mutex_unlock(&bq->lock);
	}
}

static void vblk_notify(struct virtio_device *vdev, unsigned int qi)
{
	struct vblk *vb = vdev->priv;

	if (vb->resetting || qi >= vb->nr_queues)
		return;
#ifdef HAVE_LIBURING
	/* a kick KVM could not route to the ring's thread: pass it on */
	if (vb->uring) {
		eventfd_write(vb->kick_fd[qi], 1);
		return;
	}
#endif
	vblk_pop_queue(vb, qi);
}

/* Wait for every request in flight (vdev.lock held, released meanwhile). */
static void vblk_drain(struct vblk *vb)
{
	while (vb->inflight)
		pthread_cond_wait(&vb->idle, &vb->vdev.lock);
}

static void vblk_reset(struct virtio_device *vdev)
{
	struct vblk *vb = vdev->priv;

	vb->resetting = true;
	vblk_drain(vb);
	vb->resetting = false;
}

static int vblk_start_threads(struct vblk *vb)
{
	unsigned int i;

#ifdef HAVE_LIBURING
	if (uring_start(vb))
		return 0;
#endif
	for (i = 0; i < vb->nr_queues; i++) {
		struct vblk_queue *q = &vb->queues[i];

		if (pthread_create(&q->thread, NULL, queue_thread, q))
			return -EAGAIN;
		q->thread_started = true;
		vblk_name_thread(vb, q->thread, i);
	}
	return 0;
}

static void vblk_stop_threads(struct vblk *vb)
{
	unsigned int i;

#ifdef HAVE_LIBURING
	uring_stop(vb);
#endif
	for (i = 0; i < vb->nr_queues; i++) {
		struct vblk_queue *q = &vb->queues[i];

		if (!q->thread_started)
			continue;
		pthread_mutex_lock(&q->lock);
		q->stop = true;
		pthread_cond_signal(&q->cond);
		pthread_mutex_unlock(&q->lock);
		pthread_join(q->thread, NULL);
		q->thread_started = false;
	}
}

static void vblk_setup_config(struct vblk *vb, unsigned int nr_queues)
{
	struct disk *d = vb->disk;
	struct virtio_blk_config *c = &vb->cfg;
	struct blk_limits *l = &vb->lim;
	u64 f;

	f = BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | BIT_ULL(VIRTIO_BLK_F_SIZE_MAX) |
	    BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) | BIT_ULL(VIRTIO_BLK_F_FLUSH) |
	    BIT_ULL(VIRTIO_BLK_F_MQ);
	if (d->ro)
		f |= BIT_ULL(VIRTIO_BLK_F_RO);
	if (!d->ro && d->can_discard)
		f |= BIT_ULL(VIRTIO_BLK_F_DISCARD);
	if (!d->ro)
		f |= BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES);

	*l = (struct blk_limits) {
		.capacity = d->size / DISK_SECTOR_SIZE,
		.seg_max = VBLK_SEG_MAX,
		.size_max = VBLK_SIZE_MAX,
		.blk_size = MAX(d->align, DISK_SECTOR_SIZE),
		.ro = d->ro,
		.flush = true,
		.discard = f & BIT_ULL(VIRTIO_BLK_F_DISCARD),
		.write_zeroes = f & BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES),
		.max_discard_sectors = VBLK_MAX_DWZ_SECTORS,
		.max_write_zeroes_sectors = VBLK_MAX_DWZ_SECTORS,
	};
	memset(c, 0, sizeof(*c));
	c->capacity = htole64(l->capacity);
	c->size_max = htole32(l->size_max);
	c->seg_max = htole32(l->seg_max);
	c->blk_size = htole32(l->blk_size);
	c->num_queues = htole16(nr_queues);
	if (l->discard) {
		c->max_discard_sectors = htole32(VBLK_MAX_DWZ_SECTORS);
		c->max_discard_seg = htole32(BLK_MAX_DWZ_SEGS);
		c->discard_sector_alignment =
			htole32(MAX(d->discard_align, l->blk_size) /
				DISK_SECTOR_SIZE);
	}
	if (l->write_zeroes) {
		c->max_write_zeroes_sectors = htole32(VBLK_MAX_DWZ_SECTORS);
		c->max_write_zeroes_seg = htole32(BLK_MAX_DWZ_SEGS);
		c->write_zeroes_may_unmap = d->can_discard;
	}

	vb->ops = (struct virtio_device_ops) {
		.name = "blk",
		.device_id = VIRTIO_ID_BLOCK,
		.features = f,
		.nr_queues = nr_queues,
		.queue_size = VBLK_QUEUE_SIZE,
		.config_size = sizeof(*c),
		.config_access = vblk_config,
		.notify = vblk_notify,
		.reset = vblk_reset,
	};
}

static void vblk_free(struct vblk *vb)
{
	struct vblk_req *r;
	unsigned int i;

	while ((r = vb->free_reqs)) {
		vb->free_reqs = r->next;
		free(r);
	}
	for (i = 0; i < VBLK_MAX_QUEUES; i++) {
		pthread_mutex_destroy(&vb->queues[i].lock);
		pthread_cond_destroy(&vb->queues[i].cond);
	}
	pthread_cond_destroy(&vb->idle);
	disk_close(vb->disk);	/* flushes */
	free(vb);
}

static int vblk_add(struct kvm *kvm, const char *arg, unsigned int idx)
{
	unsigned int nr_queues, i;
	struct disk_spec spec;
	struct vblk *vb;
	char err[512];
	int ret;

	if (disk_spec_parse(arg, &spec, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return -EINVAL;
	}
	vb = calloc(1, sizeof(*vb));
	if (!vb)
		return -ENOMEM;
	snprintf(vb->name, sizeof(vb->name), "vd%c", 'a' + idx);
	pthread_cond_init(&vb->idle, NULL);
#ifdef HAVE_LIBURING
	for (i = 0; i < VBLK_MAX_QUEUES; i++)
		vb->kick_fd[i] = -1;
#endif
	for (i = 0; i < VBLK_MAX_QUEUES; i++) {
		struct vblk_queue *q = &vb->queues[i];

		q->vb = vb;
		q->idx = i;
		q->tail = &q->head;
		pthread_mutex_init(&q->lock, NULL);
		pthread_cond_init(&q->cond, NULL);
	}
	ret = disk_open(&vb->disk, &spec, err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		vblk_free(vb);
		return ret;
	}
	nr_queues = MIN((unsigned int)MAX(kvm->cfg.nr_cpus, 1),
			VBLK_MAX_QUEUES);
	vb->nr_queues = nr_queues;
	vblk_setup_config(vb, nr_queues);
	virtio_device_init(&vb->vdev, &vb->ops, kvm, &kvm->mem, vb);

	ret = vblk_start_threads(vb);
	if (ret < 0) {
		pr_err("virtio-blk %s: cannot start its threads", vb->name);
		goto fail;
	}
	ret = virtio_register(kvm, &vb->vdev);
	if (ret < 0) {
		pr_err("virtio-blk %s: cannot register the device: %s",
		       vb->name, strerror(-ret));
		goto fail;
	}
	vb->registered = true;
#ifdef HAVE_LIBURING
	if (vb->uring)
		uring_route_kicks(vb);
#endif
	vblks[nr_vblks++] = vb;
	pr_debug("virtio-blk %s: %s, %s%s%s%s, %llu sectors, %u queue%s%s",
		 vb->name, vb->disk->path, disk_format_name(vb->disk->format),
		 spec.ro ? ", ro" : "", spec.direct ? ", direct" : "",
		 spec.snapshot ? ", snapshot" : "",
		 (unsigned long long)vb->lim.capacity, nr_queues,
		 nr_queues > 1 ? "s" : "",
#ifdef HAVE_LIBURING
		 vb->uring ? ", io_uring" :
#endif
		 ", worker threads");
	return 0;
fail:
	vblk_stop_threads(vb);
	vblk_free(vb);
	return ret;
}

static void vblk_exit(struct kvm *kvm)
{
	int i;

	for (i = nr_vblks - 1; i >= 0; i--) {
		struct vblk *vb = vblks[i];

		/* no more kicks; then let what is in flight land */
		if (vb->registered)
			virtio_unregister(&vb->vdev);
		vb->registered = false;
		pthread_mutex_lock(&vb->vdev.lock);
		vblk_drain(vb);
		pthread_mutex_unlock(&vb->vdev.lock);
		vblk_stop_threads(vb);
		if (vb->nr_reqs)
			pr_debug("virtio-blk %s: %llu requests, %.1f data segments each, %llu rounds of kicks",
				 vb->name, (unsigned long long)vb->nr_reqs,
				 (double)vb->nr_segs / vb->nr_reqs,
				 (unsigned long long)vb->nr_kicks);
		vblk_free(vb);
		vblks[i] = NULL;
	}
	nr_vblks = 0;
}

static int vblk_init(struct kvm *kvm)
{
	int i, ret;

	for (i = 0; i < kvm->cfg.nr_disks; i++) {
		ret = vblk_add(kvm, kvm->cfg.disks[i], i);
		if (ret < 0) {
			vblk_exit(kvm);
			return ret;
		}
	}
	/* like kvmtool: the first disk is the root file system */
	if (kvm->cfg.nr_disks)
		return kvm_cmdline_add_default(kvm, "root", "root=/dev/vda rw");
	return 0;
}
lkvm_init(INIT_DEV, vblk_init, vblk_exit);
