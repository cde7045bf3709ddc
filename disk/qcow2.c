// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 images: see include/lkvm/qcow2.h for what is supported and for
 * the crash-consistency and locking rules, and the qcow2 specification
 * (docs/interop/qcow2.txt in QEMU) for the format.
 *
 * Layout reminders: the header (big-endian) names the L1 table, whose
 * entries point at L2 tables (one cluster each), whose entries point at
 * data clusters. The refcount table points at refcount blocks, which
 * hold one 2^refcount_order-bit counter per host cluster.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "lkvm/iov.h"
#include "lkvm/qcow2.h"

#define QCOW2_MAGIC		0x514649fbU	/* "QFI\xfb" */
#define HDR_V2_LEN		72
#define HDR_V3_LEN		104
#define HDR_CREATE_LEN		112		/* v3 + compression type + pad */

#define OFLAG_COPIED		(1ULL << 63)
#define OFLAG_COMPRESSED	(1ULL << 62)
#define OFLAG_ZERO		(1ULL << 0)
#define L1E_OFFSET_MASK		0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK		0x00fffffffffffe00ULL
#define REFT_OFFSET_MASK	0xfffffffffffffe00ULL
#define MAX_HOST_OFFSET		(1ULL << 56)

#define INCOMPAT_DIRTY		(1ULL << 0)
#define INCOMPAT_CORRUPT	(1ULL << 1)
#define INCOMPAT_DATA_FILE	(1ULL << 2)
#define INCOMPAT_COMPRESSION	(1ULL << 3)
#define INCOMPAT_EXTL2		(1ULL << 4)
#define INCOMPAT_KNOWN		0x1fULL

#define EXT_END			0
#define EXT_BACKING_FMT		0xe2792acaU
#define EXT_FEATURE_TABLE	0x6803f857U
#define EXT_DATA_FILE		0x44415441U

#define MIN_CLUSTER_BITS	9
#define MAX_CLUSTER_BITS	21
#define MAX_L1_BYTES		(32 * SZ_1M)	/* QEMU's limits */
#define MAX_REFTABLE_BYTES	(8 * SZ_1M)
#define MAX_BACKING_NAME	1023
#define MAX_VIRTUAL_SIZE	(1ULL << 62)
#define SECTOR			512ULL

/* Allocating writes handle up to this many bytes (at least a cluster) at once. */
#define RUN_MAX_BYTES		(2 * SZ_1M)
#define RUN_MAX_CLUSTERS	(RUN_MAX_BYTES >> MIN_CLUSTER_BITS)
/* Cache budgets, in bytes of tables. */
#define L2_CACHE_BYTES		(4 * SZ_1M)
#define RB_CACHE_BYTES		SZ_1M

#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))

struct header {
	u32 magic;
	u32 version;
	u64 backing_file_offset;
	u32 backing_file_size;
	u32 cluster_bits;
	u64 size;
	u32 crypt_method;
	u32 l1_size;
	u64 l1_table_offset;
	u64 refcount_table_offset;
	u32 refcount_table_clusters;
	u32 nb_snapshots;
	u64 snapshots_offset;
	u64 incompat;
	u64 compat;
	u64 autoclear;
	u32 refcount_order;
	u32 header_length;
	u8 compression_type;
};

/* A small LRU cache of cluster-sized tables, keyed by host offset (0 = free). */
struct tcache_ent {
	u64 off;
	u64 used;
	u8 *buf;
};

struct tcache {
	unsigned int n;
	u64 tick;
	struct tcache_ent *e;
};

enum backing_kind { BACKING_NONE, BACKING_RAW, BACKING_QCOW2 };

struct qcow2 {
	pthread_mutex_t lock;		/* everything below but fd/path */
	int fd;
	char *path;
	bool readonly;
	u32 version;
	unsigned int cluster_bits;
	u64 cluster_size;
	unsigned int l2_bits;		/* log2(entries per L2 table) */
	u64 size;

	u64 *l1;			/* host byte order */
	u32 l1_size;
	u64 l1_offset;

	u64 *rt;			/* refcount table, host byte order; rw only */
	u64 rt_entries;
	u64 rt_offset;
	u32 rt_clusters;
	unsigned int refcount_order;
	unsigned int rb_bits;		/* log2(entries per refcount block) */

	u64 file_size;
	u64 next_free;			/* allocations are appended from here */

	unsigned int csize_shift;	/* compressed descriptor layout */
	u64 csize_mask;
	u64 coff_mask;

	struct tcache l2c;
	struct tcache rbc;

	z_stream zs;
	bool zs_ready;
	u8 *zin;			/* compressed input, 2 clusters */
	u8 *zcache;			/* the last decompressed cluster */
	u64 zcache_off;
	bool zcache_valid;

	u8 *bounce;			/* allocating writes; rw only */
	u8 *scratch;			/* refcount block being modified */
	u8 *zeros;			/* a zeroed cluster, for write_zeroes */
	u64 *olds, *vals;		/* L2 entries of a run; RUN_MAX_CLUSTERS */

	enum backing_kind backing;
	int bfd;
	u64 bsize;
	struct qcow2 *bq;
};

/* The images opened so far in a chain, to catch loops. */
struct chain {
	int depth;
	dev_t dev[QCOW2_MAX_CHAIN];
	ino_t ino[QCOW2_MAX_CHAIN];
};

static int do_open(struct qcow2 **qp, const char *path, int fd, unsigned int flags,
		   struct chain *ch, char *err, size_t errlen);
static ssize_t do_read(struct qcow2 *q, const struct iovec *iov, int cnt,
		       size_t skip, size_t len, u64 g);

static u32 get_be32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static u64 get_be64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static void put_be16(u8 *p, u16 v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static void put_be32(u8 *p, u32 v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put_be64(u8 *p, u64 v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* ---- plain and vectored I/O ---- */

/* Read exactly @len bytes: metadata must not be cut short. */
static int pread_exact(int fd, void *buf, size_t len, u64 off)
{
	ssize_t r = pread_in_full(fd, buf, len, off);

	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

static int pwrite_all(int fd, const void *buf, size_t len, u64 off)
{
	const u8 *p = buf;

	while (len) {
		ssize_t r = pwrite(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		p += r;
		off += r;
		len -= r;
	}
	return 0;
}

static int sync_fd(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

/*
 * Vectored pread/pwrite of iov bytes [skip, skip + len) at @off. Reads
 * past the end of the file return zeros, as a sparse file would.
 */
static int qiov_rw(int fd, const struct iovec *iov, int cnt, size_t skip,
		   size_t len, u64 off, bool write)
{
	ssize_t r = iov_pio(fd, iov, cnt, skip, len, off, write);

	if (r < 0)
		return r;
	if ((size_t)r < len && write)
		return -EIO;
	iov_memset(iov, cnt, skip + r, 0, len - r);
	return 0;
}

/* ---- table caches ---- */

static int tcache_init(struct tcache *c, u64 budget, u64 cs)
{
	c->n = MAX(4, MIN(64, budget / cs));
	c->tick = 0;
	c->e = calloc(c->n, sizeof(*c->e));
	return c->e ? 0 : -ENOMEM;
}

static void tcache_free(struct tcache *c)
{
	unsigned int i;

	for (i = 0; c->e && i < c->n; i++)
		free(c->e[i].buf);
	free(c->e);
	c->e = NULL;
}

/*
 * Return the cached table at host offset @off, reading it on a miss. The
 * pointer stays valid until the next tcache_get() on the same cache.
 */
static int tcache_get(struct qcow2 *q, struct tcache *c, u64 off, u8 **buf)
{
	struct tcache_ent *victim = &c->e[0];
	unsigned int i;
	int ret;

	for (i = 0; i < c->n; i++) {
		struct tcache_ent *e = &c->e[i];

		if (e->off == off && e->buf) {
			e->used = ++c->tick;
			*buf = e->buf;
			return 0;
		}
		if (!e->off || (victim->off && e->used < victim->used))
			victim = e;
	}
	if (!off || !IS_ALIGNED(off, q->cluster_size) ||
	    off > q->file_size || q->file_size - off < q->cluster_size) {
		pr_warn_ratelimited("%s: metadata table at %#llx is outside the image",
				    q->path, (unsigned long long)off);
		return -EIO;
	}
	if (!victim->buf) {
		victim->buf = malloc(q->cluster_size);
		if (!victim->buf)
			return -ENOMEM;
	}
	victim->off = 0;
	ret = pread_exact(q->fd, victim->buf, q->cluster_size, off);
	if (ret)
		return ret;
	victim->off = off;
	victim->used = ++c->tick;
	*buf = victim->buf;
	return 0;
}

/* ---- refcounts ---- */

static u64 rc_max(const struct qcow2 *q)
{
	unsigned int bits = 1U << q->refcount_order;

	return bits == 64 ? (u64)INT64_MAX : (1ULL << bits) - 1;
}

static u64 rc_get(const struct qcow2 *q, const u8 *blk, u64 i)
{
	unsigned int order = q->refcount_order;

	switch (order) {
	case 0: case 1: case 2: {
		u64 bit = i << order;

		return (blk[bit >> 3] >> (bit & 7)) & ((1U << (1U << order)) - 1);
	}
	case 3:
		return blk[i];
	case 4:
		return ((u16)blk[2 * i] << 8) | blk[2 * i + 1];
	case 5:
		return get_be32(blk + 4 * i);
	default:
		return get_be64(blk + 8 * i);
	}
}

static void rc_set(const struct qcow2 *q, u8 *blk, u64 i, u64 v)
{
	unsigned int order = q->refcount_order;

	switch (order) {
	case 0: case 1: case 2: {
		u64 bit = i << order;
		u8 mask = ((1U << (1U << order)) - 1) << (bit & 7);

		blk[bit >> 3] = (blk[bit >> 3] & ~mask) | ((v << (bit & 7)) & mask);
		break;
	}
	case 3:
		blk[i] = v;
		break;
	case 4:
		put_be16(blk + 2 * i, v);
		break;
	case 5:
		put_be32(blk + 4 * i, v);
		break;
	default:
		put_be64(blk + 8 * i, v);
	}
}

/* Byte range [*lo, *hi) of a refcount block holding entries [first, last]. */
static void rc_span(const struct qcow2 *q, u64 first, u64 last, u64 *lo, u64 *hi)
{
	*lo = (first << q->refcount_order) >> 3;
	*hi = DIV_ROUND_UP((last + 1) << q->refcount_order, 8);
}

static u64 rb_index(const struct qcow2 *q, u64 host)
{
	return host >> (q->cluster_bits + q->rb_bits);
}

static int reserve(struct qcow2 *q, u64 clusters, u64 *off)
{
	u64 bytes = clusters << q->cluster_bits;

	if (q->next_free >= MAX_HOST_OFFSET || MAX_HOST_OFFSET - q->next_free < bytes)
		return -ENOSPC;
	*off = q->next_free;
	q->next_free += bytes;
	return 0;
}

static void grew(struct qcow2 *q, u64 end)
{
	if (end > q->file_size)
		q->file_size = end;
}

enum rc_op { RC_SET1, RC_INC, RC_DEC };

static int refcount_update(struct qcow2 *q, u64 host, u64 clusters, enum rc_op op);

/*
 * Replace the refcount table with one twice as large (or more) that also
 * covers index @need. The new table and the refcount blocks describing
 * it go at the end of the file; the header switches to them in a single
 * sector write, and only then is the old table freed.
 */
static int reftable_grow(struct qcow2 *q, u64 need)
{
	u64 cs = q->cluster_size, epc = cs / 8, cover = cs << q->rb_bits;
	u64 T = q->next_free, tc = q->rt_clusters, nb = 1, prev, end, first, last;
	u64 c, i, *newrt = NULL, old_off = q->rt_offset, old_clusters = q->rt_clusters;
	u8 *tbuf = NULL, *blocks = NULL, hdr[12];
	int ret;

	for (;;) {
		tc = MAX(tc * 2, DIV_ROUND_UP(need + 1, epc));
		do {
			prev = nb;
			end = T + (tc + nb) * cs;
			first = T / cover;
			last = (end - 1) / cover;
			nb = last - first + 1;
		} while (nb != prev);
		if (last < tc * epc)
			break;
	}
	if (tc * cs > MAX_REFTABLE_BYTES || end >= MAX_HOST_OFFSET || first < q->rt_entries) {
		pr_warn_ratelimited("%s: cannot grow the refcount table", q->path);
		return -ENOSPC;
	}

	ret = -ENOMEM;
	newrt = calloc(tc * epc, sizeof(u64));
	tbuf = calloc(tc, cs);
	blocks = calloc(nb, cs);
	if (!newrt || !tbuf || !blocks)
		goto out;
	memcpy(newrt, q->rt, q->rt_entries * sizeof(u64));
	for (i = 0; i < nb; i++)
		newrt[first + i] = T + (tc + i) * cs;
	for (i = 0; i < tc * epc; i++)
		put_be64(tbuf + 8 * i, newrt[i]);
	for (c = T >> q->cluster_bits; c < end >> q->cluster_bits; c++)
		rc_set(q, blocks + ((c >> q->rb_bits) - first) * cs,
		       c & ((1ULL << q->rb_bits) - 1), 1);

	ret = pwrite_all(q->fd, tbuf, tc * cs, T);
	if (!ret)
		ret = pwrite_all(q->fd, blocks, nb * cs, T + tc * cs);
	if (!ret)
		grew(q, end);
	if (!ret)
		ret = sync_fd(q->fd);
	if (ret)
		goto out;

	/* refcount_table_offset and _clusters are adjacent: one sector write. */
	put_be64(hdr, T);
	put_be32(hdr + 8, tc);
	ret = pwrite_all(q->fd, hdr, sizeof(hdr), 48);
	if (!ret)
		ret = sync_fd(q->fd);
	if (ret)
		goto out;

	free(q->rt);
	q->rt = newrt;
	newrt = NULL;
	q->rt_entries = tc * epc;
	q->rt_offset = T;
	q->rt_clusters = tc;
	q->next_free = end;
	/* Failing to free the old table only leaks it. */
	refcount_update(q, old_off, old_clusters, RC_DEC);
out:
	free(newrt);
	free(tbuf);
	free(blocks);
	return ret;
}

/*
 * Make sure refcount block @ti exists. A new block is appended; if it
 * falls in its own range it counts itself, otherwise its refcount goes in
 * the block covering it (made first). Its content is durable before the
 * refcount table points at it.
 */
static int refblock_ensure(struct qcow2 *q, u64 ti)
{
	u64 R, ri, cs = q->cluster_size;
	u8 *blk;
	int ret;

	if (ti >= q->rt_entries) {
		ret = reftable_grow(q, ti);
		if (ret)
			return ret;
	}
	if (q->rt[ti])
		return 0;

	for (;;) {
		ri = rb_index(q, q->next_free);
		if (ri == ti || (ri < q->rt_entries && q->rt[ri]))
			break;
		ret = refblock_ensure(q, ri);
		if (ret)
			return ret;
	}
	ret = reserve(q, 1, &R);
	if (ret)
		return ret;
	blk = calloc(1, cs);
	if (!blk)
		return -ENOMEM;
	if (ri == ti)
		rc_set(q, blk, (R >> q->cluster_bits) & ((1ULL << q->rb_bits) - 1), 1);
	ret = pwrite_all(q->fd, blk, cs, R);
	free(blk);
	if (ret)
		return ret;
	grew(q, R + cs);
	if (ri != ti) {
		ret = refcount_update(q, R, 1, RC_SET1);
		if (ret)
			return ret;
	}
	ret = sync_fd(q->fd);
	if (!ret) {
		u8 e[8];

		put_be64(e, R);
		ret = pwrite_all(q->fd, e, 8, q->rt_offset + ti * 8);
	}
	if (!ret)
		q->rt[ti] = R;
	return ret;
}

/*
 * Apply @op to the refcounts of @clusters clusters from @host, block by
 * block, writing each changed span through to the file. Under- and
 * overflows are refused before anything in that block is written.
 */
static int refcount_update(struct qcow2 *q, u64 host, u64 clusters, enum rc_op op)
{
	u64 c = host >> q->cluster_bits, end = c + clusters;
	u64 per = 1ULL << q->rb_bits;

	while (c < end) {
		u64 ti = c >> q->rb_bits, i, first = c & (per - 1);
		u64 last = MIN(per - 1, first + (end - c) - 1), lo, hi;
		u8 *blk;
		int ret;

		if (op != RC_DEC) {
			ret = refblock_ensure(q, ti);
			if (ret)
				return ret;
		} else if (ti >= q->rt_entries || !q->rt[ti]) {
			pr_warn_ratelimited("%s: refcount underflow at cluster %#llx",
					    q->path, (unsigned long long)c);
			return -EIO;
		}
		ret = tcache_get(q, &q->rbc, q->rt[ti], &blk);
		if (ret)
			return ret;
		memcpy(q->scratch, blk, q->cluster_size);
		for (i = first; i <= last; i++) {
			u64 v = rc_get(q, q->scratch, i);

			if ((op == RC_DEC && v == 0) || (op == RC_INC && v == rc_max(q))) {
				pr_warn_ratelimited("%s: refcount %s at cluster %#llx",
						    q->path, v ? "overflow" : "underflow",
						    (unsigned long long)((ti << q->rb_bits) + i));
				return -EIO;
			}
			v = op == RC_SET1 ? 1 : op == RC_INC ? v + 1 : v - 1;
			rc_set(q, q->scratch, i, v);
		}
		rc_span(q, first, last, &lo, &hi);
		ret = pwrite_all(q->fd, q->scratch + lo, hi - lo, q->rt[ti] + lo);
		if (ret)
			return ret;
		memcpy(blk + lo, q->scratch + lo, hi - lo);
		c += last - first + 1;
	}
	return 0;
}

static int refcount_get(struct qcow2 *q, u64 host, u64 *v)
{
	u64 c = host >> q->cluster_bits, ti = c >> q->rb_bits;
	u8 *blk;
	int ret;

	*v = 0;
	if (ti >= q->rt_entries || !q->rt[ti])
		return 0;
	ret = tcache_get(q, &q->rbc, q->rt[ti], &blk);
	if (!ret)
		*v = rc_get(q, blk, c & ((1ULL << q->rb_bits) - 1));
	return ret;
}

/* ---- L2 entries ---- */

enum ctype { C_UNALLOC, C_ZERO, C_NORMAL, C_COMPRESSED };

static enum ctype classify(const struct qcow2 *q, u64 e, u64 *host)
{
	*host = e & L2E_OFFSET_MASK;
	if (e & OFLAG_COMPRESSED)
		return C_COMPRESSED;
	if (q->version >= 3 && (e & OFLAG_ZERO))
		return C_ZERO;
	return *host ? C_NORMAL : C_UNALLOC;
}

static bool owned(const struct qcow2 *q, u64 e)
{
	u64 host;

	return classify(q, e, &host) == C_NORMAL && (e & OFLAG_COPIED);
}

static u64 l2_entry(const u8 *tbl, u64 i)
{
	return get_be64(tbl + 8 * i);
}

/* Load the L2 table for L1 index @i; *tbl is NULL when unallocated. */
static int l2_load(struct qcow2 *q, u64 i, u8 **tbl)
{
	u64 off = q->l1[i] & L1E_OFFSET_MASK;

	*tbl = NULL;
	if (!off)
		return 0;
	return tcache_get(q, &q->l2c, off, tbl);
}

static int check_data_offset(struct qcow2 *q, u64 host)
{
	if (IS_ALIGNED(host, q->cluster_size))
		return 0;
	pr_warn_ratelimited("%s: unaligned data cluster offset %#llx",
			    q->path, (unsigned long long)host);
	return -EIO;
}

static bool overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * A corrupt L2 entry must not turn guest writes into writes over the
 * header, the L1 table or the refcount table (refcount blocks and L2
 * tables are not tracked: that would need a full scan), nor grow the
 * file far beyond its end.
 */
static int check_write_target(struct qcow2 *q, u64 host, u64 len)
{
	if (host < q->file_size &&
	    !overlap(host, len, 0, q->cluster_size) &&
	    !overlap(host, len, q->l1_offset, (u64)q->l1_size * 8) &&
	    !overlap(host, len, q->rt_offset, (u64)q->rt_clusters << q->cluster_bits))
		return 0;
	pr_warn_ratelimited("%s: data cluster %#llx overlaps metadata; not writing",
			    q->path, (unsigned long long)host);
	return -EIO;
}

/*
 * Map guest bytes [g, g + *len): return the type of the first cluster
 * and shrink *len to the run of clusters mapped the same way (host
 * contiguous for data clusters, a single compressed cluster).
 */
static int map(struct qcow2 *q, u64 g, u64 *len, enum ctype *type, u64 *host)
{
	u64 cs = q->cluster_size, in = g & (cs - 1), l2n = 1ULL << q->l2_bits;
	u64 i1 = g >> (q->cluster_bits + q->l2_bits), i2 = (g >> q->cluster_bits) & (l2n - 1);
	u64 avail = (l2n - i2) * cs - in, n, h, e;
	enum ctype t;
	u8 *tbl;
	int ret;

	*len = MIN(*len, avail);
	ret = l2_load(q, i1, &tbl);
	if (ret)
		return ret;
	if (!tbl) {
		*type = C_UNALLOC;
		return 0;
	}
	e = l2_entry(tbl, i2);
	*type = classify(q, e, host);
	if (*type == C_COMPRESSED) {
		*host = e;
		*len = MIN(*len, cs - in);
		return 0;
	}
	if (*type == C_NORMAL) {
		ret = check_data_offset(q, *host);
		if (ret)
			return ret;
	}
	for (n = cs - in; n < *len; n += cs) {
		e = l2_entry(tbl, ++i2);
		t = classify(q, e, &h);
		if (t != *type || (t == C_NORMAL && h != *host + in + n))
			break;
	}
	*len = MIN(*len, n);
	*host += in;
	return 0;
}

/* ---- reads ---- */

/* Decompress the cluster of compressed L2 entry @e into q->zcache. */
static int decompress(struct qcow2 *q, u64 e)
{
	u64 coff = e & q->coff_mask;
	u64 nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
	u64 csize = nb * SECTOR - (coff & (SECTOR - 1));
	ssize_t r;
	int z;

	if (q->zcache_valid && q->zcache_off == coff)
		return 0;
	r = pread_in_full(q->fd, q->zin, csize, coff);
	if (r < 0)
		return -errno;
	if (r == 0)
		goto bad;
	if (inflateReset(&q->zs) != Z_OK)
		goto bad;
	q->zs.next_in = q->zin;
	q->zs.avail_in = r;
	q->zs.next_out = q->zcache;
	q->zs.avail_out = q->cluster_size;
	z = inflate(&q->zs, Z_FINISH);
	if ((z != Z_STREAM_END && z != Z_BUF_ERROR) || q->zs.avail_out)
		goto bad;
	q->zcache_off = coff;
	q->zcache_valid = true;
	return 0;
bad:
	q->zcache_valid = false;
	pr_warn_ratelimited("%s: bad compressed cluster at %#llx", q->path,
			    (unsigned long long)coff);
	return -EIO;
}

static int backing_read(struct qcow2 *q, const struct iovec *iov, int cnt,
			size_t skip, size_t len, u64 g)
{
	size_t n = g < q->bsize ? MIN(len, q->bsize - g) : 0;
	ssize_t r = 0;

	if (n && q->backing == BACKING_RAW)
		r = qiov_rw(q->bfd, iov, cnt, skip, n, g, false);
	else if (n && q->backing == BACKING_QCOW2)
		r = do_read(q->bq, iov, cnt, skip, n, g);
	if (r < 0)
		return r;
	iov_memset(iov, cnt, skip + n, 0, len - n);
	return 0;
}

/* Read guest bytes [g, g + len) into iov bytes from @skip. */
static ssize_t do_read(struct qcow2 *q, const struct iovec *iov, int cnt,
		       size_t skip, size_t len, u64 g)
{
	size_t done = 0;

	while (done < len) {
		u64 n = len - done, host;
		enum ctype t;
		int ret;

		pthread_mutex_lock(&q->lock);
		ret = map(q, g + done, &n, &t, &host);
		if (!ret && t == C_COMPRESSED) {
			ret = decompress(q, host);
			if (!ret)
				iov_from_buf(iov, cnt, skip + done,
					     q->zcache + ((g + done) & (q->cluster_size - 1)),
					     n);
		}
		pthread_mutex_unlock(&q->lock);
		if (ret)
			return ret;

		if (t == C_NORMAL)
			ret = qiov_rw(q->fd, iov, cnt, skip + done, n, host, false);
		else if (t == C_ZERO || (t == C_UNALLOC && q->backing == BACKING_NONE))
			iov_memset(iov, cnt, skip + done, 0, n);
		else if (t == C_UNALLOC)
			ret = backing_read(q, iov, cnt, skip + done, n, g + done);
		if (ret)
			return ret;
		done += n;
	}
	return len;
}

static int check_range(const struct qcow2 *q, u64 offset, u64 len)
{
	return offset > q->size || len > q->size - offset ? -EINVAL : 0;
}

/* A count the caller got wrong, or bytes past the end: -EINVAL. */
static int check_iov(const struct qcow2 *q, const struct iovec *iov,
		     int iovcnt, u64 offset, size_t *len)
{
	if (iovcnt < 0)
		return -EINVAL;
	*len = iov_total(iov, iovcnt);
	return check_range(q, offset, *len);
}

ssize_t qcow2_preadv(struct qcow2 *q, const struct iovec *iov, int iovcnt,
		     u64 offset)
{
	size_t len;

	if (check_iov(q, iov, iovcnt, offset, &len))
		return -EINVAL;
	return do_read(q, iov, iovcnt, 0, len, offset);
}

/* ---- writes ---- */

/* The current content of guest cluster @gc (mapped by @e) into @buf. */
static int read_old(struct qcow2 *q, u64 e, u64 gc, u8 *buf)
{
	struct iovec v = { .iov_base = buf, .iov_len = q->cluster_size };
	u64 host;
	int ret;

	switch (classify(q, e, &host)) {
	case C_COMPRESSED:
		ret = decompress(q, e);
		if (!ret)
			memcpy(buf, q->zcache, q->cluster_size);
		return ret;
	case C_NORMAL:
		ret = check_data_offset(q, host);
		return ret ? ret : qiov_rw(q->fd, &v, 1, 0, q->cluster_size, host, false);
	case C_ZERO:
		memset(buf, 0, q->cluster_size);
		return 0;
	default:
		memset(buf, 0, q->cluster_size);	/* past the virtual size too */
		return backing_read(q, &v, 1, 0, MIN(q->cluster_size, q->size - gc), gc);
	}
}

/*
 * Drop one reference held by a (no longer referenced) L2 entry. Failing
 * only leaks clusters, so errors are reported and swallowed.
 */
static void free_entry(struct qcow2 *q, u64 e)
{
	u64 host, start, nb, v;

	switch (classify(q, e, &host)) {
	case C_COMPRESSED:
		start = (e & q->coff_mask) & ~(SECTOR - 1);
		nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
		refcount_update(q, ALIGN_DOWN(start, q->cluster_size),
				((start + nb * SECTOR - 1) >> q->cluster_bits) -
				(start >> q->cluster_bits) + 1, RC_DEC);
		return;
	case C_NORMAL:
	case C_ZERO:
		if (!host || !IS_ALIGNED(host, q->cluster_size))
			return;
		if (refcount_update(q, host, 1, RC_DEC) || refcount_get(q, host, &v) || v)
			return;
		/* Give the space back; the cluster is never reused anyway. */
		fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, host,
			  q->cluster_size);
		return;
	default:
		return;
	}
}

/* Free the clusters of @olds once the tables dropping them are durable. */
static int free_entries(struct qcow2 *q, const u64 *olds, u64 n)
{
	u64 i, host;
	bool any = false;
	int ret;

	for (i = 0; i < n; i++)
		if (classify(q, olds[i], &host) == C_COMPRESSED || host)
			any = true;
	if (!any)
		return 0;
	ret = sync_fd(q->fd);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		free_entry(q, olds[i]);
	return 0;
}

/*
 * The L2 table for L1 index @i, made writable: a missing table is
 * allocated, a shared one (no OFLAG_COPIED) copied. The table and its
 * refcount are durable before the L1 entry names it.
 */
static int l2_get_for_write(struct qcow2 *q, u64 i, u64 *off)
{
	u64 e = q->l1[i], old = e & L1E_OFFSET_MASK, new;
	u8 *tbl, *buf, ent[8];
	int ret;

	if (old && (e & OFLAG_COPIED)) {
		*off = old;
		return 0;
	}
	buf = q->bounce;	/* free: allocating writes come after this */
	if (old) {
		ret = tcache_get(q, &q->l2c, old, &tbl);
		if (ret)
			return ret;
		memcpy(buf, tbl, q->cluster_size);
	} else {
		memset(buf, 0, q->cluster_size);
	}
	ret = reserve(q, 1, &new);
	if (!ret)
		ret = pwrite_all(q->fd, buf, q->cluster_size, new);
	if (ret)
		return ret;
	grew(q, new + q->cluster_size);
	ret = refcount_update(q, new, 1, RC_SET1);
	if (!ret)
		ret = sync_fd(q->fd);
	if (ret)
		return ret;
	put_be64(ent, new | OFLAG_COPIED);
	ret = pwrite_all(q->fd, ent, 8, q->l1_offset + i * 8);
	if (ret)
		return ret;
	q->l1[i] = new | OFLAG_COPIED;
	*off = new;
	if (old && !sync_fd(q->fd))
		refcount_update(q, old, 1, RC_DEC);
	return 0;
}

/* Write @n entries from index @i of the L2 table at @off, through the cache. */
static int l2_set(struct qcow2 *q, u64 off, u64 i, const u64 *vals, u64 n)
{
	u8 *tbl, *buf = q->scratch;
	u64 k;
	int ret;

	ret = tcache_get(q, &q->l2c, off, &tbl);
	if (ret)
		return ret;
	for (k = 0; k < n; k++)
		put_be64(buf + 8 * k, vals[k]);
	ret = pwrite_all(q->fd, buf, n * 8, off + i * 8);
	if (!ret)
		memcpy(tbl + i * 8, buf, n * 8);
	return ret;
}

/*
 * Write iov bytes [skip, skip + len) at guest @g, handling at most one L2
 * table's worth. Returns the bytes written or -errno. Clusters we own are
 * written in place outside the lock; the rest get new clusters: data
 * (merged with the old content for partial clusters) and refcounts made
 * durable, then the L2 entries switched, then the old clusters freed.
 */
static ssize_t write_chunk(struct qcow2 *q, const struct iovec *iov, int cnt,
			   size_t skip, size_t len, u64 g)
{
	u64 cs = q->cluster_size, in = g & (cs - 1), l2n = 1ULL << q->l2_bits;
	u64 i1 = g >> (q->cluster_bits + q->l2_bits), i2 = (g >> q->cluster_bits) & (l2n - 1);
	u64 k, kmax, n, l2off, host, D, *olds = q->olds, *vals = q->vals;
	u8 *tbl;
	int ret;

	pthread_mutex_lock(&q->lock);
	ret = l2_get_for_write(q, i1, &l2off);
	if (!ret)
		ret = tcache_get(q, &q->l2c, l2off, &tbl);
	if (ret)
		goto unlock;

	if (owned(q, l2_entry(tbl, i2))) {
		host = l2_entry(tbl, i2) & L2E_OFFSET_MASK;
		ret = check_data_offset(q, host);
		if (ret)
			goto unlock;
		for (k = 1, n = cs - in; n < len && i2 + k < l2n; k++, n += cs) {
			u64 e = l2_entry(tbl, i2 + k);

			if (!owned(q, e) || (e & L2E_OFFSET_MASK) != host + k * cs)
				break;
		}
		n = MIN(n, len);
		ret = check_write_target(q, host, in + n);
		if (ret)
			goto unlock;
		pthread_mutex_unlock(&q->lock);
		ret = qiov_rw(q->fd, iov, cnt, skip, n, host + in, true);
		return ret ? ret : (ssize_t)n;
	}

	kmax = MIN(l2n - i2, MAX(1, RUN_MAX_BYTES / cs));
	kmax = MIN(kmax, DIV_ROUND_UP(in + len, cs));
	for (k = 0; k < kmax && !owned(q, l2_entry(tbl, i2 + k)); k++)
		olds[k] = l2_entry(tbl, i2 + k);
	n = MIN(len, k * cs - in);

	/* Old content for the partial head and tail clusters. */
	if (in || n < cs)
		ret = read_old(q, olds[0], g - in, q->bounce);
	if (!ret && k > 1 && ((in + n) & (cs - 1)))
		ret = read_old(q, olds[k - 1], g - in + (k - 1) * cs,
			       q->bounce + (k - 1) * cs);
	if (ret)
		goto unlock;
	iov_to_buf(iov, cnt, skip, q->bounce + in, n);

	ret = reserve(q, k, &D);
	if (!ret)
		ret = pwrite_all(q->fd, q->bounce, k * cs, D);
	if (ret)
		goto unlock;
	grew(q, D + k * cs);
	ret = refcount_update(q, D, k, RC_SET1);
	if (!ret)
		ret = sync_fd(q->fd);
	if (ret)
		goto unlock;
	for (host = 0; host < k; host++)
		vals[host] = (D + host * cs) | OFLAG_COPIED;
	ret = l2_set(q, l2off, i2, vals, k);
	if (!ret)
		ret = free_entries(q, olds, k);
unlock:
	pthread_mutex_unlock(&q->lock);
	return ret ? ret : (ssize_t)n;
}

ssize_t qcow2_pwritev(struct qcow2 *q, const struct iovec *iov, int iovcnt,
		      u64 offset)
{
	size_t len, done = 0;

	if (q->readonly)
		return -EROFS;
	if (check_iov(q, iov, iovcnt, offset, &len))
		return -EINVAL;
	while (done < len) {
		ssize_t r = write_chunk(q, iov, iovcnt, done, len - done, offset + done);

		if (r < 0)
			return r;
		done += r;
	}
	return len;
}

int qcow2_flush(struct qcow2 *q)
{
	return q->readonly ? 0 : sync_fd(q->fd);
}

/*
 * Make @k whole clusters from @g (within one L2 table) unallocated, or
 * zero clusters when a backing file would show through. Returns
 * -EOPNOTSUPP when neither reads as zeros (v2 with a backing file).
 */
static int zero_clusters(struct qcow2 *q, u64 g, u64 k)
{
	u64 l2n = 1ULL << q->l2_bits, i1 = g >> (q->cluster_bits + q->l2_bits);
	u64 i2 = (g >> q->cluster_bits) & (l2n - 1), i, l2off, newval;
	u64 *olds = q->olds, *vals = q->vals;
	bool change = false;
	u8 *tbl;
	int ret;

	if (q->backing != BACKING_NONE && q->version < 3)
		return -EOPNOTSUPP;
	newval = q->backing != BACKING_NONE ? OFLAG_ZERO : 0;
	k = MIN(k, RUN_MAX_CLUSTERS);

	pthread_mutex_lock(&q->lock);
	ret = 0;
	if (!newval && !(q->l1[i1] & L1E_OFFSET_MASK))
		goto unlock;	/* no table: reads zeros already */
	ret = l2_get_for_write(q, i1, &l2off);
	if (!ret)
		ret = tcache_get(q, &q->l2c, l2off, &tbl);
	if (ret)
		goto unlock;
	for (i = 0; i < k; i++) {
		olds[i] = l2_entry(tbl, i2 + i);
		vals[i] = newval;
		change |= olds[i] != newval;
	}
	if (change)
		ret = l2_set(q, l2off, i2, vals, k);
	if (!ret && change)
		ret = free_entries(q, olds, k);
unlock:
	pthread_mutex_unlock(&q->lock);
	return ret ? ret : (int)k;
}

static int zero_range(struct qcow2 *q, u64 offset, u64 len, bool discard)
{
	u64 cs = q->cluster_size, l2n = 1ULL << q->l2_bits;

	if (q->readonly)
		return -EROFS;
	if (check_range(q, offset, len))
		return -EINVAL;
	while (len) {
		u64 in = offset & (cs - 1), n = MIN(cs - in, len);
		int ret = -EOPNOTSUPP;

		if (!in && len >= cs) {
			u64 k = MIN(len >> q->cluster_bits,
				    l2n - ((offset >> q->cluster_bits) & (l2n - 1)));

			ret = zero_clusters(q, offset, k);
			if (ret > 0)
				n = (u64)ret << q->cluster_bits;
		}
		if (ret == -EOPNOTSUPP && !discard) {
			struct iovec v = { .iov_base = q->zeros, .iov_len = n };

			ret = qcow2_pwritev(q, &v, 1, offset);
		} else if (ret == -EOPNOTSUPP) {
			ret = 0;
		}
		if (ret < 0)
			return ret;
		offset += n;
		len -= n;
	}
	return 0;
}

int qcow2_discard(struct qcow2 *q, u64 offset, u64 len)
{
	return zero_range(q, offset, len, true);
}

int qcow2_write_zeroes(struct qcow2 *q, u64 offset, u64 len)
{
	return zero_range(q, offset, len, false);
}

u64 qcow2_size(const struct qcow2 *q)
{
	return q->size;
}

u64 qcow2_cluster_size(const struct qcow2 *q)
{
	return q->cluster_size;
}

bool qcow2_probe(const u8 *hdr, size_t len)
{
	return len >= QCOW2_MAGIC_LEN && get_be32(hdr) == QCOW2_MAGIC;
}

/* ---- open ---- */

static void parse_header(const u8 *b, size_t len, struct header *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = get_be32(b);
	h->version = get_be32(b + 4);
	h->backing_file_offset = get_be64(b + 8);
	h->backing_file_size = get_be32(b + 16);
	h->cluster_bits = get_be32(b + 20);
	h->size = get_be64(b + 24);
	h->crypt_method = get_be32(b + 32);
	h->l1_size = get_be32(b + 36);
	h->l1_table_offset = get_be64(b + 40);
	h->refcount_table_offset = get_be64(b + 48);
	h->refcount_table_clusters = get_be32(b + 56);
	h->nb_snapshots = get_be32(b + 60);
	h->snapshots_offset = get_be64(b + 64);
	h->refcount_order = 4;
	h->header_length = HDR_V2_LEN;
	if (h->version < 3 || len < HDR_V3_LEN)
		return;
	h->incompat = get_be64(b + 72);
	h->compat = get_be64(b + 80);
	h->autoclear = get_be64(b + 88);
	h->refcount_order = get_be32(b + 96);
	h->header_length = get_be32(b + 100);
	if (h->header_length > HDR_V3_LEN && len > HDR_V3_LEN)
		h->compression_type = b[104];
}

struct exts {
	char backing_fmt[16];
	bool data_file;
	const u8 *features;	/* feature name table, 48-byte entries */
	u32 features_len;
};

/* Walk the header extensions in the first cluster @b (of @len bytes). */
static int parse_exts(const struct header *h, const u8 *b, size_t len,
		      struct exts *x, const char *path, char *err, size_t errlen)
{
	size_t off = h->header_length;
	size_t end = h->backing_file_offset ? MIN(len, h->backing_file_offset) : len;

	memset(x, 0, sizeof(*x));
	for (;;) {
		u32 type, l;

		if (off > end || end - off < 8)
			break;
		type = get_be32(b + off);
		l = get_be32(b + off + 4);
		off += 8;
		if (type == EXT_END)
			return 0;
		if (l > end - off) {
			set_err(err, errlen, "%s: header extension %#x overruns the header",
			       path, type);
			return -EINVAL;
		}
		if (type == EXT_BACKING_FMT) {
			if (l >= sizeof(x->backing_fmt)) {
				set_err(err, errlen, "%s: backing format name too long", path);
				return -EINVAL;
			}
			memcpy(x->backing_fmt, b + off, l);
			x->backing_fmt[l] = 0;
		} else if (type == EXT_FEATURE_TABLE) {
			x->features = b + off;
			x->features_len = l;
		} else if (type == EXT_DATA_FILE) {
			x->data_file = true;
		}
		off += ALIGN_UP((u64)l, 8);
	}
	return 0;
}

/* The name an image gives incompatible feature @bit, or a generic one. */
static void feature_name(const struct exts *x, unsigned int bit, char *buf, size_t len)
{
	u32 i;

	snprintf(buf, len, "unknown incompatible feature bit %u", bit);
	for (i = 0; x->features && i + 48 <= x->features_len; i += 48) {
		const u8 *f = x->features + i;

		if (f[0] == 0 && f[1] == bit) {
			snprintf(buf, len, "incompatible feature '%.46s' (bit %u)",
				 (const char *)f + 2, bit);
			return;
		}
	}
}

static int check_features(const struct header *h, const struct exts *x,
			  bool readonly, const char *path, char *err, size_t errlen)
{
	u64 unknown = h->incompat & ~INCOMPAT_KNOWN;
	char name[96];

	if (h->crypt_method) {
		set_err(err, errlen, "%s: encrypted images (method %u) are not supported",
		       path, h->crypt_method);
		return -ENOTSUP;
	}
	if (unknown) {
		feature_name(x, __builtin_ctzll(unknown), name, sizeof(name));
		set_err(err, errlen, "%s: %s is not supported", path, name);
		return -ENOTSUP;
	}
	if ((h->incompat & INCOMPAT_DATA_FILE) || x->data_file) {
		set_err(err, errlen, "%s: external data files are not supported", path);
		return -ENOTSUP;
	}
	if (h->incompat & INCOMPAT_EXTL2) {
		set_err(err, errlen, "%s: extended L2 entries (subclusters) are not supported",
		       path);
		return -ENOTSUP;
	}
	if ((h->incompat & INCOMPAT_COMPRESSION) && h->compression_type != 0) {
		set_err(err, errlen, "%s: compression type %u (zstd?) is not supported; only zlib",
		       path, h->compression_type);
		return -ENOTSUP;
	}
	if (!readonly && (h->incompat & INCOMPAT_DIRTY)) {
		set_err(err, errlen, "%s: image is dirty (lazy refcounts); repair it with "
		       "'qemu-img check -r all' or open it read-only", path);
		return -EUCLEAN;
	}
	if (!readonly && (h->incompat & INCOMPAT_CORRUPT)) {
		set_err(err, errlen, "%s: image is marked corrupt; repair it with "
		       "'qemu-img check -r all' or open it read-only", path);
		return -EUCLEAN;
	}
	return 0;
}

/* Is [off, off + len) inside a file of @fsize bytes, @align-aligned? */
static bool in_file(u64 off, u64 len, u64 fsize, u64 align)
{
	return off && IS_ALIGNED(off, align) && off <= fsize && len <= fsize - off;
}

static int check_geometry(const struct header *h, u64 fsize, const char *path,
			  char *err, size_t errlen)
{
	u64 cs, l2cover, need;

	if (h->cluster_bits < MIN_CLUSTER_BITS || h->cluster_bits > MAX_CLUSTER_BITS) {
		set_err(err, errlen, "%s: bad cluster_bits %u (must be %d..%d)", path,
		       h->cluster_bits, MIN_CLUSTER_BITS, MAX_CLUSTER_BITS);
		return -EINVAL;
	}
	cs = 1ULL << h->cluster_bits;
	if (h->version >= 3 && (h->header_length < HDR_V3_LEN || h->header_length > cs)) {
		set_err(err, errlen, "%s: bad header_length %u", path, h->header_length);
		return -EINVAL;
	}
	if (h->refcount_order > 6) {
		set_err(err, errlen, "%s: bad refcount_order %u (must be 0..6)", path,
		       h->refcount_order);
		return -EINVAL;
	}
	if (h->size > MAX_VIRTUAL_SIZE) {
		set_err(err, errlen, "%s: virtual size %llu is too large", path,
		       (unsigned long long)h->size);
		return -EFBIG;
	}
	l2cover = cs << (h->cluster_bits - 3);
	need = DIV_ROUND_UP(h->size, l2cover);
	if ((u64)h->l1_size * 8 > MAX_L1_BYTES || h->l1_size < need) {
		set_err(err, errlen, "%s: bad l1_size %u (%llu needed, at most %llu)", path,
		       h->l1_size, (unsigned long long)need,
		       (unsigned long long)(MAX_L1_BYTES / 8));
		return -EINVAL;
	}
	if (h->l1_size && !in_file(h->l1_table_offset, (u64)h->l1_size * 8, fsize, cs)) {
		set_err(err, errlen, "%s: L1 table (%#llx, %u entries) is misaligned or "
		       "beyond the end of the file", path,
		       (unsigned long long)h->l1_table_offset, h->l1_size);
		return -EINVAL;
	}
	if (!h->refcount_table_clusters ||
	    (u64)h->refcount_table_clusters * cs > MAX_REFTABLE_BYTES ||
	    !in_file(h->refcount_table_offset, (u64)h->refcount_table_clusters * cs,
		     fsize, cs)) {
		set_err(err, errlen, "%s: refcount table (%#llx, %u clusters) is invalid or "
		       "beyond the end of the file", path,
		       (unsigned long long)h->refcount_table_offset,
		       h->refcount_table_clusters);
		return -EINVAL;
	}
	if (h->backing_file_offset &&
	    (h->backing_file_size == 0 || h->backing_file_size > MAX_BACKING_NAME ||
	     h->backing_file_offset > cs || h->backing_file_size > cs - h->backing_file_offset ||
	     h->backing_file_offset + h->backing_file_size > fsize)) {
		set_err(err, errlen, "%s: bad backing file name (offset %#llx, size %u)", path,
		       (unsigned long long)h->backing_file_offset, h->backing_file_size);
		return -EINVAL;
	}
	return 0;
}

static int load_table(int fd, u64 off, u64 n, u64 **out)
{
	u64 *t = calloc(n ? n : 1, sizeof(u64)), i;
	int ret;

	if (!t)
		return -ENOMEM;
	ret = n ? pread_exact(fd, t, n * 8, off) : 0;
	if (ret) {
		free(t);
		return ret;
	}
	for (i = 0; i < n; i++)
		t[i] = be64toh(t[i]);
	*out = t;
	return 0;
}

static int load_l1(struct qcow2 *q, const struct header *h, char *err, size_t errlen)
{
	u64 i;
	int ret;

	ret = load_table(q->fd, h->l1_table_offset, h->l1_size, &q->l1);
	if (ret) {
		set_err(err, errlen, "%s: cannot read the L1 table: %s", q->path, strerror(-ret));
		return ret;
	}
	for (i = 0; i < h->l1_size; i++) {
		if (!IS_ALIGNED(q->l1[i] & L1E_OFFSET_MASK, q->cluster_size)) {
			set_err(err, errlen, "%s: L1 entry %llu is misaligned (%#llx)", q->path,
			       (unsigned long long)i, (unsigned long long)q->l1[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * For writing: load the refcount table, and start allocating after the
 * last cluster in use, wherever the end of the file is.
 */
static int load_refcounts(struct qcow2 *q, const struct header *h, char *err, size_t errlen)
{
	u64 ti, i, per = 1ULL << q->rb_bits, end = ALIGN_UP(q->file_size, q->cluster_size);
	u8 *blk = q->scratch;
	int ret;

	q->rt_entries = (u64)h->refcount_table_clusters * q->cluster_size / 8;
	ret = load_table(q->fd, h->refcount_table_offset, q->rt_entries, &q->rt);
	if (ret) {
		set_err(err, errlen, "%s: cannot read the refcount table: %s", q->path,
		       strerror(-ret));
		return ret;
	}
	for (ti = 0; ti < q->rt_entries; ti++) {
		u64 off = q->rt[ti] & REFT_OFFSET_MASK;

		q->rt[ti] = off;
		if (!off)
			continue;
		if (!in_file(off, q->cluster_size, q->file_size, q->cluster_size)) {
			set_err(err, errlen, "%s: refcount block %llu (%#llx) is misaligned or "
			       "beyond the end of the file", q->path,
			       (unsigned long long)ti, (unsigned long long)off);
			return -EINVAL;
		}
		ret = pread_exact(q->fd, blk, q->cluster_size, off);
		if (ret) {
			set_err(err, errlen, "%s: cannot read refcount block %llu", q->path,
			       (unsigned long long)ti);
			return ret;
		}
		for (i = per; i > 0; i--) {
			if (rc_get(q, blk, i - 1)) {
				end = MAX(end, ((ti << q->rb_bits) + i) << q->cluster_bits);
				break;
			}
		}
	}
	q->next_free = end;
	return 0;
}

static int alloc_buffers(struct qcow2 *q)
{
	u64 cs = q->cluster_size;

	if (tcache_init(&q->l2c, L2_CACHE_BYTES, cs) || tcache_init(&q->rbc, RB_CACHE_BYTES, cs))
		return -ENOMEM;
	q->zin = malloc(2 * cs);
	q->zcache = malloc(cs);
	if (!q->zin || !q->zcache)
		return -ENOMEM;
	if (inflateInit2(&q->zs, -15) != Z_OK)
		return -ENOMEM;
	q->zs_ready = true;
	if (q->readonly)
		return 0;
	q->bounce = malloc(MAX(cs, RUN_MAX_BYTES));
	q->scratch = malloc(MAX(cs, RUN_MAX_CLUSTERS * 8));
	q->zeros = calloc(1, cs);
	q->olds = calloc(RUN_MAX_CLUSTERS, sizeof(u64));
	q->vals = calloc(RUN_MAX_CLUSTERS, sizeof(u64));
	return q->bounce && q->scratch && q->zeros && q->olds && q->vals ? 0 : -ENOMEM;
}

static void free_qcow2(struct qcow2 *q)
{
	if (!q)
		return;
	if (q->bq)
		qcow2_close(q->bq);
	if (q->backing == BACKING_RAW)
		close(q->bfd);
	tcache_free(&q->l2c);
	tcache_free(&q->rbc);
	if (q->zs_ready)
		inflateEnd(&q->zs);
	free(q->zin);
	free(q->zcache);
	free(q->bounce);
	free(q->scratch);
	free(q->zeros);
	free(q->olds);
	free(q->vals);
	free(q->l1);
	free(q->rt);
	free(q->path);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* @name relative to the directory of @base, in a new string. */
static char *resolve_path(const char *base, const char *name)
{
	const char *slash = strrchr(base, '/');
	char *p;

	if (name[0] == '/' || !slash)
		return strdup(name);
	if (asprintf(&p, "%.*s/%s", (int)(slash - base), base, name) < 0)
		return NULL;
	return p;
}

static int file_size(int fd, u64 *size)
{
	struct stat st;
	off_t end;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return -EINVAL;
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	*size = end;
	return 0;
}

/* Remember @fd's file in the chain; refuse loops and overlong chains. */
static int chain_add(struct chain *ch, int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int i;

	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	for (i = 0; i < ch->depth; i++) {
		if (ch->dev[i] == st.st_dev && ch->ino[i] == st.st_ino) {
			set_err(err, errlen, "%s: backing file loop: this image is already "
			       "in its own backing chain", path);
			return -ELOOP;
		}
	}
	if (ch->depth == QCOW2_MAX_CHAIN) {
		set_err(err, errlen, "%s: backing chain deeper than %d images", path,
		       QCOW2_MAX_CHAIN);
		return -ELOOP;
	}
	ch->dev[ch->depth] = st.st_dev;
	ch->ino[ch->depth] = st.st_ino;
	ch->depth++;
	return 0;
}

/* Open a backing file read-only; refuse FIFOs and devices other than disks. */
static int open_backing_fd(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		set_err(err, errlen, "cannot open backing file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		set_err(err, errlen, "backing file %s is not a regular file or block device",
		       path);
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

/* "raw" or "qcow2": from the header extension, else by probing. */
static int backing_format(int fd, const char *fmt, const char *path, bool *is_qcow2,
			  char *err, size_t errlen)
{
	u8 magic[QCOW2_MAGIC_LEN];
	ssize_t r;

	if (fmt && fmt[0]) {
		*is_qcow2 = !strcmp(fmt, "qcow2");
		if (*is_qcow2 || !strcmp(fmt, "raw"))
			return 0;
		set_err(err, errlen, "backing file %s: format '%s' is not supported "
		       "(raw or qcow2 only)", path, fmt);
		return -ENOTSUP;
	}
	r = pread_in_full(fd, magic, sizeof(magic), 0);
	*is_qcow2 = r == sizeof(magic) && qcow2_probe(magic, sizeof(magic));
	return 0;
}

static int open_backing(struct qcow2 *q, const struct header *h, const u8 *hdr,
			const struct exts *x, struct chain *ch, char *err, size_t errlen)
{
	char name[MAX_BACKING_NAME + 1], *path;
	bool is_qcow2;
	int fd, ret;

	memcpy(name, hdr + h->backing_file_offset, h->backing_file_size);
	name[h->backing_file_size] = 0;
	if (strlen(name) != h->backing_file_size) {
		set_err(err, errlen, "%s: backing file name contains a NUL byte", q->path);
		return -EINVAL;
	}
	path = resolve_path(q->path, name);
	if (!path)
		return -ENOMEM;
	fd = open_backing_fd(path, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ret = backing_format(fd, x->backing_fmt, path, &is_qcow2, err, errlen);
	if (!ret && is_qcow2) {
		ret = do_open(&q->bq, path, fd, QCOW2_RDONLY, ch, err, errlen);
		if (!ret) {
			q->backing = BACKING_QCOW2;
			q->bsize = q->bq->size;
		}
	} else if (!ret) {
		ret = chain_add(ch, fd, path, err, errlen);
		if (!ret)
			ret = file_size(fd, &q->bsize);
		if (!ret) {
			q->backing = BACKING_RAW;
			q->bfd = fd;
		}
	}
	if (ret && !q->bq && q->backing != BACKING_RAW)
		close(fd);
out:
	free(path);
	return ret;
}

/* Read and check the header; returns the first cluster in *hdrp. */
static int read_header(int fd, u64 fsize, const char *path, struct header *h,
		       u8 **hdrp, char *err, size_t errlen)
{
	u8 fixed[HDR_CREATE_LEN] = { 0 }, *hdr;
	u64 len;
	int ret;

	if (fsize < HDR_V2_LEN) {
		set_err(err, errlen, "%s: truncated qcow2 header (%llu bytes)", path,
		       (unsigned long long)fsize);
		return -EINVAL;
	}
	ret = pread_exact(fd, fixed, MIN(fsize, sizeof(fixed)), 0);
	if (ret) {
		set_err(err, errlen, "%s: cannot read the header: %s", path, strerror(-ret));
		return ret;
	}
	parse_header(fixed, MIN(fsize, sizeof(fixed)), h);
	if (h->magic != QCOW2_MAGIC) {
		set_err(err, errlen, "%s: not a qcow2 image", path);
		return -EINVAL;
	}
	if (h->version != 2 && h->version != 3) {
		set_err(err, errlen, "%s: qcow2 version %u is not supported (2 or 3 only)",
		       path, h->version);
		return -ENOTSUP;
	}
	if (h->version == 3 && fsize < HDR_V3_LEN) {
		set_err(err, errlen, "%s: truncated qcow2 v3 header", path);
		return -EINVAL;
	}
	ret = check_geometry(h, fsize, path, err, errlen);
	if (ret)
		return ret;
	len = MIN(fsize, 1ULL << h->cluster_bits);
	if (h->header_length > len) {
		set_err(err, errlen, "%s: truncated qcow2 header", path);
		return -EINVAL;
	}
	hdr = calloc(1, 1ULL << h->cluster_bits);
	if (!hdr)
		return -ENOMEM;
	ret = pread_exact(fd, hdr, len, 0);
	if (ret) {
		free(hdr);
		set_err(err, errlen, "%s: cannot read the header: %s", path, strerror(-ret));
		return ret;
	}
	*hdrp = hdr;
	return 0;
}

static void init_geometry(struct qcow2 *q, const struct header *h)
{
	q->version = h->version;
	q->cluster_bits = h->cluster_bits;
	q->cluster_size = 1ULL << h->cluster_bits;
	q->l2_bits = h->cluster_bits - 3;
	q->size = h->size;
	q->l1_size = h->l1_size;
	q->l1_offset = h->l1_table_offset;
	q->rt_offset = h->refcount_table_offset;
	q->rt_clusters = h->refcount_table_clusters;
	q->refcount_order = h->refcount_order;
	q->rb_bits = h->cluster_bits + 3 - h->refcount_order;
	q->csize_shift = 62 - (h->cluster_bits - 8);
	q->csize_mask = (1ULL << (h->cluster_bits - 8)) - 1;
	q->coff_mask = (1ULL << q->csize_shift) - 1;
}

/* Autoclear features describe data we do not maintain: drop them. */
static int clear_autoclear(struct qcow2 *q, const struct header *h)
{
	u8 zero[8] = { 0 };
	int ret;

	if (h->version < 3 || !h->autoclear)
		return 0;
	ret = pwrite_all(q->fd, zero, 8, 88);
	return ret ? ret : sync_fd(q->fd);
}

static int do_open(struct qcow2 **qp, const char *path, int fd, unsigned int flags,
		   struct chain *ch, char *err, size_t errlen)
{
	bool ro = flags & QCOW2_RDONLY;
	struct header h;
	struct exts x;
	struct qcow2 *q;
	u8 *hdr = NULL;
	u64 fsize;
	int ret;

	ret = file_size(fd, &fsize);
	if (ret) {
		set_err(err, errlen, "%s: not a regular file or block device", path);
		return ret;
	}
	ret = chain_add(ch, fd, path, err, errlen);
	if (ret)
		return ret;
	ret = read_header(fd, fsize, path, &h, &hdr, err, errlen);
	if (ret)
		return ret;
	ret = parse_exts(&h, hdr, MIN(fsize, 1ULL << h.cluster_bits), &x, path, err, errlen);
	if (!ret)
		ret = check_features(&h, &x, ro, path, err, errlen);
	if (!ret && h.backing_file_offset && (flags & QCOW2_NO_BACKING)) {
		set_err(err, errlen, "%s: backing files are not allowed here", path);
		ret = -EPERM;
	}
	if (ret)
		goto out_hdr;

	ret = -ENOMEM;
	q = calloc(1, sizeof(*q));
	if (!q)
		goto out_hdr;
	pthread_mutex_init(&q->lock, NULL);
	q->fd = fd;
	q->bfd = -1;
	q->readonly = ro;
	q->file_size = fsize;
	q->path = strdup(path);
	init_geometry(q, &h);
	if (!q->path || alloc_buffers(q)) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out_free;
	}
	ret = load_l1(q, &h, err, errlen);
	if (!ret && !ro)
		ret = load_refcounts(q, &h, err, errlen);
	if (!ret && h.backing_file_offset)
		ret = open_backing(q, &h, hdr, &x, ch, err, errlen);
	if (!ret && !ro) {
		ret = clear_autoclear(q, &h);
		if (ret)
			set_err(err, errlen, "%s: cannot update the header: %s", path,
			       strerror(-ret));
	}
	if (ret)
		goto out_free;
	free(hdr);
	*qp = q;
	return 0;

out_free:
	q->fd = -1;		/* the caller keeps it */
	free_qcow2(q);
out_hdr:
	free(hdr);
	return ret;
}

int qcow2_open(struct qcow2 **q, const char *path, int fd, unsigned int flags,
	       char *err, size_t errlen)
{
	struct chain ch = { 0 };

	set_err(err, errlen, "%s: unknown error", path);
	return do_open(q, path, fd, flags, &ch, err, errlen);
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	if (!q->readonly && sync_fd(q->fd))
		pr_warn("%s: flush on close failed: %s", q->path, strerror(errno));
	if (q->fd >= 0)
		close(q->fd);
	free_qcow2(q);
}

/* ---- create ---- */

#define CREATE_CLUSTER_BITS	16

/* The virtual size and format of a prospective backing file. */
static int probe_backing(const char *path, const char *fmt, u64 *size, bool *is_qcow2,
			 char *err, size_t errlen)
{
	struct qcow2 *bq;
	int fd, ret;

	fd = open_backing_fd(path, err, errlen);
	if (fd < 0)
		return fd;
	ret = backing_format(fd, fmt, path, is_qcow2, err, errlen);
	if (!ret && *is_qcow2) {
		ret = qcow2_open(&bq, path, fd, QCOW2_RDONLY, err, errlen);
		if (!ret) {
			*size = qcow2_size(bq);
			qcow2_close(bq);
			return 0;
		}
	} else if (!ret) {
		ret = file_size(fd, size);
	}
	close(fd);
	return ret;
}

/* Header, extensions and backing name of a new image into cluster @b. */
static int build_header(u8 *b, u64 cs, u64 size, u64 l1_entries, const char *backing,
			const char *fmt)
{
	size_t off = HDR_CREATE_LEN, blen = backing ? strlen(backing) : 0;

	put_be32(b, QCOW2_MAGIC);
	put_be32(b + 4, 3);
	put_be32(b + 20, CREATE_CLUSTER_BITS);
	put_be64(b + 24, size);
	put_be32(b + 36, l1_entries);
	put_be64(b + 40, 3 * cs);
	put_be64(b + 48, cs);
	put_be32(b + 56, 1);
	put_be32(b + 96, 4);
	put_be32(b + 100, HDR_CREATE_LEN);
	if (backing) {
		put_be32(b + off, EXT_BACKING_FMT);
		put_be32(b + off + 4, strlen(fmt));
		memcpy(b + off + 8, fmt, strlen(fmt));
		off += 8 + ALIGN_UP(strlen(fmt), 8);
	}
	off += 8;		/* end of extensions */
	if (blen) {
		if (blen > MAX_BACKING_NAME)
			return -ENAMETOOLONG;
		put_be64(b + 8, off);
		put_be32(b + 16, blen);
		memcpy(b + off, backing, blen);
	}
	return 0;
}

int qcow2_create(const char *path, u64 size, const char *backing_file,
		 const char *backing_fmt, char *err, size_t errlen)
{
	u64 cs = 1ULL << CREATE_CLUSTER_BITS, l1_entries, l1_clusters, i, n;
	bool is_qcow2 = false;
	u8 *buf = NULL;
	int fd, ret;

	if (backing_file) {
		char *bpath = resolve_path(path, backing_file);
		u64 bsize = 0;

		if (!bpath)
			return -ENOMEM;
		ret = probe_backing(bpath, backing_fmt, &bsize, &is_qcow2, err, errlen);
		free(bpath);
		if (ret)
			return ret;
		if (!size)
			size = bsize;
	}
	size = ALIGN_UP(size, SECTOR);
	l1_entries = DIV_ROUND_UP(size, cs * (cs / 8));
	l1_clusters = MAX(1, DIV_ROUND_UP(l1_entries * 8, cs));
	if (size > MAX_VIRTUAL_SIZE || l1_entries * 8 > MAX_L1_BYTES) {
		set_err(err, errlen, "%s: size %llu is too large", path, (unsigned long long)size);
		return -EFBIG;
	}

	buf = calloc(3, cs);
	if (!buf)
		return -ENOMEM;
	ret = build_header(buf, cs, size, l1_entries, backing_file,
			   is_qcow2 ? "qcow2" : "raw");
	if (ret) {
		set_err(err, errlen, "%s: backing file name too long", path);
		goto out;
	}
	put_be64(buf + cs, 2 * cs);		/* refcount table -> block */
	n = 3 + l1_clusters;			/* header, table, block, L1 */
	for (i = 0; i < n; i++)
		put_be16(buf + 2 * cs + 2 * i, 1);

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	ret = pwrite_all(fd, buf, 3 * cs, 0);
	if (!ret && ftruncate(fd, n * cs) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret) {
		set_err(err, errlen, "cannot write %s: %s", path, strerror(-ret));
		unlink(path);
	}
out:
	free(buf);
	return ret;
}
