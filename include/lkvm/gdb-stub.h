/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_GDB_STUB_H
#define LKVM_GDB_STUB_H

/*
 * The GDB stub's logic (arm64/gdb-stub.c), all-stop, one gdb thread per
 * vCPU (thread id = vCPU + 1): each packet from gdb_rx is turned into
 * calls on a target (struct gdb_target_ops: the parked vCPUs' registers,
 * guest-virtual memory, the debug registers, resuming) and a reply.
 * The socket, KVM_SET_GUEST_DEBUG and the vCPU parking are the
 * target's; this file needs no VM and is tested with a fake one.
 *
 * The caller's loop: bytes from the socket into gdb_rx_byte(); on a
 * packet, ack it ('+', unless s->noack once QStartNoAckMode's reply
 * went out), gdb_stub_handle() and send the framed reply (gdb_frame());
 * on GDB_RX_NACK resend the last reply; on GDB_RX_INTERRUPT (Ctrl-C)
 * park the vCPUs and send gdb_stub_stopped(cpu, 2 (SIGINT), ...); when a
 * vCPU exits with KVM_EXIT_DEBUG, park the others and send
 * gdb_stub_stopped(cpu, 5 (SIGTRAP), swbreak/hwbreak/watch, FAR).
 * AArch64 guests only: the target description is aarch64's.
 */
#include "lkvm/gdb.h"
#include "lkvm/hwdebug.h"
#include "lkvm/regs.h"

#define GDB_STUB_MAX_SWBP	64
#define GDB_A64_BRK		0xd4200000U	/* BRK #0, trapped by KVM_GUESTDBG_USE_SW_BP */

enum gdb_resume {
	GDB_RESUME_STOP,	/* stays parked */
	GDB_RESUME_CONTINUE,
	GDB_RESUME_STEP,	/* KVM_GUESTDBG_SINGLESTEP */
};

/* Every callback returns 0 or -errno (an "Exx" reply). */
struct gdb_target_ops {
	int (*get_regs)(void *opaque, int cpu, struct lkvm_regs *r);
	int (*set_regs)(void *opaque, int cpu, const struct lkvm_regs *r);
	/* guest-virtual, through @cpu's page tables (pt_read_virt) */
	int (*read_mem)(void *opaque, int cpu, u64 va, void *buf, size_t len);
	int (*write_mem)(void *opaque, int cpu, u64 va, const void *buf,
			 size_t len);
	/* KVM_SET_GUEST_DEBUG on every vCPU: USE_SW_BP if @sw, USE_HW from @hw */
	int (*set_debug)(void *opaque, bool sw, const struct hwdebug *hw);
	/* unpark: @how[cpu] for each vCPU; a stop later ends in gdb_stub_stopped() */
	int (*resume)(void *opaque, const enum gdb_resume *how);
	void (*kill)(void *opaque);
	void (*detach)(void *opaque);	/* the stub has removed its breakpoints */
};

enum gdb_stub_result {
	GDB_STUB_REPLY,		/* send out[0, *outlen) (framed by the caller) */
	GDB_STUB_RESUMED,	/* no reply until the target stops */
	GDB_STUB_KILLED,	/* k: no reply, the session is over */
	GDB_STUB_DETACHED,	/* D: send the reply, then close */
};

struct gdb_swbp {
	bool used;
	u64 addr;
	u8 orig[4];		/* the instruction BRK replaced */
};

struct gdb_stub {
	const struct gdb_target_ops *ops;
	void *opaque;
	int nr_cpus;
	int gcpu;		/* Hg: registers and memory */
	int ccpu;		/* Hc: s and c; -1 all */
	bool noack;		/* QStartNoAckMode: the caller stops acking */
	struct {
		int cpu, sig;
		enum gdb_stop_why why;
		u64 addr;
	} stop;			/* the last stop, for '?' */
	struct hwdebug hw;
	struct gdb_swbp swbp[GDB_STUB_MAX_SWBP];
	struct gdb_cmd cmd;
	struct lkvm_regs regs;
	enum gdb_resume how[256];
	size_t xml_len;
	char xml[8192];
};

/*
 * @nr_cpus up to 256; @nr_hw_bps/@nr_hw_wps from KVM_CAP_GUEST_DEBUG_HW_BPS
 * and _WPS. The target is stopped (SIGTRAP on vCPU 0) at first.
 */
int gdb_stub_init(struct gdb_stub *s, const struct gdb_target_ops *ops,
		  void *opaque, int nr_cpus, int nr_hw_bps, int nr_hw_wps);
/* One packet payload; @out needs GDB_PACKET_MAX + 1 bytes. */
enum gdb_stub_result gdb_stub_handle(struct gdb_stub *s, const char *pkt,
				     size_t len, char *out, size_t cap,
				     size_t *outlen);
/* The target stopped on @cpu: the stop reply ("T05thread:..."). */
ssize_t gdb_stub_stopped(struct gdb_stub *s, int cpu, int sig,
			 enum gdb_stop_why why, u64 addr, char *out,
			 size_t cap);
/*
 * The stop reply for a KVM_EXIT_DEBUG on @cpu (SIGTRAP): @esr is the
 * exit's ESR_EL2 (hsr), @far its FAR, @pc the vCPU's: swbreak for one of
 * the stub's BRKs, hwbreak, watch/rwatch/awatch:ADDR for a watchpoint
 * slot's hit, else plain (a single step, the guest's own BRK).
 */
ssize_t gdb_stub_debug_stop(struct gdb_stub *s, int cpu, u32 esr, u64 far,
			    u64 pc, char *out, size_t cap);
/*
 * USE_SW_BP traps every BRK: is the one a debug exit (@esr) at @pc the
 * guest's own (a BUG() or WARN())? Then the guest takes it:
 * gdb_a64_take_exception() makes @r what the CPU would have made of it,
 * a synchronous exception to EL1 (Arm ARM, AArch64.TakeException): SPSR,
 * ELR and ESR_EL1 set, EL1h with DAIF masked (PAN, SSBS as SCTLR_EL1
 * says), PC at VBAR_EL1's vector for where it came from.
 */
bool gdb_a64_guest_brk(const struct gdb_stub *s, u32 esr, u64 pc);
void gdb_a64_take_exception(struct lkvm_regs *r, u32 esr);
/* A BRK at @pc is one of the stub's (else the guest's own: inject it). */
bool gdb_stub_is_swbp(const struct gdb_stub *s, u64 pc);
/* Put back every instruction the stub replaced (exit paths). */
void gdb_stub_remove_all(struct gdb_stub *s);

#endif
