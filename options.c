// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm run` options, in kvmtool's spelling. One table drives both the
 * parser (getopt_long) and `lkvm help run`.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/options.h"

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
};

struct run_option {
	const char *name;
	int val;		/* short option letter or OPT_* */
	const char *arg;	/* argument name, NULL for a flag */
	const char *help;
};

static const struct run_option run_options[] = {
	{ "kernel",	'k', "FILE",	"arm64 kernel Image to boot (raw or gzip-compressed)" },
	{ "initrd",	'i', "FILE",	"initial ramdisk" },
	{ "params",	'p', "PARAMS",	"kernel command line" },
	{ "mem",	'm', "SIZE",	"guest RAM in MiB, or with a K/M/G suffix (default 256)" },
	{ "cpus",	'c', "N",	"number of vCPUs (default 1)" },
	{ "console",	OPT_CONSOLE, "serial|virtio", "the guest console the terminal is wired to (default serial)" },
	{ "name",	OPT_NAME, "NAME", "name of the guest" },
	{ "irqchip",	OPT_IRQCHIP, "auto|gicv2|gicv3", "interrupt controller (default: GICv3 if the host has it)" },
	{ "virtio-transport", OPT_TRANSPORT, "mmio|pci", "how virtio devices are attached (default mmio)" },
	{ "rng",	OPT_RNG, NULL,	"add a virtio-rng device fed by the host's getrandom()" },
	{ "hugetlbfs",	OPT_HUGETLBFS, "DIR", "back guest RAM with huge pages from this hugetlbfs mount" },
	{ "dump-dtb",	OPT_DUMP_DTB, "FILE", "write the generated device tree blob to FILE" },
	{ "reboot",	OPT_REBOOT, NULL, "restart the guest when it resets instead of exiting" },
	{ "debug",	OPT_DEBUG, NULL, "print debugging messages" },
	{ "help",	'h', NULL,	"show this help" },
};

void run_config_defaults(struct kvm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = LKVM_DEFAULT_RAM_MB_BYTES;
	cfg->nr_cpus = 1;
	cfg->name = "guest";
	cfg->console = CONSOLE_SERIAL;
	cfg->irqchip = IRQCHIP_AUTO;
	cfg->transport = VIRTIO_TRANSPORT_MMIO;
}

void run_usage(FILE *out)
{
	unsigned int i;

	fprintf(out, "usage: lkvm run [OPTIONS]\n\n");
	for (i = 0; i < ARRAY_SIZE(run_options); i++) {
		const struct run_option *o = &run_options[i];
		char left[64];

		if (o->val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val,
				 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-34s %s\n", left, o->help);
	}
	fprintf(out, "\nexit status: 0 guest powered off or Ctrl-a x, 1 error, "
		"2 bad usage,\n  3 guest reset (reboot), 4 guest crashed, "
		"128+N killed by signal N\n");
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

static int apply_option(struct kvm_config *cfg, int val, const char *arg,
			char *err, size_t errlen)
{
	static const char *const consoles[] = { "serial", "virtio" };
	static const char *const irqchips[] = { "auto", "gicv2", "gicv3" };
	static const char *const transports[] = { "mmio", "pci" };
	int i;

	switch (val) {
	case 'k': cfg->kernel_path = arg; break;
	case 'i': cfg->initrd_path = arg; break;
	case 'p': cfg->params = arg; break;
	case OPT_NAME: cfg->name = arg; break;
	case OPT_DUMP_DTB: cfg->dump_dtb = arg; break;
	case OPT_HUGETLBFS: cfg->hugetlbfs = arg; break;
	case OPT_DEBUG: cfg->debug = true; break;
	case OPT_REBOOT: cfg->reboot = true; break;
	case OPT_RNG: cfg->rng = true; break;
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

static void build_getopt_tables(struct option *longopts, char *shortopts)
{
	unsigned int i;
	char *s = shortopts;

	*s++ = '+';	/* stop at the first non-option (a command after "--") */
	*s++ = ':';	/* report a missing argument as ':' */
	for (i = 0; i < ARRAY_SIZE(run_options); i++) {
		const struct run_option *o = &run_options[i];

		longopts[i] = (struct option) {
			o->name, o->arg ? required_argument : no_argument,
			NULL, o->val,
		};
		if (o->val < 256) {
			*s++ = (char)o->val;
			if (o->arg)
				*s++ = ':';
		}
	}
	longopts[i] = (struct option) { 0 };
	*s = '\0';
}

enum parse_result run_parse_options(int argc, char **argv,
				    struct kvm_config *cfg,
				    char *err, size_t errlen)
{
	struct option longopts[ARRAY_SIZE(run_options) + 1];
	char shortopts[2 * ARRAY_SIZE(run_options) + 3];
	int c;

	build_getopt_tables(longopts, shortopts);
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
	if (optind < argc)
		BAD("unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel_path)
		BAD("no kernel given: use -k/--kernel FILE");
	if (cfg->irqchip == IRQCHIP_GICV2 && cfg->nr_cpus > LKVM_MAX_CPUS_GICV2)
		BAD("--irqchip gicv2 supports at most %d vCPUs, %d requested",
		    LKVM_MAX_CPUS_GICV2, cfg->nr_cpus);
	lkvm_debug = cfg->debug;
	return PARSE_OK;
}
