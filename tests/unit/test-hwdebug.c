// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware breakpoints and watchpoints (arm64/hwdebug.c): the debug
 * register values for each gdb request (fields checked one by one
 * against the Arm ARM layout), the ranges the hardware cannot watch,
 * slot accounting (idempotent inserts, full, removal), the arrays for
 * KVM_SET_GUEST_DEBUG and matching a watchpoint hit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/hwdebug.h"

static char errbuf[256];
static struct hwdebug hd;

/* A field of a debug register. */
static u64 field(u64 reg, int lo, int width)
{
	return (reg >> lo) & ((1ULL << width) - 1);
}

static int insert(enum hwdebug_type t, u64 addr, u64 len)
{
	errbuf[0] = '\0';
	return hwdebug_insert(&hd, t, addr, len, errbuf, sizeof(errbuf));
}

static void test_breakpoint(void **state)
{
	hwdebug_init(&hd, 6, 4);
	assert_int_equal(insert(HWDEBUG_BREAK, 0xffff800008123458ULL, 4), 0);
	assert_true(hd.bp[0].used);
	assert_int_equal(field(hd.bp[0].ctrl, 0, 1), 1);	/* E */
	assert_int_equal(field(hd.bp[0].ctrl, 1, 2), 3);	/* PMC: EL1, EL0 */
	assert_int_equal(field(hd.bp[0].ctrl, 5, 4), 0xf);	/* BAS: A64 */
	assert_int_equal(field(hd.bp[0].ctrl, 20, 4), 0);	/* BT: address */
	assert_int_equal(hd.bp[0].value, 0xffff800008123458ULL);
	/* bits 63:53 copy bit 52 */
	assert_int_equal(insert(HWDEBUG_BREAK, 0x0010000000001000ULL, 4), 0);
	assert_int_equal(hd.bp[1].value, 0xfff0000000001000ULL);
	assert_int_equal(insert(HWDEBUG_BREAK, 0x1002, 4), -EINVAL);
	assert_non_null(strstr(errbuf, "aligned"));
	assert_int_equal(insert(HWDEBUG_BREAK, 0x1000, 2), -EINVAL);
}

static void test_watchpoint_bas(void **state)
{
	hwdebug_init(&hd, 6, 4);
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x40001006, 2), 0);
	assert_int_equal(field(hd.wp[0].ctrl, 0, 1), 1);
	assert_int_equal(field(hd.wp[0].ctrl, 1, 2), 3);	/* PAC */
	assert_int_equal(field(hd.wp[0].ctrl, 3, 2), 2);	/* LSC: store */
	assert_int_equal(field(hd.wp[0].ctrl, 5, 8), 0xc0);	/* bytes 6, 7 */
	assert_int_equal(field(hd.wp[0].ctrl, 24, 5), 0);	/* no MASK */
	assert_int_equal(hd.wp[0].value, 0x40001000);
	assert_int_equal(insert(HWDEBUG_WATCH_READ, 0x40002000, 8), 0);
	assert_int_equal(field(hd.wp[1].ctrl, 3, 2), 1);	/* load */
	assert_int_equal(field(hd.wp[1].ctrl, 5, 8), 0xff);
	assert_int_equal(insert(HWDEBUG_WATCH_ACCESS, 0x40003001, 1), 0);
	assert_int_equal(field(hd.wp[2].ctrl, 3, 2), 3);	/* both */
	assert_int_equal(field(hd.wp[2].ctrl, 5, 8), 0x02);
}

static void test_watchpoint_mask(void **state)
{
	hwdebug_init(&hd, 6, 4);
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0xffff000000010000ULL, 0x1000), 0);
	assert_int_equal(field(hd.wp[0].ctrl, 24, 5), 12);	/* MASK */
	assert_int_equal(field(hd.wp[0].ctrl, 5, 8), 0xff);
	assert_int_equal(hd.wp[0].value, 0xffff000000010000ULL);
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x80000000ULL, 0x80000000ULL), 0);
	assert_int_equal(field(hd.wp[1].ctrl, 24, 5), 31);
	/* what the hardware cannot watch */
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x1006, 4), -EINVAL);	/* crosses */
	assert_non_null(strstr(errbuf, "0x1006+4"));
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x1000, 24), -EINVAL);	/* not 2^n */
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x1008, 16), -EINVAL);	/* unaligned */
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0, 1ULL << 32), -EINVAL);	/* > 2 GiB */
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x1000, 0), -EINVAL);
	assert_int_equal(insert(7, 0x1000, 4), -EINVAL);
}

static void test_slots(void **state)
{
	u64 bcr[16], bvr[16], wcr[16], wvr[16];

	hwdebug_init(&hd, 2, 1);
	assert_false(hwdebug_active(&hd));
	assert_int_equal(insert(HWDEBUG_BREAK, 0x1000, 4), 0);
	assert_int_equal(insert(HWDEBUG_BREAK, 0x1000, 4), 0);	/* idempotent */
	assert_int_equal(insert(HWDEBUG_BREAK, 0x2000, 4), 0);
	assert_int_equal(insert(HWDEBUG_BREAK, 0x3000, 4), -ENOSPC);
	assert_non_null(strstr(errbuf, "all 2 hardware breakpoints"));
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x4000, 4), 0);
	/* the same range for reading is another slot: none left */
	assert_int_equal(insert(HWDEBUG_WATCH_READ, 0x4000, 4), -ENOSPC);
	assert_true(hwdebug_active(&hd));
	hwdebug_fill(&hd, bcr, bvr, wcr, wvr);
	assert_int_equal(bvr[0], 0x1000);
	assert_int_equal(bvr[1], 0x2000);
	assert_int_equal(bcr[2], 0);
	assert_int_equal(wvr[0], 0x4000);
	assert_int_equal(wcr[1], 0);
	assert_int_equal(hwdebug_remove(&hd, HWDEBUG_BREAK, 0x1000, 4, errbuf,
					sizeof(errbuf)), 0);
	assert_int_equal(hwdebug_remove(&hd, HWDEBUG_BREAK, 0x1000, 4, errbuf,
					sizeof(errbuf)), -ENOENT);
	assert_int_equal(hwdebug_remove(&hd, HWDEBUG_WATCH_READ, 0x4000, 4,
					errbuf, sizeof(errbuf)), -ENOENT);
	assert_int_equal(insert(HWDEBUG_BREAK, 0x3000, 4), 0);	/* reused */
	assert_int_equal(hd.bp[0].addr, 0x3000);
	/* more slots than KVM can have are capped */
	hwdebug_init(&hd, 99, -1);
	assert_int_equal(hd.nr_bps, HWDEBUG_MAX_SLOTS);
	assert_int_equal(hd.nr_wps, 0);
}

static void test_watch_hit(void **state)
{
	hwdebug_init(&hd, 2, 2);
	assert_int_equal(insert(HWDEBUG_WATCH_WRITE, 0x40001006, 2), 0);
	assert_int_equal(insert(HWDEBUG_WATCH_ACCESS, 0x50000000, 0x100), 0);
	assert_ptr_equal(hwdebug_watch_hit(&hd, 0x40001000), &hd.wp[0]);
	assert_ptr_equal(hwdebug_watch_hit(&hd, 0x40001007), &hd.wp[0]);
	assert_null(hwdebug_watch_hit(&hd, 0x40001008));
	assert_ptr_equal(hwdebug_watch_hit(&hd, 0x500000ff), &hd.wp[1]);
	assert_null(hwdebug_watch_hit(&hd, 0x50000100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breakpoint),
		cmocka_unit_test(test_watchpoint_bas),
		cmocka_unit_test(test_watchpoint_mask),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_watch_hit),
	};

	return cmocka_run_group_tests_name("hwdebug", tests, NULL, NULL);
}
