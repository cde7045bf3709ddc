/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BUILTIN_H
#define LKVM_BUILTIN_H

struct kvm;

/* Subcommands: argv[0] is the subcommand's name. */
int cmd_run(int argc, char **argv);
void cmd_run_help(void);
int cmd_sandbox(int argc, char **argv);
void cmd_sandbox_help(void);
int cmd_setup(int argc, char **argv);
void cmd_setup_help(void);
/*
 * Build the seccomp filters (unless --no-seccomp) before the VM's threads
 * start; a forbidden call exits @exit_status. 0, or -1 (said why).
 */
int run_seccomp_prepare(struct kvm *kvm, int exit_status);

#endif
