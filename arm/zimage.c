// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit ARM guests (--aarch32): the kernel header check, where kernel,
 * initrd and FDT go in RAM, and the boot registers, following
 * Documentation/arch/arm/booting.rst. Pure functions over bytes and
 * numbers, so the unit tests and the fuzzer need no VM; arm64/boot.c and
 * arm64/kvm-cpu.c apply them.
 *
 * zImage header (little-endian words of the decompressor's head.S):
 *   0x24  magic 0x016f2818
 *   0x28  start: address the zImage was linked for (0: any, it is PIC)
 *   0x2c  end: start + size of the zImage proper (an appended DTB or
 *         padding may follow)
 *   0x30  0x04030201 in the kernel's byte order
 * A plain Image has no header: it is code, linked to run at RAM + 0x8000.
 */
#include <errno.h>
#include <string.h>

#include "lkvm/arm-zimage.h"

#define ZIMAGE_MAGIC_OFF	0x24
#define ZIMAGE_START_OFF	0x28
#define ZIMAGE_END_OFF		0x2c
#define ZIMAGE_HDR_SIZE		0x30
#define ZIMAGE_MAGIC		0x016f2818U
#define ZIMAGE_MAGIC_BE		0x18286f01U
#define ARM64_MAGIC_OFF		56
#define ARM64_MAGIC		"ARM\x64"

/*
 * booting.rst: the kernel goes in the first 128 MiB of RAM, a zImage
 * best above 32 MiB so that it need not move itself out of the way of
 * the kernel it decompresses to RAM + 0x8000; the DTB and initrd go
 * "just above the 128MiB boundary", where the decompressor never writes.
 */
#define KERNEL_WINDOW		(128 * SZ_1M)
#define ZIMAGE_OFFSET		(32 * SZ_1M)
#define IMAGE_TEXT_OFFSET	0x8000ULL
#define DATA_OFFSET		KERNEL_WINDOW
#define DATA_ALIGN		SZ_64K
/*
 * Boot payloads must be in lowmem: about 760 MiB with the default 3G/1G
 * split and 240 MiB vmalloc area; stay well inside it.
 */
#define LOWMEM_WINDOW		(512 * SZ_1M)
/* Physical addresses of a non-LPAE kernel, and of the boot registers. */
#define ADDR_32BIT_END		(1ULL << 32)

#define PSR_AA32_MODE_SVC	0x13
#define PSR_AA32_F_BIT		0x40
#define PSR_AA32_I_BIT		0x80
#define PSR_AA32_A_BIT		0x100

/* Kernels that are not 32-bit little-endian ARM, by their look. */
static const char *foreign_kernel(const u8 *buf, size_t len)
{
	if (len >= ARM64_MAGIC_OFF + 4 &&
	    !memcmp(buf + ARM64_MAGIC_OFF, ARM64_MAGIC, 4))
		return "an arm64 Image: without --aarch32 lkvm boots it as one";
	if (len >= 4 && !memcmp(buf, "\x7f" "ELF", 4))
		return "an ELF file (vmlinux?): give the zImage or Image";
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
		return "gzip-compressed: give the zImage or the uncompressed Image";
	if (len >= ZIMAGE_HDR_SIZE &&
	    get_le32(buf + ZIMAGE_MAGIC_OFF) == ZIMAGE_MAGIC_BE)
		return "a big-endian zImage: lkvm boots little-endian guests only";
	return NULL;
}

static int parse_zimage(struct arm_zimage *k, const u8 *buf, size_t len,
			char *err, size_t errlen)
{
	u32 start = get_le32(buf + ZIMAGE_START_OFF);
	u32 end = get_le32(buf + ZIMAGE_END_OFF);

	if (end <= start) {
		set_err(err, errlen, "zImage header: end 0x%x is not above start 0x%x",
			end, start);
		return -EINVAL;
	}
	if (end - start > len) {
		set_err(err, errlen, "zImage header says %u bytes but the file has %zu: truncated?",
			end - start, len);
		return -EINVAL;
	}
	k->compressed = true;
	k->start = start;
	k->size = len;
	return 0;
}

int arm_zimage_parse(struct arm_zimage *k, const u8 *buf, size_t len,
		     char *err, size_t errlen)
{
	const char *why = foreign_kernel(buf, len);

	memset(k, 0, sizeof(*k));
	if (why) {
		set_err(err, errlen, "not a 32-bit ARM kernel: %s", why);
		return -EINVAL;
	}
	if (len < ZIMAGE_HDR_SIZE) {
		set_err(err, errlen, "%zu bytes: too small for a 32-bit ARM kernel", len);
		return -EINVAL;
	}
	if (get_le32(buf + ZIMAGE_MAGIC_OFF) == ZIMAGE_MAGIC)
		return parse_zimage(k, buf, len, err, errlen);
	/* No header to check: a plain Image is code from its first byte. */
	k->size = len;
	return 0;
}

/* Where the kernel goes, or 0 (with a reason) if it cannot. */
static u64 place_kernel(const struct arm_zimage *k, u64 ram_base,
			char *err, size_t errlen)
{
	char size[32];
	u64 kernel = ram_base + (k->compressed ? ZIMAGE_OFFSET : IMAGE_TEXT_OFFSET);

	if (k->start)
		kernel = k->start;
	if (kernel < ram_base || kernel - ram_base > KERNEL_WINDOW ||
	    k->size > ram_base + KERNEL_WINDOW - kernel) {
		format_mem_size(k->size, size, sizeof(size));
		set_err(err, errlen, "a %s kernel at 0x%llx is not within the first %llu MiB of RAM (0x%llx), where a 32-bit kernel must be loaded",
			size, (unsigned long long)kernel,
			KERNEL_WINDOW / SZ_1M, (unsigned long long)ram_base);
		return 0;
	}
	return kernel;
}

static int too_small(u64 ram_size, u64 need, u64 initrd_size,
		     char *err, size_t errlen)
{
	char ram[32], initrd[32];

	format_mem_size(ram_size, ram, sizeof(ram));
	format_mem_size(initrd_size, initrd, sizeof(initrd));
	if (need > LOWMEM_WINDOW)
		set_err(err, errlen, "a %s initrd does not fit in the %llu MiB of RAM a 32-bit kernel reaches at boot",
			initrd, LOWMEM_WINDOW / SZ_1M);
	else
		set_err(err, errlen, "%s of RAM is too small for a 32-bit guest with a %s initrd: use -m %llu or more",
			ram, initrd, (unsigned long long)(ALIGN_UP(need, SZ_1M) / SZ_1M));
	return -ENOSPC;
}

static int ram_above_4g(u64 ram_base, u64 ram_size, char *err, size_t errlen)
{
	char ram[32];

	format_mem_size(ram_size, ram, sizeof(ram));
	set_err(err, errlen, "-m %s: a 32-bit guest's RAM must end below 4 GiB, and it starts at 0x%llx: use -m %llu or less",
		ram, (unsigned long long)ram_base,
		(unsigned long long)((ADDR_32BIT_END - ram_base) / SZ_1M));
	return -ENOSPC;
}

/*
 * Kernel per place_kernel(); the FDT at RAM + 128 MiB and the initrd
 * after it, both below the lowmem window and the end of RAM.
 */
int arm_zimage_layout(const struct arm_zimage *k, u64 ram_base, u64 ram_size,
		      u64 initrd_size, u64 fdt_size, struct boot_layout *out,
		      char *err, size_t errlen)
{
	struct boot_layout l = { 0 };
	u64 need;

	if (!ram_size || ram_base >= ADDR_32BIT_END || !fdt_size ||
	    fdt_size > SZ_2M || initrd_size > ADDR_32BIT_END || !k->size) {
		set_err(err, errlen, "invalid memory layout parameters");
		return -EINVAL;
	}
	if (ram_size > ADDR_32BIT_END - ram_base)
		return ram_above_4g(ram_base, ram_size, err, errlen);
	l.kernel = place_kernel(k, ram_base, err, errlen);
	if (!l.kernel)
		return -ENOSPC;
	l.kernel_end = l.kernel + k->size;
	l.fdt = ram_base + DATA_OFFSET;
	l.initrd = initrd_size ? l.fdt + ALIGN_UP(fdt_size, DATA_ALIGN) : 0;
	need = DATA_OFFSET + ALIGN_UP(fdt_size, DATA_ALIGN) + initrd_size;
	if (need > MIN(ram_size, LOWMEM_WINDOW))
		return too_small(ram_size, need, initrd_size, err, errlen);
	*out = l;
	return 0;
}

void aarch32_boot_regs(u64 kernel, u64 fdt, struct aarch32_boot_regs *out)
{
	out->cpsr = PSR_AA32_MODE_SVC | PSR_AA32_A_BIT | PSR_AA32_I_BIT |
		    PSR_AA32_F_BIT;
	out->r0 = 0;
	out->r1 = 0xffffffffULL;
	out->r2 = fdt;
	out->pc = kernel;
}

int aarch32_host_check(int el1_32bit, char *err, size_t errlen)
{
	if (el1_32bit > 0)
		return 0;
	set_err(err, errlen, "--aarch32: this host CPU has no AArch32 at EL1 (KVM lacks KVM_CAP_ARM_EL1_32BIT), so it cannot run 32-bit guests");
	return -ENODEV;
}
