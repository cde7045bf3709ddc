// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI host bridge and config space model (hw/pci.c) and the
 * virtio-pci transport's registers (virtio/pci.c), driven through the
 * MMIO bus the way a guest would: ECAM for config space, the memory
 * window for BARs.
 */
#include <errno.h>
#include <libfdt.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
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
#include "lkvm/pci.h"
#include "lkvm/virtio.h"
#include "stubs.h"

/* ---- helpers ---- */

struct fixture {
	struct kvm kvm;
	struct pci_device *devs[4];
	unsigned int nr_devs;
};

static u64 ecam_addr(u32 bus, u32 slot, u32 fn, u32 reg)
{
	return LKVM_PCI_CFG_BASE + ((u64)bus << 20 | slot << 15 | fn << 12 | reg);
}

static u32 cfg_read(struct kvm *kvm, u32 bus, u32 slot, u32 fn, u32 reg,
		    u32 len)
{
	u8 data[4] = { 0 };
	u32 v = 0, i;

	mmio_dispatch(&kvm->mmio, ecam_addr(bus, slot, fn, reg), data, len,
		      false);
	for (i = 0; i < len; i++)
		v |= (u32)data[i] << (8 * i);
	return v;
}

static void cfg_write(struct kvm *kvm, u32 slot, u32 reg, u32 len, u32 v)
{
	u8 data[4];
	u32 i;

	for (i = 0; i < len; i++)
		data[i] = v >> (8 * i);
	mmio_dispatch(&kvm->mmio, ecam_addr(0, slot, 0, reg), data, len, true);
}

static u64 mem_read(struct kvm *kvm, u64 addr, u32 len)
{
	u8 data[8] = { 0 };
	u64 v = 0;
	u32 i;

	mmio_dispatch(&kvm->mmio, addr, data, len, false);
	for (i = 0; i < len; i++)
		v |= (u64)data[i] << (8 * i);
	return v;
}

static void mem_write(struct kvm *kvm, u64 addr, u32 len, u64 v)
{
	u8 data[8];
	u32 i;

	for (i = 0; i < len; i++)
		data[i] = v >> (8 * i);
	mmio_dispatch(&kvm->mmio, addr, data, len, true);
}

/* A device whose BARs record the last access and read back a pattern. */
struct fake_bar_dev {
	struct pci_device pci;
	u64 last_off;
	int accesses;
	int updates;
	int last_bar;
	u64 last_addr;
	bool last_active;
};

static void fake_bar_handler(void *opaque, u64 off, u8 *data, u32 len,
			     bool is_write)
{
	struct fake_bar_dev *d = opaque;

	d->last_off = off;
	d->accesses++;
	if (!is_write)
		memset(data, 0x5a, len);
}

static void fake_bar_update(struct pci_device *pci, int bar, u64 addr,
			    bool active)
{
	struct fake_bar_dev *d = pci->priv;

	d->updates++;
	d->last_bar = bar;
	d->last_addr = addr;
	d->last_active = active;
}

static const struct pci_device_ops fake_ops = {
	.bar_update = fake_bar_update,
};

static struct fake_bar_dev *new_fake(u16 device_id)
{
	struct fake_bar_dev *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	pci_device_init(&d->pci, 0x1234, device_id, 0xff0000, 7, 0x1af4, 0x4321);
	d->pci.ops = &fake_ops;
	d->pci.priv = d;
	d->pci.name = "fake";
	/* BAR0: 32-bit, 4 KiB; BAR2/3: 64-bit, 64 KiB. */
	assert_int_equal(pci_add_bar(&d->pci, 0, 0x1000, false,
				     fake_bar_handler, d), 0);
	assert_int_equal(pci_add_bar(&d->pci, 2, 0x10000, true,
				     fake_bar_handler, d), 0);
	return d;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	device_list_init(&f->kvm.devices);
	f->kvm.irq_parent = &gic_fdt_irq_parent;
	f->kvm.irqchip = IRQCHIP_GICV3;
	f->kvm.has_its = true;
	f->kvm.cfg.transport = VIRTIO_TRANSPORT_PCI;
	mmio_bus_init(&f->kvm.mmio);
	stub_next_spi = 8;
	memset(stub_irq_levels, 0, sizeof(stub_irq_levels));
	stub_msi_sets = stub_msi_signals = 0;
	if (pci_host_setup(&f->kvm) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	devices_exit(&f->kvm);		/* the host bridge's exit */
	assert_null(f->kvm.pci);
	for (i = 0; i < f->nr_devs; i++)
		free(f->devs[i]);
	mmio_bus_exit(&f->kvm.mmio);
	free(f);
	return 0;
}

static struct fake_bar_dev *add_fake(struct fixture *f, u16 device_id)
{
	struct fake_bar_dev *d = new_fake(device_id);

	assert_int_equal(pci_register_device(&f->kvm, &d->pci), 0);
	f->devs[f->nr_devs++] = &d->pci;
	return d;
}

/* ---- host bridge and header ---- */

static void test_ecam_decoding(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;

	add_fake(f, 0xaaaa);
	add_fake(f, 0xbbbb);

	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_VENDOR_ID, 2), 0x1234);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_DEVICE_ID, 2), 0xaaaa);
	assert_int_equal(cfg_read(kvm, 0, 1, 0, PCI_DEVICE_ID, 2), 0xbbbb);
	assert_int_equal(cfg_read(kvm, 0, 1, 0, PCI_VENDOR_ID, 4),
			 0xbbbb1234);
	/* Byte access inside the dword. */
	assert_int_equal(cfg_read(kvm, 0, 1, 0, PCI_DEVICE_ID + 1, 1), 0xbb);
	/* Empty slot, other function, other bus: master abort, all ones. */
	assert_int_equal(cfg_read(kvm, 0, 2, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 31, 0, PCI_VENDOR_ID, 2), 0xffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 1, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(cfg_read(kvm, 1, 0, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(cfg_read(kvm, 255, 31, 7, 0xffc, 4), 0xffffffff);
	/* Misaligned: refused, reads all ones. */
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_VENDOR_ID + 1, 2), 0xffff);
	/* Extended config space of a conventional function reads zero. */
	assert_int_equal(cfg_read(kvm, 0, 0, 0, 0x100, 4), 0);
	/* ... up to its end, and writes there change nothing */
	cfg_write(kvm, 0, 0x100, 4, 0xffffffff);
	cfg_write(kvm, 0, 0xffc, 4, 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, 0x100, 4), 0);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, 0xffc, 4), 0);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_VENDOR_ID, 2), 0x1234);
}

static void test_header(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;

	add_fake(f, 0xaaaa);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_CLASS_REVISION, 4),
			 0xff000007);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_HEADER_TYPE, 1),
			 PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_SUBSYSTEM_VENDOR_ID, 4),
			 0x43211af4);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_COMMAND, 2), 0);
	/* No capabilities: no CAP_LIST bit. */
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_STATUS, 2) &
			 PCI_STATUS_CAP_LIST, 0);

	/* Read-only fields ignore writes. */
	cfg_write(kvm, 0, PCI_VENDOR_ID, 4, 0xdeadbeef);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_VENDOR_ID, 4), 0xaaaa1234);
	cfg_write(kvm, 0, PCI_CLASS_REVISION, 4, 0);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_CLASS_REVISION, 4),
			 0xff000007);
	/* COMMAND keeps only implemented bits; INTERRUPT_LINE is scratch. */
	cfg_write(kvm, 0, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_COMMAND, 2),
			 PCI_COMMAND_WMASK);
	cfg_write(kvm, 0, PCI_INTERRUPT_LINE, 1, 42);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_INTERRUPT_LINE, 1), 42);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_INTERRUPT_PIN, 1), 1);
}

static void test_bar_sizing(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	u32 bar0, bar2, bar3;

	add_fake(f, 0xaaaa);
	bar0 = cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_0, 4);
	bar2 = cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_2, 4);
	bar3 = cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_3, 4);
	/* Assigned from the window, naturally aligned, type bits set. */
	assert_true(bar0 >= LKVM_PCI_MMIO_BASE);
	assert_int_equal(bar0 & 0xfff, PCI_BASE_ADDRESS_MEM_TYPE_32);
	assert_int_equal(bar2 & 0xffff, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(bar3, 0);

	cfg_write(kvm, 0, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_0, 4),
			 0xfffff000);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_2, 4),
			 0xffff0000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_3, 4),
			 0xffffffff);
	/* Unimplemented BARs and the ROM BAR read back zero. */
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_1, 4), 0);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_5, 4, 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_5, 4), 0);
	cfg_write(kvm, 0, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_ROM_ADDRESS, 4), 0);

	/* Restored, the BAR reads back exactly as before. */
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_0, 4, bar0);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), bar0);

	/* Bad BAR descriptions are refused. */
	assert_int_equal(pci_add_bar(f->devs[0], 0, 0x1000, false,
				     fake_bar_handler, NULL), -EINVAL);
	assert_int_equal(pci_add_bar(f->devs[0], 5, 0x1000, true,
				     fake_bar_handler, NULL), -EINVAL);
}

static void test_bar_reprogramming(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	struct fake_bar_dev *d = add_fake(f, 0xaaaa);
	u64 bar0 = cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	u64 moved = 0x50000000, moved64 = 0x60010000;

	/* Decoding is off until COMMAND.MEM: all ones, no access. */
	assert_int_equal(mem_read(kvm, bar0, 4), 0xffffffff);
	assert_int_equal(d->accesses, 0);

	cfg_write(kvm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(d->last_active);
	assert_int_equal(mem_read(kvm, bar0 + 0x10, 4), 0x5a5a5a5a);
	assert_int_equal(d->accesses, 1);
	assert_int_equal(d->last_off, 0x10);

	/* Move BAR0: the old place stops decoding, the new one starts. */
	d->updates = 0;
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_0, 4, (u32)moved);
	assert_int_equal(d->updates, 1);
	assert_int_equal(d->last_bar, 0);
	assert_int_equal(d->last_addr, moved);
	assert_true(d->last_active);
	assert_int_equal(mem_read(kvm, bar0 + 0x10, 4), 0xffffffff);
	assert_int_equal(mem_read(kvm, moved + 0x20, 2), 0x5a5a);
	assert_int_equal(d->last_off, 0x20);

	/* The 64-bit BAR, both halves. */
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_2, 4, (u32)moved64);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_3, 4, 0);
	assert_int_equal(d->last_bar, 2);
	assert_int_equal(d->last_addr, moved64);
	mem_read(kvm, moved64 + 0xfff8, 8);
	assert_int_equal(d->last_off, 0xfff8);
	/* Above 4 GiB is outside the window: not decoded. */
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_3, 4, 1);
	assert_false(d->last_active);
	assert_int_equal(mem_read(kvm, moved64, 4), 0xffffffff);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_3, 4, 0);
	assert_true(d->last_active);

	/* Clearing COMMAND.MEM stops every BAR. */
	d->updates = 0;
	cfg_write(kvm, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(d->updates, 2);
	assert_false(d->last_active);
	assert_int_equal(mem_read(kvm, moved, 4), 0xffffffff);

	/* Sizing with decoding on does not leave the BAR somewhere odd. */
	cfg_write(kvm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_false(d->pci.bars[0].active);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_0, 4, (u32)moved);
	assert_true(d->pci.bars[0].active);
	assert_int_equal(mem_read(kvm, moved, 1), 0x5a);
}

static void test_capability_walk(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	struct fake_bar_dev *d = new_fake(0xaaaa);
	u8 ids[8], pos;
	int a, b, n = 0;

	a = pci_add_cap(&d->pci, PCI_CAP_ID_VNDR, 6);
	b = pci_add_cap(&d->pci, PCI_CAP_ID_VNDR, 9);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x48);	/* dword aligned */
	assert_int_equal(pci_msix_init(&d->pci, 3, 0, 0x800, 0xc00), 0);
	assert_int_equal(pci_add_cap(&d->pci, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	assert_int_equal(pci_register_device(kvm, &d->pci), 0);
	f->devs[f->nr_devs++] = &d->pci;

	assert_true(cfg_read(kvm, 0, 0, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	pos = cfg_read(kvm, 0, 0, 0, PCI_CAPABILITY_LIST, 1);
	while (pos && n < 8) {
		assert_int_equal(pos & 3, 0);
		ids[n++] = cfg_read(kvm, 0, 0, 0, pos, 1);
		pos = cfg_read(kvm, 0, 0, 0, pos + 1, 1);
	}
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], PCI_CAP_ID_VNDR);
	assert_int_equal(ids[1], PCI_CAP_ID_VNDR);
	assert_int_equal(ids[2], PCI_CAP_ID_MSIX);
	assert_int_equal(pci_find_cap(&d->pci, PCI_CAP_ID_MSIX, 0), 0x54);
	/* MSI-X: table size N-1, table/PBA offsets with the BIR. */
	assert_int_equal(cfg_read(kvm, 0, 0, 0, 0x54 + PCI_MSIX_FLAGS, 2), 2);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, 0x54 + PCI_MSIX_TABLE, 4), 0x800);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, 0x54 + PCI_MSIX_PBA, 4), 0xc00);
	/* The capability pointer and list are read-only. */
	cfg_write(kvm, 0, PCI_CAPABILITY_LIST, 1, 0x80);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_CAPABILITY_LIST, 1), 0x40);
}

/* ---- interrupts ---- */

static void test_intx(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	struct fake_bar_dev *d0 = add_fake(f, 0xaaaa);
	struct fake_bar_dev *d1 = add_fake(f, 0xbbbb);
	int spi0 = pci_host_intx_spi(kvm, 0, 1), spi1 = pci_host_intx_spi(kvm, 1, 1);

	/* The swizzle: INTA of slot 1 is INTB of slot 0. */
	assert_int_equal(spi0, 8);
	assert_int_equal(spi1, 9);
	assert_int_equal(pci_host_intx_spi(kvm, 0, 2), spi1);
	assert_int_equal(pci_host_intx_spi(kvm, 3, 2), spi0);

	pci_set_irq(&d1->pci, true);
	assert_int_equal(stub_irq_levels[spi1], 1);
	assert_int_equal(stub_irq_levels[spi0], 0);
	assert_true(cfg_read(kvm, 0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* COMMAND.INTX_DISABLE masks the line, not the status bit. */
	cfg_write(kvm, 1, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(stub_irq_levels[spi1], 0);
	assert_true(cfg_read(kvm, 0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(kvm, 1, PCI_COMMAND, 2, 0);
	assert_int_equal(stub_irq_levels[spi1], 1);
	pci_set_irq(&d1->pci, false);
	assert_int_equal(stub_irq_levels[spi1], 0);
	assert_false(cfg_read(kvm, 0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	pci_set_irq(&d0->pci, true);
	assert_int_equal(stub_irq_levels[spi0], 1);
	pci_set_irq(&d0->pci, false);
	assert_int_equal(stub_irq_levels[spi0], 0);
}

static void msix_write_entry(struct kvm *kvm, u64 table, unsigned int v,
			     u64 addr, u32 data, u32 ctrl)
{
	mem_write(kvm, table + 16 * v + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (u32)addr);
	mem_write(kvm, table + 16 * v + PCI_MSIX_ENTRY_UPPER_ADDR, 4, addr >> 32);
	mem_write(kvm, table + 16 * v + PCI_MSIX_ENTRY_DATA, 4, data);
	mem_write(kvm, table + 16 * v + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, ctrl);
}

static bool msix_access_handler_used;

static void msix_bar_handler(void *opaque, u64 off, u8 *data, u32 len,
			     bool is_write)
{
	struct pci_device *pci = opaque;

	if (pci_msix_access(pci, 0, off, data, len, is_write))
		return;
	msix_access_handler_used = true;
	if (!is_write)
		memset(data, 0, len);
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	struct pci_device *pci = calloc(1, sizeof(*pci));
	u64 bar, table, pba, its = LKVM_GIC_ITS_BASE + 0x10040;
	int cap;

	assert_non_null(pci);
	pci_device_init(pci, 0x1234, 0x5678, 0xff0000, 0, 0, 0);
	assert_int_equal(pci_add_bar(pci, 0, 0x2000, false, msix_bar_handler,
				     pci), 0);
	assert_int_equal(pci_msix_init(pci, 4, 0, 0x0, 0x1000), 0);
	/* Add an unused slot so the device gets devfn 0x08. */
	add_fake(f, 0xaaaa);
	assert_int_equal(pci_register_device(kvm, pci), 0);
	f->devs[f->nr_devs++] = pci;
	cap = pci_find_cap(pci, PCI_CAP_ID_MSIX, 0);
	assert_true(cap > 0);

	bar = cfg_read(kvm, 0, 1, 0, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	table = bar;
	pba = bar + 0x1000;
	cfg_write(kvm, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);

	/* Entries come out of reset masked; disabled MSI-X sends nothing. */
	assert_int_equal(mem_read(kvm, table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4),
			 PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_false(pci_msix_enabled(pci));
	assert_false(pci_msix_signal(pci, 0));

	msix_write_entry(kvm, table, 2, its, 33, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(mem_read(kvm, table + 32 + PCI_MSIX_ENTRY_DATA, 4), 33);
	assert_int_equal(mem_read(kvm, table + 32, 8), its);
	cfg_write(kvm, 1, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_true(pci_msix_enabled(pci));
	/* The table size field is read-only. */
	assert_int_equal(cfg_read(kvm, 0, 1, 0, cap + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | 3);

	/* Masked: pending in the PBA, nothing sent. */
	assert_true(pci_msix_signal(pci, 2));
	assert_int_equal(stub_msi_signals, 0);
	assert_int_equal(mem_read(kvm, pba, 8), 1ULL << 2);
	/* Unmasking sends what was pending, with the requester ID. */
	mem_write(kvm, table + 32 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(stub_msi_signals, 1);
	assert_int_equal(stub_msi_last_addr, its);
	assert_int_equal(stub_msi_last_data, 33);
	assert_int_equal(stub_msi_last_devid, 0x0008);
	assert_int_equal(mem_read(kvm, pba, 8), 0);
	/* Unmasked: straight through. */
	assert_true(pci_msix_signal(pci, 2));
	assert_int_equal(stub_msi_signals, 2);

	/* Function mask: pending again, sent when lifted. */
	cfg_write(kvm, 1, cap + PCI_MSIX_FLAGS, 2,
		  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_true(pci_msix_signal(pci, 2));
	assert_int_equal(stub_msi_signals, 2);
	cfg_write(kvm, 1, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(stub_msi_signals, 3);

	/* Reprogramming an unmasked vector updates its route. */
	mem_write(kvm, table + 32 + PCI_MSIX_ENTRY_DATA, 4, 34);
	assert_true(pci_msix_signal(pci, 2));
	assert_int_equal(stub_msi_last_data, 34);
	/* Out of range. */
	assert_false(pci_msix_signal(pci, 4));
	assert_false(msix_access_handler_used);
}

/*
 * Both ways a route is refreshed (a vector unmasked, a vector signalled)
 * follow the function's requester ID, the ITS DeviceID, not only the
 * table entry.
 */
static void test_msix_route_follows_requester_id(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	struct pci_device *pci = calloc(1, sizeof(*pci));
	u64 table, its = LKVM_GIC_ITS_BASE + 0x10040;
	int cap, sets;

	assert_non_null(pci);
	pci_device_init(pci, 0x1234, 0x5678, 0xff0000, 0, 0, 0);
	assert_int_equal(pci_add_bar(pci, 0, 0x2000, false, msix_bar_handler,
				     pci), 0);
	assert_int_equal(pci_msix_init(pci, 2, 0, 0x0, 0x1000), 0);
	assert_int_equal(pci_register_device(kvm, pci), 0);
	f->devs[f->nr_devs++] = pci;
	cap = pci_find_cap(pci, PCI_CAP_ID_MSIX, 0);
	table = cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	cfg_write(kvm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_write(kvm, 0, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	msix_write_entry(kvm, table, 0, its, 40, 0);
	msix_write_entry(kvm, table, 1, its, 41, 0);

	/* Unmasking with a new requester ID re-routes. */
	pci->bus = 1;
	sets = stub_msi_sets;
	mem_write(kvm, table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(stub_msi_sets, sets + 1);
	assert_true(pci_msix_signal(pci, 0));
	assert_int_equal(stub_msi_sets, sets + 1);
	assert_int_equal(stub_msi_last_devid, 0x100);
	assert_int_equal(stub_msi_last_data, 40);

	/* So does signalling. */
	pci->bus = 2;
	assert_true(pci_msix_signal(pci, 1));
	assert_int_equal(stub_msi_sets, sets + 2);
	assert_int_equal(stub_msi_last_devid, 0x200);
	assert_int_equal(stub_msi_last_data, 41);
	pci->bus = 0;
}

/* ---- the device tree node ---- */

static void test_fdt_node(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	const fdt32_t *p;
	void *fdt = malloc(LKVM_FDT_MAX_SIZE);
	int node, len;

	add_fake(f, 0xaaaa);
	add_fake(f, 0xbbbb);
	assert_non_null(fdt);
	assert_int_equal(fdt_create(fdt, LKVM_FDT_MAX_SIZE), 0);
	assert_int_equal(fdt_finish_reservemap(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, ""), 0);
	assert_int_equal(devices_generate_fdt(kvm, fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_finish(fdt), 0);

	node = fdt_path_offset(fdt, "/pci@30000000");
	assert_true(node >= 0);
	assert_string_equal(fdt_getprop(fdt, node, "compatible", NULL),
			    "pci-host-ecam-generic");
	assert_string_equal(fdt_getprop(fdt, node, "device_type", NULL), "pci");
	p = fdt_getprop(fdt, node, "#address-cells", NULL);
	assert_int_equal(fdt32_to_cpu(*p), 3);
	p = fdt_getprop(fdt, node, "ranges", &len);
	assert_int_equal(len, 2 * 7 * 4);
	assert_int_equal(fdt32_to_cpu(p[7]), 0x02000000);
	assert_int_equal(fdt32_to_cpu(p[9]), LKVM_PCI_MMIO_BASE);
	assert_int_equal(fdt32_to_cpu(p[13]), LKVM_PCI_MMIO_SIZE);
	/* Two slots x 4 pins, GIC with #address-cells = 2 (ITS). */
	p = fdt_getprop(fdt, node, "interrupt-map", &len);
	assert_int_equal(len, 2 * 4 * 10 * 4);
	/* slot 1, INTA -> line 1 */
	assert_int_equal(fdt32_to_cpu(p[40]), 1 << 11);
	assert_int_equal(fdt32_to_cpu(p[43]), 1);
	assert_int_equal(fdt32_to_cpu(p[44]), LKVM_PHANDLE_GIC);
	assert_int_equal(fdt32_to_cpu(p[48]), pci_host_intx_spi(kvm, 1, 1));
	assert_int_equal(fdt32_to_cpu(p[49]), IRQ_TYPE_LEVEL_HIGH);
	p = fdt_getprop(fdt, node, "msi-map", &len);
	assert_int_equal(len, 16);
	assert_int_equal(fdt32_to_cpu(p[1]), LKVM_PHANDLE_ITS);
	assert_non_null(fdt_getprop(fdt, node, "dma-coherent", NULL));

	/* GICv2: no msi-map; the GIC node keeps #address-cells = 2. */
	kvm->irqchip = IRQCHIP_GICV2;
	kvm->has_its = false;
	assert_int_equal(fdt_create(fdt, LKVM_FDT_MAX_SIZE), 0);
	assert_int_equal(fdt_finish_reservemap(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, ""), 0);
	assert_int_equal(devices_generate_fdt(kvm, fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_finish(fdt), 0);
	node = fdt_path_offset(fdt, "/pci@30000000");
	assert_null(fdt_getprop(fdt, node, "msi-map", NULL));
	p = fdt_getprop(fdt, node, "interrupt-map", &len);
	assert_int_equal(len, 2 * 4 * 10 * 4);
	free(fdt);
}

/* ---- virtio-pci ---- */

struct fake_virtio {
	struct virtio_device vdev;
	u8 config[8];
};

static void fv_config(struct virtio_device *vdev, u32 off, u8 *data, u32 len,
		      bool is_write)
{
	struct fake_virtio *fv = vdev->priv;

	if (is_write)
		memcpy(fv->config + off, data, len);
	else
		memcpy(data, fv->config + off, len);
}

static const struct virtio_device_ops fv_ops = {
	.name = "fake",
	.device_id = 4,		/* VIRTIO_ID_RNG */
	.features = 1ULL << 5,
	.nr_queues = 2,
	.queue_size = 256,
	.config_size = 8,
	.config_access = fv_config,
};

struct vpci_caps {
	int common, notify, isr, device, pci_cfg;
	u32 off[10];
};

static void find_virtio_caps(struct kvm *kvm, u32 slot, struct vpci_caps *c)
{
	u8 pos = cfg_read(kvm, 0, slot, 0, PCI_CAPABILITY_LIST, 1);

	memset(c, 0, sizeof(*c));
	while (pos) {
		if (cfg_read(kvm, 0, slot, 0, pos, 1) == PCI_CAP_ID_VNDR) {
			u8 type = cfg_read(kvm, 0, slot, 0,
					   pos + VIRTIO_PCI_CAP_CFG_TYPE, 1);

			assert_int_equal(cfg_read(kvm, 0, slot, 0,
						  pos + VIRTIO_PCI_CAP_BAR, 1), 0);
			c->off[type] = cfg_read(kvm, 0, slot, 0,
						pos + VIRTIO_PCI_CAP_OFFSET, 4);
			switch (type) {
			case VIRTIO_PCI_CAP_COMMON_CFG: c->common = pos; break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG: c->notify = pos; break;
			case VIRTIO_PCI_CAP_ISR_CFG: c->isr = pos; break;
			case VIRTIO_PCI_CAP_DEVICE_CFG: c->device = pos; break;
			case VIRTIO_PCI_CAP_PCI_CFG: c->pci_cfg = pos; break;
			}
		}
		pos = cfg_read(kvm, 0, slot, 0, pos + 1, 1);
	}
}

static void test_virtio_pci(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = &f->kvm;
	struct fake_virtio *fv = calloc(1, sizeof(*fv));
	struct guest_mem mem = { .gpa_start = LKVM_RAM_BASE, .size = SZ_1M };
	struct vpci_caps c;
	u64 bar, common, moved = 0x7fff0000;
	int ioev_before = stub_ioeventfds;

	assert_non_null(fv);
	virtio_device_init(&fv->vdev, &fv_ops, kvm, &mem, fv);
	assert_int_equal(virtio_pci_transport.attach(kvm, &fv->vdev), 0);

	/* Identity: modern device ID, revision 1, class. */
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_VENDOR_ID, 4),
			 (0x1040 + 4) << 16 | 0x1af4);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_CLASS_DEVICE, 2), 0xff00);

	find_virtio_caps(kvm, 0, &c);
	assert_true(c.common && c.notify && c.isr && c.device && c.pci_cfg);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, c.notify + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), 4);

	bar = cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	bar |= (u64)cfg_read(kvm, 0, 0, 0, PCI_BASE_ADDRESS_1, 4) << 32;
	common = bar + c.off[VIRTIO_PCI_CAP_COMMON_CFG];
	/* No decoding, no ioeventfds. */
	assert_int_equal(stub_ioeventfds, ioev_before);
	cfg_write(kvm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(stub_ioeventfds, ioev_before + 2);

	/* Feature words through the selector. */
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_DF, 4) & (1U << 5),
			 1U << 5);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	assert_true(mem_read(kvm, common + VIRTIO_PCI_COMMON_DF, 4) &
		    (1U << (VIRTIO_F_VERSION_1 - 32)));
	mem_write(kvm, common + VIRTIO_PCI_COMMON_DFSELECT, 4, 7);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_DF, 4), 0);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_GF, 4, 1);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_GF, 4), 1);
	assert_int_equal(fv->vdev.driver_features, 1ULL << VIRTIO_F_VERSION_1);

	/* Queues. */
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2, 100);	/* not 2^n */
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2, 512);	/* > max */
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2, 64);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	assert_int_equal(fv->vdev.vqs[1].size, 64);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x80001000);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	assert_int_equal(fv->vdev.vqs[1].desc_gpa, 0x80001000);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_DESCLO, 4),
			 0x80001000);
	/* MSI-X vectors: 3 (queues + config); others read back NO_VECTOR. */
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_MSIX, 2, 3);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_MSIX, 2, 0);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_MSIX, 2), 0);
	/* A queue that does not exist. */
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	/* Wrong width: ignored. */
	mem_write(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 4, 0);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2), 5);

	/* Status goes through the core's state machine. */
	mem_write(kvm, common + VIRTIO_PCI_COMMON_STATUS, 1,
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mem_write(kvm, common + VIRTIO_PCI_COMMON_STATUS, 1,
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_STATUS, 1),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK);

	/* Device config. */
	mem_write(kvm, bar + c.off[VIRTIO_PCI_CAP_DEVICE_CFG] + 4, 4, 0xcafe);
	assert_int_equal(fv->config[4], 0xfe);
	assert_int_equal(mem_read(kvm, bar + c.off[VIRTIO_PCI_CAP_DEVICE_CFG] + 4, 2),
			 0xcafe);

	/* INTx: ISR bit, read-to-clear lowers the line. */
	fv->vdev.transport->signal_vq(&fv->vdev, 0);
	assert_int_equal(stub_irq_levels[pci_host_intx_spi(kvm, 0, 1)], 1);
	assert_int_equal(mem_read(kvm, bar + c.off[VIRTIO_PCI_CAP_ISR_CFG], 1), 1);
	assert_int_equal(stub_irq_levels[pci_host_intx_spi(kvm, 0, 1)], 0);
	assert_int_equal(mem_read(kvm, bar + c.off[VIRTIO_PCI_CAP_ISR_CFG], 1), 0);
	fv->vdev.transport->signal_config(&fv->vdev);
	assert_int_equal(mem_read(kvm, bar + c.off[VIRTIO_PCI_CAP_ISR_CFG], 1), 2);

	/* The PCI_CFG window: read num_queues, write queue_select. */
	cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_BAR, 1, 0);
	cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_OFFSET, 4,
		  c.off[VIRTIO_PCI_CAP_COMMON_CFG] + VIRTIO_PCI_COMMON_NUMQ);
	cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_LENGTH, 4, 2);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, c.pci_cfg + 16, 2), 2);
	cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_OFFSET, 4,
		  c.off[VIRTIO_PCI_CAP_COMMON_CFG] + VIRTIO_PCI_COMMON_Q_SELECT);
	cfg_write(kvm, 0, c.pci_cfg + 16, 2, 1);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	/* Misaligned offset for the length: no access. */
	cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_OFFSET, 4, 1);
	cfg_write(kvm, 0, c.pci_cfg + 16, 2, 0);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	/*
	 * Offsets whose end wraps round 2^32 to 0: outside the BAR, so the
	 * window is plain storage (a BAR access would have read back 0).
	 */
	{
		static const u32 wrap[][2] = {
			{ 0xfffffffc, 4 }, { 0xfffffffe, 2 }, { 0xffffffff, 1 },
		};
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(wrap); i++) {
			cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_OFFSET, 4,
				  wrap[i][0]);
			cfg_write(kvm, 0, c.pci_cfg + VIRTIO_PCI_CAP_LENGTH, 4,
				  wrap[i][1]);
			cfg_write(kvm, 0, c.pci_cfg + 16, wrap[i][1], 0xa5);
			assert_int_equal(cfg_read(kvm, 0, 0, 0, c.pci_cfg + 16,
						  wrap[i][1]), 0xa5);
		}
		assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT,
					  2), 1);
	}

	/* Moving the BAR moves the notify ioeventfds. */
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_0, 4, (u32)moved & ~0x7fffU);
	cfg_write(kvm, 0, PCI_BASE_ADDRESS_1, 4, 0);
	assert_int_equal(stub_ioeventfds, ioev_before + 2);
	{
		u64 want = (moved & ~0x7fffULL) + c.off[VIRTIO_PCI_CAP_NOTIFY_CFG] + 4;
		bool found = false;
		unsigned int i;

		for (i = 0; i < 64; i++)
			found |= stub_ioeventfd_addr[i] == want;
		assert_true(found);
	}
	cfg_write(kvm, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(stub_ioeventfds, ioev_before);

	/* Reset clears the transport's selectors and vectors. */
	cfg_write(kvm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	common = (moved & ~0x7fffULL) + c.off[VIRTIO_PCI_CAP_COMMON_CFG];
	mem_write(kvm, common + VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_STATUS, 1), 0);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	assert_int_equal(fv->vdev.driver_features, 0);

	/* A guest reset turns the function off and the vectors back. */
	mem_write(kvm, common + VIRTIO_PCI_COMMON_MSIX, 2, 1);
	fv->vdev.transport->signal_vq(&fv->vdev, 0);
	assert_int_equal(stub_irq_levels[pci_host_intx_spi(kvm, 0, 1)], 1);
	devices_reset(kvm);		/* the host bridge resets its functions */
	assert_int_equal(stub_irq_levels[pci_host_intx_spi(kvm, 0, 1)], 0);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_COMMAND, 2), 0);
	assert_int_equal(stub_ioeventfds, ioev_before);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_MSIX, 2),
			 0xffff);	/* not decoding */
	cfg_write(kvm, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(mem_read(kvm, common + VIRTIO_PCI_COMMON_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(mem_read(kvm, (moved & ~0x7fffULL) + c.off[VIRTIO_PCI_CAP_ISR_CFG], 1), 0);

	fv->vdev.transport->unregister(&fv->vdev);
	assert_int_equal(stub_ioeventfds, ioev_before);
	assert_int_equal(cfg_read(kvm, 0, 0, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	free(fv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ecam_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_reprogramming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_route_follows_requester_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fdt_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
