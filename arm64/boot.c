// SPDX-License-Identifier: GPL-2.0
/*
 * Booting an arm64 kernel: the Image, the initrd and the device tree are
 * read and checked before the VM exists (bad input fails fast with one
 * line), then copied into guest RAM once devices have registered.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/arm-zimage.h"
#include "lkvm/arm64-image.h"
#include "lkvm/fdt.h"
#include "lkvm/init.h"
#include "lkvm/initramfs.h"
#include "lkvm/kcache.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"

/*
 * kvm->boot: the files, read before the VM exists, from the first
 * kvm_arch_kernel_version() or kvm_arch_load_files() to
 * kvm_arch_free_files().
 */
struct boot_files {
	struct arm64_image kernel;	/* --aarch32: only data and size */
	struct arm_zimage zimage;	/* --aarch32 */
	bool kernel_loaded;
	int initrd_fd;
	size_t initrd_len;
	struct boot_layout layout;
};

static struct boot_files *boot_files(struct kvm *kvm)
{
	struct boot_files *bf = kvm->boot;

	if (bf)
		return bf;
	bf = calloc(1, sizeof(*bf));
	if (!bf) {
		pr_err("out of memory");
		return NULL;
	}
	bf->initrd_fd = -1;
	kvm->boot = bf;
	return bf;
}

/*
 * The initrd, like a raw kernel, is read straight into guest RAM when the
 * guest is loaded; here it is only opened and measured.
 */
static int open_initrd(struct boot_files *bf, const char *path)
{
	struct stat st;

	bf->initrd_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (bf->initrd_fd < 0 || fstat(bf->initrd_fd, &st) < 0) {
		pr_err("initrd '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("initrd '%s': not a regular file", path);
		return -EINVAL;
	}
	if (!st.st_size) {
		pr_err("initrd '%s': empty file", path);
		return -EINVAL;
	}
	bf->initrd_len = st.st_size;
	return 0;
}

/*
 * A 32-bit kernel is read whole into memory (a zImage is a few MiB) and
 * copied from there as an Image would be.
 */
static int load_zimage(struct boot_files *bf, const char *path,
		       char *err, size_t errlen)
{
	void *buf;
	size_t len;
	int ret;

	ret = read_file(path, &buf, &len);
	if (ret < 0) {
		set_err(err, errlen, "%s", strerror(-ret));
		return ret;
	}
	ret = arm_zimage_parse(&bf->zimage, buf, len, err, errlen);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	bf->kernel.data = buf;
	bf->kernel.size = len;
	return 0;
}

/*
 * lkvm sandbox: a compressed kernel's Image from kvm->kcache, inflated
 * once per kernel file (a raw Image is read from its file as always).
 * An entry whose header is not an Image's is ignored and replaced.
 */
static int load_image_cached(struct kvm *kvm, struct arm64_image *img,
			     char *err, size_t errlen)
{
	const char *kpath = kvm->cfg.kernel_path;
	char name[64], key[KCACHE_KEY_MAX] = "", why[160];
	size_t len;
	off_t off;
	int ret, miss, fd;

	kcache_name(name, sizeof(name), "image", kpath);
	if (kcache_key_file(key, kpath))
		return arm64_image_load_file(img, kpath, err, errlen);
	/* a hit is read straight into guest RAM, like a raw Image file */
	ret = kcache_open(kvm->kcache, name, key, &fd, &off, &len);
	if (!ret) {
		ret = arm64_image_open_at(img, fd, off, len, why, sizeof(why));
		if (!ret) {
			pr_debug("kernel: inflated Image from the cache (%s)",
				 name);
			return 0;
		}
		close(fd);
		ret = -EBADMSG;
	}
	miss = ret;
	ret = arm64_image_load_file(img, kpath, err, errlen);
	/* a raw Image is read from its file: nothing to keep */
	if (!ret && img->data &&
	    !kcache_put(kvm->kcache, name, key, img->data, img->size))
		pr_debug("kernel: Image cache %s: %s; inflated Image stored",
			 name, kcache_why(miss));
	return ret;
}

static int load_kernel(struct kvm *kvm)
{
	struct boot_files *bf = boot_files(kvm);
	const char *kpath = kvm->cfg.kernel_path;
	char err[256];
	int ret;

	if (!bf)
		return -ENOMEM;
	if (bf->kernel_loaded)
		return 0;
	if (kvm->cfg.aarch32)
		ret = load_zimage(bf, kpath, err, sizeof(err));
	else if (kvm->kcache)
		ret = load_image_cached(kvm, &bf->kernel, err, sizeof(err));
	else
		ret = arm64_image_load_file(&bf->kernel, kpath, err, sizeof(err));
	if (ret < 0) {
		pr_err("kernel '%s': %s", kpath, err);
		return ret;
	}
	bf->kernel_loaded = true;
	pr_phase("kernel '%s' checked: %s, %zu KiB", kpath,
		 bf->kernel.data ? "held in memory" :
		 "read into guest RAM at boot", bf->kernel.size >> 10);
	return 0;
}

int kvm_arch_kernel_version(struct kvm *kvm, char *out, size_t len)
{
	const struct arm64_image *k;
	int ret = load_kernel(kvm);

	if (ret < 0)
		return ret;
	k = &kvm->boot->kernel;
	if (k->data)
		ret = linux_version_find(k->data, k->size, out, len);
	else
		ret = linux_version_find_fd(k->fd, k->fd_offset, k->size,
					    out, len);
	/* -ENODATA: no banner; the caller says so if that matters */
	return ret < 0 ? -ENODATA : ret;
}

int kvm_arch_load_files(struct kvm *kvm)
{
	struct boot_files *bf;
	char err[256];
	int ret;

	ret = load_kernel(kvm);
	if (ret < 0)
		return ret;
	bf = kvm->boot;
	if (kvm->initrd_mem) {
		bf->initrd_len = kvm->initrd_mem_size;
	} else if (kvm->cfg.initrd_path) {
		ret = open_initrd(bf, kvm->cfg.initrd_path);
		if (ret < 0)
			return ret;
	}
	if (kvm->cfg.aarch32)
		ret = arm_zimage_layout(&bf->zimage, LKVM_RAM_BASE,
					kvm->cfg.ram_size, bf->initrd_len,
					LKVM_FDT_MAX_SIZE, &bf->layout,
					err, sizeof(err));
	else
		ret = arm64_boot_layout(&bf->kernel, LKVM_RAM_BASE,
					kvm->cfg.ram_size, bf->initrd_len,
					LKVM_FDT_MAX_SIZE, &bf->layout,
					err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		return ret;
	}
	return 0;
}

void kvm_arch_free_files(struct kvm *kvm)
{
	struct boot_files *bf = kvm->boot;

	if (!bf)
		return;
	arm64_image_free(&bf->kernel);
	if (bf->initrd_fd >= 0)
		close(bf->initrd_fd);
	free(bf);
	kvm->boot = NULL;
}

static int dump_dtb(const char *path, const void *fdt)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_err("--dump-dtb '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (write_in_full(fd, fdt, fdt_totalsize(fdt)) < 0) {
		pr_err("--dump-dtb '%s': %s", path, strerror(errno));
		ret = -errno;
	}
	if (close(fd) < 0 && !ret) {
		pr_err("--dump-dtb '%s': %s", path, strerror(errno));
		ret = -errno;
	}
	return ret;
}

/* Copy kernel, initrd and FDT into guest RAM (at boot and on reboot). */
int kvm_arch_load_guest(struct kvm *kvm)
{
	struct boot_files *bf = kvm->boot;
	char err[256];
	void *dst;

	dst = guest_ptr(&kvm->mem, bf->layout.kernel, bf->kernel.size);
	if (!dst)
		return -EINVAL;
	if (arm64_image_copy(&bf->kernel, dst, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", kvm->cfg.kernel_path, err);
		return -EIO;
	}
	if (bf->initrd_len) {
		dst = guest_ptr(&kvm->mem, bf->layout.initrd, bf->initrd_len);
		if (!dst)
			return -EINVAL;
		if (kvm->initrd_mem) {
			memcpy(dst, kvm->initrd_mem, bf->initrd_len);
		} else if (pread_in_full(bf->initrd_fd, dst, bf->initrd_len, 0) !=
		    (ssize_t)bf->initrd_len) {
			pr_err("initrd '%s': read error or file shrank",
			       kvm->cfg.initrd_path);
			return -EIO;
		}
	}
	dst = guest_ptr(&kvm->mem, bf->layout.fdt, fdt_totalsize(kvm->fdt));
	if (!dst)
		return -EINVAL;
	memcpy(dst, kvm->fdt, fdt_totalsize(kvm->fdt));
	return 0;
}

/*
 * A kernel built for a granule the vCPUs lack would spin silently in its
 * first instructions: refuse it with one line instead.
 */
static int check_granule(struct kvm *kvm, const struct arm64_image *k)
{
	char err[160];
	u64 mmfr0;

	if (kvm_cpu_arch_mmfr0(kvm->cpus[0], &mmfr0) < 0)
		return 0;	/* KVM does not say: let the guest try */
	if (arm64_image_check_granule(k, mmfr0, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", kvm->cfg.kernel_path, err);
		return -EINVAL;
	}
	return 0;
}

/*
 * libfdt writes the whole buffer it builds in (LKVM_FDT_MAX_SIZE), while
 * the tree is a few KiB: it is built in a scratch mapping, whose pages
 * go back to the kernel at once, and kept at its own size for reboots.
 */
static int build_fdt(struct kvm *kvm)
{
	void *buf = mmap(NULL, LKVM_FDT_MAX_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	if (buf == MAP_FAILED)
		return -ENOMEM;
	ret = fdt_build(kvm, buf, LKVM_FDT_MAX_SIZE);
	if (!ret) {
		kvm->fdt = malloc(fdt_totalsize(buf));
		if (kvm->fdt)
			memcpy(kvm->fdt, buf, fdt_totalsize(buf));
		else
			ret = -ENOMEM;
	}
	munmap(buf, LKVM_FDT_MAX_SIZE);
	return ret;
}

static int boot_init(struct kvm *kvm)
{
	struct boot_files *bf = kvm->boot;
	int ret;

	if (!bf || !bf->kernel_loaded) {
		pr_err("boot: no kernel loaded (kvm_arch_load_files() first)");
		return -EINVAL;
	}
	ret = check_granule(kvm, &bf->kernel);
	if (ret < 0)
		return ret;
	kvm->kernel_gpa = bf->layout.kernel;
	kvm->kernel_end = bf->layout.kernel_end;
	kvm->initrd_gpa = bf->layout.initrd;
	kvm->initrd_size = bf->initrd_len;
	kvm->fdt_gpa = bf->layout.fdt;

	ret = build_fdt(kvm);
	if (ret < 0)
		return ret;
	if (kvm->cfg.dump_dtb && (ret = dump_dtb(kvm->cfg.dump_dtb, kvm->fdt)) < 0)
		return ret;
	ret = kvm_arch_load_guest(kvm);
	if (ret < 0)
		return ret;
	pr_phase("kernel, initrd and FDT in guest RAM");
	pr_debug("kernel at 0x%llx, initrd at 0x%llx (%zu bytes), fdt at 0x%llx",
		 (unsigned long long)bf->layout.kernel,
		 (unsigned long long)bf->layout.initrd, bf->initrd_len,
		 (unsigned long long)bf->layout.fdt);
	pr_debug("command line: %s", kvm->cmdline);
	return kvm_cpu_arch_reset(kvm->cpus[0]);
}

static void boot_exit(struct kvm *kvm)
{
	kvm_arch_free_files(kvm);
}
lkvm_init(INIT_FIRMWARE, boot_init, boot_exit);
