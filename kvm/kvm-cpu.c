// SPDX-License-Identifier: GPL-2.0
/* vCPUs: creation, one thread each, and the KVM_RUN exit loop. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/gdb-server.h"
#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/procstat.h"
#include "lkvm/seccomp.h"

/* Sent to a vCPU thread to make KVM_RUN return (see kvm_cpus_kick). */
#define SIG_KICK	SIGUSR1

static void kick_handler(int sig)
{
}

/*
 * Make every vCPU leave KVM_RUN. immediate_exit covers a thread that is
 * about to enter KVM_RUN when the signal arrives. kvm_request_stop()
 * calls it (the kvm->stop.kick hook).
 */
static void kvm_cpus_kick(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *cpu = kvm->cpus[i];

		if (!cpu)
			continue;
		__atomic_store_n(&cpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (cpu->thread_running)
			pthread_kill(cpu->thread, SIG_KICK);
	}
	/* parked vCPUs, and who waits for them, look at the stop */
	kvm_pause_wake(kvm);
}

/*
 * Park until resumed, then clear immediate_exit (a pause set it) unless
 * the VM is stopping: the stop sets stopping before its kick sets
 * immediate_exit, and the loop reads stopping after this store, so a
 * stop is never lost.
 */
static void park_then_rearm(struct kvm_cpu *cpu)
{
	kvm_cpu_park(cpu);
	__atomic_store_n(&cpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

static struct kvm_cpu *kvm_cpu_create(struct kvm *kvm, int id)
{
	struct kvm_cpu *cpu = calloc(1, sizeof(*cpu));

	if (!cpu)
		return NULL;
	cpu->kvm = kvm;
	cpu->id = id;
	cpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (cpu->fd < 0) {
		pr_err("KVM_CREATE_VCPU %d failed: %s", id, strerror(errno));
		goto err_free;
	}
	cpu->run = mmap(NULL, kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, cpu->fd, 0);
	if (cpu->run == MAP_FAILED) {
		pr_err("cannot map vCPU %d's kvm_run: %s", id, strerror(errno));
		goto err_close;
	}
	if (kvm_cpu_arch_init(cpu) < 0)
		goto err_unmap;
	return cpu;

err_unmap:
	munmap(cpu->run, kvm->vcpu_mmap_size);
err_close:
	close(cpu->fd);
err_free:
	free(cpu);
	return NULL;
}

static void kvm_cpu_destroy(struct kvm_cpu *cpu)
{
	munmap(cpu->run, cpu->kvm->vcpu_mmap_size);
	close(cpu->fd);
	free(cpu);
}

static int kvm_cpus_init(struct kvm *kvm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int i;

	/* No SA_RESTART: the kick must interrupt KVM_RUN with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIG_KICK, &sa, NULL);
	kvm->stop.kick = kvm_cpus_kick;

	kvm->cpus = calloc(kvm->cfg.nr_cpus, sizeof(*kvm->cpus));
	kvm->cpu_mpidr = calloc(kvm->cfg.nr_cpus, sizeof(*kvm->cpu_mpidr));
	if (!kvm->cpus || !kvm->cpu_mpidr)
		return -ENOMEM;
	for (i = 0; i < kvm->cfg.nr_cpus; i++) {
		kvm->cpus[i] = kvm_cpu_create(kvm, i);
		if (!kvm->cpus[i])
			return -EINVAL;
		kvm->nr_cpus++;
	}
	return 0;
}

/* --debug: MMIO exits by address (a device's registers), summed over the vCPUs */
static void kvm_cpus_print_mmio(struct kvm *kvm)
{
	struct mmio_stats sum = { 0 };
	int i, k;

	for (i = 0; i < kvm->nr_cpus; i++)
		mmio_stats_add(&sum, &kvm->cpus[i]->mmio);
	for (k = 0; k < MMIO_STATS_SLOTS; k++) {
		const struct mmio_stat *st = &sum.slot[k];

		if (!st->reads && !st->writes)
			break;
		pr_debug("MMIO exits at 0x%llx: reads %llu writes %llu",
			 (unsigned long long)st->addr,
			 (unsigned long long)st->reads,
			 (unsigned long long)st->writes);
	}
	if (sum.other)
		pr_debug("MMIO exits at other addresses: %llu",
			 (unsigned long long)sum.other);
}

static void kvm_cpus_exit(struct kvm *kvm)
{
	u64 exits = 0, mmio = 0, ticks = 0, guest = 0, wait = 0;
	double hz = sysconf(_SC_CLK_TCK);
	int i;

	kvm_cpus_print_mmio(kvm);
	for (i = 0; i < kvm->nr_cpus; i++) {
		exits += kvm->cpus[i]->nr_exits;
		mmio += kvm->cpus[i]->nr_mmio_exits;
		ticks += kvm->cpus[i]->cpu_ticks;
		guest += kvm->cpus[i]->guest_ticks;
		wait += kvm->cpus[i]->wait_ns;
		kvm_cpu_destroy(kvm->cpus[i]);
	}
	pr_debug("vCPU exits to userspace: %llu, of which MMIO %llu",
		 (unsigned long long)exits, (unsigned long long)mmio);
	pr_debug("CPU time of the vCPU threads: %.2fs, of which in the guest %.2fs; they waited for a CPU %.2fs",
		 ticks / hz, guest / hz, wait / 1e9);
	kvm->stop.kick = NULL;
	free(kvm->cpus);
	kvm->cpus = NULL;
	kvm->nr_cpus = 0;
}
lkvm_init(INIT_CPU, kvm_cpus_init, kvm_cpus_exit);

static void handle_mmio(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;
	u64 addr = run->mmio.phys_addr;

	cpu->nr_mmio_exits++;
	if (lkvm_debug)
		mmio_stats_count(&cpu->mmio, addr, run->mmio.is_write);
	if (run->mmio.len > sizeof(run->mmio.data))
		return;
	if (!mmio_dispatch(&cpu->kvm->mmio, addr, run->mmio.data,
			   run->mmio.len, run->mmio.is_write))
		pr_warn_ratelimited("vCPU %d: %s of %u bytes at 0x%llx: no device there",
				    cpu->id, run->mmio.is_write ? "write" : "read",
				    run->mmio.len, (unsigned long long)addr);
}

static void handle_system_event(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;

	switch (cpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		pr_debug("guest powered off");
		kvm_request_stop(kvm, LKVM_EXIT_OK);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		pr_debug("guest reset");
		kvm_request_stop(kvm, LKVM_EXIT_RESET);
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		pr_err("the guest reported a crash");
		kvm_request_stop(kvm, LKVM_EXIT_CRASH);
		break;
	default:
		pr_debug("vCPU %d: system event %u ignored", cpu->id,
			 cpu->run->system_event.type);
	}
}

/* Returns false when the vCPU must stop running. */
static bool handle_exit(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		handle_mmio(cpu);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(cpu);
		return false;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_DEBUG:	/* --gdb: a breakpoint, watchpoint or step */
		gdb_vcpu_debug_exit(cpu);
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vCPU %d: entry failed (hardware reason 0x%llx)", cpu->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("vCPU %d: KVM internal error %u", cpu->id,
		       run->internal.suberror);
		break;
	default:
		pr_err("vCPU %d: unexpected exit reason %u", cpu->id,
		       run->exit_reason);
		break;
	}
	kvm_request_stop(cpu->kvm, LKVM_EXIT_CRASH);
	return false;
}

/* Add this vCPU thread's CPU time to what --debug reports at exit. */
static void kvm_cpu_account(struct kvm_cpu *cpu)
{
	u64 ticks, guest;
	char comm[16];

	if (thread_cpu_time(gettid(), comm, sizeof(comm), &ticks, &guest)) {
		cpu->cpu_ticks += ticks;
		cpu->guest_ticks += guest;
	}
	cpu->wait_ns += thread_cpu_wait_ns(gettid());
}

static void *kvm_cpu_thread(void *arg)
{
	struct kvm_cpu *cpu = arg;
	struct kvm *kvm = cpu->kvm;

	seccomp_apply(SECCOMP_VCPU);
	if (cpu->id == 0)
		pr_phase("vCPU 0 enters the guest (first KVM_RUN)");
	while (!kvm_is_stopping(kvm)) {
		gdb_vcpu_hold(cpu);
		/*
		 * Park only after a KVM_RUN that returned EINTR: run with
		 * immediate_exit set, it completes the last exit (an MMIO
		 * read's data, a PC step) before returning, so a parked vCPU's
		 * registers are the guest's (api.rst, immediate_exit).
		 */
		if (kvm_pause_requested(kvm))
			__atomic_store_n(&cpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (kvm_pause_requested(kvm))
					park_then_rearm(cpu);
				continue;
			}
			if (errno == ENOSYS)
				pr_err("vCPU %d: the guest made an MMIO access KVM cannot decode (no syndrome): giving up",
				       cpu->id);
			else
				pr_err("vCPU %d: KVM_RUN failed: %s", cpu->id,
				       strerror(errno));
			kvm_request_stop(kvm, LKVM_EXIT_CRASH);
			break;
		}
		cpu->nr_exits++;
		if (!handle_exit(cpu))
			break;
	}
	if (lkvm_debug)
		kvm_cpu_account(cpu);
	return NULL;
}

/*
 * Only SIG_KICK is delivered to vCPU threads: terminal signals go to the
 * main thread, so a vCPU is never interrupted in the middle of device
 * emulation by a handler.
 */
static void vcpu_sigmask(sigset_t *old)
{
	sigset_t set;

	sigfillset(&set);
	sigdelset(&set, SIG_KICK);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &set, old);
}

/* "vcpu0"...: what top -H and perf show */
static void kvm_cpu_name_thread(struct kvm_cpu *cpu)
{
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", cpu->id);
	pthread_setname_np(cpu->thread, name);
}

/* --vcpu-affinity: glibc pins the thread before it runs a line of ours. */
static void vcpu_thread_attr(struct kvm *kvm, pthread_attr_t *attr)
{
	pthread_attr_init(attr);
	if (CPU_COUNT(&kvm->cfg.vcpu_affinity))
		pthread_attr_setaffinity_np(attr, sizeof(cpu_set_t),
					    &kvm->cfg.vcpu_affinity);
}

int kvm_cpus_start(struct kvm *kvm)
{
	pthread_attr_t attr;
	sigset_t old;
	int i, ret = 0;

	vcpu_sigmask(&old);
	vcpu_thread_attr(kvm, &attr);
	for (i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *cpu = kvm->cpus[i];

		cpu->run->immediate_exit = 0;
		ret = pthread_create(&cpu->thread, &attr, kvm_cpu_thread, cpu);
		if (ret) {
			pr_err("cannot start vCPU %d's thread: %s", i, strerror(ret));
			break;
		}
		cpu->thread_running = true;
		kvm_cpu_name_thread(cpu);
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret ? -ret : 0;
}

void kvm_cpus_join(struct kvm *kvm)
{
	int i;

	for (i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *cpu = kvm->cpus[i];

		if (cpu->thread_running) {
			pthread_join(cpu->thread, NULL);
			cpu->thread_running = false;
		}
	}
}
