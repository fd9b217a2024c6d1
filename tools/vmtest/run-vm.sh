#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot Debian's linux-image-$KVER under QEMU TCG (-cpu max emulates AMD SVM
# with NPT), load the project's kvm.ko and kvm-amd.ko in place of the stock
# ones (or the stock ones, --stock) and run the kselftests (--tests) or the
# demo (--demo).  --vfio adds an emulated IOMMU (q35, intel-iommu with
# interrupt remapping) and two PCI devices, e1000e and nvme, that /init
# binds to vfio-pci for the tests that assign them.  --qemu DIR copies DIR
# into the VM's root and runs its qemu/l1.sh (make check-qemu: nested guests
# under a real QEMU, tools/qemu/check-qemu.sh).
#
# Fails on any failing test, a hang, or a console that shows BUG:, WARNING:,
# Oops, a lockdep or a KASAN report.  Prints TAP and a closing line
# "N passed, N failed, N skipped".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KVER=${KVER:-6.12.117+deb12-amd64}
VM_TIMEOUT=${VM_TIMEOUT:-900}
VM_MEM=${VM_MEM:-2048}
VM_SMP=${VM_SMP:-2}
# Multi-threaded TCG has been seen to hit a spurious int3 while the kernel
# patches its text (static keys): a TCG artefact, not a kernel bug.
VM_TCG_THREAD=${VM_TCG_THREAD:-single}
build=
mode=tests
tests=
args=
kernel=
stock=
vfio=
selftests=
test_timeout=300
payload=

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift ;;
	--demo) mode=demo ;;
	--bench) mode=bench ;;
	--qemu) mode=qemu; payload=$2; shift ;;
	--tests) mode=tests ;;
	--only) tests=$2; shift ;;
	--args) args=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--stock) stock=1 ;;
	--vfio) vfio=1 ;;
	--selftests) selftests=$2; shift ;;
	--test-timeout) test_timeout=$2; shift ;;
	*) echo "usage: $0 --build DIR [--tests [--only 'a b'] [--selftests DIR]" \
		"[--test-timeout SECS] | --demo | --bench | --qemu DIR] [--stock] [--vfio]" \
		"[--kernel BZIMAGE]" >&2
	   exit 2 ;;
	esac
	shift
done
[ -n "$build" ] || { echo "$0: --build DIR is required" >&2; exit 2; }
selftests=${selftests:-$build/selftests}

vm=$build/vm
img=$vm/image
mkdir -p "$vm"

# Debian's kernel image and its stock modules, unpacked, never installed.
"$here/fetch-image.sh" "$vm" "$KVER"

# The initramfs: busybox, the modules, the tests, /init.
root=$vm/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,modules,tests,tools,proc,sys,dev,tmp}
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod +x "$root/init"

# A stock module, xz-compressed (6.12) or not (6.1), as a plain .ko.
stock_mod() {
	if [ -e "$1.xz" ]; then
		xz -dc "$1.xz" > "$2"
	else
		cp "$1" "$2"
	fi
}

kernel_tag=-custom
if [ -z "$kernel" ]; then
	kernel_tag=
	kernel=$img/boot/vmlinuz-$KVER
	moddir=$img/lib/modules/$KVER/kernel
	stock_mod "$moddir/virt/lib/irqbypass.ko" "$root/modules/irqbypass.ko"
	stock_mod "$moddir/drivers/crypto/ccp/ccp.ko" "$root/modules/ccp.ko"
	for m in kvm kvm-amd; do
		if [ -n "$stock" ]; then
			stock_mod "$moddir/arch/x86/kvm/$m.ko" "$root/modules/$m.ko"
		else
			strip --strip-debug -o "$root/modules/$m.ko" "$build/modules/$m.ko"
		fi
	done
	if [ -n "$vfio" ]; then
		mkdir -p "$root/modules/vfio"
		# 6.1 keeps virqfd in a module of its own (vfio.ko since 6.2).
		for m in vfio/vfio vfio/vfio_iommu_type1 vfio/vfio_virqfd \
			 vfio/pci/vfio-pci-core vfio/pci/vfio-pci; do
			[ -e "$moddir/drivers/$m.ko" ] || [ -e "$moddir/drivers/$m.ko.xz" ] ||
				continue
			stock_mod "$moddir/drivers/$m.ko" "$root/modules/vfio/${m##*/}.ko"
		done
	fi
fi

if [ -z "$tests" ] && [ "$mode" != qemu ]; then
	tests=$(cd "$selftests" && find . -type f -perm -u+x | sed 's|^\./||' | sort)
fi
for t in $tests; do
	mkdir -p "$root/tests/$(dirname "$t")"
	cp "$selftests/$t" "$root/tests/$t"
	echo "$t" >> "$root/tests/list"
done
touch "$root/tests/list"
if [ -d "$build/tools" ]; then
	cp "$build"/tools/* "$root/tools/" 2>/dev/null || true
fi
if [ -n "$payload" ]; then
	cp -a "$payload"/. "$root"/
fi

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$vm/initramfs.gz"

machine=()
append="console=ttyS0 panic=-1 loglevel=7 kvm_msix.mode=$mode kvm_msix.timeout=$test_timeout"
append+="${args:+ kvm_msix.args=$args}"
if [ -n "$vfio" ]; then
	# Verified: stock vfio-pci takes both devices behind QEMU's VT-d with
	# interrupt remapping (which needs the split irqchip); both advertise
	# VFIO_REGION_INFO_CAP_MSIX_MAPPABLE.  e1000e: MSI-X table alone in
	# BAR3.  nvme: registers, doorbells and MSI-X table share BAR0.
	machine=(-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on
		 -device e1000e,netdev=n0 -netdev user,id=n0
		 -drive file=null-co://,if=none,id=d0,format=raw
		 -device nvme,serial=kvm-msix,drive=d0)
	append+=" intel_iommu=on kvm_msix.vfio=1"
fi
log=$vm/console-$mode${kernel_tag:-}${stock:+-stock}${vfio:+-vfio}.log
echo "  QEMU    ${kernel##*/}, tcg -cpu max, $VM_SMP vCPUs, log in $log"
rc=0
timeout --foreground -k 10 "$VM_TIMEOUT" \
	qemu-system-x86_64 -accel "tcg,thread=$VM_TCG_THREAD" -cpu max -m "$VM_MEM" -smp "$VM_SMP" \
		"${machine[@]}" -nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$vm/initramfs.gz" -append "$append" \
		< /dev/null > "$log" 2>&1 || rc=$?
tr -d '\r' < "$log" > "$log.txt"

# Lines from a nested guest's console ("L2|", --qemu) are judged by
# check-qemu.sh, not here.
splats=$(grep -nE 'BUG:|WARNING:|Oops|Call Trace:|general protection fault|kernel BUG|UBSAN:|KASAN:|possible (circular|recursive) locking|inconsistent lock state|Kernel panic|unreferenced object 0x' "$log.txt" |
	  grep -v '^[0-9]*:L2|' || true)
# --qemu: a frozen nested stack (tools/qemu/l1.sh, "tcg-stall": single-
# threaded TCG stops running L1 while it runs L2, 100-300 s) makes L1
# report a soft lockup or an RCU stall in the vCPU thread; l1.sh ran that
# configuration again.  Those reports, and only those, are not splats.
if [ "$mode" = qemu ] && grep -q '^RUN [^ ]* tcg-stall ' "$log.txt"; then
	stalls=$(awk '/BUG: soft lockup - CPU#[0-9]+ stuck for [0-9]+s! \[qemu-system-x86|rcu: INFO: rcu_preempt (detected stalls|self-detected stall)|rcu: (Stack dump where RCU GP kthread last ran|RCU grace-period kthread stack dump)/ { s = 1 }
		      s { print NR ":" $0 } s && /<\/TASK>/ { s = 0 }' "$log.txt")
	if [ -n "$stalls" ]; then
		echo "# TCG stall reports in L1, not judged: $(echo "$stalls" | grep -cE 'soft lockup|rcu: INFO')"
		splats=$(grep -vxF -f <(echo "$stalls") <<< "$splats" || true)
	fi
fi

if [ "$mode" != tests ]; then
	sed -n "/^# loaded:/,/^# $mode exit status/p" "$log.txt"
	if [ -n "$splats" ]; then
		echo "# kernel console shows a splat:"
		echo "$splats" | head -20 | sed 's/^/#   /'
		exit 1
	fi
	grep -q "^# $mode exit status 0\$" "$log.txt"
	exit
fi

# Echo the TAP stream, then judge it and the rest of the console.
sed -n '/^TAP version/,/^# vm-tests-done/p' "$log.txt" | grep -v '^# vm-tests-done'
# Count the kselftest cases inside each program ("# ok N name" once our
# prefix is added), plus each program that failed without failing a case
# (a crash, a timeout, an assertion outside any case).
read -r passed failed skipped programs < <(awk '
	/^# ok [0-9]+ .*# SKIP/ { s++; next }
	/^# ok [0-9]+ / { p++; next }
	/^# not ok [0-9]+ / { f++; casefail = 1; next }
	/^ok [0-9]+ .*# SKIP/ { s++; n++; casefail = 0; next }
	/^ok [0-9]+ / { n++; casefail = 0; next }
	/^not ok [0-9]+ / { if (!casefail) f++; n++; casefail = 0; next }
	END { print p + 0, f + 0, s + 0, n + 0 }' "$log.txt")
planned=$(grep -m1 -oE '^1\.\.[0-9]+' "$log.txt" | cut -d. -f3 || true)
bad=0
if ! grep -q '^# vm-tests-done' "$log.txt"; then
	echo "# VM did not finish (qemu exit $rc, timeout ${VM_TIMEOUT}s): hang or crash"
	bad=1
fi
if [ -z "$planned" ] || [ "$programs" -ne "$planned" ]; then
	echo "# planned ${planned:-no} test programs, saw $programs"
	bad=1
fi
if [ -n "$splats" ]; then
	echo "# kernel console shows a splat:"
	echo "$splats" | head -20 | sed 's/^/#   /'
	bad=1
fi
if [ "$bad" -ne 0 ]; then
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
