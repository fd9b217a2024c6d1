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
 */

#include <linux/kvm_host.h>
#include <linux/kvm.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

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
	/* One reference per device registered on the bus. */
	struct kref ref;
	struct kvm *kvm;
	u32 id;
	u32 nr_entries;
	u32 table_len;
	u32 pba_len;
	gpa_t table_gpa;
	gpa_t pba_gpa;
	struct kvm_msix_entry __user *table;
	u8 __user *pba;
	/* KVM_MSIX_CTRL_*, written by KVM_SET_MSIX_TABLE_CTRL. */
	u32 ctrl;
};

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

static int msix_table_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			   gpa_t addr, int len, void *val)
{
	struct kvm_msix_table_dev *t = to_table(this);
	u32 off;

	if (!msix_access_ok(t->table_gpa, t->table_len, addr, len))
		return -EOPNOTSUPP;

	off = msix_offset(t->table_gpa, t->table_len, addr);
	return msix_read_user((u8 __user *)t->table + off, len, val);
}

static void msix_entry_to_exit(struct kvm_vcpu *vcpu,
			       const struct kvm_msix_entry *e)
{
	vcpu->msix_exit.address = (u64)le32_to_cpu(e->addr_hi) << 32 |
				  le32_to_cpu(e->addr_lo);
	vcpu->msix_exit.data = le32_to_cpu(e->data);
	vcpu->msix_exit.vector_ctrl = le32_to_cpu(e->ctrl);
}

/* Record the entry for KVM_EXIT_MSIX_ENTRY_UPDATED. */
static void msix_report_entry(struct kvm_vcpu *vcpu,
			      struct kvm_msix_table_dev *t, u32 index,
			      const struct kvm_msix_entry *e)
{
	vcpu->msix_exit.table_id = t->id;
	vcpu->msix_exit.entry = index;
	vcpu->msix_exit.uentry = &t->table[index];
	msix_entry_to_exit(vcpu, e);
	kvm_make_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu);
}

static int msix_table_write(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			    gpa_t addr, int len, const void *val)
{
	struct kvm_msix_table_dev *t = to_table(this);
	struct kvm_msix_entry old, new;
	struct kvm_msix_entry __user *ue;
	u32 off, index, reg;

	if (!msix_access_ok(t->table_gpa, t->table_len, addr, len))
		return -EOPNOTSUPP;

	off = msix_offset(t->table_gpa, t->table_len, addr);
	index = off / KVM_MSIX_ENTRY_SIZE;
	reg = off % KVM_MSIX_ENTRY_SIZE;
	ue = &t->table[index];

	if (copy_from_user(&old, ue, sizeof(old)))
		return -EOPNOTSUPP;
	new = old;
	memcpy((u8 *)&new + reg, val, len);

	/*
	 * Vector Control is stored verbatim, reserved bits included: with TPH
	 * its upper half carries a steering tag.  It never needs userspace.
	 */
	if (new.addr_lo == old.addr_lo && new.addr_hi == old.addr_hi &&
	    new.data == old.data) {
		if (new.ctrl == old.ctrl)
			return 0;
		return put_user(new.ctrl, &ue->ctrl) ? -EOPNOTSUPP : 0;
	}

	/*
	 * The address or data changed, which userspace must hear about before
	 * the guest runs again.  A vCPU reports one entry per exit; should the
	 * same instruction change a second entry (REP MOVS, a 16 byte store
	 * split in two), leave that write to userspace as a plain MMIO exit.
	 */
	if (!vcpu || kvm_test_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu))
		return -EOPNOTSUPP;

	if (msix_write_user((u8 __user *)ue + reg, len, val))
		return -EOPNOTSUPP;

	msix_report_entry(vcpu, t, index, &new);
	return 0;
}

static int msix_pba_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			 gpa_t addr, int len, void *val)
{
	struct kvm_msix_table_dev *t = to_pba(this);
	u32 off;

	if (!msix_access_ok(t->pba_gpa, t->pba_len, addr, len))
		return -EOPNOTSUPP;

	off = msix_offset(t->pba_gpa, t->pba_len, addr);
	return msix_read_user(t->pba + off, len, val);
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

	list_del(&t->list);
	kfree(t);
}

/*
 * The bus destroys each device on its own, in address order, when a VM goes
 * away or when shrinking the bus fails; free the table with the last one.
 */
static void msix_table_destructor(struct kvm_io_device *this)
{
	kref_put(&to_table(this)->ref, msix_table_release);
}

static void msix_pba_destructor(struct kvm_io_device *this)
{
	kref_put(&to_pba(this)->ref, msix_table_release);
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

	if (table->flags || table->pad)
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
	t->kvm = kvm;
	t->id = table->id;
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
	list_add_tail(&t->list, &kvm->msix_tables);

	r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, t->pba_gpa,
				    t->pba_len, &t->pba_dev);
	if (r < 0) {
		/* Drops the only reference: unlinks and frees the table. */
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &t->table_dev);
		goto out_unlock;
	}
	kref_get(&t->ref);

	mutex_unlock(&kvm->slots_lock);
	return 0;

out_free:
	kfree(t);
out_unlock:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

int kvm_vm_ioctl_remove_msix_table(struct kvm *kvm, u32 id)
{
	struct kvm_msix_table_dev *t;
	int r = 0;

	mutex_lock(&kvm->slots_lock);

	t = msix_find_table(kvm, id);
	if (!t) {
		r = -ENOENT;
		goto out;
	}

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

int kvm_vm_ioctl_set_msix_entry_irq(struct kvm *kvm,
				    struct kvm_msix_entry_irq *irq)
{
	return -EOPNOTSUPP;
}

int kvm_vm_ioctl_set_msix_table_ctrl(struct kvm *kvm,
				     struct kvm_msix_table_ctrl *ctrl)
{
	struct kvm_msix_table_dev *t;
	int r = 0;

	if (ctrl->flags & ~KVM_MSIX_VALID_CTRL)
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	t = msix_find_table(kvm, ctrl->id);
	if (t)
		WRITE_ONCE(t->ctrl, ctrl->flags);
	else
		r = -ENOENT;
	mutex_unlock(&kvm->slots_lock);
	return r;
}

void kvm_msix_prepare_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_msix_entry e;

	/*
	 * Report what the entry holds now: the rest of a string instruction
	 * may have changed it through userspace since the write that raised
	 * the request.  The memory is the VMM's and outlives the table; if it
	 * is gone, report what the kernel wrote.
	 */
	if (!copy_from_user(&e, vcpu->msix_exit.uentry, sizeof(e)))
		msix_entry_to_exit(vcpu, &e);

	run->exit_reason = KVM_EXIT_MSIX_ENTRY_UPDATED;
	run->msix_entry_updated.table_id = vcpu->msix_exit.table_id;
	run->msix_entry_updated.entry = vcpu->msix_exit.entry;
	run->msix_entry_updated.address = vcpu->msix_exit.address;
	run->msix_entry_updated.data = vcpu->msix_exit.data;
	run->msix_entry_updated.vector_ctrl = vcpu->msix_exit.vector_ctrl;
}
