/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the kvm-msix selftests: a minimal VMM-side MSI-X table
 * (shadow memory the kernel serves from, and a KVM_EXIT_MMIO fallback that
 * emulates accesses the kernel declines against the same memory), and guest
 * accessors that compile to single MOV instructions.
 */
#ifndef SELFTEST_KVM_MSIX_UTIL_H
#define SELFTEST_KVM_MSIX_UTIL_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"

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

static inline uint64_t msix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/*
 * Active objects in the slab caches kvm-msix allocates from: kmalloc (its
 * tables, bindings and the bus arrays, in the -cg variants for accounted
 * allocations) and xarray nodes.  -1 if /proc/slabinfo is unreadable (not
 * root, or no SLUB statistics).
 */
static inline bool msix_slab_counted(const char *name)
{
	return !strncmp(name, "kmalloc-", 8) || !strcmp(name, "radix_tree_node");
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
 * Wait for the counts to come back within @slack objects of @baseline:
 * RCU frees tables and bindings after a grace period.  Returns the last
 * difference.
 */
static inline long msix_slab_settle(long baseline, long slack)
{
	long diff = 0;
	int i;

	for (i = 0; i < 50; i++) {
		diff = msix_slab_objects_flushed() - baseline;
		if (diff <= slack)
			break;
		usleep(100 * 1000);
	}
	return diff;
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
