// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's device, its backend choice and the queue relay
 * (virtio/net.c, included here: it is built for arm64 only;
 * virtio/net-queue.c). Natively there is no libslirp in the unit build,
 * so the chooser refuses mode=user. The device runs over a fake backend
 * that records what the device asks of it, on the virtio-mmio transport
 * and in the VM's registry (KVM's part stubbed).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "vq-driver.h"
#include "../../virtio/net.c"

#define ACK_TO_DOK	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

/* ---- the fake backend: a log of the calls, and a send that counts ---- */

static char calls[256];
static int open_ret;
static unsigned int open_pairs;
static size_t sent_len[8];
static unsigned int nr_sent;

static void log_call(const char *what, struct vnet *vn)
{
	strcat(calls, what);
	/* the threads must see vn->stop once woken */
	if (!strncmp(what, "stop", 4) && !vnet_stopping(vn))
		strcat(calls, "(not stopping) ");
}

static int fake_open(struct vnet *vn)
{
	log_call("open ", vn);
	open_pairs = vn->nr_pairs;
	return open_ret;
}

static int fake_run(struct vnet *vn)
{
	log_call(vn->vdev.registered ? "run " : "run(unregistered) ", vn);
	return 0;
}

static bool fake_send(struct vnet *vn, struct vnet_pair *p,
		      struct virtq_elem *e, const struct net_tx_caps *caps)
{
	struct net_hdr h;
	size_t len;
	enum net_tx_error err;

	err = net_tx_parse(virtq_elem_out(e), e->out_num, caps, &h, &len);
	if (err != NET_TX_OK)
		return vnet_tx_bad(vn, err);
	sent_len[nr_sent++ % 8] = len;
	return true;
}

static void fake_notify(struct vnet *vn, unsigned int q)
{
	log_call(q % 2 ? "notify-tx " : "notify-rx ", vn);
	if (q % 2)
		vnet_tx(vn, vn->pairs[q / 2], fake_send);
}

static void fake_reset(struct vnet *vn)
{
	log_call("reset ", vn);
}

/* before the unregistration: the threads may still use the queues */
static void fake_stop(struct vnet *vn)
{
	log_call(vn->vdev.registered ? "stop " : "stop(unregistered) ", vn);
}

static void fake_close(struct vnet *vn)
{
	log_call(vn->vdev.registered ? "close(registered) " : "close ", vn);
}

static const struct net_backend_ops fake_ops = {
	.features = BIT_ULL(VIRTIO_NET_F_CSUM),
	.multiqueue = true,
	.open = fake_open,
	.run = fake_run,
	.notify = fake_notify,
	.reset = fake_reset,
	.stop = fake_stop,
	.close = fake_close,
};

struct ctx {
	struct kvm kvm;
	struct vq_driver d;
	struct vnet *vn;
};

/* NIC 0 with two queue pairs over the fake backend. */
static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct net_spec ns;
	char err[256];

	assert_int_equal(net_parse_spec("mode=tap,tapif=t0,queues=2", &ns, err,
					sizeof(err)), 0);
	vqd_init(&c->d, 16, false, false);
	c->kvm.mem = c->d.mem;
	c->kvm.cfg.name = "vm";
	c->kvm.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	mmio_bus_init(&c->kvm.mmio);
	device_list_init(&c->kvm.devices);
	calls[0] = '\0';
	open_ret = 0;
	nr_sent = 0;
	assert_int_equal(vnet_add(&c->kvm, 0, &ns, &fake_ops), 0);
	/* the NIC is in the VM's registry */
	assert_non_null(c->kvm.devices.head);
	c->vn = ((struct virtio_device *)c->kvm.devices.head->opaque)->priv;
	assert_string_equal(c->vn->name, "net0");
	c->vn->vdev.status = ACK_TO_DOK;
	c->vn->vdev.driver_features = BIT_ULL(VIRTIO_F_VERSION_1) |
				      BIT_ULL(VIRTIO_NET_F_MRG_RXBUF);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	devices_exit(&c->kvm);		/* calls the NIC's exit hook */
	assert_null(c->kvm.devices.head);
	mmio_bus_exit(&c->kvm.mmio);
	vqd_exit(&c->d);
	free(c);
	return 0;
}

/* Queue @q of the device is the one vq-driver.h laid out. */
static void use_queue(struct ctx *c, unsigned int q)
{
	c->vn->vdev.vqs[q] = c->d.vq;
}

/* ---- the chooser ---- */

static void test_choose(void **state)
{
	const struct net_backend_ops *be = NULL;
	struct net_spec ns = { .mode = NET_MODE_TAP };
	char *out;

	assert_int_equal(vnet_choose_backend(&ns, 0, &be), 0);
	assert_ptr_equal(be, &net_tap_ops);
	ns.vhost = true;
	assert_int_equal(vnet_choose_backend(&ns, 0, &be), 0);
	assert_ptr_equal(be, &net_vhost_ops);

	capture_start();
	ns.mode = NET_MODE_USER;
	assert_int_equal(vnet_choose_backend(&ns, 1, &be), -ENOSYS);
	ns.mode = (enum net_mode)7;
	assert_int_equal(vnet_choose_backend(&ns, 2, &be), -EINVAL);
	ns.mode = NET_MODE_NONE;
	assert_int_equal(vnet_choose_backend(&ns, 3, &be), -EINVAL);
	out = capture_end();
	assert_non_null(strstr(out, "virtio-net1: mode=user needs libslirp, which this lkvm was built without\n"));
	assert_non_null(strstr(out, "virtio-net2: no backend for mode 7\n"));
	assert_non_null(strstr(out, "virtio-net3: no backend for mode"));
	free(out);
	/* the backends' own tables are complete */
	assert_non_null(net_tap_ops.run);
	assert_non_null(net_tap_ops.close);
	assert_non_null(net_vhost_ops.run);
	assert_non_null(net_vhost_ops.stop);
}

/* ---- the device over a backend ---- */

static void test_device(void **state)
{
	struct ctx *c = *state;
	struct vnet *vn = c->vn;

	assert_string_equal(calls, "open run ");
	assert_int_equal(vn->nr_pairs, 2);
	assert_int_equal(vn->ops.nr_queues, 5);	/* and the controlq */
	assert_int_equal(vn->ops.features, VNET_F_COMMON | VNET_F_MQ |
			 BIT_ULL(VIRTIO_NET_F_CSUM));
	assert_int_equal(vn->config[6], VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vn->config[8], 2);
	assert_int_equal(vn->config[0], 0x52);	/* the default MAC */
	vn->ops.reset(&vn->vdev);
	assert_string_equal(calls, "open run reset ");
}

static void test_exit_order(void **state)
{
	struct ctx *c = *state;

	devices_exit(&c->kvm);
	assert_string_equal(calls, "open run stop close ");
}

/* A backend that cannot open: nothing registered, everything freed. */
static void test_open_fails(void **state)
{
	struct ctx *c = *state;
	struct net_spec ns;
	char err[256];

	devices_exit(&c->kvm);
	calls[0] = '\0';
	open_ret = -EBUSY;
	assert_int_equal(net_parse_spec("mode=user", &ns, err, sizeof(err)), 0);
	assert_int_equal(vnet_add(&c->kvm, 1, &ns, &fake_ops), -EBUSY);
	assert_int_equal(open_pairs, 1);	/* user: one pair */
	/* freed at once: nothing reached the registry */
	assert_string_equal(calls, "open stop(unregistered) close ");
	assert_null(c->kvm.devices.head);
}

/* The registry's statistics: @want's value, or -1 if not emitted. */
struct stat_ask {
	const char *want;
	long long val;
};

static void ask_stat(void *ctx, const struct device_header *dev,
		     const char *name, u64 val)
{
	struct stat_ask *a = ctx;

	if (!strcmp(name, a->want))
		a->val = val;
}

static long long nic_stat(struct ctx *c, const char *name)
{
	struct stat_ask a = { name, -1 };

	devices_stats(&c->kvm, ask_stat, &a);
	return a.val;
}

/* Transmit: each buffer to the backend's send, counted, the bad dropped. */
static void test_tx_relay(void **state)
{
	struct ctx *c = *state;
	u64 good = vqd_buf(&c->d, NET_HDR_LEN + 60, 0);
	u64 bad = vqd_buf(&c->d, 5, 0);
	char *out;
	u32 id, len;

	use_queue(c, 3);	/* transmitq 1 */
	vqd_desc(&c->d, 0, good, NET_HDR_LEN + 60, 0, 0);
	vqd_publish(&c->d, 0);
	vqd_desc(&c->d, 1, bad, 5, 0, 0);
	vqd_publish(&c->d, 1);
	capture_start();
	virtio_notify_queue(&c->vn->vdev, 3);
	out = capture_end();
	assert_string_equal(calls, "open run notify-tx ");
	assert_int_equal(nr_sent, 1);
	assert_int_equal(sent_len[0], 60);
	assert_int_equal(vqd_used_idx(&c->d), 2);
	vqd_used_elem(&c->d, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 0);
	assert_int_equal(nic_stat(c, "tx_frames"), 1);
	assert_int_equal(nic_stat(c, "tx_dropped"), 1);
	assert_int_equal(nic_stat(c, "rx_frames"), 0);
	assert_non_null(strstr(out, "virtio-net0: transmit buffer dropped"));
	free(out);
}

/* Receive: a packet into the receiveq, then none while there is no room. */
static void test_rx_relay(void **state)
{
	struct ctx *c = *state;
	struct vnet *vn = c->vn;
	u8 pkt[NET_HDR_LEN + 60] = { 0 };
	u64 buf = vqd_buf(&c->d, 2048, 0xee);
	u8 *hdr = vqd_ptr(&c->d, buf);
	u32 id, len;

	use_queue(c, 2);	/* receiveq 1 */
	memset(pkt + NET_HDR_LEN, 0xab, 60);
	vqd_desc(&c->d, 0, buf, 2048, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, 0);
	pthread_mutex_lock(&vn->vdev.lock);
	assert_true(vnet_rx_one(vn, vn->pairs[1], pkt, sizeof(pkt)));
	assert_false(vnet_rx_one(vn, vn->pairs[1], pkt, sizeof(pkt)));
	pthread_mutex_unlock(&vn->vdev.lock);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	vqd_used_elem(&c->d, 0, &id, &len);
	assert_int_equal(len, sizeof(pkt));
	assert_int_equal(hdr[10], 1);	/* num_buffers */
	assert_int_equal(hdr[NET_HDR_LEN + 59], 0xab);
	assert_int_equal(vn->rx_frames, 1);
}

/*
 * Paused (lkvm pause): a received frame waits with the backend; the
 * resume serves the receiveq as if kicked (the backend's delivery wakes)
 * and the frame goes in.
 */
static void test_paused_rx(void **state)
{
	struct ctx *c = *state;
	struct vnet *vn = c->vn;
	u8 pkt[NET_HDR_LEN + 60] = { 0 };
	u64 buf = vqd_buf(&c->d, 2048, 0xee);

	use_queue(c, 2);	/* receiveq 1 */
	vqd_desc(&c->d, 0, buf, 2048, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, 0);
	devices_pause(&c->kvm);
	pthread_mutex_lock(&vn->vdev.lock);
	assert_false(vnet_rx_one(vn, vn->pairs[1], pkt, sizeof(pkt)));
	pthread_mutex_unlock(&vn->vdev.lock);
	assert_int_equal(vqd_used_idx(&c->d), 0);
	assert_int_equal(vn->rx_frames + vn->rx_dropped, 0);
	assert_string_equal(calls, "open run ");
	devices_resume(&c->kvm);
	assert_string_equal(calls, "open run notify-rx ");
	pthread_mutex_lock(&vn->vdev.lock);
	assert_true(vnet_rx_one(vn, vn->pairs[1], pkt, sizeof(pkt)));
	pthread_mutex_unlock(&vn->vdev.lock);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	assert_int_equal(vn->rx_frames, 1);
}

/* Paused: a backend that polls the transmitq (user) takes nothing. */
static void test_paused_tx(void **state)
{
	struct ctx *c = *state;
	struct vnet *vn = c->vn;
	u64 good = vqd_buf(&c->d, NET_HDR_LEN + 60, 0);

	use_queue(c, 3);	/* transmitq 1 */
	vqd_desc(&c->d, 0, good, NET_HDR_LEN + 60, 0, 0);
	vqd_publish(&c->d, 0);
	devices_pause(&c->kvm);
	pthread_mutex_lock(&vn->vdev.lock);
	vnet_tx(vn, vn->pairs[1], fake_send);
	pthread_mutex_unlock(&vn->vdev.lock);
	assert_int_equal(nr_sent, 0);
	assert_int_equal(vqd_used_idx(&c->d), 0);
	devices_resume(&c->kvm);
	assert_string_equal(calls, "open run notify-tx ");
	assert_int_equal(nr_sent, 1);
	assert_int_equal(vqd_used_idx(&c->d), 1);
}

/* The controlq is the device's: VQ_PAIRS_SET within 1..nr_pairs. */
static u8 ctrl_pairs(struct ctx *c, u16 head, u16 pairs)
{
	u64 cmd = vqd_buf(&c->d, 4, 0), ack = vqd_buf(&c->d, 1, 0xee);
	u8 *b = vqd_ptr(&c->d, cmd);

	b[0] = VIRTIO_NET_CTRL_MQ;
	b[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	b[2] = pairs;
	b[3] = 0;
	vqd_desc(&c->d, head, cmd, 4, VRING_DESC_F_NEXT, head + 1);
	vqd_desc(&c->d, head + 1, ack, 1, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, head);
	virtio_notify_queue(&c->vn->vdev, 4);
	return *(u8 *)vqd_ptr(&c->d, ack);
}

static void test_ctrl(void **state)
{
	struct ctx *c = *state;

	use_queue(c, 4);
	assert_int_equal(ctrl_pairs(c, 0, 2), VIRTIO_NET_OK);
	assert_int_equal(ctrl_pairs(c, 2, 3), VIRTIO_NET_ERR);
	assert_int_equal(ctrl_pairs(c, 4, 0), VIRTIO_NET_ERR);
	/* not the backend's business */
	assert_string_equal(calls, "open run ");
}

/* ---- the backends' threads ---- */

static struct vnet_thread test_t;
static int woken;

/* As the backends' threads do: sleep on the wake eventfd until stopped. */
static void *wait_thread(void *arg)
{
	struct vnet *vn = arg;
	struct pollfd pfd = { .fd = test_t.wake_fd, .events = POLLIN };

	while (!vnet_stopping(vn)) {
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		vnet_drain(pfd.fd);
		__atomic_fetch_add(&woken, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_thread(void **state)
{
	struct vnet vn = { .stop = false };
	int i;

	vnet_wake(-1);		/* no thread: nothing */
	woken = 0;
	test_t.wake_fd = -1;
	assert_int_equal(vnet_thread_start(&test_t, wait_thread, &vn, "test"), 0);
	assert_true(test_t.started);
	assert_true(test_t.wake_fd >= 0);
	vnet_wake(test_t.wake_fd);	/* work: it wakes, drains, sleeps again */
	for (i = 0; i < 5000 && !__atomic_load_n(&woken, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_int_equal(woken, 1);
	__atomic_store_n(&vn.stop, true, __ATOMIC_RELEASE);
	vnet_thread_stop(&test_t);	/* wakes it: it sees stop, joined */
	assert_false(test_t.started);
	assert_int_equal(test_t.wake_fd, -1);
	vnet_thread_stop(&test_t);	/* twice: harmless */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_thread),
		T(test_device),
		T(test_exit_order),
		T(test_open_fails),
		T(test_tx_relay),
		T(test_rx_relay),
		T(test_paused_rx),
		T(test_paused_tx),
		T(test_ctrl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
