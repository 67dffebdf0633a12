# SPDX-License-Identifier: GPL-2.0
#
#   make [KDIR=/path/to/kernel/build]   build the modules (default: running kernel)
#   make demo                           the demo, on a real Debian kernel in QEMU
#   make check                          every test layer; ends "N passed, N failed"
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -rf *.o *.ko *.mod* .*.cmd src/*.o src/.*.cmd kunit/*.o kunit/.*.cmd Module.symvers modules.order

demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

.PHONY: all modules clean demo check
