#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: run ex_rundown_bench.ko in QEMU and in UML, print its tables
# and judge its targets.
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
# Neither run gives hardware numbers, and the tables say so. QEMU here is
# TCG with 2 vCPUs: real SMP, so scaling means something, but translated
# code distorts timings (a contended atomic costs about an uncontended one)
# and the vCPUs only run at once if two host CPUs are free. UML runs native
# code on one CPU, where atomics lose their lock prefix.
#
# The module prints data ("key value" lines, one per figure and repetition).
# The targets (issue 4) are reported, never failed: emulated timings say
# little about hardware. The checks: the fast paths; each bad parameter
# refused with the module's reason; in each run a clean kernel log, and the
# benchmark ending with status 0 and every figure.
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
tables() {
	awk -v label="$1" '
	# The median of the values of key k (insertion sort: a handful of them).
	function med(k,  m, i, j, a, t) {
		m = cnt[k]
		for (i = 1; i <= m; i++) {
			a[i] = val[k, i] + 0
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		}
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	function ns(m, w) { return med(m "." w ".ps") / 1000 }
	function mps(m, w) { return med(m "." w ".pps") / 1e6 }
	function target(what, x, op, limit, na,  v) {
		v = na != "" ? "n/a: " na : (op == "<=" ? x <= limit : x >= limit) ? "met" : \
			sprintf("MISSED by %.0f%%", 100 * (x > limit ? x - limit : limit - x) / limit)
		printf "target %-44s %7.3f (%s %s) %s\n", what, x, op, limit, v
	}
	$1 == "version" { delete cnt; delete val; delete last; delete has; order = "" }
	{ k = $1; $1 = ""; last[k] = substr($0, 2); val[k, ++cnt[k]] = last[k] }
	k ~ /\.pair$/ { sub(/\.pair$/, "", k); order = order " " k; has[k] = 1 }
	END {
		if (!("version" in last) || last["status"] != "0") {
			printf "%s: the benchmark did not finish (status %s)\n", label, last["status"]
			exit 1
		}
		n = last["cpus"]; r = last["repetitions"]; nm = split(order, mech, " ")
		split("one.ps one.pps all.ps all.pps", fig, " ")
		# The two families, and what each is measured against on 1 CPU.
		split("ex_rundown ex_rundown_pcpu", fam, " "); split("refcount percpu_ref", alt, " ")
		for (i = 1; i <= nm; i++)
			for (w = 1; w <= (n > 1 ? 4 : 2); w++)
				if (cnt[mech[i] "." fig[w]] != r) bad = bad " " mech[i] "." fig[w]
		for (k in cnt)
			if (k ~ /_ns$/ && cnt[k] != r) bad = bad " " k
		if (bad != "") { printf "%s: figures missing:%s\n", label, bad; exit 1 }

		printf "\n==== %s ====\n", label
		printf "kernel %s on %s, %d CPU(s), RCU %s; ns per pair, median of %d runs of %d pairs per thread\n", \
			last["kernel"], last["machine"], n, last["rcu"], r, last["iterations"]
		if (last["machine"] !~ /^bare metal/)
			print "an emulated or user-mode machine: these are NOT hardware numbers"
		printf "%-16s %-36s | %9s %9s | %10s %9s %9s %8s\n", "mechanism", "pair",
			"1 CPU ns", "Mpairs/s", "all ns/CPU", "Mp/s/CPU", "Mp/s sum", "scaling"
		for (i = 1; i <= nm; i++) {
			m = mech[i]
			printf "%-16s %-36s | %9.3f %9.2f | ", m, last[m ".pair"], ns(m, "one"), mps(m, "one")
			if (n > 1)
				printf "%10.3f %9.2f %9.2f %8.3f\n", ns(m, "all"), mps(m, "all") / n,
					mps(m, "all"), mps(m, "all") / mps(m, "one") / n
			else
				printf "%10s %9s %9s %8s\n", "-", "-", "-", "-"
		}
		for (i = 1; i <= nm; i++)
			for (j = 1; j <= nm; j++)
				if (mech[i] ~ /^ex_rundown/ && mech[j] !~ /^ex_rundown/)
					printf "ratio %-16s / %-11s ns per pair: 1 CPU %.3fx%s\n", mech[i], mech[j],
						ns(mech[i], "one") / ns(mech[j], "one"), n < 2 ? "" : \
						sprintf(", %d CPUs %.3fx", n, ns(mech[i], "all") / ns(mech[j], "all"))
		for (i = 1; i <= 2; i++)
			if (cnt[(m = fam[i]) ".rundown_ns"])
				printf "run-down %-16s last release -> wait returns %9.3f us; wait on an idle ref %9.3f us\n",
					m, med(m ".rundown_ns") / 1000, med(m ".idle_wait_ns") / 1000
		if (last["rcu"] != "normal")
			print "note: RCU grace periods are immediate (tiny) or expedited (booting) here: ex_rundown_pcpu waits less than on SMP after boot"
		one = n > 1 ? "" : "one CPU online"
		for (i = 1; i <= 2; i++)
			if (has[m = fam[i]] && has[alt[i]])
				target(m " / " alt[i] " ns, 1 CPU", ns(m, "one") / ns(alt[i], "one"), "<=", 1.1)
		if (has["ex_rundown_pcpu"])
			target("ex_rundown_pcpu scaling, all CPUs / linear", n < 2 ? 0 : \
			       mps("ex_rundown_pcpu", "all") / mps("ex_rundown_pcpu", "one") / n, ">=", 0.9, one)
		for (i = 1; i <= 2; i++)
			if (has[m = fam[i]] && has["rwsem"])
				target("rwsem / " m " ns, all CPUs", n < 2 ? 0 : ns("rwsem", "all") / ns(m, "all"), ">=", 2, one)
	}'
}

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
	kunit_graft "$tree" "$out/uml"
	args=()
	for p in ${params[@]+"${params[@]}"}; do args+=("--kernel_args=ex_rundown_bench.$p"); done
	# Built in, the module runs at boot; kunit.py's verdict is about KUnit
	# suites, and bench/.kunitconfig builds none: only its log is ours.
	kunit_py() { (cd "$tree" && python3 tools/testing/kunit/kunit.py "$@") >"$out/uml-kunit.txt" 2>&1; }
	rm -f "$out/uml/test.log"
	phase "benchmark in UML (1 CPU)" kunit_py run --arch=um --build_dir="$out/uml" --jobs=2 \
		--kunitconfig="$EXR_ROOT/bench/.kunitconfig" --timeout="$tmo" ${args[@]+"${args[@]}"} || true
	quiet() { [ -f "$1" ] && ! complaints "$1"; }
	expect "UML: no kernel complaint (log: $out/uml/test.log)" quiet "$out/uml/test.log"
	expect "UML: the benchmark finished, with every figure" \
		report "$out/uml/test.log" "UML, 1 CPU, linux-source-6.12 (native code, atomics without lock prefix: NOT hardware)"
fi
results bench
