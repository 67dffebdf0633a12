// SPDX-License-Identifier: GPL-2.0
/*
 * The harness of the ex_rundown KUnit suites (kunit/ex_rundown_test.h says
 * what they share): the two families as tables, the per-case context,
 * workers, waiters, and the checks of a reference's state through its
 * behaviour. Also the one kunit_test_suites() of all the suites, which
 * are spread over several files of one module.
 */

#include <linux/align.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "ex_rundown_test.h"

/*
 * exr_<tag>_<op>() calls <prefix>_<op>() of a family for every op but
 * init and exit, and EXR_FAMILY_OPS(tag) names them in its table.
 */
#define EXR_FAMILY(tag, prefix, type)					\
static bool exr_##tag##_acquire(void *ref)				\
{									\
	return prefix##_acquire(ref);					\
}									\
static bool exr_##tag##_acquire_many(void *ref, unsigned long count)	\
{									\
	return prefix##_acquire_many(ref, count);			\
}									\
static void exr_##tag##_release(void *ref)				\
{									\
	prefix##_release(ref);						\
}									\
static void exr_##tag##_release_many(void *ref, unsigned long count)	\
{									\
	prefix##_release_many(ref, count);				\
}									\
static void exr_##tag##_hand_off(void *ref)				\
{									\
	prefix##_hand_off(ref);						\
}									\
static void exr_##tag##_wait(void *ref)					\
{									\
	prefix##_wait(ref);						\
}									\
static int exr_##tag##_wait_killable(void *ref)				\
{									\
	return prefix##_wait_killable(ref);				\
}									\
static long exr_##tag##_wait_timeout(void *ref, long timeout)		\
{									\
	return prefix##_wait_timeout(ref, timeout);			\
}									\
static void exr_##tag##_completed(void *ref)				\
{									\
	prefix##_completed(ref);					\
}									\
static void exr_##tag##_reinit(void *ref)				\
{									\
	prefix##_reinit(ref);						\
}									\
static unsigned long exr_##tag##_read_count(void *ref)			\
{									\
	return prefix##_read_count(ref);				\
}									\
static bool exr_##tag##_is_draining(void *ref)				\
{									\
	return prefix##_is_draining(ref);				\
}									\
static atomic_long_t *exr_##tag##_word(void *ref)			\
{									\
	return &((type *)ref)->count;					\
}

#define EXR_FAMILY_OPS(tag)						\
	.acquire = exr_##tag##_acquire,					\
	.acquire_many = exr_##tag##_acquire_many,			\
	.release = exr_##tag##_release,					\
	.release_many = exr_##tag##_release_many,			\
	.hand_off = exr_##tag##_hand_off,				\
	.wait = exr_##tag##_wait,					\
	.wait_killable = exr_##tag##_wait_killable,			\
	.wait_timeout = exr_##tag##_wait_timeout,			\
	.completed = exr_##tag##_completed,				\
	.reinit = exr_##tag##_reinit,					\
	.read_count = exr_##tag##_read_count,				\
	.is_draining = exr_##tag##_is_draining,				\
	.word = exr_##tag##_word

/* The shared-counter family, struct ex_rundown_ref. */
EXR_FAMILY(core, ex_rundown, struct ex_rundown_ref)

static int exr_core_init(void *ref)
{
	ex_rundown_init((struct ex_rundown_ref *)ref);
	return 0;
}

/*
 * The per-CPU family, struct ex_rundown_pcpu. It checks a release against
 * the count only once a wait has collected the per-CPU counters, hence no
 * EXR_F_CHECKS_UNDERFLOW; see src/ex_rundown_pcpu.c.
 */
EXR_FAMILY(pcpu, ex_rundown_pcpu, struct ex_rundown_pcpu)

static int exr_pcpu_init(void *ref)
{
	return ex_rundown_pcpu_init((struct ex_rundown_pcpu *)ref, GFP_KERNEL);
}

static void exr_pcpu_exit(void *ref)
{
	ex_rundown_pcpu_exit(ref);
}

const struct exr_family exr_families[EXR_NR_FAMILIES] = {
	{
		.name = "ex_rundown_ref",
		.size = sizeof(struct ex_rundown_ref),
		.align = __alignof__(struct ex_rundown_ref),
		.init = exr_core_init,
		EXR_FAMILY_OPS(core),
		.word_drained = EX_RUNDOWN_DRAINING,
		.word_held = EX_RUNDOWN_DRAINING + EX_RUNDOWN_BIAS,
		.flags = EXR_F_CHECKS_UNDERFLOW | EXR_F_CHECKS_OVERFLOW |
			 EXR_F_ATOMIC_COMPLETED,
	},
	{
		.name = "ex_rundown_pcpu",
		.size = sizeof(struct ex_rundown_pcpu),
		.align = __alignof__(struct ex_rundown_pcpu),
		.init = exr_pcpu_init,
		.exit = exr_pcpu_exit,
		EXR_FAMILY_OPS(pcpu),
		.word_drained = 0,
		.word_held = 1,
		.flags = 0,
	},
};

void exr_family_desc(const struct exr_family *fam, char *desc)
{
	strscpy(desc, fam->name, KUNIT_PARAM_DESC_SIZE);
}

const char * const exr_wait_names[EXR_NR_WAIT_KINDS] = {
	[EXR_WAIT] = "wait",
	[EXR_WAIT_KILLABLE] = "wait_killable",
	[EXR_WAIT_TIMEOUT] = "wait_timeout",
};

int exr_test_init(struct kunit *test)
{
	struct exr_ctx *ctx;

	/* Not kunit_kzalloc(): a stuck worker may outlive the case. */
	ctx = kzalloc_obj(*ctx);
	if (!ctx)
		return -ENOMEM;
	ctx->fam = test->param_value ? test->param_value : &exr_families[0];
	ctx->misuse_seen = ex_rundown_misuse_count();
	test->priv = ctx;
	return 0;
}

size_t exr_ref_offset(const struct exr_family *fam)
{
	return ALIGN(sizeof(struct exr_obj), fam->align);
}

void *exr_obj_ref(const struct exr_family *fam, struct exr_obj *obj)
{
	return (char *)obj + exr_ref_offset(fam);
}

/* A new object with an idle reference, freed by the suite's exit. */
struct exr_obj *exr_new_obj(struct kunit *test)
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

void *exr_new_ref(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;

	return exr_obj_ref(ctx->fam, exr_new_obj(test));
}

/* Tear an object down before the suite's exit would (the free tests). */
void exr_free_obj(struct kunit *test, struct exr_obj *obj, bool free)
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
void *exr_shared_alloc(struct kunit *test, size_t size)
{
	struct exr_ctx *ctx = test->priv;

	KUNIT_ASSERT_NULL(test, ctx->shared);
	ctx->shared = kzalloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->shared);
	return ctx->shared;
}

bool exr_stopping(struct exr_thread *t)
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
struct exr_thread *exr_thread_create(struct kunit *test,
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

void exr_thread_run(struct exr_thread *t)
{
	wake_up_process(t->task);
}

struct exr_thread *exr_thread_start(struct kunit *test,
				    void (*fn)(struct exr_thread *t),
				    void *arg)
{
	struct exr_thread *t = exr_thread_create(test, fn, arg);

	exr_thread_run(t);
	return t;
}

/* True if @t finished within @ms; then it is gone for good. */
bool exr_thread_join(struct exr_thread *t, unsigned int ms)
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
bool exr_join_all(struct kunit *test)
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

void exr_test_exit(struct kunit *test)
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

long exr_do_wait(const struct exr_family *fam, void *ref,
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

void exr_waiter_main(struct exr_thread *t)
{
	/* Kthreads ignore every signal unless they allow it. */
	if (t->allow_kill)
		allow_signal(SIGKILL);
	complete(&t->ready);
	t->ret = exr_do_wait(t->ctx->fam, t->ref, t->kind, t->timeout);
}

/* A waiter, created but not yet running (it may be bound to a CPU first). */
struct exr_thread *exr_create_waiter(struct kunit *test,
				     void (*fn)(struct exr_thread *t),
				     void *arg, void *ref,
				     enum exr_wait_kind kind)
{
	struct exr_thread *t = exr_thread_create(test, fn, arg);

	t->ref = ref;
	t->kind = kind;
	t->timeout = 60 * HZ;
	return t;
}

struct exr_thread *exr_start_waiter(struct kunit *test, void *ref,
				    enum exr_wait_kind kind,
				    bool allow_kill)
{
	struct exr_thread *t = exr_create_waiter(test, exr_waiter_main, NULL,
						 ref, kind);

	t->allow_kill = allow_kill;
	exr_thread_run(t);
	return t;
}

/*
 * Wait, sleeping, until a waiter that has signalled @t->ready is asleep (in
 * its wait: it sleeps nowhere else after that), or @ms passed.
 */
bool exr_until_asleep(struct exr_thread *t, unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	if (!wait_for_completion_timeout(&t->ready, msecs_to_jiffies(ms)))
		return false;
	while (task_is_running(t->task)) {
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(50, 100);
	}
	return true;
}

/*
 * Wait until acquires fail, i.e. until a waiter has begun the run-down. The
 * caller holds protection, so the probe's own release never ends it.
 */
bool exr_until_draining(const struct exr_family *fam, void *ref)
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
void exr_hand_off(const struct exr_family *fam, void *ref, unsigned long n)
{
	for (n = min(n, 8UL); n; n--)
		fam->hand_off(ref);
}

/*
 * Check that exactly @n protections are held on a reference, by its count
 * and by behaviour: @n - 1 releases leave a wait sleeping, one more ends
 * it. Leaves the reference drained.
 */
void exr_expect_held(struct kunit *test, void *ref, unsigned long n)
{
	const struct exr_family *fam = exr_fam(test);

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
bool exr_refused(const struct exr_family *fam, void *ref)
{
	if (!fam->acquire(ref))
		return true;
	fam->release(ref);
	return false;
}

bool exr_refused_many(const struct exr_family *fam, void *ref,
		      unsigned long count)
{
	if (!fam->acquire_many(ref, count))
		return true;
	fam->release_many(ref, count);
	return false;
}

/* Acquire succeeds and can be undone, without disturbing anything. */
bool exr_acquirable(const struct exr_family *fam, void *ref)
{
	if (!fam->acquire(ref))
		return false;
	fam->release(ref);
	return true;
}

void exr_expect_draining(struct kunit *test, void *ref, bool draining)
{
	const struct exr_family *fam = exr_fam(test);

	KUNIT_EXPECT_EQ(test, exr_acquirable(fam, ref), !draining);
	KUNIT_EXPECT_EQ(test, fam->is_draining(ref), draining);
}

kunit_test_suites(&ex_rundown_basic_suite, &ex_rundown_many_suite,
		  &ex_rundown_misuse_suite, &ex_rundown_wait_suite,
		  &ex_rundown_irq_suite, &ex_rundown_stress_suite,
		  &ex_rundown_guard_test_suite);

MODULE_DESCRIPTION("KUnit tests for run-down protection (ex_rundown)");
MODULE_LICENSE("GPL");
