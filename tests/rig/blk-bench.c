// SPDX-License-Identifier: GPL-2.0
/*
 * Block throughput probe for `make bench` (static, runs in the guest on
 * /dev/vda and on the emulated host on the image file itself):
 *
 *   blk-bench PATH MIB [DEPTH [FLAGS]]
 *
 * Sequential write (phase w) then read (r) of MIB MiB in 1 MiB requests,
 * each repeated from the start until it has run a second (one pass of
 * 64 MiB took 40-80 ms in the rig: a figure of the first requests),
 * then 4 KiB reads at random offsets for about 3 seconds (x), DEPTH
 * requests in flight (io_uring; default 1). FLAGS: the phases (default
 * wrx), h for buffers in 2 MiB transparent huge pages (a request's
 * pages are then contiguous: one segment instead of 256), v for one
 * iovec per 4 KiB page (as a VMM gets a guest's request), b for
 * buffered I/O. O_DIRECT otherwise, where the file allows it (so the
 * guest's page cache is not measured), fdatasync after the writes.
 * Buffered, the file's page cache is kept for the reads: b is the
 * ceiling of a VMM that serves a buffered image (lkvm's -d FILE without
 * ,direct), which copies between guest memory and the host's page
 * cache. Phases left out print 0.
 * Prints one line (randirqs: virtio interrupts per random read, as the
 * guest counts them in /proc/interrupts; on the host, not its disk's;
 * wcpu, rcpu, xcpu: the CPU time, all CPUs, that the machine running
 * blk-bench spent busy (not idle, not waiting for I/O) per request of
 * each phase, in microseconds, from /proc/stat; and wbusy, rbusy,
 * xbusy: the same time as a share of the phase's wall time times the
 * CPUs: whether the machine's CPUs bound the phase):
 *   BLK-BENCH seqwrite=N MiB/s seqread=N MiB/s randread4k=N IOPS depth=N direct=0|1 randirqs=N wcpu=N rcpu=N xcpu=N wbusy=N rbusy=N xbusy=N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct io_uring ring;
static int fd, depth = 1;
static char *bufs[MAX_DEPTH];
static bool pages;		/* flag v: one iovec per 4 KiB page */
static struct iovec iovs[MAX_DEPTH][256];

static void die(const char *what, int err)
{
	fprintf(stderr, "blk-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Queue request number i of size len at off into slot; 1 read, 0 write. */
static void queue(int slot, int is_read, size_t len, off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe)
		die("io_uring_get_sqe", EBUSY);
	if (pages && len > 4096) {
		unsigned int i, n = len / 4096;

		for (i = 0; i < n; i++)
			iovs[slot][i] = (struct iovec) { bufs[slot] + i * 4096, 4096 };
		if (is_read)
			io_uring_prep_readv(sqe, fd, iovs[slot], n, off);
		else
			io_uring_prep_writev(sqe, fd, iovs[slot], n, off);
	} else if (is_read)
		io_uring_prep_read(sqe, fd, bufs[slot], len, off);
	else
		io_uring_prep_write(sqe, fd, bufs[slot], len, off);
	io_uring_sqe_set_data(sqe, (void *)(long)slot);
}

/* Wait for one completion of len bytes; returns its slot. */
static int reap(size_t len)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(&ring, &cqe), slot;

	if (ret < 0)
		die("io_uring_wait_cqe", -ret);
	if (cqe->res != (int)len)
		die("I/O", cqe->res < 0 ? -cqe->res : EIO);
	slot = (int)(long)io_uring_cqe_get_data(cqe);
	io_uring_cqe_seen(&ring, cqe);
	return slot;
}

/* n sequential requests of len bytes from offset 0 */
static void sequential_pass(int is_read, size_t len, long n)
{
	long next = 0, done = 0;
	int slot;

	for (slot = 0; slot < depth && next < n; slot++, next++)
		queue(slot, is_read, len, next * len);
	io_uring_submit(&ring);
	while (done < n) {
		slot = reap(len);
		done++;
		if (next < n) {
			queue(slot, is_read, len, next++ * len);
			io_uring_submit(&ring);
		}
	}
}

/* Passes of sequential_pass() for at least secs; returns how many */
static long sequential(int is_read, size_t len, long n, double secs)
{
	double t0 = now();
	long passes = 0;

	do {
		sequential_pass(is_read, len, n);
		passes++;
	} while (now() - t0 < secs);
	return passes;
}

/* 4 KiB reads at random offsets below span for secs; returns the count */
static long random_reads(off_t span, double secs)
{
	const size_t small = 4096;
	double t0 = now();
	long n = 0, inflight = 0;
	int slot;

	srand(1);
	for (slot = 0; slot < depth; slot++, inflight++)
		queue(slot, 1, small, (off_t)(rand() % (span / small)) * small);
	io_uring_submit(&ring);
	while (inflight) {
		slot = reap(small);
		inflight--;
		n++;
		if ((n & 63) || now() - t0 < secs) {
			queue(slot, 1, small,
			      (off_t)(rand() % (span / small)) * small);
			io_uring_submit(&ring);
			inflight++;
		}
	}
	return n;
}

/*
 * Interrupts of the virtio devices so far, summed over CPUs from
 * /proc/interrupts: in the guest, its disk's (whichever VMM serves it)
 */
static long virtio_irqs(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[1024], *p, *end;
	long sum = 0, v;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = strchr(line, ':');
		if (!p || !strstr(line, "virtio"))
			continue;
		for (p++;; p = end) {
			v = strtol(p, &end, 10);
			if (end == p)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

/*
 * CPU time so far from /proc/stat's first line, in clock ticks: busy
 * (all but idle and iowait) into *busy, everything into *all
 */
static void cpu_ticks(double *busy, double *all)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*busy = *all = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		for (i = 0; i < 8; i++) {
			*all += v[i];
			if (i != 3 && i != 4)	/* idle, iowait */
				*busy += v[i];
		}
	fclose(f);
}

/* One phase's CPU figures: busy per request (us) and busy share */
struct phase_cpu {
	double busy0, all0;
	double per_req, share;
};

static void phase_start(struct phase_cpu *p)
{
	cpu_ticks(&p->busy0, &p->all0);
}

static void phase_end(struct phase_cpu *p, long requests)
{
	double busy, all;

	cpu_ticks(&busy, &all);
	busy -= p->busy0;
	all -= p->all0;
	if (requests > 0)
		p->per_req = busy / sysconf(_SC_CLK_TCK) * 1e6 / requests;
	if (all > 0)
		p->share = busy / all;
}

int main(int argc, char **argv)
{
	const size_t big = 1 << 20;
	double t0, wr = 0, rd = 0, rr = 0;
	struct phase_cpu wc = { 0 }, rc = { 0 }, xc = { 0 };
	long irqs = 0;
	const char *phases = argc > 4 ? argv[4] : "wrx";
	char *pool = NULL;
	int direct = 1, i, ret;
	bool buffered;
	long mib, n = 0, wpasses = 0, rpasses = 0;

	if (argc < 3 || argc > 5 || (mib = atol(argv[2])) <= 0 ||
	    (argc >= 4 && ((depth = atoi(argv[3])) < 1 || depth > MAX_DEPTH))) {
		fprintf(stderr, "usage: blk-bench PATH MIB [DEPTH 1-%d [FLAGS wrxhvb]]\n",
			MAX_DEPTH);
		return 2;
	}
	buffered = strchr(phases, 'b');
	fd = buffered ? -1 : open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 && (buffered || errno == EINVAL)) {
		direct = 0;
		fd = open(argv[1], O_RDWR);
	}
	if (fd < 0)
		die(argv[1], errno);
	pages = strchr(phases, 'v');
	if (strchr(phases, 'h')) {
		if (posix_memalign((void **)&pool, 2 << 20, depth * big))
			die("memory", ENOMEM);
		madvise(pool, depth * big, MADV_HUGEPAGE);
	}
	for (i = 0; i < depth; i++) {
		if (pool)
			bufs[i] = pool + i * big;
		else if (posix_memalign((void **)&bufs[i], 4096, big))
			die("memory", ENOMEM);
		memset(bufs[i], 0x5a, big);
	}
	ret = io_uring_queue_init(MAX_DEPTH, &ring, 0);
	if (ret < 0)
		die("io_uring", -ret);

	if (strchr(phases, 'w')) {
		phase_start(&wc);
		t0 = now();
		wpasses = sequential(0, big, mib, 1.0);
		fdatasync(fd);
		wr = now() - t0;
		phase_end(&wc, wpasses * mib);
	}
	if (!direct && !buffered)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (strchr(phases, 'r')) {
		phase_start(&rc);
		t0 = now();
		rpasses = sequential(1, big, mib, 1.0);
		rd = now() - t0;
		phase_end(&rc, rpasses * mib);
	}
	if (strchr(phases, 'x')) {
		phase_start(&xc);
		t0 = now();
		irqs = virtio_irqs();
		n = random_reads(mib * big, 3.0);
		irqs = virtio_irqs() - irqs;
		rr = now() - t0;
		phase_end(&xc, n);
	}

	printf("BLK-BENCH seqwrite=%.1f MiB/s seqread=%.1f MiB/s randread4k=%.0f IOPS depth=%d direct=%d randirqs=%.3f wcpu=%.0f rcpu=%.0f xcpu=%.1f wbusy=%.2f rbusy=%.2f xbusy=%.2f\n",
	       wr ? wpasses * mib / wr : 0, rd ? rpasses * mib / rd : 0,
	       rr ? n / rr : 0, depth, direct, n ? (double)irqs / n : 0,
	       wc.per_req, rc.per_req, xc.per_req, wc.share, rc.share,
	       xc.share);
	return 0;
}
