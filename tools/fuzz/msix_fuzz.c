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
 *
 * Knobs (environment, read once):
 *   MSIX_FUZZ_CALLER=kernel  (default) pass msix_decide_write() the dirty
 *                            and can_report msix.c passes: an entry whose
 *                            report is raised but not taken counts as dirty
 *                            and may be reported again in the same exit; a
 *                            MARK then leaves no mark (the exit shows it)
 *   MSIX_FUZZ_CALLER=old     msix.c before that fix: dirty cleared when a
 *                            report is raised, no report once any is raised
 *                            in the instruction (finds finding 1 of
 *                            README.md in seconds)
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
#define INT_MAX_	0x7fffffffULL

/* ---- knobs and counters -------------------------------------------- */

static bool caller_old, vmm_strict, raw_strict, want_stats;

enum lclass { L_VALID, L_REJECTED, L_RAW, NR_LCLASS };
static const char *const lclass_name[] = { "valid", "rejected", "raw" };

static unsigned long st_layout[NR_LCLASS], st_window;
static unsigned long st_where[NR_LCLASS][4];
static unsigned long st_action[2][6];	/* [insn, decide] */
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
		fail_buf, trace, caller_old ? "old" : "kernel",
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

/*
 * Properties of msix_decide_write() stated on their own, each from the
 * docs (the rule numbers are model_expect()'s in msix_model.c):
 *   P-NONE     MSIX_WRITE_NONE iff old == new (R1); in particular a write
 *              that changes nothing never exits.
 *   P-VCTRL    a write that changes only Vector Control never exits, but
 *              for the unmask of an entry userspace may not have been
 *              told about (R2, R4).  The kernel can only know that a
 *              change was stored or raised since the last exit (@maybe);
 *              it need not know that the VMM re-read the entry since, or
 *              that deferred changes cancelled out (@unreported false).
 *              Either way the write changed nothing userspace did not
 *              hear of: when @maybe is false, no exit.
 *   P-DEFER    in deferred mode, a masked entry that stays masked never
 *              exits (R3), whether or not this exit could report.
 *   P-CANNOT   with can_report false no report is raised; a write that
 *              needs one goes to userspace (R7).
 *   P-UNMASK   REPORT_UNMASK only for a write that unmasks; a write that
 *              unmasks an entry whose new address/data userspace has
 *              certainly not received (@unreported) is never CTRL or
 *              REPORT (R4, R5): the unmask would take effect first.
 */
static void check_props(const struct model_entry *o, const struct model_entry *n,
			bool defer, bool unreported, bool maybe, bool can_report,
			int a)
{
	bool same = !memcmp(o->w, n->w, sizeof(o->w));
	bool msg = model_msg_differs(o, n);
	bool unmask = model_masked(o) && !model_masked(n);
	bool exits = a == MSIX_WRITE_REPORT || a == MSIX_WRITE_REPORT_UNMASK ||
		     a == MSIX_WRITE_USER;

	if ((a == MSIX_WRITE_NONE) != same)
		fail("P-NONE: %s for a write that %s the entry",
		     model_action_name(a), same ? "does not change" : "changes");
	if (!msg && exits && !(unmask && maybe))
		fail("P-VCTRL: a Vector Control-only write exits (%s)",
		     model_action_name(a));
	if (defer && model_masked(o) && model_masked(n) && exits)
		fail("P-DEFER: deferred mode, the entry stays masked, yet %s",
		     model_action_name(a));
	if (!can_report &&
	    (a == MSIX_WRITE_REPORT || a == MSIX_WRITE_REPORT_UNMASK))
		fail("P-CANNOT: %s although this exit cannot report",
		     model_action_name(a));
	if (a == MSIX_WRITE_REPORT_UNMASK && !unmask)
		fail("P-UNMASK: REPORT_UNMASK for a write that does not unmask");
	if (unmask && (msg || unreported) &&
	    (a == MSIX_WRITE_CTRL || a == MSIX_WRITE_REPORT))
		fail("P-UNMASK: the write unmasks an entry with address/data userspace has not received, and the decision is %s (unmasks at once)",
		     model_action_name(a));
	if (a == MSIX_WRITE_MARK && !(defer && msg))
		fail("MARK outside deferred mode or without an address/data change");
}

/*
 * The decision must be the model's for what userspace certainly lacks
 * (@unreported) or for what the kernel may suspect it lacks (@maybe): the
 * two differ only in whether an unmask reports redundantly.
 */
static void check_decision(const struct model_entry *o,
			   const struct model_entry *n, bool defer,
			   bool dirty, bool can_report, bool unreported,
			   bool maybe, int got)
{
	enum model_action want = model_expect(o, n, defer, unreported,
					      can_report);
	enum model_action also = model_expect(o, n, defer, maybe, can_report);

	check_props(o, n, defer, unreported, maybe, can_report, got);
	if ((int)want != got && (int)also != got)
		fail("msix_decide_write(old {%#x %#x %#x %#x}, new {%#x %#x %#x %#x}, defer=%d, dirty=%d, can_report=%d) = %s; the model expects %s%s%s (userspace %s the entry's address/data)",
		     o->w[0], o->w[1], o->w[2], o->w[3],
		     n->w[0], n->w[1], n->w[2], n->w[3], defer, dirty,
		     can_report, model_action_name(got),
		     model_action_name(want), also != want ? " or " : "",
		     also != want ? model_action_name(also) : "",
		     unreported ? "has not received" :
		     maybe ? "may have received" : "has received");
}

static u32 pick(struct in *in, u32 cur, const u32 *told)
{
	static const u32 palette[8] = {
		0, 1, 0xfee00000, 0xfee01000, 0x4041, 0x4042, 0x00010001,
		0xffffffff,
	};
	u8 s = rd8(in);

	switch (s & 7) {
	case 0: return cur;
	case 1: return cur ^ 1;
	case 2: return cur | 1;
	case 3: return cur & ~1u;
	case 4: return palette[(s >> 3) & 7];
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
	bool defer = f & 1, dirty = f & 2, can = f & 4;
	int i, a;

	for (i = 0; i < 4; i++)
		o.w[i] = pick(in, i == 3 ? 1 : 0xfee00000, NULL);
	for (i = 0; i < 4; i++)
		n.w[i] = (f >> (4 + i)) & 1 ? pick(in, o.w[i], NULL) : o.w[i];
	to_kernel(&ko, &o);
	to_kernel(&kn, &n);
	a = msix_decide_write(&ko, &kn, defer, dirty, can);
	st_action[1][a % 6]++;
	check_decision(&o, &n, defer, dirty, can, dirty, dirty, a);
}

/* ---- instructions on one entry --------------------------------------- */

struct entry_run {
	bool started;
	const struct layout *L;
	struct layout fallback;
	u32 index;
	struct model_state s;
	bool dirty_k;	/* msix.c's t->dirty bit for the entry */
};

static void entry_start(struct in *in, struct entry_run *E,
			const struct layout *L)
{
	struct model_entry init = { { 0, 0, 0, MODEL_MASKBIT } };
	u8 f = rd8(in);
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
	model_init(&E->s, &init, f & 1,
		   vmm_strict ? MODEL_VMM_STRICT : MODEL_VMM_REREAD);
	E->dirty_k = false;
	E->started = true;
	TR("entry %u of the table, defer=%d, initial {%#x %#x %#x %#x}\n",
	   E->index, f & 1, init.w[0], init.w[1], init.w[2], init.w[3]);
}

static void element(struct entry_run *E, unsigned int reg, int len,
		    const uint8_t *val)
{
	struct model_state *s = &E->s;
	u64 addr = E->L->k.table_gpa + 16ULL * E->index + reg, off;
	struct model_entry o = s->mem, n = s->mem;
	struct kvm_msix_entry ko, kn;
	bool can, dirty, unreported, maybe;
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
		return;
	}
	if (off != 16ULL * E->index + reg)
		fail("table write at entry %u +%#x decoded to offset %#llx",
		     E->index, reg, (unsigned long long)off);

	model_entry_to_bytes(&n, b);
	memcpy(b + reg, val, len);
	model_entry_from_bytes(&n, b);

	if (caller_old) {
		can = !s->other_raised && !s->raised;	/* msix_can_report() */
		dirty = E->dirty_k;			/* xa_load(&t->dirty) */
	} else {
		/* msix_reporting() || ... */
		can = !s->other_raised;
		dirty = E->dirty_k || s->raised;
	}
	unreported = model_unreported(s);
	maybe = model_maybe_unreported(s);
	to_kernel(&ko, &o);
	to_kernel(&kn, &n);
	a = msix_decide_write(&ko, &kn, s->defer, dirty, can);
	st_action[0][a % 6]++;
	TR("    msix_decide_write(dirty=%d, can_report=%d) -> %s\n", dirty, can,
	   model_action_name(a));
	check_decision(&o, &n, s->defer, dirty, can, unreported, maybe, a);

	/* msix_table_write()'s bookkeeping. */
	if (a == MSIX_WRITE_MARK && (caller_old || !s->raised))
		E->dirty_k = true;
	if (a == MSIX_WRITE_REPORT || a == MSIX_WRITE_REPORT_UNMASK)
		E->dirty_k = false;	/* msix_report_entry() */

	err = model_kernel_write(s, reg, len, val, (enum model_action)a);
	if (err)
		fail("%s", err);
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
	TR("  end of instruction: %s, entry {%#x %#x %#x %#x}, told {%#x %#x %#x}\n",
	   err ? err : "ok", s->mem.w[0], s->mem.w[1], s->mem.w[2],
	   s->mem.w[3], s->told[0], s->told[1], s->told[2]);
	if (err)
		fail("%s", err);
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
	static const char *const act[6] = {
		"NONE", "CTRL", "MARK", "REPORT", "REPORT_UNMASK", "USER",
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
	for (i = 0; i < 6; i++)
		fprintf(stderr, " %s=%lu", act[i], st_action[0][i]);
	fprintf(stderr, "\nmsix_fuzz stats: arbitrary decisions:");
	for (i = 0; i < 6; i++)
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
	caller_old = env_is("MSIX_FUZZ_CALLER", "old");
	vmm_strict = env_is("MSIX_FUZZ_VMM", "strict");
	raw_strict = env_is("MSIX_FUZZ_RAW", "1");
	want_stats = env_is("MSIX_FUZZ_STATS", "1");
	want_trace = env_is("MSIX_FUZZ_TRACE", "1");
	if (want_stats)
		atexit(print_stats);
	return 0;
}
