#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the kvm-msix-dkms Debian package, into
# BUILD/deb/kvm-msix-dkms_VERSION_amd64.deb.
#
# Stages, in BUILD/deb/kvm-msix-VERSION, what the DKMS build needs (the
# project's own kernel files, its Makefile and Kbuild, prepare-tree.sh,
# debian/), then, for each series of tools/deb/kernels that has patches in
# patches/SERIES, those patches and the series' KVM source snapshot
# (snapshot.sh, into ksrc/X.Y.Z, with its line in ksrc/kernels); writes
# VERSION and debian/changelog from git (tools/build/version.sh: 0.N,
# N the commits on the branch) and runs dpkg-buildpackage.  A series with
# no patches yet is left out with a note, so adding one is the patches
# alone once its line is in tools/deb/kernels.
#
#   build-deb.sh PROJECT BUILD
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$1
build=$2
deb=$build/deb
read -r version commit < <("$project/tools/build/version.sh" "$project")
stage=$deb/kvm-msix-$version

rm -rf "$deb"/kvm-msix-[0-9]* "$deb"/kvm-msix_* "$deb"/kvm-msix-dkms_*
mkdir -p "$stage/ksrc" "$stage/patches"
(cd "$project" && cp -a --parents Makefile Kbuild virt/kvm/msix.c virt/kvm/msix.h \
	virt/kvm/msix_decode.h uapi include tools/build/prepare-tree.sh \
	tools/build/version.sh tools/build/kernels.sh tools/deb/dkms-build.sh debian \
	"$stage/")
echo "$version $commit" > "$stage/VERSION"

{
	echo "# Written by make deb (tools/deb/snapshot.sh): the kernels this package"
	echo "# builds for (a regex on the kernel release, as BUILD_EXCLUSIVE_KERNEL),"
	echo "# the Linux version of the KVM snapshot in ksrc/, the series in patches/"
	echo "# and the Debian source version the snapshot is from, tab-separated."
} > "$stage/ksrc/kernels"
packed=()
while read -r series pkg suite <&3; do
	case "$series" in ''|'#'*) continue ;; esac
	if ! compgen -G "$project/patches/$series/*.patch" > /dev/null; then
		echo "  DEB     series $series: no patches/$series, not packed"
		continue
	fi
	line=$("$here/snapshot.sh" "$project" "$build" "$series" "$pkg" "$suite" "$deb/ksrc")
	kversion=$(cut -f2 <<< "$line")
	cp -a "$deb/ksrc/$kversion" "$stage/ksrc/"
	cp -a "$project/patches/$series" "$stage/patches/"
	echo "$line" >> "$stage/ksrc/kernels"
	echo "  DEB     series $series: Linux $kversion ($pkg $(cut -f4 <<< "$line")), kernels $(cut -f1 <<< "$line")"
	packed+=("Linux $kversion (patches/$series)")
done 3< "$here/kernels"
[ ${#packed[@]} -gt 0 ] || { echo "$0: no series to pack" >&2; exit 1; }

date=$(git -C "$project" log -1 --format=%cD 2>/dev/null || date -R)
list=$(printf '%s, ' "${packed[@]}")
cat > "$stage/debian/changelog" <<EOT
kvm-msix ($version) unstable; urgency=medium

  * kvm-msix $version, git $commit: kvm.ko, kvm-amd.ko and kvm-intel.ko
    for ${list%, }.

 -- kvm-msix developers <kvm-msix@invalid>  $date
EOT

echo "  DEB     dpkg-buildpackage kvm-msix $version"
(cd "$stage" && dpkg-buildpackage -b -us -uc > "$deb/dpkg-buildpackage.log" 2>&1) || {
	tail -30 "$deb/dpkg-buildpackage.log" >&2
	exit 1
}
out=$deb/kvm-msix-dkms_${version}_amd64.deb
[ -e "$out" ]
echo "  DEB     ${out#"$project"/} ($(du -k "$out" | cut -f1) KiB)"
