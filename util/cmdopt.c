// SPDX-License-Identifier: GPL-2.0
/*
 * Option tables (struct cmd_option): the help lines they print and the
 * getopt_long tables they make, for options.c (lkvm run) and commands.c
 * (every other command) alike.
 */
#include <string.h>

#include "lkvm/cmdopt.h"

void cmd_options_usage(FILE *out, const struct cmd_option *opts,
		       unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const struct cmd_option *o = &opts[i];
		char left[64];

		if (o->val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val,
				 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-34s %s\n", left, o->help);
	}
}

void cmd_getopt_tables(const struct cmd_option *opts, unsigned int nr,
		       const char *prefix, struct option *longopts,
		       char *shortopts)
{
	unsigned int i;
	char *s = stpcpy(shortopts, prefix);

	for (i = 0; i < nr; i++) {
		const struct cmd_option *o = &opts[i];

		longopts[i] = (struct option) {
			o->name, o->arg ? required_argument : no_argument,
			NULL, o->val,
		};
		if (o->val < 256) {
			*s++ = (char)o->val;
			if (o->arg)
				*s++ = ':';
		}
	}
	longopts[i] = (struct option) { 0 };
	*s = '\0';
}
