// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference model of the kvm-msix guest-access rules.  Every rule below is
 * quoted or derived from one of
 *   [PCI]  ../shared/msix-semantics.md, "What the PCI specification requires"
 *   [ABI]  Documentation/virt/kvm/msix.rst, sections 3 and 4, and
 *          uapi/linux/kvm_msix.h (the table flags), as of issue 10:
 *          every write stored at once, interrupts sent with the message
 *          in the table, reports only to keep the VMM informed
 * and deliberately written in a different shape from msix_decode.h:
 * intervals in 128-bit arithmetic (no wrap-around tricks), and the entry as
 * a state machine that knows what userspace has been told.
 */
#include <string.h>

#include "msix_model.h"

typedef unsigned __int128 u128;

/* ---- Access classification ---------------------------------------- */

/* [a, a + alen) and [r, r + rlen) share a byte. */
static bool touches(u128 a, u128 alen, u128 r, u128 rlen)
{
	return alen && rlen && a < r + rlen && r < a + alen;
}

/* [a, a + alen) lies within [r, r + rlen). */
static bool within(u128 a, u128 alen, u128 r, u128 rlen)
{
	return a >= r && a + alen <= r + rlen;
}

/*
 * [PCI] "For all accesses to MSI-X Table and MSI-X PBA fields, software
 * must use aligned full DWORD or aligned full QWORD transactions; otherwise,
 * the result is undefined."  [ABI 3] The kernel serves exactly those; "every
 * other access (1 or 2 bytes, misaligned, crossing an entry)" is a
 * KVM_EXIT_MMIO.  An access that touches the table or the PBA at all is
 * therefore served only as an aligned DWORD/QWORD lying wholly inside it;
 * otherwise userspace gets all of it.
 *
 * [uapi KVM_MSIX_TABLE_FLAG_PASSTHROUGH] the rest of the window is performed
 * on the device "with the guest's width and alignment": widths 1, 2, 4 and 8
 * at any alignment, when the access lies wholly inside the window.
 *
 * Anything else (other widths, outside every range, straddling the window's
 * edge) is a KVM_EXIT_MMIO.
 */
enum model_where model_classify(const struct model_layout *l, uint64_t addr,
				int len, uint64_t *off)
{
	static const struct {
		enum model_where where;
		int idx;
	} ranges[] = { { MODEL_TABLE, 0 }, { MODEL_PBA, 1 } };
	u128 a = addr;
	unsigned int i;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return MODEL_USER;

	for (i = 0; i < 2; i++) {
		u128 base = ranges[i].idx ? l->pba_gpa : l->table_gpa;
		u128 rlen = ranges[i].idx ? l->pba_len : l->table_len;

		if (!touches(a, len, base, rlen))
			continue;
		if ((len == 4 || len == 8) && addr % len == 0 &&
		    within(a, len, base, rlen)) {
			*off = (uint64_t)(a - base);
			return ranges[i].where;
		}
		return MODEL_USER;
	}

	if (l->window_len && within(a, len, l->window_gpa, l->window_len)) {
		*off = (uint64_t)(a - l->window_gpa);
		return MODEL_WINDOW;
	}
	return MODEL_USER;
}

/* ---- One table entry ----------------------------------------------- */

/* [PCI] Mask is bit 0 of Vector Control. */
bool model_masked(const struct model_entry *e)
{
	return e->w[MODEL_CTRL] & MODEL_MASKBIT;
}

/*
 * [ABI] "an entry whose Message Address has bit 4 set (0xfee00010 | ...)"
 * is in remapping format: delivered through the VMM's route, never from
 * the table.
 */
bool model_remap(const struct model_entry *e)
{
	return e->w[MODEL_ADDR_LO] & MODEL_ADDR_REMAP;
}

bool model_msg_differs(const struct model_entry *a, const struct model_entry *b)
{
	return a->w[MODEL_ADDR_LO] != b->w[MODEL_ADDR_LO] ||
	       a->w[MODEL_ADDR_HI] != b->w[MODEL_ADDR_HI] ||
	       a->w[MODEL_DATA] != b->w[MODEL_DATA];
}

/*
 * [ABI] "NO_UPDATE_EXITS: no reports at all for compatibility-format
 * entries; remapping-format entries are reported as without the flag."
 */
bool model_wanted(const struct model_entry *e, bool quiet)
{
	return !quiet || model_remap(e);
}

void model_entry_to_bytes(const struct model_entry *e, uint8_t b[16])
{
	int i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			b[i * 4 + j] = e->w[i] >> (8 * j);
}

void model_entry_from_bytes(struct model_entry *e, const uint8_t b[16])
{
	int i, j;

	for (i = 0; i < 4; i++) {
		e->w[i] = 0;
		for (j = 0; j < 4; j++)
			e->w[i] |= (uint32_t)b[i * 4 + j] << (8 * j);
	}
}

const char *model_action_name(enum model_action a)
{
	switch (a) {
	case MODEL_NONE:	return "NONE";
	case MODEL_STORE:	return "STORE";
	case MODEL_MARK:	return "MARK";
	case MODEL_REPORT:	return "REPORT";
	case MODEL_TO_USER:	return "USER";
	}
	return "?";
}

/*
 * The rules for one served write, old -> new.  Every write is stored when
 * it completes ([ABI] "every guest write is in the table memory when the
 * instruction completes"; no unmask waits for KVM_RUN any more), so the
 * only question is whether it is reported, and whether this exit can
 * carry the report:
 *
 * R1 [ABI 3] Nothing happens exactly when old == new: "Rewriting an
 *    identical value must not exit", and Vector Control is stored verbatim.
 * R2 [ABI 4] "NO_UPDATE_EXITS: no reports at all for compatibility-format
 *    entries; remapping-format entries are reported as without the flag
 *    (with DEFER too if both flags are set)": whether the VMM must hear of
 *    the entry depends on the message the write leaves (model_wanted()).
 * R3 [ABI 4] "default: every write that changes address or data of an
 *    entry exits once."
 * R4 [ABI 4] "DEFER_UPDATES: a change to an entry that is masked after the
 *    write is not reported" (stored and remembered: MARK) ...
 * R5 [ABI 4] ... "the write that unmasks an entry changed while masked
 *    reports it".  A write that unmasks and changes the message at once (a
 *    QWORD at +0x8) is R3: the entry is not masked after it.
 * R6 [ABI 3] "Vector Control alone never exits" but for R5.
 * R7 [ABI 4] "A vCPU reports one entry per exit: if one instruction ...
 *    changes a second entry that needs a report, that element is a plain
 *    KVM_EXIT_MMIO the VMM emulates on the memory."  Only a write that
 *    needs a report can be refused; R2's and R4's never are.
 */
enum model_action model_expect(const struct model_entry *old,
			       const struct model_entry *new, bool defer,
			       bool quiet, bool changed, bool can_report)
{
	bool unmasks = model_masked(old) && !model_masked(new);
	bool needs_report;

	if (!memcmp(old->w, new->w, sizeof(old->w)))
		return MODEL_NONE;				/* R1 */
	if (!model_wanted(new, quiet))
		return MODEL_STORE;				/* R2 */

	if (model_msg_differs(old, new)) {
		if (defer && model_masked(new))
			return MODEL_MARK;			/* R4 */
		needs_report = true;				/* R3 */
	} else {
		needs_report = unmasks && changed;		/* R5, R6 */
	}
	if (!needs_report)
		return MODEL_STORE;
	return can_report ? MODEL_REPORT : MODEL_TO_USER;	/* R7 */
}

/* ---- One entry over time ------------------------------------------- */

/*
 * [ABI 2.1] the VMM wrote (or restored) the memory before define, so its
 * route was built from it: "A define starts with nothing unreported".
 */
void model_init(struct model_state *s, const struct model_entry *init,
		bool defer, bool quiet, enum model_vmm vmm)
{
	memset(s, 0, sizeof(*s));
	s->defer = defer;
	s->quiet = quiet;
	s->vmm = vmm;
	s->mem = *init;
	memcpy(s->told, init->w, sizeof(s->told));
	s->changed = false;
}

void model_insn_begin(struct model_state *s, bool other_raised)
{
	s->raised = false;
	s->other_raised = other_raised;
}

bool model_told_current(const struct model_state *s)
{
	return !memcmp(s->told, s->mem.w, sizeof(s->told));
}

/*
 * [ABI 4] "A vCPU reports one entry per exit": this exit can report this
 * entry unless another entry's report is raised (a second report of the
 * same entry is the same exit: it carries the entry as memory holds it
 * when the exit is taken).
 */
enum model_action model_expect_now(const struct model_state *s,
				   const struct model_entry *new)
{
	return model_expect(&s->mem, new, s->defer, s->quiet, s->changed,
			    !s->other_raised);
}

static void apply(struct model_entry *e, unsigned int reg, int len,
		  const uint8_t *val)
{
	uint8_t b[16];

	model_entry_to_bytes(e, b);
	if (reg >= 16)
		return;
	if (len > (int)(16 - reg))
		len = 16 - reg;
	memcpy(b + reg, val, len);
	model_entry_from_bytes(e, b);
}

const char *model_kernel_write(struct model_state *s, unsigned int reg,
			       int len, const uint8_t *val,
			       enum model_action action)
{
	struct model_entry new = s->mem;

	apply(&new, reg, len, val);

	switch (action) {
	case MODEL_NONE:
		if (memcmp(new.w, s->mem.w, sizeof(new.w)))
			return "NONE for a write that changes the entry";
		return NULL;
	case MODEL_STORE:
	case MODEL_MARK:
	case MODEL_REPORT:
		/* R4: remembered whatever the action; cleared by the exit. */
		if (s->defer && model_masked(&new) &&
		    model_wanted(&new, s->quiet) &&
		    model_msg_differs(&s->mem, &new))
			s->changed = true;
		s->mem = new;
		if (action == MODEL_REPORT)
			s->raised = true;
		return NULL;
	case MODEL_TO_USER:
		return model_user_write(s, reg, len, val);
	}
	return "unknown action";
}

const char *model_user_write(struct model_state *s, unsigned int reg, int len,
			     const uint8_t *val)
{
	struct model_entry old = s->mem;

	apply(&s->mem, reg, len, val);
	s->nr_mmio++;
	/*
	 * [ABI 3] "A VMM that sees an MMIO write change an entry's address or
	 * data updates its routing exactly as it does on
	 * KVM_EXIT_MSIX_ENTRY_UPDATED" (which carries the whole entry), and
	 * one that emulates an unmask takes the message from the entry's
	 * memory (QEMU re-reads the entry on every write).  The kernel sees
	 * none of it: a change it marked stays marked.
	 */
	if (s->vmm == MODEL_VMM_REREAD || model_msg_differs(&old, &s->mem))
		memcpy(s->told, s->mem.w, sizeof(s->told));
	return NULL;
}

/*
 * [ABI 4] "Reports (KVM_EXIT_MSIX_ENTRY_UPDATED, taken after the
 * instruction)": the VMM gets the entry as memory holds it then, which
 * reports every change made to it so far, deferred ones included.
 *
 * P-STEADY: once the exit is handled and the guest runs again, the VMM
 * holds the current address/data of every entry it must hear of
 * (model_wanted()): without DEFER_UPDATES always ("every write that
 * changes address or data of an entry exits once"), with it whenever the
 * entry is unmasked (a masked entry's changes wait for its unmask).
 */
static const char *const steady[] = {
	"P-STEADY: after the instruction, the entry holds address/data the VMM was never told (no DEFER_UPDATES: every change is reported)",
	"P-STEADY: after the instruction, an unmasked entry holds address/data the VMM was never told",
};

const char *model_insn_end(struct model_state *s)
{
	if (s->raised) {
		memcpy(s->told, s->mem.w, sizeof(s->told));
		s->changed = false;
		s->raised = false;
		s->nr_exits++;
	}
	s->other_raised = false;
	if (!model_wanted(&s->mem, s->quiet) || model_told_current(s))
		return NULL;
	if (!s->defer)
		return steady[0];
	if (!model_masked(&s->mem))
		return steady[1];
	return NULL;
}
