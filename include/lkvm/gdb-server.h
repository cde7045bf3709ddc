/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_GDB_SERVER_H
#define LKVM_GDB_SERVER_H

/*
 * --gdb [ADDR:]PORT (kvm/gdb.c): the GDB stub's TCP server and its KVM
 * target. The vCPU loop (kvm/kvm-cpu.c) calls these two hooks; both
 * return at once without --gdb.
 */
struct kvm_cpu;

/*
 * KVM_EXIT_DEBUG: tell the gdb thread (the first stop of a resume wins)
 * and wait until it parks the vCPUs, the VM stops or gdb leaves.
 */
void gdb_vcpu_debug_exit(struct kvm_cpu *cpu);
/* Before KVM_RUN: a vCPU gdb's last resume left stopped waits likewise. */
void gdb_vcpu_hold(struct kvm_cpu *cpu);

#endif
