// SPDX-License-Identifier: GPL-2.0
/*
 * exr_consumer: a module that uses ex_rundown from outside its tree.
 *
 * Each check below is one use of the API as a driver would write it: take
 * protection around a use of the object, and let the owner run it down
 * while a kthread or a work item still holds it. Only calls that every
 * kernel from 5.10 on has, so that it builds on all of them unchanged. Module init runs them all,
 * logs "exr_consumer: PASS <check>" or "exr_consumer: FAIL <check>" for each,
 * and refuses to load if any failed, so that loading it is the test.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/task.h>
#include <linux/workqueue.h>

#include <ex_rundown.h>
#include <ex_rundown_pcpu.h>

/* The object the reference guards; the checks only look at its value. */
struct exr_widget {
	struct ex_rundown_ref rundown;
	int value;
	struct completion held;		/* the kthread holds protection */
	struct delayed_work release;
};

static bool check_acquire_release(struct exr_widget *w)
{
	if (!ex_rundown_acquire(&w->rundown))
		return false;
	w->value++;
	ex_rundown_release(&w->rundown);
	return ex_rundown_read_count(&w->rundown) == 0;
}

static bool check_acquire_many(struct exr_widget *w)
{
	bool ok;

	if (!ex_rundown_acquire_many(&w->rundown, 3))
		return false;
	ok = ex_rundown_read_count(&w->rundown) == 3;
	/* Protections taken together may be dropped in any grouping. */
	ex_rundown_release_many(&w->rundown, 2);
	ex_rundown_release(&w->rundown);
	return ok && ex_rundown_read_count(&w->rundown) == 0;
}

static int exr_holder_thread(void *data)
{
	struct exr_widget *w = data;

	if (ex_rundown_acquire(&w->rundown)) {
		complete(&w->held);
		msleep(50);		/* still using the object... */
		WRITE_ONCE(w->value, 42);
		ex_rundown_release(&w->rundown);
	} else {
		complete(&w->held);
	}
	return 0;
}

/* The owner's teardown: wait() returns only once the kthread let go. */
static bool check_wait_for_kthread(struct exr_widget *w)
{
	struct task_struct *t;
	bool ok;

	w->value = 0;
	t = kthread_run(exr_holder_thread, w, "exr_consumer");
	if (IS_ERR(t))
		return false;
	/* kthread_stop() below, also if the thread has returned by then. */
	get_task_struct(t);
	wait_for_completion(&w->held);

	ex_rundown_wait(&w->rundown);
	/* The holder's write is visible: wait() orders after its release. */
	ok = READ_ONCE(w->value) == 42 && ex_rundown_read_count(&w->rundown) == 0;
	/* No new protection once run down. */
	ok = ok && !ex_rundown_acquire(&w->rundown);
	kthread_stop(t);
	put_task_struct(t);
	return ok;
}

/* Release may be called from any context and any task, not only the taker. */
static void exr_release_work(struct work_struct *work)
{
	struct exr_widget *w = container_of(to_delayed_work(work),
					    struct exr_widget, release);

	WRITE_ONCE(w->value, 7);
	ex_rundown_release(&w->rundown);
}

/* A bounded teardown: gives up while the work item holds, succeeds after. */
static bool check_wait_timeout(struct exr_widget *w)
{
	bool ok;

	w->value = 0;
	if (!ex_rundown_acquire(&w->rundown))
		return false;
	INIT_DELAYED_WORK(&w->release, exr_release_work);
	schedule_delayed_work(&w->release, msecs_to_jiffies(200));

	ok = ex_rundown_wait_timeout(&w->rundown, msecs_to_jiffies(10)) == 0;
	ok = ok && ex_rundown_is_draining(&w->rundown);
	ok = ok && !ex_rundown_acquire(&w->rundown);
	/* The run-down has begun; a second wait picks it up. */
	ok = ok && ex_rundown_wait_timeout(&w->rundown, 10 * HZ) > 0;
	ok = ok && READ_ONCE(w->value) == 7;

	/* Only if a wait returned early: the work never ran, release for it. */
	if (cancel_delayed_work_sync(&w->release))
		ex_rundown_release(&w->rundown);
	return ok;
}

/* After a run-down the object can be brought back, e.g. replaced. */
static bool check_reinit(struct exr_widget *w)
{
	ex_rundown_reinit(&w->rundown);
	if (!ex_rundown_acquire(&w->rundown))
		return false;
	ex_rundown_release(&w->rundown);
	return !ex_rundown_is_draining(&w->rundown);
}

/* An owner that knows nobody holds protection needs no wait. */
static bool check_completed(struct exr_widget *w)
{
	bool ok;

	ex_rundown_completed(&w->rundown);
	ok = !ex_rundown_acquire(&w->rundown);
	ex_rundown_reinit(&w->rundown);
	return ok;
}

/*
 * The cache-aware family: the same calls with _pcpu, plus an allocation.
 * For objects that many CPUs use at once.
 */
static bool check_pcpu(struct exr_widget *w)
{
	struct ex_rundown_pcpu pr;
	bool ok;

	if (ex_rundown_pcpu_init(&pr, GFP_KERNEL))
		return false;
	ok = ex_rundown_pcpu_acquire(&pr);
	if (ok)
		ex_rundown_pcpu_release(&pr);
	ok = ok && ex_rundown_pcpu_acquire_many(&pr, 2);
	if (ok)
		ex_rundown_pcpu_release_many(&pr, 2);
	ex_rundown_pcpu_wait(&pr);
	ok = ok && !ex_rundown_pcpu_acquire(&pr);
	ex_rundown_pcpu_reinit(&pr);
	ok = ok && ex_rundown_pcpu_acquire(&pr);
	if (ok)
		ex_rundown_pcpu_release(&pr);
	ex_rundown_pcpu_exit(&pr);
	return ok;
}

#ifdef scoped_cond_guard
/*
 * Scoped protection, where the kernel has scoped_cond_guard() (6.5 on; the
 * header leaves the classes out elsewhere, Debian's 6.1 among them): the
 * protection is released on every way out of the scope, and a refused one
 * skips the body.
 */
static bool check_guards(struct exr_widget *w)
{
	struct ex_rundown_pcpu pr;
	bool inside = false, refused = false;

	if (ex_rundown_pcpu_init(&pr, GFP_KERNEL))
		return false;
	scoped_cond_guard(ex_rundown, refused = true, &w->rundown) {
		CLASS(ex_rundown_pcpu, prot)(&pr);

		inside = prot && ex_rundown_read_count(&w->rundown) == 1;
	}
	inside = inside && !refused && ex_rundown_read_count(&w->rundown) == 0;
	/* Returns at once only if the per-CPU guard released too. */
	inside = inside && ex_rundown_pcpu_wait_timeout(&pr, 10 * HZ) > 0;
	ex_rundown_pcpu_exit(&pr);

	ex_rundown_completed(&w->rundown);
	scoped_cond_guard(ex_rundown, refused = true, &w->rundown)
		inside = false;
	ex_rundown_reinit(&w->rundown);
	return inside && refused;
}
#else
/*
 * Elsewhere the header must leave the classes out; these names clash with
 * DEFINE_CLASS()'s at compile time if it does not.
 */
static const int class_ex_rundown_constructor __maybe_unused;
static const int class_ex_rundown_pcpu_constructor __maybe_unused;
#endif

static const struct {
	const char *name;
	bool (*fn)(struct exr_widget *w);
} exr_checks[] = {
	/* In this order: each leaves the reference as the next expects it. */
	{ "acquire_release", check_acquire_release },
	{ "acquire_many", check_acquire_many },
	{ "wait_for_kthread", check_wait_for_kthread },
	{ "reinit", check_reinit },
	{ "wait_timeout", check_wait_timeout },
	{ "reinit_after_timeout", check_reinit },
	{ "completed", check_completed },
#ifdef scoped_cond_guard
	{ "guards", check_guards },
#endif
	{ "pcpu", check_pcpu },
};

static int __init exr_consumer_init(void)
{
	static struct exr_widget w;
	unsigned long misuses = ex_rundown_misuse_count();
	unsigned int i, failed = 0, total = ARRAY_SIZE(exr_checks) + 1;

	ex_rundown_init(&w.rundown);
	init_completion(&w.held);

	for (i = 0; i < ARRAY_SIZE(exr_checks); i++) {
		if (exr_checks[i].fn(&w)) {
			pr_info("PASS %s\n", exr_checks[i].name);
		} else {
			pr_err("FAIL %s\n", exr_checks[i].name);
			failed++;
		}
	}
	/* Correct use never counts as misuse. */
	if (ex_rundown_misuse_count() == misuses) {
		pr_info("PASS no_misuse\n");
	} else {
		pr_err("FAIL no_misuse\n");
		failed++;
	}

	pr_info("%u passed, %u failed\n", total - failed, failed);
	return failed ? -EIO : 0;
}

static void __exit exr_consumer_exit(void)
{
}

module_init(exr_consumer_init);
module_exit(exr_consumer_exit);

MODULE_DESCRIPTION("Example user of ex_rundown that checks its API on load");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
