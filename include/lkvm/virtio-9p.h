/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_9P_H
#define LKVM_VIRTIO_9P_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * --9p HOSTDIR,TAG[,ro]: a host folder shared with the guest over
 * virtio-9p (virtio/9p.c), mounted there with
 *	mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt
 */

/* Longest mount tag we accept (kvmtool allows 32; Linux has no limit). */
#define P9_TAG_MAX		64

struct p9_spec {
	char dir[PATH_MAX];
	char tag[P9_TAG_MAX + 1];
	bool readonly;
};

/*
 * Split and check a --9p value (syntax only: the folder is checked when
 * the device is created). The tag is the text after the last comma, or
 * before a final ",ro", so HOSTDIR may itself contain commas; tags are
 * [A-Za-z0-9_.-]. Returns 0, or -EINVAL with a one-line reason in @err.
 */
int p9_spec_parse(const char *spec, struct p9_spec *out, char *err,
		  size_t errlen);

#endif
