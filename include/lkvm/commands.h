/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_COMMANDS_H
#define LKVM_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "lkvm/cmdopt.h"

/* What `lkvm help` knows of a command (main.c dispatches it). */
struct cmd_doc {
	const char *name;
	const char *summary;	/* one line, in `lkvm help` */
	const char *synopsis;	/* its arguments, after "lkvm NAME " */
	const struct cmd_option *opts;
	unsigned int nr_opts;
	bool run_opts;		/* also every `lkvm run` option, after its own */
};

/* Every command main.c dispatches, in `lkvm help`'s order. */
#define LKVM_NR_COMMANDS	12
extern const struct cmd_doc lkvm_commands[LKVM_NR_COMMANDS];

const struct cmd_doc *cmd_doc_find(const char *name);
/* @doc's option @i (its own, then run's); NULL past the last. */
const struct cmd_option *cmd_doc_option(const struct cmd_doc *doc,
					unsigned int i);
/* lkvm run's options (options.c). */
const struct cmd_option *run_option_table(unsigned int *nr);

/* `lkvm help`: every command with its summary. */
void lkvm_usage(FILE *out);
/*
 * `lkvm help NAME` (all but run's and sandbox's): its usage line, @about
 * (NULL: its summary; whole lines, without the last newline), its
 * options, then "exit status: " @status (NULL: none).
 */
void cmd_help_print(FILE *out, const char *name, const char *about,
		    const char *status);

/* A command's own getopt tables (every command but run and sandbox). */
#define CMD_MAX_OPTS	8
struct cmd_getopt {
	struct option longopts[CMD_MAX_OPTS + 1];
	char shortopts[2 * CMD_MAX_OPTS + 2];
};
/*
 * Fill @g from command @name's options (prefix ":"), and set getopt to
 * parse from argv[1] quietly. 0, or -1 for a command without a table.
 */
int cmd_getopt_init(struct cmd_getopt *g, const char *name);

#endif
