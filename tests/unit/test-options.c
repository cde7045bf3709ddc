// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lkvm/cmdline.h"
#include "lkvm/options.h"

static char err[256];

static enum parse_result parse(struct kvm_config *cfg, int argc, ...)
{
	char *argv[32];
	va_list ap;
	int i;

	va_start(ap, argc);
	argv[0] = "run";
	for (i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[i] = NULL;
	va_end(ap);
	run_config_defaults(cfg);
	err[0] = '\0';
	return run_parse_options(argc + 1, argv, cfg, err, sizeof(err));
}

static void test_defaults_and_values(void **state)
{
	struct kvm_config cfg;

	assert_int_equal(parse(&cfg, 11, "-k", "Image", "--initrd", "ird",
			       "-p", "console=ttyS0 quiet", "-m", "512",
			       "-c", "4", "--irqchip=gicv2"), PARSE_OK);
	assert_string_equal(cfg.kernel_path, "Image");
	assert_string_equal(cfg.initrd_path, "ird");
	assert_string_equal(cfg.params, "console=ttyS0 quiet");
	assert_int_equal(cfg.ram_size, 512ULL << 20);
	assert_int_equal(cfg.nr_cpus, 4);
	assert_int_equal(cfg.irqchip, IRQCHIP_GICV2);
	assert_int_equal(cfg.console, CONSOLE_SERIAL);

	assert_int_equal(parse(&cfg, 2, "--kernel=Image", "--mem=2G"), PARSE_OK);
	assert_int_equal(cfg.ram_size, 2ULL << 30);
	assert_int_equal(cfg.nr_cpus, 1);
	assert_int_equal(cfg.ram_size, 2ULL << 30);

	assert_int_equal(parse(&cfg, 8, "-k", "I", "--console", "virtio",
			       "--virtio-transport", "pci", "--rng", "--debug"),
			 PARSE_OK);
	assert_int_equal(cfg.console, CONSOLE_VIRTIO);
	assert_int_equal(cfg.transport, VIRTIO_TRANSPORT_PCI);
	assert_true(cfg.rng);
	assert_true(cfg.debug);
	assert_false(cfg.no_seccomp);

	assert_int_equal(parse(&cfg, 3, "-k", "I", "--no-seccomp"), PARSE_OK);
	assert_true(cfg.no_seccomp);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--no-seccomp=1"),
			 PARSE_ERROR);
}

/*
 * No --virtio-transport: PCI (MSI-X, no exit per interrupt) where the
 * guest gets a GICv3 with an ITS; MMIO for a GICv2 or a 32-bit guest.
 * A transport given is kept whatever the host has.
 */
static void test_default_transport(void **state)
{
	struct kvm_config cfg;

	assert_int_equal(parse(&cfg, 2, "-k", "I"), PARSE_OK);
	assert_int_equal(cfg.transport, VIRTIO_TRANSPORT_AUTO);
	assert_int_equal(run_default_transport(&cfg, true), VIRTIO_TRANSPORT_PCI);
	assert_int_equal(run_default_transport(&cfg, false), VIRTIO_TRANSPORT_MMIO);

	assert_int_equal(parse(&cfg, 3, "-k", "I", "--irqchip=gicv2"), PARSE_OK);
	assert_int_equal(run_default_transport(&cfg, true), VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--irqchip=gicv3"), PARSE_OK);
	assert_int_equal(run_default_transport(&cfg, true), VIRTIO_TRANSPORT_PCI);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--aarch32"), PARSE_OK);
	assert_int_equal(run_default_transport(&cfg, true), VIRTIO_TRANSPORT_MMIO);

	assert_int_equal(parse(&cfg, 4, "-k", "I", "--virtio-transport", "mmio"),
			 PARSE_OK);
	assert_int_equal(run_default_transport(&cfg, true), VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--virtio-transport", "pci"),
			 PARSE_OK);
	assert_int_equal(run_default_transport(&cfg, false), VIRTIO_TRANSPORT_PCI);
}

static void test_errors(void **state)
{
	struct kvm_config cfg;

	assert_int_equal(parse(&cfg, 3, "-k", "I", "--bogus"), PARSE_ERROR);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	assert_int_equal(parse(&cfg, 3, "-k", "I", "-Z"), PARSE_ERROR);
	assert_non_null(strstr(err, "unknown option '-Z'"));
	assert_int_equal(parse(&cfg, 3, "-k", "I", "-m"), PARSE_ERROR);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--dump-dtb"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-m", "lots"), PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --mem 'lots'"));
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-m", "1"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-c", "0"), PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --cpus '0'"));
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-c", "2x"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-c", "100000"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--console", "vga"), PARSE_ERROR);
	assert_non_null(strstr(err, "serial or virtio"));
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--irqchip=gicv4"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--virtio-transport=usb"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 5, "-k", "I", "--irqchip=gicv2", "-c", "9"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 1, "-m512"), PARSE_ERROR);
	assert_non_null(strstr(err, "no kernel"));
	assert_int_equal(parse(&cfg, 3, "-k", "I", "stray"), PARSE_ERROR);
	assert_non_null(strstr(err, "unexpected argument 'stray'"));
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--timeout", "0"), PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --timeout '0'"));
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--timeout", "-5"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--expect", "(unclosed"), PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --expect '(unclosed'"));
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--fail-on", "a{1"), PARSE_ERROR);
	/* One line: no newline inside the message. */
	assert_null(strchr(err, '\n'));
	/* -d specs are checked while parsing (exit 2), format= too */
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-d", "a.img,format=vmdk"), PARSE_ERROR);
	assert_non_null(strstr(err, "unknown format 'vmdk' (known: raw, qcow2)"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(parse(&cfg, 4, "-k", "I", "-d", "a.img,format=qcow2"), PARSE_OK);
}

static void test_scripted_run_options(void **state)
{
	struct kvm_config cfg;

	assert_int_equal(parse(&cfg, 13, "-k", "I", "--timeout", "30",
			       "--expect", "login:", "--expect=^# $",
			       "--fail-on", "Kernel panic|BUG:",
			       "--console-log", "/tmp/x.log", "--9p", "/tmp,tag"),
			 PARSE_OK);
	assert_int_equal(cfg.timeout, 30);
	assert_int_equal(cfg.nr_expect, 2);
	assert_string_equal(cfg.expect[1], "^# $");
	assert_int_equal(cfg.nr_fail_on, 1);
	assert_string_equal(cfg.console_log, "/tmp/x.log");
	assert_int_equal(cfg.nr_p9, 1);
}

/* --balloon; --vsock CID: 3 to 2^32 - 2, the reserved ones refused */
static void test_balloon_vsock(void **state)
{
	static const char *const bad[] = {
		"0", "1", "2", "4294967295", "4294967296", "-3", "x", "", "3x",
	};
	struct kvm_config cfg;
	unsigned int i;

	assert_int_equal(parse(&cfg, 2, "-k", "I"), PARSE_OK);
	assert_false(cfg.balloon);
	assert_int_equal(cfg.vsock_cid, 0);
	assert_int_equal(parse(&cfg, 5, "-k", "I", "--balloon", "--vsock", "3"),
			 PARSE_OK);
	assert_true(cfg.balloon);
	assert_int_equal(cfg.vsock_cid, 3);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--vsock=4294967294"), PARSE_OK);
	assert_int_equal(cfg.vsock_cid, 4294967294ULL);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse(&cfg, 4, "-k", "I", "--vsock", bad[i]),
				 PARSE_ERROR);
		assert_non_null(strstr(err, "invalid --vsock"));
		assert_non_null(strstr(err, "from 3 to 4294967294"));
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--vsock"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--balloon=1"), PARSE_ERROR);
}

/* guest RAM's alignment: the host's THP size when RAM holds one */
static void test_ram_map_align(void **state)
{
	assert_int_equal(ram_map_align(256 * SZ_1M, SZ_2M), SZ_2M);	/* 4 KiB */
	assert_int_equal(ram_map_align(256 * SZ_1M, 32 * SZ_1M), 32 * SZ_1M);
	assert_int_equal(ram_map_align(16 * SZ_1M, 32 * SZ_1M), SZ_2M);
	assert_int_equal(ram_map_align(256 * SZ_1M, 512 * SZ_1M), SZ_2M);
	assert_int_equal(ram_map_align(SZ_1G, 512 * SZ_1M), 512 * SZ_1M);
	assert_int_equal(ram_map_align(SZ_1G, 0), SZ_2M);	/* no THP */
	assert_int_equal(ram_map_align(SZ_1G, 3 * SZ_1M), SZ_2M);
}

/*
 * -m against what KVM maps: the IPA size less the 2 GiB below RAM, and
 * one memory slot of 2^31 - 1 pages.
 */
static void test_ram_limit(void **state)
{
	const u64 k4 = 4096, k64 = 65536;
	char err[256];

	assert_int_equal(ram_max_size(0, k4), 1022 * SZ_1G);	/* 40 bits */
	assert_int_equal(ram_max_size(40, k4), 1022 * SZ_1G);
	assert_int_equal(ram_max_size(36, k4), 62 * SZ_1G);
	assert_int_equal(ram_max_size(31, k4), 0);
	/* 48 bits: the slot is the limit, 8 TiB less a page, in GiB. */
	assert_int_equal(ram_max_size(48, k4), 8191 * SZ_1G);
	assert_int_equal(ram_max_size(48, k64), 131071 * SZ_1G);
	assert_int_equal(ram_max_size(44, k64), (16ULL << 40) - 2 * SZ_1G);

	assert_int_equal(ram_size_check(1022 * SZ_1G, 40, k4, err,
					sizeof(err)), 0);
	assert_int_equal(ram_size_check(2048 * SZ_1G, 44, k4, err,
					sizeof(err)), 0);
	assert_int_equal(ram_size_check(2048 * SZ_1G, 40, k4, err,
					sizeof(err)), -E2BIG);
	assert_string_equal(err, "-m 2T: this host's KVM allows at most 1022G of guest RAM (40-bit guest physical addresses, RAM from 0x80000000)");
	assert_int_equal(ram_size_check(1022 * SZ_1G + SZ_1M, 0, k4, err,
					sizeof(err)), -E2BIG);
	assert_string_equal(err, "-m 1046529M: this host's KVM allows at most 1022G of guest RAM (40-bit guest physical addresses, RAM from 0x80000000)");
	assert_int_equal(ram_size_check(256ULL << 40, 48, k4, err,
					sizeof(err)), -E2BIG);
	assert_string_equal(err, "-m 256T: this host's KVM allows at most 8191G of guest RAM (one memory slot of at most 2^31 - 1 pages of 4 KiB)");
	assert_int_equal(ram_size_check(8191 * SZ_1G, 48, k4, err,
					sizeof(err)), 0);
	assert_int_equal(ram_size_check(8192 * SZ_1G, 48, k4, err,
					sizeof(err)), -E2BIG);
}

/* The IPA size asked of KVM follows RAM's top (0x80000000 + -m). */
static void test_ram_ipa_bits(void **state)
{
	assert_int_equal(ram_ipa_bits(256 * SZ_1M), 32);
	assert_int_equal(ram_ipa_bits(2 * SZ_1G), 32);	/* ends at 4 GiB */
	assert_int_equal(ram_ipa_bits(2 * SZ_1G + SZ_1M), 33);
	assert_int_equal(ram_ipa_bits(5 * SZ_1G), 33);
	assert_int_equal(ram_ipa_bits(1022 * SZ_1G), 40);
	assert_int_equal(ram_ipa_bits(1022 * SZ_1G + SZ_1M), 41);
	assert_int_equal(ram_ipa_bits(8190 * SZ_1G), 43);
	assert_int_equal(ram_ipa_bits(8191 * SZ_1G), 44);
}

/* The CPU feature options. */
static void test_cpu_feature_options(void **state)
{
	struct kvm_config cfg;

	assert_int_equal(parse(&cfg, 2, "-k", "I"), PARSE_OK);
	assert_false(cfg.no_sve || cfg.no_ptrauth || cfg.no_mte ||
		     cfg.no_pvtime || cfg.pmu || cfg.aarch32 || cfg.kaslr_seed);
	assert_int_equal(cfg.sve_max_vl, 0);
	assert_int_equal(CPU_COUNT(&cfg.vcpu_affinity), 0);

	assert_int_equal(parse(&cfg, 11, "-k", "I", "--disable-sve",
			       "--disable-ptrauth", "--disable-mte",
			       "--no-pvtime", "--pmu", "--kaslr-seed", "42",
			       "--vcpu-affinity", "0-1,3"), PARSE_OK);
	assert_true(cfg.no_sve && cfg.no_ptrauth && cfg.no_mte &&
		    cfg.no_pvtime && cfg.pmu);
	assert_int_equal(CPU_COUNT(&cfg.vcpu_affinity), 3);
	assert_true(CPU_ISSET(3, &cfg.vcpu_affinity));
	assert_true(cfg.kaslr_seed == 42);
	assert_int_equal(parse(&cfg, 3, "-k", "I",
			       "--kaslr-seed=0xffffffffffffffff"), PARSE_OK);
	assert_true(cfg.kaslr_seed == UINT64_MAX);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--kaslr-seed=-1"),
			 PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --kaslr-seed '-1'"));
	assert_int_equal(parse(&cfg, 3, "-k", "I",
			       "--kaslr-seed=18446744073709551616"), PARSE_ERROR);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--kaslr-seed=010"),
			 PARSE_ERROR);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--kaslr-seed=12ab"),
			 PARSE_ERROR);

	assert_int_equal(parse(&cfg, 4, "-k", "I", "--sve-max-vl", "256"),
			 PARSE_OK);
	assert_int_equal(cfg.sve_max_vl, 256);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--sve-max-vl=2048"),
			 PARSE_OK);
	assert_int_equal(cfg.sve_max_vl, 2048);
}

static void test_cpu_feature_errors(void **state)
{
	static const char *const bad_vl[] = {
		"0", "64", "200", "2176", "-128", "128k", "", "4096",
	};
	struct kvm_config cfg;
	unsigned int i;

	for (i = 0; i < sizeof(bad_vl) / sizeof(bad_vl[0]); i++) {
		assert_int_equal(parse(&cfg, 4, "-k", "I", "--sve-max-vl",
				       bad_vl[i]), PARSE_ERROR);
		assert_non_null(strstr(err, "invalid --sve-max-vl '"));
		assert_non_null(strstr(err, "a multiple of 128 from 128 to 2048"));
	}
	assert_int_equal(parse(&cfg, 5, "-k", "I", "--sve-max-vl", "256",
			       "--disable-sve"), PARSE_ERROR);
	assert_string_equal(err, "--sve-max-vl and --disable-sve: give one of them");
	assert_int_equal(parse(&cfg, 4, "-k", "I", "--vcpu-affinity", "1-"),
			 PARSE_ERROR);
	assert_non_null(strstr(err, "invalid --vcpu-affinity '1-'"));
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--vcpu-affinity"),
			 PARSE_ERROR);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--pmu=on"), PARSE_ERROR);
}

static void test_help(void **state)
{
	struct kvm_config cfg;

	assert_int_equal(parse(&cfg, 1, "--help"), PARSE_HELP);
	assert_int_equal(parse(&cfg, 1, "-h"), PARSE_HELP);
}

/* lkvm help run: the seccomp option and its exit status. */
/* What lkvm help run prints (malloc'ed). */
static char *usage_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	run_usage(f);
	fclose(f);
	return text;
}

static void test_usage_seccomp(void **state)
{
	char *text = usage_text();

	assert_non_null(strstr(text, "    --no-seccomp "));
	assert_non_null(strstr(text, "\n  8  a seccomp filter stopped"));
	free(text);
}

/* lkvm help run lists both */
static void test_usage_balloon_vsock(void **state)
{
	char *text = usage_text();

	assert_non_null(strstr(text, "    --balloon "));
	assert_non_null(strstr(text, "    --vsock CID "));
	free(text);
}

/* --gdb [ADDR:]PORT: IPv4 and a port; --gdb-wait only with it */
static void test_gdb(void **state)
{
	static const char *const bad[] = {
		"0", "65536", "-1", "", "x", "1234x", "127.0.0.1:", ":1234",
		"localhost:1234", "1.2.3:1234", "::1:1234", "1.2.3.4:0",
		"123456789012345678901234567890:1",
	};
	struct kvm_config cfg;
	u32 addr;
	u16 port;

	assert_int_equal(parse(&cfg, 2, "-k", "I"), PARSE_OK);
	assert_int_equal(cfg.gdb_port, 0);
	assert_false(cfg.gdb_wait);
	assert_int_equal(parse(&cfg, 5, "-k", "I", "--gdb", "1234",
			       "--gdb-wait"), PARSE_OK);
	assert_int_equal(cfg.gdb_port, 1234);
	assert_int_equal(cfg.gdb_addr, 0x7f000001);	/* 127.0.0.1 */
	assert_true(cfg.gdb_wait);
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--gdb=0.0.0.0:65535"),
			 PARSE_OK);
	assert_int_equal(cfg.gdb_port, 65535);
	assert_int_equal(cfg.gdb_addr, 0);
	assert_int_equal(gdb_listen_parse("10.0.2.15:1", &addr, &port, err,
					  sizeof(err)), 0);
	assert_int_equal(addr, 0x0a00020f);
	assert_int_equal(port, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&cfg, 4, "-k", "I", "--gdb", bad[i]),
				 PARSE_ERROR);
		assert_non_null(strstr(err, "invalid --gdb"));
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(parse(&cfg, 3, "-k", "I", "--gdb-wait"), PARSE_ERROR);
	assert_string_equal(err, "--gdb-wait needs --gdb PORT");
	assert_int_equal(parse(&cfg, 5, "-k", "I", "--gdb", "1", "--aarch32"),
			 PARSE_ERROR);
	assert_non_null(strstr(err, "not --aarch32"));
}

/* lkvm help run lists both */
static void test_usage_gdb(void **state)
{
	char *text = usage_text();

	assert_non_null(strstr(text, "    --gdb [ADDR:]PORT "));
	assert_non_null(strstr(text, "    --gdb-wait "));
	free(text);
}

static void test_cmdline_has_param(void **state)
{
	assert_true(cmdline_has_param("console=ttyS0 quiet", "console"));
	assert_true(cmdline_has_param("quiet console=hvc0", "console"));
	assert_true(cmdline_has_param("earlycon quiet", "earlycon"));
	assert_false(cmdline_has_param("consoleblank=0", "console"));
	assert_false(cmdline_has_param("", "console"));
	assert_false(cmdline_has_param("foo=\"a console=x\"", "console"));
	assert_false(cmdline_has_param("quiet -- console=x", "console"));
}

static void test_cmdline_add_default(void **state)
{
	struct kvm kvm = { 0 };

	kvm.cmdline = strdup("quiet");
	assert_int_equal(kvm_cmdline_add_default(&kvm, "console", "console=ttyS0"), 0);
	assert_string_equal(kvm.cmdline, "quiet console=ttyS0");
	assert_int_equal(kvm_cmdline_add_default(&kvm, "console", "console=hvc0"), 0);
	assert_string_equal(kvm.cmdline, "quiet console=ttyS0");
	free(kvm.cmdline);

	kvm.cmdline = strdup("quiet -- init-arg");
	assert_int_equal(kvm_cmdline_add_default(&kvm, "root", "root=/dev/vda"), 0);
	assert_string_equal(kvm.cmdline, "quiet root=/dev/vda -- init-arg");
	free(kvm.cmdline);

	kvm.cmdline = strdup("-- x");
	assert_int_equal(kvm_cmdline_add_default(&kvm, "root", "root=/dev/vda"), 0);
	assert_string_equal(kvm.cmdline, "root=/dev/vda -- x");
	free(kvm.cmdline);

	kvm.cmdline = strdup("");
	assert_int_equal(kvm_cmdline_add_default(&kvm, "console", "console=ttyS0"), 0);
	assert_string_equal(kvm.cmdline, "console=ttyS0");
	free(kvm.cmdline);

	kvm.cmdline = calloc(1, LKVM_CMDLINE_MAX);
	memset(kvm.cmdline, 'a', LKVM_CMDLINE_MAX - 2);
	assert_int_not_equal(kvm_cmdline_add_default(&kvm, "console", "console=ttyS0"), 0);
	free(kvm.cmdline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_default_transport),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_scripted_run_options),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_ram_limit),
		cmocka_unit_test(test_ram_map_align),
		cmocka_unit_test(test_ram_ipa_bits),
		cmocka_unit_test(test_cpu_feature_options),
		cmocka_unit_test(test_cpu_feature_errors),
		cmocka_unit_test(test_usage_seccomp),
		cmocka_unit_test(test_balloon_vsock),
		cmocka_unit_test(test_usage_balloon_vsock),
		cmocka_unit_test(test_gdb),
		cmocka_unit_test(test_usage_gdb),
		cmocka_unit_test(test_cmdline_has_param),
		cmocka_unit_test(test_cmdline_add_default),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
