/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_GDB_H
#define LKVM_GDB_H

/*
 * The GDB remote serial protocol, without sockets or a VM:
 * util/gdb-packet.c frames and checks packets, util/gdb-cmd.c parses
 * the commands a stub serves and builds the replies, arm64/gdb-regs.c
 * has the aarch64 target description and the register layout of the
 * g/G/p/P packets. The stub itself (--gdb PORT) feeds bytes from its
 * socket to gdb_rx_byte() and acts on struct gdb_cmd.
 */
#include <sys/types.h>

#include "lkvm/regs.h"
#include "lkvm/util.h"

/* The largest packet payload we accept, advertised as PacketSize. */
#define GDB_PACKET_MAX		4096

/* ---- framing: util/gdb-packet.c ---- */

enum gdb_rx_event {
	GDB_RX_NONE,		/* nothing complete yet */
	GDB_RX_PACKET,		/* rx->buf holds a good payload: ack '+' */
	GDB_RX_BAD,		/* a malformed packet (rx->error): nack '-' */
	GDB_RX_ACK,		/* '+' from gdb */
	GDB_RX_NACK,		/* '-': resend the last reply */
	GDB_RX_INTERRUPT,	/* Ctrl-C (0x03) between packets */
};

struct gdb_rx {
	int state;
	u8 sum;			/* of the payload so far */
	u8 csum;		/* the first checksum digit's value */
	bool overflow;
	size_t len;
	unsigned long dropped;	/* packets abandoned by a new '$' */
	const char *error;	/* why the last GDB_RX_BAD */
	char buf[GDB_PACKET_MAX + 1];	/* the raw payload, NUL-terminated */
};

void gdb_rx_init(struct gdb_rx *rx);
/* Feed one byte from gdb; the event it completes. */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, u8 c);

u8 gdb_checksum(const void *buf, size_t len);
/*
 * "$payload#cs" into @out, escaping '$', '#', '}' and '*' in @payload
 * (binary replies need it; others never contain them). Returns the
 * length, or -ENOSPC.
 */
ssize_t gdb_frame(char *out, size_t cap, const void *payload, size_t len);
/* Binary data (X packets): undo '}' escapes; the length, or -EINVAL. */
ssize_t gdb_unescape(const char *in, size_t len, u8 *out, size_t cap);
/* A hex digit's value (either case), or -1. */
int gdb_hex_digit(char c);
/* Hex: decode exactly @len digits (even) or fail with -EINVAL/-ENOSPC. */
ssize_t gdb_hex_decode(const char *hex, size_t len, u8 *out, size_t cap);
/* Encode @len bytes as 2 * @len digits plus a NUL into @out. */
void gdb_hex_encode(const void *buf, size_t len, char *out);

/* ---- commands and replies: util/gdb-cmd.c ---- */

enum gdb_cmd_type {
	GDB_CMD_UNSUPPORTED,	/* reply with an empty packet */
	GDB_CMD_HALT_REASON,	/* ? */
	GDB_CMD_READ_REGS,	/* g */
	GDB_CMD_WRITE_REGS,	/* G data */
	GDB_CMD_READ_REG,	/* p regnum */
	GDB_CMD_WRITE_REG,	/* P regnum=data */
	GDB_CMD_READ_MEM,	/* m addr,len */
	GDB_CMD_WRITE_MEM,	/* M addr,len:hex and X addr,len:binary */
	GDB_CMD_CONTINUE,	/* c [addr] */
	GDB_CMD_STEP,		/* s [addr] */
	GDB_CMD_VCONT,		/* vCont;action[:tid]... */
	GDB_CMD_VCONT_QUERY,	/* vCont? */
	GDB_CMD_INSERT_BP,	/* Z type,addr,kind */
	GDB_CMD_REMOVE_BP,	/* z type,addr,kind */
	GDB_CMD_SET_THREAD,	/* H op tid */
	GDB_CMD_THREAD_ALIVE,	/* T tid */
	GDB_CMD_SUPPORTED,	/* qSupported[:features] */
	GDB_CMD_XFER_FEATURES,	/* qXfer:features:read:annex:offset,length */
	GDB_CMD_THREAD_FIRST,	/* qfThreadInfo */
	GDB_CMD_THREAD_NEXT,	/* qsThreadInfo */
	GDB_CMD_CURRENT_THREAD,	/* qC */
	GDB_CMD_ATTACHED,	/* qAttached */
	GDB_CMD_NOACK,		/* QStartNoAckMode */
	GDB_CMD_KILL,		/* k */
	GDB_CMD_DETACH,		/* D */
};

/* Thread ids: vCPU n is thread n + 1. */
#define GDB_TID_ALL		(-1L)
#define GDB_TID_ANY		0L
#define GDB_MAX_VCONT		64
#define GDB_ANNEX_MAX		64

enum gdb_bp_type {
	GDB_BP_SW = 0, GDB_BP_HW = 1,
	GDB_WP_WRITE = 2, GDB_WP_READ = 3, GDB_WP_ACCESS = 4,
};

struct gdb_vcont_action {
	char action;		/* 'c', 's' or 't' (C and S: with sig) */
	int sig;		/* -1 unless C/S */
	long tid;		/* GDB_TID_ALL when the action names none */
};

struct gdb_cmd {
	enum gdb_cmd_type type;
	u64 addr;		/* m M X Z z, c/s with has_addr; qXfer offset */
	u64 len;		/* m M X lengths; Z/z kind; qXfer length */
	bool has_addr;
	int regnum;		/* p P */
	int bp_type;		/* Z z: enum gdb_bp_type */
	char thread_op;		/* H: 'g' or 'c' */
	long tid;		/* H T */
	char annex[GDB_ANNEX_MAX];	/* qXfer */
	int nr_actions;		/* vCont */
	struct gdb_vcont_action actions[GDB_MAX_VCONT];
	size_t data_len;	/* G P M X: the decoded bytes */
	u8 data[GDB_PACKET_MAX];
};

/*
 * Parse one payload (as gdb_rx left it). Returns 0 (an unknown command
 * is GDB_CMD_UNSUPPORTED, not an error), or -EINVAL with the reason in
 * @err for a malformed one (reply gdb_reply_error()).
 */
int gdb_parse(const char *pkt, size_t len, struct gdb_cmd *cmd, char *err,
	      size_t errlen);

/*
 * Reply payloads (frame them with gdb_frame()); each returns its length
 * or -ENOSPC.
 */
ssize_t gdb_reply_error(char *buf, size_t cap, int err);	/* "Exx" */
/* "T05thread:1;" with "swbreak:;", "hwbreak:;" or "watch:ADDR;" */
enum gdb_stop_why { GDB_STOP_SIGNAL, GDB_STOP_SWBREAK, GDB_STOP_HWBREAK,
		    GDB_STOP_WATCH, GDB_STOP_RWATCH, GDB_STOP_AWATCH };
ssize_t gdb_reply_stop(char *buf, size_t cap, int sig, long tid,
		       enum gdb_stop_why why, u64 addr);
ssize_t gdb_reply_supported(char *buf, size_t cap);
ssize_t gdb_reply_vcont_query(char *buf, size_t cap);
/* "m1,2,...": every vCPU's thread id (qfThreadInfo); qsThreadInfo is "l". */
ssize_t gdb_reply_threads(char *buf, size_t cap, int nr_vcpus);
/* qXfer:...:read: 'm' or 'l' and @doc[offset, offset + length). */
ssize_t gdb_reply_xfer(char *buf, size_t cap, const char *doc, size_t doclen,
		       u64 offset, u64 length);

/* ---- aarch64 registers: arm64/gdb-regs.c ---- */

/*
 * gdb's register numbers for org.gnu.gdb.aarch64.core and .fpu:
 * x0-x30 0-30, sp 31, pc 32, cpsr 33 (32 bits), v0-v31 34-65 (128 bits),
 * fpsr 66, fpcr 67 (32 bits). "sp" is the stack pointer PSTATE selects.
 */
#define GDB_A64_NR_REGS		68
#define GDB_A64_G_SIZE		788	/* bytes in a g packet */

/* The target description (target.xml) into @buf; length or -ENOSPC. */
ssize_t gdb_a64_target_xml(char *buf, size_t cap);
int gdb_a64_reg_size(int regnum);	/* bytes, or -EINVAL */
/* Register @regnum of @r, little-endian, into @buf: its size or -EINVAL. */
int gdb_a64_get_reg(const struct lkvm_regs *r, int regnum, u8 *buf);
int gdb_a64_set_reg(struct lkvm_regs *r, int regnum, const u8 *buf,
		    size_t len);
/* All registers in regnum order (GDB_A64_G_SIZE bytes). */
void gdb_a64_get_regs(const struct lkvm_regs *r, u8 *buf);
int gdb_a64_set_regs(struct lkvm_regs *r, const u8 *buf, size_t len);

#endif
