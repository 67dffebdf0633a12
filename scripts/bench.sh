#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: run ex_rundown_bench.ko two ways and print what it measured.
#
#   scripts/bench.sh [--kernel REL] [--iterations N] [--repetitions N]
#                    [--tests LIST] [--no-qemu] [--no-uml]
#
#   --kernel REL      Debian kernel for the QEMU run (default: the newest of
#                     `kernel_releases`)
#   --iterations N    pairs per thread and measurement (module default 1000000)
#   --repetitions N   repetitions, the median is reported (module default 7)
#   --tests LIST      the module's tests= parameter (default: all)
#   --no-qemu, --no-uml   skip one of the two runs
#
# Neither run gives hardware numbers, and the tables say so:
#  - QEMU here is TCG (no KVM), with 2 vCPUs: it runs the real Debian kernel
#    with real SMP, so the scaling columns mean something, but every
#    instruction is translated and the timings are distorted (an atomic on a
#    contended line costs about what an uncontended one does);
#  - UML (User-Mode Linux, through scripts/kunit.sh) runs kernel code natively
#    but on one CPU, where the kernel drops the lock prefix of atomics: it
#    shows the instruction cost of a pair, not the cost of a shared line.
# What no timing noise can blur comes first: the locked read-modify-write
# instructions and calls on each fast path, from scripts/fastpath.sh.
#
# Each module run prints its table between BEGIN and END lines in the kernel
# log; this script copies them, labelled, into one report:
#   $EXR_CACHE/bench/report.txt   (the tables, as printed at the end)
#   $EXR_CACHE/bench/results.txt  (the DATA and TARGET lines, prefixed by run)
# Targets missed under emulation are reported, not failed: the exit status
# says whether both runs completed (END status=0), not how fast they were.
# The last line, "RESULT bench: N passed, N failed", counts the three steps
# (fast-path counts, QEMU run, UML run) that way: `make check` runs this as
# its bench layer.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rel=
iterations=
repetitions=
tests=
do_qemu=true
do_uml=true
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) rel=${2:?}; shift 2 ;;
	--iterations) iterations=${2:?}; shift 2 ;;
	--repetitions) repetitions=${2:?}; shift 2 ;;
	--tests) tests=${2:?}; shift 2 ;;
	--no-qemu) do_qemu=false; shift ;;
	--no-uml) do_uml=false; shift ;;
	-h|--help) sed -n '4,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
[ -z "$iterations" ] || [[ $iterations =~ ^[1-9][0-9]*$ ]] || die "--iterations '$iterations' is not a number"
[ -z "$repetitions" ] || [[ $repetitions =~ ^[1-9][0-9]*$ ]] || die "--repetitions '$repetitions' is not a number"
[ -z "$tests" ] || [[ $tests =~ ^[a-z_,]+$ ]] || die "--tests '$tests': names separated by commas"

"$EXR_ROOT/scripts/deps.sh" qemu
$do_uml && "$EXR_ROOT/scripts/deps.sh" kunit
[ -n "$rel" ] || rel=$(kernel_releases | tail -n 1)

out=$EXR_CACHE/bench
mkdir -p "$out"
report=$out/report.txt
results=$out/results.txt
: >"$report"
: >"$results"
status=0
passed=0
failed=0
# step NAME CMD...: run CMD as a phase and count it.
step() {
	if phase "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		status=1
	fi
}

params=()
[ -z "$iterations" ] || params+=("iterations=$iterations")
[ -z "$repetitions" ] || params+=("repetitions=$repetitions")
[ -z "$tests" ] || params+=("tests=$tests")

# extract LOG LABEL [NOTE]: copy the bench's lines of LOG (one module run,
# BEGIN to END) into the report and the results, without timestamps and
# prefix, NOTE under the label.
extract() {
	local logf=$1 label=$2 note=${3:-} lines
	lines=$(sed -n 's/^\(\[ *[0-9.]*\] \)\{0,1\}ex_rundown_bench: //p' "$logf" |
		sed -n '/^BEGIN /,/^END /p')
	if ! grep -q '^END status=0 ' <<<"$lines"; then
		echo "$label: the benchmark did not finish (no 'END status=0' in $logf)" >&2
		sed -n 's/^\(\[ *[0-9.]*\] \)\{0,1\}\(ex_rundown_bench: .*\)$/\2/p' "$logf" | tail -n 20 >&2
		return 1
	fi
	{
		echo
		echo "==== $label ===="
		[ -z "$note" ] || echo "$note"
		grep -vE '^(BEGIN|END|DATA|TARGET) ' <<<"$lines"
	} >>"$report"
	grep -E '^(BEGIN|END|DATA|TARGET) ' <<<"$lines" |
		awk -v l="$label" '{ print "[" l "] " $0 }' >>"$results"
}

# --- the module, and what its fast paths are made of ---

# build_into REL FILE: build for REL, the build dir into FILE.
build_into() { "$EXR_ROOT/scripts/build.sh" "$1" | tail -n 1 >"$2"; }
phase "build against $rel" build_into "$rel" "$out/builddir" || die "build against $rel failed"
bdir=$(cat "$out/builddir")
{
	echo "==== fast paths of ex_rundown.h, inlined into ex_rundown_bench.ko ($rel), from its disassembly ===="
	echo "(locked RMW and calls on each function's common path: see scripts/fastpath.sh)"
} >>"$report"
fastpath() { "$EXR_ROOT/scripts/fastpath.sh" --ko "$bdir/ex_rundown_bench.ko" >"$out/fastpath.txt" 2>&1; }
step "fast-path instruction counts" fastpath
cat "$out/fastpath.txt" >>"$report"

# --- QEMU: the Debian kernel, TCG, 2 vCPUs ---

run_qemu() {
	local guest=$out/qemu-guest.sh logf=$out/qemu-$rel.log
	local label="QEMU/TCG, 2 vCPUs, Debian $rel (emulated: timings distorted, NOT hardware)"
	local where="QEMU TCG 2 vCPUs (emulated)"

	# The bad-parameter loads come first: they must fail with EINVAL and
	# leave the module unloaded for the real run.
	cat >"$guest" <<-EOF
	#!/bin/sh
	insmod ex_rundown.ko || exit 1
	for bad in iterations=5 repetitions=0 tests=bogus 'where="a\\"b"'; do
		if insmod ex_rundown_bench.ko "\$bad" 2>/dev/null; then
			echo "EXR-BENCH-PARAM \$bad accepted"; exit 1
		fi
	done
	echo "EXR-BENCH-PARAMS rejected"
	insmod ex_rundown_bench.ko ${params[*]} 'where="$where"' || exit 1
	rmmod ex_rundown_bench || exit 1
	exit 0
	EOF
	# Generous: about 1.5 ms per 100k pairs per measurement under TCG here,
	# 14 measurements and 4 run-downs per repetition, plus the boot.
	local it=${iterations:-1000000} rep=${repetitions:-7} tmo
	tmo=$(( 120 + it / 100000 * rep * 14 * 2 / 10 + rep * 4 ))
	local load0 load1
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	"$EXR_ROOT/scripts/qemu.sh" run --kernel "$rel" --script "$guest" --timeout "$tmo" \
		--log "$logf" "$bdir/ex_rundown.ko" "$bdir/ex_rundown_bench.ko" || return 1
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	grep -q '^EXR-BENCH-PARAMS rejected' "$logf" || { echo "bad parameters were not all rejected" >&2; return 1; }
	# The vCPUs are host threads: on a busy host they do not run in
	# parallel, and the all-CPU columns measure the host, not the code.
	local note
	note="host: $(nproc) CPUs, load average $load0 before the run, $load1 after (the 2 vCPUs only scale if 2 host CPUs are free)"
	# Load beyond what leaves two host CPUs free: the vCPUs take turns.
	if awk -v l="${load0%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n - 2 + 0.5) }'; then
		note="$note
WARNING: the host was busy (its load average left less than two CPUs free): the two vCPUs may have run in turn, and then the all-CPU columns understate contention"
	fi
	extract "$logf" "$label" "$note"
}

if $do_qemu; then
	step "benchmark in QEMU ($rel, TCG, 2 vCPUs)" run_qemu
fi

# --- UML: native instructions, one CPU ---

run_uml() {
	local logf=$EXR_CACHE/kunit/bench/test.log
	local label="UML, 1 CPU, linux-source-6.12 (native code, but atomics without lock prefix: NOT hardware)"

	# The module runs at boot, built in, before the KUnit suite; kunit.sh's
	# own verdict is about that suite, so it is logged but not ours to judge.
	rm -f "$logf"
	if ! "$EXR_ROOT/scripts/kunit.sh" --name bench --kconfig_add CONFIG_EX_RUNDOWN_BENCH=y \
		>"$out/uml-kunit.txt" 2>&1; then
		log "scripts/kunit.sh --name bench did not pass ($(tail -n 1 "$out/uml-kunit.txt")); reading the benchmark from its log anyway"
	fi
	[ -s "$logf" ] || { echo "no UML kernel log at $logf (see $out/uml-kunit.txt)" >&2; return 1; }
	cp "$logf" "$out/uml.log"
	extract "$out/uml.log" "$label"
}

if $do_uml; then
	[ ${#params[@]} -eq 0 ] || log "note: the UML run is built in and uses the module's default parameters"
	step "benchmark in UML (1 CPU)" run_uml
fi

echo
cat "$report"
echo
log "report: $report; machine-readable: $results"
echo "RESULT bench: $passed passed, $failed failed"
exit "$status"
