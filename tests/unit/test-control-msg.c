// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket's messages (util/control-msg.c): headers, requests
 * and replies good, truncated, oversized, of a wrong version or kind;
 * the command lookup; instance names; the info text and list lines.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/control.h"

static char err[256];

static void put_hdr(u8 *b, u32 magic, u16 version, u16 kind, u32 len)
{
	ctl_hdr_put(b, kind, len);
	memcpy(b, &magic, 4);	/* little-endian host, as the tests run */
	b[4] = version;
	b[5] = version >> 8;
}

static void test_header(void **state)
{
	u8 b[CTL_HDR_SIZE];
	u32 len;

	ctl_hdr_put(b, CTL_KIND_REQUEST, 12);
	assert_int_equal(memcmp(b, "LKVC", 4), 0);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), 0);
	assert_int_equal(len, 12);
	/* truncated */
	assert_int_equal(ctl_hdr_parse(b, 11, CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), -EAGAIN);
	assert_non_null(strstr(err, "truncated header (11 of 12"));
	/* a reply where a request is expected */
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REPLY, &len, err,
				       sizeof(err)), -EPROTO);
	/* bad magic */
	put_hdr(b, 0x12345678, CTL_VERSION, CTL_KIND_REQUEST, 4);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "bad magic"));
	/* wrong version */
	put_hdr(b, CTL_MAGIC, 1, CTL_KIND_REQUEST, 4);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), -EPROTONOSUPPORT);
	assert_string_equal(err, "protocol version 1, this lkvm speaks 2");
	/* a reply's part passes where a reply is expected, not a request */
	put_hdr(b, CTL_MAGIC, CTL_VERSION, CTL_KIND_PART, 4);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REPLY, &len, err,
				       sizeof(err)), 0);
	assert_int_equal(ctl_hdr_kind(b), CTL_KIND_PART);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), -EPROTO);
}

/* The limits are the kind's: a request's is small, a reply's larger. */
static void test_header_oversized(void **state)
{
	u8 b[CTL_HDR_SIZE];
	u32 len;

	ctl_hdr_put(b, CTL_KIND_REQUEST, CTL_MAX_REQUEST);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), 0);
	ctl_hdr_put(b, CTL_KIND_REQUEST, CTL_MAX_REQUEST + 1);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), -EMSGSIZE);
	assert_non_null(strstr(err, "over the limit of 4096"));
	ctl_hdr_put(b, CTL_KIND_REPLY, CTL_MAX_REQUEST + 1);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REPLY, &len, err,
				       sizeof(err)), 0);
	ctl_hdr_put(b, CTL_KIND_REPLY, 0xffffffff);
	assert_int_equal(ctl_hdr_parse(b, sizeof(b), CTL_KIND_REPLY, &len, err,
				       sizeof(err)), -EMSGSIZE);
}

static void test_request_roundtrip(void **state)
{
	static const char *const args[] = { "--memory", "" };
	struct ctl_request *req = malloc(sizeof(*req));
	u8 b[128];
	ssize_t n;
	u32 len;

	n = ctl_request_encode(b, sizeof(b), "stat", args, 2);
	assert_int_equal(n, CTL_HDR_SIZE + 5 + 9 + 1);
	assert_int_equal(ctl_hdr_parse(b, n, CTL_KIND_REQUEST, &len, err,
				       sizeof(err)), 0);
	assert_int_equal(len, n - CTL_HDR_SIZE);
	assert_int_equal(ctl_request_parse(b + CTL_HDR_SIZE, len, req, err,
					   sizeof(err)), 0);
	assert_string_equal(req->cmd, "stat");
	assert_int_equal(req->argc, 2);
	assert_string_equal(req->argv[0], "--memory");
	assert_string_equal(req->argv[1], "");
	/* too small a buffer, too many arguments */
	assert_int_equal(ctl_request_encode(b, 16, "stat", args, 2), -EMSGSIZE);
	assert_int_equal(ctl_request_encode(b, sizeof(b), "x", args,
					    CTL_MAX_ARGS + 1), -EINVAL);
	free(req);
}

static void test_request_malformed(void **state)
{
	struct ctl_request *req = malloc(sizeof(*req));
	u8 many[2 * (CTL_MAX_ARGS + 2)];
	unsigned int i;

	/* not NUL-terminated, empty */
	assert_int_equal(ctl_request_parse((const u8 *)"stop", 4, req, err,
					   sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_request_parse((const u8 *)"", 0, req, err,
					   sizeof(err)), -EBADMSG);
	/* an empty command */
	assert_int_equal(ctl_request_parse((const u8 *)"\0x", 3, req, err,
					   sizeof(err)), -EBADMSG);
	/* a control byte, a non-ASCII one */
	assert_int_equal(ctl_request_parse((const u8 *)"st\033p", 5, req, err,
					   sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_request_parse((const u8 *)"stop\0\xff", 7, req, err,
					   sizeof(err)), -EBADMSG);
	/* a command name too long */
	assert_int_equal(ctl_request_parse((const u8 *)"0123456789012345678901234567890123456789",
					   41, req, err, sizeof(err)), -EBADMSG);
	/* one argument too many: the command and CTL_MAX_ARGS + 1 */
	for (i = 0; i < sizeof(many); i += 2) {
		many[i] = 'a';
		many[i + 1] = 0;
	}
	assert_int_equal(ctl_request_parse(many, sizeof(many), req, err,
					   sizeof(err)), -E2BIG);
	assert_int_equal(ctl_request_parse(many, sizeof(many) - 2, req, err,
					   sizeof(err)), 0);
	assert_int_equal(req->argc, CTL_MAX_ARGS);
	/* oversized */
	assert_int_equal(ctl_request_parse(many, CTL_MAX_REQUEST + 1, req, err,
					   sizeof(err)), -E2BIG);
	free(req);
}

static void test_reply(void **state)
{
	struct ctl_reply *rep = malloc(sizeof(*rep)), *got = malloc(sizeof(*got));
	u8 *b = malloc(CTL_HDR_SIZE + CTL_MAX_REPLY);
	ssize_t n;
	u32 len;

	ctl_reply_init(rep);
	ctl_reply_printf(rep, "device %s:\tkicks=%d\n", "rng", 3);
	rep->status = 1;
	n = ctl_reply_encode(b, CTL_HDR_SIZE + CTL_MAX_REPLY, rep);
	assert_int_equal(n, CTL_HDR_SIZE + 4 + rep->len);
	assert_int_equal(ctl_hdr_parse(b, n, CTL_KIND_REPLY, &len, err,
				       sizeof(err)), 0);
	assert_int_equal(ctl_reply_parse(b + CTL_HDR_SIZE, len, got, err,
					 sizeof(err)), 0);
	assert_int_equal(got->status, 1);
	assert_string_equal(got->text, "device rng:\tkicks=3\n");
	/* a reply too short for its status, a NUL or escape in the text */
	assert_int_equal(ctl_reply_parse(b + CTL_HDR_SIZE, 3, got, err,
					 sizeof(err)), -EBADMSG);
	memcpy(b + CTL_HDR_SIZE + 4, "a\0b", 3);
	assert_int_equal(ctl_reply_parse(b + CTL_HDR_SIZE, 7, got, err,
					 sizeof(err)), -EBADMSG);
	memcpy(b + CTL_HDR_SIZE + 4, "a\033b", 3);
	assert_int_equal(ctl_reply_parse(b + CTL_HDR_SIZE, 7, got, err,
					 sizeof(err)), -EBADMSG);
	/* a full reply buffer cuts the text and says so */
	ctl_reply_init(rep);
	while (!rep->truncated)
		ctl_reply_printf(rep, "%0100d\n", 7);
	assert_int_equal(rep->len, CTL_MAX_REPLY - 4);
	assert_int_equal(ctl_reply_encode(b, CTL_HDR_SIZE + CTL_MAX_REPLY, rep),
			 CTL_HDR_SIZE + CTL_MAX_REPLY);
	/* fail replaces what was there */
	assert_int_equal(ctl_reply_fail(rep, 1, "no %s", "way"), 1);
	assert_string_equal(rep->text, "no way");
	free(b);
	free(got);
	free(rep);
}

static int flushes;

static int count_flush(struct ctl_reply *rep, void *opaque)
{
	flushes++;
	assert_string_equal(rep->text, opaque);
	return flushes == 2 ? -EPIPE : 0;
}

/* A long reply's parts: flushed text, their messages, their parsing. */
static void test_parts(void **state)
{
	struct ctl_reply *rep = calloc(1, sizeof(*rep)), *got = malloc(sizeof(*got));
	u8 *b = malloc(CTL_HDR_SIZE + CTL_MAX_REPLY);
	ssize_t n;
	u32 len;

	/* without a flush callback the text stays */
	ctl_reply_printf(rep, "cpu0 pc 0x1\n");
	assert_int_equal(ctl_reply_flush(rep), 0);
	assert_string_equal(rep->text, "cpu0 pc 0x1\n");
	n = ctl_part_encode(b, CTL_HDR_SIZE + CTL_MAX_REPLY, rep);
	assert_int_equal(n, CTL_HDR_SIZE + rep->len);
	assert_int_equal(ctl_hdr_parse(b, n, CTL_KIND_REPLY, &len, err,
				       sizeof(err)), 0);
	assert_int_equal(ctl_hdr_kind(b), CTL_KIND_PART);
	assert_int_equal(ctl_part_parse(b + CTL_HDR_SIZE, len, got, err,
					sizeof(err)), 0);
	assert_int_equal(got->status, 0);
	assert_string_equal(got->text, "cpu0 pc 0x1\n");
	/* a control byte in a part, a part over the text's room */
	b[CTL_HDR_SIZE] = 0x1b;
	assert_int_equal(ctl_part_parse(b + CTL_HDR_SIZE, len, got, err,
					sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_part_parse(b + CTL_HDR_SIZE, CTL_MAX_REPLY, got,
					err, sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_part_encode(b, 8, rep), -EMSGSIZE);
	/* with one, each flush hands the text over and empties it */
	rep->flush = count_flush;
	rep->flush_opaque = "cpu0 pc 0x1\n";
	assert_int_equal(ctl_reply_flush(rep), 0);
	assert_int_equal(rep->len, 0);
	assert_int_equal(ctl_reply_flush(rep), 0);	/* empty: no call */
	assert_int_equal(flushes, 1);
	ctl_reply_printf(rep, "cpu0 pc 0x1\n");
	assert_int_equal(ctl_reply_flush(rep), -EPIPE);
	free(b);
	free(got);
	free(rep);
}

static int calls;

static int fake_cmd(struct kvm *kvm, const struct ctl_request *req,
		    struct ctl_reply *rep)
{
	calls++;
	ctl_reply_printf(rep, "args %u", req->argc);
	return 0;
}

static void test_dispatch(void **state)
{
	static const struct ctl_command table[] = {
		{ "info", fake_cmd },
		{ "stop", fake_cmd },
	};
	struct ctl_request *req = malloc(sizeof(*req));
	struct ctl_reply *rep = malloc(sizeof(*rep));

	assert_ptr_equal(ctl_find(table, 2, "stop"), &table[1]);
	assert_null(ctl_find(table, 2, "sto"));
	assert_int_equal(ctl_request_parse((const u8 *)"stop\0a\0", 7, req, err,
					   sizeof(err)), 0);
	assert_int_equal(ctl_dispatch(table, 2, NULL, req, rep), 0);
	assert_int_equal(calls, 1);
	assert_string_equal(rep->text, "args 1");
	/* an unknown command: a failed reply, no handler */
	assert_int_equal(ctl_request_parse((const u8 *)"debug\0", 6, req, err,
					   sizeof(err)), 0);
	assert_int_equal(ctl_dispatch(table, 2, NULL, req, rep), 1);
	assert_int_equal(calls, 1);
	assert_string_equal(rep->text,
			    "unknown command 'debug'; this lkvm serves: info stop");
	free(req);
	free(rep);
}

static void test_balloon_args(void **state)
{
	const char *a[][2] = {
		{ "--inflate", "128" }, { "--deflate", "1G" }, { "--inflate", "4K" },
		{ "--inflate", "0" }, { "--deflate", "5K" }, { "--grow", "1" },
		{ "--inflate", "16T" }, { "--inflate", " 1" },
	};
	char e[160];
	s64 d;

	assert_int_equal(ctl_balloon_parse(2, a[0], &d, e, sizeof(e)), 0);
	assert_int_equal(d, 128 * 256);
	assert_int_equal(ctl_balloon_parse(2, a[1], &d, e, sizeof(e)), 0);
	assert_int_equal(d, -262144);
	assert_int_equal(ctl_balloon_parse(2, a[2], &d, e, sizeof(e)), 0);
	assert_int_equal(d, 1);
	/* nothing to do, part of a page, another verb, one past the limit */
	assert_int_equal(ctl_balloon_parse(2, a[3], &d, e, sizeof(e)), -EINVAL);
	assert_int_equal(ctl_balloon_parse(2, a[4], &d, e, sizeof(e)), -EINVAL);
	assert_int_equal(ctl_balloon_parse(2, a[5], &d, e, sizeof(e)), -EINVAL);
	assert_string_equal(e, "balloon: give --inflate SIZE or --deflate SIZE");
	assert_int_equal(ctl_balloon_parse(2, a[6], &d, e, sizeof(e)), -EINVAL);
	assert_string_equal(e, "--inflate '16T': over the balloon's limit of 16 TiB");
	assert_int_equal(ctl_balloon_parse(2, a[7], &d, e, sizeof(e)), -EINVAL);
	assert_int_equal(ctl_balloon_parse(1, a[0], &d, e, sizeof(e)), -EINVAL);
}

static void test_names(void **state)
{
	char long_name[CTL_NAME_MAX + 2];

	assert_int_equal(ctl_name_check("guest-123", err, sizeof(err)), 0);
	assert_int_equal(ctl_name_check("a.b_c+d-E9", err, sizeof(err)), 0);
	assert_int_equal(ctl_name_check("", err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_name_check(".hidden", err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_name_check("-opt", err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_name_check("a/b", err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_name_check("../x", err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_name_check("a b", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "letters, digits"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	assert_int_equal(ctl_name_check(long_name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "1 to 64 characters"));
	long_name[CTL_NAME_MAX] = 0;
	assert_int_equal(ctl_name_check(long_name, err, sizeof(err)), 0);
}

static void test_info(void **state)
{
	struct ctl_info in = {
		.pid = 4242, .name = "web", .paused = true, .cpus = 4,
		.mem = 512ULL << 20,
	}, out;
	struct ctl_reply *rep = malloc(sizeof(*rep));

	ctl_reply_init(rep);
	ctl_info_format(&in, rep);
	assert_string_equal(rep->text,
			    "pid=4242\nname=web\nstate=paused\ncpus=4\nmem=536870912\n");
	assert_int_equal(ctl_info_parse(rep->text, &out), 0);
	assert_int_equal(out.pid, 4242);
	assert_string_equal(out.name, "web");
	assert_true(out.paused);
	assert_int_equal(out.cpus, 4);
	assert_int_equal(out.mem, 512ULL << 20);
	/* unknown keys skipped (a newer server), no pid or name refused */
	assert_int_equal(ctl_info_parse("future=1\npid=7\nname=x", &out), 0);
	assert_false(out.paused);
	assert_int_equal(ctl_info_parse("name=x\n", &out), -EBADMSG);
	assert_int_equal(ctl_info_parse("pid=1\nname=", &out), -EBADMSG);
	free(rep);
}

static void test_list_lines(void **state)
{
	struct ctl_info a = {
		.pid = 31337, .name = "guest-31337", .cpus = 2, .mem = 256ULL << 20,
	};
	char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ctl_list_header(f);
	ctl_list_line(f, &a);
	a.paused = true;
	a.mem = 3ULL << 30;
	ctl_list_line(f, &a);
	fclose(f);
	assert_string_equal(buf,
		"     PID  NAME                      STATE     VCPUS      MEMORY\n"
		"   31337  guest-31337               running       2        256M\n"
		"   31337  guest-31337               paused        2          3G\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_oversized),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_balloon_args),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_list_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
