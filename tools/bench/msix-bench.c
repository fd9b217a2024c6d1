// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix-bench: the cost of MSI-X table accesses with kvm-msix, next to what
 * today's VMMs do (the table emulated in userspace) and next to the cheapest
 * things KVM can do (an ioeventfd write, an in-kernel LAPIC read, plain RAM);
 * and, for an assigned device, registers on the trapped MSI-X page.
 *
 * One guest runs a command loop; the VMM side times each command over many
 * iterations, repeats it, and reports medians.  Absolute times on emulated
 * hosts are not stable, so everything is compared as ratios taken in the same
 * run.  Prints a table and, between "BENCH-JSON-BEGIN/END" lines, the
 * results as JSON for tools/bench/plot.sh.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "ucall_common.h"

#include "msix_util.h"
#include "../vfio/msix_vfio.h"

#define REPS		15
#define N_ACCESS	1500
#define N_LINUX		200
#define N_IRQ		200

#define RAM_GPA		0xb0000000ull
#define IOEVENTFD_GPA	0xb0100000ull
#define GSI		40
#define VEC		0x50

enum op { OP_NONE, OP_WRITE, OP_READ, OP_READQ, OP_LINUX, OP_WAIT_IRQ, OP_DONE };

/* The command the guest runs next; written by the host between syncs. */
static struct {
	uint32_t op;
	uint32_t n;
	uint64_t addr;
} cmd;
static uint32_t irq_count;

static void irq_handler(struct ex_regs *regs)
{
	WRITE_ONCE(irq_count, READ_ONCE(irq_count) + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_linux_reprogram(uint64_t e, uint32_t i)
{
	msix_writel(e + MSIX_CTRL_OFF, MSIX_MASKBIT);
	msix_writel(e + 0x0, 0xfee00000 | (i & 1) << 12);
	msix_writel(e + 0x4, 0);
	msix_writel(e + 0x8, VEC + (i & 1));
	msix_writel(e + MSIX_CTRL_OFF, 0);
	(void)msix_readl(e + MSIX_CTRL_OFF);
}

static void guest_main(void)
{
	uint32_t i, n;
	uint64_t a;

	/*
	 * Enable the local APIC up front: a software-disabled APIC drops
	 * fixed interrupts, and the host may fire before OP_WAIT_IRQ runs.
	 * xAPIC mode, so that its MMIO page serves as the read floor.
	 */
	xapic_enable();
	for (;;) {
		GUEST_SYNC(0);
		n = READ_ONCE(cmd.n);
		a = READ_ONCE(cmd.addr);
		switch (READ_ONCE(cmd.op)) {
		case OP_WRITE:
			for (i = 0; i < n; i++)
				msix_writel(a, i & 1);
			break;
		case OP_READ:
			for (i = 0; i < n; i++)
				(void)msix_readl(a);
			break;
		case OP_READQ:
			for (i = 0; i < n; i++)
				(void)msix_readq(a);
			break;
		case OP_LINUX:
			for (i = 0; i < n; i++)
				guest_linux_reprogram(a, i);
			break;
		case OP_WAIT_IRQ:
			asm volatile("sti");
			while (READ_ONCE(irq_count) < n)
				cpu_relax();
			asm volatile("cli");
			break;
		case OP_DONE:
			GUEST_DONE();
		}
	}
}

struct bench {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct msix_shadow s;
	/* The message routed to GSI, as a VMM tracks it. */
	uint64_t route_addr;
	uint32_t route_data;
	uint32_t route_updates;
	bool emulate;		/* the VMM emulates the table in userspace */
	/* Exits in [dev_gpa, + dev_len) go to BAR0 of @dev with pread/pwrite. */
	struct msix_vfio_dev *dev;
	uint64_t dev_gpa;
	uint64_t dev_len;
};

/* An MMIO exit on an assigned device's BAR, served as QEMU does. */
static bool dev_emulate_mmio(struct bench *b, struct kvm_run *run)
{
	uint64_t gpa = run->mmio.phys_addr, v = 0;

	if (!b->dev || gpa < b->dev_gpa || gpa + run->mmio.len > b->dev_gpa + b->dev_len)
		return false;
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, run->mmio.len);
		TEST_ASSERT_EQ(msix_vfio_bar_write(b->dev, 0, gpa - b->dev_gpa,
						   run->mmio.len, v), 0);
	} else {
		TEST_ASSERT_EQ(msix_vfio_bar_read(b->dev, 0, gpa - b->dev_gpa,
						  run->mmio.len, &v), 0);
		memcpy(run->mmio.data, &v, run->mmio.len);
	}
	return true;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void set_route(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	msix_set_route(vm, GSI, addr, data);
}

/* Like QEMU: touch the routing table only when the message changed. */
static void update_route(struct bench *b, uint64_t addr, uint32_t data)
{
	if (addr == b->route_addr && data == b->route_data)
		return;
	set_route(b->vm, addr, data);
	b->route_addr = addr;
	b->route_data = data;
	b->route_updates++;
}

/*
 * Run the guest until its next sync, like a VMM: emulate the table accesses
 * it is given, update the route on KVM_EXIT_MSIX_ENTRY_UPDATED or, when it
 * emulates the table, on an unmask of a changed entry.
 */
static void run_to_sync(struct bench *b, uint64_t *exits)
{
	struct kvm_run *run = b->vcpu->run;
	struct ucall uc;
	uint64_t cmd_;

	for (;;) {
		vcpu_run(b->vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			bool ctrl = (run->mmio.phys_addr & 0xf) == MSIX_CTRL_OFF;

			(*exits)++;
			if (dev_emulate_mmio(b, run))
				continue;
			if (!msix_emulate_mmio(&b->s, run))
				continue;	/* the ioeventfd floor has no fd */
			if (b->emulate && ctrl && run->mmio.is_write &&
			    !(run->mmio.data[0] & MSIX_MASKBIT))
				update_route(b, (uint64_t)b->s.table[1] << 32 |
					     b->s.table[0], b->s.table[2]);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MSIX_ENTRY_UPDATED) {
			(*exits)++;
			update_route(b, run->msix_entry_updated.address,
				     run->msix_entry_updated.data);
			continue;
		}
		cmd_ = get_ucall(b->vcpu, &uc);
		if (cmd_ == UCALL_ABORT)
			REPORT_GUEST_ASSERT(uc);
		TEST_ASSERT_EQ(cmd_, UCALL_SYNC);
		return;
	}
}

static void set_cmd(struct bench *b, uint32_t op, uint32_t n, uint64_t addr)
{
	typeof(cmd) *c = addr_gva2hva(b->vm, (vm_vaddr_t)&cmd);

	WRITE_ONCE(c->op, op);
	WRITE_ONCE(c->n, n);
	WRITE_ONCE(c->addr, addr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	const char *name;
	const char *group;
	double ns;		/* median per operation */
	double exits;		/* userspace exits per operation */
};

static struct result results[64];
#define N_LINE		3000
static int nr_results;

static struct result *record(const char *group, const char *name, double ns,
			     double exits)
{
	struct result *r = &results[nr_results++];

	*r = (struct result){ .group = group, .name = name, .ns = ns,
			      .exits = exits };
	printf("%-10s %-50s %10.0f %-5s %6.2f exits\n", group, name, ns,
	       strcmp(group, "memory") ? "ns" : "bytes", exits);
	fflush(stdout);
	return r;
}

/* One sample: the time per operation of one guest command. */
static double sample(struct bench *b, uint32_t op, uint32_t n, uint64_t addr,
		     uint64_t *exits)
{
	double t0;

	set_cmd(b, op, n, addr);
	t0 = now_ns();
	run_to_sync(b, exits);
	return (now_ns() - t0) / n;
}

/*
 * Cases compared with each other are measured interleaved, one sample of
 * each per round, so that drift of the emulated host hits them alike.
 */
static struct bcase {
	const char *group;
	const char *name;
	struct bench *b;
	uint32_t op;
	uint32_t n;
	uint64_t addr;
	double t[REPS];
	uint64_t exits;
} cases[24];
static int nr_cases;

static void add_case(const char *group, const char *name, struct bench *b,
		     uint32_t op, uint32_t n, uint64_t addr)
{
	cases[nr_cases++] = (struct bcase){ .group = group, .name = name,
					    .b = b, .op = op, .n = n,
					    .addr = addr };
}

static void run_cases(void)
{
	struct bcase *c;
	int i, r;

	for (r = 0; r < REPS; r++) {
		/* The first sample of a round runs slow; throw one away. */
		c = &cases[0];
		sample(c->b, c->op, c->n / 4, c->addr, &(uint64_t){0});
		for (i = 0; i < nr_cases; i++) {
			c = &cases[i];
			c->t[r] = sample(c->b, c->op, c->n, c->addr, &c->exits);
		}
	}
	for (i = 0; i < nr_cases; i++) {
		c = &cases[i];
		qsort(c->t, REPS, sizeof(c->t[0]), cmp_double);
		record(c->group, c->name, c->t[REPS / 2],
		       (double)c->exits / (REPS * c->n));
	}
	nr_cases = 0;
}

static void bench_create(struct bench *b, uint32_t nr_entries, uint32_t flags,
			 bool define)
{
	struct kvm_msix_table t;
	uint32_t i;

	memset(b, 0, sizeof(*b));
	b->vm = vm_create_with_one_vcpu(&b->vcpu, guest_main);
	vm_install_exception_handler(b->vm, VEC, irq_handler);
	vm_install_exception_handler(b->vm, VEC + 1, irq_handler);
	msix_shadow_init(&b->s, 1, nr_entries, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	for (i = 0; i < nr_entries; i++) {
		b->s.table[i * 4] = 0xfee00000;
		b->s.table[i * 4 + 2] = VEC;
	}
	msix_map(b->vm, &b->s);
	vm_userspace_mem_region_add(b->vm, VM_MEM_SRC_ANONYMOUS, RAM_GPA, 1, 1, 0);
	virt_map(b->vm, RAM_GPA, RAM_GPA, 1);
	virt_map(b->vm, IOEVENTFD_GPA, IOEVENTFD_GPA, 1);
	virt_map(b->vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA, 1);
	update_route(b, 0xfee00000, VEC);
	b->emulate = !define;
	if (define) {
		t = msix_table_of(&b->s);
		t.flags = flags;
		vm_ioctl(b->vm, KVM_DEFINE_MSIX_TABLE, &t);
	}
	run_to_sync(b, &(uint64_t){0});
}

static void bench_free(struct bench *b)
{
	set_cmd(b, OP_DONE, 0, 0);
	vcpu_run(b->vcpu);
	kvm_vm_free(b->vm);
}

#define CTRL0	(MSIX_TABLE_GPA(0) + MSIX_CTRL_OFF)

static void bench_accesses(void)
{
	struct bench k, u;
	struct kvm_ioeventfd io = {
		.addr = IOEVENTFD_GPA, .len = 4, .fd = eventfd(0, 0),
	};

	bench_create(&k, 64, 0, true);
	bench_create(&u, 64, 0, false);
	vm_ioctl(k.vm, KVM_IOEVENTFD, &io);

	/* 1-3: a mask/unmask write. */
	add_case("write", "mask/unmask, in-kernel table", &k, OP_WRITE, N_ACCESS, CTRL0);
	add_case("write", "mask/unmask, userspace table", &u, OP_WRITE, N_ACCESS, CTRL0);
	add_case("write", "floor: ioeventfd write", &k, OP_WRITE, N_ACCESS, IOEVENTFD_GPA);
	add_case("write", "floor: RAM write", &k, OP_WRITE, N_ACCESS, RAM_GPA);

	/* 4: reads. */
	add_case("read", "table read, in-kernel", &k, OP_READ, N_ACCESS, CTRL0);
	add_case("read", "table read, userspace", &u, OP_READ, N_ACCESS, CTRL0);
	add_case("read", "PBA read (QWORD), in-kernel", &k, OP_READQ, N_ACCESS, MSIX_PBA_GPA(0));
	add_case("read", "PBA read (QWORD), userspace", &u, OP_READQ, N_ACCESS, MSIX_PBA_GPA(0));
	add_case("read", "floor: in-kernel LAPIC read (xAPIC ID)", &k, OP_READ, N_ACCESS, APIC_DEFAULT_GPA + APIC_ID);
	add_case("read", "floor: RAM read", &k, OP_READ, N_ACCESS, RAM_GPA);
	run_cases();

	bench_free(&k);
	bench_free(&u);
	close(io.fd);
}

static void bench_linux(void)
{
	static const char * const names[] = {
		"Linux reprogram, in-kernel", "Linux reprogram, in-kernel deferred",
		"Linux reprogram, userspace",
	};
	struct bench b[3];
	int mode;

	/* 5: the reprogramming sequence, with the VMM's route updates. */
	for (mode = 0; mode < 3; mode++) {
		bench_create(&b[mode], 64,
			     mode == 1 ? KVM_MSIX_TABLE_FLAG_DEFER_UPDATES : 0,
			     mode < 2);
		add_case("reprogram", names[mode], &b[mode], OP_LINUX, N_LINUX,
			 MSIX_TABLE_GPA(0));
	}
	run_cases();
	for (mode = 0; mode < 3; mode++)
		bench_free(&b[mode]);
}

struct fire_ctx {
	int fd;
	uint32_t *count;	/* the guest's counter, through its HVA */
	uint32_t n;
	double ns;
};

/* Ping-pong: fire, wait for the guest's handler to count it, repeat. */
static void *fire_thread(void *arg)
{
	struct fire_ctx *c = arg;
	uint64_t one = 1;
	double t0 = now_ns();
	uint32_t i;

	for (i = 1; i <= c->n; i++) {
		double start = now_ns();

		TEST_ASSERT_EQ(write(c->fd, &one, 8), 8);
		while (READ_ONCE(*c->count) < i) {
			sched_yield();
			TEST_ASSERT(now_ns() - start < 10e9,
				    "interrupt %u not seen in 10 s (count %u)",
				    i, READ_ONCE(*c->count));
		}
	}
	c->ns = (now_ns() - t0) / c->n;
	return NULL;
}

/* 6: delivery through a bound entry vs the same irqfd unbound. */
static void bench_irq(void)
{
	struct kvm_msix_entry_irq bind = { .table_id = 1, .entry = 0, .gsi = GSI };
	struct kvm_msix_table_ctrl ctrl = { .id = 1, .flags = KVM_MSIX_CTRL_ENABLE };
	struct kvm_irqfd irqfd = { .gsi = GSI };
	double t[REPS];
	struct bench b;
	int bound, i;

	for (bound = 0; bound < 2; bound++) {
		bench_create(&b, 64, 0, true);
		b.s.table[3] = 0;	/* entry 0 unmasked */
		irqfd.fd = eventfd(0, 0);
		vm_ioctl(b.vm, KVM_IRQFD, &irqfd);
		vm_ioctl(b.vm, KVM_SET_MSIX_TABLE_CTRL, &ctrl);
		if (bound)
			vm_ioctl(b.vm, KVM_SET_MSIX_ENTRY_IRQ, &bind);
		for (i = 0; i < REPS; i++) {
			uint32_t *count = addr_gva2hva(b.vm, (vm_vaddr_t)&irq_count);
			struct fire_ctx c = { .fd = irqfd.fd, .count = count,
					      .n = N_IRQ };
			pthread_t th;

			WRITE_ONCE(*count, 0);
			set_cmd(&b, OP_WAIT_IRQ, N_IRQ, 0);
			pthread_create(&th, NULL, fire_thread, &c);
			run_to_sync(&b, &(uint64_t){0});
			pthread_join(th, NULL);
			t[i] = c.ns;
		}
		qsort(t, REPS, sizeof(t[0]), cmp_double);
		record("irq", bound ? "irqfd -> guest handler, bound entry" :
				      "irqfd -> guest handler, unbound",
		       t[REPS / 2], 0);
		close(irqfd.fd);
		bench_free(&b);
	}
}

/*
 * 6b: the gate itself: KVM_IRQ_LINE decides synchronously, so time the
 * ioctl on a bound GSI and on the same GSI unbound (an unmasked entry).
 */
static void bench_irq_line(void)
{
	struct kvm_msix_entry_irq bind = { .table_id = 1, .entry = 0, .gsi = GSI };
	struct kvm_msix_table_ctrl ctrl = { .id = 1, .flags = KVM_MSIX_CTRL_ENABLE };
	double t[2][REPS], t0;
	struct bench b;
	int bound, r, i;

	bench_create(&b, 64, 0, true);
	b.s.table[3] = 0;
	vm_ioctl(b.vm, KVM_SET_MSIX_TABLE_CTRL, &ctrl);
	for (r = 0; r < REPS; r++) {
		for (bound = 0; bound < 2; bound++) {
			bind.flags = bound ? 0 : KVM_MSIX_ENTRY_IRQ_UNBIND;
			bind.gsi = bound ? GSI : 0;
			if (bound || r)
				vm_ioctl(b.vm, KVM_SET_MSIX_ENTRY_IRQ, &bind);
			t0 = now_ns();
			for (i = 0; i < N_LINE; i++)
				kvm_irq_line(b.vm, GSI, 1);
			t[bound][r] = (now_ns() - t0) / N_LINE;
		}
	}
	for (bound = 0; bound < 2; bound++) {
		qsort(t[bound], REPS, sizeof(double), cmp_double);
		record("irq", bound ? "KVM_IRQ_LINE, bound entry (gate)" :
				      "KVM_IRQ_LINE, unbound",
		       t[bound][REPS / 2], 0);
	}
	bench_free(&b);
}

/*
 * 7: cost per access with many tables, and with a big one.  All in one VM,
 * so that nothing but the number of tables differs between the cases: a
 * 64-entry table and a 2048-entry table stay defined, and each round adds
 * 14, then 254 more tables around them and removes them again.
 */
static void set_extra_tables(struct bench *b, struct msix_shadow *extra,
			     uint32_t *have, uint32_t want)
{
	struct kvm_msix_table t;
	uint32_t id;

	for (; *have < want; (*have)++) {
		t = msix_table_of(extra);
		t.id = 1000 + *have;
		t.table_gpa = (*have & 1 ? MSIX_GPA_BASE - 0x2000000ull :
				MSIX_GPA_BASE + 0x4000000ull) + *have * 0x2000;
		t.pba_gpa = t.table_gpa + 0x1000;
		vm_ioctl(b->vm, KVM_DEFINE_MSIX_TABLE, &t);
	}
	for (; *have > want; (*have)--) {
		id = 1000 + *have - 1;
		vm_ioctl(b->vm, KVM_REMOVE_MSIX_TABLE, &id);
	}
}

static void bench_scaling(void)
{
	static const uint32_t extras[] = { 0, 14, 254 };
	static const char * const names[] = {
		"mask/unmask, 2 tables (64 + 2048 entries)",
		"mask/unmask, 16 tables", "mask/unmask, 256 tables",
		"mask/unmask, entry 1000 of 2048, 2 tables",
		"mask/unmask, 2 tables (control: same again)",
	};
	uint64_t big_ctrl = MSIX_TABLE_GPA(1) + 1000 * MSIX_ENTRY_SIZE +
			    MSIX_CTRL_OFF;
	double t[5][REPS];
	struct msix_shadow extra, big;
	uint32_t have = 0;
	uint64_t exits = 0;
	struct bench b;
	int k, r;

	bench_create(&b, 64, 0, true);
	msix_shadow_init(&big, 2, 2048, MSIX_TABLE_GPA(1), MSIX_PBA_GPA(1));
	msix_map(b.vm, &big);
	msix_define(b.vm, &big);
	msix_shadow_init(&extra, 0, 64, 0, 0);

	for (r = 0; r < REPS; r++) {
		/* The first sample of a round runs slow; throw one away. */
		sample(&b, OP_WRITE, N_ACCESS / 4, CTRL0, &exits);
		for (k = 0; k < 3; k++) {
			set_extra_tables(&b, &extra, &have, extras[k]);
			t[k][r] = sample(&b, OP_WRITE, N_ACCESS, CTRL0, &exits);
			if (!k)
				t[3][r] = sample(&b, OP_WRITE, N_ACCESS, big_ctrl,
						 &exits);
		}
		set_extra_tables(&b, &extra, &have, 0);
		t[4][r] = sample(&b, OP_WRITE, N_ACCESS, CTRL0, &exits);
	}
	TEST_ASSERT_EQ(exits, 0);
	for (k = 0; k < 5; k++) {
		qsort(t[k], REPS, sizeof(double), cmp_double);
		record("scaling", names[k], t[k][REPS / 2], 0);
	}
	bench_free(&b);
}

/* Bytes in all slab caches, from /proc/slabinfo (active objects x size). */
static long slab_bytes(void)
{
	char line[512], name[64];
	long total = 0, active, num, size;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num, &size) == 4)
			total += active * size;
	fclose(f);
	return total;
}

/*
 * 8: kernel memory per table: slab growth over 256 defines, after letting
 * RCU frees of earlier VMs settle; median of 3 trials.
 */
static void bench_memory(void)
{
	static const uint32_t sizes[] = { 64, 2048 };
	struct kvm_msix_table t;
	struct msix_shadow s;
	struct kvm_vm *vm;
	double per[3];
	long before;
	uint32_t i;
	int k, trial;

	for (k = 0; k < 2; k++) {
		msix_shadow_init(&s, 0, sizes[k], 0, 0);
		for (trial = 0; trial < 3; trial++) {
			vm = vm_create_barebones();
			t = msix_table_of(&s);
			sleep(1);
			before = slab_bytes();
			for (i = 0; i < 256; i++) {
				t.id = i;
				t.table_gpa = MSIX_GPA_BASE + i * 0x10000ull;
				t.pba_gpa = t.table_gpa + 0x8000;
				vm_ioctl(vm, KVM_DEFINE_MSIX_TABLE, &t);
			}
			per[trial] = before < 0 ? -1 :
				     (slab_bytes() - before) / 256.0;
			kvm_vm_free(vm);
		}
		qsort(per, 3, sizeof(per[0]), cmp_double);
		record("memory", sizes[k] == 64 ? "kernel bytes per 64-entry table" :
						  "kernel bytes per 2048-entry table",
		       per[1], 0);
	}
}

static const struct result *find(const char *name)
{
	static const struct result none = { .ns = -1, .exits = -1 };
	int i;

	for (i = 0; i < nr_results; i++)
		if (!strcmp(results[i].name, name))
			return &results[i];
	return &none;
}

static double ns_of(const char *name)
{
	return find(name)->ns;
}

static double exits_of(const char *name)
{
	return find(name)->exits;
}

/*
 * A register on an assigned device's trapped MSI-X page (NVMe VS at 0x8 and
 * AQA at 0x24 of QEMU's nvme, BAR0; a 64K window covers all of it, as the
 * table page does on a 64K-page host): in-kernel passthrough, a userspace
 * exit served with pread/pwrite on the vfio device (QEMU's way), and the
 * same BAR mapped straight into the guest by a memslot (no trap at all).
 * All three map one BAR of one device into one VM, measured interleaved.
 */
#define DEV_WINDOW_GPA	0xd0000000ull
#define DEV_DIRECT_GPA	0xd0100000ull
#define DEV_EXIT_GPA	0xd0200000ull
#define NVME_VS		0x8
#define NVME_AQA	0x24

static void bench_passthrough(void)
{
	struct msix_vfio_vm_cfg vm_cfg = {
		.slot_base = 100, .nr_slots = 8, .gsi_base = 200, .nr_gsis = 128,
	};
	struct msix_vfio_dev_cfg dev_cfg = { .window_align = 0x10000 };
	struct msix_vfio_vm mv;
	struct msix_vfio_dev dev;
	struct bench b;
	char bdf[32];
	uint64_t len;
	int r;

	if (msix_vfio_find(0x1b36, 0x0010, bdf, sizeof(bdf))) {
		printf("%-10s %-50s (no nvme on vfio-pci: run-vm.sh --vfio)\n",
		       "passthru", "skipped");
		return;
	}
	/* The library numbers the VM's tables: define none of our own. */
	bench_create(&b, 64, 0, false);
	TEST_ASSERT_EQ(msix_vfio_vm_init(&mv, b.vm->fd, &vm_cfg), 0);
	r = msix_vfio_open(&mv, bdf, &dev_cfg, &dev);
	TEST_ASSERT(!r, "msix_vfio_open(%s): %s", bdf, strerror(-r));
	TEST_ASSERT_EQ(msix_vfio_map_bar(&dev, 0, DEV_WINDOW_GPA), 0);
	TEST_ASSERT(dev.passthrough && dev.bar[0].map, "no window over BAR0");
	len = dev.bar[0].size;
	/* A second view of the same mapping, not trapped at all. */
	vm_set_user_memory_region(b.vm, 120, 0, DEV_DIRECT_GPA, len,
				  dev.bar[0].map);
	virt_map(b.vm, DEV_WINDOW_GPA, DEV_WINDOW_GPA, len / 4096);
	virt_map(b.vm, DEV_DIRECT_GPA, DEV_DIRECT_GPA, len / 4096);
	virt_map(b.vm, DEV_EXIT_GPA, DEV_EXIT_GPA, len / 4096);
	b.dev = &dev;
	b.dev_gpa = DEV_EXIT_GPA;
	b.dev_len = len;

	add_case("passthru", "register read, in-kernel window", &b, OP_READ, N_ACCESS, DEV_WINDOW_GPA + NVME_VS);
	add_case("passthru", "register read, userspace exit + pread", &b, OP_READ, N_ACCESS, DEV_EXIT_GPA + NVME_VS);
	add_case("passthru", "register read, directly mapped", &b, OP_READ, N_ACCESS, DEV_DIRECT_GPA + NVME_VS);
	add_case("passthru", "register write, in-kernel window", &b, OP_WRITE, N_ACCESS, DEV_WINDOW_GPA + NVME_AQA);
	add_case("passthru", "register write, userspace exit + pwrite", &b, OP_WRITE, N_ACCESS, DEV_EXIT_GPA + NVME_AQA);
	add_case("passthru", "register write, directly mapped", &b, OP_WRITE, N_ACCESS, DEV_DIRECT_GPA + NVME_AQA);
	run_cases();

	bench_free(&b);
	msix_vfio_close(&dev);
	msix_vfio_vm_release(&mv);
}

static void ratio(const char *what, double r, const char *target)
{
	printf("%-58s %8.3f   %s\n", what, r, target);
}

static bool want(int argc, char **argv, const char *group)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], group))
			return true;
	return argc < 2;
}

int main(int argc, char **argv)
{
	double maxs, mins;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	printf("%-10s %-50s %16s %12s\n", "group", "scenario", "median/op",
	       "exits/op");
	if (want(argc, argv, "access"))
		bench_accesses();
	if (want(argc, argv, "reprogram"))
		bench_linux();
	if (want(argc, argv, "irq")) {
		bench_irq_line();
		bench_irq();
	}
	if (want(argc, argv, "scaling"))
		bench_scaling();
	if (want(argc, argv, "memory"))
		bench_memory();
	if (want(argc, argv, "passthrough"))
		bench_passthrough();

	printf("\nratios (same run)                                          value    target\n");
	ratio("in-kernel mask write / ioeventfd write (floor)",
	      ns_of("mask/unmask, in-kernel table") / ns_of("floor: ioeventfd write"),
	      "<= 1.15");
	ratio("userspace mask write / in-kernel mask write (headline)",
	      ns_of("mask/unmask, userspace table") / ns_of("mask/unmask, in-kernel table"),
	      "report");
	ratio("in-kernel table read / in-kernel LAPIC read (floor)",
	      ns_of("table read, in-kernel") / ns_of("floor: in-kernel LAPIC read (xAPIC ID)"),
	      "report");
	ratio("userspace table read / in-kernel table read",
	      ns_of("table read, userspace") / ns_of("table read, in-kernel"), "report");
	ratio("userspace PBA read / in-kernel PBA read",
	      ns_of("PBA read (QWORD), userspace") / ns_of("PBA read (QWORD), in-kernel"),
	      "report");
	ratio("Linux reprogram exits: in-kernel",
	      exits_of("Linux reprogram, in-kernel"), "< 6");
	ratio("Linux reprogram exits: in-kernel deferred",
	      exits_of("Linux reprogram, in-kernel deferred"), "< 6");
	ratio("Linux reprogram exits: userspace",
	      exits_of("Linux reprogram, userspace"), "6 (reference)");
	ratio("Linux reprogram time: userspace / in-kernel deferred",
	      ns_of("Linux reprogram, userspace") / ns_of("Linux reprogram, in-kernel deferred"),
	      "report");
	ratio("irqfd latency: bound / unbound (gate overhead)",
	      ns_of("irqfd -> guest handler, bound entry") /
	      ns_of("irqfd -> guest handler, unbound"), "<= 1.05");
	ratio("KVM_IRQ_LINE: bound / unbound (gate cost alone)",
	      ns_of("KVM_IRQ_LINE, bound entry (gate)") /
	      ns_of("KVM_IRQ_LINE, unbound"), "report");
	maxs = mins = ns_of("mask/unmask, 2 tables (64 + 2048 entries)");
	for (i = 0; i < nr_results; i++) {
		if (strcmp(results[i].group, "scaling") ||
		    strstr(results[i].name, "control"))
			continue;
		maxs = results[i].ns > maxs ? results[i].ns : maxs;
		mins = results[i].ns < mins ? results[i].ns : mins;
	}
	ratio("scaling: slowest / fastest of 1-256 tables, 64-2048 entries",
	      maxs / mins, "<= 1.10");
	ratio("noise floor: the same case measured twice",
	      ns_of("mask/unmask, 2 tables (control: same again)") /
	      ns_of("mask/unmask, 2 tables (64 + 2048 entries)"), "(reference)");
	ratio("kernel bytes per table (64 entries)",
	      ns_of("kernel bytes per 64-entry table"), "<= 1024");
	ratio("kernel bytes per table (2048 entries)",
	      ns_of("kernel bytes per 2048-entry table"), "<= 1024");

	if (find("register read, in-kernel window")->ns >= 0) {
		ratio("trapped-page register read: exit + pread / in-kernel window",
		      ns_of("register read, userspace exit + pread") /
		      ns_of("register read, in-kernel window"), "report");
		ratio("trapped-page register read: in-kernel window / direct map",
		      ns_of("register read, in-kernel window") /
		      ns_of("register read, directly mapped"), "report");
		ratio("trapped-page register write: exit + pwrite / in-kernel window",
		      ns_of("register write, userspace exit + pwrite") /
		      ns_of("register write, in-kernel window"), "report");
		ratio("trapped-page register write: in-kernel window / direct map",
		      ns_of("register write, in-kernel window") /
		      ns_of("register write, directly mapped"), "report");
		ratio("trapped-page register exits per access: window, exit",
		      exits_of("register read, in-kernel window") +
		      exits_of("register write, in-kernel window"), "0");
	}

	printf("BENCH-JSON-BEGIN\n[\n");
	for (i = 0; i < nr_results; i++)
		printf("  {\"group\": \"%s\", \"scenario\": \"%s\", \"ns\": %.1f, \"exits\": %.3f}%s\n",
		       results[i].group, results[i].name, results[i].ns,
		       results[i].exits, i + 1 < nr_results ? "," : "");
	printf("]\nBENCH-JSON-END\n");
	return 0;
}
