/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_REGS_H
#define LKVM_REGS_H

/*
 * A vCPU's registers for `lkvm debug --dump` and the GDB stub:
 * arm64/regs.c reads them (KVM_GET_ONE_REG, through a callback so that
 * it is testable) and writes back what a debugger may change;
 * arm64/regs-dump.c prints them, the code at PC and a frame-pointer
 * stack walk in the documented dump format (README, "Register dump").
 */
#include <stdio.h>

#include "lkvm/ptwalk.h"
#include "lkvm/util.h"

#define REGS_SVE_VQ_MAX		16	/* 2048-bit vectors */
#define REGS_NR_SPSR		5	/* KVM's spsr[]: EL1(svc) abt und irq fiq */

/* A 128-bit register (V0-V31): the value is hi:lo. */
struct vreg {
	u64 lo, hi;
};

/*
 * One vCPU. With an AArch32 EL1 (el1_aarch32) the same storage is the
 * AArch32 view KVM gives (Arm ARM "mapping of the general-purpose
 * registers between the Execution states"): r0-r12 in x0-x12, the usr
 * sp/lr in x13/x14, the banked ones in x16-x30, CPSR in pstate, SPSRs in
 * spsr[], D0-D31 in the halves of v[0..15], FPSCR from fpsr|fpcr; the
 * system registers are the AArch64 ones of which the AArch32 ones are
 * views (SCTLR = sctlr_el1, TTBCR = tcr_el1, DFSR = esr_el1, ...).
 */
struct lkvm_regs {
	bool el1_aarch32;
	u64 x[31];
	u64 sp_el0, sp_el1, pc, pstate, elr_el1;
	u64 spsr[REGS_NR_SPSR];
	u64 esr_el1, far_el1, sctlr_el1, tcr_el1, ttbr0_el1, ttbr1_el1;
	u64 vbar_el1, mair_el1;
	struct vreg v[32];
	u32 fpsr, fpcr;
	/* SVE: sve_vq 0 when the vCPU has none; else VL = 128 * sve_vq bits */
	unsigned int sve_vq;
	u64 zcr_el1;
	u8 z[32][REGS_SVE_VQ_MAX * 16];	/* little-endian, VL/8 bytes used */
	u8 p[16][REGS_SVE_VQ_MAX * 2];	/* VL/64 bytes used */
	u8 ffr[REGS_SVE_VQ_MAX * 2];
};

/*
 * KVM_GET_ONE_REG / KVM_SET_ONE_REG: @buf holds as many bytes as the
 * size field of @id says. Returns 0 or -errno.
 */
typedef int (*regs_io_fn)(void *opaque, u64 id, void *buf, bool write);

/* KVM register ids (Documentation/virt/kvm/api.rst, arm64). */
u64 regs_core_id(size_t offset, size_t size);	/* struct kvm_regs */
u64 regs_sysreg_id(int op0, int op1, int crn, int crm, int op2);
u64 regs_sve_zreg_id(int n);			/* slice 0 */
u64 regs_sve_preg_id(int n);
u64 regs_sve_ffr_id(void);
u64 regs_sve_vls_id(void);

/*
 * Fill @r from a vCPU (which must not be running). SVE is detected by
 * reading KVM_REG_ARM64_SVE_VLS; then V0-V31 are the low 128 bits of
 * Z0-Z31 (KVM refuses the core V ids). Returns 0, or -errno with the
 * register that failed named in @err.
 */
int regs_read(struct lkvm_regs *r, bool el1_aarch32, regs_io_fn io,
	      void *opaque, char *err, size_t errlen);
/* The same on a vCPU file descriptor (KVM_GET_ONE_REG). */
int regs_read_vcpu(struct lkvm_regs *r, int vcpu_fd, bool el1_aarch32,
		   char *err, size_t errlen);
/*
 * Write back what a debugger may change: x0-x30, sp_el0, sp_el1, pc,
 * pstate, V (or Z/P/FFR with SVE), fpsr, fpcr. System registers are
 * not written.
 */
int regs_write(const struct lkvm_regs *r, regs_io_fn io, void *opaque,
	       char *err, size_t errlen);
int regs_write_vcpu(const struct lkvm_regs *r, int vcpu_fd, char *err,
		    size_t errlen);

/* The translation registers of @r, for the page-table walker. */
void regs_pt_regs(const struct lkvm_regs *r, struct pt_regs *pt);
/* The AArch32 view: r13/r14 of the current mode; FPSCR. */
u32 regs_a32_sp(const struct lkvm_regs *r);
u32 regs_a32_lr(const struct lkvm_regs *r);
u32 regs_a32_fpscr(const struct lkvm_regs *r);
/* "el1h", "el0t", "svc", "usr", ...: the mode in PSTATE/CPSR. */
const char *regs_mode_name(const struct lkvm_regs *r);

/* ---- arm64/regs-dump.c ---- */

#define REGS_DUMP_VERSION	1
#define REGS_CODE_BEFORE	16	/* bytes of code before and after PC */
#define REGS_CODE_AFTER		16
#define REGS_MAX_FRAMES		64

/* Print @r as "cpuN NAME VALUE" lines (the format: regs-dump.c, README). */
void regs_dump(FILE *f, int cpu, const struct lkvm_regs *r);
/* "cpuN code ...": the instructions around PC, read through @ctx. */
void regs_dump_code(FILE *f, int cpu, const struct lkvm_regs *r,
		    const struct pt_ctx *ctx);

/* A frame-pointer walk: frames[0] is PC, then each record's return. */
struct regs_frame {
	u64 pc;
	u64 fp;		/* the frame record it came from; 0 for frames[0] */
};
/*
 * Walk the x29 chain from @r through @ctx, at most @max frames. Returns
 * the number of frames; @why says why the walk ended (an fp of 0 is the
 * normal end).
 */
int regs_backtrace(const struct lkvm_regs *r, const struct pt_ctx *ctx,
		   struct regs_frame *frames, int max, char *why,
		   size_t whylen);
/* "cpuN frameK ..." lines and "cpuN stack-end REASON". */
void regs_dump_stack(FILE *f, int cpu, const struct lkvm_regs *r,
		     const struct pt_ctx *ctx);
/* "# lkvm register dump v1": once, before the vCPUs. */
void regs_dump_header(FILE *f);
/* The whole dump of one vCPU: registers, code, stack. */
void regs_dump_all(FILE *f, int cpu, const struct lkvm_regs *r,
		   pt_read_phys_fn read_phys, void *opaque);

#endif
