// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_window_test: KVM_MSIX_TABLE_FLAG_PASSTHROUGH.
 *
 * A table defined with a window traps the whole window; guest accesses in
 * it outside the table and the PBA are performed on the VMM's mapping
 * (here anonymous memory standing in for a device BAR) with the guest's
 * width and alignment and no exit, while the table and the PBA inside keep
 * their semantics and never touch the mapping.  Each case checks the bytes
 * the guest read, the bytes that changed in the mapping and the exits.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kvm_test_harness.h"

#include "msix_util.h"

#define NR_ENTRIES	8
#define WIN_PAGES	4
#define WIN_SIZE	(WIN_PAGES * 4096ull)
/* Like a device that keeps hot registers next to its table. */
#define WIN_GPA		MSIX_TABLE_GPA(0)
#define TABLE_OFF	0x2000ull
#define PBA_OFF		0x2800ull

/* Read by the guest. */
static uint64_t win_gpa = WIN_GPA;

struct window {
	struct msix_shadow s;
	uint8_t *dev;		/* the "device" mapping behind the window */
	uint8_t ref[WIN_SIZE];	/* what dev must hold */
};

static uint8_t dev_byte(uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 8) * 7 + 0x3c);
}

static struct kvm_msix_table window_table_of(struct window *w)
{
	struct kvm_msix_table t = msix_table_of(&w->s);

	t.flags = KVM_MSIX_TABLE_FLAG_PASSTHROUGH;
	t.window_gpa = WIN_GPA;
	t.window_size = WIN_SIZE;
	t.window_uaddr = (uint64_t)w->dev;
	return t;
}

static void window_init(struct kvm_vm *vm, struct window *w)
{
	uint64_t i;

	msix_shadow_init(&w->s, 1, NR_ENTRIES, WIN_GPA + TABLE_OFF,
			 WIN_GPA + PBA_OFF);
	w->dev = msix_alloc(WIN_SIZE);
	for (i = 0; i < WIN_SIZE; i++) {
		w->dev[i] = dev_byte(i);
		w->ref[i] = w->dev[i];
	}
	if (vm)
		virt_map(vm, WIN_GPA, WIN_GPA, WIN_PAGES);
}

static void window_define(struct kvm_vm *vm, struct window *w)
{
	struct kvm_msix_table t = window_table_of(w);

	vm_ioctl(vm, KVM_DEFINE_MSIX_TABLE, &t);
}

/* Every malformed window is refused and leaves nothing behind. */
TEST(window_errors)
{
	struct kvm_vm *vm = vm_create_barebones();
	struct kvm_msix_table t, good;
	struct window w;
	void *ro;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	window_init(NULL, &w);
	good = window_table_of(&w);

	t = good;
	t.window_size = 0;
	msix_expect_define_error(vm, &t, EINVAL, "window_size 0");
	for (i = 0; i < 12; i++) {
		t = good;
		t.window_gpa -= 1ull << i;
		t.window_size += 1ull << i;
		msix_expect_define_error(vm, &t, EINVAL, "window_gpa not page aligned");
		t = good;
		t.window_size += 1ull << i;
		msix_expect_define_error(vm, &t, EINVAL, "window_size not page aligned");
		t = good;
		t.window_uaddr += 1ull << i;
		msix_expect_define_error(vm, &t, EINVAL, "window_uaddr not page aligned");
	}
	t = good;
	t.window_size = TABLE_OFF;
	msix_expect_define_error(vm, &t, EINVAL, "window ends before the table");
	t = good;
	t.window_gpa += 0x3000;
	t.window_size = 0x1000;
	msix_expect_define_error(vm, &t, EINVAL, "window starts after the table");
	t = good;
	t.pba_gpa = WIN_GPA + WIN_SIZE;
	msix_expect_define_error(vm, &t, EINVAL, "PBA outside the window");
	t = good;
	t.pba_gpa = WIN_GPA + WIN_SIZE - 8;
	t.window_size = WIN_SIZE;
	t.nr_entries = 65;	/* a 16 byte PBA across the window's end */
	msix_expect_define_error(vm, &t, EINVAL, "PBA across the window's end");
	t = good;
	t.window_gpa = -4096ull;
	t.window_size = 8192;
	msix_expect_define_error(vm, &t, EINVAL, "window wraps");
	t = good;
	t.window_size = 1ull << 31;
	msix_expect_define_error(vm, &t, EINVAL, "window of 2 GiB");

	t = good;
	t.window_uaddr = 0xffff800000000000ull;
	msix_expect_define_error(vm, &t, EFAULT, "window_uaddr in the kernel");
	t = good;
	t.window_uaddr = (uint64_t)msix_alloc(WIN_SIZE);
	TEST_ASSERT_EQ(munmap((void *)t.window_uaddr + 4096, 4096), 0);
	msix_expect_define_error(vm, &t, EFAULT, "a hole in the window's mapping");
	ro = mmap(NULL, WIN_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ro != MAP_FAILED, "mmap");
	t = good;
	t.window_uaddr = (uint64_t)ro;
	msix_expect_define_error(vm, &t, EFAULT, "a read-only mapping");

	/* Nothing was left behind: the good table defines, once. */
	t = good;
	TEST_ASSERT_EQ(__msix_define(vm, &t), 0);
	msix_expect_define_error(vm, &t, EEXIST, "the same table again");

	/* Another table may not sit anywhere in the window. */
	{
		struct msix_shadow o;

		msix_shadow_init(&o, 2, 1, WIN_GPA, WIN_GPA + 0x100);
		t = msix_table_of(&o);
		msix_expect_define_error(vm, &t, EEXIST, "a table inside the window");
		o.table_gpa = WIN_GPA + WIN_SIZE;
		o.pba_gpa = WIN_GPA + WIN_SIZE - 8;
		t = msix_table_of(&o);
		msix_expect_define_error(vm, &t, EEXIST, "a PBA inside the window");
		o.pba_gpa = WIN_GPA + WIN_SIZE + 0x100;
		t = msix_table_of(&o);
		TEST_ASSERT_EQ(__msix_define(vm, &t), 0);
	}

	msix_remove(vm, 1);
	t = good;
	TEST_ASSERT_EQ(__msix_define(vm, &t), 0);
	kvm_vm_free(vm);
}

KVM_ONE_VCPU_TEST_SUITE(window);

/* One access of each width, aligned or not, in every page of the window. */
static const struct {
	uint32_t off;
	uint8_t len;
} accesses[] = {
	{ 0x0, 8 }, { 0x8, 4 }, { 0xc, 2 }, { 0xe, 1 }, { 0xf, 1 },
	{ 0x101, 8 }, { 0x203, 4 }, { 0x305, 2 }, { 0xffc, 4 }, { 0xff0, 8 },
	{ 0x1000, 4 }, { 0x1ffa, 2 }, { 0x1fff, 1 },
	/* The table's page, around the table and the PBA. */
	{ TABLE_OFF - 0x10, 8 }, { TABLE_OFF - 3, 1 },
	{ TABLE_OFF + NR_ENTRIES * 16, 8 }, { TABLE_OFF + NR_ENTRIES * 16 + 0xb, 4 },
	{ PBA_OFF - 2, 2 }, { PBA_OFF + 8, 8 }, { PBA_OFF + 0x11, 4 },
	{ 0x3000, 8 }, { 0x3abc, 2 }, { 0x3ff0, 8 }, { 0x3fff, 1 },
};

static uint64_t expected(uint32_t off, int len)
{
	uint64_t v = 0;
	int i;

	for (i = len - 1; i >= 0; i--)
		v = v << 8 | dev_byte(off + i);
	return v;
}

static uint64_t new_value(int i)
{
	return 0x0123456789abcdefull * (i + 1) ^ 0xa5a5a5a5a5a5a5a5ull;
}

static void guest_passthrough(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(accesses); i++)
		GUEST_ASSERT_EQ(msix_read(win_gpa + accesses[i].off,
					  accesses[i].len),
				expected(accesses[i].off, accesses[i].len));
	GUEST_SYNC(0);
	for (i = 0; i < ARRAY_SIZE(accesses); i++)
		msix_write(win_gpa + accesses[i].off, accesses[i].len,
			   new_value(i));
	GUEST_SYNC(1);
	/* The device's new contents, read back through the window. */
	for (i = 0; i < ARRAY_SIZE(accesses); i++) {
		uint64_t mask = accesses[i].len == 8 ? ~0ull :
				(1ull << (accesses[i].len * 8)) - 1;

		GUEST_ASSERT_EQ(msix_read(win_gpa + accesses[i].off,
					  accesses[i].len),
				new_value(i) & mask);
	}
	GUEST_SYNC(2);
	GUEST_DONE();
}

/*
 * Reads see the mapping's bytes; a write changes exactly the bytes it
 * covers; nothing exits.  The accesses do not overlap each other, so the
 * read-back sees every write.  (An access across a page boundary would be
 * split in two by KVM's emulator before it reached the device.)
 */
KVM_ONE_VCPU_TEST(window, passthrough, guest_passthrough)
{
	struct window w;
	struct msix_exits ex;
	struct ucall uc;
	int i, j;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	window_init(vcpu->vm, &w);
	window_define(vcpu->vm, &w);

	/* The read-back below needs accesses that do not overlap. */
	for (i = 0; i < ARRAY_SIZE(accesses); i++)
		for (j = 0; j < ARRAY_SIZE(accesses); j++)
			TEST_ASSERT(i == j ||
				    accesses[i].off + accesses[i].len <= accesses[j].off ||
				    accesses[j].off + accesses[j].len <= accesses[i].off,
				    "accesses %d and %d overlap", i, j);

	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT(ex.mmio + ex.unclaimed + ex.updated == 0,
		    "reads: %lu mmio, %lu unclaimed, %lu update exits",
		    ex.mmio, ex.unclaimed, ex.updated);
	TEST_ASSERT(!memcmp(w.dev, w.ref, WIN_SIZE), "a read changed the mapping");

	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT(ex.mmio + ex.unclaimed + ex.updated == 0,
		    "writes: %lu mmio, %lu unclaimed, %lu update exits",
		    ex.mmio, ex.unclaimed, ex.updated);
	for (i = 0; i < ARRAY_SIZE(accesses); i++)
		for (j = 0; j < accesses[i].len; j++)
			w.ref[accesses[i].off + j] = new_value(i) >> (8 * j);
	for (i = 0; i < WIN_SIZE; i++)
		TEST_ASSERT(w.dev[i] == w.ref[i],
			    "window byte 0x%x: 0x%x, expected 0x%x", i,
			    w.dev[i], w.ref[i]);

	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.mmio + ex.unclaimed + ex.updated, 0);
	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_DONE);
	ksft_print_msg("%zu reads and %zu writes of 1-8 bytes: 0 exits\n",
		       ARRAY_SIZE(accesses) * 2, ARRAY_SIZE(accesses));
}

static void guest_table_inside(void)
{
	uint64_t e1 = win_gpa + TABLE_OFF + MSIX_ENTRY_SIZE;
	uint64_t pba = win_gpa + PBA_OFF;

	/* Vector Control: no exit.  Address: one update exit. */
	msix_writel(e1 + MSIX_CTRL_OFF, 0);
	GUEST_ASSERT_EQ(msix_readl(e1 + MSIX_CTRL_OFF), 0);
	msix_writel(e1 + MSIX_CTRL_OFF, MSIX_MASKBIT);
	GUEST_SYNC(0);
	msix_writel(e1, 0xfee01000);
	GUEST_SYNC(1);
	/* The PBA is the kernel's, and read-only. */
	GUEST_ASSERT_EQ(msix_readq(pba), 0);
	msix_writeq(pba, ~0ull);
	GUEST_ASSERT_EQ(msix_readq(pba), 0);
	GUEST_SYNC(2);
	/* Accesses the spec leaves undefined, and one across the table's end. */
	msix_writeb(e1, 0x11);
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(msix_readq(win_gpa + TABLE_OFF + NR_ENTRIES * 16 - 4), 0);
	GUEST_SYNC(4);
	GUEST_DONE();
}

/*
 * The table and the PBA inside a window keep their own semantics: served
 * from the VMM's table memory, never from or to the mapping.
 */
KVM_ONE_VCPU_TEST(window, table_inside, guest_table_inside)
{
	struct window w;
	struct msix_exits ex;
	struct ucall uc;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	window_init(vcpu->vm, &w);
	window_define(vcpu->vm, &w);

	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.mmio + ex.unclaimed + ex.updated, 0);
	TEST_ASSERT_EQ(w.s.table[4 + 3], MSIX_MASKBIT);

	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.mmio + ex.unclaimed, 0);
	TEST_ASSERT_EQ(ex.updated, 1);
	TEST_ASSERT_EQ(ex.last.entry, 1);
	TEST_ASSERT_EQ(ex.last.address, 0xfee01000);
	TEST_ASSERT_EQ(w.s.table[4], 0xfee01000);

	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.mmio + ex.unclaimed + ex.updated, 0);
	TEST_ASSERT_EQ(w.s.pba[0], 0);

	/* A byte write to the table is userspace's, as without a window. */
	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.mmio, 1);
	TEST_ASSERT_EQ(ex.unclaimed + ex.updated, 0);
	TEST_ASSERT_EQ(w.s.table[4], 0xfee01011);

	/*
	 * A QWORD half in the device's range and half in the table: neither
	 * the kernel's to split, so userspace gets it whole (unclaimed here).
	 */
	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.unclaimed, 1);
	TEST_ASSERT_EQ(ex.mmio + ex.updated, 0);
	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_DONE);

	TEST_ASSERT(!memcmp(w.dev, w.ref, WIN_SIZE),
		    "the table or the PBA reached the mapping");
}

static void guest_fault(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		GUEST_SYNC(i);
		GUEST_SYNC(msix_readq(win_gpa + 0x100));
	}
	GUEST_DONE();
}

/*
 * An access the mapping cannot serve (here PROT_NONE; for a device, its
 * memory disabled) is an ordinary MMIO exit; so is every access once the
 * table is removed.
 */
KVM_ONE_VCPU_TEST(window, fault_fallback, guest_fault)
{
	struct window w;
	struct msix_exits ex;
	struct ucall uc;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	window_init(vcpu->vm, &w);
	window_define(vcpu->vm, &w);

	for (i = 0; i < 3; i++) {
		TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
		TEST_ASSERT_EQ(uc.args[1], i);
		if (i == 0)
			TEST_ASSERT_EQ(mprotect(w.dev, WIN_SIZE, PROT_NONE), 0);
		if (i == 1)
			TEST_ASSERT_EQ(mprotect(w.dev, WIN_SIZE,
						PROT_READ | PROT_WRITE), 0);
		if (i == 2)
			msix_remove(vcpu->vm, 1);

		TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_SYNC);
		TEST_ASSERT_EQ(ex.mmio + ex.updated, 0);
		/* Unclaimed MMIO reads return 0 in msix_run(). */
		TEST_ASSERT_EQ(ex.unclaimed, i == 1 ? 0 : 1);
		TEST_ASSERT_EQ(uc.args[1], i == 1 ? expected(0x100, 8) : 0);
	}
	TEST_ASSERT_EQ(msix_run(vcpu, &w.s, &ex, &uc), UCALL_DONE);
}

TEST_HARNESS_MAIN
