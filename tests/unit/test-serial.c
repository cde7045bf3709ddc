// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <libfdt.h>
#include <linux/serial_reg.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/devices.h"
#include "lkvm/init.h"
#include "lkvm/fdt.h"
#include "lkvm/kvm.h"
#include "lkvm/watch.h"
#include "lkvm/layout.h"
#include "lkvm/serial.h"
#include "lkvm/term.h"
#include "stubs.h"

struct uart {
	struct serial8250 s;
	int irq;		/* line level as last reported */
	int irq_calls;
	u8 out[8192];
	size_t out_len;
};

static void uart_irq(void *ctx, int level)
{
	struct uart *u = ctx;

	u->irq = level;
	u->irq_calls++;
}

static void uart_out(void *ctx, const u8 *buf, size_t len)
{
	struct uart *u = ctx;

	assert_true(u->out_len + len <= sizeof(u->out));
	memcpy(u->out + u->out_len, buf, len);
	u->out_len += len;
}

static u8 rd(struct uart *u, unsigned int reg)
{
	u8 v = 0xee;

	serial8250_mmio(&u->s, reg, &v, 1, false);
	return v;
}

static void wr(struct uart *u, unsigned int reg, u8 val)
{
	serial8250_mmio(&u->s, reg, &val, 1, true);
}

static int setup(void **state)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return -1;
	serial8250_init(&u->s, uart_irq, uart_out, u);
	*state = u;
	return 0;
}

static int teardown(void **state)
{
	struct uart *u = *state;

	serial8250_exit(&u->s);
	free(u);
	return 0;
}

static void test_reset_values(void **state)
{
	struct uart *u = *state;

	assert_int_equal(rd(u, UART_IER), 0);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(rd(u, UART_LCR), UART_LCR_WLEN8);
	assert_int_equal(rd(u, UART_MCR), 0);
	assert_int_equal(rd(u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(rd(u, UART_MSR),
			 UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	assert_int_equal(rd(u, UART_SCR), 0);
	assert_int_equal(u->irq_calls, 0);
}

static void test_divisor_latch(void **state)
{
	struct uart *u = *state;

	wr(u, UART_IER, UART_IER_RDI);
	wr(u, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	/* The firmware-like default: 115200 baud from 1.8432 MHz. */
	assert_int_equal(rd(u, UART_DLL), 1);
	assert_int_equal(rd(u, UART_DLM), 0);
	wr(u, UART_DLL, 0x12);
	wr(u, UART_DLM, 0x34);
	assert_int_equal(rd(u, UART_DLL), 0x12);
	assert_int_equal(rd(u, UART_DLM), 0x34);
	assert_int_equal(u->out_len, 0);	/* DLL is not THR */

	wr(u, UART_LCR, UART_LCR_WLEN8);
	assert_int_equal(rd(u, UART_IER), UART_IER_RDI);
	assert_int_equal(rd(u, UART_RX), 0);	/* empty, not DLL */

	wr(u, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(rd(u, UART_DLL), 0x12);
	assert_int_equal(rd(u, UART_DLM), 0x34);
	assert_int_equal(rd(u, UART_LCR), UART_LCR_DLAB);
}

static void test_thr_output(void **state)
{
	struct uart *u = *state;
	const char *msg = "Hello\r\n";
	size_t i;

	for (i = 0; i < strlen(msg); i++)
		wr(u, UART_TX, msg[i]);
	assert_int_equal(u->out_len, strlen(msg));
	assert_memory_equal(u->out, msg, strlen(msg));
	assert_int_equal(rd(u, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(u->irq_calls, 0);	/* IER is 0 */
}

static void test_thre_interrupt(void **state)
{
	struct uart *u = *state;

	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(u->irq, 1);
	assert_int_equal(u->irq_calls, 1);

	/* Reading IIR acknowledges it. */
	assert_int_equal(rd(u, UART_IIR), UART_IIR_THRI);
	assert_int_equal(u->irq, 0);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_NO_INT);

	/* THR empties at once, so writing it re-arms the interrupt. */
	wr(u, UART_TX, 'a');
	assert_int_equal(u->irq, 1);
	wr(u, UART_TX, 'b');
	assert_int_equal(u->irq, 1);
	assert_int_equal(u->irq_calls, 3);	/* only changes are reported */

	/* Disabling it drops the line; re-enabling raises it again. */
	wr(u, UART_IER, 0);
	assert_int_equal(u->irq, 0);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_NO_INT);
	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(u->irq, 1);
	/* Rewriting the same IER changes nothing. */
	assert_int_equal(rd(u, UART_IIR), UART_IIR_THRI);
	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(u->irq, 0);
}

static void test_receive(void **state)
{
	struct uart *u = *state;

	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"abc", 3), 3);
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	assert_int_equal(u->irq_calls, 0);	/* RDI not enabled */

	wr(u, UART_IER, UART_IER_RDI);
	assert_int_equal(u->irq, 1);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_RDI);
	/* Reading IIR does not acknowledge received data. */
	assert_int_equal(u->irq, 1);

	assert_int_equal(rd(u, UART_RX), 'a');
	assert_int_equal(rd(u, UART_RX), 'b');
	assert_int_equal(u->irq, 1);
	assert_int_equal(rd(u, UART_RX), 'c');
	assert_int_equal(u->irq, 0);
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_NO_INT);

	/* Host input while RDI is enabled raises the line at once. */
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"d", 1), 1);
	assert_int_equal(u->irq, 1);
	assert_int_equal(rd(u, UART_RX), 'd');
	assert_int_equal(u->irq, 0);
}

/*
 * A break (lkvm debug --sysrq): a NUL with LSR.BI when it reaches the top
 * of the FIFO, after what was there, then the key; Linux's 8250 driver
 * reads LSR then RX per character, as here.
 */
static void test_break(void **state)
{
	struct uart *u = *state;

	wr(u, UART_IER, UART_IER_RDI | UART_IER_RLSI);
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"x", 1), 1);
	assert_int_equal(serial8250_break(&u->s, 'h'), 0);
	/* one break at a time, until the guest read it */
	assert_int_equal(serial8250_break(&u->s, 'h'), -EBUSY);
	assert_int_equal(rd(u, UART_LSR) & (UART_LSR_BI | UART_LSR_DR),
			 UART_LSR_DR);
	assert_int_equal(rd(u, UART_RX), 'x');
	/* the break's NUL on top: a line status interrupt, BI with DR */
	assert_int_equal(rd(u, UART_IIR) & UART_IIR_ID, UART_IIR_RLSI);
	assert_int_equal(rd(u, UART_LSR) & (UART_LSR_BI | UART_LSR_DR),
			 UART_LSR_BI | UART_LSR_DR);
	assert_int_equal(rd(u, UART_RX), 0);
	assert_int_equal(rd(u, UART_LSR) & (UART_LSR_BI | UART_LSR_DR),
			 UART_LSR_DR);
	assert_int_equal(rd(u, UART_RX), 'h');
	assert_int_equal(u->irq, 0);
	/* read: another may come; none in loopback, none after a reset */
	assert_int_equal(serial8250_break(&u->s, 'b'), 0);
	serial8250_reset(&u->s);
	assert_int_equal(rd(u, UART_LSR) & (UART_LSR_BI | UART_LSR_DR), 0);
	wr(u, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(serial8250_break(&u->s, 'h'), -EBUSY);
}

/* A full FIFO has no room for the break and its key. */
static void test_break_full(void **state)
{
	struct uart *u = *state;
	static u8 buf[SERIAL_RX_BUF];

	assert_int_equal(serial8250_receive(&u->s, buf, SERIAL_RX_BUF - 1),
			 SERIAL_RX_BUF - 1);
	assert_int_equal(serial8250_break(&u->s, 'h'), -EBUSY);
	rd(u, UART_RX);
	assert_int_equal(serial8250_break(&u->s, 'h'), 0);
}

static void test_rx_buffer_full(void **state)
{
	struct uart *u = *state;
	static u8 buf[SERIAL_RX_BUF + 100];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i * 7;
	assert_int_equal(serial8250_receive(&u->s, buf, sizeof(buf)),
			 SERIAL_RX_BUF);
	assert_int_equal(serial8250_receive(&u->s, buf, 1), 0);

	/* Make room for 100 and wrap around the ring. */
	for (i = 0; i < 100; i++)
		assert_int_equal(rd(u, UART_RX), (u8)(i * 7));
	assert_int_equal(serial8250_receive(&u->s, buf + SERIAL_RX_BUF, 200),
			 100);
	for (i = 100; i < sizeof(buf); i++)
		assert_int_equal(rd(u, UART_RX), (u8)(i * 7));
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, 0);
	/* No overrun: the host was told to keep the rest. */
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_OE, 0);
}

static void test_bad_accesses(void **state)
{
	struct uart *u = *state;
	u8 data[8];
	u32 len;

	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"x", 1), 1);
	for (len = 2; len <= 8; len *= 2) {
		memset(data, 0xee, sizeof(data));
		serial8250_mmio(&u->s, UART_RX, data, len, false);
		assert_int_equal(data[0], 0);
		assert_int_equal(data[len - 1], 0);
		memset(data, 'y', sizeof(data));
		serial8250_mmio(&u->s, UART_TX, data, len, true);
		serial8250_mmio(&u->s, UART_SCR, data, len, true);
	}
	memset(data, 0xee, sizeof(data));
	serial8250_mmio(&u->s, 8, data, 1, false);
	assert_int_equal(data[0], 0);
	serial8250_mmio(&u->s, 0xffc, data, 1, false);
	assert_int_equal(data[0], 0);
	data[0] = 'z';
	serial8250_mmio(&u->s, 8, data, 1, true);
	serial8250_mmio(&u->s, 0x100, data, 1, true);

	assert_int_equal(u->out_len, 0);
	assert_int_equal(rd(u, UART_SCR), 0);
	assert_int_equal(rd(u, UART_RX), 'x');	/* nothing was popped */
}

/* The checks Linux's 8250 driver makes in autoconfig() and startup. */
static void test_linux_probe(void **state)
{
	struct uart *u = *state;
	u8 iir1, iir;

	/* IER: only the four enable bits exist. */
	wr(u, UART_IER, 0);
	assert_int_equal(rd(u, UART_IER) & 0x0f, 0);
	wr(u, UART_IER, 0x0f);
	assert_int_equal(rd(u, UART_IER), 0x0f);
	wr(u, UART_IER, 0xff);
	assert_int_equal(rd(u, UART_IER), 0x0f);	/* no XScale UUE */
	wr(u, UART_IER, 0);

	/* Loopback: MSR follows MCR (OUT2 -> DCD, RTS -> CTS). */
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	assert_int_equal(rd(u, UART_MSR) & 0xf0,
			 UART_MSR_DCD | UART_MSR_CTS);
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	assert_int_equal(rd(u, UART_MSR) & 0xf0, UART_MSR_DSR | UART_MSR_RI);
	wr(u, UART_MCR, 0);
	assert_int_equal(rd(u, UART_MSR) & 0xf0,
			 UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);

	/* FIFO type: IIR bits 7:6 = 3 is a 16550A; no 64 byte FIFO. */
	wr(u, UART_LCR, 0xbf);
	wr(u, UART_EFR, 0);
	wr(u, UART_LCR, 0);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(rd(u, UART_IIR) >> 6, 3);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	assert_int_equal(rd(u, UART_IIR) & 0x20, 0);
	wr(u, UART_LCR, 0xbf);
	assert_int_not_equal(rd(u, UART_EFR), 0);	/* no EFR */
	wr(u, UART_LCR, 0);

	/* Scratch register. */
	wr(u, UART_SCR, 0xa5);
	assert_int_equal(rd(u, UART_SCR), 0xa5);
	wr(u, UART_SCR, 0x5a);
	assert_int_equal(rd(u, UART_SCR), 0x5a);

	/* startup(): clear FIFOs, LSR must not read 0xff. */
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
	   UART_FCR_CLEAR_XMIT);
	wr(u, UART_FCR, 0);
	rd(u, UART_LSR);
	rd(u, UART_RX);
	rd(u, UART_IIR);
	rd(u, UART_MSR);
	assert_int_not_equal(rd(u, UART_LSR), 0xff);

	/* THRE test: the interrupt is reasserted when re-enabled. */
	wr(u, UART_IER, UART_IER_THRI);
	iir1 = rd(u, UART_IIR);
	wr(u, UART_IER, 0);
	wr(u, UART_IER, UART_IER_THRI);
	iir = rd(u, UART_IIR);
	wr(u, UART_IER, 0);
	assert_int_equal(iir1 & UART_IIR_NO_INT, 0);
	assert_int_equal(iir & UART_IIR_NO_INT, 0);

	/* TXEN test: enabling THRI with TEMT set interrupts. */
	wr(u, UART_IER, UART_IER_THRI);
	assert_true(rd(u, UART_LSR) & UART_LSR_TEMT);
	assert_int_equal(rd(u, UART_IIR) & UART_IIR_NO_INT, 0);
	wr(u, UART_IER, 0);
	assert_int_equal(u->irq, 0);
}

static void test_fifo_control(void **state)
{
	struct uart *u = *state;

	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"ab", 2), 2);
	/* Enabling the FIFOs empties them. */
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_14);
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(rd(u, UART_IIR), 0xc0 | UART_IIR_NO_INT);

	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"cd", 2), 2);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO);		/* no clear bit */
	assert_int_equal(rd(u, UART_RX), 'c');
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, 0);

	wr(u, UART_IER, UART_IER_THRI);
	assert_int_equal(rd(u, UART_IIR), 0xc0 | UART_IIR_THRI);
	wr(u, UART_FCR, 0);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_NO_INT);
}

static void test_loopback(void **state)
{
	struct uart *u = *state;
	size_t i;

	wr(u, UART_MCR, UART_MCR_LOOP);
	wr(u, UART_TX, 'L');
	assert_int_equal(u->out_len, 0);
	assert_true(rd(u, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(u, UART_RX), 'L');
	/* The host's input waits until loopback ends. */
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"h", 1), 0);

	/* Overrunning the receiver is a line status interrupt. */
	wr(u, UART_IER, UART_IER_RLSI | UART_IER_RDI);
	for (i = 0; i <= SERIAL_RX_BUF; i++)
		wr(u, UART_TX, 'o');
	assert_int_equal(u->irq, 1);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_RLSI);
	assert_true(rd(u, UART_LSR) & UART_LSR_OE);	/* read clears it */
	assert_int_equal(rd(u, UART_IIR), UART_IIR_RDI);
	assert_false(rd(u, UART_LSR) & UART_LSR_OE);

	/* Out of loopback, with room again, host input flows. */
	wr(u, UART_MCR, 0);
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"h", 1), 0);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"h", 1), 1);
	assert_int_equal(rd(u, UART_RX), 'h');
	assert_int_equal(u->out_len, 0);
}

static void test_interrupt_priority(void **state)
{
	struct uart *u = *state;

	wr(u, UART_IER, UART_IER_MSI | UART_IER_RLSI | UART_IER_THRI |
	   UART_IER_RDI);
	assert_int_equal(serial8250_receive(&u->s, (const u8 *)"r", 1), 1);
	/* A modem status change: DSR drops in loopback with DTR off. */
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);

	assert_int_equal(rd(u, UART_IIR), UART_IIR_RDI);
	assert_int_equal(rd(u, UART_RX), 'r');
	assert_int_equal(rd(u, UART_IIR), UART_IIR_THRI);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_MSI);
	assert_int_equal(rd(u, UART_MSR), UART_MSR_DCD | UART_MSR_CTS |
			 UART_MSR_DDSR);
	assert_int_equal(rd(u, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(u->irq, 0);

	/* RI falling is a trailing edge. */
	wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	rd(u, UART_MSR);
	wr(u, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(rd(u, UART_MSR) & UART_MSR_ANY_DELTA, UART_MSR_TERI);
}

/* The terminal thread feeds the UART while a vCPU drains it. */
struct producer {
	struct uart *u;
	size_t total;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	u8 chunk[61];
	size_t sent = 0, i, n;

	while (sent < p->total) {
		n = MIN(sizeof(chunk), p->total - sent);
		for (i = 0; i < n; i++)
			chunk[i] = (sent + i) % 251;
		sent += serial8250_receive(&p->u->s, chunk, n);
	}
	return NULL;
}

static void test_concurrent_receive(void **state)
{
	struct uart *u = *state;
	struct producer p = { .u = u, .total = 200000 };
	pthread_t thread;
	size_t got = 0;

	wr(u, UART_IER, UART_IER_RDI);
	assert_int_equal(pthread_create(&thread, NULL, produce, &p), 0);
	while (got < p.total) {
		if (!(rd(u, UART_LSR) & UART_LSR_DR))
			continue;
		assert_int_equal(rd(u, UART_RX), got % 251);
		got++;
	}
	pthread_join(thread, NULL);
	assert_int_equal(rd(u, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(u->irq, 0);
}

/* ---- the glue: MMIO, IRQ, terminal, FDT and command line ---- */

static void glue_kvm(struct kvm *kvm, enum console_type console)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg.console = console;
	device_list_init(&kvm->devices);
	kvm->irq_parent = &gic_fdt_irq_parent;
	mmio_bus_init(&kvm->mmio);
	memset(stub_irq_levels, 0, sizeof(stub_irq_levels));
	stub_term_out_len = 0;
	stub_console = NULL;
}

static void glue_kvm_free(struct kvm *kvm)
{
	mmio_bus_exit(&kvm->mmio);
	free(kvm->cmdline);
}

static u8 bus_rd(struct kvm *kvm, unsigned int reg)
{
	u8 v = 0xee;

	assert_true(mmio_dispatch(&kvm->mmio, LKVM_UART_BASE + reg, &v, 1,
				  false));
	return v;
}

static void bus_wr(struct kvm *kvm, unsigned int reg, u8 val)
{
	assert_true(mmio_dispatch(&kvm->mmio, LKVM_UART_BASE + reg, &val, 1,
				  true));
}

/* Property values are only 4 byte aligned. */
static u64 be64_at(const void *p, int idx)
{
	fdt64_t v;

	memcpy(&v, (const u8 *)p + 8 * idx, sizeof(v));
	return fdt64_to_cpu(v);
}

static void build_fdt(struct kvm *kvm, void *buf, int size)
{

	assert_int_equal(fdt_create(buf, size), 0);
	assert_int_equal(fdt_finish_reservemap(buf), 0);
	assert_int_equal(fdt_begin_node(buf, ""), 0);
	assert_int_equal(devices_generate_fdt(kvm, buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_finish(buf), 0);
}

static void test_glue_serial_console(void **state)
{
	static u8 fdt[4096];
	struct kvm kvm;
	const fdt32_t *cells;
	const void *reg;
	int node, len;

	glue_kvm(&kvm, CONSOLE_SERIAL);
	assert_int_equal(init_all(&kvm.init, &kvm), 0);

	assert_non_null(kvm.cmdline);
	assert_non_null(strstr(kvm.cmdline, "console=ttyS0"));
	assert_non_null(strstr(kvm.cmdline,
			       "earlycon=uart8250,mmio,0x1000000"));

	/* Input from the terminal raises SPI LKVM_IRQ_UART. */
	assert_non_null(stub_console);
	bus_wr(&kvm, UART_IER, UART_IER_RDI);
	assert_int_equal(stub_console->input(stub_console->opaque,
					     (const u8 *)"k", 1), 1);
	assert_int_equal(stub_irq_levels[LKVM_IRQ_UART], 1);
	assert_int_equal(bus_rd(&kvm, UART_RX), 'k');
	assert_int_equal(stub_irq_levels[LKVM_IRQ_UART], 0);

	bus_wr(&kvm, UART_TX, 'Z');
	assert_int_equal(stub_term_out_len, 1);
	assert_int_equal(stub_term_out[0], 'Z');

	/* lkvm debug --sysrq: the break and the key reach this UART */
	assert_int_equal(serial_sysrq(&kvm, 'h'), 0);
	assert_int_equal(bus_rd(&kvm, UART_LSR) & UART_LSR_BI, UART_LSR_BI);
	assert_int_equal(bus_rd(&kvm, UART_RX), 0);
	assert_int_equal(bus_rd(&kvm, UART_RX), 'h');

	build_fdt(&kvm, fdt, sizeof(fdt));
	/* the UART names itself the guest's console */
	assert_string_equal(kvm.stdout_path, "/uart@1000000");
	node = fdt_path_offset(fdt, kvm.stdout_path);
	assert_true(node >= 0);
	assert_string_equal(fdt_getprop(fdt, node, "compatible", &len),
			    "ns16550a");
	reg = fdt_getprop(fdt, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(be64_at(reg, 0), LKVM_UART_BASE);
	assert_int_equal(be64_at(reg, 1), LKVM_UART_SIZE);
	cells = fdt_getprop(fdt, node, "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(cells[0]), 0);
	assert_int_equal(fdt32_to_cpu(cells[1]), LKVM_IRQ_UART);
	assert_int_equal(fdt32_to_cpu(cells[2]), 4);
	cells = fdt_getprop(fdt, node, "clock-frequency", &len);
	assert_int_equal(len, 4);
	assert_int_equal(fdt32_to_cpu(cells[0]), 1843200);

	exit_all(&kvm.init, &kvm);
	console_watch_free(&kvm);
	assert_null(stub_console);
	assert_false(mmio_dispatch(&kvm.mmio, LKVM_UART_BASE, fdt, 1, false));
	assert_null(kvm.devices.head);
	glue_kvm_free(&kvm);
}

/*
 * lkvm pause (the registry's pause walk): the UART takes no terminal
 * input and no break, and raises nothing; the resume takes it again.
 */
static void test_glue_paused(void **state)
{
	struct kvm kvm;

	glue_kvm(&kvm, CONSOLE_SERIAL);
	assert_int_equal(init_all(&kvm.init, &kvm), 0);
	bus_wr(&kvm, UART_IER, UART_IER_RDI);
	devices_pause(&kvm);
	assert_int_equal(stub_console->input(stub_console->opaque,
					     (const u8 *)"k", 1), 0);
	assert_int_equal(serial_sysrq(&kvm, 'h'), -EBUSY);
	assert_int_equal(stub_irq_levels[LKVM_IRQ_UART], 0);
	assert_int_equal(bus_rd(&kvm, UART_LSR) & UART_LSR_DR, 0);
	devices_resume(&kvm);
	assert_int_equal(stub_console->input(stub_console->opaque,
					     (const u8 *)"k", 1), 1);
	assert_int_equal(stub_irq_levels[LKVM_IRQ_UART], 1);
	assert_int_equal(bus_rd(&kvm, UART_RX), 'k');
	exit_all(&kvm.init, &kvm);
	console_watch_free(&kvm);
	glue_kvm_free(&kvm);
}

static void test_glue_other_console(void **state)
{
	struct kvm kvm;

	glue_kvm(&kvm, CONSOLE_VIRTIO);
	assert_int_equal(init_all(&kvm.init, &kvm), 0);
	/* The UART is there for a user's earlycon, but owns nothing. */
	assert_true(!kvm.cmdline || !strstr(kvm.cmdline, "ttyS0"));
	assert_null(stub_console);
	bus_wr(&kvm, UART_TX, '!');
	assert_int_equal(stub_term_out_len, 1);
	/* hvc has no break: no SysRq through the UART either */
	assert_int_equal(serial_sysrq(&kvm, 'h'), -ENODEV);
	exit_all(&kvm.init, &kvm);
	assert_null(kvm.serial);
	assert_int_equal(serial_sysrq(&kvm, 'h'), -ENODEV);
	console_watch_free(&kvm);
	glue_kvm_free(&kvm);
}

static void test_glue_user_console_kept(void **state)
{
	struct kvm kvm;

	glue_kvm(&kvm, CONSOLE_SERIAL);
	kvm.cmdline = strdup("console=hvc0 earlycon");
	assert_non_null(kvm.cmdline);
	assert_int_equal(init_all(&kvm.init, &kvm), 0);
	assert_string_equal(kvm.cmdline, "console=hvc0 earlycon");
	exit_all(&kvm.init, &kvm);
	console_watch_free(&kvm);
	glue_kvm_free(&kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_values),
		T(test_divisor_latch),
		T(test_thr_output),
		T(test_thre_interrupt),
		T(test_receive),
		T(test_break),
		T(test_break_full),
		T(test_rx_buffer_full),
		T(test_bad_accesses),
		T(test_linux_probe),
		T(test_fifo_control),
		T(test_loopback),
		T(test_interrupt_priority),
		T(test_concurrent_receive),
#undef T
		cmocka_unit_test(test_glue_serial_console),
		cmocka_unit_test(test_glue_paused),
		cmocka_unit_test(test_glue_other_console),
		cmocka_unit_test(test_glue_user_console_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
