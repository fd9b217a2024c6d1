#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-qemu: a real Linux guest (L2) under a real QEMU inside the test
# VM (L1, run-vm.sh --qemu --vfio, on the project's kvm.ko), once per QEMU
# configuration; L1 counts the MSI-X userspace exits per phase with tracefs.
#
#   check-qemu.sh SRCDIR BUILD
#
# Environment:
#   QEMU_DIR       where make qemu built stock/ and patched/ ($BUILD/qemu)
#   QEMU_STOCK     the unpatched binary ($QEMU_DIR/stock/qemu-system-x86_64)
#   QEMU_PATCHED   the patched one ($QEMU_DIR/patched/qemu-system-x86_64)
#   CONFIGS        what to run (stock, plus off exit defer none when the
#                  patched binary exists; make check-qemu-migrate:
#                  migrate_off migrate); each is one L2 boot (two QEMUs for
#                  migrate*):
#                    stock  unpatched QEMU, -accel kvm
#                    off    patched, -accel kvm,msix-table=off
#                    exit|defer|none  patched, -accel kvm,msix-table=on,
#                           msix-table-updates=CONFIG
#                  migrate|migrate_off  patched, msix-table=on,
#                           msix-table-updates=exit (migrate) or
#                           msix-table=off: L2 live-migrated between two
#                           QEMUs in L1 while it does I/O (l1.sh)
#   CHECKS_<cfg>   the assertions for one configuration (see CHECKS below)
#   L2_SMP         vCPUs of L2 (2)
#   MIG_DISK       migrate*: the disk, virtio-blk (default) or nvme (which
#                  QEMU marks unmigratable)
#   DUMP           a device name (virtio-net, e1000e, nvme, vfio-e1000e): list
#                  each of its MSI-X exits in the log ("MSIXEV" lines)
#
# Prints, per configuration, the MSI-X exits per phase and device and the
# interrupts each device took, then the assertions; exits nonzero if one
# fails.  The L1 console (with L2's, as "L2|CFG| " lines) is in
# $BUILD/vm/console-qemu-vfio.log.txt.
set -euo pipefail

src=$(cd "$1" && pwd)
build=$(mkdir -p "$2" && cd "$2" && pwd)
here=$src/tools/qemu
KVER=${KVER:-6.12.117+deb12-amd64}
QEMU_DIR=${QEMU_DIR:-$build/qemu}
QEMU_STOCK=${QEMU_STOCK:-$QEMU_DIR/stock/qemu-system-x86_64}
QEMU_PATCHED=${QEMU_PATCHED:-$QEMU_DIR/patched/qemu-system-x86_64}
MOVE_TOLERANCE=${MOVE_TOLERANCE:-15}
IRQ_TOLERANCE=${IRQ_TOLERANCE:-20}
img=$build/vm/image
kmod=$img/lib/modules/$KVER/kernel

# Assertions per configuration (a CHECKS_<cfg> variable replaces one):
#   common        every L2 step passed, L2 reached its last phase, its
#                 console shows no splat and no I/O timeout, every phase
#                 marker seen, every MMIO exit paired, no trace lost
#   no-mask-exits no MSI-X table read, Vector Control write or PBA access
#                 exits to userspace, in any phase
#   updates-exit  update exits follow the default rule (msix.rst 4): none
#                 beyond stock's address/data writes, some where Linux
#                 reprogrammed (phases 1 and 3)
#   updates-defer the DEFER_UPDATES rule: at most one per unmask, some
#                 where Linux reprogrammed
#   no-msix-exits no MSI-X exit at all: no table or PBA MMIO exit, no
#                 KVM_EXIT_MSIX_ENTRY_UPDATED
#   same-as-stock the same exits per phase and device as stock (table
#                 reads, mask and address/data writes in phase 3 within
#                 MOVE_TOLERANCE percent + 3)
#   migrate       the migration completed, L2 passed every step on the
#                 destination (I/O rounds, pings, each device interrupted
#                 after the move), no splat or I/O timeout on either side;
#                 the MSI-X tables and PBAs as QEMU holds them (l1.sh, HMP
#                 xp): the source's at its stop identical to the
#                 destination's as loaded; the disk's entries (never
#                 reprogrammed) the same at "ready" and on the running
#                 destination, which has no Pending bit set for an unmasked
#                 vector; Message Control as L2 reads it unchanged
#   irq-ge-stock  each device took at least as many interrupts as under
#                 stock, less IRQ_TOLERANCE percent
declare -A CHECKS=(
	[stock]="common"
	[off]="common same-as-stock irq-ge-stock"
	[exit]="common no-mask-exits updates-exit irq-ge-stock"
	[defer]="common no-mask-exits updates-defer irq-ge-stock"
	[none]="common no-mask-exits no-msix-exits irq-ge-stock"
	[migrate]="migrate"
	[migrate_off]="migrate"
)

[ -x "$QEMU_STOCK" ] || { echo "$0: no stock QEMU at $QEMU_STOCK (make qemu)" >&2; exit 2; }
if [ -z "${CONFIGS:-}" ]; then
	CONFIGS=stock
	[ -x "$QEMU_PATCHED" ] && CONFIGS="stock off exit defer none"
fi

out=$build/qemu-check
pay=$out/payload
l2=$out/l2root
rm -rf "$pay" "$l2"
mkdir -p "$pay"/qemu/{stock,fw,l2,mods} "$l2"/{bin,lib/modules,proc,sys,dev,tmp}

# Debian's kernel image, for L1 and L2.
"$src/tools/vmtest/fetch-image.sh" "$build/vm" "$KVER"

# L2: busybox, the helper, its drivers, /init.
echo "  BUILD   L2 initramfs"
gcc -static -O2 -Wall -o "$l2/bin/l2util" "$here/l2util.c"
cp /bin/busybox "$l2/bin/busybox"
install -m 0755 "$here/l2-init" "$l2/init"
for m in net/core/failover drivers/net/net_failover drivers/net/virtio_net \
	 drivers/net/ethernet/intel/e1000e/e1000e drivers/nvme/common/nvme-auth \
	 drivers/nvme/host/nvme-core drivers/nvme/host/nvme drivers/block/virtio_blk; do
	xz -dc "$kmod/$m.ko.xz" > "$l2/lib/modules/${m##*/}.ko"
done
(cd "$l2" && find . | cpio -o -H newc --quiet) | gzip -1 > "$pay/qemu/l2/initramfs.gz"
cp "$img/boot/vmlinuz-$KVER" "$pay/qemu/l2/vmlinuz"

# L1: vhost-net and the tap it sits on.
for m in drivers/net/tun drivers/net/tap drivers/vhost/vhost_iotlb \
	 drivers/vhost/vhost drivers/vhost/vhost_net; do
	xz -dc "$kmod/$m.ko.xz" > "$pay/qemu/mods/${m##*/}.ko"
done

# The QEMU binaries, their libraries at the host's paths, the firmware.
bins=("$QEMU_STOCK")
strip -o "$pay/qemu/stock/qemu-system-x86_64" "$QEMU_STOCK"
if [ -x "$QEMU_PATCHED" ]; then
	mkdir -p "$pay/qemu/patched"
	strip -o "$pay/qemu/patched/qemu-system-x86_64" "$QEMU_PATCHED"
	bins+=("$QEMU_PATCHED")
fi
for lib in $(ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
				    $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
	mkdir -p "$pay$(dirname "$lib")"
	cp -L "$lib" "$pay$lib"
done
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	 /usr/share/qemu/kvmvapic.bin; do
	cp -L "$f" "$pay/qemu/fw/"
done
install -m 0755 "$here/l1.sh" "$here/ifup" "$pay/qemu/"
cp "$here/count.awk" "$pay/qemu/"

log=$build/vm/console-qemu-vfio.log.txt
echo "  RUN     $CONFIGS (one L2 boot each; L1: 1 vCPU, TCG single-threaded, 3 GB)"
start=$(date +%s)
rc=0
# One L1 boot that runs the configurations $1 (space separated).
run_l1() {
	rc=0
	VM_SMP=1 VM_MEM=3072 VM_TCG_THREAD=single VM_TIMEOUT=${VM_TIMEOUT:-1800} \
		"$src/tools/vmtest/run-vm.sh" --build "$build" --qemu "$pay" --vfio \
		--args "$(echo ${L2_SMP:+smp=$L2_SMP} ${DUMP:+dump=$DUMP} ${MIG_DISK:+disk=$MIG_DISK} $1 | tr ' ' ,)" > "$out/run-vm.out" 2>&1 || rc=$?
}
run_l1 "$CONFIGS"
echo "  TIME    $(($(date +%s) - start)) s for the VM (run-vm.sh exit $rc)"

# Nested TCG now and then freezes an L2 for good, with no report from L1
# (README, "A real VMM"): when L1 timed out, boot it once more for the
# configurations that did not finish, and keep the first boot's lines of
# those that did.  Anything else that fails (a splat, an assertion) fails.
missing=
for cfg in $CONFIGS; do
	grep -q "^RUN $cfg qemu_exit" "$log" || missing="$missing $cfg"
done
if [ -n "$missing" ] &&
   grep -q -e '^# VM did not finish (qemu exit 124' \
	-e 'terminating on signal 15 from pid [0-9]* (timeout)' "$out/run-vm.out"; then
	echo "  RERUN  $missing (L1 timed out; tcg-freeze)"
	pat=$(for cfg in $missing; do printf '%s\n' "^RUN $cfg " "^MSIX $cfg " \
		"^MSIX-MMIO $cfg " "^L2|$cfg|"; done)
	grep -v -f <(printf '%b' "$pat") "$log" > "$out/console-first.txt" || true
	cp "$out/run-vm.out" "$out/run-vm-first.out"
	start=$(date +%s)
	run_l1 "${missing# }"
	echo "  TIME    $(($(date +%s) - start)) s for the VM (run-vm.sh exit $rc)"
	cat "$out/console-first.txt" "$log" > "$out/console-all.txt"
	cp "$out/console-all.txt" "$log"
fi
grep -E '^# (L1|insmod|kernel console|VM did not)|^#   ' "$out/run-vm.out" || true

# ---- the tables ----
fail=0
failed() {
	echo "FAIL: $*"
	fail=1
}

table() {
	local cfg=$1
	echo
	grep "^RUN $cfg " "$log" | grep -v ' qemu: ' | sed 's/^RUN /# /'
	printf '%-10s %-12s %6s %6s %6s %5s %6s %9s %6s\n' phase device reads \
		mask addr/data PBA update in-kernel irqs
	awk -v cfg="$cfg" '
		$1 == "MSIX" && $2 == cfg { rows[++n] = $0 }
		index($0, "L2|" cfg "| ## irq ") == 1 { irq[$4, $5] = $6; tot[$5] += $6 }
		END {
			split("boot load io affinity reset shutdown", pn, " ")
			for (i = 1; i <= n; i++) {
				split(rows[i], f, " ")
				p = f[3]
				name = (p == "all") ? "all" : p " " pn[p + 1]
				v = (p == "all") ? tot[f[4]] : irq[p, f[4]]
				if (v == "")
					v = "-"
				printf "%-10s %-12s %6d %6d %9d %5d %6d %9d %6s\n",
					name, f[4], f[5], f[6], f[7], f[8], f[9], f[10], v
			}
		}' "$log"
	awk -v cfg="$cfg" '$1 == "MSIX-MMIO" && $2 == cfg {
		printf "all MMIO exits per phase (any device or register):"
		for (i = 3; i <= NF; i++)
			printf " %d:%s", i - 3, $i
		print ""
	}' "$log"
}

check() {
	local cfg=$1 what=$2 x
	case $what in
	same-as-stock|irq-ge-stock)
		if ! grep -q "^MSIX stock " "$log"; then
			echo "# $cfg: $what skipped: stock did not run"
			return
		fi ;;
	esac
	case $what in
	common)
		grep -q "^RUN $cfg .*status=ok" "$log" ||
			failed "$cfg: QEMU/L2 run did not complete (RUN line: $(grep "^RUN $cfg qemu_exit" "$log" || echo none))"
		x=$(grep "^MSIX-CHECK $cfg " "$log" || true)
		[ -n "$x" ] || failed "$cfg: no MSI-X count"
		case "$x" in *" markers=5 bad_markers=0 unpaired=0 "*) ;;
		*) failed "$cfg: trace: $x" ;; esac
		grep -q "^L2|$cfg| ## result ok" "$log" ||
			failed "$cfg: L2 script did not pass"
		x=$(grep "^L2|$cfg| ## step FAIL" "$log" || true)
		[ -z "$x" ] || failed "$cfg: L2 steps failed: $(echo "$x" | awk '{ printf " %s", $NF }')"
		x=$(grep "^L2|$cfg| " "$log" | grep -v '^L2|[^|]*| ## interrupts' |
		    grep -iE 'BUG:|WARNING:|Oops|Call Trace|general protection|Kernel panic|timeout|timed out|hung task' || true)
		[ -z "$x" ] || failed "$cfg: L2 console: $(echo "$x" | head -5)"
		grep -q "^L2|$cfg| ## phase 5 shutdown" "$log" ||
			failed "$cfg: L2 did not reach shutdown" ;;
	no-mask-exits)
		x=$(awk -v c="$cfg" '$1 == "MSIX" && $2 == c && $3 != "all" &&
			($5 + $6 + $8) { print "phase " $3 " " $4 ": reads " $5 ", mask " $6 ", PBA " $8 }' "$log")
		[ -z "$x" ] || failed "$cfg: mask/read/PBA exits: $x" ;;
	updates-exit|updates-defer)
		# msix.rst section 4: by default an update exit per write that
		# changes an address or data (so never more than stock's
		# address/data writes, and some wherever Linux reprogrammed:
		# driver load, affinity); with DEFER_UPDATES at most one per
		# unmask (stock's mask writes are masks and unmasks in pairs).
		# Phase 3 gets stock's own run-to-run tolerance.
		x=$(awk -v c="$cfg" -v mode="${what#updates-}" -v tol="$MOVE_TOLERANCE" '
			$1 == "MSIX" && $3 != "all" && ($2 == "stock" || $2 == c) {
				k = $3 " " $4; keys[k] = 1
				mask[$2, k] = $6; ad[$2, k] = $7; upd[$2, k] = $9
			}
			END {
				for (k in keys) {
					u = upd[c, k] + 0
					lim = (mode == "exit") ? ad["stock", k] : \
					      int(mask["stock", k] / 2)
					if (k ~ /^3 /)
						lim += int(lim * tol / 100) + 3
					if (u > lim)
						print "phase " k ": " u " update exits, at most " lim
					if (k ~ /^[13] / && ad["stock", k] > 0 && u == 0)
						print "phase " k ": no update exit, stock wrote " ad["stock", k] " addresses/data"
				}
			}' "$log")
		[ -z "$x" ] || failed "$cfg: $what: $x" ;;
	no-msix-exits)
		x=$(awk -v c="$cfg" '$1 == "MSIX" && $2 == c && $3 == "all" &&
			($5 + $6 + $7 + $8 + $9) { print $4 ": " $5 + $6 + $7 + $8 + $9 }' "$log")
		[ -z "$x" ] || failed "$cfg: MSI-X exits: $x" ;;
	same-as-stock)
		# Exact, but for table accesses while vectors move (phase 3):
		# by timing, Linux sometimes writes a moved message twice, or
		# retries a move at one more interrupt (stock against stock:
		# a few).
		x=$(awk -v c="$cfg" -v tol="$MOVE_TOLERANCE" '
			$1 == "MSIX" && $3 != "all" && ($2 == "stock" || $2 == c) {
				k = $3 " " $4
				for (i = 5; i <= 9; i++)
					v[$2, k, i] = $i
				keys[k] = 1
			}
			END {
				split("reads mask addr/data PBA update", nm, " ")
				for (k in keys)
					for (i = 5; i <= 9; i++) {
						a = v["stock", k, i] + 0; b = v[c, k, i] + 0
						d = a > b ? a - b : b - a
						lim = (k ~ /^3 / && i <= 7) ? \
						      int(a * tol / 100) + 3 : 0
						if (d > lim)
							print "phase " k " " nm[i - 4] " " b " (stock " a ")"
					}
			}' "$log" | sort)
		[ -z "$x" ] || failed "$cfg: exits differ from stock: $x" ;;
	irq-ge-stock)
		# Not exact either: e1000e's watchdog interrupts every 2 s,
		# so a slower run takes more.
		x=$(awk -v c="$cfg" -v tol="$IRQ_TOLERANCE" '
			index($0, "L2|stock| ## irq ") == 1 { s[$5] += $6 }
			index($0, "L2|" c "| ## irq ") == 1 { t[$5] += $6 }
			END { for (d in s) if (t[d] * 100 < s[d] * (100 - tol))
				print d ": " t[d] " (stock " s[d] ")" }' "$log")
		[ -z "$x" ] || failed "$cfg: fewer interrupts than stock - ${IRQ_TOLERANCE}%: $x" ;;
	migrate)
		x=$(grep "^RUN $cfg qemu_exit" "$log" || true)
		case "$x" in *" status=ok "*" migration=completed "*) ;;
		*) failed "$cfg: migration/run: ${x:-no RUN line}" ;; esac
		grep -q "^L2|$cfg| ## result ok" "$log" ||
			failed "$cfg: L2 script did not pass on the destination"
		x=$(grep "^L2|$cfg| ## step FAIL" "$log" || true)
		[ -z "$x" ] || failed "$cfg: L2 steps failed: $(echo "$x" | awk '{ printf " %s", $NF }')"
		for step in mig-go mig-disk-loop mig-disk-last mig-irq-${MIG_DISK:-virtio-blk} \
			    mig-irq-e1000e mig-irq-virtio-net ${MIG_DISK:-virtio-blk}-after-migrate; do
			grep -q "^L2|$cfg| ## step ok 6 $step\$" "$log" ||
				failed "$cfg: no passed step $step"
		done
		x=$(grep -E "^L2\|$cfg(-src)?\| " "$log" | grep -v '^L2|[^|]*| ## interrupts' |
		    grep -iE 'BUG:|WARNING:|Oops|Call Trace|general protection|Kernel panic|timeout|timed out|hung task' || true)
		[ -z "$x" ] || failed "$cfg: L2 console: $(echo "$x" | head -5)"
		grep -q "^L2|$cfg| ## phase 5 shutdown" "$log" ||
			failed "$cfg: L2 did not reach shutdown on the destination"
		# The tables, as QEMU holds them (l1.sh: HMP xp): the source's
		# when it stopped and the destination's as loaded, identical;
		# the disk's (00:05.0, never reprogrammed) the same at "ready"
		# and on the running destination, which has no Pending bit
		# set for an unmasked vector.  Message Control as L2 reads it
		# from config space, the same before and after.
		grep -q "^MIGTABLES $cfg identical " "$log" ||
			failed "$cfg: tables: $(grep "^MIGTABLES $cfg" "$log" | head -20 | tr '\n' ';')"
		x=$(awk -v c="$cfg" '
			function hex(s,  i, n) {
				n = 0; s = tolower(s); sub(/^0x/, "", s)
				for (i = 1; i <= length(s); i++)
					n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
				return n
			}
			$1 == "MIGVEC" && $2 == c {
				e[$3, $4, $5] = $6 " " $7 " " $8 " " $9
				m[$3, $4, $5] = hex($9) % 2
				if ($3 == "running") { dev[$4] = 1; if ($5 + 1 > nv[$4]) nv[$4] = $5 + 1 }
			}
			$1 == "MIGPBA" && $2 == c { pb[$3, $4, $5 * 2] = hex($6); pb[$3, $4, $5 * 2 + 1] = hex($7) }
			index($0, "L2|" c "-src| ## mig ctl before ") == 1 { ctl["before", $6] = $7 }
			index($0, "L2|" c "| ## mig ctl after ") == 1 { ctl["after", $6] = $7 }
			END {
				n = 0
				for (d in dev) {
					n++
					for (v = 0; v < nv[d]; v++) {
						if (d == "0000:00:05.0" && e["ready", d, v] != e["running", d, v])
							print d " vector " v ": " e["ready", d, v] " -> " e["running", d, v]
						w = pb["running", d, int(v / 32)]
						if (int(w / 2 ^ (v % 32)) % 2 && !m["running", d, v])
							print d " vector " v " unmasked and pending on the destination"
					}
				}
				if (!n)
					print "no table read on the running destination"
				for (k in ctl) {
					split(k, kk, SUBSEP)
					if (ctl["before", kk[2]] != ctl["after", kk[2]])
						print kk[2] " Message Control " ctl["before", kk[2]] " -> " ctl["after", kk[2]]
				}
			}' "$log" | sort -u)
		[ -z "$x" ] || failed "$cfg: tables: $x" ;;
	*) failed "$cfg: unknown check $what" ;;
	esac
}

if [ ! -e "$log" ] || ! grep -q '^# L1:' "$log"; then
	cat "$out/run-vm.out"
	failed "L1 did not start the runs"
fi
[ $rc -eq 0 ] || failed "run-vm.sh exit $rc (L1 splat, L1 QEMU failure or timeout: $out/run-vm.out)"
for cfg in $CONFIGS; do
	case $cfg in
	migrate*)
		echo
		grep -E "^RUN $cfg |^# $cfg" "$log" | grep -v ' qemu: ' | sed 's/^RUN /# /'
		grep -E "^L2\|$cfg\| ## (mig|step)" "$log" | grep -v ' ## mig \(tbl\|pba\|ctl\) ' || true
		grep -E "^MIG(VEC|PBA|TABLES) $cfg " "$log" || true ;;
	*) table "$cfg" ;;
	esac
done
# Whole runs side by side.
echo
awk -v cfgs="$CONFIGS" '
	$1 == "MSIX" && $3 == "all" {
		x[$2, $4] = $5 + $6 + $7 + $8 + $9; u[$2, $4] = $9
		if (!($4 in seen)) { seen[$4] = 1; dev[++nd] = $4 }
	}
	/^L2\|/ && $2 == "##" && $3 == "irq" {
		c = $1; sub(/^L2\|/, "", c); sub(/\|$/, "", c)
		q[c, $5] += $6
	}
	END {
		n = split(cfgs, cf, " ")
		printf "%-34s", "whole run"
		for (j = 1; j <= n; j++) printf " %9s", cf[j]
		print ""
		for (i = 1; i <= nd; i++) {
			printf "%-34s", dev[i] " MSI-X exits (updates)"
			for (j = 1; j <= n; j++)
				printf " %9s", x[cf[j], dev[i]] + 0 "(" u[cf[j], dev[i]] + 0 ")"
			print ""
		}
		for (i = 1; i <= nd; i++) {
			printf "%-34s", dev[i] " interrupts"
			for (j = 1; j <= n; j++) printf " %9d", q[cf[j], dev[i]]
			print ""
		}
	}' "$log"

echo
for cfg in $CONFIGS; do
	base=${cfg%%.*}
	def=${CHECKS[$base]:-common}
	# A repeated stock run (stock.2) checks that the counts are reproducible.
	[ "$base" = stock ] && [ "$cfg" != stock ] && def="common same-as-stock"
	var=CHECKS_${cfg//./_}
	checks=${!var:-$def}
	for c in $checks; do
		check "$cfg" "$c"
	done
	echo "# $cfg: checked $checks"
done
if [ $fail -ne 0 ]; then
	echo "check-qemu: FAILED (log: $log)"
	exit 1
fi
echo "check-qemu: passed ($CONFIGS)"
