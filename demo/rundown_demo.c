// SPDX-License-Identifier: GPL-2.0
/*
 * rundown_demo.ko: a small filter manager, the caller side of the demo.
 *
 * NT documents run-down protection with this example: a file-system filter
 * manager calls into filter drivers (an anti-virus, say) from every thread
 * that does I/O, and a filter driver may be unloaded at any moment. Pinning
 * the filter's module for every call would make unloading it a matter of
 * luck; taking a lock around every call would serialise the I/O. Instead
 * each call holds run-down protection on the filter, and unregistering it
 * runs the protection down: new calls skip the filter, the ones in flight
 * are waited for, and then the filter's code and data may go.
 *
 * Here requests come from three places at once: read() and an ioctl on
 * /dev/rundown_demo, and module parameter @threads kernel threads that send
 * requests in a loop. Each request visits every registered filter:
 *
 *	rcu_read_lock();
 *	f = rcu_dereference(slot->filter);	// found the filter...
 *	ok = ex_rundown_acquire(&f->rundown);	// ...and may we call it?
 *	rcu_read_unlock();
 *	if (ok) {
 *		f->ops->handle(f, &work);	// may sleep: no RCU here
 *		ex_rundown_release(&f->rundown);
 *	}
 *
 * RCU covers only the few instructions from reading the slot to the acquire,
 * because the filter's struct (and its ex_rundown_ref) lives in the filter
 * module; run-down protection covers the call itself, which sleeps and may
 * take long, where RCU cannot help. A failed acquire is not an error: the
 * request is counted as skipped for that filter and goes on.
 *
 * The manager counts everything, globally and per registration of a filter,
 * so that a test can prove the books balance: every request either ran in a
 * filter or was counted as skipped (or found no filter at all), and each
 * filter's own count of calls equals the manager's count of dispatches to
 * that registration. debugfs (rundown_demo/) shows the counters and the live
 * filters, and takes the order to swap the filters' buffers. The kernel log
 * gets the account of each load of a filter when it goes and the totals when
 * the manager goes, in a fixed form a test reads as it is:
 *
 *	rundown_demo: load ID calls N busy N uaf N swaps N
 *	rundown_demo: unload ID skipped N swaps_skipped N inflight N wait_ns N
 *	rundown_demo: total NAME N		(one per counter)
 *
 * Module parameter @protect=0 drops run-down protection everywhere in the
 * demo (the filter asks rundown_demo_protected()): the negative control,
 * which crashes the kernel or catches a use-after-free.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>		/* kvcalloc(), kvfree(): here, not slab.h, in 5.10 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <ex_rundown.h>

#include "rundown_demo.h"

#define RD_MAX_THREADS		16
#define RD_MAX_INTERVAL_US	1000000
#define RD_MAX_RUN_MS		600000
#define RD_NAME_LEN		32

/* Module parameters: see their MODULE_PARM_DESC(). */
static unsigned int rd_threads = 2;
static bool rd_protect = true;
static unsigned int rd_interval_us;
static unsigned int rd_run_ms;

/*
 * Parameters are checked when they are set, at load time or through sysfs:
 * a bad value fails the load (or the write) with a message saying what is
 * accepted, instead of being clamped in silence.
 */
static int rd_param_set_uint(const char *val, const struct kernel_param *kp,
			     unsigned int max)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v > max) {
		pr_err("%s: '%.*s' is not a whole number from 0 to %u\n",
		       kp->name, (int)strcspn(val, "\n"), val, max);
		return -EINVAL;
	}
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static int rd_threads_set(const char *val, const struct kernel_param *kp)
{
	return rd_param_set_uint(val, kp, RD_MAX_THREADS);
}

static int rd_interval_set(const char *val, const struct kernel_param *kp)
{
	return rd_param_set_uint(val, kp, RD_MAX_INTERVAL_US);
}

static int rd_run_ms_set(const char *val, const struct kernel_param *kp)
{
	return rd_param_set_uint(val, kp, RD_MAX_RUN_MS);
}

static int rd_protect_set(const char *val, const struct kernel_param *kp)
{
	bool v;

	if (kstrtobool(val, &v)) {
		pr_err("%s: '%.*s' is not a boolean (1/0, y/n, on/off)\n",
		       kp->name, (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	*(bool *)kp->arg = v;
	return 0;
}

static const struct kernel_param_ops rd_threads_ops = {
	.set = rd_threads_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops rd_interval_ops = {
	.set = rd_interval_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops rd_run_ms_ops = {
	.set = rd_run_ms_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops rd_protect_ops = {
	.set = rd_protect_set,
	.get = param_get_bool,
};

module_param_cb(threads, &rd_threads_ops, &rd_threads, 0444);
MODULE_PARM_DESC(threads, "Kernel threads sending requests in a loop, 0 to 16 (default 2)");
module_param_cb(interval_us, &rd_interval_ops, &rd_interval_us, 0644);
MODULE_PARM_DESC(interval_us,
		 "Pause of each thread between requests in microseconds, 0 to 1000000 (default 0)");
module_param_cb(run_ms, &rd_run_ms_ops, &rd_run_ms, 0444);
MODULE_PARM_DESC(run_ms,
		 "Timed threads: each waits for a filter, times requests for this many ms, alternately with and without protection, and stops; 0 to 600000 (default 0: untimed)");
module_param_cb(protect, &rd_protect_ops, &rd_protect, 0444);
MODULE_PARM_DESC(protect,
		 "Run-down protection on (default); 0 drops it: the negative control, which crashes");

/* Global counters, shown in debugfs and logged at exit. */
enum rd_counter {
	RD_REQUESTS_READ,
	RD_REQUESTS_IOCTL,
	RD_REQUESTS_KTHREAD,
	RD_RAN,
	RD_SERVED,
	RD_SKIPPED,
	RD_BUSY,
	RD_UAF,
	RD_STRAY,
	RD_UNFILTERED,
	RD_SWAP_REQUESTS,
	RD_SWAPS,
	RD_SWAPS_SKIPPED,
	RD_SWAPS_UNFILTERED,
	RD_SWAP_ERRORS,
	RD_REGISTRATIONS,
	RD_UNREGISTRATIONS,
	RD_NR_COUNTERS
};

static const char * const rd_counter_names[RD_NR_COUNTERS] = {
	[RD_REQUESTS_READ]	= "requests_read",
	[RD_REQUESTS_IOCTL]	= "requests_ioctl",
	[RD_REQUESTS_KTHREAD]	= "requests_kthread",
	[RD_RAN]		= "ran",
	[RD_SERVED]		= "served",
	[RD_SKIPPED]		= "skipped",
	[RD_BUSY]		= "busy",
	[RD_UAF]		= "uaf",
	[RD_STRAY]		= "stray",
	[RD_UNFILTERED]		= "unfiltered",
	[RD_SWAP_REQUESTS]	= "swap_requests",
	[RD_SWAPS]		= "swaps",
	[RD_SWAPS_SKIPPED]	= "swaps_skipped",
	[RD_SWAPS_UNFILTERED]	= "swaps_unfiltered",
	[RD_SWAP_ERRORS]	= "swap_errors",
	[RD_REGISTRATIONS]	= "registrations",
	[RD_UNREGISTRATIONS]	= "unregistrations",
};

/* The same, per registration of a filter. */
enum rd_slot_counter {
	RD_SLOT_DISPATCHED,
	RD_SLOT_SKIPPED,
	RD_SLOT_BUSY,
	RD_SLOT_UAF,
	RD_SLOT_SWAPS,
	RD_SLOT_SWAPS_SKIPPED,
	RD_SLOT_NR_COUNTERS
};

/*
 * Every counter is per CPU: one shared cache line bumped by every request
 * would cost more than the protection the demo measures (see run_ms). Read
 * while other CPUs bump them: a sum is exact only once they are done.
 */
struct rd_stats {
	unsigned long count[RD_NR_COUNTERS];
	unsigned long slot[RUNDOWN_DEMO_MAX_FILTERS][RD_SLOT_NR_COUNTERS];
};

static DEFINE_PER_CPU(struct rd_stats, rd_stats);

static inline void rd_count(enum rd_counter c)
{
	this_cpu_inc(rd_stats.count[c]);
}

static inline void rd_slot_count(unsigned int slot, enum rd_slot_counter c)
{
	this_cpu_inc(rd_stats.slot[slot][c]);
}

/* A sum of per-CPU counters: exact once no CPU bumps them any more. */
static unsigned long rd_sum(enum rd_counter c)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(rd_stats.count[c], cpu));
	return sum;
}

static unsigned long rd_slot_sum(unsigned int slot, enum rd_slot_counter c)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(rd_stats.slot[slot][c], cpu));
	return sum;
}

/**
 * struct rd_slot - the manager's place for one registered filter
 * @filter: the filter, NULL when the slot is free. Written under rd_lock,
 *	read under RCU.
 * @window: open while the slot's filter is being unregistered (rd_lock):
 *	tells its refusals from those outside any run-down
 * @id: the current registration's id (rd_lock)
 * @name: the current registration's name (rd_lock)
 */
struct rd_slot {
	struct rundown_demo_filter __rcu *filter;
	struct rundown_demo_window window;
	u64 id;
	char name[RD_NAME_LEN];
};

/* rd_lock serialises registration and guards the slots' owners. */
static DEFINE_MUTEX(rd_lock);
static struct rd_slot rd_slots[RUNDOWN_DEMO_MAX_FILTERS];
static u64 rd_next_id;
static unsigned int rd_registered;	/* filters registered now (rd_lock) */
static DECLARE_WAIT_QUEUE_HEAD(rd_registered_wq);

/*
 * The slots' counters (rd_stats.slot) belong to the current registration:
 * register resets them while the slot is free, and every update happens
 * under protection on the filter, inside the RCU read section that found
 * it, or in a timed run, so unregister reads final values once it has
 * waited for the timed runs, run the filter down and waited for a grace
 * period. (With protect=0 a late update of the last registration may land
 * after the reset: the negative control's books need not balance.)
 */

/*
 * What the timed threads (run_ms) measured, added up: [1] with protection,
 * [0] without; and how many of them are still to finish.
 */
static atomic64_t rd_timed_requests[2];
static atomic64_t rd_timed_ns[2];
static atomic_t rd_timed_running;
static bool rd_timed_abort;	/* an unregistration cuts the runs short */
static DECLARE_WAIT_QUEUE_HEAD(rd_timed_wq);

/*
 * Bumped by every request: on a line of its own. The one line all requests
 * share, in both halves of a timed run alike.
 */
static atomic64_t rd_seq __cacheline_aligned_in_smp;
static struct task_struct *rd_tasks[RD_MAX_THREADS];
static struct dentry *rd_debugfs;

/*
 * The timeline: every RD_TL_PERIOD_MS a work item samples the counters, and
 * every run-down window is noted with its start and end, so that user space
 * can plot what was served and refused over time, windows shaded. Times are
 * in ns since the manager was loaded (rd_t0).
 */
#define RD_TL_PERIOD_MS		100
#define RD_TL_SAMPLES		6000	/* ten minutes */
#define RD_TL_WINDOWS		8192

struct rd_sample {
	u64 t_ns;
	unsigned long served;
	unsigned long skipped;
	unsigned long busy;
	unsigned long unfiltered;
};

struct rd_window_note {
	u64 start_ns;
	u64 end_ns;
	enum rundown_demo_window_kind kind;
};

static u64 rd_t0;
static struct rd_sample *rd_samples;
static unsigned int rd_nr_samples;	/* published with a RELEASE */
static struct delayed_work rd_tl_work;
static DEFINE_MUTEX(rd_windows_lock);
static struct rd_window_note *rd_windows;
static unsigned int rd_nr_windows;	/* rd_windows_lock */
static unsigned long rd_windows_lost;	/* rd_windows_lock */

static void rd_tl_sample(struct work_struct *work)
{
	unsigned int n = rd_nr_samples;
	struct rd_sample *s = &rd_samples[n];

	s->t_ns = ktime_get_ns() - rd_t0;
	s->served = rd_sum(RD_SERVED);
	s->skipped = rd_sum(RD_SKIPPED);
	s->busy = rd_sum(RD_BUSY);
	s->unfiltered = rd_sum(RD_UNFILTERED);
	/* Pairs with the ACQUIRE of rd_timeline_show(): the sample is whole. */
	smp_store_release(&rd_nr_samples, n + 1);
	if (n + 1 < RD_TL_SAMPLES)
		schedule_delayed_work(&rd_tl_work,
				      msecs_to_jiffies(RD_TL_PERIOD_MS));
}

/**
 * rundown_demo_note_window() - put a run-down window on the timeline
 * @kind: what was run down
 * @start_ns: ktime_get_ns() before the run-down started
 * @end_ns: ktime_get_ns() once no caller could be refused any more
 *
 * The manager notes its own unregistrations; a filter notes its swaps. Once
 * RD_TL_WINDOWS are noted, later ones are only counted ("lost" in debugfs
 * windows).
 *
 * Context: process context; sleeps (takes a mutex).
 */
void rundown_demo_note_window(enum rundown_demo_window_kind kind, u64 start_ns,
			      u64 end_ns)
{
	mutex_lock(&rd_windows_lock);
	if (rd_nr_windows < RD_TL_WINDOWS) {
		rd_windows[rd_nr_windows++] = (struct rd_window_note) {
			.start_ns = start_ns - rd_t0,
			.end_ns = end_ns - rd_t0,
			.kind = kind,
		};
	} else {
		rd_windows_lost++;
	}
	mutex_unlock(&rd_windows_lock);
}
EXPORT_SYMBOL_GPL(rundown_demo_note_window);

/**
 * rundown_demo_protected() - does the demo use run-down protection?
 *
 * The value of module parameter protect, fixed at load time. The filter
 * follows it for its own buffer, so that protect=0 turns the protection off
 * everywhere in the demo.
 *
 * Context: any.
 * Return: false only in the negative control.
 */
bool rundown_demo_protected(void)
{
	return rd_protect;
}
EXPORT_SYMBOL_GPL(rundown_demo_protected);

/**
 * rundown_demo_register() - add a filter to the manager
 * @filter: the filter, with @name, @ops (@ops->handle at least) and @owner set
 *
 * Initialises @filter->rundown, gives the filter a slot and an id, and
 * publishes it: requests may reach the filter before this returns, so
 * everything its handler needs must be ready before the call.
 *
 * Context: process context; sleeps (takes the registry mutex).
 * Ordering: publication is a RELEASE (rcu_assign_pointer()): a dispatcher
 * that finds the filter sees every store made before the call.
 * Return: 0; -EINVAL if @filter has no name or no handler; -EEXIST if it is
 * registered already; -ENOSPC if all RUNDOWN_DEMO_MAX_FILTERS slots are in
 * use.
 */
int rundown_demo_register(struct rundown_demo_filter *filter)
{
	struct rd_slot *slot = NULL;
	unsigned int i;
	int cpu, ret = 0;

	if (!filter || !filter->name || !filter->ops || !filter->ops->handle) {
		pr_err("register: a filter needs a name and a handler\n");
		return -EINVAL;
	}

	mutex_lock(&rd_lock);
	for (i = 0; i < RUNDOWN_DEMO_MAX_FILTERS; i++) {
		struct rundown_demo_filter *f =
			rcu_dereference_protected(rd_slots[i].filter,
						  lockdep_is_held(&rd_lock));

		if (f == filter) {
			pr_err("register: filter %s is registered already\n",
			       filter->name);
			ret = -EEXIST;
			goto out;
		}
		if (!f && !slot)
			slot = &rd_slots[i];
	}
	if (!slot) {
		pr_err("register: no free slot for filter %s (at most %u filters)\n",
		       filter->name, RUNDOWN_DEMO_MAX_FILTERS);
		ret = -ENOSPC;
		goto out;
	}

	for_each_possible_cpu(cpu)
		memset(per_cpu(rd_stats.slot[slot - rd_slots], cpu), 0,
		       sizeof(rd_stats.slot[0]));
	/* Not before: a filter registered already has holders. */
	ex_rundown_init(&filter->rundown);
	slot->id = ++rd_next_id;
	strscpy(slot->name, filter->name, sizeof(slot->name));
	filter->id = slot->id;
	filter->slot = slot - rd_slots;
	rd_count(RD_REGISTRATIONS);
	rcu_assign_pointer(slot->filter, filter);
	WRITE_ONCE(rd_registered, rd_registered + 1);
	wake_up_all(&rd_registered_wq);
	pr_info("registered filter %s (%s) as id %llu in slot %u\n",
		filter->name, filter->owner ? module_name(filter->owner) : "built-in",
		filter->id, filter->slot);
out:
	mutex_unlock(&rd_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(rundown_demo_register);

/*
 * The account of a finished registration: the counters its filter keeps too,
 * in the format the filter logs them (RUNDOWN_DEMO_LOAD_FMT), then those only
 * the manager knows. Called with rd_lock held, once the counters are final.
 */
static void rd_log_registration(struct rd_slot *slot, unsigned long inflight,
				u64 wait_ns)
{
	u64 c[RD_SLOT_NR_COUNTERS];
	unsigned int i;

	lockdep_assert_held(&rd_lock);
	for (i = 0; i < RD_SLOT_NR_COUNTERS; i++)
		c[i] = rd_slot_sum(slot - rd_slots, i);
	pr_info(RUNDOWN_DEMO_LOAD_FMT, slot->id, c[RD_SLOT_DISPATCHED],
		c[RD_SLOT_BUSY], c[RD_SLOT_UAF], c[RD_SLOT_SWAPS]);
	pr_info("unload %llu skipped %llu swaps_skipped %llu inflight %lu wait_ns %llu\n",
		slot->id, c[RD_SLOT_SKIPPED], c[RD_SLOT_SWAPS_SKIPPED],
		inflight, wait_ns);
}

/**
 * rundown_demo_unregister() - remove a filter once nobody is inside it
 * @filter: a filter registered with rundown_demo_register()
 *
 * Runs the filter down: from the moment this is called requests skip the
 * filter (each counted as skipped), and it waits until every call already
 * inside the filter, handler or swap, has returned. Then it frees the slot
 * and logs the registration's counters and how long the wait took. When
 * it returns nothing calls into the filter any more and nothing refers to
 * @filter: its module may be freed. With protect=0 (the negative control)
 * it does not wait, and calls in flight run on into freed memory.
 *
 * Unregistering a filter that is not registered warns and does nothing.
 *
 * Context: process context; sleeps, for as long as the slowest call in
 * flight. Must not be called from the filter's handler or swap: it would
 * wait for itself.
 * Ordering: ACQUIRE on return (that of ex_rundown_wait()): the caller sees
 * every store the filter's calls made.
 */
void rundown_demo_unregister(struct rundown_demo_filter *filter)
{
	struct rd_slot *slot;
	unsigned long inflight = 0;
	u64 t0 = 0, wait_ns = 0;

	might_sleep();
	/*
	 * A timed run calls filters without protection: cut it short, and let
	 * it end (its batch in progress) first.
	 */
	if (atomic_read(&rd_timed_running)) {
		WRITE_ONCE(rd_timed_abort, true);
		wait_event(rd_timed_wq, !atomic_read(&rd_timed_running));
	}
	mutex_lock(&rd_lock);
	if (WARN(!filter || filter->slot >= RUNDOWN_DEMO_MAX_FILTERS ||
		 rcu_access_pointer(rd_slots[filter->slot].filter) != filter,
		 KBUILD_MODNAME ": unregister of a filter that is not registered\n")) {
		mutex_unlock(&rd_lock);
		return;
	}
	slot = &rd_slots[filter->slot];

	if (rd_protect) {
		rundown_demo_window_open(&slot->window);
		t0 = ktime_get_ns();
		/* A snapshot, for the report: the wait below is what counts. */
		inflight = ex_rundown_read_count(&filter->rundown);
		ex_rundown_wait(&filter->rundown);
		wait_ns = ktime_get_ns() - t0;
	}

	/*
	 * No call is inside the filter and none can start; but a dispatcher
	 * may still be between reading the slot and its (failing) acquire,
	 * which touches @filter. Those are all inside RCU read sections.
	 */
	RCU_INIT_POINTER(slot->filter, NULL);
	synchronize_rcu();
	if (rd_protect) {
		/* Nobody can find the filter now, let alone be refused by it. */
		rundown_demo_window_close(&slot->window);
		rundown_demo_note_window(RUNDOWN_DEMO_WINDOW_UNLOAD, t0,
					 ktime_get_ns());
	}

	WRITE_ONCE(rd_registered, rd_registered - 1);
	rd_count(RD_UNREGISTRATIONS);
	pr_info("unregistered filter %s id %llu\n", slot->name, slot->id);
	rd_log_registration(slot, inflight, wait_ns);
	mutex_unlock(&rd_lock);
}
EXPORT_SYMBOL_GPL(rundown_demo_unregister);

/**
 * rd_get_filter() - find the filter in a slot and take protection on it
 * @slot: the slot
 * @skipped: global counter to bump if the filter is being run down
 * @slot_skipped: the slot's counter to bump then
 * @found: set to true if the slot holds a filter
 * @protect: take protection (false: protect=0, or a timed run's other half)
 *
 * Return: the filter, protected if @protect; NULL if the slot is free or its
 * filter is being run down.
 */
static struct rundown_demo_filter *rd_get_filter(struct rd_slot *slot,
						 enum rd_counter skipped,
						 enum rd_slot_counter slot_skipped,
						 bool *found, bool protect)
{
	struct rundown_demo_filter *f;
	unsigned long window = 0;

	rcu_read_lock();
	if (protect)
		window = rundown_demo_window_sample(&slot->window);
	f = rcu_dereference(slot->filter);
	*found = !!f;
	if (f && protect && !ex_rundown_acquire(&f->rundown)) {
		/* Inside the RCU section: unregister's snapshot includes it. */
		rd_count(skipped);
		rd_slot_count(slot - rd_slots, slot_skipped);
		if (!rundown_demo_window_refused(&slot->window, window))
			rd_count(RD_STRAY);
		f = NULL;
	}
	rcu_read_unlock();
	return f;
}

static void rd_put_filter(struct rundown_demo_filter *f, bool protect)
{
	/*
	 * The filter may be freed from here on: no access to it after this.
	 * (Without protection, in a timed run, it stays until the timed runs
	 * are over: unregister waits for them.)
	 */
	if (protect)
		ex_rundown_release(&f->rundown);
}

/* What one request did, over all filters. */
struct rd_outcome {
	u64 seq;
	u32 filters;
	u32 ran;
	u32 skipped;
	u32 busy;
	u32 uaf;
	u32 matches;
	u32 checksum;
};

/*
 * Run one request through every filter. The counters of a call are bumped
 * before its protection is released, so that they belong to the
 * registration the call ran in.
 */
static void rd_dispatch(enum rd_counter source, const u8 *data, size_t len,
			struct rd_outcome *out, bool protect)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->seq = atomic64_inc_return(&rd_seq);
	rd_count(source);

	for (i = 0; i < RUNDOWN_DEMO_MAX_FILTERS; i++) {
		struct rd_slot *slot = &rd_slots[i];
		struct rundown_demo_work work = {
			.seq = out->seq, .data = data, .len = len,
			.protect = protect,
		};
		struct rundown_demo_filter *f;
		bool found;

		f = rd_get_filter(slot, RD_SKIPPED, RD_SLOT_SKIPPED, &found,
				  protect);
		out->filters += found;
		if (!f) {
			out->skipped += found;
			continue;
		}

		f->ops->handle(f, &work);

		rd_count(RD_RAN);
		rd_slot_count(i, RD_SLOT_DISPATCHED);
		out->ran++;
		if (work.result == RUNDOWN_DEMO_BUSY) {
			rd_count(RD_BUSY);
			rd_slot_count(i, RD_SLOT_BUSY);
			if (work.stray)
				rd_count(RD_STRAY);
			out->busy++;
		} else if (work.result == RUNDOWN_DEMO_UAF) {
			rd_count(RD_UAF);
			rd_slot_count(i, RD_SLOT_UAF);
			out->uaf++;
		} else {
			rd_count(RD_SERVED);
		}
		out->matches += work.matches;
		out->checksum ^= work.checksum;
		rd_put_filter(f, protect);
	}
	if (!out->filters)
		rd_count(RD_UNFILTERED);
}

/* Order every filter to swap its buffer. */
static int rd_swap_all(void)
{
	unsigned int i, filters = 0;
	int ret = 0;

	rd_count(RD_SWAP_REQUESTS);
	for (i = 0; i < RUNDOWN_DEMO_MAX_FILTERS; i++) {
		struct rd_slot *slot = &rd_slots[i];
		struct rundown_demo_filter *f;
		bool found;
		int err;

		f = rd_get_filter(slot, RD_SWAPS_SKIPPED, RD_SLOT_SWAPS_SKIPPED,
				  &found, rd_protect);
		filters += found;
		if (!f)
			continue;
		if (f->ops->swap_buffer) {
			err = f->ops->swap_buffer(f);
			if (err) {
				rd_count(RD_SWAP_ERRORS);
				ret = ret ?: err;
			} else {
				rd_count(RD_SWAPS);
				rd_slot_count(i, RD_SLOT_SWAPS);
			}
		}
		rd_put_filter(f, rd_protect);
	}
	if (!filters)
		rd_count(RD_SWAPS_UNFILTERED);
	return ret;
}

/* Made-up request data for read() and the threads: a splitmix64 stream. */
static void rd_make_data(u8 *data, size_t len)
{
	u64 x = get_random_u64();
	size_t i;

	for (i = 0; i + sizeof(x) <= len; i += sizeof(x)) {
		u64 z;

		x += 0x9e3779b97f4a7c15ULL;
		z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(data + i, &z, sizeof(z));
	}
}

/*
 * With run_ms: wait for a filter, then send requests for run_ms in batches of
 * RD_TIMED_BATCH, alternately with protection and without, each batch timed,
 * and idle until stopped. Neighbouring batches see the same load of the
 * machine, so the two sums differ by the price of protection, not by the
 * noise of an emulator. Without protection is safe here: unregistering a
 * filter waits for the timed threads, and swaps are refused while they run.
 */
#define RD_TIMED_BATCH	64

static void rd_timed_run(void)
{
	u8 data[RUNDOWN_DEMO_DATA_LEN];
	struct rd_outcome out;
	unsigned long end, batch;
	u64 n[2] = { 0 }, ns[2] = { 0 }, t0;
	unsigned int i;

	wait_event_interruptible(rd_registered_wq,
				 READ_ONCE(rd_registered) || kthread_should_stop());
	end = jiffies + msecs_to_jiffies(rd_run_ms);
	for (batch = 0; !kthread_should_stop() && !READ_ONCE(rd_timed_abort) &&
	     time_before(jiffies, end); batch++) {
		bool on = rd_protect && !(batch & 1);

		t0 = ktime_get_ns();
		for (i = 0; i < RD_TIMED_BATCH; i++) {
			rd_make_data(data, sizeof(data));
			rd_dispatch(RD_REQUESTS_KTHREAD, data, sizeof(data), &out, on);
			cond_resched();
		}
		ns[on] += ktime_get_ns() - t0;
		n[on] += RD_TIMED_BATCH;
	}
	atomic64_add(n[1], &rd_timed_requests[1]);
	atomic64_add(ns[1], &rd_timed_ns[1]);
	atomic64_add(n[0], &rd_timed_requests[0]);
	atomic64_add(ns[0], &rd_timed_ns[0]);
	/*
	 * Fully ordered: every unprotected call above is over before
	 * rundown_demo_unregister()'s wait_event() reads the count at 0 (its
	 * read is followed by the run-down's fully ordered RMW) and lets the
	 * filter go.
	 */
	if (atomic_dec_and_test(&rd_timed_running))
		wake_up_all(&rd_timed_wq);
}

static int rd_thread(void *unused)
{
	u8 data[RUNDOWN_DEMO_DATA_LEN];
	struct rd_outcome out;

	if (rd_run_ms) {
		rd_timed_run();
		while (!kthread_should_stop())
			schedule_timeout_interruptible(HZ);
		return 0;
	}
	while (!kthread_should_stop()) {
		unsigned int us = READ_ONCE(rd_interval_us);

		rd_make_data(data, sizeof(data));
		rd_dispatch(RD_REQUESTS_KTHREAD, data, sizeof(data), &out,
			    rd_protect);
		if (us)
			usleep_range(us, us + us / 4 + 1);
		else
			cond_resched();
	}
	return 0;
}

static int rd_open(struct inode *inode, struct file *file)
{
	return stream_open(inode, file);
}

static ssize_t rd_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	u8 data[RUNDOWN_DEMO_DATA_LEN];
	char line[RUNDOWN_DEMO_READ_MIN];
	struct rd_outcome out;
	size_t len;

	if (count < RUNDOWN_DEMO_READ_MIN) {
		pr_info_ratelimited("read: a buffer of %zu bytes is too small for a result (at least %u)\n",
				    count, RUNDOWN_DEMO_READ_MIN);
		return -EINVAL;
	}
	rd_make_data(data, sizeof(data));
	rd_dispatch(RD_REQUESTS_READ, data, sizeof(data), &out, rd_protect);
	len = scnprintf(line, sizeof(line),
			"seq %llu filters %u ran %u skipped %u busy %u uaf %u matches %u checksum %08x\n",
			out.seq, out.filters, out.ran, out.skipped, out.busy,
			out.uaf, out.matches, out.checksum);
	if (copy_to_user(buf, line, len))
		return -EFAULT;
	return len;
}

static long rd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rundown_demo_request __user *ureq = (void __user *)arg;
	struct rundown_demo_request req;
	struct rd_outcome out;

	if (cmd != RUNDOWN_DEMO_IOC_REQUEST)
		return -ENOTTY;
	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (req.size != sizeof(req) || req.flags) {
		pr_info_ratelimited("ioctl: bad request: size %u (want %zu), flags %#x (want 0)\n",
				    req.size, sizeof(req), req.flags);
		return -EINVAL;
	}

	rd_dispatch(RD_REQUESTS_IOCTL, req.data, sizeof(req.data), &out, rd_protect);
	req.seq = out.seq;
	req.filters = out.filters;
	req.ran = out.ran;
	req.skipped = out.skipped;
	req.busy = out.busy;
	req.uaf = out.uaf;
	req.matches = out.matches;
	req.checksum = out.checksum;
	req.reserved = 0;
	if (copy_to_user(ureq, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static const struct file_operations rd_fops = {
	.owner		= THIS_MODULE,
	.open		= rd_open,
	.read		= rd_read,
	.unlocked_ioctl	= rd_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice rd_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "rundown_demo",
	.fops	= &rd_fops,
	.mode	= 0444,
};

static int rd_stats_show(struct seq_file *m, void *unused)
{
	static const char * const half[] = { "off", "on" };	/* protection */
	unsigned int i;

	seq_printf(m, "protect %d\nthreads %u\n", rd_protect, rd_threads);
	for (i = 0; i < RD_NR_COUNTERS; i++)
		seq_printf(m, "%s %lu\n", rd_counter_names[i], rd_sum(i));
	seq_printf(m, "timed_running %d\n", atomic_read(&rd_timed_running));
	for (i = 0; i < ARRAY_SIZE(half); i++)
		seq_printf(m, "timed_requests_%s %lld\ntimed_ns_%s %lld\n",
			   half[i], (long long)atomic64_read(&rd_timed_requests[i]),
			   half[i], (long long)atomic64_read(&rd_timed_ns[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rd_stats);

static int rd_filters_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	seq_puts(m, "# slot id name dispatched skipped busy uaf swaps swaps_skipped\n");
	mutex_lock(&rd_lock);
	for (i = 0; i < RUNDOWN_DEMO_MAX_FILTERS; i++) {
		struct rd_slot *slot = &rd_slots[i];

		if (!rcu_access_pointer(slot->filter))
			continue;
		seq_printf(m, "%u %llu %s %lu %lu %lu %lu %lu %lu\n", i,
			   slot->id, slot->name,
			   rd_slot_sum(i, RD_SLOT_DISPATCHED),
			   rd_slot_sum(i, RD_SLOT_SKIPPED),
			   rd_slot_sum(i, RD_SLOT_BUSY),
			   rd_slot_sum(i, RD_SLOT_UAF),
			   rd_slot_sum(i, RD_SLOT_SWAPS),
			   rd_slot_sum(i, RD_SLOT_SWAPS_SKIPPED));
	}
	mutex_unlock(&rd_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rd_filters);

static int rd_timeline_show(struct seq_file *m, void *unused)
{
	/* Pairs with the RELEASE of rd_tl_sample(). */
	unsigned int i, n = smp_load_acquire(&rd_nr_samples);

	seq_printf(m, "# every %u ms, since load: t_us served refused_unload refused_swap unfiltered\n",
		   RD_TL_PERIOD_MS);
	for (i = 0; i < n; i++)
		seq_printf(m, "%llu %lu %lu %lu %lu\n",
			   div_u64(rd_samples[i].t_ns, NSEC_PER_USEC),
			   rd_samples[i].served, rd_samples[i].skipped,
			   rd_samples[i].busy, rd_samples[i].unfiltered);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rd_timeline);

static int rd_windows_show(struct seq_file *m, void *unused)
{
	static const char * const kinds[] = {
		[RUNDOWN_DEMO_WINDOW_UNLOAD] = "unload",
		[RUNDOWN_DEMO_WINDOW_SWAP] = "swap",
	};
	unsigned int i;

	mutex_lock(&rd_windows_lock);
	seq_printf(m, "# run-down windows since load: kind start_us end_us (%lu lost)\n",
		   rd_windows_lost);
	for (i = 0; i < rd_nr_windows; i++)
		seq_printf(m, "%s %llu %llu\n", kinds[rd_windows[i].kind],
			   div_u64(rd_windows[i].start_ns, NSEC_PER_USEC),
			   div_u64(rd_windows[i].end_ns, NSEC_PER_USEC));
	mutex_unlock(&rd_windows_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rd_windows);

/* debugfs swap: writing "1" orders every filter to swap its buffer. */
static ssize_t rd_swap_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	unsigned int val;
	int ret;

	ret = kstrtouint_from_user(ubuf, count, 0, &val);
	if (ret || val != 1) {
		pr_info_ratelimited("swap: write 1 to swap the filters' buffers\n");
		return -EINVAL;
	}
	/* Timed threads only ever finish: once none runs, none will. */
	if (atomic_read(&rd_timed_running)) {
		pr_info_ratelimited("swap: not while timed threads (run_ms) run without protection\n");
		return -EBUSY;
	}
	ret = rd_swap_all();
	return ret ?: count;
}

static const struct file_operations rd_swap_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= rd_swap_write,
};

static void rd_stop_threads(void)
{
	unsigned int i;

	for (i = 0; i < RD_MAX_THREADS; i++) {
		if (rd_tasks[i]) {
			kthread_stop(rd_tasks[i]);
			rd_tasks[i] = NULL;
		}
	}
}

static int __init rd_init(void)
{
	unsigned int i;
	int ret;

	rd_samples = kvcalloc(RD_TL_SAMPLES, sizeof(*rd_samples), GFP_KERNEL);
	rd_windows = kvcalloc(RD_TL_WINDOWS, sizeof(*rd_windows), GFP_KERNEL);
	if (!rd_samples || !rd_windows) {
		ret = -ENOMEM;
		goto err_free;
	}
	/* Before the swap file exists: a swap must see the timed runs coming. */
	if (rd_run_ms)
		atomic_set(&rd_timed_running, rd_threads);
	rd_t0 = ktime_get_ns();
	INIT_DELAYED_WORK(&rd_tl_work, rd_tl_sample);
	schedule_delayed_work(&rd_tl_work, 0);

	rd_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, rd_debugfs, NULL, &rd_stats_fops);
	debugfs_create_file("filters", 0444, rd_debugfs, NULL, &rd_filters_fops);
	debugfs_create_file("timeline", 0444, rd_debugfs, NULL, &rd_timeline_fops);
	debugfs_create_file("windows", 0444, rd_debugfs, NULL, &rd_windows_fops);
	debugfs_create_file("swap", 0200, rd_debugfs, NULL, &rd_swap_fops);

	ret = misc_register(&rd_misc);
	if (ret)
		goto err_debugfs;

	for (i = 0; i < rd_threads; i++) {
		struct task_struct *t;

		t = kthread_run(rd_thread, NULL, "rundown_demo/%u", i);
		if (IS_ERR(t)) {
			ret = PTR_ERR(t);
			goto err_threads;
		}
		rd_tasks[i] = t;
	}
	pr_info("loaded: %u thread(s), run-down protection %s\n", rd_threads,
		rd_protect ? "on" : "OFF (negative control: expect a crash)");
	return 0;

err_threads:
	rd_stop_threads();
	misc_deregister(&rd_misc);
err_debugfs:
	debugfs_remove_recursive(rd_debugfs);
	cancel_delayed_work_sync(&rd_tl_work);
err_free:
	kvfree(rd_windows);
	kvfree(rd_samples);
	return ret;
}

static void __exit rd_exit(void)
{
	unsigned int i;

	/*
	 * No filter is registered (each one's module depends on this one) and
	 * no file is open (the device pins the module): once the threads and
	 * the debugfs files are gone the counters are final.
	 */
	rd_stop_threads();
	misc_deregister(&rd_misc);
	debugfs_remove_recursive(rd_debugfs);
	cancel_delayed_work_sync(&rd_tl_work);
	kvfree(rd_windows);
	kvfree(rd_samples);

	for (i = 0; i < RD_NR_COUNTERS; i++)
		pr_info("total %s %lu\n", rd_counter_names[i], rd_sum(i));
}

module_init(rd_init);
module_exit(rd_exit);

MODULE_DESCRIPTION("Run-down protection demo: a filter manager calling into unloadable filters");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(EX_RUNDOWN_VERSION);
