// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox: PID 1 of the guest. A small static program that lkvm
 * embeds and packs into the initramfs it builds (builtin-sandbox.c), with:
 *
 *   /lkvm/modules/NNN-NAME.ko   kernel modules, loaded in name order
 *   /lkvm/config                KEY=VALUE lines (see below)
 *   /lkvm/args, /lkvm/env       the command and its environment, NUL-separated
 *
 * It loads the modules, mounts the root (the host's / over virtio-9p, a
 * folder, or a virtio-blk disk) with proc, sys, dev and a /tmp, brings
 * the network interfaces up, chroots, runs the command on the console
 * (a controlling terminal when the host has one), and writes
 * "exit N" (or "error MESSAGE") to the "status" file of the lkvm-ctl
 * virtio-9p share before powering off: that is how lkvm learns the
 * command's exit status.
 *
 * config keys: root=9p:TAG[:ro] | blk:DEVICE, ctl=TAG, cwd=PATH,
 * cwdtag=TAG (a read-write share mounted over cwd), hosttag=TAG (the
 * host's /, read-only, at /host when the root has one), console=hvc0|ttyS0,
 * tty=0|1, rows=N, cols=N, hostname=NAME, msize=N. *
 * mode=root (lkvm run -d DISK with no -i, builtin-run.c): none of the
 * above. Load the modules, then do what the kernel does without an
 * initramfs, from /proc/cmdline: mount root= (a device path, waited for
 * up to 10 s, or for ever with rootwait) read-write, or read-only with
 * "ro", as rootfstype= (a comma-separated list; default ext4, ext3, ext2)
 * with rootflags=, move /dev there, make it / and exec init= (default
 * /sbin/init, /etc/init, /bin/init, /bin/sh) as PID 1 with our arguments
 * and environment. A failure is said on the console and panics the
 * kernel, as a root it cannot mount would.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE	4
#endif

#define NEWROOT		"/newroot"
#define CTL		"/lkvm-ctl"
#define STATUS_FAIL	125

static char config[4096];
static int console_fd = -1;
static int status_fd = -1;

/*
 * Guest uptime (ms) at each step, sent after the status line as
 * "times start=N modules=N console=N mounts=N command=N exited=N done=N":
 * lkvm --debug prints it, older lkvms read only the first line.
 */
enum {
	T_START, T_MODULES, T_CONSOLE, T_MOUNTS, T_COMMAND, T_EXITED, T_DONE,
	T_NR
};
static const char *const time_names[T_NR] = {
	"start", "modules", "console", "mounts", "command", "exited", "done",
};
static long times_ms[T_NR];

static void mark(int step)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	times_ms[step] = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The "times ..." line into @buf. */
static void format_times(char *buf, size_t len)
{
	int i, n = snprintf(buf, len, "times");

	for (i = 0; i < T_NR && n < (int)len; i++)
		n += snprintf(buf + n, len - n, " %s=%ld", time_names[i],
			      times_ms[i]);
	if (n < (int)len - 1)
		snprintf(buf + n, len - n, "\n");
}

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n, fd;

	n = snprintf(buf, sizeof(buf), "lkvm-init: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (console_fd >= 0) {
		if (write(console_fd, buf, n) == n)
			return;
	}
	/* no console yet: the kernel log at KERN_EMERG shows even with quiet */
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		char kbuf[520];

		n = snprintf(kbuf, sizeof(kbuf), "<0>%.*s", n, buf);
		if (write(fd, kbuf, n) < 0)
			n = 0;
		close(fd);
	}
}

static void report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (status_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (pwrite(status_fd, buf, n, 0) < 0 || fsync(status_fd) < 0)
		say("cannot report the status: %s", strerror(errno));
	close(status_fd);
	status_fd = -1;
}

static __attribute__((noreturn)) void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/*
 * Format a failure and say it on the console; returns the message. The
 * two ways to fail, fail() and root_fail(), differ only in how they end.
 */
static const char *say_failure(const char *fmt, va_list ap)
{
	static char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	say("%s", msg);
	return msg;
}

/* lkvm learns the failure from the status file, then the guest is gone. */
static __attribute__((noreturn, format(printf, 1, 2)))
void fail(const char *fmt, ...)
{
	const char *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = say_failure(fmt, ap);
	va_end(ap);
	report("error %s\n", msg);
	power_off();
}

/* The value of @key in /lkvm/config (a copy), or @def. */
static const char *conf(const char *key, const char *def)
{
	size_t klen = strlen(key);
	const char *p = config, *end;
	char *val;

	while (*p) {
		end = strchrnul(p, '\n');
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) &&
		    p[klen] == '=') {
			val = strndup(p + klen + 1, end - p - klen - 1);
			if (!val)
				fail("out of memory");
			return val;
		}
		p = *end ? end + 1 : end;
	}
	return def;
}

/* Read a whole small file; returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	ssize_t n, done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)done < len - 1 &&
	       (n = read(fd, buf + done, len - 1 - done)) > 0)
		done += n;
	close(fd);
	buf[done] = '\0';
	return done;
}

/* NUL-separated strings -> NULL-terminated vector (malloc'ed). */
static char **split0(const char *path)
{
	struct stat st;
	char *buf, **v;
	size_t i, n = 0, k = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		fail("cannot read %s: %s", path, strerror(errno));
	buf = malloc(st.st_size + 1);
	if (!buf || read(fd, buf, st.st_size) != st.st_size)
		fail("cannot read %s", path);
	close(fd);
	buf[st.st_size] = '\0';
	for (i = 0; i < (size_t)st.st_size; i++)
		n += !buf[i];
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		fail("out of memory");
	for (i = 0; i < (size_t)st.st_size; i += strlen(buf + i) + 1)
		v[k++] = buf + i;
	return v;
}

static int modfilter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void load_modules(void)
{
	struct dirent **list;
	char path[PATH_MAX];
	int i, n, fd, flags;

	n = scandir("/lkvm/modules", &list, modfilter, alphasort);
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		snprintf(path, sizeof(path), "/lkvm/modules/%s", name);
		flags = strstr(name, ".ko.") ? MODULE_INIT_COMPRESSED_FILE : 0;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", flags) < 0 &&
			       errno != EEXIST)) {
			if (flags && errno == EINVAL)
				say("cannot load %s: the kernel cannot decompress modules itself (CONFIG_MODULE_DECOMPRESS): give uncompressed modules with --modules",
				    name);
			else
				say("cannot load module %s: %s", name,
				    strerror(errno));
		}
		if (fd >= 0)
			close(fd);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

static void wait_for(const char *path, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (access(path, F_OK) < 0 && ms > 0) {
		nanosleep(&ts, NULL);
		ms -= 10;
	}
}

static void ifup_all(void)
{
	struct if_nameindex *ifs, *i;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	ifs = if_nameindex();
	for (i = ifs; i && i->if_name; i++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
		if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
			continue;
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			say("cannot bring %s up: %s", i->if_name, strerror(errno));
	}
	if (ifs)
		if_freenameindex(ifs);
	close(s);
}

static void mount_root(void)
{
	char opts[256], src[128];
	const char *root = conf("root", "9p:lkvm-root");
	const char *msize = conf("msize", "512000");
	unsigned long flags = 0;

	if (!strncmp(root, "9p:", 3)) {
		snprintf(src, sizeof(src), "%s", root + 3);
		if (strchr(src, ':')) {
			*strchr(src, ':') = '\0';
			flags |= MS_RDONLY;
		}
		snprintf(opts, sizeof(opts),
			 "trans=virtio,version=9p2000.L,msize=%s,cache=%s",
			 msize, flags & MS_RDONLY ? "loose" : "mmap");
		if (mount(src, NEWROOT, "9p", flags, opts) < 0)
			fail("cannot mount the root (virtio-9p '%s'): %s", src,
			     strerror(errno));
	} else if (!strncmp(root, "blk:", 4)) {
		wait_for(root + 4, 2000);
		if (mount(root + 4, NEWROOT, "ext4", 0, NULL) < 0)
			fail("cannot mount the root (%s, ext4): %s", root + 4,
			     strerror(errno));
	} else {
		fail("bad root '%s' in /lkvm/config", root);
	}
}

/* Mount @type at NEWROOT@dir if that directory exists; quietly else. */
static void mount_in_root(const char *src, const char *dir, const char *type,
			  const char *opts)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), NEWROOT "%s", dir);
	if (!strncmp(dir, "/dev/", 5))
		mkdir(path, 0755);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	if (mount(src, path, type, 0, opts) < 0)
		say("cannot mount %s on %s: %s", type, dir, strerror(errno));
}

/* mkdir -p; the parents of a path in a read-only root already exist */
static void mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

/* The host's working folder, read-write, over the read-only root's copy. */
static void mount_cwd(const char *tag)
{
	char path[PATH_MAX], opts[128];

	snprintf(path, sizeof(path), NEWROOT "%s", conf("cwd", "/"));
	snprintf(opts, sizeof(opts),
		 "trans=virtio,version=9p2000.L,msize=%s,cache=mmap",
		 conf("msize", "512000"));
	mkdir_p(path);
	if (mount(tag, path, "9p", 0, opts) < 0)
		say("cannot mount the working folder: %s", strerror(errno));
}

static void setup_console(bool tty)
{
	char dev[64];
	struct termios t;
	struct winsize ws = { 0 };

	snprintf(dev, sizeof(dev), "/dev/%s", conf("console", "hvc0"));
	wait_for(dev, 3000);
	console_fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (console_fd < 0) {
		say("cannot open %s: %s", dev, strerror(errno));
		return;
	}
	if (tcgetattr(console_fd, &t) < 0)
		return;
	if (tty) {
		ws.ws_row = atoi(conf("rows", "24"));
		ws.ws_col = atoi(conf("cols", "80"));
		ioctl(console_fd, TIOCSWINSZ, &ws);
		t.c_iflag |= ICRNL;
		t.c_oflag |= OPOST | ONLCR;
		t.c_lflag |= ICANON | ECHO | ISIG | IEXTEN;
	} else {
		/* output goes to a file or a pipe: bytes as written */
		cfmakeraw(&t);
	}
	tcsetattr(console_fd, TCSANOW, &t);
}

/* The command's side: session, terminal, root, environment, exec. */
static __attribute__((noreturn)) void run_command(bool tty, char **argv,
						  char **envp)
{
	const char *cwd = conf("cwd", "/");
	int fd;

	setsid();
	if (console_fd >= 0) {
		if (tty)
			ioctl(console_fd, TIOCSCTTY, 0);
		fd = tty ? console_fd : open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		dup2(console_fd, 1);
		dup2(console_fd, 2);
	}
	if (chdir(cwd) < 0) {
		say("cannot enter %s: %s; running in /", cwd, strerror(errno));
		chdir("/");
	}
	environ = envp;
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	fprintf(stderr, "lkvm sandbox: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * mode=root: a failure before the disk's init runs. There is no status
 * file: the kernel panics, as it would on a root it cannot mount.
 */
static __attribute__((noreturn, format(printf, 1, 2)))
void root_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_failure(fmt, ap);
	va_end(ap);
	sync();
	_exit(1);	/* "Attempted to kill init" */
}

/*
 * Step *@p to the next word of the kernel command line, its length in *@n;
 * false at the end, or at "--" (what follows is init's, not the kernel's).
 */
static bool next_param(const char **p, size_t *n)
{
	while (**p == ' ' || **p == '\n')
		(*p)++;
	*n = strcspn(*p, " \n");
	return *n && !(*n == 2 && !strncmp(*p, "--", 2));
}

/* The value of kernel parameter @key in @cmdline (copied to @out), or NULL. */
static const char *param(const char *cmdline, const char *key, char *out,
			 size_t len)
{
	size_t klen = strlen(key), n, vlen;
	const char *p = cmdline, *found = NULL;

	for (; next_param(&p, &n); p += n) {
		if (n >= klen && !strncmp(p, key, klen) &&
		    (n == klen || p[klen] == '=')) {
			/* "key" alone is an empty value; the last one wins */
			vlen = n == klen ? 0 : n - klen - 1;
			if (vlen >= len)
				vlen = len - 1;
			memcpy(out, n == klen ? p + n : p + klen + 1, vlen);
			out[vlen] = '\0';
			found = out;
		}
	}
	return found;
}

/* The last of the kernel parameters "ro" and "rw" wins; rw by default. */
static bool read_only(const char *cmdline)
{
	const char *p = cmdline;
	bool ro = false;
	size_t n;

	for (; next_param(&p, &n); p += n)
		if (n == 2 && (!strncmp(p, "ro", 2) || !strncmp(p, "rw", 2)))
			ro = p[1] == 'o';
	return ro;
}

/* Free the initramfs's memory: what we packed is no longer needed. */
static void drop_initramfs(void)
{
	struct dirent **list;
	char path[PATH_MAX];
	int i, n;

	n = scandir("/lkvm/modules", &list, modfilter, alphasort);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/lkvm/modules/%s",
			 list[i]->d_name);
		unlink(path);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	rmdir("/lkvm/modules");
	unlink("/lkvm/config");
	rmdir("/lkvm");
	unlink("/init");
}

static __attribute__((noreturn)) void boot_disk_root(char **argv)
{
	static const char *const inits[] = {
		"/sbin/init", "/etc/init", "/bin/init", "/bin/sh",
	};
	char cmdline[4096], root[256], types[256], flags[512], init[256];
	char tmp[8], *type, *save;
	unsigned long mflags = 0;
	unsigned int i;
	int fd, err = 0;

	if (mount("proc", "/proc", "proc", 0, NULL) < 0 ||
	    slurp("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		root_fail("cannot read /proc/cmdline: %s", strerror(errno));
	umount2("/proc", MNT_DETACH);
	load_modules();
	/* the console's driver may just have come: stdin, stdout, stderr */
	fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		console_fd = fd;
	}
	/* main()'s /dev/null stand-ins are not for the disk's init */
	for (i = 3; i < 16; i++)
		if ((int)i != console_fd)
			close(i);

	if (!param(cmdline, "root", root, sizeof(root)))
		snprintf(root, sizeof(root), "/dev/vda");
	if (root[0] != '/')
		root_fail("root=%s: only a device path is supported (like root=/dev/vda)",
			  root);
	if (read_only(cmdline))
		mflags |= MS_RDONLY;
	if (param(cmdline, "rootwait", tmp, sizeof(tmp)))
		while (access(root, F_OK) < 0)
			wait_for(root, 1000);
	wait_for(root, 10000);
	if (!param(cmdline, "rootfstype", types, sizeof(types)))
		snprintf(types, sizeof(types), "ext4,ext3,ext2");
	if (!param(cmdline, "rootflags", flags, sizeof(flags)))
		flags[0] = '\0';
	for (type = strtok_r(types, ",", &save); type;
	     type = strtok_r(NULL, ",", &save)) {
		if (!mount(root, NEWROOT, type, mflags, flags[0] ? flags : NULL))
			break;
		if (!err || errno != EINVAL)
			err = errno;
	}
	if (!type)
		root_fail("cannot mount the root %s: %s", root, strerror(err));

	if (mount("/dev", NEWROOT "/dev", NULL, MS_MOVE, NULL) < 0)
		umount2("/dev", MNT_DETACH);
	drop_initramfs();
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		root_fail("cannot switch to the root %s: %s", root,
			  strerror(errno));

	if (param(cmdline, "init", init, sizeof(init))) {
		argv[0] = init;
		execv(init, argv);
		say("cannot run init=%s: %s; trying the defaults", init,
		    strerror(errno));
	}
	for (i = 0; i < sizeof(inits) / sizeof(inits[0]); i++) {
		argv[0] = (char *)inits[i];
		execv(inits[i], argv);
	}
	root_fail("no init found on %s (tried /sbin/init, /etc/init, /bin/init, /bin/sh): give one with init=",
		  root);
}

int main(int argc, char **kargv)
{
	char **argv, **envp, times[160];
	const char *ctl, *cwdtag, *host;
	bool tty;
	pid_t pid, w;
	int st, code = STATUS_FAIL;

	mark(T_START);
	mount("dev", "/dev", "devtmpfs", 0, NULL);
	/* the kernel found no console: keep 0-2 taken, our fds above them */
	while (open("/dev/null", O_RDWR) >= 0 && fcntl(2, F_GETFD) < 0)
		;
	if (slurp("/lkvm/config", config, sizeof(config)) < 0)
		fail("no /lkvm/config: this initramfs was not made by lkvm sandbox");
	if (!strcmp(conf("mode", ""), "root") && argc > 0)
		boot_disk_root(kargv);
	tty = !strcmp(conf("tty", "0"), "1");
	load_modules();
	mark(T_MODULES);
	setup_console(tty);
	mark(T_CONSOLE);

	ctl = conf("ctl", "lkvm-ctl");
	if (mount(ctl, CTL, "9p", 0, "trans=virtio,version=9p2000.L,cache=none") < 0)
		say("cannot mount the control share '%s': %s", ctl,
		    strerror(errno));
	else
		status_fd = open(CTL "/status", O_WRONLY | O_CREAT | O_TRUNC |
				 O_CLOEXEC, 0644);

	mount_root();
	mount_in_root("proc", "/proc", "proc", NULL);
	mount_in_root("sys", "/sys", "sysfs", NULL);
	mount_in_root("dev", "/dev", "devtmpfs", NULL);
	mount_in_root("tmp", "/tmp", "tmpfs", "mode=1777");
	mount_in_root("run", "/run", "tmpfs", "mode=755");
	mount_in_root("devpts", "/dev/pts", "devpts", "mode=620,ptmxmode=666");
	mount_in_root("shm", "/dev/shm", "tmpfs", "mode=1777");
	if (conf("hosttag", NULL))
		mount_in_root(conf("hosttag", NULL), "/host", "9p",
			      "trans=virtio,version=9p2000.L,msize=512000,cache=loose");
	/* last: the working folder may be below /tmp */
	cwdtag = conf("cwdtag", NULL);
	if (cwdtag)
		mount_cwd(cwdtag);
	ifup_all();
	host = conf("hostname", "lkvm");
	sethostname(host, strlen(host));

	argv = split0("/lkvm/args");
	envp = split0("/lkvm/env");
	if (!argv[0])
		fail("no command given");
	if (chroot(NEWROOT) < 0 || chdir("/") < 0)
		fail("cannot chroot into the root: %s", strerror(errno));

	mark(T_MOUNTS);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0)
		run_command(tty, argv, envp);
	mark(T_COMMAND);
	/* reap everything; the command's status is what counts */
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 || w == pid)
			break;
	}
	mark(T_EXITED);
	if (w == pid)
		code = WIFEXITED(st) ? WEXITSTATUS(st) :
		       WIFSIGNALED(st) ? 128 + WTERMSIG(st) : STATUS_FAIL;
	/* what the command left running goes with the VM */
	kill(-1, SIGKILL);
	if (console_fd >= 0)
		tcdrain(console_fd);
	sync();
	mark(T_DONE);
	format_times(times, sizeof(times));
	report("exit %d\n%s", code, times);
	power_off();
}
