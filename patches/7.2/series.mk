# SPDX-License-Identifier: GPL-2.0
#
# Debian sid's Linux 7.2: 7.2.13+deb14-amd64, built from linux-source-7.2.
# Read by the top-level Makefile for SERIES=7.2 (make KVER=7.2.13+deb14-amd64).
# msix.c needs no shim.

# libkvm moved its x86 tests and headers from x86_64/ to x86/ in 6.14.
KSELFTEST_X86	:= x86

# libkvm's names that changed since 6.12 (selftests/compat/7.2/msix_compat.h).
SELFTESTS_CFLAGS := -I$(CURDIR)/selftests/compat/7.2
