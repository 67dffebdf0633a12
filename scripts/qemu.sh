#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The QEMU harness, sourced: boot a stock Debian kernel (never the host's)
# with a busybox initramfs that loads our modules, and judge the console
# log. The functions check every step themselves: bash turns `set -e` off
# in $(...) and in `f || ...`.

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Taint bits a healthy run may show: 4096 (O, out-of-tree module) and 8192
# (E, unsigned module); any other means the kernel saw trouble.
EXR_TAINT_OK=$(( 4096 | 8192 ))

# In a boot, beyond lib.sh's complaints: any stack dump. ex_rundown's own
# report of a hung run-down is a pr_warn and dump_stack(), no WARNING line.
EXR_SPLAT_RE="$EXR_COMPLAINT_RE|Call Trace|has waited [0-9]+ s for the run-down"

# fetch_kernel REL: the path of REL's vmlinuz, unpacked once from Debian's
# linux-image-REL-unsigned or linux-image-REL, or from 7.x on linux-binary-REL
# (which has it under usr/lib/modules/REL/), into the cache, under a lock;
# not /boot. Downloaded by the apt of REL's suite chroot if it has one.
fetch_kernel() {
	local dir=$EXR_CACHE/kernels/$1 vmlinuz=$EXR_CACHE/kernels/$1/root/boot/vmlinuz-$1
	[ -f "$vmlinuz" ] || (
		mkdir -p "$dir" && cd "$dir" && exec 9>.lock && flock -w 900 9 || exit 1
		[ -f "$vmlinuz" ] && exit 0
		rm -rf root.tmp ./*.deb
		log "downloading the image of $1" >&2
		for pkg in "linux-image-$1-unsigned" "linux-image-$1" "linux-binary-$1"; do
			apt_download "$(kernel_root "$1")" "$pkg" >&2 || continue
			dpkg -x ./"$pkg"_*.deb root.tmp && rm -f ./*.deb || exit 1
			[ ! -f "root.tmp/usr/lib/modules/$1/vmlinuz" ] ||
				install -D "root.tmp/usr/lib/modules/$1/vmlinuz" "root.tmp/boot/vmlinuz-$1"
			[ -f "root.tmp/boot/vmlinuz-$1" ] && break
		done
		rm -rf root && mv root.tmp root && [ -f "$vmlinuz" ]
	) || { echo "fetch_kernel: no $vmlinuz from Debian's packages of $1" >&2; return 1; }
	echo "$vmlinuz"
}

# make_initramfs OUT SCRIPT FILE...: a busybox-static initramfs whose /init
# runs SCRIPT as /test.sh in /mod (with the FILEs), then prints the markers
# EXR-TAINT and EXR-DONE. A subshell: its trap removes the staging dir.
make_initramfs() (
	out=$1 script=$2
	shift 2
	[ -x /bin/busybox ] || { echo "make_initramfs: no /bin/busybox (scripts/deps.sh qemu)" >&2; exit 1; }
	mkdir -p "$(dirname "$out")" && out=$(realpath "$out") && tmp=$(mktemp -d "$out.XXXXXX") || exit 1
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mod,root} &&
		cp /bin/busybox "$tmp/bin/" && cp "$script" "$tmp/test.sh" && cp -t "$tmp/mod/" "$@" &&
		cd "$tmp" || exit 1
	for a in $(/bin/busybox --list-full); do [ -e "$a" ] || ln -s /bin/busybox "$a"; done
	# Loglevel 8 once booted, so that pr_info lands next to the splats; the
	# markers after a pause, so that late kernel lines do not cut them up.
	cat >init <<-'EOF'
	#!/bin/sh
	export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t tmpfs tmpfs /tmp
	echo 8 >/proc/sys/kernel/printk
	echo "EXR-START $(uname -r)"
	cd /mod
	sh /test.sh </dev/null
	rc=$?
	sleep 1
	echo "EXR-TAINT $(cat /proc/sys/kernel/tainted)"
	echo "EXR-DONE rc=$rc"
	poweroff -f
	sleep 10
	EOF
	chmod 755 init test.sh && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner=0:0 --quiet | gzip -1 >"$out.tmp" && mv "$out.tmp" "$out"
)

# qemu_boot REL INITRAMFS LOG [TIMEOUT_S] [EXTRA_APPEND]: boot REL under TCG
# (nested KVM hangs here) with EXR_QEMU_SMP vCPUs (default 2) and
# EXR_QEMU_MEM MiB (default 512), the console in LOG without CRs
# (EXR_VERBOSE=1: shown too); 0 after poweroff or a panic (-no-reboot), 124
# on timeout (EXR-TIMEOUT in LOG). loglevel=5: no boot chatter. Oopses are
# not fatal, so the markers still come. no_timer_check: TCG on a busy host
# fails it. REL may instead be the path of a kernel image of our own (a
# KUnit-built bzImage), and INITRAMFS empty for none; EXR_QEMU_BIOS, a
# firmware image for -bios. A boot that crashes
# before the guest starts (before a line matching EXR_QEMU_STARTED, an ERE,
# default ^EXR-START) is tried once more.
qemu_boot() {
	local rel=$1 initrd=$2 logf=$3 tmo=${4:-300} vmlinuz rc
	if [[ $rel == /* ]]; then vmlinuz=$rel; else vmlinuz=$(fetch_kernel "$rel") || return 1; fi
	mkdir -p "$(dirname "$logf")" || return 1
	# shellcheck disable=SC2054 # the commas belong to -accel
	local cmd=(timeout -k 10 "$tmo" qemu-system-x86_64
		-accel tcg,thread=multi -cpu max -smp "${EXR_QEMU_SMP:-2}" -m "${EXR_QEMU_MEM:-512}"
		-nodefaults -no-user-config -display none -monitor none
		-serial stdio -no-reboot -kernel "$vmlinuz" ${initrd:+-initrd "$initrd"}
		${EXR_QEMU_BIOS:+-bios "$EXR_QEMU_BIOS"}
		-append "console=ttyS0 panic=-1 loglevel=5 no_timer_check ${5:-}")
	local try
	for try in 1 2; do
		if [ "${EXR_VERBOSE:-0}" = 1 ]; then
			"${cmd[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$logf" | sed -u 's/^/  | /'
		else
			"${cmd[@]}" </dev/null 2>&1 | tr -d '\r' >"$logf"
		fi
		rc=${PIPESTATUS[0]}
		# A kernel that dies before the guest's first line has run
		# nothing of ours: the emulator's fault or the kernel's (seen once,
		# an int3 Oops in a timer interrupt 3 s into a boot under TCG).
		# Boot it once more; the crashed log is kept beside LOG.
		[ "$try" = 1 ] && ! grep -Eq "${EXR_QEMU_STARTED:-^EXR-START}" "$logf" &&
			grep -Eq 'Oops|Kernel panic' "$logf" || break
		mv "$logf" "$logf.crashed-before-start"
		log "$rel crashed before the guest started (log: $logf.crashed-before-start): booting again" >&2
	done
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && { echo "EXR-TIMEOUT after ${tmo}s" >>"$logf"; rc=124; }
	return "$rc"
}

# qemu_classify_log LOG: one word for what happened in a boot, for tests
# that expect trouble: panic > oops > warning > timeout > fail (the test's
# rc was not 0, or a taint beyond EXR_TAINT_OK) > clean.
qemu_classify_log() {
	local taint
	taint=$(sed -n 's/^EXR-TAINT \([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1)
	if grep -q 'Kernel panic' "$1"; then echo panic
	elif grep -Eq 'BUG:|Oops|general protection fault|KASAN|list_del corruption' "$1"; then echo oops
	elif grep -Eq "$EXR_SPLAT_RE" "$1"; then echo warning
	elif grep -q '^EXR-TIMEOUT' "$1"; then echo timeout
	elif ! grep -q '^EXR-DONE rc=0$' "$1" || [ -z "$taint" ] || (( taint & ~EXR_TAINT_OK )); then echo fail
	else echo clean
	fi
}

# qemu_check_log LOG: the strict verdict for a test meant to pass: 0 if
# clean, else 1, printing why (the complaints, the test's rc, the taint).
qemu_check_log() {
	local class
	class=$(qemu_classify_log "$1")
	[ "$class" = clean ] && return 0
	echo "not clean: $class (taint allowed: 4096 O, 8192 E)"
	{ grep -E "$EXR_SPLAT_RE" "$1" | head -n 40; grep -E '^EXR-(TIMEOUT|DONE|TAINT)' "$1"; } | sed 's/^/    /'
	return 1
}
