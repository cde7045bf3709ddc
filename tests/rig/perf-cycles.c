// SPDX-License-Identifier: GPL-2.0
/*
 * The --pmu cases' counter check, run in the nested guest: count this
 * process's CPU cycles (perf_event_open, PERF_COUNT_HW_CPU_CYCLES) over
 * a busy loop and print "GUEST-PERF-CYCLES N"; a guest without a working
 * PMU gets "GUEST-PERF-FAILED why" and status 1. Built static.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_HARDWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_HW_CPU_CYCLES,
		.disabled = 1,
	};
	volatile uint64_t sink = 0;
	uint64_t count = 0;
	long fd, i;

	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0) {
		printf("GUEST-PERF-FAILED perf_event_open: %s\n", strerror(errno));
		return 1;
	}
	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	for (i = 0; i < 10000000; i++)
		sink += i;
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, &count, sizeof(count)) != sizeof(count)) {
		printf("GUEST-PERF-FAILED read: %s\n", strerror(errno));
		return 1;
	}
	printf("GUEST-PERF-CYCLES %llu\n", (unsigned long long)count);
	return count ? 0 : 1;
}
