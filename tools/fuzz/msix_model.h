/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A reference model of guest accesses to an MSI-X table, written from the
 * PCI rules (../shared/msix-semantics.md, PCI 3.0 6.8.2) and the kvm-msix
 * ABI (Documentation/virt/kvm/msix.rst, uapi/linux/kvm_msix.h), not from
 * virt/kvm/msix_decode.h.
 * msix_fuzz.c runs it next to the real decoder and compares.
 *
 * Plain C99 with <stdint.h> types: it includes nothing of the kernel's.
 */
#ifndef KVM_MSIX_FUZZ_MODEL_H
#define KVM_MSIX_FUZZ_MODEL_H

#include <stdbool.h>
#include <stdint.h>

/* ---- Access classification ---------------------------------------- */

enum model_where {
	MODEL_USER,		/* KVM_EXIT_MMIO */
	MODEL_TABLE,
	MODEL_PBA,
	MODEL_WINDOW,
};

struct model_layout {
	uint64_t table_gpa, table_len;
	uint64_t pba_gpa, pba_len;
	uint64_t window_gpa, window_len;	/* window_len 0: no window */
};

/*
 * Where a guest access of @len bytes at @addr goes, and (unless USER) its
 * offset into that range in *@off.
 */
enum model_where model_classify(const struct model_layout *l, uint64_t addr,
				int len, uint64_t *off);

/* ---- One table entry ----------------------------------------------- */

#define MODEL_ADDR_LO	0
#define MODEL_ADDR_HI	1
#define MODEL_DATA	2
#define MODEL_CTRL	3
#define MODEL_MASKBIT	0x1u
/* x86: Message Address bit 4 set: interrupt-remapping ("remappable") format. */
#define MODEL_ADDR_REMAP	0x10u

/* The four dwords of an entry, as numbers (the model is endian-free). */
struct model_entry {
	uint32_t w[4];
};

bool model_masked(const struct model_entry *e);
/* The message is in remapping format: only the VMM can translate it. */
bool model_remap(const struct model_entry *e);
/* Message Address (both halves) or Message Data differ. */
bool model_msg_differs(const struct model_entry *a, const struct model_entry *b);
/*
 * The VMM must hear of this entry's message: the table has no
 * NO_UPDATE_EXITS (@quiet), or the message is in remapping format.
 */
bool model_wanted(const struct model_entry *e, bool quiet);
/* Little-endian byte image of an entry and back. */
void model_entry_to_bytes(const struct model_entry *e, uint8_t b[16]);
void model_entry_from_bytes(struct model_entry *e, const uint8_t b[16]);

enum model_action {
	MODEL_NONE,		/* nothing changes, no exit */
	MODEL_STORE,		/* stored, nothing to report */
	MODEL_MARK,		/* stored, reported by the unmask (deferred mode) */
	MODEL_REPORT,		/* stored, KVM_EXIT_MSIX_ENTRY_UPDATED */
	MODEL_TO_USER,		/* the whole access is a KVM_EXIT_MMIO */
};

const char *model_action_name(enum model_action a);

/*
 * What the spec says a served (aligned DWORD/QWORD) guest write taking an
 * entry from @old to @new must do.  @defer: the table has
 * KVM_MSIX_TABLE_FLAG_DEFER_UPDATES; @quiet: it has
 * KVM_MSIX_TABLE_FLAG_NO_UPDATE_EXITS; @changed: the entry was changed while
 * masked and that change is not reported yet; @can_report: this exit may
 * still report this entry (no other entry's report is raised).
 */
enum model_action model_expect(const struct model_entry *old,
			       const struct model_entry *new, bool defer,
			       bool quiet, bool changed, bool can_report);

/* ---- One entry over time ------------------------------------------- */

/* How the VMM behaves on a KVM_EXIT_MMIO write to the entry. */
enum model_vmm {
	/*
	 * Re-reads the entry after emulating any write to it and routes by
	 * what it holds (QEMU's msix.c reads the message on every unmask).
	 */
	MODEL_VMM_REREAD,
	/*
	 * Only what msix.rst section 3 spells out: "a VMM that sees an MMIO
	 * write change an entry's address or data updates its routing".
	 */
	MODEL_VMM_STRICT,
};

struct model_state {
	bool defer, quiet;
	enum model_vmm vmm;
	/* The table memory (VMM memory: both sides see the same bytes). */
	struct model_entry mem;
	/* Address/data the VMM was last told (its route for the entry). */
	uint32_t told[3];
	/*
	 * Deferred mode: changed while masked, not reported.  Set by a
	 * change the VMM must hear of that leaves the entry masked, and, at
	 * define, for every masked entry; cleared by the exit that reports
	 * the entry.
	 */
	bool changed;
	/* This instruction's exit reports this entry (not taken yet). */
	bool raised;
	/* Another entry's report is waiting for the end of the instruction. */
	bool other_raised;
	/* Counters for the harness. */
	unsigned long nr_exits, nr_mmio;
};

void model_init(struct model_state *s, const struct model_entry *init,
		bool defer, bool quiet, enum model_vmm vmm);
/* An instruction begins; @other_raised: an earlier element reported another entry. */
void model_insn_begin(struct model_state *s, bool other_raised);
/* The VMM's route was built from the entry's current address/data. */
bool model_told_current(const struct model_state *s);
/* What the spec expects of a served write of the entry to @new now. */
enum model_action model_expect_now(const struct model_state *s,
				   const struct model_entry *new);
/*
 * A served write of @len (4 or 8) bytes at entry offset @reg (0, 4, 8 or
 * 12; 8 only at 0 or 8); @action is what was decided (already compared with
 * model_expect_now()).  Applies it.  Returns NULL, or which property broke.
 */
const char *model_kernel_write(struct model_state *s, unsigned int reg,
			       int len, const uint8_t *val,
			       enum model_action action);
/*
 * A write the kernel declined (KVM_EXIT_MMIO), @len bytes at entry offset
 * @reg (clipped to the entry): the VMM emulates it on the same memory.
 */
const char *model_user_write(struct model_state *s, unsigned int reg, int len,
			     const uint8_t *val);
/*
 * The instruction has completed: the exit is taken if one is due (the VMM
 * gets the entry as memory holds it), then KVM_RUN.  Returns NULL, or
 * which property broke.
 */
const char *model_insn_end(struct model_state *s);

#endif /* KVM_MSIX_FUZZ_MODEL_H */
