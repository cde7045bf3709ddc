/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM_ZIMAGE_H
#define LKVM_ARM_ZIMAGE_H

#include "lkvm/arm64-image.h"
#include "lkvm/util.h"

/*
 * A 32-bit ARM kernel (--aarch32): a zImage or a plain Image, as
 * Documentation/arch/arm/booting.rst describes them (arm/zimage.c).
 */
struct arm_zimage {
	size_t size;		/* bytes to copy into guest RAM (the whole file) */
	bool compressed;	/* zImage (self-decompressing) or plain Image */
	u64 start;		/* zImage: the address it was linked for, 0 = any */
};

/* Check a kernel file's header. Returns 0 or -EINVAL with a reason. */
int arm_zimage_parse(struct arm_zimage *k, const u8 *buf, size_t len,
		     char *err, size_t errlen);

/*
 * Choose where kernel, initrd and FDT go in RAM [ram_base, ram_base +
 * ram_size), all within what a 32-bit kernel reaches at boot. Returns 0,
 * or -ENOSPC / -EINVAL with a reason.
 */
int arm_zimage_layout(const struct arm_zimage *k, u64 ram_base, u64 ram_size,
		      u64 initrd_size, u64 fdt_size, struct boot_layout *out,
		      char *err, size_t errlen);

/*
 * The 32-bit guest's boot registers (booting.rst): SVC mode, IRQ, FIQ
 * and asynchronous aborts masked, r0 = 0, r1 = ~0 (no machine type: the
 * device tree says), r2 = the FDT.
 */
struct aarch32_boot_regs {
	u64 cpsr, r0, r1, r2, pc;
};
void aarch32_boot_regs(u64 kernel, u64 fdt, struct aarch32_boot_regs *out);

/*
 * Whether this host can run --aarch32 guests: @el1_32bit is what
 * KVM_CHECK_EXTENSION(KVM_CAP_ARM_EL1_32BIT) said. Returns 0 or -ENODEV
 * with the line to print.
 */
int aarch32_host_check(int el1_32bit, char *err, size_t errlen);

#endif
