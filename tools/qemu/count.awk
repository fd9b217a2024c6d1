# SPDX-License-Identifier: GPL-2.0
#
# check-qemu, in L1: MSI-X exits per phase and device from the tracefs
# text of one run (kvm_pio filtered to the phase port, kvm_mmio without the
# local APIC page, kvm_userspace_exit filtered to MMIO and
# KVM_EXIT_MSIX_ENTRY_UPDATED).  Run with busybox awk:
#
#   awk -v cfg=NAME -v port=0x5ab0 -v names="0000:00:03.0=virtio-net ..." \
#       -v ranges=RANGES [-v dump=DEV] -f count.awk TRACE
#
# RANGES: a file of the guest's "## msix" lines (PHASE BDF VID:DID NVEC TABLE END PBA
# END after the "## msix" prefix); a report made in phase P applies from
# phase P on (the first one also to the phases before it).
#
# Each KVM_EXIT_MMIO (6) is attributed to the last kvm_mmio event of the same
# thread (vCPU), which the kernel traces just before it exits: a write, or
# an "unsatisfied-read".  A traced access that was not followed by an exit
# was served in the kernel ("ik" column).  KVM_EXIT_MSIX_ENTRY_UPDATED
# (0x4d58) is attributed to the table write the same vCPU made last.
#
# Output, per phase 0..last and device, then "all" phases:
#   MSIX CFG PHASE DEV rd ctl ad pba upd ik
# rd: table reads that exited; ctl: Vector Control writes that exited (mask,
# unmask); ad: address/data writes that exited; pba: PBA accesses that
# exited; upd: KVM_EXIT_MSIX_ENTRY_UPDATED exits; ik: table and PBA accesses
# the kernel served.  Per table entry that exited:
#   MSIXE CFG PHASE DEV ENTRY rd ctl ad
# All MMIO exits (any device, any register) per phase 0..last:
#   MSIX-MMIO CFG N0 N1 ...
# With dump=DEV, each MSI-X exit of DEV as "MSIXEV CFG PHASE <its kvm_mmio
# event>", for debugging.
# Then:
#   MSIX-CHECK CFG markers=N bad_markers=N unpaired=N events=N moved=0|1

BEGIN {
	nnames = split(names, nm, " ")
	for (i = 1; i <= nnames; i++) {
		split(nm[i], kv, "=")
		devname[kv[1]] = kv[2]
		order[i] = kv[2]
		devseen[kv[2]] = 1
	}
	ndev = nnames
	nrep = 0
	phase = 0
	maxphase = 0
	markers = 0
	bad = 0
	unpaired = 0
	events = 0
	moved = 0
	portnum = port + 0
	while ((getline line < ranges) > 0)
		add_range(line)
}

# One line of the ranges file.
function add_range(line,    f, rp, r, n, dev, key) {
	if (split(line, f, " ") < 8 || f[5] == "unmapped")
		return
	rp = f[1] + 0
	if (!(rp in repidx)) {
		repidx[rp] = ++nrep
		repphase[nrep] = rp
	}
	r = repidx[rp]
	n = ++nr[r]
	dev = (f[2] in devname) ? devname[f[2]] : f[2]
	if (!(dev in devseen)) {
		order[++ndev] = dev
		devseen[dev] = 1
	}
	rdev[r, n] = dev
	rts[r, n] = f[5] + 0; rte[r, n] = f[6] + 0
	rps[r, n] = f[7] + 0; rpe[r, n] = f[8] + 0
	key = f[5] " " f[6] " " f[7] " " f[8]
	if ((dev in lastkey) && lastkey[dev] != key)
		moved = 1
	lastkey[dev] = key
}

# The report that applies to phase p.
function report(p,    i, best) {
	best = 1
	for (i = 1; i <= nrep; i++)
		if (repphase[i] <= p && repphase[i] >= repphase[best])
			best = i
	return best
}

# Sets cdev, ckind ("table", "pba" or "") and coff for gpa in phase p.
function classify(gpa, p,    r, i) {
	cdev = ""; ckind = ""; coff = 0
	if (!nrep)
		return
	r = report(p)
	for (i = 1; i <= nr[r]; i++) {
		if (gpa >= rts[r, i] && gpa < rte[r, i]) {
			cdev = rdev[r, i]; ckind = "table"; coff = gpa - rts[r, i]
			return
		}
		if (gpa >= rps[r, i] && gpa < rpe[r, i]) {
			cdev = rdev[r, i]; ckind = "pba"; coff = gpa - rps[r, i]
			return
		}
	}
}

# A pending access of thread t that did not exit: served in the kernel.
function settle(t) {
	if (pend[t] && pkind[t] != "")
		cnt[pphase[t], pdev[t], "ik"]++
	pend[t] = 0
}

/^#/ { next }

{
	if (!match($0, /-[0-9]+ +\[[0-9]+\]/))
		next
	tid = substr($0, RSTART + 1, RLENGTH - 1)
	sub(/ .*/, "", tid)
	n = split(substr($0, RSTART + RLENGTH), f, " ")
	for (i = 1; i <= n; i++)
		if (f[i] ~ /^kvm_[a-z_]+:$/)
			break
	if (i > n)
		next
	ev = f[i]
	events++

	if (ev == "kvm_pio:") {
		# pio_write at 0x5ab0 size 1 count 1 val 0x1
		if ((f[i + 3] + 0) != portnum)
			next
		v = f[i + 9] + 0
		if (f[i + 1] != "pio_write" || f[i + 5] != 1 || v != phase + 1) {
			bad++
			next
		}
		phase = v
		markers++
		if (phase > maxphase)
			maxphase = phase
		next
	}

	if (ev == "kvm_mmio:") {
		# mmio write|read|unsatisfied-read len 4 gpa 0x... val 0x...
		type = f[i + 2]
		gpa = f[i + 6] + 0
		if (type == "read") {
			# The completion of a read that exited, or one the
			# kernel served.
			if (rpend[tid] && rgpa[tid] == gpa) {
				rpend[tid] = 0
				next
			}
			classify(gpa, phase)
			if (ckind != "")
				cnt[phase, cdev, "ik"]++
			next
		}
		settle(tid)
		classify(gpa, phase)
		pend[tid] = 1
		ptype[tid] = type
		pgpa[tid] = gpa
		if (dump != "")
			pline[tid] = $0
		pdev[tid] = cdev
		pkind[tid] = ckind
		poff[tid] = coff
		pphase[tid] = phase
		# A write is the last one for KVM_EXIT_MSIX_ENTRY_UPDATED.
		if (type == "write") {
			wdev[tid] = cdev
			wkind[tid] = ckind
		}
		next
	}

	if (ev == "kvm_userspace_exit:") {
		# reason KVM_EXIT_MMIO (6); an unnamed one: reason 0x4d58 (19800)
		code = f[n]
		gsub(/[()]/, "", code)
		code = code + 0
		if (code == 19800) {
			if (pend[tid] && ptype[tid] == "write")
				settle(tid)
			d = (wkind[tid] != "") ? wdev[tid] : "unattributed"
			if (!(d in devseen)) {
				order[++ndev] = d
				devseen[d] = 1
			}
			cnt[phase, d, "upd"]++
			next
		}
		if (code != 6)
			next
		if (!pend[tid]) {
			unpaired++
			next
		}
		pend[tid] = 0
		mmio[pphase[tid]]++
		if (ptype[tid] != "write") {
			rpend[tid] = 1
			rgpa[tid] = pgpa[tid]
		}
		if (pkind[tid] == "")
			next
		if (pkind[tid] == "pba")
			k = "pba"
		else if (ptype[tid] != "write")
			k = "rd"
		else if (poff[tid] % 16 >= 12)
			k = "ctl"
		else
			k = "ad"
		cnt[pphase[tid], pdev[tid], k]++
		if (dump != "" && pdev[tid] == dump)
			print "MSIXEV " cfg " " pphase[tid] " " pline[tid]
		if (pkind[tid] == "table") {
			e = pphase[tid] SUBSEP pdev[tid] SUBSEP int(poff[tid] / 16)
			ecnt[e, k]++
			ents[e] = 1
		}
		next
	}
}

END {
	for (t in pend)
		settle(t)
	split("rd ctl ad pba upd ik", kinds, " ")
	for (p = 0; p <= maxphase + 1; p++) {
		if (p > maxphase)
			p = "all"
		for (j = 1; j <= ndev; j++) {
			d = order[j]
			line = "MSIX " cfg " " p " " d
			for (k = 1; k <= 6; k++) {
				if (p == "all") {
					s = 0
					for (q = 0; q <= maxphase; q++)
						s += cnt[q, d, kinds[k]]
				} else {
					s = cnt[p, d, kinds[k]] + 0
				}
				line = line " " s
			}
			print line
		}
		if (p == "all")
			break
	}
	line = "MSIX-MMIO " cfg
	for (p = 0; p <= maxphase; p++)
		line = line " " mmio[p] + 0
	print line
	for (e in ents) {
		split(e, ef, SUBSEP)
		print "MSIXE " cfg " " ef[1] " " ef[2] " " ef[3] " " \
		      ecnt[e, "rd"] + 0 " " ecnt[e, "ctl"] + 0 " " ecnt[e, "ad"] + 0
	}
	print "MSIX-CHECK " cfg " markers=" markers " bad_markers=" bad \
	      " unpaired=" unpaired " events=" events " moved=" moved \
	      " reports=" nrep
}
