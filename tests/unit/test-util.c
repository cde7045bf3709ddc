// SPDX-License-Identifier: GPL-2.0
/*
 * Messages, rate limiting, size parsing and file I/O helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/util.h"
#include "capture.h"

/* ---- parse_mem_size ---- */

static void expect_size(const char *s, u64 bytes)
{
	u64 got = 0;

	if (parse_mem_size(s, &got))
		fail_msg("'%s' rejected", s);
	if (got != bytes)
		fail_msg("'%s' gave %llu, expected %llu", s,
			 (unsigned long long)got, (unsigned long long)bytes);
}

static void expect_invalid(const char *s)
{
	u64 got = 12345;

	if (parse_mem_size(s, &got) != -EINVAL)
		fail_msg("'%s' accepted", s ? s : "(null)");
	/* A failed parse leaves the output alone. */
	assert_int_equal(got, 12345);
}

static void expect_format(u64 bytes, const char *want)
{
	char buf[32];
	u64 back = 0;

	format_mem_size(bytes, buf, sizeof(buf));
	assert_string_equal(buf, want);
	/* What it prints, -m reads back (whole KiB). */
	if (bytes && bytes % 1024 == 0) {
		assert_int_equal(parse_mem_size(buf, &back), 0);
		assert_int_equal(back, bytes);
	}
}

static void test_format_mem_size(void **state)
{
	expect_format(2ULL << 40, "2T");
	expect_format(1022 * SZ_1G, "1022G");
	expect_format(256 * SZ_1M, "256M");
	expect_format(SZ_1G + SZ_1M, "1025M");
	expect_format(4096, "4K");
	expect_format(1000, "1000 bytes");
	expect_format(0, "0 bytes");
}

static void test_parse_mem_size_valid(void **state)
{
	expect_size("512", 512 * SZ_1M);
	expect_size("1", SZ_1M);
	expect_size("512M", 512 * SZ_1M);
	expect_size("512m", 512 * SZ_1M);
	expect_size("2G", 2 * SZ_1G);
	expect_size("2g", 2 * SZ_1G);
	expect_size("1T", 1024 * SZ_1G);
	expect_size("1t", 1024 * SZ_1G);
	expect_size("65536K", 64 * SZ_1M);
	expect_size("4k", 4096);
	expect_size("512MB", 512 * SZ_1M);
	expect_size("512MiB", 512 * SZ_1M);
	expect_size("2gib", 2 * SZ_1G);
	expect_size("0010", 10 * SZ_1M);
	/* The largest value that fits. */
	expect_size("16777215T", 16777215ULL << 40);
	expect_size("17592186044415", 17592186044415ULL << 20);
}

static void test_parse_mem_size_invalid(void **state)
{
	expect_invalid(NULL);
	expect_invalid("");
	expect_invalid("0");
	expect_invalid("0G");
	expect_invalid("-1");
	expect_invalid("-512M");
	expect_invalid("+512");
	expect_invalid(" 512");
	expect_invalid("512 ");
	expect_invalid("M");
	expect_invalid("abc");
	expect_invalid("512X");
	expect_invalid("512MM");
	expect_invalid("512Mx");
	expect_invalid("512B");
	expect_invalid("1.5G");
	expect_invalid("0x100");
	expect_invalid("16777216T");
	expect_invalid("17592186044416");
	expect_invalid("18446744073709551615");
	expect_invalid("99999999999999999999999999");
	expect_invalid("17179869184G");
}

/* ---- messages ---- */

static void test_messages(void **state)
{
	char *out;

	capture_start();
	pr_err("kernel '%s': %s", "/x", "file not found");
	pr_warn("two\n");
	pr_info("three");
	pr_debug_impl("four %d", 4);
	lkvm_debug = false;
	pr_debug("hidden");
	lkvm_debug = true;
	pr_debug("shown");
	lkvm_debug = false;
	out = capture_end();

	assert_string_equal(out,
		"lkvm: kernel '/x': file not found\n"
		"lkvm: warning: two\n"
		"lkvm: three\n"
		"lkvm: debug: four 4\n"
		"lkvm: debug: shown\n");
	free(out);
}

/* --debug's phase lines: "at N ms: ...", N from lkvm's start, not decreasing */
static void test_phase(void **state)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	unsigned long long a, b;
	u64 t0, t1;
	char *out;

	t0 = lkvm_uptime_ms();
	nanosleep(&ts, NULL);
	t1 = lkvm_uptime_ms();
	assert_true(t1 >= t0 + 20);
	assert_true(t1 < 60 * 1000);	/* counted from this process's start */

	capture_start();
	pr_phase("hidden");
	lkvm_debug = true;
	pr_phase("VM created, %d MiB", 256);
	pr_phase("second");
	lkvm_debug = false;
	out = capture_end();
	assert_int_equal(sscanf(out, "lkvm: debug: at %llu ms: VM created, 256 MiB\n"
				"lkvm: debug: at %llu ms: second\n", &a, &b), 2);
	assert_true(a >= t1 && b >= a);
	assert_null(strstr(out, "hidden"));
	free(out);
}

static void test_message_preserves_errno(void **state)
{
	char *out;

	capture_start();
	errno = EBADF;
	pr_err("oops");
	assert_int_equal(errno, EBADF);
	out = capture_end();
	free(out);
}

static void test_message_long(void **state)
{
	char *big = malloc(5000), *out;
	size_t len;

	memset(big, 'x', 4999);
	big[4999] = '\0';
	capture_start();
	pr_err("%s", big);
	pr_err("after");
	out = capture_end();

	/* Truncated, but still one whole line, and the next one intact. */
	len = strlen(out);
	assert_true(len > 100 && len < 4999);
	assert_memory_equal(out, "lkvm: xxx", 9);
	assert_non_null(strstr(out, "x\nlkvm: after\n"));
	assert_int_equal(out[len - 1], '\n');
	free(out);
	free(big);
}

#define THREADS		8
#define PER_THREAD	500

static void *chatter(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < PER_THREAD; i++)
		pr_warn("thread %ld message %d with some padding to make it longer", id, i);
	return NULL;
}

/* Messages from several threads never interleave within a line. */
static void test_messages_threads(void **state)
{
	pthread_t t[THREADS];
	int lines = 0;
	char *out, *line, *save;

	capture_start();
	for (long i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, chatter, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	out = capture_end();

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		long id;
		int n, end = 0;

		if (sscanf(line, "lkvm: warning: thread %ld message %d with some padding to make it longer%n",
			   &id, &n, &end) != 2 || line[end] != '\0')
			fail_msg("garbled line '%s'", line);
		lines++;
	}
	assert_int_equal(lines, THREADS * PER_THREAD);
	free(out);
}

/* ---- ratelimit ---- */

static void test_ratelimit(void **state)
{
	struct ratelimit rl = { 0 };
	char *out;

	capture_start();
	assert_true(ratelimit_ok(&rl));
	assert_false(ratelimit_ok(&rl));
	assert_false(ratelimit_ok(&rl));
	assert_false(ratelimit_ok(&rl));
	assert_int_equal(rl.suppressed, 3);

	/* Pretend 4 seconds passed: still limited. */
	rl.last -= 4;
	assert_false(ratelimit_ok(&rl));

	/* 5 seconds since the last message: let one through and report. */
	rl.last -= 1;
	assert_true(ratelimit_ok(&rl));
	assert_int_equal(rl.suppressed, 0);
	assert_false(ratelimit_ok(&rl));

	rl.last -= 5;
	assert_true(ratelimit_ok(&rl));
	out = capture_end();

	assert_string_equal(out,
		"lkvm: warning: 4 similar messages suppressed\n"
		"lkvm: warning: 1 similar message suppressed\n");
	free(out);
}

static void test_ratelimit_macro(void **state)
{
	char *out;

	capture_start();
	for (int i = 0; i < 10; i++)
		pr_warn_ratelimited("flood %d", i);
	out = capture_end();
	assert_string_equal(out, "lkvm: warning: flood 0\n");
	free(out);
}

/* ---- read_file, read_in_full, write_in_full ---- */

static char *tmp_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/lkvm-test-util-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write_in_full(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_read_file(void **state)
{
	static const char text[] = "hello\nworld\n";
	size_t len = 0;
	void *buf;
	char *path = tmp_file(text, strlen(text));

	assert_int_equal(read_file(path, &buf, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_string_equal(buf, text);	/* NUL-terminated */
	free(buf);
	unlink(path);
	free(path);

	path = tmp_file("", 0);
	assert_int_equal(read_file(path, &buf, &len), 0);
	assert_int_equal(len, 0);
	free(buf);
	unlink(path);
	free(path);
}

static void test_read_file_large(void **state)
{
	size_t size = 24 * SZ_1M + 17, len;
	u8 *data = malloc(size);
	void *buf;
	char *path;

	for (size_t i = 0; i < size; i++)
		data[i] = (u8)(i * 2654435761u >> 13);
	path = tmp_file(data, size);
	assert_int_equal(read_file(path, &buf, &len), 0);
	assert_int_equal(len, size);
	assert_memory_equal(buf, data, size);
	free(buf);
	unlink(path);
	free(path);
	free(data);
}

static void test_read_file_errors(void **state)
{
	void *buf;
	size_t len;

	assert_int_equal(read_file("/nonexistent/lkvm", &buf, &len), -ENOENT);
	assert_int_equal(read_file("/tmp", &buf, &len), -EISDIR);
}

/* /proc files report size 0: read_file must not trust st_size alone. */
static void test_read_file_proc(void **state)
{
	void *buf;
	size_t len;

	assert_int_equal(read_file("/proc/self/status", &buf, &len), 0);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "Name:"));
	free(buf);
}

#define FIFO_BYTES	(300 * 1024 + 5)

static void *fifo_writer(void *arg)
{
	const char *path = arg;
	u8 *data = malloc(FIFO_BYTES);
	int fd = open(path, O_WRONLY);

	for (size_t i = 0; i < FIFO_BYTES; i++)
		data[i] = (u8)(i % 251);
	/* Small writes, so the reader sees many partial reads. */
	for (size_t off = 0; off < FIFO_BYTES; off += 1000)
		write_in_full(fd, data + off, MIN((size_t)1000, FIFO_BYTES - off));
	close(fd);
	free(data);
	return NULL;
}

/* A FIFO has no size: read_file must grow its buffer. */
static void test_read_file_fifo(void **state)
{
	char path[64] = "/tmp/lkvm-test-fifo-XXXXXX";
	pthread_t t;
	void *buf;
	size_t len;
	u8 *p;

	assert_non_null(mkdtemp(path));
	strcat(path, "/f");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(pthread_create(&t, NULL, fifo_writer, path), 0);
	assert_int_equal(read_file(path, &buf, &len), 0);
	pthread_join(t, NULL);

	assert_int_equal(len, FIFO_BYTES);
	p = buf;
	for (size_t i = 0; i < len; i++)
		if (p[i] != (u8)(i % 251))
			fail_msg("byte %zu is %u", i, p[i]);
	free(buf);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

#define PIPE_BYTES	(4 * SZ_1M)

struct pipe_job {
	int fd;
	u8 *buf;
	ssize_t ret;
};

static void *pipe_reader(void *arg)
{
	struct pipe_job *job = arg;

	job->ret = read_in_full(job->fd, job->buf, PIPE_BYTES + 100);
	return NULL;
}

/*
 * A non-blocking pipe forces both short transfers and EAGAIN: both
 * helpers must still move every byte.
 */
static void test_full_io_nonblocking_pipe(void **state)
{
	struct pipe_job job;
	u8 *out = malloc(PIPE_BYTES);
	pthread_t t;
	int fds[2];

	for (size_t i = 0; i < PIPE_BYTES; i++)
		out[i] = (u8)(i * 7);
	job.buf = malloc(PIPE_BYTES + 100);
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	job.fd = fds[0];
	assert_int_equal(pthread_create(&t, NULL, pipe_reader, &job), 0);

	assert_int_equal(write_in_full(fds[1], out, PIPE_BYTES), PIPE_BYTES);
	close(fds[1]);
	pthread_join(t, NULL);

	/* End of file ends the read early, with what there was. */
	assert_int_equal(job.ret, PIPE_BYTES);
	assert_memory_equal(job.buf, out, PIPE_BYTES);
	close(fds[0]);
	free(job.buf);
	free(out);
}

static void test_full_io_errors(void **state)
{
	char c = 0;
	int fds[2];

	assert_int_equal(read_in_full(-1, &c, 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(write_in_full(-1, &c, 1), -1);
	assert_int_equal(errno, EBADF);

	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	assert_int_equal(read_in_full(fds[0], &c, 1), 0);
	close(fds[0]);
}

/* A server's wait: a connection is returned, a wake-up ends it */
static void test_accept_or_wake(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	int wfd = eventfd(0, 0), cfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	uint64_t one = 1;

	/* an abstract name, unique to this process */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "lkvm-aow-%d",
		 getpid());
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fd = accept_or_wake(lfd, wfd);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	assert_int_equal(write(wfd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(accept_or_wake(lfd, wfd), -ESHUTDOWN);
	close(cfd);
	close(wfd);
	close(lfd);
}

/* ---- thread_stack_default ---- */

static void *report_stack_size(void *arg)
{
	pthread_attr_t attr;

	assert_int_equal(pthread_getattr_np(pthread_self(), &attr), 0);
	assert_int_equal(pthread_attr_getstacksize(&attr, arg), 0);
	pthread_attr_destroy(&attr);
	return NULL;
}

/* A thread started with no attributes, or with fresh ones, gets it. */
static void test_thread_stack_default(void **state)
{
	size_t size = 0, with_attr = 0;
	pthread_attr_t attr;
	pthread_t t;

	assert_int_equal(thread_stack_default(), 0);
	assert_int_equal(pthread_create(&t, NULL, report_stack_size, &size), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(size, THREAD_STACK_SIZE);
	pthread_attr_init(&attr);
	assert_int_equal(pthread_create(&t, &attr, report_stack_size,
					&with_attr), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
	assert_int_equal(with_attr, THREAD_STACK_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mem_size_valid),
		cmocka_unit_test(test_format_mem_size),
		cmocka_unit_test(test_parse_mem_size_invalid),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_phase),
		cmocka_unit_test(test_message_preserves_errno),
		cmocka_unit_test(test_message_long),
		cmocka_unit_test(test_messages_threads),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ratelimit_macro),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_file_large),
		cmocka_unit_test(test_read_file_errors),
		cmocka_unit_test(test_read_file_proc),
		cmocka_unit_test(test_read_file_fifo),
		cmocka_unit_test(test_full_io_nonblocking_pipe),
		cmocka_unit_test(test_full_io_errors),
		cmocka_unit_test(test_accept_or_wake),
		cmocka_unit_test(test_thread_stack_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
