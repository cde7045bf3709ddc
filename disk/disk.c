// SPDX-License-Identifier: GPL-2.0
/* Disk images for virtio-blk: spec parsing, open, locking, sync I/O. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/iov.h"
#include "lkvm/qcow2.h"

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static const char *const format_names[] = {
	[DISK_RAW] = "raw",
	[DISK_QCOW2] = "qcow2",
};

const char *disk_format_name(enum disk_format f)
{
	return format_names[f];
}

/* @n bytes at @s name a format: 0, or -1 if none. */
static int parse_format(const char *s, size_t n, enum disk_format *f)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(format_names); i++) {
		if (strlen(format_names[i]) == n && !strncmp(s, format_names[i], n)) {
			*f = i;
			return 0;
		}
	}
	return -1;
}

/*
 * Every format lkvm would take an image for, judged from its start: the
 * open and the guard of a probed-raw image's first sector both ask here,
 * so a format added to the probe is guarded too.
 */
enum disk_format disk_probe(const u8 *buf, size_t len)
{
	return qcow2_probe(buf, len) ? DISK_QCOW2 : DISK_RAW;
}

int disk_spec_parse(const char *arg, struct disk_spec *spec, char *err,
		    size_t errlen)
{
	const char *p, *end;
	size_t n;

	memset(spec, 0, sizeof(*spec));
	end = strchr(arg, ',');
	n = end ? (size_t)(end - arg) : strlen(arg);
	if (!n)
		BAD("invalid -d '%s': empty path", arg);
	if (n >= sizeof(spec->path))
		BAD("invalid -d '%s': path too long", arg);
	memcpy(spec->path, arg, n);
	for (p = end; p; p = end) {
		const char *w = p + 1;

		end = strchr(w, ',');
		n = end ? (size_t)(end - w) : strlen(w);
		if (n == 2 && !strncmp(w, "ro", 2)) {
			spec->ro = true;
		} else if (n == 6 && !strncmp(w, "direct", 6)) {
			spec->direct = true;
		} else if (n == 8 && !strncmp(w, "snapshot", 8)) {
			spec->snapshot = true;
		} else if (n >= 7 && !strncmp(w, "format=", 7)) {
			if (parse_format(w + 7, n - 7, &spec->format) < 0)
				BAD("invalid -d '%s': unknown format '%.*s' (known: raw, qcow2)",
				    arg, (int)(n - 7), w + 7);
			spec->has_format = true;
		} else if (n >= 3 && !strncmp(w, "id=", 3)) {
			if (n == 3)
				BAD("invalid -d '%s': empty id", arg);
			if (n - 3 > VIRTIO_BLK_ID_BYTES)
				BAD("invalid -d '%s': id longer than %d bytes",
				    arg, VIRTIO_BLK_ID_BYTES);
			memcpy(spec->id, w + 3, n - 3);
			spec->id[n - 3] = '\0';
			spec->has_id = true;
		} else {
			BAD("invalid -d '%s': unknown flag '%.*s' (known: ro, direct, snapshot, id=SERIAL, format=raw|qcow2)",
			    arg, (int)n, w);
		}
	}
	return 0;
}

void disk_default_serial(const char *path, char *serial)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base && base[1] ? base + 1 : path;
	n = strlen(base);
	memset(serial, 0, VIRTIO_BLK_ID_BYTES);
	if (n <= VIRTIO_BLK_ID_BYTES) {
		memcpy(serial, base, n);
	} else {
		u32 h = 2166136261u;	/* FNV-1a of the whole name */
		size_t i;

		for (i = 0; path[i]; i++)
			h = (h ^ (u8)path[i]) * 16777619u;
		char tail[16];

		/* 11 bytes of the name, '-', 8 hex digits */
		memcpy(serial, base, 11);
		snprintf(tail, sizeof(tail), "-%08x", h);
		memcpy(serial + 11, tail, 9);
	}
}

/* ---- open ---- */

/* Advisory lock over the whole file, held by the open file description. */
static int lock_image(int fd, bool write)
{
	struct flock fl = {
		.l_type = write ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
	};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EBUSY;
	/* A file system without locks: go on unprotected. */
	pr_debug("disk: no advisory lock: %s", strerror(errno));
	return 0;
}

static int image_size(int fd, u64 *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = st.st_size;
	return 0;
}

/* The format the start of the file says (raw if it cannot be read). */
static enum disk_format probe_file(int fd)
{
	u8 buf[DISK_PROBE_LEN];
	ssize_t r = pread_in_full(fd, buf, sizeof(buf), 0);

	return r > 0 ? disk_probe(buf, r) : DISK_RAW;
}

/* The O_DIRECT alignment this file wants: 512 or 4096 bytes. */
static u32 probe_direct_align(int fd)
{
	static const u32 sizes[] = { 512, 4096 };
	unsigned int i;
	void *buf;

	if (posix_memalign(&buf, 4096, 4096))
		return 4096;
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (pread(fd, buf, sizes[i], 0) >= 0 || errno != EINVAL)
			break;
	free(buf);
	return i < ARRAY_SIZE(sizes) ? sizes[i] : 4096;
}

/*
 * Does the file system punch holes? Punching beyond the end of the file
 * with KEEP_SIZE changes nothing and tells.
 */
static bool probe_punch(int fd, u64 size)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 ALIGN_UP(size, SZ_64K) + SZ_64K, SZ_4K) == 0;
}

/* qcow2's messages start with the path: drop it, we name the disk. */
static const char *strip_path(const char *msg, const char *path)
{
	size_t n = strlen(path);

	if (!strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2))
		return msg + n + 2;
	return msg;
}

/*
 * The overlay records the image's format as decided at open, so that
 * opening the overlay does not probe the image a second time.
 */
static int open_snapshot(struct disk *d, const char *path, char *err,
			 size_t errlen)
{
	const char *tmpdir = getenv("TMPDIR");
	char why[256], tmp[PATH_MAX], *base;
	static unsigned int seq;
	int ret = -EEXIST, fd, i;

	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	base = realpath(path, NULL);
	if (!base)
		return -errno;
	for (i = 0; i < 100 && ret == -EEXIST; i++) {
		snprintf(tmp, sizeof(tmp), "%s/lkvm-snapshot-%d-%u.qcow2",
			 tmpdir, (int)getpid(),
			 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
		ret = qcow2_create(tmp, 0, base, disk_format_name(d->format),
				   why, sizeof(why));
	}
	free(base);
	if (ret < 0) {
		snprintf(err, errlen, "disk '%s': cannot create the snapshot overlay in %s: %s",
			 path, tmpdir, why);
		return ret;
	}
	fd = open(tmp, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ret = -errno;
	unlink(tmp);	/* discarded when we close it */
	if (fd < 0) {
		snprintf(err, errlen, "disk '%s': snapshot overlay %s: %s",
			 path, tmp, strerror(-ret));
		return ret;
	}
	ret = qcow2_open(&d->q, tmp, fd, 0, why, sizeof(why));
	if (ret < 0) {
		close(fd);
		snprintf(err, errlen, "disk '%s': snapshot: %s", path,
			 strip_path(why, tmp));
	}
	return ret;
}

/* A raw image in @fd (which @d owns from here on); O_DIRECT if asked. */
static int open_raw(struct disk *d, int fd, bool write, char *err,
		    size_t errlen)
{
	int ret;

	d->fd = fd;
	ret = image_size(fd, &d->size);
	if (ret < 0) {
		snprintf(err, errlen, "disk '%s': %s", d->path,
			 ret == -EINVAL ? "not a regular file or block device" :
			 strerror(-ret));
		return ret;
	}
	if (d->direct) {
		/* Reopen: the lock stays with the first descriptor. */
		d->base_fd = fd;
		d->fd = open(d->path, (write ? O_RDWR : O_RDONLY) |
			     O_DIRECT | O_CLOEXEC);
		if (d->fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "disk '%s': direct: %s", d->path,
				 ret == -EINVAL ? "the file system does not support O_DIRECT" :
				 strerror(-ret));
			return ret;
		}
		d->align = probe_direct_align(d->fd);
	}
	if (write)
		d->can_discard = probe_punch(d->fd, d->size);
	return 0;
}

/* A disk for @spec, nothing opened yet; NULL: out of memory. */
static struct disk *disk_alloc(const struct disk_spec *spec)
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d || !(d->path = strdup(spec->path))) {
		free(d);
		return NULL;
	}
	d->fd = d->base_fd = -1;
	pthread_mutex_init(&d->guard_lock, NULL);
	d->ro = spec->ro;
	d->direct = spec->direct;
	d->snapshot = spec->snapshot;
	d->align = 1;
	d->discard_align = SZ_4K;
	if (spec->has_id)
		memcpy(d->serial, spec->id, strlen(spec->id));
	else
		disk_default_serial(spec->path, d->serial);
	return d;
}

/* The image, opened for reading (and writing if @write) and locked. */
static int open_locked(const char *path, bool write, char *err,
		       size_t errlen)
{
	int fd, ret;

	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "disk '%s': %s", path, strerror(-ret));
		return ret;
	}
	ret = lock_image(fd, write);
	if (ret < 0) {
		snprintf(err, errlen, "disk '%s': in use by another process",
			 path);
		close(fd);
		return ret;
	}
	return fd;
}

/* The format given or probed; direct only where a raw fd serves I/O. */
static int choose_format(struct disk *d, const struct disk_spec *spec,
			 int fd, char *err, size_t errlen)
{
	d->format = spec->has_format ? spec->format : probe_file(fd);
	d->probed_raw = !spec->has_format && d->format == DISK_RAW;
	if (spec->direct && (d->format == DISK_QCOW2 || spec->snapshot)) {
		snprintf(err, errlen, "disk '%s': direct is supported for raw images without snapshot only",
			 d->path);
		return -EINVAL;
	}
	return 0;
}

static int open_qcow2(struct disk *d, int fd, bool write, char *err,
		      size_t errlen)
{
	char why[256];
	int ret;

	ret = qcow2_open(&d->q, d->path, fd, write ? 0 : QCOW2_RDONLY, why,
			 sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "disk '%s': %s", d->path,
			 strip_path(why, d->path));
	return ret;
}

/* Open the image in @fd as its format says, then settle the size. */
static int open_image(struct disk *d, int fd, bool write, char *err,
		      size_t errlen)
{
	int ret;

	if (d->snapshot) {
		/* The image stays open, read-only and read-locked. */
		d->base_fd = fd;
		ret = open_snapshot(d, d->path, err, errlen);
		d->format = DISK_QCOW2;
	} else if (d->format == DISK_QCOW2) {
		ret = open_qcow2(d, fd, write, err, errlen);
	} else {
		ret = open_raw(d, fd, write, err, errlen);
	}
	if (ret < 0)
		return ret;
	if (d->q) {
		d->size = qcow2_size(d->q);
		d->discard_align = qcow2_cluster_size(d->q);
		d->can_discard = true;
	}
	d->size = ALIGN_DOWN(d->size, MAX(d->align, DISK_SECTOR_SIZE));
	return 0;
}

/* Undo a disk_open() that failed; @fd is the image's first descriptor. */
static void disk_open_fail(struct disk *d, int fd)
{
	if (fd >= 0 && fd != d->fd && fd != d->base_fd)
		close(fd);
	if (d->fd >= 0)
		close(d->fd);
	if (d->base_fd >= 0)
		close(d->base_fd);
	pthread_mutex_destroy(&d->guard_lock);
	free(d->path);
	free(d);
}

int disk_open(struct disk **dp, const struct disk_spec *spec, char *err,
	      size_t errlen)
{
	bool write = !spec->ro && !spec->snapshot;
	struct disk *d = disk_alloc(spec);
	int ret, fd;

	if (!d) {
		snprintf(err, errlen, "disk '%s': out of memory", spec->path);
		return -ENOMEM;
	}
	fd = open_locked(spec->path, write, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	ret = choose_format(d, spec, fd, err, errlen);
	if (ret < 0)
		goto fail;
	ret = open_image(d, fd, write, err, errlen);
	if (ret < 0)
		goto fail;
	*dp = d;
	return 0;

fail:
	disk_open_fail(d, fd);
	return ret;
}

int disk_flush(struct disk *d)
{
	if (d->q)
		return d->snapshot ? 0 : qcow2_flush(d->q);
	if (d->ro)
		return 0;
	return fdatasync(d->fd) < 0 ? -errno : 0;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	if (d->q) {
		qcow2_close(d->q);	/* flushes */
	} else {
		disk_flush(d);
		close(d->fd);
	}
	if (d->base_fd >= 0)
		close(d->base_fd);
	pthread_mutex_destroy(&d->guard_lock);
	free(d->path);
	free(d);
}

/* ---- synchronous I/O ---- */

bool disk_iov_aligned(const struct disk *d, const struct iovec *iov, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!IS_ALIGNED((uintptr_t)iov[i].iov_base, d->align) ||
		    !IS_ALIGNED(iov[i].iov_len, d->align))
			return false;
	return true;
}

/* All of @iov at @offset, or an error (the file ends inside the disk). */
static ssize_t rw_full(int fd, const struct iovec *iov, int n, u64 offset,
		       bool write)
{
	size_t total = iov_total(iov, n);
	ssize_t r = iov_pio(fd, iov, n, 0, total, offset, write);

	return r >= 0 && (size_t)r < total ? -EIO : r;
}

static ssize_t raw_rw(struct disk *d, const struct iovec *iov, int n,
		      u64 offset, bool write)
{
	size_t len = iov_total(iov, n);
	struct iovec b;
	ssize_t r;

	if (d->align == 1 || disk_iov_aligned(d, iov, n))
		return rw_full(d->fd, iov, n, offset, write);
	/* O_DIRECT with unaligned guest memory: bounce. */
	if (!IS_ALIGNED(offset, d->align) || !IS_ALIGNED(len, d->align))
		return -EINVAL;
	if (posix_memalign(&b.iov_base, d->align, len ? len : d->align))
		return -ENOMEM;
	b.iov_len = len;
	if (write)
		iov_to_buf(iov, n, 0, b.iov_base, len);
	r = rw_full(d->fd, &b, 1, offset, write);
	if (!write && r > 0)
		iov_from_buf(iov, n, 0, b.iov_base, len);
	free(b.iov_base);
	return r;
}

static bool in_disk(const struct disk *d, u64 offset, u64 len)
{
	return offset <= d->size && len <= d->size - offset;
}

ssize_t disk_preadv(struct disk *d, const struct iovec *iov, int n,
		    u64 offset)
{
	if (!in_disk(d, offset, iov_total(iov, n)))
		return -EINVAL;
	if (d->q)
		return qcow2_preadv(d->q, iov, n, offset);
	return raw_rw(d, iov, n, offset, false);
}

/* ---- writes, discards and write zeroes ---- */

static ssize_t write_iov(struct disk *d, const struct iovec *iov, int n,
			 u64 offset)
{
	if (d->q)
		return qcow2_pwritev(d->q, iov, n, offset);
	return raw_rw(d, iov, n, offset, true);
}

static int discard_range(struct disk *d, u64 offset, u64 len)
{
	if (d->q)
		return qcow2_discard(d->q, offset, len);
	if (!d->can_discard || !len)
		return 0;
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      offset, len) < 0 && errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

/* The last resort: write zeros, 64 KiB at a time. */
static int write_zero_buf(struct disk *d, u64 offset, u64 len)
{
	struct iovec v;
	ssize_t r = 0;

	if (posix_memalign(&v.iov_base, MAX(d->align, 64), SZ_64K))
		return -ENOMEM;
	memset(v.iov_base, 0, SZ_64K);
	while (len && r >= 0) {
		v.iov_len = MIN(len, SZ_64K);
		r = raw_rw(d, &v, 1, offset, true);
		offset += v.iov_len;
		len -= v.iov_len;
	}
	free(v.iov_base);
	return r < 0 ? (int)r : 0;
}

static int zero_range(struct disk *d, u64 offset, u64 len, bool unmap)
{
	if (d->q)
		return qcow2_write_zeroes(d->q, offset, len);
	if (!len)
		return 0;
	if (unmap && d->can_discard &&
	    fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      offset, len) == 0)
		return 0;
	if (fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		      offset, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	return write_zero_buf(d, offset, len);
}

/*
 * ---- the first sector of an image probed as raw ----
 *
 * A change to it is checked against disk_probe() as the sector will be
 * after the change: the bytes the request brings (copied from guest
 * memory once, and the write then takes them from that copy, so another
 * vCPU cannot change them after the check) over the bytes it leaves
 * alone (read from the image). Discards count as zeroing: the most they
 * can do. guard_lock serialises these changes, so two of them cannot
 * combine into a sector neither was checked as. Guest requests are whole
 * sectors, so the read is only for byte-granular callers; the lock costs
 * nothing elsewhere, as no other write reaches sector 0.
 */

bool disk_write_checked(const struct disk *d, u64 offset)
{
	return d->probed_raw && offset < DISK_PROBE_LEN;
}

static int read_sector0(struct disk *d, u8 *sec)
{
	struct iovec v = { .iov_len = MAX(d->align, DISK_PROBE_LEN) };
	ssize_t r;

	/* O_DIRECT reads whole aligned blocks */
	if (posix_memalign(&v.iov_base, MAX(d->align, 64), v.iov_len))
		return -ENOMEM;
	r = disk_preadv(d, &v, 1, 0);
	if (r >= 0)
		memcpy(sec, v.iov_base, DISK_PROBE_LEN);
	free(v.iov_base);
	return r < 0 ? (int)r : 0;
}

/*
 * Fill @sec with the first sector as it will be once @len bytes at
 * @offset (< DISK_PROBE_LEN) come from @iov, or are zeros if it is NULL.
 */
static int sector0_after(struct disk *d, const struct iovec *iov, int n,
			 u64 offset, u64 len, u8 *sec)
{
	size_t k = MIN(len, DISK_PROBE_LEN - offset);
	int ret;

	if (offset || k < DISK_PROBE_LEN) {
		ret = read_sector0(d, sec);
		if (ret < 0)
			return ret;
	}
	if (iov)
		iov_to_buf(iov, n, 0, sec + offset, k);
	else
		memset(sec + offset, 0, k);
	return 0;
}

/* -EPERM, and once per disk a line saying why, if @sec would not probe raw. */
static int check_sector0(struct disk *d, const u8 *sec)
{
	enum disk_format f = disk_probe(sec, DISK_PROBE_LEN);

	if (f == DISK_RAW)
		return 0;
	if (!__atomic_exchange_n(&d->warned_probe, true, __ATOMIC_RELAXED))
		pr_warn("disk '%s': refused a guest write that would make this image, probed as raw, look like %s at its next open; add format=raw to its -d if the guest may write that",
			d->path, disk_format_name(f));
	return -EPERM;
}

/* A write reaching sector 0: checked, then written from the checked copy. */
static ssize_t checked_write(struct disk *d, const struct iovec *iov, int n,
			     u64 offset, u64 len)
{
	size_t k = MIN(len, DISK_PROBE_LEN - offset);
	u8 sec[DISK_PROBE_LEN];
	struct iovec *v;
	unsigned int m;
	ssize_t ret;

	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[0] = (struct iovec) { sec + offset, k };	/* the checked copy */
	m = iov_slice(iov, n, k, len - k, v + 1, n);
	pthread_mutex_lock(&d->guard_lock);
	ret = sector0_after(d, iov, n, offset, len, sec);
	if (!ret)
		ret = check_sector0(d, sec);
	if (!ret)
		ret = write_iov(d, v, m + 1, offset);
	pthread_mutex_unlock(&d->guard_lock);
	free(v);
	return ret;
}

ssize_t disk_pwritev(struct disk *d, const struct iovec *iov, int n,
		     u64 offset)
{
	u64 len = iov_total(iov, n);

	if (d->ro)
		return -EROFS;
	if (!in_disk(d, offset, len))
		return -EINVAL;
	if (len && disk_write_checked(d, offset))
		return checked_write(d, iov, n, offset, len);
	return write_iov(d, iov, n, offset);
}

/* Discard (@discard) or write zeroes, checked as zeroing. */
static int checked_zero(struct disk *d, u64 offset, u64 len, bool discard,
			bool unmap)
{
	u8 sec[DISK_PROBE_LEN];
	bool check;
	int ret = 0;

	if (d->ro)
		return -EROFS;
	if (!in_disk(d, offset, len))
		return -EINVAL;
	check = len && disk_write_checked(d, offset);
	if (check) {
		pthread_mutex_lock(&d->guard_lock);
		ret = sector0_after(d, NULL, 0, offset, len, sec);
		if (!ret)
			ret = check_sector0(d, sec);
	}
	if (!ret)
		ret = discard ? discard_range(d, offset, len) :
				zero_range(d, offset, len, unmap);
	if (check)
		pthread_mutex_unlock(&d->guard_lock);
	return ret;
}

int disk_discard(struct disk *d, u64 offset, u64 len)
{
	return checked_zero(d, offset, len, true, false);
}

int disk_write_zeroes(struct disk *d, u64 offset, u64 len, bool unmap)
{
	return checked_zero(d, offset, len, false, unmap);
}
