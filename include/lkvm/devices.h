/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DEVICES_H
#define LKVM_DEVICES_H

/*
 * The device registry: one list per VM (struct kvm's struct device_list)
 * that every device joins with one device_header: the UART, the RTC, the
 * PCI host bridge, every virtio device on either transport. Everything
 * that concerns all devices walks it: the device tree, the guest reset,
 * pause/resume, statistics and tear-down. Nothing in the core names a
 * device; a new device is one file that registers itself.
 *
 * Order: devices are kept in registration order. The device tree and
 * resume walk it forwards; reset, pause and exit walk it backwards, so
 * that a device is quiesced before the bus it sits on (a virtio-pci
 * device before the PCI host bridge), as Linux shuts devices down.
 */
#include <pthread.h>

#include "lkvm/util.h"

struct kvm;
struct device_header;

/* Where a device sits, for the walkers that care (kvmtool's bus types). */
enum device_bus {
	DEVICE_BUS_PLATFORM,	/* fixed MMIO: UART, RTC, the PCI host bridge */
	DEVICE_BUS_VIRTIO_MMIO,
	DEVICE_BUS_PCI,		/* a function behind the PCI host bridge */
	DEVICE_NR_BUSES,
};

/* One counter of a device, for lkvm stat and the --debug report. */
typedef void (*device_stat_fn)(void *ctx, const struct device_header *dev,
			       const char *counter, u64 value);

/* Every hook is optional. */
struct device_ops {
	/* Add the device's node(s) under the root node (sequential-write libfdt). */
	int (*generate_fdt)(struct device_header *dev, void *fdt,
			    struct kvm *kvm);
	/* Guest reset (reboot): back to the power-on state. vCPUs are parked. */
	void (*reset)(struct device_header *dev);
	/* Take no new guest work until resume; work in flight may complete. */
	void (*pause)(struct device_header *dev);
	void (*resume)(struct device_header *dev);
	/* Report each counter through @emit. */
	void (*stats)(struct device_header *dev, device_stat_fn emit, void *ctx);
	/* Tear down and free: called once, after the device left the list. */
	void (*exit)(struct device_header *dev, struct kvm *kvm);
};

struct device_header {
	const char *name;	/* e.g. "uart", "blk0", "pci" */
	enum device_bus bus;
	const struct device_ops *ops;
	void *opaque;		/* the device's own state */
	struct device_header *next, *prev;
};

/* A VM's registry (in struct kvm). */
struct device_list {
	pthread_mutex_t lock;	/* the links; hooks are called without it */
	struct device_header *head, *tail;
	unsigned int nr[DEVICE_NR_BUSES];
};

void device_list_init(struct device_list *list);
void device_register(struct kvm *kvm, struct device_header *dev);
/* Take @dev off the list without calling its exit hook. */
void device_unregister(struct kvm *kvm, struct device_header *dev);
unsigned int device_count(struct kvm *kvm, enum device_bus bus);

int devices_generate_fdt(struct kvm *kvm, void *fdt);
void devices_reset(struct kvm *kvm);
void devices_pause(struct kvm *kvm);
void devices_resume(struct kvm *kvm);
void devices_stats(struct kvm *kvm, device_stat_fn emit, void *ctx);
/* Print every device's counters, a line each (the --debug report). */
void devices_report(struct kvm *kvm);
/* Unregister every device and call its exit hook, newest first. */
void devices_exit(struct kvm *kvm);

#endif
