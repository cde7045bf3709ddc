/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TEST_CAPTURE_H
#define LKVM_TEST_CAPTURE_H

/*
 * Capturing what lkvm prints on stderr (pr_err, pr_warn...), for tests:
 * capture_start() sends stderr to a temporary file, capture_end() puts it
 * back and returns what was written (malloc'ed, NUL-terminated).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/util.h"

static int saved_stderr = -1;
static char capture_path[] = "/tmp/lkvm-test-capture-XXXXXX";

static inline void capture_start(void)
{
	int fd = mkstemp(capture_path);

	assert_true(fd >= 0);
	/* O_APPEND so that concurrent writers cannot overwrite each other. */
	assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static inline char *capture_end(void)
{
	void *buf;
	size_t len;

	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	assert_int_equal(read_file(capture_path, &buf, &len), 0);
	unlink(capture_path);
	strcpy(capture_path, "/tmp/lkvm-test-capture-XXXXXX");
	return buf;
}

/* How many times @needle occurs in @hay. */
static inline int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

#endif
