// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM in-kernel MSI-X table emulation
 *
 * A table is one or two MMIO devices on KVM_MMIO_BUS (over the guest's MSI-X
 * table and its Pending Bit Array, or over a passthrough window holding
 * both), backed by memory the VMM supplies.  The kernel keeps no copy, so
 * the VMM can read, save and restore the table at any time, and whatever
 * access the kernel declines reaches the VMM as an ordinary KVM_EXIT_MMIO
 * that it emulates against the same memory.
 *
 * The kernel serves aligned DWORD and QWORD reads of both ranges and writes
 * to the table.  Every write is in the memory when the guest instruction
 * completes; one that changes an entry's Message Address or Data is also
 * reported with KVM_EXIT_MSIX_ENTRY_UPDATED, unless the VMM asked not to
 * hear of it.
 *
 * An interrupt on an entry (a GSI bound to it with KVM_SET_MSIX_ENTRY_IRQ,
 * or KVM_SIGNAL_MSIX) is what the function would send: the entry's Message
 * Address and Data as they are in the table at that moment, or, while the
 * vector is masked (its Mask bit, Function Mask, or MSI-X disabled), its
 * Pending bit, delivered once on unmask.  No delivery waits for the VMM,
 * and none can use a message that is not the entry's.  The exception is a
 * message in interrupt-remapping format: only the VMM can translate it, so
 * it goes through the bound GSI's route and is held while the VMM has not
 * seen its latest change.
 *
 * Interrupts far outnumber mask writes, so an interrupt is decided where it
 * arrives, as KVM decides an MSI: in the irqfd wakeup (atomic, maybe a
 * device's hard interrupt), or the ioctl.  The table and PBA pages are
 * pinned while the table is defined and read and written through the
 * kernel's mapping.  (A gfn_to_pfn_cache on the VMM's addresses would keep
 * them movable, but its refresh only notices invalidations of memslot
 * ranges, and the table is in none.)  Decisions hold the
 * table's rwlock for read, so the entries of one table are raised in
 * parallel; guest table writes, KVM_SET_MSIX_TABLE_CTRL and report
 * acknowledgements hold it for write.  Hence: a mask write stores the Mask
 * bit under the write lock, so each decision either completed before it
 * (its delivery is in the local APIC) or reads the bit and sets the
 * Pending bit; an unmask stores the bit and then clears the Pending bit
 * atomically under the same lock, so no decision sets the bit between the
 * unmask's store and its clear, and what was pending is sent exactly once.
 * Pending bits are set and cleared with cmpxchg on their DWORD, which the
 * VMM changes only atomically too.  IRQ bypass may post a bound GSI only
 * while its entry would deliver what the route carries; a mask switches it
 * to remapped mode before the write completes.
 *
 * With a passthrough window (an assigned device's BAR page(s) around the
 * table) guest accesses outside the table and the PBA are performed on the
 * VMM's mapping of the device, one load or store of the guest's width each.
 */

#include <linux/bitmap.h>
#include <linux/kvm_host.h>
#include <linux/kvm.h>
#include <linux/kvm_irqfd.h>
#include <linux/highmem.h>
#include <linux/jump_label_ratelimit.h>
#include <linux/kref.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/rwlock.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/xarray.h>

#include <kvm/iodev.h>

#include <trace/events/kvm.h>

#include "msix.h"
#include "msix_decode.h"

/*
 * One range on KVM_MMIO_BUS: the table, the PBA, or (passthrough) a window
 * holding both.  It decodes against its own copy of the layout, so that a
 * table being moved is served at its old place until its new devices are
 * registered.
 */
struct msix_bus_dev {
	struct kvm_io_device dev;
	struct kvm_msix_table_dev *t;
	struct msix_layout layout;
};

struct kvm_msix_table_dev {
	/* kvm->msix_tables (by id) holds a reference. */
	struct kref ref;
	/* What is on the bus now (none when unmapped).  slots_lock. */
	struct msix_bus_dev *devs[2];
	struct kvm *kvm;
	/* Tells this table from a later one under the same id. */
	u64 gen;
	u32 id;
	u32 flags;
	u32 nr_entries;
	u32 devid;
	/* Where the table is now, or nowhere.  slots_lock. */
	struct msix_layout layout;
	bool unmapped;
	struct kvm_msix_entry __user *table;
	__le64 __user *pba;
	/* The VMM's mapping of the window (passthrough only). */
	u8 __user *window;
	/*
	 * Interrupt decisions take it for read, so that entries of one table
	 * are raised in parallel; guest table writes, KVM_SET_MSIX_TABLE_CTRL
	 * and acknowledgements take it for write, so that once a mask write
	 * has completed no delivery decided before it is still to come.  A
	 * device's hard interrupt may raise an entry: writers disable
	 * interrupts; readers need not, as readers in interrupt context never
	 * wait for a waiting writer (queued rwlock; tasklist_lock does the
	 * same).  Protects the fields below.
	 */
	rwlock_t lock;
	/* KVM_MSIX_CTRL_*, written by KVM_SET_MSIX_TABLE_CTRL. */
	u32 ctrl;
	/* Numbers the reports of remapping-format entries. */
	u32 report_seq;
	/* entry -> struct kvm_msix_binding; written under slots_lock. */
	struct xarray bindings;
	/* Deferred mode: entries changed while masked, not reported yet. */
	unsigned long *dirty;
	/*
	 * Per entry, the report number of a remapping-format entry whose
	 * change is reported, or about to be, and whose vCPU has not called
	 * KVM_RUN since (0: none).  Its interrupts are held until then.
	 * Allocated at the first such report; read with msix_unacked().
	 */
	u32 *unacked;
	struct rcu_head rcu;
	/*
	 * The VMM's pages holding the table, then the PBA, pinned while the
	 * table is defined: interrupts are decided on them in atomic context
	 * (an irqfd wakeup, maybe a device's hard interrupt), where userspace
	 * memory cannot be touched.  nr_pinned of nr_pages are.
	 */
	u32 nr_table_pages;
	u32 nr_pinned;
	u32 nr_pages;
	struct page *pages[] __counted_by(nr_pages);
};

/* An entry bound to a GSI; in kvm->msix_gsis and in its table's bindings. */
struct kvm_msix_binding {
	struct kvm_msix_table_dev *t;
	u32 entry;
	u32 gsi;
	/*
	 * Whether IRQ bypass may post the GSI (the mode last asked of its
	 * producers' IRTEs).  kvm->irqfds.lock.
	 */
	bool posted;
	/* Unbound: decisions that found it before must not use it. t->lock. */
	bool retired;
	struct rcu_head rcu;
};

/* The flags a table keeps; MOVE is an operation.  KVM_CAP_MSIX_TABLE_FLAGS. */
#define KVM_MSIX_TABLE_FLAGS	(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES | \
				 KVM_MSIX_TABLE_FLAG_PASSTHROUGH | \
				 KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS | \
				 KVM_MSIX_TABLE_FLAG_UNMAPPED | \
				 KVM_MSIX_TABLE_FLAG_DEVID)
#define KVM_MSIX_VALID_FLAGS	(KVM_MSIX_TABLE_FLAGS | KVM_MSIX_TABLE_FLAG_MOVE)
#define KVM_MSIX_VALID_CTRL	(KVM_MSIX_CTRL_ENABLE | \
				 KVM_MSIX_CTRL_FUNCTION_MASK | \
				 KVM_MSIX_CTRL_TRANSLATED)

/*
 * Tables off the bus take no bus slot; this bounds what a VM can allocate
 * (with the bus's own 1000 devices, at most 500 tables can be on the bus).
 */
#define KVM_MSIX_MAX_TABLES	1024

static atomic64_t msix_generation;

static inline struct msix_bus_dev *to_bus_dev(struct kvm_io_device *dev)
{
	return container_of(dev, struct msix_bus_dev, dev);
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

/*
 * The architecture keeps the record of the entry a vCPU reports
 * (KVM_MSIX_TABLE's Kconfig entry).
 */
static inline struct kvm_msix_exit *msix_exit_of(struct kvm_vcpu *vcpu)
{
	return &vcpu->arch.msix_exit;
}

static void msix_entry_to_exit(struct kvm_msix_exit *x,
			       const struct kvm_msix_entry *e)
{
	x->address = (u64)le32_to_cpu(e->addr_hi) << 32 |
		     le32_to_cpu(e->addr_lo);
	x->data = le32_to_cpu(e->data);
	x->vector_ctrl = le32_to_cpu(e->ctrl);
}

/*
 * A vCPU reports one entry per exit; should the same instruction change a
 * second entry that needs a report (REP MOVS, a 16 byte store split in two),
 * leave that write to userspace as a plain MMIO exit.
 */
static bool msix_can_report(struct kvm_vcpu *vcpu)
{
	return vcpu && !kvm_test_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu);
}

/*
 * This vCPU's pending exit reports entry @index of @t: a later element of
 * the same instruction (the second QWORD of a 16 byte store, the next DWORD
 * of REP MOVS) may report it again; the exit reads the entry when it is
 * taken, so that costs nothing.
 */
static bool msix_reporting(struct kvm_vcpu *vcpu, struct kvm_msix_table_dev *t,
			   u32 index)
{
	return vcpu && kvm_test_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu) &&
	       msix_exit_of(vcpu)->gen == t->gen &&
	       msix_exit_of(vcpu)->entry == index;
}

static inline bool msix_function_masked(struct kvm_msix_table_dev *t)
{
	u32 ctrl = READ_ONCE(t->ctrl);

	return (ctrl & KVM_MSIX_CTRL_FUNCTION_MASK) ||
	       !(ctrl & KVM_MSIX_CTRL_ENABLE);
}

static inline bool msix_dirty(struct kvm_msix_table_dev *t, u32 index)
{
	return t->dirty && test_bit(index, t->dirty);
}

/*
 * Whether only the VMM can tell where the entry's message goes: it is in
 * remapping format, or the VMM said its vIOMMU translates every message of
 * the function (KVM_MSIX_CTRL_TRANSLATED: AMD-Vi interrupt remapping, whose
 * messages look like compatibility format, or VT-d with compatibility
 * format blocked).
 */
static inline bool msix_translated(struct kvm_msix_table_dev *t,
				   const struct kvm_msix_entry *e)
{
	return (t->ctrl & KVM_MSIX_CTRL_TRANSLATED) || msix_entry_remappable(e);
}

static u32 msix_unacked(struct kvm_msix_table_dev *t, u32 index)
{
	u32 *unacked = READ_ONCE(t->unacked);

	return unacked ? READ_ONCE(unacked[index]) : 0;
}

/*
 * Give the table its report numbers, before the first report of an entry
 * only the VMM translates: most tables never have one.
 */
static int msix_alloc_unacked(struct kvm_msix_table_dev *t)
{
	u32 *unacked = kcalloc(t->nr_entries, sizeof(*unacked),
			       GFP_KERNEL_ACCOUNT);

	if (!unacked)
		return -ENOMEM;
	write_lock_irq(&t->lock);
	if (!t->unacked) {
		/* Lockless readers (msix_postable()) see it filled. */
		smp_store_release(&t->unacked, unacked);
		unacked = NULL;
	}
	write_unlock_irq(&t->lock);
	kfree(unacked);
	return 0;
}

/*
 * Record the entry for KVM_EXIT_MSIX_ENTRY_UPDATED.  A remapping-format
 * entry is delivered through the route the VMM computes from the report, so
 * its interrupts are held until the VMM has seen it: until this vCPU calls
 * KVM_RUN again.
 */
static void msix_report_entry(struct kvm_vcpu *vcpu,
			      struct kvm_msix_table_dev *t, u32 index,
			      const struct kvm_msix_entry *e)
{
	struct kvm_msix_exit *x = msix_exit_of(vcpu);
	bool remap = msix_translated(t, e);
	u32 seq = 0;

	lockdep_assert_held_write(&t->lock);

	if (remap) {
		/* Never 0, which means "nothing unacknowledged". */
		seq = ++t->report_seq ?: ++t->report_seq;
	}
	/* Allocated by the caller before a translated entry's report. */
	if (t->unacked)
		WRITE_ONCE(t->unacked[index], seq);
	if (t->dirty)
		__clear_bit(index, t->dirty);
	x->table_id = t->id;
	x->entry = index;
	x->uentry = &t->table[index];
	x->gen = t->gen;
	x->seq = seq;
	x->remap = remap;
	msix_entry_to_exit(x, e);
	kvm_make_request(KVM_REQ_MSIX_ENTRY_UPDATED, vcpu);
}

/*
 * The table and the PBA are reached through the kernel's mapping of the
 * pinned pages, in naturally aligned loads and stores of at most a QWORD:
 * the VMM's table and PBA are 8 byte aligned, so no access crosses a page,
 * and each is single-copy atomic against the VMM.
 */
enum msix_op {
	MSIX_LOAD64,
	MSIX_LOAD128,
	MSIX_STORE32,
	MSIX_STORE64,
	MSIX_PBA_SET,
	MSIX_PBA_CLEAR,
};

static struct page *msix_page_of(struct kvm_msix_table_dev *t,
				 const void __user *p)
{
	unsigned long addr = (unsigned long)p;
	unsigned long base = (unsigned long)t->table;
	u32 first = 0;

	if (addr < base || addr - base >= t->nr_entries * KVM_MSIX_ENTRY_SIZE) {
		base = (unsigned long)t->pba;
		first = t->nr_table_pages;
	}
	return t->pages[first + (addr >> PAGE_SHIFT) - (base >> PAGE_SHIFT)];
}

/*
 * Set or clear a Pending bit with one atomic read-modify-write of the
 * aligned DWORD that holds it, so that a VMM changing other bits of the PBA
 * with atomic DWORD operations loses nothing, nor does the kernel.  Returns
 * the bit's old value.
 */
static int msix_pba_change(u32 *word, u32 bit, bool set)
{
	u32 old = READ_ONCE(*word), new;

	do {
		if (!!(old & bit) == set)
			return set;
		new = set ? old | bit : old & ~bit;
	} while (!try_cmpxchg(word, &old, new));
	return !set;
}

static int msix_access(struct kvm_msix_table_dev *t, void __user *p,
		       enum msix_op op, u64 *val)
{
	void *k = kmap_local_page(msix_page_of(t, p)) + offset_in_page(p);
	int r = 0;

	switch (op) {
	case MSIX_LOAD64:
		*val = READ_ONCE(*(u64 *)k);
		break;
	case MSIX_LOAD128:
		val[0] = READ_ONCE(*(u64 *)k);
		val[1] = READ_ONCE(*((u64 *)k + 1));
		break;
	case MSIX_STORE32:
		WRITE_ONCE(*(u32 *)k, *val);
		break;
	case MSIX_STORE64:
		WRITE_ONCE(*(u64 *)k, *val);
		break;
	case MSIX_PBA_SET:
	case MSIX_PBA_CLEAR:
		r = msix_pba_change(k, *val, op == MSIX_PBA_SET);
		break;
	}
	kunmap_local(k);
	return r;
}

static void msix_load_entry(struct kvm_msix_table_dev *t, u32 index,
			    struct kvm_msix_entry *e)
{
	u8 __user *p = (u8 __user *)&t->table[index];
	u64 v[2];

	/* The table is 8 byte aligned: an entry may straddle two pages. */
	if (offset_in_page(p) <= PAGE_SIZE - sizeof(*e)) {
		msix_access(t, p, MSIX_LOAD128, v);
	} else {
		msix_access(t, p, MSIX_LOAD64, &v[0]);
		msix_access(t, p + 8, MSIX_LOAD64, &v[1]);
	}
	memcpy(e, v, sizeof(*e));
}

/* Set or clear entry @index's Pending bit; returns its old value. */
static int msix_pba_update(struct kvm_msix_table_dev *t, u32 index, bool set)
{
	u64 bit = (__force u32)cpu_to_le32(BIT(index % 32));

	return msix_access(t, (u32 __user *)t->pba + index / 32,
			   set ? MSIX_PBA_SET : MSIX_PBA_CLEAR, &bit);
}

/*
 * Whether an interrupt on the entry must be held in its Pending bit: the
 * vector is masked (PCI 3.0 6.8.2.9: Mask bit, Function Mask, or MSI-X
 * disabled), or only the VMM can translate its message and has not seen
 * its latest change yet.  (A change made while masked is covered by the
 * mask; the unmask that exposes it reports it.)
 */
static bool msix_held(struct kvm_msix_table_dev *t, u32 index,
		      const struct kvm_msix_entry *e)
{
	if (msix_entry_masked(e) || msix_function_masked(t))
		return true;
	return msix_translated(t, e) && msix_unacked(t, index);
}

/*
 * The route of the GSI bound by @b: the VMM's translation of a message only
 * it can translate, or what IRQ bypass would post.  A single MSI route,
 * unless the VMM just routed the GSI elsewhere (it is then unbound,
 * kvm_msix_irq_routing_update()).
 */
static bool msix_route_of(struct kvm *kvm, const struct kvm_msix_binding *b,
			  struct kvm_kernel_irq_routing_entry *route)
{
	struct kvm_kernel_irq_routing_entry e[KVM_NR_IRQCHIPS];
	int n, idx;

	if (!b)
		return false;
	idx = srcu_read_lock(&kvm->irq_srcu);
	n = kvm_irq_map_gsi(kvm, e, b->gsi);
	srcu_read_unlock(&kvm->irq_srcu, idx);
	if (n != 1 || e[0].type != KVM_IRQ_ROUTING_MSI)
		return false;
	*route = e[0];
	return true;
}

/*
 * Send the entry's message, as the function itself would: the Message
 * Address and Data in the table now, whatever the GSI's route says; or,
 * for a message only the VMM can translate, @route, its translation.
 * @inatomic (an irqfd wakeup): only the delivery kvm_arch_set_irq_inatomic()
 * makes, else -EWOULDBLOCK, as for any MSI irqfd; otherwise any MSI
 * delivery, which takes no sleeping lock and no lock a device's interrupt
 * could wait for.
 */
static int msix_send(struct kvm_msix_table_dev *t,
		     const struct kvm_msix_entry *e,
		     struct kvm_kernel_irq_routing_entry *route,
		     int irq_source_id, bool line_status, bool inatomic)
{
	struct kvm_kernel_irq_routing_entry msi = {
		.type = KVM_IRQ_ROUTING_MSI,
	};
	struct kvm *kvm = t->kvm;

	if (!route) {
		/* No local APIC to send to; KVM_SIGNAL_MSI refuses the same. */
		if (!kvm_arch_irqchip_in_kernel(kvm))
			return -EINVAL;
		msi.msi.address_lo = le32_to_cpu(e->addr_lo);
		msi.msi.address_hi = le32_to_cpu(e->addr_hi);
		msi.msi.data = le32_to_cpu(e->data);
		if (t->flags & KVM_MSIX_TABLE_FLAG_DEVID) {
			msi.msi.flags = KVM_MSI_VALID_DEVID;
			msi.msi.devid = t->devid;
		}
		route = &msi;
	}
	if (inatomic)
		return kvm_arch_set_irq_inatomic(route, kvm, irq_source_id, 1,
						 line_status);
	return kvm_set_msi(route, kvm, irq_source_id, 1, line_status);
}

/*
 * An interrupt on entry @index, bound to @b or not: send the entry's
 * message, or hold it in the Pending bit.  Under t->lock, for read: it
 * neither sleeps nor waits for another entry.  Returns 1 if sent (*@ret is
 * what delivery returned), 0 if held, or, having done nothing:
 * -EWOULDBLOCK if @inatomic and the message needs the slow delivery;
 * -ENXIO for a remapping-format entry without a GSI to carry its
 * translation, -ENOENT if that GSI is not an MSI any more.
 */
static int msix_raise(struct kvm_msix_table_dev *t, u32 index,
		      const struct kvm_msix_binding *b, int irq_source_id,
		      bool line_status, bool inatomic, int *ret)
{
	struct kvm_kernel_irq_routing_entry route, *rp = NULL;
	struct kvm_msix_entry e;
	int r;

	lockdep_assert_held(&t->lock);

	msix_load_entry(t, index, &e);
	if (msix_translated(t, &e) && !b)
		return -ENXIO;
	if (msix_held(t, index, &e)) {
		msix_pba_update(t, index, true);
		return 0;
	}
	if (msix_translated(t, &e)) {
		if (!msix_route_of(t->kvm, b, &route))
			return -ENOENT;
		rp = &route;
	}
	r = msix_send(t, &e, rp, irq_source_id, line_status, inatomic);
	if (r == -EWOULDBLOCK)
		return r;
	*ret = r;
	return 1;
}

/*
 * The entry, its function or its report may have just let go: if its
 * Pending bit is set and nothing holds it any more, clear the bit and send
 * the message once.  Whoever set the bit, the kernel or the VMM.  Under
 * t->lock for write, so no decision on the entry runs meanwhile.
 */
static void msix_deliver_pending(struct kvm_msix_table_dev *t, u32 index)
{
	struct kvm_kernel_irq_routing_entry route, *rp = NULL;
	struct kvm_msix_entry e;

	lockdep_assert_held_write(&t->lock);

	msix_load_entry(t, index, &e);
	if (msix_held(t, index, &e))
		return;
	if (msix_translated(t, &e)) {
		/* Without a route to send it by, it stays pending. */
		if (!msix_route_of(t->kvm, xa_load(&t->bindings, index),
				   &route))
			return;
		rp = &route;
	}
	if (msix_pba_update(t, index, false))
		msix_send(t, &e, rp, KVM_USERSPACE_IRQ_SOURCE_ID, false, false);
}

static void msix_update_posting(struct kvm_msix_table_dev *t, u32 index);

/* A write of @len (4 or 8) bytes at offset @off of the table. */
static int msix_table_write(struct kvm_vcpu *vcpu, struct kvm_msix_table_dev *t,
			    u64 off, int len, const void *val)
{
	u32 index = off / KVM_MSIX_ENTRY_SIZE, reg = off % KVM_MSIX_ENTRY_SIZE;
	void __user *p = (u8 __user *)&t->table[index] + reg;
	enum msix_write_action action;
	struct kvm_msix_entry old, new;
	bool reporting, can_report;
	u64 v = 0;

	if (len != 4 && len != 8)
		return -EOPNOTSUPP;

retry:
	write_lock_irq(&t->lock);
	msix_load_entry(t, index, &old);
	new = old;
	memcpy((u8 *)&new + reg, val, len);

	reporting = msix_reporting(vcpu, t, index);
	can_report = reporting || msix_can_report(vcpu);
	/* A function whose every message the VMM translates reports all. */
	action = msix_decide_write(&old, &new,
				   t->flags & KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
				   (t->flags & KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS) &&
				   !(t->ctrl & KVM_MSIX_CTRL_TRANSLATED),
				   msix_dirty(t, index), can_report);
	if (action == MSIX_WRITE_NONE || action == MSIX_WRITE_USER) {
		write_unlock_irq(&t->lock);
		return action == MSIX_WRITE_NONE ? 0 : -EOPNOTSUPP;
	}
	if (action == MSIX_WRITE_REPORT && msix_translated(t, &new) &&
	    !t->unacked) {
		write_unlock_irq(&t->lock);
		if (msix_alloc_unacked(t))
			return -EOPNOTSUPP;
		goto retry;
	}

	/* One store of the guest's width, as a device would see it. */
	memcpy(&v, val, len);
	msix_access(t, p, len == 8 ? MSIX_STORE64 : MSIX_STORE32, &v);
	if (action == MSIX_WRITE_REPORT)
		msix_report_entry(vcpu, t, index, &new);
	/* Unless this exit, which reads the entry when taken, shows it. */
	else if (action == MSIX_WRITE_MARK && !reporting)
		__set_bit(index, t->dirty);
	if (!msix_entry_masked(&new))
		msix_deliver_pending(t, index);
	write_unlock_irq(&t->lock);

	/*
	 * Posting follows the mask and the message; it is switched before
	 * the write completes, so that from then on the device's interrupts
	 * reach the decision above.
	 */
	if (msix_entry_masked(&old) != msix_entry_masked(&new) ||
	    memcmp(&old, &new, offsetof(struct kvm_msix_entry, ctrl)))
		msix_update_posting(t, index);
	return 0;
}

static int msix_read(struct msix_bus_dev *d, gpa_t addr, int len, void *val)
{
	struct kvm_msix_table_dev *t = d->t;
	u64 off;

	switch (msix_decode(&d->layout, addr, len, &off)) {
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

static int msix_write(struct kvm_vcpu *vcpu, struct msix_bus_dev *d,
		      gpa_t addr, int len, const void *val)
{
	struct kvm_msix_table_dev *t = d->t;
	u64 off;

	switch (msix_decode(&d->layout, addr, len, &off)) {
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

static int msix_dev_read(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			 gpa_t addr, int len, void *val)
{
	return msix_read(to_bus_dev(this), addr, len, val);
}

static int msix_dev_write(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
			  gpa_t addr, int len, const void *val)
{
	return msix_write(vcpu, to_bus_dev(this), addr, len, val);
}

static void msix_table_release(struct kref *ref)
{
	struct kvm_msix_table_dev *t =
		container_of(ref, struct kvm_msix_table_dev, ref);

	/* Unbound and off the bus: no decision can reach the pages. */
	unpin_user_pages_dirty_lock(t->pages, t->nr_pinned, true);
	xa_destroy(&t->bindings);
	kfree(t->unacked);
	bitmap_free(t->dirty);
	/* Injections find the table through bindings read under RCU. */
	kfree_rcu(t, rcu);
}

/*
 * The bus destroys a device when it is unregistered, when a VM goes away,
 * and, all of them at once, when shrinking the bus fails.  Under slots_lock
 * (or with the VM unreachable).
 */
static void msix_dev_destructor(struct kvm_io_device *this)
{
	struct msix_bus_dev *d = to_bus_dev(this);
	struct kvm_msix_table_dev *t = d->t;
	int i;

	for (i = 0; i < ARRAY_SIZE(t->devs); i++)
		if (t->devs[i] == d)
			t->devs[i] = NULL;
	kfree(d);
	kref_put(&t->ref, msix_table_release);
}

static const struct kvm_io_device_ops msix_dev_ops = {
	.read       = msix_dev_read,
	.write      = msix_dev_write,
	.destructor = msix_dev_destructor,
};

/* For KVM_CAP_MSIX_TABLE_FLAGS; @kvm may be NULL (a system ioctl). */
int kvm_msix_table_flags(struct kvm *kvm)
{
	int flags = KVM_MSIX_VALID_FLAGS;

	if (kvm_vm_ioctl_check_extension(kvm, KVM_CAP_MSI_DEVID) <= 0)
		flags &= ~KVM_MSIX_TABLE_FLAG_DEVID;
	return flags;
}

void kvm_msix_init(struct kvm *kvm)
{
	xa_init(&kvm->msix_tables);
	xa_init(&kvm->msix_gsis);
}

static struct kvm_msix_table_dev *msix_find_table(struct kvm *kvm, u32 id)
{
	lockdep_assert_held(&kvm->slots_lock);

	return xa_load(&kvm->msix_tables, id);
}

/*
 * For the paths that must not wait for memslot updates (KVM_SIGNAL_MSIX,
 * KVM_RUN): the table with a reference, or NULL.
 */
static struct kvm_msix_table_dev *msix_get_table(struct kvm *kvm, u32 id)
{
	struct kvm_msix_table_dev *t;

	rcu_read_lock();
	t = xa_load(&kvm->msix_tables, id);
	if (t && !kref_get_unless_zero(&t->ref))
		t = NULL;
	rcu_read_unlock();
	return t;
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
			     const struct msix_layout *l, bool unmapped)
{
	u64 gpa = table->window_gpa, len = table->window_size;

	if (!(table->flags & KVM_MSIX_TABLE_FLAG_PASSTHROUGH))
		return gpa || len || table->window_uaddr ? -EINVAL : 0;

	/* The bus takes an int length; windows are meant to be pages. */
	if (!len || len > INT_MAX || !PAGE_ALIGNED(gpa) || !PAGE_ALIGNED(len) ||
	    gpa + len < gpa || !PAGE_ALIGNED(table->window_uaddr))
		return -EINVAL;
	if (!unmapped &&
	    (!msix_contains(gpa, len, l->table_gpa, l->table_len) ||
	     !msix_contains(gpa, len, l->pba_gpa, l->pba_len)))
		return -EINVAL;

	if (!access_ok(u64_to_user_ptr(table->window_uaddr), len))
		return -EFAULT;
	return msix_check_mapped(table->window_uaddr, len);
}

static int msix_check_table(struct kvm *kvm, const struct kvm_msix_table *table,
			    struct msix_layout *l)
{
	bool unmapped = table->flags & KVM_MSIX_TABLE_FLAG_UNMAPPED;
	int r;

	if ((table->flags & ~KVM_MSIX_VALID_FLAGS) || table->pad ||
	    table->reserved)
		return -EINVAL;
	/* Room for an arm64 ITS: the requester ID its translation needs. */
	if (table->flags & KVM_MSIX_TABLE_FLAG_DEVID) {
		if (kvm_vm_ioctl_check_extension(kvm, KVM_CAP_MSI_DEVID) <= 0)
			return -EINVAL;
	} else if (table->devid) {
		return -EINVAL;
	}
	/* A table off the bus has no guest-physical address. */
	if (unmapped && (table->table_gpa || table->pba_gpa || table->window_gpa))
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
	if (!unmapped &&
	    msix_overlap(l->table_gpa, l->table_len, l->pba_gpa, l->pba_len))
		return -EINVAL;
	r = msix_check_window(table, l, unmapped);
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

static u32 msix_nr_pages(u64 uaddr, u64 len)
{
	return (PAGE_ALIGN(uaddr + len) - PAGE_ALIGN_DOWN(uaddr)) >> PAGE_SHIFT;
}

/*
 * Pin the VMM's pages that hold the table, then the PBA, for as long as
 * the table is defined.  A few pages per table (at most 9 for the table,
 * 2 for the PBA), charged to the VMM as its own memory already is; unlike
 * a gfn_to_pfn_cache they never need mapping again, so every interrupt is
 * decided where it arrives, and a VMM that remaps its memory only loses
 * sight of its own table.
 */
static int msix_pin_pages(struct kvm_msix_table_dev *t,
			  const struct kvm_msix_table *table)
{
	u64 start[2] = { table->table_uaddr, table->pba_uaddr };
	u32 n[2] = { t->nr_table_pages, t->nr_pages - t->nr_table_pages };
	int i, r;

	for (i = 0; i < 2; i++) {
		r = pin_user_pages_fast(PAGE_ALIGN_DOWN(start[i]), n[i],
					FOLL_WRITE | FOLL_LONGTERM,
					t->pages + t->nr_pinned);
		if (r > 0)
			t->nr_pinned += r;
		if (r != n[i])
			return r < 0 ? r : -EFAULT;
	}
	return 0;
}

/*
 * The bus devices for @l: one over the window, or one over the table and one
 * over the PBA; none for a table off the bus.  Each holds a reference to
 * @t once registered.
 */
static int msix_alloc_devs(struct kvm_msix_table_dev *t,
			   const struct msix_layout *l, bool unmapped,
			   struct msix_bus_dev *devs[2])
{
	int i, n = unmapped ? 0 : l->window_len ? 1 : 2;

	devs[0] = NULL;
	devs[1] = NULL;
	for (i = 0; i < n; i++) {
		devs[i] = kzalloc(sizeof(*devs[i]), GFP_KERNEL_ACCOUNT);
		if (!devs[i]) {
			kfree(devs[0]);
			devs[0] = NULL;
			return -ENOMEM;
		}
		kvm_iodevice_init(&devs[i]->dev, &msix_dev_ops);
		devs[i]->t = t;
		devs[i]->layout = *l;
	}
	return 0;
}

static void msix_dev_range(const struct msix_bus_dev *d, int i, gpa_t *addr,
			   int *len)
{
	const struct msix_layout *l = &d->layout;

	if (l->window_len) {
		*addr = l->window_gpa;
		*len = l->window_len;
	} else if (!i) {
		*addr = l->table_gpa;
		*len = l->table_len;
	} else {
		*addr = l->pba_gpa;
		*len = l->pba_len;
	}
}

/*
 * Unregister @devs.  Should the bus fail to shrink, KVM destroys it with
 * every device on it (-ENOMEM): ours are gone then too.
 */
static int msix_unregister_devs(struct kvm *kvm, struct msix_bus_dev *devs[2])
{
	struct msix_bus_dev *d[2] = { devs[0], devs[1] };
	int i, r;

	lockdep_assert_held(&kvm->slots_lock);

	for (i = 0; i < 2; i++) {
		if (!d[i])
			continue;
		r = kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &d[i]->dev);
		if (r)
			return r;
	}
	return 0;
}

/* Register @devs (all or none); each registered one holds a reference. */
static int msix_register_devs(struct kvm_msix_table_dev *t,
			      struct msix_bus_dev *devs[2])
{
	struct msix_bus_dev *first[2] = { devs[0], NULL };
	gpa_t addr;
	int i, len, r;

	for (i = 0; i < 2 && devs[i]; i++) {
		msix_dev_range(devs[i], i, &addr, &len);
		kref_get(&t->ref);
		r = kvm_io_bus_register_dev(t->kvm, KVM_MMIO_BUS, addr, len,
					    &devs[i]->dev);
		if (r >= 0)
			continue;
		kref_put(&t->ref, msix_table_release);
		kfree(devs[i]);
		if (i)
			msix_unregister_devs(t->kvm, first);
		else
			kfree(devs[1]);
		return r;
	}
	return 0;
}

/*
 * Whether another table than @self claims part of @l's ranges; counts the
 * tables in *@nr.
 */
static bool msix_overlaps_other(struct kvm *kvm, struct kvm_msix_table_dev *self,
				const struct msix_layout *l, bool unmapped,
				unsigned int *nr)
{
	struct kvm_msix_table_dev *other;
	unsigned long id;
	bool overlap = false;

	*nr = 0;
	xa_for_each(&kvm->msix_tables, id, other) {
		++*nr;
		if (other != self && !unmapped && !other->unmapped &&
		    msix_layouts_overlap(&other->layout, l))
			overlap = true;
	}
	return overlap;
}

/*
 * Move table @table->id to the ranges in @table, or off the bus: the new
 * devices serve before the old ones go, and bindings, Message Control and
 * per-entry state stay with the table.
 */
static int msix_move_table(struct kvm *kvm, const struct kvm_msix_table *table,
			   const struct msix_layout *l)
{
	bool unmapped = table->flags & KVM_MSIX_TABLE_FLAG_UNMAPPED;
	u32 keep = KVM_MSIX_TABLE_FLAGS & ~KVM_MSIX_TABLE_FLAG_UNMAPPED;
	struct msix_bus_dev *devs[2], *old[2];
	struct kvm_msix_table_dev *t;
	unsigned int nr;
	int r;

	mutex_lock(&kvm->slots_lock);
	t = msix_find_table(kvm, table->id);
	r = -ENOENT;
	if (!t)
		goto out;
	r = -EINVAL;
	if ((t->flags & keep) != (table->flags & keep) ||
	    t->nr_entries != table->nr_entries ||
	    t->table != u64_to_user_ptr(table->table_uaddr) ||
	    t->pba != u64_to_user_ptr(table->pba_uaddr) ||
	    t->window != u64_to_user_ptr(table->window_uaddr) ||
	    t->layout.window_len != l->window_len || t->devid != table->devid)
		goto out;
	r = -EEXIST;
	if (msix_overlaps_other(kvm, t, l, unmapped, &nr))
		goto out;
	r = msix_alloc_devs(t, l, unmapped, devs);
	if (r)
		goto out;
	r = msix_register_devs(t, devs);
	if (r)
		goto out;

	old[0] = t->devs[0];
	old[1] = t->devs[1];
	t->devs[0] = devs[0];
	t->devs[1] = devs[1];
	t->layout = *l;
	t->unmapped = unmapped;
	/*
	 * Should the bus fail to shrink, KVM has destroyed it with every
	 * device on it, the new ones included (their destructors cleared
	 * t->devs): the table is then defined but reachable only by its VMM,
	 * as every other MMIO device of the VM is gone.
	 */
	r = msix_unregister_devs(kvm, old);
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

int kvm_vm_ioctl_define_msix_table(struct kvm *kvm,
				   struct kvm_msix_table *table)
{
	bool unmapped = table->flags & KVM_MSIX_TABLE_FLAG_UNMAPPED;
	struct msix_bus_dev *devs[2];
	struct kvm_msix_table_dev *t;
	u32 nr_pages, nr_table_pages;
	struct msix_layout l = {};
	unsigned int nr;
	int r;

	r = msix_check_table(kvm, table, &l);
	if (r)
		return r;
	if (table->flags & KVM_MSIX_TABLE_FLAG_MOVE)
		return msix_move_table(kvm, table, &l);

	nr_table_pages = msix_nr_pages(table->table_uaddr, l.table_len);
	nr_pages = nr_table_pages + msix_nr_pages(table->pba_uaddr, l.pba_len);
	t = kzalloc(struct_size(t, pages, nr_pages), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	t->nr_pages = nr_pages;
	t->nr_table_pages = nr_table_pages;

	kref_init(&t->ref);
	rwlock_init(&t->lock);
	xa_init(&t->bindings);
	t->kvm = kvm;
	t->gen = atomic64_inc_return(&msix_generation);
	t->id = table->id;
	t->flags = table->flags & ~KVM_MSIX_TABLE_FLAG_UNMAPPED;
	t->nr_entries = table->nr_entries;
	t->devid = table->devid;
	t->layout = l;
	t->unmapped = unmapped;
	t->table = u64_to_user_ptr(table->table_uaddr);
	t->pba = u64_to_user_ptr(table->pba_uaddr);
	t->window = u64_to_user_ptr(table->window_uaddr);

	r = msix_pin_pages(t, table);
	if (r)
		goto out_free;
	/*
	 * Nothing is unreported at define: the VMM supplied the memory and
	 * routes what it holds.
	 */
	if (t->flags & KVM_MSIX_TABLE_FLAG_DEFER_UPDATES) {
		t->dirty = bitmap_zalloc(t->nr_entries, GFP_KERNEL_ACCOUNT);
		r = -ENOMEM;
		if (!t->dirty)
			goto out_free;
	}
	r = msix_alloc_devs(t, &l, unmapped, devs);
	if (r)
		goto out_free;

	mutex_lock(&kvm->slots_lock);
	r = -EEXIST;
	if (msix_find_table(kvm, t->id) ||
	    msix_overlaps_other(kvm, NULL, &l, unmapped, &nr))
		goto out_free_devs;
	r = -ENOSPC;
	if (nr >= KVM_MSIX_MAX_TABLES)
		goto out_free_devs;
	/* Published with the reference kref_init() took. */
	r = xa_insert(&kvm->msix_tables, t->id, t, GFP_KERNEL_ACCOUNT);
	if (r)
		goto out_free_devs;
	r = msix_register_devs(t, devs);
	if (r) {
		xa_erase(&kvm->msix_tables, t->id);
		goto out_unlock;
	}
	t->devs[0] = devs[0];
	t->devs[1] = devs[1];
	mutex_unlock(&kvm->slots_lock);
	return 0;

out_free_devs:
	kfree(devs[0]);
	kfree(devs[1]);
out_unlock:
	mutex_unlock(&kvm->slots_lock);
out_free:
	kref_put(&t->ref, msix_table_release);
	return r;
}

/*
 * Some table has a bound entry: irqfd wakeups and kvm_set_irq() look.
 * Turned off a second after the last binding goes.
 */
DEFINE_STATIC_KEY_DEFERRED_FALSE(kvm_msix_bound, HZ);

void kvm_msix_exit(void)
{
	static_key_deferred_flush(&kvm_msix_bound);
}

/*
 * Whether IRQ bypass (VT-d posted interrupts, AVIC) may post bound GSI @b
 * straight into the guest, past the host: only while the entry would
 * deliver what the GSI's route carries, i.e. it is unmasked, MSI-X is
 * enabled and the function unmasked, and the route is the entry's message
 * (for a message only the VMM translates, the VMM has seen its change).
 * Otherwise the device's interrupts must reach the host, whose irqfd
 * wakeup decides from the table.
 */
static bool msix_postable(struct kvm *kvm, struct kvm_msix_binding *b)
{
	struct kvm_kernel_irq_routing_entry route;
	struct kvm_msix_table_dev *t = b->t;
	struct kvm_msix_entry e;

	msix_load_entry(t, b->entry, &e);
	if (msix_entry_masked(&e) || msix_function_masked(t))
		return false;
	if (msix_translated(t, &e))
		return !msix_unacked(t, b->entry);

	return msix_route_of(kvm, b, &route) &&
	       route.msi.address_lo == le32_to_cpu(e.addr_lo) &&
	       route.msi.address_hi == le32_to_cpu(e.addr_hi) &&
	       route.msi.data == le32_to_cpu(e.data);
}

/* Record that @b's GSI is now posted or not; true if that changed. */
static bool msix_note_posting(struct kvm_msix_binding *b, bool posted)
{
	if (b->posted == posted)
		return false;
	b->posted = posted;
	trace_kvm_msix_post(b->t->id, b->entry, b->gsi, posted);
	return true;
}

/*
 * Entry @index of @t changed (mask, message, Function Mask, report): post
 * its GSI, or stop posting it, as it now allows.  Called after the change
 * is stored; decisions are serialized by kvm->irqfds.lock and each reads
 * the state it decides on, so the last one stands.  Switching to remapped
 * mode before a mask write completes means that from then on the device's
 * interrupts reach the host and set the Pending bit.
 */
static void msix_update_posting(struct kvm_msix_table_dev *t, u32 index)
{
	struct kvm *kvm = t->kvm;
	struct kvm_msix_binding *b;

	/* Bindings change under slots_lock, and then decide themselves. */
	if (!xa_load(&t->bindings, index))
		return;
	spin_lock_irq(&kvm->irqfds.lock);
	b = xa_load(&t->bindings, index);
	if (b && msix_note_posting(b, msix_postable(kvm, b)))
		kvm_irqfd_update_posting(kvm, b->gsi, b->posted);
	spin_unlock_irq(&kvm->irqfds.lock);
}

/*
 * For the IRTE updates KVM makes itself (a producer arrives, a route
 * changes), under kvm->irqfds.lock: whether @gsi may be posted (an unbound
 * GSI may).
 */
bool kvm_msix_gsi_postable(struct kvm *kvm, u32 gsi)
{
	struct kvm_msix_binding *b;
	bool posted = true;

	lockdep_assert_held(&kvm->irqfds.lock);

	rcu_read_lock();
	b = xa_load(&kvm->msix_gsis, gsi);
	if (b) {
		posted = msix_postable(kvm, b);
		msix_note_posting(b, posted);
	}
	rcu_read_unlock();
	return posted;
}

/*
 * Retire a binding no longer in kvm->msix_gsis: wait for the decisions that
 * found it, let its GSI be posted as routed, free it.  slots_lock.
 */
static void msix_retire(struct kvm_msix_table_dev *t,
			struct kvm_msix_binding *b)
{
	struct kvm *kvm = t->kvm;

	/* Each decision holds t->lock from its check of this to its end. */
	write_lock_irq(&t->lock);
	b->retired = true;
	write_unlock_irq(&t->lock);

	spin_lock_irq(&kvm->irqfds.lock);
	if (msix_note_posting(b, true))
		kvm_irqfd_update_posting(kvm, b->gsi, true);
	spin_unlock_irq(&kvm->irqfds.lock);

	/* Deferred: no cpus_read_lock() under slots_lock. */
	static_branch_slow_dec_deferred(&kvm_msix_bound);
	kfree_rcu(b, rcu);
}

static void msix_unbind(struct kvm_msix_table_dev *t,
			struct kvm_msix_binding *b)
{
	xa_erase(&t->kvm->msix_gsis, b->gsi);
	xa_erase(&t->bindings, b->entry);
	msix_retire(t, b);
}

/* Off the bus, unbound, unlisted; freed with its last reference. */
static void msix_remove(struct kvm *kvm, struct kvm_msix_table_dev *t)
{
	struct kvm_msix_binding *b;
	unsigned long index;

	xa_for_each(&t->bindings, index, b)
		msix_unbind(t, b);
	/*
	 * When this returns, no vCPU is inside the table's devices (SRCU);
	 * should the bus have failed to shrink, they are gone with it.
	 */
	msix_unregister_devs(kvm, t->devs);
	xa_erase(&kvm->msix_tables, t->id);
	kref_put(&t->ref, msix_table_release);
}

int kvm_vm_ioctl_remove_msix_table(struct kvm *kvm, u32 id)
{
	struct kvm_msix_table_dev *t;
	int r = 0;

	mutex_lock(&kvm->slots_lock);
	t = msix_find_table(kvm, id);
	if (t)
		msix_remove(kvm, t);
	else
		r = -ENOENT;
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/* After the buses are gone, when the VM is destroyed. */
void kvm_msix_destroy_vm(struct kvm *kvm)
{
	struct kvm_msix_table_dev *t;
	unsigned long id;

	mutex_lock(&kvm->slots_lock);
	xa_for_each(&kvm->msix_tables, id, t)
		msix_remove(kvm, t);
	mutex_unlock(&kvm->slots_lock);
	xa_destroy(&kvm->msix_tables);
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

/*
 * After KVM_SET_GSI_ROUTING: a bound GSI the VMM routed away from MSI (to
 * an IOAPIC or PIC pin, say) is no longer the entry's: unbind it, so that
 * it delivers as routed.  The others may be posted again if their new
 * route carries the entry's message.
 */
void kvm_msix_irq_routing_update(struct kvm *kvm)
{
	struct kvm_msix_table_dev *t;
	struct kvm_msix_binding *b;
	unsigned long id, index;

	/* Under slots_lock: a bind racing with this sees one or the other. */
	mutex_lock(&kvm->slots_lock);
	xa_for_each(&kvm->msix_tables, id, t) {
		xa_for_each(&t->bindings, index, b) {
			if (msix_gsi_is_msi(kvm, b->gsi))
				msix_update_posting(t, index);
			else
				msix_unbind(t, b);
		}
	}
	mutex_unlock(&kvm->slots_lock);
}

/*
 * Bind @entry to @gsi, under slots_lock, which orders every change of the
 * bindings; decisions read them under RCU.
 */
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
	/* As an unbound GSI is: msix_update_posting() decides below. */
	b->posted = true;

	/*
	 * Rebinding an entry moves it to the new GSI: the new binding is in
	 * place before the old one goes, so a failure leaves the old one.
	 */
	r = xa_insert(&kvm->msix_gsis, gsi, b, GFP_KERNEL_ACCOUNT);
	if (!r) {
		old = xa_store(&t->bindings, entry, b, GFP_KERNEL_ACCOUNT);
		r = xa_err(old);
		if (r)
			xa_erase(&kvm->msix_gsis, gsi);
		else if (old)
			xa_erase(&kvm->msix_gsis, old->gsi);
	}
	if (r) {
		kfree(b);
		return r;
	}
	if (old)
		msix_retire(t, old);
	msix_update_posting(t, entry);
	/* The new binding holds the caller's reference to the key. */
	return 1;
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

	/*
	 * Each binding holds a reference to the key; take it here, outside
	 * slots_lock (it takes cpus_read_lock(), which nests outside
	 * kvm_lock and hence slots_lock), before the binding is visible.
	 */
	if (!(irq->flags & KVM_MSIX_ENTRY_IRQ_UNBIND))
		static_branch_inc(&kvm_msix_bound.key);

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

	if (!(irq->flags & KVM_MSIX_ENTRY_IRQ_UNBIND) && r != 1)
		static_branch_slow_dec_deferred(&kvm_msix_bound);
	return r > 0 ? 0 : r;
}

/* Deliver, once each, the pending entries nothing holds any more. */
static void msix_deliver_all_pending(struct kvm_msix_table_dev *t)
{
	u32 i, bit, nr = DIV_ROUND_UP(t->nr_entries, 64);
	u64 bits;

	lockdep_assert_held_write(&t->lock);

	for (i = 0; i < nr; i++) {
		msix_access(t, &t->pba[i], MSIX_LOAD64, &bits);
		for (bits = le64_to_cpu((__force __le64)bits); bits;
		     bits &= bits - 1) {
			bit = __ffs64(bits);
			if (i * 64 + bit >= t->nr_entries)
				break;
			msix_deliver_pending(t, i * 64 + bit);
		}
	}
}

int kvm_vm_ioctl_set_msix_table_ctrl(struct kvm *kvm,
				     struct kvm_msix_table_ctrl *ctrl)
{
	struct kvm_msix_table_dev *t;
	struct kvm_msix_binding *b;
	unsigned long index;
	int r = 0;
	u32 i;

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
	 * held.  Rescan every time: a VMM that changed Vector Control or the
	 * PBA itself, or updated the routes of translated entries, calls this
	 * to have the kernel act on it, and once this returns no interrupt
	 * decided before is still to come.  The same goes for posting.
	 */
	write_lock_irq(&t->lock);
	WRITE_ONCE(t->ctrl, ctrl->flags);
	/* The VMM's routes are current: nothing waits for a report. */
	for (i = 0; t->unacked && i < t->nr_entries; i++)
		WRITE_ONCE(t->unacked[i], 0);
	msix_deliver_all_pending(t);
	write_unlock_irq(&t->lock);

	xa_for_each(&t->bindings, index, b)
		msix_update_posting(t, index);
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/*
 * An interrupt on bound @gsi: the entry decides, under RCU and t->lock for
 * read.  -ENOENT if the GSI is not bound (any more) or, for a message only
 * the VMM translates, not an MSI any more; otherwise as msix_raise().
 */
static int msix_raise_gsi(struct kvm *kvm, int irq_source_id, u32 gsi,
			  bool line_status, bool inatomic, int *ret)
{
	struct kvm_msix_table_dev *t;
	struct kvm_msix_binding *b;
	int r = -ENOENT;

	rcu_read_lock();
	b = xa_load(&kvm->msix_gsis, gsi);
	if (!b)
		goto out;
	t = b->t;
	read_lock(&t->lock);
	/* Unbound since the lookup?  msix_retire() says so under the lock. */
	if (!b->retired)
		r = msix_raise(t, b->entry, b, irq_source_id, line_status,
			       inatomic, ret);
	read_unlock(&t->lock);
out:
	rcu_read_unlock();
	return r;
}

/*
 * irqfd_wakeup() of @gsi, in atomic context (maybe a device's hard
 * interrupt): if an entry is bound to it, decide here and now, delivering
 * as kvm_arch_set_irq_inatomic() does or setting the Pending bit, before
 * the eventfd write returns.  -ENOENT: not bound, deliver as routed;
 * -EWOULDBLOCK: the message needs the slow delivery, which the irqfd's
 * work item makes through kvm_set_irq(), as for any MSI.
 */
int kvm_msix_set_irq_inatomic(struct kvm *kvm, int irq_source_id, u32 gsi)
{
	int r, ret = 0;

	r = msix_raise_gsi(kvm, irq_source_id, gsi, false, true, &ret);
	if (r < 0)
		return r == -ENOENT ? r : -EWOULDBLOCK;
	return r ? ret : 0;
}

/*
 * kvm_set_irq() of @gsi: if an entry is bound to it, the entry decides,
 * with the caller's source and line status.  -ENOENT: not bound, deliver
 * as routed.
 */
int kvm_msix_set_irq(struct kvm *kvm, int irq_source_id, u32 gsi,
		     bool line_status)
{
	int r, ret = 0;

	r = msix_raise_gsi(kvm, irq_source_id, gsi, line_status, false, &ret);
	if (r < 0)
		return -ENOENT;
	return r ? ret : 0;
}

int kvm_vm_ioctl_signal_msix(struct kvm *kvm, struct kvm_msix_signal *sig)
{
	struct kvm_msix_table_dev *t;
	int r, ret = 0;
	u32 index;

	if (sig->flags || sig->reserved || !kvm_arch_irqchip_in_kernel(kvm))
		return -EINVAL;

	t = msix_get_table(kvm, sig->table_id);
	if (!t)
		return -ENOENT;
	r = -EINVAL;
	if (sig->entry >= t->nr_entries)
		goto out;
	index = array_index_nospec(sig->entry, t->nr_entries);

	read_lock(&t->lock);
	r = msix_raise(t, index, xa_load(&t->bindings, index),
		       KVM_USERSPACE_IRQ_SOURCE_ID, false, false, &ret);
	read_unlock(&t->lock);
	/* A message KVM cannot deliver, as KVM_SIGNAL_MSI would say. */
	if (r == 1 && ret == -EINVAL)
		r = -EINVAL;
	/* Its GSI, just routed elsewhere, carries no translation. */
	if (r == -ENOENT)
		r = -ENXIO;
out:
	kref_put(&t->ref, msix_table_release);
	return r;
}

/*
 * On KVM_RUN after an exit that reported a remapping-format entry: the VMM
 * has seen it and updated the route, so what the entry held may go.  If
 * the table was removed meanwhile, or another report of the entry came
 * since, there is nothing to acknowledge.
 */
void kvm_msix_ack_report(struct kvm_vcpu *vcpu)
{
	struct kvm_msix_exit *x = msix_exit_of(vcpu);
	struct kvm *kvm = vcpu->kvm;
	struct kvm_msix_table_dev *t;
	u32 index = x->entry;

	x->ack_pending = false;

	t = msix_get_table(kvm, x->table_id);
	if (!t)
		return;
	if (t->gen == x->gen && index < t->nr_entries) {
		write_lock_irq(&t->lock);
		if (msix_unacked(t, index) == x->seq) {
			WRITE_ONCE(t->unacked[index], 0);
			msix_deliver_pending(t, index);
		}
		write_unlock_irq(&t->lock);
		msix_update_posting(t, index);
	}
	kref_put(&t->ref, msix_table_release);
}

void kvm_msix_prepare_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_msix_exit *x = msix_exit_of(vcpu);
	struct kvm_run *run = vcpu->run;
	struct kvm_msix_entry e;

	/*
	 * Report what the entry holds now: the rest of a string instruction
	 * may have changed it through userspace since the write that raised
	 * the request.  The memory is the VMM's and outlives the table; if it
	 * is gone, report what the kernel wrote.
	 */
	if (!copy_from_user(&e, x->uentry, sizeof(e)))
		msix_entry_to_exit(x, &e);
	x->ack_pending = x->remap;

	run->exit_reason = KVM_EXIT_MSIX_ENTRY_UPDATED;
	run->msix_entry_updated.table_id = x->table_id;
	run->msix_entry_updated.entry = x->entry;
	run->msix_entry_updated.address = x->address;
	run->msix_entry_updated.data = x->data;
	run->msix_entry_updated.vector_ctrl = x->vector_ctrl;
}
