#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The memory-ordering claims of the kernel-doc, checked by herd7 against
# the LKMM of KSRC (default: linux-source-6.12): each litmus/*.litmus gets
# the "Result:" its header states, a Never with no flag (a data race, say);
# and each function whose kernel-doc has an "Ordering:" line is named on a
# "Checks:" line of a test. litmus/README says how the code is modelled.
#
#   [KSRC=TREE] scripts/litmus.sh [TEST.litmus...]   default: all, and the coverage
#   scripts/litmus.sh --prepare    only build herd7, if there is none on PATH
#                                  (make check starts it early, in the background)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

herd_version=7.57
work=$EXR_CACHE/litmus

# build_herd7: herd7 built from shared/tools (beside the checkout, or
# /work/shared) into $EXR_CACHE/herd7 once per tarball checksum (CI's copy
# is always newer); the subshell holds the lock, one build at a time.
build_herd7() (
	local tarball sum dir=$EXR_CACHE/herd7 src=$EXR_CACHE/herd7.tmp/src
	exec 8>"$EXR_CACHE/herd7.lock"
	flock 8
	for tarball in {"$(dirname "$EXR_ROOT")",/work}/shared/tools/herdtools7-$herd_version.tar.gz; do
		[ ! -f "$tarball" ] || break
	done
	[ -f "$tarball" ] || die "no herd7 on PATH, and no shared/tools/herdtools7-$herd_version.tar.gz"
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	[ "$(cat "$dir/.exr-built" 2>/dev/null)" != "$sum" ] || return 0
	command -v dune >/dev/null || die "no dune on PATH to build herd7 (scripts/deps.sh litmus)"
	log "building herd7 $herd_version from $tarball (a few minutes)"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$src"
	tar -xzf "$tarball" -C "$src" --strip-components=1
	(cd "$src" && sh ./version-gen.sh "$dir" &&
		DUNE_CACHE=disabled dune build --profile release herd/herd.exe) >"$dir.tmp/build.log" 2>&1 ||
		{ tail -n 30 "$dir.tmp/build.log" >&2; die "herd7 build failed (log: $dir.tmp/build.log)"; }
	install -D "$src/_build/default/herd/herd.exe" "$dir.tmp/bin/herd7"
	mv "$src/herd/libdir" "$dir.tmp/libdir"
	rm -rf "$src"
	echo "$sum" >"$dir.tmp/.exr-built"
	mv "$dir.tmp" "$dir"
)

if [ "${1:-}" = --prepare ]; then
	command -v herd7 >/dev/null || phase "herd7" build_herd7
	exit
fi

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
# kernel-doc ("/**", then " * name() - what it does") has an "Ordering:" line.
ordering_functions() {
	awk '/^\/\*\*/ { getline; name = ($0 ~ /^ \* [A-Za-z_][A-Za-z_0-9]*(\(\))? +-/) ? $2 : "" }
		/\*\// { name = "" }
		name != "" && /^ \* Ordering:/ { sub(/\(\)$/, "", name); print FILENAME " " name "()"; name = "" }' "$@"
}

run_coverage() {
	local file fn checked
	checked=$(grep -h '^[ *]*Checks:' litmus/*.litmus | grep -o '[A-Za-z_][A-Za-z_0-9]*()' | sort -u)
	while read -r file fn; do
		expect "ordering of $fn ($file) checked" grep -qxF "$fn" <<<"$checked"
	done < <(ordering_functions include/*.h src/*.c | sort -k2 -u)
}

cd "$EXR_ROOT"
tests=("$@")
[ $# -gt 0 ] || tests=(litmus/*.litmus)
rm -rf "$work"
mkdir -p "$work"
herd=(herd7)
if ! command -v herd7 >/dev/null; then
	phase "herd7" build_herd7
	herd=("$EXR_CACHE/herd7/bin/herd7" -I "$EXR_CACHE/herd7/libdir")
fi
lkmm=${KSRC:-$(kernel_source_tree)}/tools/memory-model
[ -f "$lkmm/linux-kernel.cfg" ] || die "no LKMM in $lkmm"
log "herd7: ${herd[*]} ($("${herd[@]}" -version | head -n 1)); LKMM: $lkmm"

run_tests() { local f; for f in "${tests[@]}"; do run_test "$f"; done; }
phase "${#tests[@]} litmus tests (herd7 output: $work)" run_tests
[ $# -gt 0 ] || phase "coverage of the Ordering: lines" run_coverage
results litmus
