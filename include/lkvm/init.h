/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_INIT_H
#define LKVM_INIT_H

struct kvm;

/*
 * Subsystems and devices register an init and an exit function at a level;
 * init_all() runs them in level order (and in link order within a level),
 * exit_all() runs the exits of those that were initialised, in reverse.
 * Adding a device is one new file with one lkvm_init() line; the device
 * joins the VM's registry (lkvm/devices.h), whose walk tears it down.
 * The items are code, shared by every VM of the process; what each VM
 * brought up is its own struct init_state.
 */
enum init_level {
	INIT_CORE,	/* VM, memory */
	INIT_IRQCHIP,	/* vGIC */
	INIT_CPU,	/* vCPUs (the vGIC is finalised after this) */
	INIT_IRQCHIP_LATE,
	INIT_DEV_BASE,	/* terminal, console watch */
	INIT_DEV_REGISTRY, /* its exit tears down every registered device */
	INIT_DEV,	/* UART, RTC, virtio devices (the PCI host on demand) */
	INIT_FIRMWARE,	/* kernel, initrd and FDT */
	INIT_LATE,
	INIT_NR_LEVELS,
};

struct init_item {
	const char *name;
	enum init_level level;
	int (*init)(struct kvm *kvm);
	void (*exit)(struct kvm *kvm);
	struct init_item *next;
};

#define INIT_MAX_ITEMS	32

/* One VM's progress: the items whose init succeeded, in order. */
struct init_state {
	const struct init_item *done[INIT_MAX_ITEMS];
	unsigned int nr_done;
};

void init_register(struct init_item *item);
int init_all(struct init_state *st, struct kvm *kvm);
void exit_all(struct init_state *st, struct kvm *kvm);

#define lkvm_init(_level, _init, _exit)					\
	static struct init_item __init_item_##_init = {			\
		.name = #_init, .level = _level,			\
		.init = _init, .exit = _exit,				\
	};								\
	static void __attribute__((constructor)) __register_##_init(void) \
	{								\
		init_register(&__init_item_##_init);			\
	}

#endif
