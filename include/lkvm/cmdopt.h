/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CMDOPT_H
#define LKVM_CMDOPT_H

#include <getopt.h>
#include <stdio.h>

/*
 * One option of an lkvm command, in kvmtool's spelling. A command's
 * table drives its parser (cmd_getopt_tables), `lkvm help CMD`, the man
 * page and the bash completion (scripts/lkvm-doc.c), so they cannot drift.
 */
struct cmd_option {
	const char *name;
	int val;		/* short option letter, or >= 256: long only */
	const char *arg;	/* argument name, NULL for a flag */
	const char *help;	/* one line */
};

/* The val of commands.c's long-only options (options.c's OPT_* stay below). */
#define CMD_OPT_LONG	0x1000

/* The options' lines of `lkvm help CMD`. */
void cmd_options_usage(FILE *out, const struct cmd_option *opts,
		       unsigned int nr);
/*
 * getopt_long's tables for @nr options: @longopts holds @nr + 1
 * entries, @shortopts strlen(@prefix) + 2 * @nr + 1 characters. With
 * @prefix ":" a missing argument reads as ':'; "+:" also stops at the
 * first argument that is no option.
 */
void cmd_getopt_tables(const struct cmd_option *opts, unsigned int nr,
		       const char *prefix, struct option *longopts,
		       char *shortopts);

#endif
