// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox's cache (util/kcache.c): the folder, hits, misses when a
 * source changes, corrupt entries, concurrent writers; and the packed
 * module list it stores (util/initramfs.c modlist_pack/unpack).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/initramfs.h"
#include "lkvm/kcache.h"

static char tmpdir[64];
static char key[KCACHE_KEY_MAX];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lkvm-kcache-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_dir(void **state)
{
	char dir[PATH_MAX], want[PATH_MAX];
	struct stat st;

	setenv("XDG_CACHE_HOME", tmpdir, 1);
	assert_int_equal(kcache_dir(dir, sizeof(dir)), 0);
	snprintf(want, sizeof(want), "%s/lkvm", tmpdir);
	assert_string_equal(dir, want);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* no XDG_CACHE_HOME (or a relative one): ~/.cache/lkvm */
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", tmpdir, 1);
	assert_int_equal(kcache_dir(dir, sizeof(dir)), 0);
	snprintf(want, sizeof(want), "%s/.cache/lkvm", tmpdir);
	assert_string_equal(dir, want);
	assert_int_equal(stat(dir, &st), 0);

	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_int_equal(kcache_dir(dir, sizeof(dir)), -ENOENT);
}

static void test_name(void **state)
{
	char a[64], b[64];

	kcache_name(a, sizeof(a), "image", "/boot/vmlinuz-1");
	kcache_name(b, sizeof(b), "image", "/boot/vmlinuz-2");
	assert_int_equal(strncmp(a, "image-", 6), 0);
	assert_int_equal(strlen(a), 6 + 16);
	assert_string_not_equal(a, b);
}

/* a source file with "kernel v1" in it, its path in @src, its key in key */
static void make_source(char *src, size_t len)
{
	snprintf(src, len, "%s/vmlinuz", tmpdir);
	write_file(src, "kernel v1");
	key[0] = '\0';
	assert_int_equal(kcache_key_file(key, src), 0);
}

/* entry @name under key @k holds exactly @want */
static void expect_hit(const char *name, const char *k, const char *want)
{
	size_t len;
	void *data;

	assert_int_equal(kcache_get(tmpdir, name, k, &data, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
	free(data);
}

/* put, then get with the same key: the same bytes */
static void test_hit(void **state)
{
	char src[128];
	size_t len;
	void *data;

	make_source(src, sizeof(src));
	assert_int_equal(kcache_key_add(key, "extra %d\n", 7), 0);
	assert_non_null(strstr(key, src));
	assert_non_null(strstr(key, "extra 7\n"));

	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -ENOENT);
	assert_int_equal(kcache_put(tmpdir, "e", key, "IMAGE", 5), 0);
	expect_hit("e", key, "IMAGE");
	/* an empty payload is a valid entry too */
	assert_int_equal(kcache_put(tmpdir, "empty", key, "", 0), 0);
	expect_hit("empty", key, "");
}

/* kcache_open: the data stays in the file, at the offset it returns */
static void test_open(void **state)
{
	char buf[8];
	size_t len;
	off_t off;
	int fd;

	strcpy(key, "k\n");
	assert_int_equal(kcache_open(tmpdir, "e", key, &fd, &off, &len), -ENOENT);
	assert_int_equal(kcache_put(tmpdir, "e", key, "PAYLOAD", 7), 0);
	assert_int_equal(kcache_open(tmpdir, "e", key, &fd, &off, &len), 0);
	assert_int_equal(len, 7);
	assert_int_equal(off, 4096);	/* page aligned */
	assert_int_equal(pread(fd, buf, sizeof(buf), off), 7);
	assert_memory_equal(buf, "PAYLOAD", 7);
	close(fd);
	assert_int_equal(kcache_open(tmpdir, "e", "other\n", &fd, &off, &len),
			 -ESTALE);
	assert_int_equal(fd, -1);
	/* a key longer than the first page: the data at the next one */
	memset(key, 'k', 5000);
	key[5000] = '\0';
	assert_int_equal(kcache_put(tmpdir, "long", key, "PAYLOAD", 7), 0);
	assert_int_equal(kcache_open(tmpdir, "long", key, &fd, &off, &len), 0);
	assert_int_equal(off, 8192);
	close(fd);
	expect_hit("long", key, "PAYLOAD");
}

/* the source changes (size, mtime): its key differs, the entry is stale */
static void test_stale(void **state)
{
	char src[128], key2[KCACHE_KEY_MAX] = "";
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
	size_t len;
	void *data;

	make_source(src, sizeof(src));
	assert_int_equal(kcache_put(tmpdir, "e", key, "OLD", 3), 0);

	write_file(src, "kernel v2, longer");
	assert_int_equal(kcache_key_file(key2, src), 0);
	assert_string_not_equal(key, key2);
	assert_int_equal(kcache_get(tmpdir, "e", key2, &data, &len), -ESTALE);

	/* same size, only the mtime moved */
	key[0] = key2[0] = '\0';
	assert_int_equal(kcache_key_file(key, src), 0);
	assert_int_equal(utimensat(AT_FDCWD, src, ts, 0), 0);
	assert_int_equal(kcache_key_file(key2, src), 0);
	assert_string_not_equal(key, key2);

	/* rebuilt: the new entry replaces the old one */
	assert_int_equal(kcache_put(tmpdir, "e", key2, "NEW", 3), 0);
	expect_hit("e", key2, "NEW");

	/* a source that is gone has no key */
	unlink(src);
	assert_int_equal(kcache_key_file(key2, src), -ENOENT);
}

/* overwrite the entry's byte at @off with @c, or cut it to @off bytes */
static void damage(const char *name, off_t off, int c)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	if (c < 0)
		assert_int_equal(ftruncate(fd, off), 0);
	else
		assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_corrupt(void **state)
{
	char path[PATH_MAX], target[PATH_MAX];
	size_t len;
	void *data;

	strcpy(key, "k\n");
	/* truncated: the header says more than the file has */
	assert_int_equal(kcache_put(tmpdir, "e", key, "PAYLOAD", 7), 0);
	damage("e", 4096 + 3, -1);
	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -EBADMSG);
	/* longer than the header says */
	assert_int_equal(kcache_put(tmpdir, "e", key, "PAYLOAD", 7), 0);
	damage("e", 4096 + 7, 'x');
	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -EBADMSG);
	/* bad magic */
	assert_int_equal(kcache_put(tmpdir, "e", key, "PAYLOAD", 7), 0);
	damage("e", 0, 'X');
	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -EBADMSG);
	/* a huge data length */
	assert_int_equal(kcache_put(tmpdir, "e", key, "PAYLOAD", 7), 0);
	damage("e", 16 + 7, 0x7f);
	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -EBADMSG);
	/* an empty file, and garbage */
	snprintf(path, sizeof(path), "%s/e", tmpdir);
	write_file(path, "");
	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -EBADMSG);
	write_file(path, "this is not a cache entry at all, no no no");
	assert_int_equal(kcache_get(tmpdir, "e", key, &data, &len), -EBADMSG);
	/* a symlink is not followed, a folder is not an entry */
	assert_int_equal(kcache_put(tmpdir, "real", key, "PAYLOAD", 7), 0);
	snprintf(target, sizeof(target), "%s/real", tmpdir);
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(kcache_get(tmpdir, "link", key, &data, &len), -EBADMSG);
	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(kcache_get(tmpdir, "dir", key, &data, &len), -EBADMSG);

	/* a corrupt entry is simply replaced */
	assert_int_equal(kcache_put(tmpdir, "e", key, "GOOD", 4), 0);
	expect_hit("e", key, "GOOD");
}

/* a folder we cannot write: put fails, nothing is left behind */
static void test_put_fails(void **state)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	assert_int_equal(kcache_put(dir, "e", "k", "x", 1), -ENOENT);
}

#define RACE_ROUNDS	200
#define RACE_A		(64 << 10)
#define RACE_B		(192 << 10)

static void race_writer(size_t len, int c)
{
	char *buf = malloc(len);
	int i;

	if (!buf)
		_exit(2);
	memset(buf, c, len);
	for (i = 0; i < RACE_ROUNDS; i++)
		if (kcache_put(tmpdir, "race", "key\n", buf, len))
			_exit(1);
	_exit(0);
}

/* every byte of a hit is the one payload it started as */
static void check_race_hit(const u8 *d, size_t len)
{
	size_t i;

	assert_true(len == RACE_A || len == RACE_B);
	for (i = 0; i < len; i++)
		if (d[i] != (len == RACE_A ? 'A' : 'B'))
			fail_msg("torn entry: byte %zu of %zu", i, len);
}

/*
 * Two sandboxes fill the same entry at once while a third reads it: the
 * reader sees no entry until the first is complete, then always one
 * writer's whole payload (never a miss, a part or a mix), and no
 * temporary file is left.
 */
static void test_race(void **state)
{
	pid_t a, b, w;
	int st, hits = 0, running = 2;
	struct dirent *de;
	size_t len;
	void *data;
	DIR *d;

	a = fork();
	if (!a)
		race_writer(RACE_A, 'A');
	b = fork();
	if (!b)
		race_writer(RACE_B, 'B');
	/* read for as long as either writer writes */
	while (running) {
		w = waitpid(-1, &st, WNOHANG);
		if (w > 0) {
			assert_true(w == a || w == b);
			assert_true(WIFEXITED(st) && !WEXITSTATUS(st));
			running--;
		}
		/* once there, the entry never goes missing or torn */
		if (kcache_get(tmpdir, "race", "key\n", &data, &len)) {
			assert_int_equal(hits, 0);
			continue;
		}
		check_race_hit(data, len);
		free(data);
		hits++;
	}
	assert_int_equal(kcache_get(tmpdir, "race", "key\n", &data, &len), 0);
	check_race_hit(data, len);
	free(data);
	assert_true(hits > 0);

	d = opendir(tmpdir);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") &&
		    strcmp(de->d_name, ".."))
			fail_msg("temporary file left: %s", de->d_name);
	closedir(d);
}

/* two module files, read, packed, unpacked: the same list */
static void make_modlist(struct modlist *m)
{
	static const char *const text[] = { "module one", "" };
	char path[PATH_MAX];
	int i;

	memset(m, 0, sizeof(*m));
	m->paths = calloc(2, sizeof(*m->paths));
	assert_non_null(m->paths);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/m%d.ko", tmpdir, i);
		write_file(path, text[i]);
		m->paths[i] = strdup(path);
		m->n++;
	}
	assert_int_equal(modlist_read(m, (char[64]){ 0 }, 64), 0);
}

static void test_modlist_pack(void **state)
{
	struct modlist m, u;
	size_t len, cut;
	u8 *buf;
	int i;

	make_modlist(&m);
	assert_int_equal(m.lens[0], 10);
	assert_memory_equal(m.data[0], "module one", 10);
	assert_int_equal(m.lens[1], 0);
	assert_non_null(strstr(m.ids[0], m.paths[0]));

	assert_int_equal(modlist_pack(&m, &buf, &len), 0);
	assert_int_equal(modlist_unpack(&u, buf, len), 0);
	assert_int_equal(u.n, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(u.paths[i], m.paths[i]);
		assert_string_equal(u.ids[i], m.ids[i]);
		assert_int_equal(u.lens[i], m.lens[i]);
		assert_memory_equal(u.data[i], m.data[i], m.lens[i]);
	}
	modlist_free(&u);

	/* every truncation, and a trailing byte, are refused */
	for (cut = 0; cut < len; cut++)
		assert_int_equal(modlist_unpack(&u, buf, cut), -EBADMSG);
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	buf[len] = 0;
	assert_int_equal(modlist_unpack(&u, buf, len + 1), -EBADMSG);
	/* a data length past the end */
	buf[4 + 8 + 7] = 0x7f;
	assert_int_equal(modlist_unpack(&u, buf, len), -EBADMSG);
	free(buf);
	modlist_free(&m);
}

static void test_modlist_read_fails(void **state)
{
	struct modlist m = { 0 };
	char err[256];

	m.paths = calloc(1, sizeof(*m.paths));
	assert_non_null(m.paths);
	m.paths[0] = strdup("/no/such/module.ko");
	m.n = 1;
	assert_int_equal(modlist_read(&m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/no/such/module.ko"));
	modlist_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dir, setup, teardown),
		cmocka_unit_test(test_name),
		cmocka_unit_test_setup_teardown(test_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modlist_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modlist_read_fails, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
