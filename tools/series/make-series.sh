#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make series: kvm-msix as a self-contained mainline patch series against
# Debian's linux-source-7.2, made from what the out-of-tree build uses:
#
#   1. uAPI          patches/7.2/0001 + include/uapi/linux/kvm_msix.h, with
#                    the next free mainline numbers in place of the
#                    out-of-tree ones, + api.rst sections 4, 5 and 8
#                    (tools/series/api-[458].rst) and
#                    Documentation/virt/kvm/x86/msix.rst, msix-vfio.rst
#   2. hooks         patches/7.2/0002 + virt/kvm/msix.h
#   3. delivery      patches/7.2/0003
#   4. the device    virt/kvm/msix.c, msix_decode.h (device.msg)
#   5. x86           patches/7.2/0004: the exit and CONFIG_KVM_MSIX
#   6. selftests     patches/7.2/0005 + selftests/x86_64/* in x86/
#
# Nothing is compiled before patch 5 selects the device, so every patch
# builds with CONFIG_KVM_MSIX on and off (check-series.sh).
#
#   make-series.sh PROJECT OUT KSRC_TAR
#
# OUT/linux is a git tree of the source (tag "base") with the series as
# commits; OUT/series/ the git format-patch output with a cover letter.  The
# base commit is kept between runs: only the series is made again.
set -euo pipefail

project=$1
out=$2
ksrc_tar=$3
# The hooks of the series the source belongs to (7.2 for mainline).
hooks=${HOOKS:-$project/patches/7.2}
tree=$out/linux
here=$project/tools/series

nhooks=$(find "$hooks" -maxdepth 1 -name '000[1-5]-*.patch' | wc -l)
[ "$nhooks" -eq 5 ] || { echo "$0: $hooks needs the five hook patches" >&2; exit 1; }

export GIT_AUTHOR_DATE="${GIT_AUTHOR_DATE:-$(date -R)}"
export GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
git_id=(-c "user.name=$(git -C "$project" log -1 --format=%an)"
	-c "user.email=$(git -C "$project" log -1 --format=%ae)")
g() { git "${git_id[@]}" "$@"; }

mkdir -p "$out"
if ! git -C "$tree" rev-parse -q --verify base > /dev/null 2>&1; then
	echo "  UNPACK  $ksrc_tar"
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -xf "$ksrc_tar" -C "$tree" --strip-components=1
	cd "$tree"
	git init -q
	# Debian's source has a .gitignore that ignores everything.
	git add -f -A .
	g commit -q -m "Linux $(make -s kernelversion) (Debian linux-source)"
	git tag base
fi
cd "$tree"
git checkout -q -f -B series base
git clean -q -f -d -x

hook() { ls "$hooks"/"$1"-*.patch; }

# Add a paragraph before the sign-offs of HEAD's message.
add_paragraph() {
	git log -1 --format=%B | awk -v p="$1" '
		/^Signed-off-by:/ && !done { print p; print ""; done = 1 }
		{ print }' > "$out/.msg"
	g commit -q --amend -F "$out/.msg"
}

py="python3 $here/mainline.py"

echo "  SERIES  $tree"
# 1. uAPI
g am -q "$(hook 0001)"
$py uapi include/uapi/linux/kvm.h "$project/uapi/linux/kvm_msix.h" \
	include/uapi/linux/kvm_msix.h
$py api Documentation/virt/kvm/api.rst "$here"
# The guide the api.rst entries point to comes with them.
for d in msix msix-vfio; do
	$py doc "$project/Documentation/virt/kvm/$d.rst" \
		"Documentation/virt/kvm/x86/$d.rst"
done
sed -i 's/^   mmu$/   mmu\n   msix\n   msix-vfio/' Documentation/virt/kvm/x86/index.rst
grep -q '^   msix$' Documentation/virt/kvm/x86/index.rst ||
	{ echo "$0: no place for msix in x86/index.rst" >&2; exit 1; }
git add -f include/uapi/linux/kvm_msix.h Documentation/virt/kvm/api.rst \
	Documentation/virt/kvm/x86/msix.rst Documentation/virt/kvm/x86/msix-vfio.rst \
	Documentation/virt/kvm/x86/index.rst
g commit -q --amend --no-edit
add_paragraph "Document the ioctls, the exit and the capabilities in api.rst, and the
rules in Documentation/virt/kvm/x86/msix.rst."

# 2. hooks, with the header kvm_main.c includes
g am -q "$(hook 0002)"
$py source "$project/virt/kvm/msix.h" virt/kvm/msix.h
git add -f virt/kvm/msix.h
g commit -q --amend --no-edit

# 3. delivery hooks
g am -q "$(hook 0003)"

# 4. the device and its documentation
for f in msix.c msix_decode.h; do
	$py source "$project/virt/kvm/$f" virt/kvm/$f
done
git add -f virt/kvm/msix.c virt/kvm/msix_decode.h
{
	cat "$here/device.msg"
	echo
	git -C "$project" log -1 --format='Signed-off-by: %an <%ae>' -- virt/kvm/msix.c
} > "$out/.msg"
g commit -q -F "$out/.msg"

# 5. x86
g am -q "$(hook 0004)"

# 6. selftests
g am -q "$(hook 0005)"
# x86/ since 6.14, x86_64/ before.
st=tools/testing/selftests/kvm/x86
[ -d $st ] || st=tools/testing/selftests/kvm/x86_64
for t in "$project"/selftests/x86_64/*.[ch]; do
	$py selftest "$t" "$st/${t##*/}"
	git add -f "$st/${t##*/}"
done
g commit -q --amend --no-edit

rm -rf "$out/series" "$out/.msg"
git format-patch -q --cover-letter -o "$out/series" base..series
python3 - "$out/series"/0000-cover-letter.patch "$here/cover-letter.txt" <<'EOF'
import sys
path, text = sys.argv[1], open(sys.argv[2]).read()
subject, blurb = text.split('\n', 1)
s = open(path).read()
s = s.replace('*** SUBJECT HERE ***', subject)
s = s.replace('*** BLURB HERE ***', blurb.strip('\n'))
open(path, 'w').write(s)
EOF
echo "  DONE    $out/series ($(ls "$out/series" | wc -l) files)"
