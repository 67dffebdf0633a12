// SPDX-License-Identifier: GPL-2.0
/*
 * Scenarios whose verdict is in the kernel log.
 *
 * KUnit cannot catch a lockdep report: lockdep prints it, switches itself
 * off and lets the code run on. So each case here either provokes one of the
 * reports that ex_rundown promises (a holder waiting for its own reference,
 * a lock order inversion between a reference and a mutex, a wait in atomic
 * context, a wait for a reference of the class the waiter holds, a run-down
 * wait that hangs) or does the correct variant of the same thing.
 *
 * Each case first prints what its log must show (exr_expect_line() and its
 * siblings below): the report, naming the reference and both stacks, or
 * nothing. scripts/lockdep-test.sh boots each case on its own (lockdep is
 * off after its first report), with the kernel arguments of the
 * "boot:" comment above its entry in the case table, and holds the log to
 * what the case printed.
 *
 * The cases also check what KUnit can see: lockdep's global switch
 * (debug_locks) is off after a case that must be reported and still on
 * after a correct variant, and every wait returns. None of them deadlocks
 * for real: the holder that "deadlocks" is released by a helper thread.
 *
 * Suites:
 *  - ex_rundown_lockdep: needs CONFIG_PROVE_LOCKING, skips without it;
 *  - ex_rundown_hung: the hung-wait report and its module parameter.
 */

#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/sched/task.h>
#include <linux/spinlock.h>

#include <ex_rundown_pcpu.h>

#include "../src/ex_rundown_compat.h"

struct exr_ld_ctx;

/* A helper kthread that runs one function and says when it is done. */
struct exr_ld_worker {
	struct exr_ld_ctx *ctx;
	void (*fn)(struct exr_ld_ctx *ctx);
	struct completion done;
};

struct exr_ld_ctx {
	/* One init site per scenario: lockdep names the class after it. */
	struct ex_rundown_ref self_ref;
	struct ex_rundown_ref abba_ref;
	struct mutex abba_lock;		/* taken by abba_ref's holder */
	struct ex_rundown_ref atomic_ref;
	spinlock_t atomic_lock;		/* the atomic context of a wait */
	struct ex_rundown_ref ok_ref;
	struct mutex ok_lock;		/* taken by ok_ref's holder */
	struct ex_rundown_ref hung_ref;
	/* Two objects of one type: one init site, one lock class. */
	struct ex_rundown_ref parent_ref;
	struct ex_rundown_ref child_ref;
	struct ex_rundown_pcpu parent_pcpu;
	struct ex_rundown_pcpu child_pcpu;
	struct ex_rundown_ref hung_killable_ref;
	struct ex_rundown_ref *hung_target;	/* the one being waited for */
	/* The same scenarios for the cache-aware family. */
	struct ex_rundown_pcpu self_pcpu;
	struct ex_rundown_pcpu abba_pcpu;
	struct ex_rundown_pcpu atomic_pcpu;
	struct ex_rundown_pcpu ok_pcpu;
	struct ex_rundown_pcpu hung_pcpu;
	struct ex_rundown_pcpu *pcpu_live[2];	/* to exit at the end */

	unsigned int delay_ms;	/* how long a late releaser dawdles */
	bool got;		/* the worker's acquire succeeded */

	struct hrtimer timer;
	struct ex_rundown_ref *irq_ref;
	struct ex_rundown_pcpu *irq_pcpu;	/* instead of irq_ref */
	bool irq_acquire;	/* the timer acquires, else it releases */
	bool irq_got;
	bool irq_fired;

	struct exr_ld_worker worker;
};

static int exr_ld_worker_main(void *arg)
{
	struct exr_ld_worker *w = arg;

	w->fn(w->ctx);
	kthread_complete_and_exit(&w->done, 0);
}

static void exr_ld_start(struct kunit *test, struct exr_ld_ctx *ctx,
			 void (*fn)(struct exr_ld_ctx *ctx), const char *name)
{
	struct task_struct *task;

	ctx->worker.ctx = ctx;
	ctx->worker.fn = fn;
	init_completion(&ctx->worker.done);
	task = kthread_run(exr_ld_worker_main, &ctx->worker, "%s", name);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "kthread_run: %ld",
			       PTR_ERR(task));
}

static void exr_ld_join(struct exr_ld_ctx *ctx)
{
	wait_for_completion(&ctx->worker.done);
}

static void exr_ld_ctx_exit(void *data)
{
	struct exr_ld_ctx *ctx = data;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctx->pcpu_live); i++)
		if (ctx->pcpu_live[i])
			ex_rundown_pcpu_exit(ctx->pcpu_live[i]);
}

static struct exr_ld_ctx *exr_ld_ctx(struct kunit *test)
{
	struct exr_ld_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	/* Runs before kunit frees @ctx: actions run in reverse order. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, exr_ld_ctx_exit, ctx), 0);
	return ctx;
}

/*
 * Have @ref freed when the case ends. Every ex_rundown_pcpu_init() is
 * written out where it is used: each call site is a lock class of its own.
 */
static void exr_ld_pcpu_track(struct kunit *test, struct exr_ld_ctx *ctx,
			      struct ex_rundown_pcpu *ref)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctx->pcpu_live); i++) {
		if (!ctx->pcpu_live[i]) {
			ctx->pcpu_live[i] = ref;
			return;
		}
	}
	KUNIT_FAIL(test, "more cache-aware references than exr_ld_ctx tracks");
}

/* Every lockdep case starts with lockdep on: nothing was reported before. */
static int exr_ld_init(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_PROVE_LOCKING))
		kunit_skip(test, "needs CONFIG_PROVE_LOCKING");
	KUNIT_ASSERT_TRUE_MSG(test, debug_locks,
			      "lockdep is already off: an earlier report in this boot");
	return 0;
}

/* Lockdep switches itself off after its first report. */
static void exr_ld_expect_lockdep_off(struct kunit *test)
{
	KUNIT_EXPECT_FALSE_MSG(test, debug_locks,
			       "lockdep did not report the scenario");
}

static void exr_ld_expect_lockdep_on(struct kunit *test)
{
	KUNIT_EXPECT_TRUE_MSG(test, debug_locks,
			      "lockdep reported a correct use (see the log)");
}

/*
 * What the kernel log of a case must show, printed before the case provokes
 * it: each line is a KUnit diagnostic "# <case>: expect...: <regex>" that
 * scripts/lockdep-test.sh reads back, the regex an extended one (grep -E).
 *  - exr_expect_line(): a line matches, after the line that matched the
 *    previous expectation (the first one is looked for from the boot on);
 *  - exr_expect_next_line(): the line right after that one matches;
 *  - exr_expect_lines(): exactly @n lines of the whole log match.
 * Any complaint in the log (a WARNING, a BUG...) that no expectation
 * matches fails the case: a case that expects nothing expects silence.
 */
#define exr_expect_line(test, fmt, ...) \
	kunit_info(test, "expect: " fmt "\n", ##__VA_ARGS__)
#define exr_expect_next_line(test, fmt, ...) \
	kunit_info(test, "expect next: " fmt "\n", ##__VA_ARGS__)
#define exr_expect_lines(test, n, re) \
	kunit_info(test, "expect %d: %s\n", n, re)

/*
 * Lockdep's report of a task that waits for a reference of @class, in @fn
 * by @wait, while it holds protection on one of that class.
 */
static void exr_ld_expect_recursive(struct kunit *test, const char *class,
				    const char *fn, const char *wait)
{
	exr_expect_line(test, "WARNING: possible recursive locking detected");
	exr_expect_line(test, "is trying to acquire lock:");
	exr_expect_next_line(test, "\\(%s\\).*at: %s\\+", class, fn);
	exr_expect_line(test, "but task is already holding lock:");
	exr_expect_next_line(test, "\\(%s\\).*at: %s\\+", class, fn);
	exr_expect_line(test, "%s\\+", wait);
}

/*
 * Lockdep's report of a lock order inversion: in @fn, the task takes @want
 * by @want_call (a regex) while it holds @held, which @held_fn took before
 * by @held_call while it held @want. Lockdep prints the dependency it knew
 * (#1, @held) and then the one that closes the cycle (#0, @want), each with
 * the stack that took the lock.
 */
static void exr_ld_expect_circular(struct kunit *test, const char *fn,
				   const char *want, const char *want_call,
				   const char *held, const char *held_call,
				   const char *held_fn)
{
	exr_expect_line(test, "WARNING: possible circular locking dependency detected");
	exr_expect_line(test, "is trying to acquire lock:");
	exr_expect_next_line(test, "\\(%s\\).*at: %s\\+", want, fn);
	exr_expect_line(test, "but task is already holding lock:");
	exr_expect_next_line(test, "\\(%s\\).*at: %s\\+", held, fn);
	exr_expect_line(test, "-> #1 \\(%s\\)", held);
	exr_expect_line(test, "%s", held_call);
	exr_expect_next_line(test, "%s\\+", held_fn);
	exr_expect_line(test, "-> #0 \\(%s\\)", want);
	exr_expect_line(test, "%s", want_call);
	exr_expect_next_line(test, "%s\\+", fn);
}

/*
 * A wait on a reference of @class, in @fn, under the spinlock of class
 * @held: might_sleep() reports it first (the waits call it before they
 * tell lockdep), then lockdep's wait-context check.
 */
static void exr_ld_expect_invalid_wait(struct kunit *test, const char *class,
				       const char *fn, const char *held)
{
	exr_expect_line(test, "BUG: sleeping function called from invalid context");
	exr_expect_line(test, "BUG: Invalid wait context");
	exr_expect_line(test, "is trying to lock:");
	exr_expect_next_line(test, "\\(%s\\).*at: %s\\+", class, fn);
	exr_expect_line(test, "lock held by .*:");
	exr_expect_next_line(test, "\\(%s\\)", held);
}

/* Release the protection someone else took on @ctx->self_ref, late. */
static void exr_ld_late_release(struct exr_ld_ctx *ctx)
{
	msleep(ctx->delay_ms);
	ex_rundown_release(&ctx->self_ref);
}

/*
 * A holder that waits for its own reference: a deadlock, reported as
 * recursive locking when the wait begins. A helper releases the holder's
 * protection (lockdep is off by then), so that the wait returns.
 */
static noinline void exr_ld_self_deadlock(struct kunit *test, bool killable)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	ex_rundown_init(&ctx->self_ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(&ctx->self_ref));
	ctx->delay_ms = 100;
	exr_ld_start(test, ctx, exr_ld_late_release, "exr_ld_releaser");
	if (killable)
		KUNIT_EXPECT_EQ(test, ex_rundown_wait_killable(&ctx->self_ref), 0);
	else
		ex_rundown_wait(&ctx->self_ref);
	exr_ld_join(ctx);
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ctx->self_ref), 0UL);
	exr_ld_expect_lockdep_off(test);
}

static void ex_rundown_lockdep_test_self_deadlock(struct kunit *test)
{
	exr_ld_expect_recursive(test, "&ctx->self_ref", "exr_ld_self_deadlock",
				"ex_rundown_wait");
	exr_ld_self_deadlock(test, false);
}

static void ex_rundown_lockdep_test_self_deadlock_killable(struct kunit *test)
{
	exr_ld_expect_recursive(test, "&ctx->self_ref", "exr_ld_self_deadlock",
				"ex_rundown_wait_killable");
	exr_ld_self_deadlock(test, true);
}

/* The correct variant: protections nest and balance, then the wait. */
static void ex_rundown_lockdep_test_self_ok(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	struct ex_rundown_ref *ref = &ctx->ok_ref;

	ex_rundown_init(ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));	/* nested */
	ex_rundown_release(ref);
	ex_rundown_release(ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire_many(ref, 3));
	ex_rundown_release_many(ref, 3);
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire_many(ref, 2));
	ex_rundown_release(ref);
	ex_rundown_release(ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	ex_rundown_release_many(ref, 2);
	ex_rundown_wait(ref);
	KUNIT_EXPECT_TRUE(test, ex_rundown_is_draining(ref));
	exr_ld_expect_lockdep_on(test);
}

/* A holder of @abba_ref that takes @abba_lock. */
static noinline void exr_ld_abba_holder(struct exr_ld_ctx *ctx)
{
	ctx->got = ex_rundown_acquire(&ctx->abba_ref);
	if (!ctx->got)
		return;
	mutex_lock(&ctx->abba_lock);
	mutex_unlock(&ctx->abba_lock);
	ex_rundown_release(&ctx->abba_ref);
}

/* The owner that runs @abba_ref down while holding @abba_lock. */
static noinline void exr_ld_abba_owner(struct exr_ld_ctx *ctx)
{
	mutex_lock(&ctx->abba_lock);
	ex_rundown_wait(&ctx->abba_ref);
	mutex_unlock(&ctx->abba_lock);
}

static struct exr_ld_ctx *exr_ld_abba_ctx(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	ex_rundown_init(&ctx->abba_ref);
	mutex_init(&ctx->abba_lock);
	return ctx;
}

/*
 * Waiting for the run-down while holding a mutex that a holder takes under
 * protection: the holder blocks on the mutex, the owner on the holder. Here
 * the holder runs first and the owner's wait closes the cycle; nothing
 * blocks, because they do not overlap.
 */
static void ex_rundown_lockdep_test_abba(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_abba_ctx(test);

	exr_ld_expect_circular(test, "exr_ld_abba_owner",
			       "&ctx->abba_ref", "ex_rundown_wait\\+",
			       "&ctx->abba_lock", "mutex_lock", "exr_ld_abba_holder");
	exr_ld_start(test, ctx, exr_ld_abba_holder, "exr_ld_holder");
	exr_ld_join(ctx);
	KUNIT_ASSERT_TRUE(test, ctx->got);
	exr_ld_abba_owner(ctx);
	KUNIT_EXPECT_TRUE(test, ex_rundown_is_draining(&ctx->abba_ref));
	exr_ld_expect_lockdep_off(test);
}

/*
 * The same inversion seen the other way round: the owner has already waited
 * under the mutex (on an idle reference, so it returned at once), and the
 * holder then takes the mutex under protection after a reinit.
 */
static void ex_rundown_lockdep_test_abba_reverse(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_abba_ctx(test);

	exr_ld_expect_circular(test, "exr_ld_abba_holder",
			       "&ctx->abba_lock", "mutex_lock",
			       "&ctx->abba_ref", "ex_rundown_wait\\+", "exr_ld_abba_owner");
	exr_ld_abba_owner(ctx);
	ex_rundown_reinit(&ctx->abba_ref);
	exr_ld_start(test, ctx, exr_ld_abba_holder, "exr_ld_holder");
	exr_ld_join(ctx);
	KUNIT_EXPECT_TRUE(test, ctx->got);
	exr_ld_expect_lockdep_off(test);
}

static noinline void exr_ld_ok_holder(struct exr_ld_ctx *ctx)
{
	ctx->got = ex_rundown_acquire(&ctx->ok_ref);
	if (!ctx->got)
		return;
	mutex_lock(&ctx->ok_lock);
	mutex_unlock(&ctx->ok_lock);
	ex_rundown_release(&ctx->ok_ref);
}

/*
 * The correct variant: the owner unpublishes the object under the mutex,
 * drops the mutex, and only then waits.
 */
static void ex_rundown_lockdep_test_abba_ok(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	ex_rundown_init(&ctx->ok_ref);
	mutex_init(&ctx->ok_lock);
	exr_ld_start(test, ctx, exr_ld_ok_holder, "exr_ld_holder");
	exr_ld_join(ctx);
	KUNIT_ASSERT_TRUE(test, ctx->got);

	mutex_lock(&ctx->ok_lock);
	/* ... unpublish the object here ... */
	mutex_unlock(&ctx->ok_lock);
	ex_rundown_wait(&ctx->ok_ref);
	KUNIT_EXPECT_TRUE(test, ex_rundown_is_draining(&ctx->ok_ref));
	exr_ld_expect_lockdep_on(test);
}

/*
 * Waiting in atomic context, under a spinlock: lockdep's wait-context check
 * reports it even though the reference is idle and nothing sleeps.
 */
static void ex_rundown_lockdep_test_atomic_spinlock(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	exr_ld_expect_invalid_wait(test, "&ctx->atomic_ref", __func__,
				   "&ctx->atomic_lock");
	ex_rundown_init(&ctx->atomic_ref);
	spin_lock_init(&ctx->atomic_lock);
	spin_lock(&ctx->atomic_lock);
	ex_rundown_wait(&ctx->atomic_ref);
	spin_unlock(&ctx->atomic_lock);
	KUNIT_EXPECT_TRUE(test, ex_rundown_is_draining(&ctx->atomic_ref));
	exr_ld_expect_lockdep_off(test);
}

/*
 * Waiting with preemption disabled: lockdep does not see preempt_disable(),
 * might_sleep() (CONFIG_DEBUG_ATOMIC_SLEEP) does. Lockdep stays on.
 */
static void ex_rundown_lockdep_test_atomic_preempt(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	if (!IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP))
		kunit_skip(test, "needs CONFIG_DEBUG_ATOMIC_SLEEP");
	/* At the library's might_sleep(), whichever file of it holds it. */
	exr_expect_line(test,
			"BUG: sleeping function called from invalid context at .*src/ex_rundown[a-z_]*\\.c");
	exr_expect_line(test, "ex_rundown_wait\\+");
	exr_expect_line(test, "%s\\+", __func__);
	ex_rundown_init(&ctx->atomic_ref);
	preempt_disable();
	ex_rundown_wait(&ctx->atomic_ref);
	preempt_enable();
	KUNIT_EXPECT_TRUE(test, ex_rundown_is_draining(&ctx->atomic_ref));
}

static enum hrtimer_restart exr_ld_timer_fn(struct hrtimer *timer)
{
	struct exr_ld_ctx *ctx = container_of(timer, struct exr_ld_ctx, timer);

	if (ctx->irq_acquire)
		ctx->irq_got = ctx->irq_pcpu ?
			       ex_rundown_pcpu_acquire(ctx->irq_pcpu) :
			       ex_rundown_acquire(ctx->irq_ref);
	else if (ctx->irq_pcpu)
		ex_rundown_pcpu_release(ctx->irq_pcpu);
	else
		ex_rundown_release(ctx->irq_ref);
	WRITE_ONCE(ctx->irq_fired, true);
	return HRTIMER_NORESTART;
}

/* Run the acquire or release of @ref or @pref once in a hard interrupt. */
static void exr_ld_in_hardirq(struct kunit *test, struct exr_ld_ctx *ctx,
			      struct ex_rundown_ref *ref,
			      struct ex_rundown_pcpu *pref, bool acquire)
{
	unsigned long deadline = jiffies + 5 * HZ;

	ctx->irq_ref = ref;
	ctx->irq_pcpu = pref;
	ctx->irq_acquire = acquire;
	WRITE_ONCE(ctx->irq_fired, false);
	hrtimer_setup(&ctx->timer, exr_ld_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_HARD);
	hrtimer_start(&ctx->timer, ns_to_ktime(100 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	while (!READ_ONCE(ctx->irq_fired) && time_before(jiffies, deadline))
		usleep_range(100, 200);
	hrtimer_cancel(&ctx->timer);
	KUNIT_ASSERT_TRUE_MSG(test, READ_ONCE(ctx->irq_fired),
			      "the hrtimer did not fire in 5 s");
}

/*
 * The correct variants of atomic context: protection taken and dropped
 * under a spinlock with interrupts off and in a hard interrupt, the wait
 * outside. Taking protection never blocks, so none of this is reported.
 */
static void ex_rundown_lockdep_test_atomic_ok(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	unsigned long flags;

	ex_rundown_init(&ctx->ok_ref);
	spin_lock_init(&ctx->atomic_lock);
	spin_lock_irqsave(&ctx->atomic_lock, flags);
	ctx->got = ex_rundown_acquire(&ctx->ok_ref);
	if (ctx->got)
		ex_rundown_release(&ctx->ok_ref);
	spin_unlock_irqrestore(&ctx->atomic_lock, flags);
	KUNIT_EXPECT_TRUE(test, ctx->got);

	exr_ld_in_hardirq(test, ctx, &ctx->ok_ref, NULL, true);
	KUNIT_ASSERT_TRUE(test, ctx->irq_got);
	exr_ld_in_hardirq(test, ctx, &ctx->ok_ref, NULL, false);

	ex_rundown_wait(&ctx->ok_ref);
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ctx->ok_ref), 0UL);
	exr_ld_expect_lockdep_on(test);
}

static void exr_ld_release_ok_ref(struct exr_ld_ctx *ctx)
{
	msleep(ctx->delay_ms);
	ex_rundown_release(&ctx->ok_ref);
}

/*
 * Protection released somewhere else than where it was taken: taken in a
 * hard interrupt and released by the task; taken by the task, handed off
 * and released by an interrupt or by another task. Then the task waits:
 * it holds nothing, so lockdep must see nothing (no unbalanced unlock, no
 * recursive locking, no lock held at exit).
 */
static void ex_rundown_lockdep_test_hand_off_ok(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	struct ex_rundown_ref *ref = &ctx->ok_ref;

	ex_rundown_init(ref);

	exr_ld_in_hardirq(test, ctx, ref, NULL, true);
	KUNIT_ASSERT_TRUE(test, ctx->irq_got);
	ex_rundown_release(ref);

	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	ex_rundown_hand_off(ref);
	exr_ld_in_hardirq(test, ctx, ref, NULL, false);

	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	ex_rundown_hand_off(ref);
	ctx->delay_ms = 50;
	exr_ld_start(test, ctx, exr_ld_release_ok_ref, "exr_ld_releaser");
	ex_rundown_wait(ref);
	exr_ld_join(ctx);
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(ref), 0UL);
	exr_ld_expect_lockdep_on(test);
}

/* The cache-aware family: the same annotations, the same reports. */

static void exr_ld_pcpu_late_release(struct exr_ld_ctx *ctx)
{
	msleep(ctx->delay_ms);
	ex_rundown_pcpu_release(&ctx->self_pcpu);
}

static void ex_rundown_lockdep_test_pcpu_self_deadlock(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	exr_ld_expect_recursive(test, "&ctx->self_pcpu", __func__,
				"ex_rundown_pcpu_wait");
	KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(&ctx->self_pcpu, GFP_KERNEL), 0);
	exr_ld_pcpu_track(test, ctx, &ctx->self_pcpu);
	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire(&ctx->self_pcpu));
	ctx->delay_ms = 100;
	exr_ld_start(test, ctx, exr_ld_pcpu_late_release, "exr_ld_releaser");
	ex_rundown_pcpu_wait(&ctx->self_pcpu);
	exr_ld_join(ctx);
	KUNIT_EXPECT_TRUE(test, ex_rundown_pcpu_is_draining(&ctx->self_pcpu));
	exr_ld_expect_lockdep_off(test);
}

static noinline void exr_ld_pcpu_abba_holder(struct exr_ld_ctx *ctx)
{
	ctx->got = ex_rundown_pcpu_acquire(&ctx->abba_pcpu);
	if (!ctx->got)
		return;
	mutex_lock(&ctx->abba_lock);
	mutex_unlock(&ctx->abba_lock);
	ex_rundown_pcpu_release(&ctx->abba_pcpu);
}

static noinline void exr_ld_pcpu_abba_owner(struct exr_ld_ctx *ctx)
{
	mutex_lock(&ctx->abba_lock);
	ex_rundown_pcpu_wait(&ctx->abba_pcpu);
	mutex_unlock(&ctx->abba_lock);
}

static void ex_rundown_lockdep_test_pcpu_abba(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	exr_ld_expect_circular(test, "exr_ld_pcpu_abba_owner",
			       "&ctx->abba_pcpu", "ex_rundown_pcpu_wait\\+",
			       "&ctx->abba_lock", "mutex_lock",
			       "exr_ld_pcpu_abba_holder");
	KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(&ctx->abba_pcpu, GFP_KERNEL), 0);
	exr_ld_pcpu_track(test, ctx, &ctx->abba_pcpu);
	mutex_init(&ctx->abba_lock);
	exr_ld_start(test, ctx, exr_ld_pcpu_abba_holder, "exr_ld_holder");
	exr_ld_join(ctx);
	KUNIT_ASSERT_TRUE(test, ctx->got);
	exr_ld_pcpu_abba_owner(ctx);
	exr_ld_expect_lockdep_off(test);
}

/*
 * The first wait collects the per-CPU counters, which sleeps (an RCU grace
 * period); the second, under the spinlock, finds them collected and the
 * reference drained, so nothing sleeps for real: only the checks see it.
 */
static void ex_rundown_lockdep_test_pcpu_atomic_spinlock(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);

	exr_ld_expect_invalid_wait(test, "&ctx->atomic_pcpu", __func__,
				   "&ctx->atomic_lock");
	KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(&ctx->atomic_pcpu, GFP_KERNEL), 0);
	exr_ld_pcpu_track(test, ctx, &ctx->atomic_pcpu);
	spin_lock_init(&ctx->atomic_lock);
	ex_rundown_pcpu_wait(&ctx->atomic_pcpu);
	exr_ld_expect_lockdep_on(test);
	spin_lock(&ctx->atomic_lock);
	ex_rundown_pcpu_wait(&ctx->atomic_pcpu);
	spin_unlock(&ctx->atomic_lock);
	exr_ld_expect_lockdep_off(test);
}

static noinline void exr_ld_pcpu_ok_holder(struct exr_ld_ctx *ctx)
{
	ctx->got = ex_rundown_pcpu_acquire(&ctx->ok_pcpu);
	if (!ctx->got)
		return;
	mutex_lock(&ctx->ok_lock);
	mutex_unlock(&ctx->ok_lock);
	ex_rundown_pcpu_release(&ctx->ok_pcpu);
}

/* Every correct variant above, on one cache-aware reference. */
static void ex_rundown_lockdep_test_pcpu_ok(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	struct ex_rundown_pcpu *ref = &ctx->ok_pcpu;
	unsigned long flags;

	KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(&ctx->ok_pcpu, GFP_KERNEL), 0);
	exr_ld_pcpu_track(test, ctx, &ctx->ok_pcpu);
	mutex_init(&ctx->ok_lock);
	spin_lock_init(&ctx->atomic_lock);

	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire(ref));
	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire(ref));
	ex_rundown_pcpu_release(ref);
	ex_rundown_pcpu_release(ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire_many(ref, 3));
	ex_rundown_pcpu_release_many(ref, 3);
	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire_many(ref, 2));
	ex_rundown_pcpu_release(ref);
	ex_rundown_pcpu_release(ref);

	spin_lock_irqsave(&ctx->atomic_lock, flags);
	ctx->got = ex_rundown_pcpu_acquire(ref);
	if (ctx->got)
		ex_rundown_pcpu_release(ref);
	spin_unlock_irqrestore(&ctx->atomic_lock, flags);
	KUNIT_EXPECT_TRUE(test, ctx->got);

	exr_ld_in_hardirq(test, ctx, NULL, ref, true);
	KUNIT_ASSERT_TRUE(test, ctx->irq_got);
	ex_rundown_pcpu_release(ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire(ref));
	ex_rundown_pcpu_hand_off(ref);
	exr_ld_in_hardirq(test, ctx, NULL, ref, false);

	exr_ld_start(test, ctx, exr_ld_pcpu_ok_holder, "exr_ld_holder");
	exr_ld_join(ctx);
	KUNIT_ASSERT_TRUE(test, ctx->got);
	mutex_lock(&ctx->ok_lock);
	mutex_unlock(&ctx->ok_lock);

	ex_rundown_pcpu_wait(ref);
	KUNIT_EXPECT_EQ(test, ex_rundown_pcpu_read_count(ref), 0UL);
	exr_ld_expect_lockdep_on(test);
}

/*
 * Parent and child objects of one type, whose references are initialised at
 * one call site (node_ref, a lock class of its own): the owner, holding
 * protection on the parent, runs the child down. Nothing can deadlock, but
 * lockdep sees a wait for a class the task holds, unless the wait says it
 * is nested.
 */
static noinline void exr_ld_node_init(struct ex_rundown_ref *node_ref)
{
	ex_rundown_init(node_ref);
}

static noinline void exr_ld_parent_child(struct kunit *test,
					 struct exr_ld_ctx *ctx, bool nested)
{
	exr_ld_node_init(&ctx->parent_ref);
	exr_ld_node_init(&ctx->child_ref);
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(&ctx->parent_ref));
	if (nested)
		ex_rundown_wait_nested(&ctx->child_ref, SINGLE_DEPTH_NESTING);
	else
		ex_rundown_wait(&ctx->child_ref);
	ex_rundown_release(&ctx->parent_ref);
	ex_rundown_wait(&ctx->parent_ref);
}

static void ex_rundown_lockdep_test_same_class(struct kunit *test)
{
	exr_ld_expect_recursive(test, "node_ref", "exr_ld_parent_child",
				"ex_rundown_wait");
	exr_ld_parent_child(test, exr_ld_ctx(test), false);
	exr_ld_expect_lockdep_off(test);
}

static void ex_rundown_lockdep_test_same_class_nested(struct kunit *test)
{
	exr_ld_parent_child(test, exr_ld_ctx(test), true);
	exr_ld_expect_lockdep_on(test);
}

/* The same for the cache-aware family (pcpu_node_ref). */
static noinline void exr_ld_pcpu_node_init(struct kunit *test,
					   struct exr_ld_ctx *ctx,
					   struct ex_rundown_pcpu *pcpu_node_ref)
{
	KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(pcpu_node_ref, GFP_KERNEL), 0);
	exr_ld_pcpu_track(test, ctx, pcpu_node_ref);
}

static noinline void exr_ld_pcpu_parent_child(struct kunit *test,
					      struct exr_ld_ctx *ctx,
					      bool nested)
{
	exr_ld_pcpu_node_init(test, ctx, &ctx->parent_pcpu);
	exr_ld_pcpu_node_init(test, ctx, &ctx->child_pcpu);
	KUNIT_ASSERT_TRUE(test, ex_rundown_pcpu_acquire(&ctx->parent_pcpu));
	if (nested)
		ex_rundown_pcpu_wait_nested(&ctx->child_pcpu, SINGLE_DEPTH_NESTING);
	else
		ex_rundown_pcpu_wait(&ctx->child_pcpu);
	ex_rundown_pcpu_release(&ctx->parent_pcpu);
	ex_rundown_pcpu_wait(&ctx->parent_pcpu);
}

static void ex_rundown_lockdep_test_pcpu_same_class(struct kunit *test)
{
	exr_ld_expect_recursive(test, "pcpu_node_ref", "exr_ld_pcpu_parent_child",
				"ex_rundown_pcpu_wait");
	exr_ld_pcpu_parent_child(test, exr_ld_ctx(test), false);
	exr_ld_expect_lockdep_off(test);
}

static void ex_rundown_lockdep_test_pcpu_same_class_nested(struct kunit *test)
{
	exr_ld_pcpu_parent_child(test, exr_ld_ctx(test), true);
	exr_ld_expect_lockdep_on(test);
}

static struct kunit_case ex_rundown_lockdep_test_cases[] = {
	KUNIT_CASE(ex_rundown_lockdep_test_self_deadlock),
	KUNIT_CASE(ex_rundown_lockdep_test_self_deadlock_killable),
	KUNIT_CASE(ex_rundown_lockdep_test_self_ok),
	KUNIT_CASE(ex_rundown_lockdep_test_abba),
	KUNIT_CASE(ex_rundown_lockdep_test_abba_reverse),
	KUNIT_CASE(ex_rundown_lockdep_test_abba_ok),
	KUNIT_CASE(ex_rundown_lockdep_test_atomic_spinlock),
	KUNIT_CASE(ex_rundown_lockdep_test_atomic_preempt),
	KUNIT_CASE(ex_rundown_lockdep_test_atomic_ok),
	KUNIT_CASE(ex_rundown_lockdep_test_hand_off_ok),
	KUNIT_CASE(ex_rundown_lockdep_test_pcpu_self_deadlock),
	KUNIT_CASE(ex_rundown_lockdep_test_pcpu_abba),
	KUNIT_CASE(ex_rundown_lockdep_test_pcpu_atomic_spinlock),
	KUNIT_CASE(ex_rundown_lockdep_test_pcpu_ok),
	KUNIT_CASE(ex_rundown_lockdep_test_same_class),
	KUNIT_CASE(ex_rundown_lockdep_test_same_class_nested),
	KUNIT_CASE(ex_rundown_lockdep_test_pcpu_same_class),
	KUNIT_CASE(ex_rundown_lockdep_test_pcpu_same_class_nested),
	{}
};

static struct kunit_suite ex_rundown_lockdep_test_suite = {
	.name = "ex_rundown_lockdep",
	.init = exr_ld_init,
	.test_cases = ex_rundown_lockdep_test_cases,
};

/* ------------------------------------------------------------------ */
/* The hung-wait report.                                              */

/*
 * The holder that forgets to release, for a while: noinline, so that its
 * name is in the stack the holder tracking records and the report prints.
 */
static noinline void exr_hung_forgetful_holder(struct exr_ld_ctx *ctx)
{
	ctx->got = ex_rundown_acquire(ctx->hung_target);
	complete(&ctx->worker.done);
	if (!ctx->got)
		return;
	msleep(ctx->delay_ms);
	ex_rundown_release(ctx->hung_target);
}

static noinline void exr_hung_forgetful_pcpu_holder(struct exr_ld_ctx *ctx)
{
	ctx->got = ex_rundown_pcpu_acquire(&ctx->hung_pcpu);
	complete(&ctx->worker.done);
	if (!ctx->got)
		return;
	msleep(ctx->delay_ms);
	ex_rundown_pcpu_release(&ctx->hung_pcpu);
}

static int exr_hung_holder_main(void *arg)
{
	struct exr_ld_ctx *ctx = arg;

	if (ctx->irq_pcpu)
		exr_hung_forgetful_pcpu_holder(ctx);
	else
		exr_hung_forgetful_holder(ctx);
	return 0;
}

enum exr_hung_kind {
	EXR_HUNG_REF,		/* ex_rundown_wait() */
	EXR_HUNG_REF_KILLABLE,	/* ex_rundown_wait_killable() */
	EXR_HUNG_PCPU,		/* ex_rundown_pcpu_wait() */
};

/*
 * The test thread waits while a kthread holds protection for @delay_ms;
 * returns how long the wait took, in ms. The kthread signals once it
 * holds protection and exits on its own after its release. Each kind
 * waits on a reference of its own, which its report names.
 */
static noinline unsigned int exr_hung_wait(struct kunit *test,
					   struct exr_ld_ctx *ctx,
					   unsigned int delay_ms,
					   enum exr_hung_kind kind)
{
	bool pcpu = kind == EXR_HUNG_PCPU;
	struct task_struct *task;
	unsigned long t0;

	if (pcpu) {
		KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(&ctx->hung_pcpu, GFP_KERNEL), 0);
		exr_ld_pcpu_track(test, ctx, &ctx->hung_pcpu);
		ctx->irq_pcpu = &ctx->hung_pcpu;	/* tells the holder */
	} else if (kind == EXR_HUNG_REF_KILLABLE) {
		ex_rundown_init(&ctx->hung_killable_ref);
		ctx->hung_target = &ctx->hung_killable_ref;
	} else {
		ex_rundown_init(&ctx->hung_ref);
		ctx->hung_target = &ctx->hung_ref;
	}
	ctx->delay_ms = delay_ms;
	init_completion(&ctx->worker.done);
	task = kthread_run(exr_hung_holder_main, ctx, "exr_forgetful");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "kthread_run: %ld",
			       PTR_ERR(task));
	/* The thread may still be releasing: keep it alive until then. */
	get_task_struct(task);
	wait_for_completion(&ctx->worker.done);
	KUNIT_ASSERT_TRUE(test, ctx->got);

	t0 = jiffies;
	if (pcpu)
		ex_rundown_pcpu_wait(&ctx->hung_pcpu);
	else if (kind == EXR_HUNG_REF_KILLABLE)
		KUNIT_EXPECT_EQ(test, ex_rundown_wait_killable(ctx->hung_target), 0);
	else
		ex_rundown_wait(ctx->hung_target);
	t0 = jiffies - t0;
	kthread_stop(task);
	put_task_struct(task);
	KUNIT_EXPECT_EQ(test, pcpu ? ex_rundown_pcpu_read_count(&ctx->hung_pcpu) :
				     ex_rundown_read_count(ctx->hung_target), 0UL);
	return jiffies_to_msecs(t0);
}

/* Any line of the hung-wait report, whichever reference it names. */
#define EXR_HUNG_REPORT	"has waited [0-9]+ s for the run-down of"

/*
 * The one hung-wait report of a boot with hung_timeout_secs=1: the waiter
 * in exr_hung_wait(), @ref (as its init names it) and one outstanding
 * protection, then, from CONFIG_EX_RUNDOWN_DEBUG_HOLDERS, the holder task
 * and its stack, which took the protection in @holder_fn.
 */
static void exr_hung_expect_report(struct kunit *test, const char *ref,
				   const char *holder_fn)
{
	exr_expect_lines(test, 1, EXR_HUNG_REPORT);
	exr_expect_line(test,
			"ex_rundown: [^ ]+\\[[0-9]+\\] has waited 1 s for the run-down of %s at [^ ]+ in exr_hung_wait\\+[^ ]*: 1 protection\\(s\\) outstanding",
			ref);
	exr_expect_line(test, "1 recorded holder\\(s\\) of");
	exr_expect_line(test,
			"holder 1: exr_forgetful\\[[0-9]+\\] took 1 protection\\(s\\) [0-9]+ ms ago at:");
	exr_expect_line(test, "^ *__ex_rundown_(pcpu_)?acquire_slow\\+");
	exr_expect_next_line(test, "^ *%s\\+", holder_fn);
}

/*
 * A holder releases 2.5 s late: with hung_timeout_secs=1 the waiter reports
 * once, naming the reference, one outstanding protection and itself (and,
 * with CONFIG_EX_RUNDOWN_DEBUG_HOLDERS, the holder and its stack), then
 * keeps waiting and returns after the release.
 */
static void ex_rundown_hung_test_late_release(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	unsigned int ms;

	exr_hung_expect_report(test, "&ctx->hung_ref", "exr_hung_forgetful_holder");
	ms = exr_hung_wait(test, ctx, 2500, EXR_HUNG_REF);
	KUNIT_EXPECT_GE_MSG(test, ms, 2400U, "the wait returned before the release");
}

/*
 * The same with the killable wait, which the kernel's hung-task detector
 * does not watch.
 */
static void ex_rundown_hung_test_killable_late_release(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	unsigned int ms;

	exr_hung_expect_report(test, "&ctx->hung_killable_ref",
			       "exr_hung_forgetful_holder");
	ms = exr_hung_wait(test, ctx, 2500, EXR_HUNG_REF_KILLABLE);
	KUNIT_EXPECT_GE_MSG(test, ms, 2400U, "the wait returned before the release");
}

/* The same for the cache-aware family. */
static void ex_rundown_hung_test_pcpu_late_release(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	unsigned int ms;

	exr_hung_expect_report(test, "&ctx->hung_pcpu",
			       "exr_hung_forgetful_pcpu_holder");
	ms = exr_hung_wait(test, ctx, 2500, EXR_HUNG_PCPU);
	KUNIT_EXPECT_GE_MSG(test, ms, 2400U, "the wait returned before the release");
}

/* A release within the timeout: no report. */
static void ex_rundown_hung_test_prompt_release(struct kunit *test)
{
	struct exr_ld_ctx *ctx = exr_ld_ctx(test);
	unsigned int ms;

	exr_expect_lines(test, 0, EXR_HUNG_REPORT);
	ms = exr_hung_wait(test, ctx, 200, EXR_HUNG_REF);
	KUNIT_EXPECT_GE_MSG(test, ms, 150U, "the wait returned before the release");
}

/*
 * Every kind of wait, each for a holder that releases 1.5 s late: later
 * than the 1 s after which the cases above are reported.
 */
static void exr_hung_wait_each_late(struct kunit *test)
{
	enum exr_hung_kind kind;
	unsigned int ms;

	for (kind = EXR_HUNG_REF; kind <= EXR_HUNG_PCPU; kind++) {
		ms = exr_hung_wait(test, exr_ld_ctx(test), 1500, kind);
		KUNIT_EXPECT_GE_MSG(test, ms, 1400U,
				    "wait %d returned before the release", (int)kind);
	}
}

/* hung_timeout_secs=0 turns the report off, for every kind of wait. */
static void ex_rundown_hung_test_off(struct kunit *test)
{
	exr_expect_lines(test, 0, EXR_HUNG_REPORT);
	exr_hung_wait_each_late(test);
}

/*
 * A timeout over a day is refused: -EINVAL, which the kernel reports as an
 * invalid value, and the reason. The waits go unreported, as under the
 * default of 30 s.
 */
static void ex_rundown_hung_test_bad_timeout(struct kunit *test)
{
	exr_expect_line(test,
			"ex_rundown: hung_timeout_secs: '86401' is not a number of seconds from 0 \\(off\\) to 86400");
	exr_expect_line(test,
			"`86401' invalid for parameter `ex_rundown.hung_timeout_secs'");
	exr_expect_lines(test, 0, EXR_HUNG_REPORT);
	exr_hung_wait_each_late(test);
}

/* "boot:" gives the kernel arguments scripts/lockdep-test.sh boots with. */
static struct kunit_case ex_rundown_hung_test_cases[] = {
	/* boot: ex_rundown.hung_timeout_secs=1 */
	KUNIT_CASE_SLOW(ex_rundown_hung_test_late_release),
	/* boot: ex_rundown.hung_timeout_secs=1 */
	KUNIT_CASE_SLOW(ex_rundown_hung_test_killable_late_release),
	/* boot: ex_rundown.hung_timeout_secs=1 */
	KUNIT_CASE_SLOW(ex_rundown_hung_test_pcpu_late_release),
	/* boot: ex_rundown.hung_timeout_secs=1 */
	KUNIT_CASE(ex_rundown_hung_test_prompt_release),
	/* boot: ex_rundown.hung_timeout_secs=0 */
	KUNIT_CASE_SLOW(ex_rundown_hung_test_off),
	/* boot: ex_rundown.hung_timeout_secs=86401 */
	KUNIT_CASE_SLOW(ex_rundown_hung_test_bad_timeout),
	{}
};

static struct kunit_suite ex_rundown_hung_test_suite = {
	.name = "ex_rundown_hung",
	.test_cases = ex_rundown_hung_test_cases,
};

kunit_test_suites(&ex_rundown_lockdep_test_suite, &ex_rundown_hung_test_suite);

MODULE_DESCRIPTION("Lockdep and hung-wait report scenarios for ex_rundown (verdicts in the kernel log)");
MODULE_LICENSE("GPL");
