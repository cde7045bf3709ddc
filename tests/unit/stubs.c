// SPDX-License-Identifier: GPL-2.0
/*
 * Stand-ins for the KVM-facing functions (built only for arm64) that the
 * portable sources call, so those sources link into native unit tests.
 * Tests inspect the recorded calls through the stub_* variables.
 */
#include <errno.h>
#include <string.h>
#include "lkvm/kvm.h"
#include "lkvm/term.h"
#include "stubs.h"

int stub_next_spi = 8;
int stub_irq_levels[64];
u8 stub_term_out[65536];
size_t stub_term_out_len;
const struct console_ops *stub_console;

int irq_alloc_spi(struct kvm *kvm)
{
	return stub_next_spi++;
}

int irq_set_level(struct kvm *kvm, u32 spi, int level)
{
	if (spi < ARRAY_SIZE(stub_irq_levels))
		stub_irq_levels[spi] = level;
	return 0;
}

void term_set_console(struct kvm *kvm, const struct console_ops *ops)
{
	stub_console = ops;
}

void term_output(struct kvm *kvm, const u8 *buf, size_t len)
{
	size_t room = sizeof(stub_term_out) - stub_term_out_len;

	if (len > room)
		len = room;
	memcpy(stub_term_out + stub_term_out_len, buf, len);
	stub_term_out_len += len;
}

/* ---- PCI (hw/pci.c, virtio/pci.c): MSI routes and ioeventfds ---- */
#include "lkvm/ioeventfd.h"
#include "lkvm/msi.h"

int stub_msi_sets;
int stub_msi_signals;
u64 stub_msi_last_addr;
u32 stub_msi_last_data, stub_msi_last_devid;
int stub_ioeventfds;		/* currently added */
u64 stub_ioeventfd_addr[64];
int stub_ioeventfd_fail;	/* -errno the next adds return, or 0 */
struct stub_ioeventfd_call stub_ioeventfd_last;

void msi_route_init(struct msi_route *r)
{
	*r = (struct msi_route) { .gsi = -1, .efd = -1 };
}

int msi_route_set(struct kvm *kvm, struct msi_route *r, u64 addr, u32 data,
		  u32 devid)
{
	r->addr = addr;
	r->data = data;
	r->devid = devid;
	if (r->gsi < 0)
		r->gsi = 1000 + stub_msi_sets;
	stub_msi_sets++;
	return 0;
}

void msi_route_release(struct kvm *kvm, struct msi_route *r)
{
	msi_route_init(r);
}

int msi_route_signal(struct kvm *kvm, struct msi_route *r)
{
	stub_msi_signals++;
	stub_msi_last_addr = r->addr;
	stub_msi_last_data = r->data;
	stub_msi_last_devid = r->devid;
	return 0;
}

struct ioeventfd {
	int slot;
};

static struct ioeventfd stub_ioev[64];
static bool stub_ioev_used[64];

static int stub_ioev_add(u64 addr, u32 len, const u64 *datamatch,
			 void (*fn)(void *opaque), void *opaque, int fd,
			 struct ioeventfd **evp)
{
	unsigned int i;

	stub_ioeventfd_last = (struct stub_ioeventfd_call) {
		.addr = addr, .len = len, .has_datamatch = datamatch != NULL,
		.datamatch = datamatch ? *datamatch : 0, .fn = fn,
		.opaque = opaque, .fd = fd,
	};
	if (stub_ioeventfd_fail)
		return stub_ioeventfd_fail;
	for (i = 0; i < ARRAY_SIZE(stub_ioev); i++) {
		if (!stub_ioev_used[i]) {
			stub_ioev_used[i] = true;
			stub_ioev[i].slot = i;
			stub_ioeventfd_addr[i] = addr;
			stub_ioeventfds++;
			*evp = &stub_ioev[i];
			return 0;
		}
	}
	return -1;
}

int ioeventfd_add(struct kvm *kvm, u64 addr, u32 len, const u64 *datamatch,
		  void (*fn)(void *opaque), void *opaque,
		  struct ioeventfd **evp)
{
	return stub_ioev_add(addr, len, datamatch, fn, opaque, -1, evp);
}

void ioeventfd_del(struct ioeventfd *ev)
{
	if (!ev)
		return;
	stub_ioev_used[ev->slot] = false;
	stub_ioeventfd_addr[ev->slot] = 0;
	stub_ioeventfds--;
}

/* set_kick_fd (vhost, io_uring): the same slots. */
int ioeventfd_add_fd(struct kvm *kvm, u64 addr, u32 len, const u64 *datamatch,
		     int fd, struct ioeventfd **evp)
{
	return stub_ioev_add(addr, len, datamatch, NULL, NULL, fd, evp);
}

/* ---- virtio-mmio (virtio/mmio.c): no irqfds, interrupts by level ---- */
#include "lkvm/irqfd.h"

int irqfd_add(struct kvm *kvm, u32 spi)
{
	return -ENOSYS;
}

int irqfd_trigger(int fd)
{
	return -ENOSYS;
}

void irqfd_del(struct kvm *kvm, int fd, u32 gsi)
{
}

/* ---- vCPU parking (kvm/pause.c): the guest's virtual counter ---- */
#include "lkvm/kvm-cpu.h"

u64 stub_counter = 1234;
int stub_counter_sets;
u64 stub_counter_set_value;

int kvm_cpu_arch_get_counter(struct kvm_cpu *cpu, u64 *cnt)
{
	*cnt = stub_counter;
	return 0;
}

int kvm_cpu_arch_set_counter(struct kvm_cpu *cpu, u64 cnt)
{
	stub_counter_sets++;
	stub_counter_set_value = cnt;
	return 0;
}
