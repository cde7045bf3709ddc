// SPDX-License-Identifier: GPL-2.0
/*
 * Run a command as another user, for the rig's permission cases (the
 * emulated host's busybox has no su or setpriv --reuid). Built static.
 *
 *   run-as UID CMD [ARGS...]     (the group is UID too, no supplementary)
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long id;
	char *end;

	if (argc < 3) {
		fprintf(stderr, "usage: run-as UID CMD [ARGS...]\n");
		return 2;
	}
	id = strtoul(argv[1], &end, 10);
	if (*end || setgroups(0, NULL) || setgid(id) || setuid(id)) {
		perror("run-as");
		return 2;
	}
	execvp(argv[2], argv + 2);
	perror("run-as: exec");
	return 127;
}
