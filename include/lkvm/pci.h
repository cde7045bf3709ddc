/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PCI_H
#define LKVM_PCI_H

#include <linux/pci_regs.h>
#include <pthread.h>

#include "lkvm/mmio.h"
#include "lkvm/msi.h"
#include "lkvm/util.h"

/*
 * A PCI host bridge (pci-host-ecam-generic) and a model of conventional
 * PCI functions with a type-0 header (hw/pci.c; no KVM dependency).
 *
 * Configuration space is ECAM at LKVM_PCI_CFG_BASE: bus 0 only, one
 * function per slot. Memory BARs are decoded from the 32-bit window at
 * LKVM_PCI_MMIO_BASE, which the bridge claims as a whole on the MMIO bus
 * and dispatches itself, so the guest can move BARs without touching the
 * MMIO bus (its lock is held while a config access runs). INTA..INTD of
 * each slot are swizzled onto four level-triggered SPIs; MSI-X goes
 * through the GICv3 ITS (lkvm/msi.h) when there is one.
 */

#define PCI_MAX_SLOTS		32
#define PCI_NR_BARS		6
#define PCI_CFG_SIZE		4096	/* ECAM: extended config space */
/*
 * What a function keeps: the header and the capability list. No function
 * has an extended capability, so the rest reads 0 (no list) and ignores
 * writes, and three 4 KiB arrays per function would be heap for nothing.
 */
#define PCI_CFG_KEPT		256
#define PCI_NR_INTX		4	/* INTA..INTD */
#define PCI_MSIX_MAX		128	/* vectors we model per function */
#define PCI_ECAM_BUS_SHIFT	20
#define PCI_ECAM_DEVFN_SHIFT	12
#define PCI_BAR_MIN_SIZE	SZ_4K	/* every BAR gets its own page */

#define PCI_MK_DEVFN(slot, fn)	((u8)(((slot) << 3) | ((fn) & 7)))

/* PCI_COMMAND bits a function implements. */
#define PCI_COMMAND_WMASK	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
				 PCI_COMMAND_INTX_DISABLE)

struct kvm;
struct pci_device;
struct pci_host;

struct pci_bar {
	u64 size;		/* a power of two; 0: not implemented */
	bool is_64;		/* takes this BAR and the next */
	bool prefetch;
	mmio_handler_t handler;	/* @offset from the start of the BAR */
	void *opaque;
	/* Where it decodes now: COMMAND.MEM set and inside the window. */
	bool active;
	u64 addr;
};

struct pci_device_ops {
	/*
	 * BAR @bar now decodes at @addr, or stopped decoding: move whatever
	 * the device has registered there (ioeventfds). Called with the host
	 * bridge's lock held; must not access configuration space.
	 */
	void (*bar_update)(struct pci_device *dev, int bar, u64 addr,
			   bool active);
	/*
	 * Device-specific config space: return true if the access at @reg
	 * was handled (then the generic model does nothing).
	 */
	bool (*cfg_access)(struct pci_device *dev, u32 reg, u8 *data, u32 len,
			   bool is_write);
	/*
	 * Guest reset (the host bridge's reset): config space is back to its
	 * power-on state; reset the device's own part. Called with the host
	 * bridge's lock held.
	 */
	void (*reset)(struct pci_device *dev);
};

struct pci_msix_vector {
	u32 addr_lo, addr_hi, data, ctrl;	/* the table entry */
	struct msi_route route;
	bool routed;		/* route holds this entry's address/data */
};

struct pci_msix {
	unsigned int nr;	/* 0: no MSI-X capability */
	u8 cap;			/* its offset in config space */
	u8 bar;
	u32 table_off, pba_off;
	pthread_mutex_t lock;	/* table, PBA and delivery */
	u64 pba[PCI_MSIX_MAX / 64];
	struct pci_msix_vector vec[PCI_MSIX_MAX];
};

struct pci_device {
	const struct pci_device_ops *ops;
	void *priv;
	struct kvm *kvm;
	struct pci_host *host;	/* set by pci_register_device() */
	const char *name;

	u8 bus, devfn;		/* set by pci_register_device() */
	bool registered;
	u8 cfg[PCI_CFG_KEPT];
	u8 wmask[PCI_CFG_KEPT];	/* bits the guest may change */
	u8 w1cmask[PCI_CFG_KEPT];	/* bits the guest clears by writing 1 */
	u8 last_cap;		/* offset of the last capability, 0: none */
	u16 cap_end;		/* where the next capability goes */
	struct pci_bar bars[PCI_NR_BARS];
	struct pci_msix msix;

	bool intx_level;	/* the function asserts its INTx# pin */
};

/* Config space accessors (little-endian, no side effects). */
static inline u8 pci_cfg_read8(const struct pci_device *d, u32 reg)
{
	return d->cfg[reg];
}

static inline u16 pci_cfg_read16(const struct pci_device *d, u32 reg)
{
	return d->cfg[reg] | d->cfg[reg + 1] << 8;
}

static inline u32 pci_cfg_read32(const struct pci_device *d, u32 reg)
{
	return (u32)pci_cfg_read16(d, reg) | (u32)pci_cfg_read16(d, reg + 2) << 16;
}

static inline void pci_cfg_write8(struct pci_device *d, u32 reg, u8 v)
{
	d->cfg[reg] = v;
}

static inline void pci_cfg_write16(struct pci_device *d, u32 reg, u16 v)
{
	d->cfg[reg] = v;
	d->cfg[reg + 1] = v >> 8;
}

static inline void pci_cfg_write32(struct pci_device *d, u32 reg, u32 v)
{
	pci_cfg_write16(d, reg, v);
	pci_cfg_write16(d, reg + 2, v >> 16);
}

/* Make bits of config space writable (pci_cfg_write* style for wmask). */
void pci_set_wmask(struct pci_device *dev, u32 reg, u32 len, u32 mask);

/*
 * Set up a type-0 header: @class is the 24-bit class code (base, sub,
 * prog-if), the interrupt pin INTA.
 */
void pci_device_init(struct pci_device *dev, u16 vendor, u16 device,
		     u32 class, u8 revision, u16 subsys_vendor, u16 subsys_id);
/*
 * Add a memory BAR of @size bytes (a power of two, rounded up to
 * PCI_BAR_MIN_SIZE) whose accesses go to @handler. A 64-bit BAR also
 * takes slot @bar + 1. Returns 0 or -EINVAL.
 */
int pci_add_bar(struct pci_device *dev, int bar, u64 size, bool is_64,
		mmio_handler_t handler, void *opaque);
/*
 * Append a capability of @len bytes (header included) to the list;
 * returns its config space offset, or -ENOSPC. The caller fills in the
 * body and its write mask.
 */
int pci_add_cap(struct pci_device *dev, u8 id, u8 len);
/* First capability with @id at or after @from (0: from the start). */
int pci_find_cap(const struct pci_device *dev, u8 id, u8 from);

/*
 * Add an MSI-X capability with @nr vectors whose table and PBA live in
 * @bar at the given offsets; the device's BAR handler passes accesses
 * there to pci_msix_access().
 */
int pci_msix_init(struct pci_device *dev, unsigned int nr, int bar,
		  u32 table_off, u32 pba_off);
/* Returns true if @offset in @bar is the MSI-X table or PBA (handled). */
bool pci_msix_access(struct pci_device *dev, int bar, u64 offset, u8 *data,
		     u32 len, bool is_write);
bool pci_msix_enabled(struct pci_device *dev);
/*
 * Send MSI-X @vector: delivered now, or left pending in the PBA while it
 * is masked. Returns false if MSI-X is disabled or @vector is invalid.
 */
bool pci_msix_signal(struct pci_device *dev, unsigned int vector);

/* The function's INTx# pin (level); honours COMMAND.INTX_DISABLE. */
void pci_set_irq(struct pci_device *dev, bool level);

/*
 * Put @dev in the next free slot of bus 0, assign its BARs from the
 * memory window and bring up the host bridge if needed. Returns 0,
 * -ENOSPC or -ENOMEM.
 */
int pci_register_device(struct kvm *kvm, struct pci_device *dev);
/*
 * Take @dev off the bus (its slot stays empty): BARs stop decoding
 * (bar_update is called), MSI routes are released. No config or BAR
 * access reaches it once this returns.
 */
void pci_unregister_device(struct pci_device *dev);
/* Requester ID (bus << 8 | devfn), the ITS DeviceID. */
static inline u32 pci_requester_id(const struct pci_device *dev)
{
	return (u32)dev->bus << 8 | dev->devfn;
}

/*
 * The host bridge (kvm->pci) is made by the first pci_register_device():
 * it claims the ECAM and window on kvm->mmio, allocates the INTx SPIs
 * and joins the device registry, through which it writes its FDT node,
 * resets every function on a guest reset (as PCI RST# would: COMMAND
 * cleared, MSI-X disabled and every vector masked, then each function's
 * reset hook; BAR addresses stay) and goes away after its functions.
 */
int pci_host_setup(struct kvm *kvm);	/* idempotent; tests call it for an empty bus */
/* The SPI an INTx pin (1..4) of @slot is wired to, or -EINVAL. */
int pci_host_intx_spi(struct kvm *kvm, unsigned int slot, unsigned int pin);
/* The config space access the guest does through ECAM, @offset from its base. */
void pci_ecam_access(void *opaque, u64 offset, u8 *data, u32 len,
		     bool is_write);

#endif
