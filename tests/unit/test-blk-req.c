// SPDX-License-Identifier: GPL-2.0
/*
 * virtio/blk-req.c: request chains as a driver (or a hostile guest) builds
 * them; and whole requests, from a virtqueue in fake guest memory through
 * blk_req_parse() and blk_req_exec() to an image file, for the guard of
 * images probed as raw (disk/disk.c).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/disk.h"
#include "lkvm/virtio-blk.h"
#include "capture.h"
#include "fds.h"
#include "vq-driver.h"

static struct virtq_elem e;
static struct blk_req r;
static u8 hdr_buf[64], data[8192], status_buf[4];

static const struct blk_limits lim = {
	.capacity = 2048,		/* 1 MiB */
	.seg_max = 8,
	.size_max = 4096,
	.blk_size = 512,
	.flush = true,
	.discard = true,
	.write_zeroes = true,
	.max_discard_sectors = 1024,
	.max_write_zeroes_sectors = 1024,
};

static void hdr(u32 type, u64 sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type), .sector = htole64(sector),
	};

	memcpy(hdr_buf, &h, sizeof(h));
}

/* Chain: @nout readable buffers then @nin writable ones. */
static void chain(unsigned int nout, unsigned int nin, ...)
{
	va_list ap;
	unsigned int i;

	memset(&e, 0, sizeof(e));
	va_start(ap, nin);
	for (i = 0; i < nout + nin; i++) {
		e.iov[i].iov_base = va_arg(ap, void *);
		e.iov[i].iov_len = va_arg(ap, size_t);
		if (i < nout)
			e.out_len += e.iov[i].iov_len;
		else
			e.in_len += e.iov[i].iov_len;
	}
	va_end(ap);
	e.out_num = nout;
	e.in_num = nin;
}

static void test_read(void **state)
{
	hdr(VIRTIO_BLK_T_IN, 8);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)1024, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 8);
	assert_int_equal(r.data_num, 1);
	assert_int_equal(r.data_len, 1024);
	assert_ptr_equal(r.data[0].iov_base, data);
	assert_ptr_equal(r.status, status_buf);
}

/* Header and data in one buffer, status at the end of the data buffer. */
static void test_write_merged(void **state)
{
	hdr(VIRTIO_BLK_T_OUT, 0);
	memcpy(data, hdr_buf, 16);
	chain(1, 1, data, (size_t)(16 + 512), status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.data_num, 1);
	assert_ptr_equal(r.data[0].iov_base, data + 16);
	assert_int_equal(r.data[0].iov_len, 512);

	hdr(VIRTIO_BLK_T_IN, 0);
	chain(1, 1, hdr_buf, (size_t)16, data, (size_t)513);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_ptr_equal(r.status, data + 512);
	assert_int_equal(r.data_len, 512);
	assert_int_equal(r.data[0].iov_len, 512);
}

/* A header split over several buffers still reads right. */
static void test_split_header(void **state)
{
	hdr(VIRTIO_BLK_T_OUT, 3);
	chain(3, 1, hdr_buf, (size_t)5, hdr_buf + 5, (size_t)11, data, (size_t)512,
	      status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.sector, 3);
	assert_int_equal(r.data_num, 1);
	assert_ptr_equal(r.data[0].iov_base, data);
}

static void test_bad_shapes(void **state)
{
	/* no writable byte at all: nowhere to put a status */
	hdr(VIRTIO_BLK_T_IN, 0);
	chain(1, 0, hdr_buf, (size_t)16);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	assert_null(r.status);
	/* short header */
	chain(1, 1, hdr_buf, (size_t)15, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	assert_ptr_equal(r.status, status_buf);
	/* read with readable data */
	hdr(VIRTIO_BLK_T_IN, 0);
	chain(2, 1, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* write with writable data */
	hdr(VIRTIO_BLK_T_OUT, 0);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* not a multiple of the sector size */
	hdr(VIRTIO_BLK_T_IN, 0);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)100, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* unknown type */
	hdr(99, 0);
	chain(1, 1, hdr_buf, (size_t)16, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_UNSUPP);
	hdr(VIRTIO_BLK_T_SCSI_CMD, 0);
	chain(1, 1, hdr_buf, (size_t)16, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_UNSUPP);
	/* flush with data */
	hdr(VIRTIO_BLK_T_FLUSH, 0);
	chain(2, 1, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	chain(1, 1, hdr_buf, (size_t)16, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
}

static void test_ranges(void **state)
{
	/* the last sector is fine, one past is not */
	hdr(VIRTIO_BLK_T_IN, 2047);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	hdr(VIRTIO_BLK_T_IN, 2048);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	hdr(VIRTIO_BLK_T_IN, 2047);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)1024, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* overflow: sector + count wraps around */
	hdr(VIRTIO_BLK_T_OUT, UINT64_MAX);
	chain(2, 1, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	hdr(VIRTIO_BLK_T_OUT, UINT64_MAX / 512);
	chain(2, 1, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
}

static void test_limits(void **state)
{
	struct blk_limits ro = lim;
	unsigned int i;

	/* a buffer beyond size_max */
	hdr(VIRTIO_BLK_T_IN, 0);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)8192, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* more buffers than seg_max */
	memset(&e, 0, sizeof(e));
	e.iov[0] = (struct iovec) { hdr_buf, 16 };
	e.out_num = 1;
	e.out_len = 16;
	for (i = 0; i < 9; i++)
		e.iov[1 + i] = (struct iovec) { data + 512 * i, 512 };
	e.iov[10] = (struct iovec) { status_buf, 1 };
	e.in_num = 10;
	e.in_len = 9 * 512 + 1;
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* writes to a read-only disk */
	ro.ro = true;
	hdr(VIRTIO_BLK_T_OUT, 0);
	chain(2, 1, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &ro, &r), VIRTIO_BLK_S_IOERR);
	/* blk_size 4096: 512-byte requests are refused */
	ro = lim;
	ro.blk_size = 4096;
	chain(2, 1, hdr_buf, (size_t)16, data, (size_t)512, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &ro, &r), VIRTIO_BLK_S_IOERR);
}

static void seg(u8 *p, u64 sector, u32 n, u32 flags)
{
	struct virtio_blk_discard_write_zeroes s = {
		.sector = htole64(sector), .num_sectors = htole32(n),
		.flags = htole32(flags),
	};

	memcpy(p, &s, sizeof(s));
}

#define DWZ(n) chain(2, 1, hdr_buf, (size_t)16, data, (size_t)(n), \
		       status_buf, (size_t)1)

static void test_discard_write_zeroes(void **state)
{
	struct blk_limits none = lim;

	hdr(VIRTIO_BLK_T_DISCARD, 0);
	seg(data, 8, 16, 0);
	seg(data + 16, 100, 8, 0);
	DWZ(32);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.nr_segs, 2);
	assert_int_equal(r.segs[1].sector, 100);
	assert_int_equal(r.segs[1].num_sectors, 8);
	/* the unmap flag is for write zeroes only */
	seg(data, 8, 16, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	DWZ(32);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_UNSUPP);
	hdr(VIRTIO_BLK_T_WRITE_ZEROES, 0);
	DWZ(32);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.segs[0].flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	seg(data, 8, 16, 2);
	DWZ(32);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_UNSUPP);
	/* out of range, too long, torn segment, too many */
	seg(data, 2040, 16, 0);
	DWZ(32);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	seg(data, 0, 2048, 0);
	DWZ(32);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	seg(data, 0, 8, 0);
	DWZ(24);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	memset(data, 0, 17 * 16);
	DWZ((17 * 16));
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_IOERR);
	/* not offered */
	none.discard = none.write_zeroes = false;
	DWZ(16);
	assert_int_equal(blk_req_parse(&e, &none, &r), VIRTIO_BLK_S_UNSUPP);
}

static void test_get_id(void **state)
{
	hdr(VIRTIO_BLK_T_GET_ID, 0);
	chain(1, 2, hdr_buf, (size_t)16, data, (size_t)20, status_buf, (size_t)1);
	assert_int_equal(blk_req_parse(&e, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.data_len, 20);
}

/* ---- -d spec parsing ---- */

static void test_spec(void **state)
{
	struct disk_spec s;
	char err[256];

	assert_int_equal(disk_spec_parse("a.img", &s, err, sizeof(err)), 0);
	assert_string_equal(s.path, "a.img");
	assert_false(s.ro || s.direct || s.snapshot || s.has_id);
	assert_int_equal(disk_spec_parse("/x/b.qcow2,ro,direct,snapshot,id=SER-1",
					 &s, err, sizeof(err)), 0);
	assert_string_equal(s.path, "/x/b.qcow2");
	assert_true(s.ro && s.direct && s.snapshot && s.has_id);
	assert_string_equal(s.id, "SER-1");
	assert_int_equal(disk_spec_parse("a,id=12345678901234567890", &s, err,
					 sizeof(err)), 0);
	assert_int_equal(strlen(s.id), 20);

	assert_int_equal(disk_spec_parse("a,id=123456789012345678901", &s, err,
					 sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 20 bytes"));
	assert_int_equal(disk_spec_parse("a,rw", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown flag 'rw'"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(disk_spec_parse("", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty path"));
	assert_int_equal(disk_spec_parse(",ro", &s, err, sizeof(err)), -1);
	assert_int_equal(disk_spec_parse("a,", &s, err, sizeof(err)), -1);
	assert_int_equal(disk_spec_parse("a,id=", &s, err, sizeof(err)), -1);
	assert_int_equal(disk_spec_parse("a,ro=1", &s, err, sizeof(err)), -1);
}

static void test_spec_format(void **state)
{
	struct disk_spec s;
	char err[256];

	assert_int_equal(disk_spec_parse("a.img", &s, err, sizeof(err)), 0);
	assert_false(s.has_format);
	assert_int_equal(disk_spec_parse("a.img,format=raw,ro", &s, err, sizeof(err)), 0);
	assert_true(s.has_format && s.ro);
	assert_int_equal(s.format, DISK_RAW);
	assert_int_equal(disk_spec_parse("a.img,snapshot,format=qcow2", &s, err,
					 sizeof(err)), 0);
	assert_true(s.has_format && s.snapshot);
	assert_int_equal(s.format, DISK_QCOW2);
	assert_string_equal(s.path, "a.img");

	assert_int_equal(disk_spec_parse("a.img,format=vmdk", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid -d 'a.img,format=vmdk': unknown format 'vmdk' (known: raw, qcow2)");
	assert_int_equal(disk_spec_parse("a.img,format=", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown format ''"));
	assert_int_equal(disk_spec_parse("a.img,format=raw2", &s, err, sizeof(err)), -1);
	assert_int_equal(disk_spec_parse("a.img,format=ra", &s, err, sizeof(err)), -1);
	assert_int_equal(disk_spec_parse("a.img,format=RAW", &s, err, sizeof(err)), -1);
	assert_int_equal(disk_spec_parse("a.img,format", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "format=raw|qcow2"));
	assert_string_equal(disk_format_name(DISK_RAW), "raw");
	assert_string_equal(disk_format_name(DISK_QCOW2), "qcow2");
}

static void test_default_serial(void **state)
{
	char s[VIRTIO_BLK_ID_BYTES], t[VIRTIO_BLK_ID_BYTES];

	disk_default_serial("/images/rootfs.img", s);
	assert_memory_equal(s, "rootfs.img\0", 11);
	disk_default_serial("/a/a-very-long-image-file-name.qcow2", s);
	disk_default_serial("/b/a-very-long-image-file-name.qcow2", t);
	assert_memory_equal(s, "a-very-long-", 12);
	assert_memory_not_equal(s, t, sizeof(s));
}

/* ---- whole requests: virtqueue -> blk_req_parse -> blk_req_exec -> disk ---- */

#define N	VRING_DESC_F_NEXT
#define W	VRING_DESC_F_WRITE
#define SECRET	"host secret 7f3c9a: the guest must never read this"

static struct vq_driver drv;
static struct virtq_elem el;
static char dir[64];

static const char *P(const char *name)
{
	static char bufs[4][256];
	static int n;
	char *b = bufs[n++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static void make_file(const char *path, const void *data, size_t len,
		      size_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
}

static void file_sector0(const char *path, u8 *buf)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, 512, 0), 512);
	close(fd);
}

static void put32(u8 *p, u32 v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(u8 *p, u64 v) { v = htobe64(v); memcpy(p, &v, 8); }

/*
 * The attack, as the rig's guest does it (tests/rig/build.sh, probeattack):
 * a qcow2 v2 header in one sector naming @backing, over a 1 MiB image of
 * zeros: 64 KiB clusters, an empty L1 table at 64 KiB and refcount table
 * at 128 KiB, so that every read goes to the backing file.
 */
static void forge_qcow2(u8 *sec, const char *backing)
{
	memset(sec, 0, 512);
	memcpy(sec, "QFI\xfb", 4);
	put32(sec + 4, 2);			/* version */
	put64(sec + 8, 72);			/* backing file name offset */
	put32(sec + 16, strlen(backing));
	put32(sec + 20, 16);			/* cluster_bits */
	put64(sec + 24, SZ_1M);			/* virtual size */
	put32(sec + 36, 1);			/* L1 entries */
	put64(sec + 40, SZ_64K);		/* L1 table */
	put64(sec + 48, 2 * SZ_64K);		/* refcount table */
	put32(sec + 56, 1);			/* its clusters */
	memcpy(sec + 72, backing, strlen(backing));
}

static struct disk *open_disk(const char *arg)
{
	struct disk_spec s;
	struct disk *d = NULL;
	char err[512];

	assert_int_equal(disk_spec_parse(arg, &s, err, sizeof(err)), 0);
	if (disk_open(&d, &s, err, sizeof(err)))
		fail_msg("%s", err);
	return d;
}

/*
 * Open: raw (under a snapshot overlay, which is qcow2), and the secret
 * (the forged header's backing file) not opened.
 */
static struct disk *open_raw(const char *arg)
{
	struct disk *d = open_disk(arg);
	int mode;

	if (!d->snapshot)
		assert_int_equal(d->format, DISK_RAW);
	assert_int_equal(fds_open_on(P("secret"), &mode), 0);
	return d;
}

/*
 * A request as a guest driver queues it: header, then @len bytes of data
 * in two buffers (the first @split bytes long; 0: one buffer), then the
 * status byte. The device's part as virtio/blk.c does it; returns the
 * status the guest reads.
 */
static u8 guest_req(struct disk *d, u32 type, u64 sector, const void *data,
		    u32 len, u32 split)
{
	struct blk_limits lim = {
		.capacity = d->size / 512, .seg_max = 8, .size_max = SZ_64K,
		.blk_size = 512, .flush = true, .discard = true,
		.write_zeroes = true, .max_discard_sectors = 2048,
		.max_write_zeroes_sectors = 2048,
	};
	struct virtio_blk_outhdr h = {
		.type = htole32(type), .sector = htole64(sector),
	};
	u64 hg = vqd_buf(&drv, sizeof(h), 0), dg = vqd_buf(&drv, len, 0);
	u64 sg = vqd_buf(&drv, 1, 0xee);
	u16 i = 0, f = type == VIRTIO_BLK_T_IN ? W : 0;
	struct blk_req r;
	u32 written = 0, id, used;
	u8 st;

	memcpy(vqd_ptr(&drv, hg), &h, sizeof(h));
	memcpy(vqd_ptr(&drv, dg), data, len);
	vqd_desc(&drv, i, hg, sizeof(h), N, i + 1), i++;
	if (split && split < len)
		vqd_desc(&drv, i, dg, split, N | f, i + 1), i++;
	else
		split = 0;
	vqd_desc(&drv, i, dg + split, len - split, N | f, i + 1), i++;
	vqd_desc(&drv, i, sg, 1, W, 0);
	vqd_publish(&drv, 0);

	assert_int_equal(virtq_pop(&drv.vq, &el), VIRTQ_GOT);
	st = blk_req_parse(&el, &lim, &r);
	if (st == VIRTIO_BLK_S_OK)
		st = blk_req_exec(d, &r, &written) < 0 ? VIRTIO_BLK_S_IOERR :
							 VIRTIO_BLK_S_OK;
	*r.status = st;
	virtq_push(&drv.vq, el.head, written + 1);
	vqd_used_elem(&drv, vqd_used_idx(&drv) - 1, &id, &used);
	assert_int_equal(used, written + 1);
	if (type == VIRTIO_BLK_T_IN)
		memcpy((void *)data, vqd_ptr(&drv, dg), len);
	return *(u8 *)vqd_ptr(&drv, sg);
}

static u8 guest_zeroes(struct disk *d, u32 type, u64 sector, u32 n)
{
	struct virtio_blk_discard_write_zeroes s = {
		.sector = htole64(sector), .num_sectors = htole32(n),
	};

	return guest_req(d, type, sector, &s, sizeof(s), 0);
}

static int req_setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/lkvm-test-blk-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	vqd_init(&drv, 16, false, false);
	make_file(P("secret"), SECRET, strlen(SECRET), strlen(SECRET));
	return 0;
}

static int req_teardown(void **state)
{
	char cmd[128];

	vqd_exit(&drv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * A guest writes a qcow2 header naming a host file onto the first sector
 * of its image, probed as raw: the request fails, the image is unchanged
 * and still raw at the next open, and lkvm said why, once.
 */
static void test_probed_raw_guarded(void **state)
{
	u8 hdr[512], sec[512], zero[512] = { 0 }, buf[1024];
	struct disk *d;
	char *out;

	forge_qcow2(hdr, P("secret"));
	make_file(P("vm.img"), "", 0, SZ_1M);
	d = open_disk(P("vm.img"));
	assert_int_equal(d->format, DISK_RAW);
	assert_true(disk_write_checked(d, 0));
	assert_false(disk_write_checked(d, 512));

	capture_start();
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 0, hdr, 512, 0),
			 VIRTIO_BLK_S_IOERR);
	/* the magic split over two buffers; a longer write from sector 0 */
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 0, hdr, 512, 2),
			 VIRTIO_BLK_S_IOERR);
	memcpy(buf, hdr, 512);
	memset(buf + 512, 0x5a, 512);
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 0, buf, 1024, 100),
			 VIRTIO_BLK_S_IOERR);
	out = capture_end();
	assert_int_equal(count_of(out, "\n"), 1);
	assert_int_equal(count_of(out, "look like qcow2 at its next open"), 1);
	assert_non_null(strstr(out, P("vm.img")));
	assert_non_null(strstr(out, "format=raw"));
	free(out);

	/* nothing of the refused writes landed, not even past sector 0 */
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_IN, 0, buf, 1024, 0),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, zero, 512);
	assert_memory_equal(buf + 512, zero, 512);
	/* elsewhere the same bytes are only data; zeros are fine anywhere */
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 1, hdr, 512, 0),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(guest_zeroes(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(guest_zeroes(d, VIRTIO_BLK_T_DISCARD, 0, 8),
			 VIRTIO_BLK_S_OK);
	memset(buf, 0x11, 512);
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 0, buf, 512, 3),
			 VIRTIO_BLK_S_OK);
	disk_close(d);

	file_sector0(P("vm.img"), sec);
	assert_memory_equal(sec, buf, 512);
	disk_close(open_raw(P("vm.img")));
}

/*
 * format=raw: the guest may write anything, the header included; the
 * image reopens as raw with format=raw, and the backing file it names is
 * never opened. Without format= it would be (the control: the forged
 * header is a working attack), read-only.
 */
static void test_format_raw_unguarded(void **state)
{
	u8 hdr[512], sec[512];
	struct disk *d;
	char *out;
	int mode = -1;

	forge_qcow2(hdr, P("secret"));
	make_file(P("vm.img"), "", 0, SZ_1M);
	d = open_disk(P("vm.img,format=raw"));
	assert_false(disk_write_checked(d, 0));
	capture_start();
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 0, hdr, 512, 2),
			 VIRTIO_BLK_S_OK);
	out = capture_end();
	assert_string_equal(out, "");
	free(out);
	disk_close(d);
	file_sector0(P("vm.img"), sec);
	assert_memory_equal(sec, hdr, 512);

	d = open_raw(P("vm.img,format=raw"));
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_IN, 0, sec, 512, 0),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(sec, hdr, 512);
	disk_close(d);

	disk_close(open_raw(P("vm.img,ro,format=raw")));
	/* snapshot carries format=raw over to the image under the overlay */
	setenv("TMPDIR", dir, 1);
	d = open_raw(P("vm.img,snapshot,format=raw"));
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_IN, 0, sec, 512, 0),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(sec, hdr, 512);
	disk_close(d);
	unsetenv("TMPDIR");

	/* the control */
	d = open_disk(P("vm.img,ro"));
	assert_int_equal(d->format, DISK_QCOW2);
	assert_int_equal(fds_open_on(P("secret"), &mode), 1);
	assert_int_equal(mode, O_RDONLY);
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_IN, 0, sec, 512, 0),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(sec, SECRET, strlen(SECRET));
	disk_close(d);
}

/* A probed-raw image under snapshot is guarded the same way. */
static void test_snapshot_guarded(void **state)
{
	u8 hdr[512], sec[512];
	struct disk *d;
	char *out;

	forge_qcow2(hdr, P("secret"));
	make_file(P("vm.img"), "", 0, SZ_1M);
	setenv("TMPDIR", dir, 1);
	d = open_disk(P("vm.img,snapshot"));
	capture_start();
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_OUT, 0, hdr, 512, 0),
			 VIRTIO_BLK_S_IOERR);
	out = capture_end();
	assert_int_equal(count_of(out, "look like qcow2"), 1);
	free(out);
	assert_int_equal(guest_req(d, VIRTIO_BLK_T_IN, 0, sec, 512, 0),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(sec[0], 0);
	disk_close(d);
	unsetenv("TMPDIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write_merged),
		cmocka_unit_test(test_split_header),
		cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_discard_write_zeroes),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_spec_format),
		cmocka_unit_test(test_default_serial),
		cmocka_unit_test_setup_teardown(test_probed_raw_guarded,
						req_setup, req_teardown),
		cmocka_unit_test_setup_teardown(test_format_raw_unguarded,
						req_setup, req_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_guarded,
						req_setup, req_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
