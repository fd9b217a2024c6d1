#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel: linux-source-6.12 with patches/ and the project's
# files applied in tree (the path an upstream submission takes), KVM built
# in, and KASAN, lockdep (PROVE_LOCKING), DEBUG_ATOMIC_SLEEP, UBSAN and
# KMEMLEAK on.  Minimal config: x86_64_defconfig + kvm_guest.config, which is
# what QEMU's serial console and virtio need, plus VT-d and vfio-pci for the
# vfio end-to-end test.  ccache makes rebuilds cheap;
# only a change of patches/ unpacks the tree again.
#
# usage: build-kernel.sh PROJECT OUTDIR KSRC_TAR
set -euo pipefail

project=$1
out=$2
ksrc_tar=$3
tree=$out/linux
stamp=$tree/.kvm-msix-patches

mkdir -p "$out"
# Selftest-only patches do not change the kernel: leave them out of the key.
want=$(grep -L '^Subject: \[PATCH[^]]*\] KVM: selftests:' "$project"/patches/6.12/*.patch |
	xargs cat | sha1sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	# A fresh patched tree; copied over an existing one by content, so
	# that only the files the series changes look new to make.
	fresh=$out/fresh
	rm -rf "$fresh"
	mkdir -p "$fresh" "$tree"
	echo "  UNPACK  $ksrc_tar (debug kernel)"
	tar -xf "$ksrc_tar" -C "$fresh" --strip-components=1
	for p in "$project"/patches/6.12/*.patch; do
		patch -d "$fresh" -p1 --forward --quiet < "$p"
	done
	rsync -rlc "$fresh"/ "$tree"/
	rm -rf "$fresh"
	echo "$want" > "$stamp"
fi
cp -p "$project"/virt/kvm/msix{.c,.h,_decode.h} "$tree/virt/kvm/"
cp -p "$project/uapi/linux/kvm_msix.h" "$tree/include/uapi/linux/"

cat > "$out/debug.config" <<'EOF'
CONFIG_KVM=y
CONFIG_KVM_AMD=y
CONFIG_KVM_INTEL=y
CONFIG_KVM_WERROR=y
CONFIG_KASAN=y
CONFIG_KASAN_INLINE=y
CONFIG_PROVE_LOCKING=y
CONFIG_DEBUG_ATOMIC_SLEEP=y
CONFIG_UBSAN=y
CONFIG_DEBUG_KMEMLEAK=y
CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=n
CONFIG_DEBUG_INFO_NONE=y
CONFIG_DEBUG_FS=y
CONFIG_PROC_FS=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
# The vfio end-to-end test (run-vm.sh --vfio): QEMU's VT-d with interrupt
# remapping, and vfio-pci to take its e1000e and nvme.
CONFIG_IOMMU_SUPPORT=y
CONFIG_INTEL_IOMMU=y
CONFIG_IRQ_REMAP=y
CONFIG_VFIO=y
CONFIG_VFIO_PCI=y
EOF

cc="gcc"
command -v ccache > /dev/null && cc="ccache gcc"
cd "$tree"
if [ ! -e .config ] || [ "$out/debug.config" -nt .config ]; then
	make -s x86_64_defconfig
	scripts/kconfig/merge_config.sh -m -O . .config \
		kernel/configs/kvm_guest.config "$out/debug.config" > /dev/null
	make -s olddefconfig
	for c in KVM KVM_AMD KASAN PROVE_LOCKING DEBUG_ATOMIC_SLEEP UBSAN \
		 DEBUG_KMEMLEAK KVM_MSIX_TABLE INTEL_IOMMU IRQ_REMAP VFIO_PCI; do
		grep -q "^CONFIG_$c=y" .config ||
			{ echo "debug config lacks CONFIG_$c" >&2; exit 1; }
	done
fi
echo "  KERNEL  $tree (KASAN, lockdep, UBSAN, KMEMLEAK; this takes a while)"
make -s -j"$(nproc)" CC="$cc" bzImage
cp arch/x86/boot/bzImage "$out/bzImage"
echo "  DONE    $out/bzImage"
