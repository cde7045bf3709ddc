#!/bin/bash
# Boot the emulated arm64 host once and run tests/rig/cases.sh MODE inside
# it, showing its console: used by `make demo` (MODE demo) and
# `make bench` (MODE bench).
#
# Usage: tests/rig/host.sh MODE [CONFIG]   (CONFIG default n1-gicv3)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:?usage: host.sh MODE [CONFIG]}
CONFIG=${2:-n1-gicv3}
KVER=$(cat build/deps/kernel/VERSION 2>/dev/null) ||
	{ echo "rig: run 'make deps' first" >&2; exit 1; }
[ -e build/rig/host-initrd.img ] ||
	{ echo "rig: run 'make rig' first" >&2; exit 1; }
case "$CONFIG" in
n1-gicv3) cpu="-cpu neoverse-n1 -M virt,virtualization=on,gic-version=3" ;;
max-gicv3) cpu="-cpu max,pauth-impdef=on -M virt,virtualization=on,gic-version=3" ;;
a57-gicv2) cpu="-cpu cortex-a57 -M virt,virtualization=on,gic-version=2" ;;
*) echo "rig: unknown config $CONFIG" >&2; exit 2 ;;
esac
echo "rig: booting the emulated arm64 host ($CONFIG, qemu TCG) for '$MODE'..."
# shellcheck disable=SC2086
exec timeout --foreground -k 10 "${RIG_TIMEOUT:-900}" qemu-system-aarch64 \
	$cpu -m 3G -smp 2 -nographic -nic none -no-reboot \
	-kernel "build/deps/kernel/boot/vmlinuz-$KVER" \
	-initrd build/rig/host-initrd.img \
	-append "console=ttyAMA0 quiet panic=-1 rig.config=$MODE rig.args=$MODE" \
	-fsdev local,id=share,path="$PWD/build/rig/share",security_model=none \
	-device virtio-9p-device,fsdev=share,mount_tag=share \
	</dev/null
