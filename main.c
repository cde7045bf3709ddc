// SPDX-License-Identifier: GPL-2.0
/* lkvm: subcommand dispatch. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "lkvm/builtin.h"
#include "lkvm/commands.h"
#include "lkvm/util.h"

/* What each command runs; its summary and options: lkvm_commands[]. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	void (*help)(void);	/* NULL: its usage line and options */
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "run",	cmd_run,	cmd_run_help },
	{ "sandbox",	cmd_sandbox,	cmd_sandbox_help },
	{ "setup",	cmd_setup,	cmd_setup_help },
	{ "list",	cmd_list,	cmd_list_help },
	{ "stop",	cmd_stop,	cmd_stop_help },
	{ "pause",	cmd_pause,	cmd_pause_help },
	{ "resume",	cmd_resume,	cmd_resume_help },
	{ "stat",	cmd_stat,	cmd_stat_help },
	{ "balloon",	cmd_balloon,	cmd_balloon_help },
	{ "debug",	cmd_debug,	cmd_debug_help },
	{ "version",	cmd_version,	NULL },
	{ "help",	cmd_help,	NULL },
};
/* a command without an lkvm_commands[] entry has no help, no man page */
_Static_assert(ARRAY_SIZE(commands) == LKVM_NR_COMMANDS,
	       "commands[] and lkvm_commands[] (commands.c) differ");

static const struct command *find_command(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
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
		lkvm_usage(stdout);
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
		cmd_help_print(stdout, cmd->name, NULL, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		lkvm_usage(stderr);
		return LKVM_EXIT_USAGE;
	}
	/*
	 * One name for ps, pidof and the threads' reports, also when this
	 * is lkvm-slirp, which lkvm runs for -n mode=user (net/slirp-exec.c)
	 */
	prctl(PR_SET_NAME, "lkvm");
	/*
	 * No thread yet: every one lkvm starts shares one malloc arena and
	 * gets the small stack.
	 */
	malloc_one_arena();
	if (thread_stack_default() < 0)
		pr_warn("cannot set the threads' stack size: glibc's default is used");
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
