// SPDX-License-Identifier: GPL-2.0
/* The VM: /dev/kvm, guest RAM, bring-up and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/options.h"
#include "lkvm/procstat.h"

#define HUGETLBFS_MAGIC		0x958458f6

static int open_kvm_device(struct kvm *kvm)
{
	int version;

	kvm->sys_fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		if (errno == ENOENT)
			pr_err("%s not found: lkvm needs an arm64 Linux host with KVM (CONFIG_KVM, running at EL2 or under nested virtualisation)",
			       KVM_DEV_PATH);
		else
			pr_err("cannot open %s: %s (lkvm needs read-write access to it)",
			       KVM_DEV_PATH, strerror(errno));
		return -errno;
	}
	version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("%s speaks KVM API version %d, lkvm needs version %d",
		       KVM_DEV_PATH, version, KVM_API_VERSION);
		return -EINVAL;
	}
	return 0;
}

/*
 * Ask for a larger guest physical address space only when RAM needs it
 * (check_ram_size() refused what the host cannot map).
 */
static unsigned long vm_type(struct kvm *kvm)
{
	unsigned int bits = ram_ipa_bits(kvm->cfg.ram_size);
	int max = kvm_check_cap(kvm, KVM_CAP_ARM_VM_IPA_SIZE);

	if (bits <= 40 || !max)
		return 0;
	return KVM_VM_TYPE_ARM_IPA_SIZE(bits);
}

/* Before any attempt: -m beyond what this host's KVM can map is refused. */
static int check_ram_size(struct kvm *kvm)
{
	int bits = kvm_check_cap(kvm, KVM_CAP_ARM_VM_IPA_SIZE);
	char err[256];

	if (!ram_size_check(kvm->cfg.ram_size, bits, sysconf(_SC_PAGESIZE), err,
			    sizeof(err)))
		return 0;
	pr_err("%s", err);
	return -E2BIG;
}

static int create_vm(struct kvm *kvm)
{
	int max;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, vm_type(kvm));
	if (kvm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM failed: %s", strerror(errno));
		return -errno;
	}
	kvm->vcpu_mmap_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size <= 0) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		return -EINVAL;
	}
	max = kvm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (!max)
		max = kvm_check_cap(kvm, KVM_CAP_NR_VCPUS);
	kvm->max_cpus = max ? max : 1;
	if (kvm->cfg.nr_cpus > kvm->max_cpus) {
		pr_err("-c %d: this host's KVM supports at most %d vCPUs",
		       kvm->cfg.nr_cpus, kvm->max_cpus);
		return -EINVAL;
	}
	return 0;
}

static int open_hugetlbfs_file(const char *dir, u64 size, u64 *page_size)
{
	char path[4096];
	struct statfs sfs;
	int fd;

	if (statfs(dir, &sfs) < 0) {
		pr_err("--hugetlbfs '%s': %s", dir, strerror(errno));
		return -errno;
	}
	if ((u64)sfs.f_type != HUGETLBFS_MAGIC) {
		pr_err("--hugetlbfs '%s': not a hugetlbfs mount", dir);
		return -EINVAL;
	}
	*page_size = sfs.f_bsize;
	if (!IS_ALIGNED(size, sfs.f_bsize)) {
		pr_err("--mem must be a multiple of the %llu KiB huge page size",
		       (unsigned long long)sfs.f_bsize >> 10);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/lkvm-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		pr_err("--hugetlbfs '%s': cannot create a file: %s", dir,
		       strerror(errno));
		return -errno;
	}
	unlink(path);
	if (ftruncate(fd, size) < 0) {
		pr_err("--hugetlbfs '%s': cannot reserve %llu MiB: %s", dir,
		       (unsigned long long)size >> 20, strerror(errno));
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

/* The host's transparent huge page size, 0 if it has none. */
static u64 thp_size(void)
{
	char *buf;
	size_t len;
	u64 size;

	if (read_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
		      (void **)&buf, &len) < 0)
		return 0;
	size = strtoull(buf, NULL, 10);
	free(buf);
	return size;
}

/*
 * Map guest RAM. Anonymous memory is aligned to the host's huge page
 * size (ram_map_align()) within a slightly larger mapping, so the host
 * can back it with transparent huge pages whatever its base page size.
 * Its size must be whole host pages (KVM_SET_USER_MEMORY_REGION).
 */
static int map_ram(struct kvm *kvm)
{
	u64 size = kvm->cfg.ram_size, page = sysconf(_SC_PAGESIZE);
	u64 align = ram_map_align(size, thp_size());
	u8 *map;

	kvm->ram_fd = -1;
	if (!IS_ALIGNED(size, page)) {
		pr_err("--mem must be a multiple of the host page size (%llu KiB)",
		       (unsigned long long)page >> 10);
		return -EINVAL;
	}
	if (kvm->cfg.hugetlbfs) {
		kvm->ram_fd = open_hugetlbfs_file(kvm->cfg.hugetlbfs, size, &align);
		if (kvm->ram_fd < 0)
			return kvm->ram_fd;
		kvm->ram_mapping_size = size;
		map = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_NORESERVE, kvm->ram_fd, 0);
	} else {
		kvm->ram_mapping_size = size + align;
		map = mmap(NULL, kvm->ram_mapping_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (map == MAP_FAILED) {
		char want[32];

		format_mem_size(size, want, sizeof(want));
		pr_err("-m %s: cannot allocate %llu MiB of guest RAM: %s", want,
		       (unsigned long long)size >> 20, strerror(errno));
		return -ENOMEM;
	}
	kvm->ram_mapping = map;
	kvm->mem.host = (u8 *)ALIGN_UP((uintptr_t)map, align);
	kvm->mem.size = size;
	madvise(kvm->mem.host, size, MADV_MERGEABLE);
	/*
	 * Ask for transparent huge pages: a host whose THP is `madvise`
	 * (not `always`) otherwise backs the guest with base pages, and
	 * every first touch is a stage-2 fault of one page, not one of 2M.
	 */
	if (kvm->ram_fd < 0)
		madvise(kvm->mem.host, size, MADV_HUGEPAGE);
	/* A core of lkvm is for lkvm's bugs: without the guest's RAM. */
	madvise(map, kvm->ram_mapping_size, MADV_DONTDUMP);
	return 0;
}

static int register_ram(struct kvm *kvm)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = kvm->mem.gpa_start,
		.memory_size = kvm->mem.size,
		.userspace_addr = (uintptr_t)kvm->mem.host,
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (%llu MiB at 0x%llx) failed: %s",
		       (unsigned long long)kvm->mem.size >> 20,
		       (unsigned long long)kvm->mem.gpa_start, strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_core_init(struct kvm *kvm)
{
	int ret;

	ret = open_kvm_device(kvm);
	if (!ret)
		ret = check_ram_size(kvm);
	if (!ret)
		ret = create_vm(kvm);
	if (!ret)
		ret = map_ram(kvm);
	if (!ret)
		ret = register_ram(kvm);
	if (!ret)
		pr_phase("VM created, %llu MiB of RAM",
			 (unsigned long long)kvm->mem.size >> 20);
	return ret;
}

/* Resident guest RAM in KiB, from mincore() over the RAM mapping. */
static u64 guest_ram_resident_kb(struct kvm *kvm)
{
	u64 page = sysconf(_SC_PAGESIZE), pages = kvm->mem.size / page, n = 0, i;
	unsigned char *vec = malloc(pages);

	if (!vec)
		return 0;
	if (!mincore(kvm->mem.host, kvm->mem.size, vec))
		for (i = 0; i < pages; i++)
			n += vec[i] & 1;
	free(vec);
	return n * page >> 10;
}

/*
 * With --debug, report lkvm's own peak memory: the peak RSS less the guest
 * RAM that is resident at exit (guest pages are never given back, so that
 * is also their peak).
 */
static void report_memory(struct kvm *kvm)
{
	u64 hwm = procstat_peak_rss_kb(), ram = guest_ram_resident_kb(kvm);

	pr_debug("peak RSS %llu KiB, of which guest RAM %llu KiB: lkvm itself %llu KiB",
		 (unsigned long long)hwm, (unsigned long long)ram,
		 (unsigned long long)(hwm > ram ? hwm - ram : 0));
}

/*
 * With --debug, where lkvm's CPU time went, by thread name (blk-vda,
 * lkvm-ioeventfd, iou-wrk...), while every device thread still runs; the
 * vCPUs report their own (kvm/kvm-cpu.c). And how long each waited for
 * a CPU when it could have run: a device thread that shares one with a
 * vCPU serves the guest late, which its CPU time does not show.
 */
static void report_cpu_time(void)
{
	struct procstat_threads pt = { 0 };
	char line[1024];

	if (procstat_threads_read(&pt, "vcpu") < 0)
		return;
	procstat_threads_format(&pt, sysconf(_SC_CLK_TCK), false, line,
				sizeof(line));
	pr_debug("CPU time of lkvm's threads: %s", line);
	procstat_threads_format(&pt, 0, true, line, sizeof(line));
	pr_debug("time lkvm's threads waited for a CPU: %s", line);
}

static void kvm_core_exit(struct kvm *kvm)
{
	if (kvm->ram_mapping && lkvm_debug)
		report_memory(kvm);
	if (kvm->ram_mapping)
		munmap(kvm->ram_mapping, kvm->ram_mapping_size);
	kvm->ram_mapping = NULL;
	if (kvm->ram_fd >= 0)
		close(kvm->ram_fd);
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->ram_fd = kvm->vm_fd = kvm->sys_fd = -1;
}
lkvm_init(INIT_CORE, kvm_core_init, kvm_core_exit);

struct kvm *kvm_new(void)
{
	struct kvm *kvm = calloc(1, sizeof(*kvm));

	if (!kvm)
		return NULL;
	kvm->sys_fd = kvm->vm_fd = kvm->ram_fd = -1;
	kvm->gic_fd = kvm->its_fd = -1;
	kvm->mem.gpa_start = LKVM_RAM_BASE;
	device_list_init(&kvm->devices);
	kvm_stop_init(&kvm->stop);
	kvm_pause_init(&kvm->pause);
	mmio_bus_init(&kvm->mmio);
	return kvm;
}

void kvm_delete(struct kvm *kvm)
{
	mmio_bus_exit(&kvm->mmio);
	free(kvm->cmdline);
	free(kvm->fdt);
	free(kvm->cpu_mpidr);
	kvm_pause_destroy(&kvm->pause);
	kvm_stop_destroy(&kvm->stop);
	free(kvm);
}

/*
 * Restart after a guest reset (--reboot): fresh images, vCPUs at entry.
 * Returns 1 if a stop was requested meanwhile, 0 to run again, or -errno.
 */
static int kvm_reboot(struct kvm *kvm)
{
	int i, ret;

	pr_info("guest reset: rebooting");
	/* Devices must stop using the old kernel's rings first. */
	devices_reset(kvm);
	ret = kvm_arch_load_guest(kvm);
	for (i = 0; !ret && i < kvm->nr_cpus; i++)
		ret = kvm_cpu_arch_reset(kvm->cpus[i]);
	if (ret)
		return ret;
	return !kvm_stop_rearm(kvm);
}

int kvm_run_vm(struct kvm *kvm)
{
	int status, ret;

	if (init_all(&kvm->init, kvm) < 0) {
		exit_all(&kvm->init, kvm);
		return LKVM_EXIT_ERROR;
	}
	kvm_stop_set_timeout(kvm, kvm->cfg.timeout);
	for (;;) {
		if (kvm_cpus_start(kvm) < 0) {
			kvm_request_stop(kvm, LKVM_EXIT_ERROR);
			kvm_cpus_join(kvm);
			status = LKVM_EXIT_ERROR;
			break;
		}
		kvm_stop_wait(kvm);
		pr_phase("guest stopped (exit status %d)", kvm_stop_status(kvm));
		if (lkvm_debug) {
			report_cpu_time();
			devices_report(kvm);
		}
		kvm_cpus_join(kvm);
		status = kvm_stop_status(kvm);
		if (status != LKVM_EXIT_RESET || !kvm->cfg.reboot)
			break;
		ret = kvm_reboot(kvm);
		if (ret) {
			status = ret < 0 ? LKVM_EXIT_ERROR : kvm_stop_status(kvm);
			break;
		}
	}
	exit_all(&kvm->init, kvm);
	return status;
}
