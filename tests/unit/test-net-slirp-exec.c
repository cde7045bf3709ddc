// SPDX-License-Identifier: GPL-2.0
/*
 * The static lkvm's way to -n mode=user (net/slirp-exec.c): which
 * configurations need lkvm-slirp, and the exec itself, with the same
 * arguments (a child execs /bin/echo as lkvm-slirp, the parent reads
 * what it printed). The unit build has no net/slirp.c, as the static
 * lkvm has none.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "lkvm/kvm.h"
#include "lkvm/net-backend.h"

static void test_needed(void **state)
{
	struct kvm_config cfg = { 0 };

	assert_null(&net_slirp_ops);
	assert_false(net_slirp_exec_needed(&cfg));
	cfg.nics[cfg.nr_nics++] = "mode=tap,tapif=t0";
	cfg.nics[cfg.nr_nics++] = "mode=none";
	assert_false(net_slirp_exec_needed(&cfg));
	cfg.nics[cfg.nr_nics++] = "hostfwd=tcp::2222-:22";	/* user */
	assert_true(net_slirp_exec_needed(&cfg));
	cfg.nics[cfg.nr_nics - 1] = "user";
	assert_true(net_slirp_exec_needed(&cfg));
}

/* What a child that execs @argv (lkvm-slirp = /bin/echo) prints. */
static void exec_echo(char **argv, char *out, size_t len)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(p[1], STDOUT_FILENO);
		setenv("LKVM_SLIRP", "/bin/echo", 1);
		net_slirp_execv(argv);
		_exit(99);
	}
	close(p[1]);
	n = read_in_full(p[0], out, len - 1);
	close(p[0]);
	assert_true(n >= 0);
	out[n] = '\0';
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The same arguments, lkvm-slirp's path as argv[0]. */
static void test_execv_args(void **state)
{
	char *argv[] = { "lkvm", "run", "-k", "Image", "-n", "mode=user",
			 "-p", "a b", NULL };
	char out[256];

	exec_echo(argv, out, sizeof(out));
	assert_string_equal(out, "run -k Image -n mode=user -p a b\n");
}

static void test_execv_missing(void **state)
{
	char *argv[] = { "lkvm", "run", NULL };
	char *out;

	setenv("LKVM_SLIRP", "/nonexistent/lkvm-slirp", 1);
	capture_start();
	assert_int_equal(net_slirp_execv(argv), -ENOENT);
	out = capture_end();
	assert_string_equal(out, "lkvm: -n mode=user runs in lkvm-slirp (lkvm linked with libslirp): cannot run /nonexistent/lkvm-slirp: No such file or directory\n");
	free(out);
	unsetenv("LKVM_SLIRP");
}

/* What it ran is no lkvm-slirp, and would run it again: no loop. */
static void test_execv_loop(void **state)
{
	char *argv[] = { "lkvm", "run", NULL };
	char *out;

	setenv("LKVM_SLIRP", "/usr/bin/lkvm", 1);
	setenv("LKVM_SLIRP_EXECED", "1", 1);
	capture_start();
	assert_int_equal(net_slirp_execv(argv), -ELOOP);
	out = capture_end();
	assert_string_equal(out, "lkvm: -n mode=user: /usr/bin/lkvm has no libslirp either (not lkvm-slirp?)\n");
	free(out);
	unsetenv("LKVM_SLIRP_EXECED");
	unsetenv("LKVM_SLIRP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needed),
		cmocka_unit_test(test_execv_args),
		cmocka_unit_test(test_execv_missing),
		cmocka_unit_test(test_execv_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
