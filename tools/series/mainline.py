#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What make-series.sh changes in the project's files for mainline.

  mainline.py uapi KVM_H IN OUT     kvm_msix.h with the next free numbers
  mainline.py doc IN OUT            a document, mainline paths, no
                                    out-of-tree numbers
  mainline.py api API_RST DIR       api.rst with DIR/api-[458].rst inserted
  mainline.py source IN OUT         a kernel source with mainline's idioms
                                    (kzalloc_obj(), 7.0) where older
                                    kernels lack them
  mainline.py selftest IN OUT       a selftest source on mainline's libkvm,
                                    without the compat names for 6.12's

The out-of-tree header takes numbers far outside mainline's ranges; a
mainline series takes the next free ones instead: capabilities and exit
reasons count up, and vm ioctls of KVMIO follow the last one below the
device ioctls (0xe0).
"""
import re
import sys


def numbers(kvm_h):
    s = open(kvm_h).read()
    cap = max(int(n) for n in
              re.findall(r'^#define KVM_CAP_\w+\s+(\d+)\s*$', s, re.M))
    ex = max(int(n) for n in
             re.findall(r'^#define KVM_EXIT_\w+\s+(\d+)\s*$', s, re.M))
    ioc = max(n for n in (int(x, 16) for x in
                          re.findall(r'KVMIO,\s*0x([0-9a-fA-F]+)', s))
              if n < 0xe0)
    return cap, ex, ioc


def paths(s):
    return s.replace('Documentation/virt/kvm/msix',
                     'Documentation/virt/kvm/x86/msix')


def uapi(kvm_h, src, dst):
    cap, ex, ioc = numbers(kvm_h)
    s = open(src).read()
    # The paragraph on out-of-tree numbers, up to the comment's end.
    s = re.sub(r' \*\n \* The numbers below are out-of-tree.*?(?= \*/)', '',
               s, flags=re.S)
    s = re.sub(r'(#define KVM_CAP_MSIX_TABLE\t+)0x4d58', r'\g<1>%d' % (cap + 1), s)
    s = re.sub(r'(#define KVM_CAP_MSIX_TABLE_FLAGS\t+)0x4d59', r'\g<1>%d' % (cap + 2), s)
    s = re.sub(r'(#define KVM_EXIT_MSIX_ENTRY_UPDATED\t+)0x4d58', r'\g<1>%d' % (ex + 1), s)
    s = re.sub(r'_IOW\(KVMIO, 0xf([0-4])',
               lambda m: '_IOW(KVMIO, 0x%02x' % (ioc + 1 + int(m.group(1))), s)
    assert '0x4d5' not in s and 'KVMIO, 0xf' not in s
    open(dst, 'w').write(paths(s))


def doc(src, dst):
    s = open(src).read()
    # The out-of-tree numbers: the paragraph and its table.
    s = re.sub(r':Value: 0x4d5.\n', '', s)
    s = re.sub(r'The numbers below are out-of-tree.*?\n=+ =+\n.*?\n=+ =+\n\n', '',
               s, flags=re.S)
    open(dst, 'w').write(paths(s))


def api(path, here):
    s = open(path).read()

    def number(section, text):
        n = max(int(x) for x in re.findall(r'^%d\.(\d+) ' % section, s, re.M))
        out = []
        for line in text.split('\n'):
            if line.startswith('%d.N ' % section):
                n += 1
                line = '%d.%d ' % (section, n) + line[len('%d.N ' % section):]
                # Keep the underline as long as the title.
            out.append(line)
        text = '\n'.join(out)
        return re.sub(r'^(%d\.\d+ .*)\n-+$' % section,
                      lambda m: m.group(1) + '\n' + '-' * len(m.group(1)),
                      text, flags=re.M)

    def insert_before(anchor, text):
        nonlocal s
        m = re.search(anchor, s, re.M)
        s = s[:m.start()] + text + s[m.start():]

    # Before a section's heading, and before the label that names it.
    insert_before(r'^(\.\. _kvm_run:\n\n)?5\. The kvm_run structure$',
                  number(4, open(here + '/api-4.rst').read()))
    insert_before(r'^::\n\n\t\t/\* Fix the size of the union\. \*/',
                  open(here + '/api-5.rst').read())
    insert_before(r'^9\. Known KVM API problems$',
                  number(8, open(here + '/api-8.rst').read()))
    open(path, 'w').write(paths(s))


def source(src, dst):
    s = open(src).read()
    s = re.sub(r'\bkzalloc\(sizeof\((\*[\w\[\].>-]+)\), ', r'kzalloc_obj(\1, ', s)
    open(dst, 'w').write(paths(s))


def selftest(src, dst):
    s = open(src).read()
    # The compat hooks for other series' libkvm (selftests/compat/).
    s = re.sub(r'/\*\n \* What another kernel series\' libkvm names.*?#endif\n\n'
               r'/\*\n \* The binary stats fds.*?#endif\n\n', '', s, flags=re.S)
    s = re.sub(r'\bvm_vaddr_t\b', 'gva_t', s)
    s = re.sub(r'\bmsix_(vm|vcpu)_stats_fd\(([\w.\[\]>-]+)\)', r'\2->stats.fd', s)
    assert 'msix_compat' not in s and 'stats_fd(' not in s, src
    open(dst, 'w').write(paths(s))


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'uapi': uapi, 'doc': doc, 'api': api, 'selftest': selftest, 'source': source}[cmd](*args)
