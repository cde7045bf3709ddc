// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk's request path, shared by the device (virtio/blk.c) and
 * both backends (virtio/blk-threads.c, virtio/blk-uring.c): popping and
 * checking the chains of a queue, handing each to the backend or
 * carrying it out here, and completing requests. It sits below the
 * device and the backends and knows neither: the backend is reached
 * through vb->be only, so no file of virtio-blk calls back up into the
 * one that calls it (scripts/deploops.py).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/disk.h"
#include "lkvm/util.h"
#include "lkvm/virtio-blk-dev.h"

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

/* --debug: which of vb->timed_* a request counts in */
static unsigned int timed_kind(const struct blk_req *q)
{
	switch (q->type) {
	case VIRTIO_BLK_T_IN:
		return 0;
	case VIRTIO_BLK_T_OUT:
		return 1;
	case VIRTIO_BLK_T_FLUSH:
		return 2;
	}
	return 3;
}

/* --debug: nothing in flight, the queue found empty: a wait begins */
static void wait_begin(struct vblk *vb)
{
	if (vb->timing && vb->found_empty && !vb->inflight && !vb->wait_since)
		vb->wait_since = mono_ns();
}

/* --debug: a request popped at @now ends the wait, if one began */
static void wait_end(struct vblk *vb, u64 now)
{
	u64 ns = now - vb->wait_since;

	vb->found_empty = false;
	if (!vb->wait_since)
		return;
	vb->wait_since = 0;
	if (ns > VBLK_WAIT_LONG_NS) {
		vb->wait_long++;
		return;
	}
	vb->wait_nr++;
	vb->wait_ns += ns;
}

/* After a reset began, the queue is gone: just forget the request. */
void vblk_req_done(struct vblk *vb, struct vblk_req *r)
{
	struct virtqueue *vq = &vb->vdev.vqs[r->q];

	if (vb->timing) {
		unsigned int k = timed_kind(&r->req);

		/* several backend threads may complete requests */
		__atomic_add_fetch(&vb->timed_nr[k], 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&vb->timed_ns[k], mono_ns() - r->popped_ns,
				   __ATOMIC_RELAXED);
	}
	free(r->bounce);
	r->bounce = NULL;
	if (!vb->resetting && virtio_device_live(&vb->vdev)) {
		if (r->req.status)
			*r->req.status = r->status;
		virtq_push(vq, r->elem.head, r->written);
	}
	req_put(vb, r);
	if (!--vb->inflight) {
		wait_begin(vb);
		pthread_cond_broadcast(&vb->idle);
	}
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

/*
 * Start one popped request: complete it at once (errors, GET_ID), or
 * hand it to the backend, or carry it out here if the backend does not
 * take it. True if it carried out a large one here (VBLK_SIGNAL_EARLY).
 */
static bool vblk_start_req(struct vblk *vb, struct vblk_req *r)
{
	struct blk_req *q = &r->req;
	bool large;

	if (vb->timing) {
		r->popped_ns = mono_ns();
		wait_end(vb, r->popped_ns);
	}
	r->status = blk_req_parse(&r->elem, &vb->lim, q);
	r->written = q->status ? 1 : 0;
	r->bounce = NULL;
	r->next = NULL;
	vb->inflight++;
	vb->guest_depth = MAX(vb->guest_depth, vb->inflight + vb->held);
	vb->nr_reqs++;
	vb->nr_segs += q->data_num;
	if (r->status == VIRTIO_BLK_S_OK && q->type != VIRTIO_BLK_T_GET_ID &&
	    vb->be->submit(vb, r))
		return false;
	large = r->status == VIRTIO_BLK_S_OK && vblk_req_large(r);
	if (r->status == VIRTIO_BLK_S_OK)
		vblk_req_exec(vb, r);
	vblk_req_done(vb, r);
	return large;
}

bool vblk_guest_waits(const struct vblk *vb, unsigned int n, bool large)
{
	return !large && !vb->inflight && vb->held + n >= vb->guest_depth;
}

void vblk_release_irq(struct vblk *vb, unsigned int qi)
{
	if (!vb->hold_irq)
		return;
	vb->hold_irq = false;
	vb->held = 0;
	if (!vb->resetting)
		virtio_notify_used(&vb->vdev, qi);
}

/* A large request done here: tell the guest if the queue runs low. */
static void vblk_signal_early(struct vblk *vb, unsigned int qi)
{
	if (virtq_pending(&vb->vdev.vqs[qi]) > 1)
		return;
	if (vb->hold_irq)
		vblk_release_irq(vb, qi);
	else
		virtio_notify_used(&vb->vdev, qi);
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
				vb->found_empty = true;
				wait_begin(vb);
				break;
			}
			r->q = qi;
			if (vblk_start_req(vb, r))
				vblk_signal_early(vb, qi);
		}
		if (!vb->hold_irq)
			virtio_notify_used(vdev, qi);
	} while (r && res == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (res == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed request chain");
	if (vb->be->popped)
		vb->be->popped(vb, qi);
}

/* The requests vblk_pop_queue() keeps for reuse (nothing in flight). */
void vblk_free_reqs(struct vblk *vb)
{
	struct vblk_req *r;

	while ((r = vb->free_reqs)) {
		vb->free_reqs = r->next;
		free(r);
	}
}
