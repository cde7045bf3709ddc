// SPDX-License-Identifier: GPL-2.0
/*
 * --9p values, lkvm sandbox's option parsing, and the pieces of its
 * initramfs: kernel version banner, cpio (newc) writer, modules.dep
 * resolution.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/initramfs.h"
#include "lkvm/options.h"
#include "lkvm/virtio-9p.h"

static char err[256];

static void test_9p_spec(void **state)
{
	struct p9_spec s;
	char big[5000];

	assert_int_equal(p9_spec_parse("/srv/data,share", &s, err, sizeof(err)), 0);
	assert_string_equal(s.dir, "/srv/data");
	assert_string_equal(s.tag, "share");
	assert_false(s.readonly);

	assert_int_equal(p9_spec_parse("/a,b,c,tag.1-x_y,ro", &s, err, sizeof(err)), 0);
	assert_string_equal(s.dir, "/a,b,c");
	assert_string_equal(s.tag, "tag.1-x_y");
	assert_true(s.readonly);

	/* a tag named "ro" is a tag when nothing follows it */
	assert_int_equal(p9_spec_parse("/x,ro,ro", &s, err, sizeof(err)), 0);
	assert_string_equal(s.dir, "/x");
	assert_string_equal(s.tag, "ro");
	assert_true(s.readonly);

	assert_int_equal(p9_spec_parse("/x", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "HOSTDIR,TAG"));
	assert_int_equal(p9_spec_parse(",tag", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(p9_spec_parse("/x,", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(p9_spec_parse("/x,,ro", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(p9_spec_parse("/x,a b", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tag characters"));
	assert_int_equal(p9_spec_parse("/x,a/b", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(p9_spec_parse("/x,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				       &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(p9_spec_parse("/x,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				       &s, err, sizeof(err)), 0);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 6, ",tag", 5);
	assert_int_equal(p9_spec_parse(big, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
}

static enum parse_result parse_argv(struct kvm_config *cfg, int argc,
				    char **argv, int *cmd)
{
	run_config_defaults(cfg);
	err[0] = '\0';
	return run_parse_options_cmd(argc, argv, cfg, cmd, err, sizeof(err));
}

static void test_options(void **state)
{
	struct kvm_config cfg;
	char *a1[] = { "run", "-k", "I", "--9p", "/tmp,t1", "--9p", "/,root,ro", NULL };
	char *a2[] = { "run", "-k", "I", "--9p", "/tmp", NULL };
	char *a3[] = { "sandbox", "-m", "512", "--", "sh", "-c", "exit 7", NULL };
	char *a4[] = { "sandbox", "uname", "-a", NULL };
	char *a5[] = { "sandbox", "-c", "2", NULL };
	int cmd = -1;

	assert_int_equal(parse_argv(&cfg, 7, a1, NULL), PARSE_OK);
	assert_int_equal(cfg.nr_p9, 2);
	assert_string_equal(cfg.p9[1], "/,root,ro");
	assert_int_equal(parse_argv(&cfg, 5, a2, NULL), PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --9p '/tmp'"));

	assert_int_equal(parse_argv(&cfg, 7, a3, &cmd), PARSE_OK);
	assert_int_equal(cmd, 4);
	assert_null(cfg.kernel_path);
	assert_int_equal(cfg.ram_size, 512ULL << 20);
	assert_int_equal(parse_argv(&cfg, 3, a4, &cmd), PARSE_OK);
	assert_int_equal(cmd, 1);
	assert_int_equal(parse_argv(&cfg, 3, a5, &cmd), PARSE_OK);
	assert_int_equal(cmd, 3);
}

static void test_linux_version(void **state)
{
	static const char img[] = "\x00junk Linux version \x00 more Linux version X"
		"Linux version 6.1.0-56-arm64 (debian-kernel@lists.debian.org) (gcc)";
	char v[64], small[4];
	char path[] = "/tmp/lkvm-test-image-XXXXXX";
	u8 *big;
	size_t len = 9 << 20;
	int fd;

	assert_int_equal(linux_version_find((const u8 *)img, sizeof(img), v,
					    sizeof(v)), 0);
	assert_string_equal(v, "6.1.0-56-arm64");
	assert_int_equal(linux_version_find((const u8 *)img, sizeof(img), small,
					    sizeof(small)), -ENOENT);
	assert_int_equal(linux_version_find((const u8 *)"Linux version 6.1", 17,
					    v, sizeof(v)), -ENOENT);

	/* across the reader's 4 MiB pieces */
	big = calloc(1, len);
	assert_non_null(big);
	memcpy(big + (4 << 20) - 10, "Linux version 6.8.0+ (x)", 24);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, big, len), (ssize_t)len);
	assert_int_equal(linux_version_find_fd(fd, 0, len, v, sizeof(v)), 0);
	assert_string_equal(v, "6.8.0+");
	/* from an offset (an Image in lkvm's cache file): only what follows */
	assert_int_equal(pwrite(fd, "Linux version 1.2 (x)", 21, 100), 21);
	assert_int_equal(linux_version_find_fd(fd, 0, len, v, sizeof(v)), 0);
	assert_string_equal(v, "1.2");
	assert_int_equal(linux_version_find_fd(fd, 200, len - 200, v, sizeof(v)), 0);
	assert_string_equal(v, "6.8.0+");
	assert_int_equal(linux_version_find_fd(fd, 200, (4 << 20) - 300, v,
					       sizeof(v)), -ENOENT);
	memset(big, 0, len);
	assert_int_equal(pwrite(fd, big, len, 0), (ssize_t)len);
	assert_int_equal(linux_version_find_fd(fd, 0, len, v, sizeof(v)), -ENOENT);
	close(fd);
	free(big);
}

static unsigned long hexfield(const u8 *h, int i)
{
	char buf[9];

	memcpy(buf, h + 6 + 8 * i, 8);
	buf[8] = '\0';
	return strtoul(buf, NULL, 16);
}

static void test_cpio(void **state)
{
	struct cpio c;
	const u8 *p;
	unsigned long nlen, size;

	cpio_init(&c);
	assert_int_equal(cpio_add(&c, "dir", S_IFDIR | 0755, NULL, 0), 0);
	assert_int_equal(cpio_add(&c, "dir/f", S_IFREG | 0644, "hello", 5), 0);
	assert_int_equal(cpio_add_file(&c, "x", S_IFREG | 0644, "/nonexistent"),
			 -ENOENT);
	assert_int_equal(cpio_add(&c, "y", S_IFREG, "", 0), -ENOENT);
	assert_int_equal(cpio_finish(&c), -ENOENT);
	cpio_free(&c);

	cpio_init(&c);
	cpio_add(&c, "dir", S_IFDIR | 0755, NULL, 0);
	cpio_add(&c, "dir/f", S_IFREG | 0644, "hello", 5);
	assert_int_equal(cpio_finish(&c), 0);
	assert_int_equal(c.len % 4, 0);
	p = c.data;
	assert_memory_equal(p, "070701", 6);
	assert_int_equal(hexfield(p, 1), S_IFDIR | 0755);
	nlen = hexfield(p, 11);
	assert_int_equal(nlen, 4);
	assert_string_equal((const char *)p + 110, "dir");
	p += (110 + nlen + 3) & ~3UL;
	assert_memory_equal(p, "070701", 6);
	size = hexfield(p, 6);
	nlen = hexfield(p, 11);
	assert_int_equal(size, 5);
	assert_string_equal((const char *)p + 110, "dir/f");
	p += (110 + nlen + 3) & ~3UL;
	assert_memory_equal(p, "hello", 5);
	p += (size + 3) & ~3UL;
	assert_string_equal((const char *)p + 110, "TRAILER!!!");
	assert_ptr_equal(p + ((110 + 11 + 3) & ~3UL), c.data + c.len);
	cpio_free(&c);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_modules(void **state)
{
	char dir[] = "/tmp/lkvm-test-mods-XXXXXX";
	const char *names[] = { "virtio_mmio", "virtio-console", "9p", "9pnet_virtio", "virtio", "nope" };
	const char *bad[] = { "virtio_mmio", "missing_driver" };
	const char *broken[] = { "broken" };
	struct modlist m;
	char cmd[600];

	assert_non_null(mkdtemp(dir));
	write_file(dir, "modules.dep",
		   "kernel/fs/netfs/netfs.ko:\n"
		   "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
		   "kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko\n"
		   "kernel/net/9p/9pnet.ko:\n"
		   "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko\n"
		   "kernel/drivers/virtio/virtio_mmio.ko:\n"
		   "kernel/drivers/char/virtio_console.ko:\n"
		   "kernel/x/broken.ko: kernel/x/gone.ko\n");
	write_file(dir, "modules.builtin",
		   "kernel/drivers/virtio/virtio.ko\n"
		   "kernel/drivers/virtio/virtio_mmio.ko\n");

	assert_int_equal(modules_resolve(dir, names, 6, 5, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 6);
	assert_non_null(strstr(m.paths[0], "/kernel/drivers/char/virtio_console.ko"));
	assert_true(!strncmp(m.paths[0], dir, strlen(dir)));
	assert_non_null(strstr(m.paths[1], "/9pnet.ko"));
	assert_non_null(strstr(m.paths[2], "/netfs.ko"));
	assert_non_null(strstr(m.paths[3], "/fscache.ko"));
	assert_non_null(strstr(m.paths[4], "/9p.ko.xz"));
	assert_non_null(strstr(m.paths[5], "/9pnet_virtio.ko"));
	modlist_free(&m);

	assert_int_equal(modules_resolve(dir, bad, 2, 2, &m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "lacks the missing_driver driver"));
	assert_int_equal(m.n, 0);
	assert_int_equal(modules_resolve(dir, broken, 1, 1, &m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "kernel/x/gone.ko"));
	assert_int_equal(modules_resolve("/nonexistent", bad, 2, 2, &m, err,
					 sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "modules.dep"));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* lkvm run -d with no -i: what a distribution kernel needs for its root */
static void test_root_disk_modules(void **state)
{
	char dir[] = "/tmp/lkvm-test-mods-XXXXXX";
	const char *names[8];
	struct modlist m;
	char cmd[600];
	int n, req;

	n = root_disk_modules(false, false, false, false, names, &req);
	assert_int_equal(req, 3);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "virtio_mmio");
	assert_string_equal(names[1], "virtio_blk");
	assert_string_equal(names[2], "ext4");
	assert_string_equal(names[3], "crc32c_generic");
	n = root_disk_modules(true, true, true, true, names, &req);
	assert_int_equal(req, 5);
	assert_int_equal(n, 7);
	assert_string_equal(names[0], "virtio_pci");
	assert_string_equal(names[3], "virtio_console");
	assert_string_equal(names[4], "virtio_net");
	assert_string_equal(names[6], "virtio_rng");

	/* all built in: nothing to load (lkvm run then boots as given) */
	assert_non_null(mkdtemp(dir));
	write_file(dir, "modules.dep", "kernel/lib/crc32c_generic.ko:\n");
	write_file(dir, "modules.builtin",
		   "kernel/drivers/virtio/virtio_mmio.ko\n"
		   "kernel/drivers/block/virtio_blk.ko\n"
		   "kernel/fs/ext4/ext4.ko\n");
	n = root_disk_modules(false, false, false, false, names, &req);
	assert_int_equal(modules_resolve(dir, names, req, req, &m, err,
					 sizeof(err)), 0);
	assert_int_equal(m.n, 0);
	modlist_free(&m);
	/* ext4 a module that is not there: the line names it */
	write_file(dir, "modules.builtin",
		   "kernel/drivers/virtio/virtio_mmio.ko\n"
		   "kernel/drivers/block/virtio_blk.ko\n");
	assert_int_equal(modules_resolve(dir, names, n, req, &m, err,
					 sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "lacks the ext4 driver"));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_9p_spec),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_linux_version),
		cmocka_unit_test(test_cpio),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_root_disk_modules),
	};

	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
