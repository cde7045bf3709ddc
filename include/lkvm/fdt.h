/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FDT_H
#define LKVM_FDT_H

#include "lkvm/util.h"

struct kvm;

#define LKVM_PHANDLE_GIC	1
#define LKVM_PHANDLE_APB_PCLK	2
#define LKVM_PHANDLE_ITS	3

/* The first cell of a GIC interrupt specifier. */
#define GIC_FDT_IRQ_TYPE_SPI	0
#define GIC_FDT_IRQ_TYPE_PPI	1

/*
 * Build the guest's device tree into @buf from the VM description (CPUs,
 * memory, GIC, registered devices, boot parameters). No KVM calls: the
 * unit tests drive it with a hand-made struct kvm.
 */
int fdt_build(struct kvm *kvm, void *buf, size_t size);
/* The GIC's interrupt specifiers: struct kvm's irq_parent while it runs. */
extern const struct fdt_irq_parent gic_fdt_irq_parent;

#endif
