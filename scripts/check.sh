#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test layer of the project, in order, each announced
# with its duration; a failed layer does not stop the others. Ends with one
# line `N passed, N failed` summed over all layers.
#
# Each layer is a script that exits non-zero on failure and prints, as its
# last line, `RESULT <layer>: N passed, N failed`.
#
#   scripts/check.sh [LAYER...]     default: all layers
set -uo pipefail
. "$(dirname "$0")/lib.sh"

all_layers=(build lint litmus fastpath kunit qemu demo bench dkms)
layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=("${all_layers[@]}")

logdir=$EXR_CACHE/check-logs
mkdir -p "$logdir"

layer_build() {
	local rel n=0 f=0
	for rel in $(kernel_releases); do
		if "$EXR_ROOT/scripts/build.sh" "$rel" >/dev/null; then
			log "W=1 build against $rel: clean"
			n=$((n + 1))
		else
			f=$((f + 1))
		fi
	done
	echo "RESULT build: $n passed, $f failed"
	[ $f -eq 0 ]
}

run_layer() {
	case $1 in
	build) layer_build ;;
	lint) "$EXR_ROOT/scripts/lint.sh" ;;
	litmus) "$EXR_ROOT/scripts/litmus.sh" ;;
	fastpath) "$EXR_ROOT/scripts/fastpath.sh" ;;
	kunit) "$EXR_ROOT/scripts/kunit.sh" --all ;;
	qemu) "$EXR_ROOT/scripts/qemu-load-test.sh" ;;
	demo) "$EXR_ROOT/scripts/demo.sh" --full ;;
	# make bench itself: it must print its tables; timings judge nothing.
	bench) "$EXR_ROOT/scripts/bench.sh" ;;
	dkms) "$EXR_ROOT/scripts/dkms-test.sh" ;;
	*) die "unknown layer '$1' (${all_layers[*]})" ;;
	esac
}

t0=$(date +%s)
phase "installing what the tests need" "$EXR_ROOT/scripts/deps.sh" all || {
	echo "0 passed, 1 failed"
	exit 1
}

passed=0 failed=0 summary=()
for layer in "${layers[@]}"; do
	out=$logdir/$layer.log
	phase "layer $layer (log: $out)" run_layer "$layer" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	read -r p f < <(result_of "$out" "$rc")
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("$(printf '%-10s %4d passed, %3d failed' "$layer" "$p" "$f")")
done

echo
log "make check finished in $(( $(date +%s) - t0 ))s:"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
