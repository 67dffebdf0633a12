#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install, from Debian's archive, everything the project's builds and tests
# use. Safe to run again: it installs only what is missing.
#
#   scripts/deps.sh [SET...]   SET: a set below, or a layer of scripts/check.sh
#                              (default: all)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Each set, with the sets it builds on.
declare -A needs
needs[build]="gcc make bc flex bison libelf-dev kmod linux-headers-amd64 linux-headers-6.12-amd64"
# libc6-dev: the demo's user-space client is built static for the guest.
needs[qemu]="${needs[build]} qemu-system-x86 busybox-static cpio xz-utils libc6-dev"
# qemu-system-x86, -arm and the cross compiler: scripts/kunit.sh runs the
# suite on x86_64 and arm64 too; debootstrap: the newest linux-source comes
# through a trixie chroot.
needs[kunit]="${needs[build]} python3 linux-source-6.12 xz-utils qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu debootstrap"
# libpython3.11: spatch loads it at run time for the Python-using rules.
needs[lint]="${needs[kunit]} perl sparse coccinelle libpython3.11 ocaml-nox man-db groff-base"
# herd7 is built with these from shared/tools; the LKMM is linux-source-6.12's.
needs[litmus]="linux-source-6.12 xz-utils ocaml-nox ocaml-dune menhir libmenhir-ocaml-dev libzarith-ocaml-dev ocaml-findlib"
# make deb and the DKMS test: dh_dkms, as for Debian's own *-dkms packages.
needs[pkg]="${needs[lint]} build-essential dkms dpkg-dev debhelper dh-dkms fakeroot"
# The kernel matrix builds in a chroot of each kernel's Debian suite.
needs[matrix]="${needs[qemu]} debootstrap"
# gnuplot-nox: the demo's plot.
needs[demo]="${needs[qemu]} gnuplot-nox"
# The upstream series is checkpatched in the tree, spdxcheck.py included,
# which wants python3's ply and git modules.
needs[upstream]="${needs[kunit]} git python3-ply python3-git"
needs[all]="${needs[matrix]} ${needs[lint]} ${needs[litmus]} ${needs[pkg]} ${needs[demo]} ${needs[upstream]}"
# What each layer of scripts/check.sh needs.
needs[fastpath]=${needs[build]} needs[lockdep]=${needs[kunit]}
needs[bench]="${needs[qemu]} ${needs[kunit]}" needs[dkms]="${needs[pkg]} ${needs[qemu]}"
# torture: Debian's kernels, and the KUnit-built ones (rebuilt by kunit.sh if stale).
needs[torture]=${needs[bench]}

pkgs=
for want in "${@:-all}"; do
	[ -n "${needs[$want]:-}" ] || die "unknown set '$want' (${!needs[*]})"
	pkgs+=" ${needs[$want]}"
done

missing=()
for p in $(tr ' ' '\n' <<<"$pkgs" | sort -u); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}
Run as root, or install them first: apt-get install ${missing[*]}"

log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/lists/partial/.exr-updated
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +600)" ]; then
	apt-get update -qq
	touch "$stamp"
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
