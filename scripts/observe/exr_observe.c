// SPDX-License-Identifier: GPL-2.0
/*
 * What scripts/qemu-load-test.sh watches through debugfs and tracefs: a
 * module that, in its init, commits one misuse, then runs down a reference
 * that a work item holds for hold_ms (insmod sleeps meanwhile, so that the
 * guest can read /sys/kernel/debug/ex_rundown/waits), then a per-CPU one.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>

#include <ex_rundown.h>
#include <ex_rundown_pcpu.h>

static unsigned int hold_ms = 3000;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "How long the work item holds the reference being run down (ms)");

static struct ex_rundown_ref exr_observe_ref;
static struct ex_rundown_pcpu exr_observe_pcpu;

static void exr_observe_release(struct work_struct *work)
{
	ex_rundown_release(&exr_observe_ref);
}

static DECLARE_DELAYED_WORK(exr_observe_work, exr_observe_release);

static void exr_observe_release_pcpu(struct work_struct *work)
{
	ex_rundown_pcpu_release(&exr_observe_pcpu);
}

static DECLARE_DELAYED_WORK(exr_observe_pcpu_work, exr_observe_release_pcpu);

/* A release without protection: warned once, counted, survived. */
static noinline void exr_observe_misuse(void)
{
	struct ex_rundown_ref r;

	ex_rundown_init(&r);
	ex_rundown_release(&r);
}

static noinline void exr_observe_rundown(void)
{
	unsigned long t = jiffies;

	ex_rundown_init(&exr_observe_ref);
	if (!ex_rundown_acquire(&exr_observe_ref))
		return;
	schedule_delayed_work(&exr_observe_work, msecs_to_jiffies(hold_ms));
	ex_rundown_wait(&exr_observe_ref);
	pr_info("waited %u ms\n", jiffies_to_msecs(jiffies - t));
}

static noinline int exr_observe_rundown_pcpu(void)
{
	int ret = ex_rundown_pcpu_init(&exr_observe_pcpu, GFP_KERNEL);

	if (ret)
		return ret;
	if (ex_rundown_pcpu_acquire(&exr_observe_pcpu)) {
		schedule_delayed_work(&exr_observe_pcpu_work, HZ / 10);
		ex_rundown_pcpu_wait(&exr_observe_pcpu);
	}
	ex_rundown_pcpu_exit(&exr_observe_pcpu);
	return 0;
}

static int __init exr_observe_init(void)
{
	exr_observe_misuse();
	exr_observe_rundown();
	return exr_observe_rundown_pcpu();
}

static void __exit exr_observe_exit(void)
{
}

module_init(exr_observe_init);
module_exit(exr_observe_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ex_rundown debugfs and trace event test");
