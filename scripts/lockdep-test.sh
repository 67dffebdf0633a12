#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The checks whose verdict is in the kernel log: lockdep, might_sleep() and
# the hung run-down report (kunit/ex_rundown_lockdep_test.c).
#
#   scripts/lockdep-test.sh [--list] [SCENARIO...]     default: all
#
# Builds one UML kernel (kunit/lockdep.kunitconfig: PROVE_LOCKING,
# DEBUG_ATOMIC_SLEEP, EX_RUNDOWN_DEBUG_HOLDERS) in
# $EXR_CACHE/kunit/lockdep-scenarios,
# then boots it once per scenario with `kunit.py exec` and a filter that
# runs one case (lockdep switches itself off after its first report, so
# one report per boot), and reads that boot's log:
#  - a "report" scenario must show the expected report first, naming the
#    reference, the functions involved and both stacks; no other report;
#  - a correct variant ("_ok") must show no report at all;
#  - the hung scenarios run with ex_rundown.hung_timeout_secs=1, =0 and an
#    out-of-range value: one report naming the waiter, the reference, the
#    count and the holder's stack; none; and the parameter refused.
# Each KUnit case must also pass (they check what KUnit can see, e.g. that
# lockdep is off after a report and still on after a correct variant).
#
# Prints one line per scenario, the logs' paths, and as its last line
# `RESULT lockdep: N passed, N failed`; exits non-zero on any failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Not "lockdep": scripts/kunit.sh --name lockdep (its own example) would
# share, and reconfigure, the build dir.
name=lockdep-scenarios
build_dir=$EXR_CACHE/kunit/$name
boot_dir=$build_dir/boots
kunitconfig=$EXR_ROOT/kunit/lockdep.kunitconfig
jobs=2
timeout=180

# Lines that start a report of some checker: any of them in a boot where
# none is expected is a failure.
report_re='(WARNING|BUG): |Kernel panic|Oops|KASAN:|UBSAN:|KCSAN:|INFO: (possible|trying to register)'

# Scenario table: TAG|FILTER GLOB|KERNEL ARGS (space separated)|CHECK|ARGS
# CHECK is a function below; ARGS are passed to it, split on ';;'.
scenarios=(
"self_deadlock|ex_rundown_lockdep.ex_rundown_lockdep_test_self_deadlock||expect_report|WARNING: possible recursive locking detected;;;;is trying to acquire lock:=>\(&ctx->self_ref\).*at: exr_ld_self_deadlock\+;;but task is already holding lock:=>\(&ctx->self_ref\).*at: exr_ld_self_deadlock\+;;ex_rundown_wait\+"
"self_deadlock_killable|ex_rundown_lockdep.ex_rundown_lockdep_test_self_deadlock_killable||expect_report|WARNING: possible recursive locking detected;;;;is trying to acquire lock:=>\(&ctx->self_ref\).*at: exr_ld_self_deadlock\+;;but task is already holding lock:=>\(&ctx->self_ref\).*at: exr_ld_self_deadlock\+;;ex_rundown_wait_killable\+"
"self_ok|ex_rundown_lockdep.ex_rundown_lockdep_test_self_ok||expect_silence|"
"abba|ex_rundown_lockdep.ex_rundown_lockdep_test_abba||expect_report|WARNING: possible circular locking dependency detected;;;;is trying to acquire lock:=>\(&ctx->abba_ref\).*at: exr_ld_abba_owner\+;;but task is already holding lock:=>\(&ctx->abba_lock\).*at: exr_ld_abba_owner\+;;-> #1 \(&ctx->abba_lock\);;-> #0 \(&ctx->abba_ref\);;mutex_lock.*=>exr_ld_abba_holder\+;;ex_rundown_wait\+.*=>exr_ld_abba_owner\+"
"abba_reverse|ex_rundown_lockdep.ex_rundown_lockdep_test_abba_reverse||expect_report|WARNING: possible circular locking dependency detected;;;;is trying to acquire lock:=>\(&ctx->abba_lock\).*at: exr_ld_abba_holder\+;;but task is already holding lock:=>\(&ctx->abba_ref\).*at: exr_ld_abba_holder\+;;-> #1 \(&ctx->abba_ref\);;-> #0 \(&ctx->abba_lock\);;ex_rundown_wait\+.*=>exr_ld_abba_owner\+;;mutex_lock.*=>exr_ld_abba_holder\+"
"abba_ok|ex_rundown_lockdep.ex_rundown_lockdep_test_abba_ok||expect_silence|"
"atomic_spinlock|ex_rundown_lockdep.ex_rundown_lockdep_test_atomic_spinlock||expect_report|BUG: Invalid wait context;;BUG: sleeping function called from invalid context;;is trying to lock:=>\(&ctx->atomic_ref\).*at: ex_rundown_lockdep_test_atomic_spinlock\+;;lock held by .*:=>\(&ctx->atomic_lock\)"
"atomic_preempt|ex_rundown_lockdep.ex_rundown_lockdep_test_atomic_preempt||expect_report|BUG: sleeping function called from invalid context at .*ex_rundown\.c;;;;ex_rundown_wait\+;;ex_rundown_lockdep_test_atomic_preempt\+"
"atomic_ok|ex_rundown_lockdep.ex_rundown_lockdep_test_atomic_ok||expect_silence|"
"hand_off_ok|ex_rundown_lockdep.ex_rundown_lockdep_test_hand_off_ok||expect_silence|"
"pcpu_self_deadlock|ex_rundown_lockdep.ex_rundown_lockdep_test_pcpu_self_deadlock||expect_report|WARNING: possible recursive locking detected;;;;is trying to acquire lock:=>\(&ctx->self_pcpu\).*at: ex_rundown_lockdep_test_pcpu_self_deadlock\+;;but task is already holding lock:=>\(&ctx->self_pcpu\).*at: ex_rundown_lockdep_test_pcpu_self_deadlock\+;;ex_rundown_pcpu_wait\+"
"pcpu_abba|ex_rundown_lockdep.ex_rundown_lockdep_test_pcpu_abba||expect_report|WARNING: possible circular locking dependency detected;;;;is trying to acquire lock:=>\(&ctx->abba_pcpu\).*at: exr_ld_pcpu_abba_owner\+;;but task is already holding lock:=>\(&ctx->abba_lock\).*at: exr_ld_pcpu_abba_owner\+;;-> #1 \(&ctx->abba_lock\);;-> #0 \(&ctx->abba_pcpu\);;mutex_lock.*=>exr_ld_pcpu_abba_holder\+;;ex_rundown_pcpu_wait\+.*=>exr_ld_pcpu_abba_owner\+"
"pcpu_atomic_spinlock|ex_rundown_lockdep.ex_rundown_lockdep_test_pcpu_atomic_spinlock||expect_report|BUG: Invalid wait context;;BUG: sleeping function called from invalid context;;is trying to lock:=>\(&ctx->atomic_pcpu\).*at: ex_rundown_lockdep_test_pcpu_atomic_spinlock\+;;lock held by .*:=>\(&ctx->atomic_lock\)"
"pcpu_ok|ex_rundown_lockdep.ex_rundown_lockdep_test_pcpu_ok||expect_silence|"
"same_class|ex_rundown_lockdep.ex_rundown_lockdep_test_same_class||expect_report|WARNING: possible recursive locking detected;;;;is trying to acquire lock:=>\(node_ref\).*at: exr_ld_parent_child\+;;but task is already holding lock:=>\(node_ref\).*at: exr_ld_parent_child\+;;ex_rundown_wait\+"
"same_class_nested|ex_rundown_lockdep.ex_rundown_lockdep_test_same_class_nested||expect_silence|"
"pcpu_same_class|ex_rundown_lockdep.ex_rundown_lockdep_test_pcpu_same_class||expect_report|WARNING: possible recursive locking detected;;;;is trying to acquire lock:=>\(pcpu_node_ref\).*at: exr_ld_pcpu_parent_child\+;;but task is already holding lock:=>\(pcpu_node_ref\).*at: exr_ld_pcpu_parent_child\+;;ex_rundown_pcpu_wait\+"
"pcpu_same_class_nested|ex_rundown_lockdep.ex_rundown_lockdep_test_pcpu_same_class_nested||expect_silence|"
"hung_report|ex_rundown_hung.*|ex_rundown.hung_timeout_secs=1|expect_hung|1"
"hung_off|ex_rundown_hung.*|ex_rundown.hung_timeout_secs=0|expect_hung|0"
"hung_bad_param|ex_rundown_hung.*|ex_rundown.hung_timeout_secs=86401|expect_hung|bad"
)

usage() { sed -n '6s/^# \{0,1\}//p' "$0" >&2; exit 2; }

graft() { kunit_graft "$tree" "$build_dir"; }

build_kernel() {
	local blog=$build_dir/build.log

	log "kunit.py build --kunitconfig=$kunitconfig (log: $blog)"
	if ! (cd "$tree" && python3 tools/testing/kunit/kunit.py build --arch=um \
		--build_dir="$build_dir" --kunitconfig="$kunitconfig" \
		--jobs="$jobs") >"$blog" 2>&1; then
		tail -n 20 "$blog" >&2
		return 1
	fi
	# kunit.py drops options it cannot set and says so; all of ours matter.
	if grep -q 'not in .config' "$blog"; then
		grep -A20 'not in .config' "$blog" >&2
		return 1
	fi
}

# boot TAG GLOB ARGS: one boot; its kernel log in $boot_dir/TAG.log
boot() {
	local tag=$1 glob=$2 kargs=$3 a t0
	local args=(exec --arch=um --build_dir="$build_dir"
		    --kunitconfig="$kunitconfig" --timeout="$timeout" "$glob")

	for a in $kargs; do
		args+=(--kernel_args="$a")
	done
	rm -f "$build_dir/test.log"
	t0=$(date +%s)
	(cd "$tree" && python3 tools/testing/kunit/kunit.py "${args[@]}") \
		>"$boot_dir/$tag.kunit" 2>&1 || true
	if [ -f "$build_dir/test.log" ]; then
		cp "$build_dir/test.log" "$boot_dir/$tag.log"
	else
		: >"$boot_dir/$tag.log"
	fi
	boot_secs=$(( $(date +%s) - t0 ))
}

fail() { why+=("$*"); }

# KTAP lines, with or without a printk timestamp.
ktap='^(\[[ 0-9.]+\] )?[[:space:]]*'

# Every case the glob selects ran and passed (not skipped).
cases_passed() {
	local klog=$1 glob=$2 suite pat n

	suite=${glob%%.*}
	pat=${glob#*.}
	pat=${pat//\*/[a-z0-9_]*}
	if grep -qE "${ktap}not ok [0-9]+ $pat( |$)" "$klog"; then
		fail "a KUnit case failed: $(grep -E "${ktap}not ok [0-9]+ $pat( |$)" "$klog" | head -3 | tr -s ' ' | paste -sd,)"
	fi
	if grep -qE "${ktap}ok [0-9]+ $pat .*# SKIP" "$klog"; then
		fail "a KUnit case was skipped: $(grep -E "${ktap}ok [0-9]+ $pat .*# SKIP" "$klog" | head -1)"
	fi
	n=$(grep -cE "${ktap}ok [0-9]+ $pat$" "$klog" || true)
	[ "$n" -gt 0 ] || fail "no case of $glob passed"
	grep -qE "${ktap}ok [0-9]+ $suite$" "$klog" ||
		fail "suite $suite did not pass"
}

# The report headlines of a boot, in order.
headlines() { grep -E "$report_re" "$1" | sed -E 's/^\[[ 0-9.]+\] //' || true; }

# expect_report LOG HEADLINE ALLOWED [REGEX...]: the first report is
# HEADLINE; its report (up to the next headline or 250 lines) matches
# every REGEX; no report other than HEADLINE or ALLOWED appears.
expect_report() {
	local klog=$1 head=$2 allowed=$3 start block re other
	shift 3

	start=$(grep -nE "$head" "$klog" | head -n 1 | cut -d: -f1 || true)
	if [ -z "$start" ]; then
		fail "no '$head' in the log"
		return
	fi
	block=$(sed -n "$start,$((start + 250))p" "$klog")
	for re in "$@"; do
		if [[ $re == *'=>'* ]]; then
			# A=>B: a line matching A, and B on the line after it.
			awk -v a="${re%%=>*}" -v b="${re#*=>}" \
				'prev ~ a && $0 ~ b { found = 1 } { prev = $0 }
				 END { exit !found }' <<<"$block" ||
				fail "the report lacks /${re%%=>*}/ followed by /${re#*=>}/"
		else
			grep -qE -- "$re" <<<"$block" || fail "the report lacks /$re/"
		fi
	done
	other=$(headlines "$klog" | grep -vE -- "$head" |
		{ if [ -n "$allowed" ]; then grep -vE -- "$allowed"; else cat; fi; } || true)
	[ -z "$other" ] || fail "unexpected report(s): $(head -n 3 <<<"$other" | paste -sd'|')"
	# The expected report comes first (a might_sleep() report may precede
	# lockdep's, as it runs first in the wait).
	local first
	first=$(headlines "$klog" | { if [ -n "$allowed" ]; then grep -vE -- "$allowed"; else cat; fi; } |
		head -n 1 || true)
	grep -qE -- "$head" <<<"$first" || fail "the first report is '$first', not '$head'"
}

expect_silence() {
	local klog=$1 other

	other=$(headlines "$klog")
	[ -z "$other" ] || fail "report(s) on a correct use: $(head -n 3 <<<"$other" | paste -sd'|')"
}

# hung_report_ok LOG REF HOLDER_FN: one report for REF (&ctx->FIELD) naming
# the waiter, one outstanding protection, the holder task and its stack.
hung_report_ok() {
	local klog=$1 ref=$2 fn=$3 re line start block

	re="has waited 1 s for the run-down of $ref at "
	line=$(grep -E "$re" "$klog" || true)
	if [ "$(grep -cE "$re" "$klog" || true)" -ne 1 ]; then
		fail "not exactly one hung report for $ref"
		return
	fi
	grep -qE "ex_rundown: [^ ]+\[[0-9]+\] ${re}[^ ]+ in exr_hung_wait\+[^ ]*: 1 protection\(s\) outstanding" <<<"$line" ||
		fail "the hung report does not name waiter, reference, count: $line"
	start=$(grep -nE "$re" "$klog" | head -n 1 | cut -d: -f1 || true)
	block=$(sed -n "$start,$((start + 12))p" "$klog")
	grep -qE '1 recorded holder\(s\) of' <<<"$block" ||
		fail "the hung report for $ref lists no holder (CONFIG_EX_RUNDOWN_DEBUG_HOLDERS)"
	grep -qE 'holder 1: exr_forgetful\[[0-9]+\] took 1 protection\(s\) [0-9]+ ms ago at:' <<<"$block" ||
		fail "the hung report for $ref does not name the holder task"
	awk -v fn="$fn" 'prev ~ /^ *__ex_rundown_(pcpu_)?acquire_slow\+/ && $0 ~ ("^ *" fn "\\+") { found = 1 }
			 { prev = $0 } END { exit !found }' <<<"$block" ||
		fail "the hung report for $ref lacks the holder's stack (__ex_rundown_acquire_slow, $fn)"
}

# expect_hung LOG MODE: MODE 1 (timeout 1 s), 0 (off) or bad (refused).
expect_hung() {
	local klog=$1 mode=$2 n
	local report_re_hung='has waited [0-9]+ s for the run-down of'

	expect_silence "$klog"
	n=$(grep -cE "$report_re_hung" "$klog" || true)
	case $mode in
	1)
		# One per late release (both families, and the killable wait),
		# none for the prompt one.
		[ "$n" -eq 3 ] || fail "$n hung report(s), expected 3 (the late releases)"
		hung_report_ok "$klog" '&ctx->hung_ref' exr_hung_forgetful_holder
		hung_report_ok "$klog" '&ctx->hung_killable_ref' exr_hung_forgetful_holder
		hung_report_ok "$klog" '&ctx->hung_pcpu' exr_hung_forgetful_pcpu_holder
		;;
	0)
		[ "$n" -eq 0 ] || fail "$n hung report(s) with hung_timeout_secs=0"
		;;
	bad)
		grep -qE "ex_rundown: hung_timeout_secs: '86401' is not a number of seconds from 0 \(off\) to 86400" "$klog" ||
			fail "hung_timeout_secs=86401 was not refused with a reason"
		[ "$n" -eq 0 ] || fail "$n hung report(s) with the default timeout (30 s)"
		;;
	esac
}

# Every case of the scenario file is booted by some scenario.
check_coverage() {
	local c suite covered=true

	while read -r c; do
		suite=${c%%_test_*}
		if ! printf '%s\n' "${scenarios[@]}" | cut -d'|' -f2 |
			grep -qE "^$suite\.($c|\*)$"; then
			log "case $c is booted by no scenario"
			covered=false
		fi
	done < <(grep -oE 'KUNIT_CASE(_SLOW)?\(ex_rundown_(lockdep|hung)_test_[a-z0-9_]+\)' \
			"$EXR_ROOT/kunit/ex_rundown_lockdep_test.c" | sed -E 's/.*\((.*)\)/\1/')
	$covered
}

list=false
selected=()
for arg in "$@"; do
	case $arg in
	--list) list=true ;;
	--help|-h) usage ;;
	-*) die "unknown option '$arg'" ;;
	*) selected+=("$arg") ;;
	esac
done
if $list; then
	printf '%s\n' "${scenarios[@]}" | cut -d'|' -f1
	exit 0
fi

command -v python3 >/dev/null || die "python3 missing (scripts/deps.sh kunit)"
mkdir -p "$boot_dir"
tree=$(kernel_source_tree)
passed=0
failed=0

phase "graft ex_rundown into $tree" graft
if phase "build the lockdep kernel ($build_dir)" build_kernel; then
	passed=$((passed + 1))
	built=true
else
	failed=$((failed + 1))
	built=false
fi
if check_coverage; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

t_boots=$(date +%s)
for s in "${scenarios[@]}"; do
	IFS='|' read -r tag glob kargs check cargs <<<"$s"
	if [ ${#selected[@]} -gt 0 ] && ! printf '%s\n' "${selected[@]}" | grep -qxF "$tag"; then
		continue
	fi
	why=()
	if $built; then
		boot "$tag" "$glob" "$kargs"
		klog=$boot_dir/$tag.log
		if [ ! -s "$klog" ]; then
			fail "no kernel log (see $boot_dir/$tag.kunit)"
		else
			cases_passed "$klog" "$glob"
			cargv=()
			if [ -n "$cargs" ]; then
				while IFS= read -r a; do cargv+=("$a"); done <<<"${cargs//;;/$'\n'}"
			fi
			"$check" "$klog" ${cargv[@]+"${cargv[@]}"}
		fi
	else
		boot_secs=0
		fail "no kernel"
	fi
	if [ ${#why[@]} -eq 0 ]; then
		log "ok     $tag (${boot_secs}s)"
		passed=$((passed + 1))
	else
		log "FAILED $tag (${boot_secs}s; log: $boot_dir/$tag.log)"
		printf '         %s\n' "${why[@]}"
		failed=$((failed + 1))
	fi
done
log "boots took $(( $(date +%s) - t_boots ))s"

echo "RESULT lockdep: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
