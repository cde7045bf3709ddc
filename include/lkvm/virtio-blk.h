/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-blk requests (virtio/blk-req.c), portable: no KVM. The device
 * (virtio/blk.c) parses every chain with blk_req_parse() before touching
 * the disk, so a malformed chain gets an error status and never reaches
 * the I/O code, and carries checked requests out with blk_req_exec()
 * (raw reads and writes may go through its io_uring instead).
 */
#ifndef LKVM_VIRTIO_BLK_H
#define LKVM_VIRTIO_BLK_H

#include <linux/virtio_blk.h>

#include "lkvm/virtio.h"

#define BLK_HDR_SIZE		16	/* struct virtio_blk_outhdr */
#define BLK_MAX_DWZ_SEGS	16	/* max_discard_seg, max_write_zeroes_seg */

/* What the device offers: the bounds requests are checked against. */
struct blk_limits {
	u64 capacity;		/* 512-byte sectors */
	u32 seg_max;		/* data buffers in a read or write */
	u32 size_max;		/* bytes in one data buffer */
	u32 blk_size;		/* reads and writes are multiples of this */
	bool ro;
	bool flush;
	bool discard;
	bool write_zeroes;
	u32 max_discard_sectors;
	u32 max_write_zeroes_sectors;
};

/* A checked request; @data points into the chain's iovec, trimmed. */
struct blk_req {
	u32 type;		/* VIRTIO_BLK_T_* */
	u64 sector;
	struct iovec *data;	/* IN: device-writable, OUT: readable */
	unsigned int data_num;
	u64 data_len;
	u8 *status;		/* the chain's last writable byte, or NULL */
	unsigned int nr_segs;	/* DISCARD, WRITE_ZEROES */
	struct virtio_blk_discard_write_zeroes segs[BLK_MAX_DWZ_SEGS];
};

/*
 * Check the chain in @e and fill @r. Returns VIRTIO_BLK_S_OK if the
 * request may be carried out, or the status to complete it with
 * (r->status is NULL if the chain has no writable byte to put it in).
 * Adjusts e->iov in place: the header is skipped, the status trimmed.
 */
u8 blk_req_parse(struct virtq_elem *e, const struct blk_limits *lim,
		 struct blk_req *r);

struct disk;

/*
 * Carry out a checked request on @d synchronously. Returns 0 or -errno
 * (the status is VIRTIO_BLK_S_IOERR then); adds the data bytes written
 * into the guest's buffers to *@written.
 */
int blk_req_exec(struct disk *d, const struct blk_req *r, u32 *written);

#endif
