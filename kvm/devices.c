// SPDX-License-Identifier: GPL-2.0
/* The list of devices that describe themselves in the device tree. */
#include "lkvm/devices.h"
#include "lkvm/kvm.h"

void device_register(struct kvm *kvm, struct device_header *dev)
{
	if (!kvm->devices_tail)
		kvm->devices_tail = &kvm->devices;
	dev->next = NULL;
	*kvm->devices_tail = dev;
	kvm->devices_tail = &dev->next;
}

void device_unregister(struct kvm *kvm, struct device_header *dev)
{
	struct device_header **p;

	for (p = &kvm->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	kvm->devices_tail = &kvm->devices;
	while (*kvm->devices_tail)
		kvm->devices_tail = &(*kvm->devices_tail)->next;
}
