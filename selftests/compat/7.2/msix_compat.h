/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kvm-msix selftests, written against the libkvm of Linux 6.12, on the
 * libkvm of Linux 7.2.
 */
#ifndef SELFTEST_KVM_MSIX_COMPAT_H
#define SELFTEST_KVM_MSIX_COMPAT_H

/* A guest virtual address: vm_vaddr_t became gva_t (kvm_util_types.h). */
#define vm_vaddr_t	gva_t

/* libkvm opens the binary stats fds of a VM and its vCPUs at creation. */
#define msix_vm_stats_fd(vm)		((vm)->stats.fd)
#define msix_vcpu_stats_fd(vcpu)	((vcpu)->stats.fd)

#endif
