#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the project's kernel code, as a KVM maintainer runs them:
#   - checkpatch.pl --strict on patches/ and on the project's own files,
#   - sparse (C=2) and W=1 on the objects the project adds or patches.
# KVM core has sparse warnings of its own (context imbalances around SRCU and
# the MMU lock); a warning fails the check only when it points into the
# project's files or at a line the patches add.
#
# usage: [PATCHDIR=DIR] check-static.sh PROJECT TREE
# PATCHDIR: the series TREE was patched with (patches/6.12 by default).
# Prints TAP; exits non-zero on any finding.
set -uo pipefail

project=$1
tree=$2
patchdir=${PATCHDIR:-$project/patches/6.12}
# msix.o and every object whose source a patch changes, as Kbuild names
# them from arch/x86/kvm (6.12: kvm_main, eventfd, irqchip, x86; 7.2: irq
# too).
objs="../../../virt/kvm/msix.o $(sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' "$patchdir"/*.patch |
	sort -u | sed -e 's|^arch/x86/kvm/||' -e 's|^virt/|../../../virt/|' | tr '\n' ' ')"
own_files="virt/kvm/msix.c virt/kvm/msix.h virt/kvm/msix_decode.h
	   $(cd "$project" && find include -name '*.h' | sort)"
own_tests=$(cd "$project" && ls selftests/x86_64/*.[ch] selftests/compat/*/*.h 2>/dev/null)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
n=0
failed=0

result() {
	n=$((n + 1))
	if [ -s "$2" ]; then
		sed 's/^/# /' "$2"
		echo "not ok $n $1"
		failed=$((failed + 1))
	else
		echo "ok $n $1"
	fi
}

# Lines added by the patches, as "file:line", in the patched tree.
added_lines() {
	awk '
		/^\+\+\+ b\// { file = substr($2, 3); next }
		/^@@ / { split($3, a, ","); line = substr(a[1], 2); next }
		/^\+/ { print file ":" line; line++; next }
		/^ / { line++ }
	' "$patchdir"/*.patch
}

# Keep the warnings that are the project's: in its files or on added lines.
ours() {
	local added
	added=$(added_lines)
	grep -E '(warning|error):' | sed "s|^$tree/arch/x86/kvm/\.\./\.\./\.\./|$tree/|" |
	while IFS= read -r w; do
		f=${w%%:*}
		rest=${w#*:}
		l=${rest%%:*}
		rel=${f#"$tree"/}
		case "$rel" in
		virt/kvm/msix*.[ch]|include/uapi/linux/kvm_msix.h) echo "$w"; continue ;;
		esac
		if grep -qx "$rel:$l" <<< "$added"; then
			echo "$w"
		fi
	done
}

echo "TAP version 13"
echo "1..4"

checkpatch="$tree/scripts/checkpatch.pl --strict --no-tree --quiet --show-types"
# The series carries git format-patch trailers checkpatch does not need.
# A series' selftests/ holds the patches its selftests tree takes.
$checkpatch --ignore FILE_PATH_CHANGES "$patchdir"/*.patch \
	$(ls "$patchdir"/selftests/*.patch 2>/dev/null) > "$log/cp1" 2>&1
result "checkpatch --strict ${patchdir#"$project"/}/" "$log/cp1"

# 7.2's checkpatch prefers kzalloc_obj(), which 6.12 and 6.1 lack: msix.c
# is one source for every series.
(cd "$project" && $checkpatch -f --ignore ALLOC_WITH_SIZEOF $own_files) > "$log/cp2" 2>&1
# uapi headers cannot use BIT(); <linux/kvm.h> writes (1U << n) too.
(cd "$project" && $checkpatch -f --ignore BIT_MACRO uapi/linux/kvm_msix.h) >> "$log/cp2" 2>&1
# libkvm in 6.12 spells its types uint32_t/uint64_t; follow it.
(cd "$project" && $checkpatch -f --ignore PREFER_KERNEL_TYPES $own_tests) >> "$log/cp2" 2>&1
result "checkpatch --strict virt/ uapi/ selftests/" "$log/cp2"

kbuild() {
	make -s -C "$project" kbuild KBUILD_EXTRA="$*"
}

kbuild C=2 $objs > "$log/sparse.out" 2>&1 ||
	cat "$log/sparse.out" >> "$log/sparse"
ours < "$log/sparse.out" >> "$log/sparse"
result "sparse (C=2) $(basename -a $objs | paste -sd' ')" "$log/sparse"

# Recompile the same objects with W=1; the next normal build recompiles them.
for o in $objs; do rm -f "$tree/arch/x86/kvm/$o"; done
kbuild W=1 $objs > "$log/w1.out" 2>&1 ||
	cat "$log/w1.out" >> "$log/w1"
ours < "$log/w1.out" >> "$log/w1"
result "W=1 $(basename -a $objs | paste -sd' ')" "$log/w1"

echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
