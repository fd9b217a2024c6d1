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
#   make series        the mainline patch series against linux-source-7.2
#   make check-series  it applies, is checkpatch clean and builds at every
#                      patch with the option on and off
#   make fuzz          the access decoder under libFuzzer against its model,
#                      bounded (part of make check); make fuzz-long: 30 min
#   make deb           the kvm-msix-dkms Debian package (DKMS builds the
#                      modules for the kernels it has sources for) in build/deb
#   make check-deb     install it in a Debian chroot, check dkms status,
#                      modinfo, an unsupported kernel, then remove it
#
#   make check-all-kernels  make check for every kernel in
#                      tools/build/kernels.sh, then a summary table
#
# KVER picks the kernel (make KVER=... [check]): one of the rows of
# tools/build/kernels.sh, which says where its source, headers and image
# come from and which compiler (on the host, or in a chroot of its Debian
# suite) builds for it; BUILD is then build/KVER.  Packagers: KVER with KDIR
# (kernel headers/build dir) and KSRC_TAR or KSRC (an unpacked, unpatched
# 6.12.y source tree) build for any other 6.12.y kernel on the host.

KVER_DEFAULT	:= $(shell tools/build/kernels.sh default)
KVER		?= $(KVER_DEFAULT)
ifeq ($(origin KDIR),undefined)
# SERIES SUITES CHROOT CC SOURCE IMAGE USERSPACE
KROW		:= $(shell tools/build/kernels.sh row '$(KVER)')
ifeq ($(KROW),)
$(error KVER=$(KVER) is not a supported kernel (list above); a packager names KDIR= and KSRC_TAR= or KSRC= to build for another 6.12.y)
endif
else
KROW		:= 6.12 host host cc linux-source-6.12 - host
endif
SERIES		?= $(word 1,$(KROW))
KSUITES		:= $(word 2,$(KROW))
KCHROOT		:= $(word 3,$(KROW))
KSOURCE		:= $(firstword $(subst =, ,$(word 5,$(KROW))))
KUSERSPACE	:= $(word 7,$(KROW))
ifeq ($(KVER),$(KVER_DEFAULT))
BUILD		?= $(CURDIR)/build
else
BUILD		?= $(CURDIR)/build/$(KVER)
endif
# Inside a chroot KDIR is the same path in the chroot's /usr/src.
KDIR		?= /usr/src/linux-headers-$(KVER)
ifeq ($(KSUITES),host)
KSRC_TAR	?= /usr/src/$(KSOURCE).tar.xz
else
KSRC_TAR	?= $(BUILD)/kernel/$(KSOURCE).tar.xz
endif
KSRC		?=

# Commands that must use the kernel's compiler run in its suite's chroot,
# with the project and BUILD at the same paths (tools/build/chroot.sh);
# headers_install, the selftests and the tools there too if the host's
# compiler cannot build that source.
ifneq ($(KCHROOT),host)
IN_CHROOT	:= $(CURDIR)/tools/build/chroot.sh run $(KCHROOT) $(CURDIR) $(BUILD) --
endif
ifeq ($(KUSERSPACE),chroot)
IN_CHROOT_USER	:= $(IN_CHROOT)
endif

TREE		:= $(BUILD)/linux
OVERLAY		:= $(BUILD)/overlay
KVM_DIR		:= $(TREE)/arch/x86/kvm
USR		:= $(BUILD)/usr
MODULES		:= kvm.ko kvm-amd.ko kvm-intel.ko
PATCHDIR	:= $(CURDIR)/patches/$(SERIES)
# libkvm's directory of x86 tests and headers (x86 since 6.14), and the
# flags that give the selftests a series' selftests/compat/SERIES/.
KSELFTEST_X86	:= x86_64
SELFTESTS_CFLAGS :=
# What differs between kernel series beyond the hooks (compat include
# directories, where that series keeps its x86 selftests, ...).
-include $(PATCHDIR)/series.mk
SELFTESTS	:= $(patsubst selftests/x86_64/%.c,$(KSELFTEST_X86)/%,$(wildcard selftests/x86_64/*.c))
PATCHES		:= $(sort $(wildcard $(PATCHDIR)/*.patch))
# What modinfo shows (Kbuild): the project's version and commit.
VERSION_LINE	:= $(shell tools/build/version.sh $(CURDIR))
KVM_MSIX_VERSION := $(word 1,$(VERSION_LINE))
KVM_MSIX_INFO	:= kvm-msix $(KVM_MSIX_VERSION) ($(word 2,$(VERSION_LINE))), patches/$(SERIES)
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
		   CONFIG_KVM_MSIX_TABLE=y KVM_MSIX_VERSION="$(KVM_MSIX_VERSION)" \
		   KVM_MSIX_INFO="$(KVM_MSIX_INFO)" KVM_MSIX_CFLAGS="$(MSIX_CFLAGS)" \
		   NOSTDINC_FLAGS="$(COMPAT_INCLUDES) -I$(CURDIR)/include \
				   -I$(OVERLAY)/arch/x86/include \
				   -I$(OVERLAY)/include -I$(OVERLAY)/include/uapi \
				   -DCONFIG_KVM_MSIX_TABLE=1"

Q		:= $(if $(V),,@)

.PHONY: all deps tree st-tree modules headers selftests tools demo bench check check-static \
	check-vm check-debug check-upstream kbuild install clean distclean fuzz fuzz-long \
	qemu check-qemu check-qemu-migrate series check-series deb check-deb \
	check-all-kernels default-kernel

all: modules headers selftests tools

deps:
	$(Q)test -d $(PATCHDIR) || { echo "kvm-msix: no patches/$(SERIES) yet: KVER=$(KVER) cannot be built" >&2; exit 1; }
	$(Q)KVER=$(KVER) tools/build/install-deps.sh
	$(Q)tools/build/kernel-deps.sh $(KVER) $(BUILD)

$(TREE)/.kvm-msix-prepared: $(PATCHES) tools/build/prepare-tree.sh | deps
	$(Q)PATCHDIR=$(PATCHDIR) tools/build/prepare-tree.sh unpack $(CURDIR) $(TREE) $(KSRC_TAR) $(KSRC)

tree: $(TREE)/.kvm-msix-prepared
	$(Q)PATCHDIR=$(PATCHDIR) KSELFTEST_X86=$(KSELFTEST_X86) \
		tools/build/prepare-tree.sh link $(CURDIR) $(TREE) $(OVERLAY)

modules: tree
	$(Q)$(IN_CHROOT) $(MAKE) $(KBUILD_ARGS) modules
	$(Q)mkdir -p $(BUILD)/modules
	$(Q)cp -p $(addprefix $(KVM_DIR)/,$(MODULES)) $(BUILD)/modules/

$(USR)/include/linux/kvm.h: $(TREE)/.kvm-msix-prepared uapi/linux/kvm_msix.h
	$(Q)$(MAKE) tree
	$(Q)$(IN_CHROOT_USER) $(MAKE) -s -C $(TREE) headers_install INSTALL_HDR_PATH=$(USR)
	$(Q)touch $@

headers: $(USR)/include/linux/kvm.h

ifneq ($(ST_TREE),$(TREE))
$(ST_TREE)/.kvm-msix-prepared: $(ST_PATCHES) tools/build/prepare-tree.sh | deps
	$(Q)PATCHDIR=$(CURDIR)/patches/$(SELFTEST_SERIES) \
		EXTRA_PATCHDIR=$(PATCHDIR)/selftests \
		tools/build/prepare-tree.sh unpack $(CURDIR) $(ST_TREE) $(SELFTEST_KSRC_TAR)

st-tree: $(ST_TREE)/.kvm-msix-prepared
	$(Q)KSELFTEST_X86=$(KSELFTEST_X86) tools/build/prepare-tree.sh link $(CURDIR) $(ST_TREE)

$(ST_USR)/include/linux/kvm.h: $(ST_TREE)/.kvm-msix-prepared uapi/linux/kvm_msix.h
	$(Q)$(MAKE) st-tree
	$(Q)$(MAKE) -s -C $(ST_TREE) headers_install INSTALL_HDR_PATH=$(ST_USR)
	$(Q)touch $@
endif

# lib.mk only defaults OUTPUT at MAKELEVEL 0; name it, as a sub-make.
selftests: $(ST_PREP)
	$(Q)$(IN_CHROOT_USER) $(MAKE) -s -C $(SELFTESTS_DIR) OUTPUT=$(SELFTESTS_DIR) \
		EXTRA_CFLAGS="-static $(SELFTESTS_CFLAGS)" KHDR_INCLUDES="-isystem $(ST_USR)/include" \
		$(addprefix $(SELFTESTS_DIR)/,$(SELFTESTS)) 2>&1 | \
		grep -v -e BITS_PER_LONG -e '^ *|' -e 'In file included' \
			-e '^ *from ' -e 'previous definition' -e '^ *6 | #' || true
	$(Q)for t in $(SELFTESTS); do test -x $(SELFTESTS_DIR)/$$t || exit 1; done
	$(Q)mkdir -p $(BUILD)/selftests/x86_64
	$(Q)cp -p $(addprefix $(SELFTESTS_DIR)/,$(SELFTESTS)) $(BUILD)/selftests/x86_64/

tools: selftests
	$(Q)$(IN_CHROOT_USER) $(MAKE) -s -C tools TREE=$(ST_TREE) USR=$(ST_USR) OUT=$(BUILD)/tools \
		KSELFTEST_X86=$(KSELFTEST_X86) SELFTESTS_CFLAGS="$(SELFTESTS_CFLAGS)"

# The synthetic guest, then a real one under stock and patched QEMU.
demo: default-kernel all qemu
	$(Q)KVER=$(KVER) tools/vmtest/run-vm.sh --build $(BUILD) --demo --vfio
	$(Q)tools/qemu/demo.sh $(CURDIR) $(BUILD)

# The benchmark, in the test VM; results and plot in build/bench/.
bench: all
	$(Q)KVER=$(KVER) tools/vmtest/run-vm.sh --build $(BUILD) --bench --vfio
	$(Q)tools/bench/plot.sh $(BUILD)/vm/console-bench-vfio.log $(BUILD)/bench

check: all
	$(Q)KVER=$(KVER) tools/build/check.sh $(CURDIR) $(BUILD)

# The suites written for the default kernel's tree, image and L2 guest.
default-kernel:
ifneq ($(KVER),$(KVER_DEFAULT))
	@echo "kvm-msix: make $(MAKECMDGOALS) runs for the default kernel $(KVER_DEFAULT) only" >&2
	@exit 1
endif

# make check for every kernel in tools/build/kernels.sh, each in its own
# build/KVER, going on after a failure; a table of the results at the end.
check-all-kernels:
	$(Q)tools/build/check-all-kernels.sh $(CURDIR)

check-static: tree
	$(Q)PATCHDIR=$(PATCHDIR) tools/build/check-static.sh $(CURDIR) $(TREE)

# Kbuild on the KVM tree with extra arguments, for check-static.sh:
#   make kbuild KBUILD_EXTRA="C=2 ../../../virt/kvm/msix.o"
kbuild:
	$(Q)$(IN_CHROOT) $(MAKE) $(KBUILD_ARGS) $(KBUILD_EXTRA)

check-vm: all
	$(Q)KVER=$(KVER) tools/vmtest/run-vm.sh --build $(BUILD) --tests

# virt/kvm/msix_decode.h in userspace under libFuzzer (tools/fuzz/README.md).
fuzz: deps
	$(Q)tools/fuzz/run.sh --build $(BUILD)

fuzz-long: deps
	$(Q)tools/fuzz/run.sh --build $(BUILD) --long

# The kselftests on a KASAN + lockdep + UBSAN + KMEMLEAK kernel with the
# device built in (patches/ applied in tree), under single-threaded TCG.
check-debug: default-kernel all
	$(Q)tools/debug/build-kernel.sh $(CURDIR) $(BUILD)/debug $(KSRC_TAR)
	$(Q)VM_TIMEOUT=$${VM_TIMEOUT:-2400} tools/vmtest/run-vm.sh --build $(BUILD) \
		--tests --vfio --kernel $(BUILD)/debug/bzImage

# The upstream x86_64 KVM selftests on the stock modules and on the project's,
# in the same VM image; fails if the pass/skip/fail sets differ.
check-upstream: modules headers tree
	$(Q)SERIES=$(SERIES) KSELFTEST_X86=$(KSELFTEST_X86) \
		tools/regress/upstream-selftests.sh $(CURDIR) $(BUILD)

# QEMU 10.2.2 from Debian's source package: stock, and with the series in
# tools/qemu/patches; Documentation/virt/kvm/msix-qemu.rst.
qemu: deps
	$(Q)tools/qemu/build.sh $(BUILD)

check-qemu: default-kernel all qemu
	$(Q)tools/qemu/check-qemu.sh $(CURDIR) $(BUILD)

# Live migration of the nested guest between two patched QEMUs (and the
# same with the table off), about 5 minutes; not in CI (see README).
check-qemu-migrate: default-kernel all qemu
	$(Q)CONFIGS="migrate_off migrate" tools/qemu/check-qemu.sh $(CURDIR) $(BUILD)

# The mainline series (tools/series): kvm-msix as git format-patch output
# against linux-source-7.2 in $(BUILD)/series/series; check-series applies
# it to a clean tree, runs checkpatch --strict per patch and builds in tree
# at every patch with CONFIG_KVM_MSIX on and off (about 30 minutes).
MAINLINE_KVER	?= $(lastword $(filter 7.2.%,$(shell tools/build/kernels.sh list)))
MAINLINE_BUILD	:= $(CURDIR)/build/$(MAINLINE_KVER)
MAINLINE_KSRC_TAR ?= $(MAINLINE_BUILD)/kernel/linux-source-7.2.tar.xz

series: deps
	$(Q)tools/build/kernel-deps.sh $(MAINLINE_KVER) $(MAINLINE_BUILD)
	$(Q)tools/series/make-series.sh $(CURDIR) $(BUILD)/series $(MAINLINE_KSRC_TAR)

check-series: series
	$(Q)tools/series/check-series.sh $(CURDIR) $(BUILD)/series

# The DKMS package: sources, a KVM snapshot and the patches per series of
# tools/deb/kernels that has patches (README, "Install with DKMS").
deb: deps
	$(Q)tools/deb/build-deb.sh $(CURDIR) $(BUILD)

check-deb: deb
	$(Q)tools/deb/check-deb.sh $(CURDIR) $(BUILD)

install: modules
	install -d $(DESTDIR)/lib/modules/$(KVER)/updates/kvm-msix
	install -m 0644 $(addprefix $(BUILD)/modules/,$(MODULES)) \
		$(DESTDIR)/lib/modules/$(KVER)/updates/kvm-msix/
	$(if $(DESTDIR),,depmod -a $(KVER))

clean:
	$(Q)if [ -d $(KVM_DIR) ]; then $(IN_CHROOT) $(MAKE) $(KBUILD_ARGS) clean; fi
	$(Q)rm -rf $(BUILD)/modules $(BUILD)/selftests $(BUILD)/tools $(BUILD)/vm

distclean:
	rm -rf $(BUILD)
