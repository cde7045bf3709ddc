// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for arm/zimage.c: the input is a 32-bit kernel file
 * (--aarch32, -k). Its header is checked; a kernel that passes is laid
 * out in RAM of a size, and with an initrd of a size, taken from the
 * input's last bytes, and the result must lie in RAM below 4 GiB with
 * nothing overlapping. Seeds: tests/fuzz/corpus/zimage/ (a zImage
 * header, a plain Image, a header truncated, an arm64 Image header).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/arm-zimage.h"
#include "lkvm/layout.h"

/* Sizes from the input's last 8 bytes: RAM up to 4 GiB, initrd up to 1 GiB. */
static void sizes(const u8 *data, size_t size, u64 *ram, u64 *initrd)
{
	u32 a = 0, b = 0;

	if (size >= 8) {
		memcpy(&a, data + size - 8, 4);
		memcpy(&b, data + size - 4, 4);
	}
	*ram = ((u64)a << 12) & 0xffffffffULL;
	*initrd = ((u64)b << 8) & (SZ_1G - 1);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct arm_zimage k;
	struct boot_layout l;
	char err[256];
	u64 ram, initrd;

	if (arm_zimage_parse(&k, data, size, err, sizeof(err)) < 0)
		return 0;
	if (k.size != size)
		abort();
	sizes(data, size, &ram, &initrd);
	if (arm_zimage_layout(&k, LKVM_RAM_BASE, ram, initrd,
			      LKVM_FDT_MAX_SIZE, &l, err, sizeof(err)) < 0)
		return 0;
	if (l.kernel < LKVM_RAM_BASE || l.kernel_end > l.fdt ||
	    l.fdt + LKVM_FDT_MAX_SIZE > LKVM_RAM_BASE + ram ||
	    LKVM_RAM_BASE + ram > (1ULL << 32) ||
	    (initrd && (l.initrd < l.fdt + LKVM_FDT_MAX_SIZE ||
			l.initrd + initrd > LKVM_RAM_BASE + ram)))
		abort();
	return 0;
}
