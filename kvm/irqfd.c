// SPDX-License-Identifier: GPL-2.0
/* irqfds: interrupts KVM injects when an eventfd is written. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/irqfd.h"
#include "lkvm/kvm.h"

int irqfd_add_gsi(struct kvm *kvm, u32 gsi)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };
	int fd, ret;

	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0)
		return -ENOSYS;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	irqfd.fd = fd;
	/* On arm64 this needs the vGIC initialised (INIT_IRQCHIP_LATE). */
	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int irqfd_add(struct kvm *kvm, u32 spi)
{
	return irqfd_add_gsi(kvm, spi);
}

int irqfd_trigger(int fd)
{
	u64 one = 1;

	/* EAGAIN: the counter is full, so an injection is pending anyway. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void irqfd_del(struct kvm *kvm, int fd, u32 gsi)
{
	struct kvm_irqfd irqfd = {
		.fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (fd < 0)
		return;
	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		pr_warn("KVM_IRQFD deassign (GSI %u): %s", gsi, strerror(errno));
	close(fd);
}
