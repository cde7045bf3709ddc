// SPDX-License-Identifier: GPL-2.0
/*
 * The MMIO bus: guest-physical ranges claimed by devices. Kept as an array
 * sorted by start address, so a lookup on every MMIO exit is a binary
 * search; registration is rare and may be slow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/mmio.h"

void mmio_bus_init(struct mmio_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
}

void mmio_bus_exit(struct mmio_bus *bus)
{
	free(bus->regions);
	bus->regions = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first region whose start is > addr. */
static unsigned int upper_bound(const struct mmio_bus *bus, u64 addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (bus->regions[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool region_contains(const struct mmio_region *r, u64 addr)
{
	return addr >= r->start && addr - r->start < r->len;
}

static int grow(struct mmio_bus *bus)
{
	unsigned int cap = bus->cap ? bus->cap * 2 : 16;
	struct mmio_region *r;

	r = realloc(bus->regions, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	bus->regions = r;
	bus->cap = cap;
	return 0;
}

int mmio_register(struct mmio_bus *bus, u64 start, u64 len,
		  mmio_handler_t handler, void *opaque)
{
	unsigned int i;
	int ret = 0;

	if (!len || !handler || start + len - 1 < start)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, start);
	/* Overlap with the region before, or with the one after? */
	if ((i > 0 && region_contains(&bus->regions[i - 1], start)) ||
	    (i < bus->nr && bus->regions[i].start <= start + len - 1)) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap && (ret = grow(bus)) < 0)
		goto out;
	memmove(&bus->regions[i + 1], &bus->regions[i],
		(bus->nr - i) * sizeof(bus->regions[0]));
	bus->regions[i] = (struct mmio_region) {
		.start = start, .len = len, .handler = handler, .opaque = opaque,
	};
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int mmio_unregister(struct mmio_bus *bus, u64 start)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, start);
	if (i > 0 && bus->regions[i - 1].start == start) {
		i--;
		memmove(&bus->regions[i], &bus->regions[i + 1],
			(bus->nr - i - 1) * sizeof(bus->regions[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool mmio_dispatch(struct mmio_bus *bus, u64 addr, u8 *data, u32 len,
		   bool is_write)
{
	struct mmio_region *r = NULL;
	mmio_handler_t handler = NULL;
	void *opaque = NULL;
	u64 offset = 0;
	unsigned int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = upper_bound(bus, addr);
	if (i > 0 && region_contains(&bus->regions[i - 1], addr)) {
		r = &bus->regions[i - 1];
		/* An access straddling the end of a region is not for it. */
		if (len <= r->len - (addr - r->start)) {
			handler = r->handler;
			opaque = r->opaque;
			offset = addr - r->start;
		}
	}
	/*
	 * Handlers run under the read lock: devices are unregistered only
	 * with the bus write-locked, so the opaque pointer stays valid.
	 */
	if (handler)
		handler(opaque, offset, data, len, is_write);
	pthread_rwlock_unlock(&bus->lock);

	if (!handler && !is_write)
		memset(data, 0, len);
	return handler != NULL;
}
