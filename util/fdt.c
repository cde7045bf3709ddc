// SPDX-License-Identifier: GPL-2.0
/*
 * Device tree helpers that depend on no device and no interrupt
 * controller (see lkvm/fdt-util.h for the whole helper layer).
 */
#include "lkvm/fdt-util.h"

int fdt_property_reg64(void *fdt, u64 addr, u64 size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}
