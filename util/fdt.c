// SPDX-License-Identifier: GPL-2.0
/*
 * Device tree helpers that depend on no device and no interrupt
 * controller: the controller comes in as a struct fdt_irq_parent (see
 * lkvm/fdt-util.h for the whole helper layer).
 */
#include "lkvm/fdt-util.h"

int fdt_property_reg64(void *fdt, u64 addr, u64 size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

int fdt_property_spi(void *fdt, const struct fdt_irq_parent *irq, u32 spi,
		     u32 type)
{
	fdt32_t cells[FDT_IRQ_MAP_PARENT_MAX];
	unsigned int n = irq->spi_cells(cells, spi, type);

	return fdt_property(fdt, "interrupts", cells, n * sizeof(cells[0]));
}

unsigned int fdt_irq_map_parent(const struct fdt_irq_parent *irq,
				fdt32_t *cells, u32 spi, u32 type)
{
	unsigned int n = 0, i;

	cells[n++] = cpu_to_fdt32(irq->phandle);
	for (i = 0; i < irq->addr_cells; i++)
		cells[n++] = cpu_to_fdt32(0);
	return n + irq->spi_cells(cells + n, spi, type);
}
