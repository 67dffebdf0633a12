#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# QEMU harness: boot a stock Debian kernel with a busybox initramfs, load our
# modules inside it and judge the console log. Loading modules into the host
# kernel is never an option (a bug in them would take the machine down), so
# every real load goes through here.
#
# A library (`. scripts/qemu.sh`):
#   fetch_kernel REL                          -> prints path of vmlinuz
#   make_initramfs OUT.cpio.gz SCRIPT FILE... -> SCRIPT as /test.sh, FILEs in /mod/
#   qemu_boot REL INITRAMFS LOG [TIMEOUT_S] [EXTRA_APPEND]
#                                             -> 0 powered off, 124 timed out
#   qemu_check_log LOG                        -> 0 clean, 1 (and reasons) otherwise
#   qemu_classify_log LOG                     -> prints clean|warning|oops|panic|timeout|fail
#
# The functions check every step themselves instead of relying on `set -e`,
# which bash switches off inside $(...) and in `f || ...` contexts.

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Taint bits a healthy run may show: 4096 (O, out-of-tree module) and 8192 (E,
# unsigned module). Anything else (W, D, ...) means the kernel saw trouble.
EXR_TAINT_OK=$(( 4096 | 8192 ))

# fetch_kernel REL: print the path of Debian's vmlinuz for REL, downloading
# and unpacking linux-image-REL (or -unsigned) into the cache the first time.
# dpkg -x only unpacks: nothing lands in /boot and the host is not touched.
# The flock keeps two parallel test runs from unpacking over each other.
fetch_kernel() {
	local rel=$1 dir=$EXR_CACHE/kernels/$1 vmlinuz deb pkg
	vmlinuz=$dir/root/boot/vmlinuz-$rel
	if [ ! -f "$vmlinuz" ]; then
		mkdir -p "$dir" || return 1
		(
			flock -w 900 9 || { echo "fetch_kernel: lock timeout" >&2; exit 1; }
			[ -f "$vmlinuz" ] && exit 0
			cd "$dir" && rm -rf root.tmp ./*.deb || exit 1
			for pkg in "linux-image-$rel" "linux-image-$rel-unsigned"; do
				log "downloading $pkg" >&2
				timeout 900 apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2 && break
			done
			for deb in ./linux-image-"$rel"*.deb; do [ -f "$deb" ] && break; done
			[ -f "$deb" ] || { echo "fetch_kernel: cannot download linux-image-$rel" >&2; exit 1; }
			dpkg -x "$deb" root.tmp && rm -rf root && mv root.tmp root && rm -f "$deb"
		) 9>"$dir/.lock" || return 1
		[ -f "$vmlinuz" ] || { echo "fetch_kernel: no $vmlinuz in package" >&2; return 1; }
	fi
	echo "$vmlinuz"
}

# make_initramfs OUT SCRIPT FILE...: a busybox-static initramfs whose /init
# mounts the usual filesystems, runs SCRIPT as /test.sh from /mod (where the
# FILEs are) and prints the markers qemu_check_log reads: EXR-TAINT and
# EXR-DONE. Applet links are made here, at build time, so /init can be plain sh.
make_initramfs() {
	local out=$1 script=$2 tmp f a
	shift 2
	[ -x /bin/busybox ] || { echo "make_initramfs: no /bin/busybox (scripts/deps.sh qemu)" >&2; return 1; }
	[ -f "$script" ] || { echo "make_initramfs: no script $script" >&2; return 1; }
	mkdir -p "$(dirname "$out")" || return 1
	tmp=$(mktemp -d "$(dirname "$out")/initramfs.XXXXXX") || return 1
	mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mod,root} &&
		cp /bin/busybox "$tmp/bin/busybox" &&
		cp "$script" "$tmp/test.sh" || { rm -rf "$tmp"; return 1; }
	for a in $(/bin/busybox --list-full); do
		[ -e "$tmp/$a" ] || ln -s /bin/busybox "$tmp/$a"
	done
	for f in "$@"; do
		cp "$f" "$tmp/mod/" || { rm -rf "$tmp"; return 1; }
	done
	# Kernel messages raised to loglevel 8 once booted: a module's pr_info
	# then lands in the console log next to its splats. The markers come
	# after a short pause so that late kernel lines do not cut them up.
	cat >"$tmp/init" <<-'EOF'
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
	chmod 755 "$tmp/init" "$tmp/test.sh" &&
		(cd "$tmp" && find . -print0 | LC_ALL=C sort -z |
			cpio --null -o -H newc --owner=0:0 --quiet | gzip -1 >"$out.tmp") &&
		mv "$out.tmp" "$out"
	local rc=$?
	rm -rf "$tmp"
	return $rc
}

# qemu_boot REL INITRAMFS LOG [TIMEOUT_S] [EXTRA_APPEND]: boot REL under TCG
# (nested KVM hangs here) with the console on the serial port, captured to
# LOG with CRs stripped. Returns QEMU's status: 0 after poweroff or a panic
# (panic=-1 reboots, -no-reboot turns that into an exit), 124 on timeout,
# in which case an EXR-TIMEOUT line is appended to LOG.
qemu_boot() {
	local rel=$1 initrd=$2 logf=$3 tmo=${4:-300} extra=${5:-} vmlinuz rc
	vmlinuz=$(fetch_kernel "$rel") || return 1
	mkdir -p "$(dirname "$logf")" || return 1
	# loglevel=5 keeps boot chatter out but shows warnings and worse; /init
	# raises it once the test runs. oops stay non-fatal so the log shows them
	# and the test goes on to print its markers.
	# no_timer_check: on a busy host TCG is too slow for the IO-APIC timer
	# check, and the kernel panics before anything of ours runs.
	local append="console=ttyS0 panic=-1 loglevel=5 no_timer_check $extra"
	# shellcheck disable=SC2054 # the commas belong to -accel
	local cmd=(timeout -k 10 "$tmo" qemu-system-x86_64
		-accel tcg,thread=multi -cpu max -smp 2 -m 512
		-nodefaults -no-user-config -display none -monitor none
		-serial stdio -no-reboot
		-kernel "$vmlinuz" -initrd "$initrd" -append "$append")
	if [ "${EXR_VERBOSE:-0}" = 1 ]; then
		"${cmd[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$logf" | sed -u 's/^/  | /'
	else
		"${cmd[@]}" </dev/null 2>&1 | tr -d '\r' >"$logf"
	fi
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && { echo "EXR-TIMEOUT after ${tmo}s" >>"$logf"; rc=124; }
	return "$rc"
}

# qemu_classify_log LOG: one word for what happened in a boot, for tests that
# expect trouble (a negative control must tell "crashed" from "passed"):
# panic > oops > warning > timeout > fail > clean.
qemu_classify_log() {
	local logf=$1
	if grep -q 'Kernel panic' "$logf"; then echo panic
	elif grep -Eq 'BUG:|Oops|general protection fault|KASAN|list_del corruption' "$logf"; then echo oops
	elif complaints "$logf" >/dev/null; then echo warning
	elif grep -q '^EXR-TIMEOUT' "$logf"; then echo timeout
	elif ! grep -q '^EXR-DONE rc=0$' "$logf" || ! _qemu_taint_ok "$logf"; then echo fail
	else echo clean
	fi
}

# _qemu_taint_ok LOG: true if the EXR-TAINT line is there and shows only the
# taints an out-of-tree unsigned module causes.
_qemu_taint_ok() {
	local t
	t=$(sed -n 's/^EXR-TAINT \([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1)
	[ -n "$t" ] && [ $(( t & ~EXR_TAINT_OK )) -eq 0 ]
}

# qemu_check_log LOG: the strict verdict for a test meant to pass. Prints why
# it failed (the complaints, the test's rc, the taint) and returns 1.
qemu_check_log() {
	[ "$(qemu_classify_log "$1")" = clean ] && return 0
	echo "not clean: $(qemu_classify_log "$1") (taint allowed: 4096 O, 8192 E)"
	complaints "$1" | head -n 40 | sed 's/^/    /'
	grep -E '^EXR-(TIMEOUT|DONE|TAINT)' "$1" | sed 's/^/    /'
	return 1
}
