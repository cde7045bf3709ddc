// SPDX-License-Identifier: GPL-2.0
/* SVE vector-length choice and the cpulist parser (arm64/cpu-spec.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/cpu-features.h"

static char err[256];

/* A host's KVM_REG_ARM64_SVE_VLS offering these lengths (bits), 0-ended. */
static void host_vls(u64 *vls, ...)
{
	unsigned int bits;
	va_list ap;

	memset(vls, 0, SVE_VLS_WORDS * sizeof(*vls));
	va_start(ap, vls);
	while ((bits = va_arg(ap, unsigned int)))
		vls[(bits / 128 - 1) / 64] |= 1ULL << ((bits / 128 - 1) % 64);
	va_end(ap);
}

static void test_sve_limit_keeps_lengths_up_to_max(void **state)
{
	u64 vls[SVE_VLS_WORDS], want[SVE_VLS_WORDS];

	host_vls(vls, 128, 256, 512, 0);
	assert_int_equal(sve_vls_limit(vls, 256, err, sizeof(err)), 0);
	host_vls(want, 128, 256, 0);
	assert_memory_equal(vls, want, sizeof(want));

	host_vls(vls, 128, 256, 512, 0);
	assert_int_equal(sve_vls_limit(vls, 128, err, sizeof(err)), 0);
	host_vls(want, 128, 0);
	assert_memory_equal(vls, want, sizeof(want));

	/* the largest the architecture has: bit 15 of the first word */
	host_vls(vls, 128, 2048, 0);
	assert_int_equal(sve_vls_limit(vls, 2048, err, sizeof(err)), 0);
	host_vls(want, 128, 2048, 0);
	assert_memory_equal(vls, want, sizeof(want));
}

static void test_sve_limit_refuses_lengths_the_host_lacks(void **state)
{
	u64 vls[SVE_VLS_WORDS], before[SVE_VLS_WORDS];

	host_vls(vls, 128, 256, 512, 0);
	memcpy(before, vls, sizeof(vls));
	assert_int_equal(sve_vls_limit(vls, 384, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--sve-max-vl 384: this host's SVE does vector lengths of 128, 256, 512 bits only");
	assert_memory_equal(vls, before, sizeof(vls));	/* untouched */
	assert_int_equal(sve_vls_limit(vls, 1024, err, sizeof(err)), -EINVAL);
	assert_int_equal(sve_vls_limit(vls, 200, err, sizeof(err)), -EINVAL);
	assert_int_equal(sve_vls_limit(vls, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(sve_vls_limit(vls, 128 * (SVE_VQ_MAX + 1), err,
				       sizeof(err)), -EINVAL);
	host_vls(vls, 0);
	assert_int_equal(sve_vls_limit(vls, 128, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "lengths of none bits"));
}

static void test_sve_format_truncates_safely(void **state)
{
	u64 vls[SVE_VLS_WORDS];
	char small[8];

	memset(vls, 0xff, sizeof(vls));
	sve_vls_format(vls, small, sizeof(small));
	assert_string_equal(small, "128, 25");
	assert_int_equal(sve_vls_limit(vls, 128 * SVE_VQ_MAX, err,
				       sizeof(err)), 0);
}

static void test_cpulist_parse(void **state)
{
	cpu_set_t set;
	char out[64];

	assert_int_equal(cpulist_parse("--x", "0-1,3", &set, err, sizeof(err)), 0);
	assert_int_equal(CPU_COUNT(&set), 3);
	assert_true(CPU_ISSET(0, &set) && CPU_ISSET(1, &set) && CPU_ISSET(3, &set));
	cpulist_format(&set, out, sizeof(out));
	assert_string_equal(out, "0-1,3");

	assert_int_equal(cpulist_parse("--x", "5", &set, err, sizeof(err)), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_int_equal(cpulist_parse("--x", "2-2,0,7-9", &set, err,
				       sizeof(err)), 0);
	cpulist_format(&set, out, sizeof(out));
	assert_string_equal(out, "0,2,7-9");
	assert_int_equal(cpulist_parse("--x", "1023", &set, err, sizeof(err)), 0);
	assert_true(CPU_ISSET(1023, &set));
}

static void test_cpulist_refuses_bad_input(void **state)
{
	static const char *const bad[] = {
		"", ",", "1,", ",1", "a", "1-", "-1", "3-1", "1--2", "1 ,2",
		"1024", "0-1024", "99999999999999999999", "+1", "1,,2", "0x1",
	};
	cpu_set_t set;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cpulist_parse("--vcpu-affinity", bad[i], &set,
					       err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "invalid --vcpu-affinity '"));
		assert_null(strchr(err, '\n'));
		assert_int_equal(CPU_COUNT(&set), 0);
	}
	cpulist_parse("--vcpu-affinity", "3-1", &set, err, sizeof(err));
	assert_string_equal(err, "invalid --vcpu-affinity '3-1': give a CPU list of numbers below 1024 and ranges, e.g. 0-1,3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sve_limit_keeps_lengths_up_to_max),
		cmocka_unit_test(test_sve_limit_refuses_lengths_the_host_lacks),
		cmocka_unit_test(test_sve_format_truncates_safely),
		cmocka_unit_test(test_cpulist_parse),
		cmocka_unit_test(test_cpulist_refuses_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
