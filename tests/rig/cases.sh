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

run_case usage-exit-2 2 lkvm run --no-such-option

# the x86 side checks every results/$CONFIG/*.dtb with dtc
rm -f "$RES/guest.dtb"
expect_file "$RES/guest.dtb"
run_case dump-dtb 0 guest 2 poweroff --dump-dtb "$RES/guest.dtb"

expect_out "GUEST-BIG-SHA256 $(cat "$SHARE/guest/big.sha256")"
run_case big-initrd-70M 0 big_guest 1

tap "1..$n"
tap "# done: $((n - nfail)) ok, $nfail not ok"
