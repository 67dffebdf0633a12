// SPDX-License-Identifier: GPL-2.0
/*
 * ex_rundown_bench.ko: how fast is run-down protection next to what a kernel
 * developer would otherwise reach for? Modelled on kernel/rcu/refscale.c.
 *
 * Loading the module runs, in one go:
 *  - acquire+release pairs on one shared object, for ex_rundown,
 *    ex_rundown_pcpu and the alternatives (refcount_inc_not_zero +
 *    refcount_dec_and_test, percpu_ref_tryget_live + percpu_ref_put,
 *    down_read_trylock + up_read, srcu_read_lock + srcu_read_unlock, and
 *    atomic_long_inc + atomic_long_dec as the floor of a shared counter);
 *    first on one CPU, then on every online CPU at once;
 *  - the latency of a run-down (from the last release to the return of the
 *    wait) and the cost of a wait on an idle reference, for both families.
 * Each figure is the median over `repetitions` runs, interleaved so that a
 * change of load on the machine hits every mechanism alike. The results go
 * to the kernel log as a table and as machine-readable lines, all starting
 * with "ex_rundown_bench: "; the last one is "END status=0" on success. The
 * module then stays loaded, idle, until it is removed.
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
 *
 * The module knows where it runs only roughly (a hypervisor CPUID leaf, UML)
 * and says so; the where= parameter lets a script name the machine. Numbers
 * from QEMU/TCG or UML are not hardware numbers, and the header says so.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
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
#include <asm/processor.h>
#endif

#include <ex_rundown_pcpu.h>

/* Pairs timed with interrupts off at a time: well under a millisecond native. */
#define EXR_BENCH_BATCH		4096UL
#define EXR_BENCH_ITER_MIN	1000UL
#define EXR_BENCH_ITER_MAX	1000000000UL
#define EXR_BENCH_REP_MAX	99U
#define EXR_BENCH_WHERE_MAX	100

/* ---- parameters ---- */

static unsigned long iterations = 1000000;
static unsigned int repetitions = 7;
static unsigned long tests_mask;	/* 0: all */
static char *where;

static int iterations_set(const char *val, const struct kernel_param *kp)
{
	unsigned long n;

	if (kstrtoul(val, 0, &n) || n < EXR_BENCH_ITER_MIN || n > EXR_BENCH_ITER_MAX) {
		pr_err("iterations: '%s' is not a number of pairs from %lu to %lu\n",
		       val, EXR_BENCH_ITER_MIN, EXR_BENCH_ITER_MAX);
		return -EINVAL;
	}
	iterations = n;
	return 0;
}

static const struct kernel_param_ops iterations_ops = {
	.set = iterations_set,
	.get = param_get_ulong,
};
module_param_cb(iterations, &iterations_ops, &iterations, 0444);
MODULE_PARM_DESC(iterations,
		 "Acquire+release pairs per thread and measurement (1000..1e9, default 1000000)");

static int repetitions_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;

	if (kstrtouint(val, 0, &n) || n < 1 || n > EXR_BENCH_REP_MAX) {
		pr_err("repetitions: '%s' is not a number from 1 to %u\n",
		       val, EXR_BENCH_REP_MAX);
		return -EINVAL;
	}
	repetitions = n;
	return 0;
}

static const struct kernel_param_ops repetitions_ops = {
	.set = repetitions_set,
	.get = param_get_uint,
};
module_param_cb(repetitions, &repetitions_ops, &repetitions, 0444);
MODULE_PARM_DESC(repetitions,
		 "Runs of each measurement; the median is reported (1..99, default 7)");

/* ---- the pairs ---- */

static struct ex_rundown_ref exr_bench_rundown ____cacheline_aligned_in_smp;
static struct ex_rundown_pcpu exr_bench_pcpu ____cacheline_aligned_in_smp;
static refcount_t exr_bench_refcount ____cacheline_aligned_in_smp;
static struct percpu_ref exr_bench_percpu_ref ____cacheline_aligned_in_smp;
static struct rw_semaphore exr_bench_rwsem ____cacheline_aligned_in_smp;
static atomic_long_t exr_bench_atomic ____cacheline_aligned_in_smp;
static struct srcu_struct exr_bench_srcu;
static DECLARE_WAIT_QUEUE_HEAD(exr_bench_percpu_ref_wq);
static bool exr_bench_percpu_ref_released;

/*
 * One loop per mechanism, each out of line under a name that
 * scripts/fastpath.sh finds in the disassembly. A loop returns how many
 * pairs failed to take the reference, which must be none.
 */
static noinline unsigned long exr_bench_loop_ex_rundown(unsigned long n)
{
	unsigned long failed = 0;

	while (n--) {
		if (likely(ex_rundown_acquire(&exr_bench_rundown)))
			ex_rundown_release(&exr_bench_rundown);
		else
			failed++;
	}
	return failed;
}

static noinline unsigned long exr_bench_loop_ex_rundown_pcpu(unsigned long n)
{
	unsigned long failed = 0;

	while (n--) {
		if (likely(ex_rundown_pcpu_acquire(&exr_bench_pcpu)))
			ex_rundown_pcpu_release(&exr_bench_pcpu);
		else
			failed++;
	}
	return failed;
}

static noinline unsigned long exr_bench_loop_refcount(unsigned long n)
{
	unsigned long failed = 0;

	while (n--) {
		/* The object's own reference keeps it from reaching zero. */
		if (likely(refcount_inc_not_zero(&exr_bench_refcount)))
			failed += refcount_dec_and_test(&exr_bench_refcount);
		else
			failed++;
	}
	return failed;
}

static noinline unsigned long exr_bench_loop_percpu_ref(unsigned long n)
{
	unsigned long failed = 0;

	while (n--) {
		if (likely(percpu_ref_tryget_live(&exr_bench_percpu_ref)))
			percpu_ref_put(&exr_bench_percpu_ref);
		else
			failed++;
	}
	return failed;
}

static noinline unsigned long exr_bench_loop_rwsem(unsigned long n)
{
	unsigned long failed = 0;

	while (n--) {
		if (likely(down_read_trylock(&exr_bench_rwsem)))
			up_read(&exr_bench_rwsem);
		else
			failed++;
	}
	return failed;
}

static noinline unsigned long exr_bench_loop_srcu(unsigned long n)
{
	int idx;

	while (n--) {
		idx = srcu_read_lock(&exr_bench_srcu);
		srcu_read_unlock(&exr_bench_srcu, idx);
	}
	return 0;
}

static noinline unsigned long exr_bench_loop_atomic(unsigned long n)
{
	while (n--) {
		atomic_long_inc(&exr_bench_atomic);
		atomic_long_dec(&exr_bench_atomic);
	}
	return 0;
}

static void exr_bench_percpu_ref_release(struct percpu_ref *ref)
{
	WRITE_ONCE(exr_bench_percpu_ref_released, true);
	wake_up(&exr_bench_percpu_ref_wq);
}

enum exr_bench_id {
	EXR_RUNDOWN,
	EXR_RUNDOWN_PCPU,
	EXR_REFCOUNT,
	EXR_PERCPU_REF,
	EXR_RWSEM,
	EXR_SRCU,
	EXR_ATOMIC,
	EXR_NR_PAIRS,
	EXR_LATENCY = EXR_NR_PAIRS,	/* run-down latency and idle wait */
	EXR_NR_TESTS,
};

struct exr_bench_pair {
	const char *name;	/* also the token of the tests= parameter */
	const char *what;
	unsigned long (*loop)(unsigned long n);
};

static const struct exr_bench_pair exr_bench_pairs[EXR_NR_PAIRS] = {
	[EXR_RUNDOWN]	   = { "ex_rundown", "ex_rundown_acquire+release",
			       exr_bench_loop_ex_rundown },
	[EXR_RUNDOWN_PCPU] = { "ex_rundown_pcpu", "ex_rundown_pcpu_acquire+release",
			       exr_bench_loop_ex_rundown_pcpu },
	[EXR_REFCOUNT]	   = { "refcount", "refcount_inc_not_zero+dec_and_test",
			       exr_bench_loop_refcount },
	[EXR_PERCPU_REF]   = { "percpu_ref", "percpu_ref_tryget_live+put",
			       exr_bench_loop_percpu_ref },
	[EXR_RWSEM]	   = { "rwsem", "down_read_trylock+up_read",
			       exr_bench_loop_rwsem },
	[EXR_SRCU]	   = { "srcu", "srcu_read_lock+unlock",
			       exr_bench_loop_srcu },
	[EXR_ATOMIC]	   = { "atomic", "atomic_long_inc+dec",
			       exr_bench_loop_atomic },
};

static const char *exr_bench_test_name(unsigned int id)
{
	return id < EXR_NR_PAIRS ? exr_bench_pairs[id].name : "rundown";
}

static int tests_set(const char *val, const struct kernel_param *kp)
{
	char *buf, *cur, *tok;
	unsigned long mask = 0;
	unsigned int id;
	int ret = 0;

	buf = kstrdup(val, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	cur = strim(buf);
	while ((tok = strsep(&cur, ",")) != NULL) {
		tok = strim(tok);
		if (!strcmp(tok, "all")) {
			mask |= BIT(EXR_NR_TESTS) - 1;
			continue;
		}
		for (id = 0; id < EXR_NR_TESTS; id++)
			if (!strcmp(tok, exr_bench_test_name(id)))
				break;
		if (id == EXR_NR_TESTS) {
			pr_err("tests: unknown test '%s'; use a comma-separated list of all, ex_rundown, ex_rundown_pcpu, refcount, percpu_ref, rwsem, srcu, atomic, rundown\n",
			       tok);
			ret = -EINVAL;
			break;
		}
		mask |= BIT(id);
	}
	kfree(buf);
	if (!ret && !mask) {
		pr_err("tests: empty list\n");
		ret = -EINVAL;
	}
	if (!ret)
		tests_mask = mask;
	return ret;
}

static int tests_get(char *buf, const struct kernel_param *kp)
{
	unsigned int id;
	int len = 0;

	for (id = 0; id < EXR_NR_TESTS; id++)
		if (!tests_mask || tests_mask & BIT(id))
			len += scnprintf(buf + len, PAGE_SIZE - len, "%s%s",
					 len ? "," : "", exr_bench_test_name(id));
	len += scnprintf(buf + len, PAGE_SIZE - len, "\n");
	return len;
}

static const struct kernel_param_ops tests_ops = {
	.set = tests_set,
	.get = tests_get,
};
module_param_cb(tests, &tests_ops, NULL, 0444);
MODULE_PARM_DESC(tests,
		 "Comma-separated: all (default), ex_rundown, ex_rundown_pcpu, refcount, percpu_ref, rwsem, srcu, atomic, rundown");

static int where_set(const char *val, const struct kernel_param *kp)
{
	size_t i, len = strlen(val);

	for (i = 0; i < len; i++)
		if (!isprint(val[i]) || val[i] == '"')
			break;
	if (!len || len > EXR_BENCH_WHERE_MAX || i < len) {
		pr_err("where: '%s' is not 1 to %d printable characters without '\"'\n",
		       val, EXR_BENCH_WHERE_MAX);
		return -EINVAL;
	}
	return param_set_charp(val, kp);
}

static const struct kernel_param_ops where_ops = {
	.set = where_set,
	.get = param_get_charp,
	.free = param_free_charp,
};
module_param_cb(where, &where_ops, &where, 0444);
MODULE_PARM_DESC(where,
		 "Where the benchmark runs, for the header of the table (e.g. \"QEMU TCG, 2 vCPUs\")");

static bool exr_bench_selected(unsigned int id)
{
	return !tests_mask || tests_mask & BIT(id);
}

/* ---- objects ---- */

static int exr_bench_objects_init(void)
{
	int ret;

	ex_rundown_init(&exr_bench_rundown);
	ret = ex_rundown_pcpu_init(&exr_bench_pcpu, GFP_KERNEL);
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
	ex_rundown_pcpu_exit(&exr_bench_pcpu);
	return ret;
}

/*
 * Tear down, checking on the way that the pairs left every object as they
 * found it: a benchmark that loses a count measures nothing.
 */
static int exr_bench_objects_exit(void)
{
	int ret = 0;

	if (ex_rundown_read_count(&exr_bench_rundown) ||
	    ex_rundown_pcpu_read_count(&exr_bench_pcpu) ||
	    refcount_read(&exr_bench_refcount) != 1 ||
	    atomic_long_read(&exr_bench_atomic)) {
		pr_err("a pair left its object with a count: ex_rundown %lu, ex_rundown_pcpu %lu, refcount %u (1 expected), atomic %ld\n",
		       ex_rundown_read_count(&exr_bench_rundown),
		       ex_rundown_pcpu_read_count(&exr_bench_pcpu),
		       refcount_read(&exr_bench_refcount),
		       atomic_long_read(&exr_bench_atomic));
		ret = -EIO;
	}
	ex_rundown_pcpu_wait(&exr_bench_pcpu);
	if (ex_rundown_pcpu_acquire(&exr_bench_pcpu)) {
		pr_err("ex_rundown_pcpu_acquire() succeeded after the wait returned\n");
		ex_rundown_pcpu_release(&exr_bench_pcpu);
		ret = -EIO;
	}
	ex_rundown_pcpu_exit(&exr_bench_pcpu);

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
static u64 exr_bench_median(u64 *v, unsigned int n)
{
	sort(v, n, sizeof(*v), exr_bench_cmp_u64, NULL);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct exr_bench_run;

struct exr_bench_thread {
	struct exr_bench_run *run;
	struct task_struct *task;
	u64 *batch_ns;		/* duration of each full batch */
	unsigned long batches;
	u64 ns;			/* the median of batch_ns */
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

	/* kthread_stop() returns once this thread is gone, not just done. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

struct exr_bench_sample {
	u64 ps_per_pair;	/* mean over the threads, picoseconds */
	u64 pairs_per_sec;	/* sum over the threads */
};

/* Run @pair on the first @nthreads online CPUs, one thread each. */
static int exr_bench_measure(const struct exr_bench_pair *pair,
			     unsigned int nthreads, struct exr_bench_sample *out)
{
	struct exr_bench_run *run;
	unsigned int i, cpu = 0;
	u64 ps = 0, pps = 0;
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
		run->threads[i].ns = exr_bench_median(run->threads[i].batch_ns,
						      run->threads[i].batches);
		if (!run->threads[i].ns) {
			pr_err("%s: %lu pairs took no measurable time: is the clock too coarse?\n",
			       pair->name, EXR_BENCH_BATCH);
			ret = -EIO;
		}
	}
	if (!ret) {
		for (i = 0; i < nthreads; i++) {
			u64 ns = run->threads[i].ns;

			ps += div64_u64(ns * 1000, EXR_BENCH_BATCH);
			pps += div64_u64(EXR_BENCH_BATCH * NSEC_PER_SEC, ns);
		}
		out->ps_per_pair = div_u64(ps, nthreads);
		out->pairs_per_sec = pps;
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

static bool exr_bench_rd_acquire(void)
{
	return ex_rundown_acquire(&exr_bench_rundown);
}

static void exr_bench_rd_release(void)
{
	ex_rundown_release(&exr_bench_rundown);
}

static void exr_bench_rd_wait(void)
{
	ex_rundown_wait(&exr_bench_rundown);
}

static long exr_bench_rd_wait_timeout(long timeout)
{
	return ex_rundown_wait_timeout(&exr_bench_rundown, timeout);
}

static void exr_bench_rd_reinit(void)
{
	ex_rundown_reinit(&exr_bench_rundown);
}

static bool exr_bench_pcpu_acquire(void)
{
	return ex_rundown_pcpu_acquire(&exr_bench_pcpu);
}

static void exr_bench_pcpu_release(void)
{
	ex_rundown_pcpu_release(&exr_bench_pcpu);
}

static void exr_bench_pcpu_wait(void)
{
	ex_rundown_pcpu_wait(&exr_bench_pcpu);
}

static long exr_bench_pcpu_wait_timeout(long timeout)
{
	return ex_rundown_pcpu_wait_timeout(&exr_bench_pcpu, timeout);
}

static void exr_bench_pcpu_reinit(void)
{
	ex_rundown_pcpu_reinit(&exr_bench_pcpu);
}

static const struct exr_bench_family exr_bench_families[] = {
	{ "ex_rundown", exr_bench_rd_acquire, exr_bench_rd_release,
	  exr_bench_rd_wait, exr_bench_rd_wait_timeout, exr_bench_rd_reinit },
	{ "ex_rundown_pcpu", exr_bench_pcpu_acquire, exr_bench_pcpu_release,
	  exr_bench_pcpu_wait, exr_bench_pcpu_wait_timeout, exr_bench_pcpu_reinit },
};

struct exr_bench_rundown {
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
	struct exr_bench_rundown *rd = arg;

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

	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * The owner: begin the run-down with a zero timeout (for ex_rundown_pcpu
 * that collects the per-CPU counters, one RCU grace period), so that the
 * wait timed next is only the sleep until the holder leaves.
 */
static int exr_bench_owner_fn(void *arg)
{
	struct exr_bench_rundown *rd = arg;

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

	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* Owner on the first online CPU, holder on the next one if there is one. */
static int exr_bench_rundown_latency(const struct exr_bench_family *fam, u64 *ns)
{
	struct exr_bench_rundown rd = { .fam = fam };
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
	*ns = rd.err ? 0 : rd.returned_ns - rd.released_ns;
	return rd.err;
}

/* A wait on a reference nobody holds, then a reinit for the next run. */
static u64 exr_bench_idle_wait(const struct exr_bench_family *fam)
{
	u64 t0, t1;

	t0 = ktime_get_ns();
	fam->wait();
	t1 = ktime_get_ns();
	fam->reinit();
	return t1 - t0;
}

/* ---- reporting ---- */

/* Room for 20 digits, a point and 20 decimals. */
struct exr_bench_str {
	char s[44];
};

/*
 * @v / 10^@digits as a decimal string with @digits decimals, returned by
 * value so that FIX() can be used several times in one printk.
 */
static struct exr_bench_str exr_bench_fixed(u64 v, unsigned int digits)
{
	struct exr_bench_str r;
	u64 scale = int_pow(10, digits);

	snprintf(r.s, sizeof(r.s), "%llu.%0*llu", div64_u64(v, scale), digits,
		 v - div64_u64(v, scale) * scale);
	return r;
}

#define FIX(v, d)	(exr_bench_fixed((v), (d)).s)

/* @a / @b in thousandths. */
static u64 exr_bench_ratio(u64 a, u64 b)
{
	return b ? div64_u64(a * 1000, b) : 0;
}

struct exr_bench_results {
	unsigned int ncpus;
	/* per pair: [0] one CPU, [1] all CPUs; per repetition */
	u64 *ps[EXR_NR_PAIRS][2];
	u64 *pps[EXR_NR_PAIRS][2];
	u64 *latency[ARRAY_SIZE(exr_bench_families)];
	u64 *idle[ARRAY_SIZE(exr_bench_families)];
	/* medians */
	u64 med_ps[EXR_NR_PAIRS][2];
	u64 med_pps[EXR_NR_PAIRS][2];
	u64 med_latency[ARRAY_SIZE(exr_bench_families)];
	u64 med_idle[ARRAY_SIZE(exr_bench_families)];
};

static void exr_bench_where(char *buf, size_t len)
{
	const char *host = "bare metal or an undetected hypervisor";

#if defined(CONFIG_UML)
	snprintf(buf, len, "User-Mode Linux (%u CPU%s)", num_online_cpus(),
		 num_online_cpus() == 1 ? "" : "s");
#elif defined(CONFIG_X86)
	char sig[13] = "";

	if (boot_cpu_has(X86_FEATURE_HYPERVISOR)) {
		unsigned int eax, sigv[3];

		cpuid(0x40000000, &eax, &sigv[0], &sigv[1], &sigv[2]);
		memcpy(sig, sigv, 12);
		host = "a virtual machine";
	}
	if (sig[0] && isprint(sig[0]))
		snprintf(buf, len, "%s (hypervisor \"%s\")", host, sig);
	else
		snprintf(buf, len, "%s", host);
#else
	snprintf(buf, len, "%s", host);
#endif
}

static void exr_bench_target(const char *name, const char *what, u64 milli,
			     u64 limit_milli, bool at_most, const char *why_na)
{
	bool met = at_most ? milli <= limit_milli : milli >= limit_milli;
	u64 off;

	if (why_na) {
		pr_info("  target %-26s %-44s %6s (%s %s) n/a: %s\n", name, what,
			FIX(milli, 3), at_most ? "<=" : ">=", FIX(limit_milli, 3), why_na);
		pr_info("TARGET name=%s value=%s limit=%s met=na\n", name,
			FIX(milli, 3), FIX(limit_milli, 3));
		return;
	}
	/* How far off, relative to the limit, in tenths of a percent. */
	off = met ? 0 : exr_bench_ratio(at_most ? milli - limit_milli :
					limit_milli - milli, limit_milli);
	if (met)
		pr_info("  target %-26s %-44s %6s (%s %s) met\n", name, what,
			FIX(milli, 3), at_most ? "<=" : ">=", FIX(limit_milli, 3));
	else
		pr_info("  target %-26s %-44s %6s (%s %s) MISSED by %s%%\n", name,
			what, FIX(milli, 3), at_most ? "<=" : ">=",
			FIX(limit_milli, 3), FIX(off, 1));
	pr_info("TARGET name=%s value=%s limit=%s met=%d\n", name, FIX(milli, 3),
		FIX(limit_milli, 3), met);
}

static void exr_bench_report(struct exr_bench_results *r)
{
	unsigned int n = r->ncpus, id, f;
	bool all = n > 1;

	pr_info("%-16s %-38s | %10s %9s | %10s %9s %9s %8s\n", "mechanism", "pair",
		"1 CPU ns", "Mpairs/s", "all ns/CPU", "Mp/s/CPU", "Mp/s sum", "scaling");
	for (id = 0; id < EXR_NR_PAIRS; id++) {
		u64 *ps = r->med_ps[id], *pps = r->med_pps[id];
		u64 scaling;

		if (!exr_bench_selected(id))
			continue;
		scaling = exr_bench_ratio(pps[1], pps[0] * n);
		pr_info("%-16s %-38s | %10s %9s | %10s %9s %9s %8s\n",
			exr_bench_pairs[id].name, exr_bench_pairs[id].what,
			FIX(ps[0], 3), FIX(div_u64(pps[0], 10000), 2),
			FIX(ps[1], 3), FIX(div_u64(pps[1] / n, 10000), 2),
			FIX(div_u64(pps[1], 10000), 2), FIX(scaling, 3));
		pr_info("DATA test=pair mech=%s cpus=1 ns_per_pair=%s pairs_per_sec=%llu\n",
			exr_bench_pairs[id].name, FIX(ps[0], 3), pps[0]);
		pr_info("DATA test=pair mech=%s cpus=%u ns_per_pair=%s pairs_per_sec=%llu pairs_per_sec_per_cpu=%llu scaling=%s\n",
			exr_bench_pairs[id].name, n, FIX(ps[1], 3), pps[1],
			div_u64(pps[1], n), FIX(scaling, 3));
	}

	/* Ratios of ns per pair: below 1 means ours is faster. */
	for (f = 0; f < 2; f++) {
		unsigned int ours = f ? EXR_RUNDOWN_PCPU : EXR_RUNDOWN;

		if (!exr_bench_selected(ours))
			continue;
		for (id = EXR_REFCOUNT; id < EXR_NR_PAIRS; id++) {
			if (!exr_bench_selected(id))
				continue;
			pr_info("ratio %-16s / %-11s ns per pair: 1 CPU %sx, %u CPUs %sx\n",
				exr_bench_pairs[ours].name, exr_bench_pairs[id].name,
				FIX(exr_bench_ratio(r->med_ps[ours][0], r->med_ps[id][0]), 3),
				n, FIX(exr_bench_ratio(r->med_ps[ours][1], r->med_ps[id][1]), 3));
			pr_info("DATA test=ratio mech=%s vs=%s cpus1=%s cpusN=%s\n",
				exr_bench_pairs[ours].name, exr_bench_pairs[id].name,
				FIX(exr_bench_ratio(r->med_ps[ours][0], r->med_ps[id][0]), 3),
				FIX(exr_bench_ratio(r->med_ps[ours][1], r->med_ps[id][1]), 3));
		}
	}

	pr_info("targets (ratios measured in this run):\n");
	if (exr_bench_selected(EXR_RUNDOWN) && exr_bench_selected(EXR_REFCOUNT))
		exr_bench_target("rundown_vs_refcount", "ex_rundown ns / refcount ns, 1 CPU",
				 exr_bench_ratio(r->med_ps[EXR_RUNDOWN][0],
						 r->med_ps[EXR_REFCOUNT][0]),
				 1100, true, NULL);
	if (exr_bench_selected(EXR_RUNDOWN_PCPU) && exr_bench_selected(EXR_PERCPU_REF))
		exr_bench_target("pcpu_vs_percpu_ref", "ex_rundown_pcpu ns / percpu_ref ns, 1 CPU",
				 exr_bench_ratio(r->med_ps[EXR_RUNDOWN_PCPU][0],
						 r->med_ps[EXR_PERCPU_REF][0]),
				 1100, true, NULL);
	if (exr_bench_selected(EXR_RUNDOWN_PCPU))
		exr_bench_target("pcpu_scaling", "ex_rundown_pcpu all-CPU / linear",
				 exr_bench_ratio(r->med_pps[EXR_RUNDOWN_PCPU][1],
						 r->med_pps[EXR_RUNDOWN_PCPU][0] * n),
				 900, false, all ? NULL : "one CPU online");
	if (exr_bench_selected(EXR_RWSEM)) {
		if (exr_bench_selected(EXR_RUNDOWN))
			exr_bench_target("rundown_vs_rwsem", "rwsem ns / ex_rundown ns, all CPUs",
					 exr_bench_ratio(r->med_ps[EXR_RWSEM][1],
							 r->med_ps[EXR_RUNDOWN][1]),
					 2000, false, all ? NULL : "one CPU online: no contention");
		if (exr_bench_selected(EXR_RUNDOWN_PCPU))
			exr_bench_target("pcpu_vs_rwsem", "rwsem ns / ex_rundown_pcpu ns, all CPUs",
					 exr_bench_ratio(r->med_ps[EXR_RWSEM][1],
							 r->med_ps[EXR_RUNDOWN_PCPU][1]),
					 2000, false, all ? NULL : "one CPU online: no contention");
	}

	if (exr_bench_selected(EXR_LATENCY)) {
		for (f = 0; f < ARRAY_SIZE(exr_bench_families); f++) {
			pr_info("run-down %-16s last release -> wait returns %10s us; wait on an idle ref %10s us\n",
				exr_bench_families[f].name,
				FIX(r->med_latency[f], 3), FIX(r->med_idle[f], 3));
			pr_info("DATA test=rundown mech=%s latency_ns=%llu idle_wait_ns=%llu\n",
				exr_bench_families[f].name, r->med_latency[f],
				r->med_idle[f]);
		}
		if (IS_ENABLED(CONFIG_TINY_RCU))
			pr_info("note: this kernel uses Tiny RCU (one CPU, no preemption), where a grace period is immediate: ex_rundown_pcpu's idle wait is much shorter here than on SMP\n");
		else if (!rcu_inkernel_boot_has_ended())
			pr_info("note: the kernel is still booting, so RCU grace periods are expedited: ex_rundown_pcpu's idle wait is shorter here than after boot\n");
	}
}

/* ---- the run ---- */

static int exr_bench_alloc(struct exr_bench_results *r)
{
	unsigned int id, m, f;

	for (id = 0; id < EXR_NR_PAIRS; id++)
		for (m = 0; m < 2; m++) {
			r->ps[id][m] = kcalloc(repetitions, sizeof(u64), GFP_KERNEL);
			r->pps[id][m] = kcalloc(repetitions, sizeof(u64), GFP_KERNEL);
			if (!r->ps[id][m] || !r->pps[id][m])
				return -ENOMEM;
		}
	for (f = 0; f < ARRAY_SIZE(exr_bench_families); f++) {
		r->latency[f] = kcalloc(repetitions, sizeof(u64), GFP_KERNEL);
		r->idle[f] = kcalloc(repetitions, sizeof(u64), GFP_KERNEL);
		if (!r->latency[f] || !r->idle[f])
			return -ENOMEM;
	}
	return 0;
}

static void exr_bench_free(struct exr_bench_results *r)
{
	unsigned int id, m, f;

	for (id = 0; id < EXR_NR_PAIRS; id++)
		for (m = 0; m < 2; m++) {
			kfree(r->ps[id][m]);
			kfree(r->pps[id][m]);
		}
	for (f = 0; f < ARRAY_SIZE(exr_bench_families); f++) {
		kfree(r->latency[f]);
		kfree(r->idle[f]);
	}
}

/* One repetition of everything selected; pairs first, on 1 then all CPUs. */
static int exr_bench_repetition(struct exr_bench_results *r, unsigned int rep)
{
	struct exr_bench_sample s;
	unsigned int id, m, f;
	int ret;

	for (id = 0; id < EXR_NR_PAIRS; id++) {
		if (!exr_bench_selected(id))
			continue;
		for (m = 0; m < 2; m++) {
			ret = exr_bench_measure(&exr_bench_pairs[id],
						m ? r->ncpus : 1, &s);
			if (ret)
				return ret;
			r->ps[id][m][rep] = s.ps_per_pair;
			r->pps[id][m][rep] = s.pairs_per_sec;
		}
	}
	if (!exr_bench_selected(EXR_LATENCY))
		return 0;
	for (f = 0; f < ARRAY_SIZE(exr_bench_families); f++) {
		ret = exr_bench_rundown_latency(&exr_bench_families[f],
						&r->latency[f][rep]);
		if (ret) {
			pr_err("%s: run-down latency measurement failed (%d)\n",
			       exr_bench_families[f].name, ret);
			return ret;
		}
		r->idle[f][rep] = exr_bench_idle_wait(&exr_bench_families[f]);
	}
	return 0;
}

static int exr_bench_run(void)
{
	struct exr_bench_results *r;
	char host[96];
	unsigned int rep, id, m, f;
	u64 t0 = ktime_get_ns();
	int ret, ret2;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	ret = exr_bench_alloc(r);
	if (ret)
		goto out_free;
	ret = exr_bench_objects_init();
	if (ret)
		goto out_free;

	/* CPUs going on- or offline during the run would skew it, not break it. */
	r->ncpus = num_online_cpus();
	exr_bench_where(host, sizeof(host));
	pr_info("BEGIN version=%s kernel=%s cpus=%u iterations=%lu repetitions=%u where=\"%s\" detected=\"%s\"\n",
		EX_RUNDOWN_VERSION, utsname()->release, r->ncpus, iterations,
		repetitions, where ?: "unspecified", host);
	pr_info("==== ex_rundown_bench on %s; detected: %s ====\n",
		where ?: "an unspecified machine", host);
	pr_info("%u online CPU(s), %lu pairs per thread per measurement, in batches of %lu (a thread's figure is its median batch), median of %u repetition(s); kernel %s\n",
		r->ncpus, iterations, EXR_BENCH_BATCH, repetitions, utsname()->release);
	if (IS_ENABLED(CONFIG_UML) || !strstr(host, "bare metal"))
		pr_info("these timings come from an emulated or user-mode machine: they are NOT hardware numbers\n");

	for (rep = 0; rep < repetitions; rep++) {
		ret = exr_bench_repetition(r, rep);
		if (ret)
			break;
		pr_info("repetition %u/%u done (%llu ms so far)\n", rep + 1,
			repetitions, div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC));
	}

	ret2 = exr_bench_objects_exit();
	ret = ret ?: ret2;
	if (ret)
		goto out_end;

	for (id = 0; id < EXR_NR_PAIRS; id++)
		for (m = 0; m < 2; m++) {
			r->med_ps[id][m] = exr_bench_median(r->ps[id][m], repetitions);
			r->med_pps[id][m] = exr_bench_median(r->pps[id][m], repetitions);
		}
	for (f = 0; f < ARRAY_SIZE(exr_bench_families); f++) {
		r->med_latency[f] = exr_bench_median(r->latency[f], repetitions);
		r->med_idle[f] = exr_bench_median(r->idle[f], repetitions);
	}
	exr_bench_report(r);

out_end:
	pr_info("END status=%d elapsed_ms=%llu\n", ret,
		div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC));
out_free:
	exr_bench_free(r);
	kfree(r);
	return ret;
}

static int __init exr_bench_init(void)
{
	return exr_bench_run();
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
