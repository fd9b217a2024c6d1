#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real-guest demo table from a check-qemu console log:
#   demo-table.sh LOG CONFIG...
# MSI-X userspace exits (table and PBA accesses, and
# KVM_EXIT_MSIX_ENTRY_UPDATED) of all of L2's devices, per phase and
# configuration, and the interrupts L2 took.
set -euo pipefail
log=$1
shift
awk -v cfgs="$*" '
	BEGIN {
		n = split(cfgs, c, " ")
		split("boot|driver load|I/O (ping, nvme write + verify)|20 affinity changes of each vector|reset + rebind of each function|shutdown", pn, "|")
		hdr["stock"] = "stock"; hdr["off"] = "table off"
		hdr["exit"] = "in-kernel"; hdr["defer"] = "deferred"; hdr["none"] = "no-exits"
	}
	$1 == "MSIX" && $3 != "all" { x[$2, $3] += $5 + $6 + $7 + $8 + $9; seen[$2] = 1 }
	$1 == "MSIX" && $3 == "all" { tot[$2] += $5 + $6 + $7 + $8 + $9 }
	/^L2\|[a-z]+\| ## irq / { split($1, f, "|"); irq[f[2]] += $6 }
	END {
		print "kvm-msix demo: a real guest, Linux 6.12 under QEMU 10.2.2 (virtio-net with"
		print "vhost-net, e1000e, nvme, an assigned e1000e), MSI-X exits to QEMU per phase"
		print ""
		printf "%-38s", ""
		for (i = 1; i <= n; i++)
			printf " %10s", hdr[c[i]] ? hdr[c[i]] : c[i]
		print ""
		for (p = 0; p <= 5; p++) {
			printf "%-38s", pn[p + 1]
			for (i = 1; i <= n; i++)
				printf " %10d", x[c[i], p]
			print ""
		}
		printf "%-38s", "whole run"
		for (i = 1; i <= n; i++)
			printf " %10d", tot[c[i]]
		print ""
		printf "%-38s", "interrupts the guest took"
		for (i = 1; i <= n; i++)
			printf " %10d", irq[c[i]]
		print ""
		for (i = 1; i <= n; i++)
			if (!seen[c[i]]) {
				print "demo: no counts for " c[i] > "/dev/stderr"
				exit 1
			}
	}' "$log"
