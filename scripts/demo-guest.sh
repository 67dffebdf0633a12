#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo's stress run in the QEMU guest (busybox sh; /test.sh of the
# initramfs of scripts/qemu.sh, with the modules, rundown_demo_client and
# demo.conf in /mod). It prints for scripts/demo.sh, one fact a line:
#   EXR-CHECK ok|FAIL NAME[: WHY]  a check made here (bad input, the unloads)
#   EXR-COUNT KEY N                what user space did by its own count, under
#                                  the manager's name for it (lines add up)
#   EXR-UNLOADED N                 protect=0: N unloads have completed
#   rundown_demo[_filter]: ...     the modules' own account of the run, from
#                                  the kernel log (see rundown_demo.c)
# It exits non-zero only if it cannot go on.

# shellcheck source=/dev/null # written by scripts/demo.sh
. /mod/demo.conf
D=/sys/kernel/debug/rundown_demo
STOP=/tmp/stop
spawned=0

# check NAME STATUS [WHY]: one check; STATUS 0 means it passed.
check() {
	if [ "$2" = 0 ]; then echo "EXR-CHECK ok $1"; else echo "EXR-CHECK FAIL $1: ${3:-}"; fi
}
is() { check "$1" "$([ "$2" = "$3" ]; echo $?)" "got '$2', want '$3'"; }
fatal() { echo "EXR-CHECK FAIL $1"; dmesg | tail -n 30; exit 1; }

# expect_refused NAME MESSAGE CMD...: CMD must fail with EINVAL, and the
# kernel log say why: MESSAGE once more than before.
expect_refused() {
	name=$1 msg=$2
	shift 2
	n0=$(dmesg | grep -c -F -- "$msg")
	if err=$("$@" 2>&1); then
		check "$name" 1 "'$*' was accepted"
	elif [ "${err#*Invalid argument}" = "$err" ]; then
		check "$name" 1 "'$*' did not fail with EINVAL: $err"
	else
		[ "$(dmesg | grep -c -F -- "$msg")" -gt "$n0" ]
		check "$name" $? "no '$msg' in the kernel log"
	fi
}

stat_of() { sed -n "s/^$1 //p" "$D/stats"; }

# Bad input of every kind, on a load of the manager of its own, so that the
# stress starts from counters at zero.
bad_input() {
	expect_refused param-threads-out-of-range "threads: '17' is not" \
		insmod rundown_demo.ko threads=17
	expect_refused param-protect-not-boolean "protect: 'maybe' is not a boolean" \
		insmod rundown_demo.ko protect=maybe
	expect_refused param-interval-not-a-number "interval_us: 'fast' is not" \
		insmod rundown_demo.ko interval_us=fast
	insmod rundown_demo.ko interval_us=7 || fatal "load rundown_demo.ko"

	expect_refused filter-param-delay-out-of-range "delay_us: '100001' is not" \
		insmod rundown_demo_filter.ko delay_us=100001
	expect_refused filter-param-spin-negative "spin_us: '-1' is not" \
		insmod rundown_demo_filter.ko spin_us=-1
	is filter-refused-load-registers-nothing "$(stat_of registrations)" 0

	expect_refused attr-interval-out-of-range "interval_us: '1000001' is not" \
		sh -c "echo 1000001 >/sys/module/rundown_demo/parameters/interval_us"
	is attr-interval-unchanged "$(cat /sys/module/rundown_demo/parameters/interval_us)" 7
	expect_refused attr-swap-bad-value "swap: write 1" sh -c "echo 2 >$D/swap"
	expect_refused attr-swap-not-a-number "swap: write 1" sh -c "echo x >$D/swap"
	is attr-swap-refused-changes-nothing "$(stat_of swap_requests)" 0
	# The same attribute, used right, does what it says.
	echo 1 >"$D/swap"
	is attr-swap-good-value "$(stat_of swaps_unfiltered)" 1

	./rundown_demo_client badinput "$D/stats"
	check device-bad-input $? "rundown_demo_client badinput failed"
	rmmod rundown_demo || fatal "unload rundown_demo.ko"
}

# The readers and the swap loop of the stress: each prints its own counts
# when STOP appears. dd shows that the device works with any tool that reads.
dd_reader() {
	reads=0 errors=0
	while [ ! -e "$STOP" ]; do
		if out=$(dd if=/dev/rundown_demo of=/dev/null bs=128 count=20 2>&1); then
			# "FULL+PARTIAL records in": a read of a line is partial.
			r=$(echo "$out" | sed -n 's/^\([0-9]*\)+\([0-9]*\) records in$/\1+\2/p')
			reads=$((reads + ${r:-0}))
		else
			errors=$((errors + 1))
		fi
	done
	printf 'EXR-COUNT requests_read %s\nEXR-COUNT errors %s\n' $reads $errors
}
swap_loop() {
	writes=0 errors=0
	while [ ! -e "$STOP" ]; do
		writes=$((writes + 1))
		echo 1 >"$D/swap" 2>/dev/null || errors=$((errors + 1))
		usleep "$SWAP_US"
	done
	printf 'EXR-COUNT swap_requests %s\nEXR-COUNT errors %s\n' $writes $errors
}
# spawn N CMD...: N copies of CMD in the background, output to /tmp/count.*.
spawn() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		spawned=$((spawned + 1))
		"$@" >/tmp/count.$spawned 2>&1 &
		n=$((n - 1))
	done
}

# Console: warnings and worse only, so that splats show but the per-cycle
# lines stay in the kernel log (copied out at the end). A stuck run-down is
# reported by ex_rundown after 5 s and by the hung-task detector after 10 s.
echo 5 >/proc/sys/kernel/printk
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo 10 >/proc/sys/kernel/hung_task_timeout_secs
echo "EXR-COUNT cpus $(nproc)"

insmod ex_rundown.ko hung_timeout_secs=5 || fatal "load ex_rundown.ko"
[ "$BADINPUT" = 1 ] && bad_input
dmesg -c >/dev/null # from here on the kernel log is the stress run's alone
insmod rundown_demo.ko threads="$THREADS" protect="$PROTECT" \
	interval_us="$INTERVAL_US" || fatal "load rundown_demo.ko"
{ [ -c /dev/rundown_demo ] && [ -f "$D/stats" ]; } || fatal "no /dev/rundown_demo or $D"

# The stress: readers, the manager's threads (running since its load), a
# swap loop and the load/unload loop, all at once. Readers and threads keep
# both CPUs busy: the two loops get a higher priority, or they would do few
# cycles.
rm -f "$STOP" /tmp/count.*
spawn "$IOCTL_CLIENTS" ./rundown_demo_client ioctl "$STOP"
spawn "$READ_CLIENTS" ./rundown_demo_client read "$STOP"
spawn "$DD_READERS" dd_reader
spawn 1 swap_loop
renice -n -10 -p $$ $! >/dev/null

t0=$(date +%s)
cycles=0 failed=''
while [ $(($(date +%s) - t0)) -lt "$SECS" ] && [ "$cycles" -lt "$MAX_CYCLES" ]; do
	insmod rundown_demo_filter.ko delay_us="$DELAY_US" spin_us="$SPIN_US" ||
		{ failed=insmod; break; }
	usleep "$HOLD_US"
	rmmod rundown_demo_filter || { failed=rmmod; break; }
	grep -q '^rundown_demo_filter ' /proc/modules && { failed='unload (still loaded)'; break; }
	cycles=$((cycles + 1))
	# Without protection every unload may be the last: say which one it was.
	[ "$PROTECT" = 0 ] && echo "EXR-UNLOADED $cycles"
done
echo "EXR-COUNT elapsed_s $(($(date +%s) - t0))"
echo "EXR-COUNT cycles $cycles"
check every-unload-finished "$([ -z "$failed" ]; echo $?)" "$failed failed after $cycles cycles"
touch "$STOP"
wait
cat /tmp/count.*

rmmod rundown_demo || fatal "unload rundown_demo.ko"
rmmod ex_rundown || fatal "unload ex_rundown.ko"
dmesg | sed -nE 's/^\[[^]]*\] (rundown_demo(_filter)?: (load|unload|total) )/\1/p'
