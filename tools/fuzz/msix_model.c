// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference model of the kvm-msix guest-access rules.  Every rule below is
 * quoted or derived from one of
 *   [PCI]  ../shared/msix-semantics.md, "What the PCI specification requires"
 *   [ABI]  Documentation/virt/kvm/msix.rst, sections 3 and 4
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

bool model_msg_differs(const struct model_entry *a, const struct model_entry *b)
{
	return a->w[MODEL_ADDR_LO] != b->w[MODEL_ADDR_LO] ||
	       a->w[MODEL_ADDR_HI] != b->w[MODEL_ADDR_HI] ||
	       a->w[MODEL_DATA] != b->w[MODEL_DATA];
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
	case MODEL_NONE:		return "NONE";
	case MODEL_STORE_CTRL:		return "CTRL";
	case MODEL_STORE_DEFER:		return "MARK";
	case MODEL_REPORT:		return "REPORT";
	case MODEL_REPORT_UNMASK:	return "REPORT_UNMASK";
	case MODEL_TO_USER:		return "USER";
	}
	return "?";
}

/*
 * The rules for one served write, old -> new:
 *
 * R1 [ABI 3] "Address/Data write, no change: nothing happens; no exit", and
 *    Vector Control is "stored verbatim": an identical value changes
 *    nothing either.  Nothing happens exactly when old == new.
 * R2 [ABI 3] "Vector Control write ... no exit", unless R4 applies.
 * R3 [ABI 4] With DEFER_UPDATES, "writes that change the address or data
 *    of a masked entry are stored without an exit": masked before the write
 *    (a masked entry) and after it (else it is the unmasking write of R5).
 *    No exit, whether or not this exit could report.
 * R4 [ABI 4] "the write that then unmasks the entry exits instead,
 *    reporting the new contents ... and the unmask takes effect ... when
 *    the VMM calls KVM_RUN again": an unmask of an entry userspace has not
 *    been told about reports and holds the unmask until KVM_RUN.  ("an
 *    unmask never delivers through a route the VMM has not been told
 *    about".)
 * R5 [ABI 4] "When a single write both changes Data and clears Mask (a
 *    QWORD at entry + 0x8), the kernel stores Data, reports the entry with
 *    the new vector_ctrl and performs the unmask ... when the VMM calls
 *    KVM_RUN again."
 * R6 [ABI 3] "Address/Data write, change: stored, then
 *    KVM_EXIT_MSIX_ENTRY_UPDATED" in every other case.
 * R7 [ABI 3] "A vCPU reports one entry per exit: should an element change
 *    an entry while an earlier change is not yet reported, that element is
 *    left to the VMM as KVM_EXIT_MMIO": whenever R4-R6 require a report and
 *    this exit cannot carry one, the whole write goes to userspace.
 */
enum model_action model_expect(const struct model_entry *old,
			       const struct model_entry *new, bool defer,
			       bool unreported, bool can_report)
{
	bool was_masked = model_masked(old), now_masked = model_masked(new);
	enum model_action report;

	if (!memcmp(old->w, new->w, sizeof(old->w)))
		return MODEL_NONE;				/* R1 */

	if (!model_msg_differs(old, new)) {
		if (!(was_masked && !now_masked && unreported))
			return MODEL_STORE_CTRL;		/* R2 */
		report = MODEL_REPORT_UNMASK;			/* R4 */
	} else if (defer && was_masked && now_masked) {
		return MODEL_STORE_DEFER;			/* R3 */
	} else if (was_masked && !now_masked) {
		report = MODEL_REPORT_UNMASK;			/* R5 */
	} else {
		report = MODEL_REPORT;				/* R6 */
	}
	return can_report ? report : MODEL_TO_USER;		/* R7 */
}

/* ---- One entry over time ------------------------------------------- */

void model_init(struct model_state *s, const struct model_entry *init,
		bool defer, enum model_vmm vmm)
{
	memset(s, 0, sizeof(*s));
	s->defer = defer;
	s->vmm = vmm;
	s->mem = *init;
	/* [ABI 2.1] the VMM wrote (or restored) the memory before define. */
	memcpy(s->told, init->w, sizeof(s->told));
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

#define told_current model_told_current

/*
 * Userspace lacks the entry's current address/data when changes were
 * stored silently (R3), or a report is raised and its exit not yet taken,
 * unless the VMM has re-read the entry since (emulating a KVM_EXIT_MMIO of
 * the same instruction).
 */
bool model_unreported(const struct model_state *s)
{
	return !told_current(s);
}

bool model_maybe_unreported(const struct model_state *s)
{
	return s->deferred || s->raised || !told_current(s);
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

/*
 * P-UNMASK [ABI 4] "an unmask never delivers through a route the VMM has
 * not been told about": whenever the stored Mask bit goes from 1 to 0, the
 * VMM's route must match the entry's address and data.
 */
static const char *check_unmask(const struct model_state *s,
				const struct model_entry *before,
				const char *who)
{
	if (model_masked(before) && !model_masked(&s->mem) && !told_current(s))
		return who;
	return NULL;
}

const char *model_kernel_write(struct model_state *s, unsigned int reg,
			       int len, const uint8_t *val,
			       enum model_action action)
{
	struct model_entry old = s->mem, new = s->mem;

	apply(&new, reg, len, val);

	switch (action) {
	case MODEL_NONE:
		return NULL;
	case MODEL_STORE_CTRL:
		s->mem = new;
		return check_unmask(s, &old,
				    "P-UNMASK: the kernel unmasked (CTRL) an entry whose address/data userspace has not received");
	case MODEL_STORE_DEFER:
		s->mem = new;
		s->deferred = true;
		return NULL;
	case MODEL_REPORT:
		s->mem = new;
		s->raised = true;
		s->nr_exits++;
		return check_unmask(s, &old,
				    "P-UNMASK: REPORT stored an unmask before userspace saw the entry");
	case MODEL_REPORT_UNMASK:
		/* [ABI 4] "Until then the entry's memory still shows it masked." */
		s->pending_ctrl = new.w[MODEL_CTRL];
		s->unmask_pending = true;
		new.w[MODEL_CTRL] = old.w[MODEL_CTRL];
		s->mem = new;
		s->raised = true;
		s->nr_exits++;
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
	 * KVM_EXIT_MSIX_ENTRY_UPDATED" (which carries the whole entry).
	 */
	if (s->vmm == MODEL_VMM_REREAD || model_msg_differs(&old, &s->mem))
		memcpy(s->told, s->mem.w, sizeof(s->told));
	return check_unmask(s, &old,
			    "P-UNMASK (VMM side): the VMM emulated an unmask of an entry whose deferred address/data it was never told");
}

/*
 * [ABI 4] "The exit is taken after the instruction that made the change has
 * completed ... address, data and vector_ctrl hold the entry's contents
 * when the exit is taken", then on KVM_RUN a held unmask is stored.
 *
 * P-STEADY: once the exit is handled and the guest runs again, an unmasked
 * entry's address/data are what userspace was told ("userspace is told
 * whenever the entry becomes or stays unmasked with address/data it has not
 * been told about"; the unmasked-entry change of R6 included).
 */
const char *model_insn_end(struct model_state *s)
{
	const char *err = NULL;

	if (s->raised) {
		memcpy(s->told, s->mem.w, sizeof(s->told));
		s->deferred = false;
		s->raised = false;
	}
	if (s->unmask_pending) {
		struct model_entry old = s->mem;

		s->unmask_pending = false;
		s->mem.w[MODEL_CTRL] = s->pending_ctrl;
		err = check_unmask(s, &old,
				   "P-UNMASK: the held unmask was stored on KVM_RUN before userspace saw the entry");
	}
	s->other_raised = false;
	if (!err && !model_masked(&s->mem) && !told_current(s))
		err = "P-STEADY: after the instruction, an unmasked entry holds address/data userspace was never told";
	return err;
}
