/* SPDX-License-Identifier: GPL-2.0 */
/* guest/init.c, built static for arm64, inside the lkvm binary. */
	.section .rodata
	.balign 16
	.global lkvm_guest_init
	.global lkvm_guest_init_end
lkvm_guest_init:
	.incbin GUEST_INIT_PATH
lkvm_guest_init_end:
	.section .note.GNU-stack,"",%progbits
