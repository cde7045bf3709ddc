// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for arm64/ptwalk.c: random registers and a random
 * guest RAM holding the tables. The input's first 48 bytes are SCTLR,
 * TCR, TTBR0, TTBR1, the VA and a flags word (bit 0: AArch32; bit 1:
 * keep the TTBRs as they are, else they are folded into RAM so that
 * walks get deep); the rest is RAM at guest-physical 0. A translation
 * must either fail with one of the documented errors and a reason, or
 * give a power-of-two mapping that keeps the VA's offset in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/guest-mem.h"
#include "lkvm/ptwalk.h"

#define HDR	48

static u64 word(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

static void check(int ret, const struct pt_map *m, u64 va, const char *err)
{
	if (ret < 0) {
		if ((ret != -EFAULT && ret != -EIO && ret != -EINVAL &&
		     ret != -EOPNOTSUPP) || !err[0])
			abort();
		return;
	}
	if (!m->size || (m->size & (m->size - 1)) || m->level < -1 ||
	    m->level > 3)
		abort();
	if (m->level >= 0 && (m->gpa & (m->size - 1)) != (va & (m->size - 1)))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct guest_mem mem;
	struct pt_ctx ctx = { .read_phys = pt_guest_mem_read, .opaque = &mem };
	struct pt_map m;
	char err[256] = "";
	u8 buf[64];
	u64 va, flags;
	int ret;

	if (size < HDR)
		return 0;
	mem = (struct guest_mem){ (u8 *)data + HDR, 0, size - HDR };
	ctx.regs.sctlr = word(data);
	ctx.regs.tcr = word(data + 8);
	ctx.regs.ttbr0 = word(data + 16);
	ctx.regs.ttbr1 = word(data + 24);
	va = word(data + 32);
	flags = word(data + 40);
	ctx.regs.aarch32 = flags & 1;
	if (!(flags & 2) && mem.size) {
		ctx.regs.ttbr0 %= mem.size;
		ctx.regs.ttbr1 %= mem.size;
	}
	ret = pt_translate(&ctx, va, &m, err, sizeof(err));
	check(ret, &m, va, err);
	err[0] = '\0';
	ret = pt_read_virt(&ctx, va, buf, (flags >> 8) % sizeof(buf), err,
			   sizeof(err));
	if (ret < 0 && !err[0])
		abort();
	pt_strip_pac(&ctx.regs, va);
	return 0;
}
