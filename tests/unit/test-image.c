// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 Image header parsing, gzip/zboot loading and boot layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "lkvm/arm64-image.h"
#include "lkvm/layout.h"

#define HDR_SIZE	64
#define MAGIC		0x644d5241U
#define FLAG_BE		(1ULL << 0)
#define FLAG_4K		(1ULL << 1)
#define FLAG_ANYWHERE	(1ULL << 3)

static char errbuf[256];

/* A fake Image of @len bytes with a valid header and some contents. */
static u8 *make_image(size_t len, u64 text_offset, u64 image_size, u64 flags)
{
	u8 *buf = calloc(1, len);

	assert_non_null(buf);
	memcpy(buf, "MZ", 2);
	put_le64(buf + 8, text_offset);
	put_le64(buf + 16, image_size);
	put_le64(buf + 24, flags);
	put_le32(buf + 56, MAGIC);
	put_le32(buf + 60, 0x40);
	for (size_t i = HDR_SIZE; i < len; i += 4096)
		buf[i] = (u8)(i >> 12);
	return buf;
}

static int parse(struct arm64_image *img, u8 *buf, size_t len)
{
	errbuf[0] = '\0';
	return arm64_image_parse(img, buf, len, errbuf, sizeof(errbuf));
}

static void assert_err_contains(const char *needle)
{
	if (!strstr(errbuf, needle))
		fail_msg("error '%s' does not contain '%s'", errbuf, needle);
}

/* ---- header parsing ---- */

static void test_parse_valid(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(8192, 0, 0x2010000, FLAG_4K | FLAG_ANYWHERE);

	assert_int_equal(parse(&img, buf, 8192), 0);
	assert_ptr_equal(img.data, buf);
	assert_int_equal(img.size, 8192);
	assert_int_equal(img.text_offset, 0);
	assert_int_equal(img.image_size, 0x2010000);
	assert_int_equal(img.flags, FLAG_4K | FLAG_ANYWHERE);
	assert_false(img.big_endian);
	assert_int_equal(img.page_size, 4096);
	assert_true(img.anywhere);
	arm64_image_free(&img);
	assert_null(img.data);
}

static void test_parse_text_offset(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(4096, 0x80000, SZ_1M, 0);

	assert_int_equal(parse(&img, buf, 4096), 0);
	assert_int_equal(img.text_offset, 0x80000);
	assert_false(img.anywhere);
	arm64_image_free(&img);
}

static void test_parse_truncated(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(HDR_SIZE, 0, SZ_1M, 0);

	assert_int_equal(parse(&img, buf, 63), -EINVAL);
	assert_string_equal(errbuf, "truncated (63 bytes, header needs 64)");
	assert_int_equal(parse(&img, buf, 0), -EINVAL);
	assert_err_contains("truncated (0 bytes");
	/* Exactly a header is enough. */
	assert_int_equal(parse(&img, buf, HDR_SIZE), 0);
	arm64_image_free(&img);
}

static void test_parse_bad_magic(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(4096, 0, SZ_1M, 0);

	buf[56] ^= 0xff;
	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_string_equal(errbuf, "not an arm64 Image (bad magic)");

	memcpy(buf, "\x7f" "ELF", 4);
	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("ELF");

	memcpy(buf, "\x28\xb5\x2f\xfd", 4);
	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("zstd");
	free(buf);
}

static void test_parse_big_endian(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(4096, 0, SZ_1M, FLAG_BE | FLAG_4K);

	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("big-endian");
	free(buf);
}

static void test_parse_page_sizes(void **state)
{
	static const unsigned int expect[] = { 0, 4096, 16384, 65536 };
	struct arm64_image img;

	for (u64 i = 0; i < 4; i++) {
		u8 *buf = make_image(4096, 0, SZ_1M, i << 1);

		assert_int_equal(parse(&img, buf, 4096), 0);
		assert_int_equal(img.page_size, expect[i]);
		assert_false(img.anywhere);
		arm64_image_free(&img);
	}
}

/* ID_AA64MMFR0_EL1 as QEMU's neoverse-n1 and cortex-a57 show it. */
#define MMFR0_N1	0x101125ULL	/* TGran16 = 1: 4, 16, 64 KiB */
#define MMFR0_A57	0x1124ULL	/* TGran16 = 0: 4, 64 KiB */

static void test_granule_supported(void **state)
{
	/* TGran4 = TGran64 = 0xf (absent), TGran16 = 2 (52-bit): 16 KiB only */
	const u64 only16 = 0xff200000ULL;
	/* TGran4 = 1 (52-bit), TGran64 = 0xf, TGran16 = 0: 4 KiB only */
	const u64 only4 = 0x1f000000ULL;

	assert_true(arm64_granule_supported(MMFR0_N1, 4096));
	assert_true(arm64_granule_supported(MMFR0_N1, 16384));
	assert_true(arm64_granule_supported(MMFR0_N1, 65536));
	assert_true(arm64_granule_supported(MMFR0_A57, 4096));
	assert_false(arm64_granule_supported(MMFR0_A57, 16384));
	assert_true(arm64_granule_supported(MMFR0_A57, 65536));
	assert_false(arm64_granule_supported(only16, 4096));
	assert_true(arm64_granule_supported(only16, 16384));
	assert_false(arm64_granule_supported(only16, 65536));
	assert_true(arm64_granule_supported(only4, 4096));
	assert_false(arm64_granule_supported(only4, 16384));
	assert_false(arm64_granule_supported(only4, 65536));
	assert_false(arm64_granule_supported(MMFR0_N1, 8192));
	assert_false(arm64_granule_supported(MMFR0_N1, 0));
}

static void test_check_granule(void **state)
{
	struct arm64_image img = { .page_size = 16384 };

	assert_int_equal(arm64_image_check_granule(&img, MMFR0_N1, errbuf,
						   sizeof(errbuf)), 0);
	assert_int_equal(arm64_image_check_granule(&img, MMFR0_A57, errbuf,
						   sizeof(errbuf)), -EINVAL);
	assert_string_equal(errbuf, "built for 16 KiB pages, which this host's CPU does not offer its guests (it has 4, 64 KiB)");
	img.page_size = 65536;
	assert_int_equal(arm64_image_check_granule(&img, 0xff200000ULL, errbuf,
						   sizeof(errbuf)), -EINVAL);
	assert_string_equal(errbuf, "built for 64 KiB pages, which this host's CPU does not offer its guests (it has 16 KiB)");
	/* unspecified (pre-3.17 kernels): never refused */
	img.page_size = 0;
	assert_int_equal(arm64_image_check_granule(&img, 0xff000000ULL, errbuf,
						   sizeof(errbuf)), 0);
}

static void test_parse_legacy(void **state)
{
	struct arm64_image img;
	size_t len = 5 * SZ_1M + 123;
	u8 *buf = make_image(len, 0x80000, 0, 0);

	assert_int_equal(parse(&img, buf, len), 0);
	assert_int_equal(img.text_offset, 0x80000);
	/* A generous estimate: at least the file plus half again. */
	assert_true(img.image_size >= len + len / 2);
	assert_true(IS_ALIGNED(img.image_size, SZ_2M));
	assert_int_equal(img.page_size, 0);
	assert_false(img.big_endian);
	arm64_image_free(&img);
}

static void test_parse_legacy_big_endian(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(4096, __builtin_bswap64(0x80000ULL), 0, 0);

	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("big-endian");
	free(buf);
}

static void test_parse_file_larger_than_image_size(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(8192, 0, 4096, 0);

	assert_int_equal(parse(&img, buf, 8192), -EINVAL);
	assert_err_contains("image_size");
	free(buf);
}

static void test_parse_bad_text_offset(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(4096, 0x123, SZ_1M, 0);

	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("text_offset");
	put_le64(buf + 8, 1ULL << 40);
	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("text_offset");
	free(buf);
}

static void test_parse_huge_image_size(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(4096, 0, ~0ULL, 0);

	assert_int_equal(parse(&img, buf, 4096), -EINVAL);
	assert_err_contains("image_size");
	free(buf);
}

/* ---- loading files ---- */

static char *write_tmp(const void *data, size_t len)
{
	char *path = strdup("/tmp/lkvm-test-image-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write_in_full(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/*
 * An Image at an offset of a file (lkvm's cache entry): the header is
 * checked there, and arm64_image_copy() reads those bytes, not the file's
 * first ones.
 */
static void test_open_at(void **state)
{
	const size_t len = 3 * 4096, off = 100;
	u8 *img = make_image(len, 0, SZ_1M, FLAG_4K), *file, *dst;
	struct arm64_image k;
	char *path;
	int fd;

	file = calloc(1, off + len);
	dst = calloc(1, len);
	assert_non_null(file);
	assert_non_null(dst);
	memset(file, 0xee, off);
	memcpy(file + off, img, len);
	path = write_tmp(file, off + len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);

	/* at 0 there is no Image: bad magic, the fd stays the caller's */
	assert_int_equal(arm64_image_open_at(&k, fd, 0, len, errbuf,
					     sizeof(errbuf)), -EINVAL);
	assert_err_contains("bad magic");
	assert_int_equal(k.fd, -1);

	assert_int_equal(arm64_image_open_at(&k, fd, off, len, errbuf,
					     sizeof(errbuf)), 0);
	assert_int_equal(k.size, len);
	assert_null(k.data);
	assert_int_equal(arm64_image_copy(&k, dst, errbuf, sizeof(errbuf)), 0);
	assert_memory_equal(dst, img, len);
	arm64_image_free(&k);	/* closes fd */
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	unlink(path);
	free(path);
	free(img);
	free(file);
	free(dst);
}

static int load(struct arm64_image *img, const char *path)
{
	errbuf[0] = '\0';
	return arm64_image_load_file(img, path, errbuf, sizeof(errbuf));
}

static u8 *gzip_buf(const u8 *in, size_t len, size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = compressBound(len) + 64;
	u8 *out = malloc(cap);

	assert_non_null(out);
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void test_load_raw(void **state)
{
	struct arm64_image img;
	u8 *buf = make_image(100000, 0, SZ_2M, FLAG_4K);
	char *path = write_tmp(buf, 100000);

	u8 *copy = malloc(100000);

	assert_int_equal(load(&img, path), 0);
	assert_int_equal(img.size, 100000);
	assert_null(img.data);	/* raw Images are not held in memory */
	assert_int_equal(arm64_image_copy(&img, copy, errbuf, sizeof(errbuf)), 0);
	assert_memory_equal(copy, buf, 100000);
	free(copy);
	arm64_image_free(&img);
	unlink(path);
	free(path);
	free(buf);
}

static void test_load_gzip(void **state)
{
	struct arm64_image img;
	size_t len = 3 * SZ_1M, zlen;
	u8 *buf = make_image(len, 0, 4 * SZ_1M, FLAG_4K);
	u8 *z = gzip_buf(buf, len, &zlen);
	char *path = write_tmp(z, zlen);

	assert_true(zlen < len);
	assert_int_equal(load(&img, path), 0);
	assert_int_equal(img.size, len);
	assert_int_equal(img.image_size, 4 * SZ_1M);
	assert_memory_equal(img.data, buf, len);
	arm64_image_free(&img);
	unlink(path);
	free(path);
	free(z);
	free(buf);
}

/*
 * Padding after the gzip stream must be ignored; it also hides the
 * size trailer, which makes the loader grow its buffer as it goes.
 */
static void test_load_gzip_padded(void **state)
{
	struct arm64_image img;
	size_t len = 6 * SZ_1M, zlen;
	u8 *buf = make_image(len, 0, 8 * SZ_1M, 0);
	u8 *z = gzip_buf(buf, len, &zlen);
	u8 *padded = calloc(1, zlen + 512);
	char *path;

	memcpy(padded, z, zlen);
	path = write_tmp(padded, zlen + 512);
	assert_int_equal(load(&img, path), 0);
	assert_int_equal(img.size, len);
	assert_memory_equal(img.data, buf, len);
	arm64_image_free(&img);
	unlink(path);
	free(path);
	free(padded);
	free(z);
	free(buf);
}

static void test_load_gzip_corrupt(void **state)
{
	struct arm64_image img;
	size_t len = SZ_1M, zlen;
	u8 *buf = make_image(len, 0, SZ_2M, 0);
	u8 *z = gzip_buf(buf, len, &zlen);
	char *path;

	/* Damage the deflate data: either a bad block or a CRC mismatch. */
	for (size_t i = 20; i < zlen - 8; i += 7)
		z[i] ^= 0x5a;
	path = write_tmp(z, zlen);
	assert_int_equal(load(&img, path), -EINVAL);
	assert_err_contains("corrupt gzip data");
	unlink(path);
	free(path);
	free(z);
	free(buf);
}

static void test_load_gzip_truncated(void **state)
{
	struct arm64_image img;
	size_t len = SZ_1M, zlen;
	u8 *buf = make_image(len, 0, SZ_2M, 0);
	u8 *z = gzip_buf(buf, len, &zlen);
	char *path = write_tmp(z, zlen / 2);

	assert_int_equal(load(&img, path), -EINVAL);
	assert_err_contains("truncated gzip data");
	unlink(path);
	free(path);

	path = write_tmp(z, 10);
	assert_int_equal(load(&img, path), -EINVAL);
	assert_err_contains("truncated gzip data");
	unlink(path);
	free(path);
	free(z);
	free(buf);
}

static void test_load_gzip_not_image(void **state)
{
	struct arm64_image img;
	static const char text[] = "070701 this is really an initramfs, "
		"padded to be longer than an arm64 Image header";
	size_t zlen;
	u8 *z = gzip_buf((const u8 *)text, sizeof(text), &zlen);
	char *path = write_tmp(z, zlen);

	assert_int_equal(load(&img, path), -EINVAL);
	assert_err_contains("gzip-decompressed contents: not an arm64 Image");
	unlink(path);
	free(path);
	free(z);
}

/* An EFI zboot image: "MZ", "zimg", payload offset/size, compression. */
static u8 *make_zboot(const u8 *payload, size_t plen, const char *comp,
		      size_t *len)
{
	size_t off = 512;
	u8 *buf = calloc(1, off + plen + 4096);

	assert_non_null(buf);
	memcpy(buf, "MZ", 2);
	memcpy(buf + 4, "zimg", 4);
	put_le32(buf + 8, off);
	put_le32(buf + 12, plen);
	strcpy((char *)buf + 24, comp);
	memcpy(buf + off, payload, plen);
	*len = off + plen + 4096;
	return buf;
}

static void test_load_zboot(void **state)
{
	struct arm64_image img;
	size_t len = SZ_1M, zlen, flen;
	u8 *buf = make_image(len, 0, SZ_2M, FLAG_4K);
	u8 *z = gzip_buf(buf, len, &zlen);
	u8 *file = make_zboot(z, zlen, "gzip", &flen);
	char *path = write_tmp(file, flen);

	assert_int_equal(load(&img, path), 0);
	assert_int_equal(img.size, len);
	assert_memory_equal(img.data, buf, len);
	arm64_image_free(&img);
	unlink(path);
	free(path);
	free(file);

	file = make_zboot(z, zlen, "zstd22", &flen);
	path = write_tmp(file, flen);
	assert_int_equal(load(&img, path), -EINVAL);
	assert_err_contains("zboot");
	assert_err_contains("zstd22");
	unlink(path);
	free(path);
	free(file);
	free(z);
	free(buf);
}

static void test_load_errors(void **state)
{
	struct arm64_image img;
	u8 small[40] = { 0 };
	char *path;

	assert_int_equal(load(&img, "/nonexistent/lkvm/Image"), -ENOENT);
	assert_string_equal(errbuf, "file not found");

	assert_int_equal(load(&img, "/tmp"), -EISDIR);
	assert_string_equal(errbuf, "is a directory");

	path = write_tmp(small, 0);
	assert_int_equal(load(&img, path), -EINVAL);
	assert_string_equal(errbuf, "empty file");
	unlink(path);
	free(path);

	path = write_tmp(small, sizeof(small));
	assert_int_equal(load(&img, path), -EINVAL);
	assert_string_equal(errbuf, "truncated (40 bytes, header needs 64)");
	unlink(path);
	free(path);

	path = write_tmp("\xfd" "7zXZ\0" "0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdef", 70);
	assert_int_equal(load(&img, path), -EINVAL);
	assert_err_contains("xz-compressed");
	unlink(path);
	free(path);
}

/*
 * The kernel that `make deps` unpacked, whatever version Debian serves
 * today (build/deps/kernel/VERSION names it), or $LKVM_TEST_KERNEL.
 */
static char *deps_kernel_path(void)
{
	const char *env = getenv("LKVM_TEST_KERNEL");
	char ver[128] = "", *path = NULL;
	FILE *f;

	if (env)
		return strdup(env);
	f = fopen("build/deps/kernel/VERSION", "r");
	if (!f)
		return NULL;
	if (fgets(ver, sizeof(ver), f)) {
		ver[strcspn(ver, "\n")] = '\0';
		if (asprintf(&path, "build/deps/kernel/boot/vmlinuz-%s", ver) < 0)
			path = NULL;
	}
	fclose(f);
	return path;
}

/* The real kernel: a real-world check of the loader and the layout. */
static void test_load_real_kernel(void **state)
{
	char *path = deps_kernel_path();
	struct arm64_image img;
	struct boot_layout l;

	if (!path || access(path, R_OK)) {
		free(path);
		skip();
	}
	if (load(&img, path))
		fail_msg("%s: %s", path, errbuf);
	assert_true(img.image_size >= img.size);
	assert_int_equal(arm64_boot_layout(&img, LKVM_RAM_BASE, 256 * SZ_1M,
					   64 * SZ_1M, LKVM_FDT_MAX_SIZE, &l,
					   errbuf, sizeof(errbuf)), 0);
	arm64_image_free(&img);
	free(path);
}

/* ---- boot layout ---- */

static struct arm64_image fake(u64 text_offset, u64 image_size)
{
	struct arm64_image img = {
		.text_offset = text_offset,
		.image_size = image_size,
	};
	return img;
}

static int layout(const struct arm64_image *img, u64 base, u64 ram,
		  u64 initrd, struct boot_layout *l)
{
	errbuf[0] = '\0';
	memset(l, 0xa5, sizeof(*l));
	return arm64_boot_layout(img, base, ram, initrd, LKVM_FDT_MAX_SIZE, l,
				 errbuf, sizeof(errbuf));
}

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Everything booting.rst asks of the placement. */
static void check_layout(const struct arm64_image *img, u64 base, u64 ram,
			 u64 initrd, const struct boot_layout *l)
{
	u64 end = base + ram;
	u64 window = ALIGN_DOWN(l->kernel, SZ_1G);

	assert_int_equal(l->kernel, ALIGN_UP(base, SZ_2M) + img->text_offset);
	assert_int_equal(l->kernel_end, l->kernel + img->image_size);
	assert_true(l->kernel_end <= end);

	assert_true(IS_ALIGNED(l->fdt, 8));
	assert_true(l->fdt >= base);
	assert_true(l->fdt + LKVM_FDT_MAX_SIZE <= end);
	/* The FDT never straddles a 2 MiB block. */
	assert_int_equal(ALIGN_DOWN(l->fdt, SZ_2M),
			 ALIGN_DOWN(l->fdt + SZ_2M - 1, SZ_2M));
	assert_false(overlaps(l->fdt, SZ_2M, l->kernel, img->image_size));

	if (!initrd) {
		assert_int_equal(l->initrd, 0);
		return;
	}
	assert_true(IS_ALIGNED(l->initrd, SZ_64K));
	assert_true(l->initrd >= base);
	assert_true(l->initrd + initrd <= end);
	assert_false(overlaps(l->initrd, initrd, l->kernel, img->image_size));
	assert_false(overlaps(l->initrd, initrd, l->fdt, SZ_2M));
	/* 1 GiB aligned 32 GiB window covering kernel and initrd. */
	assert_true(l->initrd + initrd <= window + 32 * SZ_1G);
	assert_true(l->kernel_end <= window + 32 * SZ_1G);
}

static void test_layout_basic(void **state)
{
	struct arm64_image img = fake(0, 31 * SZ_1M);
	struct boot_layout l;

	assert_int_equal(layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, 0, &l), 0);
	check_layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, 0, &l);
	assert_int_equal(l.kernel, LKVM_RAM_BASE);
	/* The FDT sits in the top 2 MiB of a small RAM. */
	assert_int_equal(l.fdt, LKVM_RAM_BASE + 254 * SZ_1M);

	assert_int_equal(layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, 20 * SZ_1M,
				&l), 0);
	check_layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, 20 * SZ_1M, &l);
}

static void test_layout_text_offset_unaligned_base(void **state)
{
	struct arm64_image img = fake(0x80000, 20 * SZ_1M);
	struct boot_layout l;
	u64 base = LKVM_RAM_BASE + SZ_1M;

	assert_int_equal(layout(&img, base, 128 * SZ_1M, SZ_1M, &l), 0);
	check_layout(&img, base, 128 * SZ_1M, SZ_1M, &l);
	assert_int_equal(l.kernel, LKVM_RAM_BASE + SZ_2M + 0x80000);
}

static void test_layout_big_initrd(void **state)
{
	struct arm64_image img = fake(0, 30 * SZ_1M);
	struct boot_layout l;
	u64 initrd = 150 * SZ_1M + 12345;

	assert_int_equal(layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, initrd,
				&l), 0);
	check_layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, initrd, &l);
}

static void test_layout_too_small(void **state)
{
	struct arm64_image img = fake(0, 31 * SZ_1M);
	struct boot_layout l;
	unsigned long long need;
	const char *m;

	assert_int_equal(layout(&img, LKVM_RAM_BASE, 256 * SZ_1M,
				240 * SZ_1M, &l), -ENOSPC);
	assert_err_contains("256 MiB of RAM is too small for a 31 MiB kernel and a 240 MiB initrd: use -m ");

	/* The suggested -m works, and one MiB less does not. */
	m = strstr(errbuf, "-m ");
	assert_non_null(m);
	need = strtoull(m + 3, NULL, 10);
	assert_int_equal(layout(&img, LKVM_RAM_BASE, need * SZ_1M,
				240 * SZ_1M, &l), 0);
	check_layout(&img, LKVM_RAM_BASE, need * SZ_1M, 240 * SZ_1M, &l);
	assert_int_equal(layout(&img, LKVM_RAM_BASE, (need - 1) * SZ_1M,
				240 * SZ_1M, &l), -ENOSPC);

	/* The kernel alone does not fit. */
	img = fake(0, 300 * SZ_1M);
	assert_int_equal(layout(&img, LKVM_RAM_BASE, 256 * SZ_1M, 0, &l),
			 -ENOSPC);
	assert_err_contains("256 MiB of RAM is too small for a 300 MiB kernel: use -m ");
}

static void test_layout_fdt_too_big(void **state)
{
	struct arm64_image img = fake(0, 31 * SZ_1M);
	struct boot_layout l;

	assert_int_equal(arm64_boot_layout(&img, LKVM_RAM_BASE, 256 * SZ_1M,
					   0, SZ_2M + 1, &l, errbuf,
					   sizeof(errbuf)), -ENOSPC);
	assert_err_contains("2 MiB");
}

/* Large RAM: payloads stay in the first 512 MiB when they fit... */
static void test_layout_large_ram(void **state)
{
	struct arm64_image img = fake(0, 40 * SZ_1M);
	struct boot_layout l;
	u64 ram = 64 * SZ_1G;

	assert_int_equal(layout(&img, LKVM_RAM_BASE, ram, 100 * SZ_1M, &l), 0);
	check_layout(&img, LKVM_RAM_BASE, ram, 100 * SZ_1M, &l);
	assert_true(l.fdt + SZ_2M <= LKVM_RAM_BASE + 512 * SZ_1M);

	/* ...and otherwise go as high as the 32 GiB initrd window allows. */
	assert_int_equal(layout(&img, LKVM_RAM_BASE, ram, 3 * SZ_1G, &l), 0);
	check_layout(&img, LKVM_RAM_BASE, ram, 3 * SZ_1G, &l);
	assert_int_equal(l.fdt + SZ_2M, 34 * SZ_1G);
}

/* A sweep over sizes: every success satisfies the invariants. */
static void test_layout_sweep(void **state)
{
	static const u64 text[] = { 0, 0x80000, 0x1ff000 };
	static const u64 bases[] = { LKVM_RAM_BASE, LKVM_RAM_BASE + 0x12345000 };
	struct boot_layout l;
	int ok = 0;

	for (size_t b = 0; b < ARRAY_SIZE(bases); b++)
	for (size_t t = 0; t < ARRAY_SIZE(text); t++)
	for (u64 ksz = SZ_1M; ksz <= 96 * SZ_1M; ksz += 7 * SZ_1M + 4096)
	for (u64 ram = 32 * SZ_1M; ram <= 1024 * SZ_1M; ram += 61 * SZ_1M + SZ_4K)
	for (u64 ird = 0; ird <= 700 * SZ_1M; ird += 37 * SZ_1M + 999) {
		struct arm64_image img = fake(text[t], ksz);

		if (layout(&img, bases[b], ram, ird, &l) == 0) {
			check_layout(&img, bases[b], ram, ird, &l);
			ok++;
		} else {
			assert_err_contains("use -m ");
		}
	}
	assert_true(ok > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_text_offset),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_bad_magic),
		cmocka_unit_test(test_parse_big_endian),
		cmocka_unit_test(test_parse_page_sizes),
		cmocka_unit_test(test_granule_supported),
		cmocka_unit_test(test_check_granule),
		cmocka_unit_test(test_parse_legacy),
		cmocka_unit_test(test_parse_legacy_big_endian),
		cmocka_unit_test(test_parse_file_larger_than_image_size),
		cmocka_unit_test(test_parse_bad_text_offset),
		cmocka_unit_test(test_parse_huge_image_size),
		cmocka_unit_test(test_open_at),
		cmocka_unit_test(test_load_raw),
		cmocka_unit_test(test_load_gzip),
		cmocka_unit_test(test_load_gzip_padded),
		cmocka_unit_test(test_load_gzip_corrupt),
		cmocka_unit_test(test_load_gzip_truncated),
		cmocka_unit_test(test_load_gzip_not_image),
		cmocka_unit_test(test_load_zboot),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_real_kernel),
		cmocka_unit_test(test_layout_basic),
		cmocka_unit_test(test_layout_text_offset_unaligned_base),
		cmocka_unit_test(test_layout_big_initrd),
		cmocka_unit_test(test_layout_too_small),
		cmocka_unit_test(test_layout_fdt_too_big),
		cmocka_unit_test(test_layout_large_ram),
		cmocka_unit_test(test_layout_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
