#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian chroot for make check-deb, made once with debootstrap and kept as
# a read-only base: DIR/root holds bookworm (minbase) with dkms, Debian's
# linux-image and linux-headers for $KVER (the kernel the package supports)
# and, downloaded but not installed, the headers of $KVER_OTHER (a kernel
# whose KVM sources the package does not carry).  check-deb.sh runs each
# test in a throw-away overlay on top of it, so the base stays clean and a
# run needs no network.
#
# The Debian mirror is the one this machine's apt already uses (its archive
# and its -security URIs, read from /etc/apt/sources*): nothing here names
# a host.  The machine's own package set is not touched.
#
#   chroot.sh DIR        make DIR/root unless it is there already
set -euo pipefail

dir=$1
KVER=${KVER:-6.12.117+deb12-amd64}
KVER_OTHER=${KVER_OTHER:-6.12.115+deb12-amd64}
SUITE=${SUITE:-bookworm}
root=$dir/root
stamp=$root/.kvm-msix-chroot
want="$SUITE $KVER $KVER_OTHER"

if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
uri=$("$here/../build/debian-apt.sh" --uri)
sec=$("$here/../build/debian-apt.sh" --security-uri)

# The base system, once.
if [ ! -e "$root/.kvm-msix-debootstrap" ]; then
	echo "  CHROOT  $SUITE (debootstrap, once) in $root"
	rm -rf "$root"
	mkdir -p "$dir"
	debootstrap --variant=minbase "$SUITE" "$root" "$uri" > "$dir/debootstrap.log" 2>&1 || {
		tail -20 "$dir/debootstrap.log" >&2
		exit 1
	}
	touch "$root/.kvm-msix-debootstrap"
fi
{
	echo "deb $uri $SUITE main"
	echo "deb $uri $SUITE-updates main"
	[ -z "$sec" ] || echo "deb $sec $SUITE-security main"
} > "$root/etc/apt/sources.list"

in_root() {
	unshare --mount --propagation private -- sh -c '
		mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
		exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"' "$root" "$@"
}
echo "  CHROOT  dkms, linux-image and linux-headers-$KVER"
in_root apt-get update -qq
# The image is here for its stock modules; nobody boots it (INITRD=No:
# no initramfs).
in_root env INITRD=No apt-get install -y -qq --no-install-recommends dkms \
	"linux-image-$KVER" "linux-headers-$KVER" > "$dir/apt.log" 2>&1 || {
	tail -20 "$dir/apt.log" >&2
	exit 1
}
in_root apt-get clean
in_root apt-get install -y -qq --no-install-recommends --download-only \
	"linux-headers-$KVER_OTHER" >> "$dir/apt.log" 2>&1
echo "$want" > "$stamp"
