// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for run-down protection (include/ex_rundown.h).
 *
 * Two families keep the same rules, so every case is written once against
 * struct exr_family, a table of the family's operations, and runs once per
 * family through KUNIT_ARRAY_PARAM. Only the rules that are documented to
 * differ between families are switched on the table's flags.
 *
 * Misuse is checked through ex_rundown_misuse_count(): every case declares
 * how many misuses it provokes (EXR_EXPECT_MISUSES), and the suite's exit
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
 * and around their critical sections, and a hard-IRQ hrtimer adds the
 * interrupts. On an SMP kernel (x86_64 in QEMU) the same cases race for
 * real.
 */

#include <kunit/test.h>
#include <linux/align.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <ex_rundown.h>

/* Documented differences between families, in struct exr_family.flags. */

/* A release beyond the holders is refused also when no run-down is on. */
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
 *	a holder of a protection it took (NULL if the family has no such call)
 * @wait: ..._wait()
 * @wait_killable: ..._wait_killable()
 * @wait_timeout: ..._wait_timeout()
 * @completed: ..._completed()
 * @reinit: ..._reinit()
 * @read_count: exact holder count, or NULL if the family cannot tell
 * @is_draining: has a run-down begun, or NULL if the family cannot tell
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
	unsigned int flags;
};

/* The shared-counter family, struct ex_rundown_ref. */

static int exr_core_init(void *ref)
{
	struct ex_rundown_ref *r = ref;

	ex_rundown_init(r);
	return 0;
}

static bool exr_core_acquire(void *ref)
{
	return ex_rundown_acquire(ref);
}

static bool exr_core_acquire_many(void *ref, unsigned long count)
{
	return ex_rundown_acquire_many(ref, count);
}

static void exr_core_release(void *ref)
{
	ex_rundown_release(ref);
}

static void exr_core_release_many(void *ref, unsigned long count)
{
	ex_rundown_release_many(ref, count);
}

static void exr_core_hand_off(void *ref)
{
	ex_rundown_hand_off(ref);
}

static void exr_core_wait(void *ref)
{
	ex_rundown_wait(ref);
}

static int exr_core_wait_killable(void *ref)
{
	return ex_rundown_wait_killable(ref);
}

static long exr_core_wait_timeout(void *ref, long timeout)
{
	return ex_rundown_wait_timeout(ref, timeout);
}

static void exr_core_completed(void *ref)
{
	ex_rundown_completed(ref);
}

static void exr_core_reinit(void *ref)
{
	ex_rundown_reinit(ref);
}

static unsigned long exr_core_read_count(void *ref)
{
	return ex_rundown_read_count(ref);
}

static bool exr_core_is_draining(void *ref)
{
	return ex_rundown_is_draining(ref);
}

/*
 * The per-CPU family, struct ex_rundown_pcpu. It checks a release against
 * the count only once a wait has collected the per-CPU counters, hence no
 * EXR_F_CHECKS_UNDERFLOW; see src/ex_rundown_pcpu.c.
 */

static int exr_pcpu_init(void *ref)
{
	return ex_rundown_pcpu_init((struct ex_rundown_pcpu *)ref, GFP_KERNEL);
}

static void exr_pcpu_exit(void *ref)
{
	ex_rundown_pcpu_exit(ref);
}

static bool exr_pcpu_acquire(void *ref)
{
	return ex_rundown_pcpu_acquire(ref);
}

static bool exr_pcpu_acquire_many(void *ref, unsigned long count)
{
	return ex_rundown_pcpu_acquire_many(ref, count);
}

static void exr_pcpu_release(void *ref)
{
	ex_rundown_pcpu_release(ref);
}

static void exr_pcpu_release_many(void *ref, unsigned long count)
{
	ex_rundown_pcpu_release_many(ref, count);
}

static void exr_pcpu_hand_off(void *ref)
{
	ex_rundown_pcpu_hand_off(ref);
}

static void exr_pcpu_wait(void *ref)
{
	ex_rundown_pcpu_wait(ref);
}

static int exr_pcpu_wait_killable(void *ref)
{
	return ex_rundown_pcpu_wait_killable(ref);
}

static long exr_pcpu_wait_timeout(void *ref, long timeout)
{
	return ex_rundown_pcpu_wait_timeout(ref, timeout);
}

static void exr_pcpu_completed(void *ref)
{
	ex_rundown_pcpu_completed(ref);
}

static void exr_pcpu_reinit(void *ref)
{
	ex_rundown_pcpu_reinit(ref);
}

static unsigned long exr_pcpu_read_count(void *ref)
{
	return ex_rundown_pcpu_read_count(ref);
}

static bool exr_pcpu_is_draining(void *ref)
{
	return ex_rundown_pcpu_is_draining(ref);
}

static const struct exr_family exr_families[] = {
	{
		.name = "ex_rundown_ref",
		.size = sizeof(struct ex_rundown_ref),
		.align = __alignof__(struct ex_rundown_ref),
		.init = exr_core_init,
		.acquire = exr_core_acquire,
		.acquire_many = exr_core_acquire_many,
		.release = exr_core_release,
		.release_many = exr_core_release_many,
		.hand_off = exr_core_hand_off,
		.wait = exr_core_wait,
		.wait_killable = exr_core_wait_killable,
		.wait_timeout = exr_core_wait_timeout,
		.completed = exr_core_completed,
		.reinit = exr_core_reinit,
		.read_count = exr_core_read_count,
		.is_draining = exr_core_is_draining,
		.flags = EXR_F_CHECKS_UNDERFLOW | EXR_F_CHECKS_OVERFLOW |
			 EXR_F_ATOMIC_COMPLETED,
	},
	{
		.name = "ex_rundown_pcpu",
		.size = sizeof(struct ex_rundown_pcpu),
		.align = __alignof__(struct ex_rundown_pcpu),
		.init = exr_pcpu_init,
		.exit = exr_pcpu_exit,
		.acquire = exr_pcpu_acquire,
		.acquire_many = exr_pcpu_acquire_many,
		.release = exr_pcpu_release,
		.release_many = exr_pcpu_release_many,
		.hand_off = exr_pcpu_hand_off,
		.wait = exr_pcpu_wait,
		.wait_killable = exr_pcpu_wait_killable,
		.wait_timeout = exr_pcpu_wait_timeout,
		.completed = exr_pcpu_completed,
		.reinit = exr_pcpu_reinit,
		.read_count = exr_pcpu_read_count,
		.is_draining = exr_pcpu_is_draining,
		.flags = 0,
	},
};

static void exr_family_desc(const struct exr_family *fam, char *desc)
{
	strscpy(desc, fam->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

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

static const char * const exr_wait_names[EXR_NR_WAIT_KINDS] = {
	[EXR_WAIT] = "wait",
	[EXR_WAIT_KILLABLE] = "wait_killable",
	[EXR_WAIT_TIMEOUT] = "wait_timeout",
};

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

enum exr_irq_mode {
	EXR_IRQ_HAMMER,		/* acquire and release in every interrupt */
	EXR_IRQ_RELEASE,	/* drop protections taken in process context */
	EXR_IRQ_COMPLETE,	/* run the reference down with completed() */
};

struct exr_irq {
	struct hrtimer timer;
	const struct exr_family *fam;
	void *ref;
	enum exr_irq_mode mode;
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

static int exr_test_init(struct kunit *test)
{
	struct exr_ctx *ctx;

	/* Not kunit_kzalloc(): a stuck worker may outlive the case. */
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->fam = test->param_value ? test->param_value : &exr_families[0];
	ctx->misuse_seen = ex_rundown_misuse_count();
	test->priv = ctx;
	return 0;
}

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

static size_t exr_ref_offset(const struct exr_family *fam)
{
	return ALIGN(sizeof(struct exr_obj), fam->align);
}

static void *exr_obj_ref(const struct exr_family *fam, struct exr_obj *obj)
{
	return (char *)obj + exr_ref_offset(fam);
}

/* A new object with an idle reference, freed by the suite's exit. */
static struct exr_obj *exr_new_obj(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	struct exr_obj *obj;
	unsigned int i;

	for (i = 0; i < EXR_MAX_OBJS && ctx->objs[i]; i++)
		;
	KUNIT_ASSERT_LT(test, i, EXR_MAX_OBJS);
	obj = kzalloc(exr_ref_offset(fam) + fam->size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	ctx->objs[i] = obj;
	KUNIT_ASSERT_TRUE(test, IS_ALIGNED((unsigned long)exr_obj_ref(fam, obj),
					   fam->align));
	KUNIT_ASSERT_EQ(test, fam->init(exr_obj_ref(fam, obj)), 0);
	obj->live = true;
	return obj;
}

static void *exr_new_ref(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;

	return exr_obj_ref(ctx->fam, exr_new_obj(test));
}

/* Tear an object down before the suite's exit would (the free tests). */
static void exr_free_obj(struct kunit *test, struct exr_obj *obj, bool free)
{
	struct exr_ctx *ctx = test->priv;
	unsigned int i;

	if (obj->live && ctx->fam->exit)
		ctx->fam->exit(exr_obj_ref(ctx->fam, obj));
	obj->live = false;
	if (!free)
		return;
	for (i = 0; i < EXR_MAX_OBJS; i++)
		if (ctx->objs[i] == obj)
			ctx->objs[i] = NULL;
	kfree(obj);
}

/* Memory for the case and its workers, freed by the suite's exit. */
static void *exr_shared_alloc(struct kunit *test, size_t size)
{
	struct exr_ctx *ctx = test->priv;

	KUNIT_ASSERT_NULL(test, ctx->shared);
	ctx->shared = kzalloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->shared);
	return ctx->shared;
}

static bool exr_stopping(struct exr_thread *t)
{
	return READ_ONCE(t->ctx->stop) || kthread_should_stop();
}

static int exr_thread_main(void *data)
{
	struct exr_thread *t = data;

	t->fn(t);
	complete(&t->done);
	return 0;
}

/*
 * A worker, created but not yet running: the caller may still fill in what
 * @fn reads. exr_thread_run() starts it.
 */
static struct exr_thread *exr_thread_create(struct kunit *test,
					    void (*fn)(struct exr_thread *t),
					    void *arg)
{
	struct exr_ctx *ctx = test->priv;
	struct task_struct *task;
	struct exr_thread *t;

	KUNIT_ASSERT_LT(test, ctx->nthreads, EXR_MAX_THREADS);
	t = &ctx->threads[ctx->nthreads];
	memset(t, 0, sizeof(*t));
	t->ctx = ctx;
	t->fn = fn;
	t->id = ctx->nthreads;
	t->arg = arg;
	init_completion(&t->ready);
	init_completion(&t->done);
	task = kthread_create(exr_thread_main, t, "exr_test/%u", t->id);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "kthread_create: %ld",
			       PTR_ERR(task));
	/* Pinned, so that kthread_stop() may follow the thread's own exit. */
	get_task_struct(task);
	t->task = task;
	ctx->nthreads++;
	return t;
}

static void exr_thread_run(struct exr_thread *t)
{
	wake_up_process(t->task);
}

static struct exr_thread *exr_thread_start(struct kunit *test,
					   void (*fn)(struct exr_thread *t),
					   void *arg)
{
	struct exr_thread *t = exr_thread_create(test, fn, arg);

	exr_thread_run(t);
	return t;
}

/* True if @t finished within @ms; then it is gone for good. */
static bool exr_thread_join(struct exr_thread *t, unsigned int ms)
{
	if (t->joined)
		return true;
	if (!wait_for_completion_timeout(&t->done, msecs_to_jiffies(ms)))
		return false;
	kthread_stop(t->task);
	put_task_struct(t->task);
	t->joined = true;
	return true;
}

/* Join every worker; on success the slots are free for the next round. */
static bool exr_join_all(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	bool ok = true;
	unsigned int i;

	for (i = 0; i < ctx->nthreads; i++) {
		if (!exr_thread_join(&ctx->threads[i], EXR_JOIN_MS)) {
			KUNIT_FAIL(test, "worker %u did not finish within %u ms",
				   i, EXR_JOIN_MS);
			ctx->leak = true;
			ok = false;
		}
	}
	if (ok)
		ctx->nthreads = 0;
	return ok;
}

static void exr_test_exit(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	unsigned int i;

	WRITE_ONCE(ctx->stop, true);
	if (ctx->irq_used)
		hrtimer_cancel(&ctx->irq.timer);
	for (i = 0; i < ctx->nthreads; i++) {
		if (!exr_thread_join(&ctx->threads[i], EXR_JOIN_MS))
			ctx->leak = true;
	}
	KUNIT_EXPECT_EQ_MSG(test, ex_rundown_misuse_count(), ctx->misuse_seen,
			    "misuse reported that the case did not expect");
	if (ctx->leak) {
		kunit_err(test, "a worker is stuck: leaking its objects\n");
		return;
	}
	for (i = 0; i < EXR_MAX_OBJS; i++) {
		if (ctx->objs[i])
			exr_free_obj(test, ctx->objs[i], true);
	}
	kfree(ctx->shared);
	kfree(ctx);
	test->priv = NULL;
}

static long exr_do_wait(const struct exr_family *fam, void *ref,
			enum exr_wait_kind kind, long timeout)
{
	switch (kind) {
	case EXR_WAIT:
		fam->wait(ref);
		return 0;
	case EXR_WAIT_KILLABLE:
		return fam->wait_killable(ref);
	default:
		return fam->wait_timeout(ref, timeout);
	}
}

static void exr_waiter_main(struct exr_thread *t)
{
	/* Kthreads ignore every signal unless they allow it. */
	if (t->allow_kill)
		allow_signal(SIGKILL);
	complete(&t->ready);
	t->ret = exr_do_wait(t->ctx->fam, t->ref, t->kind, t->timeout);
}

static struct exr_thread *exr_start_waiter(struct kunit *test, void *ref,
					   enum exr_wait_kind kind,
					   bool allow_kill)
{
	struct exr_thread *t = exr_thread_create(test, exr_waiter_main, NULL);

	t->ref = ref;
	t->kind = kind;
	t->timeout = 60 * HZ;
	t->allow_kill = allow_kill;
	exr_thread_run(t);
	return t;
}

/*
 * Wait until acquires fail, i.e. until a waiter has begun the run-down. The
 * caller holds protection, so the probe's own release never ends it.
 */
static bool exr_until_draining(const struct exr_family *fam, void *ref)
{
	unsigned long deadline = jiffies + 5 * HZ;

	while (fam->acquire(ref)) {
		fam->release(ref);
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

/*
 * Lockdep counts a protection as held by the task that took it until that
 * task releases it, and reports a holder that waits for its own reference.
 * The cases do wait with protection of their own, but only with a timeout
 * or for a release that comes from elsewhere: they hand their protections
 * off first. Up to @n of them; a hand-off of nothing held does nothing.
 */
static void exr_hand_off(const struct exr_family *fam, void *ref,
			 unsigned long n)
{
	if (!fam->hand_off)
		return;
	for (n = min(n, 8UL); n; n--)
		fam->hand_off(ref);
}

/*
 * Check, through behaviour alone, that exactly @n protections are held on a
 * reference: @n - 1 releases leave a wait sleeping, one more ends it. Every
 * family can be checked this way, whether it can count or not. Leaves the
 * reference drained.
 */
static void exr_expect_held(struct kunit *test, void *ref, unsigned long n)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;

	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), n);
	exr_hand_off(fam, ref, n);
	if (n) {
		KUNIT_EXPECT_EQ_MSG(test, fam->wait_timeout(ref, 1), 0L,
				    "drained with %lu holder(s)", n);
		fam->release_many(ref, n - 1);
		KUNIT_EXPECT_EQ_MSG(test, fam->wait_timeout(ref, 1), 0L,
				    "drained with 1 holder of %lu left", n);
		fam->release(ref);
	}
	KUNIT_EXPECT_GT_MSG(test, fam->wait_timeout(ref, 1), 0L,
			    "not drained after %lu release(s)", n);
	EXR_EXPECT_MISUSES(test, 0);
}

/*
 * An acquire that must be refused. One that succeeds all the same is undone,
 * so that the case goes on to its other checks instead of hanging in its
 * next wait.
 */
static bool exr_refused(const struct exr_family *fam, void *ref)
{
	if (!fam->acquire(ref))
		return true;
	fam->release(ref);
	return false;
}

static bool exr_refused_many(const struct exr_family *fam, void *ref,
			     unsigned long count)
{
	if (!fam->acquire_many(ref, count))
		return true;
	fam->release_many(ref, count);
	return false;
}

/* Acquire succeeds and can be undone, without disturbing anything. */
static bool exr_acquirable(const struct exr_family *fam, void *ref)
{
	if (!fam->acquire(ref))
		return false;
	fam->release(ref);
	return true;
}

static void exr_expect_draining(struct kunit *test, void *ref, bool draining)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;

	KUNIT_EXPECT_EQ(test, exr_acquirable(fam, ref), !draining);
	if (fam->is_draining)
		KUNIT_EXPECT_EQ(test, fam->is_draining(ref), draining);
}

/* ------------------------------------------------------------------ */
/* Each call alone, and the state machine.                             */

static void ex_rundown_test_init(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);

	/* Idle: no holder, no run-down. */
	exr_expect_draining(test, ref, false);
	if (fam->read_count)
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
 * slow paths: they must divert to them whenever the module keeps those
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	/* Protection nests. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 2UL);
	exr_expect_draining(test, ref, false);
	fam->release(ref);
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	fam->release(ref);
	exr_expect_draining(test, ref, false);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 0);
}

static void ex_rundown_test_acquire_many_zero(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);

	/* Idle: succeeds and takes nothing; releasing 0 is no misuse. */
	KUNIT_EXPECT_TRUE(test, fam->acquire_many(ref, 0));
	fam->release_many(ref, 0);
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);
	EXR_EXPECT_MISUSES(test, 0);

	/* Held: nothing changes either. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	KUNIT_EXPECT_TRUE(test, fam->acquire_many(ref, 0));
	fam->release_many(ref, 0);
	if (fam->read_count)
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);

	/* One protection, taken and dropped through either interface. */
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 1));
	if (fam->read_count)
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	unsigned int i;

	/* Released in any grouping: one big, single ones, small groups. */
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 1000000));
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	if (fam->read_count)
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 5UL);
	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, EX_RUNDOWN_COUNT_MAX - 5));
	fam->release_many(ref, EX_RUNDOWN_COUNT_MAX - 5);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_held(test, ref, 5);
}

static void ex_rundown_test_release_unheld(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);

	/* A new holder is not eaten by the bad releases before it. */
	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_expect_held(test, ref, 1);
}

static void ex_rundown_test_release_many_excess(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);

	if (!(fam->flags & EXR_F_CHECKS_UNDERFLOW))
		kunit_skip(test, "%s checks releases only during a run-down",
			   fam->name);

	KUNIT_ASSERT_TRUE(test, fam->acquire_many(ref, 3));
	/* More than held: refused whole, not partly applied. */
	fam->release_many(ref, 4);
	EXR_EXPECT_MISUSES(test, 1);
	fam->release_many(ref, ULONG_MAX);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 3);
}

static void ex_rundown_test_release_after_completed(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);

	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 0);
}

static void ex_rundown_test_reinit_during_wait(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	w = exr_start_waiter(test, ref, EXR_WAIT, false);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));

	/* The waiter is still owed its run-down: refused, nothing changes. */
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 1);
	exr_expect_draining(test, ref, true);
	if (fam->read_count)
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

static void ex_rundown_test_completed(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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

static void ex_rundown_test_completed_held(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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

/* idle -> held -> draining -> drained -> completed -> reinit -> idle, twice */
static void ex_rundown_test_state_machine(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	struct exr_thread *w;
	int round;

	for (round = 0; round < 2; round++) {
		exr_expect_draining(test, ref, false);
		KUNIT_ASSERT_TRUE(test, fam->acquire(ref));

		w = exr_start_waiter(test, ref, EXR_WAIT, false);
		KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
		if (fam->read_count)
			KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
		msleep(20);
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&w->done),
				       "wait returned with a holder inside");

		fam->release(ref);
		KUNIT_EXPECT_TRUE(test, exr_join_all(test));
		exr_expect_draining(test, ref, true);
		if (fam->read_count)
			KUNIT_EXPECT_EQ(test, fam->read_count(ref), 0UL);

		fam->completed(ref);
		exr_expect_draining(test, ref, true);
		fam->reinit(ref);
		EXR_EXPECT_MISUSES(test, 0);
	}
	exr_expect_draining(test, ref, false);
}

/* ------------------------------------------------------------------ */
/* Waits.                                                             */

static void ex_rundown_test_wait_idle(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	if (fam->read_count)
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	if (fam->read_count)
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	w = exr_start_waiter(test, ref, EXR_WAIT_TIMEOUT, false);
	KUNIT_ASSERT_TRUE(test, exr_until_draining(fam, ref));
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	fam->release(ref);
	if (!exr_join_all(test))
		return;
	/* 60 s were allowed; the release came within a fraction of that. */
	KUNIT_EXPECT_GT(test, w->ret, 50L * HZ);
	KUNIT_EXPECT_LE(test, w->ret, 60L * HZ);
	EXR_EXPECT_MISUSES(test, 0);
}

static void ex_rundown_test_wait_killable(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
	if (fam->read_count)
		KUNIT_EXPECT_EQ(test, fam->read_count(ref), 1UL);
	fam->release(ref);
	KUNIT_EXPECT_EQ(test, fam->wait_killable(ref), 0);
	fam->reinit(ref);
	EXR_EXPECT_MISUSES(test, 0);
	exr_expect_draining(test, ref, false);
}

/* ------------------------------------------------------------------ */
/* Hard interrupts.                                                   */

static enum hrtimer_restart exr_irq_fn(struct hrtimer *timer)
{
	struct exr_irq *irq = container_of(timer, struct exr_irq, timer);
	const struct exr_family *fam = irq->fam;
	unsigned int fires = irq->fires + 1;

	if (!in_hardirq())
		irq->not_hardirq++;
	/* Before the releases: a waiter they wake reads it at once. */
	WRITE_ONCE(irq->fires, fires);

	switch (irq->mode) {
	case EXR_IRQ_HAMMER:
		if (fam->acquire(irq->ref)) {
			unsigned long misuses = ex_rundown_misuse_count();

			irq->acquired++;
			if (READ_ONCE(irq->owner_returned))
				irq->late++;
			fam->release(irq->ref);
			/* Nothing else runs on this CPU meanwhile. */
			if (ex_rundown_misuse_count() != misuses)
				irq->release_refused++;
		} else {
			irq->refused++;
		}
		break;
	case EXR_IRQ_RELEASE:
		/* Two of the three protections, then the last one. */
		if (fires == 1)
			fam->release_many(irq->ref, 2);
		else
			fam->release(irq->ref);
		break;
	case EXR_IRQ_COMPLETE:
		WRITE_ONCE(irq->count_at, fam->read_count(irq->ref));
		fam->completed(irq->ref);
		break;
	}

	if (fires >= irq->max_fires)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, irq->period);
	return HRTIMER_RESTART;
}

static struct exr_irq *exr_irq_start(struct kunit *test, void *ref,
				     enum exr_irq_mode mode, u64 period_ns,
				     unsigned int max_fires)
{
	struct exr_ctx *ctx = test->priv;
	struct exr_irq *irq = &ctx->irq;

	KUNIT_ASSERT_FALSE(test, ctx->irq_used);
	memset(irq, 0, sizeof(*irq));
	irq->fam = ctx->fam;
	irq->ref = ref;
	irq->mode = mode;
	irq->period = ns_to_ktime(period_ns);
	irq->max_fires = max_fires;
	/*
	 * _HARD: the callback runs in hard-IRQ context, also on PREEMPT_RT.
	 * _PINNED: on this CPU, which a case can then keep its thread on.
	 */
	hrtimer_init(&irq->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	irq->timer.function = exr_irq_fn;
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
 * the reference down: the wait returns, and no interrupt gets in after.
 */
static void ex_rundown_test_irq_acquire_release(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	unsigned long proc_ok = 0, proc_refused = 0;
	unsigned long deadline = jiffies + 2 * HZ;
	unsigned int fires_at_return, late_refused;
	struct exr_irq *irq;

	irq = exr_irq_start(test, ref, EXR_IRQ_HAMMER, 20 * NSEC_PER_USEC, 4000);
	while (READ_ONCE(irq->fires) < 1000 && time_before(jiffies, deadline)) {
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
	KUNIT_EXPECT_GE_MSG(test, READ_ONCE(irq->fires), 1000U,
			    "the hrtimer fired too seldom in 2 s");
	KUNIT_EXPECT_EQ(test, proc_refused, 0UL);

	fam->wait(ref);
	WRITE_ONCE(irq->owner_returned, 1);
	/*
	 * Let some interrupts run against the drained reference. Counted from
	 * the return of the wait, not its start: an interrupt that fired
	 * just before the run-down began may rightly have got in.
	 */
	fires_at_return = READ_ONCE(irq->fires);
	exr_irq_until(irq, fires_at_return + 50, 2000);
	hrtimer_cancel(&irq->timer);

	KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
	KUNIT_EXPECT_GT(test, irq->acquired, 0U);
	KUNIT_EXPECT_EQ_MSG(test, irq->late, 0U,
			    "interrupts acquired after the wait returned");
	late_refused = irq->refused;
	KUNIT_EXPECT_GE(test, late_refused, 50U);
	kunit_info(test, "%lu process, %u interrupt acquires, %u refused after wait\n",
		   proc_ok, irq->acquired, late_refused);
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
		irq = exr_irq_start(test, ref, EXR_IRQ_RELEASE,
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	unsigned int attempt, attempts = 300, late = 0, early = 0;
	unsigned int held_at = 0, no_irq = 0;
	unsigned long acquired = 0;

	if (!fam->read_count)
		kunit_skip(test, "%s cannot count its holders", fam->name);
	if (!(fam->flags & EXR_F_ATOMIC_COMPLETED))
		kunit_skip(test, "%s lets an acquire under way finish after completed()",
			   fam->name);

	for (attempt = 0; attempt < attempts; attempt++) {
		unsigned long deadline = jiffies + HZ;
		unsigned int after = 0;
		struct exr_irq *irq;

		/* The interrupt and this loop on one CPU: no true parallelism. */
		migrate_disable();
		irq = exr_irq_start(test, ref, EXR_IRQ_COMPLETE,
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
		if (late || early || no_irq)
			break;
	}
	KUNIT_EXPECT_EQ_MSG(test, late, 0U,
			    "acquires granted after completed() in an interrupt");
	KUNIT_EXPECT_EQ_MSG(test, early, 0U, "acquires refused before it");
	KUNIT_EXPECT_EQ_MSG(test, no_irq, 0U, "attempts the interrupt missed");
	/* Some attempts must have found the loop between holds. */
	KUNIT_EXPECT_LT(test, held_at, attempts);
	EXR_EXPECT_MISUSES(test, held_at);
	kunit_info(test, "%u attempts, %lu acquires, %u found a holder\n",
		   attempts, acquired, held_at);
}

/*
 * Releases without protection in a tight loop, while interrupts on the same
 * CPU take and drop protection. The shared-counter family subtracts first
 * and takes a bad release back just after, so some interrupts land in
 * between, on a count below zero: they must be refused (a protection
 * granted there would be counted twice once the bad release is undone, and
 * its own release then refused: the reference would never drain). Every
 * bad release is reported, every interrupt's protection comes back, and
 * the reference ends idle and exact.
 */
static void ex_rundown_test_irq_release_unheld(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	unsigned long deadline = jiffies + 2 * HZ, bad = 0;
	struct exr_irq *irq;

	if (!(fam->flags & EXR_F_CHECKS_UNDERFLOW))
		kunit_skip(test, "%s checks releases only during a run-down",
			   fam->name);

	/* The interrupt and this loop on one CPU: it lands inside releases. */
	migrate_disable();
	irq = exr_irq_start(test, ref, EXR_IRQ_HAMMER, 20 * NSEC_PER_USEC, 5000);
	while (READ_ONCE(irq->fires) < 5000 && time_before(jiffies, deadline)) {
		fam->release(ref);
		if (!(++bad % 256))
			cond_resched();
	}
	migrate_enable();
	exr_irq_stop(test);

	KUNIT_EXPECT_EQ(test, irq->not_hardirq, 0U);
	KUNIT_EXPECT_GT(test, irq->acquired, 0U);
	/*
	 * What a protection granted on the passing count leads to: the bad
	 * release's undo counts it again, so its own release finds it gone.
	 * (The next bad release would then take the extra count away
	 * unreported, hiding the damage from the checks below.)
	 */
	KUNIT_EXPECT_EQ_MSG(test, irq->release_refused, 0U,
			    "interrupts' releases refused: protection granted on a bad release's count");
	/* Refused only on a count below zero: proof the window was hit. */
	KUNIT_EXPECT_GT_MSG(test, irq->refused, 0U,
			    "no interrupt landed inside a bad release: nothing was tested");
	kunit_info(test, "%lu bad releases, %u interrupt acquires, %u refused while one was undone\n",
		   bad, irq->acquired, irq->refused);
	EXR_EXPECT_MISUSES(test, bad);
	exr_expect_draining(test, ref, false);
	exr_expect_held(test, ref, 0);
}

/* ------------------------------------------------------------------ */
/* Concurrency.                                                       */

struct exr_stress {
	const struct exr_family *fam;
	struct exr_obj *obj;
	void *ref;
	atomic_t inside;		/* holders between acquire and release */
	atomic_t sections;		/* critical sections done, for pacing */
	int owner_returned;		/* the owner's wait has returned */
	atomic_t late_acquire;		/* acquired after the wait returned */
	atomic_t early_return;		/* the wait returned while inside */
	/* written by holder h alone, once it stops */
	unsigned long acquired[EXR_HOLDERS];
	unsigned long refused[EXR_HOLDERS];
	unsigned int round;
};

/*
 * Give the other threads a turn: UML has one CPU and no preemption, so
 * without a sleep here nobody else would run in the middle of a critical
 * section. Not much shorter than this: on UML a sleep of a few microseconds
 * has expired before the thread gets to schedule(), and then it does not
 * switch at all. The sleep varies, so that the interleavings do too.
 */
static void exr_relax(unsigned long i)
{
	if (i % 4 == 3)
		cond_resched();
	else
		usleep_range(20 + 10 * (i % 3), 60);
}

static void exr_holder_main(struct exr_thread *t)
{
	struct exr_stress *s = t->arg;
	const struct exr_family *fam = s->fam;
	unsigned int h = t->id;
	unsigned long i, mine = 0, refused_after = 0, refused = 0;
	/* Holders differ in how they take protection, to cover both paths. */
	unsigned long n = h == 1 ? 2 : 1;

	for (i = h + s->round; !exr_stopping(t); i++) {
		bool got = n == 1 ? fam->acquire(s->ref) :
				    fam->acquire_many(s->ref, n);

		if (got) {
			/*
			 * Pairs with the owner's smp_store_release(): if the
			 * wait has returned, it returned before this acquire.
			 */
			if (smp_load_acquire(&s->owner_returned))
				atomic_inc(&s->late_acquire);
			atomic_inc(&s->inside);
			exr_relax(i);
			/* Data written under protection: the waiter must see it. */
			WRITE_ONCE(s->obj->payload[h], s->obj->payload[h] + 1);
			mine++;
			exr_relax(i + 1);
			atomic_dec(&s->inside);
			atomic_inc(&s->sections);
			/* Likewise: still holding, the wait cannot be over. */
			if (smp_load_acquire(&s->owner_returned))
				atomic_inc(&s->early_return);
			if (n == 1) {
				fam->release(s->ref);
			} else if (i & 1) {
				fam->release_many(s->ref, n);
			} else {
				fam->release(s->ref);
				exr_relax(i);
				fam->release(s->ref);
			}
		} else {
			refused++;
			/* Seen the run-down through: enough tries after it. */
			if (smp_load_acquire(&s->owner_returned) &&
			    ++refused_after >= 8)
				break;
		}
		exr_relax(i + 2);
	}
	s->acquired[h] = mine;
	s->refused[h] = refused;
}

/*
 * Holders hammer acquire/write/release while the owner runs the reference
 * down: when the wait returns nobody is inside, nobody gets in afterwards,
 * and every write made under protection is visible to the owner.
 */
static void ex_rundown_test_stress_wait(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	struct exr_stress *s;
	struct exr_obj *obj = exr_new_obj(test);
	unsigned int round, rounds = 150, raced = 0, h;
	unsigned long seen, acquired, refused;
	unsigned long deadline;

	s = exr_shared_alloc(test, sizeof(*s));
	s->fam = fam;
	s->obj = obj;
	s->ref = exr_obj_ref(fam, obj);

	for (round = 0; round < rounds; round++) {
		enum exr_wait_kind kind = round % EXR_NR_WAIT_KINDS;
		long ret;

		atomic_set(&s->sections, 0);
		s->round = round;
		for (h = 0; h < EXR_HOLDERS; h++) {
			obj->payload[h] = 0;
			s->acquired[h] = 0;
		}
		for (h = 0; h < EXR_HOLDERS; h++)
			exr_thread_start(test, exr_holder_main, s);

		/* Let them get going: some will be inside when we begin. */
		deadline = jiffies + 2 * HZ;
		while (atomic_read(&s->sections) < 20 + round % 7 &&
		       time_before(jiffies, deadline))
			usleep_range(20, 60);
		if (atomic_read(&s->inside))
			raced++;

		ret = exr_do_wait(fam, s->ref, kind, 60 * HZ);
		/* Nothing between the return and these reads. */
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&s->inside), 0,
				    "round %u: %s returned with holders inside",
				    round, exr_wait_names[kind]);
		seen = 0;
		for (h = 0; h < EXR_HOLDERS; h++)
			seen += READ_ONCE(obj->payload[h]);
		/* Pairs with the holders' smp_load_acquire(): see there. */
		smp_store_release(&s->owner_returned, 1);
		KUNIT_EXPECT_EQ(test, ret > 0, kind == EXR_WAIT_TIMEOUT);

		if (!exr_join_all(test))
			return;
		acquired = 0;
		refused = 0;
		for (h = 0; h < EXR_HOLDERS; h++) {
			acquired += s->acquired[h];
			refused += s->refused[h];
		}
		KUNIT_EXPECT_EQ_MSG(test, seen, acquired,
				    "round %u: the owner saw %lu of %lu writes",
				    round, seen, acquired);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&s->late_acquire), 0,
				    "round %u: acquired after the wait returned",
				    round);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&s->early_return), 0,
				    "round %u: a holder was inside when the wait returned",
				    round);
		KUNIT_EXPECT_GE(test, refused, (unsigned long)EXR_HOLDERS * 8);
		EXR_EXPECT_MISUSES(test, 0);
		if (READ_ONCE(test->status) == KUNIT_FAILURE)
			return;

		/* Next round: the holders must not see the old "returned". */
		WRITE_ONCE(s->owner_returned, 0);
		fam->reinit(s->ref);
		EXR_EXPECT_MISUSES(test, 0);
	}
	/* The owner began with holders inside in enough rounds to matter. */
	KUNIT_EXPECT_GE(test, raced, rounds / 4);
	kunit_info(test, "%u of %u rounds began the wait with holders inside\n",
		   raced, rounds);
}

#define EXR_RELEASERS	3

struct exr_release_race {
	const struct exr_family *fam;
	struct exr_obj *obj;
	void *ref;
	unsigned int round;
	atomic_t holding;
	/* go[k]: the releaser k-th in line may drop its protection */
	struct completion go[EXR_RELEASERS];
};

#define EXR_PAYLOAD(round, h)	(0x5eed0000UL + (round) * EXR_HOLDERS + (h))

/*
 * Take protection before the owner waits; when its turn comes, dawdle,
 * write, and release. The turns rotate with the round, so that each
 * releaser is the last one in some rounds, and the last one dawdles after
 * the others are gone: a wait that returned before the final release would
 * find its write missing. After its final release the object may already
 * be gone, so this touches only struct exr_release_race from then on.
 */
static void exr_releaser_main(struct exr_thread *t)
{
	struct exr_release_race *r = t->arg;
	const struct exr_family *fam = r->fam;
	struct exr_obj *obj = r->obj;
	void *ref = r->ref;
	unsigned int h = t->id, round = r->round, i;
	unsigned int turn = (h + round) % EXR_RELEASERS;
	bool got;

	switch (h) {
	case 0:
		got = fam->acquire(ref);
		break;
	case 1:
		got = fam->acquire_many(ref, 2);
		break;
	default:
		got = fam->acquire_many(ref, 3);
		break;
	}
	if (got)
		atomic_inc(&r->holding);
	complete(&t->ready);
	wait_for_completion(&r->go[turn]);
	if (!got)
		goto next;

	for (i = 0; i <= round % 3; i++)
		exr_relax(round + i);
	switch (h) {
	case 0:
		WRITE_ONCE(obj->payload[h], EXR_PAYLOAD(round, h));
		fam->release(ref);
		break;
	case 1:
		/* Still protected by the second one: the wait must not end. */
		fam->release(ref);
		exr_relax(round);
		WRITE_ONCE(obj->payload[h], EXR_PAYLOAD(round, h));
		fam->release(ref);
		break;
	default:
		WRITE_ONCE(obj->payload[h], EXR_PAYLOAD(round, h));
		fam->release_many(ref, 3);
		break;
	}
next:
	if (turn + 1 < EXR_RELEASERS)
		complete(&r->go[turn + 1]);
}

/*
 * The owner frees the object that holds the reference the moment the wait
 * returns, while the releasers are still on their way out. A release that
 * touched the reference after the final decrement would be a use after
 * free: KASAN reports it where it is enabled; elsewhere the reference is
 * filled with a canary instead of freed, and must be intact once every
 * releaser is gone.
 */
static void ex_rundown_test_free_on_wait(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	const bool kasan = IS_ENABLED(CONFIG_KASAN);
	struct exr_release_race *r;
	struct exr_thread *t[EXR_RELEASERS];
	unsigned int round, rounds = 150, h;
	size_t off = exr_ref_offset(fam);
	u8 *canary = NULL;

	r = exr_shared_alloc(test, sizeof(*r));
	if (!kasan) {
		canary = kunit_kmalloc(test, fam->size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, canary);
		memset(canary, 0xa5, fam->size);
	}

	for (round = 0; round < rounds; round++) {
		enum exr_wait_kind kind = round % EXR_NR_WAIT_KINDS;
		struct exr_obj *obj = exr_new_obj(test);
		unsigned long bad = 0;

		r->fam = fam;
		r->obj = obj;
		r->ref = exr_obj_ref(fam, obj);
		r->round = round;
		atomic_set(&r->holding, 0);
		for (h = 0; h < EXR_RELEASERS; h++)
			init_completion(&r->go[h]);
		for (h = 0; h < EXR_RELEASERS; h++)
			t[h] = exr_thread_start(test, exr_releaser_main, r);
		for (h = 0; h < EXR_RELEASERS; h++)
			wait_for_completion(&t[h]->ready);
		KUNIT_EXPECT_EQ(test, atomic_read(&r->holding), EXR_RELEASERS);

		/* The first release may come before the wait begins, or after. */
		complete(&r->go[0]);
		exr_do_wait(fam, r->ref, kind, 60 * HZ);
		for (h = 0; h < EXR_RELEASERS; h++)
			if (READ_ONCE(obj->payload[h]) != EXR_PAYLOAD(round, h))
				bad++;
		if (kasan) {
			exr_free_obj(test, obj, true);
		} else {
			exr_free_obj(test, obj, false);
			memcpy((u8 *)obj + off, canary, fam->size);
		}

		if (!exr_join_all(test))
			return;
		KUNIT_EXPECT_EQ_MSG(test, bad, 0UL,
				    "round %u: %s returned before %lu write(s) under protection",
				    round, exr_wait_names[kind], bad);
		if (!kasan) {
			KUNIT_EXPECT_EQ_MSG(test,
					    memcmp((u8 *)obj + off, canary, fam->size), 0,
					    "round %u: the reference was written after the wait returned",
					    round);
			exr_free_obj(test, obj, true);
		}
		EXR_EXPECT_MISUSES(test, 0);
		if (READ_ONCE(test->status) == KUNIT_FAILURE)
			return;
	}
}

/* Every case but the static initialisers runs once per family. */
#define EXR_CASE(fn)		KUNIT_CASE_PARAM(fn, exr_family_gen_params)

static struct kunit_case ex_rundown_test_cases[] = {
	EXR_CASE(ex_rundown_test_init),
	KUNIT_CASE(ex_rundown_test_define),
	KUNIT_CASE(ex_rundown_test_bookkeeping),
	EXR_CASE(ex_rundown_test_acquire_release),
	EXR_CASE(ex_rundown_test_acquire_many_zero),
	EXR_CASE(ex_rundown_test_acquire_many_one),
	EXR_CASE(ex_rundown_test_acquire_many_large),
	EXR_CASE(ex_rundown_test_acquire_many_overflow),
	EXR_CASE(ex_rundown_test_release_unheld),
	EXR_CASE(ex_rundown_test_release_many_excess),
	EXR_CASE(ex_rundown_test_release_after_completed),
	EXR_CASE(ex_rundown_test_reinit_held),
	EXR_CASE(ex_rundown_test_reinit_idle),
	EXR_CASE(ex_rundown_test_reinit_during_wait),
	EXR_CASE(ex_rundown_test_completed),
	EXR_CASE(ex_rundown_test_completed_held),
	EXR_CASE(ex_rundown_test_state_machine),
	EXR_CASE(ex_rundown_test_wait_idle),
	EXR_CASE(ex_rundown_test_acquire_fails_draining),
	EXR_CASE(ex_rundown_test_wait_concurrent),
	EXR_CASE(ex_rundown_test_wait_timeout),
	EXR_CASE(ex_rundown_test_wait_timeout_woken),
	EXR_CASE(ex_rundown_test_wait_killable),
	EXR_CASE(ex_rundown_test_wait_killable_killed),
	EXR_CASE(ex_rundown_test_irq_acquire_release),
	EXR_CASE(ex_rundown_test_irq_release_wakes),
	EXR_CASE(ex_rundown_test_irq_completed_races_acquire),
	EXR_CASE(ex_rundown_test_irq_release_unheld),
	EXR_CASE(ex_rundown_test_stress_wait),
	EXR_CASE(ex_rundown_test_free_on_wait),
	{}
};

static struct kunit_suite ex_rundown_test_suite = {
	.name = "ex_rundown",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_test_cases,
};

kunit_test_suite(ex_rundown_test_suite);

MODULE_DESCRIPTION("KUnit tests for run-down protection (ex_rundown)");
MODULE_LICENSE("GPL");
