// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm setup NAME: a small root folder in ~/.lkvm/NAME, kvmtool style,
 * for `lkvm sandbox -d NAME`. It holds its own /etc, /root, /tmp, /var
 * and mount points; /bin, /sbin, /lib, /lib64 and /usr are symlinks into
 * /host, where the guest's init mounts the host's / (read-only).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/util.h"

static const char *const setup_dirs[] = {
	"", "dev", "proc", "sys", "tmp", "run", "root", "home", "etc", "var",
	"var/tmp", "mnt", "host",
};
static const char *const setup_links[] = {
	"bin", "sbin", "lib", "lib64", "usr", "etc/ld.so.conf",
	"etc/ld.so.conf.d", "etc/alternatives",
};
static const char *const setup_copies[] = {
	"etc/passwd", "etc/group", "etc/hosts", "etc/resolv.conf",
	"etc/nsswitch.conf", "etc/localtime",
};

void cmd_setup_help(void)
{
	cmd_help_print(stdout, "setup",
		       "Create a guest root folder in ~/.lkvm/NAME for 'lkvm sandbox -d NAME':\n"
		       "its own /etc, /root, /tmp and /var, the host's /bin, /sbin, /lib,\n"
		       "/lib64 and /usr through /host (the host's /, read-only).",
		       "0 done, 1 failed, 2 bad command line");
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in, out, ret = 0;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_in_full(out, buf, n) < 0) {
			ret = -errno;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(in);
	if (close(out) < 0 && !ret)
		ret = -errno;
	return ret;
}

int cmd_setup(int argc, char **argv)
{
	const char *name, *home = getenv("HOME");
	char base[PATH_MAX], path[PATH_MAX + 64], target[PATH_MAX];
	unsigned int i;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		cmd_setup_help();
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "lkvm setup: give one NAME (see 'lkvm help setup')\n");
		return LKVM_EXIT_USAGE;
	}
	name = argv[1];
	if (!*name || strchr(name, '/') || strchr(name, ',') || name[0] == '.') {
		fprintf(stderr, "lkvm setup: invalid name '%s': no '/', ',' or leading '.'\n",
			name);
		return LKVM_EXIT_USAGE;
	}
	if (!home || !*home) {
		pr_err("setup: $HOME is not set");
		return LKVM_EXIT_ERROR;
	}
	snprintf(base, sizeof(base), "%s/.lkvm", home);
	if (mkdir(base, 0755) < 0 && errno != EEXIST) {
		pr_err("setup: cannot create %s: %s", base, strerror(errno));
		return LKVM_EXIT_ERROR;
	}
	snprintf(base, sizeof(base), "%s/.lkvm/%s", home, name);
	if (mkdir(base, 0755) < 0) {
		pr_err("setup: cannot create %s: %s", base,
		       errno == EEXIST ? "it exists already" : strerror(errno));
		return LKVM_EXIT_ERROR;
	}
	for (i = 1; i < ARRAY_SIZE(setup_dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", base, setup_dirs[i]);
		if (mkdir(path, !strcmp(setup_dirs[i], "tmp") ? 01777 : 0755) < 0) {
			pr_err("setup: cannot create %s: %s", path, strerror(errno));
			return LKVM_EXIT_ERROR;
		}
	}
	snprintf(path, sizeof(path), "%s/tmp", base);
	chmod(path, 01777);
	for (i = 0; i < ARRAY_SIZE(setup_links); i++) {
		snprintf(target, sizeof(target), "/%s", setup_links[i]);
		if (access(target, F_OK) < 0)
			continue;
		snprintf(target, sizeof(target), "/host/%s", setup_links[i]);
		snprintf(path, sizeof(path), "%s/%s", base, setup_links[i]);
		if (symlink(target, path) < 0) {
			pr_err("setup: cannot create %s: %s", path, strerror(errno));
			return LKVM_EXIT_ERROR;
		}
	}
	for (i = 0; i < ARRAY_SIZE(setup_copies); i++) {
		snprintf(target, sizeof(target), "/%s", setup_copies[i]);
		snprintf(path, sizeof(path), "%s/%s", base, setup_copies[i]);
		copy_file(target, path);	/* best effort */
	}
	printf("%s is ready: lkvm sandbox -d %s -- CMD\n", base, name);
	return 0;
}
