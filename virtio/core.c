// SPDX-License-Identifier: GPL-2.0
/*
 * Transport-independent virtio device state (virtio 1.x, section 2-3):
 * feature negotiation, the device status state machine, and the queue and
 * config registers that MMIO and PCI lay out differently but mean alike.
 * The transports (virtio/mmio.c, virtio/pci.c) turn register accesses into
 * these calls, and place their kicks (ioeventfds) with the helpers here.
 *
 * Only modern (VERSION_1) drivers are supported, so the device never has
 * to guess the ring layout or the byte order.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "lkvm/ioeventfd.h"
#include "lkvm/virtio.h"

/* Offered for every device: the core and virtqueue.c implement them. */
#define VIRTIO_CORE_FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) |		\
				 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |	\
				 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC))

static u8 status_get(struct virtio_device *vdev)
{
	return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
}

static void status_put(struct virtio_device *vdev, u8 status)
{
	__atomic_store_n(&vdev->status, status, __ATOMIC_RELEASE);
}

/* Queues come out of reset with QueueNumMax as their size (PCI shows it). */
static void reset_queues(struct virtio_device *vdev)
{
	unsigned int q;

	for (q = 0; q < vdev->ops->nr_queues; q++) {
		virtq_reset(&vdev->vqs[q]);
		vdev->vqs[q].size = vdev->ops->queue_size;
		vdev->vqs[q].mem = vdev->mem;
	}
}

void virtio_device_init(struct virtio_device *vdev,
			const struct virtio_device_ops *ops, struct kvm *kvm,
			const struct guest_mem *mem, void *priv)
{
	memset(vdev, 0, sizeof(*vdev));
	vdev->ops = ops;
	vdev->kvm = kvm;
	vdev->mem = mem;
	vdev->priv = priv;
	vdev->features = ops->features | VIRTIO_CORE_FEATURES;
	pthread_mutex_init(&vdev->lock, NULL);
	reset_queues(vdev);
}

u32 virtio_get_device_features(struct virtio_device *vdev, unsigned int sel)
{
	return sel < 2 ? (u32)(vdev->features >> (32 * sel)) : 0;
}

void virtio_set_driver_features(struct virtio_device *vdev, unsigned int sel,
				u32 value)
{
	u64 mask;

	if (sel >= 2)
		return;
	pthread_mutex_lock(&vdev->lock);
	/* Negotiation is over once FEATURES_OK stuck (3.1.1). */
	if (!(status_get(vdev) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		mask = 0xffffffffULL << (32 * sel);
		vdev->driver_features = (vdev->driver_features & ~mask) |
					((u64)value << (32 * sel));
	}
	pthread_mutex_unlock(&vdev->lock);
}

static bool features_acceptable(struct virtio_device *vdev)
{
	u64 f = vdev->driver_features;

	return !(f & ~vdev->features) && (f & BIT_ULL(VIRTIO_F_VERSION_1));
}

/* FEATURES_OK: accept the subset the driver chose, or leave the bit clear. */
static u8 negotiate(struct virtio_device *vdev, u8 status)
{
	u64 f = vdev->driver_features;
	unsigned int q;

	if (!features_acceptable(vdev)) {
		pr_warn_ratelimited("virtio-%s: driver features %#llx refused (offered %#llx)",
				    vdev->ops->name, (unsigned long long)f,
				    (unsigned long long)vdev->features);
		return status & ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	for (q = 0; q < vdev->ops->nr_queues; q++) {
		vdev->vqs[q].event_idx = f & BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
		vdev->vqs[q].indirect = f & BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC);
	}
	return status;
}

static void device_reset(struct virtio_device *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	reset_queues(vdev);
	vdev->held_kicks = 0;
	vdev->driver_features = 0;
	status_put(vdev, 0);
}

/*
 * DRIVER_OK: start the device, then serve the queues once, for the kicks
 * that came before it (Linux fills and kicks queues during probe, before
 * DRIVER_OK, and those were dropped).
 */
static void device_start(struct virtio_device *vdev)
{
	unsigned int q;

	if (vdev->ops->start && vdev->ops->start(vdev) < 0) {
		virtio_device_broken(vdev, "cannot start");
		return;
	}
	for (q = 0; q < vdev->ops->nr_queues && vdev->ops->notify; q++)
		if (vdev->vqs[q].ready && virtio_device_live(vdev))
			vdev->ops->notify(vdev, q);
}

void virtio_set_status(struct virtio_device *vdev, u8 status)
{
	u8 old, new, added;

	pthread_mutex_lock(&vdev->lock);
	if (!status) {
		device_reset(vdev);
		goto out;
	}
	old = status_get(vdev);
	/*
	 * The driver only adds bits (2.1.1); NEEDS_RESET is ours to set.
	 * Bits that were refused stay clear until the next reset.
	 */
	new = old | (status & ~VIRTIO_CONFIG_S_NEEDS_RESET);
	added = new & ~old;
	if (added & VIRTIO_CONFIG_S_FEATURES_OK)
		new = negotiate(vdev, new);
	/* DRIVER_OK without negotiated features would run on guesses. */
	if (!(new & VIRTIO_CONFIG_S_FEATURES_OK))
		new &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	added = new & ~old;
	status_put(vdev, new);
	if (added & VIRTIO_CONFIG_S_DRIVER_OK)
		device_start(vdev);
out:
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_device_broken(struct virtio_device *vdev, const char *why)
{
	u8 old = __atomic_fetch_or(&vdev->status, VIRTIO_CONFIG_S_NEEDS_RESET,
				   __ATOMIC_ACQ_REL);

	if (old & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	__atomic_add_fetch(&vdev->nr_errors, 1, __ATOMIC_RELAXED);
	pr_warn_ratelimited("virtio-%s: %s: device needs reset",
			    vdev->ops->name, why);
	if (vdev->transport && vdev->transport->signal_config)
		vdev->transport->signal_config(vdev);
}

void virtio_notify_used(struct virtio_device *vdev, unsigned int q)
{
	if (q >= vdev->ops->nr_queues)
		return;
	if (virtq_should_notify(&vdev->vqs[q]) && vdev->transport &&
	    vdev->transport->signal_vq) {
		__atomic_add_fetch(&vdev->nr_interrupts, 1, __ATOMIC_RELAXED);
		vdev->transport->signal_vq(vdev, q);
	}
}

bool virtio_device_live(struct virtio_device *vdev)
{
	u8 status = status_get(vdev);

	return (status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void virtio_notify_queue(struct virtio_device *vdev, unsigned int q)
{
	if (q >= vdev->ops->nr_queues)
		return;
	__atomic_add_fetch(&vdev->nr_kicks, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&vdev->lock);
	if (vdev->paused)
		vdev->held_kicks |= 1ULL << q;
	else if (virtio_device_live(vdev) && vdev->vqs[q].ready &&
		 vdev->ops->notify)
		vdev->ops->notify(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

_Static_assert(VIRTIO_MAX_QUEUES <= 64, "held_kicks has a bit per queue");

void virtio_device_pause(struct virtio_device *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	vdev->paused = true;
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_device_resume(struct virtio_device *vdev)
{
	unsigned int q;

	pthread_mutex_lock(&vdev->lock);
	vdev->paused = false;
	for (q = 0; q < vdev->ops->nr_queues; q++) {
		if (!(vdev->held_kicks & (1ULL << q)))
			continue;
		if (virtio_device_live(vdev) && vdev->vqs[q].ready &&
		    vdev->ops->notify)
			vdev->ops->notify(vdev, q);
	}
	vdev->held_kicks = 0;
	pthread_mutex_unlock(&vdev->lock);
}

struct virtqueue *virtio_queue(struct virtio_device *vdev, unsigned int sel)
{
	return sel < vdev->ops->nr_queues ? &vdev->vqs[sel] : NULL;
}

void virtio_queue_enable(struct virtio_device *vdev, struct virtqueue *vq)
{
	if (vq->ready)
		return;
	if (virtq_start(vq, vdev->mem) < 0)
		virtio_device_broken(vdev, "queue outside RAM, misaligned or of a bad size");
}

/*
 * The ring address whose half register @off holds, and the shift of that
 * half in it; NULL if @off is no ring address register.
 */
static u64 *ring_addr_half(struct virtqueue *vq,
			   const struct virtio_ring_regs regs[VIRTQ_NR_RINGS],
			   u64 off, unsigned int *shift)
{
	u64 *addr[VIRTQ_NR_RINGS] = {
		[VIRTQ_RING_DESC] = &vq->desc_gpa,
		[VIRTQ_RING_AVAIL] = &vq->avail_gpa,
		[VIRTQ_RING_USED] = &vq->used_gpa,
	};
	unsigned int r;

	for (r = 0; r < VIRTQ_NR_RINGS; r++) {
		if (off == regs[r].lo || off == regs[r].hi) {
			*shift = off == regs[r].hi ? 32 : 0;
			return addr[r];
		}
	}
	return NULL;
}

bool virtio_queue_set_addr(struct virtqueue *vq,
			   const struct virtio_ring_regs regs[VIRTQ_NR_RINGS],
			   u64 off, u32 value)
{
	unsigned int shift;
	u64 *addr = ring_addr_half(vq, regs, off, &shift);

	if (!addr)
		return false;
	*addr = (*addr & ~(0xffffffffULL << shift)) | ((u64)value << shift);
	return true;
}

bool virtio_queue_get_addr(struct virtqueue *vq,
			   const struct virtio_ring_regs regs[VIRTQ_NR_RINGS],
			   u64 off, u32 *value)
{
	unsigned int shift;
	u64 *addr = ring_addr_half(vq, regs, off, &shift);

	if (!addr)
		return false;
	*value = (u32)(*addr >> shift);
	return true;
}

void virtio_config_access(struct virtio_device *vdev, u64 off, u8 *data,
			  u32 len, bool is_write)
{
	u64 size = vdev->ops->config_size;

	if (off > size || len > size - off || !vdev->ops->config_access) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&vdev->lock);
	vdev->ops->config_access(vdev, off, data, len, is_write);
	pthread_mutex_unlock(&vdev->lock);
}

/* ---- kicks ---- */

static void kick_notify(void *opaque)
{
	struct virtio_kick *k = opaque;

	virtio_notify_queue(k->vdev, k->q);
}

void virtio_kick_init(struct virtio_kick *k, struct virtio_device *vdev,
		      unsigned int q)
{
	*k = (struct virtio_kick) { .vdev = vdev, .q = q, .fd = -1 };
}

int virtio_kick_add(struct virtio_kick *k, struct kvm *kvm, u64 addr,
		    u32 len, const u64 *datamatch)
{
	int ret;

	if (k->fd >= 0)
		ret = ioeventfd_add_fd(kvm, addr, len, datamatch, k->fd, &k->ev);
	else
		ret = ioeventfd_add(kvm, addr, len, datamatch, kick_notify, k,
				    &k->ev);
	if (ret < 0) {
		pr_debug("virtio-%s: queue %u kicks without ioeventfd: %s",
			 k->vdev->ops->name, k->q, strerror(-ret));
		k->ev = NULL;
	}
	return ret;
}

void virtio_kick_del(struct virtio_kick *k)
{
	ioeventfd_del(k->ev);
	k->ev = NULL;
}
