/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_OPTIONS_H
#define LKVM_OPTIONS_H

#include <stdio.h>
#include "lkvm/kvm.h"

enum parse_result {
	PARSE_OK = 0,
	PARSE_HELP = 1,		/* --help given: print usage, exit 0 */
	PARSE_ERROR = -1,	/* @err holds one line naming the problem */
};

#define LKVM_MAX_CPUS_OPT	512
/* --vsock CID: 0-2 are the hypervisor, loopback, the host; -1U is any. */
#define VSOCK_CID_MIN		3U
#define VSOCK_CID_MAX		0xfffffffeU

/*
 * --gdb [ADDR:]PORT: an IPv4 address (default 127.0.0.1, @addr in host
 * byte order) and a port from 1 to 65535; 0, or -1 with @err set.
 */
int gdb_listen_parse(const char *arg, u32 *addr, u16 *port, char *err,
		     size_t errlen);
void run_config_defaults(struct kvm_config *cfg);
/*
 * The transport @cfg asks for, or with none given the default: PCI where
 * the guest gets a GICv3 and the host's KVM has an ITS for it
 * (@host_has_v3), else MMIO (kvm_arch_choose_transport() asks the host).
 */
enum virtio_transport run_default_transport(const struct kvm_config *cfg,
					    bool host_has_v3);
/* Parse `lkvm run` arguments (argv[0] is "run"). No KVM needed. */
enum parse_result run_parse_options(int argc, char **argv,
				    struct kvm_config *cfg,
				    char *err, size_t errlen);
void run_usage(FILE *out);
/*
 * The most guest RAM KVM maps for us: RAM is mapped from LKVM_RAM_BASE
 * up in @ipa_bits of guest physical address space
 * (KVM_CAP_ARM_VM_IPA_SIZE; 0: the cap is missing, 40 bits), as one
 * memory slot of at most 2^31 - 1 host pages of @page_size bytes.
 */
u64 ram_max_size(unsigned int ipa_bits, u64 page_size);
/*
 * The guest physical address bits @ram_size of RAM from LKVM_RAM_BASE
 * needs (the memory map's top; everything else sits below RAM).
 */
unsigned int ram_ipa_bits(u64 ram_size);
/* 0 if -m fits; else -E2BIG with one line naming -m and the limit. */
int ram_size_check(u64 ram_size, unsigned int ipa_bits, u64 page_size,
		   char *err, size_t errlen);
/*
 * Alignment of anonymous guest RAM in lkvm's address space: the host's
 * transparent huge page size @thp_size (0: unknown) when RAM holds one.
 */
u64 ram_map_align(u64 ram_size, u64 thp_size);
/* The option table alone (lkvm help sandbox shares it). */
void run_options_usage(FILE *out);
/*
 * The same, for a command that takes a command line after the options
 * (lkvm sandbox [OPTIONS] [--] CMD...): *cmd gets the index of CMD in
 * @argv (@argc when there is none), and no kernel is required.
 */
enum parse_result run_parse_options_cmd(int argc, char **argv,
					struct kvm_config *cfg, int *cmd,
					char *err, size_t errlen);

#endif
