// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (-d PATH[,ro][,direct][,snapshot][,id=SERIAL][,format=F]): one
 * device per disk, vda, vdb... in command line order, one request queue per
 * vCPU.
 *
 * No disk I/O is done on a vCPU thread. Two backends serve the queues,
 * behind struct vblk_backend_ops (include/lkvm/virtio-blk-dev.h):
 *
 *   raw images: io_uring, one ring and one thread per disk that takes
 *     the kicks, pops and checks the chains and reaps the completions
 *     (virtio/blk-uring.c). Without liburing at build time, or if the
 *     kernel refuses io_uring, raw images use the worker threads.
 *   qcow2 images (and the snapshot overlay): a kick pops the chains and
 *     hands them to the queue's worker thread (virtio/blk-threads.c).
 *
 * This file is the device (config, kicks, reset, exit) and
 * vblk_start_backend(), the one place that chooses; both backends share
 * the request path of virtio/blk-queue.c, which sits below all three.
 * What a backend does not take is carried out where it is popped: errors,
 * GET_ID and, on the ring, discard, write zeroes (fallocate(): quick) and
 * the writes that reach the first sector of an image probed as raw.
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
#include "lkvm/kvm.h"
#include "lkvm/virtio-blk-dev.h"

#define VBLK_SEG_MAX		(VBLK_QUEUE_SIZE - 2)
#define VBLK_SIZE_MAX		(1U << 20)
#define VBLK_MAX_DWZ_SECTORS	(1U << 21)	/* 1 GiB per segment */


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
	emit(ctx, &vdev->dev, "poll_hits",
	     __atomic_load_n(&vb->poll.hits, __ATOMIC_RELAXED));
	emit(ctx, &vdev->dev, "poll_misses",
	     __atomic_load_n(&vb->poll.misses, __ATOMIC_RELAXED));
}

static void vblk_free(struct vblk *vb);

/* --debug: time from pop to push (the backend's part) by request type */
static void vblk_debug_timing(struct vblk *vb)
{
	static const char *const kinds[VBLK_TIMED_KINDS] = {
		"reads", "writes", "flushes", "others",
	};
	char line[256];
	size_t n = 0;
	unsigned int k;

	for (k = 0; k < VBLK_TIMED_KINDS; k++)
		if (vb->timed_nr[k] && n < sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, "; %s %llu, %.0f us each",
				      kinds[k], (unsigned long long)vb->timed_nr[k],
				      vb->timed_ns[k] / 1e3 / vb->timed_nr[k]);
	pr_debug("virtio-blk %s: from pop to push%s", vb->name, n ? line : ": none");
	if (vb->wait_nr)
		pr_debug("virtio-blk %s: waited for the guest's next request %llu times, %.0f us each (and %llu times over %llu ms)",
			 vb->name, (unsigned long long)vb->wait_nr,
			 vb->wait_ns / 1e3 / vb->wait_nr,
			 (unsigned long long)vb->wait_long,
			 VBLK_WAIT_LONG_NS / 1000000);
}

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
		pr_debug("virtio-blk %s: %llu requests, %.1f data segments each, %llu rounds of kicks, polls found %llu (%llu found none)",
			 vb->name, (unsigned long long)vb->nr_reqs,
			 (double)vb->nr_segs / vb->nr_reqs,
			 (unsigned long long)vb->nr_kicks,
			 (unsigned long long)vb->poll.hits,
			 (unsigned long long)vb->poll.misses);
	if (vb->nr_reqs)
		vblk_debug_timing(vb);
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
	unsigned int i;

	vblk_free_reqs(vb);
	for (i = 0; i < VBLK_MAX_QUEUES; i++) {
		pthread_mutex_destroy(&vb->queues[i].lock);
		pthread_cond_destroy(&vb->queues[i].cond);
	}
	pthread_cond_destroy(&vb->idle);
	disk_close(vb->disk);	/* flushes */
	zfree_lazy(vb, sizeof(*vb));
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
	vb = zalloc_lazy(sizeof(*vb));
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
	vb->timing = kvm->cfg.debug;
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
