// SPDX-License-Identifier: GPL-2.0
/*
 * --debug's table of MMIO exits by guest address (include/lkvm/mmio-stats.h),
 * apart from the vCPU loop that feeds it (kvm/kvm-cpu.c) so that it can
 * be tested without a VM. A handful of slots, searched linearly: only
 * --debug counts, and a guest that exits to userspace at a rate where
 * the search would show has bigger problems, which this table names.
 */
#include "lkvm/mmio-stats.h"

static u64 stat_total(const struct mmio_stat *st)
{
	return st->reads + st->writes;
}

/* @addr's slot, or the first free one; NULL if neither. */
static struct mmio_stat *stat_find(struct mmio_stats *s, u64 addr)
{
	int i;

	for (i = 0; i < MMIO_STATS_SLOTS; i++) {
		struct mmio_stat *st = &s->slot[i];

		if (st->addr == addr || !stat_total(st))
			return st;
	}
	return NULL;
}

/* Empty the slot whose address exited least; its count goes to other. */
static struct mmio_stat *stat_evict(struct mmio_stats *s)
{
	struct mmio_stat *least = &s->slot[0];
	int i;

	for (i = 1; i < MMIO_STATS_SLOTS; i++)
		if (stat_total(&s->slot[i]) < stat_total(least))
			least = &s->slot[i];
	s->other += stat_total(least);
	least->reads = least->writes = 0;
	return least;
}

void mmio_stats_count(struct mmio_stats *s, u64 addr, bool is_write)
{
	struct mmio_stat *st = stat_find(s, addr);

	if (!st)
		st = stat_evict(s);
	st->addr = addr;
	if (is_write)
		st->writes++;
	else
		st->reads++;
}

void mmio_stats_add(struct mmio_stats *sum, const struct mmio_stats *s)
{
	int i;

	sum->other += s->other;
	for (i = 0; i < MMIO_STATS_SLOTS && stat_total(&s->slot[i]); i++) {
		const struct mmio_stat *from = &s->slot[i];
		struct mmio_stat *to = stat_find(sum, from->addr);

		if (!to) {
			sum->other += stat_total(from);
			continue;
		}
		to->addr = from->addr;
		to->reads += from->reads;
		to->writes += from->writes;
	}
}
