#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo, the real guest: Linux 6.12 under QEMU 10.2.2 in the test VM
# (tools/qemu/check-qemu.sh, which also checks the run), then the MSI-X
# userspace exits per phase under stock QEMU and under the patched one with
# the table in the kernel, side by side.
#
#   demo.sh SRCDIR BUILD        (CONFIGS: what to run, "stock exit defer none")
set -euo pipefail

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
export CONFIGS=${CONFIGS:-stock exit defer none}
mkdir -p "$build/qemu-check"
out=$build/qemu-check/demo.out
echo "  DEMO    a real guest under stock and patched QEMU ($CONFIGS; about 8 minutes)"
if ! "$src/tools/qemu/check-qemu.sh" "$src" "$build" > "$out" 2>&1; then
	grep -E '^FAIL|^check-qemu' "$out" || tail -20 "$out"
	echo "demo: the run failed; the whole output is in $out" >&2
	exit 1
fi
"$src/tools/qemu/demo-table.sh" "$build/vm/console-qemu-vfio.log.txt" $CONFIGS
