/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the ex_rundown KUnit suites share (the helpers are in
 * ex_rundown_test_common.c).
 *
 * Two families keep the same rules, so every case is written once against
 * struct exr_family, a table of the family's operations, and runs once per
 * family (EXR_CASE()). Only the rules that are documented to differ between
 * families are switched on the table's flags.
 *
 * Misuse is checked through ex_rundown_misuse_count(): every case declares
 * how many misuses it provokes (EXR_EXPECT_MISUSES()), and the suites' exit
 * fails any case that caused one it did not declare.
 *
 * Threads: workers (kthreads) only count; the test thread asserts. A
 * KUNIT_ASSERT in a worker would abort the test's own thread, not the
 * worker. Every worker is joined with a time limit: a worker that never
 * finishes (a lost wake-up, say) fails the case instead of hanging the
 * suite, and its memory is then leaked on purpose rather than freed under
 * its feet.
 *
 * User-Mode Linux has one CPU and no kernel preemption, so races happen only
 * where a thread sleeps or an interrupt hits: the stress cases sleep inside
 * and around their critical sections, and hard-IRQ hrtimers add the
 * interrupts. On an SMP kernel (x86_64 in QEMU) the same cases race for
 * real.
 */
#ifndef _EX_RUNDOWN_TEST_H
#define _EX_RUNDOWN_TEST_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/sched.h>

#include <ex_rundown_pcpu.h>

#include "../src/ex_rundown_compat.h"

/* Documented differences between families, in struct exr_family.flags. */

/*
 * A release beyond the holders is caught at once, also when no run-down is
 * on: it takes what is held and reports the excess. (The other family sees
 * the excess only when a wait sums its per-CPU counters.)
 */
#define EXR_F_CHECKS_UNDERFLOW	BIT(0)
/* acquire_many() refuses a total above EX_RUNDOWN_COUNT_MAX. */
#define EXR_F_CHECKS_OVERFLOW	BIT(1)
/* completed() and an acquire under way are atomic with each other. */
#define EXR_F_ATOMIC_COMPLETED	BIT(2)

/**
 * struct exr_family - one run-down family, as the cases see it
 * @name: parameter description in the KUnit output
 * @size: bytes of one reference
 * @align: alignment of one reference
 * @init: make a zeroed reference idle; may allocate (0 or -errno)
 * @exit: free what @init allocated; NULL if nothing
 * @acquire: ..._acquire()
 * @acquire_many: ..._acquire_many()
 * @release: ..._release()
 * @release_many: ..._release_many()
 * @hand_off: ..._hand_off(): for lockdep, the calling task stops counting as
 *	a holder of a protection it took
 * @wait: ..._wait()
 * @wait_killable: ..._wait_killable()
 * @wait_timeout: ..._wait_timeout()
 * @completed: ..._completed()
 * @reinit: ..._reinit()
 * @read_count: ..._read_count()
 * @is_draining: ..._is_draining()
 * @word: the reference's shared count word, for the cases that look at or
 *	overwrite the raw state (the per-CPU family's counts the holders only
 *	once a wait has collected its per-CPU counters)
 * @word_drained: @word of a drained reference, its run-down begun
 * @word_held: @word with one holder during a run-down, once collected
 * @flags: EXR_F_*
 */
struct exr_family {
	const char *name;
	size_t size;
	size_t align;
	int (*init)(void *ref);
	void (*exit)(void *ref);
	bool (*acquire)(void *ref);
	bool (*acquire_many)(void *ref, unsigned long count);
	void (*release)(void *ref);
	void (*release_many)(void *ref, unsigned long count);
	void (*hand_off)(void *ref);
	void (*wait)(void *ref);
	int (*wait_killable)(void *ref);
	long (*wait_timeout)(void *ref, long timeout);
	void (*completed)(void *ref);
	void (*reinit)(void *ref);
	unsigned long (*read_count)(void *ref);
	bool (*is_draining)(void *ref);
	atomic_long_t *(*word)(void *ref);
	long word_drained;
	long word_held;
	unsigned int flags;
};

#define EXR_NR_FAMILIES		2
extern const struct exr_family exr_families[EXR_NR_FAMILIES];
void exr_family_desc(const struct exr_family *fam, char *desc);

/*
 * Every case but a few that are about one family runs once per family:
 * each file that has such cases says KUNIT_ARRAY_PARAM(exr_family,
 * exr_families, exr_family_desc) (the generator it makes is static).
 */
#define EXR_CASE(fn)		KUNIT_CASE_PARAM(fn, exr_family_gen_params)

/* Per-case context: test->priv, set up by exr_test_init(). */

#define EXR_MAX_THREADS		8
#define EXR_MAX_OBJS		4
#define EXR_HOLDERS		4
/* How long a worker may take to finish before the case gives up on it. */
#define EXR_JOIN_MS		5000

enum exr_wait_kind {
	EXR_WAIT,
	EXR_WAIT_KILLABLE,
	EXR_WAIT_TIMEOUT,
	EXR_NR_WAIT_KINDS,
};

extern const char * const exr_wait_names[EXR_NR_WAIT_KINDS];

struct exr_ctx;

struct exr_thread {
	struct exr_ctx *ctx;
	void (*fn)(struct exr_thread *t);
	unsigned int id;
	void *arg;
	/* for exr_waiter_main() */
	void *ref;
	enum exr_wait_kind kind;
	long timeout;
	bool allow_kill;
	long ret;
	struct completion ready;	/* fn is about to block */
	struct completion done;		/* fn returned */
	struct task_struct *task;
	bool joined;
};

/*
 * An object guarded by a reference: payload[] is what holders write under
 * protection, the family's reference follows at exr_ref_offset().
 */
struct exr_obj {
	bool live;			/* fam->exit() still due */
	unsigned long payload[EXR_HOLDERS];
};

/* A hard-IRQ hrtimer that calls @fn on @ref (ex_rundown_test_irq.c). */
struct exr_irq {
	struct hrtimer timer;
	const struct exr_family *fam;
	void *ref;
	void (*fn)(struct exr_irq *irq);
	ktime_t period;
	unsigned int max_fires;
	int owner_returned;
	/* written by the callback only */
	unsigned int fires;
	unsigned int acquired;
	unsigned int refused;
	unsigned int late;		/* acquired after the wait returned */
	unsigned int release_refused;	/* own release reported as misuse */
	unsigned int not_hardirq;
	unsigned long count_at;		/* holders when completed() was called */
};

struct exr_ctx {
	const struct exr_family *fam;
	unsigned long misuse_seen;
	bool stop;			/* workers: finish now */
	bool leak;			/* a worker is stuck: free nothing */
	unsigned int nthreads;
	struct exr_thread threads[EXR_MAX_THREADS];
	struct exr_obj *objs[EXR_MAX_OBJS];
	void *shared;			/* what workers share with the case */
	bool irq_used;
	struct exr_irq irq;
};

/* The family the case runs for. */
static inline const struct exr_family *exr_fam(struct kunit *test)
{
	return ((struct exr_ctx *)test->priv)->fam;
}

int exr_test_init(struct kunit *test);
void exr_test_exit(struct kunit *test);

/*
 * Check that exactly @n misuses were reported since the last check, and
 * start counting afresh. A macro, so that a failure names the case's line.
 */
#define EXR_EXPECT_MISUSES(test, n)					\
do {									\
	struct kunit *__test = (test);					\
	struct exr_ctx *__ctx = __test->priv;				\
	unsigned long __now = ex_rundown_misuse_count();		\
									\
	KUNIT_EXPECT_EQ_MSG(__test, __now - __ctx->misuse_seen,	\
			    (unsigned long)(n), "misuses reported");	\
	__ctx->misuse_seen = __now;					\
} while (0)

/*
 * Wait until @cond holds or @ms passed: spin briefly at first (the workers
 * answer within microseconds), then sleep between looks, leaving the CPU
 * to a worker that shares it (and, under QEMU, the host's CPU to the
 * vCPUs that race). True if @cond held.
 */
#define exr_poll(cond, ms)						\
({									\
	unsigned long __deadline = jiffies + msecs_to_jiffies(ms);	\
	unsigned int __spins = 0;					\
	bool __ok;							\
									\
	for (;;) {							\
		__ok = (cond);						\
		if (__ok || time_after(jiffies, __deadline))		\
			break;						\
		if (++__spins < 200)					\
			barrier();					\
		else							\
			usleep_range(10, 20);				\
	}								\
	__ok;								\
})

/* Objects and memory, freed by the suites' exit. */
size_t exr_ref_offset(const struct exr_family *fam);
void *exr_obj_ref(const struct exr_family *fam, struct exr_obj *obj);
struct exr_obj *exr_new_obj(struct kunit *test);
void *exr_new_ref(struct kunit *test);
void exr_free_obj(struct kunit *test, struct exr_obj *obj, bool free);
void *exr_shared_alloc(struct kunit *test, size_t size);

/* Workers. */
bool exr_stopping(struct exr_thread *t);
struct exr_thread *exr_thread_create(struct kunit *test,
				     void (*fn)(struct exr_thread *t),
				     void *arg);
void exr_thread_run(struct exr_thread *t);
struct exr_thread *exr_thread_start(struct kunit *test,
				    void (*fn)(struct exr_thread *t),
				    void *arg);
bool exr_thread_join(struct exr_thread *t, unsigned int ms);
bool exr_join_all(struct kunit *test);

/* Waits and waiters. */
long exr_do_wait(const struct exr_family *fam, void *ref,
		 enum exr_wait_kind kind, long timeout);
void exr_waiter_main(struct exr_thread *t);
struct exr_thread *exr_create_waiter(struct kunit *test,
				     void (*fn)(struct exr_thread *t),
				     void *arg, void *ref,
				     enum exr_wait_kind kind);
struct exr_thread *exr_start_waiter(struct kunit *test, void *ref,
				    enum exr_wait_kind kind, bool allow_kill);
bool exr_until_asleep(struct exr_thread *t, unsigned int ms);
bool exr_until_draining(const struct exr_family *fam, void *ref);

/* The reference's state, through behaviour. */
void exr_hand_off(const struct exr_family *fam, void *ref, unsigned long n);
void exr_expect_held(struct kunit *test, void *ref, unsigned long n);
bool exr_refused(const struct exr_family *fam, void *ref);
bool exr_refused_many(const struct exr_family *fam, void *ref,
		      unsigned long count);
bool exr_acquirable(const struct exr_family *fam, void *ref);
void exr_expect_draining(struct kunit *test, void *ref, bool draining);

/* The suites, all in the one kunit_test_suites() of the module. */
extern struct kunit_suite ex_rundown_basic_suite;
extern struct kunit_suite ex_rundown_many_suite;
extern struct kunit_suite ex_rundown_misuse_suite;
extern struct kunit_suite ex_rundown_wait_suite;
extern struct kunit_suite ex_rundown_irq_suite;
extern struct kunit_suite ex_rundown_stress_suite;
extern struct kunit_suite ex_rundown_guard_test_suite;

#endif /* _EX_RUNDOWN_TEST_H */
