/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TEST_PT_BUILDER_H
#define LKVM_TEST_PT_BUILDER_H

/*
 * Building real guest page tables in a buffer, for the walker's tests
 * (test-ptwalk.c) and the stack walk's (test-regs.c): a fake guest RAM
 * (struct guest_mem, read through pt_guest_mem_read), a bump allocator
 * for tables, and tb_map() which creates the missing tables of a
 * long-descriptor walk down to a leaf at a given level. Include after
 * cmocka.h.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/guest-mem.h"
#include "lkvm/ptwalk.h"

#define TB_AF		(1ULL << 10)	/* access flag, as Linux sets it */

struct tb {
	struct guest_mem mem;
	u64 next;		/* allocator: next free guest-physical byte */
	unsigned int page_shift;
	unsigned int in_bits;
	bool oa52;
	u64 root;
};

static inline void tb_init(struct tb *t, u64 base, u64 size,
			   unsigned int page_shift, unsigned int in_bits)
{
	memset(t, 0, sizeof(*t));
	t->mem.host = calloc(1, size);
	assert_non_null(t->mem.host);
	t->mem.gpa_start = base;
	t->mem.size = size;
	t->next = base;
	t->page_shift = page_shift;
	t->in_bits = in_bits;
}

static inline void tb_free(struct tb *t)
{
	free(t->mem.host);
}

static inline u64 tb_alloc(struct tb *t, u64 size, u64 align)
{
	u64 a = ALIGN_UP(t->next, align);

	assert_true(a + size <= t->mem.gpa_start + t->mem.size);
	t->next = a + size;
	return a;
}

static inline void tb_put64(struct tb *t, u64 gpa, u64 v)
{
	u8 *p = guest_ptr(&t->mem, gpa, 8);

	assert_non_null(p);
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static inline void tb_put32(struct tb *t, u64 gpa, u32 v)
{
	u8 *p = guest_ptr(&t->mem, gpa, 4);

	assert_non_null(p);
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static inline u64 tb_get64(struct tb *t, u64 gpa)
{
	u8 *p = guest_ptr(&t->mem, gpa, 8);
	u64 v = 0;

	assert_non_null(p);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline unsigned int tb_shift(const struct tb *t, int level)
{
	return t->page_shift + (3 - level) * (t->page_shift - 3);
}

/* The first level: the one whose shift plus its bits reach in_bits. */
static inline int tb_start(const struct tb *t)
{
	int level = 3;

	while (tb_shift(t, level) + t->page_shift - 3 < t->in_bits)
		level--;
	return level;
}

/* An output address in descriptor form (OA[51:48] in [15:12] with oa52). */
static inline u64 tb_oa(const struct tb *t, u64 pa)
{
	u64 d = pa & ~0xfff0000000000fffULL;

	if (t->oa52)
		d = (d & ((1ULL << 48) - 1)) | ((pa >> 48) & 0xf) << 12;
	return d;
}

static inline u64 tb_from_oa(const struct tb *t, u64 d)
{
	u64 pa = d & 0x0000fffffffff000ULL & ~((1ULL << t->page_shift) - 1);

	if (t->oa52)
		pa |= ((d >> 12) & 0xf) << 48;
	return pa;
}

/* The root table, aligned to its size (at least 64 bytes). */
static inline u64 tb_new_root(struct tb *t)
{
	u64 size = 8ULL << (t->in_bits - tb_shift(t, tb_start(t)));

	t->root = tb_alloc(t, size, MAX(size, 64));
	return t->root;
}

/* Map @va to @pa with a block/page descriptor at @leaf. */
static inline void tb_map(struct tb *t, u64 va, u64 pa, int leaf)
{
	u64 table = t->root;
	int level = tb_start(t);
	unsigned int nbits = t->in_bits - tb_shift(t, level);

	for (;; level++) {
		u64 idx = (va >> tb_shift(t, level)) & ((1ULL << nbits) - 1);
		u64 at = table + idx * 8, d;

		if (level == leaf) {
			tb_put64(t, at, tb_oa(t, pa) | TB_AF |
				 (level == 3 ? 3 : 1));
			return;
		}
		d = tb_get64(t, at);
		if (!(d & 1)) {
			u64 page = 1ULL << t->page_shift;

			d = tb_oa(t, tb_alloc(t, page, page)) | 3;
			tb_put64(t, at, d);
		}
		table = tb_from_oa(t, d);
		nbits = t->page_shift - 3;
	}
}

/* The descriptor address that tb_map() wrote for @va at @level. */
static inline u64 tb_entry(struct tb *t, u64 va, int level)
{
	u64 table = t->root;
	int l = tb_start(t);
	unsigned int nbits = t->in_bits - tb_shift(t, l);

	for (;; l++) {
		u64 idx = (va >> tb_shift(t, l)) & ((1ULL << nbits) - 1);

		if (l == level)
			return table + idx * 8;
		table = tb_from_oa(t, tb_get64(t, table + idx * 8));
		nbits = t->page_shift - 3;
	}
}

#endif
