#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, with apt, what building and testing kvm-msix needs on Debian 12.
# Does nothing when everything is present already.  For KVER (default: the
# first row of tools/build/kernels.sh) of the host's own suite that includes
# its linux-source and linux-headers packages; a kernel of another suite
# needs debootstrap here and kernel-deps.sh for the rest, which installs
# nothing on the host.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:-$("$here/kernels.sh" default)}

kernel=()
if [ "$("$here/kernels.sh" get "$KVER" suites)" = host ]; then
	kernel=("$("$here/kernels.sh" get "$KVER" source)" "linux-headers-$KVER")
fi

pkgs=(
	make build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
	kmod patch rsync python3 python3-ply zstd
	"${kernel[@]}"
	# kernels of other Debian suites: their toolchain chroots (chroot.sh)
	debootstrap
	qemu-system-x86 busybox-static
	sparse gnuplot-nox ccache
	clang libclang-rt-14-dev
	# make qemu: Debian's qemu source package, built minimal (tools/qemu)
	dpkg-dev git ninja-build python3-venv libglib2.0-dev libfdt-dev
	libslirp-dev libpixman-1-dev zlib1g-dev
	# make deb, make check-deb: the DKMS package and its test chroot
	debhelper dh-dkms debootstrap
)

# Debian 12's default kernel (SERIES=6.1) is built from its own source; its
# selftests still from linux-source-6.12's libkvm.
case $KVER in
6.1.*) pkgs+=(linux-source-6.1) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	     grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "  APT     ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
