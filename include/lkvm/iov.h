/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iovec arrays: the one place that walks them.
 *
 * Guest requests (virtqueue chains) and disk I/O arrive as iovec arrays
 * whose entries may be of any length, zero included. Every parser and
 * backend reads, writes, measures and consumes them through these
 * helpers, so that the walking logic (skipping whole entries, splitting
 * one, stopping at the end of the array) is written and tested once.
 *
 * Only iov_pio() can fail (on the file). The others do what fits within
 * the array (or @max) and say how much that was; bounds against
 * guest-declared lengths are the caller's. A @skip beyond the end makes
 * every helper do nothing.
 *
 * No KVM here: util/iov.c is portable, built into the unit tests and
 * every fuzz target.
 */
#ifndef LKVM_IOV_H
#define LKVM_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Sum of the entries' lengths; SIZE_MAX if it does not fit a size_t. */
size_t iov_total(const struct iovec *iov, unsigned int n);
/*
 * Copy between bytes [skip, skip + len) of @iov and a flat buffer, or
 * fill them with byte @c; return the number of bytes copied or filled.
 */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip,
		    const void *buf, size_t len);
size_t iov_memset(const struct iovec *iov, unsigned int n, size_t skip,
		  int c, size_t len);
/*
 * Describe bytes [skip, skip + len) of @iov in @dst (at most @max
 * entries, no copy, no zero-length entry); returns the number filled.
 */
unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t skip,
		       size_t len, struct iovec *dst, unsigned int max);
/*
 * Consume @bytes from the front of the array *@iov of *@n entries, in
 * place: whole entries (and zero-length ones met on the way) are dropped
 * by moving *@iov on and lowering *@n, a partly consumed one is shrunk.
 * With @bytes 0 it drops leading zero-length entries. Past the end, the
 * array comes out empty.
 */
void iov_advance(struct iovec **iov, unsigned int *n, size_t bytes);
/*
 * preadv() (pwritev() if @write) bytes [skip, skip + len) of @iov at file
 * offset @off, restarting after signals and short transfers, IOV_MAX
 * entries at a time. Returns the bytes transferred, fewer than @len only
 * at the end of the file (or of @iov), or -errno.
 */
ssize_t iov_pio(int fd, const struct iovec *iov, unsigned int n, size_t skip,
		size_t len, uint64_t off, bool write);

#endif
