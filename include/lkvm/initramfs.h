/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_INITRAMFS_H
#define LKVM_INITRAMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lkvm/util.h"

/*
 * Building an initramfs in memory for a distribution kernel (lkvm
 * sandbox): the kernel's version, the modules it needs from
 * /lib/modules/VERSION, and a cpio (newc) archive. No KVM: unit-tested.
 */

/*
 * Find "Linux version X " in a kernel Image and copy X to @out. Returns 0,
 * or -ENOENT if there is no such banner (or X does not fit).
 */
int linux_version_find(const u8 *buf, size_t len, char *out, size_t outlen);
/* The same over @size bytes of a file from @base, read in pieces. */
int linux_version_find_fd(int fd, off_t base, size_t size, char *out,
			  size_t outlen);

/* A newc cpio archive growing in memory. */
struct cpio {
	u8 *data;
	size_t len, cap;
	unsigned int ino;
	int error;		/* first -errno; later adds do nothing */
};

void cpio_init(struct cpio *c);
void cpio_free(struct cpio *c);
/* Add one entry; @mode carries the type (S_IFREG, S_IFDIR, S_IFLNK). */
int cpio_add(struct cpio *c, const char *name, unsigned int mode,
	     const void *data, size_t len);
/* A regular file with the contents of host file @path. */
int cpio_add_file(struct cpio *c, const char *name, unsigned int mode,
		  const char *path);
/* The TRAILER!!! entry; returns c->error. */
int cpio_finish(struct cpio *c);

/*
 * Kernel modules to load, in order, dependencies first: those named
 * (e.g. "9p", "virtio_mmio"; '-' and '_' are the same) that the kernel
 * does not have built in (modules.builtin), with their dependencies from
 * modules.dep. Soft dependencies are not followed: name them.
 */
struct modlist {
	char **paths;		/* absolute paths of the .ko files */
	int n;
	/* after modlist_read() or modlist_unpack(), per module: */
	char **ids;		/* identity line (kcache_key_fd()) */
	u8 **data;		/* contents */
	size_t *lens;
};

/*
 * Resolve @names in @dir (a /lib/modules/VERSION directory). Names after
 * the first @nr_required may be missing. Returns 0, or -ENOENT with @err
 * naming the missing module, or another -errno (unreadable modules.dep).
 */
int modules_resolve(const char *dir, const char *const *names, int nr_names,
		    int nr_required, struct modlist *out, char *err,
		    size_t errlen);
void modlist_free(struct modlist *m);
/* Read every module into memory with its identity; -errno, @err says. */
int modlist_read(struct modlist *m, char *err, size_t errlen);
/*
 * A read modlist as one buffer (paths, identities and contents, for
 * lkvm's cache), and back: modlist_unpack() checks every length against
 * @len and returns -EBADMSG on anything malformed.
 */
int modlist_pack(const struct modlist *m, u8 **out, size_t *len);
int modlist_unpack(struct modlist *m, const u8 *buf, size_t len);

/*
 * The part every lkvm initramfs shares: the directories @dirs, /init
 * (@init, @init_len bytes: lkvm's embedded init) and the modules in load
 * order as lkvm/modules/NNN-NAME.ko (from memory after modlist_read(),
 * else from their files). Returns c->error, with the module that could
 * not be read named in @err.
 */
int cpio_add_init_and_modules(struct cpio *c, const char *const *dirs,
			      unsigned int nr_dirs, const void *init,
			      size_t init_len, const struct modlist *mods,
			      char *err, size_t errlen);

/* lkvm's own init (guest/init.c), embedded by guest/init-blob.S */
extern const u8 lkvm_guest_init[], lkvm_guest_init_end[];

/* cpio_add_init_and_modules() with lkvm's own init, for run and sandbox */
static inline int cpio_add_lkvm_init(struct cpio *c, const char *const *dirs,
				     unsigned int nr_dirs,
				     const struct modlist *mods, char *err,
				     size_t errlen)
{
	return cpio_add_init_and_modules(c, dirs, nr_dirs, lkvm_guest_init,
					 lkvm_guest_init_end - lkvm_guest_init,
					 mods, err, errlen);
}

/*
 * lkvm run -d DISK with no -i: the drivers a virtio-blk ext4 root needs,
 * for modules_resolve(). Fills @names (room for 8), sets @nr_required
 * (the first ones) and returns how many there are.
 */
int root_disk_modules(bool pci, bool virtio_console, bool net, bool rng,
		      const char **names, int *nr_required);

#endif
