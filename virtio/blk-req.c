// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk requests (virtio 1.2, 5.2.6): a header of 16 driver-readable
 * bytes, data, and a status byte, the last device-writable byte of the
 * chain. Everything the guest controls is checked here; then the request
 * is carried out on the disk (disk/disk.c), which guards the image.
 */
#include <endian.h>
#include <string.h>

#include "lkvm/disk.h"
#include "lkvm/iov.h"
#include "lkvm/virtio-blk.h"

/* Take the last byte of iov[0..*n) off; returns a pointer to it. */
static u8 *iov_take_last(struct iovec *iov, unsigned int *n)
{
	u8 *last;

	while (*n && !iov[*n - 1].iov_len)
		(*n)--;
	if (!*n)
		return NULL;
	last = (u8 *)iov[*n - 1].iov_base + --iov[*n - 1].iov_len;
	if (!iov[*n - 1].iov_len)
		(*n)--;
	return last;
}

static bool sectors_ok(const struct blk_limits *lim, u64 sector, u64 nsect)
{
	return sector <= lim->capacity && nsect <= lim->capacity - sector;
}

static u8 parse_rw(const struct blk_limits *lim, struct blk_req *r,
		   bool write)
{
	unsigned int i;

	if (write && lim->ro)
		return VIRTIO_BLK_S_IOERR;
	if (r->data_num > lim->seg_max)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < r->data_num; i++)
		if (r->data[i].iov_len > lim->size_max)
			return VIRTIO_BLK_S_IOERR;
	if (r->data_len % DISK_SECTOR_SIZE || r->data_len % lim->blk_size ||
	    (r->sector * DISK_SECTOR_SIZE) % lim->blk_size)
		return VIRTIO_BLK_S_IOERR;
	if (!sectors_ok(lim, r->sector, r->data_len / DISK_SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static u8 parse_dwz(const struct blk_limits *lim, struct blk_req *r,
		    bool discard)
{
	u32 max = discard ? lim->max_discard_sectors :
			    lim->max_write_zeroes_sectors;
	size_t n = r->data_len / sizeof(r->segs[0]);
	unsigned int i;

	if (!(discard ? lim->discard : lim->write_zeroes))
		return VIRTIO_BLK_S_UNSUPP;
	if (lim->ro)
		return VIRTIO_BLK_S_IOERR;
	if (r->data_len % sizeof(r->segs[0]) || !n || n > BLK_MAX_DWZ_SEGS)
		return VIRTIO_BLK_S_IOERR;
	iov_to_buf(r->data, r->data_num, 0, r->segs, r->data_len);
	r->nr_segs = n;
	for (i = 0; i < n; i++) {
		struct virtio_blk_discard_write_zeroes *s = &r->segs[i];
		u32 flags;

		s->sector = le64toh(s->sector);
		s->num_sectors = le32toh(s->num_sectors);
		s->flags = flags = le32toh(s->flags);
		if (discard ? flags : flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors > max ||
		    !sectors_ok(lim, s->sector, s->num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

u8 blk_req_parse(struct virtq_elem *e, const struct blk_limits *lim,
		 struct blk_req *r)
{
	struct virtio_blk_outhdr hdr;
	struct iovec *out = virtq_elem_out(e), *in = virtq_elem_in(e);
	unsigned int in_num = e->in_num;
	u64 out_data, in_data;

	memset(r, 0, offsetof(struct blk_req, segs));
	r->type = ~0U;
	/* The status byte first, so that every error can be reported. */
	r->status = iov_take_last(in, &in_num);
	if (!r->status)
		return VIRTIO_BLK_S_IOERR;
	in_data = e->in_len - 1;
	if (e->out_len < BLK_HDR_SIZE)
		return VIRTIO_BLK_S_IOERR;
	iov_to_buf(out, e->out_num, 0, &hdr, sizeof(hdr));
	r->type = le32toh(hdr.type);
	r->sector = le64toh(hdr.sector);
	out_data = e->out_len - BLK_HDR_SIZE;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (out_data)
			return VIRTIO_BLK_S_IOERR;
		r->data = in;
		r->data_num = in_num;
		r->data_len = in_data;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (in_data)
			return VIRTIO_BLK_S_IOERR;
		r->data = out;
		r->data_num = e->out_num;
		iov_advance(&r->data, &r->data_num, BLK_HDR_SIZE);
		r->data_len = out_data;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (out_data || in_data)
			return VIRTIO_BLK_S_IOERR;
		return lim->flush ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	/* Zero-length buffers carry nothing: leave them out. */
	iov_advance(&r->data, &r->data_num, 0);

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return parse_rw(lim, r, false);
	case VIRTIO_BLK_T_OUT:
		return parse_rw(lim, r, true);
	case VIRTIO_BLK_T_DISCARD:
		return parse_dwz(lim, r, true);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_dwz(lim, r, false);
	default:	/* GET_ID */
		return VIRTIO_BLK_S_OK;
	}
}

static int exec_dwz(struct disk *d, const struct blk_req *r)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < r->nr_segs && ret >= 0; i++) {
		u64 s = r->segs[i].sector * DISK_SECTOR_SIZE;
		u64 n = (u64)r->segs[i].num_sectors * DISK_SECTOR_SIZE;

		if (r->type == VIRTIO_BLK_T_DISCARD)
			ret = disk_discard(d, s, n);
		else
			ret = disk_write_zeroes(d, s, n, r->segs[i].flags &
						VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	}
	return ret;
}

int blk_req_exec(struct disk *d, const struct blk_req *r, u32 *written)
{
	u64 off = r->sector * DISK_SECTOR_SIZE;
	ssize_t ret = 0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		ret = disk_preadv(d, r->data, r->data_num, off);
		if (ret >= 0)
			*written += r->data_len;
		break;
	case VIRTIO_BLK_T_OUT:
		ret = disk_pwritev(d, r->data, r->data_num, off);
		break;
	case VIRTIO_BLK_T_FLUSH:
		ret = disk_flush(d);
		break;
	case VIRTIO_BLK_T_GET_ID:
		*written += iov_from_buf(r->data, r->data_num, 0, d->serial,
					 MIN(r->data_len, sizeof(d->serial)));
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		ret = exec_dwz(d, r);
		break;
	}
	return ret < 0 ? (int)ret : 0;
}
