// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry (see lkvm/devices.h): a VM's devices in
 * registration order, and the walks every device takes part in.
 *
 * Devices register while the VM is built and leave when it is torn
 * down, so the walks (reboot, pause, stats) see a stable list; the lock
 * still guards the links against a device that leaves on its own (a
 * failed hot path) while a control-plane walk runs. Hooks are called
 * without the lock: they may take their own and call back into the
 * registry.
 */
#include <stdio.h>

#include "lkvm/devices.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"

void device_list_init(struct device_list *list)
{
	*list = (struct device_list) { 0 };
	pthread_mutex_init(&list->lock, NULL);
}

void device_register(struct kvm *kvm, struct device_header *dev)
{
	struct device_list *l = &kvm->devices;

	pthread_mutex_lock(&l->lock);
	dev->next = NULL;
	dev->prev = l->tail;
	if (l->tail)
		l->tail->next = dev;
	else
		l->head = dev;
	l->tail = dev;
	l->nr[dev->bus]++;
	pthread_mutex_unlock(&l->lock);
}

static bool device_listed(struct device_list *l, struct device_header *dev)
{
	struct device_header *d;

	for (d = l->head; d; d = d->next)
		if (d == dev)
			return true;
	return false;
}

void device_unregister(struct kvm *kvm, struct device_header *dev)
{
	struct device_list *l = &kvm->devices;

	pthread_mutex_lock(&l->lock);
	if (device_listed(l, dev)) {
		if (dev->prev)
			dev->prev->next = dev->next;
		else
			l->head = dev->next;
		if (dev->next)
			dev->next->prev = dev->prev;
		else
			l->tail = dev->prev;
		l->nr[dev->bus]--;
	}
	dev->next = dev->prev = NULL;
	pthread_mutex_unlock(&l->lock);
}

unsigned int device_count(struct kvm *kvm, enum device_bus bus)
{
	unsigned int n;

	pthread_mutex_lock(&kvm->devices.lock);
	n = kvm->devices.nr[bus];
	pthread_mutex_unlock(&kvm->devices.lock);
	return n;
}

/*
 * The next device after @dev in a walk (forwards or backwards), or the
 * first one when @dev is NULL. Taken under the lock, so a device that
 * left meanwhile ends the walk instead of leading it astray.
 */
static struct device_header *device_step(struct device_list *l,
					 struct device_header *dev,
					 bool backwards)
{
	struct device_header *next;

	pthread_mutex_lock(&l->lock);
	if (!dev)
		next = backwards ? l->tail : l->head;
	else if (!device_listed(l, dev))
		next = NULL;
	else
		next = backwards ? dev->prev : dev->next;
	pthread_mutex_unlock(&l->lock);
	return next;
}

#define for_each_device(l, d, back) \
	for ((d) = device_step(l, NULL, back); (d); (d) = device_step(l, d, back))

int devices_generate_fdt(struct kvm *kvm, void *fdt)
{
	struct device_header *d;
	int ret;

	for_each_device(&kvm->devices, d, false) {
		if (!d->ops->generate_fdt)
			continue;
		ret = d->ops->generate_fdt(d, fdt, kvm);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void devices_reset(struct kvm *kvm)
{
	struct device_header *d;

	for_each_device(&kvm->devices, d, true)
		if (d->ops->reset)
			d->ops->reset(d);
}

void devices_pause(struct kvm *kvm)
{
	struct device_header *d;

	for_each_device(&kvm->devices, d, true)
		if (d->ops->pause)
			d->ops->pause(d);
}

void devices_resume(struct kvm *kvm)
{
	struct device_header *d;

	for_each_device(&kvm->devices, d, false)
		if (d->ops->resume)
			d->ops->resume(d);
}

void devices_stats(struct kvm *kvm, device_stat_fn emit, void *ctx)
{
	struct device_header *d;

	for_each_device(&kvm->devices, d, false)
		if (d->ops->stats)
			d->ops->stats(d, emit, ctx);
}

void devices_exit(struct kvm *kvm)
{
	struct device_header *d;

	while ((d = device_step(&kvm->devices, NULL, true))) {
		device_unregister(kvm, d);
		pr_debug("exit %s", d->name);
		if (d->ops->exit)
			d->ops->exit(d, kvm);
	}
}

/*
 * The registry's place in the VM's bring-up (lkvm/init.h): nothing to
 * start, but its exit, between the devices' level and the terminal's,
 * tears every device down before what devices use goes.
 */
static int devices_init(struct kvm *kvm)
{
	return 0;
}

static void devices_exit_all(struct kvm *kvm)
{
	devices_exit(kvm);
}
lkvm_init(INIT_DEV_REGISTRY, devices_init, devices_exit_all);

/* --debug at exit: one line of counters per device that keeps any. */
struct stats_line {
	const struct device_header *dev;
	char buf[256];
	size_t len;
};

static void stats_flush(struct stats_line *l)
{
	if (l->dev && l->len)
		pr_info("device %s:%s", l->dev->name, l->buf);
	l->len = 0;
	l->buf[0] = 0;
}

static void stats_add(void *ctx, const struct device_header *dev,
		      const char *counter, u64 value)
{
	struct stats_line *l = ctx;
	int n;

	if (dev != l->dev) {
		stats_flush(l);
		l->dev = dev;
	}
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, " %s=%llu",
		     counter, (unsigned long long)value);
	if (n > 0)
		l->len = MIN(l->len + n, sizeof(l->buf) - 1);
}

void devices_report(struct kvm *kvm)
{
	struct stats_line l = { 0 };

	devices_stats(kvm, stats_add, &l);
	stats_flush(&l);
}
