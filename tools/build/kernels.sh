#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernels kvm-msix builds for: one row per kernel release (KVER), saying
# which series of hooks it takes (patches/SERIES), where its Debian packages
# come from, which compiler builds for it and where that compiler runs.  The
# Makefile, install-deps.sh, kernel-deps.sh and fetch-image.sh all read this
# table and nothing else, so a new kernel is one new row (and, for a new
# series, a patches/SERIES directory).
#
#   kernels.sh list            the supported KVERs, the default first
#   kernels.sh default         the default KVER (the first row)
#   kernels.sh row KVER        the KVER's fields after KVER, space separated
#                              (for the Makefile); fails, listing the
#                              supported KVERs, for any other KVER
#   kernels.sh get KVER FIELD  one field: series suites chroot cc source
#                              image userspace
#   kernels.sh status          for each KVER: are its packages still in its
#                              suites (sid's and -security's move on), and
#                              the newest kernel of its series there
#   kernels.sh apt KVER        prepare the private apt configuration for the
#                              KVER's suites (APT_DIR/SUITES, default
#                              build/apt) and print its apt.conf; prints
#                              nothing for the host's suite
#
# Columns:
#   KVER       uname -r of the kernel
#   SERIES     patches/SERIES holds its hooks into KVM core
#   SUITES     the Debian suites its packages come from, comma separated:
#              "host" is the machine's own apt configuration (packages are
#              installed by install-deps.sh); others use a private apt
#              configuration (debian-apt.sh) and are only downloaded
#   CHROOT     where its modules are compiled: "host", or the suite of a
#              debootstrap chroot (chroot.sh) holding the kernel's compiler
#   CC         the compiler the kernel was built with (the headers
#              package's .kernelvariables names it)
#   SOURCE     the linux-source package (=version when downloaded): its
#              tarball is the tree the hooks are applied to
#   IMAGE      the packages holding its vmlinuz and modules, comma separated
#   USERSPACE  where headers_install, the selftests and the tools (static
#              binaries) are built: "host", or "chroot" when the host's
#              compiler or libc is too old for that source
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APT_DIR=${APT_DIR:-$(cd "$here/../.." && pwd)/build/apt}

# KVER                  SERIES SUITES                 CHROOT CC     SOURCE                        IMAGE                                                                   USERSPACE
table='
6.12.117+deb12-amd64    6.12   host                   host   gcc-12 linux-source-6.12             linux-image-6.12.117+deb12-amd64                                        host
6.12.117+deb13-amd64    6.12   trixie,trixie-security trixie gcc-14 linux-source-6.12=6.12.117-1  linux-image-6.12.117+deb13-amd64                                        host
6.12.118+deb13-amd64    6.12   trixie,trixie-security trixie gcc-14 linux-source-6.12=6.12.118-1  linux-image-6.12.118+deb13-amd64                                        host
6.1.0-57-amd64          6.1    host                   host   gcc-12 linux-source-6.1              linux-image-6.1.0-57-amd64                                              host
7.2.13+deb14-amd64      7.2    sid                    sid    gcc-16 linux-source-7.2=7.2.13-1     linux-base-7.2.13+deb14-amd64,linux-binary-7.2.13+deb14-amd64,linux-modules-7.2.13+deb14-amd64 host
'

rows() { grep -v '^[[:space:]]*$' <<< "$table"; }

list() { rows | awk '{ print $1 }'; }

row() {
	local r
	r=$(rows | awk -v k="$1" '$1 == k { $1 = ""; print substr($0, 2) }')
	if [ -z "$r" ]; then
		{
			echo "kvm-msix: no kernel KVER=$1 in tools/build/kernels.sh; supported:"
			list | sed 's/^/  /'
		} >&2
		return 1
	fi
	echo "$r"
}

get() {
	local fields=(series suites chroot cc source image userspace) line r i
	line=$(row "$1") || return 1
	read -ra r <<< "$line"
	for i in "${!fields[@]}"; do
		if [ "${fields[$i]}" = "$2" ]; then
			echo "${r[$i]}"
			return 0
		fi
	done
	echo "$0: no field $2 (${fields[*]})" >&2
	return 2
}

case ${1:-} in
list) list ;;
default) list | head -n1 ;;
row) row "$2" ;;
get) get "$2" "$3" ;;
apt)
	suites=$(get "$2" suites)
	[ "$suites" != host ] || exit 0
	# shellcheck disable=SC2046
	"$here/debian-apt.sh" "$APT_DIR/${suites//,/+}" $(tr , ' ' <<< "$suites") >&2
	echo "$APT_DIR/${suites//,/+}/apt.conf" ;;
status)
	for k in $(list); do
		apt=$("$0" apt "$k" 2> /dev/null)
		if [ -n "$apt" ]; then
			export APT_CONFIG=$apt
		else
			unset APT_CONFIG
		fi
		series=$(get "$k" series)
		image=$(get "$k" image)
		# One apt-cache run per row: each reads all the lists.
		have=$(apt-cache show "linux-headers-$k" "$(get "$k" source)" \
		       ${image//,/ } 2> /dev/null |
		       awk '/^Package:/ { p = $2 } /^Version:/ { print p; print p "=" $2 }')
		missing=
		for p in "linux-headers-$k" "$(get "$k" source)" ${image//,/ }; do
			grep -qxF "$p" <<< "$have" || missing+=" $p"
		done
		newest=$(apt-cache search --names-only \
			 "^linux-headers-${series//./\\.}[.-][0-9.]*(-[0-9]+)?(\\+deb[0-9]+)?-amd64$" |
			 cut -d' ' -f1 | sed 's/^linux-headers-//' | sort -V | tail -n1)
		printf '%-22s %-8s newest %s in %s\n' "$k" \
			"${missing:+missing:$missing}${missing:-ok}" "${newest:-none}" \
			"$(get "$k" suites)"
	done ;;
*) echo "usage: $0 list | default | row KVER | get KVER FIELD | status | apt KVER" >&2
   exit 2 ;;
esac
