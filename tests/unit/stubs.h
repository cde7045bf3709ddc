/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TEST_STUBS_H
#define LKVM_TEST_STUBS_H

#include <stddef.h>
#include <stdint.h>

struct console_ops;

extern int stub_next_spi;
extern int stub_irq_levels[64];
extern int stub_stop_status;
extern uint8_t stub_term_out[65536];
extern size_t stub_term_out_len;
extern const struct console_ops *stub_console;

#endif
