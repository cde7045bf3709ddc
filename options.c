// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm run` options, in kvmtool's spelling. One table drives both the
 * parser (getopt_long) and `lkvm help run`.
 */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/cmdopt.h"
#include "lkvm/control.h"
#include "lkvm/cpu-features.h"
#include "lkvm/disk.h"
#include "lkvm/layout.h"
#include "lkvm/net.h"
#include "lkvm/options.h"
#include "lkvm/virtio-9p.h"

enum {
	OPT_CONSOLE = 256,
	OPT_NAME,
	OPT_IRQCHIP,
	OPT_DUMP_DTB,
	OPT_DEBUG,
	OPT_HUGETLBFS,
	OPT_REBOOT,
	OPT_TRANSPORT,
	OPT_RNG,
	OPT_9P,
	OPT_MODULES,
	OPT_TIMEOUT,
	OPT_CONSOLE_LOG,
	OPT_EXPECT,
	OPT_FAIL_ON,
	OPT_NO_SECCOMP,
	OPT_DISABLE_SVE,
	OPT_SVE_MAX_VL,
	OPT_DISABLE_PTRAUTH,
	OPT_DISABLE_MTE,
	OPT_NO_PVTIME,
	OPT_KASLR_SEED,
	OPT_PMU,
	OPT_VCPU_AFFINITY,
	OPT_AARCH32,
	OPT_BALLOON,
	OPT_VSOCK,
	OPT_GDB,
	OPT_GDB_WAIT,
};

static const struct cmd_option run_options[] = {
	{ "kernel",	'k', "FILE",	"arm64 kernel Image to boot (raw or gzip-compressed)" },
	{ "aarch32",	OPT_AARCH32, NULL, "boot a 32-bit ARM kernel (zImage or Image; host CPU with AArch32 at EL1)" },
	{ "initrd",	'i', "FILE",	"initial ramdisk" },
	{ "params",	'p', "PARAMS",	"kernel command line" },
	{ "mem",	'm', "SIZE",	"guest RAM in MiB, or with a K/M/G suffix (default 256)" },
	{ "cpus",	'c', "N",	"number of vCPUs (default 1)" },
	{ "console",	OPT_CONSOLE, "serial|virtio", "the guest console the terminal is wired to (default serial)" },
	{ "name",	OPT_NAME, "NAME", "name of the guest and of its control socket ~/.lkvm/NAME.sock (default guest-PID)" },
	{ "irqchip",	OPT_IRQCHIP, "auto|gicv2|gicv3", "interrupt controller (default: GICv3 if the host has it)" },
	{ "virtio-transport", OPT_TRANSPORT, "mmio|pci", "how virtio devices are attached (default: pci on a GICv3 host, for MSI-X through an ITS; else mmio)" },
	{ "rng",	OPT_RNG, NULL,	"add a virtio-rng device fed by the host's getrandom()" },
	{ "disk",	'd', "PATH[,ro][,direct][,snapshot][,id=SERIAL][,format=raw|qcow2]", "add a virtio-blk disk (raw or qcow2, probed unless format= says; repeatable)" },
	{ "network",	'n', "mode=user|tap|none[,...]", "add a virtio-net NIC (repeatable)" },
	{ "balloon",	OPT_BALLOON, NULL, "add a virtio-balloon device (guest memory given back to the host)" },
	{ "vsock",	OPT_VSOCK, "CID", "add a vhost-vsock device with guest CID (3 to 4294967294)" },
	{ "gdb",	OPT_GDB, "[ADDR:]PORT", "serve gdb's remote protocol on TCP PORT (address default 127.0.0.1)" },
	{ "gdb-wait",	OPT_GDB_WAIT, NULL, "with --gdb: no guest instruction runs until gdb attaches and continues" },
	{ "9p",		OPT_9P, "HOSTDIR,TAG[,ro]", "share a host folder over virtio-9p (repeatable)" },
	{ "modules",	OPT_MODULES, "DIR", "kernel modules to pack into the initramfs (default /lib/modules/VERSION; also for -d without -i)" },
	{ "timeout",	OPT_TIMEOUT, "SECONDS", "stop the guest and exit 5 after this long" },
	{ "console-log", OPT_CONSOLE_LOG, "FILE", "also write the whole console output to FILE" },
	{ "expect",	OPT_EXPECT, "REGEX", "exit 0 once the console has shown every --expect, in order (repeatable)" },
	{ "fail-on",	OPT_FAIL_ON, "REGEX", "exit 6 as soon as a console line matches (repeatable)" },
	{ "hugetlbfs",	OPT_HUGETLBFS, "DIR", "back guest RAM with huge pages from this hugetlbfs mount" },
	{ "dump-dtb",	OPT_DUMP_DTB, "FILE", "write the generated device tree blob to FILE" },
	{ "reboot",	OPT_REBOOT, NULL, "restart the guest when it resets instead of exiting" },
	{ "no-seccomp",	OPT_NO_SECCOMP, NULL, "no per-thread seccomp filters of lkvm's system calls" },
	{ "disable-sve", OPT_DISABLE_SVE, NULL, "no SVE for the guest (default: SVE where KVM has it)" },
	{ "sve-max-vl",	OPT_SVE_MAX_VL, "BITS", "largest SVE vector length the guest gets, one the host has (default: the host's)" },
	{ "disable-ptrauth", OPT_DISABLE_PTRAUTH, NULL, "no pointer authentication for the guest (default: on where KVM has it)" },
	{ "disable-mte", OPT_DISABLE_MTE, NULL, "no MTE for the guest (default: on where KVM has it, without --hugetlbfs)" },
	{ "no-pvtime",	OPT_NO_PVTIME, NULL, "no stolen-time accounting for the guest (default: on where KVM has it)" },
	{ "kaslr-seed",	OPT_KASLR_SEED, "SEED", "the guest kernel's KASLR seed, a 64-bit number (default 0: none, no KASLR)" },
	{ "pmu",	OPT_PMU, NULL, "give the guest a PMUv3 (perf counters); the host needs one" },
	{ "vcpu-affinity", OPT_VCPU_AFFINITY, "CPULIST", "run the vCPU threads on these host CPUs only, e.g. 0-1,3" },
	{ "debug",	OPT_DEBUG, NULL, "print debugging messages" },
	{ "help",	'h', NULL,	"show this help" },
};

/* KVM's guest physical address space when the VM type asks for none. */
#define KVM_DEFAULT_IPA_BITS	40
/* Pages one KVM memory slot can hold (KVM_MEM_MAX_NR_PAGES); RAM is one. */
#define KVM_SLOT_MAX_PAGES	((1ULL << 31) - 1)

static u64 ram_max_for_ipa(unsigned int ipa_bits)
{
	u64 top = ipa_bits >= 64 ? UINT64_MAX : 1ULL << ipa_bits;

	return top > LKVM_RAM_BASE ? top - LKVM_RAM_BASE : 0;
}

/* In whole GiB, so that the limit reads as a size -m takes. */
static u64 ram_max_for_slot(u64 page_size)
{
	return KVM_SLOT_MAX_PAGES * page_size / SZ_1G * SZ_1G;
}

u64 ram_max_size(unsigned int ipa_bits, u64 page_size)
{
	if (!ipa_bits)
		ipa_bits = KVM_DEFAULT_IPA_BITS;
	return MIN(ram_max_for_ipa(ipa_bits), ram_max_for_slot(page_size));
}

/*
 * A huge page is @thp_size bytes (the host's PMD: 2 MiB with 4 KiB
 * pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB); RAM aligned to it can
 * be backed by them. 2 MiB still helps smaller RAM with 4 KiB pages, and
 * costs nothing (only address space) with larger ones.
 */
u64 ram_map_align(u64 ram_size, u64 thp_size)
{
	if (thp_size > SZ_2M && !(thp_size & (thp_size - 1)) &&
	    ram_size >= thp_size)
		return thp_size;
	return SZ_2M;
}

unsigned int ram_ipa_bits(u64 ram_size)
{
	return 64 - __builtin_clzll(LKVM_RAM_BASE + ram_size - 1);
}

int ram_size_check(u64 ram_size, unsigned int ipa_bits, u64 page_size,
		   char *err, size_t errlen)
{
	u64 max = ram_max_size(ipa_bits, page_size);
	char want[32], most[32], why[96];

	if (ram_size <= max)
		return 0;
	if (!ipa_bits)
		ipa_bits = KVM_DEFAULT_IPA_BITS;
	if (max == ram_max_for_ipa(ipa_bits))
		snprintf(why, sizeof(why),
			 "%u-bit guest physical addresses, RAM from %#llx",
			 ipa_bits, LKVM_RAM_BASE);
	else
		snprintf(why, sizeof(why),
			 "one memory slot of at most 2^31 - 1 pages of %llu KiB",
			 (unsigned long long)page_size >> 10);
	format_mem_size(ram_size, want, sizeof(want));
	format_mem_size(max, most, sizeof(most));
	set_err(err, errlen,
		"-m %s: this host's KVM allows at most %s of guest RAM (%s)",
		want, most, why);
	return -E2BIG;
}

void run_config_defaults(struct kvm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = LKVM_DEFAULT_RAM_MB_BYTES;
	cfg->nr_cpus = 1;
	cfg->name = "guest";
	cfg->console = CONSOLE_SERIAL;
	cfg->irqchip = IRQCHIP_AUTO;
	cfg->transport = VIRTIO_TRANSPORT_AUTO;
}

/*
 * MMIO costs two vCPU exits per interrupt (status read, acknowledge), PCI
 * with MSI-X none: 1.9x the 9p metadata operations per second in the rig.
 * A 32-bit guest stays on MMIO, the transport its kernels were run with.
 */
enum virtio_transport run_default_transport(const struct kvm_config *cfg,
					    bool host_has_v3)
{
	if (cfg->transport != VIRTIO_TRANSPORT_AUTO)
		return cfg->transport;
	if (cfg->aarch32 || cfg->irqchip == IRQCHIP_GICV2 || !host_has_v3)
		return VIRTIO_TRANSPORT_MMIO;
	return VIRTIO_TRANSPORT_PCI;
}

void run_usage(FILE *out)
{
	fprintf(out, "usage: lkvm run [OPTIONS]\n\n");
	run_options_usage(out);
	fprintf(out, "\nexit status:\n"
		"  0  the guest powered off, Ctrl-a x, lkvm stop, or every --expect was seen\n"
		"  1  lkvm failed (bad kernel, image or option value; no usable KVM)\n"
		"  2  bad command line\n"
		"  3  the guest reset (reboot, panic with panic=-1)\n"
		"  4  the guest crashed\n"
		"  5  --timeout expired\n"
		"  6  a --fail-on pattern matched a console line\n"
		"  7  the guest stopped before every --expect was seen\n"
		"  8  a seccomp filter stopped a forbidden system call of lkvm\n"
		"  128+N  lkvm was killed by signal N\n");
}

void run_options_usage(FILE *out)
{
	cmd_options_usage(out, run_options, ARRAY_SIZE(run_options));
}

const struct cmd_option *run_option_table(unsigned int *nr)
{
	*nr = ARRAY_SIZE(run_options);
	return run_options;
}

static const char *option_name(int val)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(run_options); i++)
		if (run_options[i].val == val)
			return run_options[i].name;
	return "?";
}

static int parse_choice(const char *arg, const char *const *choices, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(arg, choices[i]))
			return i;
	return -1;
}

static int parse_cpus(const char *arg, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > LKVM_MAX_CPUS_OPT)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int parse_uint(const char *arg, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* A u64, decimal or 0x-prefixed hex (kvmtool's --kaslr-seed takes both). */
static int parse_u64(const char *arg, u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || *arg == '-' || *arg == '+' ||
	    (arg[0] == '0' && arg[1] >= '0' && arg[1] <= '9'))
		return -EINVAL;	/* no sign, no octal */
	*out = v;
	return 0;
}

int gdb_listen_parse(const char *arg, u32 *addr, u16 *port, char *err,
		     size_t errlen)
{
	const char *colon = strrchr(arg, ':');
	char host[INET_ADDRSTRLEN];
	struct in_addr in;
	unsigned int p;

	*addr = INADDR_LOOPBACK;
	if (colon) {
		if ((size_t)(colon - arg) >= sizeof(host))
			BAD("invalid --gdb '%s': the address must be an IPv4 address like 127.0.0.1", arg);
		memcpy(host, arg, colon - arg);
		host[colon - arg] = '\0';
		if (inet_pton(AF_INET, host, &in) != 1)
			BAD("invalid --gdb '%s': the address must be an IPv4 address like 127.0.0.1", arg);
		*addr = ntohl(in.s_addr);
	}
	if (parse_uint(colon ? colon + 1 : arg, 1, 65535, &p) < 0)
		BAD("invalid --gdb '%s': give a TCP port from 1 to 65535, optionally after an IPv4 address and ':'", arg);
	*port = p;
	return 0;
}

/* --expect / --fail-on: POSIX extended regular expressions, checked here. */
static int add_pattern(struct kvm_config *cfg, bool expect, const char *arg,
		       char *err, size_t errlen)
{
	const char *name = expect ? "--expect" : "--fail-on";
	int *nr = expect ? &cfg->nr_expect : &cfg->nr_fail_on;
	const char **list = expect ? cfg->expect : cfg->fail_on;
	char why[128];
	regex_t re;
	int ret;

	if (*nr == LKVM_MAX_PATTERNS)
		BAD("too many %s patterns (at most %d)", name, LKVM_MAX_PATTERNS);
	ret = regcomp(&re, arg, REG_EXTENDED | REG_NOSUB);
	if (ret) {
		regerror(ret, &re, why, sizeof(why));
		BAD("invalid %s '%s': %s", name, arg, why);
	}
	regfree(&re);
	list[(*nr)++] = arg;
	return 0;
}

static int apply_option(struct kvm_config *cfg, int val, const char *arg,
			char *err, size_t errlen)
{
	static const char *const consoles[] = { "serial", "virtio" };
	static const char *const irqchips[] = { "auto", "gicv2", "gicv3" };
	static const char *const transports[] = { "mmio", "pci" };
	struct disk_spec disk;
	struct p9_spec p9;
	struct net_spec nic;
	unsigned int cid;
	int i;

	switch (val) {
	case 'k': cfg->kernel_path = arg; break;
	case 'i': cfg->initrd_path = arg; break;
	case 'p': cfg->params = arg; break;
	case OPT_NAME:
		if (ctl_name_check(arg, err, errlen) < 0)
			return -1;
		cfg->name = arg;
		cfg->name_set = true;
		break;
	case OPT_DUMP_DTB: cfg->dump_dtb = arg; break;
	case OPT_HUGETLBFS: cfg->hugetlbfs = arg; break;
	case OPT_DEBUG: cfg->debug = true; break;
	case OPT_REBOOT: cfg->reboot = true; break;
	case OPT_RNG: cfg->rng = true; break;
	case OPT_BALLOON: cfg->balloon = true; break;
	case OPT_VSOCK:
		if (parse_uint(arg, VSOCK_CID_MIN, VSOCK_CID_MAX, &cid) < 0)
			BAD("invalid --vsock '%s': give a guest CID from %u to %u (0-2 are the hypervisor's, loopback and the host's, %u is any)",
			    arg, VSOCK_CID_MIN, VSOCK_CID_MAX, VSOCK_CID_MAX + 1);
		cfg->vsock_cid = cid;
		break;
	case OPT_GDB:
		if (gdb_listen_parse(arg, &cfg->gdb_addr, &cfg->gdb_port, err,
				     errlen) < 0)
			return -1;
		break;
	case OPT_GDB_WAIT: cfg->gdb_wait = true; break;
	case OPT_NO_SECCOMP: cfg->no_seccomp = true; break;
	case OPT_AARCH32: cfg->aarch32 = true; break;
	case OPT_MODULES: cfg->modules_dir = arg; break;
	case OPT_CONSOLE_LOG: cfg->console_log = arg; break;
	case OPT_DISABLE_SVE: cfg->no_sve = true; break;
	case OPT_DISABLE_PTRAUTH: cfg->no_ptrauth = true; break;
	case OPT_DISABLE_MTE: cfg->no_mte = true; break;
	case OPT_NO_PVTIME: cfg->no_pvtime = true; break;
	case OPT_KASLR_SEED:
		if (parse_u64(arg, &cfg->kaslr_seed) < 0)
			BAD("invalid --kaslr-seed '%s': give a number from 0 to 2^64-1 (decimal, or hex with 0x)", arg);
		break;
	case OPT_PMU: cfg->pmu = true; break;
	case OPT_SVE_MAX_VL:
		if (parse_uint(arg, SVE_VL_MIN_BITS, SVE_VL_MAX_BITS,
			       &cfg->sve_max_vl) < 0 || cfg->sve_max_vl % 128)
			BAD("invalid --sve-max-vl '%s': give a vector length in bits, a multiple of 128 from %d to %d",
			    arg, SVE_VL_MIN_BITS, SVE_VL_MAX_BITS);
		break;
	case OPT_VCPU_AFFINITY:
		if (cpulist_parse("--vcpu-affinity", arg,
				  &cfg->vcpu_affinity, err, errlen) < 0)
			return -1;
		break;
	case 'd':
		if (cfg->nr_disks == LKVM_MAX_DISKS)
			BAD("too many disks (at most %d)", LKVM_MAX_DISKS);
		if (disk_spec_parse(arg, &disk, err, errlen) < 0)
			return -1;
		cfg->disks[cfg->nr_disks++] = arg;
		break;
	case 'n':
		if (cfg->nr_nics == LKVM_MAX_NICS)
			BAD("too many NICs (at most %d)", LKVM_MAX_NICS);
		if (net_parse_spec(arg, &nic, err, errlen) < 0)
			return -1;
		cfg->nics[cfg->nr_nics++] = arg;
		break;
	case OPT_9P:
		if (cfg->nr_p9 == LKVM_MAX_9P)
			BAD("too many --9p shares (at most %d)", LKVM_MAX_9P);
		if (p9_spec_parse(arg, &p9, err, errlen) < 0)
			return -1;
		cfg->p9[cfg->nr_p9++] = arg;
		break;
	case OPT_TIMEOUT:
		if (parse_uint(arg, 1, 1000000, &cfg->timeout) < 0)
			BAD("invalid --timeout '%s': give a number of seconds", arg);
		break;
	case OPT_EXPECT:
	case OPT_FAIL_ON:
		return add_pattern(cfg, val == OPT_EXPECT, arg, err, errlen);
	case 'm':
		if (parse_mem_size(arg, &cfg->ram_size) < 0 ||
		    cfg->ram_size < LKVM_MIN_RAM_BYTES)
			BAD("invalid --mem '%s': give a size in MiB of at least %llu, e.g. 512 or 2G",
			    arg, LKVM_MIN_RAM_BYTES >> 20);
		break;
	case 'c':
		if (parse_cpus(arg, &cfg->nr_cpus) < 0)
			BAD("invalid --cpus '%s': must be a number from 1 to %d",
			    arg, LKVM_MAX_CPUS_OPT);
		break;
	case OPT_CONSOLE:
		if ((i = parse_choice(arg, consoles, 2)) < 0)
			BAD("invalid --console '%s': must be serial or virtio", arg);
		cfg->console = i;
		break;
	case OPT_IRQCHIP:
		if ((i = parse_choice(arg, irqchips, 3)) < 0)
			BAD("invalid --irqchip '%s': must be auto, gicv2 or gicv3", arg);
		cfg->irqchip = i;
		break;
	case OPT_TRANSPORT:
		if ((i = parse_choice(arg, transports, 2)) < 0)
			BAD("invalid --virtio-transport '%s': must be mmio or pci", arg);
		cfg->transport = i;
		break;
	default:
		BAD("internal error: unhandled option %d", val);
	}
	return 0;
}

enum parse_result run_parse_options(int argc, char **argv,
				    struct kvm_config *cfg,
				    char *err, size_t errlen)
{
	return run_parse_options_cmd(argc, argv, cfg, NULL, err, errlen);
}

enum parse_result run_parse_options_cmd(int argc, char **argv,
					struct kvm_config *cfg, int *cmd,
					char *err, size_t errlen)
{
	struct option longopts[ARRAY_SIZE(run_options) + 1];
	char shortopts[2 * ARRAY_SIZE(run_options) + 3];
	int c;

	/* +: stop at the first non-option (a command after "--") */
	cmd_getopt_tables(run_options, ARRAY_SIZE(run_options), "+:", longopts,
			  shortopts);
	optind = 0;	/* full re-initialisation in glibc */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h')
			return PARSE_HELP;
		if (c == '?') {
			if (optopt)
				BAD("unknown option '-%c'", optopt);
			BAD("unknown option '%s'", argv[optind - 1]);
		}
		if (c == ':') {
			if (optopt && optopt < 256)
				BAD("option '-%c' (--%s) needs a value", optopt,
				    option_name(optopt));
			BAD("option '%s' needs a value", argv[optind - 1]);
		}
		if (apply_option(cfg, c, optarg, err, errlen) < 0)
			return PARSE_ERROR;
	}
	if (cmd)
		*cmd = optind;
	else if (optind < argc)
		BAD("unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel_path && !cmd)
		BAD("no kernel given: use -k/--kernel FILE");
	if (cfg->no_sve && cfg->sve_max_vl)
		BAD("--sve-max-vl and --disable-sve: give one of them");
	if (cfg->irqchip == IRQCHIP_GICV2 && cfg->nr_cpus > LKVM_MAX_CPUS_GICV2)
		BAD("--irqchip gicv2 supports at most %d vCPUs, %d requested",
		    LKVM_MAX_CPUS_GICV2, cfg->nr_cpus);
	if (cfg->gdb_wait && !cfg->gdb_port)
		BAD("--gdb-wait needs --gdb PORT");
	if (cfg->gdb_port && cfg->aarch32)
		BAD("--gdb serves AArch64 guests only, not --aarch32 ones");
	lkvm_debug = cfg->debug;
	return PARSE_OK;
}
