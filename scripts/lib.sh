# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the ex_rundown scripts, sourced. Every long step goes
# through phase(), so that `make check` shows what runs and for how long.

EXR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Outside the source tree, so that `git clean` keeps it and CI starts it empty.
EXR_CACHE=${EXR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ex_rundown}

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# phase NAME CMD...: run CMD, announcing NAME and reporting the time taken.
phase() {
	local t0=$SECONDS rc
	log "==> $1"
	"${@:2}"
	rc=$?
	log "<== $1: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - t0))s"
	return $rc
}

# The kernels the project builds against: KDIR's alone if set (no root, no
# apt), otherwise the Debian kernels it also boots, 6.1 and 6.12.
kernel_releases() {
	local m r
	if [ -n "${KDIR:-}" ]; then
		cat "$KDIR/include/config/kernel.release" || die "KDIR=$KDIR is not a kernel build dir"
		return
	fi
	for m in linux-headers-amd64 linux-headers-6.12-amd64; do
		r=$(apt-cache depends "$m" 2>/dev/null |
			sed -n 's/^ *Depends: linux-headers-\(.*\)$/\1/p' | grep -v common | head -n 1)
		[ -n "$r" ] || die "cannot resolve $m (run scripts/deps.sh first)"
		echo "$r"
	done
}

kdir_for() { echo "${KDIR:-/usr/src/linux-headers-$1}"; }

# in_root ROOT CMD...: CMD on this machine if ROOT is empty, else in the
# chroot ROOT (where paths are ROOT's own), in a clean environment (the
# host's locale or TMPDIR may not exist there: perl's locale warning would
# fail a W=1 build), with a /proc (objtool reads it) mounted for the time
# of CMD, under a lock. (Not in a mount namespace of its own: unshare
# cannot make one where this machine is itself a chroot.)
in_root() {
	[ -n "$1" ] || { "${@:2}"; return; }
	(
		flock -w 3600 8 || exit 1
		mountpoint -q "$1/proc" || mount -t proc proc "$1/proc" || exit 1
		chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "${@:2}"
		rc=$?
		umount "$1/proc"
		exit $rc
	) 8>"$1.proc.lock"
}

# chroot_apt ROOT ARG...: apt-get ARG... in chroot ROOT, logged in ROOT.log
# (the end of which is shown if it fails).
chroot_apt() {
	DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get -y -qq "${@:2}" >>"$1.log" 2>&1 ||
		{ tail -n 20 "$1.log" >&2; return 1; }
}

# Debian suites other than this machine's, each in a chroot: the kernel
# matrix builds there with the suite's own compiler, and its apt fetches
# what this machine's does not carry. The parts of the archive each reads
# (bullseye-backports has left it).
declare -A EXR_SUITE_LISTS=(
	[bullseye]='bullseye bullseye-security'
	[trixie]='trixie trixie-security trixie-backports'
)

# debian_mirror [security]: this machine's mirror (of the security archive
# if asked), Debian's own if it names none.
debian_mirror() {
	local m want=-v
	[ -z "${1:-}" ] || want=
	m=$( { sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources
		sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list; } 2>/dev/null |
		grep $want -e security | head -n 1)
	echo "${m:-http://deb.debian.org/debian${1:+-security}}"
}

# suite_root SUITE: a minimal chroot of SUITE with what an external module
# build needs (W=1 runs kernel-doc: perl, and python3 from 6.16), made once
# into the cache by debootstrap (root), under a lock; its package lists
# refreshed when an hour old, so that "newest" follows the archive.
suite_root() (
	suite=$1 root=$EXR_CACHE/chroots/$1 mirror=$(debian_mirror) pkgs='make gcc kmod perl python3'
	security=$(debian_mirror security)
	[ -n "${EXR_SUITE_LISTS[$suite]:-}" ] || die "no chroot for suite '$suite'"
	mkdir -p "$EXR_CACHE/chroots" && exec 9>"$root.lock" && flock -w 1800 9 || exit 1
	if [ ! -e "$root/.exr-ready" ]; then
		[ "$(id -u)" -eq 0 ] || die "making a $suite chroot needs root (debootstrap)"
		# A run killed inside in_root() may have left its /proc mounted.
		! mountpoint -q "$root/proc" || umount "$root/proc"
		rm -rf "$root"
		log "debootstrap $suite from $mirror (log: $root.log)" >&2
		debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
			{ tail -n 20 "$root.log" >&2; exit 1; }
		for l in ${EXR_SUITE_LISTS[$suite]}; do
			m=$mirror
			[[ $l != *-security ]] || m=$security
			echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m $l main"
		done >"$root/etc/apt/sources.list"
		chroot_apt "$root" update || exit 1
		touch "$root/.exr-ready" "$root/.exr-updated"
	elif [ -n "$(find "$root/.exr-updated" -mmin +60)" ] && [ "$(id -u)" -eq 0 ]; then
		chroot_apt "$root" update || exit 1
		touch "$root/.exr-updated"
	fi
	# What it holds follows this list, also in a chroot made before (an
	# empty .exr-ready: made, nothing installed yet).
	if [ "$(cat "$root/.exr-ready")" != "$pkgs" ]; then
		chroot_apt "$root" install --no-install-recommends $pkgs || exit 1
		echo "$pkgs" >"$root/.exr-ready"
	fi
	echo "$root"
)

# apt_download ROOT PKG: PKG's .deb into the current directory, by the apt
# of chroot ROOT, or of this machine if ROOT is empty.
apt_download() {
	local get=(timeout 900 apt-get download -q -o APT::Sandbox::User=root "$2") tmp rc
	[ -n "$1" ] || { "${get[@]}"; return; }
	tmp=$(mktemp -d "$1/var/tmp/exr-download.XXXXXX") || return
	chroot "$1" sh -c 'cd "$1" && shift && exec "$@"' - "${tmp#"$1"}" "${get[@]}" &&
		mv "$tmp"/*.deb .
	rc=$?
	rm -rf "$tmp"
	return $rc
}

# kernel_root REL: the suite chroot (scripts/matrix.sh) that has REL's
# headers, or nothing: REL is one of this machine's own kernels.
kernel_root() {
	local r
	[ -z "${KDIR:-}" ] || return 0
	for r in "$EXR_CACHE"/chroots/*/; do
		[ ! -d "${r}usr/src/linux-headers-$1" ] || { echo "${r%/}"; return 0; }
	done
}

# The tree of kunit.py, checkpatch.pl, kernel-doc and the LKMM: KSRC (6.12
# or later), else linux-source-6.12's tarball unpacked once into the cache.
kernel_source_tree() {
	local tarball
	[ -z "${KSRC:-}" ] || { echo "$KSRC"; return; }
	tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || die "no linux-source-6.12 tarball under /usr/src (scripts/deps.sh kunit)"
	unpack_source "$tarball" "$EXR_CACHE/linux-source-6.12"
}

# newest_source_tree: the newest linux-source-X.Y of the archive (trixie
# and its backports), fetched by the trixie chroot's apt (root) and
# unpacked, again only when the archive has a newer one.
newest_source_tree() {
	local root pkg ver tree dl
	root=$(suite_root trixie) || return
	# Its lists read from here: chroot would need root on every run.
	local q=(apt-cache -o Dir="$root" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
	pkg=$("${q[@]}" search --names-only '^linux-source-[0-9.]+$' | awk '{ print $1 }' |
		sort -V | tail -n 1)
	[ -n "$pkg" ] || die "no linux-source-X.Y in the trixie chroot's archive"
	ver=$("${q[@]}" show "$pkg" | sed -n 's/^Version: //p' | sort -V | tail -n 1)
	tree=$EXR_CACHE/$pkg
	if [ "$(cat "$tree/.exr-version" 2>/dev/null)" != "$ver" ]; then
		dl=$(mktemp -d "$EXR_CACHE/download.XXXXXX") &&
			(cd "$dl" && apt_download "$root" "$pkg" >&2 && dpkg -x ./"$pkg"_*.deb x) &&
			rm -f "$tree/.exr-unpacked" &&
			unpack_source "$dl/x/usr/src/$pkg.tar.xz" "$tree" >/dev/null &&
			echo "$ver" >"$tree/.exr-version" || { rm -rf "$dl"; die "cannot fetch $pkg $ver"; }
		rm -rf "$dl"
	fi
	echo "$tree"
}

# unpack_source TARBALL TREE: TREE, unpacked from TARBALL unless it was
# already from this one.
unpack_source() {
	local tarball=$1 tree=$2
	if [ ! -e "$tree/.exr-unpacked" ] || { [ -e "$tarball" ] && [ "$tarball" -nt "$tree/.exr-unpacked" ]; }; then
		rm -rf "$tree" "$tree.tmp"
		mkdir -p "$tree.tmp"
		tar -xf "$tarball" -C "$tree.tmp" --strip-components=1 >&2 || die "cannot unpack $tarball"
		mv "$tree.tmp" "$tree"
		touch "$tree/.exr-unpacked"
	fi
	echo "$tree"
}

# kunit_graft TREE BUILD_DIR: this checkout linked into TREE as
# drivers/ex_rundown, for kunit.py. All runs and checkouts share TREE: the
# link is re-pointed, each line added once, under a lock.
kunit_graft() {
	local tree=$1 build_dir=$2
	local kconfig_line='source "drivers/ex_rundown/Kconfig"' make_line='obj-y += ex_rundown/'

	exec 9>"$tree/.exr-graft.lock"
	flock 9
	ln -sfn "$EXR_ROOT" "$tree/drivers/ex_rundown"
	grep -qxF "$kconfig_line" "$tree/drivers/Kconfig" ||
		printf '\n%s\n' "$kconfig_line" >>"$tree/drivers/Kconfig"
	grep -qxF "$make_line" "$tree/drivers/Makefile" ||
		printf '\n%s\n' "$make_line" >>"$tree/drivers/Makefile"
	exec 9>&-

	# A build directory holds one kernel tree's objects: Kbuild would keep
	# those of another tree (KUNIT_SRC, or linux-source-6.12 for make
	# bench, which shares kunit's um directory), whose sources it no longer
	# sees change. Start afresh when the tree is not the last one.
	if [ -f "$build_dir/.exr-tree" ] && [ "$(cat "$build_dir/.exr-tree")" != "$tree" ]; then
		log "$build_dir was built from $(cat "$build_dir/.exr-tree"): building it afresh from $tree" >&2
		rm -rf "$build_dir"
	fi
	mkdir -p "$build_dir"
	echo "$tree" >"$build_dir/.exr-tree"
	# Make decides what to rebuild from timestamps, which say nothing when
	# the link now points at another checkout: rebuild our objects then.
	if [ "$(cat "$build_dir/.exr-root" 2>/dev/null)" != "$EXR_ROOT" ]; then
		rm -rf "$build_dir/drivers/ex_rundown"
		echo "$EXR_ROOT" >"$build_dir/.exr-root"
	fi
}

# kunit_py TREE ARG...: TREE's kunit.py, run in TREE.
kunit_py() { (cd "$1" && python3 tools/testing/kunit/kunit.py "${@:2}"); }

# Results in the kernel's KTAP form, "ok N what" or "not ok N what"; a layer
# ends with "RESULT <layer>: N passed, N failed", which check.sh adds up.
EXR_PASSED=0
EXR_FAILED=0
ok()     { EXR_PASSED=$((EXR_PASSED + 1)); echo "ok $((EXR_PASSED + EXR_FAILED)) $*"; }
not_ok() { EXR_FAILED=$((EXR_FAILED + 1)); echo "not ok $((EXR_PASSED + EXR_FAILED)) $*"; }
# expect WHAT CMD...: one check, ok if CMD succeeds.
expect() { if "${@:2}"; then ok "$1"; else not_ok "$1"; fi; }
# results LAYER: the closing line; fails if a check failed or none passed.
results() {
	echo "RESULT $1: $EXR_PASSED passed, $EXR_FAILED failed"
	[ "$EXR_FAILED" -eq 0 ] && [ "$EXR_PASSED" -gt 0 ]
}

# unexcused EXCEPTIONS [TYPE]: the findings on stdin ("FILE:LINE:...", FILE
# relative to the current directory) that EXCEPTIONS, a file in the form of
# scripts/lint-exceptions, does not excuse; TYPE, by default, is
# checkpatch's. Used by make lint on the sources and by the upstream layer
# on the series (with the exceptions in the tree's paths).
unexcused() {
	local file line rest type src ef et etext
	while IFS=: read -r file line rest; do
		[ -n "$file" ] || continue
		type=${2:-$(sed -n 's/^ [A-Z]*:\([A-Z0-9_]*\):.*/\1/p' <<<"$rest")}
		src=$(sed -n "${line}p" "$file" 2>/dev/null || true)
		while read -r ef et etext; do
			# shellcheck disable=SC2053 # $ef is a glob
			[[ $ef != '#'* && -n $etext && $file == $ef && $type == "$et" &&
			   $src == *"$etext"* ]] && { echo "  excepted: $file:$line:$rest" >&2; continue 2; }
		done <"$1"
		echo "$file:$line:$rest"
	done
}

# complaints LOG: the lines of a kernel log that say the kernel complained
# (fails if none); expected reports are for the caller to filter.
EXR_COMPLAINT_RE='BUG:|Oops|WARNING:|Kernel panic|kernel BUG at|general protection fault|KASAN:|UBSAN:|KCSAN:|INFO: (possible|trying to register)|blocked for more than|soft lockup|hard LOCKUP|rcu: .*stall|refcount_t:|list_del corruption'
complaints() { grep -E "$EXR_COMPLAINT_RE" "$1"; }

# kunit_count LOG RC WHAT: every leaf case of a kunit.py run (LOG its
# output, RC its exit status), as kunit.py's own KTAP parser judged them,
# added to the layer's counts; WHAT fails if none passed or kunit.py did.
kunit_count() {
	local summary k
	local -A n
	summary=$(grep -oE 'Ran [0-9]+ tests: .*' "$1" | tail -n 1)
	for k in passed failed crashed errors; do
		n[$k]=$(grep -oE "$k: [0-9]+" <<<"$summary" | grep -oE '[0-9]+' || echo 0)
	done
	EXR_PASSED=$((EXR_PASSED + n[passed]))
	EXR_FAILED=$((EXR_FAILED + n[failed] + n[crashed] + n[errors]))
	if [ "${n[passed]}" -eq 0 ] || [ "$2" -ne 0 ]; then
		grep -E '^\[[0-9:]+\] .*(FAILED|CRASHED|ERROR|rror)|^ERROR' "$1" | head -20
		not_ok "$3 (exit $2)"
	fi
	log "${summary:-no result}"
}

# kunit_all_suites LOG: each suite of kunit/ has a KTAP result in LOG.
kunit_all_suites() {
	local name missing=''
	for name in $(sed -n 's/^\t\.name = "\(ex_rundown[a-z_]*\)",$/\1/p' \
		"$EXR_ROOT"/kunit/ex_rundown_test_*.c "$EXR_ROOT"/kunit/ex_rundown_guard_test.c); do
		grep -Eq "ok [0-9]+ $name[[:space:]]*\$" "$1" || missing+=" $name"
	done
	[ -z "$missing" ] || { echo "no result from:$missing"; return 1; }
}

# kunit_log_clean DIR OURS: the kernel log of the kunit.py run in DIR, from
# the first test on (UML warns at boot about its PCI emulation having no
# device, which is none of our business), has no report but the misuse
# warnings the suite provokes from our sources (OURS, a regular expression
# of their paths), each at most once (WARN_ONCE).
kunit_log_clean() {
	local tests=$1/test-part.log bad dup
	# "WARNING: CPU: 0 PID: 94 at FILE:LINE func", from 7.x "WARNING: FILE:LINE at func".
	local ours="WARNING: (CPU: [0-9]+ PID: [0-9]+ at )?$2"

	sed -n '/K\{0,1\}TAP version/,$p' "$1/test.log" >"$tests" 2>/dev/null
	[ -s "$tests" ] || { echo "no test output in $1/test.log"; return 1; }
	bad=$(complaints "$tests" | grep -vE "$ours")
	[ -z "$bad" ] || { echo "$bad" | head -20; return 1; }
	dup=$(grep -E "$ours" "$tests" | grep -oE "$2:[0-9]+" | sort | uniq -d)
	[ -z "$dup" ] || { echo "warned more than once (not WARN_ONCE) at: $dup"; return 1; }
}

# modules_for RELEASE: the directory of the modules built W=1, without a
# warning, against RELEASE's headers (KDIR's if set) in a copy of the tree
# (M= writes beside the sources); once per state of sources and config. A
# kernel of another suite is built in that suite's chroot, by its compiler.
modules_for() (
	root=$(kernel_root "$1") kdir=$(kdir_for "$1") out=$EXR_CACHE/build/$1
	[ -z "$root" ] || out=$root/exr/build/$1
	[ -d "$root$kdir" ] || die "no headers for $1 at $root$kdir (scripts/deps.sh build)"
	stamp=$( (tree_files | (cd "$EXR_ROOT" && xargs -0 sha1sum); sha1sum "$root$kdir/.config" 2>/dev/null) |
		sha1sum | cut -c1-40)
	if [ "$(cat "$out/.exr-built" 2>/dev/null)" != "$stamp" ]; then
		# From scratch: an incremental build would not recompile, and so
		# not repeat the warnings of, a file that warned before.
		rm -rf "$out" && copy_tree "$out" || exit
		in_root "$root" make -C "$kdir" M="${out#"$root"}" W=1 modules >"$out/build.log" 2>&1 || {
			grep -E 'error|Error' "$out/build.log" | head -n 20 >&2
			die "build against $1 failed (log: $out/build.log)"
		}
		! grep -E 'warning:|WARNING:' "$out/build.log" >&2 ||
			die "build against $1 warns (log: $out/build.log)"
		echo "$stamp" >"$out/.exr-built"
	fi
	echo "$out"
)

# build_consumer DIR MAKE_ARG...: examples/consumer copied to DIR and built
# there by make MAKE_ARG... without a warning; the log is shown if not.
# EXR_IN_ROOT: a chroot to run make in, DIR being under it.
build_consumer() {
	rm -rf "$1" && cp -r "$EXR_ROOT/examples/consumer" "$1" || return
	in_root "${EXR_IN_ROOT:-}" make "${@:2}" >"$1/build.log" 2>&1 &&
		! grep -qE 'warning:|WARNING:' "$1/build.log" || { cat "$1/build.log"; return 1; }
}

# result_of LOG RC: "PASSED FAILED", the counts of LOG's last RESULT line;
# a run that exited non-zero (RC) without counting a failure counts one.
result_of() {
	local p f
	read -r p f < <(sed -nE 's/^RESULT [^:]+: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$1" |
		tail -n 1)
	[ "$2" -eq 0 ] || [ "${f:-0}" -ne 0 ] || f=1
	echo "${p:-0} ${f:-0}"
}

# tree_files: this checkout's files (what git tracks or would add, less
# files deleted; outside git, all), NUL-separated. copy_tree DEST copies
# them, for builds that write beside their sources (M=, coccicheck).
tree_files() {
	(cd "$EXR_ROOT" && { git ls-files -co --exclude-standard -z 2>/dev/null ||
		find . -path ./.git -prune -o -type f -print0; } |
		while IFS= read -r -d '' f; do [ ! -e "$f" ] || printf '%s\0' "$f"; done)
}
copy_tree() {
	mkdir -p "$1"
	tree_files | (cd "$EXR_ROOT" && xargs -0 cp --parents -t "$1")
}
