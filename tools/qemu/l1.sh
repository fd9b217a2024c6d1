#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check-qemu, in the test VM (L1), after /init loaded the project's KVM
# modules (and, with --vfio, bound the outer e1000e and nvme to vfio-pci):
# boot one nested Linux guest (L2, /qemu/l2-init) per configuration under
# QEMU on KVM, trace the userspace exits with tracefs and count the MSI-X
# ones per phase and device (/qemu/count.awk).
#
#   l1.sh [smp=N] [dump=DEV] [disk=DEV] CONFIG...
#
# CONFIG: stock | off | exit | defer | none | migrate | migrate_off, with an
# optional suffix (stock.2) to repeat one; smp=N: L2's vCPUs (2); dump=DEV:
# count.awk's dump; disk=DEV: migrate's disk (virtio-blk, or nvme).
#
# stock runs /qemu/stock/qemu-system-x86_64, the others
# /qemu/patched/qemu-system-x86_64 with -accel kvm,msix-table=off, or
# msix-table=on,msix-table-updates=CONFIG.  Output, for the host
# (check-qemu.sh): L2's console as it runs, each line as "L2|CFG| ...",
# then "RUN CFG key=value ..." and count.awk's "MSIX..." lines.

Q=/qemu
T=/sys/kernel/tracing
PORT=0x5ab0
# Fixed addresses, so the guest and the counter agree on which function is
# which.  virtio-net sits behind a PCIe root port (ioh3420: MSI, no MSI-X):
# a modern-only virtio-pci function with FLR; on the root bus it would have
# no reset method.
DEVS="0000:01:00.0=virtio-net,0000:00:04.0=e1000e,0000:00:05.0=nvme,0000:00:06.0=vfio-e1000e"
L2_SMP=${L2_SMP:-2}
# PV spinlocks, IPIs and yield: an L2 vCPU waiting for another that L1 has
# not scheduled (L1 has one CPU) halts or yields instead of spinning.
L2_CPU=${L2_CPU:-qemu64,kvm-pv-unhalt=on,kvm-pv-ipi=on,kvm-pv-sched-yield=on}
L2_TIMEOUT=${L2_TIMEOUT:-300}
BUF_KB=${BUF_KB:-131072}
DUMP=

say() { echo "$@"; }

# Errors and worse from L1's kernel on the console as they happen (RCU
# stalls, hung tasks); /init keeps only emergencies.
dmesg -n 4

# vhost-net needs tun, tap, vhost and vhost_iotlb.
vhost=1
for m in tun tap vhost_iotlb vhost vhost_net; do
	if ! insmod $Q/mods/$m.ko; then
		say "# insmod $m.ko failed: virtio-net falls back to a user netdev"
		vhost=
	fi
done
[ -c /dev/net/tun ] && [ -c /dev/vhost-net ] || vhost=

# The outer e1000e, bound to vfio-pci by /init, is passed to L2.
vfio_bdf=
for d in /sys/bus/pci/drivers/vfio-pci/0000:*; do
	[ -e "$d" ] || continue
	if [ "$(cat $d/class)" = 0x020000 ]; then
		vfio_bdf=${d##*/}
		break
	fi
done

[ -e $T/tracing_on ] || mount -t tracefs tracefs $T || {
	say "# no tracefs"
	exit 1
}
echo 0 > $T/tracing_on
echo nop > $T/current_tracer
echo $BUF_KB > $T/buffer_size_kb || exit 1
say "# L1: $(nproc) CPU, $(awk '/MemTotal/ { print $2 / 1024 " MB" }' /proc/meminfo)," \
    "trace buffer $(cat $T/buffer_size_kb) KB, vhost-net ${vhost:-no}," \
    "assigned ${vfio_bdf:-none}"

trace_start() {
	echo 0 > $T/tracing_on
	echo 0 > $T/events/enable
	echo > $T/trace
	echo "port == $PORT" > $T/events/kvm/kvm_pio/filter
	# The local APIC page is always served in the kernel (in-kernel irqchip).
	echo "gpa < 0xfee00000 || gpa >= 0xfee01000" > $T/events/kvm/kvm_mmio/filter
	echo "errno >= 0 && (reason == 6 || reason == 19800)" \
		> $T/events/kvm/kvm_userspace_exit/filter
	for e in kvm_pio kvm_mmio kvm_userspace_exit; do
		echo 1 > $T/events/kvm/$e/enable
	done
	echo 1 > $T/tracing_on
}

# Stops tracing; fails if the ring buffer lost anything.
trace_stop() {
	local ov dr
	echo 0 > $T/tracing_on
	ov=$(awk '/^overrun:/ { print $2 }' $T/per_cpu/cpu0/stats)
	dr=$(awk '/^dropped events:/ { print $3 }' $T/per_cpu/cpu0/stats)
	say "RUN $1 trace_entries=$(awk '/^entries:/ { print $2 }' $T/per_cpu/cpu0/stats)" \
	    "trace_overrun=$ov trace_dropped=${dr:-0}"
	[ "${ov:-1}" = 0 ] && [ "${dr:-0}" = 0 ]
}

# Evidence that the nested stack froze (a TCG artefact, not a guest or KVM
# failure: every layer stops, for 100-300 s, then goes on as if nothing
# happened): a stall report in L2 or new ones in L1, or an L2 clocksource
# watchdog interval of over 20 s.
stall_evidence() {
	{ awk '/Long readout interval/ {
		for (i = 1; i <= NF; i++)
			if ($i == "cs_nsec:" && $(i + 1) > 20000000000)
				print
	  }' /tmp/l2.log
	  grep -E 'soft lockup|rcu: INFO|self-detected stall|detected stalls' /tmp/l2.log
	  dmesg | grep -E 'soft lockup|rcu: INFO' | tail -n +$(($1 + 1))
	} | head -3 | tr '\n' ' '
}

run_one() {
	local cfg=$1 try=${2:-1} qemu accel net start secs rc s stall l1stalls
	# A suffix (stock.2) repeats a configuration.
	case ${cfg%%.*} in
	stock) qemu=$Q/stock/qemu-system-x86_64; accel=kvm ;;
	off) qemu=$Q/patched/qemu-system-x86_64; accel=kvm,msix-table=off ;;
	exit|defer|none)
		qemu=$Q/patched/qemu-system-x86_64
		accel=kvm,msix-table=on,msix-table-updates=${cfg%%.*} ;;
	*) say "RUN $cfg status=unknown-config"; return 1 ;;
	esac
	if [ ! -x $qemu ]; then
		say "RUN $cfg status=no-binary"
		return 1
	fi

	if [ -n "$vhost" ]; then
		net="-netdev tap,id=vn,ifname=qtap0,script=$Q/ifup,downscript=no,vhost=on"
	else
		net="-netdev user,id=vn,net=10.0.3.0/24,host=10.0.3.1"
	fi
	dd if=/dev/zero of=/tmp/nvme.img bs=1M count=16 2> /dev/null
	# An assigned device: no option ROM (SeaBIOS would run its PXE code).
	set --
	[ -n "$vfio_bdf" ] && set -- -device vfio-pci,host=$vfio_bdf,addr=06.0,rombar=0

	l1stalls=$(dmesg | grep -cE 'soft lockup|rcu: INFO')
	trace_start
	start=$(date +%s)
	# L2's console goes to ours as it runs (a hang shows where it
	# stopped), as "L2|CFG#TRY| " lines, and again as "L2|CFG| " lines
	# once the run is counted.
	{ timeout -s KILL $L2_TIMEOUT $qemu -accel $accel -machine q35 -cpu $L2_CPU \
		-m 512 -smp $L2_SMP -nodefaults -vga none -display none -no-reboot \
		-L $Q/fw -kernel $Q/l2/vmlinuz -initrd $Q/l2/initramfs.gz \
		-append "console=ttyS0 loglevel=5 panic=-1 l2.port=$PORT l2.devs=$DEVS" \
		-serial stdio -monitor none \
		-device ioh3420,id=rp3,bus=pcie.0,addr=03.0,chassis=3,slot=3 \
		$net -device virtio-net-pci,netdev=vn,bus=rp3,addr=00.0,romfile= \
		-netdev user,id=en,net=10.0.4.0/24 \
		-device e1000e,netdev=en,addr=04.0,romfile= \
		-drive file=/tmp/nvme.img,if=none,id=nv,format=raw \
		-device nvme,serial=l2nvme,drive=nv,addr=05.0 \
		"$@" < /dev/null 2> /tmp/qemu.out; echo $? > /tmp/qemu.rc; } | tr -d '\r' | tee /tmp/l2.log |
		sed "s/^/L2|$cfg#$try| /"
	rc=$(cat /tmp/qemu.rc)
	secs=$(($(date +%s) - start))
	stall=$(stall_evidence $l1stalls)
	if [ -n "$stall" ] && [ $try = 1 ]; then
		trace_stop $cfg > /dev/null
		say "RUN $cfg tcg-stall try=$try secs=$secs: $stall; running it again"
		run_one $cfg 2
		return
	fi
	# Nested TCG now and then corrupts L2's state in early boot (a #DB on
	# a CMPXCHG16B in start_kernel, EFLAGS with reserved bits set), stock
	# QEMU too: an L2 that dies before phase 1, i.e. before any driver has
	# touched an MSI-X table, is run once more; the first run stays in the
	# log ("L2|CFG#1| " lines).  Twice is a failure.
	stall=$(grep -m1 -E 'Oops|BUG:|WARNING:|Kernel panic' /tmp/l2.log)
	if [ -n "$stall" ] && [ $try = 1 ] && ! grep -q '^## phase 1' /tmp/l2.log; then
		trace_stop $cfg > /dev/null
		say "RUN $cfg tcg-early-oops try=$try secs=$secs: $stall; running it again"
		run_one $cfg 2
		return
	fi
	s=ok
	trace_stop $cfg || s=trace-lost
	say "RUN $cfg qemu_exit=$rc secs=$secs status=$s accel=$accel smp=$L2_SMP" \
	    "vhost=${vhost:-no} vfio=${vfio_bdf:-none}"
	sed "s/^/RUN $cfg qemu: /" /tmp/qemu.out

	start=$(date +%s)
	cat $T/trace > /tmp/trace.txt
	sed -n 's/^## msix //p' /tmp/l2.log > /tmp/ranges
	awk -v cfg=$cfg -v port=$PORT -v dump="$DUMP" -v ranges=/tmp/ranges \
		-v names="$(echo $DEVS | tr , ' ')" -f $Q/count.awk /tmp/trace.txt
	say "RUN $cfg count_secs=$(($(date +%s) - start)) trace_bytes=$(wc -c < /tmp/trace.txt)"
	rm -f /tmp/trace.txt
	sed "s/^/L2|$cfg| /" /tmp/l2.log
	[ $rc = 0 ] && [ $s = ok ]
}

# migrate | migrate_off: one L2 (l2.mode=migrate) on a source QEMU, moved
# by live migration (tcp on 127.0.0.1) to a destination QEMU with the same
# command line plus -incoming (and -S), while L2 does disk I/O, pings and
# affinity churn.  Patched QEMU, msix-table=on,msix-table-updates=exit (migrate) or
# msix-table=off (migrate_off), on both sides.  No vfio device (it cannot
# migrate); both NICs on user netdevs (one tap cannot serve two QEMUs); both
# QEMUs open the same disk image (file.locking=off).  The disk is a
# virtio-blk-pci (disk=nvme: nvme, which QEMU 10.2 marks unmigratable).
# HMP monitors on pipe chardevs.  The destination's L2 console is "L2|CFG| ", the source's
# "L2|CFG-src| "; then "RUN CFG migration=... total_ms=... downtime_ms=...".
mon() {	# mon src|dst COMMAND: send, wait a bit, print the new output
	local n
	n=$(wc -c < /tmp/$1.mon.log)
	echo "$2" > /tmp/$1.mon.in
	sleep 1
	tail -c +$((n + 1)) /tmp/$1.mon.log | tr -d '\r' | grep -v "$(printf '\033')" |
		sed 's/^(qemu) //' | grep -v '^$'
}
# tables CFG src|dst TAG: every MSI-X table entry and PBA QWORD as the
# QEMU SIDE sees them (HMP xp, which reads the device's own table buffers,
# the ones KVM serves with msix-table=on), at the addresses L2 reported
# ("## msix 1 ..."): "MIGVEC CFG TAG BDF VEC ADDR_LO ADDR_HI DATA CTRL",
# "MIGPBA CFG TAG BDF N LOW HIGH".
tables() {
	local bdf id nvec t te p pe
	sed -n 's/^## msix 1 //p' /tmp/l2-src.log | while read bdf id nvec t te p pe; do
		case $t in 0x*) ;; *) continue ;; esac
		mon $2 "xp /$((nvec * 4))wx $t" | grep -E '^[0-9a-f]+: ' |
			awk -v h="MIGVEC $1 $3 $bdf" '{ for (i = 2; i <= NF; i++) w[n++] = $i }
				END { for (v = 0; v * 4 < n; v++)
					print h, v, w[v * 4], w[v * 4 + 1], w[v * 4 + 2], w[v * 4 + 3] }'
		mon $2 "xp /$(((nvec + 63) / 64 * 2))wx $p" | grep -E '^[0-9a-f]+: ' |
			awk -v h="MIGPBA $1 $3 $bdf" '{ for (i = 2; i <= NF; i++) w[n++] = $i }
				END { for (q = 0; q * 2 < n; q++) print h, q, w[q * 2], w[q * 2 + 1] }'
	done
}

run_migrate() {
	local cfg=$1 qemu=$Q/patched/qemu-system-x86_64 accel start secs i st rc src_rc x cats jobs_
	local disk=${MIG_DISK:-virtio-blk}
	case $cfg in
	migrate) accel=kvm,msix-table=on,msix-table-updates=exit ;;
	migrate_off) accel=kvm,msix-table=off ;;
	esac
	# Migration runs over the loopback interface.
	ip link set lo up
	dd if=/dev/zero of=/tmp/nvme.img bs=1M count=16 2> /dev/null
	rm -f /tmp/src.mon.* /tmp/dst.mon.* /tmp/dst.in /tmp/l2-src.log /tmp/l2.log \
	      /tmp/qemu.rc /tmp/qemu-src.rc /tmp/mig.info /tmp/t.*
	for f in /tmp/src.mon.in /tmp/src.mon.out /tmp/dst.mon.in /tmp/dst.mon.out /tmp/dst.in; do
		mkfifo $f || return 1
	done
	: > /tmp/src.mon.log
	: > /tmp/dst.mon.log
	cat /tmp/src.mon.out >> /tmp/src.mon.log &
	cats=$!
	cat /tmp/dst.mon.out >> /tmp/dst.mon.log &
	cats="$cats $!"
	exec 3<> /tmp/dst.in
	set -- -accel $accel -machine q35 -cpu $L2_CPU \
		-m 512 -smp $L2_SMP -nodefaults -vga none -display none -no-reboot \
		-L $Q/fw -kernel $Q/l2/vmlinuz -initrd $Q/l2/initramfs.gz \
		-append "console=ttyS0 loglevel=5 panic=-1 l2.port=$PORT l2.devs=0000:01:00.0=virtio-net,0000:00:04.0=e1000e,0000:00:05.0=$disk l2.mode=migrate l2.migsecs=${MIG_SECS:-20}" \
		-serial stdio \
		-device ioh3420,id=rp3,bus=pcie.0,addr=03.0,chassis=3,slot=3 \
		-netdev user,id=vn,net=10.0.3.0/24,host=10.0.3.1 \
		-device virtio-net-pci,netdev=vn,bus=rp3,addr=00.0,romfile= \
		-netdev user,id=en,net=10.0.4.0/24 \
		-device e1000e,netdev=en,addr=04.0,romfile= \
		-drive file=/tmp/nvme.img,if=none,id=nv,format=raw,file.locking=off \
		-device $disk$([ $disk = nvme ] && echo ,serial=l2nvme),drive=nv,addr=05.0
	start=$(date +%s)
	{ timeout -s KILL $((L2_TIMEOUT * 2)) $qemu "$@" \
		-chardev pipe,id=mon,path=/tmp/dst.mon -mon chardev=mon,mode=readline \
		-S -incoming tcp:127.0.0.1:4444 < /tmp/dst.in 2> /tmp/qemu.out
	  echo $? > /tmp/qemu.rc; } | tr -d '\r' | tee /tmp/l2.log | sed "s/^/L2|$cfg| /" &
	jobs_=$!
	sleep 2
	{ timeout -s KILL $((L2_TIMEOUT * 2)) $qemu "$@" \
		-chardev pipe,id=mon,path=/tmp/src.mon -mon chardev=mon,mode=readline \
		< /dev/null 2> /tmp/qemu-src.out
	  echo $? > /tmp/qemu-src.rc; } | tr -d '\r' | tee /tmp/l2-src.log | sed "s/^/L2|$cfg-src| /" &
	jobs_="$jobs_ $!"
	i=0
	while ! grep -q '^## migrate ready' /tmp/l2-src.log 2> /dev/null; do
		i=$((i + 1))
		if [ $i -gt $L2_TIMEOUT ] || [ -e /tmp/qemu-src.rc ]; then
			say "RUN $cfg status=no-ready secs=$i"
			break
		fi
		sleep 1
	done
	st=none
	if grep -q '^## migrate ready' /tmp/l2-src.log; then
		say "# $cfg: L2 ready after $(($(date +%s) - start)) s, migrating"
		tables $cfg src ready
		mon src "migrate_set_parameter max-bandwidth 1G" > /dev/null
		mon src "migrate -d tcp:127.0.0.1:4444" | sed "s/^/# $cfg src mon: /"
		i=0
		while [ $i -lt $L2_TIMEOUT ]; do
			x=$(mon src "info migrate")
			st=$(echo "$x" | awk '/^Status:/ { print $2 }')
			case $st in completed|failed|cancelled) break ;; esac
			i=$((i + 1))
		done
		echo "$x" | sed "s/^/# $cfg src info migrate: /"
		echo "$x" > /tmp/mig.info
		if [ "$st" = completed ]; then
			# The destination waits (-S): the tables as the source
			# left them and as the destination loaded them.
			i=0
			until mon dst "info status" | grep -q 'paused\|running'; do
				i=$((i + 1)); [ $i -lt 30 ] || break
			done
			mon dst "info status" | grep -i status | sed "s/^/# $cfg dst: /"
			tables $cfg src stopped > /tmp/t.src
			tables $cfg dst loaded > /tmp/t.dst
			cat /tmp/t.src /tmp/t.dst
			sed 's/ stopped / X /' /tmp/t.src > /tmp/t.a
			sed 's/ loaded / X /' /tmp/t.dst > /tmp/t.b
			if [ -s /tmp/t.a ] && cmp -s /tmp/t.a /tmp/t.b; then
				say "MIGTABLES $cfg identical $(wc -l < /tmp/t.a)"
			else
				say "MIGTABLES $cfg differ"
				diff /tmp/t.a /tmp/t.b | sed "s/^/MIGTABLES $cfg diff: /"
			fi
			mon dst "cont" > /dev/null
			mon dst "info status" | grep -i status | sed "s/^/# $cfg dst: /"
		fi
		mon src "quit" > /dev/null
	fi
	# The destination's L2 carries on once told.
	echo go >&3
	if [ "$st" = completed ]; then
		sleep 3
		tables $cfg dst running
	fi
	i=0
	while [ ! -e /tmp/qemu-src.rc ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
	src_rc=$(cat /tmp/qemu-src.rc 2> /dev/null || echo none)
	[ "$st" = completed ] || { mon dst quit > /dev/null; }
	while [ ! -e /tmp/qemu.rc ]; do sleep 1; done
	wait $jobs_
	kill $cats 2> /dev/null
	exec 3>&-
	rc=$(cat /tmp/qemu.rc)
	secs=$(($(date +%s) - start))
	x=$(cat /tmp/mig.info 2> /dev/null)
	say "RUN $cfg qemu_exit=$rc src_exit=$src_rc secs=$secs status=$([ $rc = 0 ] && [ "$st" = completed ] && echo ok || echo fail)" \
	    "accel=$accel smp=$L2_SMP migration=$st" \
	    "$(echo "$x" | sed -n 's/^Time (ms):[[:space:]]*//p' | tr -d ' ' | tr , ' ' |
	       sed 's/total=/total_ms=/; s/setup=/setup_ms=/; s/exp_down=/exp_down_ms=/; s/down=/downtime_ms=/')"
	sed "s/^/RUN $cfg qemu: /" /tmp/qemu.out
	sed "s/^/RUN $cfg-src qemu: /" /tmp/qemu-src.out
	[ $rc = 0 ] && [ "$st" = completed ]
}

status=0
for cfg in "$@"; do
	case $cfg in
	smp=*) L2_SMP=${cfg#smp=} ;;
	dump=*) DUMP=${cfg#dump=} ;;
	disk=*) MIG_DISK=${cfg#disk=} ;;
	migrate|migrate_off) run_migrate $cfg || status=1 ;;
	*) run_one $cfg || status=1 ;;
	esac
done
exit $status
