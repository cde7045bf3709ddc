/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_CPU_H
#define LKVM_KVM_CPU_H

#include <pthread.h>
#include "lkvm/util.h"

struct kvm;
struct kvm_run;

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
	u64 cpu_ticks;		/* --debug: CPU time of its thread(s) */
	u64 guest_ticks;	/* ... of which running the guest */
};

/* kvm/kvm-cpu.c */
int kvm_cpus_start(struct kvm *kvm);
void kvm_cpus_join(struct kvm *kvm);

/* Architecture hooks (arm64/kvm-cpu.c). */
int kvm_cpu_arch_init(struct kvm_cpu *cpu);
/* Put the boot CPU at the kernel entry with x0 = FDT; others powered off. */
int kvm_cpu_arch_reset(struct kvm_cpu *cpu);

/* The vCPU's ID_AA64MMFR0_EL1, as KVM shows it to the guest. */
int kvm_cpu_arch_mmfr0(struct kvm_cpu *cpu, u64 *val);

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
