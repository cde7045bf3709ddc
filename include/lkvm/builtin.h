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
/* The instance commands, over the control socket (lkvm/control.h). */
int cmd_list(int argc, char **argv);
void cmd_list_help(void);
int cmd_stop(int argc, char **argv);
void cmd_stop_help(void);
int cmd_pause(int argc, char **argv);
void cmd_pause_help(void);
int cmd_resume(int argc, char **argv);
void cmd_resume_help(void);
int cmd_stat(int argc, char **argv);
void cmd_stat_help(void);
int cmd_balloon(int argc, char **argv);
void cmd_balloon_help(void);
int cmd_debug(int argc, char **argv);
void cmd_debug_help(void);
/*
 * Build the seccomp filters (unless --no-seccomp) before the VM's threads
 * start; a forbidden call exits @exit_status. 0, or -1 (said why).
 */
int run_seccomp_prepare(struct kvm *kvm, int exit_status);

#endif
