#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the Debian package ex-rundown-dkms as Debian's own *-dkms packages
# are (dh_dkms, packaging/debian/): the sources under /usr/src/ex_rundown-VERSION,
# which DKMS builds for every kernel with headers, and the API's man pages.
#
#   scripts/deb.sh [OUTDIR]     (default OUTDIR: out/); prints the .deb's path
set -euo pipefail
. "$(dirname "$0")/lib.sh"

outdir=${1:-$EXR_ROOT/out}
"$EXR_ROOT/scripts/deps.sh" pkg >&2
version=$(cat "$EXR_ROOT/VERSION")
[[ $version =~ ^[0-9][0-9a-z.+~]*$ ]] || die "VERSION '$version' is not a Debian upstream version"
deb=ex-rundown-dkms_${version}-1_all.deb
stage=$EXR_CACHE/deb/ex-rundown-$version
rm -rf "$EXR_CACHE/deb"
mkdir -p "$stage"

# The sources as a clone holds them, less what only the developers use:
# DKMS builds the top-level Kbuild, whatever directories it names.
cd "$EXR_ROOT"
{
	git ls-files -co --exclude-standard | grep -v -E '^(\.|packaging/|docs/|examples/|out/|scripts/)'
	echo scripts/dkms-post-build.sh
	echo scripts/dkms-place.sh
} | xargs cp --parents -t "$stage"
cp -r packaging/debian "$stage/debian"
# Each top-level entry to /usr/src/ex_rundown-VERSION (EXR_SRC_DIR, debian/rules).
find "$stage" -mindepth 1 -maxdepth 1 ! -name debian -printf '%f\t${env:EXR_SRC_DIR}/\n' |
	sort >"$stage/debian/ex-rundown-dkms.install"
echo README.md >"$stage/debian/ex-rundown-dkms.docs"

# The changelog, from VERSION, dated by the last commit: dpkg-buildpackage
# takes SOURCE_DATE_EPOCH from it, so the same tree gives the same package.
cat >"$stage/debian/changelog" <<EOF
ex-rundown ($version-1) unstable; urgency=medium

  * Built from the ex_rundown source tree at $(git rev-parse --short HEAD).

 -- ex_rundown has no maintainer <nobody@invalid>  $(git log -1 --format=%cD)
EOF

# The man pages as committed (make docs writes them): no kernel source needed.
mkdir -p "$stage/man" && cp -r "$EXR_ROOT/docs/man9" "$stage/man/"
logf=$EXR_CACHE/deb/build.log
phase "dpkg-buildpackage" bash -c 'cd "$1" && dpkg-buildpackage --build=binary --no-sign -j2 >"$2" 2>&1' \
	_ "$stage" "$logf" >&2 || { tail -n 30 "$logf" >&2; die "dpkg-buildpackage failed (log: $logf)"; }
mkdir -p "$outdir"
cp "$EXR_CACHE/deb/$deb" "$outdir/"
log "built $outdir/$deb" >&2
echo "$outdir/$deb"
