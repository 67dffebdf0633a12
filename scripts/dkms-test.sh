#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The install, DKMS and Debian package test, against each Debian kernel's
# headers:
#  1. make install (a copy of the tree): modprobe resolves ex_rundown,
#     examples/consumer builds against /usr/src/ex_rundown/REL, the man
#     pages; make uninstall leaves nothing behind. make install DESTDIR=
#     and make uninstall DESTDIR= too.
#  2. dkms add, build, install and remove --all of the source tree, in
#     scratch DKMS trees; modinfo, and Module.symvers exporting the API,
#     also in the per-release place.
#  3. make deb; dpkg -i (DKMS builds the module for each kernel); the man
#     pages; examples/consumer built against the installed copy, and as a
#     DKMS package of its own (BUILD_DEPENDS on ex_rundown), and loaded
#     beside it in QEMU; dpkg --purge, which must leave nothing behind.
# Root: make install, dpkg and DKMS write to /usr/src, /usr/local/share/man,
# /var/lib/dkms and /lib/modules. The machine is left as it was found, on
# failure too (trap).
#
#   scripts/dkms-test.sh [--no-qemu]   ends "RESULT dkms: N passed, N failed"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

use_qemu=1
[ "${1:-}" != --no-qemu ] || use_qemu=0
[ "$(id -u)" -eq 0 ] || die "dkms-test.sh installs a package: run it as root"
"$EXR_ROOT/scripts/deps.sh" pkg
[ $use_qemu = 0 ] || "$EXR_ROOT/scripts/deps.sh" qemu
# The machine is shared, whatever the cache: one run at a time.
exec 8>/run/lock/ex_rundown-dkms-test.lock
flock -w 3600 8 || die "another dkms-test.sh is running"

version=$(cat "$EXR_ROOT/VERSION")
mapfile -t rels < <(kernel_releases)
pkg=ex-rundown-dkms
arch=$(uname -m)
man_pages=(ex_rundown_acquire ex_rundown_pcpu_acquire)
work=$EXR_CACHE/dkms-test
rm -rf "$work"
mkdir -p "$work"

installed() { dpkg-query -W -f='${db:Status-Status}' $pkg 2>/dev/null | grep -qv '^not-installed$'; }

# What DKMS and depmod may add outside the package: depmod's files in
# /lib/modules/REL and the signing key made by the first signed build.
snapshot() {
	local rel
	for rel in "${rels[@]}"; do find "/lib/modules/$rel" -maxdepth 1 2>/dev/null; done
	ls /var/lib/dkms/mok.key /var/lib/dkms/mok.pub 2>/dev/null || true
}

leftovers() {
	ls -d /usr/src/ex_rundown-* /usr/src/ex_rundown /var/lib/dkms/ex_rundown \
		/usr/src/exr_consumer-* /var/lib/dkms/exr_consumer /usr/share/man/man9/ex_rundown_* \
		/usr/local/share/man/man9/ex_rundown_* /usr/share/doc/$pkg 2>/dev/null
	find /lib/modules -name 'ex_rundown.ko*' -o -name 'exr_consumer.ko*'
	! installed || echo "$pkg is installed"
}

# A package left by an earlier run that was killed: this test owns it.
! installed || { log "purging $pkg left by an earlier run"; dpkg --purge $pkg >/dev/null; }
snapshot | sort >"$work/before"

restore() {
	set +e
	! installed || dpkg --purge $pkg >"$work/restore.log" 2>&1
	[ ! -d /var/lib/dkms/ex_rundown ] ||
		dkms remove -m ex_rundown -v "$version" --all >>"$work/restore.log" 2>&1
	[ ! -d /var/lib/dkms/exr_consumer ] ||
		dkms remove -m exr_consumer -v 1.0 --all >>"$work/restore.log" 2>&1
	rm -rf /var/lib/dkms/ex_rundown /var/lib/dkms/exr_consumer /usr/src/exr_consumer-1.0
	installed || rm -rf "/usr/src/ex_rundown-$version"
	rm -rf /usr/src/ex_rundown /usr/local/share/man/man9/ex_rundown_*
	for rel in "${rels[@]}"; do
		rm -f "/lib/modules/$rel/updates/dkms/ex_rundown.ko"* "/lib/modules/$rel/updates/dkms/exr_consumer.ko"* \
			"/lib/modules/$rel/updates/ex_rundown.ko"*
		rmdir "/lib/modules/$rel/updates/dkms" "/lib/modules/$rel/updates" 2>/dev/null
	done
	snapshot | sort | comm -13 "$work/before" - | xargs -r rm -rf
	set -e
}
finished=0
trap 'restore; [ $finished = 1 ] || { not_ok "dkms-test.sh stopped early"; results dkms; }' EXIT
trap 'exit 130' INT TERM

# quiet CMD...: CMD's output, shown only if it fails.
quiet() {
	local out
	out=$("$@" 2>&1) || { sed 's/^/  /' <<<"$out" | tail -n 30; return 1; }
}

# installed_ko REL [ROOT]: the module DKMS installed for REL under ROOT.
installed_ko() { find "${2:-/lib/modules}/$1/updates" -name 'ex_rundown.ko*' 2>/dev/null | head -n 1; }

# plain KO OUT: KO uncompressed (6.12 installs .ko.xz, others zstd or gzip).
plain() { case $1 in *.xz) xz -dc ;; *.zst) zstd -qdc ;; *.gz) gzip -dc ;; *) cat ;; esac <"$1" >"$2"; }

modinfo_ok() {
	[ "$(modinfo -F version "$1")" = "$version" ] && [ "$(modinfo -F license "$1")" = GPL ] &&
		[ -n "$(modinfo -F description "$1")" ] && [ -n "$(modinfo -F author "$1")" ] ||
		{ modinfo "$1"; return 1; }
}

# symvers_ok SYMVERS KO: SYMVERS has the ex_rundown module export each
# function the headers declare, and each symbol that KO exports.
symvers_ok() {
	local name bad=0 syms
	plain "$2" "$work/plain.ko"
	# A module nm cannot read would leave the second half checking nothing.
	# (Not nm | grep -q: under pipefail, nm's SIGPIPE would fail the test.)
	syms=$(nm "$work/plain.ko") && grep -q ' __ksymtab_ex_rundown_' <<<"$syms" ||
		{ echo "no __ksymtab_ex_rundown_* in $2"; return 1; }
	for name in $(sed -n '/^\(static\|typedef\|struct\|union\|enum\|#\|extern\)/!s/^[a-z][^(]*[^A-Za-z_0-9(]\([A-Za-z_0-9]*\)(.*/\1/p' \
			"$EXR_ROOT"/include/*.h) \
		    $(sed -n 's/.* __ksymtab_\([A-Za-z_0-9]*\)$/\1/p' <<<"$syms"); do
		awk -v n="$name" '$2 == n && $3 ~ /(^|\/)ex_rundown$/ { f = 1 } END { exit !f }' "$1" ||
			{ echo "$name: not exported by ex_rundown in $1"; bad=1; }
	done
	return $bad
}

# 1. The source tree into scratch trees, unsigned: a signed build makes
# /var/lib/dkms/mok.key, outside them (the package test signs).
from_source() {
	local rel ko trees=(--dkmstree "$work/dkms" --sourcetree "$work/usr-src")
	local -x sign_file=/nonexistent EX_RUNDOWN_PLACE_ROOT=$work/place
	trees+=(--installtree "$work/lib-modules")
	mkdir -p "$work/dkms" "$work/usr-src"
	copy_tree "$work/source"
	expect "dkms add (source tree)" quiet dkms add "$work/source" "${trees[@]}"
	for rel in "${rels[@]}"; do
		mkdir -p "$work/lib-modules/$rel"
		expect "dkms build -k $rel" quiet dkms build -m ex_rundown -v "$version" -k "$rel" "${trees[@]}"
		expect "dkms install -k $rel" quiet \
			dkms install -m ex_rundown -v "$version" -k "$rel" --no-depmod "${trees[@]}"
		ko=$(installed_ko "$rel" "$work/lib-modules")
		expect "installed under updates/, with version, description, license, author ($rel)" \
			quiet modinfo_ok "$ko"
		expect "Module.symvers lists the API ($rel)" quiet symvers_ok \
			"$work/dkms/ex_rundown/$version/$rel/$arch/Module.symvers" "$ko"
		expect "dkms install puts the headers and Module.symvers in place/$rel" \
			quiet place_ok "$work/place/$rel" "$ko"
	done
	expect "dkms remove --all" quiet dkms remove -m ex_rundown -v "$version" --all --no-depmod "${trees[@]}"
	expect "dkms remove leaves no module, no registration and nothing in place/" test -z \
		"$(find "$work/lib-modules" -name 'ex_rundown.ko*'; dkms status -m ex_rundown "${trees[@]}"
		   ls -A "$work/place" 2>/dev/null)"
}

# place_ok DIR KO: DIR (a /usr/src/ex_rundown/REL) has the headers, a
# Module.symvers that lists KO's exports, and a MANIFEST that lists them.
place_ok() {
	local h
	for h in "$EXR_ROOT"/include/*.h; do
		cmp "$h" "$1/include/${h##*/}" || return 1
	done
	symvers_ok "$1/Module.symvers" "$2" || return 1
	for h in MANIFEST Module.symvers include/ex_rundown.h include/ex_rundown_pcpu.h include/ex_rundown_module.h; do
		grep -qxF "$1/$h" "$1/MANIFEST" || { echo "MANIFEST lacks $1/$h:"; cat "$1/MANIFEST"; return 1; }
	done
}

# 1. make install and make uninstall, from a copy of the tree.
# resolves REL: modprobe finds ex_rundown in updates/ of REL.
resolves() {
	modprobe -S "$1" --show-depends ex_rundown | tee /dev/stderr |
		grep -qx "insmod /lib/modules/$1/updates/ex_rundown.ko.*"
}
make_install() {
	local rel dir src=$work/install-src dest=$work/destdir man=/usr/local/share/man/man9
	copy_tree "$src"
	for rel in "${rels[@]}"; do
		expect "make install KDIR=$rel" quiet make -C "$src" KDIR="/usr/src/linux-headers-$rel" install
		expect "modprobe resolves ex_rundown for $rel (depmod ran)" quiet resolves "$rel"
		expect "headers, Module.symvers and MANIFEST in /usr/src/ex_rundown/$rel" \
			quiet place_ok "/usr/src/ex_rundown/$rel" "$(installed_ko "$rel")"
		expect "only ex_rundown.ko installed for $rel" test "$(find "/lib/modules/$rel/updates" -name '*.ko*' |
			sed 's|.*/||; s|\.ko.*||')" = ex_rundown
		dir=$work/install-consumer-$rel
		expect "examples/consumer builds against /usr/src/ex_rundown/$rel" \
			quiet build_consumer "$dir" -C "$dir" KDIR="/usr/src/linux-headers-$rel" EX_RUNDOWN="/usr/src/ex_rundown/$rel"
	done
	expect "man 9 ex_rundown_acquire, ex_rundown_pcpu_acquire from $man" quiet man_ok "$man"
	for rel in "${rels[@]}"; do
		expect "make uninstall KDIR=$rel" quiet make -C "$src" KDIR="/usr/src/linux-headers-$rel" uninstall
		expect "modprobe no longer finds ex_rundown for $rel" bash -c "! modprobe -S $rel --show-depends ex_rundown 2>/dev/null"
	done
	expect "make uninstall leaves nothing behind" test -z "$(leftovers)"
	rel=${rels[0]}
	expect "make install DESTDIR=... says what depmod to run" quiet bash -c \
		"make -C '$src' KDIR=/usr/src/linux-headers-$rel DESTDIR='$dest' install 2>&1 | tee /dev/stderr | grep -q 'run: depmod -a $rel'"
	expect "make install DESTDIR=... writes only under DESTDIR" quiet bash -c \
		"test -f '$dest/usr/src/ex_rundown/$rel/MANIFEST' && test -z \"\$(ls -d /usr/src/ex_rundown 2>/dev/null)\""
	expect "make uninstall DESTDIR=... leaves DESTDIR without a file" quiet bash -c \
		"make -C '$src' KDIR=/usr/src/linux-headers-$rel DESTDIR='$dest' uninstall && test -z \"\$(find '$dest' -type f)\""
}

# 2. The Debian package, installed for real.
deb_contents_ok() {
	local listing p
	listing=$(dpkg-deb -c "$1" | awk '{print $6}')
	for p in $(cd "$EXR_ROOT" && printf "usr/src/ex_rundown-$version/%s\n" \
			dkms.conf VERSION scripts/dkms-post-build.sh include/*.h) \
		 $(printf 'usr/share/man/man9/%s.9.gz\n' "${man_pages[@]}"); do
		grep -qxF "./$p" <<<"$listing" || { echo "missing $p"; return 1; }
	done
	dpkg-deb --ctrl-tarfile "$1" | tar -xO ./postinst | grep common.postinst >/dev/null ||
		{ echo "postinst does not call DKMS"; return 1; }
	dpkg-deb --ctrl-tarfile "$1" | tar -xO ./prerm | grep 'dkms remove' >/dev/null ||
		{ echo "prerm does not call dkms remove"; return 1; }
}

dkms_installed_ok() {
	local ko
	ko=$(installed_ko "$1")
	[ -n "$ko" ] || { echo "no ex_rundown.ko under /lib/modules/$1/updates"; return 1; }
	dkms status -m ex_rundown -v "$version" -k "$1" | grep ': installed' || { dkms status; return 1; }
	modinfo_ok "$ko"
}

# man_ok [DIR]: the API's man pages, from DIR (/usr/share/man/man9).
man_ok() {
	local p
	for p in "${man_pages[@]}"; do
		# realpath: /usr/local/man is /usr/local/share/man on Debian.
		[[ $(realpath "$(man -w 9 "$p")") == "$(realpath "${1:-/usr/share/man/man9}")"/* ]] &&
			MANPAGER=cat MANWIDTH=80 man 9 "$p" 2>&1 | grep "$p - " || return 1
	done
}

# consumer_ok REL DIR: examples/consumer built in DIR against the installed
# copy, as the README says.
consumer_ok() {
	build_consumer "$2" -C "$2" KDIR="/lib/modules/$1/build" EX_RUNDOWN="/usr/src/ex_rundown/$1" &&
		[ "$(modinfo -F depends "$2/exr_consumer.ko")" = ex_rundown ]
}

# dkms_consumer REL DIR: examples/consumer as a DKMS package, installed for
# REL; its module copied (uncompressed) to DIR/exr_consumer.ko.
dkms_consumer() {
	local ko
	dkms install -m exr_consumer -v 1.0 -k "$1" &&
		ko=$(find "/lib/modules/$1/updates" -name 'exr_consumer.ko*' | head -n 1) && [ -n "$ko" ] &&
		[ "$(modinfo -F depends "$ko")" = ex_rundown ] && mkdir -p "$2" && plain "$ko" "$2/exr_consumer.ko"
}

# qemu_load REL DIR: scripts/qemu-load-test.sh of the installed module and DIR's consumer.
qemu_load() {
	plain "$(installed_ko "$1")" "$2/ex_rundown.ko"
	"$EXR_ROOT/scripts/qemu-load-test.sh" "$1" "$2/ex_rundown.ko" "$2/exr_consumer.ko" 2>&1 |
		sed 's/^/    /'
}

package() {
	local deb rel dir
	deb=$("$EXR_ROOT/scripts/deb.sh" "$work/deb" 2>"$work/deb.log" | tail -n 1) && [ -f "$deb" ] ||
		{ tail -n 20 "$work/deb.log"; not_ok "make deb"; return 0; }
	ok "make deb ($(basename "$deb"))"
	expect "package holds the sources, headers, man pages and DKMS scripts" \
		quiet deb_contents_ok "$deb"
	log "dpkg -i: DKMS builds ex_rundown for ${rels[*]}"
	expect "dpkg -i $(basename "$deb")" quiet dpkg -i "$deb"
	for rel in "${rels[@]}"; do
		expect "built and installed by DKMS for $rel" quiet dkms_installed_ok "$rel"
		expect "Module.symvers of the installed module lists the API ($rel)" quiet symvers_ok \
			"/var/lib/dkms/ex_rundown/$version/$rel/$arch/Module.symvers" "$(installed_ko "$rel")"
	done
	expect "man 9 ex_rundown_acquire, ex_rundown_pcpu_acquire" quiet man_ok
	for rel in "${rels[@]}"; do
		expect "DKMS put the headers and Module.symvers in /usr/src/ex_rundown/$rel" \
			quiet place_ok "/usr/src/ex_rundown/$rel" "$(installed_ko "$rel")"
		expect "examples/consumer builds against the installed copy ($rel)" \
			quiet consumer_ok "$rel" "$work/consumer-$rel"
	done
	cp -r "$EXR_ROOT/examples/consumer" "$work/consumer-src"
	expect "dkms add examples/consumer (BUILD_DEPENDS=ex_rundown)" quiet dkms add "$work/consumer-src"
	for rel in "${rels[@]}"; do
		dir=$work/dkms-consumer-$rel
		expect "DKMS builds and installs examples/consumer for $rel" quiet dkms_consumer "$rel" "$dir"
		[ $use_qemu = 1 ] && [ -f "$dir/exr_consumer.ko" ] || continue
		expect "QEMU $rel: the installed ex_rundown.ko and the DKMS-built consumer load and pass" \
			qemu_load "$rel" "$dir"
	done
	expect "dkms remove exr_consumer --all" quiet dkms remove -m exr_consumer -v 1.0 --all
	rm -rf /usr/src/exr_consumer-1.0
	expect "dpkg --purge $pkg" quiet dpkg --purge $pkg
	expect "purge leaves nothing of the package behind" test -z "$(leftovers)"
}

phase "make install and make uninstall" make_install
phase "dkms from the source tree (scratch trees)" from_source
phase "Debian package" package
restore
expect "machine as before the test" test -z "$(leftovers; snapshot | sort | diff "$work/before" -)"
finished=1
results dkms
