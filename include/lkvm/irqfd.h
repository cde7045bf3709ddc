/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IRQFD_H
#define LKVM_IRQFD_H

#include "lkvm/util.h"

struct kvm;

/*
 * Interrupts injected by KVM when an eventfd is written (KVM_IRQFD), so a
 * device thread raises one with a write(2) and no KVM_IRQ_LINE round trip.
 * An irqfd injects a pulse (1 then 0): give its SPI an edge-triggered
 * binding, or the vGIC may drop it before a vCPU sees it.
 *
 * irqfd_add_gsi() binds a new eventfd to @gsi and returns it, or -errno
 * (-ENOSYS without KVM_CAP_IRQFD: fall back to irq_set_level()). On arm64
 * with no routing table, GSI n is SPI n (INTID 32 + n); with routes set
 * (KVM_SET_GSI_ROUTING, e.g. for MSIs) it is whatever the route says.
 * irqfd_add() is the same for an SPI number from irq_alloc_spi().
 */
int irqfd_add_gsi(struct kvm *kvm, u32 gsi);
int irqfd_add(struct kvm *kvm, u32 spi);
/* Inject: returns 0 or -errno. Async-signal and thread safe. */
int irqfd_trigger(int fd);
/* Unbind and close @fd, which irqfd_add*(kvm, @gsi) returned. */
void irqfd_del(struct kvm *kvm, int fd, u32 gsi);

#endif
