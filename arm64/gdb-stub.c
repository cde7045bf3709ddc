// SPDX-License-Identifier: GPL-2.0
/*
 * The GDB stub's logic for --gdb: what each command of gdb's remote
 * protocol does to an all-stop target of N vCPUs (thread id = vCPU + 1),
 * through a table of target callbacks (struct gdb_target_ops), so that
 * it runs and is tested without a VM.
 *
 * - Registers: g/G/p/P on the Hg vCPU, gdb's aarch64 layout
 *   (arm64/gdb-regs.c); memory: m/M/X by guest-virtual address on that
 *   vCPU, with the stub's breakpoint instructions hidden from reads and
 *   kept under writes (as gdbserver does), so gdb sees the guest's code.
 * - Software breakpoints (Z0): BRK #0 written over the instruction, the
 *   original kept; hardware ones and watchpoints (Z1-Z4) in debug
 *   register slots (arm64/hwdebug.c). Each change is pushed to the
 *   target (set_debug). Z/z are idempotent, as the protocol asks.
 * - Resuming: c and s act on the Hc vCPU (s) or all (c); vCont gives each
 *   vCPU the leftmost action naming it; vCPUs without one stay parked.
 *   The reply comes when the target stops: gdb_stub_stopped().
 * - D removes every breakpoint before the target detaches; k kills.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/gdb-stub.h"

#define SWBP_LEN	4

/* GDB_A64_BRK as it lies in memory (little-endian) */
static const u8 brk_insn[SWBP_LEN] = { 0x00, 0x00, 0x20, 0xd4 };

typedef ssize_t (*handler_fn)(struct gdb_stub *s, char *out, size_t cap);

int gdb_stub_init(struct gdb_stub *s, const struct gdb_target_ops *ops,
		  void *opaque, int nr_cpus, int nr_hw_bps, int nr_hw_wps)
{
	ssize_t n;

	if (nr_cpus < 1 || nr_cpus > (int)ARRAY_SIZE(s->how))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->opaque = opaque;
	s->nr_cpus = nr_cpus;
	s->ccpu = -1;
	s->stop.sig = 5;		/* SIGTRAP */
	hwdebug_init(&s->hw, nr_hw_bps, nr_hw_wps);
	n = gdb_a64_target_xml(s->xml, sizeof(s->xml));
	if (n < 0)
		return n;
	s->xml_len = n;
	return 0;
}

/* A thread id as a vCPU: -1 for "all", @dflt for "any". */
static int tid_cpu(const struct gdb_stub *s, long tid, int dflt)
{
	if (tid == GDB_TID_ALL)
		return -1;
	if (tid == GDB_TID_ANY)
		return dflt;
	return tid <= s->nr_cpus ? (int)tid - 1 : -2;
}

static ssize_t put(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -ENOSPC;
	memcpy(out, s, n + 1);
	return n;
}

static ssize_t put_hex(char *out, size_t cap, const void *buf, size_t len)
{
	if (2 * len >= cap)
		return -ENOSPC;
	gdb_hex_encode(buf, len, out);
	return 2 * len;
}

/* ---- registers ---- */

static ssize_t h_read_regs(struct gdb_stub *s, char *out, size_t cap)
{
	u8 g[GDB_A64_G_SIZE];
	int ret = s->ops->get_regs(s->opaque, s->gcpu, &s->regs);

	if (ret < 0)
		return ret;
	gdb_a64_get_regs(&s->regs, g);
	return put_hex(out, cap, g, sizeof(g));
}

static ssize_t h_write_regs(struct gdb_stub *s, char *out, size_t cap)
{
	int ret = s->ops->get_regs(s->opaque, s->gcpu, &s->regs);

	if (ret < 0)
		return ret;
	ret = gdb_a64_set_regs(&s->regs, s->cmd.data, s->cmd.data_len);
	if (!ret)
		ret = s->ops->set_regs(s->opaque, s->gcpu, &s->regs);
	return ret < 0 ? ret : put(out, cap, "OK");
}

static ssize_t h_read_reg(struct gdb_stub *s, char *out, size_t cap)
{
	u8 b[16];
	int size, ret = s->ops->get_regs(s->opaque, s->gcpu, &s->regs);

	if (ret < 0)
		return ret;
	size = gdb_a64_get_reg(&s->regs, s->cmd.regnum, b);
	return size < 0 ? size : put_hex(out, cap, b, size);
}

static ssize_t h_write_reg(struct gdb_stub *s, char *out, size_t cap)
{
	int ret = s->ops->get_regs(s->opaque, s->gcpu, &s->regs);

	if (!ret)
		ret = gdb_a64_set_reg(&s->regs, s->cmd.regnum, s->cmd.data,
				      s->cmd.data_len);
	if (!ret)
		ret = s->ops->set_regs(s->opaque, s->gcpu, &s->regs);
	return ret < 0 ? ret : put(out, cap, "OK");
}

/* ---- memory, with the breakpoints hidden ---- */

/* For each stub breakpoint overlapping [va, va + len): its byte range. */
static bool overlap(const struct gdb_swbp *bp, u64 va, size_t len,
		    size_t *lo, size_t *hi)
{
	u64 end = va + len;

	if (!bp->used || bp->addr >= end || bp->addr + SWBP_LEN <= va)
		return false;
	*lo = bp->addr > va ? bp->addr - va : 0;
	*hi = MIN(bp->addr + SWBP_LEN, end) - va;
	return true;
}

static void unpatch(const struct gdb_stub *s, u64 va, u8 *buf, size_t len)
{
	size_t lo, hi;

	for (int i = 0; i < GDB_STUB_MAX_SWBP; i++) {
		const struct gdb_swbp *bp = &s->swbp[i];

		if (overlap(bp, va, len, &lo, &hi))
			memcpy(buf + lo, bp->orig + (va + lo - bp->addr), hi - lo);
	}
}

static ssize_t h_read_mem(struct gdb_stub *s, char *out, size_t cap)
{
	u8 buf[GDB_PACKET_MAX / 2];
	size_t len = MIN(s->cmd.len, sizeof(buf));
	int ret = s->ops->read_mem(s->opaque, s->gcpu, s->cmd.addr, buf, len);

	if (ret < 0)
		return ret;
	unpatch(s, s->cmd.addr, buf, len);
	return put_hex(out, cap, buf, len);
}

/* A write over a breakpoint changes what it will put back, not the BRK. */
static ssize_t h_write_mem(struct gdb_stub *s, char *out, size_t cap)
{
	u64 va = s->cmd.addr;
	size_t lo, hi, len = s->cmd.data_len;
	int ret = 0;

	for (int i = 0; i < GDB_STUB_MAX_SWBP; i++) {
		struct gdb_swbp *bp = &s->swbp[i];

		if (overlap(bp, va, len, &lo, &hi)) {
			memcpy(bp->orig + (va + lo - bp->addr), s->cmd.data + lo,
			       hi - lo);
			memcpy(s->cmd.data + lo, brk_insn + (va + lo - bp->addr),
			       hi - lo);
		}
	}
	if (len)
		ret = s->ops->write_mem(s->opaque, s->gcpu, va, s->cmd.data,
					len);
	return ret < 0 ? ret : put(out, cap, "OK");
}

/* ---- breakpoints ---- */

static struct gdb_swbp *swbp_find(struct gdb_stub *s, u64 addr)
{
	for (int i = 0; i < GDB_STUB_MAX_SWBP; i++)
		if (s->swbp[i].used && s->swbp[i].addr == addr)
			return &s->swbp[i];
	return NULL;
}

static bool any_swbp(const struct gdb_stub *s)
{
	for (int i = 0; i < GDB_STUB_MAX_SWBP; i++)
		if (s->swbp[i].used)
			return true;
	return false;
}

static int push_debug(struct gdb_stub *s)
{
	return s->ops->set_debug(s->opaque, any_swbp(s), &s->hw);
}

static int swbp_insert(struct gdb_stub *s, u64 addr)
{
	struct gdb_swbp *bp = swbp_find(s, addr), *free_bp = NULL;
	int ret;

	if (bp)
		return 0;
	for (int i = 0; i < GDB_STUB_MAX_SWBP && !free_bp; i++)
		if (!s->swbp[i].used)
			free_bp = &s->swbp[i];
	if (!free_bp)
		return -ENOSPC;
	ret = s->ops->read_mem(s->opaque, s->gcpu, addr, free_bp->orig,
			       SWBP_LEN);
	if (!ret)
		ret = s->ops->write_mem(s->opaque, s->gcpu, addr, brk_insn,
				       SWBP_LEN);
	if (ret < 0)
		return ret;
	free_bp->used = true;
	free_bp->addr = addr;
	return 0;
}

static int swbp_remove(struct gdb_stub *s, struct gdb_swbp *bp)
{
	int ret;

	if (!bp)
		return 0;	/* idempotent */
	ret = s->ops->write_mem(s->opaque, s->gcpu, bp->addr, bp->orig,
				SWBP_LEN);
	memset(bp, 0, sizeof(*bp));
	return ret;
}

static ssize_t h_breakpoint(struct gdb_stub *s, char *out, size_t cap)
{
	bool insert = s->cmd.type == GDB_CMD_INSERT_BP;
	int ret;

	if (s->cmd.bp_type == GDB_BP_SW) {
		if (s->cmd.len != SWBP_LEN || (s->cmd.addr & 3))
			return -EINVAL;
		ret = insert ? swbp_insert(s, s->cmd.addr) :
			       swbp_remove(s, swbp_find(s, s->cmd.addr));
	} else if (insert) {
		ret = hwdebug_insert(&s->hw, s->cmd.bp_type, s->cmd.addr,
				     s->cmd.len, NULL, 0);
	} else {
		ret = hwdebug_remove(&s->hw, s->cmd.bp_type, s->cmd.addr,
				     s->cmd.len, NULL, 0);
		ret = ret == -ENOENT ? 0 : ret;
	}
	if (!ret)
		ret = push_debug(s);
	return ret < 0 ? ret : put(out, cap, "OK");
}

void gdb_stub_remove_all(struct gdb_stub *s)
{
	for (int i = 0; i < GDB_STUB_MAX_SWBP; i++)
		if (s->swbp[i].used)
			swbp_remove(s, &s->swbp[i]);
	hwdebug_init(&s->hw, s->hw.nr_bps, s->hw.nr_wps);
	push_debug(s);
}

bool gdb_stub_is_swbp(const struct gdb_stub *s, u64 pc)
{
	for (int i = 0; i < GDB_STUB_MAX_SWBP; i++)
		if (s->swbp[i].used && s->swbp[i].addr == pc)
			return true;
	return false;
}

/* ---- resuming ---- */

/* c/s [addr]: a new PC first, on the vCPU that will run. */
static int set_pc(struct gdb_stub *s, int cpu)
{
	int ret;

	if (!s->cmd.has_addr)
		return 0;
	ret = s->ops->get_regs(s->opaque, cpu, &s->regs);
	if (ret < 0)
		return ret;
	s->regs.pc = s->cmd.addr;
	return s->ops->set_regs(s->opaque, cpu, &s->regs);
}

static ssize_t h_resume(struct gdb_stub *s, char *out, size_t cap)
{
	bool step = s->cmd.type == GDB_CMD_STEP;
	int cpu = s->ccpu >= 0 ? s->ccpu : (step ? s->gcpu : 0);
	int ret = set_pc(s, cpu);

	if (ret < 0)
		return ret;
	for (int i = 0; i < s->nr_cpus; i++)
		s->how[i] = step ? (i == cpu ? GDB_RESUME_STEP : GDB_RESUME_STOP)
				 : GDB_RESUME_CONTINUE;
	return s->ops->resume(s->opaque, s->how);
}

static enum gdb_resume vcont_how(char action)
{
	return action == 's' ? GDB_RESUME_STEP :
	       action == 'c' ? GDB_RESUME_CONTINUE : GDB_RESUME_STOP;
}

/* Each vCPU: the leftmost action naming it (or all); none: parked. */
static ssize_t h_vcont(struct gdb_stub *s, char *out, size_t cap)
{
	for (int i = 0; i < s->nr_cpus; i++) {
		s->how[i] = GDB_RESUME_STOP;
		for (int a = 0; a < s->cmd.nr_actions; a++) {
			const struct gdb_vcont_action *act = &s->cmd.actions[a];

			if (act->tid == GDB_TID_ALL || act->tid == i + 1) {
				s->how[i] = vcont_how(act->action);
				break;
			}
		}
	}
	return s->ops->resume(s->opaque, s->how);
}

ssize_t gdb_stub_stopped(struct gdb_stub *s, int cpu, int sig,
			 enum gdb_stop_why why, u64 addr, char *out,
			 size_t cap)
{
	s->stop.cpu = cpu;
	s->stop.sig = sig;
	s->stop.why = why;
	s->stop.addr = addr;
	s->gcpu = cpu;		/* gdb looks at the thread that stopped */
	return gdb_reply_stop(out, cap, sig, cpu + 1, why, addr);
}

/* ESR_EL2 exception classes of a KVM_EXIT_DEBUG (Arm ARM, ESR_ELx.EC) */
#define EC_HW_BP_LOW	0x30
#define EC_HW_BP_CUR	0x31
#define EC_WATCH_LOW	0x34
#define EC_WATCH_CUR	0x35
#define EC_BRK64	0x3c
#define WCR_LSC_LOAD	1	/* DBGWCR.LSC: 01 load, 10 store, 11 both */
#define WCR_LSC_STORE	2

static enum gdb_stop_why watch_why(const struct hwdebug_slot *wp)
{
	switch ((wp->ctrl >> 3) & 3) {
	case WCR_LSC_LOAD:
		return GDB_STOP_RWATCH;
	case WCR_LSC_STORE:
		return GDB_STOP_WATCH;
	default:
		return GDB_STOP_AWATCH;
	}
}

ssize_t gdb_stub_debug_stop(struct gdb_stub *s, int cpu, u32 esr, u64 far,
			    u64 pc, char *out, size_t cap)
{
	enum gdb_stop_why why = GDB_STOP_SIGNAL;
	const struct hwdebug_slot *wp;
	u64 addr = 0;

	switch (esr >> 26) {
	case EC_BRK64:
		if (gdb_stub_is_swbp(s, pc))
			why = GDB_STOP_SWBREAK;
		break;
	case EC_HW_BP_LOW:
	case EC_HW_BP_CUR:
		why = GDB_STOP_HWBREAK;
		break;
	case EC_WATCH_LOW:
	case EC_WATCH_CUR:
		wp = hwdebug_watch_hit(&s->hw, far);
		if (wp) {
			why = watch_why(wp);
			addr = far;
		}
		break;
	}
	return gdb_stub_stopped(s, cpu, 5, why, addr, out, cap);
}

/* PSTATE and SCTLR_EL1 bits an exception entry to EL1 looks at */
#define PSR_EL1H	0x5		/* M[3:0]: EL1 with SP_EL1 */
#define PSR_DAIF	0x3c0
#define PSR_PAN		(1ULL << 22)
#define PSR_SSBS	(1ULL << 12)
#define PSR_DIT		(1ULL << 24)
#define SCTLR_SPAN	(1ULL << 23)
#define SCTLR_DSSBS	(1ULL << 44)

bool gdb_a64_guest_brk(const struct gdb_stub *s, u32 esr, u64 pc)
{
	return esr >> 26 == EC_BRK64 && !gdb_stub_is_swbp(s, pc);
}

void gdb_a64_take_exception(struct lkvm_regs *r, u32 esr)
{
	u64 el = (r->pstate >> 2) & 3;
	u64 off = el == 0 ? 0x400 : (r->pstate & 1) ? 0x200 : 0;
	u64 pstate = PSR_EL1H | PSR_DAIF | (r->pstate & (PSR_PAN | PSR_DIT));

	if (!(r->sctlr_el1 & SCTLR_SPAN))
		pstate |= PSR_PAN;
	if (r->sctlr_el1 & SCTLR_DSSBS)
		pstate |= PSR_SSBS;
	r->spsr[0] = r->pstate;
	r->elr_el1 = r->pc;
	r->esr_el1 = esr;
	r->pstate = pstate;
	r->pc = r->vbar_el1 + off;
}

/* ---- threads and queries ---- */

static ssize_t h_halt_reason(struct gdb_stub *s, char *out, size_t cap)
{
	return gdb_reply_stop(out, cap, s->stop.sig, s->stop.cpu + 1,
			      s->stop.why, s->stop.addr);
}

static ssize_t h_set_thread(struct gdb_stub *s, char *out, size_t cap)
{
	int cpu = tid_cpu(s, s->cmd.tid, 0);

	if (cpu < -1 || (cpu == -1 && s->cmd.thread_op == 'g'))
		return -EINVAL;		/* Hg-1: registers of all threads? */
	if (s->cmd.thread_op == 'g')
		s->gcpu = cpu;
	else
		s->ccpu = cpu;
	return put(out, cap, "OK");
}

static ssize_t h_thread_alive(struct gdb_stub *s, char *out, size_t cap)
{
	return tid_cpu(s, s->cmd.tid, -2) >= 0 ? put(out, cap, "OK") : -ESRCH;
}

static ssize_t h_current_thread(struct gdb_stub *s, char *out, size_t cap)
{
	int n = snprintf(out, cap, "QC%x", s->gcpu + 1);

	return n >= 0 && (size_t)n < cap ? n : -ENOSPC;
}

static ssize_t h_xfer(struct gdb_stub *s, char *out, size_t cap)
{
	if (strcmp(s->cmd.annex, "target.xml"))
		return -ENOENT;
	return gdb_reply_xfer(out, cap, s->xml, s->xml_len, s->cmd.addr,
			      s->cmd.len);
}

static ssize_t h_supported(struct gdb_stub *s, char *out, size_t cap)
{
	return gdb_reply_supported(out, cap);
}

static ssize_t h_vcont_query(struct gdb_stub *s, char *out, size_t cap)
{
	return gdb_reply_vcont_query(out, cap);
}

static ssize_t h_threads(struct gdb_stub *s, char *out, size_t cap)
{
	return gdb_reply_threads(out, cap, s->nr_cpus);
}

static ssize_t h_threads_end(struct gdb_stub *s, char *out, size_t cap)
{
	return put(out, cap, "l");
}

static ssize_t h_attached(struct gdb_stub *s, char *out, size_t cap)
{
	return put(out, cap, "1");	/* an existing VM: detach, not kill */
}

static ssize_t h_noack(struct gdb_stub *s, char *out, size_t cap)
{
	s->noack = true;
	return put(out, cap, "OK");
}

static ssize_t h_kill(struct gdb_stub *s, char *out, size_t cap)
{
	s->ops->kill(s->opaque);
	return 0;
}

static ssize_t h_detach(struct gdb_stub *s, char *out, size_t cap)
{
	gdb_stub_remove_all(s);
	s->ops->detach(s->opaque);
	return put(out, cap, "OK");
}

static ssize_t h_unsupported(struct gdb_stub *s, char *out, size_t cap)
{
	return put(out, cap, "");
}

static const handler_fn handlers[] = {
	[GDB_CMD_UNSUPPORTED] = h_unsupported,
	[GDB_CMD_HALT_REASON] = h_halt_reason,
	[GDB_CMD_READ_REGS] = h_read_regs,
	[GDB_CMD_WRITE_REGS] = h_write_regs,
	[GDB_CMD_READ_REG] = h_read_reg,
	[GDB_CMD_WRITE_REG] = h_write_reg,
	[GDB_CMD_READ_MEM] = h_read_mem,
	[GDB_CMD_WRITE_MEM] = h_write_mem,
	[GDB_CMD_CONTINUE] = h_resume,
	[GDB_CMD_STEP] = h_resume,
	[GDB_CMD_VCONT] = h_vcont,
	[GDB_CMD_VCONT_QUERY] = h_vcont_query,
	[GDB_CMD_INSERT_BP] = h_breakpoint,
	[GDB_CMD_REMOVE_BP] = h_breakpoint,
	[GDB_CMD_SET_THREAD] = h_set_thread,
	[GDB_CMD_THREAD_ALIVE] = h_thread_alive,
	[GDB_CMD_SUPPORTED] = h_supported,
	[GDB_CMD_XFER_FEATURES] = h_xfer,
	[GDB_CMD_THREAD_FIRST] = h_threads,
	[GDB_CMD_THREAD_NEXT] = h_threads_end,
	[GDB_CMD_CURRENT_THREAD] = h_current_thread,
	[GDB_CMD_ATTACHED] = h_attached,
	[GDB_CMD_NOACK] = h_noack,
	[GDB_CMD_KILL] = h_kill,
	[GDB_CMD_DETACH] = h_detach,
};

static enum gdb_stub_result result_of(enum gdb_cmd_type type)
{
	switch (type) {
	case GDB_CMD_CONTINUE:
	case GDB_CMD_STEP:
	case GDB_CMD_VCONT:
		return GDB_STUB_RESUMED;
	case GDB_CMD_KILL:
		return GDB_STUB_KILLED;
	case GDB_CMD_DETACH:
		return GDB_STUB_DETACHED;
	default:
		return GDB_STUB_REPLY;
	}
}

enum gdb_stub_result gdb_stub_handle(struct gdb_stub *s, const char *pkt,
				     size_t len, char *out, size_t cap,
				     size_t *outlen)
{
	ssize_t n = gdb_parse(pkt, len, &s->cmd, NULL, 0);

	if (n == 0)
		n = handlers[s->cmd.type](s, out, cap);
	if (n >= 0 && result_of(s->cmd.type) != GDB_STUB_RESUMED) {
		*outlen = n;
		return result_of(s->cmd.type);
	}
	if (n >= 0)
		return GDB_STUB_RESUMED;
	n = gdb_reply_error(out, cap, (int)n);
	*outlen = n > 0 ? n : 0;
	return GDB_STUB_REPLY;
}
