// SPDX-License-Identifier: GPL-2.0
/* --9p HOSTDIR,TAG[,ro]: parsing, no KVM (unit-tested natively). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/virtio-9p.h"

static bool tag_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int p9_spec_parse(const char *spec, struct p9_spec *out, char *err,
		  size_t errlen)
{
	size_t len = strlen(spec), dlen, tlen, i;
	const char *comma;

	memset(out, 0, sizeof(*out));
	if (len >= 3 && !strcmp(spec + len - 3, ",ro")) {
		out->readonly = true;
		len -= 3;
	}
	comma = memrchr(spec, ',', len);
	if (!comma) {
		snprintf(err, errlen, "invalid --9p '%s': give HOSTDIR,TAG[,ro]",
			 spec);
		return -EINVAL;
	}
	dlen = comma - spec;
	tlen = len - dlen - 1;
	if (!dlen) {
		snprintf(err, errlen, "invalid --9p '%s': no host folder before the tag",
			 spec);
		return -EINVAL;
	}
	if (dlen >= sizeof(out->dir)) {
		snprintf(err, errlen, "invalid --9p: host folder path too long");
		return -EINVAL;
	}
	if (!tlen || tlen > P9_TAG_MAX) {
		snprintf(err, errlen, "invalid --9p '%s': the tag must have 1 to %d characters",
			 spec, P9_TAG_MAX);
		return -EINVAL;
	}
	for (i = 0; i < tlen; i++) {
		if (!tag_char_ok(comma[1 + i])) {
			snprintf(err, errlen, "invalid --9p '%s': tag characters are letters, digits, '_', '-' and '.'",
				 spec);
			return -EINVAL;
		}
	}
	memcpy(out->dir, spec, dlen);
	memcpy(out->tag, comma + 1, tlen);
	return 0;
}
