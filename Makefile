# SPDX-License-Identifier: GPL-2.0
#
# kvm-msix: in-kernel MSI-X table emulation for KVM, built out of tree into
# drop-in kvm.ko, kvm-amd.ko and kvm-intel.ko for a distro kernel.
#
#   make               install build dependencies (apt), build the modules,
#                      the uapi headers, the selftests and the demo VMM
#   make demo          build everything and run the demo in a VM (a
#                      synthetic guest, then Linux under stock and patched QEMU)
#   make bench         build everything and run msix-bench in a VM
#   make check         build everything and run the whole test suite in a VM,
#                      plus sparse, W=1 and checkpatch --strict
#   make check-debug   the kselftests on a debug kernel (KASAN, lockdep,
#                      UBSAN, KMEMLEAK) built with the device in tree
#   make check-upstream  upstream's x86_64 KVM selftests, stock modules vs
#                      the project's: the results must be identical
#   make install       install the modules into /lib/modules/$(KVER)/updates
#   make qemu          Debian's qemu source, stock and with tools/qemu/patches
#                      (QEMU on the in-kernel table), into build/qemu
#   make check-qemu    real Linux guests under stock and patched QEMU inside
#                      the test VM: MSI-X exits per phase, interrupts, I/O
#   make fuzz          the access decoder under libFuzzer against its model,
#                      bounded (part of make check); make fuzz-long: 30 min
#
# Packagers: KVER, KDIR (kernel headers/build dir), KSRC_TAR or KSRC (an
# unpacked, unpatched 6.12.y source tree) select another 6.12.y kernel;
# SERIES=6.1 builds for Debian 12's 6.1 kernel (patches/6.1/series.mk).

KVER		?= 6.12.117+deb12-amd64
KDIR		?= /usr/src/linux-headers-$(KVER)
KSRC_TAR	?= /usr/src/linux-source-6.12.tar.xz
KSRC		?=
BUILD		?= $(CURDIR)/build

TREE		:= $(BUILD)/linux
OVERLAY		:= $(BUILD)/overlay
KVM_DIR		:= $(TREE)/arch/x86/kvm
USR		:= $(BUILD)/usr
MODULES		:= kvm.ko kvm-amd.ko kvm-intel.ko
SELFTESTS	:= $(patsubst selftests/%.c,%,$(wildcard selftests/x86_64/*.c))
SERIES		?= 6.12
PATCHDIR	:= $(CURDIR)/patches/$(SERIES)
# What differs between kernel series beyond the hooks (compat include
# directories, where that series keeps its x86 selftests, ...).
-include $(PATCHDIR)/series.mk
PATCHES		:= $(sort $(wildcard $(PATCHDIR)/*.patch))
# run-vm.sh and install-deps.sh boot and install this series' kernel.
export KVER

# The selftests and the tools are built on the libkvm of SELFTEST_SERIES
# (series.mk; by default this series).  Another series' libkvm gets a tree
# of its own: SELFTEST_KSRC_TAR with that series' patches, then this
# series' selftests/*.patch (what that libkvm needs to run on this kernel),
# with its own uapi headers.
SELFTEST_SERIES	?= $(SERIES)
ifeq ($(SELFTEST_SERIES),$(SERIES))
ST_TREE		:= $(TREE)
ST_USR		:= $(USR)
ST_PREP		:= tree headers
else
ST_TREE		:= $(BUILD)/linux-selftests
ST_USR		:= $(BUILD)/usr-selftests
ST_PREP		:= st-tree $(ST_USR)/include/linux/kvm.h
ST_PATCHES	:= $(sort $(wildcard $(CURDIR)/patches/$(SELFTEST_SERIES)/*.patch \
				     $(PATCHDIR)/selftests/*.patch))
endif
SELFTESTS_DIR	:= $(ST_TREE)/tools/testing/selftests/kvm

# Our headers first (compat shims, then the headers the patches change),
# then the headers package, as linux-backports does; the Kconfig symbol the
# patches add is not in the distro's autoconf.h.  series.mk may set
# COMPAT_INCLUDES (headers the series lacks, for every object) and
# MSIX_CFLAGS (for msix.o alone: Kbuild, include/README.md).
KBUILD_ARGS	:= -C $(KDIR) M=$(KVM_DIR) KVM_MSIX_TREE=$(TREE) \
		   CONFIG_KVM_MSIX_TABLE=y KVM_MSIX_CFLAGS="$(MSIX_CFLAGS)" \
		   NOSTDINC_FLAGS="$(COMPAT_INCLUDES) -I$(CURDIR)/include \
				   -I$(OVERLAY)/arch/x86/include \
				   -I$(OVERLAY)/include -I$(OVERLAY)/include/uapi \
				   -DCONFIG_KVM_MSIX_TABLE=1"

Q		:= $(if $(V),,@)

.PHONY: all deps tree st-tree modules headers selftests tools demo bench check check-static \
	check-vm check-debug check-upstream kbuild install clean distclean fuzz fuzz-long \
	qemu check-qemu check-qemu-migrate

all: modules headers selftests tools

deps:
	$(Q)KVER=$(KVER) tools/build/install-deps.sh

$(TREE)/.kvm-msix-prepared: $(PATCHES) tools/build/prepare-tree.sh | deps
	$(Q)PATCHDIR=$(PATCHDIR) tools/build/prepare-tree.sh unpack $(CURDIR) $(TREE) $(KSRC_TAR) $(KSRC)

tree: $(TREE)/.kvm-msix-prepared
	$(Q)PATCHDIR=$(PATCHDIR) tools/build/prepare-tree.sh link $(CURDIR) $(TREE) $(OVERLAY)

modules: tree
	$(Q)$(MAKE) $(KBUILD_ARGS) modules
	$(Q)mkdir -p $(BUILD)/modules
	$(Q)cp -p $(addprefix $(KVM_DIR)/,$(MODULES)) $(BUILD)/modules/

$(USR)/include/linux/kvm.h: $(TREE)/.kvm-msix-prepared uapi/linux/kvm_msix.h
	$(Q)$(MAKE) tree
	$(Q)$(MAKE) -s -C $(TREE) headers_install INSTALL_HDR_PATH=$(USR)
	$(Q)touch $@

headers: $(USR)/include/linux/kvm.h

ifneq ($(ST_TREE),$(TREE))
$(ST_TREE)/.kvm-msix-prepared: $(ST_PATCHES) tools/build/prepare-tree.sh | deps
	$(Q)PATCHDIR=$(CURDIR)/patches/$(SELFTEST_SERIES) \
		EXTRA_PATCHDIR=$(PATCHDIR)/selftests \
		tools/build/prepare-tree.sh unpack $(CURDIR) $(ST_TREE) $(SELFTEST_KSRC_TAR)

st-tree: $(ST_TREE)/.kvm-msix-prepared
	$(Q)tools/build/prepare-tree.sh link $(CURDIR) $(ST_TREE)

$(ST_USR)/include/linux/kvm.h: $(ST_TREE)/.kvm-msix-prepared uapi/linux/kvm_msix.h
	$(Q)$(MAKE) st-tree
	$(Q)$(MAKE) -s -C $(ST_TREE) headers_install INSTALL_HDR_PATH=$(ST_USR)
	$(Q)touch $@
endif

# lib.mk only defaults OUTPUT at MAKELEVEL 0; name it, as a sub-make.
selftests: $(ST_PREP)
	$(Q)$(MAKE) -s -C $(SELFTESTS_DIR) OUTPUT=$(SELFTESTS_DIR) \
		EXTRA_CFLAGS=-static KHDR_INCLUDES="-isystem $(ST_USR)/include" \
		$(addprefix $(SELFTESTS_DIR)/,$(SELFTESTS)) 2>&1 | \
		grep -v -e BITS_PER_LONG -e '^ *|' -e 'In file included' \
			-e '^ *from ' -e 'previous definition' -e '^ *6 | #' || true
	$(Q)for t in $(SELFTESTS); do test -x $(SELFTESTS_DIR)/$$t || exit 1; done
	$(Q)mkdir -p $(BUILD)/selftests/x86_64
	$(Q)cp -p $(addprefix $(SELFTESTS_DIR)/,$(SELFTESTS)) $(BUILD)/selftests/x86_64/

tools: selftests
	$(Q)$(MAKE) -s -C tools TREE=$(ST_TREE) USR=$(ST_USR) OUT=$(BUILD)/tools

# The synthetic guest, then a real one under stock and patched QEMU.
demo: all qemu
	$(Q)tools/vmtest/run-vm.sh --build $(BUILD) --demo --vfio
	$(Q)tools/qemu/demo.sh $(CURDIR) $(BUILD)

# The benchmark, in the test VM; results and plot in build/bench/.
bench: all
	$(Q)tools/vmtest/run-vm.sh --build $(BUILD) --bench --vfio
	$(Q)tools/bench/plot.sh $(BUILD)/vm/console-bench-vfio.log $(BUILD)/bench

check: all
	$(Q)tools/build/check.sh $(CURDIR) $(BUILD)

check-static: tree
	$(Q)PATCHDIR=$(PATCHDIR) tools/build/check-static.sh $(CURDIR) $(TREE)

# Kbuild on the KVM tree with extra arguments, for check-static.sh:
#   make kbuild KBUILD_EXTRA="C=2 ../../../virt/kvm/msix.o"
kbuild:
	$(Q)$(MAKE) $(KBUILD_ARGS) $(KBUILD_EXTRA)

check-vm: all
	$(Q)tools/vmtest/run-vm.sh --build $(BUILD) --tests

# virt/kvm/msix_decode.h in userspace under libFuzzer (tools/fuzz/README.md).
fuzz: deps
	$(Q)tools/fuzz/run.sh --build $(BUILD)

fuzz-long: deps
	$(Q)tools/fuzz/run.sh --build $(BUILD) --long

# The kselftests on a KASAN + lockdep + UBSAN + KMEMLEAK kernel with the
# device built in (patches/ applied in tree), under single-threaded TCG.
check-debug: all
	$(Q)tools/debug/build-kernel.sh $(CURDIR) $(BUILD)/debug $(KSRC_TAR)
	$(Q)VM_TIMEOUT=$${VM_TIMEOUT:-2400} tools/vmtest/run-vm.sh --build $(BUILD) \
		--tests --vfio --kernel $(BUILD)/debug/bzImage

# The upstream x86_64 KVM selftests on the stock modules and on the project's,
# in the same VM image; fails if the pass/skip/fail sets differ.
check-upstream: modules headers tree
	$(Q)tools/regress/upstream-selftests.sh $(CURDIR) $(BUILD)

# QEMU 10.2.2 from Debian's source package: stock, and with the series in
# tools/qemu/patches; Documentation/virt/kvm/msix-qemu.rst.
qemu: deps
	$(Q)tools/qemu/build.sh $(BUILD)

check-qemu: all qemu
	$(Q)tools/qemu/check-qemu.sh $(CURDIR) $(BUILD)

# Live migration of the nested guest between two patched QEMUs (and the
# same with the table off), about 5 minutes; not in CI (see README).
check-qemu-migrate: all qemu
	$(Q)CONFIGS="migrate_off migrate" tools/qemu/check-qemu.sh $(CURDIR) $(BUILD)

install: modules
	install -d $(DESTDIR)/lib/modules/$(KVER)/updates/kvm-msix
	install -m 0644 $(addprefix $(BUILD)/modules/,$(MODULES)) \
		$(DESTDIR)/lib/modules/$(KVER)/updates/kvm-msix/
	$(if $(DESTDIR),,depmod -a $(KVER))

clean:
	$(Q)if [ -d $(KVM_DIR) ]; then $(MAKE) $(KBUILD_ARGS) clean; fi
	$(Q)rm -rf $(BUILD)/modules $(BUILD)/selftests $(BUILD)/tools $(BUILD)/vm

distclean:
	rm -rf $(BUILD)
