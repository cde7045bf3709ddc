// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm resume --name NAME | --all: a paused guest continues where it
 * stopped (kvm/pause.c). Resuming a running guest says so and does
 * nothing.
 */
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"

void cmd_resume_help(void)
{
	cmd_help_print(stdout, "resume",
		       "Resume the paused guest NAME (or every guest of yours): it continues\n"
		       "where it stopped, its clock as if no time had passed. A running\n"
		       "guest is left as it is.",
		       "0 resumed (or already running), 1 no such guest or it\n"
		       "failed (one line says why), 2 bad command line");
}

int cmd_resume(int argc, char **argv)
{
	return ctl_client_command(argc, argv, "resume", CTL_OPT_ALL, cmd_resume_help);
}
