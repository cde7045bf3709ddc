// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio device's place in the VM: it is attached to the transport the
 * user chose (--virtio-transport) and joins the device registry
 * (lkvm/devices.h) with one set of hooks for every virtio device, which
 * dispatch to the transport and the device model:
 *
 *   generate_fdt  the transport's node (virtio-mmio; none on PCI)
 *   reset         the guest reset: the device as if the driver wrote 0
 *                 to its status, then the transport's own registers
 *   pause/resume  the core holds the guest's kicks back while paused
 *                 and serves the queues kicked meanwhile on resume
 *   stats         the core's counters, then the device's own
 *   exit          ops->exit: the device stops its threads, detaches
 *                 (virtio_unregister()) when it is safe, and frees itself
 *
 * This file sits above both transports and below the device models; the
 * transports know nothing of each other or of the registry.
 */
#include <errno.h>

#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

static const struct virtio_transport_ops *const virtio_transports[] = {
	[VIRTIO_TRANSPORT_MMIO] = &virtio_mmio_transport,
	[VIRTIO_TRANSPORT_PCI] = &virtio_pci_transport,
};

static struct virtio_device *to_vdev(struct device_header *dev)
{
	return dev->opaque;
}

static int virtio_dev_fdt(struct device_header *dev, void *fdt,
			  struct kvm *kvm)
{
	struct virtio_device *vdev = to_vdev(dev);

	if (!vdev->transport || !vdev->transport->generate_fdt)
		return 0;
	return vdev->transport->generate_fdt(vdev, fdt, kvm);
}

static void virtio_dev_reset(struct device_header *dev)
{
	struct virtio_device *vdev = to_vdev(dev);

	virtio_set_status(vdev, 0);
	if (vdev->transport && vdev->transport->reset)
		vdev->transport->reset(vdev);
}

static void virtio_dev_pause(struct device_header *dev)
{
	virtio_device_pause(to_vdev(dev));
}

static void virtio_dev_resume(struct device_header *dev)
{
	virtio_device_resume(to_vdev(dev));
}

static u64 virtio_requests(struct virtio_device *vdev)
{
	u64 done = 0;
	unsigned int q;

	for (q = 0; q < vdev->ops->nr_queues; q++)
		done += __atomic_load_n(&vdev->vqs[q].nr_pushed, __ATOMIC_RELAXED);
	return done;
}

static void virtio_dev_stats(struct device_header *dev, device_stat_fn emit,
			     void *ctx)
{
	struct virtio_device *vdev = to_vdev(dev);

	emit(ctx, dev, "requests", virtio_requests(vdev));
	emit(ctx, dev, "kicks", __atomic_load_n(&vdev->nr_kicks, __ATOMIC_RELAXED));
	emit(ctx, dev, "interrupts",
	     __atomic_load_n(&vdev->nr_interrupts, __ATOMIC_RELAXED));
	emit(ctx, dev, "errors", __atomic_load_n(&vdev->nr_errors, __ATOMIC_RELAXED));
	if (vdev->ops->stats)
		vdev->ops->stats(vdev, emit, ctx);
}

static void virtio_detach(struct virtio_device *vdev)
{
	if (vdev->transport && vdev->transport->unregister)
		vdev->transport->unregister(vdev);
	vdev->registered = false;
}

static void virtio_dev_exit(struct device_header *dev, struct kvm *kvm)
{
	struct virtio_device *vdev = to_vdev(dev);

	if (vdev->ops->exit)
		vdev->ops->exit(vdev);
	else
		virtio_detach(vdev);
}

static const struct device_ops virtio_dev_ops = {
	.generate_fdt = virtio_dev_fdt,
	.reset = virtio_dev_reset,
	.pause = virtio_dev_pause,
	.resume = virtio_dev_resume,
	.stats = virtio_dev_stats,
	.exit = virtio_dev_exit,
};

int virtio_register(struct kvm *kvm, struct virtio_device *vdev)
{
	const struct virtio_transport_ops *t;
	int ret;

	if ((unsigned int)kvm->cfg.transport >= ARRAY_SIZE(virtio_transports))
		return -EINVAL;
	t = virtio_transports[kvm->cfg.transport];
	ret = t->attach(kvm, vdev);
	if (ret < 0)
		return ret;
	vdev->dev = (struct device_header) {
		.name = vdev->name ? vdev->name : vdev->ops->name, .bus = t->bus,
		.ops = &virtio_dev_ops, .opaque = vdev,
	};
	device_register(kvm, &vdev->dev);
	vdev->registered = true;
	return 0;
}

void virtio_unregister(struct virtio_device *vdev)
{
	if (!vdev->registered)
		return;
	device_unregister(vdev->kvm, &vdev->dev);
	virtio_detach(vdev);
}
