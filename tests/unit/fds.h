/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TEST_FDS_H
#define LKVM_TEST_FDS_H

/*
 * Which files this process holds open, and how, for tests that check
 * that a file was not opened at all or only read-only: the links in
 * /proc/self/fd and the flags in /proc/self/fdinfo.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * How many descriptors are open on @path (any name of it); the access
 * mode (O_RDONLY, O_WRONLY, O_RDWR) of the last one found in *@accmode.
 */
static inline int fds_open_on(const char *path, int *accmode)
{
	char *want = realpath(path, NULL), link[PATH_MAX], name[300], line[128];
	struct dirent *de;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(want);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		ssize_t l;
		FILE *f;

		snprintf(name, sizeof(name), "/proc/self/fd/%s", de->d_name);
		l = readlink(name, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = '\0';
		if (strcmp(link, want))
			continue;
		n++;
		snprintf(name, sizeof(name), "/proc/self/fdinfo/%s", de->d_name);
		f = fopen(name, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags:", 6))
				*accmode = strtol(line + 6, NULL, 8) & O_ACCMODE;
		fclose(f);
	}
	closedir(dir);
	free(want);
	return n;
}

#endif
