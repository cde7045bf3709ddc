// SPDX-License-Identifier: GPL-2.0
/*
 * The iovec module: totals, copies, fills, slices, in-place consumption
 * and file transfers over arrays with zero-length entries, skips inside,
 * at and past the end, totals that do not fit a size_t, and more entries
 * than one system call takes.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/iov.h"
#include "lkvm/util.h"

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

/* The fixture's 9 bytes, read straight from its buffers, are @want. */
static void expect_bytes(const struct fixture *f, const char *want)
{
	char flat[9];

	memcpy(flat, f->a, 4);
	memcpy(flat + 4, f->b, 2);
	memcpy(flat + 6, f->c, 3);
	assert_memory_equal(flat, want, 9);
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
	big[1].iov_len = 20;		/* would wrap to 9 */
	assert_true(iov_total(big, 2) == SIZE_MAX);
	big[1].iov_len = 10;
	big[0].iov_len = SIZE_MAX;
	assert_true(iov_total(big, 3) == SIZE_MAX);
	big[0].iov_len = SIZE_MAX - 11;
	assert_true(iov_total(big, 3) == SIZE_MAX);
	assert_true(iov_total(big, 2) == SIZE_MAX - 1);
}

/* ---- iov_to_buf ---- */

/* Copying @len bytes from @skip of the first @n entries gives @want, no more. */
static void expect_to_buf(const struct fixture *f, unsigned int n,
			  size_t skip, size_t len, const char *want)
{
	size_t k = strlen(want);
	char buf[16];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_to_buf(f->v, n, skip, buf, len), k);
	assert_memory_equal(buf, want, k);
	assert_int_equal(buf[k], 'x');
}

static void test_to_buf(void **state)
{
	struct fixture f;

	fixture_init(&f);
	expect_to_buf(&f, 5, 0, 9, "abcdefghi");	/* empty entries too */
	expect_to_buf(&f, 5, 3, 4, "defg");		/* inside; @len stops it */
	expect_to_buf(&f, 5, 4, 3, "efg");		/* skip on a boundary */
	expect_to_buf(&f, 5, 6, 16, "ghi");		/* ... and on empty ones */
	expect_to_buf(&f, 5, 0, 16, "abcdefghi");	/* more than there is */
	expect_to_buf(&f, 5, 9, 4, "");			/* at the end */
	expect_to_buf(&f, 5, 100, 4, "");		/* past it */
	expect_to_buf(&f, 5, 0, 0, "");
	expect_to_buf(&f, 0, 0, 4, "");
	expect_to_buf(&f, 3, 2, 16, "cdef");		/* only @n entries */
}

/* ---- iov_from_buf ---- */

static void test_from_buf(void **state)
{
	struct fixture f;
	char flat[9];

	fixture_init(&f);
	assert_int_equal(iov_from_buf(f.v, 5, 3, "DEFG", 4), 4);
	expect_bytes(&f, "abcDEFGhi");
	/* stops at the end of the array */
	assert_int_equal(iov_from_buf(f.v, 5, 7, "HIJK", 4), 2);
	expect_bytes(&f, "abcDEFGHI");
	assert_int_equal(iov_from_buf(f.v, 5, 9, "Z", 1), 0);
	assert_int_equal(iov_from_buf(f.v, 5, 1000, "Z", 1), 0);
	assert_int_equal(iov_from_buf(f.v, 5, 0, "Z", 0), 0);
	assert_int_equal(iov_from_buf(f.v, 0, 0, "Z", 1), 0);
	expect_bytes(&f, "abcDEFGHI");
	/* round trip through a flat buffer */
	assert_int_equal(iov_from_buf(f.v, 5, 0, "123456789", 9), 9);
	assert_int_equal(iov_to_buf(f.v, 5, 0, flat, 9), 9);
	assert_memory_equal(flat, "123456789", 9);
}

/* ---- iov_memset ---- */

static void test_memset(void **state)
{
	struct fixture f;

	fixture_init(&f);
	assert_int_equal(iov_memset(f.v, 5, 2, '-', 5), 5);
	expect_bytes(&f, "ab-----hi");
	assert_int_equal(iov_memset(f.v, 5, 8, '+', SIZE_MAX), 1);
	expect_bytes(&f, "ab-----h+");
	assert_int_equal(iov_memset(f.v, 5, 9, '!', 1), 0);
	assert_int_equal(iov_memset(f.v, 5, 0, '!', 0), 0);
	expect_bytes(&f, "ab-----h+");
	assert_int_equal(iov_memset(f.v, 5, 0, 0, SIZE_MAX), 9);
	assert_int_equal(iov_total(f.v, 5), 9);
	expect_bytes(&f, "\0\0\0\0\0\0\0\0\0");
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
	/* from entry @start of @n, consume @bytes: entry @first of @left
	 * comes out first, @len bytes long (its end never moves) */
	static const struct {
		unsigned int start, n;
		size_t bytes;
		unsigned int first, left;
		size_t len;
	} t[] = {
		{ 0, 5, 3, 0, 5, 1 },		/* inside the first entry */
		{ 0, 5, 4, 2, 3, 2 },		/* to a boundary: the empty one goes */
		{ 0, 5, 7, 4, 1, 2 },		/* across entries, empty ones too */
		{ 0, 5, 9, 5, 0, 0 },		/* exactly to the end */
		{ 0, 5, 14, 5, 0, 0 },		/* past it */
		{ 0, 5, 0, 0, 5, 4 },		/* nothing: nothing changes */
		{ 1, 4, 0, 2, 3, 2 },		/* nothing: the empty head goes */
		{ 3, 1, SIZE_MAX, 4, 0, 0 },	/* only empty entries */
		{ 0, 0, 3, 0, 0, 0 },		/* an empty array stays so */
		{ 2, 1, 1, 2, 1, 1 },		/* @n bounds it, not the array */
	};
	static const size_t orig[5] = { 4, 0, 2, 0, 3 };
	struct fixture f;
	struct iovec *v;
	unsigned int i, j, n;
	char *end = NULL;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fixture_init(&f);
		v = f.v + t[i].start;
		n = t[i].n;
		if (t[i].left)
			end = (char *)f.v[t[i].first].iov_base +
			      f.v[t[i].first].iov_len;
		iov_advance(&v, &n, t[i].bytes);
		assert_ptr_equal(v, f.v + t[i].first);
		assert_int_equal(n, t[i].left);
		if (n) {
			assert_int_equal(v->iov_len, t[i].len);
			assert_ptr_equal((char *)v->iov_base + v->iov_len, end);
		}
		/* entries dropped whole (or never reached) are not written */
		for (j = 0; j < 5; j++)
			if (j != t[i].first || !n)
				assert_int_equal(f.v[j].iov_len, orig[j]);
	}
}

/* ---- iov_pio ---- */

static void test_pio(void **state)
{
	struct fixture f;
	char flat[16];
	int fd = memfd_create("test-iov", 0);

	assert_true(fd >= 0);
	fixture_init(&f);
	/* "cdefg", from inside an entry across empty ones, at offset 10 */
	assert_int_equal(iov_pio(fd, f.v, 5, 2, 5, 10, true), 5);
	assert_int_equal(pread(fd, flat, sizeof(flat), 0), 15);
	assert_memory_equal(flat + 10, "cdefg", 5);
	/* read back into the middle of the array, then its start */
	assert_int_equal(iov_pio(fd, f.v, 5, 3, 4, 10, false), 4);
	expect_bytes(&f, "abccdefhi");
	assert_int_equal(iov_pio(fd, f.v, 5, 0, 4, 10, false), 4);
	expect_bytes(&f, "cdefdefhi");
	/* the end of the file: what there is; past it, nothing */
	assert_int_equal(iov_pio(fd, f.v, 5, 0, 9, 13, false), 2);
	expect_bytes(&f, "fgefdefhi");
	assert_int_equal(iov_pio(fd, f.v, 5, 0, 9, 100, false), 0);
	/* the end of the array; nothing at all */
	assert_int_equal(iov_pio(fd, f.v, 5, 7, 100, 0, true), 2);
	assert_int_equal(iov_pio(fd, f.v, 5, 9, 1, 0, true), 0);
	assert_int_equal(iov_pio(fd, f.v, 0, 0, 1, 0, true), 0);
	assert_int_equal(iov_pio(-1, f.v, 5, 0, 9, 0, false), -EBADF);
	close(fd);
}

/* More entries than one preadv() takes, and than the helper's stack copy. */
static void test_pio_many(void **state)
{
	enum { N = IOV_MAX * 2 + 3 };
	static struct iovec v[N];
	static u8 in[N], out[N];
	int fd = memfd_create("test-iov", 0);
	unsigned int i;

	assert_true(fd >= 0);
	for (i = 0; i < N; i++) {
		in[i] = (u8)(i * 7);
		v[i] = (struct iovec) { in + i, 1 };
	}
	assert_int_equal(iov_pio(fd, v, N, 0, N, 0, true), N);
	for (i = 0; i < N; i++)
		v[i].iov_base = out + i;
	assert_int_equal(iov_pio(fd, v, N, 0, N, 0, false), N);
	assert_memory_equal(in, out, N);
	close(fd);
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
		cmocka_unit_test(test_pio),
		cmocka_unit_test(test_pio_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
