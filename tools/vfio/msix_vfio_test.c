// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_vfio_test: assigned vfio-pci functions whose MSI-X tables KVM serves,
 * set up by tools/vfio/msix_vfio.c the way a VMM would.
 *
 * e1000e (8086:10d3; its table alone in BAR3): the guest programs an entry
 * through the in-kernel table, maps the cause RXQ0 to it in the device
 * (IVAR) and raises it with a write to ICS in BAR0, a memslot on the
 * mmap()ed BAR.  The real interrupt travels vfio eventfd -> irqfd -> the
 * entry's gate and is counted in the guest's IDT handler: delivered while
 * unmasked, held as the entry's Pending bit (read by the guest in the PBA)
 * while masked by the entry or by Function Mask, and delivered exactly once
 * on unmask.  Once without and once with a passthrough window over BAR3.
 *
 * nvme (1b36:0010; registers, doorbells and table share BAR0): a window over
 * all of BAR0, as a 64K-page host must trap.  Guest reads and writes of the
 * registers, of every width, aligned or not, see and do exactly what the
 * same access from the VMM sees and does (pread/pwrite on the vfio region;
 * unaligned ones on the BAR mapping), table accesses in the window are
 * still the kernel's, the PBA the guest reads is the kernel's, and nothing
 * exits.  Without the window the same guest gets the same answers at one
 * exit per register access.  An access the kernel cannot perform (memory
 * decoding off) and one it declines (a WORD in the table) exit to the VMM
 * as KVM_EXIT_MMIO.
 *
 * teardown: two tables in one VM, closing and reopening devices, and failed
 * calls leave no table, memslot, route, irqfd or file descriptor behind.
 *
 * Needs the VM of tools/vmtest/run-vm.sh --vfio; skips without the devices.
 */
#include <dirent.h>
#include <stdint.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "ucall_common.h"
#include "kselftest_harness.h"

#include "msix_util.h"
#include "msix_vfio.h"

#define SLOT_BASE	10
#define NR_SLOTS	16
#define GSI_BASE	32
#define NR_GSIS		128

/* Guest-physical places of the BARs, identity mapped in the guest. */
#define E1000E_BAR0_GPA	0xd0000000ull
#define E1000E_BAR3_GPA	0xd0100000ull
#define NVME_BAR0_GPA	0xd0200000ull

#define VEC		0x50		/* the guest's vector for our entry */

/* e1000e (82574) registers in BAR0, and the cause we raise. */
#define E1000_ICR	0xc0
#define E1000_ICS	0xc8
#define E1000_IMS	0xd0
#define E1000_IMC	0xd8
#define E1000_EIAC	0xdc
#define E1000_IVAR	0xe4
#define E1000_ICR_RXQ0	BIT(20)
#define E1000_IVAR_VALID 0x8
#define E1000E_ENTRY	2		/* MSI-X vector the cause goes to */

/* NVMe registers in BAR0. */
#define NVME_CAP	0x0
#define NVME_VS		0x8
#define NVME_CC		0x14
#define NVME_CSTS	0x1c
#define NVME_AQA	0x24
#define NVME_ASQ	0x28
#define NVME_ACQ	0x30
#define NVME_SQ0TDBL	0x1000
#define NVME_ENTRY	1

/* Bounded waits in the guest, in TSC cycles (TCG runs it at a few GHz). */
#define WAIT_CYCLES	(40ull * 1000 * 1000 * 1000)
#define QUIET_CYCLES	(200ull * 1000 * 1000)

static uint64_t bar0, table_gpa, pba_gpa;
static uint32_t irq_count;

static void handler(struct ex_regs *regs)
{
	WRITE_ONCE(irq_count, READ_ONCE(irq_count) + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static uint32_t guest_count(void)
{
	return READ_ONCE(irq_count);
}

static uint64_t entry_gpa(int entry)
{
	return table_gpa + entry * MSIX_ENTRY_SIZE;
}

static bool guest_pending(int entry)
{
	return msix_readq(pba_gpa + entry / 64 * 8) & (1ull << (entry % 64));
}

static void guest_wait_count(uint32_t want)
{
	uint64_t end = rdtsc() + WAIT_CYCLES;

	while (guest_count() < want && rdtsc() < end)
		cpu_relax();
	__GUEST_ASSERT(guest_count() == want, "%u interrupts, want %u",
		       guest_count(), want);
}

static void guest_wait_pending(int entry)
{
	uint64_t end = rdtsc() + WAIT_CYCLES;

	while (!guest_pending(entry) && rdtsc() < end)
		cpu_relax();
	__GUEST_ASSERT(guest_pending(entry), "entry %d never pending", entry);
}

/* Give an interrupt that should not come the time to come. */
static void guest_quiet(void)
{
	uint64_t end = rdtsc() + QUIET_CYCLES;

	while (rdtsc() < end)
		cpu_relax();
}

/* Linux's sequence (drivers/pci/msi/msi.c): mask, address, data, unmask. */
static void guest_program_entry(int entry, uint32_t lo, uint32_t data)
{
	uint64_t e = entry_gpa(entry);

	msix_writel(e + MSIX_CTRL_OFF, MSIX_MASKBIT);
	msix_writel(e + 0x0, lo);
	msix_writel(e + 0x4, 0);
	msix_writel(e + 0x8, data);
	msix_writel(e + MSIX_CTRL_OFF, 0);
	(void)msix_readl(e + MSIX_CTRL_OFF);
}

/* Exits by reason while running to the next ucall. */
struct exits {
	uint64_t mmio;
	uint64_t updated;
	uint64_t io;		/* ucalls */
};

static void add_exits(struct exits *sum, const struct exits *ex)
{
	sum->mmio += ex->mmio;
	sum->updated += ex->updated;
	sum->io += ex->io;
}

struct vm_ctx {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct msix_vfio_vm mv;
	struct exits total;
};

/*
 * The VMM loop: run to the next ucall, handing every MMIO and entry update
 * exit to the library.  Returns the ucall; *@ex gets this stretch's exits.
 */
static uint64_t run(struct vm_ctx *c, struct ucall *uc, struct exits *ex)
{
	struct kvm_run *r = c->vcpu->run;
	struct exits tmp = {};
	uint64_t cmd;
	int h;

	if (!ex)
		ex = &tmp;
	memset(ex, 0, sizeof(*ex));
	for (;;) {
		vcpu_run(c->vcpu);
		if (r->exit_reason == KVM_EXIT_MMIO ||
		    r->exit_reason == KVM_EXIT_MSIX_ENTRY_UPDATED) {
			if (r->exit_reason == KVM_EXIT_MMIO)
				ex->mmio++;
			else
				ex->updated++;
			h = msix_vfio_handle_exit(&c->mv, r);
			TEST_ASSERT(h == 1, "exit %u at 0x%llx not handled: %d",
				    r->exit_reason, r->mmio.phys_addr, h);
			continue;
		}
		cmd = get_ucall(c->vcpu, uc);
		if (cmd == UCALL_ABORT)
			REPORT_GUEST_ASSERT(*uc);
		TEST_ASSERT(cmd != UCALL_NONE, "unexpected exit %u (%s)",
			    r->exit_reason, exit_reason_str(r->exit_reason));
		ex->io++;
		add_exits(&c->total, ex);
		return cmd;
	}
}

/* Run to GUEST_SYNC(@stage); returns the ucall's first extra argument. */
static uint64_t run_to(struct vm_ctx *c, uint64_t stage, struct exits *ex)
{
	struct ucall uc;
	uint64_t cmd = run(c, &uc, ex);

	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == stage,
		    "want GUEST_SYNC(%lu), got ucall %lu arg %lu", stage, cmd,
		    uc.args[1]);
	return uc.args[2];
}

static void run_done(struct vm_ctx *c)
{
	struct ucall uc;

	TEST_ASSERT_EQ(run(c, &uc, NULL), UCALL_DONE);
}

static void vm_ctx_create(struct vm_ctx *c, void *guest_code,
			  const struct msix_vfio_router *router)
{
	struct msix_vfio_vm_cfg cfg = {
		.slot_base = SLOT_BASE, .nr_slots = NR_SLOTS,
		.gsi_base = GSI_BASE, .nr_gsis = NR_GSIS,
		.router = router,
	};

	memset(c, 0, sizeof(*c));
	c->vm = vm_create_with_one_vcpu(&c->vcpu, guest_code);
	vm_install_exception_handler(c->vm, VEC, handler);
	TEST_ASSERT_EQ(msix_vfio_vm_init(&c->mv, c->vm->fd, &cfg), 0);
}

static void vm_ctx_free(struct vm_ctx *c)
{
	msix_vfio_vm_release(&c->mv);
	kvm_vm_free(c->vm);
}

/* Open the first function with these IDs; false if there is none. */
static bool open_dev(struct vm_ctx *c, uint16_t vendor, uint16_t device,
		     const struct msix_vfio_dev_cfg *cfg,
		     struct msix_vfio_dev *dev)
{
	char bdf[32];
	int r;

	if (msix_vfio_find(vendor, device, bdf, sizeof(bdf)))
		return false;
	r = msix_vfio_open(&c->mv, bdf, cfg, dev);
	TEST_ASSERT(!r, "msix_vfio_open(%s): %s", bdf, strerror(-r));
	return true;
}

/* The guest decodes memory and the device masters its MSI writes. */
static void enable_decoding(struct msix_vfio_dev *dev, bool on)
{
	uint64_t cmd;

	TEST_ASSERT_EQ(msix_vfio_config_read(dev, PCI_COMMAND, 2, &cmd), 0);
	if (on)
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	else
		cmd &= ~(uint64_t)PCI_COMMAND_MEMORY;
	TEST_ASSERT_EQ(msix_vfio_config_write(dev, PCI_COMMAND, 2, cmd), 0);
}

static void map_bar(struct vm_ctx *c, struct msix_vfio_dev *dev, int bar,
		    uint64_t gpa)
{
	int r = msix_vfio_map_bar(dev, bar, gpa);

	TEST_ASSERT(!r, "map BAR%d at 0x%lx: %s", bar, gpa, strerror(-r));
	virt_map(c->vm, gpa, gpa, dev->bar[bar].size / getpagesize());
}

static void sync_layout(struct vm_ctx *c, struct msix_vfio_dev *dev,
			uint64_t bar0_gpa)
{
	bar0 = bar0_gpa;
	table_gpa = dev->bar[dev->table_bar].gpa + dev->table_offset;
	pba_gpa = dev->bar[dev->pba_bar].gpa + dev->pba_offset;
	sync_global_to_guest(c->vm, bar0);
	sync_global_to_guest(c->vm, table_gpa);
	sync_global_to_guest(c->vm, pba_gpa);
}

static void print_exits(const char *what, const struct exits *ex)
{
	ksft_print_msg("%s: %lu KVM_EXIT_MMIO, %lu KVM_EXIT_MSIX_ENTRY_UPDATED, %lu ucalls\n",
		       what, ex->mmio, ex->updated, ex->io);
	/* A failing assertion right after must not lose it. */
	fflush(stdout);
}

/* e1000e */

static void e1000e_fire(void)
{
	/* EIAC auto-clears the cause and its IMS bit at each message. */
	msix_writel(bar0 + E1000_IMS, E1000_ICR_RXQ0);
	msix_writel(bar0 + E1000_ICS, E1000_ICR_RXQ0);
}

static void guest_e1000e(void)
{
	uint64_t ctrl = entry_gpa(E1000E_ENTRY) + MSIX_CTRL_OFF;

	x2apic_enable();
	asm volatile("sti; nop");

	/* RXQ0 -> MSI-X vector E1000E_ENTRY, auto-cleared; nothing else. */
	msix_writel(bar0 + E1000_IMC, ~0u);
	msix_writel(bar0 + E1000_IVAR, E1000_IVAR_VALID | E1000E_ENTRY);
	msix_writel(bar0 + E1000_EIAC, E1000_ICR_RXQ0);
	msix_writel(bar0 + E1000_ICR, ~0u);
	GUEST_ASSERT_EQ(msix_readl(bar0 + E1000_IVAR),
			E1000_IVAR_VALID | E1000E_ENTRY);
	GUEST_ASSERT_EQ(msix_readl(ctrl), MSIX_MASKBIT);
	GUEST_SYNC(0);

	guest_program_entry(E1000E_ENTRY, 0xfee00000, VEC);
	GUEST_SYNC(1);

	/* Unmasked: the device's interrupt arrives. */
	e1000e_fire();
	guest_wait_count(1);
	GUEST_ASSERT(!guest_pending(E1000E_ENTRY));
	GUEST_SYNC(2);

	/* Masked: held as the Pending bit, nothing delivered. */
	msix_writel(ctrl, MSIX_MASKBIT);
	e1000e_fire();
	guest_wait_pending(E1000E_ENTRY);
	guest_quiet();
	GUEST_ASSERT_EQ(guest_count(), 1);
	GUEST_ASSERT_EQ(msix_readl(ctrl), MSIX_MASKBIT);
	GUEST_SYNC(3);

	/* Unmask: delivered once, before the next instruction. */
	msix_writel(ctrl, 0);
	GUEST_ASSERT_EQ(guest_count(), 2);
	GUEST_ASSERT(!guest_pending(E1000E_ENTRY));
	guest_quiet();
	GUEST_ASSERT_EQ(guest_count(), 2);
	GUEST_SYNC(4);

	/* Function Mask, set by the VMM: held again. */
	e1000e_fire();
	guest_wait_pending(E1000E_ENTRY);
	guest_quiet();
	GUEST_ASSERT_EQ(guest_count(), 2);
	GUEST_SYNC(5);

	/* The VMM cleared Function Mask: delivered once. */
	GUEST_ASSERT_EQ(guest_count(), 3);
	GUEST_ASSERT(!guest_pending(E1000E_ENTRY));
	GUEST_DONE();
}

/*
 * A VMM that owns its routing table with libkvm's helpers: it keeps the
 * library's MSI routes next to its own irqchip routes and writes them all.
 */
struct libkvm_router {
	struct kvm_vm *vm;
	struct kvm_irq_routing_entry msi[NR_GSIS];
	bool used[NR_GSIS];
	uint32_t commits;
};

static int libkvm_set(void *opaque, uint32_t gsi,
		      const struct kvm_irq_routing_entry *e)
{
	struct libkvm_router *r = opaque;
	uint32_t i = gsi - GSI_BASE;

	TEST_ASSERT(i < NR_GSIS, "GSI %u outside the library's range", gsi);
	r->used[i] = e;
	if (e)
		r->msi[i] = *e;
	return 0;
}

static int libkvm_commit(void *opaque)
{
	struct libkvm_router *r = opaque;
	struct kvm_irq_routing *routing = kvm_gsi_routing_create();
	uint32_t i;

	for (i = 0; i < 8; i++)
		kvm_gsi_routing_irqchip_add(routing, i, i);
	for (i = 0; i < NR_GSIS; i++)
		if (r->used[i])
			routing->entries[routing->nr++] = r->msi[i];
	kvm_gsi_routing_write(r->vm, routing);
	r->commits++;
	return 0;
}

/* Returns why it could not run, or NULL. */
static const char *e1000e_run(bool window)
{
	struct msix_vfio_dev_cfg cfg = {
		.flags = window ? 0 : MSIX_VFIO_NO_PASSTHROUGH,
	};
	struct libkvm_router lr = {};
	struct msix_vfio_router router = {
		.set = libkvm_set, .commit = libkvm_commit, .opaque = &lr,
	};
	struct msix_vfio_dev dev;
	struct exits ex[6];
	struct vm_ctx c;
	uint64_t vector;
	int i;

	if (!kvm_has_cap(KVM_CAP_MSIX_TABLE))
		return "no KVM_CAP_MSIX_TABLE";
	vm_ctx_create(&c, guest_e1000e, window ? &router : NULL);
	lr.vm = c.vm;
	if (!open_dev(&c, 0x8086, 0x10d3, &cfg, &dev)) {
		vm_ctx_free(&c);
		return "no e1000e (8086:10d3) bound to vfio-pci";
	}
	TEST_ASSERT(dev.nr_entries > E1000E_ENTRY, "%u MSI-X entries",
		    dev.nr_entries);
	TEST_ASSERT(dev.bar[dev.table_bar].msix_mappable,
		    "BAR%u lacks VFIO_REGION_INFO_CAP_MSIX_MAPPABLE",
		    dev.table_bar);
	enable_decoding(&dev, true);
	map_bar(&c, &dev, 0, E1000E_BAR0_GPA);
	map_bar(&c, &dev, 3, E1000E_BAR3_GPA);
	TEST_ASSERT(dev.table_bar == 3 && dev.defined,
		    "table in BAR%u, defined %d", dev.table_bar, dev.defined);
	if (window && !dev.passthrough) {
		msix_vfio_close(&dev);
		vm_ctx_free(&c);
		return "the kernel takes no passthrough window";
	}
	TEST_ASSERT_EQ(dev.passthrough, window);
	ksft_print_msg("e1000e %s: %u entries, table BAR%u+0x%lx, PBA BAR%u+0x%lx, %s\n",
		       dev.bdf, dev.nr_entries, dev.table_bar, dev.table_offset,
		       dev.pba_bar, dev.pba_offset,
		       window ? "window over BAR3" : "no window");
	sync_layout(&c, &dev, E1000E_BAR0_GPA);
	TEST_ASSERT_EQ(msix_vfio_set_ctrl(&dev, PCI_MSIX_FLAGS_ENABLE), 0);

	run_to(&c, 0, &ex[0]);
	run_to(&c, 1, &ex[1]);
	vector = dev.vec[E1000E_ENTRY].data;
	TEST_ASSERT_EQ(vector, VEC);
	TEST_ASSERT_EQ(dev.vec[E1000E_ENTRY].address, 0xfee00000);
	run_to(&c, 2, &ex[2]);
	run_to(&c, 3, &ex[3]);
	TEST_ASSERT(msix_vfio_pending(&dev, E1000E_ENTRY),
		    "masked interrupt not pending in the VMM's PBA");
	run_to(&c, 4, &ex[4]);
	TEST_ASSERT(!msix_vfio_pending(&dev, E1000E_ENTRY), "still pending");
	TEST_ASSERT_EQ(msix_vfio_set_ctrl(&dev, PCI_MSIX_FLAGS_ENABLE |
					  PCI_MSIX_FLAGS_MASKALL), 0);
	run_to(&c, 5, &ex[5]);
	TEST_ASSERT(msix_vfio_pending(&dev, E1000E_ENTRY),
		    "function-masked interrupt not pending");
	TEST_ASSERT_EQ(msix_vfio_set_ctrl(&dev, PCI_MSIX_FLAGS_ENABLE), 0);
	TEST_ASSERT(!msix_vfio_pending(&dev, E1000E_ENTRY),
		    "clearing Function Mask did not deliver");
	run_done(&c);

	print_exits("e1000e registers via BAR0 memslot", &ex[0]);
	print_exits("program entry (mask, addr lo/hi, data, unmask)", &ex[1]);
	print_exits("unmasked device interrupt", &ex[2]);
	print_exits("mask + device interrupt held + PBA polling", &ex[3]);
	print_exits("unmask delivers the pending interrupt", &ex[4]);
	print_exits("Function Mask hold + PBA polling", &ex[5]);
	TEST_ASSERT_EQ(ex[0].mmio + ex[0].updated, 0);
	/* Address low and data change; address high stays 0. */
	TEST_ASSERT_EQ(ex[1].updated, 2);
	TEST_ASSERT_EQ(ex[1].mmio, 0);
	for (i = 2; i < 6; i++)
		TEST_ASSERT_EQ(ex[i].mmio + ex[i].updated, 0);
	if (window)
		TEST_ASSERT(lr.commits >= 2, "%u routing commits", lr.commits);
	msix_vfio_close(&dev);
	vm_ctx_free(&c);
	return NULL;
}

/*
 * run-vm.sh --vfio sets MSIX_VFIO_REQUIRED: there a missing device or
 * capability is a broken set-up, not a reason to skip.
 */
#define SKIP_UNLESS_REQUIRED(why)					\
	do {								\
		TEST_ASSERT(!getenv("MSIX_VFIO_REQUIRED"),		\
			    "%s, but MSIX_VFIO_REQUIRED is set", why);	\
		SKIP(return, "%s", why);				\
	} while (0)

TEST(e1000e_interrupts)
{
	const char *why = e1000e_run(false);

	if (why)
		SKIP_UNLESS_REQUIRED(why);
}

TEST(e1000e_interrupts_window)
{
	const char *why = e1000e_run(true);

	if (why)
		SKIP_UNLESS_REQUIRED(why);
}

/* nvme */

struct access {
	uint32_t off;
	uint32_t len;
	uint64_t val;		/* writes */
};

/*
 * Registers read with every width, aligned (the spec's) and not (the device
 * answers them too).
 */
static const struct access nvme_reads[] = {
	{ NVME_CAP, 8 }, { NVME_CAP, 4 }, { NVME_CAP + 4, 4 },
	{ NVME_VS, 4 }, { NVME_CC, 4 }, { NVME_CSTS, 4 },
	{ NVME_CAP, 2 }, { NVME_CAP + 2, 2 }, { NVME_VS + 2, 2 },
	{ NVME_CAP, 1 }, { NVME_CAP + 1, 1 }, { NVME_VS + 2, 1 },
	{ NVME_SQ0TDBL, 4 },
	{ NVME_CAP + 1, 2 }, { NVME_CAP + 2, 4 }, { NVME_CAP + 4, 8 },
};

/*
 * Writes whose effect depends on their width: QEMU's nvme takes a DWORD at
 * AQA, a QWORD at ASQ and ACQ, each half of them as a DWORD, widens a BYTE
 * and a WORD at AQA to the whole register and ignores a WORD at AQA + 2.
 * A kernel that split, merged or read-modify-wrote them would differ.  The
 * last, a DWORD across AQA and ASQ, ends up as the emulator splits it, the
 * same way for the guest's instruction as for the VMM's.
 */
static const struct access nvme_writes[] = {
	{ NVME_AQA, 4, 0x001f001f },
	{ NVME_ASQ, 8, 0x123456789abcd000ull },
	{ NVME_ACQ, 8, 0x0fedcba987654000ull },
	{ NVME_ASQ + 4, 4, 0x11223344 },
	{ NVME_ACQ, 4, 0xdead0000 },
	{ NVME_AQA, 2, 0xabcd },
	{ NVME_AQA + 2, 2, 0x1234 },
	{ NVME_AQA, 1, 0x5a },
	{ NVME_SQ0TDBL, 4, 0 },
	{ NVME_AQA + 2, 4, 0x55667788 },
};

#define NR_READS	ARRAY_SIZE(nvme_reads)
#define NR_WRITES	ARRAY_SIZE(nvme_writes)

static void guest_nvme(void)
{
	uint64_t e = entry_gpa(NVME_ENTRY);
	uint32_t i;

	x2apic_enable();
	asm volatile("sti; nop");

	for (i = 0; i < NR_READS; i++)
		GUEST_SYNC_ARGS(1, msix_read(bar0 + nvme_reads[i].off,
					     nvme_reads[i].len), i, 0, 0);
	/* CAP as two DWORDs is CAP as a QWORD. */
	GUEST_ASSERT_EQ((uint64_t)msix_readl(bar0 + NVME_CAP + 4) << 32 |
			msix_readl(bar0 + NVME_CAP), msix_readq(bar0 + NVME_CAP));
	GUEST_SYNC(5);

	for (i = 0; i < NR_WRITES; i++) {
		GUEST_SYNC_ARGS(2, i, 0, 0, 0);
		msix_write(bar0 + nvme_writes[i].off, nvme_writes[i].len,
			   nvme_writes[i].val);
		GUEST_SYNC_ARGS(3, msix_readl(bar0 + NVME_AQA),
				msix_readq(bar0 + NVME_ASQ),
				msix_readq(bar0 + NVME_ACQ), 0);
	}

	/* The table in the same window: the kernel's, still. */
	GUEST_ASSERT_EQ(msix_readl(e + MSIX_CTRL_OFF), MSIX_MASKBIT);
	guest_program_entry(NVME_ENTRY, 0xfee00000, VEC);
	GUEST_ASSERT_EQ(msix_readl(e + MSIX_CTRL_OFF), 0);
	GUEST_ASSERT_EQ(msix_readq(e), 0xfee00000);
	msix_writel(e + MSIX_CTRL_OFF, MSIX_MASKBIT);
	GUEST_ASSERT(!guest_pending(NVME_ENTRY));
	GUEST_SYNC(4);
	/* The VMM fired the entry's GSI while masked. */
	GUEST_ASSERT(guest_pending(NVME_ENTRY));
	GUEST_ASSERT_EQ(msix_readl(pba_gpa) & (1u << NVME_ENTRY),
			1u << NVME_ENTRY);
	GUEST_ASSERT_EQ(guest_count(), 0);
	msix_writel(e + MSIX_CTRL_OFF, 0);
	GUEST_ASSERT_EQ(guest_count(), 1);
	GUEST_ASSERT(!guest_pending(NVME_ENTRY));
	GUEST_DONE();
}

static uint64_t vmm_read(struct msix_vfio_dev *dev, uint64_t off, int len)
{
	uint64_t v;
	int r = msix_vfio_bar_read(dev, 0, off, len, &v);

	TEST_ASSERT(!r, "pread BAR0+0x%lx/%d: %d", off, len, r);
	return v;
}

static void vmm_write(struct msix_vfio_dev *dev, uint64_t off, int len,
		      uint64_t v)
{
	int r = msix_vfio_bar_write(dev, 0, off, len, v);

	TEST_ASSERT(!r, "pwrite BAR0+0x%lx/%d: %d", off, len, r);
}

/*
 * What the guest's access should do: the VMM's own access of the same width
 * and alignment.  Aligned ones go through the vfio region, as pread() or
 * pwrite() of that width.  vfio splits unaligned ones, so with a window
 * (@exact) those are one load or store on the BAR's mapping; without one
 * the library performs them with pread()/pwrite(), split the same way.
 */
static uint64_t vmm_ref_read(struct msix_vfio_dev *dev, uint32_t off,
			     int len, bool exact)
{
	uint8_t *p = dev->bar[0].map + off;

	if (!(off % len) || !exact)
		return vmm_read(dev, off, len);
	switch (len) {
	case 2:
		return READ_ONCE(*(uint16_t *)p);
	case 4:
		return READ_ONCE(*(uint32_t *)p);
	default:
		return READ_ONCE(*(uint64_t *)p);
	}
}

static void vmm_ref_write(struct msix_vfio_dev *dev, uint32_t off, int len,
			  uint64_t v, bool exact)
{
	uint8_t *p = dev->bar[0].map + off;

	if (!(off % len) || !exact) {
		vmm_write(dev, off, len, v);
		return;
	}
	switch (len) {
	case 2:
		WRITE_ONCE(*(uint16_t *)p, v);
		break;
	case 4:
		WRITE_ONCE(*(uint32_t *)p, v);
		break;
	default:
		WRITE_ONCE(*(uint64_t *)p, v);
	}
}

/* Admin queue registers, nonzero so that a merged write shows. */
static void nvme_baseline(struct msix_vfio_dev *dev)
{
	vmm_write(dev, NVME_AQA, 4, 0x0f0f0f0f);
	vmm_write(dev, NVME_ASQ, 8, 0x1111111122222000ull);
	vmm_write(dev, NVME_ACQ, 8, 0x3333333344444000ull);
}

struct nvme_regs {
	uint64_t aqa, asq, acq;
};

static struct nvme_regs nvme_snapshot(struct msix_vfio_dev *dev)
{
	struct nvme_regs s = {
		.aqa = vmm_read(dev, NVME_AQA, 4),
		.asq = vmm_read(dev, NVME_ASQ, 8),
		.acq = vmm_read(dev, NVME_ACQ, 8),
	};

	return s;
}

/*
 * An nvme whose BAR0 is trapped whole: one passthrough window, or (!@window)
 * a table without one, every other access an exit to the library.  Returns
 * why it cannot be had, or NULL.
 */
static const char *nvme_setup(struct vm_ctx *c, struct msix_vfio_dev *dev,
			      void *guest_code, bool window)
{
	struct msix_vfio_dev_cfg cfg = {
		.flags = window ? 0 : MSIX_VFIO_NO_PASSTHROUGH,
		.window_align = 0x10000,
	};
	struct msix_vfio_bar *b;

	if (!kvm_has_cap(KVM_CAP_MSIX_TABLE))
		return "no KVM_CAP_MSIX_TABLE";
	vm_ctx_create(c, guest_code, NULL);
	if (!open_dev(c, 0x1b36, 0x0010, &cfg, dev)) {
		vm_ctx_free(c);
		return "no nvme (1b36:0010) bound to vfio-pci";
	}
	enable_decoding(dev, true);
	map_bar(c, dev, 0, NVME_BAR0_GPA);
	b = &dev->bar[0];
	TEST_ASSERT(dev->table_bar == 0 && dev->pba_bar == 0 && dev->defined,
		    "table BAR%u, PBA BAR%u", dev->table_bar, dev->pba_bar);
	if (window && !dev->passthrough) {
		msix_vfio_close(dev);
		vm_ctx_free(c);
		return "the kernel takes no passthrough window";
	}
	TEST_ASSERT_EQ(dev->passthrough, window);
	/* The window is all of BAR0: no memslot, every access traps. */
	TEST_ASSERT(b->hole_start == 0 && b->hole_end == b->size &&
		    b->slot[0] < 0 && b->slot[1] < 0,
		    "window [0x%lx, 0x%lx) of 0x%lx", b->hole_start,
		    b->hole_end, b->size);
	ksft_print_msg("nvme %s: BAR0 0x%lx, %u entries, table +0x%lx, PBA +0x%lx, %s\n",
		       dev->bdf, b->size, dev->nr_entries, dev->table_offset,
		       dev->pba_offset, window ? "one window" : "no window");
	sync_layout(c, dev, NVME_BAR0_GPA);
	TEST_ASSERT_EQ(msix_vfio_set_ctrl(dev, PCI_MSIX_FLAGS_ENABLE), 0);
	/* Admin queue registers are writable while CC.EN is 0. */
	TEST_ASSERT_EQ(vmm_read(dev, NVME_CC, 4) & 1, 0);
	return NULL;
}

/* Returns why it could not run, or NULL. */
static const char *nvme_registers(bool window)
{
	struct nvme_regs ref[NR_WRITES], got;
	struct msix_vfio_dev dev;
	struct exits ex, reads = {}, writes = {}, table = {};
	struct vm_ctx c;
	const char *why = nvme_setup(&c, &dev, guest_nvme, window);
	uint32_t *dev_entry;
	struct ucall uc;
	uint64_t v, want;
	uint32_t i;

	if (why)
		return why;

	/* What each write does when the VMM performs it. */
	for (i = 0; i < NR_WRITES; i++) {
		nvme_baseline(&dev);
		vmm_ref_write(&dev, nvme_writes[i].off, nvme_writes[i].len,
			      nvme_writes[i].val, window);
		ref[i] = nvme_snapshot(&dev);
	}

	for (i = 0; i < NR_READS; i++) {
		v = run_to(&c, 1, &ex);
		want = vmm_ref_read(&dev, nvme_reads[i].off, nvme_reads[i].len,
				    window);
		TEST_ASSERT(v == want, "guest read 0x%lx, VMM 0x%lx at BAR0+0x%x/%u",
			    v, want, nvme_reads[i].off, nvme_reads[i].len);
		add_exits(&reads, &ex);
	}
	run_to(&c, 5, &ex);
	add_exits(&reads, &ex);
	for (i = 0; i < NR_WRITES; i++) {
		TEST_ASSERT_EQ(run_to(&c, 2, &ex), i);
		add_exits(&writes, &ex);
		nvme_baseline(&dev);
		TEST_ASSERT_EQ(run(&c, &uc, &ex), UCALL_SYNC);
		TEST_ASSERT_EQ(uc.args[1], 3);
		add_exits(&writes, &ex);
		got = nvme_snapshot(&dev);
		TEST_ASSERT(!memcmp(&got, &ref[i], sizeof(got)),
			    "write %u (BAR0+0x%x/%u): AQA 0x%lx ASQ 0x%lx ACQ 0x%lx, VMM's gives 0x%lx 0x%lx 0x%lx",
			    i, nvme_writes[i].off, nvme_writes[i].len,
			    got.aqa, got.asq, got.acq,
			    ref[i].aqa, ref[i].asq, ref[i].acq);
		TEST_ASSERT(uc.args[2] == got.aqa && uc.args[3] == got.asq &&
			    uc.args[4] == got.acq,
			    "guest reads back 0x%lx 0x%lx 0x%lx", uc.args[2],
			    uc.args[3], uc.args[4]);
	}

	run_to(&c, 4, &ex);
	add_exits(&table, &ex);
	TEST_ASSERT_EQ(dev.vec[NVME_ENTRY].data, VEC);
	TEST_ASSERT_EQ(dev.table[NVME_ENTRY * 4 + 3], MSIX_MASKBIT);
	/*
	 * The device's own entry (vfio's host vector; pread hides the table,
	 * the MSIX_MAPPABLE mapping does not) never saw the guest's message.
	 */
	dev_entry = (uint32_t *)(dev.bar[0].map + dev.table_offset +
				 NVME_ENTRY * MSIX_ENTRY_SIZE);
	TEST_ASSERT(READ_ONCE(dev_entry[0]) != 0xfee00000 ||
		    READ_ONCE(dev_entry[2]) != VEC,
		    "the guest's message reached the device's table");
	TEST_ASSERT_EQ(vmm_read(&dev, dev.pba_offset, 8) &
		       (1ull << NVME_ENTRY), 0);
	kvm_irq_line(c.vm, dev.vec[NVME_ENTRY].gsi, 1);
	TEST_ASSERT(msix_vfio_pending(&dev, NVME_ENTRY), "not held");
	TEST_ASSERT_EQ(vmm_read(&dev, dev.pba_offset, 8) &
		       (1ull << NVME_ENTRY), 0);
	TEST_ASSERT_EQ(run(&c, &uc, &ex), UCALL_DONE);
	add_exits(&table, &ex);
	TEST_ASSERT(!msix_vfio_pending(&dev, NVME_ENTRY), "still pending");

	print_exits("nvme register reads (16 widths/offsets) + CAP check",
		    &reads);
	print_exits("nvme register writes (10) + 3 read-backs each", &writes);
	print_exits("nvme table programming, mask/unmask, PBA", &table);
	print_exits(window ? "nvme whole run, window" : "nvme whole run, no window",
		    &c.total);
	/*
	 * With the window nothing exits; without it every register access
	 * does (the library performs it with pread/pwrite), the table's none.
	 */
	TEST_ASSERT_EQ(c.total.mmio,
		       window ? 0 : NR_READS + 3 + NR_WRITES * 4);
	TEST_ASSERT_EQ(table.mmio, 0);
	/* Address low and data of one entry. */
	TEST_ASSERT_EQ(c.total.updated, 2);
	msix_vfio_close(&dev);
	vm_ctx_free(&c);
	return NULL;
}

TEST(nvme_window_registers)
{
	const char *why = nvme_registers(true);

	if (why)
		SKIP_UNLESS_REQUIRED(why);
}

/* The same guest without the window: the library's userspace path. */
TEST(nvme_no_window_registers)
{
	const char *why = nvme_registers(false);

	if (why)
		SKIP_UNLESS_REQUIRED(why);
}

static void guest_nvme_fault(void)
{
	uint64_t e = entry_gpa(0);
	uint64_t cap = msix_readq(bar0 + NVME_CAP);

	GUEST_SYNC_ARGS(1, cap, 0, 0, 0);
	/* Decoding off: the kernel cannot read the BAR, the VMM answers. */
	GUEST_SYNC_ARGS(2, msix_readq(bar0 + NVME_CAP), 0, 0, 0);
	/* The table is memory, not the BAR: still served in the kernel. */
	GUEST_SYNC_ARGS(3, msix_readl(e + MSIX_CTRL_OFF), 0, 0, 0);
	/* A WORD in the table is undefined by PCI: the kernel declines. */
	GUEST_SYNC_ARGS(4, msix_readw(e + MSIX_CTRL_OFF), 0, 0, 0);
	/* Decoding back on. */
	GUEST_SYNC_ARGS(5, msix_readq(bar0 + NVME_CAP), cap, 0, 0);
	GUEST_DONE();
}

TEST(nvme_window_fault)
{
	struct msix_vfio_dev dev;
	struct exits ex[6];
	struct vm_ctx c;
	const char *why = nvme_setup(&c, &dev, guest_nvme_fault, true);
	uint64_t cap, v;
	int i;

	if (why)
		SKIP_UNLESS_REQUIRED(why);

	cap = vmm_read(&dev, NVME_CAP, 8);
	TEST_ASSERT_EQ(run_to(&c, 1, &ex[1]), cap);
	TEST_ASSERT_EQ(ex[1].mmio, 0);

	enable_decoding(&dev, false);
	TEST_ASSERT(msix_vfio_bar_read(&dev, 0, NVME_CAP, 8, &v) == -EIO,
		    "vfio reads BAR0 with memory decoding off");
	v = run_to(&c, 2, &ex[2]);
	TEST_ASSERT_EQ(v, ~0ull);
	TEST_ASSERT_EQ(ex[2].mmio, 1);
	TEST_ASSERT_EQ(run_to(&c, 3, &ex[3]), MSIX_MASKBIT);
	TEST_ASSERT_EQ(ex[3].mmio, 0);
	TEST_ASSERT_EQ(run_to(&c, 4, &ex[4]), MSIX_MASKBIT);
	TEST_ASSERT_EQ(ex[4].mmio, 1);
	enable_decoding(&dev, true);
	TEST_ASSERT_EQ(run_to(&c, 5, &ex[5]), cap);
	TEST_ASSERT_EQ(ex[5].mmio, 0);
	run_done(&c);

	print_exits("CAP read, decoding on", &ex[1]);
	print_exits("CAP read, decoding off (VMM answers all-ones)", &ex[2]);
	print_exits("table DWORD read, decoding off", &ex[3]);
	print_exits("table WORD read (declined)", &ex[4]);
	print_exits("CAP read, decoding back on", &ex[5]);
	for (i = 1; i < 6; i++)
		TEST_ASSERT_EQ(ex[i].updated, 0);
	msix_vfio_close(&dev);
	vm_ctx_free(&c);
}

/* teardown */

static int nr_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	TEST_ASSERT(d, "opendir /proc/self/fd");
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int nr_bits(uint64_t x)
{
	return __builtin_popcountll(x);
}

/* The kernel has no table @id and no memslot over [@gpa, @gpa + @len). */
static void assert_gone(struct vm_ctx *c, uint32_t id, uint64_t gpa,
			uint64_t len)
{
	static uint8_t mem[0x4000] __aligned(0x4000);
	struct kvm_userspace_memory_region m = {
		.slot = SLOT_BASE + NR_SLOTS, .guest_phys_addr = gpa,
		.memory_size = sizeof(mem), .userspace_addr = (uintptr_t)mem,
	};
	uint32_t table[4] = { 0, 0, 0, 1 };
	uint64_t pba = 0;
	struct kvm_msix_table t = {
		.id = id, .nr_entries = 1,
		.table_gpa = gpa, .pba_gpa = gpa + 0x800,
		.table_uaddr = (uintptr_t)table, .pba_uaddr = (uintptr_t)&pba,
	};

	TEST_ASSERT(len >= sizeof(mem), "range too small");
	TEST_ASSERT_EQ(__vm_ioctl(c->vm, KVM_DEFINE_MSIX_TABLE, &t), 0);
	TEST_ASSERT_EQ(__vm_ioctl(c->vm, KVM_REMOVE_MSIX_TABLE, &id), 0);
	TEST_ASSERT_EQ(__vm_ioctl(c->vm, KVM_SET_USER_MEMORY_REGION, &m), 0);
	m.memory_size = 0;
	TEST_ASSERT_EQ(__vm_ioctl(c->vm, KVM_SET_USER_MEMORY_REGION, &m), 0);
}

static void guest_none(void)
{
	GUEST_DONE();
}

TEST(teardown)
{
	struct msix_vfio_dev e1000e, nvme;
	struct msix_vfio_dev_cfg nvme_cfg = { .window_align = 0x10000 };
	char e_bdf[32], n_bdf[32];
	struct vm_ctx c;
	int fds0, fds, slots, r;
	uint32_t routes;

	if (!kvm_has_cap(KVM_CAP_MSIX_TABLE))
		SKIP_UNLESS_REQUIRED("no KVM_CAP_MSIX_TABLE");
	if (msix_vfio_find(0x8086, 0x10d3, e_bdf, sizeof(e_bdf)) ||
	    msix_vfio_find(0x1b36, 0x0010, n_bdf, sizeof(n_bdf)))
		SKIP_UNLESS_REQUIRED("needs the e1000e and the nvme on vfio-pci");

	vm_ctx_create(&c, guest_none, NULL);
	fds0 = nr_fds();

	/* Two tables in one VM. */
	TEST_ASSERT_EQ(msix_vfio_open(&c.mv, e_bdf, NULL, &e1000e), 0);
	TEST_ASSERT_EQ(msix_vfio_open(&c.mv, n_bdf, &nvme_cfg, &nvme), 0);
	TEST_ASSERT(e1000e.table_id != nvme.table_id, "one table id");
	enable_decoding(&e1000e, true);
	enable_decoding(&nvme, true);
	TEST_ASSERT_EQ(msix_vfio_map_bar(&e1000e, 0, E1000E_BAR0_GPA), 0);
	TEST_ASSERT_EQ(msix_vfio_map_bar(&e1000e, 3, E1000E_BAR3_GPA), 0);
	TEST_ASSERT_EQ(msix_vfio_map_bar(&nvme, 0, NVME_BAR0_GPA), 0);
	TEST_ASSERT(e1000e.defined && nvme.defined, "tables not defined");
	TEST_ASSERT_EQ(msix_vfio_set_ctrl(&e1000e, PCI_MSIX_FLAGS_ENABLE), 0);
	TEST_ASSERT_EQ(msix_vfio_set_ctrl(&nvme, PCI_MSIX_FLAGS_ENABLE), 0);
	routes = e1000e.nr_entries + nvme.nr_entries;
	TEST_ASSERT_EQ(c.mv.routing.table->nr, routes);
	slots = nr_bits(c.mv.slots_used);
	ksft_print_msg("two tables: ids %u and %u, %u routes, %d memslots, %d more fds\n",
		       e1000e.table_id, nvme.table_id, routes, slots,
		       nr_fds() - fds0);

	/* Closing one leaves the other whole and nothing of itself. */
	msix_vfio_close(&nvme);
	TEST_ASSERT_EQ(c.mv.routing.table->nr, e1000e.nr_entries);
	assert_gone(&c, 2, NVME_BAR0_GPA, 0x4000);
	TEST_ASSERT(e1000e.defined, "the other table went too");

	/* A failed map leaves no memslot and no table. */
	TEST_ASSERT_EQ(msix_vfio_open(&c.mv, n_bdf, &nvme_cfg, &nvme), 0);
	TEST_ASSERT_EQ(nvme.table_id, 2);
	enable_decoding(&nvme, true);
	slots = nr_bits(c.mv.slots_used);
	r = msix_vfio_map_bar(&nvme, 0, E1000E_BAR3_GPA);
	TEST_ASSERT(r == -EEXIST, "a table over another's window: %d", r);
	TEST_ASSERT(!nvme.defined && !nvme.bar[0].mapped, "half mapped");
	TEST_ASSERT_EQ(nr_bits(c.mv.slots_used), slots);
	TEST_ASSERT_EQ(msix_vfio_map_bar(&nvme, 0, NVME_BAR0_GPA), 0);
	TEST_ASSERT(nvme.defined, "not defined after a failed attempt");

	/* A failed open leaves nothing either. */
	fds = nr_fds();
	{
		struct msix_vfio_dev again;

		r = msix_vfio_open(&c.mv, n_bdf, NULL, &again);
		TEST_ASSERT(r == -EBUSY, "opened the same group twice: %d", r);
		r = msix_vfio_open(&c.mv, "0000:ff:1f.7", NULL, &again);
		TEST_ASSERT(r < 0, "opened a device that is not there");
	}
	TEST_ASSERT_EQ(nr_fds(), fds);
	TEST_ASSERT_EQ(c.mv.routing.table->nr, routes);

	msix_vfio_close(&nvme);
	msix_vfio_close(&e1000e);
	TEST_ASSERT_EQ(nr_fds(), fds0);
	TEST_ASSERT_EQ(c.mv.routing.table->nr, 0);
	TEST_ASSERT_EQ(c.mv.slots_used, 0);
	TEST_ASSERT(c.mv.container < 0, "container left open");
	assert_gone(&c, 1, E1000E_BAR0_GPA, 0x20000);
	assert_gone(&c, 1, E1000E_BAR3_GPA, 0x4000);
	assert_gone(&c, 2, NVME_BAR0_GPA, 0x4000);

	/* And the devices work again, here and in another VM. */
	TEST_ASSERT_EQ(msix_vfio_open(&c.mv, e_bdf, NULL, &e1000e), 0);
	TEST_ASSERT_EQ(msix_vfio_map_bar(&e1000e, 3, E1000E_BAR3_GPA), 0);
	TEST_ASSERT(e1000e.defined, "reopened table not defined");
	msix_vfio_close(&e1000e);
	run_done(&c);
	vm_ctx_free(&c);

	vm_ctx_create(&c, guest_none, NULL);
	TEST_ASSERT_EQ(msix_vfio_open(&c.mv, n_bdf, &nvme_cfg, &nvme), 0);
	TEST_ASSERT_EQ(msix_vfio_map_bar(&nvme, 0, NVME_BAR0_GPA), 0);
	TEST_ASSERT(nvme.defined, "table not defined in the second VM");
	msix_vfio_close(&nvme);
	vm_ctx_free(&c);
}

TEST_HARNESS_MAIN
