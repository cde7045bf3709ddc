// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the GDB remote protocol layer (util/gdb-packet.c,
 * util/gdb-cmd.c, arm64/gdb-regs.c) and the stub (arm64/gdb-stub.c,
 * arm64/hwdebug.c): the input is the byte stream gdb would send. Every
 * complete packet is parsed, its parse checked for bounds, and handled
 * by a stub over a fake two-vCPU target; each good payload is
 * also framed back and re-received, which must give the same bytes
 * after unescaping (framing and escapes are inverse). Seeds:
 * tests/fuzz/corpus/gdb-packet/ (a gdb session's start, memory and
 * register writes, vCont, breakpoints, malformed packets).
 */
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "lkvm/gdb-stub.h"

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

/* A fake target for the stub: 2 vCPUs, 512 bytes of memory at 0x1000. */
struct fake {
	struct lkvm_regs regs[2];
	u8 mem[512];
};

#define MEM_BASE	0x1000

static int f_regs(void *o, int cpu, struct lkvm_regs *r)
{
	if (cpu < 0 || cpu > 1)
		abort();
	*r = ((struct fake *)o)->regs[cpu];
	return 0;
}

static int f_set_regs(void *o, int cpu, const struct lkvm_regs *r)
{
	if (cpu < 0 || cpu > 1)
		abort();
	((struct fake *)o)->regs[cpu] = *r;
	return 0;
}

static u8 *f_mem(void *o, u64 va, size_t len)
{
	struct fake *f = o;

	if (va < MEM_BASE || va - MEM_BASE > sizeof(f->mem) ||
	    len > sizeof(f->mem) - (va - MEM_BASE))
		return NULL;
	return f->mem + (va - MEM_BASE);
}

static int f_read(void *o, int cpu, u64 va, void *buf, size_t len)
{
	u8 *p = f_mem(o, va, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int f_write(void *o, int cpu, u64 va, const void *buf, size_t len)
{
	u8 *p = f_mem(o, va, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

static int f_debug(void *o, bool sw, const struct hwdebug *hw)
{
	return 0;
}

static int f_resume(void *o, const enum gdb_resume *how)
{
	return 0;
}

static void f_void(void *o)
{
}

static const struct gdb_target_ops fake_ops = {
	.get_regs = f_regs, .set_regs = f_set_regs, .read_mem = f_read,
	.write_mem = f_write, .set_debug = f_debug, .resume = f_resume,
	.kill = f_void, .detach = f_void,
};

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
	struct gdb_stub stub;
	struct fake fake;
	char out[GDB_PACKET_MAX + 1];
	char frame[FRAME_MAX];
	u8 plain[GDB_PACKET_MAX];
};

/* One good packet: its parse checked, then the stub's reply to it. */
static void packet(struct state *s)
{
	char err[128];
	size_t outlen = 0;

	round_trip(&s->rx, s->frame, &s->rx2, s->plain);
	if (gdb_parse(s->rx.buf, s->rx.len, &s->cmd, err, sizeof(err)) == 0)
		check_cmd(&s->cmd);
	gdb_stub_handle(&s->stub, s->rx.buf, s->rx.len, s->out,
			sizeof(s->out), &outlen);
	if (outlen >= sizeof(s->out))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct state *s = calloc(1, sizeof(*s));

	if (gdb_stub_init(&s->stub, &fake_ops, &s->fake, 2, 2, 2) < 0)
		abort();
	gdb_rx_init(&s->rx);
	for (size_t i = 0; i < size; i++)
		if (gdb_rx_byte(&s->rx, data[i]) == GDB_RX_PACKET)
			packet(s);
	/* every breakpoint removed: memory is as the packets left it */
	gdb_stub_remove_all(&s->stub);
	free(s);
	return 0;
}
