/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FDT_UTIL_H
#define LKVM_FDT_UTIL_H

/*
 * Helpers every device tree writer shares (arm/fdt.c and each device's
 * generate_fdt): the error-propagating check, a 64-bit "reg", and the
 * interrupt specifiers, whose shape only the interrupt controller knows.
 * Devices use these instead of spelling out GIC cells themselves.
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
 * Supplied by the interrupt controller (arm/fdt.c, the GIC).
 *
 * fdt_property_spi(): "interrupts" of one shared interrupt line @spi.
 *
 * fdt_irq_map_parent(): the parent half of an "interrupt-map" entry for
 * line @spi: the controller's phandle, its unit address and its
 * interrupt specifier. Writes at most FDT_IRQ_MAP_PARENT_MAX cells to
 * @cells and returns how many it wrote.
 */
#define FDT_IRQ_MAP_PARENT_MAX	8
int fdt_property_spi(void *fdt, u32 spi, u32 type);
unsigned int fdt_irq_map_parent(fdt32_t *cells, u32 spi, u32 type);

#endif
