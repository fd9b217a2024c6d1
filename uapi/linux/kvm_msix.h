/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef __LINUX_KVM_MSIX_H
#define __LINUX_KVM_MSIX_H

/*
 * In-kernel MSI-X table emulation (kvm-msix).
 *
 * Included by <linux/kvm.h>; a VMM includes <linux/kvm.h> only.
 *
 * The numbers below are out-of-tree assignments.  Upstream KVM assigns
 * capabilities and exit reasons sequentially from small integers (6.12 ends
 * at capability 238 and exit reason 39) and vm ioctls from 0xd5 upwards, so
 * this header takes values far outside those ranges: capability and exit
 * reason 0x4d58 ("MX") and ioctl numbers 0xf0-0xf3 of KVMIO.  See
 * Documentation/virt/kvm/msix.rst.
 */

#include <linux/types.h>
#include <linux/ioctl.h>

#define KVM_CAP_MSIX_TABLE		0x4d58

#define KVM_EXIT_MSIX_ENTRY_UPDATED	0x4d58

/* Largest table a PCI function can have (Table Size is 11 bits). */
#define KVM_MSIX_MAX_ENTRIES		2048

/* Layout of one table entry and of the Vector Control dword. */
#define KVM_MSIX_ENTRY_SIZE		16
#define KVM_MSIX_ENTRY_ADDR_LO		0x0
#define KVM_MSIX_ENTRY_ADDR_HI		0x4
#define KVM_MSIX_ENTRY_DATA		0x8
#define KVM_MSIX_ENTRY_VECTOR_CTRL	0xc
#define KVM_MSIX_ENTRY_CTRL_MASKBIT	(1U << 0)

/*
 * For KVM_DEFINE_MSIX_TABLE.
 *
 * KVM_MSIX_TABLE_FLAG_DEFER_UPDATES: changes to the address or data of a
 * masked entry exit only when the entry is unmasked, and the unmask takes
 * effect when KVM_RUN is called again.
 *
 * KVM_MSIX_TABLE_FLAG_PASSTHROUGH: the guest range [window_gpa, window_gpa +
 * window_size), page aligned and holding the table and the PBA, is trapped
 * whole, and guest accesses in it outside the table and the PBA are
 * performed on the VMM's mapping of the same device range at window_uaddr
 * (for an assigned device, its mmap()ed BAR), with the guest's width and
 * alignment.  Without the flag the window fields must be zero.
 */
#define KVM_MSIX_TABLE_FLAG_DEFER_UPDATES	(1U << 0)
#define KVM_MSIX_TABLE_FLAG_PASSTHROUGH		(1U << 1)

struct kvm_msix_table {
	__u32 id;
	__u32 flags;
	__u32 nr_entries;
	__u32 pad;
	__u64 table_gpa;
	__u64 pba_gpa;
	__u64 table_uaddr;
	__u64 pba_uaddr;
	/* KVM_MSIX_TABLE_FLAG_PASSTHROUGH */
	__u64 window_gpa;
	__u64 window_size;
	__u64 window_uaddr;
	__u64 reserved;
};

/* For KVM_SET_MSIX_ENTRY_IRQ.  With KVM_MSIX_ENTRY_IRQ_UNBIND, gsi must be 0. */
#define KVM_MSIX_ENTRY_IRQ_UNBIND	(1U << 0)

struct kvm_msix_entry_irq {
	__u32 table_id;
	__u32 entry;
	__u32 gsi;
	__u32 flags;
};

/* For KVM_SET_MSIX_TABLE_CTRL: mirrors Message Control of the function. */
#define KVM_MSIX_CTRL_ENABLE		(1U << 0)
#define KVM_MSIX_CTRL_FUNCTION_MASK	(1U << 1)

struct kvm_msix_table_ctrl {
	__u32 id;
	__u32 flags;
};

#define KVM_DEFINE_MSIX_TABLE	_IOW(KVMIO, 0xf0, struct kvm_msix_table)
#define KVM_REMOVE_MSIX_TABLE	_IOW(KVMIO, 0xf1, __u32)
#define KVM_SET_MSIX_ENTRY_IRQ	_IOW(KVMIO, 0xf2, struct kvm_msix_entry_irq)
#define KVM_SET_MSIX_TABLE_CTRL	_IOW(KVMIO, 0xf3, struct kvm_msix_table_ctrl)

#endif /* __LINUX_KVM_MSIX_H */
