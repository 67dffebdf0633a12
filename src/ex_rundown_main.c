// SPDX-License-Identifier: GPL-2.0
/*
 * ex_rundown.ko: what only the module built outside the kernel tree has,
 * and the upstream series (scripts/upstream.sh) leaves out: the ABI check
 * of <ex_rundown_module.h>, the module's exit and its description. The
 * library itself, its parameter and its init included, is the same in
 * both shapes; built in, it is never unloaded.
 */

#include <linux/build_bug.h>
#include <linux/module.h>
#include <linux/stddef.h>

#include <ex_rundown.h>
#include <ex_rundown_pcpu.h>

#include "ex_rundown_internal.h"

/*
 * The encodings of ABI 1 (see EX_RUNDOWN_ABI). A change that breaks one of
 * these changes what modules built against the headers compile into
 * themselves: bump EX_RUNDOWN_ABI, then write the new encodings here.
 */
static_assert(EX_RUNDOWN_ABI == 1);
static_assert(EX_RUNDOWN_DRAINING == 1UL && EX_RUNDOWN_BIAS == 2UL);
static_assert(EX_RUNDOWN_PCPU_DEAD == 1UL && EX_RUNDOWN_PCPU_ATOMIC == 2UL);
static_assert(EX_RUNDOWN_PCPU_BIAS == 1UL << (BITS_PER_LONG - 1));
static_assert(offsetof(struct ex_rundown_ref, count) == 0);
static_assert(offsetof(struct ex_rundown_pcpu, state) == 0);
static_assert(offsetof(struct ex_rundown_pcpu, count) == sizeof(long));

/* What every module built against the headers of ABI 1 references. */
const unsigned int EX_RUNDOWN_ABI_SYMBOL = EX_RUNDOWN_ABI;
EXPORT_SYMBOL(EX_RUNDOWN_ABI_SYMBOL);

static void __exit ex_rundown_exit(void)
{
	ex_rundown_debugfs_exit();
}
module_exit(ex_rundown_exit);

MODULE_DESCRIPTION("Run-down protection (NT's EX_RUNDOWN_REF) for kernel objects");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(EX_RUNDOWN_VERSION);
