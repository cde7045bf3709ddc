#!/bin/bash
# Run the lkvm boot tests: for each CONFIG boot the emulated arm64 host
# (qemu-system-aarch64 TCG, virtualization=on) once, let it run
# /share/cases.sh (tests/rig/cases.sh) against build/rig/share, collect the
# "@@TAP@@ " lines from its console and do the x86-side post-checks.
#
# Usage: tests/rig/run-tests.sh [CONFIG...] [-- CASE-GLOB...]
#   CONFIGs: n1-gicv3, max-gicv3, a57-gicv2, n1-gicv3-asan, n1-16k, n1-64k
#   (default: all but n1-64k, which RIG_FULL=1 adds); CONFIG-asan is CONFIG
#   with the ASan/UBSan lkvm (make lkvm-asan), running cases.sh's
#   ASAN_CASES unless CASE-GLOBs are given.  n1-16k and n1-64k are
#   n1-gicv3 with a host kernel of 16K pages (Debian's arm64-16k) and of
#   64K pages (make kernel-64k); they run the page-size cases only.
#   Without CASE-GLOBs a config runs the cases in its scope (cases.sh:
#   n1-gicv3 all of them, the others those that test the host's
#   configuration); CASE-GLOBs select cases by name (e.g. 'boot-*') in
#   every CONFIG named.
# Environment:
#   RIG_FULL=1    every case in every config (make check-full)
#   RIG_LIST=1    only print the cases each config would run (no rig needed)
#   RIG_REPEAT=N  run every selected case N times in one host boot
#   RIG_TIMEOUT   seconds one emulated host may run (default 2400)
#   RIG_CASE_TIMEOUT  seconds one lkvm run may take (default 150)
#   RIG_VERBOSE=1 show the whole console while it runs
# Console logs: build/rig/console-CONFIG.log; guest logs:
# build/rig/share/results/CONFIG/*.log
#
# Prints "ok - CONFIG: case" / "not ok - CONFIG: case" lines and a
# "rig: N passed, N failed" summary; exits non-zero on any failure or if a
# config produced no result.  With RIG_SUMMARY_FILE set, writes "PASS FAIL"
# there instead of printing the summary (used by tests/check.sh).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1

configs=()
cases=()
while [ $# -gt 0 ]; do
	if [ "$1" = -- ]; then shift; cases=("$@"); break; fi
	configs+=("$1"); shift
done
if [ ${#configs[@]} = 0 ]; then
	configs=(n1-gicv3 max-gicv3 a57-gicv2 n1-gicv3-asan n1-16k)
	[ "${RIG_FULL:-0}" = 1 ] && configs+=(n1-64k)
fi

# RIG_LIST=1: cases.sh natively on a scratch share, in its LIST mode
if [ "${RIG_LIST:-0}" = 1 ]; then
	scratch=$(mktemp -d)
	for cfg in "${configs[@]}"; do
		SHARE=$scratch RIG_CONFIG=$cfg LIST=1 FULL=${RIG_FULL:-0} \
			sh tests/rig/cases.sh "${cases[@]}" || st=1
	done
	rm -rf "$scratch"
	exit "${st:-0}"
fi

ROOT=$PWD
RIG=$ROOT/build/rig
SHARE=$RIG/share
[ -e build/deps/kernel/VERSION ] ||
	{ echo "rig: run 'make deps' first" >&2; exit 1; }
[ -e "$RIG/host-initrd.img" ] && [ -e "$SHARE/cases.sh" ] ||
	{ echo "rig: run tests/rig/build.sh (make rig) first" >&2; exit 1; }
TIMEOUT=${RIG_TIMEOUT:-2400}
# the gdb-* cases: a free port here that QEMU forwards to the emulated
# host's 10.0.2.15:1234 (its NIC; the cases give it that address)
GDB_PORT=""
for p in $(shuf -i 20000-60000 -n 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { GDB_PORT=$p; break; }
done
CASE_TIMEOUT=${RIG_CASE_TIMEOUT:-150}

# config_args CONFIG: cpu and gic options (CONFIG-asan: CONFIG's)
config_args() {
	case "${1%-asan}" in
	n1-gicv3|n1-16k|n1-64k)
		echo "-cpu neoverse-n1 -M virt,virtualization=on,gic-version=3" ;;
	max-gicv3) echo "-cpu max,pauth-impdef=on,sve-max-vq=4 -M virt,virtualization=on,gic-version=3,mte=on" ;;
	a57-gicv2) echo "-cpu cortex-a57 -M virt,virtualization=on,gic-version=2" ;;
	*) return 1 ;;
	esac
}

# host_kernel CONFIG: its host kernel and initramfs (tests/rig/build.sh),
# or a line saying what to do to have them
host_kernel() {
	local p="" dir=$ROOT/build/deps/kernel image
	case "${1%-asan}" in *-16k) p=16k ;; *-64k) p=64k ;; esac
	[ -z "$p" ] || dir=$ROOT/build/deps/kernel-$p
	if [ -e "$dir/Image" ]; then
		image=$dir/Image
	else
		image=$dir/boot/vmlinuz-$(cat "$dir/VERSION" 2>/dev/null)
	fi
	if [ ! -e "$image" ] || [ ! -e "$RIG/host-initrd${p:+-$p}.img" ]; then
		case $p in
		64k) echo "rig: $1 needs the 64K kernel: make kernel-64k, then make rig" ;;
		*) echo "rig: $1 needs $dir: make deps, then make rig" ;;
		esac
		return 1
	fi
	echo "$image $RIG/host-initrd${p:+-$p}.img"
}

# boot_host CONFIG ARGS CONSOLE_LOG: run the emulated host to completion.
# The host gets a disk of its own, an empty ext4 (/dev/vda there), for
# what its tmpfs cannot do (O_DIRECT: blk-direct-root).
boot_host() {
	local cfg=$1 args=$2 log=$3 cpuargs st hd=$RIG/hostdisk-$1.img kern
	cpuargs=$(config_args "$cfg") || { echo "rig: unknown config $cfg" >&2; return 2; }
	kern=$(host_kernel "$cfg") || { echo "$kern" >"$log"; return 2; }
	set -- $kern
	rm -f "$hd"
	truncate -s 512M "$hd" && mke2fs -q -F -t ext4 -L hostdisk "$hd" ||
		{ echo "rig: cannot make $hd" >&2; return 2; }
	# shellcheck disable=SC2086
	timeout --foreground -k 10 "$TIMEOUT" qemu-system-aarch64 $cpuargs \
		-m 3G -smp 2 -nographic -nic none -no-reboot \
		-kernel "$1" -initrd "$2" \
		-append "console=ttyAMA0 quiet panic=-1 rig.config=$cfg rig.case_timeout=$CASE_TIMEOUT rig.repeat=${RIG_REPEAT:-1} rig.full=${RIG_FULL:-0} rig.args=$args" \
		-fsdev local,id=share,path="$SHARE",security_model=none \
		-device virtio-9p-device,fsdev=share,mount_tag=share \
		-drive if=none,id=hostdisk,format=raw,file="$hd" \
		-device virtio-blk-device,drive=hostdisk \
		-netdev "user,id=rignet,hostfwd=tcp:127.0.0.1:${GDB_PORT:-1}-10.0.2.15:1234" \
		-device virtio-net-device,netdev=rignet \
		</dev/null 2>&1 | tr -d '\r' |
		if [ "${RIG_VERBOSE:-0}" = 1 ]; then tee "$log"; else cat >"$log"; fi
	st=${PIPESTATUS[0]}
	rm -f "$hd"
	return "$st"
}

pass=0
fail=0
report() { # ok|not ok, text
	if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	echo "$1 - $2"
}

# ---- virtio-blk: fresh disk images per config, checked after the run
DISKS=$RIG/disks
prepare_disks() { # CONFIG
	local d=$SHARE/disks/$1 f
	rm -rf "$d"
	[ -e "$DISKS/rootfs.img" ] || return 0
	mkdir -p "$d"
	for f in root.img two-root.img snap.img sigterm.img pci-root.img \
			lock.img base.raw direct-root.img; do
		cp --sparse=always "$DISKS/rootfs.img" "$d/$f"
	done
	qemu-img convert -O qcow2 "$DISKS/rootfs.img" "$d/root.qcow2"
	(cd "$d" && qemu-img create -q -f qcow2 -b base.raw -F raw overlay.qcow2)
	cp "$DISKS/data.img" "$DISKS/ro.img" "$d/"
	# the SIGKILL cases: an empty 256 MiB ext4, raw and in qcow2 images
	# with 64 KiB (default), 4 KiB and 512-byte clusters
	truncate -s 256M "$d/sigkill.raw"
	mke2fs -q -F -t ext4 -L churn "$d/sigkill.raw"
	qemu-img convert -O qcow2 "$d/sigkill.raw" "$d/sigkill.qcow2"
	qemu-img convert -O qcow2 -o cluster_size=4096 "$d/sigkill.raw" \
		"$d/sigkill-4k.qcow2"
	qemu-img convert -O qcow2 -o cluster_size=512 "$d/sigkill.raw" \
		"$d/sigkill-512.qcow2"
	sha256sum "$DISKS/rootfs.img" | cut -d' ' -f1 >"$d/rootfs.sha256"
	sha256sum "$DISKS/ro.img" | cut -d' ' -f1 >"$d/ro.sha256"
}

# disk_ok CONFIG CASE TEXT COMMAND...: report a post-check
disk_ok() {
	local cfg=$1 name=$2 text=$3 out
	shift 3
	if out=$("$@" 2>&1); then
		report ok "$cfg: $name: $text"
	else
		report "not ok" "$cfg: $name: $text"
		echo "$out" | tail -n 15 | sed 's/^/#   /'
	fi
}

# ext4_files RAW [sigterm]: the files the guest wrote are there and whole
ext4_files() {
	local img=$1 t want got
	t=$(mktemp -d)
	if [ "${2:-}" = sigterm ]; then
		# killed without unmounting: replay the journal on a copy first
		cp --sparse=always "$img" "$t/img"
		e2fsck -fy "$t/img" >"$t/fsck" 2>&1
		[ $? -le 1 ] || { cat "$t/fsck"; rm -rf "$t"; return 1; }
		got=$(debugfs -R 'cat /sigterm.txt' "$t/img" 2>/dev/null)
		rm -rf "$t"
		[ "$got" = "written before SIGTERM" ] ||
			{ echo "/sigterm.txt: '$got'"; return 1; }
		return 0
	fi
	e2fsck -fn "$img" || { rm -rf "$t"; return 1; }
	got=$(debugfs -R 'cat /guest-wrote.txt' "$img" 2>/dev/null)
	[ "$got" = "written by the lkvm guest" ] ||
		{ echo "/guest-wrote.txt: '$got'"; rm -rf "$t"; return 1; }
	want=$(debugfs -R 'cat /guest-data.sha256' "$img" 2>/dev/null)
	debugfs -R "dump /guest-data.bin $t/data" "$img" >/dev/null 2>&1
	got=$(sha256sum <"$t/data" | cut -d' ' -f1)
	rm -rf "$t"
	[ -n "$want" ] && [ "$want" = "$got" ] ||
		{ echo "/guest-data.bin sha256 $got, guest said '$want'"; return 1; }
}

# qcow2_files QCOW2: qemu-img check, then the files, converted to raw
qcow2_files() {
	local t ret
	qemu-img check "$1" || return 1
	t=$(mktemp)
	qemu-img convert -O raw "$1" "$t" || { rm -f "$t"; return 1; }
	ext4_files "$t"
	ret=$?
	rm -f "$t"
	return $ret
}

# crash_files RAW [reopened]: after lkvm was killed: the journal replayed
# on a copy (e2fsck -fy: replay, and what a crash may leave), then the
# copy is clean (e2fsck -fn) and holds what the guest synced before the
# kill (and, reopened, what it wrote after)
crash_files() {
	local t got want ret=1
	t=$(mktemp -d)
	cp --sparse=always "$1" "$t/img"
	e2fsck -fy "$t/img" >"$t/fsck" 2>&1
	if [ $? -gt 1 ]; then
		cat "$t/fsck"
	elif ! e2fsck -fn "$t/img"; then
		echo "e2fsck -fn: not clean after the replay"
	else
		got=$(debugfs -R 'cat /marker.txt' "$t/img" 2>/dev/null)
		want=$(debugfs -R 'cat /synced.sha256' "$t/img" 2>/dev/null)
		debugfs -R "dump /synced.bin $t/data" "$t/img" >/dev/null 2>&1
		if [ "$got" != "synced before SIGKILL" ]; then
			echo "/marker.txt: '$got'"
		elif [ -z "$want" ] || [ "$want" != "$(sha256sum <"$t/data" | cut -d' ' -f1)" ]; then
			echo "/synced.bin differs from its synced sha256 '$want'"
		elif [ "${2:-}" = reopened ] &&
		     [ "$(debugfs -R 'cat /after.txt' "$t/img" 2>/dev/null)" != "written after the reopen" ]; then
			echo "/after.txt missing"
		else
			ret=0
		fi
	fi
	rm -rf "$t"
	return $ret
}

# qcow2_crash QCOW2 [reopened]: qemu-img check finds no corruption (leaked
# clusters are allowed: status 0 or 3), then crash_files on it as raw
qcow2_crash() {
	local st t ret
	qemu-img check "$1" >"$1.check" 2>&1
	st=$?
	cat "$1.check"
	case $st in
	0|3) ;;
	*) echo "qemu-img check: status $st (2: corrupt, 1: check failed)"; return 1 ;;
	esac
	t=$(mktemp)
	qemu-img convert -O raw "$1" "$t" || { rm -f "$t"; return 1; }
	crash_files "$t" "${2:-}"
	ret=$?
	rm -f "$t"
	return $ret
}

same_sha() { # FILE SHA-FILE
	[ "$(sha256sum "$1" | cut -d' ' -f1)" = "$(cat "$2")" ] ||
		{ echo "$1 changed"; return 1; }
}

leaks() { # QEMU-IMG-CHECK-OUTPUT: what qemu-img check said, in a comment
	[ -e "$1" ] || return 0
	echo "#   qemu-img check: $(grep -m1 -i -e 'leaked clusters were found' \
		-e 'no errors were found' -e 'corrupt' "$1")"
}

check_disks() { # CONFIG
	local cfg=$1 d=$SHARE/disks/$1 res=$SHARE/results/$1 c
	[ -d "$d" ] || return 0
	# chk CASE WHAT COMMAND...: judge CASE's image if CASE ran
	chk() { [ ! -e "$res/$1.log" ] || disk_ok "$cfg" "$@"; }
	chk blk-raw-root "files intact, e2fsck -fn clean" \
		ext4_files "$d/root.img"
	chk blk-qcow2-root "qemu-img check, files intact" \
		qcow2_files "$d/root.qcow2"
	chk blk-qcow2-overlay "qemu-img check, files intact" \
		qcow2_files "$d/overlay.qcow2"
	chk blk-qcow2-overlay "backing file unchanged" \
		same_sha "$d/base.raw" "$d/rootfs.sha256"
	chk blk-two-disks "vda files intact" ext4_files "$d/two-root.img"
	chk blk-two-disks "vdb file intact, e2fsck -fn clean" \
		sh -c "e2fsck -fn '$d/data.img' &&
			[ \"\$(debugfs -R 'cat /second.txt' '$d/data.img' 2>/dev/null)\" = 'on the second disk' ]"
	chk blk-ro "read-only image unchanged" same_sha "$d/ro.img" "$d/ro.sha256"
	chk blk-snapshot "image byte-identical" \
		same_sha "$d/snap.img" "$d/rootfs.sha256"
	chk blk-sigterm-flushed "synced file survives SIGTERM" \
		ext4_files "$d/sigterm.img" sigterm
	chk blk-pci-root "files intact, e2fsck -fn clean" \
		ext4_files "$d/pci-root.img"
	for c in sigkill sigkill-4k sigkill-512; do
		[ -e "$res/blk-qcow2-$c.log" ] || continue
		chk "blk-qcow2-$c" "qemu-img check no corruption, synced files intact" \
			qcow2_crash "$d/$c.qcow2"
		leaks "$d/$c.qcow2.check"
	done
	if [ -e "$res/blk-qcow2-sigkill-reopen.log" ]; then
		chk blk-qcow2-sigkill-reopen "qemu-img check no corruption, files intact" \
			qcow2_crash "$d/sigkill-reopen.qcow2" reopened
		leaks "$d/sigkill-reopen.qcow2.check"
	fi
	chk blk-raw-sigkill "synced files intact after the journal replay" \
		crash_files "$d/sigkill.raw"
	chk blk-direct-root "files intact, e2fsck -fn clean" \
		ext4_files "$d/direct-root.img"
}

# ---- the gdb-* cases: gdb-multiarch on this side (tests/rig/gdb-session.sh)
# gdb_driver RES: a session for each NAME.gdb-ready a case writes once its
# lkvm listens (renamed NAME.gdb-args, gdb's output in NAME.gdb-out)
gdb_driver() {
	local r n
	for (( ; ; )); do
		for r in "$1"/*.gdb-ready; do
			[ -e "$r" ] || continue
			n=${r%.gdb-ready}
			mv "$r" "$n.gdb-args"
			tests/rig/gdb-session.sh run "$n.gdb-args" "$GDB_PORT" "$n.gdb-out"
		done
		sleep 1
	done
}

# check_gdb CONFIG: judge the session of each case that asked for one
# (NAME.gdb-want; the guest's kernel is Debian's uncompressed Image)
check_gdb() {
	local cfg=$1 res=$SHARE/results/$1 want name
	for want in "$res"/*.gdb-want; do
		[ -e "$want" ] || continue
		name=$(basename "$want" .gdb-want)
		disk_ok "$cfg" "$name" "the x86 side's gdb-multiarch session (gdb-session.sh check)" \
			tests/rig/gdb-session.sh check "$res/$name.gdb-out" \
			"$res/$name.gdb-args" "$SHARE/guest/Image"
	done
}

case_args=$(IFS=,; echo "${cases[*]:-}")

for cfg in "${configs[@]}"; do
	log=$RIG/console-$cfg.log
	res=$SHARE/results/$cfg
	rm -rf "$res"
	mkdir -p "$res"
	prepare_disks "$cfg"
	echo "# rig: booting $cfg host (timeout ${TIMEOUT}s)"
	t0=$(date +%s.%N)
	gdb_pid=""
	if [ -n "$GDB_PORT" ] && command -v gdb-multiarch >/dev/null; then
		gdb_driver "$res" &
		gdb_pid=$!
	fi
	boot_host "$cfg" "$case_args" "$log"
	st=$?
	[ -z "$gdb_pid" ] || { kill "$gdb_pid"; wait "$gdb_pid"; } 2>/dev/null
	t1=$(date +%s.%N)
	secs=$(awk "BEGIN{printf \"%.1f\", $t1 - $t0}")
	up=$(sed -n 's/.*rig-host: up \([0-9.]*\)s.*/\1/p' "$log" | head -n1)
	echo "# rig: $cfg host ran ${secs}s (qemu status $st, host init at ${up:-?}s uptime)"

	tap=$(grep -a '@@TAP@@ ' "$log" | sed 's/.*@@TAP@@ //')
	results=$(echo "$tap" | grep -E '^(not )?ok ')
	plan=$(echo "$tap" | sed -n 's/^1\.\.\([0-9]*\).*/\1/p' | tail -n1)
	if [ -z "$results" ]; then
		report "not ok" "$cfg: host produced no test result (qemu status $st)"
		echo "#   console ($log), last 30 lines:"
		tail -n 30 "$log" | sed 's/^/#   /'
		continue
	fi
	# per-case lines with their diagnostics
	while IFS= read -r line; do
		case "$line" in
		"ok "*)
			report ok "$cfg: $(echo "$line" | sed 's/^ok [0-9]* - //')" ;;
		"not ok "*)
			report "not ok" "$cfg: $(echo "$line" | sed 's/^not ok [0-9]* - //')" ;;
		"#"*) echo "$line" ;;
		esac
	done <<<"$tap"
	nres=$(echo "$results" | wc -l)
	if [ -z "$plan" ] || [ "$plan" != "$nres" ]; then
		if [ "$st" = 124 ] || [ "$st" = 137 ]; then
			why="timed out after ${TIMEOUT}s"
		else
			why="qemu status $st"
		fi
		report "not ok" "$cfg: run incomplete ($nres results, plan ${plan:-missing}; $why)"
		echo "#   console ($log), last 30 lines:"
		tail -n 30 "$log" | sed 's/^/#   /'
	fi
	# x86-side post-checks: every dtb lkvm dumped must decompile cleanly
	for dtb in "$res"/*.dtb; do
		[ -e "$dtb" ] || continue
		name=$(basename "$dtb")
		if out=$(dtc -I dtb -O dts -o "${dtb%.dtb}.dts" "$dtb" 2>&1) && [ -z "$out" ]; then
			report ok "$cfg: $name decompiles with dtc without warnings"
		else
			report "not ok" "$cfg: $name decompiles with dtc without warnings"
			echo "$out" | head -n 20 | sed 's/^/#   /'
		fi
	done
	# ... and every disk image the blk-* cases wrote must hold their files
	check_disks "$cfg"
	check_gdb "$cfg"
done

if [ -n "${RIG_SUMMARY_FILE:-}" ]; then
	echo "$pass $fail" >"$RIG_SUMMARY_FILE"
else
	echo "rig: $pass passed, $fail failed"
fi
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
