// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon's model (virtio/balloon-pages.c): PFN requests checked
 * against RAM, the inflated-page accounting, which host units are given
 * back (4 KiB PFNs on 4K, 16K and 64K hosts, 2 MiB huge pages) and how
 * they are merged, free page reports, the statistics buffer. The
 * discard callback records its calls.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/virtio_balloon.h>

#include "lkvm/balloon.h"

#define RAM_GPA		0x80000000ULL
#define RAM_SIZE	(4 * SZ_2M)	/* 8 MiB: 2048 PFNs */
#define PFN0		(RAM_GPA >> 12)

struct call {
	u64 off, len;
};

struct rec {
	struct call calls[64];
	unsigned int n;
	int ret;		/* what discard returns */
};

static int rec_discard(void *ctx, u64 off, u64 len)
{
	struct rec *r = ctx;

	if (r->n < ARRAY_SIZE(r->calls))
		r->calls[r->n] = (struct call) { off, len };
	r->n++;
	return r->ret;
}

struct ctx {
	struct guest_mem mem;
	struct balloon_pages bp;
	struct rec rec;
};

/* The model over fake RAM (never touched: only offsets are given back). */
static struct ctx *new_ctx(u64 unit)
{
	struct ctx *c = calloc(1, sizeof(*c));

	c->mem = (struct guest_mem) {
		.host = (u8 *)0x10000000, .gpa_start = RAM_GPA, .size = RAM_SIZE,
	};
	assert_int_equal(balloon_pages_init(&c->bp, &c->mem, unit, rec_discard,
					    &c->rec), 0);
	return c;
}

static void free_ctx(struct ctx *c)
{
	balloon_pages_exit(&c->bp);
	free(c);
}

/* Send @n PFNs (relative to RAM's first) in one buffer. */
static int req(struct ctx *c, enum balloon_op op, const u32 *rel, size_t n)
{
	u32 *pfns = calloc(n ? n : 1, sizeof(u32));
	struct iovec iov;
	size_t i;
	int ret;

	for (i = 0; i < n; i++)
		pfns[i] = htole32(PFN0 + rel[i]);
	iov = (struct iovec) { pfns, n * sizeof(u32) };
	ret = balloon_pages_request(&c->bp, op, &iov, 1);
	free(pfns);
	return ret;
}

static void assert_call(struct ctx *c, unsigned int i, u64 off, u64 len)
{
	assert_true(i < c->rec.n);
	assert_int_equal(c->rec.calls[i].off, off);
	assert_int_equal(c->rec.calls[i].len, len);
}

static void test_init_checks(void **state)
{
	struct guest_mem mem = { .host = (u8 *)0x1000, .gpa_start = RAM_GPA,
				 .size = RAM_SIZE };
	struct balloon_pages bp;

	assert_int_equal(balloon_pages_init(&bp, &mem, 2048, rec_discard, NULL), -EINVAL);
	assert_int_equal(balloon_pages_init(&bp, &mem, 3 * 4096, rec_discard, NULL), -EINVAL);
	/* RAM not whole units */
	mem.size = SZ_64K + SZ_4K;
	assert_int_equal(balloon_pages_init(&bp, &mem, SZ_64K, rec_discard, NULL), -EINVAL);
	mem.size = RAM_SIZE;
	assert_int_equal(balloon_pages_init(&bp, &mem, SZ_64K, rec_discard, NULL), 0);
	assert_int_equal(bp.nr_pages, RAM_SIZE / 4096);
	balloon_pages_exit(&bp);
}

/* 4 KiB host: every PFN is given back; neighbours in one call. */
static void test_inflate_4k(void **state)
{
	struct ctx *c = new_ctx(SZ_4K);
	const u32 pfns[] = { 10, 11, 12, 40, 2047, 0 };

	assert_int_equal(req(c, BALLOON_INFLATE, pfns, 6), 0);
	assert_int_equal(c->bp.c.inflated, 6);
	assert_int_equal(c->bp.c.pages_inflated, 6);
	assert_int_equal(c->rec.n, 4);
	assert_call(c, 0, 10 * SZ_4K, 3 * SZ_4K);
	assert_call(c, 1, 40 * SZ_4K, SZ_4K);
	assert_call(c, 2, 2047 * SZ_4K, SZ_4K);
	assert_call(c, 3, 0, SZ_4K);
	assert_int_equal(c->bp.c.bytes_released, 6 * SZ_4K);
	free_ctx(c);
}

/* 16 KiB host: a unit goes back once its four PFNs are all in. */
static void test_inflate_16k_host(void **state)
{
	struct ctx *c = new_ctx(SZ_16K);
	const u32 a[] = { 4, 5, 6 }, b[] = { 6, 7 }, d[] = { 9 };

	assert_int_equal(req(c, BALLOON_INFLATE, a, 3), 0);
	assert_int_equal(c->rec.n, 0);		/* 4..7 not complete */
	assert_int_equal(req(c, BALLOON_INFLATE, b, 2), 0);
	assert_int_equal(c->rec.n, 1);
	assert_call(c, 0, SZ_16K, SZ_16K);	/* PFNs 4..7 */
	/* 6 was already in: counted once */
	assert_int_equal(c->bp.c.inflated, 4);
	assert_int_equal(c->bp.c.pages_inflated, 4);
	assert_int_equal(req(c, BALLOON_INFLATE, d, 1), 0);
	assert_int_equal(c->rec.n, 1);
	free_ctx(c);
}

/* 64 KiB host, PFNs in any order over two requests. */
static void test_inflate_64k_host(void **state)
{
	struct ctx *c = new_ctx(SZ_64K);
	u32 first[8], second[8];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		first[i] = 16 + 15 - 2 * i;	/* 31, 29, ... 17 */
		second[i] = 16 + 2 * i;		/* 16, 18, ... 30 */
	}
	assert_int_equal(req(c, BALLOON_INFLATE, first, 8), 0);
	assert_int_equal(c->rec.n, 0);
	assert_int_equal(req(c, BALLOON_INFLATE, second, 8), 0);
	assert_int_equal(c->rec.n, 1);
	assert_call(c, 0, SZ_64K, SZ_64K);
	assert_int_equal(c->bp.c.inflated, 16);
	free_ctx(c);
}

/* 2 MiB huge pages (hugetlbfs): 512 PFNs, crossing bitmap words. */
static void test_inflate_huge(void **state)
{
	struct ctx *c = new_ctx(SZ_2M);
	u32 *pfns = calloc(1024, sizeof(u32));
	unsigned int i;

	for (i = 0; i < 1024; i++)
		pfns[i] = 512 + i;		/* huge pages 1 and 2 */
	assert_int_equal(req(c, BALLOON_INFLATE, pfns, 1023), 0);
	assert_int_equal(c->rec.n, 1);		/* the 2nd lacks its last PFN */
	assert_call(c, 0, SZ_2M, SZ_2M);
	assert_int_equal(req(c, BALLOON_INFLATE, pfns + 1023, 1), 0);
	assert_int_equal(c->rec.n, 2);
	assert_call(c, 1, 2 * SZ_2M, SZ_2M);
	assert_int_equal(c->bp.c.inflated, 1024);
	free(pfns);
	free_ctx(c);
}

/* Both huge pages complete in one request: one call for both. */
static void test_inflate_merges_units(void **state)
{
	struct ctx *c = new_ctx(SZ_64K);
	u32 pfns[48];
	unsigned int i;

	for (i = 0; i < 48; i++)
		pfns[i] = 32 + i;	/* units 2, 3, 4 */
	assert_int_equal(req(c, BALLOON_INFLATE, pfns, 48), 0);
	assert_int_equal(c->rec.n, 1);
	assert_call(c, 0, 2 * SZ_64K, 3 * SZ_64K);
	free_ctx(c);
}

/* Deflate takes pages back; re-inflating gives the unit back again. */
static void test_deflate(void **state)
{
	struct ctx *c = new_ctx(SZ_16K);
	const u32 all[] = { 0, 1, 2, 3 }, one[] = { 2 }, absent[] = { 100 };

	assert_int_equal(req(c, BALLOON_INFLATE, all, 4), 0);
	assert_int_equal(c->rec.n, 1);
	assert_int_equal(req(c, BALLOON_DEFLATE, one, 1), 0);
	assert_int_equal(c->bp.c.inflated, 3);
	assert_int_equal(c->bp.c.pages_deflated, 1);
	/* a page never inflated: skipped, not counted */
	assert_int_equal(req(c, BALLOON_DEFLATE, absent, 1), 0);
	assert_int_equal(c->bp.c.inflated, 3);
	assert_int_equal(c->bp.c.pages_deflated, 1);
	assert_int_equal(c->rec.n, 1);		/* deflate gives nothing back */
	assert_int_equal(req(c, BALLOON_INFLATE, one, 1), 0);
	assert_int_equal(c->rec.n, 2);
	assert_call(c, 1, 0, SZ_16K);
	assert_int_equal(c->bp.c.pages_inflated, 5);
	free_ctx(c);
}

/* A bad PFN anywhere refuses the whole request: nothing changes. */
static void test_bad_requests(void **state)
{
	struct ctx *c = new_ctx(SZ_4K);
	u32 below = htole32(PFN0 - 1), above = htole32(PFN0 + 2048);
	u32 huge = htole32(0xffffffff), mixed[3];
	struct iovec iov;
	u8 odd[6] = { 0 };

	mixed[0] = htole32(PFN0 + 5);
	mixed[1] = htole32(PFN0 + 6);
	mixed[2] = above;
	iov = (struct iovec) { &below, 4 };
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, &iov, 1), -EINVAL);
	iov = (struct iovec) { &above, 4 };
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, &iov, 1), -EINVAL);
	iov = (struct iovec) { &huge, 4 };
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_DEFLATE, &iov, 1), -EINVAL);
	iov = (struct iovec) { mixed, sizeof(mixed) };
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, &iov, 1), -EINVAL);
	iov = (struct iovec) { odd, sizeof(odd) };
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, &iov, 1), -EINVAL);
	assert_int_equal(c->bp.c.bad_requests, 5);
	assert_int_equal(c->bp.c.inflated, 0);
	assert_int_equal(c->rec.n, 0);
	/* the last page of RAM is fine; an empty request too */
	iov = (struct iovec) { &above, 4 };
	above = htole32(PFN0 + 2047);
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, &iov, 1), 0);
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, &iov, 0), 0);
	assert_int_equal(c->bp.c.inflated, 1);
	free_ctx(c);
}

/* PFNs split across buffers, and more than one batch of them. */
static void test_split_buffers(void **state)
{
	struct ctx *c = new_ctx(SZ_4K);
	u32 pfns[600];
	u8 *bytes = (u8 *)pfns;
	struct iovec iov[3];
	unsigned int i;

	for (i = 0; i < 600; i++)
		pfns[i] = htole32(PFN0 + 2 * i);	/* none adjacent */
	iov[0] = (struct iovec) { bytes, 3 };
	iov[1] = (struct iovec) { bytes + 3, 1001 };
	iov[2] = (struct iovec) { bytes + 1004, sizeof(pfns) - 1004 };
	assert_int_equal(balloon_pages_request(&c->bp, BALLOON_INFLATE, iov, 3), 0);
	assert_int_equal(c->bp.c.inflated, 600);
	assert_int_equal(c->rec.n, 600);
	assert_call(c, 63, 126 * SZ_4K, SZ_4K);
	free_ctx(c);
}

/* The host refusing is counted, the pages stay inflated. */
static void test_discard_error(void **state)
{
	struct ctx *c = new_ctx(SZ_4K);
	const u32 p[] = { 3 };

	c->rec.ret = -EINVAL;
	assert_int_equal(req(c, BALLOON_INFLATE, p, 1), 0);
	assert_int_equal(c->bp.c.discard_errors, 1);
	assert_int_equal(c->bp.c.bytes_released, 0);
	assert_int_equal(c->bp.c.inflated, 1);
	free_ctx(c);
}

static void test_reset(void **state)
{
	struct ctx *c = new_ctx(SZ_4K);
	const u32 p[] = { 3, 4 };

	assert_int_equal(req(c, BALLOON_INFLATE, p, 2), 0);
	balloon_pages_reset(&c->bp);
	assert_int_equal(c->bp.c.inflated, 0);
	assert_int_equal(c->bp.c.pages_inflated, 2);	/* totals stay */
	/* inflatable again, and given back again */
	assert_int_equal(req(c, BALLOON_INFLATE, p, 2), 0);
	assert_int_equal(c->bp.c.inflated, 2);
	assert_int_equal(c->rec.n, 2);
	free_ctx(c);
}

/* Reports: the whole units inside each buffer, nothing partial. */
static void test_report(void **state)
{
	struct ctx *c = new_ctx(SZ_64K);
	u8 *h = c->mem.host;
	struct iovec iov[4] = {
		{ h + SZ_64K, 2 * SZ_64K },		/* units 1, 2 */
		{ h + 3 * SZ_64K, SZ_64K },		/* 3: merged */
		{ h + 5 * SZ_64K + SZ_4K, 2 * SZ_64K },	/* only unit 6 */
		{ h + 9 * SZ_64K + SZ_4K, SZ_16K },	/* inside one: none */
	};

	assert_int_equal(balloon_pages_report(&c->bp, iov, 4), 4 * SZ_64K);
	assert_int_equal(c->rec.n, 2);
	assert_call(c, 0, SZ_64K, 3 * SZ_64K);
	assert_call(c, 1, 6 * SZ_64K, SZ_64K);
	assert_int_equal(c->bp.c.bytes_reported, 5 * SZ_64K + SZ_16K);
	assert_int_equal(c->bp.c.inflated, 0);	/* reports are not inflation */
	/* outside RAM (virtq_pop never gives that): ignored */
	iov[0] = (struct iovec) { h + RAM_SIZE - SZ_64K, 2 * SZ_64K };
	assert_int_equal(balloon_pages_report(&c->bp, iov, 1), 0);
	assert_int_equal(c->rec.n, 2);
	free_ctx(c);
}

static void put_stat(u8 *p, u16 tag, u64 val)
{
	tag = htole16(tag);
	val = htole64(val);
	memcpy(p, &tag, 2);
	memcpy(p + 2, &val, 8);
}

static void test_stats(void **state)
{
	struct balloon_guest_stats gs = { 0 };
	u8 buf[4 * BALLOON_STAT_SIZE];
	struct iovec iov[2] = { { buf, 13 }, { buf + 13, sizeof(buf) - 13 } };

	put_stat(buf, 4, 123456789);		/* MEMFREE */
	put_stat(buf + 10, 5, 1ULL << 40);	/* MEMTOT */
	put_stat(buf + 20, 99, 7);		/* unknown tag: skipped */
	put_stat(buf + 30, 4, 42);		/* the last one wins */
	assert_int_equal(balloon_stats_parse(&gs, iov, 2), 0);
	assert_int_equal(gs.valid, (1U << 4) | (1U << 5));
	assert_int_equal(gs.value[4], 42);
	assert_int_equal(gs.value[5], 1ULL << 40);
	assert_int_equal(gs.updates, 1);
	/* not whole entries: refused, nothing kept */
	iov[1].iov_len--;
	put_stat(buf, 6, 1);
	assert_int_equal(balloon_stats_parse(&gs, iov, 2), -EINVAL);
	assert_int_equal(gs.valid, (1U << 4) | (1U << 5));
	assert_int_equal(gs.updates, 1);
}

static void test_stat_names(void **state)
{
	assert_string_equal(balloon_stat_name(VIRTIO_BALLOON_S_MEMFREE), "free-memory");
	assert_string_equal(balloon_stat_name(VIRTIO_BALLOON_S_AVAIL), "available-memory");
	assert_string_equal(balloon_stat_name(15), "direct-reclaims");
	assert_null(balloon_stat_name(BALLOON_MAX_TAGS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_checks),
		cmocka_unit_test(test_inflate_4k),
		cmocka_unit_test(test_inflate_16k_host),
		cmocka_unit_test(test_inflate_64k_host),
		cmocka_unit_test(test_inflate_huge),
		cmocka_unit_test(test_inflate_merges_units),
		cmocka_unit_test(test_deflate),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_split_buffers),
		cmocka_unit_test(test_discard_error),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stat_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
