// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/iov.h"
#include "vq-driver.h"

#define W	VRING_DESC_F_WRITE
#define N	VRING_DESC_F_NEXT
#define I	VRING_DESC_F_INDIRECT

static struct virtq_elem elem;

static int setup(void **state)
{
	struct vq_driver *d = calloc(1, sizeof(*d));

	vqd_init(d, 16, false, true);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	vqd_exit(*state);
	free(*state);
	return 0;
}

static void expect_bad(struct vq_driver *d)
{
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_BAD);
	assert_true(d->vq.broken);
	/* Broken stays broken until a reset. */
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_BAD);
}

static void test_start_validates(void **state)
{
	struct vq_driver *d = *state;
	struct virtqueue *vq = &d->vq;

	vq->size = 12;		/* not a power of two */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	assert_false(vq->ready);
	vq->size = 0;
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->size = 2048;	/* > VIRTQ_MAX_SIZE */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->size = 16;
	vq->desc_gpa = d->desc + 8;	/* descriptors need 16 */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->desc_gpa = d->desc;
	vq->used_gpa = d->used + 2;	/* used ring needs 4 */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->used_gpa = VQD_GPA + VQD_RAM - 64;	/* runs off the end */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->used_gpa = 0x1000;		/* below RAM */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->used_gpa = d->used;
	vq->avail_gpa = UINT64_MAX - 1;	/* wraps */
	assert_int_equal(virtq_start(vq, &d->mem), -EINVAL);
	vq->avail_gpa = d->avail;
	assert_int_equal(virtq_start(vq, &d->mem), 0);
	assert_true(vq->ready);
}

static void test_normal_chain(void **state)
{
	struct vq_driver *d = *state;
	u64 a = vqd_buf(d, 10, 'a'), b = vqd_buf(d, 20, 'b');
	u64 c = vqd_buf(d, 30, 0);
	u8 tmp[40];
	u32 id, len;

	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_EMPTY);
	assert_false(virtq_has_buffers(&d->vq));
	assert_int_equal(virtq_pending(&d->vq), 0);
	vqd_desc(d, 3, a, 10, N, 7);
	vqd_desc(d, 7, b, 20, N, 1);
	vqd_desc(d, 1, c, 30, W, 0);
	vqd_publish(d, 3);
	assert_true(virtq_has_buffers(&d->vq));
	assert_int_equal(virtq_pending(&d->vq), 1);

	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_int_equal(virtq_pending(&d->vq), 0);
	assert_int_equal(elem.head, 3);
	assert_int_equal(elem.out_num, 2);
	assert_int_equal(elem.in_num, 1);
	assert_int_equal(elem.out_len, 30);
	assert_int_equal(elem.in_len, 30);
	assert_ptr_equal(virtq_elem_out(&elem)[0].iov_base, vqd_ptr(d, a));
	assert_ptr_equal(virtq_elem_out(&elem)[1].iov_base, vqd_ptr(d, b));
	assert_ptr_equal(virtq_elem_in(&elem)[0].iov_base, vqd_ptr(d, c));

	/* The iov helpers see the out buffers as one stream. */
	assert_int_equal(iov_to_buf(virtq_elem_out(&elem), elem.out_num, 5,
				    tmp, sizeof(tmp)), 25);
	assert_memory_equal(tmp, "aaaaabbbbb", 10);
	assert_int_equal(iov_from_buf(virtq_elem_in(&elem), elem.in_num, 0,
				      "hello", 5), 5);
	assert_memory_equal(vqd_ptr(d, c), "hello", 5);

	virtq_push(&d->vq, elem.head, 5);
	assert_int_equal(vqd_used_idx(d), 1);
	vqd_used_elem(d, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 5);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_EMPTY);
}

static void test_ring_wraps(void **state)
{
	struct vq_driver *d = *state;
	u64 a = vqd_buf(d, 8, 1);
	int i;

	vqd_desc(d, 0, a, 8, 0, 0);
	/* Three laps of the ring, and avail->idx wraps at 65536 too. */
	vqd_set_avail_idx(d, 65530);
	d->vq.last_avail = 65530;
	for (i = 0; i < 48; i++) {
		vqd_publish(d, 0);
		assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
		virtq_push(&d->vq, elem.head, 0);
	}
	assert_int_equal(vqd_used_idx(d), 48);
	assert_false(d->vq.broken);
}

static void test_indirect(void **state)
{
	struct vq_driver *d = *state;
	u64 table = vqd_buf(d, 3 * 16, 0);
	u64 a = vqd_buf(d, 4, 'x'), b = vqd_buf(d, 5, 'y'), c = vqd_buf(d, 6, 0);

	vqd_desc_at(d, table, 0, a, 4, N, 2);
	vqd_desc_at(d, table, 2, b, 5, N, 1);
	vqd_desc_at(d, table, 1, c, 6, W, 0);
	/* A direct buffer first, then the table: both end up in the elem. */
	vqd_desc(d, 5, a, 4, N, 6);
	vqd_desc(d, 6, table, 3 * 16, I, 0);
	vqd_publish(d, 5);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_int_equal(elem.head, 5);
	assert_int_equal(elem.out_num, 3);
	assert_int_equal(elem.in_num, 1);
	assert_int_equal(elem.in_len, 6);
	assert_ptr_equal(virtq_elem_in(&elem)[0].iov_base, vqd_ptr(d, c));
}

static void test_indirect_not_negotiated(void **state)
{
	struct vq_driver *d = *state;
	u64 table = vqd_buf(d, 16, 0), a = vqd_buf(d, 4, 0);

	d->vq.indirect = false;
	vqd_desc_at(d, table, 0, a, 4, 0, 0);
	vqd_desc(d, 0, table, 16, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_bad_len(void **state)
{
	struct vq_driver *d = *state;
	u64 table = vqd_buf(d, 32, 0), a = vqd_buf(d, 4, 0);

	vqd_desc_at(d, table, 0, a, 4, 0, 0);
	vqd_desc(d, 0, table, 20, I, 0);	/* not a multiple of 16 */
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_empty(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, vqd_buf(d, 16, 0), 0, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_too_big(void **state)
{
	struct vq_driver *d = *state;

	/* More entries than any queue may have. */
	vqd_desc(d, 0, VQD_GPA, (VIRTQ_MAX_SIZE + 1) * 16, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_nested(void **state)
{
	struct vq_driver *d = *state;
	u64 t1 = vqd_buf(d, 16, 0), t2 = vqd_buf(d, 16, 0);

	vqd_desc_at(d, t2, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	vqd_desc_at(d, t1, 0, t2, 16, I, 0);
	vqd_desc(d, 0, t1, 16, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_with_next(void **state)
{
	struct vq_driver *d = *state;
	u64 table = vqd_buf(d, 16, 0), a = vqd_buf(d, 4, 0);

	vqd_desc_at(d, table, 0, a, 4, 0, 0);
	vqd_desc(d, 0, table, 16, I | N, 1);
	vqd_desc(d, 1, a, 4, 0, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_loop(void **state)
{
	struct vq_driver *d = *state;
	u64 table = vqd_buf(d, 2 * 16, 0), a = vqd_buf(d, 4, 0);

	vqd_desc_at(d, table, 0, a, 4, N, 1);
	vqd_desc_at(d, table, 1, a, 4, N, 0);
	vqd_desc(d, 0, table, 2 * 16, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_next_out_of_table(void **state)
{
	struct vq_driver *d = *state;
	u64 table = vqd_buf(d, 2 * 16, 0), a = vqd_buf(d, 4, 0);

	vqd_desc_at(d, table, 0, a, 4, N, 2);	/* only 0 and 1 exist */
	vqd_desc(d, 0, table, 2 * 16, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_buffer_outside_ram(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, VQD_GPA + VQD_RAM - 4, 8, 0, 0);	/* straddles the end */
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_buffer_below_ram(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, 0x1000, 8, W, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_buffer_wraps(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, UINT64_MAX - 3, 16, 0, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_indirect_table_outside_ram(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, VQD_GPA + VQD_RAM - 16, 32, I, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_loop(void **state)
{
	struct vq_driver *d = *state;
	u64 a = vqd_buf(d, 4, 0);

	vqd_desc(d, 0, a, 4, N, 1);
	vqd_desc(d, 1, a, 4, N, 2);
	vqd_desc(d, 2, a, 4, N, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_self_loop(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 4, vqd_buf(d, 4, 0), 4, N, 4);
	vqd_publish(d, 4);
	expect_bad(d);
}

/* Every descriptor of the table in one chain is fine; one more is not. */
static void test_chain_as_long_as_queue(void **state)
{
	struct vq_driver *d = *state;
	u64 a = vqd_buf(d, 4, 0);
	u16 i;

	for (i = 0; i < 15; i++)
		vqd_desc(d, i, a, 4, N, i + 1);
	vqd_desc(d, 15, a, 4, 0, 0);
	vqd_publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_int_equal(elem.out_num, 16);

	vqd_desc(d, 15, a, 4, N, 0);	/* now it goes round */
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_next_out_of_range(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, N, 16);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void test_head_out_of_range(void **state)
{
	struct vq_driver *d = *state;

	vqd_publish(d, 16);
	expect_bad(d);
}

static void test_avail_idx_jump(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	vqd_set_avail_idx(d, 17);	/* 17 pending in a 16-entry ring */
	expect_bad(d);
}

static void test_zero_length(void **state)
{
	struct vq_driver *d = *state;
	u64 b = vqd_buf(d, 8, 0);

	/* A zero-length buffer anywhere, even outside RAM, carries nothing. */
	vqd_desc(d, 0, VQD_GPA + VQD_RAM, 0, N, 1);
	vqd_desc(d, 1, b, 8, W | N, 2);
	vqd_desc(d, 2, b, 0, W, 0);
	vqd_publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_int_equal(elem.out_num, 0);
	assert_int_equal(elem.in_num, 1);
	assert_int_equal(elem.in_len, 8);
}

static void test_out_after_in(void **state)
{
	struct vq_driver *d = *state;
	u64 a = vqd_buf(d, 4, 0);

	vqd_desc(d, 0, a, 4, W | N, 1);
	vqd_desc(d, 1, a, 4, 0, 0);
	vqd_publish(d, 0);
	expect_bad(d);
}

static void push_one(struct vq_driver *d)
{
	vqd_publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	virtq_push(&d->vq, elem.head, 0);
}

static void test_event_idx(void **state)
{
	struct vq_driver *d = *state;

	vqd_setup(d, 16, true, true);
	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);

	/* Nothing pushed: nothing to tell. First push: always tell. */
	push_one(d);			/* used idx 1 */
	assert_true(virtq_should_notify(&d->vq));
	assert_false(virtq_should_notify(&d->vq));

	/* The driver wants to hear once used passes entry 1 (idx 2). */
	vqd_set_used_event(d, 1);
	push_one(d);			/* 2 */
	assert_true(virtq_should_notify(&d->vq));
	push_one(d);			/* 3: already told */
	assert_false(virtq_should_notify(&d->vq));

	/* Two pushes between checks: fires if the event is in between. */
	vqd_set_used_event(d, 3);
	push_one(d);			/* 4 */
	push_one(d);			/* 5 */
	assert_true(virtq_should_notify(&d->vq));
	vqd_set_used_event(d, 10);
	push_one(d);			/* 6 */
	assert_false(virtq_should_notify(&d->vq));

	/* NO_INTERRUPT is ignored with event idx. */
	vqd_set_avail_flags(d, VRING_AVAIL_F_NO_INTERRUPT);
	vqd_set_used_event(d, 6);
	push_one(d);			/* 7 */
	assert_true(virtq_should_notify(&d->vq));
}

static void test_event_idx_enable(void **state)
{
	struct vq_driver *d = *state;

	vqd_setup(d, 16, true, true);
	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	push_one(d);
	push_one(d);
	assert_false(virtq_enable_notify(&d->vq, false));
	assert_int_equal(vqd_avail_event(d), 0);	/* left behind */
	assert_false(virtq_enable_notify(&d->vq, true));
	assert_int_equal(vqd_avail_event(d), 2);
	assert_int_equal(vqd_used_flags(d), 0);
	/* A buffer that came while disabled is reported on re-enable. */
	vqd_publish(d, 0);
	assert_true(virtq_enable_notify(&d->vq, true));
}

static void test_no_interrupt_flag(void **state)
{
	struct vq_driver *d = *state;

	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	vqd_set_avail_flags(d, VRING_AVAIL_F_NO_INTERRUPT);
	push_one(d);
	assert_false(virtq_should_notify(&d->vq));
	vqd_set_avail_flags(d, 0);
	push_one(d);
	assert_true(virtq_should_notify(&d->vq));
	/* Nothing new since: no interrupt. */
	assert_false(virtq_should_notify(&d->vq));
	/* used_event means nothing without event idx. */
	vqd_set_used_event(d, 100);
	push_one(d);
	assert_true(virtq_should_notify(&d->vq));
}

static void test_no_notify_flag(void **state)
{
	struct vq_driver *d = *state;

	assert_false(virtq_enable_notify(&d->vq, false));
	assert_int_equal(vqd_used_flags(d), VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&d->vq, true));
	assert_int_equal(vqd_used_flags(d), 0);
	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	vqd_publish(d, 0);
	assert_true(virtq_enable_notify(&d->vq, true));
}

static void test_reset_mid_flight(void **state)
{
	struct vq_driver *d = *state;
	u64 a = vqd_buf(d, 4, 0);
	u32 id, len;

	vqd_desc(d, 0, a, 4, 0, 0);
	vqd_desc(d, 1, a, 4, W, 0);
	vqd_publish(d, 0);
	vqd_publish(d, 1);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);

	virtq_reset(&d->vq);
	assert_false(d->vq.ready);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_EMPTY);
	virtq_push(&d->vq, 0, 0);	/* late completion: dropped */
	assert_false(virtq_should_notify(&d->vq));

	/* The driver sets the queue up again from scratch. */
	assert_int_equal(vqd_setup(d, 8, false, false), 0);
	a = vqd_buf(d, 4, 0);
	vqd_desc(d, 5, a, 4, W, 0);
	vqd_publish(d, 5);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_int_equal(elem.head, 5);
	virtq_push(&d->vq, elem.head, 4);
	assert_int_equal(vqd_used_idx(d), 1);
	vqd_used_elem(d, 0, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 4);
}

static void test_reset_clears_broken(void **state)
{
	struct vq_driver *d = *state;

	vqd_publish(d, 99);
	expect_bad(d);
	assert_int_equal(vqd_setup(d, 16, false, true), 0);
	assert_false(d->vq.broken);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_EMPTY);
}

static void *publish_later(void *arg)
{
	struct vq_driver *d = arg;
	u64 until = mono_ns() + 20000000;	/* 20 ms */

	while (mono_ns() < until)
		;
	vqd_desc(d, 2, vqd_buf(d, 8, 'x'), 8, 0, 0);
	vqd_publish(d, 2);
	return NULL;
}

/* The 9p worker's polling: a watch sees what the driver publishes. */
static void test_watch(void **state)
{
	struct vq_driver *d = *state;
	struct virtq_watch w;
	pthread_t t;

	assert_true(virtq_watch_start(&d->vq, &w));
	/* nothing available: the deadline ends the watch */
	assert_false(virtq_watch_until(&w, mono_ns() + 1000000));
	/* published from another thread while watched, well before the end */
	assert_int_equal(pthread_create(&t, NULL, publish_later, d), 0);
	assert_true(virtq_watch_until(&w, mono_ns() + 60000000000ULL));
	pthread_join(t, NULL);
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_int_equal(elem.head, 2);
	/* consumed: a new watch waits again; a queue not in use has none */
	assert_true(virtq_watch_start(&d->vq, &w));
	assert_false(virtq_watch_until(&w, mono_ns()));
	d->vq.ready = false;
	assert_false(virtq_watch_start(&d->vq, &w));
}

/* The driver's side of event idx: does publishing @new_idx after @old kick? */
static bool driver_kicks(struct vq_driver *d, u16 new_idx, u16 old)
{
	return (u16)(new_idx - vqd_avail_event(d) - 1) < (u16)(new_idx - old);
}

/* Held kicks: not even the next one (event idx), or the flag without. */
static void test_hold_notify(void **state)
{
	struct vq_driver *d = *state;

	vqd_setup(d, 16, true, true);
	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	push_one(d);
	push_one(d);
	assert_false(virtq_enable_notify(&d->vq, true));
	assert_true(driver_kicks(d, 3, 2));
	virtq_hold_notify(&d->vq);
	assert_false(driver_kicks(d, 3, 2));
	assert_false(driver_kicks(d, 4, 2));
	assert_false(virtq_enable_notify(&d->vq, true));
	assert_true(driver_kicks(d, 3, 2));

	vqd_setup(d, 16, false, true);
	virtq_hold_notify(&d->vq);
	assert_int_equal(vqd_used_flags(d), VRING_USED_F_NO_NOTIFY);
}

/*
 * The poll window: opened and doubled by waits it would have caught, up
 * to the widest; halved, then closed, by waits longer than the widest.
 */
static void test_poll_window_adapts(void **state)
{
	struct virtq_poll p = { 0 };

	virtq_poll_adapt(&p, VIRTQ_POLL_MAX_NS / 2);
	assert_int_equal(p.ns, VIRTQ_POLL_MIN_NS);
	virtq_poll_adapt(&p, VIRTQ_POLL_MAX_NS / 2);
	assert_int_equal(p.ns, 2 * VIRTQ_POLL_MIN_NS);
	virtq_poll_adapt(&p, VIRTQ_POLL_MIN_NS);	/* within the window */
	assert_int_equal(p.ns, 2 * VIRTQ_POLL_MIN_NS);
	while (p.ns < VIRTQ_POLL_MAX_NS)
		virtq_poll_adapt(&p, VIRTQ_POLL_MAX_NS - 1);
	assert_int_equal(p.ns, VIRTQ_POLL_MAX_NS);
	virtq_poll_adapt(&p, VIRTQ_POLL_MAX_NS);
	assert_int_equal(p.ns, VIRTQ_POLL_MAX_NS / 2);
	while (p.ns)
		virtq_poll_adapt(&p, 10 * VIRTQ_POLL_MAX_NS);
}

/*
 * Polls that find almost nothing shut the window for the cooldown's
 * wake-ups, whatever those waits would have done to it.
 */
static void test_poll_shuts_when_it_misses(void **state)
{
	struct vq_driver *d = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct virtq_poll p = { 0 };
	unsigned int i;

	vqd_setup(d, 16, true, true);
	pthread_mutex_lock(&lock);
	p.ns = VIRTQ_POLL_MIN_NS;
	for (i = 1; i < VIRTQ_POLL_PERIOD; i++) {
		assert_false(virtq_poll(&p, &d->vq, &lock));
		assert_int_equal(p.ns, VIRTQ_POLL_MIN_NS);	/* not yet */
	}
	assert_false(virtq_poll(&p, &d->vq, &lock));
	pthread_mutex_unlock(&lock);
	assert_int_equal(p.misses, VIRTQ_POLL_PERIOD);
	assert_int_equal(p.ns, 0);
	for (i = 0; i < VIRTQ_POLL_COOLDOWN; i++) {
		virtq_poll_adapt(&p, VIRTQ_POLL_MIN_NS);
		assert_int_equal(p.ns, 0);
	}
	virtq_poll_adapt(&p, VIRTQ_POLL_MIN_NS);
	assert_int_equal(p.ns, VIRTQ_POLL_MIN_NS);
}

/* @n polls of an empty queue, of which the first @hits find a request */
static void poll_period(struct vq_driver *d, struct virtq_poll *p,
			pthread_mutex_t *lock, unsigned int n, unsigned int hits)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (i < hits)
			vqd_publish(d, 0);
		assert_int_equal(virtq_poll(p, &d->vq, lock), i < hits);
		if (i < hits) {
			assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
			virtq_push(&d->vq, elem.head, 0);
		}
	}
}

/*
 * The proof that lets a device hold its interrupt back: a whole period
 * with enough hits, kept while the periods find enough, lost with the
 * window when one does not.
 */
static void test_poll_proven(void **state)
{
	struct vq_driver *d = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct virtq_poll p = { .ns = VIRTQ_POLL_MIN_NS };
	u64 t0;

	vqd_setup(d, 16, true, true);
	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	pthread_mutex_lock(&lock);
	poll_period(d, &p, &lock, VIRTQ_POLL_PERIOD - 1, VIRTQ_POLL_MIN_HITS);
	assert_false(p.proven);	/* the period is not over */
	poll_period(d, &p, &lock, 1, 0);
	assert_true(p.proven);
	poll_period(d, &p, &lock, VIRTQ_POLL_PERIOD, VIRTQ_POLL_MIN_HITS);
	assert_true(p.proven);
	poll_period(d, &p, &lock, VIRTQ_POLL_PERIOD, VIRTQ_POLL_MIN_HITS - 1);
	pthread_mutex_unlock(&lock);
	assert_false(p.proven);
	assert_int_equal(p.ns, 0);
	/* held, the poll has its own window, the widest at first */
	t0 = mono_ns();
	pthread_mutex_lock(&lock);
	assert_false(virtq_poll_held(&p, &d->vq, &lock));
	assert_true(mono_ns() - t0 >= VIRTQ_POLL_MAX_NS);
	assert_int_equal(p.held_ns, VIRTQ_POLL_MAX_NS - VIRTQ_POLL_MAX_NS / 16);
	vqd_publish(d, 0);
	assert_true(virtq_poll_held(&p, &d->vq, &lock));
	pthread_mutex_unlock(&lock);
	/* the window reopens after the cooldown, not the proof */
	p.cooldown = 0;
	virtq_poll_adapt(&p, VIRTQ_POLL_MIN_NS);
	assert_int_equal(p.ns, VIRTQ_POLL_MIN_NS);
	assert_false(p.proven);
}

/*
 * The held window: four times the longest gap caught, at once, up to the
 * widest; a sixteenth narrower per empty poll, down to the narrowest.
 */
static void test_poll_held_window(void **state)
{
	struct virtq_poll p = { .held_ns = 100000 };

	virtq_poll_held_adapt(&p, true, 20000);		/* within a quarter */
	assert_int_equal(p.held_ns, 100000);
	virtq_poll_held_adapt(&p, true, 40000);
	assert_int_equal(p.held_ns, 160000);
	virtq_poll_held_adapt(&p, true, 60000);
	assert_int_equal(p.held_ns, VIRTQ_POLL_MAX_NS);
	virtq_poll_held_adapt(&p, false, VIRTQ_POLL_MAX_NS);
	assert_int_equal(p.held_ns, VIRTQ_POLL_MAX_NS - VIRTQ_POLL_MAX_NS / 16);
	while (p.held_ns > VIRTQ_POLL_MIN_NS)
		virtq_poll_held_adapt(&p, false, p.held_ns);
	assert_int_equal(p.held_ns, VIRTQ_POLL_MIN_NS);
	virtq_poll_held_adapt(&p, false, p.held_ns);
	assert_int_equal(p.held_ns, VIRTQ_POLL_MIN_NS);
}

/*
 * Trials: an unproven device may hold once per VIRTQ_POLL_TRIAL_GAP, for
 * the widest window whatever held_ns is; two trials in a row that catch
 * a request prove, a miss starts the count again.
 */
static void test_poll_trial(void **state)
{
	struct vq_driver *d = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct virtq_poll p = { .held_ns = VIRTQ_POLL_MIN_NS };
	u64 t = 1000, t0;

	vqd_setup(d, 16, true, true);
	vqd_desc(d, 0, vqd_buf(d, 4, 0), 4, 0, 0);
	pthread_mutex_lock(&lock);
	assert_true(virtq_poll_may_hold(&p, t));
	t0 = mono_ns();
	assert_false(virtq_poll_held(&p, &d->vq, &lock));
	assert_true(mono_ns() - t0 >= VIRTQ_POLL_MAX_NS);
	assert_false(virtq_poll_may_hold(&p, t + VIRTQ_POLL_TRIAL_GAP - 1));
	t += VIRTQ_POLL_TRIAL_GAP;
	assert_true(virtq_poll_may_hold(&p, t));
	vqd_publish(d, 0);
	assert_true(virtq_poll_held(&p, &d->vq, &lock));
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	assert_false(p.proven);
	assert_false(virtq_poll_may_hold(&p, t + 1));
	t += VIRTQ_POLL_TRIAL_GAP;
	assert_true(virtq_poll_may_hold(&p, t));
	vqd_publish(d, 0);
	assert_true(virtq_poll_held(&p, &d->vq, &lock));
	pthread_mutex_unlock(&lock);
	assert_true(p.proven);
	assert_true(virtq_poll_may_hold(&p, t + 1));	/* no gap once proven */
}

/*
 * A poll: none without a window; one that finds nothing enables the
 * kicks again; one that finds a request leaves them held for the pop.
 */
static void test_poll(void **state)
{
	struct vq_driver *d = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct virtq_poll p = { 0 };
	pthread_t t;

	vqd_setup(d, 16, true, true);
	pthread_mutex_lock(&lock);
	assert_false(virtq_poll(&p, &d->vq, &lock));
	assert_int_equal(p.hits + p.misses, 0);
	p.ns = 1000000;					/* 1 ms */
	virtq_hold_notify(&d->vq);
	assert_false(virtq_poll(&p, &d->vq, &lock));
	assert_int_equal(p.misses, 1);
	assert_true(driver_kicks(d, 1, 0));
	p.ns = 4000000000U;				/* 4 s */
	assert_int_equal(pthread_create(&t, NULL, publish_later, d), 0);
	assert_true(virtq_poll(&p, &d->vq, &lock));
	pthread_join(t, NULL);
	assert_int_equal(p.hits, 1);
	assert_false(driver_kicks(d, 2, 1));
	assert_int_equal(virtq_pop(&d->vq, &elem), VIRTQ_GOT);
	pthread_mutex_unlock(&lock);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_start_validates),
		T(test_normal_chain),
		T(test_ring_wraps),
		T(test_indirect),
		T(test_indirect_not_negotiated),
		T(test_indirect_bad_len),
		T(test_indirect_empty),
		T(test_indirect_too_big),
		T(test_indirect_nested),
		T(test_indirect_with_next),
		T(test_indirect_loop),
		T(test_indirect_next_out_of_table),
		T(test_buffer_outside_ram),
		T(test_buffer_below_ram),
		T(test_buffer_wraps),
		T(test_indirect_table_outside_ram),
		T(test_loop),
		T(test_self_loop),
		T(test_chain_as_long_as_queue),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_avail_idx_jump),
		T(test_zero_length),
		T(test_out_after_in),
		T(test_event_idx),
		T(test_event_idx_enable),
		T(test_no_interrupt_flag),
		T(test_no_notify_flag),
		T(test_watch),
		T(test_hold_notify),
		T(test_poll_window_adapts),
		T(test_poll),
		T(test_poll_shuts_when_it_misses),
		T(test_poll_proven),
		T(test_poll_held_window),
		T(test_poll_trial),
		T(test_reset_mid_flight),
		T(test_reset_clears_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
