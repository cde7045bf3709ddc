// SPDX-License-Identifier: GPL-2.0
/*
 * The GDB stub's logic (arm64/gdb-stub.c) against a fake two-vCPU
 * target: a gdb session's queries, registers and memory of the selected
 * thread, software breakpoints hidden from reads and kept under writes,
 * hardware ones, what each resume command asks of each vCPU, stop
 * replies, detach and kill, and the error replies.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/gdb-stub.h"

#define BASE		0xffff800008000000ULL
#define MEM_SIZE	0x100

struct fake {
	struct lkvm_regs regs[2];
	u8 mem[MEM_SIZE];
	int set_debug_calls;
	bool sw;
	struct hwdebug hw;
	enum gdb_resume how[2];
	int resumes;
	bool killed, detached;
};

static struct fake *fk;
static struct gdb_stub *stub;
static char out[GDB_PACKET_MAX + 1];
static size_t outlen;

static int f_get_regs(void *o, int cpu, struct lkvm_regs *r)
{
	*r = ((struct fake *)o)->regs[cpu];
	return 0;
}

static int f_set_regs(void *o, int cpu, const struct lkvm_regs *r)
{
	((struct fake *)o)->regs[cpu] = *r;
	return 0;
}

static int f_read_mem(void *o, int cpu, u64 va, void *buf, size_t len)
{
	if (va < BASE || va - BASE > MEM_SIZE || len > MEM_SIZE - (va - BASE))
		return -EFAULT;
	memcpy(buf, ((struct fake *)o)->mem + (va - BASE), len);
	return 0;
}

static int f_write_mem(void *o, int cpu, u64 va, const void *buf, size_t len)
{
	if (va < BASE || va - BASE > MEM_SIZE || len > MEM_SIZE - (va - BASE))
		return -EFAULT;
	memcpy(((struct fake *)o)->mem + (va - BASE), buf, len);
	return 0;
}

static int f_set_debug(void *o, bool sw, const struct hwdebug *hw)
{
	struct fake *f = o;

	f->set_debug_calls++;
	f->sw = sw;
	f->hw = *hw;
	return 0;
}

static int f_resume(void *o, const enum gdb_resume *how)
{
	struct fake *f = o;

	memcpy(f->how, how, sizeof(f->how));
	f->resumes++;
	return 0;
}

static void f_kill(void *o)
{
	((struct fake *)o)->killed = true;
}

static void f_detach(void *o)
{
	((struct fake *)o)->detached = true;
}

static const struct gdb_target_ops fake_ops = {
	.get_regs = f_get_regs, .set_regs = f_set_regs,
	.read_mem = f_read_mem, .write_mem = f_write_mem,
	.set_debug = f_set_debug, .resume = f_resume,
	.kill = f_kill, .detach = f_detach,
};

static int setup(void **state)
{
	fk = calloc(1, sizeof(*fk));
	stub = calloc(1, sizeof(*stub));
	for (int i = 0; i < MEM_SIZE; i++)
		fk->mem[i] = i;
	fk->regs[0].pc = BASE + 0x10;
	fk->regs[1].pc = BASE + 0x40;
	fk->regs[0].pstate = fk->regs[1].pstate = 0x3c5;
	assert_int_equal(gdb_stub_init(stub, &fake_ops, fk, 2, 4, 2), 0);
	return 0;
}

static int teardown(void **state)
{
	free(stub);
	free(fk);
	return 0;
}

/* Send one payload; the result, the reply in out. */
static enum gdb_stub_result send(const char *pkt)
{
	enum gdb_stub_result r;

	outlen = 0;
	r = gdb_stub_handle(stub, pkt, strlen(pkt), out, sizeof(out), &outlen);
	out[outlen] = '\0';
	return r;
}

static void expect(const char *pkt, const char *reply)
{
	assert_int_equal(send(pkt), GDB_STUB_REPLY);
	if (strcmp(out, reply))
		fail_msg("'%s' -> '%s', not '%s'", pkt, out, reply);
}

static void test_queries(void **state)
{
	assert_int_equal(gdb_stub_init(stub, &fake_ops, fk, 0, 0, 0), -EINVAL);
	assert_int_equal(gdb_stub_init(stub, &fake_ops, fk, 2, 4, 2), 0);
	expect("?", "T05thread:1;");
	assert_int_equal(send("qSupported:swbreak+"), GDB_STUB_REPLY);
	assert_non_null(strstr(out, "PacketSize=1000"));
	expect("qXfer:features:read:target.xml:0,5", "m<?xml");
	expect("qXfer:features:read:other.xml:0,5", "E02");
	expect("qfThreadInfo", "m1,2");
	expect("qsThreadInfo", "l");
	expect("qC", "QC1");
	expect("qAttached", "1");
	expect("vCont?", "vCont;c;C;s;S;t");
	expect("vMustReplyEmpty", "");
	assert_false(stub->noack);
	expect("QStartNoAckMode", "OK");
	assert_true(stub->noack);
	expect("m10", "E16");			/* malformed */
}

static void test_registers(void **state)
{
	char *g = malloc(2 * GDB_A64_G_SIZE + 2);

	/* g: cpu 0; pc is register 32, at byte 256 */
	assert_int_equal(send("g"), GDB_STUB_REPLY);
	assert_int_equal(outlen, 2 * GDB_A64_G_SIZE);
	assert_memory_equal(out + 512, "100000080080ffff", 16);
	expect("Hg2", "OK");
	expect("p20", "400000080080ffff");
	expect("P20=800000080080ffff", "OK");
	assert_int_equal(fk->regs[1].pc, BASE + 0x80);
	assert_int_equal(fk->regs[0].pc, BASE + 0x10);
	expect("qC", "QC2");
	expect("Hg3", "E16");
	expect("Hg-1", "E16");
	expect("Hg0", "OK");			/* any: vCPU 0 */
	expect("T2", "OK");
	expect("T3", "E03");
	expect("p44", "E16");			/* no register 68 */
	expect("P0=01", "E16");			/* 1 byte for a 64-bit one */
	/* G: a whole set back, x1 changed */
	assert_int_equal(send("g"), GDB_STUB_REPLY);
	g[0] = 'G';
	memcpy(g + 1, out, outlen + 1);
	memcpy(g + 1 + 16, "efbeadde00000000", 16);
	expect(g, "OK");
	free(g);
	assert_int_equal(fk->regs[0].x[1], 0xdeadbeef);
	expect("G00", "E16");			/* wrong size */
}

static void test_memory(void **state)
{
	expect("mffff800008000010,4", "10111213");
	expect("Mffff800008000010,2:abcd", "OK");
	assert_int_equal(fk->mem[0x10], 0xab);
	expect("mffff800008001000,4", "E0e");	/* the target's -EFAULT */
	expect("Mffff8000080000ff,2:0000", "E0e");
}

static void test_sw_breakpoints(void **state)
{
	expect("Z0,ffff800008000020,4", "OK");
	assert_memory_equal(fk->mem + 0x20, "\x00\x00\x20\xd4", 4);
	assert_true(fk->sw);
	assert_true(gdb_stub_is_swbp(stub, BASE + 0x20));
	expect("Z0,ffff800008000020,4", "OK");	/* idempotent */
	/* reads show the guest's code, straddling the breakpoint too */
	expect("mffff80000800001e,4", "1e1f2021");
	/* a write under it changes what goes back, the BRK stays */
	expect("Mffff800008000022,4:a1a2a3a4", "OK");
	assert_memory_equal(fk->mem + 0x20, "\x00\x00\x20\xd4\xa3\xa4", 6);
	expect("mffff800008000020,4", "2021a1a2");
	expect("z0,ffff800008000020,4", "OK");
	assert_memory_equal(fk->mem + 0x20, "\x20\x21\xa1\xa2", 4);
	assert_false(fk->sw);
	assert_false(gdb_stub_is_swbp(stub, BASE + 0x20));
	expect("z0,ffff800008000020,4", "OK");	/* idempotent */
	expect("Z0,ffff800008000022,4", "E16");	/* unaligned */
	expect("Z0,ffff800008000020,2", "E16");
	expect("Z0,ffff800008001000,4", "E0e");	/* unmapped */
	assert_false(gdb_stub_is_swbp(stub, BASE + 0x1000));
}

static void test_hw_breakpoints(void **state)
{
	expect("Z1,ffff800008000040,4", "OK");
	assert_true(fk->hw.bp[0].used);
	expect("Z2,ffff800008000080,8", "OK");
	assert_true(fk->hw.wp[0].used);
	expect("Z3,ffff800008000081,8", "E16");	/* crosses a doubleword */
	expect("Z4,ffff800008000100,4", "OK");
	expect("Z4,ffff800008000200,4", "E1c");	/* 2 watchpoints only */
	expect("z2,ffff800008000080,8", "OK");
	assert_false(fk->hw.wp[0].used);
	expect("z2,ffff800008000080,8", "OK");	/* idempotent */
	expect("Z5,0,4", "");			/* unknown type */
}

static void test_resume(void **state)
{
	assert_int_equal(send("c"), GDB_STUB_RESUMED);
	assert_int_equal(outlen, 0);
	assert_int_equal(fk->how[0], GDB_RESUME_CONTINUE);
	assert_int_equal(fk->how[1], GDB_RESUME_CONTINUE);
	expect("Hc2", "OK");
	assert_int_equal(send("s"), GDB_STUB_RESUMED);
	assert_int_equal(fk->how[0], GDB_RESUME_STOP);
	assert_int_equal(fk->how[1], GDB_RESUME_STEP);
	assert_int_equal(send("sffff800008000080"), GDB_STUB_RESUMED);
	assert_int_equal(fk->regs[1].pc, BASE + 0x80);
	assert_int_equal(send("vCont;s:1;c"), GDB_STUB_RESUMED);
	assert_int_equal(fk->how[0], GDB_RESUME_STEP);
	assert_int_equal(fk->how[1], GDB_RESUME_CONTINUE);
	assert_int_equal(send("vCont;c:2"), GDB_STUB_RESUMED);
	assert_int_equal(fk->how[0], GDB_RESUME_STOP);
	assert_int_equal(fk->how[1], GDB_RESUME_CONTINUE);
	assert_int_equal(fk->resumes, 5);
	/* the stop: its reply, '?' repeats it, g reads the vCPU that stopped */
	assert_int_equal(gdb_stub_stopped(stub, 1, 5, GDB_STOP_SWBREAK, 0, out,
					  sizeof(out)), 21);
	assert_string_equal(out, "T05thread:2;swbreak:;");
	expect("?", "T05thread:2;swbreak:;");
	expect("qC", "QC2");
	assert_int_equal(gdb_stub_stopped(stub, 0, 5, GDB_STOP_WATCH,
					  BASE + 8, out, sizeof(out)) > 0, 1);
	assert_string_equal(out, "T05thread:1;watch:ffff800008000008;");
}

/* A KVM_EXIT_DEBUG's ESR_EL2 (and FAR, PC) as gdb's stop reason */
static void expect_debug_stop(int cpu, u32 esr, u64 far, u64 pc,
			      const char *reply)
{
	ssize_t n = gdb_stub_debug_stop(stub, cpu, esr, far, pc, out,
					sizeof(out));

	assert_int_equal(n, strlen(reply));
	assert_string_equal(out, reply);
}

static void test_debug_stop(void **state)
{
	expect("Z0,ffff800008000020,4", "OK");
	expect("Z2,ffff800008000080,8", "OK");	/* write */
	expect("Z4,ffff8000080000a0,8", "OK");	/* access */
	/* BRK #0 (EC 0x3c): the stub's, or the guest's own (plain) */
	expect_debug_stop(0, 0xf2000000, 0, BASE + 0x20, "T05thread:1;swbreak:;");
	expect_debug_stop(1, 0xf2000000, 0, BASE + 0x24, "T05thread:2;");
	/* hardware breakpoint from a lower EL (0x30) or the current one */
	expect_debug_stop(0, 0xc2000000, 0, BASE + 0x40, "T05thread:1;hwbreak:;");
	expect_debug_stop(0, 0xc6000000, 0, BASE + 0x40, "T05thread:1;hwbreak:;");
	/* watchpoints (0x34): the slot the FAR falls in says which kind */
	expect_debug_stop(0, 0xd2000000, BASE + 0x84, 0,
			  "T05thread:1;watch:ffff800008000084;");
	expect_debug_stop(0, 0xd6000000, BASE + 0xa7, 0,
			  "T05thread:1;awatch:ffff8000080000a7;");
	expect_debug_stop(0, 0xd2000000, BASE + 0xc0, 0, "T05thread:1;");
	expect("z2,ffff800008000080,8", "OK");
	expect("Z3,ffff800008000090,8", "OK");	/* read */
	expect_debug_stop(1, 0xd2000000, BASE + 0x90, 0,
			  "T05thread:2;rwatch:ffff800008000090;");
	expect_debug_stop(1, 0xd2000000, BASE + 0x84, 0, "T05thread:2;");
	/* a single step (0x32) */
	expect_debug_stop(1, 0xca000000, 0, BASE + 0x44, "T05thread:2;");
	expect("?", "T05thread:2;");
	expect("qC", "QC2");
}

/* The guest's own BRK (a WARN()) goes back to it as the CPU would send it */
static void test_guest_brk(void **state)
{
	struct lkvm_regs r = {
		.pc = BASE + 0x24, .pstate = 0x60000005, /* EL1h, Z and C */
		.vbar_el1 = 0xffff800008010800ULL, .sctlr_el1 = 0,
	};

	expect("Z0,ffff800008000020,4", "OK");
	assert_false(gdb_a64_guest_brk(stub, 0xf2000000, BASE + 0x20));
	assert_true(gdb_a64_guest_brk(stub, 0xf2000800, BASE + 0x24));
	assert_false(gdb_a64_guest_brk(stub, 0xca000000, BASE + 0x24));
	gdb_a64_take_exception(&r, 0xf2000800);
	assert_int_equal(r.elr_el1, BASE + 0x24);
	assert_int_equal(r.spsr[0], 0x60000005);
	assert_int_equal(r.esr_el1, 0xf2000800);
	/* EL1h, DAIF masked, PAN set (SCTLR_EL1.SPAN 0) */
	assert_int_equal(r.pstate, 0x3c5 | (1 << 22));
	assert_int_equal(r.pc, 0xffff800008010800ULL + 0x200);
	/* from EL0 (lower EL, AArch64): +0x400; SPAN 1 keeps PAN clear, DSSBS */
	r.pstate = 0;
	r.pc = 0x400000;
	r.sctlr_el1 = (1ULL << 23) | (1ULL << 44);
	gdb_a64_take_exception(&r, 0xf2000800);
	assert_int_equal(r.pc, 0xffff800008010800ULL + 0x400);
	assert_int_equal(r.pstate, 0x3c5 | (1 << 12));
	assert_int_equal(r.elr_el1, 0x400000);
	/* EL1t (SP_EL0): the first vector */
	r.pstate = 0x4;
	gdb_a64_take_exception(&r, 0xf2000800);
	assert_int_equal(r.pc, 0xffff800008010800ULL);
}

static void test_detach_kill(void **state)
{
	expect("Z0,ffff800008000020,4", "OK");
	expect("Z1,ffff800008000040,4", "OK");
	assert_int_equal(send("D"), GDB_STUB_DETACHED);
	assert_string_equal(out, "OK");
	assert_true(fk->detached);
	assert_memory_equal(fk->mem + 0x20, "\x20\x21\x22\x23", 4);
	assert_false(fk->sw);
	assert_false(fk->hw.bp[0].used);
	assert_int_equal(send("k"), GDB_STUB_KILLED);
	assert_int_equal(outlen, 0);
	assert_true(fk->killed);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_queries),
		T(test_registers),
		T(test_memory),
		T(test_sw_breakpoints),
		T(test_hw_breakpoints),
		T(test_resume),
		T(test_debug_stop),
		T(test_guest_brk),
		T(test_detach_kill),
	};

	return cmocka_run_group_tests_name("gdb-stub", tests, NULL, NULL);
}
