#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's kernel image for KVER and its stock modules, unpacked into
# VMDIR/image (never installed), unless already there.  The packages and
# the suite come from tools/build/kernels.sh: the host's own apt for its
# suite, a private apt configuration (debian-apt.sh) for the others.  A
# kernel packaged the newer way (vmlinuz and modules in /usr/lib/modules)
# gets the links that make it look like the older (/boot, /lib/modules).
#
#   fetch-image.sh VMDIR KVER
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vm=$1
kver=$2
img=$vm/image
stamp=$img/.kvm-msix-image
[ "$(cat "$stamp" 2>/dev/null)" = "$kver" ] && exit 0

pkgs=$("$here/../build/kernels.sh" get "$kver" image)
apt=$("$here/../build/kernels.sh" apt "$kver")
echo "  FETCH   ${pkgs//,/ }"
rm -rf "$vm/deb" "$img"
mkdir -p "$vm/deb"
# The host's suite: the machine's own apt configuration, whatever the caller's.
if [ -n "$apt" ]; then
	export APT_CONFIG=$apt
else
	unset APT_CONFIG
fi
# shellcheck disable=SC2086
(cd "$vm/deb" && apt-get download -qq ${pkgs//,/ } 2>&1 |
	grep -v '^W: Download is performed unsandboxed' || true)
for p in ${pkgs//,/ }; do
	dpkg-deb -x "$vm/deb/${p}"_*.deb "$img"
done
rm -rf "$vm/deb"
if [ ! -e "$img/boot/vmlinuz-$kver" ] && [ -e "$img/usr/lib/modules/$kver/vmlinuz" ]; then
	mkdir -p "$img/boot"
	ln -s "../usr/lib/modules/$kver/vmlinuz" "$img/boot/vmlinuz-$kver"
fi
if [ ! -e "$img/lib/modules/$kver" ] && [ -d "$img/usr/lib/modules/$kver" ]; then
	mkdir -p "$img/lib/modules"
	ln -s "../../usr/lib/modules/$kver" "$img/lib/modules/$kver"
fi
[ -e "$img/boot/vmlinuz-$kver" ] || { echo "$0: no vmlinuz-$kver in ${pkgs//,/ }" >&2; exit 1; }
echo "$kver" > "$stamp"
