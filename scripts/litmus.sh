#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The memory-ordering claims of the kernel-doc, machine-checked: herd7 runs
# the litmus tests of litmus/ against the Linux-kernel memory model (LKMM,
# tools/memory-model of the linux-source-6.12 tarball).
#
#   tests     each litmus/*.litmus: herd7's answer (its "Observation NAME
#             Never|Sometimes|Always" line) is the "Result:" of the test's
#             header, and a test whose answer is Never raises no flag (a
#             data race on a plain access, say)
#   coverage  each function whose kernel-doc in include/*.h or src/*.c has
#             an "Ordering:" line is named on a "Checks:" line of a test
#
# herd7 is the one on PATH if there is one (opam's); otherwise it is built
# once from the herdtools7 tarball in shared/tools (beside the checkout, or
# /work/shared/tools) with Debian's OCaml, and kept in $EXR_CACHE/herd7.
# litmus/README says how the code is modelled.
#
#   scripts/litmus.sh [TEST.litmus...]   default: all, and the coverage;
#                                        ends with "RESULT litmus: N passed, N failed"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

herd_version=7.57

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# --- herd7 -----------------------------------------------------------------

herd=()

herd_tarball() {
	local dir
	for dir in "$(dirname "$EXR_ROOT")/shared/tools" /work/shared/tools; do
		if [ -f "$dir/herdtools7-$herd_version.tar.gz" ]; then
			echo "$dir/herdtools7-$herd_version.tar.gz"
			return
		fi
	done
	die "no herd7 on PATH and no herdtools7-$herd_version.tar.gz in $(dirname "$EXR_ROOT")/shared/tools or /work/shared/tools"
}

# Build herd7 from TARBALL into $EXR_CACHE/herd7 (bin/herd7, libdir/), unless
# a build of that same tarball is there. The stamp holds the tarball's
# checksum, not a date: CI's copy of shared/ is newer than any cache.
build_herd7() {
	local tarball=$1 dir=$EXR_CACHE/herd7 sum src
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	[ "$(cat "$dir/.exr-built" 2>/dev/null)" = "$sum" ] && return 0

	log "building herd7 $herd_version from $tarball (a few minutes)"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp/src"
	tar -xzf "$tarball" -C "$dir.tmp/src"
	src=$(dirname "$(find "$dir.tmp/src" -maxdepth 2 -name dune-project -print -quit)")
	[ -f "$src/version-gen.sh" ] || die "no herdtools7 source tree in $tarball"
	if ! (cd "$src" && sh ./version-gen.sh "$dir" &&
	      DUNE_CACHE=disabled dune build --profile release herd/herd.exe) \
		>"$dir.tmp/build.log" 2>&1; then
		tail -n 30 "$dir.tmp/build.log" >&2
		die "herd7 build failed (log: $dir.tmp/build.log)"
	fi
	mkdir -p "$dir.tmp/bin"
	cp "$src/_build/default/herd/herd.exe" "$dir.tmp/bin/herd7"
	cp -r "$src/herd/libdir" "$dir.tmp/libdir"
	rm -rf "$src"
	echo "$sum" >"$dir.tmp/.exr-built"
	mv "$dir.tmp" "$dir"
}

find_herd7() {
	local tarball

	if command -v herd7 >/dev/null; then
		herd=(herd7)
	else
		"$EXR_ROOT/scripts/deps.sh" litmus
		tarball=$(herd_tarball)
		mkdir -p "$EXR_CACHE"
		# One build at a time, however many runs share the cache.
		exec 8>"$EXR_CACHE/herd7.lock"
		flock 8
		build_herd7 "$tarball"
		flock -u 8
		exec 8>&-
		herd=("$EXR_CACHE/herd7/bin/herd7" -I "$EXR_CACHE/herd7/libdir")
	fi
	log "herd7: ${herd[*]} ($("${herd[@]}" -version | head -n 1))"
}

# --- the tests -------------------------------------------------------------

lkmm=

find_lkmm() {
	local tree
	tree=$(kernel_source_tree)
	lkmm=$tree/tools/memory-model
	[ -f "$lkmm/linux-kernel.cfg" ] || die "no LKMM in $lkmm"
	log "LKMM: $lkmm"
}

# run_test FILE: herd7's answer must be the header's Result:, and a Never
# answer comes with no flag.
run_test() {
	local f=$1 name want got flags out
	name=$(basename "$f" .litmus)
	out=$work/$name.out
	want=$(sed -n 's/^[ *]*Result: *\([A-Za-z]*\).*/\1/p;T;q' "$f")
	timeout 600 "${herd[@]}" -I "$lkmm" -conf "$lkmm/linux-kernel.cfg" \
		"$f" >"$out" 2>&1 || true
	got=$(sed -n "s/^Observation $name \([A-Za-z]*\) .*/\1/p" "$out")
	flags=$(sed -n 's/^Flag \(.*\)/\1/p' "$out" | sort -u | tr '\n' ' ')
	flags=${flags% }
	if [ -z "$want" ]; then
		fail "$name: no \"Result:\" line in its header"
	elif [ -z "$got" ]; then
		sed 's/^/  /' "$out" | head -n 20
		fail "$name: no answer from herd7 (expected $want)"
	elif [ "$got" != "$want" ]; then
		fail "$name: $got, expected $want${flags:+ (flags: $flags)}"
	elif [ "$want" = Never ] && [ -n "$flags" ]; then
		fail "$name: Never, but flags: $flags"
	else
		pass "$name: $got${flags:+ (flags: $flags)}"
	fi
}

run_tests() {
	local f
	for f in "${tests[@]}"; do
		run_test "$f"
	done
}

# --- coverage ----------------------------------------------------------------

# The functions whose kernel-doc comment has an "Ordering:" line, as
# "FILE NAME()". A kernel-doc comment opens with "/**", and its next line
# names what it documents: " * name() - what it does".
ordering_functions() {
	awk '
		/^\/\*\*/ { doc = 1; name = ""; first = 1; next }
		doc && /\*\// { doc = 0; next }
		doc && first {
			first = 0
			if (match($0, /^ \* [A-Za-z_][A-Za-z_0-9]*(\(\))? +-/)) {
				name = substr($0, 4, RLENGTH - 3)
				sub(/[ (].*/, "", name)
			}
			next
		}
		doc && name != "" && /^ \* Ordering:/ {
			print FILENAME " " name "()"
			name = ""
		}' "$@"
}

run_coverage() {
	local file fn checked ordered="" unused=()
	checked=" $(grep -h '^[ *]*Checks:' "$EXR_ROOT"/litmus/*.litmus |
		    grep -o '[A-Za-z_][A-Za-z_0-9]*()' | sort -u | tr '\n' ' ') "
	while read -r file fn; do
		ordered+=" $fn "
		if [[ $checked == *" $fn "* ]]; then
			pass "ordering of $fn ($file) checked"
		else
			fail "ordering of $fn ($file): no litmus test names it on a Checks: line"
		fi
	done < <(cd "$EXR_ROOT" && ordering_functions include/*.h src/*.c | sort -k2 -u)
	for fn in $checked; do
		[[ $ordered == *" $fn "* ]] || unused+=("$fn")
	done
	[ ${#unused[@]} -eq 0 ] ||
		log "named on Checks: lines, no Ordering: line: ${unused[*]}"
}

# --- main --------------------------------------------------------------------

if [ $# -gt 0 ]; then
	tests=("$@")
else
	mapfile -t tests < <(LC_ALL=C ls "$EXR_ROOT"/litmus/*.litmus)
fi
[ ${#tests[@]} -gt 0 ] || die "no litmus test in $EXR_ROOT/litmus"

work=$EXR_CACHE/litmus
rm -rf "$work"
mkdir -p "$work"

phase "herd7" find_herd7
phase "the LKMM, from linux-source-6.12" find_lkmm
phase "${#tests[@]} litmus tests (herd7 output: $work)" run_tests
[ $# -gt 0 ] || phase "coverage of the Ordering: lines" run_coverage

echo "RESULT litmus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
