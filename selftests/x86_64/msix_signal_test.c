// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_signal_test: KVM_SIGNAL_MSIX, the PBA shared with the VMM, the gate's
 * interaction with GSI routing and line status, and table relocation.
 *
 * The guest counts, in its IDT handlers, the interrupts it takes per vector;
 * the host checks what KVM_SIGNAL_MSIX returned, the Pending bits in the VMM
 * memory and those counts:
 * - a signal on a masked entry (Mask bit, Function Mask, MSI-X disabled) is
 *   held in its Pending bit and delivered exactly once, from the table, by
 *   the unmask; on an unmasked entry it is delivered at once;
 * - every bad input gets its errno and changes nothing;
 * - a guest toggling the Mask bit against a host signalling in a loop never
 *   takes an interrupt after a completed mask write and loses none;
 * - the VMM's atomic updates of other Pending bits survive the kernel's;
 * - routing a bound GSI to an irqchip pin unbinds it;
 * - KVM_IRQ_LINE_STATUS is not changed by the gate;
 * - KVM_DEFINE_MSIX_TABLE's DEVID, UNMAPPED and MOVE flags.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "ucall_common.h"
#include "kselftest_harness.h"

#include "msix_util.h"

#define NR		8		/* entries of the tables under test */
#define GSI_BASE	32
#define VEC_BASE	0x40		/* entry i of table 1 sends VEC_BASE + i */
#define VEC_ALT		0xe0		/* Data a test writes into an entry */
#define APIC_ABSENT	7		/* an APIC ID no vCPU has */
#define MSI_ADDR	0xfee00000u
#define MSI_ADDR_REMAP	(MSI_ADDR | 1u << 4)	/* remappable format */

#ifndef APIC_LVT0
#define APIC_LVT0	0x350
#endif

#define TABLE_FLAGS_DEFINED	(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES |	\
				 KVM_MSIX_TABLE_FLAG_PASSTHROUGH |	\
				 KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS |	\
				 KVM_MSIX_TABLE_FLAG_UNMAPPED |		\
				 KVM_MSIX_TABLE_FLAG_MOVE |		\
				 KVM_MSIX_TABLE_FLAG_DEVID)

/* Read by the guest. */
static uint64_t table_gpa;
static uint64_t pba_gpa;
static uint32_t stop;
static uint32_t released;
static uint32_t cmd;
static uint32_t unmask_entries;		/* bitmap the guest unmasks first */
static uint64_t op_gpa;
static uint32_t op_val;
static uint32_t op_write;

/* Written by the guest's handler. */
static uint32_t count[0x100];
static uint32_t reinjected;

/* Count what the local APIC delivered; repeats apart (msix_util.h). */
static void handler(struct ex_regs *regs)
{
	if (msix_guest_irq_delivered(regs))
		WRITE_ONCE(count[regs->vector],
			   READ_ONCE(count[regs->vector]) + 1);
	else
		WRITE_ONCE(reinjected, READ_ONCE(reinjected) + 1);
}

static inline uint32_t guest_count(int vec)
{
	return READ_ONCE(count[vec]);
}

static inline uint64_t ctrl_gpa(int entry)
{
	return table_gpa + entry * MSIX_ENTRY_SIZE + MSIX_CTRL_OFF;
}

static inline uint64_t data_gpa(int entry)
{
	return table_gpa + entry * MSIX_ENTRY_SIZE + KVM_MSIX_ENTRY_DATA;
}

/* The entry's Pending bit, as the guest reads it (one QWORD read). */
static inline bool guest_pending(int entry)
{
	return msix_readq(pba_gpa + entry / 64 * 8) >> (entry % 64) & 1;
}

/*
 * x2APIC on, LVT0 masked (the PIC, which the guest never programs, would
 * send vector 0), interrupts enabled.
 */
static void guest_enable_irqs(void)
{
	x2apic_enable();
	x2apic_write_reg(APIC_LVT0, APIC_LVT_MASKED);
	asm volatile("sti; nop");
}

/* Busy-wait without PAUSE, which may exit under a hypervisor. */
static void guest_spin(uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		asm volatile("nop" ::: "memory");
}

struct sig_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct msix_shadow s;
};

/*
 * A VM with one vCPU and table 1 of @nr entries at MSIX_TABLE_GPA(0): entry
 * i sends VEC_BASE + i to APIC 0 and is masked; MSI-X is enabled.  No GSI is
 * routed or bound.
 */
static void sig_vm_create(struct sig_vm *v, void *guest_code, uint32_t nr,
			  uint32_t flags)
{
	struct kvm_msix_table t;
	struct kvm_msix_table_ctrl c = { .id = 1, .flags = KVM_MSIX_CTRL_ENABLE };
	uint32_t i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	v->vm = vm_create_with_one_vcpu(&v->vcpu, guest_code);
	for (i = 0x20; i < 0x100; i++)
		vm_install_exception_handler(v->vm, i, handler);
	msix_shadow_init(&v->s, 1, nr, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	for (i = 0; i < nr; i++) {
		v->s.table[i * 4] = MSI_ADDR;
		v->s.table[i * 4 + 2] = VEC_BASE + i;
	}
	msix_map(v->vm, &v->s);
	table_gpa = v->s.table_gpa;
	pba_gpa = v->s.pba_gpa;
	sync_global_to_guest(v->vm, table_gpa);
	sync_global_to_guest(v->vm, pba_gpa);
	t = msix_table_of(&v->s);
	t.flags = flags;
	vm_ioctl(v->vm, KVM_DEFINE_MSIX_TABLE, &t);
	vm_ioctl(v->vm, KVM_SET_MSIX_TABLE_CTRL, &c);
}

static uint32_t *host_count_ptr(struct kvm_vm *vm, int vec)
{
	return addr_gva2hva(vm, (vm_vaddr_t)&count[vec]);
}

static uint32_t host_count(struct kvm_vm *vm, int vec)
{
	return READ_ONCE(*host_count_ptr(vm, vec));
}

/* Interrupts the guest took, all vectors. */
static uint32_t host_total(struct kvm_vm *vm)
{
	uint32_t total = 0;
	int vec;

	for (vec = 0x20; vec < 0x100; vec++)
		total += host_count(vm, vec);
	return total;
}

/* Free the VM, saying how many repeated deliveries the handler ignored. */
static void sig_vm_free(struct kvm_vm *vm)
{
	uint32_t n = READ_ONCE(*(uint32_t *)addr_gva2hva(vm, (vm_vaddr_t)&reinjected));

	if (n)
		printf("# %u repeated deliveries (IF clear) ignored\n", n);
	kvm_vm_free(vm);
}

static void guest_global_set(struct kvm_vm *vm, uint32_t *g, uint32_t val)
{
	WRITE_ONCE(*(uint32_t *)addr_gva2hva(vm, (vm_vaddr_t)g), val);
}

static bool pending(struct msix_shadow *s, int entry)
{
	return __atomic_load_n(&s->pba[entry / 64], __ATOMIC_SEQ_CST) >>
	       (entry % 64) & 1;
}

static void set_ctrl(struct kvm_vm *vm, uint32_t id, uint32_t flags)
{
	struct kvm_msix_table_ctrl c = { .id = id, .flags = flags };

	vm_ioctl(vm, KVM_SET_MSIX_TABLE_CTRL, &c);
}

static int __bind(struct kvm_vm *vm, uint32_t id, uint32_t entry,
		  uint32_t gsi, uint32_t flags)
{
	struct kvm_msix_entry_irq b = {
		.table_id = id, .entry = entry, .gsi = gsi, .flags = flags,
	};

	return __vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &b);
}

static void bind_entry(struct kvm_vm *vm, uint32_t id, uint32_t entry,
		       uint32_t gsi)
{
	TEST_ASSERT(!__bind(vm, id, entry, gsi, 0),
		    "binding entry %u to GSI %u: errno %d", entry, gsi, errno);
}

static int __sig(struct kvm_vm *vm, uint32_t id, uint32_t entry,
		 uint32_t flags, uint32_t reserved)
{
	struct kvm_msix_signal sig = {
		.table_id = id, .entry = entry, .flags = flags,
		.reserved = reserved,
	};

	return __vm_ioctl(vm, KVM_SIGNAL_MSIX, &sig);
}

/* KVM_SIGNAL_MSIX on a valid entry: 1 (sent) or 0 (held). */
static int sig(struct kvm_vm *vm, uint32_t id, uint32_t entry)
{
	int r = __sig(vm, id, entry, 0, 0);

	TEST_ASSERT(r == 0 || r == 1,
		    "KVM_SIGNAL_MSIX(table %u, entry %u) returned %d, errno %d",
		    id, entry, r, errno);
	return r;
}

static void expect_sig_error(struct kvm_vm *vm, uint32_t id, uint32_t entry,
			     uint32_t flags, uint32_t reserved, int err)
{
	int r = __sig(vm, id, entry, flags, reserved);

	TEST_ASSERT(r == -1 && errno == err,
		    "KVM_SIGNAL_MSIX(table %u, entry %u, flags 0x%x, reserved 0x%x) returned %d errno %d, want errno %d",
		    id, entry, flags, reserved, r, errno, err);
}

struct routes {
	struct kvm_irq_routing r;
	struct kvm_irq_routing_entry e[16];
};

static void route_msi(struct routes *rt, uint32_t gsi, uint32_t dest,
		      uint32_t vec)
{
	struct kvm_irq_routing_entry *e = &rt->e[rt->r.nr++];

	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = MSI_ADDR | dest << 12;
	e->u.msi.data = vec;
}

static void route_pin(struct routes *rt, uint32_t gsi, uint32_t chip,
		      uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &rt->e[rt->r.nr++];

	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* KVM_IRQ_LINE_STATUS: what kvm_set_irq() returned. */
static int32_t line_status(struct kvm_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE_STATUS, &l);
	return l.status;
}

static void run_to(struct sig_vm *v, uint64_t stage, struct msix_exits *ex)
{
	struct msix_exits tmp;
	struct ucall uc;
	uint64_t cmd;

	cmd = msix_run(v->vcpu, &v->s, ex ? ex : &tmp, &uc);
	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == stage,
		    "want GUEST_SYNC(%lu), got ucall %lu arg %lu", stage, cmd,
		    uc.args[1]);
}

static void run_done(struct sig_vm *v)
{
	struct msix_exits ex;
	struct ucall uc;

	TEST_ASSERT_EQ(msix_run(v->vcpu, &v->s, &ex, &uc), UCALL_DONE);
}

static void guest_basic(void)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	/* Two signals on the masked entry 0: one Pending bit, nothing yet. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 0);
	GUEST_ASSERT(guest_pending(0));
	/* Unmask: delivered before the next instruction, once. */
	msix_writel(ctrl_gpa(0), 0);
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 1);
	GUEST_ASSERT(!guest_pending(0));
	GUEST_SYNC(1);
	/* Unmasked: the signal was delivered at once. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 2);
	GUEST_SYNC(2);
	/* Held by Function Mask. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 2);
	GUEST_SYNC(3);
	/* Released by clearing it. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 3);
	GUEST_SYNC(4);
	/* Held by MSI-X disabled. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 3);
	GUEST_SYNC(5);
	/* Released by enabling. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), 4);
	GUEST_SYNC(6);
	/* Entry 1, masked twice: Function Mask went, its Mask bit holds. */
	GUEST_ASSERT_EQ(guest_count(VEC_BASE + 1), 0);
	GUEST_ASSERT(guest_pending(1));
	msix_writel(ctrl_gpa(1), 0);
	GUEST_ASSERT_EQ(guest_count(VEC_BASE + 1), 1);
	GUEST_SYNC(7);
	/* The VMM rewrote entry 1's Data: the signal used the new one. */
	GUEST_ASSERT_EQ(guest_count(VEC_ALT), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_BASE + 1), 1);
	GUEST_DONE();
}

/*
 * KVM_SIGNAL_MSIX on entries bound to no GSI at all: held while masked (by
 * the Mask bit, Function Mask or MSI-X disabled) as one Pending bit,
 * delivered once by whatever unmasks, delivered at once when unmasked,
 * always with the message in the table.
 */
TEST(signal_basic)
{
	struct sig_vm v;

	sig_vm_create(&v, guest_basic, NR, 0);
	run_to(&v, 0, NULL);

	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT(pending(&v.s, 0), "held signal did not set the PBA bit");
	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT_EQ(v.s.pba[0], 1);
	run_to(&v, 1, NULL);
	TEST_ASSERT(!pending(&v.s, 0), "unmask did not clear the PBA bit");

	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 1);
	TEST_ASSERT(!pending(&v.s, 0), "sent signal set the PBA bit");
	run_to(&v, 2, NULL);

	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE | KVM_MSIX_CTRL_FUNCTION_MASK);
	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT(pending(&v.s, 0), "Function Mask: PBA bit not set");
	run_to(&v, 3, NULL);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT(!pending(&v.s, 0), "Function Mask cleared: PBA bit still set");
	run_to(&v, 4, NULL);

	set_ctrl(v.vm, 1, 0);
	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT(pending(&v.s, 0), "MSI-X disabled: PBA bit not set");
	run_to(&v, 5, NULL);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT(!pending(&v.s, 0), "MSI-X enabled: PBA bit still set");
	run_to(&v, 6, NULL);

	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE | KVM_MSIX_CTRL_FUNCTION_MASK);
	TEST_ASSERT_EQ(sig(v.vm, 1, 1), 0);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT(pending(&v.s, 1), "masked entry released by Function Mask");
	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE + 1), 0);
	run_to(&v, 7, NULL);
	TEST_ASSERT(!pending(&v.s, 1), "unmask did not clear the PBA bit");

	WRITE_ONCE(v.s.table[1 * 4 + 2], VEC_ALT);
	TEST_ASSERT_EQ(sig(v.vm, 1, 1), 1);
	run_done(&v);

	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE), 4);
	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE + 1), 1);
	TEST_ASSERT_EQ(host_count(v.vm, VEC_ALT), 1);
	TEST_ASSERT_EQ(host_total(v.vm), 6);
	TEST_ASSERT_EQ(v.s.pba[0], 0);
	sig_vm_free(v.vm);
}

static void guest_errors(void)
{
	guest_enable_irqs();
	msix_writel(ctrl_gpa(3), 0);
	GUEST_SYNC(0);
	GUEST_DONE();
}

/* Every bad signal gets its errno, and neither delivers nor holds. */
TEST(signal_errors)
{
	struct sig_vm v;
	int i;

	sig_vm_create(&v, guest_errors, NR, 0);
	/* Entries 2 and 3 in remapping format; 3 is unmasked by the guest. */
	v.s.table[2 * 4] = MSI_ADDR_REMAP;
	v.s.table[3 * 4] = MSI_ADDR_REMAP;
	run_to(&v, 0, NULL);

	expect_sig_error(v.vm, 2, 0, 0, 0, ENOENT);
	expect_sig_error(v.vm, ~0u, 0, 0, 0, ENOENT);
	expect_sig_error(v.vm, 1, NR, 0, 0, EINVAL);
	expect_sig_error(v.vm, 1, KVM_MSIX_MAX_ENTRIES, 0, 0, EINVAL);
	expect_sig_error(v.vm, 1, ~0u, 0, 0, EINVAL);
	for (i = 0; i < 32; i++) {
		expect_sig_error(v.vm, 1, 0, 1u << i, 0, EINVAL);
		expect_sig_error(v.vm, 1, 0, 0, 1u << i, EINVAL);
	}
	expect_sig_error(v.vm, 1, 0, ~0u, 0, EINVAL);
	expect_sig_error(v.vm, 1, 0, 0, ~0u, EINVAL);

	/* Remapping format, bound to nothing: nothing to translate it. */
	expect_sig_error(v.vm, 1, 2, 0, 0, ENXIO);
	expect_sig_error(v.vm, 1, 3, 0, 0, ENXIO);
	TEST_ASSERT_EQ(v.s.pba[0], 0);

	/* The same entries in compatibility format: held, and sent. */
	WRITE_ONCE(v.s.table[2 * 4], MSI_ADDR);
	WRITE_ONCE(v.s.table[3 * 4], MSI_ADDR);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT_EQ(sig(v.vm, 1, 2), 0);
	TEST_ASSERT_EQ(sig(v.vm, 1, 3), 1);
	TEST_ASSERT_EQ(v.s.pba[0], 1u << 2);
	run_done(&v);
	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE + 3), 1);
	TEST_ASSERT_EQ(host_total(v.vm), 1);

	/*
	 * The VMM unmapped its memory: the kernel holds the pages while the
	 * table is defined, and goes on deciding on them.
	 */
	TEST_ASSERT_EQ(munmap(v.s.pba, v.s.pba_len), 0);
	TEST_ASSERT_EQ(munmap(v.s.table, v.s.table_len), 0);
	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT_EQ(sig(v.vm, 1, 3), 1);
	sig_vm_free(v.vm);
}

#define STRESS_MS	4000
#define MASKED_SPINS	2000
#define UNMASKED_SPINS	2000
#define LOST_MS		5000

/*
 * Entry 0: unmask, check nothing is pending while unmasked, mask, check no
 * interrupt arrives while masked, until told to stop.  The loop ends with an
 * unmask, then masks the entry and reports how many unmasks it did.
 */
static void guest_signal_stress(void)
{
	uint64_t unmasks = 0;
	uint32_t c0;
	bool held;

	guest_enable_irqs();
	for (;;) {
		/*
		 * Masked: nothing clears the Pending bit but the unmask, and
		 * nothing is in the IRR.  If it is set, the unmask sends it
		 * before the next instruction.
		 */
		held = guest_pending(0);
		c0 = guest_count(VEC_BASE);
		msix_writel(ctrl_gpa(0), 0);
		unmasks++;
		if (held) {
			__GUEST_ASSERT(guest_count(VEC_BASE) > c0,
				       "unmask %lu did not send the pending interrupt",
				       unmasks);
			WRITE_ONCE(released, READ_ONCE(released) + 1);
		}
		__GUEST_ASSERT(!guest_pending(0),
			       "Pending bit set after unmask %lu", unmasks);
		if (READ_ONCE(stop))
			break;
		guest_spin(UNMASKED_SPINS);
		__GUEST_ASSERT(!guest_pending(0),
			       "Pending bit set while unmasked (unmask %lu)",
			       unmasks);

		msix_writel(ctrl_gpa(0), MSIX_MASKBIT);
		GUEST_ASSERT_EQ(msix_readl(ctrl_gpa(0)), MSIX_MASKBIT);
		/*
		 * A signal sent before the mask write took the table's lock
		 * is taken at the latest when the read-back's MMIO exit
		 * re-enters the guest; from here on none may come.
		 */
		asm volatile("nop; nop; nop");
		c0 = guest_count(VEC_BASE);
		guest_spin(MASKED_SPINS);
		__GUEST_ASSERT(guest_count(VEC_BASE) == c0,
			       "interrupt while masked (%u -> %u), unmask %lu",
			       c0, guest_count(VEC_BASE), unmasks);
	}
	msix_writel(ctrl_gpa(0), MSIX_MASKBIT);
	GUEST_ASSERT_EQ(msix_readl(ctrl_gpa(0)), MSIX_MASKBIT);
	GUEST_SYNC(unmasks);

	/* One more signal was held: the unmask delivers it, once. */
	c0 = guest_count(VEC_BASE);
	msix_writel(ctrl_gpa(0), 0);
	GUEST_ASSERT_EQ(guest_count(VEC_BASE), c0 + 1);
	GUEST_ASSERT(!guest_pending(0));
	GUEST_DONE();
}

struct stress_signal {
	struct kvm_vm *vm;
	uint32_t *handled;
	uint64_t deadline;
	uint64_t sent;		/* KVM_SIGNAL_MSIX returned 1 */
	uint64_t held;		/* KVM_SIGNAL_MSIX returned 0 */
	int bad;		/* any other return (-errno) */
	bool lost;		/* a sent interrupt never arrived */
	pthread_t thread;
};

/*
 * Signal entry 0 as fast as possible.  After each signal that was sent,
 * wait until the guest has taken at least as many interrupts as were sent
 * (see signal_vs_mask_stress for why).
 */
static void *stress_signal(void *arg)
{
	struct stress_signal *c = arg;
	uint64_t t0;
	int r;

	while (msix_now_ms() < c->deadline) {
		r = __sig(c->vm, 1, 0, 0, 0);
		if (r == 0) {
			c->held++;
			continue;
		}
		if (r != 1) {
			c->bad = r < 0 ? -errno : r;
			break;
		}
		c->sent++;
		t0 = msix_now_ms();
		while (READ_ONCE(*c->handled) < c->sent) {
			if (msix_now_ms() - t0 > LOST_MS) {
				c->lost = true;
				return NULL;
			}
			sched_yield();
		}
	}
	return NULL;
}

struct stress_vcpu {
	struct sig_vm *v;
	uint64_t unmasks;
	pthread_t thread;
};

static void *stress_vcpu(void *arg)
{
	struct stress_vcpu *sv = arg;
	struct msix_exits ex;
	struct ucall uc;

	TEST_ASSERT_EQ(msix_run(sv->v->vcpu, &sv->v->s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.mmio + ex.updated + ex.unclaimed, 0);
	sv->unmasks = uc.args[1];
	return NULL;
}

/*
 * A vCPU toggles entry 0's Mask bit while a host thread signals it in a
 * loop, STRESS_MS long.
 *
 * Exact, checked as it runs:
 * - no interrupt arrives between a completed mask write and the unmask (the
 *   guest spins MASKED_SPINS iterations with interrupts enabled);
 * - an unmask whose entry was pending just before (read while masked, when
 *   only the unmask can clear the bit) has sent it when the write completes;
 * - the Pending bit is clear whenever the entry is unmasked: the unmask
 *   released what was held, and no signal may hold an unmasked entry (a
 *   hold decided before the unmask but stored after it would be a lost
 *   interrupt);
 * - every signal returns 0 or 1.
 *
 * Counting: S signals were sent (returned 1), R returned 0 (held), the guest
 * made U unmask writes, and took H interrupts.  Every send puts one
 * interrupt into the local APIC; every unmask that finds the Pending bit set
 * (L of them, L <= U, L <= R) clears it and puts one more.  The local APIC
 * coalesces an interrupt that arrives while the same vector is still in its
 * IRR, so H = S + L - C with C coalesced.  The sending thread waits after
 * each send until H >= S, so whenever two interrupts meet in the IRR one of
 * them is a release or was let through by one: C <= L (in practice C is
 * close to L: a release lets the next two sends go back to back).  Hence
 *	S <= H <= S + min(U, R)
 * and, the loop having ended with an unmask after the last signal, the
 * Pending bit is clear at the end.  Finally one more signal on the masked
 * entry is held and the guest's unmask delivers it exactly once.
 */
TEST(signal_vs_mask_stress)
{
	struct stress_signal c = {};
	struct stress_vcpu sv = {};
	uint64_t bound;
	struct sig_vm v;
	uint32_t h;

	sig_vm_create(&v, guest_signal_stress, NR, 0);
	sv.v = &v;
	c.vm = v.vm;
	c.handled = host_count_ptr(v.vm, VEC_BASE);
	c.deadline = msix_now_ms() + STRESS_MS;
	pthread_create(&sv.thread, NULL, stress_vcpu, &sv);
	pthread_create(&c.thread, NULL, stress_signal, &c);
	pthread_join(c.thread, NULL);
	TEST_ASSERT(!c.bad, "KVM_SIGNAL_MSIX returned %d", c.bad);
	TEST_ASSERT(!c.lost,
		    "signal %lu was sent but the guest took only %u interrupts in %d ms",
		    c.sent, host_count(v.vm, VEC_BASE), LOST_MS);

	guest_global_set(v.vm, &stop, 1);
	pthread_join(sv.thread, NULL);
	h = host_count(v.vm, VEC_BASE);
	printf("# %lu sent, %lu held, %lu unmasks (%u found it pending), %u interrupts\n",
	       c.sent, c.held, sv.unmasks,
	       READ_ONCE(*(uint32_t *)addr_gva2hva(v.vm, (vm_vaddr_t)&released)), h);
	TEST_ASSERT(!pending(&v.s, 0), "Pending bit set after the last unmask");
	bound = c.sent + (sv.unmasks < c.held ? sv.unmasks : c.held);
	TEST_ASSERT(h >= c.sent && h <= bound,
		    "%u interrupts, want %lu..%lu", h, c.sent, bound);
	TEST_ASSERT_EQ(host_total(v.vm), h);

	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT(pending(&v.s, 0), "held signal did not set the PBA bit");
	run_done(&v);
	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE), h + 1);
	TEST_ASSERT(!pending(&v.s, 0), "Pending bit set after the unmask");
	sig_vm_free(v.vm);
}

#define PBA_NR		128
#define PBA_MS		2500
#define PBA_BURST	64

enum {
	CMD_NOP,
	CMD_UNMASK0,
	CMD_MASK0,
	CMD_RELEASE0,
	CMD_VMM_PENDING,
	CMD_UNMASK3,
	CMD_DONE,
};

static void guest_pba(void)
{
	uint32_t c0;

	guest_enable_irqs();
	for (;;) {
		GUEST_SYNC(0);
		switch (READ_ONCE(cmd)) {
		case CMD_UNMASK0:
			msix_writel(ctrl_gpa(0), 0);
			break;
		case CMD_MASK0:
			msix_writel(ctrl_gpa(0), MSIX_MASKBIT);
			break;
		case CMD_RELEASE0:
			c0 = guest_count(VEC_BASE);
			msix_writel(ctrl_gpa(0), 0);
			GUEST_ASSERT_EQ(guest_count(VEC_BASE), c0 + 1);
			GUEST_ASSERT(!guest_pending(0));
			msix_writel(ctrl_gpa(0), MSIX_MASKBIT);
			break;
		case CMD_VMM_PENDING:
			/* Masked entry 2, pending set by the VMM: new Data. */
			msix_writel(data_gpa(2), VEC_ALT);
			msix_writel(ctrl_gpa(2), 0);
			GUEST_ASSERT_EQ(guest_count(VEC_ALT), 1);
			GUEST_ASSERT_EQ(guest_count(VEC_BASE + 2), 0);
			GUEST_ASSERT(!guest_pending(2));
			break;
		case CMD_UNMASK3:
			msix_writel(ctrl_gpa(3), 0);
			break;
		case CMD_DONE:
			GUEST_DONE();
			break;
		}
	}
}

static void guest_cmd(struct sig_vm *v, uint32_t c)
{
	struct msix_exits ex;

	guest_global_set(v->vm, &cmd, c);
	run_to(v, 0, &ex);
	TEST_ASSERT_EQ(ex.unclaimed, 0);
}

struct hammer {
	uint64_t *pba;
	/* The VMM's bits: QWORD 0 but entry 0's, and QWORD 1. */
	uint64_t exp[2];
	uint64_t ops;
	uint32_t stop;
	bool bad;
	int bad_op;
	uint64_t bad_old, bad_exp;
	unsigned int seed;
	pthread_t thread;
};

static uint64_t rnd64(unsigned int *seed)
{
	return (uint64_t)rand_r(seed) << 42 ^ (uint64_t)rand_r(seed) << 21 ^
	       rand_r(seed);
}

static void hammer_check(struct hammer *h, int op, uint64_t old, uint64_t exp)
{
	if (old == exp || h->bad)
		return;
	h->bad = true;
	h->bad_op = op;
	h->bad_old = old;
	h->bad_exp = exp;
}

/*
 * The VMM's side: atomic QWORD and DWORD set/clear of every PBA bit but
 * entry 0's, checking each time that the previous value of its own bits is
 * what it left there.
 */
static void *hammer_pba(void *arg)
{
	struct hammer *h = arg;
	uint32_t *dw = (uint32_t *)h->pba;
	uint32_t m32, old32;
	uint64_t m, old;
	bool set;
	int op;

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE) && !h->bad) {
		m = rnd64(&h->seed);
		op = rand_r(&h->seed) % 4;
		set = rand_r(&h->seed) & 1;
		switch (op) {
		case 0:		/* QWORD 0, entries 1..63 */
			m &= ~1ull;
			old = set ? __atomic_fetch_or(&h->pba[0], m, __ATOMIC_SEQ_CST) :
				    __atomic_fetch_and(&h->pba[0], ~m, __ATOMIC_SEQ_CST);
			hammer_check(h, op, old & ~1ull, h->exp[0]);
			h->exp[0] = set ? h->exp[0] | m : h->exp[0] & ~m;
			break;
		case 1:		/* the DWORD holding entry 0, entries 1..31 */
			m32 = (uint32_t)m & ~1u;
			old32 = set ? __atomic_fetch_or(&dw[0], m32, __ATOMIC_SEQ_CST) :
				      __atomic_fetch_and(&dw[0], ~m32, __ATOMIC_SEQ_CST);
			hammer_check(h, op, old32 & ~1u, (uint32_t)h->exp[0]);
			h->exp[0] = set ? h->exp[0] | m32 : h->exp[0] & ~(uint64_t)m32;
			break;
		case 2:		/* the other DWORD of QWORD 0, entries 32..63 */
			m32 = (uint32_t)m;
			old32 = set ? __atomic_fetch_or(&dw[1], m32, __ATOMIC_SEQ_CST) :
				      __atomic_fetch_and(&dw[1], ~m32, __ATOMIC_SEQ_CST);
			hammer_check(h, op, old32, h->exp[0] >> 32);
			m = (uint64_t)m32 << 32;
			h->exp[0] = set ? h->exp[0] | m : h->exp[0] & ~m;
			break;
		default:	/* QWORD 1, entries 64..127 */
			old = set ? __atomic_fetch_or(&h->pba[1], m, __ATOMIC_SEQ_CST) :
				    __atomic_fetch_and(&h->pba[1], ~m, __ATOMIC_SEQ_CST);
			hammer_check(h, op, old, h->exp[1]);
			h->exp[1] = set ? h->exp[1] | m : h->exp[1] & ~m;
			break;
		}
		h->ops++;
	}
	return NULL;
}

/*
 * PBA_BURST signals on masked entry 0: each held, one Pending bit.  Each is
 * also one read-modify-write of the DWORD the VMM thread is changing.
 */
static void hold_burst(struct sig_vm *v, uint64_t cycle)
{
	int i;

	for (i = 0; i < PBA_BURST; i++) {
		TEST_ASSERT_EQ(sig(v->vm, 1, 0), 0);
		TEST_ASSERT(pending(&v->s, 0), "cycle %lu: not held", cycle);
	}
}

/*
 * The kernel sets and clears entry 0's Pending bit (signals on the masked
 * entry, released alternately by the guest's unmask and by clearing
 * Function Mask) while a VMM thread sets and clears the bits of the other,
 * masked, entries of the same QWORD and DWORD, PBA_MS long.  Neither loses
 * an update of the other: each kernel step leaves entry 0's bit as the
 * semantics say, and the VMM's bits are always what it left.  Then a
 * Pending bit the VMM sets itself is delivered once, from the table, by
 * the guest's unmask or by KVM_SET_MSIX_TABLE_CTRL.
 */
TEST(pba_two_writers)
{
	struct hammer h = { .seed = time(NULL) };
	uint64_t deadline, cycles;
	struct sig_vm v;

	sig_vm_create(&v, guest_pba, PBA_NR, 0);
	run_to(&v, 0, NULL);
	h.pba = v.s.pba;
	printf("# seed %u\n", h.seed);
	pthread_create(&h.thread, NULL, hammer_pba, &h);

	deadline = msix_now_ms() + PBA_MS;
	for (cycles = 0; msix_now_ms() < deadline && !READ_ONCE(h.bad); cycles++) {
		if (cycles & 1) {
			guest_cmd(&v, CMD_UNMASK0);
			set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE |
					  KVM_MSIX_CTRL_FUNCTION_MASK);
			hold_burst(&v, cycles);
			set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
			TEST_ASSERT(!pending(&v.s, 0),
				    "cycle %lu: Pending bit set after release",
				    cycles);
			guest_cmd(&v, CMD_MASK0);
		} else {
			hold_burst(&v, cycles);
			guest_cmd(&v, CMD_RELEASE0);
			TEST_ASSERT(!pending(&v.s, 0),
				    "cycle %lu: Pending bit set after unmask",
				    cycles);
		}
		TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE), cycles + 1);
	}
	/* Entry 0 is masked: a last signal is held. */
	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	pthread_join(h.thread, NULL);
	printf("# %lu kernel set/clear cycles (%d signals each), %lu VMM updates\n",
	       cycles, PBA_BURST, h.ops);
	TEST_ASSERT(!h.bad,
		    "VMM update lost: op %d found 0x%lx, had left 0x%lx",
		    h.bad_op, h.bad_old, h.bad_exp);
	TEST_ASSERT_EQ(v.s.pba[0], h.exp[0] | 1);
	TEST_ASSERT_EQ(v.s.pba[1], h.exp[1]);
	TEST_ASSERT_EQ(host_total(v.vm), cycles);

	/* A Pending bit of the VMM's, on masked entry 2: the unmask sends it. */
	v.s.pba[0] = 0;
	v.s.pba[1] = 0;
	__atomic_fetch_or(&v.s.pba[0], 1ull << 2, __ATOMIC_SEQ_CST);
	guest_cmd(&v, CMD_VMM_PENDING);
	TEST_ASSERT(!pending(&v.s, 2), "VMM's Pending bit not cleared by unmask");
	TEST_ASSERT_EQ(host_count(v.vm, VEC_ALT), 1);

	/* On unmasked entry 3: KVM_SET_MSIX_TABLE_CTRL sends it. */
	guest_cmd(&v, CMD_UNMASK3);
	__atomic_fetch_or(&v.s.pba[0], 1ull << 3, __ATOMIC_SEQ_CST);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT(!pending(&v.s, 3), "VMM's Pending bit not cleared by rescan");
	guest_cmd(&v, CMD_NOP);
	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE + 3), 1);
	TEST_ASSERT_EQ(host_total(v.vm), cycles + 2);
	TEST_ASSERT_EQ(v.s.pba[0], 0);
	guest_global_set(v.vm, &cmd, CMD_DONE);
	run_done(&v);
	sig_vm_free(v.vm);
}

static void guest_sync_only(void)
{
	uint32_t e, m;

	guest_enable_irqs();
	m = READ_ONCE(unmask_entries);
	for (e = 0; m; e++, m >>= 1)
		if (m & 1)
			msix_writel(ctrl_gpa(e), 0);
	GUEST_SYNC(0);
	GUEST_DONE();
}

/*
 * A KVM_SET_GSI_ROUTING that routes a bound GSI to an irqchip pin unbinds
 * it: the GSI then raises the pin like any other, the entry's Pending bit
 * no longer moves.  Bindings of GSIs that stay MSI stay.
 */
TEST(reroute_unbinds)
{
	static const int levels[] = { 1, 1, 0, 1, 0 };
	struct routes rt = {};
	struct sig_vm v;
	int32_t a, b;
	int i;

	sig_vm_create(&v, guest_sync_only, NR, 0);
	route_msi(&rt, GSI_BASE, 0, VEC_BASE);
	route_msi(&rt, GSI_BASE + 1, 0, VEC_BASE + 1);
	vm_ioctl(v.vm, KVM_SET_GSI_ROUTING, &rt.r);
	bind_entry(v.vm, 1, 0, GSI_BASE);
	bind_entry(v.vm, 1, 1, GSI_BASE + 1);
	run_to(&v, 0, NULL);

	/* Bound: an event on the masked entry is held. */
	kvm_irq_line(v.vm, GSI_BASE, 1);
	TEST_ASSERT(pending(&v.s, 0), "bound masked entry not pending");
	v.s.pba[0] = 0;

	memset(&rt, 0, sizeof(rt));
	route_pin(&rt, GSI_BASE, KVM_IRQCHIP_IOAPIC, 5);
	route_msi(&rt, GSI_BASE + 1, 0, VEC_BASE + 1);
	route_pin(&rt, GSI_BASE + 2, KVM_IRQCHIP_IOAPIC, 6);
	vm_ioctl(v.vm, KVM_SET_GSI_ROUTING, &rt.r);

	TEST_ASSERT_EQ(__bind(v.vm, 1, 0, 0, KVM_MSIX_ENTRY_IRQ_UNBIND), -1);
	TEST_ASSERT_EQ(errno, ENOENT);
	/* It raises its pin exactly as a never bound GSI raises another. */
	for (i = 0; i < ARRAY_SIZE(levels); i++) {
		a = line_status(v.vm, GSI_BASE, levels[i]);
		b = line_status(v.vm, GSI_BASE + 2, levels[i]);
		TEST_ASSERT(a == b, "level %d: status %d, unbound pin %d",
			    levels[i], a, b);
	}
	TEST_ASSERT(!pending(&v.s, 0), "unbound GSI set the Pending bit");

	/* GSI_BASE + 1 stayed MSI, and bound. */
	kvm_irq_line(v.vm, GSI_BASE + 1, 1);
	TEST_ASSERT(pending(&v.s, 1), "binding of an MSI route was dropped");

	/* Entry 0 may be bound again once GSI_BASE is MSI again. */
	memset(&rt, 0, sizeof(rt));
	route_msi(&rt, GSI_BASE, 0, VEC_BASE);
	route_msi(&rt, GSI_BASE + 1, 0, VEC_BASE + 1);
	vm_ioctl(v.vm, KVM_SET_GSI_ROUTING, &rt.r);
	TEST_ASSERT_EQ(__bind(v.vm, 1, 0, 0, KVM_MSIX_ENTRY_IRQ_UNBIND), -1);
	TEST_ASSERT_EQ(errno, ENOENT);
	bind_entry(v.vm, 1, 0, GSI_BASE);
	kvm_irq_line(v.vm, GSI_BASE, 1);
	TEST_ASSERT(pending(&v.s, 0), "rebound masked entry not pending");
	TEST_ASSERT_EQ(__bind(v.vm, 1, 1, 0, KVM_MSIX_ENTRY_IRQ_UNBIND), 0);
	run_done(&v);
	TEST_ASSERT_EQ(host_total(v.vm), 0);
	sig_vm_free(v.vm);
}

/* GSI 0 as KVM routes it by default; MSI GSIs in pairs of twins. */
static void line_routes(struct kvm_vm *vm)
{
	struct routes rt = {};

	route_pin(&rt, 0, KVM_IRQCHIP_IOAPIC, 0);
	route_pin(&rt, 0, KVM_IRQCHIP_PIC_MASTER, 0);
	route_msi(&rt, GSI_BASE, 0, VEC_BASE);
	route_msi(&rt, GSI_BASE + 1, 0, VEC_BASE);
	route_msi(&rt, GSI_BASE + 2, APIC_ABSENT, VEC_BASE + 2);
	route_msi(&rt, GSI_BASE + 3, APIC_ABSENT, VEC_BASE + 2);
	route_msi(&rt, GSI_BASE + 4, 0, VEC_BASE + 4);
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt.r);
}

static const int gsi0_levels[] = { 1, 0, 1, 1, 0, 0, 1 };

/*
 * KVM_IRQ_LINE_STATUS through the gate: a bound, unmasked GSI returns what
 * its unbound twin (same route, same message) returns; a bound, masked one
 * returns 0 (coalesced); GSI 0 returns what it returns in a VM without any
 * table.
 */
TEST(irq_line_status)
{
	int32_t st0[ARRAY_SIZE(gsi0_levels)], a, b;
	static const int levels[] = { 1, 1, 0, 1 };
	struct sig_vm v, w;
	int i;

	sig_vm_create(&v, guest_sync_only, NR, 0);
	/* Entry 2 holds the message of GSI_BASE + 2: an absent APIC. */
	v.s.table[2 * 4] = MSI_ADDR | APIC_ABSENT << 12;
	line_routes(v.vm);
	bind_entry(v.vm, 1, 0, GSI_BASE);
	bind_entry(v.vm, 1, 2, GSI_BASE + 2);
	bind_entry(v.vm, 1, 4, GSI_BASE + 4);
	guest_global_set(v.vm, &unmask_entries, 1u << 0 | 1u << 2);
	run_to(&v, 0, NULL);

	/* The unbound route itself reaches the enabled APIC 0. */
	TEST_ASSERT_EQ(line_status(v.vm, GSI_BASE + 1, 1), 1);
	for (i = 0; i < ARRAY_SIZE(levels); i++) {
		a = line_status(v.vm, GSI_BASE, levels[i]);
		b = line_status(v.vm, GSI_BASE + 1, levels[i]);
		TEST_ASSERT(a == b, "APIC 0, level %d: bound %d, unbound %d",
			    levels[i], a, b);
		a = line_status(v.vm, GSI_BASE + 2, levels[i]);
		b = line_status(v.vm, GSI_BASE + 3, levels[i]);
		TEST_ASSERT(a == b, "absent APIC, level %d: bound %d, unbound %d",
			    levels[i], a, b);
	}
	TEST_ASSERT(!pending(&v.s, 0) && !pending(&v.s, 2),
		    "unmasked entries pending");

	TEST_ASSERT_EQ(line_status(v.vm, GSI_BASE + 4, 1), 0);
	TEST_ASSERT(pending(&v.s, 4), "masked entry not pending");

	for (i = 0; i < ARRAY_SIZE(gsi0_levels); i++)
		st0[i] = line_status(v.vm, 0, gsi0_levels[i]);
	TEST_ASSERT(!pending(&v.s, 0), "GSI 0 moved entry 0's Pending bit");
	run_done(&v);

	/* The same VM without a table. */
	w.vm = vm_create_with_one_vcpu(&w.vcpu, guest_sync_only);
	for (i = 0x20; i < 0x100; i++)
		vm_install_exception_handler(w.vm, i, handler);
	line_routes(w.vm);
	msix_shadow_init(&w.s, 1, NR, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	run_to(&w, 0, NULL);
	for (i = 0; i < ARRAY_SIZE(gsi0_levels); i++) {
		a = line_status(w.vm, 0, gsi0_levels[i]);
		TEST_ASSERT(st0[i] == a,
			    "GSI 0 call %d (level %d): status %d, %d without a table",
			    i, gsi0_levels[i], st0[i], a);
	}
	run_done(&w);
	sig_vm_free(w.vm);
	sig_vm_free(v.vm);
}

/* Read (or write) op_gpa, as the host says, and report what was read. */
static void guest_ops(void)
{
	guest_enable_irqs();
	for (;;) {
		if (READ_ONCE(op_write)) {
			msix_writel(READ_ONCE(op_gpa), READ_ONCE(op_val));
			GUEST_SYNC(0);
		} else {
			GUEST_SYNC(msix_readl(READ_ONCE(op_gpa)));
		}
	}
}

/* One guest access; returns what the guest read. */
static uint32_t guest_op(struct sig_vm *v, uint64_t gpa, bool write,
			 uint32_t val, struct msix_exits *ex)
{
	struct ucall uc;

	*(uint64_t *)addr_gva2hva(v->vm, (vm_vaddr_t)&op_gpa) = gpa;
	guest_global_set(v->vm, &op_val, val);
	guest_global_set(v->vm, &op_write, write);
	TEST_ASSERT_EQ(msix_run(v->vcpu, &v->s, ex, &uc), UCALL_SYNC);
	return uc.args[1];
}

/* The guest reads table 1's entry 0 Data at @gpa: in the kernel, no exit. */
static void expect_served(struct sig_vm *v, uint64_t gpa, const char *what)
{
	struct msix_exits ex;
	uint32_t val = guest_op(v, gpa + KVM_MSIX_ENTRY_DATA, false, 0, &ex);

	TEST_ASSERT(val == v->s.table[2] && !ex.mmio && !ex.unclaimed,
		    "%s: read 0x%x (memory 0x%x), %lu MMIO exits, %lu unclaimed",
		    what, val, v->s.table[2], ex.mmio, ex.unclaimed);
}

/* Nothing is at @gpa: the read is an MMIO exit nobody claims. */
static void expect_unclaimed(struct sig_vm *v, uint64_t gpa, const char *what)
{
	struct msix_exits ex;

	guest_op(v, gpa + KVM_MSIX_ENTRY_DATA, false, 0, &ex);
	TEST_ASSERT(ex.unclaimed == 1 && !ex.mmio,
		    "%s: %lu MMIO exits, %lu unclaimed, want 1 unclaimed",
		    what, ex.mmio, ex.unclaimed);
}

/* A MOVE of table 1 that must fail with @err and change nothing. */
static void expect_move_error(struct sig_vm *v, struct kvm_msix_table *t,
			      int err, const char *what)
{
	msix_expect_define_error(v->vm, t, err, what);
	expect_served(v, MSIX_TABLE_GPA(0), what);
	expect_unclaimed(v, MSIX_TABLE_GPA(2), what);
}

/*
 * KVM_DEFINE_MSIX_TABLE's flags: DEVID refused on x86; MOVE checks its
 * arguments and on error leaves the table where it was; UNMAPPED takes a
 * table off the bus, keeping bindings, Message Control and pending bits,
 * and KVM_SIGNAL_MSIX works on it; undefined flags are refused.
 */
TEST(define_flags)
{
	struct msix_shadow s2, s3, m2;
	struct kvm_msix_table t, good;
	struct msix_exits ex;
	struct routes rt = {};
	struct sig_vm v;
	uint32_t *other;
	int i;

	sig_vm_create(&v, guest_ops, NR, 0);
	/* Table 2 at MSIX_TABLE_GPA(1); GPA(2) and GPA(3) are free. */
	msix_shadow_init(&s2, 2, NR, MSIX_TABLE_GPA(1), MSIX_PBA_GPA(1));
	msix_define(v.vm, &s2);
	msix_map(v.vm, &s2);
	msix_shadow_init(&m2, 9, NR, MSIX_TABLE_GPA(2), MSIX_PBA_GPA(2));
	msix_map(v.vm, &m2);
	msix_shadow_init(&s3, 3, NR, MSIX_TABLE_GPA(3), MSIX_PBA_GPA(3));
	msix_map(v.vm, &s3);
	expect_served(&v, MSIX_TABLE_GPA(0), "defined");

	/* DEVID: no KVM_CAP_MSI_DEVID on x86. */
	t = msix_table_of(&s3);
	t.flags = KVM_MSIX_TABLE_FLAG_DEVID;
	msix_expect_define_error(v.vm, &t, EINVAL, "DEVID");
	t.devid = 0x100;
	msix_expect_define_error(v.vm, &t, EINVAL, "DEVID 0x100");

	/* MOVE of a table that does not exist. */
	t = msix_table_of(&s3);
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	msix_expect_define_error(v.vm, &t, ENOENT, "MOVE of id 3");
	expect_unclaimed(&v, MSIX_TABLE_GPA(3), "MOVE of id 3");

	/* MOVEs of table 1 to GPA(2) that change something else. */
	good = msix_table_of(&v.s);
	good.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	good.table_gpa = MSIX_TABLE_GPA(2);
	good.pba_gpa = MSIX_PBA_GPA(2);
	t = good;
	t.nr_entries = NR - 1;
	expect_move_error(&v, &t, EINVAL, "MOVE, fewer entries");
	t.nr_entries = NR + 1;
	expect_move_error(&v, &t, EINVAL, "MOVE, more entries");
	other = msix_alloc(v.s.table_len);
	t = good;
	t.table_uaddr = (uint64_t)other;
	expect_move_error(&v, &t, EINVAL, "MOVE, other table_uaddr");
	t = good;
	t.pba_uaddr = (uint64_t)other;
	expect_move_error(&v, &t, EINVAL, "MOVE, other pba_uaddr");
	t = good;
	t.flags |= KVM_MSIX_TABLE_FLAG_DEFER_UPDATES;
	expect_move_error(&v, &t, EINVAL, "MOVE, DEFER_UPDATES added");
	t = good;
	t.flags |= KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS;
	expect_move_error(&v, &t, EINVAL, "MOVE, NO_UPDATE_EXITS added");
	t = good;
	t.flags |= KVM_MSIX_TABLE_FLAG_PASSTHROUGH;
	expect_move_error(&v, &t, EINVAL, "MOVE, PASSTHROUGH added");
	t = good;
	t.flags |= KVM_MSIX_TABLE_FLAG_DEVID;
	expect_move_error(&v, &t, EINVAL, "MOVE, DEVID added");

	/* MOVE onto table 2, its table or its PBA. */
	t = good;
	t.table_gpa = s2.table_gpa;
	expect_move_error(&v, &t, EEXIST, "MOVE onto table 2's table");
	t = good;
	t.pba_gpa = s2.pba_gpa;
	expect_move_error(&v, &t, EEXIST, "MOVE onto table 2's PBA");

	/* UNMAPPED with a guest-physical address. */
	t = msix_table_of(&s3);
	t.flags = KVM_MSIX_TABLE_FLAG_UNMAPPED;
	msix_expect_define_error(v.vm, &t, EINVAL, "UNMAPPED, table_gpa");
	t.table_gpa = 0;
	msix_expect_define_error(v.vm, &t, EINVAL, "UNMAPPED, pba_gpa");
	t = good;
	t.flags |= KVM_MSIX_TABLE_FLAG_UNMAPPED;
	expect_move_error(&v, &t, EINVAL, "MOVE UNMAPPED, GPAs");

	/* Every undefined flag, alone and with MOVE. */
	for (i = 0; i < 32; i++) {
		if (TABLE_FLAGS_DEFINED & 1u << i)
			continue;
		t = msix_table_of(&s3);
		t.flags = 1u << i;
		msix_expect_define_error(v.vm, &t, EINVAL, "undefined flag");
		t = good;
		t.flags |= 1u << i;
		expect_move_error(&v, &t, EINVAL, "MOVE, undefined flag");
	}
	expect_unclaimed(&v, MSIX_TABLE_GPA(3), "after the refused defines");

	/*
	 * State to keep across moves: entry 1 bound to GSI_BASE + 1, Function
	 * Mask, entry 0 pending.
	 */
	route_msi(&rt, GSI_BASE + 1, 0, VEC_BASE + 1);
	vm_ioctl(v.vm, KVM_SET_GSI_ROUTING, &rt.r);
	bind_entry(v.vm, 1, 1, GSI_BASE + 1);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE | KVM_MSIX_CTRL_FUNCTION_MASK);
	TEST_ASSERT_EQ(sig(v.vm, 1, 0), 0);
	TEST_ASSERT_EQ(v.s.pba[0], 1);

	/* Off the bus: the guest's accesses are the VMM's to emulate. */
	t = msix_table_of(&v.s);
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE | KVM_MSIX_TABLE_FLAG_UNMAPPED;
	t.table_gpa = 0;
	t.pba_gpa = 0;
	vm_ioctl(v.vm, KVM_DEFINE_MSIX_TABLE, &t);
	TEST_ASSERT_EQ(guest_op(&v, MSIX_TABLE_GPA(0) + KVM_MSIX_ENTRY_DATA,
				false, 0, &ex), VEC_BASE);
	TEST_ASSERT(ex.mmio == 1 && !ex.unclaimed,
		    "unmapped table: %lu MMIO exits, %lu unclaimed", ex.mmio,
		    ex.unclaimed);
	/* Its binding and Function Mask still hold. */
	kvm_irq_line(v.vm, GSI_BASE + 1, 1);
	TEST_ASSERT_EQ(v.s.pba[0], 3);

	/* Back on the bus at GPA(2). */
	t = good;
	vm_ioctl(v.vm, KVM_DEFINE_MSIX_TABLE, &t);
	v.s.table_gpa = MSIX_TABLE_GPA(2);
	v.s.pba_gpa = MSIX_PBA_GPA(2);
	expect_served(&v, MSIX_TABLE_GPA(2), "moved to GPA(2)");
	expect_unclaimed(&v, MSIX_TABLE_GPA(0), "moved away from GPA(0)");
	/* Unmask entry 0 at its new address: Function Mask still holds it. */
	guest_op(&v, MSIX_TABLE_GPA(2) + MSIX_CTRL_OFF, true, 0, &ex);
	TEST_ASSERT(!ex.mmio && !ex.unclaimed && !ex.updated,
		    "unmask at GPA(2): %lu MMIO exits", ex.mmio + ex.unclaimed);
	TEST_ASSERT_EQ(v.s.table[3], 0);
	TEST_ASSERT_EQ(v.s.pba[0], 3);
	set_ctrl(v.vm, 1, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT_EQ(v.s.pba[0], 2);
	expect_served(&v, MSIX_TABLE_GPA(2), "released");
	TEST_ASSERT_EQ(host_count(v.vm, VEC_BASE), 1);
	TEST_ASSERT_EQ(host_total(v.vm), 1);

	/* Table 3, UNMAPPED from the start: signals are held and sent. */
	t = msix_table_of(&s3);
	t.flags = KVM_MSIX_TABLE_FLAG_UNMAPPED;
	t.table_gpa = 0;
	t.pba_gpa = 0;
	for (i = 0; i < NR; i++) {
		s3.table[i * 4] = MSI_ADDR;
		s3.table[i * 4 + 2] = VEC_ALT + i;
	}
	vm_ioctl(v.vm, KVM_DEFINE_MSIX_TABLE, &t);
	set_ctrl(v.vm, 3, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT_EQ(sig(v.vm, 3, 5), 0);
	TEST_ASSERT_EQ(s3.pba[0], 1u << 5);
	/* The VMM unmasks (Memory Space is off) and tells the kernel. */
	WRITE_ONCE(s3.table[5 * 4 + 3], 0);
	set_ctrl(v.vm, 3, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT_EQ(s3.pba[0], 0);
	TEST_ASSERT_EQ(sig(v.vm, 3, 5), 1);
	expect_unclaimed(&v, MSIX_TABLE_GPA(3), "UNMAPPED table 3");
	TEST_ASSERT_EQ(host_count(v.vm, VEC_ALT + 5), 1);
	/* Table 3 onto table 2: refused; to GPA(3): served there. */
	t = msix_table_of(&s3);
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	t.table_gpa = s2.table_gpa;
	t.pba_gpa = s2.pba_gpa;
	msix_expect_define_error(v.vm, &t, EEXIST, "MOVE table 3 onto table 2");
	t = msix_table_of(&s3);
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	vm_ioctl(v.vm, KVM_DEFINE_MSIX_TABLE, &t);
	TEST_ASSERT_EQ(guest_op(&v, MSIX_TABLE_GPA(3) + 5 * MSIX_ENTRY_SIZE +
				KVM_MSIX_ENTRY_DATA, false, 0, &ex), VEC_ALT + 5);
	TEST_ASSERT(!ex.mmio && !ex.unclaimed,
		    "table 3 at GPA(3): %lu MMIO exits, %lu unclaimed", ex.mmio,
		    ex.unclaimed);
	TEST_ASSERT_EQ(s3.pba[0], 0);
	TEST_ASSERT_EQ(host_total(v.vm), 2);
	sig_vm_free(v.vm);
}

TEST_HARNESS_MAIN
