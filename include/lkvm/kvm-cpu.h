/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_CPU_H
#define LKVM_KVM_CPU_H

#include <pthread.h>
#include "lkvm/mmio-stats.h"
#include "lkvm/util.h"

struct kvm;
struct kvm_config;
struct kvm_run;
struct kvm_pause;

/* One virtual CPU, run by its own thread. */
struct kvm_cpu {
	struct kvm *kvm;
	int id;
	int fd;
	struct kvm_run *run;	/* shared with KVM, vcpu_mmap_size bytes */
	pthread_t thread;
	bool thread_running;
	u64 nr_exits;		/* KVM_RUN returns to userspace */
	u64 nr_mmio_exits;
	struct mmio_stats mmio;	/* --debug: its MMIO exits by address */
	u64 cpu_ticks;		/* --debug: CPU time of its thread(s) */
	u64 guest_ticks;	/* ... of which running the guest */
	u64 wait_ns;		/* ... and time it waited for a CPU */
	/* Work for the parked vCPU's thread (kvm_cpu_run_parked()). */
	int (*park_fn)(struct kvm_cpu *cpu, void *arg);
	void *park_arg;
	int park_ret;
	bool park_running;	/* the thread runs park_fn (without the lock) */
};

/* kvm/kvm-cpu.c */
int kvm_cpus_start(struct kvm *kvm);
void kvm_cpus_join(struct kvm *kvm);

/*
 * Parking: every vCPU thread leaves KVM_RUN (a signal, and immediate_exit
 * for a thread on its way in, as api.rst documents) and waits outside it
 * until resumed, with its MMIO or other exit completed (KVM_RUN was
 * re-entered with immediate_exit set), so its registers are the guest's
 * and KVM_GET_ONE_REG may read them. The guest's virtual counter stops
 * while parked (saved at the pause, written back at the resume): the
 * guest sees no time pass, as QEMU does by default, so its timers,
 * watchdogs and RCU do not all expire at once on resume; its wall clock
 * lags the host's by the pause (NTP or the PL031 RTC mend it).
 *
 * kvm_cpus_pause(): 0 once every vCPU is parked, -EALREADY if they were,
 * -ESHUTDOWN if the VM stopped (or reset) meanwhile. kvm_cpus_resume():
 * 0, or -EALREADY if they were running. Any thread but a vCPU's may call
 * them; calls are serialised. A vCPU thread created while paused parks
 * before it first enters the guest.
 */
int kvm_cpus_pause(struct kvm *kvm);
int kvm_cpus_resume(struct kvm *kvm);
bool kvm_cpus_paused(struct kvm *kvm);
/*
 * --gdb-wait: before the vCPU threads start, ask for a pause; each parks
 * before it first enters the guest. The next kvm_cpus_pause() waits for
 * them to be parked and returns 0, as after any pause.
 */
void kvm_cpus_pause_early(struct kvm *kvm);
/*
 * Run @fn(@cpu, @arg) on @cpu's own thread while the vCPUs are parked
 * (vCPU ioctls belong on the vCPU's thread, and KVM_GET_ONE_REG must not
 * race KVM_RUN) and return what it returned; -EBUSY when not parked,
 * -ESHUTDOWN if the VM stopped first. @fn runs under the vCPU thread's
 * seccomp list (KVM_GET_ONE_REG and KVM_SET_ONE_REG are in it).
 */
int kvm_cpu_run_parked(struct kvm_cpu *cpu,
		       int (*fn)(struct kvm_cpu *cpu, void *arg), void *arg);
/*
 * The whole VM: the vCPUs parked, then the devices (the registry's
 * devices_pause(): virtio devices hold back the guest's kicks); resume
 * in the other order. Same returns as kvm_cpus_pause/resume.
 */
int kvm_vm_pause(struct kvm *kvm);
int kvm_vm_resume(struct kvm *kvm);
/*
 * Between kvm_vm_pause() and kvm_vm_resume(): host-side input (the
 * terminal's) waits, however long, rather than being taken for a stall.
 */
bool kvm_vm_paused(struct kvm *kvm);
void kvm_pause_init(struct kvm_pause *p);
void kvm_pause_destroy(struct kvm_pause *p);
/* For the vCPU loop (kvm/kvm-cpu.c): is a pause asked for? then park. */
bool kvm_pause_requested(struct kvm *kvm);
void kvm_cpu_park(struct kvm_cpu *cpu);
/* Wake parked vCPUs and waiters to look at the stop (the stop's kick). */
void kvm_pause_wake(struct kvm *kvm);

/* Architecture hooks (arm64/kvm-cpu.c). */
int kvm_cpu_arch_init(struct kvm_cpu *cpu);
/* Put the boot CPU at the kernel entry with x0 = FDT; others powered off. */
int kvm_cpu_arch_reset(struct kvm_cpu *cpu);

/* The vCPU's ID_AA64MMFR0_EL1, as KVM shows it to the guest. */
int kvm_cpu_arch_mmfr0(struct kvm_cpu *cpu, u64 *val);
/* The guest's virtual counter, read and set (the VM's offset): 0 or -errno. */
int kvm_cpu_arch_get_counter(struct kvm_cpu *cpu, u64 *cnt);
int kvm_cpu_arch_set_counter(struct kvm_cpu *cpu, u64 cnt);

/*
 * Architecture hooks for the VM (arm/gic.c): resolve VIRTIO_TRANSPORT_AUTO
 * in @cfg before anything depends on it (the guest's modules, the GIC),
 * asking the host's KVM with a scratch VM.
 */
void kvm_arch_choose_transport(struct kvm_config *cfg);

/* Architecture hooks for the VM (arm64/boot.c). */
int kvm_arch_load_files(struct kvm *kvm);
/*
 * Load (once) and check the kernel alone, then find its version in the
 * "Linux version X" banner; returns 0, -ENODATA (quietly) when there is
 * no banner, or another -errno after saying why. kvm_arch_load_files()
 * reuses the loaded kernel.
 */
int kvm_arch_kernel_version(struct kvm *kvm, char *out, size_t len);
int kvm_arch_load_guest(struct kvm *kvm);
void kvm_arch_free_files(struct kvm *kvm);

#endif
