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

/* Feed @s a byte at a time, as the UART prints. */
static int feed_bytes(struct console_watch *w, const char *s, size_t n)
{
	int ret = -1;
	size_t i;

	for (i = 0; i < n; i++)
		ret = watch_feed(w, (const u8 *)s + i, 1);
	return ret;
}

/* A long line printed a byte at a time costs its length times a bound. */
static void test_partial_line_bounded(void **state)
{
	struct kvm_config cfg = { 0 };
	struct console_watch w;
	char *line = malloc(WATCH_LINE_MAX + 1000);

	memset(line, 'x', WATCH_LINE_MAX + 1000);
	cfg.expect[0] = "NEVER";
	cfg.nr_expect = 1;
	setup(&cfg, &w);
	assert_int_equal(feed_bytes(&w, line, 4000), -1);
	assert_true(w.scanned <= 4000ULL * WATCH_TAIL_MAX);
	assert_true(w.scanned >= 4000ULL * 100);	/* it did look */
	assert_int_equal(feed(&w, "\n"), -1);
	assert_true(w.scanned <= 4000ULL * WATCH_TAIL_MAX + 4000);
	watch_free(&w);

	/* A prompt at the end of a long unfinished line is still seen. */
	cfg.expect[0] = "login: $";
	setup(&cfg, &w);
	assert_int_equal(feed_bytes(&w, line, 3000), -1);
	assert_int_equal(feed_bytes(&w, "login: ", 7), LKVM_EXIT_OK);
	watch_free(&w);

	/* The tail of a line is not its start for '^'; the next line is. */
	cfg.expect[0] = "^login";
	setup(&cfg, &w);
	assert_int_equal(feed_bytes(&w, line, 1000), -1);
	assert_int_equal(feed_bytes(&w, "login", 5), -1);
	assert_int_equal(feed(&w, "\nlogin"), LKVM_EXIT_OK);
	watch_free(&w);

	/* Longer than the tail: matched once the line ends. */
	cfg.expect[0] = "^a{300}b";
	setup(&cfg, &w);
	memset(line, 'a', 300);
	line[300] = 'b';
	assert_int_equal(feed_bytes(&w, line, 301), -1);
	assert_int_equal(feed(&w, "\r\n"), LKVM_EXIT_OK);
	watch_free(&w);

	/* A line split at WATCH_LINE_MAX: its first part is tried whole. */
	cfg.expect[0] = "^y{1000}";
	setup(&cfg, &w);
	memset(line, 'y', WATCH_LINE_MAX + 1000);
	assert_int_equal(watch_feed(&w, (u8 *)line, WATCH_LINE_MAX + 1000),
			 LKVM_EXIT_OK);
	watch_free(&w);
	free(line);
}

static void read_back(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	unlink(path);
}

static int tmp_file(char *path)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	return fd;
}

static void out(struct kvm *kvm, const char *s)
{
	console_output(kvm, (const u8 *)s, strlen(s));
}

/*
 * The console bytes that matched reach stdout and the log before lkvm's
 * verdict, which starts on a line of its own: "USERSPACE O" + verdict +
 * "K" was the bug. Here stdout and stderr are one file, as with 2>&1.
 */
static void test_output_order(void **state)
{
	char outp[] = "/tmp/lkvm-out-XXXXXX", logp[] = "/tmp/lkvm-log-XXXXXX";
	static struct kvm kvm;
	char buf[512];
	int fd = tmp_file(outp), saved = dup(STDERR_FILENO);

	close(tmp_file(logp));
	kvm.cfg.expect[0] = "USERSPACE OK";
	kvm.cfg.nr_expect = 1;
	kvm.cfg.console_log = logp;
	kvm_stop_init(&kvm.stop);
	assert_int_equal(console_watch_init(&kvm), 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	console_write_init(fd);
	out(&kvm, "[ 1.0] init\r\nUSERSPACE O");
	assert_false(kvm_is_stopping(&kvm));
	out(&kvm, "K");
	assert_true(kvm_is_stopping(&kvm));
	assert_int_equal(kvm_stop_status(&kvm), LKVM_EXIT_OK);
	out(&kvm, "\r\nafter");
	pr_warn("stopping");		/* mid-line again: a fresh line */
	out(&kvm, "done\n");
	pr_info("at a line start");	/* no empty line */
	dup2(saved, STDERR_FILENO);
	close(saved);
	console_write_init(STDOUT_FILENO);
	console_watch_exit(&kvm);
	assert_int_equal(console_watch_final(&kvm, LKVM_EXIT_TIMEOUT), LKVM_EXIT_OK);
	kvm_stop_destroy(&kvm.stop);
	close(fd);
	read_back(outp, buf, sizeof(buf));
	assert_string_equal(buf, "[ 1.0] init\r\nUSERSPACE OK\n"
			    "lkvm: every --expect pattern was seen\n"
			    "\r\nafter\nlkvm: warning: stopping\n"
			    "done\nlkvm: at a line start\n");
	/* The log has the console alone, after the decision too. */
	read_back(logp, buf, sizeof(buf));
	assert_string_equal(buf, "[ 1.0] init\r\nUSERSPACE OK\r\nafterdone\n");
}

/* stderr elsewhere (2>file): no newline of ours in front of its lines. */
static void test_output_stderr_apart(void **state)
{
	char outp[] = "/tmp/lkvm-out-XXXXXX", errp[] = "/tmp/lkvm-err-XXXXXX";
	int fd = tmp_file(outp), efd = tmp_file(errp);
	int saved = dup(STDERR_FILENO);
	static struct kvm kvm;
	char buf[256];

	assert_int_equal(console_watch_init(&kvm), 0);
	assert_int_equal(dup2(efd, STDERR_FILENO), STDERR_FILENO);
	console_write_init(fd);
	out(&kvm, "login: ");
	pr_warn("elsewhere");
	dup2(saved, STDERR_FILENO);
	close(saved);
	console_write_init(STDOUT_FILENO);
	console_watch_exit(&kvm);
	assert_int_equal(console_watch_final(&kvm, LKVM_EXIT_OK), LKVM_EXIT_OK);
	assert_null(kvm.cons_out);
	close(efd);
	close(fd);
	read_back(outp, buf, sizeof(buf));
	assert_string_equal(buf, "login: ");
	read_back(errp, buf, sizeof(buf));
	assert_string_equal(buf, "lkvm: warning: elsewhere\n");
}

static void watch_vm(struct kvm *kvm, const char *expect, const char *fail_on,
		     const char *log)
{
	kvm->cfg.expect[0] = expect;
	kvm->cfg.nr_expect = 1;
	kvm->cfg.fail_on[0] = fail_on;
	kvm->cfg.nr_fail_on = fail_on != NULL;
	kvm->cfg.console_log = log;
	kvm_stop_init(&kvm->stop);
	assert_int_equal(console_watch_init(kvm), 0);
}

/*
 * Two VMs in one process: each has its own line, patterns, log and stop;
 * neither sees the other's output.
 */
static void test_two_vms(void **state)
{
	char outp[] = "/tmp/lkvm-out-XXXXXX", loga[] = "/tmp/lkvm-loga-XXXXXX";
	char logb[] = "/tmp/lkvm-logb-XXXXXX", buf[256];
	static struct kvm a, b;
	int fd = tmp_file(outp);

	close(tmp_file(loga));
	close(tmp_file(logb));
	watch_vm(&a, "ALPHA BETA", NULL, loga);
	watch_vm(&b, "GAMMA", "ALPHA", logb);
	assert_ptr_not_equal(a.cons_out, b.cons_out);
	console_write_init(fd);
	out(&a, "ALPHA ");
	out(&b, "BETA\n");		/* not A's "ALPHA BETA", not B's --fail-on */
	assert_false(kvm_is_stopping(&a));
	assert_false(kvm_is_stopping(&b));
	out(&b, "GAMMA\n");
	assert_false(kvm_is_stopping(&a));
	assert_true(kvm_is_stopping(&b));
	assert_int_equal(kvm_stop_status(&b), LKVM_EXIT_OK);
	out(&a, "BETA\n");
	assert_true(kvm_is_stopping(&a));
	assert_int_equal(kvm_stop_status(&a), LKVM_EXIT_OK);
	console_write_init(STDOUT_FILENO);
	console_watch_exit(&a);
	console_watch_exit(&b);
	assert_int_equal(console_watch_final(&a, LKVM_EXIT_TIMEOUT), LKVM_EXIT_OK);
	assert_int_equal(console_watch_final(&b, LKVM_EXIT_TIMEOUT), LKVM_EXIT_OK);
	kvm_stop_destroy(&a.stop);
	kvm_stop_destroy(&b.stop);
	close(fd);
	read_back(outp, buf, sizeof(buf));
	assert_string_equal(buf, "ALPHA BETA\nGAMMA\nBETA\n");
	read_back(loga, buf, sizeof(buf));
	assert_string_equal(buf, "ALPHA BETA\n");
	read_back(logb, buf, sizeof(buf));
	assert_string_equal(buf, "BETA\nGAMMA\n");
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
		cmocka_unit_test(test_partial_line_bounded),
		cmocka_unit_test(test_output_order),
		cmocka_unit_test(test_output_stderr_apart),
		cmocka_unit_test(test_two_vms),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
