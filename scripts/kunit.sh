#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the ex_rundown KUnit suite (kunit/) in a kernel that kunit.py builds,
# then build the suite as a module against that kernel.
#
#   scripts/kunit.sh [--name NAME] [--arch um|x86_64] [--kconfig_add CONFIG_X=y]...
#                    [--qemu_args ARGS] [--make_options X=Y]... [--timeout SECS]
#                    [--jobs N] [--filter_glob SUITE.CASE]
#   scripts/kunit.sh --all        every configuration: scripts/kunit-matrix.sh
#
#   --name NAME          build dir $EXR_CACHE/kunit/NAME and the layer name
#                        kunit-NAME (default: um)
#   --arch ARCH          um (default: User-Mode Linux, one CPU) or x86_64 (QEMU)
#   --kconfig_add X=Y    extra kernel option, repeatable (lockdep, KASAN, ...)
#   --qemu_args ARGS     extra QEMU arguments for --arch x86_64, e.g. "-smp 4"
#   --make_options X=Y   make option for the kernel build, repeatable
#                        (default: W=1)
#   --filter_glob GLOB   run only the matching cases (kunit.py's filter_glob,
#                        e.g. 'ex_rundown.*irq*'): for chasing one report,
#                        lockdep being off after the first
#
# Examples of the variants it is meant for:
#   scripts/kunit.sh --name lockdep --kconfig_add CONFIG_PROVE_LOCKING=y
#   scripts/kunit.sh --name kasan --kconfig_add CONFIG_KASAN=y
#   scripts/kunit.sh --name x86_64 --arch x86_64 --qemu_args "-smp 4"
#
# Upstream has no way to run KUnit on out-of-tree code, so the project is
# grafted into the cached linux-source-6.12 tree: a symlink
# drivers/ex_rundown -> this checkout, plus one `source` line in
# drivers/Kconfig and one `obj-y` line in drivers/Makefile. kunit.py builds
# with O=, so no object lands in the source tree or in this checkout, and the
# build dir is kept between runs (a rebuild after a change takes ~20 s).
#
# Checks, counted in the last line "RESULT kunit-NAME: N passed, N failed":
#  - "config": every option asked for (kunit/.kunitconfig, then each
#    --kconfig_add, the last value of an option winning) has that value in
#    the build dir's .config (an option whose dependencies are missing is
#    left out by olddefconfig, and the configuration would then quietly
#    test less than its name says), and a sanitizer asked for (KASAN,
#    KCSAN) is in the flags ex_rundown.o was compiled with;
#  - every test case, each parameter of a parameterised case on its own;
#  - "boot": kunit.py exited 0 and the kernel log shows no crash, no
#    sanitizer or lockdep report and no warning other than the misuse
#    warnings the suite provokes (each at most once: they are WARN_ONCE);
#  - "module": the suite builds, with W=1 and no warning, as an external
#    ex_rundown_kunit.ko against the exports of that kernel.
# Exits non-zero on any failure and when no test ran.
# shellcheck disable=SC2317 # the steps are functions run through phase()
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

variant=um
arch=um
jobs=2
timeout=300
qemu_args=
filter_glob=
kconfig_add=()
make_options=()

usage() { sed -n '3,25s/^# \{0,1\}//p' "$0" >&2; exit 2; }

if [ "${1:-}" = --all ]; then
	[ $# -eq 1 ] || die "--all takes no other option"
	exec "$EXR_ROOT/scripts/kunit-matrix.sh"
fi

while [ $# -gt 0 ]; do
	opt=${1%%=*}
	case $opt in
	--help|-h) usage ;;
	--name|--arch|--kconfig_add|--qemu_args|--make_options|--timeout|--jobs|--filter_glob) ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	if [[ $1 == *=* ]]; then
		val=${1#*=}
		shift
	else
		[ $# -ge 2 ] || die "$opt needs a value"
		val=$2
		shift 2
	fi
	case $opt in
	--name) variant=$val ;;
	--arch) arch=$val ;;
	--kconfig_add) kconfig_add+=("$val") ;;
	--qemu_args) qemu_args=$val ;;
	--make_options) make_options+=("$val") ;;
	--timeout) timeout=$val ;;
	--jobs) jobs=$val ;;
	--filter_glob) filter_glob=$val ;;
	esac
done

[[ $variant =~ ^[A-Za-z0-9_.-]+$ ]] || die "--name '$variant': letters, digits, '.', '_' and '-' only"
case $arch in
um) make_arch=um ;;
x86_64) make_arch=x86_64 ;;
*) die "--arch '$arch': um or x86_64" ;;
esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs '$jobs' is not a positive number"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout '$timeout' is not a number of seconds"
for kc in ${kconfig_add[@]+"${kconfig_add[@]}"}; do
	[[ $kc =~ ^CONFIG_[A-Za-z0-9_]+=.+$ ]] || die "--kconfig_add '$kc' is not CONFIG_X=VALUE"
done
[ ${#make_options[@]} -gt 0 ] || make_options=(W=1)

layer=kunit-$variant
build_dir=$EXR_CACHE/kunit/$variant
kunit_log=$build_dir/kunit.log
json=$build_dir/results.json
mkdir -p "$build_dir"

command -v python3 >/dev/null || die "python3 missing (scripts/deps.sh kunit)"
tree=$(kernel_source_tree)

graft() { kunit_graft "$tree" "$build_dir"; }

run_kunit() {
	local args=(run --arch="$arch" --build_dir="$build_dir" --jobs="$jobs"
		    --kunitconfig="$EXR_ROOT/kunit/.kunitconfig"
		    --timeout="$timeout" --json="$json")
	local kc mo rc

	for kc in ${kconfig_add[@]+"${kconfig_add[@]}"}; do
		args+=(--kconfig_add="$kc")
	done
	for mo in "${make_options[@]}"; do
		args+=(--make_options="$mo")
	done
	[ -z "$qemu_args" ] || args+=(--qemu_args="$qemu_args")
	[ -z "$filter_glob" ] || args+=("$filter_glob")

	# UML's KBUILD_CPPFLAGS name these build-dir include dirs, W=1 adds
	# -Wmissing-include-dirs, and in a new build dir they do not exist yet
	# when the top Makefile runs its cc-option probes with -Werror: the
	# probes fail, and the first build quietly lacks KASAN (and whatever
	# else cc-option decides), while the next one rebuilds everything.
	[ "$arch" != um ] || mkdir -p "$build_dir/arch/x86/include/generated/uapi"
	rm -f "$json" "$build_dir/test.log"
	log "kunit.py ${args[*]}"
	log "full output: $kunit_log"
	# kunit.py prints its own progress lines ("[12:00:00] Building ...",
	# one per test); show those, keep everything in the log.
	set +e
	(cd "$tree" && python3 tools/testing/kunit/kunit.py "${args[@]}") 2>&1 |
		tee "$kunit_log" | grep --line-buffered -E '^\[[0-9:]+\] '
	rc=${PIPESTATUS[0]}
	set -e
	return "$rc"
}

# The options asked for, CONFIG_X=VALUE one a line, the last value of each
# winning as in kconfig: kunit/.kunitconfig, then the --kconfig_add ones
# ("# CONFIG_X is not set" is CONFIG_X=n).
requested_options() {
	local line name
	local -A val=()
	local order=()

	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) ;;
		"# CONFIG_"*" is not set")
			line=${line#\# }
			line="${line% is not set}=n"
			;;
		*) continue ;;
		esac
		name=${line%%=*}
		[ -n "${val[$name]+set}" ] || order+=("$name")
		val[$name]=${line#*=}
	done < <(cat "$EXR_ROOT/kunit/.kunitconfig"
		 printf '%s\n' ${kconfig_add[@]+"${kconfig_add[@]}"})
	for name in ${order[@]+"${order[@]}"}; do
		printf '%s=%s\n' "$name" "${val[$name]}"
	done
}

# Every option asked for has its value in the .config that was built (or
# that kunit.py gave up on): olddefconfig leaves out an option whose
# dependencies are missing. A sanitizer asked for must also be in the
# compiler's flags for ex_rundown.o: the top Makefile drops its flags
# without a word when their cc-option probe fails (see run_kunit()).
check_config() {
	local cfg=$build_dir/.config opt name want got bad=() flag
	local cmd=$build_dir/drivers/ex_rundown/src/.ex_rundown.o.cmd

	[ -s "$cfg" ] || { echo "no .config in $build_dir" >&2; return 1; }
	while IFS= read -r opt; do
		name=${opt%%=*}
		want=${opt#*=}
		got=$(sed -n "s/^$name=//p" "$cfg" | tail -n 1)
		[ -n "$got" ] || got=n
		[ "$got" = "$want" ] || bad+=("$name=$want (.config: $([ "$got" = n ] && echo "not set" || echo "$name=$got"))")
		case $opt in
		CONFIG_KASAN=y) flag=-fsanitize=kernel-address ;;
		CONFIG_KCSAN=y) flag=-fsanitize=thread ;;
		*) continue ;;
		esac
		# No object when the build failed: that is counted elsewhere.
		[ ! -f "$cmd" ] || grep -q -e "$flag" "$cmd" ||
			bad+=("$name=$want (in .config, but ex_rundown.o was compiled without $flag)")
	done < <(requested_options)
	if [ ${#bad[@]} -gt 0 ]; then
		echo "requested but not in effect in $build_dir (unmet dependencies?):" >&2
		printf '  %s\n' "${bad[@]}" >&2
		return 1
	fi
	log "$(requested_options | wc -l) requested options all in $cfg"
}

# The kernel log, read for what kunit.py does not fail a test on: a crash or
# report in a thread that is not the test's own (a kthread the suite
# started), sanitizer and lockdep reports, and unexpected warnings. Only
# from the start of the tests on: UML warns at boot about its PCI emulation
# having no device, which is none of our business.
scan_kernel_log() {
	local klog=$build_dir/test.log tests=$build_dir/test-part.log bad dup

	[ -s "$klog" ] || { echo "no kernel log at $klog" >&2; return 1; }
	sed -n '/K\{0,1\}TAP version/,$p' "$klog" >"$tests"
	[ -s "$tests" ] || { echo "no test output in $klog" >&2; return 1; }
	bad=$(grep -nE 'BUG:|Oops|Kernel panic|general protection fault|UBSAN:|KCSAN:|KASAN:|kernel BUG at|WARNING: (possible|inconsistent|bad unlock|lock held|held lock|suspicious|Nested|circular|nested)|WARNING: CPU: [0-9]+ PID: [0-9]+ at ' "$tests" |
		grep -vE 'WARNING: CPU: [0-9]+ PID: [0-9]+ at drivers/ex_rundown/src/' || true)
	if [ -n "$bad" ]; then
		echo "the kernel log ($tests, from the first test on) reports:" >&2
		echo "$bad" | head -20 >&2
		return 1
	fi
	# WARN_ONCE: one report per call site, however often the suite misuses it.
	dup=$(grep -oE 'WARNING: CPU: [0-9]+ PID: [0-9]+ at drivers/ex_rundown/src/[^ ]+' "$tests" |
		sed 's/.* at //' | sort | uniq -d || true)
	if [ -n "$dup" ]; then
		echo "misuse warned more than once at: $dup (should be WARN_ONCE)" >&2
		return 1
	fi
}

# Prints "PASSED FAILED SKIPPED" over every leaf test case in kunit.py's JSON
# (a parameterised case is a group with one leaf per parameter); fails if
# the ex_rundown suite is missing or ran nothing.
count_results() {
	python3 - "$json" <<-'EOF'
	import json, sys

	counts = {"PASS": 0, "FAIL": 0, "ERROR": 0, "SKIP": 0}
	found = []

	def walk(group, path):
	    name = group.get("name", "")
	    if name == "ex_rundown":
	        found.append(group)
	    for case in group.get("test_cases", []):
	        status = case.get("status", "FAIL")
	        counts[status if status in counts else "FAIL"] += 1
	        if status != "PASS":
	            print(f"{status}: {'.'.join(path + [name, case['name']])}", file=sys.stderr)
	    for sub in group.get("sub_groups", []):
	        walk(sub, path + [name] if name and name != "KUnit Test Group" else path)

	def leaves(group):
	    return len(group.get("test_cases", [])) + sum(leaves(g) for g in group.get("sub_groups", []))

	walk(json.load(open(sys.argv[1])), [])
	if not found or not leaves(found[0]):
	    print("the ex_rundown suite did not run, or ran no test", file=sys.stderr)
	    counts["FAIL"] += 1
	print(counts["PASS"], counts["FAIL"] + counts["ERROR"], counts["SKIP"])
	EOF
}

# Build the suite as ex_rundown_kunit.ko against the kernel just built, in a
# copy of the checkout (an M= build writes beside the sources). The core is
# built into that kernel, so the module links against its exports: this also
# proves that the suite uses nothing the core does not export. Every other
# module of the project is switched off: it is not what this checks.
build_module() {
	local copy=$EXR_CACHE/kunit/$variant-extmod
	local mlog=$copy.log
	local off=() c
	mkdir -p "$copy"
	(cd "$EXR_ROOT" && git ls-files -co --exclude-standard -z 2>/dev/null ||
		find . -path ./.git -prune -o -type f -print0) |
		(cd "$EXR_ROOT" && xargs -0 cp --parents -u -t "$copy" 2>/dev/null) || true
	while read -r c; do
		[ "$c" = EX_RUNDOWN_KUNIT_TEST ] || off+=("CONFIG_$c=")
	done < <(sed -n 's/^config \(EX_RUNDOWN[A-Z0-9_]*\)$/\1/p' "$copy/Kconfig")
	rm -f "$copy"/*.ko
	if ! make -C "$build_dir" ARCH="$make_arch" M="$copy" W=1 \
		"${off[@]}" CONFIG_EX_RUNDOWN_KUNIT_TEST=m \
		-j"$jobs" modules >"$mlog" 2>&1; then
		grep -E 'error|Error' "$mlog" | head -20 >&2
		echo "module build failed (log: $mlog)" >&2
		return 1
	fi
	if grep -E 'warning:|WARNING:' "$mlog" >&2; then
		echo "module build warns (log: $mlog)" >&2
		return 1
	fi
	[ -f "$copy/ex_rundown_kunit.ko" ] || { echo "no ex_rundown_kunit.ko in $copy" >&2; return 1; }
	log "built $copy/ex_rundown_kunit.ko"
}

passed=0
failed=0
skipped=0

phase "graft ex_rundown into $tree" graft

boot_ok=true
phase "kunit.py run ($variant, $arch)" run_kunit || boot_ok=false

if phase "check the requested options against $build_dir/.config" check_config; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

if [ -s "$json" ]; then
	read -r p f s < <(count_results) || { p=0; f=1; s=0; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
else
	log "kunit.py wrote no results (see $kunit_log):"
	grep -A3 '^ERROR' "$kunit_log" | tail -n 8 >&2 || true
	failed=$((failed + 1))
fi

phase "scan the kernel log" scan_kernel_log || boot_ok=false
if $boot_ok; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

if [ -f "$build_dir/Module.symvers" ]; then
	if phase "build ex_rundown_kunit.ko against $build_dir" build_module; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
else
	log "no kernel was built: skipping the module build"
	failed=$((failed + 1))
fi

[ "$skipped" -eq 0 ] || log "$skipped test case(s) skipped"
rc=0
if [ "$failed" -ne 0 ] || [ "$passed" -le 2 ]; then
	rc=1
fi
echo "RESULT $layer: $passed passed, $failed failed"
exit "$rc"
