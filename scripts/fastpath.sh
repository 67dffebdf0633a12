#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What no timing noise can blur: the locked read-modify-write instructions
# and the calls on the common path of every fast path of the API, read
# from the disassembly of a built module.
#
#   scripts/fastpath.sh [--kernel REL]... [--ko FILE]... [--info FILE]
#
#   --kernel REL   check the modules built by scripts/build.sh REL (repeatable;
#                  default: every release of `kernel_releases`)
#   --ko FILE      check this ex_rundown_bench.ko instead (repeatable)
#   --info FILE    also show, unchecked, the loops of this ex_rundown_bench.ko
#                  (what each alternative costs; default: each checked module)
#
# The fast paths are inline (include/ex_rundown.h), so they are read where a
# user's module gets them: src/ex_rundown_fastpath.c compiles each once, out
# of line, as exr_fastpath_<name>() in ex_rundown_bench.ko.
#
# Targets (issue 4): the shared-counter family, ex_rundown_{acquire,release}
# and their _many forms, one locked RMW per call; the per-CPU family,
# ex_rundown_pcpu_*, none. Both: no call on the common path.
#
# The common path, and how it is found. Every rare branch in the C code is
# marked unlikely(), and GCC lays a function out with the likely path
# falling through from the entry and the unlikely blocks moved after it (or
# to a .cold part). The common path is therefore taken to be the
# instructions from the entry, in address order, up to the first one that
# leaves the function: a `ret`, a `jmp` to __x86_return_thunk (how `ret` is
# spelt under return-thunk mitigations), or a `jmp` to another function (a
# tail call, counted as a call). Branches from it to later addresses lead to
# the cold blocks (slow paths, warnings, preempt_schedule()); a backward
# branch inside it is a retry loop, whose body is counted once. So that a
# change of layout cannot make the check pass by accident, the region must
# contain the operation that does the work: for the shared-counter family
# a `lock cmpxchg` (acquire) or `lock xadd` (release), for the other a
# %gs-relative add/sub/inc/dec on the per-CPU slot; if it does not, the
# function fails as "layout not understood".
#
# Counted as locked RMW: any `lock`-prefixed instruction, and `xchg` with a
# memory operand (implicitly locked). Counted as calls: every `call` except
# the one to __fentry__ (the ftrace hook, patched to a 5-byte NOP when the
# module loads and only live while the function is traced).
#
# Prints a table; the last line is "RESULT fastpath: N passed, N failed"
# (two checks per function and module: locked RMW, calls).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernels=()
kos=()
info=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || die "--kernel needs a release"; kernels+=("$2"); shift 2 ;;
	--ko) [ $# -ge 2 ] || die "--ko needs a file"; kos+=("$2"); shift 2 ;;
	--info) [ $# -ge 2 ] || die "--info needs a file"; info=$2; shift 2 ;;
	-h|--help) sed -n '6,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

command -v objdump >/dev/null || die "objdump missing (binutils; scripts/deps.sh build)"

if [ ${#kos[@]} -eq 0 ]; then
	if [ ${#kernels[@]} -eq 0 ]; then
		mapfile -t kernels < <(kernel_releases)
	fi
	# build_into REL FILE: build for REL, the build dir into FILE.
	build_into() { "$EXR_ROOT/scripts/build.sh" "$1" | tail -n 1 >"$2"; }
	mkdir -p "$EXR_CACHE/tmp"
	dirfile=$(mktemp "$EXR_CACHE/tmp/fastpath.XXXXXX")
	trap 'rm -f "$dirfile"' EXIT
	for rel in "${kernels[@]}"; do
		phase "build against $rel" build_into "$rel" "$dirfile" ||
			die "build against $rel failed"
		kos+=("$(cat "$dirfile")/ex_rundown_bench.ko")
	done
fi

# Functions checked, with the locked RMW count expected on the common path
# and the signature that proves the region holds the real work.
checks=(
	"ex_rundown_acquire 1 cmpxchg"
	"ex_rundown_acquire_many 1 cmpxchg"
	"ex_rundown_release 1 xadd"
	"ex_rundown_release_many 1 xadd"
	"ex_rundown_pcpu_acquire 0 percpu"
	"ex_rundown_pcpu_acquire_many 0 percpu"
	"ex_rundown_pcpu_release 0 percpu"
	"ex_rundown_pcpu_release_many 0 percpu"
)

# analyse KO FUNC: print "found insns locked calls sig fentry calllist"
# for FUNC's common path (found=0 if the symbol is missing).
analyse() {
	local ko=$1 fn=$2
	objdump -dr --no-show-raw-insn "$ko" | awk -v fn="$fn" '
	# Function header: "0000000000000930 <name>:"
	/^[0-9a-f]+ <[^>]+>:$/ {
		if (infn) { done = 1 }
		name = $2; sub(/^</, "", name); sub(/>:$/, "", name)
		if (name == fn && !done) infn = 1
		next
	}
	!infn || done { next }
	/^$/ { if (infn) done = 1; next }
	# Relocation: "   935: R_X86_64_PLT32	__fentry__-0x4" belongs to the
	# instruction before it.
	/R_X86_64_/ {
		sym = $NF; sub(/[-+]0x[0-9a-f]+$/, "", sym)
		reloc[n] = sym
		next
	}
	/^ +[0-9a-f]+:\t/ {
		n++
		split($0, f, "\t")
		gsub(/^ +| +$/, "", f[2]); insn[n] = f[2]
		next
	}
	END {
		if (!infn) { print "0"; exit }
		locked = calls = sig = fentry = 0; calllist = ""
		for (i = 1; i <= n; i++) {
			ins = insn[i]; split(ins, w, /[ \t]+/); op = w[1]
			if (op == "lock") { locked++; op2 = w[2] } else op2 = op
			if (op ~ /^xchg/ && ins ~ /\(/) locked++
			if (op2 ~ /^cmpxchg/) sig_cmpxchg = 1
			if (op2 ~ /^xadd/) sig_xadd = 1
			if (op2 ~ /^(add|sub|inc|dec)[bwlq]?$/ && ins ~ /%gs:\(%/) sig_percpu = 1
			if (op ~ /^call/) {
				if (reloc[i] == "__fentry__") fentry = 1
				else { calls++; calllist = calllist (calllist ? "," : "") (reloc[i] ? reloc[i] : ins) }
			}
			if (op ~ /^ret/) break
			if (op ~ /^jmp/) {
				if (reloc[i] == "__x86_return_thunk") break
				if (reloc[i] != "" || (ins ~ /</ && ins !~ ("<" fn "[+>]"))) {
					calls++; calllist = calllist (calllist ? "," : "") "tail:" (reloc[i] ? reloc[i] : ins)
					break
				}
			}
		}
		sigs = (sig_cmpxchg ? "cmpxchg" : "")
		if (sig_xadd) sigs = sigs (sigs != "" ? "+" : "") "xadd"
		if (sig_percpu) sigs = sigs (sigs != "" ? "+" : "") "percpu"
		if (sigs == "") sigs = "none"
		printf "1 %d %d %d %s %d %s\n", (i > n ? n : i), locked, calls, sigs, fentry, (calllist == "" ? "-" : calllist)
	}'
}

passed=0
failed=0

printf '%-22s %-30s %6s %6s %6s %-14s %s\n' "module" "function" "insns" "locked" "calls" "does the work" "verdict"
for ko in "${kos[@]}"; do
	[ -f "$ko" ] || die "no module at $ko"
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null | awk '{print $1}')
	label=${vermagic:-$(basename "$(dirname "$ko")")}
	for c in "${checks[@]}"; do
		read -r fn want sigwant <<<"$c"
		read -r found insns locked calls sigs _fentry calllist < <(analyse "$ko" "exr_fastpath_$fn") || found=0
		if [ "${found:-0}" != 1 ]; then
			printf '%-22s %-30s %6s %6s %6s %-14s %s\n' "$label" "$fn" - - - - "FAIL: symbol not found"
			failed=$((failed + 2))
			continue
		fi
		verdict=ok
		if [[ $sigs != *"$sigwant"* ]]; then
			verdict="FAIL: layout not understood (no $sigwant on the common path)"
			failed=$((failed + 2))
		else
			if [ "$locked" -eq "$want" ]; then
				passed=$((passed + 1))
			else
				verdict="FAIL: $locked locked RMW, want $want"
				failed=$((failed + 1))
			fi
			if [ "$calls" -eq 0 ]; then
				passed=$((passed + 1))
			else
				[ "$verdict" = ok ] && verdict="FAIL:" || verdict="$verdict;"
				verdict="$verdict $calls call(s), want 0: $calllist"
				failed=$((failed + 1))
			fi
		fi
		printf '%-22s %-30s %6s %6s %6s %-14s %s\n' "$label" "$fn" "$insns" "$locked" "$calls" "$sigs" "$verdict"
	done
done

# The alternatives, for comparison only: each benchmark loop's common path
# holds one acquire+release pair (GCC may lay out part of a second one).
infos=()
if [ -n "$info" ]; then
	infos=("$info")
else
	infos=("${kos[@]}")
fi
for b in ${infos[@]+"${infos[@]}"}; do
	[ -f "$b" ] || die "no module at $b"
	vermagic=$(modinfo -F vermagic "$b" 2>/dev/null | awk '{print $1}')
	echo
	echo "for comparison, unchecked: the benchmark's loops in $(basename "$b") (${vermagic:-?}), entry to first return:"
	echo "  (the loop's own instructions; what the called functions do is not included)"
	printf '  %-34s %6s %6s  %s\n' "loop" "locked" "calls" "call targets"
	for fn in $(objdump -t "$b" | awk '$NF ~ /^exr_bench_loop_/ {print $NF}' | sort); do
		read -r found _insns locked calls _sigs _fentry calllist < <(analyse "$b" "$fn") || continue
		[ "$found" = 1 ] || continue
		printf '  %-34s %6s %6s  %s\n' "$fn" "$locked" "$calls" "$calllist"
	done
done

echo "RESULT fastpath: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
