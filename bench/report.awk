# SPDX-License-Identifier: GPL-2.0
# The report of scripts/bench.sh: the tables and the targets of the last run
# of ex_rundown_bench.ko in its input, the module's "key value" lines (one
# per figure and repetition; a "version" line starts a run). Exits 1,
# printing why, unless that run ended with status 0 and every figure.
#
#   awk -v label=LABEL -f bench/report.awk LINES

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
}
