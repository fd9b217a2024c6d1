// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_table_test: the guest-visible semantics of KVM_DEFINE_MSIX_TABLE.
 *
 * A guest reads and writes an MSI-X table and PBA that the kernel serves from
 * VMM memory.  Each case counts the exits the guest's accesses cause and
 * checks the values the guest read and the contents of the VMM memory:
 * aligned DWORD/QWORD reads and Vector Control writes never exit, a change of
 * Message Address or Data exits exactly once with KVM_EXIT_MSIX_ENTRY_UPDATED,
 * every other access is an ordinary KVM_EXIT_MMIO, and removing a table hands
 * its range back to userspace.  Tables left in a VM are freed with it: slab
 * counts come back, and a kmemleak kernel reports nothing.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kvm_test_harness.h"

#include "msix_util.h"

#define NR_ENTRIES	8

/* Read by the guest: where the table under test is. */
static uint64_t table_gpa;
static uint64_t pba_gpa;
static uint32_t nr_entries;

static uint32_t pattern(uint32_t gen, uint32_t dword)
{
	return 0x9e3779b9u * (dword + 1) ^ (gen << 24) ^ 0x5a5a0000u;
}

static void fill_pattern(struct msix_shadow *s, uint32_t gen)
{
	uint32_t i;

	for (i = 0; i < s->table_len / 4; i++)
		s->table[i] = pattern(gen, i);
	for (i = 0; i < s->pba_len / 8; i++)
		s->pba[i] = (uint64_t)pattern(gen, 1000 + 2 * i + 1) << 32 |
			    pattern(gen, 1000 + 2 * i);
}

static struct msix_shadow setup_table(struct kvm_vcpu *vcpu, uint32_t nr)
{
	struct msix_shadow s;

	msix_shadow_init(&s, 1, nr, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	msix_map(vcpu->vm, &s);
	table_gpa = s.table_gpa;
	pba_gpa = s.pba_gpa;
	nr_entries = nr;
	sync_global_to_guest(vcpu->vm, table_gpa);
	sync_global_to_guest(vcpu->vm, pba_gpa);
	sync_global_to_guest(vcpu->vm, nr_entries);
	return s;
}

/* Run to the next GUEST_SYNC and check the exits on the way. */
static void run_to_sync(struct kvm_vcpu *vcpu, struct msix_shadow *s,
			struct msix_exits *ex, uint64_t stage)
{
	struct ucall uc;
	uint64_t cmd = msix_run(vcpu, s, ex, &uc);

	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == stage,
		    "Expected GUEST_SYNC(%lu), got ucall %lu arg %lu",
		    stage, cmd, uc.args[1]);
	TEST_ASSERT_EQ(ex->unclaimed, 0);
}

static void run_to_done(struct kvm_vcpu *vcpu, struct msix_shadow *s)
{
	struct msix_exits ex;
	struct ucall uc;

	TEST_ASSERT_EQ(msix_run(vcpu, s, &ex, &uc), UCALL_DONE);
	TEST_ASSERT_EQ(ex.mmio + ex.updated + ex.unclaimed, 0);
}

static void guest_check_pattern(uint32_t gen)
{
	uint32_t i;

	for (i = 0; i < nr_entries * 4; i++)
		GUEST_ASSERT_EQ(msix_readl(table_gpa + 4 * i), pattern(gen, i));
	for (i = 0; i < nr_entries * 2; i++)
		GUEST_ASSERT_EQ(msix_readq(table_gpa + 8 * i),
				(uint64_t)pattern(gen, 2 * i + 1) << 32 |
				pattern(gen, 2 * i));
	for (i = 0; i < (nr_entries + 63) / 64 * 2; i++)
		GUEST_ASSERT_EQ(msix_readl(pba_gpa + 4 * i),
				pattern(gen, 1000 + i));
	for (i = 0; i < (nr_entries + 63) / 64; i++)
		GUEST_ASSERT_EQ(msix_readq(pba_gpa + 8 * i),
				(uint64_t)pattern(gen, 1000 + 2 * i + 1) << 32 |
				pattern(gen, 1000 + 2 * i));
}

static void guest_reads(void)
{
	guest_check_pattern(0);
	GUEST_SYNC(1);
	guest_check_pattern(1);
	GUEST_DONE();
}

KVM_ONE_VCPU_TEST_SUITE(msix);

/*
 * DWORD and QWORD reads of table and PBA return the VMM memory without an
 * exit; define leaves the memory alone; VMM writes are seen at once.
 */
KVM_ONE_VCPU_TEST(msix, reads, guest_reads)
{
	struct msix_shadow s = setup_table(vcpu, 130);
	struct msix_exits ex;
	uint32_t *copy;

	fill_pattern(&s, 0);
	copy = malloc(s.table_len);
	memcpy(copy, s.table, s.table_len);
	msix_define(vcpu->vm, &s);
	TEST_ASSERT(!memcmp(copy, s.table, s.table_len),
		    "KVM_DEFINE_MSIX_TABLE modified the table");
	TEST_ASSERT_EQ(s.pba[0], (uint64_t)pattern(0, 1001) << 32 | pattern(0, 1000));

	run_to_sync(vcpu, &s, &ex, 1);
	TEST_ASSERT_EQ(ex.mmio + ex.updated, 0);

	fill_pattern(&s, 1);
	run_to_done(vcpu, &s);
	free(copy);
}

static void guest_vector_ctrl(void)
{
	uint64_t e2 = table_gpa + 2 * MSIX_ENTRY_SIZE;
	uint32_t data;

	msix_writel(table_gpa + MSIX_ENTRY_SIZE + MSIX_CTRL_OFF, 0xdeadbee0);
	GUEST_ASSERT_EQ(msix_readl(table_gpa + MSIX_ENTRY_SIZE + MSIX_CTRL_OFF),
			0xdeadbee0);
	GUEST_SYNC(1);

	msix_writel(table_gpa + MSIX_ENTRY_SIZE + MSIX_CTRL_OFF, 0xffffffff);
	GUEST_SYNC(2);

	/* A QWORD over Data and Vector Control that leaves Data alone. */
	data = msix_readl(e2 + 8);
	msix_writeq(e2 + 8, (uint64_t)0x12345679 << 32 | data);
	GUEST_ASSERT_EQ(msix_readl(e2 + MSIX_CTRL_OFF), 0x12345679);
	GUEST_SYNC(3);
	GUEST_DONE();
}

/* Vector Control is stored verbatim, reserved bits included, and never exits. */
KVM_ONE_VCPU_TEST(msix, vector_ctrl, guest_vector_ctrl)
{
	struct msix_shadow s = setup_table(vcpu, NR_ENTRIES);
	struct msix_exits ex;
	uint32_t data2;

	fill_pattern(&s, 0);
	data2 = s.table[2 * 4 + 2];
	msix_define(vcpu->vm, &s);

	run_to_sync(vcpu, &s, &ex, 1);
	TEST_ASSERT_EQ(ex.mmio + ex.updated, 0);
	TEST_ASSERT_EQ(s.table[1 * 4 + 3], 0xdeadbee0);

	run_to_sync(vcpu, &s, &ex, 2);
	TEST_ASSERT_EQ(ex.mmio + ex.updated, 0);
	TEST_ASSERT_EQ(s.table[1 * 4 + 3], 0xffffffff);

	run_to_sync(vcpu, &s, &ex, 3);
	TEST_ASSERT_EQ(ex.mmio + ex.updated, 0);
	TEST_ASSERT_EQ(s.table[2 * 4 + 3], 0x12345679);
	TEST_ASSERT_EQ(s.table[2 * 4 + 2], data2);

	run_to_done(vcpu, &s);
}

/* The writes of guest_updates, and the exits each must cause. */
enum { W_L, W_Q };
static const struct {
	uint8_t width;
	uint8_t off;
	uint64_t val;
	uint8_t exits;
} upd[] = {
	{ W_L, 0x0, 0xfee01000, 1 },			/* address low */
	{ W_L, 0x0, 0xfee01000, 0 },			/* same value again */
	{ W_L, 0x4, 0x00000001, 1 },			/* address high */
	{ W_L, 0x4, 0x00000001, 0 },
	{ W_Q, 0x0, 0x00000002fee02000ull, 1 },		/* both halves: one exit */
	{ W_Q, 0x0, 0x00000002fee02000ull, 0 },
	{ W_L, 0x8, 0x00004041, 1 },			/* data */
	{ W_L, 0x8, 0x00004041, 0 },
	{ W_Q, 0x8, 0x0000000100004042ull, 1 },		/* data + masked ctrl */
	{ W_Q, 0x8, 0x0000000000004042ull, 0 },		/* ctrl only */
	{ W_L, 0xc, 0x00000001, 0 },
};

static void guest_updates(void)
{
	uint64_t e = table_gpa + 3 * MSIX_ENTRY_SIZE;
	uint32_t i;

	for (i = 0; i < ARRAY_SIZE(upd); i++) {
		if (upd[i].width == W_L) {
			msix_writel(e + upd[i].off, upd[i].val);
			GUEST_ASSERT_EQ(msix_readl(e + upd[i].off), upd[i].val);
		} else {
			msix_writeq(e + upd[i].off, upd[i].val);
			GUEST_ASSERT_EQ(msix_readq(e + upd[i].off), upd[i].val);
		}
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

/*
 * Changing Message Address or Data stores the value and exits once, after
 * the instruction, with the entry's new contents; unchanged values do not.
 */
KVM_ONE_VCPU_TEST(msix, address_data_updates, guest_updates)
{
	struct msix_shadow s = setup_table(vcpu, NR_ENTRIES);
	uint32_t *e = &s.table[3 * 4];
	struct msix_exits ex;
	uint32_t i;

	s.id = 0x7e57;
	msix_define(vcpu->vm, &s);

	for (i = 0; i < ARRAY_SIZE(upd); i++) {
		run_to_sync(vcpu, &s, &ex, i);
		TEST_ASSERT(ex.updated == upd[i].exits && ex.mmio == 0,
			    "write %u: %lu update exits (want %u), %lu mmio",
			    i, ex.updated, upd[i].exits, ex.mmio);
		if (!upd[i].exits)
			continue;
		TEST_ASSERT_EQ(ex.last.table_id, 0x7e57);
		TEST_ASSERT_EQ(ex.last.entry, 3);
		TEST_ASSERT_EQ(ex.last.address, (uint64_t)e[1] << 32 | e[0]);
		TEST_ASSERT_EQ(ex.last.data, e[2]);
		TEST_ASSERT_EQ(ex.last.vector_ctrl, e[3]);
	}
	TEST_ASSERT_EQ(((uint64_t)e[1] << 32) | e[0], 0x00000002fee02000ull);
	TEST_ASSERT_EQ(e[2], 0x4042);
	TEST_ASSERT_EQ(e[3], 1);
	run_to_done(vcpu, &s);
}

static void guest_pba(void)
{
	uint32_t i, n = (nr_entries + 63) / 64;

	for (i = 0; i < n; i++) {
		msix_writeq(pba_gpa + 8 * i, ~0ull);
		msix_writel(pba_gpa + 8 * i, 0);
		msix_writel(pba_gpa + 8 * i + 4, 0x55555555);
	}
	guest_check_pattern(0);
	GUEST_DONE();
}

/* PBA writes are ignored; DWORD and QWORD reads agree. */
KVM_ONE_VCPU_TEST(msix, pba_read_only, guest_pba)
{
	struct msix_shadow s = setup_table(vcpu, 130);
	uint64_t pba[3];

	fill_pattern(&s, 0);
	memcpy(pba, s.pba, sizeof(pba));
	msix_define(vcpu->vm, &s);
	run_to_done(vcpu, &s);
	TEST_ASSERT(!memcmp(pba, s.pba, sizeof(pba)), "a PBA write changed the PBA");
}

/* Accesses the kernel must leave to userspace, in guest order. */
static void guest_declined(void)
{
	uint64_t e = table_gpa;
	static const uint64_t src[2] = { 0x00000000fee03000ull,
					 0x0000000100004321ull };
	void *dst = (void *)(table_gpa + 4 * MSIX_ENTRY_SIZE);
	const void *sp = src;
	uint64_t cnt = 4;

	GUEST_ASSERT_EQ(msix_readb(e + 1), (uint8_t)(pattern(0, 0) >> 8));
	GUEST_SYNC(0);
	GUEST_ASSERT_EQ(msix_readw(e + 2), (uint16_t)(pattern(0, 0) >> 16));
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(msix_readl(e + 2),
			(pattern(0, 0) >> 16) | (pattern(0, 1) << 16));
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(msix_readq(e + 4),
			(uint64_t)pattern(0, 2) << 32 | pattern(0, 1));
	GUEST_SYNC(3);
	/* Crosses from entry 0's Vector Control into entry 1. */
	GUEST_ASSERT_EQ(msix_readq(e + 0xc),
			(uint64_t)pattern(0, 4) << 32 | pattern(0, 3));
	GUEST_SYNC(4);
	msix_writeb(e + 0xc, 0x00);
	GUEST_SYNC(5);
	msix_writew(e + 0x8, 0xbeef);
	GUEST_SYNC(6);
	msix_writeq(e + 0xc, 0x1111111122222222ull);
	GUEST_SYNC(7);
	GUEST_ASSERT_EQ(msix_readb(pba_gpa + 3), (uint8_t)(pattern(0, 1000) >> 24));
	GUEST_SYNC(8);
	/* Past the last entry: not the table's range at all. */
	GUEST_ASSERT_EQ(msix_readl(table_gpa + nr_entries * MSIX_ENTRY_SIZE), 0);
	GUEST_SYNC(9);
	/* REP MOVSD rewriting all of entry 4. */
	asm volatile("rep movsl" : "+D"(dst), "+S"(sp), "+c"(cnt) :: "memory");
	GUEST_SYNC(10);
	GUEST_DONE();
}

/*
 * 1 and 2 byte, misaligned and entry-crossing accesses are ordinary MMIO
 * exits; a string instruction's elements are taken one by one.
 */
KVM_ONE_VCPU_TEST(msix, declined_accesses, guest_declined)
{
	struct msix_shadow s = setup_table(vcpu, NR_ENTRIES);
	struct msix_exits ex;
	struct ucall uc;
	uint32_t i;

	fill_pattern(&s, 0);
	msix_define(vcpu->vm, &s);

	for (i = 0; i <= 8; i++) {
		run_to_sync(vcpu, &s, &ex, i);
		TEST_ASSERT(ex.mmio == 1 && ex.updated == 0,
			    "access %u: %lu mmio exits, %lu updates", i,
			    ex.mmio, ex.updated);
		if (i == 5)
			TEST_ASSERT_EQ(s.table[3], pattern(0, 3) & ~0xffu);
		if (i == 6)
			TEST_ASSERT_EQ(s.table[2],
				       (pattern(0, 2) & ~0xffffu) | 0xbeef);
		if (i == 7) {
			TEST_ASSERT_EQ(s.table[3], 0x22222222);
			TEST_ASSERT_EQ(s.table[4], 0x11111111);
		}
	}

	TEST_ASSERT_EQ(msix_run(vcpu, &s, &ex, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(ex.unclaimed, 1);

	run_to_sync(vcpu, &s, &ex, 10);
	TEST_ASSERT_EQ(s.table[16], 0xfee03000);
	TEST_ASSERT_EQ(s.table[17], 0);
	TEST_ASSERT_EQ(s.table[18], 0x4321);
	TEST_ASSERT_EQ(s.table[19], 1);
	/*
	 * KVM may re-enter the guest between the elements of a string
	 * instruction, so a report can come before the last element: the
	 * VMM hears of entry 4 at least once and the memory ends right.
	 */
	TEST_ASSERT(ex.updated >= 1, "rep movs: %lu updates, %lu mmio",
		    ex.updated, ex.mmio);
	TEST_ASSERT_EQ(ex.last.entry, 4);
	TEST_ASSERT_EQ(ex.last.address, 0xfee03000);
	printf("# rep movsd over one entry: %lu update exits, %lu mmio exits\n",
	       ex.updated, ex.mmio);
	run_to_done(vcpu, &s);
}

static void guest_remove(void)
{
	uint32_t i;

	for (i = 0; i < 3; i++) {
		GUEST_ASSERT_EQ(msix_readl(table_gpa + 4), pattern(0, 1));
		msix_writel(table_gpa + MSIX_CTRL_OFF, i);
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

/*
 * After KVM_REMOVE_MSIX_TABLE the range is plain MMIO again; defining it
 * anew over the same memory serves what the VMM kept.
 */
KVM_ONE_VCPU_TEST(msix, remove_redefine, guest_remove)
{
	struct msix_shadow s = setup_table(vcpu, NR_ENTRIES);
	struct msix_exits ex;

	fill_pattern(&s, 0);
	msix_define(vcpu->vm, &s);
	run_to_sync(vcpu, &s, &ex, 0);
	TEST_ASSERT_EQ(ex.mmio, 0);
	TEST_ASSERT_EQ(s.table[3], 0);

	msix_remove(vcpu->vm, s.id);
	TEST_ASSERT_EQ(__msix_remove(vcpu->vm, s.id), -1);
	TEST_ASSERT_EQ(errno, ENOENT);
	run_to_sync(vcpu, &s, &ex, 1);
	TEST_ASSERT_EQ(ex.mmio, 2);
	TEST_ASSERT_EQ(s.table[3], 1);

	msix_define(vcpu->vm, &s);
	run_to_sync(vcpu, &s, &ex, 2);
	TEST_ASSERT_EQ(ex.mmio, 0);
	TEST_ASSERT_EQ(s.table[3], 2);
	run_to_done(vcpu, &s);
}

static void guest_max(void)
{
	uint64_t last = table_gpa + (nr_entries - 1) * MSIX_ENTRY_SIZE;

	GUEST_ASSERT_EQ(msix_readl(last + MSIX_CTRL_OFF), MSIX_MASKBIT);
	GUEST_ASSERT_EQ(msix_readq(pba_gpa + (nr_entries / 64 - 1) * 8), 0);
	msix_writel(last, 0xfee0f000);
	GUEST_SYNC(0);
	GUEST_DONE();
}

/* A full 2048-entry table: the last entry and the last PBA QWORD. */
KVM_ONE_VCPU_TEST(msix, max_entries, guest_max)
{
	struct msix_shadow s;
	struct msix_exits ex;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_MSIX_TABLE), KVM_MSIX_MAX_ENTRIES);
	TEST_ASSERT_EQ(vm_check_cap(vcpu->vm, KVM_CAP_MSIX_TABLE),
		       KVM_MSIX_MAX_ENTRIES);
	s = setup_table(vcpu, KVM_MSIX_MAX_ENTRIES);
	msix_define(vcpu->vm, &s);
	run_to_sync(vcpu, &s, &ex, 0);
	TEST_ASSERT_EQ(ex.mmio, 0);
	TEST_ASSERT_EQ(ex.updated, 1);
	TEST_ASSERT_EQ(ex.last.entry, KVM_MSIX_MAX_ENTRIES - 1);
	TEST_ASSERT_EQ(ex.last.address, 0xfee0f000);
	run_to_done(vcpu, &s);
}

#define NR_TABLES	64

static void guest_many(void)
{
	uint32_t i;

	for (i = 0; i < NR_TABLES; i++)
		GUEST_ASSERT_EQ(msix_readl(MSIX_TABLE_GPA(i) + MSIX_CTRL_OFF),
				MSIX_MASKBIT + i);
	GUEST_DONE();
}

/* Many tables in one VM, each served from its own memory. */
KVM_ONE_VCPU_TEST(msix, many_tables, guest_many)
{
	struct msix_shadow s[NR_TABLES];
	uint32_t i;

	for (i = 0; i < NR_TABLES; i++) {
		msix_shadow_init(&s[i], i, 4, MSIX_TABLE_GPA(i), MSIX_PBA_GPA(i));
		s[i].table[3] = MSIX_MASKBIT + i;
		msix_map(vcpu->vm, &s[i]);
		msix_define(vcpu->vm, &s[i]);
	}
	run_to_done(vcpu, NULL);
}

/* Every bad input gets its errno and leaves nothing behind. */
TEST(define_errors)
{
	struct kvm_vm *vm = vm_create_barebones();
	struct msix_shadow s, s2;
	struct kvm_msix_table t, good;
	struct kvm_msix_table_ctrl ctrl = {};
	void *ro;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));

	msix_shadow_init(&s, 1, 100, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	good = msix_table_of(&s);

	for (i = 0; i < 32; i++) {
		t = good;
		t.flags = 1u << i;
		/*
		 * PASSTHROUGH fails too here: it needs a window; UNMAPPED
		 * needs no GPAs; DEVID needs KVM_CAP_MSI_DEVID, which x86
		 * lacks.  MOVE is tested below.
		 */
		if (t.flags & (KVM_MSIX_TABLE_FLAG_DEFER_UPDATES |
			       KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS |
			       KVM_MSIX_TABLE_FLAG_MOVE))
			continue;
		msix_expect_define_error(vm, &t, EINVAL, "flags");
	}
	t = good;
	t.pad = 1;
	msix_expect_define_error(vm, &t, EINVAL, "pad");
	t = good;
	t.reserved = 1;
	msix_expect_define_error(vm, &t, EINVAL, "reserved");
	t.reserved = 0x80000000;
	msix_expect_define_error(vm, &t, EINVAL, "reserved bit 31");
	t = good;
	t.devid = 1;
	msix_expect_define_error(vm, &t, EINVAL, "devid without the flag");
	t.flags = KVM_MSIX_TABLE_FLAG_DEVID;
	msix_expect_define_error(vm, &t, EINVAL, "DEVID on x86");
	t.devid = 0;
	msix_expect_define_error(vm, &t, EINVAL, "DEVID 0 on x86");
	/* A table off the bus has no guest-physical address. */
	t = good;
	t.flags = KVM_MSIX_TABLE_FLAG_UNMAPPED;
	msix_expect_define_error(vm, &t, EINVAL, "UNMAPPED with GPAs");
	t.table_gpa = 0;
	msix_expect_define_error(vm, &t, EINVAL, "UNMAPPED with pba_gpa");
	t = good;
	t.flags = KVM_MSIX_TABLE_FLAG_UNMAPPED;
	t.pba_gpa = 0;
	msix_expect_define_error(vm, &t, EINVAL, "UNMAPPED with table_gpa");
	t = good;
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	msix_expect_define_error(vm, &t, ENOENT, "MOVE of no table");
	/* Without KVM_MSIX_TABLE_FLAG_PASSTHROUGH the window must be 0. */
	t = good;
	t.window_gpa = MSIX_TABLE_GPA(0);
	msix_expect_define_error(vm, &t, EINVAL, "window_gpa without the flag");
	t = good;
	t.window_size = 0x1000;
	msix_expect_define_error(vm, &t, EINVAL, "window_size without the flag");
	t = good;
	t.window_uaddr = (uint64_t)s.table;
	msix_expect_define_error(vm, &t, EINVAL, "window_uaddr without the flag");
	t = good;
	t.nr_entries = 0;
	msix_expect_define_error(vm, &t, EINVAL, "nr_entries 0");
	t.nr_entries = KVM_MSIX_MAX_ENTRIES + 1;
	msix_expect_define_error(vm, &t, EINVAL, "nr_entries 2049");
	t.nr_entries = ~0u;
	msix_expect_define_error(vm, &t, EINVAL, "nr_entries ~0");
	for (i = 1; i < 8; i <<= 1) {
		t = good;
		t.table_gpa += i;
		msix_expect_define_error(vm, &t, EINVAL, "table_gpa alignment");
		t = good;
		t.pba_gpa += i;
		msix_expect_define_error(vm, &t, EINVAL, "pba_gpa alignment");
		t = good;
		t.table_uaddr += i;
		msix_expect_define_error(vm, &t, EINVAL, "table_uaddr alignment");
		t = good;
		t.pba_uaddr += i;
		msix_expect_define_error(vm, &t, EINVAL, "pba_uaddr alignment");
	}
	t = good;
	t.pba_gpa = t.table_gpa + 99 * MSIX_ENTRY_SIZE;
	msix_expect_define_error(vm, &t, EINVAL, "PBA inside the table");
	t.pba_gpa = t.table_gpa - 8;
	msix_expect_define_error(vm, &t, EINVAL, "PBA overlapping the table start");
	t = good;
	t.table_gpa = -8ull;
	msix_expect_define_error(vm, &t, EINVAL, "table gpa + size overflow");
	t = good;
	t.pba_gpa = -8ull;
	msix_expect_define_error(vm, &t, EINVAL, "PBA gpa + size overflow");

	t = good;
	t.table_uaddr = 0xffff800000000000ull;
	msix_expect_define_error(vm, &t, EFAULT, "kernel table_uaddr");
	t = good;
	t.pba_uaddr = 0;
	msix_expect_define_error(vm, &t, EFAULT, "NULL pba_uaddr");
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ro != MAP_FAILED, "mmap");
	t = good;
	t.table_uaddr = (uint64_t)ro;
	msix_expect_define_error(vm, &t, EFAULT, "read-only table memory");
	t = good;
	t.pba_uaddr = (uint64_t)ro;
	msix_expect_define_error(vm, &t, EFAULT, "read-only PBA memory");
	munmap(ro, 4096);
	t = good;
	t.table_uaddr = (uint64_t)ro;
	msix_expect_define_error(vm, &t, EFAULT, "unmapped table memory");

	/* None of the above left anything: the good table defines. */
	TEST_ASSERT_EQ(__msix_define(vm, &good), 0);

	t = good;
	msix_expect_define_error(vm, &t, EEXIST, "same id");
	msix_shadow_init(&s2, 2, 100, MSIX_TABLE_GPA(1), MSIX_PBA_GPA(1));
	t = msix_table_of(&s2);
	t.table_gpa = good.table_gpa + 99 * MSIX_ENTRY_SIZE;
	msix_expect_define_error(vm, &t, EEXIST, "table over another table");
	t = msix_table_of(&s2);
	t.pba_gpa = good.table_gpa;
	msix_expect_define_error(vm, &t, EEXIST, "PBA over another table");
	t = msix_table_of(&s2);
	t.table_gpa = good.pba_gpa - 8;
	msix_expect_define_error(vm, &t, EEXIST, "table over another PBA");
	TEST_ASSERT_EQ(__msix_define(vm, &(struct kvm_msix_table){
		.id = 2, .nr_entries = 100,
		.table_gpa = MSIX_TABLE_GPA(1), .pba_gpa = MSIX_PBA_GPA(1),
		.table_uaddr = (uint64_t)s2.table, .pba_uaddr = (uint64_t)s2.pba }), 0);

	TEST_ASSERT_EQ(__msix_remove(vm, 3), -1);
	TEST_ASSERT_EQ(errno, ENOENT);

	/* A move must name the table as it was defined, and room for it. */
	t = good;
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	t.id = 3;
	msix_expect_define_error(vm, &t, ENOENT, "MOVE of an unknown id");
	t.id = good.id;
	t.nr_entries = good.nr_entries + 1;
	msix_expect_define_error(vm, &t, EINVAL, "MOVE with another nr_entries");
	t.nr_entries = good.nr_entries;
	t.table_uaddr = (uint64_t)s2.table;
	msix_expect_define_error(vm, &t, EINVAL, "MOVE with another table_uaddr");
	t.table_uaddr = good.table_uaddr;
	t.pba_uaddr = (uint64_t)s2.pba;
	msix_expect_define_error(vm, &t, EINVAL, "MOVE with another pba_uaddr");
	t.pba_uaddr = good.pba_uaddr;
	t.flags |= KVM_MSIX_TABLE_FLAG_DEFER_UPDATES;
	msix_expect_define_error(vm, &t, EINVAL, "MOVE with another flag");
	t.flags = KVM_MSIX_TABLE_FLAG_MOVE;
	t.table_gpa = MSIX_TABLE_GPA(1);
	msix_expect_define_error(vm, &t, EEXIST, "MOVE onto another table");
	t.table_gpa = good.table_gpa;
	t.pba_gpa = MSIX_TABLE_GPA(1) + 8;
	msix_expect_define_error(vm, &t, EEXIST, "MOVE of the PBA onto another table");
	t.pba_gpa = good.pba_gpa;
	t.pad = 1;
	msix_expect_define_error(vm, &t, EINVAL, "MOVE with pad");
	/* None of it moved table 1: defining over its ranges still clashes. */
	t = msix_table_of(&s2);
	t.id = 4;
	t.table_gpa = good.table_gpa;
	t.pba_gpa = good.pba_gpa;
	msix_expect_define_error(vm, &t, EEXIST, "table 1 after failed moves");

	for (i = 0; i < 32; i++) {
		ctrl.id = 1;
		ctrl.flags = 1u << i;
		if (ctrl.flags & (KVM_MSIX_CTRL_ENABLE |
				  KVM_MSIX_CTRL_FUNCTION_MASK |
				  KVM_MSIX_CTRL_TRANSLATED))
			continue;
		TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_SET_MSIX_TABLE_CTRL, &ctrl), -1);
		TEST_ASSERT_EQ(errno, EINVAL);
	}
	ctrl.id = 3;
	ctrl.flags = KVM_MSIX_CTRL_ENABLE;
	TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_SET_MSIX_TABLE_CTRL, &ctrl), -1);
	TEST_ASSERT_EQ(errno, ENOENT);

	msix_remove(vm, 1);
	msix_remove(vm, 2);
	TEST_ASSERT_EQ(__msix_define(vm, &good), 0);
	kvm_vm_free(vm);
}

/*
 * Each table takes two of the MMIO bus's slots.  Fill the bus until define
 * fails with ENOSPC, on the table's slot or, with one more device on the
 * bus, on the PBA's; either way the failed define leaves nothing behind and
 * removing a table makes room again.
 */
static void fill_bus(bool odd)
{
	struct kvm_vm *vm = vm_create_barebones();
	struct msix_shadow s;
	struct kvm_msix_table t;
	uint32_t n;
	int r = 0;

	if (odd)
		kvm_vm_register_coalesced_io(vm, MSIX_GPA_BASE - 0x1000, 8, false);
	msix_shadow_init(&s, 0, 1, 0, 0);
	t = msix_table_of(&s);
	for (n = 0; n < 2000; n++) {
		t.id = n;
		t.table_gpa = MSIX_GPA_BASE + n * 0x1000ull;
		t.pba_gpa = t.table_gpa + 0x800;
		r = __msix_define(vm, &t);
		if (r)
			break;
	}
	TEST_ASSERT(r == -1 && errno == ENOSPC,
		    "define %u: returned %d errno %d, want ENOSPC", n, r, errno);
	TEST_ASSERT(n > 100, "only %u tables fit", n);
	printf("# %u tables fit on the MMIO bus%s\n", n,
	       odd ? " next to a coalesced zone" : "");
	msix_remove(vm, 0);
	TEST_ASSERT_EQ(__msix_define(vm, &t), 0);
	TEST_ASSERT_EQ(__msix_remove(vm, 0), -1);
	TEST_ASSERT_EQ(errno, ENOENT);
	t.id = n + 1;
	t.table_gpa += 0x1000;
	t.pba_gpa += 0x1000;
	TEST_ASSERT_EQ(__msix_define(vm, &t), -1);
	TEST_ASSERT_EQ(errno, ENOSPC);
	kvm_vm_free(vm);
}

TEST(bus_full)
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	fill_bus(false);
	fill_bus(true);
}

/* Objects the rest of the system may allocate meanwhile. */
#define SLAB_SLACK	64

/*
 * @rounds VMs, each torn down with 8 tables of 64 to 2048 entries still
 * defined (every other round one removed first), some entries bound to
 * GSIs with interrupts pending.
 */
static uint32_t teardown_rounds(struct msix_shadow *s, uint32_t rounds,
				uint64_t ms)
{
	struct kvm_msix_entry_irq irq = {};
	uint64_t deadline = msix_now_ms() + ms;
	struct kvm_irq_routing *rt;
	uint32_t i, round;

	for (round = 0; round < rounds && msix_now_ms() < deadline; round++) {
		struct kvm_vm *vm = vm_create_barebones();

		vm_create_irqchip(vm);
		rt = kvm_gsi_routing_create();
		for (i = 0; i < 8; i++) {
			rt->entries[i].gsi = 32 + i;
			rt->entries[i].type = KVM_IRQ_ROUTING_MSI;
			rt->entries[i].u.msi.address_lo = 0xfee00000;
			rt->entries[i].u.msi.data = 0x40 + i;
		}
		rt->nr = 8;
		kvm_gsi_routing_write(vm, rt);
		for (i = 0; i < 8; i++) {
			msix_define(vm, &s[i]);
			irq.table_id = i;
			irq.entry = i;
			irq.gsi = 32 + i;
			vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &irq);
			/* Masked: held in the Pending bit. */
			kvm_irq_line(vm, 32 + i, 1);
		}
		if (round & 1)
			msix_remove(vm, round % 8);
		kvm_vm_free(vm);
	}
	return round;
}

/*
 * The tests that scan kmemleak: on a debug kernel under TCG a scan takes
 * tens of seconds, past the harness's default 30 s.
 */
FIXTURE(leaks) {};
FIXTURE_SETUP(leaks) {}
FIXTURE_TEARDOWN(leaks) {}

/*
 * Tables left defined and bound are freed with the VM: the slab caches
 * kvm-msix allocates from come back to their count before, and a kmemleak
 * kernel finds nothing unreferenced.
 */
TEST_F_TIMEOUT(leaks, teardown_with_tables, 180)
{
	struct msix_shadow s[8];
	bool kmemleak;
	long base, diff;
	uint32_t i, rounds;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	for (i = 0; i < 8; i++)
		msix_shadow_init(&s[i], i, 64 << (i % 6), MSIX_TABLE_GPA(i),
				 MSIX_PBA_GPA(i));
	/* Warm up what a fresh kernel allocates once, then count. */
	teardown_rounds(s, 2, 10000);
	kmemleak = msix_kmemleak_cmd("clear");
	base = msix_slab_objects_flushed();
	/* 50 rounds, or 10 s of them on a slow (debug) kernel. */
	rounds = teardown_rounds(s, 50, 10000);
	TEST_ASSERT(rounds >= 8, "only %u rounds", rounds);

	if (base < 0) {
		printf("# /proc/slabinfo unreadable: slab counts not checked\n");
	} else {
		diff = msix_slab_settle(base, SLAB_SLACK);
		printf("# %u VMs with 8 tables: slab objects %ld before, %+ld after\n",
		       rounds, base, diff);
		TEST_ASSERT(diff <= SLAB_SLACK,
			    "%ld slab objects leaked by %u VMs with %u tables",
			    diff, rounds, 8 * rounds - rounds / 2);
	}
	if (!kmemleak) {
		printf("# no kmemleak: not checked\n");
		return;
	}
	TEST_ASSERT_EQ(msix_kmemleak_kvm_leaks(), 0);
}

TEST_HARNESS_MAIN
