/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CPU_FEATURES_H
#define LKVM_CPU_FEATURES_H

#include <sched.h>
#include "lkvm/util.h"

struct kvm_cpu;

/* KVM_REG_ARM64_SVE_VLS: bit vq - 1 set when 128 * vq bits is offered. */
#define SVE_VLS_WORDS		8
#define SVE_VQ_MAX		512
#define SVE_VL_MIN_BITS		128
#define SVE_VL_MAX_BITS		2048	/* the architecture's limit */

/*
 * Keep in @vls the vector lengths up to @max_bits (a multiple of 128);
 * KVM only takes "all the host's lengths up to one of them", so
 * @max_bits must be one the host offers. Else -EINVAL and @err lists
 * the lengths it has.
 */
int sve_vls_limit(u64 *vls, unsigned int max_bits, char *err, size_t errlen);
/* "128, 256, 512": the lengths in @vls, in bits. */
void sve_vls_format(const u64 *vls, char *buf, size_t len);

/*
 * A cpulist as in /sys/devices/system/cpu/online: "0-1,3". Returns 0, or
 * -EINVAL with @err naming the option @opt and the value.
 */
int cpulist_parse(const char *opt, const char *s, cpu_set_t *set, char *err,
		  size_t errlen);
/* The same notation back, for messages. */
void cpulist_format(const cpu_set_t *set, char *buf, size_t len);

/* arm64/cpu-features.c: the hooks arm64/kvm-cpu.c calls. */
u32 cpu_features_init_bits(struct kvm_cpu *cpu);	/* features[0] */
int cpu_features_vcpu_init(struct kvm_cpu *cpu);	/* after VCPU_INIT */

#endif
