#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the Debian package ex-rundown-dkms, laid out as Debian's own *-dkms
# packages are (dh_dkms): the module's source, header included, under
# /usr/src/ex_rundown-VERSION, a postinst that has DKMS build and install
# it for every kernel with headers, a prerm that removes it, and the API's
# man pages in /usr/share/man/man9.
#
#   scripts/deb.sh [OUTDIR]     (default OUTDIR: out/); prints the .deb's path
#
# The packaging lives in packaging/debian/; debian/changelog is written here
# from the VERSION file, so that the version stays written in one place.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

outdir=${1:-$EXR_ROOT/out}
"$EXR_ROOT/scripts/deps.sh" pkg >&2

version=$(cat "$EXR_ROOT/VERSION")
[[ $version =~ ^[0-9][0-9a-z.+~]*$ ]] || die "VERSION '$version' is not a Debian upstream version"
debver=$version-1

stage_root=$EXR_CACHE/deb
stage=$stage_root/ex-rundown-$version
rm -rf "$stage_root"
mkdir -p "$stage"

# The sources as they are in the work tree (tracked and new files, no build
# output), less what only the developers use: DKMS builds the top-level
# Kbuild, whatever modules and directories it names.
cd "$EXR_ROOT"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -co --exclude-standard
else
	find . -path ./.git -prune -o -path ./out -prune -o -type f -print | sed 's|^\./||'
fi | grep -v -E '^(\.|packaging/|docs/|examples/|out/|README)' |
	grep -v -E '^scripts/' >"$stage_root/files"
echo scripts/dkms-post-build.sh >>"$stage_root/files"
tr '\n' '\0' <"$stage_root/files" | xargs -0 cp --parents -t "$stage"
cp -r packaging/debian "$stage/debian"
# Every top-level entry goes to /usr/src/ex_rundown-VERSION (EXR_SRC_DIR is
# set by debian/rules).
for f in $(cd "$stage" && ls -A); do
	[ "$f" = debian ] || printf '%s\t${env:EXR_SRC_DIR}/\n' "$f"
done >"$stage/debian/ex-rundown-dkms.install"
[ -f README.md ] && echo README.md >"$stage/debian/ex-rundown-dkms.docs" &&
	cp README.md "$stage/"

# A date that changes with the sources only, so that two builds of the same
# tree give the same package (dpkg-buildpackage derives SOURCE_DATE_EPOCH
# from the changelog).
date=$(git log -1 --format=%cD 2>/dev/null || date -R -r VERSION)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >"$stage/debian/changelog" <<EOF
ex-rundown ($debver) unstable; urgency=medium

  * Built from the ex_rundown source tree at $rev.

 -- The ex_rundown developers <ex-rundown@example.org>  $date
EOF

phase "man pages" "$EXR_ROOT/scripts/docs.sh" --man-only --man-dir "$stage/man" >&2

logf=$stage_root/build.log
if ! phase "dpkg-buildpackage" bash -c \
	'cd "$1" && dpkg-buildpackage --build=binary --no-sign -j2 >"$2" 2>&1' \
	_ "$stage" "$logf" >&2; then
	tail -n 30 "$logf" >&2
	die "dpkg-buildpackage failed (log: $logf)"
fi
deb=$stage_root/ex-rundown-dkms_${debver}_all.deb
[ -f "$deb" ] || die "no $deb after the build (log: $logf)"

mkdir -p "$outdir"
cp "$deb" "$outdir/"
log "built $outdir/$(basename "$deb")" >&2
echo "$outdir/$(basename "$deb")"
