/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --debug's count of MMIO exits by guest address (kvm/mmio-stats.c): a
 * small table per vCPU, summed at exit into the lines that say which
 * device register a guest keeps trapping on.
 */
#ifndef LKVM_MMIO_STATS_H
#define LKVM_MMIO_STATS_H

#include <stdbool.h>
#include "lkvm/util.h"

#define MMIO_STATS_SLOTS	24

struct mmio_stat {
	u64 addr;
	u64 reads, writes;
};

struct mmio_stats {
	struct mmio_stat slot[MMIO_STATS_SLOTS];	/* used from the front */
	u64 other;	/* exits of addresses evicted, or with no room in a sum */
};

/*
 * Count one exit at @addr. A new address in a full table takes the slot
 * of the address that exited least, whose count moves to ->other: the
 * PCI probes at boot fill the table with addresses read once, and an
 * address that starts exiting later must still get a slot.
 */
void mmio_stats_count(struct mmio_stats *s, u64 addr, bool is_write);
/* Add @s into @sum, address by address; what has no room goes to other. */
void mmio_stats_add(struct mmio_stats *sum, const struct mmio_stats *s);

#endif
