// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for disk/qcow2.c: the input is an image file. It is
 * put in a memfd and opened read-write (backing files refused: the
 * fuzzer must not name host files); if that works we read a few ranges,
 * write, zero and discard a little and read again, as a guest would.
 * ASan/UBSan catch any out-of-bounds parsing; a hang shows up as a
 * libFuzzer timeout. Seeds: tests/fuzz/corpus/qcow2/, small images made
 * by tests/fuzz/gen-qcow2-corpus.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/qcow2.h"

#define IO_MAX	(128 * 1024)

static u8 buf[IO_MAX];

static void rw(struct qcow2 *q, u64 off, size_t len, bool write)
{
	struct iovec iov[2];
	u64 size = qcow2_size(q);

	if (off >= size)
		return;
	len = MIN(len, size - off);
	iov[0] = (struct iovec) { buf, len / 3 };
	iov[1] = (struct iovec) { buf + len / 3, len - len / 3 };
	if (write) {
		memset(buf, 0x5a, len);
		qcow2_pwritev(q, iov, 2, off);
	} else {
		qcow2_preadv(q, iov, 2, off);
	}
}

static void exercise(struct qcow2 *q)
{
	u64 size = qcow2_size(q);

	rw(q, 0, IO_MAX, false);
	rw(q, size / 2 + 1234, 70000, false);
	rw(q, size - MIN(size, 4096), 4096, false);
	rw(q, 512, 3000, true);
	rw(q, size / 3, 70000, true);
	qcow2_write_zeroes(q, size / 2 & ~4095ULL, MIN(size - (size / 2 & ~4095ULL), 100000));
	qcow2_discard(q, 0, MIN(size, 1 << 20));
	rw(q, 0, IO_MAX, false);
	rw(q, size / 3, 70000, false);
	qcow2_flush(q);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct qcow2 *q;
	char err[256];
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	if (qcow2_open(&q, "fuzz.qcow2", fd, QCOW2_NO_BACKING, err, sizeof(err))) {
		close(fd);
		return 0;
	}
	exercise(q);
	qcow2_close(q);		/* closes fd */
	return 0;
}
