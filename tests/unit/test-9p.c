// SPDX-License-Identifier: GPL-2.0
/*
 * fs/9p.c against a temporary export tree, through a tiny client-side
 * message builder. With LKVM_9P_CORPUS=DIR set, every test also writes
 * the T-messages it sent to DIR/<test> in the input format of
 * tests/fuzz/fuzz-9p.c: that is how tests/fuzz/corpus/9p/ is made.
 *
 * The tree (made afresh for every test):
 *	TOP/outside/secret		must stay out of reach
 *	TOP/export/file.txt		"hello, world\n"
 *	TOP/export/dir/sub.txt		"sub\n"
 *	TOP/export/abs_link -> /
 *	TOP/export/up_link -> ../../etc
 *	TOP/export/out_link -> ../outside
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/9p.h"
#include "lkvm/util.h"

enum {
	RLERROR = 7, TSTATFS = 8, TLOPEN = 12, TLCREATE = 14, TSYMLINK = 16,
	TMKNOD = 18, TRENAME = 20, TREADLINK = 22, TGETATTR = 24,
	TSETATTR = 26, TXATTRWALK = 30, TXATTRCREATE = 32, TREADDIR = 40,
	TFSYNC = 50, TLOCK = 52, TGETLOCK = 54, TLINK = 70, TMKDIR = 72,
	TRENAMEAT = 74, TUNLINKAT = 76, TVERSION = 100, TAUTH = 102,
	TATTACH = 104, TFLUSH = 108, TWALK = 110, TOPEN = 112, TREAD = 116,
	TWRITE = 118, TCLUNK = 120, TREMOVE = 122,
};

#define NOFID		0xffffffffu
#define ROOT		1		/* the fid we attach */
#define QTDIR		0x80
#define QTSYMLINK	0x02
#define O_RD		0
#define O_WR		1
#define O_RW		2
#define DOTL_CREATE	0100
#define DOTL_EXCL	0200
#define DOTL_TRUNC	01000
#define BIG		(P9_MAX_MSIZE + 4096)

struct msg {
	u8 buf[BIG];
	size_t len;
};

struct rep {
	u8 buf[BIG];
	size_t len, off;
	u8 type;
};

static struct msg M;
static struct rep R;
static struct p9_server *S;
static char top[64], export[96], outside[96];
static FILE *corpus;
static u16 next_tag;

/* ---- building T-messages ---- */

static void m_begin(u8 type)
{
	M.len = 7;
	M.buf[4] = type;
	M.buf[5] = (u8)next_tag;
	M.buf[6] = (u8)(next_tag >> 8);
	next_tag++;
}

static void m_u8(u8 v)
{
	M.buf[M.len++] = v;
}

static void m_u16(u16 v)
{
	m_u8((u8)v);
	m_u8((u8)(v >> 8));
}

static void m_u32(u32 v)
{
	m_u16((u16)v);
	m_u16((u16)(v >> 16));
}

static void m_u64(u64 v)
{
	m_u32((u32)v);
	m_u32((u32)(v >> 32));
}

static void m_data(const void *p, size_t len)
{
	memcpy(M.buf + M.len, p, len);
	M.len += len;
}

static void m_str(const char *s)
{
	m_u16((u16)strlen(s));
	m_data(s, strlen(s));
}

static void m_size(u32 size)
{
	M.buf[0] = (u8)size;
	M.buf[1] = (u8)(size >> 8);
	M.buf[2] = (u8)(size >> 16);
	M.buf[3] = (u8)(size >> 24);
}

/* ---- parsing R-messages ---- */

static u8 r_u8(void)
{
	assert_true(R.off + 1 <= R.len);
	return R.buf[R.off++];
}

static u16 r_u16(void)
{
	u16 v = r_u8();

	return v | (u16)(r_u8() << 8);
}

static u32 r_u32(void)
{
	u32 v = r_u16();

	return v | (u32)r_u16() << 16;
}

static u64 r_u64(void)
{
	u64 v = r_u32();

	return v | (u64)r_u32() << 32;
}

static void r_str(char *buf, size_t size)
{
	u16 len = r_u16();

	assert_true(len < size && R.off + len <= R.len);
	memcpy(buf, R.buf + R.off, len);
	buf[len] = '\0';
	R.off += len;
}

struct qid {
	u8 type;
	u64 path;
};

static struct qid r_qid(void)
{
	struct qid q;

	q.type = r_u8();
	r_u32();
	q.path = r_u64();
	return q;
}

/* ---- round trips ---- */

/*
 * Corpus framing: u32 length (little-endian), then the bytes. Big writes
 * are left out: seeds stay small, and the fuzzer makes its own.
 */
static void record(const void *p, size_t len)
{
	u8 hdr[4] = { (u8)len, (u8)(len >> 8), (u8)(len >> 16),
		      (u8)(len >> 24) };

	if (!corpus || len > 8192)
		return;
	fwrite(hdr, 1, sizeof(hdr), corpus);
	fwrite(p, 1, len, corpus);
}

/*
 * Send M (size field as built unless @raw) through @out_num pieces and a
 * reply buffer of @in_len bytes. Checks that the reply is well-formed and
 * returns 0 for the expected R-message or -ecode for an Rlerror.
 */
static int rpc_iov(unsigned int out_split, size_t in_len, bool raw)
{
	struct iovec out[3], in[1] = { { R.buf, in_len } };
	unsigned int n = 0;
	size_t a, b;
	u8 ttype = M.buf[4];

	if (!raw)
		m_size((u32)M.len);
	record(M.buf, M.len);
	if (out_split && M.len > 2 * out_split) {
		/* head | middle | tail, to cross buffer boundaries */
		a = out_split;
		b = M.len - out_split;
		out[n++] = (struct iovec) { M.buf, a };
		out[n++] = (struct iovec) { M.buf + a, b - a };
		out[n++] = (struct iovec) { M.buf + b, M.len - b };
	} else {
		out[n++] = (struct iovec) { M.buf, M.len };
	}
	memset(R.buf, 0xee, MIN(in_len, sizeof(R.buf)));
	R.len = p9_handle(S, out, n, in, 1);
	if (!R.len)
		return -1000;
	assert_true(R.len >= 7 && R.len <= in_len);
	assert_int_equal(get_le32(R.buf), R.len);
	R.type = R.buf[4];
	assert_int_equal(R.buf[5], M.buf[5]);
	assert_int_equal(R.buf[6], M.buf[6]);
	R.off = 7;
	if (R.type == RLERROR) {
		assert_int_equal(R.len, 11);
		return -(int)r_u32();
	}
	assert_int_equal(R.type, ttype + 1);
	return 0;
}

static int rpc(void)
{
	return rpc_iov(0, sizeof(R.buf), false);
}

/* ---- operations ---- */

static int version(u32 msize, const char *v, u32 *got, char *gotv)
{
	int ret;

	m_begin(TVERSION);
	M.buf[5] = M.buf[6] = 0xff;
	m_u32(msize);
	m_str(v);
	ret = rpc();
	if (!ret) {
		*got = r_u32();
		r_str(gotv, 32);
	}
	return ret;
}

static int attach_as(u32 fid, u32 uid)
{
	m_begin(TATTACH);
	m_u32(fid);
	m_u32(NOFID);
	m_str("root");
	m_str("");
	m_u32(uid);
	return rpc();
}

static int attach(u32 fid)
{
	return attach_as(fid, 0);
}

/* Returns the number of qids, or -errno; qids in @q if not NULL. */
static int walkv(u32 fid, u32 newfid, unsigned int n, const char **names,
		 struct qid *q)
{
	unsigned int i, nq;
	int ret;

	m_begin(TWALK);
	m_u32(fid);
	m_u32(newfid);
	m_u16((u16)n);
	for (i = 0; i < n; i++)
		m_str(names[i]);
	ret = rpc();
	if (ret)
		return ret;
	nq = r_u16();
	assert_true(nq <= n);
	for (i = 0; i < nq; i++) {
		struct qid x = r_qid();

		if (q)
			q[i] = x;
	}
	return (int)nq;
}

#define walk(fid, newfid, ...) ({					\
	const char *__n[] = { __VA_ARGS__ };				\
	walkv(fid, newfid, ARRAY_SIZE(__n), __n, NULL);			\
})

static int clunk(u32 fid)
{
	m_begin(TCLUNK);
	m_u32(fid);
	return rpc();
}

static int lopen(u32 fid, u32 flags)
{
	m_begin(TLOPEN);
	m_u32(fid);
	m_u32(flags);
	return rpc();
}

static int lcreate_gid(u32 fid, const char *name, u32 flags, u32 mode,
		       u32 gid)
{
	m_begin(TLCREATE);
	m_u32(fid);
	m_str(name);
	m_u32(flags);
	m_u32(mode);
	m_u32(gid);
	return rpc();
}

static int lcreate(u32 fid, const char *name, u32 flags, u32 mode)
{
	return lcreate_gid(fid, name, flags, mode, getgid());
}

static int read_fid(u32 fid, u64 off, u32 count, void *buf)
{
	u32 n;
	int ret;

	m_begin(TREAD);
	m_u32(fid);
	m_u64(off);
	m_u32(count);
	ret = rpc();
	if (ret)
		return ret;
	n = r_u32();
	assert_int_equal(R.len, 11 + n);
	memcpy(buf, R.buf + 11, n);
	return (int)n;
}

static int write_fid(u32 fid, u64 off, const void *data, u32 count)
{
	int ret;

	m_begin(TWRITE);
	m_u32(fid);
	m_u64(off);
	m_u32(count);
	m_data(data, count);
	ret = rpc_iov(16, sizeof(R.buf), false);
	return ret ? ret : (int)r_u32();
}

struct attr {
	struct qid qid;
	u32 mode, uid, gid;
	u64 size, mtime;
};

static int getattr(u32 fid, struct attr *a)
{
	int ret;

	m_begin(TGETATTR);
	m_u32(fid);
	m_u64(0x3fff);
	ret = rpc();
	if (ret)
		return ret;
	assert_int_equal(R.len, 7 + 153);
	assert_int_equal(r_u64(), 0x7ff);
	a->qid = r_qid();
	a->mode = r_u32();
	a->uid = r_u32();
	a->gid = r_u32();
	r_u64();		/* nlink */
	r_u64();		/* rdev */
	a->size = r_u64();
	r_u64();		/* blksize */
	r_u64();		/* blocks */
	r_u64();		/* atime */
	r_u64();
	a->mtime = r_u64();
	return 0;
}

static int mkdir_fid(u32 fid, const char *name, u32 mode)
{
	m_begin(TMKDIR);
	m_u32(fid);
	m_str(name);
	m_u32(mode);
	m_u32(getgid());
	return rpc();
}

static int symlink_fid(u32 fid, const char *name, const char *target)
{
	m_begin(TSYMLINK);
	m_u32(fid);
	m_str(name);
	m_str(target);
	m_u32(getgid());
	return rpc();
}

static int unlinkat_fid(u32 fid, const char *name, u32 flags)
{
	m_begin(TUNLINKAT);
	m_u32(fid);
	m_str(name);
	m_u32(flags);
	return rpc();
}

static int renameat_fid(u32 ofid, const char *oname, u32 nfid,
			const char *nname)
{
	m_begin(TRENAMEAT);
	m_u32(ofid);
	m_str(oname);
	m_u32(nfid);
	m_str(nname);
	return rpc();
}

static int link_fid(u32 dfid, u32 fid, const char *name)
{
	m_begin(TLINK);
	m_u32(dfid);
	m_u32(fid);
	m_str(name);
	return rpc();
}

static int mknod_fid(u32 fid, const char *name, u32 mode)
{
	m_begin(TMKNOD);
	m_u32(fid);
	m_str(name);
	m_u32(mode);
	m_u32(1);
	m_u32(3);
	m_u32(getgid());
	return rpc();
}

static int setattr_fid(u32 fid, u32 valid, u32 mode, u64 size, u64 mtime)
{
	m_begin(TSETATTR);
	m_u32(fid);
	m_u32(valid);
	m_u32(mode);
	m_u32(getuid());
	m_u32(getgid());
	m_u64(size);
	m_u64(0);
	m_u64(0);
	m_u64(mtime);
	m_u64(0);
	return rpc();
}

static int xattrcreate_fid(u32 fid, const char *name, u64 size, u32 flags)
{
	m_begin(TXATTRCREATE);
	m_u32(fid);
	m_str(name);
	m_u64(size);
	m_u32(flags);
	return rpc();
}

static int xattrwalk_fid(u32 fid, u32 newfid, const char *name, u64 *size)
{
	int ret;

	m_begin(TXATTRWALK);
	m_u32(fid);
	m_u32(newfid);
	m_str(name);
	ret = rpc();
	if (!ret)
		*size = r_u64();
	return ret;
}

static int remove_fid(u32 fid)
{
	m_begin(TREMOVE);
	m_u32(fid);
	return rpc();
}

/* ---- fixture ---- */

static void put_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void host_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", export, rel);
}

static bool host_exists(const char *dir, const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

/* A fresh tree and server, attached as ROOT; @name: corpus file. */
static void fixture(const char *name, bool readonly)
{
	char p[256], err[128];
	const char *dir = getenv("LKVM_9P_CORPUS");
	u32 msize;
	char v[32];

	strcpy(top, "/tmp/lkvm-9p-test.XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(export, sizeof(export), "%s/export", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	assert_int_equal(mkdir(export, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	snprintf(p, sizeof(p), "%s/secret", outside);
	put_file(p, "secret\n");
	host_path(p, sizeof(p), "file.txt");
	put_file(p, "hello, world\n");
	host_path(p, sizeof(p), "dir");
	assert_int_equal(mkdir(p, 0755), 0);
	host_path(p, sizeof(p), "dir/sub.txt");
	put_file(p, "sub\n");
	host_path(p, sizeof(p), "abs_link");
	assert_int_equal(symlink("/", p), 0);
	host_path(p, sizeof(p), "up_link");
	assert_int_equal(symlink("../../etc", p), 0);
	host_path(p, sizeof(p), "out_link");
	assert_int_equal(symlink("../outside", p), 0);

	corpus = NULL;
	if (dir) {
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		corpus = fopen(p, "w");
		assert_non_null(corpus);
		fputc(readonly ? 1 : 0, corpus);
	}
	S = p9_server_new(export, readonly, err, sizeof(err));
	assert_non_null(S);
	assert_int_equal(version(65536, "9P2000.L", &msize, v), 0);
	assert_int_equal(msize, 65536);
	assert_string_equal(v, "9P2000.L");
	assert_int_equal(attach(ROOT), 0);
}

static void teardown(void)
{
	char cmd[128];

	p9_server_free(S);
	S = NULL;
	if (corpus)
		fclose(corpus);
	corpus = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

/* ---- tests ---- */

static void test_version(void **state)
{
	char err[128], v[32];
	u32 msize;

	fixture("version", false);
	assert_int_equal(version(1 << 24, "9P2000.L", &msize, v), 0);
	assert_int_equal(msize, P9_MAX_MSIZE);
	assert_int_equal(version(8192, "9P2000.u", &msize, v), 0);
	assert_string_equal(v, "unknown");
	assert_int_equal(version(100, "9P2000.L", &msize, v), -EINVAL);
	/* A new session forgets the old fids. */
	assert_int_equal(version(8192, "9P2000.L", &msize, v), 0);
	assert_int_equal(clunk(ROOT), -EBADF);
	assert_int_equal(attach(ROOT), 0);
	assert_int_equal(attach(ROOT), -EEXIST);
	assert_null(p9_server_new("/nonexistent/x", false, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x"));
	teardown();
}

static void test_walk_getattr(void **state)
{
	static char names256[257];
	const char *many[17];
	struct qid q[16];
	struct attr a, root;
	unsigned int i;

	fixture("walk_getattr", false);
	assert_int_equal(getattr(ROOT, &root), 0);
	assert_int_equal(root.qid.type, QTDIR);
	assert_true(S_ISDIR(root.mode));

	const char *two[] = { "dir", "sub.txt" };
	assert_int_equal(walkv(ROOT, 2, 2, two, q), 2);
	assert_int_equal(q[0].type, QTDIR);
	assert_int_equal(q[1].type, 0);
	assert_int_equal(getattr(2, &a), 0);
	assert_int_equal(a.size, 4);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.uid, getuid());
	assert_int_equal(a.qid.path, q[1].path);

	/* First element missing: an error. A later one: partial walk. */
	assert_int_equal(walk(ROOT, 3, "nope"), -ENOENT);
	assert_int_equal(walk(ROOT, 3, "dir", "nope"), 1);
	assert_int_equal(getattr(3, &a), -EBADF);
	assert_int_equal(walk(ROOT, 3, "file.txt", "x"), 1);	/* ENOTDIR */
	assert_int_equal(getattr(3, &a), -EBADF);

	/* Clone, walk in place, newfid in use. */
	assert_int_equal(walkv(ROOT, 3, 0, NULL, NULL), 0);
	assert_int_equal(getattr(3, &a), 0);
	assert_int_equal(a.qid.path, root.qid.path);
	assert_int_equal(walk(3, 3, "dir"), 1);
	assert_int_equal(getattr(3, &a), 0);
	assert_int_equal(a.qid.type, QTDIR);
	assert_int_equal(walk(ROOT, 3, "dir"), -EEXIST);
	assert_int_equal(walk(ROOT, 99, "dir"), 1);
	assert_int_equal(walk(99, 98, ".."), 1);
	assert_int_equal(getattr(98, &a), 0);
	assert_int_equal(a.qid.path, root.qid.path);

	/* Bad names and too many of them. */
	assert_int_equal(walk(ROOT, 4, "."), -EINVAL);
	assert_int_equal(walk(ROOT, 4, "dir/sub.txt"), -EINVAL);
	assert_int_equal(walk(ROOT, 4, ""), -EINVAL);
	assert_int_equal(walk(77, 4, "dir"), -EBADF);
	memset(names256, 'a', 256);
	names256[256] = '\0';
	assert_int_equal(walk(ROOT, 4, names256), -ENAMETOOLONG);
	for (i = 0; i < 17; i++)
		many[i] = "dir";
	assert_int_equal(walkv(ROOT, 4, 17, many, NULL), -EINVAL);
	for (i = 0; i < 16; i++)
		many[i] = "..";
	assert_int_equal(walkv(ROOT, 4, 16, many, q), 16);
	assert_int_equal(q[15].path, root.qid.path);
	assert_int_equal(clunk(4), 0);
	assert_int_equal(clunk(4), -EBADF);
	teardown();
}

static void test_read_write(void **state)
{
	static u8 big[300000], back[300000];
	struct iovec out, in[3];
	char buf[64];
	struct attr a;
	unsigned int i;
	size_t len;
	u32 msize;
	int n;

	fixture("read_write", false);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(read_fid(2, 0, 64, buf), -EBADF);	/* not open */
	assert_int_equal(lopen(2, O_RD), 0);
	assert_int_equal(lopen(2, O_RD), -EINVAL);		/* twice */
	n = read_fid(2, 0, sizeof(buf), buf);
	assert_int_equal(n, 13);
	assert_memory_equal(buf, "hello, world\n", 13);
	assert_int_equal(read_fid(2, 7, 5, buf), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(read_fid(2, 100, 5, buf), 0);
	assert_int_equal(write_fid(2, 0, "x", 1), -EBADF);	/* read-only */

	/* Create, write through split buffers, read back. */
	assert_int_equal(walk(ROOT, 3), 0);
	assert_int_equal(lcreate(3, "new.bin", O_RW, 0640), 0);
	assert_int_equal(getattr(3, &a), 0);
	assert_int_equal(a.mode & 07777, 0640);	/* our umask did not apply */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (u8)(i * 7 + i / 251);
	assert_int_equal(version(P9_MAX_MSIZE, "9P2000.L", &msize, buf), 0);
	assert_int_equal(msize, P9_MAX_MSIZE);
	assert_int_equal(attach(ROOT), 0);
	assert_int_equal(walk(ROOT, 3), 0);
	assert_int_equal(lcreate(3, "big.bin", O_RW, 0600), 0);
	n = write_fid(3, 0, big, 200000);
	assert_int_equal(n, 200000);
	n = write_fid(3, 200000, big + 200000, 100000);
	assert_int_equal(n, 100000);

	/* A large read straight into three reply buffers. */
	m_begin(TREAD);
	m_u32(3);
	m_u64(1000);
	m_u32(400000);
	m_size((u32)M.len);
	record(M.buf, M.len);
	out = (struct iovec) { M.buf, M.len };
	in[0] = (struct iovec) { R.buf, 11 };
	in[1] = (struct iovec) { R.buf + 11, 1000 };
	in[2] = (struct iovec) { R.buf + 1011, sizeof(R.buf) - 1011 };
	len = p9_handle(S, &out, 1, in, 3);
	/* up to the end of the file */
	assert_int_equal(len, 11 + 299000);
	assert_int_equal(R.buf[4], TREAD + 1);
	memcpy(back, R.buf + 11, 299000);
	assert_memory_equal(back, big + 1000, 299000);

	/* A reply buffer smaller than asked: the read is clamped to it. */
	assert_int_equal(rpc_iov(0, 11 + 100, false), 0);	/* resent */
	assert_int_equal(r_u32(), 100);
	assert_int_equal(host_exists(export, "big.bin"), true);
	assert_int_equal(clunk(3), 0);
	assert_int_equal(clunk(2), -EBADF);	/* Tversion dropped it */
	teardown();
}

static bool contains(const char *names, const char *name)
{
	char pat[300];

	snprintf(pat, sizeof(pat), "/%s/", name);
	return strstr(names, pat) != NULL;
}

static void test_create_mkdir_readdir(void **state)
{
	static char names[65536];
	char name[300];
	unsigned int i, total = 0;
	u64 off = 0;
	u32 count;
	struct attr a;
	int ret;

	fixture("readdir", false);
	assert_int_equal(walk(ROOT, 2), 0);
	assert_int_equal(mkdir_fid(2, "d", 0750), 0);
	assert_int_equal(R.buf[7], QTDIR);
	assert_int_equal(mkdir_fid(2, "d", 0750), -EEXIST);
	assert_int_equal(mkdir_fid(2, "a/b", 0750), -EINVAL);
	assert_int_equal(mkdir_fid(2, "..", 0750), -EINVAL);
	assert_int_equal(walk(ROOT, 3, "d"), 1);
	assert_int_equal(getattr(3, &a), 0);
	assert_int_equal(a.mode & 07777, 0750);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%02u-%0100u", i, i);
		assert_int_equal(walk(3, 10 + i), 0);
		assert_int_equal(lcreate(10 + i, name, O_WR, 0644), 0);
		assert_int_equal(clunk(10 + i), 0);
	}
	/* Exclusive create of an existing file fails, plain create opens. */
	assert_int_equal(walk(3, 4), 0);
	assert_int_equal(lcreate(4, name, O_WR | DOTL_EXCL, 0644), -EEXIST);
	assert_int_equal(lcreate(4, name, O_WR, 0644), 0);
	assert_int_equal(clunk(4), 0);

	/* Small counts: many calls, offsets from the last entry of each. */
	assert_int_equal(lopen(3, O_RD), 0);
	strcpy(names, "/");
	for (;;) {
		m_begin(TREADDIR);
		m_u32(3);
		m_u64(off);
		m_u32(500);
		ret = rpc();
		assert_int_equal(ret, 0);
		count = r_u32();
		assert_true(count <= 500);
		if (!count)
			break;
		while (R.off < 11 + count) {
			struct qid q = r_qid();

			off = r_u64();
			r_u8();
			r_str(name, sizeof(name));
			assert_false(contains(names, name));	/* no repeats */
			strcat(names, name);
			strcat(names, "/");
			total++;
			(void)q;
		}
	}
	assert_int_equal(total, 42);	/* 40 files, ".", ".." */
	assert_true(contains(names, "."));
	assert_true(contains(names, ".."));
	snprintf(name, sizeof(name), "f%02u-%0100u", 39, 39);
	assert_true(contains(names, name));
	/* Readdir on a fid that is not an open directory. */
	assert_int_equal(walk(ROOT, 5, "file.txt"), 1);
	assert_int_equal(lopen(5, O_RD), 0);
	m_begin(TREADDIR);
	m_u32(5);
	m_u64(0);
	m_u32(4096);
	assert_int_equal(rpc(), -EBADF);
	teardown();
}

static void test_rename_unlink_remove(void **state)
{
	char buf[16];

	fixture("rename_unlink", false);
	assert_int_equal(walk(ROOT, 2, "dir"), 1);
	assert_int_equal(renameat_fid(2, "sub.txt", ROOT, "moved.txt"), 0);
	assert_true(host_exists(export, "moved.txt"));
	assert_false(host_exists(export, "dir/sub.txt"));
	assert_int_equal(renameat_fid(2, "sub.txt", ROOT, "x"), -ENOENT);
	assert_int_equal(unlinkat_fid(ROOT, "moved.txt", 0), 0);
	assert_false(host_exists(export, "moved.txt"));
	assert_int_equal(unlinkat_fid(ROOT, "dir", 0), -EISDIR);
	assert_int_equal(unlinkat_fid(ROOT, "dir", 0x200), 0);
	assert_false(host_exists(export, "dir"));
	assert_int_equal(unlinkat_fid(ROOT, "x", 0x1), -EINVAL);

	/* Trename and Tremove work on the fid's own name. */
	assert_int_equal(walk(ROOT, 3, "file.txt"), 1);
	m_begin(TRENAME);
	m_u32(3);
	m_u32(ROOT);
	m_str("renamed.txt");
	assert_int_equal(rpc(), 0);
	assert_true(host_exists(export, "renamed.txt"));
	assert_int_equal(lopen(3, O_RD), 0);
	assert_int_equal(read_fid(3, 0, 5, buf), 5);
	assert_int_equal(remove_fid(3), 0);
	assert_false(host_exists(export, "renamed.txt"));
	assert_int_equal(clunk(3), -EBADF);	/* remove clunked it */
	/* The root cannot be removed; the fid is clunked all the same. */
	assert_int_equal(walk(ROOT, 4), 0);
	assert_int_equal(remove_fid(4), -EBUSY);
	assert_int_equal(clunk(4), -EBADF);
	/* A name that no longer is the fid's object: stale, not removed. */
	assert_int_equal(walk(ROOT, 5, "abs_link"), 1);
	assert_int_equal(renameat_fid(ROOT, "abs_link", ROOT, "gone"), 0);
	assert_int_equal(mkdir_fid(ROOT, "abs_link", 0755), 0);
	assert_int_equal(remove_fid(5), -ESTALE);
	assert_true(host_exists(export, "abs_link"));
	teardown();
}

static void test_symlink_readlink_link(void **state)
{
	char target[64], p[256];
	struct stat st;
	struct qid q;

	fixture("symlink_link", false);
	assert_int_equal(symlink_fid(ROOT, "ln", "file.txt"), 0);
	assert_int_equal(R.buf[7], QTSYMLINK);
	assert_int_equal(walkv(ROOT, 2, 1, (const char *[]){ "ln" }, &q), 1);
	assert_int_equal(q.type, QTSYMLINK);
	m_begin(TREADLINK);
	m_u32(2);
	assert_int_equal(rpc(), 0);
	r_str(target, sizeof(target));
	assert_string_equal(target, "file.txt");
	assert_int_equal(lopen(2, O_RD), -ELOOP);

	/* Hard links. */
	assert_int_equal(walk(ROOT, 3, "file.txt"), 1);
	assert_int_equal(link_fid(ROOT, 3, "hard.txt"), 0);
	host_path(p, sizeof(p), "hard.txt");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(link_fid(ROOT, 3, "hard.txt"), -EEXIST);
	assert_int_equal(link_fid(ROOT, 3, "../hard.txt"), -EINVAL);
	teardown();
}

/* Returns the Rlock status, or -errno. */
static int lock_fid(u32 fid, u8 type)
{
	int ret;

	m_begin(TLOCK);
	m_u32(fid);
	m_u8(type);
	m_u32(0);		/* flags */
	m_u64(0);		/* start */
	m_u64(0);		/* length: to the end */
	m_u32(42);
	m_str("guest");
	ret = rpc();
	return ret ? ret : r_u8();
}

static void test_statfs_fsync_lock(void **state)
{
	fixture("statfs_fsync_lock", false);
	m_begin(TSTATFS);
	m_u32(ROOT);
	assert_int_equal(rpc(), 0);
	assert_int_equal(R.len, 7 + 60);
	r_u32();
	assert_true(r_u32() > 0);	/* bsize */

	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	m_begin(TFSYNC);
	m_u32(2);
	m_u32(0);
	assert_int_equal(rpc(), -EBADF);	/* not open */
	assert_int_equal(lopen(2, O_RW), 0);
	m_begin(TFSYNC);
	m_u32(2);
	m_u32(1);
	assert_int_equal(rpc(), 0);

	/* Two opens of one file: OFD locks conflict between them. */
	assert_int_equal(walk(ROOT, 3, "file.txt"), 1);
	assert_int_equal(lopen(3, O_RW), 0);
	assert_int_equal(lock_fid(2, 1), 0);		/* WRLCK: SUCCESS */
	assert_int_equal(lock_fid(3, 1), 1);		/* BLOCKED */
	m_begin(TGETLOCK);
	m_u32(3);
	m_u8(0);
	m_u64(0);
	m_u64(10);
	m_u32(43);
	m_str("guest");
	assert_int_equal(rpc(), 0);
	assert_int_equal(r_u8(), 1);	/* held: a write lock */
	assert_int_equal(lock_fid(2, 9), -EINVAL);	/* no such type */
	/* Clunking fid 2 closes its open file, which drops its lock. */
	assert_int_equal(clunk(2), 0);
	assert_int_equal(lock_fid(3, 1), 0);
	assert_int_equal(lock_fid(3, 2), 0);		/* UNLCK */

	/* The same after Tlcreate, whose fid also holds a path fd. */
	assert_int_equal(walk(ROOT, 2), 0);
	assert_int_equal(lcreate(2, "locked", O_RW, 0644), 0);
	assert_int_equal(walkv(2, 7, 0, NULL, NULL), 0);	/* a clone */
	assert_int_equal(lock_fid(2, 1), 0);
	assert_int_equal(walk(ROOT, 8, "locked"), 1);
	assert_int_equal(lopen(8, O_RW), 0);
	assert_int_equal(lock_fid(8, 1), 1);
	assert_int_equal(clunk(2), 0);
	assert_int_equal(lock_fid(8, 1), 0);	/* the clone kept none alive */
	teardown();
}

static void test_setattr(void **state)
{
	struct attr a;

	fixture("setattr", false);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(setattr_fid(2, 0x1, 0600, 0, 0), 0);
	assert_int_equal(setattr_fid(2, 0x8, 0, 5, 0), 0);
	assert_int_equal(setattr_fid(2, 0x20 | 0x100, 0, 0, 1000000), 0);
	assert_int_equal(getattr(2, &a), 0);
	assert_int_equal(a.mode & 07777, 0600);
	assert_int_equal(a.size, 5);
	assert_int_equal(a.mtime, 1000000);
	assert_int_equal(setattr_fid(2, 0x10000, 0, 0, 0), -EINVAL);
	assert_int_equal(walk(ROOT, 3, "dir"), 1);
	assert_int_equal(setattr_fid(3, 0x8, 0, 0, 0), -EISDIR);
	/* chown to ourselves works whoever we are. */
	assert_int_equal(setattr_fid(2, 0x2 | 0x4, 0, 0, 0), 0);
	teardown();
}

static void test_xattr(void **state)
{
	char p[256], val[512];
	u64 size;
	int n;

	fixture("xattr", false);
	host_path(p, sizeof(p), "file.txt");
	if (setxattr(p, "user.probe", "1", 1, 0) && errno == EOPNOTSUPP) {
		teardown();
		skip();
	}
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(xattrcreate_fid(2, "user.lkvm", 5, 0), 0);
	assert_int_equal(write_fid(2, 0, "value", 5), 5);
	assert_int_equal(clunk(2), 0);
	n = (int)getxattr(p, "user.lkvm", val, sizeof(val));
	assert_int_equal(n, 5);
	assert_memory_equal(val, "value", 5);

	assert_int_equal(walk(ROOT, 3, "file.txt"), 1);
	assert_int_equal(xattrwalk_fid(3, 4, "user.lkvm", &size), 0);
	assert_int_equal(size, 5);
	assert_int_equal(read_fid(4, 0, 64, val), 5);
	assert_memory_equal(val, "value", 5);
	assert_int_equal(clunk(4), 0);
	assert_int_equal(xattrwalk_fid(3, 4, "", &size), 0);	/* list */
	assert_true(size >= sizeof("user.lkvm"));
	assert_int_equal(read_fid(4, 0, 256, val), (int)size);
	assert_int_equal(clunk(4), 0);
	assert_int_equal(xattrwalk_fid(3, 4, "user.none", &size), -ENODATA);
	/* Short write: the value is not set. */
	assert_int_equal(walk(ROOT, 5, "file.txt"), 1);
	assert_int_equal(xattrcreate_fid(5, "user.short", 5, 0), 0);
	assert_int_equal(write_fid(5, 0, "ab", 2), 2);
	assert_int_equal(write_fid(5, 4, "abc", 3), -ENOSPC);
	assert_int_equal(clunk(5), -EINVAL);
	/* Size 0: remove. */
	assert_int_equal(walk(ROOT, 5, "file.txt"), 1);
	assert_int_equal(xattrcreate_fid(5, "user.lkvm", 0, 0), 0);
	assert_int_equal(clunk(5), 0);
	assert_true(getxattr(p, "user.lkvm", val, sizeof(val)) < 0);
	/* Symlinks: never. */
	assert_int_equal(walk(ROOT, 6, "abs_link"), 1);
	assert_int_equal(xattrwalk_fid(6, 7, "", &size), -EOPNOTSUPP);
	assert_int_equal(xattrcreate_fid(6, "user.x", 1, 0), -EOPNOTSUPP);
	teardown();
}

/* ---- root rules: no set-id bits, no capabilities, bounded xattrs ---- */

static mode_t host_mode(const char *rel)
{
	char p[256];
	struct stat st;

	host_path(p, sizeof(p), rel);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode & 07777;
}

static void host_chmod(const char *rel, mode_t mode)
{
	char p[256];

	host_path(p, sizeof(p), rel);
	assert_int_equal(chmod(p, mode), 0);
	assert_int_equal(host_mode(rel), mode);
}

/* Tsetattr chown to @uid:@gid (ourselves: allowed whoever we are). */
static int chown_fid(u32 fid, u32 uid, u32 gid)
{
	m_begin(TSETATTR);
	m_u32(fid);
	m_u32(0x2 | 0x4);
	m_u32(0);
	m_u32(uid);
	m_u32(gid);
	m_u64(0);
	m_u64(0);
	m_u64(0);
	m_u64(0);
	m_u64(0);
	return rpc();
}

static void test_setid_create(void **state)
{
	fixture("setid_create", false);
	assert_int_equal(walk(ROOT, 2), 0);
	assert_int_equal(lcreate(2, "suid", O_WR, 06755), 0);
	assert_int_equal(host_mode("suid"), 0755);
	assert_int_equal(mkdir_fid(ROOT, "sdir", 06775), 0);
	assert_int_equal(host_mode("sdir"), 0775);
	assert_int_equal(mknod_fid(ROOT, "sreg", S_IFREG | 06755), 0);
	assert_int_equal(host_mode("sreg"), 0755);
	assert_int_equal(mknod_fid(ROOT, "sfifo", S_IFIFO | 06644), 0);
	assert_int_equal(host_mode("sfifo"), 0644);
	/* A setgid parent passes its bit on to new directories: not here. */
	host_chmod("dir", 02755);
	assert_int_equal(walk(ROOT, 3, "dir"), 1);
	assert_int_equal(mkdir_fid(3, "child", 0755), 0);
	assert_int_equal(host_mode("dir/child"), 0755);
	teardown();
}

static void test_setid_chmod_chown(void **state)
{
	fixture("setid_chmod_chown", false);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(setattr_fid(2, 0x1, 04755, 0, 0), 0);
	assert_int_equal(host_mode("file.txt"), 0755);
	assert_int_equal(setattr_fid(2, 0x1, 02711, 0, 0), 0);
	assert_int_equal(host_mode("file.txt"), 0711);
	/* chown: setuid and setgid without group execute, which the kernel keeps. */
	host_chmod("file.txt", 06744);
	assert_int_equal(chown_fid(2, getuid(), getgid()), 0);
	assert_int_equal(host_mode("file.txt"), 0744);
	host_chmod("file.txt", 06755);
	assert_int_equal(chown_fid(2, (u32)-1, getgid()), 0);
	assert_int_equal(host_mode("file.txt"), 0755);
	/* A directory keeps them through a chown, unless we strip them. */
	host_chmod("dir", 06755);
	assert_int_equal(walk(ROOT, 3, "dir"), 1);
	assert_int_equal(chown_fid(3, getuid(), getgid()), 0);
	assert_int_equal(host_mode("dir"), 0755);
	/* Symlinks have no mode to strip: a chown still works. */
	assert_int_equal(walk(ROOT, 4, "abs_link"), 1);
	assert_int_equal(chown_fid(4, getuid(), getgid()), 0);
	teardown();
}

/* Writing a set-id file clears its bits, as for a writer without CAP_FSETID. */
static void test_setid_write(void **state)
{
	fixture("setid_write", false);
	host_chmod("file.txt", 06755);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(lopen(2, O_RD), 0);
	assert_int_equal(host_mode("file.txt"), 06755);	/* reading: kept */
	assert_int_equal(walk(ROOT, 3, "file.txt"), 1);
	assert_int_equal(lopen(3, O_WR), 0);
	assert_int_equal(host_mode("file.txt"), 0755);
	host_chmod("file.txt", 04700);
	assert_int_equal(setattr_fid(3, 0x8, 0, 2, 0), 0);	/* truncate */
	assert_int_equal(host_mode("file.txt"), 0700);
	host_chmod("file.txt", 04700);
	assert_int_equal(walk(ROOT, 4), 0);
	assert_int_equal(lcreate(4, "file.txt", O_WR, 0644), 0);	/* exists */
	assert_int_equal(host_mode("file.txt"), 0700);
	teardown();
}

static void test_xattr_names_refused(void **state)
{
	char p[256], val[512];
	bool root_xattrs;
	u64 size;
	int n;

	fixture("xattr_names", false);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(xattrcreate_fid(2, "security.capability", 20, 0),
			 -EPERM);
	assert_int_equal(xattrcreate_fid(2, "security.capability", 0, 0),
			 -EPERM);
	assert_int_equal(xattrcreate_fid(2, "trusted.overlay.redirect", 4, 0),
			 -EPERM);
	assert_int_equal(xattrcreate_fid(2, "trusted.", 1, 0), -EPERM);
	assert_int_equal(xattrwalk_fid(2, 3, "trusted.lkvm", &size), -ENODATA);
	assert_int_equal(clunk(3), -EBADF);
	/* The fid is still a file: the refusals changed nothing. */
	assert_int_equal(lopen(2, O_RD), 0);
	/* A trusted.* xattr the host set (root only): unseen, unread. */
	host_path(p, sizeof(p), "file.txt");
	root_xattrs = !setxattr(p, "trusted.lkvm", "host", 4, 0);
	if (!root_xattrs)
		assert_true(errno == EPERM || errno == EOPNOTSUPP);
	setxattr(p, "user.lkvm", "1", 1, 0);
	assert_int_equal(walk(ROOT, 4, "file.txt"), 1);
	assert_int_equal(xattrwalk_fid(4, 5, "trusted.lkvm", &size), -ENODATA);
	assert_int_equal(xattrwalk_fid(4, 5, "", &size), 0);
	n = read_fid(5, 0, sizeof(val) - 1, val);
	assert_int_equal(n, (int)size);
	for (int i = 0; i < n; i += (int)strlen(val + i) + 1)
		assert_int_not_equal(strncmp(val + i, "trusted.", 8), 0);
	if (root_xattrs) {
		assert_true(listxattr(p, val, sizeof(val)) > (ssize_t)size);
		assert_int_equal(getxattr(p, "trusted.lkvm", val, sizeof(val)), 4);
	}
	teardown();
}

#define XATTR_FIDS	(P9_XATTR_TOTAL_MAX / P9_XATTR_MAX)

/* Pending xattr values are bounded per export, and released by Tclunk. */
static void test_xattr_memory_bound(void **state)
{
	char p[256];
	bool user_xattrs;
	unsigned int i;
	u64 size;

	fixture("xattr_bound", false);
	host_path(p, sizeof(p), "file.txt");
	user_xattrs = !setxattr(p, "user.big", "12345678", 8, 0);
	for (i = 0; i < XATTR_FIDS; i++) {
		assert_int_equal(walk(ROOT, 100 + i, "file.txt"), 1);
		assert_int_equal(xattrcreate_fid(100 + i, "user.v",
						 P9_XATTR_MAX, 0), 0);
	}
	/* Full: one more byte is refused, for writes and reads alike. */
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(xattrcreate_fid(2, "user.v", 1, 0), -ENOMEM);
	assert_int_equal(walk(ROOT, 3, "file.txt"), 1);
	if (user_xattrs) {
		assert_int_equal(xattrwalk_fid(3, 4, "user.big", &size),
				 -ENOMEM);
		assert_int_equal(clunk(4), -EBADF);
	}
	/* A clunk gives its share back (an unfinished value is not set). */
	assert_int_equal(clunk(100), -EINVAL);
	assert_int_equal(xattrcreate_fid(2, "user.v", P9_XATTR_MAX, 0), 0);
	assert_int_equal(xattrcreate_fid(3, "user.v", 1, 0), -ENOMEM);
	assert_int_equal(clunk(2), -EINVAL);
	if (user_xattrs) {
		assert_int_equal(xattrwalk_fid(3, 4, "user.big", &size), 0);
		assert_int_equal(size, 8);
		assert_int_equal(clunk(4), 0);
	}
	/* A new session frees every fid, and with them the whole budget. */
	assert_int_equal(version(65536, "9P2000.L", &(u32){ 0 }, (char[32]){ 0 }),
			 0);
	assert_int_equal(attach(ROOT), 0);
	for (i = 0; i < XATTR_FIDS; i++) {
		assert_int_equal(walk(ROOT, 200 + i, "file.txt"), 1);
		assert_int_equal(xattrcreate_fid(200 + i, "user.v",
						 P9_XATTR_MAX, 0), 0);
	}
	teardown();
}

/* ---- containment ---- */

static void test_dotdot_stays_inside(void **state)
{
	struct qid q[16];
	struct attr root;

	fixture("dotdot", false);
	assert_int_equal(getattr(ROOT, &root), 0);
	assert_int_equal(walkv(ROOT, 2, 3, (const char *[]){ "..", "..",
			 "outside" }, q), 2);
	assert_int_equal(q[0].path, root.qid.path);
	assert_int_equal(q[1].path, root.qid.path);
	assert_int_equal(clunk(2), -EBADF);
	assert_int_equal(walk(ROOT, 2, "dir", "..", "..", "..", "file.txt"),
			 5);
	assert_int_equal(clunk(2), 0);
	teardown();
}

static void test_symlinks_not_followed(void **state)
{
	struct qid q[4];
	char p[256];

	fixture("symlinks", false);
	/* Through an existing symlink: never. */
	assert_int_equal(walkv(ROOT, 2, 2, (const char *[]){ "abs_link",
			 "etc" }, q), 1);
	assert_int_equal(q[0].type, QTSYMLINK);
	assert_int_equal(walk(ROOT, 2, "up_link", "passwd"), 1);
	assert_int_equal(walk(ROOT, 2, "out_link", "secret"), 1);
	assert_int_equal(clunk(2), -EBADF);
	/* Onto a symlink: opens refuse it. */
	assert_int_equal(walk(ROOT, 2, "out_link"), 1);
	assert_int_equal(lopen(2, O_RD), -ELOOP);
	assert_int_equal(walk(2, 3, "secret"), -ENOTDIR);

	/* A symlink the guest makes, pointing out: opened, never followed. */
	assert_int_equal(symlink_fid(ROOT, "evil", "../outside/secret"), 0);
	assert_int_equal(walk(ROOT, 4, "evil"), 1);
	assert_int_equal(lopen(4, O_RD), -ELOOP);
	assert_int_equal(lopen(4, O_WR | DOTL_TRUNC), -ELOOP);
	assert_int_equal(setattr_fid(4, 0x8, 0, 0, 0), -EINVAL);	/* size */
	/* Hard-linking it links the symlink itself, not the secret. */
	assert_int_equal(link_fid(ROOT, 4, "hard"), 0);
	host_path(p, sizeof(p), "hard");
	{
		struct stat st;

		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
	}
	/* Creating through a dangling symlink does not create its target. */
	assert_int_equal(symlink_fid(ROOT, "dang", "../outside/created"), 0);
	assert_int_equal(walk(ROOT, 5), 0);
	assert_true(lcreate(5, "dang", O_WR, 0644) < 0);
	assert_false(host_exists(outside, "created"));
	assert_int_equal(mkdir_fid(ROOT, "dang", 0755), -EEXIST);
	/* Out of the export by name: no such thing. */
	assert_int_equal(renameat_fid(ROOT, "dir", ROOT, "../outside/dir"),
			 -EINVAL);
	assert_int_equal(renameat_fid(ROOT, "dir", ROOT, ".."), -EINVAL);
	assert_int_equal(walk(ROOT, 6, "out_link"), 1);
	assert_int_equal(renameat_fid(ROOT, "dir", 6, "dir"), -ENOTDIR);
	assert_true(host_exists(export, "dir"));
	assert_false(host_exists(outside, "dir"));
	assert_int_equal(symlink_fid(ROOT, "../esc", "x"), -EINVAL);
	assert_int_equal(unlinkat_fid(ROOT, "../outside/secret", 0), -EINVAL);
	assert_true(host_exists(outside, "secret"));
	teardown();
}

/* The host moves a directory the guest holds out of the export. */
static void test_moved_out_dotdot(void **state)
{
	char from[256], to[256];

	fixture("moved_out", false);
	assert_int_equal(walk(ROOT, 2, "dir"), 1);
	host_path(from, sizeof(from), "dir");
	snprintf(to, sizeof(to), "%s/dir", outside);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(walk(2, 3, ".."), -ENOENT);
	assert_int_equal(walk(2, 3, "..", "secret"), -ENOENT);
	teardown();
}

static void test_special_files(void **state)
{
	fixture("special", false);
	assert_int_equal(mknod_fid(ROOT, "fifo", S_IFIFO | 0644), 0);
	assert_int_equal(walk(ROOT, 2, "fifo"), 1);
	assert_int_equal(lopen(2, O_RD), -EOPNOTSUPP);	/* would block */
	assert_int_equal(mknod_fid(ROOT, "null", S_IFCHR | 0666), -EPERM);
	assert_int_equal(mknod_fid(ROOT, "blk", S_IFBLK | 0666), -EPERM);
	assert_int_equal(mknod_fid(ROOT, "odd", 0170000 | 0666), -EINVAL);
	assert_int_equal(walk(ROOT, 3), 0);
	assert_int_equal(lcreate(3, "fifo", O_WR, 0644), -EEXIST);
	teardown();
}

static void test_readonly(void **state)
{
	char buf[16];
	u64 size;

	fixture("readonly", true);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(lopen(2, O_WR), -EROFS);
	assert_int_equal(lopen(2, O_RD | DOTL_TRUNC), -EROFS);
	assert_int_equal(lopen(2, O_RD), 0);
	assert_int_equal(read_fid(2, 0, 5, buf), 5);
	assert_int_equal(write_fid(2, 0, "x", 1), -EROFS);
	assert_int_equal(walk(ROOT, 3), 0);
	assert_int_equal(lcreate(3, "new", O_WR, 0644), -EROFS);
	assert_int_equal(mkdir_fid(ROOT, "d", 0755), -EROFS);
	assert_int_equal(mknod_fid(ROOT, "p", S_IFIFO | 0644), -EROFS);
	assert_int_equal(symlink_fid(ROOT, "s", "x"), -EROFS);
	assert_int_equal(link_fid(ROOT, 2, "h"), -EROFS);
	assert_int_equal(unlinkat_fid(ROOT, "file.txt", 0), -EROFS);
	assert_int_equal(renameat_fid(ROOT, "file.txt", ROOT, "y"), -EROFS);
	assert_int_equal(setattr_fid(2, 0x1, 0777, 0, 0), -EROFS);
	assert_int_equal(setattr_fid(2, 0x8, 0, 0, 0), -EROFS);
	assert_int_equal(xattrcreate_fid(2, "user.x", 1, 0), -EROFS);
	m_begin(TRENAME);
	m_u32(2);
	m_u32(ROOT);
	m_str("z");
	assert_int_equal(rpc(), -EROFS);
	assert_int_equal(remove_fid(2), -EROFS);
	assert_true(host_exists(export, "file.txt"));
	/* Reading metadata is fine. */
	assert_int_equal(walk(ROOT, 4, "file.txt"), 1);
	xattrwalk_fid(4, 5, "", &size);		/* whatever the fs says */
	assert_int_equal(setattr_fid(4, 0, 0, 0, 0), 0);	/* nothing */
	teardown();
}

/* ---- malformed messages ---- */

struct bad {
	const char *what;
	const u8 *msg;
	size_t len;		/* bytes handed over */
	int err;		/* expected Rlerror */
};

#define B(...)	((const u8[]){ __VA_ARGS__ })

static void test_malformed(void **state)
{
	const struct bad table[] = {
		{ "empty", B(0), 0, EPROTO },
		{ "short header", B(7, 0, 0), 3, EPROTO },
		{ "size < header", B(5, 0, 0, 0, 120, 1, 0), 7, EPROTO },
		{ "size > buffer", B(64, 0, 0, 0, 120, 1, 0, 1, 0, 0, 0), 11,
		  EPROTO },
		{ "size huge", B(0xff, 0xff, 0xff, 0xff, 120, 1, 0), 7, EPROTO },
		{ "fields past size", B(7, 0, 0, 0, 120, 1, 0, 1, 0, 0, 0), 11,
		  EPROTO },
		{ "unknown type", B(7, 0, 0, 0, 200, 1, 0), 7, EOPNOTSUPP },
		{ "R-message", B(7, 0, 0, 0, 121, 1, 0), 7, EOPNOTSUPP },
		{ "9P2000 Topen", B(12, 0, 0, 0, TOPEN, 1, 0, 1, 0, 0, 0, 0),
		  12, EOPNOTSUPP },
		{ "Tauth", B(7, 0, 0, 0, TAUTH, 1, 0), 7, EOPNOTSUPP },
		{ "Tlerror", B(7, 0, 0, 0, 6, 1, 0), 7, EOPNOTSUPP },
		{ "clunk bad fid", B(11, 0, 0, 0, TCLUNK, 1, 0, 9, 9, 0, 0), 11,
		  EBADF },
		{ "clunk NOFID", B(11, 0, 0, 0, TCLUNK, 1, 0, 0xff, 0xff, 0xff,
		  0xff), 11, EBADF },
		{ "walk: string past end", B(17, 0, 0, 0, TWALK, 1, 0, 1, 0, 0,
		  0, 2, 0, 0, 0, 1, 0, 9, 0), 19, EPROTO },
		{ "walk: 17 names", B(17, 0, 0, 0, TWALK, 1, 0, 1, 0, 0, 0, 2,
		  0, 0, 0, 17, 0), 17, EINVAL },
		{ "walk: NUL in name", B(21, 0, 0, 0, TWALK, 1, 0, 1, 0, 0, 0,
		  2, 0, 0, 0, 1, 0, 2, 0, 'a', 0), 21, EINVAL },
		{ "walk: length past end", B(17 + 2, 0, 0, 0, TWALK, 1, 0, 1, 0,
		  0, 0, 2, 0, 0, 0, 1, 0, 0, 1), 19, EPROTO },
		{ "read: bad fid", B(23, 0, 0, 0, TREAD, 1, 0, 5, 5, 0, 0, 0, 0,
		  0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), 23, EBADF },
		{ "write: count past data", B(25, 0, 0, 0, TWRITE, 1, 0, 1, 0,
		  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'a',
		  'b'), 25, EPROTO },
		{ "write: not open", B(25, 0, 0, 0, TWRITE, 1, 0, 1, 0, 0, 0, 0,
		  0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'a', 'b'), 25, EBADF },
		{ "attach: afid", B(23, 0, 0, 0, TATTACH, 1, 0, 8, 0, 0, 0, 1,
		  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 23, EOPNOTSUPP },
		{ "attach: fid in use", B(23, 0, 0, 0, TATTACH, 1, 0, 1, 0, 0,
		  0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0), 23,
		  EEXIST },
		{ "version: msize 0", B(13, 0, 0, 0, TVERSION, 0xff, 0xff, 0, 0,
		  0, 0, 0, 0), 13, EINVAL },
		{ "getattr: truncated", B(9, 0, 0, 0, TGETATTR, 1, 0, 1, 0), 9,
		  EPROTO },
		{ "lopen: bad fid", B(15, 0, 0, 0, TLOPEN, 1, 0, 7, 0, 0, 0, 0,
		  0, 0, 0), 15, EBADF },
		{ "lopen: NOACCESS", B(15, 0, 0, 0, TLOPEN, 1, 0, 1, 0, 0, 0, 3,
		  0, 0, 0), 15, EINVAL },
		{ "readdir: not open", B(23, 0, 0, 0, TREADDIR, 1, 0, 1, 0,
		  0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0x10, 0, 0), 23, EBADF },
		{ "setattr: bad bits", B(67, 0, 0, 0, TSETATTR, 1, 0, 1, 0, 0,
		  0, 0, 0, 0, 0x80, [67 - 1] = 0), 67, EINVAL },
		{ "xattrcreate: huge", B(26, 0, 0, 0, TXATTRCREATE, 1, 0, 1, 0,
		  0, 0, 1, 0, 'x', 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0), 26,
		  E2BIG },
		{ "unlinkat: bad flags", B(18, 0, 0, 0, TUNLINKAT, 1, 0, 1, 0,
		  0, 0, 1, 0, 'x', 1, 0, 0, 0), 18, EINVAL },
	};
	struct iovec out, in = { R.buf, sizeof(R.buf) };
	unsigned int i;
	size_t len;

	fixture("malformed", false);
	for (i = 0; i < ARRAY_SIZE(table); i++) {
		const struct bad *b = &table[i];

		memcpy(M.buf, b->msg, b->len);
		record(b->msg, b->len);
		out = (struct iovec) { M.buf, b->len };
		len = p9_handle(S, &out, 1, &in, 1);
		if (len != 11 || R.buf[0] != 11 || R.buf[4] != RLERROR ||
		    get_le16(R.buf + 7) != b->err)
			fail_msg("%s: len %zu type %u err %u", b->what, len,
				 R.buf[4], get_le16(R.buf + 7));
	}
	/* Nowhere to reply: nothing written, nothing done. */
	assert_int_equal(walk(ROOT, 1234), 0);
	m_begin(TCLUNK);
	m_u32(1234);
	m_size((u32)M.len);
	out = (struct iovec) { M.buf, M.len };
	in.iov_len = 10;
	assert_int_equal(p9_handle(S, &out, 1, &in, 1), 0);
	assert_int_equal(clunk(1234), 0);	/* still there */
	/* Zero buffers at all. */
	assert_int_equal(p9_handle(S, NULL, 0, &in, 1), 0);
	in.iov_len = sizeof(R.buf);
	assert_int_equal(p9_handle(S, NULL, 0, &in, 1), 11);
	/* A reply that does not fit: an error instead. */
	assert_int_equal(walk(ROOT, 2, "dir"), 1);
	m_begin(TGETATTR);
	m_u32(2);
	m_u64(0);
	assert_int_equal(rpc_iov(0, 64, false), -EMSGSIZE);
	/* Flush: always fine. */
	m_begin(TFLUSH);
	m_u16(3);
	assert_int_equal(rpc(), 0);
	assert_int_equal(R.len, 7);
	/* A message bigger than msize. */
	m_begin(TFLUSH);
	m_u16(3);
	M.len = 65536 + 10;
	assert_int_equal(rpc(), -EMSGSIZE);
	teardown();
}

/*
 * Kernels before 5.6 have no openat2: the server falls back to openat
 * with O_NOFOLLOW. Make openat2 fail with ENOSYS (for the rest of this
 * process: this test runs last) and run the containment tests again.
 */
/* The per-type counters: what the handlers served, by name. */
struct counts {
	u64 version, attach, walk, getattr, clunk, other;
};

static void count_cb(void *ctx, const char *type, u64 n)
{
	struct counts *c = ctx;

	if (!strcmp(type, "version"))
		c->version = n;
	else if (!strcmp(type, "attach"))
		c->attach = n;
	else if (!strcmp(type, "walk"))
		c->walk = n;
	else if (!strcmp(type, "getattr"))
		c->getattr = n;
	else if (!strcmp(type, "clunk"))
		c->clunk = n;
	else
		c->other += n;
}

static void test_counts(void **state)
{
	struct counts c = { 0 };
	struct attr a;

	fixture("counts", false);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(walk(ROOT, 3, "nope"), -ENOENT);	/* counted */
	assert_int_equal(getattr(2, &a), 0);
	assert_int_equal(clunk(2), 0);
	m_begin(TOPEN);		/* 9P2000 Topen: no handler, not counted */
	m_u32(ROOT);
	m_u8(0);
	assert_int_equal(rpc(), -EOPNOTSUPP);
	p9_server_counts(S, count_cb, &c);
	assert_int_equal(c.version, 1);
	assert_int_equal(c.attach, 1);
	assert_int_equal(c.walk, 2);
	assert_int_equal(c.getattr, 1);
	assert_int_equal(c.clunk, 1);
	assert_int_equal(c.other, 0);
	teardown();
}

/*
 * The host swaps symlinks pointing out of the export in under names the
 * guest already walked: its fids keep their objects (Tlopen for reading
 * answers from what the walk learnt, for writing from a fresh fstat, both
 * reopen the fid's own inode), and new walks stop at the symlinks.
 */
static void test_swapped_after_walk(void **state)
{
	char p[256], q[256], buf[64];
	struct qid qid[2];

	fixture("swapped", false);
	assert_int_equal(walk(ROOT, 2, "file.txt"), 1);
	assert_int_equal(walk(ROOT, 3, "dir"), 1);
	assert_int_equal(walk(2, 4), 0);	/* a clone keeps what 2 knows */
	host_path(p, sizeof(p), "file.txt");
	host_path(q, sizeof(q), "moved.txt");
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink("../outside/secret", p), 0);
	host_path(p, sizeof(p), "dir");
	host_path(q, sizeof(q), "moved_dir");
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink("../outside", p), 0);

	assert_int_equal(lopen(2, O_RD), 0);
	assert_int_equal(read_fid(2, 0, sizeof(buf), buf), 13);
	assert_memory_equal(buf, "hello, world\n", 13);
	assert_int_equal(lopen(4, O_WR), 0);
	assert_int_equal(write_fid(4, 0, "HELLO", 5), 5);
	assert_int_equal(walk(3, 5, "sub.txt"), 1);	/* the real dir */
	assert_int_equal(walk(3, 6, "secret"), -ENOENT);
	/* New walks reach the symlinks, and go no further. */
	assert_int_equal(walkv(ROOT, 7, 1, (const char *[]){ "file.txt" },
			       qid), 1);
	assert_int_equal(qid[0].type, QTSYMLINK);
	assert_int_equal(lopen(7, O_RD), -ELOOP);
	assert_int_equal(walk(7, 8), 0);
	assert_int_equal(lopen(8, O_WR | DOTL_TRUNC), -ELOOP);
	assert_int_equal(walk(ROOT, 9, "dir", "secret"), 1);
	assert_int_equal(clunk(9), -EBADF);
	snprintf(p, sizeof(p), "%s/secret", outside);
	{
		FILE *f = fopen(p, "r");

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
	}
	assert_string_equal(buf, "secret\n");
	host_path(p, sizeof(p), "moved.txt");
	{
		FILE *f = fopen(p, "r");

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
	}
	assert_string_equal(buf, "HELLO, world\n");
	teardown();
}

/*
 * As root, what the guest creates belongs to the attaching user and the
 * gid it asked for, with exactly its mode; the chown is skipped only when
 * the owner is already right.
 */
static void test_create_owner(void **state)
{
	char p[256];
	struct stat st;

	if (geteuid() != 0)
		skip();
	fixture("owner", false);
	assert_int_equal(attach_as(20, 1234), 0);
	assert_int_equal(walk(20, 21), 0);
	assert_int_equal(lcreate_gid(21, "theirs", O_WR, 0640, 4321), 0);
	host_path(p, sizeof(p), "theirs");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(walk(ROOT, 22), 0);
	assert_int_equal(lcreate(22, "ours", O_WR, 0666), 0);
	host_path(p, sizeof(p), "ours");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, getgid());
	assert_int_equal(st.st_mode & 07777, 0666);	/* no umask */
	assert_int_equal(mkdir_fid(20, "their_dir", 0700), 0);
	host_path(p, sizeof(p), "their_dir");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_mode & 07777, 0700);
	teardown();
}

static void test_without_openat2(void **state)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { ARRAY_SIZE(filter), filter };
	struct open_how how = { .flags = O_PATH };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		skip();
	assert_int_equal(syscall(SYS_openat2, AT_FDCWD, "/", &how,
				 sizeof(how)), -1);
	assert_int_equal(errno, ENOSYS);
	test_walk_getattr(state);
	test_dotdot_stays_inside(state);
	test_symlinks_not_followed(state);
	test_moved_out_dotdot(state);
	test_create_mkdir_readdir(state);
	test_special_files(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_walk_getattr),
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_create_mkdir_readdir),
		cmocka_unit_test(test_rename_unlink_remove),
		cmocka_unit_test(test_symlink_readlink_link),
		cmocka_unit_test(test_statfs_fsync_lock),
		cmocka_unit_test(test_setattr),
		cmocka_unit_test(test_xattr),
		cmocka_unit_test(test_setid_create),
		cmocka_unit_test(test_setid_chmod_chown),
		cmocka_unit_test(test_setid_write),
		cmocka_unit_test(test_xattr_names_refused),
		cmocka_unit_test(test_xattr_memory_bound),
		cmocka_unit_test(test_dotdot_stays_inside),
		cmocka_unit_test(test_symlinks_not_followed),
		cmocka_unit_test(test_moved_out_dotdot),
		cmocka_unit_test(test_special_files),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_swapped_after_walk),
		cmocka_unit_test(test_create_owner),
		cmocka_unit_test(test_without_openat2),	/* last */
	};

	return cmocka_run_group_tests_name("9p", tests, NULL, NULL);
}
