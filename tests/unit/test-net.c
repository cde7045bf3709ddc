// SPDX-License-Identifier: GPL-2.0
/* virtio-net, portable half: -n specs, MACs, transmit checks, receive. */
#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/iov.h"
#include "lkvm/net.h"
#include "vq-driver.h"

static char err[256];

static int parse(const char *s, struct net_spec *ns)
{
	err[0] = '\0';
	return net_parse_spec(s, ns, err, sizeof(err));
}

static u32 ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* ---- specs ---- */

static void test_spec_defaults(void **state)
{
	struct net_spec ns;

	assert_int_equal(parse("mode=user", &ns), 0);
	assert_int_equal(ns.mode, NET_MODE_USER);
	assert_int_equal(ns.guest_ip.s_addr, ip("10.0.2.15"));
	assert_int_equal(ns.host_ip.s_addr, ip("10.0.2.2"));
	assert_false(ns.mac_set);
	assert_int_equal(ns.queues, 1);
	/* only options: user mode */
	assert_int_equal(parse("guest_mac=52:54:00:aa:bb:cc", &ns), 0);
	assert_int_equal(ns.mode, NET_MODE_USER);
	assert_true(ns.mac_set);
	assert_memory_equal(ns.mac, "\x52\x54\x00\xaa\xbb\xcc", 6);
	assert_int_equal(parse("none", &ns), 0);
	assert_int_equal(ns.mode, NET_MODE_NONE);
}

static void test_spec_user(void **state)
{
	struct net_spec ns;

	assert_int_equal(parse("mode=user,guest_ip=192.168.9.50,host_ip=192.168.9.1,"
			       "hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::5353-10.0.2.9:53",
			       &ns), 0);
	assert_int_equal(ns.guest_ip.s_addr, ip("192.168.9.50"));
	assert_int_equal(ns.nr_fwd, 2);
	assert_false(ns.fwd[0].udp);
	assert_int_equal(ns.fwd[0].host_addr.s_addr, ip("127.0.0.1"));
	assert_int_equal(ns.fwd[0].host_port, 2222);
	assert_int_equal(ns.fwd[0].guest_addr.s_addr, 0);
	assert_int_equal(ns.fwd[0].guest_port, 22);
	assert_true(ns.fwd[1].udp);
	assert_int_equal(ns.fwd[1].host_addr.s_addr, 0);
	assert_int_equal(ns.fwd[1].guest_addr.s_addr, ip("10.0.2.9"));
	assert_int_equal(ns.fwd[1].guest_port, 53);
}

static void test_spec_tap(void **state)
{
	struct net_spec ns;

	assert_int_equal(parse("mode=tap,tapif=tap7,script=/etc/up.sh,vhost=on,queues=4",
			       &ns), 0);
	assert_int_equal(ns.mode, NET_MODE_TAP);
	assert_string_equal(ns.tapif, "tap7");
	assert_string_equal(ns.script, "/etc/up.sh");
	assert_true(ns.vhost);
	assert_int_equal(ns.queues, 4);
}

static void test_spec_errors(void **state)
{
	static const char *const bad[] = {
		"mode=bogus",
		"mode=user,colour=blue",
		"junk",
		"hostfwd=tcp:127.0.0.1:2222",
		"hostfwd=tcp:127.0.0.1:2222-:0",
		"hostfwd=tcp:127.0.0.1:99999-:22",
		"hostfwd=sctp::1-:2",
		"hostfwd=tcp:1.2.3:1-:2",
		"hostfwd=tcp::1-:2-:3",
		"hostfwd=tcp::x1-:2",
		"guest_mac=01:00:5e:00:00:01",	/* multicast */
		"guest_mac=52:54:00:aa:bb",
		"guest_mac=52:54:00:aa:bb:cc:dd",
		"guest_mac=52:54:00:aa:bb:zz",
		"guest_ip=10.0.3.15",		/* not in host_ip's /24 */
		"guest_ip=10.0.2.2",		/* the host's */
		"guest_ip=10.0.2.3",		/* the DNS */
		"guest_ip=300.1.1.1",
		"mode=tap",			/* no tapif */
		"mode=tap,tapif=averyveryverylongname0",
		"mode=tap,tapif=t0,hostfwd=tcp::1-:2",
		"mode=user,tapif=t0",
		"mode=user,vhost=on",
		"mode=tap,tapif=t0,vhost=maybe",
		"mode=tap,tapif=t0,queues=0",
		"mode=tap,tapif=t0,queues=9",
		"mode=tap,tapif=t0,queues=-1",
		"mode=none,guest_ip=10.0.2.16",
	};
	struct net_spec ns;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(bad[i], &ns) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
	}
	/* too many hostfwds */
	{
		char spec[2048] = "mode=user";
		for (i = 0; i <= NET_MAX_HOSTFWD; i++)
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
				 ",hostfwd=tcp::%u-:80", 1000 + i);
		assert_int_equal(parse(spec, &ns), -1);
	}
}

static void test_default_mac(void **state)
{
	u8 a[6], b[6], c[6], d[6];

	net_default_mac("guest", 0, a);
	net_default_mac("guest", 0, b);
	net_default_mac("guest", 1, c);
	net_default_mac("other", 0, d);
	assert_memory_equal(a, b, 6);		/* stable */
	assert_memory_not_equal(a, c, 6);	/* per NIC */
	assert_memory_not_equal(a, d, 6);	/* per VM */
	assert_memory_equal(a, "\x52\x54\x00", 3);
	assert_int_equal(a[0] & 1, 0);		/* unicast */
	assert_int_equal(a[0] & 2, 2);		/* locally administered */
}

/* ---- transmit ---- */

static u8 pkt[NET_MAX_PACKET + 64];
static u8 frame[NET_MAX_FRAME];

static size_t mk_pkt(const struct net_hdr *h, size_t frame_len)
{
	size_t i;

	net_hdr_encode(h, pkt);
	for (i = 0; i < frame_len; i++)
		pkt[NET_HDR_LEN + i] = i * 7;
	return NET_HDR_LEN + frame_len;
}

static enum net_tx_error tx(const struct net_hdr *h, size_t frame_len,
			    const struct net_tx_caps *caps, size_t *out_len)
{
	struct iovec iov[3];
	size_t len = mk_pkt(h, frame_len), a = MIN(len, 5), b = MIN(len - a, 20);
	struct net_hdr got;

	/* split across iovecs, the header straddling two */
	iov[0] = (struct iovec) { pkt, a };
	iov[1] = (struct iovec) { pkt + a, b };
	iov[2] = (struct iovec) { pkt + a + b, len - a - b };
	return net_tx_extract(iov, 3, caps, &got, frame, out_len);
}

static void test_tx_plain(void **state)
{
	struct net_hdr h = { 0 };
	struct net_tx_caps none = { 0 };
	size_t len = 0, i;

	assert_int_equal(tx(&h, 60, &none, &len), NET_TX_OK);
	assert_int_equal(len, 60);
	for (i = 0; i < len; i++)
		assert_int_equal(frame[i], (u8)(i * 7));
	/* the largest that fits */
	assert_int_equal(tx(&h, NET_MAX_FRAME, &none, &len), NET_TX_OK);
	assert_int_equal(len, NET_MAX_FRAME);
}

static void test_tx_sizes(void **state)
{
	struct net_hdr h = { 0 };
	struct net_tx_caps none = { 0 };
	size_t len;

	assert_int_equal(tx(&h, NET_MAX_FRAME + 1, &none, &len), NET_TX_OVERSIZE);
	assert_int_equal(tx(&h, NET_ETH_HLEN - 1, &none, &len), NET_TX_SHORT);
	assert_int_equal(tx(&h, 0, &none, &len), NET_TX_SHORT);
	assert_int_equal(net_tx_parse(NULL, 0, &none, &h, &len), NET_TX_SHORT);
}

static void test_tx_header(void **state)
{
	struct net_tx_caps none = { 0 };
	struct net_tx_caps all = {
		.csum = true, .tso4 = true, .tso6 = true, .ecn = true,
	};
	struct net_tx_caps csum_only = { .csum = true };
	struct net_hdr h;
	size_t len;

	/* checksum offload only when negotiated, and inside the frame */
	h = (struct net_hdr) {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 34, .csum_offset = 16,
	};
	assert_int_equal(tx(&h, 100, &none, &len), NET_TX_BAD_HDR);
	assert_int_equal(tx(&h, 100, &all, &len), NET_TX_OK);
	h.csum_offset = 65;
	assert_int_equal(tx(&h, 100, &all, &len), NET_TX_BAD_HDR);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(tx(&h, 100, &all, &len), NET_TX_BAD_HDR);
	/* the driver may not set DATA_VALID */
	h = (struct net_hdr) { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	assert_int_equal(tx(&h, 100, &all, &len), NET_TX_BAD_HDR);
	/* GSO: negotiated type, a size, the checksum asked for */
	h = (struct net_hdr) {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448,
		.hdr_len = 54, .csum_start = 34, .csum_offset = 16,
	};
	assert_int_equal(tx(&h, 3000, &all, &len), NET_TX_OK);
	/* (NEEDS_CSUM without VIRTIO_NET_F_CSUM is refused first) */
	assert_int_equal(tx(&h, 3000, &none, &len), NET_TX_BAD_HDR);
	assert_int_equal(tx(&h, 3000, &csum_only, &len), NET_TX_GSO_REFUSED);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(tx(&h, 3000, &all, &len), NET_TX_GSO_REFUSED);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(tx(&h, 3000, &all, &len), NET_TX_OK);
	h.gso_type = 7;
	assert_int_equal(tx(&h, 3000, &all, &len), NET_TX_BAD_HDR);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	assert_int_equal(tx(&h, 3000, &all, &len), NET_TX_BAD_HDR);
	h.gso_size = 1448;
	h.hdr_len = 3001;
	assert_int_equal(tx(&h, 3000, &all, &len), NET_TX_BAD_HDR);
	/* ECN without GSO */
	h = (struct net_hdr) { .gso_type = VIRTIO_NET_HDR_GSO_ECN };
	assert_int_equal(tx(&h, 100, &all, &len), NET_TX_BAD_HDR);
}

/*
 * The tap's iovec: the header checked, from our copy; the frame from the
 * guest's buffers. A vCPU rewriting the guest's header after the check
 * changes nothing that is sent.
 */
static void test_tx_iov_checked_header(void **state)
{
	struct net_tx_caps all = { .csum = true, .tso4 = true };
	struct net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448,
		.hdr_len = 54, .csum_start = 34, .csum_offset = 16,
	};
	u8 checked[NET_HDR_LEN], hdr[NET_HDR_LEN], sent[4000];
	struct iovec iov[3], out[4];
	size_t len = mk_pkt(&h, 3000);
	unsigned int n = 0, i;

	net_hdr_encode(&h, checked);
	iov[0] = (struct iovec) { pkt, 5 };
	iov[1] = (struct iovec) { pkt + 5, 20 };
	iov[2] = (struct iovec) { pkt + 25, len - 25 };
	assert_int_equal(net_tx_iov(iov, 3, &all, hdr, out, &n), NET_TX_OK);
	assert_int_equal(n, 3);
	assert_ptr_equal(out[0].iov_base, hdr);
	assert_int_equal(out[0].iov_len, NET_HDR_LEN);
	/* The rest is the frame, in place (its bytes were never checked). */
	assert_ptr_equal(out[1].iov_base, pkt + NET_HDR_LEN);
	for (i = 1; i < n; i++)
		assert_true((u8 *)out[i].iov_base >= pkt + NET_HDR_LEN);
	assert_int_equal(iov_total(out + 1, n - 1), 3000);
	iov_to_buf(out + 1, n - 1, 0, sent, sizeof(sent));
	assert_memory_equal(sent, pkt + NET_HDR_LEN, 3000);
	/* Another vCPU makes the header one we would have refused. */
	memset(pkt, 0xff, NET_HDR_LEN);
	assert_memory_equal(out[0].iov_base, checked, NET_HDR_LEN);
	assert_int_equal(net_tx_iov(iov, 3, &all, hdr, out, &n),
			 NET_TX_BAD_HDR);
	/* A header alone in its buffer: the frame is the other buffers. */
	mk_pkt(&h, 3000);
	iov[0] = (struct iovec) { pkt, NET_HDR_LEN };
	iov[1] = (struct iovec) { pkt + NET_HDR_LEN, len - NET_HDR_LEN };
	assert_int_equal(net_tx_iov(iov, 2, &all, hdr, out, &n), NET_TX_OK);
	assert_int_equal(n, 2);
	assert_ptr_equal(out[1].iov_base, pkt + NET_HDR_LEN);
	assert_int_equal(out[1].iov_len, 3000);
}

static void test_caps_from_features(void **state)
{
	struct net_tx_caps c = net_tx_caps_from_features(
		(1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO6));

	assert_true(c.csum);
	assert_false(c.tso4);
	assert_true(c.tso6);
	assert_false(c.ufo);
	assert_false(c.ecn);
}

/* ---- receive ---- */

static struct virtq_elem e1, e2;

/* Post @n receive chains of @len bytes each (one descriptor). */
static void post_rx(struct vq_driver *d, unsigned int n, u32 len)
{
	static u16 next_desc;
	unsigned int i;

	for (i = 0; i < n; i++) {
		u16 desc = next_desc++ % d->size;

		vqd_desc(d, desc, vqd_buf(d, len, 0xee), len,
			 VRING_DESC_F_WRITE, 0);
		vqd_publish(d, desc);
	}
}

static size_t rx_pkt(size_t frame_len)
{
	struct net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };

	return mk_pkt(&h, frame_len);
}

static void test_rx_single(void **state)
{
	struct vq_driver *d = *state;
	size_t len = rx_pkt(1500);
	u32 id, used;
	u8 *buf;

	post_rx(d, 1, 2048);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, false),
			 NET_RX_DONE);
	assert_int_equal(vqd_used_idx(d), 1);
	vqd_used_elem(d, 0, &id, &used);
	assert_int_equal(used, len);
	buf = vqd_ptr(d, VQD_GPA + VQD_DATA);
	assert_int_equal(buf[0], VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(buf[10], 1);	/* num_buffers */
	assert_int_equal(buf[11], 0);
	assert_memory_equal(buf + NET_HDR_LEN, pkt + NET_HDR_LEN, 1500);
}

static void test_rx_mergeable(void **state)
{
	struct vq_driver *d = *state;
	size_t len = rx_pkt(5000);
	u32 id, used, total = 0;
	unsigned int i;
	u8 *buf;

	post_rx(d, 4, 1536);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, true),
			 NET_RX_DONE);
	/* 5012 bytes: 4 buffers of 1536 */
	assert_int_equal(vqd_used_idx(d), 4);
	for (i = 0; i < 4; i++) {
		vqd_used_elem(d, i, &id, &used);
		total += used;
	}
	assert_int_equal(total, len);
	buf = vqd_ptr(d, VQD_GPA + VQD_DATA);
	assert_int_equal(buf[10], 4);
}

static void test_rx_no_buffers(void **state)
{
	struct vq_driver *d = *state;
	size_t len = rx_pkt(5000);

	/* none at all */
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, true),
			 NET_RX_NO_BUFFERS);
	/* not enough: what was taken is given back, nothing used */
	post_rx(d, 2, 1536);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, true),
			 NET_RX_NO_BUFFERS);
	assert_int_equal(vqd_used_idx(d), 0);
	assert_int_equal(d->vq.last_avail, 0);
	/* more come: now it fits */
	post_rx(d, 2, 1536);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, true),
			 NET_RX_DONE);
	assert_int_equal(vqd_used_idx(d), 4);
}

static void test_rx_too_small(void **state)
{
	struct vq_driver *d = *state;
	size_t len = rx_pkt(1500);
	u32 id, used;

	/* without MRG_RXBUF a frame must fit one chain: dropped, buffer back */
	post_rx(d, 2, 1000);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, false),
			 NET_RX_DROPPED);
	assert_int_equal(vqd_used_idx(d), 1);
	vqd_used_elem(d, 0, &id, &used);
	assert_int_equal(used, 0);
	/* a chain too small for the header is not used for data */
	vqd_setup(d, 16, false, true);
	post_rx(d, 1, 8);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, true),
			 NET_RX_DROPPED);
}

static void test_rx_readable_chain(void **state)
{
	struct vq_driver *d = *state;
	size_t len = rx_pkt(100);

	/* a receive chain with a device-readable buffer is malformed */
	vqd_desc(d, 0, vqd_buf(d, 64, 0), 64, 0, 0);
	vqd_publish(d, 0);
	assert_int_equal(net_rx_deliver(&d->vq, &e1, &e2, pkt, len, true),
			 NET_RX_BAD);
	assert_true(d->vq.broken);
}

static void test_pktq_bounded(void **state)
{
	struct net_pktq q;
	u8 hdr[NET_HDR_LEN] = { 1 };
	u8 f[100] = { 2 };
	unsigned int i;

	assert_int_equal(net_pktq_init(&q, 4), 0);
	for (i = 0; i < 4; i++)
		assert_true(net_pktq_push(&q, hdr, f, sizeof(f)));
	assert_false(net_pktq_push(&q, hdr, f, sizeof(f)));
	assert_int_equal(q.dropped, 1);
	assert_false(net_pktq_push(&q, hdr, f, NET_MAX_FRAME + 1));
	assert_int_equal(q.dropped, 2);
	assert_int_equal(net_pktq_peek(&q)->len, NET_HDR_LEN + sizeof(f));
	assert_int_equal(net_pktq_peek(&q)->data[0], 1);
	assert_int_equal(net_pktq_peek(&q)->data[NET_HDR_LEN], 2);
	net_pktq_pop(&q);
	assert_true(net_pktq_push(&q, hdr, f, sizeof(f)));	/* wraps */
	assert_int_equal(q.count, 4);
	net_pktq_clear(&q);
	assert_null(net_pktq_peek(&q));
	net_pktq_free(&q);
}

static int vq_setup(void **state)
{
	struct vq_driver *d = calloc(1, sizeof(*d));

	vqd_init(d, 16, false, true);
	*state = d;
	return 0;
}

static int vq_teardown(void **state)
{
	vqd_exit(*state);
	free(*state);
	return 0;
}

#define T(t) cmocka_unit_test_setup_teardown(t, vq_setup, vq_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_defaults),
		cmocka_unit_test(test_spec_user),
		cmocka_unit_test(test_spec_tap),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_default_mac),
		cmocka_unit_test(test_tx_plain),
		cmocka_unit_test(test_tx_sizes),
		cmocka_unit_test(test_tx_header),
		cmocka_unit_test(test_tx_iov_checked_header),
		cmocka_unit_test(test_caps_from_features),
		T(test_rx_single),
		T(test_rx_mergeable),
		T(test_rx_no_buffers),
		T(test_rx_too_small),
		T(test_rx_readable_chain),
		cmocka_unit_test(test_pktq_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
