// SPDX-License-Identifier: GPL-2.0
/*
 * Register sets (arm64/regs.c) and the dump (arm64/regs-dump.c): the
 * KVM register ids against the values KVM's documentation lists, reading
 * and writing through a fake vCPU (with and without SVE, and failing),
 * the dump format of both execution states (expected text built here
 * from the values), the code at PC and the frame-pointer walk over
 * synthetic memory and page tables.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/regs.h"
#include "pt-builder.h"

/* ---- register ids (Documentation/virt/kvm/api.rst) ---- */

static void test_ids(void **state)
{
	assert_int_equal(regs_core_id(0, 8), 0x6030000000100000ULL);	/* x0 */
	assert_int_equal(regs_core_id(256, 8), 0x6030000000100040ULL);	/* pc */
	assert_int_equal(regs_core_id(264, 8), 0x6030000000100042ULL);	/* pstate */
	assert_int_equal(regs_core_id(272, 8), 0x6030000000100044ULL);	/* sp_el1 */
	assert_int_equal(regs_core_id(320, 8), 0x6030000000100050ULL);	/* spsr_fiq */
	assert_int_equal(regs_core_id(336, 16), 0x6040000000100054ULL);	/* v0 */
	assert_int_equal(regs_core_id(336 + 31 * 16, 16), 0x60400000001000d0ULL);
	assert_int_equal(regs_core_id(848, 4), 0x60200000001000d4ULL);	/* fpsr */
	assert_int_equal(regs_core_id(852, 4), 0x60200000001000d5ULL);	/* fpcr */
	/* TCR_EL1: op0 3, op1 0, CRn 2, CRm 0, op2 2 */
	assert_int_equal(regs_sysreg_id(3, 0, 2, 0, 2), 0x603000000013c102ULL);
	assert_int_equal(regs_sve_zreg_id(0), 0x6080000000150000ULL);
	assert_int_equal(regs_sve_zreg_id(31), 0x60800000001503e0ULL);
	assert_int_equal(regs_sve_preg_id(15), 0x60500000001505e0ULL);
	assert_int_equal(regs_sve_ffr_id(), 0x6050000000150600ULL);
	assert_int_equal(regs_sve_vls_id(), 0x606000000015ffffULL);
}

/* ---- a fake vCPU ---- */

struct fake_vcpu {
	unsigned int sve_vq;	/* 0: no SVE */
	u64 fail_id;		/* this id fails with -EIO */
	int writes;
	u64 written[256];	/* ids written, in order */
	u8 last_z5[256];	/* what was written to Z5 */
};

static size_t id_size(u64 id)
{
	return 1U << ((id >> 52) & 0xf);
}

/* Every byte of a register is a function of its id and position. */
static u8 pattern(u64 id, size_t i)
{
	return (u8)(id * 31 + i * 7 + (id >> 5));
}

static bool is_core_v(u64 id)
{
	return (id & ~0xffULL) == 0x6040000000100000ULL;
}

static int fake_io(void *opaque, u64 id, void *buf, bool write)
{
	struct fake_vcpu *v = opaque;
	bool sve_id = ((id >> 16) & 0xfff) == 0x15;

	if (id == v->fail_id)
		return -EIO;
	if (sve_id && !v->sve_vq)
		return -ENOENT;
	if (is_core_v(id) && v->sve_vq)
		return -EINVAL;		/* as KVM: use the Z registers */
	if (write) {
		if (v->writes < 256)
			v->written[v->writes++] = id;
		if (id == regs_sve_zreg_id(5))
			memcpy(v->last_z5, buf, 256);
		return 0;
	}
	if (id == regs_sve_vls_id()) {
		memset(buf, 0, 64);
		*(u64 *)buf = (1ULL << v->sve_vq) - 1;
		return 0;
	}
	for (size_t i = 0; i < id_size(id); i++)
		((u8 *)buf)[i] = pattern(id, i);
	return 0;
}

static u64 expect64(u64 id)
{
	u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | pattern(id, i);
	return v;
}

static char errbuf[256];

static void test_read_no_sve(void **state)
{
	struct fake_vcpu v = { 0 };
	struct lkvm_regs *r = malloc(sizeof(*r));

	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), 0);
	assert_int_equal(r->sve_vq, 0);
	assert_int_equal(r->x[0], expect64(regs_core_id(0, 8)));
	assert_int_equal(r->x[30], expect64(regs_core_id(240, 8)));
	assert_int_equal(r->sp_el0, expect64(regs_core_id(248, 8)));
	assert_int_equal(r->pc, expect64(regs_core_id(256, 8)));
	assert_int_equal(r->spsr[4], expect64(regs_core_id(320, 8)));
	assert_int_equal(r->tcr_el1, expect64(regs_sysreg_id(3, 0, 2, 0, 2)));
	assert_int_equal(r->mair_el1, expect64(regs_sysreg_id(3, 0, 10, 2, 0)));
	assert_int_equal(r->vbar_el1, expect64(regs_sysreg_id(3, 0, 12, 0, 0)));
	assert_int_equal(r->v[3].lo, expect64(regs_core_id(336 + 48, 16)));
	assert_int_equal(r->v[3].hi & 0xff, pattern(regs_core_id(384, 16), 8));
	assert_int_equal(r->fpcr & 0xff, pattern(regs_core_id(852, 4), 0));
	free(r);
}

static void test_read_sve(void **state)
{
	struct fake_vcpu v = { .sve_vq = 4 };
	struct lkvm_regs *r = malloc(sizeof(*r));
	u64 z7 = regs_sve_zreg_id(7);

	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), 0);
	assert_int_equal(r->sve_vq, 4);
	assert_int_equal(r->z[7][63], pattern(z7, 63));
	assert_int_equal(r->v[7].lo, expect64(z7));	/* V is Z's low half */
	assert_int_equal(r->p[15][7], pattern(regs_sve_preg_id(15), 7));
	assert_int_equal(r->ffr[0], pattern(regs_sve_ffr_id(), 0));
	assert_int_equal(r->zcr_el1, expect64(regs_sysreg_id(3, 0, 1, 2, 0)));
	/* an AArch32 EL1 has no SVE and does not ask */
	v = (struct fake_vcpu){ .fail_id = regs_sve_vls_id() };
	assert_int_equal(regs_read(r, true, fake_io, &v, errbuf,
				   sizeof(errbuf)), 0);
	assert_int_equal(r->sve_vq, 0);
	free(r);
}

static void test_read_errors(void **state)
{
	struct fake_vcpu v = { .fail_id = regs_core_id(5 * 8, 8) };
	struct lkvm_regs *r = malloc(sizeof(*r));

	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), -EIO);
	assert_non_null(strstr(errbuf, "KVM_GET_ONE_REG x5 (id 0x603000000010000a)"));
	v.fail_id = regs_sysreg_id(3, 0, 6, 0, 0);
	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), -EIO);
	assert_non_null(strstr(errbuf, "far_el1"));
	v.sve_vq = 2;
	v.fail_id = regs_sve_vls_id();
	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), -EIO);
	assert_non_null(strstr(errbuf, "sve_vls"));
	free(r);
}

static bool was_written(const struct fake_vcpu *v, u64 id)
{
	for (int i = 0; i < v->writes; i++)
		if (v->written[i] == id)
			return true;
	return false;
}

static void test_write(void **state)
{
	struct fake_vcpu v = { 0 };
	struct lkvm_regs *r = malloc(sizeof(*r));

	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), 0);
	assert_int_equal(regs_write(r, fake_io, &v, errbuf, sizeof(errbuf)), 0);
	/* 31 x + 5 core + fpsr + fpcr + 32 V; no system register, no SPSR */
	assert_int_equal(v.writes, 31 + 5 + 2 + 32);
	assert_true(was_written(&v, regs_core_id(256, 8)));
	assert_true(was_written(&v, regs_core_id(336, 16)));
	assert_false(was_written(&v, regs_sysreg_id(3, 0, 2, 0, 2)));
	assert_false(was_written(&v, regs_core_id(288, 8)));
	/* with SVE, a changed V5 goes into Z5's low half, the rest kept */
	v = (struct fake_vcpu){ .sve_vq = 2 };
	assert_int_equal(regs_read(r, false, fake_io, &v, errbuf,
				   sizeof(errbuf)), 0);
	r->v[5].lo = 0x1122334455667788ULL;
	assert_int_equal(regs_write(r, fake_io, &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v.last_z5[0], 0x88);
	assert_int_equal(v.last_z5[7], 0x11);
	assert_int_equal(v.last_z5[20], pattern(regs_sve_zreg_id(5), 20));
	assert_false(was_written(&v, regs_core_id(336, 16)));
	v.fail_id = regs_core_id(256, 8);
	assert_int_equal(regs_write(r, fake_io, &v, errbuf, sizeof(errbuf)), -EIO);
	assert_non_null(strstr(errbuf, "KVM_SET_ONE_REG pc"));
	free(r);
}

/* ---- the dump format ---- */

/* What a dump printed, NUL-terminated (malloc'ed). */
struct out {
	char *buf;
	size_t len;
	FILE *f;
};

static void out_open(struct out *o)
{
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
}

static void out_close(struct out *o)
{
	fclose(o->f);
}

/* regs_dump() of @r as vCPU @cpu into @o. */
static void dump_to(struct out *o, int cpu, const struct lkvm_regs *r)
{
	out_open(o);
	regs_dump(o->f, cpu, r);
	out_close(o);
}

/* @buf has the whole line @fmt (without its newlines) in it. */
static void __printf(2, 3) expect_line(const char *buf, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	line[0] = '\n';
	va_start(ap, fmt);
	vsnprintf(line + 1, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (!strstr(buf, line))
		fail_msg("no line '%.*s' in:\n%s", (int)strlen(line) - 2, line + 1, buf);
}

/* The expected text, built line by line from the values. */
struct golden {
	char buf[65536];
	size_t len;
};

static void __printf(2, 3) gl(struct golden *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g->len += vsnprintf(g->buf + g->len, sizeof(g->buf) - g->len, fmt, ap);
	va_end(ap);
	assert_true(g->len < sizeof(g->buf));
}

static void fill(struct lkvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 31; i++)
		r->x[i] = 0x1111111111111111ULL * (i % 15) + i;
	r->sp_el0 = 0x0000ffffc0de0000ULL;
	r->sp_el1 = 0xffff800008a13e40ULL;
	r->pc = 0xffff800008123458ULL;
	r->pstate = 0x60000005;			/* EL1h, Z and C */
	r->elr_el1 = 0x0000aaaab0001234ULL;
	for (int i = 0; i < REGS_NR_SPSR; i++)
		r->spsr[i] = 0x3c5 + i;
	r->esr_el1 = 0x96000045;
	r->far_el1 = 0xdead0000beefULL;
	r->sctlr_el1 = 0x30d0199dULL;
	r->tcr_el1 = 0x34b5d5a19ULL;
	r->ttbr0_el1 = 0x41230000ULL;
	r->ttbr1_el1 = 0x0001000041450000ULL;
	r->vbar_el1 = 0xffff800008010800ULL;
	r->mair_el1 = 0x040044ffULL;
	for (int i = 0; i < 32; i++)
		r->v[i] = (struct vreg){ .lo = 0x0101010101010101ULL * i,
					 .hi = ~0ULL - i };
	r->fpsr = 0x08000010;
	r->fpcr = 0x03c00000;
}

static const char *const a64_names[] = {
	"sp_el0", "sp_el1", "pc", "pstate", "elr_el1", "spsr_el1", "esr_el1",
	"far_el1", "sctlr_el1", "tcr_el1", "ttbr0_el1", "ttbr1_el1",
	"vbar_el1", "mair_el1",
};

static void golden_a64(struct golden *g, int cpu, const struct lkvm_regs *r)
{
	const u64 vals[] = {
		r->sp_el0, r->sp_el1, r->pc, r->pstate, r->elr_el1, r->spsr[0],
		r->esr_el1, r->far_el1, r->sctlr_el1, r->tcr_el1, r->ttbr0_el1,
		r->ttbr1_el1, r->vbar_el1, r->mair_el1,
	};

	gl(g, "cpu%d state aarch64 el1h\n", cpu);
	for (int i = 0; i < 31; i++)
		gl(g, "cpu%d x%d 0x%016llx\n", cpu, i, (unsigned long long)r->x[i]);
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
		gl(g, "cpu%d %s 0x%016llx\n", cpu, a64_names[i],
		   (unsigned long long)vals[i]);
	for (int i = 0; i < 32; i++)
		gl(g, "cpu%d v%d 0x%016llx%016llx\n", cpu, i,
		   (unsigned long long)r->v[i].hi, (unsigned long long)r->v[i].lo);
	gl(g, "cpu%d fpsr 0x%08x\n", cpu, r->fpsr);
	gl(g, "cpu%d fpcr 0x%08x\n", cpu, r->fpcr);
}

static void test_dump_a64(void **state)
{
	struct lkvm_regs *r = malloc(sizeof(*r));
	struct golden *g = calloc(1, sizeof(*g));
	struct out o;

	fill(r);
	golden_a64(g, 3, r);
	dump_to(&o, 3, r);
	assert_string_equal(o.buf, g->buf);
	/* grep-friendliness: one line per register, a fixed width */
	expect_line(o.buf, "cpu3 pc 0xffff800008123458");
	expect_line(o.buf, "cpu3 v1 0xfffffffffffffffe0101010101010101");
	free(o.buf);
	free(g);
	free(r);
}

/* SVE: VL in bits, then Z/P/FFR most significant byte first. */
static void test_dump_sve(void **state)
{
	struct lkvm_regs *r = malloc(sizeof(*r));
	struct out o;
	char want[160];

	fill(r);
	r->sve_vq = 2;				/* 256-bit */
	for (int i = 0; i < 32; i++)
		r->z[31][i] = i;
	r->p[2][0] = 0xa5;
	r->p[2][3] = 0x5a;
	dump_to(&o, 0, r);
	expect_line(o.buf, "cpu0 sve_vl 256");
	strcpy(want, "\ncpu0 z31 0x");
	for (int i = 31; i >= 0; i--)
		sprintf(want + strlen(want), "%02x", (u8)i);
	strcat(want, "\n");
	assert_non_null(strstr(o.buf, want));
	expect_line(o.buf, "cpu0 p2 0x5a0000a5");
	expect_line(o.buf, "cpu0 ffr 0x00000000");
	free(o.buf);
	free(r);
}

static void test_dump_a32(void **state)
{
	struct lkvm_regs *r = malloc(sizeof(*r));
	struct out o;

	fill(r);
	r->el1_aarch32 = true;
	r->pstate = 0x600001d3;			/* svc, ARM state */
	dump_to(&o, 1, r);
	assert_non_null(strstr(o.buf, "cpu1 state aarch32 svc\n"));
	expect_line(o.buf, "cpu1 sp 0x%08x", (u32)r->x[19]);
	expect_line(o.buf, "cpu1 lr 0x%08x", (u32)r->x[18]);
	expect_line(o.buf, "cpu1 r8 0x%08x", (u32)r->x[8]);
	expect_line(o.buf, "cpu1 spsr_fiq 0x%08x", (u32)r->spsr[4]);
	expect_line(o.buf, "cpu1 d3 0x%016llx", (unsigned long long)r->v[1].hi);
	expect_line(o.buf, "cpu1 fpscr 0x%08x", r->fpsr | r->fpcr);
	assert_null(strstr(o.buf, "cpu1 x0 "));
	free(o.buf);
	/* FIQ mode, Thumb: r8-r12, sp and lr are the fiq bank */
	r->pstate = 0x600001f1;
	dump_to(&o, 1, r);
	assert_non_null(strstr(o.buf, "cpu1 state aarch32 fiq thumb\n"));
	expect_line(o.buf, "cpu1 r8 0x%08x", (u32)r->x[24]);
	expect_line(o.buf, "cpu1 sp 0x%08x", (u32)r->x[29]);
	free(o.buf);
	free(r);
}

static void test_mode_names(void **state)
{
	static const struct {
		u64 pstate;
		const char *name;
	} modes[] = {
		{ 0, "el0t" }, { 4, "el1t" }, { 0x3c5, "el1h" }, { 0x10, "usr" },
		{ 0x1b, "und" }, { 0x14, "unknown" }, { 3, "unknown" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		struct lkvm_regs r = { .pstate = modes[i].pstate };

		assert_string_equal(regs_mode_name(&r), modes[i].name);
	}
}

/* ---- code and stack through page tables ---- */

#define RAM		0x40000000ULL
#define KVA		0xffff800008000000ULL	/* kernel text, 2 pages */
#define STACK		0xffff800009000000ULL	/* kernel stack, 1 page */
#define TCR_4K_48	(16ULL | 16ULL << 16 | 2ULL << 30 | 5ULL << 32)

struct guest {
	struct tb t;
	struct pt_ctx ctx;
	struct lkvm_regs r;
	u64 text, stack;	/* their physical pages */
};

static void guest_init(struct guest *g)
{
	memset(&g->r, 0, sizeof(g->r));
	tb_init(&g->t, RAM, 4 * SZ_1M, 12, 48);
	tb_new_root(&g->t);
	g->text = tb_alloc(&g->t, 2 * SZ_4K, SZ_4K);
	g->stack = tb_alloc(&g->t, SZ_4K, SZ_4K);
	tb_map(&g->t, KVA, g->text, 3);
	tb_map(&g->t, KVA + SZ_4K, g->text + SZ_4K, 3);
	tb_map(&g->t, STACK, g->stack, 3);
	g->r.sctlr_el1 = 1;
	g->r.tcr_el1 = TCR_4K_48;
	g->r.ttbr1_el1 = g->t.root;
	g->r.pstate = 0x3c5;
	g->ctx = (struct pt_ctx){ .read_phys = pt_guest_mem_read,
				  .opaque = &g->t.mem };
	regs_pt_regs(&g->r, &g->ctx.regs);
}

static void put32(struct guest *g, u64 gpa, u32 v)
{
	tb_put32(&g->t, gpa, v);
}

/* A frame record {next fp, return address} at stack offset @off. */
static void record(struct guest *g, u64 off, u64 next, u64 ret)
{
	tb_put64(&g->t, g->stack + off, next);
	tb_put64(&g->t, g->stack + off + 8, ret);
}

static void test_code(void **state)
{
	struct guest g;
	struct out o;
	struct golden want = { .len = 0 };

	guest_init(&g);
	for (int i = 0; i < 2048; i++)
		put32(&g, g.text + i * 4, 0xd5030000 + i);
	g.r.pc = KVA + 0x100;
	out_open(&o);
	regs_dump_code(o.f, 0, &g.r, &g.ctx);
	out_close(&o);
	gl(&want, "cpu0 code 0x%016llx", (unsigned long long)(KVA + 0xf0));
	for (int i = 0x3c; i < 0x44; i++)
		gl(&want, i == 0x40 ? " (%08x)" : " %08x", 0xd5030000 + i);
	gl(&want, "\n");
	assert_string_equal(o.buf, want.buf);
	free(o.buf);
	/* PC at the start of the mapping: what is before is unreadable */
	g.r.pc = KVA;
	out_open(&o);
	regs_dump_code(o.f, 0, &g.r, &g.ctx);
	out_close(&o);
	assert_non_null(strstr(o.buf, " ???????? ???????? ???????? ???????? (d5030000) d5030001 "));
	free(o.buf);
	/* PC near 0: the words before it wrap around, still 8 of them */
	g.r.pc = 8;
	out_open(&o);
	regs_dump_code(o.f, 0, &g.r, &g.ctx);
	out_close(&o);
	assert_string_equal(o.buf, "cpu0 code 0xfffffffffffffff8 ???????? ???????? "
			    "???????? ???????? (????????" ") ???????? ???????? ????????\n");
	free(o.buf);
	tb_free(&g.t);
}

static void test_code_thumb(void **state)
{
	struct lkvm_regs r = { .el1_aarch32 = true, .pstate = 0x1f3,
			       .pc = 0x8013 };
	u8 mem[0x100];
	struct guest_mem gm = { mem, 0x8000, sizeof(mem) };
	struct pt_ctx ctx = { .read_phys = pt_guest_mem_read, .opaque = &gm };
	struct out o;

	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = i;
	regs_pt_regs(&r, &ctx.regs);
	out_open(&o);
	regs_dump_code(o.f, 2, &r, &ctx);
	out_close(&o);
	/* halfwords from pc-16 (pc's low bit is the Thumb bit, dropped) */
	assert_string_equal(o.buf, "cpu2 code 0x0000000000008002 0302 0504 0706 0908 "
			    "0b0a 0d0c 0f0e 1110 (1312) 1514 1716 1918 1b1a "
			    "1d1c 1f1e 2120\n");
	free(o.buf);
}

/* An AArch32 LPAE guest (3G/1G split): code read through TTBR1. */
static void test_code_lpae(void **state)
{
	struct tb t;
	struct lkvm_regs r = { .el1_aarch32 = true, .pstate = 0x1d3,
			       .pc = 0xc0008010, .sctlr_el1 = 1,
			       .tcr_el1 = 1ULL << 31 | 2ULL << 16 };
	struct pt_ctx ctx = { .read_phys = pt_guest_mem_read };
	struct out o;
	u64 page;

	tb_init(&t, RAM, SZ_1M, 12, 30);
	r.ttbr1_el1 = tb_new_root(&t);
	page = tb_alloc(&t, SZ_4K, SZ_4K);
	tb_map(&t, 0xc0008000, page, 3);
	for (int i = 0; i < 1024; i++)
		tb_put32(&t, page + i * 4, 0xe1a00000 + i);	/* mov r0, r0 */
	ctx.opaque = &t.mem;
	regs_pt_regs(&r, &ctx.regs);
	out_open(&o);
	regs_dump_code(o.f, 0, &r, &ctx);
	out_close(&o);
	assert_string_equal(o.buf, "cpu0 code 0x00000000c0008000 e1a00000 e1a00001 "
			    "e1a00002 e1a00003 (e1a00004) e1a00005 e1a00006 e1a00007\n");
	free(o.buf);
	tb_free(&t);
}

static void test_backtrace(void **state)
{
	struct guest g;
	struct regs_frame f[REGS_MAX_FRAMES];
	char why[256];
	u64 pac = 0x003a000000000000ULL;	/* a PAC in bits 54:48 */

	guest_init(&g);
	g.r.pc = KVA + 0x40;
	g.r.x[29] = STACK + 0x100;
	record(&g, 0x100, STACK + 0x180, (KVA + 0x800) & ~pac);
	record(&g, 0x180, STACK + 0x200, KVA + 0x900);
	record(&g, 0x200, 0, KVA + 0xa00);
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, REGS_MAX_FRAMES, why,
					sizeof(why)), 4);
	assert_int_equal(f[0].pc, KVA + 0x40);
	assert_int_equal(f[1].pc, KVA + 0x800);	/* PAC removed */
	assert_int_equal(f[1].fp, STACK + 0x100);
	assert_int_equal(f[3].pc, KVA + 0xa00);
	assert_non_null(strstr(why, "fp is 0"));
	/* Linux's last record is {0, 0} */
	record(&g, 0x200, STACK + 0x280, KVA + 0xa00);
	record(&g, 0x280, 0, 0);
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, REGS_MAX_FRAMES, why,
					sizeof(why)), 4);
	assert_non_null(strstr(why, "return address 0"));
	/* the chain leaves the mapped stack */
	record(&g, 0x200, STACK + SZ_4K, KVA + 0xa00);
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, REGS_MAX_FRAMES, why,
					sizeof(why)), 4);
	assert_non_null(strstr(why, "frame record at 0xffff800009001000"));
	/* a misaligned fp, and the bound */
	record(&g, 0x200, STACK + 0x203, KVA + 0xa00);
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, REGS_MAX_FRAMES, why,
					sizeof(why)), 4);
	assert_non_null(strstr(why, "misaligned"));
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, 2, why, sizeof(why)), 2);
	assert_non_null(strstr(why, "depth limit of 2"));
	tb_free(&g.t);
}

/* A record pointing at itself: the walk stops at the depth limit. */
static void test_backtrace_loop(void **state)
{
	struct guest g;
	struct regs_frame f[REGS_MAX_FRAMES];
	char why[256];

	guest_init(&g);
	g.r.x[29] = STACK + 0x40;
	record(&g, 0x40, STACK + 0x40, KVA + 4);
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, REGS_MAX_FRAMES, why,
					sizeof(why)), REGS_MAX_FRAMES);
	assert_non_null(strstr(why, "depth limit"));
	/* AArch32: PC only, with the reason */
	g.r.pstate = 0x1d3;
	assert_int_equal(regs_backtrace(&g.r, &g.ctx, f, REGS_MAX_FRAMES, why,
					sizeof(why)), 1);
	assert_non_null(strstr(why, "AArch32"));
	tb_free(&g.t);
}

static void test_dump_all(void **state)
{
	struct guest g;
	struct out o;

	guest_init(&g);
	g.r.pc = KVA + 0x40;
	g.r.x[29] = STACK + 0x100;
	record(&g, 0x100, 0, KVA + 0x800);
	out_open(&o);
	regs_dump_header(o.f);
	regs_dump_all(o.f, 0, &g.r, pt_guest_mem_read, &g.t.mem);
	out_close(&o);
	assert_memory_equal(o.buf, "# lkvm register dump v1\ncpu0 state aarch64 el1h\n", 48);
	expect_line(o.buf, "cpu0 frame1 0x%016llx fp=0x%016llx", KVA + 0x800, STACK + 0x100);
	expect_line(o.buf, "cpu0 stack-end fp is 0 (outermost frame)");
	assert_non_null(strstr(o.buf, "\ncpu0 code 0x"));
	free(o.buf);
	tb_free(&g.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_read_no_sve),
		cmocka_unit_test(test_read_sve),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_dump_a64),
		cmocka_unit_test(test_dump_sve),
		cmocka_unit_test(test_dump_a32),
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_code_thumb),
		cmocka_unit_test(test_code_lpae),
		cmocka_unit_test(test_backtrace),
		cmocka_unit_test(test_backtrace_loop),
		cmocka_unit_test(test_dump_all),
	};

	return cmocka_run_group_tests_name("regs", tests, NULL, NULL);
}
