/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_MSI_H
#define LKVM_MSI_H

#include "lkvm/util.h"

struct kvm;

/*
 * MSIs through KVM's GSI routing table (kvm/msi.c, arm64 only).
 *
 * Once userspace sets a routing table (KVM_SET_GSI_ROUTING) it replaces
 * KVM's default one, which maps GSI n to SPI n. So the table we set
 * always starts with that identity mapping for every SPI (irqchip 0,
 * pin n), and irqfds bound to SPIs keep working (kvm/irqfd.c uses
 * gsi = SPI number); MSI routes take the GSIs after the SPIs.
 *
 * Each MSI route has an eventfd bound to its GSI with KVM_IRQFD, so a
 * device thread raises the interrupt with one write(). Without routing
 * support the route falls back to KVM_SIGNAL_MSI.
 */
struct msi_route {
	int gsi;		/* -1: none allocated yet */
	int efd;		/* irqfd bound to gsi, or -1 */
	u64 addr;
	u32 data;
	u32 devid;		/* requester ID, for the ITS */
};

void msi_route_init(struct msi_route *r);
/*
 * Route @r to (@addr, @data) from @devid: allocate a GSI on first use,
 * update the routing table and bind an irqfd. Returns 0 or -errno (then
 * msi_route_signal() falls back to KVM_SIGNAL_MSI).
 */
int msi_route_set(struct kvm *kvm, struct msi_route *r, u64 addr, u32 data,
		  u32 devid);
/* Unbind and free the GSI. */
void msi_route_release(struct kvm *kvm, struct msi_route *r);
/* Raise the MSI. Returns 0 or -errno. */
int msi_route_signal(struct kvm *kvm, struct msi_route *r);

#endif
