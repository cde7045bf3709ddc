// SPDX-License-Identifier: GPL-2.0
/*
 * Scripted boot runs: --console-log, --expect and --fail-on. The console
 * is split into lines (CR dropped, split every WATCH_LINE_MAX bytes) as
 * it streams; --expect patterns are also tried on the line so far, so a
 * prompt without a newline counts. That try is on the line's last
 * WATCH_TAIL_MAX bytes only: a long line printed a byte at a time (the
 * UART) costs its length times that bound, not its length squared; the
 * whole line is still tried when it ends.
 *
 * The console output of the VM goes through console_output() alone: to
 * stdout, to the log, then to the patterns, under one lock, so that the
 * line lkvm prints for a decision follows the bytes that led to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/watch.h"

static int compile_all(regex_t **out, const char *const *src, int n,
		       int flags, char *err, size_t errlen)
{
	regex_t *re;
	int i, ret;

	*out = NULL;
	if (!n)
		return 0;
	re = calloc(n, sizeof(*re));
	if (!re)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ret = regcomp(&re[i], src[i], REG_EXTENDED | flags);
		if (ret) {
			char why[128];

			regerror(ret, &re[i], why, sizeof(why));
			snprintf(err, errlen, "invalid pattern '%s': %s", src[i], why);
			while (i--)
				regfree(&re[i]);
			free(re);
			return -EINVAL;
		}
	}
	*out = re;
	return 0;
}

int watch_init(struct console_watch *w, const struct kvm_config *cfg,
	       char *err, size_t errlen)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->log_fd = -1;
	w->result = -1;
	w->expect_src = cfg->expect;
	w->nr_expect = cfg->nr_expect;
	w->fail_on_src = cfg->fail_on;
	w->nr_fail_on = cfg->nr_fail_on;
	ret = compile_all(&w->expect, cfg->expect, cfg->nr_expect, 0,
			  err, errlen);
	if (!ret)
		ret = compile_all(&w->fail_on, cfg->fail_on, cfg->nr_fail_on,
				  REG_NOSUB, err, errlen);
	if (!ret && cfg->console_log) {
		w->log_fd = open(cfg->console_log,
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (w->log_fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "--console-log '%s': %s",
				 cfg->console_log, strerror(errno));
		}
	}
	if (ret)
		watch_free(w);
	return ret;
}

void watch_free(struct console_watch *w)
{
	int i;

	for (i = 0; w->expect && i < w->nr_expect; i++)
		regfree(&w->expect[i]);
	for (i = 0; w->fail_on && i < w->nr_fail_on; i++)
		regfree(&w->fail_on[i]);
	free(w->expect);
	free(w->fail_on);
	w->expect = w->fail_on = NULL;
	if (w->log_fd >= 0)
		close(w->log_fd);
	w->log_fd = -1;
}

bool watch_active(const struct console_watch *w)
{
	return w->log_fd >= 0 || w->nr_expect || w->nr_fail_on;
}

/*
 * Try the awaited --expect patterns on the unmatched rest of the line, or
 * of a @partial line only on its last WATCH_TAIL_MAX bytes. Text that
 * does not start the line is not the beginning of a line for '^'.
 */
static void match_expect(struct console_watch *w, bool partial)
{
	size_t start;
	regmatch_t m;

	while (w->next_expect < w->nr_expect) {
		start = w->consumed;
		if (partial && w->len - start > WATCH_TAIL_MAX)
			start = w->len - WATCH_TAIL_MAX;
		w->scanned += w->len - start;
		if (regexec(&w->expect[w->next_expect], w->line + start, 1, &m,
			    start ? REG_NOTBOL : 0))
			break;
		/* Later patterns must match later text: skip what matched. */
		w->consumed = start + m.rm_eo;
		w->next_expect++;
	}
	if (w->next_expect == w->nr_expect && w->nr_expect && w->result < 0) {
		w->result = LKVM_EXIT_OK;
		snprintf(w->why, sizeof(w->why), "every --expect pattern was seen");
	}
}

static void match_fail_on(struct console_watch *w)
{
	int i;

	for (i = 0; i < w->nr_fail_on && w->result < 0; i++) {
		if (!regexec(&w->fail_on[i], w->line, 0, NULL, 0)) {
			w->result = LKVM_EXIT_FAIL_ON;
			snprintf(w->why, sizeof(w->why),
				 "--fail-on '%s' matched: %s", w->fail_on_src[i],
				 w->line);
		}
	}
}

static void end_line(struct console_watch *w)
{
	match_fail_on(w);
	w->len = w->consumed = 0;
	w->line[0] = '\0';
}

int watch_feed(struct console_watch *w, const u8 *buf, size_t len)
{
	size_t i;

	if (w->log_fd >= 0 && write_in_full(w->log_fd, buf, len) < 0) {
		pr_warn("--console-log: %s: log incomplete", strerror(errno));
		close(w->log_fd);
		w->log_fd = -1;
	}
	for (i = 0; i < len && w->result < 0; i++) {
		u8 c = buf[i];

		if (c == '\r' || c == '\0')
			continue;
		if (c == '\n') {
			match_expect(w, false);
			end_line(w);
			continue;
		}
		if (w->len == WATCH_LINE_MAX) {	/* an endless line: split it */
			match_expect(w, false);
			end_line(w);
		}
		w->line[w->len++] = c;
		w->line[w->len] = '\0';
	}
	if (w->result < 0 && w->len > w->consumed)
		match_expect(w, true);
	return w->result;
}

static const char *status_name(int status)
{
	switch (status) {
	case LKVM_EXIT_OK: return "it powered off";
	case LKVM_EXIT_RESET: return "it reset";
	case LKVM_EXIT_CRASH: return "it crashed";
	default: return "lkvm stopped it";
	}
}

int watch_final(struct console_watch *w, int status)
{
	if (w->result >= 0)
		return w->result;
	if (w->len)
		match_fail_on(w);
	if (w->result >= 0)
		return w->result;
	if (w->next_expect < w->nr_expect &&
	    (status == LKVM_EXIT_OK || status == LKVM_EXIT_RESET ||
	     status == LKVM_EXIT_CRASH)) {
		snprintf(w->why, sizeof(w->why),
			 "the guest stopped (%s) before --expect '%s' was seen",
			 status_name(status), w->expect_src[w->next_expect]);
		return LKVM_EXIT_EXPECT;
	}
	return status;
}

/* ---- glue: the VM's console output, and one watch for it ---- */

/* kvm->cons_out: from console_watch_init() to console_watch_free(). */
struct console_out {
	/* Serialises the console devices' output, stdout writes included. */
	pthread_mutex_t lock;
	struct console_watch watch;
	bool watch_on;
	bool out_dead;
};

/* Feed the watch; the status it decided just now, or -1. */
static int watch_decide(struct console_watch *w, const u8 *buf, size_t len)
{
	bool undecided = w->result < 0;
	int result;

	/* Once decided, the log still takes what the guest prints. */
	result = watch_feed(w, buf, len);
	if (!undecided || result < 0)
		return -1;
	pr_info("%s", w->why);
	return result;
}

void console_output(struct kvm *kvm, const u8 *buf, size_t len)
{
	struct console_out *co = kvm->cons_out;
	int result = -1;

	pthread_mutex_lock(&co->lock);
	if (!co->out_dead && console_write(buf, len) < 0) {
		/*
		 * Nobody reads it any more (EPIPE, EBADF, EIO after a hangup):
		 * drop the output from now on rather than fail the guest.
		 */
		co->out_dead = true;
		pr_warn("stdout: %s: guest console output discarded",
			strerror(errno));
	}
	if (co->watch_on)
		result = watch_decide(&co->watch, buf, len);
	pthread_mutex_unlock(&co->lock);
	if (result >= 0)
		kvm_request_stop(kvm, result);
}

int console_watch_final(struct kvm *kvm, int status)
{
	struct console_out *co = kvm->cons_out;
	int ret = status;

	if (!co)
		return status;
	pthread_mutex_lock(&co->lock);
	if (co->watch_on && co->watch.result >= 0) {
		/* The console decided first (the message is out already). */
		ret = co->watch.result;
	} else if (co->watch_on) {
		ret = watch_final(&co->watch, status);
		if (co->watch.result >= 0 || ret != status)
			pr_err("%s", co->watch.why);
	}
	co->watch_on = false;
	pthread_mutex_unlock(&co->lock);
	console_watch_free(kvm);
	return ret;
}

void console_watch_free(struct kvm *kvm)
{
	struct console_out *co = kvm->cons_out;

	if (!co)
		return;
	watch_free(&co->watch);
	pthread_mutex_destroy(&co->lock);
	free(co);
	kvm->cons_out = NULL;
}

int console_watch_init(struct kvm *kvm)
{
	struct console_out *co = calloc(1, sizeof(*co));
	char err[256];
	int ret;

	if (!co)
		return -ENOMEM;
	ret = watch_init(&co->watch, &kvm->cfg, err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		free(co);
		return ret;
	}
	pthread_mutex_init(&co->lock, NULL);
	co->watch_on = watch_active(&co->watch);
	kvm->cons_out = co;
	return 0;
}

void console_watch_exit(struct kvm *kvm)
{
	struct console_out *co = kvm->cons_out;

	/* Keep the patterns for console_watch_final(); close the log. */
	pthread_mutex_lock(&co->lock);
	if (co->watch.log_fd >= 0)
		close(co->watch.log_fd);
	co->watch.log_fd = -1;
	pthread_mutex_unlock(&co->lock);
}
lkvm_init(INIT_DEV_BASE, console_watch_init, console_watch_exit);
