/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_NET_H
#define LKVM_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <sys/uio.h>

#include "lkvm/util.h"

/*
 * virtio-net, portable half (net/spec.c, net/frame.c): the `-n` spec
 * parser, the default MAC, and the frame handling of the data path (vnet
 * header checks on transmit, header + frame delivery into receive
 * buffers). No KVM, no libslirp: unit-tested and fuzzed natively. The
 * device is virtio/net.c; its backends (libslirp, tap, vhost-net) are
 * net/slirp.c, net/tap.c and net/vhost.c (include/lkvm/net-backend.h).
 */

enum net_mode {
	NET_MODE_USER,
	NET_MODE_TAP,
	NET_MODE_NONE,
};

#define NET_MAX_HOSTFWD		16
#define NET_MAX_QUEUE_PAIRS	8
#define NET_SCRIPT_MAX		256

/* hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
struct net_hostfwd {
	bool udp;
	struct in_addr host_addr;	/* INADDR_ANY if not given */
	u16 host_port;
	struct in_addr guest_addr;	/* 0: the guest's DHCP address */
	u16 guest_port;
};

/* One `-n` option, parsed. */
struct net_spec {
	enum net_mode mode;
	u8 mac[6];
	bool mac_set;			/* guest_mac= given */
	/* user */
	struct in_addr guest_ip;	/* first DHCP address, default 10.0.2.15 */
	struct in_addr host_ip;		/* gateway = the host, default 10.0.2.2 */
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	unsigned int nr_fwd;
	/* tap */
	char tapif[IFNAMSIZ];
	char script[NET_SCRIPT_MAX];	/* "" if none */
	bool vhost;
	unsigned int queues;		/* queue pairs, >= 1 */
};

/*
 * Parse "-n" @spec: comma-separated key=value pairs (mode= defaults to
 * user; a bare "user", "tap" or "none" is taken as mode=). Returns 0, or
 * -1 with a one-line reason in @err.
 */
int net_parse_spec(const char *spec, struct net_spec *ns, char *err,
		   size_t errlen);
/* Parse "tcp:127.0.0.1:2222-:22"; returns 0 or -1. */
int net_parse_hostfwd(const char *s, struct net_hostfwd *fwd);
/* Parse "52:54:00:12:34:56"; returns 0 or -1 (multicast refused too). */
int net_parse_mac(const char *s, u8 mac[6]);
/*
 * The stable default MAC of NIC @index of VM @name: 52:54:00 (locally
 * administered, unicast) and three bytes of a hash of both.
 */
void net_default_mac(const char *name, unsigned int index, u8 mac[6]);

/* ---- frames ---- */

/*
 * The header before every frame: struct virtio_net_hdr_mrg_rxbuf, 12
 * bytes, since only VERSION_1 drivers are supported (5.1.6).
 */
#define NET_HDR_LEN		12
#define NET_ETH_HLEN		14
/* The largest transmit buffer (header included) that is accepted. */
#define NET_MAX_PACKET		65550
#define NET_MAX_FRAME		(NET_MAX_PACKET - NET_HDR_LEN)

struct net_hdr {
	u8 flags;
	u8 gso_type;
	u16 hdr_len;
	u16 gso_size;
	u16 csum_start;
	u16 csum_offset;
	u16 num_buffers;
};

/* Why a transmit buffer was dropped. */
enum net_tx_error {
	NET_TX_OK = 0,
	NET_TX_SHORT = -1,	/* no full header and Ethernet header */
	NET_TX_OVERSIZE = -2,	/* more than NET_MAX_PACKET */
	NET_TX_BAD_HDR = -3,	/* flags, GSO or checksum fields invalid */
	NET_TX_GSO_REFUSED = -4,	/* GSO type not negotiated */
};

/*
 * What the device accepts in transmit headers: the GSO types the driver
 * negotiated (VIRTIO_NET_F_HOST_*) and whether it may ask for checksums
 * (VIRTIO_NET_F_CSUM).
 */
struct net_tx_caps {
	bool csum;
	bool tso4, tso6, ufo, ecn;
};

/* The caps that @features (negotiated virtio-net features) allow. */
struct net_tx_caps net_tx_caps_from_features(u64 features);
/* Decode the 12 little-endian header bytes. */
void net_hdr_decode(const u8 *raw, struct net_hdr *h);
void net_hdr_encode(const struct net_hdr *h, u8 *raw);
/* Check a decoded header against a frame of @frame_len bytes. */
enum net_tx_error net_hdr_check(const struct net_hdr *h, size_t frame_len,
				const struct net_tx_caps *caps);
/*
 * A transmit buffer (the out-iovecs of one chain): check its size and
 * header, and return the header in @h and the frame length in
 * @frame_len. Nothing is copied.
 */
enum net_tx_error net_tx_parse(const struct iovec *iov, unsigned int n,
			       const struct net_tx_caps *caps,
			       struct net_hdr *h, size_t *frame_len);
/*
 * net_tx_parse(), then describe the buffer in @out (room for n + 1
 * entries) for a backend that sends header and frame together: out[0] is
 * the checked header, encoded into @hdr (NET_HDR_LEN bytes, the caller's
 * memory), then the frame, still in the guest's buffers. Another vCPU may
 * rewrite the guest's header at any time; what is sent is what was
 * checked. The frame needs no check: nothing in it is trusted.
 */
enum net_tx_error net_tx_iov(const struct iovec *iov, unsigned int n,
			     const struct net_tx_caps *caps, u8 *hdr,
			     struct iovec *out, unsigned int *out_num);
/*
 * net_tx_parse(), then copy the frame (without its header) into @frame,
 * which holds NET_MAX_FRAME bytes.
 */
enum net_tx_error net_tx_extract(const struct iovec *iov, unsigned int n,
				 const struct net_tx_caps *caps,
				 struct net_hdr *h, u8 *frame,
				 size_t *frame_len);
const char *net_tx_strerror(enum net_tx_error e);

/* ---- receive ---- */

struct virtqueue;
struct virtq_elem;

enum net_rx_result {
	NET_RX_DONE = 0,	/* delivered, or dropped (counted by caller) */
	NET_RX_DROPPED = 1,	/* buffers too small: consumed, frame lost */
	NET_RX_NO_BUFFERS = 2,	/* not enough buffers: nothing consumed */
	NET_RX_BAD = -1,	/* the queue is broken */
};

/*
 * Deliver one packet, @pkt = header (NET_HDR_LEN bytes, num_buffers is
 * set here) + frame, into receiveq @vq. With @mergeable
 * (VIRTIO_NET_F_MRG_RXBUF) it may span several chains; without it must
 * fit one. @first and @cur are scratch elements. On NET_RX_NO_BUFFERS the
 * chains taken are given back: retry once the driver adds buffers. The
 * caller holds the device lock and signals the driver.
 */
enum net_rx_result net_rx_deliver(struct virtqueue *vq,
				  struct virtq_elem *first,
				  struct virtq_elem *cur, const u8 *pkt,
				  size_t len, bool mergeable);

/*
 * A bounded FIFO of packets (header + frame copies) waiting for receive
 * buffers; full means drop. Not locked: one thread owns it.
 */
struct net_pktq {
	unsigned int cap, head, count;
	u64 dropped;
	struct net_pkt {
		u8 *data;
		size_t len;
	} *pkts;
};

int net_pktq_init(struct net_pktq *q, unsigned int cap);
void net_pktq_free(struct net_pktq *q);
/* Copy @hdr (NET_HDR_LEN bytes) + @frame in; false (and counted) if full. */
bool net_pktq_push(struct net_pktq *q, const u8 *hdr, const u8 *frame,
		   size_t frame_len);
struct net_pkt *net_pktq_peek(struct net_pktq *q);
void net_pktq_pop(struct net_pktq *q);
void net_pktq_clear(struct net_pktq *q);

#endif
