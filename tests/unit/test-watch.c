// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/kvm.h"
#include "lkvm/watch.h"

static int feed(struct console_watch *w, const char *s)
{
	return watch_feed(w, (const u8 *)s, strlen(s));
}

static void setup(struct kvm_config *cfg, struct console_watch *w)
{
	char err[256];

	assert_int_equal(watch_init(w, cfg, err, sizeof(err)), 0);
}

static void test_expect_in_order(void **state)
{
	struct kvm_config cfg = { 0 };
	struct console_watch w;

	cfg.expect[0] = "Linux version";
	cfg.expect[1] = "login:";
	cfg.nr_expect = 2;
	setup(&cfg, &w);
	assert_true(watch_active(&w));
	/* The second pattern first does not count. */
	assert_int_equal(feed(&w, "login: too early\r\n"), -1);
	assert_int_equal(feed(&w, "[0.0] Linux ver"), -1);
	assert_int_equal(feed(&w, "sion 6.1\r\nbusybox "), -1);
	/* A prompt without a newline completes the run. */
	assert_int_equal(feed(&w, "login: "), LKVM_EXIT_OK);
	assert_non_null(strstr(w.why, "every --expect"));
	watch_free(&w);
}

static void test_same_line_needs_later_text(void **state)
{
	struct kvm_config cfg = { 0 };
	struct console_watch w;

	cfg.expect[0] = "A";
	cfg.expect[1] = "A";
	cfg.nr_expect = 2;
	setup(&cfg, &w);
	assert_int_equal(feed(&w, "A\n"), -1);
	assert_int_equal(feed(&w, "xA"), LKVM_EXIT_OK);
	watch_free(&w);
	/* Both on one line, one after the other. */
	setup(&cfg, &w);
	assert_int_equal(feed(&w, "A then A"), LKVM_EXIT_OK);
	watch_free(&w);
}

static void test_fail_on(void **state)
{
	struct kvm_config cfg = { 0 };
	struct console_watch w;

	cfg.expect[0] = "never";
	cfg.nr_expect = 1;
	cfg.fail_on[0] = "Kernel panic|BUG:";
	cfg.nr_fail_on = 1;
	setup(&cfg, &w);
	assert_int_equal(feed(&w, "all good\n[ 1.0] Kernel pa"), -1);
	assert_int_equal(feed(&w, "nic - not syncing: x\r\n"), LKVM_EXIT_FAIL_ON);
	assert_non_null(strstr(w.why, "Kernel panic - not syncing: x"));
	assert_null(strchr(w.why, '\r'));
	/* Decided: later output changes nothing. */
	assert_int_equal(feed(&w, "never\n"), LKVM_EXIT_FAIL_ON);
	watch_free(&w);
}

static void test_final(void **state)
{
	struct kvm_config cfg = { 0 };
	struct console_watch w;

	cfg.expect[0] = "ready";
	cfg.nr_expect = 1;
	setup(&cfg, &w);
	assert_int_equal(feed(&w, "booting\n"), -1);
	assert_int_equal(watch_final(&w, LKVM_EXIT_OK), LKVM_EXIT_EXPECT);
	assert_non_null(strstr(w.why, "before --expect 'ready'"));
	/* A timeout or a signal keeps its own status. */
	assert_int_equal(watch_final(&w, LKVM_EXIT_TIMEOUT), LKVM_EXIT_TIMEOUT);
	assert_int_equal(watch_final(&w, LKVM_EXIT_SIGNAL + 15), LKVM_EXIT_SIGNAL + 15);
	watch_free(&w);

	/* A failure on the last, unterminated line is still caught. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.fail_on[0] = "WARNING:";
	cfg.nr_fail_on = 1;
	setup(&cfg, &w);
	assert_int_equal(feed(&w, "WARNING: at foo"), -1);
	assert_int_equal(watch_final(&w, LKVM_EXIT_OK), LKVM_EXIT_FAIL_ON);
	watch_free(&w);
}

static void test_console_log_and_long_lines(void **state)
{
	char path[] = "/tmp/lkvm-watch-XXXXXX", buf[64];
	struct kvm_config cfg = { 0 };
	struct console_watch w;
	char *big = malloc(3 * WATCH_LINE_MAX);
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	cfg.console_log = path;
	cfg.fail_on[0] = "^zzz";
	cfg.nr_fail_on = 1;
	setup(&cfg, &w);
	memset(big, 'y', 3 * WATCH_LINE_MAX);
	assert_int_equal(watch_feed(&w, (u8 *)big, 3 * WATCH_LINE_MAX), -1);
	assert_int_equal(feed(&w, "\nhello\r\n"), -1);
	watch_free(&w);
	fd = open(path, O_RDONLY);
	assert_int_equal(lseek(fd, 3 * WATCH_LINE_MAX, SEEK_SET), 3 * WATCH_LINE_MAX);
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "\nhello\r\n", 8);	/* bytes as sent */
	close(fd);
	unlink(path);
	free(big);
}

static void test_bad_log_path(void **state)
{
	struct kvm_config cfg = { 0 };
	struct console_watch w;
	char err[256];

	cfg.console_log = "/nonexistent/dir/log";
	assert_int_not_equal(watch_init(&w, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "--console-log '/nonexistent/dir/log'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expect_in_order),
		cmocka_unit_test(test_same_line_needs_later_text),
		cmocka_unit_test(test_fail_on),
		cmocka_unit_test(test_final),
		cmocka_unit_test(test_console_log_and_long_lines),
		cmocka_unit_test(test_bad_log_path),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
