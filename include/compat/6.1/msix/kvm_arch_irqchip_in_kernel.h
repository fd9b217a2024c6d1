/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm_arch_irqchip_in_kernel(): 6.1 has no generic name for "the VM has an
 * in-kernel local APIC"; x86 spells it irqchip_in_kernel() in its own
 * arch/x86/kvm/irq.h, as 6.1's virt/kvm/irqchip.c uses it.  Later kernels
 * declare kvm_arch_irqchip_in_kernel() in <linux/kvm_host.h> and x86
 * implements it with irqchip_in_kernel().
 *
 * For msix.o only (patches/6.1/series.mk, MSIX_CFLAGS).
 */
#ifndef _KVM_MSIX_COMPAT_KVM_ARCH_IRQCHIP_IN_KERNEL_H
#define _KVM_MSIX_COMPAT_KVM_ARCH_IRQCHIP_IN_KERNEL_H

#include <linux/kvm_host.h>
#include "irq.h"

static inline bool kvm_arch_irqchip_in_kernel(struct kvm *kvm)
{
	return irqchip_in_kernel(kvm);
}

#endif
