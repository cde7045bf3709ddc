// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm stat --name NAME: the guest's device counters through the device
 * registry (requests, kicks, interrupts, errors and each device's own),
 * a line per device, the lines `--debug` prints at exit. With --memory:
 * its balloon's state and the guest's memory statistics, a value a line.
 * With --all: every running guest's, each under a line "== NAME ==".
 */
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"

void cmd_stat_help(void)
{
	cmd_help_print(stdout, "stat",
		       "Print the counters of every device of the guest NAME, a line each\n"
		       "(--all: of every guest of yours, each under a line '== NAME =='):\n"
		       "  device NAME: requests=N kicks=N interrupts=N errors=N [its own...]\n\n"
		       "With --memory (a guest run with --balloon), a KEY=VALUE line each:\n"
		       "  ram, target, actual   guest RAM, the balloon's target, what the\n"
		       "                        guest's driver holds in it (bytes)\n"
		       "  released              host memory given back so far (bytes)\n"
		       "  stats                 fresh (the guest answered within 2 s), old, none\n"
		       "  free-memory=... then the guest's latest statistics by their Linux\n"
		       "  names (memory in bytes, events as counts)",
		       "0 done, 1 no such guest or it failed (one line says\n"
		       "why; --all: any of them, the others still done), 2 bad command line");
}

int cmd_stat(int argc, char **argv)
{
	return ctl_client_command(argc, argv, "stat",
				  CTL_OPT_ALL | CTL_OPT_MEMORY | CTL_OPT_HEADER,
				  cmd_stat_help);
}
