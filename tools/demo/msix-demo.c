// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix-demo: what an in-kernel MSI-X table saves a VMM.
 *
 * The same guest runs twice: once with its MSI-X table defined in the kernel
 * (KVM_DEFINE_MSIX_TABLE), once with the table emulated here, in userspace,
 * the way QEMU, cloud-hypervisor and kvmtool do it today.  The guest masks
 * and unmasks a vector 10,000 times (reading Vector Control back each time,
 * as drivers do) and then reprograms the entry the way Linux's
 * __pci_write_msi_msg() does: mask, address low, address high, data, unmask,
 * read back.  The demo counts the exits to userspace each phase costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"

#include "msix_util.h"

#define TOGGLES		10000

static uint64_t table_gpa;

/* Linux's reprogramming of one entry (drivers/pci/msi/msi.c). */
static void guest_linux_reprogram(uint64_t e, uint32_t lo, uint32_t hi,
				  uint32_t data)
{
	msix_writel(e + MSIX_CTRL_OFF, MSIX_MASKBIT);
	msix_writel(e + 0x0, lo);
	msix_writel(e + 0x4, hi);
	msix_writel(e + 0x8, data);
	msix_writel(e + MSIX_CTRL_OFF, 0);
	(void)msix_readl(e + MSIX_CTRL_OFF);
}

static void guest_code(void)
{
	uint64_t e = table_gpa;
	uint32_t i;

	for (i = 0; i < TOGGLES; i++) {
		msix_writel(e + MSIX_CTRL_OFF, MSIX_MASKBIT);
		GUEST_ASSERT_EQ(msix_readl(e + MSIX_CTRL_OFF), MSIX_MASKBIT);
		msix_writel(e + MSIX_CTRL_OFF, 0);
	}
	GUEST_SYNC(1);

	/* An affinity change on x86: new destination and vector, high 0. */
	guest_linux_reprogram(e, 0xfee02000, 0, 0x4041);
	GUEST_SYNC(2);

	/* Everything changes (64-bit address, e.g. on arm64 ITS). */
	guest_linux_reprogram(e, 0x08020040, 0x1, 0x4042);
	GUEST_SYNC(3);
	GUEST_DONE();
}

struct phase {
	struct msix_exits ex;
	double ms;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void run_guest(bool in_kernel, uint32_t flags, struct phase ph[3])
{
	struct kvm_vcpu *vcpu;
	struct msix_shadow s;
	struct msix_exits ex;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t cmd;
	double t;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	msix_shadow_init(&s, 1, 64, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	msix_map(vm, &s);
	table_gpa = s.table_gpa;
	sync_global_to_guest(vm, table_gpa);
	if (in_kernel) {
		struct kvm_msix_table t = msix_table_of(&s);

		t.flags = flags;
		vm_ioctl(vm, KVM_DEFINE_MSIX_TABLE, &t);
	}

	for (i = 0; i < 3; i++) {
		t = now_ms();
		cmd = msix_run(vcpu, &s, &ph[i].ex, &uc);
		ph[i].ms = now_ms() - t;
		TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == i + 1,
			    "guest stopped at ucall %lu", cmd);
		TEST_ASSERT_EQ(ph[i].ex.unclaimed, 0);
	}
	TEST_ASSERT_EQ(msix_run(vcpu, &s, &ex, &uc), UCALL_DONE);
	/* Both ways end with the same table in VMM memory. */
	TEST_ASSERT_EQ(s.table[0], 0x08020040);
	TEST_ASSERT_EQ(s.table[1], 1);
	TEST_ASSERT_EQ(s.table[2], 0x4042);
	TEST_ASSERT_EQ(s.table[3], 0);
	kvm_vm_free(vm);
}

static uint64_t exits(const struct phase *p)
{
	return p->ex.mmio + p->ex.updated;
}

static void row(const char *what, const struct phase *k, const struct phase *d,
		const struct phase *q, const struct phase *u)
{
	printf("%-42s %9lu %9lu %9lu %10lu\n", what, exits(k), exits(d),
	       exits(q), exits(u));
}

int main(void)
{
	struct phase k[3], d[3], q[3], u[3];

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));

	run_guest(true, 0, k);
	run_guest(true, KVM_MSIX_TABLE_FLAG_DEFER_UPDATES, d);
	run_guest(true, KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS, q);
	run_guest(false, 0, u);

	printf("kvm-msix demo: exits to the VMM for the same guest\n\n");
	printf("%-42s %9s %9s %9s %10s\n", "", "in-kernel", "deferred",
	       "no-exits", "userspace");
	row("10,000 mask+read-back+unmask of a vector", &k[0], &d[0], &q[0],
	    &u[0]);
	row("Linux reprogram, new address low + data", &k[1], &d[1], &q[1],
	    &u[1]);
	row("Linux reprogram, address low+high + data", &k[2], &d[2], &q[2],
	    &u[2]);
	printf("\n%-42s %9.1f %9.1f %9.1f %10.1f\n",
	       "time for the 10,000 toggles (ms)", k[0].ms, d[0].ms, q[0].ms,
	       u[0].ms);
	printf("(\"deferred\": KVM_MSIX_TABLE_FLAG_DEFER_UPDATES; \"no-exits\":\n"
	       " KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS, the kernel delivers from the\n"
	       " table; times are indicative only, under nested TCG)\n");

	/* The demo's claims, checked. */
	TEST_ASSERT_EQ(k[0].ex.mmio + k[0].ex.updated, 0);
	TEST_ASSERT_EQ(d[0].ex.mmio + d[0].ex.updated, 0);
	TEST_ASSERT_EQ(exits(&q[0]) + exits(&q[1]) + exits(&q[2]), 0);
	TEST_ASSERT_EQ(u[0].ex.mmio, 3 * TOGGLES);
	TEST_ASSERT_EQ(k[1].ex.updated, 2);
	TEST_ASSERT_EQ(k[2].ex.updated, 3);
	TEST_ASSERT_EQ(d[1].ex.updated, 1);
	TEST_ASSERT_EQ(d[2].ex.updated, 1);
	TEST_ASSERT_EQ(u[1].ex.mmio, 6);
	TEST_ASSERT_EQ(u[2].ex.mmio, 6);
	return 0;
}
