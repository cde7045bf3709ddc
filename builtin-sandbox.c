// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox [OPTIONS] [--] CMD [ARGS...]: run one command in a fresh
 * guest whose root is the host's / (read-only, with the working folder
 * read-write) over virtio-9p, like virtme-ng.
 *
 * With no -k it boots the running kernel (/boot/vmlinuz-$(uname -r), or
 * $LKVM_KERNEL), reads its version from the "Linux version" banner in the
 * Image, takes the drivers it needs from /lib/modules/VERSION (or
 * --modules DIR) with their dependencies, and packs them with lkvm's own
 * init (guest/init.c, embedded in lkvm) into an initramfs built in memory.
 *
 * The command's exit status comes back through a private virtio-9p share
 * (tag lkvm-ctl, a temporary folder): init writes "exit N" to its
 * "status" file before powering off. A guest that stops without writing
 * it (crash, panic, timeout, a failing init) makes lkvm exit 125.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/initramfs.h"
#include "lkvm/kcache.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/net-backend.h"
#include "lkvm/options.h"
#include "lkvm/watch.h"

/* Our own failures, and the guest's: statuses 0-255 are the command's. */
#define SANDBOX_EXIT_FAIL	125

#define TAG_ROOT		"lkvm-root"
#define TAG_CWD			"lkvm-cwd"
#define TAG_CTL			"lkvm-ctl"
#define TAG_HOST		"lkvm-host"

struct sandbox {
	const char *kernel;
	char kver[128];
	char moddir[PATH_MAX];
	char ctl[PATH_MAX];	/* the status folder */
	char cwd[PATH_MAX];
	char root[PATH_MAX];	/* -d DIR: root folder; empty: host / */
	char cache[PATH_MAX];	/* lkvm's cache folder; empty: none */
	const char *root_blk;	/* -d IMAGE: root on /dev/vda */
	bool verbose;
	bool tty;
	char *p9_args[3];
	struct cpio cpio;
};

void cmd_sandbox_help(void)
{
	const struct cmd_doc *doc;

	printf("usage: lkvm sandbox [OPTIONS] [--] CMD [ARGS...]\n\n"
	       "Run CMD in a new guest whose root is the host's / (read-only) over\n"
	       "virtio-9p, in the current folder (shared read-write), with PATH,\n"
	       "HOME, TERM and LANG from the host, and the terminal when there is one\n"
	       "(otherwise CMD's stdin is /dev/null). With no -k the running\n"
	       "kernel is booted (/boot/vmlinuz-$(uname -r), or $LKVM_KERNEL) with\n"
	       "the drivers it needs from /lib/modules/VERSION (or --modules DIR).\n"
	       "-d DIR (or a name set up by 'lkvm setup NAME') boots from that\n"
	       "folder instead, -d IMAGE from an ext4 disk image.\n\n"
	       "options (all of 'lkvm run', plus):\n");
	doc = cmd_doc_find("sandbox");
	cmd_options_usage(stdout, doc->opts, doc->nr_opts);
	run_options_usage(stdout);
	printf("\nexit status:\n"
	       "  0-255  CMD's exit status (128+N if a signal N killed it;\n"
	       "         126: CMD cannot be run, 127: CMD not found)\n"
	       "  125    lkvm or the guest failed: bad option, kernel or modules,\n"
	       "         the guest crashed, --timeout expired or a seccomp filter\n"
	       "         stopped a system call of lkvm (the reason on stderr)\n"
	       "  128+N  lkvm was killed by signal N\n");
}

/* Strip our own options before "--" (or before the command). */
static int take_own_options(int argc, char **argv, struct sandbox *sb)
{
	int i, j, end = argc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	}
	for (i = j = 1; i < argc; i++) {
		if (i < end && !strcmp(argv[i], "--verbose")) {
			sb->verbose = true;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int choose_kernel(struct kvm *kvm, struct sandbox *sb)
{
	static char path[PATH_MAX];
	struct utsname u;
	const char *env = getenv("LKVM_KERNEL");

	if (kvm->cfg.kernel_path)
		return 0;
	if (env && *env) {
		kvm->cfg.kernel_path = env;
		return 0;
	}
	uname(&u);
	snprintf(path, sizeof(path), "/boot/vmlinuz-%s", u.release);
	if (access(path, R_OK) < 0) {
		pr_err("sandbox: no kernel: %s: %s (give one with -k FILE or $LKVM_KERNEL)",
		       path, strerror(errno));
		return -ENOENT;
	}
	kvm->cfg.kernel_path = path;
	return 0;
}

/* A version string as linux_version_find() returns them: no spaces. */
static bool plausible_version(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (v[i] <= ' ' || v[i] >= 0x7f)
			return false;
	return len > 0;
}

/*
 * The kernel's version: from the cache, or from the banner in the Image
 * (which means reading the first ~16 MiB of a distribution kernel).
 */
static int kernel_version(struct kvm *kvm, struct sandbox *sb)
{
	const char *kpath = kvm->cfg.kernel_path;
	char name[64], key[KCACHE_KEY_MAX] = "";
	size_t len = 0;
	void *v;
	int ret;

	kcache_name(name, sizeof(name), "kver", kpath);
	if (sb->cache[0] && !kcache_key_file(key, kpath) &&
	    !kcache_get(sb->cache, name, key, &v, &len)) {
		if (len < sizeof(sb->kver) && plausible_version(v, len)) {
			memcpy(sb->kver, v, len);
			sb->kver[len] = '\0';
		}
		free(v);
		if (sb->kver[0]) {
			pr_phase("sandbox: kernel version %s (from the cache)",
				 sb->kver);
			return 0;
		}
	}
	ret = kvm_arch_kernel_version(kvm, sb->kver, sizeof(sb->kver));
	if (ret < 0)
		return ret;
	if (key[0])
		kcache_put(sb->cache, name, key, sb->kver, strlen(sb->kver));
	pr_phase("sandbox: kernel version %s", sb->kver);
	return 0;
}

/* -d DIR or -d NAME (~/.lkvm/NAME) is a root folder; -d IMAGE a disk. */
static int choose_root(struct kvm *kvm, struct sandbox *sb)
{
	struct kvm_config *cfg = &kvm->cfg;
	const char *d, *home = getenv("HOME");
	char named[PATH_MAX];
	int i;

	if (!cfg->nr_disks)
		return 0;
	d = cfg->disks[0];
	snprintf(named, sizeof(named), "%s/.lkvm/%s", home ? home : "", d);
	if (!strchr(d, '/') && !strchr(d, ',') && home && is_dir(named))
		d = named;
	if (is_dir(d)) {
		if (!realpath(d, sb->root)) {
			pr_err("sandbox: -d '%s': %s", d, strerror(errno));
			return -errno;
		}
		for (i = 1; i < cfg->nr_disks; i++)
			cfg->disks[i - 1] = cfg->disks[i];
		cfg->nr_disks--;
		return 0;
	}
	sb->root_blk = "/dev/vda";
	return 0;
}

static int add_share(struct kvm *kvm, struct sandbox *sb, int slot,
		     const char *dir, const char *tag, bool ro)
{
	if (kvm->cfg.nr_p9 == LKVM_MAX_9P) {
		pr_err("sandbox: too many --9p shares (lkvm sandbox uses up to 3 of %d)",
		       LKVM_MAX_9P);
		return -E2BIG;
	}
	if (asprintf(&sb->p9_args[slot], "%s,%s%s", dir, tag,
		     ro ? ",ro" : "") < 0)
		return -ENOMEM;
	kvm->cfg.p9[kvm->cfg.nr_p9++] = sb->p9_args[slot];
	return 0;
}

/*
 * The cached modules for this key, if every one is still the file it was
 * (its identity line matches); -errno otherwise.
 */
static int modules_from_cache(struct sandbox *sb, const char *name,
			      const char *key, struct modlist *mods)
{
	char id[KCACHE_KEY_MAX];
	size_t len;
	void *buf;
	int i, ret;

	ret = kcache_get(sb->cache, name, key, &buf, &len);
	if (ret)
		return ret;
	ret = modlist_unpack(mods, buf, len);
	free(buf);
	for (i = 0; !ret && i < mods->n; i++) {
		id[0] = '\0';
		if (kcache_key_file(id, mods->paths[i]) ||
		    strcmp(id, mods->ids[i]))
			ret = -ESTALE;
	}
	if (ret)
		modlist_free(mods);
	return ret;
}

/* What names the module set: the folder, the names, their index files. */
static int modules_key(struct sandbox *sb, const char *const *names, int n,
		       int required, char *key)
{
	char path[PATH_MAX + 32];
	int i, ret;

	ret = kcache_key_add(key, "modules %d of %d:", required, n);
	for (i = 0; !ret && i < n; i++)
		ret = kcache_key_add(key, " %s", names[i]);
	if (!ret)
		ret = kcache_key_add(key, "\n");
	snprintf(path, sizeof(path), "%s/modules.dep", sb->moddir);
	if (!ret)
		ret = kcache_key_file(key, path);
	snprintf(path, sizeof(path), "%s/modules.builtin", sb->moddir);
	if (!ret && kcache_key_file(key, path))
		ret = kcache_key_add(key, "no modules.builtin\n");
	return ret;
}

/*
 * The cache entry of a module set: one per folder and list of names (the
 * key's first line), so that sandboxes with other devices (a disk, PCI
 * rather than MMIO) keep their own entries instead of replacing one.
 */
static void modules_entry_name(char *out, size_t len, const struct sandbox *sb,
			       const char *key)
{
	char what[PATH_MAX + 256];

	snprintf(what, sizeof(what), "%s\n%.*s", sb->moddir,
		 (int)strcspn(key, "\n"), key);
	kcache_name(out, len, "modules", what);
}

/*
 * Resolve and read the modules, or take them from the cache: a second
 * sandbox reads neither modules.dep nor the module files (only stat()s).
 */
static int load_modules(struct sandbox *sb, const char *const *names, int n,
			int required, struct modlist *mods, char *err,
			size_t errlen)
{
	char name[64], *key = NULL;
	bool cacheable = false;
	u8 *packed;
	size_t len;
	int ret;

	if (sb->cache[0] && (key = calloc(1, KCACHE_KEY_MAX)) &&
	    !modules_key(sb, names, n, required, key)) {
		cacheable = true;
		modules_entry_name(name, sizeof(name), sb, key);
		ret = modules_from_cache(sb, name, key, mods);
		pr_debug("sandbox: module cache %s: %s", name,
			 kcache_why(ret));
		if (!ret)
			goto out;
	}
	ret = modules_resolve(sb->moddir, names, n, required, mods, err,
			      errlen);
	if (!ret)
		ret = modlist_read(mods, err, errlen);
	if (!ret && cacheable && !modlist_pack(mods, &packed, &len)) {
		kcache_put(sb->cache, name, key, packed, len);
		free(packed);
	}
out:
	free(key);
	return ret;
}

static int find_modules(struct kvm *kvm, struct sandbox *sb,
			struct modlist *mods)
{
	const struct kvm_config *cfg = &kvm->cfg;
	const char *names[16];
	int n = 0, required;
	char err[512];

	if (cfg->modules_dir)
		snprintf(sb->moddir, sizeof(sb->moddir), "%s", cfg->modules_dir);
	else
		snprintf(sb->moddir, sizeof(sb->moddir), "/lib/modules/%s",
			 sb->kver);
	names[n++] = cfg->transport == VIRTIO_TRANSPORT_PCI ?
		     "virtio_pci" : "virtio_mmio";
	if (cfg->console == CONSOLE_VIRTIO)
		names[n++] = "virtio_console";
	names[n++] = "9pnet_virtio";
	names[n++] = "9p";
	if (cfg->nr_disks) {
		names[n++] = "virtio_blk";
		names[n++] = "ext4";
	}
	if (cfg->nr_nics)
		names[n++] = "virtio_net";
	required = n;
	/* nice to have */
	if (cfg->nr_disks)
		names[n++] = "crc32c_generic";
	if (cfg->rng)
		names[n++] = "virtio_rng";
	if (load_modules(sb, names, n, required, mods, err, sizeof(err)) < 0) {
		pr_err("sandbox: kernel %s: %s (give the kernel's modules with --modules DIR)",
		       sb->kver, err);
		return -ENOENT;
	}
	return 0;
}

/* NUL-separated list of @v */
static int cpio_add_vec(struct cpio *c, const char *name, char *const *v,
			int n)
{
	size_t len = 0, off = 0;
	char *buf;
	int i, ret;

	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		strcpy(buf + off, v[i]);
		off += strlen(v[i]) + 1;
	}
	ret = cpio_add(c, name, S_IFREG | 0644, buf, len);
	free(buf);
	return ret;
}

static int build_initramfs(struct kvm *kvm, struct sandbox *sb,
			   const struct modlist *mods, char **cmd, int nr_cmd)
{
	static const char *const keep[] = {
		"PATH", "HOME", "TERM", "LANG", "LC_ALL", "USER", "LOGNAME", "TZ",
	};
	static const char *const dirs[] = {
		"dev", "proc", "sys", "newroot", "lkvm-ctl", "lkvm",
		"lkvm/modules",
	};
	struct cpio *c = &sb->cpio;
	char *env[ARRAY_SIZE(keep) + 1], config[2048], name[PATH_MAX + 64];
	struct winsize ws = { 0 };
	const char *v;
	unsigned int i;
	int n = 0, len;

	cpio_init(c);
	if (cpio_add_lkvm_init(c, dirs, ARRAY_SIZE(dirs), mods, name,
			       sizeof(name)) < 0) {
		pr_err("sandbox: %s", name);
		return c->error;
	}

	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		v = getenv(keep[i]);
		if (!v && !strcmp(keep[i], "PATH"))
			v = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		if (v && asprintf(&env[n], "%s=%s", keep[i], v) >= 0)
			n++;
	}
	cpio_add_vec(c, "lkvm/env", env, n);
	while (n > 0)
		free(env[--n]);
	cpio_add_vec(c, "lkvm/args", cmd, nr_cmd);

	if (sb->tty)
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	len = snprintf(config, sizeof(config),
		       "ctl=%s\nconsole=%s\ntty=%d\nrows=%u\ncols=%u\n",
		       TAG_CTL, kvm->cfg.console == CONSOLE_VIRTIO ?
		       "hvc0" : "ttyS0", sb->tty, ws.ws_row ? ws.ws_row : 24,
		       ws.ws_col ? ws.ws_col : 80);
	if (sb->root_blk)
		len += snprintf(config + len, sizeof(config) - len,
				"root=blk:%s\ncwd=/\n", sb->root_blk);
	else if (sb->root[0])
		len += snprintf(config + len, sizeof(config) - len,
				"root=9p:%s\ncwd=/\nhosttag=%s\n", TAG_ROOT,
				TAG_HOST);
	else if (!strcmp(sb->cwd, "/"))
		len += snprintf(config + len, sizeof(config) - len,
				"root=9p:%s\ncwd=/\n", TAG_ROOT);
	else
		len += snprintf(config + len, sizeof(config) - len,
				"root=9p:%s:ro\ncwd=%s\ncwdtag=%s\n", TAG_ROOT,
				sb->cwd, TAG_CWD);
	if (len >= (int)sizeof(config)) {
		pr_err("sandbox: working folder path too long");
		return -ENAMETOOLONG;
	}
	cpio_add(c, "lkvm/config", S_IFREG | 0644, config, len);
	if (cpio_finish(c) < 0) {
		pr_err("sandbox: cannot build the initramfs: %s",
		       strerror(-c->error));
		return c->error;
	}
	kvm->initrd_mem = c->data;
	kvm->initrd_mem_size = c->len;
	pr_phase("sandbox: initramfs of %zu KiB built, %d modules from %s",
		 c->len >> 10, mods->n, sb->moddir);
	return 0;
}

static int setup_shares(struct kvm *kvm, struct sandbox *sb)
{
	const char *tmp = getenv("TMPDIR");
	int ret;

	snprintf(sb->ctl, sizeof(sb->ctl), "%s/lkvm-sandbox-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(sb->ctl)) {
		pr_err("sandbox: cannot create a folder in %s: %s",
		       tmp && *tmp ? tmp : "/tmp", strerror(errno));
		sb->ctl[0] = '\0';
		return -errno;
	}
	ret = add_share(kvm, sb, 0, sb->ctl, TAG_CTL, false);
	if (ret)
		return ret;
	if (sb->root_blk)
		return 0;
	if (sb->root[0]) {
		/* the host's / at /host, for the symlinks of 'lkvm setup' */
		ret = add_share(kvm, sb, 1, sb->root, TAG_ROOT, false);
		if (!ret)
			ret = add_share(kvm, sb, 2, "/", TAG_HOST, true);
		return ret;
	}
	if (!strcmp(sb->cwd, "/"))
		return add_share(kvm, sb, 1, "/", TAG_ROOT, false);
	ret = add_share(kvm, sb, 1, "/", TAG_ROOT, true);
	if (!ret)
		ret = add_share(kvm, sb, 2, sb->cwd, TAG_CWD, false);
	return ret;
}

/*
 * --debug: when the guest wrote the status (its file's mtime, on our
 * clock) and init's own "times" line (guest uptime at each step).
 */
static void debug_status(int fd, const char *rest)
{
	struct timespec now;
	struct stat st;
	long long ago;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!fstat(fd, &st)) {
		ago = (now.tv_sec - st.st_mtim.tv_sec) * 1000LL +
		      (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
		pr_phase("sandbox: status read; the guest wrote it at %lld ms",
			 (long long)lkvm_uptime_ms() - ago);
	}
	if (!strncmp(rest, "times ", 6))
		pr_debug("sandbox: guest uptime (ms) at init's steps: %.*s",
			 (int)strcspn(rest + 6, "\n"), rest + 6);
}

/* What init wrote in lkvm-ctl/status; -1 if nothing usable. */
static int read_status(struct sandbox *sb)
{
	char path[PATH_MAX + 16], buf[512];
	ssize_t n;
	int fd, code;
	size_t eol;

	snprintf(path, sizeof(path), "%s/status", sb->ctl);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0 && lkvm_debug) {
		buf[n] = '\0';
		eol = strcspn(buf, "\n");
		debug_status(fd, buf[eol] ? buf + eol + 1 : "");
	}
	close(fd);
	unlink(path);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (sscanf(buf, "exit %d", &code) == 1 && code >= 0 && code <= 255)
		return code;
	if (!strncmp(buf, "error ", 6))
		pr_err("sandbox: guest init failed: %s", buf + 6);
	return -1;
}

static const char *why_stopped(int status)
{
	switch (status) {
	case LKVM_EXIT_OK: return "the guest powered off";
	case LKVM_EXIT_RESET: return "the guest reset (kernel panic?)";
	case LKVM_EXIT_CRASH: return "the guest crashed";
	case LKVM_EXIT_TIMEOUT: return "--timeout expired";
	default: return "lkvm stopped it";
	}
}

static void sandbox_cleanup(struct sandbox *sb)
{
	unsigned int i;

	if (sb->ctl[0]) {
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/status", sb->ctl);
		unlink(path);
		rmdir(sb->ctl);
	}
	for (i = 0; i < ARRAY_SIZE(sb->p9_args); i++)
		free(sb->p9_args[i]);
	cpio_free(&sb->cpio);
}

static int sandbox_prepare(struct kvm *kvm, struct sandbox *sb, char **cmd,
			   int nr_cmd)
{
	struct modlist mods = { 0 };
	const char *params = kvm->cfg.params;
	int ret;

	if (!getcwd(sb->cwd, sizeof(sb->cwd))) {
		pr_err("sandbox: cannot get the working folder: %s",
		       strerror(errno));
		return -errno;
	}
	sb->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (kcache_dir(sb->cache, sizeof(sb->cache)) < 0)
		sb->cache[0] = '\0';
	kvm->kcache = sb->cache[0] ? sb->cache : NULL;
	if ((ret = choose_kernel(kvm, sb)) < 0 ||
	    (ret = choose_root(kvm, sb)) < 0 ||
	    (ret = kernel_version(kvm, sb)) < 0) {
		if (ret == -ENODATA)
			pr_err("kernel '%s': no \"Linux version\" banner found in it",
			       kvm->cfg.kernel_path);
		return ret;
	}
	if (kvm->cfg.modules_dir && !strcmp(kvm->cfg.modules_dir, "none")) {
		snprintf(sb->moddir, sizeof(sb->moddir), "none");
	} else if ((ret = find_modules(kvm, sb, &mods)) < 0) {
		return ret;
	}
	ret = setup_shares(kvm, sb);
	if (!ret)
		ret = build_initramfs(kvm, sb, &mods, cmd, nr_cmd);
	modlist_free(&mods);
	if (ret)
		return ret;

	/* CMD's output without the kernel's, unless asked */
	if (!params)
		params = sb->verbose ? "" : "quiet loglevel=0";
	kvm->cmdline = strdup(params);
	if (!kvm->cmdline)
		return -ENOMEM;
	ret = kvm_cmdline_add_default(kvm, "panic", "panic=-1");
	/*
	 * The crypto self-tests took 0.5 to 4.7 s of a boot in the emulated
	 * test host, and a sandbox boots for one command: skip them unless
	 * -p says otherwise (cryptomgr.notests=0 keeps them).
	 */
	if (!ret)
		ret = kvm_cmdline_add_default(kvm, "cryptomgr.notests",
					      "cryptomgr.notests");
	return ret;
}

int cmd_sandbox(int argc, char **argv)
{
	struct sandbox sb = { 0 };
	char err[256];
	struct kvm *kvm;
	int i, cmd, status, code;
	bool console_given = false;

	argc = take_own_options(argc, argv, &sb);
	kvm = kvm_new();
	if (!kvm) {
		pr_err("out of memory");
		return SANDBOX_EXIT_FAIL;
	}
	run_config_defaults(&kvm->cfg);
	switch (run_parse_options_cmd(argc, argv, &kvm->cfg, &cmd, err,
				      sizeof(err))) {
	case PARSE_HELP:
		cmd_sandbox_help();
		kvm_delete(kvm);
		return 0;
	case PARSE_ERROR:
		fprintf(stderr, "lkvm sandbox: %s (see 'lkvm help sandbox')\n",
			err);
		kvm_delete(kvm);
		return SANDBOX_EXIT_FAIL;
	case PARSE_OK:
		break;
	}
	if (net_slirp_exec_needed(&kvm->cfg)) {
		net_slirp_exec();	/* returns only on failure, said why */
		kvm_delete(kvm);
		return SANDBOX_EXIT_FAIL;
	}
	/* the sandbox's init (guest/init.c) is an arm64 program */
	if (kvm->cfg.aarch32) {
		fprintf(stderr, "lkvm sandbox: --aarch32 is not supported: the sandbox's init is an arm64 program\n");
		kvm_delete(kvm);
		return SANDBOX_EXIT_FAIL;
	}
	if (cmd >= argc) {
		fprintf(stderr, "lkvm sandbox: no command given: lkvm sandbox [OPTIONS] -- CMD [ARGS...]\n");
		kvm_delete(kvm);
		return SANDBOX_EXIT_FAIL;
	}
	for (i = 1; i < cmd; i++)
		if (!strncmp(argv[i], "--console", 9))
			console_given = true;
	if (!console_given)
		kvm->cfg.console = CONSOLE_VIRTIO;
	kvm_arch_choose_transport(&kvm->cfg);	/* the modules depend on it */

	if (sandbox_prepare(kvm, &sb, argv + cmd, argc - cmd) < 0 ||
	    kvm_arch_load_files(kvm) < 0 ||
	    run_seccomp_prepare(kvm, SANDBOX_EXIT_FAIL) < 0) {
		kvm_arch_free_files(kvm);
		sandbox_cleanup(&sb);
		kvm_delete(kvm);
		return SANDBOX_EXIT_FAIL;
	}
	status = kvm_run_vm(kvm);
	/* The command's status decides, not --expect. */
	console_watch_free(kvm);
	kvm_arch_free_files(kvm);
	code = read_status(&sb);
	if (code < 0) {
		if (status >= LKVM_EXIT_SIGNAL) {
			code = status;
		} else {
			pr_err("sandbox: %s before the command finished%s",
			       why_stopped(status),
			       sb.verbose ? "" : " (--verbose shows the kernel's messages)");
			code = SANDBOX_EXIT_FAIL;
		}
	}
	sandbox_cleanup(&sb);
	kvm_delete(kvm);
	pr_phase("sandbox: exit %d", code);
	return code;
}
