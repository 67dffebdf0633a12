#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kunit layer of `make check`: the KUnit suite under every checker, the
# lockdep and hung-report scenarios, and the guard classes on both kernels.
#
#   scripts/kunit-matrix.sh [CONFIG...]     default: all, in this order
#
# CONFIG is one of
#   um            UML, as kunit/.kunitconfig says (one CPU)
#   um-debug      UML with every checker it supports (kunit/checkers.config):
#                 PROVE_LOCKING with PROVE_RAW_LOCK_NESTING (PREEMPT_RT's
#                 lock nesting rules), DEBUG_ATOMIC_SLEEP, KASAN, UBSAN, and
#                 EX_RUNDOWN_DEBUG_HOLDERS
#   um-holders    UML with holder tracking but no lockdep (kunit/holders.config):
#                 the inline fast paths must divert to the slow paths
#   x86_64        a real SMP kernel: kunit.py --arch=x86_64 in QEMU, -smp 4
#   x86_64-kcsan  the same with KCSAN (kunit/kcsan.config); UML has no KCSAN
#   x86_64-rt     the same with PREEMPT_RT (kunit/rt.config), lockdep with RT's
#                 nesting rules, DEBUG_ATOMIC_SLEEP and holder tracking: the
#                 hard-IRQ cases on a kernel where spinlock_t sleeps
#   lockdep       scripts/lockdep-test.sh: one UML boot per scenario
#   guards        the guard classes compile against Debian's 6.12 headers
#                 and are left out on 6.1 (no scoped_cond_guard() there)
#
# Each KUnit configuration is one scripts/kunit.sh run with a build dir of
# its own ($EXR_CACHE/kunit/NAME), all from the cached linux-source-6.12
# tree; builds are kept, so a second run rebuilds only what changed.
# scripts/kunit.sh fails a configuration whose .config lacks an option its
# fragment asks for (olddefconfig leaves out an option whose dependencies
# are missing), or whose objects lack a sanitizer it asks for, naming it.
# A configuration that fails does not stop the others. Ends with the time
# each took (kunit.py's build and run times for the KUnit ones) and
# `RESULT kunit: N passed, N failed`, summed over all of them.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

all_configs=(um um-debug um-holders x86_64 x86_64-kcsan x86_64-rt lockdep guards)
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("${all_configs[@]}")

logdir=$EXR_CACHE/kunit/matrix
mkdir -p "$logdir"

# kconfig_args FRAGMENT: the fragment's options as --kconfig_add arguments.
kconfig_args() {
	local line

	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) printf '%s\n' --kconfig_add "$line" ;;
		"# CONFIG_"*" is not set")
			line=${line#\# }
			printf '%s\n' --kconfig_add "${line% is not set}=n"
			;;
		esac
	done <"$EXR_ROOT/kunit/$1"
}

run_config() {
	local args=()

	case $1 in
	um) args=(--name um --arch um) ;;
	um-debug)
		args=(--name um-debug --arch um)
		mapfile -t -O ${#args[@]} args < <(kconfig_args checkers.config)
		;;
	um-holders)
		args=(--name um-holders --arch um)
		mapfile -t -O ${#args[@]} args < <(kconfig_args holders.config)
		;;
	# kunit.py's x86_64 kernel is uniprocessor unless told: -smp 4 alone
	# would boot 4 vCPUs of which it uses one.
	x86_64) args=(--name x86_64 --arch x86_64 --qemu_args "-smp 4" --timeout 900
		      --kconfig_add CONFIG_SMP=y) ;;
	x86_64-kcsan)
		args=(--name x86_64-kcsan --arch x86_64 --qemu_args "-smp 4" --timeout 900)
		mapfile -t -O ${#args[@]} args < <(kconfig_args kcsan.config)
		;;
	x86_64-rt)
		args=(--name x86_64-rt --arch x86_64 --qemu_args "-smp 4" --timeout 900)
		mapfile -t -O ${#args[@]} args < <(kconfig_args rt.config)
		;;
	lockdep) "$EXR_ROOT/scripts/lockdep-test.sh"; return ;;
	guards) check_guards; return ;;
	*) die "unknown configuration '$1' (${all_configs[*]})" ;;
	esac
	[ -x "$EXR_ROOT/scripts/kunit.sh" ] || {
		echo "scripts/kunit.sh is missing" >&2
		echo "RESULT kunit-$1: 0 passed, 1 failed"
		return 1
	}
	"$EXR_ROOT/scripts/kunit.sh" "${args[@]}"
}

# guard_probe RELEASE DIR: build a user of both guard classes against the
# release's headers, W=1; print "yes" if the classes are there, "no" if
# the header left them out.
guard_probe() {
	local rel=$1 dir=$2 kdir

	kdir=$(kdir_for "$rel")
	rm -rf "$dir"
	mkdir -p "$dir/include"
	cp "$EXR_ROOT/include/ex_rundown.h" "$dir/include/"
	cat >"$dir/Kbuild" <<-'EOF'
	ccflags-y += -I$(src)/include
	obj-m += exr_guard_probe.o
	EOF
	cat >"$dir/exr_guard_probe.c" <<-'EOF'
	// SPDX-License-Identifier: GPL-2.0
	#include <linux/errno.h>
	#include <linux/module.h>
	#include <ex_rundown.h>

	#ifdef scoped_cond_guard
	int exr_guard_probe(struct ex_rundown_ref *ref, struct ex_rundown_pcpu *pref);
	int exr_guard_probe(struct ex_rundown_ref *ref, struct ex_rundown_pcpu *pref)
	{
		scoped_cond_guard(ex_rundown, return -ENODEV, ref) {
			CLASS(ex_rundown_pcpu, prot)(pref);

			return prot ? 1 : 0;
		}
		return 0;
	}
	const char exr_guard_probe_classes[] = "present";
	#endif
	MODULE_DESCRIPTION("probe: are the ex_rundown guard classes there?");
	MODULE_LICENSE("GPL");
	EOF
	# Compiling is enough: the functions it calls live in ex_rundown.ko.
	if ! make -C "$kdir" M="$dir" W=1 exr_guard_probe.o exr_guard_probe.i \
		>"$dir/build.log" 2>&1; then
		grep -E 'error' "$dir/build.log" | head -5 >&2
		echo "error"
		return
	fi
	if grep -E 'warning:' "$dir/build.log" >&2; then
		echo "warning"
		return
	fi
	if grep -q 'exr_guard_probe_classes' "$dir/exr_guard_probe.i" &&
		grep -q 'class_ex_rundown_constructor' "$dir/exr_guard_probe.i" &&
		grep -q 'class_ex_rundown_pcpu_constructor' "$dir/exr_guard_probe.i"; then
		echo "yes"
	elif ! grep -q 'class_ex_rundown' "$dir/exr_guard_probe.i"; then
		echo "no"
	else
		echo "partial"
	fi
}

check_guards() {
	local rel got want p=0 f=0

	for rel in $(kernel_releases); do
		# Debian's 6.1 backports <linux/cleanup.h> without
		# scoped_cond_guard(); 6.12 has it.
		case $rel in
		6.1.*) want=no ;;
		*) want=yes ;;
		esac
		got=$(guard_probe "$rel" "$EXR_CACHE/kunit/guards-$rel")
		if [ "$got" = "$want" ]; then
			log "guards against $rel: $([ "$want" = yes ] && echo "compiled, W=1 clean" || echo "left out, header builds W=1 clean")"
			p=$((p + 1))
		else
			log "guards against $rel: expected '$want', got '$got' (log: $EXR_CACHE/kunit/guards-$rel/build.log)"
			f=$((f + 1))
		fi
	done
	echo "RESULT guards: $p passed, $f failed"
	[ "$f" -eq 0 ]
}

passed=0 failed=0 summary=()
t0=$(date +%s)
for c in "${configs[@]}"; do
	out=$logdir/$c.log
	tc=$(date +%s)
	phase "kunit configuration $c (log: $out)" run_config "$c" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	secs=$(( $(date +%s) - tc ))
	read -r p f < <(result_of "$out" "$rc")
	passed=$((passed + p))
	failed=$((failed + f))
	# kunit.py's own split: "Elapsed time: Xs total, Ys configuring, ..."
	split=$(grep -hoE 'Elapsed time: .*' "$EXR_CACHE/kunit/$c/kunit.log" 2>/dev/null | tail -n 1)
	[ "$c" = lockdep ] && split=$(grep -hoE 'boots took [0-9]+s' "$out" | tail -n 1)
	summary+=("$(printf '%-13s %4d passed, %3d failed  %5ds  %s' "$c" "$p" "$f" "$secs" "${split:-}")")
done

echo
log "kunit matrix finished in $(( $(date +%s) - t0 ))s:"
printf '  %s\n' "${summary[@]}"
echo "RESULT kunit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
