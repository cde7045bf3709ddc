// SPDX-License-Identifier: GPL-2.0
/*
 * -n mode=user in a static lkvm. libslirp and its glib are shared
 * libraries only (Debian ships no .a of either), which a static program
 * cannot load. So lkvm is linked statically without them (no shared C
 * library in its memory: ~630 KiB less, issue 14), and a guest with a
 * mode=user NIC runs in lkvm-slirp instead: the same lkvm, linked
 * dynamically with libslirp (net/slirp.c in a thread, as ever). lkvm
 * becomes it (execv, the same arguments) once its options are parsed,
 * before it has done anything else.
 *
 * lkvm-slirp is found as $LKVM_SLIRP, else beside lkvm's own binary,
 * else in $PATH. It never execs again: it has net_slirp_ops (and if
 * what was found has not, a mark in the environment stops the loop).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/net-backend.h"
#include "lkvm/util.h"

#define SLIRP_EXEC_NAME		"lkvm-slirp"
/* set for lkvm-slirp: one that would exec again is no lkvm with libslirp */
#define SLIRP_EXEC_MARK		"LKVM_SLIRP_EXECED"

bool net_slirp_exec_needed(const struct kvm_config *cfg)
{
	struct net_spec ns;
	char err[128];
	int i;

	if (&net_slirp_ops)
		return false;
	for (i = 0; i < cfg->nr_nics; i++)
		if (!net_parse_spec(cfg->nics[i], &ns, err, sizeof(err)) &&
		    ns.mode == NET_MODE_USER)
			return true;
	return false;
}

/* lkvm-slirp's path: $LKVM_SLIRP, beside /proc/self/exe, or just its name. */
static void slirp_exec_path(char *buf, size_t len)
{
	const char *env = getenv("LKVM_SLIRP");
	char exe[PATH_MAX];
	char *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			slash[1] = '\0';
			if ((size_t)snprintf(buf, len, "%s%s", exe,
					     SLIRP_EXEC_NAME) < len &&
			    !access(buf, X_OK))
				return;
		}
	}
	snprintf(buf, len, "%s", SLIRP_EXEC_NAME);
}

int net_slirp_execv(char **argv)
{
	char path[PATH_MAX];
	int err;

	slirp_exec_path(path, sizeof(path));
	if (getenv(SLIRP_EXEC_MARK)) {
		pr_err("-n mode=user: %s has no libslirp either (not lkvm-slirp?)",
		       path);
		return -ELOOP;
	}
	setenv(SLIRP_EXEC_MARK, "1", 1);
	/* argv[0] stays the user's "lkvm", for ps and pidof */
	execvp(path, argv);
	err = errno;
	unsetenv(SLIRP_EXEC_MARK);
	pr_err("-n mode=user runs in %s (lkvm linked with libslirp): cannot run %s: %s",
	       SLIRP_EXEC_NAME, path, strerror(err));
	return -err;
}

/*
 * This process's arguments from /proc/self/cmdline (read_file()): @argv
 * points into @buf, both the caller's to free.
 */
static int slirp_exec_args(void **buf, char ***argv)
{
	size_t len, i, nr = 0;
	char *text, *p;
	int ret = read_file("/proc/self/cmdline", buf, &len);

	if (ret < 0 || !len) {
		pr_err("-n mode=user: cannot read this lkvm's arguments (/proc/self/cmdline): %s",
		       strerror(ret < 0 ? -ret : EIO));
		return ret < 0 ? ret : -EIO;
	}
	text = *buf;
	for (p = text; p < text + len; p += strlen(p) + 1)
		nr++;
	*argv = calloc(nr + 1, sizeof(**argv));
	if (!*argv) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	for (p = text, i = 0; i < nr; p += strlen(p) + 1)
		(*argv)[i++] = p;
	return 0;
}

int net_slirp_exec(void)
{
	char **argv = NULL;
	void *buf = NULL;
	int ret = slirp_exec_args(&buf, &argv);

	if (!ret)
		ret = net_slirp_execv(argv);
	free(argv);
	free(buf);
	return ret;
}
