// SPDX-License-Identifier: GPL-2.0
/*
 * Misuse, one kind at a time: releases without protection or of more than
 * is held, reinit and completed() on a reference that is not drained. Each
 * is reported (ex_rundown_misuse_count()) and survived: the holder count
 * never goes below zero, and the reference goes on working.
 */

#include "ex_rundown_test.h"

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

static void ex_rundown_test_release_unheld(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	if (!(fam->flags & EXR_F_CHECKS_UNDERFLOW))
		kunit_skip(test, "%s checks releases only during a run-down",
			   fam->name);

	/* Reported every time, and the count does not go below zero. */
	fam->release(ref);
	EXR_EXPECT_MISUSES(test, 1);
	fam->release(ref);
	fam->release_many(ref, 1);
	EXR_EXPECT_MISUSES(test, 2);
	exr_expect_draining(test, ref, false);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);

	/* A new holder is not eaten by the bad releases before it. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_expect_held(test, ref, 1);
}

/*
 * Releasing more than is held takes what is held: the holder count never
 * goes below zero, the excess is reported once, and a wait then returns at
 * once. The shared-counter family catches the excess at the release, the
 * per-CPU family when a wait sums its counters. A count nobody can hold,
 * with nothing held, is one misuse and changes nothing.
 */
static void ex_rundown_test_release_many_excess(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	bool at_once = fam->flags & EXR_F_CHECKS_UNDERFLOW;
	static const unsigned long held[] = { 1, 3 };
	void *ref = exr_new_ref(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(held); i++) {
		if (i)
			fam->reinit(ref);
		KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, held[i]));
		fam->release_many(ref, held[i] + 1);
		EXR_EXPECT_MISUSES(test, at_once ? 1 : 0);
		KUNIT_EXPECT_EQ_MSG(test, fam->read_count(ref), 0UL,
				    "%lu held, %lu released",
				    held[i], held[i] + 1);
		exr_expect_draining(test, ref, false);
		KUNIT_EXPECT_GT_MSG(test, fam->wait_timeout(ref, HZ / 10), 0L,
				    "a holder left after releasing %lu of %lu",
				    held[i] + 1, held[i]);
		EXR_EXPECT_MISUSES(test, at_once ? 0 : 1);
		KUNIT_EXPECT_EQ(test, atomic_long_read(fam->word(ref)),
				fam->word_drained);
		if (READ_ONCE(test->status) == KUNIT_FAILURE)
			return;
	}

	fam->reinit(ref);
	fam->release_many(ref, ULONG_MAX);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 0);
}

/*
 * The same during a run-down, once the holders are counted in one place (a
 * wait that timed out has collected the per-CPU family's counters): the
 * release takes what is held and reports the excess at once. It is then the
 * last release of the run-down: a wait returns at once, and a waiter that
 * was asleep is woken and returns.
 */
static void ex_rundown_test_release_many_excess_draining(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_hand_off(fam, ref, 1);
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 1), 0L);
	fam->release_many(ref, 2);
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_EQ_MSG(test, fam->read_count(ref), 0UL,
			    "1 held, 2 released");
	KUNIT_EXPECT_EQ(test, atomic_long_read(fam->word(ref)),
			fam->word_drained);
	KUNIT_EXPECT_GT_MSG(test, fam->wait_timeout(ref, HZ / 10), 0L,
			    "a holder left after releasing 2 of 1");
	exr_expect_draining(test, ref, true);
	/* Whatever a failure left held, so that the suite's exit is clean. */
	fam->release_many(ref, fam->read_count(ref));
	EXR_EXPECT_MISUSES(test, 0);

	ref = exr_new_ref(test);
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 2));
	exr_hand_off(fam, ref, 2);
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 1), 0L);
	w = exr_start_waiter(test, ref, EXR_WAIT, false);
	KUNIT_EXPECT_TRUE(test, exr_until_asleep(w, 2000));
	fam->release_many(ref, 3);
	EXR_EXPECT_MISUSES(test, 1);
	if (!exr_thread_join(w, 2000)) {
		KUNIT_FAIL(test, "the waiter slept on after releasing 3 of 2 (%lu held)",
			   fam->read_count(ref));
		/* Release what the release left, so that the waiter goes. */
		fam->release_many(ref, fam->read_count(ref));
	}
	if (!exr_join_all(test))
		return;
	KUNIT_EXPECT_EQ(test, atomic_long_read(fam->word(ref)),
			fam->word_drained);
	EXR_EXPECT_MISUSES(test, 0);
}

static void ex_rundown_test_release_after_completed(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	fam->completed(ref);
	EXR_EXPECT_MISUSES(test, 0);
	/*
	 * completed() alone does not collect the per-CPU counters, so only
	 * a family that checks every release can refuse these ones.
	 */
	if (fam->flags & EXR_F_CHECKS_UNDERFLOW) {
		fam->release(ref);
		EXR_EXPECT_MISUSES(test, 1);
		fam->release_many(ref, 2);
		EXR_EXPECT_MISUSES(test, 1);
	}
	exr_expect_draining(test, ref, true);
	exr_expect_held(test, ref, 0);

	/* After a wait returned, every family checks. */
	fam->reinit(ref);
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	fam->release(ref);
	fam->wait(ref);
	fam->release(ref);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_held(test, ref, 0);
}

static void ex_rundown_test_reinit_held(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 2));
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	/* Nothing changed: still held twice, still open. */
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 2);
}

static void ex_rundown_test_reinit_idle(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 0);
}

static void ex_rundown_test_completed_held(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	fam->completed(ref);
	EXR_EXPECT_MISUSES(test, 1);
	/* Acquires fail, but the holders stay counted: a wait waits. */
	exr_expect_draining(test, ref, true);
	exr_expect_held(test, ref, 2);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, false);
}

/*
 * Finding 6 of issue 10, what no counter can detect (the top of
 * include/ex_rundown.h): a release without protection while someone else
 * holds protection uses up the holder's. Nothing is reported, and a wait
 * returns although the real holder is still inside. The holder's own
 * release, which comes later, is the one the count shows as excess: it is
 * reported as the misuse, and the count stays at zero, drained.
 */
static void ex_rundown_test_release_steals_holder(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	/* The holder's protection, not this task's (for lockdep). */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_hand_off(fam, ref, 1);

	fam->release(ref);
	EXR_EXPECT_MISUSES(test, 0);
	KUNIT_EXPECT_GT_MSG(test, fam->wait_timeout(ref, HZ), 0L,
			    "the wait did not return: the release was not counted");
	EXR_EXPECT_MISUSES(test, 0);

	/* The real holder leaves: its release is the one reported. */
	fam->release(ref);
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(fam->word(ref)),
			fam->word_drained);
	exr_expect_draining(test, ref, true);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 0);
}

/*
 * The same with both releases made before any run-down. The shared-counter
 * family reports the holder's release at once; the per-CPU family sees only
 * a sum of its counters, and reports the excess at the wait that collects
 * them (include/ex_rundown_pcpu.h). Either way the count ends at zero.
 */
static void ex_rundown_test_release_steals_holder_idle(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	bool at_once = fam->flags & EXR_F_CHECKS_UNDERFLOW;
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_hand_off(fam, ref, 1);
	fam->release(ref);
	EXR_EXPECT_MISUSES(test, 0);
	fam->release(ref);
	EXR_EXPECT_MISUSES(test, at_once ? 1 : 0);
	exr_expect_draining(test, ref, false);

	KUNIT_EXPECT_GT(test, fam->wait_timeout(ref, HZ), 0L);
	EXR_EXPECT_MISUSES(test, at_once ? 0 : 1);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(fam->word(ref)),
			fam->word_drained);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 0);
}

static struct kunit_case ex_rundown_misuse_cases[] = {
	EXR_CASE(ex_rundown_test_release_unheld),
	EXR_CASE(ex_rundown_test_release_many_excess),
	EXR_CASE(ex_rundown_test_release_many_excess_draining),
	EXR_CASE(ex_rundown_test_release_after_completed),
	EXR_CASE(ex_rundown_test_reinit_held),
	EXR_CASE(ex_rundown_test_reinit_idle),
	EXR_CASE(ex_rundown_test_completed_held),
	EXR_CASE(ex_rundown_test_release_steals_holder),
	EXR_CASE(ex_rundown_test_release_steals_holder_idle),
	{}
};

struct kunit_suite ex_rundown_misuse_suite = {
	.name = "ex_rundown_misuse",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_misuse_cases,
};
