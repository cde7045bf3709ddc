// SPDX-License-Identifier: GPL-2.0
/*
 * The host terminal: the guest's console output goes to stdout, what the
 * user types goes to the console device that owns the terminal, and
 * Ctrl-a x quits (escape.c).
 *
 * When stdin is a terminal it is put in raw mode so that every key,
 * Ctrl-c included, reaches the guest. Output processing (OPOST) stays on,
 * as QEMU and kvmtool leave it: the guest already sends "\r\n", which
 * ONLCR turns into a harmless "\r\r\n", while anything else that writes
 * to the terminal (a libc abort message, a sanitizer report, a message
 * without "\r") still gets its lines started at column 0. The terminal
 * is restored on every way out: exit (atexit), term_exit(), the signals
 * that stop lkvm and the ones that kill it.
 *
 * A thread polls stdin and a self-pipe. SIGTERM, SIGINT and SIGHUP only
 * restore the terminal and write their number to the pipe; the thread
 * then stops the VM with kvm_request_stop(), which is not async-signal
 * safe. A second such signal kills lkvm (SA_RESETHAND), so a VM that
 * does not stop can still be got rid of.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/term.h"
#include "lkvm/watch.h"
#include "lkvm/seccomp.h"

#define TERM_BUF		4096
/* While the console device is full, offer it the rest this often. */
#define TERM_RETRY_MS		10
/*
 * A device that took nothing for this long is not reading its console
 * (hung guest, no console driver): read stdin anyway, and throw away
 * what it cannot take, so that Ctrl-a x still works.
 */
#define TERM_STALL_MS		1000
/*
 * While the VM is paused (lkvm pause) its console device takes nothing:
 * the input waits in the buffer (then in stdin), never thrown away for a
 * stall, and is offered this often until the resume.
 */
#define TERM_PAUSED_RETRY_MS	100
/* Pipe message that only wakes the thread (signal numbers are never 0). */
#define TERM_MSG_WAKE		0

/*
 * Process-wide, as the terminal and signals are (one terminal per
 * process): term_restore() runs from signal handlers and atexit, which
 * cannot be given the VM, and the stop handler writes to the pipe of the
 * VM whose terminal installed it. term_orig is what term_restore() puts
 * back.
 */
static struct termios term_orig;
static volatile sig_atomic_t term_raw;
static volatile sig_atomic_t term_signal_fd = -1;

static const int term_stop_signals[] = { SIGTERM, SIGINT, SIGHUP };
static const int term_fatal_signals[] = {
	SIGQUIT, SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE,
};

/* kvm->term: from term_init() to term_exit(). */
struct term_state {
	struct kvm *kvm;
	int pipe[2];		/* signal handlers -> terminal thread */
	pthread_t thread;
	bool thread_running;
	bool thread_stop;	/* atomic */
	bool stdin_active;

	pthread_mutex_t console_lock;
	const struct console_ops *console;

	struct sigaction old_stop[ARRAY_SIZE(term_stop_signals)];
	struct sigaction old_fatal[ARRAY_SIZE(term_fatal_signals)];
	bool fatal_installed;
};

/* Input waiting for the console device. */
struct term_input {
	u8 buf[TERM_BUF + 1];	/* + 1: see term_escape_filter() */
	size_t off, len;
	u64 progress_ms;	/* when the device last took something */
	struct term_escape esc;
};

void term_restore(void)
{
	int saved_errno = errno;

	/* tcsetattr() is async-signal-safe; TCSANOW never waits. */
	if (term_raw) {
		term_raw = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &term_orig);
	}
	errno = saved_errno;
}

void term_set_console(struct kvm *kvm, const struct console_ops *ops)
{
	struct term_state *t = kvm->term;

	/* Taken around ->input too: once this returns, the old one is idle. */
	pthread_mutex_lock(&t->console_lock);
	t->console = ops;
	pthread_mutex_unlock(&t->console_lock);
}

/* To stdout, the log and the patterns, in that order (term/watch.c). */
void term_output(struct kvm *kvm, const u8 *buf, size_t len)
{
	console_output(kvm, buf, len);
}

/* ---- signals ---- */

static void term_stop_handler(int sig)
{
	int saved_errno = errno;
	u8 msg = sig;

	term_restore();
	if (write(term_signal_fd, &msg, 1) < 0) {
		/* Pipe full: enough stop requests are queued already. */
	}
	errno = saved_errno;
}

static void term_fatal_handler(int sig)
{
	term_restore();
	/* SA_RESETHAND made the default action current: die by it. */
	raise(sig);
}

static void term_install(const int *sigs, size_t n, struct sigaction *old,
			 void (*handler)(int))
{
	struct sigaction sa = {
		.sa_handler = handler,
		.sa_flags = SA_RESETHAND,
	};
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < n; i++)
		sigaction(sigs[i], &sa, &old[i]);
}

static void term_uninstall(const int *sigs, size_t n,
			   const struct sigaction *old)
{
	size_t i;

	for (i = 0; i < n; i++)
		sigaction(sigs[i], &old[i], NULL);
}

/* ---- input ---- */

static u64 term_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool term_stalled(const struct term_input *in)
{
	return in->len && term_now_ms() - in->progress_ms >= TERM_STALL_MS;
}

/* Offer the pending input to the console device. */
static void term_deliver(struct term_state *t, struct term_input *in)
{
	size_t n = 0;

	pthread_mutex_lock(&t->console_lock);
	if (t->console)
		n = t->console->input(t->console->opaque, in->buf + in->off,
				      in->len);
	pthread_mutex_unlock(&t->console_lock);

	n = MIN(n, in->len);
	if (n || kvm_vm_paused(t->kvm))
		in->progress_ms = term_now_ms();
	in->off += n;
	in->len -= n;
	if (!in->len)
		in->off = 0;
}

static void term_read_stdin(struct term_state *t, struct term_input *in)
{
	u8 scratch[256 + 1];
	bool discard = in->len >= TERM_BUF;
	bool quit;
	size_t room;
	ssize_t n;
	u8 *dst;

	if (discard) {
		dst = scratch;
		room = sizeof(scratch) - 1;
	} else {
		memmove(in->buf, in->buf + in->off, in->len);
		in->off = 0;
		dst = in->buf + in->len;
		room = TERM_BUF - in->len;
	}

	n = read(STDIN_FILENO, dst, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF or a dead stdin (CI, </dev/null): the guest runs on. */
		pr_debug("stdin: %s: no more console input",
			 n ? strerror(errno) : "end of file");
		t->stdin_active = false;
		return;
	}

	n = term_escape_filter(&in->esc, dst, n, &quit);
	if (!discard && n) {
		if (!in->len)
			in->progress_ms = term_now_ms();
		in->len += n;
		/* What was typed before a quit still goes out first. */
		term_deliver(t, in);
	}
	if (quit)
		kvm_request_stop(t->kvm, LKVM_EXIT_OK);
}

/* How long the thread may sleep: input waits for the console device. */
static int term_retry_ms(struct term_state *t, const struct term_input *in)
{
	if (!in->len)
		return -1;
	return kvm_vm_paused(t->kvm) ? TERM_PAUSED_RETRY_MS : TERM_RETRY_MS;
}

/* Act on what the signal handlers sent. */
static void term_read_pipe(struct term_state *t)
{
	u8 msg[16];
	ssize_t n, i;

	while ((n = read(t->pipe[0], msg, sizeof(msg))) > 0) {
		for (i = 0; i < n; i++) {
			if (msg[i] != TERM_MSG_WAKE)
				kvm_request_stop(t->kvm,
						 LKVM_EXIT_SIGNAL + msg[i]);
		}
	}
}

static void *term_thread_fn(void *arg)
{
	struct term_state *t = arg;
	struct term_input *in;
	struct pollfd fds[2];
	nfds_t nfds;

	seccomp_apply(SECCOMP_TERM);
	in = calloc(1, sizeof(*in));
	if (!in) {
		pr_err("terminal: out of memory: console input disabled");
		return NULL;
	}

	while (!__atomic_load_n(&t->thread_stop, __ATOMIC_ACQUIRE)) {
		fds[0] = (struct pollfd) { .fd = t->pipe[0], .events = POLLIN };
		fds[1] = (struct pollfd) { .fd = STDIN_FILENO, .events = POLLIN };
		/* A full buffer stops reading: back-pressure to the user. */
		nfds = (t->stdin_active &&
			(in->len < TERM_BUF || term_stalled(in))) ? 2 : 1;

		if (poll(fds, nfds, term_retry_ms(t, in)) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("terminal: poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents & POLLIN)
			term_read_pipe(t);
		if (__atomic_load_n(&t->thread_stop, __ATOMIC_ACQUIRE))
			break;
		if (in->len)
			term_deliver(t, in);
		if (nfds == 2 && fds[1].revents)
			term_read_stdin(t, in);
	}
	free(in);
	return NULL;
}

/* ---- setup ---- */

static void term_set_raw(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &term_orig) < 0)
		return;

	/* cfmakeraw(), but with output processing kept (see the top). */
	raw = term_orig;
	raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
			 ICRNL | IXON);
	raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;

	/* Flag first: a signal in between restores what was never changed. */
	term_raw = 1;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		term_raw = 0;
}

/* Decide whether to read stdin and whether to make it raw. */
static void term_setup_stdin(struct term_state *t)
{
	t->stdin_active = fcntl(STDIN_FILENO, F_GETFL) >= 0;
	if (!t->stdin_active || !isatty(STDIN_FILENO))
		return;
	/*
	 * In the background, reading the terminal or changing its mode
	 * would stop us with SIGTTIN/SIGTTOU: leave it alone.
	 */
	if (tcgetpgrp(STDIN_FILENO) != getpgrp()) {
		pr_debug("terminal: not in the foreground: no console input");
		t->stdin_active = false;
		return;
	}
	term_set_raw();
}

/* Signals and the thread; unwinds what it did on failure. */
static int term_start(struct term_state *t)
{
	int ret;

	term_signal_fd = t->pipe[1];
	term_install(term_stop_signals, ARRAY_SIZE(term_stop_signals),
		     t->old_stop, term_stop_handler);
	/* Only a raw terminal needs rescuing from a crash. */
	t->fatal_installed = term_raw;
	if (t->fatal_installed)
		term_install(term_fatal_signals, ARRAY_SIZE(term_fatal_signals),
			     t->old_fatal, term_fatal_handler);

	ret = -pthread_create(&t->thread, NULL, term_thread_fn, t);
	if (ret < 0) {
		pr_err("terminal: cannot start its thread: %s", strerror(-ret));
		return ret;
	}
	pthread_setname_np(t->thread, "lkvm-term");
	t->thread_running = true;
	return 0;
}

/* Signals back as they were, the terminal restored, the state freed. */
static void term_free(struct kvm *kvm)
{
	struct term_state *t = kvm->term;

	if (t->fatal_installed)
		term_uninstall(term_fatal_signals,
			       ARRAY_SIZE(term_fatal_signals), t->old_fatal);
	term_uninstall(term_stop_signals, ARRAY_SIZE(term_stop_signals),
		       t->old_stop);
	term_signal_fd = -1;
	term_restore();
	close(t->pipe[0]);
	close(t->pipe[1]);
	pthread_mutex_destroy(&t->console_lock);
	free(t);
	kvm->term = NULL;
}

static int term_init(struct kvm *kvm)
{
	static bool atexit_done;	/* process-wide, as term_restore() */
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct term_state *t;
	int ret;

	console_write_init(STDOUT_FILENO);
	/* A closed stdout must fail writes with EPIPE, not kill us. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (pipe2(t->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		pr_err("terminal: pipe: %s", strerror(errno));
		free(t);
		return ret;
	}
	t->kvm = kvm;
	pthread_mutex_init(&t->console_lock, NULL);
	kvm->term = t;
	if (!atexit_done) {
		atexit(term_restore);
		atexit_done = true;
	}
	term_setup_stdin(t);
	ret = term_start(t);
	if (ret < 0)
		term_free(kvm);
	return ret;
}

static void term_exit(struct kvm *kvm)
{
	struct term_state *t = kvm->term;
	u8 msg = TERM_MSG_WAKE;

	if (t->thread_running) {
		__atomic_store_n(&t->thread_stop, true, __ATOMIC_RELEASE);
		/* A full pipe wakes the thread as well: join it either way. */
		if (write(t->pipe[1], &msg, 1) < 0 && errno != EAGAIN)
			pr_warn("terminal: cannot wake its thread: %s",
				strerror(errno));
		pthread_join(t->thread, NULL);
		t->thread_running = false;
	}
	term_free(kvm);
}

lkvm_init(INIT_DEV_BASE, term_init, term_exit);
