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
#   x86_64-kcsan  + smp.config kcsan.config: a real SMP kernel in QEMU,
#                 -smp 4, with KCSAN
#   x86_64-rt     + smp.config rt.config: PREEMPT_RT with lockdep, the
#                 hard-IRQ cases on a kernel where spinlock_t sleeps
#   arm64         + smp.config, cross-compiled, in QEMU with -smp 4: a
#                 weakly ordered CPU; every module of the project also
#                 builds W=1 against it
# The suite on the newest linux-source is not grafted: scripts/upstream.sh
# runs it there from the upstream series, as lib/tests/ of the tree.
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

all=(um um-debug um-holders x86_64-kcsan x86_64-rt arm64)
declare -A fragments=([um]=uml.config [um-debug]='uml.config checkers.config' [um-holders]='uml.config holders.config'
	[x86_64]=smp.config [x86_64-kcsan]='smp.config kcsan.config'
	[x86_64-rt]='smp.config rt.config' [arm64]=smp.config)
configs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do configs+=("$1"); shift; done
[ "${1:-}" != -- ] || shift
if [ ${#configs[@]} -eq 0 ]; then
	configs=("${all[@]}")
fi

if [ -n "${KUNIT_SRC:-}" ]; then
	tree=$(realpath "$KUNIT_SRC") && [ -f "$tree/tools/testing/kunit/kunit.py" ] ||
		die "KUNIT_SRC=$KUNIT_SRC is not a kernel source tree with kunit.py"
else
	tree=$(kernel_source_tree) || exit 1
fi

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

run_config() {
	local c=$1 dir=$EXR_CACHE/kunit/${1%-holders} arch=um frag args rc

	shift
	[ -n "${fragments[$c]+set}" ] || { not_ok "$c: no such configuration (${all[*]})"; return; }
	[[ $c != x86_64* ]] || arch=x86_64
	[ "$c" != arm64 ] || arch=arm64
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
	kunit_count "$dir/kunit.log" "$rc" "$c: kunit.py run (log $dir/kunit.log)"
	# A filter after -- may leave suites out on purpose.
	[ $# -gt 0 ] || expect "$c: every suite of kunit/ ran" kunit_all_suites "$dir/test.log"
	expect "$c: sanitizers asked for are compiled in" sanitizers_on "$dir"
	expect "$c: kernel log clean" kunit_log_clean "$dir" 'drivers/ex_rundown/src/[a-z_]*\.c'
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
