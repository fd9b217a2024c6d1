#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the patched kernel tree that kvm-msix builds from:
#   1. unpack linux-source-6.12 (or copy KSRC) into $TREE,
#   2. apply $PATCHDIR/*.patch (the hooks into KVM core for this series),
#      then $EXTRA_PATCHDIR/*.patch if set (selftests-only patches a series
#      builds another series' libkvm with),
#   3. link the project's own files (virt/kvm/msix.[ch], uapi/linux/kvm_msix.h,
#      selftests/*.c) into their places in the tree,
#   4. build an include overlay holding only the headers the patches touch,
#      which the out-of-tree module build puts in front of the headers
#      package (NOSTDINC_FLAGS, as linux-backports does).
#
# usage: prepare-tree.sh unpack PROJECT TREE KSRC_TAR [KSRC]   (steps 1-2)
#        prepare-tree.sh link PROJECT TREE [OVERLAY]           (steps 3-4)
set -euo pipefail

cmd=$1
project=$2
tree=$3
# The hooks for this kernel series (patches/6.12 unless told otherwise).
patchdir=${PATCHDIR:-$project/patches/6.12}

link() {
	mkdir -p "$(dirname "$tree/$2")"
	ln -sfn "$project/$1" "$tree/$2"
}

if [ "$cmd" = link ]; then
	overlay=${4:-}
	# Where the series' libkvm keeps its x86 tests (x86 since 6.14).
	selftests_x86=${KSELFTEST_X86:-x86_64}
	link Kbuild arch/x86/kvm/Kbuild
	link virt/kvm/msix.c virt/kvm/msix.c
	link virt/kvm/msix.h virt/kvm/msix.h
	link virt/kvm/msix_decode.h virt/kvm/msix_decode.h
	# headers_install copies what it finds; a plain copy keeps it happy.
	cp -p "$project/uapi/linux/kvm_msix.h" "$tree/include/uapi/linux/kvm_msix.h"
	for t in "$project"/selftests/x86_64/*.[ch]; do
		[ -e "$t" ] || continue
		link "selftests/x86_64/${t##*/}" \
		     "tools/testing/selftests/kvm/$selftests_x86/${t##*/}"
	done
	# A tree only the selftests are built from needs no overlay.
	[ -n "$overlay" ] || exit 0
	# Every header that a patch changes, plus the new uapi header, goes
	# into the overlay, in the same relative place.
	rm -rf "$overlay"
	{
		grep -h '^+++ b/' "$patchdir"/*.patch | sed 's|^+++ b/||'
		echo include/uapi/linux/kvm_msix.h
	} | grep -E '^(include|arch/[^/]+/include)/.*\.h$' | sort -u |
	while read -r h; do
		mkdir -p "$(dirname "$overlay/$h")"
		ln -sfn "$tree/$h" "$overlay/$h"
	done
	# define_trace.h includes "../../arch/x86/kvm/trace.h" relative to
	# itself; give it a place in the overlay from which that path leads
	# into this tree.
	mkdir -p "$overlay/include/trace" "$overlay/arch/x86/include"
	ln -sfn "$tree/include/trace/define_trace.h" "$overlay/include/trace/"
	ln -sfn "$tree/arch/x86/kvm" "$overlay/arch/x86/kvm"
	exit 0
fi

ksrc_tar=$4
ksrc=${5:-}
rm -rf "$tree"
mkdir -p "$tree"

if [ -n "$ksrc" ]; then
	echo "  COPY    $ksrc"
	cp -a "$ksrc/." "$tree/"
else
	echo "  UNPACK  $ksrc_tar"
	tar -xf "$ksrc_tar" -C "$tree" --strip-components=1
fi

for p in "$patchdir"/*.patch ${EXTRA_PATCHDIR:+"$EXTRA_PATCHDIR"/*.patch}; do
	echo "  PATCH   ${p#"$project"/}"
	patch -d "$tree" -p1 --forward --quiet < "$p"
done

# The project's Kbuild reads this copy of the Makefile, with its $(srctree)
# references pointed at this tree instead of the headers package.
sed 's|\$(srctree)|$(KVM_MSIX_TREE)|g' "$tree/arch/x86/kvm/Makefile" \
	> "$tree/arch/x86/kvm/Makefile.out-of-tree"

touch "$tree/.kvm-msix-prepared"
