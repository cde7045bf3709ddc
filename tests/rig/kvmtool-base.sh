#!/bin/sh
# make bench's base for side-by-side figures with kvmtool:
#   make kvmtool && make bench BENCH_BASE=tests/rig/kvmtool-base.sh
# (tests/rig/build.sh installs build/deps/kvmtool/kvmtool as
# /share/kvmtool). kvmtool with its own
# defaults, less the user-mode NIC it adds when no -n is given, so that
# both VMMs give the guest the same devices (lkvm adds no NIC).
#
# `sandbox [OPTS] -- CMD`: lkvm's `sandbox -- CMD` (no -k) translated into
# kvmtool's own sandbox with the same kernel, RAM and vCPUs:
#   kvmtool sandbox -k /boot/vmlinuz-$(uname -r) -i SHIM -d kvmtool-sb \
#       -m 256 -c 1 -n mode=none [OPTS] -- CMD
# kvmtool boots a 9p root (tag /dev/root, ~/.lkvm/kvmtool-sb made by
# `kvmtool setup`) that the kernel mounts itself; the distribution kernel
# has virtio and 9p as modules, so SHIM is an initramfs (built here at the
# first call, cached in /tmp/kvmtool-sb) that loads them, mounts the root
# as the kernel would (rootfstype, rootflags, rw from the command line)
# and switch_roots into the init= kvmtool gave (/virt/init, kvmtool's).
# The kernel is used as is when it is an Image, unpacked once into /tmp
# when gzip. kvmtool's sandbox exits 0 whatever CMD's status (its init
# reboots after CMD); this wrapper exits 125 if the shim did not reach
# the root (it leaves /virt/.shim-ok in the root just before switch_root).
# Environment: KVMTOOL (default /share/kvmtool), KVMTOOL_SB_CACHE (default
# /tmp/kvmtool-sb), LKVM_KERNEL (the kernel, as for lkvm sandbox),
# KVMTOOL_SB_PARAMS (guest parameters given as -p before OPTS; default
# none: kvmtool's own command line, whose kernel log goes to its 8250
# console in full, where lkvm's sandbox defaults to "quiet loglevel=0
# panic=-1 cryptomgr.notests" on hvc0).
KT=${KVMTOOL:-/share/kvmtool}
SB_PARAMS=${KVMTOOL_SB_PARAMS-}

case "$1" in
run) shift; exec "$KT" run -n mode=none "$@" ;;
sandbox) ;;
*) exec "$KT" "$@" ;;
esac
shift

CACHE=${KVMTOOL_SB_CACHE:-/tmp/kvmtool-sb}
ROOTNAME=kvmtool-sb
KVER=$(uname -r)
# the transport's module: kvmtool's default on arm64 is virtio-pci
TRANSPORT_MOD=virtio_pci
case " $* " in
*" --virtio-transport mmio"* | *" --virtio-transport=mmio"*) TRANSPORT_MOD=virtio_mmio ;;
esac
SHIM=$CACHE/shim-$KVER-$TRANSPORT_MOD.cpio

sbfail() {
	echo "kvmtool-sb: $*" >&2
	[ -n "${_st:-}" ] && rm -rf "$_st"
	exit 125
}

# mkshim: $SHIM, the initramfs: static busybox, the modules (from
# modules.dep, in load order, uncompressed), /init
mkshim() {
	_md=/lib/modules/$KVER
	[ -r "$_md/modules.dep" ] || sbfail "no $_md/modules.dep"
	_st=$CACHE/shim-root.$$
	rm -rf "$_st"
	mkdir -p "$_st/bin" "$_st/dev" "$_st/proc" "$_st/newroot" "$_st/m" ||
		sbfail "cannot create $_st"
	# a static busybox (the rig's /bin/busybox)
	_bb=/bin/busybox
	[ -x "$_bb" ] || _bb=$(which busybox)
	cp "$_bb" "$_st/bin/busybox" || sbfail "no busybox"
	ln -s busybox "$_st/bin/sh"
	mknod "$_st/dev/console" c 5 1 || sbfail "mknod"
	: >"$_st/modules.list"
	_seen=" "
	# resolve REL-PATH: its dependencies first, then itself
	resolve() {
		case "$_seen" in *" $1 "*) return 0 ;; esac
		for _d in $(sed -n "s|^$1: *||p" "$_md/modules.dep"); do
			resolve "$_d"
		done
		_seen="$_seen$1 "
		_b=$(basename "$1")
		_b=${_b%.xz}; _b=${_b%.gz}; _b=${_b%.zst}
		case "$1" in
		*.xz) xz -dc "$_md/$1" >"$_st/m/$_b" ;;
		*.gz) gzip -dc "$_md/$1" >"$_st/m/$_b" ;;
		*.zst) zstd -qdc "$_md/$1" >"$_st/m/$_b" ;;
		*) cp "$_md/$1" "$_st/m/$_b" ;;
		esac || sbfail "cannot copy module $1"
		echo "$_b" >>"$_st/modules.list"
	}
	for _m in $TRANSPORT_MOD 9pnet_virtio 9p; do
		_p=$(grep -E "^([^:]*/)?$_m\.ko(\.xz|\.gz|\.zst)?:" "$_md/modules.dep" | cut -d: -f1)
		if [ -z "$_p" ]; then
			grep -qE "(^|/)$_m\.ko\$" "$_md/modules.builtin" 2>/dev/null && continue
			sbfail "module $_m not in $_md/modules.dep"
		fi
		resolve "$_p"
	done
	cat >"$_st/init" <<'EOF'
#!/bin/sh
# kvmtool sandbox shim: load the virtio and 9p modules, mount the 9p root
# as the kernel would have (kvmtool's root=/dev/root rootfstype rootflags
# rw init=), switch_root into its init
export PATH=/bin
/bin/busybox mount -t proc proc /proc
fstype=9p flags=trans=virtio,version=9p2000.L mode=ro init=/sbin/init
root=/dev/root
for w in $(/bin/busybox cat /proc/cmdline); do
	case "$w" in
	root=*) root=${w#root=} ;;
	rootfstype=*) fstype=${w#rootfstype=} ;;
	rootflags=*) flags=${w#rootflags=} ;;
	init=*) init=${w#init=} ;;
	rw) mode=rw ;;
	ro) mode=ro ;;
	esac
done
/bin/busybox umount /proc
for m in $(/bin/busybox cat /modules.list); do
	/bin/busybox insmod "/m/$m" || echo "kvmtool-shim: insmod $m failed"
done
i=0
until /bin/busybox mount -t "$fstype" -o "$mode,$flags" "$root" /newroot; do
	i=$((i + 1))
	if [ $i -ge 50 ]; then
		echo "kvmtool-shim: cannot mount $root ($fstype, $flags)"
		/bin/busybox poweroff -f
	fi
	/bin/busybox sleep 0.02
done
: >/newroot/virt/.shim-ok
exec /bin/busybox switch_root /newroot "$init"
EOF
	chmod 755 "$_st/init"
	(cd "$_st" && find . -mindepth 1 | sort | cpio -o -H newc) \
		>"$SHIM.tmp" 2>/dev/null || sbfail "cpio"
	mv -f "$SHIM.tmp" "$SHIM"
	rm -rf "$_st"
}

# the kernel lkvm sandbox boots: $LKVM_KERNEL or the running kernel's; a
# gzip one is unpacked once (kvmtool on arm64 loads an Image)
KERNEL=${LKVM_KERNEL:-/boot/vmlinuz-$KVER}
mkdir -p "$CACHE" || sbfail "cannot create $CACHE"
if [ "$(head -c 2 "$KERNEL" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
	_ki=$CACHE/Image-$(basename "$KERNEL")
	if [ ! -s "$_ki" ]; then
		gzip -dc "$KERNEL" >"$_ki.tmp" && mv -f "$_ki.tmp" "$_ki" ||
			sbfail "cannot unpack $KERNEL"
	fi
	KERNEL=$_ki
fi
[ -s "$SHIM" ] || mkshim
# the root: `kvmtool setup NAME` (~/.lkvm/NAME); -d NAME (not a path)
# makes kvmtool take it as its own rootfs: init=/virt/init, the sandbox
# script, hostfs at /host
ROOTDIR=$HOME/.lkvm/$ROOTNAME
if [ ! -d "$ROOTDIR/virt" ]; then
	"$KT" setup "$ROOTNAME" >/dev/null 2>&1 || sbfail "kvmtool setup $ROOTNAME failed"
fi
# kvmtool writes the command into ./guest/sandbox.sh (relative path)
mkdir -p guest || sbfail "cannot create ./guest in $(pwd)"
rm -f "$ROOTDIR/virt/.shim-ok"
[ -n "$SB_PARAMS" ] && set -- -p "$SB_PARAMS" "$@"
"$KT" sandbox -k "$KERNEL" -i "$SHIM" -d "$ROOTNAME" -m 256 -c 1 \
	-n mode=none "$@"
st=$?
[ $st = 0 ] && [ ! -e "$ROOTDIR/virt/.shim-ok" ] &&
	sbfail "the guest did not reach its root (shim failed)"
exit $st
