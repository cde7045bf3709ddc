// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p (--9p HOSTDIR,TAG[,ro]): a host folder for the guest's v9fs,
 * served by fs/9p.c. One request queue per device, and one worker thread
 * that pops a request, answers it with p9_handle() and pushes the reply:
 * the library is not thread-safe, and requests of one device are served
 * in order. Tread/Twrite payloads move between the files and the guest's
 * buffers with preadv/pwritev, without a bounce buffer.
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
	/* under vdev.lock */
	pthread_cond_t cond;	/* kicked or stop: wakes the worker */
	pthread_cond_t idle;	/* busy cleared: wakes a reset */
	bool kicked, stop, busy, resetting;
	struct virtq_elem *elem;
	u64 nr_requests;
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

	p->kicked = true;
	pthread_cond_signal(&p->cond);
}

static void p9_reset(struct virtio_device *vdev)
{
	struct p9_dev *p = vdev->priv;

	p->resetting = true;
	while (p->busy)
		pthread_cond_wait(&p->idle, &vdev->lock);
	p->resetting = false;
	p->kicked = false;
	p9_server_reset(p->server);
}

/* Serve the queue until it is empty; called and returns with the lock. */
static void p9_serve(struct p9_dev *p)
{
	struct virtio_device *vdev = &p->vdev;
	struct virtqueue *vq = &vdev->vqs[0];
	struct virtq_elem *e = p->elem;
	enum virtq_pop_result r;
	size_t len;

	do {
		virtq_enable_notify(vq, false);
		for (;;) {
			if (p->resetting || p->stop || !vq->ready ||
			    !virtio_device_live(vdev))
				return;
			r = virtq_pop(vq, e);
			if (r != VIRTQ_GOT)
				break;
			p->busy = true;
			pthread_mutex_unlock(&vdev->lock);
			len = p9_handle(p->server, virtq_elem_out(e), e->out_num,
					virtq_elem_in(e), e->in_num);
			pthread_mutex_lock(&vdev->lock);
			p->busy = false;
			p->nr_requests++;
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

	seccomp_apply(SECCOMP_9P);
	pthread_mutex_lock(&vdev->lock);
	for (;;) {
		while (!p->stop && !p->kicked)
			pthread_cond_wait(&p->cond, &vdev->lock);
		if (p->stop)
			break;
		p->kicked = false;
		p9_serve(p);
	}
	pthread_mutex_unlock(&vdev->lock);
	return NULL;
}

static void p9_dev_exit(struct virtio_device *vdev);

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
};

static void p9_dev_free(struct p9_dev *p)
{
	virtio_unregister(&p->vdev);
	if (p->worker_started) {
		pthread_mutex_lock(&p->vdev.lock);
		p->stop = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->vdev.lock);
		pthread_join(p->worker, NULL);
	}
	if (p->nr_requests)
		pr_debug("virtio-9p %s: %llu requests", p->spec.tag,
			 (unsigned long long)p->nr_requests);
	if (p->server)
		p9_server_free(p->server);
	pthread_cond_destroy(&p->cond);
	pthread_cond_destroy(&p->idle);
	free(p->elem);
	free(p);
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
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->idle, NULL);
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
