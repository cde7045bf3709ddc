// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal's escape sequences (see term.h), kept apart from the I/O
 * in term.c so that they can be unit tested.
 */
#include <string.h>

#include "lkvm/term.h"

#define TERM_ESCAPE_QUIT	'x'

size_t term_escape_filter(struct term_escape *st, u8 *buf, size_t len,
			  bool *quit)
{
	size_t in = 0, out = 0;
	u8 c;

	*quit = false;
	/*
	 * A Ctrl-a held from the previous call may have to come out in
	 * front of this call's first byte, one more than came in: work
	 * from the back so that the in-place copy never overtakes its
	 * source.
	 */
	if (st->pending && len && buf[0] != TERM_ESCAPE_QUIT &&
	    buf[0] != TERM_ESCAPE_CHAR) {
		memmove(buf + 1, buf, len);
		buf[0] = TERM_ESCAPE_CHAR;
		st->pending = false;
		in = 2;		/* "Ctrl-a <other>" passes through whole */
		out = 2;
		len++;
	}

	for (; in < len; in++) {
		c = buf[in];
		if (!st->pending) {
			if (c == TERM_ESCAPE_CHAR)
				st->pending = true;
			else
				buf[out++] = c;
			continue;
		}
		st->pending = false;
		if (c == TERM_ESCAPE_QUIT) {
			*quit = true;
			continue;
		}
		/* Ctrl-a Ctrl-a is one Ctrl-a; anything else keeps both. */
		if (c != TERM_ESCAPE_CHAR)
			buf[out++] = TERM_ESCAPE_CHAR;
		buf[out++] = c;
	}
	return out;
}
