// SPDX-License-Identifier: GPL-2.0
/*
 * A guest program for the `lkvm debug --dump` cases: puts a known
 * pattern in V0-V7 (every byte of Vn is 0xa0 + n) and spins without a
 * system call, so that whenever its vCPU is parked those registers hold
 * the pattern (the kernel saves and restores them around preemption).
 */
int main(void)
{
	asm volatile("movi v0.16b, #0xa0\n\tmovi v1.16b, #0xa1\n\t"
		     "movi v2.16b, #0xa2\n\tmovi v3.16b, #0xa3\n\t"
		     "movi v4.16b, #0xa4\n\tmovi v5.16b, #0xa5\n\t"
		     "movi v6.16b, #0xa6\n\tmovi v7.16b, #0xa7\n"
		     "1:\tb 1b\n"
		     ::: "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7");
	return 0;
}
