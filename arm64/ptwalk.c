// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page-table walker: stage-1 EL1&0 translation as the Arm ARM
 * describes it (VMSAv8-64 for AArch64, and for AArch32 EL1 both the
 * long-descriptor (LPAE, TTBCR.EAE=1) and the short-descriptor format),
 * for `lkvm debug` and the GDB stub. Tables are read through the
 * caller's read_phys callback, so everything here is testable without a
 * VM and a guest's table can only make a walk fail, never lkvm.
 *
 * The long-descriptor walk is shared: AArch64 with a 4K, 16K or 64K
 * granule and AArch32 LPAE (4K, 40-bit output) differ only in how the
 * registers give the first table, the input size and the output size
 * (struct walk). A walk has at most 4 levels (the loop is bounded by
 * the level number, so a table pointing at itself ends at level 3).
 *
 * Not implemented, refused with a reason: FEAT_LPA2 (TCR_EL1.DS=1,
 * 52-bit with 4K/16K), FEAT_TTST (TxSZ above 39), big-endian tables
 * (SCTLR.EE=1). 52-bit with 64K pages (FEAT_LVA/FEAT_LPA) is supported.
 * Permissions and the access flag are ignored on purpose: Linux clears
 * AF to age pages that stay mapped, and a debugger reads them too.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lkvm/guest-mem.h"
#include "lkvm/ptwalk.h"

#define BIT64(n)		(1ULL << (n))
#define GENMASK64(h, l)		((~0ULL >> (63 - (h))) & ~(BIT64(l) - 1))

#define SCTLR_M			BIT64(0)
#define SCTLR_EE		BIT64(25)

/* TCR_EL1 */
#define TCR_T0SZ(t)		((t) & 0x3f)
#define TCR_EPD0		BIT64(7)
#define TCR_TG0(t)		(((t) >> 14) & 3)
#define TCR_T1SZ(t)		(((t) >> 16) & 0x3f)
#define TCR_EPD1		BIT64(23)
#define TCR_TG1(t)		(((t) >> 30) & 3)
#define TCR_IPS(t)		(((t) >> 32) & 7)
#define TCR_TBI0		BIT64(37)
#define TCR_TBI1		BIT64(38)
#define TCR_DS			BIT64(59)
#define TXSZ_MIN		16	/* 48-bit VA; 12 with 64K (FEAT_LVA) */
#define TXSZ_MIN_64K		12
#define TXSZ_MAX		39	/* larger needs FEAT_TTST */

/* AArch32 TTBCR */
#define TTBCR_T0SZ(t)		((t) & 7)
#define TTBCR_N(t)		((t) & 7)
#define TTBCR_PD0		BIT64(4)
#define TTBCR_PD1		BIT64(5)
#define TTBCR_EPD0		BIT64(7)
#define TTBCR_T1SZ(t)		(((t) >> 16) & 7)
#define TTBCR_EPD1		BIT64(23)
#define TTBCR_EAE		BIT64(31)

#define MAX_LEVEL		3
#define FLAT_CHUNK		SZ_1G	/* MMU off: read_virt's step */

/* One long-descriptor walk, however the registers described it. */
struct walk {
	const char *ttbr;	/* the register's name, for messages */
	u64 table;		/* first table's address */
	u64 va;			/* the input address */
	unsigned int in_bits;	/* input address size */
	unsigned int pa_bits;	/* output address size */
	unsigned int page_shift;
	bool oa52;		/* 64K with 52-bit OA: OA[51:48] in [15:12] */
};

static unsigned int bits_per_level(const struct walk *w)
{
	return w->page_shift - 3;
}

static int start_level(const struct walk *w)
{
	unsigned int bpl = bits_per_level(w);

	return 4 - (int)((w->in_bits - w->page_shift + bpl - 1) / bpl);
}

static unsigned int level_shift(const struct walk *w, int level)
{
	return w->page_shift + (MAX_LEVEL - level) * bits_per_level(w);
}

/* Entries in the first table: the input bits the first level resolves. */
static u64 first_table_size(const struct walk *w)
{
	return 8ULL << (w->in_bits - level_shift(w, start_level(w)));
}

/* Block descriptors: where the architecture allows them. */
static bool block_allowed(const struct walk *w, int level)
{
	if (w->page_shift == 12)
		return level == 1 || level == 2;
	if (w->page_shift == 16 && level == 1)
		return w->pa_bits == 52;	/* FEAT_LPA: 4 TiB blocks */
	return level == 2;
}

/* The output address in a table/block/page descriptor. */
static u64 desc_oa(const struct walk *w, u64 desc)
{
	u64 oa = desc & GENMASK64(47, w->page_shift);

	if (w->oa52)
		oa |= ((desc >> 12) & 0xf) << 48;
	return oa;
}

static int check_oa(const struct walk *w, u64 oa, int level, char *err,
		    size_t errlen)
{
	if (w->pa_bits >= 64 || !(oa >> w->pa_bits))
		return 0;
	set_err(err, errlen,
		"VA 0x%" PRIx64 ": level %d output address 0x%" PRIx64
		" is beyond the %u-bit physical address size",
		w->va, level, oa, w->pa_bits);
	return -EFAULT;
}

static int read_desc(const struct pt_ctx *ctx, u64 gpa, void *buf,
		     size_t len, int level, u64 va, char *err, size_t errlen)
{
	int ret = ctx->read_phys(ctx->opaque, gpa, buf, len);

	if (ret >= 0)
		return 0;
	set_err(err, errlen,
		"VA 0x%" PRIx64 ": level %d table entry at PA 0x%" PRIx64
		" cannot be read (%s)", va, level, gpa, strerror(-ret));
	return -EIO;
}

static int invalid_desc(const struct walk *w, int level, u64 desc, u64 at,
			char *err, size_t errlen)
{
	set_err(err, errlen,
		"VA 0x%" PRIx64 " not mapped: level %d descriptor 0x%" PRIx64
		" at PA 0x%" PRIx64 " (%s) is invalid", w->va, level, desc, at,
		w->ttbr);
	return -EFAULT;
}

/* A block or page descriptor: the final address. */
static int walk_leaf(const struct walk *w, int level, u64 desc,
		     struct pt_map *map, char *err, size_t errlen)
{
	u64 size = BIT64(level_shift(w, level));
	u64 oa = desc_oa(w, desc) & ~(size - 1);

	if (level < MAX_LEVEL && !block_allowed(w, level)) {
		set_err(err, errlen,
			"VA 0x%" PRIx64 ": block descriptor 0x%" PRIx64
			" at level %d is not allowed with a %lluK granule",
			w->va, desc, level, BIT64(w->page_shift) >> 10);
		return -EINVAL;
	}
	if (check_oa(w, oa, level, err, errlen) < 0)
		return -EFAULT;
	map->gpa = oa | (w->va & (size - 1));
	map->size = size;
	map->level = level;
	map->desc = desc;
	return 0;
}

/* The long-descriptor walk proper: at most 4 levels. */
static int walk_long(const struct pt_ctx *ctx, const struct walk *w,
		     struct pt_map *map, char *err, size_t errlen)
{
	int level = start_level(w);
	u64 table = w->table;
	unsigned int nbits = w->in_bits - level_shift(w, level);

	for (; level <= MAX_LEVEL; level++) {
		unsigned int shift = level_shift(w, level);
		u64 at = table + ((w->va >> shift) & (BIT64(nbits) - 1)) * 8;
		u8 raw[8];
		u64 desc;

		if (read_desc(ctx, at, raw, 8, level, w->va, err, errlen) < 0)
			return -EIO;
		desc = get_le64(raw);
		if (!(desc & 1) || (level == MAX_LEVEL && !(desc & 2)))
			return invalid_desc(w, level, desc, at, err, errlen);
		if (level == MAX_LEVEL || !(desc & 2))
			return walk_leaf(w, level, desc, map, err, errlen);
		table = desc_oa(w, desc);
		if (check_oa(w, table, level, err, errlen) < 0)
			return -EFAULT;
		nbits = bits_per_level(w);
	}
	return -EFAULT;	/* not reached: level 3 always returns */
}

/* The first table from a TTBR, which must be aligned to its size. */
static int walk_base(struct walk *w, u64 ttbr, u64 mask, char *err,
		     size_t errlen)
{
	u64 size = first_table_size(w);

	w->table = ttbr & mask;
	if (w->oa52) {
		w->table &= ~GENMASK64(5, 2);
		w->table |= ((ttbr >> 2) & 0xf) << 48;
		size = MAX(size, 64);
	}
	if (!(w->table & (size - 1)))
		return 0;
	set_err(err, errlen,
		"%s 0x%" PRIx64 " is not aligned to its %" PRIu64
		"-byte first-level table", w->ttbr, ttbr, size);
	return -EINVAL;
}

/* A walk of one half from its TTBR, unless its EPD bit disables it. */
static int walk_half(const struct pt_ctx *ctx, struct walk *w, bool disabled,
		     const char *epd, u64 ttbr, u64 mask, struct pt_map *map,
		     char *err, size_t errlen)
{
	int ret;

	if (disabled) {
		set_err(err, errlen,
			"VA 0x%" PRIx64 " not mapped: %s walks are disabled (%s=1)",
			w->va, w->ttbr, epd);
		return -EFAULT;
	}
	ret = walk_base(w, ttbr, mask, err, errlen);
	if (ret < 0)
		return ret;
	return walk_long(ctx, w, map, err, errlen);
}

/* ---- AArch64 ---- */

static const unsigned int ips_bits[8] = { 32, 36, 40, 42, 44, 48, 52, 0 };

static int granule_shift(u64 tcr, bool upper)
{
	static const int tg0[4] = { 12, 16, 14, -1 };
	static const int tg1[4] = { -1, 14, 12, 16 };

	return upper ? tg1[TCR_TG1(tcr)] : tg0[TCR_TG0(tcr)];
}

/* The half @va is in, and that its unused top bits are all equal. */
static int a64_half(const struct pt_regs *r, u64 va, unsigned int in_bits,
		    char *err, size_t errlen)
{
	bool upper = va & BIT64(55);
	bool tbi = r->tcr & (upper ? TCR_TBI1 : TCR_TBI0);
	u64 top = GENMASK64(tbi ? 55 : 63, in_bits);

	if ((va & top) == (upper ? top : 0))
		return 0;
	set_err(err, errlen,
		"VA 0x%" PRIx64 " not mapped: outside the %u-bit %s range",
		va, in_bits, upper ? "TTBR1_EL1" : "TTBR0_EL1");
	return -EFAULT;
}

static int a64_txsz(u64 tcr, bool upper, unsigned int shift, char *err,
		    size_t errlen)
{
	unsigned int txsz = upper ? TCR_T1SZ(tcr) : TCR_T0SZ(tcr);
	unsigned int min = shift == 16 ? TXSZ_MIN_64K : TXSZ_MIN;

	if (txsz >= min && txsz <= TXSZ_MAX)
		return (int)txsz;
	set_err(err, errlen, "TCR_EL1.%s=%u is out of range (%u to %u)",
		upper ? "T1SZ" : "T0SZ", txsz, min, TXSZ_MAX);
	return -EINVAL;
}

/* TCR_EL1 fields that describe the walk of @va's half. */
static int a64_config(const struct pt_regs *r, bool upper, struct walk *w,
		      char *err, size_t errlen)
{
	int shift = granule_shift(r->tcr, upper);
	int txsz;

	if (shift < 0) {
		set_err(err, errlen, "TCR_EL1.%s has a reserved granule size",
			upper ? "TG1" : "TG0");
		return -EINVAL;
	}
	if ((r->tcr & TCR_DS) && shift != 16) {
		set_err(err, errlen,
			"TCR_EL1.DS=1 (52-bit addresses with 4K/16K pages, FEAT_LPA2) is not supported");
		return -EOPNOTSUPP;
	}
	txsz = a64_txsz(r->tcr, upper, shift, err, errlen);
	if (txsz < 0)
		return txsz;
	w->page_shift = shift;
	w->in_bits = 64 - txsz;
	w->pa_bits = ips_bits[TCR_IPS(r->tcr)];
	if (!w->pa_bits) {
		set_err(err, errlen, "TCR_EL1.IPS=7 is reserved");
		return -EINVAL;
	}
	if (w->pa_bits == 52 && shift != 16)
		w->pa_bits = 48;	/* 52 bits need DS=1 with 4K/16K */
	w->oa52 = w->pa_bits == 52;
	return 0;
}

static int a64_translate(const struct pt_ctx *ctx, u64 va, struct pt_map *map,
			 char *err, size_t errlen)
{
	const struct pt_regs *r = &ctx->regs;
	bool upper = va & BIT64(55);
	struct walk w = { .va = va, .ttbr = upper ? "TTBR1_EL1" : "TTBR0_EL1" };
	int ret = a64_config(r, upper, &w, err, errlen);

	if (ret < 0)
		return ret;
	ret = a64_half(r, va, w.in_bits, err, errlen);
	if (ret < 0)
		return ret;
	return walk_half(ctx, &w, r->tcr & (upper ? TCR_EPD1 : TCR_EPD0),
			 upper ? "TCR_EL1.EPD1" : "TCR_EL1.EPD0",
			 upper ? r->ttbr1 : r->ttbr0, GENMASK64(47, 1), map,
			 err, errlen);
}

/* ---- AArch32 long descriptors (LPAE) ---- */

/* TTBR1 covers the top 2^(32-T1SZ) bytes when T1SZ > 0; TTBR0 the rest. */
static int lpae_half(const struct pt_regs *r, u64 va, bool *upper,
		     unsigned int *in_bits, char *err, size_t errlen)
{
	unsigned int t0 = TTBCR_T0SZ(r->tcr), t1 = TTBCR_T1SZ(r->tcr);

	*upper = t1 && va >= BIT64(32) - BIT64(32 - t1);
	*in_bits = 32 - (*upper ? t1 : t0);
	if (*upper || !t0 || va < BIT64(32 - t0))
		return 0;
	set_err(err, errlen,
		"VA 0x%" PRIx64 " not mapped: between the TTBR0 and TTBR1 ranges (TTBCR 0x%" PRIx64 ")",
		va, r->tcr & 0xffffffff);
	return -EFAULT;
}

static int lpae_translate(const struct pt_ctx *ctx, u64 va, struct pt_map *map,
			  char *err, size_t errlen)
{
	const struct pt_regs *r = &ctx->regs;
	struct walk w = { .va = va, .page_shift = 12, .pa_bits = 40 };
	bool upper;
	int ret = lpae_half(r, va, &upper, &w.in_bits, err, errlen);

	if (ret < 0)
		return ret;
	w.ttbr = upper ? "TTBR1" : "TTBR0";
	return walk_half(ctx, &w, r->tcr & (upper ? TTBCR_EPD1 : TTBCR_EPD0),
			 upper ? "TTBCR.EPD1" : "TTBCR.EPD0",
			 upper ? r->ttbr1 : r->ttbr0, GENMASK64(39, 1), map,
			 err, errlen);
}

/* ---- AArch32 short descriptors ---- */

static void short_map(struct pt_map *map, u64 base, u64 size, u64 va,
		      int level, u32 desc)
{
	map->gpa = base | (va & (size - 1));
	map->size = size;
	map->level = level;
	map->desc = desc;
}

/* Section (1 MiB) or supersection (16 MiB, PA[39:32] in the descriptor). */
static void short_section(struct pt_map *map, u64 va, u32 desc)
{
	u64 base;

	if (!(desc & BIT64(18))) {
		short_map(map, desc & GENMASK64(31, 20), SZ_1M, va, 1, desc);
		return;
	}
	base = (desc & GENMASK64(31, 24)) | (u64)((desc >> 20) & 0xf) << 32 |
	       (u64)((desc >> 5) & 0xf) << 36;
	short_map(map, base, 16 * SZ_1M, va, 1, desc);
}

static int short_l2(const struct pt_ctx *ctx, u64 va, u32 l1,
		    struct pt_map *map, char *err, size_t errlen)
{
	u64 at = (l1 & GENMASK64(31, 10)) + ((va >> 12) & 0xff) * 4;
	u8 raw[4];
	u32 desc;

	if (read_desc(ctx, at, raw, 4, 2, va, err, errlen) < 0)
		return -EIO;
	desc = get_le32(raw);
	if (desc & 2)			/* small page, XN in bit 0 */
		short_map(map, desc & GENMASK64(31, 12), SZ_4K, va, 2, desc);
	else if (desc & 1)		/* large page */
		short_map(map, desc & GENMASK64(31, 16), SZ_64K, va, 2, desc);
	else
		return invalid_desc(&(struct walk){ .va = va, .ttbr = "TTBR" },
				    2, desc, at, err, errlen);
	return 0;
}

/* TTBR0 covers VA[31:32-N] == 0; its table is 16 KiB >> N. */
static int short_translate(const struct pt_ctx *ctx, u64 va,
			   struct pt_map *map, char *err, size_t errlen)
{
	const struct pt_regs *r = &ctx->regs;
	unsigned int n = TTBCR_N(r->tcr);
	bool upper = n && (va >> (32 - n));
	u64 ttbr = upper ? r->ttbr1 : r->ttbr0;
	u64 idx = upper ? va >> 20 : (va & GENMASK64(31 - n, 0)) >> 20;
	u64 at = (ttbr & GENMASK64(31, upper ? 14 : 14 - n)) + idx * 4;
	u8 raw[4];
	u32 desc;

	if (r->tcr & (upper ? TTBCR_PD1 : TTBCR_PD0)) {
		set_err(err, errlen,
			"VA 0x%" PRIx64 " not mapped: TTBR%d walks are disabled (TTBCR.PD%d=1)",
			va, upper, upper);
		return -EFAULT;
	}
	if (read_desc(ctx, at, raw, 4, 1, va, err, errlen) < 0)
		return -EIO;
	desc = get_le32(raw);
	if (desc & 2) {			/* section, PXN in bit 0 */
		short_section(map, va, desc);
		return 0;
	}
	if (desc & 1)
		return short_l2(ctx, va, desc, map, err, errlen);
	return invalid_desc(&(struct walk){ .va = va, .ttbr = upper ? "TTBR1" : "TTBR0" },
			    1, desc, at, err, errlen);
}

/* ---- entry points ---- */

static int flat(const struct pt_regs *r, u64 va, struct pt_map *map,
		char *err, size_t errlen)
{
	if (va >> (r->aarch32 ? 32 : 52)) {
		set_err(err, errlen,
			"VA 0x%" PRIx64 " not mapped: the MMU is off and it is beyond the physical address space",
			va);
		return -EFAULT;
	}
	map->gpa = va;
	map->size = FLAT_CHUNK;
	map->level = -1;
	map->desc = 0;
	return 0;
}

int pt_translate(const struct pt_ctx *ctx, u64 va, struct pt_map *map,
		 char *err, size_t errlen)
{
	const struct pt_regs *r = &ctx->regs;

	if (!(r->sctlr & SCTLR_M))
		return flat(r, va, map, err, errlen);
	if (r->sctlr & SCTLR_EE) {
		set_err(err, errlen,
			"big-endian translation tables (SCTLR.EE=1) are not supported");
		return -EOPNOTSUPP;
	}
	if (!r->aarch32)
		return a64_translate(ctx, va, map, err, errlen);
	if (va >> 32) {
		set_err(err, errlen,
			"VA 0x%" PRIx64 " not mapped: an AArch32 address has 32 bits", va);
		return -EFAULT;
	}
	if (r->tcr & TTBCR_EAE)
		return lpae_translate(ctx, va, map, err, errlen);
	return short_translate(ctx, va, map, err, errlen);
}

/* Bytes of the mapping of @va from @va to its end, at most @len. */
static size_t chunk_len(const struct pt_map *map, u64 va, size_t len)
{
	u64 left = map->size - (va & (map->size - 1));

	return left < len ? (size_t)left : len;
}

static int phys_error(u64 va, u64 gpa, int ret, char *err, size_t errlen)
{
	set_err(err, errlen,
		"VA 0x%" PRIx64 " (PA 0x%" PRIx64 ") cannot be accessed (%s)",
		va, gpa, strerror(-ret));
	return -EIO;
}

/* Copy page by page: into @rbuf (reads) or out of @wbuf (writes). */
static int virt_copy(const struct pt_ctx *ctx, u64 va, u8 *rbuf,
		     const u8 *wbuf, size_t len, char *err, size_t errlen)
{
	size_t done = 0;

	while (done < len) {
		struct pt_map map;
		size_t n;
		int ret = pt_translate(ctx, va + done, &map, err, errlen);

		if (ret < 0)
			return ret;
		n = chunk_len(&map, va + done, len - done);
		if (rbuf)
			ret = ctx->read_phys(ctx->opaque, map.gpa, rbuf + done, n);
		else
			ret = ctx->write_phys(ctx->opaque, map.gpa, wbuf + done, n);
		if (ret < 0)
			return phys_error(va + done, map.gpa, ret, err, errlen);
		done += n;
	}
	return 0;
}

int pt_read_virt(const struct pt_ctx *ctx, u64 va, void *buf, size_t len,
		 char *err, size_t errlen)
{
	return virt_copy(ctx, va, buf, NULL, len, err, errlen);
}

int pt_write_virt(const struct pt_ctx *ctx, u64 va, const void *buf,
		  size_t len, char *err, size_t errlen)
{
	if (!ctx->write_phys) {
		set_err(err, errlen, "guest memory is read-only here");
		return -EROFS;
	}
	return virt_copy(ctx, va, NULL, buf, len, err, errlen);
}

u64 pt_strip_pac(const struct pt_regs *r, u64 va)
{
	bool upper = va & BIT64(55);
	unsigned int txsz = upper ? TCR_T1SZ(r->tcr) : TCR_T0SZ(r->tcr);
	u64 top;

	if (r->aarch32 || !(r->sctlr & SCTLR_M) || txsz < TXSZ_MIN_64K ||
	    txsz > TXSZ_MAX)
		return va;
	top = GENMASK64(63, 64 - txsz);
	return upper ? va | top : va & ~top;
}

int pt_guest_mem_read(void *opaque, u64 gpa, void *buf, size_t len)
{
	const void *p = guest_ptr(opaque, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int pt_guest_mem_write(void *opaque, u64 gpa, const void *buf, size_t len)
{
	void *p = guest_ptr(opaque, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}
