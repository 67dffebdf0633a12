#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The memory-ordering claims of the kernel-doc, machine-checked: herd7 runs
# the litmus tests of litmus/ against the Linux-kernel memory model (LKMM,
# tools/memory-model of the kernel source tree). litmus/README says how the
# code is modelled.
#
#   tests     each litmus/*.litmus: herd7's answer ("Observation NAME
#             Never|Sometimes|Always") is the "Result:" of the test's
#             header, and a Never comes with no flag (a data race, say)
#   coverage  each function whose kernel-doc in include/*.h or src/*.c has
#             an "Ordering:" line is named on a "Checks:" line of a test
#
# Needs neither root nor apt: herd7 is the one on PATH, or one built once
# into $EXR_CACHE/herd7 with OCaml and dune from the herdtools7 tarball in
# shared/tools (beside the checkout, or /work/shared/tools); the LKMM comes
# from KSRC=TREE, by default linux-source-6.12 unpacked into the cache.
#
#   [KSRC=TREE] scripts/litmus.sh [TEST.litmus...]   default: all, and the
#                   coverage; ends with "RESULT litmus: N passed, N failed"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

herd_version=7.57
work=$EXR_CACHE/litmus

# build_herd7: into $EXR_CACHE/herd7, unless it holds a build of the same
# tarball; the stamp is the tarball's checksum, as CI's copy is always newer.
build_herd7() {
	local tarball dir=$EXR_CACHE/herd7 sum src
	for tarball in {"$(dirname "$EXR_ROOT")",/work}/shared/tools/herdtools7-$herd_version.tar.gz; do
		[ ! -f "$tarball" ] || break
	done
	[ -f "$tarball" ] || die "no herd7 on PATH, and no shared/tools/herdtools7-$herd_version.tar.gz"
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	[ "$(cat "$dir/.exr-built" 2>/dev/null)" != "$sum" ] || return 0
	command -v dune >/dev/null || die "no dune on PATH to build herd7 (scripts/deps.sh litmus)"
	log "building herd7 $herd_version from $tarball (a few minutes)"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp/src"
	tar -xzf "$tarball" -C "$dir.tmp/src" --strip-components=1
	src=$dir.tmp/src
	(cd "$src" && sh ./version-gen.sh "$dir" &&
		DUNE_CACHE=disabled dune build --profile release herd/herd.exe) >"$dir.tmp/build.log" 2>&1 ||
		{ tail -n 30 "$dir.tmp/build.log" >&2; die "herd7 build failed (log: $dir.tmp/build.log)"; }
	mkdir "$dir.tmp/bin"
	cp "$src/_build/default/herd/herd.exe" "$dir.tmp/bin/herd7"
	cp -r "$src/herd/libdir" "$dir.tmp/libdir"
	rm -rf "$src"
	echo "$sum" >"$dir.tmp/.exr-built"
	mv "$dir.tmp" "$dir"
}

# run_test FILE: herd7's answer is the header's Result:, and a Never comes
# with no flag.
run_test() {
	local name want got flags out
	name=$(basename "$1" .litmus)
	out=$work/$name.out
	want=$(sed -n 's/^[ *]*Result: *\([A-Za-z]*\).*/\1/p;T;q' "$1")
	timeout 600 "${herd[@]}" -I "$lkmm" -conf "$lkmm/linux-kernel.cfg" "$1" >"$out" 2>&1 || true
	got=$(sed -n "s/^Observation $name \([A-Za-z]*\) .*/\1/p" "$out")
	flags=$(sed -n 's/^Flag \(.*\)/\1/p' "$out" | sort -u | paste -sd ' ')
	[ -n "$got" ] || sed 's/^/  /' "$out" | head -n 20
	if [ -n "$want" ] && [ "$got" = "$want" ] && { [ "$want" != Never ] || [ -z "$flags" ]; }; then
		ok "$name: $got${flags:+ (flags: $flags)}"
	else
		not_ok "$name: ${got:-no answer}, expected ${want:-a Result: line}${flags:+ (flags: $flags)}"
	fi
}

# ordering_functions FILE...: "FILE NAME()" for each function whose
# kernel-doc comment (opened by "/**", then " * name() - what it does")
# has an "Ordering:" line.
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
	local file fn checked
	checked=$(grep -h '^[ *]*Checks:' litmus/*.litmus | grep -o '[A-Za-z_][A-Za-z_0-9]*()' | sort -u)
	while read -r file fn; do
		if grep -qxF "$fn" <<<"$checked"; then
			ok "ordering of $fn ($file) checked"
		else
			not_ok "ordering of $fn ($file): no litmus test names it on a Checks: line"
		fi
	done < <(ordering_functions include/*.h src/*.c | sort -k2 -u)
}

cd "$EXR_ROOT"
tests=("$@")
[ $# -gt 0 ] || tests=(litmus/*.litmus)
rm -rf "$work"
mkdir -p "$work"

if command -v herd7 >/dev/null; then
	herd=(herd7)
else
	# One build at a time, however many runs share the cache.
	exec 8>"$EXR_CACHE/herd7.lock"
	flock 8
	phase "herd7" build_herd7
	exec 8>&-
	herd=("$EXR_CACHE/herd7/bin/herd7" -I "$EXR_CACHE/herd7/libdir")
fi
lkmm=${KSRC:-$(kernel_source_tree)}/tools/memory-model
[ -f "$lkmm/linux-kernel.cfg" ] || die "no LKMM in $lkmm"
log "herd7: ${herd[*]} ($("${herd[@]}" -version | head -n 1)); LKMM: $lkmm"

run_tests() { local f; for f in "${tests[@]}"; do run_test "$f"; done; }
phase "${#tests[@]} litmus tests (herd7 output: $work)" run_tests
[ $# -gt 0 ] || phase "coverage of the Ordering: lines" run_coverage
results litmus
