// SPDX-License-Identifier: GPL-2.0
/* In-memory initramfs for lkvm sandbox: kernel version, modules, cpio. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/initramfs.h"
#include "lkvm/kcache.h"

#define BANNER		"Linux version "
#define BANNER_LEN	(sizeof(BANNER) - 1)

/* Version strings are like 6.1.0-56-arm64 or 6.8.0+: no spaces. */
static bool version_char(u8 c)
{
	return c > ' ' && c < 0x7f;
}

int linux_version_find(const u8 *buf, size_t len, char *out, size_t outlen)
{
	const u8 *p = buf, *end = buf + len, *v;
	size_t n;

	while ((p = memmem(p, end - p, BANNER, BANNER_LEN))) {
		v = p + BANNER_LEN;
		for (n = 0; v + n < end && version_char(v[n]); n++)
			;
		/* the banner is followed by " (builder@host) ..." */
		if (n && v + n < end && v[n] == ' ' && n < outlen &&
		    v[0] >= '0' && v[0] <= '9') {
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = v;
	}
	return -ENOENT;
}

int linux_version_find_fd(int fd, off_t base, size_t size, char *out,
			  size_t outlen)
{
	const size_t chunk = 4 << 20, overlap = 256;
	size_t off = 0;
	ssize_t n;
	u8 *buf;
	int ret = -ENOENT;

	buf = malloc(chunk + overlap);
	if (!buf)
		return -ENOMEM;
	while (off < size) {
		n = pread_in_full(fd, buf, MIN(chunk + overlap, size - off),
				  base + off);
		if (n <= 0) {
			ret = n < 0 ? -errno : -ENOENT;
			break;
		}
		if (!linux_version_find(buf, n, out, outlen)) {
			ret = 0;
			break;
		}
		if ((size_t)n < chunk + overlap)
			break;
		off += chunk;
	}
	free(buf);
	return ret;
}

/* ------------------------------------------------------------------ cpio */

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
}

void cpio_free(struct cpio *c)
{
	free(c->data);
	memset(c, 0, sizeof(*c));
}

static int cpio_reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 65536;
	u8 *d;

	if (c->len + more <= c->cap)
		return 0;
	while (cap < c->len + more)
		cap *= 2;
	d = realloc(c->data, cap);
	if (!d)
		return -ENOMEM;
	c->data = d;
	c->cap = cap;
	return 0;
}

static void cpio_pad4(struct cpio *c)
{
	while (c->len & 3)
		c->data[c->len++] = 0;
}

int cpio_add(struct cpio *c, const char *name, unsigned int mode,
	     const void *data, size_t len)
{
	size_t nlen = strlen(name) + 1;
	char hdr[128];

	if (c->error)
		return c->error;
	if (len > 0xffffffffu || nlen > 4096) {
		c->error = -EFBIG;
		return c->error;
	}
	if (cpio_reserve(c, 110 + nlen + len + 8) < 0) {
		c->error = -ENOMEM;
		return c->error;
	}
	/* magic ino mode uid gid nlink mtime size devmaj devmin rdevmaj rdevmin namesize check */
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, mode, 0, 0, S_ISDIR(mode) ? 2 : 1, 0,
		 (unsigned int)len, 0, 0, 0, 0, (unsigned int)nlen, 0);
	memcpy(c->data + c->len, hdr, 110);
	c->len += 110;
	memcpy(c->data + c->len, name, nlen);
	c->len += nlen;
	cpio_pad4(c);
	if (len)
		memcpy(c->data + c->len, data, len);
	c->len += len;
	cpio_pad4(c);
	return 0;
}

int cpio_add_file(struct cpio *c, const char *name, unsigned int mode,
		  const char *path)
{
	struct stat st;
	void *buf;
	int fd, ret;

	if (c->error)
		return c->error;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread_in_full(fd, buf, st.st_size, 0) != st.st_size)
		ret = errno ? -errno : -EIO;
	else
		ret = cpio_add(c, name, mode, buf, st.st_size);
	free(buf);
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && !c->error)
		c->error = ret;
	return ret;
}

int cpio_finish(struct cpio *c)
{
	cpio_add(c, "TRAILER!!!", 0, NULL, 0);
	return c->error;
}

/* --------------------------------------------------------------- modules */

struct moddep {
	char *path;		/* relative to the modules directory */
	char *name;		/* normalised: '-' -> '_', no suffix */
	char *deps;		/* space-separated paths */
	bool done, busy;
};

struct moddb {
	struct moddep *ent;
	int n;
	char **builtin;		/* normalised names */
	int nr_builtin;
};

/* "kernel/fs/9p/9p.ko.xz" -> "9p" into @out (normalised) */
static void mod_name(const char *path, size_t len, char *out, size_t outlen)
{
	const char *b = memrchr(path, '/', len), *dot;
	size_t n, i;

	b = b ? b + 1 : path;
	n = path + len - b;
	dot = memmem(b, n, ".ko", 3);
	if (dot)
		n = dot - b;
	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = b[i] == '-' ? '_' : b[i];
	out[n] = '\0';
}

static char *read_text(const char *dir, const char *file, int *err)
{
	char path[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*err = -errno;
		goto out;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		*err = -ENOMEM;
		goto out;
	}
	if (pread_in_full(fd, buf, st.st_size, 0) != st.st_size) {
		*err = -EIO;
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[st.st_size] = '\0';
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

static void moddb_free(struct moddb *db)
{
	int i;

	for (i = 0; i < db->n; i++) {
		free(db->ent[i].path);
		free(db->ent[i].name);
		free(db->ent[i].deps);
	}
	for (i = 0; i < db->nr_builtin; i++)
		free(db->builtin[i]);
	free(db->ent);
	free(db->builtin);
}

static int moddb_load(struct moddb *db, const char *dir)
{
	char *dep, *bi, *line, *next, *colon, name[256];
	int err = 0, cap = 0;

	memset(db, 0, sizeof(*db));
	dep = read_text(dir, "modules.dep", &err);
	if (!dep)
		return err;
	for (line = dep; *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		if (db->n == cap) {
			struct moddep *e;

			cap = cap ? 2 * cap : 1024;
			e = realloc(db->ent, cap * sizeof(*e));
			if (!e)
				goto nomem;
			db->ent = e;
		}
		mod_name(line, colon - line, name, sizeof(name));
		db->ent[db->n] = (struct moddep) {
			.path = strndup(line, colon - line),
			.name = strdup(name),
			.deps = strdup(colon + 1),
		};
		if (!db->ent[db->n].path || !db->ent[db->n].name ||
		    !db->ent[db->n].deps) {
			db->n++;
			goto nomem;
		}
		db->n++;
	}
	free(dep);

	/* modules.builtin is optional (kernels before 3.x lack it) */
	bi = read_text(dir, "modules.builtin", &err);
	cap = 0;
	for (line = bi; line && *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (!*line)
			continue;
		if (db->nr_builtin == cap) {
			char **b;

			cap = cap ? 2 * cap : 256;
			b = realloc(db->builtin, cap * sizeof(*b));
			if (!b) {
				free(bi);
				return -ENOMEM;
			}
			db->builtin = b;
		}
		mod_name(line, strlen(line), name, sizeof(name));
		db->builtin[db->nr_builtin] = strdup(name);
		if (!db->builtin[db->nr_builtin]) {
			free(bi);
			return -ENOMEM;
		}
		db->nr_builtin++;
	}
	free(bi);
	return 0;
nomem:
	free(dep);
	return -ENOMEM;
}

static struct moddep *moddb_find(struct moddb *db, const char *name,
				 bool by_path)
{
	int i;

	for (i = 0; i < db->n; i++)
		if (!strcmp(by_path ? db->ent[i].path : db->ent[i].name, name))
			return &db->ent[i];
	return NULL;
}

static bool moddb_builtin(struct moddb *db, const char *name)
{
	int i;

	for (i = 0; i < db->nr_builtin; i++)
		if (!strcmp(db->builtin[i], name))
			return true;
	return false;
}

static int modlist_add(struct modlist *m, const char *dir, const char *rel)
{
	char **p = realloc(m->paths, (m->n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	m->paths = p;
	if (asprintf(&m->paths[m->n], "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	m->n++;
	return 0;
}

/* Dependencies first, each module once. */
static int resolve(struct moddb *db, struct moddep *e, const char *dir,
		   struct modlist *out, char *err, size_t errlen)
{
	char *deps, *tok, *save = NULL;
	struct moddep *d;
	int ret = 0;

	if (e->done || e->busy)
		return 0;
	e->busy = true;
	deps = strdup(e->deps);
	if (!deps)
		return -ENOMEM;
	for (tok = strtok_r(deps, " \t", &save); tok && !ret;
	     tok = strtok_r(NULL, " \t", &save)) {
		d = moddb_find(db, tok, true);
		if (!d) {
			snprintf(err, errlen, "module %s needs %s, which is not in %s/modules.dep",
				 e->name, tok, dir);
			ret = -ENOENT;
			break;
		}
		ret = resolve(db, d, dir, out, err, errlen);
	}
	free(deps);
	e->busy = false;
	if (ret)
		return ret;
	e->done = true;
	return modlist_add(out, dir, e->path);
}

int modules_resolve(const char *dir, const char *const *names, int nr_names,
		    int nr_required, struct modlist *out, char *err,
		    size_t errlen)
{
	struct moddb db;
	struct moddep *e;
	char name[256];
	int i, ret;

	memset(out, 0, sizeof(*out));
	ret = moddb_load(&db, dir);
	if (ret < 0) {
		snprintf(err, errlen, "cannot read %s/modules.dep: %s", dir,
			 strerror(-ret));
		goto out;
	}
	for (i = 0; i < nr_names; i++) {
		mod_name(names[i], strlen(names[i]), name, sizeof(name));
		if (moddb_builtin(&db, name))
			continue;
		e = moddb_find(&db, name, false);
		if (!e) {
			if (i >= nr_required)
				continue;
			snprintf(err, errlen, "the kernel lacks the %s driver: it is neither built in nor in %s/modules.dep",
				 names[i], dir);
			ret = -ENOENT;
			goto out;
		}
		ret = resolve(&db, e, dir, out, err, errlen);
		if (ret < 0)
			goto out;
	}
out:
	moddb_free(&db);
	if (ret < 0)
		modlist_free(out);
	return ret;
}

void modlist_free(struct modlist *m)
{
	int i;

	for (i = 0; i < m->n; i++) {
		free(m->paths[i]);
		if (m->ids)
			free(m->ids[i]);
		if (m->data)
			free(m->data[i]);
	}
	free(m->paths);
	free(m->ids);
	free(m->data);
	free(m->lens);
	memset(m, 0, sizeof(*m));
}

static int modlist_alloc_contents(struct modlist *m)
{
	int n = m->n ? m->n : 1;

	m->ids = calloc(n, sizeof(*m->ids));
	m->data = calloc(n, sizeof(*m->data));
	m->lens = calloc(n, sizeof(*m->lens));
	return m->ids && m->data && m->lens ? 0 : -ENOMEM;
}

/* One module's contents and identity, from the same open file. */
static int module_read(struct modlist *m, int i)
{
	char id[KCACHE_KEY_MAX] = "";
	struct stat st;
	int fd, ret = 0;

	fd = open(m->paths[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	m->data[i] = malloc(st.st_size ? st.st_size : 1);
	if (!m->data[i]) {
		ret = -ENOMEM;
		goto out;
	}
	m->lens[i] = st.st_size;
	if (pread_in_full(fd, m->data[i], st.st_size, 0) != st.st_size)
		ret = errno ? -errno : -EIO;
	else if ((ret = kcache_key_fd(id, m->paths[i], fd)) == 0 &&
		 !(m->ids[i] = strdup(id)))
		ret = -ENOMEM;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int modlist_read(struct modlist *m, char *err, size_t errlen)
{
	int i, ret;

	if (modlist_alloc_contents(m) < 0)
		return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		ret = module_read(m, i);
		if (ret < 0) {
			set_err(err, errlen, "%s: %s", m->paths[i],
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Packed record: u32 path length, u32 id length, u64 data length, bytes. */
#define REC_HDR		16

int modlist_pack(const struct modlist *m, u8 **out, size_t *len)
{
	size_t total = 4, off = 4, pl, il;
	u32 n32 = m->n, v;
	u64 dl;
	u8 *buf;
	int i;

	for (i = 0; i < m->n; i++)
		total += REC_HDR + strlen(m->paths[i]) + strlen(m->ids[i]) +
			 m->lens[i];
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &n32, 4);
	for (i = 0; i < m->n; i++) {
		pl = strlen(m->paths[i]);
		il = strlen(m->ids[i]);
		dl = m->lens[i];
		v = pl;
		memcpy(buf + off, &v, 4);
		v = il;
		memcpy(buf + off + 4, &v, 4);
		memcpy(buf + off + 8, &dl, 8);
		off += REC_HDR;
		memcpy(buf + off, m->paths[i], pl);
		memcpy(buf + off + pl, m->ids[i], il);
		memcpy(buf + off + pl + il, m->data[i], dl);
		off += pl + il + dl;
	}
	*out = buf;
	*len = total;
	return 0;
}

/* Record @i at *@off of @buf into @m; -EBADMSG if it overruns @len. */
static int unpack_one(struct modlist *m, int i, const u8 *buf, size_t len,
		      size_t *off)
{
	u32 pl, il;
	u64 dl;

	if (len - *off < REC_HDR)
		return -EBADMSG;
	memcpy(&pl, buf + *off, 4);
	memcpy(&il, buf + *off + 4, 4);
	memcpy(&dl, buf + *off + 8, 8);
	*off += REC_HDR;
	if (!pl || pl >= PATH_MAX || il >= KCACHE_KEY_MAX ||
	    len - *off < (u64)pl + il || dl > len - *off - pl - il ||
	    memchr(buf + *off, 0, (size_t)pl + il))
		return -EBADMSG;
	m->paths[i] = strndup((const char *)buf + *off, pl);
	m->ids[i] = strndup((const char *)buf + *off + pl, il);
	m->data[i] = malloc(dl ? dl : 1);
	if (!m->paths[i] || !m->ids[i] || !m->data[i])
		return -ENOMEM;
	memcpy(m->data[i], buf + *off + pl + il, dl);
	m->lens[i] = dl;
	*off += pl + il + dl;
	return 0;
}

int modlist_unpack(struct modlist *m, const u8 *buf, size_t len)
{
	size_t off = 4;
	u32 n;
	int i, ret = -EBADMSG;

	memset(m, 0, sizeof(*m));
	if (len < 4)
		return -EBADMSG;
	memcpy(&n, buf, 4);
	if (n > 1024 || n > len / REC_HDR)
		return -EBADMSG;
	m->paths = calloc(n ? n : 1, sizeof(*m->paths));
	m->n = n;
	if (!m->paths || modlist_alloc_contents(m) < 0) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < m->n; i++) {
		ret = unpack_one(m, i, buf, len, &off);
		if (ret)
			goto err;
	}
	if (off == len)
		return 0;
	ret = -EBADMSG;
err:
	modlist_free(m);
	return ret;
}

int root_disk_modules(bool pci, bool virtio_console, bool net, bool rng,
		      const char **names, int *nr_required)
{
	int n = 0;

	names[n++] = pci ? "virtio_pci" : "virtio_mmio";
	names[n++] = "virtio_blk";
	names[n++] = "ext4";
	if (virtio_console)
		names[n++] = "virtio_console";
	if (net)
		names[n++] = "virtio_net";
	*nr_required = n;
	/* nice to have: ext4's checksums, entropy */
	names[n++] = "crc32c_generic";
	if (rng)
		names[n++] = "virtio_rng";
	return n;
}

int cpio_add_init_and_modules(struct cpio *c, const char *const *dirs,
			      unsigned int nr_dirs, const void *init,
			      size_t init_len, const struct modlist *mods,
			      char *err, size_t errlen)
{
	char name[PATH_MAX];
	const char *base;
	unsigned int i;

	for (i = 0; i < nr_dirs; i++)
		cpio_add(c, dirs[i], S_IFDIR | 0755, NULL, 0);
	cpio_add(c, "init", S_IFREG | 0755, init, init_len);
	for (i = 0; i < (unsigned int)mods->n; i++) {
		base = strrchr(mods->paths[i], '/');
		snprintf(name, sizeof(name), "lkvm/modules/%03u-%s", i,
			 base ? base + 1 : mods->paths[i]);
		if (mods->data)
			cpio_add(c, name, S_IFREG | 0644, mods->data[i],
				 mods->lens[i]);
		else
			cpio_add_file(c, name, S_IFREG | 0644, mods->paths[i]);
		if (c->error) {
			set_err(err, errlen, "%s: %s", mods->paths[i],
				strerror(-c->error));
			return c->error;
		}
	}
	return c->error;
}
