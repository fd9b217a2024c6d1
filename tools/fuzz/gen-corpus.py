#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# Writes the seed corpus (tools/fuzz/corpus/) in msix_fuzz.c's input format:
# the guest sequences msix.rst and msix-semantics.md name, and layouts at
# the edges msix_check_table() allows.  The checked-in corpus is its output;
# run it again after changing the input format:
#
#   tools/fuzz/gen-corpus.py tools/fuzz/corpus
import os
import struct
import sys

# ---- layout ----------------------------------------------------------------


def valid(window=False, anchor=0, nr_sel=2, nr=64, pba_first=False, gap=None,
          k=0, base64=0, before=0, in_page=0, extra=0, big=False, at_end=False,
          wsel=0):
    """gen_layout() selector, then gen_valid()'s bytes."""
    b = (1 if pba_first else 0) | (2 if gap is not None else 0)
    b |= anchor << 2 | nr_sel << 4
    if big:
        b |= 0x40
    if at_end:
        b |= 0x80
    out = bytes([3 if window else 0, b])
    if nr_sel in (0, 1):
        out += bytes([nr])
    else:
        out += struct.pack('<H', nr - 1)
    if gap is not None:
        out += struct.pack('<H', gap)
    if not window:
        out += struct.pack('<H', k)
        if anchor == 2:
            out += struct.pack('<Q', base64)
    else:
        out += bytes([before]) + struct.pack('<H', in_page) + bytes([extra])
        if big:
            out += struct.pack('<H', 0)
        if anchor == 2:
            out += struct.pack('<Q', base64)
        else:
            out += bytes([wsel])
        if at_end:
            out += bytes([0])
    return out


def rejected(how, inner, extra=b''):
    """gen_rejected(): @inner is valid(...) without its selector byte."""
    return bytes([6, how]) + inner[1:] + extra

# ---- operations ------------------------------------------------------------


def access(point, delta, len_sel, anywhere=None):
    """op_access(): point 0..7 as in points[], or 8 with @anywhere."""
    s = point
    if delta < -128 or delta > 127:
        s |= 0x80
        while s % 9 != point:
            s += 1
    out = bytes([0, s])
    if point == 8:
        out += struct.pack('<Q', anywhere)
    if s & 0x80:
        out += struct.pack('<h', delta)
    else:
        out += struct.pack('<b', delta)
    return out + bytes([len_sel])


# len_sel: lens[] in msix_fuzz.c
L1, L2, L4, L8, L0, L3, L16 = 0, 1, 2, 3, 10, 11, 12

SAME, TOGGLE, SET, CLEAR = 0, 1, 2, 3


def pal(i):
    # 0, 1, 0xfee00000, 0xfee01000, 0x4041, 0x4042, 0x00010001, 0xffffffff,
    # then remapping-format and other values: 0xfee00010, 0xfee01010,
    # 0xfee0001c, 0x10, 0xfee00004, 0xfee0000c, 0x40ff, 0x80000000
    assert 0 <= i < 16
    return bytes([4 | i << 3])


def val(v):
    return bytes([5]) + struct.pack('<I', v)


ENTRY = b'\0ENTRY\0'


def entry(defer, index=0, restored=None, quiet=False):
    """entry_start()'s bytes, which the harness reads right after the op
    byte of the first instruction: marked here, moved by place_entry().
    @quiet: the table has NO_UPDATE_EXITS."""
    out = bytes([(1 if defer else 0) | (2 if restored else 0) |
                 (4 if quiet else 0)])
    out += struct.pack('<H', index)
    if restored:
        out += b''.join(val(v) for v in restored)
    return ENTRY + bytes([len(out)]) + out


def place_entry(data):
    i = data.find(ENTRY)
    if i < 0:
        return data
    n = data[i + len(ENTRY)]
    payload = data[i + len(ENTRY) + 1:i + len(ENTRY) + 1 + n]
    rest = data[i + len(ENTRY) + 1 + n:]
    assert rest[0] == 2, 'entry() must be followed by an instruction'
    return data[:i] + rest[:1] + payload + rest[1:]


def insn(reg, width, lanes, down=False, other=False, count=None):
    """op_insn(): @lanes is a list of pick() encodings, one per dword, or
    for 1/2-byte widths one bytes object per element."""
    if width in (1, 2):
        h1 = 0xc0 | (0x20 if width == 2 else 0) | reg
    else:
        h1 = (1 if width == 8 else 0) | (reg // 4) << 1
    if count is None:
        count = len(lanes) // (width // 4) if width >= 4 else len(lanes)
    h2 = (count - 1) | (4 if down else 0) | (0x18 if other else 0)
    return bytes([2, h1, h2]) + b''.join(lanes)


def decide(defer, dirty, can, old, changes, quiet=False):
    """op_decide(): @old four pick() encodings, @changes {dword: pick}."""
    f = (1 if defer else 0) | (2 if dirty else 0) | (4 if can else 0)
    f |= 8 if quiet else 0
    for d in changes:
        f |= 1 << (4 + d)
    return bytes([1, f]) + b''.join(old) + b''.join(
        changes[d] for d in sorted(changes))


def dw(reg, v):
    return insn(reg, 4, [v])


# Linux: mask, address low, address high, data, unmask, read back.
def linux_reprogram(addr_lo, addr_hi, data):
    return (dw(12, pal(1)) + dw(0, addr_lo) + dw(4, addr_hi) + dw(8, data) +
            dw(12, pal(0)))


SEEDS = {
    # Layouts and accesses.
    'access-table-edges': valid(nr=64) + access(0, 0, L4) + access(0, 8, L8) +
    access(0, -4, L8) + access(1, -4, L4) + access(1, -8, L8) +
    access(1, -4, L8) + access(0, 2, L2) + access(0, 1, L1) +
    access(0, 12, L8) + access(0, 4, L3) + access(0, 0, L16),
    'access-pba': valid(nr=65, gap=0) + access(2, 0, L8) + access(2, 4, L4) +
    access(2, 8, L8) + access(3, -8, L8) + access(3, -4, L8) +
    access(3, 0, L4) + access(2, -4, L8),
    'access-adjacent-pba-first': valid(nr=1, pba_first=True) +
    access(2, 0, L8) + access(2, 4, L8) + access(0, -4, L8) +
    access(0, 0, L8),
    'access-top-of-space': valid(anchor=1, nr_sel=1, nr=0) +
    access(1, -8, L8) + access(1, 0, L8) + access(7, 0, L8) +
    access(7, 4, L4) + access(3, -8, L8),
    'access-top-small': valid(anchor=1, nr_sel=0, nr=0, gap=0) +
    access(1, -8, L8) + access(3, -8, L8) + access(3, 0, L8) +
    access(7, 0, L8),
    'access-4g': valid(anchor=3, nr=300, gap=3) + access(0, 0, L8) +
    access(1, -8, L8) + access(2, 0, L8) + access(8, 0, L4, 1 << 32),
    'access-2048': valid(nr_sel=1, nr=0) + access(1, -16, L8) +
    access(3, -8, L8) + access(0, 0x7ff0, L4),
    'window-odd-widths': valid(window=True, nr=16, before=1, in_page=32,
                               extra=1, wsel=4) +
    access(4, 0, L1) + access(4, 1, L2) + access(4, 3, L4) +
    access(4, 5, L8) + access(0, -1, L1) + access(0, -2, L4) +
    access(1, 0, L2) + access(2, -3, L4) + access(5, -8, L8) +
    access(5, -4, L8) + access(5, -1, L1) + access(5, 0, L1),
    'window-top': valid(window=True, anchor=1, nr=2048, extra=2, wsel=0) +
    access(5, -1, L1) + access(5, -8, L8) + access(5, 0, L1) +
    access(7, 0, L8) + access(0, 0, L8),
    'window-table-at-end': valid(window=True, nr=4, at_end=True, gap=2,
                                 wsel=1) +
    access(5, -8, L8) + access(5, -9, L8) + access(3, 0, L4),
    'window-largest': valid(window=True, nr=8, big=True, wsel=3) +
    access(5, -8, L8) + access(4, 0, L8) + access(4, 0x7ffe, L2),
    'rejected-overlap': rejected(0, valid(nr=64), b'\x08\x00') +
    access(0, 0, L8) + access(2, 0, L8) + access(3, -8, L8),
    'rejected-wrap': rejected(1, valid(nr=64), b'\x02\x00') +
    access(0, 0, L8) + access(0, 8, L8) + access(6, 0, L8) +
    access(1, -8, L8),
    'rejected-window': rejected(0x88, valid(window=True, nr=4),
                                b'\x03\x00\x00') +
    access(4, 0, L8) + access(5, -8, L8) + access(7, 0, L8),
    # gen_raw(): table 0+4, PBA 0x40+8, no window.
    'raw-tiny': bytes([7, 0, 0, 0, 0x40, 0, 4, 0, 8, 0]) +
    access(0, 0, L8) + access(0, 0, L4) + access(2, 0, L8),
    # Entry sequences (msix.rst section 4's table, msix-semantics.md 8, 9).
    'linux-data-only': valid(nr=4) + entry(False, 1) +
    linux_reprogram(bytes([SAME]), bytes([SAME]), pal(5)) + access(0, 28, L4),
    'linux-addr-data': valid(nr=4) + entry(False, 1) +
    linux_reprogram(pal(3), bytes([SAME]), pal(4)),
    'linux-all': valid(nr=4) + entry(False, 1) +
    linux_reprogram(pal(3), val(1), pal(4)),
    'deferred-linux-all': valid(nr=4) + entry(True, 1) +
    linux_reprogram(pal(3), val(1), pal(4)),
    'deferred-aba': valid(nr=4) + entry(True, 0) + dw(0, pal(3)) +
    dw(0, pal(0)) + dw(12, pal(0)) + dw(12, pal(1)) + dw(12, pal(0)),
    'qword-data-unmask': valid(nr=4) + entry(False, 2) +
    insn(8, 8, [pal(4), pal(0)]),
    'deferred-qword-data-unmask': valid(nr=4) + entry(True, 2) +
    insn(8, 8, [pal(4), pal(0)]) + insn(8, 8, [pal(5), val(1)]),
    'qword-address': valid(nr=4) + entry(True, 3) +
    insn(0, 8, [pal(2), val(0)]) + insn(12, 4, [pal(0)]) +
    insn(0, 8, [pal(3), val(1)]),
    'vctrl-tph': valid(nr=4) + entry(False, 0) + dw(12, val(0x00120001)) +
    dw(12, val(0x00120000)) + dw(12, val(0x00120000)) + dw(12, pal(7)),
    'misaligned-and-narrow': valid(nr=4) + entry(False, 0) +
    insn(4, 8, [pal(2), pal(4)]) + insn(12, 8, [pal(0), val(0)]) +
    insn(12, 1, [b'\x00']) + insn(14, 2, [b'\x12\x00']),
    # Several elements per instruction: a 16 byte store, REP MOVSD.
    'store16-new-address-unmask': valid(nr=4) + entry(False, 0) +
    insn(0, 8, [pal(3), val(0), bytes([SAME]), val(0)]),
    'store16-new-entry-unmask': valid(nr=4) + entry(False, 0) +
    insn(0, 8, [pal(3), val(0), val(0x4041), val(0)]),
    'deferred-store16': valid(nr=4) + entry(True, 0) +
    insn(0, 8, [pal(3), val(0), val(0x4041), val(0)]),
    'rep-movsd-up': valid(nr=4) + entry(True, 1) +
    insn(0, 4, [pal(3), val(0), pal(4), pal(0)]) +
    insn(0, 4, [pal(2), bytes([SAME]), pal(5), bytes([SET])]),
    'rep-movsd-down': valid(nr=4) + entry(True, 1) + dw(0, pal(3)) +
    insn(12, 4, [pal(0), pal(4), val(0), pal(2)], down=True) +
    dw(12, pal(1)) + dw(12, pal(0)),
    'after-other-report': valid(nr=4) + entry(True, 1) + dw(0, pal(3)) +
    insn(12, 4, [pal(0)], other=True) + insn(8, 4, [pal(4)], other=True),
    'restored-unmasked': valid(nr=4) + entry(False, 3,
                                             [0xfee00000, 0, 0x4041, 0]) +
    dw(8, pal(5)) + dw(0, pal(3)) + insn(0, 8, [pal(2), val(0)], other=True),
    # NO_UPDATE_EXITS (issue 10): compatibility format never exits,
    # remapping format (address bit 4) as without the flag.
    'quiet-linux-all': valid(nr=4) + entry(False, 1, quiet=True) +
    linux_reprogram(pal(3), val(1), pal(4)),
    'quiet-remap-linux-all': valid(nr=4) +
    entry(False, 1, [0xfee00010, 0, 0x4041, 0], quiet=True) +
    linux_reprogram(pal(9), val(1), pal(5)),
    'quiet-deferred-remap': valid(nr=4) +
    entry(True, 2, [0xfee00010, 0, 0x4041, 1], quiet=True) +
    dw(12, pal(0)) + linux_reprogram(pal(9), val(1), pal(5)),
    'quiet-remap-to-compat': valid(nr=4) +
    entry(False, 0, [0xfee00010, 0, 0x4041, 0], quiet=True) +
    dw(0, pal(2)) + dw(8, pal(5)) + dw(0, pal(8)) +
    insn(0, 8, [pal(9), val(0), pal(4), val(1)]) + dw(12, pal(0)),
    # Remapping format: held while its report is not acknowledged
    # (MSIX_FUZZ_CALLER=nohold fails here).
    'store16-remap-address-unmask': valid(nr=4) + entry(False, 0) +
    insn(0, 8, [pal(8), val(0), bytes([SAME]), val(0)]),
    # A MARK after the same entry's report in one instruction leaves no
    # mark (MSIX_FUZZ_CALLER=keepmark fails here).
    'deferred-store16-mask': valid(nr=4) +
    entry(True, 0, [0xfee00000, 0, 0x4041, 0]) +
    insn(0, 8, [pal(3), val(0), pal(5), val(1)]) + dw(12, pal(0)),
    # A define starts with nothing unreported, with DEFER_UPDATES too: the
    # first unmask does not exit (MSIX_FUZZ_CALLER=markdefine fails here).
    'deferred-define-unmask': valid(nr=4) + entry(True, 2) + dw(12, pal(0)) +
    dw(12, pal(1)) + dw(12, pal(0)),
    # msix_decide_write() on its own.
    'decide-arbitrary': decide(True, True, False,
                               [pal(2), val(0), pal(4), pal(1)],
                               {3: pal(0)}) +
    decide(False, False, True, [pal(2), val(0), pal(4), pal(1)],
           {0: pal(3), 2: pal(5), 3: pal(0)}) +
    decide(True, False, False, [pal(2), val(0), pal(4), pal(1)],
           {1: val(7)}),
    'decide-quiet': decide(False, False, True,
                           [pal(2), val(0), pal(4), pal(1)],
                           {0: pal(8), 3: pal(0)}, quiet=True) +
    decide(True, True, False, [pal(8), val(0), pal(4), pal(1)],
           {3: pal(0)}, quiet=True) +
    decide(True, True, True, [pal(2), val(0), pal(4), pal(1)],
           {3: pal(0)}, quiet=True) +
    decide(False, False, False, [pal(8), val(0), pal(4), pal(0)],
           {0: pal(2)}, quiet=True),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(place_entry(data))
    print(f'{len(SEEDS)} seeds in {out}')


if __name__ == '__main__':
    main()
