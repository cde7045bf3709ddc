// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds: guest MMIO writes that KVM turns into an eventfd signal
 * without leaving the kernel. One epoll thread serves them all, started
 * on first use, so that device work never runs on (or blocks) a vCPU.
 *
 * Deleting a handle must not race with its callback: callbacks run with
 * ioev_lock held, and a deleted handle is only marked dead and freed at
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

static pthread_mutex_t ioev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t ioev_thread;
static bool ioev_running;
static int ioev_epoll = -1;
static int ioev_stop_fd = -1;
static struct ioeventfd *ioev_dead;	/* deleted, to free */
static int ioev_cap = -1;		/* KVM_CAP_IOEVENTFD, cached */

static void ioev_free_dead(void)
{
	struct ioeventfd *ev;

	while ((ev = ioev_dead)) {
		ioev_dead = ev->next_dead;
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
	struct epoll_event evs[IOEV_BATCH];
	bool stop = false;
	int n;

	/* Itself: a vCPU that starts it (PCI BARs) cannot open /proc. */
	pthread_setname_np(pthread_self(), "lkvm-ioeventfd");
	seccomp_apply(SECCOMP_IOEVENTFD);
	while (!stop) {
		pthread_mutex_lock(&ioev_lock);
		ioev_free_dead();
		pthread_mutex_unlock(&ioev_lock);

		n = epoll_wait(ioev_epoll, evs, IOEV_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("ioeventfd thread: epoll_wait: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&ioev_lock);
		stop = ioev_dispatch(evs, n);
		pthread_mutex_unlock(&ioev_lock);
	}
	return NULL;
}

/* Called with ioev_lock held. */
static int ioev_start_thread(void)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int ret;

	if (ioev_running)
		return 0;
	ioev_epoll = epoll_create1(EPOLL_CLOEXEC);
	ioev_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ioev_epoll < 0 || ioev_stop_fd < 0 ||
	    epoll_ctl(ioev_epoll, EPOLL_CTL_ADD, ioev_stop_fd, &e) < 0) {
		ret = -errno;
		goto err;
	}
	ret = -pthread_create(&ioev_thread, NULL, ioev_thread_fn, NULL);
	if (ret)
		goto err;
	ioev_running = true;
	return 0;

err:
	pr_err("cannot start the ioeventfd thread: %s", strerror(-ret));
	if (ioev_stop_fd >= 0)
		close(ioev_stop_fd);
	if (ioev_epoll >= 0)
		close(ioev_epoll);
	ioev_stop_fd = ioev_epoll = -1;
	return ret;
}

static bool ioev_supported(struct kvm *kvm)
{
	if (ioev_cap < 0)
		ioev_cap = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_IOEVENTFD) > 0;
	return ioev_cap;
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
	pthread_mutex_lock(&ioev_lock);
	ret = ioev_start_thread();
	e.data.ptr = ev;
	ev->fn = fn;
	ev->opaque = opaque;
	if (!ret && epoll_ctl(ioev_epoll, EPOLL_CTL_ADD, ev->fd, &e) < 0)
		ret = -errno;
	pthread_mutex_unlock(&ioev_lock);
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
	bool self = ioev_running && pthread_equal(pthread_self(), ioev_thread);

	if (!ev)
		return;
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
		pthread_mutex_lock(&ioev_lock);
	epoll_ctl(ioev_epoll, EPOLL_CTL_DEL, ev->fd, NULL);
	close(ev->fd);
	ev->dead = true;
	ev->next_dead = ioev_dead;
	ioev_dead = ev;
	if (!self)
		pthread_mutex_unlock(&ioev_lock);
}

static int ioeventfd_init(struct kvm *kvm)
{
	return 0;
}

/* Devices have deleted their handles by now (exits run in reverse). */
static void ioeventfd_exit(struct kvm *kvm)
{
	u64 one = 1;

	if (!ioev_running)
		return;
	if (write(ioev_stop_fd, &one, sizeof(one)) < 0)
		pr_warn("cannot stop the ioeventfd thread: %s", strerror(errno));
	else
		pthread_join(ioev_thread, NULL);
	ioev_running = false;
	ioev_free_dead();
	close(ioev_stop_fd);
	close(ioev_epoll);
	ioev_stop_fd = ioev_epoll = -1;
}
lkvm_init(INIT_IRQCHIP, ioeventfd_init, ioeventfd_exit);
