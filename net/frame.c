// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net frames (virtio 1.x, 5.1.6): the transmit header checks, the
 * receive delivery into one or several (MRG_RXBUF) buffers, and a bounded
 * packet queue. Everything the guest wrote is checked before use; a bad
 * transmit buffer is dropped (the caller counts it), never trusted.
 */
#include <endian.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/iov.h"
#include "lkvm/net.h"
#include "lkvm/virtio.h"

struct net_tx_caps net_tx_caps_from_features(u64 f)
{
	return (struct net_tx_caps) {
		.csum = f & BIT_ULL(VIRTIO_NET_F_CSUM),
		.tso4 = f & BIT_ULL(VIRTIO_NET_F_HOST_TSO4),
		.tso6 = f & BIT_ULL(VIRTIO_NET_F_HOST_TSO6),
		.ufo = f & BIT_ULL(VIRTIO_NET_F_HOST_UFO),
		.ecn = f & BIT_ULL(VIRTIO_NET_F_HOST_ECN),
	};
}

void net_hdr_decode(const u8 *raw, struct net_hdr *h)
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = get_le16(raw + 2);
	h->gso_size = get_le16(raw + 4);
	h->csum_start = get_le16(raw + 6);
	h->csum_offset = get_le16(raw + 8);
	h->num_buffers = get_le16(raw + 10);
}

void net_hdr_encode(const struct net_hdr *h, u8 *raw)
{
	raw[0] = h->flags;
	raw[1] = h->gso_type;
	put_le16(raw + 2, h->hdr_len);
	put_le16(raw + 4, h->gso_size);
	put_le16(raw + 6, h->csum_start);
	put_le16(raw + 8, h->csum_offset);
	put_le16(raw + 10, h->num_buffers);
}

enum net_tx_error net_hdr_check(const struct net_hdr *h, size_t frame_len,
				const struct net_tx_caps *caps)
{
	u8 gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	/* DATA_VALID and RSC_INFO are the device's to set (5.1.6.2.1). */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NET_TX_BAD_HDR;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!caps->csum)
			return NET_TX_BAD_HDR;
		if ((size_t)h->csum_start + h->csum_offset + 2 > frame_len)
			return NET_TX_BAD_HDR;
	}
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			return NET_TX_BAD_HDR;
		return NET_TX_OK;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!caps->tso4)
			return NET_TX_GSO_REFUSED;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!caps->tso6)
			return NET_TX_GSO_REFUSED;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		if (!caps->ufo)
			return NET_TX_GSO_REFUSED;
		break;
	default:
		return NET_TX_BAD_HDR;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !caps->ecn)
		return NET_TX_GSO_REFUSED;
	/* A segmented packet needs its checksum done per segment. */
	if (!h->gso_size || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return NET_TX_BAD_HDR;
	if (h->hdr_len > frame_len)
		return NET_TX_BAD_HDR;
	return NET_TX_OK;
}

enum net_tx_error net_tx_parse(const struct iovec *iov, unsigned int n,
			       const struct net_tx_caps *caps,
			       struct net_hdr *h, size_t *frame_len)
{
	size_t total = iov_total(iov, n);
	u8 raw[NET_HDR_LEN];

	if (total > NET_MAX_PACKET)
		return NET_TX_OVERSIZE;
	if (total < NET_HDR_LEN + NET_ETH_HLEN)
		return NET_TX_SHORT;
	iov_to_buf(iov, n, 0, raw, sizeof(raw));
	net_hdr_decode(raw, h);
	*frame_len = total - NET_HDR_LEN;
	return net_hdr_check(h, *frame_len, caps);
}

enum net_tx_error net_tx_iov(const struct iovec *iov, unsigned int n,
			     const struct net_tx_caps *caps, u8 *hdr,
			     struct iovec *out, unsigned int *out_num)
{
	struct net_hdr h;
	size_t flen;
	enum net_tx_error e = net_tx_parse(iov, n, caps, &h, &flen);

	if (e != NET_TX_OK)
		return e;
	/* What was checked is what goes out: our copy, not the guest's. */
	net_hdr_encode(&h, hdr);
	out[0] = (struct iovec) { hdr, NET_HDR_LEN };
	*out_num = 1 + iov_slice(iov, n, NET_HDR_LEN, flen, out + 1, n);
	return NET_TX_OK;
}

enum net_tx_error net_tx_extract(const struct iovec *iov, unsigned int n,
				 const struct net_tx_caps *caps,
				 struct net_hdr *h, u8 *frame,
				 size_t *frame_len)
{
	enum net_tx_error e = net_tx_parse(iov, n, caps, h, frame_len);

	if (e != NET_TX_OK)
		return e;
	/* The guest may shrink nothing here: lengths are ours already. */
	*frame_len = iov_to_buf(iov, n, NET_HDR_LEN, frame, *frame_len);
	return NET_TX_OK;
}

const char *net_tx_strerror(enum net_tx_error e)
{
	switch (e) {
	case NET_TX_OK:
		return "ok";
	case NET_TX_SHORT:
		return "shorter than its headers";
	case NET_TX_OVERSIZE:
		return "oversized";
	case NET_TX_BAD_HDR:
		return "bad virtio-net header";
	case NET_TX_GSO_REFUSED:
		return "GSO type not negotiated";
	}
	return "?";
}

/* ---- receive ---- */

enum net_rx_result net_rx_deliver(struct virtqueue *vq,
				  struct virtq_elem *first,
				  struct virtq_elem *cur, const u8 *pkt,
				  size_t len, bool mergeable)
{
	struct virtq_elem *e = first;
	u16 nbufs = 0, heads_start = vq->last_avail;
	size_t done = 0, n;
	u8 nb[2];
	enum virtq_pop_result r;
	/*
	 * The chains used, pushed at the end. On the stack, not __thread:
	 * static TLS is cleared in every thread lkvm starts (6 KiB each),
	 * while only the receiving thread needs it.
	 */
	u32 lens[VIRTQ_MAX_SIZE];
	u16 heads[VIRTQ_MAX_SIZE];

	if (len < NET_HDR_LEN)
		return NET_RX_DONE;
	while (done < len) {
		r = virtq_pop(vq, e);
		if (r == VIRTQ_BAD)
			return NET_RX_BAD;
		if (r == VIRTQ_EMPTY) {
			/* give the chains back: the frame waits for more */
			vq->last_avail = heads_start;
			return NET_RX_NO_BUFFERS;
		}
		/* A receive chain with readable buffers is malformed. */
		if (e->out_num) {
			vq->broken = true;
			return NET_RX_BAD;
		}
		n = iov_from_buf(virtq_elem_in(e), e->in_num, 0, pkt + done,
				 len - done);
		/* The header must fit the first buffer chain (5.1.6.3.1). */
		if (!nbufs && n < NET_HDR_LEN)
			n = 0;
		heads[nbufs] = e->head;
		lens[nbufs] = n;
		nbufs++;
		done += n;
		if (!mergeable || nbufs == vq->size)
			break;
		if (!n) {
			/* a zero-sized chain: stop rather than spin */
			break;
		}
		e = cur;
	}
	if (done < len) {
		/*
		 * Too small (a driver without MRG_RXBUF and small buffers):
		 * hand back what was used as an empty buffer and drop.
		 */
		for (n = 0; n < nbufs; n++)
			virtq_push(vq, heads[n], 0);
		return NET_RX_DROPPED;
	}
	put_le16(nb, nbufs);
	/* num_buffers is at offset 10 of the header, in the first chain */
	iov_from_buf(virtq_elem_in(first), first->in_num, 10, nb, 2);
	for (n = 0; n < nbufs; n++)
		virtq_push(vq, heads[n], lens[n]);
	return NET_RX_DONE;
}

/* ---- bounded packet queue ---- */

int net_pktq_init(struct net_pktq *q, unsigned int cap)
{
	memset(q, 0, sizeof(*q));
	q->pkts = calloc(cap, sizeof(*q->pkts));
	if (!q->pkts)
		return -1;
	q->cap = cap;
	return 0;
}

void net_pktq_clear(struct net_pktq *q)
{
	while (q->count)
		net_pktq_pop(q);
}

void net_pktq_free(struct net_pktq *q)
{
	if (!q->pkts)
		return;
	net_pktq_clear(q);
	free(q->pkts);
	q->pkts = NULL;
}

bool net_pktq_push(struct net_pktq *q, const u8 *hdr, const u8 *frame,
		   size_t frame_len)
{
	struct net_pkt *p;
	u8 *data;

	if (q->count == q->cap || frame_len > NET_MAX_FRAME) {
		q->dropped++;
		return false;
	}
	data = malloc(NET_HDR_LEN + frame_len);
	if (!data) {
		q->dropped++;
		return false;
	}
	memcpy(data, hdr, NET_HDR_LEN);
	memcpy(data + NET_HDR_LEN, frame, frame_len);
	p = &q->pkts[(q->head + q->count) % q->cap];
	p->data = data;
	p->len = NET_HDR_LEN + frame_len;
	q->count++;
	return true;
}

struct net_pkt *net_pktq_peek(struct net_pktq *q)
{
	return q->count ? &q->pkts[q->head] : NULL;
}

void net_pktq_pop(struct net_pktq *q)
{
	struct net_pkt *p;

	if (!q->count)
		return;
	p = &q->pkts[q->head];
	free(p->data);
	p->data = NULL;
	q->head = (q->head + 1) % q->cap;
	q->count--;
}
