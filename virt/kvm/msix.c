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
#include <linux/xarray.h>

#include <kvm/iodev.h>

#include "msix.h"

/* One MSI-X table entry as the guest sees it (PCI 3.0 6.8.2.6-9). */
struct kvm_msix_entry {
	__le32 addr_lo;
	__le32 addr_hi;
	__le32 data;
	__le32 ctrl;
};

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
	u32 table_len;
	u32 pba_len;
	gpa_t table_gpa;
	gpa_t pba_gpa;
	struct kvm_msix_entry __user *table;
	__le64 __user *pba;
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

#define KVM_MSIX_VALID_FLAGS	KVM_MSIX_TABLE_FLAG_DEFER_UPDATES
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
 * The PCI spec leaves everything but aligned DWORD and QWORD accesses
 * undefined.  Serve only those; anything else goes to userspace.  With 16
 * byte entries and 8 byte aligned ranges, an access that passes this check
 * never crosses an entry.
 */
static bool msix_access_ok(gpa_t base, u32 size, gpa_t addr, int len)
{
	if (len != 4 && len != 8)
		return false;
	if (addr & (len - 1))
		return false;
	return addr >= base && addr - base <= size - len;
}

/* Returns the offset of an access that msix_access_ok() accepted. */
static inline u32 msix_offset(gpa_t base, u32 size, gpa_t addr)
{
	return array_index_nospec((u32)(addr - base), size);
}

/*
 * get_user() of the full width keeps the guest's DWORD or QWORD access
 * single-copy atomic against a VMM writing the same memory.  A fault (the
 * VMM unmapped its memory) leaves the access to userspace.
 */
static int msix_read_user(void __user *p, int len, void *val)
{
	if (len == 4) {
		u32 v;

		if (get_user(v, (u32 __user *)p))
			return -EOPNOTSUPP;
		memcpy(val, &v, sizeof(v));
	} else {
		u64 v;

		if (get_user(v, (u64 __user *)p))
			return -EOPNOTSUPP;
		memcpy(val, &v, sizeof(v));
	}
	return 0;
}

static int msix_write_user(void __user *p, int len, const void *val)
{
	int r;

	if (len == 4) {
		u32 v;

		memcpy(&v, val, sizeof(v));
		r = put_user(v, (u32 __user *)p);
	} else {
		u64 v;

		memcpy(&v, val, sizeof(v));
		r = put_user(v, (u64 __user *)p);
	}
	return r ? -EOPNOTSUPP : 0;
}

/* A read of the range [@base, @base + @size) that @mem backs. */
static int msix_range_read(gpa_t base, u32 size, void __user *mem,
			   gpa_t addr, int len, void *val)
{
	if (!msix_access_ok(base, size, addr, len))
		return -EOPNOTSUPP;

	return msix_read_user((u8 __user *)mem + msix_offset(base, size, addr),
			      len, val);
}

static int msix_table_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			   gpa_t addr, int len, void *val)
{
	struct kvm_msix_table_dev *t = to_table(this);

	return msix_range_read(t->table_gpa, t->table_len, t->table, addr, len,
			       val);
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

static int msix_table_write(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			    gpa_t addr, int len, const void *val)
{
	struct kvm_msix_table_dev *t = to_table(this);
	struct kvm_msix_entry old, new;
	struct kvm_msix_entry __user *ue;
	u32 off, index, reg;
	bool unmasking;
	int r = -EOPNOTSUPP;

	if (!msix_access_ok(t->table_gpa, t->table_len, addr, len))
		return -EOPNOTSUPP;

	off = msix_offset(t->table_gpa, t->table_len, addr);
	index = off / KVM_MSIX_ENTRY_SIZE;
	reg = off % KVM_MSIX_ENTRY_SIZE;
	ue = &t->table[index];

	mutex_lock(&t->lock);
	if (copy_from_user(&old, ue, sizeof(old)))
		goto out;
	new = old;
	memcpy((u8 *)&new + reg, val, len);
	if (!memcmp(&new, &old, sizeof(new))) {
		r = 0;
		goto out;
	}
	unmasking = msix_ctrl_masked(old.ctrl) && !msix_ctrl_masked(new.ctrl);

	/*
	 * Vector Control is stored verbatim, reserved bits included: with TPH
	 * its upper half carries a steering tag.  It needs userspace only to
	 * unmask an entry whose new address or data userspace has not seen.
	 */
	if (new.addr_lo == old.addr_lo && new.addr_hi == old.addr_hi &&
	    new.data == old.data) {
		if (!unmasking || !xa_load(&t->dirty, index)) {
			r = msix_store_ctrl(t, index, new.ctrl);
			goto out;
		}
		if (!msix_can_report(vcpu))
			goto out;
		msix_defer_unmask(vcpu, t, index, &new);
		r = 0;
		goto out;
	}

	/* With deferred updates, a masked entry is reported when unmasked. */
	if ((t->flags & KVM_MSIX_TABLE_FLAG_DEFER_UPDATES) &&
	    msix_ctrl_masked(new.ctrl) && msix_ctrl_masked(old.ctrl)) {
		if (xa_is_err(xa_store(&t->dirty, index, xa_mk_value(1),
				       GFP_KERNEL_ACCOUNT)))
			goto out;
		r = msix_write_user((u8 __user *)ue + reg, len, val);
		goto out;
	}

	/* The address or data changed: userspace must hear of it first. */
	if (!msix_can_report(vcpu))
		goto out;

	if (new.ctrl == old.ctrl) {
		if (msix_write_user((u8 __user *)ue + reg, len, val))
			goto out;
	} else {
		/* A QWORD over Data and Vector Control: store Data first. */
		if (put_user(new.data, &ue->data))
			goto out;
		if (unmasking) {
			msix_defer_unmask(vcpu, t, index, &new);
			r = 0;
			goto out;
		}
		if (put_user(new.ctrl, &ue->ctrl))
			goto out;
	}
	msix_report_entry(vcpu, t, index, &new);
	r = 0;
out:
	mutex_unlock(&t->lock);
	return r;
}

static int msix_pba_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			 gpa_t addr, int len, void *val)
{
	struct kvm_msix_table_dev *t = to_pba(this);

	return msix_range_read(t->pba_gpa, t->pba_len, t->pba, addr, len, val);
}

/* The PBA is read-only for software; the spec leaves writes undefined. */
static int msix_pba_write(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			  gpa_t addr, int len, const void *val)
{
	struct kvm_msix_table_dev *t = to_pba(this);

	return msix_access_ok(t->pba_gpa, t->pba_len, addr, len) ?
	       0 : -EOPNOTSUPP;
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
	.read       = msix_table_read,
	.write      = msix_table_write,
	.destructor = msix_table_destructor,
};

static const struct kvm_io_device_ops msix_pba_ops = {
	.read       = msix_pba_read,
	.write      = msix_pba_write,
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

static bool ranges_overlap(gpa_t a, u32 a_len, gpa_t b, u32 b_len)
{
	return a < b + b_len && b < a + a_len;
}

static bool msix_overlaps(const struct kvm_msix_table_dev *t, gpa_t gpa,
			  u32 len)
{
	return ranges_overlap(t->table_gpa, t->table_len, gpa, len) ||
	       ranges_overlap(t->pba_gpa, t->pba_len, gpa, len);
}

static int msix_check_table(const struct kvm_msix_table *table)
{
	u32 table_len, pba_len;
	int i;

	if ((table->flags & ~KVM_MSIX_VALID_FLAGS) || table->pad)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(table->reserved); i++)
		if (table->reserved[i])
			return -EINVAL;

	if (!table->nr_entries || table->nr_entries > KVM_MSIX_MAX_ENTRIES)
		return -EINVAL;
	table_len = table->nr_entries * KVM_MSIX_ENTRY_SIZE;
	pba_len = msix_pba_len(table->nr_entries);

	/* 8 byte alignment keeps every served access within one entry. */
	if ((table->table_gpa | table->pba_gpa) & 7)
		return -EINVAL;
	if ((table->table_uaddr | table->pba_uaddr) & 7)
		return -EINVAL;
	if (table->table_gpa + table_len < table->table_gpa ||
	    table->pba_gpa + pba_len < table->pba_gpa)
		return -EINVAL;
	if (ranges_overlap(table->table_gpa, table_len, table->pba_gpa, pba_len))
		return -EINVAL;

	/*
	 * The memory must be there now; it is never written here, so that a
	 * VMM can restore a saved table before defining it.
	 */
	if (!access_ok(u64_to_user_ptr(table->table_uaddr), table_len) ||
	    !access_ok(u64_to_user_ptr(table->pba_uaddr), pba_len))
		return -EFAULT;
	if (fault_in_safe_writeable(u64_to_user_ptr(table->table_uaddr),
				    table_len) ||
	    fault_in_safe_writeable(u64_to_user_ptr(table->pba_uaddr), pba_len))
		return -EFAULT;

	return 0;
}

int kvm_vm_ioctl_define_msix_table(struct kvm *kvm,
				   struct kvm_msix_table *table)
{
	struct kvm_msix_table_dev *t, *other;
	int r;

	r = msix_check_table(table);
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
	t->table_len = table->nr_entries * KVM_MSIX_ENTRY_SIZE;
	t->pba_len = msix_pba_len(table->nr_entries);
	t->table_gpa = table->table_gpa;
	t->pba_gpa = table->pba_gpa;
	t->table = u64_to_user_ptr(table->table_uaddr);
	t->pba = u64_to_user_ptr(table->pba_uaddr);

	mutex_lock(&kvm->slots_lock);

	r = -EEXIST;
	list_for_each_entry(other, &kvm->msix_tables, list)
		if (other->id == t->id ||
		    msix_overlaps(other, t->table_gpa, t->table_len) ||
		    msix_overlaps(other, t->pba_gpa, t->pba_len))
			goto out_free;

	r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, t->table_gpa,
				    t->table_len, &t->table_dev);
	if (r < 0)
		goto out_free;
	t->nr_devs = 1;
	list_add_tail(&t->list, &kvm->msix_tables);

	r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, t->pba_gpa,
				    t->pba_len, &t->pba_dev);
	if (r < 0) {
		/* Drops the only reference: unlinks and frees the table. */
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &t->table_dev);
		goto out_unlock;
	}
	t->nr_devs = 2;
	kref_get(&t->ref);

	mutex_unlock(&kvm->slots_lock);
	return 0;

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
	 * view the table is removed in both cases.
	 */
	if (!kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &t->table_dev))
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &t->pba_dev);
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
