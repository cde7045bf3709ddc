// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware breakpoints and watchpoints for the GDB stub: gdb's Z1
 * (breakpoint), Z2/Z3/Z4 (write/read/access watchpoint) as the debug
 * registers KVM_SET_GUEST_DEBUG loads with KVM_GUESTDBG_USE_HW (Arm ARM
 * D2 "Breakpoint exceptions" / "Watchpoint exceptions"):
 *
 *   DBGBCR: E, PMC=0b11 (EL1 and EL0), BAS=0b1111 (an A64 instruction),
 *           unlinked address match; DBGBVR the address, sign-extended
 *           from bit 52 as the register's RESS bits require.
 *   DBGWCR: E, PAC=0b11, LSC (load 01, store 10, both 11), and either
 *           BAS = the bytes watched within the doubleword at DBGWVR, or
 *           MASK = log2 of an aligned power-of-two region (8 B - 2 GiB)
 *           with BAS all ones.
 *
 * Other ranges (crossing a doubleword, unaligned large ones) are
 * refused; gdb then falls back to software watchpoints. Inserting is
 * idempotent, as the protocol asks of Z packets.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lkvm/hwdebug.h"

#ifdef __aarch64__
#include <asm/kvm.h>
_Static_assert(HWDEBUG_MAX_SLOTS == KVM_ARM_MAX_DBG_REGS, "debug slots");
#endif

#define CTRL_E			1ULL
#define CTRL_EL1_EL0		(3ULL << 1)	/* PMC / PAC */
#define BCR_BAS_A64		(0xfULL << 5)
#define WCR_LSC(t)		((u64)(t) << 3)
#define WCR_BAS(b)		((u64)(b) << 5)
#define WCR_MASK(m)		((u64)(m) << 24)
#define WP_MASK_MIN		3
#define WP_MASK_MAX		31

void hwdebug_init(struct hwdebug *hd, int nr_bps, int nr_wps)
{
	memset(hd, 0, sizeof(*hd));
	hd->nr_bps = MIN(MAX(nr_bps, 0), HWDEBUG_MAX_SLOTS);
	hd->nr_wps = MIN(MAX(nr_wps, 0), HWDEBUG_MAX_SLOTS);
}

/* A virtual address in DBGBVR/DBGWVR form: bits 63:53 copy bit 52. */
static u64 va_field(u64 addr)
{
	return (u64)((s64)(addr << 11) >> 11);
}

static int encode_bp(struct hwdebug_slot *s, u64 addr, u64 kind, char *err,
		     size_t errlen)
{
	if (kind != 4 || (addr & 3)) {
		set_err(err, errlen,
			"hardware breakpoint at 0x%" PRIx64 " kind %" PRIu64
			": only 4-byte aligned A64 instructions (kind 4)",
			addr, kind);
		return -EINVAL;
	}
	s->ctrl = CTRL_E | CTRL_EL1_EL0 | BCR_BAS_A64;
	s->value = va_field(addr);
	return 0;
}

static int encode_wp(struct hwdebug_slot *s, enum hwdebug_type type,
		     u64 addr, u64 len, char *err, size_t errlen)
{
	static const u64 lsc[] = {
		[HWDEBUG_WATCH_WRITE] = 2, [HWDEBUG_WATCH_READ] = 1,
		[HWDEBUG_WATCH_ACCESS] = 3,
	};
	u64 base = CTRL_E | CTRL_EL1_EL0 | WCR_LSC(lsc[type]);
	int shift = len ? __builtin_ctzll(len) : 0;

	if (len && (addr & 7) + len <= 8) {
		s->ctrl = base | WCR_BAS(((1ULL << len) - 1) << (addr & 7));
		s->value = va_field(addr & ~7ULL);
		return 0;
	}
	if (len && !(len & (len - 1)) && shift >= WP_MASK_MIN &&
	    shift <= WP_MASK_MAX && !(addr & (len - 1))) {
		s->ctrl = base | WCR_BAS(0xff) | WCR_MASK(shift);
		s->value = va_field(addr);
		return 0;
	}
	set_err(err, errlen,
		"watchpoint on 0x%" PRIx64 "+%" PRIu64
		": the hardware watches 1-8 bytes within a doubleword or an aligned power of two up to 2 GiB",
		addr, len);
	return -EINVAL;
}

static struct hwdebug_slot *slots(struct hwdebug *hd, enum hwdebug_type type,
				  int *nr)
{
	*nr = type == HWDEBUG_BREAK ? hd->nr_bps : hd->nr_wps;
	return type == HWDEBUG_BREAK ? hd->bp : hd->wp;
}

/* The slot holding exactly this request, or NULL. */
static struct hwdebug_slot *find(struct hwdebug_slot *s, int nr,
				 const struct hwdebug_slot *want)
{
	for (int i = 0; i < nr; i++)
		if (s[i].used && s[i].addr == want->addr &&
		    s[i].len == want->len && s[i].ctrl == want->ctrl)
			return &s[i];
	return NULL;
}

static int encode(enum hwdebug_type type, u64 addr, u64 len,
		  struct hwdebug_slot *s, char *err, size_t errlen)
{
	*s = (struct hwdebug_slot){ .used = true, .addr = addr, .len = len };
	if (type == HWDEBUG_BREAK)
		return encode_bp(s, addr, len, err, errlen);
	if (type >= HWDEBUG_WATCH_WRITE && type <= HWDEBUG_WATCH_ACCESS)
		return encode_wp(s, type, addr, len, err, errlen);
	set_err(err, errlen, "unknown hardware debug type %d", type);
	return -EINVAL;
}

int hwdebug_insert(struct hwdebug *hd, enum hwdebug_type type, u64 addr,
		   u64 len, char *err, size_t errlen)
{
	struct hwdebug_slot want, *s;
	int nr, ret = encode(type, addr, len, &want, err, errlen);

	if (ret < 0)
		return ret;
	s = slots(hd, type, &nr);
	if (find(s, nr, &want))
		return 0;
	for (int i = 0; i < nr; i++) {
		if (!s[i].used) {
			s[i] = want;
			return 0;
		}
	}
	set_err(err, errlen, "all %d hardware %s are in use", nr,
		type == HWDEBUG_BREAK ? "breakpoints" : "watchpoints");
	return -ENOSPC;
}

int hwdebug_remove(struct hwdebug *hd, enum hwdebug_type type, u64 addr,
		   u64 len, char *err, size_t errlen)
{
	struct hwdebug_slot want, *s, *hit;
	int nr, ret = encode(type, addr, len, &want, err, errlen);

	if (ret < 0)
		return ret;
	s = slots(hd, type, &nr);
	hit = find(s, nr, &want);
	if (!hit) {
		set_err(err, errlen, "no such hardware %s at 0x%" PRIx64,
			type == HWDEBUG_BREAK ? "breakpoint" : "watchpoint",
			addr);
		return -ENOENT;
	}
	memset(hit, 0, sizeof(*hit));
	return 0;
}

bool hwdebug_active(const struct hwdebug *hd)
{
	for (int i = 0; i < HWDEBUG_MAX_SLOTS; i++)
		if (hd->bp[i].used || hd->wp[i].used)
			return true;
	return false;
}

void hwdebug_fill(const struct hwdebug *hd, u64 bcr[HWDEBUG_MAX_SLOTS],
		  u64 bvr[HWDEBUG_MAX_SLOTS], u64 wcr[HWDEBUG_MAX_SLOTS],
		  u64 wvr[HWDEBUG_MAX_SLOTS])
{
	for (int i = 0; i < HWDEBUG_MAX_SLOTS; i++) {
		bcr[i] = hd->bp[i].used ? hd->bp[i].ctrl : 0;
		bvr[i] = hd->bp[i].used ? hd->bp[i].value : 0;
		wcr[i] = hd->wp[i].used ? hd->wp[i].ctrl : 0;
		wvr[i] = hd->wp[i].used ? hd->wp[i].value : 0;
	}
}

/*
 * The FAR of a watchpoint hit is an address the access touched, not
 * necessarily the watched byte: a slot matches when FAR lies in the
 * doubleword (or the masked region) it watches.
 */
const struct hwdebug_slot *hwdebug_watch_hit(const struct hwdebug *hd,
					     u64 far)
{
	for (int i = 0; i < hd->nr_wps; i++) {
		const struct hwdebug_slot *s = &hd->wp[i];
		u64 lo = s->len <= 8 ? s->addr & ~7ULL : s->addr;
		u64 hi = s->len <= 8 ? lo + 8 : s->addr + s->len;

		if (s->used && far >= lo && far < hi)
			return s;
	}
	return NULL;
}
