# lkvm - a userspace VMM for arm64 KVM.
#
#   make             build ./lkvm (natively on arm64, cross-compiled elsewhere)
#   make deps        install every build and test dependency (Debian 12)
#   make check       unit tests (native, ASan/UBSan) and boot tests in the rig
#   make unit        unit tests only
#   make lkvm-asan   ./lkvm-asan: lkvm under ASan/UBSan (the rig's asan config)
#   make demo        boot a demo guest inside the emulated arm64 host
#   make bench       boot benchmarks inside the rig (BENCH="blk net": some parts)

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

ifneq ($(CROSS_COMPILE),)
CFLAGS += -isystem $(SYSROOT)/usr/include
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif

# libfdt is required and linked statically; zlib is required for gzip
# kernels; libseccomp (the per-thread filters) is required, linked
# dynamically; liburing (io_uring) is optional.
LDLIBS += -l:libfdt.a -lz -lseccomp
have_lib = $(shell echo 'int main(void){return 0;}' | \
	$(CC) $(LDFLAGS) -x c - -o /dev/null -l$(1) >/dev/null 2>&1 && echo y)
# virtio-blk: raw images through io_uring, else worker threads.
ifeq ($(call have_lib,uring),y)
CFLAGS += -DHAVE_LIBURING
LDLIBS += -luring
KVM_SRCS_URING := virtio/blk-uring.c
else
$(info liburing not found: virtio-blk uses worker threads for raw images)
endif
# virtio-net -n mode=user: libslirp, linked dynamically (it brings glib).
ifeq ($(call have_lib,slirp),y)
CFLAGS += -DHAVE_LIBSLIRP
LDLIBS += -lslirp
KVM_SRCS_SLIRP := net/slirp.c
else
$(info libslirp not found: virtio-net mode=user disabled)
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/arm64/main.o $(BUILD)/arm64-asan/main.o: \
	CFLAGS += -DLKVM_VERSION='"$(VERSION)"'

# Sources that need no KVM: also built natively for the unit tests.
PORTABLE_SRCS := \
	util/util.c \
	util/iov.c \
	util/init.c \
	util/fdt.c \
	util/seccomp.c \
	kvm/mmio.c \
	kvm/devices.c \
	kvm/cmdline.c \
	arm64/image.c \
	arm/fdt.c \
	hw/serial.c \
	hw/rtc.c \
	term/escape.c \
	term/watch.c \
	options.c

# Sources that talk to KVM (arm64 only).
KVM_SRCS := \
	main.c \
	builtin-run.c \
	kvm/kvm.c \
	kvm/kvm-cpu.c \
	arm/gic.c \
	arm64/kvm-cpu.c \
	arm64/boot.c \
	term/term.c

# Virtio: rings and negotiation are portable; events, transport, devices not.
PORTABLE_SRCS += virtio/virtqueue.c virtio/core.c
KVM_SRCS += kvm/ioeventfd.c kvm/irqfd.c virtio/mmio.c virtio/console.c \
	virtio/rng.c
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
# virtio-net: -n parsing, frame handling, the queue relay and the tap and
# vhost-net backends are portable; the device and libslirp's backend
# (which the unit build has no library for) are not.
PORTABLE_SRCS += net/spec.c net/frame.c virtio/net-queue.c net/tap.c \
	net/vhost.c
KVM_SRCS += virtio/net.c $(KVM_SRCS_SLIRP)
KVM_SRCS += kvm/msi.c

# lkvm sandbox: initramfs building is portable, the command is not.
PORTABLE_SRCS += util/initramfs.c
KVM_SRCS += builtin-sandbox.c builtin-setup.c
GUEST_INIT := $(BUILD)/guest/init
GUEST_INIT_OBJ := $(BUILD)/arm64/guest/init-blob.o

SRCS := $(PORTABLE_SRCS) $(KVM_SRCS)
OBJS := $(SRCS:%.c=$(BUILD)/arm64/%.o)

all: lkvm

lkvm: $(OBJS) $(GUEST_INIT_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# lkvm sandbox: the guest's init, a static arm64 program embedded in lkvm.
$(GUEST_INIT): guest/init.c | $(SYSROOT)
	@mkdir -p $(dir $@)
	$(CC) -static -Os -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -o $@ $<
	$(CROSS_COMPILE)strip $@

$(GUEST_INIT_OBJ): guest/init-blob.S $(GUEST_INIT)
	@mkdir -p $(dir $@)
	$(CC) -DGUEST_INIT_PATH='"$(GUEST_INIT)"' -c -o $@ $<

$(BUILD)/arm64/%.o: %.c $(wildcard include/lkvm/*.h) | $(SYSROOT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# lkvm-asan: the same sources under AddressSanitizer and UBSan, so the
# rig's asan config runs the KVM-facing code (which the native unit tests
# never reach) with them; any report fails the case (tests/rig/cases.sh).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ASAN_OBJS := $(SRCS:%.c=$(BUILD)/arm64-asan/%.o)

lkvm-asan: $(ASAN_OBJS) $(GUEST_INIT_OBJ)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/arm64-asan/%.o: CFLAGS += $(SAN_FLAGS)
$(BUILD)/arm64-asan/%.o: %.c $(wildcard include/lkvm/*.h) | $(SYSROOT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

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

$(BUILD)/native/%.o: %.c $(wildcard include/lkvm/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(NATIVE_CFLAGS) -c -o $@ $<

$(BUILD)/native/tests/%: tests/unit/%.c tests/unit/stubs.c $(NATIVE_OBJS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(NATIVE_CFLAGS) -Itests/unit -o $@ \
		$(filter tests/unit/%.c %.o,$^) $(NATIVE_LDLIBS)

# Tests that #include a device built for arm64 only, to reach its statics.
$(BUILD)/native/tests/test-blk-dev: virtio/blk.c
$(BUILD)/native/tests/test-net-dev: virtio/net.c

unit-build: $(UNIT_TESTS)

unit: unit-build
	tests/run-unit.sh $(UNIT_TESTS)

rig: lkvm lkvm-asan
	tests/rig/build.sh

boot-tests: rig
	tests/rig/run-tests.sh

check: lkvm lkvm-asan unit-build rig
	tests/check.sh $(UNIT_TESTS)

demo: lkvm rig
	tests/rig/demo.sh

bench: lkvm rig
	tests/rig/bench.sh n1-gicv3 $(BENCH)

# ---- fuzzing: libFuzzer over the virtqueue parser (clang) ----
FUZZ_TIME ?= 60
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 $(WARNINGS) -Iinclude -D_GNU_SOURCE -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BIN := $(BUILD)/fuzz/fuzz-virtqueue

FUZZ_VQ_SRCS := tests/fuzz/fuzz-virtqueue.c virtio/virtqueue.c util/util.c \
	util/iov.c

$(FUZZ_BIN): $(FUZZ_VQ_SRCS) $(wildcard include/lkvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_VQ_SRCS)

# qcow2: header/table parsing, reads and writes over a fuzzed image file.
FUZZ_QCOW2_BIN := $(BUILD)/fuzz/fuzz-qcow2
FUZZ_QCOW2_SRCS := tests/fuzz/fuzz-qcow2.c disk/qcow2.c util/util.c \
	util/iov.c

$(FUZZ_QCOW2_BIN): $(FUZZ_QCOW2_SRCS) $(wildcard include/lkvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread -o $@ $(FUZZ_QCOW2_SRCS) -lz

# 9P server: sessions of T-messages against a temporary export tree.
FUZZ_9P_BIN := $(BUILD)/fuzz/fuzz-9p
FUZZ_9P_SRCS := tests/fuzz/fuzz-9p.c fs/9p.c util/util.c util/iov.c

$(FUZZ_9P_BIN): $(FUZZ_9P_SRCS) $(wildcard include/lkvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_9P_SRCS)

# virtio-blk: request chains, carried out on a small raw disk.
FUZZ_BLK_BIN := $(BUILD)/fuzz/fuzz-blk
FUZZ_BLK_SRCS := tests/fuzz/fuzz-blk.c virtio/blk-req.c virtio/virtqueue.c \
	disk/disk.c disk/qcow2.c util/util.c util/iov.c

$(FUZZ_BLK_BIN): $(FUZZ_BLK_SRCS) $(wildcard include/lkvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread -o $@ $(FUZZ_BLK_SRCS) -lz

# virtio-net transmit: vnet header checks and frame extraction from iovecs.
FUZZ_NET_BIN := $(BUILD)/fuzz/fuzz-net-tx
FUZZ_NET_SRCS := tests/fuzz/fuzz-net-tx.c net/frame.c virtio/virtqueue.c \
	util/util.c util/iov.c

$(FUZZ_NET_BIN): $(FUZZ_NET_SRCS) $(wildcard include/lkvm/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_NET_SRCS)

fuzz: $(FUZZ_BIN) $(FUZZ_QCOW2_BIN) $(FUZZ_9P_BIN) $(FUZZ_BLK_BIN) $(FUZZ_NET_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-virtqueue $(BUILD)/fuzz/corpus-qcow2 \
		$(BUILD)/fuzz/corpus-9p
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		$(BUILD)/fuzz/corpus-virtqueue tests/fuzz/corpus/virtqueue
	$(FUZZ_QCOW2_BIN) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-max_len=65536 $(BUILD)/fuzz/corpus-qcow2 tests/fuzz/corpus/qcow2
	$(FUZZ_9P_BIN) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-max_len=65536 $(BUILD)/fuzz/corpus-9p tests/fuzz/corpus/9p
	@mkdir -p $(BUILD)/fuzz/corpus-blk
	$(FUZZ_BLK_BIN) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-max_len=16384 $(BUILD)/fuzz/corpus-blk tests/fuzz/corpus/blk
	@mkdir -p $(BUILD)/fuzz/corpus-net-tx
	$(FUZZ_NET_BIN) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-max_len=66000 $(BUILD)/fuzz/corpus-net-tx tests/fuzz/corpus/net-tx

clean:
	rm -rf $(BUILD)/arm64 $(BUILD)/arm64-asan $(BUILD)/native $(BUILD)/fuzz \
		lkvm lkvm-asan

.SECONDARY:

.PHONY: all deps unit unit-build rig boot-tests check demo bench clean fuzz
