// SPDX-License-Identifier: GPL-2.0
/*
 * Stand-ins for the KVM-facing functions (built only for arm64) that the
 * portable sources call, so those sources link into native unit tests.
 * Tests inspect the recorded calls through the stub_* variables.
 */
#include <string.h>
#include "lkvm/kvm.h"
#include "lkvm/term.h"
#include "stubs.h"

int stub_next_spi = 8;
int stub_irq_levels[64];
int stub_stop_status = -1;
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

void kvm_request_stop(struct kvm *kvm, int status)
{
	if (stub_stop_status < 0)
		stub_stop_status = status;
}

bool kvm_is_stopping(struct kvm *kvm)
{
	return stub_stop_status >= 0;
}

void term_set_console(const struct console_ops *ops)
{
	stub_console = ops;
}

void term_output(const u8 *buf, size_t len)
{
	size_t room = sizeof(stub_term_out) - stub_term_out_len;

	if (len > room)
		len = room;
	memcpy(stub_term_out + stub_term_out_len, buf, len);
	stub_term_out_len += len;
}
