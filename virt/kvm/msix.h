/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_MSIX_H__
#define __KVM_MSIX_H__

/*
 * KVM in-kernel MSI-X table emulation
 */

#ifdef CONFIG_KVM_MSIX_TABLE

void kvm_msix_init(struct kvm *kvm);
void kvm_msix_exit(void);
void kvm_msix_destroy_vm(struct kvm *kvm);
int kvm_msix_table_flags(struct kvm *kvm);
int kvm_vm_ioctl_define_msix_table(struct kvm *kvm,
				   struct kvm_msix_table *table);
int kvm_vm_ioctl_remove_msix_table(struct kvm *kvm, u32 id);
int kvm_vm_ioctl_set_msix_entry_irq(struct kvm *kvm,
				    struct kvm_msix_entry_irq *irq);
int kvm_vm_ioctl_set_msix_table_ctrl(struct kvm *kvm,
				     struct kvm_msix_table_ctrl *ctrl);
int kvm_vm_ioctl_signal_msix(struct kvm *kvm, struct kvm_msix_signal *sig);

#else

static inline void kvm_msix_init(struct kvm *kvm) { }
static inline void kvm_msix_exit(void) { }
static inline void kvm_msix_destroy_vm(struct kvm *kvm) { }

#endif

#endif
