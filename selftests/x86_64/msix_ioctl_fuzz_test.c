// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_ioctl_fuzz_test: random and boundary input for every kvm-msix ioctl,
 * in random order, while vCPUs hammer the guest-physical window the tables
 * come and go in and host threads fire irqfds and rewrite the routes; the
 * VM is torn down in the middle of it at the end.
 *
 * Every call must succeed or fail with one of the errnos the ABI documents
 * for it, and with exactly the one it names where it names one: EINVAL for
 * non-zero pad, reserved, devid or flags the ABI does not have, DEVID on
 * x86, flags of KVM_SIGNAL_MSIX; ENOENT from a move only when no table has
 * the id.  The kernel must stay clean (the test runner scans the console
 * for splats, and a debug kernel adds KASAN, lockdep and kmemleak).  The
 * seed is printed; MSIX_FUZZ_SEED and MSIX_FUZZ_ITERATIONS override it and
 * the iteration count.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"
#include "kselftest_harness.h"

#include "msix_util.h"

#define NR_VCPUS	2
/* Objects the rest of the system may allocate meanwhile. */
#define SLAB_SLACK	64
#define ROUND_MS	4000
#define NR_GSIS		8
#define GSI_BASE	32
#define WINDOW		(4 * 0x100000ull)	/* tables 0-3 of MSIX_TABLE_GPA() */

static uint32_t stop;
static uint64_t guest_seed;

/*
 * Message Data bits 10:8, the delivery mode: the table's interrupts carry
 * what the guest writes, so keep every message Fixed.  This guest runs with
 * interrupts disabled and has no handlers: an NMI, SMI or INIT it sent
 * itself would end it.
 */
#define DELIVERY_MODE	(0x700ull | 0x700ull << 32)

/* Random accesses, of every width and alignment, all over the window. */
static void guest_hammer(uint32_t id)
{
	uint64_t x = guest_seed + id, gpa;

	while (!READ_ONCE(stop)) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		gpa = MSIX_GPA_BASE + (x >> 20) % WINDOW;
		switch ((x >> 8) % 6) {
		case 0:
			(void)msix_readl(gpa & ~3ull);
			break;
		case 1:
			(void)msix_readq(gpa & ~7ull);
			break;
		case 2:
			msix_writel(gpa & ~3ull, (x >> 32) & ~DELIVERY_MODE);
			break;
		case 3:
			msix_writeq(gpa & ~7ull, x & ~DELIVERY_MODE);
			break;
		case 4:
			msix_writeb(gpa, x);
			break;
		default:
			(void)msix_readw(gpa & ~1ull);
			break;
		}
	}
	GUEST_DONE();
}

enum { DEFINE, REMOVE, BIND, CTRL, SIGNAL, MOVE, NR_CALLS };
static const char *const call_name[NR_CALLS] = {
	"define", "remove", "bind", "ctrl", "signal", "move",
};

#define NR_IDS		4	/* the ids fuzz_define() mostly picks */

struct fuzz {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t threads[NR_VCPUS + 1];
	unsigned int seed;
	int efd[NR_GSIS];
	uint64_t calls[NR_CALLS], ok[NR_CALLS], sent;
	/* The tables defined now, as defined (or last moved). */
	struct kvm_msix_table table[NR_IDS];
	bool defined[NR_IDS];
	/* VMM memory to point tables at: good, read-only and unmapped. */
	uint8_t *mem, *ro, *gone;
};

static void *run_vcpu(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, run->mmio.len);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MSIX_ENTRY_UPDATED)
			continue;
		TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
		return NULL;
	}
}

static void *fire_irqs(void *arg)
{
	struct fuzz *f = arg;
	unsigned int seed = f->seed ^ 0x5eed;
	uint64_t one = 1;

	while (!READ_ONCE(stop)) {
		TEST_ASSERT_EQ(write(f->efd[rand_r(&seed) % NR_GSIS], &one, 8), 8);
		usleep(rand_r(&seed) % 100);
	}
	return NULL;
}

/* Mostly from @set (boundaries and valid values), now and then anything. */
static uint32_t pick32(unsigned int *seed, const uint32_t *set, int n)
{
	return rand_r(seed) % 8 ? set[rand_r(seed) % n] :
	       (uint32_t)rand_r(seed) << 16 ^ rand_r(seed);
}

static uint64_t pick_gpa(unsigned int *seed)
{
	static const uint64_t odd[] = {
		0, 4, 1, ~0ull, ~7ull, -4096ull, 1ull << 52, 0xfee00000,
	};

	if (rand_r(seed) % 8)
		return MSIX_GPA_BASE + (rand_r(seed) % (WINDOW / 8)) * 8;
	return odd[rand_r(seed) % ARRAY_SIZE(odd)];
}

static uint64_t pick_uaddr(struct fuzz *f, unsigned int *seed)
{
	switch (rand_r(seed) % 10) {
	case 0:
		return (uint64_t)f->ro;
	case 1:
		return (uint64_t)f->gone;
	case 2:
		return 0;
	case 3:
		return 0xffff800000000000ull;
	case 4:
		return (uint64_t)f->mem + 1 + rand_r(seed) % 7;
	default:
		/* Tables may share memory; the ABI does not forbid it. */
		return (uint64_t)f->mem + (rand_r(seed) % 8) * 4096;
	}
}

static void check(struct fuzz *f, int which, int r, const int *allowed,
		  int n, const char *what)
{
	int i;

	f->calls[which]++;
	if (!r) {
		f->ok[which]++;
		return;
	}
	for (i = 0; i < n; i++)
		if (errno == allowed[i])
			return;
	TEST_FAIL("%s returned %d, errno %d (%s): not in the ABI", what, r,
		  errno, strerror(errno));
}

/* The flags a table may have, and combinations of them. */
static const uint32_t table_flags[] = {
	0,
	KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
	KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS,
	KVM_MSIX_TABLE_FLAG_DEFER_UPDATES | KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS,
	KVM_MSIX_TABLE_FLAG_UNMAPPED,
	KVM_MSIX_TABLE_FLAG_UNMAPPED | KVM_MSIX_TABLE_FLAG_DEFER_UPDATES,
	KVM_MSIX_TABLE_FLAG_UNMAPPED | KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS,
	KVM_MSIX_TABLE_FLAG_DEVID,
};

#define KNOWN_FLAGS	(KVM_MSIX_TABLE_FLAG_DEFER_UPDATES |	\
			 KVM_MSIX_TABLE_FLAG_PASSTHROUGH |	\
			 KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS |	\
			 KVM_MSIX_TABLE_FLAG_UNMAPPED |		\
			 KVM_MSIX_TABLE_FLAG_MOVE)

/*
 * Fields that make KVM_DEFINE_MSIX_TABLE fail with EINVAL whatever else it
 * is given: x86 has no KVM_CAP_MSI_DEVID.
 */
static bool define_must_fail(const struct kvm_msix_table *t)
{
	return t->pad || t->reserved || t->devid || (t->flags & ~KNOWN_FLAGS);
}

static void define_call(struct fuzz *f, struct kvm_msix_table *t, int which)
{
	static const int allowed[] = { EINVAL, EEXIST, EFAULT, ENOSPC, ENOMEM };
	static const int allowed_move[] = { EINVAL, EEXIST, EFAULT, ENOSPC,
					    ENOMEM, ENOENT };
	bool known = t->id < NR_IDS && f->defined[t->id];
	int r = __vm_ioctl(f->vm, KVM_DEFINE_MSIX_TABLE, t);

	if (define_must_fail(t))
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "KVM_DEFINE_MSIX_TABLE with pad %u reserved %u devid %u flags %#x: %d errno %d, want EINVAL",
			    t->pad, t->reserved, t->devid, t->flags, r, errno);
	/* ENOENT: the table to move does not exist, and only then. */
	if (which == MOVE && r && errno == ENOENT)
		TEST_ASSERT(!known, "moving table %u, which exists: ENOENT",
			    t->id);
	if (which == MOVE)
		check(f, which, r, allowed_move, ARRAY_SIZE(allowed_move),
		      "KVM_DEFINE_MSIX_TABLE (move)");
	else
		check(f, which, r, allowed, ARRAY_SIZE(allowed),
		      "KVM_DEFINE_MSIX_TABLE");
	if (r || t->id >= NR_IDS)
		return;
	f->defined[t->id] = true;
	f->table[t->id] = *t;
	f->table[t->id].flags &= ~KVM_MSIX_TABLE_FLAG_MOVE;
}

/* Move a table defined now, or one that is not; mostly with its own fields. */
static void fuzz_move(struct fuzz *f, unsigned int *seed)
{
	uint32_t id = rand_r(seed) % NR_IDS;
	struct kvm_msix_table t = f->table[id];

	t.id = id;
	if (!t.nr_entries)
		t.nr_entries = 8;
	t.flags |= KVM_MSIX_TABLE_FLAG_MOVE;
	if (rand_r(seed) % 4) {
		t.flags &= ~KVM_MSIX_TABLE_FLAG_UNMAPPED;
		t.table_gpa = pick_gpa(seed);
		t.pba_gpa = pick_gpa(seed);
		if (t.window_size)
			t.window_gpa = t.table_gpa & ~0xfffull;
	} else {
		/* Off the bus. */
		t.flags |= KVM_MSIX_TABLE_FLAG_UNMAPPED;
		t.table_gpa = 0;
		t.pba_gpa = 0;
		t.window_gpa = 0;
	}
	/* A field that must stay what it was defined with. */
	switch (rand_r(seed) % 16) {
	case 0:
		t.nr_entries++;
		break;
	case 1:
		t.flags ^= KVM_MSIX_TABLE_FLAG_DEFER_UPDATES;
		break;
	case 2:
		t.table_uaddr = pick_uaddr(f, seed);
		break;
	case 3:
		t.devid = rand_r(seed) | 1;
		break;
	}
	define_call(f, &t, MOVE);
}

static void fuzz_define(struct fuzz *f, unsigned int *seed)
{
	static const uint32_t ids[] = { 0, 1, 2, 3, ~0u };
	static const uint32_t nrs[] = {
		0, 1, 2, 8, 63, 64, 64, 65, 2047, 2048, 2049, ~0u,
	};
	struct kvm_msix_table t = {
		.id = pick32(seed, ids, ARRAY_SIZE(ids)),
		.nr_entries = pick32(seed, nrs, ARRAY_SIZE(nrs)),
		.table_gpa = pick_gpa(seed),
		.pba_gpa = pick_gpa(seed),
		.table_uaddr = pick_uaddr(f, seed),
		.pba_uaddr = pick_uaddr(f, seed),
	};

	if (!(rand_r(seed) % 8))
		t.flags = 1u << (rand_r(seed) % 32);
	else if (rand_r(seed) % 2)
		t.flags = table_flags[rand_r(seed) % ARRAY_SIZE(table_flags)];
	/* Off the bus: no GPAs, mostly. */
	if ((t.flags & KVM_MSIX_TABLE_FLAG_UNMAPPED) && rand_r(seed) % 4) {
		t.table_gpa = 0;
		t.pba_gpa = 0;
	}
	if (!(rand_r(seed) % 16))
		t.pad = rand_r(seed);
	if (!(rand_r(seed) % 16))
		t.reserved = rand_r(seed) | 1;
	if (!(rand_r(seed) % 16))
		t.devid = rand_r(seed) | 1;
	/* A window around the table, or a random one, with or without the flag. */
	if (!(rand_r(seed) % 4)) {
		t.flags |= rand_r(seed) % 4 ? KVM_MSIX_TABLE_FLAG_PASSTHROUGH : 0;
		t.window_gpa = rand_r(seed) % 2 ? t.table_gpa & ~0xfffull :
						  pick_gpa(seed);
		t.window_size = (uint64_t)(rand_r(seed) % 4) << 12;
		t.window_uaddr = rand_r(seed) % 2 ? pick_uaddr(f, seed) & ~0xfffull :
						    pick_uaddr(f, seed);
	}
	define_call(f, &t, t.flags & KVM_MSIX_TABLE_FLAG_MOVE ? MOVE : DEFINE);
}

static void fuzz_remove(struct fuzz *f, unsigned int *seed)
{
	static const uint32_t ids[] = { 0, 1, 2, 3, ~0u };
	static const int allowed[] = { ENOENT };
	uint32_t id = pick32(seed, ids, ARRAY_SIZE(ids));
	int r = __vm_ioctl(f->vm, KVM_REMOVE_MSIX_TABLE, &id);

	if (id < NR_IDS)
		TEST_ASSERT(!r == f->defined[id],
			    "KVM_REMOVE_MSIX_TABLE %u: %d errno %d, defined %d",
			    id, r, errno, f->defined[id]);
	check(f, REMOVE, r, allowed, ARRAY_SIZE(allowed),
	      "KVM_REMOVE_MSIX_TABLE");
	if (!r && id < NR_IDS)
		f->defined[id] = false;
}

static void fuzz_bind(struct fuzz *f, unsigned int *seed)
{
	static const uint32_t ids[] = { 0, 1, 2, 3, ~0u };
	static const uint32_t entries[] = { 0, 0, 1, 1, 2, 63, 64, 2047, 2048, ~0u };
	static const uint32_t gsis[] = {
		GSI_BASE, GSI_BASE + 1, GSI_BASE + 2, GSI_BASE + 3, GSI_BASE + 4,
		GSI_BASE + 5, GSI_BASE + 6, GSI_BASE + 7, 0, 5, 1000, ~0u,
	};
	static const int allowed[] = { ENOENT, EINVAL, EBUSY, ENOMEM };
	struct kvm_msix_entry_irq b = {
		.table_id = pick32(seed, ids, ARRAY_SIZE(ids)),
		.entry = pick32(seed, entries, ARRAY_SIZE(entries)),
		.gsi = pick32(seed, gsis, ARRAY_SIZE(gsis)),
	};

	if (!(rand_r(seed) % 3)) {
		b.flags = KVM_MSIX_ENTRY_IRQ_UNBIND;
		if (rand_r(seed) % 4)
			b.gsi = 0;
	} else if (!(rand_r(seed) % 8)) {
		b.flags = 1u << (rand_r(seed) % 32);
	}
	check(f, BIND, __vm_ioctl(f->vm, KVM_SET_MSIX_ENTRY_IRQ, &b), allowed,
	      ARRAY_SIZE(allowed), "KVM_SET_MSIX_ENTRY_IRQ");
}

static void fuzz_ctrl(struct fuzz *f, unsigned int *seed)
{
	static const uint32_t ids[] = { 0, 1, 2, 3, ~0u };
	static const uint32_t flags[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const int allowed[] = { ENOENT, EINVAL };
	struct kvm_msix_table_ctrl c = {
		.id = pick32(seed, ids, ARRAY_SIZE(ids)),
		.flags = pick32(seed, flags, ARRAY_SIZE(flags)),
	};

	check(f, CTRL, __vm_ioctl(f->vm, KVM_SET_MSIX_TABLE_CTRL, &c), allowed,
	      ARRAY_SIZE(allowed), "KVM_SET_MSIX_TABLE_CTRL");
}

/*
 * KVM_SIGNAL_MSIX: 1 (sent) or 0 (held), or EINVAL, ENOENT, ENXIO (a
 * remapping-format entry not bound) or EFAULT; flags and reserved must be 0.
 */
static void fuzz_signal(struct fuzz *f, unsigned int *seed)
{
	static const uint32_t ids[] = { 0, 1, 2, 3, ~0u };
	static const uint32_t entries[] = { 0, 0, 1, 1, 2, 7, 63, 64, 2047, 2048, ~0u };
	static const uint32_t zero[] = { 0 };
	static const int allowed[] = { EINVAL, ENOENT, ENXIO, EFAULT };
	struct kvm_msix_signal sig = {
		.table_id = pick32(seed, ids, ARRAY_SIZE(ids)),
		.entry = pick32(seed, entries, ARRAY_SIZE(entries)),
		.flags = pick32(seed, zero, 1),
		.reserved = pick32(seed, zero, 1),
	};
	struct kvm_msix_table_ctrl enable = { .flags = KVM_MSIX_CTRL_ENABLE };
	int r;

	/* Mostly a table that exists, MSI-X enabled: the paths that send. */
	if (rand_r(seed) % 4 && f->defined[sig.table_id % NR_IDS]) {
		sig.table_id %= NR_IDS;
		sig.entry %= f->table[sig.table_id].nr_entries;
		enable.id = sig.table_id;
		if (rand_r(seed) % 2)
			vm_ioctl(f->vm, KVM_SET_MSIX_TABLE_CTRL, &enable);
	}
	r = __vm_ioctl(f->vm, KVM_SIGNAL_MSIX, &sig);

	TEST_ASSERT(r >= -1 && r <= 1, "KVM_SIGNAL_MSIX returned %d", r);
	if (sig.flags || sig.reserved)
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "KVM_SIGNAL_MSIX with flags %#x reserved %#x: %d errno %d, want EINVAL",
			    sig.flags, sig.reserved, r, errno);
	if (sig.table_id < NR_IDS && !f->defined[sig.table_id] && r >= 0)
		TEST_FAIL("KVM_SIGNAL_MSIX on table %u, which is not defined: %d",
			  sig.table_id, r);
	f->sent += r == 1;
	check(f, SIGNAL, r < 0 ? r : 0, allowed, ARRAY_SIZE(allowed),
	      "KVM_SIGNAL_MSIX");
}

/* Routes change under the bindings: MSI, irqchip, or gone. */
static void fuzz_routes(struct fuzz *f, unsigned int *seed)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[NR_GSIS];
	} rt = {};
	int i, n = 0;

	for (i = 0; i < NR_GSIS; i++) {
		int kind = rand_r(seed) % 4;

		if (!kind)
			continue;
		rt.e[n].gsi = GSI_BASE + i;
		if (kind == 1) {
			rt.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			rt.e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
			rt.e[n].u.irqchip.pin = i;
		} else {
			rt.e[n].type = KVM_IRQ_ROUTING_MSI;
			rt.e[n].u.msi.address_lo = 0xfee00000 | (i % NR_VCPUS) << 12;
			rt.e[n].u.msi.data = 0x40 + i;
		}
		n++;
	}
	rt.r.nr = n;
	vm_ioctl(f->vm, KVM_SET_GSI_ROUTING, &rt.r);
}

/*
 * Up to @iterations calls, and at most ROUND_MS: a debug kernel runs the
 * same calls several times slower.  Returns the calls made.
 */
static uint64_t fuzz_once(struct fuzz *f, unsigned int seed, uint64_t iterations)
{
	uint64_t deadline = msix_now_ms() + ROUND_MS;
	struct kvm_irqfd irqfd = {};
	uint64_t i;
	int v;

	f->seed = seed;
	memset(f->defined, 0, sizeof(f->defined));
	memset(f->table, 0, sizeof(f->table));
	f->vm = vm_create_with_vcpus(NR_VCPUS, guest_hammer, f->vcpus);
	virt_map(f->vm, MSIX_GPA_BASE, MSIX_GPA_BASE, WINDOW / 4096);
	guest_seed = seed;
	sync_global_to_guest(f->vm, guest_seed);
	fuzz_routes(f, &seed);
	for (i = 0; i < NR_GSIS; i++) {
		f->efd[i] = eventfd(0, 0);
		irqfd.fd = f->efd[i];
		irqfd.gsi = GSI_BASE + i;
		/* The route may not exist yet: an irqfd waits for it. */
		vm_ioctl(f->vm, KVM_IRQFD, &irqfd);
	}
	for (v = 0; v < NR_VCPUS; v++) {
		vcpu_args_set(f->vcpus[v], 1, v);
		pthread_create(&f->threads[v], NULL, run_vcpu, f->vcpus[v]);
	}
	pthread_create(&f->threads[NR_VCPUS], NULL, fire_irqs, f);

	for (i = 0; i < iterations && msix_now_ms() < deadline; i++) {
		switch (rand_r(&seed) % 12) {
		case 0:
		case 1:
		case 2:
			fuzz_define(f, &seed);
			break;
		case 3:
		case 4:
			fuzz_remove(f, &seed);
			break;
		case 5:
		case 6:
		case 7:
			fuzz_bind(f, &seed);
			break;
		case 8:
			fuzz_ctrl(f, &seed);
			break;
		case 9:
			fuzz_signal(f, &seed);
			break;
		case 10:
			fuzz_move(f, &seed);
			break;
		default:
			if (!(rand_r(&seed) % 8))
				fuzz_routes(f, &seed);
			else
				kvm_irq_line(f->vm, GSI_BASE + rand_r(&seed) % NR_GSIS, 1);
			break;
		}
	}

	/* Tear the VM down with whatever is left defined and bound. */
	WRITE_ONCE(*(uint32_t *)addr_gva2hva(f->vm, (vm_vaddr_t)&stop), 1);
	WRITE_ONCE(stop, 1);
	for (v = 0; v <= NR_VCPUS; v++)
		pthread_join(f->threads[v], NULL);
	WRITE_ONCE(stop, 0);
	kvm_vm_free(f->vm);
	for (v = 0; v < NR_GSIS; v++)
		close(f->efd[v]);
	return i;
}

TEST(fuzz)
{
	unsigned int seed = time(NULL);
	uint64_t iterations = 3000;
	struct fuzz f = {};
	long slab_base = -1, slab_diff;
	uint64_t done;
	int round, i;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSIX_TABLE));
	if (getenv("MSIX_FUZZ_SEED"))
		seed = strtoul(getenv("MSIX_FUZZ_SEED"), NULL, 0);
	if (getenv("MSIX_FUZZ_ITERATIONS"))
		iterations = strtoull(getenv("MSIX_FUZZ_ITERATIONS"), NULL, 0);

	f.mem = msix_alloc(8 * 4096 + 32768);
	f.ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.gone = msix_alloc(4096);
	TEST_ASSERT(f.ro != MAP_FAILED, "mmap");
	munmap(f.gone, 4096);

	/*
	 * Slab objects before the first VM and after the last one is gone: a
	 * table or binding leaked per successful call would show as hundreds.
	 * The first round warms up caches a fresh kernel allocates once
	 * (per-cpu slabs, the irq routing cache): count from after it.
	 */
	for (round = 0; round < 4; round++) {
		if (round == 1)
			slab_base = msix_slab_objects_flushed();
		done = fuzz_once(&f, seed + round, iterations);
		printf("# round %d: MSIX_FUZZ_SEED=%u MSIX_FUZZ_ITERATIONS=%lu: %lu calls\n",
		       round, seed + round, iterations, done);
	}
	printf("# calls/successes:");
	for (i = 0; i < NR_CALLS; i++)
		printf(" %s %lu/%lu", call_name[i], f.calls[i], f.ok[i]);
	printf("; signals sent %lu\n", f.sent);
	for (i = 0; i < NR_CALLS; i++)
		TEST_ASSERT(f.ok[i], "%s never succeeded: the fuzzer misses the real paths",
			    call_name[i]);
	TEST_ASSERT(f.sent, "KVM_SIGNAL_MSIX never sent a message");

	if (slab_base < 0) {
		printf("# /proc/slabinfo unreadable: slab counts not checked\n");
		return;
	}
	slab_diff = msix_slab_settle(slab_base, SLAB_SLACK);
	printf("# slab objects (kmalloc, xarray nodes): %ld before rounds 1-3, %+ld after\n",
	       slab_base, slab_diff);
	TEST_ASSERT(slab_diff <= SLAB_SLACK,
		    "%ld slab objects more than before %lu define, %lu bind successes",
		    slab_diff, f.ok[DEFINE], f.ok[BIND]);
}

TEST_HARNESS_MAIN
