// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm stop --name NAME | --all: the guest stops as if it powered off
 * (kvm/stop.c): `lkvm run` tears everything down, removes its control
 * socket and exits 0.
 */
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"

void cmd_stop_help(void)
{
	cmd_help_print(stdout, "stop",
		       "Stop the guest NAME (or every guest of yours): its 'lkvm run' exits 0\n"
		       "and cleans up as after a poweroff.",
		       "0 stopped, 1 no such guest or it failed (one line says\n"
		       "why), 2 bad command line");
}

int cmd_stop(int argc, char **argv)
{
	return ctl_client_command(argc, argv, "stop", CTL_OPT_ALL, cmd_stop_help);
}
