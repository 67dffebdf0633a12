#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The demo: run-down protection doing what it exists for, on a real Debian
# kernel booted in QEMU (2 vCPUs). A filter manager (rundown_demo.ko) calls
# into a filter (rundown_demo_filter.ko) from user-space readers and kernel
# threads while a loop loads and unloads the filter and another swaps its
# buffer; run-down protection is all that keeps the calls in flight from
# running into freed code and memory. See src/demo/ and
# scripts/demo-guest.sh (what runs in the guest).
#
#   scripts/demo.sh [--kernel REL] [--secs N] [--unprotected]
#       `make demo`: installs what it needs, builds, boots REL (default: the
#       first of kernel_releases, Debian 12's own 6.1), runs a short stress
#       (N seconds, default 25) and prints a report and a verdict.
#       --unprotected (or PROTECT=0 in the environment: make demo PROTECT=0)
#       runs the same stress with run-down protection off: see the crash.
#   scripts/demo.sh --full [--secs N] [--neg-runs N]
#       the `make check` layer: on both kernels the full stress (until 300
#       load/unload cycles or N seconds, default 100) and the negative
#       control (protect=0), N runs per kernel (default 3), which must crash
#       or catch a use-after-free in most runs. Ends with
#       `RESULT demo: N passed, N failed`.
#
# EXR_VERBOSE=1 streams the guest's console; EXR_DEMO_DELAY_US (default
# 50000) sets how long the filter sleeps in every call. Console logs are kept
# in $EXR_CACHE/demo-logs.
set -euo pipefail
# shellcheck source=scripts/qemu.sh
. "$(dirname "$0")/qemu.sh"

usage() { sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

mode=demo protect=${PROTECT:-1} rel=${KERNEL:-} secs='' neg_runs=${NEG_RUNS:-3}
while [ $# -gt 0 ]; do
	case $1 in
	--full) mode=full ;;
	--unprotected) protect=0 ;;
	--kernel) rel=${2:?--kernel needs a release}; shift ;;
	--secs) secs=${2:?--secs needs a number}; shift ;;
	--neg-runs) neg_runs=${2:?--neg-runs needs a number}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option '$1' (see $0 --help)" ;;
	esac
	shift
done
[[ $protect =~ ^[01]$ ]] || die "PROTECT must be 0 or 1, not '$protect'"
[[ -z $secs || $secs =~ ^[1-9][0-9]{0,3}$ ]] || die "--secs wants a number of seconds, not '$secs'"
[[ $neg_runs =~ ^[1-9][0-9]?$ ]] || die "--neg-runs wants a number from 1 to 99, not '$neg_runs'"

# The stress, the same for the protected run and the negative control. The
# handler sleeps DELAY_US with the buffer in hand: longer than an unload
# takes under TCG, so that without protection a call is still asleep in the
# filter's code when that code is freed.
STRESS="THREADS=2 INTERVAL_US=0 IOCTL_CLIENTS=2 READ_CLIENTS=1 DD_READERS=1
DELAY_US=${EXR_DEMO_DELAY_US:-50000} SPIN_US=20 HOLD_US=10000 SWAP_US=20000"
# oops=panic: the first oops ends the run (a negative control has shown what
# it had to; a protected run has failed). log_buf_len: room for the per-load
# lines of hundreds of cycles.
APPEND="log_buf_len=4M oops=panic"
# A cycle takes 0.3 to 0.5 s under the stress (TCG; slower when the host is
# busy): the full run does 200 to 300 of them, and asks for at least 150 so
# that a loaded host does not fail it.
DEMO_SECS=${secs:-25} DEMO_CYCLES=1000 DEMO_MIN_CYCLES=20
FULL_SECS=${secs:-100} FULL_CYCLES=300 FULL_MIN_CYCLES=150

mkdir -p "$EXR_CACHE/tmp"
work=$(mktemp -d "$EXR_CACHE/tmp/demo.XXXXXX")
logdir=$EXR_CACHE/demo-logs
mkdir -p "$logdir"
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
pass() { passed=$((passed + 1)); printf '  PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf '  FAIL %s\n' "$*"; }
# need TEST...: one condition of the check being built; verdict NAME DETAIL
# counts the check (passed if every need since the last verdict held).
ok=1
need() { "$@" 2>/dev/null || ok=0; }
verdict() {
	if [ "$ok" = 1 ]; then pass "$1${2:+: $2}"; else fail "$1${2:+: $2}"; fi
	ok=1
}

# 1234567 -> 1,234,567
num() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"${1:-0}"; }

# build_modules REL: build for REL, and keep stripped copies of our three
# modules for the guest: without their debug info (90% of the file) a load
# or unload cycle is quicker, and oopses still name our functions.
declare -A bdir
build_modules() {
	local out m
	out=$("$EXR_ROOT/scripts/build.sh" "$1") || return 1
	out=$(tail -n 1 <<<"$out")
	bdir[$1]=$work/modules-$1
	mkdir -p "${bdir[$1]}" || return 1
	for m in ex_rundown rundown_demo rundown_demo_filter; do
		strip --strip-debug -o "${bdir[$1]}/$m.ko" "$out/$m.ko" || return 1
	done
}

build_client() {
	gcc -static -O2 -Wall -Wextra -Werror -I"$EXR_ROOT/src/demo" \
		-o "$work/rundown_demo_client" "$EXR_ROOT/src/demo/rundown_demo_client.c"
}

# boot_stress REL PROTECT SECS CYCLES LOG: one stress run in QEMU.
boot_stress() {
	local rel=$1 prot=$2 s=$3 cycles=$4 logf=$5 d=${bdir[$1]} conf initrd
	conf=$work/demo.conf
	# The negative control skips the bad-input checks: the
	# protected run makes them, and here only the crash matters.
	printf '%s\nPROTECT=%s SECS=%s MAX_CYCLES=%s BADINPUT=%s\n' \
		"$STRESS" "$prot" "$s" "$cycles" "$prot" >"$conf"
	initrd=$work/initramfs-$rel.cpio.gz
	make_initramfs "$initrd" "$EXR_ROOT/scripts/demo-guest.sh" \
		"$d/ex_rundown.ko" "$d/rundown_demo.ko" "$d/rundown_demo_filter.ko" \
		"$work/rundown_demo_client" "$conf" || return 1
	# The timeout only catches a hung guest: boot and setup take ~15 s.
	qemu_boot "$rel" "$initrd" "$logf" $((s + 120)) "$APPEND" || true
}

# parse_log LOG: the EXR-* lines of a run as shell assignments (see
# scripts/demo-guest.sh for what they are).
parse_log() {
	awk '
	function kv(line, key,    m) {
		if (match(line, "(^| )" key "=[^ ]*")) {
			m = substr(line, RSTART, RLENGTH); sub(/^ /, "", m)
			return substr(m, length(key) + 2)
		}
		return ""
	}
	function set(name, value) { out[name] = value }
	/^EXR-CHECK ok /   { ck_ok++ }
	/^EXR-CHECK FAIL / { ck_fail++; l = $0; sub(/^EXR-CHECK FAIL /, "", l); gsub(/\047/, "", l)
			     ck_failed = ck_failed (ck_failed ? "; " : "") l }
	/^EXR-CONFIG / { for (i = 2; i <= NF; i++) { split($i, a, "="); set("cfg_" a[1], a[2]) } }
	/^EXR-BASE /   { for (i = 2; i <= NF; i++) { split($i, a, "="); set("base_" a[1], a[2]) } }
	/^EXR-CYCLES / { for (i = 2; i <= NF; i++) { split($i, a, "="); set("cyc_" a[1], a[2]) } }
	/^EXR-FINAL /  { final = 1; for (i = 2; i <= NF; i++) { split($i, a, "="); set("fin_" a[1], a[2]) } }
	/^EXR-SWAPLOOP / { set("sl_writes", kv($0, "writes")); set("sl_errors", kv($0, "errors")) }
	/^EXR-DD /     { dd_reads += kv($0, "reads"); dd_errors += kv($0, "errors") }
	/^EXR-CLIENT / {
		m = kv($0, "mode"); cl_n++
		cl_req[m] += kv($0, "requests"); cl_errors += kv($0, "errors")
		cl_ran += kv($0, "ran"); cl_skipped += kv($0, "skipped")
	}
	/^EXR-UAF-MARKERS / { set("uaf_markers", $2) }
	/RUNDOWN-DEMO-UAF/ && !/^EXR-/ { uaf_console++ }
	/^EXR-REG / {
		id = $2; nreg++; if (id + 0 > maxid) maxid = id + 0
		r_disp[id] = $4; r_skip[id] = $5; r_busy[id] = $6; r_uaf[id] = $7; r_swaps[id] = $8
		s_disp += $4; s_skip += $5; s_busy += $6; s_uaf += $7; s_swaps += $8; s_swskip += $9
		if ($10 > 0) inflight_n++
		waits[nreg] = $11; infl[nreg] = $10
		wl = wl (wl ? " " : "") sprintf("%.1f", $11 / 1e6)
	}
	/^EXR-FILTER / {
		id = kv($0, "id"); nfil++; if (id + 0 > maxid) maxid = id + 0
		f_calls[id] = kv($0, "calls"); f_busy[id] = kv($0, "busy")
		f_uaf[id] = kv($0, "uaf"); f_swaps[id] = kv($0, "swaps")
	}
	function median(arr, n,    i, j, t, b) {
		if (!n) return 0
		for (i = 1; i <= n; i++) b[i] = arr[i]
		for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
		return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
	}
	function max(arr, n,    i, m) { m = 0; for (i = 1; i <= n; i++) if (arr[i] + 0 > m) m = arr[i] + 0; return m }
	END {
		# Loads whose counts differ; the first few are named.
		match_n = 0; bad_n = 0; mismatch = ""
		for (id = 1; id <= maxid; id++) {
			if (!(id in r_disp) && !(id in f_calls)) continue
			if (!(id in f_calls)) d = " id " id " (no filter line)"
			else if (!(id in r_disp)) d = " id " id " (no manager record)"
			else if (r_disp[id] != f_calls[id] || r_busy[id] != f_busy[id] ||
				 r_uaf[id] != f_uaf[id] || r_swaps[id] != f_swaps[id])
				d = sprintf(" id %s (manager %s/%s/%s/%s, filter %s/%s/%s/%s)", id,
					r_disp[id], r_busy[id], r_uaf[id], r_swaps[id],
					f_calls[id], f_busy[id], f_uaf[id], f_swaps[id])
			else { match_n++; continue }
			if (++bad_n <= 3) mismatch = mismatch d
		}
		if (bad_n > 3) mismatch = mismatch sprintf(" and %d more", bad_n - 3)
		set("ck_ok", ck_ok + 0); set("ck_fail", ck_fail + 0); set("ck_failed", ck_failed)
		set("final", final + 0)
		set("dd_reads", dd_reads + 0); set("dd_errors", dd_errors + 0)
		set("cl_n", cl_n + 0); set("cl_ioctl", cl_req["ioctl"] + 0); set("cl_read", cl_req["read"] + 0)
		set("cl_errors", cl_errors + 0)
		set("uaf_console", uaf_console + 0)
		set("nreg", nreg + 0); set("nfil", nfil + 0); set("match_n", match_n); set("mismatch", mismatch)
		set("s_disp", s_disp + 0); set("s_skip", s_skip + 0); set("s_busy", s_busy + 0)
		set("s_uaf", s_uaf + 0); set("s_swaps", s_swaps + 0); set("s_swskip", s_swskip + 0)
		set("inflight_n", inflight_n + 0)
		set("wait_med_ms", sprintf("%.1f", median(waits, nreg) / 1e6))
		set("wait_max_ms", sprintf("%.1f", max(waits, nreg) / 1e6))
		set("infl_med", median(infl, nreg)); set("infl_max", max(infl, nreg))
		set("wait_list", wl)
		for (k in out) { v = out[k]; gsub(/[^-A-Za-z0-9_.=:;()\/ ]/, "", v); printf "%s=\047%s\047\n", k, v }
	}' "$1"
}

# All the names parse_log may set, cleared before each parse.
reset_parsed() {
	local v
	for v in $(compgen -v | grep -E '^(cfg|base|cyc|fin|sl|dd|cl|ck|s|r|f)_|^(uaf_markers|uaf_console|final|nreg|nfil|match_n|mismatch|inflight_n|wait_med_ms|wait_max_ms|infl_med|infl_max|wait_list)$'); do
		unset "$v"
	done
}

# judge_protected REL LOG MIN_CYCLES: the checks of a protected run, and its
# report; sets the globals of parse_log.
# shellcheck disable=SC2154 # the eval of parse_log's output sets them
judge_protected() {
	local rel=$1 logf=$2 min_cycles=$3 why requests outcomes
	reset_parsed
	eval "$(parse_log "$logf")"

	requests=$(( ${fin_requests_read:-0} + ${fin_requests_ioctl:-0} + ${fin_requests_kthread:-0} ))
	outcomes=$(( ${fin_ran:-0} + ${fin_skipped:-0} + ${fin_unfiltered:-0} ))
	report "$rel" "$requests"

	echo " Checks"
	echo " ------"
	if why=$(qemu_check_log "$logf"); then
		pass "kernel log clean: no BUG, Oops, WARNING, use-after-free or hung task; taint only O/E"
	else
		fail "kernel log clean: $(tr '\n' ' ' <<<"$why" | cut -c1-300)"
	fi
	need [ "$final" = 1 ]
	verdict "the guest ran to the end" ""

	need [ "${ck_fail:-0}" = 0 ]
	need [ "${ck_ok:-0}" -ge 20 ]
	verdict "guest checks (bad input, parameters, each unload)" \
		"${ck_ok:-0} ok, ${ck_fail:-0} failed${ck_failed:+: $ck_failed}"

	need [ "${cyc_cycles:-0}" -ge "$min_cycles" ]
	verdict "load/unload cycles" "${cyc_cycles:-0} (want at least $min_cycles)"

	need [ "${fin_registrations:-x}" = "${cyc_cycles:-y}" ]
	need [ "${fin_unregistrations:-x}" = "${cyc_cycles:-y}" ]
	need [ "$nreg" = "${cyc_cycles:-y}" ]
	verdict "every load registered once and unregistered once" \
		"cycles ${cyc_cycles:-?}, registrations ${fin_registrations:-?}, unregistrations ${fin_unregistrations:-?}, records $nreg"

	need [ "$nreg" -gt 0 ]
	need [ "$match_n" = "$nreg" ]
	need [ "$nfil" = "$nreg" ]
	verdict "per load: the filter's own count = the manager's (calls, busy, use-after-free, swaps)" \
		"$match_n of $nreg loads agree${mismatch:+; differ:$mismatch}"

	need [ "$final" = 1 ]
	need [ "$requests" = "$outcomes" ]
	verdict "every request ran in the filter, was skipped or found no filter" \
		"requests $requests = ran ${fin_ran:-?} + skipped ${fin_skipped:-?} + unfiltered ${fin_unfiltered:-?} = $outcomes"

	need [ "$s_disp" = "${fin_ran:-x}" ]
	need [ "$s_skip" = "${fin_skipped:-x}" ]
	need [ "$s_busy" = "${fin_busy:-x}" ]
	need [ "$s_swaps" = "${fin_swaps:-x}" ]
	need [ "$s_swskip" = "${fin_swaps_skipped:-x}" ]
	verdict "the registrations add up to the totals" \
		"dispatched $s_disp/${fin_ran:-?}, skipped $s_skip/${fin_skipped:-?}, busy $s_busy/${fin_busy:-?}, swaps $s_swaps/${fin_swaps:-?}, swaps refused $s_swskip/${fin_swaps_skipped:-?}"

	local ioctl_k=$(( ${fin_requests_ioctl:-0} - ${base_requests_ioctl:-0} ))
	local read_k=$(( ${fin_requests_read:-0} - ${base_requests_read:-0} ))
	need [ "$final" = 1 ]
	need [ "$cl_n" -gt 0 ]
	need [ "$cl_ioctl" = "$ioctl_k" ]
	need [ "$((cl_read + dd_reads))" = "$read_k" ]
	need [ "$((cl_errors + dd_errors))" = 0 ]
	verdict "user space counted what the manager counted" \
		"ioctl $cl_ioctl/$ioctl_k, read $((cl_read + dd_reads))/$read_k, errors $((cl_errors + dd_errors))"

	local swap_k=$(( ${fin_swap_requests:-0} - ${base_swap_requests:-0} ))
	need [ "${sl_writes:-x}" = "$swap_k" ]
	need [ "${fin_swap_requests:-x}" = $(( ${fin_swaps:-0} + ${fin_swaps_skipped:-0} + ${fin_swaps_unfiltered:-0} + ${fin_swap_errors:-0} )) ]
	need [ "${fin_swaps:-0}" -gt 0 ]
	need [ "${fin_swap_errors:-1}" = 0 ]
	need [ "${sl_errors:-1}" = 0 ]
	verdict "every swap order was carried out, refused during an unload or found no filter" \
		"ordered ${sl_writes:-?}/$swap_k; swapped ${fin_swaps:-?} + refused ${fin_swaps_skipped:-?} + no filter ${fin_swaps_unfiltered:-?} + failed ${fin_swap_errors:-?}"

	need [ "${fin_uaf:-x}" = 0 ]
	need [ "${uaf_markers:-x}" = 0 ]
	need [ "$uaf_console" = 0 ]
	verdict "no use-after-free seen by any reader" \
		"filter checks ${fin_uaf:-?}, log markers ${uaf_markers:-?}"

	need [ "$inflight_n" -gt 0 ]
	need [ "${fin_skipped:-0}" -gt 0 ]
	need [ "${fin_busy:-0}" -gt 0 ]
	verdict "the races were really run: unloads with calls in flight, calls refused" \
		"$inflight_n of $nreg unloads began with calls in flight; ${fin_skipped:-0} calls and ${fin_busy:-0} scans refused"
	echo
}

# report REL REQUESTS: the human-readable table of a protected run.
# shellcheck disable=SC2154 # the eval of parse_log's output sets them
report() {
	local rel=$1 requests=$2
	cat <<EOF

 Run-down protection demo on $rel: ${cfg_cpus:-?} vCPUs, protection ON
 ---------------------------------------------------------------------------
 load: ${cfg_threads:-?} kernel threads, ${cfg_ioctl_clients:-?} ioctl + ${cfg_read_clients:-?} read() clients and ${cfg_dd_readers:-?} dd on
       /dev/rundown_demo; the filter sleeps $(( ${cfg_delay_us:-0} / 1000 )) ms in every call; a loop loads and
       unloads it, another orders a buffer swap every $(( ${cfg_swap_us:-0} / 1000 )) ms; $(( ${cyc_elapsed_ms:-0} / 1000 )) s
EOF
	printf ' %-44s %14s   %s\n' \
		"requests sent" "$(num "$requests")" "read $(num "${fin_requests_read:-0}"), ioctl $(num "${fin_requests_ioctl:-0}"), threads $(num "${fin_requests_kthread:-0}")" \
		"  ran in the filter" "$(num "${fin_ran:-0}")" "" \
		"    scanned" "$(num $(( ${fin_ran:-0} - ${fin_busy:-0} - ${fin_uaf:-0} )))" "" \
		"    refused by the buffer (swap under way)" "$(num "${fin_busy:-0}")" "" \
		"  refused: filter being unloaded" "$(num "${fin_skipped:-0}")" "" \
		"  no filter loaded at the time" "$(num "${fin_unfiltered:-0}")" "" \
		"filter load/unload cycles" "$(num "${cyc_cycles:-0}")" "rmmod failed ${cyc_rmmod_failed:-?}, insmod failed ${cyc_insmod_failed:-?}" \
		"buffer swaps" "$(num "${fin_swaps:-0}")" "of $(num "${fin_swap_requests:-0}") ordered: $(num "${fin_swaps_unfiltered:-0}") found no filter, $(num "${fin_swaps_skipped:-0}") refused (unload)" \
		"rmmod wait for calls in flight (ms)" "$wait_med_ms" "median; max $wait_max_ms" \
		"calls in flight when rmmod began" "$infl_med" "median; max $infl_max" \
		"use-after-free detected" "$(num "${fin_uaf:-0}")" ""
	echo " wait of each unload (ms):"
	fold -s -w 74 <<<"$wait_list" | sed 's/^/   /'
	echo
}

# neg_outcome LOG: how a negative-control run ended. Prints one line; true if
# it crashed or caught a use-after-free.
neg_outcome() {
	local logf=$1 class uaf bug how n
	class=$(qemu_classify_log "$logf")
	uaf=$(grep -c 'RUNDOWN-DEMO-UAF' "$logf" || true)
	bug=$(grep -m 1 -E 'BUG:|general protection fault|Oops' "$logf" | sed 's/^\[[ 0-9.]*\] //' || true)
	how=''
	grep -q 'supervisor instruction fetch' "$logf" && how=' (instruction fetch: the CPU ran into freed module code)'
	n=$(grep -c '^EXR-UNLOADED ' "$logf" || true)
	case $class in
	oops | panic)
		[ "$uaf" -gt 0 ] && how="$how; $uaf use-after-free report(s) before"
		echo "crashed after $n completed unload(s): $bug$how"
		return 0 ;;
	esac
	if [ "$uaf" -gt 0 ]; then
		echo "no crash ($class), but the readers caught $uaf use-after-free(s) of the freed buffer (RUNDOWN-DEMO-UAF)"
		return 0
	fi
	echo "SURVIVED ($class): no crash and no use-after-free seen"
	return 1
}

# show_crash LOG: the gist of the first oops (what faulted, where, called
# from which of our functions), and the first use-after-free reports.
show_crash() {
	echo " the kernel log at the crash (the gist of it):"
	sed -n '/BUG:\|general protection fault/,/Modules linked in/p' "$1" |
		grep -E 'BUG:|#PF:|Oops|general protection|Comm:|RIP:|Call Trace|\[rundown_demo|Modules linked in' |
		head -n 20 | sed 's/^/   | /' || true
	if grep -q 'RUNDOWN-DEMO-UAF' "$1"; then
		echo " and before it, readers of the swapped buffer found it freed (poison check):"
		grep -m 3 'RUNDOWN-DEMO-UAF' "$1" | sed 's/^/   | /' || true
	fi
}

setup() {
	phase "installing what the demo needs" "$EXR_ROOT/scripts/deps.sh" qemu ||
		die "cannot install the packages the demo needs"
	phase "building the user-space client (static, for the guest)" build_client ||
		die "cannot build src/demo/rundown_demo_client.c"
	local r
	for r in "$@"; do
		phase "building the modules for $r (W=1)" build_modules "$r" ||
			die "cannot build the modules for $r"
		phase "fetching Debian's kernel $r" fetch_kernel "$r" >/dev/null ||
			die "cannot fetch linux-image-$r"
	done
}

run_demo() {
	local logf
	local rels
	mapfile -t rels < <(kernel_releases)
	[ -n "$rel" ] || rel=${rels[0]:?no kernel release (scripts/deps.sh build)}
	setup "$rel"
	logf=$logdir/demo-$rel-protect$protect.log
	phase "stress run on $rel, protection $([ "$protect" = 1 ] && echo on || echo OFF), ${DEMO_SECS}s (console: $logf)" \
		boot_stress "$rel" "$protect" "$DEMO_SECS" "$DEMO_CYCLES" "$logf"
	if [ "$protect" = 0 ]; then
		echo
		echo " Run-down protection demo on $rel: ${DEMO_SECS}s stress, protection OFF (protect=0)"
		echo " ---------------------------------------------------------------------------"
		local out
		if out=$(neg_outcome "$logf"); then
			echo " $out"
			show_crash "$logf"
			echo
			echo " VERDICT: without run-down protection the same stress broke the kernel, as"
			echo " expected. Run 'make demo' (protection on) to see it survive."
			return 0
		fi
		echo " $out"
		echo " VERDICT: FAIL: the negative control did not fail; log: $logf"
		return 1
	fi
	judge_protected "$rel" "$logf" "$DEMO_MIN_CYCLES"
	if [ "$failed" = 0 ]; then
		echo " VERDICT: PASS: ${cyc_cycles:-0} unloads under load, each one waited for the calls in"
		echo " flight; no crash, no use-after-free, and every request accounted for."
		echo " (make demo PROTECT=0 runs the same without protection: see it crash.)"
	else
		echo " VERDICT: FAIL ($failed check(s)); console log: $logf"
	fi
	[ "$failed" = 0 ]
}

run_full() {
	local rels r i logf out crashed t0 summary=()
	mapfile -t rels < <(kernel_releases)
	setup "${rels[@]}"
	for r in "${rels[@]}"; do
		logf=$logdir/full-$r-protected.log
		t0=$(date +%s)
		phase "full stress on $r, protection on (up to $FULL_CYCLES cycles or ${FULL_SECS}s)" \
			boot_stress "$r" 1 "$FULL_SECS" "$FULL_CYCLES" "$logf"
		judge_protected "$r" "$logf" "$FULL_MIN_CYCLES"
		summary+=("$(printf '%-22s protected: %4s cycles, %5s swaps, rmmod wait median %s ms max %s ms (%ss)' \
			"$r" "${cyc_cycles:-0}" "${fin_swaps:-0}" "$wait_med_ms" "$wait_max_ms" $(( $(date +%s) - t0 )))")

		crashed=0
		for i in $(seq 1 "$neg_runs"); do
			logf=$logdir/full-$r-unprotected-$i.log
			t0=$(date +%s)
			phase "negative control on $r, protect=0, run $i of $neg_runs (expected to crash)" \
				boot_stress "$r" 0 "$FULL_SECS" "$FULL_CYCLES" "$logf"
			if out=$(neg_outcome "$logf"); then
				crashed=$((crashed + 1))
				echo "  XFAIL (as expected) run $i: $out [$(( $(date +%s) - t0 ))s]"
			else
				echo "  XPASS (unexpected) run $i: $out; log: $logf"
			fi
		done
		need [ $((crashed * 2)) -gt "$neg_runs" ]
		verdict "negative control on $r: protect=0 crashes or is caught" \
			"$crashed of $neg_runs runs (want more than half)"
		summary+=("$(printf '%-22s protect=0:  %s of %s runs crashed or caught a use-after-free' \
			"$r" "$crashed" "$neg_runs")")
		echo
	done
	echo " Summary"
	printf '   %s\n' "${summary[@]}"
	echo "RESULT demo: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}

if [ "$mode" = full ]; then
	run_full
else
	run_demo
fi
