// SPDX-License-Identifier: GPL-2.0
/*
 * An ARM PL031 real time clock: the register model (no KVM dependency,
 * unit tested) and the glue that puts one at LKVM_RTC_BASE, where Linux's
 * rtc-pl031 driver finds it on the AMBA bus.
 */
#include <endian.h>
#include <libfdt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/fdt.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/rtc.h"

#define RTC_DR		0x000	/* data (the counter), read-only */
#define RTC_MR		0x004	/* match */
#define RTC_LR		0x008	/* load */
#define RTC_CR		0x00c	/* control */
#define RTC_IMSC	0x010	/* interrupt mask set/clear */
#define RTC_RIS		0x014	/* raw interrupt status */
#define RTC_MIS		0x018	/* masked interrupt status */
#define RTC_ICR		0x01c	/* interrupt clear, write-only */
#define RTC_ID_BASE	0xfe0	/* PeriphID0-3, PCellID0-3 */

#define RTC_CR_EN	1
#define RTC_INT		1

/* The AMBA bus matches drivers on these: a PL031, revision 1. */
static const u8 pl031_ids[8] = {
	0x31, 0x10, 0x14, 0x00,		/* peripheral ID: part 0x031, ARM */
	0x0d, 0xf0, 0x05, 0xb1,		/* PrimeCell ID */
};

static u64 pl031_host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static u32 pl031_counter(const struct pl031 *rtc)
{
	return (u32)(rtc->now() + rtc->offset);
}

/*
 * Notice a match the counter went through since the last check (there is
 * no timer; see rtc.h), then drive the line from the masked status.
 */
static void pl031_update(struct pl031 *rtc)
{
	u32 now = pl031_counter(rtc);
	int level;

	/* Unsigned differences keep this right across the 2106 wrap. */
	if (rtc->armed &&
	    (u32)(rtc->match - rtc->last) <= (u32)(now - rtc->last)) {
		rtc->ris |= RTC_INT;
		rtc->armed = false;
	}
	rtc->last = now;

	level = !!(rtc->ris & rtc->imsc);
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		if (rtc->set_irq)
			rtc->set_irq(rtc->ctx, level);
	}
}

void pl031_init(struct pl031 *rtc)
{
	memset(rtc, 0, sizeof(*rtc));
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->now = pl031_host_now;
	/*
	 * Started, as firmware leaves a battery-backed RTC: a guest that
	 * never writes CR still reads a running clock.
	 */
	rtc->enabled = true;
}

/*
 * The guest reset: the clock keeps its time (battery-backed), the match
 * and interrupt registers go back to zero and the line low.
 */
void pl031_reset(struct pl031 *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->match = rtc->imsc = rtc->ris = 0;
	rtc->armed = false;
	rtc->enabled = true;
	pl031_update(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

void pl031_exit(struct pl031 *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

static u32 pl031_read(struct pl031 *rtc, u64 offset)
{
	if (offset >= RTC_ID_BASE)
		return pl031_ids[(offset - RTC_ID_BASE) / 4];

	switch (offset) {
	case RTC_DR:
		return pl031_counter(rtc);
	case RTC_MR:
		return rtc->match;
	case RTC_LR:
		return rtc->lr;
	case RTC_CR:
		return rtc->enabled ? RTC_CR_EN : 0;
	case RTC_IMSC:
		return rtc->imsc;
	case RTC_RIS:
		return rtc->ris;
	case RTC_MIS:
		return rtc->ris & rtc->imsc;
	}
	return 0;
}

static void pl031_write(struct pl031 *rtc, u64 offset, u32 val)
{
	switch (offset) {
	case RTC_MR:
		/* Counting from now: equal matches at once, past never. */
		rtc->match = val;
		rtc->last = pl031_counter(rtc);
		rtc->armed = true;
		break;
	case RTC_LR:
		rtc->lr = val;
		rtc->offset = (s64)val - (s64)rtc->now();
		/* Jumping over the match value is no match. */
		rtc->last = val;
		break;
	case RTC_CR:
		/* Once started, only a reset stops it. */
		if (val & RTC_CR_EN)
			rtc->enabled = true;
		break;
	case RTC_IMSC:
		rtc->imsc = val & RTC_INT;
		break;
	case RTC_ICR:
		rtc->ris &= ~(val & RTC_INT);
		break;
	}
}

void pl031_mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct pl031 *rtc = opaque;
	u32 val;

	if (len != 4 || !IS_ALIGNED(offset, 4) || offset >= SZ_4K) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}

	pthread_mutex_lock(&rtc->lock);
	/* Check for a match before a register change moves the goalposts. */
	pl031_update(rtc);
	if (is_write) {
		memcpy(&val, data, 4);
		pl031_write(rtc, offset, le32toh(val));
		pl031_update(rtc);
	} else {
		val = htole32(pl031_read(rtc, offset));
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&rtc->lock);
}

/* ---- the guest's RTC ---- */

struct rtc_dev {
	struct pl031 rtc;
	struct kvm *kvm;
	struct device_header dev;
	char node[32];		/* "rtc@<base>" */
};

static void rtc_set_irq(void *ctx, int level)
{
	struct rtc_dev *rd = ctx;

	if (irq_set_level(rd->kvm, LKVM_IRQ_RTC, level) < 0)
		pr_warn_ratelimited("RTC: cannot set its interrupt line");
}

static int rtc_generate_fdt(struct device_header *dev, void *fdt,
			    struct kvm *kvm)
{
	static const char compat[] = "arm,pl031\0arm,primecell";
	struct rtc_dev *rd = dev->opaque;

	FDT_CHECK(fdt_begin_node(fdt, rd->node));
	FDT_CHECK(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	FDT_CHECK(fdt_property_reg64(fdt, LKVM_RTC_BASE, LKVM_RTC_SIZE));
	FDT_CHECK(fdt_property_spi(fdt, kvm->irq_parent, LKVM_IRQ_RTC,
				   IRQ_TYPE_LEVEL_HIGH));
	/* The AMBA bus enables this clock before reading the ID registers. */
	FDT_CHECK(fdt_property_cell(fdt, "clocks", LKVM_PHANDLE_APB_PCLK));
	FDT_CHECK(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	return fdt_end_node(fdt);
}

static void rtc_reset(struct device_header *dev)
{
	struct rtc_dev *rd = dev->opaque;

	pl031_reset(&rd->rtc);
}

static void rtc_dev_exit(struct device_header *dev, struct kvm *kvm)
{
	struct rtc_dev *rd = dev->opaque;

	mmio_unregister(&kvm->mmio, LKVM_RTC_BASE);
	pl031_exit(&rd->rtc);
	free(rd);
}

static const struct device_ops rtc_dev_ops = {
	.generate_fdt = rtc_generate_fdt,
	.reset = rtc_reset,
	.exit = rtc_dev_exit,
};

static int rtc_init(struct kvm *kvm)
{
	struct rtc_dev *rd = calloc(1, sizeof(*rd));
	int ret;

	if (!rd)
		return -ENOMEM;
	rd->kvm = kvm;
	snprintf(rd->node, sizeof(rd->node), "rtc@%llx", LKVM_RTC_BASE);
	pl031_init(&rd->rtc);
	rd->rtc.set_irq = rtc_set_irq;
	rd->rtc.ctx = rd;

	ret = mmio_register(&kvm->mmio, LKVM_RTC_BASE, LKVM_RTC_SIZE,
			    pl031_mmio, &rd->rtc);
	if (ret < 0) {
		pr_err("RTC: cannot claim MMIO at %#llx: %s", LKVM_RTC_BASE,
		       strerror(-ret));
		pl031_exit(&rd->rtc);
		free(rd);
		return ret;
	}
	rd->dev = (struct device_header) {
		.name = "rtc", .bus = DEVICE_BUS_PLATFORM,
		.ops = &rtc_dev_ops, .opaque = rd,
	};
	device_register(kvm, &rd->dev);
	return 0;
}

lkvm_init(INIT_DEV, rtc_init, NULL);
