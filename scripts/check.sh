#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test layer in order, each announced with its time; a
# failed layer does not stop the others. Each exits non-zero on failure and
# ends with `RESULT <layer>: N passed, N failed`; the last line sums them.
#
#   scripts/check.sh [LAYER...]     default: all layers
set -uo pipefail
. "$(dirname "$0")/lib.sh"

all_layers=(build lint litmus fastpath kunit upstream lockdep qemu demo torture matrix bench dkms)
layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=("${all_layers[@]}")

logdir=$EXR_CACHE/check-logs
mkdir -p "$logdir"

# The modules of every kernel, built once here for all the layers after it
# (each finds the directory again through modules_for).
built() { modules_for "$1" >/dev/null; }
layer_build() {
	local rel
	for rel in $(kernel_releases); do expect "W=1 build against $rel" built "$rel"; done
	results build
}

run_layer() {
	case $1 in
	build) layer_build ;;
	# bench: make bench itself, which must print its tables; timings judge nothing.
	lint | litmus | fastpath | kunit | torture | matrix | bench) "$EXR_ROOT/scripts/$1.sh" ;;
	lockdep | dkms) "$EXR_ROOT/scripts/$1-test.sh" ;;
	qemu) "$EXR_ROOT/scripts/qemu-load-test.sh" ;;
	demo) "$EXR_ROOT/scripts/demo.sh" --full ;;
	upstream) "$EXR_ROOT/scripts/upstream.sh" --check ;;
	*) die "unknown layer '$1' (${all_layers[*]})" ;;
	esac
}

# Debian packages are installed as root (CI, a fresh machine); a user runs
# the layers that need no root once the tools are there (see README).
if [ "$(id -u)" -eq 0 ]; then
	phase "installing what the tests need" "$EXR_ROOT/scripts/deps.sh" "${layers[@]}" ||
		{ echo "0 passed, 1 failed"; exit 1; }
else
	log "not root: installing nothing (scripts/deps.sh ${layers[*]} lists what is missing)"
fi
# A full disk fails builds in ways that do not say so.
log "$(df -h "$(dirname "$logdir")" | awk 'NR == 2 { print $4 " free for " $6 }') (EXR_CACHE=$EXR_CACHE)"

# herd7 takes minutes to build from source on a fresh machine: build it
# beside the first layers, which leave a CPU idle much of the time. The
# litmus layer waits for it (build_herd7 holds a lock) and times the wait.
herd_pid=
if [[ " ${layers[*]} " == *" litmus "* ]] && ! command -v herd7 >/dev/null; then
	log "building herd7 in the background (log: $logdir/herd7-prepare.log)"
	"$EXR_ROOT/scripts/litmus.sh" --prepare >"$logdir/herd7-prepare.log" 2>&1 &
	herd_pid=$!
fi

passed=0 failed=0 summary=()
for layer in "${layers[@]}"; do
	out=$logdir/$layer.log t0=$SECONDS
	phase "layer $layer (log: $out)" run_layer "$layer" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	read -r p f < <(result_of "$out" "$rc")
	passed=$((passed + p)) failed=$((failed + f))
	summary+=("$(printf '%-10s %4d passed, %3d failed  %5ds' "$layer" "$p" "$f" $((SECONDS - t0)))")
done

# Only if the litmus layer did not run after all (a failure before it).
[ -z "$herd_pid" ] || wait "$herd_pid" 2>/dev/null || true

echo
log "make check finished in ${SECONDS}s:"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
