/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_HWDEBUG_H
#define LKVM_HWDEBUG_H

/*
 * Hardware breakpoints and watchpoints for the GDB stub
 * (arm64/hwdebug.c): gdb's Z1-Z4 requests as DBGBCR/DBGBVR and
 * DBGWCR/DBGWVR values, kept in slots and laid out for
 * KVM_SET_GUEST_DEBUG's struct kvm_guest_debug_arch. No VM needed: the
 * stub passes the numbers of slots KVM reports
 * (KVM_CAP_GUEST_DEBUG_HW_BPS / _WPS) and copies the arrays out.
 */
#include "lkvm/util.h"

#define HWDEBUG_MAX_SLOTS	16	/* KVM_ARM_MAX_DBG_REGS */

/* gdb's Z types 1-4 (enum gdb_bp_type). */
enum hwdebug_type {
	HWDEBUG_BREAK = 1,
	HWDEBUG_WATCH_WRITE = 2,
	HWDEBUG_WATCH_READ = 3,
	HWDEBUG_WATCH_ACCESS = 4,
};

struct hwdebug_slot {
	bool used;
	u64 addr, len;		/* as gdb asked */
	u64 ctrl;		/* DBGBCR / DBGWCR */
	u64 value;		/* DBGBVR / DBGWVR */
};

struct hwdebug {
	int nr_bps, nr_wps;	/* what the CPU has, at most 16 each */
	struct hwdebug_slot bp[HWDEBUG_MAX_SLOTS];
	struct hwdebug_slot wp[HWDEBUG_MAX_SLOTS];
};

void hwdebug_init(struct hwdebug *hd, int nr_bps, int nr_wps);
/*
 * Insert (idempotent: the same request twice is one slot) or remove a
 * breakpoint at @addr (@len: gdb's kind, 4) or a watchpoint on
 * [@addr, @addr + @len). 0, or -errno with @err: -ENOSPC no free slot,
 * -EINVAL a range the hardware cannot watch, -ENOENT nothing to remove.
 */
int hwdebug_insert(struct hwdebug *hd, enum hwdebug_type type, u64 addr,
		   u64 len, char *err, size_t errlen);
int hwdebug_remove(struct hwdebug *hd, enum hwdebug_type type, u64 addr,
		   u64 len, char *err, size_t errlen);
bool hwdebug_active(const struct hwdebug *hd);
/* The registers for struct kvm_guest_debug_arch; unused slots are 0. */
void hwdebug_fill(const struct hwdebug *hd, u64 bcr[HWDEBUG_MAX_SLOTS],
		  u64 bvr[HWDEBUG_MAX_SLOTS], u64 wcr[HWDEBUG_MAX_SLOTS],
		  u64 wvr[HWDEBUG_MAX_SLOTS]);
/*
 * The watchpoint a data abort at @far (the debug exit's FAR) hit: its
 * slot, or NULL.
 */
const struct hwdebug_slot *hwdebug_watch_hit(const struct hwdebug *hd,
					     u64 far);

#endif
