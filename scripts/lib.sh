# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers for the ex_rundown scripts: sourced, not run.
#
# Every long step goes through phase(), so that a person watching `make check`
# or `make demo` sees what is happening and how long each part took.

EXR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Downloaded kernels, the scratch kernel tree and build dirs live here; it is
# outside the source tree so `git clean` keeps it and CI starts it empty.
EXR_CACHE=${EXR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ex_rundown}

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# phase NAME CMD...: run CMD, announcing NAME and reporting the time taken.
phase() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s)
	log "==> $name"
	"$@"
	rc=$?
	log "<== $name: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $(( $(date +%s) - t0 ))s"
	return $rc
}

# The kernels the project builds against: KDIR's alone if it is set (any
# kernel's build dir: no root, no apt), otherwise the Debian kernels it also
# boots, the release each metapackage depends on (6.1 through
# linux-headers-amd64, 6.12 through linux-headers-6.12-amd64).
kernel_release() {
	apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(.*\)$/\1/p' | grep -v common | head -n 1
}

kernel_releases() {
	local m r
	if [ -n "${KDIR:-}" ]; then
		cat "$KDIR/include/config/kernel.release" || die "KDIR=$KDIR is not a kernel build dir"
		return
	fi
	for m in linux-headers-amd64 linux-headers-6.12-amd64; do
		r=$(kernel_release "$m")
		[ -n "$r" ] || die "cannot resolve $m (run scripts/deps.sh first)"
		echo "$r"
	done
}

kdir_for() { echo "${KDIR:-/usr/src/linux-headers-$1}"; }

# The kernel source tree that kunit.py, checkpatch.pl, kernel-doc and the
# memory model come from: KSRC if set (any tree, 6.12 or later), otherwise
# the linux-source-6.12 tarball unpacked once into the cache; the tree under
# /usr/src is never touched. Prints the tree's path.
kernel_source_tree() {
	local tarball tree
	[ -z "${KSRC:-}" ] || { echo "$KSRC"; return; }
	tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || die "no linux-source-6.12 tarball under /usr/src (scripts/deps.sh kunit)"
	tree=$EXR_CACHE/linux-source-6.12
	if [ ! -e "$tree/.exr-unpacked" ] || [ "$tarball" -nt "$tree/.exr-unpacked" ]; then
		rm -rf "$tree" "$tree.tmp"
		mkdir -p "$tree.tmp"
		tar -xf "$tarball" -C "$tree.tmp" --strip-components=1 >&2
		mv "$tree.tmp" "$tree"
		touch "$tree/.exr-unpacked"
	fi
	echo "$tree"
}

# kunit_graft TREE BUILD_DIR: link this checkout into the cached kernel TREE
# as drivers/ex_rundown, for kunit.py (scripts/kunit.sh, lockdep-test.sh).
# Idempotent: the cached tree is reused by every run and every variant, and
# CI may run from another checkout, so the link is re-pointed each time but
# each line is added only once. flock: variants may be started in parallel.
kunit_graft() {
	local tree=$1 build_dir=$2
	local kconfig_line='source "drivers/ex_rundown/Kconfig"'
	local make_line='obj-y += ex_rundown/'

	exec 9>"$tree/.exr-graft.lock"
	flock 9
	ln -sfn "$EXR_ROOT" "$tree/drivers/ex_rundown"
	grep -qxF "$kconfig_line" "$tree/drivers/Kconfig" ||
		printf '\n%s\n' "$kconfig_line" >>"$tree/drivers/Kconfig"
	grep -qxF "$make_line" "$tree/drivers/Makefile" ||
		printf '\n%s\n' "$make_line" >>"$tree/drivers/Makefile"
	flock -u 9
	exec 9>&-

	# Make decides what to rebuild from timestamps, which say nothing when
	# the link now points at another checkout: rebuild our objects then.
	mkdir -p "$build_dir"
	if [ "$(cat "$build_dir/.exr-root" 2>/dev/null)" != "$EXR_ROOT" ]; then
		rm -rf "$build_dir/drivers/ex_rundown"
		echo "$EXR_ROOT" >"$build_dir/.exr-root"
	fi
}

# One vocabulary for results, the kernel's KTAP: every check prints
# "ok N what" or "not ok N what", and a layer ends with the line
# "RESULT <layer>: N passed, N failed" that scripts/check.sh adds up.
EXR_PASSED=0
EXR_FAILED=0
ok() {
	EXR_PASSED=$((EXR_PASSED + 1))
	echo "ok $((EXR_PASSED + EXR_FAILED)) $*"
}
not_ok() {
	EXR_FAILED=$((EXR_FAILED + 1))
	echo "not ok $((EXR_PASSED + EXR_FAILED)) $*"
}
# expect WHAT CMD...: one check, ok if CMD succeeds.
expect() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# results LAYER: the closing line; fails if a check failed or none passed.
results() {
	echo "RESULT $1: $EXR_PASSED passed, $EXR_FAILED failed"
	[ "$EXR_FAILED" -eq 0 ] && [ "$EXR_PASSED" -gt 0 ]
}

# What "the kernel complained" means, for every layer that reads a kernel
# log: complaints LOG prints the lines (and succeeds) if there are any.
# Expected reports (a test's own WARN_ONCE) are for the caller to filter.
EXR_COMPLAINT_RE='BUG:|Oops|WARNING:|Kernel panic|kernel BUG at|general protection fault|KASAN:|UBSAN:|KCSAN:|INFO: (possible|trying to register)|blocked for more than|soft lockup|hard LOCKUP|rcu: .*stall|refcount_t:|list_del corruption'
complaints() { grep -E "$EXR_COMPLAINT_RE" "$1"; }

# modules_for RELEASE: the directory of every module of the project built
# W=1 against RELEASE's headers (KDIR's if set), in a copy of the tree of
# its own (an M= build writes beside its sources, and each kernel needs its
# own); fails on any compiler or modpost warning. Built once per state of
# the sources and of the headers' config: the layers share that build.
modules_for() (
	kdir=$(kdir_for "$1") out=$EXR_CACHE/build/$1
	[ -d "$kdir" ] || die "no headers for $1 at $kdir (scripts/deps.sh build)"
	stamp=$( (tree_files | (cd "$EXR_ROOT" && xargs -0 sha1sum); sha1sum "$kdir/.config" 2>/dev/null) |
		sha1sum | cut -c1-40)
	if [ "$(cat "$out/.exr-built" 2>/dev/null)" != "$stamp" ]; then
		# From scratch: an incremental build would not recompile, and so
		# not repeat the warnings of, a file that warned before.
		rm -rf "$out" && copy_tree "$out" || exit
		make -C "$kdir" M="$out" W=1 modules >"$out/build.log" 2>&1 || {
			grep -E 'error|Error' "$out/build.log" | head -n 20 >&2
			die "build against $1 failed (log: $out/build.log)"
		}
		! grep -E 'warning:|WARNING:' "$out/build.log" >&2 ||
			die "build against $1 warns (log: $out/build.log)"
		echo "$stamp" >"$out/.exr-built"
	fi
	echo "$out"
)

# result_of LOG RC: the counts of LOG's last `RESULT <layer>: N passed, N
# failed` line, printed as "PASSED FAILED"; a run that exited non-zero
# (RC) without counting a failure counts one, and one with no RESULT line
# counts nothing passed.
result_of() {
	local p f
	read -r p f < <(sed -nE 's/^RESULT [^:]+: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$1" |
		tail -n 1)
	[ "$2" -eq 0 ] || [ "${f:-0}" -ne 0 ] || f=1
	echo "${p:-0} ${f:-0}"
}

# tree_files: the files of this checkout, NUL-separated and relative to it:
# what git tracks and new files it does not ignore (every file outside git),
# but not a tracked file deleted from the working tree, which git still
# lists. copy_tree DEST: those files copied into DEST, for builds that write
# beside their sources (M=, coccicheck) and must not write in the checkout.
tree_files() {
	(cd "$EXR_ROOT" && { git ls-files -co --exclude-standard -z 2>/dev/null ||
		find . -path ./.git -prune -o -type f -print0; } |
		while IFS= read -r -d '' f; do [ ! -e "$f" ] || printf '%s\0' "$f"; done)
}
copy_tree() {
	mkdir -p "$1"
	tree_files | (cd "$EXR_ROOT" && xargs -0 cp --parents -t "$1")
}
