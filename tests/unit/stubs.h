/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TEST_STUBS_H
#define LKVM_TEST_STUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct console_ops;
struct kvm;

extern int stub_next_spi;
extern int stub_irq_levels[64];
extern uint8_t stub_term_out[65536];
extern size_t stub_term_out_len;
extern const struct console_ops *stub_console;

/* PCI */
extern int stub_msi_sets;
extern int stub_msi_signals;
extern uint64_t stub_msi_last_addr;
extern uint32_t stub_msi_last_data, stub_msi_last_devid;
extern int stub_ioeventfds;
extern uint64_t stub_ioeventfd_addr[64];
/* The arguments of the last ioeventfd_add() or ioeventfd_add_fd(). */
struct stub_ioeventfd_call {
	uint64_t addr, datamatch;
	uint32_t len;
	bool has_datamatch;
	void (*fn)(void *opaque);
	void *opaque;
	int fd;			/* ioeventfd_add_fd()'s, else -1 */
};
extern struct stub_ioeventfd_call stub_ioeventfd_last;
extern int stub_ioeventfd_fail;

/* vCPU parking: the counter get returns stub_counter; sets recorded */
extern uint64_t stub_counter;
extern int stub_counter_sets;
extern uint64_t stub_counter_set_value;

#endif
