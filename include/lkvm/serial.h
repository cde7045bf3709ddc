/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_SERIAL_H
#define LKVM_SERIAL_H

#include <pthread.h>
#include "lkvm/util.h"

/*
 * Register model of a 16550A UART (8 bit registers, reg-shift 0), free of
 * any KVM dependency so it can be unit tested. hw/serial.c wires one to the
 * MMIO bus, an SPI and the terminal.
 */
#define SERIAL_RX_BUF	4096

struct serial8250 {
	pthread_mutex_t lock;
	/* registers */
	u8 ier, iir, lcr, mcr, lsr, msr, scr, fcr;
	u8 dll, dlm;
	/* receive FIFO (host -> guest) */
	u8 rx[SERIAL_RX_BUF];
	unsigned int rx_head, rx_len;
	int rx_break;		/* FIFO slot of a received break (NUL), or -1 */
	bool thr_ipending;	/* THRE interrupt pending */
	bool rx_held;		/* lkvm pause: host input waits (serial8250_hold) */
	int irq_level;
	/* callbacks */
	void (*set_irq)(void *ctx, int level);
	void (*output)(void *ctx, const u8 *buf, size_t len);
	void *ctx;
};

void serial8250_init(struct serial8250 *s,
		     void (*set_irq)(void *ctx, int level),
		     void (*output)(void *ctx, const u8 *buf, size_t len),
		     void *ctx);
void serial8250_exit(struct serial8250 *s);
/* MMIO access to register @offset (8 bit wide accesses). */
void serial8250_mmio(void *opaque, u64 offset, u8 *data, u32 len,
		     bool is_write);
/* Queue host input; returns the number of bytes accepted. */
size_t serial8250_receive(struct serial8250 *s, const u8 *buf, size_t len);
/*
 * While the VM is paused (@held), host input and breaks are not taken:
 * the terminal keeps its input and offers it again after the resume.
 */
void serial8250_hold(struct serial8250 *s, bool held);
/*
 * A break condition on the line, then @key: as a 16550 reports a break,
 * a NUL in the FIFO flagged with LSR.BI when it reaches the top (Linux's
 * 8250 driver then takes the next character as a magic SysRq). 0, or
 * -EBUSY (a break not yet read, the FIFO full, loopback, held).
 */
int serial8250_break(struct serial8250 *s, u8 key);
struct kvm;
/*
 * Add "console=@console" and the UART as earlycon to the kernel command
 * line, each unless the user set one (hw/serial.c; virtio-console too).
 */
int serial_add_console_params(struct kvm *kvm, const char *console);
/*
 * `lkvm debug --sysrq KEY`: a break and @key on the guest's UART. 0, or
 * -ENODEV (the console is not the UART: hvc has no break), -EBUSY.
 */
int serial_sysrq(struct kvm *kvm, u8 key);
/* The guest reset: power-on registers, empty FIFO, interrupt low. */
void serial8250_reset(struct serial8250 *s);

#endif
