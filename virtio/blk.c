// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (-d PATH[,ro][,direct][,snapshot][,id=SERIAL][,format=F]): one
 * device per disk, vda, vdb... in command line order, one request queue per
 * vCPU.
 *
 * No disk I/O is done on a vCPU thread. Two ways to serve the queues:
 *
 *   raw images: io_uring, one ring and one thread per disk that takes
 *     the kicks, pops and checks the chains and reaps the completions
 *     (virtio/blk-uring.c). Without liburing at build time, or if the
 *     kernel refuses io_uring, raw images use the worker threads below.
 *   qcow2 images (and the snapshot overlay): a kick (ioeventfd thread, or
 *     a vCPU without ioeventfds) pops the chains and hands them to the
 *     queue's worker thread, which carries them out synchronously through
 *     the qcow2 library (which may be called concurrently).
 *
 * The two are backends behind struct vblk_backend_ops
 * (include/lkvm/virtio-blk-dev.h); vblk_start_backend() chooses. What a
 * backend does not take is carried out where it is popped: errors, GET_ID
 * and, on the ring, discard, write zeroes (fallocate(): quick) and the
 * writes that reach the first sector of an image probed as raw.
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

#include "lkvm/disk.h"
#include "lkvm/init.h"
#include "lkvm/iov.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-blk-dev.h"
#include "lkvm/seccomp.h"

#define VBLK_SEG_MAX		(VBLK_QUEUE_SIZE - 2)
#define VBLK_SIZE_MAX		(1U << 20)
#define VBLK_MAX_DWZ_SECTORS	(1U << 21)	/* 1 GiB per segment */


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

/* After a reset began, the queue is gone: just forget the request. */
void vblk_req_done(struct vblk *vb, struct vblk_req *r)
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

void vblk_req_exec(struct vblk *vb, struct vblk_req *r)
{
	struct blk_req *q = &r->req;
	int ret = blk_req_exec(vb->disk, q, &r->written);

	/* -EPERM: the guard of sector 0, which said why once already */
	if (ret < 0 && ret != -EPERM)
		pr_warn_ratelimited("virtio-blk %s: request %u at sector %llu: %s",
				    vb->name, q->type,
				    (unsigned long long)q->sector,
				    strerror(-ret));
	r->status = ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

void vblk_name_thread(struct vblk *vb, pthread_t t, int queue)
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
			vblk_req_exec(vb, r);
		pthread_mutex_lock(&vb->vdev.lock);
		for (r = list; r; r = next) {
			next = r->next;
			vblk_req_done(vb, r);
		}
		if (!vb->resetting)
			virtio_notify_used(&vb->vdev, vq->idx);
		pthread_mutex_unlock(&vb->vdev.lock);
	}
	return NULL;
}

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
 * Start one popped request: complete it at once (errors, GET_ID), or
 * hand it to the backend, or carry it out here if the backend does not
 * take it.
 */
static void vblk_start_req(struct vblk *vb, struct vblk_req *r)
{
	struct blk_req *q = &r->req;

	r->status = blk_req_parse(&r->elem, &vb->lim, q);
	r->written = q->status ? 1 : 0;
	r->bounce = NULL;
	r->next = NULL;
	vb->inflight++;
	vb->nr_reqs++;
	vb->nr_segs += q->data_num;
	if (r->status == VIRTIO_BLK_S_OK && q->type != VIRTIO_BLK_T_GET_ID &&
	    vb->be->submit(vb, r))
		return;
	if (r->status == VIRTIO_BLK_S_OK)
		vblk_req_exec(vb, r);
	vblk_req_done(vb, r);
}

/* On the ring's thread, or on the kicking thread for worker threads. */
void vblk_pop_queue(struct vblk *vb, unsigned int qi)
{
	struct virtio_device *vdev = &vb->vdev;
	struct virtqueue *vq = &vdev->vqs[qi];
	struct vblk_req *r;
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
			vblk_start_req(vb, r);
		}
		virtio_notify_used(vdev, qi);
	} while (r && res == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (res == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed request chain");
	if (vb->be->popped)
		vb->be->popped(vb, qi);
}

static void vblk_notify(struct virtio_device *vdev, unsigned int qi)
{
	struct vblk *vb = vdev->priv;

	if (vb->resetting || qi >= vb->nr_queues)
		return;
	vb->be->notify(vb, qi);
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

/* Worker threads: a queue's pops join its list, for its thread. */
static bool threads_submit(struct vblk *vb, struct vblk_req *r)
{
	struct vblk_queue *bq = &vb->queues[r->q];

	*bq->batch_tail = r;
	bq->batch_tail = &r->next;
	return true;
}

/* everything this kick brought, in one go */
static void threads_popped(struct vblk *vb, unsigned int qi)
{
	struct vblk_queue *bq = &vb->queues[qi];

	if (!bq->batch)
		return;
	pthread_mutex_lock(&bq->lock);
	*bq->tail = bq->batch;
	bq->tail = bq->batch_tail;
	pthread_cond_signal(&bq->cond);
	pthread_mutex_unlock(&bq->lock);
	bq->batch = NULL;
	bq->batch_tail = &bq->batch;
}

static int threads_start(struct vblk *vb)
{
	unsigned int i;

	for (i = 0; i < vb->nr_queues; i++) {
		struct vblk_queue *q = &vb->queues[i];

		if (pthread_create(&q->thread, NULL, queue_thread, q))
			return -EAGAIN;
		q->thread_started = true;
		vblk_name_thread(vb, q->thread, i);
	}
	return 0;
}

static void threads_stop(struct vblk *vb)
{
	unsigned int i;

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

static const struct vblk_backend_ops vblk_threads_ops = {
	.name = "worker threads",
	.start = threads_start,
	.submit = threads_submit,
	.popped = threads_popped,
	.notify = vblk_pop_queue,
	.stop = threads_stop,
};

/*
 * The one place that chooses the backend: raw images through io_uring
 * where lkvm was built with liburing and the kernel has it; qcow2 (and
 * the snapshot overlay, which the qcow2 library serves) through the
 * worker threads, and raw images too otherwise.
 */
static int vblk_start_backend(struct vblk *vb)
{
#ifdef HAVE_LIBURING
	int ret;

	if (vb->disk->format == DISK_RAW) {
		vb->be = &vblk_uring_ops;	/* before the ring's first pop */
		ret = vb->be->start(vb);
		if (!ret)
			return 0;
		pr_debug("virtio-blk %s: no io_uring (%s): worker threads",
			 vb->name, strerror(-ret));
	}
#endif
	vb->be = &vblk_threads_ops;
	return vb->be->start(vb);
}

static void vblk_stop_backend(struct vblk *vb)
{
	if (vb->be)
		vb->be->stop(vb);
	vb->be = NULL;
}

static void vblk_stats(struct virtio_device *vdev, device_stat_fn emit,
		       void *ctx)
{
	struct vblk *vb = vdev->priv;

	emit(ctx, &vdev->dev, "data_segments", vb->nr_segs);
	emit(ctx, &vdev->dev, "kick_rounds", vb->nr_kicks);
}

static void vblk_free(struct vblk *vb);

/* The registry's exit hook: no more kicks; let what is in flight land. */
static void vblk_dev_exit(struct virtio_device *vdev)
{
	struct vblk *vb = vdev->priv;

	virtio_unregister(vdev);
	pthread_mutex_lock(&vb->vdev.lock);
	vblk_drain(vb);
	pthread_mutex_unlock(&vb->vdev.lock);
	vblk_stop_backend(vb);
	if (vb->nr_reqs)
		pr_debug("virtio-blk %s: %llu requests, %.1f data segments each, %llu rounds of kicks",
			 vb->name, (unsigned long long)vb->nr_reqs,
			 (double)vb->nr_segs / vb->nr_reqs,
			 (unsigned long long)vb->nr_kicks);
	vblk_free(vb);
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
		.stats = vblk_stats,
		.exit = vblk_dev_exit,
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
		q->batch_tail = &q->batch;
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
	vb->vdev.name = vb->name;

	ret = vblk_start_backend(vb);
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
	if (vb->be->registered)
		vb->be->registered(vb);
	pr_debug("virtio-blk %s: %s, %s%s%s%s, %llu sectors, %u queue%s, %s",
		 vb->name, vb->disk->path, disk_format_name(vb->disk->format),
		 spec.ro ? ", ro" : "", spec.direct ? ", direct" : "",
		 spec.snapshot ? ", snapshot" : "",
		 (unsigned long long)vb->lim.capacity, nr_queues,
		 nr_queues > 1 ? "s" : "", vb->be->name);
	return 0;
fail:
	vblk_stop_backend(vb);
	vblk_free(vb);
	return ret;
}

static int vblk_init(struct kvm *kvm)
{
	int i, ret;

	for (i = 0; i < kvm->cfg.nr_disks; i++) {
		/* the registry tears down the disks added before a failure */
		ret = vblk_add(kvm, kvm->cfg.disks[i], i);
		if (ret < 0)
			return ret;
	}
	/* like kvmtool: the first disk is the root file system */
	if (kvm->cfg.nr_disks)
		return kvm_cmdline_add_default(kvm, "root", "root=/dev/vda rw");
	return 0;
}
lkvm_init(INIT_DEV, vblk_init, NULL);
