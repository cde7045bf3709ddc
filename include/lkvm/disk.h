/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Disk images behind virtio-blk
 * (-d PATH[,ro][,direct][,snapshot][,id=X][,format=raw|qcow2]), portable:
 * no KVM involved.
 *
 * With format= the image is what it says and is never probed. Without,
 * an image is qcow2 if its first sector looks like one (disk_probe()),
 * raw otherwise; and an image probed as raw must stay raw: a write that
 * would make its first sector probe as another format fails (-EPERM,
 * and one line on stderr), as QEMU does since CVE-2008-2004. Otherwise
 * a guest could write a qcow2 header naming a host file as its backing
 * file onto its raw disk and read that file after the next start.
 * This holds in every mode, snapshot included, so a guest sees the same
 * disk whatever the mode.
 *
 * Opening takes an advisory OFD lock on the image (a write lock for a
 * writable disk, a read lock otherwise), so a second lkvm cannot open
 * an image another one is writing. `snapshot` opens the image read-only
 * and sends writes to a qcow2 overlay in $TMPDIR, unlinked at once and
 * so discarded at exit; the overlay names the image's format as decided
 * here (format= or the one probe), so the image is never probed again.
 * `direct` (raw images only) uses O_DIRECT: the disk's logical block size
 * becomes the alignment the file system wants (512 or 4096 bytes), and
 * guest buffers that are not aligned to it in memory are bounced through
 * an aligned buffer.
 *
 * The synchronous calls below serve both formats and may be called
 * concurrently; virtio/blk.c adds asynchronous raw I/O on top.
 */
#ifndef LKVM_DISK_H
#define LKVM_DISK_H

#include <limits.h>
#include <linux/virtio_blk.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "lkvm/util.h"

#define DISK_SECTOR_SIZE	512
#define DISK_PROBE_LEN		DISK_SECTOR_SIZE	/* bytes disk_probe() looks at */

enum disk_format {
	DISK_RAW,
	DISK_QCOW2,
};

/* A parsed -d argument. */
struct disk_spec {
	char path[PATH_MAX];
	bool ro;
	bool direct;
	bool snapshot;
	bool has_id;
	char id[VIRTIO_BLK_ID_BYTES + 1];
	bool has_format;		/* format= given: never probe */
	enum disk_format format;
};

/*
 * Parse "PATH[,ro][,direct][,snapshot][,id=SERIAL][,format=raw|qcow2]".
 * Returns 0, or -1 with one line naming the problem in @err.
 */
int disk_spec_parse(const char *arg, struct disk_spec *spec, char *err,
		    size_t errlen);

/* The format of an image whose first @len bytes (up to DISK_PROBE_LEN) are @buf. */
enum disk_format disk_probe(const u8 *buf, size_t len);
/* "raw", "qcow2" */
const char *disk_format_name(enum disk_format f);

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
	bool probed_raw;		/* no format=, probed raw: guard sector 0 */
	bool warned_probe;		/* said why a sector 0 write failed */
	pthread_mutex_t guard_lock;	/* writes reaching sector 0 of probed_raw */
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
 * Returns the byte count or -errno; O_DIRECT alignment is handled. Writes,
 * discards and write zeroes that reach the first sector of an image probed
 * as raw are checked there (see the top of this file).
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
/*
 * Must a write at @offset go through disk_pwritev(), because it reaches
 * the first sector of an image probed as raw, rather than straight to
 * d->fd? (virtio/blk-uring.c asks.)
 */
bool disk_write_checked(const struct disk *d, u64 offset);
/* Can the iovec go to an O_DIRECT file as it is (memory and lengths)? */
bool disk_iov_aligned(const struct disk *d, const struct iovec *iov, int n);
/* The default serial: the image's file name, shortened to 20 bytes. */
void disk_default_serial(const char *path, char *serial);

#endif
