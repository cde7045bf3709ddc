// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk's io_uring backend (built only with liburing; chosen for raw
 * images by vblk_start_backend() in virtio/blk.c): one ring and one thread
 * per disk, which does everything. The kicks of every queue arrive on it
 * as reads of the queues' eventfds (KVM signals them: the transport's
 * set_kick_fd), it pops the available chains, checks them
 * (virtio/blk-req.c), queues reads, writes and flushes to the ring and
 * pushes the used buffers of the completions; one io_uring_enter() per
 * round submits everything the round brought and waits for the next
 * event.
 *
 * One thread rather than a kick thread and a completion thread: a request
 * costs one wake-up less, and the ring has a single issuer (so the kernel
 * runs its completion work when we wait: IORING_SETUP_DEFER_TASKRUN).
 * io_uring rather than libaio because libaio is only asynchronous with
 * O_DIRECT (io_submit() blocks on buffered files, the common case here),
 * while io_uring serves buffered I/O asynchronously, has fsync and needs
 * no O_DIRECT alignment of its own. If the kernel refuses io_uring,
 * start fails and the device uses its worker threads.
 *
 * Polling (uring_poll): with nothing in flight, the thread watches its
 * queue a while before it sleeps, as virtio-9p's worker does. Once the
 * polls prove the guest sends requests while others are outstanding, the
 * interrupt for the completions waits for the poll (uring_may_hold).
 *
 * Discard, write zeroes, buffered writes (uring_write_inline) and the
 * writes that reach the first sector of an image probed as raw are not
 * submitted: the device carries them out where they are popped
 * (disk_pwritev() checks the last, include/lkvm/disk.h, which the ring
 * would bypass).
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/iov.h"
#include "lkvm/seccomp.h"
#include "lkvm/util.h"
#include "lkvm/virtio-blk-dev.h"

/* user_data of a kick's eventfd read: its queue, tagged (requests are not) */
#define KICK_TAG	1UL

struct vblk_uring {
	struct vblk *vb;
	struct io_uring ring;	/* only ever used by uring_thread */
	pthread_t thread;
	int ret;		/* the ring's setup, for uring_start() */
	bool stopping;		/* under vdev.lock */
	int kick_fd[VBLK_MAX_QUEUES];	/* eventfds KVM signals on kicks */
	u64 kick_val[VBLK_MAX_QUEUES];	/* read into by the ring */
};

static struct io_uring_sqe *uring_sqe(struct vblk_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

/* Prepare one read, write or flush; false if the ring is full. */
static bool uring_prep(struct vblk_uring *u, struct vblk_req *r)
{
	struct blk_req *q = &r->req;
	struct disk *d = u->vb->disk;
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
	sqe = uring_sqe(u);
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

/*
 * A buffered write (no O_DIRECT) is a copy into the page cache, which
 * io_uring cannot start without blocking on most filesystems (ext4 and
 * tmpfs on Linux 6.1): it punts each one to an io-wq worker, serialised
 * per file, and the completion comes back through task work. Done here
 * with pwritev() it is the same copy without two thread wake-ups, and
 * with no worker to be scheduled beside the vCPU; at depth 8 a write no
 * longer waits in lkvm behind the others (bench part blkab: from pop to
 * push 8 ms -> 0.9 ms in the rig; the guest's throughput, bound by the
 * copy, stayed within the noise). Reads stay on the ring: a page-cache
 * hit completes inline there, a miss waits without a worker.
 */
static bool uring_write_inline(const struct disk *d)
{
	return d->align <= 1;
}

/*
 * Take a read, write or flush (on the ring's thread, which pops). Not
 * the rest, nor writes that disk/disk.c must check: sector 0, nor
 * buffered writes (uring_write_inline).
 */
static bool uring_submit(struct vblk *vb, struct vblk_req *r)
{
	struct blk_req *q = &r->req;

	if ((q->type != VIRTIO_BLK_T_IN && q->type != VIRTIO_BLK_T_OUT &&
	     q->type != VIRTIO_BLK_T_FLUSH) ||
	    (q->type == VIRTIO_BLK_T_OUT &&
	     (uring_write_inline(vb->disk) ||
	      disk_write_checked(vb->disk, q->sector * DISK_SECTOR_SIZE))))
		return false;
	/* no room in the ring, no memory: the device does it */
	return uring_prep(vb->be_state, r);
}

/* A completion: finish short transfers synchronously, set the status. */
static void uring_finish(struct vblk *vb, struct vblk_req *r, int res)
{
	struct blk_req *q = &r->req;

	if (q->type == VIRTIO_BLK_T_FLUSH) {
		r->status = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		return;
	}
	if (res >= 0 && (u64)res < q->data_len) {
		/* short: redo the whole request the slow way */
		vblk_req_exec(vb, r);
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
static void uring_arm_kick(struct vblk_uring *u, unsigned int q)
{
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (!sqe) {
		pr_err("virtio-blk %s: io_uring full: queue %u stalls",
		       u->vb->name, q);
		return;
	}
	io_uring_prep_read(sqe, u->kick_fd[q], &u->kick_val[q],
			   sizeof(u->kick_val[q]), 0);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)&u->kick_val[q] |
					    KICK_TAG));
}

/* May queue @q be popped (vdev.lock held)? */
static bool uring_queue_open(struct vblk *vb, unsigned int q)
{
	return !vb->resetting && virtio_device_live(&vb->vdev) &&
	       vb->vdev.vqs[q].ready;
}

/*
 * Holding the interrupt back. At depth 8 a guest's one vCPU paid for an
 * interrupt per read (bench blkrr: 0.98 a read, where kvmtool, slower
 * from kick to completion, let 2 reads complete per interrupt): a cached
 * read completes within one round here, before the guest sends the
 * next. Once the polls have proven that the guest sends requests while
 * it waits for others, or for a trial (virtq_poll_may_hold), the
 * interrupt for what a round completed waits while the thread polls
 * (virtq_poll_held) and serves what it finds. It goes out when a window
 * passes empty, when the thread would sleep (uring_wait: never with an
 * interrupt held, so a read that waits for the disk does not hold back
 * the others), after URING_HOLD_MAX completions, so a guest that keeps
 * sending does not wait for ever, when a large write done in the pop
 * leaves the queue low (VBLK_SIGNAL_EARLY, virtio/blk-queue.c), and, for
 * small requests, at once when everything the guest has outstanding is
 * done (vblk_guest_waits): it cannot send more before it hears, and the
 * last window of each burst used to pass empty with guest and device
 * idle (bench blkrr: the guest's vCPU 24-29 % idle at depth 8). A guest
 * that waits for each completion fails the proof and is held only for
 * the trials: each of its reads would wait out a window.
 */
#define URING_HOLD_MAX	32

static bool uring_may_hold(struct vblk_uring *u, unsigned int n, bool large)
{
	struct vblk *vb = u->vb;

	return !u->stopping && vb->nr_queues == 1 &&
	       vb->held < URING_HOLD_MAX && !vblk_guest_waits(vb, n, large) &&
	       virtq_poll_may_hold(&vb->poll, mono_ns());
}

/*
 * One round's events, vdev.lock held: push what completed, tell the
 * driver or hold the interrupt back, then pop what the kicked queues
 * have.
 */
static void uring_round(struct vblk_uring *u, struct vblk_req *done,
			u64 kicked)
{
	struct vblk *vb = u->vb;
	struct virtio_device *vdev = &vb->vdev;
	struct vblk_req *r, *next;
	unsigned int q, n = 0;
	u64 queues = 0;
	bool large = false;

	for (r = done; r; r = next, n++) {
		next = r->next;
		queues |= BIT_ULL(r->q);
		large |= vblk_req_large(r);
		vblk_req_done(vb, r);
	}
	if ((n || vb->hold_irq) && !uring_may_hold(u, n, large)) {
		vblk_release_irq(vb, 0);
	} else if (n) {
		vb->hold_irq = true;
		vb->held += n;
	}
	for (q = 0; q < vb->nr_queues && !vb->resetting; q++)
		if ((queues & BIT_ULL(q)) && !vb->hold_irq)
			virtio_notify_used(vdev, q);
	if (kicked)
		vb->nr_kicks++;
	for (q = 0; q < vb->nr_queues; q++)
		if ((kicked & BIT_ULL(q)) && uring_queue_open(vb, q))
			vblk_pop_queue(vb, q);
}

/*
 * Nothing in flight (vdev.lock held): watch the queue for the poll window
 * (struct virtq_poll); true if it has requests to pop. A guest with
 * several requests in flight sends the next one soon after it took the
 * last completion, and one caught here costs it no kick (bench part
 * blkrr). One queue only: a watch follows one avail index.
 */
static bool uring_poll(struct vblk_uring *u)
{
	struct vblk *vb = u->vb;
	struct virtio_device *vdev = &vb->vdev;
	bool got;

	if (u->stopping || vb->nr_queues != 1 || vb->inflight ||
	    !uring_queue_open(vb, 0))
		return false;
	if (vb->hold_irq)
		got = virtq_poll_held(&vb->poll, &vdev->vqs[0], &vdev->lock);
	else
		got = virtq_poll(&vb->poll, &vdev->vqs[0], &vdev->lock);
	if (!got)
		return false;
	/* the lock was dropped: is the queue still to be served? */
	return !u->stopping && uring_queue_open(vb, 0);
}

/* Create the ring on its own thread: it must be the ring's one issuer. */
static int uring_setup(struct vblk_uring *u)
{
	static const unsigned int flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,	/* before Linux 6.1 */
		0,				/* before 5.19 */
	};
	unsigned int entries = 1, i;
	int ret = -EINVAL;

	/*
	 * 257 per queue, not a whole queue's worth: a request that finds the
	 * ring full waits for a submit (uring_sqe()), and the ring's pages
	 * (64 bytes a submission, 32 a completion) are all resident.
	 */
	while (entries < u->vb->nr_queues * 257 && entries < 4096)
		entries <<= 1;
	for (i = 0; i < ARRAY_SIZE(flags) && ret == -EINVAL; i++)
		ret = io_uring_queue_init(entries, &u->ring, flags[i]);
	return ret;
}

/*
 * Submit what the round queued and wait for the next event; but first,
 * with an interrupt held and nothing completed at once (a read the page
 * cache could not serve), send the interrupt: never sleep holding it.
 */
static int uring_wait(struct vblk_uring *u)
{
	struct vblk *vb = u->vb;

	if (vb->hold_irq) {	/* only this thread sets it */
		io_uring_submit(&u->ring);
		if (io_uring_cq_ready(&u->ring))
			return 0;
		pthread_mutex_lock(&vb->vdev.lock);
		vblk_release_irq(vb, 0);
		pthread_mutex_unlock(&vb->vdev.lock);
	}
	return io_uring_submit_and_wait(&u->ring, 1);
}

static void *uring_thread(void *arg)
{
	struct vblk_uring *u = arg;
	struct vblk *vb = u->vb;
	struct io_uring_cqe *cqe;
	struct vblk_req *done, *r;
	unsigned int head, seen, q;
	bool stop;
	u64 kicked;
	int ret;

	pthread_mutex_lock(&vb->vdev.lock);
	u->ret = uring_setup(u);
	pthread_cond_broadcast(&vb->idle);
	pthread_mutex_unlock(&vb->vdev.lock);
	if (u->ret < 0)
		return NULL;
	seccomp_apply(SECCOMP_BLK_URING);	/* the ring is set up */
	for (q = 0; q < vb->nr_queues; q++)
		uring_arm_kick(u, q);

	for (;;) {
		ret = uring_wait(u);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			pr_err("virtio-blk %s: io_uring: %s", vb->name,
			       strerror(-ret));
			break;
		}
		done = NULL;
		kicked = 0;
		seen = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			uintptr_t tag = (uintptr_t)io_uring_cqe_get_data(cqe);

			seen++;
			if (tag & KICK_TAG) {
				q = (u64 *)(tag & ~KICK_TAG) - u->kick_val;
				kicked |= BIT_ULL(q);
				continue;
			}
			r = (struct vblk_req *)tag;
			uring_finish(vb, r, cqe->res);
			r->next = done;
			done = r;
		}
		io_uring_cq_advance(&u->ring, seen);

		if (kicked)
			virtq_poll_adapt(&vb->poll, mono_ns() - vb->poll.idle_ns);
		pthread_mutex_lock(&vb->vdev.lock);
		uring_round(u, done, u->stopping ? 0 : kicked);
		/*
		 * Pop what the polling finds: writes are served there and
		 * then, and it polls again; reads queued to the ring are
		 * submitted first.
		 */
		while (uring_poll(u)) {
			vblk_pop_queue(vb, 0);
			if (io_uring_sq_ready(&u->ring))
				break;
		}
		stop = u->stopping && !vb->inflight;
		if (stop)
			vblk_release_irq(vb, 0);
		pthread_mutex_unlock(&vb->vdev.lock);
		if (stop)
			break;
		for (q = 0; q < vb->nr_queues; q++)
			if (kicked & BIT_ULL(q))
				uring_arm_kick(u, q);
	}
	return NULL;
}

static void uring_free(struct vblk_uring *u)
{
	unsigned int q;

	for (q = 0; q < VBLK_MAX_QUEUES; q++)
		if (u->kick_fd[q] >= 0)
			close(u->kick_fd[q]);
	free(u);
}

/* Start the ring's thread and wait for its ring: -errno if none. */
static int uring_start(struct vblk *vb)
{
	struct vblk_uring *u = calloc(1, sizeof(*u));
	unsigned int q;
	int ret = -ENOMEM;

	if (!u)
		return ret;
	u->vb = vb;
	for (q = 0; q < VBLK_MAX_QUEUES; q++)
		u->kick_fd[q] = -1;
	for (q = 0; q < vb->nr_queues; q++) {
		u->kick_fd[q] = eventfd(0, EFD_CLOEXEC);
		if (u->kick_fd[q] < 0)
			goto fail;
	}
	u->ret = 1;	/* not yet known */
	ret = -EAGAIN;
	if (pthread_create(&u->thread, NULL, uring_thread, u))
		goto fail;
	vblk_name_thread(vb, u->thread, -1);
	pthread_mutex_lock(&vb->vdev.lock);
	while (u->ret > 0)
		pthread_cond_wait(&vb->idle, &vb->vdev.lock);
	pthread_mutex_unlock(&vb->vdev.lock);
	ret = u->ret;
	if (ret < 0) {
		pthread_join(u->thread, NULL);
		goto fail;
	}
	vb->be_state = u;
	return 0;
fail:
	uring_free(u);
	return ret;
}

/*
 * Once registered: KVM signals the queues' eventfds itself. Where it
 * cannot (no ioeventfds), kicks still reach vblk_notify(), which passes
 * them on to the same eventfds (uring_notify).
 */
static void uring_route_kicks(struct vblk *vb)
{
	const struct virtio_transport_ops *t = vb->vdev.transport;
	struct vblk_uring *u = vb->be_state;
	unsigned int q;
	int ret;

	for (q = 0; q < vb->nr_queues && t->set_kick_fd; q++) {
		ret = t->set_kick_fd(&vb->vdev, q, u->kick_fd[q]);
		if (ret < 0)
			pr_debug("virtio-blk %s: queue %u kicks through lkvm: %s",
				 vb->name, q, strerror(-ret));
	}
}

/* a kick KVM could not route to the ring's thread: pass it on */
static void uring_notify(struct vblk *vb, unsigned int q)
{
	struct vblk_uring *u = vb->be_state;

	eventfd_write(u->kick_fd[q], 1);
}

/* After the drain: wake the ring's thread, which sees it must stop. */
static void uring_stop(struct vblk *vb)
{
	struct vblk_uring *u = vb->be_state;

	pthread_mutex_lock(&vb->vdev.lock);
	u->stopping = true;
	pthread_mutex_unlock(&vb->vdev.lock);
	if (eventfd_write(u->kick_fd[0], 1) == 0)
		pthread_join(u->thread, NULL);
	else
		pthread_cancel(u->thread);
	io_uring_queue_exit(&u->ring);
	uring_free(u);
	vb->be_state = NULL;
}

const struct vblk_backend_ops vblk_uring_ops = {
	.name = "io_uring",
	.start = uring_start,
	.registered = uring_route_kicks,
	.submit = uring_submit,
	.notify = uring_notify,
	.stop = uring_stop,
};
