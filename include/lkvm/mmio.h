/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_MMIO_H
#define LKVM_MMIO_H

#include <pthread.h>
#include "lkvm/util.h"

/*
 * A device's MMIO handler. @offset is relative to the start of the
 * registered region; @data holds @len (1, 2, 4 or 8) little-endian bytes,
 * filled in by the handler on reads.
 */
typedef void (*mmio_handler_t)(void *opaque, u64 offset, u8 *data, u32 len,
			       bool is_write);

struct mmio_region {
	u64 start;
	u64 len;
	mmio_handler_t handler;
	void *opaque;
};

/*
 * Guest-physical MMIO regions kept sorted by start address: lookups are a
 * binary search under a read lock, so vCPUs do not serialise on exits.
 */
struct mmio_bus {
	pthread_rwlock_t lock;
	struct mmio_region *regions;
	unsigned int nr;
	unsigned int cap;
};

void mmio_bus_init(struct mmio_bus *bus);
void mmio_bus_exit(struct mmio_bus *bus);
/* Returns 0, -EEXIST if the range overlaps another, -EINVAL, -ENOMEM. */
int mmio_register(struct mmio_bus *bus, u64 start, u64 len,
		  mmio_handler_t handler, void *opaque);
int mmio_unregister(struct mmio_bus *bus, u64 start);
/*
 * Dispatch an access. Returns false if nothing is mapped there (reads then
 * return zeroes); the caller logs it, rate-limited.
 */
bool mmio_dispatch(struct mmio_bus *bus, u64 addr, u8 *data, u32 len,
		   bool is_write);

#endif
