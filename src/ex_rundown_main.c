// SPDX-License-Identifier: GPL-2.0
/*
 * ex_rundown.ko: module glue shared by both run-down families: parameters,
 * the misuse counter and the module's description.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jump_label.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/debug.h>
#include <linux/string.h>

#include <ex_rundown.h>
#include <ex_rundown_pcpu.h>

#include "ex_rundown_internal.h"

#include <trace/events/ex_rundown.h>

#define EX_RUNDOWN_HUNG_TIMEOUT_MAX	(24U * 60 * 60)

static unsigned int hung_timeout_secs = 30;

static int hung_timeout_set(const char *val, const struct kernel_param *kp)
{
	unsigned int secs;
	int ret;

	ret = kstrtouint(val, 0, &secs);
	if (ret || secs > EX_RUNDOWN_HUNG_TIMEOUT_MAX) {
		/* Without the newline of a sysfs write. */
		pr_err("hung_timeout_secs: '%.*s' is not a number of seconds from 0 (off) to %u\n",
		       (int)strcspn(val, "\n"), val, EX_RUNDOWN_HUNG_TIMEOUT_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(hung_timeout_secs, secs);
	return 0;
}

static const struct kernel_param_ops hung_timeout_ops = {
	.set = hung_timeout_set,
	.get = param_get_uint,
};
module_param_cb(hung_timeout_secs, &hung_timeout_ops, &hung_timeout_secs, 0644);
MODULE_PARM_DESC(hung_timeout_secs,
		 "Report a run-down wait still sleeping after this many seconds (0 = never, default 30)");

unsigned int ex_rundown_hung_timeout(void)
{
	return READ_ONCE(hung_timeout_secs);
}

/*
 * Like the hung-task detector: one report, then the wait goes on. The ref is
 * named by its address (a symbol if it is static) and, under lockdep, by the
 * expression its init was given.
 */
noinline void ex_rundown_report_hung(const void *ref, const char *name,
				     bool pcpu, unsigned long held,
				     unsigned int secs, unsigned long ip)
{
	trace_ex_rundown_hung(ref, pcpu, held, secs, ip);
	pr_warn("%s[%d] has waited %u s for the run-down of %s%s%pS in %pS: %lu protection(s) outstanding\n",
		current->comm, task_pid_nr(current), secs, name,
		*name ? " at " : "", ref, (void *)ip, held);
	ex_rundown_holders_report(ref);
	dump_stack();
}

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

atomic_long_t ex_rundown_misuses = ATOMIC_LONG_INIT(0);

/*
 * Enabled, before any user can exist, by a module that keeps books on every
 * protection: the fast paths inlined from include/ex_rundown.h then call the
 * exported slow paths, which keep them. Without lockdep that is holder
 * tracking (CONFIG_EX_RUNDOWN_DEBUG_HOLDERS), which code built against the
 * header cannot see from its own configuration.
 */
DEFINE_STATIC_KEY_FALSE(ex_rundown_bookkeeping_key);
EXPORT_SYMBOL(ex_rundown_bookkeeping_key);

/**
 * ex_rundown_misuse_count() - misuses detected since the module was loaded
 *
 * Each misuse is reported with WARN_ONCE() at its call site and counted here,
 * so that tests and debugging sessions see the repeats the warning hides.
 *
 * Context: any.
 * Return: the number of misuses detected so far.
 */
unsigned long ex_rundown_misuse_count(void)
{
	return atomic_long_read(&ex_rundown_misuses);
}
EXPORT_SYMBOL(ex_rundown_misuse_count);

static int __init ex_rundown_module_init(void)
{
	/* Holder tracking needs the stack depot, whose setup may sleep. */
	int ret = ex_rundown_holders_init();

	if (!ret)
		ex_rundown_debugfs_init();
	return ret;
}
module_init(ex_rundown_module_init);

static void __exit ex_rundown_module_exit(void)
{
	ex_rundown_debugfs_exit();
}
module_exit(ex_rundown_module_exit);

MODULE_DESCRIPTION("Run-down protection (NT's EX_RUNDOWN_REF) for kernel objects");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(EX_RUNDOWN_VERSION);
