// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the GDB remote protocol layer (util/gdb-packet.c,
 * util/gdb-cmd.c, arm64/gdb-regs.c): the input is the byte stream gdb
 * would send. Every complete packet is parsed, its parse checked for
 * bounds, and a reply built as the stub would; each good payload is
 * also framed back and re-received, which must give the same bytes
 * after unescaping (framing and escapes are inverse). Seeds:
 * tests/fuzz/corpus/gdb-packet/ (a gdb session's start, memory and
 * register writes, vCont, breakpoints, malformed packets).
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/gdb.h"

#define FRAME_MAX	(2 * GDB_PACKET_MAX + 8)

static void check_cmd(const struct gdb_cmd *cmd)
{
	if (cmd->data_len > sizeof(cmd->data) ||
	    cmd->nr_actions > GDB_MAX_VCONT ||
	    (cmd->type == GDB_CMD_READ_MEM && cmd->len > GDB_PACKET_MAX / 2) ||
	    (cmd->type == GDB_CMD_WRITE_MEM && cmd->data_len != cmd->len) ||
	    (cmd->type == GDB_CMD_XFER_FEATURES &&
	     strlen(cmd->annex) >= GDB_ANNEX_MAX))
		abort();
}

/* What a stub would answer, built for the bounds it checks. */
static void reply(const struct gdb_cmd *cmd, struct lkvm_regs *regs,
		  char *out, char *xml, size_t xml_len)
{
	u8 b[16];

	switch (cmd->type) {
	case GDB_CMD_READ_REG:
		gdb_a64_get_reg(regs, cmd->regnum, b);
		break;
	case GDB_CMD_WRITE_REG:
		gdb_a64_set_reg(regs, cmd->regnum, cmd->data, cmd->data_len);
		break;
	case GDB_CMD_WRITE_REGS:
		gdb_a64_set_regs(regs, cmd->data, cmd->data_len);
		break;
	case GDB_CMD_XFER_FEATURES:
		gdb_reply_xfer(out, GDB_PACKET_MAX + 1, xml, xml_len,
			       cmd->addr, cmd->len);
		break;
	default:
		gdb_reply_stop(out, GDB_PACKET_MAX, 5, cmd->tid,
			       GDB_STOP_WATCH, cmd->addr);
	}
}

/* Frame @rx's payload again and receive it: the same bytes must come. */
static void round_trip(const struct gdb_rx *rx, char *frame,
		       struct gdb_rx *rx2, u8 *plain)
{
	ssize_t n = gdb_frame(frame, FRAME_MAX, rx->buf, rx->len);
	enum gdb_rx_event e = GDB_RX_NONE;

	if (n < 0)
		abort();
	gdb_rx_init(rx2);
	for (ssize_t i = 0; i < n; i++)
		e = gdb_rx_byte(rx2, (u8)frame[i]);
	if (e != GDB_RX_PACKET ||
	    gdb_unescape(rx2->buf, rx2->len, plain, GDB_PACKET_MAX) !=
	    (ssize_t)rx->len || memcmp(plain, rx->buf, rx->len))
		abort();
}

struct state {
	struct gdb_rx rx, rx2;
	struct gdb_cmd cmd;
	struct lkvm_regs regs;
	char out[GDB_PACKET_MAX + 1];
	char frame[FRAME_MAX];
	u8 plain[GDB_PACKET_MAX];
	char xml[16384];
};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct state *s = calloc(1, sizeof(*s));
	ssize_t xml_len = gdb_a64_target_xml(s->xml, sizeof(s->xml));
	char err[128];

	if (xml_len < 0)
		abort();
	gdb_rx_init(&s->rx);
	for (size_t i = 0; i < size; i++) {
		if (gdb_rx_byte(&s->rx, data[i]) != GDB_RX_PACKET)
			continue;
		round_trip(&s->rx, s->frame, &s->rx2, s->plain);
		if (gdb_parse(s->rx.buf, s->rx.len, &s->cmd, err,
			      sizeof(err)) < 0)
			continue;
		check_cmd(&s->cmd);
		reply(&s->cmd, &s->regs, s->out, s->xml, xml_len);
	}
	free(s);
	return 0;
}
