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
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait_bit.h>

#include <ex_rundown_pcpu.h>

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
 *	a holder of a protection it took (NULL if the family has no such call)
 * @wait: ..._wait()
 * @wait_killable: ..._wait_killable()
 * @wait_timeout: ..._wait_timeout()
 * @completed: ..._completed()
 * @reinit: ..._reinit()
 * @read_count: exact holder count, or NULL if the family cannot tell
 * @is_draining: has a run-down begun, or NULL if the family cannot tell
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

static atomic_long_t *exr_core_word(void *ref)
{
	return &((struct ex_rundown_ref *)ref)->count;
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

static atomic_long_t *exr_pcpu_word(void *ref)
{
	return &((struct ex_rundown_pcpu *)ref)->count;
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
		.word = exr_core_word,
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
		.word = exr_pcpu_word,
		.word_drained = 0,
		.word_held = 1,
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
	EXR_IRQ_RELEASE_ONE,	/* drop one protection taken in process context */
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

/* A waiter, created but not yet running (it may be bound to a CPU first). */
static struct exr_thread *exr_create_waiter(struct kunit *test,
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

static struct exr_thread *exr_start_waiter(struct kunit *test, void *ref,
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
static bool exr_until_asleep(struct exr_thread *t, unsigned int ms)
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

/*
 * Up to @n online CPUs other than the caller's, into @cpus: for workers that
 * spin, while the caller stays on its own (migrate_disable()). Returns how
 * many there are.
 */
static unsigned int exr_other_cpus(int *cpus, unsigned int n)
{
	int self = raw_smp_processor_id(), cpu;
	unsigned int found = 0;

	for_each_online_cpu(cpu) {
		if (found == n)
			break;
		if (cpu != self)
			cpus[found++] = cpu;
	}
	return found;
}

/*
 * A short delay that varies with @n, for threads that must start an
 * operation close together. Not cpu_relax(): QEMU's TCG (x86_64 KUnit)
 * leaves its CPU loop on every PAUSE to let another vCPU run, which makes
 * each one cost microseconds, more than the windows these threads race for.
 */
static void exr_spin(unsigned int n)
{
	while (n--)
		barrier();
}

/*
 * Wait for @round to be posted at @at (an acquire: what was written before
 * it is seen), spinning without cpu_relax() (see exr_spin()) so that the
 * threads that spin on one @at start together. False if the thread must
 * stop instead.
 */
static bool exr_spin_for_round(struct exr_thread *t, unsigned int *at,
			       unsigned int seen, unsigned int *round)
{
	unsigned long spins = 0;

	for (;;) {
		/* Pairs with the smp_store_release() that posts the round. */
		*round = smp_load_acquire(at);
		if (*round != seen)
			return true;
		if (!(++spins % 1024)) {
			if (exr_stopping(t))
				return false;
			cond_resched();
		}
	}
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

/*
 * Releasing more than is held takes what is held: the holder count never
 * goes below zero, the excess is reported once, and a wait then returns at
 * once. The shared-counter family catches the excess at the release, the
 * per-CPU family when a wait sums its counters. A count nobody can hold,
 * with nothing held, is one misuse and changes nothing.
 */
static void ex_rundown_test_release_many_excess(struct kunit *test)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
		if (fam->read_count)
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
	void *ref = exr_new_ref(test);
	struct exr_thread *w;

	KUNIT_ASSERT_TRUE(test, fam->acquire(ref));
	exr_hand_off(fam, ref, 1);
	KUNIT_EXPECT_EQ(test, fam->wait_timeout(ref, 1), 0L);
	fam->release_many(ref, 2);
	EXR_EXPECT_MISUSES(test, 1);
	if (fam->read_count)
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
	case EXR_IRQ_RELEASE_ONE:
		fam->release(irq->ref);
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
		irq = exr_irq_start(test, ref, EXR_IRQ_RELEASE_ONE,
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

/* ------------------------------------------------------------------ */
/* Releases of more than is held, racing with the real holder's.      */

/* How long an interrupt holds a racing thread up, at most. */
#define EXR_HOLD_UP_US		500

enum exr_race_role { EXR_RACE_M, EXR_RACE_H, EXR_RACE_W, EXR_RACE_ROLES };

enum exr_race_kind {
	EXR_RACE_IDLE,		/* no run-down */
	EXR_RACE_DRAINING,	/* a timed-out wait began it */
	EXR_RACE_WAITER,	/* and a waiter is asleep in it */
	EXR_NR_RACE_KINDS,
};

static const char * const exr_race_kind_names[EXR_NR_RACE_KINDS] = {
	[EXR_RACE_IDLE] = "idle",
	[EXR_RACE_DRAINING] = "draining",
	[EXR_RACE_WAITER] = "with a waiter",
};

/* Round @round's kind, and whether M is held up in it. */
static enum exr_race_kind exr_race_kind(unsigned int round)
{
	return round % EXR_NR_RACE_KINDS;
}

static bool exr_race_held(unsigned int round)
{
	return round / EXR_NR_RACE_KINDS % 2;
}

/*
 * One round: the reference has one holder; M, which holds nothing,
 * releases two protections while H, the holder, releases its own. Both
 * spin on @go, on CPUs of their own, so that they start together. In the
 * "held" rounds, M instead releases two again and again until an interrupt
 * on its CPU holds it up, wherever it was, and H releases while M is held
 * (a vCPU that QEMU runs late or the host deschedules does the same
 * unasked). W, the owner, waits in the rounds that have a waiter, and
 * when its wait returns frees the object, as an owner may: here it puts a
 * drained count back over the reference, so that a later write shows.
 */
struct exr_race {
	const struct exr_family *fam;
	void *ref;
	unsigned int go;		/* the round M and H may run */
	unsigned int w_round;		/* the round W is to wait in */
	unsigned int done[EXR_RACE_ROLES];	/* the last round each finished */
	unsigned int began[EXR_RACE_ROLES];	/* M, H: began their release */
	unsigned int held_up;		/* the round M's interrupt came in */
	unsigned long m_calls;		/* M's releases of two, this round */
	struct hrtimer timer;		/* on M's CPU */
	struct completion w_go;		/* W: wait in round @w_round */
	unsigned int w_entered;		/* W: the round it is waiting in */
	long w_ret;			/* what W's wait returned */
	bool w_after_both;		/* W returned after M and H began */
	long w_word;			/* the word W found when it returned */
};

static enum hrtimer_restart exr_race_hold_up(struct hrtimer *timer)
{
	struct exr_race *r = container_of(timer, struct exr_race, timer);
	unsigned int round = READ_ONCE(r->go), us;

	WRITE_ONCE(r->held_up, round);
	for (us = 0; us < EXR_HOLD_UP_US; us++) {
		/* Pairs with H's smp_store_release(): H has released. */
		if (smp_load_acquire(&r->done[EXR_RACE_H]) == round)
			break;
		udelay(1);
	}
	return HRTIMER_NORESTART;
}

/* M: release two, in a held round until the interrupt has come. */
static void exr_race_release_two(struct exr_race *r, unsigned int round)
{
	unsigned long deadline = jiffies + HZ / 10, calls = 0;
	bool held = exr_race_held(round);

	if (held)
		hrtimer_start(&r->timer,
			      ns_to_ktime((2 + round / 6 % 16) * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_PINNED_HARD);
	do {
		r->fam->release_many(r->ref, 2);
		calls++;
	} while (held && READ_ONCE(r->held_up) != round &&
		 time_before(jiffies, deadline));
	if (held)
		hrtimer_cancel(&r->timer);
	r->m_calls = calls;
}

static void exr_race_releaser_main(struct exr_thread *t)
{
	struct exr_race *r = t->arg;
	unsigned int role = t->id, seen = 0, round;

	while (exr_spin_for_round(t, &r->go, seen, &round)) {
		unsigned long deadline = jiffies + HZ / 10;

		seen = round;
		if (!exr_race_held(round)) {
			/* Vary who comes first, and by how much: H -12 to +62. */
			exr_spin(role == EXR_RACE_M ? round % 4 * 4 :
				 round / 4 % 32 * 2);
		} else if (role == EXR_RACE_H) {
			while (READ_ONCE(r->held_up) != round &&
			       time_before(jiffies, deadline))
				barrier();
		}
		WRITE_ONCE(r->began[role], round);
		/* Began, then released: pairs with the owner's smp_mb(). */
		smp_mb();
		if (role == EXR_RACE_M)
			exr_race_release_two(r, round);
		else
			r->fam->release(r->ref);
		/* Pairs with exr_race_done() and the hold-up: released. */
		smp_store_release(&r->done[role], round);
	}
}

static void exr_race_owner_main(struct exr_thread *t)
{
	struct exr_race *r = t->arg;
	const struct exr_family *fam = r->fam;
	unsigned int round;

	for (;;) {
		wait_for_completion(&r->w_go);
		if (exr_stopping(t))
			return;
		round = READ_ONCE(r->w_round);
		WRITE_ONCE(r->w_entered, round);
		r->w_ret = fam->wait_timeout(r->ref, HZ / 4);
		/* Returned, then looks: pairs with the releasers' smp_mb(). */
		smp_mb();
		r->w_after_both = READ_ONCE(r->began[EXR_RACE_M]) == round &&
				  READ_ONCE(r->began[EXR_RACE_H]) == round;
		/* The owner frees the object at once. */
		if (r->w_ret)
			r->w_word = atomic_long_xchg(fam->word(r->ref),
						     fam->word_drained);
		/* Pairs with exr_race_done(): what it found first. */
		smp_store_release(&r->done[EXR_RACE_W], round);
	}
}

/* Have M, H and (in a round with a waiter) W finished @round? */
static bool exr_race_done(struct exr_race *r, unsigned int round,
			  bool waiter)
{
	unsigned int role;

	for (role = 0; role < EXR_RACE_ROLES; role++) {
		if (role == EXR_RACE_W && !waiter)
			break;
		/* Pairs with their smp_store_release(): see what they did. */
		if (smp_load_acquire(&r->done[role]) != round)
			return false;
	}
	return true;
}

/*
 * Finding 1 of issue 10: releases of two protections by a task that holds
 * none, racing with the one holder's release. The rule: a release takes at
 * most what is held (the count never goes below zero), reports the excess
 * once, and the release that leaves nothing held ends the run-down. So
 * after every round the count is exactly zero, never one phantom holder
 * that nobody will release, and a wait returns at once.
 *
 * With a waiter asleep, its wait must return, and nothing may write the
 * reference after it has: the owner frees it then. Writes by a call that
 * began after the free are the caller's (a use after free), not the
 * library's, so the reference is checked only in the rounds where M and H
 * both began before it. The memory a real free would hand to someone else
 * holds here the drained count, on which a late release finds nothing to
 * take.
 *
 * Misuses: each of M's releases is one. H's is one more when M took H's
 * protection first, which nothing can tell from the other order. The
 * per-CPU family reports the excess of idle rounds once, at the wait that
 * sums the counters.
 *
 * Needs two CPUs: on one, ex_rundown_test_irq_release_excess does the
 * same. Rounds are bounded by count and by time (2.5 s); each costs the
 * per-CPU family a grace period.
 */
static void ex_rundown_test_release_excess_race(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	unsigned int rounds[EXR_NR_RACE_KINDS][2] = {};
	unsigned int phantom[EXR_NR_RACE_KINDS][2] = {};
	unsigned int hung = 0, at_return = 0, after_return = 0, not_held = 0;
	unsigned int misuse_off = 0, stuck = 0, round, i;
	unsigned long end = jiffies + 5 * HZ / 2;
	struct exr_thread *t[EXR_RACE_ROLES];
	enum exr_race_kind kind;
	long bad_word = 0;
	struct exr_race *r;
	int cpus[2];

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU: see ex_rundown_test_irq_release_excess");
	KUNIT_ASSERT_EQ(test, ctx->nthreads, 0U);

	r = exr_shared_alloc(test, sizeof(*r));
	r->fam = fam;
	r->ref = exr_new_ref(test);
	init_completion(&r->w_go);
	hrtimer_init(&r->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	r->timer.function = exr_race_hold_up;
	t[EXR_RACE_M] = exr_thread_create(test, exr_race_releaser_main, r);
	t[EXR_RACE_H] = exr_thread_create(test, exr_race_releaser_main, r);
	t[EXR_RACE_W] = exr_thread_create(test, exr_race_owner_main, r);

	/* M and H on CPUs of their own if there are three; W on this one. */
	migrate_disable();
	if (exr_other_cpus(cpus, 2) < 2)
		cpus[1] = raw_smp_processor_id();
	kthread_bind(t[EXR_RACE_M]->task, cpus[0]);
	kthread_bind(t[EXR_RACE_H]->task, cpus[1]);
	kthread_bind(t[EXR_RACE_W]->task, raw_smp_processor_id());
	for (i = 0; i < EXR_RACE_ROLES; i++)
		exr_thread_run(t[i]);

	for (round = 1; round <= 30000 && time_before(jiffies, end); round++) {
		bool held = exr_race_held(round), per_release;
		unsigned long m, calls;
		void *ref = r->ref;
		long word;

		kind = exr_race_kind(round);
		per_release = kind != EXR_RACE_IDLE ||
			      (fam->flags & EXR_F_CHECKS_UNDERFLOW);
		if (round > 1)
			fam->reinit(ref);
		if (!fam->acquire(ref)) {
			KUNIT_FAIL(test, "round %u: acquire refused", round);
			break;
		}
		exr_hand_off(fam, ref, 1);
		if (kind != EXR_RACE_IDLE &&
		    fam->wait_timeout(ref, 0) != 0) {
			KUNIT_FAIL(test, "round %u: drained with a holder", round);
			break;
		}
		ctx->misuse_seen = ex_rundown_misuse_count();
		if (kind == EXR_RACE_WAITER) {
			WRITE_ONCE(r->w_round, round);
			complete(&r->w_go);
			if (!exr_poll(READ_ONCE(r->w_entered) == round &&
				      !task_is_running(t[EXR_RACE_W]->task),
				      1000)) {
				stuck++;
				break;
			}
		}

		/* Pairs with the releasers' smp_load_acquire(). */
		smp_store_release(&r->go, round);
		if (!exr_poll(exr_race_done(r, round, kind == EXR_RACE_WAITER),
			      2000)) {
			stuck++;
			break;
		}
		rounds[kind][held]++;
		if (held && READ_ONCE(r->held_up) != round)
			not_held++;
		calls = r->m_calls;

		word = atomic_long_read(fam->word(ref));
		if (kind == EXR_RACE_WAITER) {
			if (!r->w_ret)
				hung++;
			else if (r->w_after_both && r->w_word != fam->word_drained)
				at_return++;
			else if (r->w_after_both && word != fam->word_drained)
				after_return++;
		}

		if (fam->read_count(ref) ||
		    fam->wait_timeout(ref, 1) <= 0 ||
		    atomic_long_read(fam->word(ref)) != fam->word_drained) {
			bad_word = word;
			phantom[kind][held]++;
			/* Drop the phantom, so that the next round is exact. */
			fam->release_many(ref, fam->read_count(ref));
			if (fam->wait_timeout(ref, 1) <= 0) {
				KUNIT_FAIL(test, "round %u: cannot drain: %lu held",
					   round, fam->read_count(ref));
				break;
			}
		}
		m = ex_rundown_misuse_count() - ctx->misuse_seen;
		ctx->misuse_seen += m;
		if (per_release ? m < calls || m > calls + 1 : m != 1)
			misuse_off++;
	}
	migrate_enable();

	WRITE_ONCE(ctx->stop, true);
	complete(&r->w_go);
	if (!exr_join_all(test))
		return;

	KUNIT_EXPECT_EQ_MSG(test, stuck, 0U, "a releaser or the waiter got stuck");
	for (kind = 0; kind < EXR_NR_RACE_KINDS; kind++)
		KUNIT_EXPECT_EQ_MSG(test, phantom[kind][0] + phantom[kind][1], 0U,
				    "%s: a phantom holder left in %u of %u rounds started together, %u of %u held (last word %#lx)",
				    exr_race_kind_names[kind], phantom[kind][0],
				    rounds[kind][0], phantom[kind][1],
				    rounds[kind][1], bad_word);
	KUNIT_EXPECT_EQ_MSG(test, hung, 0U,
			    "%u of %u waits did not return", hung,
			    rounds[EXR_RACE_WAITER][0] + rounds[EXR_RACE_WAITER][1]);
	KUNIT_EXPECT_EQ_MSG(test, at_return, 0U,
			    "%u waits returned while a release was still to change the count",
			    at_return);
	KUNIT_EXPECT_EQ_MSG(test, after_return, 0U,
			    "%u times the reference was written after the wait returned",
			    after_return);
	KUNIT_EXPECT_EQ_MSG(test, misuse_off, 0U,
			    "rounds whose misuses were not one per excess release (plus H's)");
	kunit_info(test, "%u+%u idle, %u+%u draining, %u+%u waiter rounds (together+held; %u not held up)\n",
		   rounds[EXR_RACE_IDLE][0], rounds[EXR_RACE_IDLE][1],
		   rounds[EXR_RACE_DRAINING][0], rounds[EXR_RACE_DRAINING][1],
		   rounds[EXR_RACE_WAITER][0], rounds[EXR_RACE_WAITER][1],
		   not_held);
}

/* ------------------------------------------------------------------ */
/* ex_rundown_pcpu_exit() racing with acquires.                       */

#define EXR_EXIT_RACERS		3

struct exr_exit_race;

struct exr_exit_racer {
	struct hrtimer timer;		/* on the racer's CPU */
	struct exr_exit_race *x;
	unsigned int me;
};

/*
 * Each round one racer, on a CPU of its own, takes and drops protection on
 * @ref until it is refused, and an interrupt on its CPU holds it up,
 * wherever it was, until the test thread has run @ref down with
 * completed(), freed it with exit() and allocated a canary in its place.
 * The racers take turns, so that every CPU gets its go; one at a time,
 * because a second one still holding protection when exit() looks sends
 * exit() down its path for references with holders, which is safe.
 */
struct exr_exit_race {
	struct ex_rundown_pcpu ref;
	unsigned int nracers;
	unsigned int round;		/* the round the racers may run */
	unsigned int canary_round;	/* the round whose canary is in place */
	unsigned int running[EXR_EXIT_RACERS];	/* in that round, acquiring */
	unsigned int held_up[EXR_EXIT_RACERS];	/* its interrupt is spinning */
	unsigned int paused[EXR_EXIT_RACERS];	/* refused: done with it */
	unsigned long acquired[EXR_EXIT_RACERS];
	struct exr_exit_racer racer[EXR_EXIT_RACERS];
};

static enum hrtimer_restart exr_exit_hold_up(struct hrtimer *timer)
{
	struct exr_exit_racer *rc = container_of(timer, struct exr_exit_racer,
						 timer);
	struct exr_exit_race *x = rc->x;
	unsigned int round = READ_ONCE(x->round), us;

	WRITE_ONCE(x->held_up[rc->me], round);
	for (us = 0; us < EXR_HOLD_UP_US; us++) {
		if (READ_ONCE(x->canary_round) == round)
			break;
		udelay(1);
	}
	return HRTIMER_NORESTART;
}

static void exr_exit_racer_main(struct exr_thread *t)
{
	struct exr_exit_race *x = t->arg;
	unsigned int me = t->id, seen = 0, round;
	struct exr_exit_racer *rc = &x->racer[me];
	unsigned long got = 0;

	while (exr_spin_for_round(t, &x->round, seen, &round)) {
		seen = round;
		if (round % x->nracers != me) {
			WRITE_ONCE(x->running[me], round);
			/* Pairs with exr_exit_racers(). */
			smp_store_release(&x->paused[me], round);
			continue;
		}
		hrtimer_start(&rc->timer,
			      ns_to_ktime((2 + round / x->nracers % 16) * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_PINNED_HARD);
		WRITE_ONCE(x->running[me], round);
		/* Once refused, no acquire or release of ours is under way. */
		while (ex_rundown_pcpu_acquire(&x->ref)) {
			got++;
			ex_rundown_pcpu_release(&x->ref);
		}
		hrtimer_cancel(&rc->timer);
		/* Pairs with exr_exit_racers(): our last release first. */
		smp_store_release(&x->paused[me], round);
	}
	x->acquired[me] = got;
}

/* Are all racers running in @round, or have they all paused? */
static bool exr_exit_racers(struct exr_exit_race *x, unsigned int round,
			    bool paused)
{
	unsigned int i;

	for (i = 0; i < x->nracers; i++) {
		/* Pairs with the racer's smp_store_release(). */
		if (paused ? smp_load_acquire(&x->paused[i]) != round :
			     READ_ONCE(x->running[i]) != round)
			return false;
	}
	return true;
}

/*
 * Finding 3 of issue 10: completed() does not wait for acquires already
 * under way (it must not sleep), and such an acquire may still succeed.
 * exit() must therefore not free the per-CPU counters until those acquires
 * are done, or one of them adds to memory that is no longer its own. Each
 * round frees the counters while the racers hammer them, and at once
 * allocates a canary of the counters' size and alignment, which the per-CPU
 * allocator tends to place where they were: once the racers have stopped,
 * it must still read zero on every CPU.
 *
 * The racer must be caught between its acquire's read of the reference and
 * its add for that: a few instructions. The interrupt that holds it up
 * while the test thread runs completed() and exit() and allocates the
 * canary (for at most EXR_HOLD_UP_US: an exit() that waits for a grace
 * period waits for the interrupt too) lands in that window in about one
 * round in ten.
 *
 * Late holders are legal (the kernel-doc of completed() says so), and so is
 * completed() finding a holder, or exit() finding one that it waited for:
 * each is one misuse, and the late holder's release then stays balanced.
 * So a round reports at most two misuses; more means that a release was
 * refused.
 */
static void ex_rundown_test_pcpu_exit_races_acquire(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	size_t align = max_t(size_t, EX_RUNDOWN_PCPU_FLAGS + 1,
			     __alignof__(unsigned long));
	unsigned int written = 0, reused = 0, misuse_off = 0, stuck = 0;
	unsigned int held_up = 0, round, rounds = 0, nracers, found, i;
	unsigned long end = jiffies + 3 * HZ, misuses = 0, acquired = 0;
	unsigned long bad_val = 0;
	struct exr_thread *t[EXR_EXIT_RACERS];
	int cpus[EXR_EXIT_RACERS], cpu, bad_cpu = -1;
	struct exr_exit_race *x;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU: nothing can be under way in an acquire");
	KUNIT_ASSERT_EQ(test, ctx->nthreads, 0U);

	/* One racer on each other CPU, up to EXR_EXIT_RACERS. */
	nracers = min(num_online_cpus() - 1, (unsigned int)EXR_EXIT_RACERS);
	x = exr_shared_alloc(test, sizeof(*x));
	x->nracers = nracers;
	for (i = 0; i < nracers; i++) {
		x->racer[i].x = x;
		x->racer[i].me = i;
		hrtimer_init(&x->racer[i].timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED_HARD);
		x->racer[i].timer.function = exr_exit_hold_up;
		t[i] = exr_thread_create(test, exr_exit_racer_main, x);
	}
	migrate_disable();
	found = exr_other_cpus(cpus, nracers);
	for (i = 0; i < nracers; i++) {
		kthread_bind(t[i]->task, found ? cpus[i % found] :
				   raw_smp_processor_id());
		exr_thread_run(t[i]);
	}

	for (round = 1; round <= 20000 && time_before(jiffies, end); round++) {
		unsigned long __percpu *slots, *canary;
		unsigned long m;

		if (ex_rundown_pcpu_init(&x->ref, GFP_KERNEL)) {
			KUNIT_FAIL(test, "round %u: ex_rundown_pcpu_init failed", round);
			break;
		}
		slots = __ex_rundown_pcpu_slots(READ_ONCE(x->ref.state));
		ctx->misuse_seen = ex_rundown_misuse_count();
		/* Pairs with the racers' smp_load_acquire(). */
		smp_store_release(&x->round, round);
		if (!exr_poll(exr_exit_racers(x, round, false), 1000)) {
			stuck++;
			break;
		}
		if (exr_poll(READ_ONCE(x->held_up[round % nracers]) == round, 5))
			held_up++;

		ex_rundown_pcpu_completed(&x->ref);
		ex_rundown_pcpu_exit(&x->ref);
		canary = __alloc_percpu_gfp(sizeof(*canary), align, GFP_KERNEL);
		WRITE_ONCE(x->canary_round, round);
		if (!canary) {
			KUNIT_FAIL(test, "round %u: no memory for the canary", round);
			break;
		}
		if (canary == slots)
			reused++;

		if (!exr_poll(exr_exit_racers(x, round, true), 2000)) {
			/* A racer may still write it: leak the canary. */
			stuck++;
			break;
		}
		rounds++;
		for_each_possible_cpu(cpu) {
			unsigned long v = READ_ONCE(*per_cpu_ptr(canary, cpu));

			if (v) {
				bad_cpu = cpu;
				bad_val = v;
				written++;
				break;
			}
		}
		free_percpu(canary);
		m = ex_rundown_misuse_count() - ctx->misuse_seen;
		ctx->misuse_seen += m;
		misuses += m;
		if (m > 2)
			misuse_off++;
	}
	migrate_enable();

	WRITE_ONCE(ctx->stop, true);
	if (!exr_join_all(test))
		return;
	for (i = 0; i < nracers; i++)
		acquired += x->acquired[i];

	KUNIT_EXPECT_EQ_MSG(test, stuck, 0U, "a racer did not pause");
	KUNIT_EXPECT_EQ_MSG(test, written, 0U,
			    "freed counters written after exit() in %u of %u rounds (CPU %d: %#lx)",
			    written, rounds, bad_cpu, bad_val);
	KUNIT_EXPECT_EQ_MSG(test, misuse_off, 0U,
			    "%u rounds reported more than two misuses: a late holder's release was refused",
			    misuse_off);
	kunit_info(test, "%u rounds (%u held up), %u racers, %lu acquires, %lu misuses, canary in place in %u\n",
		   rounds, held_up, nracers, acquired, misuses, reused);
}

/* ------------------------------------------------------------------ */
/* Waiters that were woken but have not run yet.                      */

/*
 * Rescue a waiter that slept on where it should have returned, so that
 * the case fails instead of leaving it behind: whatever the reference
 * says now, make it drained and wake the waiters. True if it then went.
 */
static bool exr_rescue_waiter(struct kunit *test, void *ref,
			      struct exr_thread *w)
{
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;

	atomic_long_set(fam->word(ref), fam->word_drained);
	wake_up_var(ref);
	return exr_thread_join(w, EXR_JOIN_MS);
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
	const struct exr_family *fam = ((struct exr_ctx *)test->priv)->fam;
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
			/* Run down again, so that it wakes and finds it drained. */
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
	EXR_CASE(ex_rundown_test_release_many_excess_draining),
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
	EXR_CASE(ex_rundown_test_irq_release_excess),
	EXR_CASE(ex_rundown_test_stress_wait),
	EXR_CASE(ex_rundown_test_free_on_wait),
	EXR_CASE(ex_rundown_test_release_excess_race),
	KUNIT_CASE(ex_rundown_test_pcpu_exit_races_acquire),
	EXR_CASE(ex_rundown_test_reinit_woken_waiter),
	EXR_CASE(ex_rundown_test_waiters_after_free),
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
