// SPDX-License-Identifier: GPL-2.0
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/fdt.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"

static u64 mpidrs[4] = { 0x80000000, 0x80000001, 0x80000002, 0x80000103 };

/* A console device: it names itself the guest's stdout-path. */
static int fake_dev_fdt(struct device_header *dev, void *fdt, struct kvm *kvm)
{
	int ret = fdt_begin_node(fdt, "fake@1234");

	if (!ret)
		ret = fdt_property_reg64(fdt, 0x1234, 0x100);
	if (!ret)
		ret = fdt_property_spi(fdt, kvm->irq_parent, 7,
				       IRQ_TYPE_LEVEL_HIGH);
	if (!ret)
		ret = fdt_end_node(fdt);
	kvm->stdout_path = "/fake@1234";
	return ret;
}

static const struct device_ops fake_dev_ops = {
	.generate_fdt = fake_dev_fdt,
};

static struct device_header fake_dev = {
	.name = "fake", .ops = &fake_dev_ops,
};

static void make_kvm(struct kvm *kvm, enum irqchip_type gic, int cpus)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->nr_cpus = cpus;
	kvm->cpu_mpidr = mpidrs;
	kvm->mem.gpa_start = LKVM_RAM_BASE;
	kvm->mem.size = 256 * SZ_1M;
	kvm->irqchip = gic;
	kvm->psci_version = 0x10001;
	kvm->cmdline = "console=ttyS0 quiet";
	kvm->initrd_gpa = 0x88000000;
	kvm->initrd_size = 0x123000;
	device_list_init(&kvm->devices);
	device_register(kvm, &fake_dev);
}

static const void *prop(const void *fdt, const char *path, const char *name,
			int *len)
{
	int node = fdt_path_offset(fdt, path);

	assert_true(node >= 0);
	return fdt_getprop(fdt, node, name, len);
}

static u64 be64_at(const void *p, int idx)
{
	fdt64_t v;

	memcpy(&v, (const u8 *)p + 8 * idx, sizeof(v));	/* may be unaligned */
	return fdt64_to_cpu(v);
}

static u32 be32_at(const void *p, int idx)
{
	fdt32_t v;

	memcpy(&v, (const u8 *)p + 4 * idx, sizeof(v));
	return fdt32_to_cpu(v);
}

static void test_gicv3_tree(void **state)
{
	static u8 buf[LKVM_FDT_MAX_SIZE];
	struct kvm kvm;
	const void *p;
	int len;

	make_kvm(&kvm, IRQCHIP_GICV3, 4);
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	assert_int_equal(fdt_check_header(buf), 0);

	p = prop(buf, "/chosen", "bootargs", &len);
	assert_string_equal(p, "console=ttyS0 quiet");
	p = prop(buf, "/chosen", "linux,initrd-start", &len);
	assert_int_equal(len, 8);
	assert_int_equal(be64_at(p, 0), 0x88000000);
	p = prop(buf, "/chosen", "linux,initrd-end", &len);
	assert_int_equal(be64_at(p, 0), 0x88123000);
	/* named by the console device, which /chosen follows */
	p = prop(buf, "/chosen", "stdout-path", &len);
	assert_string_equal(p, "/fake@1234");
	/* entropy always; a KASLR seed only with --kaslr */
	p = prop(buf, "/chosen", "rng-seed", &len);
	assert_int_equal(len, 64);
	assert_null(prop(buf, "/chosen", "kaslr-seed", &len));

	p = prop(buf, "/memory@80000000", "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(be64_at(p, 0), LKVM_RAM_BASE);
	assert_int_equal(be64_at(p, 1), 256 * SZ_1M);

	/* Each CPU's reg is its MPIDR affinity, enable-method psci. */
	p = prop(buf, "/cpus/cpu@103", "reg", &len);
	assert_int_equal(len, 8);
	assert_int_equal(be64_at(p, 0), 0x103);
	p = prop(buf, "/cpus/cpu@0", "enable-method", &len);
	assert_string_equal(p, "psci");
	assert_true(fdt_path_offset(buf, "/cpus/cpu@2") >= 0);

	p = prop(buf, "/psci", "compatible", &len);
	assert_string_equal(p, "arm,psci-1.0");
	p = prop(buf, "/psci", "method", &len);
	assert_string_equal(p, "hvc");

	p = prop(buf, "/intc@28000000", "compatible", &len);
	assert_string_equal(p, "arm,gic-v3");
	p = prop(buf, "/intc@28000000", "reg", &len);
	assert_int_equal(len, 32);
	assert_int_equal(be64_at(p, 2), LKVM_GIC_REDIST_BASE);
	assert_int_equal(be64_at(p, 3), 4 * LKVM_GIC_REDIST_STRIDE);

	/* GICv3 timer PPIs carry no CPU mask. */
	p = prop(buf, "/timer", "interrupts", &len);
	assert_int_equal(len, 4 * 3 * 4);
	assert_int_equal(be32_at(p, 0), GIC_FDT_IRQ_TYPE_PPI);
	assert_int_equal(be32_at(p, 1), 13);
	assert_int_equal(be32_at(p, 2), IRQ_TYPE_LEVEL_LOW);
	assert_int_equal(be32_at(p, 7), 11);

	/* The registered device got its node. */
	p = prop(buf, "/fake@1234", "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(be32_at(p, 1), 7);

	p = prop(buf, "/", "interrupt-parent", &len);
	assert_int_equal(be32_at(p, 0), LKVM_PHANDLE_GIC);
	assert_int_equal(fdt_node_offset_by_phandle(buf, LKVM_PHANDLE_GIC),
			 fdt_path_offset(buf, "/intc@28000000"));
}

/* --kaslr-seed: the user's number, as a 64-bit cell pair. */
static void test_kaslr_seed(void **state)
{
	static u8 buf[LKVM_FDT_MAX_SIZE];
	struct kvm kvm;
	const void *p;
	int len;

	make_kvm(&kvm, IRQCHIP_GICV3, 1);
	kvm.cfg.kaslr_seed = 0x0123456789abcdefULL;
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	p = prop(buf, "/chosen", "kaslr-seed", &len);
	assert_int_equal(len, 8);
	assert_true(be64_at(p, 0) == 0x0123456789abcdefULL);
}

static void test_gicv2_tree(void **state)
{
	static u8 buf[LKVM_FDT_MAX_SIZE];
	struct kvm kvm;
	const void *p;
	int len;

	make_kvm(&kvm, IRQCHIP_GICV2, 2);
	kvm.initrd_size = 0;
	kvm.psci_version = 2;
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	p = prop(buf, "/intc@28000000", "compatible", &len);
	assert_string_equal(p, "arm,cortex-a15-gic");
	p = prop(buf, "/intc@28000000", "reg", &len);
	assert_int_equal(be64_at(p, 2), LKVM_GIC_CPU_BASE);
	p = prop(buf, "/timer", "interrupts", &len);
	assert_int_equal(be32_at(p, 2), IRQ_TYPE_LEVEL_LOW | (0x3 << 8));
	p = prop(buf, "/psci", "compatible", &len);
	assert_string_equal(p, "arm,psci-0.2");
	assert_null(prop(buf, "/chosen", "linux,initrd-start", &len));
	assert_true(fdt_path_offset(buf, "/cpus/cpu@1") >= 0);
	assert_true(fdt_path_offset(buf, "/cpus/cpu@2") < 0);
}

/*
 * An interrupt-map entry's parent half must have the shape the GIC node
 * declares: phandle, #address-cells of unit address, #interrupt-cells.
 */
static void test_irq_map_parent_matches_gic(void **state)
{
	static u8 buf[LKVM_FDT_MAX_SIZE];
	fdt32_t cells[FDT_IRQ_MAP_PARENT_MAX];
	const char *gic = "/intc@28000000";
	u32 addr_cells, irq_cells;
	unsigned int n, i;
	struct kvm kvm;

	make_kvm(&kvm, IRQCHIP_GICV2, 2);
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	addr_cells = be32_at(prop(buf, gic, "#address-cells", NULL), 0);
	irq_cells = be32_at(prop(buf, gic, "#interrupt-cells", NULL), 0);

	/* what the GIC gave the devices while the tree was written */
	n = fdt_irq_map_parent(kvm.irq_parent, cells, 42, IRQ_TYPE_LEVEL_HIGH);
	assert_int_equal(n, 1 + addr_cells + irq_cells);
	assert_int_equal(fdt32_to_cpu(cells[0]), LKVM_PHANDLE_GIC);
	for (i = 1; i <= addr_cells; i++)
		assert_int_equal(fdt32_to_cpu(cells[i]), 0);
	assert_int_equal(fdt32_to_cpu(cells[i]), GIC_FDT_IRQ_TYPE_SPI);
	assert_int_equal(fdt32_to_cpu(cells[i + 1]), 42);
	assert_int_equal(fdt32_to_cpu(cells[i + 2]), IRQ_TYPE_LEVEL_HIGH);
}

/* No console device: no stdout-path, and nothing stale from a device gone. */
static void test_no_console_no_stdout_path(void **state)
{
	static u8 buf[LKVM_FDT_MAX_SIZE];
	struct kvm kvm;

	make_kvm(&kvm, IRQCHIP_GICV3, 1);
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	assert_non_null(prop(buf, "/chosen", "stdout-path", NULL));
	device_unregister(&kvm, &fake_dev);
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	assert_null(prop(buf, "/chosen", "stdout-path", NULL));
	assert_true(fdt_path_offset(buf, "/fake@1234") < 0);
}

/* --pmu: a PMUv3 node on PPI 7, level-high, GICv2's CPU mask. */
static void test_pmu_node(void **state)
{
	static u8 buf[LKVM_FDT_MAX_SIZE];
	struct kvm kvm;
	const void *p;
	int len;

	make_kvm(&kvm, IRQCHIP_GICV3, 4);
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	assert_true(fdt_path_offset(buf, "/pmu") < 0);

	kvm.cfg.pmu = true;
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	p = prop(buf, "/pmu", "compatible", &len);
	assert_string_equal(p, "arm,armv8-pmuv3");
	p = prop(buf, "/pmu", "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(be32_at(p, 0), GIC_FDT_IRQ_TYPE_PPI);
	assert_int_equal(be32_at(p, 1), LKVM_PMU_PPI);
	assert_int_equal(be32_at(p, 2), IRQ_TYPE_LEVEL_HIGH);

	make_kvm(&kvm, IRQCHIP_GICV2, 3);
	kvm.cfg.pmu = true;
	assert_int_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
	p = prop(buf, "/pmu", "interrupts", &len);
	assert_int_equal(be32_at(p, 2), IRQ_TYPE_LEVEL_HIGH | (0x7 << 8));
}

static void test_too_small_buffer(void **state)
{
	static u8 buf[256];
	struct kvm kvm;

	make_kvm(&kvm, IRQCHIP_GICV3, 4);
	assert_int_not_equal(fdt_build(&kvm, buf, sizeof(buf)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gicv3_tree),
		cmocka_unit_test(test_gicv2_tree),
		cmocka_unit_test(test_kaslr_seed),
		cmocka_unit_test(test_irq_map_parent_matches_gic),
		cmocka_unit_test(test_no_console_no_stdout_path),
		cmocka_unit_test(test_pmu_node),
		cmocka_unit_test(test_too_small_buffer),
	};

	return cmocka_run_group_tests_name("fdt", tests, NULL, NULL);
}
