// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: KVM_ARM_VCPU_INIT with PSCI, MPIDR, boot registers; AArch64,
 * or AArch32 at EL1 with --aarch32 (registers from arm/zimage.c). The
 * optional CPU features are arm64/cpu-features.c's.
 */
#include <asm/ptrace.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/arm-zimage.h"
#include "lkvm/cpu-features.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"

#define ARM64_CORE_REG(x)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
				 KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define MPIDR_EL1		ARM64_SYS_REG(3, 0, 0, 0, 5)
#define ID_AA64MMFR0_EL1	ARM64_SYS_REG(3, 0, 0, 7, 0)

static int get_reg(struct kvm_cpu *cpu, u64 id, u64 *val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)val };

	return ioctl(cpu->fd, KVM_GET_ONE_REG, &reg);
}

static int set_reg(struct kvm_cpu *cpu, u64 id, u64 val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	return ioctl(cpu->fd, KVM_SET_ONE_REG, &reg);
}

/* --aarch32: the vCPU runs EL1 in AArch32, if the host CPU can. */
static int aarch32_feature(struct kvm *kvm, struct kvm_vcpu_init *init)
{
	char err[256];

	if (!kvm->cfg.aarch32)
		return 0;
	if (aarch32_host_check(kvm_check_cap(kvm, KVM_CAP_ARM_EL1_32BIT),
			       err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return -ENODEV;
	}
	init->features[0] |= 1U << KVM_ARM_VCPU_EL1_32BIT;
	return 0;
}

static int vcpu_init(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	struct kvm_vcpu_init init;

	if (ioctl(kvm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		pr_err("KVM_ARM_PREFERRED_TARGET failed (%s): /dev/kvm does not run arm64 guests",
		       strerror(errno));
		return -errno;
	}
	if (!ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2)) {
		pr_err("this host's KVM lacks PSCI 0.2, which lkvm needs to start secondary vCPUs");
		return -ENODEV;
	}
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	init.features[0] |= cpu_features_init_bits(cpu);
	if (aarch32_feature(kvm, &init))
		return -ENODEV;
	/* Secondaries wait for the guest's PSCI CPU_ON. */
	if (cpu->id)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(cpu->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		pr_err("KVM_ARM_VCPU_INIT for vCPU %d failed: %s", cpu->id,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm_cpu_arch_init(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	u64 mpidr, psci;
	int ret;

	ret = vcpu_init(cpu);
	if (!ret)
		ret = cpu_features_vcpu_init(cpu);
	if (ret)
		return ret;
	if (get_reg(cpu, MPIDR_EL1, &mpidr) < 0) {
		pr_err("cannot read vCPU %d's MPIDR: %s", cpu->id, strerror(errno));
		return -errno;
	}
	kvm->cpu_mpidr[cpu->id] = mpidr;
	if (cpu->id == 0) {
		/* Older kernels lack the register: they implement 0.2. */
		if (get_reg(cpu, KVM_REG_ARM_PSCI_VERSION, &psci) < 0)
			psci = 2;
		kvm->psci_version = (u32)psci;
	}
	return 0;
}

/* Documentation/arch/arm/booting.rst, as aarch32_boot_regs() sets it. */
static int set_aarch32_regs(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	struct aarch32_boot_regs r;

	aarch32_boot_regs(kvm->kernel_gpa, kvm->fdt_gpa, &r);
	if (set_reg(cpu, ARM64_CORE_REG(regs.pstate), r.cpsr) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[0]), r.r0) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[1]), r.r1) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[2]), r.r2) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.pc), r.pc)) {
		pr_err("cannot set the boot vCPU's AArch32 registers: %s",
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * arm64 boot protocol: MMU off, interrupts masked, EL1h, x0 = FDT,
 * x1..x3 = 0, PC at the kernel's first instruction. Secondaries are reset
 * to powered off and wait for PSCI.
 */
int kvm_cpu_arch_reset(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	u64 pstate = PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT |
		     PSR_MODE_EL1h;
	int ret;

	ret = vcpu_init(cpu);
	if (ret || cpu->id)
		return ret;
	if (kvm->cfg.aarch32)
		return set_aarch32_regs(cpu);
	if (set_reg(cpu, ARM64_CORE_REG(regs.pstate), pstate) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[0]), kvm->fdt_gpa) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[1]), 0) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[2]), 0) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.regs[3]), 0) ||
	    set_reg(cpu, ARM64_CORE_REG(regs.pc), kvm->kernel_gpa)) {
		pr_err("cannot set the boot vCPU's registers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm_cpu_arch_mmfr0(struct kvm_cpu *cpu, u64 *val)
{
	return get_reg(cpu, ID_AA64MMFR0_EL1, val) < 0 ? -errno : 0;
}

/*
 * The guest's virtual counter (CNTVCT_EL0): KVM_REG_ARM_TIMER_CNT reads
 * it, and writing it moves the VM's CNTVOFF so the guest reads that
 * value from then on (Documentation/virt/kvm/api.rst: "Userspace should
 * use either KVM_REG_ARM_TIMER_OFFSET or KVM_REG_ARM_TIMER_CNT to pause
 * and resume a guest's virtual counter-timer"). The offset is one for
 * the whole VM, so one vCPU's write sets every vCPU's counter.
 */
int kvm_cpu_arch_get_counter(struct kvm_cpu *cpu, u64 *cnt)
{
	return get_reg(cpu, KVM_REG_ARM_TIMER_CNT, cnt) < 0 ? -errno : 0;
}

int kvm_cpu_arch_set_counter(struct kvm_cpu *cpu, u64 cnt)
{
	return set_reg(cpu, KVM_REG_ARM_TIMER_CNT, cnt) < 0 ? -errno : 0;
}
