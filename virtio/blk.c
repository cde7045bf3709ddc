// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (-d PATH[,ro][,direct][,snapshot][,id=SERIAL]): one device per
 * disk, vda, vdb... in command line order, one request queue per vCPU.
 *
 * A kick (ioeventfd thread, or a vCPU without ioeventfds) pops every
 * available chain, checks it (virtio/blk-req.c) and hands it on; no disk
 * I/O is done on the kicking thread, and all the chains of one kick are
 * submitted together:
 *
 *   raw images: io_uring. Reads, writes and flushes go to one ring per
 *     disk, submitted once per kick; a completion thread reaps them and
 *     pushes the used buffers. io_uring rather than libaio because libaio
 *     is only asynchronous with O_DIRECT (io_submit() blocks on buffered
 *     files, the common case here), while io_uring serves buffered I/O
 *     asynchronously, has fsync and needs no O_DIRECT alignment of its own.
 *     Without liburing at build time, or if the kernel refuses io_uring,
 *     raw images use the worker threads below.
 *   qcow2 images (and the snapshot overlay): one worker thread per queue
 *     carries requests out synchronously through the qcow2 library, which
 *     may be called concurrently.
 *
 * Discard, write zeroes and GET_ID of raw images are served on the kicking
 * thread (fallocate() and a copy: quick).
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
#endif

#include "lkvm/disk.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-blk.h"

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
	pthread_cond_t idle;	/* inflight dropped to zero */
	bool resetting;

#ifdef HAVE_LIBURING
	bool uring;		/* raw I/O through the ring */
	struct io_uring ring;	/* submissions under vdev.lock */
	pthread_t cq_thread;
	bool cq_started;
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
	struct disk *d = vb->disk;
	u64 off = q->sector * DISK_SECTOR_SIZE;
	ssize_t ret = 0;
	unsigned int i;

	switch (q->type) {
	case VIRTIO_BLK_T_IN:
		ret = disk_preadv(d, q->data, q->data_num, off);
		if (ret >= 0)
			r->written += q->data_len;
		break;
	case VIRTIO_BLK_T_OUT:
		ret = disk_pwritev(d, q->data, q->data_num, off);
		break;
	case VIRTIO_BLK_T_FLUSH:
		ret = disk_flush(d);
		break;
	case VIRTIO_BLK_T_GET_ID:
		r->written += iov_from_buf(q->data, q->data_num, 0, d->serial,
					   MIN(q->data_len, sizeof(d->serial)));
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (i = 0; i < q->nr_segs && ret >= 0; i++) {
			u64 s = q->segs[i].sector * DISK_SECTOR_SIZE;
			u64 n = (u64)q->segs[i].num_sectors * DISK_SECTOR_SIZE;

			if (q->type == VIRTIO_BLK_T_DISCARD)
				ret = disk_discard(d, s, n);
			else
				ret = disk_write_zeroes(d, s, n, q->segs[i].flags &
							VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		}
		break;
	}
	if (ret < 0)
		pr_warn_ratelimited("virtio-blk %s: request %u at sector %llu: %s",
				    vb->name, q->type,
				    (unsigned long long)q->sector,
				    strerror((int)-ret));
	r->status = errno_status(ret);
}

/* ---- worker threads: qcow2, and raw without io_uring ---- */

static void *queue_thread(void *arg)
{
	struct vblk_queue *vq = arg;
	struct vblk *vb = vq->vb;
	struct vblk_req *list, *r, *next;
	bool stop;

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
	sqe = io_uring_get_sqe(&vb->ring);
	if (!sqe) {
		io_uring_submit(&vb->ring);
		sqe = io_uring_get_sqe(&vb->ring);
		if (!sqe) {
			free(r->bounce);
			r->bounce = NULL;
			return false;
		}
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

static void *uring_thread(void *arg)
{
	struct vblk *vb = arg;
	struct io_uring_cqe *cqe;
	struct vblk_req *done, *r, *next;
	bool stop = false;
	unsigned int head, seen;
	u64 queues;
	int ret;

	while (!stop) {
		ret = io_uring_wait_cqe(&vb->ring, &cqe);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret < 0) {
			pr_err("virtio-blk %s: io_uring: %s", vb->name,
			       strerror(-ret));
			break;
		}
		done = NULL;
		seen = 0;
		io_uring_for_each_cqe(&vb->ring, head, cqe) {
			r = io_uring_cqe_get_data(cqe);
			seen++;
			if (!r) {
				stop = true;
				continue;
			}
			uring_finish(vb, r, cqe->res);
			r->next = done;
			done = r;
		}
		io_uring_cq_advance(&vb->ring, seen);

		queues = 0;
		pthread_mutex_lock(&vb->vdev.lock);
		for (r = done; r; r = next) {
			next = r->next;
			queues |= BIT_ULL(r->q);
			req_done(vb, r);
		}
		for (head = 0; head < vb->nr_queues && !vb->resetting; head++)
			if (queues & BIT_ULL(head))
				virtio_notify_used(&vb->vdev, head);
		pthread_mutex_unlock(&vb->vdev.lock);
	}
	return NULL;
}

static bool uring_start(struct vblk *vb)
{
	unsigned int entries = 1;
	int ret;

	if (vb->disk->format != DISK_RAW)
		return false;
	while (entries < vb->nr_queues * VBLK_QUEUE_SIZE && entries < 4096)
		entries <<= 1;
	ret = io_uring_queue_init(entries, &vb->ring, 0);
	if (ret < 0) {
		pr_debug("virtio-blk %s: no io_uring (%s): worker threads",
			 vb->name, strerror(-ret));
		return false;
	}
	if (pthread_create(&vb->cq_thread, NULL, uring_thread, vb)) {
		io_uring_queue_exit(&vb->ring);
		return false;
	}
	vb->cq_started = true;
	vb->uring = true;
	return true;
}

/* After the drain: wake the completion thread with a NULL NOP. */
static void uring_stop(struct vblk *vb)
{
	struct io_uring_sqe *sqe;

	if (!vb->uring)
		return;
	pthread_mutex_lock(&vb->vdev.lock);
	sqe = io_uring_get_sqe(&vb->ring);
	if (!sqe) {
		io_uring_submit(&vb->ring);
		sqe = io_uring_get_sqe(&vb->ring);
	}
	if (sqe) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL);
		io_uring_submit(&vb->ring);
	}
	pthread_mutex_unlock(&vb->vdev.lock);
	if (sqe)
		pthread_join(vb->cq_thread, NULL);
	else
		pthread_cancel(vb->cq_thread);
	io_uring_queue_exit(&vb->ring);
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
			   struct vblk_req ***tail, bool *uring_queued)
{
	struct blk_req *q = &r->req;

	r->status = blk_req_parse(&r->elem, &vb->lim, q);
	r->written = q->status ? 1 : 0;
	r->bounce = NULL;
	r->next = NULL;
	vb->inflight++;
	if (r->status != VIRTIO_BLK_S_OK || q->type == VIRTIO_BLK_T_GET_ID) {
		if (r->status == VIRTIO_BLK_S_OK)
			req_exec(vb, r);
		req_done(vb, r);
		return true;
	}
#ifdef HAVE_LIBURING
	if (vb->uring) {
		if (q->type != VIRTIO_BLK_T_IN && q->type != VIRTIO_BLK_T_OUT &&
		    q->type != VIRTIO_BLK_T_FLUSH) {
			req_exec(vb, r);
			req_done(vb, r);
			return true;
		}
		if (uring_prep(vb, r)) {
			*uring_queued = true;
			return false;
		}
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

static void vblk_notify(struct virtio_device *vdev, unsigned int qi)
{
	struct vblk *vb = vdev->priv;
	struct virtqueue *vq = &vdev->vqs[qi];
	struct vblk_queue *bq = &vb->queues[qi];
	struct vblk_req *batch = NULL, **tail = &batch, *r;
	enum virtq_pop_result res = VIRTQ_EMPTY;
	bool uring_queued = false;

	if (vb->resetting || qi >= vb->nr_queues)
		return;
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
			vblk_start_req(vb, r, &tail, &uring_queued);
		}
		virtio_notify_used(vdev, qi);
	} while (r && res == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (res == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed request chain");

	/* one submission for everything this kick brought */
#ifdef HAVE_LIBURING
	if (uring_queued)
		io_uring_submit(&vb->ring);
#endif
	if (batch) {
		pthread_mutex_lock(&bq->lock);
		*bq->tail = batch;
		bq->tail = tail;
		pthread_cond_signal(&bq->cond);
		pthread_mutex_unlock(&bq->lock);
	}
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
	vblks[nr_vblks++] = vb;
	pr_debug("virtio-blk %s: %s, %s%s%s%s, %llu sectors, %u queue%s%s",
		 vb->name, vb->disk->path,
		 vb->disk->format == DISK_QCOW2 ? "qcow2" : "raw",
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
