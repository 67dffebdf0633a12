#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make install and make uninstall: ex_rundown.ko for one kernel release, and
# what a module that uses it is built against, in one place per release.
#
#   scripts/install.sh install   [KDIR=...] [DESTDIR=...] [MANDIR=...]
#   scripts/install.sh uninstall [KDIR=...] [DESTDIR=...]
#
# RELEASE is the kernel release of KDIR (/lib/modules/$(uname -r)/build).
# install writes, under DESTDIR:
#   /lib/modules/RELEASE/updates/ex_rundown.ko    (by the kernel's
#                       modules_install: compressed or signed as it does)
#   /usr/src/ex_rundown/RELEASE/include/ex_rundown.h, ex_rundown_pcpu.h,
#                       ex_rundown_module.h
#   /usr/src/ex_rundown/RELEASE/Module.symvers
#                       where a module that uses ex_rundown is built against
#                       it: make EX_RUNDOWN=/usr/src/ex_rundown/RELEASE; the
#                       DKMS package puts the same files there
#   MANDIR/man9/*.9     the API's man pages (MANDIR: /usr/local/share/man),
#                       docs/man9 of the tree: no kernel source is needed
#   /usr/src/ex_rundown/RELEASE/MANIFEST    every file above
# then runs depmod -a RELEASE, so that modprobe finds the module; with
# DESTDIR it does not, and says what to run once the files are in place.
# uninstall removes what MANIFEST lists (a man page only when no other
# release's MANIFEST lists it too), then runs depmod again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n 's/^#   scripts/usage: scripts/p' "$0" >&2; exit 2; }
[ $# -eq 1 ] || usage
action=$1
kdir=${KDIR:-/lib/modules/$(uname -r)/build}
destdir=${DESTDIR:-}
mandir=${MANDIR:-/usr/local/share/man}
# The release the module's vermagic names and modules_install installs for;
# Debian's 6.1 headers have another (6.1.N) in include/config/kernel.release.
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null)
[ -n "$rel" ] || die "KDIR=$kdir is not a prepared kernel build tree (no include/generated/utsrelease.h)"
place=/usr/src/ex_rundown/$rel
manifest=$destdir$place/MANIFEST

# Every module of the Kbuild but the library is for developers.
lib_only=(CONFIG_EX_RUNDOWN_DEMO= CONFIG_EX_RUNDOWN_BENCH= CONFIG_EX_RUNDOWN_TORTURE=
	CONFIG_EX_RUNDOWN_KUNIT_TEST= CONFIG_EX_RUNDOWN_LOCKDEP_TEST=)

depmod_now() {
	if [ -n "$destdir" ]; then
		log "DESTDIR is set: once the files are in /, run: depmod -a $rel"
	else
		phase "depmod -a $rel" depmod -a "$rel"
	fi
}

do_install() {
	local f key log nosign
	[ ! -f "$manifest" ] || log "replacing the ex_rundown installed for $rel"
	phase "build ex_rundown.ko for $rel" make -s -C "$kdir" M="$EXR_ROOT" "${lib_only[@]}" modules
	grep -qx '\(.*/\)\?ex_rundown\.\(o\|ko\)' "$EXR_ROOT/modules.order" &&
		[ "$(wc -l <"$EXR_ROOT/modules.order")" = 1 ] ||
		die "modules.order names more than ex_rundown: $(tr '\n' ' ' <"$EXR_ROOT/modules.order")"
	rm -f "$destdir/lib/modules/$rel/updates/ex_rundown.ko"*
	# Signed as the kernel's modules_install signs, if KDIR has the key;
	# distributions' headers do not, and sign-file would only complain.
	key=$(sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$/\1/p' "$kdir/.config" 2>/dev/null || true)
	nosign=()
	if grep -qs '^CONFIG_MODULE_SIG_ALL=y' "$kdir/.config" && [ ! -f "$kdir/$key" ] && [ ! -f "$key" ]; then
		log "not signing ex_rundown.ko: $kdir has no signing key ($key)"
		nosign=(CONFIG_MODULE_SIG_ALL=)
	fi
	# depmod comes after, from us: the kernel's skips it without System.map.
	log=$(mktemp)
	phase "modules_install into $destdir/lib/modules/$rel/updates" \
		make -s -C "$kdir" M="$EXR_ROOT" "${lib_only[@]}" "${nosign[@]}" INSTALL_MOD_DIR=updates \
		${destdir:+INSTALL_MOD_PATH="$destdir"} DEPMOD=/bin/true modules_install >"$log" 2>&1 ||
		{ cat "$log"; rm -f "$log"; die "modules_install failed"; }
	rm -f "$log"
	install -d "$destdir$place/include" "$destdir$mandir/man9"
	install -m 644 "$EXR_ROOT"/include/*.h "$destdir$place/include/"
	install -m 644 "$EXR_ROOT/Module.symvers" "$destdir$place/Module.symvers"
	install -m 644 "$EXR_ROOT"/docs/man9/*.9 "$destdir$mandir/man9/"
	{
		find "$destdir/lib/modules/$rel/updates" -maxdepth 1 -name 'ex_rundown.ko*' 2>/dev/null
		find "$destdir$place" -type f ! -name MANIFEST
		for f in "$EXR_ROOT"/docs/man9/*.9; do echo "$destdir$mandir/man9/${f##*/}"; done
		echo "$manifest"
	} | sed "s|^$destdir||" | LC_ALL=C sort >"$manifest.tmp"
	grep -q "^/lib/modules/$rel/updates/ex_rundown\.ko" "$manifest.tmp" ||
		{ rm -f "$manifest.tmp"; die "modules_install put no ex_rundown.ko in $destdir/lib/modules/$rel/updates"; }
	mv "$manifest.tmp" "$manifest"
	log "installed $(wc -l <"$manifest") files for $rel (list: $manifest)"
	depmod_now
}

# Files of MANIFEST that no other release's MANIFEST lists.
own_files() {
	local others
	others=$(find "$destdir/usr/src/ex_rundown" -mindepth 2 -maxdepth 2 -name MANIFEST \
		! -path "$manifest" -exec cat {} + 2>/dev/null | sort -u)
	LC_ALL=C comm -23 "$manifest" <(LC_ALL=C sort <<<"$others")
}

do_uninstall() {
	local f n=0
	[ -f "$manifest" ] || die "nothing of ex_rundown is installed for $rel (no $manifest)"
	while read -r f; do
		case $f in
		/lib/modules/"$rel"/updates/ex_rundown.ko* | "$place"/* | */man9/*.9) ;;
		*) die "$manifest lists $f, which install never writes: not removing anything" ;;
		esac
	done <"$manifest"
	while read -r f; do
		rm -f "$destdir$f" && n=$((n + 1))
	done < <(own_files)
	rm -f "$manifest"
	rmdir "$destdir$place/include" "$destdir$place" "$destdir/usr/src/ex_rundown" \
		"$destdir/lib/modules/$rel/updates" 2>/dev/null || true
	log "removed $n files for $rel"
	depmod_now
}

case $action in
install) do_install ;;
uninstall) do_uninstall ;;
*) usage ;;
esac
