// SPDX-License-Identifier: GPL-2.0
/*
 * Who holds protection? (CONFIG_EX_RUNDOWN_DEBUG_HOLDERS)
 *
 * When a run-down wait hangs, the question is which acquire was never
 * released. This file records, for every outstanding protection, the stack
 * of the acquire in the kernel's stack depot, so that the hung-wait report
 * of ex_rundown_wait() can list them.
 *
 * Why not lib/ref_tracker.c, which does this for netdev and netns
 * references? It fits an API where each holder keeps a handle
 * (ref_tracker_alloc() hands out a struct ref_tracker that the matching
 * ref_tracker_free() takes back), and a per-object directory with an init
 * and an exit that frees its quarantine. ex_rundown_acquire() and
 * ex_rundown_release() carry no handle, a reference has no destructor (it
 * may live on a stack or be freed the moment a wait returns), protection
 * may be taken in hard interrupts, where ref_tracker's kzalloc() per
 * acquire would be a GFP_ATOMIC allocation that can fail, and a failed
 * allocation would lose the holder the report is for. So this file keeps
 * what ref_tracker keeps, a stack-depot handle
 * per holder, in a table of its own.
 *
 * The table is global, bounded (EX_RUNDOWN_HOLDERS_MAX entries, no
 * allocation after init) and hashed by the reference's address. An entry
 * says "@count protections of @ref, taken by @task (or outside task context)
 * at @stack". A release, which does not say which acquire it ends, removes
 * the newest entry of the same task and reference if there is one, else any
 * entry of that reference (a protection handed to another task or to an
 * interrupt). When the table is full an acquire goes unrecorded and is
 * counted: the report says how many it may be missing, and nothing fails.
 *
 * The release side runs before the release's final decrement: once that is
 * done the owner may free the reference, and a new one may be initialised at
 * the same address, so the entry must be gone by then.
 */

#define pr_fmt(fmt) "ex_rundown: " fmt

#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/jump_label.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/stackdepot.h>
#include <linux/stacktrace.h>
#include <linux/string.h>

#include <ex_rundown.h>

#include "ex_rundown_compat.h"
#include "ex_rundown_internal.h"

#define EX_RUNDOWN_HOLDERS_MAX		1024
#define EX_RUNDOWN_HOLDERS_HASH_BITS	8
#define EX_RUNDOWN_HOLDERS_STACK_DEPTH	24
/* Holders listed in one report; the rest are only counted. */
#define EX_RUNDOWN_HOLDERS_REPORTED	8

struct ex_rundown_holder {
	struct hlist_node node;
	const void *ref;
	/* Compared, never dereferenced: NULL outside task context. */
	const struct task_struct *task;
	unsigned long count;
	unsigned long since;
	depot_stack_handle_t stack;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

/*
 * A raw spinlock with interrupts off: acquire and release may run in hard
 * interrupts, and on PREEMPT_RT under raw spinlocks of their callers.
 */
static DEFINE_RAW_SPINLOCK(ex_rundown_holders_lock);
static DEFINE_HASHTABLE(ex_rundown_holders_table, EX_RUNDOWN_HOLDERS_HASH_BITS);
static struct ex_rundown_holder ex_rundown_holders[EX_RUNDOWN_HOLDERS_MAX];
/* Entries never used yet are taken in order, freed ones from the list. */
static unsigned int ex_rundown_holders_used;
static HLIST_HEAD(ex_rundown_holders_free);
static atomic_long_t ex_rundown_holders_untracked = ATOMIC_LONG_INIT(0);

int ex_rundown_holders_init(void)
{
	/* Sleeps, hence here and not on the first acquire. */
	int ret = stack_depot_init();

	/* Divert every acquire and release to the slow paths that track. */
	if (!ret)
		static_branch_enable(&ex_rundown_bookkeeping_key);
	return ret;
}

static struct ex_rundown_holder *ex_rundown_holder_alloc(void)
{
	struct ex_rundown_holder *h;

	lockdep_assert_held(&ex_rundown_holders_lock);
	if (!hlist_empty(&ex_rundown_holders_free)) {
		h = hlist_entry(ex_rundown_holders_free.first,
				struct ex_rundown_holder, node);
		hlist_del(&h->node);
		return h;
	}
	if (ex_rundown_holders_used < EX_RUNDOWN_HOLDERS_MAX)
		return &ex_rundown_holders[ex_rundown_holders_used++];
	return NULL;
}

static void ex_rundown_holder_free(struct ex_rundown_holder *h)
{
	lockdep_assert_held(&ex_rundown_holders_lock);
	hash_del(&h->node);
	h->ref = NULL;
	hlist_add_head(&h->node, &ex_rundown_holders_free);
}

/*
 * May the stack depot allocate a new pool here? The page allocator takes
 * spinlock_t locks, which sleep on PREEMPT_RT: not in a hard interrupt, with
 * interrupts off, or (where the preempt count tells) inside a raw spinlock
 * or a preempt-disabled region, whatever the kernel. Elsewhere the depot
 * stores the stack only if it has room, and the report says when it had
 * none.
 */
static bool ex_rundown_holders_may_alloc(void)
{
	if (!in_task() || irqs_disabled())
		return false;
	return !IS_ENABLED(CONFIG_PREEMPT_COUNT) || !preempt_count();
}

/* noinline: _RET_IP_ is then an address in __ex_rundown_*acquire_slow(). */
noinline void ex_rundown_holders_add(const void *ref, unsigned long count)
{
	unsigned long entries[EX_RUNDOWN_HOLDERS_STACK_DEPTH];
	unsigned long caller = _RET_IP_;
	struct ex_rundown_holder *h;
	depot_stack_handle_t stack;
	unsigned int nr, skip;
	unsigned long flags;

	/*
	 * Start the trace at the acquire: how many frames of the stack walker
	 * and of this function come first differs between architectures
	 * (UML's walker does not honour skipnr), so look for the caller.
	 */
	nr = stack_trace_save(entries, ARRAY_SIZE(entries), 0);
	for (skip = 0; skip < nr && entries[skip] != caller; skip++)
		;
	if (skip == nr)
		skip = 0;
	stack = stack_depot_save_flags(entries + skip, nr - skip,
				       GFP_NOWAIT | __GFP_NOWARN,
				       ex_rundown_holders_may_alloc() ?
				       STACK_DEPOT_FLAG_CAN_ALLOC : 0);

	raw_spin_lock_irqsave(&ex_rundown_holders_lock, flags);
	h = ex_rundown_holder_alloc();
	if (h) {
		h->ref = ref;
		h->count = count;
		h->since = jiffies;
		h->stack = stack;
		if (in_task()) {
			h->task = current;
			h->pid = task_pid_nr(current);
			strscpy(h->comm, current->comm, sizeof(h->comm));
		} else {
			h->task = NULL;
			h->pid = 0;
			strscpy(h->comm, "(interrupt)", sizeof(h->comm));
		}
		/* At the head: the first match of a bucket walk is the newest. */
		hash_add(ex_rundown_holders_table, &h->node, (unsigned long)ref);
	}
	raw_spin_unlock_irqrestore(&ex_rundown_holders_lock, flags);
	if (!h)
		atomic_long_add(count, &ex_rundown_holders_untracked);
}

/* The newest entry of @ref taken by @task, or by anyone if @any_task. */
static struct ex_rundown_holder *
ex_rundown_holder_find(const void *ref, const struct task_struct *task,
		       bool any_task)
{
	struct ex_rundown_holder *h;

	hash_for_each_possible(ex_rundown_holders_table, h, node,
			       (unsigned long)ref)
		if (h->ref == ref && (any_task || h->task == task))
			return h;
	return NULL;
}

void ex_rundown_holders_del(const void *ref, unsigned long count)
{
	const struct task_struct *self = in_task() ? current : NULL;
	struct ex_rundown_holder *h;
	unsigned long flags, n;

	raw_spin_lock_irqsave(&ex_rundown_holders_lock, flags);
	while (count) {
		h = ex_rundown_holder_find(ref, self, false);
		if (!h)
			h = ex_rundown_holder_find(ref, NULL, true);
		if (!h)
			break;		/* an untracked acquire, or a misuse */
		n = min(count, h->count);
		h->count -= n;
		count -= n;
		if (!h->count)
			ex_rundown_holder_free(h);
	}
	raw_spin_unlock_irqrestore(&ex_rundown_holders_lock, flags);
}

void ex_rundown_holders_forget(const void *ref)
{
	struct ex_rundown_holder *h;
	struct hlist_node *tmp;
	unsigned long flags;

	raw_spin_lock_irqsave(&ex_rundown_holders_lock, flags);
	hash_for_each_possible_safe(ex_rundown_holders_table, h, tmp, node,
				    (unsigned long)ref)
		if (h->ref == ref)
			ex_rundown_holder_free(h);
	raw_spin_unlock_irqrestore(&ex_rundown_holders_lock, flags);
}

/*
 * Copy up to EX_RUNDOWN_HOLDERS_REPORTED holders of @ref into @found under
 * the lock, to be printed outside it (printing is slow). Return how many
 * were copied; *@total is how many there are.
 */
static unsigned int ex_rundown_holders_copy(const void *ref,
					    struct ex_rundown_holder *found,
					    unsigned int *total)
{
	struct ex_rundown_holder *h;
	unsigned int nr = 0;
	unsigned long flags;

	*total = 0;
	raw_spin_lock_irqsave(&ex_rundown_holders_lock, flags);
	hash_for_each_possible(ex_rundown_holders_table, h, node,
			       (unsigned long)ref) {
		if (h->ref != ref)
			continue;
		if (nr < EX_RUNDOWN_HOLDERS_REPORTED)
			found[nr++] = *h;
		(*total)++;
	}
	raw_spin_unlock_irqrestore(&ex_rundown_holders_lock, flags);
	return nr;
}

void ex_rundown_holders_report(const void *ref)
{
	struct ex_rundown_holder found[EX_RUNDOWN_HOLDERS_REPORTED];
	struct ex_rundown_holder *h;
	unsigned int nr, total, i;

	nr = ex_rundown_holders_copy(ref, found, &total);

	pr_warn("%u recorded holder(s) of %pS, newest first:\n", total, ref);
	for (i = 0; i < nr; i++) {
		h = &found[i];
		pr_warn("holder %u: %s[%d] took %lu protection(s) %u ms ago at:\n",
			i + 1, h->comm, h->pid, h->count,
			jiffies_to_msecs(jiffies - h->since));
		if (h->stack)
			stack_depot_print(h->stack);
		else
			pr_warn("  (no stack: the walk found none or the depot was full)\n");
	}
	if (total > nr)
		pr_warn("%u more holder(s) not listed\n", total - nr);
	if (atomic_long_read(&ex_rundown_holders_untracked))
		pr_warn("%ld acquire(s) of any reference not recorded: holder table full (%u entries)\n",
			atomic_long_read(&ex_rundown_holders_untracked),
			EX_RUNDOWN_HOLDERS_MAX);
}

/* Debugfs (/sys/kernel/debug/ex_rundown/holders): as the hung report, into @m. */
void ex_rundown_holders_show(struct seq_file *m, const void *ref)
{
	struct ex_rundown_holder found[EX_RUNDOWN_HOLDERS_REPORTED];
	struct ex_rundown_holder *h;
	unsigned int nr, total, i, n, j;
	unsigned long *entries;

	nr = ex_rundown_holders_copy(ref, found, &total);

	seq_printf(m, "ref %p: %u holder(s), newest first\n", ref, total);
	for (i = 0; i < nr; i++) {
		h = &found[i];
		seq_printf(m, " holder %u: %s[%d] took %lu protection(s) %u ms ago at:\n",
			   i + 1, h->comm, h->pid, h->count,
			   jiffies_to_msecs(jiffies - h->since));
		n = h->stack ? stack_depot_fetch(h->stack, &entries) : 0;
		for (j = 0; j < n; j++)
			seq_printf(m, "  %pS\n", (void *)entries[j]);
		if (!n)
			seq_puts(m, "  (no stack: the walk found none or the depot was full)\n");
	}
	if (total > nr)
		seq_printf(m, " %u more holder(s) not listed\n", total - nr);
}
