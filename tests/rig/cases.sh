#!/bin/sh
# lkvm boot tests.  Runs INSIDE the emulated arm64 host (busybox sh), from
# the rig share mounted at /share (see tests/rig/build.sh).  Prints TAP, each
# line prefixed with "@@TAP@@ " so tests/rig/run-tests.sh can pick it out of
# the console noise.  Guest output goes to /share/results/$RIG_CONFIG/<case>.log.
#
# Adding a case:
#     expect_out 'REGEX'        # optional checks, applied to the next run_case
#     expect_err_lines N
#     expect_file PATH
#     run_case NAME EXPECTED_STATUS COMMAND [ARGS...]
# COMMAND is usually `lkvm run ...` or the `guest` helper:
#     guest CPUS ACTION [extra lkvm options...]
# which boots guest/Image with guest/initrd.img, -m 256, and
# -p "quiet lkvm.test=ACTION"; the guest's /init prints
# "GUEST-INIT-OK cpus=N test=ACTION" and then does ACTION (poweroff, reboot,
# big, demo, panic, hang, shell).  Every lkvm run is under `timeout`.
#
# Usage: cases.sh [demo | CASE-NAME-GLOB...]

SHARE=${SHARE:-/share}
CONFIG=${RIG_CONFIG:-default}
RES=$SHARE/results/$CONFIG
KERNEL=$SHARE/guest/Image
INITRD=$SHARE/guest/initrd.img
BIG_INITRD=$SHARE/guest/initrd-big.img
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
LKVM_BIN=$SHARE/bin/lkvm
M='@@TAP@@'

mkdir -p "$RES"

# ---------------------------------------------------------------- helpers
n=0
nfail=0
CHECKS=""
FILTER="$*"

tap() { echo "$M $*"; }

lkvm() {
	# TERM first; KILL if lkvm ignores it
	timeout -s KILL $((CASE_TIMEOUT + 15)) \
		timeout "$CASE_TIMEOUT" "$LKVM_BIN" "$@"
}

# guest CPUS ACTION [extra lkvm options]
guest() {
	_cpus=$1 _act=$2
	shift 2
	lkvm run -k "$KERNEL" -i "$INITRD" -m 256 -c "$_cpus" \
		-p "quiet lkvm.test=$_act" "$@"
}

# big_guest CPUS: the >64 MiB initramfs
big_guest() {
	lkvm run -k "$KERNEL" -i "$BIG_INITRD" -m 512 -c "$1" \
		-p "quiet lkvm.test=big"
}

expect_out() { CHECKS="$CHECKS
out $1"; }
expect_err_lines() { CHECKS="$CHECKS
errlines $1"; }
expect_file() { CHECKS="$CHECKS
file $1"; }

selected() {
	[ -z "$FILTER" ] && return 0
	set -f
	for _p in $FILTER; do
		# shellcheck disable=SC2254
		case "$1" in $_p) set +f; return 0 ;; esac
	done
	set +f
	return 1
}

# run_case NAME EXPECTED_STATUS COMMAND...
run_case() {
	_name=$1 _want=$2
	shift 2
	_checks=$CHECKS
	CHECKS=""
	selected "$_name" || return 0
	n=$((n + 1))
	_out=$RES/$_name.out _err=$RES/$_name.err _log=$RES/$_name.log
	_t0=$(cut -d' ' -f1 /proc/uptime)
	"$@" >"$_out" 2>"$_err" </dev/null
	_st=$?
	_t1=$(cut -d' ' -f1 /proc/uptime)
	_secs=$(awk "BEGIN{printf \"%.1f\", $_t1 - $_t0}")
	{ echo "\$ $*"; cat "$_out"; echo "--- stderr:"; cat "$_err";
	  echo "--- exit status $_st, ${_secs}s"; } >"$_log"
	_why=""
	if [ "$_st" != "$_want" ]; then
		case "$_st" in
		124|143) _why="timed out after ${CASE_TIMEOUT}s (status $_st), expected $_want" ;;
		*) _why="exit status $_st, expected $_want" ;;
		esac
	fi
	_oldifs=$IFS
	IFS='
'
	for _c in $_checks; do
		IFS=$_oldifs
		_kind=${_c%% *} _arg=${_c#* }
		case "$_kind" in
		out)
			grep -q -e "$_arg" "$_out" ||
				_why="${_why:+$_why; }output lacks /$_arg/" ;;
		errlines)
			_l=$(wc -l <"$_err")
			[ "$_l" -eq "$_arg" ] ||
				_why="${_why:+$_why; }$_l lines on stderr, expected $_arg" ;;
		file)
			[ -s "$_arg" ] ||
				_why="${_why:+$_why; }$_arg missing or empty" ;;
		esac
	done
	IFS=$_oldifs
	if [ -z "$_why" ]; then
		tap "ok $n - $_name (${_secs}s)"
	else
		nfail=$((nfail + 1))
		tap "not ok $n - $_name"
		tap "# $_why"
		tap "# --- $_log (last 40 lines):"
		tail -n 40 "$_log" | sed "s/^/$M #   /"
	fi
}

# ---------------------------------------------------------------- demo
if [ "$1" = demo ]; then
	echo "rig: running the demo guest (lkvm run -c 2 -m 256, full console)"
	"$LKVM_BIN" run -k "$KERNEL" -i "$INITRD" -m 256 -c 2 -p "lkvm.test=demo"
	echo "rig: lkvm exited with status $?"
	exit 0
fi

# ---------------------------------------------------------------- bench
# Boot figures: time from starting lkvm to the guest's first console byte
# and to its init (quiet console, 1 vCPU, 256 MiB), over 5 runs each, and
# lkvm's own peak memory (peak RSS less resident guest RAM, from --debug).
if [ "$1" = bench ]; then
	echo "bench: boot to init, 1 vCPU, 256 MiB, serial console, quiet"
	for i in 1 2 3 4 5; do
		"$SHARE/bin/bench-run" GUEST-INIT-OK "$LKVM_BIN" run -k "$KERNEL" \
			-i "$INITRD" -m 256 -p "quiet lkvm.test=poweroff" </dev/null
	done
	echo "bench: full console (earlycon): first byte is the kernel's first line"
	for i in 1 2 3; do
		"$SHARE/bin/bench-run" GUEST-INIT-OK "$LKVM_BIN" run -k "$KERNEL" \
			-i "$INITRD" -m 256 -p "lkvm.test=poweroff" </dev/null
	done
	echo "bench: boot to init, 4 vCPUs"
	for i in 1 2 3; do
		"$SHARE/bin/bench-run" GUEST-INIT-OK "$LKVM_BIN" run -k "$KERNEL" \
			-i "$INITRD" -m 256 -c 4 -p "quiet lkvm.test=poweroff" </dev/null
	done
	for t in mmio pci; do
		echo "bench: boot to init with a virtio device (--rng), $t transport"
		for i in 1 2 3; do
			"$SHARE/bin/bench-run" GUEST-INIT-OK "$LKVM_BIN" run \
				-k "$KERNEL" -i "$INITRD" -m 256 --rng \
				--virtio-transport $t -p "quiet lkvm.test=poweroff" </dev/null
		done
	done
	echo "bench: lkvm's own memory (--debug)"
	"$LKVM_BIN" run -k "$KERNEL" -i "$INITRD" -m 256 --debug \
		-p "quiet lkvm.test=poweroff" </dev/null 2>&1 | grep "peak RSS"
	echo "bench: virtio-rng, 4000 reads of 64 bytes (about one request each)"
	# exits per request: the bench run's exits less a plain boot's
	for t in mmio pci; do
		for act in poweroff rngbench; do
			"$LKVM_BIN" run -k "$KERNEL" -i "$INITRD" -m 256 --rng \
				--debug --virtio-transport $t \
				-p "quiet lkvm.test=$act" </dev/null \
				>"$RES/rngbench-$t-$act.out" 2>&1
		done
		o=$RES/rngbench-$t-rngbench.out b=$RES/rngbench-$t-poweroff.out
		secs=$(sed -n 's/.*GUEST-RNGBENCH reads=4000 secs=\([0-9.]*\).*/\1/p' "$o")
		reqs=$(sed -n 's/.*virtio-rng: \([0-9]*\) requests.*/\1/p' "$o")
		breqs=$(sed -n 's/.*virtio-rng: \([0-9]*\) requests.*/\1/p' "$b")
		exits=$(sed -n 's/.*vCPU exits to userspace: \([0-9]*\).*/\1/p' "$o")
		bexits=$(sed -n 's/.*vCPU exits to userspace: \([0-9]*\).*/\1/p' "$b")
		awk -v t="$t" -v s="$secs" -v r="$reqs" -v br="$breqs" \
			-v e="$exits" -v be="$bexits" 'BEGIN {
			r -= br; e -= be
			if (s > 0 && r > 0)
				printf "virtio-%s: %d requests in %.2fs: %.0f requests/s, %.3f vCPU exits to userspace per request\n", t, r, s, r / s, e / r;
			else
				printf "virtio-%s: no result (see results)\n", t }'
	done
	exit 0
fi

# ---------------------------------------------------------------- cases
tap "# config $CONFIG, kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) host cpus"

# the emulated host itself
dmesg | grep -i -e 'kvm' -e 'vgic' | grep -v 'command line' | tail -n 12 | sed "s/^/$M # host: /"
run_case host-dev-kvm 0 test -c /dev/kvm

expect_out 'GUEST-INIT-OK cpus=1 '
run_case boot-1cpu-poweroff 0 guest 1 poweroff

expect_out 'GUEST-INIT-OK cpus=4 '
run_case boot-4cpus 0 guest 4 poweroff

expect_out 'GUEST-REBOOT'
run_case reboot-exit-3 3 guest 1 reboot

# corrupt kernels: one line on stderr, exit 1
head -c 4096 /dev/urandom >/tmp/random.img
expect_err_lines 1
run_case bad-kernel-random 1 lkvm run -k /tmp/random.img -i "$INITRD" -m 256 -c 1

head -c 40 "$KERNEL" >/tmp/truncated-header.img
expect_err_lines 1
run_case bad-kernel-truncated-header 1 lkvm run -k /tmp/truncated-header.img -i "$INITRD" -m 256 -c 1

# the first MiB of a 32 MiB Image: the header is intact, the rest missing
head -c 1048576 "$KERNEL" >/tmp/truncated.img
expect_err_lines 1
run_case bad-kernel-truncated 1 lkvm run -k /tmp/truncated.img -i "$INITRD" -m 256 -c 1

expect_err_lines 1
run_case bad-kernel-missing 1 lkvm run -k /nonexistent/Image -i "$INITRD" -m 256 -c 1

expect_err_lines 1
run_case usage-exit-2 2 lkvm run --no-such-option

expect_err_lines 1
run_case usage-bad-cpus 2 lkvm run -k "$KERNEL" -c 0

# the x86 side checks every results/$CONFIG/*.dtb with dtc
rm -f "$RES/guest.dtb"
expect_file "$RES/guest.dtb"
run_case dump-dtb 0 guest 2 poweroff --dump-dtb "$RES/guest.dtb"

# signal_after_boots N SIGNAL CMD...: run CMD in the background, send
# SIGNAL once the guest's init has started N times, return CMD's status.
signal_after_boots() {
	_boots=$1 _sig=$2
	shift 2
	"$@" >"$RES/.bg.out" 2>&1 &
	_pid=$!
	_i=0
	while [ "$_i" -lt $((CASE_TIMEOUT * 10)) ]; do
		[ "$(grep -c GUEST-INIT-OK "$RES/.bg.out")" -ge "$_boots" ] && break
		kill -0 "$_pid" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	_seen=$(grep -c GUEST-INIT-OK "$RES/.bg.out")
	# CMD runs in a subshell under `timeout`s, which exec: signal lkvm
	kill -"$_sig" $(pidof lkvm) 2>/dev/null
	wait "$_pid"
	_st=$?
	cat "$RES/.bg.out"
	if [ "$_seen" -lt "$_boots" ]; then
		echo "signal_after_boots: saw $_seen boots, wanted $_boots" >&2
		return 99
	fi
	return $_st
}

# SIGTERM stops the VM: status 128 + 15, no error output
expect_out 'GUEST-INIT-OK'
expect_err_lines 0
run_case sigterm-exit-143 143 signal_after_boots 1 TERM guest 2 hang

# --reboot restarts the guest after a reset instead of exiting
expect_out 'GUEST-REBOOT'
run_case reboot-restarts 143 signal_after_boots 2 TERM guest 2 reboot --reboot

# a guest panic with panic=-1 resets: status 3
expect_out "Kernel panic"
run_case panic-reset-3 3 lkvm run -k "$KERNEL" -i "$INITRD" -m 256 \
	-p "quiet lkvm.test=panic panic=-1"

# guest RAM from hugetlbfs
if [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
	echo 80 >/proc/sys/vm/nr_hugepages
	mkdir -p /tmp/huge && mount -t hugetlbfs none /tmp/huge 2>/dev/null
	expect_out 'GUEST-INIT-OK'
	run_case hugetlbfs-ram 0 guest 1 poweroff -m 128 --hugetlbfs /tmp/huge
fi

# asking for a GIC the host cannot emulate: one line, exit 1
case "$CONFIG" in
*gicv2) _other=gicv3 ;;
*) _other=gicv2 ;;
esac
expect_err_lines 1
run_case "irqchip-$_other-refused" 1 guest 1 poweroff --irqchip "$_other"

# virtio-mmio: virtio-console as the console (its output is lkvm's stdout)
expect_out 'GUEST-INIT-OK'
expect_out 'GUEST-VIRTIO virtio0 device=0x0003 driver=virtio_console'
expect_out 'GUEST-HVC0-LINE'
expect_out 'GUEST-POWEROFF'
run_case virtio-mmio-console 0 guest 1 virtio --console virtio

# ... and what lkvm reads on stdin reaches the guest through it
feed_input() {
	(_i=0; while [ $_i -lt 120 ]; do echo ping; sleep 0.5; _i=$((_i + 1)); done) | "$@"
}
expect_out 'GUEST-READ ping'
run_case virtio-mmio-console-input 0 feed_input guest 1 input --console virtio

# virtio-rng: 64 KiB from /dev/hwrng; the dtb with virtio nodes must be clean
rm -f "$RES/virtio-mmio.dtb"
expect_out 'GUEST-VIRTIO virtio0 device=0x0004 driver=virtio_rng'
expect_out 'GUEST-HWRNG virtio_rng.0 bytes=65536'
expect_file "$RES/virtio-mmio.dtb"
run_case virtio-mmio-rng 0 guest 2 virtio --rng --dump-dtb "$RES/virtio-mmio.dtb"

# both on one VM: two slots, two SPIs
expect_out 'GUEST-VIRTIO virtio1 device=0x0004 driver=virtio_rng'
expect_out 'GUEST-HWRNG virtio_rng.0 bytes=65536'
expect_out 'GUEST-HVC0-LINE'
run_case virtio-mmio-console-rng 0 guest 2 virtio --console virtio --rng

# virtio-pci: the same devices behind the ECAM host bridge, MSI-X through
# the GICv3 ITS, INTx on GICv2 hosts; the dtb with the pci node must be clean
rm -f "$RES/virtio-pci.dtb"
expect_out 'GUEST-INIT-OK'
expect_out 'GUEST-VIRTIO virtio0 device=0x0003 driver=virtio_console'
expect_out 'GUEST-VIRTIO virtio1 device=0x0004 driver=virtio_rng'
expect_out 'GUEST-HVC0-LINE'
expect_out 'GUEST-HWRNG virtio_rng.0 bytes=65536'
expect_out 'GUEST-POWEROFF'
expect_file "$RES/virtio-pci.dtb"
run_case virtio-pci-console-rng 0 guest 2 virtio --virtio-transport pci \
	--console virtio --rng --dump-dtb "$RES/virtio-pci.dtb"

# how the interrupts arrive: the demo action prints /proc/interrupts
case "$CONFIG" in
*gicv2)
	# INTx: one level-triggered GIC line per device, no MSI
	expect_out 'GIC-0 .* Level *virtio0'
	expect_out 'GIC-0 .* Level *virtio1' ;;
*)
	expect_out 'ITS-MSI.*virtio0-config'
	expect_out 'ITS-MSI.*virtio0-input'
	expect_out 'ITS-MSI.*virtio1-config' ;;
esac
expect_out 'GUEST-POWEROFF'
run_case virtio-pci-interrupts 0 guest 1 demo --virtio-transport pci \
	--console virtio --rng

# the PCI transport with the serial console: only virtio-rng on the bus
expect_out 'GUEST-VIRTIO virtio0 device=0x0004 driver=virtio_rng'
expect_out 'GUEST-HWRNG virtio_rng.0 bytes=65536'
run_case virtio-pci-rng-serial 0 guest 1 virtio --virtio-transport pci --rng

# scripted CI boot runs: --timeout, --expect, --fail-on, --console-log
expect_err_lines 1
run_case ci-timeout-exit-5 5 guest 1 hang --timeout 8

expect_out 'GUEST-INIT-OK'
run_case ci-expect-exit-0 0 guest 1 hang --expect 'GUEST-INIT-OK' \
	--expect 'test=hang' --timeout 50

expect_err_lines 1
run_case ci-expect-unmet-exit-7 7 guest 1 poweroff --expect 'NEVER-PRINTED'

expect_err_lines 1
run_case ci-fail-on-exit-6 6 lkvm run -k "$KERNEL" -i "$INITRD" -m 256 \
	-p "quiet lkvm.test=panic" --fail-on 'Kernel panic' --timeout 50

# the log holds the console even with stdout thrown away
console_log_case() {
	guest 1 poweroff --console-log "$RES/console.log" >/dev/null &&
		grep -q 'GUEST-INIT-OK' "$RES/console.log"
}
rm -f "$RES/console.log"
expect_file "$RES/console.log"
run_case ci-console-log 0 console_log_case

expect_out "GUEST-BIG-SHA256 $(cat "$SHARE/guest/big.sha256")"
run_case big-initrd-70M 0 big_guest 1

tap "1..$n"
tap "# done: $((n - nfail)) ok, $nfail not ok"
