#!/bin/bash
# Boot the emulated arm64 host once and run tests/rig/cases.sh MODE inside
# it, showing its console: used by `make demo` (MODE demo) and
# `make bench` (MODE bench; PARTs: boot sandbox 9p memory rng net blk, all
# by default). For bench the emulated host also gets a disk of its own
# (ext4, build/rig/bench-disk.img) so block I/O can be compared with a disk.
#
# Usage: tests/rig/host.sh MODE [CONFIG [PART...]]   (CONFIG default n1-gicv3)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:?usage: host.sh MODE [CONFIG [PART...]]}
CONFIG=${2:-n1-gicv3}
shift $(($# < 2 ? $# : 2))
ARGS=$(IFS=,; echo "$MODE${*:+,$*}")
KVER=$(cat build/deps/kernel/VERSION 2>/dev/null) ||
	{ echo "rig: run 'make deps' first" >&2; exit 1; }
[ -e build/rig/host-initrd.img ] ||
	{ echo "rig: run 'make rig' first" >&2; exit 1; }
case "$CONFIG" in
n1-gicv3) cpu="-cpu neoverse-n1 -M virt,virtualization=on,gic-version=3" ;;
max-gicv3) cpu="-cpu max,pauth-impdef=on,sve-max-vq=4 -M virt,virtualization=on,gic-version=3,mte=on" ;;
a57-gicv2) cpu="-cpu cortex-a57 -M virt,virtualization=on,gic-version=2" ;;
*) echo "rig: unknown config $CONFIG" >&2; exit 2 ;;
esac
disk=()
if [ "$MODE" = bench ]; then
	img=build/rig/bench-disk.img
	rm -f "$img"
	mke2fs -q -F -t ext4 "$img" 512M
	disk=(-drive "if=none,id=bdisk,format=raw,file=$img"
	      -device virtio-blk-device,drive=bdisk)
fi
echo "rig: booting the emulated arm64 host ($CONFIG, qemu TCG) for '$ARGS'..."
# shellcheck disable=SC2086
st=0
timeout --foreground -k 10 "${RIG_TIMEOUT:-900}" qemu-system-aarch64 \
	$cpu -m 3G -smp 2 -nographic -nic none -no-reboot \
	-kernel "build/deps/kernel/boot/vmlinuz-$KVER" \
	-initrd build/rig/host-initrd.img \
	-append "console=ttyAMA0 quiet panic=-1 rig.config=$MODE rig.args=$ARGS" \
	-fsdev local,id=share,path="$PWD/build/rig/share",security_model=none \
	-device virtio-9p-device,fsdev=share,mount_tag=share \
	"${disk[@]}" </dev/null || st=$?
[ "$MODE" = bench ] && rm -f build/rig/bench-disk.img
exit $st
