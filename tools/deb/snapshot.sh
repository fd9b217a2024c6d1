#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One kernel series' KVM source snapshot for the DKMS package: the files of
# Debian's linux-source-SERIES that the out-of-tree build reads besides the
# linux-headers package, unpatched, into OUT/VERSION (VERSION the upstream
# X.Y.Z), and a line for the package's ksrc/kernels table on stdout:
#
#	KERNEL-REGEX	VERSION	SERIES	DEBIAN-VERSION
#
# Which files: arch/x86/kvm and virt/kvm whole (the Kbuild compiles them),
# every file patches/SERIES changes (so the series applies), the top-level
# Makefile (the version) and include/trace/define_trace.h (prepare-tree.sh's
# overlay needs it for trace.h's relative include).  Nothing else in the
# tree is read: the rest comes from the headers package.
#
# Which kernels: those Debian built from the same source version, i.e. the
# linux-headers-ABI-common packages of the suite with that version; an ABI
# that spells the upstream version (6.12.117+deb12) stands for every Debian
# release of it (+deb13 too: the same KVM sources), one that does not
# (6.1.0-57) for itself only.  dkms.conf's BUILD_EXCLUSIVE_KERNEL is the
# union of these regexes.
#
# The source package comes from the machine's own Debian mirror with apt:
# the machine's lists for its own suite, a private apt configuration under
# BUILD/deb/apt for another (tools/build/debian-apt.sh); the machine's packages are not
# touched.  An installed /usr/src/linux-source-SERIES.tar.xz of the right
# version is used as it is.
#
#   snapshot.sh PROJECT BUILD SERIES PACKAGE SUITE OUT
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$1
build=$2
series=$3
pkg=$4
suite=$5
out=$6

# apt for the suite: the machine's own, or a private configuration.
host_suite=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
if [ "$suite" != "$host_suite" ]; then
	apt=$build/deb/apt/$suite
	suites=$suite
	case "$suite" in
	sid|unstable|experimental) ;;
	*) [ -z "$("$here/../build/debian-apt.sh" --security-uri)" ] ||
		suites="$suite $suite-security" ;;
	esac
	# shellcheck disable=SC2086
	"$here/../build/debian-apt.sh" "$apt" $suites >&2
	export APT_CONFIG=$apt/apt.conf
fi

debver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
	 sed -n 's/^Version: //p' | head -n1)
[ -n "$debver" ] || { echo "$0: no $pkg in $suite" >&2; exit 1; }

# The files to take, relative to the source's top directory.
# (tar takes a member once: leave out what the KVM directories hold.)
kvm_dirs=(arch/x86/kvm virt/kvm)
mapfile -t files < <({
	printf '%s\n' Makefile include/trace/define_trace.h
	cat /dev/null "$project/patches/$series"/*.patch 2>/dev/null |
		sed -n 's|^--- a/\([^[:space:]]*\).*|\1|p'
	} | grep -v -E "^($(IFS='|'; echo "${kvm_dirs[*]}"))/" | sort -u)
files=("${kvm_dirs[@]}" "${files[@]}")
sum=$(printf '%s\n' "$debver" "${files[@]}" | sha256sum | cut -c1-16)

stamp=$out/.snapshot-$series
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
	echo "  SNAP    $pkg $debver ($suite): ${#files[@]} paths" >&2
	tmp=$build/deb/snap-$series
	rm -rf "$tmp"
	mkdir -p "$tmp"
	top=${pkg}
	members=("${files[@]/#/$top/}")
	installed=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
	if [ "$installed" = "$debver" ] && [ -e "/usr/src/$pkg.tar.xz" ]; then
		tar -xJf "/usr/src/$pkg.tar.xz" -C "$tmp" "${members[@]}"
	else
		dl=$build/deb/dl
		rm -rf "$dl"
		mkdir -p "$dl"
		echo "  APT     download $pkg=$debver ($suite)" >&2
		(cd "$dl" && apt-get download -qq "$pkg=$debver" 2>&1 |
			grep -v unsandboxed >&2 || true)
		dpkg-deb --fsys-tarfile "$dl"/*.deb |
			tar -xOf - "./usr/src/$pkg.tar.xz" |
			tar -xJf - -C "$tmp" "${members[@]}"
		rm -rf "$dl"
	fi
	version=$(awk -F' *= *' '/^VERSION =/ { v = $2 } /^PATCHLEVEL =/ { p = $2 }
				/^SUBLEVEL =/ { s = $2 } END { print v "." p "." s }' \
		  "$tmp/$top/Makefile")
	rm -rf "${out:?}/$version"
	mkdir -p "$out"
	mv "$tmp/$top" "$out/$version"
	rm -rf "$tmp"
	echo "$version" > "$out/.version-$series"
	echo "$sum" > "$stamp"
fi
version=$(cat "$out/.version-$series")

# The kernels Debian built from this source version.
abis=$(apt-cache search --names-only '^linux-headers-.*-common$' | cut -d' ' -f1 |
       xargs -r apt-cache show 2>/dev/null |
       awk -v v="$debver" '/^Package:/ { p = $2 } /^Version:/ && $2 == v { print p }' |
       sed 's/^linux-headers-//; s/-common$//' | sort -u)
[ -n "$abis" ] || { echo "$0: no linux-headers-*-common $debver in $suite" >&2; exit 1; }
esc() { sed 's/[.+]/\\&/g' <<< "$1"; }
regex=$(for a in $abis; do
		case "$a" in
		"$version"+deb*) echo "$(esc "$version")\\+deb[0-9]+" ;;
		*) esc "$a" ;;
		esac
	done | sort -u | paste -sd'|')
printf '^(%s)-\t%s\t%s\t%s\n' "$regex" "$version" "$series" "$debver"
