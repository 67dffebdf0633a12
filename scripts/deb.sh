#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the Debian package ex-rundown-dkms, laid out as Debian's own *-dkms
# packages are (dh_dkms): the module's source, headers included, under
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
stage=$EXR_CACHE/deb/ex-rundown-$version
rm -rf "$EXR_CACHE/deb"
mkdir -p "$stage"

# The sources as a clone holds them, less what only the developers use:
# DKMS builds the top-level Kbuild, whatever directories it names.
cd "$EXR_ROOT"
{
	git ls-files -co --exclude-standard | grep -v -E '^(\.|packaging/|docs/|examples/|out/|scripts/)'
	echo scripts/dkms-post-build.sh
} | xargs cp --parents -t "$stage"
cp -r packaging/debian "$stage/debian"
# Each top-level entry goes to /usr/src/ex_rundown-VERSION (debian/rules
# sets EXR_SRC_DIR).
for f in $(cd "$stage" && ls -A); do
	[ "$f" = debian ] || printf '%s\t${env:EXR_SRC_DIR}/\n' "$f"
done >"$stage/debian/ex-rundown-dkms.install"
echo README.md >"$stage/debian/ex-rundown-dkms.docs"

# A date that changes with the sources only, so that two builds of the same
# tree give the same package (dpkg-buildpackage derives SOURCE_DATE_EPOCH
# from the changelog).
cat >"$stage/debian/changelog" <<EOF
ex-rundown ($version-1) unstable; urgency=medium

  * Built from the ex_rundown source tree at $(git rev-parse --short HEAD).

 -- The ex_rundown developers <ex-rundown@example.org>  $(git log -1 --format=%cD)
EOF

phase "man pages" "$EXR_ROOT/scripts/docs.sh" --man-only --man-dir "$stage/man" >&2
logf=$EXR_CACHE/deb/build.log
phase "dpkg-buildpackage" bash -c 'cd "$1" && dpkg-buildpackage --build=binary --no-sign -j2 >"$2" 2>&1' \
	_ "$stage" "$logf" >&2 || { tail -n 30 "$logf" >&2; die "dpkg-buildpackage failed (log: $logf)"; }
mkdir -p "$outdir"
cp "$EXR_CACHE/deb/ex-rundown-dkms_${version}-1_all.deb" "$outdir/"
log "built $outdir/ex-rundown-dkms_${version}-1_all.deb" >&2
echo "$outdir/ex-rundown-dkms_${version}-1_all.deb"
