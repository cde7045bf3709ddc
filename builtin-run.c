// SPDX-License-Identifier: GPL-2.0
/* lkvm run: boot a guest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/builtin.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/options.h"
#include "lkvm/watch.h"

void cmd_run_help(void)
{
	run_usage(stdout);
}

int cmd_run(int argc, char **argv)
{
	char err[256];
	struct kvm *kvm;
	int status;

	kvm = kvm_new();
	if (!kvm) {
		pr_err("out of memory");
		return LKVM_EXIT_ERROR;
	}
	run_config_defaults(&kvm->cfg);
	switch (run_parse_options(argc, argv, &kvm->cfg, err, sizeof(err))) {
	case PARSE_HELP:
		run_usage(stdout);
		kvm_delete(kvm);
		return 0;
	case PARSE_ERROR:
		fprintf(stderr, "lkvm run: %s (see 'lkvm run --help')\n", err);
		kvm_delete(kvm);
		return LKVM_EXIT_USAGE;
	case PARSE_OK:
		break;
	}

	kvm->cmdline = strdup(kvm->cfg.params ? kvm->cfg.params : "");
	/* Bad input files are refused before any VM exists. */
	if (!kvm->cmdline || kvm_arch_load_files(kvm) < 0) {
		kvm_arch_free_files(kvm);
		kvm_delete(kvm);
		return LKVM_EXIT_ERROR;
	}
	status = kvm_run_vm(kvm);
	status = console_watch_final(status);
	kvm_arch_free_files(kvm);
	kvm_delete(kvm);
	return status;
}
