// SPDX-License-Identifier: GPL-2.0
/*
 * disk/disk.c: raw and qcow2 images, locking, ro, snapshot, direct, format=
 * and the guard of the first sector of images probed as raw (whole guest
 * requests through it: test-blk-req.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/disk.h"
#include "lkvm/qcow2.h"
#include "capture.h"
#include "fds.h"

static char dir[64];
static char err[512];

static const char *P(const char *name)
{
	static char bufs[8][256];
	static int n;
	char *b = bufs[n++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static void make_raw(const char *path, size_t size, u8 fill)
{
	u8 *buf = malloc(size);
	FILE *f = fopen(path, "w");

	assert_non_null(buf);
	assert_non_null(f);
	memset(buf, fill, size);
	assert_int_equal(fwrite(buf, 1, size, f), size);
	fclose(f);
	free(buf);
}

static int open_spec(struct disk **d, const char *arg)
{
	struct disk_spec s;

	assert_int_equal(disk_spec_parse(arg, &s, err, sizeof(err)), 0);
	return disk_open(d, &s, err, sizeof(err));
}

static u8 byte_at(struct disk *d, u64 off)
{
	u8 b[512];
	struct iovec v = { b, sizeof(b) };

	assert_int_equal(disk_preadv(d, &v, 1, off & ~511ULL), 512);
	return b[off & 511];
}

static void write_byte(struct disk *d, u64 off, u8 val)
{
	u8 b[512];
	struct iovec v = { b, sizeof(b) };

	memset(b, val, sizeof(b));
	assert_int_equal(disk_pwritev(d, &v, 1, off), 512);
}

static u8 file_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDONLY);
	u8 b = 0xee;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	close(fd);
	return b;
}

static void test_raw(void **state)
{
	struct disk *d;
	u8 a[1024], b[1024];
	struct iovec v[2] = { { a, 1000 }, { b, 24 } };

	make_raw(P("r.img"), 65536 + 100, 0x11);
	assert_int_equal(open_spec(&d, P("r.img")), 0);
	assert_int_equal(d->format, DISK_RAW);
	assert_int_equal(d->size, 65536);	/* whole sectors */
	assert_int_equal(byte_at(d, 4096), 0x11);
	write_byte(d, 4096, 0x22);
	assert_int_equal(disk_preadv(d, v, 2, 4096 - 512), 1024);
	assert_int_equal(a[511], 0x11);
	assert_int_equal(a[512], 0x22);
	assert_int_equal(b[23], 0x22);
	/* beyond the end */
	assert_int_equal(disk_preadv(d, v, 2, 65536 - 512), -EINVAL);
	assert_int_equal(disk_flush(d), 0);
	assert_int_equal(disk_write_zeroes(d, 8192, 8192, false), 0);
	assert_int_equal(byte_at(d, 8192), 0);
	assert_int_equal(byte_at(d, 16383), 0);
	assert_int_equal(byte_at(d, 16384), 0x11);
	assert_int_equal(disk_write_zeroes(d, 20480, 4096, true), 0);
	assert_int_equal(byte_at(d, 20480 + 100), 0);
	assert_int_equal(disk_discard(d, 32768, 4096), 0);
	disk_close(d);
	assert_int_equal(file_byte(P("r.img"), 4096), 0x22);
	assert_int_equal(file_byte(P("r.img"), 65536 + 99), 0x11);
}

static void test_lock(void **state)
{
	struct disk *d, *d2, *d3;

	make_raw(P("l.img"), 65536, 0);
	assert_int_equal(open_spec(&d, P("l.img")), 0);
	/* an OFD lock conflicts even within one process */
	assert_int_equal(open_spec(&d2, P("l.img")), -EBUSY);
	assert_non_null(strstr(err, "in use by another process"));
	assert_non_null(strstr(err, "l.img"));
	assert_int_equal(open_spec(&d2, P("l.img,ro")), -EBUSY);
	assert_int_equal(open_spec(&d2, P("l.img,snapshot")), -EBUSY);
	disk_close(d);
	/* readers share */
	assert_int_equal(open_spec(&d, P("l.img,ro")), 0);
	assert_int_equal(open_spec(&d2, P("l.img,snapshot")), 0);
	assert_int_equal(open_spec(&d3, P("l.img")), -EBUSY);
	disk_close(d);
	disk_close(d2);
	assert_int_equal(open_spec(&d3, P("l.img")), 0);
	disk_close(d3);
}

static void test_ro(void **state)
{
	struct disk *d;
	u8 b[512] = { 0 };
	struct iovec v = { b, sizeof(b) };

	make_raw(P("ro.img"), 65536, 0x33);
	chmod(P("ro.img"), 0444);
	assert_int_equal(open_spec(&d, P("ro.img,ro")), 0);
	assert_true(d->ro);
	assert_int_equal(disk_pwritev(d, &v, 1, 0), -EROFS);
	assert_int_equal(disk_write_zeroes(d, 0, 512, false), -EROFS);
	assert_int_equal(disk_discard(d, 0, 512), -EROFS);
	assert_int_equal(byte_at(d, 0), 0x33);
	disk_close(d);
}

static void test_errors(void **state)
{
	struct disk *d;
	int fd;

	assert_int_equal(open_spec(&d, P("missing.img")), -ENOENT);
	assert_non_null(strstr(err, "missing.img"));
	assert_non_null(strstr(err, "No such file"));
	/* a qcow2 magic and garbage: refused, file untouched */
	fd = open(P("bad.qcow2"), O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "QFI\xfb\0\0\0\x03garbage-garbage-garbage", 31), 31);
	close(fd);
	assert_true(open_spec(&d, P("bad.qcow2")) < 0);
	assert_non_null(strstr(err, "disk '"));
	assert_null(strchr(err, '\n'));
	/* a directory is not a disk */
	assert_true(open_spec(&d, dir) < 0);
	/* direct is for raw images */
	assert_int_equal(qcow2_create(P("q.qcow2"), SZ_1M, NULL, NULL, err,
				      sizeof(err)), 0);
	assert_int_equal(open_spec(&d, P("q.qcow2,direct")), -EINVAL);
	assert_non_null(strstr(err, "raw"));
}

static void test_qcow2(void **state)
{
	struct disk *d;

	assert_int_equal(qcow2_create(P("q2.qcow2"), SZ_1M, NULL, NULL, err,
				      sizeof(err)), 0);
	assert_int_equal(open_spec(&d, P("q2.qcow2,id=Q1")), 0);
	assert_int_equal(d->format, DISK_QCOW2);
	assert_int_equal(d->size, SZ_1M);
	assert_memory_equal(d->serial, "Q1\0", 3);
	assert_true(d->can_discard);
	assert_int_equal(byte_at(d, 0), 0);
	write_byte(d, 65536 * 3, 0x44);
	assert_int_equal(byte_at(d, 65536 * 3 + 7), 0x44);
	assert_int_equal(disk_flush(d), 0);
	assert_int_equal(disk_write_zeroes(d, 65536 * 3, 65536, true), 0);
	assert_int_equal(byte_at(d, 65536 * 3 + 7), 0);
	disk_close(d);
}

static void test_snapshot(void **state)
{
	struct disk *d;
	char cmd[512];

	make_raw(P("base.img"), SZ_1M, 0x55);
	setenv("TMPDIR", dir, 1);
	assert_int_equal(open_spec(&d, P("base.img,snapshot")), 0);
	assert_false(d->ro);
	assert_int_equal(d->size, SZ_1M);
	assert_int_equal(byte_at(d, 1000), 0x55);
	write_byte(d, 512, 0x66);
	assert_int_equal(byte_at(d, 513), 0x66);
	assert_int_equal(disk_write_zeroes(d, 65536, 65536, true), 0);
	assert_int_equal(byte_at(d, 65536), 0);
	assert_int_equal(disk_flush(d), 0);
	/* the overlay was unlinked at once */
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls %s | grep lkvm-snapshot)\"",
		 dir);
	assert_int_equal(system(cmd), 0);
	disk_close(d);
	unsetenv("TMPDIR");
	assert_int_equal(file_byte(P("base.img"), 513), 0x55);
	assert_int_equal(file_byte(P("base.img"), 65536), 0x55);

	/* a qcow2 base works too, and stays as it was */
	assert_int_equal(qcow2_create(P("b.qcow2"), SZ_1M, NULL, NULL, err,
				      sizeof(err)), 0);
	assert_int_equal(open_spec(&d, P("b.qcow2,snapshot")), 0);
	write_byte(d, 0, 0x77);
	assert_int_equal(byte_at(d, 0), 0x77);
	disk_close(d);
	assert_int_equal(open_spec(&d, P("b.qcow2,ro")), 0);
	assert_int_equal(byte_at(d, 0), 0);
	disk_close(d);
}

/* O_DIRECT, where the file system has it: unaligned memory is bounced. */
static void test_direct(void **state)
{
	struct disk *d;
	u8 *buf = malloc(8192 + 1);
	struct iovec v = { buf + 1, 4096 };
	int ret;

	make_raw(P("d.img"), SZ_1M, 0x12);
	ret = open_spec(&d, P("d.img,direct"));
	if (ret == -EINVAL) {
		assert_non_null(strstr(err, "O_DIRECT"));
		free(buf);
		skip();
	}
	assert_int_equal(ret, 0);
	assert_true(d->align == 512 || d->align == 4096);
	assert_int_equal(disk_preadv(d, &v, 1, 0), 4096);
	assert_int_equal(buf[1], 0x12);
	memset(buf + 1, 0x34, 4096);
	assert_int_equal(disk_pwritev(d, &v, 1, 8192), 4096);
	assert_int_equal(byte_at(d, 8192 + 4095), 0x34);
	assert_int_equal(disk_write_zeroes(d, 0, 4096, false), 0);
	disk_close(d);
	assert_int_equal(file_byte(P("d.img"), 8192), 0x34);
	assert_int_equal(file_byte(P("d.img"), 100), 0);
	free(buf);
}

/* ---- format= and the guard of a probed-raw image's first sector ---- */

static ssize_t put(struct disk *d, u64 off, const char *bytes, size_t n)
{
	struct iovec v = { (void *)bytes, n };

	return disk_pwritev(d, &v, 1, off);
}

static void test_probe(void **state)
{
	u8 b[DISK_PROBE_LEN] = "QFI\xfb";

	assert_int_equal(disk_probe(b, sizeof(b)), DISK_QCOW2);
	assert_int_equal(disk_probe(b, 4), DISK_QCOW2);
	assert_int_equal(disk_probe(b, 3), DISK_RAW);
	b[3] = 0xfa;
	assert_int_equal(disk_probe(b, sizeof(b)), DISK_RAW);
}

/* Writes of any size and offset are judged on the sector they leave. */
static void test_guard_bytes(void **state)
{
	struct disk *d;
	char *out;

	make_raw(P("g.img"), SZ_64K, 0);
	assert_int_equal(open_spec(&d, P("g.img")), 0);
	assert_true(d->probed_raw);
	capture_start();
	assert_int_equal(put(d, 0, "Q", 1), 1);
	assert_int_equal(put(d, 1, "FI\xfb", 3), -EPERM);	/* merged */
	assert_int_equal(put(d, 1, "FI\xfa", 3), 3);
	assert_int_equal(put(d, 3, "\xfb", 1), -EPERM);
	assert_int_equal(put(d, 0, "xxI\xfb", 4), 4);
	assert_int_equal(put(d, 0, "QF", 2), -EPERM);
	assert_int_equal(put(d, 0, "", 0), 0);
	assert_int_equal(put(d, 4, "QFI\xfb", 4), 4);	/* not at the start */
	assert_int_equal(byte_at(d, 4), 'Q');
	/* zeros never make a magic: every partial zeroing passes */
	assert_int_equal(disk_write_zeroes(d, 0, 2, false), 0);
	assert_int_equal(disk_discard(d, 8, 504), 0);
	out = capture_end();
	assert_int_equal(count_of(out, "lkvm: warning: disk '"), 1);
	free(out);
	disk_close(d);
	assert_int_equal(file_byte(P("g.img"), 0), 0);
	assert_int_equal(file_byte(P("g.img"), 2), 'I');

	/* format=raw: no guard, and the image is raw whatever it holds */
	assert_int_equal(open_spec(&d, P("g.img,format=raw")), 0);
	assert_false(d->probed_raw);
	assert_int_equal(put(d, 0, "QFI\xfb", 4), 4);
	disk_close(d);
	assert_int_equal(open_spec(&d, P("g.img,format=raw,ro")), 0);
	assert_int_equal(d->format, DISK_RAW);
	assert_int_equal(d->size, SZ_64K);
	assert_int_equal(byte_at(d, 3), 0xfb);
	disk_close(d);
	/* probed, it is a (broken) qcow2 image now: refused, untouched */
	assert_true(open_spec(&d, P("g.img")) < 0);
	assert_non_null(strstr(err, "g.img"));
}

/* format=qcow2 is never probed either: a raw file is not taken as raw. */
static void test_format_qcow2(void **state)
{
	struct disk *d;

	make_raw(P("notq.img"), SZ_64K, 0);
	assert_true(open_spec(&d, P("notq.img,format=qcow2")) < 0);
	assert_non_null(strstr(err, "not a qcow2 image"));
	assert_true(open_spec(&d, P("notq.img,format=qcow2,snapshot")) < 0);
	assert_non_null(strstr(err, "not a qcow2 image"));
	assert_int_equal(qcow2_create(P("f.qcow2"), SZ_1M, NULL, NULL, err,
				      sizeof(err)), 0);
	assert_int_equal(open_spec(&d, P("f.qcow2,format=qcow2")), 0);
	assert_int_equal(d->format, DISK_QCOW2);
	assert_false(d->probed_raw);
	assert_int_equal(d->size, SZ_1M);
	disk_close(d);
	/* a qcow2 file opened as raw shows its bytes */
	assert_int_equal(open_spec(&d, P("f.qcow2,format=raw,ro")), 0);
	assert_int_equal(byte_at(d, 0), 'Q');
	disk_close(d);
}

/*
 * Each step of disk_open() that can fail says which disk and why in one
 * line, and leaves no descriptor open on the image behind it.
 */
static void open_fails(const char *arg, const char *img, int ret,
		       const char *why)
{
	struct disk *d = NULL;
	int mode;

	err[0] = '\0';
	assert_int_equal(open_spec(&d, arg), ret);
	assert_null(d);
	assert_non_null(strstr(err, "disk '"));
	assert_non_null(strstr(err, why));
	assert_null(strchr(err, '\n'));
	assert_int_equal(fds_open_on(img, &mode), 0);
}

static void test_open_unwinds(void **state)
{
	char arg[300];
	struct disk *d;

	make_raw(P("u.img"), SZ_64K, 0);
	assert_int_equal(qcow2_create(P("u.qcow2"), SZ_1M, NULL, NULL, err,
				      sizeof(err)), 0);
	/* the lock: the first descriptor of the second open is closed */
	assert_int_equal(open_spec(&d, P("u.img")), 0);
	err[0] = '\0';
	assert_int_equal(open_spec(&d, P("u.img")), -EBUSY);
	assert_non_null(strstr(err, "in use by another process"));
	assert_int_equal(fds_open_on(P("u.img"), &(int){ 0 }), 1);
	disk_close(d);
	/* the format step */
	snprintf(arg, sizeof(arg), "%s,direct", P("u.qcow2"));
	open_fails(arg, P("u.qcow2"), -EINVAL, "raw images without snapshot");
	snprintf(arg, sizeof(arg), "%s,direct,snapshot", P("u.img"));
	open_fails(arg, P("u.img"), -EINVAL, "raw images without snapshot");
	/* qcow2, raw and snapshot opens */
	snprintf(arg, sizeof(arg), "%s,format=qcow2", P("u.img"));
	open_fails(arg, P("u.img"), -EINVAL, "not a qcow2 image");
	snprintf(arg, sizeof(arg), "%s,ro", dir);	/* rw: EISDIR */
	open_fails(arg, dir, -EINVAL, "not a regular file or block device");
	setenv("TMPDIR", P("no-such-dir"), 1);
	snprintf(arg, sizeof(arg), "%s,snapshot", P("u.img"));
	assert_true(open_spec(&d, arg) < 0);
	assert_non_null(strstr(err, "cannot create the snapshot overlay in"));
	assert_int_equal(fds_open_on(P("u.img"), &(int){ 0 }), 0);
	unsetenv("TMPDIR");
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/lkvm-test-disk-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_ro),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_qcow2),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_guard_bytes),
		cmocka_unit_test(test_format_qcow2),
		cmocka_unit_test(test_open_unwinds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
