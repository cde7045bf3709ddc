// SPDX-License-Identifier: GPL-2.0
/*
 * The aarch64 registers as gdb sees them: the target description
 * (gdb/features/aarch64-core.xml and aarch64-fpu.xml: feature names,
 * register names, sizes and order, the V registers' union type) and
 * the layout of g/G/p/P data, all in gdb's register numbers.
 *
 * gdb numbers: x0-x30 0-30, sp 31, pc 32, cpsr 33 (32 bits), v0-v31
 * 34-65, fpsr 66, fpcr 67. Values are little-endian (the target's
 * order). gdb's "sp" is the stack pointer in use: SP_EL1 when PSTATE.SP
 * is set at EL1 (EL1h), else SP_EL0. SVE guests are shown through the
 * fpu feature (V = the low 128 bits of Z); the sve feature is not
 * offered.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/gdb.h"

#define REG_SP		31
#define REG_PC		32
#define REG_CPSR	33
#define REG_V0		34
#define REG_FPSR	66
#define REG_FPCR	67

/* The fpu feature's types, as gdb's aarch64-fpu.xml defines them. */
static const char fpu_types[] =
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>"
	"<vector id=\"v2i\" type=\"int64\" count=\"2\"/>"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>"
	"<vector id=\"v4i\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v8f\" type=\"ieee_half\" count=\"8\"/>"
	"<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>"
	"<vector id=\"v8i\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>"
	"<vector id=\"v16i\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v1u\" type=\"uint128\" count=\"1\"/>"
	"<vector id=\"v1i\" type=\"int128\" count=\"1\"/>"
	"<union id=\"vnd\"><field name=\"f\" type=\"v2d\"/>"
	"<field name=\"u\" type=\"v2u\"/><field name=\"s\" type=\"v2i\"/></union>"
	"<union id=\"vns\"><field name=\"f\" type=\"v4f\"/>"
	"<field name=\"u\" type=\"v4u\"/><field name=\"s\" type=\"v4i\"/></union>"
	"<union id=\"vnh\"><field name=\"f\" type=\"v8f\"/>"
	"<field name=\"u\" type=\"v8u\"/><field name=\"s\" type=\"v8i\"/></union>"
	"<union id=\"vnb\"><field name=\"u\" type=\"v16u\"/>"
	"<field name=\"s\" type=\"v16i\"/></union>"
	"<union id=\"vnq\"><field name=\"u\" type=\"v1u\"/>"
	"<field name=\"s\" type=\"v1i\"/></union>"
	"<union id=\"aarch64v\"><field name=\"d\" type=\"vnd\"/>"
	"<field name=\"s\" type=\"vns\"/><field name=\"h\" type=\"vnh\"/>"
	"<field name=\"b\" type=\"vnb\"/><field name=\"q\" type=\"vnq\"/></union>";

/* Append to @buf at *@n; false once it no longer fits. */
static bool __printf(4, 5) add(char *buf, size_t cap, size_t *n,
			       const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= cap)
		return false;
	va_start(ap, fmt);
	r = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= cap - *n) {
		*n = cap;
		return false;
	}
	*n += r;
	return true;
}

static void add_core(char *buf, size_t cap, size_t *n)
{
	add(buf, cap, n, "<feature name=\"org.gnu.gdb.aarch64.core\">");
	for (int i = 0; i < 31; i++)
		add(buf, cap, n, "<reg name=\"x%d\" bitsize=\"64\"/>", i);
	add(buf, cap, n,
	    "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>"
	    "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>"
	    "<reg name=\"cpsr\" bitsize=\"32\"/></feature>");
}

static void add_fpu(char *buf, size_t cap, size_t *n)
{
	add(buf, cap, n, "<feature name=\"org.gnu.gdb.aarch64.fpu\">%s",
	    fpu_types);
	for (int i = 0; i < 32; i++)
		add(buf, cap, n,
		    "<reg name=\"v%d\" bitsize=\"128\" type=\"aarch64v\" regnum=\"%d\"/>",
		    i, REG_V0 + i);
	add(buf, cap, n,
	    "<reg name=\"fpsr\" bitsize=\"32\"/>"
	    "<reg name=\"fpcr\" bitsize=\"32\"/></feature>");
}

ssize_t gdb_a64_target_xml(char *buf, size_t cap)
{
	size_t n = 0;

	add(buf, cap, &n, "<?xml version=\"1.0\"?>"
	    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	    "<target version=\"1.0\"><architecture>aarch64</architecture>");
	add_core(buf, cap, &n);
	add_fpu(buf, cap, &n);
	if (!add(buf, cap, &n, "</target>"))
		return -ENOSPC;
	return n;
}

int gdb_a64_reg_size(int regnum)
{
	if (regnum < 0 || regnum >= GDB_A64_NR_REGS)
		return -EINVAL;
	if (regnum == REG_CPSR || regnum >= REG_FPSR)
		return 4;
	return regnum >= REG_V0 ? 16 : 8;
}

/* gdb's sp: the one PSTATE.SP selects at EL1, SP_EL0 at EL0. */
static u64 *sp_reg(struct lkvm_regs *r)
{
	bool el1h = (r->pstate & 0xc) && (r->pstate & 1);

	return el1h ? &r->sp_el1 : &r->sp_el0;
}

/* Where register @regnum lives in @r (V: the lo half, hi follows). */
static void *reg_ptr(struct lkvm_regs *r, int regnum)
{
	if (regnum < 31)
		return &r->x[regnum];
	if (regnum >= REG_V0 && regnum < REG_FPSR)
		return &r->v[regnum - REG_V0];
	switch (regnum) {
	case REG_SP: return sp_reg(r);
	case REG_PC: return &r->pc;
	case REG_CPSR: return &r->pstate;	/* the low half, little-endian */
	case REG_FPSR: return &r->fpsr;
	default: return &r->fpcr;
	}
}

int gdb_a64_get_reg(const struct lkvm_regs *r, int regnum, u8 *buf)
{
	int size = gdb_a64_reg_size(regnum);

	if (size < 0)
		return size;
	/* the host is little-endian like the target; V is lo then hi */
	memcpy(buf, reg_ptr((struct lkvm_regs *)r, regnum), size);
	return size;
}

int gdb_a64_set_reg(struct lkvm_regs *r, int regnum, const u8 *buf,
		    size_t len)
{
	int size = gdb_a64_reg_size(regnum);

	if (size < 0 || len != (size_t)size)
		return -EINVAL;
	if (regnum == REG_CPSR)		/* only PSTATE's low 32 bits */
		r->pstate = (r->pstate & ~0xffffffffULL) | get_le32(buf);
	else
		memcpy(reg_ptr(r, regnum), buf, size);
	return 0;
}

void gdb_a64_get_regs(const struct lkvm_regs *r, u8 *buf)
{
	for (int i = 0; i < GDB_A64_NR_REGS; i++)
		buf += gdb_a64_get_reg(r, i, buf);
}

int gdb_a64_set_regs(struct lkvm_regs *r, const u8 *buf, size_t len)
{
	size_t off = 0;

	if (len != GDB_A64_G_SIZE)
		return -EINVAL;
	/* cpsr first: it decides which stack pointer gdb's sp is */
	gdb_a64_set_reg(r, REG_CPSR, buf + 8 * REG_CPSR, 4);
	for (int i = 0; i < GDB_A64_NR_REGS; i++) {
		int size = gdb_a64_reg_size(i);

		gdb_a64_set_reg(r, i, buf + off, size);
		off += size;
	}
	return 0;
}
