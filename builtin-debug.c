// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm debug --name NAME | --all, --dump | --sysrq KEY | --nmi VCPU
 * (kvmtool's spellings: -a, -d, -s, -m): one "debug" request to the
 * guest's control socket (kvm/control.c serves it); with --all to every
 * running guest's, each one's output under a line "== NAME ==". A dump comes back in parts, one per vCPU
 * (lkvm/control.h), each printed as it arrives, so that no number of
 * vCPUs or vector length meets the reply limit; the format is the
 * README's "Register dump format".
 */
#include <getopt.h>
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"
#include "lkvm/options.h"

void cmd_debug_help(void)
{
	cmd_help_print(stdout, "debug",
		       "--all does it for every guest of yours, each one's output under\n"
		       "a line '== NAME =='. --dump prints every vCPU's registers (x0-x30,\n"
		       "PC, PSTATE, system registers, V0-V31, FPSR/FPCR, SVE Z/P/FFR;\n"
		       "AArch32's), the code at PC and the frame-pointer chain, on this side\n"
		       "(format: README, 'Register dump format'); the vCPUs pause for it, a\n"
		       "paused guest stays paused. --sysrq sends a break then KEY on the\n"
		       "guest's serial console (the guest needs kernel.sysrq; h: help);\n"
		       "refused with --console virtio (hvc has no break). --nmi is refused:\n"
		       "arm64 KVM has no NMI to inject (pseudo-NMI is the guest's own GICv3\n"
		       "priority masking).",
		       "0 done, 1 no such guest or it failed (one line says\n"
		       "why; --all: any of them, the others still done), 2 bad command line");
}

struct debug_args {
	const char *name;
	bool all;
	const char *argv[2];
	unsigned int argc;
};

static int set_action(struct debug_args *a, const char *opt, const char *arg,
		      char *err, size_t errlen)
{
	if (a->argc) {
		snprintf(err, errlen, "give one of --dump, --sysrq KEY, --nmi VCPU");
		return PARSE_ERROR;
	}
	a->argv[a->argc++] = opt;
	if (arg)
		a->argv[a->argc++] = arg;
	return PARSE_OK;
}

static int parse_args(int argc, char **argv, struct debug_args *a, char *err,
		      size_t errlen)
{
	struct cmd_getopt g;
	int c, ret = PARSE_OK;

	/* the options `lkvm help debug` shows (commands.c) */
	if (cmd_getopt_init(&g, "debug") < 0) {
		snprintf(err, errlen, "internal error: no options for debug");
		return PARSE_ERROR;
	}
	while (ret == PARSE_OK &&
	       (c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		if (c == 'h')
			return PARSE_HELP;
		if (c == 'n')
			a->name = optarg;
		else if (c == 'a')
			a->all = true;
		else if (c == 'd')
			ret = set_action(a, "--dump", NULL, err, errlen);
		else if (c == 's')
			ret = set_action(a, "--sysrq", optarg, err, errlen);
		else if (c == 'm')
			ret = set_action(a, "--nmi", optarg, err, errlen);
		else {
			snprintf(err, errlen, "unknown option or missing argument '%s'",
				 argv[optind - 1]);
			return PARSE_ERROR;
		}
	}
	if (ret != PARSE_OK)
		return ret;
	if (optind < argc)
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
	else if (!a->name == !a->all)
		snprintf(err, errlen, "give --name NAME or --all");
	else if (!a->argc)
		snprintf(err, errlen, "give --dump, --sysrq KEY or --nmi VCPU");
	else
		return a->name && ctl_name_check(a->name, err, errlen) ?
			PARSE_ERROR : PARSE_OK;
	return PARSE_ERROR;
}

int cmd_debug(int argc, char **argv)
{
	struct debug_args a = { 0 };
	char err[512];

	switch (parse_args(argc, argv, &a, err, sizeof(err))) {
	case PARSE_HELP:
		cmd_debug_help();
		return 0;
	case PARSE_ERROR:
		fprintf(stderr, "lkvm debug: %s (see 'lkvm help debug')\n", err);
		return LKVM_EXIT_USAGE;
	}
	if (a.name)
		return ctl_client_call("debug", a.name, "debug", a.argv, a.argc, 0);
	return ctl_client_all("debug", "debug", a.argv, a.argc, CTL_CALL_HEADER);
}
