#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel matrix: one row per Debian kernel line, from 5.10 to the newest
# in the archive. Each row's modules are built W=1, without a warning, in a
# chroot of that kernel's own suite (its compiler, its kbuild tools), made
# once into the cache by debootstrap; examples/consumer is built there as
# the README tells a user to; the suite's own kernel image boots in QEMU,
# loads ex_rundown.ko and the consumer, and runs a short demo (the stress).
#
#   scripts/matrix.sh [ROW...]    default: every row, in this order
#     bullseye    Debian 11's kernel (5.10)
#     bookworm    Debian 12's (6.1), this machine's suite: no chroot
#     trixie      Debian 13's (6.12)
#     newest      the newest kernel in trixie-backports, found at run time
#     newest-rt   its PREEMPT_RT flavour
#
# Ends with `RESULT matrix: N passed, N failed`. Needs root (debootstrap,
# chroot); DEMO_SECS (default 20) sets each row's demo.
set -uo pipefail
shopt -s extglob
. "$(dirname "$0")/lib.sh"

# ROW: suite, metapackage naming the kernel, the part of the archive it is
# taken from if not the suite's default (its security updates included).
declare -A rows=(
	[bullseye]='bullseye linux-headers-amd64 -'
	[bookworm]='bookworm linux-headers-amd64 -'
	[trixie]='trixie linux-headers-amd64 -'
	[newest]='trixie linux-headers-amd64 trixie-backports'
	[newest-rt]='trixie linux-headers-rt-amd64 trixie-backports'
)
all=(bullseye bookworm trixie newest newest-rt)
[ $# -gt 0 ] || set -- "${all[@]}"
DEMO_SECS=${DEMO_SECS:-20}
[[ $DEMO_SECS =~ ^[1-9][0-9]{0,3}$ ]] || die "DEMO_SECS wants a number of seconds, not '$DEMO_SECS'"
[ "$(id -u)" -eq 0 ] || die "the matrix needs root: debootstrap and chroot"
# Each row's own headers, never a KDIR from the environment.
unset KDIR
host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# release ROOT META FROM: the kernel release META depends on, from FROM
# (apt's -t) unless it is -, as seen in ROOT ('' for this machine).
release() {
	local t=()
	[ "$3" = - ] || t=(-t "$3")
	in_root "$1" apt-cache "${t[@]}" depends "$2" 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(.*\)$/\1/p' | grep -v common | head -n 1
}

# headers ROOT REL FROM: REL's headers installed in ROOT (they bring the
# compiler they were built with).
headers() (
	t=()
	[ -d "$1/usr/src/linux-headers-$2" ] && exit 0
	[ "$3" = - ] || t=(-t "$3")
	# Under the chroot's lock: another run may be using its apt.
	exec 9>"$1.lock" && flock -w 1800 9 || exit 1
	log "installing linux-headers-$2 in $1"
	chroot_apt "$1" install --no-install-recommends "${t[@]}" "linux-headers-$2" 2>&1
)

# relay PREFIX CMD...: CMD's KTAP lines counted here, prefixed (less the
# row's release, which PREFIX names); its other
# output kept in the row's log. A CMD that fails without a failed check
# counts one.
relay() {
	local line failed=$EXR_FAILED rc=none what
	while IFS= read -r line; do
		case $line in
		'ok '[0-9]*) line=${line#ok +([0-9]) } && ok "$1: ${line#"$rel: "}" ;;
		'not ok '[0-9]*) line=${line#not ok +([0-9]) } && not_ok "$1: ${line#"$rel: "}" ;;
		EXR-RC\ *) rc=${line#EXR-RC } ;;
		*) echo "$line" >>"$rowlog" ;;
		esac
	done < <("${@:2}" 2>&1; printf '\nEXR-RC %s\n' "$?")
	for what in "${@:2}"; do [[ $what != *.sh ]] || break; done
	[ "$rc" = 0 ] || [ "$EXR_FAILED" -gt "$failed" ] ||
		not_ok "$1: ${what##*/} exited $rc (log: $rowlog)"
}

# consumer ROOT DIR MAKE_ARG...: build_consumer, in chroot ROOT, logged.
consumer() { EXR_IN_ROOT=$1 build_consumer "${@:2}" >>"$rowlog" 2>&1; }

# row NAME: build, load and run the demo on that row's kernel.
row() {
	local suite meta from root='' rel mods cc consumer what
	read -r suite meta from <<<"${rows[$1]}"
	if [ "$suite" != "$host_suite" ]; then
		root=$(suite_root "$suite") || { not_ok "$1: a $suite chroot"; return; }
	fi
	rel=$(release "$root" "$meta" "$from")
	[ -n "$rel" ] || { not_ok "$1: $meta has a kernel in $from"; return; }
	rowlog=$EXR_CACHE/matrix/$rel.log
	mkdir -p "$EXR_CACHE/matrix" && : >"$rowlog"
	if [ -n "$root" ]; then
		what="$1: linux-headers-$rel installed in the $suite chroot"
		if ! headers "$root" "$rel" "$from"; then not_ok "$what"; return; fi
		ok "$what"
	fi
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$root$(kdir_for "$rel")/.config")
	what="$1 $rel: every module builds W=1 without a warning (${cc:-?})"
	if ! mods=$(modules_for "$rel" 2>>"$rowlog"); then not_ok "$what"; return; fi
	ok "$what"
	consumer=${root:-$EXR_CACHE/matrix}/exr/consumer-$rel
	mkdir -p "$(dirname "$consumer")"
	# As a user's module: through its own Makefile, KDIR the headers' link.
	what="$1 $rel: examples/consumer builds W=1 as the README says"
	if ! consumer "$root" "$consumer" -C "${consumer#"$root"}" KDIR="/lib/modules/$rel/build" \
		W=1 EX_RUNDOWN="${mods#"$root"}"; then
		not_ok "$what"
		return
	fi
	ok "$what"
	relay "$1 $rel" "$EXR_ROOT/scripts/qemu-load-test.sh" "$rel" "$mods/ex_rundown.ko" \
		"$consumer/exr_consumer.ko"
	relay "$1 $rel: demo" env KERNEL="$rel" SECS="$DEMO_SECS" "$EXR_ROOT/scripts/demo.sh" --stress
}

for r in "$@"; do [ -n "${rows[$r]:-}" ] || die "unknown row '$r' (${all[*]})"; done
"$EXR_ROOT/scripts/deps.sh" matrix || die "cannot install what the matrix needs"
for r in "$@"; do phase "row $r" row "$r"; done
results matrix
