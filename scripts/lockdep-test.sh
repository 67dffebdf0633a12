#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The checks whose verdict is in the kernel log (lockdep, might_sleep(), the
# hung run-down report), of the cases of kunit/ex_rundown_lockdep_test.c:
#
#   scripts/lockdep-test.sh [--list] [SCENARIO...]     default: all
#
# Each case (scenario lockdep_abba is ex_rundown_lockdep_test_abba) boots
# alone (lockdep stops at its first report) in a UML kernel of
# kunit/lockdep.kunitconfig, with its "/* boot: ARGS */" if any. That kernel
# is scripts/kunit.sh's um-debug (every checker UML has) plus the scenarios,
# built in um-debug's tree: one option apart, Kbuild recompiles only the
# files that read it, where a tree of its own cost a kernel build. It passes
# if it passed (not skipped), the log shows what its "# CASE: expect" lines
# say (exr_expect_line()), and each complaint (EXR_COMPLAINT_RE) is a line
# they matched: a case that expects nothing expects silence.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=$EXR_ROOT/kunit/ex_rundown_lockdep_test.c
build_dir=$EXR_CACHE/kunit/um-debug
logs=$EXR_CACHE/lockdep-logs

# One line per case of $src: NAME CASE SUITE [KERNEL ARG...]
scenarios() {
	awk '/\/\* boot: .* \*\// { args = $0; sub(/.*boot: /, "", args); sub(/ \*\/.*/, "", args) }
	     match($0, /KUNIT_CASE[A-Z_]*\(ex_rundown_[a-z0-9_]+/) {
		c = substr($0, RSTART, RLENGTH); sub(/.*\(/, "", c)
		s = c; sub(/_test_.*/, "", s)
		n = c; sub(/^ex_rundown_/, "", n); sub(/_test_/, "_", n)
		print n, c, s, args; args = "" }' "$src"
}

kunit() {
	kunit_py "$tree" "$@" --arch=um --build_dir="$build_dir" \
		--kunitconfig="$EXR_ROOT/kunit/.kunitconfig" --kunitconfig="$EXR_ROOT/kunit/uml.config" \
		--kunitconfig="$EXR_ROOT/kunit/checkers.config" --kunitconfig="$EXR_ROOT/kunit/lockdep.kunitconfig"
}

build() {
	kunit_graft "$tree" "$build_dir"
	kunit build --jobs=2 >"$logs/build.log" 2>&1 || { tail -n 20 "$logs/build.log"; return 1; }
	# kunit.py drops the options it cannot set and says so: all of ours matter.
	! grep -A20 'not in .config' "$logs/build.log"
}

# boot CASE LOG [KERNEL ARG...]: run CASE alone; its kernel log in LOG.
boot() {
	local glob=$1 klog=$2 a args=()
	shift 2
	for a; do args+=(--kernel_args="$a"); done
	rm -f "$build_dir/test.log"
	kunit exec --timeout=180 "${args[@]}" "$glob" >"${klog%.log}.kunit" 2>&1 </dev/null || true
	cp "$build_dir/test.log" "$klog" 2>/dev/null || : >"$klog"
}

# check CASE SUITE LOG: print what is wrong with LOG, nothing if it passes.
check() {
	local mark="# $1: expect" exp
	exp=$(sed -nE "s/.*$mark ?([0-9a-z]*): (.*)/\1\t\2/p" "$3")
	grep -qE "^\s*ok [0-9]+ $1$" "$3" || echo "case $1 did not pass"
	grep -qE "^\s*ok [0-9]+ $2$" "$3" || echo "suite $2 did not pass"
	# "expect: RE": a line after the previous expectation's; "expect next:
	# RE": the line right after it; "expect N: RE": N lines of the log.
	# Then each complaint must be a line an expectation matched: one that
	# only resembles one (a second report, a stack line elsewhere) is not.
	awk -F'\t' -v mark="$mark" -v complaint="$EXR_COMPLAINT_RE" '
	NR == FNR { if ($0 != "") { kind[++n] = $1; re[n] = $2 }; next }
	!index($0, mark) { line[++m] = $0 }
	END {
		from = 1
		for (i = 1; i <= n; i = e) {
			e = i + 1
			if (kind[i] ~ /^[0-9]+$/) {
				c = 0
				for (l = 1; l <= m; l++)
					if (line[l] ~ re[i]) { c++; used[l] = 1 }
				if (c != kind[i])
					printf "%d lines match /%s/, not %d\n", c, re[i], kind[i]
				continue
			}
			while (e <= n && kind[e] == "next")
				e++
			# The first line, from "from" on, where the run i..e-1 matches.
			for (; from + e - i - 1 <= m; from++) {
				for (j = i; j < e && line[from + j - i] ~ re[j]; j++)
					;
				if (j == e)
					break
			}
			if (from + e - i - 1 > m) {
				printf "expectation %d is not met: /%s/\n", i, re[i]
				exit
			}
			for (j = i; j < e; j++)
				used[from + j - i] = 1
			from += e - i
		}
		for (l = 1; l <= m; l++)
			if (line[l] ~ complaint && !used[l])
				print "unexpected: " line[l]
	}' <(printf '%s\n' "$exp") "$3"
}

list=$(scenarios)
case ${1:-} in
--list) cut -d' ' -f1 <<<"$list"; exit 0 ;;
-*) sed -n 's/^#   scripts/usage: scripts/p' "$0" >&2; exit 2 ;;
esac
for s in "$@"; do grep -q "^$s " <<<"$list" || die "no scenario '$s' (see --list)"; done
command -v python3 >/dev/null || die "python3 missing (scripts/deps.sh kunit)"
tree=$(kernel_source_tree)
mkdir -p "$logs"
expect "build the lockdep kernel" phase "build the lockdep kernel ($build_dir)" build
[ "$EXR_FAILED" -eq 0 ] || { results lockdep; exit; }

t0=$SECONDS
while read -r name tcase suite args; do
	[ $# -eq 0 ] || printf '%s\n' "$@" | grep -qxF "$name" || continue
	klog=$logs/$name.log t=$SECONDS
	boot "$suite.$tcase" "$klog" $args
	why=$(check "$tcase" "$suite" "$klog")
	if [ -z "$why" ]; then
		ok "$name ($((SECONDS - t))s)"
	else
		not_ok "$name (log: $klog)"
		sed 's/^/#   /' <<<"$why"
	fi
done <<<"$list"
log "boots took $((SECONDS - t0))s"
results lockdep
