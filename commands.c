// SPDX-License-Identifier: GPL-2.0
/*
 * What lkvm's commands are and which options each takes: one table,
 * read by `lkvm help` (main.c), by the commands' parsers (their getopt
 * tables come from it, so an option cannot be parsed and not
 * documented), and by scripts/lkvm-doc.c, which writes the man page's
 * option lists and the bash completion from it at build time. `lkvm
 * run`'s table is options.c's; sandbox takes it after its own. Needs no
 * KVM: the unit tests and the native doc generator link it. The tables'
 * help lines and getopt tables: util/cmdopt.c.
 */
#include <string.h>

#include "lkvm/commands.h"
#include "lkvm/util.h"

#define HELP_OPT	{ "help", 'h', NULL, "show this help" }
#define NAME_OPT	{ "name", 'n', "NAME", "the guest, by the name of its socket ~/.lkvm/NAME.sock" }
#define ALL_OPT		{ "all", 'a', NULL, "every running guest of yours" }

/* builtin-sandbox.c takes it out before run's parser sees the rest */
static const struct cmd_option sandbox_opts[] = {
	{ "verbose", CMD_OPT_LONG, NULL, "show the kernel's messages (before the command)" },
};

static const struct cmd_option setup_opts[] = {
	HELP_OPT,
};

static const struct cmd_option list_opts[] = {
	{ "run", 'i', NULL, "the running guests (the default)" },
	{ "rootfs", 'r', NULL, "the guest root folders 'lkvm setup' made instead" },
	HELP_OPT,
};

/* stop, pause, resume */
static const struct cmd_option target_opts[] = {
	NAME_OPT,
	ALL_OPT,
	HELP_OPT,
};

static const struct cmd_option stat_opts[] = {
	NAME_OPT,
	ALL_OPT,
	{ "memory", 'm', NULL, "the balloon's state and the guest's memory statistics instead" },
	HELP_OPT,
};

static const struct cmd_option balloon_opts[] = {
	NAME_OPT,
	{ "inflate", 'i', "SIZE", "take SIZE (MiB, or with K/M/G/T) more of the guest's memory back" },
	{ "deflate", 'd', "SIZE", "give SIZE of it back to the guest" },
	HELP_OPT,
};

static const struct cmd_option debug_opts[] = {
	NAME_OPT,
	ALL_OPT,
	{ "dump", 'd', NULL, "every vCPU's registers, the code at PC and the frame-pointer chain" },
	{ "sysrq", 's', "KEY", "a magic SysRq KEY on the guest's serial console" },
	{ "nmi", 'm', "VCPU", "refused: arm64 KVM has no NMI to inject" },
	HELP_OPT,
};

#define OPTS(a)		.opts = a, .nr_opts = ARRAY_SIZE(a)

const struct cmd_doc lkvm_commands[LKVM_NR_COMMANDS] = {
	{ "run", "start a virtual machine", "[OPTIONS]", .run_opts = true },
	{ "sandbox", "run a command in a guest on the host's files",
	  "[OPTIONS] [--] CMD [ARGS...]", OPTS(sandbox_opts), .run_opts = true },
	{ "setup", "create a guest root folder in ~/.lkvm/NAME", "NAME",
	  OPTS(setup_opts) },
	{ "list", "list the running guests (or --rootfs folders)",
	  "[-i|--run] [-r|--rootfs]", OPTS(list_opts) },
	{ "stop", "stop a running guest", "-n|--name NAME | -a|--all",
	  OPTS(target_opts) },
	{ "pause", "pause a running guest", "-n|--name NAME | -a|--all",
	  OPTS(target_opts) },
	{ "resume", "resume a paused guest", "-n|--name NAME | -a|--all",
	  OPTS(target_opts) },
	{ "stat", "print a guest's device counters (--memory: its memory)",
	  "-n|--name NAME | -a|--all [-m|--memory]", OPTS(stat_opts) },
	{ "balloon", "inflate or deflate a guest's balloon",
	  "-n|--name NAME -i|--inflate SIZE | -d|--deflate SIZE",
	  OPTS(balloon_opts) },
	{ "debug", "dump a guest's registers, send it a SysRq",
	  "-n|--name NAME | -a|--all (-d|--dump | -s|--sysrq KEY | -m|--nmi VCPU)",
	  OPTS(debug_opts) },
	{ "version", "print the version of lkvm", "" },
	{ "help", "show help: lkvm help [COMMAND]", "[COMMAND]" },
};

const struct cmd_doc *cmd_doc_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < LKVM_NR_COMMANDS; i++)
		if (!strcmp(lkvm_commands[i].name, name))
			return &lkvm_commands[i];
	return NULL;
}

const struct cmd_option *cmd_doc_option(const struct cmd_doc *doc,
					unsigned int i)
{
	const struct cmd_option *run;
	unsigned int nr_run = 0;

	if (i < doc->nr_opts)
		return &doc->opts[i];
	if (!doc->run_opts)
		return NULL;
	run = run_option_table(&nr_run);
	i -= doc->nr_opts;
	return i < nr_run ? &run[i] : NULL;
}

void lkvm_usage(FILE *out)
{
	unsigned int i;

	fprintf(out, "usage: lkvm COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < LKVM_NR_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", lkvm_commands[i].name,
			lkvm_commands[i].summary);
	fprintf(out, "\n'lkvm help COMMAND' shows a command's options.\n");
}

void cmd_help_print(FILE *out, const char *name, const char *about,
		    const char *status)
{
	const struct cmd_doc *doc = cmd_doc_find(name);

	if (!doc)
		return;
	fprintf(out, "usage: lkvm %s%s%s\n\n%s\n", doc->name,
		*doc->synopsis ? " " : "", doc->synopsis,
		about ? about : doc->summary);
	if (doc->nr_opts) {
		fprintf(out, "\noptions:\n");
		cmd_options_usage(out, doc->opts, doc->nr_opts);
	}
	if (status)
		fprintf(out, "\nexit status: %s\n", status);
}

int cmd_getopt_init(struct cmd_getopt *g, const char *name)
{
	const struct cmd_doc *doc = cmd_doc_find(name);

	if (!doc || doc->run_opts || doc->nr_opts > CMD_MAX_OPTS)
		return -1;
	cmd_getopt_tables(doc->opts, doc->nr_opts, ":", g->longopts,
			  g->shortopts);
	optind = 1;
	opterr = 0;
	return 0;
}
