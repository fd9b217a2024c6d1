// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_deliver_test: where an interrupt on a bound MSI-X entry goes, and
 * when.
 *
 * Entry 0 of table 7 is bound to a GSI with an MSI route; interrupts come
 * from an irqfd on that GSI and the guest counts, per vector, those its IDT
 * handlers take.  A message in compatibility format is delivered with the
 * Address and Data in the table memory at that moment, whatever the GSI's
 * route says; one in remapping format goes through the route, and is held
 * from the guest's change until the vCPU that reported it is back in
 * KVM_RUN.  Every guest write is in the table memory when its instruction
 * completes: an unmask is never replayed on a later KVM_RUN, so a second
 * vCPU's mask, a table defined again under the same id and a save at the
 * exit all see the guest's writes as they were made.
 */
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "ucall_common.h"
#include "kselftest_harness.h"

#include "msix_util.h"

#define TABLE_ID	7
#define NR_ENTRIES	2
#define GSI		32

/* Table 7 sits at A; a move or a second definition puts it at B. */
#define TBL_A		MSIX_TABLE_GPA(0)
#define PBA_A		MSIX_PBA_GPA(0)
#define TBL_B		MSIX_TABLE_GPA(1)
#define PBA_B		MSIX_PBA_GPA(1)
#define ENTRY_DATA	0x8

#define MSI_ADDR	0xfee00000u	/* APIC 0: vCPU 0 takes every interrupt */
#define MSI_ADDR_REMAP	(MSI_ADDR | 0x10)	/* bit 4: remappable format */

#define VEC_OLD		0x40	/* entry 0's Data at define; the route's */
#define VEC_NEW		0x41	/* Data of the guest's QWORD unmask */
#define VEC_OTHER	0x42
#define VEC_XLATE	0x50	/* remapping: the VMM's translation of 0x40 */
#define VEC_XLATE_NEW	0x51	/* ... and of 0x41 */

/* In-Service Register, bits 31:0 (SDM vol. 3, table 11-1); apic.h has IRR. */
#define APIC_ISR	0x100

/* A port no one else uses: the guest stops here for a save. */
#define SAVE_PORT	0x7f0

static uint32_t count[0x100];

/* Count what the local APIC delivered, not TCG's repeats (msix_util.h). */
static void handler(struct ex_regs *regs)
{
	if (msix_guest_irq_delivered(regs))
		WRITE_ONCE(count[regs->vector],
			   READ_ONCE(count[regs->vector]) + 1);
}

static inline uint32_t guest_count(int vec)
{
	return READ_ONCE(count[vec]);
}

static void guest_enable_irqs(void)
{
	x2apic_enable();
	asm volatile("sti; nop");
}

/*
 * Give an interrupt the local APIC holds every chance to be taken: it would
 * be taken at the first instruction boundary with IF set anyway.
 */
static void guest_settle(void)
{
	int i;

	for (i = 0; i < 1000; i++)
		cpu_relax();
}

static void guest_wait_count(int vec, uint32_t want)
{
	uint64_t spins = 0;

	while (guest_count(vec) < want && spins++ < 10000000ull)
		cpu_relax();
	GUEST_ASSERT_EQ(guest_count(vec), want);
}

/* Every vector the handlers counted, except @vec, saw nothing. */
static void guest_assert_only(int vec, uint32_t want)
{
	int i;

	for (i = 0x20; i < 0x100; i++)
		__GUEST_ASSERT(guest_count(i) == (i == vec ? want : 0),
			       "vector 0x%x: %u interrupts, want %u", i,
			       guest_count(i), i == vec ? want : 0);
}

/*
 * Data 0x41 and a cleared Mask at entry + 0x8: one QWORD store, or (@rep)
 * REP MOVSD of the same two DWORDs.
 */
static void guest_unmask_new(uint64_t tbl, uint64_t rep)
{
	static const uint32_t msg[2] = { VEC_NEW, 0 };
	const uint32_t *src = msg;
	uint64_t dst = tbl + ENTRY_DATA;
	uint64_t n = 2;

	if (!rep) {
		msix_writeq(tbl + ENTRY_DATA, VEC_NEW);
		return;
	}
	asm volatile("cld; rep movsl"
		     : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

struct dvm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu[2];
	struct msix_shadow s;
	uint32_t flags;		/* table flags */
	int efd;		/* irqfd on GSI */
};

/* GSI gets an MSI route to APIC 0 with @vec; nothing else is routed. */
static void set_route(struct kvm_vm *vm, uint32_t vec)
{
	msix_set_route(vm, GSI, MSI_ADDR, vec);
}

static void bind(struct kvm_vm *vm)
{
	struct kvm_msix_entry_irq b = { .table_id = TABLE_ID, .gsi = GSI };

	vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &b);
}

static void set_ctrl(struct kvm_vm *vm, uint32_t flags)
{
	struct kvm_msix_table_ctrl c = { .id = TABLE_ID, .flags = flags };

	vm_ioctl(vm, KVM_SET_MSIX_TABLE_CTRL, &c);
}

static void define(struct kvm_vm *vm, struct msix_shadow *s, uint32_t flags)
{
	struct kvm_msix_table t = msix_table_of(s);

	t.flags = flags;
	vm_ioctl(vm, KVM_DEFINE_MSIX_TABLE, &t);
}

/* The VMM's steps once the table memory holds what it should. */
static void table_up(struct dvm *d, uint32_t route_vec)
{
	struct kvm_irqfd irqfd = { .gsi = GSI };

	define(d->vm, &d->s, d->flags);
	set_route(d->vm, route_vec);
	bind(d->vm);
	set_ctrl(d->vm, KVM_MSIX_CTRL_ENABLE);
	d->efd = eventfd(0, 0);
	TEST_ASSERT(d->efd >= 0, "eventfd");
	irqfd.fd = d->efd;
	vm_ioctl(d->vm, KVM_IRQFD, &irqfd);
}

/*
 * Table 7 at A, entry 0 {@addr, 0, 0x40, masked} bound to GSI, whose route
 * says @route_vec; MSI-X enabled.  Both A and B are mapped in the guest.
 */
static void setup(struct dvm *d, int nr_vcpus, void *guest_code,
		  uint32_t flags, uint32_t addr, uint32_t route_vec)
{
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	d->vm = vm_create_with_vcpus(nr_vcpus, guest_code, d->vcpu);
	for (i = 0x20; i < 0x100; i++)
		vm_install_exception_handler(d->vm, i, handler);
	virt_map(d->vm, TBL_A, TBL_A, 1);
	virt_map(d->vm, PBA_A, PBA_A, 1);
	virt_map(d->vm, TBL_B, TBL_B, 1);
	virt_map(d->vm, PBA_B, PBA_B, 1);
	msix_shadow_init(&d->s, TABLE_ID, NR_ENTRIES, TBL_A, PBA_A);
	d->s.table[0] = addr;
	d->s.table[2] = VEC_OLD;
	d->s.table[4] = MSI_ADDR;
	d->s.table[6] = 0x48;
	d->flags = flags;
	table_up(d, route_vec);
}

static void teardown(struct dvm *d)
{
	close(d->efd);
	kvm_vm_free(d->vm);
}

static void fire(struct dvm *d)
{
	uint64_t one = 1;

	TEST_ASSERT_EQ(write(d->efd, &one, 8), 8);
}

static bool pending(struct msix_shadow *s)
{
	return __atomic_load_n(&s->pba[0], __ATOMIC_SEQ_CST) & 1;
}

/* The irqfd injects from a worker: give it time to set the Pending bit. */
static void wait_pending(struct msix_shadow *s)
{
	int i;

	for (i = 0; i < 5000 && !pending(s); i++)
		usleep(1000);
	TEST_ASSERT(pending(s), "irqfd event on a held vector not pending after 5 s");
}

/* Long enough for an irqfd worker to act, if it were going to. */
static void settle(void)
{
	usleep(20 * 1000);
}

static uint32_t host_count(struct kvm_vm *vm, int vec)
{
	return READ_ONCE(*(uint32_t *)addr_gva2hva(vm, (vm_vaddr_t)&count[vec]));
}

static void check_abort(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	if (vcpu->run->exit_reason == KVM_EXIT_IO &&
	    get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
}

static void run_to(struct kvm_vcpu *vcpu, struct msix_shadow *s,
		   uint64_t stage, struct msix_exits *ex)
{
	struct msix_exits tmp;
	struct ucall uc;
	uint64_t cmd;

	cmd = msix_run(vcpu, s, ex ? ex : &tmp, &uc);
	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == stage,
		    "want GUEST_SYNC(%lu), got ucall %lu arg %lu", stage, cmd,
		    uc.args[1]);
}

/* vCPU 0 at the guest's GUEST_SYNC(0), then one event held in the PBA. */
static void run_held(struct dvm *d)
{
	run_to(d->vcpu[0], &d->s, 0, NULL);
	fire(d);
	wait_pending(&d->s);
}

static void run_done(struct kvm_vcpu *vcpu, struct msix_shadow *s,
		     struct msix_exits *ex)
{
	struct msix_exits tmp;
	struct ucall uc;

	TEST_ASSERT_EQ(msix_run(vcpu, s, ex ? ex : &tmp, &uc), UCALL_DONE);
}

/* One KVM_RUN that must stop at the report of entry 0 of table 7. */
static void expect_update(struct kvm_vcpu *vcpu, uint64_t addr, uint32_t data,
			  uint32_t ctrl)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	check_abort(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MSIX_ENTRY_UPDATED,
		    "want KVM_EXIT_MSIX_ENTRY_UPDATED, got exit %u (%s)",
		    run->exit_reason, exit_reason_str(run->exit_reason));
	TEST_ASSERT_EQ(run->msix_entry_updated.table_id, TABLE_ID);
	TEST_ASSERT_EQ(run->msix_entry_updated.entry, 0);
	TEST_ASSERT_EQ(run->msix_entry_updated.address, addr);
	TEST_ASSERT_EQ(run->msix_entry_updated.data, data);
	TEST_ASSERT_EQ(run->msix_entry_updated.vector_ctrl, ctrl);
}

static void expect_no_exits(const struct msix_exits *ex)
{
	TEST_ASSERT(!ex->updated && !ex->mmio && !ex->unclaimed,
		    "%lu update, %lu MMIO, %lu unclaimed MMIO exits, want none",
		    ex->updated, ex->mmio, ex->unclaimed);
}

/*
 * 1. vCPU 0 unmasks with new Data and is left at its report; vCPU 1 masks.
 * vCPU 0's next KVM_RUN must not redo the unmask: the later write, the
 * mask, stays, and an interrupt is held.
 */
static void guest_later_mask(uint64_t cpu, uint64_t rep)
{
	if (cpu == 1) {
		msix_writel(TBL_A + MSIX_CTRL_OFF, MSIX_MASKBIT);
		GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), MSIX_MASKBIT);
		GUEST_SYNC(10);
		/* vCPU 0 has been back in KVM_RUN since. */
		GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), MSIX_MASKBIT);
		GUEST_DONE();
	}
	guest_enable_irqs();
	GUEST_SYNC(0);
	guest_unmask_new(TBL_A, rep);
	GUEST_SYNC(1);
	/* The host fired while vCPU 1's mask was in force. */
	guest_settle();
	guest_assert_only(VEC_NEW, 0);
	GUEST_SYNC(2);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_NEW, 1);
	GUEST_DONE();
}

static void later_mask_wins(uint32_t flags, bool rep)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 2, guest_later_mask, flags, MSI_ADDR, VEC_OLD);
	vcpu_args_set(d.vcpu[0], 2, (uint64_t)0, (uint64_t)rep);
	vcpu_args_set(d.vcpu[1], 2, (uint64_t)1, (uint64_t)rep);

	run_to(d.vcpu[0], &d.s, 0, NULL);
	expect_update(d.vcpu[0], MSI_ADDR, VEC_NEW, 0);
	/* The whole instruction is in memory before the exit. */
	TEST_ASSERT(d.s.table[2] == VEC_NEW && d.s.table[3] == 0,
		    "at the report: Data 0x%x Vector Control 0x%x, want 0x%x 0",
		    d.s.table[2], d.s.table[3], VEC_NEW);

	run_to(d.vcpu[1], &d.s, 10, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT_EQ(d.s.table[3], MSIX_MASKBIT);

	run_to(d.vcpu[0], &d.s, 1, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(d.s.table[3] == MSIX_MASKBIT,
		    "vCPU 0's KVM_RUN after its report rewrote Vector Control to 0x%x",
		    d.s.table[3]);
	run_done(d.vcpu[1], &d.s, &ex);

	fire(&d);
	wait_pending(&d.s);
	run_to(d.vcpu[0], &d.s, 2, &ex);
	TEST_ASSERT(pending(&d.s), "held interrupt lost its Pending bit");
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
	teardown(&d);
}

TEST(two_vcpus_later_mask_wins)
{
	later_mask_wins(0, false);
}

TEST(two_vcpus_later_mask_wins_defer)
{
	later_mask_wins(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES, false);
}

TEST(two_vcpus_later_mask_wins_rep_movs)
{
	later_mask_wins(0, true);
}

/*
 * 2. At the report of the unmask the VMM removes table 7 and defines
 * another table (other memory, other place) under id 7: the guest's KVM_RUN
 * after the report must not touch the new table.
 */
static void guest_reused_id(uint64_t rep)
{
	GUEST_SYNC(0);
	guest_unmask_new(TBL_A, rep);
	GUEST_SYNC(1);
	/* The new table, served by the kernel, as the VMM wrote it. */
	GUEST_ASSERT_EQ(msix_readl(TBL_B + MSIX_CTRL_OFF), MSIX_MASKBIT);
	GUEST_ASSERT_EQ(msix_readl(TBL_B + ENTRY_DATA), VEC_OLD);
	GUEST_DONE();
}

static void reused_id(uint32_t flags, bool rep)
{
	struct msix_shadow b;
	struct msix_exits ex;
	uint32_t table[NR_ENTRIES * 4];
	uint64_t pba;
	struct dvm d;

	setup(&d, 1, guest_reused_id, flags, MSI_ADDR, VEC_OLD);
	vcpu_args_set(d.vcpu[0], 1, (uint64_t)rep);
	run_to(d.vcpu[0], &d.s, 0, NULL);
	expect_update(d.vcpu[0], MSI_ADDR, VEC_NEW, 0);

	msix_remove(d.vm, TABLE_ID);
	msix_shadow_init(&b, TABLE_ID, NR_ENTRIES, TBL_B, PBA_B);
	b.table[0] = MSI_ADDR;
	b.table[2] = VEC_OLD;
	memcpy(table, b.table, sizeof(table));
	pba = b.pba[0];
	define(d.vm, &b, flags);
	bind(d.vm);
	set_ctrl(d.vm, KVM_MSIX_CTRL_ENABLE);

	run_to(d.vcpu[0], &b, 1, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!memcmp(table, b.table, sizeof(table)),
		    "new table 7 changed: entry 0 {0x%x 0x%x 0x%x 0x%x}",
		    b.table[0], b.table[1], b.table[2], b.table[3]);
	TEST_ASSERT_EQ(b.pba[0], pba);
	/* The removed table kept the guest's write, all of it. */
	TEST_ASSERT(d.s.table[2] == VEC_NEW && d.s.table[3] == 0,
		    "removed table: Data 0x%x Vector Control 0x%x, want 0x%x 0",
		    d.s.table[2], d.s.table[3], VEC_NEW);

	run_done(d.vcpu[0], &b, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!memcmp(table, b.table, sizeof(table)), "new table changed");
	teardown(&d);
}

TEST(reused_id_untouched)
{
	reused_id(0, false);
}

TEST(reused_id_untouched_defer)
{
	reused_id(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES, false);
}

TEST(reused_id_untouched_rep_movs)
{
	reused_id(0, true);
}

/*
 * 3. Save and restore with the vCPU stopped at an exit: the table and PBA
 * memory, copied then, hold every guest write that completed, and with the
 * vCPU state (its local APIC included) they make a VM that neither loses
 * nor repeats an interrupt.
 */

/* The saved local APIC has @vec requested or in service. */
static bool lapic_has(const struct kvm_lapic_state *l, int vec)
{
	const uint32_t *irr = (const uint32_t *)&l->regs[APIC_IRR];
	const uint32_t *isr = (const uint32_t *)&l->regs[APIC_ISR];
	uint32_t bit = 1u << (vec % 32);

	return (irr[vec / 32 * 4] | isr[vec / 32 * 4]) & bit;
}

/*
 * Move the VM into a new KVM VM, as a VMM migrates: the vCPU state, then
 * the table from @table and @pba with route, binding and Message Control
 * (Documentation/virt/kvm/msix.rst, section 5).  @lapic gets the saved
 * local APIC.
 */
static void migrate(struct dvm *d, const uint32_t *table, uint64_t pba,
		    struct kvm_lapic_state *lapic)
{
	struct kvm_x86_state *state;
	uint32_t now[NR_ENTRIES * 4];

	memcpy(now, d->s.table, sizeof(now));
	state = vcpu_save_state(d->vcpu[0]);
	/* Completing the exit (KVM_RUN, immediate_exit) changes nothing. */
	TEST_ASSERT(!memcmp(now, d->s.table, sizeof(now)),
		    "KVM_RUN after the exit changed entry 0 to {0x%x 0x%x 0x%x 0x%x}",
		    d->s.table[0], d->s.table[1], d->s.table[2], d->s.table[3]);
	vcpu_ioctl(d->vcpu[0], KVM_GET_LAPIC, lapic);
	kvm_vm_release(d->vm);
	close(d->efd);

	d->vcpu[0] = vm_recreate_with_one_vcpu(d->vm);
	vcpu_load_state(d->vcpu[0], state);
	vcpu_ioctl(d->vcpu[0], KVM_SET_LAPIC, lapic);
	kvm_x86_state_cleanup(state);

	msix_shadow_init(&d->s, TABLE_ID, NR_ENTRIES, TBL_A, PBA_A);
	memcpy(d->s.table, table, d->s.table_len);
	d->s.pba[0] = pba;
	table_up(d, VEC_OLD);
}

static void guest_save_at_update(uint64_t rep)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	guest_unmask_new(TBL_A, rep);
	/* Delivered at the unmask, in the old VM; taken in the new one. */
	guest_assert_only(VEC_NEW, 1);
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), 0);
	GUEST_ASSERT_EQ(msix_readl(TBL_A + ENTRY_DATA), VEC_NEW);
	guest_settle();
	guest_assert_only(VEC_NEW, 1);
	GUEST_DONE();
}

/*
 * The third input: one event held, the QWORD (or REP MOVSD) unmask
 * with new Data, and a save at its update exit, with no KVM_RUN in
 * progress.  The saved memory holds the completed write, and the event,
 * sent at the unmask, travels in the local APIC state.
 */
static void save_at_report(uint32_t flags, bool rep)
{
	uint32_t table[NR_ENTRIES * 4];
	struct kvm_lapic_state lapic;
	struct msix_exits ex;
	uint64_t pba;
	struct dvm d;

	setup(&d, 1, guest_save_at_update, flags, MSI_ADDR, VEC_OLD);
	vcpu_args_set(d.vcpu[0], 1, (uint64_t)rep);
	run_held(&d);
	expect_update(d.vcpu[0], MSI_ADDR, VEC_NEW, 0);

	memcpy(table, d.s.table, sizeof(table));
	pba = d.s.pba[0];
	TEST_ASSERT(table[2] == VEC_NEW && table[3] == 0,
		    "saved at the report: Data 0x%x Vector Control 0x%x, want 0x%x 0",
		    table[2], table[3], VEC_NEW);
	TEST_ASSERT(!(pba & 1), "saved PBA still pending after the unmask");

	migrate(&d, table, pba, &lapic);
	TEST_ASSERT(lapic_has(&lapic, VEC_NEW),
		    "vector 0x%x not in the local APIC at the report", VEC_NEW);
	TEST_ASSERT(!lapic_has(&lapic, VEC_OLD),
		    "vector 0x%x in the local APIC", VEC_OLD);
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_NEW), 1);
	TEST_ASSERT(!pending(&d.s), "pending in the new VM");
	teardown(&d);
}

TEST(save_at_exit)
{
	save_at_report(0, false);
}

TEST(save_at_exit_defer)
{
	save_at_report(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES, false);
}

TEST(save_at_exit_rep_movs)
{
	save_at_report(0, true);
}

static void guest_save_at_mmio(void)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	/* 2 bytes: the VMM's to emulate, and where it saves. */
	msix_writew(TBL_A + ENTRY_DATA, VEC_OTHER);
	GUEST_ASSERT_EQ(msix_readl(TBL_A + ENTRY_DATA), VEC_OTHER);
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), MSIX_MASKBIT);
	guest_settle();
	guest_assert_only(VEC_OTHER, 0);
	/* The interrupt held since before the save, once, on the new Data. */
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_OTHER, 1);
	GUEST_DONE();
}

TEST(save_at_mmio_exit)
{
	uint32_t table[NR_ENTRIES * 4];
	struct kvm_lapic_state lapic;
	struct kvm_run *run;
	struct msix_exits ex;
	uint64_t pba;
	struct dvm d;

	setup(&d, 1, guest_save_at_mmio, 0, MSI_ADDR, VEC_OLD);
	run = d.vcpu[0]->run;
	run_held(&d);
	expect_update(d.vcpu[0], MSI_ADDR, VEC_NEW, MSIX_MASKBIT);

	vcpu_run(d.vcpu[0]);
	check_abort(d.vcpu[0]);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MMIO,
		    "want KVM_EXIT_MMIO, got exit %u (%s)", run->exit_reason,
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT_EQ(run->mmio.phys_addr, TBL_A + ENTRY_DATA);
	TEST_ASSERT_EQ(run->mmio.len, 2);
	TEST_ASSERT_EQ(run->mmio.is_write, 1);
	/* What completed before this instruction is in memory. */
	TEST_ASSERT_EQ(d.s.table[2], VEC_NEW);
	TEST_ASSERT_EQ(d.s.table[3], MSIX_MASKBIT);
	TEST_ASSERT(pending(&d.s), "Pending bit not in memory at the exit");
	TEST_ASSERT(msix_emulate_mmio(&d.s, run), "exit not in the table");
	memcpy(table, d.s.table, sizeof(table));
	pba = d.s.pba[0];

	migrate(&d, table, pba, &lapic);
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_OTHER), 1);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
	teardown(&d);
}

static void guest_save_at_io(void)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_NEW, 1);
	msix_writel(TBL_A + MSIX_CTRL_OFF, MSIX_MASKBIT);
	asm volatile("outb %%al, %%dx" : : "a"(0), "d"(SAVE_PORT) : "memory");
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), MSIX_MASKBIT);
	guest_settle();
	guest_assert_only(VEC_NEW, 1);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_NEW, 2);
	GUEST_DONE();
}

TEST(save_at_io_exit)
{
	uint32_t table[NR_ENTRIES * 4];
	struct kvm_lapic_state lapic;
	struct kvm_run *run;
	struct msix_exits ex;
	uint64_t pba;
	struct dvm d;

	setup(&d, 1, guest_save_at_io, 0, MSI_ADDR, VEC_OLD);
	run = d.vcpu[0]->run;
	run_held(&d);
	expect_update(d.vcpu[0], MSI_ADDR, VEC_NEW, MSIX_MASKBIT);

	vcpu_run(d.vcpu[0]);
	check_abort(d.vcpu[0]);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO &&
		    run->io.port == SAVE_PORT,
		    "want KVM_EXIT_IO on port 0x%x, got exit %u (%s)",
		    SAVE_PORT, run->exit_reason,
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT_EQ(d.s.table[2], VEC_NEW);
	TEST_ASSERT_EQ(d.s.table[3], MSIX_MASKBIT);
	TEST_ASSERT(!pending(&d.s), "Pending bit still set after the unmask");
	/* One more, held by the guest's mask, goes along in the PBA. */
	fire(&d);
	wait_pending(&d.s);
	memcpy(table, d.s.table, sizeof(table));
	pba = d.s.pba[0];

	migrate(&d, table, pba, &lapic);
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_NEW), 2);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
	teardown(&d);
}

/*
 * 4. vCPU 1 changes Data and is left at its report; vCPU 0 unmasks: the
 * held interrupt goes out with the Data in the table, not with the GSI's
 * route, which says 0x40 throughout.
 */
static void guest_report_unmask(uint64_t cpu)
{
	if (cpu == 1) {
		msix_writel(TBL_A + ENTRY_DATA, VEC_OTHER);
		GUEST_DONE();
	}
	guest_enable_irqs();
	GUEST_SYNC(0);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_OTHER, 1);
	GUEST_SYNC(1);
	guest_settle();
	guest_assert_only(VEC_OTHER, 1);
	GUEST_DONE();
}

TEST(report_on_one_unmask_on_other)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 2, guest_report_unmask, 0, MSI_ADDR, VEC_OLD);
	vcpu_args_set(d.vcpu[0], 1, (uint64_t)0);
	vcpu_args_set(d.vcpu[1], 1, (uint64_t)1);
	run_held(&d);
	expect_update(d.vcpu[1], MSI_ADDR, VEC_OTHER, MSIX_MASKBIT);

	run_to(d.vcpu[0], &d.s, 1, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
	run_done(d.vcpu[1], &d.s, &ex);
	expect_no_exits(&ex);
	run_done(d.vcpu[0], &d.s, &ex);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_OTHER), 1);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_OLD), 0);
	teardown(&d);
}

/*
 * 5. Removed and defined again at B while a change is unreported, or moved
 * with KVM_MSIX_TABLE_FLAG_MOVE: the held interrupt goes out on the
 * entry's Data at the unmask.
 */
static void guest_redefine(void)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	msix_writel(TBL_A + ENTRY_DATA, VEC_OTHER);
	GUEST_SYNC(1);
	msix_writel(TBL_B + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_OTHER, 1);
	GUEST_DONE();
}

static void move(struct dvm *d, uint32_t flags, uint64_t table_gpa,
		 uint64_t pba_gpa)
{
	struct kvm_msix_table t = msix_table_of(&d->s);

	t.flags = flags;
	t.table_gpa = table_gpa;
	t.pba_gpa = pba_gpa;
	vm_ioctl(d->vm, KVM_DEFINE_MSIX_TABLE, &t);
}

/*
 * @relocate: KVM_MSIX_TABLE_FLAG_MOVE to B, else remove and define at B.
 * A define starts with nothing unreported; a move keeps what was.
 */
static void redefine(uint32_t flags, bool relocate)
{
	bool defer = flags & KVM_MSIX_TABLE_FLAG_DEFER_UPDATES;
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_redefine, flags, MSI_ADDR, VEC_OLD);
	run_held(&d);
	if (defer) {
		/* Changed while masked: not reported yet. */
		run_to(d.vcpu[0], &d.s, 1, &ex);
		expect_no_exits(&ex);
	} else {
		/* Reported, and the vCPU not back in KVM_RUN. */
		expect_update(d.vcpu[0], MSI_ADDR, VEC_OTHER, MSIX_MASKBIT);
	}

	if (relocate) {
		move(&d, KVM_MSIX_TABLE_FLAG_MOVE | flags, TBL_B, PBA_B);
		d.s.table_gpa = TBL_B;
		d.s.pba_gpa = PBA_B;
	} else {
		msix_remove(d.vm, TABLE_ID);
		d.s.table_gpa = TBL_B;
		d.s.pba_gpa = PBA_B;
		define(d.vm, &d.s, flags);
		bind(d.vm);
		set_ctrl(d.vm, KVM_MSIX_CTRL_ENABLE);
	}
	TEST_ASSERT(pending(&d.s), "Pending bit lost at B");

	if (!defer) {
		run_to(d.vcpu[0], &d.s, 1, &ex);
		expect_no_exits(&ex);
	} else if (relocate) {
		/* Still unreported after the move: the unmask reports it. */
		expect_update(d.vcpu[0], MSI_ADDR, VEC_OTHER, 0);
		TEST_ASSERT(!pending(&d.s), "unmask left the interrupt pending");
	}
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_OTHER), 1);
	teardown(&d);
}

TEST(remove_define_keeps_vector)
{
	redefine(0, false);
}

TEST(remove_define_keeps_vector_defer)
{
	redefine(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES, false);
}

TEST(move_keeps_vector)
{
	redefine(0, true);
}

TEST(move_keeps_vector_defer)
{
	redefine(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES, true);
}

static void guest_move(void)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	/* Moved to B: served there, Mask and Pending as they were. */
	GUEST_ASSERT_EQ(msix_readl(TBL_B + MSIX_CTRL_OFF), MSIX_MASKBIT);
	GUEST_ASSERT_EQ(msix_readl(PBA_B), 1);
	/* Nothing at A any more: the VMM answers, with 0. */
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), 0);
	guest_settle();
	guest_assert_only(VEC_OLD, 0);
	msix_writel(TBL_B + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_OLD, 1);
	msix_writel(TBL_B + MSIX_CTRL_OFF, MSIX_MASKBIT);
	GUEST_SYNC(1);
	/* Unmapped: B is the VMM's too. */
	GUEST_ASSERT_EQ(msix_readl(TBL_B + MSIX_CTRL_OFF), 0);
	GUEST_SYNC(2);
	/* Back at A, still pending from while it was unmapped. */
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), MSIX_MASKBIT);
	GUEST_ASSERT_EQ(msix_readl(PBA_A), 1);
	guest_settle();
	guest_assert_only(VEC_OLD, 1);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_OLD, 2);
	GUEST_DONE();
}

/*
 * The route says 0x50 and the entry 0x40: an interrupt that escaped the
 * binding would be counted on 0x50.
 */
TEST(move_keeps_state)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_move, 0, MSI_ADDR, VEC_XLATE);
	run_held(&d);
	move(&d, KVM_MSIX_TABLE_FLAG_MOVE, TBL_B, PBA_B);
	d.s.table_gpa = TBL_B;
	d.s.pba_gpa = PBA_B;
	TEST_ASSERT(pending(&d.s), "Pending bit lost in the move");
	/* Fired after the move: the binding still holds it. */
	__atomic_fetch_and(&d.s.pba[0], ~1ull, __ATOMIC_SEQ_CST);
	fire(&d);
	wait_pending(&d.s);
	run_to(d.vcpu[0], &d.s, 1, &ex);
	TEST_ASSERT(!ex.updated && !ex.mmio && ex.unclaimed == 1,
		    "at B: %lu update, %lu MMIO exits at B, %lu at A; want 0, 0, 1",
		    ex.updated, ex.mmio, ex.unclaimed);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");

	move(&d, KVM_MSIX_TABLE_FLAG_MOVE | KVM_MSIX_TABLE_FLAG_UNMAPPED, 0, 0);
	fire(&d);
	wait_pending(&d.s);
	run_to(d.vcpu[0], NULL, 2, &ex);
	TEST_ASSERT(!ex.updated && ex.unclaimed == 1,
		    "unmapped: %lu update, %lu MMIO exits; want 0, 1",
		    ex.updated, ex.unclaimed);

	move(&d, KVM_MSIX_TABLE_FLAG_MOVE, TBL_A, PBA_A);
	d.s.table_gpa = TBL_A;
	d.s.pba_gpa = PBA_A;
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_OLD), 2);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE), 0);
	teardown(&d);
}

/*
 * 6. Remapping format (Address bit 4): delivered through the route, which
 * translates 0x40 to 0x50.  After the guest changes Data, an interrupt is
 * held until the vCPU that took the report is back in KVM_RUN, by which
 * time the VMM has routed 0x41 to 0x51.
 */
static void guest_remap_unmasked(void)
{
	guest_enable_irqs();
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_SYNC(0);
	guest_wait_count(VEC_XLATE, 1);
	guest_assert_only(VEC_XLATE, 1);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	/* Delivered at KVM_RUN, before this instruction. */
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE_NEW), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_NEW), 0);
	GUEST_ASSERT_EQ(guest_count(VEC_OLD), 0);
	GUEST_DONE();
}

static void remap_unmasked(uint32_t flags)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_remap_unmasked, flags, MSI_ADDR_REMAP, VEC_XLATE);
	run_to(d.vcpu[0], &d.s, 0, &ex);
	expect_no_exits(&ex);
	fire(&d);
	expect_update(d.vcpu[0], MSI_ADDR_REMAP, VEC_NEW, 0);
	fire(&d);
	wait_pending(&d.s);
	set_route(d.vm, VEC_XLATE_NEW);
	settle();
	TEST_ASSERT(pending(&d.s), "delivered before the vCPU was back in KVM_RUN");
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after KVM_RUN");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE_NEW), 1);
	teardown(&d);
}

TEST(remapping_format_unmasked)
{
	remap_unmasked(0);
}

/* NO_UPDATE_EXITS spares compatibility-format entries only. */
TEST(remapping_format_no_update_exits)
{
	remap_unmasked(KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS);
}

static void guest_remap_masked(uint64_t cpu)
{
	if (cpu == 1) {
		/* Unmasked while vCPU 0's report is unacknowledged. */
		msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
		GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), 0);
		GUEST_DONE();
	}
	guest_enable_irqs();
	GUEST_SYNC(0);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	guest_assert_only(VEC_XLATE_NEW, 1);
	GUEST_DONE();
}

TEST(remapping_format_masked_other_vcpu)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 2, guest_remap_masked, 0, MSI_ADDR_REMAP, VEC_XLATE);
	vcpu_args_set(d.vcpu[0], 1, (uint64_t)0);
	vcpu_args_set(d.vcpu[1], 1, (uint64_t)1);
	run_held(&d);
	expect_update(d.vcpu[0], MSI_ADDR_REMAP, VEC_NEW, MSIX_MASKBIT);

	run_done(d.vcpu[1], &d.s, &ex);
	expect_no_exits(&ex);
	settle();
	TEST_ASSERT(pending(&d.s),
		    "unmask on vCPU 1 delivered before vCPU 0 was back in KVM_RUN");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE), 0);
	set_route(d.vm, VEC_XLATE_NEW);
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after KVM_RUN");
	teardown(&d);
}

static void guest_remap_defer(void)
{
	guest_enable_irqs();
	GUEST_SYNC(0);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	GUEST_SYNC(1);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	guest_assert_only(VEC_XLATE_NEW, 1);
	GUEST_DONE();
}

TEST(remapping_format_defer)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_remap_defer, KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
	      MSI_ADDR_REMAP, VEC_XLATE);
	run_to(d.vcpu[0], &d.s, 0, NULL);
	run_to(d.vcpu[0], &d.s, 1, &ex);
	expect_no_exits(&ex);
	fire(&d);
	wait_pending(&d.s);
	expect_update(d.vcpu[0], MSI_ADDR_REMAP, VEC_NEW, 0);
	/* Unmasked, and still held: the VMM has not seen 0x41 yet. */
	TEST_ASSERT_EQ(d.s.table[3], 0);
	set_route(d.vm, VEC_XLATE_NEW);
	settle();
	TEST_ASSERT(pending(&d.s), "delivered before the vCPU was back in KVM_RUN");
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after KVM_RUN");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE_NEW), 1);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE), 0);
	teardown(&d);
}

/*
 * 7. Linux's reprogram (mask, address low, address high, data, unmask,
 * read back) and the reports it costs.  When only Data changes the host
 * fires while the entry is masked and again after: both go out on the new
 * vector, the route staying at 0x40.
 */
static void guest_reprogram(uint64_t lo, uint64_t hi, uint64_t data,
			    uint64_t fired)
{
	guest_enable_irqs();
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_SYNC(0);
	msix_writel(TBL_A + MSIX_CTRL_OFF, MSIX_MASKBIT);
	msix_writel(TBL_A + 0x0, lo);
	msix_writel(TBL_A + 0x4, hi);
	msix_writel(TBL_A + ENTRY_DATA, data);
	GUEST_SYNC(1);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), 0);
	if (fired) {
		guest_assert_only(data, 1);
		GUEST_SYNC(2);
		guest_wait_count(data, 2);
		guest_assert_only(data, 2);
	}
	GUEST_DONE();
}

/* Run to the next ucall adding up the exits; @last keeps the last report. */
static uint64_t reprogram_run(struct dvm *d, int64_t stage,
			      struct msix_exits *last)
{
	struct msix_exits ex;

	if (stage < 0)
		run_done(d->vcpu[0], &d->s, &ex);
	else
		run_to(d->vcpu[0], &d->s, stage, &ex);
	TEST_ASSERT_EQ(ex.mmio + ex.unclaimed, 0);
	if (ex.updated)
		*last = ex;
	return ex.updated;
}

static uint64_t reprogram(uint32_t flags, uint32_t lo, uint32_t hi,
			  uint32_t data)
{
	bool defer = flags & KVM_MSIX_TABLE_FLAG_DEFER_UPDATES;
	bool fired = lo == MSI_ADDR && !hi;
	struct msix_exits last = {};
	uint64_t updates;
	struct dvm d;

	setup(&d, 1, guest_reprogram, flags, MSI_ADDR, VEC_OLD);
	vcpu_args_set(d.vcpu[0], 4, (uint64_t)lo, (uint64_t)hi,
		      (uint64_t)data, (uint64_t)fired);
	/* A define starts with nothing unreported, DEFER or not. */
	TEST_ASSERT_EQ(reprogram_run(&d, 0, &last), 0);

	updates = reprogram_run(&d, 1, &last);
	if (fired) {
		fire(&d);
		wait_pending(&d.s);
		updates += reprogram_run(&d, 2, &last);
		TEST_ASSERT(!pending(&d.s), "still pending after the unmask");
		/* Unmasked now: straight through, on the new vector. */
		fire(&d);
	}
	updates += reprogram_run(&d, -1, &last);
	if (updates) {
		TEST_ASSERT_EQ(last.last.address, (uint64_t)hi << 32 | lo);
		TEST_ASSERT_EQ(last.last.data, data);
		/* Reported at the Data write, or (deferred) at the unmask. */
		TEST_ASSERT_EQ(last.last.vector_ctrl, defer ? 0 : MSIX_MASKBIT);
	}
	TEST_ASSERT_EQ(d.s.table[3], 0);
	if (fired)
		TEST_ASSERT_EQ(host_count(d.vm, data), 2);
	teardown(&d);
	return updates;
}

TEST(reprogram_exits_no_update_exits)
{
	TEST_ASSERT_EQ(reprogram(KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS,
				 MSI_ADDR, 0, VEC_OTHER), 0);
	TEST_ASSERT_EQ(reprogram(KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS,
				 MSI_ADDR | 0x1000, 1, VEC_OTHER), 0);
}

TEST(reprogram_exits_defer)
{
	TEST_ASSERT_EQ(reprogram(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
				 MSI_ADDR, 0, VEC_OTHER), 1);
	TEST_ASSERT_EQ(reprogram(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
				 MSI_ADDR | 0x1000, 1, VEC_OTHER), 1);
}

TEST(reprogram_exits_default)
{
	TEST_ASSERT_EQ(reprogram(0, MSI_ADDR, 0, VEC_OTHER), 1);
	TEST_ASSERT_EQ(reprogram(0, MSI_ADDR | 0x1000, 0, VEC_OTHER), 2);
	TEST_ASSERT_EQ(reprogram(0, MSI_ADDR | 0x1000, 1, VEC_OTHER), 3);
}

/*
 * 8. KVM_MSIX_CTRL_TRANSLATED: the VMM's vIOMMU translates every message of
 * the function, even one in compatibility format.  Entry 0 says 0x40 in
 * compatibility format on a NO_UPDATE_EXITS table; the route says 0x50.
 */
static int signal_msix(struct kvm_vm *vm, uint32_t entry)
{
	struct kvm_msix_signal sig = { .table_id = TABLE_ID, .entry = entry };

	return __vm_ioctl(vm, KVM_SIGNAL_MSIX, &sig);
}

static void expect_signal_error(struct kvm_vm *vm, uint32_t entry, int err)
{
	int r = signal_msix(vm, entry);

	TEST_ASSERT(r == -1 && errno == err,
		    "KVM_SIGNAL_MSIX(entry %u) returned %d errno %d, want errno %d",
		    entry, r, errno, err);
}

static bool pending_bit(struct msix_shadow *s, int entry)
{
	return __atomic_load_n(&s->pba[0], __ATOMIC_SEQ_CST) >> entry & 1;
}

static void guest_translated(void)
{
	guest_enable_irqs();
	/* Vector Control only: nothing to report. */
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_SYNC(0);
	guest_wait_count(VEC_XLATE, 1);
	guest_assert_only(VEC_XLATE, 1);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	/* Held until this vCPU was back in KVM_RUN, then through the route. */
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE_NEW), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_NEW), 0);
	GUEST_ASSERT_EQ(guest_count(VEC_OLD), 0);
	GUEST_SYNC(1);
	/* Not translated any more: from the table. */
	guest_wait_count(VEC_NEW, 1);
	guest_settle();
	GUEST_ASSERT_EQ(guest_count(VEC_NEW), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE_NEW), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE), 1);
	GUEST_ASSERT_EQ(guest_count(VEC_OLD), 0);
	GUEST_DONE();
}

TEST(translated_ctrl)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_translated, KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS,
	      MSI_ADDR, VEC_XLATE);
	set_ctrl(d.vm, KVM_MSIX_CTRL_ENABLE | KVM_MSIX_CTRL_TRANSLATED);
	/* Entry 1 is bound to no GSI, whose route alone could translate it. */
	expect_signal_error(d.vm, 1, ENXIO);
	TEST_ASSERT(!pending_bit(&d.s, 1), "ENXIO, yet entry 1 is pending");

	run_to(d.vcpu[0], &d.s, 0, &ex);
	expect_no_exits(&ex);
	fire(&d);
	/* Reported, NO_UPDATE_EXITS notwithstanding. */
	expect_update(d.vcpu[0], MSI_ADDR, VEC_NEW, 0);
	fire(&d);
	wait_pending(&d.s);
	set_route(d.vm, VEC_XLATE_NEW);
	settle();
	TEST_ASSERT(pending(&d.s), "delivered before the vCPU was back in KVM_RUN");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE_NEW), 0);
	run_to(d.vcpu[0], &d.s, 1, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "still pending after KVM_RUN");

	set_ctrl(d.vm, KVM_MSIX_CTRL_ENABLE);
	/* Compatibility format again: raised from the table, held by Mask. */
	TEST_ASSERT_EQ(signal_msix(d.vm, 1), 0);
	TEST_ASSERT(pending_bit(&d.s, 1), "entry 1 held but not pending");
	fire(&d);
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_NEW), 1);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE_NEW), 1);
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE), 1);
	teardown(&d);
}

/*
 * 9. KVM_SET_MSIX_TABLE_CTRL acknowledges every report: a VMM whose
 * reporting vCPU stays out of KVM_RUN updates the route and calls it, and
 * the held interrupt goes out at once, through the new route, once.
 */
static void guest_ctrl_ack(void)
{
	guest_enable_irqs();
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_SYNC(0);
	msix_writel(TBL_A + ENTRY_DATA, VEC_NEW);
	/* In the local APIC since KVM_SET_MSIX_TABLE_CTRL. */
	GUEST_ASSERT_EQ(guest_count(VEC_XLATE_NEW), 1);
	guest_settle();
	guest_assert_only(VEC_XLATE_NEW, 1);
	GUEST_DONE();
}

TEST(ctrl_acknowledges)
{
	struct kvm_lapic_state lapic;
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_ctrl_ack, 0, MSI_ADDR_REMAP, VEC_XLATE);
	run_to(d.vcpu[0], &d.s, 0, &ex);
	expect_no_exits(&ex);
	expect_update(d.vcpu[0], MSI_ADDR_REMAP, VEC_NEW, 0);
	fire(&d);
	wait_pending(&d.s);
	set_route(d.vm, VEC_XLATE_NEW);
	settle();
	TEST_ASSERT(pending(&d.s), "delivered before the VMM acknowledged");

	set_ctrl(d.vm, KVM_MSIX_CTRL_ENABLE);
	TEST_ASSERT(!pending(&d.s),
		    "still pending after KVM_SET_MSIX_TABLE_CTRL with unchanged flags");
	vcpu_ioctl(d.vcpu[0], KVM_GET_LAPIC, &lapic);
	TEST_ASSERT(lapic_has(&lapic, VEC_XLATE_NEW),
		    "vector 0x%x not in the local APIC after KVM_SET_MSIX_TABLE_CTRL",
		    VEC_XLATE_NEW);
	TEST_ASSERT(!lapic_has(&lapic, VEC_XLATE) && !lapic_has(&lapic, VEC_NEW) &&
		    !lapic_has(&lapic, VEC_OLD),
		    "local APIC holds a vector other than 0x%x", VEC_XLATE_NEW);

	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT(!pending(&d.s), "pending again after KVM_RUN");
	TEST_ASSERT_EQ(host_count(d.vm, VEC_XLATE_NEW), 1);
	teardown(&d);
}

/* 10. What KVM_CAP_MSIX_TABLE_FLAGS says: every flag but DEVID on x86. */
TEST(cap_table_flags)
{
	const uint32_t want = KVM_MSIX_TABLE_FLAG_DEFER_UPDATES |
			      KVM_MSIX_TABLE_FLAG_PASSTHROUGH |
			      KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS |
			      KVM_MSIX_TABLE_FLAG_UNMAPPED |
			      KVM_MSIX_TABLE_FLAG_MOVE;
	struct msix_shadow s;
	struct kvm_msix_table t;
	struct kvm_vm *vm;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	vm = vm_create_barebones();
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_MSIX_TABLE_FLAGS), want);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_MSIX_TABLE_FLAGS), want);
	/* Absent, and refused. */
	msix_shadow_init(&s, TABLE_ID, NR_ENTRIES, TBL_A, PBA_A);
	t = msix_table_of(&s);
	t.flags = KVM_MSIX_TABLE_FLAG_DEVID;
	msix_expect_define_error(vm, &t, EINVAL, "DEVID on x86");
	kvm_vm_free(vm);
}

/*
 * 11. A 16 byte store to an unmasked entry of a DEFER_UPDATES table, new
 * Address and Data with Mask set, is split in two QWORDs: the first, to an
 * unmasked entry, is reported; the second, which masks, is shown by that
 * same exit, so the unmask that follows has nothing left to report.
 */
#define MSI_ADDR_CPU1	(MSI_ADDR | 0x1000)

static void guest_store16_defer(void)
{
	static const uint32_t msg[4] = {
		MSI_ADDR_CPU1, 0, VEC_NEW, MSIX_MASKBIT
	};

	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_SYNC(0);
	asm volatile("movups (%1), %%xmm0\n\tmovups %%xmm0, (%0)"
		     : : "r"(TBL_A), "r"(msg) : "xmm0", "memory");
	GUEST_SYNC(1);
	msix_writel(TBL_A + MSIX_CTRL_OFF, 0);
	GUEST_ASSERT_EQ(msix_readl(TBL_A + MSIX_CTRL_OFF), 0);
	GUEST_DONE();
}

TEST(store16_defer_no_second_exit)
{
	struct msix_exits ex;
	struct dvm d;

	setup(&d, 1, guest_store16_defer, KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
	      MSI_ADDR, VEC_OLD);
	run_to(d.vcpu[0], &d.s, 0, &ex);
	expect_no_exits(&ex);
	expect_update(d.vcpu[0], MSI_ADDR_CPU1, VEC_NEW, MSIX_MASKBIT);
	TEST_ASSERT(d.s.table[0] == MSI_ADDR_CPU1 && d.s.table[1] == 0 &&
		    d.s.table[2] == VEC_NEW && d.s.table[3] == MSIX_MASKBIT,
		    "at the report: entry 0 {0x%x 0x%x 0x%x 0x%x}",
		    d.s.table[0], d.s.table[1], d.s.table[2], d.s.table[3]);
	/* Nothing more from the store... */
	run_to(d.vcpu[0], &d.s, 1, &ex);
	expect_no_exits(&ex);
	/* ... nor from the unmask. */
	run_done(d.vcpu[0], &d.s, &ex);
	expect_no_exits(&ex);
	TEST_ASSERT_EQ(d.s.table[3], 0);
	teardown(&d);
}

/* 12. No in-kernel local APIC to send to: EINVAL, as for KVM_SIGNAL_MSI. */
TEST(signal_no_irqchip)
{
	struct msix_shadow s;
	struct kvm_vm *vm;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	vm = vm_create_barebones();
	msix_shadow_init(&s, TABLE_ID, NR_ENTRIES, TBL_A, PBA_A);
	s.table[0] = MSI_ADDR;
	s.table[2] = VEC_OLD;
	s.table[3] = 0;
	define(vm, &s, 0);
	set_ctrl(vm, KVM_MSIX_CTRL_ENABLE);
	/* Entry 0 would be sent, entry 1 held. */
	expect_signal_error(vm, 0, EINVAL);
	expect_signal_error(vm, 1, EINVAL);
	TEST_ASSERT_EQ(s.pba[0], 0);

	/* The same table once the VM has one. */
	vm_create_irqchip(vm);
	TEST_ASSERT_EQ(signal_msix(vm, 0), 1);
	TEST_ASSERT_EQ(signal_msix(vm, 1), 0);
	TEST_ASSERT_EQ(s.pba[0], 2);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
