// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk's device and its backend choice (virtio/blk.c, included
 * here: it is built for arm64 only). Natively there is no liburing in the
 * unit build, so every disk gets the worker threads: requests go through
 * vblk_add(), a kick, the worker, the used ring, and the registry's
 * exit, on the virtio-mmio transport (KVM's part stubbed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "vq-driver.h"
#include "../../virtio/blk.c"

#define ACK_TO_DOK	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

struct ctx {
	struct kvm kvm;
	struct vq_driver d;
	char path[64];
	int fd;
	struct vblk *vb;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	strcpy(c->path, "/tmp/lkvm-test-blk-XXXXXX");
	c->fd = mkstemp(c->path);
	assert_true(c->fd >= 0);
	assert_int_equal(ftruncate(c->fd, 64 * 1024), 0);
	vqd_init(&c->d, 16, false, false);
	c->kvm.cfg.nr_cpus = 1;
	c->kvm.mem = c->d.mem;
	c->kvm.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	mmio_bus_init(&c->kvm.mmio);
	device_list_init(&c->kvm.devices);
	assert_int_equal(vblk_add(&c->kvm, c->path, 0), 0);
	/* the disk is in the VM's registry */
	assert_non_null(c->kvm.devices.head);
	assert_string_equal(c->kvm.devices.head->name, "vda");
	c->vb = ((struct virtio_device *)c->kvm.devices.head->opaque)->priv;
	/* the driver: rings of queue 0 where vq-driver.h laid them out */
	c->vb->vdev.vqs[0] = c->d.vq;
	c->vb->vdev.status = ACK_TO_DOK;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	devices_exit(&c->kvm);		/* calls the disk's exit hook */
	assert_null(c->kvm.devices.head);
	mmio_bus_exit(&c->kvm.mmio);
	close(c->fd);
	unlink(c->path);
	vqd_exit(&c->d);
	free(c);
	return 0;
}

/* Publish one request of @type at @sector, @len bytes at @data; no kick. */
static u64 publish(struct ctx *c, u32 type, u64 sector, u64 data, u32 len)
{
	u64 hdr = vqd_buf(&c->d, BLK_HDR_SIZE, 0), st = vqd_buf(&c->d, 1, 0xff);
	u32 *h = vqd_ptr(&c->d, hdr);
	/* chains of three; a slot is reused once its request completed */
	u16 head = c->d.avail_idx % (c->d.size / 3) * 3;

	h[0] = htole32(type);
	*(u64 *)(h + 2) = htole64(sector);
	vqd_desc(&c->d, head, hdr, BLK_HDR_SIZE, VRING_DESC_F_NEXT, head + 1);
	vqd_desc(&c->d, head + 1, data, len, VRING_DESC_F_NEXT |
		 (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0), head + 2);
	vqd_desc(&c->d, head + 2, st, 1, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, head);
	return st;
}

/* One request of @type at @sector with @len bytes of data at @data. */
static u64 submit(struct ctx *c, u32 type, u64 sector, u64 data, u32 len)
{
	u64 st = publish(c, type, sector, data, len);

	virtio_notify_queue(&c->vb->vdev, 0);
	return st;
}

/* The worker completes asynchronously: wait for @n used buffers. */
static void wait_used(struct ctx *c, u16 n)
{
	int i;

	for (i = 0; i < 5000 && vqd_used_idx(&c->d) < n; i++)
		usleep(1000);
	assert_int_equal(vqd_used_idx(&c->d), n);
}

static void test_chooses_threads(void **state)
{
	struct ctx *c = *state;

	/* no liburing in the unit build: raw images use the worker threads */
	assert_ptr_equal(c->vb->be, &vblk_threads_ops);
	assert_true(c->vb->queues[0].thread_started);
}

static void test_write_then_read(void **state)
{
	struct ctx *c = *state;
	u64 out = vqd_buf(&c->d, 512, 0xab), in = vqd_buf(&c->d, 512, 0);
	u8 disk[512], *st;
	u32 id, len;

	st = vqd_ptr(&c->d, submit(c, VIRTIO_BLK_T_OUT, 3, out, 512));
	wait_used(c, 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_int_equal(pread(c->fd, disk, sizeof(disk), 3 * 512), 512);
	assert_memory_equal(disk, vqd_ptr(&c->d, out), 512);

	st = vqd_ptr(&c->d, submit(c, VIRTIO_BLK_T_IN, 3, in, 512));
	wait_used(c, 2);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_memory_equal(vqd_ptr(&c->d, in), disk, 512);
	vqd_used_elem(&c->d, 1, &id, &len);
	assert_int_equal(len, 513);	/* data and status */
	assert_true(c->vb->vdev.nr_interrupts > 0);
}

/* Completed where popped, not by the backend: an error status at once. */
static void test_out_of_range_here(void **state)
{
	struct ctx *c = *state;
	u64 in = vqd_buf(&c->d, 512, 0);
	u8 *st = vqd_ptr(&c->d, submit(c, VIRTIO_BLK_T_IN, 128, in, 512));

	assert_int_equal(vqd_used_idx(&c->d), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(c->vb->inflight, 0);
}

/*
 * While the io_uring thread holds the interrupt back (vb->hold_irq), a
 * pop pushes what it completes without telling the driver.
 */
static void test_pop_holds_irq(void **state)
{
	struct ctx *c = *state;
	u64 in = vqd_buf(&c->d, 512, 0);

	c->vb->hold_irq = true;
	submit(c, VIRTIO_BLK_T_IN, 128, in, 512);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	assert_int_equal(c->vb->vdev.nr_interrupts, 0);
	c->vb->hold_irq = false;
	submit(c, VIRTIO_BLK_T_IN, 128, in, 512);
	assert_int_equal(vqd_used_idx(&c->d), 2);
	assert_int_equal(c->vb->vdev.nr_interrupts, 1);
}

/* A backend that takes nothing: the pop carries out every request. */
static bool refuse_submit(struct vblk *vb, struct vblk_req *r)
{
	return false;
}

static void pop_notify(struct vblk *vb, unsigned int q)
{
	vblk_pop_queue(vb, q);
}

static const struct vblk_backend_ops inline_ops = {
	.name = "inline",
	.submit = refuse_submit,
	.notify = pop_notify,
};

/*
 * Requests the pop carries out itself: a large one (VBLK_SIGNAL_EARLY)
 * that leaves at most one in the queue is signalled at once, even with
 * the interrupt held back (which that ends); small ones share the pop's
 * one interrupt.
 */
static void test_pop_signals_early(void **state)
{
	struct ctx *c = *state;
	const struct vblk_backend_ops *be = c->vb->be;
	u64 big = vqd_buf(&c->d, VBLK_SIGNAL_EARLY, 0x11);
	u64 small = vqd_buf(&c->d, 512, 0x22), sect = VBLK_SIGNAL_EARLY / 512;
	int i;

	assert_int_equal(ftruncate(c->fd, 4 * VBLK_SIGNAL_EARLY), 0);
	c->vb->lim.capacity = 4 * sect;
	c->vb->be = &inline_ops;
	/* three: the second and the third leave at most one queued */
	for (i = 0; i < 3; i++)
		publish(c, VIRTIO_BLK_T_OUT, i * sect, big, VBLK_SIGNAL_EARLY);
	virtio_notify_queue(&c->vb->vdev, 0);
	assert_int_equal(vqd_used_idx(&c->d), 3);
	assert_int_equal(c->vb->vdev.nr_interrupts, 2);

	c->vb->hold_irq = true;
	c->vb->held = 5;
	publish(c, VIRTIO_BLK_T_OUT, 0, big, VBLK_SIGNAL_EARLY);
	publish(c, VIRTIO_BLK_T_OUT, sect, big, VBLK_SIGNAL_EARLY);
	virtio_notify_queue(&c->vb->vdev, 0);
	assert_int_equal(vqd_used_idx(&c->d), 5);
	assert_int_equal(c->vb->vdev.nr_interrupts, 4);
	assert_false(c->vb->hold_irq);
	assert_int_equal(c->vb->held, 0);

	publish(c, VIRTIO_BLK_T_OUT, 1, small, 512);
	publish(c, VIRTIO_BLK_T_OUT, 2, small, 512);
	publish(c, VIRTIO_BLK_T_OUT, 3, small, 512);
	virtio_notify_queue(&c->vb->vdev, 0);
	assert_int_equal(vqd_used_idx(&c->d), 8);
	assert_int_equal(c->vb->vdev.nr_interrupts, 5);
	c->vb->be = be;
}

/*
 * The guest's depth is the most requests it had outstanding: in flight
 * here, or completed under a held interrupt. Once all of them are done
 * and held, the guest waits; not said of large requests. The depth
 * learnt does not shrink.
 */
static void test_guest_depth(void **state)
{
	struct ctx *c = *state;
	const struct vblk_backend_ops *be = c->vb->be;
	struct vblk *vb = c->vb;
	u64 in = vqd_buf(&c->d, 512, 0);

	vb->be = &inline_ops;
	assert_true(vblk_guest_waits(vb, 1, false));	/* nothing learnt yet */
	vb->hold_irq = true;
	vb->held = 5;
	submit(c, VIRTIO_BLK_T_IN, 1, in, 512);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	assert_int_equal(vb->vdev.nr_interrupts, 0);	/* held */
	assert_int_equal(vb->guest_depth, 6);
	assert_false(vblk_guest_waits(vb, 0, false));
	assert_true(vblk_guest_waits(vb, 1, false));
	assert_false(vblk_guest_waits(vb, 1, true));	/* large: held */
	vb->inflight++;		/* one still in flight: not all done */
	assert_false(vblk_guest_waits(vb, 1, false));
	vb->inflight--;
	vblk_release_irq(vb, 0);
	assert_int_equal(vb->vdev.nr_interrupts, 1);
	assert_int_equal(vb->held, 0);
	/* one outstanding now: the depth of six stays */
	submit(c, VIRTIO_BLK_T_IN, 1, in, 512);
	assert_int_equal(vb->guest_depth, 6);
	assert_false(vblk_guest_waits(vb, 1, false));
	vb->be = be;
}

/*
 * --debug: each request counts once, under its type; none without. A
 * request that finds nothing in flight and the queue found empty ends a
 * wait of the device for the guest.
 */
static void test_debug_timing(void **state)
{
	struct ctx *c = *state;
	u64 buf = vqd_buf(&c->d, 512, 0x5a);

	submit(c, VIRTIO_BLK_T_OUT, 1, buf, 512);
	wait_used(c, 1);
	assert_int_equal(c->vb->timed_nr[1], 0);
	c->vb->timing = true;
	submit(c, VIRTIO_BLK_T_OUT, 1, buf, 512);
	wait_used(c, 2);
	submit(c, VIRTIO_BLK_T_IN, 1, buf, 512);
	wait_used(c, 3);
	submit(c, VIRTIO_BLK_T_IN, 2, buf, 512);
	wait_used(c, 4);
	pthread_mutex_lock(&c->vb->vdev.lock);
	assert_int_equal(c->vb->timed_nr[0], 2);	/* reads */
	assert_int_equal(c->vb->timed_nr[1], 1);	/* writes */
	assert_int_equal(c->vb->timed_nr[2] + c->vb->timed_nr[3], 0);
	assert_true(c->vb->timed_ns[0] > 0 && c->vb->timed_ns[1] > 0);
	/* each request ended a wait of the device, but the first timed one */
	assert_int_equal(c->vb->wait_nr + c->vb->wait_long, 2);
	assert_true(c->vb->wait_nr == 0 || c->vb->wait_ns > 0);
	pthread_mutex_unlock(&c->vb->vdev.lock);
}

/*
 * The longest request the device advertises (seg_max data buffers, with
 * header and status a chain as long as the queue) is served whole, and
 * holds a 1 MiB request in 4 KiB pages (256 buffers).
 */
static void test_seg_max_served(void **state)
{
	struct ctx *c = *state;
	u32 seg_max, i, len;
	u64 hdr, data, st;
	u8 disk[64 * 1024];
	u32 *h;

	vblk_config(&c->vb->vdev, offsetof(struct virtio_blk_config, seg_max),
		    (u8 *)&seg_max, sizeof(seg_max), false);
	seg_max = le32toh(seg_max);
	assert_true(seg_max >= 256);
	assert_int_equal(seg_max + 2, VBLK_QUEUE_SIZE);
	assert_int_equal(vqd_setup(&c->d, VBLK_QUEUE_SIZE, false, false), 0);
	c->vb->vdev.vqs[0] = c->d.vq;

	/* 64 KiB over seg_max buffers: 32 bytes each, the last the rest */
	hdr = vqd_buf(&c->d, BLK_HDR_SIZE, 0);
	h = vqd_ptr(&c->d, hdr);
	h[0] = htole32(VIRTIO_BLK_T_OUT);
	vqd_desc(&c->d, 0, hdr, BLK_HDR_SIZE, VRING_DESC_F_NEXT, 1);
	data = vqd_buf(&c->d, sizeof(disk), 0);
	for (i = 0; i < sizeof(disk); i++)
		((u8 *)vqd_ptr(&c->d, data))[i] = i * 7;
	for (i = 0; i < seg_max; i++) {
		len = i < seg_max - 1 ? 32 : sizeof(disk) - 32 * i;
		vqd_desc(&c->d, i + 1, data + 32 * i, len, VRING_DESC_F_NEXT,
			 i + 2);
	}
	st = vqd_buf(&c->d, 1, 0xff);
	vqd_desc(&c->d, seg_max + 1, st, 1, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, 0);
	virtio_notify_queue(&c->vb->vdev, 0);
	wait_used(c, 1);
	assert_int_equal(*(u8 *)vqd_ptr(&c->d, st), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(c->fd, disk, sizeof(disk), 0), sizeof(disk));
	assert_memory_equal(disk, vqd_ptr(&c->d, data), sizeof(disk));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_chooses_threads),
		T(test_write_then_read),
		T(test_out_of_range_here),
		T(test_pop_holds_irq),
		T(test_pop_signals_early),
		T(test_guest_depth),
		T(test_debug_timing),
		T(test_seg_max_served),
	};

	return cmocka_run_group_tests_name("blk-dev", tests, NULL, NULL);
}
