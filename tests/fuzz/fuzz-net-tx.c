// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for virtio-net's transmit path (net/frame.c): the
 * input is a transmit buffer as the guest lays it out, cut into iovecs
 * where the input says, with the negotiated offloads picked by its first
 * byte. The vnet header is checked and the frame extracted exactly as
 * the backends (net/slirp.c, net/tap.c) do; what is accepted must be consistent (length, bytes,
 * header fields inside the frame), and an accepted frame goes through the
 * bounded receive queue too. The tap's iovec (net_tx_iov) must agree:
 * the checked header from our copy, then exactly the frame's bytes. ASan/UBSan catch any out-of-bounds access.
 *
 * Input: caps (1 byte), nsplit (1 byte, up to 16), nsplit 2-byte cut
 * lengths, then the buffer (header + frame).
 */
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/iov.h"
#include "lkvm/net.h"

#define MAX_IOV		17

static u8 frame[NET_MAX_FRAME], sent[NET_MAX_FRAME];
/* the buffer may be larger than the largest accepted one */
#define MAX_INPUT	(NET_MAX_PACKET + 256)

/* The tap's view of an accepted buffer: our header, then the frame. */
static void check_tx_iov(const struct iovec *iov, unsigned int n,
			 const struct net_tx_caps *caps,
			 const struct net_hdr *h, size_t flen)
{
	struct iovec out[MAX_IOV + 1];
	u8 hdr[NET_HDR_LEN], want[NET_HDR_LEN];
	unsigned int out_num = 0;

	if (net_tx_iov(iov, n, caps, hdr, out, &out_num) != NET_TX_OK ||
	    out_num < 1 || out_num > n + 1 || out[0].iov_base != hdr ||
	    out[0].iov_len != NET_HDR_LEN)
		abort();
	net_hdr_encode(h, want);
	if (memcmp(hdr, want, NET_HDR_LEN))
		abort();
	if (iov_total(out + 1, out_num - 1) != flen)
		abort();
	iov_to_buf(out + 1, out_num - 1, 0, sent, flen);
	if (memcmp(sent, frame, flen))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct iovec iov[MAX_IOV];
	struct net_tx_caps caps;
	struct net_pktq q;
	struct net_hdr h;
	unsigned int nsplit, n = 0, i;
	size_t off, len, flen, total;
	enum net_tx_error e;
	u8 c;

	if (size < 2 || size > MAX_INPUT + 2 + 32)
		return 0;
	c = data[0];
	caps = (struct net_tx_caps) {
		.csum = c & 1, .tso4 = c & 2, .tso6 = c & 4, .ufo = c & 8,
		.ecn = c & 16,
	};
	nsplit = data[1] % 17;
	off = 2 + 2 * nsplit;
	if (off > size)
		return 0;
	total = size - off;
	/* cut the buffer; zero-length pieces are allowed */
	for (i = 0; i < nsplit && n < MAX_IOV - 1; i++) {
		len = (data[2 + 2 * i] | data[3 + 2 * i] << 8) % (total + 1);
		len = MIN(len, size - off);
		iov[n++] = (struct iovec) { (void *)(data + off), len };
		off += len;
	}
	iov[n++] = (struct iovec) { (void *)(data + off), size - off };

	flen = 0;
	e = net_tx_extract(iov, n, &caps, &h, frame, &flen);
	if (e != NET_TX_OK) {
		if (total <= NET_MAX_PACKET && total >= NET_HDR_LEN + NET_ETH_HLEN &&
		    (e == NET_TX_SHORT || e == NET_TX_OVERSIZE))
			abort();
		return 0;
	}
	/* accepted: sizes and bytes are what the guest gave */
	if (total > NET_MAX_PACKET || total < NET_HDR_LEN + NET_ETH_HLEN ||
	    flen != total - NET_HDR_LEN)
		abort();
	if (memcmp(frame, data + size - total + NET_HDR_LEN, flen))
		abort();
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (!caps.csum || (size_t)h.csum_start + h.csum_offset + 2 > flen))
		abort();
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (!h.gso_size || h.hdr_len > flen))
		abort();

	check_tx_iov(iov, n, &caps, &h, flen);

	if (net_pktq_init(&q, 2) < 0)
		return 0;
	net_pktq_push(&q, data + size - total, frame, flen);
	if (!net_pktq_peek(&q) ||
	    net_pktq_peek(&q)->len != NET_HDR_LEN + flen)
		abort();
	net_pktq_free(&q);
	return 0;
}
