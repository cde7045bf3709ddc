# lkvm - a userspace VMM for arm64 KVM.
#
#   make             build ./lkvm (natively on arm64, cross-compiled elsewhere)
#   make deps        install every build and test dependency (Debian 12)
#   make check       unit tests (native, ASan/UBSan) and boot tests in the rig
#                    (cases of one device or option in n1-gicv3 only)
#   make check-full  the same with every rig case in every config, and the
#                    64K-page cases (builds the 64K kernel: make kernel-64k)
#   make kernel-64k  build the rig's arm64 kernel with 64 KiB pages (~20 min)
#   make unit        unit tests only
#   make fuzz        the libFuzzer targets, FUZZ_TIME seconds each
#   make deploops    dependency loops between the source files' objects
#   make docs        build/lkvm.1 (man page) and build/lkvm.bash (completion)
#   make install     lkvm, its man page and completion under DESTDIR/PREFIX
#                    (/usr/local); make uninstall removes them
#   make docs-check  the man page and completion against the option tables
#   make lkvm-asan   ./lkvm-asan: lkvm under ASan/UBSan (the rig's asan config)
#   make demo        boot a demo guest inside the emulated arm64 host
#   make bench       the benchmarks inside the rig, as a table (BENCH="blk net":
#                    some parts; BASE=REV or BENCH_BASE=FILE: an older lkvm
#                    alternated with this one; BENCH_CONFIG: the rig config)

HOST_ARCH := $(shell uname -m)
ARCH ?= arm64
ifneq ($(HOST_ARCH),aarch64)
CROSS_COMPILE ?= aarch64-linux-gnu-
endif
CC := $(CROSS_COMPILE)gcc
HOSTCC ?= gcc

BUILD := build
DEPS_DIR := $(BUILD)/deps
# libfdt-dev:arm64 conflicts with the amd64 package, so `make deps` unpacks
# it here instead of installing it.
SYSROOT := $(DEPS_DIR)/sysroot-arm64

WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARNINGS) -Iinclude -D_GNU_SOURCE -pthread
LDLIBS := -pthread
LDFLAGS += -Wl,--as-needed
# Every compile writes its dependency file (.d beside the object): an
# object is rebuilt when a header it includes (or a .c a unit test
# includes) changes, and only then. -MP: a deleted header is no error.
DEPFLAGS = -MMD -MP

ifneq ($(CROSS_COMPILE),)
CFLAGS += -isystem $(SYSROOT)/usr/include
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif

# lkvm is linked statically where the C library's .a is installed (it
# is on Debian: libc6-dev): a shared C library costs lkvm ~630 KiB of
# resident memory (ld.so and the pages of libc it touches), more than a
# static lkvm's whole binary. libfdt, zlib, liburing (io_uring,
# optional) and libseccomp (the per-thread filters, built by a child
# process: lkvm itself never touches its pages) are static libraries.
cc_links = $(shell echo 'int main(void){return 0;}' | \
	$(CC) $(LDFLAGS) -x c - -o /dev/null $(1) >/dev/null 2>&1 && echo y)
have_lib = $(call cc_links,-l$(1))
static_lib = $(if $(call have_lib,:lib$(1).a),-l:lib$(1).a,-l$(1))
LKVM_STATIC := $(if $(call cc_links,-static),-static)
LDLIBS += -l:libfdt.a $(call static_lib,z) $(call static_lib,seccomp)
# virtio-blk: raw images through io_uring, else worker threads.
ifeq ($(call have_lib,uring),y)
CFLAGS += -DHAVE_LIBURING
LDLIBS += $(call static_lib,uring)
KVM_SRCS_URING := virtio/blk-uring.c
else
$(info liburing not found: virtio-blk uses worker threads for raw images)
endif
# virtio-net -n mode=user: libslirp, whose glib is a shared library only,
# so it is not in the static lkvm: lkvm-slirp is lkvm linked dynamically
# with it (net/slirp.c), which lkvm becomes for a mode=user NIC
# (net/slirp-exec.c); built where libslirp's -dev is installed.
ifeq ($(call have_lib,slirp),y)
SLIRP_LKVM := lkvm-slirp
SLIRP_OBJ := $(BUILD)/arm64/net/slirp.o
SLIRP_ASAN_OBJ := $(BUILD)/arm64-asan/net/slirp.o
SLIRP_LIBS := -lslirp
else
$(info libslirp not found: no lkvm-slirp, so no virtio-net mode=user)
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# main.o is rebuilt when the version changes (a new commit, a dirty tree),
# not only when main.c does: the stamp file changes only then
VERSION_STAMP := $(BUILD)/version
$(shell mkdir -p $(BUILD) && [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = '$(VERSION)' ] || \
	echo '$(VERSION)' >$(VERSION_STAMP))
$(BUILD)/arm64/main.o $(BUILD)/arm64-asan/main.o: \
	CFLAGS += -DLKVM_VERSION='"$(VERSION)"'

# Sources that need no KVM: also built natively for the unit tests.
PORTABLE_SRCS := \
	util/util.c \
	util/iov.c \
	util/procstat.c \
	util/init.c \
	util/fdt.c \
	util/seccomp.c \
	kvm/mmio.c \
	kvm/mmio-stats.c \
	kvm/stop.c \
	kvm/devices.c \
	kvm/cmdline.c \
	arm64/image.c \
	arm64/cpu-spec.c \
	arm/zimage.c \
	arm/fdt.c \
	hw/serial.c \
	hw/rtc.c \
	term/escape.c \
	term/watch.c \
	util/cmdopt.c \
	options.c \
	commands.c

# Sources that talk to KVM (arm64 only). Link order is init order within
# a level (util/init.c): arm/gic.c initialises the vGIC before
# arm64/cpu-features.c initialises the PMU.
KVM_SRCS := \
	main.c \
	builtin-run.c \
	kvm/kvm.c \
	kvm/kvm-cpu.c \
	arm/gic.c \
	arm64/kvm-cpu.c \
	arm64/cpu-features.c \
	arm64/boot.c \
	term/term.c

# Virtio: rings and negotiation are portable; events, transport, devices not.
PORTABLE_SRCS += virtio/virtqueue.c virtio/core.c
KVM_SRCS += kvm/ioeventfd.c kvm/irqfd.c virtio/console.c virtio/rng.c
# The transports and the virtio device layer are portable too (their
# KVM calls are stubbed in the unit tests).
PORTABLE_SRCS += virtio/mmio.c virtio/device.c
# PCI: config space model and virtio-pci are portable; MSI routes are not.
PORTABLE_SRCS += hw/pci.c virtio/pci.c
# 9P2000.L file server: portable, no KVM (the virtio device wraps it).
PORTABLE_SRCS += fs/9p.c
# virtio-9p: --9p parsing is portable, the device is not.
PORTABLE_SRCS += virtio/9p-spec.c
KVM_SRCS += virtio/9p.c
# Disk image formats.
PORTABLE_SRCS += disk/qcow2.c
# virtio-blk: -d parsing, disks, request parsing, the request path and
# the worker-thread backend are portable; the device is not.
PORTABLE_SRCS += disk/disk.c virtio/blk-req.c virtio/blk-queue.c \
	virtio/blk-threads.c
KVM_SRCS += virtio/blk.c $(KVM_SRCS_URING)
# virtio-net: -n parsing, frame handling, the queue relay, the tap and
# vhost-net backends and the static lkvm's way to mode=user are portable;
# the device and libslirp's backend (lkvm-slirp only) are not.
PORTABLE_SRCS += net/spec.c net/frame.c virtio/net-queue.c net/tap.c \
	net/vhost.c virtio/vhost.c net/slirp-exec.c
KVM_SRCS += virtio/net.c
KVM_SRCS += kvm/msi.c
# virtio-balloon: its model is portable, the device is not; vhost-vsock
# (the vhost plumbing it shares with vhost-net is virtio/vhost.c).
PORTABLE_SRCS += virtio/balloon-pages.c
KVM_SRCS += virtio/balloon.c virtio/vsock.c

# The control socket: messages, the socket and vCPU parking are portable;
# the server (its unit test includes it) and the commands are not.
PORTABLE_SRCS += util/control-msg.c util/control-sock.c kvm/pause.c
# --gdb: the server and its KVM target (the stub's logic is portable, above)
KVM_SRCS += kvm/gdb.c
KVM_SRCS += kvm/control.c builtin-list.c builtin-stop.c builtin-pause.c builtin-resume.c \
	builtin-stat.c builtin-balloon.c builtin-debug.c

# lkvm sandbox: initramfs building is portable, the command is not.
PORTABLE_SRCS += util/initramfs.c util/kcache.c
KVM_SRCS += builtin-sandbox.c builtin-setup.c
GUEST_INIT := $(BUILD)/guest/init
GUEST_INIT_OBJ := $(BUILD)/arm64/guest/init-blob.o

# lkvm debug / --gdb: the guest page-table walker, register sets and
# their dump, the GDB remote protocol; all portable (no VM needed).
PORTABLE_SRCS += arm64/ptwalk.c arm64/regs.c arm64/regs-dump.c \
	util/gdb-packet.c util/gdb-cmd.c arm64/gdb-regs.c arm64/hwdebug.c \
	arm64/gdb-stub.c

SRCS := $(PORTABLE_SRCS) $(KVM_SRCS)
OBJS := $(SRCS:%.c=$(BUILD)/arm64/%.o)

all: lkvm $(SLIRP_LKVM)

$(BUILD)/arm64/main.o $(BUILD)/arm64-asan/main.o: $(VERSION_STAMP)

lkvm: $(OBJS) $(GUEST_INIT_OBJ)
	$(CC) $(LKVM_STATIC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the same lkvm, linked dynamically with libslirp: -n mode=user
lkvm-slirp: $(OBJS) $(SLIRP_OBJ) $(GUEST_INIT_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SLIRP_LIBS)

# lkvm sandbox: the guest's init, a static arm64 program embedded in lkvm.
$(GUEST_INIT): guest/init.c | $(SYSROOT)
	@mkdir -p $(dir $@)
	$(CC) -static -Os -std=gnu11 $(WARNINGS) -D_GNU_SOURCE \
		$(DEPFLAGS) -MF $@.d -MT $@ -o $@ $<
	$(CROSS_COMPILE)strip $@

$(GUEST_INIT_OBJ): guest/init-blob.S $(GUEST_INIT)
	@mkdir -p $(dir $@)
	$(CC) -DGUEST_INIT_PATH='"$(GUEST_INIT)"' $(DEPFLAGS) -c -o $@ $<

$(BUILD)/arm64/%.o: %.c | $(SYSROOT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

# lkvm-asan: the same sources under AddressSanitizer and UBSan, so the
# rig's asan config runs the KVM-facing code (which the native unit tests
# never reach) with them; any report fails the case (tests/rig/cases.sh).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ASAN_OBJS := $(SRCS:%.c=$(BUILD)/arm64-asan/%.o)

lkvm-asan: $(ASAN_OBJS) $(SLIRP_ASAN_OBJ) $(GUEST_INIT_OBJ)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SLIRP_LIBS)

$(BUILD)/arm64-asan/%.o: CFLAGS += $(SAN_FLAGS)
$(BUILD)/arm64-asan/%.o: %.c | $(SYSROOT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(SYSROOT):
	@echo "missing $(SYSROOT): run 'make deps' first" >&2; exit 1

deps:
	scripts/deps.sh

# ---- unit tests: native, under AddressSanitizer and UBSan ----
NATIVE_CFLAGS := -std=gnu11 $(WARNINGS) -Iinclude -D_GNU_SOURCE -pthread -g -O1 \
	-fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -DLKVM_VERSION='"test"' \
	-DLKVM_SECCOMP_STRICT	# the seccomp lists unrelaxed for ASan reports
NATIVE_LDLIBS := -pthread -lfdt -lz -lseccomp -lcmocka
NATIVE_OBJS := $(PORTABLE_SRCS:%.c=$(BUILD)/native/%.o)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/native/tests/%,\
	$(filter-out tests/unit/stubs.c,$(wildcard tests/unit/test-*.c)))

$(BUILD)/native/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(NATIVE_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# A test compiles on its own, so its .d names what it includes (a test
# may include the .c it tests, e.g. test-blk-dev.c: virtio/blk.c).
$(BUILD)/native/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(NATIVE_CFLAGS) -Itests/unit $(DEPFLAGS) -c -o $@ $<

$(BUILD)/native/tests/%: $(BUILD)/native/tests/%.o \
		$(BUILD)/native/tests/stubs.o $(NATIVE_OBJS)
	$(HOSTCC) $(NATIVE_CFLAGS) -o $@ $^ $(NATIVE_LDLIBS)

unit-build: $(UNIT_TESTS)

unit: unit-build
	tests/run-unit.sh $(UNIT_TESTS)

# ---- the man page, bash completion, make install ----
# lkvm-doc (native: lkvm may be an arm64 binary) writes the option lists
# of both from the tables `lkvm help` prints; it links the portable
# objects, and the unit tests' KVM stubs for what they reach.
DOC_GEN := $(BUILD)/native/lkvm-doc
DOCS := $(BUILD)/lkvm.1 $(BUILD)/lkvm.bash

$(DOC_GEN): $(BUILD)/native/scripts/lkvm-doc.o $(BUILD)/native/tests/stubs.o \
		$(NATIVE_OBJS)
	$(HOSTCC) $(NATIVE_CFLAGS) -o $@ $^ $(NATIVE_LDLIBS)

$(BUILD)/lkvm.1: docs/lkvm.1.in $(DOC_GEN)
	$(DOC_GEN) man <$< >$@.tmp && mv $@.tmp $@

$(BUILD)/lkvm.bash: completion/lkvm.bash.in $(DOC_GEN)
	$(DOC_GEN) bash <$< >$@.tmp && mv $@.tmp $@

docs: $(DOCS)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

install: lkvm $(SLIRP_LKVM) $(DOCS)
	install -D -m 0755 lkvm $(DESTDIR)$(BINDIR)/lkvm
	$(if $(SLIRP_LKVM),install -D -m 0755 lkvm-slirp $(DESTDIR)$(BINDIR)/lkvm-slirp)
	install -D -m 0644 $(BUILD)/lkvm.1 $(DESTDIR)$(MANDIR)/man1/lkvm.1
	install -D -m 0644 $(BUILD)/lkvm.bash $(DESTDIR)$(BASHCOMPDIR)/lkvm

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lkvm $(DESTDIR)$(BINDIR)/lkvm-slirp \
		$(DESTDIR)$(MANDIR)/man1/lkvm.1 \
		$(DESTDIR)$(BASHCOMPDIR)/lkvm

# the man page and completion against the tables, and make install
docs-check: lkvm $(DOCS)
	DOC_GEN=$(DOC_GEN) tests/docs.sh

rig: lkvm $(SLIRP_LKVM) lkvm-asan
	tests/rig/build.sh

boot-tests: rig
	tests/rig/run-tests.sh

check: lkvm $(SLIRP_LKVM) lkvm-asan unit-build $(DOCS) rig
	DEPLOOP_OBJS="$(OBJS)" DOC_GEN=$(DOC_GEN) tests/check.sh $(UNIT_TESTS)

# the 64K kernel before the rig, which puts it in the share
check-full: lkvm $(SLIRP_LKVM) lkvm-asan unit-build $(DOCS) kernel-64k
	tests/rig/build.sh
	DEPLOOP_OBJS="$(OBJS)" DOC_GEN=$(DOC_GEN) RIG_FULL=1 tests/check.sh $(UNIT_TESTS)

# Debian ships no arm64 kernel with 64 KiB pages: build one from
# linux-source-6.1 (cached in build/deps/kernel-64k; the rig's n1-64k
# config and 64K guests). Not part of `make deps`: it takes long.
kernel-64k:
	nice -n 19 scripts/build-kernel-64k.sh

# kvmtool as a static arm64 binary, only for side-by-side figures (issue 14):
# build/deps/kvmtool/kvmtool.  Its source is not downloadable here: hand it in
# (KVMTOOL_SRC=DIR or build/deps/dl/kvmtool-*.tar.gz, see the script).
kvmtool:
	nice -n 19 scripts/kvmtool.sh

demo: lkvm rig
	tests/rig/demo.sh

# BASE=REV builds lkvm at that git revision (scripts/build-rev.sh) as
# the base; build.sh puts BENCH_BASE into the rig beside the new lkvm.
BENCH_CONFIG ?= n1-gicv3
bench: lkvm $(SLIRP_LKVM)
ifneq ($(BASE),)
	scripts/build-rev.sh '$(BASE)' $(BUILD)/bench-base
	BENCH_BASE=$(BUILD)/bench-base/lkvm tests/rig/build.sh
else
	BENCH_BASE='$(BENCH_BASE)' tests/rig/build.sh
endif
	tests/rig/bench.sh $(BENCH_CONFIG) $(BENCH)

# ---- fuzzing: libFuzzer targets (clang), tests/fuzz/fuzz-NAME.c ----
# A target: its name in FUZZ_TARGETS, the sources it tests in
# FUZZ_SRCS_NAME; optional FUZZ_LIBS_NAME and FUZZ_MAXLEN_NAME (libFuzzer's
# -max_len). Corpus: tests/fuzz/corpus/NAME (seeds, read-only) and
# build/fuzz/corpus-NAME (what the runs find).
FUZZ_TIME ?= 60
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 $(WARNINGS) -Iinclude -D_GNU_SOURCE -pthread -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := virtqueue qcow2 9p blk net-tx zimage control balloon

# the virtqueue parser: descriptor chains over a fuzzed guest memory
FUZZ_SRCS_virtqueue := virtio/virtqueue.c util/util.c util/iov.c
# qcow2: header/table parsing, reads and writes over a fuzzed image file
FUZZ_SRCS_qcow2 := disk/qcow2.c util/util.c util/iov.c
FUZZ_LIBS_qcow2 := -lz
FUZZ_MAXLEN_qcow2 := 65536
# 9P server: sessions of T-messages against a temporary export tree
FUZZ_SRCS_9p := fs/9p.c util/util.c util/iov.c
FUZZ_MAXLEN_9p := 65536
# virtio-blk: request chains, carried out on a small raw disk
FUZZ_SRCS_blk := virtio/blk-req.c virtio/virtqueue.c disk/disk.c \
	disk/qcow2.c util/util.c util/iov.c
FUZZ_LIBS_blk := -lz
FUZZ_MAXLEN_blk := 16384
# virtio-net transmit: vnet header checks and frame extraction from iovecs
FUZZ_SRCS_net-tx := net/frame.c virtio/virtqueue.c util/util.c util/iov.c
FUZZ_MAXLEN_net-tx := 66000
# --aarch32 kernels: zImage / Image header checks and the boot layout
FUZZ_SRCS_zimage := arm/zimage.c util/util.c
FUZZ_MAXLEN_zimage := 4096
# the control socket's messages: headers, requests, replies, info text
FUZZ_SRCS_control := util/control-msg.c util/util.c
FUZZ_MAXLEN_control := 8192
# virtio-balloon: PFN requests, free page reports, stats buffers
FUZZ_SRCS_balloon := virtio/balloon-pages.c util/util.c util/iov.c
FUZZ_MAXLEN_balloon := 8192

# the guest page-table walker: random registers and tables
FUZZ_TARGETS += ptwalk
FUZZ_SRCS_ptwalk := arm64/ptwalk.c util/util.c
FUZZ_MAXLEN_ptwalk := 65536

# the GDB remote protocol: framing, commands, replies, the stub on a fake target
FUZZ_TARGETS += gdb-packet
FUZZ_SRCS_gdb-packet := util/gdb-packet.c util/gdb-cmd.c arm64/gdb-regs.c \
	arm64/gdb-stub.c arm64/hwdebug.c util/util.c
FUZZ_MAXLEN_gdb-packet := 16384

# PCI: config space (ECAM) and BAR accesses as the guest makes them
FUZZ_TARGETS += pci
FUZZ_SRCS_pci := hw/pci.c kvm/mmio.c kvm/devices.c util/util.c util/init.c \
	util/fdt.c tests/unit/stubs.c
FUZZ_LIBS_pci := -lfdt
FUZZ_MAXLEN_pci := 4096

FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz-%)
FUZZ_OBJ := $(BUILD)/fuzz/obj
fuzz_objs = $(patsubst %.c,$(FUZZ_OBJ)/%.o,tests/fuzz/fuzz-$(1).c $(FUZZ_SRCS_$(1)))

$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz-%: $$(call fuzz_objs,$$*)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LIBS_$*)

# fuzz_run NAME: one target for FUZZ_TIME seconds on its two corpora
define fuzz_run
	@mkdir -p $(BUILD)/fuzz/corpus-$(1)
	$(BUILD)/fuzz/fuzz-$(1) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		$(if $(FUZZ_MAXLEN_$(1)),-max_len=$(FUZZ_MAXLEN_$(1))) \
		$(BUILD)/fuzz/corpus-$(1) tests/fuzz/corpus/$(1)

endef

fuzz: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t)))

# ---- dependency loops between source files (scripts/deploops.py) ----
deploops: $(OBJS)
	python3 scripts/deploops.py $(OBJS)

clean:
	rm -rf $(BUILD)/arm64 $(BUILD)/arm64-asan $(BUILD)/native $(BUILD)/fuzz \
		$(DOCS) lkvm lkvm-asan lkvm-slirp

.SECONDARY:

-include $(wildcard $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(SLIRP_OBJ:.o=.d) \
	$(SLIRP_ASAN_OBJ:.o=.d) $(NATIVE_OBJS:.o=.d) \
	$(BUILD)/native/tests/*.d $(GUEST_INIT).d $(GUEST_INIT_OBJ:.o=.d) \
	$(patsubst %.o,%.d,$(foreach t,$(FUZZ_TARGETS),$(call fuzz_objs,$(t)))))

.PHONY: all deps kernel-64k kvmtool unit unit-build rig boot-tests check check-full demo bench \
	clean fuzz deploops docs install uninstall docs-check
