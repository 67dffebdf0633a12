// SPDX-License-Identifier: GPL-2.0
/*
 * The waits: untimed, killable and timed, alone and several at once, and
 * the waiters that a release has woken but that have not run yet.
 */

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sched/signal.h>

#include "ex_rundown_test.h"

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

static void ex_rundown_test_wait_idle(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	/* No holder: returns at once, and the run-down stays on. */
	fam->wait(ref);
	exr_expect_draining(test, ref, true);
	/* A drained reference: every kind of wait returns at once. */
	fam->wait(ref);
	KUNIT_EXPECT_EQ(test, fam->wait_killable(ref), 0);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, HZ), 0L);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, 0), 0L);
	exr_expect_draining(test, ref, true);
	EXR_EXPECT_MISUSES(test, 0);

	fam->reinit(ref);
	KUNIT_EXPECT_EQ(test, fam->wait_killable(ref), 0);
	exr_expect_draining(test, ref, true);
	fam->reinit(ref);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, HZ), 0L);
	KUNIT_EXPECT_LE(test, fam->wait_timeout(ref, HZ), (long)HZ);
	exr_expect_draining(test, ref, true);
	EXR_EXPECT_MISUSES(test, 0);
}

/* Once a wait has begun every acquire fails, until reinit. */
static void ex_rundown_test_acquire_fails_draining(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	int i;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_start_waiter(test, ref, EXR_WAIT, false);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
	for (i = 0; i < 100; i++) {
		KUNIT_EXPECT_TRUE(test, exr_refused(fam, ref));
		KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, 1));
		KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, 7));
	}
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);

	fam->release(ref);
	KUNIT_EXPECT_TRUE(test, exr_join_all(test));
	KUNIT_EXPECT_TRUE(test, exr_refused(fam, ref));
	fam->completed(ref);
	KUNIT_EXPECT_TRUE(test, exr_refused(fam, ref));
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, 2));
	EXR_EXPECT_MISUSES(test, 0);

	fam->reinit(ref);
	KUNIT_EXPECT_TRUE(test, fam->acquire(ref));
	exr_expect_held(test, ref, 1);
}

/*
 * Several waiters of every kind: none returns while a holder is left, all
 * return once the last one leaves, and a further wait returns at once.
 */
static void ex_rundown_test_wait_concurrent(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w[EXR_NR_WAIT_KINDS + 1];
	unsigned int i;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 2));
	for (i = 0; i < ARRAY_SIZE(w); i++)
		w[i] = exr_start_waiter(test, ref, i % EXR_NR_WAIT_KINDS, false);
	for (i = 0; i < ARRAY_SIZE(w); i++)
		wait_for_completion(&w[i]->ready);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
	msleep(20);
	for (i = 0; i < ARRAY_SIZE(w); i++)
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&w[i]->done),
				       "%s returned with 3 holders",
				       exr_wait_names[w[i]->kind]);

	fam->release_many(ref, 2);
	msleep(20);
	for (i = 0; i < ARRAY_SIZE(w); i++)
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&w[i]->done),
				       "%s returned with 1 holder",
				       exr_wait_names[w[i]->kind]);

	fam->release(ref);
	if (!exr_join_all(test))
		return;
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		if (w[i]->kind == EXR_WAIT_TIMEOUT)
			KUNIT_EXPECT_GT(test, w[i]->ret, 0L);
		else
			KUNIT_EXPECT_EQ(test, w[i]->ret, 0L);
	}
	fam->wait(ref);
	exr_expect_draining(test, ref, true);
	EXR_EXPECT_MISUSES(test, 0);
}

static void ex_rundown_test_wait_timeout(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned long t0;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_hand_off(fam, ref, 1);

	/* A zero timeout only looks, but begins the run-down all the same. */
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 0), 0L);
	exr_expect_draining(test, ref, true);

	t0 = jiffies;
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 3), 0L);
	KUNIT_EXPECT_TRUE_MSG(test, time_after_eq(jiffies, t0 + 3),
			      "timed out after %lu of 3 jiffies", jiffies - t0);

	/* Left draining: acquires fail, the holder is still counted. */
	exr_expect_draining(test, ref, true);
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, 1));
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);

	/* A later wait resumes the run-down and returns once it is done. */
	fam->release(ref);
	EXR_EXPECT_MISUSES(test, 0);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, HZ), 0L);
	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, 0), 0L);
	exr_expect_draining(test, ref, true);
}

/* A timed wait that is woken by the release, not by its timeout. */
static void ex_rundown_test_wait_timeout_woken(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned long t0 = jiffies;
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	w = exr_start_waiter(test, ref, EXR_WAIT_TIMEOUT, false);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	fam->release(ref);
	if (!exr_join_all(test))
		return;
	/* What is left of the 60 s: no less than the time it did not wait. */
	KUNIT_EXPECT_GE(test, w->ret, 60L * HZ - (long)(jiffies - t0));
	KUNIT_EXPECT_LE(test, w->ret, 60L * HZ);
	EXR_EXPECT_MISUSES(test, 0);
}

static void ex_rundown_test_wait_killable(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	/* Sleeps until the last release, then returns 0. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	w = exr_start_waiter(test, ref, EXR_WAIT_KILLABLE, false);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	fam->release(ref);
	if (!exr_join_all(test))
		return;
	KUNIT_EXPECT_EQ(test, w->ret, 0L);
	KUNIT_EXPECT_EQ(test, fam->wait_killable(ref), 0);
	exr_expect_draining(test, ref, true);
	EXR_EXPECT_MISUSES(test, 0);
}

static void ex_rundown_test_wait_killable_killed(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	w = exr_start_waiter(test, ref, EXR_WAIT_KILLABLE, true);
	/* SIGKILL is allowed once ready: a signal sent earlier is dropped. */
	wait_for_completion(&w->ready);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
	send_sig(SIGKILL, w->task, 1);
	if (!exr_join_all(test))
		return;
	KUNIT_EXPECT_EQ(test, w->ret, (long)-ERESTARTSYS);

	/* The run-down stays on; a later wait finishes it. */
	exr_expect_draining(test, ref, true);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	fam->release(ref);
	KUNIT_EXPECT_EQ(test, fam->wait_killable(ref), 0);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, false);
}

static void ex_rundown_test_reinit_during_wait(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	w = exr_start_waiter(test, ref, EXR_WAIT, false);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));

	/* The waiter is still owed its run-down: refused, nothing changes. */
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, true);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));

	fam->release(ref);
	KUNIT_EXPECT_TRUE(test, exr_join_all(test));
	EXR_EXPECT_MISUSES(test, 0);

	/* Now drained, with the waiter gone: reinit is legal. */
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, false);
}

/*
 * Rescue a waiter that slept on where it should have returned, so that the
 * case fails instead of leaving it behind. A wake-up would not do: a woken
 * waiter looks at the reference again, and sleeps on if it finds it held.
 * So make the reference drained, whatever it says now, and reinitialise
 * it, which ends every wait already begun on it; then run it down again,
 * as the case left it. True if the waiter went.
 */
static bool exr_rescue_waiter(struct kunit *test, void *ref,
			      struct exr_thread *w)
{
	const struct exr_family *fam = exr_fam(test);

	atomic_long_set(fam->word(ref), fam->word_drained);
	fam->reinit(ref);
	if (!exr_thread_join(w, EXR_JOIN_MS))
		return false;
	fam->wait(ref);
	return true;
}

/*
 * Finding 4 of issue 10: a waiter that the last release has woken, but that
 * has not run yet, must return even if, before it runs, the owner
 * reinitialises the reference and someone takes protection again: its
 * run-down was over, and reinit() satisfies every wait already begun. The
 * waiter runs on this CPU, which keeps preemption disabled from the last
 * release until after the new acquire, so that it cannot run in between
 * (on PREEMPT_RT too: release, reinit and acquire must all be callable
 * there).
 */
static void ex_rundown_test_reinit_woken_waiter(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned int kind;

	for (kind = 0; kind < EXR_NR_WAIT_KINDS; kind++) {
		struct exr_thread *w;
		bool asleep, again, returned;

		if (kind)
			fam->reinit(ref);
		KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
		exr_hand_off(fam, ref, 1);
		/* Begun, and collected: the waiter goes straight to sleep. */
		KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 0), 0L);
		w = exr_create_waiter(test, exr_waiter_main, NULL, ref, kind);

		migrate_disable();
		kthread_bind(w->task, raw_smp_processor_id());
		exr_thread_run(w);
		asleep = exr_until_asleep(w, 2000);
		preempt_disable();
		fam->release(ref);
		fam->reinit(ref);
		again = fam->acquire(ref);
		preempt_enable();
		migrate_enable();

		KUNIT_EXPECT_TRUE_MSG(test, asleep, "%s: the waiter never slept",
				      exr_wait_names[kind]);
		KUNIT_EXPECT_TRUE_MSG(test, again, "acquire refused after reinit");
		EXR_EXPECT_MISUSES(test, 0);
		returned = exr_thread_join(w, 2000);
		KUNIT_EXPECT_TRUE_MSG(test, returned,
				      "%s: woken by the last release, it slept on after reinit and a new acquire (%lu held)",
				      exr_wait_names[kind], fam->read_count(ref));
		if (again)
			fam->release(ref);
		if (!returned) {
			/* Run down again: a wait that finds it drained ends all. */
			KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, 1), 0L);
			if (!exr_rescue_waiter(test, ref, w)) {
				KUNIT_FAIL(test, "the waiter could not be rescued");
				exr_join_all(test);
				return;
			}
		} else if (kind == EXR_WAIT_TIMEOUT) {
			KUNIT_EXPECT_GT(test, w->ret, 0L);
		} else {
			KUNIT_EXPECT_EQ(test, w->ret, 0L);
		}
		KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, 1), 0L);
		EXR_EXPECT_MISUSES(test, 0);
		if (!exr_join_all(test))
			return;
	}
}

struct exr_waiters {
	atomic_t returned;
	int first;			/* the id of the first to return */
};

/* Wait; the first to return is the owner, and frees the object. */
static void exr_freeing_waiter_main(struct exr_thread *t)
{
	struct exr_waiters *s = t->arg;
	const struct exr_family *fam = t->ctx->fam;

	complete(&t->ready);
	t->ret = exr_do_wait(fam, t->ref, t->kind, t->timeout);
	if (atomic_inc_return(&s->returned) == 1) {
		s->first = t->id;
		/* Freed and reused: what is there now says "held". */
		atomic_long_set(fam->word(t->ref), fam->word_held);
	}
}

/*
 * Finding 4, its second half: the owner may free the reference the moment
 * its wait returns, and other waiters of the same run-down may not have run
 * yet. They must return all the same, whatever the memory says by then.
 * Two waiters sleep on one reference, both on this CPU; the last release
 * wakes both, the first to run returns and writes a count that says "held"
 * over the reference, and the second must still return.
 */
static void ex_rundown_test_waiters_after_free(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	void *ref = exr_new_ref(test);
	struct exr_waiters *s = exr_shared_alloc(test, sizeof(*s));
	unsigned int kind;

	for (kind = 0; kind < EXR_NR_WAIT_KINDS; kind++) {
		enum exr_wait_kind other = (kind + 1) % EXR_NR_WAIT_KINDS;
		struct exr_thread *w[2];
		bool asleep = true, returned[2];
		unsigned int i;

		if (kind)
			fam->reinit(ref);
		atomic_set(&s->returned, 0);
		s->first = -1;
		KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
		exr_hand_off(fam, ref, 1);
		KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 0), 0L);
		w[0] = exr_create_waiter(test, exr_freeing_waiter_main, s, ref,
					 kind);
		w[1] = exr_create_waiter(test, exr_freeing_waiter_main, s, ref,
					 other);

		migrate_disable();
		for (i = 0; i < 2; i++) {
			kthread_bind(w[i]->task, raw_smp_processor_id());
			exr_thread_run(w[i]);
		}
		for (i = 0; i < 2; i++)
			asleep &= exr_until_asleep(w[i], 2000);
		/* Both are woken before either runs. */
		preempt_disable();
		fam->release(ref);
		preempt_enable();
		migrate_enable();
		KUNIT_EXPECT_TRUE(test, asleep);

		for (i = 0; i < 2; i++)
			returned[i] = exr_thread_join(w[i], 2000);
		KUNIT_EXPECT_TRUE_MSG(test, returned[0] && returned[1],
				      "%s and %s: after the first returned (waiter %d) and the object was freed, the other slept on",
				      exr_wait_names[kind], exr_wait_names[other],
				      s->first);
		for (i = 0; i < 2; i++) {
			if (!returned[i] && !exr_rescue_waiter(test, ref, w[i])) {
				KUNIT_FAIL(test, "a waiter could not be rescued");
				exr_join_all(test);
				return;
			}
		}
		/* The object is "allocated" again, and drained. */
		atomic_long_set(fam->word(ref), fam->word_drained);
		EXR_EXPECT_MISUSES(test, 0);
		if (!exr_join_all(test))
			return;
	}
}

static struct kunit_case ex_rundown_wait_cases[] = {
	EXR_CASE(ex_rundown_test_wait_idle),
	EXR_CASE(ex_rundown_test_acquire_fails_draining),
	EXR_CASE(ex_rundown_test_wait_concurrent),
	EXR_CASE(ex_rundown_test_wait_timeout),
	EXR_CASE(ex_rundown_test_wait_timeout_woken),
	EXR_CASE(ex_rundown_test_wait_killable),
	EXR_CASE(ex_rundown_test_wait_killable_killed),
	EXR_CASE(ex_rundown_test_reinit_during_wait),
	EXR_CASE(ex_rundown_test_reinit_woken_waiter),
	EXR_CASE(ex_rundown_test_waiters_after_free),
	{}
};

struct kunit_suite ex_rundown_wait_suite = {
	.name = "ex_rundown_wait",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_wait_cases,
};
