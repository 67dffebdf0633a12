#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the QEMU harness (scripts/qemu.sh): on each Debian kernel a
# trivial module must load, log and unload cleanly; and on one kernel the
# log checks must catch what they exist for: a WARN_ON, an oops, a panic and
# a hung test. Without the negative half a harness that never looks at the
# log would pass too.
#
#   scripts/qemu-selftest.sh        (EXR_VERBOSE=1 streams the consoles)
set -euo pipefail
# shellcheck source=scripts/qemu.sh
. "$(dirname "$0")/qemu.sh"

"$EXR_ROOT/scripts/deps.sh" qemu

mkdir -p "$EXR_CACHE/tmp"
work=$(mktemp -d "$EXR_CACHE/tmp/selftest.XXXXXX")
failed=0

# One module for every case: `mode=` picks what its init does, so each
# kernel needs a single build.
cat >"$work/exr_selftest.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/string.h>

static char *mode = "hello";
module_param(mode, charp, 0444);

static int __init exr_selftest_init(void)
{
	pr_info("exr_selftest: hello, mode=%s\n", mode);
	if (!strcmp(mode, "warn"))
		WARN_ON(1);
	else if (!strcmp(mode, "oops"))
		*(volatile int *)NULL = 1;
	else if (!strcmp(mode, "panic"))
		panic("exr_selftest: panic on request");
	return 0;
}

static void __exit exr_selftest_exit(void)
{
	pr_info("exr_selftest: bye\n");
}

module_init(exr_selftest_init);
module_exit(exr_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ex_rundown QEMU harness self-test");
EOF
echo 'obj-m := exr_selftest.o' >"$work/Kbuild"

# Guest scripts, run by busybox sh as /test.sh.
cat >"$work/hello.sh" <<'EOF'
set -e
insmod /mod/exr_selftest.ko
grep -q '^exr_selftest ' /proc/modules
dmesg | grep -q 'exr_selftest: hello, mode=hello'
rmmod exr_selftest
dmesg | grep -q 'exr_selftest: bye'
echo "selftest module loaded and unloaded"
EOF
for m in warn oops panic; do
	echo "insmod /mod/exr_selftest.ko mode=$m" >"$work/$m.sh"
done
echo 'sleep 600' >"$work/hang.sh"

# build_module REL: build exr_selftest.ko for REL into $work/REL/.
build_module() {
	local rel=$1 dir=$work/$1
	mkdir -p "$dir"
	cp "$work/exr_selftest.c" "$work/Kbuild" "$dir/"
	timeout 600 make -C "$(kdir_for "$rel")" M="$dir" modules >"$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log"; return 1; }
}

# boot_case REL NAME TIMEOUT WANT: boot NAME.sh with the module on REL and
# compare the log's class with WANT; for WANT=clean the strict check must
# pass, for anything else it must fail. Prints the boot's wall time.
boot_case() {
	local rel=$1 name=$2 tmo=$3 want=$4 logf=$work/$1-$2.log t0 t1 got rc=0
	make_initramfs "$work/$rel-$name.cpio.gz" "$work/$name.sh" "$work/$rel/exr_selftest.ko" ||
		return 1
	t0=$(date +%s%N)
	qemu_boot "$rel" "$work/$rel-$name.cpio.gz" "$logf" "$tmo" || rc=$?
	t1=$(( ($(date +%s%N) - t0) / 100000000 ))
	got=$(qemu_classify_log "$logf")
	if [ "$want" = clean ]; then
		qemu_check_log "$logf" >"$logf.verdict" && [ "$got" = clean ] || {
			log "FAIL $rel $name: expected a clean run, got $got (qemu exit $rc)"
			cat "$logf.verdict"; tail -n 30 "$logf"; return 1
		}
	else
		! qemu_check_log "$logf" >"$logf.verdict" && [ "$got" = "$want" ] || {
			log "FAIL $rel $name: expected $want, got $got (qemu exit $rc)"
			tail -n 30 "$logf"; return 1
		}
	fi
	log "ok   $rel $name: $got, boot took $((t1 / 10)).$((t1 % 10))s"
}

mapfile -t rels < <(kernel_releases)
for rel in "${rels[@]}"; do
	fetch_kernel "$rel" >/dev/null || die "cannot fetch kernel $rel"
	phase "build exr_selftest.ko for $rel" build_module "$rel" || { failed=1; continue; }
	boot_case "$rel" hello 120 clean || failed=1
done

# The negative checks once, on the newest kernel.
rel=${rels[-1]}
if [ -f "$work/$rel/exr_selftest.ko" ]; then
	boot_case "$rel" warn 120 warning || failed=1
	boot_case "$rel" oops 120 oops || failed=1
	boot_case "$rel" panic 120 panic || failed=1
	boot_case "$rel" hang 20 timeout || failed=1
fi

if [ $failed -ne 0 ]; then
	log "qemu selftest FAILED; logs kept in $work"
	exit 1
fi
[ -n "${EXR_KEEP:-}" ] || rm -rf "$work"	# EXR_KEEP=1 keeps the logs
log "qemu selftest passed"
