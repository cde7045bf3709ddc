// SPDX-License-Identifier: GPL-2.0
/* The guest kernel command line: the user's -p plus what our devices need. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/cmdline.h"
#include "lkvm/kvm.h"

/* Length of the next word starting at @s, honouring double quotes. */
static size_t word_len(const char *s)
{
	bool quoted = false;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] == '"')
			quoted = !quoted;
		else if (s[n] == ' ' && !quoted)
			break;
	}
	return n;
}

bool cmdline_has_param(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (p && *p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = word_len(p);
		if (n == 2 && !strncmp(p, "--", 2))
			break;
		if (n >= klen && !strncmp(p, key, klen) &&
		    (n == klen || p[klen] == '='))
			return true;
		p += n;
	}
	return false;
}

/* Offset of a "--" word that starts init's arguments, or strlen(s). */
static size_t init_args_offset(const char *s)
{
	size_t off = 0;

	while (s[off]) {
		size_t n;

		while (s[off] == ' ')
			off++;
		n = word_len(s + off);
		if (n == 2 && !strncmp(s + off, "--", 2))
			return off;
		off += n;
	}
	return off;
}

int kvm_cmdline_add_default(struct kvm *kvm, const char *key, const char *param)
{
	const char *old = kvm->cmdline ? kvm->cmdline : "";
	size_t head, len;
	char *cmd;

	if (cmdline_has_param(old, key))
		return 0;

	len = strlen(old) + strlen(param) + 3;
	if (len > LKVM_CMDLINE_MAX) {
		pr_err("kernel command line too long (more than %d bytes)",
		       LKVM_CMDLINE_MAX);
		return -E2BIG;
	}
	cmd = malloc(len);
	if (!cmd)
		return -ENOMEM;

	/* Kernel parameters must come before a "--" that starts init's. */
	head = init_args_offset(old);
	while (head && old[head - 1] == ' ')
		head--;
	if (snprintf(cmd, len, "%.*s%s%s%s%s", (int)head, old,
		     head ? " " : "", param, old[head] ? " " : "",
		     old + head + (old[head] == ' ')) >= (int)len) {
		free(cmd);
		return -E2BIG;
	}
	free(kvm->cmdline);
	kvm->cmdline = cmd;
	return 0;
}
