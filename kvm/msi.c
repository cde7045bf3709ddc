// SPDX-License-Identifier: GPL-2.0
/*
 * MSI routes: KVM's GSI routing table and an irqfd per route (see
 * lkvm/msi.h). The table is rebuilt and set as a whole on every change;
 * changes happen when the guest programs an MSI-X vector, which is rare.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/init.h"
#include "lkvm/irqfd.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/msi.h"

/* GSIs 0..MSI_GSI_BASE-1 are the SPIs, as in KVM's default table. */
#define MSI_GSI_BASE		(LKVM_NR_IRQS - LKVM_SPI_BASE)
#define MSI_MAX_ROUTES		1024

/* kvm->msi: from msi_init() to msi_exit(). */
struct msi_state {
	pthread_mutex_t lock;
	struct kvm_irq_routing_entry entries[MSI_MAX_ROUTES];
	bool used[MSI_MAX_ROUTES];
	bool routing_broken;	/* KVM refused a table: use KVM_SIGNAL_MSI */
};

void msi_route_init(struct msi_route *r)
{
	*r = (struct msi_route) { .gsi = -1, .efd = -1 };
}

/* Called with the lock held. */
static int commit_routes(struct kvm *kvm)
{
	struct msi_state *st = kvm->msi;
	unsigned int nr_spis = MSI_GSI_BASE, n = 0, i;
	unsigned int nr_used = 0;
	struct kvm_irq_routing *table;
	size_t size;
	int ret = 0;

	for (i = 0; i < MSI_MAX_ROUTES; i++)
		nr_used += st->used[i];
	/*
	 * Sized to the routes in use (a full table would be 60 KiB), and
	 * mapped for the ioctl alone: the SPI routes make even the smallest
	 * table 11 KiB, which malloc would keep resident after free().
	 */
	size = sizeof(*table) + (nr_spis + nr_used) * sizeof(table->entries[0]);
	table = zalloc_lazy(size);
	if (!table)
		return -ENOMEM;
	/* Keep KVM's default GSI n -> SPI n for irqfds of SPIs. */
	for (i = 0; i < nr_spis; i++) {
		table->entries[n++] = (struct kvm_irq_routing_entry) {
			.gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = i },
		};
	}
	for (i = 0; i < MSI_MAX_ROUTES; i++) {
		if (st->used[i])
			table->entries[n++] = st->entries[i];
	}
	table->nr = n;
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, table) < 0) {
		ret = -errno;
		pr_warn("KVM_SET_GSI_ROUTING (%u routes): %s; MSIs go through KVM_SIGNAL_MSI",
			n, strerror(errno));
		st->routing_broken = true;
	}
	zfree_lazy(table, size);
	return ret;
}

int msi_route_set(struct kvm *kvm, struct msi_route *r, u64 addr, u32 data,
		  u32 devid)
{
	struct msi_state *st = kvm->msi;
	struct kvm_irq_routing_entry *e;
	unsigned int i;
	int ret, fd;

	r->addr = addr;
	r->data = data;
	r->devid = devid;

	pthread_mutex_lock(&st->lock);
	if (st->routing_broken) {
		ret = -ENOSYS;
		goto out;
	}
	if (r->gsi < 0) {
		for (i = 0; i < MSI_MAX_ROUTES && st->used[i]; i++)
			;
		if (i == MSI_MAX_ROUTES) {
			pr_warn_ratelimited("out of MSI routes");
			ret = -ENOSPC;
			goto out;
		}
		st->used[i] = true;
		r->gsi = MSI_GSI_BASE + i;
	}
	e = &st->entries[r->gsi - MSI_GSI_BASE];
	*e = (struct kvm_irq_routing_entry) {
		.gsi = r->gsi, .type = KVM_IRQ_ROUTING_MSI,
		.flags = KVM_MSI_VALID_DEVID,
		.u.msi = {
			.address_lo = (u32)addr, .address_hi = addr >> 32,
			.data = data, .devid = devid,
		},
	};
	ret = commit_routes(kvm);
	if (ret < 0)
		goto out;
	if (r->efd < 0) {
		/* An irqfd follows its GSI's route when the table changes. */
		fd = irqfd_add_gsi(kvm, r->gsi);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
		r->efd = fd;
	}
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

void msi_route_release(struct kvm *kvm, struct msi_route *r)
{
	struct msi_state *st = kvm->msi;

	pthread_mutex_lock(&st->lock);
	if (r->efd >= 0)
		irqfd_del(kvm, r->efd, r->gsi);
	if (r->gsi >= 0)
		st->used[r->gsi - MSI_GSI_BASE] = false;
	pthread_mutex_unlock(&st->lock);
	msi_route_init(r);
}

int msi_route_signal(struct kvm *kvm, struct msi_route *r)
{
	struct kvm_msi msi = {
		.address_lo = (u32)r->addr, .address_hi = r->addr >> 32,
		.data = r->data, .flags = KVM_MSI_VALID_DEVID, .devid = r->devid,
	};
	int ret;

	if (r->efd >= 0)
		return irqfd_trigger(r->efd);
	/* 0: the guest blocked it (e.g. no ITS mapping yet); > 0: delivered. */
	ret = ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi);
	if (ret < 0) {
		pr_warn_ratelimited("KVM_SIGNAL_MSI (0x%llx, %u): %s",
				    (unsigned long long)r->addr, r->data,
				    strerror(errno));
		return -errno;
	}
	return 0;
}

static int msi_init(struct kvm *kvm)
{
	/* 49 KiB of routes, used from the first: pages only as used */
	struct msi_state *st = zalloc_lazy(sizeof(*st));

	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	kvm->msi = st;
	return 0;
}

/* Devices have released their routes by now (exits run in reverse). */
static void msi_exit(struct kvm *kvm)
{
	pthread_mutex_destroy(&kvm->msi->lock);
	zfree_lazy(kvm->msi, sizeof(*kvm->msi));
	kvm->msi = NULL;
}
lkvm_init(INIT_IRQCHIP, msi_init, msi_exit);
