// SPDX-License-Identifier: GPL-2.0
/*
 * --debug's MMIO exit table (kvm/mmio-stats.c): counts per address, the
 * eviction that lets a late, busy address in, and the sum over vCPUs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/mmio-stats.h"

/* Every exit is in a slot or in other: nothing is lost or counted twice. */
static u64 stats_total(const struct mmio_stats *s)
{
	u64 n = s->other;
	int i;

	for (i = 0; i < MMIO_STATS_SLOTS; i++)
		n += s->slot[i].reads + s->slot[i].writes;
	return n;
}

static const struct mmio_stat *stats_find(const struct mmio_stats *s,
					  u64 addr)
{
	int i;

	for (i = 0; i < MMIO_STATS_SLOTS; i++)
		if (s->slot[i].addr == addr &&
		    s->slot[i].reads + s->slot[i].writes)
			return &s->slot[i];
	return NULL;
}

static void test_counts_by_address(void **state)
{
	struct mmio_stats s = { 0 };
	const struct mmio_stat *st;

	mmio_stats_count(&s, 0x1000000, true);
	mmio_stats_count(&s, 0x1000005, false);
	mmio_stats_count(&s, 0x1000000, true);
	mmio_stats_count(&s, 0x1000000, false);
	st = stats_find(&s, 0x1000000);
	assert_non_null(st);
	assert_int_equal(st->writes, 2);
	assert_int_equal(st->reads, 1);
	st = stats_find(&s, 0x1000005);
	assert_non_null(st);
	assert_int_equal(st->reads, 1);
	assert_int_equal(s.other, 0);
	assert_int_equal(stats_total(&s), 4);
}

/*
 * A table full of addresses that exited once or twice (the boot's PCI
 * probes) still takes an address that starts exiting later: it replaces
 * the least-exited one, whose count moves to other.
 */
static void test_busy_address_gets_in(void **state)
{
	struct mmio_stats s = { 0 };
	const struct mmio_stat *st;
	int i;

	for (i = 0; i < MMIO_STATS_SLOTS; i++) {
		mmio_stats_count(&s, 0x30000000 + 8 * i, false);
		mmio_stats_count(&s, 0x30000000 + 8 * i, false);
	}
	mmio_stats_count(&s, 0x30000000, true);	/* the first: 3 exits */
	for (i = 0; i < 300; i++)
		mmio_stats_count(&s, 0x1000000, true);
	st = stats_find(&s, 0x1000000);
	assert_non_null(st);
	/* once in, it keeps its slot: every one of its exits is there */
	assert_int_equal(st->writes, 300);
	assert_int_equal(s.other, 2);		/* one probe address */
	assert_non_null(stats_find(&s, 0x30000000));
	assert_int_equal(stats_total(&s), 2 * MMIO_STATS_SLOTS + 1 + 300);
}

/* The vCPUs' tables add up by address; what has no room is other. */
static void test_sum_over_vcpus(void **state)
{
	struct mmio_stats a = { 0 }, b = { 0 }, sum = { 0 };
	const struct mmio_stat *st;
	int i;

	mmio_stats_count(&a, 0x1000000, true);
	mmio_stats_count(&b, 0x1000000, true);
	mmio_stats_count(&b, 0x1000005, false);
	b.other = 7;
	mmio_stats_add(&sum, &a);
	mmio_stats_add(&sum, &b);
	st = stats_find(&sum, 0x1000000);
	assert_non_null(st);
	assert_int_equal(st->writes, 2);
	assert_int_equal(sum.other, 7);
	assert_int_equal(stats_total(&sum), stats_total(&a) + stats_total(&b));

	/* a sum already full keeps its slots */
	for (i = 0; i < MMIO_STATS_SLOTS; i++)
		mmio_stats_count(&a, 0x40000000 + 4 * i, false);
	memset(&sum, 0, sizeof(sum));
	mmio_stats_add(&sum, &a);
	mmio_stats_add(&sum, &b);
	assert_int_equal(stats_total(&sum), stats_total(&a) + stats_total(&b));
	assert_null(stats_find(&sum, 0x1000005));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_by_address),
		cmocka_unit_test(test_busy_address_gets_in),
		cmocka_unit_test(test_sum_over_vcpus),
	};

	return cmocka_run_group_tests_name("mmio-stats", tests, NULL, NULL);
}
