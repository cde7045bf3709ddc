// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm-doc: writes what the man page and the bash completion take from
 * the commands' option tables (commands.c, options.c), at build time and
 * natively (lkvm itself may be an arm64 binary), so that neither can
 * drift from `lkvm help`:
 *
 *   lkvm-doc man  <docs/lkvm.1.in           >lkvm.1
 *   lkvm-doc bash <completion/lkvm.bash.in  >lkvm.bash
 *   lkvm-doc list                            (for tests/docs.sh)
 *
 * man and bash copy the hand-written template and put the tables where
 * a line holds only a marker (".\" @COMMANDS@", ".\" @OPTIONS@",
 * "# @TABLES@"); list prints "CMD" and "CMD\t--LONG\t-S\tARG" lines
 * (- for no short option or argument), a command's own options each.
 */
#include <stdio.h>
#include <string.h>

#include "lkvm/commands.h"
#include "lkvm/util.h"

/* Text in roff: no request at a line's start, \ and - escaped. */
static void roff_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

/* A command's own options (run: its table), or NULL past the last. */
static const struct cmd_option *own_option(const struct cmd_doc *doc,
					   unsigned int i)
{
	unsigned int nr;
	const struct cmd_option *run;

	if (strcmp(doc->name, "run"))
		return i < doc->nr_opts ? &doc->opts[i] : NULL;
	run = run_option_table(&nr);
	return i < nr ? &run[i] : NULL;
}

static void man_option(FILE *out, const struct cmd_option *o)
{
	fputs(".TP\n", out);
	if (o->val < 256)
		fprintf(out, "\\fB\\-%c\\fR, ", o->val);
	fprintf(out, "\\fB\\-\\-");
	roff_text(out, o->name);
	fputs("\\fR", out);
	if (o->arg) {
		fputs(" \\fI", out);
		roff_text(out, o->arg);
		fputs("\\fR", out);
	}
	fputc('\n', out);
	roff_text(out, o->help);
	fputc('\n', out);
}

static void man_commands(FILE *out)
{
	unsigned int i;

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		fprintf(out, ".TP\n\\fBlkvm %s\\fR ", doc->name);
		roff_text(out, doc->synopsis);
		fputc('\n', out);
		roff_text(out, doc->summary);
		fputc('\n', out);
	}
}

static void man_options(FILE *out)
{
	const struct cmd_option *o;
	unsigned int i, j;

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		if (!own_option(doc, 0))
			continue;
		fprintf(out, ".SS \"lkvm %s\"\n", doc->name);
		if (doc->run_opts && strcmp(doc->name, "run"))
			fputs("Every option of \\fBlkvm run\\fR, and:\n", out);
		for (j = 0; (o = own_option(doc, j)); j++)
			man_option(out, o);
	}
}

/* _lkvm_options CMD: every option CMD takes, long and short. */
static void bash_options(FILE *out)
{
	const struct cmd_option *o;
	unsigned int i, j;

	fputs("_lkvm_options()\n{\n\tcase $1 in\n", out);
	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		if (!cmd_doc_option(doc, 0))
			continue;
		fprintf(out, "\t%s) echo \"", doc->name);
		for (j = 0; (o = cmd_doc_option(doc, j)); j++) {
			fprintf(out, "%s--%s", j ? " " : "", o->name);
			if (o->val < 256)
				fprintf(out, " -%c", o->val);
		}
		fputs("\" ;;\n", out);
	}
	fputs("\tesac\n}\n", out);
}

/* _lkvm_optarg CMD OPTION: the name of OPTION's argument, none for a flag. */
static void bash_optargs(FILE *out)
{
	const struct cmd_option *o;
	unsigned int i, j;

	fputs("_lkvm_optarg()\n{\n\tcase \"$1 $2\" in\n", out);
	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		for (j = 0; (o = cmd_doc_option(doc, j)); j++) {
			if (!o->arg)
				continue;
			fprintf(out, "\t\"%s --%s\"", doc->name, o->name);
			if (o->val < 256)
				fprintf(out, " | \"%s -%c\"", doc->name, o->val);
			fprintf(out, ") echo '%s' ;;\n", o->arg);
		}
	}
	fputs("\tesac\n}\n", out);
}

static void bash_tables(FILE *out)
{
	unsigned int i;

	fputs("_lkvm_commands=\"", out);
	for (i = 0; i < LKVM_NR_COMMANDS; i++)
		fprintf(out, "%s%s", i ? " " : "", lkvm_commands[i].name);
	fputs("\"\n", out);
	bash_options(out);
	bash_optargs(out);
}

static void list(FILE *out)
{
	const struct cmd_option *o;
	unsigned int i, j;

	for (i = 0; i < LKVM_NR_COMMANDS; i++) {
		const struct cmd_doc *doc = &lkvm_commands[i];

		fprintf(out, "%s\n", doc->name);
		for (j = 0; (o = own_option(doc, j)); j++) {
			fprintf(out, "%s\t--%s\t", doc->name, o->name);
			if (o->val < 256)
				fprintf(out, "-%c", o->val);
			else
				fputc('-', out);
			fprintf(out, "\t%s\n", o->arg ? o->arg : "-");
		}
	}
}

struct marker {
	const char *line;
	void (*fn)(FILE *out);
};

/* Copy stdin to stdout, each marker line replaced by what its fn writes. */
static int fill_template(const struct marker *m, unsigned int nr)
{
	char line[4096];
	unsigned int i, seen = 0;

	while (fgets(line, sizeof(line), stdin)) {
		for (i = 0; i < nr; i++)
			if (!strcmp(line, m[i].line))
				break;
		if (i == nr) {
			fputs(line, stdout);
			continue;
		}
		m[i].fn(stdout);
		seen++;
	}
	if (seen != nr) {
		fprintf(stderr, "lkvm-doc: the template has %u of %u markers\n",
			seen, nr);
		return 1;
	}
	return ferror(stdin) || fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct marker man[] = {
		{ ".\\\" @COMMANDS@\n", man_commands },
		{ ".\\\" @OPTIONS@\n", man_options },
	};
	static const struct marker bash[] = {
		{ "# @TABLES@\n", bash_tables },
	};

	if (argc == 2 && !strcmp(argv[1], "man"))
		return fill_template(man, ARRAY_SIZE(man));
	if (argc == 2 && !strcmp(argv[1], "bash"))
		return fill_template(bash, ARRAY_SIZE(bash));
	if (argc == 2 && !strcmp(argv[1], "list")) {
		list(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	fprintf(stderr, "usage: lkvm-doc man|bash|list\n");
	return 2;
}
