#!/bin/bash
# Seeds for tests/fuzz/fuzz-qcow2.c: small qcow2 images (v2, v3, small
# clusters, compressed, zero clusters, odd refcount widths) made by qemu-img.
# Usage: tests/fuzz/gen-qcow2-corpus.sh tests/fuzz/corpus/qcow2
set -euo pipefail
out=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

io() { qemu-io -f qcow2 "$@" >/dev/null; }

qemu-img create -q -f qcow2 -o cluster_size=512 v3.qcow2 64k
io -c 'write -P 0xab 0 2k' -c 'write -z 8k 1k' -c 'write -P 1 20k 700' v3.qcow2

qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=512 v2.qcow2 64k
io -c 'write -P 0xcd 1k 3k' v2.qcow2

qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=1 rc1.qcow2 32k
io -c 'write -P 7 0 1k' rc1.qcow2

qemu-img create -q -f qcow2 -o cluster_size=1024,refcount_bits=64 rc64.qcow2 32k
io -c 'write -P 9 5k 2k' rc64.qcow2

head -c 16384 /dev/zero | tr '\0' 'a' > src.raw
printf 'hello qcow2' | dd of=src.raw bs=1 seek=5000 conv=notrunc status=none
qemu-img convert -c -O qcow2 -o cluster_size=4096 src.raw comp.qcow2

qemu-img create -q -f qcow2 -o cluster_size=512 empty.qcow2 1M

for f in *.qcow2; do
	cp "$f" "$out/$f"
done
ls -l "$out"
