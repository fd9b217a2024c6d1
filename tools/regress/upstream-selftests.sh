#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Regression check against upstream KVM: build the x86_64 KVM selftests of
# the linux-source-6.12 tree (TEST_GEN_PROGS_x86_64, less the project's own
# msix_* tests), run them in the test VM twice, on Debian's stock kvm.ko and
# kvm-amd.ko and on the project's, in the same kernel image, and compare the
# result of every program.  The project must not change what upstream's tests
# see, so the two pass/skip/fail sets must be identical: a test that fails or
# times out on both is TCG's or Debian's problem, not a regression.
#
# Prints a side-by-side table (result and seconds per run), the counts of
# each run and the wall time of each VM.  Exits non-zero when a test's result
# differs between the runs (unless known-differences.txt gives the reason),
# when a run did not complete, or when only the project's run shows a kernel
# splat.  excluded.txt names the tests too slow for nested KVM under TCG.
#
# usage: upstream-selftests.sh PROJECT BUILD [--compare-only] [--only 'a b']
#   --compare-only   do not build or boot; compare the logs of the last run
#   --only 'a b'     run only these tests (paths as in the Makefile)
# env:   TEST_TIMEOUT seconds per program in the VM (default 180),
#        VM_TIMEOUT seconds per VM (default 900), KVER as run-vm.sh,
#        KSELFTEST_X86 libkvm's x86 directory (x86_64, or x86 since 6.14),
#        SERIES the kernel series: its lists are tools/regress/SERIES/*.txt
#        when there are any (6.12's are tools/regress/*.txt)
set -euo pipefail

project=$1
build=$2
shift 2
compare_only=
only=
while [ $# -gt 0 ]; do
	case "$1" in
	--compare-only) compare_only=1 ;;
	--only) only=$2; shift ;;
	*) echo "usage: $0 PROJECT BUILD [--compare-only] [--only 'a b']" >&2; exit 2 ;;
	esac
	shift
done

here=$project/tools/regress
lists=$here
if [ -n "${SERIES:-}" ] && [ -d "$here/$SERIES" ]; then
	lists=$here/$SERIES
fi
x86=${KSELFTEST_X86:-x86_64}
kvmst=$build/linux/tools/testing/selftests/kvm
out=$build/upstream-selftests
# run-vm.sh gets a --build directory of its own, so that its initramfs and
# console logs never collide with a `make check` running from build/ at the
# same time; it shares build/modules and the unpacked kernel image.
vmbuild=$out/run
# Per program: twice the slowest test's time on a loaded host (83 s), so
# that only a hang reaches it.
test_timeout=${TEST_TIMEOUT:-180}
export VM_TIMEOUT=${VM_TIMEOUT:-900}

# "name reason..." lines of a list file, comments and blank lines dropped.
# A name without a reason is an error: every entry must say why it is there.
read_list() {
	sed -e 's/[[:space:]]*$//' -e '/^[[:space:]]*\(#\|$\)/d' "$1" |
	while read -r name reason; do
		if [ -z "$reason" ]; then
			echo "$1: '$name' has no reason" >&2
			exit 1
		fi
		printf '%s\t%s\n' "$name" "$reason"
	done
}
excluded=$(read_list "$lists/excluded.txt")
allowed=$(read_list "$lists/known-differences.txt")

# shellcheck disable=SC2016 # $(...) is make's, in a makefile
# The program list comes from the Makefile itself, so a new upstream test is
# picked up (and must be run or excluded) without editing this script.
all=$(make -s --no-print-directory -C "$kvmst" -f Makefile \
	-f <(printf 'kvm-msix-list:\n\t@echo $(TEST_GEN_PROGS_%s)\n' "$x86") \
	OUTPUT="$out/obj" kvm-msix-list | tr ' ' '\n' | grep -v "^$x86/msix_" | sort)
for name in $(cut -f1 <<< "$excluded") $(cut -f1 <<< "$allowed"); do
	grep -qx "$name" <<< "$all" ||
		{ echo "$0: '$name' is listed but is no upstream $x86 test" >&2; exit 1; }
done
tests=$(grep -vxF -f <(cut -f1 <<< "$excluded"; echo '#none') <<< "$all")
if [ -n "$only" ]; then
	tests=$(grep -xF -f <(tr ' ' '\n' <<< "$only") <<< "$all" || true)
	[ -n "$tests" ] || { echo "$0: --only names no upstream test" >&2; exit 2; }
fi
ntests=$(wc -l <<< "$tests")

if [ -z "$compare_only" ]; then
	# Built as `make selftests` builds the project's own, static against
	# the patched uapi headers (which only add to the stock ones), but in
	# an OUTPUT of their own so the two builds never race on libkvm.
	echo "  BUILD   $(wc -l <<< "$all") upstream $x86 KVM selftests in ${out#"$project"/}/obj"
	mkdir -p "$out/obj"
	targets=()
	for t in $all; do
		targets+=("$out/obj/$t")
	done
	if ! make -s -j"$(nproc)" -C "$kvmst" OUTPUT="$out/obj" EXTRA_CFLAGS=-static \
		KHDR_INCLUDES="-isystem $build/usr/include" \
		"${targets[@]}" > "$out/build.log" 2>&1; then
		grep -v -e BITS_PER_LONG -e '^ *|' -e 'In file included' -e '^ *from ' \
			-e 'previous definition' -e '^ *6 | #' "$out/build.log" | tail -40
		echo "$0: building the upstream selftests failed; see $out/build.log" >&2
		exit 1
	fi
	# Without debug info: every binary goes into the initramfs, which
	# lives in the VM's RAM (136 MB with it, 95 MB without).
	rm -rf "$out/tests"
	for t in $all; do
		mkdir -p "$out/tests/$(dirname "$t")"
		strip --strip-debug -o "$out/tests/$t" "$out/obj/$t"
	done

	mkdir -p "$vmbuild/vm"
	ln -sfn "$build/modules" "$vmbuild/modules"
	if [ -e "$build/vm/image" ] && [ ! -e "$vmbuild/vm/image" ]; then
		ln -sfn "$build/vm/image" "$vmbuild/vm/image"
	fi

	# One VM at a time: they share two cores with everything else.
	for run in stock project; do
		echo "  VM      $ntests tests on the $run modules, ${test_timeout}s per test"
		stock=()
		[ "$run" = project ] || stock=(--stock)
		# A run that dies before QEMU must not leave the last run's log.
		rm -f "$vmbuild/vm/console-tests${stock:+-stock}.log"*
		start=$(date +%s)
		# Its verdict is not ours (upstream tests may fail on both).
		"$project/tools/vmtest/run-vm.sh" --build "$vmbuild" --tests \
			--selftests "$out/tests" --only "$(tr '\n' ' ' <<< "$tests")" \
			--test-timeout "$test_timeout" "${stock[@]}" \
			> "$out/$run.out" 2>&1 || true
		echo $(($(date +%s) - start)) > "$out/$run.wall"
		echo "          $(tail -1 "$out/$run.out"), $(cat "$out/$run.wall")s wall"
	done
fi

# One "name result seconds" line per program that ran, from the console:
# "# NAME: exit RC after Ns" then "ok I NAME", "ok I NAME # SKIP" or
# "not ok I NAME".  A program killed by the VM's timeout (SIGKILL, 137, at
# the limit) is "timeout" rather than "fail".
results() {
	local log=$vmbuild/vm/console-tests$1.log.txt
	[ -e "$log" ] || return 0
	awk -v limit="$test_timeout" '
		/^# [^ ]+: exit [0-9]+ after [0-9]+s$/ {
			name = substr($2, 1, length($2) - 1)
			rc[name] = $4; secs[name] = substr($6, 1, length($6) - 1)
			next
		}
		/^(not )?ok [0-9]+ [^ ]+( # SKIP)?$/ {
			name = $1 == "not" ? $4 : $3
			r = $1 == "not" ? "fail" : /# SKIP$/ ? "skip" : "pass"
			if (r == "fail" && rc[name] == 137 && secs[name] >= limit - 1)
				r = "timeout"
			print name, r, secs[name]
		}' "$log"
}
declare -A res secs
for run in stock project; do
	tag=${run/#project/}
	tag=${tag/#stock/-stock}
	while read -r name r s; do
		res[$run:$name]=$r secs[$run:$name]=$s
	done < <(results "$tag")
	# The whole VM as two more rows: did it finish, and is its kernel
	# console clean (run-vm.sh's own verdict on both).
	res["$run:(vm finished)"]=no
	if grep -q '^# vm-tests-done' "$vmbuild/vm/console-tests$tag.log.txt" 2>/dev/null; then
		res["$run:(vm finished)"]=yes
	fi
	res["$run:(kernel console)"]=clean
	if grep -q '^# kernel console shows a splat' "$out/$run.out" 2>/dev/null; then
		res["$run:(kernel console)"]=splat
	fi
done

status=0
diffs=0
declare -A count
printf '\n%-46s %-8s %5s   %-8s %5s\n' test stock secs project secs
for name in $tests '(vm finished)' '(kernel console)'; do
	note=
	for run in stock project; do
		r=${res[$run:$name]:-missing}
		count[$run:$r]=$((${count[$run:$r]:-0} + 1))
		if [ "$r" = missing ] || [ "$r" = no ]; then
			note="incomplete run"
			status=1
		fi
	done
	rs=${res[stock:$name]:-missing} rp=${res[project:$name]:-missing}
	if [ "$rs" != "$rp" ]; then
		reason=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<< "$allowed")
		if [ -n "$reason" ]; then
			note="known difference: ${reason%%:*} (known-differences.txt)"
		else
			note="DIFFERS"
			diffs=$((diffs + 1))
			status=1
		fi
	elif awk -F'\t' -v n="$name" '$1 == n { f = 1 } END { exit !f }' <<< "$allowed"; then
		note="same this time (known-differences.txt)"
	elif [ "$rs" = splat ]; then
		note="both runs: see the console logs"
	fi
	printf '%-46s %-8s %5s   %-8s %5s   %s\n' "$name" "$rs" "${secs[stock:$name]:-}" \
		"$rp" "${secs[project:$name]:-}" "$note"
done

c() { echo "${count[$1:$2]:-0}"; }
summary() {
	local m=
	[ "$(c "$1" missing)" -eq 0 ] || m=", $(c "$1" missing) missing"
	echo "$(c "$1" pass) pass, $(c "$1" skip) skip," \
	     "$(($(c "$1" fail) + $(c "$1" timeout))) fail ($(c "$1" timeout) timed out$m)"
}
echo
echo "stock: $(summary stock); project: $(summary project)"
echo "VM wall time: stock $(cat "$out/stock.wall" 2>/dev/null || echo ?)s," \
     "project $(cat "$out/project.wall" 2>/dev/null || echo ?)s;" \
     "$ntests tests run, $(grep -c . <<< "$excluded" || true) excluded (${lists#"$project"/}/excluded.txt)"
echo "logs: $vmbuild/vm/console-tests{-stock,}.log.txt"
if [ "$status" -ne 0 ]; then
	echo "upstream selftests: $diffs tests differ between stock and project," \
	     "or a run did not complete: FAIL"
else
	echo "upstream selftests: same results on stock and project modules: PASS"
fi
exit $status
