// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (virtio 1.x, section 2.7), device side.
 *
 * Everything in the rings comes from the guest and may change under our
 * feet: each descriptor is copied once into a local before it is checked
 * and used, indices are read with atomic loads so that the compiler reads
 * guest memory exactly when we say, and every buffer address goes through
 * guest_ptr(). A chain that breaks a rule marks the queue broken; the
 * device then reports DEVICE_NEEDS_RESET instead of guessing.
 *
 * The guest is little-endian (lkvm runs arm64 guests on arm64 hosts, and
 * the unit tests on x86), and so is the virtio 1.x ring layout.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "lkvm/virtio.h"

#define DESC_SIZE		16	/* sizeof(struct vring_desc) */

/* Ring sizes in bytes, with the event index word at their end. */
static u64 desc_bytes(u16 size)
{
	return (u64)size * DESC_SIZE;
}

static u64 avail_bytes(u16 size)
{
	return 6 + 2 * (u64)size;	/* flags, idx, ring[], used_event */
}

static u64 used_bytes(u16 size)
{
	return 6 + 8 * (u64)size;	/* flags, idx, ring[], avail_event */
}

/* ---- guest memory accessors ---- */

static u16 load16(const void *p, int order)
{
	return le16toh(__atomic_load_n((const u16 *)p, order));
}

static void store16(void *p, u16 v, int order)
{
	__atomic_store_n((u16 *)p, htole16(v), order);
}

static void store32(void *p, u32 v)
{
	__atomic_store_n((u32 *)p, htole32(v), __ATOMIC_RELAXED);
}

static u16 *avail_flags(struct virtqueue *vq)
{
	return (u16 *)vq->avail;
}

static u16 *avail_idx(struct virtqueue *vq)
{
	return (u16 *)vq->avail + 1;
}

static u16 *avail_ring(struct virtqueue *vq, u16 i)
{
	return (u16 *)vq->avail + 2 + (i & (vq->size - 1));
}

static u16 *used_event(struct virtqueue *vq)
{
	return (u16 *)vq->avail + 2 + vq->size;
}

static u16 *used_flags(struct virtqueue *vq)
{
	return (u16 *)vq->used;
}

static u16 *used_idx(struct virtqueue *vq)
{
	return (u16 *)vq->used + 1;
}

static u32 *used_elem(struct virtqueue *vq, u16 i)
{
	return (u32 *)((u8 *)vq->used + 4) + 2 * (i & (vq->size - 1));
}

static u16 *avail_event(struct virtqueue *vq)
{
	return (u16 *)((u8 *)vq->used + 4 + 8 * (u64)vq->size);
}

struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

/*
 * One copy of the descriptor, so that what we check is what we use. The
 * table may be unaligned (indirect tables are only as aligned as the
 * driver made them), hence memcpy; the local is not guest memory, so the
 * compiler cannot turn later uses into re-reads of it.
 */
static void read_desc(const void *table, u16 i, struct desc *d)
{
	u8 raw[DESC_SIZE];

	memcpy(raw, (const u8 *)table + (u64)i * DESC_SIZE, sizeof(raw));
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* ---- setup ---- */

static bool is_pow2(u32 x)
{
	return x && !(x & (x - 1));
}

int virtq_start(struct virtqueue *vq, const struct guest_mem *mem)
{
	void *desc, *avail, *used;

	vq->ready = false;
	if (!is_pow2(vq->size) || vq->size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (!IS_ALIGNED(vq->desc_gpa, VRING_DESC_ALIGN_SIZE) ||
	    !IS_ALIGNED(vq->avail_gpa, VRING_AVAIL_ALIGN_SIZE) ||
	    !IS_ALIGNED(vq->used_gpa, VRING_USED_ALIGN_SIZE))
		return -EINVAL;
	desc = guest_ptr(mem, vq->desc_gpa, desc_bytes(vq->size));
	avail = guest_ptr(mem, vq->avail_gpa, avail_bytes(vq->size));
	used = guest_ptr(mem, vq->used_gpa, used_bytes(vq->size));
	if (!desc || !avail || !used)
		return -EINVAL;

	vq->mem = mem;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	vq->ready = true;
	return 0;
}

void virtq_reset(struct virtqueue *vq)
{
	u64 pushed = vq->nr_pushed;	/* statistics survive driver resets */

	memset(vq, 0, sizeof(*vq));
	vq->nr_pushed = pushed;
}

/* ---- popping a chain ---- */

/* Where virtq_pop() is in its walk of a chain. */
struct chain_walk {
	const void *table;	/* the ring's table or an indirect one */
	u16 table_size;
	u16 idx;
	unsigned int seen;	/* descriptors walked in this table */
	bool indirect;		/* in an indirect table */
};

static bool add_buffer(struct virtqueue *vq, struct virtq_elem *e,
		       const struct desc *d)
{
	bool in = d->flags & VRING_DESC_F_WRITE;
	void *p;

	/* Device-readable buffers come first (2.7.4.2). */
	if (!in && e->in_num)
		return false;
	/* Zero-length buffers are legal and carry nothing: skip them. */
	if (!d->len)
		return true;
	p = guest_ptr(vq->mem, d->addr, d->len);
	if (!p || e->out_num + e->in_num >= VIRTQ_MAX_IOV)
		return false;
	e->iov[e->out_num + e->in_num] = (struct iovec) {
		.iov_base = p, .iov_len = d->len,
	};
	if (in) {
		e->in_num++;
		e->in_len += d->len;
	} else {
		e->out_num++;
		e->out_len += d->len;
	}
	return true;
}

/* Switch the walk to the indirect table @d points to. */
static bool enter_indirect(struct virtqueue *vq, struct chain_walk *w,
			   const struct desc *d)
{
	u32 n = d->len / DESC_SIZE;
	const void *table;

	if (!vq->indirect || w->indirect || (d->flags & VRING_DESC_F_NEXT))
		return false;
	if (!n || d->len % DESC_SIZE || n > VIRTQ_MAX_SIZE)
		return false;
	table = guest_ptr(vq->mem, d->addr, d->len);
	if (!table)
		return false;
	*w = (struct chain_walk) {
		.table = table, .table_size = n, .idx = 0, .indirect = true,
	};
	return true;
}

/*
 * Walk the chain starting at w->idx into @e. Every step is bounded: at
 * most table_size descriptors per table, so a loop ends as an error.
 */
static bool walk_chain(struct virtqueue *vq, struct chain_walk *w,
		       struct virtq_elem *e)
{
	struct desc d;

	for (;;) {
		if (w->idx >= w->table_size || w->seen++ >= w->table_size)
			return false;
		read_desc(w->table, w->idx, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!enter_indirect(vq, w, &d))
				return false;
			continue;
		}
		if (!add_buffer(vq, e, &d))
			return false;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		w->idx = d.next;
	}
}

enum virtq_pop_result virtq_pop(struct virtqueue *vq, struct virtq_elem *e)
{
	struct chain_walk w;
	u16 avail, pending, head;

	if (vq->broken)
		return VIRTQ_BAD;
	if (!vq->ready)
		return VIRTQ_EMPTY;
	/* Acquire: the ring entry and the chain were written before idx. */
	avail = load16(avail_idx(vq), __ATOMIC_ACQUIRE);
	pending = avail - vq->last_avail;
	if (!pending)
		return VIRTQ_EMPTY;
	if (pending > vq->size)
		goto bad;
	head = load16(avail_ring(vq, vq->last_avail), __ATOMIC_RELAXED);

	e->head = head;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	w = (struct chain_walk) {
		.table = vq->desc, .table_size = vq->size, .idx = head,
	};
	if (!walk_chain(vq, &w, e))
		goto bad;
	vq->last_avail++;
	return VIRTQ_GOT;

bad:
	vq->broken = true;
	return VIRTQ_BAD;
}

void virtq_push(struct virtqueue *vq, u16 head, u32 len)
{
	u32 *elem;

	if (!vq->ready || vq->broken)
		return;
	elem = used_elem(vq, vq->used_idx);
	store32(elem, head);
	store32(elem + 1, len);
	vq->used_idx++;
	vq->nr_pushed++;
	/* Release: the element is visible before the index that covers it. */
	store16(used_idx(vq), vq->used_idx, __ATOMIC_RELEASE);
}

/* ---- notification suppression (2.7.7, 2.7.10) ---- */

bool virtq_should_notify(struct virtqueue *vq)
{
	u16 old = vq->signalled_used, new = vq->used_idx;
	bool valid = vq->signalled_valid;

	if (!vq->ready)
		return false;
	/*
	 * Our used->idx store must be visible before we read the driver's
	 * suppression state: the driver writes that, then re-reads used->idx
	 * (the store-load pair that needs a full barrier on both sides).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (valid && old == new)
		return false;
	if (!vq->event_idx)
		return !(load16(avail_flags(vq), __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	/* Nothing signalled since the queue started: we cannot tell. */
	if (!valid)
		return true;
	return vring_need_event(load16(used_event(vq), __ATOMIC_RELAXED),
				new, old);
}

bool virtq_enable_notify(struct virtqueue *vq, bool enable)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx) {
		/*
		 * Disabling leaves avail_event behind: the driver kicks at
		 * most once more, when it passes the old value.
		 */
		if (!enable)
			return false;
		store16(avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
	} else {
		store16(used_flags(vq), enable ? 0 : VRING_USED_F_NO_NOTIFY,
			__ATOMIC_RELAXED);
		if (!enable)
			return false;
	}
	/*
	 * The driver adds a buffer, then reads our flag/event: order our
	 * store before our re-read of avail->idx, or both sides may miss
	 * the other and the buffer waits for a kick that never comes.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_has_buffers(vq);
}

void virtq_hold_notify(struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return;
	if (vq->event_idx)
		/* one behind: the driver's next index does not pass it */
		store16(avail_event(vq), (u16)(vq->last_avail - 1),
			__ATOMIC_RELAXED);
	else
		store16(used_flags(vq), VRING_USED_F_NO_NOTIFY,
			__ATOMIC_RELAXED);
}

u16 virtq_pending(struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return 0;
	return load16(avail_idx(vq), __ATOMIC_ACQUIRE) - vq->last_avail;
}

bool virtq_has_buffers(struct virtqueue *vq)
{
	return virtq_pending(vq) != 0;
}

/* false: nothing to watch (the queue is not in use) */
bool virtq_watch_start(struct virtqueue *vq, struct virtq_watch *w)
{
	if (!vq->ready || vq->broken)
		return false;
	w->avail_idx = avail_idx(vq);
	w->last_avail = vq->last_avail;
	return true;
}

bool virtq_watch_until(const struct virtq_watch *w, u64 until_ns)
{
	unsigned int spins = 0;

	for (;;) {
		if (load16(w->avail_idx, __ATOMIC_ACQUIRE) != w->last_avail)
			return true;
		/* the clock every few reads: it costs more than a read */
		if (!(++spins & 15) && mono_ns() >= until_ns)
			return false;
		cpu_relax();
	}
}

/*
 * Longer than the widest window: polling cannot pay, halve it. Longer
 * than this window only: a wider one would have caught the request.
 */
void virtq_poll_adapt(struct virtq_poll *p, u64 waited_ns)
{
	if (p->cooldown) {
		p->cooldown--;
		return;
	}
	if (waited_ns >= VIRTQ_POLL_MAX_NS) {
		p->ns /= 2;
		if (p->ns < VIRTQ_POLL_MIN_NS)
			p->ns = 0;
	} else if (waited_ns > p->ns) {
		p->ns = p->ns ? MIN(2 * p->ns, VIRTQ_POLL_MAX_NS) :
				VIRTQ_POLL_MIN_NS;
	}
}

/* Every VIRTQ_POLL_PERIOD polls: did they find enough to go on? */
static void virtq_poll_judge(struct virtq_poll *p, bool hit)
{
	p->period_hits += hit;
	if (++p->period_polls < VIRTQ_POLL_PERIOD)
		return;
	p->proven = p->period_hits >= VIRTQ_POLL_MIN_HITS;
	if (!p->proven) {
		p->ns = 0;
		p->cooldown = VIRTQ_POLL_COOLDOWN;
	}
	p->period_polls = 0;
	p->period_hits = 0;
}

/* virtq_poll() for @ns */
static bool poll_for(struct virtq_poll *p, struct virtqueue *vq,
		     pthread_mutex_t *lock, u64 ns)
{
	struct virtq_watch w;
	bool got;

	p->idle_ns = mono_ns();
	if (!ns || !virtq_watch_start(vq, &w))
		return false;
	virtq_hold_notify(vq);
	pthread_mutex_unlock(lock);
	got = virtq_watch_until(&w, p->idle_ns + ns);
	pthread_mutex_lock(lock);
	__atomic_add_fetch(got ? &p->hits : &p->misses, 1, __ATOMIC_RELAXED);
	virtq_poll_judge(p, got);
	/* none: kicks again, and a request that came as they were is ours */
	return got || virtq_enable_notify(vq, true);
}

bool virtq_poll(struct virtq_poll *p, struct virtqueue *vq,
		pthread_mutex_t *lock)
{
	return poll_for(p, vq, lock, p->ns);
}

/*
 * A held poll's window: four times the longest wait a held poll caught,
 * at once; a sixteenth narrower after each that caught nothing (which
 * ends every burst of the guest's, as it waits for the interrupt).
 */
void virtq_poll_held_adapt(struct virtq_poll *p, bool got, u64 waited_ns)
{
	if (got && 4 * waited_ns > p->held_ns)
		p->held_ns = MIN(4 * waited_ns, VIRTQ_POLL_MAX_NS);
	else if (!got)
		p->held_ns = MAX(p->held_ns - p->held_ns / 16,
				 VIRTQ_POLL_MIN_NS);
}

bool virtq_poll_may_hold(struct virtq_poll *p, u64 now_ns)
{
	if (p->proven || p->trial)
		return true;
	if (p->trial_ns && now_ns - p->trial_ns < VIRTQ_POLL_TRIAL_GAP)
		return false;
	p->trial = true;
	p->trial_ns = now_ns;
	return true;
}

/* A trial's result: enough in a row prove the guest's depth. */
static void poll_trial_done(struct virtq_poll *p, bool got)
{
	p->trial_hits = got ? p->trial_hits + 1 : 0;
	if (p->trial_hits >= VIRTQ_POLL_TRIAL_HITS) {
		p->proven = true;
		p->trial_hits = 0;
	}
}

bool virtq_poll_held(struct virtq_poll *p, struct virtqueue *vq,
		     pthread_mutex_t *lock)
{
	bool trial = p->trial && !p->proven, got;

	if (!p->held_ns)
		p->held_ns = VIRTQ_POLL_MAX_NS;
	got = poll_for(p, vq, lock, trial ? VIRTQ_POLL_MAX_NS : p->held_ns);
	virtq_poll_held_adapt(p, got, mono_ns() - p->idle_ns);
	if (trial)
		poll_trial_done(p, got);
	p->trial = false;
	return got;
}
