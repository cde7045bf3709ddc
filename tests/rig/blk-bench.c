// SPDX-License-Identifier: GPL-2.0
/*
 * Block throughput probe for `make bench` (static, runs in the guest on
 * /dev/vda and on the emulated host on the image file itself):
 *
 *   blk-bench PATH MIB
 *
 * Sequential write then read of MIB MiB in 1 MiB requests, then 4 KiB
 * reads at random offsets for about 3 seconds; O_DIRECT where the file
 * allows it (so the guest's page cache is not measured), fdatasync after
 * the writes. Prints one line:
 *   BLK-BENCH seqwrite=N MiB/s seqread=N MiB/s randread4k=N IOPS direct=0|1
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const size_t big = 1 << 20, small = 4096;
	double t0, wr, rd, rr;
	long mib, i, n = 0;
	int fd, direct = 1;
	char *buf;

	if (argc != 3 || (mib = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: blk-bench PATH MIB\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		direct = 0;
		fd = open(argv[1], O_RDWR);
	}
	if (fd < 0 || posix_memalign((void **)&buf, 4096, big)) {
		perror(argv[1]);
		return 1;
	}
	memset(buf, 0x5a, big);

	t0 = now();
	for (i = 0; i < mib; i++)
		if (pwrite(fd, buf, big, i * big) != (ssize_t)big) {
			perror("write");
			return 1;
		}
	fdatasync(fd);
	wr = now() - t0;

	if (!direct)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	t0 = now();
	for (i = 0; i < mib; i++)
		if (pread(fd, buf, big, i * big) != (ssize_t)big) {
			perror("read");
			return 1;
		}
	rd = now() - t0;

	srand(1);
	t0 = now();
	do {
		for (i = 0; i < 64; i++, n++) {
			off_t off = (off_t)(rand() % (mib * (big / small))) * small;

			if (pread(fd, buf, small, off) != (ssize_t)small) {
				perror("random read");
				return 1;
			}
		}
		rr = now() - t0;
	} while (rr < 3.0);

	printf("BLK-BENCH seqwrite=%.1f MiB/s seqread=%.1f MiB/s randread4k=%.0f IOPS direct=%d\n",
	       mib / wr, mib / rd, n / rr, direct);
	return 0;
}
