#!/bin/bash
# Install every build and test dependency of lkvm on Debian 12 (x86_64 or
# arm64) and fetch the arm64 artifacts the test rig needs into build/deps/.
# Idempotent: work already done is skipped.  Run from the repository root
# (`make deps`).
set -euo pipefail

cd "$(dirname "$0")/.."
DEPS=build/deps
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)

log() { echo "deps: $*" >&2; }

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive

native=$(dpkg --print-architecture)

# ---- apt packages ----
# (read whole: grep -q in a pipe could fail it on SIGPIPE under pipefail)
foreign=$(dpkg --print-foreign-architectures)
if [ "$native" != arm64 ] && ! grep -qx arm64 <<<"$foreign"; then
	log "adding arm64 architecture"
	$SUDO dpkg --add-architecture arm64
	$SUDO rm -f "$DEPS/.apt-updated"
fi

PKGS=(
	# build (cross on x86_64, native on arm64)
	make gcc git pkg-config python3
	device-tree-compiler libfdt-dev zlib1g-dev libcmocka-dev libseccomp-dev
	clang llvm libclang-rt-dev
	# rig: the bare-metal 32-bit probe (tests/rig/spsr-probe.S) links with lld
	lld
	# rig
	qemu-system-arm qemu-utils e2fsprogs cpio coreutils kmod
	# rig: the gdb-* cases' debugger, on this side of the emulated host
	gdb-multiarch
)
if [ "$native" != arm64 ]; then
	PKGS+=(
		gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
		# make lkvm-asan: the arm64 sanitizer runtimes (the rig copies them)
		libasan8-arm64-cross libubsan1-arm64-cross
		zlib1g-dev:arm64 libseccomp-dev:arm64
		libslirp-dev:arm64 liburing-dev:arm64
	)
else
	PKGS+=(libslirp-dev liburing-dev)
fi

missing=()
for p in "${PKGS[@]}"; do
	# dpkg-query needs the arch qualifier to match foreign packages
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in
	ii*) ;;
	*) missing+=("$p") ;;
	esac
done

apt_update() {
	if [ ! -e "$DEPS/.apt-updated" ] ||
	   [ -n "$(find "$DEPS/.apt-updated" -mmin +720 2>/dev/null)" ]; then
		log "apt-get update"
		# An index that fails (a mirror mid-sync) is only a warning:
		# apt keeps the rest, and a package it then lacks fails its
		# own download with the package's name.
		$SUDO apt-get update -q >&2 ||
			log "warning: apt-get update failed for some index; going on with the rest"
		touch "$DEPS/.apt-updated"
	fi
}

if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	log "installing: ${missing[*]}"
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- downloads (arm64 .debs unpacked under build/deps) ----
ARCH_SUFFIX=":arm64"
[ "$native" = arm64 ] && ARCH_SUFFIX=""

# `apt-get download` as root warns that _apt cannot access the directory;
# download into a scratch dir owned by _apt when possible.
DL=$DEPS/dl
mkdir -p "$DL"
chmod 755 "$DL" 2>/dev/null || true
chown _apt "$DL" 2>/dev/null || true

download() { # PKG[:ARCH] -> path of the .deb
	local pkg=$1 f glob
	# an arch qualifier keeps busybox-static:armhf apart from :arm64
	glob="${pkg%%:*}_*.deb"
	[ "$pkg" != "${pkg#*:}" ] && glob="${pkg%%:*}_*_${pkg#*:}.deb"
	f=$(ls "$DL"/$glob 2>/dev/null | head -n1 || true)
	if [ -z "$f" ]; then
		apt_update
		log "downloading $pkg"
		(cd "$DL" && apt-get download -q "$pkg" 2>&1 | grep -v -e _apt -e "^W: " >&2 || true)
		f=$(ls "$DL"/$glob 2>/dev/null | head -n1 || true)
		[ -n "$f" ] || { echo "deps: failed to download $pkg" >&2; exit 1; }
	fi
	echo "$f"
}

# unpack DEB NAME [HOOK]: the package's files replace $DEPS/NAME whole,
# once HOOK (if any) has prepared them in the scratch folder
unpack() {
	local t=$DEPS/$2.tmp
	rm -rf "$t"
	mkdir -p "$t"
	dpkg-deb -x "$1" "$t"
	[ -z "${3:-}" ] || "$3" "$t"
	rm -rf "${DEPS:?}/$2"
	mv "$t" "$DEPS/$2"
}

# kernel_prepare DIR: check the unpacked kernel package, write VERSION
kernel_prepare() {
	local ver
	ver=$(ls "$1/lib/modules" | head -n1)
	[ -e "$1/boot/vmlinuz-$ver" ] ||
		{ echo "deps: kernel package has no boot/vmlinuz-$ver" >&2; exit 1; }
	# the package ships no modules.dep (made by its postinst): make it
	depmod -b "$1" "$ver"
	echo "$ver" >"$1/VERSION"
}

# kernel_unpack DEB NAME: a Debian kernel package as $DEPS/NAME; the
# .deb (60 MB) goes, the unpacked tree is all we need
kernel_unpack() {
	unpack "$1" "$2" kernel_prepare
	rm -f "$1"
	log "$2 $(cat "$DEPS/$2/VERSION") ready"
}

# libfdt-dev:arm64 conflicts with the native package: unpack into a sysroot.
if [ ! -e "$DEPS/sysroot-arm64/usr/include/libfdt.h" ] ||
   [ ! -e "$DEPS/sysroot-arm64/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
	deb=$(download "libfdt-dev$ARCH_SUFFIX")
	unpack "$deb" sysroot-arm64
	log "libfdt sysroot ready"
fi

# unpack_kernel DEB DIR: a Debian kernel package unpacked into DIR, with
# its modules.dep (made by the package's postinst, so not shipped) and
# DIR/VERSION
unpack_kernel() {
	local deb=$1 dir=$2 ver
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	dpkg-deb -x "$deb" "$dir.tmp"
	ver=$(ls "$dir.tmp/lib/modules" | head -n1)
	[ -e "$dir.tmp/boot/vmlinuz-$ver" ] ||
		{ echo "deps: kernel package has no boot/vmlinuz-$ver" >&2; exit 1; }
	depmod -b "$dir.tmp" "$ver"
	echo "$ver" >"$dir.tmp/VERSION"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	rm -f "$deb"	# 60 MB; the unpacked tree is all we need
	log "kernel $ver ready in $dir"
}

# Debian arm64 kernel: used for both the emulated host and the nested guest.
if [ ! -s "$DEPS/kernel/VERSION" ]; then
	apt_update
	kpkg=$(apt-cache depends "linux-image-arm64$ARCH_SUFFIX" 2>/dev/null |
		sed -n 's/.*Depends: *\(linux-image-[0-9][^ :]*-arm64\).*/\1/p' |
		grep -v unsigned | head -n1)
	[ -n "$kpkg" ] || { echo "deps: cannot resolve linux-image-arm64" >&2; exit 1; }
	kernel_unpack "$(download "${kpkg}-unsigned$ARCH_SUFFIX")" kernel
fi

# Debian's 16 KiB-page arm64 kernel (bookworm backports/updates, 6.12): a
# rig guest, and the emulated host's kernel of the n1-16k config.  The
# newest version apt can fetch.
if [ ! -s "$DEPS/kernel-16k/VERSION" ]; then
	apt_update
	kpkg=""
	for p in $(apt-cache search --names-only \
			'^linux-image-6\.12\.[0-9.]+\+deb12-arm64-16k-unsigned$' |
			cut -d' ' -f1 | sort -rV); do
		pol=$(apt-cache policy "$p$ARCH_SUFFIX" 2>/dev/null || true)
		if grep -q 'Candidate: [0-9]' <<<"$pol"; then
			kpkg=$p
			break
		fi
	done
	[ -n "$kpkg" ] || { echo "deps: no linux-image-6.12.*-arm64-16k-unsigned" >&2; exit 1; }
	kernel_unpack "$(download "$kpkg$ARCH_SUFFIX")" kernel-16k
fi

# busybox (static, arm64) for the host and guest initramfs images.
if [ ! -x "$DEPS/busybox/bin/busybox" ]; then
	deb=$(download "busybox-static$ARCH_SUFFIX")
	unpack "$deb" busybox
	log "busybox ready"
fi

# ---- AArch32 test guest (--aarch32): Debian's armhf LPAE kernel (zImage;
# virtio and ext4 are modules) and a static armhf busybox, each in a folder
# of its own.
if [ "$native" != armhf ] && ! grep -qx armhf <<<"$foreign"; then
	log "adding armhf architecture"
	$SUDO dpkg --add-architecture armhf
	$SUDO rm -f "$DEPS/.apt-updated"
fi
if [ ! -s "$DEPS/armhf-kernel/VERSION" ]; then
	apt_update
	kpkg=$(apt-cache depends "linux-image-armmp-lpae:armhf" 2>/dev/null |
		sed -n 's/.*Depends: *\(linux-image-[0-9][^ :]*-armmp-lpae\).*/\1/p' |
		head -n1)
	[ -n "$kpkg" ] || { echo "deps: cannot resolve linux-image-armmp-lpae" >&2; exit 1; }
	kernel_unpack "$(download "$kpkg:armhf")" armhf-kernel
fi
if [ ! -x "$DEPS/busybox-armhf/bin/busybox" ]; then
	deb=$(download "busybox-static:armhf")
	unpack "$deb" busybox-armhf
	rm -f "$deb"
	log "armhf busybox ready"
fi

log "all dependencies present"
