#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of every C source and header of the project (src/, include/,
# kunit/, examples/, found afresh on each run):
#
#   checkpatch  checkpatch.pl --strict --no-tree, no finding at any level
#               (ERROR, WARNING or CHECK) except those listed, with the
#               reason, in scripts/lint-exceptions
#   kernel-doc  kernel-doc -Wall warns on no file; every exported function
#               and every type, inline function and function-like macro of
#               the API in include/ has a kernel-doc comment (an exported
#               static key, a plain comment: kernel-doc has no syntax for
#               data); and docs/ex_rundown.rst is what `make docs` generates
#   build       W=1 and sparse (C=2) clean, against the headers of each
#               Debian kernel (6.1 and 6.12): the modules of the top-level
#               Kbuild, then examples/consumer against them
#   coccinelle  the kernel's scripts/coccinelle/ (make coccicheck, report
#               mode) finds nothing, except what scripts/lint-exceptions
#               lists as TYPE "coccinelle"
#
# The tools come from Debian (sparse, coccinelle) and from the kernel tree
# of the linux-source-6.12 tarball (checkpatch.pl, kernel-doc, coccicheck).
#
#   scripts/lint.sh          ends with "RESULT lint: N passed, N failed"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$EXR_ROOT/scripts/deps.sh" lint

ktree=$(kernel_source_tree)
checkpatch=$ktree/scripts/checkpatch.pl
kdoc=$ktree/scripts/kernel-doc
# checkpatch.pl reads spelling.txt and const_structs.checkpatch from its
# own directory: run it where the tarball put it.
for f in "$checkpatch" "$kdoc" "$ktree/scripts/spelling.txt" \
	 "$ktree/scripts/const_structs.checkpatch" "$ktree/scripts/coccicheck"; do
	[ -e "$f" ] || die "missing $f in the kernel source tree"
done

work=$EXR_CACHE/lint
rm -rf "$work"
mkdir -p "$work/tree"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# A pristine copy of the sources (tracked and new files, no build output):
# the builds and coccicheck run on it, never in the work tree.
cd "$EXR_ROOT"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -co --exclude-standard -z
else
	find . -path ./.git -prune -o -path ./out -prune -o -type f -print0
fi | xargs -0 cp --parents -t "$work/tree" 2>/dev/null || true
cd "$work/tree"
mapfile -t files < <(find src include kunit examples -name '*.[ch]' \
	! -name '*.mod.c' 2>/dev/null | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || die "no C file found under src/ include/ kunit/ examples/"
log "${#files[@]} C files: ${files[*]}"

# --- checkpatch ------------------------------------------------------------

exceptions=$EXR_ROOT/scripts/lint-exceptions

# excepted FILE LINE TYPE: is this finding listed in scripts/lint-exceptions?
# An entry is "FILE TYPE TEXT": TEXT is a fixed string the line contains.
excepted() {
	local file=$1 line=$2 type=$3 src ef et etext
	src=$(sed -n "${line}p" "$file")
	while read -r ef et etext; do
		case $ef in '' | '#'*) continue ;; esac
		[ "$ef" = "$file" ] && [ "$et" = "$type" ] && [ -n "$etext" ] &&
			[[ $src == *"$etext"* ]] && return 0
	done <"$exceptions"
	return 1
}

run_checkpatch() {
	local f out finding bad file line type
	for f in "${files[@]}"; do
		out=$("$checkpatch" --strict --no-tree --terse --show-types \
			--no-summary -q -f "$f" 2>&1) || true
		bad=()
		while IFS= read -r finding; do
			[ -n "$finding" ] || continue
			# file:line: LEVEL:TYPE: message
			file=${finding%%:*}
			line=$(cut -d: -f2 <<<"$finding")
			type=$(sed -n 's/^[^:]*:[0-9]*: [A-Z]*:\([A-Z0-9_]*\):.*/\1/p' <<<"$finding")
			if [ -f "$exceptions" ] && [ -n "$type" ] &&
			   excepted "$file" "$line" "$type"; then
				echo "  excepted: $finding"
				continue
			fi
			bad+=("$finding")
		done <<<"$out"
		if [ ${#bad[@]} -eq 0 ]; then
			pass "checkpatch $f"
		else
			printf '  %s\n' "${bad[@]}"
			fail "checkpatch $f"
		fi
	done
}

# --- kernel-doc ------------------------------------------------------------

run_kernel_doc_warnings() {
	local f out
	for f in "${files[@]}"; do
		out=$("$kdoc" -none -Wall "$f" 2>&1) || true
		if [ -z "$out" ]; then
			pass "kernel-doc -Wall $f"
		else
			sed 's/^/  /' <<<"$out"
			fail "kernel-doc -Wall $f"
		fi
	done
}

# The documented names in kernel-doc's RST for ARGS.
documented() {
	"$kdoc" -rst -sphinx-version 5.3.0 "$@" 2>/dev/null |
		sed -n -e 's/^\.\. c:\(struct\|union\|enum\|type\|macro\):: \([A-Za-z_0-9]*\).*/\2/p' \
		       -e 's/^\.\. c:function:: [^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\) (.*/\1/p' || true
}

# The API of a public header: the types it defines, and the inline
# functions, function-like macros and prototypes that users call. Names
# starting with _ are internal, and so are the class_*() helpers that
# DEFINE_CLASS() expects.
header_api() {
	sed -n \
	    -e 's/^\(struct\|union\|enum\) \([A-Za-z_0-9]*\) {.*/type \2/p' \
	    -e 's/^typedef .*[^A-Za-z_0-9]\([A-Za-z_0-9]*\);$/type \1/p' \
	    -e 's/^static \(inline\|__always_inline\) [^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/inline \2/p' \
	    -e 's/^#define \([A-Za-z_0-9]*\)(.*/macro \1/p' \
	    -e '/^\(static\|typedef\|struct\|union\|enum\|#\|extern [a-z_]* [a-z_]*;\)/!s/^[a-z][^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/proto \1/p' \
	    "$1" | grep -v -e ' _' -e ' class_' | LC_ALL=C sort -u || true
}

# commented_key FILE NAME: FILE defines the static key NAME right below a
# comment.
commented_key() {
	awk -v name="$2" '
		$0 ~ ("^DEFINE_STATIC_KEY_(TRUE|FALSE)\\(" name "\\);") && prev ~ /\*\/$/ { ok = 1 }
		{ prev = $0 }
		END { exit !ok }' "$1"
}

run_kernel_doc_coverage() {
	local f name kind exported_docs="" h_docs missing
	local -A exported=()
	# Every exported function, wherever it is, has its comment.
	for f in $(grep -l '^EXPORT_SYMBOL' "${files[@]}" 2>/dev/null | grep '\.c$'); do
		exported_docs+=" $(documented -export "$f" | tr '\n' ' ') "
		missing=()
		for name in $(sed -n 's/^EXPORT_SYMBOL\(_GPL\)\?(\([A-Za-z_0-9]*\));.*/\2/p' "$f"); do
			exported[$name]=1
			[[ $exported_docs == *" $name "* ]] && continue
			# kernel-doc has no syntax for data: an exported static
			# key needs a plain comment right above its definition.
			commented_key "$f" "$name" || missing+=("$name")
		done
		if [ ${#missing[@]} -eq 0 ]; then
			pass "kernel-doc on every export of $f"
		else
			echo "  exported without a kernel-doc comment: ${missing[*]}"
			fail "kernel-doc on every export of $f"
		fi
	done
	# Every API item of a public header is documented: types, inlines and
	# macros in the header itself, functions where they are exported.
	for f in include/*.h; do
		h_docs=" $(documented "$f" | tr '\n' ' ') "
		missing=()
		while read -r kind name; do
			[ -n "$name" ] || continue
			case $kind in
			proto)
				if [ -z "${exported[$name]:-}" ]; then
					missing+=("$name(declared, exported by no source file)")
				elif [[ $exported_docs != *" $name "* ]]; then
					missing+=("$name()")
				fi
				;;
			*)
				[[ $h_docs == *" $name "* ]] || missing+=("$name($kind)")
				;;
			esac
		done < <(header_api "$f")
		if [ ${#missing[@]} -eq 0 ]; then
			pass "kernel-doc on the whole API of $f"
		else
			echo "  undocumented: ${missing[*]}"
			fail "kernel-doc on the whole API of $f"
		fi
	done
}

run_docs_check() {
	if (cd "$EXR_ROOT" && scripts/docs.sh --check) >"$work/docs.log" 2>&1; then
		pass "docs/ex_rundown.rst up to date"
	else
		sed 's/^/  /' "$work/docs.log"
		fail "docs/ex_rundown.rst up to date (run make docs)"
	fi
}

# --- W=1 and sparse builds ---------------------------------------------------

# judge RC LOG NAME: make succeeded and compiler, sparse and modpost said
# nothing. Sparse reports both "warning:" and "error:".
judge() {
	local rc=$1 logf=$2 name=$3 re='(warning|error|WARNING|ERROR):'
	if [ "$rc" -eq 0 ] && ! grep -Eq "$re" "$logf"; then
		pass "$name"
		return
	fi
	# Each finding once, with paths relative to the tree, however many
	# files include the header it is in.
	{
		grep -E "$re" "$logf"
		[ "$rc" -eq 0 ] || grep -F '***' "$logf"
	} | sed "s|$work/build/[^/]*/||g" | awk '!seen[$0]++' | head -n 40 | sed 's/^/  /'
	fail "$name"
}

run_builds() {
	local rel kdir dir rc
	for rel in $(kernel_releases); do
		kdir=$(kdir_for "$rel")
		[ -d "$kdir" ] || die "no headers for $rel (scripts/deps.sh build)"
		dir=$work/build/$rel
		mkdir -p "$dir"
		cp -a "$work/tree/." "$dir/"
		rc=0
		make -C "$kdir" M="$dir" W=1 C=2 modules >"$dir/build.log" 2>&1 || rc=$?
		judge $rc "$dir/build.log" "W=1 C=2 build, $rel"
		rc=0
		make -C "$dir/examples/consumer" KDIR="$kdir" EX_RUNDOWN="$dir" \
			W=1 C=2 >"$dir/consumer.log" 2>&1 || rc=$?
		judge $rc "$dir/consumer.log" "W=1 C=2 build of examples/consumer, $rel"
	done
}

# --- Coccinelle --------------------------------------------------------------

run_coccicheck() {
	local dir=$work/cocci finding file line bad
	mkdir -p "$dir"
	cp -a "$work/tree/." "$dir/"
	# The kernel's .cocciconfig asks for git grep, which finds no file
	# outside a git tree; coccigrep filters the files without git.
	make -C "$ktree" coccicheck MODE=report M="$dir" J=2 \
		SPFLAGS="--use-coccigrep -I $dir/include" >"$work/cocci.log" 2>&1 ||
		echo "coccicheck failed (exit $?)" >>"$work/cocci.log"
	# Findings read "FILE:LINE:COLUMNS: message".
	bad=()
	while IFS= read -r finding; do
		file=${finding%%:*}
		line=$(cut -d: -f2 <<<"$finding")
		if [ -f "$exceptions" ] && [[ $line =~ ^[0-9]+$ ]] &&
		   excepted "$file" "$line" coccinelle; then
			echo "  excepted: $finding"
			continue
		fi
		bad+=("$finding")
	done < <(grep -e "^$dir/" -e '^coccicheck failed' "$work/cocci.log" | sed "s|^$dir/||")
	if [ ${#bad[@]} -gt 0 ]; then
		printf '  %s\n' "${bad[@]}"
		fail "coccicheck"
	elif ! grep -q 'scripts/coccinelle/.*\.cocci' "$work/cocci.log"; then
		echo "  no semantic patch ran (log: $work/cocci.log)"
		fail "coccicheck"
	else
		pass "coccicheck ($(grep -c 'scripts/coccinelle/.*\.cocci' "$work/cocci.log") semantic patches)"
	fi
}

phase "checkpatch" run_checkpatch
phase "kernel-doc warnings" run_kernel_doc_warnings
phase "kernel-doc coverage" run_kernel_doc_coverage
phase "docs up to date" run_docs_check
phase "W=1 and sparse builds" run_builds
phase "coccicheck" run_coccicheck

echo "RESULT lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
