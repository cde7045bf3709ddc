// SPDX-License-Identifier: GPL-2.0
/* virtio/blk-req.c: request chains as a driver (or a hostile guest) builds them. */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/disk.h"
#include "lkvm/virtio-blk.h"

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
		cmocka_unit_test(test_default_serial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
