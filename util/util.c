// SPDX-License-Identifier: GPL-2.0
/*
 * Messages, rate limiting, size parsing and whole-file I/O helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/util.h"

bool lkvm_debug;

/* Long enough for any sane message; longer ones are truncated. */
#define MSG_MAX		1024
#define RATELIMIT_SECS	5

/*
 * Messages and the guest's console share a terminal (or a file, with
 * 2>&1): a message must not land in the middle of a console line. The
 * console's writes and ours take msg_lock; error-checking, so that a
 * message from a signal handler that interrupted one of them does not
 * deadlock (it goes out unordered instead). Whether stderr is the
 * console's file is found once, at setup: no thread asks the kernel
 * anything new to print a message.
 */
static pthread_mutex_t msg_lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static int msg_console_fd = STDOUT_FILENO;
static bool msg_shared;			/* stderr is msg_console_fd's file */
static bool msg_mid_line;		/* its last byte was not a newline */

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

void console_write_init(int fd)
{
	int locked = !pthread_mutex_lock(&msg_lock);

	msg_console_fd = fd;
	msg_shared = same_file(fd, STDERR_FILENO);
	msg_mid_line = false;
	if (locked)
		pthread_mutex_unlock(&msg_lock);
}

ssize_t console_write(const void *buf, size_t len)
{
	int locked = !pthread_mutex_lock(&msg_lock);
	ssize_t ret = write_in_full(msg_console_fd, buf, len);

	if (len)
		msg_mid_line = ((const u8 *)buf)[len - 1] != '\n';
	if (locked)
		pthread_mutex_unlock(&msg_lock);
	return ret;
}

/* Called with msg_lock: does our line need a newline first? */
static bool msg_needs_newline(void)
{
	if (!msg_mid_line || !msg_shared)
		return false;
	msg_mid_line = false;
	return true;
}

/*
 * Format the whole line first and emit it with one write(), so that
 * messages from several vCPU threads never interleave mid-line.
 */
static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	char buf[MSG_MAX];
	int saved_errno = errno;	/* callers often print, then use errno */
	const char *eol;
	size_t len, eol_len, start;
	int n, locked;

	/*
	 * While the guest runs, the terminal is in raw mode and a bare
	 * "\n" would not return the cursor; "\r\n" is harmless otherwise.
	 */
	eol = isatty(STDERR_FILENO) ? "\r\n" : "\n";
	eol_len = strlen(eol);

	locked = !pthread_mutex_lock(&msg_lock);
	start = msg_needs_newline() ? eol_len : 0;
	memcpy(buf, eol, start);
	len = strlen(prefix);
	memcpy(buf + start, prefix, len);
	len += start;
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	if (n < 0)
		n = 0;
	len += MIN((size_t)n, sizeof(buf) - len - 1);

	/* Drop the caller's own newline: we always add exactly one. */
	while (len > start && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len > sizeof(buf) - eol_len)
		len = sizeof(buf) - eol_len;
	memcpy(buf + len, eol, eol_len);
	len += eol_len;

	if (write_in_full(STDERR_FILENO, buf, len) < 0) {
		/* Nowhere left to report it. */
	}
	if (locked)
		pthread_mutex_unlock(&msg_lock);
	errno = saved_errno;
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("lkvm: ", fmt, ap);
	va_end(ap);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("lkvm: warning: ", fmt, ap);
	va_end(ap);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("lkvm: ", fmt, ap);
	va_end(ap);
}

void pr_debug_impl(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("lkvm: debug: ", fmt, ap);
	va_end(ap);
}

/*
 * --debug's phase lines: milliseconds on the monotonic clock since lkvm
 * started (the constructor runs before main()), so that one run's lines
 * say where its time went (kernel read, VM set up, first KVM_RUN...).
 */
static struct timespec lkvm_start;

static __attribute__((constructor)) void note_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &lkvm_start);
}

u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

u64 lkvm_uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)(ts.tv_sec - lkvm_start.tv_sec) * 1000 +
	       (ts.tv_nsec - lkvm_start.tv_nsec) / 1000000;
}

void pr_phase_impl(const char *fmt, ...)
{
	char prefix[48];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "lkvm: debug: at %llu ms: ",
		 (unsigned long long)lkvm_uptime_ms());
	va_start(ap, fmt);
	vmessage(prefix, fmt, ap);
	va_end(ap);
}

/* Call sites are static structs shared by every vCPU thread. */
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

bool ratelimit_ok(struct ratelimit *rl)
{
	struct timespec ts;
	unsigned int suppressed = 0;
	bool ok = false;

	/* Monotonic, so that setting the host clock cannot mute us. */
	clock_gettime(CLOCK_MONOTONIC, &ts);

	pthread_mutex_lock(&ratelimit_lock);
	if (rl->last == 0 || ts.tv_sec - rl->last >= RATELIMIT_SECS) {
		rl->last = ts.tv_sec;
		suppressed = rl->suppressed;
		rl->suppressed = 0;
		ok = true;
	} else if (rl->suppressed < UINT_MAX) {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&ratelimit_lock);

	if (suppressed)
		pr_warn("%u similar message%s suppressed", suppressed,
			suppressed == 1 ? "" : "s");
	return ok;
}

/*
 * Sizes: a plain number is MiB, as in `-m 512`; K, M, G and T (any case,
 * optionally followed by "B" or "iB") are binary multiples.
 */
static int mem_size_shift(const char *suffix, unsigned int *shift)
{
	static const char units[] = "kmgt";
	const char *u;

	if (*suffix == '\0') {
		*shift = 20;
		return 0;
	}
	u = strchr(units, tolower((unsigned char)*suffix));
	if (!u)
		return -EINVAL;
	*shift = 10 * (unsigned int)(u - units + 1);

	suffix++;
	if (*suffix == '\0' || !strcasecmp(suffix, "b") ||
	    !strcasecmp(suffix, "ib"))
		return 0;
	return -EINVAL;
}

int parse_mem_size(const char *s, u64 *bytes)
{
	unsigned long long val;
	unsigned int shift;
	char *end;

	/* strtoull would accept leading blanks, signs and wrap negatives. */
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;

	errno = 0;
	val = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (mem_size_shift(end, &shift))
		return -EINVAL;
	if (val == 0 || val > (UINT64_MAX >> shift))
		return -EINVAL;

	*bytes = (u64)val << shift;
	return 0;
}

void format_mem_size(u64 bytes, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	unsigned int i, shift;

	for (i = 0; bytes && i < sizeof(units) - 1; i++) {
		shift = 40 - 10 * i;
		if (!(bytes & ((1ULL << shift) - 1))) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(bytes >> shift), units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

/* Wait until @fd is ready, for descriptors someone made non-blocking. */
static int wait_fd(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	while (poll(&pfd, 1, -1) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Returns the number of bytes read (less than @count only at end of
 * file), or -1 with errno set.
 */
ssize_t read_in_full(int fd, void *buf, size_t count)
{
	size_t done = 0;

	while (done < count) {
		ssize_t n = read(fd, (char *)buf + done, count - done);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* stdin may share a non-blocking tty with the console. */
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !wait_fd(fd, POLLIN))
				continue;
			return -1;
		}
		done += n;
	}
	return done;
}

/*
 * pread() until @count bytes or end of file: the number read, or -1 with
 * errno set. errno is 0 after a short read at end of file.
 */
ssize_t pread_in_full(int fd, void *buf, size_t count, off_t offset)
{
	size_t done = 0;

	errno = 0;
	while (done < count) {
		ssize_t n = pread(fd, (char *)buf + done, count - done,
				  offset + done);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += n;
	}
	return done;
}

/* Returns @count, or -1 with errno set. */
ssize_t write_in_full(int fd, const void *buf, size_t count)
{
	size_t done = 0;

	while (done < count) {
		ssize_t n = write(fd, (const char *)buf + done, count - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* stderr shares O_NONBLOCK with a raw-mode stdin tty. */
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !wait_fd(fd, POLLOUT))
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		done += n;
	}
	return done;
}

#ifndef __has_feature
#define __has_feature(x) 0	/* GCC: __SANITIZE_ADDRESS__ says it */
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
/* ASan's redzones and use-after-free checks need its own allocator */
void *zalloc_lazy(size_t size)
{
	return calloc(1, size);
}

void zfree_lazy(void *p, size_t size)
{
	free(p);
}
#else
void *zalloc_lazy(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void zfree_lazy(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
#endif

/*
 * Read everything from @fd, starting with a buffer of @hint bytes and
 * growing it for files whose size fstat() does not know (pipes, /proc).
 * The buffer is NUL-terminated for the convenience of text parsers.
 */
static int read_fd_all(int fd, size_t hint, void **buf, size_t *len)
{
	size_t cap = hint ? hint : 64 * 1024;
	size_t used = 0;
	char *data = NULL;

	for (;;) {
		ssize_t n;

		if (!data || used == cap) {
			char *p;

			if (data) {
				if (cap > (SIZE_MAX - 1) / 2)
					goto err_fbig;
				cap *= 2;
			}
			p = realloc(data, cap + 1);
			if (!p)
				goto err_nomem;
			data = p;
		}
		n = read_in_full(fd, data + used, cap - used);
		if (n < 0)
			goto err_errno;
		used += n;
		if (used < cap)
			break;	/* short read means end of file */
	}

	data[used] = '\0';
	*buf = data;
	*len = used;
	return 0;

err_fbig:
	free(data);
	return -EFBIG;
err_nomem:
	free(data);
	return -ENOMEM;
err_errno:
	free(data);
	return -errno;
}

int mkdir_private(const char *path)
{
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

int read_file(const char *path, void **buf, size_t *len)
{
	struct stat st;
	size_t hint = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size >= SIZE_MAX / 2) {
			ret = -EFBIG;
			goto out;
		}
		/* One byte extra, so that reaching EOF needs no regrowth. */
		hint = st.st_size + 1;
	}
	ret = read_fd_all(fd, hint, buf, len);
out:
	close(fd);
	return ret;
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int accept_or_wake(int listen_fd, int wake_fd)
{
	struct pollfd p[2] = {
		{ .fd = listen_fd, .events = POLLIN },
		{ .fd = wake_fd, .events = POLLIN },
	};
	int fd;

	if (poll(p, 2, -1) < 0)
		return errno == EINTR ? -EAGAIN : -ESHUTDOWN;
	if (p[1].revents)
		return -ESHUTDOWN;
	if (!(p[0].revents & POLLIN))
		return -EAGAIN;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -EAGAIN : fd;
}

/*
 * glibc gives each thread that calls malloc an arena of its own (up to 8
 * per CPU), and at least a page of it (arena header, tcache, what the
 * thread freed) stays resident for the VM's life, though most of lkvm's
 * threads (vCPUs, devices, terminal) allocate only while they start. One
 * arena for all: once the guest runs, lkvm's threads allocate little (9p's
 * names and fids), in small sizes that each thread's tcache serves without
 * the arena's lock.
 */
void malloc_one_arena(void)
{
	mallopt(M_ARENA_MAX, 1);
}

/*
 * glibc's default thread stack is RLIMIT_STACK, 8 MiB on most systems:
 * resident only where touched, but a host with transparent huge pages
 * `always` backs an aligned 2 MiB of it with one huge page, so a thread
 * that uses a few KiB of stack costs 2 MiB of RSS. THREAD_STACK_SIZE
 * holds no aligned 2 MiB, and is ~10x what lkvm's deepest thread path
 * needs (gcc -fstack-usage: 9p walks and gdb replies, <= 10 KiB a frame).
 */
int thread_stack_default(void)
{
	pthread_attr_t attr;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (!ret)
		ret = pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
	return -ret;
}
