#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite: the kselftests in a VM (tools/vmtest/run-vm.sh, with
# the vfio-pci devices the end-to-end test assigns), then the static checks
# (check-static.sh), then the bounded libFuzzer run of the access decoder
# (tools/fuzz/run.sh, one test).  Each prints TAP and its own closing
# line; this prints the sum as the last line and fails if anything failed.
# For a kernel other than the default (KVER, tools/build/kernels.sh) only
# the kselftests run: the static checks and the fuzzer look at the
# project's code, not at the kernel, and run for the default kernel.
#
# usage: [KVER=...] check.sh PROJECT BUILD
set -uo pipefail

project=$1
build=$2
default=$("$project/tools/build/kernels.sh" default)
export KVER=${KVER:-$default}
tp=0 tf=0 ts=0
status=0

tally() {
	local line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "# $2 printed no result line"
		tf=$((tf + 1))
		return
	fi
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<< "$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<< "$line")
	s=0
	if grep -q skipped <<< "$line"; then
		s=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<< "$line")
	fi
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# ==== kselftests in a VM: $KVER ===="
"$project/tools/vmtest/run-vm.sh" --build "$build" --tests --vfio 2>&1 | tee "$out/vm"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
tally "$out/vm" "run-vm.sh"

if [ "$KVER" = "$default" ]; then
	echo "# ==== static checks ===="
	make -s -C "$project" check-static 2>&1 | tee "$out/static"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	tally "$out/static" "check-static"

	echo "# ==== decoder fuzzing ===="
	"$project/tools/fuzz/run.sh" --build "$build" 2>&1 | tee "$out/fuzz"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	tally "$out/fuzz" "tools/fuzz/run.sh"
else
	echo "# ==== static checks (sparse, W=1, checkpatch) and decoder fuzzing:" \
	     "run for the default kernel $default only ===="
fi

[ "$tf" -eq 0 ] || status=1
echo "$tp passed, $tf failed, $ts skipped"
exit $status
