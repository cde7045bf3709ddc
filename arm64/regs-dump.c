// SPDX-License-Identifier: GPL-2.0
/*
 * The register dump of `lkvm debug --dump`: a vCPU's registers, the
 * code around PC and a frame-pointer stack walk, as text for people
 * and for grep. Pure: it prints a struct lkvm_regs (arm64/regs.c) and
 * reads guest memory only through a struct pt_ctx.
 *
 * The format (version 1, stable: add lines, never change existing ones;
 * a change of meaning bumps REGS_DUMP_VERSION) is described in one
 * place, README.md's "Register dump format": change both together.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "lkvm/regs.h"

#define PSTATE_NRW		0x10	/* AArch32 state */
#define CPSR_T			0x20

static void line64(FILE *f, int cpu, const char *name, u64 v)
{
	fprintf(f, "cpu%d %s 0x%016" PRIx64 "\n", cpu, name, v);
}

static void line32(FILE *f, int cpu, const char *name, u32 v)
{
	fprintf(f, "cpu%d %s 0x%08" PRIx32 "\n", cpu, name, v);
}

/* A little-endian register of @len bytes, most significant first. */
static void line_le(FILE *f, int cpu, const char *name, const u8 *le,
		    size_t len)
{
	fprintf(f, "cpu%d %s 0x", cpu, name);
	while (len--)
		fprintf(f, "%02x", le[len]);
	fputc('\n', f);
}

static void line_v(FILE *f, int cpu, const char *name, const struct vreg *v)
{
	fprintf(f, "cpu%d %s 0x%016" PRIx64 "%016" PRIx64 "\n", cpu, name,
		v->hi, v->lo);
}

/* ---- AArch64 ---- */

static const struct {
	const char *name;
	size_t off;
} a64_named[] = {
#define N(x)	{ #x, offsetof(struct lkvm_regs, x) }
	N(sp_el0), N(sp_el1), N(pc), N(pstate), N(elr_el1),
	{ "spsr_el1", offsetof(struct lkvm_regs, spsr) },
	N(esr_el1), N(far_el1), N(sctlr_el1), N(tcr_el1), N(ttbr0_el1),
	N(ttbr1_el1), N(vbar_el1), N(mair_el1),
#undef N
};

static void dump_sve(FILE *f, int cpu, const struct lkvm_regs *r)
{
	char name[16];

	fprintf(f, "cpu%d sve_vl %u\n", cpu, r->sve_vq * 128);
	line64(f, cpu, "zcr_el1", r->zcr_el1);
	for (int i = 0; i < 32; i++) {
		snprintf(name, sizeof(name), "z%d", i);
		line_le(f, cpu, name, r->z[i], r->sve_vq * 16);
	}
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		line_le(f, cpu, name, r->p[i], r->sve_vq * 2);
	}
	line_le(f, cpu, "ffr", r->ffr, r->sve_vq * 2);
}

static void dump_a64(FILE *f, int cpu, const struct lkvm_regs *r)
{
	char name[16];

	for (int i = 0; i < 31; i++) {
		snprintf(name, sizeof(name), "x%d", i);
		line64(f, cpu, name, r->x[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(a64_named); i++)
		line64(f, cpu, a64_named[i].name,
		       *(const u64 *)((const u8 *)r + a64_named[i].off));
	for (int i = 0; i < 32; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		line_v(f, cpu, name, &r->v[i]);
	}
	line32(f, cpu, "fpsr", r->fpsr);
	line32(f, cpu, "fpcr", r->fpcr);
	if (r->sve_vq)
		dump_sve(f, cpu, r);
}

/* ---- AArch32 ---- */

/* Banked registers: where KVM keeps them (x number, or spsr[] index). */
static const struct {
	const char *name;
	int x;
	int spsr;
} a32_banked[] = {
	{ "r8_usr", 8, -1 }, { "r9_usr", 9, -1 }, { "r10_usr", 10, -1 },
	{ "r11_usr", 11, -1 }, { "r12_usr", 12, -1 }, { "sp_usr", 13, -1 },
	{ "lr_usr", 14, -1 },
	{ "sp_svc", 19, -1 }, { "lr_svc", 18, -1 }, { "spsr_svc", -1, 0 },
	{ "sp_abt", 21, -1 }, { "lr_abt", 20, -1 }, { "spsr_abt", -1, 1 },
	{ "sp_und", 23, -1 }, { "lr_und", 22, -1 }, { "spsr_und", -1, 2 },
	{ "sp_irq", 17, -1 }, { "lr_irq", 16, -1 }, { "spsr_irq", -1, 3 },
	{ "r8_fiq", 24, -1 }, { "r9_fiq", 25, -1 }, { "r10_fiq", 26, -1 },
	{ "r11_fiq", 27, -1 }, { "r12_fiq", 28, -1 }, { "sp_fiq", 29, -1 },
	{ "lr_fiq", 30, -1 }, { "spsr_fiq", -1, 4 },
};

static void dump_a32_core(FILE *f, int cpu, const struct lkvm_regs *r)
{
	bool fiq = (r->pstate & 0x1f) == 0x11;
	char name[16];

	for (int i = 0; i < 13; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		line32(f, cpu, name, r->x[fiq && i >= 8 ? i + 16 : i]);
	}
	line32(f, cpu, "sp", regs_a32_sp(r));
	line32(f, cpu, "lr", regs_a32_lr(r));
	line32(f, cpu, "pc", r->pc);
	line32(f, cpu, "cpsr", r->pstate);
	for (size_t i = 0; i < ARRAY_SIZE(a32_banked); i++)
		line32(f, cpu, a32_banked[i].name, a32_banked[i].x >= 0 ?
		       r->x[a32_banked[i].x] : r->spsr[a32_banked[i].spsr]);
}

static void dump_a32(FILE *f, int cpu, const struct lkvm_regs *r)
{
	char name[16];

	dump_a32_core(f, cpu, r);
	line32(f, cpu, "sctlr", r->sctlr_el1);
	line32(f, cpu, "ttbcr", r->tcr_el1);
	line64(f, cpu, "ttbr0", r->ttbr0_el1);
	line64(f, cpu, "ttbr1", r->ttbr1_el1);
	line32(f, cpu, "dfsr", r->esr_el1);
	line32(f, cpu, "dfar", r->far_el1);
	line32(f, cpu, "ifar", r->far_el1 >> 32);
	line32(f, cpu, "vbar", r->vbar_el1);
	line32(f, cpu, "mair0", r->mair_el1);
	line32(f, cpu, "mair1", r->mair_el1 >> 32);
	for (int i = 0; i < 32; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		line64(f, cpu, name, i & 1 ? r->v[i / 2].hi : r->v[i / 2].lo);
	}
	line32(f, cpu, "fpscr", regs_a32_fpscr(r));
}

static bool in_aarch32(const struct lkvm_regs *r)
{
	return r->pstate & PSTATE_NRW;
}

void regs_dump_header(FILE *f)
{
	fprintf(f, "# lkvm register dump v%d\n", REGS_DUMP_VERSION);
}

void regs_dump(FILE *f, int cpu, const struct lkvm_regs *r)
{
	fprintf(f, "cpu%d state %s %s%s\n", cpu,
		in_aarch32(r) ? "aarch32" : "aarch64", regs_mode_name(r),
		in_aarch32(r) && (r->pstate & CPSR_T) ? " thumb" : "");
	if (r->el1_aarch32)
		dump_a32(f, cpu, r);
	else
		dump_a64(f, cpu, r);
}

/* ---- code and stack ---- */

void regs_dump_code(FILE *f, int cpu, const struct lkvm_regs *r,
		    const struct pt_ctx *ctx)
{
	size_t unit = in_aarch32(r) && (r->pstate & CPSR_T) ? 2 : 4;
	u64 pc = ALIGN_DOWN(r->pc, unit);
	u64 start = pc - REGS_CODE_BEFORE;

	fprintf(f, "cpu%d code 0x%016" PRIx64, cpu, start);
	/* counted, not compared: the range may wrap around 0 */
	for (size_t i = 0; i < (REGS_CODE_BEFORE + REGS_CODE_AFTER) / unit; i++) {
		u64 a = start + i * unit;
		u8 b[4];
		u32 w;

		if (pt_read_virt(ctx, a, b, unit, NULL, 0) < 0) {
			fprintf(f, a == pc ? " (%.*s)" : " %.*s",
				(int)unit * 2, "????????");
			continue;
		}
		w = unit == 4 ? get_le32(b) : get_le16(b);
		fprintf(f, a == pc ? " (%0*" PRIx32 ")" : " %0*" PRIx32,
			(int)unit * 2, w);
	}
	fputc('\n', f);
}

/* One frame record {fp, lr} at @fp: 0, or 1 at the end (@why says why). */
static int next_frame(const struct pt_ctx *ctx, u64 fp, u64 *next,
		      u64 *ret, char *why, size_t whylen)
{
	char err[192];
	u8 rec[16];

	if (!fp) {
		set_err(why, whylen, "fp is 0 (outermost frame)");
		return 1;
	}
	if (fp & 7) {
		set_err(why, whylen, "fp 0x%" PRIx64 " is misaligned", fp);
		return 1;
	}
	if (pt_read_virt(ctx, fp, rec, sizeof(rec), err, sizeof(err)) < 0) {
		set_err(why, whylen, "frame record at 0x%" PRIx64 ": %s", fp,
			err);
		return 1;
	}
	*next = get_le64(rec);
	*ret = pt_strip_pac(&ctx->regs, get_le64(rec + 8));
	if (*ret)
		return 0;
	set_err(why, whylen, "return address 0 (outermost frame)");
	return 1;
}

int regs_backtrace(const struct lkvm_regs *r, const struct pt_ctx *ctx,
		   struct regs_frame *frames, int max, char *why,
		   size_t whylen)
{
	u64 fp = r->x[29], next, ret;
	int n = 0;

	if (max <= 0)
		return 0;
	frames[n++] = (struct regs_frame){ .pc = r->pc };
	if (in_aarch32(r)) {
		set_err(why, whylen,
			"no frame-pointer walk in AArch32 state (its frame layout depends on the compiler)");
		return n;
	}
	for (; n < max; fp = next) {
		if (next_frame(ctx, fp, &next, &ret, why, whylen))
			return n;
		frames[n++] = (struct regs_frame){ .pc = ret, .fp = fp };
	}
	set_err(why, whylen, "depth limit of %d frames", max);
	return n;
}

void regs_dump_stack(FILE *f, int cpu, const struct lkvm_regs *r,
		     const struct pt_ctx *ctx)
{
	struct regs_frame frames[REGS_MAX_FRAMES];
	char why[256] = "";
	int n = regs_backtrace(r, ctx, frames, REGS_MAX_FRAMES, why,
			       sizeof(why));

	for (int i = 0; i < n; i++)
		fprintf(f, "cpu%d frame%d 0x%016" PRIx64 " fp=0x%016" PRIx64 "\n",
			cpu, i, frames[i].pc, frames[i].fp);
	fprintf(f, "cpu%d stack-end %s\n", cpu, why);
}

void regs_dump_all(FILE *f, int cpu, const struct lkvm_regs *r,
		   pt_read_phys_fn read_phys, void *opaque)
{
	struct pt_ctx ctx = { .read_phys = read_phys, .opaque = opaque };

	regs_pt_regs(r, &ctx.regs);
	regs_dump(f, cpu, r);
	regs_dump_code(f, cpu, r, &ctx);
	regs_dump_stack(f, cpu, r, &ctx);
}
