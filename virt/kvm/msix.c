// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM in-kernel MSI-X table emulation
 *
 * A table is two MMIO devices on KVM_MMIO_BUS, one over the guest's MSI-X
 * table and one over its Pending Bit Array.  Both are backed by memory the
 * VMM supplies: the kernel keeps no copy, so the VMM can read, save and
 * restore the table at any time, and whatever access the kernel declines
 * reaches the VMM as an ordinary KVM_EXIT_MMIO that it emulates against the
 * same memory.
 *
 * The kernel serves aligned DWORD and QWORD reads of both ranges and writes
 * to the table.  A write that changes an entry's Message Address or Message
 * Data is stored and then reported with KVM_EXIT_MSIX_ENTRY_UPDATED once the
 * guest instruction has completed, so the VMM can update its routing.
 *
 * An entry bound to a GSI (KVM_SET_MSIX_ENTRY_IRQ) gates that GSI: while the
 * entry is masked (its Mask bit, Function Mask, or MSI-X disabled) an
 * interrupt sets the entry's Pending bit instead of reaching the guest, and
 * unmasking delivers it once.  Gate decisions, Vector Control writes and
 * Pending bits are serialized by the table's mutex: a mask write that has
 * completed has no delivery decided before it still to come.
 *
 * With a passthrough window (an assigned device's BAR page(s) around the
 * table) the table is one device over the window, and guest accesses outside
 * the table and the PBA are performed on the VMM's mapping of the device,
 * one load or store of the guest's width each.
 */

#include <linux/kvm_host.h>
#include <linux/kvm.h>
#include <linux/kvm_irqfd.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/xarray.h>

#include <kvm/iodev.h>

#include "msix.h"
#include "msix_decode.h"

struct kvm_msix_table_dev {
	struct list_head list;
	struct kvm_io_device table_dev;
	struct kvm_io_device pba_dev;
	/* Bus devices (2 once defined) plus interrupt injections in flight. */
	struct kref ref;
	/* Devices still on the bus; the table is unlinked when none is left. */
	int nr_devs;
	struct kvm *kvm;
	u32 id;
	u32 flags;
	u32 nr_entries;
	struct msix_layout layout;
	struct kvm_msix_entry __user *table;
	__le64 __user *pba;
	/* The VMM's mapping of the window (passthrough only). */
	u8 __user *window;
	/*
	 * Serializes Vector Control writes, gate decisions, Pending bits and
	 * the fields below.
	 */
	struct mutex lock;
	/* KVM_MSIX_CTRL_*, written by KVM_SET_MSIX_TABLE_CTRL. */
	u32 ctrl;
	/* entry -> struct kvm_msix_binding */
	struct xarray bindings;
	/* Masked entries whose update is not reported yet (deferred mode). */
	struct xarray dirty;
	struct rcu_head rcu;
};

/* An entry bound to a GSI; in kvm->msix_gsis and in its table's bindings. */
struct kvm_msix_binding {
	struct kvm_msix_table_dev *t;
	u32 entry;
	u32 gsi;
	struct rcu_head rcu;
};

#define KVM_MSIX_VALID_FLAGS	(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES | \
				 KVM_MSIX_TABLE_FLAG_PASSTHROUGH)
#define KVM_MSIX_VALID_CTRL	(KVM_MSIX_CTRL_ENABLE | KVM_MSIX_CTRL_FUNCTION_MASK)

static inline struct kvm_msix_table_dev *to_table(struct kvm_io_device *dev)
{
	return container_of(dev, struct kvm_msix_table_dev, table_dev);
}

static inline struct kvm_msix_table_dev *to_pba(struct kvm_io_device *dev)
{
	return container_of(dev, struct kvm_msix_table_dev, pba_dev);
}

static inline u32 msix_pba_len(u32 nr_entries)
{
	return DIV_ROUND_UP(nr_entries, 64) * sizeof(u64);
}

/*
 * One get_user() or put_user() of the guest's width: it keeps a DWORD or
 * QWORD access to the table single-copy atomic against a VMM writing the
 * same memory, and a register access in the window exactly what the guest
 * issued.  A fault (the VMM unmapped its memory, the device's memory is
 * disabled) leaves the access to userspace.
 */
static int msix_read_user(void __user *p, int len, void *val)
{
	int r;

	switch (len) {
	case 1: {
		u8 v;

		r = get_user(v, (u8 __user *)p);
		*(u8 *)val = v;
		break;
	}
	case 2: {
		u16 v;

		r = get_user(v, (u16 __user *)p);
		put_unaligned(v, (u16 *)val);
		break;
	}
	case 4: {
		u32 v;

		r = get_user(v, (u32 __user *)p);
		put_unaligned(v, (u32 *)val);
		break;
	}
	case 8: {
		u64 v;

		r = get_user(v, (u64 __user *)p);
		put_unaligned(v, (u64 *)val);
		break;
	}
	default:
		r = -EINVAL;
	}
	return r ? -EOPNOTSUPP : 0;
}

static int msix_write_user(void __user *p, int len, const void *val)
{
	int r;

	switch (len) {
	case 1:
		r = put_user(*(const u8 *)val, (u8 __user *)p);
		break;
	case 2:
		r = put_user(get_unaligned((const u16 *)val), (u16 __user *)p);
		break;
	case 4:
		r = put_user(get_unaligned((const u32 *)val), (u32 __user *)p);
		break;
	case 8:
		r = put_user(get_unaligned((const u64 *)val), (u64 __user *)p);
		break;
	default:
		r = -EINVAL;
	}
	return r ? -EOPNOTSUPP : 0;
}

static void msix_entry_to_exit(struct kvm_vcpu *vcpu,
			       const struct kvm_msix_entry *e)
{
	vcpu->msix_exit.address = (u64)le32_to_cpu(e->addr_hi) << 32 |
				  le32_to_cpu(e->addr_lo);
	vcpu->msix_exit.data = le32_to_cpu(e->data);
	vcpu->msix_exit.vector_ctrl = le32_to_cpu(e->ctrl);
}

/*
 * A vCPU reports one entry per exit; should the same instruction change a
 * second entry (REP MOVS, a 16 byte store split in two), leave that write to
 * userspace as a plain MMIO exit.
 */
static bool msix_can_report(struct kvm_vcpu *vcpu)
{
	return vcpu && !kvm_test_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu);
}

/*
 * This vCPU's pending exit reports entry @index of @t: a later element of
 * the same instruction (the second QWORD of a 16 byte store, the next DWORD
 * of REP MOVS) may report it again, and must not take an unmask into
 * effect before userspace has seen what the exit reports.
 */
static bool msix_reporting(struct kvm_vcpu *vcpu, struct kvm_msix_table_dev *t,
			   u32 index)
{
	return vcpu && kvm_test_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu) &&
	       vcpu->msix_exit.table_id == t->id &&
	       vcpu->msix_exit.entry == index;
}

/*
 * Record the entry for KVM_EXIT_MSIX_ENTRY_UPDATED; once userspace sees it,
 * a deferred update is no longer pending.
 */
static void msix_report_entry(struct kvm_vcpu *vcpu,
			      struct kvm_msix_table_dev *t, u32 index,
			      const struct kvm_msix_entry *e)
{
	xa_erase(&t->dirty, index);
	vcpu->msix_exit.table_id = t->id;
	vcpu->msix_exit.entry = index;
	vcpu->msix_exit.uentry = &t->table[index];
	msix_entry_to_exit(vcpu, e);
	kvm_make_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu);
}

static inline bool msix_ctrl_masked(__le32 ctrl)
{
	return le32_to_cpu(ctrl) & KVM_MSIX_ENTRY_CTRL_MASKBIT;
}

static inline bool msix_function_masked(struct kvm_msix_table_dev *t)
{
	return (t->ctrl & KVM_MSIX_CTRL_FUNCTION_MASK) ||
	       !(t->ctrl & KVM_MSIX_CTRL_ENABLE);
}

/* Deliver through @gsi's routes, as kvm_set_irq() does, bypassing the gate. */
static int msix_deliver(struct kvm *kvm, u32 gsi)
{
	struct kvm_kernel_irq_routing_entry e[KVM_NR_IRQCHIPS];
	int n, idx, r, ret = -1;

	idx = srcu_read_lock(&kvm->irq_srcu);
	n = kvm_irq_map_gsi(kvm, e, gsi);
	srcu_read_unlock(&kvm->irq_srcu, idx);

	while (n--) {
		r = e[n].set(&e[n], kvm, KVM_USERSPACE_IRQ_SOURCE_ID, 1, false);
		if (r >= 0)
			ret = r + (ret < 0 ? 0 : ret);
	}
	return ret;
}

/*
 * Pending bits: the kernel is their only writer while the VM runs.  Called
 * with t->lock held, on the VMM's address space.
 */
static int msix_pba_update(struct kvm_msix_table_dev *t, u32 index, bool set,
			   bool *was_set)
{
	__le64 __user *p = &t->pba[index / 64];
	u64 bit = BIT_ULL(index % 64);
	__le64 v;
	u64 pba;

	if (get_user(v, p))
		return -EFAULT;
	pba = le64_to_cpu(v);
	*was_set = pba & bit;
	if (*was_set == set)
		return 0;
	pba = set ? pba | bit : pba & ~bit;
	return put_user(cpu_to_le64(pba), p) ? -EFAULT : 0;
}

/*
 * The entry may have just been unmasked, or the function: if it is bound
 * and its Pending bit is set, deliver once and clear the bit.
 */
static void msix_deliver_pending(struct kvm_msix_table_dev *t, u32 index)
{
	struct kvm_msix_binding *b;
	__le32 ctrl;
	bool was_set;

	lockdep_assert_held(&t->lock);

	if (msix_function_masked(t))
		return;
	b = xa_load(&t->bindings, index);
	if (!b)
		return;
	if (get_user(ctrl, &t->table[index].ctrl) || msix_ctrl_masked(ctrl))
		return;
	if (!msix_pba_update(t, index, false, &was_set) && was_set)
		msix_deliver(t->kvm, b->gsi);
}

static int msix_store_ctrl(struct kvm_msix_table_dev *t, u32 index,
			   __le32 ctrl)
{
	if (put_user(ctrl, &t->table[index].ctrl))
		return -EOPNOTSUPP;
	if (!msix_ctrl_masked(ctrl))
		msix_deliver_pending(t, index);
	return 0;
}

/*
 * Unmask once userspace has seen the entry's new address and data: report
 * the entry now, store Vector Control on the next KVM_RUN.
 */
static void msix_defer_unmask(struct kvm_vcpu *vcpu,
			      struct kvm_msix_table_dev *t, u32 index,
			      const struct kvm_msix_entry *e)
{
	msix_report_entry(vcpu, t, index, e);
	vcpu->msix_exit.pending_ctrl = le32_to_cpu(e->ctrl);
	vcpu->msix_exit.unmask_pending = true;
}

/* A write of @len bytes at offset @off of the table. */
static int msix_table_write(struct kvm_vcpu *vcpu, struct kvm_msix_table_dev *t,
			    u64 off, int len, const void *val)
{
	u32 index = off / KVM_MSIX_ENTRY_SIZE, reg = off % KVM_MSIX_ENTRY_SIZE;
	struct kvm_msix_entry __user *ue = &t->table[index];
	struct kvm_msix_entry old, new;
	bool reporting;
	int r = -EOPNOTSUPP;

	mutex_lock(&t->lock);
	if (copy_from_user(&old, ue, sizeof(old)))
		goto out;
	new = old;
	memcpy((u8 *)&new + reg, val, len);

	/*
	 * An update whose exit is raised but not taken is not seen yet: it
	 * counts as unreported.  The exit reads the entry when it is taken,
	 * so reporting the same entry again costs nothing.
	 */
	reporting = msix_reporting(vcpu, t, index);
	switch (msix_decide_write(&old, &new,
				  t->flags & KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
				  reporting || xa_load(&t->dirty, index),
				  reporting || msix_can_report(vcpu))) {
	case MSIX_WRITE_NONE:
		r = 0;
		break;
	case MSIX_WRITE_CTRL:
		r = msix_store_ctrl(t, index, new.ctrl);
		break;
	case MSIX_WRITE_MARK:
		/* The pending exit will show this update too. */
		if (!reporting &&
		    xa_is_err(xa_store(&t->dirty, index, xa_mk_value(1),
				       GFP_KERNEL_ACCOUNT)))
			break;
		r = msix_write_user((u8 __user *)ue + reg, len, val);
		break;
	case MSIX_WRITE_REPORT_UNMASK:
		/* Vector Control waits for KVM_RUN; the rest is stored now. */
		if (new.data != old.data && put_user(new.data, &ue->data))
			break;
		if ((new.addr_lo != old.addr_lo || new.addr_hi != old.addr_hi) &&
		    msix_write_user((u8 __user *)ue + reg, len, val))
			break;
		msix_defer_unmask(vcpu, t, index, &new);
		r = 0;
		break;
	case MSIX_WRITE_REPORT:
		if (new.ctrl == old.ctrl) {
			if (msix_write_user((u8 __user *)ue + reg, len, val))
				break;
		} else {
			/* A QWORD over Data and Vector Control: Data first. */
			if (put_user(new.data, &ue->data) ||
			    put_user(new.ctrl, &ue->ctrl))
				break;
		}
		msix_report_entry(vcpu, t, index, &new);
		r = 0;
		break;
	case MSIX_WRITE_USER:
		break;
	}
out:
	mutex_unlock(&t->lock);
	return r;
}

static int msix_read(struct kvm_msix_table_dev *t, gpa_t addr, int len,
		     void *val)
{
	u64 off;

	switch (msix_decode(&t->layout, addr, len, &off)) {
	case MSIX_ACCESS_TABLE:
		return msix_read_user((u8 __user *)t->table + off, len, val);
	case MSIX_ACCESS_PBA:
		return msix_read_user((u8 __user *)t->pba + off, len, val);
	case MSIX_ACCESS_WINDOW:
		return msix_read_user(t->window + off, len, val);
	default:
		return -EOPNOTSUPP;
	}
}

static int msix_write(struct kvm_vcpu *vcpu, struct kvm_msix_table_dev *t,
		      gpa_t addr, int len, const void *val)
{
	u64 off;

	switch (msix_decode(&t->layout, addr, len, &off)) {
	case MSIX_ACCESS_TABLE:
		return msix_table_write(vcpu, t, off, len, val);
	case MSIX_ACCESS_PBA:
		/* Read-only for software; the spec leaves writes undefined. */
		return 0;
	case MSIX_ACCESS_WINDOW:
		return msix_write_user(t->window + off, len, val);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * Without a window the table and the PBA are two devices on the bus; with
 * one, table_dev covers the whole window.  Both decode the access against
 * the full layout.
 */
static int msix_table_dev_read(struct kvm_vcpu *vcpu,
			       struct kvm_io_device *this, gpa_t addr, int len,
			       void *val)
{
	return msix_read(to_table(this), addr, len, val);
}

static int msix_table_dev_write(struct kvm_vcpu *vcpu,
				struct kvm_io_device *this, gpa_t addr, int len,
				const void *val)
{
	return msix_write(vcpu, to_table(this), addr, len, val);
}

static int msix_pba_dev_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			     gpa_t addr, int len, void *val)
{
	return msix_read(to_pba(this), addr, len, val);
}

static int msix_pba_dev_write(struct kvm_vcpu *vcpu,
			      struct kvm_io_device *this, gpa_t addr, int len,
			      const void *val)
{
	return msix_write(vcpu, to_pba(this), addr, len, val);
}

static void msix_table_release(struct kref *ref)
{
	struct kvm_msix_table_dev *t =
		container_of(ref, struct kvm_msix_table_dev, ref);

	xa_destroy(&t->bindings);
	xa_destroy(&t->dirty);
	/* Injections find the table through bindings read under RCU. */
	kfree_rcu(t, rcu);
}

/*
 * Unlink and free a binding.  Under t->lock: a gate holding the lock uses
 * its binding without RCU protection.
 */
static void __msix_unbind(struct kvm_msix_table_dev *t,
			  struct kvm_msix_binding *b)
{
	lockdep_assert_held(&t->lock);

	xa_erase(&t->kvm->msix_gsis, b->gsi);
	xa_erase(&t->bindings, b->entry);
	kfree_rcu(b, rcu);
}

/* Give every GSI bound to @t back to plain delivery. */
static void msix_unbind_all(struct kvm_msix_table_dev *t)
{
	struct kvm_msix_binding *b;
	unsigned long index;

	mutex_lock(&t->lock);
	xa_for_each(&t->bindings, index, b)
		__msix_unbind(t, b);
	mutex_unlock(&t->lock);
}

/*
 * The bus destroys each device on its own, in address order, when a VM goes
 * away or when shrinking the bus fails; the table is unlinked with the last
 * one and freed with its last reference.
 */
static void msix_dev_destructor(struct kvm_msix_table_dev *t)
{
	if (!--t->nr_devs) {
		list_del(&t->list);
		msix_unbind_all(t);
	}
	kref_put(&t->ref, msix_table_release);
}

static void msix_table_destructor(struct kvm_io_device *this)
{
	msix_dev_destructor(to_table(this));
}

static void msix_pba_destructor(struct kvm_io_device *this)
{
	msix_dev_destructor(to_pba(this));
}

static const struct kvm_io_device_ops msix_table_ops = {
	.read       = msix_table_dev_read,
	.write      = msix_table_dev_write,
	.destructor = msix_table_destructor,
};

static const struct kvm_io_device_ops msix_pba_ops = {
	.read       = msix_pba_dev_read,
	.write      = msix_pba_dev_write,
	.destructor = msix_pba_destructor,
};

void kvm_msix_init(struct kvm *kvm)
{
	INIT_LIST_HEAD(&kvm->msix_tables);
	xa_init(&kvm->msix_gsis);
}

static struct kvm_msix_table_dev *msix_find_table(struct kvm *kvm, u32 id)
{
	struct kvm_msix_table_dev *t;

	lockdep_assert_held(&kvm->slots_lock);

	list_for_each_entry(t, &kvm->msix_tables, list)
		if (t->id == id)
			return t;
	return NULL;
}

/* Whether @l claims any of [@gpa, @gpa + @len): its window, or table and PBA. */
static bool msix_claims(const struct msix_layout *l, u64 gpa, u64 len)
{
	if (l->window_len)
		return msix_overlap(l->window_gpa, l->window_len, gpa, len);
	return msix_overlap(l->table_gpa, l->table_len, gpa, len) ||
	       msix_overlap(l->pba_gpa, l->pba_len, gpa, len);
}

static bool msix_layouts_overlap(const struct msix_layout *a,
				 const struct msix_layout *b)
{
	if (a->window_len)
		return msix_claims(b, a->window_gpa, a->window_len);
	return msix_claims(b, a->table_gpa, a->table_len) ||
	       msix_claims(b, a->pba_gpa, a->pba_len);
}

static bool msix_contains(u64 outer, u64 outer_len, u64 inner, u64 inner_len)
{
	return inner >= outer && inner + inner_len <= outer + outer_len;
}

/*
 * The window is usually a device's mmap()ed BAR (VM_IO | VM_PFNMAP): it
 * cannot be faulted in from here, and reading a register can have side
 * effects.  Only check that it is mapped, readable and writable.
 */
static int msix_check_mapped(unsigned long start, u64 len)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = start, end = start + len;
	struct vm_area_struct *vma;
	int r = 0;

	mmap_read_lock(mm);
	while (addr < end) {
		vma = vma_lookup(mm, addr);
		if (!vma || (vma->vm_flags & (VM_READ | VM_WRITE)) !=
			    (VM_READ | VM_WRITE)) {
			r = -EFAULT;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return r;
}

static int msix_check_window(const struct kvm_msix_table *table,
			     const struct msix_layout *l)
{
	u64 gpa = table->window_gpa, len = table->window_size;

	if (!(table->flags & KVM_MSIX_TABLE_FLAG_PASSTHROUGH))
		return gpa || len || table->window_uaddr ? -EINVAL : 0;

	/* The bus takes an int length; windows are meant to be pages. */
	if (!len || len > INT_MAX || !PAGE_ALIGNED(gpa) || !PAGE_ALIGNED(len) ||
	    gpa + len < gpa || !PAGE_ALIGNED(table->window_uaddr))
		return -EINVAL;
	if (!msix_contains(gpa, len, l->table_gpa, l->table_len) ||
	    !msix_contains(gpa, len, l->pba_gpa, l->pba_len))
		return -EINVAL;

	if (!access_ok(u64_to_user_ptr(table->window_uaddr), len))
		return -EFAULT;
	return msix_check_mapped(table->window_uaddr, len);
}

static int msix_check_table(const struct kvm_msix_table *table,
			    struct msix_layout *l)
{
	int r;

	if ((table->flags & ~KVM_MSIX_VALID_FLAGS) || table->pad ||
	    table->reserved)
		return -EINVAL;

	if (!table->nr_entries || table->nr_entries > KVM_MSIX_MAX_ENTRIES)
		return -EINVAL;
	l->table_gpa = table->table_gpa;
	l->table_len = table->nr_entries * KVM_MSIX_ENTRY_SIZE;
	l->pba_gpa = table->pba_gpa;
	l->pba_len = msix_pba_len(table->nr_entries);

	/* 8 byte alignment keeps every served access within one entry. */
	if ((table->table_gpa | table->pba_gpa) & 7)
		return -EINVAL;
	if ((table->table_uaddr | table->pba_uaddr) & 7)
		return -EINVAL;
	if (l->table_gpa + l->table_len < l->table_gpa ||
	    l->pba_gpa + l->pba_len < l->pba_gpa)
		return -EINVAL;
	if (msix_overlap(l->table_gpa, l->table_len, l->pba_gpa, l->pba_len))
		return -EINVAL;
	r = msix_check_window(table, l);
	if (r)
		return r;
	/* Both 0 without KVM_MSIX_TABLE_FLAG_PASSTHROUGH, as checked. */
	l->window_gpa = table->window_gpa;
	l->window_len = table->window_size;

	/*
	 * The memory must be there now; it is never written here, so that a
	 * VMM can restore a saved table before defining it.
	 */
	if (!access_ok(u64_to_user_ptr(table->table_uaddr), l->table_len) ||
	    !access_ok(u64_to_user_ptr(table->pba_uaddr), l->pba_len))
		return -EFAULT;
	if (fault_in_safe_writeable(u64_to_user_ptr(table->table_uaddr),
				    l->table_len) ||
	    fault_in_safe_writeable(u64_to_user_ptr(table->pba_uaddr),
				    l->pba_len))
		return -EFAULT;

	return 0;
}

int kvm_vm_ioctl_define_msix_table(struct kvm *kvm,
				   struct kvm_msix_table *table)
{
	struct kvm_msix_table_dev *t, *other;
	struct msix_layout l = {};
	int r;

	r = msix_check_table(table, &l);
	if (r)
		return r;

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;

	kvm_iodevice_init(&t->table_dev, &msix_table_ops);
	kvm_iodevice_init(&t->pba_dev, &msix_pba_ops);
	kref_init(&t->ref);
	mutex_init(&t->lock);
	xa_init(&t->bindings);
	xa_init(&t->dirty);
	t->kvm = kvm;
	t->id = table->id;
	t->flags = table->flags;
	t->nr_entries = table->nr_entries;
	t->layout = l;
	t->table = u64_to_user_ptr(table->table_uaddr);
	t->pba = u64_to_user_ptr(table->pba_uaddr);
	t->window = u64_to_user_ptr(table->window_uaddr);

	mutex_lock(&kvm->slots_lock);

	r = -EEXIST;
	list_for_each_entry(other, &kvm->msix_tables, list)
		if (other->id == t->id ||
		    msix_layouts_overlap(&other->layout, &t->layout))
			goto out_free;

	/* With a window, one device covers it, the table and PBA inside. */
	if (l.window_len)
		r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, l.window_gpa,
					    l.window_len, &t->table_dev);
	else
		r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, l.table_gpa,
					    l.table_len, &t->table_dev);
	if (r < 0)
		goto out_free;
	t->nr_devs = 1;
	list_add_tail(&t->list, &kvm->msix_tables);
	if (l.window_len)
		goto out_unlock;

	r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, l.pba_gpa, l.pba_len,
				    &t->pba_dev);
	if (r < 0) {
		/* Drops the only reference: unlinks and frees the table. */
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &t->table_dev);
		goto out_unlock;
	}
	t->nr_devs = 2;
	kref_get(&t->ref);
	goto out_unlock;

out_free:
	kfree(t);
out_unlock:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/*
 * IRQ bypass posts an assigned device's interrupts straight into the guest,
 * past any mask: re-evaluate posting for @gsi, which kvm-msix never posts
 * while it is bound (see kvm_arch_update_irqfd_routing()'s callers).
 */
static void msix_update_posting(struct kvm *kvm, u32 gsi)
{
#if IS_ENABLED(CONFIG_HAVE_KVM_IRQ_BYPASS)
	struct kvm_kernel_irqfd *irqfd;

	spin_lock_irq(&kvm->irqfds.lock);
	list_for_each_entry(irqfd, &kvm->irqfds.items, list) {
		if (irqfd->gsi != gsi || !irqfd->producer)
			continue;
		WARN_ON(kvm_arch_update_irqfd_routing(kvm, irqfd->producer->irq,
						      gsi,
						      !kvm_msix_gsi_bound(kvm, gsi)));
	}
	spin_unlock_irq(&kvm->irqfds.lock);
#endif
}

static void msix_unbind(struct kvm_msix_table_dev *t,
			struct kvm_msix_binding *b)
{
	u32 gsi = b->gsi;

	mutex_lock(&t->lock);
	__msix_unbind(t, b);
	mutex_unlock(&t->lock);
	msix_update_posting(t->kvm, gsi);
}

int kvm_vm_ioctl_remove_msix_table(struct kvm *kvm, u32 id)
{
	struct kvm_msix_table_dev *t;
	struct kvm_io_device *pba;
	struct kvm_msix_binding *b;
	unsigned long index;
	int r = 0;

	mutex_lock(&kvm->slots_lock);

	t = msix_find_table(kvm, id);
	if (!t) {
		r = -ENOENT;
		goto out;
	}

	xa_for_each(&t->bindings, index, b)
		msix_unbind(t, b);

	/*
	 * Unregistering waits for vCPUs still inside the device (SRCU) and
	 * then drops the device's reference.  On failure it destroys every
	 * device on the bus, this table's other half included, so the table
	 * is gone either way and must not be touched again.  From userspace's
	 * view the table is removed in both cases.  A table with a window
	 * is one device.
	 */
	pba = t->layout.window_len ? NULL : &t->pba_dev;
	if (!kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &t->table_dev) && pba)
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, pba);
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/* Only MSI routes can be gated: the entry's message is what they send. */
static bool msix_gsi_is_msi(struct kvm *kvm, u32 gsi)
{
	struct kvm_kernel_irq_routing_entry e[KVM_NR_IRQCHIPS];
	int n, idx;

	idx = srcu_read_lock(&kvm->irq_srcu);
	n = kvm_irq_map_gsi(kvm, e, gsi);
	srcu_read_unlock(&kvm->irq_srcu, idx);

	if (!n)
		return false;
	while (n--)
		if (e[n].type != KVM_IRQ_ROUTING_MSI)
			return false;
	return true;
}

static int msix_bind(struct kvm_msix_table_dev *t, u32 entry, u32 gsi)
{
	struct kvm *kvm = t->kvm;
	struct kvm_msix_binding *b, *old;
	int r;

	if (!msix_gsi_is_msi(kvm, gsi))
		return -EINVAL;

	old = xa_load(&kvm->msix_gsis, gsi);
	if (old)
		return old->t == t && old->entry == entry ? 0 : -EBUSY;

	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->t = t;
	b->entry = entry;
	b->gsi = gsi;

	/* Rebinding an entry moves it to the new GSI. */
	old = xa_load(&t->bindings, entry);
	if (old)
		msix_unbind(t, old);

	mutex_lock(&t->lock);
	r = xa_err(xa_store(&t->bindings, entry, b, GFP_KERNEL_ACCOUNT));
	if (!r) {
		r = xa_insert(&kvm->msix_gsis, gsi, b, GFP_KERNEL_ACCOUNT);
		if (r)
			xa_erase(&t->bindings, entry);
	}
	mutex_unlock(&t->lock);
	if (r) {
		kfree(b);
		return r;
	}
	msix_update_posting(kvm, gsi);
	return 0;
}

int kvm_vm_ioctl_set_msix_entry_irq(struct kvm *kvm,
				    struct kvm_msix_entry_irq *irq)
{
	struct kvm_msix_table_dev *t;
	struct kvm_msix_binding *b;
	int r;

	if (irq->flags & ~KVM_MSIX_ENTRY_IRQ_UNBIND)
		return -EINVAL;
	if ((irq->flags & KVM_MSIX_ENTRY_IRQ_UNBIND) && irq->gsi)
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	t = msix_find_table(kvm, irq->table_id);
	if (!t) {
		r = -ENOENT;
	} else if (irq->entry >= t->nr_entries) {
		r = -EINVAL;
	} else if (irq->flags & KVM_MSIX_ENTRY_IRQ_UNBIND) {
		b = xa_load(&t->bindings, irq->entry);
		if (b)
			msix_unbind(t, b);
		r = b ? 0 : -ENOENT;
	} else {
		r = msix_bind(t, irq->entry, irq->gsi);
	}
	mutex_unlock(&kvm->slots_lock);
	return r;
}

int kvm_vm_ioctl_set_msix_table_ctrl(struct kvm *kvm,
				     struct kvm_msix_table_ctrl *ctrl)
{
	struct kvm_msix_table_dev *t;
	struct kvm_msix_binding *b;
	unsigned long index;
	int r = 0;

	if (ctrl->flags & ~KVM_MSIX_VALID_CTRL)
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	t = msix_find_table(kvm, ctrl->id);
	if (!t) {
		r = -ENOENT;
		goto out;
	}

	/*
	 * Clearing Function Mask or setting Enable releases what the entries
	 * held.  Rescan every time: a VMM that emulated a Vector Control
	 * write in userspace calls this to have the kernel see the unmask.
	 */
	mutex_lock(&t->lock);
	t->ctrl = ctrl->flags;
	xa_for_each(&t->bindings, index, b)
		msix_deliver_pending(t, index);
	mutex_unlock(&t->lock);
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/*
 * The table is the VMM's memory.  irqfd injection runs in a kworker: lend
 * it the VMM's address space, as async page faults do.  Returns 1 if it
 * did, 0 if current already runs on it, < 0 if the memory is unreachable.
 */
static int msix_use_mm(struct kvm *kvm)
{
	if (current->mm == kvm->mm)
		return 0;
	if (current->mm || !(current->flags & PF_KTHREAD))
		return -EFAULT;
	if (!mmget_not_zero(kvm->mm))
		return -EFAULT;
	kthread_use_mm(kvm->mm);
	return 1;
}

static void msix_unuse_mm(struct kvm *kvm, int used)
{
	if (used > 0) {
		kthread_unuse_mm(kvm->mm);
		mmput(kvm->mm);
	}
}

/* Deliver, or hold as pending while the entry is masked.  t->lock held. */
static int msix_gate(struct kvm_msix_table_dev *t, u32 index, u32 gsi)
{
	__le32 ctrl;
	bool was_set;

	/*
	 * Should the memory be gone, deliver: losing an interrupt is worse
	 * than delivering one the guest masked.
	 */
	if (get_user(ctrl, &t->table[index].ctrl))
		return msix_deliver(t->kvm, gsi);
	if (!msix_ctrl_masked(ctrl) && !msix_function_masked(t))
		return msix_deliver(t->kvm, gsi);
	if (msix_pba_update(t, index, true, &was_set))
		return msix_deliver(t->kvm, gsi);
	return 0;
}

/* kvm_set_irq() of a GSI that is bound to an entry. */
int kvm_msix_set_irq(struct kvm *kvm, u32 gsi)
{
	struct kvm_msix_table_dev *t = NULL;
	struct kvm_msix_binding *b;
	u32 index = 0;
	int used, r;

	rcu_read_lock();
	b = xa_load(&kvm->msix_gsis, gsi);
	if (b && kref_get_unless_zero(&b->t->ref)) {
		t = b->t;
		index = b->entry;
	}
	rcu_read_unlock();
	if (!t)
		return msix_deliver(kvm, gsi);

	used = msix_use_mm(kvm);
	mutex_lock(&t->lock);
	/* Unbound while this waited for the lock: plain delivery. */
	b = xa_load(&t->bindings, index);
	if (used < 0 || !b || b->gsi != gsi)
		r = msix_deliver(kvm, gsi);
	else
		r = msix_gate(t, index, gsi);
	mutex_unlock(&t->lock);
	msix_unuse_mm(kvm, used);

	kref_put(&t->ref, msix_table_release);
	return r;
}

/* On KVM_RUN after an exit that deferred an unmask. */
void kvm_msix_complete_unmask(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_msix_table_dev *t;
	u32 index = vcpu->msix_exit.entry;

	/*
	 * Another exit (an MMIO exit for the rest of the same instruction)
	 * came first: userspace has not seen the entry yet.
	 */
	if (kvm_test_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu))
		return;
	vcpu->msix_exit.unmask_pending = false;

	mutex_lock(&kvm->slots_lock);
	t = msix_find_table(kvm, vcpu->msix_exit.table_id);
	if (t && index < t->nr_entries) {
		mutex_lock(&t->lock);
		msix_store_ctrl(t, index, cpu_to_le32(vcpu->msix_exit.pending_ctrl));
		mutex_unlock(&t->lock);
	}
	mutex_unlock(&kvm->slots_lock);
}

void kvm_msix_prepare_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_msix_entry e;

	/*
	 * Report what the entry holds now: the rest of a string instruction
	 * may have changed it through userspace since the write that raised
	 * the request.  The memory is the VMM's and outlives the table; if it
	 * is gone, report what the kernel wrote.  A deferred unmask is not in
	 * memory yet: report the Vector Control it will store.
	 */
	if (!copy_from_user(&e, vcpu->msix_exit.uentry, sizeof(e)))
		msix_entry_to_exit(vcpu, &e);
	if (vcpu->msix_exit.unmask_pending)
		vcpu->msix_exit.vector_ctrl = vcpu->msix_exit.pending_ctrl;

	run->exit_reason = KVM_EXIT_MSIX_ENTRY_UPDATED;
	run->msix_entry_updated.table_id = vcpu->msix_exit.table_id;
	run->msix_entry_updated.entry = vcpu->msix_exit.entry;
	run->msix_entry_updated.address = vcpu->msix_exit.address;
	run->msix_entry_updated.data = vcpu->msix_exit.data;
	run->msix_entry_updated.vector_ctrl = vcpu->msix_exit.vector_ctrl;
}
