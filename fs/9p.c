// SPDX-License-Identifier: GPL-2.0
/*
 * 9P2000.L file server: one exported host directory, one session.
 *
 * Containment. A fid holds an O_PATH fd, never a path: every operation
 * is the *at() form of a syscall relative to a fid's fd, with a single
 * name component that we validated (no '/', not "." or "..", no NUL, at
 * most NAME_MAX bytes). Lookups go through openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or openat(O_NOFOLLOW)
 * on kernels without it; both refuse to follow a symlink, and a trailing
 * symlink is opened as itself (O_PATH | O_NOFOLLOW). The client resolves
 * symlinks: it reads them and walks the target from its own root, which
 * here is the export. So there is no check-then-use window: what we
 * checked is the fd we use.
 *
 * ".." is the only component handled by name: at the export root it
 * stays there, elsewhere we take the parent and then make sure the root
 * is still one of its ancestors (a host process may have moved the
 * directory out of the export while the guest held it).
 *
 * Reopening a fid for I/O (Tlopen), changing its mode or size, linking
 * it and its xattrs use /proc/self/fd/N: the magic link names exactly the
 * inode the fid holds, and for a symlink it is the symlink itself, not
 * its target. Symlinks, devices, FIFOs and sockets are never opened for
 * I/O (the Linux client handles special files guest-side). Without
 * /proc, we fall back to reopening by (parent fd, name) and check that
 * we got the same inode.
 *
 * The server is single-threaded per session: the caller serialises
 * p9_handle() calls, so nothing is ever in flight for Tflush to cancel.
 *
 * Root. When lkvm runs as root, a root guest must not leave behind what
 * an unprivileged host user could not: set-user-ID and set-group-ID bits
 * never come from the guest (stripped from every create and chmod, and
 * from a file before it is chowned, truncated or opened for writing, as
 * the kernel does for writers without CAP_FSETID), security.capability
 * cannot be set, and trusted.* xattrs are answered for as an
 * unprivileged user would see them: not listed, not readable, not
 * writable. Device nodes are refused at Tmknod.
 *
 * Memory. Every fid's xattr buffer is charged to the export's budget
 * (P9_XATTR_TOTAL_MAX) until the fid is clunked: 65536 fids cannot pin
 * 65536 values of 64 KiB each.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lkvm/9p.h"
#include "lkvm/iov.h"

#ifndef SYS_openat2
#define SYS_openat2		437
#endif

/* Message types (include/net/9p/9p.h); the R-message is type + 1. */
enum {
	P9_TLERROR = 6,		P9_RLERROR = 7,
	P9_TSTATFS = 8,		P9_TLOPEN = 12,
	P9_TLCREATE = 14,	P9_TSYMLINK = 16,
	P9_TMKNOD = 18,		P9_TRENAME = 20,
	P9_TREADLINK = 22,	P9_TGETATTR = 24,
	P9_TSETATTR = 26,	P9_TXATTRWALK = 30,
	P9_TXATTRCREATE = 32,	P9_TREADDIR = 40,
	P9_TFSYNC = 50,		P9_TLOCK = 52,
	P9_TGETLOCK = 54,	P9_TLINK = 70,
	P9_TMKDIR = 72,		P9_TRENAMEAT = 74,
	P9_TUNLINKAT = 76,	P9_TVERSION = 100,
	P9_TAUTH = 102,		P9_TATTACH = 104,
	P9_TFLUSH = 108,	P9_TWALK = 110,
	P9_TREAD = 116,		P9_TWRITE = 118,
	P9_TCLUNK = 120,	P9_TREMOVE = 122,
};

#define P9_HDR			7	/* size[4] type[1] tag[2] */
#define P9_IOHDR		11	/* Rread/Rreaddir: header + count[4] */
#define P9_TWRITE_HDR		23	/* header fid[4] offset[8] count[4] */
#define P9_NOTAG		0xffff
#define P9_NOFID		0xffffffffu
#define P9_NONUNAME		0xffffffffu
#define P9_MAXWELEM		16
#define P9_QID_SIZE		13

#define P9_QTDIR		0x80
#define P9_QTSYMLINK		0x02
#define P9_QTFILE		0x00

/* Tlopen/Tlcreate flags: the x86 Linux values, whatever the host's are. */
#define P9_DOTL_ACCMODE		00000003
#define P9_DOTL_CREATE		00000100
#define P9_DOTL_EXCL		00000200
#define P9_DOTL_TRUNC		00001000
#define P9_DOTL_APPEND		00002000
#define P9_DOTL_NONBLOCK	00004000
#define P9_DOTL_DSYNC		00010000
#define P9_DOTL_DIRECTORY	00200000
#define P9_DOTL_SYNC		04000000
#define P9_DOTL_AT_REMOVEDIR	0x200

/* Tsetattr valid bits (the kernel's ATTR_* values). */
#define P9_SETATTR_MODE		0x001
#define P9_SETATTR_UID		0x002
#define P9_SETATTR_GID		0x004
#define P9_SETATTR_SIZE		0x008
#define P9_SETATTR_ATIME	0x010
#define P9_SETATTR_MTIME	0x020
#define P9_SETATTR_CTIME	0x040
#define P9_SETATTR_ATIME_SET	0x080
#define P9_SETATTR_MTIME_SET	0x100
#define P9_SETATTR_ALL		0x1ff

#define P9_GETATTR_BASIC	0x7ffULL	/* mode .. blocks */

#define P9_LOCK_RDLCK		0
#define P9_LOCK_WRLCK		1
#define P9_LOCK_UNLCK		2
#define P9_LOCK_SUCCESS		0
#define P9_LOCK_BLOCKED		1
#define P9_LOCK_ERROR		2

#define FID_BUCKETS		4096
#define REQ_MAX			16384	/* any T-message but Twrite's data */
#define DENTS_SIZE		32768
#define CLIENT_ID_MAX		1024
#define VERSION_MAX		64
#define DOTDOT_MAX_DEPTH	4096
#define P9_IOV_MAX		1024	/* IOV_MAX on Linux */
#define P9_SETID		(S_ISUID | S_ISGID)

enum fid_kind {
	FID_FILE,		/* a file system object */
	FID_XATTR_READ,		/* Txattrwalk result: a snapshot to Tread */
	FID_XATTR_WRITE,	/* Txattrcreate: Twrite fills, Tclunk sets */
};

struct p9_fid {
	u32 num;
	enum fid_kind kind;
	int fd;			/* O_PATH (or any) fd; -1 for xattr reads */
	int ofd;		/* opened for I/O by Tlopen/Tlcreate, or -1 */
	bool isdir;		/* ofd is a directory (Treaddir) */
	/*
	 * Parent directory and name, when the fid was reached by a walk:
	 * only Tremove and Trename need them (they name no directory), and
	 * they are checked against fd's inode before use.
	 */
	int pfd;
	char *name;
	/*
	 * What never changes for the inode fd holds, from the fstat that
	 * made the fid (walk, attach, create): its type, device and inode
	 * number, i.e. its qid. Lets Tlopen for reading skip an fstat.
	 */
	mode_t ftype;		/* S_IFMT bits, or 0: unknown */
	dev_t dev;
	ino_t ino;
	u32 uid;		/* Tattach n_uname, inherited by walks */
	/* extended attributes */
	char *xname;
	u8 *xbuf;
	size_t xcharge;		/* bytes of xbuf charged to xattr_bytes */
	size_t xsize;		/* value size (read: snapshot length) */
	size_t xlen;		/* bytes written so far */
	int xflags;
	struct p9_fid *next;	/* hash chain */
};

struct p9_server {
	int root_fd;
	dev_t root_dev;
	ino_t root_ino;
	int proc_fd;		/* /proc/self/fd, or -1 */
	bool readonly;
	bool privileged;	/* euid 0: honour the guest's owners */
	bool no_openat2;	/* the kernel said ENOSYS once */
	u32 msize;
	unsigned int nr_fids;
	u64 nr_type[256];	/* requests served, by T-message type */
	size_t xattr_bytes;	/* all fids' xbufs, <= P9_XATTR_TOTAL_MAX */
	struct p9_fid *fids[FID_BUCKETS];
	u8 req[REQ_MAX];
	u8 *rbuf;		/* P9_MAX_MSIZE: replies but Rread data */
	void *dents;		/* getdents64 buffer */
	struct iovec iov[P9_IOV_MAX];
};

/* ---- message decoding and encoding ---- */

/* A cursor over the request; the first error sticks (an -errno). */
struct p9_rd {
	const u8 *p;
	size_t len, off;
	int err;
};

struct p9_wr {
	u8 *p;
	size_t cap, off;
	bool overflow;
};

/* One request in flight through the handlers. */
struct p9_req {
	struct p9_rd r;
	struct p9_wr w;
	u8 type;
	u32 size;		/* the message's size field, <= out_len */
	const struct iovec *out, *in;
	unsigned int out_num, in_num;
	size_t in_len;
	size_t payload;		/* bytes already placed in @in after w */
};

static const u8 *rd_take(struct p9_rd *r, size_t n)
{
	const u8 *p;

	if (r->err)
		return NULL;
	if (n > r->len - r->off) {
		r->err = -EPROTO;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static u8 rd8(struct p9_rd *r)
{
	const u8 *p = rd_take(r, 1);

	return p ? p[0] : 0;
}

static u16 rd16(struct p9_rd *r)
{
	const u8 *p = rd_take(r, 2);

	return p ? get_le16(p) : 0;
}

static u32 rd32(struct p9_rd *r)
{
	const u8 *p = rd_take(r, 4);

	return p ? get_le32(p) : 0;
}

static u64 rd64(struct p9_rd *r)
{
	u64 lo = rd32(r);

	return lo | (u64)rd32(r) << 32;
}

/*
 * A string[s] into @buf (NUL-terminated, @size with the NUL). Refuses
 * strings running past the message, longer than @size - 1 bytes, or
 * holding a NUL, which would silently shorten a name.
 */
static char *rdstr(struct p9_rd *r, char *buf, size_t size)
{
	u16 len = rd16(r);
	const u8 *p = rd_take(r, len);

	buf[0] = '\0';
	if (!p)
		return buf;
	if (len >= size) {
		r->err = -ENAMETOOLONG;
		return buf;
	}
	if (memchr(p, '\0', len)) {
		r->err = -EINVAL;
		return buf;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

static u8 *wr_take(struct p9_wr *w, size_t n)
{
	u8 *p;

	if (w->overflow || n > w->cap - w->off) {
		w->overflow = true;
		return NULL;
	}
	p = w->p + w->off;
	w->off += n;
	return p;
}

static void wr8(struct p9_wr *w, u8 v)
{
	u8 *p = wr_take(w, 1);

	if (p)
		p[0] = v;
}

static void wr16(struct p9_wr *w, u16 v)
{
	u8 *p = wr_take(w, 2);

	if (p)
		put_le16(p, v);
}

static void wr32(struct p9_wr *w, u32 v)
{
	u8 *p = wr_take(w, 4);

	if (p)
		put_le32(p, v);
}

static void wr64(struct p9_wr *w, u64 v)
{
	wr32(w, (u32)v);
	wr32(w, (u32)(v >> 32));
}

static void wrdata(struct p9_wr *w, const void *data, size_t len)
{
	u8 *p = wr_take(w, len);

	if (p && len)
		memcpy(p, data, len);
}

static void wrstr(struct p9_wr *w, const char *s)
{
	size_t len = strnlen(s, 0xffff);

	wr16(w, (u16)len);
	wrdata(w, s, len);
}

/* ---- fid table: chained hash, bounded ---- */

static unsigned int fid_hash(u32 num)
{
	return (num * 2654435761u) >> 20 & (FID_BUCKETS - 1);
}

static struct p9_fid *fid_get(struct p9_server *s, u32 num)
{
	struct p9_fid *f = NULL;

	for (f = s->fids[fid_hash(num)]; f; f = f->next)
		if (f->num == num)
			return f;
	return NULL;
}

/* A new, empty fid: -EEXIST if @num is taken, -ENFILE if the table is full. */
static int fid_new(struct p9_server *s, u32 num, u32 uid, struct p9_fid **fp)
{
	struct p9_fid *f = NULL;
	unsigned int h = fid_hash(num);

	if (num == P9_NOFID)
		return -EBADF;
	if (fid_get(s, num))
		return -EEXIST;
	if (s->nr_fids >= P9_MAX_FIDS)
		return -ENFILE;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->num = num;
	f->kind = FID_FILE;
	f->fd = f->ofd = f->pfd = -1;
	f->uid = uid;
	f->next = s->fids[h];
	s->fids[h] = f;
	s->nr_fids++;
	*fp = f;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * An xattr buffer of @size bytes charged to the export's budget, or NULL
 * (the budget is spent, or malloc failed): the request fails with ENOMEM.
 */
static u8 *xbuf_get(struct p9_server *s, size_t size)
{
	u8 *buf;

	size = MAX(size, (size_t)1);
	if (size > P9_XATTR_TOTAL_MAX - s->xattr_bytes)
		return NULL;
	buf = calloc(1, size);
	if (buf)
		s->xattr_bytes += size;
	return buf;
}

static void xbuf_put(struct p9_server *s, u8 *buf, size_t size)
{
	if (!buf)
		return;
	s->xattr_bytes -= MAX(size, (size_t)1);
	free(buf);
}

static void fid_clear(struct p9_server *s, struct p9_fid *f)
{
	close_fd(&f->fd);
	close_fd(&f->ofd);
	close_fd(&f->pfd);
	free(f->name);
	free(f->xname);
	xbuf_put(s, f->xbuf, f->xcharge);
	f->name = f->xname = NULL;
	f->xbuf = NULL;
	f->xcharge = 0;
	f->isdir = false;
	f->kind = FID_FILE;
}

static void fid_free(struct p9_server *s, struct p9_fid *f)
{
	struct p9_fid **pp = &s->fids[fid_hash(f->num)];

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	fid_clear(s, f);
	free(f);
	s->nr_fids--;
}

static void fid_free_all(struct p9_server *s)
{
	unsigned int i;

	for (i = 0; i < FID_BUCKETS; i++)
		while (s->fids[i])
			fid_free(s, s->fids[i]);
}

/* A fid naming a file system object (not an xattr transfer). */
static int file_fid(struct p9_server *s, u32 num, struct p9_fid **fp)
{
	struct p9_fid *f = fid_get(s, num);

	if (!f || f->kind != FID_FILE || f->fd < 0)
		return -EBADF;
	*fp = f;
	return 0;
}

/* Remember @st's immutable part: see struct p9_fid's ftype. */
static void fid_ident(struct p9_fid *f, const struct stat *st)
{
	f->ftype = st->st_mode & S_IFMT;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
}

/* ---- containment primitives ---- */

static int dup_fd(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return n < 0 ? -errno : n;
}

/* Names of directory entries: one component, never "." or "..". */
static int check_name(const char *name)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

/*
 * Open @name in @dirfd without following any symlink, not even a
 * trailing one (with O_PATH it is opened as itself). @name is a single
 * validated component; RESOLVE_BENEATH is a second line of defence.
 */
static int lookup_at(struct p9_server *s, int dirfd, const char *name,
		     int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (u64)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!s->no_openat2) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		s->no_openat2 = true;
	}
	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : (int)fd;
}

static int fd_stat(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool is_root(struct p9_server *s, const struct stat *st)
{
	return st->st_dev == s->root_dev && st->st_ino == s->root_ino;
}

/*
 * Is @fd's directory still inside the export? Walk up to the root; the
 * host's "/" is its own parent, which tells us we left.
 */
static int check_beneath_root(struct p9_server *s, int fd)
{
	struct stat st, up_st;
	int cur, up, depth, ret = -ENOENT;

	cur = dup_fd(fd);
	if (cur < 0)
		return cur;
	for (depth = 0; depth < DOTDOT_MAX_DEPTH; depth++) {
		ret = fd_stat(cur, &st);
		if (ret)
			break;
		if (is_root(s, &st))
			break;
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			ret = -errno;
			break;
		}
		ret = fd_stat(up, &up_st);
		close(cur);
		cur = up;
		if (!ret && same_inode(&st, &up_st))
			ret = -ENOENT;
		if (ret)
			break;
	}
	if (depth == DOTDOT_MAX_DEPTH)
		ret = -ELOOP;
	close(cur);
	return ret;
}

static int walk_dotdot(struct p9_server *s, int dirfd)
{
	struct stat st;
	int fd, ret;

	ret = fd_stat(dirfd, &st);
	if (ret)
		return ret;
	if (is_root(s, &st))
		return dup_fd(s->root_fd);	/* ".." of the root is the root */
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	fd = openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = check_beneath_root(s, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int walk_one(struct p9_server *s, int dirfd, const char *name)
{
	if (!strcmp(name, ".."))
		return walk_dotdot(s, dirfd);
	if (check_name(name))
		return -EINVAL;
	return lookup_at(s, dirfd, name, O_PATH, 0);
}

static void proc_name(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "%d", fd);
}

static void proc_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/*
 * Open the regular file or directory @f holds, for I/O with @flags.
 * Through /proc/self/fd the inode is exactly the fid's; by name we
 * check that it still is.
 */
static int reopen(struct p9_server *s, struct p9_fid *f, int flags)
{
	struct stat want, got;
	char buf[32];
	int fd, ret;

	flags |= O_CLOEXEC | O_NOCTTY;
	if (s->proc_fd >= 0) {
		proc_name(f->fd, buf, sizeof(buf));
		fd = openat(s->proc_fd, buf, flags);
		return fd < 0 ? -errno : fd;
	}
	if (f->pfd < 0 || !f->name)
		return -EOPNOTSUPP;
	ret = fd_stat(f->fd, &want);
	if (ret)
		return ret;
	/* Non-blocking, in case a FIFO took the name meanwhile. */
	fd = lookup_at(s, f->pfd, f->name, flags | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	ret = fd_stat(fd, &got);
	if (!ret && !same_inode(&want, &got))
		ret = -ESTALE;
	if (!ret && !(flags & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* chmod the inode @fd holds (an O_PATH fd cannot fchmod). */
static int fd_chmod(struct p9_server *s, int fd, mode_t mode)
{
	char buf[32];

	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	proc_name(fd, buf, sizeof(buf));
	if (fchmodat(s->proc_fd, buf, mode, 0) < 0)
		return -errno;
	return 0;
}

/* A mode from the guest, without the set-id bits it may never set. */
static mode_t guest_mode(u32 mode)
{
	return mode & 07777 & ~P9_SETID;
}

/*
 * Clear the set-id bits of the object @fd holds (@st), if it has any:
 * before a chown, a truncate or an open for writing. Symlinks have none
 * that mean anything; the /proc magic link is never a symlink's target.
 * Without /proc this fails (EOPNOTSUPP), and so does the operation.
 */
static int strip_setid(struct p9_server *s, int fd, const struct stat *st)
{
	if (S_ISLNK(st->st_mode) || !(st->st_mode & P9_SETID))
		return 0;
	return fd_chmod(s, fd, st->st_mode & 07777 & ~P9_SETID);
}

static u64 qid_path(struct p9_server *s, dev_t dev, ino_t ino)
{
	u64 path = ino;

	/*
	 * Files on other file systems below the export (the sandbox exports
	 * "/") may share inode numbers with ours: fold the device into the
	 * top bits, which inode numbers practically never use.
	 */
	if (dev != s->root_dev)
		path ^= (u64)((major(dev) * 131 + minor(dev) + 1) & 0xffff) << 48;
	return path;
}

static void wrqid(struct p9_server *s, struct p9_wr *w, const struct stat *st)
{
	u8 type = P9_QTFILE;

	if (S_ISDIR(st->st_mode))
		type = P9_QTDIR;
	else if (S_ISLNK(st->st_mode))
		type = P9_QTSYMLINK;
	wr8(w, type);
	wr32(w, 0);		/* version: we keep no change counter */
	wr64(w, qid_path(s, st->st_dev, st->st_ino));
}

/*
 * Operations with side effects check first that their reply will fit:
 * failing after the fact would leave the client unaware of the change.
 */
static int need_room(struct p9_req *rq, size_t body)
{
	return rq->w.cap - rq->w.off < body ? -EMSGSIZE : 0;
}

/* ---- session ---- */

static int do_version(struct p9_server *s, struct p9_req *rq)
{
	char version[VERSION_MAX];
	u32 msize = rd32(&rq->r);

	rdstr(&rq->r, version, sizeof(version));
	if (rq->r.err == -ENAMETOOLONG || rq->r.err == -EINVAL) {
		rq->r.err = 0;
		strcpy(version, "unknown");
	}
	if (rq->r.err)
		return rq->r.err;
	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	/* A new session: every fid of the old one is gone. */
	fid_free_all(s);
	s->msize = MIN(msize, P9_MAX_MSIZE);
	wr32(&rq->w, s->msize);
	wrstr(&rq->w, strcmp(version, "9P2000.L") ? "unknown" : "9P2000.L");
	return 0;
}

static int do_attach(struct p9_server *s, struct p9_req *rq)
{
	char uname[256], aname[PATH_MAX];
	struct p9_fid *f = NULL;
	struct stat st;
	u32 fid, afid, uid;
	int ret;

	fid = rd32(&rq->r);
	afid = rd32(&rq->r);
	rdstr(&rq->r, uname, sizeof(uname));
	rdstr(&rq->r, aname, sizeof(aname));	/* any: we export one tree */
	uid = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (afid != P9_NOFID)
		return -EOPNOTSUPP;	/* no authentication */
	if (uid == P9_NONUNAME)
		uid = 0;
	ret = fid_new(s, fid, uid, &f);
	if (ret)
		return ret;
	f->fd = dup_fd(s->root_fd);
	ret = f->fd < 0 ? f->fd : fd_stat(f->fd, &st);
	if (ret) {
		fid_free(s, f);
		return ret;
	}
	fid_ident(f, &st);
	wrqid(s, &rq->w, &st);
	return 0;
}

static int do_flush(struct p9_server *s, struct p9_req *rq)
{
	rd16(&rq->r);		/* oldtag: requests complete in order */
	return rq->r.err;
}

static int do_clunk(struct p9_server *s, struct p9_req *rq)
{
	struct p9_fid *f = fid_get(s, rd32(&rq->r));
	char path[48];
	int ret = 0;

	if (rq->r.err)
		return rq->r.err;
	if (!f)
		return -EBADF;
	/* Txattrcreate's value is set when the fid is clunked. */
	if (f->kind == FID_XATTR_WRITE) {
		proc_path(f->fd, path, sizeof(path));
		if (f->xlen != f->xsize)
			ret = -EINVAL;
		else if (!f->xsize)
			ret = removexattr(path, f->xname) ? -errno : 0;
		else
			ret = setxattr(path, f->xname, f->xbuf, f->xsize,
				       f->xflags) ? -errno : 0;
	}
	fid_free(s, f);
	return ret;
}

/* ---- walking ---- */

/*
 * Give @f the new object: @fd, its parent @pfd and @name (all owned),
 * which @st describes.
 */
static void fid_set(struct p9_fid *f, int fd, int pfd, char *name,
		    const struct stat *st)
{
	close_fd(&f->fd);
	close_fd(&f->ofd);
	close_fd(&f->pfd);
	free(f->name);
	f->fd = fd;
	f->pfd = pfd;
	f->name = name;
	f->isdir = false;
	fid_ident(f, st);
}

static int clone_fid(struct p9_server *s, struct p9_fid *f, u32 newnum)
{
	struct p9_fid *nf;
	int fd, pfd = -1, ret;
	char *name = NULL;

	if (newnum == f->num)
		return 0;
	fd = dup_fd(f->fd);
	if (fd < 0)
		return fd;
	if (f->pfd >= 0) {
		pfd = dup_fd(f->pfd);
		name = strdup(f->name);
		if (pfd < 0 || !name) {
			ret = pfd < 0 ? pfd : -ENOMEM;
			goto err;
		}
	}
	ret = fid_new(s, newnum, f->uid, &nf);
	if (ret)
		goto err;
	fid_set(nf, fd, pfd, name, &(struct stat) {
		.st_mode = f->ftype, .st_dev = f->dev, .st_ino = f->ino });
	return 0;
err:
	free(name);
	close_fd(&pfd);
	close(fd);
	return ret;
}

static int do_walk(struct p9_server *s, struct p9_req *rq)
{
	char names[P9_MAXWELEM][NAME_MAX + 1];
	int cur, parent = -1, ret = 0;
	u32 fidnum, newnum;
	struct p9_fid *f = NULL, *nf = NULL;
	unsigned int i, n;
	struct stat st;
	u16 nwname;
	u8 *nwqid;
	char *name;

	fidnum = rd32(&rq->r);
	newnum = rd32(&rq->r);
	nwname = rd16(&rq->r);
	if (!rq->r.err && nwname > P9_MAXWELEM)
		return -EINVAL;
	for (i = 0; i < nwname && !rq->r.err; i++)
		rdstr(&rq->r, names[i], sizeof(names[i]));
	if (rq->r.err)
		return rq->r.err;
	ret = file_fid(s, fidnum, &f);
	if (!ret)
		ret = need_room(rq, 2 + (size_t)nwname * P9_QID_SIZE);
	if (ret)
		return ret;
	if (newnum != fidnum && fid_get(s, newnum))
		return -EEXIST;

	nwqid = wr_take(&rq->w, 2);
	if (!nwname) {
		ret = clone_fid(s, f, newnum);
		if (!ret && nwqid)
			nwqid[0] = nwqid[1] = 0;
		return ret;
	}
	/* Keep the last two fds: the object and the directory holding it. */
	cur = f->fd;
	for (n = 0; n < nwname; n++) {
		int next = walk_one(s, cur, names[n]);

		if (next < 0) {
			ret = next;
			break;
		}
		ret = fd_stat(next, &st);
		if (!ret)
			wrqid(s, &rq->w, &st);
		if (parent >= 0)
			close(parent);
		parent = cur == f->fd ? -1 : cur;
		cur = next;
		if (ret)
			break;
	}
	/* The first element failed: an error. Later ones: a partial walk. */
	if (n == 0)
		goto out;
	if (nwqid) {
		nwqid[0] = (u8)n;
		nwqid[1] = 0;
	}
	ret = 0;
	if (n < nwname)
		goto out;

	if (parent < 0)
		parent = dup_fd(f->fd);
	name = strcmp(names[n - 1], "..") ? strdup(names[n - 1]) : NULL;
	if (newnum == fidnum) {
		nf = f;
	} else {
		ret = fid_new(s, newnum, f->uid, &nf);
		if (ret)
			goto out_name;
	}
	/* ".."'s parent is not known: the fid cannot be removed by name. */
	if (!name)
		close_fd(&parent);
	fid_set(nf, cur, parent, name, &st);
	return 0;
out_name:
	free(name);
out:
	if (parent >= 0)
		close(parent);
	if (cur != f->fd)
		close(cur);
	return ret;
}

/* ---- attributes ---- */

static int do_getattr(struct p9_server *s, struct p9_req *rq)
{
	struct p9_wr *w = &rq->w;
	struct p9_fid *f = NULL;
	struct stat st;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	rd64(&rq->r);		/* request_mask: we always fill the basics */
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	ret = fd_stat(f->fd, &st);
	if (ret)
		return ret;
	wr64(w, P9_GETATTR_BASIC);
	wrqid(s, w, &st);
	wr32(w, st.st_mode);
	wr32(w, st.st_uid);
	wr32(w, st.st_gid);
	wr64(w, st.st_nlink);
	wr64(w, st.st_rdev);
	wr64(w, st.st_size);
	wr64(w, st.st_blksize);
	wr64(w, st.st_blocks);
	wr64(w, st.st_atim.tv_sec);
	wr64(w, st.st_atim.tv_nsec);
	wr64(w, st.st_mtim.tv_sec);
	wr64(w, st.st_mtim.tv_nsec);
	wr64(w, st.st_ctim.tv_sec);
	wr64(w, st.st_ctim.tv_nsec);
	wr64(w, 0);		/* btime, gen, data_version: not provided */
	wr64(w, 0);
	wr64(w, 0);
	wr64(w, 0);
	return 0;
}

static int set_size(struct p9_server *s, struct p9_fid *f,
		    const struct stat *st, u64 size)
{
	int fd, ret = 0;

	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (size > INT64_MAX)
		return -EFBIG;
	ret = strip_setid(s, f->fd, st);
	if (ret)
		return ret;
	/* An fd opened for writing may truncate whatever the mode says now. */
	if (f->ofd >= 0 && (fcntl(f->ofd, F_GETFL) & O_ACCMODE) != O_RDONLY)
		return ftruncate(f->ofd, (off_t)size) ? -errno : 0;
	fd = reopen(s, f, O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size))
		ret = -errno;
	close(fd);
	return ret;
}

static int set_time(u32 valid, u32 now_bit, u32 set_bit, u64 sec, u64 nsec,
		    struct timespec *ts)
{
	ts->tv_sec = 0;
	if (!(valid & now_bit)) {
		ts->tv_nsec = UTIME_OMIT;
	} else if (!(valid & set_bit)) {
		ts->tv_nsec = UTIME_NOW;
	} else {
		if (nsec >= 1000000000 || sec > INT64_MAX)
			return -EINVAL;
		ts->tv_sec = (time_t)sec;
		ts->tv_nsec = (long)nsec;
	}
	return 0;
}

static int set_times(struct p9_server *s, int fd, const struct timespec ts[2])
{
	char buf[32];

	if (!utimensat(fd, "", ts, AT_EMPTY_PATH))
		return 0;
	/* Kernels before 5.8 take no AT_EMPTY_PATH here. */
	if (errno != EINVAL || s->proc_fd < 0)
		return -errno;
	proc_name(fd, buf, sizeof(buf));
	return utimensat(s->proc_fd, buf, ts, 0) ? -errno : 0;
}

static int do_setattr(struct p9_server *s, struct p9_req *rq)
{
	u64 size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
	u32 valid, mode, uid, gid;
	struct timespec ts[2];
	struct p9_fid *f = NULL;
	struct stat st;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	valid = rd32(&rq->r);
	mode = rd32(&rq->r);
	uid = rd32(&rq->r);
	gid = rd32(&rq->r);
	size = rd64(&rq->r);
	atime_sec = rd64(&rq->r);
	atime_nsec = rd64(&rq->r);
	mtime_sec = rd64(&rq->r);
	mtime_nsec = rd64(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (valid & ~P9_SETATTR_ALL)
		return -EINVAL;
	if (s->readonly && valid)
		return -EROFS;
	ret = fd_stat(f->fd, &st);
	if (ret)
		return ret;
	/*
	 * Set-id bits go before the chown, so that no moment has a set-id
	 * file with its new owner: the kernel leaves some (directories,
	 * setgid without group execute) and root's chown keeps none here.
	 */
	if (valid & (P9_SETATTR_UID | P9_SETATTR_GID)) {
		ret = strip_setid(s, f->fd, &st);
		if (ret)
			return ret;
		if (fchownat(f->fd, "", valid & P9_SETATTR_UID ? uid : (u32)-1,
			     valid & P9_SETATTR_GID ? gid : (u32)-1,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (valid & P9_SETATTR_MODE) {
		if (S_ISLNK(st.st_mode))
			return -EOPNOTSUPP;
		ret = fd_chmod(s, f->fd, guest_mode(mode));
		if (ret)
			return ret;
	}
	if (valid & P9_SETATTR_SIZE) {
		ret = set_size(s, f, &st, size);
		if (ret)
			return ret;
	}
	/* CTIME alone: any change above already updated it. */
	if (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) {
		ret = set_time(valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET,
			       atime_sec, atime_nsec, &ts[0]);
		if (!ret)
			ret = set_time(valid, P9_SETATTR_MTIME,
				       P9_SETATTR_MTIME_SET, mtime_sec,
				       mtime_nsec, &ts[1]);
		if (!ret)
			ret = set_times(s, f->fd, ts);
	}
	return ret;
}

static int do_statfs(struct p9_server *s, struct p9_req *rq)
{
	struct p9_wr *w = &rq->w;
	struct p9_fid *f = NULL;
	struct statfs sf;
	u64 fsid;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (fstatfs(f->fd, &sf))
		return -errno;
	memcpy(&fsid, &sf.f_fsid, MIN(sizeof(fsid), sizeof(sf.f_fsid)));
	wr32(w, (u32)sf.f_type);
	wr32(w, (u32)sf.f_bsize);
	wr64(w, sf.f_blocks);
	wr64(w, sf.f_bfree);
	wr64(w, sf.f_bavail);
	wr64(w, sf.f_files);
	wr64(w, sf.f_ffree);
	wr64(w, fsid);
	wr32(w, (u32)sf.f_namelen);
	return 0;
}

/* ---- opening, creating ---- */

/* Host open flags for the guest's, minus what a server must not honour. */
static int host_open_flags(u32 flags)
{
	int oflags = flags & P9_DOTL_ACCMODE;

	if (flags & P9_DOTL_TRUNC)
		oflags |= O_TRUNC;
	if (flags & P9_DOTL_APPEND)
		oflags |= O_APPEND;
	if (flags & P9_DOTL_DSYNC)
		oflags |= O_DSYNC;
	if (flags & P9_DOTL_SYNC)
		oflags |= O_SYNC;
	/*
	 * Dropped: O_DIRECT (the guest's buffers need not be aligned),
	 * O_NOATIME (EPERM unless we own the file), FASYNC, O_NOFOLLOW and
	 * O_CREAT/O_EXCL (handled by us), O_NONBLOCK (meaningless for the
	 * regular files we open).
	 */
	return oflags | O_LARGEFILE | O_NOCTTY | O_CLOEXEC;
}

static bool writes(u32 flags)
{
	return (flags & P9_DOTL_ACCMODE) != 0 || (flags & P9_DOTL_TRUNC);
}

/*
 * The type and qid of @f's object for Tlopen: what the fid learnt when it
 * was made, unless a writer's open needs the current mode (set-id bits).
 */
static int lopen_stat(struct p9_fid *f, bool writer, struct stat *st)
{
	if (writer || !f->ftype)
		return fd_stat(f->fd, st);
	*st = (struct stat) {
		.st_mode = f->ftype, .st_dev = f->dev, .st_ino = f->ino,
	};
	return 0;
}

static int do_lopen(struct p9_server *s, struct p9_req *rq)
{
	struct p9_fid *f = NULL;
	struct stat st;
	u32 flags;
	int fd, ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	flags = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (f->ofd >= 0)
		return -EINVAL;		/* already open */
	if ((flags & P9_DOTL_ACCMODE) == P9_DOTL_ACCMODE)
		return -EINVAL;
	ret = lopen_stat(f, writes(flags), &st);
	if (ret)
		return ret;
	if (s->readonly && writes(flags))
		return -EROFS;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;		/* never followed */
	if (S_ISDIR(st.st_mode)) {
		if (flags & (P9_DOTL_ACCMODE | P9_DOTL_TRUNC))
			return -EISDIR;
		fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		if (flags & P9_DOTL_DIRECTORY)
			return -ENOTDIR;
		ret = writes(flags) ? strip_setid(s, f->fd, &st) : 0;
		if (ret)
			return ret;
		fd = reopen(s, f, host_open_flags(flags));
		if (fd < 0)
			return fd;
	} else {
		/* Devices, FIFOs, sockets: the client handles them itself. */
		return -EOPNOTSUPP;
	}
	f->ofd = fd;
	f->isdir = S_ISDIR(st.st_mode);
	wrqid(s, &rq->w, &st);
	wr32(&rq->w, 0);	/* iounit: let the client use msize */
	return 0;
}

/*
 * Give a new object the guest's owner when we can (root), and the exact
 * mode it asked for: our umask must not apply, the guest applied its own.
 */
static int fix_owner_mode(struct p9_server *s, int fd, u32 uid, u32 gid,
			  mode_t mode, bool chmod_ok, struct stat *st)
{
	int ret = fd_stat(fd, st);

	if (ret)
		return ret;
	/*
	 * Only what differs: a chown would not change the mode we just read
	 * (it clears set-id bits, and the guest's mode has none) nor the
	 * type and inode the caller replies from @st.
	 */
	if (s->privileged && (st->st_uid != uid || st->st_gid != gid) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!chmod_ok || (st->st_mode & 07777) == mode)
		return 0;
	ret = fd_chmod(s, fd, mode);
	return ret == -EOPNOTSUPP ? 0 : ret;
}

/* Open an existing @name for Tlcreate without O_EXCL: regular files only. */
static int open_existing(struct p9_server *s, int dirfd, const char *name,
			 int oflags)
{
	struct p9_fid tmp = { .fd = -1, .pfd = dirfd, .name = (char *)name };
	struct stat st;
	int fd, ret;

	tmp.fd = lookup_at(s, dirfd, name, O_PATH, 0);
	if (tmp.fd < 0)
		return tmp.fd;
	ret = fd_stat(tmp.fd, &st);
	if (!ret && S_ISLNK(st.st_mode))
		ret = -ELOOP;
	else if (!ret && S_ISDIR(st.st_mode))
		ret = -EISDIR;
	else if (!ret && !S_ISREG(st.st_mode))
		ret = -EEXIST;
	if (!ret && (oflags & (O_ACCMODE | O_TRUNC)))
		ret = strip_setid(s, tmp.fd, &st);
	fd = ret ? ret : reopen(s, &tmp, oflags);
	close(tmp.fd);
	return fd;
}

/*
 * An O_PATH fd for the file @fd has open, created as @name in @dirfd. Not
 * a dup: that would share the open file, keeping its access mode and its
 * OFD locks alive as long as the fid or its clones live.
 */
static int path_fd(struct p9_server *s, int fd, int dirfd, const char *name)
{
	struct stat want, got;
	char buf[32];
	int pfd, ret;

	if (s->proc_fd >= 0) {
		proc_name(fd, buf, sizeof(buf));
		pfd = openat(s->proc_fd, buf, O_PATH | O_CLOEXEC);
		return pfd < 0 ? -errno : pfd;
	}
	pfd = lookup_at(s, dirfd, name, O_PATH, 0);
	if (pfd < 0)
		return pfd;
	ret = fd_stat(fd, &want);
	if (!ret)
		ret = fd_stat(pfd, &got);
	if (!ret && !same_inode(&want, &got))
		ret = -ESTALE;
	if (ret) {
		close(pfd);
		return ret;
	}
	return pfd;
}

static int do_lcreate(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1];
	u32 flags, mode, gid;
	bool created = true;
	struct p9_fid *f = NULL;
	struct stat st;
	int fd, pathfd, dirfd, ret, oflags;
	char *dup_name;

	ret = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	flags = rd32(&rq->r);
	mode = guest_mode(rd32(&rq->r));
	gid = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (s->readonly)
		return -EROFS;
	if (check_name(name) || f->ofd >= 0 ||
	    (flags & P9_DOTL_ACCMODE) == P9_DOTL_ACCMODE)
		return -EINVAL;
	ret = need_room(rq, P9_QID_SIZE + 4);
	if (ret)
		return ret;
	oflags = host_open_flags(flags);
	fd = lookup_at(s, f->fd, name, oflags | O_CREAT | O_EXCL, mode);
	if (fd == -EEXIST && !(flags & P9_DOTL_EXCL)) {
		created = false;
		fd = open_existing(s, f->fd, name, oflags);
	}
	if (fd < 0)
		return fd;
	if (created)
		ret = fix_owner_mode(s, fd, f->uid, gid, mode, true, &st);
	else
		ret = fd_stat(fd, &st);
	if (ret)
		goto err_unlink;
	wrqid(s, &rq->w, &st);
	wr32(&rq->w, 0);
	pathfd = path_fd(s, fd, f->fd, name);
	dup_name = strdup(name);
	if (pathfd < 0 || !dup_name) {
		ret = pathfd < 0 ? pathfd : -ENOMEM;
		free(dup_name);
		close_fd(&pathfd);
		goto err_unlink;
	}
	/* The fid now is the new file, open; the directory its parent. */
	dirfd = f->fd;
	f->fd = -1;
	fid_set(f, pathfd, dirfd, dup_name, &st);
	f->ofd = fd;
	return 0;
err_unlink:
	if (created)
		unlinkat(f->fd, name, 0);
	close(fd);
	return ret;
}

/* Look up what mkdir/mknod/symlink made, fix it up, and reply its qid. */
static int finish_create(struct p9_server *s, struct p9_req *rq, int dirfd,
			 const char *name, u32 uid, u32 gid, mode_t mode,
			 bool chmod_ok, int rmflags)
{
	struct stat st;
	int fd, ret;

	fd = lookup_at(s, dirfd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	ret = fix_owner_mode(s, fd, uid, gid, mode, chmod_ok, &st);
	if (!ret)
		wrqid(s, &rq->w, &st);
	close(fd);
	if (ret)
		unlinkat(dirfd, name, rmflags);
	return ret;
}

static int do_mkdir(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1];
	struct p9_fid *f = NULL;
	u32 mode, gid;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	mode = guest_mode(rd32(&rq->r));
	gid = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (s->readonly)
		return -EROFS;
	if (check_name(name))
		return -EINVAL;
	ret = need_room(rq, P9_QID_SIZE);
	if (ret)
		return ret;
	if (mkdirat(f->fd, name, mode))
		return -errno;
	return finish_create(s, rq, f->fd, name, f->uid, gid, mode, true,
			     AT_REMOVEDIR);
}

static int do_mknod(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1];
	u32 mode, major, minor, gid;
	struct p9_fid *f = NULL;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	mode = rd32(&rq->r);
	major = rd32(&rq->r);
	minor = rd32(&rq->r);
	gid = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (s->readonly)
		return -EROFS;
	if (check_name(name))
		return -EINVAL;
	ret = need_room(rq, P9_QID_SIZE);
	if (ret)
		return ret;
	/*
	 * No device nodes: one made by a root guest would be a door into
	 * the host's devices for anyone on the host who can reach the
	 * export. The guest's own /dev lives in its devtmpfs anyway.
	 */
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		return -EPERM;
	default:
		return -EINVAL;
	}
	if (mknodat(f->fd, name, (mode & S_IFMT) | guest_mode(mode),
		    makedev(major, minor)))
		return -errno;
	return finish_create(s, rq, f->fd, name, f->uid, gid, guest_mode(mode),
			     true, 0);
}

static int do_symlink(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1], target[PATH_MAX];
	struct p9_fid *f = NULL;
	u32 gid;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	rdstr(&rq->r, target, sizeof(target));
	gid = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (s->readonly)
		return -EROFS;
	if (check_name(name))
		return -EINVAL;
	ret = need_room(rq, P9_QID_SIZE);
	if (ret)
		return ret;
	/* Any target: the server never follows it, only the guest does. */
	if (symlinkat(target, f->fd, name))
		return -errno;
	return finish_create(s, rq, f->fd, name, f->uid, gid, 0, false, 0);
}

static int do_link(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1], src[32];
	struct p9_fid *dir = NULL, *f = NULL;
	int ret, ret2;

	ret = file_fid(s, rd32(&rq->r), &dir);
	ret2 = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	if (rq->r.err)
		return rq->r.err;
	if (ret || ret2)
		return ret ? ret : ret2;
	if (s->readonly)
		return -EROFS;
	if (check_name(name))
		return -EINVAL;
	/*
	 * Link the inode the fid holds. Following the /proc magic link lands
	 * on that inode, a symlink included, never on a symlink's target.
	 */
	if (s->proc_fd >= 0) {
		proc_name(f->fd, src, sizeof(src));
		if (linkat(s->proc_fd, src, dir->fd, name, AT_SYMLINK_FOLLOW))
			return -errno;
		return 0;
	}
	if (linkat(f->fd, "", dir->fd, name, AT_EMPTY_PATH))
		return -errno;
	return 0;
}

static int do_readlink(struct p9_server *s, struct p9_req *rq)
{
	char target[PATH_MAX];
	struct p9_fid *f = NULL;
	ssize_t len;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	len = readlinkat(f->fd, "", target, sizeof(target));
	if (len < 0)
		return -errno;
	if ((size_t)len >= sizeof(target))
		return -ENAMETOOLONG;
	target[len] = '\0';
	wrstr(&rq->w, target);
	return 0;
}

/* ---- removing, renaming ---- */

static int do_unlinkat(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1];
	struct p9_fid *f = NULL;
	u32 flags;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	flags = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (flags & ~P9_DOTL_AT_REMOVEDIR)
		return -EINVAL;
	if (s->readonly)
		return -EROFS;
	if (check_name(name))
		return -EINVAL;
	if (unlinkat(f->fd, name, flags ? AT_REMOVEDIR : 0))
		return -errno;
	return 0;
}

static int do_renameat(struct p9_server *s, struct p9_req *rq)
{
	char oldname[NAME_MAX + 1], newname[NAME_MAX + 1];
	struct p9_fid *od = NULL, *nd = NULL;
	int ret, ret2;

	ret = file_fid(s, rd32(&rq->r), &od);
	rdstr(&rq->r, oldname, sizeof(oldname));
	ret2 = file_fid(s, rd32(&rq->r), &nd);
	rdstr(&rq->r, newname, sizeof(newname));
	if (rq->r.err)
		return rq->r.err;
	if (ret || ret2)
		return ret ? ret : ret2;
	if (s->readonly)
		return -EROFS;
	if (check_name(oldname) || check_name(newname))
		return -EINVAL;
	if (renameat(od->fd, oldname, nd->fd, newname))
		return -errno;
	return 0;
}

/* Is @f's (parent, name) still the object it holds? For Tremove/Trename. */
static int check_fid_name(struct p9_fid *f, struct stat *st)
{
	struct stat nst;
	int ret;

	if (f->pfd < 0 || !f->name)
		return -EBUSY;		/* the root, or reached by ".." */
	ret = fd_stat(f->fd, st);
	if (ret)
		return ret;
	if (fstatat(f->pfd, f->name, &nst, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? -ESTALE : -errno;
	return same_inode(st, &nst) ? 0 : -ESTALE;
}

static int do_rename(struct p9_server *s, struct p9_req *rq)
{
	char name[NAME_MAX + 1], *dup_name;
	struct p9_fid *f = NULL, *dir = NULL;
	struct stat st;
	int ret, ret2, pfd;

	ret = file_fid(s, rd32(&rq->r), &f);
	ret2 = file_fid(s, rd32(&rq->r), &dir);
	rdstr(&rq->r, name, sizeof(name));
	if (rq->r.err)
		return rq->r.err;
	if (ret || ret2)
		return ret ? ret : ret2;
	if (s->readonly)
		return -EROFS;
	if (check_name(name))
		return -EINVAL;
	ret = check_fid_name(f, &st);
	if (ret)
		return ret;
	pfd = dup_fd(dir->fd);
	if (pfd < 0)
		return pfd;
	dup_name = strdup(name);
	if (!dup_name) {
		close(pfd);
		return -ENOMEM;
	}
	if (renameat(f->pfd, f->name, dir->fd, name)) {
		ret = -errno;
		free(dup_name);
		close(pfd);
		return ret;
	}
	close(f->pfd);
	free(f->name);
	f->pfd = pfd;
	f->name = dup_name;
	return 0;
}

static int do_remove(struct p9_server *s, struct p9_req *rq)
{
	struct p9_fid *f = NULL;
	struct stat st;
	u32 num = rd32(&rq->r);
	int ret;

	if (rq->r.err)
		return rq->r.err;
	f = fid_get(s, num);
	if (!f)
		return -EBADF;
	/* The fid is clunked whether the remove works or not. */
	if (f->kind != FID_FILE)
		ret = -EINVAL;
	else if (s->readonly)
		ret = -EROFS;
	else
		ret = check_fid_name(f, &st);
	if (!ret && unlinkat(f->pfd, f->name,
			     S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0))
		ret = -errno;
	fid_free(s, f);
	return ret;
}

/* ---- I/O ---- */

/* Room for the reply's payload after a @hdr-byte header. */
static size_t reply_room(struct p9_server *s, struct p9_req *rq, size_t hdr)
{
	size_t cap = MIN((size_t)s->msize, rq->in_len);

	return cap > hdr ? cap - hdr : 0;
}

static int read_xattr(struct p9_req *rq, struct p9_fid *f, u64 offset,
		      u32 count)
{
	size_t n = 0;

	if (offset < f->xsize) {
		n = MIN((u64)count, f->xsize - offset);
		iov_from_buf(rq->in, rq->in_num, P9_IOHDR, f->xbuf + offset, n);
	}
	wr32(&rq->w, (u32)n);
	rq->payload = n;
	return 0;
}

static int do_read(struct p9_server *s, struct p9_req *rq)
{
	struct p9_fid *f = fid_get(s, rd32(&rq->r));
	u64 offset = rd64(&rq->r);
	u32 count = rd32(&rq->r);
	unsigned int n;
	ssize_t got;

	if (rq->r.err)
		return rq->r.err;
	if (!f)
		return -EBADF;
	count = MIN((size_t)count, reply_room(s, rq, P9_IOHDR));
	if (f->kind == FID_XATTR_READ)
		return read_xattr(rq, f, offset, count);
	if (f->kind != FID_FILE || f->ofd < 0)
		return -EBADF;
	if (offset > INT64_MAX)
		return -EINVAL;
	/* Straight into the guest's buffers, after the 11-byte header. */
	n = iov_slice(rq->in, rq->in_num, P9_IOHDR, count, s->iov,
		      P9_IOV_MAX);
	do {
		got = n ? preadv(f->ofd, s->iov, (int)n, (off_t)offset) : 0;
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	wr32(&rq->w, (u32)got);
	rq->payload = (size_t)got;
	return 0;
}

static int write_xattr(struct p9_req *rq, struct p9_fid *f, u64 offset,
		       u32 count)
{
	if (offset > f->xsize || count > f->xsize - offset)
		return -ENOSPC;
	iov_to_buf(rq->out, rq->out_num, P9_TWRITE_HDR, f->xbuf + offset, count);
	f->xlen = MAX(f->xlen, (size_t)(offset + count));
	wr32(&rq->w, count);
	return 0;
}

static int do_write(struct p9_server *s, struct p9_req *rq)
{
	struct p9_fid *f = fid_get(s, rd32(&rq->r));
	u64 offset = rd64(&rq->r);
	u32 count = rd32(&rq->r);
	unsigned int n;
	ssize_t done;

	if (rq->r.err)
		return rq->r.err;
	/* The data follows the fields, and must all be in the message. */
	if (count > rq->size - P9_TWRITE_HDR)
		return -EPROTO;
	if (!f)
		return -EBADF;
	if (f->kind == FID_XATTR_WRITE)
		return write_xattr(rq, f, offset, count);
	if (f->kind != FID_FILE || f->ofd < 0)
		return -EBADF;
	if (s->readonly)
		return -EROFS;
	if (offset > INT64_MAX)
		return -EINVAL;
	/* Straight from the guest's buffers. */
	n = iov_slice(rq->out, rq->out_num, P9_TWRITE_HDR, count, s->iov,
		      P9_IOV_MAX);
	do {
		done = n ? pwritev(f->ofd, s->iov, (int)n, (off_t)offset) : 0;
	} while (done < 0 && errno == EINTR);
	if (done < 0)
		return -errno;
	wr32(&rq->w, (u32)done);
	return 0;
}

static u8 dirent_qid_type(unsigned char d_type)
{
	if (d_type == DT_DIR)
		return P9_QTDIR;
	if (d_type == DT_LNK)
		return P9_QTSYMLINK;
	return P9_QTFILE;
}

/*
 * Entries from @offset, a d_off cookie of an earlier entry (0: the
 * start), as many as fit in @count. The cookies are the file system's
 * own, so they stay valid across calls and across fids.
 */
static int do_readdir(struct p9_server *s, struct p9_req *rq)
{
	struct p9_wr *w = &rq->w;
	struct p9_fid *f = NULL;
	struct stat dst;
	size_t limit, pos, len;
	u8 *countp;
	ssize_t n;
	u64 offset;
	u32 count;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	offset = rd64(&rq->r);
	count = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (f->ofd < 0 || !f->isdir)
		return -EBADF;
	if (offset > INT64_MAX)
		return -EINVAL;
	ret = fd_stat(f->ofd, &dst);
	if (ret)
		return ret;
	if (lseek(f->ofd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	countp = wr_take(w, 4);
	if (!countp)
		return -EMSGSIZE;
	limit = w->off + MIN((size_t)count, reply_room(s, rq, P9_IOHDR));
	limit = MIN(limit, w->cap);
	for (;;) {
		n = getdents64(f->ofd, s->dents, DENTS_SIZE);
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (!n)
			break;
		for (pos = 0; pos < (size_t)n;) {
			struct dirent64 *d = (void *)((u8 *)s->dents + pos);

			if (d->d_reclen == 0)
				return -EIO;
			pos += d->d_reclen;
			len = strnlen(d->d_name, NAME_MAX + 1);
			if (w->off + P9_QID_SIZE + 8 + 1 + 2 + len > limit)
				goto full;
			wr8(w, dirent_qid_type(d->d_type));
			wr32(w, 0);
			wr64(w, qid_path(s, dst.st_dev, d->d_ino));
			wr64(w, (u64)d->d_off);
			wr8(w, d->d_type);
			wr16(w, (u16)len);
			wrdata(w, d->d_name, len);
		}
	}
	/* An error after some entries: return those, the next call sees it. */
	if (ret && w->off > P9_IOHDR)
		ret = 0;
	goto out;
full:
	/* Not even one entry fits: saying "end of directory" would be a lie. */
	if (w->off == P9_IOHDR)
		return -EINVAL;
out:
	put_le32(countp, (u32)(w->off - P9_IOHDR));
	return ret;
}

static int do_fsync(struct p9_server *s, struct p9_req *rq)
{
	struct p9_fid *f = NULL;
	u32 datasync = 0;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	if (rq->r.err)
		return rq->r.err;
	/* datasync[4] came later (Linux 4.x): optional. */
	if (rq->r.len - rq->r.off >= 4)
		datasync = rd32(&rq->r);
	if (ret)
		return ret;
	if (f->ofd < 0)
		return -EBADF;
	if (datasync ? fdatasync(f->ofd) : fsync(f->ofd))
		return -errno;
	return 0;
}

/* ---- locks: open file description locks on the fid's open file ---- */

/* What Tlock and Tgetlock both carry, decoded. */
struct lock_req {
	struct p9_fid *f;
	struct flock fl;
	u32 proc_id;
	char client_id[CLIENT_ID_MAX];
};

static int lock_args(struct p9_server *s, struct p9_req *rq, bool with_flags,
		     struct lock_req *lk)
{
	u64 start, length;
	int ret;
	u8 type;

	ret = file_fid(s, rd32(&rq->r), &lk->f);
	type = rd8(&rq->r);
	if (with_flags)
		rd32(&rq->r);	/* BLOCK: the client retries on BLOCKED */
	start = rd64(&rq->r);
	length = rd64(&rq->r);
	lk->proc_id = rd32(&rq->r);
	rdstr(&rq->r, lk->client_id, CLIENT_ID_MAX);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (lk->f->ofd < 0)
		return -EBADF;
	if (start > INT64_MAX || length > INT64_MAX)
		return -EINVAL;
	memset(&lk->fl, 0, sizeof(lk->fl));
	switch (type) {
	case P9_LOCK_RDLCK:
		lk->fl.l_type = F_RDLCK;
		break;
	case P9_LOCK_WRLCK:
		lk->fl.l_type = F_WRLCK;
		break;
	case P9_LOCK_UNLCK:
		lk->fl.l_type = F_UNLCK;
		break;
	default:
		return -EINVAL;
	}
	lk->fl.l_whence = SEEK_SET;
	lk->fl.l_start = (off_t)start;
	lk->fl.l_len = (off_t)length;	/* 0: to the end, in both worlds */
	return 0;
}

/*
 * OFD locks, not POSIX ones: every guest open is its own fid and open
 * file, so guest processes conflict with each other (and with the host)
 * as they should, which process-wide POSIX locks in one lkvm cannot do.
 * We never block: the Linux client polls while BLOCKED.
 */
static int do_lock(struct p9_server *s, struct p9_req *rq)
{
	struct lock_req lk;
	u8 status = P9_LOCK_SUCCESS;
	int ret = lock_args(s, rq, true, &lk);

	if (ret)
		return ret;
	if (fcntl(lk.f->ofd, F_OFD_SETLK, &lk.fl))
		status = (errno == EAGAIN || errno == EACCES) ?
			 P9_LOCK_BLOCKED : P9_LOCK_ERROR;
	wr8(&rq->w, status);
	return 0;
}

static int do_getlock(struct p9_server *s, struct p9_req *rq)
{
	struct lock_req lk;
	int ret = lock_args(s, rq, false, &lk);
	u8 type;

	if (ret)
		return ret;
	if (lk.fl.l_type == F_UNLCK)
		return -EINVAL;
	if (fcntl(lk.f->ofd, F_OFD_GETLK, &lk.fl))
		return -errno;
	type = lk.fl.l_type == F_RDLCK ? P9_LOCK_RDLCK :
	       lk.fl.l_type == F_WRLCK ? P9_LOCK_WRLCK : P9_LOCK_UNLCK;
	wr8(&rq->w, type);
	wr64(&rq->w, (u64)lk.fl.l_start);
	wr64(&rq->w, (u64)lk.fl.l_len);
	/* The holder is an open file, not a guest process: no pid to give. */
	wr32(&rq->w, type == P9_LOCK_UNLCK ? lk.proc_id : 0);
	wrstr(&rq->w, type == P9_LOCK_UNLCK ? lk.client_id : "");
	return 0;
}

/* ---- extended attributes ---- */

/* Symlinks have none we would touch: their path would be followed. */
static int xattr_path(struct p9_fid *f, char *path, size_t size)
{
	struct stat st;
	int ret = fd_stat(f->fd, &st);

	if (ret)
		return ret;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EOPNOTSUPP;
	proc_path(f->fd, path, size);
	return 0;
}

static bool xattr_trusted(const char *name)
{
	return !strncmp(name, "trusted.", strlen("trusted."));
}

/*
 * Names the guest may not set or remove: file capabilities would grant
 * host privileges to whoever runs the file; trusted.* is CAP_SYS_ADMIN's.
 */
static bool xattr_forbidden(const char *name)
{
	return xattr_trusted(name) || !strcmp(name, "security.capability");
}

/* Drop the trusted.* names from a listxattr() list; the new length. */
static size_t hide_trusted(char *list, size_t len)
{
	size_t in = 0, out = 0, n;

	while (in < len) {
		n = strnlen(list + in, len - in) + 1;
		if (!xattr_trusted(list + in)) {
			memmove(list + out, list + in, MIN(n, len - in));
			out += MIN(n, len - in);
		}
		in += n;
	}
	return out;
}

static ssize_t get_xattr(const char *path, const char *name, void *buf,
			 size_t size)
{
	ssize_t n = name[0] ? getxattr(path, name, buf, size) :
			      listxattr(path, buf, size);

	return n < 0 ? -errno : n;
}

/*
 * The value of @name ("": the list of names) into @f's buffer, charged
 * to the export; sets xsize to its length.
 */
static int read_xattr_value(struct p9_server *s, const char *path,
			    const char *name, struct p9_fid *f)
{
	ssize_t size;

	/* The value may grow between the two calls: then ERANGE. */
	size = get_xattr(path, name, NULL, 0);
	if (size > P9_XATTR_MAX)
		return -E2BIG;
	if (size > 0) {
		f->xbuf = xbuf_get(s, (size_t)size);
		if (!f->xbuf)
			return -ENOMEM;
		f->xcharge = (size_t)size;
		size = get_xattr(path, name, f->xbuf, (size_t)size);
	}
	if (size < 0)
		return (int)size;
	f->xsize = (size_t)size;
	if (!name[0])
		f->xsize = hide_trusted((char *)f->xbuf, f->xsize);
	return 0;
}

static int do_xattrwalk(struct p9_server *s, struct p9_req *rq)
{
	char name[XATTR_NAME_MAX + 1], path[48];
	struct p9_fid *f = NULL, *nf = NULL;
	u32 newnum;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	newnum = rd32(&rq->r);
	rdstr(&rq->r, name, sizeof(name));
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (fid_get(s, newnum))
		return -EEXIST;
	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	/* As for an unprivileged reader: trusted.* does not exist. */
	if (xattr_trusted(name))
		return -ENODATA;
	ret = xattr_path(f, path, sizeof(path));
	if (ret)
		return ret;
	ret = fid_new(s, newnum, f->uid, &nf);
	if (ret)
		return ret;
	nf->kind = FID_XATTR_READ;
	ret = read_xattr_value(s, path, name, nf);
	if (ret) {
		fid_free(s, nf);
		return ret;
	}
	wr64(&rq->w, (u64)nf->xsize);
	return 0;
}

static int do_xattrcreate(struct p9_server *s, struct p9_req *rq)
{
	char name[XATTR_NAME_MAX + 1], path[48];
	struct p9_fid *f = NULL;
	u64 size;
	u32 flags;
	int ret;

	ret = file_fid(s, rd32(&rq->r), &f);
	rdstr(&rq->r, name, sizeof(name));
	size = rd64(&rq->r);
	flags = rd32(&rq->r);
	if (rq->r.err)
		return rq->r.err;
	if (ret)
		return ret;
	if (s->readonly)
		return -EROFS;
	if (!name[0] || flags & ~(u32)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (xattr_forbidden(name))
		return -EPERM;
	if (size > P9_XATTR_MAX)
		return -E2BIG;
	if (s->proc_fd < 0)
		return -EOPNOTSUPP;
	ret = xattr_path(f, path, sizeof(path));
	if (ret)
		return ret;
	f->xname = strdup(name);
	f->xbuf = xbuf_get(s, size);
	if (!f->xname || !f->xbuf) {
		free(f->xname);
		xbuf_put(s, f->xbuf, size);
		f->xname = NULL;
		f->xbuf = NULL;
		return -ENOMEM;
	}
	/* The fid now stands for the value; Tclunk sets it. */
	close_fd(&f->ofd);
	f->xcharge = size;
	f->kind = FID_XATTR_WRITE;
	f->xsize = size;
	f->xlen = 0;
	f->xflags = (int)flags;
	return 0;
}

/* ---- dispatch ---- */

typedef int (*p9_handler)(struct p9_server *s, struct p9_req *rq);

/* Every T-message we serve: its handler, and its name for the counters. */
static const struct p9_op {
	p9_handler fn;
	const char *name;
} ops[256] = {
#define OP(type, fn, name)	[P9_T##type] = { fn, name }
	OP(STATFS, do_statfs, "statfs"),
	OP(LOPEN, do_lopen, "lopen"),
	OP(LCREATE, do_lcreate, "lcreate"),
	OP(SYMLINK, do_symlink, "symlink"),
	OP(MKNOD, do_mknod, "mknod"),
	OP(RENAME, do_rename, "rename"),
	OP(READLINK, do_readlink, "readlink"),
	OP(GETATTR, do_getattr, "getattr"),
	OP(SETATTR, do_setattr, "setattr"),
	OP(XATTRWALK, do_xattrwalk, "xattrwalk"),
	OP(XATTRCREATE, do_xattrcreate, "xattrcreate"),
	OP(READDIR, do_readdir, "readdir"),
	OP(FSYNC, do_fsync, "fsync"),
	OP(LOCK, do_lock, "lock"),
	OP(GETLOCK, do_getlock, "getlock"),
	OP(LINK, do_link, "link"),
	OP(MKDIR, do_mkdir, "mkdir"),
	OP(RENAMEAT, do_renameat, "renameat"),
	OP(UNLINKAT, do_unlinkat, "unlinkat"),
	OP(VERSION, do_version, "version"),
	OP(ATTACH, do_attach, "attach"),
	OP(FLUSH, do_flush, "flush"),
	OP(WALK, do_walk, "walk"),
	OP(READ, do_read, "read"),
	OP(WRITE, do_write, "write"),
	OP(CLUNK, do_clunk, "clunk"),
	OP(REMOVE, do_remove, "remove"),
#undef OP
};

void p9_server_counts(struct p9_server *s, p9_count_fn fn, void *ctx)
{
	unsigned int t;
	u64 n;

	for (t = 0; t < 256; t++) {
		n = __atomic_load_n(&s->nr_type[t], __ATOMIC_RELAXED);
		if (n && ops[t].name)
			fn(ctx, ops[t].name, n);
	}
}

static void put_header(u8 *p, u32 size, u8 type, u16 tag)
{
	put_le32(p, size);
	p[4] = type;
	put_le16(p + 5, tag);
}

static size_t reply_error(const struct iovec *in, unsigned int in_num,
			  size_t in_len, u16 tag, int err)
{
	u8 msg[P9_HDR + 4];

	if (in_len < sizeof(msg))
		return 0;
	put_header(msg, sizeof(msg), P9_RLERROR, tag);
	put_le32(msg + P9_HDR, (u32)err);
	return iov_from_buf(in, in_num, 0, msg, sizeof(msg));
}

size_t p9_handle(struct p9_server *s, const struct iovec *out,
		 unsigned int out_num, const struct iovec *in,
		 unsigned int in_num)
{
	size_t out_len = iov_total(out, out_num), got, len;
	struct p9_req rq = {
		.out = out, .out_num = out_num, .in = in, .in_num = in_num,
		.in_len = iov_total(in, in_num),
	};
	u16 tag = P9_NOTAG;
	p9_handler fn;
	int ret;

	/* No room for even an Rlerror: do nothing, not even the request. */
	if (rq.in_len < P9_HDR + 4)
		return 0;
	got = iov_to_buf(out, out_num, 0, s->req, MIN(out_len, sizeof(s->req)));
	if (got < P9_HDR)
		return reply_error(in, in_num, rq.in_len, tag, EPROTO);
	rq.size = get_le32(s->req);
	rq.type = s->req[4];
	tag = get_le16(s->req + 5);
	/* The size field must agree with the buffer we were given. */
	if (rq.size < P9_HDR || rq.size > out_len)
		return reply_error(in, in_num, rq.in_len, tag, EPROTO);
	if (rq.size > s->msize && rq.type != P9_TVERSION)
		return reply_error(in, in_num, rq.in_len, tag, EMSGSIZE);
	fn = ops[rq.type].fn;
	if (!fn)
		return reply_error(in, in_num, rq.in_len, tag, EOPNOTSUPP);
	__atomic_add_fetch(&s->nr_type[rq.type], 1, __ATOMIC_RELAXED);

	rq.r = (struct p9_rd) {
		.p = s->req, .len = MIN((size_t)rq.size, got), .off = P9_HDR,
	};
	rq.w = (struct p9_wr) {
		.p = s->rbuf, .off = P9_HDR,
		.cap = MIN(rq.in_len, (size_t)MAX(s->msize, P9_MIN_MSIZE)),
	};
	ret = fn(s, &rq);
	if (ret)
		return reply_error(in, in_num, rq.in_len, tag, -ret);
	if (rq.w.overflow)
		return reply_error(in, in_num, rq.in_len, tag, EMSGSIZE);
	len = rq.w.off + rq.payload;
	put_header(s->rbuf, (u32)len, rq.type + 1, tag);
	iov_from_buf(in, in_num, 0, s->rbuf, rq.w.off);
	return len;
}

/* ---- setup ---- */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void p9_server_reset(struct p9_server *s)
{
	fid_free_all(s);
	s->msize = P9_MAX_MSIZE;
}

struct p9_server *p9_server_new(const char *root, bool readonly, char *err,
				size_t errlen)
{
	struct p9_server *s;
	struct stat st;

	/* 66 KiB, mostly the fid table: pages as they are used */
	s = zalloc_lazy(sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->root_fd = s->proc_fd = -1;
	s->rbuf = malloc(P9_MAX_MSIZE);
	s->dents = malloc(DENTS_SIZE);
	if (!s->rbuf || !s->dents) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 || fstat(s->root_fd, &st)) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		goto err;
	}
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	/* Optional: without /proc we reopen by name, and lose xattrs. */
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->readonly = readonly;
	s->privileged = geteuid() == 0;
	s->msize = P9_MAX_MSIZE;
	raise_nofile();
	return s;
err:
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->rbuf);
	free(s->dents);
	zfree_lazy(s, sizeof(*s));
	return NULL;
}

void p9_server_free(struct p9_server *s)
{
	if (!s)
		return;
	fid_free_all(s);
	close(s->root_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	free(s->rbuf);
	free(s->dents);
	zfree_lazy(s, sizeof(*s));
}
