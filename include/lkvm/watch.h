/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_WATCH_H
#define LKVM_WATCH_H

#include <regex.h>
#include "lkvm/util.h"

struct kvm;
struct kvm_config;

/*
 * Watching the console for scripted boot runs: --console-log copies every
 * byte to a file, --expect patterns must all be seen in order (then lkvm
 * exits 0), a --fail-on pattern ends the run at once (exit 6). The state
 * machine is free of I/O other than the log so it is unit-testable.
 */
#define WATCH_LINE_MAX	4096
/* A line still being printed is tried on this many last bytes only. */
#define WATCH_TAIL_MAX	256

struct console_watch {
	int log_fd;			/* -1 without --console-log */
	regex_t *expect;
	const char *const *expect_src;
	int nr_expect;
	int next_expect;		/* index of the pattern awaited */
	regex_t *fail_on;
	const char *const *fail_on_src;
	int nr_fail_on;
	char line[WATCH_LINE_MAX + 1];	/* the current console line */
	size_t len;
	size_t consumed;		/* bytes of line an --expect matched */
	u64 scanned;			/* bytes given to regexec(), for tests */
	int result;			/* -1, or the exit status decided */
	char why[WATCH_LINE_MAX + 128];	/* message for the decision */
};

/* Returns 0, or -errno with a one-line reason in @err. */
int watch_init(struct console_watch *w, const struct kvm_config *cfg,
	       char *err, size_t errlen);
void watch_free(struct console_watch *w);
/* Feed console output; returns the exit status decided, or -1. */
int watch_feed(struct console_watch *w, const u8 *buf, size_t len);
/*
 * The guest stopped with @status: returns the status lkvm should exit with
 * (LKVM_EXIT_EXPECT if expectations were still pending), sets w->why.
 */
int watch_final(struct console_watch *w, int status);
bool watch_active(const struct console_watch *w);

/*
 * term/watch.c glue, one per VM (kvm->cons_out). console_output() takes
 * the VM's console output (from term_output()): it writes @buf with
 * console_write() (stdout), then to the --console-log, then feeds the
 * patterns; a decision prints its line (after the bytes, on a fresh
 * line) and stops the VM.
 */
void console_output(struct kvm *kvm, const u8 *buf, size_t len);
/* The final exit status of a run (see watch_final); frees the glue. */
int console_watch_final(struct kvm *kvm, int status);
/* Frees the glue without a verdict (a run that has its own). */
void console_watch_free(struct kvm *kvm);
/*
 * Set up from kvm->cfg (an INIT_DEV_BASE step); the exit closes the log
 * and keeps the patterns for console_watch_final().
 */
int console_watch_init(struct kvm *kvm);
void console_watch_exit(struct kvm *kvm);

#endif
