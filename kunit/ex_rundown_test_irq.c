// SPDX-License-Identifier: GPL-2.0
/*
 * Hard interrupts: every call but the waits may be made in one. A
 * hard-IRQ hrtimer (HRTIMER_MODE_*_HARD, so also on PREEMPT_RT) makes them
 * there, in some cases while process context on the same CPU is in the
 * middle of a call of its own.
 */

#include <linux/delay.h>
#include <linux/kthread.h>

#include "ex_rundown_test.h"

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

/* The interrupt's work, one of these per case (struct exr_irq.fn). */

/* Acquire and release, counting what happened. */
static void exr_irq_hammer(struct exr_irq *irq)
{
	const struct exr_family *fam = irq->fam;
	unsigned long misuses;

	if (!fam->acquire(irq->ref)) {
		irq->refused++;
		return;
	}
	misuses = ex_rundown_misuse_count();
	irq->acquired++;
	if (READ_ONCE(irq->owner_returned))
		irq->late++;
	fam->release(irq->ref);
	/* Nothing else runs on this CPU meanwhile. */
	if (ex_rundown_misuse_count() != misuses)
		irq->release_refused++;
}

/* Two of three protections taken in process context, then the last one. */
static void exr_irq_release_two_then_one(struct exr_irq *irq)
{
	irq->fam->release_many(irq->ref, irq->fires == 1 ? 2 : 1);
}

/* Run the reference down, noting how many held it then. */
static void exr_irq_count_and_complete(struct exr_irq *irq)
{
	WRITE_ONCE(irq->count_at, irq->fam->read_count(irq->ref));
	irq->fam->completed(irq->ref);
}

/* Drop one protection taken in process context. */
static void exr_irq_release_one(struct exr_irq *irq)
{
	irq->fam->release(irq->ref);
}

static void exr_irq_completed(struct exr_irq *irq)
{
	irq->fam->completed(irq->ref);
}

static void exr_irq_reinit(struct exr_irq *irq)
{
	irq->fam->reinit(irq->ref);
}

/* The owner's last release, reinit and a new holder, in one interrupt. */
static void exr_irq_release_reinit_acquire(struct exr_irq *irq)
{
	const struct exr_family *fam = irq->fam;

	fam->release(irq->ref);
	fam->reinit(irq->ref);
	if (fam->acquire(irq->ref))
		irq->acquired++;
}

static enum hrtimer_restart exr_irq_fn(struct hrtimer *timer)
{
	struct exr_irq *irq = container_of(timer, struct exr_irq, timer);

	if (!in_hardirq())
		irq->not_hardirq++;
	/* Before the work: a waiter that it wakes reads it at once. */
	WRITE_ONCE(irq->fires, irq->fires + 1);
	/* fires before the work's counts: pairs with ..._acquire_release()'s smp_rmb() */
	smp_wmb();
	irq->fn(irq);
	if (irq->fires >= irq->max_fires)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, irq->period);
	return HRTIMER_RESTART;
}

/* Call @fn on @ref in a hard interrupt @max_fires times, @period_ns apart. */
static struct exr_irq *exr_irq_start(struct kunit *test, void *ref,
				     void (*fn)(struct exr_irq *irq),
				     u64 period_ns, unsigned int max_fires)
{
	struct exr_ctx *ctx = test->priv;
	struct exr_irq *irq = &ctx->irq;

	KUNIT_ASSERT_FALSE(test, ctx->irq_used);
	memset(irq, 0, sizeof(*irq));
	irq->fam = ctx->fam;
	irq->ref = ref;
	irq->fn = fn;
	irq->period = ns_to_ktime(period_ns);
	irq->max_fires = max_fires;
	/*
	 * _HARD: the callback runs in hard-IRQ context, also on PREEMPT_RT.
	 * _PINNED: on this CPU, which a case can then keep its thread on.
	 */
	hrtimer_setup(&irq->timer, exr_irq_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_PINNED_HARD);
	ctx->irq_used = true;
	hrtimer_start(&irq->timer, irq->period, HRTIMER_MODE_REL_PINNED_HARD);
	return irq;
}

static void exr_irq_stop(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;

	hrtimer_cancel(&ctx->irq.timer);
	ctx->irq_used = false;
}

/* Wait, sleeping, until the callback ran @fires times or @ms passed. */
static bool exr_irq_until(struct exr_irq *irq, unsigned int fires,
			  unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	while (READ_ONCE(irq->fires) < fires) {
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(50, 100);
	}
	return true;
}

/*
 * Interrupts take and drop protection while process context does the same
 * in a tight loop (an interrupt landing between a read and its
 * compare-and-exchange makes the latter retry), then while the owner runs
 * the reference down: nobody is refused before the wait begins, the wait
 * returns, and no interrupt gets in after. How many interrupts came when
 * is up to the scheduler: reported, not judged; that some came on each
 * side of the wait is judged, with a deadline no working timer misses.
 */
static void ex_rundown_test_irq_acquire_release(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned long proc_ok = 0, proc_refused = 0;
	unsigned long start = jiffies;
	unsigned int fires_at_return, refused_at_return, refused_before;
	struct exr_irq *irq;

	irq = exr_irq_start(test, ref, exr_irq_hammer, 20 * NSEC_PER_USEC, 4000);
	/*
	 * Up to 1000 interrupts or 2 s, but not without one interrupt: a case
	 * that no interrupt reached would have tested nothing.
	 */
	while (READ_ONCE(irq->fires) < 1000 &&
	       (time_before(jiffies, start + 2 * HZ) ||
		(!READ_ONCE(irq->fires) && time_before(jiffies, start + 30 * HZ)))) {
		if (fam->acquire(ref)) {
			proc_ok++;
			fam->release(ref);
		} else {
			proc_refused++;
		}
		if (fam->acquire_many(ref, 3)) {
			proc_ok++;
			fam->release(ref);
			fam->release_many(ref, 2);
		} else {
			proc_refused++;
		}
		if (!(proc_ok % 256))
			cond_resched();
	}
	KUNIT_EXPECT_EQ(test, proc_refused, 0UL);
	refused_before = READ_ONCE(irq->refused);

	fam->wait(ref);
	WRITE_ONCE(irq->owner_returned, 1);
	/*
	 * Let some interrupts run against the drained reference. Counted from
	 * the return of the wait, not its start: an interrupt that fired
	 * just before the run-down began may rightly have got in. Refusals
	 * read first: an interrupt (maybe on another CPU) landing between the
	 * reads then counts in neither delta or in the refusals alone.
	 */
	refused_at_return = READ_ONCE(irq->refused);
	smp_rmb(); /* pairs with smp_wmb() in exr_irq_fn() */
	fires_at_return = READ_ONCE(irq->fires);
	exr_irq_until(irq, fires_at_return + 50, 2000);
	/* At least one, unless the timer has already stopped re-arming. */
	KUNIT_EXPECT_TRUE_MSG(test, fires_at_return >= irq->max_fires ||
			      exr_irq_until(irq, fires_at_return + 1, 30000),
			      "no interrupt after the wait returned in 30 s");
	hrtimer_cancel(&irq->timer);

	KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
	KUNIT_EXPECT_EQ_MSG(test, refused_before, 0U,
			    "interrupts refused before the run-down began");
	KUNIT_EXPECT_GT_MSG(test, irq->acquired, 0U,
			    "no interrupt acquired: nothing raced the process loop");
	KUNIT_EXPECT_EQ_MSG(test, irq->late, 0U,
			    "interrupts acquired after the wait returned");
	/* Every interrupt that began after the return was refused. */
	KUNIT_EXPECT_GE(test, irq->refused - refused_at_return,
			irq->fires - fires_at_return);
	kunit_info(test, "%lu process acquires; %u interrupts, %u acquired, %u refused after the wait\n",
		   proc_ok, irq->fires, irq->acquired,
		   irq->refused - refused_at_return);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 0);
}

/*
 * Protections taken in process context and dropped by interrupts while the
 * test thread sleeps in the wait: the wait returns after the second
 * interrupt, not the first.
 */
static void ex_rundown_test_irq_release_wakes(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_irq *irq;
	ktime_t t0;
	unsigned int kind;

	for (kind = 0; kind < EXR_NR_WAIT_KINDS; kind++) {
		KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
		KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 2));
		/* Released by the interrupt, not by this task. */
		exr_hand_off(fam, ref, 2);
		t0 = ktime_get();
		irq = exr_irq_start(test, ref, exr_irq_release_two_then_one,
				    10 * NSEC_PER_MSEC, 2);
		KUNIT_EXPECT_EQ(test, exr_do_wait(fam, ref, kind, 10 * HZ) > 0,
				kind == EXR_WAIT_TIMEOUT);
		KUNIT_EXPECT_EQ_MSG(test, READ_ONCE(irq->fires), 2U,
				    "%s returned before the last release",
				    exr_wait_names[kind]);
		KUNIT_EXPECT_GE(test, ktime_ms_delta(ktime_get(), t0), 20LL);
		exr_irq_stop(test);
		KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
		exr_expect_draining(test, ref, true);
		EXR_EXPECT_MISUSES(test, 0);
		fam->reinit(ref);
	}
}

/*
 * An interrupt runs the reference down with completed() (legal in any
 * context) at a moment that varies, while process context takes and drops
 * protection in a tight loop on the same CPU: in some of the attempts the
 * interrupt lands between an acquire's read of the reference and its
 * compare-and-exchange, and that acquire must fail all the same. On one
 * CPU this is the only way a run-down can begin inside an acquire.
 *
 * An acquire that succeeds after the interrupt, although the interrupt
 * found no holder, was granted after the run-down began. When the
 * interrupt finds the loop holding protection, completed() reports that as
 * a misuse, by design, and the holder's release stays balanced.
 */
static void ex_rundown_test_irq_completed_races_acquire(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned int attempt, late = 0, early = 0;
	unsigned int held_at = 0, no_irq = 0;
	unsigned long acquired = 0;

	if (!(fam->flags & EXR_F_ATOMIC_COMPLETED))
		kunit_skip(test, "%s lets an acquire under way finish after completed()",
			   fam->name);

	/*
	 * 300 attempts, and more (up to 3000) while every interrupt so far
	 * found a holder: then none has yet tested a run-down that begins
	 * between an acquire's read and its compare-and-exchange.
	 */
	for (attempt = 0; attempt < 300 || (held_at == attempt && attempt < 3000);
	     attempt++) {
		unsigned long deadline = jiffies + HZ;
		unsigned int after = 0;
		struct exr_irq *irq;

		/* The interrupt and this loop on one CPU: no true parallelism. */
		migrate_disable();
		irq = exr_irq_start(test, ref, exr_irq_count_and_complete,
				    (5 + attempt % 40) * NSEC_PER_USEC, 1);
		while (after < 16) {
			if (fam->acquire(ref)) {
				acquired++;
				if (READ_ONCE(irq->fires) &&
				    !READ_ONCE(irq->count_at)) {
					late++;
					after++;
				}
				fam->release(ref);
			} else {
				if (!READ_ONCE(irq->fires))
					early++;
				after++;
			}
			if (time_after(jiffies, deadline)) {
				no_irq++;
				break;
			}
		}
		migrate_enable();
		exr_irq_stop(test);
		if (irq->count_at)
			held_at++;
		KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
		fam->reinit(ref);
		if (late || early || no_irq) {
			attempt++;
			break;
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, late, 0U,
			    "acquires granted after completed() in an interrupt");
	KUNIT_EXPECT_EQ_MSG(test, early, 0U, "acquires refused before it");
	KUNIT_EXPECT_EQ_MSG(test, no_irq, 0U, "attempts the interrupt missed");
	KUNIT_EXPECT_LT_MSG(test, held_at, attempt,
			    "every interrupt found a holder: no run-down began between holds");
	EXR_EXPECT_MISUSES(test, held_at);
	kunit_info(test, "%u attempts, %lu acquires, %u found a holder\n",
		   attempt, acquired, held_at);
}

/*
 * Releases without protection in a tight loop, while interrupts on the same
 * CPU take and drop protection. Wherever an interrupt lands inside a bad
 * release, its own protection must come back whole: if it was granted on
 * the strength of the bad release (say on a count that the release took
 * below zero for a moment), its release is then reported as a misuse, and
 * the reference would never drain. An implementation that subtracts first
 * must refuse interrupts in that window, one that checks first has no
 * window: how many were refused is reported, not judged. Every bad release
 * is reported, and the reference ends idle and exact.
 */
static void ex_rundown_test_irq_release_unheld(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned long start = jiffies, bad = 0;
	struct exr_irq *irq;

	if (!(fam->flags & EXR_F_CHECKS_UNDERFLOW))
		kunit_skip(test, "%s checks releases only during a run-down",
			   fam->name);

	/* The interrupt and this loop on one CPU: it lands inside releases. */
	migrate_disable();
	irq = exr_irq_start(test, ref, exr_irq_hammer, 20 * NSEC_PER_USEC, 5000);
	/* 5000 interrupts or 2 s, but not before one of them got protection. */
	while (READ_ONCE(irq->fires) < 5000 &&
	       (time_before(jiffies, start + 2 * HZ) ||
		(!READ_ONCE(irq->acquired) && time_before(jiffies, start + 30 * HZ)))) {
		fam->release(ref);
		if (!(++bad % 256))
			cond_resched();
	}
	migrate_enable();
	exr_irq_stop(test);

	KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
	KUNIT_EXPECT_GT_MSG(test, irq->acquired, 0U,
			    "no interrupt got protection: no release was raced");
	/*
	 * What a protection granted on the passing count leads to: the bad
	 * release's undo counts it again, so its own release finds it gone.
	 * (The next bad release would then take the extra count away
	 * unreported, hiding the damage from the checks below.)
	 */
	KUNIT_EXPECT_EQ_MSG(test, irq->release_refused, 0U,
			    "interrupts' releases refused: protection granted on a bad release's count");
	kunit_info(test, "%lu bad releases, %u interrupt acquires, %u refused inside one\n",
		   bad, irq->acquired, irq->refused);
	EXR_EXPECT_MISUSES(test, bad);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 0);
}

/*
 * Finding 1 of issue 10 on one CPU: a task that holds nothing releases two
 * protections (in a loop, each one a misuse) while the one real holder, an
 * interrupt here, releases its own, landing anywhere inside one of those
 * releases. Whatever the interleaving the holder count must end at zero,
 * never with a phantom holder that no release will ever drop, and the
 * run-down must then end: with the reference idle (the per-CPU family
 * counts per CPU then) and during a run-down (the per-CPU family's
 * counters collected, so that the releases meet on one count).
 *
 * Misuses: one per release of two, and the interrupt's own release is one
 * more if a release of two took its protection first (nothing can tell the
 * two apart). The per-CPU family in per-CPU mode reports the excess once,
 * at the wait that sums the counters.
 */
static void ex_rundown_test_irq_release_excess(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	void *ref = exr_new_ref(test);
	unsigned int attempt, attempts = 400, phantom[2] = { 0, 0 };
	unsigned int no_irq = 0, misuse_off = 0;
	unsigned long bad_total = 0, end = jiffies + 2 * HZ;
	long word = 0;

	for (attempt = 0; attempt < attempts && time_before(jiffies, end);
	     attempt++) {
		bool draining = attempt & 1;
		bool per_release = draining || (fam->flags & EXR_F_CHECKS_UNDERFLOW);
		unsigned long deadline = jiffies + HZ / 10, bad = 0, m;
		struct exr_irq *irq;

		if (attempt)
			fam->reinit(ref);
		if (!fam->acquire(ref)) {
			KUNIT_FAIL(test, "attempt %u: acquire refused", attempt);
			break;
		}
		exr_hand_off(fam, ref, 1);
		if (draining)
			KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 0), 0L);
		ctx->misuse_seen = ex_rundown_misuse_count();

		/* The interrupt and this loop on one CPU. */
		migrate_disable();
		irq = exr_irq_start(test, ref, exr_irq_release_one,
				    (5 + attempt % 40) * NSEC_PER_USEC, 1);
		while (!READ_ONCE(irq->fires)) {
			fam->release_many(ref, 2);
			bad++;
			if (time_after(jiffies, deadline))
				break;
		}
		migrate_enable();
		exr_irq_stop(test);
		KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
		if (!irq->fires) {
			no_irq++;
			break;
		}
		bad_total += bad;

		if (fam->read_count(ref) ||
		    fam->wait_timeout(ref, 1) <= 0 ||
		    atomic_long_read(fam->word(ref)) != fam->word_drained) {
			word = atomic_long_read(fam->word(ref));
			phantom[draining]++;
			/* Drop the phantom, so that the next attempt is exact. */
			fam->release_many(ref, fam->read_count(ref));
			if (fam->wait_timeout(ref, 1) <= 0) {
				KUNIT_FAIL(test, "attempt %u: cannot drain: %lu held",
					   attempt, fam->read_count(ref));
				break;
			}
		}
		m = ex_rundown_misuse_count() - ctx->misuse_seen;
		ctx->misuse_seen += m;
		if (per_release ? m < bad || m > bad + 1 : m != !!bad)
			misuse_off++;
	}

	KUNIT_EXPECT_EQ_MSG(test, phantom[0] + phantom[1], 0U,
			    "%u of %u attempts left a phantom holder (%u idle, %u during a run-down; last word %#lx)",
			    phantom[0] + phantom[1], attempt, phantom[0],
			    phantom[1], word);
	KUNIT_EXPECT_EQ_MSG(test, misuse_off, 0U,
			    "attempts whose misuses were not one per excess release");
	KUNIT_EXPECT_EQ_MSG(test, no_irq, 0U, "the interrupt did not fire");
	kunit_info(test, "%u attempts, %lu releases of 2 with 1 or none held\n",
		   attempt, bad_total);
}

/*
 * Run @fn on @ref in one hard interrupt and wait for it. NULL if it did not
 * come, or came in another context.
 */
static struct exr_irq *exr_irq_once(struct kunit *test, void *ref,
				    void (*fn)(struct exr_irq *irq))
{
	struct exr_irq *irq = exr_irq_start(test, ref, fn, NSEC_PER_USEC, 1);
	bool fired = exr_irq_until(irq, 1, 2000);

	exr_irq_stop(test);
	KUNIT_EXPECT_TRUE_MSG(test, fired, "the interrupt did not come");
	KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
	return fired && !irq->not_hardirq ? irq : NULL;
}

/*
 * completed() in a hard interrupt, on an idle reference: acquires fail
 * from then on, a wait returns at once, nothing is reported, and reinit
 * makes it usable again.
 */
static void ex_rundown_test_irq_completed(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_NOT_NULL(test, exr_irq_once(test, ref, exr_irq_completed));
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, true);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, HZ), 0L);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, false);
}

/*
 * completed() in a hard interrupt with protections outstanding: reported
 * once, acquires fail, and the holders stay counted, so that their
 * releases stay balanced and a wait waits for them.
 */
static void ex_rundown_test_irq_completed_held(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 2));
	KUNIT_ASSERT_NOT_NULL(test, exr_irq_once(test, ref, exr_irq_completed));
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, true);
	exr_expect_held(test, ref, 2);
}

/* reinit() in a hard interrupt, after a wait: acquires succeed again. */
static void ex_rundown_test_irq_reinit(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	fam->wait(ref);
	KUNIT_ASSERT_NOT_NULL(test, exr_irq_once(test, ref, exr_irq_reinit));
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, false);
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_expect_held(test, ref, 1);
}

/*
 * reinit() in a hard interrupt on a reference that is not drained (held,
 * no run-down): reported, and nothing changes.
 */
static void ex_rundown_test_irq_reinit_held(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_ASSERT_NOT_NULL(test, exr_irq_once(test, ref, exr_irq_reinit));
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 1);
}

/*
 * A waiter sleeps in a run-down on this CPU; one hard interrupt makes the
 * last release, which wakes it, reinitialises the reference and takes
 * protection again, all before the waiter can run. reinit() ends every
 * wait already begun, so the waiter returns although the reference it
 * would find is held again.
 */
static void ex_rundown_test_irq_reinit_ends_wait(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w;
	struct exr_irq *irq;
	bool asleep;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	/* Released by the interrupt, not by this task. */
	exr_hand_off(fam, ref, 1);
	/* Begun, and collected: the waiter goes straight to sleep. */
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 0), 0L);
	w = exr_create_waiter(test, exr_waiter_main, NULL, ref, EXR_WAIT);

	migrate_disable();
	kthread_bind(w->task, raw_smp_processor_id());
	exr_thread_run(w);
	asleep = exr_until_asleep(w, 2000);
	irq = exr_irq_once(test, ref, exr_irq_release_reinit_acquire);
	migrate_enable();

	KUNIT_EXPECT_TRUE(test, asleep);
	KUNIT_ASSERT_NOT_NULL(test, irq);
	KUNIT_EXPECT_EQ_MSG(test, irq->acquired, 1U,
			    "acquire refused after reinit");
	EXR_EXPECT_MISUSES(test, 0);
	KUNIT_EXPECT_TRUE_MSG(test, exr_thread_join(w, 2000),
			      "the waiter slept on after reinit in an interrupt (%lu held)",
			      fam->read_count(ref));
	/* The interrupt's protection; then a wait ends the waiter if stuck. */
	fam->release(ref);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, HZ), 0L);
	exr_join_all(test);
	EXR_EXPECT_MISUSES(test, 0);
}

static struct kunit_case ex_rundown_irq_cases[] = {
	EXR_CASE(ex_rundown_test_irq_acquire_release),
	EXR_CASE(ex_rundown_test_irq_release_wakes),
	EXR_CASE(ex_rundown_test_irq_completed_races_acquire),
	EXR_CASE(ex_rundown_test_irq_release_unheld),
	EXR_CASE(ex_rundown_test_irq_release_excess),
	EXR_CASE(ex_rundown_test_irq_completed),
	EXR_CASE(ex_rundown_test_irq_completed_held),
	EXR_CASE(ex_rundown_test_irq_reinit),
	EXR_CASE(ex_rundown_test_irq_reinit_held),
	EXR_CASE(ex_rundown_test_irq_reinit_ends_wait),
	{}
};

struct kunit_suite ex_rundown_irq_suite = {
	.name = "ex_rundown_irq",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_irq_cases,
};
