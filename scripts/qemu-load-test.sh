#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The load test, on each Debian kernel in QEMU: insmod ex_rundown.ko and
# examples/consumer (built from the header and Module.symvers alone, as a
# user's module is), whose API checks count here, rmmod both, and a clean
# boot. Then what a person debugging sees: /sys/kernel/debug/ex_rundown
# and the trace events, read while scripts/observe/exr_observe.ko holds a
# run-down. Then the ABI guard: the consumer built against headers of another
# EX_RUNDOWN_ABI (the build warns) must be refused by insmod, naming the
# symbol that says to rebuild it. scripts/qemu-selftest.sh first proves
# that verdict can fail.
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
# abi_other.ko is there only when this script built it (not for dkms-test.sh).
printf '%s\n' 'set -ex' 'insmod ex_rundown.ko' 'grep -qw __ex_rundown_acquire_slow /proc/kallsyms' \
	'insmod exr_consumer.ko' 'rmmod exr_consumer' \
	'if [ -f abi_other.ko ]; then ! insmod abi_other.ko && echo "EXR-ABI refused"; fi' \
	'rmmod ex_rundown' '! grep -q "^ex_rundown " /proc/modules' >"$work/guest.sh"
# The watch: debugfs and trace events while exr_observe runs a reference
# down that it holds for 3 s, with a hung report after 1 s.
cat >"$work/observe.sh" <<'EOF'
set -ex
grep -q " /sys/kernel/debug debugfs" /proc/mounts || mount -t debugfs none /sys/kernel/debug
t=/sys/kernel/tracing
[ -d $t/events ] || mount -t tracefs none $t
insmod ex_rundown.ko hung_timeout_secs=1
echo 1 >$t/events/ex_rundown/enable
insmod exr_observe.ko hold_ms=3000 &
sleep 2
echo EXR-WAITS-BEGIN; cat /sys/kernel/debug/ex_rundown/waits; echo EXR-WAITS-END
echo EXR-HOLDERS-BEGIN; cat /sys/kernel/debug/ex_rundown/holders; echo EXR-HOLDERS-END
wait $!
echo EXR-AFTER-BEGIN; cat /sys/kernel/debug/ex_rundown/waits; echo EXR-AFTER-END
echo EXR-MISUSE-BEGIN; cat /sys/kernel/debug/ex_rundown/misuse; echo EXR-MISUSE-END
echo 0 >$t/events/ex_rundown/enable
echo EXR-TRACE-BEGIN; grep -v '^#' $t/trace; echo EXR-TRACE-END
rmmod exr_observe
rmmod ex_rundown
! [ -d /sys/kernel/debug/ex_rundown ]
EOF
abi=$(sed -n 's/^#define EX_RUNDOWN_ABI\t*\([0-9]*\)$/\1/p' "$EXR_ROOT/include/ex_rundown_module.h")
[ -n "$abi" ] || die "no EX_RUNDOWN_ABI in include/ex_rundown_module.h"
other=$((abi + 1))

# load REL KO CONSUMER_KO [ABI_OTHER_KO]: boot REL with the modules and judge it.
load() {
	local logf=$work/$1.log verdict what
	make_initramfs "$work/$1.cpio.gz" "$work/guest.sh" "$2" "$3" ${4:+"$4"} &&
		phase "boot $1" qemu_boot "$1" "$work/$1.cpio.gz" "$logf" 180 || true
	while read -r verdict what; do
		if [ "$verdict" = PASS ]; then ok "$1: consumer $what"; else not_ok "$1: consumer $what"; fi
	done < <(sed -n 's/.*exr_consumer: \(PASS\|FAIL\) \(.*\)$/\1 \2/p' "$logf")
	grep -q 'exr_consumer: PASS' "$logf" || not_ok "$1: the consumer reported nothing"
	expect "$1: guard classes used exactly where the kernel has scoped_cond_guard()" \
		guards_ok "$1" "$logf"
	expect "$1: both modules load and unload, cleanly (log: $logf)" log_clean "$logf"
	[ -z "${4:-}" ] ||
		expect "$1: a consumer of ABI $other is refused beside ex_rundown.ko of ABI $abi, and told why" \
			abi_refused "$logf"
}
abi_refused() {
	grep -q '^EXR-ABI refused' "$1" &&
		grep -q "exr_consumer: Unknown symbol ex_rundown_abi_${other}_rebuild_this_module" "$1"
}

# between LOG NAME: the lines of LOG between EXR-NAME-BEGIN and EXR-NAME-END.
# (less the shell's trace of its commands, and kernel log lines).
between() { sed -n "/^EXR-$2-BEGIN\$/,/^EXR-$2-END\$/{/^EXR-$2-/d;/^+ /d;/^\[[ 0-9.]*\] /d;p}" "$1"; }

# holders_ok TEXT: debugfs's holders file while exr_observe waits: one
# holder, and a stack that names where it acquired.
holders_ok() {
	grep -Eq '^ref [0-9a-f]+: 1 holder\(s\), newest first$' <<<"$1" &&
		grep -Eq '^ holder 1: insmod\[[0-9]+\] took 1 protection\(s\) [0-9]+ ms ago at:$' <<<"$1" &&
		grep -Eq '^  exr_observe_rundown\+0x' <<<"$1"
}

# observe REL MODS: boot REL with exr_observe and judge what debugfs and
# the trace showed. The library is built again, from the same sources as
# MODS, with holder tracking, for debugfs's holders file.
observe() {
	local dir=$work/observe-$1 logf=$work/$1-observe.log taint trace
	rm -rf "$dir" && mkdir -p "$dir" && cp -r "$EXR_ROOT/scripts/observe" "$dir/observe" &&
		copy_tree "$dir" &&
		make -C "$(kdir_for "$1")" M="$dir" W=1 CONFIG_EX_RUNDOWN_DEBUG_HOLDERS=y CONFIG_EX_RUNDOWN_DEMO= \
			CONFIG_EX_RUNDOWN_BENCH= CONFIG_EX_RUNDOWN_TORTURE= modules >"$dir/build.log" 2>&1 &&
		make -C "$(kdir_for "$1")" M="$dir/observe" EX_RUNDOWN="$dir" W=1 modules >>"$dir/build.log" 2>&1 &&
		! grep -qE 'warning:|WARNING:' "$dir/build.log" ||
		{ tail -n 20 "$dir/build.log"; not_ok "$1: ex_rundown.ko with holder tracking, and exr_observe, build"; return; }
	make_initramfs "$work/$1-observe.cpio.gz" "$work/observe.sh" "$dir/ex_rundown.ko" "$dir/observe/exr_observe.ko" &&
		phase "boot $1 (debugfs and trace events)" qemu_boot "$1" "$work/$1-observe.cpio.gz" "$logf" 180 || true
	expect "$1: debugfs waits shows the wait in progress: task, family, init site, 1 held, >= 1 s, caller" \
		grep -Eq '^[0-9]+ insmod ref [0-9a-f]+ exr_observe_rundown\+0x[0-9a-f]+/0x[0-9a-f]+ \[exr_observe\] 1 [1-9][0-9]{3,} exr_observe_rundown\+' \
		<(between "$logf" WAITS)
	expect "$1: debugfs holders: the holder of the reference waited for, and its stack" \
		holders_ok "$(between "$logf" HOLDERS)"
	expect "$1: debugfs waits is empty once the wait returned" \
		test "$(between "$logf" AFTER | grep -vc '^#')" = 0
	expect "$1: debugfs misuse: the count and the last report" \
		grep -Ezq '^count: 1
last: insmod\[[0-9]+\] in [^:]+: release of 1 protection\(s\) with 0 held
$' <(between "$logf" MISUSE)
	trace=$(between "$logf" TRACE)
	expect "$1: trace: a misuse" grep -q 'ex_rundown_misuse: caller=.* msg="release of 1 protection(s) with 0 held"' <<<"$trace"
	expect "$1: trace: the wait's start and its end after >= 3 s" bash -c \
		'grep -Eq "ex_rundown_wait_start: ref=[0-9a-f]+ family=ref timeout=-1 caller=exr_observe_rundown" <<<"$1" &&
		 grep -Eq "ex_rundown_wait_end: ref=[0-9a-f]+ family=ref ret=0 waited_us=[3-9][0-9]{6} caller=exr_observe_rundown" <<<"$1"' _ "$trace"
	expect "$1: trace: the hung report, 1 held after 1 s" \
		grep -Eq 'ex_rundown_hung: ref=[0-9a-f]+ family=ref held=1 secs=1 caller=exr_observe_rundown' <<<"$trace"
	expect "$1: trace: the per-CPU wait, and its switch to one count with 1 held" bash -c \
		'grep -Eq "ex_rundown_pcpu_atomic: ref=[0-9a-f]+ held=1" <<<"$1" &&
		 grep -Eq "ex_rundown_wait_end: ref=[0-9a-f]+ family=pcpu ret=0 " <<<"$1"' _ "$trace"
	# The misuse warns and the hung report dumps a stack, as they must;
	# nothing else may complain, and the taint is W (512) at most.
	taint=$(sed -n 's/^EXR-TAINT \([0-9][0-9]*\)$/\1/p' "$logf" | tail -n 1)
	expect "$1: one WARNING, one hung report, nothing else; unloaded clean (log: $logf)" \
		test "$(grep -c 'WARNING:' "$logf"):$(grep -c 'has waited 1 s for the run-down' "$logf"):$(grep -Ec 'BUG:|Oops|KASAN|Kernel panic|circular' "$logf"):$(grep -c '^EXR-DONE rc=0$' "$logf"):$(( ${taint:-1} & ~(EXR_TAINT_OK | 512) ))" = 1:1:0:1:0
}

# abi_other DIR REL MODS: examples/consumer built in DIR as abi_other.ko
# against a copy of the headers of ABI $other and MODS's Module.symvers.
# modpost must say that the ABI symbol is missing (a warning, not the
# error it is by default, so that the module is built for insmod to refuse).
abi_other() {
	mkdir -p "$1/include" && cp "$EXR_ROOT"/include/*.h "$1/include/" &&
		sed -i "s/^#define EX_RUNDOWN_ABI\t*$abi\$/#define EX_RUNDOWN_ABI\t\t$other/" "$1/include/ex_rundown_module.h" &&
		cp -r "$EXR_ROOT/examples/consumer" "$1/c" &&
		make -C "$(kdir_for "$2")" M="$1/c" EX_RUNDOWN="$1" EX_RUNDOWN_SYMVERS="$3/Module.symvers" \
			KBUILD_MODPOST_WARN=1 modules >"$1/build.log" 2>&1 &&
		grep -q "\"ex_rundown_abi_${other}_rebuild_this_module\" \[.*exr_consumer.ko\] undefined" "$1/build.log" &&
		cp "$1/c/exr_consumer.ko" "$1/abi_other.ko" || { tail -n 20 "$1/build.log"; return 1; }
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
	odir=$work/abi-$rel
	rm -rf "$odir"
	expect "$rel: built against headers of ABI $other, the consumer is told at build time" \
		abi_other "$odir" "$rel" "$mods"
	[ ! -f "$dir/exr_consumer.ko" ] ||
		load "$rel" "$mods/ex_rundown.ko" "$dir/exr_consumer.ko" "$(ls "$odir/abi_other.ko" 2>/dev/null)"
	observe "$rel" "$mods"
done
results qemu
