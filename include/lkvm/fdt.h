/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FDT_H
#define LKVM_FDT_H

#include "lkvm/util.h"

struct kvm;

#define LKVM_PHANDLE_GIC	1
#define LKVM_PHANDLE_APB_PCLK	2
#define LKVM_PHANDLE_ITS	3

/* Interrupt specifier cells for the GIC binding. */
#define GIC_FDT_IRQ_TYPE_SPI	0
#define GIC_FDT_IRQ_TYPE_PPI	1
#define IRQ_TYPE_EDGE_RISING	1
#define IRQ_TYPE_LEVEL_HIGH	4
#define IRQ_TYPE_LEVEL_LOW	8

/*
 * Build the guest's device tree into @buf from the VM description (CPUs,
 * memory, GIC, registered devices, boot parameters). No KVM calls: the
 * unit tests drive it with a hand-made struct kvm.
 */
int fdt_build(struct kvm *kvm, void *buf, size_t size);

/* Helpers for device nodes: a 64-bit address/size "reg" and an SPI. */
int fdt_property_reg64(void *fdt, u64 addr, u64 size);
int fdt_property_spi(void *fdt, u32 spi, u32 type);

#endif
