/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_GUEST_MEM_H
#define LKVM_GUEST_MEM_H

#include "lkvm/util.h"

/*
 * Guest RAM as the VMM sees it: one contiguous block of host memory mapped
 * at guest-physical @gpa_start. Every pointer into guest memory that is
 * derived from a guest-supplied address goes through guest_ptr(), which
 * refuses ranges that are not wholly inside RAM (overflow-safe).
 */
struct guest_mem {
	u8 *host;
	u64 gpa_start;
	u64 size;
};

static inline void *guest_ptr(const struct guest_mem *mem, u64 gpa, u64 len)
{
	u64 off;

	if (gpa < mem->gpa_start)
		return NULL;
	off = gpa - mem->gpa_start;
	if (off > mem->size || len > mem->size - off)
		return NULL;
	return mem->host + off;
}

static inline bool guest_range_ok(const struct guest_mem *mem, u64 gpa, u64 len)
{
	return guest_ptr(mem, gpa, len) != NULL;
}

#endif
