// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm run: boot a guest.
 *
 * With -d and no -i, a distribution kernel whose virtio-blk, transport or
 * ext4 drivers are modules cannot mount root=/dev/vda by itself: lkvm then
 * boots it with an initramfs built in memory (as lkvm sandbox does) of its
 * own init (guest/init.c, "mode=root") and those modules from
 * /lib/modules/VERSION or --modules DIR. The init loads them, mounts
 * root= and switches to the disk's init= (default /sbin/init) as PID 1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/init.h"
#include "lkvm/initramfs.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/net-backend.h"
#include "lkvm/options.h"
#include "lkvm/seccomp.h"
#include "lkvm/term.h"
#include "lkvm/watch.h"

static int pack_root_initramfs(struct kvm *kvm, struct cpio *c,
			       const struct modlist *mods)
{
	static const char *const dirs[] = {
		"dev", "proc", "sys", "newroot", "lkvm", "lkvm/modules",
	};
	static const char config[] = "mode=root\n";
	char err[PATH_MAX + 64];

	cpio_init(c);
	if (cpio_add_lkvm_init(c, dirs, ARRAY_SIZE(dirs), mods, err,
			       sizeof(err)) < 0) {
		pr_err("%s", err);
		return c->error;
	}
	cpio_add(c, "lkvm/config", S_IFREG | 0644, config, sizeof(config) - 1);
	if (cpio_finish(c) < 0) {
		pr_err("cannot build the initramfs: %s", strerror(-c->error));
		return c->error;
	}
	kvm->initrd_mem = c->data;
	kvm->initrd_mem_size = c->len;
	return 0;
}

/* -d, no -i: an initramfs if the root disk's drivers are modules. */
static int root_initramfs(struct kvm *kvm, struct cpio *c)
{
	const struct kvm_config *cfg = &kvm->cfg;
	struct modlist mods = { 0 };
	char kver[128], dir[PATH_MAX], dep[PATH_MAX + 16], err[512];
	const char *names[8];
	int n, req, ret;

	if (!cfg->nr_disks || cfg->initrd_path ||
	    (cfg->modules_dir && !strcmp(cfg->modules_dir, "none")))
		return 0;
	ret = kvm_arch_kernel_version(kvm, kver, sizeof(kver));
	if (ret == -ENODATA)
		return 0;	/* not a Linux we know: as given */
	if (ret < 0)
		return ret;
	if (cfg->modules_dir) {
		snprintf(dir, sizeof(dir), "%s", cfg->modules_dir);
	} else {
		snprintf(dir, sizeof(dir), "/lib/modules/%s", kver);
		snprintf(dep, sizeof(dep), "%s/modules.dep", dir);
		/* no modules installed for it: the kernel has what it needs */
		if (access(dep, F_OK) < 0)
			return 0;
	}
	n = root_disk_modules(cfg->transport == VIRTIO_TRANSPORT_PCI,
			      cfg->console == CONSOLE_VIRTIO, cfg->nr_nics > 0,
			      cfg->rng, names, &req);
	ret = modules_resolve(dir, names, req, req, &mods, err, sizeof(err));
	if (!ret && mods.n) {
		modlist_free(&mods);
		ret = modules_resolve(dir, names, n, req, &mods, err,
				      sizeof(err));
	} else if (!ret) {
		return 0;	/* all built in: boot as usual */
	}
	if (ret < 0) {
		pr_err("kernel %s: %s (give the kernel's modules with --modules DIR)",
		       kver, err);
		return -ENOENT;
	}
	ret = pack_root_initramfs(kvm, c, &mods);
	pr_debug("initramfs of %zu KiB for the root disk, %d modules from %s",
		 c->len >> 10, mods.n, dir);
	modlist_free(&mods);
	return ret;
}

int run_seccomp_prepare(struct kvm *kvm, int exit_status)
{
	char err[256];

	if (seccomp_prepare(!kvm->cfg.no_seccomp, kvm->cfg.debug, exit_status,
			    term_restore, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return -1;
	}
	if (!kvm->cfg.no_seccomp)
		pr_phase("seccomp filters built");
	return 0;
}

/* The main thread takes its own list once everything is set up. */
static int seccomp_main_thread(struct kvm *kvm)
{
	seccomp_apply(SECCOMP_MAIN);
	return 0;
}
lkvm_init(INIT_LATE, seccomp_main_thread, NULL);

void cmd_run_help(void)
{
	run_usage(stdout);
}

int cmd_run(int argc, char **argv)
{
	struct cpio initramfs = { 0 };
	char err[256];
	struct kvm *kvm;
	int status;

	kvm = kvm_new();
	if (!kvm) {
		pr_err("out of memory");
		return LKVM_EXIT_ERROR;
	}
	run_config_defaults(&kvm->cfg);
	switch (run_parse_options(argc, argv, &kvm->cfg, err, sizeof(err))) {
	case PARSE_HELP:
		run_usage(stdout);
		kvm_delete(kvm);
		return 0;
	case PARSE_ERROR:
		fprintf(stderr, "lkvm run: %s (see 'lkvm run --help')\n", err);
		kvm_delete(kvm);
		return LKVM_EXIT_USAGE;
	case PARSE_OK:
		break;
	}
	if (net_slirp_exec_needed(&kvm->cfg)) {
		net_slirp_exec();	/* returns only on failure, said why */
		kvm_delete(kvm);
		return LKVM_EXIT_ERROR;
	}

	kvm_arch_choose_transport(&kvm->cfg);	/* the modules depend on it */
	kvm->cmdline = strdup(kvm->cfg.params ? kvm->cfg.params : "");
	/* Bad input files are refused before any VM exists. */
	if (!kvm->cmdline || root_initramfs(kvm, &initramfs) < 0 ||
	    kvm_arch_load_files(kvm) < 0 ||
	    run_seccomp_prepare(kvm, LKVM_EXIT_SECCOMP) < 0) {
		kvm_arch_free_files(kvm);
		cpio_free(&initramfs);
		kvm_delete(kvm);
		return LKVM_EXIT_ERROR;
	}
	status = kvm_run_vm(kvm);
	status = console_watch_final(kvm, status);
	kvm_arch_free_files(kvm);
	cpio_free(&initramfs);
	kvm_delete(kvm);
	return status;
}
