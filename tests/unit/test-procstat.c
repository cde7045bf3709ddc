// SPDX-License-Identifier: GPL-2.0
/* The --debug statistics: /proc text parsing and per-name sums. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/procstat.h"

static const char status_sample[] =
	"Name:\tlkvm\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"VmPeak:\t  2299712 kB\n"
	"VmSize:\t  2234176 kB\n"
	"VmHWM:\t   278904 kB\n"
	"VmRSS:\t   270112 kB\n"
	"Threads:\t7\n";

static void test_parse_hwm(void **state)
{
	assert_int_equal(procstat_parse_hwm(status_sample), 278904);
	/* first line, no trailing newline */
	assert_int_equal(procstat_parse_hwm("VmHWM:\t12 kB"), 12);
	/* only at the start of a line, and only that name */
	assert_int_equal(procstat_parse_hwm("Name:\tVmHWM: 5\nVmHWMx: 7\n"), 0);
	assert_int_equal(procstat_parse_hwm(""), 0);
	assert_true(procstat_peak_rss_kb() > 0);
}

/* A stat line: field n is n, but 14 = @utime, 15 = @stime, 43 = @gtime. */
static void stat_line(char *buf, size_t len, const char *comm, int nfields,
		      u64 utime, u64 stime, u64 gtime)
{
	int f, n = snprintf(buf, len, "4242 (%s) S", comm);

	for (f = 4; f <= nfields; f++)
		n += snprintf(buf + n, len - n, " %llu", (unsigned long long)
			      (f == 14 ? utime : f == 15 ? stime :
			       f == 43 ? gtime : (u64)f));
	snprintf(buf + n, len - n, "\n");
}

/* A stat line of @nfields fields for @name gives @want, @cpu and @guest. */
static void expect_stat(const char *name, int nfields, const char *want,
			u64 utime, u64 stime, u64 gtime)
{
	char buf[1024], comm[16];
	u64 cpu, guest;
	bool ok;

	stat_line(buf, sizeof(buf), name, nfields, utime, stime, gtime);
	ok = procstat_parse_task_stat(buf, comm, sizeof(comm), &cpu, &guest);
	if (!want) {
		assert_false(ok);
		return;
	}
	assert_true(ok);
	assert_string_equal(comm, want);
	assert_int_equal(cpu, utime + stime);
	assert_int_equal(guest, gtime);
}

static void test_parse_task_stat(void **state)
{
	char buf[64], comm[16];
	u64 cpu, guest;

	expect_stat("blk-vda", 52, "blk-vda", 100, 23, 7);
	/* a name with ") " in it: the last ')' ends it */
	expect_stat("a) b", 52, "a) b", 1, 2, 3);
	/* every io_uring worker under one name */
	expect_stat("iou-wrk-77", 52, "iou-wrk", 5, 0, 0);
	/* too few fields (an old kernel without guest time) */
	expect_stat("short", 42, NULL, 5, 0, 0);
	/* no name in parentheses */
	snprintf(buf, sizeof(buf), "4242 lkvm S 1 2 3");
	assert_false(procstat_parse_task_stat(buf, comm, sizeof(comm), &cpu,
					      &guest));
	snprintf(buf, sizeof(buf), "4242 )lkvm( S 1 2 3");
	assert_false(procstat_parse_task_stat(buf, comm, sizeof(comm), &cpu,
					      &guest));
}

static void test_threads_sum_and_format(void **state)
{
	static struct procstat_threads pt;
	char out[1024], name[16];
	int i;

	procstat_threads_format(&pt, 100, false, out, sizeof(out));
	assert_string_equal(out, "none");
	procstat_threads_add(&pt, "blk-vda", 150, 250000000);
	procstat_threads_add(&pt, "iou-wrk", 50, 0);
	procstat_threads_add(&pt, "blk-vda", 50, 10000000);
	procstat_threads_format(&pt, 100, false, out, sizeof(out));
	assert_string_equal(out, "blk-vda 2.00s, iou-wrk 0.50s");
	procstat_threads_format(&pt, 100, true, out, sizeof(out));
	assert_string_equal(out, "blk-vda 0.26s, iou-wrk 0.00s");

	/* names beyond the table are dropped, sums of known ones go on */
	for (i = pt.nr; i < PROCSTAT_MAX_NAMES + 3; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		procstat_threads_add(&pt, name, 1, 1);
	}
	assert_int_equal(pt.nr, PROCSTAT_MAX_NAMES);
	procstat_threads_add(&pt, "iou-wrk", 50, 7);
	assert_int_equal(pt.t[1].ticks, 100);
	assert_int_equal(pt.t[1].wait_ns, 7);

	/* a short buffer is cut at an entry, never mid-way */
	procstat_threads_format(&pt, 100, false, out, 80);
	assert_string_equal(out, "blk-vda 2.00s, iou-wrk 1.00s");
}

/* This thread is listed under its name, unless skipped. */
static void test_threads_read(void **state)
{
	static struct procstat_threads pt;
	int i, found = 0;

	assert_int_equal(pthread_setname_np(pthread_self(), "procstat-me"), 0);
	assert_int_equal(procstat_threads_read(&pt, "vcpu"), 0);
	for (i = 0; i < pt.nr; i++)
		found += !strcmp(pt.t[i].comm, "procstat-me");
	assert_int_equal(found, 1);
	memset(&pt, 0, sizeof(pt));
	assert_int_equal(procstat_threads_read(&pt, "procstat"), 0);
	for (i = 0; i < pt.nr; i++)
		assert_string_not_equal(pt.t[i].comm, "procstat-me");
	pthread_setname_np(pthread_self(), "test-procstat");
}

/* A named thread's CPU time grows as it spins; a gone thread is false. */
static void test_thread_cpu_time(void **state)
{
	u64 cpu0, cpu1, guest;
	char comm[16];
	struct timespec t0, t;
	volatile unsigned long spin = 0;

	assert_int_equal(pthread_setname_np(pthread_self(), "iou-wrk-42"), 0);
	assert_true(thread_cpu_time(gettid(), comm, sizeof(comm), &cpu0,
				    &guest));
	assert_string_equal(comm, "iou-wrk");
	assert_int_equal(guest, 0);
	/* spin for 100 ms of CPU: at least one clock tick more */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		spin++;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L +
		 (t.tv_nsec - t0.tv_nsec) < 100000000L);
	assert_true(thread_cpu_time(gettid(), comm, sizeof(comm), &cpu1,
				    &guest));
	assert_true(cpu1 > cpu0);

	assert_int_equal(pthread_setname_np(pthread_self(), "vcpu3"), 0);
	assert_true(thread_cpu_time(gettid(), comm, sizeof(comm), &cpu1,
				    &guest));
	assert_string_equal(comm, "vcpu3");
	assert_false(thread_cpu_time(-1, comm, sizeof(comm), &cpu1, &guest));
	pthread_setname_np(pthread_self(), "test-procstat");
}

/* schedstat: run time, time waited on a run queue, time slices */
static void test_parse_schedstat(void **state)
{
	u64 wait = 1;

	assert_true(procstat_parse_schedstat("1234567 890123 45\n", &wait));
	assert_int_equal(wait, 890123);
	assert_false(procstat_parse_schedstat("1234567\n", &wait));
	assert_false(procstat_parse_schedstat("", &wait));
	assert_int_equal(wait, 890123);
}

/*
 * A thread made to wait for the CPU its busy sibling holds (both pinned
 * to one CPU) has its wait counted; a gone thread has none.
 */
static void *spin_100ms(void *arg)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L +
	       (t.tv_nsec - t0.tv_nsec) < 100000000L);
	return arg;
}

static void test_thread_cpu_wait(void **state)
{
	cpu_set_t one, all;
	pthread_t t;
	u64 w0;

	if (access("/proc/self/schedstat", R_OK))
		skip();		/* a kernel without CONFIG_SCHED_INFO */
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	w0 = thread_cpu_wait_ns(gettid());
	/* the sibling inherits the pinning: the two take turns */
	assert_int_equal(pthread_create(&t, NULL, spin_100ms, NULL), 0);
	spin_100ms(NULL);
	pthread_join(t, NULL);
	assert_true(thread_cpu_wait_ns(gettid()) > w0);
	assert_int_equal(thread_cpu_wait_ns(-1), 0);
	sched_setaffinity(0, sizeof(all), &all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hwm),
		cmocka_unit_test(test_parse_task_stat),
		cmocka_unit_test(test_threads_sum_and_format),
		cmocka_unit_test(test_threads_read),
		cmocka_unit_test(test_thread_cpu_time),
		cmocka_unit_test(test_parse_schedstat),
		cmocka_unit_test(test_thread_cpu_wait),
	};

	return cmocka_run_group_tests_name("procstat", tests, NULL, NULL);
}
