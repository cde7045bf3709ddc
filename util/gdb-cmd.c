// SPDX-License-Identifier: GPL-2.0
/*
 * GDB remote protocol commands: parsing the packets a stub for an
 * all-stop, multi-thread target serves (gdb manual, "Packets",
 * "General Query Packets", vCont), and building the replies.
 *
 * The payload comes from the peer: every number is checked (hex digits
 * only, at most 16 of them, within its field's range), every length
 * against the data that carries it, and anything left over after a
 * command is an error. Unknown commands are GDB_CMD_UNSUPPORTED, which
 * the stub answers with an empty packet as the protocol asks. A memory
 * read longer than half a packet is shortened (the protocol allows a
 * shorter reply), so that its hex reply always fits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/gdb.h"

struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p == c->end;
}

static bool take(struct cur *c, char ch)
{
	if (at_end(c) || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* A prefix of the packet, consumed if present. */
static bool take_str(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
		return false;
	c->p += n;
	return true;
}

/* 1 to 16 hex digits. */
static bool take_hex(struct cur *c, u64 *v)
{
	int n = 0;

	*v = 0;
	for (; !at_end(c) && gdb_hex_digit(*c->p) >= 0; c->p++, n++) {
		if (n == 16)
			return false;
		*v = *v << 4 | gdb_hex_digit(*c->p);
	}
	return n > 0;
}

static bool take_hex_max(struct cur *c, u64 *v, u64 max)
{
	return take_hex(c, v) && *v <= max;
}

/* A thread id: "-1" (all), "0" (any) or a positive hex number. */
static bool take_tid(struct cur *c, long *tid)
{
	u64 v;

	if (take(c, '-')) {
		*tid = GDB_TID_ALL;
		return take(c, '1');
	}
	if (!take_hex_max(c, &v, 0x7fffffff))
		return false;
	*tid = (long)v;
	return true;
}

/* "addr,len" */
static bool take_range(struct cur *c, struct gdb_cmd *cmd)
{
	return take_hex(c, &cmd->addr) && take(c, ',') &&
	       take_hex(c, &cmd->len);
}

/* ---- command bodies: each returns false when malformed ---- */

static bool parse_write_regs(struct cur *c, struct gdb_cmd *cmd)
{
	ssize_t n = gdb_hex_decode(c->p, c->end - c->p, cmd->data,
				   sizeof(cmd->data));

	c->p = c->end;
	cmd->data_len = n > 0 ? (size_t)n : 0;
	return n > 0;
}

static bool parse_reg(struct cur *c, struct gdb_cmd *cmd, bool write)
{
	u64 n;

	if (!take_hex_max(c, &n, 0xffff))
		return false;
	cmd->regnum = (int)n;
	if (!write)
		return at_end(c);
	return take(c, '=') && parse_write_regs(c, cmd);
}

static bool parse_read_mem(struct cur *c, struct gdb_cmd *cmd)
{
	if (!take_range(c, cmd) || !at_end(c))
		return false;
	cmd->len = MIN(cmd->len, GDB_PACKET_MAX / 2);
	return true;
}

/* M addr,len:hex (@binary false) or X addr,len:bytes */
static bool parse_write_mem(struct cur *c, struct gdb_cmd *cmd, bool binary)
{
	ssize_t n;

	if (!take_range(c, cmd) || !take(c, ':') || cmd->len > GDB_PACKET_MAX)
		return false;
	if (binary)
		n = gdb_unescape(c->p, c->end - c->p, cmd->data,
				 sizeof(cmd->data));
	else
		n = gdb_hex_decode(c->p, c->end - c->p, cmd->data,
				   sizeof(cmd->data));
	c->p = c->end;
	cmd->data_len = n >= 0 ? (size_t)n : 0;
	return n >= 0 && (u64)n == cmd->len;
}

/* c [addr] / s [addr] */
static bool parse_resume(struct cur *c, struct gdb_cmd *cmd)
{
	cmd->has_addr = !at_end(c);
	return (!cmd->has_addr || take_hex(c, &cmd->addr)) && at_end(c);
}

static bool parse_vcont_action(struct cur *c, struct gdb_vcont_action *a)
{
	u64 sig;

	if (at_end(c))
		return false;
	a->action = *c->p++;
	a->sig = -1;
	a->tid = GDB_TID_ALL;
	if (a->action == 'C' || a->action == 'S') {
		if (!take_hex_max(c, &sig, 0xff))
			return false;
		a->sig = (int)sig;
		a->action += 'a' - 'A';
	} else if (a->action != 'c' && a->action != 's' && a->action != 't') {
		return false;
	}
	return !take(c, ':') || take_tid(c, &a->tid);
}

/* vCont;action[:tid][;action[:tid]]... */
static bool parse_vcont(struct cur *c, struct gdb_cmd *cmd)
{
	cmd->nr_actions = 0;
	while (take(c, ';')) {
		if (cmd->nr_actions == GDB_MAX_VCONT ||
		    !parse_vcont_action(c, &cmd->actions[cmd->nr_actions++]))
			return false;
	}
	return cmd->nr_actions > 0 && at_end(c);
}

/* Z/z type,addr,kind: types beyond 4 are unsupported, not malformed. */
static bool parse_bp(struct cur *c, struct gdb_cmd *cmd)
{
	u64 type;

	if (!take_hex(c, &type) || !take(c, ',') || !take_range(c, cmd) ||
	    !at_end(c))
		return false;
	if (type > GDB_WP_ACCESS)
		cmd->type = GDB_CMD_UNSUPPORTED;
	cmd->bp_type = (int)type;
	return true;
}

static bool parse_set_thread(struct cur *c, struct gdb_cmd *cmd)
{
	if (at_end(c))
		return false;
	cmd->thread_op = *c->p++;
	if (cmd->thread_op != 'g' && cmd->thread_op != 'c')
		return false;
	return take_tid(c, &cmd->tid) && at_end(c);
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static bool parse_xfer(struct cur *c, struct gdb_cmd *cmd)
{
	const char *colon = memchr(c->p, ':', c->end - c->p);
	size_t n;

	if (!colon)
		return false;
	n = colon - c->p;
	if (!n || n >= sizeof(cmd->annex))
		return false;
	memcpy(cmd->annex, c->p, n);
	cmd->annex[n] = '\0';
	c->p = colon + 1;
	return take_range(c, cmd) && at_end(c);
}

/* ---- dispatch ---- */

struct query {
	const char *name;
	enum gdb_cmd_type type;
	bool args;		/* may be followed by ':' and anything */
};

static const struct query queries[] = {
	{ "qSupported", GDB_CMD_SUPPORTED, true },
	{ "qfThreadInfo", GDB_CMD_THREAD_FIRST, false },
	{ "qsThreadInfo", GDB_CMD_THREAD_NEXT, false },
	{ "qC", GDB_CMD_CURRENT_THREAD, false },
	{ "qAttached", GDB_CMD_ATTACHED, true },
	{ "QStartNoAckMode", GDB_CMD_NOACK, false },
	{ "vCont?", GDB_CMD_VCONT_QUERY, false },
};

/* q/Q/v packets: whole names, so "qCRC:" is not "qC". */
static bool parse_named(struct cur *c, struct gdb_cmd *cmd)
{
	if (take_str(c, "qXfer:features:read:")) {
		cmd->type = GDB_CMD_XFER_FEATURES;
		return parse_xfer(c, cmd);
	}
	if (take_str(c, "vCont;")) {
		cmd->type = GDB_CMD_VCONT;
		c->p--;			/* parse_vcont wants the ';' */
		return parse_vcont(c, cmd);
	}
	for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
		struct cur save = *c;

		if (!take_str(c, queries[i].name))
			continue;
		if (at_end(c) || (queries[i].args && *c->p == ':')) {
			cmd->type = queries[i].type;
			c->p = c->end;
			return true;
		}
		*c = save;
	}
	cmd->type = GDB_CMD_UNSUPPORTED;
	c->p = c->end;
	return true;
}

static bool body_empty(struct cur *c, struct gdb_cmd *cmd)
{
	return at_end(c);
}

static bool body_ignored(struct cur *c, struct gdb_cmd *cmd)
{
	c->p = c->end;		/* k, D[;pid]: nothing we use */
	return true;
}

static bool body_read_reg(struct cur *c, struct gdb_cmd *cmd)
{
	return parse_reg(c, cmd, false);
}

static bool body_write_reg(struct cur *c, struct gdb_cmd *cmd)
{
	return parse_reg(c, cmd, true);
}

static bool body_write_hex(struct cur *c, struct gdb_cmd *cmd)
{
	return parse_write_mem(c, cmd, false);
}

static bool body_write_bin(struct cur *c, struct gdb_cmd *cmd)
{
	return parse_write_mem(c, cmd, true);
}

static bool body_tid(struct cur *c, struct gdb_cmd *cmd)
{
	return take_tid(c, &cmd->tid) && at_end(c);
}

/* One-letter commands and how their bodies are read. */
static const struct {
	char letter;
	enum gdb_cmd_type type;
	bool (*body)(struct cur *c, struct gdb_cmd *cmd);
} letters[] = {
	{ '?', GDB_CMD_HALT_REASON, body_empty },
	{ 'g', GDB_CMD_READ_REGS, body_empty },
	{ 'G', GDB_CMD_WRITE_REGS, parse_write_regs },
	{ 'p', GDB_CMD_READ_REG, body_read_reg },
	{ 'P', GDB_CMD_WRITE_REG, body_write_reg },
	{ 'm', GDB_CMD_READ_MEM, parse_read_mem },
	{ 'M', GDB_CMD_WRITE_MEM, body_write_hex },
	{ 'X', GDB_CMD_WRITE_MEM, body_write_bin },
	{ 'c', GDB_CMD_CONTINUE, parse_resume },
	{ 's', GDB_CMD_STEP, parse_resume },
	{ 'Z', GDB_CMD_INSERT_BP, parse_bp },
	{ 'z', GDB_CMD_REMOVE_BP, parse_bp },
	{ 'H', GDB_CMD_SET_THREAD, parse_set_thread },
	{ 'T', GDB_CMD_THREAD_ALIVE, body_tid },
	{ 'k', GDB_CMD_KILL, body_ignored },
	{ 'D', GDB_CMD_DETACH, body_ignored },
};

static bool parse_cmd(struct cur *c, struct gdb_cmd *cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(letters); i++) {
		if (*c->p != letters[i].letter)
			continue;
		c->p++;
		cmd->type = letters[i].type;
		return letters[i].body(c, cmd);
	}
	return parse_named(c, cmd);
}

int gdb_parse(const char *pkt, size_t len, struct gdb_cmd *cmd, char *err,
	      size_t errlen)
{
	struct cur c = { pkt, pkt + len };

	cmd->type = GDB_CMD_UNSUPPORTED;
	cmd->has_addr = false;
	cmd->data_len = 0;
	cmd->nr_actions = 0;
	if (!len)
		return 0;
	if (parse_cmd(&c, cmd))
		return 0;
	set_err(err, errlen, "malformed packet '%.*s'", (int)MIN(len, 40), pkt);
	return -EINVAL;
}

/* ---- replies ---- */

static ssize_t reply(char *buf, size_t cap, int n)
{
	return n >= 0 && (size_t)n < cap ? n : -ENOSPC;
}

ssize_t gdb_reply_error(char *buf, size_t cap, int err)
{
	return reply(buf, cap, snprintf(buf, cap, "E%02x", (err < 0 ? -err : err) & 0xff));
}

ssize_t gdb_reply_stop(char *buf, size_t cap, int sig, long tid,
		       enum gdb_stop_why why, u64 addr)
{
	static const char *const names[] = {
		[GDB_STOP_SIGNAL] = "", [GDB_STOP_SWBREAK] = "swbreak:;",
		[GDB_STOP_HWBREAK] = "hwbreak:;", [GDB_STOP_WATCH] = "watch",
		[GDB_STOP_RWATCH] = "rwatch", [GDB_STOP_AWATCH] = "awatch",
	};
	int n = snprintf(buf, cap, "T%02xthread:%lx;%s", sig & 0xff, tid,
			 names[why]);

	if (why >= GDB_STOP_WATCH && n >= 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - n, ":%" PRIx64 ";", addr);
	return reply(buf, cap, n);
}

ssize_t gdb_reply_supported(char *buf, size_t cap)
{
	return reply(buf, cap, snprintf(buf, cap,
		"PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+",
		GDB_PACKET_MAX));
}

ssize_t gdb_reply_vcont_query(char *buf, size_t cap)
{
	return reply(buf, cap, snprintf(buf, cap, "vCont;c;C;s;S;t"));
}

ssize_t gdb_reply_threads(char *buf, size_t cap, int nr_vcpus)
{
	int n = snprintf(buf, cap, "m");

	for (int i = 0; i < nr_vcpus && n >= 0 && (size_t)n < cap; i++)
		n += snprintf(buf + n, cap - n, "%s%x", i ? "," : "", i + 1);
	return reply(buf, cap, n);
}

ssize_t gdb_reply_xfer(char *buf, size_t cap, const char *doc, size_t doclen,
		       u64 offset, u64 length)
{
	size_t n;

	if (offset > doclen)
		return gdb_reply_error(buf, cap, EINVAL);
	n = MIN(doclen - offset, length);
	n = MIN(n, GDB_PACKET_MAX - 1);
	if (n + 1 >= cap)
		return -ENOSPC;
	buf[0] = offset + n < doclen ? 'm' : 'l';
	memcpy(buf + 1, doc + offset, n);
	buf[n + 1] = '\0';
	return n + 1;
}
