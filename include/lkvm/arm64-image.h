/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARM64_IMAGE_H
#define LKVM_ARM64_IMAGE_H

#include "lkvm/util.h"

/*
 * An arm64 Linux Image (Documentation/arch/arm64/booting.rst), after gzip
 * decompression if the file was compressed.
 */
struct arm64_image {
	u8 *data;		/* malloc'ed Image bytes (decompressed kernels) */
	int fd;			/* raw Images: read from here, data is NULL */
	off_t fd_offset;	/* where in fd the Image starts */
	size_t size;		/* file size of the (decompressed) Image */
	u64 text_offset;
	u64 image_size;		/* memory the kernel needs from its load address */
	u64 flags;
	bool big_endian;
	unsigned int page_size;	/* 4096, 16384, 65536 or 0 (unspecified) */
	bool anywhere;		/* flags bit 3: may be placed anywhere in RAM */
};

/*
 * Parse an Image held in memory (takes ownership of @buf on success).
 * Returns 0, or -EINVAL with a reason in @err.
 */
int arm64_image_parse(struct arm64_image *img, u8 *buf, size_t len,
		      char *err, size_t errlen);
/*
 * Read @path (raw, gzip-compressed, or a gzip EFI zboot image) and parse
 * it. Returns 0 or -errno with a one-line reason in @err.
 */
int arm64_image_load_file(struct arm64_image *img, const char *path,
			  char *err, size_t errlen);
/*
 * A raw Image of @len bytes at @off in the open file @fd (lkvm's cache
 * of inflated Images): its header is checked, and its bytes are read
 * from @fd into guest RAM, as for a raw Image file. Takes @fd on success.
 */
int arm64_image_open_at(struct arm64_image *img, int fd, off_t off,
			size_t len, char *err, size_t errlen);
void arm64_image_free(struct arm64_image *img);
/* Copy the Image's img->size bytes to @dst (guest RAM). */
int arm64_image_copy(const struct arm64_image *img, void *dst,
		     char *err, size_t errlen);

/*
 * Whether a CPU whose ID_AA64MMFR0_EL1 is @mmfr0 has the translation
 * granule of @page_size bytes (4, 16 or 64 KiB), and a check of the
 * Image's granule against it: 0, or -EINVAL with a reason naming the
 * granules it has.
 */
bool arm64_granule_supported(u64 mmfr0, unsigned int page_size);
int arm64_image_check_granule(const struct arm64_image *img, u64 mmfr0,
			      char *err, size_t errlen);

/*
 * Choose where the kernel, initrd and FDT go in guest RAM
 * [ram_base, ram_base + ram_size). Returns 0 or -ENOSPC with a reason
 * (-EINVAL for nonsensical arguments); arm64/image.c explains the choice.
 */
struct boot_layout {
	u64 kernel;		/* load address (2 MiB aligned base + text_offset) */
	u64 kernel_end;		/* load address + image_size */
	u64 initrd;		/* 64 KiB aligned; 0 if initrd_size is 0 */
	u64 fdt;		/* start of a 2 MiB block of its own */
};
int arm64_boot_layout(const struct arm64_image *img, u64 ram_base,
		      u64 ram_size, u64 initrd_size, u64 fdt_size,
		      struct boot_layout *out, char *err, size_t errlen);

#endif
