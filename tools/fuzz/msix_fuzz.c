// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: virt/kvm/msix_decode.h (the real header, built in
 * userspace through kernel-shim.h) against the reference model in
 * msix_model.c.
 *
 * The input is read as a byte stream (README.md, "Input format"):
 *   a layout (table, PBA, passthrough window), then a list of operations:
 *     access   msix_decode() of one guest access near an interesting edge
 *     decide   msix_decide_write() of an arbitrary (old, new, flags)
 *     insn     one guest instruction (1-4 DWORD/QWORD/byte elements, up or
 *              down, maybe after another entry's report) on one entry,
 *              decoded, decided and applied the way msix.c applies it
 * Any disagreement or broken property prints the steps so far and aborts.
 * Before any input, the Linux reprogramming sequences are run once and
 * their exits counted against the numbers the ABI gives (selfcheck()).
 *
 * Knobs (environment, read once):
 *   MSIX_FUZZ_CALLER=kernel  (default) the caller msix.c is specified to
 *                            be: a per-entry dirty mark, set by MARK
 *                            (none at define), cleared when the exit
 *                            reporting the entry is taken; can_report unless another
 *                            entry's report is raised; a remapping-format
 *                            entry held while its report is not
 *                            acknowledged by KVM_RUN
 *   MSIX_FUZZ_CALLER=keepmark  a broken caller: clears the mark when the
 *                            report is raised, so a MARK later in the same
 *                            instruction survives the exit (a second report
 *                            for one reprogram)
 *   MSIX_FUZZ_CALLER=nohold  a broken caller: releases the hold of a
 *                            remapping-format entry when its report is
 *                            raised instead of on KVM_RUN (P-HOLD)
 *   MSIX_FUZZ_CALLER=markdefine  a broken caller: with DEFER_UPDATES,
 *                            marks every masked entry at define (a report
 *                            at the first unmask the VMM does not need)
 *   MSIX_FUZZ_VMM=reread     (default) or strict: see enum model_vmm
 *   MSIX_FUZZ_RAW=1          also hold raw layouts (ones KVM_DEFINE_MSIX_TABLE
 *                            rejects, with lengths below 8 or misaligned
 *                            bases) to the offset invariants
 *   MSIX_FUZZ_STATS=1        print counters at exit
 *   MSIX_FUZZ_TRACE=1        print the steps of every input (to read what
 *                            a seed or a crash file does)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel-shim.h"
#include "msix_decode.h"
#include "msix_model.h"

typedef unsigned __int128 u128;

#define PAGE		4096ULL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define INT_MAX_	0x7fffffffULL

/* ---- knobs and counters -------------------------------------------- */

enum caller { CALLER_KERNEL, CALLER_KEEPMARK, CALLER_NOHOLD, CALLER_MARKDEFINE };
static const char *const caller_name[] = {
	"kernel", "keepmark", "nohold", "markdefine",
};

static enum caller caller;
static bool vmm_strict, raw_strict, want_stats;

enum lclass { L_VALID, L_REJECTED, L_RAW, NR_LCLASS };
static const char *const lclass_name[] = { "valid", "rejected", "raw" };

static unsigned long st_layout[NR_LCLASS], st_window;
static unsigned long st_where[NR_LCLASS][4];
#define NR_ACTIONS 5
static unsigned long st_action[2][NR_ACTIONS];	/* [insn, decide] */
static unsigned long st_insn, st_clamped_raw;

/* ---- input --------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static u8 rd8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static u16 rd16(struct in *in)
{
	return rd8(in) | (u16)rd8(in) << 8;
}

static u32 rd32(struct in *in)
{
	return rd16(in) | (u32)rd16(in) << 16;
}

static u64 rd64(struct in *in)
{
	return rd32(in) | (u64)rd32(in) << 32;
}

/* ---- what happened so far, for the report on failure ---------------- */

static char trace[16384];
static size_t trace_len;

__attribute__((format(printf, 1, 2)))
static void tr(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (trace_len >= sizeof(trace) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(trace + trace_len, sizeof(trace) - trace_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		trace_len += n;
	if (trace_len > sizeof(trace) - 1)
		trace_len = sizeof(trace) - 1;
}

static bool tracing;	/* formatting costs: only on the replay after a failure */

#define TR(...) do { if (tracing) tr(__VA_ARGS__); } while (0)

static const uint8_t *cur_data;
static size_t cur_size;
static char fail_buf[512];

static void run_input(const uint8_t *data, size_t size);

/*
 * On the first failure, run the same input again with tracing on (the
 * harness is deterministic), print the trace and abort: libFuzzer saves
 * the input as a crash artifact.
 */
__attribute__((noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fail_buf, sizeof(fail_buf), fmt, ap);
	va_end(ap);
	if (!tracing) {
		tracing = true;
		trace_len = 0;
		run_input(cur_data, cur_size);	/* fails again, traced */
	}
	fprintf(stderr, "\n==== msix_fuzz: %s\n---- steps:\n%s---- (caller=%s vmm=%s)\n",
		fail_buf, trace, caller_name[caller],
		vmm_strict ? "strict" : "reread");
	abort();
}

/* ---- the array_index_nospec() hook (kernel-shim.h) ----------------- */

static bool clamp_allowed;

void shim_nospec_clamped(u64 index, u64 size)
{
	if (clamp_allowed) {
		st_clamped_raw++;
		return;
	}
	fail("array_index_nospec(%#llx, %#llx) had to clamp: the decoder passed an index it had not bounds-checked",
	     (unsigned long long)index, (unsigned long long)size);
}

/* ---- layouts -------------------------------------------------------- */

struct layout {
	struct msix_layout k;	/* what the decoder sees */
	struct model_layout m;	/* the same, for the model */
	enum lclass cls;
	u32 nr;
};

static bool overlap128(u128 a, u128 alen, u128 b, u128 blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static bool contains128(u128 o, u128 olen, u128 i, u128 ilen)
{
	return i >= o && i + ilen <= o + olen;
}

/*
 * The layout rules of msix_check_table() and msix_check_window() in
 * virt/kvm/msix.c, restated in 128-bit arithmetic: 1..2048 entries of 16
 * bytes, a PBA of DIV_ROUND_UP(n, 64) QWORDs, 8-byte aligned bases, no range
 * reaching 2^64 (gpa + size must not wrap), table and PBA disjoint; a window
 * is page aligned, at most INT_MAX bytes, does not wrap and holds both.
 */
static bool layout_valid(const struct msix_layout *l)
{
	u64 nr = l->table_len / 16;

	if (!l->table_len || l->table_len % 16 || nr > KVM_MSIX_MAX_ENTRIES)
		return false;
	if (l->pba_len != (nr + 63) / 64 * 8)
		return false;
	if ((l->table_gpa | l->pba_gpa) & 7)
		return false;
	if ((u128)l->table_gpa + l->table_len > UINT64_MAX ||
	    (u128)l->pba_gpa + l->pba_len > UINT64_MAX)
		return false;
	if (overlap128(l->table_gpa, l->table_len, l->pba_gpa, l->pba_len))
		return false;
	if (!l->window_len)
		return true;
	if (l->window_len > INT_MAX_ || (l->window_gpa | l->window_len) & (PAGE - 1))
		return false;
	if ((u128)l->window_gpa + l->window_len > UINT64_MAX)
		return false;
	return contains128(l->window_gpa, l->window_len, l->table_gpa, l->table_len) &&
	       contains128(l->window_gpa, l->window_len, l->pba_gpa, l->pba_len);
}

/* Ranges where msix_check_table() would put them, near an anchor. */
static void gen_valid(struct in *in, struct msix_layout *l, bool window)
{
	u32 nr, tlen, plen, gap, span;
	u8 b = rd8(in);
	bool pba_first = b & 1;
	unsigned int anchor = (b >> 2) & 3;
	u64 base, k;

	switch ((b >> 4) & 3) {
	case 0:
		nr = 1 + rd8(in) % 72;		/* around one PBA QWORD */
		break;
	case 1:
		nr = KVM_MSIX_MAX_ENTRIES - rd8(in) % 4;
		break;
	default:
		nr = 1 + rd16(in) % KVM_MSIX_MAX_ENTRIES;
	}
	tlen = nr * 16;
	plen = (nr + 63) / 64 * 8;
	gap = (b & 2) ? 8 * (rd16(in) % 1024) : 0;
	span = tlen + gap + plen;

	if (!window) {
		k = 8 * (u64)rd16(in);
		switch (anchor) {
		case 0:
			base = k;
			break;
		case 1:		/* the highest end allowed is 2^64 - 8 */
			base = 0ULL - 8 - span - k;
			break;
		case 2:
			base = rd64(in) & ~7ULL;
			break;
		default:	/* across 4 GiB */
			base = (1ULL << 32) - span / 2 - k;
			base &= ~7ULL;
		}
	} else {
		u64 before = PAGE * (rd8(in) % 4), in_page = 8 * (rd16(in) % 512);
		u64 len = (before + in_page + span + PAGE - 1) & ~(PAGE - 1);
		u64 w;

		len += PAGE * (rd8(in) % 4);
		if (b & 0x40)	/* up to the largest window allowed */
			len = INT_MAX_ + 1 - PAGE - PAGE * (rd16(in) % 16);
		switch (anchor) {
		case 0:
			w = PAGE * rd8(in);
			break;
		case 1:		/* the highest end allowed is 2^64 - PAGE */
			w = 0ULL - PAGE - len - PAGE * (rd8(in) % 4);
			break;
		case 2:
			w = rd64(in) & ~(PAGE - 1);
			break;
		default:
			w = (1ULL << 32) - PAGE * (1 + rd8(in));
		}
		l->window_gpa = w;
		l->window_len = len;
		if (b & 0x80)	/* at the window's end */
			base = w + len - span - 8 * (rd8(in) % 4);
		else
			base = w + before + in_page;
	}
	l->table_len = tlen;
	l->pba_len = plen;
	l->table_gpa = pba_first ? base + plen + gap : base;
	l->pba_gpa = pba_first ? base : base + tlen + gap;
}

/*
 * Layouts KVM_DEFINE_MSIX_TABLE rejects but that keep what the decoder's
 * arithmetic relies on (8-aligned bases, lengths multiples of 8, at least
 * 8): tables and PBAs that overlap or wrap past 2^64, too many entries, a
 * PBA of the wrong size, windows misaligned, too large, wrapping or not
 * holding the table.  Checked for memory safety only.
 */
static void gen_rejected(struct in *in, struct msix_layout *l)
{
	u8 how = rd8(in);

	gen_valid(in, l, how & 0x80);
	switch (how & 0xf) {
	case 0:
		l->pba_gpa = l->table_gpa + 8 * (rd16(in) % (l->table_len / 8));
		break;
	case 1:
		l->table_gpa = 0ULL - 8 * (1 + rd16(in) % (l->table_len / 8));
		break;
	case 2:
		l->pba_gpa = 0ULL - 8 * (1 + rd8(in) % (l->pba_len / 8));
		break;
	case 3:
		l->table_len = 16 * (KVM_MSIX_MAX_ENTRIES + 1 + rd32(in) % 0x0ffff000);
		break;
	case 4:
		l->pba_len = 8 * (1 + rd16(in));
		break;
	case 5:
		l->table_len = 8 * (1 + 2 * (rd16(in) % 4096));
		break;
	case 6:
		l->window_gpa += 8 * (1 + rd8(in));
		break;
	case 7:
		l->window_len = (rd64(in) | (1ULL << 31)) & ~(PAGE - 1);
		break;
	case 8:
		l->window_gpa = 0ULL - PAGE * (1 + rd8(in) % 16);
		l->window_len = PAGE * (1 + rd16(in));
		break;
	case 9:
		l->window_gpa = l->table_gpa + PAGE * (1 + rd8(in));
		l->window_len = PAGE * (1 + rd8(in) % 4);
		break;
	case 10:
		l->table_gpa = rd64(in) & ~7ULL;
		l->pba_gpa = rd64(in) & ~7ULL;
		break;
	default:
		l->window_gpa = rd64(in) & ~7ULL;
		l->window_len = 8 * (u64)rd32(in);
	}
}

static u64 edgy64(struct in *in)
{
	u8 s = rd8(in);

	switch (s & 3) {
	case 0:
		return rd8(in);
	case 1:
		return 0ULL - rd8(in);
	case 2:
		return (1ULL << (s >> 2) % 64) + (int8_t)rd8(in);
	default:
		return rd64(in);
	}
}

/* Anything struct msix_layout can hold. */
static void gen_raw(struct in *in, struct msix_layout *l)
{
	l->table_gpa = edgy64(in);
	l->pba_gpa = edgy64(in);
	l->table_len = (u32)edgy64(in);
	l->pba_len = (u32)edgy64(in);
	if (rd8(in) & 1) {
		l->window_gpa = edgy64(in);
		l->window_len = edgy64(in);
	}
}

static void gen_layout(struct in *in, struct layout *L)
{
	u8 sel = rd8(in);

	memset(L, 0, sizeof(*L));
	switch (sel % 8) {
	case 0: case 1: case 2:
		gen_valid(in, &L->k, false);
		break;
	case 3: case 4: case 5:
		gen_valid(in, &L->k, true);
		break;
	case 6:
		gen_rejected(in, &L->k);
		break;
	default:
		gen_raw(in, &L->k);
	}
	if (layout_valid(&L->k))
		L->cls = L_VALID;
	else if (!((L->k.table_gpa | L->k.pba_gpa) & 7) &&
		 L->k.table_len >= 8 && L->k.pba_len >= 8 &&
		 !((L->k.table_len | L->k.pba_len) & 7))
		L->cls = L_REJECTED;
	else
		L->cls = L_RAW;
	L->nr = L->k.table_len / 16;
	L->m.table_gpa = L->k.table_gpa;
	L->m.table_len = L->k.table_len;
	L->m.pba_gpa = L->k.pba_gpa;
	L->m.pba_len = L->k.pba_len;
	L->m.window_gpa = L->k.window_gpa;
	L->m.window_len = L->k.window_len;
	st_layout[L->cls]++;
	if (L->k.window_len && L->cls == L_VALID)
		st_window++;
	TR("layout %s: table %#llx+%#x pba %#llx+%#x window %#llx+%#llx\n",
	   lclass_name[L->cls], (unsigned long long)L->k.table_gpa,
	   L->k.table_len, (unsigned long long)L->k.pba_gpa, L->k.pba_len,
	   (unsigned long long)L->k.window_gpa,
	   (unsigned long long)L->k.window_len);
}

/* ---- decode --------------------------------------------------------- */

static const char *const where_name[] = { "USER", "TABLE", "PBA", "WINDOW" };

/*
 * Memory safety of what msix.c does with the result, for every layout the
 * decoder can meet: an offset inside the range it names, the access fitting
 * there, the offset naming @addr; table and PBA accesses aligned DWORDs or
 * QWORDs (msix_table_write() copies them into one 16-byte entry).
 */
static void check_offset(const struct layout *L, u64 addr, int len,
			 enum msix_access w, u64 off)
{
	u64 base, rlen;

	switch (w) {
	case MSIX_ACCESS_USER:
		return;
	case MSIX_ACCESS_TABLE:
		base = L->k.table_gpa;
		rlen = L->k.table_len;
		break;
	case MSIX_ACCESS_PBA:
		base = L->k.pba_gpa;
		rlen = L->k.pba_len;
		break;
	case MSIX_ACCESS_WINDOW:
		base = L->k.window_gpa;
		rlen = L->k.window_len;
		break;
	default:
		fail("msix_decode() returned %d", w);
	}
	if ((u128)off + (u128)(u64)len > rlen)
		fail("%s access %#llx/%d: offset %#llx + len past the range's length %#llx",
		     where_name[w], (unsigned long long)addr, len,
		     (unsigned long long)off, (unsigned long long)rlen);
	if (base + off != addr)
		fail("%s access %#llx/%d: offset %#llx does not name the address (base %#llx)",
		     where_name[w], (unsigned long long)addr, len,
		     (unsigned long long)off, (unsigned long long)base);
	if (w == MSIX_ACCESS_WINDOW)
		return;
	if ((len != 4 && len != 8) || addr % len || off % len ||
	    (w == MSIX_ACCESS_TABLE && off % 16 + len > 16))
		fail("%s access %#llx/%d (offset %#llx) is not an aligned DWORD/QWORD within one entry",
		     where_name[w], (unsigned long long)addr, len,
		     (unsigned long long)off);
}

static enum msix_access decode(const struct layout *L, u64 addr, int len,
			       u64 *offp)
{
	u64 off = 0xdeadbeefdeadbeefULL;
	uint64_t moff = 0;
	enum msix_access w;
	enum model_where mw;

	clamp_allowed = L->cls == L_RAW && !raw_strict;
	w = msix_decode(&L->k, addr, len, &off);
	clamp_allowed = false;
	st_where[L->cls][w & 3]++;
	TR("  decode %#llx/%d -> %s %#llx\n", (unsigned long long)addr, len,
	   w <= MSIX_ACCESS_WINDOW ? where_name[w] : "?",
	   w == MSIX_ACCESS_USER ? 0ULL : (unsigned long long)off);

	if (L->cls != L_RAW || raw_strict)
		check_offset(L, addr, len, w, off);

	if (L->cls == L_VALID) {
		mw = model_classify(&L->m, addr, len, &moff);
		if ((int)mw != (int)w ||
		    (w != MSIX_ACCESS_USER && moff != off))
			fail("msix_decode(%#llx, len %d) = %s off %#llx; the model says %s off %#llx",
			     (unsigned long long)addr, len, where_name[w & 3],
			     (unsigned long long)off, where_name[mw],
			     (unsigned long long)moff);
	}
	*offp = off;
	return w;
}

static void op_access(struct in *in, const struct layout *L)
{
	static const int lens[16] = {
		1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 0, 3, 16, -1, -8, 0x7fffffff,
	};
	u8 s = rd8(in);
	u64 points[9] = {
		L->k.table_gpa, L->k.table_gpa + L->k.table_len,
		L->k.pba_gpa, L->k.pba_gpa + L->k.pba_len,
		L->k.window_gpa, L->k.window_gpa + L->k.window_len,
		0, 0ULL - 8, 0,	/* [8]: anywhere */
	};
	u64 addr, off;
	int len;

	addr = s % 9 == 8 ? rd64(in) : points[s % 9];
	if (s & 0x80)
		addr += (int64_t)(int16_t)rd16(in);
	else
		addr += (int8_t)rd8(in);
	len = lens[rd8(in) % 16];
	decode(L, addr, len, &off);
}

/* ---- decide --------------------------------------------------------- */

static void to_kernel(struct kvm_msix_entry *k, const struct model_entry *m)
{
	uint8_t b[16];

	model_entry_to_bytes(m, b);
	memcpy(k, b, sizeof(*k));
}

static enum model_action to_model(int a)
{
	switch (a) {
	case MSIX_WRITE_NONE:
		return MODEL_NONE;
	case MSIX_WRITE_STORE:
		return MODEL_STORE;
	case MSIX_WRITE_MARK:
		return MODEL_MARK;
	case MSIX_WRITE_REPORT:
		return MODEL_REPORT;
	case MSIX_WRITE_USER:
		return MODEL_TO_USER;
	}
	fail("msix_decide_write() returned %d", a);
}

/*
 * Properties of msix_decide_write() stated on their own, each from the
 * ABI (the rule numbers are model_expect()'s in msix_model.c), for the
 * arguments it was given (@dirty: the caller's mark):
 *   P-NONE     NONE iff old == new (R1): never told when nothing changed.
 *   P-QUIET    with NO_UPDATE_EXITS, a write leaving the entry in
 *              compatibility format never exits, not even to userspace
 *              (R2).
 *   P-REMAP    a change to a remapping-format message is never stored
 *              silently (STORE): it is reported, marked or left to the
 *              VMM, so that the caller can hold the entry's interrupts
 *              until the VMM has seen it ([ABI] rule 2).
 *   P-CHANGE   a change the VMM must hear of exits (REPORT, or USER when
 *              this exit cannot carry it), unless DEFER_UPDATES and the
 *              entry is masked after the write (R3, R4).
 *   P-VCTRL    a write that changes only Vector Control exits only as the
 *              unmask of an entry changed while masked, and that unmask
 *              does exit (R5, R6).
 *   P-DEFER    with DEFER_UPDATES, a write leaving the entry masked never
 *              exits, whether or not this exit could report (R4).
 *   P-CANNOT   REPORT only when this exit can report; USER only when it
 *              cannot (R7: only a needed report sends a write to the VMM).
 *   P-MARK     MARK only with DEFER_UPDATES, for an address/data change
 *              the VMM must hear of that leaves the entry masked.
 */
static void check_props(const struct model_entry *o, const struct model_entry *n,
			bool defer, bool quiet, bool dirty, bool can_report,
			enum model_action a)
{
	bool same = !memcmp(o->w, n->w, sizeof(o->w));
	bool msg = model_msg_differs(o, n);
	bool unmask = model_masked(o) && !model_masked(n);
	bool wanted = model_wanted(n, quiet);
	bool exits = a == MODEL_REPORT || a == MODEL_TO_USER;
	const char *name = model_action_name(a);

	if ((a == MODEL_NONE) != same)
		fail("P-NONE: %s for a write that %s the entry", name,
		     same ? "does not change" : "changes");
	if (!wanted && a != MODEL_NONE && a != MODEL_STORE)
		fail("P-QUIET: NO_UPDATE_EXITS and the new message is in compatibility format, yet %s",
		     name);
	if (msg && model_remap(n) && a == MODEL_STORE)
		fail("P-REMAP: a change to a remapping-format message is stored without a report or a mark");
	if (msg && wanted && !(defer && model_masked(n)) && !exits)
		fail("P-CHANGE: an address/data change the VMM must hear of does not exit (%s)",
		     name);
	if (!msg && exits && !(unmask && dirty && wanted))
		fail("P-VCTRL: a Vector Control-only write exits (%s), not as the unmask of an entry changed while masked",
		     name);
	if (!msg && unmask && dirty && wanted && !exits)
		fail("P-VCTRL: the unmask of an entry changed while masked does not exit (%s)",
		     name);
	if (defer && model_masked(n) && exits)
		fail("P-DEFER: DEFER_UPDATES, the entry is masked after the write, yet %s",
		     name);
	if ((a == MODEL_REPORT && !can_report) ||
	    (a == MODEL_TO_USER && can_report))
		fail("P-CANNOT: %s although this exit %s report", name,
		     can_report ? "can" : "cannot");
	if (a == MODEL_MARK &&
	    !(defer && msg && model_masked(n) && wanted))
		fail("P-MARK: MARK outside deferred mode, without an address/data change the VMM must hear of, or for an entry left unmasked");
}

/*
 * @dirty and @can_report are what the caller passed; @changed and @can are
 * the model's own view of the entry (equal to them when the caller is
 * right).  The decision must be the model's.
 */
static void check_decision(const struct model_entry *o,
			   const struct model_entry *n, bool defer, bool quiet,
			   bool dirty, bool can_report, bool changed, bool can,
			   enum model_action got)
{
	enum model_action want = model_expect(o, n, defer, quiet, changed, can);

	check_props(o, n, defer, quiet, dirty, can_report, got);
	if (want != got)
		fail("msix_decide_write(old {%#x %#x %#x %#x}, new {%#x %#x %#x %#x}, defer=%d, quiet=%d, dirty=%d, can_report=%d) = %s; the model expects %s (changed while masked, not reported: %d; can report: %d)",
		     o->w[0], o->w[1], o->w[2], o->w[3],
		     n->w[0], n->w[1], n->w[2], n->w[3], defer, quiet, dirty,
		     can_report, model_action_name(got),
		     model_action_name(want), changed, can);
}

static u32 pick(struct in *in, u32 cur, const u32 *told)
{
	/* The first eight as before issue 10; then remapping-format values. */
	static const u32 palette[16] = {
		0, 1, 0xfee00000, 0xfee01000, 0x4041, 0x4042, 0x00010001,
		0xffffffff,
		0xfee00010, 0xfee01010, 0xfee0001c, 0x10, 0xfee00004,
		0xfee0000c, 0x40ff, 0x80000000,
	};
	u8 s = rd8(in);

	switch (s & 7) {
	case 0: return cur;
	case 1: return cur ^ 1;
	case 2: return cur | 1;
	case 3: return cur & ~1u;
	case 4: return palette[(s >> 3) & 15];
	case 5: return rd32(in);
	case 6: return cur ^ (1u << ((s >> 3) & 31));
	default: return told ? *told : cur + 1;
	}
}

/* An arbitrary (old, new, flags), reachable or not. */
static void op_decide(struct in *in)
{
	struct model_entry o, n;
	struct kvm_msix_entry ko, kn;
	u8 f = rd8(in);
	bool defer = f & 1, dirty = f & 2, can = f & 4, quiet = f & 8;
	int i, a;

	for (i = 0; i < 4; i++)
		o.w[i] = pick(in, i == 3 ? 1 : 0xfee00000, NULL);
	for (i = 0; i < 4; i++)
		n.w[i] = (f >> (4 + i)) & 1 ? pick(in, o.w[i], NULL) : o.w[i];
	to_kernel(&ko, &o);
	to_kernel(&kn, &n);
	a = msix_decide_write(&ko, &kn, defer, quiet, dirty, can);
	TR("decide(old {%#x %#x %#x %#x}, new {%#x %#x %#x %#x}, defer=%d, quiet=%d, dirty=%d, can_report=%d) -> %d\n",
	   o.w[0], o.w[1], o.w[2], o.w[3], n.w[0], n.w[1], n.w[2], n.w[3],
	   defer, quiet, dirty, can, a);
	st_action[1][to_model(a)]++;
	check_decision(&o, &n, defer, quiet, dirty, can, dirty, can,
		       to_model(a));
}

/* ---- instructions on one entry --------------------------------------- */

struct entry_run {
	bool started;
	const struct layout *L;
	struct layout fallback;
	u32 index;
	struct model_state s;
	/* The caller's state for the entry (what msix.c keeps). */
	bool dirty_k;	/* changed while masked, not reported */
	bool raised_k;	/* this vCPU's exit reports it; not acknowledged */
};

static void entry_start(struct in *in, struct entry_run *E,
			const struct layout *L)
{
	struct model_entry init = { { 0, 0, 0, MODEL_MASKBIT } };
	u8 f = rd8(in);
	bool defer = f & 1, quiet = f & 4;
	int i;

	if (L->cls != L_VALID) {
		/* A plain valid layout to drive the entry through. */
		memset(&E->fallback, 0, sizeof(E->fallback));
		E->fallback.k.table_gpa = 0xfebf0000;
		E->fallback.k.table_len = 16 * 8;
		E->fallback.k.pba_gpa = 0xfebf0800;
		E->fallback.k.pba_len = 8;
		E->fallback.m = (struct model_layout){
			.table_gpa = 0xfebf0000, .table_len = 16 * 8,
			.pba_gpa = 0xfebf0800, .pba_len = 8,
		};
		E->fallback.cls = L_VALID;
		E->fallback.nr = 8;
		L = &E->fallback;
	}
	E->L = L;
	E->index = rd16(in) % L->nr;
	if (f & 2)	/* restored rather than reset contents */
		for (i = 0; i < 4; i++)
			init.w[i] = pick(in, init.w[i], NULL);
	model_init(&E->s, &init, defer, quiet,
		   vmm_strict ? MODEL_VMM_STRICT : MODEL_VMM_REREAD);
	/* KVM_DEFINE_MSIX_TABLE starts with nothing unreported. */
	E->dirty_k = caller == CALLER_MARKDEFINE && defer && model_masked(&init);
	E->raised_k = false;
	E->started = true;
	TR("entry %u of the table, defer=%d, quiet=%d, initial {%#x %#x %#x %#x}\n",
	   E->index, defer, quiet, init.w[0], init.w[1], init.w[2], init.w[3]);
}

/*
 * P-HOLD [ABI rule 2]: a remapping-format entry is delivered through the
 * VMM's route, so it is "held ... from the guest write that changes its
 * address/data until the VMM has seen the change".  The caller holds it
 * while its report is raised and not acknowledged by KVM_RUN; the ABI also
 * holds it while it is changed-but-not-reported in deferred mode, which
 * msix.c leaves to the mask (such an entry is masked until the unmask that
 * reports it), so the harness does not count that.  Whenever such an entry
 * is unmasked and not held, the VMM's route must be built from its current
 * address/data.
 */
static void check_hold(const struct entry_run *E, const char *when)
{
	const struct model_state *s = &E->s;
	bool held = caller != CALLER_NOHOLD && E->raised_k;

	if (!model_masked(&s->mem) && model_remap(&s->mem) && !held &&
	    !model_told_current(s))
		fail("P-HOLD (%s): a remapping-format entry is unmasked and not held, and the VMM's route is not built from its address/data: an interrupt would leave through a stale route",
		     when);
}

static void element(struct entry_run *E, unsigned int reg, int len,
		    const uint8_t *val)
{
	struct model_state *s = &E->s;
	u64 addr = E->L->k.table_gpa + 16ULL * E->index + reg, off;
	struct model_entry o = s->mem, n = s->mem;
	struct kvm_msix_entry ko, kn;
	enum model_action ma;
	bool can, dirty;
	const char *err;
	uint8_t b[16];
	int a, i;

	TR("  write %d bytes at +%#x:", len, reg);
	for (i = 0; i < len; i++)
		TR(" %02x", val[i]);
	TR("\n");

	if (decode(E->L, addr, len, &off) != MSIX_ACCESS_TABLE) {
		err = model_user_write(s, reg, len, val);
		TR("    -> KVM_EXIT_MMIO, the VMM emulates it\n");
		if (err)
			fail("%s", err);
		check_hold(E, "after the VMM emulated a write");
		return;
	}
	if (off != 16ULL * E->index + reg)
		fail("table write at entry %u +%#x decoded to offset %#llx",
		     E->index, reg, (unsigned long long)off);

	model_entry_to_bytes(&n, b);
	memcpy(b + reg, val, len);
	model_entry_from_bytes(&n, b);

	/* One entry per exit: this one may be reported again, no other. */
	can = !s->other_raised;
	dirty = E->dirty_k;
	to_kernel(&ko, &o);
	to_kernel(&kn, &n);
	a = msix_decide_write(&ko, &kn, s->defer, s->quiet, dirty, can);
	ma = to_model(a);
	st_action[0][ma]++;
	TR("    msix_decide_write(dirty=%d, can_report=%d) -> %s\n", dirty, can,
	   model_action_name(ma));
	check_decision(&o, &n, s->defer, s->quiet, dirty, can, s->changed,
		       !s->other_raised, ma);

	/* The caller's bookkeeping. */
	if (ma == MODEL_MARK)
		E->dirty_k = true;
	if (ma == MODEL_REPORT) {
		E->raised_k = true;
		if (caller == CALLER_KEEPMARK)
			E->dirty_k = false;
	}

	err = model_kernel_write(s, reg, len, val, ma);
	if (err)
		fail("%s", err);
	check_hold(E, "after a served write");
}

static void op_insn(struct in *in, struct entry_run *E)
{
	struct model_state *s = &E->s;
	u8 h1 = rd8(in), h2 = rd8(in);
	int width, count, i, j, step;
	unsigned int reg;
	bool other;
	const char *err;

	if ((h1 & 0xc0) == 0xc0) {		/* 1 or 2 bytes, anywhere */
		width = (h1 & 0x20) ? 2 : 1;
		reg = h1 & 15;
	} else {
		width = (h1 & 1) ? 8 : 4;
		reg = ((h1 >> 1) & 3) * 4;
	}
	count = 1 + (h2 & 3);
	step = (h2 & 4) ? -width : width;	/* REP MOVS with DF set */
	other = (h2 & 0x18) == 0x18;
	st_insn++;
	TR("insn: %d x %d bytes from +%#x %s%s\n", count, width, reg,
	   step < 0 ? "downwards" : "upwards",
	   other ? ", after another entry's report" : "");

	model_insn_begin(s, other);
	E->raised_k = false;
	for (i = 0; i < count; i++) {
		int r = (int)reg + i * step;
		uint8_t val[8];

		if (r < 0 || r >= 16)
			break;
		if (width >= 4) {
			for (j = 0; j < width / 4; j++) {
				unsigned int d = r / 4 + j;
				u32 cur = d < 4 ? s->mem.w[d] : 0;
				u32 v = pick(in, cur, d < 3 ? &s->told[d] : NULL);

				val[4 * j + 0] = v;
				val[4 * j + 1] = v >> 8;
				val[4 * j + 2] = v >> 16;
				val[4 * j + 3] = v >> 24;
			}
		} else {
			for (j = 0; j < width; j++)
				val[j] = rd8(in);
		}
		element(E, r, width, val);
	}
	err = model_insn_end(s);
	/* The exit is taken (it shows every change so far), then KVM_RUN. */
	if (E->raised_k) {
		if (caller != CALLER_KEEPMARK)
			E->dirty_k = false;
		E->raised_k = false;
	}
	TR("  end of instruction: %s, entry {%#x %#x %#x %#x}, told {%#x %#x %#x}, dirty=%d\n",
	   err ? err : "ok", s->mem.w[0], s->mem.w[1], s->mem.w[2],
	   s->mem.w[3], s->told[0], s->told[1], s->told[2], E->dirty_k);
	if (err)
		fail("%s", err);
	check_hold(E, "after KVM_RUN");
}

/* ---- the ABI's exit counts ------------------------------------------ */

/*
 * [ABI 4] gives exact numbers for Linux's reprogramming sequence (mask,
 * address low, address high, data, unmask: each write one instruction):
 * one exit per changed field by default, one per reprogram with
 * DEFER_UPDATES, none with NO_UPDATE_EXITS for compatibility-format
 * messages, and remapping-format ones as without that flag.  Run them
 * through msix_decide_write() with the caller's bookkeeping and count.
 */
struct sc_write {
	u8 reg, len;
	u32 lo, hi;
};

static int sc_run(bool defer, bool quiet, const u32 init[4],
		  const struct sc_write *w, int n)
{
	struct kvm_msix_entry e, ne;
	bool dirty = false;	/* nothing unreported at define */
	int exits = 0, i, a;
	__le32 v[2];

	for (i = 0; i < 4; i++)
		((__le32 *)&e)[i] = cpu_to_le32(init[i]);
	for (i = 0; i < n; i++) {
		ne = e;
		v[0] = cpu_to_le32(w[i].lo);
		v[1] = cpu_to_le32(w[i].hi);
		memcpy((u8 *)&ne + w[i].reg, v, w[i].len);
		a = msix_decide_write(&e, &ne, defer, quiet, dirty, true);
		if (a == MSIX_WRITE_USER)
			return -1;
		if (a != MSIX_WRITE_NONE)
			e = ne;
		if (a == MSIX_WRITE_MARK)
			dirty = true;
		if (a == MSIX_WRITE_REPORT) {
			dirty = false;
			exits++;
		}
	}
	return exits;
}

#define DW(reg, v)		{ reg, 4, v, 0 }
#define QW(reg, lo, hi)		{ reg, 8, lo, hi }
#define MASK			DW(12, 1)
#define UNMASK			DW(12, 0)

static void selfcheck(void)
{
	enum { DEF, DEFER, QUIET, QUIET_DEFER, NR_MODES };
	static const char *const mode_name[NR_MODES] = {
		"default", "DEFER_UPDATES", "NO_UPDATE_EXITS",
		"NO_UPDATE_EXITS|DEFER_UPDATES",
	};
	static const struct {
		const char *what;
		bool remap, masked;
		struct sc_write w[6];
		int n;
		int exits[NR_MODES];
	} cases[] = {
		{ "Linux reprogram, data only", false, false,
		  { MASK, DW(8, 0x4042), UNMASK }, 3, { 1, 1, 0, 0 } },
		{ "Linux reprogram, address low and data", false, false,
		  { MASK, DW(0, 0xfee01000), DW(8, 0x4042), UNMASK }, 4,
		  { 2, 1, 0, 0 } },
		{ "Linux reprogram, address low, high and data", false, false,
		  { MASK, DW(0, 0xfee01000), DW(4, 1), DW(8, 0x4042), UNMASK },
		  5, { 3, 1, 0, 0 } },
		{ "Linux reprogram, remapping format, data only", true, false,
		  { MASK, DW(8, 0x4042), UNMASK }, 3, { 1, 1, 1, 1 } },
		{ "Linux reprogram, remapping format, address low and data",
		  true, false,
		  { MASK, DW(0, 0xfee01010), DW(8, 0x4042), UNMASK }, 4,
		  { 2, 1, 2, 1 } },
		{ "Linux reprogram, remapping format, address low, high and data",
		  true, false,
		  { MASK, DW(0, 0xfee01010), DW(4, 1), DW(8, 0x4042), UNMASK },
		  5, { 3, 1, 3, 1 } },
		{ "remapping format to compatibility format", true, false,
		  { MASK, DW(0, 0xfee01000), DW(8, 0x4042), UNMASK }, 4,
		  { 2, 1, 0, 0 } },
		{ "the same values rewritten", false, false,
		  { DW(0, 0xfee00000), DW(4, 0), DW(8, 0x4041), UNMASK,
		    QW(8, 0x4041, 0) }, 5, { 0, 0, 0, 0 } },
		{ "first unmask after define", false, true,
		  { UNMASK }, 1, { 0, 0, 0, 0 } },
		{ "first unmask after define, remapping format", true, true,
		  { UNMASK }, 1, { 0, 0, 0, 0 } },
		{ "QWORD at +8: Data and unmask at once", false, true,
		  { QW(8, 0x4042, 0) }, 1, { 1, 1, 0, 0 } },
		{ "changed and changed back while masked, then unmasked",
		  false, false,
		  { MASK, DW(8, 0x4042), DW(8, 0x4041), UNMASK }, 4,
		  { 2, 1, 0, 0 } },
	};
	unsigned int c, m;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		u32 init[4] = { 0xfee00000, 0, 0x4041, cases[c].masked };

		if (cases[c].remap)
			init[0] |= MODEL_ADDR_REMAP;

		for (m = 0; m < NR_MODES; m++) {
			int got = sc_run(m == DEFER || m == QUIET_DEFER,
					 m == QUIET || m == QUIET_DEFER, init,
					 cases[c].w, cases[c].n);

			if (got == cases[c].exits[m])
				continue;
			fprintf(stderr, "==== msix_fuzz: exit count: %s, %s: %d exits, the ABI says %d\n",
				cases[c].what, mode_name[m], got,
				cases[c].exits[m]);
			abort();
		}
	}
}

/* ---- driver --------------------------------------------------------- */

static void run_input(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct layout L;
	struct entry_run E = { 0 };
	int ops = 0;

	gen_layout(&in, &L);
	while (in.n && ops++ < 256) {
		u8 op = rd8(&in);

		switch (op % 4) {
		case 0:
			op_access(&in, &L);
			break;
		case 1:
			op_decide(&in);
			break;
		default:
			if (!E.started)
				entry_start(&in, &E, &L);
			op_insn(&in, &E);
		}
	}
}

static bool want_trace;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cur_data = data;
	cur_size = size;
	tracing = want_trace;
	trace_len = 0;
	run_input(data, size);
	if (want_trace)
		fprintf(stderr, "%s", trace);
	return 0;
}

static void print_stats(void)
{
	static const char *const act[NR_ACTIONS] = {
		"NONE", "STORE", "MARK", "REPORT", "USER",
	};
	int c, i;

	fprintf(stderr, "msix_fuzz stats: layouts");
	for (c = 0; c < NR_LCLASS; c++)
		fprintf(stderr, " %s=%lu", lclass_name[c], st_layout[c]);
	fprintf(stderr, " (valid with a window=%lu)\n", st_window);
	for (c = 0; c < NR_LCLASS; c++) {
		fprintf(stderr, "msix_fuzz stats: decode on %s layouts:", lclass_name[c]);
		for (i = 0; i < 4; i++)
			fprintf(stderr, " %s=%lu", where_name[i], st_where[c][i]);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "msix_fuzz stats: instructions=%lu; decisions in instructions:", st_insn);
	for (i = 0; i < NR_ACTIONS; i++)
		fprintf(stderr, " %s=%lu", act[i], st_action[0][i]);
	fprintf(stderr, "\nmsix_fuzz stats: arbitrary decisions:");
	for (i = 0; i < NR_ACTIONS; i++)
		fprintf(stderr, " %s=%lu", act[i], st_action[1][i]);
	fprintf(stderr, "\nmsix_fuzz stats: clamps on raw layouts=%lu\n", st_clamped_raw);
}

static bool env_is(const char *name, const char *val)
{
	const char *v = getenv(name);

	return v && !strcmp(v, val);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (caller = CALLER_MARKDEFINE; caller > CALLER_KERNEL; caller--)
		if (env_is("MSIX_FUZZ_CALLER", caller_name[caller]))
			break;
	vmm_strict = env_is("MSIX_FUZZ_VMM", "strict");
	raw_strict = env_is("MSIX_FUZZ_RAW", "1");
	want_stats = env_is("MSIX_FUZZ_STATS", "1");
	want_trace = env_is("MSIX_FUZZ_TRACE", "1");
	if (want_stats)
		atexit(print_stats);
	selfcheck();
	return 0;
}
