// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's registers through KVM_GET_ONE_REG/KVM_SET_ONE_REG, for
 * `lkvm debug --dump` and the GDB stub, on a parked vCPU.
 *
 * The register ids are built here from the encodings KVM documents
 * (Documentation/virt/kvm/api.rst: KVM_REG_ARM_CORE ids are offsets in
 * struct kvm_regs in 32-bit words, KVM_REG_ARM64_SYSREG ids the
 * op0/op1/CRn/CRm/op2 of the MRS encoding, SVE ids slice 0), not taken
 * from <asm/kvm.h>, so that this file and its tests build on any host;
 * on arm64 the ids are checked against that header at compile time.
 * The access goes through a callback (regs_io_fn): tests pass a fake
 * vCPU, lkvm the ioctl (regs_read_vcpu).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lkvm/regs.h"

#define ID_ARM64		0x6000000000000000ULL
#define ID_SIZE(bytes)		((u64)__builtin_ctz(bytes) << 52)
#define ID_CORE			(0x0010ULL << 16)
#define ID_SYSREG		(0x0013ULL << 16)
#define ID_SVE			(0x0015ULL << 16)

/* Offsets in struct kvm_regs (arch/arm64/include/uapi/asm/kvm.h). */
#define CORE_X(n)		((n) * 8)
#define CORE_SP			248	/* regs.sp: SP_EL0 */
#define CORE_PC			256
#define CORE_PSTATE		264
#define CORE_SP_EL1		272
#define CORE_ELR_EL1		280
#define CORE_SPSR(n)		(288 + (n) * 8)
#define CORE_V(n)		(336 + (n) * 16)	/* fp_regs.vregs[] */
#define CORE_FPSR		848
#define CORE_FPCR		852

#define CORE_ID(off, size)	(ID_ARM64 | ID_SIZE(size) | ID_CORE | (off) / 4)
#define SYS_ID(op0, op1, crn, crm, op2)					\
	(ID_ARM64 | ID_SIZE(8) | ID_SYSREG | (op0) << 14 | (op1) << 11 |	\
	 (crn) << 7 | (crm) << 3 | (op2))
#define ZREG_ID(n)		(ID_ARM64 | ID_SVE | ID_SIZE(256) | (u64)(n) << 5)
#define PREG_ID(n)		(ID_ARM64 | ID_SVE | ID_SIZE(32) | 0x400 | \
				 (u64)(n) << 5)
#define FFR_ID			(ID_ARM64 | ID_SVE | ID_SIZE(32) | 0x600)
#define VLS_ID			(ID_ARM64 | ID_SVE | ID_SIZE(64) | 0xffff)

#ifdef __aarch64__
#include <asm/kvm.h>
#define KCORE(x, sz)	(KVM_REG_ARM64 | sz | KVM_REG_ARM_CORE | \
			 KVM_REG_ARM_CORE_REG(x))
_Static_assert(CORE_ID(CORE_X(30), 8) == KCORE(regs.regs[30], KVM_REG_SIZE_U64), "x30");
_Static_assert(CORE_ID(CORE_SP, 8) == KCORE(regs.sp, KVM_REG_SIZE_U64), "sp");
_Static_assert(CORE_ID(CORE_PC, 8) == KCORE(regs.pc, KVM_REG_SIZE_U64), "pc");
_Static_assert(CORE_ID(CORE_PSTATE, 8) == KCORE(regs.pstate, KVM_REG_SIZE_U64), "pstate");
_Static_assert(CORE_ID(CORE_SP_EL1, 8) == KCORE(sp_el1, KVM_REG_SIZE_U64), "sp_el1");
_Static_assert(CORE_ID(CORE_ELR_EL1, 8) == KCORE(elr_el1, KVM_REG_SIZE_U64), "elr_el1");
_Static_assert(CORE_ID(CORE_SPSR(4), 8) == KCORE(spsr[4], KVM_REG_SIZE_U64), "spsr");
_Static_assert(CORE_ID(CORE_V(31), 16) == KCORE(fp_regs.vregs[31], KVM_REG_SIZE_U128), "v31");
_Static_assert(CORE_ID(CORE_FPSR, 4) == KCORE(fp_regs.fpsr, KVM_REG_SIZE_U32), "fpsr");
_Static_assert(CORE_ID(CORE_FPCR, 4) == KCORE(fp_regs.fpcr, KVM_REG_SIZE_U32), "fpcr");
_Static_assert(SYS_ID(3, 0, 2, 0, 2) == ARM64_SYS_REG(3, 0, 2, 0, 2), "tcr");
_Static_assert(ZREG_ID(31) == KVM_REG_ARM64_SVE_ZREG(31, 0), "z31");
_Static_assert(PREG_ID(15) == KVM_REG_ARM64_SVE_PREG(15, 0), "p15");
_Static_assert(FFR_ID == KVM_REG_ARM64_SVE_FFR(0), "ffr");
_Static_assert(VLS_ID == KVM_REG_ARM64_SVE_VLS, "vls");
#endif

/* The 64-bit registers other than x0-x30 and the SPSRs. */
struct reg64 {
	const char *name;
	u64 id;
	size_t off;		/* in struct lkvm_regs */
	bool sysreg;		/* not written back */
};

#define R(name, id)	{ #name, id, offsetof(struct lkvm_regs, name), false }
#define S(name, ...)	{ #name, SYS_ID(__VA_ARGS__), \
			  offsetof(struct lkvm_regs, name), true }

static const struct reg64 reg64s[] = {
	R(sp_el0, CORE_ID(CORE_SP, 8)),
	R(sp_el1, CORE_ID(CORE_SP_EL1, 8)),
	R(pc, CORE_ID(CORE_PC, 8)),
	R(pstate, CORE_ID(CORE_PSTATE, 8)),
	R(elr_el1, CORE_ID(CORE_ELR_EL1, 8)),
	S(esr_el1, 3, 0, 5, 2, 0),
	S(far_el1, 3, 0, 6, 0, 0),
	S(sctlr_el1, 3, 0, 1, 0, 0),
	S(tcr_el1, 3, 0, 2, 0, 2),
	S(ttbr0_el1, 3, 0, 2, 0, 0),
	S(ttbr1_el1, 3, 0, 2, 0, 1),
	S(vbar_el1, 3, 0, 12, 0, 0),
	S(mair_el1, 3, 0, 10, 2, 0),
};

#define ZCR_EL1_ID		SYS_ID(3, 0, 1, 2, 0)

u64 regs_core_id(size_t offset, size_t size)
{
	return CORE_ID((u64)offset, size);
}

u64 regs_sysreg_id(int op0, int op1, int crn, int crm, int op2)
{
	return SYS_ID((u64)op0, (u64)op1, (u64)crn, (u64)crm, (u64)op2);
}

u64 regs_sve_zreg_id(int n)
{
	return ZREG_ID(n);
}

u64 regs_sve_preg_id(int n)
{
	return PREG_ID(n);
}

u64 regs_sve_ffr_id(void)
{
	return FFR_ID;
}

u64 regs_sve_vls_id(void)
{
	return VLS_ID;
}

/* One access; on failure, @err names the register. */
static int reg_io(regs_io_fn io, void *opaque, u64 id, void *buf, bool write,
		  const char *name, int idx, char *err, size_t errlen)
{
	int ret = io(opaque, id, buf, write);
	char num[16] = "";

	if (ret >= 0)
		return 0;
	if (idx >= 0)
		snprintf(num, sizeof(num), "%d", idx);
	set_err(err, errlen, "%s %s%s (id 0x%llx): %s",
		write ? "KVM_SET_ONE_REG" : "KVM_GET_ONE_REG", name, num,
		(unsigned long long)id, strerror(-ret));
	return ret;
}

/* x0-x30, the SPSRs and reg64s[] (without the system registers on writes). */
static int io_general(struct lkvm_regs *r, bool write, regs_io_fn io,
		      void *opaque, char *err, size_t errlen)
{
	int ret = 0;

	for (int i = 0; i < 31 && !ret; i++)
		ret = reg_io(io, opaque, CORE_ID(CORE_X(i), 8), &r->x[i],
			     write, "x", i, err, errlen);
	for (int i = 0; i < REGS_NR_SPSR && !ret && !write; i++)
		ret = reg_io(io, opaque, CORE_ID(CORE_SPSR(i), 8), &r->spsr[i],
			     write, "spsr", i, err, errlen);
	for (size_t i = 0; i < ARRAY_SIZE(reg64s) && !ret; i++) {
		if (write && reg64s[i].sysreg)
			continue;
		ret = reg_io(io, opaque, reg64s[i].id, (u8 *)r + reg64s[i].off,
			     write, reg64s[i].name, -1, err, errlen);
	}
	return ret;
}

/* FPSR, FPCR and V0-V31 through the core ids (vCPUs without SVE). */
static int io_fpsimd(struct lkvm_regs *r, bool write, regs_io_fn io,
		     void *opaque, char *err, size_t errlen)
{
	int ret = reg_io(io, opaque, CORE_ID(CORE_FPSR, 4), &r->fpsr, write,
			 "fpsr", -1, err, errlen);

	if (!ret)
		ret = reg_io(io, opaque, CORE_ID(CORE_FPCR, 4), &r->fpcr, write,
			     "fpcr", -1, err, errlen);
	for (int i = 0; i < 32 && !ret && !r->sve_vq; i++) {
		u8 buf[16];

		memcpy(buf, &r->v[i].lo, 8);	/* the host is little-endian */
		memcpy(buf + 8, &r->v[i].hi, 8);
		ret = reg_io(io, opaque, CORE_ID(CORE_V(i), 16), buf, write,
			     "v", i, err, errlen);
		memcpy(&r->v[i].lo, buf, 8);
		memcpy(&r->v[i].hi, buf + 8, 8);
	}
	return ret;
}

/* SVE: the largest vector length KVM_REG_ARM64_SVE_VLS offers, or none. */
static int sve_probe(struct lkvm_regs *r, regs_io_fn io, void *opaque,
		     char *err, size_t errlen)
{
	u64 vls[8] = { 0 };
	int ret;

	r->sve_vq = 0;
	if (r->el1_aarch32)
		return 0;		/* SVE is AArch64 only */
	ret = io(opaque, VLS_ID, vls, false);
	if (ret == -ENOENT || ret == -EINVAL)
		return 0;		/* no SVE on this vCPU */
	if (ret < 0)
		return reg_io(io, opaque, VLS_ID, vls, false, "sve_vls", -1,
			      err, errlen);
	for (int vq = 512; vq > 0 && !r->sve_vq; vq--)
		if (vls[(vq - 1) / 64] & (1ULL << ((vq - 1) % 64)))
			r->sve_vq = vq;
	if (r->sve_vq <= REGS_SVE_VQ_MAX)
		return 0;
	set_err(err, errlen, "SVE vector length %u bits is beyond the architecture's 2048",
		r->sve_vq * 128);
	return -ERANGE;
}

/* Z0-Z31, P0-P15, FFR (slice 0); V0-V31 are the Z registers' low halves. */
static int io_sve(struct lkvm_regs *r, bool write, regs_io_fn io,
		  void *opaque, char *err, size_t errlen)
{
	int ret = write ? 0 : reg_io(io, opaque, ZCR_EL1_ID, &r->zcr_el1,
				     false, "zcr_el1", -1, err, errlen);

	for (int i = 0; i < 32 && !ret; i++) {
		if (write) {
			memcpy(r->z[i], &r->v[i].lo, 8);
			memcpy(r->z[i] + 8, &r->v[i].hi, 8);
		}
		ret = reg_io(io, opaque, ZREG_ID(i), r->z[i], write, "z", i,
			     err, errlen);
		memcpy(&r->v[i].lo, r->z[i], 8);
		memcpy(&r->v[i].hi, r->z[i] + 8, 8);
	}
	for (int i = 0; i < 16 && !ret; i++)
		ret = reg_io(io, opaque, PREG_ID(i), r->p[i], write, "p", i,
			     err, errlen);
	if (!ret)
		ret = reg_io(io, opaque, FFR_ID, r->ffr, write, "ffr", -1, err,
			     errlen);
	return ret;
}

int regs_read(struct lkvm_regs *r, bool el1_aarch32, regs_io_fn io,
	      void *opaque, char *err, size_t errlen)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->el1_aarch32 = el1_aarch32;
	ret = io_general(r, false, io, opaque, err, errlen);
	if (!ret)
		ret = sve_probe(r, io, opaque, err, errlen);
	if (!ret)
		ret = io_fpsimd(r, false, io, opaque, err, errlen);
	if (!ret && r->sve_vq)
		ret = io_sve(r, false, io, opaque, err, errlen);
	return ret;
}

int regs_write(const struct lkvm_regs *r, regs_io_fn io, void *opaque,
	       char *err, size_t errlen)
{
	struct lkvm_regs *copy = malloc(sizeof(*copy));	/* ~9 KiB */
	int ret;

	if (!copy) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, r, sizeof(*copy));
	ret = io_general(copy, true, io, opaque, err, errlen);
	if (!ret)
		ret = io_fpsimd(copy, true, io, opaque, err, errlen);
	if (!ret && copy->sve_vq)
		ret = io_sve(copy, true, io, opaque, err, errlen);
	free(copy);
	return ret;
}

static int vcpu_io(void *opaque, u64 id, void *buf, bool write)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)buf };
	int fd = *(const int *)opaque;

	if (ioctl(fd, write ? KVM_SET_ONE_REG : KVM_GET_ONE_REG, &reg) < 0)
		return -errno;
	return 0;
}

int regs_read_vcpu(struct lkvm_regs *r, int vcpu_fd, bool el1_aarch32,
		   char *err, size_t errlen)
{
	return regs_read(r, el1_aarch32, vcpu_io, &vcpu_fd, err, errlen);
}

int regs_write_vcpu(const struct lkvm_regs *r, int vcpu_fd, char *err,
		    size_t errlen)
{
	return regs_write(r, vcpu_io, &vcpu_fd, err, errlen);
}

/* ---- views ---- */

void regs_pt_regs(const struct lkvm_regs *r, struct pt_regs *pt)
{
	pt->aarch32 = r->el1_aarch32;
	pt->sctlr = r->sctlr_el1;
	pt->tcr = r->tcr_el1;
	pt->ttbr0 = r->ttbr0_el1;
	pt->ttbr1 = r->ttbr1_el1;
}

/* AArch32 modes, CPSR.M[4:0], and where KVM keeps their sp and lr. */
static const struct a32_mode {
	u8 m;
	u8 sp, lr;		/* x register numbers */
	const char *name;
} a32_modes[] = {
	{ 0x10, 13, 14, "usr" }, { 0x11, 29, 30, "fiq" },
	{ 0x12, 17, 16, "irq" }, { 0x13, 19, 18, "svc" },
	{ 0x17, 21, 20, "abt" }, { 0x1a, 15, 14, "hyp" },
	{ 0x1b, 23, 22, "und" }, { 0x1f, 13, 14, "sys" },
};

static const struct a32_mode *a32_mode(const struct lkvm_regs *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(a32_modes); i++)
		if (a32_modes[i].m == (r->pstate & 0x1f))
			return &a32_modes[i];
	return NULL;
}

u32 regs_a32_sp(const struct lkvm_regs *r)
{
	const struct a32_mode *m = a32_mode(r);

	return r->x[m ? m->sp : 13];
}

u32 regs_a32_lr(const struct lkvm_regs *r)
{
	const struct a32_mode *m = a32_mode(r);

	return r->x[m ? m->lr : 14];
}

/* FPSCR: the status bits live in FPSR, the control bits in FPCR. */
#define FPSCR_STAT_MASK		0xf800009fU
#define FPSCR_CTRL_MASK		0x07f79f00U

u32 regs_a32_fpscr(const struct lkvm_regs *r)
{
	return (r->fpsr & FPSCR_STAT_MASK) | (r->fpcr & FPSCR_CTRL_MASK);
}

const char *regs_mode_name(const struct lkvm_regs *r)
{
	static const char *const a64[16] = {
		[0] = "el0t", [4] = "el1t", [5] = "el1h", [8] = "el2t",
		[9] = "el2h",
	};
	const struct a32_mode *m;

	if (!(r->pstate & 0x10))
		return a64[r->pstate & 0xf] ? a64[r->pstate & 0xf] : "unknown";
	m = a32_mode(r);
	return m ? m->name : "unknown";
}
