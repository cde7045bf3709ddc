/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KCACHE_H
#define LKVM_KCACHE_H

#include <stddef.h>
#include <sys/types.h>

#include "lkvm/util.h"

/*
 * lkvm sandbox's cache of what it derives from a distribution kernel
 * (its version, the inflated Image of a compressed one, the packed
 * modules), in $XDG_CACHE_HOME/lkvm or ~/.cache/lkvm.
 *
 * An entry is one file: a header, a key (text naming the sources and
 * their identity: path, device, inode, size, mtime, ctime), then the
 * data. A lookup rebuilds the key from the sources as they are now and
 * uses the entry only when the key, the magic and the sizes all match;
 * anything else is a miss and the caller rebuilds. Entries are written
 * to a temporary file and renamed into place, so a reader (another
 * sandbox) sees a whole old entry or a whole new one, never part of one.
 */

#define KCACHE_KEY_MAX		8192

/* The cache folder (created, mode 0700) into @out; -errno if none. */
int kcache_dir(char *out, size_t len);

/* "NAME-HASH": an entry's file name, HASH over @what (e.g. a path). */
void kcache_name(char *out, size_t len, const char *name, const char *what);

/*
 * Append @path's identity line to @key (at most KCACHE_KEY_MAX bytes,
 * NUL-terminated). -errno if it cannot be stat()ed or the key is full.
 */
int kcache_key_file(char *key, const char *path);
/* The same for an open file (the identity of what was read). */
int kcache_key_fd(char *key, const char *path, int fd);
/* Append free text (a line) to @key. */
int kcache_key_add(char *key, const char *fmt, ...) __printf(2, 3);

/*
 * Look up entry @name: 0 and the data (malloc'ed) on a hit; -ENOENT
 * (none), -ESTALE (its key differs: a source changed) or -EBADMSG
 * (corrupt, truncated or not ours) on a miss.
 */
int kcache_get(const char *dir, const char *name, const char *key,
	       void **data, size_t *len);
/*
 * The same, but the data stays in the file: on a hit, an open fd (the
 * caller closes it) and where in it the @len bytes of data start.
 */
int kcache_open(const char *dir, const char *name, const char *key,
		int *fd, off_t *off, size_t *len);
/* What a kcache_get() result means, for --debug. */
const char *kcache_why(int ret);
/* Store entry @name atomically; -errno (the cache is then just slower). */
int kcache_put(const char *dir, const char *name, const char *key,
	       const void *data, size_t len);

#endif
