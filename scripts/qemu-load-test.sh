#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The load test, on each Debian kernel in QEMU: insmod ex_rundown.ko and
# examples/consumer (built from the header and Module.symvers alone, as a
# user's module is), whose API checks count here, rmmod both, and a clean
# boot. scripts/qemu-selftest.sh first proves that verdict can fail.
#
#   scripts/qemu-load-test.sh          ends "RESULT qemu: N passed, N failed"
#   scripts/qemu-load-test.sh REL KO CONSUMER_KO    that boot only, of these
#                                      modules (scripts/dkms-test.sh)
set -euo pipefail
. "$(dirname "$0")/qemu.sh"

"$EXR_ROOT/scripts/deps.sh" qemu
# The boot of given modules happens beside them: runs do not collide.
work=$EXR_CACHE/load
[ $# -eq 0 ] || work=$(dirname "$2")
mkdir -p "$work"
# set -x: the console shows each step, the failed one last.
printf '%s\n' 'set -ex' 'insmod ex_rundown.ko' 'grep -qw __ex_rundown_acquire_slow /proc/kallsyms' \
	'insmod exr_consumer.ko' 'rmmod exr_consumer' 'rmmod ex_rundown' \
	'! grep -q "^ex_rundown " /proc/modules' >"$work/guest.sh"

# load REL KO CONSUMER_KO: boot REL with the modules and judge it.
load() {
	local logf=$work/$1.log verdict what
	make_initramfs "$work/$1.cpio.gz" "$work/guest.sh" "$2" "$3" &&
		phase "boot $1" qemu_boot "$1" "$work/$1.cpio.gz" "$logf" 180 || true
	while read -r verdict what; do
		if [ "$verdict" = PASS ]; then ok "$1: consumer $what"; else not_ok "$1: consumer $what"; fi
	done < <(sed -n 's/.*exr_consumer: \(PASS\|FAIL\) \(.*\)$/\1 \2/p' "$logf")
	grep -q 'exr_consumer: PASS' "$logf" || not_ok "$1: the consumer reported nothing"
	expect "$1: guard classes used exactly where the kernel has scoped_cond_guard()" \
		guards_ok "$1" "$logf"
	expect "$1: both modules load and unload, cleanly (log: $logf)" log_clean "$logf"
}
log_clean() { qemu_check_log "$1" || { tail -n 30 "$1"; return 1; }; }
# The consumer ran its guard check iff REL's headers have scoped_cond_guard()
# (from 6.12, and not in Debian's 6.1 backport). Debian splits them in two:
# REL's Makefile includes that of the -common part.
guards_ok() {
	local want=0 root kdir
	root=$(kernel_root "$1") kdir=$(kdir_for "$1")
	! grep -qs 'define scoped_cond_guard' "$root$kdir/include/linux/cleanup.h" \
		"$root$(sed -n 's|^include \(/.*\)/Makefile$|\1|p' "$root$kdir/Makefile")/include/linux/cleanup.h" ||
		want=1
	[ "$(grep -c 'exr_consumer: PASS guards' "$2")" = $want ]
}

[ $# -ne 3 ] || { load "$@"; results qemu; exit; }

# The harness's own test, as one check, indented as KTAP indents a subtest.
selftest() { "$EXR_ROOT/scripts/qemu-selftest.sh" 2>&1 | sed 's/^/    /'; }
expect "harness: tells clean, warning, oops, panic and timeout apart" \
	phase "harness self-test" selftest

for rel in $(kernel_releases); do
	mods=$(modules_for "$rel") || { not_ok "$rel: W=1 build"; continue; }
	dir=$work/consumer-$rel
	expect "$rel: consumer builds from the header and Module.symvers alone" \
		build_consumer "$dir" -C "$(kdir_for "$rel")" M="$dir" W=1 EX_RUNDOWN="$mods" modules
	[ ! -f "$dir/exr_consumer.ko" ] || load "$rel" "$mods/ex_rundown.ko" "$dir/exr_consumer.ko"
done
results qemu
