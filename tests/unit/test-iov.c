// SPDX-License-Identifier: GPL-2.0
/*
 * The iovec module: totals, copies, fills, slices and in-place
 * consumption over arrays with zero-length entries, skips inside, at and
 * past the end, and totals that do not fit a size_t.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/iov.h"

/* "abcd" | "" | "ef" | "" | "ghi": 9 bytes in 5 entries, 2 of them empty. */
struct fixture {
	char a[4], b[2], c[3];
	struct iovec v[5];
};

static void fixture_init(struct fixture *f)
{
	memcpy(f->a, "abcd", 4);
	memcpy(f->b, "ef", 2);
	memcpy(f->c, "ghi", 3);
	f->v[0] = (struct iovec) { f->a, 4 };
	f->v[1] = (struct iovec) { f->b, 0 };
	f->v[2] = (struct iovec) { f->b, 2 };
	f->v[3] = (struct iovec) { f->c, 0 };
	f->v[4] = (struct iovec) { f->c, 3 };
}

/* The fixture's 9 bytes as one string. */
static void fixture_flat(const struct fixture *f, char out[10])
{
	memcpy(out, f->a, 4);
	memcpy(out + 4, f->b, 2);
	memcpy(out + 6, f->c, 3);
	out[9] = 0;
}

/* ---- iov_total ---- */

static void test_total(void **state)
{
	struct fixture f;
	struct iovec big[3] = {
		{ NULL, SIZE_MAX - 10 }, { NULL, 10 }, { NULL, 1 },
	};

	fixture_init(&f);
	assert_int_equal(iov_total(f.v, 5), 9);
	assert_int_equal(iov_total(f.v, 2), 4);
	assert_int_equal(iov_total(f.v + 1, 1), 0);
	assert_int_equal(iov_total(f.v, 0), 0);
	/* exactly SIZE_MAX fits; one more byte saturates, never wraps */
	assert_true(iov_total(big, 2) == SIZE_MAX);
	assert_true(iov_total(big, 3) == SIZE_MAX);
	big[0].iov_len = SIZE_MAX;
	assert_true(iov_total(big, 3) == SIZE_MAX);
	big[0].iov_len = SIZE_MAX - 11;
	assert_true(iov_total(big, 3) == SIZE_MAX);
	assert_true(iov_total(big, 2) == SIZE_MAX - 1);
}

/* ---- iov_to_buf ---- */

static void test_to_buf(void **state)
{
	struct fixture f;
	char buf[16];

	fixture_init(&f);
	/* across every entry, empty ones included */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_to_buf(f.v, 5, 0, buf, 9), 9);
	assert_memory_equal(buf, "abcdefghix", 10);
	/* from inside an entry; the copy stops at @len */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_to_buf(f.v, 5, 3, buf, 4), 4);
	assert_memory_equal(buf, "defgx", 5);
	/* skip lands exactly on an entry boundary (and on empty ones) */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_to_buf(f.v, 5, 6, buf, 16), 3);
	assert_memory_equal(buf, "ghix", 4);
	/* more asked than there is: what there is */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_to_buf(f.v, 5, 0, buf, 16), 9);
	assert_memory_equal(buf, "abcdefghix", 10);
	/* at or past the end, nothing at all, nothing written */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_to_buf(f.v, 5, 9, buf, 4), 0);
	assert_int_equal(iov_to_buf(f.v, 5, 100, buf, 4), 0);
	assert_int_equal(iov_to_buf(f.v, 5, 0, buf, 0), 0);
	assert_int_equal(iov_to_buf(f.v, 0, 0, buf, 4), 0);
	assert_int_equal(buf[0], 'x');
	/* only the first @n entries count */
	assert_int_equal(iov_to_buf(f.v, 3, 2, buf, 16), 4);
	assert_memory_equal(buf, "cdefx", 5);
}

/* ---- iov_from_buf ---- */

static void test_from_buf(void **state)
{
	struct fixture f;
	char flat[10];

	fixture_init(&f);
	assert_int_equal(iov_from_buf(f.v, 5, 3, "DEFG", 4), 4);
	fixture_flat(&f, flat);
	assert_string_equal(flat, "abcDEFGhi");
	/* stops at the end of the array */
	assert_int_equal(iov_from_buf(f.v, 5, 7, "HIJK", 4), 2);
	fixture_flat(&f, flat);
	assert_string_equal(flat, "abcDEFGHI");
	assert_int_equal(iov_from_buf(f.v, 5, 9, "Z", 1), 0);
	assert_int_equal(iov_from_buf(f.v, 5, 1000, "Z", 1), 0);
	assert_int_equal(iov_from_buf(f.v, 5, 0, "Z", 0), 0);
	assert_int_equal(iov_from_buf(f.v, 0, 0, "Z", 1), 0);
	fixture_flat(&f, flat);
	assert_string_equal(flat, "abcDEFGHI");
	/* round trip through a flat buffer */
	assert_int_equal(iov_from_buf(f.v, 5, 0, "123456789", 9), 9);
	assert_int_equal(iov_to_buf(f.v, 5, 0, flat, 9), 9);
	assert_memory_equal(flat, "123456789", 9);
}

/* ---- iov_memset ---- */

static void test_memset(void **state)
{
	struct fixture f;
	char flat[10];

	fixture_init(&f);
	assert_int_equal(iov_memset(f.v, 5, 2, '-', 5), 5);
	fixture_flat(&f, flat);
	assert_string_equal(flat, "ab-----hi");
	assert_int_equal(iov_memset(f.v, 5, 8, '+', SIZE_MAX), 1);
	fixture_flat(&f, flat);
	assert_string_equal(flat, "ab-----h+");
	assert_int_equal(iov_memset(f.v, 5, 9, '!', 1), 0);
	assert_int_equal(iov_memset(f.v, 5, 0, '!', 0), 0);
	fixture_flat(&f, flat);
	assert_string_equal(flat, "ab-----h+");
	assert_int_equal(iov_memset(f.v, 5, 0, 0, SIZE_MAX), 9);
	assert_int_equal(iov_total(f.v, 5), 9);
	fixture_flat(&f, flat);
	assert_memory_equal(flat, "\0\0\0\0\0\0\0\0\0", 9);
}

/* ---- iov_slice ---- */

static void test_slice(void **state)
{
	char a[4] = "abcd", b[2] = "ef", c[3] = "ghi";
	struct iovec v[3] = { { a, 4 }, { b, 2 }, { c, 3 } }, d[3];

	/* "cdefg": the tail of a, all of b, the head of c */
	assert_int_equal(iov_slice(v, 3, 2, 5, d, 3), 3);
	assert_ptr_equal(d[0].iov_base, a + 2);
	assert_int_equal(d[0].iov_len, 2);
	assert_ptr_equal(d[1].iov_base, b);
	assert_int_equal(d[1].iov_len, 2);
	assert_ptr_equal(d[2].iov_base, c);
	assert_int_equal(d[2].iov_len, 1);
	/* skipping whole buffers; @max and the end bound it */
	assert_int_equal(iov_slice(v, 3, 6, 100, d, 3), 1);
	assert_ptr_equal(d[0].iov_base, c);
	assert_int_equal(d[0].iov_len, 3);
	assert_int_equal(iov_slice(v, 3, 0, 9, d, 2), 2);
	assert_int_equal(iov_slice(v, 3, 0, 0, d, 3), 0);
	assert_int_equal(iov_slice(v, 3, 9, 1, d, 3), 0);
	assert_int_equal(iov_slice(v, 3, 0, 9, d, 0), 0);
}

static void test_slice_empty_entries(void **state)
{
	struct fixture f;
	struct iovec d[5];

	fixture_init(&f);
	/* the empty entries are not described */
	assert_int_equal(iov_slice(f.v, 5, 0, 9, d, 5), 3);
	assert_ptr_equal(d[0].iov_base, f.a);
	assert_int_equal(d[0].iov_len, 4);
	assert_ptr_equal(d[1].iov_base, f.b);
	assert_int_equal(d[1].iov_len, 2);
	assert_ptr_equal(d[2].iov_base, f.c);
	assert_int_equal(d[2].iov_len, 3);
	/* max reached: the described bytes stop with it */
	assert_int_equal(iov_slice(f.v, 5, 3, 9, d, 2), 2);
	assert_ptr_equal(d[0].iov_base, f.a + 3);
	assert_int_equal(d[0].iov_len, 1);
	assert_ptr_equal(d[1].iov_base, f.b);
	assert_int_equal(d[1].iov_len, 2);
}

/* ---- iov_advance ---- */

static void test_advance(void **state)
{
	struct fixture f;
	struct iovec *v;
	unsigned int n;

	/* inside the first entry: it shrinks, nothing is dropped */
	fixture_init(&f);
	v = f.v;
	n = 5;
	iov_advance(&v, &n, 3);
	assert_ptr_equal(v, f.v);
	assert_int_equal(n, 5);
	assert_ptr_equal(v->iov_base, f.a + 3);
	assert_int_equal(v->iov_len, 1);
	/* to an entry boundary: the empty entry met there goes too */
	iov_advance(&v, &n, 1);
	assert_ptr_equal(v, f.v + 2);
	assert_int_equal(n, 3);
	assert_int_equal(v->iov_len, 2);
	/* across an entry and an empty one into the next */
	iov_advance(&v, &n, 3);
	assert_ptr_equal(v, f.v + 4);
	assert_int_equal(n, 1);
	assert_ptr_equal(v->iov_base, f.c + 1);
	assert_int_equal(v->iov_len, 2);
	/* exactly to the end, then past it: empty, and stays so */
	iov_advance(&v, &n, 2);
	assert_int_equal(n, 0);
	iov_advance(&v, &n, 5);
	assert_int_equal(n, 0);
	assert_ptr_equal(v, f.v + 5);
}

static void test_advance_zero(void **state)
{
	struct fixture f;
	struct iovec *v;
	unsigned int n;

	/* 0 bytes: only leading empty entries go */
	fixture_init(&f);
	v = f.v;
	n = 5;
	iov_advance(&v, &n, 0);
	assert_ptr_equal(v, f.v);
	assert_int_equal(n, 5);
	assert_int_equal(v->iov_len, 4);
	v = f.v + 1;
	n = 4;
	iov_advance(&v, &n, 0);
	assert_ptr_equal(v, f.v + 2);
	assert_int_equal(n, 3);
	assert_int_equal(v->iov_len, 2);
	/* far past the end of an array of empty entries */
	v = f.v + 3;
	n = 1;
	iov_advance(&v, &n, SIZE_MAX);
	assert_int_equal(n, 0);
	assert_ptr_equal(v, f.v + 4);
	/* an empty array is left alone */
	v = f.v;
	n = 0;
	iov_advance(&v, &n, 3);
	assert_ptr_equal(v, f.v);
	assert_int_equal(f.v[0].iov_len, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_to_buf),
		cmocka_unit_test(test_from_buf),
		cmocka_unit_test(test_memset),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_slice_empty_entries),
		cmocka_unit_test(test_advance),
		cmocka_unit_test(test_advance_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
