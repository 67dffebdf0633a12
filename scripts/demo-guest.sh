#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo's stress run, inside the QEMU guest (busybox sh, run as /test.sh
# from /mod by the initramfs of scripts/qemu.sh). scripts/demo.sh builds the
# initramfs with this script, the modules, rundown_demo_client and a
# demo.conf that sets the knobs below, and reads the EXR-* lines this prints:
#
#   EXR-CHECK ok|FAIL NAME   a check made here (bad input, each unload...)
#   EXR-CONFIG, EXR-BASE     the run's settings, the counters before the stress
#   EXR-CYCLES, EXR-SWAPLOOP, EXR-CLIENT, EXR-DD
#                            what the load/unload loop, the swap loop and
#                            the user-space readers did, by their own count
#   EXR-REG                  the manager's record of each registration
#   EXR-FILTER               the filter's own count for each load (its exit)
#   EXR-FINAL                the manager's counters once everything stopped
#
# Exits non-zero if a check made here failed; the accounting is judged on
# the host.

# shellcheck source=/dev/null # written by scripts/demo.sh
. /mod/demo.conf

: "${PROTECT:=1}" "${SECS:=20}" "${MAX_CYCLES:=0}" "${THREADS:=2}"
: "${INTERVAL_US:=0}" "${IOCTL_CLIENTS:=2}" "${READ_CLIENTS:=1}"
: "${DD_READERS:=1}" "${DELAY_US:=200}" "${SPIN_US:=20}" "${HOLD_US:=20000}"
: "${SWAP_US:=5000}" "${BADINPUT:=1}"

D=/sys/kernel/debug/rundown_demo
P=/sys/module/rundown_demo/parameters
STOP=/tmp/stop
fails=0

# check NAME STATUS [DETAIL]: report one check; STATUS 0 means it passed.
check() {
	if [ "$2" = 0 ]; then
		echo "EXR-CHECK ok $1"
	else
		echo "EXR-CHECK FAIL $1: ${3:-}"
		fails=$((fails + 1))
	fi
}

# expect_refused NAME MESSAGE CMD...: CMD must fail and the kernel must log
# MESSAGE once more than before (it explains the refusal).
expect_refused() {
	name=$1 msg=$2
	shift 2
	n0=$(dmesg | grep -c -F -- "$msg")
	if "$@" 2>/dev/null; then
		check "$name" 1 "'$*' was accepted"
		return
	fi
	n1=$(dmesg | grep -c -F -- "$msg")
	if [ "$n1" -gt "$n0" ]; then
		check "$name" 0
	else
		check "$name" 1 "no '$msg' in the kernel log"
	fi
}

stat_of() { sed -n "s/^$1 //p" "$D/stats"; }

now_ms() {
	read -r up _ </proc/uptime
	c=${up#*.}
	echo $((${up%.*} * 1000 + ${c#0} * 10))
}

fatal() {
	echo "EXR-CHECK FAIL $1"
	dmesg | tail -n 30
	exit 1
}

# Console: warnings and worse only, so that splats show but the per-cycle
# chatter stays in the kernel log (read below). A stuck run-down is reported
# by ex_rundown after 5 s and by the hung-task detector after 10 s.
echo 5 >/proc/sys/kernel/printk
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo 10 >/proc/sys/kernel/hung_task_timeout_secs

echo "EXR-CONFIG protect=$PROTECT secs=$SECS max_cycles=$MAX_CYCLES threads=$THREADS interval_us=$INTERVAL_US ioctl_clients=$IOCTL_CLIENTS read_clients=$READ_CLIENTS dd_readers=$DD_READERS delay_us=$DELAY_US spin_us=$SPIN_US hold_us=$HOLD_US swap_us=$SWAP_US cpus=$(nproc)"

insmod ex_rundown.ko hung_timeout_secs=5 || fatal "load ex_rundown.ko"

if [ "$BADINPUT" = 1 ]; then
	expect_refused param-threads-out-of-range "threads: '17' is not" \
		insmod rundown_demo.ko threads=17
	expect_refused param-protect-not-boolean "protect: 'maybe' is not a boolean" \
		insmod rundown_demo.ko protect=maybe
	expect_refused param-interval-not-a-number "interval_us: 'fast' is not" \
		insmod rundown_demo.ko interval_us=fast
fi

insmod rundown_demo.ko threads="$THREADS" protect="$PROTECT" \
	interval_us="$INTERVAL_US" || fatal "load rundown_demo.ko"
{ [ -c /dev/rundown_demo ] && [ -f "$D/stats" ]; } || fatal "no /dev/rundown_demo or $D"

if [ "$BADINPUT" = 1 ]; then
	expect_refused filter-param-delay-out-of-range "delay_us: '100001' is not" \
		insmod rundown_demo_filter.ko delay_us=100001
	expect_refused filter-param-spin-negative "spin_us: '-1' is not" \
		insmod rundown_demo_filter.ko spin_us=-1
	r=$(stat_of registrations)
	check filter-refused-load-registers-nothing "$([ "$r" = 0 ]; echo $?)" \
		"registrations=$r"

	expect_refused attr-interval-out-of-range "interval_us: '1000001' is not" \
		sh -c "echo 1000001 >$P/interval_us"
	v=$(cat "$P/interval_us")
	check attr-interval-unchanged "$([ "$v" = "$INTERVAL_US" ]; echo $?)" \
		"interval_us=$v, want $INTERVAL_US"
	expect_refused attr-swap-bad-value "swap: write 1" sh -c "echo 2 >$D/swap"
	expect_refused attr-swap-not-a-number "swap: write 1" sh -c "echo x >$D/swap"
	v=$(stat_of swap_requests)
	check attr-swap-refused-changes-nothing "$([ "$v" = 0 ]; echo $?)" \
		"swap_requests=$v"
	# The same attribute, used right, does what it says.
	echo 1 >"$D/swap"
	v=$(stat_of swaps_unfiltered)
	check attr-swap-good-value "$([ "$v" = 1 ]; echo $?)" "swaps_unfiltered=$v"

	./rundown_demo_client badinput "$D/stats"
	check device-bad-input $? "rundown_demo_client badinput failed"
fi

echo "EXR-BASE registrations=$(stat_of registrations) swap_requests=$(stat_of swap_requests) requests_read=$(stat_of requests_read) requests_ioctl=$(stat_of requests_ioctl)"

# The stress: readers, the manager's threads (running since its load), a
# swap loop and the load/unload loop, all at once.
rm -f "$STOP" /tmp/client.* /tmp/dd.*
i=0
while [ $i -lt "$IOCTL_CLIENTS" ]; do
	./rundown_demo_client ioctl "$STOP" >/tmp/client.ioctl.$i 2>&1 &
	i=$((i + 1))
done
i=0
while [ $i -lt "$READ_CLIENTS" ]; do
	./rundown_demo_client read "$STOP" >/tmp/client.read.$i 2>&1 &
	i=$((i + 1))
done
# Plain dd readers: the device works with any tool that reads.
i=0
while [ $i -lt "$DD_READERS" ]; do
	(
		reads=0 errors=0
		while [ ! -e "$STOP" ]; do
			if dd if=/dev/rundown_demo of=/dev/null bs=128 count=20 2>/tmp/dd.err.$i; then
				# "FULL+PARTIAL records in": a read of a line is partial.
				r=$(sed -n 's/^\([0-9]*\)+\([0-9]*\) records in$/\1+\2/p' /tmp/dd.err.$i)
				reads=$((reads + ${r:-0}))
			else
				errors=$((errors + 1))
			fi
		done
		echo "EXR-DD reads=$reads errors=$errors" >/tmp/dd.$i
	) &
	i=$((i + 1))
done
(
	writes=0 errors=0
	while [ ! -e "$STOP" ]; do
		writes=$((writes + 1))
		echo 1 >"$D/swap" 2>/dev/null || errors=$((errors + 1))
		usleep "$SWAP_US"
	done
	echo "EXR-SWAPLOOP writes=$writes errors=$errors" >/tmp/swaploop
) &
swapper=$!

# Readers and threads keep both CPUs busy; the loop that loads and unloads
# the filter (and the swaps) would get a small share and do few cycles.
renice -n -10 -p $$ $swapper >/dev/null

t0=$(now_ms)
cycles=0 insmod_failed=0 rmmod_failed=0 left_loaded=0
while :; do
	el=$(($(now_ms) - t0))
	[ "$el" -ge $((SECS * 1000)) ] && break
	[ "$MAX_CYCLES" -gt 0 ] && [ "$cycles" -ge "$MAX_CYCLES" ] && break
	if ! insmod rundown_demo_filter.ko delay_us="$DELAY_US" spin_us="$SPIN_US"; then
		insmod_failed=$((insmod_failed + 1))
		break
	fi
	[ "$HOLD_US" -gt 0 ] && usleep "$HOLD_US"
	if ! rmmod rundown_demo_filter; then
		rmmod_failed=$((rmmod_failed + 1))
		break
	fi
	grep -q '^rundown_demo_filter ' /proc/modules && left_loaded=$((left_loaded + 1))
	cycles=$((cycles + 1))
	# Without protection every unload may be the last: say which one it was.
	if [ "$PROTECT" = 0 ]; then
		echo "EXR-UNLOADED cycle=$cycles"
	elif [ $((cycles % 50)) = 0 ]; then
		echo "EXR-PROGRESS cycles=$cycles elapsed_ms=$el"
	fi
done
el=$(($(now_ms) - t0))
touch "$STOP"
wait
echo "EXR-CYCLES cycles=$cycles insmod_failed=$insmod_failed rmmod_failed=$rmmod_failed left_loaded=$left_loaded elapsed_ms=$el"
check every-unload-finished \
	"$([ $((insmod_failed + rmmod_failed + left_loaded)) = 0 ]; echo $?)" \
	"insmod failed $insmod_failed, rmmod failed $rmmod_failed, still loaded after rmmod $left_loaded"

cat /tmp/client.* /tmp/dd.[0-9]* /tmp/swaploop
sed -n 's/^#/EXR-REGHDR /p; s/^\([0-9]\)/EXR-REG \1/p' "$D/registrations"
dmesg | sed -n 's/.*rundown_demo_filter: exit: /EXR-FILTER /p'

rmmod rundown_demo || fatal "unload rundown_demo.ko"
dmesg | sed -n 's/.*rundown_demo: final: /EXR-FINAL /p'
rmmod ex_rundown || fatal "unload ex_rundown.ko"
echo "EXR-UAF-MARKERS $(dmesg | grep -c RUNDOWN-DEMO-UAF)"

[ "$fails" = 0 ]
