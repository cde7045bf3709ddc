#!/bin/bash
# Build ./lkvm as it was at a git revision, for `make bench BASE=REV`:
# the revision's tree is unpacked into OUT/src (no checkout, no
# worktree: the working tree stays as it is) and built there with this
# tree's build/deps; the binary is OUT/lkvm (and OUT/lkvm-slirp, for
# -n mode=user, where the revision has it).
#
# Usage: scripts/build-rev.sh REV OUT
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: build-rev.sh REV OUT} out=${2:?usage: build-rev.sh REV OUT}
if ! git rev-parse -q --verify "$rev^{commit}" >/dev/null; then
	echo "build-rev: '$rev' is no git revision here" >&2
	exit 1
fi
[ -d build/deps ] || { echo "build-rev: run 'make deps' first" >&2; exit 1; }
rm -rf "$out/src" "$out/lkvm"
mkdir -p "$out/src/build"
git archive "$rev" | tar -x -C "$out/src"
ln -s "$(cd build/deps && pwd -P)" "$out/src/build/deps"
id=$(git rev-parse --short "$rev")
echo "build-rev: building lkvm at $rev ($id) in $out/src"
if ! make -C "$out/src" -j2 VERSION="$id" lkvm >"$out/build.log" 2>&1; then
	echo "build-rev: building $rev failed; see $out/build.log" >&2
	exit 1
fi
cp "$out/src/lkvm" "$out/lkvm"
# and, where that revision has it, the lkvm it runs for -n mode=user
rm -f "$out/lkvm-slirp"
if grep -q '^lkvm-slirp:' "$out/src/Makefile"; then
	make -C "$out/src" -j2 VERSION="$id" lkvm-slirp >>"$out/build.log" 2>&1 &&
		cp "$out/src/lkvm-slirp" "$out/lkvm-slirp"
fi
