// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket on the file system (see lkvm/control.h): where it
 * lives (~/.lkvm/NAME.sock), how a server claims a name and how a client
 * reaches one, and the message I/O both sides share.
 *
 * A name is claimed by binding its socket. A socket that is already
 * there is either live (another lkvm serves it: refused) or stale (its
 * lkvm died without removing it, e.g. SIGKILL): connect() tells them
 * apart, ECONNREFUSED meaning no one listens, and a stale socket is
 * removed by whoever finds it, server or client. Only sockets are ever
 * removed, never another kind of file of that name.
 *
 * Permissions do the access control: the folder is 0700 and the socket
 * 0600, so only their owner (and root) can connect; the server checks
 * the peer's uid too (kvm/control.c). No state here: every call is given
 * what it works on, so the unit tests run it in a temporary $HOME.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/commands.h"
#include "lkvm/control.h"
#include "lkvm/options.h"

/* A Unix socket's path, its NUL included. */
#define PATH_MAX_SOCK	sizeof(((struct sockaddr_un *)0)->sun_path)

int ctl_dir(char *buf, size_t len, char *err, size_t errlen)
{
	const char *home = getenv("HOME");

	/* $HOME only, as kvmtool: a static lkvm has no NSS for getpwuid() */
	if (!home || !*home) {
		set_err(err, errlen, "$HOME is not set: the control sockets live in $HOME/.lkvm");
		return -ENOENT;
	}
	if ((size_t)snprintf(buf, len, "%s/.lkvm", home) >= len) {
		set_err(err, errlen, "$HOME is too long for a socket path");
		return -ENAMETOOLONG;
	}
	return 0;
}

int ctl_sock_path(const char *name, char *buf, size_t len, char *err,
		  size_t errlen)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	int ret = ctl_dir(dir, sizeof(dir), err, errlen);

	if (ret < 0)
		return ret;
	ret = ctl_name_check(name, err, errlen);
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(buf, MIN(len, sizeof(sa.sun_path)), "%s/%s.sock",
			     dir, name) >= MIN(len, sizeof(sa.sun_path))) {
		set_err(err, errlen, "socket path %s/%s.sock: over the %zu bytes a Unix socket's path may have",
			dir, name, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/*
 * Connect to @path: the fd, or -errno (-ECONNREFUSED: a socket no one
 * serves). With @pid, the peer's pid (SO_PEERCRED).
 */
static int sock_connect(const char *path, long *pid)
{
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd = sock_addr(path, &sa), ret;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (pid && !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		*pid = cred.pid;
	return fd;
}

/* Remove @path if it is a socket no one serves; true if it was removed. */
static bool remove_stale(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = sock_connect(path, NULL);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return fd == -ECONNREFUSED && !unlink(path);
}

/* ~/.lkvm: created 0700; an existing one of ours is made 0700. */
static int make_dir(char *err, size_t errlen)
{
	char dir[PATH_MAX_SOCK];
	struct stat st;
	int ret = ctl_dir(dir, sizeof(dir), err, errlen);

	if (ret < 0)
		return ret;
	ret = mkdir_private(dir);
	if (ret < 0) {
		set_err(err, errlen, "cannot create %s: %s", dir, strerror(-ret));
		return ret;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "%s is not a folder", dir);
		return -ENOTDIR;
	}
	if (st.st_uid == geteuid() && (st.st_mode & 077))
		chmod(dir, 0700);
	return 0;
}

static int bind_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd = sock_addr(path, &sa), ret;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* The name is taken: say by whom, or that a file is in the way. */
static int name_taken(const char *name, const char *path, char *err,
		      size_t errlen)
{
	long pid = 0;
	int fd = sock_connect(path, &pid);

	if (fd >= 0) {
		close(fd);
		set_err(err, errlen, "--name %s: another lkvm (pid %ld) runs a guest of that name (%s); choose another name",
			name, pid, path);
		return -EADDRINUSE;
	}
	set_err(err, errlen, "--name %s: %s exists and is not an lkvm control socket: remove it or choose another name",
		name, path);
	return -EEXIST;
}

int ctl_listen(const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX_SOCK];
	int fd, ret;

	ret = ctl_sock_path(name, path, sizeof(path), err, errlen);
	if (!ret)
		ret = make_dir(err, errlen);
	if (ret < 0)
		return ret;
	fd = bind_listen(path);
	if (fd == -EADDRINUSE && remove_stale(path))
		fd = bind_listen(path);
	if (fd == -EADDRINUSE)
		return name_taken(name, path, err, errlen);
	if (fd < 0)
		set_err(err, errlen, "cannot serve %s: %s", path, strerror(-fd));
	return fd;
}

int ctl_connect(const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX_SOCK];
	int fd = ctl_sock_path(name, path, sizeof(path), err, errlen);

	if (fd < 0)
		return fd;
	fd = sock_connect(path, NULL);
	if (fd >= 0)
		return fd;
	if (fd == -ENOENT)
		set_err(err, errlen, "no guest named '%s' (see 'lkvm list')", name);
	else if (fd == -ECONNREFUSED && remove_stale(path))
		set_err(err, errlen, "guest '%s' is gone: its lkvm exited without removing %s (removed now)",
			name, path);
	else
		set_err(err, errlen, "cannot connect to guest '%s' (%s): %s", name,
			path, strerror(-fd));
	return fd;
}

/* Wait for @fd to be ready for @events: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* Exactly @len bytes, each read waiting at most @timeout_ms. */
static int recv_full(int fd, u8 *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	ssize_t n;
	int ret;

	while (got < len) {
		ret = wait_fd(fd, POLLIN, timeout_ms);
		if (ret < 0)
			return ret;
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

/* ctl_recv(), with the kind read (a part where a reply was expected). */
static ssize_t recv_msg(int fd, enum ctl_kind kind, enum ctl_kind *got,
			u8 *buf, size_t size, int timeout_ms, char *err,
			size_t errlen)
{
	u32 len;
	int ret;

	ret = recv_full(fd, buf, CTL_HDR_SIZE, timeout_ms);
	if (!ret)
		ret = ctl_hdr_parse(buf, CTL_HDR_SIZE, kind, &len, err, errlen);
	else
		set_err(err, errlen, "no message: %s", strerror(-ret));
	if (ret < 0)
		return ret;
	*got = ctl_hdr_kind(buf);
	if (len > size) {
		set_err(err, errlen, "message of %u bytes, over %zu", len, size);
		return -EMSGSIZE;
	}
	ret = recv_full(fd, buf, len, timeout_ms);
	if (ret < 0) {
		set_err(err, errlen, "truncated message: %s", strerror(-ret));
		return ret;
	}
	return len;
}

ssize_t ctl_recv(int fd, enum ctl_kind kind, u8 *buf, size_t size,
		 int timeout_ms, char *err, size_t errlen)
{
	enum ctl_kind got;

	return recv_msg(fd, kind, &got, buf, size, timeout_ms, err, errlen);
}

/*
 * The reply, after its parts: each part goes to rep->flush (or, without
 * one, is dropped but for the last text: the reply's).
 */
static ssize_t recv_reply(int fd, u8 *buf, size_t size, struct ctl_reply *rep,
			  char *err, size_t errlen)
{
	enum ctl_kind got;
	ssize_t n;

	for (;;) {
		n = recv_msg(fd, CTL_KIND_REPLY, &got, buf, size,
			     CTL_IO_TIMEOUT_MS, err, errlen);
		if (n < 0 || got == CTL_KIND_REPLY)
			return n < 0 ? n : ctl_reply_parse(buf, n, rep, err, errlen);
		n = ctl_part_parse(buf, n, rep, err, errlen);
		if (n < 0)
			return n;
		if (rep->flush)
			rep->flush(rep, rep->flush_opaque);
	}
}

static int send_failed(char *err, size_t errlen)
{
	int ret = errno ? -errno : -EIO;

	set_err(err, errlen, "cannot send: %s", strerror(-ret));
	return ret;
}

/* The request out, the reply in. */
static int call_fd(int fd, const char *cmd, const char *const *argv,
		   unsigned int argc, struct ctl_reply *rep, char *err,
		   size_t errlen)
{
	static const size_t size = CTL_HDR_SIZE + CTL_MAX_REPLY;
	u8 *buf = malloc(size);
	ssize_t n;

	if (!buf) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = ctl_request_encode(buf, size, cmd, argv, argc);
	if (n < 0)
		set_err(err, errlen, "request too long (over %d bytes)",
			CTL_MAX_REQUEST);
	else if (send(fd, buf, n, MSG_NOSIGNAL) != n)
		n = send_failed(err, errlen);
	else
		n = recv_reply(fd, buf, size, rep, err, errlen);
	free(buf);
	return n < 0 ? n : 0;
}

int ctl_call(const char *name, const char *cmd, const char *const *argv,
	     unsigned int argc, struct ctl_reply *rep, char *err,
	     size_t errlen)
{
	char why[256];
	int fd, ret;

	fd = ctl_connect(name, err, errlen);
	if (fd < 0)
		return fd;
	ret = call_fd(fd, cmd, argv, argc, rep, why, sizeof(why));
	if (ret < 0)
		set_err(err, errlen, "guest '%s': %s", name, why);
	close(fd);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of ~/.lkvm's *.sock entries, sorted; their count or -errno. */
static int instance_names(char ***out)
{
	char dir[PATH_MAX_SOCK], **names = NULL, **grown;
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (ctl_dir(dir, sizeof(dir), NULL, 0) < 0)
		return -ENOENT;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock"))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown)
			break;
		names = grown;
		names[n] = strndup(e->d_name, len - 5);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return n;
}

int ctl_for_each_instance(void (*fn)(const char *name, void *ctx), void *ctx)
{
	char **names = NULL;
	int i, n = instance_names(&names);

	for (i = 0; i < n; i++) {
		fn(names[i], ctx);
		free(names[i]);
	}
	free(names);
	return n;
}

/* An option's letter: which CTL_OPT_* allows it (0: every command). */
static unsigned int opt_needs(int c)
{
	switch (c) {
	case 'a':
		return CTL_OPT_ALL;
	case 'm':
		return CTL_OPT_MEMORY;
	case 'i':
	case 'd':
		return CTL_OPT_BALLOON;
	default:
		return 0;
	}
}

/* --inflate/--deflate SIZE: the request's arguments, checked as the server will. */
static int opt_balloon(struct ctl_cmdline *cl, int c, const char *size,
		       char *err, size_t errlen)
{
	s64 delta;

	if (cl->nargs) {
		set_err(err, errlen, "give one of --inflate and --deflate, once");
		return PARSE_ERROR;
	}
	cl->args[0] = c == 'i' ? "--inflate" : "--deflate";
	cl->args[1] = size;
	cl->nargs = 2;
	return ctl_balloon_parse(cl->nargs, cl->args, &delta, err, errlen) ?
		PARSE_ERROR : PARSE_OK;
}

/* The checks once every option is read: a target, the balloon's amount. */
static int cmdline_check(int argc, char **argv, unsigned int allow,
			 struct ctl_cmdline *cl, char *err, size_t errlen)
{
	bool can_all = allow & CTL_OPT_ALL;

	if (optind < argc) {
		set_err(err, errlen, "unexpected argument '%s'", argv[optind]);
		return PARSE_ERROR;
	}
	if (!cl->name == !cl->all) {
		set_err(err, errlen, can_all ? "give --name NAME or --all" :
			"give --name NAME");
		return PARSE_ERROR;
	}
	if ((allow & CTL_OPT_BALLOON) && !cl->nargs) {
		set_err(err, errlen, "give --inflate MiB or --deflate MiB");
		return PARSE_ERROR;
	}
	return ctl_name_check(cl->name ? cl->name : "all", err, errlen) ?
		PARSE_ERROR : PARSE_OK;
}

int ctl_parse_cmdline(int argc, char **argv, unsigned int allow,
		      struct ctl_cmdline *cl, char *err, size_t errlen)
{
	struct cmd_getopt g;
	int c;

	*cl = (struct ctl_cmdline) { 0 };
	/* the options `lkvm help` shows for this command, no other */
	if (cmd_getopt_init(&g, argv[0]) < 0) {
		set_err(err, errlen, "internal error: no options for '%s'", argv[0]);
		return PARSE_ERROR;
	}
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		if (c == 'h')
			return PARSE_HELP;
		if (c == '?' || c == ':' || (opt_needs(c) & ~allow)) {
			set_err(err, errlen, "unknown option or missing argument '%s'",
				argv[optind - 1]);
			return PARSE_ERROR;
		}
		if (c == 'n')
			cl->name = optarg;
		else if (c == 'a')
			cl->all = true;
		else if (c == 'm' && !cl->nargs)
			cl->args[cl->nargs++] = "--memory";
		else if ((c == 'i' || c == 'd') &&
			 opt_balloon(cl, c, optarg, err, errlen) != PARSE_OK)
			return PARSE_ERROR;
	}
	return cmdline_check(argc, argv, allow, cl, err, errlen);
}

/* One instance's call, as ctl_client_call() prints it. */
struct client_out {
	const char *name;
	unsigned int flags;
	bool headed;		/* the header line is out */
};

/* Text of the reply for stdout: under the header, with CTL_CALL_HEADER. */
static void client_print(struct client_out *o, const char *text)
{
	if ((o->flags & CTL_CALL_HEADER) && !o->headed && *text) {
		printf("== %s ==\n", o->name);
		o->headed = true;
	}
	fputs(text, stdout);
}

/* A part of a long reply (debug --dump: a vCPU's), as it comes. */
static int client_part(struct ctl_reply *rep, void *opaque)
{
	client_print(opaque, rep->text);
	return 0;
}

/*
 * A command's failure, on stderr; among --all's, named unless its text
 * names the guest already.
 */
static void client_failed(const char *prog, const char *name, const char *why,
			  unsigned int flags)
{
	char quoted[CTL_NAME_MAX + 3];

	snprintf(quoted, sizeof(quoted), "'%s'", name);
	if ((flags & CTL_CALL_EACH) && !strstr(why, quoted))
		fprintf(stderr, "lkvm %s: guest %s: %s\n", prog, quoted, why);
	else
		fprintf(stderr, "lkvm %s: %s\n", prog, why);
}

int ctl_client_call(const char *prog, const char *name, const char *cmd,
		    const char *const *args, unsigned int nargs,
		    unsigned int flags)
{
	struct ctl_reply *rep = malloc(sizeof(*rep));
	struct client_out out = { .name = name, .flags = flags };
	char err[512];
	int ret;

	if (!rep)
		return LKVM_EXIT_ERROR;
	rep->flush = client_part;
	rep->flush_opaque = &out;
	ret = ctl_call(name, cmd, args, nargs, rep, err, sizeof(err));
	if ((flags & CTL_CALL_EACH) && (ret == -ENOENT || ret == -ECONNREFUSED)) {
		free(rep);
		return 0;
	}
	if (ret < 0)
		fprintf(stderr, "lkvm %s: %s\n", prog, err);
	else if (rep->status)
		client_failed(prog, name, rep->text, flags);
	else
		client_print(&out, rep->text);
	fflush(stdout);
	ret = ret < 0 || rep->status ? LKVM_EXIT_ERROR : 0;
	free(rep);
	return ret;
}

struct client_all {
	const char *prog, *cmd;
	const char *const *args;
	unsigned int nargs, flags;
	int status;
};

static void client_all_one(const char *name, void *opaque)
{
	struct client_all *c = opaque;

	if (ctl_client_call(c->prog, name, c->cmd, c->args, c->nargs,
			    c->flags | CTL_CALL_EACH))
		c->status = LKVM_EXIT_ERROR;
}

int ctl_client_all(const char *prog, const char *cmd, const char *const *args,
		   unsigned int nargs, unsigned int flags)
{
	struct client_all c = {
		.prog = prog, .cmd = cmd, .args = args, .nargs = nargs,
		.flags = flags,
	};

	if (ctl_for_each_instance(client_all_one, &c) <= 0)
		printf("no guest is running\n");
	return c.status;
}

int ctl_client_command(int argc, char **argv, const char *cmd,
		       unsigned int allow, void (*usage)(void))
{
	struct ctl_cmdline cl;
	char err[256];

	switch (ctl_parse_cmdline(argc, argv, allow, &cl, err, sizeof(err))) {
	case PARSE_HELP:
		usage();
		return 0;
	case PARSE_ERROR:
		fprintf(stderr, "lkvm %s: %s (see 'lkvm help %s')\n", argv[0],
			err, argv[0]);
		return LKVM_EXIT_USAGE;
	}
	if (cl.name)
		return ctl_client_call(argv[0], cl.name, cmd, cl.args, cl.nargs, 0);
	return ctl_client_all(argv[0], cmd, cl.args, cl.nargs,
			      (allow & CTL_OPT_HEADER) ? CTL_CALL_HEADER : 0);
}
