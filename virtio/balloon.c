// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon (--balloon): the device around virtio/balloon-pages.c.
 *
 * Queues, numbered densely over what the driver accepted (Linux's
 * find_vqs skips the absent ones): inflateq 0, deflateq 1, then statsq
 * with VIRTIO_BALLOON_F_STATS_VQ, then reporting_vq with
 * VIRTIO_BALLOON_F_REPORTING. Free page hinting is not offered (its
 * only use is migration). VIRTIO_BALLOON_F_DEFLATE_ON_OOM is offered: a
 * target set too high costs the guest its balloon, never an OOM kill.
 *
 * Config space: num_pages (the target, set by the control plane through
 * balloon_set_target()) and actual (written by the driver).
 *
 * The statsq holds one buffer of the driver's: the device keeps it and
 * hands it back when it wants fresh statistics (balloon_get_info()),
 * and the driver refills it.
 *
 * Host memory goes back with madvise(MADV_DONTNEED) on anonymous RAM
 * (MAP_PRIVATE: the next guest touch faults in a zero page) and with
 * fallocate(PUNCH_HOLE) on --hugetlbfs RAM (a shared file mapping,
 * which MADV_DONTNEED would not free), in whole host pages or huge
 * pages: the model gives back only units wholly in the balloon.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/balloon.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

#define VB_QUEUE_SIZE		128
#define VB_NR_QUEUES		4	/* inflate, deflate, stats, reporting */
#define VB_CONFIG_SIZE		8	/* num_pages, actual */
#define VB_FEATURES	(BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ) |		\
			 BIT_ULL(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |	\
			 BIT_ULL(VIRTIO_BALLOON_F_REPORTING))

enum vb_role {
	VB_INFLATE,
	VB_DEFLATE,
	VB_STATS,
	VB_REPORTING,
	VB_NONE,
};

struct vballoon {
	struct virtio_device vdev;
	struct balloon_pages bp;	/* under vdev.lock */
	struct virtq_elem elem;		/* under vdev.lock */
	int ram_fd;			/* --hugetlbfs file, or -1 */
	u64 ram_fd_off;			/* RAM's offset in it */
	/* under vdev.lock */
	u32 num_pages, actual;
	bool stats_held;		/* the driver's stats buffer is ours */
	u16 stats_head;
	pthread_cond_t stats_cond;	/* a stats buffer came in */
};

/* The role of queue @q, from the features the driver accepted. */
static enum vb_role vb_role(struct vballoon *vb, unsigned int q)
{
	u64 f = vb->vdev.driver_features;

	if (q <= VB_DEFLATE)
		return q;
	if (f & BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ)) {
		if (q == 2)
			return VB_STATS;
		q--;
	}
	if (q == 2 && (f & BIT_ULL(VIRTIO_BALLOON_F_REPORTING)))
		return VB_REPORTING;
	return VB_NONE;
}

/* ---- giving memory back (the model's callback) ---- */

static int vb_discard(void *ctx, u64 off, u64 len)
{
	struct vballoon *vb = ctx;
	int ret;

	if (vb->ram_fd >= 0)
		ret = fallocate(vb->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				vb->ram_fd_off + off, len);
	else
		ret = madvise(vb->vdev.mem->host + off, len, MADV_DONTNEED);
	if (ret < 0) {
		ret = -errno;
		pr_warn_ratelimited("virtio-balloon: cannot give %llu KiB back to the host: %s",
				    (unsigned long long)len >> 10, strerror(errno));
	}
	return ret;
}

/* ---- the queues ---- */

static void vb_request(struct vballoon *vb, enum vb_role role,
		       struct virtq_elem *e)
{
	int ret;

	ret = balloon_pages_request(&vb->bp, role == VB_INFLATE ?
				    BALLOON_INFLATE : BALLOON_DEFLATE,
				    virtq_elem_out(e), e->out_num);
	if (ret < 0)
		pr_warn_ratelimited("virtio-balloon: %s request refused: not whole PFNs, or a page outside guest RAM",
				    role == VB_INFLATE ? "inflate" : "deflate");
}

/* A stats buffer: keep its values and the buffer, until we want more. */
static void vb_stats_in(struct vballoon *vb, struct virtqueue *vq,
			struct virtq_elem *e)
{
	if (balloon_stats_parse(&vb->bp.gs, virtq_elem_out(e), e->out_num) < 0)
		pr_warn_ratelimited("virtio-balloon: stats buffer of %llu bytes is not whole entries",
				    (unsigned long long)e->out_len);
	if (vb->stats_held)	/* the driver gave another: return the old */
		virtq_push(vq, vb->stats_head, 0);
	vb->stats_held = true;
	vb->stats_head = e->head;
	pthread_cond_broadcast(&vb->stats_cond);
}

static void vb_elem(struct vballoon *vb, enum vb_role role,
		    struct virtqueue *vq, struct virtq_elem *e)
{
	switch (role) {
	case VB_STATS:
		vb_stats_in(vb, vq, e);
		return;		/* held, not pushed */
	case VB_REPORTING:
		balloon_pages_report(&vb->bp, e->iov, e->out_num + e->in_num);
		break;
	default:
		vb_request(vb, role, e);
	}
	virtq_push(vq, e->head, 0);
}

static void vb_notify(struct virtio_device *vdev, unsigned int q)
{
	struct vballoon *vb = vdev->priv;
	struct virtqueue *vq = &vdev->vqs[q];
	enum vb_role role = vb_role(vb, q);
	enum virtq_pop_result r;

	if (role == VB_NONE)
		return;
	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, &vb->elem)) == VIRTQ_GOT)
			vb_elem(vb, role, vq, &vb->elem);
		virtio_notify_used(vdev, q);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed chain");
}

/* ---- config space ---- */

static void vb_config(struct virtio_device *vdev, u32 offset, u8 *data,
		      u32 len, bool is_write)
{
	struct vballoon *vb = vdev->priv;
	u32 cfg[2] = { htole32(vb->num_pages), htole32(vb->actual) };

	if (!is_write) {
		memcpy(data, (u8 *)cfg + offset, len);
		return;
	}
	/* only actual is the driver's */
	if (offset < 4 || offset + len > VB_CONFIG_SIZE)
		return;
	memcpy((u8 *)cfg + offset, data, len);
	vb->actual = le32toh(cfg[1]);
}

static void vb_reset(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;

	/* a new driver owns all of RAM; the target stays */
	balloon_pages_reset(&vb->bp);
	vb->actual = 0;
	vb->stats_held = false;
}

static void vb_stats(struct virtio_device *vdev, device_stat_fn emit,
		     void *ctx)
{
	struct vballoon *vb = vdev->priv;
	struct balloon_counters c;
	u64 target, updates;

	pthread_mutex_lock(&vdev->lock);
	c = vb->bp.c;
	target = vb->num_pages;
	updates = vb->bp.gs.updates;
	pthread_mutex_unlock(&vdev->lock);
	emit(ctx, &vdev->dev, "target_pages", target);
	emit(ctx, &vdev->dev, "inflated_pages", c.inflated);
	emit(ctx, &vdev->dev, "pages_inflated", c.pages_inflated);
	emit(ctx, &vdev->dev, "pages_deflated", c.pages_deflated);
	emit(ctx, &vdev->dev, "released_bytes", c.bytes_released);
	emit(ctx, &vdev->dev, "reported_bytes", c.bytes_reported);
	emit(ctx, &vdev->dev, "bad_requests", c.bad_requests);
	emit(ctx, &vdev->dev, "stats_updates", updates);
}

static void vb_free(struct vballoon *vb)
{
	balloon_pages_exit(&vb->bp);
	pthread_cond_destroy(&vb->stats_cond);
	zfree_lazy(vb, sizeof(*vb));
}

static void vb_exit(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;

	virtio_unregister(vdev);
	vdev->kvm->balloon = NULL;
	vb_free(vb);
}

static const struct virtio_device_ops vb_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.features = VB_FEATURES,
	.nr_queues = VB_NR_QUEUES,
	.queue_size = VB_QUEUE_SIZE,
	.config_size = VB_CONFIG_SIZE,
	.config_access = vb_config,
	.notify = vb_notify,
	.reset = vb_reset,
	.stats = vb_stats,
	.exit = vb_exit,
};

/* ---- the control plane's API ---- */

int balloon_set_target(struct kvm *kvm, u64 pages)
{
	struct vballoon *vb = kvm->balloon;
	struct virtio_device *vdev;

	if (!vb)
		return -ENODEV;
	vdev = &vb->vdev;
	if (pages > vb->bp.nr_pages || pages > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&vdev->lock);
	vb->num_pages = pages;
	vdev->config_generation++;
	pthread_mutex_unlock(&vdev->lock);
	if (vdev->transport && vdev->transport->signal_config)
		vdev->transport->signal_config(vdev);
	return 0;
}

/* Hand the stats buffer back for a refill; false if we hold none. */
static bool vb_ask_stats(struct vballoon *vb)
{
	struct virtio_device *vdev = &vb->vdev;
	unsigned int q = VB_STATS;

	if (!vb->stats_held || !virtio_device_live(vdev) ||
	    vb_role(vb, q) != VB_STATS)
		return false;
	vb->stats_held = false;
	virtq_push(&vdev->vqs[q], vb->stats_head, 0);
	virtio_notify_used(vdev, q);
	return true;
}

static void vb_wait_stats(struct vballoon *vb, u64 seen, int wait_ms)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += wait_ms / 1000;
	end.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	while (vb->bp.gs.updates == seen)
		if (pthread_cond_timedwait(&vb->stats_cond, &vb->vdev.lock,
					   &end) == ETIMEDOUT)
			break;
}

int balloon_get_info(struct kvm *kvm, struct balloon_info *info, int wait_ms)
{
	struct vballoon *vb = kvm->balloon;
	u64 seen;

	if (!vb)
		return -ENODEV;
	pthread_mutex_lock(&vb->vdev.lock);
	seen = vb->bp.gs.updates;
	if (wait_ms > 0 && vb_ask_stats(vb))
		vb_wait_stats(vb, seen, wait_ms);
	*info = (struct balloon_info) {
		.ram_pages = vb->bp.nr_pages, .target = vb->num_pages,
		.actual = vb->actual, .c = vb->bp.c, .gs = vb->bp.gs,
		.stats_fresh = vb->bp.gs.updates != seen,
	};
	pthread_mutex_unlock(&vb->vdev.lock);
	return 0;
}

/* ---- init ---- */

/* What the host gives back at once: its page, or hugetlbfs's page. */
static int vb_host_unit(struct kvm *kvm, u64 *unit)
{
	struct statfs sfs;

	*unit = sysconf(_SC_PAGESIZE);
	if (kvm->ram_fd < 0)
		return 0;
	if (fstatfs(kvm->ram_fd, &sfs) < 0)
		return -errno;
	*unit = sfs.f_bsize;
	return 0;
}

/* The device, not yet registered; 0 or -errno (said why). */
static int vb_new(struct kvm *kvm, struct vballoon **out)
{
	struct vballoon *vb = zalloc_lazy(sizeof(*vb));
	pthread_condattr_t ca;
	u64 unit;
	int ret;

	if (!vb)
		return -ENOMEM;
	vb->ram_fd = kvm->ram_fd;
	vb->ram_fd_off = (u8 *)kvm->mem.host - (u8 *)kvm->ram_mapping;
	ret = vb_host_unit(kvm, &unit);
	if (!ret)
		ret = balloon_pages_init(&vb->bp, &kvm->mem, unit, vb_discard, vb);
	if (ret < 0) {
		pr_err("virtio-balloon: cannot track %llu MiB of guest RAM in %llu KiB units: %s",
		       (unsigned long long)kvm->mem.size >> 20,
		       (unsigned long long)unit >> 10, strerror(-ret));
		zfree_lazy(vb, sizeof(*vb));
		return ret;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vb->stats_cond, &ca);
	pthread_condattr_destroy(&ca);
	virtio_device_init(&vb->vdev, &vb_ops, kvm, &kvm->mem, vb);
	*out = vb;
	return 0;
}

static int vb_init(struct kvm *kvm)
{
	struct vballoon *vb;
	int ret;

	if (!kvm->cfg.balloon)
		return 0;
	ret = vb_new(kvm, &vb);
	if (ret < 0)
		return ret;
	ret = virtio_register(kvm, &vb->vdev);
	if (ret < 0) {
		pr_err("virtio-balloon: cannot register the device: %s",
		       strerror(-ret));
		vb_free(vb);
		return ret;
	}
	kvm->balloon = vb;
	return 0;
}
lkvm_init(INIT_DEV, vb_init, NULL);
