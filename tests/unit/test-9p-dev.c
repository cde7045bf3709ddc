// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p's device (virtio/9p.c, included here: it is built for arm64
 * only): its kicks go to the worker's own eventfd (what KVM signals), a
 * T-message goes through the queue and the worker to the used ring, the
 * kicks of a paused VM wait for the resume, lkvm stat's counters name
 * the requests by type, and the worker's polling serves a request that
 * came without a kick. On the virtio-mmio transport, KVM's part stubbed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "stubs.h"
#include "vq-driver.h"
#include "../../virtio/9p.c"

#define ACK_TO_DOK	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

struct ctx {
	struct kvm kvm;
	struct vq_driver d;
	char dir[64], arg[80];
	struct p9_dev *p;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	strcpy(c->dir, "/tmp/lkvm-test-9p-dev-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->arg, sizeof(c->arg), "%s,tag9", c->dir);
	vqd_init(&c->d, 16, false, false);
	c->kvm.mem = c->d.mem;
	c->kvm.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	c->kvm.cfg.p9[0] = c->arg;
	c->kvm.cfg.nr_p9 = 1;
	mmio_bus_init(&c->kvm.mmio);
	device_list_init(&c->kvm.devices);
	assert_int_equal(p9_init(&c->kvm), 0);
	assert_non_null(c->kvm.devices.head);
	c->p = ((struct virtio_device *)c->kvm.devices.head->opaque)->priv;
	c->p->vdev.vqs[0] = c->d.vq;
	c->p->vdev.status = ACK_TO_DOK;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	devices_exit(&c->kvm);		/* stops and joins the worker */
	assert_null(c->kvm.devices.head);
	mmio_bus_exit(&c->kvm.mmio);
	vqd_exit(&c->d);
	rmdir(c->dir);
	free(c);
	return 0;
}

/* Tversion (msize 8192, "9P2000.L") and room for its reply, published. */
static u64 publish_version(struct ctx *c)
{
	u64 out = vqd_buf(&c->d, 32, 0), in = vqd_buf(&c->d, 64, 0xee);
	u8 *m = vqd_ptr(&c->d, out);
	u16 head = c->d.avail_idx * 2;
	static const u8 tversion[] = {
		21, 0, 0, 0, 100, 1, 0,		/* size, Tversion, tag 1 */
		0, 0x20, 0, 0,			/* msize 8192 */
		8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L',
	};

	memcpy(m, tversion, sizeof(tversion));
	vqd_desc(&c->d, head, out, sizeof(tversion), VRING_DESC_F_NEXT,
		 head + 1);
	vqd_desc(&c->d, head + 1, in, 64, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, head);
	return in;
}

/* The worker serves asynchronously: wait for @n used buffers. */
static void wait_used(struct ctx *c, u16 n)
{
	int i;

	for (i = 0; i < 5000 && vqd_used_idx(&c->d) < n; i++)
		usleep(1000);
	assert_int_equal(vqd_used_idx(&c->d), n);
}

/* What KVM does on the guest's write to QueueNotify. */
static void kvm_kick(struct ctx *c)
{
	assert_int_equal(eventfd_write(c->p->kick_fd, 1), 0);
}

/* KVM was told to signal the worker's eventfd, not the ioeventfd thread. */
static void test_kicks_to_worker(void **state)
{
	struct ctx *c = *state;
	u64 in;
	u8 *r;

	assert_int_equal(stub_ioeventfd_last.fd, c->p->kick_fd);
	assert_null(stub_ioeventfd_last.fn);
	in = publish_version(c);
	kvm_kick(c);
	wait_used(c, 1);
	r = vqd_ptr(&c->d, in);
	assert_int_equal(r[4], 101);		/* Rversion */
	assert_int_equal(r[7] | r[8] << 8, 8192);
	/* a kick lkvm sees itself (no ioeventfd) reaches the worker too */
	publish_version(c);
	virtio_notify_queue(&c->p->vdev, 0);
	wait_used(c, 2);
}

/* Paused: a kick is held, and the resume serves it. */
static void test_pause_holds_kicks(void **state)
{
	struct ctx *c = *state;

	virtio_device_pause(&c->p->vdev);
	publish_version(c);
	kvm_kick(c);
	usleep(100 * 1000);
	assert_int_equal(vqd_used_idx(&c->d), 0);
	virtio_device_resume(&c->p->vdev);
	wait_used(c, 1);
}

struct stat_seen {
	u64 version, rounds, batch;
};

static void stat_cb(void *ctx, const struct device_header *dev,
		    const char *counter, u64 value)
{
	struct stat_seen *s = ctx;

	if (!strcmp(counter, "version"))
		s->version = value;
	else if (!strcmp(counter, "kick_rounds"))
		s->rounds = value;
	else if (!strcmp(counter, "max_batch"))
		s->batch = value;
}

/* Two requests in one kick: one round, a batch of 2, both counted. */
static void test_stats(void **state)
{
	struct ctx *c = *state;
	struct stat_seen s = { 0 };

	publish_version(c);
	publish_version(c);
	kvm_kick(c);
	wait_used(c, 2);
	devices_stats(&c->kvm, stat_cb, &s);
	assert_int_equal(s.version, 2);
	assert_int_equal(s.rounds, 1);
	assert_int_equal(s.batch, 2);
}

/*
 * Polling: with a window open, a request published right after a reply
 * is served without a kick, and counted as a poll hit.
 */
static void test_poll_serves_without_kick(void **state)
{
	struct ctx *c = *state;
	struct virtio_device *vdev = &c->p->vdev;

	pthread_mutex_lock(&vdev->lock);
	c->p->poll.ns = 1000000000;		/* 1 s */
	pthread_mutex_unlock(&vdev->lock);
	publish_version(c);
	kvm_kick(c);
	wait_used(c, 1);
	publish_version(c);			/* no kick */
	wait_used(c, 2);
	assert_int_equal(__atomic_load_n(&c->p->poll.hits, __ATOMIC_RELAXED),
			 1);
	assert_int_equal(__atomic_load_n(&c->p->nr_wakeups, __ATOMIC_RELAXED),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kicks_to_worker, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pause_holds_kicks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_serves_without_kick,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
