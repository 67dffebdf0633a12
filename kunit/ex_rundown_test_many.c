// SPDX-License-Identifier: GPL-2.0
/*
 * acquire_many() and release_many(): counts of zero, one and many, and the
 * holder limit EX_RUNDOWN_COUNT_MAX.
 */

#include "ex_rundown_test.h"

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

static void ex_rundown_test_acquire_many_zero(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	/* Idle: succeeds and takes nothing; releasing 0 is no misuse. */
	KUNIT_EXPECT_TRUE(test, fam->acquire_many(ref, 0));
	fam->release_many(ref, 0);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);
	EXR_EXPECT_MISUSES(test, 0);

	/* Held: nothing changes either. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_EXPECT_TRUE(test, fam->acquire_many(ref, 0));
	fam->release_many(ref, 0);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);

	/* Draining: 0 still succeeds, because it takes nothing. */
	exr_hand_off(fam, ref, 1);
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 0), 0L);
	KUNIT_EXPECT_TRUE(test, fam->acquire_many(ref, 0));
	fam->release_many(ref, 0);
	exr_expect_draining(test, ref, true);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 1);

	/* Drained: the same. */
	KUNIT_EXPECT_TRUE(test, fam->acquire_many(ref, 0));
	fam->release_many(ref, 0);
	exr_expect_draining(test, ref, true);
	EXR_EXPECT_MISUSES(test, 0);
}

static void ex_rundown_test_acquire_many_one(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	/* One protection, taken and dropped through either interface. */
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 1));
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	fam->release(ref);
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	fam->release_many(ref, 1);
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 1));
	fam->release_many(ref, 1);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 0);
}

static void ex_rundown_test_acquire_many_large(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);
	unsigned int i;

	/* Released in any grouping: one big, single ones, small groups. */
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 1000000));
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1000001UL);
	fam->release_many(ref, 999000);
	for (i = 0; i < 500; i++)
		fam->release(ref);
	for (i = 0; i < 100; i++)
		fam->release_many(ref, 5);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 1);
	exr_expect_draining(test, ref, true);

	/* The limit itself is allowed, one more is not. */
	if (!(fam->flags & EXR_F_CHECKS_OVERFLOW))
		return;
	fam->reinit(ref);
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, EX_RUNDOWN_COUNT_MAX));
	KUNIT_EXPECT_TRUE(test, exr_refused(fam, ref));
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, 1));
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_held(test, ref, EX_RUNDOWN_COUNT_MAX);
}

static void ex_rundown_test_acquire_many_overflow(struct kunit *test)
{
	const struct exr_family *fam = exr_fam(test);
	void *ref = exr_new_ref(test);

	if (!(fam->flags & EXR_F_CHECKS_OVERFLOW))
		kunit_skip(test, "%s does not check the holder limit", fam->name);

	/* Refused, reported every time (WARN_ONCE prints once), no change. */
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, ULONG_MAX));
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, ULONG_MAX));
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, EX_RUNDOWN_COUNT_MAX + 1));
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, false);

	/* On top of existing holders: the sum counts, not the request. */
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 5));
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, EX_RUNDOWN_COUNT_MAX - 4));
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_TRUE(test, exr_refused_many(fam, ref, LONG_MAX));
	EXR_EXPECT_MISUSES(test, 1);
	KUNIT_EXPECT_EQ(test, fam->read_count(ref), 5UL);
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, EX_RUNDOWN_COUNT_MAX - 5));
	fam->release_many(ref, EX_RUNDOWN_COUNT_MAX - 5);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 5);
}

static struct kunit_case ex_rundown_many_cases[] = {
	EXR_CASE(ex_rundown_test_acquire_many_zero),
	EXR_CASE(ex_rundown_test_acquire_many_one),
	EXR_CASE(ex_rundown_test_acquire_many_large),
	EXR_CASE(ex_rundown_test_acquire_many_overflow),
	{}
};

struct kunit_suite ex_rundown_many_suite = {
	.name = "ex_rundown_many",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_many_cases,
};
