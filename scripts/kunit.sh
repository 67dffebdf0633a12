#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The KUnit suite (kunit/) in every configuration: kunit.py builds and runs
# linux-source-6.12 (or KUNIT_SRC, a kernel tree of the user's) with the
# project grafted in as drivers/ex_rundown, and the suite is also built as a
# module against it. No root, no apt, once the trees are there.
#
#   scripts/kunit.sh [CONFIG...] [-- KUNIT_PY_RUN_OPTION...]
#   KUNIT_SRC=~/linux scripts/kunit.sh um     the suite on that tree
#
# CONFIG (default: all, in this order): kunit/.kunitconfig plus fragments,
# built in $EXR_CACHE/kunit/CONFIG but um-holders, built in um's (one
# option apart: Kbuild recompiles only the files that read it), as is
# make bench's UML kernel; scripts/lockdep-test.sh builds its kernel in
# um-debug's.
#   um            UML, one CPU
#   um-debug      + checkers.config: lockdep with PREEMPT_RT's nesting rules,
#                 DEBUG_ATOMIC_SLEEP, KASAN, UBSAN, holder tracking
#   um-holders    + holders.config: holder tracking without lockdep (the
#                 inline fast paths must divert to the slow paths)
#   um-newest     UML from the newest linux-source-X.Y in Debian's archive
#                 (trixie-backports, fetched by a trixie chroot: root once);
#                 not with KUNIT_SRC
#   x86_64-kcsan  + smp.config kcsan.config: a real SMP kernel in QEMU,
#                 -smp 4, with KCSAN
#   x86_64-rt     + smp.config rt.config: PREEMPT_RT with lockdep, the
#                 hard-IRQ cases on a kernel where spinlock_t sleeps
#   arm64         + smp.config, cross-compiled, in QEMU with -smp 4: a
#                 weakly ordered CPU; every module of the project also
#                 builds W=1 against it
#   x86_64        + smp.config: SMP without KCSAN (not run by default:
#                 x86_64-kcsan and x86_64-rt run the same cases on SMP)
# What follows `--` goes to `kunit.py run`, e.g. 'ex_rundown*.*irq*' or --timeout.
#
# Checks per configuration: every test case and parameter (kunit.py also
# fails a .config that lacks an option a fragment asks for); every suite
# of kunit/ ran (unless filtered); the sanitizers asked for are compiled in;
# a clean kernel log; the suite builds W=1 as an external module.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

all=(um um-debug um-holders um-newest x86_64-kcsan x86_64-rt arm64)
declare -A fragments=([um]=uml.config [um-debug]='uml.config checkers.config' [um-holders]='uml.config holders.config'
	[um-newest]='' [x86_64]=smp.config [x86_64-kcsan]='smp.config kcsan.config'
	[x86_64-rt]='smp.config rt.config' [arm64]=smp.config)
configs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do configs+=("$1"); shift; done
[ "${1:-}" != -- ] || shift
if [ ${#configs[@]} -eq 0 ]; then
	for c in "${all[@]}"; do [ -n "${KUNIT_SRC:-}" ] && [ "$c" = um-newest ] || configs+=("$c"); done
fi

if [ -n "${KUNIT_SRC:-}" ]; then
	tree=$(realpath "$KUNIT_SRC") && [ -f "$tree/tools/testing/kunit/kunit.py" ] ||
		die "KUNIT_SRC=$KUNIT_SRC is not a kernel source tree with kunit.py"
else
	tree=$(kernel_source_tree) || exit 1
fi

# The kernel log from the first test on: UML warns at boot about its PCI
# emulation having no device, which is none of our business. No report but
# the misuse warnings the suite provokes, each at most once (WARN_ONCE).
log_clean() {
	local tests=$1/test-part.log bad dup
	# "WARNING: CPU: 0 PID: 94 at FILE:LINE func", from 7.x "WARNING: FILE:LINE at func".
	local ours='WARNING: (CPU: [0-9]+ PID: [0-9]+ at )?drivers/ex_rundown/src/'

	sed -n '/K\{0,1\}TAP version/,$p' "$1/test.log" >"$tests" 2>/dev/null
	[ -s "$tests" ] || { echo "no test output in $1/test.log"; return 1; }
	bad=$(complaints "$tests" | grep -vE "$ours")
	[ -z "$bad" ] || { echo "$bad" | head -20; return 1; }
	dup=$(grep -E "$ours" "$tests" | grep -oE 'drivers/ex_rundown/src/[^ ]+' | sort | uniq -d)
	[ -z "$dup" ] || { echo "warned more than once (not WARN_ONCE) at: $dup"; return 1; }
}

# The flags of a sanitizer asked for are in ex_rundown.o's command line:
# the top Makefile drops them without a word when their cc-option probe fails.
sanitizers_on() {
	local cmd=$1/drivers/ex_rundown/src/.ex_rundown.o.cmd
	grep -q '^CONFIG_KASAN=y' "$1/.config" && ! grep -q fsanitize=kernel-address "$cmd" && return 1
	grep -q '^CONFIG_KCSAN=y' "$1/.config" && ! grep -q fsanitize=thread "$cmd" && return 1
	return 0
}

# The suite as ex_rundown_kunit.ko, in a copy of the checkout (an M= build
# writes beside the sources), every other module of the project off. On a
# cross-compiled kernel (arm64) every module, which no other layer builds:
# the library, which that kernel has built in, compiled and linked but not
# taken to modpost (its exports would be there twice); the others linked
# against the built-in one.
module_builds() {
	local dir=$1 copy=$1-extmod arch=$2 off=() mods=(ex_rundown_kunit) m
	local mk=(make -C "$dir" ARCH="$arch" M="$copy" W=1 -j2 CONFIG_EX_RUNDOWN_KUNIT_TEST=m)

	rm -rf "$copy" "$copy.log" && copy_tree "$copy"
	if [ "$arch" = arm64 ]; then
		# The torture test is built in (smp.config): a module here too,
		# on the kernel's torture framework, which no other build sees W=1.
		mk+=(CROSS_COMPILE=aarch64-linux-gnu- CONFIG_EX_RUNDOWN_TORTURE=m)
		mods+=(rundown_demo rundown_demo_filter ex_rundown_bench ex_rundown_torture)
		"${mk[@]}" CONFIG_EX_RUNDOWN=m ex_rundown.o >"$copy.log" 2>&1 &&
			[ -f "$copy/ex_rundown.o" ] || { tail -20 "$copy.log"; return 1; }
		off=(CONFIG_EX_RUNDOWN=)
	else
		mapfile -t off < <(sed -n 's/^config \(EX_RUNDOWN[A-Z0-9_]*\)$/CONFIG_\1=/p' \
			"$copy/Kconfig" | grep -v KUNIT_TEST)
	fi
	"${mk[@]}" "${off[@]}" modules >>"$copy.log" 2>&1 || { tail -20 "$copy.log"; return 1; }
	! grep -E 'warning:|WARNING:' "$copy.log" || return 1
	for m in "${mods[@]}"; do [ -f "$copy/$m.ko" ] || { echo "no $m.ko"; return 1; }; done
}

# all_suites LOG: each suite of kunit/ has a KTAP result in LOG (one may never run).
all_suites() {
	local name missing=''
	for name in $(sed -n 's/^\t\.name = "\(ex_rundown[a-z_]*\)",$/\1/p' \
		"$EXR_ROOT"/kunit/ex_rundown_test_*.c "$EXR_ROOT"/kunit/ex_rundown_guard_test.c); do
		grep -Eq "ok [0-9]+ $name[[:space:]]*\$" "$1" || missing+=" $name"
	done
	[ -z "$missing" ] || { echo "no result from:$missing"; return 1; }
}

run_config() {
	local c=$1 dir=$EXR_CACHE/kunit/${1%-holders} arch=um frag args summary rc k tree=$tree
	local -A n

	shift
	[ -n "${fragments[$c]+set}" ] || { not_ok "$c: no such configuration (${all[*]})"; return; }
	[[ $c != x86_64* ]] || arch=x86_64
	[ "$c" != arm64 ] || arch=arm64
	if [ "$c" = um-newest ]; then
		tree=$(newest_source_tree) || { not_ok "$c: the newest linux-source"; return; }
		log "$c: $(make -s -C "$tree" kernelversion 2>/dev/null) from $tree"
	fi
	# No W=1 for the whole kernel: it runs kernel-doc on each of its files,
	# minutes a build, to judge none of ours (module_builds does, W=1).
	args=(run --arch="$arch" --build_dir="$dir" --jobs=2
	      --kunitconfig="$EXR_ROOT/kunit/.kunitconfig" --json="$dir/results.json")
	for frag in ${fragments[$c]}; do args+=(--kunitconfig="$EXR_ROOT/kunit/$frag"); done
	[ "$arch" = um ] || args+=(--qemu_args="-smp 4" --timeout=900)
	[ "$arch" != arm64 ] || args+=(--cross_compile=aarch64-linux-gnu-)
	kunit_graft "$tree" "$dir"
	rm -f "$dir/results.json" "$dir/test.log"
	log "kunit.py ${args[*]} $*"
	# Its progress lines ("[12:00:00] Building ...") on the way, all in the log.
	kunit_py "$tree" "${args[@]}" "$@" 2>&1 |
		tee "$dir/kunit.log" | grep --line-buffered -E '^\[[0-9:]+\] [A-Z]'
	rc=${PIPESTATUS[0]}
	# Every leaf case, as kunit.py's own KTAP parser judged them.
	summary=$(grep -oE 'Ran [0-9]+ tests: .*' "$dir/kunit.log" | tail -n 1)
	for k in passed failed crashed errors; do
		n[$k]=$(grep -oE "$k: [0-9]+" <<<"$summary" | grep -oE '[0-9]+' || echo 0)
	done
	EXR_PASSED=$((EXR_PASSED + n[passed]))
	EXR_FAILED=$((EXR_FAILED + n[failed] + n[crashed] + n[errors]))
	if [ "${n[passed]}" -eq 0 ] || [ $rc -ne 0 ]; then
		grep -E '^\[[0-9:]+\] .*(FAILED|CRASHED|ERROR|rror)|^ERROR' "$dir/kunit.log" | head -20
		not_ok "$c: kunit.py run (exit $rc, log $dir/kunit.log)"
	fi
	log "$c: ${summary:-no result}"
	# A filter after -- may leave suites out on purpose.
	[ $# -gt 0 ] || expect "$c: every suite of kunit/ ran" all_suites "$dir/test.log"
	expect "$c: sanitizers asked for are compiled in" sanitizers_on "$dir"
	expect "$c: kernel log clean" log_clean "$dir"
	if [ "$arch" = arm64 ]; then
		expect "$c: every module of the project builds W=1 against it" module_builds "$dir" "$arch"
	else
		expect "$c: ex_rundown_kunit.ko builds W=1 against it" module_builds "$dir" "$arch"
	fi
}

command -v python3 >/dev/null || die "python3 missing (scripts/deps.sh kunit)"
times=()
for c in "${configs[@]}"; do
	t0=$SECONDS
	phase "kunit configuration $c" run_config "$c" "$@"
	times+=("$(printf '%-13s %5ds' "$c" $((SECONDS - t0)))")
done
log "times:"
printf '  %s\n' "${times[@]}"
results kunit
