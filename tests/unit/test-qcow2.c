// SPDX-License-Identifier: GPL-2.0
/*
 * disk/qcow2.c against QEMU: images made by qemu-img/qemu-io are read
 * back, images written by us are judged by `qemu-img check` and
 * `qemu-img compare` against a raw reference that got the same writes.
 * qemu-utils is a test dependency (make deps); without it the tests skip.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/qcow2.h"
#include "fds.h"

static char dir[64];

/* A path in the test directory (a few rotating buffers). */
static const char *P(const char *name)
{
	static char bufs[8][256];
	static int n;
	char *b = bufs[n++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* Run a shell command in the test directory; returns its exit status. */
static int __printf(1, 2) sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n, st;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static bool have_qemu;

static int setup(void **state)
{
	strcpy(dir, "/tmp/lkvm-qcow2-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	have_qemu = sh("qemu-img --version >/dev/null 2>&1 && "
		       "qemu-io --version >/dev/null 2>&1") == 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static int reset_dir(void **state)
{
	return sh("rm -rf ./*");
}

/* qemu-utils is a dependency (make deps); skip loudly without it. */
#define NEED_QEMU() do {						\
	if (!have_qemu) {						\
		fprintf(stderr, "qemu-img/qemu-io missing: install qemu-utils\n"); \
		skip();							\
	}								\
} while (0)

static u64 rnd_state;

static u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static struct qcow2 *qopen(const char *name, unsigned int flags)
{
	struct qcow2 *q = NULL;
	char err[256];
	int fd = open(P(name), (flags & QCOW2_RDONLY) ? O_RDONLY : O_RDWR);

	assert_true(fd >= 0);
	if (qcow2_open(&q, P(name), fd, flags, err, sizeof(err))) {
		fprintf(stderr, "open %s: %s\n", name, err);
		fail();
	}
	return q;
}

/* Open must fail with @needle in the message; returns the error. */
static int qopen_fails(const char *name, unsigned int flags, const char *needle)
{
	struct qcow2 *q = NULL;
	char err[256] = "";
	int fd = open(P(name), (flags & QCOW2_RDONLY) ? O_RDONLY : O_RDWR), ret;

	assert_true(fd >= 0);
	ret = qcow2_open(&q, P(name), fd, flags, err, sizeof(err));
	close(fd);
	if (!ret || !strstr(err, needle)) {
		fprintf(stderr, "%s: ret %d, message '%s', wanted '%s'\n", name, ret, err,
			needle);
		fail();
	}
	return ret;
}

static u8 *slurp(const char *name, size_t *len)
{
	void *buf;

	assert_int_equal(read_file(P(name), &buf, len), 0);
	return buf;
}

/* @name still holds the @len bytes of @before (which is freed). */
static void assert_unchanged(const char *name, u8 *before, size_t len)
{
	size_t l;
	u8 *now = slurp(name, &l);

	assert_int_equal(l, len);
	assert_memory_equal(now, before, len);
	free(now);
	free(before);
}

/* Our view of the whole disk equals qemu-img's raw conversion. */
static void assert_reads_like_qemu(const char *name)
{
	struct qcow2 *q = qopen(name, QCOW2_RDONLY);
	size_t len;
	u8 *ref, *buf;
	struct iovec iov[3];
	u64 size = qcow2_size(q), a = size / 3, b = size / 7;

	assert_int_equal(sh("qemu-img convert -O raw '%s' qemu-view.raw", name), 0);
	ref = slurp("qemu-view.raw", &len);
	assert_int_equal(len, size);
	buf = malloc(size ? size : 1);
	/* Odd split, to exercise the iovec handling. */
	iov[0] = (struct iovec) { buf, a };
	iov[1] = (struct iovec) { buf + a, b };
	iov[2] = (struct iovec) { buf + a + b, size - a - b };
	assert_int_equal(qcow2_preadv(q, iov, 3, 0), size);
	assert_memory_equal(buf, ref, size);
	free(buf);
	free(ref);
	qcow2_close(q);
}

/* `qemu-img check`: 0 = clean, 3 = leaks only, 2 = corruption. */
static int check(const char *name)
{
	return sh("qemu-img check -q '%s' >/dev/null 2>&1", name);
}

static void assert_clean_and_equal(const char *name, const char *raw)
{
	if (check(name)) {
		sh("qemu-img check '%s'", name);
		fail();
	}
	assert_int_equal(sh("qemu-img compare -q -F raw '%s' '%s'", name, raw), 0);
}

static void qwrite(struct qcow2 *q, int ref, u64 off, const u8 *buf, size_t len)
{
	struct iovec iov[2] = {
		{ (void *)buf, len / 2 },
		{ (void *)(buf + len / 2), len - len / 2 },
	};

	assert_int_equal(qcow2_pwritev(q, iov, 2, off), len);
	assert_int_equal(pwrite(ref, buf, len, off), len);
}

/*
 * Random writes (aligned and not), write-zeroes and discards through @q,
 * mirrored in the raw reference @ref. Discards zero whole clusters only,
 * and do nothing on v2 images with a backing file.
 */
static void random_ops(struct qcow2 *q, int ref, int ops, u64 maxlen, u64 cs,
		       bool discard_zeroes)
{
	u64 size = qcow2_size(q);
	u8 *buf = malloc(maxlen), *chk = malloc(maxlen);
	int i;

	for (i = 0; i < ops; i++) {
		u64 len = 1 + rnd() % maxlen, off, kind = rnd() % 10;
		struct iovec v = { chk, 0 };

		if (rnd() % 2)
			len = ALIGN_UP(len, cs) > maxlen ? cs : ALIGN_UP(len, cs);
		len = MIN(len, size);
		off = rnd() % (size - len + 1);
		if (rnd() % 2)
			off = MIN(ALIGN_DOWN(off, cs), size - len);
		if (kind < 7) {
			memset(buf, rnd(), len);
			buf[0] = rnd();
			buf[len - 1] = rnd();
			qwrite(q, ref, off, buf, len);
		} else if (kind < 9) {
			memset(buf, 0, len);
			assert_int_equal(qcow2_write_zeroes(q, off, len), 0);
			assert_int_equal(pwrite(ref, buf, len, off), len);
		} else {
			u64 s = ALIGN_UP(off, cs), e = ALIGN_DOWN(off + len, cs);

			assert_int_equal(qcow2_discard(q, off, len), 0);
			memset(buf, 0, maxlen);
			if (discard_zeroes && e > s)
				assert_int_equal(pwrite(ref, buf, e - s, s), e - s);
		}
		/* Read back what we just did. */
		v.iov_len = len;
		assert_int_equal(qcow2_preadv(q, &v, 1, off), len);
		assert_int_equal(pread(ref, buf, len, off), len);
		assert_memory_equal(chk, buf, len);
	}
	free(buf);
	free(chk);
}

static int make_ref(const char *img, const char *raw)
{
	int fd;

	assert_int_equal(sh("qemu-img convert -O raw '%s' '%s'", img, raw), 0);
	fd = open(P(raw), O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

/* Write to @img, then check it and compare it with the reference. */
static void write_test(const char *img, int ops, u64 maxlen, u64 cs, bool discard_zeroes)
{
	int ref = make_ref(img, "ref.raw");
	struct qcow2 *q = qopen(img, 0);

	random_ops(q, ref, ops, maxlen, cs, discard_zeroes);
	assert_int_equal(qcow2_flush(q), 0);
	qcow2_close(q);
	close(ref);
	assert_clean_and_equal(img, "ref.raw");
	assert_reads_like_qemu(img);
}

static const char *patterns =
	"-c 'write -P 0xab 0 64k' -c 'write -P 0xcd 100k 10k' "
	"-c 'write -P 0x11 1M 4k' -c 'write -z 1M 512' -c 'write -P 0x5a 4095k 1k'";

/* ---- tests ---- */

static void test_probe(void **state)
{
	const u8 good[] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	const u8 bad[] = { 'Q', 'F', 'I', 0xfa };

	assert_true(qcow2_probe(good, sizeof(good)));
	assert_false(qcow2_probe(bad, sizeof(bad)));
	assert_false(qcow2_probe(good, 3));
}

static void test_read_v3(void **state)
{
	NEED_QEMU();
	assert_int_equal(sh("qemu-img create -q -f qcow2 a.qcow2 4M"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 %s a.qcow2 >/dev/null", patterns), 0);
	assert_reads_like_qemu("a.qcow2");
}

static void test_read_v2(void **state)
{
	NEED_QEMU();
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o compat=0.10 a.qcow2 4M"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 %s a.qcow2 >/dev/null", patterns), 0);
	assert_reads_like_qemu("a.qcow2");
}

/* A raw file with random, patterned and zero stretches. */
static void make_raw(const char *name, u64 size, u64 seed)
{
	u8 *buf = calloc(1, size);
	u64 i;
	int fd;

	rnd_state = seed;
	for (i = 0; i < size; i += 4096) {
		u64 kind = rnd() % 4, j;

		for (j = i; j < MIN(size, i + 4096); j++)
			buf[j] = kind == 0 ? 0 : kind == 1 ? (u8)rnd() : (u8)(j >> 9) ^ (u8)kind;
	}
	fd = open(P(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), size);
	close(fd);
	free(buf);
}

static void test_read_compressed(void **state)
{
	NEED_QEMU();
	make_raw("src.raw", 3 * SZ_1M + 4096, 1);
	assert_int_equal(sh("qemu-img convert -c -O qcow2 src.raw c3.qcow2"), 0);
	assert_int_equal(sh("qemu-img convert -c -O qcow2 -o compat=0.10,cluster_size=4096 "
			    "src.raw c2.qcow2"), 0);
	assert_int_equal(sh("qemu-img convert -c -O qcow2 -o cluster_size=2M src.raw "
			    "cbig.qcow2"), 0);
	assert_reads_like_qemu("c3.qcow2");
	assert_reads_like_qemu("c2.qcow2");
	assert_reads_like_qemu("cbig.qcow2");
}

static void test_write_v3(void **state)
{
	NEED_QEMU();
	rnd_state = 42;
	assert_int_equal(sh("qemu-img create -q -f qcow2 a.qcow2 8M"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 %s a.qcow2 >/dev/null", patterns), 0);
	write_test("a.qcow2", 300, 200 * 1024, SZ_64K, true);
}

static void test_write_v2(void **state)
{
	NEED_QEMU();
	rnd_state = 43;
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o compat=0.10 a.qcow2 8M"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 %s a.qcow2 >/dev/null", patterns), 0);
	write_test("a.qcow2", 300, 200 * 1024, SZ_64K, true);
}

static void test_write_compressed(void **state)
{
	NEED_QEMU();
	rnd_state = 44;
	make_raw("src.raw", 4 * SZ_1M, 2);
	assert_int_equal(sh("qemu-img convert -c -O qcow2 -o cluster_size=4096 src.raw "
			    "c.qcow2"), 0);
	write_test("c.qcow2", 300, 20 * 1024, 4096, true);
}

static void test_write_small_clusters_grow_reftable(void **state)
{
	u8 hdr[64], hdr2[64], *buf = malloc(SZ_1M);
	struct qcow2 *q;
	int ref, fd;
	u64 i;

	NEED_QEMU();
	rnd_state = 45;
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=512 a.qcow2 24M"), 0);
	fd = open(P("a.qcow2"), O_RDONLY);
	assert_int_equal(pread(fd, hdr, 64, 0), 64);
	ref = make_ref("a.qcow2", "ref.raw");
	q = qopen("a.qcow2", 0);
	/* 20 MiB of data: more than one refcount table cluster covers (8 MiB). */
	for (i = 0; i < 20; i++) {
		memset(buf, i + 1, SZ_1M);
		qwrite(q, ref, i * SZ_1M + 1000, buf, SZ_1M - 2000);
	}
	random_ops(q, ref, 200, 5000, 512, true);
	qcow2_close(q);
	close(ref);
	assert_int_equal(pread(fd, hdr2, 64, 0), 64);
	close(fd);
	/* refcount_table_clusters (offset 56) must have grown. */
	assert_true(be32toh(*(u32 *)(hdr2 + 56)) > be32toh(*(u32 *)(hdr + 56)));
	assert_clean_and_equal("a.qcow2", "ref.raw");
	free(buf);
}

static void test_write_refcount_orders(void **state)
{
	static const int bits[] = { 1, 2, 4, 8, 32, 64 };
	unsigned int i;

	NEED_QEMU();
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		rnd_state = 46 + i;
		sh("rm -f a.qcow2");
		assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4096,"
				    "refcount_bits=%d a.qcow2 6M", bits[i]), 0);
		write_test("a.qcow2", 100, 20000, 4096, true);
	}
}

static void test_write_big_clusters(void **state)
{
	NEED_QEMU();
	rnd_state = 47;
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=2M a.qcow2 9M"), 0);
	write_test("a.qcow2", 60, 3 * SZ_1M, SZ_2M, true);
}

static void test_raw_backing(void **state)
{
	size_t l1, l2;
	u8 *before, *after;

	NEED_QEMU();
	rnd_state = 48;
	make_raw("base.raw", 5 * SZ_1M, 3);
	before = slurp("base.raw", &l1);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b base.raw -F raw ov.qcow2"), 0);
	assert_reads_like_qemu("ov.qcow2");
	write_test("ov.qcow2", 200, 150000, SZ_64K, true);
	after = slurp("base.raw", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1);
	free(before);
	free(after);

	/* v2 overlay: discard must leave the backing data visible. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw "
			    "ov2.qcow2"), 0);
	write_test("ov2.qcow2", 200, 150000, SZ_64K, false);
}

/* base.qcow2 <- mid.qcow2 <- top.qcow2, relative names, compressed base. */
static void test_qcow2_chain(void **state)
{
	NEED_QEMU();
	rnd_state = 49;
	make_raw("src.raw", 6 * SZ_1M, 4);
	assert_int_equal(sh("qemu-img convert -c -O qcow2 src.raw base.qcow2"), 0);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 8M"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 %s mid.qcow2 >/dev/null", patterns), 0);
	assert_int_equal(sh("mkdir sub && qemu-img create -q -f qcow2 -b ../mid.qcow2 "
			    "-F qcow2 sub/top.qcow2"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 -c 'write -P 0x77 3M 100k' sub/top.qcow2 "
			    ">/dev/null"), 0);
	assert_int_equal(sh("md5sum base.qcow2 mid.qcow2 > sums"), 0);
	assert_reads_like_qemu("sub/top.qcow2");
	write_test("sub/top.qcow2", 200, 150000, SZ_64K, true);
	assert_int_equal(sh("md5sum -c --quiet sums"), 0);
}

static void test_snapshots(void **state)
{
	NEED_QEMU();
	rnd_state = 50;
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 a.qcow2 4M"), 0);
	assert_int_equal(sh("qemu-io -f qcow2 %s a.qcow2 >/dev/null", patterns), 0);
	assert_int_equal(sh("qemu-img convert -O raw a.qcow2 snap.raw"), 0);
	assert_int_equal(sh("qemu-img snapshot -c s1 a.qcow2"), 0);
	write_test("a.qcow2", 200, 20000, 4096, true);
	/* The snapshot still holds the old data. */
	assert_int_equal(sh("qemu-img snapshot -a s1 a.qcow2"), 0);
	assert_clean_and_equal("a.qcow2", "snap.raw");
}

static void test_create(void **state)
{
	char err[256];
	int ret;

	NEED_QEMU();
	rnd_state = 51;
	assert_int_equal(qcow2_create(P("n.qcow2"), 10 * SZ_1M + 512, NULL, NULL, err,
				      sizeof(err)), 0);
	assert_int_equal(check("n.qcow2"), 0);
	assert_int_equal(sh("qemu-img info n.qcow2 | grep -q 'compat: 1.1'"), 0);
	write_test("n.qcow2", 200, 150000, SZ_64K, true);
	/* Never clobbers an existing file. */
	ret = qcow2_create(P("n.qcow2"), SZ_1M, NULL, NULL, err, sizeof(err));
	assert_int_equal(ret, -EEXIST);

	/* Overlays: size from the backing file, format given or probed. */
	make_raw("base.raw", 3 * SZ_1M, 5);
	assert_int_equal(qcow2_create(P("o1.qcow2"), 0, "base.raw", "raw", err,
				      sizeof(err)), 0);
	assert_int_equal(sh("qemu-img convert -O qcow2 base.raw base.qcow2"), 0);
	assert_int_equal(qcow2_create(P("o2.qcow2"), 0, "base.qcow2", NULL, err,
				      sizeof(err)), 0);
	assert_int_equal(sh("qemu-img info o2.qcow2 | grep -q 'backing file format: qcow2'"), 0);
	assert_int_equal(sh("qemu-img compare -q o1.qcow2 base.raw"), 0);
	assert_int_equal(sh("qemu-img compare -q o2.qcow2 base.raw"), 0);
	write_test("o1.qcow2", 100, 150000, SZ_64K, true);
	write_test("o2.qcow2", 100, 150000, SZ_64K, true);
	assert_int_equal(sh("qemu-img compare -q base.qcow2 base.raw"), 0);

	ret = qcow2_create(P("o3.qcow2"), 0, "missing.raw", NULL, err, sizeof(err));
	assert_true(ret < 0);
	assert_non_null(strstr(err, "missing.raw"));
	assert_int_equal(access(P("o3.qcow2"), F_OK), -1);
}

/* ---- corrupt and unsupported images ---- */

static void poke(const char *name, u64 off, const void *data, size_t len)
{
	int fd = open(P(name), O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, off), len);
	close(fd);
}

static void poke32(const char *name, u64 off, u32 v)
{
	v = htobe32(v);
	poke(name, off, &v, 4);
}

static void poke64(const char *name, u64 off, u64 v)
{
	v = htobe64(v);
	poke(name, off, &v, 8);
}

/* Open read-write and read-only must both fail, leaving the file as it was. */
static void refused(const char *name, const char *needle)
{
	size_t l1;
	u8 *a = slurp(name, &l1);

	qopen_fails(name, 0, needle);
	qopen_fails(name, QCOW2_RDONLY, needle);
	assert_unchanged(name, a, l1);
}

static void fresh(const char *name)
{
	sh("rm -f %s", name);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 4M", name), 0);
	assert_int_equal(sh("qemu-io -f qcow2 -c 'write -P 1 0 64k' %s >/dev/null", name), 0);
}

static void test_corrupt(void **state)
{
	NEED_QEMU();
	fresh("x.qcow2");
	assert_int_equal(truncate(P("x.qcow2"), 50), 0);
	refused("x.qcow2", "truncated");

	fresh("x.qcow2");
	assert_int_equal(truncate(P("x.qcow2"), 90), 0);
	refused("x.qcow2", "truncated");

	fresh("x.qcow2");
	poke64("x.qcow2", 40, 1ULL << 40);			/* l1_table_offset */
	refused("x.qcow2", "L1 table");

	fresh("x.qcow2");
	poke32("x.qcow2", 36, 0xffffffff);			/* l1_size */
	refused("x.qcow2", "l1_size");

	fresh("x.qcow2");
	poke32("x.qcow2", 36, 0);				/* too small for 4M */
	refused("x.qcow2", "l1_size");

	fresh("x.qcow2");
	poke32("x.qcow2", 20, 30);				/* cluster_bits */
	refused("x.qcow2", "cluster_bits");

	fresh("x.qcow2");
	poke32("x.qcow2", 20, 8);
	refused("x.qcow2", "cluster_bits");

	fresh("x.qcow2");
	poke64("x.qcow2", 24, 1ULL << 63);			/* size */
	refused("x.qcow2", "size");

	fresh("x.qcow2");
	poke64("x.qcow2", 48, 0x1234);				/* refcount table */
	refused("x.qcow2", "refcount table");

	fresh("x.qcow2");
	poke32("x.qcow2", 56, 100000);
	refused("x.qcow2", "refcount table");

	fresh("x.qcow2");
	poke64("x.qcow2", 72, 1ULL << 40);			/* incompatible bit 40 */
	refused("x.qcow2", "bit 40");

	fresh("x.qcow2");
	poke32("x.qcow2", 32, 1);				/* crypt_method AES */
	refused("x.qcow2", "encrypted");

	fresh("x.qcow2");
	poke64("x.qcow2", 72, 1ULL << 4);
	refused("x.qcow2", "extended L2");

	fresh("x.qcow2");
	poke64("x.qcow2", 72, 1ULL << 2);
	refused("x.qcow2", "external data file");

	fresh("x.qcow2");
	poke32("x.qcow2", 96, 7);				/* refcount_order */
	refused("x.qcow2", "refcount_order");

	fresh("x.qcow2");
	poke32("x.qcow2", 4, 4);				/* version */
	refused("x.qcow2", "version 4");

	fresh("x.qcow2");
	poke32("x.qcow2", 0, 0x12345678);
	refused("x.qcow2", "not a qcow2");

	fresh("x.qcow2");
	poke32("x.qcow2", 100, 0x100000);			/* header_length */
	refused("x.qcow2", "header_length");

	/* Dirty and corrupt images open read-only only. */
	fresh("x.qcow2");
	poke64("x.qcow2", 72, 1ULL << 0);
	qopen_fails("x.qcow2", 0, "dirty");
	qcow2_close(qopen("x.qcow2", QCOW2_RDONLY));
	poke64("x.qcow2", 72, 1ULL << 1);
	qopen_fails("x.qcow2", 0, "corrupt");
	qcow2_close(qopen("x.qcow2", QCOW2_RDONLY));
}

static void test_corrupt_tables(void **state)
{
	u8 buf[4096];
	struct iovec v = { buf, sizeof(buf) };
	struct qcow2 *q;
	u64 l1, l2;
	int fd;

	NEED_QEMU();
	/* An L2 table beyond the end of the file: reads fail, no crash. */
	fresh("x.qcow2");
	fd = open(P("x.qcow2"), O_RDONLY);
	assert_int_equal(pread(fd, &l1, 8, 40), 8);
	close(fd);
	l1 = be64toh(l1);
	poke64("x.qcow2", l1, (1ULL << 40) | (1ULL << 63));
	q = qopen("x.qcow2", QCOW2_RDONLY);
	assert_int_equal(qcow2_preadv(q, &v, 1, 0), -EIO);
	qcow2_close(q);

	/* A misaligned data cluster. */
	fresh("x.qcow2");
	fd = open(P("x.qcow2"), O_RDONLY);
	assert_int_equal(pread(fd, &l2, 8, l1), 8);
	close(fd);
	l2 = be64toh(l2) & 0x00fffffffffffe00ULL;
	poke64("x.qcow2", l2, 0x10200 | (1ULL << 63));
	q = qopen("x.qcow2", QCOW2_RDONLY);
	assert_int_equal(qcow2_preadv(q, &v, 1, 0), -EIO);
	qcow2_close(q);

	/* A data cluster over the L1 table: writes refused, table intact. */
	fresh("x.qcow2");
	poke64("x.qcow2", l2, l1 | (1ULL << 63));
	{
		size_t l1a;
		u8 *a = slurp("x.qcow2", &l1a);

		q = qopen("x.qcow2", 0);
		assert_int_equal(qcow2_pwritev(q, &v, 1, 0), -EIO);
		qcow2_close(q);
		assert_unchanged("x.qcow2", a, l1a);
	}

	/* Out-of-range requests. */
	fresh("x.qcow2");
	q = qopen("x.qcow2", 0);
	assert_int_equal(qcow2_preadv(q, &v, 1, 4 * SZ_1M - 100), -EINVAL);
	assert_int_equal(qcow2_pwritev(q, &v, 1, ~0ULL - 10), -EINVAL);
	/* a negative count is refused before any entry is looked at */
	assert_int_equal(qcow2_preadv(q, NULL, -1, 0), -EINVAL);
	assert_int_equal(qcow2_pwritev(q, NULL, -1, 0), -EINVAL);
	qcow2_close(q);
	q = qopen("x.qcow2", QCOW2_RDONLY);
	assert_int_equal(qcow2_pwritev(q, &v, 1, 0), -EROFS);
	qcow2_close(q);
}

static void test_backing_errors(void **state)
{
	char name[32];
	int i;

	NEED_QEMU();
	/* A -> B -> A */
	assert_int_equal(sh("qemu-img create -q -f qcow2 b.qcow2 1M && "
			    "qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 a.qcow2 && "
			    "qemu-img rebase -u -b a.qcow2 -F qcow2 b.qcow2"), 0);
	refused("a.qcow2", "loop");
	/* A -> A */
	assert_int_equal(sh("qemu-img create -q -f qcow2 s.qcow2 1M && "
			    "qemu-img rebase -u -b s.qcow2 -F qcow2 s.qcow2"), 0);
	refused("s.qcow2", "loop");
	/* Missing backing file, unsupported backing format. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 m.qcow2 1M && "
			    "qemu-img rebase -u -b nothere.raw -F raw m.qcow2"), 0);
	refused("m.qcow2", "nothere.raw");
	assert_int_equal(sh("qemu-img create -q -f vmdk v.vmdk 1M && "
			    "qemu-img create -q -f qcow2 -b v.vmdk -F vmdk f.qcow2"), 0);
	refused("f.qcow2", "vmdk");
	/* Backing files are refused on request. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 nb.qcow2 1M && "
			    "qemu-img create -q -f qcow2 -b nb.qcow2 -F qcow2 n.qcow2"), 0);
	qopen_fails("n.qcow2", QCOW2_NO_BACKING, "backing");
	/* Chains longer than QCOW2_MAX_CHAIN. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 c0.qcow2 1M"), 0);
	for (i = 1; i <= QCOW2_MAX_CHAIN; i++)
		assert_int_equal(sh("qemu-img create -q -f qcow2 -b c%d.qcow2 -F qcow2 "
				    "c%d.qcow2", i - 1, i), 0);
	snprintf(name, sizeof(name), "c%d.qcow2", QCOW2_MAX_CHAIN - 1);
	qcow2_close(qopen(name, 0));
	snprintf(name, sizeof(name), "c%d.qcow2", QCOW2_MAX_CHAIN);
	refused(name, "backing chain deeper than 16 images");
}

/*
 * Without qemu: every image below the top is opened O_RDONLY (a writable
 * top included), the backing format extension is obeyed, and a chain of
 * QCOW2_MAX_CHAIN images opens while one more is refused.
 */
static void test_backing_readonly_depth(void **state)
{
	char err[256], name[32], prev[32];
	static u8 big[SZ_64K];
	struct iovec v = { big, sizeof(big) };
	struct qcow2 *q;
	int i, mode = -1;
	size_t l1;
	u8 *a;

	make_raw("base.raw", SZ_1M, 60);
	assert_int_equal(qcow2_create(P("mid.qcow2"), 0, "base.raw", "raw", err,
				      sizeof(err)), 0);
	assert_int_equal(qcow2_create(P("top.qcow2"), 0, "mid.qcow2", "qcow2", err,
				      sizeof(err)), 0);
	a = slurp("mid.qcow2", &l1);
	q = qopen("top.qcow2", 0);
	assert_int_equal(fds_open_on(P("top.qcow2"), &mode), 1);
	assert_int_equal(mode, O_RDWR);
	assert_int_equal(fds_open_on(P("mid.qcow2"), &mode), 1);
	assert_int_equal(mode, O_RDONLY);
	assert_int_equal(fds_open_on(P("base.raw"), &mode), 1);
	assert_int_equal(mode, O_RDONLY);
	memset(big, 0x5c, sizeof(big));
	assert_int_equal(qcow2_pwritev(q, &v, 1, 0), sizeof(big));
	qcow2_close(q);
	assert_unchanged("mid.qcow2", a, l1);

	/* "raw" in the extension: a qcow2 backing file is read as bytes */
	assert_int_equal(qcow2_create(P("asraw.qcow2"), SZ_1M, "mid.qcow2", "raw",
				      err, sizeof(err)), 0);
	q = qopen("asraw.qcow2", QCOW2_RDONLY);
	assert_int_equal(qcow2_preadv(q, &v, 1, 0), sizeof(big));
	assert_memory_equal(big, "QFI\xfb", 4);
	qcow2_close(q);

	/* c1 (on base.raw) ... c15: 16 images; c16 is one too many */
	strcpy(prev, "base.raw");
	for (i = 1; i <= QCOW2_MAX_CHAIN; i++) {
		snprintf(name, sizeof(name), "c%d.qcow2", i);
		assert_int_equal(qcow2_create(P(name), 0, prev, i == 1 ? "raw" : "qcow2",
					      err, sizeof(err)), 0);
		strcpy(prev, name);
	}
	qcow2_close(qopen("c15.qcow2", 0));
	refused("c16.qcow2", "base.raw: backing chain deeper than 16 images");
	assert_int_equal(qcow2_create(P("c17.qcow2"), 0, "c16.qcow2", "qcow2", err,
				      sizeof(err)), -ELOOP);
}

/* ---- crash consistency ---- */

#define CRASH_SECTORS	(2 * 1024)	/* a 1 MiB disk */

struct rec {
	u32 sector, count;
	u8 pat;
	u8 done;
};

/* Child: write, flush, report, forever, until killed. */
static void __noreturn crash_child(int wfd, u64 seed)
{
	struct qcow2 *q = qopen("crash.qcow2", 0);
	u8 buf[16 * 512];

	rnd_state = seed;
	for (;;) {
		struct rec r = { .sector = rnd() % CRASH_SECTORS, .pat = rnd() | 1 };
		struct iovec v = { buf, 0 };

		r.count = 1 + rnd() % MIN(16, CRASH_SECTORS - r.sector);
		if (rnd() % 4 == 0)
			r.pat = 0;
		v.iov_len = r.count * 512;
		memset(buf, r.pat, v.iov_len);
		if (write(wfd, &r, sizeof(r)) != sizeof(r))
			_exit(1);
		if ((r.pat ? qcow2_pwritev(q, &v, 1, r.sector * 512ULL) :
		     qcow2_write_zeroes(q, r.sector * 512ULL, v.iov_len)) < 0)
			_exit(2);
		if (qcow2_flush(q))
			_exit(3);
		r.done = 1;
		if (write(wfd, &r, sizeof(r)) != sizeof(r))
			_exit(4);
	}
}

static void test_crash(void **state)
{
	static u8 expect[CRASH_SECTORS], newpat[CRASH_SECTORS];
	static bool inflight[CRASH_SECTORS];
	u8 sec[512];
	int it, st, s, fd;

	NEED_QEMU();
	/* A backing file of uniform sectors, so partial writes copy on write. */
	fd = open(P("cbase.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (s = 0; s < CRASH_SECTORS; s++) {
		expect[s] = s * 2 + 1;
		memset(sec, expect[s], sizeof(sec));
		assert_int_equal(write(fd, sec, sizeof(sec)), sizeof(sec));
	}
	close(fd);
	/* Small clusters so that crashes hit refcount block allocation too. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=1024 "
			    "-b cbase.raw -F raw crash.qcow2"), 0);
	rnd_state = 99;
	for (it = 0; it < 25; it++) {
		struct qcow2 *q;
		struct rec r;
		int fds[2];
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			close(fds[0]);
			crash_child(fds[1], rnd() + it);
		}
		close(fds[1]);
		usleep(2000 + rnd() % 40000);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		assert_true(WIFSIGNALED(st));
		memset(inflight, 0, sizeof(inflight));
		while (read(fds[0], &r, sizeof(r)) == sizeof(r)) {
			for (s = r.sector; s < (int)(r.sector + r.count); s++) {
				if (r.done)
					expect[s] = r.pat;
				inflight[s] = !r.done;
				newpat[s] = r.pat;
			}
		}
		close(fds[0]);

		st = check("crash.qcow2");
		if (st != 0 && st != 3) {
			sh("qemu-img check crash.qcow2");
			fail();
		}
		/* Flushed writes survived; in-flight ones are old or new. */
		q = qopen("crash.qcow2", QCOW2_RDONLY);
		for (s = 0; s < CRASH_SECTORS; s++) {
			struct iovec v = { sec, 512 };
			int i;

			assert_int_equal(qcow2_preadv(q, &v, 1, s * 512ULL), 512);
			for (i = 1; i < 512; i++)
				assert_int_equal(sec[i], sec[0]);
			if (sec[0] != expect[s]) {
				assert_true(inflight[s]);
				assert_int_equal(sec[0], newpat[s]);
			}
			expect[s] = sec[0];
		}
		qcow2_close(q);
	}
	/* Leaks are repairable and nothing else is wrong. */
	assert_int_equal(sh("qemu-img check -q -r leaks crash.qcow2 >/dev/null 2>&1"), 0);
	assert_int_equal(check("crash.qcow2"), 0);
}

/* ---- threads ---- */

struct thr {
	struct qcow2 *q;
	int id;
};

#define THREADS		4
#define THR_CLUSTERS	64

static void *thread_fn(void *arg)
{
	struct thr *t = arg;
	u8 buf[4096], chk[4096];
	int round, j;

	for (round = 0; round < 3; round++) {
		for (j = t->id; j < THR_CLUSTERS; j += THREADS) {
			struct iovec v = { buf, sizeof(buf) }, c = { chk, sizeof(chk) };
			u64 off = (u64)j * 4096 + (round == 1 ? 1000 : 0);

			memset(buf, j + round, sizeof(buf));
			v.iov_len = round == 1 ? 2000 : 4096;
			c.iov_len = v.iov_len;
			if (qcow2_pwritev(t->q, &v, 1, off) != (ssize_t)v.iov_len ||
			    qcow2_preadv(t->q, &c, 1, off) != (ssize_t)c.iov_len ||
			    memcmp(buf, chk, c.iov_len))
				return (void *)1;
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct thr t[THREADS];
	pthread_t th[THREADS];
	struct qcow2 *q;
	u8 buf[4096];
	int i, ref;
	void *r;

	NEED_QEMU();
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 a.qcow2 1M"), 0);
	q = qopen("a.qcow2", 0);
	for (i = 0; i < THREADS; i++) {
		t[i] = (struct thr) { .q = q, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, thread_fn, &t[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_null(r);
	}
	qcow2_close(q);
	ref = open(P("ref.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(ftruncate(ref, SZ_1M), 0);
	for (i = 0; i < THR_CLUSTERS; i++) {
		memset(buf, i + 2, sizeof(buf));
		assert_int_equal(pwrite(ref, buf, 4096, i * 4096), 4096);
	}
	close(ref);
	assert_clean_and_equal("a.qcow2", "ref.raw");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test_setup(test_read_v3, reset_dir),
		cmocka_unit_test_setup(test_read_v2, reset_dir),
		cmocka_unit_test_setup(test_read_compressed, reset_dir),
		cmocka_unit_test_setup(test_write_v3, reset_dir),
		cmocka_unit_test_setup(test_write_v2, reset_dir),
		cmocka_unit_test_setup(test_write_compressed, reset_dir),
		cmocka_unit_test_setup(test_write_small_clusters_grow_reftable, reset_dir),
		cmocka_unit_test_setup(test_write_refcount_orders, reset_dir),
		cmocka_unit_test_setup(test_write_big_clusters, reset_dir),
		cmocka_unit_test_setup(test_raw_backing, reset_dir),
		cmocka_unit_test_setup(test_qcow2_chain, reset_dir),
		cmocka_unit_test_setup(test_backing_readonly_depth, reset_dir),
		cmocka_unit_test_setup(test_snapshots, reset_dir),
		cmocka_unit_test_setup(test_create, reset_dir),
		cmocka_unit_test_setup(test_corrupt, reset_dir),
		cmocka_unit_test_setup(test_corrupt_tables, reset_dir),
		cmocka_unit_test_setup(test_backing_errors, reset_dir),
		cmocka_unit_test_setup(test_crash, reset_dir),
		cmocka_unit_test_setup(test_threads, reset_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
