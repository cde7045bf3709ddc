// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/term.h"

#define ESC	"\x01"

/*
 * Filter @in as one read, in a buffer with exactly the room term.h asks
 * for (len + 1), so that ASan catches any overrun. Returns the output
 * length and copies it to @out.
 */
static size_t filter(struct term_escape *st, const char *in, size_t len,
		     u8 *out, bool *quit)
{
	u8 *buf = malloc(len + 1);
	size_t n;

	assert_non_null(buf);
	memcpy(buf, in, len);
	n = term_escape_filter(st, buf, len, quit);
	assert_true(n <= len + 1);
	memcpy(out, buf, n);
	free(buf);
	return n;
}

static void check(struct term_escape *st, const char *in, size_t in_len,
		  const char *want, size_t want_len, bool want_quit)
{
	u8 out[64];
	bool quit = !want_quit;
	size_t n;

	n = filter(st, in, in_len, out, &quit);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(quit, want_quit);
}

#define CHECK(st, in, want, q) \
	check(st, in, sizeof(in) - 1, want, sizeof(want) - 1, q)

static void test_plain(void **state)
{
	struct term_escape st = { 0 };

	CHECK(&st, "hello\r", "hello\r", false);
	CHECK(&st, "", "", false);
	CHECK(&st, "\x03\x1a\x00x", "\x03\x1a\x00x", false);
	assert_false(st.pending);
}

static void test_quit(void **state)
{
	struct term_escape st = { 0 };

	CHECK(&st, ESC "x", "", true);
	assert_false(st.pending);
	CHECK(&st, "ab" ESC "xcd", "abcd", true);
	/* Only lower case x quits. */
	CHECK(&st, ESC "X", ESC "X", false);
}

static void test_literal_escape(void **state)
{
	struct term_escape st = { 0 };

	CHECK(&st, ESC ESC, ESC, false);
	CHECK(&st, ESC ESC "x", ESC "x", false);
	/* The third Ctrl-a starts a new sequence. */
	CHECK(&st, ESC ESC ESC "x", ESC, true);
	CHECK(&st, ESC ESC ESC ESC, ESC ESC, false);
}

static void test_other_passes(void **state)
{
	struct term_escape st = { 0 };

	CHECK(&st, ESC "c", ESC "c", false);
	CHECK(&st, "a" ESC "b" ESC "\x03", "a" ESC "b" ESC "\x03", false);
	assert_false(st.pending);
}

static void test_split_reads(void **state)
{
	struct term_escape st = { 0 };

	/* Ctrl-a at the end of one read, x at the start of the next. */
	CHECK(&st, "ab" ESC, "ab", false);
	assert_true(st.pending);
	CHECK(&st, "x", "", true);
	assert_false(st.pending);

	/* Held, then resolved by an ordinary byte: both come out. */
	CHECK(&st, ESC, "", false);
	CHECK(&st, "yz", ESC "yz", false);

	/* Held across an empty read. */
	CHECK(&st, ESC, "", false);
	CHECK(&st, "", "", false);
	assert_true(st.pending);
	CHECK(&st, ESC, ESC, false);
	assert_false(st.pending);

	/* Held, then a one-byte read: the output is longer than the input. */
	CHECK(&st, ESC, "", false);
	CHECK(&st, "q", ESC "q", false);
	CHECK(&st, ESC, "", false);
	CHECK(&st, "q" ESC, ESC "q", false);
	CHECK(&st, "x", "", true);
}

/* Byte at a time reference for the randomised comparison below. */
static size_t reference(const u8 *in, size_t len, u8 *out, int *quits)
{
	bool pending = false;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (!pending) {
			if (in[i] == TERM_ESCAPE_CHAR)
				pending = true;
			else
				out[n++] = in[i];
		} else {
			pending = false;
			if (in[i] == 'x') {
				(*quits)++;
			} else if (in[i] == TERM_ESCAPE_CHAR) {
				out[n++] = in[i];
			} else {
				out[n++] = TERM_ESCAPE_CHAR;
				out[n++] = in[i];
			}
		}
	}
	return n;
}

static void test_random_splits(void **state)
{
	static const u8 alphabet[] = { 'a', 'x', TERM_ESCAPE_CHAR, 0 };
	u8 in[200], want[400], got[400];
	unsigned int seed = 12345, round;

	for (round = 0; round < 2000; round++) {
		struct term_escape st = { 0 };
		size_t len = rand_r(&seed) % sizeof(in);
		size_t i, want_len, got_len = 0;
		int want_quits = 0, got_quits = 0;

		for (i = 0; i < len; i++)
			in[i] = alphabet[rand_r(&seed) % sizeof(alphabet)];
		want_len = reference(in, len, want, &want_quits);

		for (i = 0; i < len;) {
			size_t chunk = rand_r(&seed) % (len - i + 1);
			bool quit;

			got_len += filter(&st, (const char *)in + i, chunk,
					  got + got_len, &quit);
			got_quits += quit;
			i += chunk;
		}
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		/* Two quits in one read report once; reads here are short. */
		assert_true(got_quits <= want_quits);
		assert_int_equal(got_quits > 0, want_quits > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quit),
		cmocka_unit_test(test_literal_escape),
		cmocka_unit_test(test_other_passes),
		cmocka_unit_test(test_split_reads),
		cmocka_unit_test(test_random_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
