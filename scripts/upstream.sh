#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# ex_rundown as a patch series for the kernel tree, generated from this
# checkout's own sources (scripts/upstream-rewrite.py says how little
# changes), and the checks that it is one a maintainer could take.
#
#   scripts/upstream.sh [OUT]   write the series to OUT (default
#                               upstream/series), a git format-patch series
#                               with its cover letter (make upstream)
#   scripts/upstream.sh --check make check's layer: the series generated
#                               twice (the same both times), applied with
#                               git am to a clean tree, checkpatch --strict
#                               on each patch, the kernel built (UML, the
#                               new options on) at each patch, and the KUnit
#                               suite run in the patched tree by kunit.py
#
#   UPSTREAM_TREE=~/linux       against that tree (a git checkout: its HEAD;
#                               or any unpacked tree) instead of the newest
#                               linux-source in Debian's archive
#   UPSTREAM_AUTHOR='A <a@b>'   the author, Signed-off-by and maintainer of
#                               the series (default: no one, an orphan)
#
# The series is generated in a scratch git repository of the tree, under
# $EXR_CACHE/upstream/, with fixed dates (this checkout's last commit) and
# authors: the same sources give the same series, byte for byte.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

anonymous='The ex_rundown developers <nobody@invalid>'
author=${UPSTREAM_AUTHOR:-$anonymous}
[[ $author =~ ^[^\<\>]+\ \<[^\<\>@\ ]+@[^\<\>\ ]+\>$ ]] ||
	die "UPSTREAM_AUTHOR='$author' is not 'Name <address>'"
# The dates of the series: this checkout's last commit, else SOURCE_DATE_EPOCH.
date=$(git -C "$EXR_ROOT" log -1 --format=%cI 2>/dev/null) || date=''
[ -n "$date" ] || date=@${SOURCE_DATE_EPOCH:-0}

# The git of the scratch repository: nobody's configuration but ours.
sgit() {
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	GIT_AUTHOR_NAME=${author% <*} GIT_AUTHOR_EMAIL=${author##*<} \
	GIT_COMMITTER_NAME=${author% <*} GIT_COMMITTER_EMAIL=${author##*<} \
	GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date \
		git -C "$repo" -c core.autocrlf=false -c advice.detachedHead=false "$@"
}

# The patches: their messages, and the project's files each adds, as
# "PROJECT-PATH TREE-PATH".
msgs=("$EXR_ROOT"/upstream/[1-9]-*.msg)
files_1() {
	echo include/ex_rundown.h include/linux/ex_rundown.h
	echo include/trace/events/ex_rundown.h include/trace/events/ex_rundown.h
	echo src/ex_rundown_internal.h lib/ex_rundown_internal.h
	echo src/ex_rundown.c lib/ex_rundown.c
	echo src/ex_rundown_wait.c lib/ex_rundown_wait.c
	echo src/ex_rundown_debugfs.c lib/ex_rundown_debugfs.c
}
files_2() {
	echo include/ex_rundown_pcpu.h include/linux/ex_rundown_pcpu.h
	echo src/ex_rundown_pcpu.c lib/ex_rundown_pcpu.c
}
# The suites of ex_rundown_kunit.ko, as the Kbuild lists them.
kunit_objs() { sed -n 's/^ex_rundown_kunit-y [:+]= //p' "$EXR_ROOT/Kbuild" | tr ' ' '\n' | sed 's|^kunit/||'; }
files_3() {
	local o
	echo kunit/ex_rundown_test.h lib/tests/ex_rundown_test.h
	for o in $(kunit_objs); do echo "kunit/${o%.o}.c lib/tests/${o%.o}.c"; done
}
files_4() { echo src/ex_rundown_holders.c lib/ex_rundown_holders.c; }
files_5() { echo docs/guide.rst Documentation/core-api/ex_rundown.rst; }
# The litmus tests of the library, not those of the demo.
files_6() {
	local f
	for f in "$EXR_ROOT"/litmus/*.litmus; do
		f=${f##*/}
		[[ $f == demo-* ]] || echo "litmus/$f Documentation/litmus-tests/ex_rundown/$f"
	done
}

# Every file of the project is in the series or deliberately left out.
left_out_re='^(src/ex_rundown_main\.c|src/ex_rundown_compat\.h|include/ex_rundown_module\.h|kunit/ex_rundown_lockdep_test\.c|litmus/demo-.*)$'

# add_files N: patch N's files, rewritten, into the tree.
add_files() {
	local src dst
	while read -r src dst; do
		mkdir -p "$repo/$(dirname "$dst")"
		(cd "$EXR_ROOT" && python3 scripts/upstream-rewrite.py "$src") >"$repo/$dst" || return
		sgit add "$dst" || return
	done < <("files_$1")
}

# maintainers N: patch N's files under our MAINTAINERS section.
maintainers() {
	local m=() pats
	[ -z "${UPSTREAM_AUTHOR:-}" ] || m=("M:$author")
	mapfile -t pats < <("files_$1" | awk '{ print $2 }' | sed 's|^Documentation/litmus-tests/ex_rundown/.*|Documentation/litmus-tests/ex_rundown/|' | sort -u)
	python3 "$EXR_ROOT/scripts/upstream-edit.py" maintainers "$repo" "${m[@]}" "${pats[@]}"
}

edit() { python3 "$EXR_ROOT/scripts/upstream-edit.py" "$@"; }
kconfig() { (cd "$EXR_ROOT" && python3 scripts/upstream-rewrite.py --kconfig "$1"); }

# The tree edits of each patch, beyond its own files.
tree_edits() {
	local r=$repo
	case $1 in
	1)	kconfig EX_RUNDOWN | edit append "$r/lib/Kconfig" &&
		printf '%s\n' 'obj-$(CONFIG_EX_RUNDOWN) += ex_rundown.o ex_rundown_wait.o \' \
			'			ex_rundown_debugfs.o' | edit append "$r/lib/Makefile" ;;
	2)	sed -i 's/^\t\t\tex_rundown_debugfs.o$/& ex_rundown_pcpu.o/' "$r/lib/Makefile" &&
		grep -q ' ex_rundown_pcpu.o$' "$r/lib/Makefile" ;;
	3)	kconfig EX_RUNDOWN_KUNIT_TEST |
			edit kconfig-after "$r/lib/Kconfig.debug" LIST_PRIVATE_KUNIT_TEST &&
		{ echo 'obj-$(CONFIG_EX_RUNDOWN_KUNIT_TEST) += ex_rundown_kunit.o'
		  kunit_objs | awk '{ printf "%s%s", (NR == 1 ? "ex_rundown_kunit-y := " : " \\\n\t\t      "), $0 }
			END { print "" }'; } |
			edit append "$r/lib/tests/Makefile" &&
		(cd "$EXR_ROOT" && python3 scripts/upstream-rewrite.py --kunitconfig) \
			>"$r/lib/tests/ex_rundown.kunitconfig" ;;
	4)	kconfig EX_RUNDOWN_DEBUG_HOLDERS | edit kconfig-after "$r/lib/Kconfig.debug" DEBUG_RWSEMS &&
		echo 'obj-$(CONFIG_EX_RUNDOWN_DEBUG_HOLDERS) += ex_rundown_holders.o' |
			edit append "$r/lib/Makefile" ;;
	5)	edit toctree-after "$r/Documentation/core-api/index.rst" refcount-vs-atomic ex_rundown ;;
	6)	(cd "$EXR_ROOT" && python3 scripts/upstream-rewrite.py --litmus-readme) \
			>"$r/Documentation/litmus-tests/ex_rundown/README" &&
		printf '%s\n' '' 'ex_rundown (/ex_rundown directory)' '----------------------------------' '' \
			'Run-down protection (Documentation/core-api/ex_rundown.rst): a test' \
			'for each "Ordering:" line of its kernel-doc. See ex_rundown/README.' |
			edit append "$r/Documentation/litmus-tests/README" ;;
	esac
}

# The scratch repository of the tree, with the tree as commit "base".
# The default tree is shared (linux-source-X.Y in the cache): copied, less
# our marks and whatever an earlier graft of this project added.
prepare_repo() {
	local tree name stamp
	if [ -n "${UPSTREAM_TREE:-}" ]; then
		tree=$(realpath "$UPSTREAM_TREE") && [ -f "$tree/MAINTAINERS" ] && [ -d "$tree/lib" ] ||
			die "UPSTREAM_TREE=$UPSTREAM_TREE is not a kernel source tree"
		name=tree-$(echo "$tree" | sha1sum | cut -c1-8)
	else
		tree=$(newest_source_tree) || return
		name=${tree##*/}
	fi
	[ -d "$tree/lib/tests" ] || die "$tree has no lib/tests/ (Linux 6.14 or later wanted)"
	repo=$EXR_CACHE/upstream/$name
	if [ -d "$tree/.git" ]; then
		stamp="$tree $(git -C "$tree" rev-parse HEAD)"
	else
		stamp="$tree $(cat "$tree/.exr-version" 2>/dev/null || stat -c %Y "$tree/Makefile")"
	fi
	if [ "$(cat "$repo.base" 2>/dev/null)" != "$stamp" ]; then
		log "making $repo, a git repository of $tree"
		rm -rf "$repo" "$repo.base"
		mkdir -p "$EXR_CACHE/upstream"
		if [ -d "$tree/.git" ]; then
			git clone -q --shared --no-checkout "$tree" "$repo" &&
				sgit checkout -q --detach "$(git -C "$tree" rev-parse HEAD)" || return
		else
			cp -a "$tree" "$repo" || return
			rm -rf "$repo"/.exr-* "$repo/drivers/ex_rundown"
			sed -i '/^source "drivers\/ex_rundown\/Kconfig"$/d' "$repo/drivers/Kconfig"
			sed -i '/^obj-y += ex_rundown\/$/d' "$repo/drivers/Makefile"
			# Debian's linux-source ignores everything at the top level
			# ("/*"), new files under lib/ too: the kernel's own does not.
			sed -i '/^# Debian packaging: ignore everything at the top level/,/^!\/debian\/$/d' \
				"$repo/.gitignore"
			sgit init -q && sgit add -A -f && sgit commit -q -m "Linux $(make -s -C "$repo" kernelversion)" ||
				return
		fi
		sgit tag -f base >/dev/null || return
		echo "$stamp" >"$repo.base"
	fi
	sgit reset -q --hard && sgit clean -qfdx && sgit checkout -q --detach base
}

# generate OUT: the series, from base, into OUT.
generate() {
	local out=$1 n=0 msg exc
	sgit checkout -q -B exr-series base || return
	for msg in "${msgs[@]}"; do
		n=$((n + 1))
		add_files $n && tree_edits $n && maintainers $n && sgit add -A || {
			echo "patch $n: cannot apply its changes to the tree"
			return 1
		}
		{ cat "$msg"; printf '\nSigned-off-by: %s\n' "$author"; } | sgit commit -q -F - || return
	done
	# The cover letter, with the checkpatch findings the series lives with.
	exc=$(cd "$EXR_ROOT" && python3 scripts/upstream-rewrite.py --exceptions \
		$(sgit diff --name-only base exr-series)) || return
	sgit config branch.exr-series.description "$(awk -v exc="$exc" \
		'$0 == "@CHECKPATCH_EXCEPTIONS@" { print exc; next } { print }' \
		"$EXR_ROOT/upstream/cover-letter.txt")"
	rm -rf "$out" && mkdir -p "$out" &&
		sgit format-patch -q --no-signature --zero-commit --numbered --cover-letter \
			--subject-prefix='RFC PATCH' \
			--cover-from-description=subject -o "$out" base..exr-series
}

# Every file of the project that is code of the library, its headers, its
# suite or its documentation goes into the series, or is listed as left out.
everything_placed() {
	local f placed missing=''
	placed=$(for n in $(seq 1 ${#msgs[@]}); do "files_$n"; done | awk '{ print $1 }')
	for f in $(cd "$EXR_ROOT" && ls src/* include/*.h include/trace/events/* kunit/*.[ch] litmus/*.litmus docs/guide.rst); do
		grep -qxF "$f" <<<"$placed" || [[ $f =~ $left_out_re ]] || missing+=" $f"
	done
	[ -z "$missing" ] || { echo "neither in the series nor left out:$missing"; return 1; }
}

# --- make check's layer ---

series_reproducible() { diff -r "$1" "$2"; }

# applies SERIES: git am of the patches onto a clean base, without a
# whitespace error, gives the tree the generator committed.
applies() {
	sgit checkout -q -B exr-am base && sgit am -q --whitespace=error-all "$1"/000[1-9]-*.patch 2>&1 ||
		{ sgit am --abort; return 1; }
	[ "$(sgit rev-parse 'exr-am^{tree}')" = "$(sgit rev-parse 'exr-series^{tree}')" ] ||
		{ echo "the applied tree differs from the generated one"; return 1; }
}

# checkpatch PATCH: nothing from checkpatch --strict, in the tree the patch
# applies to, but what scripts/lint-exceptions accepts (the same unexcused()
# as make lint's, the exceptions in the tree's paths). Each finding ("PATCH:
# N: TYPE...", N a line of the patch) is first placed at its file and line
# in the applied tree, which unexcused() reads; one in the commit message
# keeps the patch's name, which nothing excuses. Debian's python3 first:
# spdxcheck.py wants its ply and git.
checkpatch() {
	local out rc found
	out=$(cd "$repo" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --terse --show-types "$1" 2>&1)
	rc=$?
	# 0: nothing found, 1: findings; anything else, checkpatch failed.
	[ $rc -le 1 ] || { echo "checkpatch failed (exit $rc):"; echo "$out"; return 1; }
	found=$(grep -v '^total: ' <<<"$out" | awk -v patch="$1" '
		# First the findings, then the patch: each of its added or kept
		# lines numbered in the file it is in.
		FILENAME == "-" {
			if (index($0, patch ":") != 1) { print; next }
			$0 = substr($0, length(patch) + 2)
			n = $0; sub(/:.*/, "", n); rest[n] = substr($0, length(n) + 2)
			next
		}
		/^\+\+\+ b\// { file = substr($0, 7); next }
		/^@@ / { split($3, c, ","); line = substr(c[1], 2) - 1; next }
		/^[+ ]/ { line++ }
		FNR in rest { print (file != "" && /^[+ ]/ ? file ":" line : patch ":" FNR) ":" rest[FNR] }
		' - "$1" | (cd "$repo" && unexcused "$exceptions"))
	[ -z "$found" ] || { echo "$found"; return 1; }
}

kunit_dir() { echo "$EXR_CACHE/kunit/upstream"; }
kmake() { make -C "$repo" ARCH=um O="$(kunit_dir)" -j2 "$@"; }

# builds N: the tree at patch N configured with every option the series
# has by then, built, and the patch's objects compiled W=1, without a
# warning from our files.
builds() {
	local n=$1 dir log opt objs=() src dst
	dir=$(kunit_dir) log=$(kunit_dir)/patch-$1.log
	sgit checkout -q "exr-am~$((${#msgs[@]} - n))" || return
	cp "$dir/exr-series.config" "$dir/.config" && kmake olddefconfig >"$log" 2>&1 || { tail "$log"; return 1; }
	for opt in $(sed -n 's/^config \(EX_RUNDOWN[A-Z_]*\)$/\1/p' "$repo"/lib/Kconfig*); do
		grep -q "^CONFIG_$opt=y" "$dir/.config" || { echo "CONFIG_$opt is not on at patch $n"; return 1; }
	done
	kmake >>"$log" 2>&1 || { grep -E 'error|Error' "$log" | head -20; return 1; }
	while read -r src dst; do
		[[ $dst == *.c ]] && objs+=("${dst%.c}.o")
	done < <("files_$n")
	[ ${#objs[@]} -eq 0 ] || kmake W=1 "${objs[@]}" >>"$log" 2>&1 || { tail -20 "$log"; return 1; }
	! grep -E '(lib/|lib/tests/|include/linux/|include/trace/events/)ex_rundown[^ ]*: (warning|error)' "$log" ||
		return 1
	for src in "${objs[@]}"; do [ -f "$dir/$src" ] || { echo "no $src"; return 1; }; done
}

# kernel_doc: every kernel-doc directive of the guide names a file whose
# comments kernel-doc reads without a warning.
kernel_doc() {
	local f out
	for f in $(sed -n 's/^\.\. kernel-doc:: //p' "$repo/Documentation/core-api/ex_rundown.rst"); do
		[ -f "$repo/$f" ] || { echo "no $f"; return 1; }
		out=$(cd "$repo" && ./scripts/kernel-doc -none -Wall "$f" 2>&1)
		[ -z "$out" ] || { echo "$out"; return 1; }
	done
}

# kunit_in_tree: kunit.py run in the patched tree, as a maintainer would.
kunit_in_tree() {
	local dir rc
	dir=$(kunit_dir)
	sgit checkout -q exr-am || return
	rm -f "$dir/test.log"
	(cd "$repo" && python3 tools/testing/kunit/kunit.py run --arch=um --build_dir="$dir" --jobs=2 \
		--kunitconfig=lib/tests/ex_rundown.kunitconfig) 2>&1 |
		tee "$dir/kunit.log" | grep --line-buffered -E '^\[[0-9:]+\] [A-Z]'
	rc=${PIPESTATUS[0]}
	kunit_count "$dir/kunit.log" "$rc" "in-tree KUnit suite (log $dir/kunit.log)"
	expect "in tree: every suite ran" kunit_all_suites "$dir/test.log"
	expect "in tree: kernel log clean" kunit_log_clean "$dir" 'lib/ex_rundown[a-z_]*\.c'
}

check() {
	local a b p n exceptions
	prepare_repo || die "cannot make a repository of the tree"
	log "base: $(sgit log -1 --format=%s base)"
	a=$(mktemp -d) b=$(mktemp -d)
	# shellcheck disable=SC2064 # the directories are known now
	trap "rm -rf '$a' '$b'" EXIT
	expect "every file of the library, suite and docs is in the series or left out" everything_placed
	# What follows needs the series, then the patched tree: stop without.
	if ! phase "generate the series" generate "$a/series"; then
		not_ok "the series is generated"
		return
	fi
	ok "the series is generated"
	expect "generated again, the series is the same byte for byte" \
		eval 'generate "$b/series" >/dev/null && series_reproducible "$a/series" "$b/series"'
	log "series: $(ls "$a/series" | tr '\n' ' ')"
	if ! applies "$a/series"; then
		not_ok "git am applies it to a clean tree"
		return
	fi
	ok "git am applies it to a clean tree"
	exceptions=$a/lint-exceptions
	(cd "$EXR_ROOT" && python3 scripts/upstream-rewrite.py --exceptions) >"$exceptions"
	for p in "$a"/series/0*-*.patch; do
		[[ $p == */0000-cover-letter.patch ]] ||
			expect "checkpatch --strict: ${p##*/}" checkpatch "$p"
	done
	mkdir -p "$(kunit_dir)"
	# Every option of the series on: the suite's and holder tracking.
	sgit checkout -q exr-am &&
		cp "$repo/lib/tests/ex_rundown.kunitconfig" "$(kunit_dir)/.kunitconfig" &&
		cat "$EXR_ROOT/kunit/holders.config" >>"$(kunit_dir)/.kunitconfig" &&
		(cd "$repo" && python3 tools/testing/kunit/kunit.py config --arch=um \
			--build_dir="$(kunit_dir)" --kunitconfig="$(kunit_dir)/.kunitconfig") >/dev/null &&
		cp "$(kunit_dir)/.config" "$(kunit_dir)/exr-series.config" || {
		not_ok "the build of the series is configured"
		return
	}
	for n in $(seq 1 ${#msgs[@]}); do
		phase "build at patch $n" expect "the kernel builds at patch $n, its objects W=1" builds "$n"
	done
	expect "kernel-doc of the guide's directives, without a warning" kernel_doc
	phase "kunit.py run in the patched tree" kunit_in_tree
}

command -v python3 >/dev/null || die "python3 missing (scripts/deps.sh upstream)"
# One run at a time: they share the scratch repository and build directory.
mkdir -p "$EXR_CACHE" && exec 7>"$EXR_CACHE/upstream.lock" || die "cannot lock $EXR_CACHE/upstream.lock"
flock 7
case ${1:-} in
--check)
	check
	results upstream ;;
-*)	die "usage: scripts/upstream.sh [OUT] | --check" ;;
*)	out=$(realpath -m "${1:-$EXR_ROOT/upstream/series}")
	phase "the tree" prepare_repo || die "cannot make a repository of the tree"
	everything_placed || exit 1
	phase "generate the series" generate "$out" || die "cannot generate the series"
	log "base: $(sgit log -1 --format=%s base)"
	log "the series, $(ls "$out" | wc -l) files, in $out:"
	ls "$out" ;;
esac
