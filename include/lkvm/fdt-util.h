/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FDT_UTIL_H
#define LKVM_FDT_UTIL_H

/*
 * Helpers every device tree writer shares (arm/fdt.c and each device's
 * generate_fdt): the error-propagating check, a 64-bit "reg", and the
 * interrupt specifiers, whose shape only the interrupt controller knows.
 */
#include <libfdt.h>

#include "lkvm/util.h"

/* Return a negative libfdt error from the enclosing function. */
#define FDT_CHECK(x) do { int __r = (x); if (__r < 0) return __r; } while (0)

/* Trigger types of interrupt specifiers (dt-bindings/interrupt-controller/irq.h). */
#define IRQ_TYPE_EDGE_RISING	1
#define IRQ_TYPE_LEVEL_HIGH	4
#define IRQ_TYPE_LEVEL_LOW	8

/* "reg" of one region, for a parent with #address-cells = #size-cells = 2 (util/fdt.c). */
int fdt_property_reg64(void *fdt, u64 addr, u64 size);

/*
 * How devices name their interrupts: the interrupt controller (the GIC,
 * arm/fdt.c) supplies one of these in struct kvm, so that devices and
 * the PCI host never spell out the controller's cells themselves.
 */
struct fdt_irq_parent {
	u32 phandle;
	u32 addr_cells;		/* its #address-cells (interrupt-map) */
	/* The specifier of shared line @spi; returns the cells written. */
	unsigned int (*spi_cells)(fdt32_t *cells, u32 spi, u32 type);
};

/* Cells of the longest specifier or interrupt-map parent entry. */
#define FDT_IRQ_MAP_PARENT_MAX	8

/* "interrupts" of one shared interrupt line @spi. */
int fdt_property_spi(void *fdt, const struct fdt_irq_parent *irq, u32 spi,
		     u32 type);
/*
 * The parent half of an "interrupt-map" entry for line @spi: the
 * controller's phandle, its unit address and its interrupt specifier.
 * Writes at most FDT_IRQ_MAP_PARENT_MAX cells and returns how many.
 */
unsigned int fdt_irq_map_parent(const struct fdt_irq_parent *irq,
				fdt32_t *cells, u32 spi, u32 type);

#endif
