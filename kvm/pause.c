// SPDX-License-Identifier: GPL-2.0
/*
 * Parking the vCPUs (lkvm/kvm-cpu.h): the pause and resume of `lkvm
 * pause`, and what debug dumps and a GDB stub need, a vCPU stopped
 * outside KVM_RUN whose thread runs work for others.
 *
 * The pauser sets kvm->pause.requested and kicks the vCPUs (the stop
 * machinery's kick: immediate_exit and a signal). A vCPU thread whose
 * KVM_RUN returns EINTR while a pause is requested calls kvm_cpu_park()
 * (kvm/kvm-cpu.c), which counts it parked and waits on the condition
 * until the pause ends or the VM stops, running the park work it is
 * given. kvm_request_stop() wakes parked vCPUs through the kick hook
 * (kvm_pause_wake()), so a paused VM stops like a running one.
 *
 * All the state is the VM's (struct kvm_pause); no KVM call here but the
 * arch's counter hooks, on a vCPU's own thread, so the logic is
 * unit-tested with plain threads standing in for vCPUs.
 */
#include <errno.h>
#include <string.h>

#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"

void kvm_pause_init(struct kvm_pause *p)
{
	pthread_mutex_init(&p->op_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
}

void kvm_pause_destroy(struct kvm_pause *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->op_lock);
}

bool kvm_pause_requested(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->pause.requested, __ATOMIC_ACQUIRE);
}

void kvm_pause_wake(struct kvm *kvm)
{
	pthread_mutex_lock(&kvm->pause.lock);
	pthread_cond_broadcast(&kvm->pause.cond);
	pthread_mutex_unlock(&kvm->pause.lock);
}

/* Under p->lock: run @cpu's park work without the lock (it may stop the VM). */
static void run_park_work(struct kvm_cpu *cpu, struct kvm_pause *p)
{
	int ret;

	cpu->park_running = true;
	pthread_mutex_unlock(&p->lock);
	ret = cpu->park_fn(cpu, cpu->park_arg);
	pthread_mutex_lock(&p->lock);
	cpu->park_ret = ret;
	cpu->park_fn = NULL;
	cpu->park_running = false;
	pthread_cond_broadcast(&p->cond);
}

void kvm_cpu_park(struct kvm_cpu *cpu)
{
	struct kvm_pause *p = &cpu->kvm->pause;

	pthread_mutex_lock(&p->lock);
	p->nr_parked++;
	pthread_cond_broadcast(&p->cond);
	while (kvm_pause_requested(cpu->kvm) && !kvm_is_stopping(cpu->kvm)) {
		if (cpu->park_fn)
			run_park_work(cpu, p);
		else
			pthread_cond_wait(&p->cond, &p->lock);
	}
	p->nr_parked--;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Under p->lock: every vCPU is parked. */
static bool all_parked(struct kvm *kvm)
{
	return kvm_pause_requested(kvm) && kvm->pause.nr_parked == kvm->nr_cpus;
}

int kvm_cpu_run_parked(struct kvm_cpu *cpu,
		       int (*fn)(struct kvm_cpu *cpu, void *arg), void *arg)
{
	struct kvm_pause *p = &cpu->kvm->pause;
	int ret;

	pthread_mutex_lock(&p->lock);
	if (!all_parked(cpu->kvm) || cpu->park_fn) {
		pthread_mutex_unlock(&p->lock);
		return -EBUSY;
	}
	cpu->park_fn = fn;
	cpu->park_arg = arg;
	pthread_cond_broadcast(&p->cond);
	/* work the vCPU took is waited for: @arg is the caller's */
	while (cpu->park_fn &&
	       (cpu->park_running || !kvm_is_stopping(cpu->kvm)))
		pthread_cond_wait(&p->cond, &p->lock);
	ret = cpu->park_fn ? -ESHUTDOWN : cpu->park_ret;
	cpu->park_fn = NULL;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

bool kvm_cpus_paused(struct kvm *kvm)
{
	bool paused;

	pthread_mutex_lock(&kvm->pause.lock);
	paused = all_parked(kvm);
	pthread_mutex_unlock(&kvm->pause.lock);
	return paused;
}

static int save_counter(struct kvm_cpu *cpu, void *arg)
{
	struct kvm_pause *p = arg;

	p->counter_saved = !kvm_cpu_arch_get_counter(cpu, &p->counter);
	return 0;
}

static int restore_counter(struct kvm_cpu *cpu, void *arg)
{
	struct kvm_pause *p = arg;
	int ret = 0;

	if (p->counter_saved)
		ret = kvm_cpu_arch_set_counter(cpu, p->counter);
	if (ret < 0)
		pr_warn("cannot restore the guest's virtual counter: %s (the guest sees the pause as time passed)",
			strerror(-ret));
	p->counter_saved = false;
	return 0;
}

/* Kick and wait until every vCPU parked, or the VM stops. */
static int park_all(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	p->early = false;
	__atomic_store_n(&p->requested, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&p->lock);
	if (kvm->stop.kick)
		kvm->stop.kick(kvm);
	pthread_mutex_lock(&p->lock);
	while (p->nr_parked < kvm->nr_cpus && !kvm_is_stopping(kvm))
		pthread_cond_wait(&p->cond, &p->lock);
	if (kvm_is_stopping(kvm)) {
		__atomic_store_n(&p->requested, false, __ATOMIC_SEQ_CST);
		pthread_cond_broadcast(&p->cond);
		ret = -ESHUTDOWN;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

void kvm_cpus_pause_early(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;

	pthread_mutex_lock(&p->lock);
	p->early = true;
	__atomic_store_n(&p->requested, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&p->lock);
}

int kvm_cpus_pause(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;
	int ret;

	pthread_mutex_lock(&p->op_lock);
	if (kvm_pause_requested(kvm) && !p->early)
		ret = -EALREADY;
	else
		ret = park_all(kvm);
	if (!ret && kvm->nr_cpus)
		kvm_cpu_run_parked(kvm->cpus[0], save_counter, p);
	pthread_mutex_unlock(&p->op_lock);
	return ret;
}

int kvm_cpus_resume(struct kvm *kvm)
{
	struct kvm_pause *p = &kvm->pause;

	pthread_mutex_lock(&p->op_lock);
	if (!kvm_pause_requested(kvm)) {
		pthread_mutex_unlock(&p->op_lock);
		return -EALREADY;
	}
	if (kvm->nr_cpus)
		kvm_cpu_run_parked(kvm->cpus[0], restore_counter, p);
	pthread_mutex_lock(&p->lock);
	__atomic_store_n(&p->requested, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->op_lock);
	return 0;
}

int kvm_vm_pause(struct kvm *kvm)
{
	int ret = kvm_cpus_pause(kvm);

	if (!ret) {
		devices_pause(kvm);
		__atomic_store_n(&kvm->pause.devices, true, __ATOMIC_RELEASE);
	}
	return ret;
}

int kvm_vm_resume(struct kvm *kvm)
{
	if (!kvm_pause_requested(kvm))
		return -EALREADY;
	if (kvm_vm_paused(kvm)) {
		devices_resume(kvm);
		__atomic_store_n(&kvm->pause.devices, false, __ATOMIC_RELEASE);
	}
	return kvm_cpus_resume(kvm);
}

bool kvm_vm_paused(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->pause.devices, __ATOMIC_ACQUIRE);
}
