// SPDX-License-Identifier: GPL-2.0
/*
 * The rig's AF_VSOCK test program (busybox has none), static, for both
 * ends of the vsock cases (tests/rig/cases.sh):
 *
 *   vsock-echo listen PORT          in the guest: accept one connection
 *                                   on PORT, read a line, print
 *                                   "GUEST-VSOCK-GOT LINE", answer
 *                                   "guest-reply:LINE"
 *   vsock-echo connect CID PORT MSG on the host: connect (retrying while
 *                                   the guest boots, up to 2 min), send
 *                                   MSG, print "HOST-VSOCK-GOT REPLY";
 *                                   exit 0 only if REPLY is the
 *                                   guest's answer to MSG
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
/* after sys/socket.h: it uses struct sockaddr */
#include <linux/vm_sockets.h>

#define LINE_MAX_LEN	256

/* One line from @fd (up to '\n' or EOF), without the newline. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size - 1) {
		r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return n;
}

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t w;

	while (len) {
		w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		len -= w;
	}
	return 0;
}

static int do_listen(unsigned int port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	char line[LINE_MAX_LEN], reply[LINE_MAX_LEN + 16];
	int s, c;

	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s, 1) < 0) {
		printf("GUEST-VSOCK-ERROR listen: %s\n", strerror(errno));
		return 1;
	}
	printf("GUEST-VSOCK-LISTENING %u\n", port);
	fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c < 0) {
		printf("GUEST-VSOCK-ERROR accept: %s\n", strerror(errno));
		return 1;
	}
	read_line(c, line, sizeof(line));
	printf("GUEST-VSOCK-GOT %s\n", line);
	snprintf(reply, sizeof(reply), "guest-reply:%s\n", line);
	if (write_all(c, reply) < 0) {
		printf("GUEST-VSOCK-ERROR write: %s\n", strerror(errno));
		return 1;
	}
	close(c);
	close(s);
	return 0;
}

static int connect_retrying(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port,
	};
	int i, s;

	for (i = 0; i < 1200; i++) {
		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0) {
			printf("HOST-VSOCK-ERROR socket: %s\n", strerror(errno));
			return -1;
		}
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			return s;
		close(s);
		usleep(100 * 1000);
	}
	printf("HOST-VSOCK-ERROR connect to %u:%u: %s\n", cid, port,
	       strerror(errno));
	return -1;
}

static int do_connect(unsigned int cid, unsigned int port, const char *msg)
{
	char line[LINE_MAX_LEN], want[LINE_MAX_LEN + 16], out[LINE_MAX_LEN + 1];
	int s = connect_retrying(cid, port);

	if (s < 0)
		return 1;
	snprintf(out, sizeof(out), "%s\n", msg);
	if (write_all(s, out) < 0) {
		printf("HOST-VSOCK-ERROR write: %s\n", strerror(errno));
		return 1;
	}
	read_line(s, line, sizeof(line));
	printf("HOST-VSOCK-GOT %s\n", line);
	close(s);
	snprintf(want, sizeof(want), "guest-reply:%s", msg);
	return strcmp(line, want) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(strtoul(argv[2], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "connect"))
		return do_connect(strtoul(argv[2], NULL, 10),
				  strtoul(argv[3], NULL, 10), argv[4]);
	fprintf(stderr, "usage: vsock-echo listen PORT | connect CID PORT MSG\n");
	return 2;
}
