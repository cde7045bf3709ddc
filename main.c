// SPDX-License-Identifier: GPL-2.0
/* lkvm: subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "lkvm/builtin.h"
#include "lkvm/util.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	void (*help)(void);
	const char *summary;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "run",	cmd_run,	cmd_run_help,	"start a virtual machine" },
	{ "sandbox",	cmd_sandbox,	cmd_sandbox_help, "run a command in a guest on the host's files" },
	{ "setup",	cmd_setup,	cmd_setup_help,	"create a guest root folder in ~/.lkvm/NAME" },
	{ "list",	cmd_list,	cmd_list_help,	"list the running guests (or --rootfs folders)" },
	{ "stop",	cmd_stop,	cmd_stop_help,	"stop a running guest" },
	{ "pause",	cmd_pause,	cmd_pause_help,	"pause a running guest" },
	{ "resume",	cmd_resume,	cmd_resume_help, "resume a paused guest" },
	{ "stat",	cmd_stat,	cmd_stat_help,	"print a guest's device counters (--memory: its memory)" },
	{ "balloon",	cmd_balloon,	cmd_balloon_help, "inflate or deflate a guest's balloon" },
	{ "debug",	cmd_debug,	cmd_debug_help,	"dump a guest's registers, send it a SysRq" },
	{ "version",	cmd_version,	NULL,		"print the version of lkvm" },
	{ "help",	cmd_help,	NULL,		"show help: lkvm help [COMMAND]" },
};

static const struct command *find_command(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	unsigned int i;

	fprintf(out, "usage: lkvm COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'lkvm help COMMAND' shows a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
	printf("lkvm version %s\n", LKVM_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "lkvm: unknown command '%s' (see 'lkvm help')\n",
			argv[1]);
		return LKVM_EXIT_USAGE;
	}
	if (cmd->help)
		cmd->help();
	else
		printf("lkvm %s: %s\n", cmd->name, cmd->summary);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		usage(stderr);
		return LKVM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv);
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "lkvm: unknown command '%s' (see 'lkvm help')\n",
			argv[1]);
		return LKVM_EXIT_USAGE;
	}
	return cmd->fn(argc - 1, argv + 1);
}
