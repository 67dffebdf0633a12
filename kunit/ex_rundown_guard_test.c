// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit cases for the scoped protection classes of include/ex_rundown.h,
 * for both families: protection taken by scoped_cond_guard(), scoped_guard()
 * or CLASS() is released on every way out of the scope (falling off the
 * end, return, break, goto), and a refused protection runs the failure path
 * and releases nothing.
 *
 * Part of the ex_rundown_kunit module, whose one kunit_test_suites() is in
 * kunit/ex_rundown_test_common.c.
 */

#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/gfp.h>

#include <ex_rundown_pcpu.h>

#include "ex_rundown_test.h"

/*
 * The classes exist only where the kernel has scoped_cond_guard() (6.5 and
 * later); elsewhere the header leaves them out and these cases skip. That
 * they are there exactly where the kernel has scoped_cond_guard() is
 * checked by the qemu layer, through examples/consumer.
 */
#ifdef scoped_cond_guard

/* What a protected section saw, and how the scope was left. */
struct exr_guard_seen {
	bool inside;
	unsigned long held;
};

enum exr_guard_exit { EXR_GUARD_END, EXR_GUARD_RETURN, EXR_GUARD_GOTO };

/*
 * The shape every user of the guard has: -ENODEV when the object is going
 * away, otherwise the work under protection, which may return early.
 */
static int exr_guard_ref_section(struct ex_rundown_ref *ref,
				 enum exr_guard_exit how,
				 struct exr_guard_seen *seen)
{
	scoped_cond_guard(ex_rundown, return -ENODEV, ref) {
		seen->inside = true;
		seen->held = ex_rundown_read_count(ref);
		if (how == EXR_GUARD_RETURN)
			return 1;
		if (how == EXR_GUARD_GOTO)
			goto out;
	}
	return 0;
out:
	return 2;
}

static int exr_guard_pcpu_section(struct ex_rundown_pcpu *ref,
				  enum exr_guard_exit how,
				  struct exr_guard_seen *seen)
{
	scoped_cond_guard(ex_rundown_pcpu, return -ENODEV, ref) {
		seen->inside = true;
		seen->held = ex_rundown_pcpu_read_count(ref);
		if (how == EXR_GUARD_RETURN)
			return 1;
		if (how == EXR_GUARD_GOTO)
			goto out;
	}
	return 0;
out:
	return 2;
}

static const int exr_guard_ret[] = {
	[EXR_GUARD_END] = 0, [EXR_GUARD_RETURN] = 1, [EXR_GUARD_GOTO] = 2,
};

static void ex_rundown_guard_test_scoped_cond_guard(struct kunit *test)
{
	unsigned long misuses = ex_rundown_misuse_count();
	struct ex_rundown_ref ref;
	enum exr_guard_exit how;

	ex_rundown_init(&ref);
	for (how = EXR_GUARD_END; how <= EXR_GUARD_GOTO; how++) {
		struct exr_guard_seen seen = {};

		KUNIT_EXPECT_EQ(test, exr_guard_ref_section(&ref, how, &seen),
				exr_guard_ret[how]);
		KUNIT_EXPECT_TRUE(test, seen.inside);
		KUNIT_EXPECT_EQ(test, seen.held, 1UL);
		KUNIT_EXPECT_EQ_MSG(test, ex_rundown_read_count(&ref), 0UL,
				    "protection kept after leaving the scope (exit %d)",
				    how);
	}
	/* Balanced: the wait finds no holder and returns at once. */
	KUNIT_EXPECT_GT(test, ex_rundown_wait_timeout(&ref, 0), 0L);
	KUNIT_EXPECT_EQ(test, ex_rundown_misuse_count(), misuses);
}

static void ex_rundown_guard_test_scoped_cond_guard_refused(struct kunit *test)
{
	unsigned long misuses = ex_rundown_misuse_count();
	struct exr_guard_seen seen = {};
	struct ex_rundown_ref ref;

	ex_rundown_init(&ref);
	ex_rundown_wait(&ref);
	KUNIT_EXPECT_EQ(test, exr_guard_ref_section(&ref, EXR_GUARD_END, &seen),
			-ENODEV);
	KUNIT_EXPECT_FALSE(test, seen.inside);
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 0UL);
	/* Nothing was released for the refused protection. */
	KUNIT_EXPECT_EQ(test, ex_rundown_misuse_count(), misuses);
}

static void ex_rundown_guard_test_scoped_guard(struct kunit *test)
{
	unsigned long misuses = ex_rundown_misuse_count();
	struct ex_rundown_ref ref;
	unsigned int i, inside = 0;

	ex_rundown_init(&ref);
	/* break leaves the scope (and the loop) with the protection released. */
	for (i = 0; i < 3; i++) {
		scoped_guard(ex_rundown, &ref) {
			inside++;
			KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 1UL);
			if (i == 1)
				break;
		}
		KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 0UL);
	}
	KUNIT_EXPECT_EQ(test, inside, 3U);

	/* Refused: the body is skipped. */
	ex_rundown_completed(&ref);
	scoped_guard(ex_rundown, &ref)
		inside++;
	KUNIT_EXPECT_EQ(test, inside, 3U);
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 0UL);
	KUNIT_EXPECT_EQ(test, ex_rundown_misuse_count(), misuses);
}

static void ex_rundown_guard_test_class(struct kunit *test)
{
	unsigned long misuses = ex_rundown_misuse_count();
	struct ex_rundown_ref ref;

	ex_rundown_init(&ref);
	{
		CLASS(ex_rundown, prot)(&ref);

		KUNIT_EXPECT_PTR_EQ(test, prot, &ref);
		KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 1UL);
		{
			CLASS(ex_rundown, nested)(&ref);

			KUNIT_EXPECT_PTR_EQ(test, nested, &ref);
			KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 2UL);
		}
		KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 1UL);
	}
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 0UL);

	ex_rundown_wait(&ref);
	{
		CLASS(ex_rundown, prot)(&ref);

		KUNIT_EXPECT_NULL(test, prot);
	}
	KUNIT_EXPECT_EQ(test, ex_rundown_read_count(&ref), 0UL);
	KUNIT_EXPECT_EQ(test, ex_rundown_misuse_count(), misuses);
}

static void ex_rundown_guard_test_pcpu(struct kunit *test)
{
	unsigned long misuses = ex_rundown_misuse_count();
	struct ex_rundown_pcpu ref;
	enum exr_guard_exit how;

	KUNIT_ASSERT_EQ(test, ex_rundown_pcpu_init(&ref, GFP_KERNEL), 0);
	for (how = EXR_GUARD_END; how <= EXR_GUARD_GOTO; how++) {
		struct exr_guard_seen seen = {};

		KUNIT_EXPECT_EQ(test, exr_guard_pcpu_section(&ref, how, &seen),
				exr_guard_ret[how]);
		KUNIT_EXPECT_TRUE(test, seen.inside);
		KUNIT_EXPECT_EQ(test, seen.held, 1UL);
		KUNIT_EXPECT_EQ_MSG(test, ex_rundown_pcpu_read_count(&ref), 0UL,
				    "protection kept after leaving the scope (exit %d)",
				    how);
	}
	{
		CLASS(ex_rundown_pcpu, prot)(&ref);

		KUNIT_EXPECT_PTR_EQ(test, prot, &ref);
		KUNIT_EXPECT_EQ(test, ex_rundown_pcpu_read_count(&ref), 1UL);
	}
	KUNIT_EXPECT_EQ(test, ex_rundown_pcpu_read_count(&ref), 0UL);

	/* Balanced: the wait returns; then every form is refused. */
	KUNIT_EXPECT_GT(test, ex_rundown_pcpu_wait_timeout(&ref, 10 * HZ), 0L);
	{
		CLASS(ex_rundown_pcpu, prot)(&ref);

		KUNIT_EXPECT_NULL(test, prot);
	}
	{
		struct exr_guard_seen seen = {};

		KUNIT_EXPECT_EQ(test, exr_guard_pcpu_section(&ref, EXR_GUARD_END, &seen),
				-ENODEV);
		KUNIT_EXPECT_FALSE(test, seen.inside);
	}
	KUNIT_EXPECT_EQ(test, ex_rundown_misuse_count(), misuses);
	ex_rundown_pcpu_exit(&ref);
}

static struct kunit_case ex_rundown_guard_test_cases[] = {
	KUNIT_CASE(ex_rundown_guard_test_scoped_cond_guard),
	KUNIT_CASE(ex_rundown_guard_test_scoped_cond_guard_refused),
	KUNIT_CASE(ex_rundown_guard_test_scoped_guard),
	KUNIT_CASE(ex_rundown_guard_test_class),
	KUNIT_CASE(ex_rundown_guard_test_pcpu),
	{}
};

#else /* !scoped_cond_guard */

static void ex_rundown_guard_test_absent(struct kunit *test)
{
	kunit_skip(test, "no scoped_cond_guard() in this kernel: no guard classes");
}

static struct kunit_case ex_rundown_guard_test_cases[] = {
	KUNIT_CASE(ex_rundown_guard_test_absent),
	{}
};

#endif /* scoped_cond_guard */

struct kunit_suite ex_rundown_guard_test_suite = {
	.name = "ex_rundown_guard",
	.test_cases = ex_rundown_guard_test_cases,
};
