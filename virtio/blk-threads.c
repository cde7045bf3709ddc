// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk's worker-thread backend: qcow2 images (and the snapshot
 * overlay), and raw images where io_uring is missing. A kick (ioeventfd
 * thread, or a vCPU without ioeventfds) pops the chains of its queue
 * (virtio/blk-queue.c) and hands the batch to the queue's thread, which
 * carries the requests out synchronously through disk/ (the qcow2
 * library may be called concurrently) and completes them.
 * vblk_start_backend() in virtio/blk.c chooses it.
 */
#include <errno.h>

#include "lkvm/seccomp.h"
#include "lkvm/virtio-blk-dev.h"

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

/* A queue's pops join its list, for its thread. */
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

const struct vblk_backend_ops vblk_threads_ops = {
	.name = "worker threads",
	.start = threads_start,
	.submit = threads_submit,
	.popped = threads_popped,
	.notify = vblk_pop_queue,
	.stop = threads_stop,
};
