#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The build DKMS runs for kvm-msix-dkms (dkms.conf's MAKE), in DKMS's copy
# of /usr/src/kvm-msix-VERSION: pick the KVM source snapshot and the patch
# series for the kernel DKMS builds for from ksrc/kernels (make deb wrote
# it: tools/deb/snapshot.sh), then build kvm.ko, kvm-amd.ko and
# kvm-intel.ko with the project's Makefile into build/modules/, where
# dkms.conf's BUILT_MODULE_LOCATION finds them.
#
# A kernel the package has no sources for is refused here with a message
# that says which ones it has.  DKMS itself does not get this far for one:
# BUILD_EXCLUSIVE_KERNEL (the same regexes) makes it skip the kernel
# without failing dpkg, and the stock modules stay in use.  This check
# also holds the headers' own version against the snapshot's, for the
# kernels whose release does not spell it (6.1.0-57).
#
#   dkms-build.sh KERNELRELEASE KERNEL-BUILD-DIR
set -euo pipefail

kver=$1
kdir=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
table=$src/ksrc/kernels
read -r pkgver _ < "$src/VERSION"

refuse() {
	echo "kvm-msix: $*" >&2
	echo "kvm-msix: kvm-msix-dkms $pkgver has the KVM sources and patches for:" >&2
	awk -F'\t' '!/^#/ && NF { printf "kvm-msix:   Linux %s (patches/%s, Debian %s): kernels %s\n", $2, $3, $4, $1 }' \
		"$table" >&2
	echo "kvm-msix: the stock kvm.ko, kvm-amd.ko and kvm-intel.ko of $kver stay in use." >&2
	exit 1
}

line=$(awk -F'\t' -v k="$kver" '!/^#/ && NF && k ~ $1 { print; exit }' "$table")
[ -n "$line" ] || refuse "kernel $kver is not supported by this package."
IFS=$'\t' read -r _ version series _ <<< "$line"

[ -e "$kdir/Makefile" ] || refuse "no kernel headers in $kdir for $kver."
have=$(make -s -C "$kdir" kernelversion 2>/dev/null || true)
[ "$have" = "$version" ] ||
	refuse "kernel $kver is Linux ${have:-of unknown version}, its KVM sources here are $version."

echo "kvm-msix: $kver: KVM sources of Linux $version, patches/$series"
make -j"$(nproc)" -o deps modules KVER="$kver" KDIR="$kdir" \
	KSRC="$src/ksrc/$version" SERIES="$series" BUILD="$src/build" -C "$src"
