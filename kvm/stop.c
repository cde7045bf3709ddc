// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping the VM: whoever decides the guest must stop (a vCPU on a
 * system event or an error, the terminal on Ctrl-a x or a signal, the
 * console watch on a pattern, --timeout) calls kvm_request_stop(); the
 * main thread waits in kvm_stop_wait(). All the state is the VM's
 * (struct kvm_stop). The vCPUs are kicked out of KVM_RUN through the
 * hook kvm/kvm-cpu.c installs, so this file calls nothing above it.
 */
#include <errno.h>
#include <time.h>

#include "lkvm/kvm.h"

/* The condition waits on the monotonic clock (--timeout). */
void kvm_stop_init(struct kvm_stop *st)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &attr);
	pthread_condattr_destroy(&attr);
}

void kvm_stop_destroy(struct kvm_stop *st)
{
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
}

void kvm_request_stop(struct kvm *kvm, int status)
{
	struct kvm_stop *st = &kvm->stop;

	pthread_mutex_lock(&st->lock);
	if (!st->stopping) {
		__atomic_store_n(&st->stopping, true, __ATOMIC_RELEASE);
		st->status = status;
		pthread_cond_broadcast(&st->cond);
	} else if (st->status == LKVM_EXIT_RESET) {
		/* A stop asked for while rebooting (--reboot) must win. */
		st->status = status;
	}
	pthread_mutex_unlock(&st->lock);
	if (st->kick)
		st->kick(kvm);
}

bool kvm_is_stopping(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->stop.stopping, __ATOMIC_ACQUIRE);
}

int kvm_stop_status(struct kvm *kvm)
{
	int status;

	pthread_mutex_lock(&kvm->stop.lock);
	status = kvm->stop.status;
	pthread_mutex_unlock(&kvm->stop.lock);
	return status;
}

void kvm_stop_set_timeout(struct kvm *kvm, unsigned int seconds)
{
	struct timespec *d = &kvm->stop.deadline;

	*d = (struct timespec) { 0 };
	if (!seconds)
		return;
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += seconds;
}

void kvm_stop_wait(struct kvm *kvm)
{
	struct kvm_stop *st = &kvm->stop;
	bool expired = false;

	pthread_mutex_lock(&st->lock);
	while (!st->stopping && !expired) {
		if (st->deadline.tv_sec)
			expired = pthread_cond_timedwait(&st->cond, &st->lock,
							 &st->deadline) == ETIMEDOUT;
		else
			pthread_cond_wait(&st->cond, &st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	if (expired && !kvm_is_stopping(kvm)) {
		pr_err("--timeout: the guest ran for %u seconds: stopping it",
		       kvm->cfg.timeout);
		kvm_request_stop(kvm, LKVM_EXIT_TIMEOUT);
	}
}

bool kvm_stop_rearm(struct kvm *kvm)
{
	struct kvm_stop *st = &kvm->stop;
	bool reset;

	pthread_mutex_lock(&st->lock);
	reset = st->status == LKVM_EXIT_RESET;
	if (reset)
		__atomic_store_n(&st->stopping, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&st->lock);
	return reset;
}
