/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PTWALK_H
#define LKVM_PTWALK_H

/*
 * Guest page-table walker (arm64/ptwalk.c): guest-virtual to
 * guest-physical addresses from a vCPU's translation registers, the
 * tables read through a callback, so that it needs no VM.
 */
#include "lkvm/util.h"

/*
 * The translation registers of one vCPU as KVM_GET_ONE_REG returns them.
 * An AArch32 EL1 sees the same registers through its own names: SCTLR
 * is SCTLR_EL1[31:0], TTBCR is TCR_EL1[31:0], TTBR0/TTBR1 the 64-bit
 * TTBR0_EL1/TTBR1_EL1.
 */
struct pt_regs {
	bool aarch32;		/* EL1 is AArch32 (PSTATE.nRW) */
	u64 sctlr;
	u64 tcr;
	u64 ttbr0;
	u64 ttbr1;
};

/*
 * Guest-physical access: 0, or -errno (e.g. -EFAULT outside RAM). The
 * walker reads descriptors little-endian (big-endian walks, SCTLR.EE=1,
 * are refused).
 */
typedef int (*pt_read_phys_fn)(void *opaque, u64 gpa, void *buf, size_t len);
typedef int (*pt_write_phys_fn)(void *opaque, u64 gpa, const void *buf,
				size_t len);

struct pt_ctx {
	struct pt_regs regs;
	pt_read_phys_fn read_phys;
	pt_write_phys_fn write_phys;	/* NULL: pt_write_virt() refuses */
	void *opaque;
};

/*
 * Callbacks for guest RAM as one struct guest_mem (@opaque): accesses
 * wholly inside it succeed, others fail with -EFAULT.
 */
int pt_guest_mem_read(void *opaque, u64 gpa, void *buf, size_t len);
int pt_guest_mem_write(void *opaque, u64 gpa, const void *buf, size_t len);

/* Where a virtual address is mapped. */
struct pt_map {
	u64 gpa;		/* the address itself, translated */
	u64 size;		/* of the page/block/section holding it */
	int level;		/* of its final descriptor; -1: MMU off */
	u64 desc;		/* that descriptor (0 with the MMU off) */
};

/*
 * Translate @va as a stage-1 EL1&0 data access would (ignoring
 * permissions and the access flag: a debugger reads "old" pages too).
 * Returns 0, or with a one-line reason in @err:
 *   -EFAULT     not mapped (translation or address size fault)
 *   -EIO        a table could not be read (read_phys failed)
 *   -EINVAL     the registers or a descriptor are malformed
 *   -EOPNOTSUPP a configuration this walker does not implement
 *               (FEAT_LPA2 TCR_EL1.DS=1, big-endian tables)
 */
int pt_translate(const struct pt_ctx *ctx, u64 va, struct pt_map *map,
		 char *err, size_t errlen);

/* Read/write guest-virtual memory page by page; errors as above. */
int pt_read_virt(const struct pt_ctx *ctx, u64 va, void *buf, size_t len,
		 char *err, size_t errlen);
int pt_write_virt(const struct pt_ctx *ctx, u64 va, const void *buf,
		  size_t len, char *err, size_t errlen);

/*
 * A code pointer found in memory (a return address in a frame record)
 * with its pointer-authentication code removed: the bits above the
 * virtual address size of its half set like bit 55. AArch32: as is.
 */
u64 pt_strip_pac(const struct pt_regs *regs, u64 va);

#endif
