/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qcow2 disk images (versions 2 and 3), portable: no KVM involved.
 *
 * Reads: allocated, unallocated (zeros or the backing file), zero
 * (v3 zero flag) and zlib-compressed clusters. Backing files are raw or
 * qcow2, as the backing format header extension says (probed only when
 * it is absent), and always opened read-only (O_RDONLY), so nothing in
 * the chain below the top image is ever written; a relative backing path
 * is resolved against the directory of the image naming it; loops and
 * chains deeper than QCOW2_MAX_CHAIN are refused.
 *
 * Writes allocate clusters at the end of the file (freed clusters are
 * never reused) and keep the refcounts exact on disk at every point: new
 * data and refcount increments are made durable (fdatasync) before any
 * L2/L1 entry points at them, and a cluster is only dereferenced (its
 * refcount decremented) after the table that dropped it is durable. A
 * crash therefore leaks clusters at worst (`qemu-img check -r leaks`),
 * and no lazy refcounts or dirty bit are used. Metadata caches are
 * write-through, so the image is consistent after every call, and
 * qcow2_flush() only needs to make the guest data durable.
 *
 * Thread safety: all calls may be made concurrently on one struct qcow2.
 * A single mutex covers metadata (a coarse lock: lookups, allocation,
 * the caches); data I/O to clusters that are already allocated and owned
 * (refcount 1, OFLAG_COPIED) happens outside it.
 *
 * Not supported (refused at open, naming the feature): encryption,
 * external data files, extended L2 entries, zstd compression, unknown
 * incompatible features, and writes to images marked dirty or corrupt.
 * Internal snapshots are ignored for reading; writing to an image with
 * snapshots copies shared clusters on write as qemu does.
 */
#ifndef LKVM_QCOW2_H
#define LKVM_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "lkvm/util.h"

#define QCOW2_MAGIC_LEN		4
#define QCOW2_MAX_CHAIN		16	/* images in a backing chain, top included */

/* qcow2_open() flags; `true` is QCOW2_RDONLY, so a bool also works. */
#define QCOW2_RDONLY		(1U << 0)
#define QCOW2_NO_BACKING	(1U << 1)	/* refuse images that have a backing file */

struct qcow2;

/* Does this look like a qcow2 image? @hdr is the start of the file. */
bool qcow2_probe(const u8 *hdr, size_t len);

/*
 * Open the image in @fd (@path is used in messages and to resolve a
 * relative backing file name). On success the struct owns @fd; on
 * failure the caller still does, nothing was written to the file, and
 * @err holds a one-line reason. Returns 0 or -errno.
 */
int qcow2_open(struct qcow2 **q, const char *path, int fd, unsigned int flags,
	       char *err, size_t errlen);

/* Virtual disk size in bytes. */
u64 qcow2_size(const struct qcow2 *q);

/* Allocation unit: the useful discard / write-zeroes granularity. */
u64 qcow2_cluster_size(const struct qcow2 *q);

/*
 * Transfer the whole iovec at virtual @offset. The range must lie within
 * the disk (-EINVAL otherwise). Returns the byte count or -errno; writes
 * to a read-only image fail with -EROFS.
 */
ssize_t qcow2_preadv(struct qcow2 *q, const struct iovec *iov, int iovcnt,
		     u64 offset);
ssize_t qcow2_pwritev(struct qcow2 *q, const struct iovec *iov, int iovcnt,
		      u64 offset);

/* Make every completed write durable (metadata is already). 0 or -errno. */
int qcow2_flush(struct qcow2 *q);

/*
 * Drop whole clusters in the range (partial clusters are left alone).
 * Discarded clusters then read as zeros, except on a v2 image with a
 * backing file where discard does nothing. 0 or -errno.
 */
int qcow2_discard(struct qcow2 *q, u64 offset, u64 len);

/* Make the range read as zeros: zero clusters where possible. */
int qcow2_write_zeroes(struct qcow2 *q, u64 offset, u64 len);

/* Flush and free; closes the image's fd and the backing chain. */
void qcow2_close(struct qcow2 *q);

/*
 * Create a new v3 image at @path (which must not exist) with 64 KiB
 * clusters and 16-bit refcounts. With @backing_file, @size 0 means the
 * backing file's size and @backing_fmt ("raw" or "qcow2") is probed when
 * NULL; the backing name is stored as given (a relative name is relative
 * to the new image's directory). Returns 0 or -errno with @err set.
 */
int qcow2_create(const char *path, u64 size, const char *backing_file,
		 const char *backing_fmt, char *err, size_t errlen);

#endif
