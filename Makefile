# SPDX-License-Identifier: GPL-2.0
#
# make help lists the targets.

KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -rf *.o *.ko *.mod* .*.cmd */*.o */.*.cmd Module.symvers modules.order

demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

bench:
	@scripts/bench.sh

MANDIR ?= /usr/local/share/man
DURATION ?= 1800
soak:
	@SECS=$(DURATION) scripts/torture.sh --soak

lint:
	@scripts/lint.sh

litmus:
	@scripts/litmus.sh

docs:
	@scripts/docs.sh

upstream:
	@scripts/upstream.sh

# scripts/install.sh says what goes where.
install uninstall:
	@KDIR=$(KDIR) DESTDIR=$(DESTDIR) MANDIR=$(MANDIR) scripts/install.sh $@

help:
	@echo 'make [KDIR=/path/to/kernel/build]   build the modules (default: the running kernel)'
	@echo 'make install [KDIR=] [DESTDIR=] [MANDIR=]'
	@echo '                 ex_rundown.ko into /lib/modules/RELEASE/updates, then depmod;'
	@echo '                 headers and Module.symvers into /usr/src/ex_rundown/RELEASE;'
	@echo '                 man pages into MANDIR (/usr/local/share/man)'
	@echo 'make uninstall [KDIR=] [DESTDIR=]  remove exactly what make install installed'
	@echo 'make deb         the Debian package ex-rundown-dkms, in out/'
	@echo 'make demo [KERNEL=] [SECS=20] [HOLD_MS=1000] [SWAP_MS=300] [PROTECT=0]'
	@echo '                 the demo, on a real Debian kernel in QEMU: the price of'
	@echo '                 protection, then a filter unloaded every HOLD_MS and its buffer'
	@echo '                 swapped every SWAP_MS under paced requests; a summary and a plot'
	@echo '                 ($$EXR_CACHE/demo). PROTECT=0: the stress without protection, to crash'
	@echo 'make check       every test layer; ends "N passed, N failed"'
	@echo 'make bench       the benchmark, in QEMU (2 vCPUs) and in UML (1 CPU)'
	@echo 'make soak [DURATION=1800] [KERNEL=]  the torture test for DURATION seconds, in QEMU'
	@echo 'make lint        checkpatch, kernel-doc, W=1 and sparse, coccicheck'
	@echo 'make litmus      the memory-ordering claims, checked by herd7 (LKMM)'
	@echo 'make docs        kernel-doc -> docs/ex_rundown.rst and docs/man9'
	@echo 'make upstream [UPSTREAM_TREE=~/linux] [UPSTREAM_AUTHOR="Name <addr>"]'
	@echo '                 the patch series for the kernel tree, in upstream/series'
	@echo '                 (default tree: the newest linux-source in Debian'"'"'s archive)'
	@echo 'make clean'

deb:
	@scripts/deb.sh

.PHONY: all modules clean demo check lint litmus docs install uninstall help deb bench soak upstream
