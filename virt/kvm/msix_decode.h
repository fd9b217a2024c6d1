/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm-msix: decoding of guest accesses to an MSI-X table, its PBA and the
 * passthrough window around them.
 *
 * Pure functions of their arguments: no locks, no memory but what they are
 * given.  msix.c acts on what they return; tools/fuzz builds this header
 * in userspace (with tools/fuzz/kernel-shim.h) and checks it against a
 * model of the PCI rules under libFuzzer.
 */
#ifndef __KVM_MSIX_DECODE_H
#define __KVM_MSIX_DECODE_H

/* One MSI-X table entry as the guest sees it (PCI 3.0 6.8.2.6-9). */
struct kvm_msix_entry {
	__le32 addr_lo;
	__le32 addr_hi;
	__le32 data;
	__le32 ctrl;
};

/* Where a table, its PBA and (passthrough only) its window sit. */
struct msix_layout {
	u64 table_gpa;
	u64 pba_gpa;
	u64 window_gpa;
	u64 window_len;		/* 0: no window */
	u32 table_len;
	u32 pba_len;
};

enum msix_access {
	MSIX_ACCESS_USER,	/* declined: a KVM_EXIT_MMIO for userspace */
	MSIX_ACCESS_TABLE,	/* the table, at the offset returned */
	MSIX_ACCESS_PBA,	/* the PBA, at the offset returned */
	MSIX_ACCESS_WINDOW,	/* the device mapping, at the offset returned */
};

static inline bool msix_overlap(u64 a, u64 a_len, u64 b, u64 b_len)
{
	return a < b + b_len && b < a + a_len;
}

/*
 * The PCI spec leaves everything but aligned DWORD and QWORD accesses to
 * the table and the PBA undefined: serve only those.  With 16 byte entries
 * and 8 byte aligned ranges such an access never crosses an entry.
 */
static inline bool msix_access_ok(u64 base, u32 size, u64 addr, int len)
{
	if (len != 4 && len != 8)
		return false;
	/* Aligned within the range: the same as absolute for 8-aligned bases. */
	if (addr < base || (addr - base) & (len - 1))
		return false;
	return size >= len && addr - base <= size - len;
}

/*
 * Decode a guest access of @len bytes at @addr; *@off is the offset into
 * the range it touches, below that range's length less @len, and clamped
 * under speculation.  Any access touching the table or the PBA is theirs:
 * one that also reaches past them, or that the spec leaves undefined, goes
 * to userspace whole.  The rest of the window passes through with the
 * guest's own width, 1 to 8 bytes, aligned or not: the device's driver
 * knows what the device accepts, and composing or splitting accesses here
 * would change what the device sees.
 */
static inline enum msix_access msix_decode(const struct msix_layout *l,
					   u64 addr, int len, u64 *off)
{
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return MSIX_ACCESS_USER;
	if (addr + len < addr)
		return MSIX_ACCESS_USER;

	if (msix_overlap(l->table_gpa, l->table_len, addr, len)) {
		if (!msix_access_ok(l->table_gpa, l->table_len, addr, len))
			return MSIX_ACCESS_USER;
		*off = array_index_nospec(addr - l->table_gpa, l->table_len);
		return MSIX_ACCESS_TABLE;
	}
	if (msix_overlap(l->pba_gpa, l->pba_len, addr, len)) {
		if (!msix_access_ok(l->pba_gpa, l->pba_len, addr, len))
			return MSIX_ACCESS_USER;
		*off = array_index_nospec(addr - l->pba_gpa, l->pba_len);
		return MSIX_ACCESS_PBA;
	}
	if (addr >= l->window_gpa && addr - l->window_gpa < l->window_len &&
	    l->window_len - (addr - l->window_gpa) >= len) {
		*off = array_index_nospec(addr - l->window_gpa, l->window_len);
		return MSIX_ACCESS_WINDOW;
	}
	return MSIX_ACCESS_USER;
}

/* What a guest write to a table entry does, old -> new. */
enum msix_write_action {
	MSIX_WRITE_NONE,	/* nothing changes */
	MSIX_WRITE_STORE,	/* store; nothing to report */
	MSIX_WRITE_MARK,	/* store; report at unmask (deferred mode) */
	MSIX_WRITE_REPORT,	/* store and report the entry */
	MSIX_WRITE_USER,	/* needs a report this exit cannot carry */
};

static inline bool msix_entry_masked(const struct kvm_msix_entry *e)
{
	return le32_to_cpu(e->ctrl) & KVM_MSIX_ENTRY_CTRL_MASKBIT;
}

/*
 * x86: Message Address bit 4 set means the message is in interrupt-remapping
 * format (Intel VT-d 5.1.5.2, "Remappable Format"; AMD's IOMMU takes the
 * same): only the VMM's vIOMMU can translate it, so the kernel delivers it
 * through the route the VMM computed, never from the table itself.
 */
#define MSIX_ADDR_REMAPPABLE	BIT(4)

static inline bool msix_entry_remappable(const struct kvm_msix_entry *e)
{
	return le32_to_cpu(e->addr_lo) & MSIX_ADDR_REMAPPABLE;
}

/*
 * @defer: the table defers updates (KVM_MSIX_TABLE_FLAG_DEFER_UPDATES);
 * @quiet: the table reports no entry the kernel delivers from the table
 * (KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS); @dirty: the entry was changed while
 * masked and that change is not reported yet (deferred mode); @can_report:
 * this exit may still report this entry.
 *
 * Every write is stored when it completes: interrupts are delivered with
 * the message in the table, so no write waits for userspace.  What remains
 * is telling userspace: each change of Message Address or Data, or with
 * @defer the unmask that follows changes made while masked, is reported
 * once, unless @quiet and the new message does not need the VMM (it is not
 * in remapping format).  Vector Control alone never exits: it is stored
 * verbatim, reserved bits included (TPH puts a steering tag in its upper
 * half).
 */
static inline enum msix_write_action
msix_decide_write(const struct kvm_msix_entry *old,
		  const struct kvm_msix_entry *new,
		  bool defer, bool quiet, bool dirty, bool can_report)
{
	bool unmasking = msix_entry_masked(old) && !msix_entry_masked(new);
	bool report = !quiet || msix_entry_remappable(new);

	if (!memcmp(old, new, sizeof(*new)))
		return MSIX_WRITE_NONE;

	if (new->addr_lo == old->addr_lo && new->addr_hi == old->addr_hi &&
	    new->data == old->data) {
		if (!unmasking || !dirty || !report)
			return MSIX_WRITE_STORE;
		return can_report ? MSIX_WRITE_REPORT : MSIX_WRITE_USER;
	}

	if (!report)
		return MSIX_WRITE_STORE;
	if (defer && msix_entry_masked(new))
		return MSIX_WRITE_MARK;
	return can_report ? MSIX_WRITE_REPORT : MSIX_WRITE_USER;
}

#endif /* __KVM_MSIX_DECODE_H */
