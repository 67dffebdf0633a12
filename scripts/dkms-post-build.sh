#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# dkms.conf's POST_BUILD KERNELRELEASE ARCH, run in DKMS's build directory
# once the module is saved under ../KERNELRELEASE/ARCH/: keep this build's
# Module.symvers there, for the modules that use ex_rundown on that kernel.
set -euo pipefail
cp Module.symvers "../$1/$2/Module.symvers"
