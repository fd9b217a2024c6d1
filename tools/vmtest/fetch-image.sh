#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's linux-image-KVER and its stock modules, unpacked into VMDIR/image
# (never installed), unless already there.
#
#   fetch-image.sh VMDIR KVER
set -euo pipefail

vm=$1
kver=$2
img=$vm/image
[ -e "$img/boot/vmlinuz-$kver" ] && exit 0
echo "  FETCH   linux-image-$kver"
rm -rf "$vm/deb" "$img"
mkdir -p "$vm/deb"
(cd "$vm/deb" && apt-get download -qq "linux-image-$kver" 2>&1 |
	grep -v '^W: Download is performed unsandboxed' || true)
dpkg-deb -x "$vm"/deb/linux-image-*.deb "$img"
