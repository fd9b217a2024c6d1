#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Toolchain chroots for the kernels that the host's compiler did not build
# (tools/build/kernels.sh, column CHROOT): a minbase debootstrap of that
# Debian suite from the machine's own mirror, with what an out-of-tree
# module build needs and the kernel's headers packages, cached in
# CHROOTS/SUITE (default build/chroots) and reused while its stamp says it
# holds the same packages.  The machine's own package set is not touched.
#
#   chroot.sh create SUITE CC          debootstrap SUITE with compiler CC
#   chroot.sh headers SUITE KVER       add linux-headers-KVER (unpacked from
#                                      the suite's debs, not installed: the
#                                      package depends on the image)
#   chroot.sh run SUITE DIR... -- CMD  run CMD in the chroot, in the current
#                                      directory, with each DIR bind-mounted
#                                      at its own absolute path
#
# "run" mounts in a private mount namespace (unshare), so nothing it mounts
# is ever seen outside it and everything is gone when it ends, however it
# ends; it also unmounts on the way out (trap).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
CHROOTS=${CHROOTS:-$project/build/chroots}

usage() {
	echo "usage: $0 create SUITE CC | headers SUITE KVER | run SUITE DIR... -- CMD..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
suite=$2
root=$CHROOTS/$suite
shift 2

# Everything a module build against a Debian headers package needs, plus
# what headers_install and static selftests need when built in here, and
# sparse for check-static (C=2).
packages() {
	echo "$1" make bc bison flex libelf-dev libssl-dev kmod cpio patch \
	     rsync xz-utils zstd python3 dwarves libc6-dev gcc binutils sparse
}

# Mount what CMD needs, then run it; called by "run" inside its own mount
# namespace.
mounted=()
undo() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" 2>/dev/null || true
	done
}
mnt() {
	mount "$@"
	mounted+=("${*: -1}")
}
inner() {
	local dirs=() d p
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		dirs+=("$1")
		shift
	done
	shift
	trap undo EXIT
	trap "exit 130" INT TERM HUP
	mnt -t proc proc "$root/proc"
	mnt --bind /dev "$root/dev"
	mnt --bind /dev/pts "$root/dev/pts"
	for d in "${dirs[@]}"; do
		[ -d "$d" ] || continue
		d=$(realpath "$d")
		# A DIR inside one already mounted is there already.
		for p in "${mounted[@]}"; do
			case $d/ in "${p#"$root"}"/*) continue 2 ;; esac
		done
		mkdir -p "$root$d"
		mnt --bind "$d" "$root$d"
	done
	local cwd=$PWD
	[ -d "$root$cwd" ] || cwd=/
	# The chroot's own PATH and locale; the rest of the environment
	# (MAKEFLAGS and its jobserver included) passes through.
	PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LC_ALL=C.UTF-8 \
		chroot "$root" /bin/sh -c 'cd "$1" && shift && "$@"' sh "$cwd" "$@"
}

# One make at a time creates or changes a chroot.
lock() {
	mkdir -p "$CHROOTS"
	exec 9> "$CHROOTS/.$suite.lock"
	flock 9
}

case $cmd in
create)
	[ $# -eq 1 ] || usage
	cc=$1
	lock
	want=$(packages "$cc")
	stamp=$root/.kvm-msix-chroot
	if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		exit 0
	fi
	uri=$("$here/debian-apt.sh" --uri)
	if [ ! -e "$root/.kvm-msix-debootstrap" ]; then
		echo "  CHROOT  debootstrap $suite into ${root#"$project"/}"
		start=$(date +%s)
		rm -rf "$root"
		mkdir -p "$root"
		debootstrap --variant=minbase --components=main "$suite" "$root" \
			"$uri" > "$CHROOTS/$suite.debootstrap.log" 2>&1 || {
			tail -20 "$CHROOTS/$suite.debootstrap.log" >&2
			exit 1
		}
		# Security updates of the suite's compiler and libraries too.
		suri=$("$here/debian-apt.sh" --security-uri)
		case $suite in
		sid|unstable) ;;
		*) [ -z "$suri" ] ||
			echo "deb $suri $suite-security main" >> "$root/etc/apt/sources.list" ;;
		esac
		echo "  CHROOT  debootstrap $suite took $(($(date +%s) - start)) s"
		touch "$root/.kvm-msix-debootstrap"
	fi
	echo "  CHROOT  apt-get install in $suite: $want"
	start=$(date +%s)
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# The chroot's apt reaches the mirror as the machine's does (a
	# mirror that serves an archive snapshot needs its Release files'
	# Valid-Until ignored; a proxy).
	apt-config dump Acquire::Check-Valid-Until Acquire::http::Proxy \
		Acquire::https::Proxy | grep -v '^Acquire::https\?::Proxy "";' \
		> "$root/etc/apt/apt.conf.d/99kvm-msix-host" || true
	# shellcheck disable=SC2086
	unshare --mount --propagation private -- "$0" __inner "$suite" -- \
		sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		       apt-get install -y -qq --no-install-recommends $want >/dev/null &&
		       apt-get clean"
	echo "$want" > "$stamp"
	echo "  CHROOT  $suite ready in $(($(date +%s) - start)) s," \
	     "$(du -sh --one-file-system "$root" | cut -f1)"
	;;
headers)
	[ $# -eq 1 ] || usage
	kver=$1
	stamp=$root/.kvm-msix-headers-$kver
	[ -e "$stamp" ] && exit 0
	lock
	[ -e "$stamp" ] && exit 0
	[ -e "$root/.kvm-msix-chroot" ] || { echo "$0: no chroot $root" >&2; exit 1; }
	APT_CONFIG=$("$here/kernels.sh" apt "$kver")
	export APT_CONFIG
	# The headers package and the ones holding its common headers and
	# its kbuild scripts and programs.
	mapfile -t pkgs < <(echo "linux-headers-$kver"
		apt-cache show "linux-headers-$kver" | sed -n 's/^Depends: //p' |
		head -n1 | tr ',' '\n' | sed 's/^ *//; s/ .*//' |
		grep -E '^linux-(headers|kbuild)-')
	echo "  CHROOT  ${pkgs[*]} into $suite"
	dl=$root/var/cache/kvm-msix/$kver
	rm -rf "$dl"
	mkdir -p "$dl"
	(cd "$dl" && apt-get download -qq "${pkgs[@]}" 2>&1 |
		grep -v unsandboxed || true)
	for p in "${pkgs[@]}"; do
		ls "$dl/${p}_"*.deb > /dev/null
	done
	for d in "$dl"/*.deb; do
		dpkg-deb -x "$d" "$root"
	done
	rm -rf "$dl"
	touch "$stamp"
	;;
run)
	[ -e "$root/.kvm-msix-chroot" ] || { echo "$0: no chroot $root" >&2; exit 1; }
	exec unshare --mount --propagation private -- "$0" __inner "$suite" "$@"
	;;
__inner)
	inner "$@"
	;;
*) usage ;;
esac
