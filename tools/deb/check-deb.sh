#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-deb: install the kvm-msix-dkms package make deb built into a
# Debian chroot with dkms and Debian's $KVER image and headers
# (chroot.sh, a cached base under an overlay that each run throws away),
# the way a user would, and check what DKMS did:
#   - dpkg -i builds and installs kvm.ko, kvm-amd.ko and kvm-intel.ko for
#     $KVER (dkms status "installed"), into updates/dkms, where modprobe
#     finds them first; modinfo shows the project's version, kvm_msix tag
#     and $KVER's vermagic; the image's stock modules are untouched;
#   - the headers of a kernel the package has no sources for ($KVER_OTHER)
#     install cleanly: DKMS skips it (BUILD_EXCLUSIVE_KERNEL), dpkg stays
#     consistent, and the build script refuses it in words;
#   - dpkg -r removes DKMS's copies and modprobe finds the stock modules
#     again; --purge leaves nothing of the package.
# Prints TAP and "N passed, N failed"; fails on any mismatch.
#
#   check-deb.sh PROJECT BUILD
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$1
build=$2
export KVER=${KVER:-6.12.117+deb12-amd64}
export KVER_OTHER=${KVER_OTHER:-6.12.115+deb12-amd64}
read -r version commit < <("$project/tools/build/version.sh" "$project")
deb=$build/deb/kvm-msix-dkms_${version}_amd64.deb
[ -e "$deb" ] || { echo "$0: no $deb: make deb first" >&2; exit 1; }

"$here/chroot.sh" "$build/deb/chroot"
base=$build/deb/chroot/root
run=$build/deb/check
rm -rf "$run"
mkdir -p "$run"/{upper,work,root}
cp "$deb" "$run/upper/"
log=$run/log
: > "$log"

# A command in the chroot, on an overlay of the base that only this run
# writes (mounted in a private mount namespace: nothing to unmount).
in_root() {
	unshare --mount --propagation private -- sh -c '
		mount -t overlay overlay -o "lowerdir=$0/base,upperdir=$0/upper,workdir=$0/work" "$0/root" &&
		mount -t proc proc "$0/root/proc" && mount --rbind /dev "$0/root/dev" &&
		exec chroot "$0/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"' "$run" "$@"
}
ln -sfn "$base" "$run/base"

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -z "${2:-}" ] || sed 's/^/#   /' <<< "$2"
}
check() {	# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
	local d=$1
	shift
	if "$@" >> "$log" 2>&1; then ok "$d"; else not_ok "$d"; fi
}
show() {	# the exact output, for the log reader
	sed 's/^/#   /' <<< "$1"
}

mods=(kvm kvm-amd kvm-intel)
lib=/lib/modules/$KVER
stock=$(in_root sh -c "cd $lib/kernel/arch/x86/kvm && sha256sum *.ko*")

# 1. Install.
echo "# dpkg -i ${deb##*/} ($(du -k "$deb" | cut -f1) KiB)"
t0=$(date +%s)
if out=$(in_root dpkg -i "/${deb##*/}" 2>&1); then
	ok "dpkg -i builds and installs ($(( $(date +%s) - t0 )) s)"
else
	not_ok "dpkg -i builds and installs" "$out"
fi
echo "$out" >> "$log"
status=$(in_root dkms status 2>> "$log")
show "dkms status: $status"
[ "$status" = "kvm-msix/$version, $KVER, x86_64: installed" ] &&
	ok "dkms status: installed for $KVER" || not_ok "dkms status: installed for $KVER"

for m in "${mods[@]}"; do
	f=$(in_root sh -c "ls $lib/updates/dkms/$m.ko*" 2>/dev/null || true)
	info=$(in_root modinfo "${f:-/nonexistent}" 2>&1 || true)
	[ "$m" = kvm ] && show "$(grep -E '^(filename|version|description|kvm_msix|srcversion|name|vermagic):' <<< "$info")"
	if grep -qx "version: *$version" <<< "$info" &&
	   grep -qx "kvm_msix: *kvm-msix $version (${commit}), patches/[0-9.]*" <<< "$info" &&
	   grep -q "^vermagic: *$KVER " <<< "$info"; then
		ok "modinfo ${f:-$m}: version $version, kvm_msix, vermagic $KVER"
	else
		not_ok "modinfo $lib/updates/dkms/$m.ko*: version $version, kvm_msix, vermagic $KVER" "$info"
	fi
	p=$(in_root modinfo -k "$KVER" -n "${m//-/_}" 2>&1 || true)
	case "$p" in
	"$lib/updates/dkms/$m.ko"*) ok "modprobe finds DKMS's ${m//-/_}: $p" ;;
	*) not_ok "modprobe finds DKMS's ${m//-/_}" "$p" ;;
	esac
done
check "the stock modules of $KVER are untouched" \
	test "$(in_root sh -c "cd $lib/kernel/arch/x86/kvm && sha256sum *.ko*")" = "$stock"
# DKMS's modules, kept for the test VM: tools/vmtest/run-vm.sh --build
# BUILD/deb/check (README, "Install with DKMS").  Read through the chroot:
# its /lib is /usr/lib (merged /usr).
mkdir -p "$run/modules"
for m in "${mods[@]}"; do
	in_root cat "$lib/updates/dkms/$m.ko.xz" | xz -dc > "$run/modules/$m.ko" ||
		rm -f "$run/modules/$m.ko"
done

# 2. A kernel the package has no sources for.
if out=$(in_root env INITRD=No apt-get install -y --no-download --no-install-recommends \
		"linux-headers-$KVER_OTHER" 2>&1); then
	ok "linux-headers-$KVER_OTHER installs with the package in place"
else
	not_ok "linux-headers-$KVER_OTHER installs with the package in place" "$out"
fi
echo "$out" >> "$log"
show "$(grep -iE -A1 'BUILD_EXCLUSIVE|kvm-msix' <<< "$out" || true)"
status=$(in_root dkms status 2>> "$log")
[ "$status" = "kvm-msix/$version, $KVER, x86_64: installed" ] &&
	ok "dkms status: nothing for $KVER_OTHER" || not_ok "dkms status: nothing for $KVER_OTHER" "$status"
rc=0
out=$(in_root dkms install -m kvm-msix -v "$version" -k "$KVER_OTHER" 2>&1) || rc=$?
# (less dkms's notes on the headers' vmlinux and on module signing)
out=$(grep -v -e '^readelf: Warning' -e '^Sign' -e MOK -e mok <<< "$out" || true)
show "dkms install -k $KVER_OTHER (exit $rc): $out"
[ "$rc" -eq 77 ] && grep -q BUILD_EXCLUSIVE <<< "$out" &&
	ok "dkms install -k $KVER_OTHER: skipped (exit 77)" ||
	not_ok "dkms install -k $KVER_OTHER: skipped (exit 77)" "$out"
check "no module of the package for $KVER_OTHER" \
	in_root sh -c "! ls /lib/modules/$KVER_OTHER/updates/dkms/kvm*"
rc=0
out=$(in_root sh -c "cp -a /usr/src/kvm-msix-$version /tmp/src &&
	/tmp/src/tools/deb/dkms-build.sh $KVER_OTHER /lib/modules/$KVER_OTHER/build" 2>&1) || rc=$?
show "dkms-build.sh $KVER_OTHER (exit $rc): $out"
[ "$rc" -ne 0 ] && grep -q "kernel $KVER_OTHER is not supported" <<< "$out" &&
	ok "the build script refuses $KVER_OTHER in words" ||
	not_ok "the build script refuses $KVER_OTHER in words" "$out"
rc=0
out=$(in_root sh -c "/tmp/src/tools/deb/dkms-build.sh $KVER /lib/modules/$KVER_OTHER/build" 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "is Linux ${KVER_OTHER%%+*}, its KVM sources here are" <<< "$out" &&
	ok "the build script refuses headers of another Linux version" ||
	not_ok "the build script refuses headers of another Linux version" "$out"
audit=$(in_root dpkg --audit 2>&1)
[ -z "$audit" ] && ok "dpkg --audit: nothing half-installed" || not_ok "dpkg --audit" "$audit"

# 3. Remove, then purge.
if out=$(in_root dpkg -r kvm-msix-dkms 2>&1); then ok "dpkg -r"; else not_ok "dpkg -r" "$out"; fi
echo "$out" >> "$log"
check "dpkg -r removes DKMS's modules" in_root sh -c "! ls /lib/modules/*/updates/dkms/kvm*"
for m in "${mods[@]}"; do
	p=$(in_root modinfo -k "$KVER" -n "${m//-/_}" 2>&1 || true)
	[ "$p" = "$lib/kernel/arch/x86/kvm/$m.ko.xz" ] &&
		ok "modprobe finds the stock ${m//-/_} again" ||
		not_ok "modprobe finds the stock ${m//-/_} again" "$p"
done
check "the stock modules of $KVER are untouched" \
	test "$(in_root sh -c "cd $lib/kernel/arch/x86/kvm && sha256sum *.ko*")" = "$stock"
check "dpkg -V linux-image-$KVER: no file changed" \
	test -z "$(in_root dpkg -V "linux-image-$KVER")"
check "dkms status is empty" test -z "$(in_root dkms status 2>> "$log")"
if out=$(in_root dpkg --purge kvm-msix-dkms 2>&1); then ok "dpkg --purge"; else not_ok "dpkg --purge" "$out"; fi
check "nothing of the package is left" \
	in_root sh -c "! ls -d /usr/src/kvm-msix-* /var/lib/dkms/kvm-msix 2>/dev/null | grep -q ."

echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
