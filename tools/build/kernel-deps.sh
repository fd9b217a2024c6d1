#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What building for KVER needs beyond the host's packages, for a kernel of
# another Debian suite (tools/build/kernels.sh): its linux-source tarball,
# downloaded with a private apt configuration (debian-apt.sh) into
# BUILD/kernel, and its toolchain chroot with its headers (chroot.sh).
# Nothing is installed on the host.  For a kernel of the host's own suite
# install-deps.sh has done it all and this does nothing.
#
#   kernel-deps.sh KVER BUILD
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kver=$1
build=$2

suites=$("$here/kernels.sh" get "$kver" suites)
[ "$suites" != host ] || exit 0
chroot=$("$here/kernels.sh" get "$kver" chroot)
cc=$("$here/kernels.sh" get "$kver" cc)
source=$("$here/kernels.sh" get "$kver" source)

# The source tarball, from the linux-source package of that version.
pkg=${source%%=*}
dst=$build/kernel
if [ "$(cat "$dst/$pkg.version" 2>/dev/null)" != "$source" ]; then
	apt=$("$here/kernels.sh" apt "$kver")
	echo "  APT     $source ($suites)"
	rm -rf "$dst"
	mkdir -p "$dst/deb"
	(cd "$dst/deb" && APT_CONFIG=$apt apt-get download -qq "$source" 2>&1 |
		grep -v unsandboxed || true)
	dpkg-deb --fsys-tarfile "$dst"/deb/"${pkg}"_*.deb |
		tar -xf - -C "$dst" --strip-components=3 "./usr/src/$pkg.tar.xz"
	rm -rf "$dst/deb"
	echo "$source" > "$dst/$pkg.version"
fi

if [ "$chroot" != host ]; then
	"$here/chroot.sh" create "$chroot" "$cc"
	"$here/chroot.sh" headers "$chroot" "$kver"
fi
