/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PROCSTAT_H
#define LKVM_PROCSTAT_H

#include "lkvm/util.h"

/*
 * What --debug reports about lkvm itself, from /proc/self (util/procstat.c):
 * memory, and per thread the CPU time it ran and the time it was ready
 * to run but waited for a CPU (schedstat; e.g. a device thread that
 * shares a CPU with a vCPU).
 * Each parser takes the text, so that unit tests feed it samples; the
 * readers around them only open the files.
 */

/* VmHWM (peak RSS) in KiB from /proc/PID/status text; 0 if absent. */
u64 procstat_parse_hwm(const char *status);
/* The same, of this process. */
u64 procstat_peak_rss_kb(void);

/*
 * A /proc/PID/task/TID/stat line (modified): its name in @comm, with
 * io_uring's "iou-wrk-TID" workers all as "iou-wrk", and fields 14+15
 * (user + system) and 43 (guest) in clock ticks. False if malformed.
 */
bool procstat_parse_task_stat(char *stat, char *comm, size_t len, u64 *cpu,
			      u64 *guest);
/*
 * CPU time of thread @tid of this process in clock ticks (user + system,
 * and the part spent running a guest), and its name in @comm, as above.
 * False if it is gone.
 */
bool thread_cpu_time(int tid, char *comm, size_t len, u64 *cpu, u64 *guest);

/*
 * The second field of a /proc/PID/task/TID/schedstat line: nanoseconds
 * the thread waited on a run queue. False if malformed.
 */
bool procstat_parse_schedstat(const char *text, u64 *wait_ns);
/* That time for thread @tid of this process; 0 if unknown. */
u64 thread_cpu_wait_ns(int tid);

/*
 * CPU time and time waited for a CPU, summed by thread name (blk-vda,
 * lkvm-ioeventfd, iou-wrk...).
 */
#define PROCSTAT_MAX_NAMES	64
struct procstat_threads {
	int nr;
	struct {
		char comm[16];
		u64 ticks;
		u64 wait_ns;
	} t[PROCSTAT_MAX_NAMES];
};

/*
 * Add @ticks and @wait_ns to @comm's sums; names beyond
 * PROCSTAT_MAX_NAMES are dropped.
 */
void procstat_threads_add(struct procstat_threads *pt, const char *comm,
			  u64 ticks, u64 wait_ns);
/*
 * Every thread of this process but those whose name starts with @skip.
 * 0, or -errno if /proc/self/task cannot be listed.
 */
int procstat_threads_read(struct procstat_threads *pt, const char *skip);
/*
 * "name 1.25s, other 0.10s", or "none": the CPU time (@hz ticks a
 * second), or with @wait the time waited for a CPU.
 */
void procstat_threads_format(const struct procstat_threads *pt, double hz,
			     bool wait, char *out, size_t len);

#endif
