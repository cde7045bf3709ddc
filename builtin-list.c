// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm list: the running guests of this user, a line each (PID, NAME,
 * STATE, VCPUS, MEMORY), from every ~/.lkvm/NAME.sock's "info" reply; a
 * stale socket found on the way is removed and not listed. --rootfs (-r)
 * lists the folders `lkvm setup` made instead, --run (-i) the guests
 * only (kvmtool's spellings; the default).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"
#include "lkvm/options.h"

void cmd_list_help(void)
{
	cmd_help_print(stdout, "list",
		       "List your running guests (PID, NAME, STATE running or paused, VCPUS,\n"
		       "MEMORY), each serving ~/.lkvm/NAME.sock; with --rootfs, the guest\n"
		       "root folders 'lkvm setup NAME' made in ~/.lkvm.",
		       "0 done, 1 failed, 2 bad command line");
}

struct list_ctx {
	struct ctl_reply rep;
	bool header;
};

static void list_one(const char *name, void *opaque)
{
	struct list_ctx *l = opaque;
	struct ctl_info info;
	char err[512];

	int ret = ctl_call(name, "info", NULL, 0, &l->rep, err, sizeof(err));

	/* gone meanwhile, or a stale socket (now removed): nothing to list */
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return;
	if (ret < 0) {
		fprintf(stderr, "lkvm list: %s\n", err);
		return;
	}
	if (l->rep.status || ctl_info_parse(l->rep.text, &info) < 0) {
		fprintf(stderr, "lkvm list: guest '%s': a bad reply\n", name);
		return;
	}
	if (!l->header)
		ctl_list_header(stdout);
	l->header = true;
	ctl_list_line(stdout, &info);
}

static int list_instances(void)
{
	struct list_ctx *l = calloc(1, sizeof(*l));
	int n;

	if (!l)
		return LKVM_EXIT_ERROR;
	n = ctl_for_each_instance(list_one, l);
	if (!l->header)
		printf("no guest is running\n");
	free(l);
	return n < 0 ? LKVM_EXIT_ERROR : 0;
}

/* A folder `lkvm setup` made in @dirfd (~/.lkvm): it holds host/ and etc/. */
static bool is_rootfs(int dirfd, const char *name)
{
	static const char *const subdirs[] = { "host", "etc" };
	char path[NAME_MAX + 8];
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(subdirs); i++) {
		snprintf(path, sizeof(path), "%.*s/%s", NAME_MAX, name, subdirs[i]);
		if (fstatat(dirfd, path, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			return false;
	}
	return true;
}

static int list_rootfs(void)
{
	char dir[PATH_MAX], err[256];
	struct dirent **e;
	int i, n, dirfd;

	if (ctl_dir(dir, sizeof(dir), err, sizeof(err)) < 0) {
		fprintf(stderr, "lkvm list: %s\n", err);
		return LKVM_EXIT_ERROR;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = dirfd < 0 ? 0 : scandir(dir, &e, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (e[i]->d_name[0] != '.' && is_rootfs(dirfd, e[i]->d_name))
			printf("%s\t%s/%s\n", e[i]->d_name, dir, e[i]->d_name);
		free(e[i]);
	}
	if (n > 0)
		free(e);
	if (dirfd >= 0)
		close(dirfd);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	struct cmd_getopt g;
	bool rootfs = false;
	int c;

	/* the options `lkvm help list` shows (commands.c) */
	if (cmd_getopt_init(&g, "list") < 0)
		return LKVM_EXIT_ERROR;
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_list_help();
			return 0;
		case 'r':
			rootfs = true;
			break;
		case 'i':
			break;
		default:
			fprintf(stderr, "lkvm list: unknown option '%s' (see 'lkvm help list')\n",
				argv[optind - 1]);
			return LKVM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lkvm list: unexpected argument '%s' (see 'lkvm help list')\n",
			argv[optind]);
		return LKVM_EXIT_USAGE;
	}
	return rootfs ? list_rootfs() : list_instances();
}
