#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# dkms.conf's POST_BUILD: dkms runs it in its build directory,
# $dkms_tree/ex_rundown/VERSION/build, once the module is saved under
# ../KERNELRELEASE/ARCH/. Copy the Module.symvers of this build there, so
# that each kernel keeps its own for the modules that use ex_rundown.
set -euo pipefail
kernelver=$1
arch=$2
dest=../$kernelver/$arch
[ -d "$dest" ] || { echo "dkms-post-build: no $dest" >&2; exit 1; }
cp Module.symvers "$dest/Module.symvers"
