// SPDX-License-Identifier: GPL-2.0
/*
 * rundown_demo_filter.ko: the filter of the demo, the anti-virus driver of
 * the NT example. It registers with rundown_demo.ko and scans every request
 * for the signatures in its database.
 *
 * Two uses of run-down protection meet here:
 *
 *  - the module itself. The manager calls the handler with protection on the
 *    filter held; module_exit calls rundown_demo_unregister(), which runs
 *    that protection down, so when the module's code and data are freed no
 *    call is inside them. Nothing pins the module: it can be unloaded at any
 *    moment, under any load.
 *
 *  - the signature database, a buffer the manager can order replaced (its
 *    debugfs file "swap") while requests scan it. Scans hold protection on
 *    the buffer; a swap builds the new buffer, runs the old one down,
 *    publishes the new one, re-initialises the protection and only then
 *    frees the old one. A scan that finds a swap under way does not wait: it
 *    passes the request on unscanned ("busy"), as a failed acquire should.
 *
 * Freed buffers are poisoned, and every scan checks, after it is done, that
 * the buffer it used is still the one it started with. With run-down
 * protection (the default) the check never fires. With the manager's
 * protect=0 it catches the use-after-free and logs RUNDOWN_DEMO_UAF_MARKER;
 * and unloading the module kills the kernel, which jumps into freed code.
 *
 * Parameters delay_us and spin_us make every scan sleep or spin with the
 * buffer in hand, to widen the races the test is about.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/poison.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <ex_rundown.h>

#include "rundown_demo.h"

#define AV_MAX_DELAY_US		100000
#define AV_MAX_SPIN_US		1000

static unsigned int av_delay_us;
static unsigned int av_spin_us;

static int av_param_set_uint(const char *val, const struct kernel_param *kp,
			     unsigned int max)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v > max) {
		pr_err("%s: '%.*s' is not a whole number of microseconds from 0 to %u\n",
		       kp->name, (int)strcspn(val, "\n"), val, max);
		return -EINVAL;
	}
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static int av_delay_set(const char *val, const struct kernel_param *kp)
{
	return av_param_set_uint(val, kp, AV_MAX_DELAY_US);
}

static int av_spin_set(const char *val, const struct kernel_param *kp)
{
	return av_param_set_uint(val, kp, AV_MAX_SPIN_US);
}

static const struct kernel_param_ops av_delay_ops = {
	.set = av_delay_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops av_spin_ops = {
	.set = av_spin_set,
	.get = param_get_uint,
};

module_param_cb(delay_us, &av_delay_ops, &av_delay_us, 0644);
MODULE_PARM_DESC(delay_us,
		 "Sleep in every scan, buffer in hand, in microseconds, 0 to 100000 (default 0)");
module_param_cb(spin_us, &av_spin_ops, &av_spin_us, 0644);
MODULE_PARM_DESC(spin_us,
		 "Busy-wait in every scan, buffer in hand, in microseconds, 0 to 1000 (default 0)");

#define AV_NSIGS	64
#define AV_DB_MAGIC	0x41564442	/* "AVDB" */
#define AV_DB_TAIL	0x42445641

/**
 * struct av_db - the signature database, the buffer that gets swapped
 * @magic: AV_DB_MAGIC while the buffer is live
 * @gen: generation: 0 for the first buffer of a load, then one per swap
 * @seed: seed of the checksum, derived from @gen
 * @sigs: the signatures, 16-bit patterns derived from @gen
 * @hits: how often each signature matched: written by every scan
 * @tail: AV_DB_TAIL while the buffer is live
 *
 * The whole buffer is derived from @gen, so a scan can check that nobody
 * freed or replaced it under its feet; a freed buffer is filled with
 * POISON_FREE first.
 */
struct av_db {
	u32 magic;
	u32 gen;
	u32 seed;
	u16 sigs[AV_NSIGS];
	atomic_t hits[AV_NSIGS];
	u32 tail;
};

/**
 * struct av_filter - the filter's state, one per load of the module
 * @base: what the manager knows of the filter
 * @protect: swaps run @db down (the manager's protect parameter); each call
 *	follows its request's protect
 * @db: the current database; read with READ_ONCE() under @db_rundown,
 *	replaced under @swap_lock
 * @db_window: open while a swap runs @db_rundown down (@swap_lock)
 * @db_rundown: protection of @db: every scan holds it, a swap runs it down
 * @swap_lock: serialises swaps
 * @gen: generation of the current database (@swap_lock)
 * @swaps: swaps done (@swap_lock)
 */
struct av_filter {
	struct rundown_demo_filter base;
	/* Read by every scan: away from the counts that every scan writes. */
	bool protect ____cacheline_aligned_in_smp;
	struct av_db *db;
	struct rundown_demo_window db_window;
	struct ex_rundown_ref db_rundown ____cacheline_aligned_in_smp;
	struct mutex swap_lock;	/* serialises swaps */
	u32 gen;
	u64 swaps;
};

static struct av_filter av;

/**
 * struct av_stats - the filter's own count, per CPU, for its account
 * @calls: calls of the handler; must equal the manager's dispatches
 * @busy: calls that found the database being swapped
 * @uaf: calls that found their database freed under them (protect=0)
 */
struct av_stats {
	unsigned long calls;
	unsigned long busy;
	unsigned long uaf;
};

static DEFINE_PER_CPU(struct av_stats, av_stats);

static inline u16 av_sig(u32 gen, unsigned int i)
{
	return hash_32(gen * AV_NSIGS + i, 16);
}

static struct av_db *av_db_alloc(u32 gen)
{
	struct av_db *db = kmalloc(sizeof(*db), GFP_KERNEL);
	unsigned int i;

	if (!db)
		return NULL;
	db->magic = AV_DB_MAGIC;
	db->gen = gen;
	db->seed = hash_32(gen, 32);
	for (i = 0; i < AV_NSIGS; i++) {
		db->sigs[i] = av_sig(gen, i);
		atomic_set(&db->hits[i], 0);
	}
	db->tail = AV_DB_TAIL;
	return db;
}

/* Poisoned before it is freed, so that a late reader can tell. */
static void av_db_free(struct av_db *db)
{
	memset(db, POISON_FREE, sizeof(*db));
	kfree(db);
}

/* Is @db still the live buffer of generation @gen? */
static bool av_db_intact(const struct av_db *db, u32 gen)
{
	unsigned int i;

	if (READ_ONCE(db->magic) != AV_DB_MAGIC || READ_ONCE(db->gen) != gen ||
	    READ_ONCE(db->tail) != AV_DB_TAIL)
		return false;
	for (i = 0; i < AV_NSIGS; i++)
		if (READ_ONCE(db->sigs[i]) != av_sig(gen, i))
			return false;
	return true;
}

/* The real work: look for every signature at every offset of the data. */
static u32 av_scan(const struct av_db *db, const u8 *data, size_t len,
		   unsigned long *matched)
{
	u32 matches = 0;
	size_t i;
	unsigned int s;

	for (i = 0; i + 1 < len; i++) {
		u16 w = data[i] | data[i + 1] << 8;

		for (s = 0; s < AV_NSIGS; s++) {
			if (db->sigs[s] == w) {
				matches++;
				__set_bit(s, matched);
			}
		}
	}
	return matches;
}

static void av_dawdle(void)
{
	unsigned int spin = READ_ONCE(av_spin_us);
	unsigned int delay = READ_ONCE(av_delay_us);

	if (spin)
		udelay(spin);
	if (delay)
		usleep_range(delay, delay + delay / 4 + 1);
}

static void av_handle(struct rundown_demo_filter *filter,
		      struct rundown_demo_work *work)
{
	struct av_filter *f = container_of(filter, struct av_filter, base);
	struct av_db *db;
	DECLARE_BITMAP(matched, AV_NSIGS) = { 0 };
	unsigned long window;
	unsigned int s;
	u32 gen;

	this_cpu_inc(av_stats.calls);
	if (work->protect) {
		window = rundown_demo_window_sample(&f->db_window);
		if (!ex_rundown_acquire(&f->db_rundown)) {
			this_cpu_inc(av_stats.busy);
			work->stray = !rundown_demo_window_refused(&f->db_window,
								   window);
			work->result = RUNDOWN_DEMO_BUSY;
			return;
		}
	}

	db = READ_ONCE(f->db);
	gen = READ_ONCE(db->gen);
	work->matches = av_scan(db, work->data, work->len, matched);
	work->checksum = jhash(work->data, work->len, db->seed);
	av_dawdle();

	if (!av_db_intact(db, gen)) {
		this_cpu_inc(av_stats.uaf);
		pr_err_ratelimited(RUNDOWN_DEMO_UAF_MARKER ": request %llu: the database of generation %u was freed under the scan (magic %#x, generation now %u)\n",
				   work->seq, gen, READ_ONCE(db->magic),
				   READ_ONCE(db->gen));
		work->result = RUNDOWN_DEMO_UAF;
	} else {
		for_each_set_bit(s, matched, AV_NSIGS)
			atomic_inc(&db->hits[s]);
		work->result = RUNDOWN_DEMO_DONE;
	}

	if (work->protect)
		ex_rundown_release(&f->db_rundown);
}

/*
 * Build the new database first, so that a failed allocation leaves the old
 * one in place and scans are refused only while the old one drains.
 */
static int av_swap_buffer(struct rundown_demo_filter *filter)
{
	struct av_filter *f = container_of(filter, struct av_filter, base);
	struct av_db *old, *new;
	u64 t0 = 0;

	mutex_lock(&f->swap_lock);
	new = av_db_alloc(f->gen + 1);
	if (!new) {
		mutex_unlock(&f->swap_lock);
		return -ENOMEM;
	}
	if (f->protect) {
		rundown_demo_window_open(&f->db_window);
		t0 = ktime_get_ns();
		ex_rundown_wait(&f->db_rundown);
	}
	old = f->db;
	WRITE_ONCE(f->db, new);
	/* RELEASE: a scan whose acquire succeeds from now on sees @new whole. */
	if (f->protect) {
		ex_rundown_reinit(&f->db_rundown);
		rundown_demo_window_close(&f->db_window);
		rundown_demo_note_window(RUNDOWN_DEMO_WINDOW_SWAP, t0,
					 ktime_get_ns());
	}
	f->gen++;
	f->swaps++;
	mutex_unlock(&f->swap_lock);

	av_db_free(old);
	return 0;
}

static const struct rundown_demo_filter_ops av_ops = {
	.handle		= av_handle,
	.swap_buffer	= av_swap_buffer,
};

static int __init av_init(void)
{
	int ret;

	av.protect = rundown_demo_protected();
	ex_rundown_init(&av.db_rundown);
	mutex_init(&av.swap_lock);
	av.db = av_db_alloc(0);
	if (!av.db)
		return -ENOMEM;

	av.base.name = KBUILD_MODNAME;
	av.base.ops = &av_ops;
	av.base.owner = THIS_MODULE;
	ret = rundown_demo_register(&av.base);
	if (ret) {
		av_db_free(av.db);
		return ret;
	}
	return 0;
}

static void __exit av_exit(void)
{
	u64 calls = 0, busy = 0, uaf = 0;
	int cpu;

	rundown_demo_unregister(&av.base);
	/*
	 * No call and no swap is inside the filter, and none will come: the
	 * database and the counts are final. (With protect=0 this is the lie
	 * that kills.)
	 */
	for_each_possible_cpu(cpu) {
		calls += per_cpu(av_stats.calls, cpu);
		busy += per_cpu(av_stats.busy, cpu);
		uaf += per_cpu(av_stats.uaf, cpu);
	}
	pr_info(RUNDOWN_DEMO_LOAD_FMT, av.base.id, calls, busy, uaf, av.swaps);
	av_db_free(av.db);
}

module_init(av_init);
module_exit(av_exit);

MODULE_DESCRIPTION("Run-down protection demo: a filter that may be unloaded at any time");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(EX_RUNDOWN_VERSION);
