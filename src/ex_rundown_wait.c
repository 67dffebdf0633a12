// SPDX-License-Identifier: GPL-2.0
/*
 * Run-down protection: where waiters sleep, for both families.
 *
 * A reference is one word, so its waiters cannot queue in it: they queue in
 * a table of lists hashed by the reference's address, as wait_var_event()
 * does. The table is the library's own for two reasons.
 *
 *  - The last release of a run-down wakes the waiters, and a release may
 *    run in any context: in a hard interrupt, or under a raw spinlock of its
 *    caller. wake_up_var() takes the wait queue's spinlock_t, which sleeps
 *    on PREEMPT_RT. These lists are under raw spinlocks, and a waiter is
 *    woken with wake_up_process(), which PREEMPT_RT allows anywhere.
 *
 *  - A waiter that has been woken has not yet run. If it then had to look
 *    at the reference again to learn why, it could find it live again (the
 *    owner reinitialised it and someone acquired) and sleep on, woken by
 *    nobody; or find it changed by another waiter's owner, who may reuse
 *    the object once its own wait returned. So a wait can also be *ended*:
 *    whoever finds, under the list's lock, that a run-down is over (a
 *    waiter that sees the reference drained, a reinit) tells every waiter
 *    of the reference on the list so, with @done, and the waiter returns
 *    without reading the reference again. A waiter reads the reference
 *    only with that lock held.
 *
 * The last release only wakes the waiters, it does not end their waits: it
 * computes "last" from the value it wrote, and by the time it takes the
 * lock the reference may already be reinitialised and run down anew (its
 * waiter saw it drained and returned). A wake-up that comes that late is a
 * spurious one: the waiter it reaches looks again, under the lock.
 *
 * A waiter goes on the list and begins the run-down (sets the draining bit,
 * or the per-CPU family's mode bits) in one locked section, so that every
 * waiter on the list has begun: a waiter that ends the others' waits, or a
 * reinit, ends only waits that the run-down it saw end satisfies. Only the
 * per-CPU family's grace period and collection, which sleep, come after.
 *
 * Lost wake-ups: the last release stores the count with a fully ordered
 * read-modify-write and then takes the lock; a waiter adds itself to the
 * list and reads the count with the lock held. Either the release's locked
 * section comes first, and the waiter's lock acquisition orders the store
 * before its read, or the waiter's comes first, and the release finds it on
 * the list. The litmus test wake-vs-wait checks this against the kernel's
 * memory model. The lock is taken on every last release of a run-down,
 * which is rare; no release of a reference that is not being run down
 * comes here.
 *
 * Waking is done under the lock, and a waiter always takes the lock before
 * its wait returns: so the waiter's entry (on its stack) and its task stay
 * valid while the waker uses them. On PREEMPT_RT this bounds the time spent
 * with interrupts off by the number of waiters in one list; there are
 * EX_RUNDOWN_WAIT_BITS of hash to keep that small.
 */

#define pr_fmt(fmt) "ex_rundown: " fmt

#include <linux/cache.h>
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "ex_rundown_internal.h"

#include <trace/events/ex_rundown.h>

#define EX_RUNDOWN_WAIT_BITS	6

struct ex_rundown_wait_queue {
	raw_spinlock_t lock;
	struct hlist_head waiters;
} ____cacheline_aligned_in_smp;

static struct ex_rundown_wait_queue ex_rundown_wait_table[1 << EX_RUNDOWN_WAIT_BITS] = {
	[0 ... (1 << EX_RUNDOWN_WAIT_BITS) - 1] = {
		.lock = __RAW_SPIN_LOCK_UNLOCKED(ex_rundown_wait_table.lock),
	},
};

/* One task waiting for the run-down of @ref; on the waiter's stack. */
struct ex_rundown_waiter {
	struct hlist_node node;
	const void *ref;
	struct task_struct *task;
	bool done;		/* the run-down is over: return */
	/* For debugfs (ex_rundown_waits_show()) only. */
	const struct ex_rundown_wait_ops *ops;
	unsigned long since;	/* jiffies */
	unsigned long ip;	/* the caller of the API function */
};

static struct ex_rundown_wait_queue *ex_rundown_wait_queue(const void *ref)
{
	return &ex_rundown_wait_table[hash_ptr(ref, EX_RUNDOWN_WAIT_BITS)];
}

/* For a caller that must change @ref and end its waits in one step. */
unsigned long ex_rundown_wait_lock(const void *ref)
	__acquires(&ex_rundown_wait_queue(ref)->lock)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&ex_rundown_wait_queue(ref)->lock, flags);
	return flags;
}

void ex_rundown_wait_unlock(const void *ref, unsigned long flags)
	__releases(&ex_rundown_wait_queue(ref)->lock)
{
	raw_spin_unlock_irqrestore(&ex_rundown_wait_queue(ref)->lock, flags);
}

/*
 * End every wait on @ref: its run-down is over, which the caller has just
 * seen under the lock. Each waiter leaves the list, learns that its wait is
 * over, and is woken.
 */
void ex_rundown_end_waits_locked(const void *ref)
{
	struct ex_rundown_wait_queue *q = ex_rundown_wait_queue(ref);
	struct ex_rundown_waiter *w;
	struct hlist_node *tmp;

	lockdep_assert_held(&q->lock);
	hlist_for_each_entry_safe(w, tmp, &q->waiters, node) {
		if (w->ref != ref)
			continue;
		hlist_del_init(&w->node);
		w->done = true;
		wake_up_process(w->task);
	}
}

/*
 * The last release of a run-down, in any context: wake the waiters of @ref,
 * which look at it again (see the top for why not end their waits). The
 * caller's fully ordered read-modify-write of the count comes before the
 * lock. Only the address is used: @ref may be freed already.
 */
void ex_rundown_wake(const void *ref)
{
	struct ex_rundown_wait_queue *q = ex_rundown_wait_queue(ref);
	struct ex_rundown_waiter *w;
	unsigned long flags;

	raw_spin_lock_irqsave(&q->lock, flags);
	hlist_for_each_entry(w, &q->waiters, node)
		if (w->ref == ref)
			wake_up_process(w->task);
	raw_spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * ex_rundown_wait_on() - the wait loop of every wait of both families
 * @ref: the reference
 * @ops: the family's begin, begin_sleep, drained and held
 * @name: what the hung report calls @ref besides its address
 * @state: TASK_UNINTERRUPTIBLE or TASK_KILLABLE
 * @timeout: the longest wait in jiffies, @ops->begin included; with
 *	MAX_SCHEDULE_TIMEOUT the wait is untimed, and reported once if it
 *	lasts longer than hung_timeout_secs (the hung-task detector skips
 *	killable sleeps, so for those this report is the only one)
 * @ip: the caller of the API function, for the report
 *
 * Return: the jiffies left (at least 1) once the run-down is over, 0 if
 * @timeout elapsed first, -ERESTARTSYS if a fatal signal ended a
 * TASK_KILLABLE wait; as wait_var_event_timeout() would.
 */
long ex_rundown_wait_on(void *ref, const struct ex_rundown_wait_ops *ops,
			const char *name, unsigned int state, long timeout,
			unsigned long ip)
{
	struct ex_rundown_wait_queue *q = ex_rundown_wait_queue(ref);
	unsigned long start = jiffies;
	struct ex_rundown_waiter w = {
		.ref = ref, .task = current, .ops = ops, .since = start, .ip = ip,
	};
	bool timed = timeout != MAX_SCHEDULE_TIMEOUT;
	unsigned int hung_secs = timed ? 0 : ex_rundown_hung_timeout();
	unsigned long hung_at = start + hung_secs * HZ;
	unsigned long held, cookie;
	u64 t0 = 0;
	long left, ret;

	might_sleep();
	if (trace_ex_rundown_wait_end_enabled())
		t0 = ktime_get_ns();
	trace_ex_rundown_wait_start(ref, ops->pcpu, timed ? timeout : -1, ip);
	/* On the list and begun in one step: see the top. */
	raw_spin_lock_irq(&q->lock);
	hlist_add_head(&w.node, &q->waiters);
	cookie = ops->begin(ref);
	raw_spin_unlock_irq(&q->lock);
	if (cookie)
		ops->begin_sleep(ref, cookie);

	left = timed ? max_t(long, timeout - (long)(jiffies - start), 0) : timeout;

	raw_spin_lock_irq(&q->lock);
	for (;;) {
		if (w.done)
			break;
		if (ops->drained(ref)) {
			/* Over for every waiter: none need read @ref again. */
			ex_rundown_end_waits_locked(ref);
			break;
		}
		if (signal_pending_state(state, current)) {
			ret = -ERESTARTSYS;
			goto out;
		}
		if (!left) {
			ret = 0;
			goto out;
		}
		if (hung_secs && time_after_eq(jiffies, hung_at)) {
			held = ops->held(ref);
			raw_spin_unlock_irq(&q->lock);
			ex_rundown_report_hung(ref, name, ops->pcpu, held,
					       hung_secs, ip);
			hung_secs = 0;
			raw_spin_lock_irq(&q->lock);
			continue;
		}
		set_current_state(state);
		raw_spin_unlock_irq(&q->lock);
		if (hung_secs)
			schedule_timeout(max_t(long, (long)(hung_at - jiffies), 1));
		else if (timed)
			left = schedule_timeout(left);
		else
			schedule();
		raw_spin_lock_irq(&q->lock);
	}
	ret = max(left, 1L);
out:
	hlist_del_init(&w.node);
	raw_spin_unlock_irq(&q->lock);
	/* Not @ref's contents: the owner may free it once its wait is over. */
	/* The event enabled during the wait: jiffies' precision then. */
	trace_ex_rundown_wait_end(ref, ops->pcpu, timed || ret < 0 ? ret : 0,
				  t0 ? div_u64(ktime_get_ns() - t0, NSEC_PER_USEC) :
				       jiffies_to_usecs(jiffies - start),
				  ip);
	return ret;
}

/* A wait in progress as debugfs shows it, copied out of the table. */
struct ex_rundown_wait_info {
	const void *ref;
	unsigned long held, since, ip;
	pid_t pid;
	bool pcpu;
	char comm[TASK_COMM_LEN];
};

/* Waits listed per bucket; more are counted. */
#define EX_RUNDOWN_WAITS_SHOWN	16

/**
 * ex_rundown_bucket_copy() - copy the waits of a bucket, for debugfs
 * @q: the bucket
 * @info: room for EX_RUNDOWN_WAITS_SHOWN waits
 * @per_ref: one entry per reference, however many wait on it
 * @more: set to the waits there was no room for
 *
 * Copied under the bucket's lock, where each waiter is on the list, so
 * that its entry, task and reference are alive (the reference until its
 * wait returns, which takes this lock): ->held() reads it as the hung
 * report does. The caller prints the copy outside the lock, which a last
 * release in hard IRQ may be spinning on.
 *
 * Context: process context; takes and releases @q's lock, IRQs off.
 * Return: the entries filled in @info.
 */
static unsigned int ex_rundown_bucket_copy(struct ex_rundown_wait_queue *q,
					   struct ex_rundown_wait_info *info,
					   bool per_ref, unsigned int *more)
{
	struct ex_rundown_wait_info *i;
	struct ex_rundown_waiter *w;
	unsigned int nr = 0, j;

	*more = 0;
	raw_spin_lock_irq(&q->lock);
	hlist_for_each_entry(w, &q->waiters, node) {
		for (j = 0; per_ref && j < nr && info[j].ref != w->ref; j++)
			;
		if (per_ref && j < nr)
			continue;
		if (nr == EX_RUNDOWN_WAITS_SHOWN) {
			(*more)++;
			continue;
		}
		i = &info[nr++];
		i->ref = w->ref;
		i->held = w->ops->held(w->ref);
		i->since = w->since;
		i->ip = w->ip;
		i->pid = task_pid_nr(w->task);
		i->pcpu = w->ops->pcpu;
		memcpy(i->comm, w->task->comm, sizeof(i->comm));
		i->comm[sizeof(i->comm) - 1] = '\0';
	}
	raw_spin_unlock_irq(&q->lock);
	return nr;
}

/* Debugfs: one line per wait in progress. */
void ex_rundown_waits_show(struct seq_file *m)
{
	struct ex_rundown_wait_info info[EX_RUNDOWN_WAITS_SHOWN], *i;
	struct ex_rundown_wait_queue *q;
	unsigned int nr, more;
	unsigned long site;

	for (q = ex_rundown_wait_table;
	     q < ex_rundown_wait_table + ARRAY_SIZE(ex_rundown_wait_table); q++) {
		nr = ex_rundown_bucket_copy(q, info, false, &more);
		for (i = info; i < info + nr; i++) {
			seq_printf(m, "%d %s %s %p ", i->pid, i->comm,
				   i->pcpu ? "pcpu" : "ref", i->ref);
			site = ex_rundown_init_site(i->ref);
			if (site)
				seq_printf(m, "%pS", (void *)site);
			else
				seq_putc(m, '?');
			seq_printf(m, " %lu %u %pS\n", i->held,
				   jiffies_to_msecs(jiffies - i->since),
				   (void *)i->ip);
		}
		if (more)
			seq_printf(m, "# %u more in one bucket, not listed\n", more);
	}
}

#ifdef CONFIG_EX_RUNDOWN_DEBUG_HOLDERS
/*
 * Debugfs: the holders of each reference being waited for. The holder table
 * has a lock of its own, and its stacks are printed outside both: copy the
 * references, then look. A reference whose wait ends meanwhile is only an
 * address.
 */
void ex_rundown_waits_holders_show(struct seq_file *m)
{
	struct ex_rundown_wait_info info[EX_RUNDOWN_WAITS_SHOWN];
	struct ex_rundown_wait_queue *q;
	unsigned int nr, more, i;

	for (q = ex_rundown_wait_table;
	     q < ex_rundown_wait_table + ARRAY_SIZE(ex_rundown_wait_table); q++) {
		nr = ex_rundown_bucket_copy(q, info, true, &more);
		for (i = 0; i < nr; i++)
			ex_rundown_holders_show(m, info[i].ref);
		if (more)
			seq_printf(m, "# %u more waits in one bucket, not listed\n", more);
	}
}
#endif

/*
 * ex_rundown_wait_untimed() - every untimed wait of both families
 * @ref: the reference
 * @dep: its lockdep map (NULL without lockdep): the wait is an exclusive
 *	acquisition of @subclass for as long as it sleeps
 * @ops: the family's side of the wait, as for ex_rundown_wait_on()
 * @subclass: lockdep subclass (ex_rundown_wait_nested()), 0 otherwise
 * @state: TASK_UNINTERRUPTIBLE or TASK_KILLABLE
 * @ip: the caller of the API function
 *
 * Return: 0 once the run-down is over, -ERESTARTSYS if a fatal signal ended
 * a TASK_KILLABLE wait.
 */
int ex_rundown_wait_untimed(void *ref, struct lockdep_map *dep,
			    const struct ex_rundown_wait_ops *ops,
			    unsigned int subclass, unsigned int state,
			    unsigned long ip)
{
	long ret;

	might_sleep();
	ex_rundown_dep_wait(dep, subclass, ip);
	ret = ex_rundown_wait_on(ref, ops, ex_rundown_dep_name(dep), state,
				 MAX_SCHEDULE_TIMEOUT, ip);
	ex_rundown_dep_wait_done(dep, ip);
	return ret < 0 ? ret : 0;
}
