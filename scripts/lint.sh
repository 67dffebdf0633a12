#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of each *.c and *.h that git tracks (or that is new and not
# ignored), wherever it lives:
#
#   checkpatch  --strict finds nothing that scripts/lint-exceptions does not
#               list, with the reason
#   kernel-doc  -Wall is quiet; every export, and every type, inline and
#               macro of include/*.h, is documented; docs/ex_rundown.rst is
#               what `make docs` writes
#   build       W=1 and sparse (C=2) say nothing, for the top-level Kbuild
#               and then examples/consumer against it
#   coccinelle  the kernel's coccicheck finds nothing not in lint-exceptions
#
# Needs neither root nor apt: sparse and spatch on PATH, kernel headers
# (KDIR; default: each Debian kernel's), and a kernel source tree for
# checkpatch.pl, kernel-doc and coccicheck (KSRC; default: linux-source-6.12
# unpacked into the cache).
#
#   [KDIR=DIR] [KSRC=DIR] scripts/lint.sh   ends "RESULT lint: N passed, N failed"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for tool in sparse spatch; do
	command -v $tool >/dev/null || die "no $tool on PATH (scripts/deps.sh lint)"
done
export KSRC=${KSRC:-$(kernel_source_tree)}	# docs.sh --check reads it too
kdoc=$KSRC/scripts/kernel-doc
[ -x "$kdoc" ] && [ -x "$KSRC/scripts/checkpatch.pl" ] || die "KSRC=$KSRC: not a kernel source tree"
kdirs=("${KDIR:-}")
[ -n "${KDIR:-}" ] || mapfile -t kdirs < <(for rel in $(kernel_releases); do kdir_for "$rel"; done)

# A pristine copy of the sources, for the builds and coccicheck to write in.
work=$EXR_CACHE/lint
rm -rf "$work"
mkdir -p "$work/tree"
cd "$EXR_ROOT"
{ git ls-files -co --exclude-standard -z 2>/dev/null ||
	find . -path ./.git -prune -o -path ./out -prune -o -type f -print0; } |
	xargs -0 cp --parents -t "$work/tree"
cd "$work/tree"
mapfile -t files < <(find . -name '*.[ch]' | sed 's|^\./||' | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || die "no C file in $EXR_ROOT"

# unexcused [TYPE]: the findings on stdin ("FILE:LINE:...") that
# scripts/lint-exceptions does not list. An entry there is "FILE TYPE TEXT":
# FILE a path or a glob, TYPE checkpatch's (by default read from the
# finding, "FILE:LINE: LEVEL:TYPE: ...") or coccinelle's, TEXT a fixed
# string that the offending line contains.
unexcused() {
	local file line rest type src ef et etext
	while IFS=: read -r file line rest; do
		[ -n "$file" ] || continue
		type=${1:-$(sed -n 's/^ [A-Z]*:\([A-Z0-9_]*\):.*/\1/p' <<<"$rest")}
		src=$(sed -n "${line}p" "$file" 2>/dev/null || true)
		while read -r ef et etext; do
			# shellcheck disable=SC2053 # $ef is a glob
			[[ $ef != '#'* && -n $etext && $file == $ef && $type == "$et" &&
			   $src == *"$etext"* ]] && { echo "  excepted: $file:$line:$rest" >&2; continue 2; }
		done <"$EXR_ROOT/scripts/lint-exceptions"
		echo "$file:$line:$rest"
	done
}

# silent CMD...: CMD prints nothing; what it prints is shown.
silent() {
	local out
	out=$("$@" 2>&1) || true
	[ -z "$out" ] || { sed 's/^/  /' <<<"$out" | head -n 40; return 1; }
}

run_checkpatch_kernel_doc() {
	local f
	"$KSRC/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--no-summary -q -f "${files[@]}" 2>&1 | unexcused >"$work/checkpatch" || true
	for f in "${files[@]}"; do
		expect "checkpatch $f" silent awk -F: -v f="$f" '$1 == f' "$work/checkpatch"
		expect "kernel-doc -Wall $f" silent "$kdoc" -none -Wall "$f"
	done
}

# documented ARGS...: the names kernel-doc ARGS documents.
documented() {
	"$kdoc" -rst -sphinx-version 5.3.0 "$@" 2>/dev/null | sed -n \
		-e 's/^\.\. c:\(struct\|union\|enum\|type\|macro\):: \([A-Za-z_0-9]*\).*/\2/p' \
		-e 's/^\.\. c:function:: [^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\) (.*/\1/p' || true
}

# header_api HEADER: what users of HEADER call, as "KIND NAME": its types,
# inline functions (the return type may take a line of its own), macros
# with arguments and prototypes. Names starting with _ are internal, and
# so are the class_*() helpers DEFINE_CLASS() wants.
header_api() {
	sed -e '/^static .*[^;,{)]$/{N;s/\n/ /}' "$1" | sed -n \
	    -e 's/^\(struct\|union\|enum\) \([A-Za-z_0-9]*\) {.*/type \2/p' \
	    -e 's/^typedef .*[^A-Za-z_0-9]\([A-Za-z_0-9]*\);$/type \1/p' \
	    -e 's/^static \(inline\|__always_inline\) [^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/inline \2/p' \
	    -e 's/^#define \([A-Za-z_0-9]*\)(.*/macro \1/p' \
	    -e '/^\(static\|typedef\|struct\|union\|enum\|#\|extern [a-z_]* [a-z_]*;\)/!s/^[a-z][^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/proto \1/p' |
		grep -v -e ' _' -e ' class_' | LC_ALL=C sort -u
}

exports() { sed -n 's/^EXPORT_SYMBOL\(_GPL\)\?(\([A-Za-z_0-9]*\));.*/\2/p' "$@"; }

# missing LIST NAME...: the NAMEs not in the file LIST.
missing() { local n; for n in "${@:2}"; do grep -qxF "$n" "$1" || echo "$n"; done; }

# undocumented_api HEADER: what header_api lists that has no kernel-doc,
# and the functions it declares that no source file exports.
undocumented_api() {
	local kind name
	header_api "$1" | while read -r kind name; do
		grep -qxF "$name" "$work/documented" || echo "$name ($kind): no kernel-doc"
		[ "$kind" != proto ] || grep -qxF "$name" "$work/exported" ||
			echo "$name: declared, exported by no source file"
	done
}

# An exported static key, which kernel-doc cannot describe, has a plain
# comment right above its definition.
keys_commented() {
	! grep -h -B1 '^DEFINE_STATIC_KEY_[A-Z]*(' "$@" | grep -v -e '\*/$' -e '^DEFINE' -e '^--$'
}

run_kernel_doc_coverage() {
	local f
	mapfile -t sources < <(grep -l '^EXPORT_SYMBOL' "${files[@]}" | grep '\.c$')
	exports "${sources[@]}" | sort -u >"$work/exported"
	{
		for f in "${sources[@]}"; do documented -export "$f"; done
		documented include/*.h
		sed -n 's/^DEFINE_STATIC_KEY_[A-Z]*(\([A-Za-z_0-9]*\)).*/\1/p' "${sources[@]}"
	} | sort -u >"$work/documented"
	for f in "${sources[@]}"; do
		# shellcheck disable=SC2046 # a list of names
		expect "kernel-doc on every export of $f" silent missing "$work/documented" $(exports "$f")
	done
	expect "a comment on every exported static key" keys_commented "${sources[@]}"
	for f in include/*.h; do
		expect "kernel-doc on the whole API of $f" silent undocumented_api "$f"
	done
}

# judge RC LOG: make succeeded, and compiler, sparse (which also says
# "error:") and modpost said nothing: each finding once, with paths
# relative to the tree, however many files include its header.
judge() {
	local re='(warning|error|WARNING|ERROR):'
	[ "$1" -eq 0 ] && ! grep -Eq "$re" "$2" && return 0
	{ grep -E "$re" "$2"; [ "$1" -eq 0 ] || grep -F '***' "$2"; } |
		sed "s|$work/build/[^/]*/||g" | awk '!seen[$0]++' | head -n 40 | sed 's/^/  /'
	return 1
}

run_builds() {
	local kdir dir rc
	for kdir in "${kdirs[@]}"; do
		[ -d "$kdir" ] || die "no kernel headers at $kdir"
		dir=$work/build/$(basename "$kdir")
		mkdir -p "$work/build"
		cp -a "$work/tree" "$dir"
		rc=0
		make -C "$kdir" M="$dir" W=1 C=2 modules >"$dir/build.log" 2>&1 || rc=$?
		expect "W=1 C=2 build against $kdir" judge $rc "$dir/build.log"
		rc=0
		make -C "$dir/examples/consumer" KDIR="$kdir" EX_RUNDOWN="$dir" \
			W=1 C=2 >"$dir/consumer.log" 2>&1 || rc=$?
		expect "W=1 C=2 build of examples/consumer against $kdir" \
			judge $rc "$dir/consumer.log"
	done
}

# The kernel's .cocciconfig asks for git grep, which finds nothing outside
# a git tree: coccigrep picks the files instead. spatch -j would write in
# the kernel tree: --tmp-dir. Findings read "FILE:LINE:COLUMNS: message".
run_coccicheck() {
	local dir=$work/cocci n
	cp -a "$work/tree" "$dir"
	mkdir "$work/spatch"
	make -C "$KSRC" coccicheck MODE=report M="$dir" J=2 \
		SPFLAGS="--use-coccigrep --tmp-dir $work/spatch/ -I $dir/include" >"$work/cocci.log" 2>&1 ||
		echo "coccicheck failed (exit $?)" >>"$work/cocci.log"
	n=$(grep -c 'scripts/coccinelle/.*\.cocci' "$work/cocci.log" || true)
	expect "coccicheck ran $n semantic patches" test "$n" -gt 0
	grep -e "^$dir/" -e '^coccicheck failed' "$work/cocci.log" | sed "s|^$dir/||" |
		unexcused coccinelle >"$work/cocci.findings" || true
	expect "coccicheck finds nothing" silent cat "$work/cocci.findings"
}

phase "checkpatch and kernel-doc -Wall" run_checkpatch_kernel_doc
phase "kernel-doc coverage" run_kernel_doc_coverage
expect "docs/ex_rundown.rst up to date (make docs)" silent "$EXR_ROOT/scripts/docs.sh" --check
phase "W=1 and sparse builds" run_builds
phase "coccicheck" run_coccicheck
results lint
