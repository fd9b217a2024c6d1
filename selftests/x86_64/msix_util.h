/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the kvm-msix selftests: a minimal VMM-side MSI-X table
 * (shadow memory the kernel serves from, and a KVM_EXIT_MMIO fallback that
 * emulates accesses the kernel declines against the same memory), and guest
 * accessors that compile to single MOV instructions.
 */
#ifndef SELFTEST_KVM_MSIX_UTIL_H
#define SELFTEST_KVM_MSIX_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"

/*
 * What another kernel series' libkvm names differently: its
 * selftests/compat/SERIES/ is on the include path (patches/SERIES/series.mk).
 */
#if __has_include("msix_compat.h")
#include "msix_compat.h"
#endif

/*
 * The binary stats fds libkvm keeps open on a VM and its vCPUs, each of
 * which keeps the VM alive (-1: 6.12's libkvm opens them only to read a
 * statistic, and closes them with the VM).
 */
#ifndef msix_vm_stats_fd
#define msix_vm_stats_fd(vm)		((void)(vm), -1)
#define msix_vcpu_stats_fd(vcpu)	((void)(vcpu), -1)
#endif

#define MSIX_ENTRY_SIZE		16
#define MSIX_CTRL_OFF		0xc
#define MSIX_MASKBIT		1u

/* Guest-physical layout: identity mapped in the guest, no memslot behind. */
#define MSIX_GPA_BASE		0xc0000000ull
#define MSIX_TABLE_GPA(i)	(MSIX_GPA_BASE + (uint64_t)(i) * 0x100000)
#define MSIX_PBA_GPA(i)		(MSIX_TABLE_GPA(i) + 0x10000)

struct msix_shadow {
	uint32_t id;
	uint32_t nr_entries;
	uint64_t table_gpa;
	uint64_t pba_gpa;
	uint32_t *table;	/* nr_entries * 4 dwords */
	uint64_t *pba;		/* DIV_ROUND_UP(nr_entries, 64) qwords */
	uint32_t table_len;
	uint32_t pba_len;
};

static inline void *msix_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap(%zu) failed", len);
	return p;
}

/* VMM memory for a table, in PCI reset state: every entry masked. */
static inline void msix_shadow_init(struct msix_shadow *s, uint32_t id,
				    uint32_t nr_entries, uint64_t table_gpa,
				    uint64_t pba_gpa)
{
	uint32_t i;

	s->id = id;
	s->nr_entries = nr_entries;
	s->table_gpa = table_gpa;
	s->pba_gpa = pba_gpa;
	s->table_len = nr_entries * MSIX_ENTRY_SIZE;
	s->pba_len = (nr_entries + 63) / 64 * 8;
	s->table = msix_alloc(s->table_len);
	s->pba = msix_alloc(s->pba_len);
	for (i = 0; i < nr_entries; i++)
		s->table[i * 4 + 3] = MSIX_MASKBIT;
}

static inline struct kvm_msix_table msix_table_of(const struct msix_shadow *s)
{
	struct kvm_msix_table t = {
		.id = s->id,
		.nr_entries = s->nr_entries,
		.table_gpa = s->table_gpa,
		.pba_gpa = s->pba_gpa,
		.table_uaddr = (uint64_t)s->table,
		.pba_uaddr = (uint64_t)s->pba,
	};

	return t;
}

static inline int __msix_define(struct kvm_vm *vm, struct kvm_msix_table *t)
{
	return __vm_ioctl(vm, KVM_DEFINE_MSIX_TABLE, t);
}

/* KVM_DEFINE_MSIX_TABLE must fail with @err; @what names the case. */
static inline void msix_expect_define_error(struct kvm_vm *vm,
					    struct kvm_msix_table *t, int err,
					    const char *what)
{
	int r = __msix_define(vm, t);

	TEST_ASSERT(r == -1 && errno == err,
		    "%s: KVM_DEFINE_MSIX_TABLE returned %d errno %d, want errno %d",
		    what, r, errno, err);
}

static inline void msix_define(struct kvm_vm *vm, const struct msix_shadow *s)
{
	struct kvm_msix_table t = msix_table_of(s);

	vm_ioctl(vm, KVM_DEFINE_MSIX_TABLE, &t);
}

static inline int __msix_remove(struct kvm_vm *vm, uint32_t id)
{
	return __vm_ioctl(vm, KVM_REMOVE_MSIX_TABLE, &id);
}

static inline void msix_remove(struct kvm_vm *vm, uint32_t id)
{
	vm_ioctl(vm, KVM_REMOVE_MSIX_TABLE, &id);
}

/* Map the table and PBA pages 1:1 into the guest. */
static inline void msix_map(struct kvm_vm *vm, const struct msix_shadow *s)
{
	virt_map(vm, s->table_gpa, s->table_gpa,
		 (s->table_len + vm->page_size - 1) / vm->page_size);
	virt_map(vm, s->pba_gpa, s->pba_gpa, 1);
}

/*
 * The VMM's half of the contract: emulate an access the kernel left to
 * userspace against the same memory.  Returns false if the exit is not for
 * this table.
 */
static inline bool msix_emulate_mmio(struct msix_shadow *s, struct kvm_run *run)
{
	uint64_t gpa = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	uint8_t *mem;
	uint64_t off;

	if (gpa >= s->table_gpa && gpa + len <= s->table_gpa + s->table_len) {
		mem = (uint8_t *)s->table;
		off = gpa - s->table_gpa;
	} else if (gpa >= s->pba_gpa && gpa + len <= s->pba_gpa + s->pba_len) {
		mem = (uint8_t *)s->pba;
		off = gpa - s->pba_gpa;
		if (run->mmio.is_write)
			return true;
	} else {
		return false;
	}

	if (run->mmio.is_write)
		memcpy(mem + off, run->mmio.data, len);
	else
		memcpy(run->mmio.data, mem + off, len);
	return true;
}

/* Exits seen by msix_run() on the way to the next ucall. */
struct msix_exits {
	uint64_t mmio;		/* emulated on the table or PBA */
	uint64_t unclaimed;	/* MMIO elsewhere: reads return 0 */
	uint64_t updated;
	struct {
		uint32_t table_id;
		uint32_t entry;
		uint64_t address;
		uint32_t data;
		uint32_t vector_ctrl;
	} last;
};

/*
 * Run until the guest makes a ucall, emulating MMIO on @s and recording
 * KVM_EXIT_MSIX_ENTRY_UPDATED; any other exit fails the test.  @s may be
 * NULL: every MMIO exit is then unclaimed.
 */
static inline uint64_t msix_run(struct kvm_vcpu *vcpu, struct msix_shadow *s,
				struct msix_exits *ex, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	uint64_t cmd;

	memset(ex, 0, sizeof(*ex));
	for (;;) {
		vcpu_run(vcpu);
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (s && msix_emulate_mmio(s, run)) {
				ex->mmio++;
			} else {
				if (!run->mmio.is_write)
					memset(run->mmio.data, 0, run->mmio.len);
				ex->unclaimed++;
			}
			continue;
		case KVM_EXIT_MSIX_ENTRY_UPDATED:
			ex->updated++;
			ex->last.table_id = run->msix_entry_updated.table_id;
			ex->last.entry = run->msix_entry_updated.entry;
			ex->last.address = run->msix_entry_updated.address;
			ex->last.data = run->msix_entry_updated.data;
			ex->last.vector_ctrl = run->msix_entry_updated.vector_ctrl;
			continue;
		}
		cmd = get_ucall(vcpu, uc);
		if (cmd == UCALL_ABORT)
			REPORT_GUEST_ASSERT(*uc);
		TEST_ASSERT(cmd != UCALL_NONE, "Unexpected exit reason %u (%s)",
			    run->exit_reason, exit_reason_str(run->exit_reason));
		return cmd;
	}
}

/* Replace the VM's routing with one MSI route: @gsi sends @addr/@data. */
static inline void msix_set_route(struct kvm_vm *vm, uint32_t gsi,
				  uint64_t addr, uint32_t data)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = {};

	rt.r.nr = 1;
	rt.e[0].gsi = gsi;
	rt.e[0].type = KVM_IRQ_ROUTING_MSI;
	rt.e[0].u.msi.address_lo = addr;
	rt.e[0].u.msi.address_hi = addr >> 32;
	rt.e[0].u.msi.data = data;
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt.r);
}

static inline uint64_t msix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/*
 * Active objects in the slab caches kvm-msix allocates from: the accounted
 * kmalloc caches (every table, bus device, bitmap and binding, and the bus
 * arrays, is allocated GFP_KERNEL_ACCOUNT) and xarray nodes.  The plain
 * kmalloc caches are left out: sysfs, the shell and the harness's forks
 * move them by hundreds of objects on their own.  -1 if /proc/slabinfo is
 * unreadable (not root, or no SLUB statistics).
 */
static inline bool msix_slab_counted(const char *name)
{
	return !strncmp(name, "kmalloc-cg-", 11) ||
	       !strcmp(name, "radix_tree_node");
}

static inline long msix_slab_objects(void)
{
	char line[512], name[128];
	long objs, total = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", name, &objs) != 2)
			continue;
		if (msix_slab_counted(name))
			total += objs;
	}
	fclose(f);
	return total;
}

/*
 * SLUB counts the free objects of per-CPU slabs as active: flush them
 * (kmem_cache_shrink()) before counting.
 */
static inline long msix_slab_objects_flushed(void)
{
	char line[512], name[128], path[256];
	FILE *f = fopen("/proc/slabinfo", "r");
	FILE *w;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s", name) != 1 || !msix_slab_counted(name))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
		w = fopen(path, "w");
		if (w) {
			fputs("1", w);
			fclose(w);
		}
	}
	fclose(f);
	return msix_slab_objects();
}

/*
 * Wait, up to 15 s, for the counts to come back within @slack objects of
 * @baseline: RCU frees tables and bindings after a grace period, which a
 * loaded host (nested TCG) stretches.  Returns the last difference.
 */
static inline long msix_slab_settle(long baseline, long slack)
{
	long diff = 0;
	int i;

	for (i = 0; i < 150; i++) {
		diff = msix_slab_objects_flushed() - baseline;
		if (diff <= slack)
			break;
		usleep(100 * 1000);
	}
	return diff;
}

#define MSIX_APIC_ISR		0x100
#define MSIX_RFLAGS_IF		BIT(9)

/*
 * Guest side, in an interrupt handler: whether the local APIC delivered
 * this interrupt (then it is EOIed here) or it is a repeat.  Under QEMU
 * TCG's emulation of AMD SVM, KVM's injection of an interrupt into its
 * guest (the test's) is, rarely, performed twice: the interrupt is taken
 * again on top of its own delivery (at the first instruction of the IDT
 * stub, IF clear) or after its EOI, without the local APIC.  Seen with the
 * stock modules and plain MSI routes too, from about once in 1000
 * deliveries to once in 5 when a host thread injects without pause; it is
 * no message a table sent.  A delivery by the local APIC interrupts
 * a context with IF set and leaves the vector in service (ISR) until the
 * EOI.
 */
static inline bool msix_guest_irq_delivered(struct ex_regs *regs)
{
	uint32_t v = regs->vector;

	if (!(regs->rflags & MSIX_RFLAGS_IF) ||
	    !(x2apic_read_reg(MSIX_APIC_ISR + v / 32 * 0x10) & (1u << (v % 32))))
		return false;
	x2apic_write_reg(APIC_EOI, 0);
	return true;
}

#define MSIX_KMEMLEAK	"/sys/kernel/debug/kmemleak"

/* Write @cmd to kmemleak; false if there is none (not a debug kernel). */
static inline bool msix_kmemleak_cmd(const char *cmd)
{
	int fd = open(MSIX_KMEMLEAK, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd);
	close(fd);
	return ok;
}

/* One "# " per line of @b, for TAP. */
static inline void msix_print_lines(const char *b)
{
	const char *nl;

	while (*b) {
		nl = strchrnul(b, '\n');
		printf("# %.*s\n", (int)(nl - b), b);
		b = *nl ? nl + 1 : nl;
	}
}

/*
 * Scan for leaks and count the unreferenced objects that mention kvm or
 * msix (the allocating task, or a function in the backtrace), printing
 * them.  kmemleak reports an object only once it is older than 5 s and has
 * stayed unreferenced across two scans.  Leaks of earlier tests that were
 * not reported yet may show here too: they are leaks all the same.
 */
static inline int msix_kmemleak_kvm_leaks(void)
{
	char line[512], block[8192];
	size_t len = 0, n;
	int leaks = 0;
	bool eof;
	FILE *f;

	sleep(6);
	TEST_ASSERT(msix_kmemleak_cmd("scan") && msix_kmemleak_cmd("scan"),
		    "kmemleak scan failed");
	f = fopen(MSIX_KMEMLEAK, "r");
	TEST_ASSERT(f, "open %s", MSIX_KMEMLEAK);
	block[0] = 0;
	do {
		eof = !fgets(line, sizeof(line), f);
		if (eof || !strncmp(line, "unreferenced object", 19)) {
			if (strstr(block, "kvm") || strstr(block, "msix")) {
				msix_print_lines(block);
				leaks++;
			}
			len = 0;
			block[0] = 0;
		}
		n = strlen(line);
		if (!eof && len + n < sizeof(block)) {
			memcpy(block + len, line, n + 1);
			len += n;
		}
	} while (!eof);
	fclose(f);
	return leaks;
}

/* Guest accessors: one MOV each, whatever the compiler would prefer. */
#define MSIX_DEFINE_ACCESSORS(sfx, type)					\
static inline type msix_read##sfx(uint64_t gpa)				\
{									\
	return READ_ONCE(*(type *)gpa);					\
}									\
static inline void msix_write##sfx(uint64_t gpa, type v)		\
{									\
	WRITE_ONCE(*(type *)gpa, v);					\
}

MSIX_DEFINE_ACCESSORS(b, uint8_t)
MSIX_DEFINE_ACCESSORS(w, uint16_t)
MSIX_DEFINE_ACCESSORS(l, uint32_t)
MSIX_DEFINE_ACCESSORS(q, uint64_t)

/* One guest access of @len bytes (1, 2, 4 or 8), as one instruction. */
static inline uint64_t msix_read(uint64_t gpa, int len)
{
	switch (len) {
	case 1:
		return msix_readb(gpa);
	case 2:
		return msix_readw(gpa);
	case 4:
		return msix_readl(gpa);
	default:
		return msix_readq(gpa);
	}
}

static inline void msix_write(uint64_t gpa, int len, uint64_t v)
{
	switch (len) {
	case 1:
		msix_writeb(gpa, v);
		break;
	case 2:
		msix_writew(gpa, v);
		break;
	case 4:
		msix_writel(gpa, v);
		break;
	default:
		msix_writeq(gpa, v);
		break;
	}
}

#endif /* SELFTEST_KVM_MSIX_UTIL_H */
