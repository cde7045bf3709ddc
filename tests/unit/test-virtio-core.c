// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "stubs.h"
#include "vq-driver.h"

#define BIT(n)		(1ULL << (n))
#define DEV_FEATURE	BIT(3)
#define ACK		VIRTIO_CONFIG_S_ACKNOWLEDGE
#define DRV		VIRTIO_CONFIG_S_DRIVER
#define FOK		VIRTIO_CONFIG_S_FEATURES_OK
#define DOK		VIRTIO_CONFIG_S_DRIVER_OK

struct fake {
	int resets, starts, notifies, start_ret;
	int signal_vq, signal_config;
	unsigned int last_q;
};

static struct fake fake;

static int fake_start(struct virtio_device *vdev)
{
	fake.starts++;
	return fake.start_ret;
}

static void fake_notify(struct virtio_device *vdev, unsigned int q)
{
	fake.notifies++;
	fake.last_q = q;
}

static void fake_reset(struct virtio_device *vdev)
{
	fake.resets++;
}

static void fake_signal_vq(struct virtio_device *vdev, unsigned int q)
{
	fake.signal_vq++;
	fake.last_q = q;
}

static void fake_signal_config(struct virtio_device *vdev)
{
	fake.signal_config++;
}

static const struct virtio_device_ops fake_ops = {
	.name = "fake",
	.device_id = 42,
	.features = DEV_FEATURE,
	.nr_queues = 2,
	.queue_size = 16,
	.start = fake_start,
	.notify = fake_notify,
	.reset = fake_reset,
};

static const struct virtio_transport_ops fake_transport = {
	.signal_vq = fake_signal_vq,
	.signal_config = fake_signal_config,
};

struct ctx {
	struct vq_driver d;
	struct virtio_device vdev;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	memset(&fake, 0, sizeof(fake));
	vqd_init(&c->d, 16, false, false);
	virtio_device_init(&c->vdev, &fake_ops, NULL, &c->d.mem, c);
	c->vdev.transport = &fake_transport;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	vqd_exit(&c->d);
	free(c);
	return 0;
}

static void set_features(struct virtio_device *vdev, u64 f)
{
	virtio_set_driver_features(vdev, 0, (u32)f);
	virtio_set_driver_features(vdev, 1, (u32)(f >> 32));
}

static u64 device_features(struct virtio_device *vdev)
{
	return virtio_get_device_features(vdev, 0) |
	       (u64)virtio_get_device_features(vdev, 1) << 32;
}

/* The driver's side of 3.1.1, up to FEATURES_OK; returns the status. */
static u8 negotiate(struct virtio_device *vdev, u64 f)
{
	virtio_set_status(vdev, ACK);
	virtio_set_status(vdev, ACK | DRV);
	set_features(vdev, f);
	virtio_set_status(vdev, ACK | DRV | FOK);
	return vdev->status;
}

/* The driver's ring addresses for @vq (queue not started). */
static void set_rings(struct ctx *c, struct virtqueue *vq)
{
	vq->desc_gpa = c->d.desc;
	vq->avail_gpa = c->d.avail;
	vq->used_gpa = c->d.used;
}

static void test_offered_features(void **state)
{
	struct ctx *c = *state;
	u64 f = device_features(&c->vdev);

	assert_true(f & DEV_FEATURE);
	assert_true(f & BIT(VIRTIO_F_VERSION_1));
	assert_true(f & BIT(VIRTIO_RING_F_EVENT_IDX));
	assert_true(f & BIT(VIRTIO_RING_F_INDIRECT_DESC));
	assert_int_equal(virtio_get_device_features(&c->vdev, 2), 0);
}

static void test_features_ok(void **state)
{
	struct ctx *c = *state;
	u64 f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
		DEV_FEATURE;

	assert_int_equal(negotiate(&c->vdev, f), ACK | DRV | FOK);
	assert_int_equal(c->vdev.driver_features, f);
	assert_true(c->vdev.vqs[0].event_idx);
	assert_false(c->vdev.vqs[0].indirect);
	assert_true(c->vdev.vqs[1].event_idx);
	/* Features are frozen from now on. */
	set_features(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(c->vdev.driver_features, f);
}

static void test_unoffered_refused(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1) | BIT(5)),
			 ACK | DRV);
	/* And DRIVER_OK cannot sneak in without FEATURES_OK. */
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_int_equal(c->vdev.status & (FOK | DOK), 0);
	assert_int_equal(fake.starts, 0);
}

static void test_version_1_required(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(negotiate(&c->vdev, DEV_FEATURE), ACK | DRV);
}

static void test_driver_ok_starts(void **state)
{
	struct ctx *c = *state;

	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	assert_false(virtio_device_live(&c->vdev));
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_int_equal(c->vdev.status, ACK | DRV | FOK | DOK);
	assert_int_equal(fake.starts, 1);
	assert_true(virtio_device_live(&c->vdev));
	/* Writing the same status again starts nothing. */
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_int_equal(fake.starts, 1);
	/* Bits are not cleared except by a reset. */
	virtio_set_status(&c->vdev, ACK);
	assert_int_equal(c->vdev.status, ACK | DRV | FOK | DOK);
}

static void test_start_failure_needs_reset(void **state)
{
	struct ctx *c = *state;

	fake.start_ret = -EIO;
	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_true(c->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(fake.signal_config, 1);
	assert_false(virtio_device_live(&c->vdev));
}

static void test_reset(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = &c->vdev.vqs[0];

	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX));
	vq->size = 8;
	set_rings(c, vq);
	assert_int_equal(virtq_start(vq, c->vdev.mem), 0);
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	c->vdev.config_generation = 7;

	virtio_set_status(&c->vdev, 0);
	assert_int_equal(fake.resets, 1);
	assert_int_equal(c->vdev.status, 0);
	assert_int_equal(c->vdev.driver_features, 0);
	assert_false(vq->ready);
	assert_false(vq->event_idx);
	assert_int_equal(vq->desc_gpa, 0);
	assert_int_equal(vq->size, 16);		/* back to QueueNumMax */
	assert_int_equal(c->vdev.config_generation, 7);
	/* Offered features survive. */
	assert_true(device_features(&c->vdev) & DEV_FEATURE);
	/* And negotiation starts over. */
	assert_int_equal(negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1)),
			 ACK | DRV | FOK);
}

static void test_broken(void **state)
{
	struct ctx *c = *state;

	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	virtio_device_broken(&c->vdev, "test");
	assert_int_equal(c->vdev.status,
			 ACK | DRV | FOK | DOK | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(fake.signal_config, 1);
	assert_false(virtio_device_live(&c->vdev));
	/* Once is enough. */
	virtio_device_broken(&c->vdev, "test again");
	assert_int_equal(fake.signal_config, 1);
	/* The driver cannot clear it, only reset. */
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_true(c->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	virtio_set_status(&c->vdev, 0);
	assert_int_equal(c->vdev.status, 0);
	/* The driver setting NEEDS_RESET itself means nothing. */
	virtio_set_status(&c->vdev, ACK | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(c->vdev.status, ACK);
}

static void test_notify_queue(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = &c->vdev.vqs[1];

	set_rings(c, vq);
	/* Not live yet. */
	virtio_notify_queue(&c->vdev, 1);
	assert_int_equal(fake.notifies, 0);
	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	/* Live, but the queue is not ready. */
	virtio_notify_queue(&c->vdev, 1);
	assert_int_equal(fake.notifies, 0);
	assert_int_equal(virtq_start(vq, c->vdev.mem), 0);
	virtio_notify_queue(&c->vdev, 1);
	assert_int_equal(fake.notifies, 1);
	assert_int_equal(fake.last_q, 1);
	/* Out of range. */
	virtio_notify_queue(&c->vdev, 2);
	assert_int_equal(fake.notifies, 1);
	virtio_device_broken(&c->vdev, "test");
	virtio_notify_queue(&c->vdev, 1);
	assert_int_equal(fake.notifies, 1);
}

/*
 * lkvm pause: kicks are held while paused and each kicked queue is
 * served once on resume (a queue not kicked is not); a reset drops the
 * held kicks.
 */
static void test_pause_holds_kicks(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = &c->vdev.vqs[1];

	set_rings(c, vq);
	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_int_equal(virtq_start(vq, c->vdev.mem), 0);
	virtio_device_pause(&c->vdev);
	virtio_notify_queue(&c->vdev, 1);
	virtio_notify_queue(&c->vdev, 1);
	assert_int_equal(fake.notifies, 0);
	assert_int_equal(c->vdev.nr_kicks, 2);
	virtio_device_resume(&c->vdev);
	assert_int_equal(fake.notifies, 1);
	assert_int_equal(fake.last_q, 1);
	/* nothing held: resume serves nothing */
	virtio_device_pause(&c->vdev);
	virtio_device_resume(&c->vdev);
	assert_int_equal(fake.notifies, 1);
	/* running again: kicks go straight through */
	virtio_notify_queue(&c->vdev, 1);
	assert_int_equal(fake.notifies, 2);
	/* a reset while paused forgets what was held */
	virtio_device_pause(&c->vdev);
	virtio_notify_queue(&c->vdev, 1);
	virtio_set_status(&c->vdev, 0);
	virtio_device_resume(&c->vdev);
	assert_int_equal(fake.notifies, 2);
}

/*
 * The kick helper both transports use: an ioeventfd whose callback
 * notifies the queue, or the set_kick_fd() eventfd in its place; a
 * failed add leaves the kick to the register handler (ev NULL).
 */
static void test_kick(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = &c->vdev.vqs[1];
	struct virtio_kick k;
	int before = stub_ioeventfds;
	u64 dm = 1;

	virtio_kick_init(&k, &c->vdev, 1);
	assert_int_equal(k.fd, -1);
	assert_null(k.ev);
	assert_int_equal(virtio_kick_add(&k, NULL, 0x1050, 4, &dm), 0);
	assert_non_null(k.ev);
	assert_int_equal(stub_ioeventfds, before + 1);
	assert_int_equal(stub_ioeventfd_last.addr, 0x1050);
	assert_int_equal(stub_ioeventfd_last.len, 4);
	assert_true(stub_ioeventfd_last.has_datamatch);
	assert_int_equal(stub_ioeventfd_last.datamatch, 1);
	assert_int_equal(stub_ioeventfd_last.fd, -1);

	/* The callback is virtio_notify_queue() for queue 1. */
	set_rings(c, vq);
	negotiate(&c->vdev, BIT(VIRTIO_F_VERSION_1));
	virtio_set_status(&c->vdev, ACK | DRV | FOK | DOK);
	assert_int_equal(virtq_start(vq, c->vdev.mem), 0);
	stub_ioeventfd_last.fn(stub_ioeventfd_last.opaque);
	assert_int_equal(fake.notifies, 1);
	assert_int_equal(fake.last_q, 1);

	/* An eventfd of the device's own takes the kicks instead. */
	virtio_kick_del(&k);
	assert_null(k.ev);
	assert_int_equal(stub_ioeventfds, before);
	k.fd = 77;
	assert_int_equal(virtio_kick_add(&k, NULL, 0x3004, 2, NULL), 0);
	assert_int_equal(stub_ioeventfd_last.fd, 77);
	assert_null(stub_ioeventfd_last.fn);
	assert_false(stub_ioeventfd_last.has_datamatch);
	virtio_kick_del(&k);

	/* KVM without ioeventfds. */
	stub_ioeventfd_fail = -ENOSYS;
	assert_int_equal(virtio_kick_add(&k, NULL, 0x3004, 2, NULL), -ENOSYS);
	stub_ioeventfd_fail = 0;
	assert_null(k.ev);
	virtio_kick_del(&k);
	assert_int_equal(stub_ioeventfds, before);
}

static void test_notify_used(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = &c->vdev.vqs[0];

	set_rings(c, vq);
	assert_int_equal(virtq_start(vq, c->vdev.mem), 0);
	virtq_push(vq, 0, 0);
	virtio_notify_used(&c->vdev, 0);
	assert_int_equal(fake.signal_vq, 1);
	assert_int_equal(fake.last_q, 0);
	/* Nothing new: no interrupt. */
	virtio_notify_used(&c->vdev, 0);
	assert_int_equal(fake.signal_vq, 1);
	vqd_set_avail_flags(&c->d, VRING_AVAIL_F_NO_INTERRUPT);
	virtq_push(vq, 0, 0);
	virtio_notify_used(&c->vdev, 0);
	assert_int_equal(fake.signal_vq, 1);
}

/* A made-up layout: the halves need not be next to each other. */
static const struct virtio_ring_regs test_ring_regs[VIRTQ_NR_RINGS] = {
	[VIRTQ_RING_DESC] = { 0x80, 0x84 },
	[VIRTQ_RING_AVAIL] = { 0x90, 0xa0 },
	[VIRTQ_RING_USED] = { 0xb4, 0xb0 },
};

static void test_queue_addr(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = &c->vdev.vqs[0];
	u32 v = 0xdead;

	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0x80, 0x1000));
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0x84, 0x12));
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0xa0, 0x34));
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0x90, 0x2000));
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0xb0, 0x56));
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0xb4, 0x3000));
	assert_int_equal(vq->desc_gpa, 0x1200001000ULL);
	assert_int_equal(vq->avail_gpa, 0x3400002000ULL);
	assert_int_equal(vq->used_gpa, 0x5600003000ULL);
	/* Each half alone: the other one stays. */
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0x84, 0));
	assert_int_equal(vq->desc_gpa, 0x1000);
	assert_true(virtio_queue_set_addr(vq, test_ring_regs, 0x90, 0xffffffff));
	assert_int_equal(vq->avail_gpa, 0x34ffffffffULL);
	/* Read back by half. */
	assert_true(virtio_queue_get_addr(vq, test_ring_regs, 0xa0, &v));
	assert_int_equal(v, 0x34);
	assert_true(virtio_queue_get_addr(vq, test_ring_regs, 0xb0, &v));
	assert_int_equal(v, 0x56);
	/* Not a ring address register: nothing changes. */
	assert_false(virtio_queue_set_addr(vq, test_ring_regs, 0x88, 1));
	assert_false(virtio_queue_get_addr(vq, test_ring_regs, 0x88, &v));
	assert_int_equal(v, 0x56);
	assert_int_equal(vq->desc_gpa, 0x1000);
	assert_int_equal(vq->avail_gpa, 0x34ffffffffULL);
	assert_int_equal(vq->used_gpa, 0x5600003000ULL);
}

static void test_queue_select_enable(void **state)
{
	struct ctx *c = *state;
	struct virtqueue *vq = virtio_queue(&c->vdev, 1);

	assert_ptr_equal(vq, &c->vdev.vqs[1]);
	assert_null(virtio_queue(&c->vdev, 2));
	/* Rings outside RAM: the device needs a reset. */
	virtio_queue_enable(&c->vdev, vq);
	assert_false(vq->ready);
	assert_true(c->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	set_rings(c, vq);
	virtio_queue_enable(&c->vdev, vq);
	assert_true(vq->ready);
}

static u8 test_config[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void test_config_rw(struct virtio_device *vdev, u32 offset, u8 *data,
			   u32 len, bool is_write)
{
	if (is_write)
		memcpy(test_config + offset, data, len);
	else
		memcpy(data, test_config + offset, len);
}

static void test_config_access(void **state)
{
	struct ctx *c = *state;
	struct virtio_device_ops ops = fake_ops;
	u8 buf[4];

	/* No config space: reads are zeroes. */
	memset(buf, 0xff, sizeof(buf));
	virtio_config_access(&c->vdev, 0, buf, 4, false);
	assert_int_equal(buf[0] | buf[1] | buf[2] | buf[3], 0);

	ops.config_size = sizeof(test_config);
	ops.config_access = test_config_rw;
	c->vdev.ops = &ops;
	virtio_config_access(&c->vdev, 4, buf, 4, false);
	assert_memory_equal(buf, test_config + 4, 4);
	buf[0] = 42;
	virtio_config_access(&c->vdev, 7, buf, 1, true);
	assert_int_equal(test_config[7], 42);
	/* Past the end, or straddling it: zeroes, and writes go nowhere. */
	virtio_config_access(&c->vdev, 6, buf, 4, false);
	assert_int_equal(buf[0] | buf[1] | buf[2] | buf[3], 0);
	buf[0] = 99;
	virtio_config_access(&c->vdev, 8, buf, 1, true);
	virtio_config_access(&c->vdev, ~0ULL, buf, 1, true);
	assert_int_equal(test_config[7], 42);
	c->vdev.ops = &fake_ops;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_offered_features),
		T(test_features_ok),
		T(test_unoffered_refused),
		T(test_version_1_required),
		T(test_driver_ok_starts),
		T(test_start_failure_needs_reset),
		T(test_reset),
		T(test_broken),
		T(test_notify_queue),
		T(test_pause_holds_kicks),
		T(test_kick),
		T(test_notify_used),
		T(test_queue_addr),
		T(test_queue_select_enable),
		T(test_config_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
