/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DEVICES_H
#define LKVM_DEVICES_H

#include "lkvm/util.h"

struct kvm;

/*
 * Every device that appears in the guest's device tree registers a
 * device_header. arm/fdt.c walks them in registration order and calls
 * generate_fdt to add the device's node.
 */
struct device_header {
	const char *name;
	/* Adds the node under the root node (libfdt sequential-write API). */
	int (*generate_fdt)(void *fdt, struct kvm *kvm, void *opaque);
	void *opaque;
	struct device_header *next;
};

void device_register(struct kvm *kvm, struct device_header *dev);
void device_unregister(struct kvm *kvm, struct device_header *dev);

#endif
