// SPDX-License-Identifier: GPL-2.0
/*
 * The guest page-table walker (arm64/ptwalk.c): real tables built in a
 * buffer (pt-builder.h) for every AArch64 granule and both halves, 52-bit
 * with 64K pages, AArch32 LPAE and short descriptors, the MMU off, and
 * each way a table or register can be bad, which must fail with the
 * right error and a reason, never crash.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pt-builder.h"

#define RAM		0x40000000ULL
#define RAM_SIZE	(8 * SZ_1M)
#define SCTLR_M		1ULL
#define SCTLR_EE	(1ULL << 25)
#define TCR_EPD0	(1ULL << 7)
#define TCR_EPD1	(1ULL << 23)
#define TCR_TBI1	(1ULL << 38)
#define TCR_DS		(1ULL << 59)
#define IPS_40		2ULL
#define IPS_48		5ULL
#define IPS_52		6ULL
#define TTBCR_EAE	(1ULL << 31)

static char errbuf[256];

static u64 tcr(unsigned int ps, unsigned int t0sz, unsigned int t1sz, u64 ips)
{
	u64 tg0 = ps == 12 ? 0 : ps == 16 ? 1 : 2;
	u64 tg1 = ps == 12 ? 2 : ps == 16 ? 3 : 1;

	return t0sz | tg0 << 14 | (u64)t1sz << 16 | tg1 << 30 | ips << 32;
}

static struct pt_ctx ctx_for(struct tb *t, u64 tcr_val, u64 ttbr0, u64 ttbr1)
{
	struct pt_ctx c = {
		.regs = { .sctlr = SCTLR_M, .tcr = tcr_val, .ttbr0 = ttbr0,
			  .ttbr1 = ttbr1 },
		.read_phys = pt_guest_mem_read,
		.write_phys = pt_guest_mem_write,
		.opaque = &t->mem,
	};
	return c;
}

static int xlate(const struct pt_ctx *c, u64 va, struct pt_map *m)
{
	errbuf[0] = '\0';
	return pt_translate(c, va, m, errbuf, sizeof(errbuf));
}

static void assert_err_contains(const char *needle)
{
	if (!strstr(errbuf, needle))
		fail_msg("error '%s' does not contain '%s'", errbuf, needle);
}

static void expect_map(const struct pt_ctx *c, u64 va, u64 gpa, u64 size,
		       int level)
{
	struct pt_map m;

	if (xlate(c, va, &m))
		fail_msg("VA 0x%llx: %s", (unsigned long long)va, errbuf);
	assert_int_equal(m.gpa, gpa);
	assert_int_equal(m.size, size);
	assert_int_equal(m.level, level);
}

static void expect_fail(const struct pt_ctx *c, u64 va, int err,
			const char *needle)
{
	struct pt_map m;

	assert_int_equal(xlate(c, va, &m), err);
	assert_err_contains(needle);
}

/* ---- every granule, both halves ---- */

struct granule_case {
	unsigned int ps, in_bits;
	int block_levels[2];	/* where blocks are allowed; 9: none */
};

static const struct granule_case granules[] = {
	{ 12, 48, { 1, 2 } }, { 12, 39, { 1, 2 } }, { 12, 30, { 2, 9 } },
	{ 14, 47, { 2, 9 } }, { 14, 48, { 2, 9 } }, { 14, 36, { 2, 9 } },
	{ 16, 48, { 2, 9 } }, { 16, 42, { 2, 9 } }, { 16, 25, { 9, 9 } },
};

/* A VA in the low (@hi false) or high half, its low bits arbitrary. */
static u64 test_va(unsigned int in_bits, bool hi, unsigned int k)
{
	u64 mask = (1ULL << in_bits) - 1;
	u64 va = (0x5a5a5a5a5a5a5a5aULL + k * 0x1234567890ULL) & mask;

	return hi ? va | ~mask : va;
}

static void check_half(const struct granule_case *g, bool hi)
{
	struct tb t;
	struct pt_ctx c;
	u64 page = 1ULL << g->ps, root;
	u64 va = test_va(g->in_bits, hi, 0), pa = 0x80000000ULL + 7 * page;

	tb_init(&t, RAM, RAM_SIZE, g->ps, g->in_bits);
	root = tb_new_root(&t);
	c = ctx_for(&t, tcr(g->ps, 64 - g->in_bits, 64 - g->in_bits, IPS_48),
		    hi ? 0 : root, hi ? root : 0);
	tb_map(&t, va, pa, 3);
	expect_map(&c, va, pa | (va & (page - 1)), page, 3);
	for (int i = 0; i < 2; i++) {
		int level = g->block_levels[i];
		u64 size, bva;

		if (level > 3 || level < tb_start(&t))
			continue;
		size = 1ULL << tb_shift(&t, level);
		bva = test_va(g->in_bits, hi, 1 + i) ^ (4 * size);
		tb_map(&t, bva, 16 * size, level);
		expect_map(&c, bva, 16 * size + (bva & (size - 1)), size, level);
	}
	/* the other half's TTBR is 0, outside RAM: the walk fails cleanly */
	expect_fail(&c, test_va(g->in_bits, !hi, 0), -EIO, "cannot be read");
	tb_free(&t);
}

static void test_granules(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(granules); i++) {
		check_half(&granules[i], false);
		check_half(&granules[i], true);
	}
}

/*
 * Hand-computed indexes, so that the builder cannot share a bug: four
 * tables 1 << ps apart from RAM, the VA's index at each level.
 */
struct by_hand {
	unsigned int ps;
	u64 va, idx[4], pa;
	bool upper;
};

static const struct by_hand by_hand[] = {
	/* 4K, 48-bit, TTBR1: L0 0x100 L1 0 L2 0x40 L3 0x123 */
	{ 12, 0xffff800008123456ULL, { 0x100, 0, 0x40, 0x123 }, 0x4567f000ULL, true },
	/* 16K, 48-bit, TTBR0: L0 1 L1 0x7ff L2 0x7db L3 0x780 */
	{ 14, 0x0000ffffb7e01234ULL, { 1, 0x7ff, 0x7db, 0x780 }, 0x12344000ULL, false },
};

static void test_by_hand(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(by_hand); i++) {
		const struct by_hand *h = &by_hand[i];
		u64 page = 1ULL << h->ps;
		struct tb t;
		struct pt_ctx c;

		tb_init(&t, RAM, RAM_SIZE, h->ps, 48);
		for (int l = 0; l < 3; l++)
			tb_put64(&t, RAM + l * page + h->idx[l] * 8,
				 (RAM + (l + 1) * page) | 3);
		tb_put64(&t, RAM + 3 * page + h->idx[3] * 8, h->pa | TB_AF | 3);
		c = ctx_for(&t, tcr(h->ps, 16, 16, IPS_48), h->upper ? 0 : RAM,
			    h->upper ? RAM : 0);
		expect_map(&c, h->va, h->pa | (h->va & (page - 1)), page, 3);
		tb_free(&t);
	}
}

/* 64K pages, 52-bit VA (FEAT_LVA) and 52-bit PA (FEAT_LPA). */
static void test_64k_52bit(void **state)
{
	struct tb t;
	struct pt_ctx c;
	u64 base = (5ULL << 48) | RAM;
	u64 va = 0xfff0123456789abcULL, pa = (9ULL << 48) | 0x12340000ULL;
	u64 ttbr1;

	tb_init(&t, base, RAM_SIZE, 16, 52);
	t.oa52 = true;
	tb_new_root(&t);
	tb_map(&t, va, pa, 3);
	tb_map(&t, 0xfff8000000000000ULL, 3ULL << 48, 1);
	/* TTBR: BADDR[51:48] in bits [5:2] */
	ttbr1 = (t.root & ((1ULL << 48) - 1)) | ((t.root >> 48) << 2);
	c = ctx_for(&t, tcr(16, 12, 12, IPS_52), 0, ttbr1);
	expect_map(&c, va, pa | (va & 0xffff), SZ_64K, 3);
	expect_map(&c, 0xfff8000000000010ULL, (3ULL << 48) | 0x10, 1ULL << 42, 1);
	/* the same tables with a 48-bit IPS: the tables are out of range */
	c.regs.tcr = tcr(16, 12, 12, IPS_48);
	c.regs.ttbr1 = t.root & ((1ULL << 48) - 1);
	expect_fail(&c, va, -EIO, "cannot be read");
	tb_free(&t);
}

static void test_mmu_off(void **state)
{
	struct pt_ctx c = { .read_phys = pt_guest_mem_read };

	expect_map(&c, 0x40080000ULL, 0x40080000ULL, SZ_1G, -1);
	expect_fail(&c, 0xffff000000000000ULL, -EFAULT, "MMU is off");
	c.regs.aarch32 = true;
	expect_fail(&c, 1ULL << 32, -EFAULT, "MMU is off");
}

/* ---- bad tables and registers ---- */

struct bad_fixture {
	struct tb t;
	struct pt_ctx c;
	u64 va;
};

/* 4K, 48-bit, one page mapped at va through TTBR1. */
static void bad_setup(struct bad_fixture *f)
{
	f->va = 0xffff000012345678ULL;
	tb_init(&f->t, RAM, RAM_SIZE, 12, 48);
	tb_new_root(&f->t);
	tb_map(&f->t, f->va, 0x50000000ULL, 3);
	f->c = ctx_for(&f->t, tcr(12, 16, 16, IPS_40), 0, f->t.root);
}

static void test_invalid_descriptors(void **state)
{
	struct bad_fixture f;
	char level[32];

	for (int l = 0; l <= 3; l++) {
		bad_setup(&f);
		tb_put64(&f.t, tb_entry(&f.t, f.va, l), 0x1000 | 2);
		snprintf(level, sizeof(level), "level %d", l);
		expect_fail(&f.c, f.va, -EFAULT, level);
		assert_err_contains("invalid");
		tb_free(&f.t);
	}
	/* 0b01 at level 3 is reserved, not a page */
	bad_setup(&f);
	tb_put64(&f.t, tb_entry(&f.t, f.va, 3), 0x50000000ULL | 1);
	expect_fail(&f.c, f.va, -EFAULT, "level 3");
	tb_free(&f.t);
}

static void test_bad_blocks_and_tables(void **state)
{
	struct bad_fixture f;

	bad_setup(&f);		/* 4K: no block at level 0 */
	tb_put64(&f.t, tb_entry(&f.t, f.va, 0), 0x80000000ULL | 1);
	expect_fail(&f.c, f.va, -EINVAL, "not allowed");
	tb_free(&f.t);

	bad_setup(&f);		/* a table outside RAM */
	tb_put64(&f.t, tb_entry(&f.t, f.va, 1), 0x17000000000ULL | 3);
	expect_fail(&f.c, f.va, -EFAULT, "40-bit");
	f.c.regs.tcr = tcr(12, 16, 16, IPS_48);
	expect_fail(&f.c, f.va, -EIO, "level 2 table entry");
	tb_free(&f.t);

	bad_setup(&f);		/* an output address beyond the IPS */
	tb_put64(&f.t, tb_entry(&f.t, f.va, 3), 0x100000000000ULL | 3);
	expect_fail(&f.c, f.va, -EFAULT, "physical address size");
	tb_free(&f.t);
}

/* Every entry of one table points at the table itself: ends at level 3. */
static void test_self_reference(void **state)
{
	struct bad_fixture f;
	struct pt_map m;

	bad_setup(&f);
	for (int i = 0; i < 512; i++)
		tb_put64(&f.t, f.t.root + i * 8, f.t.root | 3);
	assert_int_equal(xlate(&f.c, f.va, &m), 0);
	assert_int_equal(m.level, 3);
	assert_int_equal(m.gpa, f.t.root | (f.va & 0xfff));
	tb_free(&f.t);
}

static void test_bad_registers(void **state)
{
	struct bad_fixture f;

	bad_setup(&f);
	expect_fail(&f.c, 0xff80000012345678ULL, -EFAULT, "48-bit TTBR1_EL1 range");
	expect_fail(&f.c, 0x0001000012345678ULL, -EFAULT, "TTBR0_EL1 range");
	f.c.regs.tcr |= TCR_EPD1;
	expect_fail(&f.c, f.va, -EFAULT, "EPD1=1");
	f.c.regs.tcr = tcr(12, 16, 16, IPS_48) & ~(3ULL << 30);
	expect_fail(&f.c, f.va, -EINVAL, "TG1");
	f.c.regs.tcr = tcr(12, 16, 16, IPS_48) | (7ULL << 32);
	expect_fail(&f.c, f.va, -EINVAL, "IPS");
	f.c.regs.tcr = tcr(12, 16, 16, IPS_48) | TCR_DS;
	expect_fail(&f.c, f.va, -EOPNOTSUPP, "FEAT_LPA2");
	f.c.regs.tcr = tcr(12, 16, 12, IPS_48);
	expect_fail(&f.c, f.va, -EINVAL, "T1SZ=12");
	f.c.regs.tcr = tcr(12, 16, 40, IPS_48);
	expect_fail(&f.c, f.va, -EINVAL, "T1SZ=40");
	f.c.regs.tcr = tcr(12, 16, 16, IPS_48);
	f.c.regs.ttbr1 = f.t.root + 0x800;
	expect_fail(&f.c, f.va, -EINVAL, "not aligned");
	f.c.regs.ttbr1 = f.t.root | 1;		/* CnP is not an address bit */
	expect_map(&f.c, f.va, 0x50000678ULL, SZ_4K, 3);
	f.c.regs.sctlr |= SCTLR_EE;
	expect_fail(&f.c, f.va, -EOPNOTSUPP, "big-endian");
	tb_free(&f.t);
}

static void test_tbi(void **state)
{
	struct bad_fixture f;
	u64 tagged;

	bad_setup(&f);
	tagged = (f.va & ~(0xffULL << 56)) | (0x5aULL << 56);
	expect_fail(&f.c, tagged, -EFAULT, "range");
	f.c.regs.tcr |= TCR_TBI1;
	expect_map(&f.c, tagged, 0x50000678ULL, SZ_4K, 3);
	tb_free(&f.t);
}

/* ---- reading and writing through the tables ---- */

static void test_read_write_virt(void **state)
{
	struct bad_fixture f;
	u64 p1 = RAM + 0x400000, p2 = RAM + 0x200000;	/* out of order */
	u64 va = 0xffff000012345000ULL;
	u8 buf[32], out[32];

	bad_setup(&f);
	tb_map(&f.t, va, p1, 3);
	tb_map(&f.t, va + SZ_4K, p2, 3);
	for (int i = 0; i < 32; i++)
		buf[i] = i + 1;
	assert_int_equal(pt_write_virt(&f.c, va + SZ_4K - 16, buf, 32,
				       errbuf, sizeof(errbuf)), 0);
	assert_memory_equal(guest_ptr(&f.t.mem, p1 + SZ_4K - 16, 16), buf, 16);
	assert_memory_equal(guest_ptr(&f.t.mem, p2, 16), buf + 16, 16);
	assert_int_equal(pt_read_virt(&f.c, va + SZ_4K - 16, out, 32,
				      errbuf, sizeof(errbuf)), 0);
	assert_memory_equal(out, buf, 32);
	/* the next page is not mapped: the read fails at its address */
	assert_int_equal(pt_read_virt(&f.c, va + 2 * SZ_4K - 8, out, 16,
				      errbuf, sizeof(errbuf)), -EFAULT);
	assert_err_contains("0xffff000012347000");
	/* mapped, but to a PA outside RAM */
	assert_int_equal(pt_read_virt(&f.c, 0xffff000012340000ULL, out, 4,
				      errbuf, sizeof(errbuf)), -EFAULT);
	tb_map(&f.t, 0xffff000012340000ULL, 0x90000000ULL, 3);
	assert_int_equal(pt_read_virt(&f.c, 0xffff000012340000ULL, out, 4,
				      errbuf, sizeof(errbuf)), -EIO);
	assert_err_contains("PA 0x90000000");
	f.c.write_phys = NULL;
	assert_int_equal(pt_write_virt(&f.c, va, buf, 4, errbuf,
				       sizeof(errbuf)), -EROFS);
	tb_free(&f.t);
}

/* ---- AArch32 ---- */

/* Linux's LPAE layout with a 3G/1G split: T1SZ=2, TTBR1 at a level-2 table. */
static void test_lpae(void **state)
{
	struct tb t;
	struct pt_ctx c;
	u64 l1 = RAM, l2lo = RAM + 0x1000, l2hi = RAM + 0x2000, l3 = RAM + 0x3000;

	tb_init(&t, RAM, RAM_SIZE, 12, 32);
	/* TTBR0 (T0SZ=0: 4 level-1 entries), 0x00400000 via a page */
	tb_put64(&t, l1 + 0 * 8, l2lo | 3);
	tb_put64(&t, l2lo + 2 * 8, l3 | 3);
	tb_put64(&t, l3 + 0x10 * 8, 0x8765000ULL | 3);
	tb_put64(&t, l1 + 1 * 8, 0x80000000ULL | 1);		/* 1G block */
	/* TTBR1: 0xc0000000.. through a 2M block at index 0x7 */
	tb_put64(&t, l2hi + 7 * 8, 0x42e00000ULL | 1);
	c = ctx_for(&t, TTBCR_EAE | (2ULL << 16), l1, l2hi);
	c.regs.aarch32 = true;
	expect_map(&c, 0x00410abcULL, 0x8765abcULL, SZ_4K, 3);
	expect_map(&c, 0x40001234ULL, 0x80001234ULL, SZ_1G, 1);
	expect_map(&c, 0xc0e12345ULL, 0x42e12345ULL, SZ_2M, 2);
	expect_fail(&c, 0xc1000000ULL, -EFAULT, "level 2");
	/* 40-bit output: bits 47:40 set are an address size fault */
	tb_put64(&t, l2hi + 7 * 8, (1ULL << 40) | 1);
	expect_fail(&c, 0xc0e12345ULL, -EFAULT, "40-bit");
	/* T0SZ=2, T1SZ=2: [1G, 3G) belongs to neither */
	c.regs.tcr |= 2;
	expect_fail(&c, 0x80000000ULL, -EFAULT, "between");
	c.regs.tcr |= 1ULL << 23;
	expect_fail(&c, 0xc0e12345ULL, -EFAULT, "EPD1");
	expect_fail(&c, 1ULL << 32, -EFAULT, "32 bits");
	tb_free(&t);
}

static void test_short_descriptors(void **state)
{
	struct tb t;
	struct pt_ctx c;
	u64 l1 = RAM, l2 = RAM + 0x4000;

	tb_init(&t, RAM, RAM_SIZE, 12, 32);
	tb_put32(&t, l1 + 0xc00 * 4, 0x40100000U | 2);		/* section */
	tb_put32(&t, l1 + 0xc01 * 4, 0x40200000U | 3);		/* section, PXN */
	/* supersection: PA[39:36]=0x3 in [8:5], PA[35:32]=0x2 in [23:20] */
	for (int i = 0; i < 16; i++)
		tb_put32(&t, l1 + (0xd00 + i) * 4, 0x45000000U | 0x2 << 20 |
			 0x3 << 5 | 1 << 18 | 2);
	tb_put32(&t, l1 + 0xe00 * 4, (u32)l2 | 1);		/* page table */
	tb_put32(&t, l2 + 0x01 * 4, 0x41234000U | 2);		/* small page */
	for (int i = 0; i < 16; i++)				/* large page */
		tb_put32(&t, l2 + (0x10 + i) * 4, 0x48880000U | 1);
	c = ctx_for(&t, 0, l1, 0);
	c.regs.aarch32 = true;
	expect_map(&c, 0xc0012345ULL, 0x40112345ULL, SZ_1M, 1);
	expect_map(&c, 0xc0112345ULL, 0x40212345ULL, SZ_1M, 1);
	expect_map(&c, 0xd0abcdefULL, 0x3245abcdefULL, 16 * SZ_1M, 1);
	expect_map(&c, 0xe0001abcULL, 0x41234abcULL, SZ_4K, 2);
	expect_map(&c, 0xe001fabcULL, 0x4888fabcULL, SZ_64K, 2);
	expect_fail(&c, 0xe0002000ULL, -EFAULT, "level 2");
	expect_fail(&c, 0xf0000000ULL, -EFAULT, "level 1");
	/* N=2: TTBR0 covers [0, 1G) with a 4 KiB table, TTBR1 the rest */
	c.regs.tcr = 2;
	c.regs.ttbr1 = l1;
	tb_put32(&t, RAM + 0x100000 + 0x3 * 4, 0x47700000U | 2);
	c.regs.ttbr0 = RAM + 0x100000;
	expect_map(&c, 0x00312345ULL, 0x47712345ULL, SZ_1M, 1);
	expect_map(&c, 0xc0012345ULL, 0x40112345ULL, SZ_1M, 1);
	c.regs.tcr |= 1 << 4;
	expect_fail(&c, 0x00312345ULL, -EFAULT, "PD0");
	c.regs.ttbr1 = 0x10000000ULL;			/* outside RAM */
	expect_fail(&c, 0xc0012345ULL, -EIO, "cannot be read");
	tb_free(&t);
}

static void test_strip_pac(void **state)
{
	struct pt_regs r = { .sctlr = SCTLR_M, .tcr = tcr(12, 25, 16, IPS_48) };

	assert_int_equal(pt_strip_pac(&r, 0x3a8f800008123456ULL),
			 0xffff800008123456ULL);
	assert_int_equal(pt_strip_pac(&r, 0xffff800008123456ULL),
			 0xffff800008123456ULL);
	/* TTBR0: 39-bit VA, the PAC in bits 54:39 and 63:56 is cleared */
	assert_int_equal(pt_strip_pac(&r, 0x12345f8012345678ULL),
			 0x0000000012345678ULL);
	r.aarch32 = true;
	assert_int_equal(pt_strip_pac(&r, 0x12345f8012345678ULL),
			 0x12345f8012345678ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_granules),
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_64k_52bit),
		cmocka_unit_test(test_mmu_off),
		cmocka_unit_test(test_invalid_descriptors),
		cmocka_unit_test(test_bad_blocks_and_tables),
		cmocka_unit_test(test_self_reference),
		cmocka_unit_test(test_bad_registers),
		cmocka_unit_test(test_tbi),
		cmocka_unit_test(test_read_write_virt),
		cmocka_unit_test(test_lpae),
		cmocka_unit_test(test_short_descriptors),
		cmocka_unit_test(test_strip_pac),
	};

	return cmocka_run_group_tests_name("ptwalk", tests, NULL, NULL);
}
