/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BALLOON_H
#define LKVM_BALLOON_H

/*
 * virtio-balloon (--balloon), in two parts:
 *
 *   virtio/balloon-pages.c  the model, no KVM: the inflate/deflate
 *     requests (le32 PFNs in 4 KiB units, every one checked against
 *     guest RAM), which 4 KiB pages are in the balloon (a bitmap), when
 *     a whole host page (or huge page) of them can be given back, free
 *     page reports, the guest's statistics. Host memory is given back
 *     through a callback, so the tests see every call.
 *   virtio/balloon.c  the device: queues, config space, the callback
 *     (madvise(MADV_DONTNEED) on anonymous RAM, fallocate(PUNCH_HOLE)
 *     on --hugetlbfs RAM) and the control plane's API below.
 */
#include <sys/uio.h>

#include "lkvm/guest-mem.h"
#include "lkvm/util.h"

#define BALLOON_PFN_SHIFT	12	/* PFNs are 4 KiB whatever the page size */
#define BALLOON_PAGE_SIZE	(1ULL << BALLOON_PFN_SHIFT)
#define BALLOON_MAX_TAGS	16	/* VIRTIO_BALLOON_S_* the device keeps */
#define BALLOON_STAT_SIZE	10	/* le16 tag, le64 value, packed */

/* Give guest RAM [off, off + len) (offsets into it) back to the host. */
typedef int balloon_discard_fn(void *ctx, u64 off, u64 len);

/* The model's counters (all in 4 KiB pages or bytes). */
struct balloon_counters {
	u64 inflated;		/* pages in the balloon now */
	u64 pages_inflated;	/* pages the guest ever put in */
	u64 pages_deflated;	/* pages it took back */
	u64 bytes_released;	/* host memory given back (inflate, reports) */
	u64 bytes_reported;	/* free page reports received */
	u64 bad_requests;	/* malformed requests, refused whole */
	u64 discard_errors;	/* the host refused to take memory back */
};

/* The guest's latest statistics (the stats queue). */
struct balloon_guest_stats {
	u32 valid;		/* bit N: value[N] was sent (tag N) */
	u64 value[BALLOON_MAX_TAGS];
	u64 updates;		/* stats buffers received */
};

struct balloon_pages {
	const struct guest_mem *mem;
	u64 unit;		/* bytes given back at once: a power of two >= 4K */
	u64 nr_pages;		/* 4 KiB pages of RAM */
	unsigned long *inflated;	/* bit per 4 KiB page of RAM */
	balloon_discard_fn *discard;
	void *ctx;
	struct balloon_counters c;
	struct balloon_guest_stats gs;
};

enum balloon_op {
	BALLOON_INFLATE,
	BALLOON_DEFLATE,
};

/*
 * @unit: what the host can give back at once (its page size; the huge
 * page size for hugetlbfs): a power of two, at least 4 KiB, dividing
 * RAM's size. 0 or -errno.
 */
int balloon_pages_init(struct balloon_pages *bp, const struct guest_mem *mem,
		       u64 unit, balloon_discard_fn *discard, void *ctx);
void balloon_pages_exit(struct balloon_pages *bp);
/* Driver reset: every page is the guest's again. Statistics stay. */
void balloon_pages_reset(struct balloon_pages *bp);
/*
 * One inflate or deflate request: the driver's buffers (@iov, @n), an
 * array of le32 PFNs. A request whose length is not whole PFNs or which
 * names a page outside RAM is refused whole (-EINVAL, counted): nothing
 * changes. Inflating gives back each host unit whose 4 KiB pages are
 * now all in the balloon; pages already in (inflate) or not in
 * (deflate) are skipped.
 */
int balloon_pages_request(struct balloon_pages *bp, enum balloon_op op,
			  const struct iovec *iov, unsigned int n);
/*
 * A free page report: buffers in guest RAM (checked by virtq_pop())
 * that the guest does not use until the report is returned. Gives back
 * the whole units inside each; returns the bytes given back.
 */
u64 balloon_pages_report(struct balloon_pages *bp, const struct iovec *iov,
			 unsigned int n);
/*
 * A stats buffer: VIRTIO_BALLOON_S_* entries of 10 bytes. Not whole
 * entries: -EINVAL, nothing kept. Tags beyond BALLOON_MAX_TAGS are
 * skipped.
 */
int balloon_stats_parse(struct balloon_guest_stats *gs,
			const struct iovec *iov, unsigned int n);

/* Tag @tag's name as Linux prints it ("free-memory"), NULL if unknown. */
const char *balloon_stat_name(unsigned int tag);

/* ---- the control plane's API (virtio/balloon.c) ---- */
struct kvm;

/* What lkvm stat --memory shows. */
struct balloon_info {
	u64 ram_pages;		/* guest RAM, 4 KiB pages */
	u64 target;		/* config num_pages: what lkvm asked for */
	u64 actual;		/* config actual: what the driver says it holds */
	struct balloon_counters c;
	struct balloon_guest_stats gs;
	bool stats_fresh;	/* gs came in after this call asked for it */
};

/*
 * Ask the guest to hold @pages 4 KiB pages in its balloon (config
 * num_pages, and a config-change interrupt). -ENODEV without --balloon,
 * -EINVAL beyond guest RAM.
 */
int balloon_set_target(struct kvm *kvm, u64 pages);
/*
 * Fill @info. With @wait_ms > 0 and a stats queue, ask the guest for
 * fresh statistics first and wait for them at most that long
 * (info->stats_fresh says whether they came). -ENODEV without --balloon.
 */
int balloon_get_info(struct kvm *kvm, struct balloon_info *info, int wait_ms);

#endif
