// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for virtio-balloon's queue parsing
 * (virtio/balloon-pages.c): inflate and deflate requests, free page
 * reports and stats buffers as the guest lays them out, cut into iovecs
 * where the input says, on a host whose unit (page or huge page) the
 * input picks. After every call the model must hold: the inflated count
 * is the bitmap's, a refused request changed nothing, and every range
 * given back is whole units inside RAM, of pages wholly inflated
 * (requests) or inside one reported buffer (reports).
 *
 * Input: mode (1 byte: op in bits 0-1, unit in bits 2-3), nsplit
 * (1 byte, up to 16), nsplit 2-byte cut lengths, then the buffer. A
 * report's buffer is pairs of le32 (offset, length) into RAM.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/balloon.h"
#include "lkvm/iov.h"

#define MAX_IOV		17
#define RAM_SIZE	(8 * SZ_1M)	/* at guest-physical 0: PFNs < 2048 */
#define FAKE_HOST	((u8 *)0x100000000000ULL)	/* never touched */

static const u64 units[] = { SZ_4K, SZ_16K, SZ_64K, SZ_2M };

struct fuzz_state {
	struct balloon_pages bp;
	const struct iovec *report;	/* the buffers being reported */
	unsigned int nreport;
	bool request;
};

static struct fuzz_state fs;

static u64 popcount_map(const struct balloon_pages *bp)
{
	u64 i, n = 0, words = (bp->nr_pages + 63) / 64;

	for (i = 0; i < words; i++)
		n += __builtin_popcountl(bp->inflated[i]);
	return n;
}

static bool inside_a_report(u64 off, u64 len)
{
	unsigned int i;

	for (i = 0; i < fs.nreport; i++) {
		u64 b = (u8 *)fs.report[i].iov_base - FAKE_HOST;

		if (off >= b && off + len <= b + fs.report[i].iov_len)
			return true;
	}
	return false;
}

static int check_discard(void *ctx, u64 off, u64 len)
{
	struct balloon_pages *bp = &fs.bp;
	u64 p;

	if (!len || off % bp->unit || len % bp->unit || off > RAM_SIZE ||
	    len > RAM_SIZE - off)
		abort();
	if (!fs.request)
		return 0;
	for (p = off >> 12; p < (off + len) >> 12; p++)
		if (!(bp->inflated[p / 64] >> (p % 64) & 1))
			abort();
	return 0;
}

/* A report may merge neighbouring buffers: check each unit. */
static int check_report_discard(void *ctx, u64 off, u64 len)
{
	u64 u;

	check_discard(ctx, off, len);
	for (u = off; u < off + len; u += fs.bp.unit)
		if (!inside_a_report(u, fs.bp.unit))
			abort();
	return 0;
}

static void run_request(enum balloon_op op, const struct iovec *iov,
			unsigned int n)
{
	struct balloon_counters before = fs.bp.c;

	fs.request = true;
	if (balloon_pages_request(&fs.bp, op, iov, n) < 0 &&
	    (fs.bp.c.inflated != before.inflated ||
	     fs.bp.c.bytes_released != before.bytes_released ||
	     fs.bp.c.bad_requests != before.bad_requests + 1))
		abort();
	if (popcount_map(&fs.bp) != fs.bp.c.inflated)
		abort();
}

static void run_report(const u8 *buf, size_t len)
{
	struct iovec rep[MAX_IOV];
	unsigned int n = 0;
	u32 off, l;

	for (; len >= 8 && n < MAX_IOV; buf += 8, len -= 8) {
		memcpy(&off, buf, 4);
		memcpy(&l, buf + 4, 4);
		off = le32toh(off) % RAM_SIZE;
		l = le32toh(l) % (RAM_SIZE - off + 1);
		rep[n++] = (struct iovec) { FAKE_HOST + off, l };
	}
	fs.report = rep;
	fs.nreport = n;
	fs.bp.discard = check_report_discard;
	fs.request = false;
	balloon_pages_report(&fs.bp, rep, n);
	fs.bp.discard = check_discard;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const struct guest_mem mem = {
		.host = FAKE_HOST, .gpa_start = 0, .size = RAM_SIZE,
	};
	struct iovec iov[MAX_IOV];
	unsigned int nsplit, n = 0, i, op;
	size_t off, len;

	if (size < 2 || size > 65536)
		return 0;
	op = data[0] & 3;
	if (balloon_pages_init(&fs.bp, &mem, units[(data[0] >> 2) & 3],
			       check_discard, NULL) < 0)
		abort();
	nsplit = data[1] % 17;
	off = 2 + 2 * nsplit;
	if (off > size)
		goto out;
	for (i = 0; i < nsplit && n < MAX_IOV - 1; i++) {
		len = (data[2 + 2 * i] | data[3 + 2 * i] << 8) % (size - off + 1);
		iov[n++] = (struct iovec) { (void *)(data + off), len };
		off += len;
	}
	iov[n++] = (struct iovec) { (void *)(data + off), size - off };
	switch (op) {
	case 0:
	case 1:	/* the request, then its opposite, then it again */
		run_request(op, iov, n);
		run_request(!op, iov, n);
		run_request(op, iov, n);
		break;
	case 2:
		run_report(data + 2 + 2 * nsplit, size - 2 - 2 * nsplit);
		break;
	default:
		if (balloon_stats_parse(&fs.bp.gs, iov, n) == 0 &&
		    (fs.bp.gs.valid >> BALLOON_MAX_TAGS))
			abort();
		if (!!(iov_total(iov, n) % BALLOON_STAT_SIZE) !=
		    !fs.bp.gs.updates)
			abort();
	}
out:
	balloon_pages_exit(&fs.bp);
	return 0;
}
