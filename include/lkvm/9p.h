/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_9P_H
#define LKVM_9P_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "lkvm/util.h"

/*
 * A 9P2000.L file server (fs/9p.c) exporting one host directory, as the
 * Linux v9fs client speaks it (mount -t 9p -o trans=virtio,version=9p2000.L).
 * It knows nothing of virtio or KVM: a transport hands it one T-message at
 * a time and gets the R-message back (virtio/9p.c wraps it as a device).
 *
 * Containment: every lookup is relative to a directory fd that the server
 * holds, one validated name component at a time (openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where available, O_NOFOLLOW
 * otherwise), symlinks are never followed by the server, and ".." stops at
 * the export root. Nothing the guest sends reaches outside the export.
 *
 * Ownership: files are created as the lkvm process. When lkvm runs as
 * root, new files, directories, nodes and symlinks are given to the
 * attaching user (Tattach n_uname) and the gid the guest asked for, as a
 * "passthrough" server does; unprivileged, the guest sees the real owners
 * and its chown attempts fail with EPERM. Either way the guest never
 * sets a set-user-ID or set-group-ID bit, a file capability
 * (security.capability) or a trusted.* xattr (fs/9p.c, "Root").
 */

/* Largest message size we negotiate (Tversion msize is clamped to it). */
#define P9_MAX_MSIZE		(512 * 1024)
/* Smallest msize we accept; the Linux client refuses less anyway. */
#define P9_MIN_MSIZE		4096
/* Live fids per server; Tattach/Twalk beyond it fail with ENFILE. */
#define P9_MAX_FIDS		65536
/* Largest extended attribute value or list we move (XATTR_SIZE_MAX). */
#define P9_XATTR_MAX		65536
/*
 * Host memory all xattr values in transit (Txattrwalk snapshots, pending
 * Txattrcreate values) of one export may hold; beyond it they fail with
 * ENOMEM until fids are clunked.
 */
#define P9_XATTR_TOTAL_MAX	(1024 * 1024)

struct p9_server;

/*
 * Export @root (a directory; symlinks in the path itself are followed, it
 * is the host's choice). With @readonly every modification fails with
 * EROFS. Returns NULL with a message in @err on failure. Raises the soft
 * RLIMIT_NOFILE to the hard limit: each fid holds up to three fds.
 */
struct p9_server *p9_server_new(const char *root, bool readonly, char *err,
				size_t errlen);
void p9_server_free(struct p9_server *s);
/* Forget the session (every fid, the msize): for a device reset. */
void p9_server_reset(struct p9_server *s);

/*
 * Handle one T-message read from the @out buffers and write the R-message
 * into the @in buffers. Returns the reply's length: always a well-formed
 * reply (Rlerror for anything malformed), or 0 when @in cannot hold even
 * an Rlerror (11 bytes): then the request is ignored, with no effect.
 * Large Tread/Twrite payloads move between the file and the buffers with
 * preadv/pwritev, without a copy.
 *
 * Not thread-safe: callers serialise the requests of one server, which
 * also makes Tflush trivially correct (nothing is ever in flight).
 */
size_t p9_handle(struct p9_server *s, const struct iovec *out,
		 unsigned int out_num, const struct iovec *in,
		 unsigned int in_num);

/*
 * The requests served so far, by T-message type: @fn gets the name of
 * each type seen ("walk", "getattr"...) and its count. Safe to call from
 * another thread than the one calling p9_handle().
 */
typedef void (*p9_count_fn)(void *ctx, const char *type, u64 n);
void p9_server_counts(struct p9_server *s, p9_count_fn fn, void *ctx);

#endif
