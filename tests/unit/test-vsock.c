// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-vsock (virtio/vsock.c, included here: it is built for arm64
 * only) and the vhost plumbing it shares with vhost-net
 * (virtio/vhost.c): the one-line errors (no /dev/vhost-vsock, a CID
 * another VM has, a device that is no vhost), config space, the kick
 * routes and kicks passed on, the event queue kept by lkvm, and the
 * relay thread turning vhost's call eventfds into interrupts. The CID
 * ioctl is faked; the rest runs on real eventfds.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "lkvm/kvm.h"
#include "lkvm/vhost.h"

/* Only vsock.c's own ioctl (the CID) goes here; headers included before. */
static int fake_errno;
static u64 fake_cid;
#define ioctl(fd, req, arg) fake_ioctl(fd, req, arg)
static int fake_ioctl(int fd, unsigned long req, void *arg);

#include "../../virtio/vsock.c"

#undef ioctl
static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	if (req != VHOST_VSOCK_SET_GUEST_CID)
		return ioctl(fd, req, arg);
	fake_cid = *(u64 *)arg;
	if (fake_errno) {
		errno = fake_errno;
		return -1;
	}
	return 0;
}

/* ---- a transport that records ---- */

static int kick_q[8], kick_fd[8], nr_kicks;
static int signalled[8];

static int rec_set_kick_fd(struct virtio_device *vdev, unsigned int q, int fd)
{
	kick_q[nr_kicks] = q;
	kick_fd[nr_kicks++] = fd;
	return 0;
}

static void rec_signal_vq(struct virtio_device *vdev, unsigned int q)
{
	__atomic_add_fetch(&signalled[q], 1, __ATOMIC_SEQ_CST);
}

static const struct virtio_transport_ops rec_transport = {
	.set_kick_fd = rec_set_kick_fd,
	.signal_vq = rec_signal_vq,
};

static u64 read_eventfd(int fd)
{
	u64 v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* A vsock device whose vhost instance has eventfds but no kernel. */
static struct vvsock *fake_vsock(void)
{
	struct vvsock *vs = calloc(1, sizeof(*vs));
	unsigned int i;

	vs->cid = 0x123456789ULL;
	virtio_device_init(&vs->vdev, &vsock_ops, NULL, NULL, vs);
	vs->vdev.transport = &rec_transport;
	vhost_dev_init(&vs->vd, &vs->vdev, "vsock", "/dev/vhost-vsock", 0, 2);
	for (i = 0; i < 2; i++) {
		vs->vd.kick_fd[i] = eventfd(0, EFD_NONBLOCK);
		vs->vd.call_fd[i] = eventfd(0, EFD_NONBLOCK);
	}
	return vs;
}

static void free_fake(struct vvsock *vs)
{
	vhost_dev_close(&vs->vd);
	free(vs);
}

/* No /dev/vhost-vsock (none on this build host): one line, nothing left. */
static void test_missing_device(void **state)
{
	struct kvm kvm = { 0 };
	char *out;

	if (!access("/dev/vhost-vsock", F_OK))
		skip();
	kvm.cfg.vsock_cid = 3;
	kvm.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	mmio_bus_init(&kvm.mmio);
	device_list_init(&kvm.devices);
	capture_start();
	assert_int_equal(vsock_init(&kvm), -ENOENT);
	out = capture_end();
	assert_string_equal(out, "lkvm: virtio-vsock: /dev/vhost-vsock does not exist: the host needs vhost (load its vhost_vsock module)\n");
	free(out);
	assert_null(kvm.devices.head);
	mmio_bus_exit(&kvm.mmio);
	/* no --vsock: no device, no message */
	kvm.cfg.vsock_cid = 0;
	assert_int_equal(vsock_init(&kvm), 0);
}

/* A CID in use by another VM: one line naming it. */
static void test_cid_in_use(void **state)
{
	struct vvsock *vs = fake_vsock();
	char *out;

	vs->cid = 42;
	fake_errno = EADDRINUSE;
	capture_start();
	assert_int_equal(vsock_set_cid(vs), -EADDRINUSE);
	fake_errno = EINVAL;
	assert_int_equal(vsock_set_cid(vs), -EINVAL);
	out = capture_end();
	assert_int_equal(fake_cid, 42);
	assert_non_null(strstr(out, "lkvm: --vsock 42: guest CID 42 is in use by another VM on this host; give another\n"));
	assert_non_null(strstr(out, "lkvm: --vsock 42: /dev/vhost-vsock VHOST_VSOCK_SET_GUEST_CID: Invalid argument\n"));
	assert_int_equal(count_of(out, "\n"), 2);
	free(out);
	fake_errno = 0;
	assert_int_equal(vsock_set_cid(vs), 0);
	free_fake(vs);
}

/* A file that is no vhost device: its first ioctl fails, said once. */
static void test_not_vhost(void **state)
{
	struct vhost_dev vd;
	char *out;

	vhost_dev_init(&vd, NULL, "vsock", "/dev/null", 0, 2);
	capture_start();
	assert_true(vhost_dev_open(&vd) < 0);
	out = capture_end();
	assert_non_null(strstr(out, "lkvm: virtio-vsock: /dev/null VHOST_SET_OWNER: "));
	assert_int_equal(count_of(out, "\n"), 1);
	free(out);
	vhost_dev_close(&vd);
	assert_int_equal(vd.fd, -1);
	/* rings beyond what vhost_dev holds are not taken */
	vhost_dev_init(&vd, NULL, "x", "/dev/null", 0, 9);
	assert_int_equal(vd.nr_rings, VHOST_MAX_RINGS);
}

/* Config space: the CID, little-endian, read-only. */
static void test_config(void **state)
{
	struct vvsock *vs = fake_vsock();
	u8 buf[8], junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	u32 hi;

	vsock_config(&vs->vdev, 0, buf, 8, false);
	assert_memory_equal(buf, "\x89\x67\x45\x23\x01\x00\x00\x00", 8);
	vsock_config(&vs->vdev, 4, (u8 *)&hi, 4, false);
	assert_int_equal(le32toh(hi), 1);
	vsock_config(&vs->vdev, 0, junk, 8, true);
	assert_int_equal(vs->cid, 0x123456789ULL);
	free_fake(vs);
}

/* Kicks: routed to KVM for rx and tx, passed on when KVM could not. */
static void test_kicks(void **state)
{
	struct vvsock *vs = fake_vsock();

	nr_kicks = 0;
	vhost_dev_route_kicks(&vs->vd);
	assert_int_equal(nr_kicks, 2);
	assert_int_equal(kick_q[0], 0);
	assert_int_equal(kick_q[1], 1);
	assert_int_equal(kick_fd[0], vs->vd.kick_fd[0]);
	assert_int_equal(kick_fd[1], vs->vd.kick_fd[1]);
	vsock_notify(&vs->vdev, 1);
	assert_int_equal(read_eventfd(vs->vd.kick_fd[1]), 1);
	assert_int_equal(read_eventfd(vs->vd.kick_fd[0]), 0);
	/* the event queue's buffers stay with lkvm: no kick for vhost */
	vsock_notify(&vs->vdev, VSOCK_EVENT_Q);
	assert_int_equal(read_eventfd(vs->vd.kick_fd[0]), 0);
	assert_int_equal(read_eventfd(vs->vd.kick_fd[1]), 0);
	/* a queue not this instance's */
	vhost_dev_kick(&vs->vd, 7);
	assert_int_equal(read_eventfd(vs->vd.kick_fd[1]), 0);
	free_fake(vs);
}

static bool wait_signalled(unsigned int q, int want)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (__atomic_load_n(&signalled[q], __ATOMIC_SEQ_CST) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* The relay: a call eventfd signalled -> that queue's interrupt. */
static void test_relay(void **state)
{
	struct vvsock *a = fake_vsock(), *b = fake_vsock();
	struct vhost_dev *devs[2] = { &a->vd, &b->vd };
	struct vhost_relay r = { 0 };

	memset(signalled, 0, sizeof(signalled));
	b->vd.first_q = 2;	/* as vhost-net's second queue pair */
	assert_int_equal(vhost_relay_start(&r, devs, 2, "test-relay"), 0);
	vhost_eventfd_wake(a->vd.call_fd[1]);
	assert_true(wait_signalled(1, 1));
	vhost_eventfd_wake(b->vd.call_fd[0]);
	vhost_eventfd_wake(b->vd.call_fd[1]);
	assert_true(wait_signalled(2, 1));
	assert_true(wait_signalled(3, 1));
	assert_int_equal(signalled[0], 0);
	vhost_relay_stop(&r);
	assert_false(r.started);
	vhost_relay_stop(&r);		/* twice: nothing */
	/* too many instances for one relay */
	assert_int_equal(vhost_relay_start(&r, devs, VHOST_RELAY_MAX + 1, "x"),
			 -EINVAL);
	free_fake(a);
	free_fake(b);
}

/* DRIVER_OK on an instance that refuses: said once, not running. */
static void test_start_fails(void **state)
{
	struct vvsock *vs = fake_vsock();
	char *out;

	vs->vd.fd = open("/dev/null", O_RDWR);
	capture_start();
	assert_true(vsock_start(&vs->vdev) < 0);
	out = capture_end();
	assert_non_null(strstr(out, "virtio-vsock: /dev/vhost-vsock VHOST_SET_FEATURES: "));
	assert_int_equal(count_of(out, "\n"), 1);
	free(out);
	assert_false(vs->running);
	free_fake(vs);
}

/* The registry's exit with nothing started: only closes. */
static void test_reset_not_running(void **state)
{
	struct vvsock *vs = fake_vsock();

	vsock_reset(&vs->vdev);
	assert_false(vs->running);
	free_fake(vs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_device),
		cmocka_unit_test(test_cid_in_use),
		cmocka_unit_test(test_not_vhost),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_kicks),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_reset_not_running),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
