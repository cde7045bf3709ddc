/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KVM_H
#define LKVM_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>

#include "lkvm/util.h"
#include "lkvm/devices.h"
#include "lkvm/init.h"
#include "lkvm/guest-mem.h"
#include "lkvm/mmio.h"
#include "lkvm/layout.h"

struct kvm;
struct kvm_cpu;
struct fdt_irq_parent;
struct pci_host;
struct ioev_state;
struct msi_state;
struct boot_files;
struct term_state;
struct console_out;
struct cpu_features;
struct ctl_server;
struct vballoon;
struct gdb_server;
struct serial_dev;

enum console_type {
	CONSOLE_SERIAL,
	CONSOLE_VIRTIO,
};

enum irqchip_type {
	IRQCHIP_AUTO,
	IRQCHIP_GICV2,
	IRQCHIP_GICV3,
};

enum virtio_transport {
	VIRTIO_TRANSPORT_MMIO,
	VIRTIO_TRANSPORT_PCI,
	/* no --virtio-transport: kvm_arch_choose_transport() picks one */
	VIRTIO_TRANSPORT_AUTO,
};

#define KVM_DEV_PATH		"/dev/kvm"
#define LKVM_MAX_DISKS		16
#define LKVM_MAX_NICS		8
#define LKVM_MAX_9P		8
#define LKVM_MAX_PATTERNS	16

/* What the user asked for; filled by the option parser, no KVM needed. */
struct kvm_config {
	const char *kernel_path;
	const char *initrd_path;
	const char *params;
	const char *name;
	const char *dump_dtb;
	const char *hugetlbfs;
	u64 ram_size;		/* bytes */
	int nr_cpus;
	enum console_type console;
	enum irqchip_type irqchip;
	enum virtio_transport transport;
	bool debug;
	bool reboot;		/* restart the guest on reset instead of exiting */
	bool rng;
	u64 kaslr_seed;		/* --kaslr-seed: /chosen/kaslr-seed; 0 = none */
	bool no_seccomp;	/* --no-seccomp: no per-thread filters */
	bool name_set;		/* --name given: the control socket's name */
	bool aarch32;		/* --aarch32: 32-bit ARM guest (arm/zimage.c) */
	bool balloon;		/* --balloon: virtio-balloon (virtio/balloon.c) */
	u64 vsock_cid;		/* --vsock CID: vhost-vsock; 0 = none */
	u32 gdb_addr;		/* --gdb [ADDR:]PORT (host order); port 0 = none */
	u16 gdb_port;
	bool gdb_wait;		/* --gdb-wait: parked until gdb continues */

	/* Repeatable device options, as given; each device parses its own. */
	const char *disks[LKVM_MAX_DISKS];	/* -d PATH[,ro][,direct]... */
	int nr_disks;
	const char *nics[LKVM_MAX_NICS];	/* -n mode=user|tap|none,... */
	int nr_nics;
	const char *p9[LKVM_MAX_9P];		/* --9p HOSTDIR,TAG[,ro] */
	int nr_p9;
	const char *modules_dir;		/* --modules DIR */

	/* vCPU features (arm64/cpu-features.c): on where KVM has them. */
	bool no_sve;		/* --disable-sve */
	bool no_ptrauth;	/* --disable-ptrauth */
	bool no_mte;		/* --disable-mte */
	bool no_pvtime;		/* --no-pvtime */
	bool pmu;		/* --pmu */
	unsigned int sve_max_vl;	/* --sve-max-vl BITS, 0: the host's */
	cpu_set_t vcpu_affinity;	/* --vcpu-affinity; empty: none */

	/* Scripted boot runs. */
	unsigned int timeout;			/* --timeout SECONDS, 0 = none */
	const char *console_log;		/* --console-log FILE */
	const char *expect[LKVM_MAX_PATTERNS];	/* --expect REGEX, in order */
	int nr_expect;
	const char *fail_on[LKVM_MAX_PATTERNS];	/* --fail-on REGEX */
	int nr_fail_on;
};

/* Stopping the VM (kvm/stop.c). */
struct kvm_stop {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* on CLOCK_MONOTONIC */
	struct timespec deadline;	/* --timeout; tv_sec 0 = none */
	bool stopping;			/* atomic; written under lock */
	int status;			/* enum lkvm_exit; the first wins */
	/* Makes every vCPU leave KVM_RUN; set by kvm/kvm-cpu.c. */
	void (*kick)(struct kvm *kvm);
};

/* Parking the vCPUs (kvm/pause.c, lkvm/kvm-cpu.h). */
struct kvm_pause {
	pthread_mutex_t op_lock;	/* one pause or resume at a time */
	pthread_mutex_t lock;		/* the rest */
	pthread_cond_t cond;		/* nr_parked, park work, resume, stop */
	bool requested;			/* atomic: vCPUs park when they see it */
	bool devices;			/* atomic: kvm_vm_pause() paused the devices */
	bool early;			/* asked before the vCPUs started */
	int nr_parked;			/* vCPU threads parked */
	u64 counter;			/* the guest's virtual counter at the pause */
	bool counter_saved;
};

/* The virtual machine. */
struct kvm {
	struct kvm_config cfg;

	int sys_fd;		/* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;
	int max_cpus;

	struct guest_mem mem;	/* guest RAM */
	void *ram_mapping;	/* the mmap()ed block, maybe larger than RAM */
	u64 ram_mapping_size;
	int ram_fd;		/* hugetlbfs backing file, or -1 */

	int nr_cpus;
	struct kvm_cpu **cpus;
	u64 *cpu_mpidr;		/* MPIDR_EL1 of each vCPU, as KVM set it */

	/* Interrupt controller. */
	enum irqchip_type irqchip;
	int gic_fd;
	int its_fd;
	int next_spi;
	bool has_its;

	/* Boot. */
	u64 kernel_gpa;		/* where the Image was loaded */
	u64 kernel_end;		/* load address + image_size */
	u64 initrd_gpa;
	u64 initrd_size;
	/* An initrd built in memory (lkvm sandbox): used instead of -i. */
	const void *initrd_mem;
	size_t initrd_mem_size;
	/* lkvm sandbox: keep a compressed kernel's Image here (kcache.h) */
	const char *kcache;
	u64 fdt_gpa;
	u32 psci_version;	/* as KVM reports it, major << 16 | minor */
	void *fdt;		/* the device tree blob (fdt_totalsize()) */
	char *cmdline;		/* final bootargs */

	struct mmio_bus mmio;
	struct device_list devices;	/* every device (kvm/devices.c) */
	struct pci_host *pci;		/* made by the first PCI device */
	struct init_state init;		/* what init_all() brought up */
	/* Set while the device tree is written (arm/fdt.c, the console). */
	const struct fdt_irq_parent *irq_parent;
	const char *stdout_path;

	/*
	 * Per-VM state of the subsystems, each allocated by its own init
	 * (or first use) and freed by its exit: no file statics.
	 */
	struct ioev_state *ioev;	/* kvm/ioeventfd.c */
	struct msi_state *msi;		/* kvm/msi.c */
	struct boot_files *boot;	/* arm64/boot.c */
	struct term_state *term;	/* term/term.c */
	struct console_out *cons_out;	/* term/watch.c */
	struct cpu_features *feat;	/* arm64/cpu-features.c */
	struct ctl_server *ctl;		/* kvm/control.c */
	struct vballoon *balloon;	/* virtio/balloon.c, with --balloon */
	struct serial_dev *serial;	/* hw/serial.c: `lkvm debug --sysrq` */
	struct gdb_server *gdb;		/* kvm/gdb.c, with --gdb */

	struct kvm_stop stop;
	struct kvm_pause pause;
};

/* kvm/stop.c: ask every vCPU to stop; the first caller's status wins. */
void kvm_request_stop(struct kvm *kvm, int status);
bool kvm_is_stopping(struct kvm *kvm);
void kvm_stop_init(struct kvm_stop *st);
void kvm_stop_destroy(struct kvm_stop *st);
/* The status of the stop (enum lkvm_exit). */
int kvm_stop_status(struct kvm *kvm);
/* Start the --timeout clock: the guest is stopped @seconds from now. */
void kvm_stop_set_timeout(struct kvm *kvm, unsigned int seconds);
/* Wait until a stop is requested or the deadline passes (then stop). */
void kvm_stop_wait(struct kvm *kvm);
/* After a reset (--reboot): run again unless another stop came; true if so. */
bool kvm_stop_rearm(struct kvm *kvm);

/*
 * Inline, not in kvm/kvm.c: the arch code (arm/, arm64/) asks KVM with
 * them, and kvm/kvm.c calls the arch code, never the other way round.
 */
/* KVM_CHECK_EXTENSION on /dev/kvm: the cap's value, 0 when absent. */
static inline int kvm_check_cap(struct kvm *kvm, int cap)
{
	int ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

/* KVM_SET_DEVICE_ATTR on a device or vCPU fd; ioctl()'s result. */
static inline int kvm_set_device_attr(int fd, u32 group, u64 attr, void *val)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

/* kvm/kvm.c */
struct kvm *kvm_new(void);
void kvm_delete(struct kvm *kvm);
/* Bring everything up, run until the guest stops; returns enum lkvm_exit. */
int kvm_run_vm(struct kvm *kvm);

/* Interrupts (arm/gic.c): SPI numbers are INTID - 32. */
int irq_alloc_spi(struct kvm *kvm);
int irq_set_level(struct kvm *kvm, u32 spi, int level);

/* Append to the kernel command line unless a parameter named @key is set. */
int kvm_cmdline_add_default(struct kvm *kvm, const char *key, const char *param);

#endif
