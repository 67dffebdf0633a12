#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# dkms.conf's POST_INSTALL and POST_REMOVE, run in the DKMS source tree:
# keep, for each kernel the module is installed for, what a module that
# uses ex_rundown is built against, where make install puts it too:
#
#   scripts/dkms-place.sh install KERNELRELEASE SYMVERS
#       /usr/src/ex_rundown/KERNELRELEASE/{include/*.h,Module.symvers,MANIFEST}
#   scripts/dkms-place.sh remove KERNELRELEASE
#       that directory removed
#
# EX_RUNDOWN_PLACE_ROOT replaces /usr/src/ex_rundown (scripts/dkms-test.sh's
# scratch trees).
set -euo pipefail
root=${EX_RUNDOWN_PLACE_ROOT:-/usr/src/ex_rundown}
[ $# -ge 2 ] || { echo "usage: $0 install KERNELRELEASE SYMVERS | remove KERNELRELEASE" >&2; exit 2; }
place=$root/$2
case $1 in
install)
	[ -f "$3" ] || { echo "$0: no $3" >&2; exit 1; }
	install -d "$place/include"
	install -m 644 include/*.h "$place/include/"
	install -m 644 "$3" "$place/Module.symvers"
	(cd "$place" && find "$PWD" -type f ! -name MANIFEST && echo "$PWD/MANIFEST") |
		LC_ALL=C sort >"$place/MANIFEST"
	echo "ex_rundown for $2: headers and Module.symvers in $place"
	;;
remove)
	rm -rf "$place"
	rmdir "$root" 2>/dev/null || true
	;;
*) echo "usage: $0 install KERNELRELEASE SYMVERS | remove KERNELRELEASE" >&2; exit 2 ;;
esac
