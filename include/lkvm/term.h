/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TERM_H
#define LKVM_TERM_H

#include "lkvm/util.h"

struct kvm;

/*
 * The console device that currently owns the terminal (the UART or
 * virtio-console). @input gets bytes typed by the user and returns how many
 * it accepted; the rest are offered again later (back-pressure).
 */
struct console_ops {
	size_t (*input)(void *opaque, const u8 *buf, size_t len);
	void *opaque;
};

/* The terminal is the VM's (kvm->term, term/term.c). */
void term_set_console(struct kvm *kvm, const struct console_ops *ops);
/* The guest's console output: to stdout, the log and the patterns. */
void term_output(struct kvm *kvm, const u8 *buf, size_t len);
/* Restore the terminal; safe to call from a signal handler, many times. */
void term_restore(void);

/*
 * Escape handling, separate from I/O so that it is unit-testable: processes
 * @len input bytes in place, returns the number of bytes left for the
 * guest and sets *quit when Ctrl-a x was typed (clears it otherwise).
 *
 *   Ctrl-a x        quit
 *   Ctrl-a Ctrl-a   one Ctrl-a for the guest
 *   Ctrl-a <other>  both bytes for the guest
 *
 * A Ctrl-a that ends one call is held back and resolved by the next, so
 * @buf must have room for @len + 1 bytes: the held Ctrl-a may come out
 * in front of the next call's bytes.
 */
struct term_escape {
	bool pending;		/* last byte was Ctrl-a */
};
size_t term_escape_filter(struct term_escape *st, u8 *buf, size_t len,
			  bool *quit);

#define TERM_ESCAPE_CHAR	0x01	/* Ctrl-a */

#endif
