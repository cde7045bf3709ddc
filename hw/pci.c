// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI host bridge (pci-host-ecam-generic) and the configuration space
 * model of its functions: type-0 header, capability list, memory BARs
 * with size probing and guest reprogramming, MSI-X table and PBA, and
 * INTx. No KVM dependency: unit tested natively (tests/unit/test-pci.c);
 * MSI delivery goes through lkvm/msi.h (kvm/msi.c).
 *
 * Config space writes go through per-byte masks: wmask says which bits
 * the guest may change, w1cmask which it clears by writing 1. BAR sizing
 * falls out of the mask: writing all-ones reads back ~(size - 1) and the
 * type bits.
 *
 * Locking: host->lock (rwlock) protects the slots and BAR placement; ECAM
 * accesses take it for writing, accesses to the memory window for
 * reading while they call the BAR's handler. Below it: a function's
 * msix.lock, then host->intx_lock. pci_set_irq() and pci_msix_signal()
 * do not take host->lock, so BAR handlers and device threads may call them.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/fdt.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/pci.h"

#define PCI_CAP_START		0x40
#define PCI_MSIX_CAP_LEN	12
#define PCI_MSIX_ENTRY_LEN	16
#define PCI_STATUS_W1C		(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
				 PCI_STATUS_REC_TARGET_ABORT | \
				 PCI_STATUS_REC_MASTER_ABORT | \
				 PCI_STATUS_SIG_SYSTEM_ERROR | \
				 PCI_STATUS_DETECTED_PARITY)

/* One per VM (kvm->pci), made by the first pci_register_device(). */
struct pci_host {
	struct kvm *kvm;
	pthread_rwlock_t lock;
	struct pci_device *slots[PCI_MAX_SLOTS];
	unsigned int nr_slots;
	u64 mmio_next;		/* BAR allocation cursor in the window */

	pthread_mutex_t intx_lock;
	int spi[PCI_NR_INTX];	/* SPI of INTA..INTD after the swizzle */
	u32 line_mask[PCI_NR_INTX];	/* slots asserting each line */
	bool line_level[PCI_NR_INTX];

	struct device_header dev;
};

static void pci_release_device(struct pci_device *dev);
static void pci_reset_function(struct pci_device *dev);

/* ------------------------------------------------------------------ */
/* Config space model                                                  */

static void set_mask(u8 *m, u32 reg, u32 len, u32 mask)
{
	u32 i;

	for (i = 0; i < len && reg + i < PCI_CFG_KEPT; i++)
		m[reg + i] = mask >> (8 * i);
}

void pci_set_wmask(struct pci_device *dev, u32 reg, u32 len, u32 mask)
{
	set_mask(dev->wmask, reg, len, mask);
}

void pci_device_init(struct pci_device *dev, u16 vendor, u16 device,
		     u32 class, u8 revision, u16 subsys_vendor, u16 subsys_id)
{
	memset(dev, 0, sizeof(*dev));
	pthread_mutex_init(&dev->msix.lock, NULL);
	dev->cap_end = PCI_CAP_START;

	pci_cfg_write16(dev, PCI_VENDOR_ID, vendor);
	pci_cfg_write16(dev, PCI_DEVICE_ID, device);
	pci_cfg_write8(dev, PCI_REVISION_ID, revision);
	pci_cfg_write8(dev, PCI_CLASS_PROG, class);
	pci_cfg_write16(dev, PCI_CLASS_DEVICE, class >> 8);
	pci_cfg_write8(dev, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
	pci_cfg_write16(dev, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_cfg_write16(dev, PCI_SUBSYSTEM_ID, subsys_id);
	pci_cfg_write8(dev, PCI_INTERRUPT_PIN, 1);	/* INTA */

	pci_set_wmask(dev, PCI_COMMAND, 2, PCI_COMMAND_WMASK);
	set_mask(dev->w1cmask, PCI_STATUS, 2, PCI_STATUS_W1C);
	pci_set_wmask(dev, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_set_wmask(dev, PCI_LATENCY_TIMER, 1, 0xff);
	pci_set_wmask(dev, PCI_INTERRUPT_LINE, 1, 0xff);
}

static u32 bar_reg(int bar)
{
	return PCI_BASE_ADDRESS_0 + 4 * bar;
}

int pci_add_bar(struct pci_device *dev, int bar, u64 size, bool is_64,
		mmio_handler_t handler, void *opaque)
{
	u64 mask;
	u32 flags = PCI_BASE_ADDRESS_SPACE_MEMORY;

	if (bar < 0 || bar >= PCI_NR_BARS - (is_64 ? 1 : 0) || !handler ||
	    dev->bars[bar].size || (is_64 && dev->bars[bar + 1].size))
		return -EINVAL;
	if (size < PCI_BAR_MIN_SIZE)
		size = PCI_BAR_MIN_SIZE;
	if (size & (size - 1))
		size = 1ULL << (64 - __builtin_clzll(size));
	if (size > LKVM_PCI_MMIO_SIZE || (!is_64 && size > SZ_1G * 2))
		return -EINVAL;

	dev->bars[bar] = (struct pci_bar) {
		.size = size, .is_64 = is_64, .handler = handler,
		.opaque = opaque,
	};
	mask = ~(size - 1);
	if (is_64)
		flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
	pci_cfg_write32(dev, bar_reg(bar), flags);
	pci_set_wmask(dev, bar_reg(bar), 4, (u32)mask & ~0xfU);
	if (is_64) {
		pci_cfg_write32(dev, bar_reg(bar + 1), 0);
		pci_set_wmask(dev, bar_reg(bar + 1), 4, mask >> 32);
	}
	return 0;
}

int pci_add_cap(struct pci_device *dev, u8 id, u8 len)
{
	u32 off = ALIGN_UP(dev->cap_end, 4);

	if (len < 2 || off + len > PCI_CFG_KEPT)
		return -ENOSPC;
	pci_cfg_write8(dev, off + PCI_CAP_LIST_ID, id);
	pci_cfg_write8(dev, off + PCI_CAP_LIST_NEXT, 0);
	if (dev->last_cap)
		pci_cfg_write8(dev, dev->last_cap + PCI_CAP_LIST_NEXT, off);
	else
		pci_cfg_write8(dev, PCI_CAPABILITY_LIST, off);
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->last_cap = off;
	dev->cap_end = off + len;
	return off;
}

int pci_find_cap(const struct pci_device *dev, u8 id, u8 from)
{
	unsigned int guard = 0;
	u8 pos;

	pos = from ? from : pci_cfg_read8(dev, PCI_CAPABILITY_LIST);
	while (pos && guard++ < 48) {
		if (pci_cfg_read8(dev, pos + PCI_CAP_LIST_ID) == id)
			return pos;
		pos = pci_cfg_read8(dev, pos + PCI_CAP_LIST_NEXT);
	}
	return -ENOENT;
}

static bool bar_in_window(u64 addr, u64 size)
{
	return addr >= LKVM_PCI_MMIO_BASE &&
	       addr + size <= LKVM_PCI_MMIO_BASE + LKVM_PCI_MMIO_SIZE &&
	       addr + size > addr;
}

/* Recompute where each BAR decodes after a COMMAND or BAR write. */
static void pci_update_bars(struct pci_device *dev)
{
	bool mem = pci_cfg_read16(dev, PCI_COMMAND) & PCI_COMMAND_MEMORY;
	int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		u64 addr;
		bool active;

		if (!b->size)
			continue;
		addr = pci_cfg_read32(dev, bar_reg(i)) & PCI_BASE_ADDRESS_MEM_MASK;
		if (b->is_64)
			addr |= (u64)pci_cfg_read32(dev, bar_reg(i + 1)) << 32;
		active = mem && dev->registered && bar_in_window(addr, b->size);
		if (active == b->active && (!active || addr == b->addr))
			continue;
		pr_debug("pci %02x:%02x.%u %s: BAR%d %s 0x%llx", dev->bus,
			 dev->devfn >> 3, dev->devfn & 7,
			 dev->name ? dev->name : "", i,
			 active ? "at" : "off, was",
			 (unsigned long long)(active ? addr : b->addr));
		b->active = active;
		b->addr = addr;
		if (dev->ops && dev->ops->bar_update)
			dev->ops->bar_update(dev, i, addr, active);
	}
}

static unsigned int intx_line(unsigned int slot, unsigned int pin)
{
	/* The standard swizzle: INTx of slot s is line (s + pin - 1) % 4. */
	return (slot + pin - 1) % PCI_NR_INTX;
}

int pci_host_intx_spi(struct kvm *kvm, unsigned int slot, unsigned int pin)
{
	struct pci_host *host = kvm->pci;

	if (!host || !pin || pin > PCI_NR_INTX)
		return -EINVAL;
	return host->spi[intx_line(slot, pin)];
}

/* Called with host->intx_lock held. */
static void pci_update_intx(struct pci_device *dev)
{
	struct pci_host *host = dev->host;
	bool assert = dev->intx_level &&
		!(pci_cfg_read16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	unsigned int slot = dev->devfn >> 3, line;
	u8 pin = pci_cfg_read8(dev, PCI_INTERRUPT_PIN);
	bool level;

	if (dev->intx_level)
		dev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (!dev->registered || !pin || pin > PCI_NR_INTX || !host)
		return;
	line = intx_line(slot, pin);
	if (assert)
		host->line_mask[line] |= 1U << slot;
	else
		host->line_mask[line] &= ~(1U << slot);
	level = host->line_mask[line] != 0;
	if (level != host->line_level[line]) {
		host->line_level[line] = level;
		irq_set_level(host->kvm, host->spi[line], level);
	}
}

void pci_set_irq(struct pci_device *dev, bool level)
{
	struct pci_host *host = dev->host;

	if (!host) {		/* not on the bus yet: no line to drive */
		dev->intx_level = level;
		pci_update_intx(dev);
		return;
	}
	pthread_mutex_lock(&host->intx_lock);
	dev->intx_level = level;
	pci_update_intx(dev);
	pthread_mutex_unlock(&host->intx_lock);
}

/* ------------------------------------------------------------------ */
/* MSI-X                                                               */

static bool msix_ctrl_enabled(struct pci_device *dev)
{
	return pci_cfg_read16(dev, dev->msix.cap + PCI_MSIX_FLAGS) &
	       PCI_MSIX_FLAGS_ENABLE;
}

static bool msix_masked(struct pci_device *dev, unsigned int v)
{
	return (pci_cfg_read16(dev, dev->msix.cap + PCI_MSIX_FLAGS) &
		PCI_MSIX_FLAGS_MASKALL) ||
	       (dev->msix.vec[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static bool pba_test_and_clear(struct pci_msix *m, unsigned int v)
{
	bool was = m->pba[v / 64] & (1ULL << (v % 64));

	m->pba[v / 64] &= ~(1ULL << (v % 64));
	return was;
}

/*
 * Bring vector @v's KVM route up to date with its table entry and the
 * function's requester ID (the ITS DeviceID: a route made for another
 * requester ID must not be reused). The one place both the unmask path
 * and the signal path check. On failure the route still signals, via
 * KVM_SIGNAL_MSI.
 */
static void msix_refresh_route(struct pci_device *dev, unsigned int v)
{
	struct pci_msix_vector *e = &dev->msix.vec[v];
	u64 addr = (u64)e->addr_hi << 32 | e->addr_lo;
	u32 devid = pci_requester_id(dev);

	if (e->routed && e->route.addr == addr && e->route.data == e->data &&
	    e->route.devid == devid)
		return;
	msi_route_set(dev->kvm, &e->route, addr, e->data, devid);
	e->routed = true;
}

static void msix_deliver(struct pci_device *dev, unsigned int v)
{
	msix_refresh_route(dev, v);
	msi_route_signal(dev->kvm, &dev->msix.vec[v].route);
}

/*
 * A vector's entry, its mask or the function's enable/mask changed:
 * update the route of an unmasked vector and send what is pending.
 * Called with msix.lock held.
 */
static void msix_update_vector(struct pci_device *dev, unsigned int v)
{
	if (!msix_ctrl_enabled(dev) || msix_masked(dev, v))
		return;
	msix_refresh_route(dev, v);
	if (pba_test_and_clear(&dev->msix, v))
		msix_deliver(dev, v);
}

static void msix_ctrl_written(struct pci_device *dev)
{
	unsigned int v;

	pthread_mutex_lock(&dev->msix.lock);
	for (v = 0; v < dev->msix.nr; v++)
		msix_update_vector(dev, v);
	pthread_mutex_unlock(&dev->msix.lock);
}

int pci_msix_init(struct pci_device *dev, unsigned int nr, int bar,
		  u32 table_off, u32 pba_off)
{
	struct pci_msix *m = &dev->msix;
	unsigned int v;
	int cap;

	if (!nr || nr > PCI_MSIX_MAX || bar < 0 || bar >= PCI_NR_BARS ||
	    !dev->bars[bar].size || (table_off | pba_off) & 7 ||
	    table_off + nr * PCI_MSIX_ENTRY_LEN > dev->bars[bar].size ||
	    pba_off + ALIGN_UP(nr, 64) / 8 > dev->bars[bar].size)
		return -EINVAL;
	cap = pci_add_cap(dev, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN);
	if (cap < 0)
		return cap;
	m->nr = nr;
	m->cap = cap;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	memset(m->pba, 0, sizeof(m->pba));
	for (v = 0; v < nr; v++) {
		m->vec[v] = (struct pci_msix_vector) {
			.ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT,
		};
		msi_route_init(&m->vec[v].route);
	}
	pci_cfg_write16(dev, cap + PCI_MSIX_FLAGS, nr - 1);
	pci_set_wmask(dev, cap + PCI_MSIX_FLAGS, 2,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_write32(dev, cap + PCI_MSIX_TABLE, table_off | bar);
	pci_cfg_write32(dev, cap + PCI_MSIX_PBA, pba_off | bar);
	return 0;
}

static u32 *msix_entry_word(struct pci_msix_vector *e, unsigned int word)
{
	switch (word) {
	case 0: return &e->addr_lo;
	case 1: return &e->addr_hi;
	case 2: return &e->data;
	default: return &e->ctrl;
	}
}

static void msix_table_dword(struct pci_device *dev, u64 off, u8 *data,
			     bool is_write)
{
	struct pci_msix *m = &dev->msix;
	unsigned int v = off / PCI_MSIX_ENTRY_LEN;
	struct pci_msix_vector *e = &m->vec[v];
	u32 *w = msix_entry_word(e, (off % PCI_MSIX_ENTRY_LEN) / 4);
	u32 val;

	if (!is_write) {
		val = *w;
		memcpy(data, &val, 4);
		return;
	}
	memcpy(&val, data, 4);
	if (w == &e->ctrl)
		val &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	*w = val;
	msix_update_vector(dev, v);
}

bool pci_msix_access(struct pci_device *dev, int bar, u64 offset, u8 *data,
		     u32 len, bool is_write)
{
	struct pci_msix *m = &dev->msix;
	u64 table_len = m->nr * PCI_MSIX_ENTRY_LEN;
	u64 pba_len = ALIGN_UP(m->nr, 64) / 8;
	u32 i;

	if (!m->nr || bar != m->bar)
		return false;
	if (offset >= m->table_off && offset - m->table_off < table_len) {
		offset -= m->table_off;
		if ((len != 4 && len != 8) || offset % len ||
		    offset + len > table_len) {
			pr_warn_ratelimited("pci %s: bad MSI-X table access, %u bytes at 0x%llx",
					    dev->name ? dev->name : "",
					    len, (unsigned long long)offset);
			if (!is_write)
				memset(data, 0, len);
			return true;
		}
		pthread_mutex_lock(&m->lock);
		for (i = 0; i < len; i += 4)
			msix_table_dword(dev, offset + i, data + i, is_write);
		pthread_mutex_unlock(&m->lock);
		return true;
	}
	if (offset >= m->pba_off && offset - m->pba_off < pba_len) {
		offset -= m->pba_off;
		if (!is_write) {
			pthread_mutex_lock(&m->lock);
			for (i = 0; i < len; i++) {
				u64 byte = offset + i;

				data[i] = byte < pba_len ?
					m->pba[byte / 8] >> (8 * (byte % 8)) : 0;
			}
			pthread_mutex_unlock(&m->lock);
		}
		return true;	/* the PBA is read-only */
	}
	return false;
}

bool pci_msix_enabled(struct pci_device *dev)
{
	return dev->msix.nr && msix_ctrl_enabled(dev);
}

bool pci_msix_signal(struct pci_device *dev, unsigned int vector)
{
	struct pci_msix *m = &dev->msix;

	if (vector >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	if (!msix_ctrl_enabled(dev)) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	if (msix_masked(dev, vector))
		m->pba[vector / 64] |= 1ULL << (vector % 64);
	else
		msix_deliver(dev, vector);
	pthread_mutex_unlock(&m->lock);
	return true;
}

/* ------------------------------------------------------------------ */
/* Config accesses                                                     */

static bool overlaps(u32 reg, u32 len, u32 start, u32 size)
{
	return reg < start + size && start < reg + len;
}

/* Generic config space access; called with host->lock held for writing. */
static void pci_cfg_access(struct pci_device *dev, u32 reg, u8 *data,
			   u32 len, bool is_write)
{
	struct pci_host *host = dev->host;
	u32 i;

	if (dev->ops && dev->ops->cfg_access &&
	    dev->ops->cfg_access(dev, reg, data, len, is_write))
		return;
	if (reg >= PCI_CFG_KEPT) {	/* the extended space: empty */
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		memcpy(data, dev->cfg + reg, len);
		return;
	}
	/* MSI-X control writes update routes under msix.lock. */
	if (dev->msix.nr)
		pthread_mutex_lock(&dev->msix.lock);
	for (i = 0; i < len; i++) {
		u8 *b = &dev->cfg[reg + i];

		/* Skip read-only bytes: pci_set_irq() updates STATUS. */
		if (!dev->wmask[reg + i] && !dev->w1cmask[reg + i])
			continue;
		*b = (*b & ~dev->wmask[reg + i]) | (data[i] & dev->wmask[reg + i]);
		*b &= ~(data[i] & dev->w1cmask[reg + i]);
	}
	if (dev->msix.nr)
		pthread_mutex_unlock(&dev->msix.lock);

	if (overlaps(reg, len, PCI_COMMAND, 2)) {
		pthread_mutex_lock(&host->intx_lock);
		pci_update_intx(dev);
		pthread_mutex_unlock(&host->intx_lock);
	}
	if (overlaps(reg, len, PCI_COMMAND, 2) ||
	    overlaps(reg, len, PCI_BASE_ADDRESS_0, 4 * PCI_NR_BARS))
		pci_update_bars(dev);
	if (dev->msix.nr && overlaps(reg, len, dev->msix.cap + PCI_MSIX_FLAGS, 2))
		msix_ctrl_written(dev);
}

static struct pci_device *ecam_device(struct pci_host *host, u64 offset)
{
	u32 bus = offset >> PCI_ECAM_BUS_SHIFT;
	u32 devfn = (offset >> PCI_ECAM_DEVFN_SHIFT) & 0xff;

	if (bus != 0 || (devfn & 7) || (devfn >> 3) >= host->nr_slots)
		return NULL;
	return host->slots[devfn >> 3];
}

void pci_ecam_access(void *opaque, u64 offset, u8 *data, u32 len,
		     bool is_write)
{
	struct pci_host *host = opaque;
	u32 reg = offset & (PCI_CFG_SIZE - 1);
	struct pci_device *dev;

	/* ECAM accesses are naturally aligned 1, 2 or 4 bytes. */
	if ((len != 1 && len != 2 && len != 4) || reg % len) {
		pr_warn_ratelimited("pci: bad config access, %u bytes at 0x%llx",
				    len, (unsigned long long)offset);
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_rwlock_wrlock(&host->lock);
	dev = ecam_device(host, offset);
	if (dev)
		pci_cfg_access(dev, reg, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);	/* master abort */
	pthread_rwlock_unlock(&host->lock);
}

/* The memory window: find the BAR decoding @addr and pass the access on. */
static void pci_window_access(void *opaque, u64 offset, u8 *data, u32 len,
			      bool is_write)
{
	struct pci_host *host = opaque;
	u64 addr = LKVM_PCI_MMIO_BASE + offset;
	unsigned int s;
	int i;

	pthread_rwlock_rdlock(&host->lock);
	for (s = 0; s < host->nr_slots; s++) {
		struct pci_device *dev = host->slots[s];

		for (i = 0; dev && i < PCI_NR_BARS; i++) {
			struct pci_bar *b = &dev->bars[i];

			if (!b->active || addr < b->addr ||
			    addr - b->addr >= b->size ||
			    len > b->size - (addr - b->addr))
				continue;
			b->handler(b->opaque, addr - b->addr, data, len, is_write);
			pthread_rwlock_unlock(&host->lock);
			return;
		}
	}
	pthread_rwlock_unlock(&host->lock);
	pr_debug("pci: unclaimed %s of %u bytes at 0x%llx",
		 is_write ? "write" : "read", len, (unsigned long long)addr);
	if (!is_write)
		memset(data, 0xff, len);
}

/* ------------------------------------------------------------------ */
/* Host bridge                                                         */

static int pci_generate_fdt(struct device_header *hdr, void *fdt,
			    struct kvm *kvm)
{
	struct pci_host *host = hdr->opaque;
	fdt32_t map[PCI_MAX_SLOTS * PCI_NR_INTX * (4 + FDT_IRQ_MAP_PARENT_MAX)];
	fdt32_t ranges[2 * 7], mask[4], msi_map[4];
	unsigned int slot, pin, n = 0, nr_slots = MAX(host->nr_slots, 1U);
	char name[32];

	ranges[0] = cpu_to_fdt32(0x01000000);	/* I/O space */
	ranges[1] = cpu_to_fdt32(0);
	ranges[2] = cpu_to_fdt32(0);
	ranges[3] = cpu_to_fdt32(LKVM_PCI_IO_BASE >> 32);
	ranges[4] = cpu_to_fdt32((u32)LKVM_PCI_IO_BASE);
	ranges[5] = cpu_to_fdt32(0);
	ranges[6] = cpu_to_fdt32(LKVM_PCI_IO_SIZE);
	ranges[7] = cpu_to_fdt32(0x02000000);	/* 32-bit memory space */
	ranges[8] = cpu_to_fdt32(0);
	ranges[9] = cpu_to_fdt32((u32)LKVM_PCI_MMIO_BASE);
	ranges[10] = cpu_to_fdt32(LKVM_PCI_MMIO_BASE >> 32);
	ranges[11] = cpu_to_fdt32((u32)LKVM_PCI_MMIO_BASE);
	ranges[12] = cpu_to_fdt32(LKVM_PCI_MMIO_SIZE >> 32);
	ranges[13] = cpu_to_fdt32((u32)LKVM_PCI_MMIO_SIZE);

	for (slot = 0; slot < nr_slots; slot++) {
		for (pin = 1; pin <= PCI_NR_INTX; pin++) {
			map[n++] = cpu_to_fdt32(PCI_MK_DEVFN(slot, 0) << 8);
			map[n++] = cpu_to_fdt32(0);
			map[n++] = cpu_to_fdt32(0);
			map[n++] = cpu_to_fdt32(pin);
			n += fdt_irq_map_parent(kvm->irq_parent, &map[n],
						host->spi[intx_line(slot, pin)],
						IRQ_TYPE_LEVEL_HIGH);
		}
	}
	mask[0] = cpu_to_fdt32(PCI_MK_DEVFN(PCI_MAX_SLOTS - 1, 0) << 8);
	mask[1] = cpu_to_fdt32(0);
	mask[2] = cpu_to_fdt32(0);
	mask[3] = cpu_to_fdt32(7);

	snprintf(name, sizeof(name), "pci@%llx", LKVM_PCI_CFG_BASE);
	FDT_CHECK(fdt_begin_node(fdt, name));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	FDT_CHECK(fdt_property_string(fdt, "device_type", "pci"));
	FDT_CHECK(fdt_property_cell(fdt, "#address-cells", 3));
	FDT_CHECK(fdt_property_cell(fdt, "#size-cells", 2));
	FDT_CHECK(fdt_property_cell(fdt, "#interrupt-cells", 1));
	FDT_CHECK(fdt_property_cell(fdt, "linux,pci-domain", 0));
	{
		fdt32_t bus_range[2] = { cpu_to_fdt32(0), cpu_to_fdt32(0) };

		FDT_CHECK(fdt_property(fdt, "bus-range", bus_range,
				       sizeof(bus_range)));
	}
	/* Only bus 0 is decoded: its 1 MiB of the ECAM region. */
	FDT_CHECK(fdt_property_reg64(fdt, LKVM_PCI_CFG_BASE,
				     1ULL << PCI_ECAM_BUS_SHIFT));
	FDT_CHECK(fdt_property(fdt, "ranges", ranges, sizeof(ranges)));
	FDT_CHECK(fdt_property(fdt, "dma-coherent", NULL, 0));
	FDT_CHECK(fdt_property(fdt, "interrupt-map", map, n * sizeof(map[0])));
	FDT_CHECK(fdt_property(fdt, "interrupt-map-mask", mask, sizeof(mask)));
	if (kvm->has_its) {
		msi_map[0] = cpu_to_fdt32(0);
		msi_map[1] = cpu_to_fdt32(LKVM_PHANDLE_ITS);
		msi_map[2] = cpu_to_fdt32(0);
		msi_map[3] = cpu_to_fdt32(0x10000);
		FDT_CHECK(fdt_property(fdt, "msi-map", msi_map, sizeof(msi_map)));
		FDT_CHECK(fdt_property_cell(fdt, "msi-map-mask", 0xffff));
	}
	return fdt_end_node(fdt);
}

/* The guest reset: every function's config space back to power-on. */
static void pci_host_reset(struct device_header *hdr)
{
	struct pci_host *host = hdr->opaque;
	unsigned int s;

	pthread_rwlock_wrlock(&host->lock);
	for (s = 0; s < host->nr_slots; s++) {
		if (host->slots[s])
			pci_reset_function(host->slots[s]);
	}
	pthread_rwlock_unlock(&host->lock);
}

static void pci_host_free(struct pci_host *host)
{
	pthread_rwlock_destroy(&host->lock);
	pthread_mutex_destroy(&host->intx_lock);
	free(host);
}

/* After the functions on it (the registry exits them first). */
static void pci_host_exit(struct device_header *hdr, struct kvm *kvm)
{
	struct pci_host *host = hdr->opaque;
	unsigned int s;

	pthread_rwlock_wrlock(&host->lock);
	for (s = 0; s < host->nr_slots; s++) {
		if (host->slots[s])
			pci_release_device(host->slots[s]);
	}
	host->nr_slots = 0;
	pthread_rwlock_unlock(&host->lock);
	mmio_unregister(&kvm->mmio, LKVM_PCI_MMIO_BASE);
	mmio_unregister(&kvm->mmio, LKVM_PCI_CFG_BASE);
	kvm->pci = NULL;
	pci_host_free(host);
}

static const struct device_ops pci_host_ops = {
	.generate_fdt = pci_generate_fdt,
	.reset = pci_host_reset,
	.exit = pci_host_exit,
};

static int pci_host_claim(struct kvm *kvm, struct pci_host *host)
{
	int i, ret, spi;

	ret = mmio_register(&kvm->mmio, LKVM_PCI_CFG_BASE, LKVM_PCI_CFG_SIZE,
			    pci_ecam_access, host);
	if (ret < 0) {
		pr_err("pci: cannot claim the ECAM region: %s", strerror(-ret));
		return ret;
	}
	ret = mmio_register(&kvm->mmio, LKVM_PCI_MMIO_BASE, LKVM_PCI_MMIO_SIZE,
			    pci_window_access, host);
	if (ret < 0) {
		pr_err("pci: cannot claim the memory window: %s", strerror(-ret));
		goto err_ecam;
	}
	for (i = 0; i < PCI_NR_INTX; i++) {
		spi = irq_alloc_spi(kvm);
		if (spi < 0) {
			ret = spi;
			goto err_window;
		}
		host->spi[i] = spi;
	}
	return 0;

err_window:
	mmio_unregister(&kvm->mmio, LKVM_PCI_MMIO_BASE);
err_ecam:
	mmio_unregister(&kvm->mmio, LKVM_PCI_CFG_BASE);
	return ret;
}

/* The host bridge comes with the first PCI function (kvm->pci). */
int pci_host_setup(struct kvm *kvm)
{
	struct pci_host *host;
	int ret;

	if (kvm->pci)
		return 0;
	host = calloc(1, sizeof(*host));
	if (!host)
		return -ENOMEM;
	pthread_rwlock_init(&host->lock, NULL);
	pthread_mutex_init(&host->intx_lock, NULL);
	host->mmio_next = LKVM_PCI_MMIO_BASE;
	ret = pci_host_claim(kvm, host);
	if (ret < 0) {
		pci_host_free(host);
		return ret;
	}
	host->kvm = kvm;
	host->dev = (struct device_header) {
		.name = "pci", .bus = DEVICE_BUS_PLATFORM,
		.ops = &pci_host_ops, .opaque = host,
	};
	device_register(kvm, &host->dev);
	kvm->pci = host;
	pr_debug("pci: host bridge, ECAM at 0x%llx, INTx on SPIs %d-%d",
		 LKVM_PCI_CFG_BASE, host->spi[0], host->spi[PCI_NR_INTX - 1]);
	return 0;
}

/* Give each BAR a naturally aligned place in the window; decoding stays off. */
static int assign_bars(struct pci_host *host, struct pci_device *dev)
{
	u64 next = host->mmio_next;
	int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		u64 addr;

		if (!b->size)
			continue;
		addr = ALIGN_UP(next, b->size);
		if (!bar_in_window(addr, b->size))
			return -ENOSPC;
		pci_cfg_write32(dev, bar_reg(i),
				(pci_cfg_read32(dev, bar_reg(i)) & 0xf) | (u32)addr);
		if (b->is_64)
			pci_cfg_write32(dev, bar_reg(i + 1), addr >> 32);
		next = addr + b->size;
	}
	host->mmio_next = next;
	return 0;
}

int pci_register_device(struct kvm *kvm, struct pci_device *dev)
{
	struct pci_host *host;
	unsigned int slot;
	int ret;

	ret = pci_host_setup(kvm);
	if (ret < 0)
		return ret;
	host = kvm->pci;
	pthread_rwlock_wrlock(&host->lock);
	if (host->nr_slots >= PCI_MAX_SLOTS) {
		pthread_rwlock_unlock(&host->lock);
		pr_err("pci: no free slot for %s", dev->name ? dev->name : "a device");
		return -ENOSPC;
	}
	ret = assign_bars(host, dev);
	if (ret < 0) {
		pthread_rwlock_unlock(&host->lock);
		pr_err("pci: no room in the memory window for %s",
		       dev->name ? dev->name : "a device");
		return ret;
	}
	slot = host->nr_slots++;
	dev->kvm = kvm;
	dev->host = host;
	dev->bus = 0;
	dev->devfn = PCI_MK_DEVFN(slot, 0);
	dev->registered = true;
	host->slots[slot] = dev;
	pthread_rwlock_unlock(&host->lock);
	pr_debug("pci 00:%02x.0: %s, %04x:%04x", slot,
		 dev->name ? dev->name : "", pci_cfg_read16(dev, PCI_VENDOR_ID),
		 pci_cfg_read16(dev, PCI_DEVICE_ID));
	return 0;
}

/* Called with host->lock held for writing. */
static void pci_release_device(struct pci_device *dev)
{
	struct pci_host *host = dev->host;
	unsigned int v;
	int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];

		if (!b->active)
			continue;
		b->active = false;
		if (dev->ops && dev->ops->bar_update)
			dev->ops->bar_update(dev, i, b->addr, false);
	}
	pthread_mutex_lock(&dev->msix.lock);
	for (v = 0; v < dev->msix.nr; v++) {
		if (dev->msix.vec[v].routed)
			msi_route_release(dev->kvm, &dev->msix.vec[v].route);
		dev->msix.vec[v].routed = false;
	}
	pthread_mutex_unlock(&dev->msix.lock);
	pthread_mutex_lock(&host->intx_lock);
	dev->intx_level = false;
	pci_update_intx(dev);
	dev->registered = false;
	pthread_mutex_unlock(&host->intx_lock);
	host->slots[dev->devfn >> 3] = NULL;
}

void pci_unregister_device(struct pci_device *dev)
{
	struct pci_host *host = dev->host;

	if (!dev->registered)
		return;
	pthread_rwlock_wrlock(&host->lock);
	pci_release_device(dev);
	pthread_rwlock_unlock(&host->lock);
}

/* Called with host->lock held for writing. */
static void pci_reset_function(struct pci_device *dev)
{
	struct pci_host *host = dev->host;
	struct pci_msix *m = &dev->msix;
	unsigned int v;

	pci_cfg_write16(dev, PCI_COMMAND, 0);
	pci_cfg_write16(dev, PCI_STATUS,
			pci_cfg_read16(dev, PCI_STATUS) & ~PCI_STATUS_W1C);
	pci_cfg_write8(dev, PCI_CACHE_LINE_SIZE, 0);
	pci_cfg_write8(dev, PCI_LATENCY_TIMER, 0);
	pci_cfg_write8(dev, PCI_INTERRUPT_LINE, 0);
	if (m->nr) {
		pthread_mutex_lock(&m->lock);
		pci_cfg_write16(dev, m->cap + PCI_MSIX_FLAGS, m->nr - 1);
		for (v = 0; v < m->nr; v++) {
			m->vec[v].addr_lo = m->vec[v].addr_hi = 0;
			m->vec[v].data = 0;
			m->vec[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		}
		memset(m->pba, 0, sizeof(m->pba));
		pthread_mutex_unlock(&m->lock);
	}
	pci_update_bars(dev);
	pthread_mutex_lock(&host->intx_lock);
	dev->intx_level = false;
	pci_update_intx(dev);
	pthread_mutex_unlock(&host->intx_lock);
	if (dev->ops && dev->ops->reset)
		dev->ops->reset(dev);
}
