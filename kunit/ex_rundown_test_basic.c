// SPDX-License-Identifier: GPL-2.0
/*
 * The state machine of a reference, one call at a time: idle, held,
 * draining, drained, completed, reinitialised. Each case runs for both
 * families (kunit/ex_rundown_test.h).
 */

#include <linux/delay.h>

#include "ex_rundown_test.h"

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

static void ex_rundown_test_init(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	/* Idle: no holder, no run-down. */
	exr_expect_draining(test, ref, false);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);
	exr_expect_held(test, ref, 0);
}

static DEFINE_EX_RUNDOWN_REF(exr_static_ref);
/* Static storage only: lockdep takes the key of a static map from its address. */
static struct ex_rundown_ref exr_static_ref2 = EX_RUNDOWN_REF_INIT(exr_static_ref2);

static void exr_check_static(struct kunit *test, struct ex_rundown_ref *ref)
{
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(ref), 0UL);
	KUNIT_EXPECT_FALSE(test, ex_rundown_is_draining(ref));
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(ref), 1UL);
	ex_rundown_release(ref);
	KUNIT_EXPECT_GT(test, ex_rundown_wait_timeout(ref, 0), 0L);
	KUNIT_EXPECT_TRUE(test, ex_rundown_is_draining(ref));
	if (ex_rundown_acquire(ref)) {
		KUNIT_FAIL(test, "acquired after the run-down");
		ex_rundown_release(ref);
	}
	ex_rundown_reinit(ref);
	KUNIT_EXPECT_FALSE(test, ex_rundown_is_draining(ref));
	KUNIT_ASSERT_TRUE(test, ex_rundown_acquire(ref));
	ex_rundown_release(ref);
	EXR_EXPECT_MISUSES(test, 0);
}

/* The static initialisers (struct ex_rundown_ref only: pcpu allocates). */
static void ex_rundown_test_define(struct kunit *test)
{
	exr_check_static(test, &exr_static_ref);
	exr_check_static(test, &exr_static_ref2);
}

/*
 * The inline fast paths leave lockdep and holder tracking to the exported
 * slow paths: they must divert to them whenever the library keeps those
 * books (or the holder list misses every protection taken inline), and
 * only then (or the fast paths are never inline).
 */
static void ex_rundown_test_bookkeeping(struct kunit *test)
{
	bool books = IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) ||
		     IS_ENABLED(CONFIG_EX_RUNDOWN_DEBUG_HOLDERS);

	KUNIT_EXPECT_EQ(test, __ex_rundown_bookkeeping(), books);
}

static void ex_rundown_test_acquire_release(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	/* Protection nests. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 2UL);
	exr_expect_draining(test, ref, false);
	fam->release(ref);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	fam->release(ref);
	exr_expect_draining(test, ref, false);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 0);
}

static void ex_rundown_test_completed(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	fam->completed(ref);
	exr_expect_draining(test, ref, true);
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, 3));
	/* Again, and a wait after it: both return at once, no misuse. */
	fam->completed(ref);
	fam->wait(ref);
	KUNIT_EXPECT_EQ(test, fam->wait_killable(ref), 0);
	EXR_EXPECT_MISUSES(test, 0);
	fam->reinit(ref);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 0);
}

/* idle -> held -> draining -> drained -> completed -> reinit -> idle, twice */
static void ex_rundown_test_state_machine(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	struct exr_thread *w;
	int round;

	for (round = 0; round < 2; round++) {
		exr_expect_draining(test, ref, false);
		KUNIT_ASSERT_TRUE(test, fam->acquire(ref));

		w = exr_start_waiter(test, ref, EXR_WAIT, false);
		KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
		msleep(20);
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&w->done),
				       "wait returned with a holder inside");

		fam->release(ref);
		KUNIT_EXPECT_TRUE(test, exr_join_all(test));
		exr_expect_draining(test, ref, true);
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);

		fam->completed(ref);
		exr_expect_draining(test, ref, true);
		fam->reinit(ref);
		EXR_EXPECT_MISUSES(test, 0);
	}
	exr_expect_draining(test, ref, false);
}

/*
 * read_count() is exact while nobody acquires or releases, also while a wait
 * collects the per-CPU counters: the one holder is never counted as none,
 * nor twice. Read it without pause from the start of the run-down until the
 * word shows the collection done; on SMP the collection runs meanwhile on
 * another CPU.
 */
static void ex_rundown_test_read_count_while_draining(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned long reads = 0, wrong = 0, last_wrong = 1, n, deadline;
	int round;

	for (round = 0; round < 20; round++) {
		KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
		exr_start_waiter(test, ref, EXR_WAIT, false);
		KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
		deadline = jiffies + 5 * HZ;
		do {
			n = fam->read_count(ref);
			reads++;
			if (n != 1) {
				wrong++;
				last_wrong = n;
			}
			cond_resched();
		} while (atomic_long_read(fam->word(ref)) != fam->word_held &&
			 time_before(jiffies, deadline));
		KUNIT_EXPECT_EQ(test, atomic_long_read(fam->word(ref)),
				fam->word_held);
		fam->release(ref);
		KUNIT_ASSERT_TRUE(test, exr_join_all(test));
		fam->reinit(ref);
	}
	KUNIT_EXPECT_EQ_MSG(test, wrong, 0UL,
			    "%lu of %lu reads with one holder said otherwise (last: %lu)",
			    wrong, reads, last_wrong);
	EXR_EXPECT_MISUSES(test, 0);
}

static struct kunit_case ex_rundown_basic_cases[] = {
	EXR_CASE(ex_rundown_test_init),
	KUNIT_CASE(ex_rundown_test_define),
	KUNIT_CASE(ex_rundown_test_bookkeeping),
	EXR_CASE(ex_rundown_test_acquire_release),
	EXR_CASE(ex_rundown_test_completed),
	EXR_CASE(ex_rundown_test_state_machine),
	EXR_CASE(ex_rundown_test_read_count_while_draining),
	{}
};

struct kunit_suite ex_rundown_basic_suite = {
	.name = "ex_rundown",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_basic_cases,
};
