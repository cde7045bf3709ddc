#!/bin/bash
# Assemble the boot-test rig in build/rig/ from build/deps/ (see
# scripts/deps.sh) and ./lkvm.  Only what changed is rebuilt.
#
#   build/rig/host-initrd.img     initramfs of the emulated arm64 host: busybox,
#                                 the modules needed to mount a virtio-9p share,
#                                 and an /init that mounts the share and runs
#                                 /share/cases.sh, then powers off
#   build/rig/share/              exported to the emulated host as /share:
#     bin/lkvm                    the VMM under test
#     bin/lkvm-slirp              lkvm linked with libslirp, for -n mode=user
#     base/lkvm, base/lkvm-slirp  make bench's other lkvm (BASE=, BENCH_BASE=)
#     asan/lkvm                   the same under ASan/UBSan (./lkvm-asan), for
#                                 the asan config; named lkvm for `pidof lkvm`
#     lib/                        their arm64 shared libraries and the loader
#     guest/Image                 the nested guest's kernel
#     guest/initrd.img            guest initramfs (busybox + /init, see below)
#     guest/initrd-big.img        the same padded past 64 MiB with a file whose
#                                 checksum is in guest/big.sha256
#     cases.sh                    tests/rig/cases.sh
#     results/                    written by the emulated host
#
# Environment: LKVM=path to the lkvm binary (default ./lkvm; the
# lkvm-slirp beside it goes along), LKVM_ASAN= path to the ASan one
# (default ./lkvm-asan; left out if it does not exist).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
DEPS=$ROOT/build/deps
RIG=$ROOT/build/rig
SHARE=$RIG/share
LKVM=${LKVM:-$ROOT/lkvm}
LKVM_ASAN=${LKVM_ASAN:-$ROOT/lkvm-asan}
SELF=$ROOT/tests/rig/build.sh
BB=$DEPS/busybox/bin/busybox
KVER=$(cat "$DEPS/kernel/VERSION" 2>/dev/null) ||
	{ echo "rig: build/deps missing: run 'make deps' first" >&2; exit 1; }
KDIR=$DEPS/kernel
KIMAGE=$KDIR/boot/vmlinuz-$KVER
# the other page sizes' kernels, where fetched (scripts/deps.sh: 16 KiB)
# or built (make kernel-64k: 64 KiB): guests, and emulated hosts of the
# n1-16k and n1-64k configs
PAGE_KERNELS="16k 64k"
[ -x "$BB" ] && [ -e "$KIMAGE" ] ||
	{ echo "rig: build/deps incomplete: run 'make deps'" >&2; exit 1; }
[ -e "$LKVM" ] || { echo "rig: $LKVM not found: run 'make' first" >&2; exit 1; }

READELF=aarch64-linux-gnu-readelf
command -v $READELF >/dev/null || READELF=readelf

mkdir -p "$RIG" "$SHARE"/{bin,asan,lib,guest,results}

log() { echo "rig: $*"; }

# newer OUT IN...: true if OUT is missing or older than one of IN
newer() {
	local out=$1 f
	shift
	[ -e "$out" ] || return 0
	for f in "$@"; do
		[ "$f" -nt "$out" ] && return 0
	done
	return 1
}

# install_if_changed SRC DST [MODE]: copy keeping DST's mtime when identical
install_if_changed() {
	if ! cmp -s "$1" "$2"; then
		cp -L "$1" "$2.tmp"
		chmod "${3:-644}" "$2.tmp"
		mv -f "$2.tmp" "$2"
		return 0
	fi
	return 1
}

# mkcpio DIR OUT [gzip]: newc archive owned by root
mkcpio() {
	local dir=$1 out=$2
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
	if [ "${3:-}" = gzip ]; then
		gzip -1 -n -c "$out.tmp" >"$out.tmp.gz"
		mv -f "$out.tmp.gz" "$out.tmp"
	fi
	mv -f "$out.tmp" "$out"
}

# ---------------------------------------------------------------- host initrd
HOST_MODS="virtio_mmio virtio_pci 9pnet_virtio 9p"
# virtio-net cases: tap interfaces, and vhost-net (pulls in tun, tap, vhost)
HOST_MODS="$HOST_MODS tun vhost_net"
# --vsock: vhost-vsock (pulls in vsock, vhost, the common transport)
HOST_MODS="$HOST_MODS vhost_vsock"
# --gdb: the host's NIC (QEMU forwards a port of the x86 side to it)
HOST_MODS="$HOST_MODS virtio_net"

# use_kernel DIR: the kernel (Debian's unpacked, or kernel-64k) whose
# modules the functions below take
use_kernel() {
	KDIR=$1
	KVER=$(cat "$KDIR/VERSION")
}

# kernel_image DIR: its Image (kernel-64k) or vmlinuz
kernel_image() {
	if [ -e "$1/Image" ]; then
		echo "$1/Image"
	else
		echo "$1/boot/vmlinuz-$(cat "$1/VERSION")"
	fi
}

# copy_module SRC DST: uncompressed (busybox insmod takes plain .ko only)
copy_module() {
	case "$1" in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# host_modules: the modules.dep paths (relative to lib/modules/VER, maybe
# compressed) of $HOST_MODS and what they need, in load order; modules
# built into the kernel are left out, all of them for a kernel without
# modules (kernel-64k)
host_modules() {
	local dep=$KDIR/lib/modules/$KVER/modules.dep
	local seen="" m path
	[ -d "$KDIR/lib/modules" ] || return 0
	resolve() {
		local path=$1 d
		case " $seen " in *" $path "*) return ;; esac
		for d in $(sed -n "s|^$path: *||p" "$dep"); do
			resolve "$d"
		done
		seen="$seen $path"
		echo "$path"
	}
	for m in $HOST_MODS; do
		path=$(grep -E "^([^:]*/)?$m\.ko(\.[gx]z|\.zst)?:" "$dep" |
			cut -d: -f1 || true)
		if [ -z "$path" ]; then
			grep -qE "(^|/)$m\.ko$" "${dep%.dep}.builtin" && continue
			echo "rig: module $m not in modules.dep" >&2
			exit 1
		fi
		resolve "$path"
	done
}

# build_host_initrd OUT: the host initramfs for the kernel of use_kernel
build_host_initrd() {
	local out=$1 st m
	newer "$out" "$SELF" "$BB" "$KDIR/VERSION" || return 0
	log "building host initramfs for $KVER"
	st=$RIG/host-root
	rm -rf "$st"
	mkdir -p "$st"/{bin,sbin,proc,sys,dev,tmp,share,etc,root,lib/modules/"$KVER"}
	cp "$BB" "$st/bin/busybox"
	host_modules | sed -E 's/\.(xz|gz|zst)$//' >"$st/modules.list"
	while read -r m; do
		mkdir -p "$st/lib/modules/$KVER/$(dirname "$m")"
		copy_module "$(ls "$KDIR/lib/modules/$KVER/$m"*)" \
			"$st/lib/modules/$KVER/$m"
	done <"$st/modules.list"
	cat >"$st/init" <<'EOF'
#!/bin/busybox sh
# lkvm rig: init of the emulated arm64 host
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
kver=$(uname -r)
while read -r m; do
	insmod "/lib/modules/$kver/$m" 2>/dev/null ||
		echo "rig-host: insmod $m failed"
done </modules.list
args=""
for w in $(cat /proc/cmdline); do
	case "$w" in
	rig.args=*) args=$(echo "${w#rig.args=}" | tr , ' ') ;;
	rig.config=*) export RIG_CONFIG=${w#rig.config=} ;;
	rig.case_timeout=*) export CASE_TIMEOUT=${w#rig.case_timeout=} ;;
	rig.repeat=*) export REPEAT=${w#rig.repeat=} ;;
	rig.full=*) export FULL=${w#rig.full=} ;;
	esac
done
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none \
		share /share; then
	# lkvm's shared libraries and loader, for a dynamically linked lkvm
	mkdir -p /lib/aarch64-linux-gnu
	for f in /share/lib/*; do
		[ -e "$f" ] || continue
		cp "$f" /lib/aarch64-linux-gnu/
		case "$f" in */ld-linux-*) cp "$f" /lib/ ;; esac
	done
	export PATH=/share/bin:$PATH
	# the running kernel and all its modules where a distribution has
	# them, for lkvm sandbox without -k (the n1-16k/64k hosts run others)
	if [ -d "/share/hostkernel/modules/$kver" ]; then
		mkdir -p /boot
		mount -o bind /share/hostkernel/boot /boot
		mount -o bind /share/hostkernel/modules /lib/modules
	fi
	echo "rig-host: up $(cut -d' ' -f1 /proc/uptime)s"
	cd /share && sh /share/cases.sh $args
else
	echo "@@TAP@@ not ok 1 - host: mount virtio-9p share"
fi
sync
poweroff -f
EOF
	chmod 755 "$st/init"
	mkcpio "$st" "$out" gzip
	rm -rf "$st"
}
HOST_INITRD=$RIG/host-initrd.img
build_host_initrd "$HOST_INITRD"

# ---------------------------------------------------------------- share
if install_if_changed "$LKVM" "$SHARE/bin/lkvm" 755; then
	log "installed lkvm"
fi
# install_slirp_beside BINARY DIR: the lkvm-slirp beside BINARY (lkvm with
# libslirp, which that lkvm runs for -n mode=user) into DIR, or none there
install_slirp_beside() {
	if [ -e "$(dirname "$1")/lkvm-slirp" ]; then
		install_if_changed "$(dirname "$1")/lkvm-slirp" "$2/lkvm-slirp" 755 &&
			log "installed $(basename "$2")/lkvm-slirp"
	else
		rm -f "$2/lkvm-slirp"
	fi
	return 0
}
install_slirp_beside "$LKVM" "$SHARE/bin"
# make bench BENCH_BASE=FILE (or BASE=REV): a second lkvm to compare with,
# in base/ with the lkvm-slirp beside it (if any), which it runs
mkdir -p "$SHARE/base"
if [ -n "${BENCH_BASE:-}" ]; then
	[ -f "$BENCH_BASE" ] || { echo "rig: BENCH_BASE '$BENCH_BASE': no such file" >&2; exit 1; }
	install_if_changed "$BENCH_BASE" "$SHARE/base/lkvm" 755 &&
		log "installed the base lkvm for bench ($BENCH_BASE)"
	install_slirp_beside "$BENCH_BASE" "$SHARE/base"
else
	rm -f "$SHARE/base/lkvm" "$SHARE/base/lkvm-slirp"
fi
rm -f "$SHARE/bin/lkvm-base"	# where older rigs had it
# make kvmtool's binary, which BENCH_BASE=tests/rig/kvmtool-base.sh runs
if [ -f "$DEPS/kvmtool/kvmtool" ]; then
	install_if_changed "$DEPS/kvmtool/kvmtool" "$SHARE/kvmtool" 755 &&
		log "installed kvmtool for tests/rig/kvmtool-base.sh"
fi
if [ -e "$LKVM_ASAN" ]; then
	if install_if_changed "$LKVM_ASAN" "$SHARE/asan/lkvm" 755; then
		log "installed lkvm-asan"
	fi
else
	rm -f "$SHARE/asan/lkvm"
fi
install_if_changed "$ROOT/tests/rig/cases.sh" "$SHARE/cases.sh" 755 || true
install_if_changed "$KIMAGE" "$SHARE/guest/Image" 644 || true

# the host kernel and its modules, bound at /boot and /lib/modules in the
# emulated host (hard links: no copy of the 300 MiB of modules)
HK=$SHARE/hostkernel
if newer "$HK/.stamp" "$KDIR/VERSION" "$SELF"; then
	log "linking host kernel modules"
	rm -rf "$HK"
	mkdir -p "$HK/boot" "$HK/modules"
	cp -al "$KDIR/lib/modules/$KVER" "$HK/modules/" 2>/dev/null ||
		cp -a "$KDIR/lib/modules/$KVER" "$HK/modules/"
	cp -l "$KIMAGE" "$HK/boot/" 2>/dev/null || cp "$KIMAGE" "$HK/boot/"
	touch "$HK/.stamp"
fi

# the benchmark's boot-time probe, the terminal probe, the --pmu cases'
# counter check, the control cases' other user, both ends of the vsock
# cases, the debug cases' V-register marker (static)
for probe in bench-run pty-run blk-bench dns-answer perf-cycles run-as vsock-echo \
	neon-mark; do
	if newer "$SHARE/bin/$probe" "$ROOT/tests/rig/$probe.c"; then
		libs=""
		[ "$probe" = blk-bench ] && libs=-luring
		aarch64-linux-gnu-gcc -O2 -static -Wall -Wextra -Werror \
			-o "$SHARE/bin/$probe" "$ROOT/tests/rig/$probe.c" $libs
	fi
done

# the aarch32-platform-spsr case's bare-metal 32-bit guests, one SPSR
# value each (tests/rig/spsr-probe.S)
for m in a:0x600001d3 b:0x900001d3 c:0x300001d3; do
	bin=$SHARE/guest/spsr-${m%%:*}.bin
	if newer "$bin" "$ROOT/tests/rig/spsr-probe.S"; then
		clang --target=armv7a-none-eabi -nostdlib -fuse-ld=lld \
			-Wl,-Ttext=0 -DMAGIC=${m#*:} -DSECS=2 \
			-o "$bin.elf" "$ROOT/tests/rig/spsr-probe.S"
		llvm-objcopy -O binary "$bin.elf" "$bin"
		rm -f "$bin.elf"
	fi
done

# arm64 shared libraries of the lkvm binaries (libasan and libubsan for the
# ASan one, libslirp and glib for it and lkvm-slirp, the C library of a
# dynamic lkvm) and their loader; nothing to do for a static or script lkvm
LIBDIRS="/usr/aarch64-linux-gnu/lib /usr/lib/aarch64-linux-gnu /lib/aarch64-linux-gnu"
find_lib() { # NAME: its path in LIBDIRS
	local d
	for d in $LIBDIRS; do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	echo "rig: lkvm needs $1: not found in $LIBDIRS" >&2
	return 1
}
copy_libs() { # BINARY: copy what it needs (recursively) into share/lib
	local todo=$1 f lib interp
	$READELF -h "$1" >/dev/null 2>&1 || return 0
	interp=$($READELF -lW "$1" |
		sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$SHARE/lib/$(basename "$interp")" ]; then
		cp -L "$(find_lib "$(basename "$interp")")" "$SHARE/lib/"
	fi
	# and those it loads itself (dlopen: libslirp), named in its strings
	for lib in $(grep -aoE 'lib[a-z0-9_+-]+\.so\.[0-9]+' "$1" | sort -u); do
		f=$(find_lib "$lib" 2>/dev/null) || continue
		[ -e "$SHARE/lib/$lib" ] && continue
		cp -L "$f" "$SHARE/lib/$lib"
		todo="$todo $SHARE/lib/$lib"
	done
	while [ -n "$todo" ]; do
		set -- $todo
		f=$1; shift; todo="$*"
		for lib in $($READELF -dW "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -e "$SHARE/lib/$lib" ] && continue
			cp -L "$(find_lib "$lib")" "$SHARE/lib/$lib"
			todo="$todo $SHARE/lib/$lib"
		done
	done
}
lkvms=("$SHARE/bin/lkvm")
[ -e "$SHARE/bin/lkvm-slirp" ] && lkvms+=("$SHARE/bin/lkvm-slirp")
[ -e "$SHARE/asan/lkvm" ] && lkvms+=("$SHARE/asan/lkvm")
for f in "$SHARE/base/lkvm" "$SHARE/base/lkvm-slirp"; do
	[ -e "$f" ] && lkvms+=("$f")
done
if newer "$SHARE/lib/.stamp" "${lkvms[@]}" "$SELF"; then
	rm -rf "${SHARE:?}/lib"
	mkdir -p "$SHARE/lib"
	for f in "${lkvms[@]}"; do
		copy_libs "$f"
	done
	log "lkvm libraries: $(ls "$SHARE/lib" | tr '\n' ' ')"
	touch "$SHARE/lib/.stamp"
fi

# ---------------------------------------------------------------- guest initrd
GUEST_INIT=$(cat <<'EOF'
#!/bin/busybox sh
# lkvm rig: init of the nested guest.  Acts on lkvm.test=ACTION from the
# kernel command line: poweroff (default), reboot, big, demo, panic, hang, shell,
# virtio (lists virtio devices, writes to /dev/hvc0, reads /dev/hwrng),
# input (reads a line from the console and prints it), probeattack and
# dumpvda (image format probing, see there), pagesize (its kernel's page
# size), tick (a numbered line with the uptime five times a second,
# until stopped), vsock (answers one AF_VSOCK connection), balloon (frees
# memory for free page reporting), neontick (SysRq on, neon-mark spinning
# with its pattern in V0-V7, then tick), tickin (tick, and each console
# line read printed back as "GUEST-GOT LINE", the console's echo off).
# the guest's uptime as its init starts (bench: the kernel's own boot time)
/bin/busybox mount -t proc proc /proc
read -r init_uptime _ </proc/uptime
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/root
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
test=poweroff
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvm.test=*) test=${w#lkvm.test=} ;;
	lkvm.dmesg=1) dmesg_all=1 ;;
	esac
done
# virtio drivers are modules in the guest kernel: load those we ship
for m in $(cat /lib/modules/load.list 2>/dev/null); do
	insmod "/lib/modules/$m.ko" 2>/dev/null
done
# with console=hvc0 the kernel found no console to give us: take hvc0
case " $(cat /proc/cmdline) " in
*" console=hvc0 "*) [ -c /dev/hvc0 ] && exec </dev/hvc0 >/dev/hvc0 2>&1 ;;
esac
# virtio_driver ID: the driver bound to the virtio device of that ID
virtio_driver() {
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = "$1" ] &&
			basename "$(readlink "$d/driver")"
	done
}
cpus=$(grep -c '^processor' /proc/cpuinfo)
echo "GUEST-UPTIME init=$init_uptime ok=$(cut -d' ' -f1 /proc/uptime)"
echo "GUEST-INIT-OK cpus=$cpus test=$test"
echo "GUEST-ARCH $(uname -m)"
case "$test" in
neontick|tick|tickin)
	if [ "$test" = neontick ]; then
		echo 1 >/proc/sys/kernel/sysrq
		neon-mark &
		echo "GUEST-NEON-MARK pid=$!"
	fi
	if [ "$test" = tickin ]; then
		stty -echo
		exec 4<&0
		while read -r l <&4; do echo "GUEST-GOT $l"; done &
	fi
	i=0
	while :; do
		i=$((i + 1))
		read -r up _ </proc/uptime
		echo "GUEST-TICK $i $up"
		sleep 0.2
	done
	;;
big)
	if [ -e /big.bin ]; then
		echo "GUEST-BIG-SHA256 $(sha256sum /big.bin | cut -d' ' -f1)"
	else
		echo "GUEST-BIG-SHA256 missing"
	fi
	;;
demo)
	echo "================ lkvm demo guest ================"
	uname -a
	echo "cpus online: $(cat /sys/devices/system/cpu/online)"
	grep -m1 -i -e '^CPU implementer' /proc/cpuinfo
	grep -m1 -i -e '^Features' /proc/cpuinfo
	grep -m1 -e '^MemTotal' /proc/meminfo
	echo "---- /proc/interrupts ----"
	head -n 20 /proc/interrupts
	echo "---- /proc/cmdline ----"
	cat /proc/cmdline
	echo "uptime: $(cut -d' ' -f1 /proc/uptime)s"
	echo "================================================="
	;;
virtio)
	for d in /sys/bus/virtio/devices/*; do
		[ -e "$d/device" ] &&
			echo "GUEST-VIRTIO $(basename "$d") device=$(cat "$d/device") driver=$(basename "$(readlink "$d/driver")") bus=$(basename "$(dirname "$(readlink -f "$d")")")"
	done
	[ -c /dev/hvc0 ] && echo "GUEST-HVC0-LINE written to /dev/hvc0" >/dev/hvc0
	if [ -c /dev/hwrng ]; then
		echo "GUEST-HWRNG $(cat /sys/class/misc/hw_random/rng_current) bytes=$(dd if=/dev/hwrng bs=1k count=64 2>/dev/null | wc -c)"
	fi
	;;
bootprof)
	# boot profile (bench part prof; needs initcall_debug printk.time=1):
	# when init started, the 15 slowest initcalls, the 10 widest gaps
	# between printk timestamps (the line after each gap)
	echo "GUEST-BOOTPROF uptime-now $(cut -d' ' -f1 /proc/uptime)"
	dmesg | grep -m1 'Run /init' | sed 's/^/GUEST-BOOTPROF /'
	dmesg | awk '/ returned .* after / { for (i = 1; i <= NF; i++) if ($i == "after") print $(i + 1), $0 }' |
		sort -rn | head -n 15 | sed 's/^/GUEST-INITCALL /'
	dmesg | awk '/ returned .* after / { for (i = 1; i <= NF; i++) if ($i == "after") s += $(i + 1); n++ }
		END { printf "GUEST-BOOTPROF initcalls=%d sum_usecs=%d\n", n, s }'
	dmesg | awk '{ t = substr($0, 2, index($0, "]") - 2) + 0; if (NR > 1) printf "%.6f %s\n", t - p, $0; p = t }' |
		sort -rn | head -n 10 | sed 's/^/GUEST-GAP /'
	[ -n "$dmesg_all" ] && dmesg | sed 's/^/GUEST-DMESG /'
	;;
kaslr)
	# what the kernel made of /chosen/kaslr-seed
	dmesg | grep -m1 '] KASLR ' | sed 's/^[^]]*] /GUEST-KASLR /'
	;;
rngbench)
	# many small requests: the hwrng core reads 64 bytes at a time and
	# each is one virtio-rng buffer
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/hwrng of=/dev/null bs=64 count=4000 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "GUEST-RNGBENCH reads=4000 secs=$(awk "BEGIN{print $t1 - $t0}")"
	;;
net)
	# virtio-net: lkvm.net_ip=dhcp|ADDR/PREFIX; then lkvm.net_get=URL
	# (fetch it, print its sha256); lkvm.net_bench=BASEURL (time fetching
	# BASEURL/big, serve a 32 MiB /big); lkvm.net_serve=KIB (serve KIB
	# random bytes as /f with httpd on port 80, take one upload POSTed to
	# /cgi-bin/up, print its sha256, power off)
	nip=dhcp nget="" nserve="" nbench="" ndns=""
	for w in $(cat /proc/cmdline); do
		case "$w" in
		lkvm.net_ip=*) nip=${w#lkvm.net_ip=} ;;
		lkvm.net_get=*) nget=${w#lkvm.net_get=} ;;
		lkvm.net_serve=*) nserve=${w#lkvm.net_serve=} ;;
		lkvm.net_bench=*) nbench=${w#lkvm.net_bench=} ;;
		lkvm.net_dns=*) ndns=${w#lkvm.net_dns=} ;;
		esac
	done
	ip link set lo up
	ip link set eth0 up
	echo "GUEST-NET-MAC $(cat /sys/class/net/eth0/address) queues=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
	if [ "$nip" = dhcp ]; then
		udhcpc -i eth0 -n -q -t 10 -T 1 >/dev/null 2>&1 &&
			echo "GUEST-NET-LEASE $(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p')"
	else
		ip addr add "$nip" dev eth0
	fi
	if [ -n "$ndns" ]; then
		echo "GUEST-NET-DNS $ndns $(nslookup "$ndns" 2>/dev/null |
			sed -n 's/^Address:* *\([0-9.]*\)$/\1/p' | tail -n 1)"
	fi
	if [ -n "$nget" ]; then
		if wget -q -O /tmp/get "$nget"; then
			echo "GUEST-NET-GET-SHA256 $(sha256sum /tmp/get | cut -d' ' -f1)"
		else
			echo "GUEST-NET-GET failed"
		fi
	fi
	if [ -n "$nbench" ]; then
		t0=$(cut -d' ' -f1 /proc/uptime)
		wget -q -O /dev/null "$nbench/big" || echo "GUEST-NET-BENCH-GET failed"
		t1=$(cut -d' ' -f1 /proc/uptime)
		echo "GUEST-NET-BENCH-GET secs=$(awk "BEGIN{print $t1 - $t0}")"
		nserve=${nserve:-4}
	fi
	if [ -n "$nserve" ]; then
		mkdir -p /www/cgi-bin
		dd if=/dev/urandom of=/www/f bs=1k count="$nserve" 2>/dev/null
		[ -n "$nbench" ] && dd if=/dev/zero of=/www/big bs=1M count=32 2>/dev/null
		printf '%s\n' '#!/bin/sh' 'head -c "$CONTENT_LENGTH" >/tmp/up' \
			'printf "Content-Type: text/plain\r\n\r\n"' \
			'echo "$(sha256sum </tmp/up | cut -d" " -f1) $(wc -c </tmp/up)"' \
			'touch /tmp/up.done' \
			>/www/cgi-bin/up
		chmod 755 /www/cgi-bin/up
		echo "GUEST-NET-SERVE-SHA256 $(sha256sum /www/f | cut -d' ' -f1)"
		httpd -p 80 -h /www
		echo "GUEST-NET-READY"
		i=0
		while [ ! -e /tmp/up.done ] && [ $i -lt 600 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		[ -e /tmp/up.done ] &&
			echo "GUEST-NET-UP-SHA256 $(sha256sum /tmp/up | cut -d' ' -f1)"
	fi
	;;
reload)
	# driver reset: unbind and rebind virtio-rng, then use it again
	dd if=/dev/hwrng bs=1k count=4 2>/dev/null | wc -c >/dev/null
	rmmod virtio_rng && insmod /lib/modules/virtio-rng.ko &&
		echo "GUEST-RELOAD bytes=$(dd if=/dev/hwrng bs=1k count=16 2>/dev/null | wc -c)"
	;;
pagesize)
	# the page size the guest kernel maps with, and when init got here
	echo "GUEST-PAGESIZE $(sed -n 's/^KernelPageSize: *\([0-9]*\) kB$/\1/p' /proc/self/smaps | head -n 1)K up=$(cut -d' ' -f1 /proc/uptime)s"
	;;
clock) echo "GUEST-TIME $(date +%s) rtc=$(cat /sys/class/rtc/rtc0/name 2>/dev/null)" ;;
vsock)
	# --vsock: one connection on port 5000 (tests/rig/vsock-echo.c)
	echo "GUEST-VSOCK driver=$(virtio_driver 0x0013)"
	vsock-echo listen 5000
	;;
balloon)
	# --balloon: the driver bound; 32 MiB used and freed again, then
	# time for free page reporting (2 s after the free) to send it
	echo "GUEST-BALLOON driver=$(virtio_driver 0x0005)"
	dd if=/dev/zero of=/tmp/fill bs=1M count=32 2>/dev/null
	rm -f /tmp/fill
	sleep 5
	echo "GUEST-BALLOON-FREED"
	;;
input) read -r line && echo "GUEST-READ $line" ;;
reboot) echo "GUEST-REBOOT"; reboot -f ;;
panic) echo c >/proc/sysrq-trigger ;;
hang) while :; do sleep 3600; done ;;
9p)
	# every virtio-9p share at /mnt/TAG, then the script share's run.sh
	for d in /sys/bus/virtio/devices/*; do
		[ -e "$d/mount_tag" ] || continue
		tag=$(tr -d '\000' <"$d/mount_tag")
		mkdir -p "/mnt/$tag"
		mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 \
			"$tag" "/mnt/$tag" && echo "GUEST-9P-MOUNT $tag"
	done
	[ -f /mnt/script/run.sh ] && sh /mnt/script/run.sh
	echo "GUEST-9P-DONE"
	;;
switchroot)
	# the disk from root= (lkvm adds root=/dev/vda rw) becomes /, and
	# its /sbin/init (tests/rig/build.sh: rootfs) takes over
	root=/dev/vda rootfl=rw
	for w in $(cat /proc/cmdline); do
		case "$w" in root=*) root=${w#root=} ;; ro) rootfl=ro ;; esac
	done
	mkdir -p /newroot
	if mount -t ext4 -o "$rootfl" "$root" /newroot; then
		mount --move /dev /newroot/dev
		umount /proc /sys
		exec switch_root /newroot /sbin/init
	fi
	echo "GUEST-ROOT-MOUNT-FAILED $root"
	;;
blkbench)
	# virtio-blk throughput on /dev/vda (tests/rig/blk-bench.c);
	# lkvm.blk_bench=MIB,DEPTH[,PHASES] (default 64,1)
	a=64,1
	for w in $(cat /proc/cmdline); do
		case "$w" in lkvm.blk_bench=*) a=${w#lkvm.blk_bench=} ;; esac
	done
	blk-bench /dev/vda $(echo "$a" | tr , ' ')
	;;
probeattack)
	# CVE-2008-2004 as a guest does it: a qcow2 header naming a host
	# file (lkvm.backing=PATH, default /tmp/host-secret) as its backing
	# file, onto the disk's first sector: v2, 64 KiB clusters, 1 MiB,
	# an empty L1 table at 64 KiB and refcount table at 128 KiB (zeros on
	# a fresh disk), so every read would go to the backing file.  The
	# same header as forge_qcow2() in tests/unit/test-blk-req.c.
	b=/tmp/host-secret
	for w in $(cat /proc/cmdline); do
		case "$w" in lkvm.backing=*) b=${w#lkvm.backing=} ;; esac
	done
	{
		printf 'QFI\373\0\0\0\2\0\0\0\0\0\0\0\110\0\0\0'
		printf "\\$(printf %03o ${#b})"
		printf '\0\0\0\20\0\0\0\0\0\20\0\0\0\0\0\0\0\0\0\1'
		printf '\0\0\0\0\0\1\0\0\0\0\0\0\0\2\0\0\0\0\0\1'
		printf '\0\0\0\0\0\0\0\0\0\0\0\0%s' "$b"
		head -c 512 /dev/zero
	} | head -c 512 >/tmp/qcow2-header
	if dd if=/tmp/qcow2-header of=/dev/vda bs=512 count=1 conv=fsync 2>/tmp/dd.err; then
		echo "GUEST-PROBE-WRITE ok"
	else
		echo "GUEST-PROBE-WRITE failed: $(cat /tmp/dd.err)"
	fi
	;;
dumpvda)
	# every word (letters and digits) on /dev/vda, and its size
	echo "GUEST-VDA-BEGIN"
	tr -c 'A-Za-z0-9' '\n' </dev/vda | grep .
	echo "GUEST-VDA-END bytes=$(wc -c </dev/vda)"
	;;
shell) setsid cttyhack sh -l ;;
esac
echo "GUEST-POWEROFF"
poweroff -f
EOF
)

# virtio modules of the guest kernel, in load order (no dependencies
# between them but virtio_pci's, listed first; virtio core is built in;
# those a kernel has built in are left out).
GUEST_FIXED_MODS="virtio_mmio virtio_pci_legacy_dev virtio_pci_modern_dev
virtio_pci virtio_console virtio-rng"
# virtio-net and what it needs (net_failover, failover), from modules.dep
GUEST_FIXED_DEP_MODS="virtio_net"

# ... and modules loaded with their dependencies from modules.dep, in
# dependency order (9p for the virtio-9p cases)
GUEST_DEP_MODS="9pnet_virtio 9p"
# virtio-blk and an ext4 root on it
GUEST_DEP_MODS="$GUEST_DEP_MODS virtio_blk crc32c_generic ext4"
# --balloon and --vsock
GUEST_DEP_MODS="$GUEST_DEP_MODS virtio_balloon vmw_vsock_virtio_transport"

# guest_modules: the modules.dep paths of the guest's modules, in load
# order: GUEST_FIXED_MODS as listed, then (with what they need)
# GUEST_FIXED_DEP_MODS and GUEST_DEP_MODS
guest_modules() {
	local m
	[ -d "$KDIR/lib/modules" ] || return 0
	for m in $GUEST_FIXED_MODS; do
		grep -oE "^([^:]*/)?$m\.ko(\.[gx]z|\.zst)?:" \
			"$KDIR/lib/modules/$KVER/modules.dep" | tr -d : || true
	done
	HOST_MODS="$GUEST_FIXED_DEP_MODS $GUEST_DEP_MODS" host_modules
}

# build_guest_initrd OUT BUSYBOX [BIN...]: the guest initramfs, with the
# modules of the kernel of use_kernel (none for one without modules), that
# busybox and the extra programs
build_guest_initrd() {
	local out=$1 bb=$2 st m b
	shift 2
	newer "$out" "$SELF" "$bb" "$KDIR/VERSION" "$@" || return 0
	log "building guest initramfs $(basename "$out") for $KVER"
	st=$RIG/guest-root
	rm -rf "$st"
	mkdir -p "$st"/{bin,sbin,proc,sys,dev,tmp,root,etc}
	cp "$bb" "$st/bin/busybox"
	for b in "$@"; do
		cp "$b" "$st/bin/"
	done
	printf '%s\n' "$GUEST_INIT" >"$st/init"
	# udhcpc's lease script (busybox ships none): address, route, DNS
	mkdir -p "$st/etc/udhcpc" "$st/usr/share/udhcpc"
	cat >"$st/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done ;;
esac
exit 0
EOF
	chmod 755 "$st/etc/udhcpc/default.script"
	ln -s /etc/udhcpc/default.script "$st/usr/share/udhcpc/default.script"
	mkdir -p "$st/lib/modules"
	: >"$st/lib/modules/load.list"
	for m in $(guest_modules); do
		b=$(basename "$m" | sed -E 's/\.ko(\.[gx]z|\.zst)?$//')
		grep -qx -e "$b" "$st/lib/modules/load.list" && continue
		copy_module "$KDIR/lib/modules/$KVER/$m" "$st/lib/modules/$b.ko"
		echo "$b" >>"$st/lib/modules/load.list"
	done
	chmod 755 "$st/init"
	mkcpio "$st" "$out"
	rm -rf "$st"
}
GUEST_INITRD=$SHARE/guest/initrd.img
build_guest_initrd "$GUEST_INITRD" "$BB" "$SHARE/bin/blk-bench" \
	"$SHARE/bin/vsock-echo" "$SHARE/bin/neon-mark"

# the other page sizes' kernels: guest/Image-16k with guest/initrd-16k.img
# (its modules), ... and host-initrd-16k.img for the n1-16k config
for p in $PAGE_KERNELS; do
	if [ ! -s "$DEPS/kernel-$p/VERSION" ]; then
		rm -f "$SHARE/guest/Image-$p" "$SHARE/guest/initrd-$p.img" \
			"$RIG/host-initrd-$p.img"
		continue
	fi
	use_kernel "$DEPS/kernel-$p"
	install_if_changed "$(kernel_image "$KDIR")" "$SHARE/guest/Image-$p" 644 ||
		true
	build_guest_initrd "$SHARE/guest/initrd-$p.img" "$BB" "$SHARE/bin/blk-bench"
	build_host_initrd "$RIG/host-initrd-$p.img"
done
use_kernel "$DEPS/kernel"

# --aarch32: Debian's armhf kernel (zImage) and the same /init and module
# list over an armhf busybox (scripts/deps.sh fetches them)
A32_BB=$DEPS/busybox-armhf/bin/busybox
if [ -s "$DEPS/armhf-kernel/VERSION" ] && [ -x "$A32_BB" ]; then
	use_kernel "$DEPS/armhf-kernel"
	install_if_changed "$(kernel_image "$KDIR")" "$SHARE/guest/zImage" 644 ||
		true
	build_guest_initrd "$SHARE/guest/initrd-armhf.img" "$A32_BB"
	use_kernel "$DEPS/kernel"
else
	log "no armhf kernel or busybox in build/deps ('make deps'): no --aarch32 guest"
fi

# > 64 MiB: the small image plus a 70 MiB file of random bytes.  The pad is
# generated once; its checksum is what the guest must print.
BIG_INITRD=$SHARE/guest/initrd-big.img
if newer "$BIG_INITRD" "$GUEST_INITRD"; then
	log "building big guest initramfs"
	pad=$RIG/big-pad
	if [ ! -s "$pad/big.bin" ]; then
		rm -rf "$pad"
		mkdir -p "$pad"
		head -c $((70 * 1024 * 1024)) /dev/urandom >"$pad/big.bin"
	fi
	sha256sum "$pad/big.bin" | cut -d' ' -f1 >"$SHARE/guest/big.sha256"
	# concatenated cpio archives are valid initramfs images
	(cd "$pad" && echo big.bin | cpio -o -H newc -R 0:0 --quiet) >"$BIG_INITRD.tmp"
	cat "$GUEST_INITRD" "$BIG_INITRD.tmp" >"$BIG_INITRD"
	rm -f "$BIG_INITRD.tmp"
fi

# ---------------------------------------------------------------- disks
# Golden ext4 images for the virtio-blk cases, made without root by
# mke2fs -d; run-tests.sh copies them to share/disks/CONFIG/ per run.
#   rootfs.img   64 MiB, busybox and /sbin/init (acts on lkvm.disk=ACTION)
#   ro.img       16 MiB, /ro.txt, for the read-only disk
#   data.img     16 MiB, empty, for the second disk
ROOTFS_INIT=$(cat <<'EOF'
#!/bin/busybox sh
# lkvm rig: init of the guest's ext4 root on virtio-blk.  lkvm.disk=ACTION:
# write (default), two (also writes to /dev/vdb), ro (/dev/vdb must be
# read-only), hang (write, then wait to be killed).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
act=write
for w in $(cat /proc/cmdline); do
	case "$w" in lkvm.disk=*) act=${w#lkvm.disk=} ;; esac
done
echo "ROOTFS-INIT-OK act=$act $(grep ' / ' /proc/mounts | cut -d' ' -f1,3,4)"
for d in /sys/block/vd*; do
	echo "GUEST-BLK $(basename "$d") serial=$(cat "$d/serial" 2>/dev/null) ro=$(cat "$d/ro") sectors=$(cat "$d/size") queues=$(ls "$d/mq" | wc -l)"
done
write_files() {
	echo "written by the lkvm guest" >/guest-wrote.txt
	dd if=/dev/urandom of=/guest-data.bin bs=64k count=32 2>/dev/null
	sha256sum /guest-data.bin | cut -d' ' -f1 >/guest-data.sha256
	sync
	echo "GUEST-DISK-WRITTEN $(cat /guest-data.sha256)"
}
case "$act" in
write) write_files ;;
two)
	write_files
	mkdir -p /mnt
	mount -t ext4 /dev/vdb /mnt && echo "on the second disk" >/mnt/second.txt &&
		umount /mnt && echo "GUEST-SECOND-WRITTEN"
	;;
ro)
	mkdir -p /mnt
	# busybox mount falls back to read-only on a write-protected device
	mount -t ext4 -o rw /dev/vdb /mnt 2>/dev/null
	why=""
	grep -q ' /mnt ext4 ro' /proc/mounts || why="$why mounted-rw"
	echo x >/mnt/new.txt 2>/dev/null && why="$why file-written"
	dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=notrunc 2>/dev/null &&
		why="$why dd-written"
	echo "GUEST-RO-READ $(cat /mnt/ro.txt)"
	umount /mnt
	echo "GUEST-RO ro=$(cat /sys/block/vdb/ro) failures:${why:- none}"
	;;
hang)
	echo "written before SIGTERM" >/sigterm.txt
	sync
	echo "GUEST-DISK-WRITTEN"
	while :; do sleep 3600; done
	;;
esac
mount -o remount,ro /
sync
echo "GUEST-DISK-DONE"
poweroff -f
EOF
)
DISKS=$RIG/disks
if newer "$DISKS/.stamp" "$SELF" "$BB"; then
	log "building ext4 disk images"
	rm -rf "$DISKS"
	mkdir -p "$DISKS"
	st=$RIG/rootfs-root
	rm -rf "$st"
	mkdir -p "$st"/{bin,sbin,proc,sys,dev,tmp,mnt,root,etc}
	cp "$BB" "$st/bin/busybox"
	printf '%s\n' "$ROOTFS_INIT" >"$st/sbin/init"
	chmod 755 "$st/sbin/init"
	mke2fs -q -F -t ext4 -L rootfs -E root_owner=0:0 -d "$st" \
		"$DISKS/rootfs.img" 64M
	rm -rf "$st"
	mkdir -p "$st"
	echo "read-only content" >"$st/ro.txt"
	mke2fs -q -F -t ext4 -L ro -E root_owner=0:0 -d "$st" "$DISKS/ro.img" 16M
	rm -rf "$st"
	mke2fs -q -F -t ext4 -L data -E root_owner=0:0 "$DISKS/data.img" 16M
	touch "$DISKS/.stamp"
fi

log "ready: $(du -sh "$SHARE" | cut -f1) share, host initrd $(du -h "$HOST_INITRD" | cut -f1)"
