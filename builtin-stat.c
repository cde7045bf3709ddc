// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm stat --name NAME: the guest's device counters through the device
 * registry (requests, kicks, interrupts, errors and each device's own),
 * a line per device, the lines `--debug` prints at exit.
 */
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/control.h"

void cmd_stat_help(void)
{
	printf("usage: lkvm stat -n|--name NAME\n\n"
	       "Print the counters of every device of the guest NAME, a line each:\n"
	       "  device NAME: requests=N kicks=N interrupts=N errors=N [its own...]\n\n"
	       "exit status: 0 done, 1 no such guest or it failed (one line says\n"
	       "why), 2 bad command line\n");
}

int cmd_stat(int argc, char **argv)
{
	return ctl_client_command(argc, argv, "stat", false, cmd_stat_help);
}
