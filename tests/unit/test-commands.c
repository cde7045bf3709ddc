// SPDX-License-Identifier: GPL-2.0
/*
 * The command table (commands.c): every command lkvm has is documented,
 * `lkvm help` and `lkvm help CMD` show each command and option, the
 * options are well-formed, and the parsers take exactly the options the
 * tables document (their getopt tables come from them).
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/commands.h"
#include "lkvm/control.h"
#include "lkvm/options.h"
#include "lkvm/util.h"

/* What @fn prints for @name (malloc'ed). */
static char *printed(void (*fn)(FILE *out, const char *name), const char *name)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fn(f, name);
	fclose(f);
	return text;
}

static void usage_of(FILE *out, const char *name)
{
	lkvm_usage(out);
}

static void help_of(FILE *out, const char *name)
{
	cmd_help_print(out, name, NULL, NULL);
}

/* kvmtool's command names, and ours: each in the table, once. */
static void test_every_command(void **state)
{
	static const char *const names[] = {
		"run", "sandbox", "setup", "list", "stop", "pause", "resume",
		"stat", "balloon", "debug", "version", "help",
	};
	unsigned int i;

	assert_int_equal(ARRAY_SIZE(names), LKVM_NR_COMMANDS);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_ptr_equal(cmd_doc_find(names[i]), &lkvm_commands[i]);
	assert_null(cmd_doc_find("bogus"));
	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		assert_true(*doc->summary);
		assert_null(strchr(doc->summary, '\n'));
		assert_non_null(doc->synopsis);
	}
}

/* lkvm help: a line with each command and its summary. */
static void test_usage_lists_every_command(void **state)
{
	char *text = printed(usage_of, NULL), line[128];
	unsigned int i;

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		snprintf(line, sizeof(line), "\n  %-10s %s\n",
			 lkvm_commands[i].name, lkvm_commands[i].summary);
		assert_non_null(strstr(text, line));
	}
	free(text);
}

/* Every option has a help line; no long name or letter twice in a command. */
static void test_options_well_formed(void **state)
{
	const struct cmd_option *o, *p;
	unsigned int i, j, k;

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		for (j = 0; (o = cmd_doc_option(doc, j)); j++) {
			assert_true(*o->name && *o->help);
			assert_null(strchr(o->help, '\n'));
			assert_true(o->val > ' ');
			for (k = 0; k < j; k++) {
				p = cmd_doc_option(doc, k);
				assert_string_not_equal(p->name, o->name);
				assert_int_not_equal(p->val, o->val);
			}
		}
		/* every command that takes options takes --help */
		if (!j)
			continue;
		for (k = 0; k < j; k++)
			if (!strcmp(cmd_doc_option(doc, k)->name, "help"))
				break;
		assert_true(k < j);
	}
}

/* Every --NAME a synopsis shows is in the command's table. */
static void synopsis_in_table(const struct cmd_doc *doc)
{
	const char *p = doc->synopsis;
	unsigned int j;
	size_t len;

	while ((p = strstr(p, "--"))) {
		p += 2;
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (!len)	/* "[--] CMD" */
			continue;
		for (j = 0; j < doc->nr_opts; j++)
			if (strlen(doc->opts[j].name) == len &&
			    !strncmp(doc->opts[j].name, p, len))
				break;
		if (j == doc->nr_opts)
			fail_msg("lkvm %s: --%.*s is in the synopsis, not in the table",
				 doc->name, (int)len, p);
	}
}

/*
 * lkvm help CMD: the usage line, then every option; the synopsis names
 * each option but --help, and no other.
 */
static void test_help_shows_every_option(void **state)
{
	const struct cmd_option *o;
	unsigned int i, j;
	char want[128];

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];
		char *text = printed(help_of, doc->name);

		snprintf(want, sizeof(want), "usage: lkvm %s%s%s\n\n", doc->name,
			 *doc->synopsis ? " " : "", doc->synopsis);
		assert_memory_equal(text, want, strlen(want));
		for (j = 0; j < doc->nr_opts; j++) {
			o = &doc->opts[j];
			if (o->val < 256)
				snprintf(want, sizeof(want), "  -%c, --%s ", o->val,
					 o->name);
			else
				snprintf(want, sizeof(want), "      --%s ", o->name);
			assert_non_null(strstr(text, want));
			snprintf(want, sizeof(want), "--%s", o->name);
			if (!doc->run_opts && strcmp(o->name, "help"))
				assert_non_null(strstr(doc->synopsis, want));
		}
		free(text);
		synopsis_in_table(doc);
	}
}

/* Each option of each table parses through the getopt tables made from it. */
static void test_getopt_from_table(void **state)
{
	struct cmd_getopt g;
	unsigned int i, j;
	char arg[64];

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		if (doc->run_opts) {
			assert_int_equal(cmd_getopt_init(&g, doc->name), -1);
			continue;
		}
		assert_true(doc->nr_opts <= CMD_MAX_OPTS);
		for (j = 0; j < doc->nr_opts; j++) {
			const struct cmd_option *o = &doc->opts[j];
			char *argv[] = { (char *)doc->name, arg, "x", NULL };

			snprintf(arg, sizeof(arg), "--%s", o->name);
			assert_int_equal(cmd_getopt_init(&g, doc->name), 0);
			assert_int_equal(getopt_long(3, argv, g.shortopts,
						     g.longopts, NULL), o->val);
			assert_int_equal(optind, o->arg ? 3 : 2);
		}
		snprintf(arg, sizeof(arg), "--bogus");
		{
			char *argv[] = { (char *)doc->name, arg, NULL };

			assert_int_equal(cmd_getopt_init(&g, doc->name), 0);
			assert_int_equal(getopt_long(2, argv, g.shortopts,
						     g.longopts, NULL), '?');
		}
	}
	assert_int_equal(cmd_getopt_init(&g, "bogus"), -1);
}

/* The instance commands' shared parser: their documented options only. */
static void test_instance_parser_takes_the_table(void **state)
{
	static const char *const cmds[] = { "stop", "pause", "resume",
					    "stat", "balloon" };
	const unsigned int allow = CTL_OPT_ALL | CTL_OPT_MEMORY | CTL_OPT_BALLOON;
	struct ctl_cmdline cl;
	unsigned int i, j;
	char err[256], arg[64];

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct cmd_doc *doc = cmd_doc_find(cmds[i]);

		for (j = 0; j < doc->nr_opts; j++) {
			char *argv[] = { (char *)cmds[i], arg, "1", NULL };

			snprintf(arg, sizeof(arg), "--%s", doc->opts[j].name);
			err[0] = '\0';
			ctl_parse_cmdline(doc->opts[j].arg ? 3 : 2, argv, allow,
					  &cl, err, sizeof(err));
			assert_null(strstr(err, "unknown option"));
		}
	}
	{
		char *argv[] = { "stop", "--memory", NULL };

		assert_int_equal(ctl_parse_cmdline(2, argv, allow, &cl, err,
						   sizeof(err)), PARSE_ERROR);
		assert_non_null(strstr(err, "unknown option"));
	}
	{
		char *argv[] = { "run", "--name", "x", NULL };

		assert_int_equal(ctl_parse_cmdline(3, argv, allow, &cl, err,
						   sizeof(err)), PARSE_ERROR);
		assert_string_equal(err, "internal error: no options for 'run'");
	}
}

/* sandbox: its own options, then run's, all of them. */
static void test_sandbox_takes_run_options(void **state)
{
	const struct cmd_doc *doc = cmd_doc_find("sandbox");
	const struct cmd_option *run;
	unsigned int nr, i;

	run = run_option_table(&nr);
	assert_true(nr > 10);
	for (i = 0; i < nr; i++)
		assert_ptr_equal(cmd_doc_option(doc, doc->nr_opts + i), &run[i]);
	assert_null(cmd_doc_option(doc, doc->nr_opts + nr));
	assert_string_equal(cmd_doc_option(doc, 0)->name, "verbose");
	assert_null(cmd_doc_option(cmd_doc_find("version"), 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_usage_lists_every_command),
		cmocka_unit_test(test_options_well_formed),
		cmocka_unit_test(test_help_shows_every_option),
		cmocka_unit_test(test_getopt_from_table),
		cmocka_unit_test(test_instance_parser_takes_the_table),
		cmocka_unit_test(test_sandbox_takes_run_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
