// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport, version 2 only (virtio 1.x, section 4.2):
 * each device gets a 4 KiB register window in the virtio-mmio area, one
 * SPI and a "virtio,mmio" device tree node.
 *
 * Kicks: one ioeventfd per queue, matching the queue index written to
 * QueueNotify, so a kick wakes the ioeventfd thread for exactly the queue
 * that has work and the vCPU does not exit to lkvm at all. Writes that
 * match no ioeventfd (KVM without ioeventfds, a bogus index) reach
 * mmio_write() and are served there.
 *
 * Interrupts: an irqfd, or KVM_IRQ_LINE when there is none. An irqfd
 * injects a pulse, and the vGIC forgets a pulse on a level-triggered SPI
 * that is lowered before a vCPU took it, so the SPI is declared
 * edge-triggered: every signal is a new edge that the GIC latches, even
 * while the previous one is being handled. InterruptStatus keeps the
 * reasons until the driver acknowledges them, so it stays right either way.
 */
#include <endian.h>
#include <errno.h>
#include <libfdt.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/irqfd.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/virtio.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VER		2
#define VIRTIO_MMIO_VENDOR	0x4d564b4c	/* "LKVM" */
#define VIRTIO_MMIO_NR_SLOTS	(LKVM_VIRTIO_MMIO_SIZE / LKVM_VIRTIO_MMIO_SLOT)

struct virtio_mmio {
	struct virtio_device *vdev;
	struct kvm *kvm;
	u64 base;
	u32 spi;
	int irqfd;
	u32 int_status;		/* atomic */
	/* Selectors, under vdev->lock. */
	u32 dev_features_sel, drv_features_sel, queue_sel;
	char node[32];
	struct virtio_kick kicks[VIRTIO_MAX_QUEUES];
};

/* ---- interrupts ---- */

static void mmio_raise(struct virtio_mmio *vm, u32 reason)
{
	__atomic_fetch_or(&vm->int_status, reason, __ATOMIC_SEQ_CST);
	if (vm->irqfd >= 0 && !irqfd_trigger(vm->irqfd))
		return;
	/* An edge, as an irqfd would make it. */
	irq_set_level(vm->kvm, vm->spi, 1);
	irq_set_level(vm->kvm, vm->spi, 0);
}

static void mmio_signal_vq(struct virtio_device *vdev, unsigned int q)
{
	mmio_raise(vdev->transport_priv, VIRTIO_MMIO_INT_VRING);
}

static void mmio_signal_config(struct virtio_device *vdev)
{
	mmio_raise(vdev->transport_priv, VIRTIO_MMIO_INT_CONFIG);
}

/* ---- registers ---- */

/* The driver writes each ring address as two 32-bit halves. */
static const struct virtio_ring_regs mmio_ring_regs[VIRTQ_NR_RINGS] = {
	[VIRTQ_RING_DESC] = { VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH },
	[VIRTQ_RING_AVAIL] = { VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH },
	[VIRTQ_RING_USED] = { VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH },
};

static u32 mmio_read_locked(struct virtio_mmio *vm, u64 off)
{
	struct virtio_device *vdev = vm->vdev;
	struct virtqueue *vq = virtio_queue(vdev, vm->queue_sel);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VER;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_get_device_features(vdev, vm->dev_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vdev->ops->queue_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&vm->int_status, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: a length of ~0 says so. */
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	}
	return 0;
}

static void mmio_queue_ready(struct virtio_mmio *vm, struct virtqueue *vq,
			     u32 val)
{
	if (!val) {
		/* The driver tears the queue down (Linux checks it reads 0). */
		vq->ready = false;
		return;
	}
	virtio_queue_enable(vm->vdev, vq);
}

static void mmio_queue_num(struct virtio_mmio *vm, struct virtqueue *vq,
			   u32 val)
{
	/* virtq_start() refuses a size that is not a power of two. */
	if (val > vm->vdev->ops->queue_size) {
		pr_warn_ratelimited("virtio-%s: QueueNum %u > QueueNumMax",
				    vm->vdev->ops->name, val);
		val = 0;
	}
	vq->size = val;
}

/* Queue configuration; the addresses are frozen while the queue runs. */
static void mmio_write_queue(struct virtio_mmio *vm, u64 off, u32 val)
{
	struct virtqueue *vq = virtio_queue(vm->vdev, vm->queue_sel);

	if (!vq)
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		mmio_queue_ready(vm, vq, val);
		return;
	}
	if (vq->ready)
		return;
	if (off == VIRTIO_MMIO_QUEUE_NUM)
		mmio_queue_num(vm, vq, val);
	else
		virtio_queue_set_addr(vq, mmio_ring_regs, off, val);
}

/* Driver or guest reset: the transport's registers as at power-on. */
static void mmio_reset_transport(struct virtio_mmio *vm)
{
	pthread_mutex_lock(&vm->vdev->lock);
	vm->dev_features_sel = vm->drv_features_sel = 0;
	vm->queue_sel = 0;
	pthread_mutex_unlock(&vm->vdev->lock);
	__atomic_store_n(&vm->int_status, 0, __ATOMIC_SEQ_CST);
}

static void mmio_write(struct virtio_mmio *vm, u64 off, u32 val)
{
	struct virtio_device *vdev = vm->vdev;

	switch (off) {
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_driver_features(vdev, vm->drv_features_sel, val);
		return;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(vdev, val);
		if (!val)
			mmio_reset_transport(vm);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* No ioeventfd took it. */
		virtio_notify_queue(vdev, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&vm->int_status, ~val, __ATOMIC_SEQ_CST);
		return;
	}

	pthread_mutex_lock(&vdev->lock);
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vm->dev_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vm->drv_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		vm->queue_sel = val;
		break;
	default:
		mmio_write_queue(vm, off, val);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

static void mmio_access(void *opaque, u64 off, u8 *data, u32 len,
			bool is_write)
{
	struct virtio_mmio *vm = opaque;
	u32 val;

	if (off >= VIRTIO_MMIO_CONFIG) {
		virtio_config_access(vm->vdev, off - VIRTIO_MMIO_CONFIG, data,
				     len, is_write);
		return;
	}
	/* Registers are 32 bits wide and aligned (4.2.2.2). */
	if (len != 4 || off % 4) {
		pr_warn_ratelimited("virtio-%s: %u-byte access at register %#llx",
				    vm->vdev->ops->name, len,
				    (unsigned long long)off);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&val, data, 4);
		mmio_write(vm, off, le32toh(val));
		return;
	}
	pthread_mutex_lock(&vm->vdev->lock);
	val = htole32(mmio_read_locked(vm, off));
	pthread_mutex_unlock(&vm->vdev->lock);
	memcpy(data, &val, 4);
}

/* ---- kicks: one per queue, matching its index in QueueNotify ---- */

static int mmio_add_kick(struct virtio_mmio *vm, unsigned int q)
{
	u64 dm = q;

	return virtio_kick_add(&vm->kicks[q], vm->kvm,
			       vm->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, &dm);
}

static void mmio_add_kicks(struct virtio_mmio *vm)
{
	unsigned int q;

	/* mmio_write() serves the kicks of a queue that gets no ioeventfd. */
	for (q = 0; q < vm->vdev->ops->nr_queues; q++) {
		virtio_kick_init(&vm->kicks[q], vm->vdev, q);
		mmio_add_kick(vm, q);
	}
}

static int mmio_set_kick_fd(struct virtio_device *vdev, unsigned int q,
			    int fd)
{
	struct virtio_mmio *vm = vdev->transport_priv;

	if (q >= vdev->ops->nr_queues)
		return -EINVAL;
	virtio_kick_del(&vm->kicks[q]);
	vm->kicks[q].fd = fd < 0 ? -1 : fd;
	return mmio_add_kick(vm, q);
}

static void mmio_del_kicks(struct virtio_mmio *vm)
{
	unsigned int q;

	for (q = 0; q < vm->vdev->ops->nr_queues; q++)
		virtio_kick_del(&vm->kicks[q]);
}

/* ---- registration ---- */

static int mmio_generate_fdt(struct virtio_device *vdev, void *fdt,
			     struct kvm *kvm)
{
	struct virtio_mmio *vm = vdev->transport_priv;

	FDT_CHECK(fdt_begin_node(fdt, vm->node));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	FDT_CHECK(fdt_property_reg64(fdt, vm->base, LKVM_VIRTIO_MMIO_SLOT));
	FDT_CHECK(fdt_property_spi(fdt, kvm->irq_parent, vm->spi,
				   IRQ_TYPE_EDGE_RISING));
	FDT_CHECK(fdt_property(fdt, "dma-coherent", NULL, 0));
	return fdt_end_node(fdt);
}

static void mmio_reset(struct virtio_device *vdev)
{
	mmio_reset_transport(vdev->transport_priv);
}

static void virtio_mmio_unregister(struct virtio_device *vdev)
{
	struct virtio_mmio *vm = vdev->transport_priv;

	mmio_del_kicks(vm);
	mmio_unregister(&vm->kvm->mmio, vm->base);
	irqfd_del(vm->kvm, vm->irqfd, vm->spi);
	vdev->transport = NULL;
	vdev->transport_priv = NULL;
	free(vm);
}

/*
 * Claim the lowest free slot of the virtio-mmio area: a slot is free when
 * nothing is registered there, so slots of removed devices come back.
 */
static int mmio_claim_slot(struct kvm *kvm, struct virtio_mmio *vm)
{
	unsigned int slot;
	int ret = -ENOSPC;

	for (slot = 0; slot < VIRTIO_MMIO_NR_SLOTS; slot++) {
		vm->base = LKVM_VIRTIO_MMIO_BASE + slot * LKVM_VIRTIO_MMIO_SLOT;
		ret = mmio_register(&kvm->mmio, vm->base, LKVM_VIRTIO_MMIO_SLOT,
				    mmio_access, vm);
		if (ret != -EEXIST)
			break;
	}
	if (ret == -EEXIST || ret == -ENOSPC)
		pr_err("virtio-%s: out of virtio-mmio slots (%llu)",
		       vm->vdev->ops->name,
		       (unsigned long long)VIRTIO_MMIO_NR_SLOTS);
	else if (ret < 0)
		pr_err("virtio-%s: cannot claim MMIO at %#llx: %s",
		       vm->vdev->ops->name, (unsigned long long)vm->base,
		       strerror(-ret));
	return ret == -EEXIST ? -ENOSPC : ret;
}

static int virtio_mmio_attach(struct kvm *kvm, struct virtio_device *vdev)
{
	struct virtio_mmio *vm;
	int ret, spi;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->vdev = vdev;
	vm->kvm = kvm;
	spi = irq_alloc_spi(kvm);
	if (spi < 0) {
		ret = spi;
		goto err_free;
	}
	vm->spi = spi;
	ret = mmio_claim_slot(kvm, vm);
	if (ret < 0)
		goto err_free;
	snprintf(vm->node, sizeof(vm->node), "virtio_mmio@%llx",
		 (unsigned long long)vm->base);
	vm->irqfd = irqfd_add(kvm, vm->spi);
	if (vm->irqfd < 0)
		pr_debug("virtio-%s: no irqfd (%s): interrupts through KVM_IRQ_LINE",
			 vdev->ops->name, strerror(-vm->irqfd));
	vdev->transport = &virtio_mmio_transport;
	vdev->transport_priv = vm;
	mmio_add_kicks(vm);
	pr_debug("virtio-%s: virtio-mmio at %#llx, SPI %u", vdev->ops->name,
		 (unsigned long long)vm->base, vm->spi);
	return 0;

err_free:
	free(vm);
	return ret;
}

const struct virtio_transport_ops virtio_mmio_transport = {
	.signal_vq = mmio_signal_vq,
	.signal_config = mmio_signal_config,
	.set_kick_fd = mmio_set_kick_fd,
	.attach = virtio_mmio_attach,
	.unregister = virtio_mmio_unregister,
	.generate_fdt = mmio_generate_fdt,
	.reset = mmio_reset,
	.bus = DEVICE_BUS_VIRTIO_MMIO,
};
