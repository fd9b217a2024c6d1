#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make qemu: fetch Debian's qemu source package, build it as Debian ships it
# (stock) and with tools/qemu/patches applied (patched), for x86_64 with KVM
# only, into
#	$BUILD/qemu/stock/qemu-system-x86_64
#	$BUILD/qemu/patched/qemu-system-x86_64
# Sources come with apt from the machine's own configured Debian mirror
# (sid's deb-src; meson >= 1.5 from bookworm-backports): see debian-apt.sh.
# Rebuilds are incremental; a changed series is re-applied on the pristine
# tree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$(cd "$here/../.." && pwd)/build}
QEMU_VERSION=${QEMU_VERSION:-1:10.2.2+ds-1}
top=$BUILD/qemu
ver=${QEMU_VERSION#*:}
ver=${ver%-*}
src=$top/src/qemu-$ver
mkdir -p "$top/src"

"$here/debian-apt.sh" "$top/apt"
export APT_CONFIG=$top/apt/apt.conf

# meson from bookworm-backports, unpacked, never installed.
if [ ! -d "$top/meson/usr/lib/python3/dist-packages/mesonbuild" ]; then
	echo "  APT     meson (bookworm-backports)"
	rm -rf "$top/meson" "$top"/meson_*.deb
	(cd "$top" && apt-get download -qq meson/bookworm-backports 2>&1 |
		grep -v unsandboxed || true)
	dpkg-deb -x "$top"/meson_*.deb "$top/meson"
fi
export PYTHONPATH=$top/meson/usr/lib/python3/dist-packages

# The source package, unpacked with Debian's patches, as a git tree whose
# first commit (tag "debian") is the package.
if ! git -C "$src" rev-parse -q --verify debian >/dev/null 2>&1; then
	echo "  APT     source qemu=$QEMU_VERSION (sid)"
	rm -rf "$src" "$top/src/dl"
	mkdir -p "$top/src/dl"
	(cd "$top/src/dl" &&
	 apt-get source -qq --download-only "qemu=$QEMU_VERSION" 2>&1 |
		grep -v unsandboxed || true)
	# apt checked the files against the signed Release; no keyring here
	dpkg-source -q --no-check -x "$top"/src/dl/qemu_*.dsc "$src" >/dev/null
	git -C "$src" init -q
	git -C "$src" add -A -f .
	git -C "$src" -c user.name=kvm-msix -c user.email=kvm-msix@invalid \
		commit -q -m "qemu $QEMU_VERSION (Debian source package)"
	git -C "$src" tag debian
	git -C "$src" worktree add -q "$top/src/patched" debian
fi

# The series, re-applied whenever it changes.  "git checkout" rewrites only
# the files that differ, so ninja rebuilds only what the series touches.
stamp=$top/src/patched/.kvm-msix-series
sum=$(cat "$here"/patches/*.patch | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
	echo "  PATCH   tools/qemu/patches on qemu $ver"
	git -C "$top/src/patched" am --abort >/dev/null 2>&1 || true
	git -C "$top/src/patched" checkout -q -f --detach debian
	git -C "$top/src/patched" -c user.name=kvm-msix \
		-c user.email=kvm-msix@invalid am -q "$here"/patches/*.patch
	echo "$sum" > "$stamp"
fi

configure_args=(--target-list=x86_64-softmmu --without-default-features
	--enable-kvm --disable-tcg --enable-fdt=system --enable-slirp
	--enable-vhost-net --enable-vhost-kernel --disable-docs
	--disable-rust --disable-install-blobs)

for flavour in stock patched; do
	tree=$src
	[ "$flavour" = patched ] && tree=$top/src/patched
	out=$top/$flavour
	if [ ! -e "$out/build.ninja" ]; then
		echo "  CONFIG  qemu $ver ($flavour)"
		mkdir -p "$out"
		(cd "$out" && "$tree/configure" "${configure_args[@]}" \
			> "$out/configure.log" 2>&1) ||
			{ tail -20 "$out/configure.log"; exit 1; }
	fi
	echo "  NINJA   qemu $ver ($flavour)"
	ninja -C "$out" -j"$(nproc)" qemu-system-x86_64 > "$out/ninja.log" 2>&1 ||
		{ grep -B2 -A12 -m3 'error' "$out/ninja.log"; exit 1; }
done
