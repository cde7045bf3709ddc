// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for fs/9p.c: a session of T-messages against a small
 * export tree, each message and reply buffer allocated to its exact size
 * (and split into pieces) so that ASan sees any access past them.
 *
 * It also checks containment: the tree sits next to an "outside"
 * directory holding a secret, and the export holds symlinks pointing
 * there and to "/". If, after any input, the outside directory or the
 * top directory changed, something escaped: abort. Nor may anything in
 * the export carry a set-id bit or a security.capability or trusted.*
 * xattr (the server strips and refuses them all): abort.
 *
 * Input: byte 0 = flags: bit 0 read-only export; bits 1-3 split requests
 * into pieces of 1 << n bytes (0: one piece); bits 4-7 the reply buffer,
 * 16 << n bytes (0: P9_MAX_MSIZE). Then frames: a u32 length
 * (little-endian) and that many bytes, one T-message each (its own size
 * field may lie). tests/unit/test-9p.c writes seeds in this format
 * (LKVM_9P_CORPUS=DIR).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lkvm/9p.h"

#define MAX_FRAMES	64
#define MAX_PIECES	1024
#define RESET_EVERY	256

static char top[64], export[96], outside[96], secret[128];
static struct stat top_st, outside_st, secret_st;
static unsigned int runs;

static void put_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f))
		abort();
}

static void put_link(const char *target, const char *name)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/%s", export, name);
	if (symlink(target, p))
		abort();
}

static void make_export(void)
{
	char p[160];

	if (mkdir(export, 0755))
		abort();
	snprintf(p, sizeof(p), "%s/file.txt", export);
	put_file(p, "hello, world\n");
	snprintf(p, sizeof(p), "%s/dir", export);
	if (mkdir(p, 0755))
		abort();
	snprintf(p, sizeof(p), "%s/dir/sub.txt", export);
	put_file(p, "sub\n");
	put_link("/", "abs_link");
	put_link("../../etc", "up_link");
	put_link("../outside", "out_link");
}

static void snapshot(void)
{
	if (stat(top, &top_st) || stat(outside, &outside_st) ||
	    stat(secret, &secret_st))
		abort();
}

static bool same_times(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_nlink == b->st_nlink;
}

static void check_contained(void)
{
	struct stat t, o, s;

	if (stat(top, &t) || stat(outside, &o) || stat(secret, &s) ||
	    !same_times(&t, &top_st) || !same_times(&o, &outside_st) ||
	    !same_times(&s, &secret_st)) {
		fprintf(stderr, "fuzz-9p: something escaped the export\n");
		abort();
	}
}

/* An entry of the export that a root guest must not have left: abort. */
static int check_entry(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	char names[4096];
	ssize_t n, i;

	if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID))) {
		fprintf(stderr, "fuzz-9p: %s has mode %o\n", path,
			st->st_mode & 07777);
		abort();
	}
	n = llistxattr(path, names, sizeof(names));
	for (i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		if (!strncmp(names + i, "trusted.", 8) ||
		    !strcmp(names + i, "security.capability")) {
			fprintf(stderr, "fuzz-9p: %s has xattr %s\n", path,
				names + i);
			abort();
		}
	}
	return 0;
}

static void check_no_privileges(void)
{
	nftw(export, check_entry, 16, FTW_PHYS);
}

/* The guest may have made it unreadable: chmod before removing. */
static void reset_export(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", export,
		 export);
	if (system(cmd))
		abort();
	make_export();
	snapshot();
}

static void remove_top(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", top, top);
	if (system(cmd))
		fprintf(stderr, "fuzz-9p: could not remove %s\n", top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strcpy(top, "/tmp/lkvm-fuzz-9p.XXXXXX");
	if (!mkdtemp(top))
		abort();
	snprintf(export, sizeof(export), "%s/export", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	if (mkdir(outside, 0755))
		abort();
	put_file(secret, "secret\n");
	make_export();
	snapshot();
	atexit(remove_top);
	return 0;
}

/* Describe @len bytes at @buf as pieces of @piece bytes (0: one). */
static unsigned int split(u8 *buf, size_t len, size_t piece,
			  struct iovec *iov)
{
	unsigned int n = 0;
	size_t off = 0;

	if (!piece)
		piece = len ? len : 1;
	while (off < len && n < MAX_PIECES - 1) {
		iov[n].iov_base = buf + off;
		iov[n].iov_len = MIN(piece, len - off);
		off += iov[n++].iov_len;
	}
	if (off < len) {
		iov[n].iov_base = buf + off;
		iov[n++].iov_len = len - off;
	}
	return n;
}

static void run_frame(struct p9_server *s, const u8 *data, size_t len,
		      size_t piece, size_t in_len)
{
	static struct iovec out[MAX_PIECES], in[MAX_PIECES];
	unsigned int out_num, in_num;
	u8 *req, *rep;
	size_t got;

	/* Exactly sized, so that ASan catches any overrun. */
	req = malloc(len ? len : 1);
	rep = malloc(in_len);
	if (!req || !rep)
		abort();
	memcpy(req, data, len);
	out_num = split(req, len, piece, out);
	in_num = split(rep, in_len, piece, in);
	got = p9_handle(s, out, out_num, in, in_num);
	/* Every reply is well-formed: a size field that says its length. */
	if (got > in_len || (got && (got < 7 || (rep[0] | rep[1] << 8 |
			     rep[2] << 16 | (u32)rep[3] << 24) != got)))
		abort();
	free(req);
	free(rep);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct p9_server *s;
	size_t off = 1, len, piece, in_len;
	unsigned int frames = 0;
	char err[128];
	u8 flags;

	if (size < 1)
		return 0;
	flags = data[0];
	piece = (flags >> 1 & 7) ? (size_t)1 << (flags >> 1 & 7) : 0;
	in_len = (flags >> 4) ? (size_t)16 << (flags >> 4) : P9_MAX_MSIZE;
	in_len = MIN(in_len, (size_t)P9_MAX_MSIZE);
	if (++runs % RESET_EVERY == 0)
		reset_export();
	s = p9_server_new(export, flags & 1, err, sizeof(err));
	if (!s)
		abort();
	while (size - off >= 4 && frames++ < MAX_FRAMES) {
		len = data[off] | data[off + 1] << 8 | data[off + 2] << 16 |
		      (size_t)data[off + 3] << 24;
		off += 4;
		len = MIN(len, size - off);
		run_frame(s, data + off, len, piece, in_len);
		off += len;
	}
	p9_server_free(s);
	check_contained();
	check_no_privileges();
	return 0;
}
