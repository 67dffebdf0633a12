#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The demo, on a Debian kernel in QEMU (2 vCPUs): a filter manager
# (demo/rundown_demo.c) calls a filter while loops load and unload it and
# swap its buffer: only run-down protection keeps the calls out of freed
# code and memory. scripts/demo-guest.sh runs in the guest.
#
#   scripts/demo.sh         `make demo`: a short stress (SECS, default 25 s)
#                           on KERNEL (default: 6.1), its report and checks;
#                           PROTECT=0 runs it without the protection, to crash
#   scripts/demo.sh --full  the `make check` layer: on both kernels the full
#                           stress (300 cycles or SECS, default 100 s) and
#                           NEG_RUNS (default 3) runs of it with protect=0,
#                           most of which must crash or catch a use-after-free
#
# Ends with `RESULT demo: N passed, N failed`. EXR_VERBOSE=1 streams the
# console (kept in $EXR_CACHE/demo-logs); EXR_DEMO_DELAY_US (default 50000)
# sets how long the filter sleeps in every call.
set -euo pipefail
# shellcheck source=scripts/qemu.sh
. "$(dirname "$0")/qemu.sh"

# A cycle takes 0.3 to 0.5 s under the stress (TCG), longer on a busy host:
# how many ran is reported, not judged.
case ${1:-} in
'') mode=demo SECS=${SECS:-25} CYCLES=1000 ;;
--full) mode=full SECS=${SECS:-100} CYCLES=300 ;;
*) sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 2 ;;
esac
[[ ${PROTECT:=1} =~ ^[01]$ ]] || die "PROTECT must be 0 or 1, not '$PROTECT'"
[[ $SECS =~ ^[1-9][0-9]{0,3}$ ]] || die "SECS wants a number of seconds, not '$SECS'"
[[ ${NEG_RUNS:=3} =~ ^[1-9][0-9]?$ ]] || die "NEG_RUNS wants a number from 1 to 99, not '$NEG_RUNS'"

# The stress of both the protected run and the negative control. The
# handler sleeps DELAY_US with the buffer in hand, longer than an unload
# takes: without protection a call is still in the code when it is freed.
DELAY_US=${EXR_DEMO_DELAY_US:-50000}
STRESS="THREADS=2 INTERVAL_US=0 IOCTL_CLIENTS=2 READ_CLIENTS=1 DD_READERS=1
DELAY_US=$DELAY_US SPIN_US=20 HOLD_US=10000 SWAP_US=20000"
# oops=panic: the first oops ends the run; nothing after it would count.
# log_buf_len: room for the per-load lines of hundreds of cycles.
APPEND="log_buf_len=4M oops=panic"

mkdir -p "$EXR_CACHE/tmp" "$EXR_CACHE/demo-logs"
work=$(mktemp -d "$EXR_CACHE/tmp/demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# stress REL PROTECT LOG: one stress run in QEMU. The negative control skips
# the bad-input checks: there only the crash matters.
stress() {
	printf '%s\nPROTECT=%s SECS=%s MAX_CYCLES=%s BADINPUT=%s\n' \
		"$STRESS" "$2" "$SECS" "$CYCLES" "$2" >"$work/demo.conf"
	make_initramfs "$work/initramfs.cpio.gz" "$EXR_ROOT/scripts/demo-guest.sh" \
		"$work/$1"/*.ko "$work/rundown_demo_client" "$work/demo.conf" || return 1
	# The timeout only catches a hung guest: boot and setup take ~15 s.
	qemu_boot "$1" "$work/initramfs.cpio.gz" "$3" $((SECS + 120)) "$APPEND" || true
}

# sum PREFIX KEY N [KEY N]...: add each N to the variable PREFIX_KEY.
sum() {
	local p=$1 v
	shift
	while [ $# -gt 1 ]; do
		v=$p$1
		declare -g "$v=$(( ${!v:-0} + $2 ))"
		shift 2
	done
}

# check WHAT EXPR: one check of a protected run, ok if the arithmetic EXPR
# holds; it is shown with the values of its names, and fails if one is unset.
check() {
	local w vals='' unset=0
	while read -r w; do
		vals+=" $w=${!w-?}"
		[ -n "${!w+set}" ] || unset=1
	done < <(grep -oE '[A-Za-z_]+' <<<"$2" | sort -u)
	if [ "$unset" = 0 ] && (( $2 )); then ok "$rel: $1:$vals"; else not_ok "$rel: $1:$vals"; fi
}

ms() { echo "$(( $1 / 1000000 )).$(( $1 / 100000 % 10 ))"; }
# median_max N...: the median and the largest of the numbers.
median_max() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[NR] }'; }
# accounts LOG MODULE: each load's account by MODULE (the manager or the filter).
accounts() { sed -n "s/^$2: load //p" "$1" | sort; }

# all_checks LOG: every `is` and `refused` check of demo-guest.sh reported in LOG.
all_checks() {
	local missing
	missing=$(comm -23 <(grep -oE '^[[:space:]]*(is|refused) [a-z-]+' "$EXR_ROOT/scripts/demo-guest.sh" |
		awk '{ print $2 }' | sort -u) <(awk '/^EXR-CHECK / { print $3 }' "$1" | sed 's/:$//' | sort -u))
	[ -z "$missing" ] || { echo "never reported: $missing" | tr '\n' ' '; echo; return 1; }
}

# judge REL LOG: the report and the checks of a protected run, from what it
# printed (see demo-guest.sh): t_KEY the manager's totals, u_KEY user
# space's counts, l_KEY the loads' accounts added up. Only lines of the
# expected form are read: lowercase names, plain numbers.
# shellcheck disable=SC2034,SC2086 # check's EXPR reads the locals; $rest is a list
judge() {
	local rel=$1 tag rest what wmed wmax imed imax loads differ uaf_reports
	local -a waits infl
	unset "${!t_@}" "${!u_@}" "${!l_@}"
	while read -r tag rest; do
		if [ "$tag" = EXR-COUNT ]; then sum u_ $rest
		elif [[ $rest = total* ]]; then sum t_ ${rest#total }
		else sum l_ ${rest#* * }
		fi
	done < <(grep -E '^(EXR-COUNT|rundown_demo: (total|(un)?load [0-9]+))( [a-z_]+ [0-9]+)+$' "$2")
	mapfile -t waits < <(sed -nE 's/^rundown_demo: unload .* wait_ns ([0-9]+)$/\1/p' "$2")
	mapfile -t infl < <(sed -nE 's/^rundown_demo: unload .* inflight ([0-9]+) .*/\1/p' "$2")
	read -r wmed wmax < <(median_max "${waits[@]:-0}")
	read -r imed imax < <(median_max "${infl[@]:-0}")
	loads=$(accounts "$2" rundown_demo | wc -l)
	differ=$(diff <(accounts "$2" rundown_demo) <(accounts "$2" rundown_demo_filter) | grep -c '^[<>]' || true)
	uaf_reports=$(grep -c RUNDOWN-DEMO-UAF "$2" || true)

	cat <<-EOF

	 Run-down protection demo on $rel, ${u_cpus:-?} vCPUs, protection on, ${u_elapsed_s:-?} s:
	 threads, ioctl and read() clients and dd send requests through a filter that
	 sleeps $((DELAY_US / 1000)) ms in each, while a loop loads and unloads it and another swaps its buffer.
	   requests sent            ${t_requests_read:-?} read, ${t_requests_ioctl:-?} ioctl, ${t_requests_kthread:-?} from threads
	     ran in the filter      ${t_ran:-?} (refused by the buffer during a swap: ${t_busy:-?})
	     refused: unload        ${t_skipped:-?}
	     no filter loaded       ${t_unfiltered:-?}
	   load/unload cycles       ${u_cycles:-?}
	   buffer swaps             ${t_swaps:-?} of ${t_swap_requests:-?} ordered (${t_swaps_unfiltered:-?} found no filter, ${t_swaps_skipped:-?} refused: unload)
	   rmmod's wait             median $(ms "$wmed") ms, max $(ms "$wmax") ms, for (median) $imed and (max) $imax calls in flight
	   use-after-free seen      ${t_uaf:-?}
	 wait of each unload (ms):
	EOF
	printf '%s\n' "${waits[@]}" | awk 'NF { printf "%.1f ", int($1 / 1e5) / 10 } END { print "" }' |
		fold -s -w 74 | sed 's/^/   /'

	expect "$rel: clean run: no kernel complaint, taint only O and E, the guest ran to the end" qemu_check_log "$2"
	while read -r tag rest what; do
		if [ "$rest" = ok ]; then ok "$rel: guest: $what"; else not_ok "$rel: guest: $what"; fi
	done < <(grep '^EXR-CHECK ' "$2")
	expect "$rel: guest: all $(grep -cE '^[[:space:]]*(is|refused) [a-z-]+' "$EXR_ROOT/scripts/demo-guest.sh") checks of demo-guest.sh reported" all_checks "$2"
	check "load/unload cycles" "u_cycles > 0"
	check "every load registered once and unregistered once" \
		"t_registrations == u_cycles && t_unregistrations == u_cycles && loads == u_cycles"
	check "per load: the filter's own count = the manager's (calls, busy, uaf, swaps)" \
		"loads > 0 && differ == 0"
	check "every request ran in the filter, was skipped or found no filter" \
		"t_requests_read + t_requests_ioctl + t_requests_kthread == t_ran + t_skipped + t_unfiltered"
	check "the loads add up to the totals" \
		"l_calls == t_ran && l_skipped == t_skipped && l_busy == t_busy && l_uaf == t_uaf && l_swaps == t_swaps && l_swaps_skipped == t_swaps_skipped"
	check "user space counted what the manager counted, and saw no error" \
		"u_requests_ioctl == t_requests_ioctl && u_requests_read == t_requests_read && u_errors == 0"
	check "every swap order was carried out, refused during an unload or found no filter" \
		"u_swap_requests == t_swap_requests && t_swap_requests == t_swaps + t_swaps_skipped + t_swaps_unfiltered + t_swap_errors && t_swaps > 0 && t_swap_errors == 0"
	check "no use-after-free seen by any reader" "t_uaf == 0 && uaf_reports == 0"
	check "the races were really run: unloads with calls in flight, calls refused" \
		"imax > 0 && t_skipped > 0 && t_busy > 0"
}

# negative REL RUN: one run of the negative control (protect=0), which must
# crash or at least catch a use-after-free; make demo then shows the gist
# of the first oops and the first use-after-free reports.
negative() {
	local logf=$EXR_CACHE/demo-logs/$mode-$1-unprotected-$2.log class bug how='' uaf
	phase "negative control on $1, protect=0, run $2 (expected to crash)" stress "$1" 0 "$logf"
	class=$(qemu_classify_log "$logf")
	uaf=$(grep -c RUNDOWN-DEMO-UAF "$logf" || true)
	bug=$(grep -m 1 -E 'BUG:|general protection fault|Oops' "$logf" | sed 's/^\[[ 0-9.]*\] //' || true)
	grep -q 'supervisor instruction fetch' "$logf" && how=' (an instruction fetch: the CPU ran into freed module code)'
	[ "$uaf" -gt 0 ] && how+="; $uaf use-after-free report(s) before"
	case $class in
	oops | panic) echo " XFAIL (as expected): crashed after $(grep -c '^EXR-UNLOADED ' "$logf") completed unload(s): $bug$how" ;;
	*) [ "$uaf" -gt 0 ] || { echo " XPASS (unexpected): $class, no crash and no use-after-free seen; log: $logf"; return 1; }
	   echo " XFAIL (as expected): no crash ($class), but the readers caught $uaf use-after-free(s)" ;;
	esac
	[ "$mode" = demo ] || return 0
	sed -n '/BUG:\|general protection fault/,/Modules linked in/p' "$logf" |
		grep -E 'BUG:|#PF:|Oops|general protection|Comm:|RIP:|Call Trace|\[rundown_demo|Modules linked in' |
		head -n 20 | sed 's/^/   | /' || true
	[ "$uaf" = 0 ] || echo " and before it, readers of the swapped buffer found it freed (poison check):"
	grep -m 3 RUNDOWN-DEMO-UAF "$logf" | sed 's/^/   | /' || true
}

mapfile -t rels < <(kernel_releases)
[ "$mode" = full ] || rels=("${KERNEL:-${rels[0]:?no kernel release}}")
phase "installing what the demo needs" "$EXR_ROOT/scripts/deps.sh" qemu
gcc -static -O2 -Wall -Wextra -Werror -I"$EXR_ROOT/demo" -o "$work/rundown_demo_client" \
	"$EXR_ROOT/demo/rundown_demo_client.c"
for r in "${rels[@]}"; do
	# Stripped copies of the modules: without their debug info (90% of the
	# file) a load or unload is quicker, and oopses still name our functions.
	dir=$(modules_for "$r")
	mkdir -p "$work/$r"
	for m in ex_rundown rundown_demo rundown_demo_filter; do
		strip --strip-debug -o "$work/$r/$m.ko" "$dir/$m.ko"
	done
	fetch_kernel "$r" >/dev/null
	if [ "$mode$PROTECT" = demo0 ]; then
		expect "$r: without run-down protection the same stress breaks the kernel" negative "$r" 1
		continue
	fi
	logf=$EXR_CACHE/demo-logs/$mode-$r-protected.log
	phase "stress on $r, protection on (up to $CYCLES cycles or ${SECS}s; console: $logf)" \
		stress "$r" 1 "$logf"
	judge "$r" "$logf"
	[ "$mode" = full ] || { echo " (make demo PROTECT=0 runs the same without protection: see it crash.)"; continue; }
	crashes=0
	for i in $(seq 1 "$NEG_RUNS"); do negative "$r" "$i" && crashes=$((crashes + 1)); done
	expect "$r: negative control: protect=0 crashed or was caught in $crashes of $NEG_RUNS runs (want more than half)" \
		test $((crashes * 2)) -gt "$NEG_RUNS"
done
results demo
