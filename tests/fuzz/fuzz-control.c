// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for util/control-msg.c: the input is what a client
 * (or a server) sent down the control socket. Its first byte picks the
 * kind it is read as; the rest goes through the header check, then the
 * request or reply parser as the server and client run them, and a
 * request that parses must encode back to the same bytes. The info
 * parser gets the text of any reply. Seeds: tests/fuzz/corpus/control/
 * (requests with and without arguments, a reply, an info reply).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/control.h"

static void request(const u8 *msg, size_t len)
{
	static struct ctl_request req;
	static u8 again[CTL_HDR_SIZE + CTL_MAX_REQUEST];
	char err[256];
	ssize_t n;
	u32 plen;

	if (ctl_hdr_parse(msg, len, CTL_KIND_REQUEST, &plen, err, sizeof(err)) < 0 ||
	    plen > len - CTL_HDR_SIZE)
		return;
	if (ctl_request_parse(msg + CTL_HDR_SIZE, plen, &req, err, sizeof(err)) < 0)
		return;
	if (req.argc > CTL_MAX_ARGS || strlen(req.cmd) >= CTL_CMD_MAX)
		abort();
	n = ctl_request_encode(again, sizeof(again), req.cmd, req.argv, req.argc);
	if (n != (ssize_t)(CTL_HDR_SIZE + plen) ||
	    memcmp(again, msg, CTL_HDR_SIZE + plen))
		abort();
}

static void reply(const u8 *msg, size_t len)
{
	static struct ctl_reply rep;
	struct ctl_info info;
	char err[256];
	u32 plen;

	if (ctl_hdr_parse(msg, len, CTL_KIND_REPLY, &plen, err, sizeof(err)) < 0 ||
	    plen > len - CTL_HDR_SIZE)
		return;
	/* a part of a long reply (a dump): text only */
	if (ctl_hdr_kind(msg) == CTL_KIND_PART) {
		if (ctl_part_parse(msg + CTL_HDR_SIZE, plen, &rep, err,
				   sizeof(err)) == 0 &&
		    (rep.len != plen || strlen(rep.text) != rep.len))
			abort();
		return;
	}
	if (ctl_reply_parse(msg + CTL_HDR_SIZE, plen, &rep, err, sizeof(err)) < 0)
		return;
	if (rep.len != plen - 4 || strlen(rep.text) != rep.len)
		abort();
	ctl_info_parse(rep.text, &info);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		reply(data + 1, size - 1);
	else
		request(data + 1, size - 1);
	return 0;
}
