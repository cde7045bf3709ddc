// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPU features beyond the base vCPU: SVE, pointer
 * authentication, MTE, stolen time (pvtime), a PMUv3, and the host CPUs
 * the vCPU threads run on. What the guest gets is decided once per VM
 * (feat_decide()) from the options and the host's KVM capabilities:
 * SVE, pointer auth, MTE and pvtime are on by default and quietly off
 * where KVM lacks them or for an AArch32 guest; --pmu and --sve-max-vl
 * are asked for, so a host that cannot give them is named in one line.
 *
 * KVM's ordering rules set where each step runs:
 *   MTE     KVM_ENABLE_CAP on the VM before any vCPU exists, and only
 *           with RAM KVM can tag (anonymous or shmem; not hugetlbfs on
 *           the kernels of today): INIT_CORE, after the VM is made.
 *   pvtime  a memory slot for the records before each vCPU's
 *           KVM_ARM_VCPU_PVTIME_IPA: the slot at INIT_CORE, the address
 *           after KVM_ARM_VCPU_INIT.
 *   SVE     KVM_ARM_VCPU_INIT with the feature, then the vector lengths
 *           (KVM_REG_ARM64_SVE_VLS), then KVM_ARM_VCPU_FINALIZE.
 *   PMU     KVM_ARM_VCPU_PMU_V3_IRQ once the vGIC exists (it does at
 *           INIT_CPU), KVM_ARM_VCPU_PMU_V3_INIT only once it is
 *           initialised: INIT_IRQCHIP_LATE, after arm/gic.c's item
 *           (link order, see the Makefile).
 * arm64/kvm-cpu.c asks for the feature bits and calls
 * cpu_features_vcpu_init() after the first KVM_ARM_VCPU_INIT. A guest
 * reset initialises the vCPUs again with the same bits; the finalised
 * vector lengths, the PMU and the pvtime addresses stay in KVM.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lkvm/cpu-features.h"
#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/options.h"

/* guest RAM is slot 0 (kvm/kvm.c) */
#define PVTIME_SLOT		1

_Static_assert(LKVM_MAX_CPUS_OPT * LKVM_PVTIME_STRIDE <= LKVM_PVTIME_SIZE,
	       "a stolen-time record for every vCPU");

struct cpu_features {
	bool sve, ptrauth, mte, pvtime, pmu;
	void *pvtime_mem;
};

static bool has_ptrauth(struct kvm *kvm)
{
	return kvm_check_cap(kvm, KVM_CAP_ARM_PTRAUTH_ADDRESS) &&
	       kvm_check_cap(kvm, KVM_CAP_ARM_PTRAUTH_GENERIC);
}

/* The defaults: what KVM has, less what the options turn off. */
static void feat_decide(struct kvm *kvm, struct cpu_features *f)
{
	const struct kvm_config *cfg = &kvm->cfg;
	bool a64 = !cfg->aarch32;

	f->sve = a64 && !cfg->no_sve && kvm_check_cap(kvm, KVM_CAP_ARM_SVE);
	f->ptrauth = a64 && !cfg->no_ptrauth && has_ptrauth(kvm);
	/* KVM cannot tag hugetlbfs pages (it fails the guest's faults) */
	f->mte = a64 && !cfg->no_mte && !cfg->hugetlbfs &&
		 kvm_check_cap(kvm, KVM_CAP_ARM_MTE);
	f->pvtime = a64 && !cfg->no_pvtime &&
		    kvm_check_cap(kvm, KVM_CAP_STEAL_TIME);
	f->pmu = cfg->pmu;
}

/* What was asked for explicitly and this host cannot give. */
static int feat_check(struct kvm *kvm, const struct cpu_features *f)
{
	const struct kvm_config *cfg = &kvm->cfg;

	if (cfg->sve_max_vl && cfg->aarch32) {
		pr_err("--sve-max-vl: SVE is for 64-bit guests, not with --aarch32");
		return -EINVAL;
	}
	if (cfg->sve_max_vl && !f->sve) {
		pr_err("--sve-max-vl %u: this host's KVM has no SVE (KVM_CAP_ARM_SVE; SVE hosts: Neoverse V1/V2, QEMU -cpu max)",
		       cfg->sve_max_vl);
		return -ENODEV;
	}
	if (f->pmu && !kvm_check_cap(kvm, KVM_CAP_ARM_PMU_V3)) {
		pr_err("--pmu: this host's KVM has no PMUv3 to give (KVM_CAP_ARM_PMU_V3): its kernel found no PMU on the host CPU");
		return -ENODEV;
	}
	return 0;
}

/* --vcpu-affinity: every CPU named must be one lkvm may run on. */
static int affinity_check(struct kvm *kvm)
{
	const cpu_set_t *want = &kvm->cfg.vcpu_affinity;
	char bad[128], ok[128];
	cpu_set_t allowed, missing;

	if (!CPU_COUNT(want))
		return 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		pr_err("--vcpu-affinity: cannot read lkvm's CPUs: %s",
		       strerror(errno));
		return -errno;
	}
	CPU_XOR(&missing, want, &allowed);
	CPU_AND(&missing, &missing, want);
	if (!CPU_COUNT(&missing))
		return 0;
	cpulist_format(&missing, bad, sizeof(bad));
	cpulist_format(&allowed, ok, sizeof(ok));
	pr_err("--vcpu-affinity: no host CPU %s for lkvm (it may use %s)",
	       bad, ok);
	return -EINVAL;
}

static void mte_enable(struct kvm *kvm, struct cpu_features *f)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

	if (!f->mte || !ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &cap))
		return;
	pr_warn("cannot enable MTE for the guest: %s; it runs without",
		strerror(errno));
	f->mte = false;
}

/* The stolen-time records: their own memory slot, outside guest RAM. */
static int pvtime_map(struct kvm *kvm, struct cpu_features *f)
{
	struct kvm_userspace_memory_region region = {
		.slot = PVTIME_SLOT,
		.guest_phys_addr = LKVM_PVTIME_BASE,
		.memory_size = LKVM_PVTIME_SIZE,
	};
	void *mem;

	if (!f->pvtime)
		return 0;
	mem = mmap(NULL, LKVM_PVTIME_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		pr_err("cannot allocate the stolen-time records: %s",
		       strerror(errno));
		return -ENOMEM;
	}
	f->pvtime_mem = mem;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		pr_err("cannot map the stolen-time records at 0x%llx: %s",
		       LKVM_PVTIME_BASE, strerror(errno));
		return -errno;
	}
	return 0;
}

static void feat_report(const struct cpu_features *f)
{
	pr_debug("vCPU features:%s%s%s%s%s", f->sve ? " sve" : "",
		 f->ptrauth ? " ptrauth" : "", f->mte ? " mte" : "",
		 f->pvtime ? " pvtime" : "", f->pmu ? " pmu" : "");
}

static int cpu_features_vm_init(struct kvm *kvm)
{
	struct cpu_features *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	kvm->feat = f;
	feat_decide(kvm, f);
	ret = feat_check(kvm, f);
	if (!ret)
		ret = affinity_check(kvm);
	if (ret)
		return ret;
	mte_enable(kvm, f);
	ret = pvtime_map(kvm, f);
	if (!ret)
		feat_report(f);
	return ret;
}

static void cpu_features_vm_exit(struct kvm *kvm)
{
	struct cpu_features *f = kvm->feat;

	if (!f)
		return;
	/* the slot goes with the VM's fd, closed by kvm/kvm.c's exit */
	if (f->pvtime_mem)
		munmap(f->pvtime_mem, LKVM_PVTIME_SIZE);
	free(f);
	kvm->feat = NULL;
}
lkvm_init(INIT_CORE, cpu_features_vm_init, cpu_features_vm_exit);

u32 cpu_features_init_bits(struct kvm_cpu *cpu)
{
	const struct cpu_features *f = cpu->kvm->feat;
	u32 bits = 0;

	if (f->sve)
		bits |= 1U << KVM_ARM_VCPU_SVE;
	if (f->ptrauth)
		bits |= 1U << KVM_ARM_VCPU_PTRAUTH_ADDRESS |
			1U << KVM_ARM_VCPU_PTRAUTH_GENERIC;
	if (f->pmu)
		bits |= 1U << KVM_ARM_VCPU_PMU_V3;
	return bits;
}

/* --sve-max-vl: the host's lengths up to it, before finalising. */
static int sve_set_lengths(struct kvm_cpu *cpu)
{
	u64 vls[SVE_VLS_WORDS];
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64_SVE_VLS, .addr = (uintptr_t)vls,
	};
	char err[256];

	if (ioctl(cpu->fd, KVM_GET_ONE_REG, &reg) < 0) {
		pr_err("cannot read the host's SVE vector lengths: %s",
		       strerror(errno));
		return -errno;
	}
	if (sve_vls_limit(vls, cpu->kvm->cfg.sve_max_vl, err, sizeof(err))) {
		pr_err("%s", err);
		return -EINVAL;
	}
	if (ioctl(cpu->fd, KVM_SET_ONE_REG, &reg) < 0) {
		pr_err("cannot set the SVE vector lengths: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int sve_finalize(struct kvm_cpu *cpu)
{
	int feature = KVM_ARM_VCPU_SVE;

	if (cpu->kvm->cfg.sve_max_vl && sve_set_lengths(cpu))
		return -EINVAL;
	if (ioctl(cpu->fd, KVM_ARM_VCPU_FINALIZE, &feature) < 0) {
		pr_err("cannot finalise SVE for vCPU %d: %s", cpu->id,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/* A vCPU attribute; @what, in the one-line error, says what it was for. */
static int vcpu_attr(struct kvm_cpu *cpu, u32 group, u64 attr, void *val,
		     const char *what)
{
	if (!kvm_set_device_attr(cpu->fd, group, attr, val))
		return 0;
	pr_err("cannot %s for vCPU %d: %s", what, cpu->id, strerror(errno));
	return -errno;
}

static int pmu_set_irq(struct kvm_cpu *cpu)
{
	int irq = 16 + LKVM_PMU_PPI;	/* PPIs are INTIDs 16-31 */

	return vcpu_attr(cpu, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_IRQ,
			 &irq, "set the PMU interrupt (--pmu)");
}

static int pvtime_set(struct kvm_cpu *cpu)
{
	u64 ipa = LKVM_PVTIME_BASE + (u64)cpu->id * LKVM_PVTIME_STRIDE;

	return vcpu_attr(cpu, KVM_ARM_VCPU_PVTIME_CTRL, KVM_ARM_VCPU_PVTIME_IPA,
			 &ipa, "place the stolen-time record");
}

int cpu_features_vcpu_init(struct kvm_cpu *cpu)
{
	const struct cpu_features *f = cpu->kvm->feat;

	if (f->sve && sve_finalize(cpu))
		return -EINVAL;
	if (f->pmu && pmu_set_irq(cpu))
		return -EINVAL;
	if (f->pvtime && pvtime_set(cpu))
		return -EINVAL;
	return 0;
}

/* Every vCPU's PMU, now that the vGIC is initialised. */
static int pmu_init_late(struct kvm *kvm)
{
	int i, ret;

	if (!kvm->feat->pmu)
		return 0;
	for (i = 0; i < kvm->nr_cpus; i++) {
		ret = vcpu_attr(kvm->cpus[i], KVM_ARM_VCPU_PMU_V3_CTRL,
				KVM_ARM_VCPU_PMU_V3_INIT, NULL,
				"initialise the PMU (--pmu)");
		if (ret)
			return ret;
	}
	return 0;
}
lkvm_init(INIT_IRQCHIP_LATE, pmu_init_late, NULL);
