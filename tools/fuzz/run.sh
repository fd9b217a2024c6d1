#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build tools/fuzz/msix_fuzz (libFuzzer + ASan + UBSan, clang) and run it.
#
#   run.sh [--build DIR]            bounded run for `make fuzz` / `make check`:
#                                   fixed seed, fixed number of runs, a fresh
#                                   corpus in DIR/fuzz/bounded; prints TAP and
#                                   "N passed, N failed"
#   run.sh --long [--build DIR]     `make fuzz-long`: FUZZ_TIME seconds
#                                   (default 1800), random seed, corpus kept
#                                   in DIR/fuzz/corpus across runs
#   ... -- ARGS                     extra libFuzzer arguments
#
# Environment: FUZZ_RUNS (bounded run, default 400000), FUZZ_TIME (long run),
# CLANG (default clang), and the harness's MSIX_FUZZ_* knobs (README.md).
# The checked-in seeds (tools/fuzz/corpus) are only read.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
build=$project/build
long=0
extra=()

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--long) long=1; shift ;;
	--) shift; extra=("$@"); break ;;
	*) echo "usage: $0 [--build DIR] [--long] [-- libFuzzer args]" >&2; exit 2 ;;
	esac
done

out=$build/fuzz
bin=$out/msix_fuzz
clang=${CLANG:-clang}
name="msix_decode/msix_decide_write vs the reference model (libFuzzer)"
srcs=("$here/msix_fuzz.c" "$here/msix_model.c")
deps=("${srcs[@]}" "$here/msix_model.h" "$here/kernel-shim.h" "$here/run.sh"
      "$project/virt/kvm/msix_decode.h" "$project/uapi/linux/kvm_msix.h")

tap_fail() {
	echo "not ok 1 $name"
	[ $# -gt 0 ] && echo "# $*"
	echo "0 passed, 1 failed"
	exit 1
}

echo "TAP version 13"
echo "1..1"
mkdir -p "$out/artifacts" || tap_fail "cannot create $out"

# ---- build (a few seconds; only when a source changed) ----
rebuild=0
[ -x "$bin" ] || rebuild=1
for f in "${deps[@]}"; do
	[ "$f" -nt "$bin" ] && rebuild=1
done
if [ $rebuild -eq 1 ]; then
	command -v "$clang" >/dev/null ||
		tap_fail "$clang not found: run tools/build/install-deps.sh"
	# -Wno-sign-compare: msix_decode.h is kernel code, built with the
	# kernel's warnings, which do not include it.
	if ! "$clang" -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter \
		-Wno-sign-compare -Werror -fno-pie -no-pie -I "$here" -I "$project/virt/kvm" \
		-I "$project/uapi" "${srcs[@]}" -o "$bin.tmp" 2> "$out/build.log"; then
		sed 's/^/# /' "$out/build.log"
		tap_fail "build failed"
	fi
	mv "$bin.tmp" "$bin"
fi

# ---- run ----
common=(-max_len=512 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	-artifact_prefix="$out/artifacts/")
if [ $long -eq 1 ]; then
	corpus=$out/corpus
	mkdir -p "$corpus"
	args=(-max_total_time="${FUZZ_TIME:-1800}" -use_value_profile=1
	      "${common[@]}")
	limit=$(( ${FUZZ_TIME:-1800} + 600 ))
else
	# The same runs on every machine: a fixed seed, a fresh corpus, no
	# reloading, and no comparison-guided mutations (-use_cmp, value
	# profiles), which feed the sanitizers' pointer comparisons, and so
	# ASLR, into the mutator.
	corpus=$out/bounded
	rm -rf "$corpus"
	mkdir -p "$corpus"
	args=(-seed=1 -runs="${FUZZ_RUNS:-400000}" -reload=0 -use_cmp=0
	      -use_value_profile=0 "${common[@]}")
	limit=600
fi
log=$out/$( [ $long -eq 1 ] && echo long || echo bounded ).log

start=$(date +%s)
# New inputs go to the first directory; the seeds are only read.
timeout "$limit" "$bin" "${args[@]}" "${extra[@]}" "$corpus" "$here/corpus" \
	> "$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/([0-9]+[a-zA-Z]*) .*/cov \1, ft \2, corpus \3 inputs \/ \4/p' <<< "$final")
files=$(find "$corpus" -type f | wc -l)
bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
seeds=$(find "$here/corpus" -type f | wc -l)

summary="${execs:-?} execs in ${secs} s (${rate:-?}/s); ${cov:-no final status}; ${files} new inputs (${bytes} bytes) in ${corpus#"$project"/} + ${seeds} seeds"

if [ $rc -ne 0 ]; then
	# The harness prints "==== msix_fuzz: <what broke>" and the steps.
	awk '/^==== msix_fuzz:/, /^---- \(caller/' "$log" | sed 's/^/# /'
	grep -E '^(SUMMARY|==[0-9]+==ERROR)|Test unit written to|runtime error' "$log" |
		sed 's/^/# /'
	art=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
	[ -n "$art" ] && echo "# reproduce: MSIX_FUZZ_TRACE=1 $bin $art"
	echo "# full log: $log"
	tap_fail "exit status $rc after $summary"
fi

echo "ok 1 $name # $summary"
echo "1 passed, 0 failed"
