// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_table_race_test: vCPUs on MSI-X tables that change under them.
 *
 * - Two vCPUs hammer the same entry: every address change of each vCPU is
 *   reported to that vCPU's thread, exactly once.
 * - vCPUs read and write a table while the VMM removes and redefines it:
 *   each access is served either in the kernel or as an MMIO exit the VMM
 *   emulates on the same memory, and the guest always reads what is there.
 * - The VMM drops every file descriptor while vCPUs are inside the table:
 *   the VM, tables included, is torn down under them, leaving nothing
 *   behind (slab counts, and kmemleak on a debug kernel).
 * - Slab counts come back to their baseline after all of it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"

#include "msix_util.h"

#define NR_VCPUS	2
#define ITERATIONS	1000
#define CONST_DATA	0x00c0ffee
#define MAX_CYCLES	1000
#define MAX_SECONDS	5

static uint64_t table_gpa;
static uint32_t stop;
/* Loops of guest_reader(), per vCPU. */
static uint64_t reader_loops[NR_VCPUS];

/* Each vCPU writes its own addresses into entry 0, ITERATIONS times. */
static void guest_hammer(uint32_t id)
{
	uint32_t i;

	for (i = 0; i < ITERATIONS; i++) {
		msix_writel(table_gpa + MSIX_CTRL_OFF, MSIX_MASKBIT);
		msix_writel(table_gpa, 0xfee00000 | id << 16 | i);
		msix_writel(table_gpa + MSIX_CTRL_OFF, 0);
		GUEST_ASSERT(msix_readl(table_gpa + MSIX_CTRL_OFF) <= 1);
	}
	GUEST_DONE();
}

struct vcpu_thread {
	struct kvm_vcpu *vcpu;
	struct msix_shadow *s;
	pthread_t thread;
	uint64_t updated;
	uint64_t mmio;
};

static void *run_vcpu(void *arg)
{
	struct vcpu_thread *vt = arg;
	struct msix_exits ex;
	struct ucall uc;

	TEST_ASSERT_EQ(msix_run(vt->vcpu, vt->s, &ex, &uc), UCALL_DONE);
	TEST_ASSERT_EQ(ex.unclaimed, 0);
	vt->updated = ex.updated;
	vt->mmio = ex.mmio;
	return NULL;
}

TEST(two_vcpus_one_entry)
{
	struct vcpu_thread vt[NR_VCPUS];
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct msix_shadow s;
	struct kvm_vm *vm;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	vm = vm_create_with_vcpus(NR_VCPUS, guest_hammer, vcpus);
	msix_shadow_init(&s, 1, 4, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	msix_map(vm, &s);
	table_gpa = s.table_gpa;
	sync_global_to_guest(vm, table_gpa);
	msix_define(vm, &s);

	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		vt[i] = (struct vcpu_thread){ .vcpu = vcpus[i], .s = &s };
		pthread_create(&vt[i].thread, NULL, run_vcpu, &vt[i]);
	}
	for (i = 0; i < NR_VCPUS; i++) {
		pthread_join(vt[i].thread, NULL);
		/* Every write changes the address: one report each. */
		TEST_ASSERT(vt[i].updated == ITERATIONS && vt[i].mmio == 0,
			    "vCPU %d: %lu update exits, %lu mmio exits", i,
			    vt[i].updated, vt[i].mmio);
	}
	TEST_ASSERT_EQ(s.table[0] & 0xfff0ffff, 0xfee00000 | (ITERATIONS - 1));
	TEST_ASSERT_EQ(s.table[3], 0);
	kvm_vm_free(vm);
}

/*
 * Read this vCPU's constant entry and toggle the mask of another until told
 * to stop.
 */
static void guest_reader(uint32_t id)
{
	uint64_t e = table_gpa + id * MSIX_ENTRY_SIZE;
	uint64_t n = 0;

	while (!READ_ONCE(stop)) {
		GUEST_ASSERT_EQ(msix_readl(e + 8), CONST_DATA);
		GUEST_ASSERT_EQ(msix_readq(e), 0xfee00000ull | id << 12);
		msix_writel(e + 4 * MSIX_ENTRY_SIZE + MSIX_CTRL_OFF, n++ & 1);
		WRITE_ONCE(reader_loops[id], n);
	}
	GUEST_DONE();
}

static void *run_reader(void *arg)
{
	struct vcpu_thread *vt = arg;
	struct msix_exits ex;
	struct ucall uc;

	TEST_ASSERT_EQ(msix_run(vt->vcpu, vt->s, &ex, &uc), UCALL_DONE);
	TEST_ASSERT_EQ(ex.unclaimed + ex.updated, 0);
	vt->mmio = ex.mmio;
	return NULL;
}

static struct kvm_vm *start_readers(struct vcpu_thread *vt,
				    struct msix_shadow *s,
				    void *(*fn)(void *))
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct kvm_vm *vm;
	int i;

	vm = vm_create_with_vcpus(NR_VCPUS, guest_reader, vcpus);
	msix_shadow_init(s, 1, 8, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	for (i = 0; i < NR_VCPUS; i++) {
		s->table[i * 4] = 0xfee00000 | i << 12;
		s->table[i * 4 + 2] = CONST_DATA;
	}
	msix_map(vm, s);
	table_gpa = s->table_gpa;
	sync_global_to_guest(vm, table_gpa);
	msix_define(vm, s);

	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		vt[i] = (struct vcpu_thread){ .vcpu = vcpus[i], .s = s };
		pthread_create(&vt[i].thread, NULL, fn, &vt[i]);
	}
	return vm;
}

TEST(remove_redefine_while_running)
{
	struct vcpu_thread vt[NR_VCPUS];
	struct msix_shadow s;
	struct kvm_vm *vm;
	uint64_t cycles, deadline;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	vm = start_readers(vt, &s, run_reader);

	/* Bounded in time too: emulated hosts are slow and vary. */
	deadline = msix_now_ms() + MAX_SECONDS * 1000;
	for (cycles = 0; cycles < MAX_CYCLES; cycles++) {
		msix_remove(vm, 1);
		usleep(cycles % 3 * 50);
		msix_define(vm, &s);
		usleep(cycles % 2 * 50);
		if (msix_now_ms() >= deadline)
			break;
	}
	WRITE_ONCE(*(uint32_t *)addr_gva2hva(vm, (vm_vaddr_t)&stop), 1);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(vt[i].thread, NULL);
	printf("# %lu remove/define cycles; vCPU mmio exits: %lu, %lu\n",
	       cycles, vt[0].mmio, vt[1].mmio);
	TEST_ASSERT(cycles >= 20, "only %lu remove/define cycles", cycles);
	kvm_vm_free(vm);
}

/* Like a crashing VMM: run until KVM_RUN fails because the fds are gone. */
static void *run_until_ebadf(void *arg)
{
	struct vcpu_thread *vt = arg;
	struct kvm_run *run = vt->vcpu->run;
	int r;

	for (;;) {
		r = ioctl(vt->vcpu->fd, KVM_RUN, NULL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			TEST_ASSERT_EQ(errno, EBADF);
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			msix_emulate_mmio(vt->s, run);
			vt->mmio++;
		}
	}
}

static void kick_handler(int sig)
{
}

/* Objects the rest of the system may allocate meanwhile. */
#define SLAB_SLACK	64

#define EXTRA_TABLES	15

/*
 * @extra tables more in @vm, ids 2 and up, each with entry 0 bound to a GSI
 * and an interrupt pending: more for a leak on teardown to show.
 */
static void define_extra(struct kvm_vm *vm, struct msix_shadow *extra)
{
	struct kvm_msix_entry_irq irq = {};
	struct kvm_irq_routing *rt = kvm_gsi_routing_create();
	int i;

	for (i = 0; i < EXTRA_TABLES; i++) {
		rt->entries[i].gsi = 32 + i;
		rt->entries[i].type = KVM_IRQ_ROUTING_MSI;
		rt->entries[i].u.msi.address_lo = 0xfee00000;
		rt->entries[i].u.msi.data = 0x40 + i;
	}
	rt->nr = EXTRA_TABLES;
	kvm_gsi_routing_write(vm, rt);
	for (i = 0; i < EXTRA_TABLES; i++) {
		msix_define(vm, &extra[i]);
		irq.table_id = extra[i].id;
		irq.gsi = 32 + i;
		vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &irq);
		kvm_irq_line(vm, 32 + i, 1);
	}
}

/*
 * A VM whose vCPUs run guest_reader() in its table, with more tables
 * defined and bound, torn down by dropping every reference the VMM holds
 * under them once each vCPU has been round its loop: KVM_RUN holds its own
 * file reference, so the VM dies when the last one returns, and each must
 * return EBADF from then on.
 */
static void teardown_one(struct msix_shadow *extra)
{
	struct vcpu_thread vt[NR_VCPUS];
	struct msix_shadow s;
	uint64_t deadline, *loops;
	struct kvm_vm *vm;
	int i, run_size;

	vm = start_readers(vt, &s, run_until_ebadf);
	define_extra(vm, extra);
	deadline = msix_now_ms() + 10000;
	for (i = 0; i < NR_VCPUS; i++) {
		loops = addr_gva2hva(vm, (vm_vaddr_t)&reader_loops[i]);
		while (!READ_ONCE(*loops))
			TEST_ASSERT(msix_now_ms() < deadline,
				    "vCPU %d never went round its loop", i);
	}
	usleep(20000);
	/*
	 * kvm_run is a mapping of the vCPU's file, which would keep the VM
	 * alive: put anonymous memory in its place (the vCPU threads still
	 * read it), then close every fd, libkvm's stats fds included.
	 */
	run_size = __kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	TEST_ASSERT(run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	for (i = 0; i < NR_VCPUS; i++)
		TEST_ASSERT(mmap(vt[i].vcpu->run, run_size,
				 PROT_READ | PROT_WRITE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
			    vt[i].vcpu->run, "mmap over kvm_run");
	for (i = 0; i < NR_VCPUS; i++) {
		close(vt[i].vcpu->fd);
		if (msix_vcpu_stats_fd(vt[i].vcpu) >= 0)
			close(msix_vcpu_stats_fd(vt[i].vcpu));
	}
	if (msix_vm_stats_fd(vm) >= 0)
		close(msix_vm_stats_fd(vm));
	close(vm->fd);
	close(vm->kvm_fd);
	for (i = 0; i < NR_VCPUS; i++) {
		while (pthread_tryjoin_np(vt[i].thread, NULL)) {
			pthread_kill(vt[i].thread, SIGUSR1);
			usleep(1000);
		}
	}
	munmap(s.table, s.table_len);
	munmap(s.pba, s.pba_len);
}

/*
 * The tests that scan kmemleak: on a debug kernel under TCG a scan takes
 * tens of seconds, past the harness's default 30 s.
 */
FIXTURE(leaks) {};
FIXTURE_SETUP(leaks) {}
FIXTURE_TEARDOWN(leaks) {}

/*
 * The VMM drops every fd while vCPUs are inside the table.  Nothing may be
 * left of the VMs and their 16 tables each: the slab caches kvm-msix
 * allocates from come back to their count before, and a kmemleak kernel
 * finds nothing unreferenced.
 */
TEST_F_TIMEOUT(leaks, teardown_while_running, 180)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	struct msix_shadow extra[EXTRA_TABLES];
	long base, diff;
	bool kmemleak;
	int i, round;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	/* No SA_RESTART: a kick makes KVM_RUN return -EINTR. */
	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < EXTRA_TABLES; i++)
		msix_shadow_init(&extra[i], 2 + i, 8, MSIX_TABLE_GPA(1 + i),
				 MSIX_PBA_GPA(1 + i));
	/* Round 0 warms up what a fresh kernel allocates once. */
	teardown_one(extra);
	kmemleak = msix_kmemleak_cmd("clear");
	base = msix_slab_objects_flushed();
	for (round = 1; round <= 10; round++)
		teardown_one(extra);

	if (base < 0) {
		printf("# /proc/slabinfo unreadable: slab counts not checked\n");
	} else {
		diff = msix_slab_settle(base, SLAB_SLACK);
		printf("# 10 VMs torn down: slab objects %ld before, %+ld after\n",
		       base, diff);
		TEST_ASSERT(diff <= SLAB_SLACK, "%ld slab objects leaked", diff);
	}
	if (!kmemleak) {
		printf("# no kmemleak: not checked\n");
		return;
	}
	TEST_ASSERT_EQ(msix_kmemleak_kvm_leaks(), 0);
}

#define LEAK_GSIS	8
#define LEAK_CYCLES	2000
#define LEAK_MS		10000

/* Up to @cycles, for at most @ms; returns the cycles done. */
static int leak_cycles(struct kvm_vm *vm, struct msix_shadow *s, int cycles,
		       uint64_t ms)
{
	struct kvm_msix_entry_irq irq = { .table_id = s->id };
	uint64_t deadline = msix_now_ms() + ms;
	int c, e;

	for (c = 0; c < cycles; c++) {
		msix_define(vm, s);
		for (e = 0; e < LEAK_GSIS; e++) {
			irq.entry = e;
			irq.gsi = 32 + e;
			irq.flags = 0;
			vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &irq);
			/* Masked: held as pending, in the VMM's PBA. */
			kvm_irq_line(vm, 32 + e, 1);
		}
		/* Rebind one entry, unbind half, remove with the rest bound. */
		irq.entry = 0;
		irq.gsi = 32 + LEAK_GSIS;
		vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &irq);
		for (e = 1; e < LEAK_GSIS / 2; e++) {
			irq.entry = e;
			irq.gsi = 0;
			irq.flags = KVM_MSIX_ENTRY_IRQ_UNBIND;
			vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &irq);
		}
		/* The last table stays, for the VM's teardown to remove. */
		if (c == cycles - 1 || msix_now_ms() >= deadline)
			return c + 1;
		msix_remove(vm, s->id);
	}
	return c;
}

/*
 * Slab counts return to their baseline after thousands of defines, binds,
 * rebinds, unbinds and removals, and after a VM torn down with a table
 * still defined and bound: nothing is leaked along any of those paths.
 */
TEST(slab_baseline)
{
	struct kvm_irq_routing *rt;
	struct msix_shadow s;
	struct kvm_vm *vm;
	long base = -1, diff;
	int round, i, cycles = 0;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	if (msix_slab_objects() < 0)
		SKIP(return, "/proc/slabinfo unreadable");

	msix_shadow_init(&s, 1, 64, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	/* Round 0 warms up what a fresh kernel allocates once. */
	for (round = 0; round < 2; round++) {
		if (round == 1)
			base = msix_slab_objects_flushed();
		vm = vm_create_barebones();
		vm_create_irqchip(vm);
		rt = kvm_gsi_routing_create();
		for (i = 0; i <= LEAK_GSIS; i++) {
			rt->entries[i].gsi = 32 + i;
			rt->entries[i].type = KVM_IRQ_ROUTING_MSI;
			rt->entries[i].u.msi.address_lo = 0xfee00000;
			rt->entries[i].u.msi.data = 0x40 + i;
		}
		rt->nr = LEAK_GSIS + 1;
		kvm_gsi_routing_write(vm, rt);
		cycles = leak_cycles(vm, &s, round ? LEAK_CYCLES : 10, LEAK_MS);
		kvm_vm_free(vm);
	}
	diff = msix_slab_settle(base, SLAB_SLACK);
	printf("# %d cycles of define, %d binds, 1 rebind, %d unbinds, remove:\n",
	       cycles, LEAK_GSIS, LEAK_GSIS / 2 - 1);
	printf("# slab objects %ld before, %+ld after\n", base, diff);
	TEST_ASSERT(diff <= SLAB_SLACK, "%ld slab objects leaked", diff);
	/* A leak of one object per cycle must stand out of the slack. */
	TEST_ASSERT(cycles >= 4 * SLAB_SLACK, "only %d cycles", cycles);
}

TEST_HARNESS_MAIN
