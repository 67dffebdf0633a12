#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo's run, /test.sh of the QEMU guest (busybox sh; its files in
# /mod; demo.conf, written by scripts/demo.sh, says how hard to push). It
# prints for scripts/demo.sh, one fact a line:
#   EXR-CHECK ok|FAIL NAME[: WHY]  a check made here (bad input, the unloads)
#   EXR-PRICE P N NS THREADS       a timed run (PRICE_ROUNDS): with protect=P,
#                                  THREADS threads sent N requests through the
#                                  filter in NS ns of their time, added up
#   EXR-COUNT KEY N                what user space did by its own count, under
#                                  the manager's name for it (lines add up)
#   EXR-UNLOADED N                 protect=0: N unloads have completed
#   EXR-TL ..., EXR-WIN ...        the manager's timeline and run-down windows
#   rundown_demo[_filter]: ...     the modules' own account of the run, from
#                                  the kernel log (see rundown_demo.c)
# It exits non-zero only if it cannot go on.

# shellcheck source=/dev/null # written by scripts/demo.sh
. /mod/demo.conf
D=/sys/kernel/debug/rundown_demo
STOP=/tmp/stop

# is NAME GOT WANT: one check.
is() {
	if [ "$2" = "$3" ]; then echo "EXR-CHECK ok $1"
	else echo "EXR-CHECK FAIL $1: got '$2', want '$3'"; fi
}
fatal() { echo "EXR-CHECK FAIL $1"; dmesg | tail -n 30; exit 1; }

# refused NAME MESSAGE CMD...: CMD fails with EINVAL, and the log says MESSAGE.
refused() {
	name=$1 msg=$2
	shift 2
	dmesg -c >/dev/null
	if err=$("$@" 2>&1); then got=accepted
	elif [ "${err#*Invalid argument}" = "$err" ]; then got="failed: $err"
	elif ! dmesg | grep -q -F -- "$msg"; then got="refused without '$msg' in the kernel log"
	else got=refused
	fi
	is "$name" "$got" refused
}
stat_of() { sed -n "s/^$1 //p" "$D/stats"; }

# Bad input of every kind, on a load of the manager of its own, so that the
# stress starts from counters at zero.
bad_input() {
	refused param-threads-out-of-range "threads: '17' is not" insmod rundown_demo.ko threads=17
	refused param-protect-not-boolean "protect: 'maybe' is not a boolean" \
		insmod rundown_demo.ko protect=maybe
	refused param-interval-not-a-number "interval_us: 'fast' is not" \
		insmod rundown_demo.ko interval_us=fast
	refused param-run-ms-out-of-range "run_ms: '600001' is not" \
		insmod rundown_demo.ko run_ms=600001
	insmod rundown_demo.ko interval_us=7 || fatal "load rundown_demo.ko"

	refused filter-param-delay-out-of-range "delay_us: '100001' is not" \
		insmod rundown_demo_filter.ko delay_us=100001
	refused filter-param-spin-negative "spin_us: '-1' is not" insmod rundown_demo_filter.ko spin_us=-1
	is filter-refused-load-registers-nothing "$(stat_of registrations)" 0

	refused attr-interval-out-of-range "interval_us: '1000001' is not" \
		sh -c "echo 1000001 >/sys/module/rundown_demo/parameters/interval_us"
	is attr-interval-unchanged "$(cat /sys/module/rundown_demo/parameters/interval_us)" 7
	refused attr-swap-bad-value "swap: write 1" sh -c "echo 2 >$D/swap"
	refused attr-swap-not-a-number "swap: write 1" sh -c "echo x >$D/swap"
	is attr-swap-refused-changes-nothing "$(stat_of swap_requests)" 0
	# The same attribute, used right, does what it says.
	echo 1 >"$D/swap"
	is attr-swap-good-value "$(stat_of swaps_unfiltered)" 1

	./rundown_demo_client badinput "$D/stats"
	is device-bad-input "exit $?" "exit 0"
	rmmod rundown_demo || fatal "unload rundown_demo.ko"
}

# repeat KEY N CMD...: CMD until STOP appears, then its count (N requests a
# run) under the manager's name KEY, and how many runs failed.
repeat() {
	key=$1 n=$2 runs=0 errors=0
	shift 2
	while [ ! -e "$STOP" ]; do
		"$@" || errors=$((errors + 1))
		runs=$((runs + 1))
	done
	printf 'EXR-COUNT %s %s\nEXR-COUNT errors %s\n' "$key" $((runs * n)) $errors
}
# dd: any tool that reads works with the device, each read one request.
dd_read() {
	dd if=/dev/rundown_demo of=/dev/null bs=128 count="$DD_COUNT" 2>/dev/null
	[ "$PAUSE_US" = 0 ] || usleep "$PAUSE_US"
}
swap() { usleep "$SWAP_US"; echo 1 2>/dev/null >"$D/swap"; }

# The price of protection: the manager's threads (one per CPU) time the path
# through the filter for PRICE_MS, in batches alternately with protection
# and without (see run_ms in rundown_demo.c), PRICE_ROUNDS times.
price() {
	n=$(nproc)
	for _ in $(seq "$PRICE_ROUNDS"); do
		insmod rundown_demo.ko threads="$n" run_ms="$PRICE_MS" ||
			fatal "load rundown_demo.ko for a timed run"
		insmod rundown_demo_filter.ko || fatal "load the filter for a timed run"
		# Its other half runs without protection: no swap meanwhile.
		if err=$(sh -c "echo 1 >$D/swap" 2>&1); then got=accepted
		elif [ "${err#*busy}" = "$err" ]; then got="failed: $err"
		else got=refused; fi
		is swap-refused-during-timed-run "$got" refused
		waited=0
		while [ "$(stat_of timed_running)" != 0 ] && [ $waited -lt 600 ]; do
			usleep 100000
			waited=$((waited + 1))
		done
		[ "$(stat_of timed_running)" = 0 ] || fatal "price-threads-finished: $(stat_of timed_running) still running"
		echo "EXR-PRICE 1 $(stat_of timed_requests_on) $(stat_of timed_ns_on) $n"
		echo "EXR-PRICE 0 $(stat_of timed_requests_off) $(stat_of timed_ns_off) $n"
		{ rmmod rundown_demo_filter && rmmod rundown_demo; } || fatal "unload after a timed run"
	done
}

# Console: warnings and worse, the per-cycle lines kept to the kernel log. A
# stuck run-down is reported after 5 s, by the hung-task detector after 10 s.
echo 5 >/proc/sys/kernel/printk
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo 10 >/proc/sys/kernel/hung_task_timeout_secs
echo "EXR-COUNT cpus $(nproc)"

insmod ex_rundown.ko hung_timeout_secs=5 || fatal "load ex_rundown.ko"
[ "$BADINPUT" = 1 ] && bad_input
[ "$PRICE_ROUNDS" -gt 0 ] && price
dmesg -c >/dev/null # from here on the kernel log is the run's alone
insmod rundown_demo.ko threads="$THREADS" protect="$PROTECT" \
	interval_us="$INTERVAL_US" || fatal "load rundown_demo.ko"
{ [ -c /dev/rundown_demo ] && [ -f "$D/stats" ]; } || fatal "no /dev/rundown_demo or $D"

# The stress: readers (each counting into a file of its own), the
# manager's threads, a swap loop and the load/unload loop, all at once. The
# loops get a higher priority, or the busy CPUs would run few cycles.
for i in $(seq "$IOCTL_CLIENTS"); do ./rundown_demo_client ioctl "$STOP" "$PAUSE_US" >"/tmp/count.i$i" 2>&1 & done
for i in $(seq "$READ_CLIENTS"); do ./rundown_demo_client read "$STOP" "$PAUSE_US" >"/tmp/count.r$i" 2>&1 & done
for i in $(seq "$DD_READERS"); do repeat requests_read "$DD_COUNT" dd_read >"/tmp/count.d$i" 2>&1 & done
repeat swap_requests 1 swap >/tmp/count.s 2>&1 &
renice -n -10 -p $$ $! >/dev/null

t0=$(date +%s)
cycles=0 failed=''
while [ $(($(date +%s) - t0)) -lt "$SECS" ] && [ "$cycles" -lt "$MAX_CYCLES" ]; do
	insmod rundown_demo_filter.ko delay_us="$DELAY_US" spin_us="$SPIN_US" || { failed=insmod; break; }
	usleep "$HOLD_US"
	rmmod rundown_demo_filter || { failed=rmmod; break; }
	grep -q '^rundown_demo_filter ' /proc/modules && { failed='unload (still loaded)'; break; }
	cycles=$((cycles + 1))
	# Without protection every unload may be the last: say which one it was.
	[ "$PROTECT" = 0 ] && echo "EXR-UNLOADED $cycles"
done
printf 'EXR-COUNT elapsed_s %s\nEXR-COUNT cycles %s\n' $(($(date +%s) - t0)) $cycles
is every-unload-finished "${failed:-none} failed" "none failed"
touch "$STOP"
wait
cat /tmp/count.*
sed 's/^/EXR-TL /' "$D/timeline"
sed 's/^/EXR-WIN /' "$D/windows"

rmmod rundown_demo || fatal "unload rundown_demo.ko"
rmmod ex_rundown || fatal "unload ex_rundown.ko"
dmesg | sed -nE 's/^\[[^]]*\] (rundown_demo(_filter)?: (load|unload|total) )/\1/p'
