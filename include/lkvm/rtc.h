/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_RTC_H
#define LKVM_RTC_H

#include <pthread.h>
#include "lkvm/util.h"

/*
 * Register model of an ARM PL031 RTC, free of KVM dependencies. The
 * counter is the host's clock plus an offset the guest sets through LR.
 * There is no timer behind the match register: a match is noticed (and
 * the interrupt raised) at the next access to the RTC after the counter
 * reached it.
 */
struct pl031 {
	pthread_mutex_t lock;
	s64 offset;		/* guest time - host time, in seconds */
	u32 lr;			/* last value loaded */
	u32 match, imsc, ris;
	bool armed;		/* MR was written and has not matched since */
	u32 last;		/* counter when that was last checked */
	bool enabled;
	int irq_level;
	u64 (*now)(void);	/* host seconds; replaceable for tests */
	void (*set_irq)(void *ctx, int level);	/* optional */
	void *ctx;
};

void pl031_init(struct pl031 *rtc);
void pl031_reset(struct pl031 *rtc);
void pl031_exit(struct pl031 *rtc);
/* MMIO access to the 4 KiB register page (32 bit accesses only). */
void pl031_mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write);

#endif
