// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel virtual GIC (KVM_CREATE_DEVICE): GICv3 when the host can
 * emulate one, else GICv2. It is created before the vCPUs and finalised
 * (KVM_DEV_ARM_VGIC_CTRL_INIT) once they all exist.
 *
 * The GIC also decides the default virtio transport: PCI wherever the
 * guest gets a GICv3, whose ITS delivers MSI-X without a vCPU exit, and
 * MMIO on a GICv2, where every interrupt costs two exits either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/options.h"

static int create_device(int vm_fd, u32 type, bool test)
{
	struct kvm_create_device cd = {
		.type = type, .flags = test ? KVM_CREATE_DEVICE_TEST : 0,
	};

	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	return test ? 0 : (int)cd.fd;
}

static int choose_gic(struct kvm *kvm)
{
	bool has_v3 = !create_device(kvm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3, true);
	bool has_v2 = !create_device(kvm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2, true);

	switch (kvm->cfg.irqchip) {
	case IRQCHIP_GICV3:
		if (!has_v3) {
			pr_err("--irqchip gicv3: this host's KVM cannot emulate a GICv3");
			return -ENODEV;
		}
		return IRQCHIP_GICV3;
	case IRQCHIP_GICV2:
		if (!has_v2) {
			pr_err("--irqchip gicv2: this host's KVM cannot emulate a GICv2 (a GICv3 host without GICv2 compatibility)");
			return -ENODEV;
		}
		return IRQCHIP_GICV2;
	default:
		if (has_v3)
			return IRQCHIP_GICV3;
		if (has_v2)
			return IRQCHIP_GICV2;
		pr_err("this host's KVM offers no in-kernel GIC (neither GICv3 nor GICv2)");
		return -ENODEV;
	}
}

static int set_gic_addresses(struct kvm *kvm)
{
	u64 dist = LKVM_GIC_DIST_BASE, redist = LKVM_GIC_REDIST_BASE;
	u64 cpu = LKVM_GIC_CPU_BASE;
	int fd = kvm->gic_fd;

	if (kvm->irqchip == IRQCHIP_GICV3) {
		if (kvm_set_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
					KVM_VGIC_V3_ADDR_TYPE_DIST, &dist) ||
		    kvm_set_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
					KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist))
			return -errno;
	} else {
		if (kvm_set_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
					KVM_VGIC_V2_ADDR_TYPE_DIST, &dist) ||
		    kvm_set_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
					KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu))
			return -errno;
	}
	return 0;
}

/*
 * A GICv3 ITS turns the MSIs of PCI devices into LPIs. Only the PCI
 * transport needs one, and the MMIO-only device tree stays minimal
 * without it. Not having one is not fatal: PCI devices fall back to INTx.
 */
static void its_create(struct kvm *kvm)
{
	u64 base = LKVM_GIC_ITS_BASE;
	int fd;

	if (kvm->irqchip != IRQCHIP_GICV3 ||
	    kvm->cfg.transport != VIRTIO_TRANSPORT_PCI)
		return;
	fd = create_device(kvm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_ITS, false);
	if (fd < 0) {
		pr_debug("no GICv3 ITS (%s): PCI devices use INTx", strerror(-fd));
		return;
	}
	if (kvm_set_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				KVM_VGIC_ITS_ADDR_TYPE, &base)) {
		pr_warn("cannot place the GICv3 ITS: %s; PCI devices use INTx",
			strerror(errno));
		close(fd);
		return;
	}
	kvm->its_fd = fd;
	kvm->has_its = true;
}

/* After the vGIC's own initialisation. */
static void its_init(struct kvm *kvm)
{
	if (kvm->its_fd < 0)
		return;
	if (kvm_set_device_attr(kvm->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
				KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)) {
		pr_warn("cannot initialise the GICv3 ITS: %s; PCI devices use INTx",
			strerror(errno));
		close(kvm->its_fd);
		kvm->its_fd = -1;
		kvm->has_its = false;
	}
}

static int gic_init(struct kvm *kvm)
{
	u32 nr_irqs = LKVM_NR_IRQS;
	int type, max;

	type = choose_gic(kvm);
	if (type < 0)
		return type;
	kvm->irqchip = type;
	max = type == IRQCHIP_GICV3 ? LKVM_MAX_CPUS_GICV3 : LKVM_MAX_CPUS_GICV2;
	if (kvm->cfg.nr_cpus > max) {
		pr_err("-c %d: a %s supports at most %d vCPUs", kvm->cfg.nr_cpus,
		       type == IRQCHIP_GICV3 ? "GICv3" : "GICv2", max);
		return -EINVAL;
	}
	kvm->gic_fd = create_device(kvm->vm_fd, type == IRQCHIP_GICV3 ?
				    KVM_DEV_TYPE_ARM_VGIC_V3 :
				    KVM_DEV_TYPE_ARM_VGIC_V2, false);
	if (kvm->gic_fd < 0) {
		pr_err("cannot create the virtual GIC: %s", strerror(-kvm->gic_fd));
		return kvm->gic_fd;
	}
	if (set_gic_addresses(kvm) < 0 ||
	    kvm_set_device_attr(kvm->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0,
				&nr_irqs)) {
		pr_err("cannot configure the virtual GIC: %s", strerror(errno));
		return -errno;
	}
	kvm->next_spi = LKVM_IRQ_FIRST_DYNAMIC;
	its_create(kvm);
	pr_debug("irqchip: %s%s", type == IRQCHIP_GICV3 ? "GICv3" : "GICv2",
		 kvm->has_its ? " with an ITS" : "");
	return 0;
}

static void gic_exit(struct kvm *kvm)
{
	if (kvm->its_fd >= 0)
		close(kvm->its_fd);
	kvm->its_fd = -1;
	kvm->has_its = false;
	if (kvm->gic_fd >= 0)
		close(kvm->gic_fd);
	kvm->gic_fd = -1;
}
lkvm_init(INIT_IRQCHIP, gic_init, gic_exit);

/* All vCPUs exist now: the vGIC can size its redistributors and start. */
static int gic_init_late(struct kvm *kvm)
{
	if (kvm_set_device_attr(kvm->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
				KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)) {
		pr_err("cannot initialise the virtual GIC: %s", strerror(errno));
		return -errno;
	}
	its_init(kvm);
	return 0;
}
lkvm_init(INIT_IRQCHIP_LATE, gic_init_late, NULL);

/* Can this host's KVM give a guest a GICv3 with an ITS? Asks a scratch VM. */
static bool host_has_gicv3_its(void)
{
	int sys_fd, vm_fd;
	bool ok;

	sys_fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (sys_fd < 0)
		return false;	/* the real open says why, later */
	vm_fd = ioctl(sys_fd, KVM_CREATE_VM, 0);
	ok = vm_fd >= 0 &&
	     !create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3, true) &&
	     !create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_ITS, true);
	if (vm_fd >= 0)
		close(vm_fd);
	close(sys_fd);
	return ok;
}

void kvm_arch_choose_transport(struct kvm_config *cfg)
{
	bool v3;

	if (cfg->transport != VIRTIO_TRANSPORT_AUTO)
		return;
	/* ask the host only where its answer decides */
	v3 = run_default_transport(cfg, true) == VIRTIO_TRANSPORT_PCI &&
	     host_has_gicv3_its();
	cfg->transport = run_default_transport(cfg, v3);
	pr_debug("virtio transport: %s (default)",
		 cfg->transport == VIRTIO_TRANSPORT_PCI ? "pci" : "mmio");
}

int irq_alloc_spi(struct kvm *kvm)
{
	int spi = __atomic_fetch_add(&kvm->next_spi, 1, __ATOMIC_RELAXED);

	if (spi >= LKVM_NR_IRQS - LKVM_SPI_BASE) {
		pr_err("out of interrupt lines (%d SPIs)",
		       LKVM_NR_IRQS - LKVM_SPI_BASE);
		return -ENOSPC;
	}
	return spi;
}

int irq_set_level(struct kvm *kvm, u32 spi, int level)
{
	struct kvm_irq_level irq = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (spi + LKVM_SPI_BASE),
		.level = !!level,
	};

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
		pr_warn_ratelimited("KVM_IRQ_LINE %u: %s", spi, strerror(errno));
		return -errno;
	}
	return 0;
}
