#!/bin/bash
# The x86 side of the rig's gdb-* cases (tests/rig/cases.sh): Debian's
# gdb-multiarch debugs a guest that `lkvm run --gdb 0.0.0.0:1234
# --gdb-wait` runs inside the emulated host, through QEMU's port forward
# (run-tests.sh: 127.0.0.1:PORT here is 10.0.2.15:1234 there).
#
#   gdb-session.sh run READY PORT OUT    the session; gdb's output to OUT
#   gdb-session.sh check OUT READY IMAGE judge OUT (status 0: all good)
#
# READY, written by the case once lkvm listens: "hw=0x..." and "sw=0x..."
# (offsets from _text of start_kernel, hit while booting, and of
# kernel_power_off, hit at the guest's poweroff: the emulated host runs the
# same kernel and reads them from its /proc/kallsyms) and "cpus=N". The
# guest boots with nokaslr: its _text is at KIMAGE_BASE.
# The session: a hardware breakpoint on start_kernel before the guest's
# first instruction, the registers (x0-x30, sp, pc, cpsr, v0), the code at
# PC (compared with IMAGE's bytes there), stepi, the threads (a vCPU
# each), then a software breakpoint on kernel_power_off and on to the
# poweroff. With "attach=1" in READY gdb attaches to a running guest
# instead: attach_cmds() below.
set -u
KIMAGE_BASE=0xffff800008000000

val() { # READY KEY: a hex or decimal value of READY
	sed -n "s/^$2=\(0x[0-9a-f]*\|[0-9]*\)$/\1/p" "$1" | head -n1
}

addr() { # READY KEY: the guest-virtual address of that offset
	local off
	off=$(val "$1" "$2")
	[ -n "$off" ] || return 1
	printf '0x%x' $((KIMAGE_BASE + off))
}

# attach_cmds PORT: gdb attaches to a running guest (it stops), a
# hardware access watchpoint on the word at SP fires (the kernel has no
# data symbols in kallsyms: the stopped code's frame record, read when it
# returns), detach (it runs on), a second gdb attaches, kill (lkvm exits 0)
attach_cmds() {
	cat <<EOF
set pagination off
set confirm off
set width 0
set remotetimeout 60
set architecture aarch64
target remote 127.0.0.1:$1
printf "GDB-ATTACH-PC 0x%lx\n", (unsigned long)\$pc
awatch -l *(unsigned long *)\$sp
continue
printf "GDB-WATCH-PC 0x%lx\n", (unsigned long)\$pc
delete
detach
target remote 127.0.0.1:$1
info threads
kill
EOF
}

session() {
	local ready=$1 port=$2 out=$3 hw sw cmds
	cmds=$(mktemp)
	if [ "$(val "$ready" attach)" = 1 ]; then
		attach_cmds "$port" >"$cmds"
		timeout 300 gdb-multiarch -nx -batch -x "$cmds" >"$out" 2>&1
		echo "GDB-STATUS $?" >>"$out"
		rm -f "$cmds"
		return
	fi
	hw=$(addr "$ready" hw) && sw=$(addr "$ready" sw) ||
		{ echo "gdb-session: $ready lacks hw= or sw=" >"$out"; return 1; }
	cat >"$cmds" <<EOF
set pagination off
set confirm off
set width 0
set remotetimeout 60
set architecture aarch64
target remote 127.0.0.1:$port
info threads
hbreak *$hw
continue
printf "GDB-HW-PC 0x%lx\n", (unsigned long)\$pc
info registers
info registers v0
p/x \$v0.q.u
x/4xw \$pc
printf "GDB-HW-MEM %08x %08x %08x %08x\n", *(unsigned int *)\$pc, *(unsigned int *)(\$pc + 4), *(unsigned int *)(\$pc + 8), *(unsigned int *)(\$pc + 12)
stepi
printf "GDB-STEP-PC 0x%lx\n", (unsigned long)\$pc
delete
break *$sw
continue
printf "GDB-SW-PC 0x%lx\n", (unsigned long)\$pc
x/4xw \$pc
printf "GDB-SW-MEM %08x\n", *(unsigned int *)\$pc
delete
continue
EOF
	timeout 300 gdb-multiarch -nx -batch -x "$cmds" >"$out" 2>&1
	echo "GDB-STATUS $?" >>"$out"
	rm -f "$cmds"
}

# image_words IMAGE OFFSET N: N little-endian words of the kernel Image
image_words() {
	od -A n -t x4 -j "$(($2))" -N "$(($3 * 4))" "$1" | xargs
}

# want OUT PATTERN WHAT: OUT has a line matching PATTERN, else say WHAT
want() {
	grep -q -e "$2" "$1" || { echo "gdb output lacks $3 (/$2/)"; bad=1; }
}

check_attach() {
	local out=$1
	want "$out" "^GDB-ATTACH-PC 0x" "a stop on attach"
	want "$out" "^Hardware access (read/write) watchpoint [0-9]*: " \
		"the watchpoint set"
	want "$out" "hit Hardware access (read/write) watchpoint" "its hit"
	want "$out" "^\\(New v\\|V\\)alue = [0-9]" "the watched value"
	want "$out" "^GDB-WATCH-PC 0x" "the stop at the access"
	want "$out" "^\\[Inferior 1 (Remote target) detached\\]" "the detach"
	sed -n '/^\[Inferior 1 (Remote target) detached\]/,$p' "$out" |
		grep -q "^  *2  *Thread 2 " ||
		{ echo "no second attach (info threads after the detach)"; bad=1; }
	want "$out" "^\\[Inferior 1 (Remote target) killed\\]" "the kill"
}

check() {
	local out=$1 ready=$2 image=$3 hw sw cpus step r
	bad=0
	if [ "$(val "$ready" attach)" = 1 ]; then
		check_attach "$out" "$ready"
		[ "$bad" = 0 ] || { echo "--- gdb's output:"; cat "$out"; }
		return "$bad"
	fi
	hw=$(addr "$ready" hw) && sw=$(addr "$ready" sw) ||
		{ echo "$ready lacks hw= or sw="; return 1; }
	cpus=$(val "$ready" cpus)
	want "$out" "^GDB-HW-PC $hw\$" "the stop at start_kernel ($hw, hbreak)"
	for r in x0 x1 x15 x29 x30 sp pc cpsr fpsr fpcr; do
		want "$out" "^$r  *0x" "register $r in info registers"
	done
	want "$out" "^v0  *{" "register v0 (info registers v0)"
	want "$out" "^GDB-HW-MEM $(image_words "$image" "$(val "$ready" hw)" 4)\$" \
		"the code at start_kernel as in the Image"
	step=$(sed -n 's/^GDB-STEP-PC //p' "$out")
	[ -n "$step" ] && [ "$step" != "$hw" ] ||
		{ echo "stepi did not move PC ($hw -> '${step}')"; bad=1; }
	[ "$(grep -c "^[ *] *[0-9][0-9]*  *Thread " "$out")" = "$cpus" ] ||
		{ echo "info threads: not $cpus threads"; bad=1; }
	want "$out" "^GDB-SW-PC $sw\$" "the stop at kernel_power_off ($sw, break)"
	want "$out" "^GDB-SW-MEM $(image_words "$image" "$(val "$ready" sw)" 1)\$" \
		"the code at kernel_power_off as in the Image (the BRK hidden)"
	want "$out" "exited normally\|Remote connection closed" \
		"the end of the session at the guest's poweroff"
	[ "$bad" = 0 ] || { echo "--- gdb's output:"; cat "$out"; }
	return "$bad"
}

case "${1:-}" in
run) session "$2" "$3" "$4" ;;
check) check "$2" "$3" "$4" ;;
*) echo "usage: gdb-session.sh run READY PORT OUT | check OUT READY IMAGE" >&2
   exit 2 ;;
esac
