// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry (kvm/devices.c) and the virtio device layer on it
 * (virtio/device.c): the walks' order, two VMs' worth of devices side by
 * side in one process (nothing is shared through file statics), and the
 * guest reset through the registry on both virtio transports.
 */
#include <libfdt.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/devices.h"
#include "lkvm/fdt.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/pci.h"
#include "lkvm/virtio.h"
#include "stubs.h"

/* ---- the walks, on plain devices that log what is called ---- */

static char calls[256];

static void log_call(const struct device_header *dev, char what)
{
	size_t n = strlen(calls);

	snprintf(calls + n, sizeof(calls) - n, "%c%s ", what, dev->name);
}

static void plain_reset(struct device_header *dev) { log_call(dev, 'r'); }
static void plain_pause(struct device_header *dev) { log_call(dev, 'p'); }
static void plain_resume(struct device_header *dev) { log_call(dev, 'u'); }

static void plain_exit(struct device_header *dev, struct kvm *kvm)
{
	log_call(dev, 'x');
}

static void plain_stats(struct device_header *dev, device_stat_fn emit,
			void *ctx)
{
	emit(ctx, dev, "widgets", dev->name[0]);
}

static const struct device_ops plain_ops = {
	.reset = plain_reset, .pause = plain_pause, .resume = plain_resume,
	.stats = plain_stats, .exit = plain_exit,
};

static void sum_stat(void *ctx, const struct device_header *dev,
		     const char *counter, u64 value)
{
	assert_string_equal(counter, "widgets");
	*(u64 *)ctx += value;
}

static void test_walk_order(void **state)
{
	struct device_header d[3] = {
		{ .name = "a", .ops = &plain_ops },
		{ .name = "b", .ops = &plain_ops, .bus = DEVICE_BUS_PCI },
		{ .name = "c", .ops = &plain_ops },
	};
	struct kvm kvm = { 0 };
	u64 sum = 0;
	int i;

	device_list_init(&kvm.devices);
	for (i = 0; i < 3; i++)
		device_register(&kvm, &d[i]);
	assert_int_equal(device_count(&kvm, DEVICE_BUS_PLATFORM), 2);
	assert_int_equal(device_count(&kvm, DEVICE_BUS_PCI), 1);

	calls[0] = 0;
	devices_reset(&kvm);
	devices_pause(&kvm);
	devices_resume(&kvm);
	/* quiesce newest first (a function before its bus), resume oldest first */
	assert_string_equal(calls, "rc rb ra pc pb pa ua ub uc ");
	devices_stats(&kvm, sum_stat, &sum);
	assert_int_equal(sum, 'a' + 'b' + 'c');

	/* one leaves on its own: the walks and the counts forget it */
	device_unregister(&kvm, &d[1]);
	device_unregister(&kvm, &d[1]);		/* twice is harmless */
	assert_int_equal(device_count(&kvm, DEVICE_BUS_PCI), 0);
	calls[0] = 0;
	devices_exit(&kvm);
	assert_string_equal(calls, "xc xa ");
	assert_null(kvm.devices.head);
	assert_null(kvm.devices.tail);
}

/* ---- virtio devices on a VM ---- */

#define FAKE_FEATURE	(1ULL << 3)

struct fake {
	struct virtio_device vdev;
	int *exits;		/* counts exit hooks, outliving the device */
};

static void fake_exit(struct virtio_device *vdev)
{
	struct fake *f = vdev->priv;

	virtio_unregister(vdev);
	(*f->exits)++;
	free(f);
}

static const struct virtio_device_ops fake_ops = {
	.name = "fake",
	.device_id = 4,
	.features = FAKE_FEATURE,
	.nr_queues = 1,
	.queue_size = 16,
	.exit = fake_exit,
};

struct vm {
	struct kvm kvm;
	int exits;
};

static void vm_init(struct vm *vm, enum virtio_transport transport)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm.cfg.transport = transport;
	vm->kvm.mem = (struct guest_mem) { .gpa_start = LKVM_RAM_BASE };
	vm->kvm.irq_parent = &gic_fdt_irq_parent;
	mmio_bus_init(&vm->kvm.mmio);
	device_list_init(&vm->kvm.devices);
}

static struct fake *vm_add(struct vm *vm)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->exits = &vm->exits;
	virtio_device_init(&f->vdev, &fake_ops, &vm->kvm, &vm->kvm.mem, f);
	assert_int_equal(virtio_register(&vm->kvm, &f->vdev), 0);
	return f;
}

static void vm_exit(struct vm *vm, int devices)
{
	devices_exit(&vm->kvm);
	assert_int_equal(vm->exits, devices);
	assert_null(vm->kvm.devices.head);
	assert_null(vm->kvm.pci);
	mmio_bus_exit(&vm->kvm.mmio);
}

static u32 mmio_rd(struct vm *vm, u64 addr)
{
	u32 v = 0xdeadbeef;

	assert_true(mmio_dispatch(&vm->kvm.mmio, addr, (u8 *)&v, 4, false));
	return v;
}

static void mmio_wr(struct vm *vm, u64 addr, u32 v)
{
	assert_true(mmio_dispatch(&vm->kvm.mmio, addr, (u8 *)&v, 4, true));
}

static u32 ecam_rd(struct vm *vm, unsigned int slot, u32 reg, u32 len)
{
	u32 v = 0;

	assert_true(mmio_dispatch(&vm->kvm.mmio, LKVM_PCI_CFG_BASE +
				  (slot << 15) + reg, (u8 *)&v, len, false));
	return v;
}

static void ecam_wr(struct vm *vm, unsigned int slot, u32 reg, u32 len, u32 v)
{
	assert_true(mmio_dispatch(&vm->kvm.mmio, LKVM_PCI_CFG_BASE +
				  (slot << 15) + reg, (u8 *)&v, len, true));
}

/* The device tree of a VM's devices only. */
static void *vm_fdt(struct vm *vm)
{
	void *fdt = malloc(LKVM_FDT_MAX_SIZE);

	assert_non_null(fdt);
	assert_int_equal(fdt_create(fdt, LKVM_FDT_MAX_SIZE), 0);
	assert_int_equal(fdt_finish_reservemap(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, ""), 0);
	assert_int_equal(devices_generate_fdt(&vm->kvm, fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_finish(fdt), 0);
	return fdt;
}

#define SLOT(n)	(LKVM_VIRTIO_MMIO_BASE + (n) * LKVM_VIRTIO_MMIO_SLOT)

static void test_two_vms_mmio(void **state)
{
	struct vm a, b;
	void *fa, *fb;
	char node[64];

	vm_init(&a, VIRTIO_TRANSPORT_MMIO);
	vm_init(&b, VIRTIO_TRANSPORT_MMIO);
	vm_add(&a);
	vm_add(&a);
	vm_add(&b);
	/* each VM numbers its own slots from 0 */
	assert_int_equal(mmio_rd(&a, SLOT(0) + VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_rd(&a, SLOT(1) + VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_rd(&b, SLOT(0) + VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_false(mmio_dispatch(&b.kvm.mmio, SLOT(1), (u8 *)node, 4, false));
	assert_int_equal(device_count(&a.kvm, DEVICE_BUS_VIRTIO_MMIO), 2);
	assert_int_equal(device_count(&b.kvm, DEVICE_BUS_VIRTIO_MMIO), 1);

	/* each tree holds its own nodes */
	fa = vm_fdt(&a);
	fb = vm_fdt(&b);
	snprintf(node, sizeof(node), "/virtio_mmio@%llx", SLOT(1));
	assert_true(fdt_path_offset(fa, node) >= 0);
	assert_true(fdt_path_offset(fb, node) < 0);
	snprintf(node, sizeof(node), "/virtio_mmio@%llx", SLOT(0));
	assert_true(fdt_path_offset(fb, node) >= 0);
	free(fa);
	free(fb);

	/* a going away leaves b working, and b's slot 0 gets reused */
	vm_exit(&a, 2);
	assert_int_equal(mmio_rd(&b, SLOT(0) + VIRTIO_MMIO_DEVICE_ID), 4);
	vm_exit(&b, 1);
}

static void test_two_vms_pci(void **state)
{
	struct vm a, b;

	vm_init(&a, VIRTIO_TRANSPORT_PCI);
	vm_init(&b, VIRTIO_TRANSPORT_PCI);
	assert_null(a.kvm.pci);
	vm_add(&a);
	/* the host bridge came with the first function, and is a's own */
	assert_non_null(a.kvm.pci);
	assert_null(b.kvm.pci);
	vm_add(&a);
	vm_add(&b);
	assert_ptr_not_equal(a.kvm.pci, b.kvm.pci);
	assert_int_equal(device_count(&a.kvm, DEVICE_BUS_PCI), 2);
	assert_int_equal(device_count(&a.kvm, DEVICE_BUS_PLATFORM), 1);
	assert_int_equal(ecam_rd(&a, 1, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(ecam_rd(&b, 0, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(ecam_rd(&b, 1, PCI_VENDOR_ID, 2), 0xffff);
	vm_exit(&a, 2);
	assert_int_equal(ecam_rd(&b, 0, PCI_DEVICE_ID, 2), 0x1040 + 4);
	vm_exit(&b, 1);
}

/* Driver up to FEATURES_OK with the selectors moved off 0. */
static void mmio_driver_up(struct vm *vm, struct fake *f)
{
	mmio_wr(vm, SLOT(0) + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER);
	mmio_wr(vm, SLOT(0) + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(vm, SLOT(0) + VIRTIO_MMIO_DRIVER_FEATURES, 1);	/* VERSION_1 */
	mmio_wr(vm, SLOT(0) + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	mmio_wr(vm, SLOT(0) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	mmio_wr(vm, SLOT(0) + VIRTIO_MMIO_QUEUE_SEL, 1);
	f->vdev.transport->signal_config(&f->vdev);
}

static void test_reset_mmio(void **state)
{
	struct vm vm;
	struct fake *f;

	vm_init(&vm, VIRTIO_TRANSPORT_MMIO);
	f = vm_add(&vm);
	mmio_driver_up(&vm, f);
	assert_true(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_STATUS) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	/* selectors off 0: the high feature word, no queue 1 */
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_DEVICE_FEATURES), 1);
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_not_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	devices_reset(&vm.kvm);		/* what a guest reboot does */
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(f->vdev.driver_features, 0);
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_true(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_DEVICE_FEATURES) &
		    FAKE_FEATURE);		/* the low word again */
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_QUEUE_NUM_MAX), 16);

	/* a driver reset (status 0) resets the transport the same way */
	mmio_driver_up(&vm, f);
	mmio_wr(&vm, SLOT(0) + VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(mmio_rd(&vm, SLOT(0) + VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	vm_exit(&vm, 1);
}

static void test_reset_pci(void **state)
{
	struct vm vm;
	struct fake *f;

	vm_init(&vm, VIRTIO_TRANSPORT_PCI);
	f = vm_add(&vm);
	ecam_wr(&vm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	virtio_set_status(&f->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(ecam_rd(&vm, 0, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	devices_reset(&vm.kvm);
	/* the device (virtio status), then its bus (the function's RST#) */
	assert_int_equal(f->vdev.status, 0);
	assert_int_equal(ecam_rd(&vm, 0, PCI_COMMAND, 2), 0);
	assert_int_equal(ecam_rd(&vm, 0, PCI_VENDOR_ID, 2), 0x1af4);
	vm_exit(&vm, 1);
}

struct seen {
	u64 kicks, errors;
	int names;
};

static void count_stat(void *ctx, const struct device_header *dev,
		       const char *counter, u64 value)
{
	struct seen *seen = ctx;

	assert_string_equal(dev->name, "fake");
	seen->names++;
	if (!strcmp(counter, "kicks"))
		seen->kicks = value;
	else if (!strcmp(counter, "errors"))
		seen->errors = value;
}

static void test_virtio_stats(void **state)
{
	struct seen seen = { 0 };
	struct vm vm;
	struct fake *f;

	vm_init(&vm, VIRTIO_TRANSPORT_MMIO);
	f = vm_add(&vm);
	/* a kick through the MMIO register (no ioeventfd in the stubs) */
	mmio_wr(&vm, SLOT(0) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	mmio_wr(&vm, SLOT(0) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_device_broken(&f->vdev, "test");
	virtio_device_broken(&f->vdev, "test");	/* already broken */
	devices_stats(&vm.kvm, count_stat, &seen);
	assert_int_equal(seen.names, 4);	/* requests kicks interrupts errors */
	assert_int_equal(seen.kicks, 2);
	assert_int_equal(seen.errors, 1);
	vm_exit(&vm, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_order),
		cmocka_unit_test(test_two_vms_mmio),
		cmocka_unit_test(test_two_vms_pci),
		cmocka_unit_test(test_reset_mmio),
		cmocka_unit_test(test_reset_pci),
		cmocka_unit_test(test_virtio_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
