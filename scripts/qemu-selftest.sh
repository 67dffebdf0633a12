#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the QEMU harness (scripts/qemu.sh): on each Debian kernel a
# trivial module (scripts/selftest/) must load, log and unload cleanly; on
# one kernel the verdict must catch a bare stack dump (as ex_rundown's hung
# run-down report prints), a WARN_ON, an oops, a panic and a hung test, or
# a harness that never looks at the log would pass too.
#
#   scripts/qemu-selftest.sh    ends "RESULT qemu-selftest: N passed, N failed"
#                               (EXR_VERBOSE=1 streams the consoles)
set -euo pipefail
. "$(dirname "$0")/qemu.sh"

"$EXR_ROOT/scripts/deps.sh" qemu
work=$EXR_CACHE/qemu-selftest
rm -rf "$work"
mkdir -p "$work"

# Guest scripts, run by busybox sh as /test.sh.
cat >"$work/clean.sh" <<'EOF'
set -e
insmod exr_selftest.ko
grep -q '^exr_selftest ' /proc/modules
dmesg | grep -q 'exr_selftest: hello, mode=hello'
rmmod exr_selftest
dmesg | grep -q 'exr_selftest: bye'
EOF
for c in stack warning oops panic; do echo "insmod exr_selftest.ko mode=$c" >"$work/$c.sh"; done
echo 'sleep 600' >"$work/timeout.sh"

build() {
	cp -r "$EXR_ROOT/scripts/selftest" "$work/$1"
	make -C "$(kdir_for "$1")" M="$work/$1" modules >"$work/$1/build.log" 2>&1 ||
		{ cat "$work/$1/build.log"; return 1; }
}

# verdict REL CASE TIMEOUT [CLASS]: boot CASE.sh on REL. The log's class
# must be CLASS (default: CASE), and the strict verdict for a test meant to
# pass must agree: pass on a clean run, fail on anything else.
verdict() {
	local logf=$work/$1-$2.log got strict=pass want=fail t0=$SECONDS class=${4:-$2}
	make_initramfs "$work/$1-$2.cpio.gz" "$work/$2.sh" "$work/$1/exr_selftest.ko" &&
		qemu_boot "$1" "$work/$1-$2.cpio.gz" "$logf" "$3" || true
	got=$(qemu_classify_log "$logf")
	qemu_check_log "$logf" >"$logf.verdict" || strict=fail
	[ "$2" != clean ] || want=pass
	if [ "$got" = "$class" ] && [ "$strict" = "$want" ]; then
		ok "$1 $2: told as $got, strict verdict $strict (boot: $((SECONDS - t0))s)"
	else
		not_ok "$1 $2: told as $got, strict verdict $strict"
		cat "$logf.verdict"
		tail -n 30 "$logf"
	fi
}

mapfile -t rels < <(kernel_releases)
for rel in "${rels[@]}"; do
	fetch_kernel "$rel" >/dev/null || die "cannot fetch kernel $rel"
	expect "exr_selftest.ko builds for $rel" phase "build for $rel" build "$rel"
	[ ! -f "$work/$rel/exr_selftest.ko" ] || verdict "$rel" clean 120
done

# The negative cases once, on the newest kernel.
rel=${rels[-1]}
if [ -f "$work/$rel/exr_selftest.ko" ]; then
	verdict "$rel" stack 120 warning
	for c in warning oops panic; do verdict "$rel" $c 120; done
	verdict "$rel" timeout 20
fi
results qemu-selftest
