// SPDX-License-Identifier: GPL-2.0
/*
 * --aarch32 (arm/zimage.c): zImage / Image header checks, the boot
 * layout a 32-bit kernel needs, the boot registers and the refusal on
 * hosts without AArch32 at EL1; plus the option itself.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/arm-zimage.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/options.h"

#define ZMAGIC		0x016f2818U
#define RAM		LKVM_RAM_BASE
#define FDT_SIZE	LKVM_FDT_MAX_SIZE

static char errbuf[256];

/* A fake zImage of @len bytes whose header says [start, end). */
static u8 *make_zimage(size_t len, u32 start, u32 end)
{
	u8 *buf = calloc(1, len);

	assert_non_null(buf);
	put_le32(buf, 0xe1a00000);	/* mov r0, r0 */
	put_le32(buf + 0x24, ZMAGIC);
	put_le32(buf + 0x28, start);
	put_le32(buf + 0x2c, end);
	put_le32(buf + 0x30, 0x04030201);
	return buf;
}

static int parse(struct arm_zimage *k, const u8 *buf, size_t len)
{
	errbuf[0] = '\0';
	return arm_zimage_parse(k, buf, len, errbuf, sizeof(errbuf));
}

static int layout(const struct arm_zimage *k, u64 ram_size, u64 initrd,
		  struct boot_layout *l)
{
	errbuf[0] = '\0';
	return arm_zimage_layout(k, RAM, ram_size, initrd, FDT_SIZE, l,
				 errbuf, sizeof(errbuf));
}

static void assert_err_contains(const char *needle)
{
	if (!strstr(errbuf, needle))
		fail_msg("error '%s' does not contain '%s'", errbuf, needle);
}

/* ---- header ---- */

static void test_parse_zimage(void **state)
{
	struct arm_zimage k;
	u8 *buf = make_zimage(8192, 0, 8000);

	assert_int_equal(parse(&k, buf, 8192), 0);
	assert_true(k.compressed);
	assert_int_equal(k.start, 0);
	/* the whole file is copied: an appended DTB follows "end" */
	assert_int_equal(k.size, 8192);
	free(buf);
}

static void test_parse_zimage_bad_fields(void **state)
{
	struct arm_zimage k;
	u8 *buf = make_zimage(4096, 0x1000, 0x1000);

	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	assert_string_equal(errbuf, "zImage header: end 0x1000 is not above start 0x1000");
	put_le32(buf + 0x2c, 0x800);
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	/* more than the file holds */
	put_le32(buf + 0x28, 0);
	put_le32(buf + 0x2c, 4097);
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	assert_err_contains("says 4097 bytes but the file has 4096");
	put_le32(buf + 0x2c, 0xffffffff);
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	put_le32(buf + 0x2c, 4096);
	assert_int_equal(parse(&k, buf, 4096), 0);
	free(buf);
}

static void test_parse_plain_image(void **state)
{
	struct arm_zimage k;
	u8 *buf = calloc(1, 4096);

	assert_non_null(buf);
	put_le32(buf, 0xe1a00000);
	assert_int_equal(parse(&k, buf, 4096), 0);
	assert_false(k.compressed);
	assert_int_equal(k.size, 4096);
	free(buf);
}

static void test_parse_foreign(void **state)
{
	struct arm_zimage k;
	u8 *buf = calloc(1, 4096);

	assert_non_null(buf);
	memcpy(buf + 56, "ARM\x64", 4);
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	assert_err_contains("an arm64 Image");
	memset(buf, 0, 64);
	memcpy(buf, "\x7f" "ELF", 4);
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	assert_err_contains("ELF");
	memcpy(buf, "\x1f\x8b\x08\x00", 4);
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	assert_err_contains("gzip");
	memset(buf, 0, 4);
	put_le32(buf + 0x24, 0x18286f01);	/* the magic, big-endian */
	assert_int_equal(parse(&k, buf, 4096), -EINVAL);
	assert_err_contains("big-endian");
	free(buf);
}

static void test_parse_short(void **state)
{
	struct arm_zimage k;
	u8 *buf = make_zimage(64, 0, 64);

	for (size_t len = 0; len < 0x30; len++) {
		assert_int_equal(parse(&k, buf, len), -EINVAL);
		assert_err_contains("too small");
	}
	assert_int_equal(parse(&k, buf, 0x30), -EINVAL);	/* end > len */
	assert_int_equal(parse(&k, buf, 64), 0);
	free(buf);
}

/* Without --aarch32, the arm64 loader says what the file is. */
static void test_zimage_without_option(void **state)
{
	struct arm64_image img;
	u8 *buf = make_zimage(4096, 0, 4096);

	assert_int_equal(arm64_image_parse(&img, buf, 4096, errbuf,
					   sizeof(errbuf)), -EINVAL);
	assert_err_contains("32-bit ARM zImage (boot it with --aarch32)");
	free(buf);
}

/* ---- layout ---- */

static void test_layout_zimage(void **state)
{
	struct arm_zimage k = { .size = 5 * SZ_1M, .compressed = true };
	struct boot_layout l;

	assert_int_equal(layout(&k, 256 * SZ_1M, 3 * SZ_1M, &l), 0);
	/* above 32 MiB: no relocation before decompression */
	assert_int_equal(l.kernel, RAM + 32 * SZ_1M);
	assert_int_equal(l.kernel_end, RAM + 37 * SZ_1M);
	/* just above 128 MiB, the initrd after the FDT */
	assert_int_equal(l.fdt, RAM + 128 * SZ_1M);
	assert_int_equal(l.initrd, RAM + 128 * SZ_1M + FDT_SIZE);
	assert_true(l.initrd % SZ_64K == 0);

	assert_int_equal(layout(&k, 256 * SZ_1M, 0, &l), 0);
	assert_int_equal(l.initrd, 0);
}

static void test_layout_plain_image_and_start(void **state)
{
	struct arm_zimage k = { .size = 12 * SZ_1M };
	struct boot_layout l;

	assert_int_equal(layout(&k, 256 * SZ_1M, 0, &l), 0);
	assert_int_equal(l.kernel, RAM + 0x8000);

	k.compressed = true;
	k.start = RAM + 0x10000;
	assert_int_equal(layout(&k, 256 * SZ_1M, 0, &l), 0);
	assert_int_equal(l.kernel, RAM + 0x10000);
	/* linked for an address outside RAM's first 128 MiB */
	k.start = 0x10000;
	assert_int_equal(layout(&k, 256 * SZ_1M, 0, &l), -ENOSPC);
	assert_err_contains("first 128 MiB of RAM");
	k.start = RAM + 120 * SZ_1M;
	assert_int_equal(layout(&k, 256 * SZ_1M, 0, &l), -ENOSPC);
}

static void test_layout_kernel_too_big(void **state)
{
	struct arm_zimage k = { .size = 96 * SZ_1M + 1, .compressed = true };
	struct boot_layout l;

	assert_int_equal(layout(&k, SZ_1G, 0, &l), -ENOSPC);
	assert_err_contains("first 128 MiB");
	k.size = 96 * SZ_1M;
	assert_int_equal(layout(&k, SZ_1G, 0, &l), 0);
}

static void test_layout_ram_limits(void **state)
{
	struct arm_zimage k = { .size = SZ_1M, .compressed = true };
	struct boot_layout l;

	/* RAM at 2 GiB: 2 GiB at most ends at 4 GiB */
	assert_int_equal(layout(&k, 2 * SZ_1G, 0, &l), 0);
	assert_int_equal(layout(&k, 2 * SZ_1G + SZ_1M, 0, &l), -ENOSPC);
	assert_string_equal(errbuf, "-m 2049M: a 32-bit guest's RAM must end below 4 GiB, and it starts at 0x80000000: use -m 2048 or less");
	assert_int_equal(layout(&k, 8 * SZ_1G, 0, &l), -ENOSPC);
	assert_err_contains("use -m 2048 or less");
	/* too small for the 128 MiB the kernel window takes */
	assert_int_equal(layout(&k, 128 * SZ_1M, 0, &l), -ENOSPC);
	assert_err_contains("use -m 129 or more");
	assert_int_equal(layout(&k, 129 * SZ_1M, 0, &l), 0);
	assert_int_equal(layout(&k, 160 * SZ_1M, 40 * SZ_1M, &l), -ENOSPC);
	assert_err_contains("use -m 169 or more");
}

static void test_layout_initrd_past_lowmem(void **state)
{
	struct arm_zimage k = { .size = SZ_1M, .compressed = true };
	struct boot_layout l;
	u64 room = 384 * SZ_1M - FDT_SIZE;

	assert_int_equal(layout(&k, SZ_1G, room, &l), 0);
	assert_true(l.initrd + room <= RAM + 512 * SZ_1M);
	assert_int_equal(layout(&k, SZ_1G, room + 1, &l), -ENOSPC);
	assert_err_contains("does not fit in the 512 MiB");
	assert_int_equal(layout(&k, 2 * SZ_1G, 3 * SZ_1G, &l), -ENOSPC);
}

static void test_layout_bad_args(void **state)
{
	struct arm_zimage k = { .size = SZ_1M };
	struct boot_layout l;

	assert_int_equal(layout(&k, 0, 0, &l), -EINVAL);
	assert_int_equal(arm_zimage_layout(&k, RAM, SZ_1G, 0, 0, &l, errbuf,
					   sizeof(errbuf)), -EINVAL);
	assert_int_equal(arm_zimage_layout(&k, 1ULL << 32, SZ_1G, 0, FDT_SIZE,
					   &l, errbuf, sizeof(errbuf)), -EINVAL);
	k.size = 0;
	assert_int_equal(layout(&k, SZ_1G, 0, &l), -EINVAL);
}

/* Everything placed lies in RAM, below 4 GiB, and nothing overlaps. */
static void test_layout_sweep(void **state)
{
	struct arm_zimage k = { .compressed = true };
	struct boot_layout l;

	for (u64 ram = 16 * SZ_1M; ram <= 2 * SZ_1G; ram += 61 * SZ_1M)
		for (u64 ird = 0; ird < 600 * SZ_1M; ird += 37 * SZ_1M + 4095)
			for (k.size = 4096; k.size < 100 * SZ_1M; k.size += 23 * SZ_1M) {
				if (layout(&k, ram, ird, &l))
					continue;
				assert_true(l.kernel >= RAM && l.kernel_end <= l.fdt);
				assert_true(l.fdt + FDT_SIZE <= RAM + ram);
				assert_true(!ird || (l.initrd >= l.fdt + FDT_SIZE &&
						     l.initrd + ird <= RAM + ram));
				assert_true(RAM + ram <= 1ULL << 32);
			}
}

/* A real zImage, if scripts/deps.sh fetched Debian's armhf kernel. */
static void test_real_zimage(void **state)
{
	char ver[128] = "", path[256];
	struct arm_zimage k;
	struct boot_layout l;
	FILE *f = fopen("build/deps/armhf-kernel/VERSION", "r");
	void *buf;
	size_t len;

	if (!f)
		skip();
	if (!fgets(ver, sizeof(ver), f))
		ver[0] = '\0';
	fclose(f);
	ver[strcspn(ver, "\n")] = '\0';
	snprintf(path, sizeof(path), "build/deps/armhf-kernel/boot/vmlinuz-%s", ver);
	assert_int_equal(read_file(path, &buf, &len), 0);
	if (parse(&k, buf, len))
		fail_msg("%s: %s", path, errbuf);
	assert_true(k.compressed);
	assert_int_equal(k.start, 0);
	assert_int_equal(layout(&k, 256 * SZ_1M, 4 * SZ_1M, &l), 0);
	free(buf);
}

/* ---- boot registers, host check, option ---- */

static void test_boot_regs(void **state)
{
	struct aarch32_boot_regs r;

	aarch32_boot_regs(RAM + 32 * SZ_1M, RAM + 128 * SZ_1M, &r);
	/* SVC (0x13), A, I and F masked; Thumb and big-endian clear */
	assert_int_equal(r.cpsr, 0x1d3);
	assert_int_equal(r.r0, 0);
	assert_int_equal(r.r1, 0xffffffff);
	assert_int_equal(r.r2, RAM + 128 * SZ_1M);
	assert_int_equal(r.pc, RAM + 32 * SZ_1M);
}

static void test_host_check(void **state)
{
	assert_int_equal(aarch32_host_check(1, errbuf, sizeof(errbuf)), 0);
	/* 0: the capability is absent; -1: the ioctl failed */
	assert_int_equal(aarch32_host_check(0, errbuf, sizeof(errbuf)), -ENODEV);
	assert_err_contains("host CPU has no AArch32 at EL1");
	assert_null(strchr(errbuf, '\n'));
	errbuf[0] = '\0';
	assert_int_equal(aarch32_host_check(-1, errbuf, sizeof(errbuf)), -ENODEV);
	assert_err_contains("no AArch32 at EL1");
}

static void test_option(void **state)
{
	char *argv[] = { "run", "--aarch32", "-k", "zImage", NULL };
	struct kvm_config cfg;

	run_config_defaults(&cfg);
	assert_false(cfg.aarch32);
	assert_int_equal(run_parse_options(4, argv, &cfg, errbuf,
					   sizeof(errbuf)), PARSE_OK);
	assert_true(cfg.aarch32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_zimage),
		cmocka_unit_test(test_parse_zimage_bad_fields),
		cmocka_unit_test(test_parse_plain_image),
		cmocka_unit_test(test_parse_foreign),
		cmocka_unit_test(test_parse_short),
		cmocka_unit_test(test_zimage_without_option),
		cmocka_unit_test(test_layout_zimage),
		cmocka_unit_test(test_layout_plain_image_and_start),
		cmocka_unit_test(test_layout_kernel_too_big),
		cmocka_unit_test(test_layout_ram_limits),
		cmocka_unit_test(test_layout_initrd_past_lowmem),
		cmocka_unit_test(test_layout_bad_args),
		cmocka_unit_test(test_layout_sweep),
		cmocka_unit_test(test_real_zimage),
		cmocka_unit_test(test_boot_regs),
		cmocka_unit_test(test_host_check),
		cmocka_unit_test(test_option),
	};

	return cmocka_run_group_tests_name("zimage", tests, NULL, NULL);
}
