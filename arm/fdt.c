// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's flattened device tree, written with libfdt's sequential-write
 * API: CPUs, memory, PSCI, timer, GIC, /chosen and every registered device.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/fdt.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"

/*
 * The GIC binding: a unit address of GIC_ADDR_CELLS (two, so that the ITS
 * can be a child node) and interrupt specifiers of GIC_IRQ_CELLS.
 */
#define GIC_ADDR_CELLS	2
#define GIC_IRQ_CELLS	3

static unsigned int gic_spi_cells(fdt32_t *cells, u32 spi, u32 type)
{
	cells[0] = cpu_to_fdt32(GIC_FDT_IRQ_TYPE_SPI);
	cells[1] = cpu_to_fdt32(spi);
	cells[2] = cpu_to_fdt32(type);
	return GIC_IRQ_CELLS;
}

/* How devices name their interrupts (struct kvm's irq_parent). */
const struct fdt_irq_parent gic_fdt_irq_parent = {
	.phandle = LKVM_PHANDLE_GIC,
	.addr_cells = GIC_ADDR_CELLS,
	.spi_cells = gic_spi_cells,
};
_Static_assert(1 + GIC_ADDR_CELLS + GIC_IRQ_CELLS <= FDT_IRQ_MAP_PARENT_MAX,
	       "FDT_IRQ_MAP_PARENT_MAX too small for the GIC");

static int fdt_cpus(void *fdt, struct kvm *kvm)
{
	char name[32];
	int i;

	FDT_CHECK(fdt_begin_node(fdt, "cpus"));
	FDT_CHECK(fdt_property_cell(fdt, "#address-cells", 2));
	FDT_CHECK(fdt_property_cell(fdt, "#size-cells", 0));
	for (i = 0; i < kvm->nr_cpus; i++) {
		/* Only the affinity fields belong in "reg". */
		u64 mpidr = kvm->cpu_mpidr[i] & 0xff00ffffffULL;

		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)mpidr);
		FDT_CHECK(fdt_begin_node(fdt, name));
		FDT_CHECK(fdt_property_string(fdt, "device_type", "cpu"));
		FDT_CHECK(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		FDT_CHECK(fdt_property_u64(fdt, "reg", mpidr));
		FDT_CHECK(fdt_property_string(fdt, "enable-method", "psci"));
		FDT_CHECK(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int fdt_memory(void *fdt, struct kvm *kvm)
{
	char name[32];

	snprintf(name, sizeof(name), "memory@%llx",
		 (unsigned long long)kvm->mem.gpa_start);
	FDT_CHECK(fdt_begin_node(fdt, name));
	FDT_CHECK(fdt_property_string(fdt, "device_type", "memory"));
	FDT_CHECK(fdt_property_reg64(fdt, kvm->mem.gpa_start, kvm->mem.size));
	return fdt_end_node(fdt);
}

static int fdt_psci(void *fdt, struct kvm *kvm)
{
	static const char psci1[] = "arm,psci-1.0\0arm,psci-0.2";
	static const char psci02[] = "arm,psci-0.2";

	FDT_CHECK(fdt_begin_node(fdt, "psci"));
	if ((kvm->psci_version >> 16) >= 1)
		FDT_CHECK(fdt_property(fdt, "compatible", psci1, sizeof(psci1)));
	else
		FDT_CHECK(fdt_property(fdt, "compatible", psci02, sizeof(psci02)));
	FDT_CHECK(fdt_property_string(fdt, "method", "hvc"));
	return fdt_end_node(fdt);
}

/* A PPI's specifier flags: GICv2 ones carry a mask of the CPUs it goes to. */
static u32 ppi_flags(struct kvm *kvm, u32 type)
{
	if (kvm->irqchip == IRQCHIP_GICV2)
		type |= ((1U << MIN(kvm->nr_cpus, 8)) - 1) << 8;
	return type;
}

static int fdt_timer(void *fdt, struct kvm *kvm)
{
	static const u32 ppis[] = {
		LKVM_TIMER_PPI_SEC, LKVM_TIMER_PPI_PHYS,
		LKVM_TIMER_PPI_VIRT, LKVM_TIMER_PPI_HYP,
	};
	fdt32_t irqs[ARRAY_SIZE(ppis) * 3];
	u32 flags = ppi_flags(kvm, IRQ_TYPE_LEVEL_LOW);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ppis); i++) {
		irqs[3 * i] = cpu_to_fdt32(GIC_FDT_IRQ_TYPE_PPI);
		irqs[3 * i + 1] = cpu_to_fdt32(ppis[i]);
		irqs[3 * i + 2] = cpu_to_fdt32(flags);
	}
	FDT_CHECK(fdt_begin_node(fdt, "timer"));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	FDT_CHECK(fdt_property(fdt, "interrupts", irqs, sizeof(irqs)));
	FDT_CHECK(fdt_property(fdt, "always-on", NULL, 0));
	return fdt_end_node(fdt);
}

/* --pmu: the guest's armv8_pmuv3 driver probes from this node. */
static int fdt_pmu(void *fdt, struct kvm *kvm)
{
	fdt32_t irq[3] = {
		cpu_to_fdt32(GIC_FDT_IRQ_TYPE_PPI), cpu_to_fdt32(LKVM_PMU_PPI),
		cpu_to_fdt32(ppi_flags(kvm, IRQ_TYPE_LEVEL_HIGH)),
	};

	if (!kvm->cfg.pmu)
		return 0;
	FDT_CHECK(fdt_begin_node(fdt, "pmu"));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "arm,armv8-pmuv3"));
	FDT_CHECK(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
	return fdt_end_node(fdt);
}

static int fdt_its(void *fdt)
{
	char name[32];

	snprintf(name, sizeof(name), "msi-controller@%llx", LKVM_GIC_ITS_BASE);
	FDT_CHECK(fdt_begin_node(fdt, name));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
	FDT_CHECK(fdt_property(fdt, "msi-controller", NULL, 0));
	FDT_CHECK(fdt_property_cell(fdt, "#msi-cells", 1));
	FDT_CHECK(fdt_property_reg64(fdt, LKVM_GIC_ITS_BASE, LKVM_GIC_ITS_SIZE));
	FDT_CHECK(fdt_property_cell(fdt, "phandle", LKVM_PHANDLE_ITS));
	return fdt_end_node(fdt);
}

static int fdt_gic(void *fdt, struct kvm *kvm)
{
	bool v3 = kvm->irqchip == IRQCHIP_GICV3;
	fdt64_t reg[4];
	char name[32];

	reg[0] = cpu_to_fdt64(LKVM_GIC_DIST_BASE);
	if (v3) {
		reg[1] = cpu_to_fdt64(LKVM_GIC_DIST_SIZE);
		reg[2] = cpu_to_fdt64(LKVM_GIC_REDIST_BASE);
		reg[3] = cpu_to_fdt64((u64)kvm->nr_cpus * LKVM_GIC_REDIST_STRIDE);
	} else {
		reg[1] = cpu_to_fdt64(0x1000);	/* KVM_VGIC_V2_DIST_SIZE */
		reg[2] = cpu_to_fdt64(LKVM_GIC_CPU_BASE);
		reg[3] = cpu_to_fdt64(0x2000);	/* KVM_VGIC_V2_CPU_SIZE */
	}
	snprintf(name, sizeof(name), "intc@%llx", LKVM_GIC_DIST_BASE);
	FDT_CHECK(fdt_begin_node(fdt, name));
	FDT_CHECK(fdt_property_string(fdt, "compatible",
				      v3 ? "arm,gic-v3" : "arm,cortex-a15-gic"));
	FDT_CHECK(fdt_property_cell(fdt, "#interrupt-cells", GIC_IRQ_CELLS));
	FDT_CHECK(fdt_property(fdt, "interrupt-controller", NULL, 0));
	FDT_CHECK(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDT_CHECK(fdt_property_cell(fdt, "phandle", LKVM_PHANDLE_GIC));
	/*
	 * An interrupt provider needs #address-cells: interrupt-map entries
	 * (the PCI host bridge's) give a parent unit address of this many
	 * cells (fdt_irq_map_parent()).
	 */
	FDT_CHECK(fdt_property_cell(fdt, "#address-cells", GIC_ADDR_CELLS));
	FDT_CHECK(fdt_property_cell(fdt, "#size-cells", 2));
	FDT_CHECK(fdt_property(fdt, "ranges", NULL, 0));
	if (v3 && kvm->has_its)
		FDT_CHECK(fdt_its(fdt));
	return fdt_end_node(fdt);
}

/* The fixed clock AMBA (PrimeCell) devices such as the PL031 need. */
static int fdt_apb_clock(void *fdt)
{
	FDT_CHECK(fdt_begin_node(fdt, "apb-pclk"));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "fixed-clock"));
	FDT_CHECK(fdt_property_cell(fdt, "#clock-cells", 0));
	FDT_CHECK(fdt_property_cell(fdt, "clock-frequency", 24000000));
	FDT_CHECK(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	FDT_CHECK(fdt_property_cell(fdt, "phandle", LKVM_PHANDLE_APB_PCLK));
	return fdt_end_node(fdt);
}

static int fdt_chosen(void *fdt, struct kvm *kvm)
{
	u8 seed[64];

	FDT_CHECK(fdt_begin_node(fdt, "chosen"));
	FDT_CHECK(fdt_property_string(fdt, "bootargs",
				      kvm->cmdline ? kvm->cmdline : ""));
	/* set by the console device that owns the terminal, if any */
	if (kvm->stdout_path)
		FDT_CHECK(fdt_property_string(fdt, "stdout-path",
					      kvm->stdout_path));
	if (kvm->initrd_size) {
		FDT_CHECK(fdt_property_u64(fdt, "linux,initrd-start",
					   kvm->initrd_gpa));
		FDT_CHECK(fdt_property_u64(fdt, "linux,initrd-end",
					   kvm->initrd_gpa + kvm->initrd_size));
	}
	/* Early entropy spares the guest a slow wait for the CRNG. */
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		FDT_CHECK(fdt_property(fdt, "rng-seed", seed, sizeof(seed)));
	/*
	 * Only the user's (kvmtool's --kaslr-seed; QEMU gives a random one):
	 * an arm64 kernel with a seed randomizes its addresses, and on a CPU
	 * without E0PD (before Armv8.5, e.g. Neoverse N1) that forces KPTI
	 * on, which makes every guest exception and system call switch page
	 * tables.
	 */
	if (kvm->cfg.kaslr_seed)
		FDT_CHECK(fdt_property_u64(fdt, "kaslr-seed",
					   kvm->cfg.kaslr_seed));
	return fdt_end_node(fdt);
}

static int fdt_root(void *fdt, struct kvm *kvm)
{
	FDT_CHECK(fdt_begin_node(fdt, ""));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	FDT_CHECK(fdt_property_string(fdt, "model", "lkvm"));
	FDT_CHECK(fdt_property_cell(fdt, "#address-cells", 2));
	FDT_CHECK(fdt_property_cell(fdt, "#size-cells", 2));
	FDT_CHECK(fdt_property_cell(fdt, "interrupt-parent", LKVM_PHANDLE_GIC));
	FDT_CHECK(fdt_memory(fdt, kvm));
	FDT_CHECK(fdt_cpus(fdt, kvm));
	FDT_CHECK(fdt_psci(fdt, kvm));
	FDT_CHECK(fdt_timer(fdt, kvm));
	FDT_CHECK(fdt_pmu(fdt, kvm));
	FDT_CHECK(fdt_gic(fdt, kvm));
	FDT_CHECK(fdt_apb_clock(fdt));
	FDT_CHECK(devices_generate_fdt(kvm, fdt));
	/* last: the devices have named the console (stdout-path) */
	FDT_CHECK(fdt_chosen(fdt, kvm));
	return fdt_end_node(fdt);
}

int fdt_build(struct kvm *kvm, void *buf, size_t size)
{
	int ret;

	kvm->irq_parent = &gic_fdt_irq_parent;
	kvm->stdout_path = NULL;
	ret = fdt_create(buf, (int)size);
	if (!ret)
		ret = fdt_finish_reservemap(buf);
	if (!ret)
		ret = fdt_root(buf, kvm);
	if (!ret)
		ret = fdt_finish(buf);
	if (ret < 0) {
		pr_err("building the device tree failed: %s", fdt_strerror(ret));
		return -EINVAL;
	}
	return 0;
}
