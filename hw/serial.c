// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART: the register model (no KVM dependency, unit tested) and
 * the glue that puts one at LKVM_UART_BASE as the guest's ttyS0.
 *
 * Transmission is instantaneous: a THR write goes straight to the output
 * callback, so THRE and TEMT are always set and the THRE interrupt is
 * re-armed by every THR write. Host input waits in a 4 KiB buffer; the
 * RDA interrupt is raised whenever it holds data (no trigger levels and no
 * character timeout, which Linux does not need).
 */
#include <errno.h>
#include <libfdt.h>
#include <linux/serial_reg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/devices.h"
#include "lkvm/fdt-util.h"
#include "lkvm/init.h"
#include "lkvm/kvm.h"
#include "lkvm/layout.h"
#include "lkvm/serial.h"
#include "lkvm/term.h"

#define SERIAL_NR_REGS		8
#define SERIAL_CLOCK		1843200
/* The modem lines as a null-modem cable presents them: always ready. */
#define SERIAL_MSR_IDLE		(UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)
#define SERIAL_MSR_LINES	0xf0
/* FCR bits that read back through IIR or matter later; the rest self-clear. */
#define SERIAL_FCR_KEEP		(UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT | \
				 UART_FCR_TRIGGER_MASK)
#define SERIAL_IIR_FIFO		0xc0	/* IIR bits 7:6 when FIFOs are on */

/* Highest priority pending interrupt, as the IIR's ID field reports it. */
static u8 serial_irq_id(const struct serial8250 *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_BRK_ERROR_BITS))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/*
 * Recompute the derived state (LSR.DR, IIR, the IRQ line) after any
 * change. Called with the lock held, so that level changes reach the
 * interrupt controller in the order they happened.
 */
static void serial_update(struct serial8250 *s)
{
	u8 id;
	int level;

	/* The break's NUL is at the top of the FIFO: BI goes with it. */
	if (s->rx_break >= 0 && s->rx_len && (int)s->rx_head == s->rx_break) {
		s->lsr |= UART_LSR_BI;
		s->rx_break = -1;
	}
	id = serial_irq_id(s);
	level = id != UART_IIR_NO_INT;
	if (s->rx_len)
		s->lsr |= UART_LSR_DR;
	else
		s->lsr &= ~UART_LSR_DR;
	s->iir = id | ((s->fcr & UART_FCR_ENABLE_FIFO) ? SERIAL_IIR_FIFO : 0);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->ctx, level);
	}
}

/* What the modem status lines read as: in loopback, the MCR outputs. */
static u8 serial_modem_lines(const struct serial8250 *s)
{
	u8 msr = 0;

	if (!(s->mcr & UART_MCR_LOOP))
		return SERIAL_MSR_IDLE;
	if (s->mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

/* Latch the modem lines and accumulate the delta bits for a change. */
static void serial_update_msr(struct serial8250 *s)
{
	u8 old = s->msr & SERIAL_MSR_LINES;
	u8 new = serial_modem_lines(s);
	u8 changed = old ^ new;
	u8 delta = s->msr & UART_MSR_ANY_DELTA;

	if (changed & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	if ((old & UART_MSR_RI) && !(new & UART_MSR_RI))
		delta |= UART_MSR_TERI;
	s->msr = new | delta;
}

static void serial_rx_push(struct serial8250 *s, u8 c)
{
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_BUF] = c;
	s->rx_len++;
}

static u8 serial_rx_pop(struct serial8250 *s)
{
	u8 c;

	if (!s->rx_len)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_BUF;
	s->rx_len--;
	return c;
}

static void serial_rx_clear(struct serial8250 *s)
{
	s->rx_head = 0;
	s->rx_len = 0;
	s->rx_break = -1;
}

static void serial_power_on(struct serial8250 *s)
{
	s->iir = UART_IIR_NO_INT;
	s->lsr = UART_LSR_TEMT | UART_LSR_THRE;
	s->msr = SERIAL_MSR_IDLE;
	/*
	 * As firmware would leave it: 8N1 at 115200 baud. A zero divisor
	 * would make an earlycon that probes the baud rate divide by zero.
	 */
	s->lcr = UART_LCR_WLEN8;
	s->dll = SERIAL_CLOCK / 16 / 115200;
}

void serial8250_init(struct serial8250 *s,
		     void (*set_irq)(void *ctx, int level),
		     void (*output)(void *ctx, const u8 *buf, size_t len),
		     void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->set_irq = set_irq;
	s->output = output;
	s->ctx = ctx;
	s->rx_break = -1;
	serial_power_on(s);
}

/* The guest reset: registers and FIFO as at power-on, the line low. */
void serial8250_reset(struct serial8250 *s)
{
	pthread_mutex_lock(&s->lock);
	serial_rx_clear(s);
	s->ier = s->mcr = s->scr = s->fcr = s->dlm = 0;
	s->thr_ipending = false;
	serial_power_on(s);
	serial_update(s);
	pthread_mutex_unlock(&s->lock);
}

void serial8250_exit(struct serial8250 *s)
{
	pthread_mutex_destroy(&s->lock);
}

static void serial_write_thr(struct serial8250 *s, u8 val)
{
	if (s->mcr & UART_MCR_LOOP) {
		/* The transmitter feeds the receiver; a full one overruns. */
		if (s->rx_len < SERIAL_RX_BUF)
			serial_rx_push(s, val);
		else
			s->lsr |= UART_LSR_OE;
	} else if (s->output) {
		s->output(s->ctx, &val, 1);
	}
	/* The byte left at once: THR is empty again. */
	s->thr_ipending = true;
}

static void serial_write_ier(struct serial8250 *s, u8 val)
{
	u8 changed = (s->ier ^ val) & UART_IER_THRI;

	/* A 16550A has four enable bits; Linux probes that the rest are 0. */
	s->ier = val & (UART_IER_MSI | UART_IER_RLSI | UART_IER_THRI |
			UART_IER_RDI);
	/* Enabling THRE while THR is empty (it always is) interrupts. */
	if (changed)
		s->thr_ipending = s->ier & UART_IER_THRI;
}

static void serial_write_fcr(struct serial8250 *s, u8 val)
{
	/* Turning the FIFOs on or off empties them. */
	if ((val ^ s->fcr) & UART_FCR_ENABLE_FIFO)
		val |= UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT;
	if (val & UART_FCR_CLEAR_RCVR)
		serial_rx_clear(s);
	/* The other bits are only writable with the FIFOs enabled. */
	s->fcr = (val & UART_FCR_ENABLE_FIFO) ? val & SERIAL_FCR_KEEP : 0;
}

static void serial_write(struct serial8250 *s, unsigned int reg, u8 val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & (UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_OUT1 |
				UART_MCR_RTS | UART_MCR_DTR);
		serial_update_msr(s);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only (factory test on real parts). */
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
}

static u8 serial_read(struct serial8250 *s, unsigned int reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	u8 val = 0;

	switch (reg) {
	case UART_RX:
		val = dlab ? s->dll : serial_rx_pop(s);
		break;
	case UART_IER:
		val = dlab ? s->dlm : s->ier;
		break;
	case UART_IIR:
		val = s->iir;
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if ((val & (UART_IIR_ID | UART_IIR_NO_INT)) == UART_IIR_THRI)
			s->thr_ipending = false;
		break;
	case UART_LCR:
		val = s->lcr;
		break;
	case UART_MCR:
		val = s->mcr;
		break;
	case UART_LSR:
		val = s->lsr;
		s->lsr &= ~(UART_LSR_BRK_ERROR_BITS | UART_LSR_FIFOE);
		break;
	case UART_MSR:
		val = s->msr;
		s->msr &= ~UART_MSR_ANY_DELTA;
		break;
	case UART_SCR:
		val = s->scr;
		break;
	}
	return val;
}

void serial8250_mmio(void *opaque, u64 offset, u8 *data, u32 len,
		     bool is_write)
{
	struct serial8250 *s = opaque;

	if (len != 1 || offset >= SERIAL_NR_REGS) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}

	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write(s, offset, data[0]);
	else
		data[0] = serial_read(s, offset);
	serial_update(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial8250_receive(struct serial8250 *s, const u8 *buf, size_t len)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->lock);
	/*
	 * In loopback the receiver hears only the transmitter, and a paused
	 * VM takes nothing: hold host input back (the caller retries)
	 * rather than lose it.
	 */
	if (!(s->mcr & UART_MCR_LOOP) && !s->rx_held) {
		n = MIN(len, (size_t)(SERIAL_RX_BUF - s->rx_len));
		for (i = 0; i < n; i++)
			serial_rx_push(s, buf[i]);
		serial_update(s);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial8250_hold(struct serial8250 *s, bool held)
{
	pthread_mutex_lock(&s->lock);
	s->rx_held = held;
	pthread_mutex_unlock(&s->lock);
}

int serial8250_break(struct serial8250 *s, u8 key)
{
	int ret = -EBUSY;

	pthread_mutex_lock(&s->lock);
	if (s->rx_break < 0 && !(s->mcr & UART_MCR_LOOP) && !s->rx_held &&
	    s->rx_len + 2 <= SERIAL_RX_BUF) {
		s->rx_break = (s->rx_head + s->rx_len) % SERIAL_RX_BUF;
		serial_rx_push(s, 0);
		serial_rx_push(s, key);
		serial_update(s);
		ret = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- the guest's UART ---- */

struct serial_dev {
	struct serial8250 uart;
	struct kvm *kvm;
	struct device_header dev;
	struct console_ops console;
	bool owns_term;
	char node[32];		/* "uart@<base>" */
	char path[33];		/* "/" node: the guest's stdout-path */
};

static void serial_set_irq(void *ctx, int level)
{
	struct serial_dev *sd = ctx;

	if (irq_set_level(sd->kvm, LKVM_IRQ_UART, level) < 0)
		pr_warn_ratelimited("UART: cannot set its interrupt line");
}

/*
 * The UART always prints, even when another device owns the terminal,
 * so that an earlycon the user asked for is seen.
 */
static void serial_output(void *ctx, const u8 *buf, size_t len)
{
	struct serial_dev *sd = ctx;

	term_output(sd->kvm, buf, len);
}

static size_t serial_input(void *opaque, const u8 *buf, size_t len)
{
	struct serial_dev *sd = opaque;

	return serial8250_receive(&sd->uart, buf, len);
}

int serial_sysrq(struct kvm *kvm, u8 key)
{
	if (!kvm->serial || !kvm->serial->owns_term)
		return -ENODEV;
	return serial8250_break(&kvm->serial->uart, key);
}

static int serial_generate_fdt(struct device_header *dev, void *fdt,
			       struct kvm *kvm)
{
	struct serial_dev *sd = dev->opaque;

	FDT_CHECK(fdt_begin_node(fdt, sd->node));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "ns16550a"));
	FDT_CHECK(fdt_property_reg64(fdt, LKVM_UART_BASE, LKVM_UART_SIZE));
	FDT_CHECK(fdt_property_spi(fdt, kvm->irq_parent, LKVM_IRQ_UART,
				   IRQ_TYPE_LEVEL_HIGH));
	FDT_CHECK(fdt_property_cell(fdt, "clock-frequency", SERIAL_CLOCK));
	FDT_CHECK(fdt_property_cell(fdt, "reg-shift", 0));
	FDT_CHECK(fdt_property_cell(fdt, "reg-io-width", 1));
	/*
	 * The boot console. Also with --console virtio, which owns the
	 * terminal then: stdout-path cannot name an hvc, and the UART
	 * still prints (serial_output()).
	 */
	kvm->stdout_path = sd->path;
	return fdt_end_node(fdt);
}

static void serial_reset(struct device_header *dev)
{
	struct serial_dev *sd = dev->opaque;

	serial8250_reset(&sd->uart);
}

/* lkvm pause: the terminal's input waits until the resume. */
static void serial_pause(struct device_header *dev)
{
	struct serial_dev *sd = dev->opaque;

	serial8250_hold(&sd->uart, true);
}

static void serial_resume(struct device_header *dev)
{
	struct serial_dev *sd = dev->opaque;

	serial8250_hold(&sd->uart, false);
}

static void serial_free(struct serial_dev *sd)
{
	struct kvm *kvm = sd->kvm;

	/* Once this returns, the terminal thread no longer calls us. */
	if (sd->owns_term)
		term_set_console(kvm, NULL);
	mmio_unregister(&kvm->mmio, LKVM_UART_BASE);
	if (kvm->serial == sd)
		kvm->serial = NULL;
	serial8250_exit(&sd->uart);
	free(sd);
}

static void serial_dev_exit(struct device_header *dev, struct kvm *kvm)
{
	serial_free(dev->opaque);
}

static const struct device_ops serial_dev_ops = {
	.generate_fdt = serial_generate_fdt,
	.reset = serial_reset,
	.pause = serial_pause,
	.resume = serial_resume,
	.exit = serial_dev_exit,
};

/*
 * The guest's console (@console: ttyS0, hvc0...) and, whichever it is,
 * this UART as its early console, each unless the user set one.
 */
int serial_add_console_params(struct kvm *kvm, const char *console)
{
	char param[64];
	int ret;

	snprintf(param, sizeof(param), "console=%s", console);
	ret = kvm_cmdline_add_default(kvm, "console", param);
	if (ret < 0)
		return ret;
	snprintf(param, sizeof(param), "earlycon=uart8250,mmio,%#llx",
		 LKVM_UART_BASE);
	return kvm_cmdline_add_default(kvm, "earlycon", param);
}

static int serial_own_term(struct serial_dev *sd)
{
	int ret = serial_add_console_params(sd->kvm, "ttyS0");

	if (ret < 0)
		return ret;
	sd->console = (struct console_ops) {
		.input = serial_input,
		.opaque = sd,
	};
	term_set_console(sd->kvm, &sd->console);
	sd->owns_term = true;
	return 0;
}

static int serial_init(struct kvm *kvm)
{
	struct serial_dev *sd = calloc(1, sizeof(*sd));
	int ret;

	if (!sd)
		return -ENOMEM;
	sd->kvm = kvm;
	snprintf(sd->node, sizeof(sd->node), "uart@%llx", LKVM_UART_BASE);
	snprintf(sd->path, sizeof(sd->path), "/%s", sd->node);
	serial8250_init(&sd->uart, serial_set_irq, serial_output, sd);
	ret = mmio_register(&kvm->mmio, LKVM_UART_BASE, LKVM_UART_SIZE,
			    serial8250_mmio, &sd->uart);
	if (ret < 0) {
		pr_err("UART: cannot claim MMIO at %#llx: %s", LKVM_UART_BASE,
		       strerror(-ret));
		serial8250_exit(&sd->uart);
		free(sd);
		return ret;
	}
	if (kvm->cfg.console == CONSOLE_SERIAL) {
		ret = serial_own_term(sd);
		if (ret < 0) {
			serial_free(sd);
			return ret;
		}
	}
	sd->dev = (struct device_header) {
		.name = "uart", .bus = DEVICE_BUS_PLATFORM,
		.ops = &serial_dev_ops, .opaque = sd,
	};
	device_register(kvm, &sd->dev);
	kvm->serial = sd;
	return 0;
}

lkvm_init(INIT_DEV, serial_init, NULL);
