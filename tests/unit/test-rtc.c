// SPDX-License-Identifier: GPL-2.0
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/fdt.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/watch.h"
#include "lkvm/layout.h"
#include "lkvm/rtc.h"
#include "lkvm/util.h"
#include "stubs.h"

#define DR	0x00
#define MR	0x04
#define LR	0x08
#define CR	0x0c
#define IMSC	0x10
#define RIS	0x14
#define MIS	0x18
#define ICR	0x1c

static u64 fake_time;

static u64 fake_now(void)
{
	return fake_time;
}

struct rtc {
	struct pl031 p;
	int irq, irq_calls;
};

static void rtc_irq(void *ctx, int level)
{
	struct rtc *r = ctx;

	r->irq = level;
	r->irq_calls++;
}

static u32 rd(struct rtc *r, u64 off)
{
	u8 d[4] = { 0xee, 0xee, 0xee, 0xee };

	pl031_mmio(&r->p, off, d, 4, false);
	/* Little-endian, whatever the host. */
	return get_le32(d);
}

static void wr(struct rtc *r, u64 off, u32 v)
{
	u8 d[4] = { v, v >> 8, v >> 16, v >> 24 };

	pl031_mmio(&r->p, off, d, 4, true);
}

static int setup(void **state)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	fake_time = 1700000000;
	pl031_init(&r->p);
	r->p.now = fake_now;
	r->p.set_irq = rtc_irq;
	r->p.ctx = r;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rtc *r = *state;

	pl031_exit(&r->p);
	free(r);
	return 0;
}

static void test_host_time(void **state)
{
	struct pl031 p;
	u8 d[4];
	u32 dr;
	time_t before = time(NULL), after;

	pl031_init(&p);
	pl031_mmio(&p, DR, d, 4, false);
	after = time(NULL);
	dr = get_le32(d);
	assert_in_range(dr, (u32)before, (u32)after);
	pl031_exit(&p);
}

static void test_counter(void **state)
{
	struct rtc *r = *state;

	assert_int_equal(rd(r, DR), 1700000000);
	fake_time += 42;
	assert_int_equal(rd(r, DR), 1700000042);
	/* DR is read-only. */
	wr(r, DR, 5);
	assert_int_equal(rd(r, DR), 1700000042);
}

static void test_load_sets_offset(void **state)
{
	struct rtc *r = *state;

	wr(r, LR, 1000);
	assert_int_equal(rd(r, DR), 1000);
	assert_int_equal(rd(r, LR), 1000);
	fake_time += 5;
	assert_int_equal(rd(r, DR), 1005);
	assert_int_equal(rd(r, LR), 1000);

	/* Forward past the host's clock, and up to the 32 bit limit. */
	wr(r, LR, 0xfffffffe);
	fake_time += 1;
	assert_int_equal(rd(r, DR), 0xffffffff);
	fake_time += 1;
	assert_int_equal(rd(r, DR), 0);
}

static void test_id_registers(void **state)
{
	static const u32 ids[8] = {
		0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1,
	};
	struct rtc *r = *state;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(rd(r, 0xfe0 + 4 * i), ids[i]);
	/* Writes do not change them. */
	wr(r, 0xfe0, 0);
	assert_int_equal(rd(r, 0xfe0), 0x31);
}

static void test_control(void **state)
{
	struct rtc *r = *state;

	assert_int_equal(rd(r, CR), 1);
	wr(r, CR, 0);
	assert_int_equal(rd(r, CR), 1);	/* only a reset stops it */
	wr(r, CR, 1);
	assert_int_equal(rd(r, CR), 1);
}

static void test_match_interrupt(void **state)
{
	struct rtc *r = *state;

	wr(r, MR, 1700000002);
	assert_int_equal(rd(r, MR), 1700000002);
	fake_time += 1;
	assert_int_equal(rd(r, RIS), 0);
	fake_time += 2;		/* went past it between two accesses */
	assert_int_equal(rd(r, RIS), 1);
	assert_int_equal(rd(r, MIS), 0);
	assert_int_equal(r->irq_calls, 0);

	wr(r, IMSC, 1);
	assert_int_equal(rd(r, IMSC), 1);
	assert_int_equal(rd(r, MIS), 1);
	assert_int_equal(r->irq, 1);

	wr(r, ICR, 1);
	assert_int_equal(rd(r, RIS), 0);
	assert_int_equal(rd(r, MIS), 0);
	assert_int_equal(r->irq, 0);

	/* It fired once: no second interrupt until MR is written again. */
	fake_time += 100;
	assert_int_equal(rd(r, RIS), 0);

	/* A match in the past never fires; an equal one fires at once. */
	wr(r, MR, 1000);
	fake_time += 10;
	assert_int_equal(rd(r, RIS), 0);
	wr(r, MR, (u32)fake_time);
	assert_int_equal(rd(r, RIS), 1);
	assert_int_equal(r->irq, 1);
	wr(r, IMSC, 0);
	assert_int_equal(r->irq, 0);
	assert_int_equal(r->irq_calls, 4);
}

static void test_load_jump_is_no_match(void **state)
{
	struct rtc *r = *state;

	wr(r, MR, 1700000100);
	wr(r, LR, 1800000000);
	fake_time += 5;
	assert_int_equal(rd(r, RIS), 0);
}

static void test_bad_accesses(void **state)
{
	struct rtc *r = *state;
	u8 d[8];
	u32 len;

	for (len = 1; len <= 8; len *= 2) {
		if (len == 4)
			continue;
		memset(d, 0xee, sizeof(d));
		pl031_mmio(&r->p, DR, d, len, false);
		assert_int_equal(d[0], 0);
		assert_int_equal(d[len - 1], 0);
		memset(d, 0, sizeof(d));
		pl031_mmio(&r->p, LR, d, len, true);
	}
	memset(d, 0xee, sizeof(d));
	pl031_mmio(&r->p, DR + 1, d, 4, false);
	assert_int_equal(d[0] | d[3], 0);
	memset(d, 0, sizeof(d));
	pl031_mmio(&r->p, LR + 2, d, 4, true);
	pl031_mmio(&r->p, 0x1000, d, 4, false);
	assert_int_equal(rd(r, 0x020), 0);	/* unassigned */
	assert_int_equal(rd(r, 0xfdc), 0);

	assert_int_equal(rd(r, DR), 1700000000);	/* LR was never hit */
}

/* Property values are only 4 byte aligned. */
static u64 be64_at(const void *p, int idx)
{
	fdt64_t v;

	memcpy(&v, (const u8 *)p + 8 * idx, sizeof(v));
	return fdt64_to_cpu(v);
}

static void test_glue(void **state)
{
	static u8 fdt[4096];
	static const char compat[] = "arm,pl031\0arm,primecell";
	const fdt32_t *cells;
	const void *reg;
	struct kvm kvm;
	const void *p;
	int node, len;
	u8 d[4];

	memset(&kvm, 0, sizeof(kvm));
	device_list_init(&kvm.devices);
	kvm.irq_parent = &gic_fdt_irq_parent;
	mmio_bus_init(&kvm.mmio);
	assert_int_equal(init_all(&kvm.init, &kvm), 0);

	assert_true(mmio_dispatch(&kvm.mmio, LKVM_RTC_BASE + 0xff0, d, 4,
				  false));
	assert_int_equal(d[0], 0x0d);

	assert_int_equal(fdt_create(fdt, sizeof(fdt)), 0);
	assert_int_equal(fdt_finish_reservemap(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, ""), 0);
	assert_int_equal(devices_generate_fdt(&kvm, fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_finish(fdt), 0);

	node = fdt_path_offset(fdt, "/rtc@1010000");
	assert_true(node >= 0);
	p = fdt_getprop(fdt, node, "compatible", &len);
	assert_int_equal(len, sizeof(compat));
	assert_memory_equal(p, compat, sizeof(compat));
	reg = fdt_getprop(fdt, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(be64_at(reg, 0), LKVM_RTC_BASE);
	assert_int_equal(be64_at(reg, 1), LKVM_RTC_SIZE);
	cells = fdt_getprop(fdt, node, "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(cells[0]), GIC_FDT_IRQ_TYPE_SPI);
	assert_int_equal(fdt32_to_cpu(cells[1]), LKVM_IRQ_RTC);
	assert_int_equal(fdt32_to_cpu(cells[2]), IRQ_TYPE_LEVEL_HIGH);
	cells = fdt_getprop(fdt, node, "clocks", &len);
	assert_int_equal(len, 4);
	assert_int_equal(fdt32_to_cpu(cells[0]), LKVM_PHANDLE_APB_PCLK);
	assert_string_equal(fdt_getprop(fdt, node, "clock-names", &len),
			    "apb_pclk");

	exit_all(&kvm.init, &kvm);
	console_watch_free(&kvm);
	assert_false(mmio_dispatch(&kvm.mmio, LKVM_RTC_BASE, d, 4, false));
	assert_null(kvm.devices.head);
	mmio_bus_exit(&kvm.mmio);
	free(kvm.cmdline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_time),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_counter),
		T(test_load_sets_offset),
		T(test_id_registers),
		T(test_control),
		T(test_match_interrupt),
		T(test_load_jump_is_no_match),
		T(test_bad_accesses),
#undef T
		cmocka_unit_test(test_glue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
