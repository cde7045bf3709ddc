// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket's messages (see lkvm/control.h for the format):
 * framing, parsing and encoding, instance names, the reply buffer, the
 * command table lookup and `lkvm list`'s lines. Pure: no sockets, no VM,
 * so the parsers are unit-tested and fuzzed (tests/fuzz/fuzz-control.c).
 *
 * Whoever connects to a socket only its owner may open is still not
 * trusted to send well-formed bytes: every length is checked against the
 * limits before anything is copied, and a bad message fails with one
 * line saying why.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/balloon.h"
#include "lkvm/control.h"

static size_t kind_limit(enum ctl_kind kind)
{
	return kind == CTL_KIND_REQUEST ? CTL_MAX_REQUEST : CTL_MAX_REPLY;
}

int ctl_hdr_parse(const u8 *buf, size_t len, enum ctl_kind kind, u32 *payload,
		  char *err, size_t errlen)
{
	u16 version, got;

	if (len < CTL_HDR_SIZE) {
		set_err(err, errlen, "truncated header (%zu of %d bytes)", len,
			CTL_HDR_SIZE);
		return -EAGAIN;
	}
	if (get_le32(buf) != CTL_MAGIC) {
		set_err(err, errlen, "not an lkvm control message (bad magic)");
		return -EPROTO;
	}
	version = buf[4] | buf[5] << 8;
	if (version != CTL_VERSION) {
		set_err(err, errlen, "protocol version %u, this lkvm speaks %d",
			version, CTL_VERSION);
		return -EPROTONOSUPPORT;
	}
	got = ctl_hdr_kind(buf);
	if (got != kind && !(kind == CTL_KIND_REPLY && got == CTL_KIND_PART)) {
		set_err(err, errlen, "a message of kind %u where %d was expected",
			got, kind);
		return -EPROTO;
	}
	*payload = get_le32(buf + 8);
	if (*payload > kind_limit(kind)) {
		set_err(err, errlen, "message of %u bytes, over the limit of %zu",
			*payload, kind_limit(kind));
		return -EMSGSIZE;
	}
	return 0;
}

enum ctl_kind ctl_hdr_kind(const u8 *buf)
{
	return buf[6] | buf[7] << 8;
}

void ctl_hdr_put(u8 *buf, enum ctl_kind kind, u32 payload)
{
	put_le32(buf, CTL_MAGIC);
	buf[4] = CTL_VERSION;
	buf[5] = 0;
	buf[6] = kind;
	buf[7] = 0;
	put_le32(buf + 8, payload);
}

/* Printable ASCII, as every argument must be (no escapes reach a log). */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int split_args(struct ctl_request *req, size_t len, char *err,
		      size_t errlen)
{
	size_t off = 0;

	req->argc = 0;
	while (off < len) {
		const char *s = req->data + off;

		if (req->argc == CTL_MAX_ARGS + 1) {
			set_err(err, errlen, "more than %d arguments", CTL_MAX_ARGS);
			return -E2BIG;
		}
		if (!printable(s)) {
			set_err(err, errlen, "an argument with a control or non-ASCII byte");
			return -EBADMSG;
		}
		if (req->argc)
			req->argv[req->argc - 1] = s;
		else
			req->cmd = s;
		req->argc++;
		off += strlen(s) + 1;
	}
	req->argc--;	/* the command is not an argument */
	return 0;
}

int ctl_request_parse(const u8 *payload, size_t len, struct ctl_request *req,
		      char *err, size_t errlen)
{
	int ret;

	memset(req, 0, sizeof(*req));
	if (len > CTL_MAX_REQUEST) {
		set_err(err, errlen, "request of %zu bytes, over the limit of %d",
			len, CTL_MAX_REQUEST);
		return -E2BIG;
	}
	if (!len || payload[len - 1]) {
		set_err(err, errlen, "request not NUL-terminated");
		return -EBADMSG;
	}
	memcpy(req->data, payload, len);
	ret = split_args(req, len, err, errlen);
	if (ret < 0)
		return ret;
	if (!req->cmd[0] || strlen(req->cmd) >= CTL_CMD_MAX) {
		set_err(err, errlen, "command name empty or over %d bytes",
			CTL_CMD_MAX - 1);
		return -EBADMSG;
	}
	return 0;
}

ssize_t ctl_request_encode(u8 *buf, size_t size, const char *cmd,
			   const char *const *argv, unsigned int argc)
{
	size_t off = CTL_HDR_SIZE, n;
	unsigned int i;

	if (argc > CTL_MAX_ARGS)
		return -EINVAL;
	for (i = 0; i <= argc; i++) {
		const char *s = i ? argv[i - 1] : cmd;

		n = strlen(s) + 1;
		if (off + n > size || off + n - CTL_HDR_SIZE > CTL_MAX_REQUEST)
			return -EMSGSIZE;
		memcpy(buf + off, s, n);
		off += n;
	}
	ctl_hdr_put(buf, CTL_KIND_REQUEST, off - CTL_HDR_SIZE);
	return off;
}

static bool text_ok(const u8 *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return true;
}

int ctl_reply_parse(const u8 *payload, size_t len, struct ctl_reply *rep,
		    char *err, size_t errlen)
{
	ctl_reply_init(rep);
	if (len < 4 || len > CTL_MAX_REPLY) {
		set_err(err, errlen, "reply of %zu bytes (4 to %d)", len,
			CTL_MAX_REPLY);
		return -EBADMSG;
	}
	if (!text_ok(payload + 4, len - 4)) {
		set_err(err, errlen, "reply text with control bytes");
		return -EBADMSG;
	}
	rep->status = (int)get_le32(payload);
	rep->len = len - 4;
	memcpy(rep->text, payload + 4, rep->len);
	rep->text[rep->len] = '\0';
	return 0;
}

int ctl_part_parse(const u8 *payload, size_t len, struct ctl_reply *rep,
		   char *err, size_t errlen)
{
	ctl_reply_init(rep);
	if (len > CTL_MAX_REPLY - 4 || !text_ok(payload, len)) {
		set_err(err, errlen, "bad reply part (%zu bytes)", len);
		return -EBADMSG;
	}
	rep->len = len;
	memcpy(rep->text, payload, len);
	rep->text[len] = '\0';
	return 0;
}

ssize_t ctl_reply_encode(u8 *buf, size_t size, const struct ctl_reply *rep)
{
	size_t n = CTL_HDR_SIZE + 4 + rep->len;

	if (n > size || 4 + rep->len > CTL_MAX_REPLY)
		return -EMSGSIZE;
	ctl_hdr_put(buf, CTL_KIND_REPLY, 4 + rep->len);
	put_le32(buf + CTL_HDR_SIZE, (u32)rep->status);
	memcpy(buf + CTL_HDR_SIZE + 4, rep->text, rep->len);
	return n;
}

ssize_t ctl_part_encode(u8 *buf, size_t size, const struct ctl_reply *rep)
{
	size_t n = CTL_HDR_SIZE + rep->len;

	if (n > size || rep->len > CTL_MAX_REPLY - 4)
		return -EMSGSIZE;
	ctl_hdr_put(buf, CTL_KIND_PART, rep->len);
	memcpy(buf + CTL_HDR_SIZE, rep->text, rep->len);
	return n;
}

int ctl_reply_flush(struct ctl_reply *rep)
{
	int ret;

	if (!rep->flush || !rep->len)
		return 0;
	ret = rep->flush(rep, rep->flush_opaque);
	rep->len = 0;
	rep->truncated = false;
	rep->text[0] = '\0';
	return ret;
}

void ctl_reply_init(struct ctl_reply *rep)
{
	rep->status = 0;
	rep->len = 0;
	rep->truncated = false;
	rep->text[0] = '\0';
}

static void reply_vprintf(struct ctl_reply *rep, const char *fmt, va_list ap)
{
	size_t room = sizeof(rep->text) - rep->len;
	int n = vsnprintf(rep->text + rep->len, room, fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= room) {
		rep->truncated = true;
		n = room - 1;
	}
	rep->len += n;
}

void ctl_reply_printf(struct ctl_reply *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vprintf(rep, fmt, ap);
	va_end(ap);
}

int ctl_reply_fail(struct ctl_reply *rep, int status, const char *fmt, ...)
{
	va_list ap;

	ctl_reply_init(rep);
	rep->status = status;
	va_start(ap, fmt);
	reply_vprintf(rep, fmt, ap);
	va_end(ap);
	return status;
}

int ctl_balloon_parse(unsigned int argc, const char *const *argv, s64 *delta,
		      char *err, size_t errlen)
{
	bool inflate = argc == 2 && !strcmp(argv[0], "--inflate");
	u64 bytes;

	if (argc != 2 || (!inflate && strcmp(argv[0], "--deflate"))) {
		set_err(err, errlen, "balloon: give --inflate SIZE or --deflate SIZE");
		return -EINVAL;
	}
	if (parse_mem_size(argv[1], &bytes) || bytes % BALLOON_PAGE_SIZE) {
		set_err(err, errlen, "%s '%s': not a size in MiB (or with a K/M/G/T suffix, whole 4 KiB pages)",
			argv[0], argv[1]);
		return -EINVAL;
	}
	if (bytes / BALLOON_PAGE_SIZE > CTL_BALLOON_MAX_PAGES) {
		set_err(err, errlen, "%s '%s': over the balloon's limit of 16 TiB",
			argv[0], argv[1]);
		return -EINVAL;
	}
	*delta = (s64)(bytes / BALLOON_PAGE_SIZE) * (inflate ? 1 : -1);
	return 0;
}

const struct ctl_command *ctl_find(const struct ctl_command *table,
				   size_t n, const char *cmd)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(table[i].name, cmd))
			return &table[i];
	return NULL;
}

int ctl_dispatch(const struct ctl_command *table, size_t n, struct kvm *kvm,
		 const struct ctl_request *req, struct ctl_reply *rep)
{
	const struct ctl_command *c = ctl_find(table, n, req->cmd);

	size_t i;

	ctl_reply_init(rep);
	if (!c) {
		ctl_reply_fail(rep, 1, "unknown command '%s'; this lkvm serves:",
			       req->cmd);
		for (i = 0; i < n; i++)
			ctl_reply_printf(rep, " %s", table[i].name);
		return rep->status;
	}
	rep->status = c->fn(kvm, req, rep);
	return rep->status;
}

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-' || c == '+');
}

int ctl_name_check(const char *name, char *err, size_t errlen)
{
	size_t i, len = strlen(name);

	if (!len || len > CTL_NAME_MAX) {
		set_err(err, errlen, "name '%s': 1 to %d characters", name,
			CTL_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		if (!name_char(name[i], !i)) {
			set_err(err, errlen, "name '%s': letters, digits, '.', '_', '-' and '+' only, starting with a letter or digit",
				name);
			return -EINVAL;
		}
	return 0;
}

void ctl_info_format(const struct ctl_info *info, struct ctl_reply *rep)
{
	ctl_reply_printf(rep, "pid=%ld\nname=%s\nstate=%s\ncpus=%u\nmem=%llu\n",
			 info->pid, info->name,
			 info->paused ? "paused" : "running", info->cpus,
			 (unsigned long long)info->mem);
}

/* One "key=value" line of an info reply into @info; false if unknown. */
static bool info_field(struct ctl_info *info, const char *key,
		       const char *val, size_t vlen)
{
	char buf[CTL_NAME_MAX + 1];

	if (vlen > CTL_NAME_MAX)
		return false;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	if (!strcmp(key, "pid"))
		info->pid = strtol(buf, NULL, 10);
	else if (!strcmp(key, "name"))
		memcpy(info->name, buf, vlen + 1);
	else if (!strcmp(key, "state"))
		info->paused = !strcmp(buf, "paused");
	else if (!strcmp(key, "cpus"))
		info->cpus = strtoul(buf, NULL, 10);
	else if (!strcmp(key, "mem"))
		info->mem = strtoull(buf, NULL, 10);
	else
		return false;
	return true;
}

/* 0, or -EBADMSG without a pid and a name (unknown keys are skipped). */
int ctl_info_parse(const char *text, struct ctl_info *info)
{
	const char *line = text;

	memset(info, 0, sizeof(*info));
	while (*line) {
		const char *eol = strchrnul(line, '\n'), *eq = memchr(line, '=', eol - line);
		char key[16];

		if (eq && (size_t)(eq - line) < sizeof(key)) {
			memcpy(key, line, eq - line);
			key[eq - line] = '\0';
			info_field(info, key, eq + 1, eol - eq - 1);
		}
		line = *eol ? eol + 1 : eol;
	}
	return info->pid > 0 && info->name[0] ? 0 : -EBADMSG;
}

void ctl_list_header(FILE *out)
{
	fprintf(out, "%8s  %-24s  %-8s  %5s  %10s\n", "PID", "NAME", "STATE",
		"VCPUS", "MEMORY");
}

void ctl_list_line(FILE *out, const struct ctl_info *info)
{
	char mem[32];

	format_mem_size(info->mem, mem, sizeof(mem));
	fprintf(out, "%8ld  %-24s  %-8s  %5u  %10s\n", info->pid, info->name,
		info->paused ? "paused" : "running", info->cpus, mem);
}
