// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm's own resource use for --debug, from /proc/self: peak RSS
 * (status), and per thread the CPU time (task/TID/stat) and the time it
 * waited for a CPU (task/TID/schedstat), summed by thread name. Parsing
 * is kept apart from reading so that it is unit-tested on sample text;
 * no KVM here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/procstat.h"

u64 procstat_parse_hwm(const char *status)
{
	unsigned long long kb;
	const char *line;

	for (line = status; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (sscanf(line, "VmHWM: %llu", &kb) == 1)
			return kb;
	}
	return 0;
}

u64 procstat_peak_rss_kb(void)
{
	size_t len;
	void *text;
	u64 kb;

	if (read_file("/proc/self/status", &text, &len) < 0)
		return 0;
	kb = procstat_parse_hwm(text);
	free(text);
	return kb;
}

/* Fields 14, 15 and 43 of the stat line, after "(comm)". */
bool procstat_parse_task_stat(char *stat, char *comm, size_t len, u64 *cpu,
			      u64 *guest)
{
	char *p, *name, *save;
	u64 v[3] = { 0 };
	int field = 2, got = 0;

	name = strchr(stat, '(');
	p = strrchr(stat, ')');
	if (!name || !p || p < name)
		return false;
	*p = '\0';
	snprintf(comm, len, "%s", name + 1);
	/* iou-wrk-TID, one per io_uring worker: count them together */
	if (len > 8 && !strncmp(comm, "iou-wrk-", 8))
		comm[7] = '\0';
	for (p = strtok_r(p + 1, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 14 || field == 15 || field == 43)
			v[got++] = strtoull(p, NULL, 10);
	}
	*cpu = v[0] + v[1];
	*guest = v[2];
	return got == 3;
}

/*
 * /proc/self/task/@tid/@file into @buf as a string; open/read/close
 * only: vCPU threads call it under their seccomp filter.
 */
static bool read_task_file(int tid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

bool thread_cpu_time(int tid, char *comm, size_t len, u64 *cpu, u64 *guest)
{
	char buf[1024];

	return read_task_file(tid, "stat", buf, sizeof(buf)) &&
	       procstat_parse_task_stat(buf, comm, len, cpu, guest);
}

bool procstat_parse_schedstat(const char *text, u64 *wait_ns)
{
	unsigned long long run, wait;

	if (sscanf(text, "%llu %llu", &run, &wait) != 2)
		return false;
	*wait_ns = wait;
	return true;
}

/* Kernels without CONFIG_SCHED_INFO have no schedstat: 0. */
u64 thread_cpu_wait_ns(int tid)
{
	char buf[128];
	u64 wait;

	if (!read_task_file(tid, "schedstat", buf, sizeof(buf)) ||
	    !procstat_parse_schedstat(buf, &wait))
		return 0;
	return wait;
}

void procstat_threads_add(struct procstat_threads *pt, const char *comm,
			  u64 ticks, u64 wait_ns)
{
	int i;

	for (i = 0; i < pt->nr && strcmp(pt->t[i].comm, comm); i++)
		;
	if (i == pt->nr) {
		if (pt->nr == PROCSTAT_MAX_NAMES)
			return;
		snprintf(pt->t[i].comm, sizeof(pt->t[i].comm), "%s", comm);
		pt->t[i].ticks = 0;
		pt->t[i].wait_ns = 0;
		pt->nr++;
	}
	pt->t[i].ticks += ticks;
	pt->t[i].wait_ns += wait_ns;
}

int procstat_threads_read(struct procstat_threads *pt, const char *skip)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	u64 cpu, guest;
	char comm[16];
	int tid;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		tid = atoi(de->d_name);
		if (de->d_name[0] == '.' ||
		    !thread_cpu_time(tid, comm, sizeof(comm), &cpu, &guest) ||
		    !strncmp(comm, skip, strlen(skip)))
			continue;
		procstat_threads_add(pt, comm, cpu, thread_cpu_wait_ns(tid));
	}
	closedir(d);
	return 0;
}

void procstat_threads_format(const struct procstat_threads *pt, double hz,
			     bool wait, char *out, size_t len)
{
	int i, n = 0;

	out[0] = '\0';
	/* Room for one more entry, else stop: a long list is cut short. */
	for (i = 0; i < pt->nr && n < (int)len - 64; i++)
		n += snprintf(out + n, len - n, "%s%s %.2fs", i ? ", " : "",
			      pt->t[i].comm, wait ? pt->t[i].wait_ns / 1e9 :
						    pt->t[i].ticks / hz);
	if (!n)
		snprintf(out, len, "none");
}
