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
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/arm64-image.h"
#include "lkvm/fdt.h"
#include "lkvm/init.h"
#include "lkvm/initramfs.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"

static struct arm64_image kernel;
static int initrd_fd = -1;
static size_t initrd_len;
static struct boot_layout layout;

/*
 * The initrd, like a raw kernel, is read straight into guest RAM when the
 * guest is loaded; here it is only opened and measured.
 */
static int open_initrd(const char *path)
{
	struct stat st;

	initrd_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (initrd_fd < 0 || fstat(initrd_fd, &st) < 0) {
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
	initrd_len = st.st_size;
	return 0;
}

static bool kernel_loaded;

static int load_kernel(struct kvm *kvm)
{
	const char *kpath = kvm->cfg.kernel_path;
	char err[256];
	int ret;

	if (kernel_loaded)
		return 0;
	ret = arm64_image_load_file(&kernel, kpath, err, sizeof(err));
	if (ret < 0) {
		pr_err("kernel '%s': %s", kpath, err);
		return ret;
	}
	kernel_loaded = true;
	return 0;
}

int kvm_arch_kernel_version(struct kvm *kvm, char *out, size_t len)
{
	int ret = load_kernel(kvm);

	if (ret < 0)
		return ret;
	if (kernel.data)
		ret = linux_version_find(kernel.data, kernel.size, out, len);
	else
		ret = linux_version_find_fd(kernel.fd, kernel.size, out, len);
	/* -ENODATA: no banner; the caller says so if that matters */
	return ret < 0 ? -ENODATA : ret;
}

int kvm_arch_load_files(struct kvm *kvm)
{
	char err[256];
	int ret;

	ret = load_kernel(kvm);
	if (ret < 0)
		return ret;
	if (kvm->initrd_mem) {
		initrd_len = kvm->initrd_mem_size;
	} else if (kvm->cfg.initrd_path) {
		ret = open_initrd(kvm->cfg.initrd_path);
		if (ret < 0)
			return ret;
	}
	ret = arm64_boot_layout(&kernel, LKVM_RAM_BASE, kvm->cfg.ram_size,
				initrd_len, LKVM_FDT_MAX_SIZE, &layout,
				err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		return ret;
	}
	return 0;
}

void kvm_arch_free_files(struct kvm *kvm)
{
	arm64_image_free(&kernel);
	kernel_loaded = false;
	if (initrd_fd >= 0)
		close(initrd_fd);
	initrd_fd = -1;
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
	char err[256];
	void *dst;

	dst = guest_ptr(&kvm->mem, layout.kernel, kernel.size);
	if (!dst)
		return -EINVAL;
	if (arm64_image_copy(&kernel, dst, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", kvm->cfg.kernel_path, err);
		return -EIO;
	}
	if (initrd_len) {
		dst = guest_ptr(&kvm->mem, layout.initrd, initrd_len);
		if (!dst)
			return -EINVAL;
		if (kvm->initrd_mem) {
			memcpy(dst, kvm->initrd_mem, initrd_len);
		} else if (pread_in_full(initrd_fd, dst, initrd_len, 0) !=
		    (ssize_t)initrd_len) {
			pr_err("initrd '%s': read error or file shrank",
			       kvm->cfg.initrd_path);
			return -EIO;
		}
	}
	dst = guest_ptr(&kvm->mem, layout.fdt, fdt_totalsize(kvm->fdt));
	if (!dst)
		return -EINVAL;
	memcpy(dst, kvm->fdt, fdt_totalsize(kvm->fdt));
	return 0;
}

static int boot_init(struct kvm *kvm)
{
	int ret;

	kvm->kernel_gpa = layout.kernel;
	kvm->kernel_end = layout.kernel_end;
	kvm->initrd_gpa = layout.initrd;
	kvm->initrd_size = initrd_len;
	kvm->fdt_gpa = layout.fdt;

	kvm->fdt = calloc(1, LKVM_FDT_MAX_SIZE);
	if (!kvm->fdt)
		return -ENOMEM;
	ret = fdt_build(kvm, kvm->fdt, LKVM_FDT_MAX_SIZE);
	if (ret < 0)
		return ret;
	if (kvm->cfg.dump_dtb && (ret = dump_dtb(kvm->cfg.dump_dtb, kvm->fdt)) < 0)
		return ret;
	ret = kvm_arch_load_guest(kvm);
	if (ret < 0)
		return ret;
	pr_debug("kernel at 0x%llx, initrd at 0x%llx (%zu bytes), fdt at 0x%llx",
		 (unsigned long long)layout.kernel,
		 (unsigned long long)layout.initrd, initrd_len,
		 (unsigned long long)layout.fdt);
	pr_debug("command line: %s", kvm->cmdline);
	return kvm_cpu_arch_reset(kvm->cpus[0]);
}

static void boot_exit(struct kvm *kvm)
{
	kvm_arch_free_files(kvm);
}
lkvm_init(INIT_FIRMWARE, boot_init, boot_exit);
