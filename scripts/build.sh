#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build every module of the project against one kernel's headers, with W=1,
# in a copy of the tree of its own (out-of-tree builds write their objects
# beside the sources, and each kernel needs its own). Every layer that needs
# the modules asks for them here (modules_for in lib.sh): a build of the
# same sources against the same headers is made once and then shared.
#
#   scripts/build.sh RELEASE      e.g. 6.1.0-56-amd64; or KDIR=... RELEASE
#
# Prints the build dir on the last line. Fails on any compiler or modpost
# warning.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rel=${1:?usage: build.sh KERNEL_RELEASE}
kdir=$(kdir_for "$rel")
[ -d "$kdir" ] || die "no headers for $rel at $kdir (scripts/deps.sh build)"
out=$EXR_CACHE/build/$rel

# What this build is of: the sources and the headers' kernel config.
stamp=$( (tree_files | (cd "$EXR_ROOT" && xargs -0 sha1sum); sha1sum "$kdir/.config" 2>/dev/null) |
	sha1sum | cut -c1-40)
if [ "$(cat "$out/.exr-built" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi

# From scratch: an incremental build would not recompile, and so not repeat
# the warnings of, a file that warned before. It takes seconds.
rm -rf "$out"
copy_tree "$out"

logf=$out/build.log
if ! make -C "$kdir" M="$out" W=1 modules >"$logf" 2>&1; then
	grep -E 'error|Error' "$logf" | head -20 >&2
	die "build against $rel failed (log: $logf)"
fi
if grep -E 'warning:|WARNING:' "$logf" >&2; then
	die "build against $rel warns (log: $logf)"
fi
echo "$stamp" >"$out/.exr-built"
echo "$out"
