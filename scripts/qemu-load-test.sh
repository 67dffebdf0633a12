#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The load test: on each Debian kernel, in QEMU, insmod ex_rundown.ko, then
# the consumer module of examples/consumer (built outside the tree, from the
# header and Module.symvers only, as a user's module would be), which checks
# the exported API on load; then rmmod both. Fails on any check the consumer
# reports as failed and on any WARNING, BUG, Oops or unexpected taint.
set -euo pipefail
. "$(dirname "$0")/qemu.sh"

"$EXR_ROOT/scripts/deps.sh" qemu

passed=0 failed=0
pass() { passed=$((passed + 1)); log "PASS $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }

# build_consumer REL BUILD_DIR: the consumer, in a copy of its own, against
# the ex_rundown built in BUILD_DIR. Prints the path of the .ko.
build_consumer() {
	local rel=$1 bdir=$2 out=$EXR_CACHE/build/consumer-$1
	rm -rf "$out" && mkdir -p "$out"
	cp "$EXR_ROOT"/examples/consumer/* "$out/"
	make -C "$(kdir_for "$rel")" M="$out" W=1 EX_RUNDOWN="$bdir" \
		modules >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; return 1; }
	if grep -E 'warning:|WARNING:' "$out/build.log" >&2; then
		return 1
	fi
	echo "$out/exr_consumer.ko"
}

guest=$(mktemp)
trap 'rm -f "$guest"' EXIT
cat >"$guest" <<'GUEST'
set -u
insmod ./ex_rundown.ko || { echo "EXR-FAIL insmod ex_rundown"; exit 1; }
grep -qw __ex_rundown_acquire_slow /proc/kallsyms ||
	{ echo "EXR-FAIL __ex_rundown_acquire_slow not in kallsyms"; exit 1; }
echo "EXR-PASS insmod ex_rundown"
if insmod ./exr_consumer.ko; then
	echo "EXR-PASS insmod exr_consumer"
	rmmod exr_consumer && echo "EXR-PASS rmmod exr_consumer"
else
	echo "EXR-FAIL insmod exr_consumer"
fi
rmmod ex_rundown && echo "EXR-PASS rmmod ex_rundown"
grep -q '^ex_rundown ' /proc/modules && { echo "EXR-FAIL ex_rundown still loaded"; exit 1; }
exit 0
GUEST

# First, that the harness's verdict can fail: it must call a WARNING, an
# Oops, a panic and a hang what they are.
if phase "harness self-test" "$EXR_ROOT/scripts/qemu-selftest.sh"; then
	pass "harness: tells clean, warning, oops, panic and timeout apart"
else
	fail "harness self-test"
fi

for rel in $(kernel_releases); do
	phase "build against $rel" "$EXR_ROOT/scripts/build.sh" "$rel" >/dev/null ||
		{ fail "$rel: build"; continue; }
	bdir=$EXR_CACHE/build/$rel
	if ! ko=$(build_consumer "$rel" "$bdir"); then
		fail "$rel: consumer build"
		continue
	fi
	pass "$rel: consumer builds from the header and Module.symvers alone"
	logf=$EXR_CACHE/logs/load-$rel.log
	mkdir -p "$(dirname "$logf")"
	work=$(mktemp -d "$EXR_CACHE/tmp/load.XXXXXX")
	make_initramfs "$work/initrd.gz" "$guest" "$bdir/ex_rundown.ko" "$ko" ||
		{ fail "$rel: initramfs"; continue; }
	phase "boot $rel" qemu_boot "$rel" "$work/initrd.gz" "$logf" 180 || true
	rm -rf "$work"

	# Each check the consumer ran, and each step of the guest script.
	while read -r verdict what; do
		if [ "$verdict" = PASS ]; then pass "$rel: $what"; else fail "$rel: $what"; fi
	done < <(sed -n -e 's/.*exr_consumer: \(PASS\|FAIL\) \(.*\)$/\1 consumer \2/p' \
		-e 's/^EXR-\(PASS\|FAIL\) \(.*\)$/\1 \2/p' "$logf")
	grep -q 'exr_consumer: PASS' "$logf" || fail "$rel: the consumer reported nothing"
	if verdict=$(qemu_check_log "$logf"); then
		pass "$rel: kernel log clean (no WARNING/BUG/Oops, taint only O/E)"
	else
		fail "$rel: kernel log: $verdict"
		tail -n 30 "$logf"
	fi
done

echo "RESULT qemu: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
