#!/bin/bash
# Build kvmtool as a static arm64 binary, only to compare lkvm with it in the
# rig (issue 14's figures are against kvmtool b48735e, 2024-08-30,
# "disk/core: Fix memory leakage in open all disks").  No kvmtool code enters
# this tree: its source is unpacked into build/deps/kvmtool-src and the result
# is build/deps/kvmtool/{kvmtool,VERSION}.  `make kvmtool`.
#
# This machine cannot download kvmtool itself (Debian ships no kvmtool in any
# suite and no other network is reached), so the source has to be handed in:
#   KVMTOOL_SRC=DIR                     a kvmtool tree, or
#   build/deps/dl/kvmtool-COMMIT.tar.gz  an archive of one (one top folder),
# else the tree a previous run unpacked.  The commit (a checkout's HEAD, or
# the archive's name) is compared with KVMTOOL_COMMIT (default b48735e) and a
# difference is reported, since the figures are then not comparable.
# libfdt comes from our arm64 sysroot (`make deps`), linked statically.
set -euo pipefail

cd "$(dirname "$0")/.."
DEPS=$(mkdir -p build/deps && cd build/deps && pwd -P)
SRC=$DEPS/kvmtool-src
OUT=$DEPS/kvmtool
SYSROOT=$DEPS/sysroot-arm64
WANT=${KVMTOOL_COMMIT:-b48735e5d562eaffb96cf98a91da212176f1534c}
CROSS=${CROSS_COMPILE:-aarch64-linux-gnu-}
JOBS=${JOBS:-2}

log() { echo "kvmtool: $*" >&2; }
fail() { log "$*"; exit 1; }

# the tree into $SRC, its commit into $SRC/.kvmtool-version: from
# KVMTOOL_SRC, else an archive in build/deps/dl (named for its commit), else
# the tree a previous run left there
fetch_source() {
	local tgz version=unknown
	tgz=$(ls "$DEPS"/dl/kvmtool-*.tar.gz 2>/dev/null | head -n1 || true)
	if [ -n "${KVMTOOL_SRC:-}" ]; then
		[ -f "$KVMTOOL_SRC/Makefile" ] ||
			fail "KVMTOOL_SRC=$KVMTOOL_SRC: no kvmtool Makefile there"
		# only the tree's own .git says its commit, not an enclosing repo
		[ -e "$KVMTOOL_SRC/.git" ] &&
			version=$(git -C "$KVMTOOL_SRC" rev-parse HEAD)
		rm -rf "$SRC"
		cp -a "$KVMTOOL_SRC" "$SRC"
	elif [ -n "$tgz" ]; then
		version=$(basename "$tgz" .tar.gz)
		version=${version#kvmtool-}
		rm -rf "$SRC"
		mkdir -p "$SRC"
		tar -xzf "$tgz" -C "$SRC" --strip-components=1
	elif [ -f "$SRC/Makefile" ]; then
		return
	else
		fail "no kvmtool source: set KVMTOOL_SRC=DIR or put" \
			"build/deps/dl/kvmtool-$WANT.tar.gz (not downloadable here)"
	fi
	echo "$version" >"$SRC/.kvmtool-version"
}

# kvmtool's LIBFDT_DIR wants libfdt.a and its headers in one folder
libfdt_dir() {
	local dir=$DEPS/kvmtool-libfdt
	[ -f "$SYSROOT/usr/lib/aarch64-linux-gnu/libfdt.a" ] ||
		fail "missing $SYSROOT libfdt.a: run 'make deps' first"
	mkdir -p "$dir"
	ln -sf "$SYSROOT/usr/lib/aarch64-linux-gnu/libfdt.a" "$dir/libfdt.a"
	ln -sf "$SYSROOT"/usr/include/{fdt,libfdt,libfdt_env}.h "$dir/"
	echo "$dir"
}

fetch_source
version=$(cat "$SRC/.kvmtool-version" 2>/dev/null || echo unknown)
case "$version" in
"${WANT:0:7}"*) ;;
*) log "source is at '$version', not $WANT: figures are not comparable" ;;
esac

fdt=$(libfdt_dir)
log "building lkvm-static (ARCH=arm64, make -j$JOBS)"
make -C "$SRC" ARCH=arm64 CROSS_COMPILE="$CROSS" LIBFDT_DIR="$fdt" \
	WERROR=0 -j"$JOBS" lkvm-static >&2
file -L "$SRC/lkvm-static" | grep -q 'ARM aarch64.*statically linked' ||
	fail "$SRC/lkvm-static is not a static arm64 binary"

mkdir -p "$OUT.tmp"
cp "$SRC/lkvm-static" "$OUT.tmp/kvmtool"
echo "$version" >"$OUT.tmp/VERSION"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
log "ready: $OUT/kvmtool ($version, $(stat -c %s "$OUT/kvmtool") bytes)"
