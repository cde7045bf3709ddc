#!/bin/bash
# `make demo`: boot the emulated arm64 host (n1-gicv3: neoverse-n1, GICv3,
# VHE) and inside it run lkvm with a 2-vCPU demo guest whose init prints a
# banner (uname, cpuinfo, /proc/interrupts) and powers off.  The whole guest
# console is shown.  RIG_TIMEOUT (default 600) bounds the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
KVER=$(cat build/deps/kernel/VERSION 2>/dev/null) ||
	{ echo "demo: run 'make deps' first" >&2; exit 1; }
[ -e build/rig/host-initrd.img ] ||
	{ echo "demo: run 'make rig' first" >&2; exit 1; }
echo "demo: booting the emulated arm64 host (qemu TCG, neoverse-n1, GICv3)..."
exec timeout --foreground -k 10 "${RIG_TIMEOUT:-600}" qemu-system-aarch64 \
	-cpu neoverse-n1 -M virt,virtualization=on,gic-version=3 \
	-m 3G -smp 2 -nographic -nic none -no-reboot \
	-kernel "build/deps/kernel/boot/vmlinuz-$KVER" \
	-initrd build/rig/host-initrd.img \
	-append "console=ttyAMA0 quiet panic=-1 rig.config=demo rig.args=demo" \
	-fsdev local,id=share,path="$PWD/build/rig/share",security_model=none \
	-device virtio-9p-device,fsdev=share,mount_tag=share \
	</dev/null
