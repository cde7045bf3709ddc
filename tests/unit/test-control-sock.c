// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket on the file system (util/control-sock.c), with real
 * Unix sockets in a temporary $HOME: the path rules, the folder's and
 * socket's modes, a live namesake refused, a stale socket removed (by
 * the server and by a client), a file in the way left alone, the
 * message I/O's limits and timeouts, and the commands' option parsing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/control.h"
#include "lkvm/options.h"

static char home[64], err[512];

static int setup(void **state)
{
	snprintf(home, sizeof(home), "/tmp/lkvm-ctl-XXXXXX");
	assert_non_null(mkdtemp(home));
	setenv("HOME", home, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void sock_path(const char *name, char *buf, size_t len)
{
	assert_int_equal(ctl_sock_path(name, buf, len, err, sizeof(err)), 0);
}

static void test_paths(void **state)
{
	char path[256], want[128], longname[CTL_NAME_MAX + 1];

	sock_path("web", path, sizeof(path));
	snprintf(want, sizeof(want), "%s/.lkvm/web.sock", home);
	assert_string_equal(path, want);
	assert_int_equal(ctl_sock_path("../x", path, sizeof(path), err,
				       sizeof(err)), -EINVAL);
	/* a name that passes but makes the path too long for sun_path */
	memset(longname, 'n', CTL_NAME_MAX);
	longname[CTL_NAME_MAX] = 0;
	setenv("HOME", "/tmp/a-rather-long-home-folder-name-for-this-test", 1);
	assert_int_equal(ctl_sock_path(longname, path, sizeof(path), err,
				       sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, "over the 107 bytes"));
	/* no $HOME: said so (a static lkvm has no password database) */
	unsetenv("HOME");
	assert_int_equal(ctl_sock_path("web", path, sizeof(path), err,
				       sizeof(err)), -ENOENT);
	assert_string_equal(err, "$HOME is not set: the control sockets live in $HOME/.lkvm");
	setenv("HOME", home, 1);
}

static void test_listen_modes(void **state)
{
	char path[256], dir[128];
	struct stat st;
	int fd;

	/* an existing ~/.lkvm of ours is made 0700 (lkvm setup makes 0755) */
	snprintf(dir, sizeof(dir), "%s/.lkvm", home);
	assert_int_equal(mkdir(dir, 0755), 0);
	fd = ctl_listen("web", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	sock_path("web", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
}

/* A live namesake: refused, naming its pid (ours here). */
static void test_live_refused(void **state)
{
	char want[64];
	int fd, fd2;

	fd = ctl_listen("web", err, sizeof(err));
	assert_true(fd >= 0);
	fd2 = ctl_listen("web", err, sizeof(err));
	assert_int_equal(fd2, -EADDRINUSE);
	snprintf(want, sizeof(want), "another lkvm (pid %d)", getpid());
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "--name web"));
	close(fd);
}

/* A socket whose server died (closed, not removed): the next one takes it. */
static void test_stale_removed_by_server(void **state)
{
	int fd = ctl_listen("web", err, sizeof(err));

	assert_true(fd >= 0);
	close(fd);
	fd = ctl_listen("web", err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

static void test_stale_removed_by_client(void **state)
{
	char path[256];
	int fd = ctl_listen("old", err, sizeof(err));

	assert_true(fd >= 0);
	close(fd);
	sock_path("old", path, sizeof(path));
	assert_int_equal(ctl_connect("old", err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "guest 'old' is gone"));
	assert_int_equal(access(path, F_OK), -1);
	/* then it is simply not there */
	assert_int_equal(ctl_connect("old", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no guest named 'old' (see 'lkvm list')");
}

/* A file of the name that is not a socket is never removed. */
static void test_file_in_the_way(void **state)
{
	char path[256];
	FILE *f;
	int fd = ctl_listen("web", err, sizeof(err));	/* makes ~/.lkvm */

	close(fd);
	sock_path("web", path, sizeof(path));
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(ctl_listen("web", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "is not an lkvm control socket"));
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(ctl_connect("web", err, sizeof(err)), -ECONNREFUSED);
	assert_int_equal(access(path, F_OK), 0);
}

/* ctl_recv: a good request, a stalled one, an oversized one, a closed peer. */
static void test_recv(void **state)
{
	u8 msg[64], buf[CTL_MAX_REQUEST];
	int sv[2];
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	n = ctl_request_encode(msg, sizeof(msg), "info", NULL, 0);
	assert_int_equal(send(sv[0], msg, n, 0), n);
	assert_int_equal(ctl_recv(sv[1], CTL_KIND_REQUEST, buf, sizeof(buf), 100,
				  err, sizeof(err)), 5);
	assert_memory_equal(buf, "info", 5);
	/* half a header, then silence: a timeout, not a hang */
	assert_int_equal(send(sv[0], msg, 6, 0), 6);
	assert_int_equal(ctl_recv(sv[1], CTL_KIND_REQUEST, buf, sizeof(buf), 50,
				  err, sizeof(err)), -ETIMEDOUT);
	/* a header announcing more than the buffer: refused unread */
	ctl_hdr_put(msg, CTL_KIND_REPLY, 100);
	assert_int_equal(send(sv[0], msg, CTL_HDR_SIZE, 0), CTL_HDR_SIZE);
	assert_int_equal(ctl_recv(sv[1], CTL_KIND_REPLY, buf, 10, 50, err,
				  sizeof(err)), -EMSGSIZE);
	/* a header, then the peer leaves */
	ctl_hdr_put(msg, CTL_KIND_REQUEST, 10);
	assert_int_equal(send(sv[0], msg, CTL_HDR_SIZE, 0), CTL_HDR_SIZE);
	close(sv[0]);
	assert_int_equal(ctl_recv(sv[1], CTL_KIND_REQUEST, buf, sizeof(buf), 50,
				  err, sizeof(err)), -ECONNRESET);
	assert_non_null(strstr(err, "truncated message"));
	close(sv[1]);
}

static void count_name(const char *name, void *ctx)
{
	char *seen = ctx;

	strcat(seen, name);
	strcat(seen, ",");
}

static void test_instances(void **state)
{
	char seen[128] = "", dir[128];
	int a, b;

	assert_int_equal(ctl_for_each_instance(count_name, seen), 0);
	b = ctl_listen("b", err, sizeof(err));
	a = ctl_listen("a", err, sizeof(err));
	snprintf(dir, sizeof(dir), "%s/.lkvm/rootfs", home);
	assert_int_equal(mkdir(dir, 0755), 0);	/* not a socket: skipped */
	assert_int_equal(ctl_for_each_instance(count_name, seen), 2);
	assert_string_equal(seen, "a,b,");
	close(a);
	close(b);
}

/* Just --name, and --all when @all is not NULL (stop, stat). */
static int parse(int argc, char **argv, const char **name, bool *all)
{
	struct ctl_cmdline cl;
	int ret = ctl_parse_cmdline(argc, argv, all ? CTL_OPT_ALL : 0, &cl,
				    err, sizeof(err));

	*name = cl.name;
	if (all)
		*all = cl.all;
	return ret;
}

static void test_parse_target(void **state)
{
	char *a1[] = { "stop", "--name", "web", NULL };
	char *a2[] = { "stop", "-a", NULL };
	char *a3[] = { "stop", NULL };
	char *a4[] = { "stop", "-n", "web", "--all", NULL };
	char *a5[] = { "stop", "-n", "bad/name", NULL };
	char *a6[] = { "stop", "--help", NULL };
	char *a7[] = { "stop", "web", NULL };
	char *a8[] = { "stop", "--bogus", NULL };
	const char *name;
	bool all;

	assert_int_equal(parse(3, a1, &name, &all), PARSE_OK);
	assert_string_equal(name, "web");
	assert_false(all);
	assert_int_equal(parse(2, a2, &name, &all), PARSE_OK);
	assert_null(name);
	assert_true(all);
	assert_int_equal(parse(1, a3, &name, &all), PARSE_ERROR);
	assert_string_equal(err, "give --name NAME or --all");
	assert_int_equal(parse(4, a4, &name, &all), PARSE_ERROR);
	assert_int_equal(parse(3, a5, &name, &all), PARSE_ERROR);
	assert_non_null(strstr(err, "name 'bad/name'"));
	assert_int_equal(parse(2, a6, &name, &all), PARSE_HELP);
	assert_int_equal(parse(2, a7, &name, &all), PARSE_ERROR);
	assert_string_equal(err, "unexpected argument 'web'");
	assert_int_equal(parse(2, a8, &name, &all), PARSE_ERROR);
	/* a command without --all (stat) */
	assert_int_equal(parse(2, a2, &name, NULL), PARSE_ERROR);
	assert_int_equal(parse(1, a3, &name, NULL), PARSE_ERROR);
	assert_string_equal(err, "give --name NAME");
}

static int parse_cl(int argc, char **argv, unsigned int allow,
		    struct ctl_cmdline *cl)
{
	return ctl_parse_cmdline(argc, argv, allow, cl, err, sizeof(err));
}

/* stat --memory, balloon --inflate/--deflate: the request's arguments */
static void test_parse_cmdline(void **state)
{
	char *s1[] = { "stat", "-n", "web", "--memory", NULL };
	char *s2[] = { "stop", "-n", "web", "--memory", NULL };
	char *b1[] = { "balloon", "-n", "web", "--inflate", "128", NULL };
	char *b2[] = { "balloon", "-n", "web", "-d", "1G", NULL };
	char *b3[] = { "balloon", "-n", "web", NULL };
	char *b4[] = { "balloon", "-n", "web", "-i", "1", "-d", "1", NULL };
	char *b5[] = { "balloon", "-n", "web", "-i", "3K", NULL };
	char *b6[] = { "balloon", "-n", "web", "-i", "-5", NULL };
	char *b7[] = { "balloon", "-n", "web", "-i", "17T", NULL };
	struct ctl_cmdline cl;

	assert_int_equal(parse_cl(4, s1, CTL_OPT_MEMORY, &cl), PARSE_OK);
	assert_string_equal(cl.name, "web");
	assert_int_equal(cl.nargs, 1);
	assert_string_equal(cl.args[0], "--memory");
	/* a command that does not take the option */
	assert_int_equal(parse_cl(4, s2, CTL_OPT_ALL, &cl), PARSE_ERROR);
	assert_string_equal(err, "unknown option or missing argument '--memory'");
	assert_int_equal(parse_cl(5, b1, CTL_OPT_BALLOON, &cl), PARSE_OK);
	assert_int_equal(cl.nargs, 2);
	assert_string_equal(cl.args[0], "--inflate");
	assert_string_equal(cl.args[1], "128");
	assert_int_equal(parse_cl(5, b2, CTL_OPT_BALLOON, &cl), PARSE_OK);
	assert_string_equal(cl.args[0], "--deflate");
	assert_int_equal(parse_cl(3, b3, CTL_OPT_BALLOON, &cl), PARSE_ERROR);
	assert_string_equal(err, "give --inflate MiB or --deflate MiB");
	assert_int_equal(parse_cl(7, b4, CTL_OPT_BALLOON, &cl), PARSE_ERROR);
	assert_string_equal(err, "give one of --inflate and --deflate, once");
	assert_int_equal(parse_cl(5, b5, CTL_OPT_BALLOON, &cl), PARSE_ERROR);
	assert_non_null(strstr(err, "--inflate '3K': not a size in MiB"));
	assert_int_equal(parse_cl(5, b6, CTL_OPT_BALLOON, &cl), PARSE_ERROR);
	assert_int_equal(parse_cl(5, b7, CTL_OPT_BALLOON, &cl), PARSE_ERROR);
	assert_string_equal(err, "--inflate '17T': over the balloon's limit of 16 TiB");
	/* balloon has no --all */
	assert_int_equal(parse_cl(5, b1, CTL_OPT_MEMORY, &cl), PARSE_ERROR);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_paths),
		T(test_listen_modes),
		T(test_live_refused),
		T(test_stale_removed_by_server),
		T(test_stale_removed_by_client),
		T(test_file_in_the_way),
		T(test_recv),
		T(test_instances),
		T(test_parse_target),
		T(test_parse_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
