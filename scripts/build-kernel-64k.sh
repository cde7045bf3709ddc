#!/bin/bash
# Build the arm64 kernel with 64 KiB pages that the rig uses as a guest and
# as the emulated host's kernel (Debian ships none).  Source: Debian's
# linux-source-6.1 package; config: tinyconfig plus the fragment below
# (what a rig host and a rig guest need, everything built in, no modules).
# Result, cached: build/deps/kernel-64k/{Image,config,fragment}; skipped when
# the Image exists and the fragment is unchanged.  `make kernel-64k`.
set -euo pipefail

cd "$(dirname "$0")/.."
DEPS=$(mkdir -p build/deps && cd build/deps && pwd)
OUT=$DEPS/kernel-64k
WORK=$DEPS/kernel-64k-src
SRCPKG=linux-source-6.1
CROSS=${CROSS_COMPILE_64K:-aarch64-linux-gnu-}
JOBS=${JOBS:-2}

log() { echo "kernel-64k: $*" >&2; }

# one option a line; "=y" unless given
FRAGMENT='ARM64_64K_PAGES
ARM64_VA_BITS_48
SMP
NR_CPUS=8
MULTIUSER
PRINTK
BUG
FUTEX
EPOLL
SIGNALFD
TIMERFD
EVENTFD
SHMEM
AIO
IO_URING
POSIX_TIMERS
ADVISE_SYSCALLS
MEMBARRIER
KALLSYMS
BINFMT_ELF
BINFMT_SCRIPT
BLK_DEV_INITRD
RD_GZIP
DEVTMPFS
DEVTMPFS_MOUNT
TMPFS
PROC_FS
SYSFS
HUGETLBFS
INOTIFY_USER
FILE_LOCKING
TTY
UNIX98_PTYS
SERIAL_8250
SERIAL_8250_CONSOLE
SERIAL_OF_PLATFORM
SERIAL_AMBA_PL011
SERIAL_AMBA_PL011_CONSOLE
SERIAL_EARLYCON
ARM_AMBA
OF
ARM_PSCI_FW
ARM_GIC
ARM_GIC_V3
ARM_GIC_V3_ITS
ARM_GIC_V3_ITS_PCI
ARM_ARCH_TIMER
RTC_CLASS
RTC_HCTOSYS
RTC_DRV_PL031
PCI
PCI_HOST_GENERIC
PCI_MSI
VIRTIO_MENU
VIRTIO
VIRTIO_MMIO
VIRTIO_MMIO_CMDLINE_DEVICES
VIRTIO_PCI
VIRTIO_BLK
VIRTIO_CONSOLE
HW_RANDOM
HW_RANDOM_VIRTIO
BLOCK
BLK_DEV
EXT4_FS
NET
UNIX
INET
NETDEVICES
NET_CORE
VIRTIO_NET
TUN
VHOST_MENU
VHOST_NET
NET_9P
NET_9P_VIRTIO
NETWORK_FILESYSTEMS
9P_FS
9P_FS_POSIX_ACL
VIRTUALIZATION
KVM
PERF_EVENTS
HW_PERF_EVENTS
ARM_PMU
MAGIC_SYSRQ
SECCOMP
SECCOMP_FILTER
HIGH_RES_TIMERS
PROC_SYSCTL'

want() { # print NAME=VALUE lines of the fragment
	local l
	while read -r l; do
		case "$l" in *=*) echo "$l" ;; *) echo "$l=y" ;; esac
	done <<<"$FRAGMENT"
}

if [ -s "$OUT/Image" ] && [ "$(cat "$OUT/fragment" 2>/dev/null)" = "$(want)" ]; then
	log "up to date: $OUT/Image"
	exit 0
fi

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
need=()
for p in "$SRCPKG" flex bison bc libssl-dev libelf-dev xz-utils; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	$SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

tarball=$(ls /usr/src/linux-source-6.1.tar.xz)
if [ ! -e "$WORK/.unpacked" ] || [ "$tarball" -nt "$WORK/.unpacked" ]; then
	log "unpacking $tarball"
	rm -rf "$WORK"
	mkdir -p "$WORK"
	tar -xf "$tarball" -C "$WORK" --strip-components=1
	touch "$WORK/.unpacked"
fi

mk() { make -C "$WORK" ARCH=arm64 CROSS_COMPILE="$CROSS" -j"$JOBS" "$@"; }
mk -s tinyconfig >&2
args=()
while IFS='=' read -r name val; do
	case "$val" in
	y) args+=(--enable "$name") ;;
	*) args+=(--set-val "$name" "$val") ;;
	esac
done < <(want)
# tinyconfig's 4K pages and "optimize for size" off
"$WORK/scripts/config" --file "$WORK/.config" --disable ARM64_4K_PAGES \
	--disable CC_OPTIMIZE_FOR_SIZE --enable CC_OPTIMIZE_FOR_PERFORMANCE "${args[@]}"
mk -s olddefconfig >&2
# a second pass: options whose dependencies the first pass only enabled
"$WORK/scripts/config" --file "$WORK/.config" "${args[@]}"
mk -s olddefconfig >&2

bad=0
while IFS='=' read -r name val; do
	got=$(grep -E "^CONFIG_$name=" "$WORK/.config" | cut -d= -f2- || true)
	if [ "$got" != "$val" ]; then
		log "CONFIG_$name: asked $val, got '${got:-unset}'"
		bad=1
	fi
done < <(want)
[ $bad = 0 ] || { log "config incomplete"; exit 1; }

log "building Image (make -j$JOBS)"
start=$(date +%s)
mk Image >&2
log "built in $(( $(date +%s) - start ))s"
mkdir -p "$OUT.tmp"
cp "$WORK/arch/arm64/boot/Image" "$OUT.tmp/Image"
cp "$WORK/.config" "$OUT.tmp/config"
make -C "$WORK" -s kernelrelease >"$OUT.tmp/VERSION"
want >"$OUT.tmp/fragment"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
log "ready: $OUT/Image ($(cat "$OUT/VERSION"))"
