#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-series: what a maintainer checks before taking the mainline
# series that make-series.sh wrote into OUT/series:
#   1. it applies with git am to the clean base (OUT/linux, tag "base"),
#   2. every patch is checkpatch.pl --strict clean (the base's checkpatch;
#      FILE_PATH_CHANGES ignored: virt/kvm/ and the KVM selftests are
#      already KVM's in MAINTAINERS),
#   3. the tree builds in tree at every patch (bisectable), KVM as modules,
#      with CONFIG_KVM_MSIX on and off (two output directories, each built
#      incrementally from patch to patch), the "on" build with W=1 for the
#      objects the series adds or changes,
#   4. at the last patch the option really is on and off, and the selftests
#      build against the series' headers.
#
#   check-series.sh PROJECT OUT
set -euo pipefail

project=$1
out=$2
tree=$out/linux
log=$out/check
jobs=$(nproc)
rm -rf "$log"
mkdir -p "$log"

patches=("$out"/series/0*.patch)
patches=("${patches[@]/*0000-cover-letter.patch/}")
read -r -a patches <<< "${patches[*]}"

cd "$tree"
git checkout -q -f -B check base
git clean -q -f -d -x
echo "  AM      ${#patches[@]} patches onto $(git log -1 --format=%s base)"
git -c user.name=check -c user.email=check@localhost am -q "${patches[@]}"

fail=0
for p in "${patches[@]}"; do
	n=${p##*/}
	if ! ./scripts/checkpatch.pl --strict --ignore FILE_PATH_CHANGES \
		-q "$p" > "$log/checkpatch-${n%.patch}.log" 2>&1; then
		echo "  CHECKPATCH ${n}: not clean ($log/checkpatch-${n%.patch}.log)"
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "  CHECKPATCH clean, every patch"

config() {
	local o=$1 msix=$2
	mkdir -p "$o"
	make -s O="$o" x86_64_defconfig
	scripts/kconfig/merge_config.sh -m -O "$o" "$o/.config" \
		kernel/configs/kvm_guest.config > /dev/null
	scripts/config --file "$o/.config" -m KVM -m KVM_INTEL -m KVM_AMD \
		-e KVM_HYPERV -e KVM_XEN "--$msix" KVM_MSIX
	make -s O="$o" olddefconfig
}

commits=$(git rev-list --reverse base..check)
for msix in enable disable; do
	o=$out/build-$msix
	git checkout -q base
	config "$o" $msix
	echo "  PREPARE $o"
	make -s O="$o" -j"$jobs" modules_prepare > "$log/prepare-$msix.log" 2>&1
	i=0
	for c in $commits; do
		i=$((i + 1))
		git checkout -q "$c"
		# The option appears with the patch that adds it, default y.
		scripts/config --file "$o/.config" "--$msix" KVM_MSIX
		make -s O="$o" olddefconfig
		w=
		[ $msix = enable ] && w="W=1"
		start=$SECONDS
		if make -s O="$o" -j"$jobs" $w arch/x86/kvm/ \
			> "$log/build-$msix-$i.log" 2>&1 &&
		   ! grep -q 'warning:' "$log/build-$msix-$i.log"; then
			echo "  BUILD   patch $i, KVM_MSIX ${msix}d: ok ($((SECONDS - start)) s)"
		else
			echo "  BUILD   patch $i, KVM_MSIX ${msix}d: FAILED ($log/build-$msix-$i.log)"
			fail=1
		fi
	done
	want=y
	[ $msix = disable ] && want=
	got=$(sed -n 's/^CONFIG_KVM_MSIX_TABLE=//p' "$o/.config")
	if [ "$got" != "$want" ]; then
		echo "  CONFIG  KVM_MSIX ${msix}d but CONFIG_KVM_MSIX_TABLE='$got'"
		fail=1
	fi
done

# The selftests the series adds, against its own uapi headers.
o=$out/build-enable
make -s O="$o" headers > "$log/headers.log" 2>&1
tests=$(git show --name-only --format= HEAD |
	sed -n 's|^tools/testing/selftests/kvm/\(x86[_64]*/msix_[a-z_]*\)\.c$|\1|p')
if make -s -C tools/testing/selftests/kvm OUTPUT="$out/selftests" \
	KHDR_INCLUDES="-isystem $o/usr/include" \
	$(for t in $tests; do echo "$out/selftests/$t"; done) \
	> "$log/selftests.log" 2>&1; then
	echo "  SELFTESTS $(echo "$tests" | wc -w) built"
else
	echo "  SELFTESTS FAILED ($log/selftests.log)"
	fail=1
fi
git checkout -q check

[ $fail -eq 0 ] && echo "  SERIES  applies, checkpatch clean, builds at every patch"
exit $fail
