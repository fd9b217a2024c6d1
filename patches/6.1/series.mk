# SPDX-License-Identifier: GPL-2.0
#
# Debian 12's default kernel: 6.1.0-N-amd64, built from linux-source-6.1.
# Read by the top-level Makefile for SERIES=6.1 (make KVER=6.1.0-57-amd64).

# The compat shims for 6.1 (include/compat/6.1): headers 6.12 has and 6.1
# lacks, in front of every other; and, for msix.o alone, the helpers whose
# 6.1 meaning differs from 6.12's.
COMPAT_INCLUDES	:= -I$(CURDIR)/include/compat/6.1
MSIX_CFLAGS	:= $(foreach h,$(sort $(wildcard $(CURDIR)/include/compat/6.1/msix/*.h)), \
		     -include $(h))

# The project's selftests are written on 6.12's libkvm, whose memslots need
# KVM_SET_USER_MEMORY_REGION2 (6.8): build them, and the tools, on a 6.12
# tree with patches/6.12 and patches/6.1/selftests (which teaches libkvm to
# fall back to KVM_SET_USER_MEMORY_REGION), and run them on 6.1.
SELFTEST_SERIES	:= 6.12
SELFTEST_KSRC_TAR ?= /usr/src/linux-source-6.12.tar.xz
