#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-all-kernels: "make KVER=..." then "make check KVER=..." for
# every kernel in tools/build/kernels.sh, in turn, each in its own build
# directory (build/ for the default kernel, build/KVER for the others),
# going on after a failure; then a table: KVER, build time, the kselftests'
# passed/failed/skipped, the result.  A kernel whose series has no
# patches/SERIES yet is a failure ("no patches/SERIES yet").  Logs go to
# build/check-all/KVER.log.  Exits non-zero if any kernel failed.
#
# usage: check-all-kernels.sh PROJECT
set -uo pipefail

project=$1
logs=$project/build/check-all
mkdir -p "$logs"
# Each kernel's own BUILD: none of the caller's make variables (BUILD,
# KVER) may reach the per-kernel makes.
unset MAKEFLAGS MFLAGS MAKELEVEL BUILD KVER KDIR KSRC KSRC_TAR SERIES

rows=()
status=0
for kver in $("$project/tools/build/kernels.sh" list); do
	series=$("$project/tools/build/kernels.sh" get "$kver" series)
	log=$logs/$kver.log
	: > "$log"
	secs=- p=- f=- s=-
	echo "# ==== $kver (patches/$series) ===="
	if [ ! -d "$project/patches/$series" ]; then
		result="no patches/$series yet"
	else
		start=$(date +%s)
		if make -C "$project" KVER="$kver" > "$log" 2>&1; then
			secs=$(($(date +%s) - start))
			make -C "$project" check KVER="$kver" >> "$log" 2>&1
			rc=$?
			line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
			if [ -n "$line" ]; then
				read -r p f s < <(sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<< "$line")
				s=${s:-0}
			fi
			if [ "$rc" -eq 0 ]; then
				result=ok
			else
				result="check failed"
			fi
		else
			secs=$(($(date +%s) - start))
			result="build failed"
		fi
	fi
	echo "# $kver: $result (log: ${log#"$project"/})"
	[ "$result" = ok ] || status=1
	rows+=("$(printf '%-24s %9s %7s %7s %8s  %s' "$kver" "$secs" "$p" "$f" "$s" "$result")")
done

echo
printf '%-24s %9s %7s %7s %8s  %s\n' KVER "build (s)" passed failed skipped result
printf '%s\n' "${rows[@]}"
exit $status
