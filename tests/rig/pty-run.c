// SPDX-License-Identifier: GPL-2.0
/*
 * Terminal probe for the rig: runs a command on a fresh pseudo-terminal
 * (its controlling tty, stdin, stdout and stderr), optionally types bytes
 * or sends a signal once a marker appeared in its output, and reports the
 * command's exit status and whether the terminal's modes afterwards are
 * the ones it started with. Built static for the emulated arm64 host.
 *
 *   pty-run MARKER ACTION CMD [ARGS...]
 *     ACTION: "type:TEXT" (\xNN escapes allowed), "signal:N", or "none"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <errno.h>
#include <stdbool.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static size_t unescape(const char *in, char *out)
{
	size_t n = 0;

	while (*in) {
		if (in[0] == '\\' && in[1] == 'x' && in[2] && in[3]) {
			char hex[3] = { in[2], in[3], 0 };

			out[n++] = (char)strtol(hex, NULL, 16);
			in += 4;
		} else {
			out[n++] = *in++;
		}
	}
	return n;
}

static bool same_modes(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	       a->c_lflag == b->c_lflag && a->c_cflag == b->c_cflag;
}

static void child(const char *slave_name, char **argv)
{
	int fd;

	setsid();
	fd = open(slave_name, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
		_exit(126);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	execvp(argv[0], argv);
	_exit(127);
}

int main(int argc, char **argv)
{
	struct termios before, after;
	char buf[4096], seen[8192] = "", text[256];
	int master, slave, status;
	bool done = false;
	size_t seen_len = 0;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: pty-run MARKER ACTION CMD [ARGS...]\n");
		return 2;
	}
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		return 1;
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	if (slave < 0 || tcgetattr(slave, &before))
		return 1;
	pid = fork();
	if (pid == 0)
		child(ptsname(master), argv + 3);

	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			continue;
		}
		n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, n, stdout);
		/* Keep the tail of the output to look for the marker. */
		if (seen_len + n >= sizeof(seen)) {
			memmove(seen, seen + seen_len / 2, seen_len - seen_len / 2);
			seen_len -= seen_len / 2;
		}
		memcpy(seen + seen_len, buf, MIN(n, (ssize_t)(sizeof(seen) - seen_len - 1)));
		seen_len += MIN(n, (ssize_t)(sizeof(seen) - seen_len - 1));
		seen[seen_len] = '\0';
		if (done || !strstr(seen, argv[1]))
			continue;
		done = true;
		if (!strncmp(argv[2], "type:", 5)) {
			size_t len = unescape(argv[2] + 5, text);

			if (write(master, text, len) != (ssize_t)len)
				perror("pty-run: write");
		} else if (!strncmp(argv[2], "signal:", 7)) {
			kill(pid, atoi(argv[2] + 7));
		}
	}
	if (waitpid(pid, &status, 0) < 0 && errno != ECHILD)
		return 1;
	tcgetattr(slave, &after);
	printf("\npty-run: status=%d terminal=%s\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       same_modes(&before, &after) ? "restored" : "NOT-RESTORED");
	return 0;
}
