/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UTIL_H
#define LKVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define BIT_ULL(n)		(1ULL << (n))
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((u64)(a) - 1)) == 0)
#define SZ_1K			0x400ULL
#define SZ_4K			0x1000ULL
#define SZ_16K			0x4000ULL
#define SZ_64K			0x10000ULL
#define SZ_1M			0x100000ULL
#define SZ_2M			0x200000ULL
#define SZ_1G			0x40000000ULL
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))
#define __unused		__attribute__((unused))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __noreturn		__attribute__((noreturn))

/* Little-endian integers at any alignment: file headers, wire formats. */
static inline u16 get_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static inline u64 get_le64(const u8 *p)
{
	return get_le32(p) | (u64)get_le32(p + 4) << 32;
}

static inline void put_le16(u8 *p, u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put_le32(u8 *p, u32 v)
{
	put_le16(p, (u16)v);
	put_le16(p + 2, (u16)(v >> 16));
}

static inline void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

/* Process exit statuses; documented in README.md and `lkvm help run`. */
enum lkvm_exit {
	LKVM_EXIT_OK		= 0,	/* guest powered off (PSCI SYSTEM_OFF) or Ctrl-a x */
	LKVM_EXIT_ERROR		= 1,	/* lkvm failed: bad input file, KVM error, ... */
	LKVM_EXIT_USAGE		= 2,	/* bad command line */
	LKVM_EXIT_RESET		= 3,	/* guest asked for a reset (reboot, panic=-1) */
	LKVM_EXIT_CRASH		= 4,	/* guest crashed (PSCI crash event, vCPU failure) */
	LKVM_EXIT_TIMEOUT	= 5,	/* --timeout expired */
	LKVM_EXIT_FAIL_ON	= 6,	/* a --fail-on pattern matched */
	LKVM_EXIT_EXPECT	= 7,	/* the guest stopped before all --expect */
	LKVM_EXIT_SECCOMP	= 8,	/* a seccomp filter stopped a system call */
	LKVM_EXIT_SIGNAL	= 128,	/* + signal number, as shells do */
};

extern bool lkvm_debug;

void pr_err(const char *fmt, ...) __printf(1, 2);
void pr_warn(const char *fmt, ...) __printf(1, 2);
void pr_info(const char *fmt, ...) __printf(1, 2);
void pr_debug_impl(const char *fmt, ...) __printf(1, 2);
#define pr_debug(...) do { if (lkvm_debug) pr_debug_impl(__VA_ARGS__); } while (0)
/*
 * --debug: "at N ms: WHAT", N on the monotonic clock since lkvm started;
 * one line per phase of a run (README, --debug).
 */
u64 lkvm_uptime_ms(void);
/* The monotonic clock in nanoseconds (timers, --debug's durations). */
u64 mono_ns(void);
void pr_phase_impl(const char *fmt, ...) __printf(1, 2);
#define pr_phase(...) do { if (lkvm_debug) pr_phase_impl(__VA_ARGS__); } while (0)

/* In a spin loop: a hint that lets the sibling hardware thread run. */
static inline void cpu_relax(void)
{
#if defined(__aarch64__) || defined(__arm__)
	__asm__ volatile("yield" ::: "memory");
#elif defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/*
 * Rate-limited warning: at most one message per call site every
 * 5 seconds, so a misbehaving guest cannot flood the host's log.
 */
struct ratelimit {
	time_t last;
	unsigned int suppressed;
};
bool ratelimit_ok(struct ratelimit *rl);
#define pr_warn_ratelimited(...) do {					\
	static struct ratelimit __rl;					\
	if (ratelimit_ok(&__rl))					\
		pr_warn(__VA_ARGS__);					\
} while (0)

/* Parse a size such as "512", "512M", "2G" (plain numbers in MiB). */
int parse_mem_size(const char *s, u64 *bytes);
/* @bytes as parse_mem_size() reads it: "2T", "1022G", "640K". */
void format_mem_size(u64 bytes, char *buf, size_t len);
/*
 * Read a whole file into a malloc'ed buffer (NUL-terminated, the NUL not
 * counted in @len). Returns 0 or -errno.
 */
int read_file(const char *path, void **buf, size_t *len);
/* Create folder @path, 0700 (lkvm's own state); an existing one is fine.
 * Returns 0 or -errno. */
int mkdir_private(const char *path);
/*
 * Read/write loops that restart on EINTR, short transfers and EAGAIN.
 * They return the bytes transferred (read_in_full: fewer than @count
 * only at end of file), or -1 with errno set.
 */
ssize_t read_in_full(int fd, void *buf, size_t count);
ssize_t pread_in_full(int fd, void *buf, size_t count, off_t offset);
ssize_t write_in_full(int fd, const void *buf, size_t count);

/*
 * Zeroed memory for a structure that is large but little used at a time
 * (a virtqueue element holds 1024 iovecs, 16 KiB): a mapping of its own,
 * whose pages count in lkvm's memory only once touched, where calloc()
 * zeroes, and so touches, all of it. NULL on failure; zfree_lazy() takes
 * the size given, and NULL.
 */
void *zalloc_lazy(size_t size);
void zfree_lazy(void *p, size_t size);

/*
 * Format a one-line reason into a caller's error buffer (NULL or empty
 * buffers are ignored).
 */
void set_err(char *err, size_t errlen, const char *fmt, ...) __printf(3, 4);
/*
 * A server thread's wait: a connection on @listen_fd (returned,
 * close-on-exec), -EAGAIN when none came after all (wait again), or
 * -ESHUTDOWN once @wake_fd is readable (or poll() fails): the thread ends.
 */
int accept_or_wake(int listen_fd, int wake_fd);
/*
 * The guest console's output goes to @fd (default stdout); call before
 * threads start. console_write() writes it (write_in_full()); lkvm's own
 * messages (pr_*) then start on a fresh line while the console is
 * mid-line, if stderr is the same file as @fd (a terminal, 2>&1).
 */
void console_write_init(int fd);
ssize_t console_write(const void *buf, size_t len);
/* One malloc arena for every thread; call before the first thread starts. */
void malloc_one_arena(void);
/*
 * The stack size of every thread lkvm starts without asking for one
 * (devices, terminal, control, vCPUs); thread_stack_default() sets it
 * before the first thread starts: 0 or -errno.
 */
#define THREAD_STACK_SIZE	(1U << 20)
int thread_stack_default(void);

#endif
