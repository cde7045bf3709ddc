// SPDX-License-Identifier: GPL-2.0
/*
 * Boot-time probe for the rig's benchmark: runs a command (lkvm), reads
 * its stdout and reports, in milliseconds from the fork, when the first
 * byte arrived and when a marker line appeared; then the command's exit
 * status. Built static for the emulated arm64 host.
 *
 *   bench-run MARKER CMD [ARGS...]
 *
 * With BENCH_ECHO=TEXT in the environment, the command's lines holding
 * TEXT are printed too (before the times), e.g. the guest's own uptime.
 * With BENCH_STAMP=1, every line is printed, after the milliseconds from
 * the fork at which it arrived: where a boot's time goes, by host clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *echo = getenv("BENCH_ECHO");
	const char *stamp = getenv("BENCH_STAMP");
	double t0, first = -1, marker = -1;
	char buf[4096], line[4096];
	size_t linelen = 0;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-run MARKER CMD [ARGS...]\n");
		return 2;
	}
	if (pipe(pfd) < 0)
		return 1;
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0) {
		ssize_t i;

		if (first < 0)
			first = now_ms() - t0;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n' || linelen == sizeof(line) - 1) {
				line[linelen] = '\0';
				if (marker < 0 && strstr(line, argv[1]))
					marker = now_ms() - t0;
				if (stamp && *stamp)
					printf("@%.0f %s\n", now_ms() - t0, line);
				else if (echo && *echo && strstr(line, echo))
					printf("%s\n", line);
				linelen = 0;
			} else {
				line[linelen++] = buf[i];
			}
		}
	}
	waitpid(pid, &status, 0);
	printf("first_byte_ms=%.0f marker_ms=%.0f total_ms=%.0f status=%d\n",
	       first, marker, now_ms() - t0,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
