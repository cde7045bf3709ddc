// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p (--9p HOSTDIR,TAG[,ro]): a host folder for the guest's v9fs,
 * served by fs/9p.c. One request queue per device, and one worker thread
 * that pops a request, answers it with p9_handle() and pushes the reply:
 * the library is not thread-safe, and requests of one device are served
 * in order. Tread/Twrite payloads move between the files and the guest's
 * buffers with preadv/pwritev, without a bounce buffer.
 *
 * Kicks: KVM signals the worker's own eventfd (set_kick_fd), so a guest
 * request wakes the worker directly, not the ioeventfd thread which would
 * then wake it (one host thread switch less per request: the v9fs client
 * has one request in flight per task, so each costs a full round trip).
 * Kicks that still reach lkvm (no ioeventfd; those held while paused)
 * arrive in p9_notify(), which writes the same eventfd.
 *
 * Polling: the v9fs client sends its next request right after it read
 * the reply to the last (a stat is a walk, a getattr and a clunk), so
 * once the queue is empty the worker watches it a while before it
 * sleeps (struct virtq_poll, include/lkvm/virtio.h).
 *
 * The worker drops vdev->lock while it handles a request (file I/O may
 * take long); a driver reset waits for the request in progress, then
 * resets the 9P session (every fid) as the spec asks.
 */
#include <errno.h>
#include <linux/virtio_9p.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/9p.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-9p.h"
#include "lkvm/virtio.h"
#include "lkvm/seccomp.h"

#define P9_QUEUE_SIZE		128

struct p9_dev {
	struct virtio_device vdev;
	struct p9_spec spec;
	struct p9_server *server;
	u8 config[2 + P9_TAG_MAX];	/* struct virtio_9p_config */
	u32 config_size;
	pthread_t worker;
	bool worker_started;
	int kick_fd;		/* eventfd: kicks and stop wake the worker */
	/* under vdev.lock */
	pthread_cond_t idle;	/* busy cleared: wakes a reset */
	bool stop, busy, resetting;
	struct virtq_elem *elem;
	u64 nr_requests;
	u64 nr_wakeups;		/* kick rounds: the worker woke and served */
	u64 max_batch;		/* most requests served in one wakeup */
	struct virtq_poll poll;	/* the worker's own */
};

static void p9_config(struct virtio_device *vdev, u32 offset, u8 *data,
		      u32 len, bool is_write)
{
	struct p9_dev *p = vdev->priv;

	if (is_write)
		return;
	memset(data, 0, len);
	if (offset < p->config_size)
		memcpy(data, p->config + offset,
		       MIN(len, p->config_size - offset));
}

static void p9_notify(struct virtio_device *vdev, unsigned int q)
{
	struct p9_dev *p = vdev->priv;

	eventfd_write(p->kick_fd, 1);
}

static void p9_reset(struct virtio_device *vdev)
{
	struct p9_dev *p = vdev->priv;

	p->resetting = true;
	while (p->busy)
		pthread_cond_wait(&p->idle, &vdev->lock);
	p->resetting = false;
	p9_server_reset(p->server);
}

/* Serve the queue until it is empty; called and returns with the lock. */
static void p9_serve(struct p9_dev *p)
{
	struct virtio_device *vdev = &p->vdev;
	struct virtqueue *vq = &vdev->vqs[0];
	struct virtq_elem *e = p->elem;
	enum virtq_pop_result r;
	u64 batch = 0;
	size_t len;

	do {
		virtq_enable_notify(vq, false);
		for (;;) {
			if (p->resetting || p->stop || !vq->ready ||
			    !virtio_device_live(vdev))
				return;
			/* resume notifies us again (p9_notify) */
			if (vdev->paused) {
				vdev->held_kicks |= 1;
				return;
			}
			r = virtq_pop(vq, e);
			if (r == VIRTQ_EMPTY &&
			    virtq_poll(&p->poll, vq, &vdev->lock))
				continue;
			if (r != VIRTQ_GOT)
				break;
			p->busy = true;
			pthread_mutex_unlock(&vdev->lock);
			len = p9_handle(p->server, virtq_elem_out(e), e->out_num,
					virtq_elem_in(e), e->in_num);
			pthread_mutex_lock(&vdev->lock);
			p->busy = false;
			p->nr_requests++;
			if (++batch > p->max_batch)
				__atomic_store_n(&p->max_batch, batch,
						 __ATOMIC_RELAXED);
			virtq_push(vq, e->head, len);
			virtio_notify_used(vdev, 0);
			if (p->resetting)
				pthread_cond_broadcast(&p->idle);
		}
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed request chain");
}

static void *p9_worker(void *arg)
{
	struct p9_dev *p = arg;
	struct virtio_device *vdev = &p->vdev;
	eventfd_t v;

	seccomp_apply(SECCOMP_9P);
	for (;;) {
		if (eventfd_read(p->kick_fd, &v) < 0 && errno != EINTR) {
			pr_err("virtio-9p %s: kick eventfd: %s", p->spec.tag,
			       strerror(errno));
			break;
		}
		virtq_poll_adapt(&p->poll, mono_ns() - p->poll.idle_ns);
		pthread_mutex_lock(&vdev->lock);
		if (p->stop) {
			pthread_mutex_unlock(&vdev->lock);
			break;
		}
		__atomic_add_fetch(&p->nr_wakeups, 1, __ATOMIC_RELAXED);
		p9_serve(p);
		pthread_mutex_unlock(&vdev->lock);
	}
	return NULL;
}

static void p9_dev_exit(struct virtio_device *vdev);

struct p9_stat_ctx {
	struct virtio_device *vdev;
	device_stat_fn emit;
	void *ctx;
};

static void p9_count(void *ctx, const char *type, u64 n)
{
	struct p9_stat_ctx *c = ctx;

	c->emit(c->ctx, &c->vdev->dev, type, n);
}

/* lkvm stat / --debug: the requests by T-message type, how many at once. */
static void p9_stats(struct virtio_device *vdev, device_stat_fn emit,
		     void *ctx)
{
	struct p9_dev *p = vdev->priv;
	struct p9_stat_ctx c = { .vdev = vdev, .emit = emit, .ctx = ctx };

	emit(ctx, &vdev->dev, "kick_rounds",
	     __atomic_load_n(&p->nr_wakeups, __ATOMIC_RELAXED));
	emit(ctx, &vdev->dev, "max_batch",
	     __atomic_load_n(&p->max_batch, __ATOMIC_RELAXED));
	emit(ctx, &vdev->dev, "poll_hits",
	     __atomic_load_n(&p->poll.hits, __ATOMIC_RELAXED));
	emit(ctx, &vdev->dev, "poll_misses",
	     __atomic_load_n(&p->poll.misses, __ATOMIC_RELAXED));
	p9_server_counts(p->server, p9_count, &c);
}

static const struct virtio_device_ops p9_ops = {
	.name = "9p",
	.device_id = VIRTIO_ID_9P,
	.features = 1ULL << VIRTIO_9P_MOUNT_TAG,
	.nr_queues = 1,
	.queue_size = P9_QUEUE_SIZE,
	/* tag_len tells the driver how much of it holds the tag */
	.config_size = 2 + P9_TAG_MAX,
	.config_access = p9_config,
	.notify = p9_notify,
	.reset = p9_reset,
	.exit = p9_dev_exit,
	.stats = p9_stats,
};

static void p9_dev_free(struct p9_dev *p)
{
	virtio_unregister(&p->vdev);
	if (p->worker_started) {
		pthread_mutex_lock(&p->vdev.lock);
		p->stop = true;
		pthread_mutex_unlock(&p->vdev.lock);
		if (eventfd_write(p->kick_fd, 1) == 0)
			pthread_join(p->worker, NULL);
		else
			pthread_cancel(p->worker);
	}
	if (p->kick_fd >= 0)
		close(p->kick_fd);
	if (p->nr_requests)
		pr_debug("virtio-9p %s: %llu requests", p->spec.tag,
			 (unsigned long long)p->nr_requests);
	if (p->server)
		p9_server_free(p->server);
	pthread_cond_destroy(&p->idle);
	free(p->elem);
	free(p);
}

/* KVM signals the worker's eventfd itself; else kicks reach p9_notify. */
static void p9_route_kicks(struct p9_dev *p)
{
	const struct virtio_transport_ops *t = p->vdev.transport;
	int ret;

	if (!t || !t->set_kick_fd)
		return;
	ret = t->set_kick_fd(&p->vdev, 0, p->kick_fd);
	if (ret < 0)
		pr_debug("virtio-9p %s: kicks through lkvm: %s", p->spec.tag,
			 strerror(-ret));
}

/* The registry's exit hook. */
static void p9_dev_exit(struct virtio_device *vdev)
{
	p9_dev_free(vdev->priv);
}

/*
 * The virtio-9p device for one --9p value, whose tag none of the @nr
 * shares before it (@prev) has; NULL after saying why.
 */
static struct p9_dev *p9_dev_new(struct kvm *kvm, const char *arg,
				 struct p9_dev **prev, int nr)
{
	struct p9_dev *p = calloc(1, sizeof(*p));
	char err[256];
	size_t tlen;
	int i, ret;

	if (!p || !(p->elem = malloc(sizeof(*p->elem)))) {
		free(p);
		pr_err("virtio-9p: out of memory");
		return NULL;
	}
	pthread_cond_init(&p->idle, NULL);
	p->kick_fd = eventfd(0, EFD_CLOEXEC);
	if (p->kick_fd < 0) {
		pr_err("virtio-9p: cannot create an eventfd: %s",
		       strerror(errno));
		goto fail;
	}
	if (p9_spec_parse(arg, &p->spec, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		goto fail;
	}
	for (i = 0; i < nr; i++) {
		if (!strcmp(prev[i]->spec.tag, p->spec.tag)) {
			pr_err("--9p '%s': tag '%s' is already used by another share",
			       arg, p->spec.tag);
			goto fail;
		}
	}
	p->server = p9_server_new(p->spec.dir, p->spec.readonly, err,
				  sizeof(err));
	if (!p->server) {
		pr_err("--9p '%s': %s", arg, err);
		goto fail;
	}
	tlen = strlen(p->spec.tag);
	p->config[0] = tlen & 0xff;
	p->config[1] = tlen >> 8;
	memcpy(p->config + 2, p->spec.tag, tlen);
	p->config_size = 2 + tlen;

	virtio_device_init(&p->vdev, &p9_ops, kvm, &kvm->mem, p);
	ret = pthread_create(&p->worker, NULL, p9_worker, p);
	if (ret) {
		pr_err("virtio-9p: cannot start a thread: %s", strerror(ret));
		goto fail;
	}
	p->worker_started = true;
	pthread_setname_np(p->worker, "lkvm-9p");
	ret = virtio_register(kvm, &p->vdev);
	if (ret < 0) {
		pr_err("virtio-9p: cannot register the device: %s",
		       strerror(-ret));
		goto fail;
	}
	p9_route_kicks(p);
	pr_debug("virtio-9p: '%s' as tag %s%s", p->spec.dir, p->spec.tag,
		 p->spec.readonly ? ", read-only" : "");
	return p;
fail:
	p9_dev_free(p);
	return NULL;
}

/* The devices live in the registry, which tears them down (p9_dev_exit). */
static int p9_init(struct kvm *kvm)
{
	struct p9_dev *devs[LKVM_MAX_9P];
	int i;

	for (i = 0; i < kvm->cfg.nr_p9 && i < LKVM_MAX_9P; i++) {
		devs[i] = p9_dev_new(kvm, kvm->cfg.p9[i], devs, i);
		if (!devs[i])
			return -EINVAL;
	}
	return 0;
}
lkvm_init(INIT_DEV, p9_init, NULL);
