// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost plumbing vhost-net (net/vhost.c) and vhost-vsock
 * (virtio/vsock.c) share: an instance's owner, features and memory table,
 * its rings handed over from lkvm's queues, the kick and call eventfds,
 * and the thread relaying calls to the transport (see lkvm/vhost.h).
 * The device-specific ioctls (VHOST_NET_SET_BACKEND, VHOST_VSOCK_*) stay
 * with their devices. Portable: the unit tests run it on fake fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/seccomp.h"
#include "lkvm/util.h"
#include "lkvm/vhost.h"

void vhost_eventfd_wake(int fd)
{
	u64 one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("vhost: eventfd write: %s", strerror(errno));
}

void vhost_eventfd_drain(int fd)
{
	u64 v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("vhost: eventfd read: %s", strerror(errno));
}

void vhost_dev_init(struct vhost_dev *vd, struct virtio_device *vdev,
		    const char *name, const char *path, unsigned int first_q,
		    unsigned int nr_rings)
{
	unsigned int i;

	*vd = (struct vhost_dev) {
		.vdev = vdev, .name = name, .path = path, .fd = -1,
		.first_q = first_q, .nr_rings = MIN(nr_rings, VHOST_MAX_RINGS),
	};
	for (i = 0; i < VHOST_MAX_RINGS; i++)
		vd->kick_fd[i] = vd->call_fd[i] = -1;
}

int vhost_dev_ioctl(struct vhost_dev *vd, unsigned long req, void *arg,
		    const char *what)
{
	int ret;

	if (ioctl(vd->fd, req, arg) >= 0)
		return 0;
	ret = -errno;
	pr_err("virtio-%s: %s %s: %s", vd->name, vd->path, what,
	       strerror(errno));
	return ret;
}

/* The module that makes @path: /dev/vhost-vsock is vhost_vsock's. */
static void vhost_module_name(const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');
	char *p;

	snprintf(buf, len, "%s", base ? base + 1 : path);
	for (p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
}

int vhost_dev_open(struct vhost_dev *vd)
{
	char module[32];
	unsigned int i;
	int ret;

	vd->fd = open(vd->path, O_RDWR | O_CLOEXEC);
	if (vd->fd < 0) {
		ret = -errno;
		vhost_module_name(vd->path, module, sizeof(module));
		if (errno == ENOENT)
			pr_err("virtio-%s: %s does not exist: the host needs vhost (load its %s module)",
			       vd->name, vd->path, module);
		else
			pr_err("virtio-%s: cannot open %s: %s", vd->name,
			       vd->path, strerror(errno));
		return ret;
	}
	ret = vhost_dev_ioctl(vd, VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER");
	if (!ret)
		ret = vhost_dev_ioctl(vd, VHOST_GET_FEATURES, &vd->features,
				      "VHOST_GET_FEATURES");
	for (i = 0; !ret && i < vd->nr_rings; i++) {
		vd->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vd->call_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vd->kick_fd[i] < 0 || vd->call_fd[i] < 0)
			ret = -errno;
	}
	return ret;
}

/* Guest memory: one region, all of it. */
static int vhost_set_mem(struct vhost_dev *vd)
{
	const struct guest_mem *mem = vd->vdev->mem;
	struct vhost_memory *vm;
	int ret;

	vm = calloc(1, sizeof(*vm) + sizeof(vm->regions[0]));
	if (!vm)
		return -ENOMEM;
	vm->nregions = 1;
	vm->regions[0] = (struct vhost_memory_region) {
		.guest_phys_addr = mem->gpa_start,
		.memory_size = mem->size,
		.userspace_addr = (u64)(unsigned long)mem->host,
	};
	ret = vhost_dev_ioctl(vd, VHOST_SET_MEM_TABLE, vm, "VHOST_SET_MEM_TABLE");
	free(vm);
	return ret;
}

/* Ring @i's size, start, addresses (lkvm's checked host pointers), fds. */
static int vhost_set_ring(struct vhost_dev *vd, unsigned int i,
			  struct virtqueue *vq)
{
	struct vhost_vring_state num = { .index = i, .num = vq->size };
	struct vhost_vring_state base = { .index = i, .num = vq->last_avail };
	struct vhost_vring_addr addr = {
		.index = i,
		.desc_user_addr = (u64)(unsigned long)vq->desc,
		.avail_user_addr = (u64)(unsigned long)vq->avail,
		.used_user_addr = (u64)(unsigned long)vq->used,
	};
	struct vhost_vring_file kick = { .index = i, .fd = vd->kick_fd[i] };
	struct vhost_vring_file call = { .index = i, .fd = vd->call_fd[i] };
	const struct {
		unsigned long req;
		void *arg;
		const char *what;
	} steps[] = {
#define STEP(req, arg)	{ req, arg, #req }
		STEP(VHOST_SET_VRING_NUM, &num),
		STEP(VHOST_SET_VRING_BASE, &base),
		STEP(VHOST_SET_VRING_ADDR, &addr),
		STEP(VHOST_SET_VRING_KICK, &kick),
		STEP(VHOST_SET_VRING_CALL, &call),
#undef STEP
	};
	unsigned int k;
	int ret = 0;

	for (k = 0; !ret && k < ARRAY_SIZE(steps); k++)
		ret = vhost_dev_ioctl(vd, steps[k].req, steps[k].arg,
				      steps[k].what);
	return ret;
}

int vhost_dev_start(struct vhost_dev *vd, u64 features)
{
	unsigned int i;
	int ret;

	ret = vhost_dev_ioctl(vd, VHOST_SET_FEATURES, &features,
			      "VHOST_SET_FEATURES");
	if (!ret)
		ret = vhost_set_mem(vd);
	for (i = 0; !ret && i < vd->nr_rings; i++) {
		struct virtqueue *vq = &vd->vdev->vqs[vd->first_q + i];

		if (!vq->ready)
			return -EINVAL;
		ret = vhost_set_ring(vd, i, vq);
	}
	return ret;
}

void vhost_dev_route_kicks(struct vhost_dev *vd)
{
	const struct virtio_transport_ops *t = vd->vdev->transport;
	unsigned int i;
	int ret;

	for (i = 0; t && t->set_kick_fd && i < vd->nr_rings; i++) {
		ret = t->set_kick_fd(vd->vdev, vd->first_q + i, vd->kick_fd[i]);
		if (ret < 0)
			pr_debug("virtio-%s: queue %u kicks relayed: %s",
				 vd->name, vd->first_q + i, strerror(-ret));
	}
}

void vhost_dev_replay_kicks(struct vhost_dev *vd)
{
	unsigned int i;

	for (i = 0; i < vd->nr_rings; i++)
		vhost_eventfd_wake(vd->kick_fd[i]);
}

void vhost_dev_kick(struct vhost_dev *vd, unsigned int q)
{
	if (q >= vd->first_q && q - vd->first_q < vd->nr_rings)
		vhost_eventfd_wake(vd->kick_fd[q - vd->first_q]);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vhost_dev_close(struct vhost_dev *vd)
{
	unsigned int i;

	close_fd(&vd->fd);
	for (i = 0; i < VHOST_MAX_RINGS; i++) {
		close_fd(&vd->kick_fd[i]);
		close_fd(&vd->call_fd[i]);
	}
}

/* ---- the relay: vhost's "used buffers" eventfds -> signal_vq ---- */

static unsigned int relay_fill(struct vhost_relay *r, struct pollfd *pfd,
			       unsigned int *q, struct vhost_dev **owner)
{
	unsigned int d, i, n = 0;

	pfd[n++] = (struct pollfd) { .fd = r->wake_fd, .events = POLLIN };
	for (d = 0; d < r->nr; d++) {
		for (i = 0; i < r->devs[d]->nr_rings; i++, n++) {
			pfd[n] = (struct pollfd) {
				.fd = r->devs[d]->call_fd[i], .events = POLLIN,
			};
			q[n] = r->devs[d]->first_q + i;
			owner[n] = r->devs[d];
		}
	}
	return n;
}

static void *vhost_relay_thread(void *arg)
{
	struct vhost_relay *r = arg;
	struct pollfd pfd[1 + VHOST_RELAY_MAX * VHOST_MAX_RINGS];
	struct vhost_dev *owner[ARRAY_SIZE(pfd)];
	unsigned int q[ARRAY_SIZE(pfd)], i, n;

	seccomp_apply(SECCOMP_VHOST);
	n = relay_fill(r, pfd, q, owner);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("vhost: poll: %s", strerror(errno));
			break;
		}
		for (i = 1; i < n; i++) {
			const struct virtio_transport_ops *t =
				owner[i]->vdev->transport;

			if (!(pfd[i].revents & POLLIN))
				continue;
			vhost_eventfd_drain(pfd[i].fd);
			if (t && t->signal_vq)
				t->signal_vq(owner[i]->vdev, q[i]);
		}
	}
	return NULL;
}

int vhost_relay_start(struct vhost_relay *r, struct vhost_dev *const *devs,
		      unsigned int nr, const char *name)
{
	int ret;

	if (nr > VHOST_RELAY_MAX)
		return -EINVAL;
	r->nr = nr;
	memcpy(r->devs, devs, nr * sizeof(*devs));
	r->stop = false;
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0)
		return -errno;
	ret = -pthread_create(&r->tid, NULL, vhost_relay_thread, r);
	if (ret) {
		close(r->wake_fd);
		return ret;
	}
	r->started = true;
	pthread_setname_np(r->tid, name);
	return 0;
}

void vhost_relay_stop(struct vhost_relay *r)
{
	if (!r->started)
		return;
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	vhost_eventfd_wake(r->wake_fd);
	pthread_join(r->tid, NULL);
	r->started = false;
	close(r->wake_fd);
}
