#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The torture test (torture/ex_rundown_torture.c) in QEMU with 4 vCPUs:
#  - as a module on Debian's kernels, while scripts/torture-guest.sh takes
#    CPUs offline and back through sysfs, as an administrator would;
#  - built into the KUnit-built kernels x86_64-rt (PREEMPT_RT, KASAN,
#    lockdep) and x86_64-kcsan (KCSAN), booted without user space, where it
#    runs on the kernel's torture framework and its torture_onoff takes CPUs
#    offline and back. The kunit layer builds them (kunit/smp.config builds
#    the test in); one older than the sources is rebuilt by scripts/kunit.sh;
#  - then its negative control, which must fail.
#
#   scripts/torture.sh          the `make check` layer: SECS (default 60) on
#                               each kernel, and a NEG_SECS (default 20)
#                               run with broken=early_release on the first
#   scripts/torture.sh --soak   `make soak`: SECS (default 1800) on KERNEL
#                               (default: the first Debian kernel; or
#                               x86_64-rt or x86_64-kcsan), no negative control
#
# Ends with `RESULT torture: N passed, N failed`. EXR_VERBOSE=1 streams the
# console; the logs stay in $EXR_CACHE/torture-logs.
set -euo pipefail
# shellcheck source=scripts/qemu.sh
. "$(dirname "$0")/qemu.sh"

case ${1:-} in
'') mode=check SECS=${SECS:-60} ;;
--soak) mode=soak SECS=${SECS:-${DURATION:-1800}} ;;
*) sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 2 ;;
esac
[[ $SECS =~ ^[1-9][0-9]{0,5}$ ]] || die "SECS wants a number of seconds, not '$SECS'"
[[ ${NEG_SECS:=20} =~ ^[1-9][0-9]{0,3}$ ]] || die "NEG_SECS wants a number of seconds, not '$NEG_SECS'"

# Every fault source but the module's own hotplug thread: the guest does
# that through sysfs, as an administrator would, every ONOFF_MS.
FAULTS=preempt,migrate,softirq,hardirq,timeout,signal,free,misuse
ONOFF_MS=300
# The taint a WARNING leaves (W, 512): expected from the misuse the module
# commits on purpose, each reported once per call site.
TAINT_WARN=512

mkdir -p "$EXR_CACHE/tmp" "$EXR_CACHE/torture-logs"
work=$(mktemp -d "$EXR_CACHE/tmp/torture.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Bad parameters, one of each kind: the guest tries each before the run.
REFUSE=(duration=0 holders=65 waiters=17 family=both faults=bogus onoff_interval=0
	stat_interval=x bound=0 misuse_interval=0 broken=maybe run=2 shutdown=maybe)

# run REL SECS LOG PARAMS...: one torture run on REL.
run() {
	local rel=$1 secs=$2 logf=$3
	shift 3
	printf 'DURATION=%s\nONOFF_MS=%s\nPARAMS="duration=%s %s"\nREFUSE="%s"\n' \
		"$secs" "$ONOFF_MS" "$secs" "$*" "${REFUSE[*]}" >"$work/torture.conf"
	make_initramfs "$work/initramfs.cpio.gz" "$EXR_ROOT/scripts/torture-guest.sh" \
		"$work/$rel"/*.ko "$work/torture.conf" || return 1
	EXR_QEMU_SMP=4 qemu_boot "$rel" "$work/initramfs.cpio.gz" "$logf" $((secs + 240)) \
		"log_buf_len=4M" || true
}

# unexpected LOG: the complaints of a run but the WARNINGs of the misuse
# the module commits on purpose (a WARNING whose trace, up to its end
# marker, passes through exr_tt_misuse).
unexpected() {
	awk -v re="$EXR_SPLAT_RE" '
	function flush() { if (blk !~ /exr_tt_misuse/) print blk; inblk = 0 }
	/WARNING:/ { if (inblk) flush(); inblk = 1; blk = $0; next }
	inblk { blk = blk "\n" $0; if (/---\[ end trace/) flush(); next }
	$0 ~ re { print }
	END { if (inblk) flush() }' "$1"
}

taint_of() { sed -n 's/^EXR-TAINT \([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1; }

# clean LOG: no complaint but the expected ones, a taint of at most O, E
# and (for those) W, and the guest ran to its end.
clean() {
	local bad taint
	bad=$(unexpected "$1")
	taint=$(taint_of "$1")
	[ -z "$bad" ] || { echo "unexpected complaints:"; head -n 40 <<<"$bad" | sed 's/^/    /'; return 1; }
	[ -n "$taint" ] && ! (( taint & ~(EXR_TAINT_OK | TAINT_WARN) )) ||
		{ echo "taint ${taint:-unknown}"; return 1; }
	grep -q '^EXR-DONE rc=0$' "$1" || { grep -E '^EXR-(TIMEOUT|DONE|TORTURE)' "$1" | sed 's/^/    /'; return 1; }
}

# stat LOG FAMILY FIELD: a number from the module's last statistics line.
stat() {
	sed -nE "s/.*ex_rundown_torture: end: $2: (.*)/\1/p" "$1" | tail -n 1 |
		grep -oE "[0-9]+ $3" | grep -oE '^[0-9]+' || echo 0
}

# families WHAT LOG: each family did work of every kind.
families() {
	local f
	for f in ref pcpu; do
		expect "$1: $f: protections taken and run-downs completed" \
			test "$(stat "$2" $f acquires)" -gt 0 -a "$(stat "$2" $f run-downs)" -gt 0
		expect "$1: $f: killable waiters signalled, objects replaced" \
			test "$(stat "$2" $f signalled)" -gt 0 -a "$(stat "$2" $f 'objects replaced')" -gt 0
	done
}

# refused LOG NAME=VALUE: the load failed with -EINVAL, and the module
# said why ("NAME: 'VALUE' is not ...").
refused() {
	grep -q "^EXR-REFUSED $2: .*Invalid argument" "$1" &&
		grep -qF "ex_rundown_torture: ${2%%=*}: '${2#*=}' is not" "$1"
}

# judge REL LOG: a run meant to pass.
judge() {
	local rel=$1 logf=$2 hp off p
	echo " statistics at the end (${SECS} s, 4 vCPUs):"
	grep -E 'ex_rundown_torture: (end|verdict)|^EXR-HOTPLUG' "$logf" | sed 's/^\[[ 0-9.]*\] //; s/^/   /'
	expect "$rel: verdict PASS" grep -q 'ex_rundown_torture: verdict: PASS' "$logf"
	expect "$rel: no kernel complaint but the misuse committed on purpose; guest ran to the end" clean "$logf"
	families "$rel" "$logf"
	for p in "${REFUSE[@]}"; do
		expect "$rel: bad parameter $p refused: -EINVAL, and the kernel log says why" refused "$logf" "$p"
	done
	hp=$(sed -nE 's/.*ex_rundown_torture: end: cpu hotplug: ([0-9]+) offline.*/\1/p' "$logf" | tail -n 1)
	off=$(sed -nE 's/^EXR-HOTPLUG offline ([0-9]+) .*/\1/p' "$logf" | tail -n 1)
	# The guest goes on until it has read the verdict: the module sees at most as many.
	expect "$rel: CPUs went offline under it (sysfs: ${off:-?}, seen by the module: ${hp:-?})" \
		test "${hp:-0}" -gt 0 -a "${hp:-0}" -le "${off:-0}"
}

# negative REL: broken=early_release must fail, by the module's own checks.
negative() {
	local rel=$1 logf=$EXR_CACHE/torture-logs/$mode-$1-broken.log
	phase "negative control on $rel: broken=early_release, $NEG_SECS s (must fail)" \
		run "$rel" "$NEG_SECS" "$logf" "faults=$FAULTS" broken=early_release
	grep -E 'ex_rundown_torture: (ERROR|verdict)' "$logf" | head -n 4 | sed 's/^\[[ 0-9.]*\] //; s/^/   /'
	grep -q 'ex_rundown_torture: verdict: FAIL:.*waits returned with holders inside' "$logf"
}

# The KUnit-built kernels with the test built in.
BUILTIN=(x86_64-rt x86_64-kcsan)

# builtin_image CONFIG: the path of CONFIG's bzImage, built (or rebuilt,
# when older than the sources) by scripts/kunit.sh, which runs the suite too.
builtin_image() {
	local c=$1 dir=$EXR_CACHE/kunit/$1 img=$EXR_CACHE/kunit/$1/arch/x86/boot/bzImage newer
	if [ -f "$img" ] && grep -q '^CONFIG_EX_RUNDOWN_TORTURE=y' "$dir/.config" &&
		[ "$(cat "$dir/.exr-root" 2>/dev/null)" = "$EXR_ROOT" ]; then
		newer=$(find "$EXR_ROOT"/{src,include,torture,kunit} "$EXR_ROOT"/Kbuild \
			"$EXR_ROOT"/Kconfig -newer "$img" -print -quit)
		[ -n "$newer" ] || { echo "$img"; return 0; }
	fi
	log "$c: no bzImage as new as the sources: scripts/kunit.sh $c builds it (and runs the suite)" >&2
	"$EXR_ROOT/scripts/kunit.sh" "$c" >"$EXR_CACHE/torture-logs/kunit-$c.log" 2>&1 ||
		log "$c: scripts/kunit.sh failed (its log: $EXR_CACHE/torture-logs/kunit-$c.log)" >&2
	[ -f "$img" ] && grep -q '^CONFIG_EX_RUNDOWN_TORTURE=y' "$dir/.config" &&
		echo "$img"
}

# run_builtin IMAGE SECS LOG: the built-in test, then power off.
# kunit.enable=0: the suite has had its run. rcu_normal: grace periods
# are expedited until the boot is over, which this run holds up.
# loglevel=7: the statistics are pr_info(), and there is no dmesg to read.
# qboot, as kunit.py boots them: these kernels have no ACPI (kunit/smp.config),
# and only qboot's MP table shows them more than one CPU; SeaBIOS's does not.
run_builtin() {
	EXR_QEMU_STARTED="ex_rundown_torture: start:" EXR_QEMU_SMP=4 EXR_QEMU_MEM=1024 EXR_QEMU_BIOS=qboot.rom \
		qemu_boot "$1" '' "$3" $(($2 + 300)) \
		"loglevel=7 log_buf_len=4M kunit.enable=0 rcupdate.rcu_normal=1 ex_rundown_torture.run=1 ex_rundown_torture.duration=$2 ex_rundown_torture.onoff_interval=$ONOFF_MS ex_rundown_torture.shutdown=1" || true
}

# judge_builtin CONFIG LOG: as judge, for a built-in run: no taint to
# read, but the kernel must have shut down after the verdict.
judge_builtin() {
	local c=$1 logf=$2 hp
	echo " statistics at the end (${SECS} s, 4 vCPUs):"
	grep -E 'ex_rundown_torture: (end|verdict)' "$logf" | sed 's/^\[[ 0-9.]*\] //; s/^/   /'
	expect "$c: verdict PASS" grep -q 'ex_rundown_torture: verdict: PASS' "$logf"
	expect "$c: no kernel complaint but the misuse committed on purpose; shut down after the verdict" \
		builtin_clean "$logf"
	families "$c" "$logf"
	hp=$(sed -nE 's/.*ex_rundown_torture: end: cpu hotplug: ([0-9]+) offline.*/\1/p' "$logf" | tail -n 1)
	expect "$c: CPUs went offline under it (torture_onoff: ${hp:-?})" test "${hp:-0}" -gt 0
	expect "$c: on the kernel's torture framework (CONFIG_TORTURE_TEST)" \
		grep -q 'ex_rundown_torture: end: cpu hotplug: .*(by torture_onoff)' "$logf"
}

builtin_clean() {
	local bad
	bad=$(unexpected "$1")
	[ -z "$bad" ] || { echo "unexpected complaints:"; head -n 40 <<<"$bad" | sed 's/^/    /'; return 1; }
	# A kernel that cannot power off is restarted instead: QEMU ends (-no-reboot).
	grep -Eq 'reboot: (Power down|Restarting system)' "$1" ||
		{ echo "neither power-off nor restart"; grep '^EXR-TIMEOUT' "$1"; return 1; }
}

mapfile -t rels < <(kernel_releases)
builtins=("${BUILTIN[@]}")
if [ "$mode" = soak ]; then
	case ${KERNEL:=${rels[0]:?no kernel release}} in
	x86_64-*) [[ " ${BUILTIN[*]} " == *" $KERNEL "* ]] || die "KERNEL: no built-in configuration $KERNEL (${BUILTIN[*]})"
		rels=() builtins=("$KERNEL") ;;
	*) rels=("$KERNEL") builtins=() ;;
	esac
fi
phase "installing what the torture test needs" "$EXR_ROOT/scripts/deps.sh" torture
for r in "${rels[@]}"; do
	dir=$(modules_for "$r")
	mkdir -p "$work/$r"
	for m in ex_rundown ex_rundown_torture; do
		strip --strip-debug -o "$work/$r/$m.ko" "$dir/$m.ko"
	done
	fetch_kernel "$r" >/dev/null
	logf=$EXR_CACHE/torture-logs/$mode-$r.log
	phase "torture on $r: $SECS s, faults=$FAULTS, sysfs hotplug every $ONOFF_MS ms" \
		run "$r" "$SECS" "$logf" "faults=$FAULTS"
	judge "$r" "$logf"
done
for c in "${builtins[@]}"; do
	img=$(builtin_image "$c") || { not_ok "$c: a bzImage with the test built in"; continue; }
	logf=$EXR_CACHE/torture-logs/$mode-$c.log
	phase "torture built into $c: $SECS s, every fault, torture_onoff every $ONOFF_MS ms" \
		run_builtin "$img" "$SECS" "$logf"
	judge_builtin "$c" "$logf"
done
[ "$mode" = soak ] || expect "${rels[0]}: the negative control (early_release) fails: waits returned with holders inside" \
	negative "${rels[0]}"
results torture
