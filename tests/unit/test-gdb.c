// SPDX-License-Identifier: GPL-2.0
/*
 * The GDB remote protocol layer: framing and checksums, acks, Ctrl-C,
 * escapes, malformed packets (bad or non-hex checksum, unterminated,
 * oversized, bad numbers), the parsing of every command a stub serves,
 * the reply builders, the aarch64 target description and the g/p
 * register layout.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/gdb.h"

static struct gdb_rx rx;
static struct gdb_cmd cmd;
static char errbuf[256];

/* Feed @s; the events other than NONE, as letters (P B A N I). */
static const char *feed(const char *s, size_t len)
{
	static char ev[64];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		enum gdb_rx_event e = gdb_rx_byte(&rx, (u8)s[i]);

		if (e != GDB_RX_NONE && n < sizeof(ev) - 1)
			ev[n++] = " PBANI"[e];
	}
	ev[n] = '\0';
	return ev;
}

#define FEED(s)	feed(s, strlen(s))

static int rx_setup(void **state)
{
	gdb_rx_init(&rx);
	return 0;
}

/* ---- framing ---- */

static void test_checksum(void **state)
{
	char out[64];

	assert_int_equal(gdb_checksum("", 0), 0);
	assert_int_equal(gdb_checksum("g", 1), 0x67);
	/* wraps modulo 256 */
	assert_int_equal(gdb_checksum("\xff\x02", 2), 0x01);
	assert_int_equal(gdb_frame(out, sizeof(out), "OK", 2), 6);
	assert_memory_equal(out, "$OK#9a", 6);
	assert_int_equal(gdb_frame(out, sizeof(out), "", 0), 4);
	assert_memory_equal(out, "$#00", 4);
	assert_int_equal(gdb_frame(out, 5, "OK", 2), -ENOSPC);
}

static void test_rx_packets(void **state)
{
	assert_string_equal(FEED("$g#67"), "P");
	assert_string_equal(rx.buf, "g");
	assert_int_equal(rx.len, 1);
	/* acks, nacks, noise and Ctrl-C between packets */
	assert_string_equal(FEED("+-x\x03+$?#3f"), "ANIAP");
	assert_string_equal(rx.buf, "?");
	/* upper-case checksum digits are accepted */
	assert_string_equal(FEED("$OK#9A"), "P");
	/* 0x03 inside a packet is data, not Ctrl-C */
	assert_string_equal(FEED("$X0,1:\x03#22"), "P");
	assert_int_equal(rx.len, 6);
	assert_int_equal((u8)rx.buf[5], 3);
	assert_string_equal(FEED("$#00"), "P");
	assert_int_equal(rx.len, 0);
}

static void test_rx_malformed(void **state)
{
	char big[GDB_PACKET_MAX + 16];
	char frame[sizeof(big) + 8];

	assert_string_equal(FEED("$g#68"), "B");
	assert_string_equal(rx.error, "bad checksum");
	assert_string_equal(FEED("$g#6z"), "B");
	assert_string_equal(rx.error, "checksum is not hexadecimal");
	assert_string_equal(FEED("$g#z7"), "B");
	/* after a bad packet the next good one is read */
	assert_string_equal(FEED("$g#67"), "P");
	/* unterminated: a new '$' abandons it */
	assert_string_equal(FEED("$m0,4$g#67"), "P");
	assert_string_equal(rx.buf, "g");
	assert_int_equal(rx.dropped, 1);
	/* oversized: consumed to its end, then refused */
	memset(big, 'a', sizeof(big));
	assert_int_equal(gdb_frame(frame, sizeof(frame), big, GDB_PACKET_MAX + 1),
			 GDB_PACKET_MAX + 5);
	assert_string_equal(feed(frame, GDB_PACKET_MAX + 5), "B");
	assert_non_null(strstr(rx.error, "PacketSize"));
	/* exactly PacketSize is fine */
	assert_int_equal(gdb_frame(frame, sizeof(frame), big, GDB_PACKET_MAX),
			 GDB_PACKET_MAX + 4);
	assert_string_equal(feed(frame, GDB_PACKET_MAX + 4), "P");
	assert_int_equal(rx.len, GDB_PACKET_MAX);
}

static void test_escapes(void **state)
{
	const u8 bin[] = { '$', '#', '}', '*', 0, 'a', 0xff };
	char out[64];
	u8 back[16];
	ssize_t n = gdb_frame(out, sizeof(out), bin, sizeof(bin));

	/* every special byte escaped: } then the byte ^ 0x20 */
	assert_int_equal(n, 1 + 4 * 2 + 3 + 3);
	assert_memory_equal(out, "$}\x04}\x03}]}\x0a\0a\xff#", 13);
	/* the checksum covers the escaped bytes, and the receiver agrees */
	gdb_rx_init(&rx);
	assert_string_equal(feed(out, n), "P");
	assert_int_equal(gdb_unescape(rx.buf, rx.len, back, sizeof(back)),
			 sizeof(bin));
	assert_memory_equal(back, bin, sizeof(bin));
	assert_int_equal(gdb_unescape("ab}", 3, back, sizeof(back)), -EINVAL);
	assert_int_equal(gdb_unescape("abc", 3, back, 2), -ENOSPC);
}

static void test_hex(void **state)
{
	u8 b[4];
	char s[9];

	assert_int_equal(gdb_hex_decode("00fFa5", 6, b, sizeof(b)), 3);
	assert_memory_equal(b, "\x00\xff\xa5", 3);
	assert_int_equal(gdb_hex_decode("0", 1, b, sizeof(b)), -EINVAL);
	assert_int_equal(gdb_hex_decode("0g", 2, b, sizeof(b)), -EINVAL);
	assert_int_equal(gdb_hex_decode("0011223344", 10, b, sizeof(b)), -ENOSPC);
	gdb_hex_encode("\x01\xab\xff\x00", 4, s);
	assert_string_equal(s, "01abff00");
}

/* ---- commands ---- */

static int parse(const char *s)
{
	errbuf[0] = '\0';
	memset(&cmd, 0x5a, sizeof(cmd));
	return gdb_parse(s, strlen(s), &cmd, errbuf, sizeof(errbuf));
}

static void expect_type(const char *s, enum gdb_cmd_type t)
{
	if (parse(s))
		fail_msg("'%s': %s", s, errbuf);
	if (cmd.type != t)
		fail_msg("'%s': type %d, not %d", s, cmd.type, t);
}

static void expect_bad(const char *s)
{
	if (parse(s) != -EINVAL)
		fail_msg("'%s' parsed", s);
	assert_non_null(strstr(errbuf, "malformed packet"));
}

static void test_parse_simple(void **state)
{
	expect_type("?", GDB_CMD_HALT_REASON);
	expect_type("g", GDB_CMD_READ_REGS);
	expect_type("k", GDB_CMD_KILL);
	expect_type("D", GDB_CMD_DETACH);
	expect_type("D;1", GDB_CMD_DETACH);
	expect_type("", GDB_CMD_UNSUPPORTED);
	expect_type("!", GDB_CMD_UNSUPPORTED);
	expect_type("vMustReplyEmpty", GDB_CMD_UNSUPPORTED);
	expect_type("qTStatus", GDB_CMD_UNSUPPORTED);
	expect_type("qCRC:0,4", GDB_CMD_UNSUPPORTED);	/* not qC */
	expect_bad("gg");
	expect_bad("?x");
}

static void test_parse_regs(void **state)
{
	expect_type("G0011ff", GDB_CMD_WRITE_REGS);
	assert_int_equal(cmd.data_len, 3);
	assert_memory_equal(cmd.data, "\x00\x11\xff", 3);
	expect_type("p21", GDB_CMD_READ_REG);
	assert_int_equal(cmd.regnum, 0x21);
	expect_type("P20=0102030405060708", GDB_CMD_WRITE_REG);
	assert_int_equal(cmd.regnum, 0x20);
	assert_int_equal(cmd.data_len, 8);
	expect_bad("G");
	expect_bad("G012");
	expect_bad("G0x");
	expect_bad("p");
	expect_bad("p10000");
	expect_bad("P1");
	expect_bad("P1=");
	expect_bad("P1=zz");
}

static void test_parse_memory(void **state)
{
	char x[32];

	expect_type("mffff800008000000,40", GDB_CMD_READ_MEM);
	assert_int_equal(cmd.addr, 0xffff800008000000ULL);
	assert_int_equal(cmd.len, 0x40);
	expect_type("m0,100000", GDB_CMD_READ_MEM);	/* shortened */
	assert_int_equal(cmd.len, GDB_PACKET_MAX / 2);
	expect_type("M1000,2:abcd", GDB_CMD_WRITE_MEM);
	assert_int_equal(cmd.addr, 0x1000);
	assert_memory_equal(cmd.data, "\xab\xcd", 2);
	/* X: binary, escaped; the length must match the data */
	memcpy(x, "X10,3:}\x03" "a\x00", 10);
	assert_int_equal(gdb_parse(x, 10, &cmd, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cmd.type, GDB_CMD_WRITE_MEM);
	assert_int_equal(cmd.data_len, 3);
	assert_memory_equal(cmd.data, "#a\x00", 3);
	expect_type("X10,0:", GDB_CMD_WRITE_MEM);
	assert_int_equal(cmd.data_len, 0);
	expect_bad("m");
	expect_bad("m10");
	expect_bad("m10,");
	expect_bad("m,4");
	expect_bad("m10,4x");
	expect_bad("m11112222333344445,4");		/* 17 digits */
	expect_bad("M10,2:abc");
	expect_bad("M10,2:abcdef");
	expect_bad("M10,2");
	expect_bad("X10,2:a");
	expect_bad("X10,1:}");
	expect_bad("M0,100000:00");
}

static void test_parse_resume(void **state)
{
	expect_type("c", GDB_CMD_CONTINUE);
	assert_false(cmd.has_addr);
	expect_type("cffff800008001000", GDB_CMD_CONTINUE);
	assert_true(cmd.has_addr);
	assert_int_equal(cmd.addr, 0xffff800008001000ULL);
	expect_type("s", GDB_CMD_STEP);
	expect_bad("cxyz");
	expect_type("vCont?", GDB_CMD_VCONT_QUERY);
	expect_type("vCont;s:2;c", GDB_CMD_VCONT);
	assert_int_equal(cmd.nr_actions, 2);
	assert_int_equal(cmd.actions[0].action, 's');
	assert_int_equal(cmd.actions[0].tid, 2);
	assert_int_equal(cmd.actions[1].action, 'c');
	assert_int_equal(cmd.actions[1].tid, GDB_TID_ALL);
	expect_type("vCont;C05:1;S0b;t:-1", GDB_CMD_VCONT);
	assert_int_equal(cmd.actions[0].action, 'c');
	assert_int_equal(cmd.actions[0].sig, 5);
	assert_int_equal(cmd.actions[1].action, 's');
	assert_int_equal(cmd.actions[1].sig, 11);
	assert_int_equal(cmd.actions[2].action, 't');
	expect_bad("vCont;");
	expect_bad("vCont;x");
	expect_bad("vCont;c:");
	expect_bad("vCont;C");
	expect_bad("vCont;C100");
	expect_bad("vCont;c:-2");
	expect_bad("vCont;cc");
}

static void test_parse_vcont_limit(void **state)
{
	char s[8 + 4 * (GDB_MAX_VCONT + 1)] = "vCont";

	for (int i = 0; i < GDB_MAX_VCONT; i++)
		strcat(s, ";c:1");
	expect_type(s, GDB_CMD_VCONT);
	assert_int_equal(cmd.nr_actions, GDB_MAX_VCONT);
	strcat(s, ";c:1");
	expect_bad(s);
}

static void test_parse_breakpoints(void **state)
{
	expect_type("Z0,ffff800008123456,4", GDB_CMD_INSERT_BP);
	assert_int_equal(cmd.bp_type, GDB_BP_SW);
	assert_int_equal(cmd.addr, 0xffff800008123456ULL);
	assert_int_equal(cmd.len, 4);
	expect_type("z1,1000,4", GDB_CMD_REMOVE_BP);
	assert_int_equal(cmd.bp_type, GDB_BP_HW);
	for (int t = 2; t <= 4; t++) {
		char s[32];

		snprintf(s, sizeof(s), "Z%d,2000,8", t);
		expect_type(s, GDB_CMD_INSERT_BP);
		assert_int_equal(cmd.bp_type, t);
		s[0] = 'z';
		expect_type(s, GDB_CMD_REMOVE_BP);
	}
	expect_type("Z5,1000,4", GDB_CMD_UNSUPPORTED);
	expect_bad("Z0,1000");
	expect_bad("Z0,1000,4;X1,0");
	expect_bad("Z,1000,4");
}

static void test_parse_threads(void **state)
{
	expect_type("Hg1", GDB_CMD_SET_THREAD);
	assert_int_equal(cmd.thread_op, 'g');
	assert_int_equal(cmd.tid, 1);
	expect_type("Hc-1", GDB_CMD_SET_THREAD);
	assert_int_equal(cmd.tid, GDB_TID_ALL);
	expect_type("Hg0", GDB_CMD_SET_THREAD);
	assert_int_equal(cmd.tid, GDB_TID_ANY);
	expect_type("T2", GDB_CMD_THREAD_ALIVE);
	assert_int_equal(cmd.tid, 2);
	expect_type("qfThreadInfo", GDB_CMD_THREAD_FIRST);
	expect_type("qsThreadInfo", GDB_CMD_THREAD_NEXT);
	expect_type("qC", GDB_CMD_CURRENT_THREAD);
	expect_type("qAttached", GDB_CMD_ATTACHED);
	expect_type("qAttached:1", GDB_CMD_ATTACHED);
	expect_bad("Hx1");
	expect_bad("Hg");
	expect_bad("Hg-2");
	expect_bad("Hg80000000");
	expect_bad("T");
	expect_bad("Tp1.1");
}

static void test_parse_queries(void **state)
{
	expect_type("qSupported", GDB_CMD_SUPPORTED);
	expect_type("qSupported:multiprocess+;swbreak+;xmlRegisters=aarch64",
		    GDB_CMD_SUPPORTED);
	expect_type("QStartNoAckMode", GDB_CMD_NOACK);
	expect_type("qXfer:features:read:target.xml:0,ffb", GDB_CMD_XFER_FEATURES);
	assert_string_equal(cmd.annex, "target.xml");
	assert_int_equal(cmd.addr, 0);
	assert_int_equal(cmd.len, 0xffb);
	expect_type("qXfer:auxv:read::0,100", GDB_CMD_UNSUPPORTED);
	expect_bad("qXfer:features:read:target.xml");
	expect_bad("qXfer:features:read::0,10");
	expect_bad("qXfer:features:read:target.xml:0,");
	expect_bad("qXfer:features:read:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:0,1");
}

/* ---- replies ---- */

static void test_replies(void **state)
{
	char b[256];

	assert_int_equal(gdb_reply_error(b, sizeof(b), -EFAULT), 3);
	assert_string_equal(b, "E0e");
	assert_true(gdb_reply_stop(b, sizeof(b), 5, 2, GDB_STOP_SWBREAK, 0) > 0);
	assert_string_equal(b, "T05thread:2;swbreak:;");
	assert_true(gdb_reply_stop(b, sizeof(b), 2, 1, GDB_STOP_SIGNAL, 0) > 0);
	assert_string_equal(b, "T02thread:1;");
	assert_true(gdb_reply_stop(b, sizeof(b), 5, 0x1a, GDB_STOP_AWATCH,
				   0xffff000012345678ULL) > 0);
	assert_string_equal(b, "T05thread:1a;awatch:ffff000012345678;");
	assert_int_equal(gdb_reply_stop(b, 10, 5, 1, GDB_STOP_HWBREAK, 0), -ENOSPC);
	assert_true(gdb_reply_supported(b, sizeof(b)) > 0);
	assert_non_null(strstr(b, "PacketSize=1000;"));
	assert_non_null(strstr(b, "qXfer:features:read+"));
	assert_true(gdb_reply_vcont_query(b, sizeof(b)) > 0);
	assert_string_equal(b, "vCont;c;C;s;S;t");
	assert_int_equal(gdb_reply_threads(b, sizeof(b), 18), 1 + 15 + 3 * 2 + 17);
	assert_non_null(strstr(b, "m1,2,3,"));
	assert_non_null(strstr(b, ",f,10,11,12"));
	assert_int_equal(gdb_reply_threads(b, 8, 18), -ENOSPC);
}

static void test_reply_xfer(void **state)
{
	const char doc[] = "0123456789";
	char b[64];

	assert_int_equal(gdb_reply_xfer(b, sizeof(b), doc, 10, 0, 4), 5);
	assert_string_equal(b, "m0123");
	assert_int_equal(gdb_reply_xfer(b, sizeof(b), doc, 10, 8, 4), 3);
	assert_string_equal(b, "l89");
	assert_int_equal(gdb_reply_xfer(b, sizeof(b), doc, 10, 10, 4), 1);
	assert_string_equal(b, "l");
	assert_int_equal(gdb_reply_xfer(b, sizeof(b), doc, 10, 11, 4), 3);
	assert_string_equal(b, "E16");
	assert_int_equal(gdb_reply_xfer(b, 4, doc, 10, 0, 10), -ENOSPC);
}

/* ---- aarch64 ---- */

static void test_target_xml(void **state)
{
	char *xml = malloc(16384);
	ssize_t n = gdb_a64_target_xml(xml, 16384);
	const char *p = xml;
	char name[32];
	int regs = 0;

	assert_true(n > 0 && (size_t)n == strlen(xml));
	assert_non_null(strstr(xml, "<architecture>aarch64</architecture>"));
	assert_true(strstr(xml, "org.gnu.gdb.aarch64.core") <
		    strstr(xml, "org.gnu.gdb.aarch64.fpu"));
	/* the registers in gdb's numbering order */
	while ((p = strstr(p, "<reg name=\""))) {
		const char *want;

		p += 11;
		if (regs < 31)
			snprintf(name, sizeof(name), "x%d\"", regs);
		else if (regs >= 34 && regs < 66)
			snprintf(name, sizeof(name), "v%d\"", regs - 34);
		else {
			want = regs == 31 ? "sp\"" : regs == 32 ? "pc\"" :
			       regs == 33 ? "cpsr\"" : regs == 66 ? "fpsr\"" : "fpcr\"";
			strcpy(name, want);
		}
		if (strncmp(p, name, strlen(name)))
			fail_msg("register %d is '%.8s', not %s", regs, p, name);
		regs++;
	}
	assert_int_equal(regs, GDB_A64_NR_REGS);
	assert_non_null(strstr(xml, "<reg name=\"v0\" bitsize=\"128\" type=\"aarch64v\" regnum=\"34\"/>"));
	assert_non_null(strstr(xml, "<reg name=\"cpsr\" bitsize=\"32\"/>"));
	assert_int_equal(gdb_a64_target_xml(xml, 100), -ENOSPC);
	free(xml);
}

static void test_reg_layout(void **state)
{
	struct lkvm_regs *r = calloc(1, sizeof(*r));
	u8 g[GDB_A64_G_SIZE], b[16];
	size_t total = 0;

	for (int i = 0; i < GDB_A64_NR_REGS; i++)
		total += gdb_a64_reg_size(i);
	assert_int_equal(total, GDB_A64_G_SIZE);
	assert_int_equal(gdb_a64_reg_size(68), -EINVAL);
	assert_int_equal(gdb_a64_reg_size(-1), -EINVAL);
	for (int i = 0; i < 31; i++)
		r->x[i] = 0x0101010101010101ULL * i;
	r->sp_el0 = 0x1000;
	r->sp_el1 = 0xffff800008a00000ULL;
	r->pc = 0xffff800008123456ULL;
	r->pstate = 0xaa00000360000005ULL;	/* EL1h */
	r->v[2] = (struct vreg){ .lo = 0x1122334455667788ULL, .hi = 0x99 };
	r->fpsr = 0x8000000f;
	r->fpcr = 0x03c00000;
	gdb_a64_get_regs(r, g);
	assert_memory_equal(g + 5 * 8, "\x05\x05\x05\x05\x05\x05\x05\x05", 8);
	assert_memory_equal(g + 31 * 8, &r->sp_el1, 8);		/* EL1h: SP_EL1 */
	assert_memory_equal(g + 32 * 8, &r->pc, 8);
	assert_memory_equal(g + 33 * 8, "\x05\x00\x00\x60", 4);	/* 32-bit cpsr */
	assert_memory_equal(g + 268 + 2 * 16, "\x88\x77\x66\x55\x44\x33\x22\x11\x99", 9);
	assert_memory_equal(g + 780, "\x0f\x00\x00\x80", 4);
	assert_memory_equal(g + 784, "\x00\x00\xc0\x03", 4);
	/* EL0: gdb's sp is SP_EL0 */
	r->pstate = 0;
	assert_int_equal(gdb_a64_get_reg(r, 31, b), 8);
	assert_memory_equal(b, &r->sp_el0, 8);
	/* writes: cpsr keeps PSTATE's high half; sizes are checked */
	assert_int_equal(gdb_a64_set_reg(r, 33, (const u8 *)"\xc5\x03\x00\x00", 4), 0);
	assert_int_equal(r->pstate, 0x3c5);
	r->pstate |= 1ULL << 40;
	assert_int_equal(gdb_a64_set_reg(r, 33, (const u8 *)"\x05\x00\x00\x00", 4), 0);
	assert_int_equal(r->pstate, (1ULL << 40) | 5);
	assert_int_equal(gdb_a64_set_reg(r, 33, b, 8), -EINVAL);
	assert_int_equal(gdb_a64_set_reg(r, 99, b, 8), -EINVAL);
	/* G: everything back, the EL1h sp into SP_EL1 */
	assert_int_equal(gdb_a64_set_regs(r, g, sizeof(g) - 1), -EINVAL);
	memset(r, 0, sizeof(*r));
	assert_int_equal(gdb_a64_set_regs(r, g, sizeof(g)), 0);
	assert_int_equal(r->pc, 0xffff800008123456ULL);
	assert_int_equal(r->sp_el1, 0xffff800008a00000ULL);
	assert_int_equal(r->pstate, 0x60000005);
	assert_int_equal(r->v[2].hi, 0x99);
	assert_int_equal(r->fpcr, 0x03c00000);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_checksum, rx_setup),
		cmocka_unit_test_setup(test_rx_packets, rx_setup),
		cmocka_unit_test_setup(test_rx_malformed, rx_setup),
		cmocka_unit_test_setup(test_escapes, rx_setup),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_parse_simple),
		cmocka_unit_test(test_parse_regs),
		cmocka_unit_test(test_parse_memory),
		cmocka_unit_test(test_parse_resume),
		cmocka_unit_test(test_parse_vcont_limit),
		cmocka_unit_test(test_parse_breakpoints),
		cmocka_unit_test(test_parse_threads),
		cmocka_unit_test(test_parse_queries),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_reply_xfer),
		cmocka_unit_test(test_target_xml),
		cmocka_unit_test(test_reg_layout),
	};

	return cmocka_run_group_tests_name("gdb", tests, NULL, NULL);
}
