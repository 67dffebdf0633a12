#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The torture run, /test.sh of the QEMU guest (busybox sh; its files in
# /mod): load ex_rundown and ex_rundown_torture with the parameters in
# /mod/torture.conf, take CPUs offline and back through sysfs while it runs
# (ONOFF_MS, 0: not), and wait for its verdict. Prints for
# scripts/torture.sh:
#   EXR-REFUSED PARAM: ERROR / EXR-ACCEPTED PARAM   each bad parameter of
#                                               REFUSE, tried first
#   EXR-TORTURE-LOADED / EXR-TORTURE-END rc=N   around the run
#   EXR-HOTPLUG offline N online N failed N     what the sysfs loop did
# The module's own statistics and verdict are in the kernel log.

# shellcheck source=/dev/null # written by scripts/torture.sh
. /mod/torture.conf
STOP=/tmp/stop

insmod /mod/ex_rundown.ko || exit 1
# Each must fail the load, with a line in the kernel log saying why.
for p in ${REFUSE:-}; do
	if err=$(insmod /mod/ex_rundown_torture.ko "$p" 2>&1); then
		echo "EXR-ACCEPTED $p"
		rmmod ex_rundown_torture
	else
		echo "EXR-REFUSED $p: $err"
	fi
done
# shellcheck disable=SC2086 # PARAMS is a list of name=value words
insmod /mod/ex_rundown_torture.ko $PARAMS || { echo "EXR-TORTURE-END rc=1"; exit 1; }
echo "EXR-TORTURE-LOADED"

# The sysfs loop: every ONOFF_MS, a random CPU other than 0 goes offline or
# comes back.
hotplug() {
	off=0 on=0 failed=0
	ncpu=$(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l)
	while [ ! -e $STOP ]; do
		usleep $((ONOFF_MS * 1000))
		[ "$ncpu" -gt 1 ] || continue
		cpu=$(( $(od -An -N2 -tu2 /dev/urandom) % (ncpu - 1) + 1 ))
		f=/sys/devices/system/cpu/cpu$cpu/online
		[ -w "$f" ] || continue
		if [ "$(cat "$f")" = 1 ]; then
			if echo 0 >"$f" 2>/dev/null; then off=$((off + 1)); else failed=$((failed + 1)); fi
		elif echo 1 >"$f" 2>/dev/null; then on=$((on + 1)); else failed=$((failed + 1)); fi
	done
	for f in /sys/devices/system/cpu/cpu[1-9]*/online; do
		[ "$(cat "$f")" = 1 ] || { echo 1 >"$f" && on=$((on + 1)); }
	done
	echo "EXR-HOTPLUG offline $off online $on failed $failed"
}

[ "${ONOFF_MS:-0}" -gt 0 ] && { hotplug & hp=$!; }
# The verdict comes after DURATION seconds; allow for a slow teardown.
i=0
while ! dmesg | grep -q 'ex_rundown_torture: verdict:'; do
	sleep 1
	i=$((i + 1))
	[ $i -le $((DURATION + 120)) ] || break
done
touch $STOP
[ -n "${hp:-}" ] && wait "$hp"
rc=0
dmesg | grep -q 'ex_rundown_torture: verdict: PASS' || rc=1
rmmod ex_rundown_torture || rc=1
rmmod ex_rundown || rc=1
echo "EXR-TORTURE-END rc=$rc"
exit $rc
