// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny DNS responder for the rig's DNS-forwarding case: listens on
 * 127.0.0.1:53 (UDP) and answers every A query with one address, so a
 * guest behind libslirp can resolve a name through lkvm's user-mode NIC.
 * Built static for the emulated arm64 host.
 *
 *   dns-answer A.B.C.D
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(53) };
	unsigned char buf[512];
	struct in_addr answer;
	int fd;

	if (argc != 2 || !inet_aton(argv[1], &answer)) {
		fprintf(stderr, "usage: dns-answer A.B.C.D\n");
		return 2;
	}
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("dns-answer");
		return 1;
	}
	for (;;) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 16, 0,
				     (struct sockaddr *)&peer, &plen);
		size_t q = 12;

		if (n < 12)
			continue;
		/* Skip the question's name, then QTYPE and QCLASS. */
		while (q < (size_t)n && buf[q])
			q += buf[q] + 1;
		q += 5;
		if (q > (size_t)n)
			continue;
		buf[2] = 0x81;			/* response, recursion desired */
		buf[3] = 0x80;			/* recursion available, no error */
		buf[6] = 0; buf[7] = 1;		/* one answer */
		buf[8] = buf[9] = buf[10] = buf[11] = 0;
		/* The answer: a pointer to the question's name, A, IN, TTL 60. */
		memcpy(buf + q, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 12);
		memcpy(buf + q + 12, &answer, 4);
		sendto(fd, buf, q + 16, 0, (struct sockaddr *)&peer, plen);
	}
}
