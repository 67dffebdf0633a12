#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# DKMS and Debian package test, against the headers of each Debian kernel
# (6.1 and 6.12).
#
#  1. From the source tree, into scratch DKMS trees (--dkmstree,
#     --sourcetree, --installtree): dkms add, dkms build -k REL, dkms
#     install -k REL, dkms remove --all. The module must carry VERSION,
#     description, license and author, and Module.symvers every function
#     the header declares.
#  2. For real: make deb, dpkg -i (its postinst has DKMS build and install
#     the module for every kernel with headers), ex_rundown.ko under
#     /lib/modules/REL/updates, man 9 ex_rundown_acquire; examples/consumer
#     built against the installed copy, then loaded beside the installed
#     ex_rundown.ko in QEMU where its checks must all pass; dpkg --purge,
#     after which nothing of the package may be left.
#
# It leaves the machine as it found it, also on failure (trap): no package,
# no DKMS registration, no module or depmod output under /lib/modules, no
# DKMS signing key that was not there before. Needs root.
#
#   scripts/dkms-test.sh [--no-qemu]  ends "RESULT dkms: N passed, N failed"
set -euo pipefail
. "$(dirname "$0")/qemu.sh"

use_qemu=1
case ${1:-} in
--no-qemu) use_qemu=0 ;;
'') ;;
*) die "usage: $0 [--no-qemu]" ;;
esac

[ "$(id -u)" -eq 0 ] || die "dkms-test.sh installs a package: run it as root"
"$EXR_ROOT/scripts/deps.sh" pkg
[ $use_qemu = 0 ] || "$EXR_ROOT/scripts/deps.sh" qemu

mkdir -p "$EXR_CACHE"
exec 8>"$EXR_CACHE/dkms-test.lock"
flock -n 8 || die "another dkms-test.sh is running"

version=$(cat "$EXR_ROOT/VERSION")
mapfile -t rels < <(kernel_releases)
pkg=ex-rundown-dkms
arch=$(uname -m)
work=$EXR_CACHE/dkms-test
rm -rf "$work"
mkdir -p "$work"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# check NAME CMD...: one test case; CMD's output is shown only on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		[ -z "$out" ] || sed 's/^/  /' <<<"$out" | tail -n 30
		fail "$name"
	fi
}

# --- leaving the machine clean -------------------------------------------

# What dkms and depmod may add outside the package's own files: depmod's
# output in /lib/modules/REL (6.1 ships headers only, so none is there
# before) and the DKMS module signing key, made on the first signed build.
for rel in "${rels[@]}"; do
	ls -A "/lib/modules/$rel" >"$work/before.$rel" 2>/dev/null || true
done
mok_before=()
for f in /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
	[ -e "$f" ] && mok_before+=("$f")
done

installed_state() {
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | awk '{print $3}'
}

# A package left by an earlier run that was killed: this test owns it.
if [ -n "$(installed_state)" ] && [ "$(installed_state)" != not-installed ]; then
	log "purging $pkg left by an earlier run"
	dpkg --purge "$pkg" >/dev/null
fi

restore_machine() {
	local rel f
	set +e
	if [ -n "$(installed_state)" ] && [ "$(installed_state)" != not-installed ]; then
		dpkg --purge "$pkg" >"$work/cleanup-purge.log" 2>&1
	fi
	if [ -d /var/lib/dkms/ex_rundown ]; then
		dkms remove -m ex_rundown -v "$version" --all >/dev/null 2>&1
		rm -rf /var/lib/dkms/ex_rundown
	fi
	[ -n "$(installed_state)" ] && [ "$(installed_state)" != not-installed ] ||
		rm -rf "/usr/src/ex_rundown-$version"
	for rel in "${rels[@]}"; do
		rm -f "/lib/modules/$rel/updates/dkms/ex_rundown.ko"*
		rmdir "/lib/modules/$rel/updates/dkms" "/lib/modules/$rel/updates" 2>/dev/null
		[ -f "$work/before.$rel" ] || continue
		for f in $(ls -A "/lib/modules/$rel" 2>/dev/null); do
			grep -qxF "$f" "$work/before.$rel" || rm -rf "/lib/modules/$rel/$f"
		done
	done
	for f in /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
		[[ " ${mok_before[*]} " == *" $f "* ]] || rm -f "$f"
	done
	set -e
}
# An unexpected exit still cleans up and still ends with a RESULT line.
result_printed=0
on_exit() {
	restore_machine
	if [ $result_printed = 0 ]; then
		echo "FAIL dkms-test.sh stopped early"
		echo "RESULT dkms: $passed passed, $((failed + 1)) failed"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# The machine as it was: the last check, after restore_machine.
machine_clean() {
	local rel bad=0
	[ "$(installed_state)" = not-installed ] || [ -z "$(installed_state)" ] ||
		{ echo "$pkg is $(installed_state)"; bad=1; }
	[ ! -e /var/lib/dkms/ex_rundown ] || { echo "/var/lib/dkms/ex_rundown left"; bad=1; }
	[ ! -e "/usr/src/ex_rundown-$version" ] || { echo "/usr/src/ex_rundown-$version left"; bad=1; }
	for rel in "${rels[@]}"; do
		if find "/lib/modules/$rel/" -name 'ex_rundown.ko*' | grep .; then bad=1; fi
		if ! diff <(ls -A "/lib/modules/$rel") "$work/before.$rel"; then
			echo "/lib/modules/$rel differs from before the test"
			bad=1
		fi
	done
	for f in /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
		if [ -e "$f" ] && [[ " ${mok_before[*]} " != *" $f "* ]]; then
			echo "$f left"
			bad=1
		fi
	done
	return $bad
}

# --- helpers -------------------------------------------------------------

# The functions include/ex_rundown.h declares: what users link against.
header_functions() {
	sed -n '/^\(static\|typedef\|struct\|union\|enum\|#\|extern\)/!s/^[a-z][^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/\1/p' \
		"$EXR_ROOT/include/ex_rundown.h" | LC_ALL=C sort -u
}

# uncompressed KO OUT: the module as a plain .ko (6.12 installs .ko.xz).
uncompressed() {
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# modinfo_ok KO: the fields the issue names, and the version from VERSION.
modinfo_ok() {
	local ko=$1 field v
	v=$(modinfo -F version "$ko")
	[ "$v" = "$version" ] || { echo "version '$v', VERSION says '$version'"; return 1; }
	for field in description license author; do
		[ -n "$(modinfo -F "$field" "$ko")" ] || { echo "no $field"; return 1; }
	done
	[ "$(modinfo -F license "$ko")" = GPL ] || { echo "license $(modinfo -F license "$ko")"; return 1; }
}

# symvers_ok SYMVERS KO: every function of the header is exported by the
# ex_rundown module in SYMVERS, and so is every symbol the .ko exports.
symvers_ok() {
	local symvers=$1 ko=$2 name bad=0 plain
	[ -f "$symvers" ] || { echo "no $symvers"; return 1; }
	plain=$work/symvers-check.ko
	uncompressed "$ko" "$plain"
	for name in $(header_functions) $(nm "$plain" | sed -n 's/.* __ksymtab_\([A-Za-z_0-9]*\)$/\1/p'); do
		awk -v n="$name" '$2 == n && $3 ~ /(^|\/)ex_rundown$/ { f = 1 } END { exit !f }' "$symvers" ||
			{ echo "$name: not exported by ex_rundown in $symvers"; bad=1; }
	done
	return $bad
}

# installed_ko REL [ROOT]: the installed module of REL under ROOT.
installed_ko() {
	find "${2:-/lib/modules}/$1/updates" -name 'ex_rundown.ko*' 2>/dev/null | head -n 1 || true
}

# --- 1. dkms from the source tree, in scratch trees ----------------------

trees=(--dkmstree "$work/dkms" --sourcetree "$work/usr-src" --installtree "$work/lib-modules")
# No signing here: a signed build makes /var/lib/dkms/mok.key, outside the
# scratch trees. The package test below signs, as a user's machine would.
unsigned() { sign_file=/nonexistent "$@"; }

phase_source_tree() {
	local src=$work/source rel ko
	mkdir -p "$src" "$work/dkms" "$work/usr-src"
	# The tracked and new files: what a clone of the repository holds.
	(cd "$EXR_ROOT" && git ls-files -co --exclude-standard -z 2>/dev/null ||
		find . -path ./.git -prune -o -path ./out -prune -o -type f -print0) |
		(cd "$EXR_ROOT" && xargs -0 cp --parents -t "$src")

	check "dkms add (source tree)" unsigned dkms add "$src" "${trees[@]}"
	for rel in "${rels[@]}"; do
		mkdir -p "$work/lib-modules/$rel"
		check "dkms build -k $rel" \
			unsigned dkms build -m ex_rundown -v "$version" -k "$rel" "${trees[@]}"
		check "dkms install -k $rel" \
			unsigned dkms install -m ex_rundown -v "$version" -k "$rel" \
			--no-depmod "${trees[@]}"
		ko=$(installed_ko "$rel" "$work/lib-modules")
		check "installed under updates/ for $rel" test -n "$ko"
		[ -n "$ko" ] || continue
		check "modinfo version/description/license/author, $rel" modinfo_ok "$ko"
		check "Module.symvers lists the API, $rel" symvers_ok \
			"$work/dkms/ex_rundown/$version/$rel/$arch/Module.symvers" "$ko"
	done
	check "dkms remove --all" \
		unsigned dkms remove -m ex_rundown -v "$version" --all --no-depmod "${trees[@]}"
	check "dkms remove leaves no module and no registration" bash -c '
		! find "$1" -name "ex_rundown.ko*" | grep . &&
		! dkms status -m ex_rundown "${@:2}" | grep .' _ \
		"$work/lib-modules" "${trees[@]}"
}

# --- 2. the Debian package ----------------------------------------------

deb_contents_ok() {
	local deb=$1 listing p
	listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
	for p in "./usr/src/ex_rundown-$version/dkms.conf" \
		 "./usr/src/ex_rundown-$version/VERSION" \
		 "./usr/src/ex_rundown-$version/include/ex_rundown.h" \
		 "./usr/share/man/man9/ex_rundown_acquire.9.gz"; do
		grep -qxF "$p" <<<"$listing" || { echo "missing $p"; return 1; }
	done
	dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q common.postinst ||
		{ echo "postinst does not call DKMS"; return 1; }
	dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./prerm | grep -q 'dkms remove' ||
		{ echo "prerm does not call dkms remove"; return 1; }
}

dkms_installed_ok() {
	local rel=$1 ko
	ko=$(installed_ko "$rel")
	[ -n "$ko" ] || { echo "no ex_rundown.ko under /lib/modules/$rel/updates"; return 1; }
	echo "$ko"
	dkms status -m ex_rundown -v "$version" -k "$rel" | grep -q ': installed' ||
		{ dkms status; return 1; }
	modinfo_ok "$ko"
}

man_ok() {
	local page
	page=$(man -w 9 ex_rundown_acquire) || return 1
	[[ $page == /usr/share/man/man9/* ]] || { echo "found $page"; return 1; }
	MANPAGER=cat MANWIDTH=80 man 9 ex_rundown_acquire 2>&1 | grep -q 'ex_rundown_acquire - ' ||
		{ echo "man 9 ex_rundown_acquire does not render"; return 1; }
}

# build_consumer REL DIR: examples/consumer against the installed copy.
build_consumer() {
	local rel=$1 dir=$2
	rm -rf "$dir"
	cp -r "$EXR_ROOT/examples/consumer" "$dir"
	make -C "$dir" KDIR="/lib/modules/$rel/build" \
		EX_RUNDOWN="/usr/src/ex_rundown-$version" \
		EX_RUNDOWN_SYMVERS="/var/lib/dkms/ex_rundown/$version/$rel/$arch/Module.symvers" \
		>"$dir/build.log" 2>&1 || { cat "$dir/build.log"; return 1; }
	if grep -E 'warning:|WARNING:' "$dir/build.log"; then return 1; fi
	[ "$(modinfo -F depends "$dir/exr_consumer.ko")" = ex_rundown ] ||
		{ echo "exr_consumer.ko does not depend on ex_rundown"; return 1; }
}

# qemu_consumer REL DIR: boot REL with the installed ex_rundown.ko and the
# consumer built against it; every check of the consumer must pass.
qemu_consumer() {
	local rel=$1 dir=$2 logf=$2/console.log n
	uncompressed "$(installed_ko "$rel")" "$dir/ex_rundown.ko" || return 1
	cat >"$dir/guest.sh" <<-'EOF'
	set -e
	insmod /mod/ex_rundown.ko
	insmod /mod/exr_consumer.ko
	rmmod exr_consumer
	rmmod ex_rundown
	echo "dkms-test: both modules loaded and unloaded"
	EOF
	make_initramfs "$dir/initramfs.cpio.gz" "$dir/guest.sh" \
		"$dir/ex_rundown.ko" "$dir/exr_consumer.ko" || return 1
	qemu_boot "$rel" "$dir/initramfs.cpio.gz" "$logf" 300 || true
	grep 'exr_consumer: ' "$logf" || true
	qemu_check_log "$logf" || { tail -n 20 "$logf"; return 1; }
	n=$(grep -c 'exr_consumer: PASS ' "$logf")
	if grep -q 'exr_consumer: FAIL ' "$logf" || [ "$n" -eq 0 ] ||
	   ! grep -q "exr_consumer: $n passed, 0 failed" "$logf" ||
	   ! grep -q 'dkms-test: both modules loaded and unloaded' "$logf"; then
		return 1
	fi
}

purged_clean() {
	local left
	[ "$(installed_state)" = not-installed ] || [ -z "$(installed_state)" ] ||
		{ echo "$pkg is $(installed_state)"; return 1; }
	left=$(ls -d /usr/src/ex_rundown-* /var/lib/dkms/ex_rundown \
		/usr/share/man/man9/ex_rundown_* /usr/share/doc/$pkg 2>/dev/null;
		find /lib/modules -name 'ex_rundown.ko*' 2>/dev/null)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

phase_package() {
	local deb rel dir
	if ! deb=$("$EXR_ROOT/scripts/deb.sh" "$work/deb" 2>"$work/deb.log" | tail -n 1) ||
	   [ ! -f "$deb" ]; then
		tail -n 20 "$work/deb.log"
		fail "make deb"
		return 0
	fi
	pass "make deb ($(basename "$deb"))"
	check "package layout (sources, header, man pages, dkms maintainer scripts)" \
		deb_contents_ok "$deb"

	log "dpkg -i: DKMS builds ex_rundown for ${rels[*]}"
	check "dpkg -i $(basename "$deb")" env DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
	for rel in "${rels[@]}"; do
		check "built and installed by DKMS for $rel" dkms_installed_ok "$rel"
		check "Module.symvers of the installed module lists the API, $rel" symvers_ok \
			"/var/lib/dkms/ex_rundown/$version/$rel/$arch/Module.symvers" "$(installed_ko "$rel")"
	done
	check "man 9 ex_rundown_acquire" man_ok

	for rel in "${rels[@]}"; do
		dir=$work/consumer/$rel
		mkdir -p "$(dirname "$dir")"
		check "examples/consumer builds against the installed copy, $rel" \
			build_consumer "$rel" "$dir"
		[ $use_qemu = 1 ] && [ -f "$dir/exr_consumer.ko" ] || continue
		# Not through check(): the boot takes a while and reports progress.
		if phase "QEMU boot of $rel" qemu_consumer "$rel" "$dir"; then
			pass "QEMU $rel: installed ex_rundown.ko and the consumer load, all its checks pass"
		else
			fail "QEMU $rel: installed ex_rundown.ko and the consumer load, all its checks pass"
		fi
	done

	check "dpkg --purge $pkg" dpkg --purge "$pkg"
	check "purge leaves nothing of the package behind" purged_clean
}

phase "dkms from the source tree (scratch trees)" phase_source_tree
phase "Debian package" phase_package
restore_machine
check "machine as before the test" machine_clean

result_printed=1
echo "RESULT dkms: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
