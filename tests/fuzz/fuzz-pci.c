// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the PCI model a guest drives (hw/pci.c): config
 * space through ECAM and BARs through the memory window, as the guest's
 * MMIO exits deliver them, on a fresh bus per input with two functions
 * (a 32-bit and a 64-bit BAR; MSI-X with its table and PBA in BAR 2).
 * What must hold whatever the guest writes: the IDs stay, an absent
 * function reads all ones, the extended space reads zero, and a BAR
 * handler only sees accesses inside its BAR.
 *
 * Input: a sequence of 10-byte operations: kind (bit 0 write, bit 1 the
 * window rather than ECAM), size code (1, 2, 4 or 8 bytes), a 32-bit
 * offset into the ECAM or the window, then a 32-bit value (repeated for
 * 8-byte writes), both little-endian.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/devices.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/pci.h"

#define NR_FUNCS	2
#define BAR0_SIZE	0x1000
#define BAR2_SIZE	0x10000
#define MSIX_VECTORS	8
#define OP_LEN		10

struct fuzz_bar {
	struct pci_device *dev;
	int bar;
	u64 size;
};

struct fuzz_fn {
	struct pci_device pci;
	struct fuzz_bar bars[2];	/* BAR 0 and BAR 2 */
};

static struct fuzz_fn fns[NR_FUNCS];

static void bar_handler(void *opaque, u64 off, u8 *data, u32 len,
			bool is_write)
{
	struct fuzz_bar *b = opaque;

	if (off >= b->size || len > b->size - off)
		abort();	/* the window let an access out of its BAR */
	if (b->bar == 2 && pci_msix_access(b->dev, 2, off, data, len, is_write))
		return;
	if (!is_write)
		memset(data, 0xa5, len);
}

static int add_function(struct kvm *kvm, unsigned int i)
{
	struct fuzz_fn *f = &fns[i];
	struct pci_device *d = &f->pci;

	memset(f, 0, sizeof(*f));
	f->bars[0] = (struct fuzz_bar){ .dev = d, .bar = 0, .size = BAR0_SIZE };
	f->bars[1] = (struct fuzz_bar){ .dev = d, .bar = 2, .size = BAR2_SIZE };
	pci_device_init(d, 0x1af4, 0x1040 + i, 0xff0000, 1, 0x1af4, 0x10 + i);
	d->name = "fuzz";
	if (pci_add_bar(d, 0, BAR0_SIZE, false, bar_handler, &f->bars[0]) ||
	    pci_add_bar(d, 2, BAR2_SIZE, true, bar_handler, &f->bars[1]) ||
	    pci_msix_init(d, MSIX_VECTORS, 2, 0x0, 0x800))
		return -1;
	return pci_register_device(kvm, d);
}

static void check_ecam_read(u32 off, const u8 *data, u32 len)
{
	u32 devfn = (off >> PCI_ECAM_DEVFN_SHIFT) & 0xff;
	u32 reg = off & (PCI_CFG_SIZE - 1);
	u32 bus = off >> PCI_ECAM_BUS_SHIFT;
	u32 i;

	if (len != 1 && len != 2 && len != 4)
		return;
	if (reg % len)
		return;
	if (bus || (devfn & 7) || (devfn >> 3) >= NR_FUNCS) {
		for (i = 0; i < len; i++)
			if (data[i] != 0xff)
				abort();	/* absent: all ones */
		return;
	}
	if (reg >= PCI_CFG_KEPT) {
		for (i = 0; i < len; i++)
			if (data[i])
				abort();	/* no extended capability */
		return;
	}
	if (reg == PCI_VENDOR_ID && len >= 2 && get_le16(data) != 0x1af4)
		abort();
}

static void one_op(struct kvm *kvm, const u8 *op)
{
	static const u32 sizes[] = { 1, 2, 4, 8 };
	u32 len = sizes[op[1] & 3], off = get_le32(op + 2);
	bool is_write = op[0] & 1, window = op[0] & 2;
	u64 base = window ? LKVM_PCI_MMIO_BASE : LKVM_PCI_CFG_BASE;
	u8 data[8];

	memcpy(data, op + 6, 4);
	memcpy(data + 4, op + 6, 4);
	off %= window ? LKVM_PCI_MMIO_SIZE : LKVM_PCI_CFG_SIZE;
	mmio_dispatch(&kvm->mmio, base + off, data, len, is_write);
	if (!window && !is_write)
		check_ecam_read(off, data, len);
}

int LLVMFuzzerTestOneInput(const u8 *in, size_t size)
{
	struct kvm *kvm = calloc(1, sizeof(*kvm));
	unsigned int i;
	u8 id[2];

	if (!kvm)
		return 0;
	device_list_init(&kvm->devices);
	kvm->irqchip = IRQCHIP_GICV3;
	kvm->has_its = true;
	kvm->cfg.transport = VIRTIO_TRANSPORT_PCI;
	mmio_bus_init(&kvm->mmio);
	for (i = 0; i < NR_FUNCS; i++)
		if (add_function(kvm, i) < 0)
			abort();
	for (; size >= OP_LEN; in += OP_LEN, size -= OP_LEN)
		one_op(kvm, in);
	/* whatever was written, the IDs read back */
	for (i = 0; i < NR_FUNCS; i++) {
		mmio_dispatch(&kvm->mmio, LKVM_PCI_CFG_BASE +
			      ((u64)i << 15 | PCI_DEVICE_ID), id, 2, false);
		if (get_le16(id) != 0x1040 + i)
			abort();
	}
	devices_exit(kvm);
	mmio_bus_exit(&kvm->mmio);
	free(kvm);
	return 0;
}
