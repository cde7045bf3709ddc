/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CONTROL_H
#define LKVM_CONTROL_H

/*
 * The control plane: every `lkvm run` / `lkvm sandbox` serves a Unix
 * socket ~/.lkvm/NAME.sock (folder 0700, socket 0600) on which the
 * instance commands (`lkvm list`, `stop`, `pause`, `resume`, `stat`...)
 * send one request and read one reply (maybe in parts) per connection.
 *
 * A message is a 12-byte header, little-endian:
 *
 *	u32 magic "LKVC"   u16 version (2)   u16 kind   u32 payload length
 *
 * then the payload. A reply may come in parts: zero or more messages of
 * kind CTL_KIND_PART (the text only, each at most CTL_MAX_REPLY bytes)
 * before the reply itself, so that a long answer (`lkvm debug --dump` of
 * many vCPUs with 2048-bit SVE, ~25 KiB each) is not cut at the limit;
 * version 2 added them. A request's payload is the command name and its
 * arguments, each NUL-terminated ("stat\0--memory\0"); a reply's is an
 * s32 status (0: done, else the command failed and the text says why)
 * and the text (printable, tabs and newlines; no NUL). A request holds at
 * most CTL_MAX_REQUEST bytes and CTL_MAX_ARGS arguments, a reply
 * CTL_MAX_REPLY: anything else is refused before it is read whole.
 *
 * The pieces: util/control-msg.c (framing, parsing, names, the reply
 * buffer, the list table: pure, unit-tested and fuzzed),
 * util/control-sock.c (the socket's path, its stale-socket handling,
 * connecting and one call), kvm/control.c (the server thread of a VM and
 * its command table: ctl_commands[]). Adding a command is one handler and
 * one line in that table, plus its builtin-*.c client.
 */
#include <stdio.h>

#include "lkvm/util.h"

struct kvm;

#define CTL_MAGIC		0x43564b4cU	/* "LKVC" */
#define CTL_VERSION		2
#define CTL_HDR_SIZE		12
#define CTL_MAX_REQUEST		4096
#define CTL_MAX_ARGS		16
#define CTL_MAX_REPLY		65536
#define CTL_NAME_MAX		64		/* an instance name, bytes */
#define CTL_CMD_MAX		32		/* a command name, bytes */
/* How long either side waits for the other's message (ms). */
#define CTL_IO_TIMEOUT_MS	5000

enum ctl_kind {
	CTL_KIND_REQUEST = 1,
	CTL_KIND_REPLY = 2,
	CTL_KIND_PART = 3,	/* a reply's text before the reply */
};

/* A parsed request; the strings point into data. */
struct ctl_request {
	char data[CTL_MAX_REQUEST];
	const char *cmd;
	const char *argv[CTL_MAX_ARGS];
	unsigned int argc;
};

/* A reply being built (server) or read (client); text is NUL-terminated. */
struct ctl_reply {
	int status;
	size_t len;
	bool truncated;
	/*
	 * A part of the reply is complete (ctl_reply_flush()): the server
	 * sends it, a client prints it; NULL: the text only accumulates.
	 */
	int (*flush)(struct ctl_reply *rep, void *opaque);
	void *flush_opaque;
	char text[CTL_MAX_REPLY - 4 + 1];
};

/*
 * A command: its handler fills @rep (ctl_reply_printf) and returns the
 * reply's status (0, or 1 with the reason in the text). Handlers run on
 * the VM's control thread (seccomp list "control"), one at a time.
 */
struct ctl_command {
	const char *name;
	int (*fn)(struct kvm *kvm, const struct ctl_request *req,
		  struct ctl_reply *rep);
};

/* ---- util/control-msg.c ---- */

/*
 * Check a header (@len bytes at @buf): 0 with the payload's length in
 * *@payload (a CTL_KIND_PART passes where a reply is expected: the
 * caller tells them apart by ctl_hdr_kind()), -EAGAIN if fewer than CTL_HDR_SIZE bytes, -EPROTO (bad
 * magic or kind), -EPROTONOSUPPORT (version) or -EMSGSIZE (over the
 * kind's limit), with @err saying which.
 */
int ctl_hdr_parse(const u8 *buf, size_t len, enum ctl_kind kind, u32 *payload,
		  char *err, size_t errlen);
void ctl_hdr_put(u8 *buf, enum ctl_kind kind, u32 payload);
enum ctl_kind ctl_hdr_kind(const u8 *buf);
/* A request's payload into @req: 0, or -EBADMSG / -E2BIG with @err. */
int ctl_request_parse(const u8 *payload, size_t len, struct ctl_request *req,
		      char *err, size_t errlen);
/* A whole request message into @buf: its length, or -EMSGSIZE / -EINVAL. */
ssize_t ctl_request_encode(u8 *buf, size_t size, const char *cmd,
			   const char *const *argv, unsigned int argc);
int ctl_reply_parse(const u8 *payload, size_t len, struct ctl_reply *rep,
		    char *err, size_t errlen);
/* A part's payload: its text into @rep (status 0); 0 or -EBADMSG. */
int ctl_part_parse(const u8 *payload, size_t len, struct ctl_reply *rep,
		   char *err, size_t errlen);
/* A whole reply message into @buf (at least CTL_HDR_SIZE + 4 + rep->len). */
ssize_t ctl_reply_encode(u8 *buf, size_t size, const struct ctl_reply *rep);
void ctl_reply_init(struct ctl_reply *rep);
/*
 * Hand the text so far to rep->flush (then empty it); 0 without one, or
 * what it returned.
 */
int ctl_reply_flush(struct ctl_reply *rep);
/* A part message of the text of @rep into @buf; its length or -EMSGSIZE. */
ssize_t ctl_part_encode(u8 *buf, size_t size, const struct ctl_reply *rep);
/* Append to the text; what does not fit is cut and rep->truncated set. */
void ctl_reply_printf(struct ctl_reply *rep, const char *fmt, ...) __printf(2, 3);
/* Set the status and a one-line reason; returns @status (for handlers). */
int ctl_reply_fail(struct ctl_reply *rep, int status, const char *fmt, ...)
	__printf(3, 4);

/*
 * A balloon request's arguments (lkvm balloon, checked by the client and
 * the server alike): "--inflate" or "--deflate", then a size: MiB, or
 * with a K/M/G/T suffix, in whole 4 KiB pages, at most
 * CTL_BALLOON_MAX_PAGES.
 * 0 with the change in 4 KiB pages in *@delta (negative: deflate), or
 * -EINVAL with @err.
 */
#define CTL_BALLOON_MAX_PAGES	0xffffffffULL	/* the u32 num_pages: 16 TiB */
int ctl_balloon_parse(unsigned int argc, const char *const *argv, s64 *delta,
		      char *err, size_t errlen);

/* The handler for req->cmd in @table, or NULL. */
const struct ctl_command *ctl_find(const struct ctl_command *table,
				   size_t n, const char *cmd);
/*
 * Run req->cmd from @table; an unknown command fails the reply, which
 * names the commands there are (a client newer than the server).
 */
int ctl_dispatch(const struct ctl_command *table, size_t n, struct kvm *kvm,
		 const struct ctl_request *req, struct ctl_reply *rep);

/*
 * Instance names: 1 to CTL_NAME_MAX bytes of letters, digits, '.', '_',
 * '-' and '+', starting with a letter or digit. 0 or -EINVAL with @err.
 */
int ctl_name_check(const char *name, char *err, size_t errlen);

/* One running instance, as its "info" reply says ("key=value" lines). */
struct ctl_info {
	long pid;
	char name[CTL_NAME_MAX + 1];
	bool paused;
	unsigned int cpus;
	u64 mem;		/* bytes */
};
void ctl_info_format(const struct ctl_info *info, struct ctl_reply *rep);
int ctl_info_parse(const char *text, struct ctl_info *info);
/* `lkvm list`'s table: the header, then one line per instance. */
void ctl_list_header(FILE *out);
void ctl_list_line(FILE *out, const struct ctl_info *info);

/* ---- util/control-sock.c ---- */

/* ~/.lkvm, or -ENOENT with @err when $HOME is not set. */
int ctl_dir(char *buf, size_t len, char *err, size_t errlen);
/* ~/.lkvm/NAME.sock; -ENAMETOOLONG when it does not fit a sockaddr_un. */
int ctl_sock_path(const char *name, char *buf, size_t len, char *err,
		  size_t errlen);
/*
 * The server's socket for @name, listening: creates ~/.lkvm (0700), and
 * removes a stale socket (its lkvm gone: connect() is refused); a live
 * one is -EADDRINUSE with @err naming its pid. The fd, or -errno.
 */
int ctl_listen(const char *name, char *err, size_t errlen);
/*
 * Connect to instance @name: the fd, or -ENOENT (no such instance),
 * -ECONNREFUSED (its lkvm is gone: the stale socket is removed) or
 * another -errno (-EACCES: not the owner's), with @err set.
 */
int ctl_connect(const char *name, char *err, size_t errlen);
/*
 * Read one message of @kind (the header, then its payload) into @buf of
 * @size bytes, waiting at most @timeout_ms for each part; the payload's
 * length, or -errno with @err set.
 */
ssize_t ctl_recv(int fd, enum ctl_kind kind, u8 *buf, size_t size,
		 int timeout_ms, char *err, size_t errlen);
/*
 * The client's call: connect to @name, send @cmd with its arguments and
 * read the reply into @rep (the parts of a long one each handed to
 * rep->flush, which the caller sets or NULLs). 0 (rep->status tells how the command went),
 * or -errno with @err set (no such instance, refused, bad reply...).
 */
int ctl_call(const char *name, const char *cmd, const char *const *argv,
	     unsigned int argc, struct ctl_reply *rep, char *err,
	     size_t errlen);
/*
 * Call @fn with every instance name that has a socket in ~/.lkvm (sorted);
 * the count, or -errno.
 */
int ctl_for_each_instance(void (*fn)(const char *name, void *ctx), void *ctx);

/* What an instance command's command line said. */
struct ctl_cmdline {
	const char *name;	/* -n/--name NAME */
	bool all;		/* -a/--all */
	/* the request's arguments: "--memory"; "--inflate"|"--deflate" SIZE */
	const char *args[2];
	unsigned int nargs;
};

/* The options a command takes beyond --name and --help. */
#define CTL_OPT_ALL	1U	/* -a/--all: every instance */
#define CTL_OPT_MEMORY	2U	/* -m/--memory (stat) */
#define CTL_OPT_BALLOON	4U	/* -i/--inflate, -d/--deflate SIZE: one needed */
#define CTL_OPT_HEADER	8U	/* with --all, each guest's output headed (CTL_CALL_HEADER) */

/*
 * The instance commands' shared command line: -n/--name NAME or (with
 * CTL_OPT_ALL) -a/--all, -h/--help, and the options @allow names.
 * PARSE_* as options.h, with @err.
 */
int ctl_parse_cmdline(int argc, char **argv, unsigned int allow,
		      struct ctl_cmdline *cl, char *err, size_t errlen);

/*
 * What an instance command prints of one guest's call: the reply's text
 * (a long one's parts as they come) on stdout, or its failure in one line
 * on stderr ("lkvm PROG: ..."). The exit status: 0, or 1 (the call or the
 * command failed).
 */
#define CTL_CALL_EACH	1U	/* one of --all's: a guest gone meanwhile is skipped, a failure names it */
#define CTL_CALL_HEADER	2U	/* the text under a line "== NAME ==" */
int ctl_client_call(const char *prog, const char *name, const char *cmd,
		    const char *const *args, unsigned int nargs,
		    unsigned int flags);
/*
 * ctl_client_call() for every running instance, in name order ("no guest
 * is running" when there is none): 0, or 1 if any of them failed.
 */
int ctl_client_all(const char *prog, const char *cmd, const char *const *args,
		   unsigned int nargs, unsigned int flags);

/*
 * A whole instance command (`lkvm stop`, `pause`, ...): parse
 * ctl_parse_cmdline()'s options, send @cmd with their arguments to the
 * instance named (or to every one, --all, when @allow has CTL_OPT_ALL),
 * print each reply's text. Returns the exit status: 0, 1 (a call or
 * command failed: the line on stderr), 2 (bad command line).
 */
int ctl_client_command(int argc, char **argv, const char *cmd,
		       unsigned int allow, void (*usage)(void));

/* ---- kvm/control.c ---- */

/* The commands a VM's control socket serves. */
extern const struct ctl_command ctl_commands[];
extern const size_t ctl_nr_commands;
/* The name this VM's socket has (--name, or guest-PID). */
const char *ctl_instance_name(struct kvm *kvm);

#endif
