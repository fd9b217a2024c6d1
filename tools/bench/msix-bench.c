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
 *
 * Issue 12 (interrupts through a bound GSI decided in the injector's atomic
 * context): workqueue executions of irqfd_inject() per 10,000 interrupts
 * (tracefs), and irqfd latency with a polling guest, one vCPU and four,
 * bound against unbound.  Every bound/unbound ratio comes with a control,
 * the unbound case measured twice, which gives that ratio's noise floor.
 *
 * usage: msix-bench [GROUP...] [same]; groups: access reprogram irq
 * scaling memory passthrough (all if none named).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
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
#define N_IRQ		200	/* ping-pongs per sample, one vCPU */
#define N_MQ		50	/* ping-pongs per sample and vCPU, 4 vCPUs */
#define N_COUNT		10000	/* interrupts per workqueue count */
#define MQ_VCPUS	4

#define RAM_GPA		0xb0000000ull
#define IOEVENTFD_GPA	0xb0100000ull
#define GSI		40
#define VEC		0x50
/* Issue 12: more GSIs next to GSI (bound to entry 0, unmasked). */
#define GSI_UNBOUND	41	/* the same message, no entry */
#define GSI_MASKED	42	/* bound to entry 1, masked */
#define GSI_PIN		5	/* an IOAPIC pin: always the workqueue */
#define GSI_MQ		48	/* 48-51 bound to entries 0-3, 52-55 unbound */
#define MQ_VEC		0x60	/* vCPU i takes MQ_VEC + i */

enum op { OP_NONE, OP_WRITE, OP_READ, OP_READQ, OP_LINUX, OP_WAIT_IRQ, OP_DONE };

/* The command the guest runs next; written by the host between syncs. */
static struct {
	uint32_t op;
	uint32_t n;
	uint64_t addr;
} cmd;
static uint32_t irq_count;
static uint64_t irq_tsc;	/* the TSC at the last counted handler entry */
static uint32_t irq_reinjected;
/*
 * An ioeventfd the handler writes once it counted an interrupt (0: none):
 * it wakes the host thread of a ping-pong, which then needs no timer.
 */
static uint64_t irq_notify;

#define XAPIC_ISR	0x100

/*
 * Whether the local APIC accepted the interrupt being handled.  Nested on
 * QEMU TCG, an event the guest already handled is at times injected again,
 * with its ISR bit clear: it never went through the APIC, the host did not
 * send it, and counting it would break the ping-pong.  One more read of
 * the (in-kernel) APIC per interrupt, the same on every path.
 */
static bool irq_accepted(uint64_t vector)
{
	return xapic_read_reg(XAPIC_ISR + 0x10 * (vector / 32)) &
	       (1u << (vector % 32));
}

static void irq_handler(struct ex_regs *regs)
{
	uint64_t tsc = rdtsc();

	if (irq_accepted(regs->vector)) {
		WRITE_ONCE(irq_tsc, tsc);
		WRITE_ONCE(irq_count, READ_ONCE(irq_count) + 1);
		if (irq_notify)
			WRITE_ONCE(*(uint32_t *)irq_notify, 1);
	} else {
		WRITE_ONCE(irq_reinjected, READ_ONCE(irq_reinjected) + 1);
	}
	xapic_write_reg(APIC_EOI, 0);
}

/* Poll with interrupts enabled, no HLT, until *count reaches n. */
static void wait_irqs(uint32_t *count, uint32_t n)
{
	asm volatile("sti");
	while (READ_ONCE(*count) < n)
		cpu_relax();
	asm volatile("cli");
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
			wait_irqs(&irq_count, n);
			break;
		case OP_DONE:
			GUEST_DONE();
		}
	}
}

/*
 * The guest of the multi-vCPU case: vCPU i polls its own counter, which
 * the handler of vector MQ_VEC + i increments (the vector tells the vCPU).
 */
static uint32_t mq_count[MQ_VCPUS];
static uint64_t mq_tsc[MQ_VCPUS];
static uint32_t mq_reinjected[MQ_VCPUS];

static void mq_irq_handler(struct ex_regs *regs)
{
	uint32_t i = regs->vector - MQ_VEC;
	uint64_t tsc = rdtsc();

	if (irq_accepted(regs->vector)) {
		WRITE_ONCE(mq_tsc[i], tsc);
		WRITE_ONCE(mq_count[i], READ_ONCE(mq_count[i]) + 1);
		WRITE_ONCE(*(uint32_t *)(irq_notify + 4 * i), 1);
	} else {
		WRITE_ONCE(mq_reinjected[i], READ_ONCE(mq_reinjected[i]) + 1);
	}
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_mq(uint32_t idx)
{
	xapic_enable();
	for (;;) {
		GUEST_SYNC(0);
		switch (READ_ONCE(cmd.op)) {
		case OP_WAIT_IRQ:
			wait_irqs(&mq_count[idx], READ_ONCE(cmd.n));
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

static void set_cmd_vm(struct kvm_vm *vm, uint32_t op, uint32_t n,
		       uint64_t addr)
{
	typeof(cmd) *c = addr_gva2hva(vm, (vm_vaddr_t)&cmd);

	WRITE_ONCE(c->op, op);
	WRITE_ONCE(c->n, n);
	WRITE_ONCE(c->addr, addr);
}

static void set_cmd(struct bench *b, uint32_t op, uint32_t n, uint64_t addr)
{
	set_cmd_vm(b->vm, op, n, addr);
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

static struct result results[96];
#define N_LINE		3000
static int nr_results;

static struct result *record(const char *group, const char *name, double ns,
			     double exits)
{
	struct result *r = &results[nr_results++];

	*r = (struct result){ .group = group, .name = name, .ns = ns,
			      .exits = exits };
	printf("%-10s %-50s %10.0f %-5s %6.2f exits\n", group, name, ns,
	       !strcmp(group, "memory") ? "bytes" :
	       !strcmp(group, "workqueue") ? "/10k" : "ns", exits);
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

/*
 * 6b and 10-12 (issue 12): interrupts through a GSI bound to an MSI-X entry
 * against the same message on an unbound GSI.
 */

/* Run the calling thread on @cpu (< 0: anywhere). */
static void pin_to(int cpu)
{
	cpu_set_t set;
	int i, n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	for (i = 0; i < n; i++)
		if (cpu < 0 || i == cpu % n)
			CPU_SET(i, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set),
		    "sched_setaffinity(%d): %s", cpu, strerror(errno));
}

/*
 * The figures of one ping-pong sample: the round trip (from the write()
 * until the host sees the handler's count, the mean over the sample: what
 * the host waits per interrupt) and the one-way latency (from the write()
 * to the handler's entry, on the TSC: the guest's less the offset KVM
 * gives it; the median over the sample, which a stray scheduler tick does
 * not move).
 */
enum { RT_MEAN, OW_MEDIAN, NR_FIGS };

struct fire_ctx {
	int fd;
	uint32_t *count;	/* the guest's counter, through its HVA */
	uint64_t *tsc;		/* its last counted handler entry */
	int64_t tsc_offset;	/* guest TSC - host TSC */
	int notify;		/* the ioeventfd the handler writes */
	uint32_t n;
	int cpu;		/* run on this CPU */
	double fig[NR_FIGS];
	uint32_t extra;		/* times the guest counted more than fired */
};

/*
 * Where the host thread of a ping-pong runs: on the CPU after its vCPU's
 * (default), or on the same one ("same" on the command line).  It blocks
 * on an ioeventfd that the guest's handler writes after counting, so that
 * it wakes as soon as the handler ran and needs no timer.  Under
 * single-threaded TCG (run-vm.sh's default) the alternatives were worse:
 * a host thread spinning with sched_yield() made every latency one tick
 * (4 ms: the other vCPU of the test VM runs only when this one halts or
 * takes an interrupt); polling with nanosleep() on the other CPU gave
 * figures where bound came out 30% faster than unbound; and any host
 * thread on the vCPU's own CPU froze the whole nested stack for 30-270 s
 * in about half the runs (the artefact tools/qemu/l1.sh retries for; the
 * soft lockup the kernel then reports fails the run).
 */
static int pin_split = 1;

/*
 * Ping-pong: fire, wait for the guest's handler to count it, repeat; n + 1
 * times.  The first interrupt also waits for the vCPU to enter the guest
 * and is not timed.
 */
static void *fire_thread(void *arg)
{
	struct fire_ctx *c = arg;
	double *ow = calloc(c->n, sizeof(double));
	uint64_t one = 1, tsc0 = 0, fired, v;
	double t0 = 0, start, ns_per_cycle;
	uint32_t i;

	TEST_ASSERT(ow, "calloc");
	pin_to(c->cpu);
	for (i = 0; i <= c->n; i++) {
		start = now_ns();
		if (i == 1) {
			t0 = start;
			tsc0 = rdtsc();
		}
		fired = rdtsc();
		TEST_ASSERT_EQ(write(c->fd, &one, 8), 8);
		while (READ_ONCE(*c->count) <= i) {
			struct pollfd pfd = { .fd = c->notify, .events = POLLIN };

			if (poll(&pfd, 1, 1000) == 1)
				TEST_ASSERT_EQ(read(c->notify, &v, 8), 8);
			TEST_ASSERT(now_ns() - start < 10e9,
				    "interrupt %u not seen in 10 s (count %u)",
				    i + 1, READ_ONCE(*c->count));
		}
		c->extra += READ_ONCE(*c->count) > i + 1;
		if (i)
			ow[i - 1] = (int64_t)(READ_ONCE(*c->tsc) -
					      c->tsc_offset - fired);
	}
	c->fig[RT_MEAN] = (now_ns() - t0) / c->n;
	ns_per_cycle = (now_ns() - t0) / (rdtsc() - tsc0);
	for (i = 0; i < c->n; i++)
		ow[i] *= ns_per_cycle;
	qsort(ow, c->n, sizeof(*ow), cmp_double);
	c->fig[OW_MEDIAN] = ow[c->n / 2];
	free(ow);
	return NULL;
}

/* The vCPU's TSC offset: guest TSC = host TSC + offset (no scaling here). */
static int64_t tsc_offset(struct kvm_vcpu *vcpu)
{
	uint64_t off;

	vcpu_device_attr_get(vcpu, KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, &off);
	return off;
}

/* MSI routes (addr != 0) and IOAPIC pins (addr == 0: pin = gsi). */
struct route {
	uint32_t gsi;
	uint64_t addr;
	uint32_t data;
};

static void set_routes(struct kvm_vm *vm, const struct route *r, int n)
{
	struct kvm_irq_routing *rt;
	struct kvm_irq_routing_entry *e;
	int i;

	rt = calloc(1, sizeof(*rt) + n * sizeof(rt->entries[0]));
	TEST_ASSERT(rt, "calloc");
	rt->nr = n;
	for (i = 0; i < n; i++) {
		e = &rt->entries[i];
		e->gsi = r[i].gsi;
		if (!r[i].addr) {
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
			e->u.irqchip.pin = r[i].gsi;
		} else {
			e->type = KVM_IRQ_ROUTING_MSI;
			e->u.msi.address_lo = r[i].addr;
			e->u.msi.address_hi = r[i].addr >> 32;
			e->u.msi.data = r[i].data;
		}
	}
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, rt);
	free(rt);
}

/*
 * The ioeventfds the guest's handlers write, at irq_notify + 4 * vCPU
 * index (on the page the ioeventfd floor of scenario 3 uses).
 */
#define NOTIFY_GPA	(IOEVENTFD_GPA + 0x100)

static int add_notify(struct kvm_vm *vm, uint32_t i)
{
	struct kvm_ioeventfd io = { .addr = NOTIFY_GPA + 4 * i, .len = 4,
				    .fd = eventfd(0, 0) };

	TEST_ASSERT(io.fd >= 0, "eventfd: %s", strerror(errno));
	vm_ioctl(vm, KVM_IOEVENTFD, &io);
	if (!i) {
		irq_notify = NOTIFY_GPA;
		sync_global_to_guest(vm, irq_notify);
		irq_notify = 0;
	}
	return io.fd;
}

static int add_irqfd(struct kvm_vm *vm, uint32_t gsi)
{
	struct kvm_irqfd irqfd = { .gsi = gsi, .fd = eventfd(0, 0) };

	TEST_ASSERT(irqfd.fd >= 0, "eventfd: %s", strerror(errno));
	vm_ioctl(vm, KVM_IRQFD, &irqfd);
	return irqfd.fd;
}

static void bind_entry(struct kvm_vm *vm, uint32_t entry, uint32_t gsi)
{
	struct kvm_msix_entry_irq bind = { .table_id = 1, .entry = entry,
					   .gsi = gsi };

	vm_ioctl(vm, KVM_SET_MSIX_ENTRY_IRQ, &bind);
}

static void enable_table(struct kvm_vm *vm)
{
	struct kvm_msix_table_ctrl ctrl = { .id = 1,
					    .flags = KVM_MSIX_CTRL_ENABLE };

	vm_ioctl(vm, KVM_SET_MSIX_TABLE_CTRL, &ctrl);
}

/*
 * Cases compared with each other, one sample of each per round and the
 * order rotated every round, so that each case sits in each position
 * equally often.  A sample may give several figures (fig_names[]); each
 * is recorded as "case: figure", the median over the rounds.
 */
static const char * const fig_names[NR_FIGS] = {
	[RT_MEAN] = "round trip", [OW_MEDIAN] = "one-way",
};

struct icase {
	const char *name;
	void (*sample)(void *arg, double *fig);
	void *arg;
	int nr_figs;		/* 0: one unnamed figure */
	double t[NR_FIGS][REPS];
};

/* The name a figure of a case was recorded under. */
static const char *fig_name(const char *name, int fig)
{
	static char buf[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s: %s", name, fig_names[fig]);
	return buf[k];
}

static void run_rotated(const char *group, struct icase *c, int n)
{
	double fig[NR_FIGS];
	int r, k, i, f;

	for (r = 0; r < REPS; r++)
		for (k = 0; k < n; k++) {
			i = (r + k) % n;
			c[i].sample(c[i].arg, fig);
			for (f = 0; f < NR_FIGS; f++)
				c[i].t[f][r] = fig[f];
		}
	for (f = 0; f < NR_FIGS; f++)
		for (i = 0; i < n; i++) {
			if (f >= (c[i].nr_figs ? c[i].nr_figs : 1))
				continue;
			qsort(c[i].t[f], REPS, sizeof(double), cmp_double);
			record(group, c[i].nr_figs ? strdup(fig_name(c[i].name, f)) :
				      c[i].name, c[i].t[f][REPS / 2], 0);
		}
}

/*
 * Workqueue executions of irqfd_inject(), counted by the tracepoint
 * workqueue/workqueue_execute_start in a trace instance of our own,
 * filtered on the work function.
 */
#define WQ_EVENT	"events/workqueue/workqueue_execute_start"
static char tr_inst[160];	/* "" when tracing is unavailable */

static int tr_write(const char *file, const char *val)
{
	char path[256];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", tr_inst, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (*val && write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* @sym of module @mod from /proc/kallsyms; 0 if absent or hidden. */
static unsigned long kallsyms_addr(const char *sym, const char *mod)
{
	char line[512], name[256], m[64];
	unsigned long a, found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");
	char t;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %c %255s [%63[^]]]", &a, &t, name, m) == 4 &&
		    !strcmp(name, sym) && !strcmp(m, mod))
			found = a;
	fclose(f);
	return found;
}

static bool trace_setup(void)
{
	static const char * const roots[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char f[3][96];
	unsigned long a = kallsyms_addr("irqfd_inject", "kvm");
	int i, r, nf = 0;

	for (i = 0; i < 2; i++) {
		snprintf(tr_inst, sizeof(tr_inst), "%s/instances", roots[i]);
		if (!access(tr_inst, F_OK))
			break;
	}
	if (i == 2) {
		tr_inst[0] = 0;
		printf("%-10s %-50s (no tracefs)\n", "workqueue", "skipped");
		return false;
	}
	strcat(tr_inst, "/msix-bench");
	if (mkdir(tr_inst, 0755) && errno != EEXIST) {
		printf("%-10s %-50s (mkdir %s: %s)\n", "workqueue", "skipped",
		       tr_inst, strerror(errno));
		tr_inst[0] = 0;
		return false;
	}
	tr_write("tracing_on", "0");
	tr_write("buffer_size_kb", "4096");
	/*
	 * By name, kvm's own (xen's privcmd has a static irqfd_inject too),
	 * then by the address /proc/kallsyms gives.
	 */
	snprintf(f[nf++], sizeof(f[0]), "function.function == kvm:irqfd_inject");
	if (a) {
		snprintf(f[nf++], sizeof(f[0]), "function.function == 0x%lx", a);
		snprintf(f[nf++], sizeof(f[0]), "function == 0x%lx", a);
	}
	for (i = 0; i < nf; i++) {
		r = tr_write(WQ_EVENT "/filter", f[i]);
		printf("# workqueue filter '%s': %s\n", f[i], r ? strerror(-r) : "accepted");
		if (!r)
			break;
	}
	if (i == nf || tr_write(WQ_EVENT "/enable", "1")) {
		printf("%-10s %-50s (no filter took)\n", "workqueue", "skipped");
		rmdir(tr_inst);
		tr_inst[0] = 0;
		return false;
	}
	printf("# irqfd_inject at 0x%lx (/proc/kallsyms)\n", a);
	fflush(stdout);
	return true;
}

static void trace_start(void)
{
	tr_write("trace", "");
	tr_write("tracing_on", "1");
}

/*
 * Events written since trace_start(): the header's "entries-written"
 * (which counts overwritten ones too), checked against the lines.
 */
static long trace_stop(void)
{
	char path[256], line[512];
	long in_buf = -1, written = -1, lines = 0;
	FILE *f;

	tr_write("tracing_on", "0");
	snprintf(path, sizeof(path), "%s/trace", tr_inst);
	f = fopen(path, "r");
	TEST_ASSERT(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			sscanf(line, "# entries-in-buffer/entries-written: %ld/%ld",
			       &in_buf, &written);
		else if (strstr(line, "workqueue_execute_start"))
			lines++;
	}
	fclose(f);
	TEST_ASSERT(written >= 0 && in_buf == lines,
		    "trace header %ld/%ld, %ld lines", in_buf, written, lines);
	return written;
}

static void trace_teardown(void)
{
	tr_write(WQ_EVENT "/enable", "0");
	tr_write(WQ_EVENT "/filter", "0");
	rmdir(tr_inst);
	tr_inst[0] = 0;
}

/* Fire an irqfd on a masked entry @n times, each once its Pending bit is seen. */
static void fire_masked(struct bench *b, int fd, uint32_t entry, uint32_t n)
{
	uint64_t *pba = &b->s.pba[entry / 64], bit = 1ull << (entry % 64);
	uint64_t one = 1;
	uint32_t i;

	for (i = 0; i < n; i++) {
		double start = now_ns();

		TEST_ASSERT_EQ(write(fd, &one, 8), 8);
		while (!(__atomic_load_n(pba, __ATOMIC_ACQUIRE) & bit)) {
			sched_yield();
			TEST_ASSERT(now_ns() - start < 10e9,
				    "Pending bit of interrupt %u not set in 10 s", i);
		}
		__atomic_fetch_and(pba, ~bit, __ATOMIC_SEQ_CST);
	}
}

struct irq_arg {
	struct bench *b;
	int fd;
	int notify;
	uint32_t n;
	uint32_t extra;
};

/* One sample: the guest polls, the host ping-pongs n interrupts. */
static void irq_sample(void *arg, double *fig)
{
	struct irq_arg *a = arg;
	struct fire_ctx c = {
		.fd = a->fd, .notify = a->notify, .n = a->n, .cpu = pin_split,
		.count = addr_gva2hva(a->b->vm, (vm_vaddr_t)&irq_count),
		.tsc = addr_gva2hva(a->b->vm, (vm_vaddr_t)&irq_tsc),
		.tsc_offset = tsc_offset(a->b->vcpu),
	};
	pthread_t th;

	WRITE_ONCE(*c.count, 0);
	set_cmd(a->b, OP_WAIT_IRQ, a->n + 1, 0);
	pin_to(0);
	pthread_create(&th, NULL, fire_thread, &c);
	run_to_sync(a->b, &(uint64_t){0});
	pthread_join(th, NULL);
	pin_to(-1);
	if (tsc_offset(a->b->vcpu) != c.tsc_offset)
		printf("# the TSC offset moved during a sample: its one-way "
		       "figure is off\n");
	a->extra += c.extra;
	memcpy(fig, c.fig, sizeof(c.fig));
}

static void record_count(const char *name, long n, uint32_t fired)
{
	record("workqueue", name, n * 10000.0 / fired, 0);
}

/*
 * One VM, one table: entry 0 unmasked and bound to GSI, entry 1 masked and
 * bound to GSI_MASKED; GSI_UNBOUND sends entry 0's message with no entry,
 * GSI_PIN is an IOAPIC pin.  Each has an irqfd.
 *
 * 10: workqueue executions of irqfd_inject() per 10,000 interrupts, each
 * interrupt fired once the previous one took effect (Pending bit set, or
 * the guest's handler ran), so that no two can share one execution.  The
 * IOAPIC pin always takes the workqueue: a count above 0 there shows that
 * the filter matches the function.
 *
 * 11 (was 6): irqfd latency, bound against unbound, the guest polling with
 * interrupts enabled (no HLT); the unbound case is measured twice, the
 * second time as a control of the ratio's noise.
 */
static void bench_irq(void)
{
	static const struct route routes[] = {
		{ GSI, 0xfee00000, VEC }, { GSI_UNBOUND, 0xfee00000, VEC },
		{ GSI_MASKED, 0xfee00000, VEC }, { GSI_PIN, 0, 0 },
	};
	struct bench b;
	int fd_b, fd_u, fd_m, fd_pin, notify;
	uint32_t i;

	bench_create(&b, 64, 0, true);
	notify = add_notify(b.vm, 0);
	b.s.table[3] = 0;	/* entry 0 unmasked, entry 1 masked */
	set_routes(b.vm, routes, ARRAY_SIZE(routes));
	fd_b = add_irqfd(b.vm, GSI);
	fd_u = add_irqfd(b.vm, GSI_UNBOUND);
	fd_m = add_irqfd(b.vm, GSI_MASKED);
	fd_pin = add_irqfd(b.vm, GSI_PIN);
	enable_table(b.vm);
	bind_entry(b.vm, 0, GSI);
	bind_entry(b.vm, 1, GSI_MASKED);

	if (trace_setup()) {
		struct irq_arg bound = { &b, fd_b, notify, N_COUNT - 1 };
		struct irq_arg unbound = { &b, fd_u, notify, N_COUNT - 1 };
		double t0 = now_ns(), fig[NR_FIGS];

		trace_start();
		fire_masked(&b, fd_m, 1, N_COUNT);
		record_count("irqfd, bound entry, masked (to Pending bit)",
			     trace_stop(), N_COUNT);
		trace_start();
		irq_sample(&bound, fig);
		record_count("irqfd, bound entry, unmasked (delivered)",
			     trace_stop(), N_COUNT);
		trace_start();
		irq_sample(&unbound, fig);
		record_count("irqfd, unbound (control)", trace_stop(), N_COUNT);
		/* Spaced, so that few if any share an execution. */
		trace_start();
		for (i = 0; i < 200; i++) {
			TEST_ASSERT_EQ(write(fd_pin, &(uint64_t){1}, 8), 8);
			usleep(2000);
		}
		record_count("irqfd, IOAPIC pin (filter check)", trace_stop(), 200);
		trace_teardown();
		printf("# workqueue counts: %.1f s; guest counted more than fired: "
		       "%u bound, %u unbound\n", (now_ns() - t0) / 1e9,
		       bound.extra, unbound.extra);
	}

	{
		struct irq_arg a[] = {
			{ &b, fd_u, notify, N_IRQ }, { &b, fd_b, notify, N_IRQ },
			{ &b, fd_u, notify, N_IRQ },
		};
		struct icase c[] = {
			{ "irqfd 1 vCPU, unbound", irq_sample, &a[0], NR_FIGS },
			{ "irqfd 1 vCPU, bound", irq_sample, &a[1], NR_FIGS },
			{ "irqfd 1 vCPU, unbound again", irq_sample, &a[2], NR_FIGS },
		};

		run_rotated("irq", c, ARRAY_SIZE(c));
		for (i = 0; i < ARRAY_SIZE(a); i++)
			if (a[i].extra)
				printf("# %s: the guest counted more than fired %u times\n",
				       c[i].name, a[i].extra);
	}
	printf("# 1 vCPU: %u handler entries with the ISR bit clear (re-injected), "
	       "not counted\n",
	       *(uint32_t *)addr_gva2hva(b.vm, (vm_vaddr_t)&irq_reinjected));
	close(fd_b);
	close(fd_u);
	close(fd_m);
	close(fd_pin);
	close(notify);
	bench_free(&b);
}

/*
 * 12: the same with 4 vCPUs, each polling its own counter, on 4 entries of
 * one table (entry i sends vector MQ_VEC + i to APIC ID i), each entry's
 * irqfd fired by its own host thread; against 4 unbound GSIs with the same
 * messages.  A sample's figures are the means of the 4 threads'.
 */
struct mq_bench {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu[MQ_VCPUS];
	struct msix_shadow s;
	int fd[2][MQ_VCPUS];	/* bound, unbound */
	int notify[MQ_VCPUS];
};

struct mq_arg {
	struct mq_bench *m;
	int set;
	uint32_t extra;
};

static void *mq_vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	pin_to(vcpu->id);
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("vCPU %u: unexpected exit %s", vcpu->id,
			  exit_reason_str(vcpu->run->exit_reason));
	}
	return NULL;
}

static void mq_sample(void *arg, double *fig)
{
	struct mq_arg *a = arg;
	struct mq_bench *m = a->m;
	struct fire_ctx c[MQ_VCPUS];
	pthread_t vt[MQ_VCPUS], ft[MQ_VCPUS];
	int i, f;

	set_cmd_vm(m->vm, OP_WAIT_IRQ, N_MQ + 1, 0);
	for (i = 0; i < MQ_VCPUS; i++) {
		c[i] = (struct fire_ctx){
			.fd = m->fd[a->set][i], .notify = m->notify[i], .n = N_MQ,
			.cpu = i + pin_split,
			.count = addr_gva2hva(m->vm, (vm_vaddr_t)&mq_count[i]),
			.tsc = addr_gva2hva(m->vm, (vm_vaddr_t)&mq_tsc[i]),
			.tsc_offset = tsc_offset(m->vcpu[i]),
		};
		WRITE_ONCE(*c[i].count, 0);
	}
	for (i = 0; i < MQ_VCPUS; i++)
		pthread_create(&vt[i], NULL, mq_vcpu_thread, m->vcpu[i]);
	for (i = 0; i < MQ_VCPUS; i++)
		pthread_create(&ft[i], NULL, fire_thread, &c[i]);
	for (f = 0; f < NR_FIGS; f++)
		fig[f] = 0;
	for (i = 0; i < MQ_VCPUS; i++) {
		pthread_join(ft[i], NULL);
		pthread_join(vt[i], NULL);
		if (tsc_offset(m->vcpu[i]) != c[i].tsc_offset)
			printf("# vCPU %d's TSC offset moved during a sample: "
			       "its one-way figure is off\n", i);
		for (f = 0; f < NR_FIGS; f++)
			fig[f] += c[i].fig[f] / MQ_VCPUS;
		a->extra += c[i].extra;
	}
}

static void bench_irq_mq(void)
{
	struct route routes[2 * MQ_VCPUS];
	struct mq_bench m;
	struct mq_arg a[] = { { &m, 1 }, { &m, 0 }, { &m, 1 } };
	struct icase c[] = {
		{ "irqfd 4 vCPUs, unbound", mq_sample, &a[0], NR_FIGS },
		{ "irqfd 4 vCPUs, bound", mq_sample, &a[1], NR_FIGS },
		{ "irqfd 4 vCPUs, unbound again", mq_sample, &a[2], NR_FIGS },
	};
	uint32_t reinjected = 0;
	uint64_t addr;
	int i;

	m.vm = vm_create_with_vcpus(MQ_VCPUS, guest_mq, m.vcpu);
	virt_map(m.vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA, 1);
	virt_map(m.vm, IOEVENTFD_GPA, IOEVENTFD_GPA, 1);
	msix_shadow_init(&m.s, 1, MQ_VCPUS, MSIX_TABLE_GPA(0), MSIX_PBA_GPA(0));
	for (i = 0; i < MQ_VCPUS; i++) {
		addr = 0xfee00000 | i << 12;	/* physical, APIC ID i */
		vm_install_exception_handler(m.vm, MQ_VEC + i, mq_irq_handler);
		vcpu_args_set(m.vcpu[i], 1, i);
		m.s.table[i * 4] = addr;
		m.s.table[i * 4 + 2] = MQ_VEC + i;
		m.s.table[i * 4 + 3] = 0;
		routes[i] = (struct route){ GSI_MQ + i, addr, MQ_VEC + i };
		routes[MQ_VCPUS + i] = (struct route){ GSI_MQ + MQ_VCPUS + i,
						       addr, MQ_VEC + i };
	}
	msix_define(m.vm, &m.s);
	set_routes(m.vm, routes, ARRAY_SIZE(routes));
	enable_table(m.vm);
	for (i = 0; i < MQ_VCPUS; i++) {
		m.fd[0][i] = add_irqfd(m.vm, GSI_MQ + i);
		bind_entry(m.vm, i, GSI_MQ + i);
		m.fd[1][i] = add_irqfd(m.vm, GSI_MQ + MQ_VCPUS + i);
		m.notify[i] = add_notify(m.vm, i);
		mq_vcpu_thread(m.vcpu[i]);	/* to the first sync */
	}
	pin_to(-1);
	run_rotated("irq", c, ARRAY_SIZE(c));
	for (i = 0; i < (int)ARRAY_SIZE(a); i++)
		if (a[i].extra)
			printf("# %s: the guest counted more than fired %u times\n",
			       c[i].name, a[i].extra);
	for (i = 0; i < MQ_VCPUS; i++) {
		reinjected += *(uint32_t *)addr_gva2hva(m.vm,
					(vm_vaddr_t)&mq_reinjected[i]);
		close(m.fd[0][i]);
		close(m.fd[1][i]);
		close(m.notify[i]);
	}
	printf("# 4 vCPUs: %u handler entries with the ISR bit clear "
	       "(re-injected), not counted\n", reinjected);
	kvm_vm_free(m.vm);
}

/*
 * 6b: the gate itself: KVM_IRQ_LINE decides synchronously, so time
 * the ioctl on the bound GSI and on an unbound GSI with the same message
 * (an unmasked entry); the unbound GSI twice, as the control.
 */
struct line_arg {
	struct kvm_vm *vm;
	uint32_t gsi;
};

static void line_sample(void *arg, double *fig)
{
	struct line_arg *a = arg;
	double t0 = now_ns();
	int i;

	for (i = 0; i < N_LINE; i++)
		kvm_irq_line(a->vm, a->gsi, 1);
	fig[0] = (now_ns() - t0) / N_LINE;
}

static void bench_irq_line(void)
{
	static const struct route routes[] = {
		{ GSI, 0xfee00000, VEC }, { GSI_UNBOUND, 0xfee00000, VEC },
	};
	struct bench b;
	struct line_arg a[] = {
		{ NULL, GSI_UNBOUND }, { NULL, GSI }, { NULL, GSI_UNBOUND },
	};
	struct icase c[] = {
		{ "KVM_IRQ_LINE, unbound", line_sample, &a[0] },
		{ "KVM_IRQ_LINE, bound entry (gate)", line_sample, &a[1] },
		{ "KVM_IRQ_LINE, unbound (control: again)", line_sample, &a[2] },
	};
	int i;

	bench_create(&b, 64, 0, true);
	b.s.table[3] = 0;
	set_routes(b.vm, routes, ARRAY_SIZE(routes));
	enable_table(b.vm);
	bind_entry(b.vm, 0, GSI);
	for (i = 0; i < (int)ARRAY_SIZE(a); i++)
		a[i].vm = b.vm;
	run_rotated("irq", c, ARRAY_SIZE(c));
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

/* ns_of(a) / ns_of(b), or -1 if either was not measured. */
static double ratio_of(const char *a, const char *b)
{
	return ns_of(a) < 0 || ns_of(b) <= 0 ? -1 : ns_of(a) / ns_of(b);
}

static void count(const char *what, double n, const char *target)
{
	printf("%-58s %8.0f   %s\n", what, n, target);
}

/*
 * A "<= target" on a ratio, with the noise floor of that ratio: |1 - r|
 * of the same configuration measured twice in the same run.  A target
 * whose margin (target - 1) is under the floor cannot be resolved here;
 * otherwise it is met or not met if the ratio is at least the floor away
 * from the target, and within the floor of it if not.
 */
static void ratio_floor(const char *what, double r, double control,
			double target)
{
	double floor = control > 1 ? control - 1 : 1 - control;
	char verdict[96];

	if (r < 0 || control < 0)
		snprintf(verdict, sizeof(verdict), "<= %.2f: not measured", target);
	else if (floor >= target - 1)
		snprintf(verdict, sizeof(verdict),
			 "<= %.2f: cannot be resolved here (floor %.3f)",
			 target, floor);
	else
		snprintf(verdict, sizeof(verdict), "<= %.2f: %s (floor %.3f)",
			 target, r + floor <= target ? "met" :
			 r - floor > target ? "NOT met" : "within the floor",
			 floor);
	ratio(what, r, verdict);
}

/*
 * Figure @fig of the ping-pong cases "@set, bound / unbound / unbound
 * again": bound / unbound against the target, and the control.
 */
static void irq_ratio(const char *set, int fig, double target)
{
	char what[96], name[3][96];
	static const char * const cases[] = { "bound", "unbound", "unbound again" };
	double r, control;
	int k;

	for (k = 0; k < 3; k++) {
		snprintf(what, sizeof(what), "%s, %s", set, cases[k]);
		snprintf(name[k], sizeof(name[k]), "%s", fig_name(what, fig));
	}
	r = ratio_of(name[0], name[1]);
	control = ratio_of(name[2], name[1]);
	snprintf(what, sizeof(what), "%s, %s: bound / unbound", set,
		 fig_names[fig]);
	ratio_floor(what, r, control, target);
	snprintf(what, sizeof(what), "%s, %s: unbound again / unbound", set,
		 fig_names[fig]);
	ratio(what, control, "noise floor (control)");
}

/* The groups named on the command line, or all if none is; "same" is an option. */
static bool want(int argc, char **argv, const char *group)
{
	int i, groups = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "same"))
			continue;
		if (!strcmp(argv[i], group))
			return true;
		groups++;
	}
	return !groups;
}

int main(int argc, char **argv)
{
	double maxs, mins;
	int i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "same"))
			pin_split = 0;
	printf("%-10s %-50s %16s %12s\n", "group", "scenario", "median/op",
	       "exits/op");
	if (want(argc, argv, "access"))
		bench_accesses();
	if (want(argc, argv, "reprogram"))
		bench_linux();
	if (want(argc, argv, "irq")) {
		bench_irq_line();
		bench_irq();
		bench_irq_mq();
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
	count("workqueue runs / 10k irqfd irqs: bound, masked entry",
	      ns_of("irqfd, bound entry, masked (to Pending bit)"), "0 (issue 12)");
	count("workqueue runs / 10k irqfd irqs: bound, unmasked entry",
	      ns_of("irqfd, bound entry, unmasked (delivered)"), "0 (issue 12)");
	count("workqueue runs / 10k irqfd irqs: unbound (control)",
	      ns_of("irqfd, unbound (control)"), "0 (reference)");
	count("workqueue runs / 10k irqfd irqs: IOAPIC pin (filter check)",
	      ns_of("irqfd, IOAPIC pin (filter check)"), "> 0, or the filter misses");
	for (i = 0; i < NR_FIGS; i++)
		irq_ratio("irqfd 1 vCPU", i, 1.05);
	for (i = 0; i < NR_FIGS; i++)
		irq_ratio("irqfd 4 vCPUs", i, 1.10);
	ratio_floor("KVM_IRQ_LINE: bound / unbound (gate cost alone)",
		    ratio_of("KVM_IRQ_LINE, bound entry (gate)",
			     "KVM_IRQ_LINE, unbound"),
		    ratio_of("KVM_IRQ_LINE, unbound (control: again)",
			     "KVM_IRQ_LINE, unbound"), 1.05);
	ratio("KVM_IRQ_LINE: unbound again / unbound",
	      ratio_of("KVM_IRQ_LINE, unbound (control: again)",
		       "KVM_IRQ_LINE, unbound"), "noise floor (control)");
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
