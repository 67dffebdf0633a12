# SPDX-License-Identifier: GPL-2.0
#
#   make [KDIR=/path/to/kernel/build]   build the modules (default: running kernel)
#   make demo                           the demo, on a real Debian kernel in QEMU
#   make check                          every test layer; ends "N passed, N failed"
#   make bench                          the benchmark, in QEMU (2 vCPUs) and in UML (1 CPU)
#   make soak [DURATION=1800] [KERNEL=]  the torture test for DURATION seconds, in QEMU
#   make lint                           checkpatch, kernel-doc, W=1 and sparse, coccicheck
#   make litmus                         the memory-ordering claims, checked by herd7 (LKMM)
#   make docs                           kernel-doc -> docs/ex_rundown.rst, out/man/man9
#   make install [KDIR=...] [DESTDIR=]  the modules into updates/, man pages into $(MANDIR)
#   make deb                            the Debian package ex-rundown-dkms, in out/
#   make clean

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

DURATION ?= 1800
soak:
	@SECS=$(DURATION) scripts/torture.sh --soak

lint:
	@scripts/lint.sh

litmus:
	@scripts/litmus.sh

docs:
	@scripts/docs.sh

MANDIR ?= /usr/local/share/man

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates INSTALL_MOD_PATH=$(DESTDIR) modules_install
	scripts/docs.sh --man-only --man-dir $(CURDIR)/out/man
	install -d $(DESTDIR)$(MANDIR)/man9
	install -m 644 out/man/man9/*.9 $(DESTDIR)$(MANDIR)/man9/

deb:
	@scripts/deb.sh

.PHONY: all modules clean demo check lint litmus docs install deb bench soak
