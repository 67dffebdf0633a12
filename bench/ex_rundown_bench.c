// SPDX-License-Identifier: GPL-2.0
/*
 * ex_rundown_bench.ko: how fast is run-down protection next to what a kernel
 * developer would otherwise reach for? Modelled on kernel/rcu/refscale.c.
 *
 * Loading the module measures, in one go:
 *  - acquire+release pairs on one shared object, for ex_rundown,
 *    ex_rundown_pcpu and the alternatives (refcount_inc_not_zero +
 *    refcount_dec_and_test, percpu_ref_tryget_live + percpu_ref_put,
 *    down_read_trylock + up_read, srcu_read_lock + srcu_read_unlock, and
 *    atomic_long_inc + atomic_long_dec as the floor of a shared counter);
 *    first on one CPU, then on every online CPU at once;
 *  - the latency of a run-down (from the last release to the return of the
 *    wait) and the cost of a wait on an idle reference, for both families.
 * Each repetition measures everything once, so that a change of load on the
 * machine hits every mechanism alike.
 *
 * The module prints data, not verdicts: one "key value" line per figure,
 * after the "ex_rundown_bench: " prefix, as each is measured (a key comes
 * once per repetition), from "version" to "status" (0 on success).
 * scripts/bench.sh takes the medians, prints the tables and judges the
 * targets; a log of a run on real hardware can be given to it with --log.
 * The module then stays loaded, idle, until it is removed.
 *
 * Timing: each thread is bound to its CPU and times batches of
 * EXR_BENCH_BATCH pairs with interrupts off, with ktime_get_mono_fast_ns()
 * (as refscale does; local_clock() counts jiffies on some architectures,
 * UML among them); all threads start together after a warm-up, and keep the
 * object busy until the last one has finished, so that every measured pair
 * ran under the full contention. A thread's figure is its median batch, not
 * the sum of its batches: in a virtual machine or in UML the whole machine
 * is descheduled by its host now and then, for milliseconds, and a sum would
 * count those gaps (on a busy host, most of the time) as time spent in the
 * pairs; a median batch is one the host left alone.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu-refcount.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/wait.h>
#if defined(CONFIG_X86) && !defined(CONFIG_UML)
#ifdef EX_RUNDOWN_HAVE_ASM_CPUID_API	/* cpuid() moved there in 6.15 */
#include <asm/cpuid/api.h>
#else
#include <asm/processor.h>
#endif
#endif

#include <ex_rundown_pcpu.h>

#include "../src/ex_rundown_compat.h"

/* Pairs timed with interrupts off at a time: well under a millisecond native. */
#define EXR_BENCH_BATCH		4096UL
#define EXR_BENCH_ITER_MIN	1000UL
#define EXR_BENCH_ITER_MAX	1000000000UL
/* Not a limit of the module: a bound on how long a typo can make it run. */
#define EXR_BENCH_REP_MAX	99U

static unsigned long iterations = 1000000;
module_param(iterations, ulong, 0444);
MODULE_PARM_DESC(iterations,
		 "Acquire+release pairs per thread and measurement (1000..1e9, default 1000000)");

static unsigned int repetitions = 7;
module_param(repetitions, uint, 0444);
MODULE_PARM_DESC(repetitions, "Runs of each measurement (1..99, default 7)");

static char *tests = "all";
module_param(tests, charp, 0444);
MODULE_PARM_DESC(tests,
		 "Comma-separated: all (default), ex_rundown, ex_rundown_pcpu, refcount, percpu_ref, rwsem, srcu, atomic, rundown");

/* ---- the pairs ---- */

static struct ex_rundown_ref exr_bench_ex_rundown ____cacheline_aligned_in_smp;
static struct ex_rundown_pcpu exr_bench_ex_rundown_pcpu ____cacheline_aligned_in_smp;
static refcount_t exr_bench_refcount ____cacheline_aligned_in_smp;
static struct percpu_ref exr_bench_percpu_ref ____cacheline_aligned_in_smp;
static struct rw_semaphore exr_bench_rwsem ____cacheline_aligned_in_smp;
static atomic_long_t exr_bench_atomic ____cacheline_aligned_in_smp;
static struct srcu_struct exr_bench_srcu;
static DECLARE_WAIT_QUEUE_HEAD(exr_bench_percpu_ref_wq);
static bool exr_bench_percpu_ref_released;

/*
 * exr_bench_loop_<name>(n): n times, @take (true if it took the reference)
 * and then @drop; returns how many pairs failed, which must be none. Out of
 * line, under a name that scripts/fastpath.sh finds in the disassembly.
 */
#define EXR_BENCH_LOOP(name, take, drop)				\
static noinline unsigned long exr_bench_loop_##name(unsigned long n)	\
{									\
	unsigned long failed = 0;					\
									\
	while (n--) {							\
		if (likely(take))					\
			drop;						\
		else							\
			failed++;					\
	}								\
	return failed;							\
}

EXR_BENCH_LOOP(ex_rundown, ex_rundown_acquire(&exr_bench_ex_rundown),
	       ex_rundown_release(&exr_bench_ex_rundown))
EXR_BENCH_LOOP(ex_rundown_pcpu, ex_rundown_pcpu_acquire(&exr_bench_ex_rundown_pcpu),
	       ex_rundown_pcpu_release(&exr_bench_ex_rundown_pcpu))
/* The object's own reference keeps it from reaching zero. */
EXR_BENCH_LOOP(refcount, refcount_inc_not_zero(&exr_bench_refcount),
	       failed += refcount_dec_and_test(&exr_bench_refcount))
EXR_BENCH_LOOP(percpu_ref, percpu_ref_tryget_live(&exr_bench_percpu_ref),
	       percpu_ref_put(&exr_bench_percpu_ref))
EXR_BENCH_LOOP(rwsem, down_read_trylock(&exr_bench_rwsem),
	       up_read(&exr_bench_rwsem))
EXR_BENCH_LOOP(atomic, (atomic_long_inc(&exr_bench_atomic), true),
	       atomic_long_dec(&exr_bench_atomic))

/*
 * SRCU's read side cannot fail, and sparse wants its lock and unlock
 * (__acquires/__releases) in one basic block: not through EXR_BENCH_LOOP.
 */
static noinline unsigned long exr_bench_loop_srcu(unsigned long n)
{
	int idx;

	while (n--) {
		idx = srcu_read_lock(&exr_bench_srcu);
		srcu_read_unlock(&exr_bench_srcu, idx);
	}
	return 0;
}

struct exr_bench_pair {
	const char *name;	/* also the token of the tests= parameter */
	const char *what;
	unsigned long (*loop)(unsigned long n);
};

#define EXR_BENCH_PAIR(name, what)	{ #name, what, exr_bench_loop_##name }

static const struct exr_bench_pair exr_bench_pairs[] = {
	EXR_BENCH_PAIR(ex_rundown, "ex_rundown_acquire+release"),
	EXR_BENCH_PAIR(ex_rundown_pcpu, "ex_rundown_pcpu_acquire+release"),
	EXR_BENCH_PAIR(refcount, "refcount_inc_not_zero+dec_and_test"),
	EXR_BENCH_PAIR(percpu_ref, "percpu_ref_tryget_live+put"),
	EXR_BENCH_PAIR(rwsem, "down_read_trylock+up_read"),
	EXR_BENCH_PAIR(srcu, "srcu_read_lock+unlock"),
	EXR_BENCH_PAIR(atomic, "atomic_long_inc+dec"),
};

/* The tests= tokens: the pairs, then the run-down latency. */
#define EXR_BENCH_LATENCY	ARRAY_SIZE(exr_bench_pairs)

static unsigned long exr_bench_mask;

static const char *exr_bench_test_name(unsigned int id)
{
	return id < EXR_BENCH_LATENCY ? exr_bench_pairs[id].name : "rundown";
}

static bool exr_bench_selected(unsigned int id)
{
	return exr_bench_mask & BIT(id);
}

/* tests= into exr_bench_mask. */
static int exr_bench_parse_tests(void)
{
	char *buf, *cur, *tok;
	unsigned int id;
	int ret = 0;

	buf = kstrdup(tests, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	cur = buf;
	while (!ret && (tok = strsep(&cur, ","))) {
		if (!strcmp(tok, "all")) {
			exr_bench_mask |= BIT(EXR_BENCH_LATENCY + 1) - 1;
			continue;
		}
		for (id = 0; id <= EXR_BENCH_LATENCY; id++)
			if (!strcmp(tok, exr_bench_test_name(id)))
				break;
		if (id > EXR_BENCH_LATENCY) {
			pr_err("tests=%s: unknown test '%s'; see modinfo -p\n",
			       tests, tok);
			ret = -EINVAL;
		} else {
			exr_bench_mask |= BIT(id);
		}
	}
	kfree(buf);
	return ret;
}

static void exr_bench_percpu_ref_release(struct percpu_ref *ref)
{
	WRITE_ONCE(exr_bench_percpu_ref_released, true);
	wake_up(&exr_bench_percpu_ref_wq);
}

/* ---- objects ---- */

static int exr_bench_objects_init(void)
{
	int ret;

	ex_rundown_init(&exr_bench_ex_rundown);
	ret = ex_rundown_pcpu_init(&exr_bench_ex_rundown_pcpu, GFP_KERNEL);
	if (ret)
		return ret;
	refcount_set(&exr_bench_refcount, 1);
	ret = percpu_ref_init(&exr_bench_percpu_ref, exr_bench_percpu_ref_release,
			      0, GFP_KERNEL);
	if (ret)
		goto out_pcpu;
	init_rwsem(&exr_bench_rwsem);
	atomic_long_set(&exr_bench_atomic, 0);
	ret = init_srcu_struct(&exr_bench_srcu);
	if (ret)
		goto out_percpu_ref;
	return 0;

out_percpu_ref:
	percpu_ref_exit(&exr_bench_percpu_ref);
out_pcpu:
	ex_rundown_pcpu_exit(&exr_bench_ex_rundown_pcpu);
	return ret;
}

/*
 * Tear down, checking on the way that the pairs left every object as they
 * found it: a benchmark that loses a count measures nothing.
 */
static int exr_bench_objects_exit(void)
{
	int ret = 0;

	if (ex_rundown_read_count(&exr_bench_ex_rundown) ||
	    ex_rundown_pcpu_read_count(&exr_bench_ex_rundown_pcpu) ||
	    refcount_read(&exr_bench_refcount) != 1 ||
	    atomic_long_read(&exr_bench_atomic)) {
		pr_err("a pair left its object with a count: ex_rundown %lu, ex_rundown_pcpu %lu, refcount %u (1 expected), atomic %ld\n",
		       ex_rundown_read_count(&exr_bench_ex_rundown),
		       ex_rundown_pcpu_read_count(&exr_bench_ex_rundown_pcpu),
		       refcount_read(&exr_bench_refcount),
		       atomic_long_read(&exr_bench_atomic));
		ret = -EIO;
	}
	ex_rundown_pcpu_wait(&exr_bench_ex_rundown_pcpu);
	if (ex_rundown_pcpu_acquire(&exr_bench_ex_rundown_pcpu)) {
		pr_err("ex_rundown_pcpu_acquire() succeeded after the wait returned\n");
		ex_rundown_pcpu_release(&exr_bench_ex_rundown_pcpu);
		ret = -EIO;
	}
	ex_rundown_pcpu_exit(&exr_bench_ex_rundown_pcpu);

	percpu_ref_kill(&exr_bench_percpu_ref);
	wait_event(exr_bench_percpu_ref_wq, READ_ONCE(exr_bench_percpu_ref_released));
	percpu_ref_exit(&exr_bench_percpu_ref);
	cleanup_srcu_struct(&exr_bench_srcu);
	return ret;
}

/* ---- pair measurements ---- */

static int exr_bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Median of @v[0..n), which it sorts. */
static u64 exr_bench_median(u64 *v, unsigned long n)
{
	sort(v, n, sizeof(*v), exr_bench_cmp_u64, NULL);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sleep until kthread_stop(), which returns once the thread is gone. */
static void exr_bench_park(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
}

struct exr_bench_run;

struct exr_bench_thread {
	struct exr_bench_run *run;
	struct task_struct *task;
	u64 *batch_ns;		/* duration of each full batch */
	unsigned long batches;
};

struct exr_bench_run {
	const struct exr_bench_pair *pair;
	unsigned int nthreads;
	atomic_t started;
	atomic_t warm;
	atomic_t done;
	atomic_long_t failed;
	struct exr_bench_thread threads[];
};

/* Wait, spinning, for every thread of @run to have counted itself in @v. */
static unsigned long exr_bench_rendezvous(struct exr_bench_run *run,
					  atomic_t *v, bool keep_busy)
{
	unsigned long failed = 0;

	atomic_inc(v);
	while (atomic_read(v) < run->nthreads) {
		if (keep_busy)
			failed += run->pair->loop(16);
		else
			cpu_relax();
	}
	return failed;
}

static int exr_bench_thread_fn(void *arg)
{
	struct exr_bench_thread *t = arg;
	struct exr_bench_run *run = t->run;
	unsigned long left = iterations, failed = 0, b = 0;
	unsigned long flags, n;
	u64 ns, t0;

	exr_bench_rendezvous(run, &run->started, false);
	failed += run->pair->loop(min(iterations / 8, 20000UL));
	failed += exr_bench_rendezvous(run, &run->warm, true);

	while (left) {
		n = min(left, EXR_BENCH_BATCH);
		local_irq_save(flags);
		t0 = ktime_get_mono_fast_ns();
		failed += run->pair->loop(n);
		ns = ktime_get_mono_fast_ns() - t0;
		local_irq_restore(flags);
		/* A partial last batch counts only if it is the only one. */
		if (n == EXR_BENCH_BATCH || !b)
			t->batch_ns[b++] = n == EXR_BENCH_BATCH ? ns :
					   div64_u64(ns * EXR_BENCH_BATCH, n);
		left -= n;
		cond_resched();
	}
	t->batches = b;

	/* Keep the object busy until the slowest thread is done too. */
	failed += exr_bench_rendezvous(run, &run->done, true);
	atomic_long_add(failed, &run->failed);
	exr_bench_park();
	return 0;
}

/*
 * Run @pair on the first @nthreads online CPUs, one thread each, and print
 * the picoseconds per pair (mean over the threads) and the pairs per second
 * (sum over the threads) as <pair>.<@mode>.ps and <pair>.<@mode>.pps.
 */
static int exr_bench_measure(const struct exr_bench_pair *pair,
			     unsigned int nthreads, const char *mode)
{
	struct exr_bench_run *run;
	unsigned int i, cpu = 0;
	u64 ns, ps = 0, pps = 0;
	int ret = 0;

	run = kzalloc(struct_size(run, threads, nthreads), GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	run->pair = pair;
	run->nthreads = nthreads;

	/* CPU hotplug during a run is not supported: a thread would not start. */
	for (i = 0; i < nthreads; i++) {
		struct exr_bench_thread *t = &run->threads[i];

		cpu = i ? cpumask_next(cpu, cpu_online_mask) : cpumask_first(cpu_online_mask);
		t->run = run;
		t->batch_ns = kvmalloc_array(DIV_ROUND_UP(iterations, EXR_BENCH_BATCH),
					     sizeof(*t->batch_ns), GFP_KERNEL);
		t->task = t->batch_ns ?
			kthread_create(exr_bench_thread_fn, t, "exr_bench/%u", cpu) :
			ERR_PTR(-ENOMEM);
		if (IS_ERR(t->task)) {
			ret = PTR_ERR(t->task);
			t->task = NULL;
			/* The threads made so far wait for this one: stop them. */
			atomic_add(nthreads - i, &run->started);
			atomic_add(nthreads - i, &run->warm);
			atomic_add(nthreads - i, &run->done);
			break;
		}
		kthread_bind(t->task, cpu);
		get_task_struct(t->task);
	}
	for (i = 0; i < nthreads && run->threads[i].task; i++)
		wake_up_process(run->threads[i].task);

	/* Each thread waits for kthread_stop() once it has counted itself done. */
	while (atomic_read(&run->done) < nthreads)
		usleep_range(1000, 2000);
	for (i = 0; i < nthreads && run->threads[i].task; i++) {
		kthread_stop(run->threads[i].task);
		put_task_struct(run->threads[i].task);
	}

	if (!ret && atomic_long_read(&run->failed)) {
		pr_err("%s: %ld pair(s) failed to take the reference\n",
		       pair->name, atomic_long_read(&run->failed));
		ret = -EIO;
	}
	for (i = 0; !ret && i < nthreads; i++) {
		ns = exr_bench_median(run->threads[i].batch_ns,
				      run->threads[i].batches);
		if (!ns) {
			pr_err("%s: %lu pairs took no measurable time: is the clock too coarse?\n",
			       pair->name, EXR_BENCH_BATCH);
			ret = -EIO;
			break;
		}
		ps += div64_u64(ns * 1000, EXR_BENCH_BATCH);
		pps += div64_u64(EXR_BENCH_BATCH * NSEC_PER_SEC, ns);
	}
	if (!ret) {
		pr_info("%s.%s.ps %llu\n", pair->name, mode, div_u64(ps, nthreads));
		pr_info("%s.%s.pps %llu\n", pair->name, mode, pps);
	}
	for (i = 0; i < nthreads; i++)
		kvfree(run->threads[i].batch_ns);
	kfree(run);
	return ret;
}

/* ---- run-down latency ---- */

struct exr_bench_family {
	const char *name;
	bool (*acquire)(void);
	void (*release)(void);
	void (*wait)(void);
	long (*wait_timeout)(long timeout);
	void (*reinit)(void);
};

/* exr_bench_<fam>: @fam's calls on its object exr_bench_<fam>. */
#define EXR_BENCH_FAMILY(fam)						\
static bool exr_bench_##fam##_acquire(void)				\
{									\
	return fam##_acquire(&exr_bench_##fam);				\
}									\
static void exr_bench_##fam##_release(void)				\
{									\
	fam##_release(&exr_bench_##fam);				\
}									\
static void exr_bench_##fam##_wait(void)				\
{									\
	fam##_wait(&exr_bench_##fam);					\
}									\
static long exr_bench_##fam##_wait_timeout(long timeout)		\
{									\
	return fam##_wait_timeout(&exr_bench_##fam, timeout);		\
}									\
static void exr_bench_##fam##_reinit(void)				\
{									\
	fam##_reinit(&exr_bench_##fam);					\
}									\
static const struct exr_bench_family exr_bench_family_##fam = {		\
	.name = #fam,							\
	.acquire = exr_bench_##fam##_acquire,				\
	.release = exr_bench_##fam##_release,				\
	.wait = exr_bench_##fam##_wait,					\
	.wait_timeout = exr_bench_##fam##_wait_timeout,			\
	.reinit = exr_bench_##fam##_reinit,				\
}

EXR_BENCH_FAMILY(ex_rundown);
EXR_BENCH_FAMILY(ex_rundown_pcpu);

static const struct exr_bench_family *exr_bench_families[] = {
	&exr_bench_family_ex_rundown,
	&exr_bench_family_ex_rundown_pcpu,
};

struct exr_bench_latency {
	const struct exr_bench_family *fam;
	struct task_struct *owner;
	atomic_t step;		/* 1: held, 2: owner about to sleep, 3: done */
	u64 released_ns;
	u64 returned_ns;
	int err;
};

/*
 * The holder: take protection, wait until the owner sleeps in its wait,
 * then note the time and drop it.
 */
static int exr_bench_holder_fn(void *arg)
{
	struct exr_bench_latency *rd = arg;

	if (!rd->fam->acquire()) {
		WRITE_ONCE(rd->err, -EIO);
		atomic_set(&rd->step, 3);
	} else {
		atomic_set(&rd->step, 1);
		while (atomic_read(&rd->step) < 2 || task_is_running(rd->owner))
			usleep_range(20, 50);
		WRITE_ONCE(rd->released_ns, ktime_get_ns());
		rd->fam->release();
	}
	exr_bench_park();
	return 0;
}

/*
 * The owner: begin the run-down with a zero timeout (for ex_rundown_pcpu
 * that collects the per-CPU counters, one RCU grace period), so that the
 * wait timed next is only the sleep until the holder leaves.
 */
static int exr_bench_owner_fn(void *arg)
{
	struct exr_bench_latency *rd = arg;

	while (!atomic_read(&rd->step))
		usleep_range(20, 50);
	if (atomic_read(&rd->step) == 1) {
		if (rd->fam->wait_timeout(0)) {
			pr_err("%s: wait_timeout(0) said drained while a holder held it\n",
			       rd->fam->name);
			WRITE_ONCE(rd->err, -EIO);
		}
		atomic_set(&rd->step, 2);
		rd->fam->wait();
		WRITE_ONCE(rd->returned_ns, ktime_get_ns());
		if (rd->fam->acquire()) {
			pr_err("%s: acquire succeeded after the wait returned\n",
			       rd->fam->name);
			rd->fam->release();
			WRITE_ONCE(rd->err, -EIO);
		}
		rd->fam->reinit();
	}
	exr_bench_park();
	return 0;
}

/* Owner on the first online CPU, holder on the next one if there is one. */
static int exr_bench_rundown_latency(const struct exr_bench_family *fam)
{
	struct exr_bench_latency rd = { .fam = fam };
	unsigned int cpu0 = cpumask_first(cpu_online_mask);
	unsigned int cpu1 = cpumask_next(cpu0, cpu_online_mask);
	struct task_struct *holder;

	if (cpu1 >= nr_cpu_ids)
		cpu1 = cpu0;
	rd.owner = kthread_create(exr_bench_owner_fn, &rd, "exr_bench_owner");
	if (IS_ERR(rd.owner))
		return PTR_ERR(rd.owner);
	holder = kthread_create(exr_bench_holder_fn, &rd, "exr_bench_holder");
	if (IS_ERR(holder)) {
		atomic_set(&rd.step, 3);
		wake_up_process(rd.owner);
		kthread_stop(rd.owner);
		return PTR_ERR(holder);
	}
	kthread_bind(rd.owner, cpu0);
	kthread_bind(holder, cpu1);
	get_task_struct(rd.owner);
	get_task_struct(holder);
	wake_up_process(rd.owner);
	wake_up_process(holder);

	while (!READ_ONCE(rd.returned_ns) && !READ_ONCE(rd.err))
		usleep_range(1000, 2000);
	kthread_stop(holder);
	kthread_stop(rd.owner);
	put_task_struct(holder);
	put_task_struct(rd.owner);
	if (!rd.err && rd.returned_ns < rd.released_ns)
		rd.err = -EIO;
	if (!rd.err)
		pr_info("%s.rundown_ns %llu\n", fam->name,
			rd.returned_ns - rd.released_ns);
	return rd.err;
}

/* A wait on a reference nobody holds, then a reinit for the next run. */
static void exr_bench_idle_wait(const struct exr_bench_family *fam)
{
	u64 t0, t1;

	t0 = ktime_get_ns();
	fam->wait();
	t1 = ktime_get_ns();
	fam->reinit();
	pr_info("%s.idle_wait_ns %llu\n", fam->name, t1 - t0);
}

/* ---- the run ---- */

/* Where the module runs, as far as it can tell. */
static void exr_bench_print_machine(void)
{
#if defined(CONFIG_UML)
	pr_info("machine User-Mode Linux\n");
#elif defined(CONFIG_X86)
	unsigned int eax, sig[4] = {};

	if (boot_cpu_has(X86_FEATURE_HYPERVISOR)) {
		cpuid(0x40000000, &eax, &sig[0], &sig[1], &sig[2]);
		pr_info("machine a virtual machine (hypervisor \"%.12s\")\n",
			(char *)sig);
	} else {
		pr_info("machine bare metal or an undetected hypervisor\n");
	}
#else
	pr_info("machine unknown\n");
#endif
}

/* One repetition of everything selected; pairs first, on 1 then all CPUs. */
static int exr_bench_repetition(unsigned int ncpus)
{
	unsigned int id, f;
	int ret;

	for (id = 0; id < EXR_BENCH_LATENCY; id++) {
		if (!exr_bench_selected(id))
			continue;
		ret = exr_bench_measure(&exr_bench_pairs[id], 1, "one");
		if (!ret && ncpus > 1)
			ret = exr_bench_measure(&exr_bench_pairs[id], ncpus, "all");
		if (ret)
			return ret;
	}
	if (!exr_bench_selected(EXR_BENCH_LATENCY))
		return 0;
	for (f = 0; f < ARRAY_SIZE(exr_bench_families); f++) {
		ret = exr_bench_rundown_latency(exr_bench_families[f]);
		if (ret) {
			pr_err("%s: run-down latency measurement failed (%d)\n",
			       exr_bench_families[f]->name, ret);
			return ret;
		}
		exr_bench_idle_wait(exr_bench_families[f]);
	}
	return 0;
}

static int exr_bench_run(void)
{
	/* CPUs going on- or offline during the run would skew it, not break it. */
	unsigned int ncpus = num_online_cpus(), rep, id;
	u64 t0 = ktime_get_ns();
	int ret, ret2;

	ret = exr_bench_objects_init();
	if (ret)
		return ret;

	pr_info("version %s\n", EX_RUNDOWN_VERSION);
	pr_info("kernel %s\n", utsname()->release);
	exr_bench_print_machine();
	/* A grace period, hence ex_rundown_pcpu's idle wait, depends on it. */
	pr_info("rcu %s\n", IS_ENABLED(CONFIG_TINY_RCU) ? "tiny" :
		rcu_inkernel_boot_has_ended() ? "normal" : "expedited (booting)");
	pr_info("cpus %u\n", ncpus);
	pr_info("iterations %lu\n", iterations);
	pr_info("batch %lu\n", EXR_BENCH_BATCH);
	pr_info("repetitions %u\n", repetitions);
	for (id = 0; id < EXR_BENCH_LATENCY; id++)
		if (exr_bench_selected(id))
			pr_info("%s.pair %s\n", exr_bench_pairs[id].name,
				exr_bench_pairs[id].what);

	for (rep = 0; rep < repetitions && !ret; rep++) {
		ret = exr_bench_repetition(ncpus);
		if (!ret)
			pr_info("repetition %u\n", rep + 1);
	}

	ret2 = exr_bench_objects_exit();
	ret = ret ?: ret2;
	pr_info("elapsed_ms %llu\n", div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC));
	pr_info("status %d\n", ret);
	return ret;
}

static int __init exr_bench_init(void)
{
	int ret;

	if (iterations < EXR_BENCH_ITER_MIN || iterations > EXR_BENCH_ITER_MAX) {
		pr_err("iterations=%lu: not from %lu to %lu\n", iterations,
		       EXR_BENCH_ITER_MIN, EXR_BENCH_ITER_MAX);
		return -EINVAL;
	}
	if (repetitions < 1 || repetitions > EXR_BENCH_REP_MAX) {
		pr_err("repetitions=%u: not from 1 to %u\n", repetitions,
		       EXR_BENCH_REP_MAX);
		return -EINVAL;
	}
	ret = exr_bench_parse_tests();
	return ret ?: exr_bench_run();
}
module_init(exr_bench_init);

static void __exit exr_bench_exit(void)
{
}
module_exit(exr_bench_exit);

MODULE_DESCRIPTION("Benchmark of ex_rundown against refcount, percpu_ref, rwsem and SRCU");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(EX_RUNDOWN_VERSION);
