// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 Linux Image loading and boot memory layout, following
 * Documentation/arch/arm64/booting.rst.
 *
 * Header (64 bytes, little-endian):
 *    0  code0, code1     executable code (or "MZ" for EFI-capable kernels)
 *    8  text_offset      load offset from a 2 MiB aligned base
 *   16  image_size       bytes the kernel needs from its load address
 *   24  flags            bit 0 big-endian, bits 1-2 page size,
 *                        bit 3 may be placed anywhere in RAM
 *   32  res2, res3, res4
 *   56  magic            "ARM\x64"
 *   60  res5             PE header offset for EFI-capable kernels
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lkvm/arm64-image.h"

#define HDR_SIZE		64
#define HDR_TEXT_OFFSET		8
#define HDR_IMAGE_SIZE		16
#define HDR_FLAGS		24
#define HDR_MAGIC		56
#define HDR_PE_OFFSET		60
/* Enough of a raw Image to check its header and PE/COFF section table. */
#define HDR_PROBE_SIZE		4096
#define ARM64_MAGIC		0x644d5241U	/* "ARM\x64" */

#define FLAG_BE			(1ULL << 0)
#define FLAG_PAGE_SHIFT		1
#define FLAG_PAGE_MASK		(3ULL << FLAG_PAGE_SHIFT)
#define FLAG_ANYWHERE		(1ULL << 3)

/* Kernels before v3.17 leave image_size zero and use this text_offset. */
#define LEGACY_TEXT_OFFSET	0x80000ULL
/* No real kernel comes near this; it keeps the layout arithmetic sane. */
#define MAX_IMAGE_SIZE		(4 * SZ_1G)
/* Refuse to inflate gzip bombs beyond this. */
#define MAX_GUNZIP_SIZE		(512 * SZ_1M)

/* The boot protocol's limits on where the FDT and the initrd may go. */
#define FDT_MAX_SIZE		SZ_2M
#define INITRD_ALIGN		SZ_64K	/* page aligned for any page size */
#define INITRD_WINDOW		(32 * SZ_1G)
/* Kernels before v4.2 want the FDT in the first 512 MiB of the kernel. */
#define EARLY_WINDOW		(512 * SZ_1M)

/* Things people pass by mistake, recognised to say what went wrong. */
static const struct {
	size_t off;
	size_t len;
	const char *magic;
	const char *what;
} known_formats[] = {
	{ 0, 4, "\x7f" "ELF", "an ELF file (use arch/arm64/boot/Image, not vmlinux)" },
	{ 0, 6, "\xfd" "7zXZ\0", "xz-compressed (only gzip is supported: decompress it first)" },
	{ 0, 4, "\x28\xb5\x2f\xfd", "zstd-compressed (only gzip is supported: decompress it first)" },
	{ 0, 3, "BZh", "bzip2-compressed (only gzip is supported: decompress it first)" },
	{ 0, 4, "\x04\x22\x4d\x18", "lz4-compressed (only gzip is supported: decompress it first)" },
	{ 0, 4, "\x02\x21\x4c\x18", "lz4-compressed (only gzip is supported: decompress it first)" },
	{ 0, 4, "\x89LZO", "lzo-compressed (only gzip is supported: decompress it first)" },
	{ 0, 6, "070701", "a cpio archive (an initrd?)" },
	{ 36, 4, "\x18\x28\x6f\x01", "a 32-bit ARM zImage (boot it with --aarch32)" },
	{ 0x202, 4, "HdrS", "an x86 kernel" },
};

static void explain_bad_magic(const u8 *buf, size_t len, char *err,
			      size_t errlen)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_formats); i++) {
		size_t off = known_formats[i].off;

		if (len >= off + known_formats[i].len &&
		    !memcmp(buf + off, known_formats[i].magic,
			    known_formats[i].len)) {
			set_err(err, errlen, "not an arm64 Image: %s",
				known_formats[i].what);
			return;
		}
	}
	set_err(err, errlen, "not an arm64 Image (bad magic)");
}

static unsigned int page_size_from_flags(u64 flags)
{
	static const unsigned int sizes[] = { 0, 4096, 16384, 65536 };

	return sizes[(flags & FLAG_PAGE_MASK) >> FLAG_PAGE_SHIFT];
}

/*
 * Kernels before v3.17 (image_size == 0) give no size and no flags.
 * booting.rst says to keep as much memory as possible free after the
 * Image; we only need an estimate to keep the initrd and FDT clear of
 * the kernel's BSS and early page tables, which we put at the top of RAM
 * anyway. Twice the file size, rounded up to 2 MiB, is well above what
 * such kernels ever used.
 */
static void parse_legacy(struct arm64_image *img, const u8 *buf, size_t len)
{
	img->text_offset = LEGACY_TEXT_OFFSET;
	img->image_size = ALIGN_UP((u64)len * 2, SZ_2M);
	img->flags = 0;
	img->big_endian = get_le64(buf + HDR_TEXT_OFFSET) ==
			  __builtin_bswap64(LEGACY_TEXT_OFFSET);
	img->page_size = 0;
	img->anywhere = false;
}

static int parse_current(struct arm64_image *img, const u8 *buf, size_t len,
			 char *err, size_t errlen)
{
	img->text_offset = get_le64(buf + HDR_TEXT_OFFSET);
	img->image_size = get_le64(buf + HDR_IMAGE_SIZE);
	img->flags = get_le64(buf + HDR_FLAGS);
	img->big_endian = img->flags & FLAG_BE;
	img->page_size = page_size_from_flags(img->flags);
	img->anywhere = img->flags & FLAG_ANYWHERE;

	/*
	 * text_offset is relative to a 2 MiB aligned base, so anything
	 * larger is meaningless; real values are 0 or page multiples.
	 */
	if (img->text_offset >= SZ_2M || !IS_ALIGNED(img->text_offset, SZ_4K)) {
		set_err(err, errlen, "corrupt header: implausible text_offset 0x%llx",
			(unsigned long long)img->text_offset);
		return -EINVAL;
	}
	if (img->image_size > MAX_IMAGE_SIZE) {
		set_err(err, errlen, "corrupt header: implausible image_size %llu",
			(unsigned long long)img->image_size);
		return -EINVAL;
	}
	/* image_size covers the file contents plus BSS. */
	if (len > img->image_size) {
		set_err(err, errlen,
			"corrupt header: file is %zu bytes but image_size says the kernel is only %llu",
			len, (unsigned long long)img->image_size);
		return -EINVAL;
	}
	return 0;
}

/*
 * Kernels built with the EFI stub (every distribution kernel) are also
 * PE/COFF images: "MZ" at 0, the PE header's offset at 0x3c. The section
 * table says how long the file must be, which catches truncated files that
 * the arm64 header alone cannot (its image_size includes the BSS).
 * Returns the required length, or 0 when there is no usable PE header.
 */
static u64 pe_file_end(const u8 *buf, size_t len)
{
	u32 pe = get_le32(buf + HDR_PE_OFFSET);
	u64 table, end = 0;
	unsigned int i, nr;

	if (memcmp(buf, "MZ", 2) || (u64)pe + 24 > len ||
	    memcmp(buf + pe, "PE\0\0", 4))
		return 0;
	nr = buf[pe + 6] | buf[pe + 7] << 8;
	table = (u64)pe + 24 + (buf[pe + 20] | buf[pe + 21] << 8);
	if (table + 40ULL * nr > len)
		return table + 40ULL * nr;
	for (i = 0; i < nr; i++) {
		const u8 *sec = buf + table + 40ULL * i;
		u64 sec_end = (u64)get_le32(sec + 20) + get_le32(sec + 16);

		end = MAX(end, sec_end);
	}
	return end;
}

/*
 * Check the header of an Image that is @file_len bytes long, of which @buf
 * holds the first @len (all of it, or at least the first few KiB).
 */
static int parse_header(struct arm64_image *img, const u8 *buf, size_t len,
			u64 file_len, char *err, size_t errlen)
{
	u64 pe_end;
	int ret;

	if (len < HDR_SIZE) {
		set_err(err, errlen, "truncated (%zu bytes, header needs %d)",
			len, HDR_SIZE);
		return -EINVAL;
	}
	if (file_len > MAX_IMAGE_SIZE / 2) {
		set_err(err, errlen, "implausibly large for a kernel (%llu bytes)",
			(unsigned long long)file_len);
		return -EINVAL;
	}
	if (get_le32(buf + HDR_MAGIC) != ARM64_MAGIC) {
		explain_bad_magic(buf, len, err, errlen);
		return -EINVAL;
	}
	pe_end = pe_file_end(buf, len);
	if (pe_end > file_len) {
		set_err(err, errlen,
			"truncated (%llu bytes, its PE/COFF header says %llu)",
			(unsigned long long)file_len, (unsigned long long)pe_end);
		return -EINVAL;
	}

	if (get_le64(buf + HDR_IMAGE_SIZE) == 0) {
		parse_legacy(img, buf, file_len);
	} else {
		ret = parse_current(img, buf, file_len, err, errlen);
		if (ret)
			return ret;
	}
	if (img->big_endian) {
		set_err(err, errlen,
			"big-endian kernel (only little-endian guests are supported)");
		return -EINVAL;
	}
	img->size = file_len;
	img->fd = -1;
	return 0;
}

int arm64_image_parse(struct arm64_image *img, u8 *buf, size_t len,
		      char *err, size_t errlen)
{
	struct arm64_image tmp = { 0 };
	int ret;

	ret = parse_header(&tmp, buf, len, len, err, errlen);
	if (ret)
		return ret;
	tmp.data = buf;
	*img = tmp;
	return 0;
}

/* Grow the output buffer to at least double, up to MAX_GUNZIP_SIZE. */
static int gunzip_grow(u8 **out, size_t *cap)
{
	size_t new_cap;
	u8 *p;

	if (*cap >= MAX_GUNZIP_SIZE)
		return -EFBIG;
	new_cap = MIN((u64)*cap * 2, MAX_GUNZIP_SIZE);
	p = realloc(*out, new_cap);
	if (!p)
		return -ENOMEM;
	*out = p;
	*cap = new_cap;
	return 0;
}

/*
 * The gzip trailer's ISIZE (length mod 2^32) tells us how much to
 * allocate for any Image we accept; fall back to guessing and growing.
 */
static size_t gunzip_initial_size(const u8 *in, size_t in_len)
{
	u32 isize = get_le32(in + in_len - 4);

	if (isize >= HDR_SIZE && isize < MAX_GUNZIP_SIZE)
		return (size_t)isize + 1;	/* +1: finish without regrowing */
	return MIN((u64)in_len * 4, MAX_GUNZIP_SIZE);
}

static int gunzip(const u8 *in, size_t in_len, u8 **outp, size_t *out_len,
		  char *err, size_t errlen)
{
	z_stream zs = { 0 };
	size_t cap, used = 0;
	u8 *out;
	int zret, ret;

	/* 10-byte header and 8-byte trailer, at the very least. */
	if (in_len < 18) {
		set_err(err, errlen, "truncated gzip data");
		return -EINVAL;
	}
	if (in_len > UINT_MAX) {
		set_err(err, errlen, "gzip data too large");
		return -EFBIG;
	}

	cap = gunzip_initial_size(in, in_len);
	out = malloc(cap);
	if (!out)
		goto err_nomem;

	/* 16 + MAX_WBITS: expect a gzip wrapper and check its CRC. */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		goto err_nomem;
	zs.next_in = (Bytef *)in;
	zs.avail_in = in_len;

	for (;;) {
		if (used == cap) {
			ret = gunzip_grow(&out, &cap);
			if (ret == -EFBIG)
				goto err_too_big;
			if (ret)
				goto err_nomem_zs;
		}
		zs.next_out = out + used;
		zs.avail_out = cap - used;
		zret = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;

		if (zret == Z_STREAM_END)
			break;
		if (zret == Z_OK || (zret == Z_BUF_ERROR && !zs.avail_out))
			continue;
		if (zret == Z_BUF_ERROR)
			goto err_truncated;
		if (zret == Z_MEM_ERROR)
			goto err_nomem_zs;
		goto err_corrupt;
	}

	/* Anything after the first gzip member is padding; ignore it. */
	inflateEnd(&zs);
	*outp = out;
	*out_len = used;
	return 0;

err_truncated:
	set_err(err, errlen, "truncated gzip data");
	ret = -EINVAL;
	goto out_end;
err_corrupt:
	set_err(err, errlen, "corrupt gzip data (%s)",
		zs.msg ? zs.msg : "zlib error");
	ret = -EINVAL;
	goto out_end;
err_too_big:
	set_err(err, errlen, "gzip data expands to more than %llu MiB",
		(unsigned long long)(MAX_GUNZIP_SIZE / SZ_1M));
	ret = -EFBIG;
	goto out_end;
err_nomem_zs:
	set_err(err, errlen, "out of memory decompressing gzip data");
	ret = -ENOMEM;
out_end:
	inflateEnd(&zs);
	free(out);
	return ret;
err_nomem:
	free(out);
	set_err(err, errlen, "out of memory decompressing gzip data");
	return -ENOMEM;
}

static bool is_gzip(const u8 *buf, size_t len)
{
	return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

/*
 * EFI zboot images (vmlinuz.efi, CONFIG_EFI_ZBOOT) wrap a compressed
 * Image in a small EFI decompressor; the header says where it is:
 *   0 "MZ", 4 "zimg", 8 payload offset, 12 payload size, 24 compression.
 */
#define ZBOOT_PAYLOAD_OFF	8
#define ZBOOT_PAYLOAD_SIZE	12
#define ZBOOT_COMP_TYPE		24
#define ZBOOT_COMP_LEN		32

static bool is_zboot(const u8 *buf, size_t len)
{
	return len >= ZBOOT_COMP_TYPE + ZBOOT_COMP_LEN &&
	       !memcmp(buf, "MZ", 2) && !memcmp(buf + 4, "zimg", 4);
}

static int unwrap_zboot(const u8 *buf, size_t len, u8 **out, size_t *out_len,
			char *err, size_t errlen)
{
	u64 off = get_le32(buf + ZBOOT_PAYLOAD_OFF);
	u64 size = get_le32(buf + ZBOOT_PAYLOAD_SIZE);
	char comp[ZBOOT_COMP_LEN + 1];

	memcpy(comp, buf + ZBOOT_COMP_TYPE, ZBOOT_COMP_LEN);
	comp[ZBOOT_COMP_LEN] = '\0';

	if (off > len || size > len - off) {
		set_err(err, errlen, "truncated EFI zboot image");
		return -EINVAL;
	}
	if (strcmp(comp, "gzip")) {
		set_err(err, errlen,
			"EFI zboot image compressed with '%.16s' (only gzip is supported): use the plain Image",
			comp);
		return -EINVAL;
	}
	return gunzip(buf + off, size, out, out_len, err, errlen);
}

static void explain_read_error(int ret, char *err, size_t errlen)
{
	switch (ret) {
	case -ENOENT:
		set_err(err, errlen, "file not found");
		break;
	case -EACCES:
		set_err(err, errlen, "permission denied");
		break;
	case -EISDIR:
		set_err(err, errlen, "is a directory");
		break;
	default:
		set_err(err, errlen, "cannot read: %s", strerror(-ret));
		break;
	}
}

/* Replace @buf with its decompressed contents, if it is compressed. */
static int decompress(u8 **buf, size_t *len, const char **how,
		      char *err, size_t errlen)
{
	u8 *out;
	size_t out_len;
	int ret;

	if (is_gzip(*buf, *len)) {
		*how = "gzip";
		ret = gunzip(*buf, *len, &out, &out_len, err, errlen);
	} else if (is_zboot(*buf, *len)) {
		*how = "EFI zboot";
		ret = unwrap_zboot(*buf, *len, &out, &out_len, err, errlen);
	} else {
		*how = NULL;
		return 0;
	}
	if (ret)
		return ret;
	free(*buf);
	*buf = out;
	*len = out_len;
	return 0;
}

/* Read and decompress a whole compressed kernel file into memory. */
static int load_compressed(struct arm64_image *img, int fd, size_t len,
			   char *err, size_t errlen)
{
	const char *how;
	char why[256];
	u8 *buf = malloc(len ? len : 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	if (pread_in_full(fd, buf, len, 0) != (ssize_t)len) {
		set_err(err, errlen, "read error: %s", strerror(errno));
		ret = -EIO;
		goto err_free;
	}
	ret = decompress(&buf, &len, &how, err, errlen);
	if (ret)
		goto err_free;
	ret = arm64_image_parse(img, buf, len, why, sizeof(why));
	if (ret) {
		set_err(err, errlen, "%s-decompressed contents: %s", how, why);
		goto err_free;
	}
	return 0;

err_free:
	free(buf);
	return ret;
}

/*
 * A raw Image is only checked here (header, and length against its PE/COFF
 * header): its bytes go from the file straight into guest RAM in
 * arm64_image_copy(), so lkvm never holds a second copy of the kernel.
 */
int arm64_image_load_file(struct arm64_image *img, const char *path,
			  char *err, size_t errlen)
{
	u8 head[HDR_PROBE_SIZE];
	struct stat st;
	ssize_t n;
	int fd, ret;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		explain_read_error(ret, err, errlen);
		goto err_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		explain_read_error(ret, err, errlen);
		goto err_close;
	}
	if (st.st_size == 0) {
		set_err(err, errlen, "empty file");
		ret = -EINVAL;
		goto err_close;
	}
	n = pread_in_full(fd, head, MIN((u64)st.st_size, sizeof(head)), 0);
	if (n < 0) {
		ret = -errno;
		explain_read_error(ret, err, errlen);
		goto err_close;
	}
	if (is_gzip(head, n) || is_zboot(head, n)) {
		ret = load_compressed(img, fd, st.st_size, err, errlen);
		close(fd);
		return ret;
	}
	ret = parse_header(img, head, n, st.st_size, err, errlen);
	if (ret)
		goto err_close;
	img->fd = fd;
	return 0;

err_close:
	if (fd >= 0)
		close(fd);
	return ret;
}

int arm64_image_open_at(struct arm64_image *img, int fd, off_t off,
			size_t len, char *err, size_t errlen)
{
	u8 head[HDR_PROBE_SIZE];
	ssize_t n;
	int ret;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	n = pread_in_full(fd, head, MIN((u64)len, sizeof(head)), off);
	if (n < 0) {
		explain_read_error(-errno, err, errlen);
		return -EIO;
	}
	ret = parse_header(img, head, n, len, err, errlen);
	if (ret)
		return ret;
	img->fd = fd;
	img->fd_offset = off;
	return 0;
}

int arm64_image_copy(const struct arm64_image *img, void *dst,
		     char *err, size_t errlen)
{
	if (img->data) {
		memcpy(dst, img->data, img->size);
		return 0;
	}
	if (pread_in_full(img->fd, dst, img->size, img->fd_offset) !=
	    (ssize_t)img->size) {
		set_err(err, errlen, "read error or file shrank: %s",
			errno ? strerror(errno) : "short read");
		return -EIO;
	}
	return 0;
}

void arm64_image_free(struct arm64_image *img)
{
	free(img->data);
	if (!img->data && img->fd > 0)
		close(img->fd);
	memset(img, 0, sizeof(*img));
}

/*
 * Put the FDT at the start of the highest 2 MiB aligned block below
 * @top, so it never shares a 2 MiB block mapping with anything else, and
 * the initrd right below it, 64 KiB aligned; both above @kernel_end.
 */
static bool place_below(u64 top, u64 kernel_end, u64 initrd_size,
			struct boot_layout *out)
{
	u64 fdt;

	top = ALIGN_DOWN(top, SZ_2M);
	if (top < kernel_end || top - kernel_end < FDT_MAX_SIZE)
		return false;
	fdt = top - FDT_MAX_SIZE;

	if (initrd_size) {
		if (initrd_size > fdt - kernel_end)
			return false;
		out->initrd = ALIGN_DOWN(fdt - initrd_size, INITRD_ALIGN);
		if (out->initrd < kernel_end)
			return false;
	} else {
		out->initrd = 0;
	}
	out->fdt = fdt;
	return true;
}

/* "31 MiB", "512 KiB", "2 GiB": rounded to the nearest unit. */
static const char *fmt_size(char *buf, size_t len, u64 bytes)
{
	if (bytes >= SZ_1G && IS_ALIGNED(bytes, SZ_1G))
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes / SZ_1G));
	else if (bytes >= SZ_1M)
		snprintf(buf, len, "%llu MiB",
			 (unsigned long long)((bytes + SZ_1M / 2) / SZ_1M));
	else
		snprintf(buf, len, "%llu KiB",
			 (unsigned long long)((bytes + SZ_1K / 2) / SZ_1K));
	return buf;
}

/*
 * The smallest RAM size, in MiB, for which place_below() succeeds at
 * the top of RAM: kernel, 64 KiB aligned initrd, then a 2 MiB FDT block.
 */
static u64 min_ram_mib(u64 ram_base, u64 kernel_end, u64 initrd_size)
{
	u64 end = ALIGN_UP(kernel_end, INITRD_ALIGN) +
		  ALIGN_UP(initrd_size, INITRD_ALIGN);

	end = ALIGN_UP(end, SZ_2M) + FDT_MAX_SIZE;
	return ALIGN_UP(end - ram_base, SZ_1M) / SZ_1M;
}

static int too_small(const struct arm64_image *img, u64 ram_base,
		     u64 ram_size, u64 kernel_end, u64 initrd_size,
		     char *err, size_t errlen)
{
	char ram[32], kernel[32], initrd[32];
	unsigned long long need;

	/* Sizes are bounded (image_size, initrd) so this cannot wrap. */
	need = min_ram_mib(ram_base, kernel_end, initrd_size);
	fmt_size(ram, sizeof(ram), ram_size);
	fmt_size(kernel, sizeof(kernel), img->image_size);
	fmt_size(initrd, sizeof(initrd), initrd_size);

	if (ram_size >= need * SZ_1M)
		set_err(err, errlen,
			"a %s initrd does not fit within the %llu GiB of RAM the kernel can reach at boot",
			initrd, (unsigned long long)(INITRD_WINDOW / SZ_1G));
	else if (initrd_size)
		set_err(err, errlen,
			"%s of RAM is too small for a %s kernel and a %s initrd: use -m %llu or more",
			ram, kernel, initrd, need);
	else
		set_err(err, errlen,
			"%s of RAM is too small for a %s kernel: use -m %llu or more",
			ram, kernel, need);
	return -ENOSPC;
}

/*
 * Placement (booting.rst):
 *  - the kernel goes text_offset bytes above the lowest 2 MiB aligned
 *    address in RAM, as the kernel wants when flags bit 3 is clear and
 *    works just as well when it is set;
 *  - the FDT (8-byte aligned, at most 2 MiB) and the initrd go as high
 *    as possible, out of the way of the kernel's BSS and its early
 *    allocations, but within the first 512 MiB above the kernel base if
 *    they fit there, which kernels before v4.2 require of the FDT;
 *  - failing that, as high as possible within the 1 GiB aligned 32 GiB
 *    window around the kernel that the initrd must lie in.
 * RAM above the windows is still given to the guest; it only holds no
 * boot payloads.
 */
int arm64_boot_layout(const struct arm64_image *img, u64 ram_base,
		      u64 ram_size, u64 initrd_size, u64 fdt_size,
		      struct boot_layout *out, char *err, size_t errlen)
{
	u64 base, kernel, kernel_end, ram_end, window_end;
	struct boot_layout l = { 0 };

	if (!ram_size || ram_base > UINT64_MAX - SZ_2M ||
	    ram_size > UINT64_MAX - SZ_2M - ram_base ||
	    img->text_offset >= SZ_2M || img->image_size > MAX_IMAGE_SIZE ||
	    initrd_size > UINT64_MAX / 4) {
		set_err(err, errlen, "invalid memory layout parameters");
		return -EINVAL;
	}
	if (fdt_size > FDT_MAX_SIZE) {
		set_err(err, errlen, "device tree of %llu bytes is larger than the 2 MiB the kernel accepts",
			(unsigned long long)fdt_size);
		return -ENOSPC;
	}

	ram_end = ram_base + ram_size;
	base = ALIGN_UP(ram_base, SZ_2M);
	kernel = base + img->text_offset;
	kernel_end = kernel + img->image_size;
	if (kernel_end > ram_end)
		return too_small(img, ram_base, ram_size, kernel_end,
				 initrd_size, err, errlen);

	l.kernel = kernel;
	l.kernel_end = kernel_end;
	window_end = ALIGN_DOWN(kernel, SZ_1G) + INITRD_WINDOW;
	if (!place_below(MIN(ram_end, base + EARLY_WINDOW), kernel_end,
			 initrd_size, &l) &&
	    !place_below(MIN(ram_end, window_end), kernel_end,
			 initrd_size, &l))
		return too_small(img, ram_base, ram_size, kernel_end,
				 initrd_size, err, errlen);

	*out = l;
	return 0;
}

/*
 * Translation granules in ID_AA64MMFR0_EL1 (Arm ARM, D19.2): TGran4
 * [31:28] and TGran64 [27:24] are signed, 0 or more when supported (1:
 * with 52-bit addresses), 0xf when not; TGran16 [23:20] is unsigned, 0
 * when not supported, 1 or 2 when supported.
 */
bool arm64_granule_supported(u64 mmfr0, unsigned int page_size)
{
	switch (page_size) {
	case SZ_4K:
		return ((mmfr0 >> 28) & 0xf) < 8;
	case SZ_16K:
		return ((mmfr0 >> 20) & 0xf) != 0;
	case SZ_64K:
		return ((mmfr0 >> 24) & 0xf) < 8;
	}
	return false;
}

int arm64_image_check_granule(const struct arm64_image *img, u64 mmfr0,
			      char *err, size_t errlen)
{
	static const unsigned int sizes[] = { SZ_4K, SZ_16K, SZ_64K };
	char can[32] = "";
	size_t i, n = 0;

	/* unspecified (kernels before v3.17): 4 KiB, which every CPU has */
	if (!img->page_size || arm64_granule_supported(mmfr0, img->page_size))
		return 0;
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (arm64_granule_supported(mmfr0, sizes[i]))
			n += snprintf(can + n, sizeof(can) - n, "%s%u",
				      n ? ", " : "", sizes[i] >> 10);
	set_err(err, errlen,
		"built for %u KiB pages, which this host's CPU does not offer its guests (it has %s KiB)",
		img->page_size >> 10, n ? can : "no");
	return -EINVAL;
}
