// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console's input (virtio/console.c, included here: it is built
 * for arm64 only): the terminal's bytes into the receiveq's buffers, none
 * without buffers, and none while the VM is paused (lkvm pause: the
 * terminal keeps them; the resume takes them again). On the virtio-mmio
 * transport and in the VM's registry, KVM's part stubbed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stubs.h"
#include "vq-driver.h"
#include "../../virtio/console.c"

#define ACK_TO_DOK	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

struct ctx {
	struct kvm kvm;
	struct vq_driver d;
	struct vcon *vc;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	vqd_init(&c->d, 16, false, false);
	c->kvm.mem = c->d.mem;
	c->kvm.cfg.console = CONSOLE_VIRTIO;
	c->kvm.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	mmio_bus_init(&c->kvm.mmio);
	device_list_init(&c->kvm.devices);
	assert_int_equal(vcon_init(&c->kvm), 0);
	assert_non_null(stub_console);
	c->vc = stub_console->opaque;
	c->vc->vdev.status = ACK_TO_DOK;
	c->vc->vdev.driver_features = BIT_ULL(VIRTIO_F_VERSION_1);
	c->vc->vdev.vqs[VCON_RX] = c->d.vq;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	devices_exit(&c->kvm);
	assert_null(stub_console);
	mmio_bus_exit(&c->kvm.mmio);
	free(c->kvm.cmdline);
	vqd_exit(&c->d);
	free(c);
	return 0;
}

static size_t input(const char *s)
{
	return stub_console->input(stub_console->opaque, (const u8 *)s,
				   strlen(s));
}

/* Into the guest's buffer; nothing once it has none. */
static void test_input(void **state)
{
	struct ctx *c = *state;
	u64 buf = vqd_buf(&c->d, 4, 0xee);
	u32 id, len;

	assert_int_equal(input("ab"), 0);	/* no buffer yet */
	vqd_desc(&c->d, 0, buf, 4, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, 0);
	assert_int_equal(input("hello"), 4);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	vqd_used_elem(&c->d, 0, &id, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(vqd_ptr(&c->d, buf), "hell", 4);
	assert_int_equal(input("o"), 0);
}

/* Paused: the buffer is left alone until the resume. */
static void test_paused(void **state)
{
	struct ctx *c = *state;
	u64 buf = vqd_buf(&c->d, 4, 0xee);

	vqd_desc(&c->d, 0, buf, 4, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, 0);
	devices_pause(&c->kvm);
	assert_int_equal(input("k"), 0);
	assert_int_equal(vqd_used_idx(&c->d), 0);
	assert_int_equal(*(u8 *)vqd_ptr(&c->d, buf), 0xee);
	devices_resume(&c->kvm);
	assert_int_equal(input("k"), 1);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	assert_int_equal(*(u8 *)vqd_ptr(&c->d, buf), 'k');
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_input),
		T(test_paused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
