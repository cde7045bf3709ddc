/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Disk images behind virtio-blk (-d PATH[,ro][,direct][,snapshot][,id=X]),
 * portable: no KVM involved.
 *
 * An image is qcow2 if it starts with the qcow2 magic, raw otherwise.
 * Opening takes an advisory OFD lock on the image (a write lock for a
 * writable disk, a read lock otherwise), so a second lkvm cannot open
 * an image another one is writing. `snapshot` opens the image read-only
 * and sends writes to a qcow2 overlay in $TMPDIR, unlinked at once and
 * so discarded at exit. `direct` (raw images only) uses O_DIRECT: the
 * disk's logical block size becomes the alignment the file system
 * wants (512 or 4096 bytes), and guest buffers that are not aligned to
 * it in memory are bounced through an aligned buffer.
 *
 * The synchronous calls below serve both formats and may be called
 * concurrently; virtio/blk.c adds asynchronous raw I/O on top.
 */
#ifndef LKVM_DISK_H
#define LKVM_DISK_H

#include <limits.h>
#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "lkvm/util.h"

#define DISK_SECTOR_SIZE	512

/* A parsed -d argument. */
struct disk_spec {
	char path[PATH_MAX];
	bool ro;
	bool direct;
	bool snapshot;
	bool has_id;
	char id[VIRTIO_BLK_ID_BYTES + 1];
};

/*
 * Parse "PATH[,ro][,direct][,snapshot][,id=SERIAL]". Returns 0, or -1
 * with one line naming the problem in @err.
 */
int disk_spec_parse(const char *arg, struct disk_spec *spec, char *err,
		    size_t errlen);

enum disk_format {
	DISK_RAW,
	DISK_QCOW2,
};

struct qcow2;

struct disk {
	char *path;			/* as given */
	enum disk_format format;	/* of what we read and write */
	int fd;				/* raw image, or -1 */
	int base_fd;			/* snapshot: the locked image, or -1 */
	struct qcow2 *q;		/* qcow2 image or snapshot overlay */
	u64 size;			/* bytes the guest sees */
	bool ro;			/* the guest cannot write */
	bool direct;			/* O_DIRECT */
	bool snapshot;
	u32 align;			/* O_DIRECT alignment, 1 otherwise */
	bool can_discard;		/* discards do something */
	u64 discard_align;		/* bytes */
	char serial[VIRTIO_BLK_ID_BYTES];	/* not NUL-terminated if full */
};

/*
 * Open (and lock) the disk. On failure @err holds one line naming the
 * disk, and the image was not written to. Returns 0 or -errno.
 */
int disk_open(struct disk **dp, const struct disk_spec *spec, char *err,
	      size_t errlen);
/* Make completed writes durable, then close (unlocking). */
void disk_close(struct disk *d);

/*
 * Synchronous I/O of the whole iovec at byte @offset (within the disk).
 * Returns the byte count or -errno; O_DIRECT alignment is handled.
 */
ssize_t disk_preadv(struct disk *d, const struct iovec *iov, int n,
		    u64 offset);
ssize_t disk_pwritev(struct disk *d, const struct iovec *iov, int n,
		     u64 offset);
/* fdatasync() of a raw image, qcow2_flush() otherwise. 0 or -errno. */
int disk_flush(struct disk *d);
/* Deallocate (a hint: may do nothing). 0 or -errno. */
int disk_discard(struct disk *d, u64 offset, u64 len);
/* Make the range read as zeros; @unmap allows deallocating it. */
int disk_write_zeroes(struct disk *d, u64 offset, u64 len, bool unmap);
/* Can the iovec go to an O_DIRECT file as it is (memory and lengths)? */
bool disk_iov_aligned(const struct disk *d, const struct iovec *iov, int n);
/* The default serial: the image's file name, shortened to 20 bytes. */
void disk_default_serial(const char *path, char *serial);

#endif
