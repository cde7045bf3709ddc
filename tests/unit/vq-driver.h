/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TEST_VQ_DRIVER_H
#define LKVM_TEST_VQ_DRIVER_H

/*
 * The driver's half of a split virtqueue, for tests: fake guest RAM (a
 * malloc'ed block at a made-up guest-physical address), rings laid out in
 * it as a virtio driver would, and helpers to build descriptor chains.
 */
#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/virtio.h"

#define VQD_GPA		0x80000000ULL
#define VQD_RAM		(1024 * 1024)
#define VQD_DATA	0x40000ULL	/* buffers start here (offset in RAM) */

struct vq_driver {
	struct guest_mem mem;
	struct virtqueue vq;
	u16 size;
	u64 desc, avail, used;	/* ring GPAs */
	u16 avail_idx;
	u64 next_data;		/* bump allocator for buffers */
};

static inline void *vqd_ptr(struct vq_driver *d, u64 gpa)
{
	return d->mem.host + (gpa - d->mem.gpa_start);
}

/* Lay the rings out in fresh zeroed memory (after a reset, too). */
static inline int vqd_setup(struct vq_driver *d, u16 size, bool event_idx,
			    bool indirect)
{
	memset(d->mem.host, 0, d->mem.size);
	d->size = size;
	d->desc = VQD_GPA;
	d->avail = d->desc + 16 * (u64)size;
	d->used = ALIGN_UP(d->avail + 6 + 2 * (u64)size, 4);
	d->avail_idx = 0;
	d->next_data = VQD_GPA + VQD_DATA;

	virtq_reset(&d->vq);
	d->vq.size = size;
	d->vq.desc_gpa = d->desc;
	d->vq.avail_gpa = d->avail;
	d->vq.used_gpa = d->used;
	d->vq.event_idx = event_idx;
	d->vq.indirect = indirect;
	return virtq_start(&d->vq, &d->mem);
}

static inline void vqd_init(struct vq_driver *d, u16 size, bool event_idx,
			    bool indirect)
{
	memset(d, 0, sizeof(*d));
	d->mem.host = aligned_alloc(4096, VQD_RAM);
	d->mem.gpa_start = VQD_GPA;
	d->mem.size = VQD_RAM;
	vqd_setup(d, size, event_idx, indirect);
}

static inline void vqd_exit(struct vq_driver *d)
{
	free(d->mem.host);
}

/* A buffer of @len bytes in guest RAM, filled with @fill. */
static inline u64 vqd_buf(struct vq_driver *d, u32 len, u8 fill)
{
	u64 gpa = d->next_data;

	memset(vqd_ptr(d, gpa), fill, len);
	d->next_data = ALIGN_UP(gpa + len, 16);
	return gpa;
}

/* Write descriptor @i of the table at @table_gpa. */
static inline void vqd_desc_at(struct vq_driver *d, u64 table_gpa, u16 i,
			       u64 addr, u32 len, u16 flags, u16 next)
{
	struct vring_desc *t = vqd_ptr(d, table_gpa);

	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].flags = htole16(flags);
	t[i].next = htole16(next);
}

static inline void vqd_desc(struct vq_driver *d, u16 i, u64 addr, u32 len,
			    u16 flags, u16 next)
{
	vqd_desc_at(d, d->desc, i, addr, len, flags, next);
}

static inline u16 *vqd_avail16(struct vq_driver *d, unsigned int word)
{
	return (u16 *)vqd_ptr(d, d->avail) + word;
}

/* Make the chain at @head available (and set avail->idx). */
static inline void vqd_publish(struct vq_driver *d, u16 head)
{
	*vqd_avail16(d, 2 + d->avail_idx % d->size) = htole16(head);
	d->avail_idx++;
	*vqd_avail16(d, 1) = htole16(d->avail_idx);
}

static inline void vqd_set_avail_idx(struct vq_driver *d, u16 idx)
{
	d->avail_idx = idx;
	*vqd_avail16(d, 1) = htole16(idx);
}

static inline void vqd_set_avail_flags(struct vq_driver *d, u16 flags)
{
	*vqd_avail16(d, 0) = htole16(flags);
}

static inline void vqd_set_used_event(struct vq_driver *d, u16 v)
{
	*vqd_avail16(d, 2 + d->size) = htole16(v);
}

static inline u16 vqd_used_flags(struct vq_driver *d)
{
	return le16toh(*(u16 *)vqd_ptr(d, d->used));
}

static inline u16 vqd_used_idx(struct vq_driver *d)
{
	return le16toh(*((u16 *)vqd_ptr(d, d->used) + 1));
}

static inline void vqd_used_elem(struct vq_driver *d, u16 i, u32 *id, u32 *len)
{
	struct vring_used_elem *e = (struct vring_used_elem *)
		((u8 *)vqd_ptr(d, d->used) + 4) + i % d->size;

	*id = le32toh(e->id);
	*len = le32toh(e->len);
}

static inline u16 vqd_avail_event(struct vq_driver *d)
{
	return le16toh(*(u16 *)((u8 *)vqd_ptr(d, d->used) + 4 + 8 * d->size));
}

#endif
