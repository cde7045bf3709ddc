// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox's cache of what it derives from a distribution kernel
 * (include/lkvm/kcache.h says what and how it is validated).
 *
 * Entry file: "LKVMKC02", u32 key length, u32 zero, u64 data length
 * (little-endian on the host that wrote it; a cache is per machine),
 * then the key, zeros up to the next 4 KiB, and the data: page aligned,
 * so that an Image is copied from the page cache into guest RAM page by
 * page (an unaligned copy was 5x slower in the emulated test host).
 * The file must be a regular file owned by
 * us and exactly as long as the header says; the key must match the one
 * the caller built from the sources. Nothing in an entry is trusted
 * beyond that: the caller checks what it gets back (an Image is parsed,
 * a module archive's members are re-checked against their files).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/kcache.h"

#define KC_MAGIC	"LKVMKC02"
#define KC_ALIGN	4096
#define KC_MAX_DATA	(512ULL << 20)	/* an inflated Image fits */

struct kc_hdr {
	char magic[8];
	u32 key_len;
	u32 zero;
	u64 data_len;
};

int kcache_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char base[PATH_MAX];
	int ret;

	if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s", xdg);
	else if (home && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return -ENOENT;
	if ((size_t)snprintf(out, len, "%s/lkvm", base) >= len)
		return -ENAMETOOLONG;
	ret = mkdir_private(base);
	if (!ret)
		ret = mkdir_private(out);
	return ret;
}

/* FNV-1a, 64 bits: names entries, it guards nothing (the key does). */
static u64 fnv1a(const char *s)
{
	u64 h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (u8)*s) * 0x100000001b3ULL;
	return h;
}

void kcache_name(char *out, size_t len, const char *name, const char *what)
{
	snprintf(out, len, "%s-%016llx", name, (unsigned long long)fnv1a(what));
}

int kcache_key_add(char *key, const char *fmt, ...)
{
	size_t used = strlen(key);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(key + used, KCACHE_KEY_MAX - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= KCACHE_KEY_MAX - used) {
		key[used] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

static int key_stat(char *key, const char *path, const struct stat *st)
{
	return kcache_key_add(key, "%s %llu %llu %lld %lld.%09ld %lld.%09ld\n",
			      path, (unsigned long long)st->st_dev,
			      (unsigned long long)st->st_ino,
			      (long long)st->st_size,
			      (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			      (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

int kcache_key_file(char *key, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	return key_stat(key, path, &st);
}

int kcache_key_fd(char *key, const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return key_stat(key, path, &st);
}

/* Where the data of an entry with a @key_len byte key starts. */
static u64 data_offset(u64 key_len)
{
	return ALIGN_UP(sizeof(struct kc_hdr) + key_len, KC_ALIGN);
}

/* Check an open entry's header and key; its data length into *@len. */
static int check_entry(int fd, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	struct kc_hdr h;
	struct stat st;
	char *k;
	int ret;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid())
		return -EBADMSG;
	if (pread_in_full(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    memcmp(h.magic, KC_MAGIC, 8) || h.zero ||
	    h.key_len > KCACHE_KEY_MAX || h.data_len > KC_MAX_DATA ||
	    (u64)st.st_size != data_offset(h.key_len) + h.data_len)
		return -EBADMSG;
	if (h.key_len != klen)
		return -ESTALE;
	k = malloc(klen + 1);
	if (!k)
		return -ENOMEM;
	if (pread_in_full(fd, k, klen, sizeof(h)) != (ssize_t)klen)
		ret = -EBADMSG;
	else
		ret = memcmp(k, key, klen) ? -ESTALE : 0;
	free(k);
	*len = h.data_len;
	return ret;
}

int kcache_open(const char *dir, const char *name, const char *key,
		int *fd, off_t *off, size_t *len)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return errno == ENOENT ? -ENOENT : -EBADMSG;
	ret = check_entry(*fd, key, len);
	if (ret) {
		close(*fd);
		*fd = -1;
		return ret;
	}
	*off = data_offset(strlen(key));
	return 0;
}

int kcache_get(const char *dir, const char *name, const char *key,
	       void **data, size_t *len)
{
	size_t n = 0;
	void *buf = NULL;
	off_t off;
	int fd, ret;

	ret = kcache_open(dir, name, key, &fd, &off, &n);
	if (ret)
		return ret;
	buf = malloc(n ? n : 1);
	if (!buf)
		ret = -ENOMEM;
	else if (pread_in_full(fd, buf, n, off) != (ssize_t)n)
		ret = -EBADMSG;
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	*data = buf;
	*len = n;
	return 0;
}

const char *kcache_why(int ret)
{
	switch (ret) {
	case 0: return "hit";
	case -ENOENT: return "none yet";
	case -ESTALE: return "stale (a source changed)";
	case -EBADMSG: return "corrupt, rebuilt";
	default: return strerror(-ret);
	}
}

int kcache_put(const char *dir, const char *name, const char *key,
	       const void *data, size_t len)
{
	struct kc_hdr h = { .key_len = strlen(key), .data_len = len };
	char tmp[PATH_MAX], path[PATH_MAX];
	static const u8 zeros[KC_ALIGN];
	int fd, ret = 0;

	if (h.key_len > KCACHE_KEY_MAX || len > KC_MAX_DATA)
		return -EFBIG;
	memcpy(h.magic, KC_MAGIC, 8);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write_in_full(fd, &h, sizeof(h)) < 0 ||
	    write_in_full(fd, key, h.key_len) < 0 ||
	    write_in_full(fd, zeros, data_offset(h.key_len) - sizeof(h) -
			  h.key_len) < 0 ||
	    write_in_full(fd, data, len) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	/* rename() replaces an old entry in one step: readers see either */
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
