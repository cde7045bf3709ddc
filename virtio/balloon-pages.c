// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon's model (see lkvm/balloon.h): no KVM, no threads.
 *
 * The guest names pages in 4 KiB units (VIRTIO_BALLOON_PFN_SHIFT) whatever
 * its page size or the host's: a 64 KiB guest page is 16 PFNs, and on a
 * 64 KiB host sixteen 4 KiB PFNs from a 4 KiB guest share one host page.
 * So the model keeps a bit per 4 KiB page of RAM and gives a host unit
 * back only once every 4 KiB page in it is in the balloon: giving back
 * a unit the guest still partly uses would zero its data. Contiguous
 * units of one request are given back in one call.
 *
 * Everything the guest sends is checked first: a request that is not
 * whole PFNs, or names one page outside RAM, is refused whole.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/balloon.h"
#include "lkvm/iov.h"

#define LONG_BITS	(sizeof(unsigned long) * CHAR_BIT)
#define PFN_BATCH	256	/* PFNs read from the buffers at once */
#define BITMAP_WORDS(bits)	(((bits) + LONG_BITS - 1) / LONG_BITS)

static bool bit_test(const unsigned long *map, u64 i)
{
	return map[i / LONG_BITS] & (1UL << (i % LONG_BITS));
}

static void bit_set(unsigned long *map, u64 i)
{
	map[i / LONG_BITS] |= 1UL << (i % LONG_BITS);
}

static void bit_clear(unsigned long *map, u64 i)
{
	map[i / LONG_BITS] &= ~(1UL << (i % LONG_BITS));
}

/* Are bits [start, start + n) all set? @start is aligned to @n. */
static bool bits_all_set(const unsigned long *map, u64 start, u64 n)
{
	u64 i;

	if (n >= LONG_BITS) {
		for (i = start / LONG_BITS; i < (start + n) / LONG_BITS; i++)
			if (map[i] != ~0UL)
				return false;
		return true;
	}
	for (i = start; i < start + n; i++)
		if (!bit_test(map, i))
			return false;
	return true;
}

int balloon_pages_init(struct balloon_pages *bp, const struct guest_mem *mem,
		       u64 unit, balloon_discard_fn *discard, void *ctx)
{
	u64 words;

	if (unit < BALLOON_PAGE_SIZE || (unit & (unit - 1)) ||
	    mem->size % unit || mem->gpa_start % BALLOON_PAGE_SIZE)
		return -EINVAL;
	*bp = (struct balloon_pages) {
		.mem = mem, .unit = unit, .discard = discard, .ctx = ctx,
		.nr_pages = mem->size >> BALLOON_PFN_SHIFT,
	};
	words = BITMAP_WORDS(bp->nr_pages);
	bp->inflated = calloc(words, sizeof(unsigned long));
	return bp->inflated ? 0 : -ENOMEM;
}

void balloon_pages_exit(struct balloon_pages *bp)
{
	free(bp->inflated);
	bp->inflated = NULL;
}

void balloon_pages_reset(struct balloon_pages *bp)
{
	memset(bp->inflated, 0,
	       BITMAP_WORDS(bp->nr_pages) * sizeof(unsigned long));
	bp->c.inflated = 0;
}

/* Guest PFN -> index of its 4 KiB page in RAM, or -1 outside RAM. */
static s64 pfn_index(const struct balloon_pages *bp, u32 pfn)
{
	u64 gpa = (u64)pfn << BALLOON_PFN_SHIFT;

	if (!guest_range_ok(bp->mem, gpa, BALLOON_PAGE_SIZE))
		return -1;
	return (gpa - bp->mem->gpa_start) >> BALLOON_PFN_SHIFT;
}

/* Host ranges waiting to be given back, merged while contiguous. */
struct discard_run {
	u64 off, len;
};

static void run_flush(struct balloon_pages *bp, struct discard_run *r)
{
	if (!r->len)
		return;
	if (bp->discard(bp->ctx, r->off, r->len) < 0)
		bp->c.discard_errors++;
	else
		bp->c.bytes_released += r->len;
	r->len = 0;
}

static void run_add(struct balloon_pages *bp, struct discard_run *r, u64 off,
		    u64 len)
{
	if (r->len && r->off + r->len == off) {
		r->len += len;
		return;
	}
	run_flush(bp, r);
	*r = (struct discard_run) { .off = off, .len = len };
}

/* Every PFN of the request inside RAM, and whole PFNs? */
static bool request_ok(struct balloon_pages *bp, const struct iovec *iov,
		       unsigned int n, size_t *count)
{
	size_t len = iov_total(iov, n), off, i, got;
	u32 pfns[PFN_BATCH];

	if (len % sizeof(u32))
		return false;
	*count = len / sizeof(u32);
	for (off = 0; off < len; off += got) {
		got = iov_to_buf(iov, n, off, pfns, MIN(sizeof(pfns), len - off));
		if (!got)
			return false;
		for (i = 0; i < got / sizeof(u32); i++)
			if (pfn_index(bp, le32toh(pfns[i])) < 0)
				return false;
	}
	return true;
}

static void inflate_one(struct balloon_pages *bp, struct discard_run *r,
			u64 idx)
{
	u64 per_unit = bp->unit >> BALLOON_PFN_SHIFT;
	u64 first = idx & ~(per_unit - 1);

	if (bit_test(bp->inflated, idx))
		return;
	bit_set(bp->inflated, idx);
	bp->c.inflated++;
	bp->c.pages_inflated++;
	if (bits_all_set(bp->inflated, first, per_unit))
		run_add(bp, r, first << BALLOON_PFN_SHIFT, bp->unit);
}

static void deflate_one(struct balloon_pages *bp, u64 idx)
{
	if (!bit_test(bp->inflated, idx))
		return;
	bit_clear(bp->inflated, idx);
	bp->c.inflated--;
	bp->c.pages_deflated++;
}

int balloon_pages_request(struct balloon_pages *bp, enum balloon_op op,
			  const struct iovec *iov, unsigned int n)
{
	struct discard_run run = { 0 };
	u32 pfns[PFN_BATCH];
	size_t count, done, i, got;

	if (!request_ok(bp, iov, n, &count)) {
		bp->c.bad_requests++;
		return -EINVAL;
	}
	for (done = 0; done < count; done += got) {
		got = iov_to_buf(iov, n, done * sizeof(u32), pfns,
				 MIN(PFN_BATCH, count - done) * sizeof(u32)) /
		      sizeof(u32);
		if (!got)
			break;
		for (i = 0; i < got; i++) {
			u64 idx = pfn_index(bp, le32toh(pfns[i]));

			if (op == BALLOON_INFLATE)
				inflate_one(bp, &run, idx);
			else
				deflate_one(bp, idx);
		}
	}
	run_flush(bp, &run);
	return 0;
}

/* The whole units inside one reported buffer. */
static void report_one(struct balloon_pages *bp, struct discard_run *r,
		       const struct iovec *v)
{
	u8 *base = v->iov_base;
	u64 start, end;

	if (base < bp->mem->host || v->iov_len > bp->mem->size ||
	    (u64)(base - bp->mem->host) > bp->mem->size - v->iov_len)
		return;		/* not guest RAM: virtq_pop() never gives that */
	start = ALIGN_UP((u64)(base - bp->mem->host), bp->unit);
	end = ALIGN_DOWN((u64)(base - bp->mem->host) + v->iov_len, bp->unit);
	bp->c.bytes_reported += v->iov_len;
	if (end > start)
		run_add(bp, r, start, end - start);
}

u64 balloon_pages_report(struct balloon_pages *bp, const struct iovec *iov,
			 unsigned int n)
{
	struct discard_run run = { 0 };
	u64 before = bp->c.bytes_released;
	unsigned int i;

	for (i = 0; i < n; i++)
		report_one(bp, &run, &iov[i]);
	run_flush(bp, &run);
	return bp->c.bytes_released - before;
}

int balloon_stats_parse(struct balloon_guest_stats *gs,
			const struct iovec *iov, unsigned int n)
{
	size_t len = iov_total(iov, n), off;
	u8 e[BALLOON_STAT_SIZE];
	u16 tag;
	u64 val;

	if (len % BALLOON_STAT_SIZE)
		return -EINVAL;
	for (off = 0; off < len; off += BALLOON_STAT_SIZE) {
		iov_to_buf(iov, n, off, e, sizeof(e));
		memcpy(&tag, e, sizeof(tag));
		memcpy(&val, e + 2, sizeof(val));
		tag = le16toh(tag);
		if (tag >= BALLOON_MAX_TAGS)
			continue;
		gs->value[tag] = le64toh(val);
		gs->valid |= 1U << tag;
	}
	gs->updates++;
	return 0;
}

const char *balloon_stat_name(unsigned int tag)
{
	/* Linux's names (VIRTIO_BALLOON_S_NAMES, 6.12: 16 tags) */
	static const char *const names[BALLOON_MAX_TAGS] = {
		"swap-in", "swap-out", "major-faults", "minor-faults",
		"free-memory", "total-memory", "available-memory",
		"disk-caches", "hugetlb-allocations", "hugetlb-failures",
		"oom-kills", "alloc-stalls", "async-scans", "direct-scans",
		"async-reclaims", "direct-reclaims",
	};

	return tag < BALLOON_MAX_TAGS ? names[tag] : NULL;
}
