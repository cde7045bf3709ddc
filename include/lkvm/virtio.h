/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_H
#define LKVM_VIRTIO_H

#include <pthread.h>
#include <sys/uio.h>

#include "lkvm/guest-mem.h"
#include "lkvm/devices.h"
#include "lkvm/util.h"

/*
 * Virtio, in three layers with sharp edges:
 *
 *   virtqueue (virtio/virtqueue.c): walks descriptor chains in guest
 *     memory, checked against guest RAM. No KVM, no threads: unit-tested
 *     and fuzzed on its own.
 *   device (virtio/console.c, virtio/rng.c, ...): features, config space,
 *     and what to do with a chain. Sees only struct virtio_device and
 *     struct virtqueue.
 *   transport (virtio/mmio.c, virtio/pci.c): registers, ioeventfd and
 *     irqfd, feature negotiation and the status state machine, common to
 *     all devices (virtio/core.c).
 */

#define VIRTQ_MAX_SIZE		1024
#define VIRTIO_MAX_QUEUES	64
#define VIRTQ_MAX_IOV		VIRTQ_MAX_SIZE

/* One buffer (descriptor chain) taken from a queue. */
struct virtq_elem {
	u16 head;		/* id to hand back through virtq_push() */
	unsigned int out_num;	/* driver -> device buffers, first */
	unsigned int in_num;	/* device -> driver buffers, after */
	u64 out_len, in_len;	/* total bytes */
	struct iovec iov[VIRTQ_MAX_IOV];	/* out_num, then in_num */
};

static inline struct iovec *virtq_elem_out(struct virtq_elem *e)
{
	return e->iov;
}

static inline struct iovec *virtq_elem_in(struct virtq_elem *e)
{
	return e->iov + e->out_num;
}

/* A split virtqueue as the driver configured it, plus device-side state. */
struct virtqueue {
	const struct guest_mem *mem;
	u16 size;		/* QueueNum, power of two <= VIRTQ_MAX_SIZE */
	bool ready;
	u64 desc_gpa, avail_gpa, used_gpa;
	bool event_idx;		/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */

	/* device state, cleared on reset */
	u16 last_avail;		/* next avail ring entry to consume */
	u16 used_idx;		/* our copy of used->idx */
	u16 signalled_used;	/* used_idx at the last interrupt */
	bool signalled_valid;
	bool broken;		/* malformed by the driver: stop using it */
	u64 nr_pushed;		/* buffers completed, for --debug statistics */
	/* host pointers into guest memory, valid while ready */
	void *desc, *avail, *used;
};

enum virtq_pop_result {
	VIRTQ_EMPTY = 0,
	VIRTQ_GOT = 1,
	VIRTQ_BAD = -1,		/* malformed: the queue is now broken */
};

/*
 * Validate the size (a power of two <= VIRTQ_MAX_SIZE), the rings'
 * alignment and their addresses against guest memory, then start the
 * queue from index 0; returns -EINVAL (and leaves it not ready) otherwise.
 */
int virtq_start(struct virtqueue *vq, const struct guest_mem *mem);
/* Forget everything, configuration included (size, addresses, features). */
void virtq_reset(struct virtqueue *vq);
/*
 * A queue is used by one thread at a time (devices hold vdev->lock around
 * their queue processing). A device serves a queue like this, so that no
 * kick is lost between the last pop and re-enabling notifications:
 *
 *	do {
 *		virtq_enable_notify(vq, false);
 *		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT)
 *			... virtq_push(vq, e->head, written);
 *		virtio_notify_used(vdev, q);
 *	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
 *	if (r == VIRTQ_BAD)
 *		virtio_device_broken(vdev, "...");
 */
/* Take the next available chain; every buffer is checked against RAM. */
enum virtq_pop_result virtq_pop(struct virtqueue *vq, struct virtq_elem *e);
/* Give @e back with @len bytes written to its in-buffers. */
void virtq_push(struct virtqueue *vq, u16 head, u32 len);
/* Does the driver want an interrupt for what was pushed since the last? */
bool virtq_should_notify(struct virtqueue *vq);
/*
 * Ask the driver for / spare us notifications (flags or avail_event).
 * Enabling returns true if buffers arrived meanwhile: pop them too, as
 * the driver may have checked before it saw notifications enabled.
 */
bool virtq_enable_notify(struct virtqueue *vq, bool enable);
/*
 * Chains the driver made available that are not popped yet (as the
 * driver's index says: a hint, checked by the pops).
 */
u16 virtq_pending(struct virtqueue *vq);
bool virtq_has_buffers(struct virtqueue *vq);
/*
 * Polling without the device's lock (a vCPU may need it meanwhile, e.g.
 * for the interrupt status of the buffer just pushed): start under the
 * lock, then virtq_watch_until() spins on the driver's avail index until
 * it moves or CLOCK_MONOTONIC passes @until_ns. Guest RAM stays mapped
 * while the VM lives, so the index is safe to read whatever the queue
 * becomes; what arrived is popped, and checked, under the lock again.
 */
struct virtq_watch {
	const u16 *avail_idx;
	u16 last_avail;
};
bool virtq_watch_start(struct virtqueue *vq, struct virtq_watch *w);
bool virtq_watch_until(const struct virtq_watch *w, u64 until_ns);
/*
 * Spare us the driver's next kicks as well: virtq_enable_notify(false)
 * leaves avail_event where it was, and the driver kicks once more when
 * it passes it. For a thread that watches the queue instead.
 */
void virtq_hold_notify(struct virtqueue *vq);

/*
 * A device thread's poll window (virtio-9p's worker, virtio-blk's
 * io_uring thread): once its queue is empty, the thread watches it a
 * while before it sleeps, with the driver's kicks held, so a request
 * that comes meanwhile costs the guest no kick (an exit) and the thread
 * no wake-up. The window adapts as KVM's halt polling does: it doubles
 * while requests come later than it but sooner than the widest, and
 * halves when one comes later than the widest, so a queue used in bursts
 * is polled and an idle or slow one is not. And polling that finds
 * almost nothing (fewer than 1 in 8 of 64 polls) shuts the window for
 * the next 1024 wake-ups: KVM's halt polling stops when another task
 * wants the CPU, which a thread cannot ask cheaply, and a poll that
 * keeps the guest's own vCPU from running can only miss (bench blkrr
 * showed such runs at half the speed of no polling at all).
 */
#define VIRTQ_POLL_MIN_NS	10000
#define VIRTQ_POLL_MAX_NS	200000	/* KVM's halt_poll_ns default */
#define VIRTQ_POLL_PERIOD	64	/* polls judged together */
#define VIRTQ_POLL_MIN_HITS	8	/* fewer in a period: shut */
#define VIRTQ_POLL_COOLDOWN	1024	/* wake-ups it then stays shut */
#define VIRTQ_POLL_TRIAL_GAP	(100ULL * VIRTQ_POLL_MAX_NS)
#define VIRTQ_POLL_TRIAL_HITS	2	/* trials in a row that prove */
struct virtq_poll {
	u32 ns;			/* the window now; 0: none */
	u64 idle_ns;		/* when the queue was last found empty */
	u64 hits, misses;	/* atomic: the device's stats read them */
	u32 period_polls, period_hits;
	u32 cooldown;		/* wake-ups left with the window shut */
	bool proven;		/* the last period found enough */
	u32 held_ns;		/* virtq_poll_held()'s window; 0: not yet */
	bool trial;		/* the next held poll is a trial */
	u32 trial_hits;		/* trials in a row that caught a request */
	u64 trial_ns;		/* when the last trial began */
};
/* The thread woke for a request after waiting @waited_ns since idle_ns. */
void virtq_poll_adapt(struct virtq_poll *p, u64 waited_ns);
/*
 * @vq is empty and @lock (the device's) held: watch @vq for the window
 * with @lock dropped. True if the driver made a request available: the
 * kicks are still held, and the caller pops, then enables them again as
 * after any pop. False: the kicks are enabled again (or were never held:
 * no window, or a queue not in use).
 */
bool virtq_poll(struct virtq_poll *p, struct virtqueue *vq,
		pthread_mutex_t *lock);
/*
 * May the device hold back its interrupt for completions while it polls
 * for the driver's next request (virtq_poll_held)? Once a whole period
 * of polls found enough (VIRTQ_POLL_MIN_HITS), as long as the periods
 * do: a driver that waits for each completion before it sends more would
 * wait out every window, so the polls must first show that it does not.
 *
 * But the unheld polls start after the interrupt, and miss a guest that
 * takes longer than the widest window to handle it even when it has more
 * to send (virtio-mmio in the rig: two register exits an interrupt; and
 * runs of bench blkrr on PCI where they never caught a request). So an
 * unproven device may also hold for a trial: one held poll of the widest
 * window, at most one in VIRTQ_POLL_TRIAL_GAP (1 % of the time, so a
 * guest at depth 1 loses at most that), and VIRTQ_POLL_TRIAL_HITS trials
 * in a row that catch a request prove it. True: hold. @now_ns: now.
 */
bool virtq_poll_may_hold(struct virtq_poll *p, u64 now_ns);
/*
 * virtq_poll() while the device holds an interrupt back, with a window
 * of its own (held_ns): four times the longest gap the held polls caught
 * between the guest's requests (the widest at first), narrowed a little
 * by each that caught nothing. Not the adapted window: the wake-ups that
 * adapt it come after the interrupt a hold ends with, as late as the
 * guest is slow to take it. Generous, because a held poll that catches a
 * request saves an interrupt, which costs a guest more than the wait: in
 * the rig each interrupt saved gave the vCPU back 115-275 us (bench
 * blkrr), and at depth 8 twice the gap left 0.22-0.30 interrupts a read
 * where four times left 0.14, as the widest window did. A guest that
 * sends faster is held for less.
 */
bool virtq_poll_held(struct virtq_poll *p, struct virtqueue *vq,
		     pthread_mutex_t *lock);
/* The rule of held_ns: a held poll found a request (@got) after @waited_ns */
void virtq_poll_held_adapt(struct virtq_poll *p, bool got, u64 waited_ns);

struct kvm;
struct virtio_device;

/* What a device provides. */
struct virtio_device_ops {
	const char *name;
	u32 device_id;		/* VIRTIO_ID_* */
	/*
	 * Device features; VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX and
	 * VIRTIO_RING_F_INDIRECT_DESC are added by the core.
	 */
	u64 features;
	unsigned int nr_queues;
	u16 queue_size;		/* QueueNumMax */
	u32 config_size;
	/* Device config space; @data must be filled for reads. */
	void (*config_access)(struct virtio_device *vdev, u32 offset, u8 *data,
			      u32 len, bool is_write);
	/*
	 * The driver set DRIVER_OK: queues are ready, start working. A
	 * failure sets DEVICE_NEEDS_RESET.
	 */
	int (*start)(struct virtio_device *vdev);
	/*
	 * A ready queue was kicked: from the ioeventfd thread, or from a vCPU
	 * when KVM cannot do ioeventfds. Called through
	 * virtio_notify_queue(), i.e. with vdev->lock held, and once for
	 * every ready queue at DRIVER_OK: a kick may find nothing to do.
	 */
	void (*notify)(struct virtio_device *vdev, unsigned int q);
	/* Driver reset: stop touching the queues; core resets them after. */
	void (*reset)(struct virtio_device *vdev);
	/* More counters for lkvm stat / --debug than the core's (optional). */
	void (*stats)(struct virtio_device *vdev, device_stat_fn emit,
		      void *ctx);
	/*
	 * The VM goes away (the registry's exit): stop the device's threads,
	 * virtio_unregister() it where that is safe (no kicks or accesses
	 * after it returns; signals from threads still running are dropped)
	 * and free it. Without this hook the device is only detached.
	 */
	void (*exit)(struct virtio_device *vdev);
};

/*
 * Locking: vdev->lock serialises the status, the features, the queue
 * configuration and every use of the queues. config_access, start, notify
 * and reset are called with it held; a device's other threads (terminal
 * input, I/O completions) take it around their queue work. The transport's
 * signal_* hooks and virtio_device_broken() never take it.
 */

/* What a transport provides to the core. */
struct virtio_transport_ops {
	/* Raise the used-buffer interrupt for queue @q (irqfd / MSI-X). */
	void (*signal_vq)(struct virtio_device *vdev, unsigned int q);
	void (*signal_config)(struct virtio_device *vdev);
	/*
	 * Route the kicks of queue @q straight to the eventfd @fd, which KVM
	 * signals without lkvm (vhost reads it in the kernel); ops->notify
	 * is no longer called for them. @fd < 0 restores the usual path.
	 * Called with no lock held, before the guest runs (device init).
	 * Returns 0 or -errno. Kicks that KVM cannot route to @fd (no
	 * ioeventfds) still reach ops->notify, which must then pass them
	 * on itself. Optional: NULL means unsupported.
	 */
	int (*set_kick_fd)(struct virtio_device *vdev, unsigned int q, int fd);
	/*
	 * Put @vdev on this transport (virtio_register() chooses it): claim
	 * its registers, interrupt and kicks; set vdev->transport. 0 or -errno.
	 */
	int (*attach)(struct kvm *kvm, struct virtio_device *vdev);
	/* Undo attach: no more accesses or kicks after it returns. */
	void (*unregister)(struct virtio_device *vdev);
	/* The device's node, if the transport has one (optional). */
	int (*generate_fdt)(struct virtio_device *vdev, void *fdt,
			    struct kvm *kvm);
	/* Guest reset, after the device's: the transport's own registers. */
	void (*reset)(struct virtio_device *vdev);
	enum device_bus bus;	/* in the device registry */
};

struct virtio_device {
	const struct virtio_device_ops *ops;
	const struct virtio_transport_ops *transport;
	void *transport_priv;
	void *priv;		/* the device's own state */
	struct kvm *kvm;
	const struct guest_mem *mem;

	pthread_mutex_t lock;	/* status, features, queue configuration */
	u64 features;		/* offered */
	u64 driver_features;	/* accepted */
	u8 status;		/* atomic: virtio_device_broken() ORs into it */
	u32 config_generation;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	struct device_header dev;	/* in the VM's device registry */
	const char *name;	/* its name there (blk0...); NULL: ops->name */
	bool registered;
	/* Counters (atomic), for lkvm stat and --debug. */
	u64 nr_kicks;		/* notifications that reached ops->notify's path */
	u64 nr_interrupts;	/* used-buffer interrupts raised */
	u64 nr_errors;		/* times the device was marked broken */
	/* The VM is paused (lkvm pause): kicks are held, not served. */
	bool paused;
	u64 held_kicks;		/* bit q: queue q was kicked while paused */
};

/* The three rings of a split virtqueue, for virtio_queue_set_addr(). */
enum virtq_ring {
	VIRTQ_RING_DESC,
	VIRTQ_RING_AVAIL,
	VIRTQ_RING_USED,
	VIRTQ_NR_RINGS,
};

/*
 * Where a transport puts the two 32-bit halves of each ring's address
 * (register offsets), indexed by enum virtq_ring.
 */
struct virtio_ring_regs {
	u32 lo, hi;
};

/* virtio/core.c: status state machine and negotiation. */
void virtio_device_init(struct virtio_device *vdev,
			const struct virtio_device_ops *ops, struct kvm *kvm,
			const struct guest_mem *mem, void *priv);
/* Driver writes the status register. */
void virtio_set_status(struct virtio_device *vdev, u8 status);
/*
 * Driver writes a 32-bit word of its features (ignored once FEATURES_OK
 * is set). Kept as written: FEATURES_OK is refused if it holds bits that
 * were not offered.
 */
void virtio_set_driver_features(struct virtio_device *vdev, unsigned int sel,
				u32 value);
u32 virtio_get_device_features(struct virtio_device *vdev, unsigned int sel);
/* The device found the driver misbehaving: set DEVICE_NEEDS_RESET. */
void virtio_device_broken(struct virtio_device *vdev, const char *why);
/* DRIVER_OK is set and NEEDS_RESET is not: the device may use its queues. */
bool virtio_device_live(struct virtio_device *vdev);
/* Push done, tell the driver if it wants to know. */
void virtio_notify_used(struct virtio_device *vdev, unsigned int q);
/*
 * The driver kicked queue @q (transports call this from their ioeventfd
 * callback or QueueNotify handler): takes vdev->lock and calls ops->notify
 * if the device is live (DRIVER_OK, not NEEDS_RESET) and the queue ready.
 */
void virtio_notify_queue(struct virtio_device *vdev, unsigned int q);

/*
 * The VM pauses (the registry's pause walk): from now on kicks are only
 * noted, so no new guest request is taken (buffers in flight still
 * complete); resume serves each queue kicked meanwhile once. Both take
 * vdev->lock, so no notify runs on return from virtio_device_pause().
 */
void virtio_device_pause(struct virtio_device *vdev);
void virtio_device_resume(struct virtio_device *vdev);

/*
 * Kicks, for both transports: queue @q's kicks as an ioeventfd on the
 * transport's notify address, so the vCPU does not exit to lkvm. The
 * ioeventfd thread calls virtio_notify_queue(), or, once set_kick_fd()
 * stored an eventfd in @fd, KVM signals that eventfd instead. When KVM
 * cannot take the kicks (no ioeventfds) they reach the transport's
 * register handler, which calls virtio_notify_queue() itself.
 */
struct ioeventfd;
struct virtio_kick {
	struct virtio_device *vdev;
	unsigned int q;
	int fd;			/* from set_kick_fd(), or -1 */
	struct ioeventfd *ev;	/* NULL while not added */
};

void virtio_kick_init(struct virtio_kick *k, struct virtio_device *vdev,
		      unsigned int q);
/*
 * Watch guest writes of @len bytes at @addr (only of value *@datamatch if
 * not NULL). Returns 0, or -errno with the kick left to the register
 * handler.
 */
int virtio_kick_add(struct virtio_kick *k, struct kvm *kvm, u64 addr,
		    u32 len, const u64 *datamatch);
void virtio_kick_del(struct virtio_kick *k);

/* The queue the transport's queue selector names, or NULL if none. */
struct virtqueue *virtio_queue(struct virtio_device *vdev, unsigned int sel);
/*
 * The driver enabled @vq: start it, or set DEVICE_NEEDS_RESET if its
 * configuration is unusable. Called with vdev->lock held.
 */
void virtio_queue_enable(struct virtio_device *vdev, struct virtqueue *vq);
/*
 * If @off is one of the ring address registers @regs, set that half of
 * the ring's address to @value (or read it into @value) and return true.
 * Called with vdev->lock held; the transport freezes a ready queue's
 * addresses.
 */
bool virtio_queue_set_addr(struct virtqueue *vq,
			   const struct virtio_ring_regs regs[VIRTQ_NR_RINGS],
			   u64 off, u32 value);
bool virtio_queue_get_addr(struct virtqueue *vq,
			   const struct virtio_ring_regs regs[VIRTQ_NR_RINGS],
			   u64 off, u32 *value);
/*
 * Device configuration space access at @off from the start of it; what
 * lies outside reads as zeroes and ignores writes. Takes vdev->lock.
 */
void virtio_config_access(struct virtio_device *vdev, u64 off, u8 *data,
			  u32 len, bool is_write);

/*
 * virtio/device.c: a device joins the VM on the transport chosen by
 * --virtio-transport and in the device registry, whose walks reset it
 * (guest reset: the device, then its transport), report its counters
 * and, at exit, detach it and call ops->exit. Returns 0 or -errno.
 * virtio_unregister() undoes virtio_register() without ops->exit, for a
 * device's own error path.
 */
int virtio_register(struct kvm *kvm, struct virtio_device *vdev);
void virtio_unregister(struct virtio_device *vdev);
/* The transports (virtio/mmio.c, virtio/pci.c). */
extern const struct virtio_transport_ops virtio_mmio_transport;
extern const struct virtio_transport_ops virtio_pci_transport;

#endif
