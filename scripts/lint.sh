#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of each *.c and *.h of the tree: checkpatch --strict,
# kernel-doc -Wall and the API it documents, docs/ex_rundown.rst current,
# W=1 and sparse (C=2) builds of the module and of examples/consumer against
# it, coccicheck; scripts/lint-exceptions lists the findings to live with.
#
#   [KDIR=DIR] [KSRC=TREE] scripts/lint.sh
#
# KDIR: kernel headers (default: each Debian kernel's); KSRC: the tree of
# checkpatch.pl, kernel-doc and coccicheck (default: linux-source-6.12).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for tool in sparse spatch; do command -v $tool >/dev/null || die "no $tool on PATH (scripts/deps.sh lint)"; done
export KSRC=${KSRC:-$(kernel_source_tree)}	# docs.sh --check reads it too
kdoc=$KSRC/scripts/kernel-doc
[ -x "$kdoc" ] && [ -x "$KSRC/scripts/checkpatch.pl" ] || die "KSRC=$KSRC: not a kernel source tree"
releases=$(kernel_releases)

# A pristine copy of the sources, for the builds and coccicheck to write in.
work=$EXR_CACHE/lint
rm -rf "$work"
copy_tree "$work/tree"
mkdir "$work/build"
cd "$work/tree"
mapfile -t files < <(find . -name '*.[ch]' -printf '%P\n' | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || die "no C file in $EXR_ROOT"

# silent CMD...: CMD prints nothing; what it prints is shown.
silent() {
	local out
	out=$("$@" 2>&1) || true
	[ -z "$out" ] || { sed 's/^/  /' <<<"$out" | head -n 40; return 1; }
}

run_checkpatch_kernel_doc() {
	local f
	"$KSRC/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--no-summary -q -f "${files[@]}" 2>&1 |
		unexcused "$EXR_ROOT/scripts/lint-exceptions" >"$work/checkpatch" || true
	# Output that is not a finding in one of the files (perl's complaint
	# about a module, a crash) would be dropped by the per-file checks.
	expect "checkpatch says nothing but findings in the files" silent \
		awk -F: 'NR == FNR { given[$0]; next } !($1 in given)' <(printf '%s\n' "${files[@]}") "$work/checkpatch"
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

exports() { sed -n 's/^EXPORT_SYMBOL\(_GPL\)\?(\([A-Za-z_0-9]*\));.*/\2/p' "$@" | LC_ALL=C sort -u; }

# header_api HEADER: what users of HEADER call, as "KIND NAME": types,
# inline functions (the return type may take a line of its own), macros
# with arguments, prototypes; not _* nor DEFINE_CLASS()'s class_*() helpers.
header_api() {
	sed -e '/^static .*[^;,{)]$/{N;s/\n/ /}' "$1" | sed -n \
	    -e 's/^\(struct\|union\|enum\) \([A-Za-z_0-9]*\) {.*/type \2/p' \
	    -e 's/^typedef .*[^A-Za-z_0-9]\([A-Za-z_0-9]*\);$/type \1/p' \
	    -e 's/^static \(inline\|__always_inline\) [^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/inline \2/p' \
	    -e 's/^#define \([A-Za-z_0-9]*\)(.*/macro \1/p' \
	    -e '/^\(static\|typedef\|struct\|union\|enum\|#\|extern [a-z_]* [a-z_]*;\)/!s/^[a-z][^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/proto \1/p' |
		grep -v -e ' _' -e ' class_' | LC_ALL=C sort -u
}

# undocumented FILE: what FILE offers without kernel-doc where a reader
# looks: a source's exports, at the export; a header's header_api in the
# header, but prototypes at their export, which must exist.
undocumented() {
	local kind name docs
	[[ $1 == *.h ]] || { exports "$1" | LC_ALL=C comm -23 - "$work/documented"; return; }
	docs=$(documented "$1")
	header_api "$1" | while read -r kind name; do
		if [ "$kind" = proto ]; then
			grep -qxF "$name" "$work/documented" || echo "$name ($kind): no kernel-doc at its export"
			grep -qxF "$name" "$work/exported" || echo "$name: declared, exported by no source file"
		else
			grep -qxF "$name" <<<"$docs" || echo "$name ($kind): no kernel-doc in $1"
		fi
	done
}

# kernel-doc cannot describe a static key: a plain comment above it does.
uncommented_keys() { grep -h -B1 '^DEFINE_STATIC_KEY_[A-Z]*(' "$@" | grep -v -e '\*/$' -e '^DEFINE' -e '^--$'; }

run_kernel_doc_coverage() {
	local f
	mapfile -t sources < <(grep -l '^EXPORT_SYMBOL' "${files[@]}" | grep '\.c$')
	exports "${sources[@]}" >"$work/exported"
	{
		documented -export "${sources[@]}"
		sed -n 's/^DEFINE_STATIC_KEY_[A-Z]*(\([A-Za-z_0-9]*\)).*/\1/p' "${sources[@]}"
		# Not a function: a symbol for modules to reference, documented
		# at EX_RUNDOWN_ABI in include/ex_rundown_module.h.
		grep -q '^#define EX_RUNDOWN_ABI_SYMBOL' include/ex_rundown_module.h && echo EX_RUNDOWN_ABI_SYMBOL
	} | LC_ALL=C sort -u >"$work/documented"
	for f in "${sources[@]}"; do expect "kernel-doc on every export of $f" silent undocumented "$f"; done
	expect "a comment on every exported static key" silent uncommented_keys "${sources[@]}"
	for f in include/*.h; do expect "kernel-doc on the whole API of $f" silent undocumented "$f"; done
}

# build LOG MAKE_ARGS...: make succeeds, and the compiler, sparse ("error:"
# too) and modpost say nothing; each finding once, its path made relative.
build() {
	local log=$1 rc=0
	shift
	make "$@" >"$log" 2>&1 || rc=$?
	{ grep -E '(warning|error|WARNING|ERROR):' "$log"; [ $rc -eq 0 ] || grep -F '***' "$log" ||
		echo "make failed (exit $rc)"; } | sed "s|$work/build/[^/]*/||g" | awk '!seen[$0]++' | silent cat
}

run_builds() {
	local rel kdir dir
	for rel in $releases; do
		kdir=$(kdir_for "$rel")
		[ -d "$kdir" ] || die "no kernel headers at $kdir"
		dir=$work/build/$rel
		cp -a "$work/tree" "$dir"
		expect "W=1 C=2 build against $kdir" \
			build "$dir/build.log" -C "$kdir" M="$dir" W=1 C=2 modules
		expect "W=1 C=2 build of examples/consumer against $kdir" build "$dir/consumer.log" \
			-C "$dir/examples/consumer" KDIR="$kdir" EX_RUNDOWN="$dir" W=1 C=2
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
		unexcused "$EXR_ROOT/scripts/lint-exceptions" coccinelle >"$work/cocci.findings" || true
	expect "coccicheck finds nothing" silent cat "$work/cocci.findings"
}

phase "checkpatch and kernel-doc -Wall" run_checkpatch_kernel_doc
phase "kernel-doc coverage" run_kernel_doc_coverage
expect "docs/ex_rundown.rst and docs/man9 up to date (make docs)" silent "$EXR_ROOT/scripts/docs.sh" --check

# The version is written once (VERSION); CHANGELOG's newest entry names it,
# and a tag vVERSION, where there is one, is an ancestor of this commit.
release_ok() {
	local v top
	v=$(cat "$EXR_ROOT/VERSION")
	top=$(sed -n 's/^\([0-9][0-9.a-z~+]*\) ([0-9-]*)$/\1/p' "$EXR_ROOT/CHANGELOG" | head -n 1)
	[ "$top" = "$v" ] || { echo "CHANGELOG's newest entry is '$top', VERSION is '$v'"; return 1; }
	! git -C "$EXR_ROOT" rev-parse -q --verify "refs/tags/v$v" >/dev/null ||
		git -C "$EXR_ROOT" merge-base --is-ancestor "v$v" HEAD ||
		{ echo "tag v$v is not an ancestor of HEAD"; return 1; }
	[ "$(cd "$EXR_ROOT" && tree_files | xargs -0 grep -lwF -- "$v" | sort | tr '\n' ' ')" = \
		"CHANGELOG VERSION " ] ||
		{ echo "the version is written outside VERSION and CHANGELOG:"
		  (cd "$EXR_ROOT" && tree_files | xargs -0 grep -nwF -- "$v"); return 1; }
}
expect "VERSION is CHANGELOG's newest entry, and written nowhere else" release_ok
expect "COPYING is the GPL-2.0 text" grep -q 'GNU GENERAL PUBLIC LICENSE' "$EXR_ROOT/COPYING"
phase "W=1 and sparse builds" run_builds
phase "coccicheck" run_coccicheck
results lint
