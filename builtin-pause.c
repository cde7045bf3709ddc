// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm pause --name NAME | --all: every vCPU of the guest leaves KVM_RUN
 * and parks, its devices take no new requests, its virtual counter
 * stops (kvm/pause.c). Pausing a paused guest says so and does nothing.
 */
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"

void cmd_pause_help(void)
{
	cmd_help_print(stdout, "pause",
		       "Pause the guest NAME (or every guest of yours): its vCPUs are parked\n"
		       "outside the guest, its devices take no new requests and its clock\n"
		       "stops until 'lkvm resume'. A paused guest is left as it is.",
		       "0 paused (or already paused), 1 no such guest or it\n"
		       "failed (one line says why), 2 bad command line");
}

int cmd_pause(int argc, char **argv)
{
	return ctl_client_command(argc, argv, "pause", CTL_OPT_ALL, cmd_pause_help);
}
