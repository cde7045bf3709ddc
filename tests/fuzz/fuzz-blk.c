// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for virtio/blk-req.c: the input is a descriptor chain
 * as a guest could build it (buffer count and lengths, then the bytes of
 * the readable buffers) and the device's limits. Each buffer is its own
 * allocation, so ASan catches any access past one. A request the parser
 * accepts is then carried out on a 64 KiB raw disk (a memfd, through
 * disk/disk.c), as virtio/blk.c would; the disk was probed raw, and no
 * request may make its first sector probe otherwise. Seeds:
 * tests/fuzz/corpus/blk/.
 *
 * Input: u8 nout, u8 nin, u8 limits, then 2 bytes per buffer (length,
 * little-endian, at most 4096), then the readable buffers' contents.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/iov.h"
#include "lkvm/virtio-blk.h"

#define MAX_BUFS	32
#define DISK_SIZE	(64 * 1024)

static struct virtq_elem e;
static u8 *bufs[MAX_BUFS];
static struct disk *disk;

static void open_disk(void)
{
	struct disk_spec spec;
	char err[256];
	int fd = memfd_create("fuzz-blk", 0);

	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0)
		abort();
	snprintf(err, sizeof(err), "/proc/self/fd/%d", fd);
	if (disk_spec_parse(err, &spec, err, sizeof(err)) < 0 ||
	    disk_open(&disk, &spec, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-blk: %s\n", err);
		abort();
	}
	close(fd);
}

/*
 * Carry the request out as virtio/blk-queue.c does. The disk was probed raw (a
 * memfd of zeros), so whatever the guest writes, discards or zeroes, its
 * first sector must still probe raw afterwards.
 */
static void execute(struct blk_req *r)
{
	u8 sec[DISK_PROBE_LEN];
	struct iovec v = { sec, sizeof(sec) };
	u32 written = 0;
	int ret = blk_req_exec(disk, r, &written);

	/* the parser checked the range: the disk must not refuse it */
	if (ret == -EINVAL)
		abort();
	if (disk_preadv(disk, &v, 1, 0) != sizeof(sec) ||
	    disk_probe(sec, sizeof(sec)) != DISK_RAW)
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int nout, nin, n, i;
	struct blk_limits lim;
	struct blk_req r;
	const u8 *p;
	u64 sum = 0;
	u8 flags;

	if (!disk)
		open_disk();
	if (size < 3)
		return 0;
	nout = data[0] % (MAX_BUFS / 2 + 1);
	nin = data[1] % (MAX_BUFS / 2 + 1);
	flags = data[2];
	n = nout + nin;
	if (size < 3 + 2 * n)
		return 0;
	p = data + 3 + 2 * n;
	size -= 3 + 2 * n;

	lim = (struct blk_limits) {
		.capacity = DISK_SIZE / DISK_SECTOR_SIZE,
		.seg_max = 1 + (flags & 15),
		.size_max = 4096,
		.blk_size = flags & 16 ? 4096 : 512,
		.ro = flags & 32,
		.flush = flags & 64,
		.discard = flags & 128,
		.write_zeroes = !(flags & 128),
		.max_discard_sectors = 64,
		.max_write_zeroes_sectors = 64,
	};
	memset(&e, 0, offsetof(struct virtq_elem, iov));
	for (i = 0; i < n; i++) {
		size_t len = (data[3 + 2 * i] | data[4 + 2 * i] << 8) % 4097;
		u8 *b = malloc(len ? len : 1);

		if (!b)
			abort();
		if (i < nout) {
			size_t k = MIN(len, size);

			memset(b, 0, len);
			memcpy(b, p, k);
			p += k;
			size -= k;
			e.out_len += len;
		} else {
			memset(b, 0xaa, len);
			e.in_len += len;
		}
		bufs[i] = b;
		e.iov[i] = (struct iovec) { b, len };
	}
	e.out_num = nout;
	e.in_num = nin;

	if (blk_req_parse(&e, &lim, &r) == VIRTIO_BLK_S_OK) {
		for (i = 0; i < r.data_num; i++) {
			const u8 *b = r.data[i].iov_base;
			size_t k;

			/* touch every byte the device would */
			for (k = 0; k < r.data[i].iov_len; k++)
				sum += b[k];
		}
		if (iov_total(r.data, r.data_num) != r.data_len || !r.status)
			abort();
		execute(&r);
	}
	if (r.status)
		*r.status = (u8)sum;
	for (i = 0; i < n; i++)
		free(bufs[i]);	/* the parser moved some iov_base */
	return 0;
}
