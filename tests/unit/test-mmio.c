// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/mmio.h"

struct fake_dev {
	u64 last_offset;
	u32 last_len;
	bool last_write;
	int calls;
	u8 value;
};

static void fake_handler(void *opaque, u64 offset, u8 *data, u32 len,
			 bool is_write)
{
	struct fake_dev *d = opaque;

	d->last_offset = offset;
	d->last_len = len;
	d->last_write = is_write;
	d->calls++;
	if (!is_write)
		memset(data, d->value, len);
}

static void test_register_and_dispatch(void **state)
{
	struct fake_dev a = { .value = 0xaa }, b = { .value = 0xbb };
	struct mmio_bus bus;
	u8 data[8];

	mmio_bus_init(&bus);
	assert_int_equal(mmio_register(&bus, 0x2000, 0x1000, fake_handler, &b), 0);
	assert_int_equal(mmio_register(&bus, 0x1000, 0x1000, fake_handler, &a), 0);

	assert_true(mmio_dispatch(&bus, 0x1ffc, data, 4, false));
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.last_offset, 0xffc);
	assert_int_equal(data[0], 0xaa);

	assert_true(mmio_dispatch(&bus, 0x2000, data, 1, true));
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.last_offset, 0);
	assert_true(b.last_write);
	mmio_bus_exit(&bus);
}

static void test_overlaps_refused(void **state)
{
	struct fake_dev a = { 0 };
	struct mmio_bus bus;

	mmio_bus_init(&bus);
	assert_int_equal(mmio_register(&bus, 0x1000, 0x1000, fake_handler, &a), 0);
	assert_int_equal(mmio_register(&bus, 0x1800, 0x100, fake_handler, &a), -EEXIST);
	assert_int_equal(mmio_register(&bus, 0x0800, 0x1000, fake_handler, &a), -EEXIST);
	assert_int_equal(mmio_register(&bus, 0x0000, 0x10000, fake_handler, &a), -EEXIST);
	assert_int_equal(mmio_register(&bus, 0x1fff, 1, fake_handler, &a), -EEXIST);
	/* Adjacent is fine. */
	assert_int_equal(mmio_register(&bus, 0x2000, 0x10, fake_handler, &a), 0);
	assert_int_equal(mmio_register(&bus, 0x0f00, 0x100, fake_handler, &a), 0);
	/* Zero length and wrap-around are invalid. */
	assert_int_equal(mmio_register(&bus, 0x9000, 0, fake_handler, &a), -EINVAL);
	assert_int_equal(mmio_register(&bus, UINT64_MAX - 4, 16, fake_handler, &a), -EINVAL);
	mmio_bus_exit(&bus);
}

static void test_unmapped_and_straddling(void **state)
{
	struct fake_dev a = { .value = 0x55 };
	struct mmio_bus bus;
	u8 data[8];

	mmio_bus_init(&bus);
	assert_int_equal(mmio_register(&bus, 0x1000, 0x10, fake_handler, &a), 0);
	memset(data, 0xff, sizeof(data));
	assert_false(mmio_dispatch(&bus, 0x0fff, data, 1, false));
	assert_int_equal(data[0], 0);	/* reads of nothing return zero */
	assert_false(mmio_dispatch(&bus, 0x1010, data, 4, false));
	/* An access running off the end of the region is not dispatched. */
	assert_false(mmio_dispatch(&bus, 0x100c, data, 8, false));
	assert_false(mmio_dispatch(&bus, UINT64_MAX, data, 8, true));
	assert_int_equal(a.calls, 0);
	mmio_bus_exit(&bus);
}

static void test_many_regions_and_unregister(void **state)
{
	struct fake_dev devs[100] = { 0 };
	struct mmio_bus bus;
	u8 data[4];
	int i;

	mmio_bus_init(&bus);
	/* Insert in a scrambled order to exercise the sorted insert. */
	for (i = 0; i < 100; i++) {
		int k = (i * 37) % 100;

		devs[k].value = (u8)k;
		assert_int_equal(mmio_register(&bus, 0x10000 + k * 0x100, 0x100,
					       fake_handler, &devs[k]), 0);
	}
	for (i = 0; i < 100; i++) {
		assert_true(mmio_dispatch(&bus, 0x10000 + i * 0x100 + 0x80,
					  data, 4, false));
		assert_int_equal(data[0], i);
		assert_int_equal(devs[i].last_offset, 0x80);
	}
	assert_int_equal(mmio_unregister(&bus, 0x10000 + 50 * 0x100), 0);
	assert_int_equal(mmio_unregister(&bus, 0x10000 + 50 * 0x100), -ENOENT);
	assert_false(mmio_dispatch(&bus, 0x10000 + 50 * 0x100, data, 4, false));
	assert_true(mmio_dispatch(&bus, 0x10000 + 51 * 0x100, data, 4, false));
	mmio_bus_exit(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_dispatch),
		cmocka_unit_test(test_overlaps_refused),
		cmocka_unit_test(test_unmapped_and_straddling),
		cmocka_unit_test(test_many_regions_and_unregister),
	};

	return cmocka_run_group_tests_name("mmio", tests, NULL, NULL);
}
