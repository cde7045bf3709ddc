// SPDX-License-Identifier: GPL-2.0
/* Libraries loaded on demand (util/dl.c), tried on the C library itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/dl.h"

struct libc_fns {
	size_t (*strlen)(const char *s);
	int (*atoi)(const char *s);
};

static const struct dl_sym libc_syms[] = {
	DL_SYM(struct libc_fns, strlen, "strlen"),
	DL_SYM(struct libc_fns, atoi, "atoi"),
};

static const struct dl_sym libc_syms_missing[] = {
	DL_SYM(struct libc_fns, strlen, "strlen"),
	DL_SYM(struct libc_fns, atoi, "lkvm_no_such_function"),
};

/* Every pointer filled, and each one is the function it names. */
static void test_dl_load(void **state)
{
	struct libc_fns f = { 0 };
	char err[256] = "";
	void *h;

	h = dl_load("libc.so.6", libc_syms, 2, &f, err, sizeof(err));
	assert_non_null(h);
	assert_string_equal(err, "");
	assert_int_equal(f.strlen("lkvm"), 4);
	assert_int_equal(f.atoi("1234"), 1234);
	dl_close(h);
	dl_close(NULL);
}

/* No such library: the loader's reason names it; nothing filled. */
static void test_dl_load_no_library(void **state)
{
	struct libc_fns f = { 0 };
	char err[256] = "";

	assert_null(dl_load("liblkvm-none.so.0", libc_syms, 2, &f, err,
			    sizeof(err)));
	assert_non_null(strstr(err, "liblkvm-none.so.0"));
	assert_null(f.strlen);
	assert_null(f.atoi);
}

/* A symbol missing: the library and the symbol named; nothing filled. */
static void test_dl_load_no_symbol(void **state)
{
	struct libc_fns f = { 0 };
	char err[256] = "";

	assert_null(dl_load("libc.so.6", libc_syms_missing, 2, &f, err,
			    sizeof(err)));
	assert_string_equal(err, "libc.so.6: no symbol lkvm_no_such_function");
	assert_null(f.strlen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dl_load),
		cmocka_unit_test(test_dl_load_no_library),
		cmocka_unit_test(test_dl_load_no_symbol),
	};

	return cmocka_run_group_tests_name("dl", tests, NULL, NULL);
}
