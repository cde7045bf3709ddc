// SPDX-License-Identifier: GPL-2.0
/*
 * The parts of the vCPU features that need no KVM, so the unit tests
 * reach them: choosing SVE vector lengths from the set KVM offers
 * (--sve-max-vl) and the cpulist notation of --vcpu-affinity.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/cpu-features.h"

static bool vq_set(const u64 *vls, unsigned int vq)
{
	return vls[(vq - 1) / 64] & (1ULL << ((vq - 1) % 64));
}

void sve_vls_format(const u64 *vls, char *buf, size_t len)
{
	unsigned int vq;
	size_t n = 0;

	buf[0] = '\0';
	for (vq = 1; vq <= SVE_VQ_MAX && n < len; vq++) {
		if (!vq_set(vls, vq))
			continue;
		n += snprintf(buf + n, len - n, "%s%u", n ? ", " : "", vq * 128);
	}
	if (!n)
		snprintf(buf, len, "none");
}

int sve_vls_limit(u64 *vls, unsigned int max_bits, char *err, size_t errlen)
{
	unsigned int vq = max_bits / 128, i;
	char have[256];

	if (max_bits % 128 || !vq || vq > SVE_VQ_MAX || !vq_set(vls, vq)) {
		sve_vls_format(vls, have, sizeof(have));
		set_err(err, errlen,
			"--sve-max-vl %u: this host's SVE does vector lengths of %s bits only",
			max_bits, have);
		return -EINVAL;
	}
	for (i = vq + 1; i <= SVE_VQ_MAX; i++)
		vls[(i - 1) / 64] &= ~(1ULL << ((i - 1) % 64));
	return 0;
}

/* One CPU number, below CPU_SETSIZE; *s moves past it. */
static int parse_cpu(const char **s, unsigned int *cpu)
{
	char *end;
	unsigned long v;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(*s, &end, 10);
	if (errno || v >= CPU_SETSIZE)
		return -EINVAL;
	*s = end;
	*cpu = (unsigned int)v;
	return 0;
}

/* "N" or "N-M" up to the next ',' or the end. */
static int parse_range(const char **s, cpu_set_t *set)
{
	unsigned int lo, hi, c;

	if (parse_cpu(s, &lo))
		return -EINVAL;
	hi = lo;
	if (**s == '-') {
		(*s)++;
		if (parse_cpu(s, &hi) || hi < lo)
			return -EINVAL;
	}
	if (**s != ',' && **s)
		return -EINVAL;
	for (c = lo; c <= hi; c++)
		CPU_SET(c, set);
	return 0;
}

int cpulist_parse(const char *opt, const char *s, cpu_set_t *set, char *err,
		  size_t errlen)
{
	const char *p = s;

	CPU_ZERO(set);
	for (;;) {
		if (parse_range(&p, set)) {
			set_err(err, errlen,
				"invalid %s '%s': give a CPU list of numbers below %d and ranges, e.g. 0-1,3",
				opt, s, CPU_SETSIZE);
			CPU_ZERO(set);
			return -EINVAL;
		}
		if (!*p)
			return 0;
		p++;	/* ',' */
	}
}

void cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
	int c = 0, end;
	size_t n = 0;

	buf[0] = '\0';
	while (c < CPU_SETSIZE && n < len) {
		if (!CPU_ISSET(c, set)) {
			c++;
			continue;
		}
		for (end = c; end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set); end++)
			;
		if (end == c)
			n += snprintf(buf + n, len - n, "%s%d", n ? "," : "", c);
		else
			n += snprintf(buf + n, len - n, "%s%d-%d", n ? "," : "", c, end);
		c = end + 1;
	}
}
