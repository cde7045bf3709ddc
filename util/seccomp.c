// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp-bpf, one allow-list per kind of thread, as Firecracker does:
 * a guest that takes over a thread of lkvm (through a device model bug)
 * can only make the system calls that thread needs, and never execve(),
 * fork, socket() outside libslirp, ptrace(), mount()...
 *
 * The lists are written with system call names (libseccomp turns them
 * into numbers for the architecture lkvm is built for: arm64, and x86_64
 * for the unit tests; a name the other architecture lacks, e.g. open on
 * arm64, is skipped). A list is the union of groups (below): what every
 * thread does (malloc, locks, messages, signal handlers), raising an
 * interrupt, serving a guest's kick, and what each thread adds. ioctl()
 * is allowed only for the request numbers a group names.
 *
 * seccomp_prepare() builds every list into a BPF program once, on the
 * main thread, before the VM's threads start (libseccomp, linked
 * statically, runs in a child process, which hands back only the
 * programs and the calls' names, so that lkvm never touches its pages
 * or its heap); each thread
 * then loads its own with seccomp_apply() first thing (no
 * SECCOMP_FILTER_FLAG_TSYNC: per thread). A filter is inherited by the
 * threads a thread creates and filters stack (every one must allow a
 * call), hence two rules the lists keep: SECCOMP_MAIN holds all of
 * SECCOMP_VCPU (the vCPU threads are created again on --reboot, after
 * the main thread's filter), and
 * SECCOMP_VCPU all of SECCOMP_IOEVENTFD (a vCPU starts that thread when
 * the guest programs a virtio-pci BAR). Threads are created only as
 * threads: clone() must carry CLONE_THREAD, clone3() (whose flags a
 * filter cannot read) fails with ENOSYS so that glibc falls back to it.
 *
 * A call outside the list raises SIGSYS (SCMP_ACT_TRAP). The handler
 * writes one line (thread name, list, call number and name, from a table
 * resolved before any filter) with write(2), restores the terminal and
 * exits with LKVM_EXIT_SECCOMP (the sandbox passes its own status).
 *
 * The state here is the process's, not a VM's: filters belong to the
 * threads of this process, which runs one VM.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "lkvm/seccomp.h"
#include "lkvm/util.h"

/* System call numbers the handler can name (arm64 and x86_64: < 460). */
#define SC_MAX_NR	512
#define SC_NAME_LEN	24
/* all of them, packed (arm64: 3.2 KiB, x86_64: 3.7 KiB) */
#define SC_NAME_POOL	4096

struct sc_group {
	const char *const *calls;	/* NULL-terminated */
	const unsigned long *ioctls;	/* 0-terminated */
	bool spawn;			/* may create threads */
};

#define GROUP(name, ...)						\
	static const char *const name##_calls[] = { __VA_ARGS__, NULL }; \
	static const struct sc_group name

/* Every thread: memory, locks, time, messages, signal handlers, exit. */
static const unsigned long base_ioctls[] = {
	TCGETS,		/* isatty() in every message */
	TCSETS,		/* term_restore() in the stop and fatal handlers */
	0,
};
GROUP(base, "write", "writev", "close", "futex", "exit", "exit_group",
      "rt_sigreturn", "rt_sigprocmask", "restart_syscall", "tgkill",
      "getpid", "gettid", "mmap", "munmap", "mremap", "mprotect",
      "madvise", "brk", "sched_getaffinity", "sched_yield",
      "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
      "getrandom") = { base_calls, base_ioctls, false };

/* Raise a guest interrupt: an SPI, an MSI; irqfds are written. */
static const unsigned long irq_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, 0,
};
static const char *const irq_calls[] = { NULL };
static const struct sc_group irq = { irq_calls, irq_ioctls, false };

/*
 * Serve a kick: every device's notify runs on the ioeventfd thread, or
 * on the vCPU when there is no ioeventfd: eventfds (their writes, tap
 * transmit's writev, virtio-rng's getrandom and virtio-balloon's
 * madvise are every thread's), virtio-balloon's hole punching in
 * --hugetlbfs RAM.
 */
static const unsigned long none_ioctls[] = { 0 };
GROUP(kick, "read", "readv", "eventfd2", "fallocate") = {
	kick_calls, none_ioctls, false };

/*
 * Create a thread (clone filtered, see the top); pinned by glibc with
 * --vcpu-affinity.
 */
GROUP(spawn, "set_robust_list", "rseq", "sched_setaffinity") = {
	spawn_calls, none_ioctls, true };

/*
 * A vCPU: KVM_RUN, and what a guest's MMIO writes set up: ioeventfds and
 * irqfds (virtio-pci BARs, MSI-X routes), tap offloads and vhost rings
 * (driver OK, reset), the ioeventfd thread's epoll set.
 */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_IOEVENTFD, KVM_IRQFD, KVM_SET_GSI_ROUTING,
	KVM_CHECK_EXTENSION,	/* ioeventfd, irqfd: asked at first use */
	KVM_GET_ONE_REG, KVM_SET_ONE_REG,	/* parked: the counter, dumps */
	KVM_SET_GUEST_DEBUG,	/* parked: --gdb's breakpoints and steps */
	TUNSETOFFLOAD,
	VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK,
	VHOST_SET_VRING_CALL, VHOST_NET_SET_BACKEND, VHOST_VSOCK_SET_RUNNING,
	0,
};
GROUP(vcpu, "epoll_create1", "epoll_ctl") = { vcpu_calls, vcpu_ioctls, false };

/* The ioeventfd thread: its epoll set. */
GROUP(ioev, "epoll_wait", "epoll_pwait") = {
	ioev_calls, none_ioctls, false };

/* Wait for a file descriptor: the terminal, net threads. */
GROUP(poll, "read", "readv", "poll", "ppoll") = {
	poll_calls, none_ioctls, false };

/* Disk images: raw and qcow2 I/O; io_uring for raw images. */
GROUP(disk, "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
      "pwritev2", "fdatasync", "fsync", "fallocate", "lseek", "fstat",
      "newfstatat", "ftruncate") = { disk_calls, none_ioctls, false };
GROUP(uring, "io_uring_enter") = { uring_calls, none_ioctls, false };

/* The 9P2000.L server: file system calls below its export. */
GROUP(p9, "openat2", "openat", "open", "read", "pread64", "pwrite64",
      "preadv", "pwritev", "lseek", "fstat", "newfstatat", "statx", "fstatfs",
      "statfs", "getdents64", "mkdirat", "mknodat", "unlinkat",
      "renameat", "renameat2", "linkat", "symlinkat", "readlinkat",
      "fchmodat", "fchmod", "fchownat", "fchown", "utimensat", "fsync",
      "fdatasync", "ftruncate", "fallocate", "fcntl", "flock", "dup",
      "dup3", "getxattr", "lgetxattr", "fgetxattr", "setxattr",
      "lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr",
      "removexattr", "lremovexattr", "fremovexattr", "getuid", "geteuid",
      "getgid", "getegid", "umask", "faccessat", "faccessat2") = {
	p9_calls, none_ioctls, false };

/*
 * libslirp (and glib): the host side of the guest's connections, DNS
 * forwarding (it reads /etc/resolv.conf), hostfwd listeners.
 */
static const unsigned long slirp_ioctls[] = { FIONREAD, FIONBIO, 0 };
GROUP(slirp, "socket", "connect", "bind", "listen", "accept", "accept4",
      "sendto", "recvfrom", "sendmsg", "recvmsg", "setsockopt",
      "getsockopt", "getsockname", "getpeername", "shutdown", "fcntl",
      "openat", "open", "stat", "lstat", "fstat", "newfstatat", "statx",
      "lseek") = { slirp_calls, slirp_ioctls, false };

/*
 * The control socket's server: accept a connection, check the peer
 * (SO_PEERCRED), read a request and answer it. Its commands kick and
 * park vCPUs (signals), read the devices' counters, on resume serve the
 * kicks held while paused (the kick group, as the ioeventfd thread), and
 * for lkvm balloon and stat --memory raise the balloon's config and
 * stats interrupts (the irq group).
 */
GROUP(control, "accept4", "poll", "ppoll", "recvfrom", "sendto",
      "getsockopt", "geteuid") = { control_calls, none_ioctls, false };

/*
 * The --gdb server: accept gdb's connection, read its packets and write
 * the replies; the vCPUs' registers and debug state are set on their own
 * threads (parked), guest memory is plain memory.
 */
GROUP(gdb, "accept4", "poll", "ppoll", "read", "recvfrom", "sendto",
      "setsockopt") = { gdb_calls, none_ioctls, false };

/*
 * The main thread once the VM runs: it waits for the stop, resets the
 * devices and vCPUs on --reboot (and starts the vCPUs again), and tears
 * everything down: flushes images, joins threads, closes, and the
 * reports of --debug and of lkvm sandbox (its status file, temporary
 * folder).
 */
static const unsigned long main_ioctls[] = {
#ifdef __aarch64__
	KVM_ARM_VCPU_INIT, KVM_ARM_PREFERRED_TARGET,
#endif
	KVM_CHECK_EXTENSION, KVM_GET_ONE_REG, KVM_SET_ONE_REG,
	KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
	0,
};
GROUP(teardown, "openat", "open", "read", "pread64", "pwrite64",
      "pwritev", "lseek", "fstat", "newfstatat", "statx", "stat",
      "getdents64", "unlinkat", "unlink", "rmdir", "fdatasync", "fsync",
      "mincore", "rt_sigaction", "poll", "ppoll") = {
	teardown_calls, main_ioctls, false };

/* With --debug: /proc/self/... for the CPU time and memory reports. */
GROUP(debug_reads, "openat", "open", "read", "fstat", "newfstatat", "statx",
      "lseek", "getdents64") = { debug_reads_calls, none_ioctls, false };

#ifdef __SANITIZE_ADDRESS__
/* An ASan build: its threads start on an alternate stack, with handlers. */
GROUP(asan_threads, "sigaltstack", "rt_sigaction") = {
	asan_threads_calls, none_ioctls, false };
#ifndef LKVM_SECCOMP_STRICT
/*
 * And its reports read /proc/self/maps and the binary to name the code,
 * and LeakSanitizer, at exit on the main thread, stops the threads from
 * a ptrace()ing process of its own (allowed here so that the rig's ASan
 * build shows whole reports; the unit tests, built with
 * LKVM_SECCOMP_STRICT, check the real lists).
 */
GROUP(asan_reports, "openat", "open", "read", "readlink", "readlinkat",
      "prctl", "rt_sigaction", "getrlimit", "prlimit64", "uname", "fstat",
      "newfstatat", "statx", "getdents64", "clone", "ptrace", "wait4",
      "waitid", "getppid", "kill") = {
	asan_reports_calls, none_ioctls, false };
#endif
#endif

#define SC_MAX_GROUPS	8

static const struct sc_list {
	const char *name;
	const struct sc_group *groups[SC_MAX_GROUPS];	/* NULL-terminated */
} sc_lists[SECCOMP_NR_CLASSES] = {
	/* main holds all of vcpu, vcpu all of ioeventfd: see the top */
	[SECCOMP_MAIN]	     = { "main", { &base, &irq, &kick, &spawn, &vcpu,
					   &ioev, &teardown } },
	[SECCOMP_VCPU]	     = { "vcpu", { &base, &irq, &kick, &spawn, &vcpu,
					   &ioev } },
	[SECCOMP_IOEVENTFD]  = { "ioeventfd", { &base, &irq, &kick, &ioev } },
	[SECCOMP_TERM]	     = { "term", { &base, &irq, &poll } },
	[SECCOMP_BLK_URING]  = { "blk-uring", { &base, &irq, &disk, &uring } },
	[SECCOMP_BLK_WORKER] = { "blk-worker", { &base, &irq, &disk } },
	[SECCOMP_9P]	     = { "9p", { &base, &irq, &p9 } },
	[SECCOMP_NET_USER]   = { "net-user", { &base, &irq, &poll, &slirp } },
	[SECCOMP_NET_TAP]    = { "net-tap", { &base, &irq, &poll } },
	[SECCOMP_VHOST]      = { "vhost", { &base, &irq, &poll } },
	[SECCOMP_CONTROL]    = { "control", { &base, &irq, &kick, &control } },
	[SECCOMP_GDB]	     = { "gdb", { &base, &gdb } },
};

/* Built by seccomp_prepare(), read by every thread and the handler. */
static bool sc_enabled;
static int sc_exit_status;
static void (*sc_on_fault)(void);
static const char *sc_eol = "\n";
static struct sock_fprog sc_progs[SECCOMP_NR_CLASSES];
/* The calls' names, packed: 1 + their offset in the pool, or 0 */
static unsigned short sc_name_at[SC_MAX_NR];
static char sc_name_pool[SC_NAME_POOL];
static __thread int sc_thread_class = -1;

const char *seccomp_class_name(enum seccomp_class cls)
{
	return (unsigned int)cls < SECCOMP_NR_CLASSES ? sc_lists[cls].name : "?";
}

/* ---- the SIGSYS handler: write(2) only ---- */

static size_t sc_append(char *buf, size_t len, size_t max, const char *s)
{
	while (*s && len < max)
		buf[len++] = *s++;
	return len;
}

static size_t sc_append_num(char *buf, size_t len, size_t max, long v)
{
	char digits[24];
	int n = 0;

	if (v < 0) {
		len = sc_append(buf, len, max, "-");
		v = -v;
	}
	do {
		digits[n++] = '0' + v % 10;
		v /= 10;
	} while (v && n < (int)sizeof(digits));
	while (n && len < max)
		buf[len++] = digits[--n];
	return len;
}

static size_t sc_append_hex(char *buf, size_t len, size_t max,
			    unsigned long v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 60;

	len = sc_append(buf, len, max, "0x");
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0 && len < max; shift -= 4)
		buf[len++] = hex[(v >> shift) & 0xf];
	return len;
}

/*
 * "lkvm: seccomp: thread vcpu0 (list vcpu) made the forbidden system call
 * 56 (openat): ..." (an ioctl with its @request), or with @nr < 0, "could
 * not load its filter: errno".
 */
static size_t sc_fault_line(char *buf, size_t max, int nr, int error,
			    unsigned long request)
{
	char comm[17] = "?";
	size_t len = 0;

	prctl(PR_GET_NAME, comm, 0, 0, 0);
	comm[16] = '\0';
	len = sc_append(buf, len, max, "lkvm: seccomp: thread ");
	len = sc_append(buf, len, max, comm);
	len = sc_append(buf, len, max, " (list ");
	len = sc_append(buf, len, max, seccomp_class_name(sc_thread_class));
	if (nr < 0) {
		len = sc_append(buf, len, max, ") could not load its filter: errno ");
		len = sc_append_num(buf, len, max, error);
	} else {
		len = sc_append(buf, len, max, ") made the forbidden system call ");
		len = sc_append_num(buf, len, max, nr);
		len = sc_append(buf, len, max, " (");
		len = sc_append(buf, len, max, nr < SC_MAX_NR && sc_name_at[nr] ?
				sc_name_pool + sc_name_at[nr] - 1 : "unknown");
		len = sc_append(buf, len, max, ")");
		if (nr == SCMP_SYS(ioctl)) {
			len = sc_append(buf, len, max, " request ");
			len = sc_append_hex(buf, len, max, request);
		}
	}
	len = sc_append(buf, len, max, ": stopping lkvm (--no-seccomp turns the filters off)");
	return sc_append(buf, len, max, sc_eol);
}

static void __noreturn sc_exit(int nr, int error, unsigned long request)
{
	char line[256];
	size_t len = sc_fault_line(line, sizeof(line), nr, error, request);

	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere to say it */
	}
	if (sc_on_fault)
		sc_on_fault();
	_exit(sc_exit_status);
}

/* The second argument of the trapped call: an ioctl's request. */
static unsigned long sc_arg1(const void *ucontext)
{
	const ucontext_t *uc = ucontext;

#if defined(__aarch64__)
	return uc->uc_mcontext.regs[1];
#elif defined(__x86_64__)
	return uc->uc_mcontext.gregs[REG_RSI];
#else
	return 0;
#endif
}

static void sc_sigsys(int sig, siginfo_t *info, void *ucontext)
{
	sc_exit(info->si_syscall, 0, sc_arg1(ucontext));
}

/* ---- building the lists ---- */

static int sc_add_rule(scmp_filter_ctx ctx, uint32_t action, int nr,
		       unsigned int n, const struct scmp_arg_cmp *cmp)
{
	int ret = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	return ret == -EEXIST ? 0 : ret;
}

/* Threads only: clone() with CLONE_THREAD, clone3() fails (ENOSYS). */
static int sc_add_spawn(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
					     CLONE_THREAD);
	int ret = sc_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &thread);

	return ret ? ret : sc_add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0, NULL);
}

static int sc_add_group(scmp_filter_ctx ctx, const struct sc_group *g,
			const char *list, char *err, size_t errlen)
{
	struct scmp_arg_cmp req;
	int i, nr, ret = 0;

	for (i = 0; !ret && g->calls[i]; i++) {
		nr = seccomp_syscall_resolve_name(g->calls[i]);
		if (nr == __NR_SCMP_ERROR) {
			set_err(err, errlen, "seccomp: no architecture has the system call '%s' of the %s list",
				g->calls[i], list);
			return -EINVAL;
		}
		if (nr >= 0)	/* else: not on this architecture */
			ret = sc_add_rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
	}
	for (i = 0; !ret && g->ioctls[i]; i++) {
		/* the request is an int: compare its 32 bits only */
		req = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, g->ioctls[i]);
		ret = sc_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &req);
	}
	if (!ret && g->spawn)
		ret = sc_add_spawn(ctx);
	if (ret)
		set_err(err, errlen, "seccomp: cannot build the %s list: %s",
			list, strerror(-ret));
	return ret;
}

/*
 * Every list: prctl() for the handler's PR_GET_NAME, a thread naming
 * itself, and a thread created under this list loading its own
 * (PR_SET_NO_NEW_PRIVS, seccomp(): both only ever restrict).
 */
static int sc_add_common(scmp_filter_ctx ctx, bool debug, const char *list,
			 char *err, size_t errlen)
{
	static const int options[] = {
		PR_GET_NAME, PR_SET_NAME, PR_SET_NO_NEW_PRIVS,
	};
	struct scmp_arg_cmp opt;
	unsigned int i;
	int ret = sc_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 0, NULL);

	for (i = 0; !ret && i < ARRAY_SIZE(options); i++) {
		/* an int: the upper half of the register is not defined */
		opt = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, options[i]);
		ret = sc_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, &opt);
	}
	if (ret) {
		set_err(err, errlen, "seccomp: cannot build the %s list: %s",
			list, strerror(-ret));
		return ret;
	}
	if (debug && (ret = sc_add_group(ctx, &debug_reads, list, err, errlen)))
		return ret;
#ifdef __SANITIZE_ADDRESS__
	ret = sc_add_group(ctx, &asan_threads, list, err, errlen);
#ifndef LKVM_SECCOMP_STRICT
	if (!ret)
		ret = sc_add_group(ctx, &asan_reports, list, err, errlen);
#endif
#endif
	return ret;
}

/*
 * What the child building the filters hands back (seccomp_prepare()): a
 * shared mapping, of which only the pages written are ever resident.
 */
struct sc_built {
	int ret;
	char err[256];
	unsigned short len[SECCOMP_NR_CLASSES];
	struct sock_filter prog[SECCOMP_NR_CLASSES][BPF_MAXINSNS];
	char names[SC_MAX_NR][SC_NAME_LEN];
};

/* The BPF program of a finished list, out of libseccomp into @out. */
static int sc_export(scmp_filter_ctx ctx, struct sock_filter *out,
		     unsigned short *len)
{
	struct stat st;
	int fd, ret;

	fd = memfd_create("lkvm-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (!ret && fstat(fd, &st) < 0)
		ret = -errno;
	if (!ret && (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
		     st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS))
		ret = -E2BIG;
	if (!ret && pread_in_full(fd, out, st.st_size, 0) != st.st_size)
		ret = -EIO;
	close(fd);
	if (!ret)
		*len = st.st_size / sizeof(struct sock_filter);
	return ret;
}

static int sc_build(enum seccomp_class cls, bool debug, struct sc_built *b)
{
	const struct sc_list *l = &sc_lists[cls];
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	char *err = b->err;
	size_t errlen = sizeof(b->err);
	int i, ret;

	if (!ctx) {
		set_err(err, errlen, "seccomp: out of memory");
		return -ENOMEM;
	}
	ret = sc_add_common(ctx, debug, l->name, err, errlen);
	for (i = 0; !ret && i < SC_MAX_GROUPS && l->groups[i]; i++)
		ret = sc_add_group(ctx, l->groups[i], l->name, err, errlen);
	if (!ret) {
		ret = sc_export(ctx, b->prog[cls], &b->len[cls]);
		if (ret)
			set_err(err, errlen, "seccomp: cannot build the %s list: %s",
				l->name, strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}

/* The names the handler prints, resolved while malloc is still fine. */
static void sc_resolve_names(char names[SC_MAX_NR][SC_NAME_LEN])
{
	char *name;
	int nr;

	for (nr = 0; nr < SC_MAX_NR; nr++) {
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (name)
			snprintf(names[nr], SC_NAME_LEN, "%s", name);
		free(name);
	}
}

/* In the child: every list and the names into @b; its exit status is 0. */
static void __attribute__((noreturn)) sc_build_child(bool debug,
						     struct sc_built *b)
{
	int i;

	for (i = 0; !b->ret && i < SECCOMP_NR_CLASSES; i++)
		b->ret = sc_build(i, debug, b);
	if (!b->ret)
		sc_resolve_names(b->names);
	_exit(0);
}

/* The names, packed: 4 KiB where their table took 12. */
static void sc_take_names(const struct sc_built *b)
{
	size_t pos = 0, n;
	int nr;

	for (nr = 0; nr < SC_MAX_NR; nr++) {
		n = strnlen(b->names[nr], SC_NAME_LEN - 1);
		sc_name_at[nr] = 0;
		if (!n || pos + n + 1 > SC_NAME_POOL)
			continue;	/* "unknown" */
		memcpy(sc_name_pool + pos, b->names[nr], n);
		sc_name_pool[pos + n] = '\0';
		sc_name_at[nr] = pos + 1;
		pos += n + 1;
	}
}

/* The programs, out of the child's mapping into lkvm's own memory. */
static int sc_take(const struct sc_built *b)
{
	size_t size;
	int i;

	for (i = 0; i < SECCOMP_NR_CLASSES; i++) {
		size = b->len[i] * sizeof(struct sock_filter);
		sc_progs[i].filter = malloc(size);
		if (!sc_progs[i].filter)
			return -ENOMEM;
		memcpy(sc_progs[i].filter, b->prog[i], size);
		sc_progs[i].len = b->len[i];
	}
	sc_take_names(b);
	return 0;
}

/* waitpid(), again after a signal: 0 or -errno */
static int sc_wait(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * libseccomp runs in a child process: its code and syscall tables, and
 * the thousands of small allocations of its rule trees, would otherwise
 * stay resident in lkvm for the VM's whole life (about 100 KiB of
 * libseccomp's pages and 60 KiB of heap holes, measured in the rig) for
 * programs of a few KiB.
 */
static int sc_build_all(bool debug, char *err, size_t errlen)
{
	/* an inherited SIG_IGN would reap the child before waitpid() */
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	struct sc_built *b;
	int ret, status;
	pid_t pid;

	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		set_err(err, errlen, "seccomp: cannot build the lists: %s",
			strerror(errno));
		return -ENOMEM;
	}
	sigaction(SIGCHLD, &dfl, &old);
	pid = fork();
	if (!pid)
		sc_build_child(debug, b);
	ret = pid < 0 ? -errno : sc_wait(pid, &status);
	if (ret) {
		set_err(err, errlen, "seccomp: cannot build the lists: %s",
			strerror(-ret));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ret = -ECHILD;
		set_err(err, errlen, "seccomp: the process building the lists died (wait status 0x%x)",
			status);
	} else if (b->ret) {
		ret = b->ret;
		set_err(err, errlen, "%s", b->err);
	} else if ((ret = sc_take(b))) {
		set_err(err, errlen, "seccomp: out of memory");
	}
	sigaction(SIGCHLD, &old, NULL);
	munmap(b, sizeof(*b));
	return ret;
}

static void sc_free_progs(void)
{
	int i;

	for (i = 0; i < SECCOMP_NR_CLASSES; i++) {
		free(sc_progs[i].filter);
		sc_progs[i] = (struct sock_fprog) { 0 };
	}
}

/* Whether this kernel has filters with SECCOMP_RET_TRAP. */
static int sc_kernel_ok(char *err, size_t errlen)
{
	u32 action = SECCOMP_RET_TRAP;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
		return 0;
	set_err(err, errlen, "seccomp: this kernel has no seccomp filters (%s): run with --no-seccomp",
		strerror(errno));
	return -ENOSYS;
}

int seccomp_prepare(bool enable, bool debug, int exit_status,
		    void (*on_fault)(void), char *err, size_t errlen)
{
	struct sigaction sa = {
		.sa_sigaction = sc_sigsys,
		.sa_flags = SA_SIGINFO,
	};
	int ret;

	sc_free_progs();
	sc_enabled = false;
	if (!enable)
		return 0;
	ret = sc_kernel_ok(err, errlen);
	if (!ret)
		ret = sc_build_all(debug, err, errlen);
	if (ret) {
		sc_free_progs();
		return ret;
	}
	sc_exit_status = exit_status;
	sc_on_fault = on_fault;
	sc_eol = isatty(STDERR_FILENO) ? "\r\n" : "\n";
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		ret = -errno;
		set_err(err, errlen, "seccomp: SIGSYS handler: %s", strerror(errno));
		sc_free_progs();
		return ret;
	}
	sc_enabled = true;
	return 0;
}

/*
 * A thread that cannot load its filter must not go on to serve the guest
 * unfiltered; it cannot fail for want of kernel support (checked by
 * seccomp_prepare()), so this ends lkvm the way a forbidden call does.
 */
void seccomp_apply(enum seccomp_class cls)
{
	sigset_t sys;

	if (!sc_enabled)
		return;
	sc_thread_class = cls;
	/* A blocked SIGSYS would kill with no line (the vCPUs block most) */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sc_progs[cls]) < 0)
		sc_exit(-1, errno, 0);
}
