/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IOEVENTFD_H
#define LKVM_IOEVENTFD_H

#include "lkvm/util.h"

struct kvm;
struct ioeventfd;

/*
 * Guest writes that KVM completes in the kernel (KVM_IOEVENTFD): the vCPU
 * does not exit to lkvm; instead @fn(@opaque) runs on the single ioeventfd
 * thread (started on first use), never on a vCPU thread.
 *
 * ioeventfd_add() watches MMIO writes of @len bytes at @addr, only those
 * of value *@datamatch if @datamatch is not NULL. Returns 0 and the handle
 * in *@evp, or -errno: -ENOSYS if KVM has no KVM_CAP_IOEVENTFD, in which
 * case the caller handles the write in its MMIO handler instead.
 *
 * ioeventfd_del(): once it returns, @fn is not running and never runs
 * again for this handle (it may be called from @fn itself).
 */
int ioeventfd_add(struct kvm *kvm, u64 addr, u32 len, const u64 *datamatch,
		  void (*fn)(void *opaque), void *opaque,
		  struct ioeventfd **evp);
void ioeventfd_del(struct ioeventfd *ev);
/*
 * The same with the caller's eventfd @fd, which lkvm neither polls nor
 * closes: for a consumer outside lkvm (vhost reads it in the kernel).
 * ioeventfd_del() unbinds it.
 */
int ioeventfd_add_fd(struct kvm *kvm, u64 addr, u32 len, const u64 *datamatch,
		     int fd, struct ioeventfd **evp);

#endif
