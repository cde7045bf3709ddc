// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm balloon --name NAME --inflate SIZE | --deflate SIZE: move the
 * target of the guest's virtio-balloon (--balloon) by SIZE; its driver
 * then takes that much memory from the guest (or gives it back), and
 * lkvm returns the host memory behind it (virtio/balloon.c). The
 * control thread's handler is cmd_balloon() in kvm/control.c.
 */
#include <stdio.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/control.h"

void cmd_balloon_help(void)
{
	cmd_help_print(stdout, "balloon",
		       "Move the balloon target of the guest NAME (run with --balloon) up\n"
		       "(--inflate: the guest gives SIZE of its memory back to the host) or\n"
		       "down (--deflate: it gets it back). SIZE is in MiB, or with a K/M/G/T\n"
		       "suffix (whole 4 KiB pages); the target stays within the guest's RAM\n"
		       "(a reply line says when it was clamped). The guest's driver follows on\n"
		       "its own: 'lkvm stat --name NAME --memory' shows where it is.",
		       "0 done, 1 no such guest, no balloon or it failed (one\n"
		       "line says why), 2 bad command line");
}

int cmd_balloon(int argc, char **argv)
{
	return ctl_client_command(argc, argv, "balloon", CTL_OPT_BALLOON,
				  cmd_balloon_help);
}
