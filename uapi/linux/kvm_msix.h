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
 * reason 0x4d58 ("MX") and ioctl numbers 0xf0-0xf4 of KVMIO.  See
 * Documentation/virt/kvm/msix.rst.
 */

#include <linux/types.h>
#include <linux/ioctl.h>

#define KVM_CAP_MSIX_TABLE		0x4d58
/* KVM_CHECK_EXTENSION: the KVM_MSIX_TABLE_FLAG_* this kernel accepts. */
#define KVM_CAP_MSIX_TABLE_FLAGS	0x4d59

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
 * For KVM_DEFINE_MSIX_TABLE.  Documentation/virt/kvm/msix.rst has the rules;
 * in short:
 *
 * KVM_MSIX_TABLE_FLAG_DEFER_UPDATES: a change to the address or data of a
 * masked entry is reported (KVM_EXIT_MSIX_ENTRY_UPDATED) once, by the write
 * that unmasks the entry, instead of by each write.
 *
 * KVM_MSIX_TABLE_FLAG_PASSTHROUGH: the guest range [window_gpa, window_gpa +
 * window_size), page aligned and holding the table and the PBA, is trapped
 * whole, and guest accesses in it outside the table and the PBA are
 * performed on the VMM's mapping of the same device range at window_uaddr
 * (for an assigned device, its mmap()ed BAR), with the guest's width and
 * alignment.  Without the flag the window fields must be zero.
 *
 * KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS: no KVM_EXIT_MSIX_ENTRY_UPDATED for
 * entries the kernel delivers from the table (every entry whose message is
 * not in interrupt-remapping format); the VMM then delivers every vector of
 * the table through it (KVM_SET_MSIX_ENTRY_IRQ or KVM_SIGNAL_MSIX).
 *
 * KVM_MSIX_TABLE_FLAG_UNMAPPED: the table has no guest-physical ranges
 * (Memory Space disabled, BAR not mapped): table_gpa, pba_gpa and window_gpa
 * must be 0.  Bindings, masks and pending bits work as usual.
 *
 * KVM_MSIX_TABLE_FLAG_MOVE: not a property of the table but an operation:
 * table id exists and is moved to the guest-physical ranges given (or, with
 * KVM_MSIX_TABLE_FLAG_UNMAPPED, to none), keeping its bindings, Message
 * Control and the kernel's per-entry state.  Every other field and flag must
 * be what the table was defined with.
 *
 * KVM_MSIX_TABLE_FLAG_DEVID: devid is the requester ID the table's messages
 * carry, as KVM_MSI_VALID_DEVID does for a route (an arm64 ITS needs it).
 * Refused (EINVAL) where KVM_CAP_MSI_DEVID is 0, which includes x86.
 */
#define KVM_MSIX_TABLE_FLAG_DEFER_UPDATES	(1U << 0)
#define KVM_MSIX_TABLE_FLAG_PASSTHROUGH		(1U << 1)
#define KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS	(1U << 2)
#define KVM_MSIX_TABLE_FLAG_UNMAPPED		(1U << 3)
#define KVM_MSIX_TABLE_FLAG_MOVE		(1U << 4)
#define KVM_MSIX_TABLE_FLAG_DEVID		(1U << 5)

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
	/* KVM_MSIX_TABLE_FLAG_DEVID */
	__u32 devid;
	__u32 reserved;
};

/* For KVM_SET_MSIX_ENTRY_IRQ.  With KVM_MSIX_ENTRY_IRQ_UNBIND, gsi must be 0. */
#define KVM_MSIX_ENTRY_IRQ_UNBIND	(1U << 0)

struct kvm_msix_entry_irq {
	__u32 table_id;
	__u32 entry;
	__u32 gsi;
	__u32 flags;
};

/*
 * For KVM_SET_MSIX_TABLE_CTRL: mirrors Message Control of the function
 * (ENABLE, FUNCTION_MASK).  KVM_MSIX_CTRL_TRANSLATED: the VMM's vIOMMU
 * translates every message of the function (AMD-Vi interrupt remapping, or
 * VT-d with compatibility format blocked), so every entry is sent through
 * its bound GSI's route, as one in remapping format always is.
 */
#define KVM_MSIX_CTRL_ENABLE		(1U << 0)
#define KVM_MSIX_CTRL_FUNCTION_MASK	(1U << 1)
#define KVM_MSIX_CTRL_TRANSLATED	(1U << 2)

struct kvm_msix_table_ctrl {
	__u32 id;
	__u32 flags;
};

/*
 * For KVM_SIGNAL_MSIX: raise an interrupt on entry @entry of table @table_id,
 * as the function itself would: delivered with the entry's message if the
 * vector is unmasked, else held in its Pending bit.  flags and reserved must
 * be 0.  Returns 1 if the message was sent, 0 if it was held.
 */
struct kvm_msix_signal {
	__u32 table_id;
	__u32 entry;
	__u32 flags;
	__u32 reserved;
};

#define KVM_DEFINE_MSIX_TABLE	_IOW(KVMIO, 0xf0, struct kvm_msix_table)
#define KVM_REMOVE_MSIX_TABLE	_IOW(KVMIO, 0xf1, __u32)
#define KVM_SET_MSIX_ENTRY_IRQ	_IOW(KVMIO, 0xf2, struct kvm_msix_entry_irq)
#define KVM_SET_MSIX_TABLE_CTRL	_IOW(KVMIO, 0xf3, struct kvm_msix_table_ctrl)
#define KVM_SIGNAL_MSIX		_IOW(KVMIO, 0xf4, struct kvm_msix_signal)

#endif /* __LINUX_KVM_MSIX_H */
