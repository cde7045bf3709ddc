// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds: guest MMIO writes that KVM turns into an eventfd signal
 * without leaving the kernel. One epoll thread serves them all, started
 * on first use, so that device work never runs on (or blocks) a vCPU.
 *
 * Deleting a handle must not race with its callback: callbacks run with
 * the state's lock held, and a deleted handle is only marked dead and freed at
 * the top of the next loop, once no epoll batch can still refer to it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/ioeventfd.h"
#include "lkvm/kvm.h"
#include "lkvm/seccomp.h"

#define IOEV_BATCH	16

struct ioeventfd {
	struct kvm *kvm;
	int fd;
	struct kvm_ioeventfd kio;
	void (*fn)(void *opaque);
	void *opaque;
	bool dead;
	struct ioeventfd *next_dead;
};

/* kvm->ioev: from ioeventfd_init() to ioeventfd_exit(). */
struct ioev_state {
	pthread_mutex_t lock;
	pthread_t thread;
	bool running;
	int epoll;
	int stop_fd;
	struct ioeventfd *dead;	/* deleted, to free */
	int cap;		/* KVM_CAP_IOEVENTFD, cached; -1 unknown */
};

static void ioev_free_dead(struct ioev_state *st)
{
	struct ioeventfd *ev;

	while ((ev = st->dead)) {
		st->dead = ev->next_dead;
		free(ev);
	}
}

/* Returns true when asked to stop. */
static bool ioev_dispatch(struct epoll_event *evs, int n)
{
	struct ioeventfd *ev;
	u64 count;
	int i;

	for (i = 0; i < n; i++) {
		ev = evs[i].data.ptr;
		if (!ev)
			return true;
		if (ev->dead)
			continue;
		/* Clear first: a kick during fn() triggers another round. */
		if (read(ev->fd, &count, sizeof(count)) < 0 && errno == EAGAIN)
			continue;
		ev->fn(ev->opaque);
	}
	return false;
}

static void *ioev_thread_fn(void *arg)
{
	struct ioev_state *st = arg;
	struct epoll_event evs[IOEV_BATCH];
	bool stop = false;
	int n;

	/* Itself: a vCPU that starts it (PCI BARs) cannot open /proc. */
	pthread_setname_np(pthread_self(), "lkvm-ioeventfd");
	seccomp_apply(SECCOMP_IOEVENTFD);
	while (!stop) {
		pthread_mutex_lock(&st->lock);
		ioev_free_dead(st);
		pthread_mutex_unlock(&st->lock);

		n = epoll_wait(st->epoll, evs, IOEV_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("ioeventfd thread: epoll_wait: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&st->lock);
		stop = ioev_dispatch(evs, n);
		pthread_mutex_unlock(&st->lock);
	}
	return NULL;
}

/* Called with st->lock held. */
static int ioev_start_thread(struct ioev_state *st)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int ret;

	if (st->running)
		return 0;
	st->epoll = epoll_create1(EPOLL_CLOEXEC);
	st->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->epoll < 0 || st->stop_fd < 0 ||
	    epoll_ctl(st->epoll, EPOLL_CTL_ADD, st->stop_fd, &e) < 0) {
		ret = -errno;
		goto err;
	}
	ret = -pthread_create(&st->thread, NULL, ioev_thread_fn, st);
	if (ret)
		goto err;
	st->running = true;
	return 0;

err:
	pr_err("cannot start the ioeventfd thread: %s", strerror(-ret));
	if (st->stop_fd >= 0)
		close(st->stop_fd);
	if (st->epoll >= 0)
		close(st->epoll);
	st->stop_fd = st->epoll = -1;
	return ret;
}

static bool ioev_supported(struct kvm *kvm)
{
	struct ioev_state *st = kvm->ioev;

	if (st->cap < 0)
		st->cap = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
				KVM_CAP_IOEVENTFD) > 0;
	return st->cap;
}

static int ioev_assign(struct ioeventfd *ev, u64 addr, u32 len,
		       const u64 *datamatch)
{
	ev->kio = (struct kvm_ioeventfd) {
		.addr = addr, .len = len, .fd = ev->fd,
	};
	if (datamatch) {
		ev->kio.datamatch = *datamatch;
		ev->kio.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	}
	if (ioctl(ev->kvm->vm_fd, KVM_IOEVENTFD, &ev->kio) < 0)
		return -errno;
	return 0;
}

int ioeventfd_add_fd(struct kvm *kvm, u64 addr, u32 len, const u64 *datamatch,
		     int fd, struct ioeventfd **evp)
{
	struct ioeventfd *ev;
	int ret;

	if (!ioev_supported(kvm))
		return -ENOSYS;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	*ev = (struct ioeventfd) { .kvm = kvm, .fd = fd };
	ret = ioev_assign(ev, addr, len, datamatch);
	if (ret < 0) {
		free(ev);
		return ret;
	}
	*evp = ev;
	return 0;
}

/* As ioeventfd_add_fd(), with an eventfd of ours served by the thread. */
int ioeventfd_add(struct kvm *kvm, u64 addr, u32 len, const u64 *datamatch,
		  void (*fn)(void *opaque), void *opaque,
		  struct ioeventfd **evp)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct ioev_state *st = kvm->ioev;
	struct ioeventfd *ev;
	int fd, ret;

	if (!ioev_supported(kvm))
		return -ENOSYS;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = ioeventfd_add_fd(kvm, addr, len, datamatch, fd, &ev);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	pthread_mutex_lock(&st->lock);
	ret = ioev_start_thread(st);
	e.data.ptr = ev;
	ev->fn = fn;
	ev->opaque = opaque;
	if (!ret && epoll_ctl(st->epoll, EPOLL_CTL_ADD, ev->fd, &e) < 0)
		ret = -errno;
	pthread_mutex_unlock(&st->lock);
	if (ret < 0) {
		/* Not polled: deassign and free it as a caller's eventfd. */
		ev->fn = NULL;
		ioeventfd_del(ev);
		close(fd);
		return ret;
	}
	*evp = ev;
	return 0;
}

void ioeventfd_del(struct ioeventfd *ev)
{
	struct ioev_state *st;
	bool self;

	if (!ev)
		return;
	st = ev->kvm->ioev;
	self = st->running && pthread_equal(pthread_self(), st->thread);
	ev->kio.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(ev->kvm->vm_fd, KVM_IOEVENTFD, &ev->kio) < 0)
		pr_warn("KVM_IOEVENTFD deassign at %#llx: %s",
			(unsigned long long)ev->kio.addr, strerror(errno));
	/* A caller's eventfd: not ours to poll or close. */
	if (!ev->fn) {
		free(ev);
		return;
	}
	/* From a callback, the thread already holds the lock. */
	if (!self)
		pthread_mutex_lock(&st->lock);
	epoll_ctl(st->epoll, EPOLL_CTL_DEL, ev->fd, NULL);
	close(ev->fd);
	ev->dead = true;
	ev->next_dead = st->dead;
	st->dead = ev;
	if (!self)
		pthread_mutex_unlock(&st->lock);
}

static int ioeventfd_init(struct kvm *kvm)
{
	struct ioev_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	st->epoll = st->stop_fd = st->cap = -1;
	kvm->ioev = st;
	return 0;
}

/* Devices have deleted their handles by now (exits run in reverse). */
static void ioeventfd_exit(struct kvm *kvm)
{
	struct ioev_state *st = kvm->ioev;
	u64 one = 1;

	if (st->running) {
		if (write(st->stop_fd, &one, sizeof(one)) < 0) {
			/* It still runs on the state: leave it be. */
			pr_warn("cannot stop the ioeventfd thread: %s",
				strerror(errno));
			return;
		}
		pthread_join(st->thread, NULL);
		close(st->stop_fd);
		close(st->epoll);
	}
	ioev_free_dead(st);
	pthread_mutex_destroy(&st->lock);
	free(st);
	kvm->ioev = NULL;
}
lkvm_init(INIT_IRQCHIP, ioeventfd_init, ioeventfd_exit);
