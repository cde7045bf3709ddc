@ The rig's probe of a host defect (the aarch32-platform-spsr case): a
@ bare-metal 32-bit guest (a plain Image for --aarch32, position
@ independent) sets SPSR_svc to MAGIC, reads it back for SECS seconds of
@ its virtual counter, prints every value it finds there instead (nothing
@ in this guest writes it again), then powers off (PSCI SYSTEM_OFF).
@ Seconds, not a count of reads: two such guests started together on one
@ host CPU then overlap for about SECS seconds on any machine, so the
@ host's scheduler switches between them many times. It never unmasks an
@ interrupt or leaves SVC mode, so its SPSR_svc changes only if the host
@ loses it while the vCPU is switched out. tests/rig/build.sh builds
@ guest/spsr-{a,b,c}.bin with three MAGICs.
	.syntax unified
	.arch armv7-a
	.arch_extension virt
	.arm
	.text
	.globl _start
_start:
	ldr	r7, =0x01000000		@ the UART's THR
	ldr	r4, =MAGIC
	msr	spsr_cxsf, r4
	mrs	r4, spsr		@ as stored (unimplemented bits dropped)
	mov	r10, #0			@ changes seen
	adr	r0, hello
	bl	puts
	mov	r0, r4
	bl	puthex
	bl	nl
	mrc	p15, 0, r0, c14, c0, 0	@ CNTFRQ: counter ticks a second
	cmp	r0, #0
	ldreq	r0, =62500000		@ unset: QEMU's usual frequency
	mov	r1, #SECS
	umull	r6, r8, r0, r1
	isb
	mrrc	p15, 1, r2, r3, c14	@ CNTVCT
	adds	r6, r6, r2		@ r8:r6 = the counter at the end
	adc	r8, r8, r3
1:	ldr	r9, =0x10000		@ reads between looks at the counter
5:	mrs	r5, spsr
	cmp	r5, r4
	bne	2f
	subs	r9, r9, #1
	bne	5b
	isb
	mrrc	p15, 1, r2, r3, c14
	subs	r2, r2, r6
	sbcs	r3, r3, r8
	bmi	1b			@ the counter is still short of the end
	adr	r0, done
	bl	puts
	mov	r0, r10
	bl	puthex
	bl	nl
	ldr	r0, =0x84000008		@ PSCI SYSTEM_OFF
	hvc	#0
	b	.
2:	add	r10, r10, #1
	adr	r0, leak
	bl	puts
	mov	r0, r5
	bl	puthex
	bl	nl
	msr	spsr_cxsf, r4
	b	1b

@ puts r0: NUL-terminated string
puts:	ldrb	r1, [r0], #1
	cmp	r1, #0
	strbne	r1, [r7]
	bne	puts
	bx	lr
@ puthex r0: 8 hex digits
puthex:	mov	r2, #28
3:	lsr	r1, r0, r2
	and	r1, r1, #15
	cmp	r1, #10
	addlo	r1, r1, #'0'
	addhs	r1, r1, #('a' - 10)
	strb	r1, [r7]
	subs	r2, r2, #4
	bpl	3b
	bx	lr
nl:	mov	r1, #'\n'
	strb	r1, [r7]
	bx	lr
hello:	.asciz	"SPSR-PROBE set "
done:	.asciz	"SPSR-PROBE done changes="
leak:	.asciz	"SPSR-PROBE changed to "
	.balign 4
	.ltorg
