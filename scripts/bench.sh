#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: ex_rundown_bench.ko in QEMU and in UML, its tables and targets.
#
#   scripts/bench.sh [--kernel REL] [--no-qemu] [--no-uml] [PARAM=VALUE]...
#   scripts/bench.sh --log FILE...
#
#   --kernel REL   the Debian kernel booted in QEMU (default: the newest)
#   PARAM=VALUE    module parameter for both runs: iterations=N (pairs per
#                  thread and measurement), repetitions=N, tests=LIST
#   --log FILE...  no run: the tables of the benchmark's last run in each
#                  kernel log (dmesg after an insmod on real hardware, say)
#
# Neither run gives hardware numbers, and the tables say so: TCG distorts
# timings, and UML runs on one CPU, where atomics lose their lock prefix.
# So the targets (issue 4) are reported, never failed. The checks: the fast
# paths; each bad parameter refused with the module's reason; in each run
# a clean kernel log and the benchmark ending with status 0, every figure.
set -euo pipefail
# shellcheck source=scripts/qemu.sh
. "$(dirname "$0")/qemu.sh"

rel='' qemu=true uml=true params=() logs=() iterations=1000000 repetitions=7
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) rel=${2:?}; shift ;;
	--no-qemu) qemu=false ;;
	--no-uml) uml=false ;;
	--log) shift; logs=("$@"); break ;;
	*) [[ $1 =~ ^((iterations|repetitions)=[1-9][0-9]*|tests=[a-z_,]*)$ ]] ||
		die "unknown argument '$1' (see the top of $0)"
	   params+=("$1")
	   [[ $1 = tests=* ]] || declare "$1" ;; # iterations, repetitions: for the timeout
	esac
	shift
done
out=$EXR_CACHE/bench
mkdir -p "$out"
: >"$out/report.txt"

# tables LABEL < LINES: the report of the module's last run in LINES (its
# "key value" lines); fails unless it ended with status 0, every figure there.
tables() { awk -v label="$1" -f "$EXR_ROOT/bench/report.awk"; }

# report LOG LABEL: the tables of LOG, also into $out/report.txt.
report() { sed -n 's/^.*ex_rundown_bench: //p' "$1" | tables "$2" | tee -a "$out/report.txt"; }

if [ ${#logs[@]} -gt 0 ]; then
	for f in "${logs[@]}"; do expect "$f: the benchmark finished, with every figure" report "$f" "$f"; done
	results bench
	exit
fi

"$EXR_ROOT/scripts/deps.sh" qemu
$uml && "$EXR_ROOT/scripts/deps.sh" kunit
[ -n "$rel" ] || rel=$(kernel_releases | tail -n 1)
mods=$(modules_for "$rel")
# Its checks indented, as KTAP subtests.
fastpath() { "$EXR_ROOT/scripts/fastpath.sh" "$mods/ex_rundown_bench.ko" | sed 's/^/    /' | tee -a "$out/report.txt"; }
expect "fast paths in ex_rundown_bench.ko ($rel)" fastpath

# Generous: about 1.5 ms per 100k pairs per measurement under TCG here, 14
# measurements and 4 run-downs per repetition, plus the boot.
tmo=$((120 + repetitions * (iterations / 35000 + 4)))

if $qemu; then
	# Refused loads first, each giving its reason in the log.
	bad=(iterations=5 repetitions=0 tests=bogus tests=)
	{
		echo 'insmod ex_rundown.ko || exit 1'
		for b in "${bad[@]}"; do
			echo "insmod ex_rundown_bench.ko $b && echo 'EXR-BENCH accepted $b' && rmmod ex_rundown_bench"
		done
		echo "insmod ex_rundown_bench.ko ${params[*]} && rmmod ex_rundown_bench"
	} >"$out/guest.sh"
	logf=$out/qemu-$rel.log
	load=$(cut -d' ' -f1 /proc/loadavg)
	make_initramfs "$out/initramfs.cpio.gz" "$out/guest.sh" "$mods/ex_rundown.ko" "$mods/ex_rundown_bench.ko" ||
		die "cannot build the initramfs"
	phase "benchmark in QEMU ($rel, TCG, 2 vCPUs)" qemu_boot "$rel" "$out/initramfs.cpio.gz" "$logf" "$tmo" || true
	refused() { ! grep -qx "EXR-BENCH accepted $1" "$logf" && grep -q "ex_rundown_bench: $1: " "$logf"; }
	for b in "${bad[@]}"; do expect "QEMU: $b refused, with the reason" refused "$b"; done
	class=$(qemu_classify_log "$logf")
	expect "QEMU: kernel log $class (log: $logf)" [ "$class" = clean ]
	expect "QEMU: the benchmark finished, with every figure" \
		report "$logf" "QEMU/TCG, 2 vCPUs, Debian $rel (emulated: NOT hardware; host load $load on $(nproc) CPUs)"
fi

if $uml; then
	tree=$(kernel_source_tree)
	# scripts/kunit.sh's um tree: a build of minutes there is one of seconds here.
	umldir=$EXR_CACHE/kunit/um
	kunit_graft "$tree" "$umldir"
	args=()
	for p in ${params[@]+"${params[@]}"}; do args+=("--kernel_args=ex_rundown_bench.$p"); done
	# Built in, the module runs at boot; kunit.py's verdict is about KUnit
	# suites, and bench/.kunitconfig builds none: only its log is ours.
	uml_run() { kunit_py "$tree" "$@" >"$out/uml-kunit.txt" 2>&1; }
	rm -f "$umldir/test.log"
	phase "benchmark in UML (1 CPU)" uml_run run --arch=um --build_dir="$umldir" --jobs=2 \
		--kunitconfig="$EXR_ROOT/bench/.kunitconfig" --kunitconfig="$EXR_ROOT/kunit/uml.config" --timeout="$tmo" ${args[@]+"${args[@]}"} || true
	quiet() { [ -f "$1" ] && ! complaints "$1"; }
	cp "$umldir/test.log" "$out/uml-test.log" 2>/dev/null || rm -f "$out/uml-test.log"
	expect "UML: no kernel complaint (log: $out/uml-test.log)" quiet "$out/uml-test.log"
	expect "UML: the benchmark finished, with every figure" \
		report "$out/uml-test.log" "UML, 1 CPU, linux-source-6.12 (native code, atomics without lock prefix: NOT hardware)"
fi
results bench
