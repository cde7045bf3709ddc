// SPDX-License-Identifier: GPL-2.0
/*
 * iovec helpers (see include/lkvm/iov.h): totals, copies to and from flat
 * buffers, fills, slices, in-place consumption and whole transfers to or
 * from a file. One walker, iov_walk(), finds the pieces of a byte range;
 * copies and fills are what is done to each piece.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/iov.h"
#include "lkvm/util.h"

enum iov_op { IOV_TO_BUF, IOV_FROM_BUF, IOV_FILL };

size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

/* Apply @op to bytes [skip, skip + len) of @iov; @buf is the flat side. */
static size_t iov_walk(const struct iovec *iov, unsigned int n, size_t skip,
		       u8 *buf, int c, size_t len, enum iov_op op)
{
	size_t done = 0, chunk;
	unsigned int i;
	u8 *p;

	for (i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(iov[i].iov_len - skip, len - done);
		p = (u8 *)iov[i].iov_base + skip;
		if (op == IOV_TO_BUF)
			memcpy(buf + done, p, chunk);
		else if (op == IOV_FROM_BUF)
			memcpy(p, buf + done, chunk);
		else
			memset(p, c, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip,
		  void *buf, size_t len)
{
	return iov_walk(iov, n, skip, buf, 0, len, IOV_TO_BUF);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip,
		    const void *buf, size_t len)
{
	return iov_walk(iov, n, skip, (u8 *)buf, 0, len, IOV_FROM_BUF);
}

size_t iov_memset(const struct iovec *iov, unsigned int n, size_t skip,
		  int c, size_t len)
{
	return iov_walk(iov, n, skip, NULL, c, len, IOV_FILL);
}

unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t skip,
		       size_t len, struct iovec *dst, unsigned int max)
{
	unsigned int i, k = 0;
	size_t chunk;

	for (i = 0; i < n && len && k < max; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(iov[i].iov_len - skip, len);
		dst[k].iov_base = (u8 *)iov[i].iov_base + skip;
		dst[k].iov_len = chunk;
		k++;
		len -= chunk;
		skip = 0;
	}
	return k;
}

void iov_advance(struct iovec **iov, unsigned int *n, size_t bytes)
{
	while (*n && bytes >= (*iov)->iov_len) {
		bytes -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n && bytes) {
		(*iov)->iov_base = (u8 *)(*iov)->iov_base + bytes;
		(*iov)->iov_len -= bytes;
	}
}

ssize_t iov_pio(int fd, const struct iovec *iov, unsigned int n, size_t skip,
		size_t len, uint64_t off, bool write)
{
	struct iovec local[64], *buf = local, *v;
	size_t done = 0;
	unsigned int m;
	ssize_t r = 0;

	if (n > ARRAY_SIZE(local)) {
		buf = malloc(n * sizeof(*buf));
		if (!buf)
			return -ENOMEM;
	}
	/* our copy, without empty entries, is consumed as bytes move */
	m = iov_slice(iov, n, skip, len, buf, n);
	v = buf;
	while (m) {
		r = write ? pwritev(fd, v, MIN(m, IOV_MAX), off + done) :
			    preadv(fd, v, MIN(m, IOV_MAX), off + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += r;
		iov_advance(&v, &m, r);
	}
	r = r < 0 ? -errno : (ssize_t)done;
	if (buf != local)
		free(buf);
	return r;
}
