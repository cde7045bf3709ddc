// SPDX-License-Identifier: GPL-2.0
/*
 * The seccomp allow-lists (util/seccomp.c): for every list, a forked
 * child takes it, makes a call the list allows (and must go on), and one
 * it does not (and must die by the SIGSYS handler: exit status
 * LKVM_EXIT_SECCOMP and one line naming the thread and the call).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/seccomp.h"
#include "lkvm/util.h"

/* Exit statuses of a child whose allowed call failed or was missed. */
#define CHILD_CALL_FAILED	40
#define CHILD_NOT_STOPPED	41
#define CHILD_PREPARE_FAILED	42

/* Descriptors the calls use, opened before the filter. */
struct fds {
	int null, epoll, mem;
};

/* A call: true if it worked as the list allows. */
typedef bool (*call_fn)(const struct fds *f);

static bool call_openat(const struct fds *f)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);

	return fd >= 0 && !close(fd);
}

static bool call_socket(const struct fds *f)
{
	long fd = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);

	return fd >= 0 && !close(fd);
}

/* Reaches the driver: /dev/null does not know it. */
static bool call_kvm_run(const struct fds *f)
{
	return syscall(SYS_ioctl, f->null, KVM_RUN, 0) < 0 && errno == ENOTTY;
}

/* A parked vCPU reads its registers: reaches the driver too. */
static bool call_get_one_reg(const struct fds *f)
{
	return syscall(SYS_ioctl, f->null, KVM_GET_ONE_REG, NULL) < 0 &&
	       errno == ENOTTY;
}

/* --gdb: a parked vCPU takes its debug state (reaches the driver). */
static bool call_set_guest_debug(const struct fds *f)
{
	return syscall(SYS_ioctl, f->null, KVM_SET_GUEST_DEBUG, NULL) < 0 &&
	       errno == ENOTTY;
}

/* The control socket's server accepts (reaches the kernel: EBADF). */
static bool call_accept4(const struct fds *f)
{
	return syscall(SYS_accept4, -1, NULL, NULL, 0) < 0 && errno == EBADF;
}

/*
 * lkvm balloon on the control thread: the balloon's config interrupt
 * (virtio-mmio's SPI; reaches the driver).
 */
static bool call_irq_line(const struct fds *f)
{
	return syscall(SYS_ioctl, f->null, KVM_IRQ_LINE, NULL) < 0 &&
	       errno == ENOTTY;
}

static bool call_tunsetiff(const struct fds *f)
{
	return syscall(SYS_ioctl, f->null, TUNSETIFF, 0) < 0;
}

static bool call_epoll_pwait(const struct fds *f)
{
	struct epoll_event ev;

	return syscall(SYS_epoll_pwait, f->epoll, &ev, 1, 0, NULL, 8) == 0;
}

static bool call_ppoll(const struct fds *f)
{
	struct timespec zero = { 0 };

	return syscall(SYS_ppoll, NULL, 0, &zero, NULL, 8) == 0;
}

static bool call_io_uring_enter(const struct fds *f)
{
	return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) < 0 &&
	       errno == EBADF;
}

static bool call_fdatasync(const struct fds *f)
{
	return syscall(SYS_fdatasync, f->mem) == 0;
}

static bool call_mkdirat(const struct fds *f)
{
	return syscall(SYS_mkdirat, AT_FDCWD, "/", 0700) < 0 &&
	       errno == EEXIST;
}

/* The 9p server's lookups. */
static bool call_openat2(const struct fds *f)
{
	struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
	long fd = syscall(SYS_openat2, AT_FDCWD, "dev/null", &how, sizeof(how));

	return fd < 0 ? errno == EXDEV || errno == ENOENT : !close(fd);
}

static bool call_readv(const struct fds *f)
{
	char c;
	struct iovec v = { &c, 1 };

	return syscall(SYS_readv, f->null, &v, 1) == 0;
}

/* A process, not a thread: clone() without CLONE_THREAD. */
static bool call_fork(const struct fds *f)
{
	long pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	return pid > 0;
}

struct sc_case {
	enum seccomp_class cls;
	call_fn allowed;
	call_fn forbidden;
	const char *forbidden_name;
	const char *request;	/* an ioctl's, as the line gives it */
};

static const struct sc_case cases[] = {
	{ SECCOMP_MAIN,	      call_openat,	   call_socket,	   "socket" },
	{ SECCOMP_MAIN,	      call_kvm_run,	   call_fork,	   "clone" },
	{ SECCOMP_VCPU,	      call_kvm_run,	   call_openat,	   "openat" },
	{ SECCOMP_VCPU,	      call_kvm_run,	   call_tunsetiff, "ioctl",
	  " request 0x400454ca" },
	{ SECCOMP_VCPU,	      call_kvm_run,	   call_fork,	   "clone" },
	{ SECCOMP_VCPU,	      call_get_one_reg,	   call_socket,	   "socket" },
	{ SECCOMP_VCPU,	      call_set_guest_debug, call_socket,   "socket" },
	{ SECCOMP_IOEVENTFD,  call_epoll_pwait,    call_openat,	   "openat" },
	{ SECCOMP_IOEVENTFD,  call_epoll_pwait,    call_kvm_run,   "ioctl",
	  " request 0xae80" },
	{ SECCOMP_TERM,	      call_ppoll,	   call_openat,	   "openat" },
	{ SECCOMP_BLK_URING,  call_io_uring_enter, call_openat,	   "openat" },
	{ SECCOMP_BLK_WORKER, call_fdatasync,	   call_socket,	   "socket" },
	{ SECCOMP_BLK_WORKER, call_fdatasync,	   call_io_uring_enter, "io_uring_enter" },
	{ SECCOMP_9P,	      call_mkdirat,	   call_socket,	   "socket" },
	{ SECCOMP_9P,	      call_openat2,	   call_kvm_run,   "ioctl",
	  " request 0xae80" },
	{ SECCOMP_NET_USER,   call_socket,	   call_mkdirat,   "mkdirat" },
	{ SECCOMP_NET_TAP,    call_readv,	   call_openat,	   "openat" },
	{ SECCOMP_VHOST,      call_ppoll,	   call_socket,	   "socket" },
	{ SECCOMP_CONTROL,    call_accept4,	   call_socket,	   "socket" },
	{ SECCOMP_CONTROL,    call_irq_line,	   call_openat,	   "openat" },
	{ SECCOMP_CONTROL,    call_ppoll,	   call_kvm_run,   "ioctl",
	  " request 0xae80" },
	/* the gdb server: registers and debug state only on the vCPUs */
	{ SECCOMP_GDB,	      call_accept4,	   call_socket,	   "socket" },
	{ SECCOMP_GDB,	      call_ppoll,	   call_get_one_reg, "ioctl",
	  " request 0x4010aeab" },
};

static void open_fds(struct fds *f)
{
	f->null = open("/dev/null", O_RDWR | O_CLOEXEC);
	f->epoll = epoll_create1(EPOLL_CLOEXEC);
	f->mem = memfd_create("test-seccomp", MFD_CLOEXEC);
}

/*
 * In a child named @thread, with stderr on @err_fd: prepare (@enable,
 * @debug, @status), take @cls, make @allowed then @forbidden (either may
 * be NULL). Returns the child's wait status.
 */
static int run_child(const char *thread, enum seccomp_class cls, bool enable,
		     bool debug, int status, call_fn allowed,
		     call_fn forbidden, int err_fd)
{
	char err[256];
	struct fds f;
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(err_fd, STDERR_FILENO);
		prctl(PR_SET_NAME, thread, 0, 0, 0);
		open_fds(&f);
		if (seccomp_prepare(enable, debug, status, NULL, err,
				    sizeof(err)) < 0)
			_exit(CHILD_PREPARE_FAILED);
		if (cls < SECCOMP_NR_CLASSES)	/* else: the calls filter */
			seccomp_apply(cls);
		if (allowed && !allowed(&f))
			_exit(CHILD_CALL_FAILED);
		if (forbidden) {
			forbidden(&f);
			_exit(CHILD_NOT_STOPPED);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* Run a child with stderr captured into @out. */
static int run_captured(const char *thread, enum seccomp_class cls,
			bool enable, bool debug, int status, call_fn allowed,
			call_fn forbidden, char *out, size_t len)
{
	int p[2], st;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	st = run_child(thread, cls, enable, debug, status, allowed, forbidden,
		       p[1]);
	close(p[1]);
	n = read_in_full(p[0], out, len - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	return st;
}

static void expect_exit(int st, int status, const char *what, const char *out)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != status)
		fail_msg("%s: wait status 0x%x, expected exit %d; stderr: %s",
			 what, st, status, out);
}

static void test_allowed_calls(void **state)
{
	char out[512], what[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct sc_case *c = &cases[i];

		snprintf(what, sizeof(what), "case %u (%s) allowed call", i,
			 seccomp_class_name(c->cls));
		expect_exit(run_captured("test-allow", c->cls, true, false,
					 LKVM_EXIT_SECCOMP, c->allowed, NULL,
					 out, sizeof(out)), 0, what, out);
		assert_string_equal(out, "");
	}
}

static void test_forbidden_calls(void **state)
{
	char out[512], want[160], what[64];
	unsigned int i;
	int st;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct sc_case *c = &cases[i];

		snprintf(what, sizeof(what), "case %u (%s) forbidden %s", i,
			 seccomp_class_name(c->cls), c->forbidden_name);
		st = run_captured("test-thread", c->cls, true, false,
				  LKVM_EXIT_SECCOMP, c->allowed, c->forbidden,
				  out, sizeof(out));
		expect_exit(st, LKVM_EXIT_SECCOMP, what, out);
		snprintf(want, sizeof(want),
			 "lkvm: seccomp: thread test-thread (list %s) made the forbidden system call %d (%s)%s: ",
			 seccomp_class_name(c->cls),
			 seccomp_syscall_resolve_name(c->forbidden_name),
			 c->forbidden_name, c->request ? c->request : "");
		if (strncmp(out, want, strlen(want)) || !strchr(out, '\n') ||
		    strchr(out, '\n')[1])
			fail_msg("%s: stderr '%s', expected one line starting '%s'",
				 what, out, want);
	}
}

/* --no-seccomp: nothing is filtered. */
static void test_disabled(void **state)
{
	char out[256];

	expect_exit(run_captured("test-off", SECCOMP_VCPU, false, false,
				 LKVM_EXIT_SECCOMP, call_socket, call_openat,
				 out, sizeof(out)),
		    CHILD_NOT_STOPPED, "disabled", out);
	assert_string_equal(out, "");
}

/* lkvm sandbox passes its own status (125). */
static void test_exit_status(void **state)
{
	char out[256];

	expect_exit(run_captured("test-status", SECCOMP_TERM, true, false,
				 125, NULL, call_socket, out, sizeof(out)),
		    125, "status 125", out);
	assert_non_null(strstr(out, "(socket)"));
}

/* --debug: every list may read /proc for the reports. */
static void test_debug(void **state)
{
	char out[256];

	expect_exit(run_captured("test-debug", SECCOMP_VCPU, true, true,
				 LKVM_EXIT_SECCOMP, call_openat, call_socket,
				 out, sizeof(out)),
		    LKVM_EXIT_SECCOMP, "debug", out);
	assert_non_null(strstr(out, "(socket)"));
}

/* clone3() fails with ENOSYS (glibc then uses clone()), never traps. */
static bool call_clone3(const struct fds *f)
{
	return syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS;
}

static void *thread_opens(void *arg)
{
	return (void *)(uintptr_t)call_openat(NULL);
}

/* A thread of the list's own may be created, and inherits the filter. */
static bool call_pthread(const struct fds *f)
{
	pthread_t t;
	void *ret = NULL;

	return call_clone3(f) && !pthread_create(&t, NULL, thread_opens, NULL) &&
	       !pthread_join(t, &ret) && ret;
}

static void test_threads(void **state)
{
	char out[256];

	expect_exit(run_captured("test-spawn", SECCOMP_MAIN, true, false,
				 LKVM_EXIT_SECCOMP, call_pthread, NULL,
				 out, sizeof(out)), 0, "main spawns", out);
	/* the new thread runs under vcpu's list: openat stops it */
	expect_exit(run_captured("test-spawn", SECCOMP_VCPU, true, false,
				 LKVM_EXIT_SECCOMP, call_pthread, NULL,
				 out, sizeof(out)),
		    LKVM_EXIT_SECCOMP, "vcpu spawns", out);
	if (!strstr(out, "(openat)"))
		fail_msg("vcpu spawns: stderr '%s'", out);
}

/* The list a thread started under another takes, and a call it allows. */
static struct {
	enum seccomp_class cls;
	call_fn allowed;
} nested;

static void *thread_nested(void *arg)
{
	seccomp_apply(nested.cls);
	if (!nested.allowed(arg))
		_exit(CHILD_CALL_FAILED);
	call_openat(arg);
	return NULL;
}

static bool call_nested_thread(const struct fds *f)
{
	pthread_t t;

	return !pthread_create(&t, NULL, thread_nested, (void *)f) &&
	       !pthread_join(t, NULL);
}

/* Under @outer, a thread takes @inner: @allowed works, openat stops it. */
static void expect_nested(enum seccomp_class outer, enum seccomp_class inner,
			  call_fn allowed)
{
	char out[256], want[96];

	nested.cls = inner;
	nested.allowed = allowed;
	expect_exit(run_captured("test-nested", outer, true, false,
				 LKVM_EXIT_SECCOMP, call_nested_thread, NULL,
				 out, sizeof(out)),
		    LKVM_EXIT_SECCOMP, seccomp_class_name(inner), out);
	snprintf(want, sizeof(want), "(list %s) made the forbidden system call",
		 seccomp_class_name(inner));
	if (!strstr(out, want) || !strstr(out, "(openat)"))
		fail_msg("%s under %s: stderr '%s'", seccomp_class_name(inner),
			 seccomp_class_name(outer), out);
}

/* The vCPUs are started again under the main list (--reboot). */
static void test_thread_under_main(void **state)
{
	expect_nested(SECCOMP_MAIN, SECCOMP_VCPU, call_kvm_run);
}

/* A vCPU starts the ioeventfd thread (virtio-pci BARs). */
static void test_ioeventfd_under_vcpu(void **state)
{
	expect_nested(SECCOMP_VCPU, SECCOMP_IOEVENTFD, call_epoll_pwait);
}

/* The vCPUs block most signals: SIGSYS must still reach the handler. */
static bool call_block_sigsys(const struct fds *f)
{
	sigset_t set;

	sigfillset(&set);
	return !pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *thread_blocked(void *arg)
{
	seccomp_apply(SECCOMP_TERM);
	call_socket(arg);
	return NULL;
}

static bool call_blocked_thread(const struct fds *f)
{
	pthread_t t;

	return call_block_sigsys(f) &&
	       !pthread_create(&t, NULL, thread_blocked, (void *)f) &&
	       !pthread_join(t, NULL);
}

static void test_sigsys_blocked(void **state)
{
	char out[256];

	expect_exit(run_captured("test-blocked", SECCOMP_NR_CLASSES, true,
				 false, LKVM_EXIT_SECCOMP, call_blocked_thread,
				 NULL, out, sizeof(out)),
		    LKVM_EXIT_SECCOMP, "SIGSYS blocked", out);
	if (!strstr(out, "(list term) made the forbidden system call"))
		fail_msg("SIGSYS blocked: stderr '%s'", out);
}

/* Per thread: another thread of the process is not filtered (no TSYNC). */
static void *thread_vcpu(void *arg)
{
	seccomp_apply(SECCOMP_VCPU);
	return NULL;
}

static bool call_other_thread(const struct fds *f)
{
	pthread_t t;

	return !pthread_create(&t, NULL, thread_vcpu, NULL) &&
	       !pthread_join(t, NULL) && call_socket(f) && call_openat(f);
}

static void test_per_thread(void **state)
{
	char out[256];

	/* SECCOMP_NR_CLASSES: prepare, but the child's thread filters only */
	expect_exit(run_captured("test-tsync", SECCOMP_NR_CLASSES, true, false,
				 LKVM_EXIT_SECCOMP, call_other_thread, NULL,
				 out, sizeof(out)), 0, "per thread", out);
}

/*
 * seccomp_init(), interposed: which process runs libseccomp (its parent),
 * or a failure there (1: libseccomp fails, 2: the process dies).
 */
static struct sc_probe {
	pid_t ppid;
	int fail;
} *probe;

scmp_filter_ctx seccomp_init(uint32_t def_action)
{
	scmp_filter_ctx (*real)(uint32_t) = dlsym(RTLD_NEXT, "seccomp_init");

	if (probe) {
		probe->ppid = getppid();
		if (probe->fail == 1)
			return NULL;
		if (probe->fail == 2)
			_exit(9);
	}
	return real(def_action);
}

static int probe_setup(void **state)
{
	probe = mmap(NULL, sizeof(*probe), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return probe == MAP_FAILED ? -1 : 0;
}

static int probe_teardown(void **state)
{
	munmap(probe, sizeof(*probe));
	probe = NULL;
	return 0;
}

/* libseccomp runs in a child of lkvm, never in lkvm itself. */
static void test_built_in_child(void **state)
{
	char err[256];

	*probe = (struct sc_probe) { 0 };
	assert_int_equal(seccomp_prepare(true, false, LKVM_EXIT_SECCOMP, NULL,
					 err, sizeof(err)), 0);
	assert_int_equal(probe->ppid, getpid());
	/* also when lkvm inherits SIGCHLD ignored (which it keeps) */
	signal(SIGCHLD, SIG_IGN);
	*probe = (struct sc_probe) { 0 };
	assert_int_equal(seccomp_prepare(true, false, LKVM_EXIT_SECCOMP, NULL,
					 err, sizeof(err)), 0);
	assert_int_equal(probe->ppid, getpid());
	assert_ptr_equal(signal(SIGCHLD, SIG_DFL), SIG_IGN);
	assert_int_equal(seccomp_prepare(false, false, 0, NULL, err,
					 sizeof(err)), 0);
}

/* The child's error comes back as it is; a child that dies is one too. */
static void test_build_errors(void **state)
{
	char err[256];

	*probe = (struct sc_probe) { .fail = 1 };
	assert_int_equal(seccomp_prepare(true, false, LKVM_EXIT_SECCOMP, NULL,
					 err, sizeof(err)), -ENOMEM);
	assert_string_equal(err, "seccomp: out of memory");
	probe->fail = 2;
	assert_int_equal(seccomp_prepare(true, false, LKVM_EXIT_SECCOMP, NULL,
					 err, sizeof(err)), -ECHILD);
	assert_string_equal(err, "seccomp: the process building the lists died (wait status 0x900)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_calls),
		cmocka_unit_test(test_forbidden_calls),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_per_thread),
		cmocka_unit_test(test_thread_under_main),
		cmocka_unit_test(test_ioeventfd_under_vcpu),
		cmocka_unit_test(test_sigsys_blocked),
		cmocka_unit_test_setup_teardown(test_built_in_child,
						probe_setup, probe_teardown),
		cmocka_unit_test_setup_teardown(test_build_errors,
						probe_setup, probe_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
