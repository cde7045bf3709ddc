// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon's device (virtio/balloon.c, included here: it is built
 * for arm64 only) on the virtio-mmio transport, in a VM's registry (KVM
 * stubbed): queue roles from the accepted features, inflate and deflate
 * through real descriptor chains, the madvise() that gives pages back
 * (the guest's bytes read as zeroes after), hole punching in a shared
 * file (as --hugetlbfs RAM), the stats buffer held and handed back,
 * config space and the control plane's API.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "vq-driver.h"
#include "../../virtio/balloon.c"

#define ACK_TO_DOK	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define ALL_F		(BIT_ULL(VIRTIO_F_VERSION_1) | VB_FEATURES)

struct ctx {
	struct kvm kvm;
	struct vq_driver d;
	struct vballoon *vb;
	struct virtio_transport_ops counting;
	int config_irqs, vq_irqs;
};

static struct ctx *cur;

static void count_config(struct virtio_device *vdev)
{
	cur->config_irqs++;
}

static void count_vq(struct virtio_device *vdev, unsigned int q)
{
	cur->vq_irqs++;
}

/* Guest RAM from mmap() (madvise needs a mapping of its own). */
static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct virtio_device *vdev;

	c->d.mem.host = mmap(NULL, VQD_RAM, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(c->d.mem.host != MAP_FAILED);
	c->d.mem.gpa_start = VQD_GPA;
	c->d.mem.size = VQD_RAM;
	assert_int_equal(vqd_setup(&c->d, 16, false, false), 0);
	c->kvm.mem = c->d.mem;
	c->kvm.ram_mapping = c->d.mem.host;
	c->kvm.ram_fd = -1;
	c->kvm.cfg.balloon = true;
	c->kvm.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	mmio_bus_init(&c->kvm.mmio);
	device_list_init(&c->kvm.devices);
	assert_int_equal(vb_init(&c->kvm), 0);
	c->vb = c->kvm.balloon;
	assert_non_null(c->vb);
	vdev = &c->vb->vdev;
	/* the transport's interrupts, counted */
	c->counting = *vdev->transport;
	c->counting.signal_config = count_config;
	c->counting.signal_vq = count_vq;
	vdev->transport = &c->counting;
	vdev->status = ACK_TO_DOK;
	vdev->driver_features = ALL_F;
	cur = c;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	c->vb->vdev.transport = &virtio_mmio_transport;
	devices_exit(&c->kvm);
	assert_null(c->kvm.balloon);
	mmio_bus_exit(&c->kvm.mmio);
	munmap(c->d.mem.host, VQD_RAM);
	free(c);
	return 0;
}

/* Guest page (4 KiB) @i of RAM: its PFN and its bytes. */
static u32 pfn_of(unsigned int i)
{
	return (VQD_GPA >> 12) + i;
}

static u8 *page(struct ctx *c, unsigned int i)
{
	return c->d.mem.host + (u64)i * 4096;
}

/* One request of @n PFNs on queue @q; returns the used ring's index. */
static u16 send_pfns(struct ctx *c, unsigned int q, const u32 *pfns,
		     unsigned int n)
{
	u64 gpa = vqd_buf(&c->d, n * 4, 0);
	u32 *p = vqd_ptr(&c->d, gpa);
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = htole32(pfns[i]);
	vqd_desc(&c->d, 0, gpa, n * 4, 0, 0);
	vqd_publish(&c->d, 0);
	c->vb->vdev.vqs[q] = c->d.vq;
	vb_notify(&c->vb->vdev, q);
	c->d.vq = c->vb->vdev.vqs[q];
	return vqd_used_idx(&c->d);
}

static void test_registered(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(c->kvm.devices.head->name, "balloon");
	assert_int_equal(c->vb->vdev.features & VB_FEATURES, VB_FEATURES);
	assert_int_equal(c->vb->bp.unit, sysconf(_SC_PAGESIZE));
	assert_int_equal(c->vb->bp.nr_pages, VQD_RAM / 4096);
}

/* Queues are numbered over the accepted features only. */
static void test_roles(void **state)
{
	struct ctx *c = *state;
	struct vballoon *vb = c->vb;
	u64 base = BIT_ULL(VIRTIO_F_VERSION_1);

	vb->vdev.driver_features = ALL_F;
	assert_int_equal(vb_role(vb, 0), VB_INFLATE);
	assert_int_equal(vb_role(vb, 1), VB_DEFLATE);
	assert_int_equal(vb_role(vb, 2), VB_STATS);
	assert_int_equal(vb_role(vb, 3), VB_REPORTING);
	vb->vdev.driver_features = base | BIT_ULL(VIRTIO_BALLOON_F_REPORTING);
	assert_int_equal(vb_role(vb, 2), VB_REPORTING);
	assert_int_equal(vb_role(vb, 3), VB_NONE);
	vb->vdev.driver_features = base | BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ);
	assert_int_equal(vb_role(vb, 2), VB_STATS);
	assert_int_equal(vb_role(vb, 3), VB_NONE);
	vb->vdev.driver_features = base;
	assert_int_equal(vb_role(vb, 2), VB_NONE);
	assert_int_equal(vb_role(vb, 63), VB_NONE);
}

/* Inflated pages read as zeroes (madvise); deflated ones are usable. */
static void test_inflate_deflate(void **state)
{
	struct ctx *c = *state;
	const u32 in[] = { pfn_of(100), pfn_of(101), pfn_of(200) };
	const u32 out[] = { pfn_of(101) };
	struct balloon_info info;

	memset(page(c, 100), 0xaa, 2 * 4096);
	memset(page(c, 200), 0xbb, 4096);
	memset(page(c, 102), 0xcc, 4096);
	assert_int_equal(send_pfns(c, 0, in, 3), 1);
	assert_int_equal(c->vq_irqs, 1);
	assert_int_equal(page(c, 100)[0], 0);
	assert_int_equal(page(c, 101)[4095], 0);
	assert_int_equal(page(c, 200)[17], 0);
	assert_int_equal(page(c, 102)[0], 0xcc);	/* neighbour untouched */
	assert_int_equal(send_pfns(c, 1, out, 1), 2);
	assert_int_equal(balloon_get_info(&c->kvm, &info, 0), 0);
	assert_int_equal(info.c.inflated, 2);
	assert_int_equal(info.c.pages_inflated, 3);
	assert_int_equal(info.c.pages_deflated, 1);
	assert_int_equal(info.c.bytes_released, 3 * 4096);
	assert_int_equal(info.ram_pages, VQD_RAM / 4096);
	assert_false(info.stats_fresh);
}

/* A PFN outside RAM: that request is refused, the device goes on. */
static void test_bad_pfn(void **state)
{
	struct ctx *c = *state;
	const u32 bad[] = { pfn_of(3), pfn_of(VQD_RAM / 4096) };
	const u32 good[] = { pfn_of(3) };
	char *out;

	memset(page(c, 3), 0x11, 4096);
	capture_start();
	assert_int_equal(send_pfns(c, 0, bad, 2), 1);	/* returned */
	out = capture_end();
	assert_non_null(strstr(out, "virtio-balloon: inflate request refused"));
	free(out);
	assert_int_equal(page(c, 3)[0], 0x11);		/* not given back */
	assert_int_equal(c->vb->bp.c.bad_requests, 1);
	assert_true(virtio_device_live(&c->vb->vdev));
	assert_int_equal(send_pfns(c, 0, good, 1), 2);
	assert_int_equal(page(c, 3)[0], 0);
}

/* Free page reports (in-buffers, as Linux adds them). */
static void test_report(void **state)
{
	struct ctx *c = *state;
	u64 gpa = VQD_GPA + 128 * 4096;

	memset(page(c, 128), 0x5a, 8 * 4096);
	vqd_desc(&c->d, 0, gpa, 8 * 4096, VRING_DESC_F_WRITE, 0);
	vqd_publish(&c->d, 0);
	c->vb->vdev.vqs[3] = c->d.vq;
	vb_notify(&c->vb->vdev, 3);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	assert_int_equal(page(c, 128)[0], 0);
	assert_int_equal(page(c, 135)[4095], 0);
	assert_int_equal(c->vb->bp.c.bytes_reported, 8 * 4096);
	assert_int_equal(c->vb->bp.c.inflated, 0);
}

/* Hole punching: a shared file mapping, as --hugetlbfs RAM is. */
static void test_discard_file(void **state)
{
	struct ctx *c = *state;
	int fd = memfd_create("ram", 0);
	u8 *map;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * 4096), 0);
	map = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	memset(map, 0x77, 4 * 4096);
	c->vb->ram_fd = fd;
	c->vb->ram_fd_off = 4096;	/* RAM starts one page into the file */
	assert_int_equal(vb_discard(c->vb, 4096, 4096), 0);
	assert_int_equal(map[2 * 4096], 0);		/* file page 2 */
	assert_int_equal(map[4096], 0x77);
	assert_int_equal(map[3 * 4096], 0x77);
	c->vb->ram_fd = -1;
	munmap(map, 4 * 4096);
	close(fd);
}

/* A stats buffer of the driver's: parsed, then held. */
static void give_stats(struct ctx *c, u64 memfree)
{
	u64 gpa = vqd_buf(&c->d, BALLOON_STAT_SIZE, 0);
	u8 *p = vqd_ptr(&c->d, gpa);
	u16 tag = htole16(VIRTIO_BALLOON_S_MEMFREE);
	u64 v = htole64(memfree);

	memcpy(p, &tag, 2);
	memcpy(p + 2, &v, 8);
	vqd_desc(&c->d, 1, gpa, BALLOON_STAT_SIZE, 0, 0);
	vqd_publish(&c->d, 1);
	pthread_mutex_lock(&c->vb->vdev.lock);
	vb_notify(&c->vb->vdev, 2);
	pthread_mutex_unlock(&c->vb->vdev.lock);
}

static void *refill_later(void *arg)
{
	struct ctx *c = arg;

	usleep(50 * 1000);
	give_stats(c, 2222);
	return NULL;
}

static void test_stats(void **state)
{
	struct ctx *c = *state;
	struct balloon_info info;
	pthread_t t;

	c->vb->vdev.vqs[2] = c->d.vq;
	give_stats(c, 1111);
	assert_true(c->vb->stats_held);
	assert_int_equal(vqd_used_idx(&c->d), 0);	/* held, not returned */
	/* no wait: the latest, not asked again */
	assert_int_equal(balloon_get_info(&c->kvm, &info, 0), 0);
	assert_int_equal(info.gs.value[VIRTIO_BALLOON_S_MEMFREE], 1111);
	assert_int_equal(vqd_used_idx(&c->d), 0);
	/* asked: the buffer goes back; the guest refills it later */
	assert_int_equal(pthread_create(&t, NULL, refill_later, c), 0);
	assert_int_equal(balloon_get_info(&c->kvm, &info, 5000), 0);
	pthread_join(t, NULL);
	assert_true(info.stats_fresh);
	assert_int_equal(info.gs.value[VIRTIO_BALLOON_S_MEMFREE], 2222);
	assert_int_equal(info.gs.updates, 2);
	assert_int_equal(vqd_used_idx(&c->d), 1);
	/* a guest that never answers: the wait ends, not fresh */
	assert_int_equal(balloon_get_info(&c->kvm, &info, 30), 0);
	assert_false(info.stats_fresh);
	assert_int_equal(vqd_used_idx(&c->d), 2);
	/* nothing held now: no wait at all */
	assert_int_equal(balloon_get_info(&c->kvm, &info, 60000), 0);
	assert_false(info.stats_fresh);
}

static u32 config_read(struct ctx *c, u32 off)
{
	u32 v;

	vb_config(&c->vb->vdev, off, (u8 *)&v, 4, false);
	return le32toh(v);
}

static void test_config_and_target(void **state)
{
	struct ctx *c = *state;
	u32 gen = c->vb->vdev.config_generation, v = htole32(77);

	assert_int_equal(balloon_set_target(&c->kvm, 64), 0);
	assert_int_equal(config_read(c, 0), 64);
	assert_int_equal(c->config_irqs, 1);
	assert_int_equal(c->vb->vdev.config_generation, gen + 1);
	/* beyond RAM */
	assert_int_equal(balloon_set_target(&c->kvm, VQD_RAM / 4096 + 1), -EINVAL);
	assert_int_equal(config_read(c, 0), 64);
	/* the driver writes actual, never num_pages */
	vb_config(&c->vb->vdev, 4, (u8 *)&v, 4, true);
	vb_config(&c->vb->vdev, 0, (u8 *)&v, 4, true);
	assert_int_equal(config_read(c, 4), 77);
	assert_int_equal(config_read(c, 0), 64);
	/* a driver reset gives every page back to the guest */
	vb_reset(&c->vb->vdev);
	assert_int_equal(config_read(c, 4), 0);
	assert_int_equal(config_read(c, 0), 64);	/* the target stays */
}

/* The registry's stats hook: the device's counters by name. */
static int stat_target, stat_inflated;

static void emit(void *ctx, const struct device_header *dev,
		 const char *counter, u64 value)
{
	if (!strcmp(counter, "target_pages"))
		stat_target = value;
	if (!strcmp(counter, "inflated_pages"))
		stat_inflated = value;
}

static void test_registry_stats(void **state)
{
	struct ctx *c = *state;
	const u32 in[] = { pfn_of(7) };

	send_pfns(c, 0, in, 1);
	balloon_set_target(&c->kvm, 9);
	devices_stats(&c->kvm, emit, NULL);
	assert_int_equal(stat_target, 9);
	assert_int_equal(stat_inflated, 1);
}

static void test_no_balloon(void **state)
{
	struct kvm kvm = { 0 };
	struct balloon_info info;

	assert_int_equal(balloon_set_target(&kvm, 1), -ENODEV);
	assert_int_equal(balloon_get_info(&kvm, &info, 0), -ENODEV);
	assert_int_equal(vb_init(&kvm), 0);	/* no --balloon: nothing */
	assert_null(kvm.balloon);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_registered),
		T(test_roles),
		T(test_inflate_deflate),
		T(test_bad_pfn),
		T(test_report),
		T(test_discard_file),
		T(test_stats),
		T(test_config_and_target),
		T(test_registry_stats),
		cmocka_unit_test(test_no_balloon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
