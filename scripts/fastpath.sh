#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What no timing noise can blur: the locked read-modify-write instructions
# and the calls on the common path of each fast path, in the disassembly of
# exr_fastpath_<name>() (bench/ex_rundown_fastpath.c) in ex_rundown_bench.ko.
# Targets (issue 4): one locked RMW in ex_rundown_{acquire,release}[_many],
# none in ex_rundown_pcpu_*, no call in any.
#
# x86_64 only: it reads x86 instructions (lock prefixes, %gs per-CPU
# operands). arm64's fast paths (LSE atomics or LL/SC loops) are built and
# run by the arm64 KUnit configuration, but not disassembled here.
#
#   scripts/fastpath.sh [REL | FILE.ko]...   default: every kernel_releases
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v objdump >/dev/null || die "objdump missing (binutils; scripts/deps.sh build)"
# shellcheck disable=SC2046 # releases have no blanks
[ $# -gt 0 ] || set -- $(kernel_releases)
echo "# x86_64 disassembly only: arm64's fast paths are built and run by KUnit, not read here"

# common_paths KO: "NAME INSNS LOCKED CALLS WORK CALLEES" for the common path
# of each exr_fastpath_* and exr_bench_loop_* function in KO: rare branches
# are unlikely(), so it falls through from the entry to the first ret, jmp
# to __x86_return_thunk or tail call (a call); a retry loop counts once.
# Locked: `lock` and xchg with memory; calls: all but __fentry__. WORK: the
# cmpxchg, xadd or percpu op the path must hold, lest a new layout pass.
common_paths() {
	objdump -dr --no-show-raw-insn "$1" | awk '
	function does(what) { if (index(work, what) == 0) work = work "+" what }
	function flush(  i, w, op, target, locked, calls, callees) {
		if (fn == "")
			return
		work = ""
		for (i = 1; i <= n; i++) {
			split(insn[i], w, /[ \t]+/)
			op = w[1]
			if (op == "lock") { locked++; op = w[2] }
			else if (op ~ /^xchg/ && insn[i] ~ /\(/) locked++
			if (op ~ /^cmpxchg/) does("cmpxchg")
			if (op ~ /^xadd/) does("xadd")
			# Per-CPU memory through a pointer, %gs:[off](%reg); not
			# %gs:...(%rip), a static per-CPU variable (the preempt count).
			if (op ~ /^(add|sub|inc|dec)[bwlq]?$/ && insn[i] ~ /%gs:(0x[0-9a-f]+)?\(%[a-z0-9]+\)/ &&
			    insn[i] !~ /\(%rip\)/)
				does("percpu")
			target = reloc[i] != "" ? reloc[i] : insn[i]
			if (op ~ /^call/ && target != "__fentry__") { calls++; callees = callees "," target }
			if (op ~ /^ret/ || (op ~ /^jmp/ && target == "__x86_return_thunk"))
				break
			# A jmp out of the function: a tail call.
			if (op ~ /^jmp/ && (reloc[i] != "" || (insn[i] ~ /</ && insn[i] !~ ("<" fn "[+>]")))) {
				calls++; callees = callees ",tail:" target
				break
			}
		}
		printf "%s %d %d %d %s %s\n", fn, (i > n ? n : i), locked, calls,
			(work == "" ? "none" : substr(work, 2)), (callees == "" ? "-" : substr(callees, 2))
	}
	# A function: "0000000000000930 <name>:"; not its .cold part.
	/^[0-9a-f]+ <[^>]+>:$/ {
		flush()
		fn = substr($2, 2, length($2) - 3)
		if (fn !~ /^exr_(fastpath|bench_loop)_[a-z_]+$/) fn = ""
		n = 0; delete insn; delete reloc
		next
	}
	# A relocation belongs to the instruction before it.
	fn != "" && /R_X86_64_/ { sym = $NF; sub(/[-+]0x[0-9a-f]+$/, "", sym); reloc[n] = sym; next }
	fn != "" && /^ +[0-9a-f]+:\t/ { split($0, f, "\t"); gsub(/^ +| +$/, "", f[2]); insn[++n] = f[2] }
	END { flush() }'
}

for arg; do
	ko=$arg
	[[ $arg == *.ko ]] || ko=$(modules_for "$arg")/ex_rundown_bench.ko
	[ -f "$ko" ] || die "no module at $ko"
	rel=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	paths=$(common_paths "$ko")
	echo "# $ko ($rel)"
	for fn in ex_rundown{,_pcpu}_{acquire,release}{,_many}; do
		# The locked RMW it may have, and the operation doing the work.
		case $fn in
		ex_rundown_pcpu_*) want=0 work=percpu ;;
		*acquire*) want=1 work=cmpxchg ;;
		*) want=1 work=xadd ;;
		esac
		read -r _ insns locked calls found callees <<<"$(grep "^exr_fastpath_$fn " <<<"$paths")"
		if [ -z "${insns:-}" ] || [[ $found != *$work* ]]; then
			why="layout not understood (no $work on the common path)"
			[ -n "${insns:-}" ] || why="no exr_fastpath_$fn in the module"
			not_ok "$rel $fn: locked RMW: $why"
			not_ok "$rel $fn: calls: $why"
			continue
		fi
		expect "$rel $fn: $locked locked RMW in $insns insns ($found), want $want" \
			[ "$locked" -eq "$want" ]
		expect "$rel $fn: $calls calls ($callees), want 0" [ "$calls" -eq 0 ]
	done
	echo "# for comparison, unchecked: each benchmark loop's common path (one pair, perhaps part of a next one):"
	awk '/^exr_bench_loop_/ { printf "#   %-15s %2d locked RMW, %2d calls: %s\n", substr($1, 16), $3, $4, $6 }' <<<"$paths" | sort
done
results fastpath
