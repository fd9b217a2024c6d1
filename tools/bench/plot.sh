#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Turn the console of a `run-vm.sh --bench` run into results: the benchmark's
# output (bench.txt), its JSON (results.json), a CSV (results.csv) and a plot
# of the per-access times (bench.png, gnuplot).
#
# usage: plot.sh CONSOLE_LOG OUTDIR
set -euo pipefail

log=$1
out=$2
mkdir -p "$out"

tr -d '\r' < "$log" | sed -n '/^group /,/^BENCH-JSON-BEGIN/p' |
	grep -v '^BENCH-JSON-BEGIN' > "$out/bench.txt"
tr -d '\r' < "$log" | sed -n '/^BENCH-JSON-BEGIN/,/^BENCH-JSON-END/p' |
	sed '1d;$d' > "$out/results.json"
[ -s "$out/results.json" ] || { echo "no benchmark results in $log" >&2; exit 1; }

python3 - "$out/results.json" "$out/results.csv" "$out/plot.dat" <<'EOF'
import csv, json, sys
rows = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["group", "scenario", "ns_per_op", "exits_per_op"])
    for r in rows:
        w.writerow([r["group"], r["scenario"], r["ns"], r["exits"]])
# The plot: per-operation times of the access scenarios, in microseconds.
with open(sys.argv[3], "w") as f:
    for r in rows:
        if r["group"] in ("write", "read", "scaling", "irq"):
            label = r["scenario"].replace('"', "'")
            f.write('"%s" %.3f\n' % (label, max(r["ns"], 1) / 1000.0))
EOF

gnuplot <<EOF
set terminal pngcairo size 1100,700 font "sans,9"
set output "$out/bench.png"
set termoption noenhanced
set title "kvm-msix: time per guest operation (medians of 15 rounds; nested KVM under QEMU TCG)"
set style fill solid 0.8
set boxwidth 0.7
set logscale x 10
set xlabel "microseconds per operation (log scale)"
set yrange [-1:*] reverse
set ytics nomirror
set grid xtics
unset key
plot "$out/plot.dat" using 2:0:(0):2:(\$0-0.35):(\$0+0.35):yticlabels(1) with boxxyerror lc rgb "#3070b0"
EOF
rm -f "$out/plot.dat"
echo "  BENCH   $out/bench.txt results.json results.csv bench.png"
