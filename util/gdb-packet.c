// SPDX-License-Identifier: GPL-2.0
/*
 * GDB remote serial protocol framing ("Overview" and "Binary Data" in
 * gdb's manual): packets are "$payload#cs", cs the modulo-256 sum of
 * the payload's bytes in two hex digits; the receiver answers '+' or
 * '-'; a Ctrl-C (0x03) between packets asks to stop the target.
 *
 * gdb_rx_byte() is a byte-at-a-time state machine, so the stub needs no
 * buffering of its own and a peer cannot make it wait for or store more
 * than GDB_PACKET_MAX bytes: longer packets are consumed to their end
 * and reported bad. A '$' inside a packet abandons it (gdb never sends
 * one unescaped) and starts a new one. The payload is kept raw: '}'
 * escapes matter only in binary data (X packets), which gdb-cmd.c
 * unescapes. gdb sends no run-length encoding ('*'): the manual allows
 * it in responses only, so input has none to decode.
 */
#include <errno.h>
#include <string.h>

#include "lkvm/gdb.h"

enum { RX_IDLE, RX_DATA, RX_CSUM1, RX_CSUM2 };

static const char hexdigits[] = "0123456789abcdef";

int gdb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdb_rx_init(struct gdb_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->state = RX_IDLE;
}

static void rx_start(struct gdb_rx *rx)
{
	rx->state = RX_DATA;
	rx->sum = 0;
	rx->len = 0;
	rx->overflow = false;
}

static enum gdb_rx_event rx_bad(struct gdb_rx *rx, const char *why)
{
	rx->state = RX_IDLE;
	rx->error = why;
	return GDB_RX_BAD;
}

static enum gdb_rx_event rx_idle(struct gdb_rx *rx, u8 c)
{
	switch (c) {
	case '$':
		rx_start(rx);
		return GDB_RX_NONE;
	case '+':
		return GDB_RX_ACK;
	case '-':
		return GDB_RX_NACK;
	case 0x03:
		return GDB_RX_INTERRUPT;
	default:
		return GDB_RX_NONE;	/* noise between packets */
	}
}

static enum gdb_rx_event rx_data(struct gdb_rx *rx, u8 c)
{
	if (c == '#') {
		rx->state = RX_CSUM1;
		return GDB_RX_NONE;
	}
	if (c == '$') {
		rx->dropped++;
		rx_start(rx);
		return GDB_RX_NONE;
	}
	rx->sum += c;
	if (rx->len < GDB_PACKET_MAX)
		rx->buf[rx->len++] = c;
	else
		rx->overflow = true;
	return GDB_RX_NONE;
}

static enum gdb_rx_event rx_csum2(struct gdb_rx *rx, u8 c)
{
	int lo = gdb_hex_digit(c);

	if (lo < 0)
		return rx_bad(rx, "checksum is not hexadecimal");
	rx->state = RX_IDLE;
	if (rx->overflow)
		return rx_bad(rx, "packet longer than the PacketSize");
	if ((u8)(rx->csum << 4 | lo) != rx->sum)
		return rx_bad(rx, "bad checksum");
	rx->buf[rx->len] = '\0';
	return GDB_RX_PACKET;
}

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, u8 c)
{
	int hi;

	switch (rx->state) {
	case RX_DATA:
		return rx_data(rx, c);
	case RX_CSUM1:
		hi = gdb_hex_digit(c);
		if (hi < 0)
			return rx_bad(rx, "checksum is not hexadecimal");
		rx->csum = hi;
		rx->state = RX_CSUM2;
		return GDB_RX_NONE;
	case RX_CSUM2:
		return rx_csum2(rx, c);
	default:
		return rx_idle(rx, c);
	}
}

u8 gdb_checksum(const void *buf, size_t len)
{
	const u8 *p = buf;
	u8 sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

static bool needs_escape(u8 c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

ssize_t gdb_frame(char *out, size_t cap, const void *payload, size_t len)
{
	const u8 *p = payload;
	size_t n = 0;
	u8 sum = 0;

	if (cap < 4)
		return -ENOSPC;
	out[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		bool esc = needs_escape(p[i]);
		u8 c = esc ? p[i] ^ 0x20 : p[i];

		if (n + esc + 1 + 3 > cap)
			return -ENOSPC;
		if (esc) {
			out[n++] = '}';
			sum += '}';
		}
		out[n++] = c;
		sum += c;
	}
	out[n++] = '#';
	out[n++] = hexdigits[sum >> 4];
	out[n++] = hexdigits[sum & 0xf];
	return n;
}

ssize_t gdb_unescape(const char *in, size_t len, u8 *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		u8 c = in[i];

		if (c == '}') {
			if (++i == len)
				return -EINVAL;		/* escape at the end */
			c = in[i] ^ 0x20;
		}
		if (n == cap)
			return -ENOSPC;
		out[n++] = c;
	}
	return n;
}

ssize_t gdb_hex_decode(const char *hex, size_t len, u8 *out, size_t cap)
{
	if (len % 2)
		return -EINVAL;
	if (len / 2 > cap)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 2) {
		int hi = gdb_hex_digit(hex[i]), lo = gdb_hex_digit(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = hi << 4 | lo;
	}
	return len / 2;
}

void gdb_hex_encode(const void *buf, size_t len, char *out)
{
	const u8 *p = buf;

	for (size_t i = 0; i < len; i++) {
		*out++ = hexdigits[p[i] >> 4];
		*out++ = hexdigits[p[i] & 0xf];
	}
	*out = '\0';
}
