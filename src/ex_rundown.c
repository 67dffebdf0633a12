// SPDX-License-Identifier: GPL-2.0
/*
 * Run-down protection: the shared-counter family (struct ex_rundown_ref).
 *
 * The whole state is one atomic_long_t:
 *
 *	bit 0		EX_RUNDOWN_DRAINING: a run-down has begun; acquires fail
 *	bits 1..62	the number of holders, in units of EX_RUNDOWN_BIAS
 *
 * Acquire is a compare-and-exchange loop that succeeds on the first try
 * unless another CPU changed the word in between; release is one
 * fetch-and-subtract: one locked read-modify-write each. A release of more
 * than is held takes the word below zero for a moment, and the part that
 * went below zero is added back at once (__ex_rundown_release_end()):
 * acquires refuse a negative word, so no protection can be granted on the
 * strength of the mistake, and the word ends clamped at zero (the reasoning
 * is at __ex_rundown_sub()). A release that checked before subtracting
 * would need a compare-and-exchange loop, which fails and retries whenever
 * another CPU gets in between: under contention, the case this family is
 * weakest at, that costs more than the check saves.
 *
 * Both fast paths are inline (__ex_rundown_add(), __ex_rundown_sub() in
 * include/ex_rundown.h). This file has their slow paths, which run the
 * same code with lockdep annotations and holder tracking around it and
 * report misuse, and everything else.
 *
 * The release that takes the count to zero while DRAINING is set wakes the
 * waiters with ex_rundown_wake() (src/ex_rundown_wait.c). It computes that
 * from the value it wrote, not by reading the reference again: once that
 * release has happened the owner may free the object, so nothing in this
 * file touches @ref afterwards (ex_rundown_wake() only hashes the address).
 *
 * Memory ordering, in the terms of Documentation/atomic_t.txt:
 *  - a successful acquire is an ACQUIRE: the holder's accesses to the object
 *    cannot move before it, and it pairs with the RELEASE of reinit;
 *  - release is fully ordered: the holder's accesses cannot move after it,
 *    and it orders the store of the count before the wake-up's look for
 *    sleepers (litmus test wake-vs-wait);
 *  - the waiter reads the count with ACQUIRE, pairing with the final
 *    release: whatever holders wrote is visible once wait returns; a
 *    waiter told by another that the run-down is over learns it under the
 *    wait queue's lock, after that one's ACQUIRE (litmus test wait-ended).
 */

#define pr_fmt(fmt) "ex_rundown: " fmt

#include <linux/export.h>
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/debug.h>
#include <linux/string.h>

#include <ex_rundown.h>

#include "ex_rundown_internal.h"

#include <trace/events/ex_rundown.h>

/* Without lockdep a reference is its counter and nothing else. */
static_assert(IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) ||
	      sizeof(struct ex_rundown_ref) == sizeof(atomic_long_t));

/* The holders a value of the count stands for, for reports. */
static unsigned long ex_rundown_holders_of(long count)
{
	/* Below zero only while the excess of a release is added back. */
	return count < 0 ? 0 : (unsigned long)count / EX_RUNDOWN_BIAS;
}

/**
 * __ex_rundown_init() - initialise a run-down reference (use ex_rundown_init())
 * @ref: the reference
 * @name: lockdep class name
 * @key: lockdep class key, one per ex_rundown_init() call site
 *
 * Context: any; must not race with other uses of @ref.
 */
void __ex_rundown_init(struct ex_rundown_ref *ref, const char *name,
		       struct lock_class_key *key)
{
	atomic_long_set(&ref->count, 0);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	lockdep_init_map_wait(&ref->dep_map, name, key, 0, LD_WAIT_SLEEP);
#endif
	/* Drop what a previous reference at this address left behind. */
	ex_rundown_holders_forget(ref);
	ex_rundown_note_init(ref, _RET_IP_);
}
EXPORT_SYMBOL(__ex_rundown_init);

/**
 * ex_rundown_reinit() - make a drained reference usable again
 * @ref: the reference
 *
 * Legal once the run-down is over: after a wait returned or after
 * ex_rundown_completed(). Acquires succeed again from here on. Waits still
 * under way on @ref (woken, or just begun) return, as the run-down they
 * waited for is over. NT: ExReInitializeRundownProtection.
 *
 * On a reference that is not drained (idle, held, or with holders still to
 * release during a run-down) it warns once and changes nothing.
 *
 * Context: any.
 * Ordering: RELEASE; a holder whose acquire succeeds afterwards sees every
 * store made before the reinit (such as a newly installed object).
 */
void ex_rundown_reinit(struct ex_rundown_ref *ref)
{
	long old = EX_RUNDOWN_DRAINING;
	unsigned long flags;
	bool drained;

	/*
	 * Under the wait queue's lock, so that every waiter of this run-down,
	 * which went on the queue before it began, is told it is over before
	 * the reference can be acquired again.
	 */
	flags = ex_rundown_wait_lock(ref);
	/* RELEASE: pairs with the ACQUIRE of the next successful acquire. */
	drained = atomic_long_try_cmpxchg_release(&ref->count, &old, 0);
	if (drained)
		ex_rundown_end_waits_locked(ref);
	ex_rundown_wait_unlock(ref, flags);
	if (!drained)
		ex_rundown_misuse("reinit of a reference that is not drained (%lu holder(s)%s)\n",
				  ex_rundown_holders_of(old),
				  old & EX_RUNDOWN_DRAINING ? ", waiting" : ", no run-down");
}
EXPORT_SYMBOL(ex_rundown_reinit);

static noinline bool ex_rundown_acquire_overflow(unsigned long count)
{
	ex_rundown_misuse("acquire of %lu would overflow the holder count\n", count);
	return false;
}

/**
 * __ex_rundown_acquire_slow() - acquire, out of line (for the header's use)
 * @ref: the reference
 * @count: how many protections to take, at least 1
 *
 * ex_rundown_acquire_many() calls this instead of adding inline while
 * protections are tracked (lockdep, holder tracking), and when its count
 * would overflow: here the overflow is reported. _RET_IP_ is then the
 * caller of the acquire, which is what lockdep and holder tracking record.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: ACQUIRE on success, none on failure.
 * Return: as ex_rundown_acquire_many().
 */
bool __ex_rundown_acquire_slow(struct ex_rundown_ref *ref, unsigned long count)
{
	int ret;

	if (unlikely(count > EX_RUNDOWN_COUNT_MAX))
		return ex_rundown_acquire_overflow(count);
	ret = __ex_rundown_add(ref, count);
	if (unlikely(ret < 0))
		return ex_rundown_acquire_overflow(count);
	if (!ret)
		return false;
	ex_rundown_dep_acquire_read(ex_rundown_dep(ref), _RET_IP_);
	ex_rundown_holders_add(ref, count);
	return true;
}
EXPORT_SYMBOL(__ex_rundown_acquire_slow);

/**
 * __ex_rundown_release_end() - end of a release, out of line (for the header's use)
 * @ref: the reference
 * @count: the count of the release
 * @new: the count the release's subtraction left: DRAINING alone (the last
 *	release of a run-down) or below zero (more released than was held)
 *
 * Below zero, add back the part of the subtraction that went below zero:
 * all of it if the count was negative already (see __ex_rundown_sub() for
 * why that leaves the count exact), and report the misuse. Then, if that
 * leaves the reference drained during a run-down, wake the waiters.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: fully ordered; pairs with the ACQUIRE of the waiter.
 */
void __ex_rundown_release_end(struct ex_rundown_ref *ref, unsigned long count,
			      long new)
{
	unsigned long excess = 0;

	if (new < 0) {
		/* The holders the count is short of, draining bit aside. */
		excess = min(count, (unsigned long)-(new >> 1));
		new = atomic_long_add_return(excess * EX_RUNDOWN_BIAS,
					     &ref->count);
	}

	/* No access to *ref past this point: see the comment at the top. */
	if (new == EX_RUNDOWN_DRAINING)
		ex_rundown_wake(ref);
	if (excess)
		ex_rundown_misuse("release of %lu protection(s) with %lu held\n",
				  count, count - excess);
}
EXPORT_SYMBOL(__ex_rundown_release_end);

/**
 * __ex_rundown_release_slow() - release, out of line (for the header's use)
 * @ref: the reference
 * @count: how many protections to drop, at least 1
 *
 * ex_rundown_release_many() calls this instead of subtracting inline while
 * protections are tracked, and for a @count above EX_RUNDOWN_COUNT_MAX,
 * which can never be held and is refused here with a warning.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: fully ordered, as ex_rundown_release_many().
 */
void __ex_rundown_release_slow(struct ex_rundown_ref *ref, unsigned long count)
{
	if (unlikely(count > EX_RUNDOWN_COUNT_MAX)) {
		ex_rundown_misuse("release of %lu protections, more than can be held\n",
				  count);
		return;
	}

	/* Bookkeeping first: the final decrement may free @ref. */
	ex_rundown_dep_release_read(ex_rundown_dep(ref), count, _RET_IP_);
	ex_rundown_holders_del(ref, count);

	__ex_rundown_sub(ref, count);
}
EXPORT_SYMBOL(__ex_rundown_release_slow);

/**
 * ex_rundown_hand_off() - let another context release a protection
 * @ref: the reference, on which the calling task took protection
 *
 * For lockdep only; without CONFIG_DEBUG_LOCK_ALLOC it does nothing. Lockdep
 * sees a protection taken in task context as held by that task, like a read
 * lock, until the task releases it: that is how it finds a holder that
 * waits for its own reference or takes a lock the waiter holds. When the
 * release will come from elsewhere (another task, an interrupt such as an
 * I/O completion), the task that took the protection calls this once it no
 * longer relies on it; otherwise lockdep would still count the task as a
 * holder and report it when the task waits for @ref, exits or returns to
 * user space. The protection itself is untouched: it is held until released.
 *
 * Context: the task that took the protection.
 */
void ex_rundown_hand_off(struct ex_rundown_ref *ref)
{
	ex_rundown_dep_release_read(ex_rundown_dep(ref), 1, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_hand_off);

/*
 * The family's side of ex_rundown_wait_on(). drained() pairs with the fully
 * ordered subtraction of the final release (or add-back).
 */
static bool ex_rundown_drained(const void *ref)
{
	const struct ex_rundown_ref *r = ref;

	return !(atomic_long_read_acquire(&r->count) & ~EX_RUNDOWN_DRAINING);
}

/*
 * Forbid new protection, under the wait queue's lock. Fully ordered: the
 * waiter's reads of the count come after the bit is set, so every acquire
 * that could still succeed is one the waiter will see in the count.
 */
static unsigned long ex_rundown_begin(void *ref)
{
	struct ex_rundown_ref *r = ref;

	atomic_long_fetch_or(EX_RUNDOWN_DRAINING, &r->count);
	return 0;
}

static unsigned long ex_rundown_held(const void *ref)
{
	return ex_rundown_read_count(ref);
}

static const struct ex_rundown_wait_ops ex_rundown_wait_ops = {
	.begin = ex_rundown_begin,
	.drained = ex_rundown_drained,
	.held = ex_rundown_held,
};

/**
 * ex_rundown_wait() - run a reference down
 * @ref: the reference
 *
 * Forbids new protection and sleeps until every protection granted before
 * it began has been released. On a reference with no holder, or one already
 * drained, it returns at once. Several tasks may wait at once; all return
 * once the reference is drained, and @ref may be freed once all of them
 * have returned. Afterwards acquires keep failing until
 * ex_rundown_reinit(). NT: ExWaitForRundownProtectionRelease.
 *
 * When the wait lasts longer than the parameter ex_rundown.hung_timeout_secs
 * (30 s by default), the waiter, the reference and the outstanding count
 * are reported once; the wait goes on.
 *
 * Context: process context; sleeps (uninterruptibly). Must not be called
 * while holding protection on @ref: lockdep reports that, and it would never
 * return.
 * Ordering: ACQUIRE on return: every store a holder made before its release
 * is visible to the caller.
 */
void ex_rundown_wait(struct ex_rundown_ref *ref)
{
	ex_rundown_wait_untimed(ref, ex_rundown_dep(ref), &ex_rundown_wait_ops,
				0, TASK_UNINTERRUPTIBLE, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_wait);

/**
 * ex_rundown_wait_nested() - run a reference down inside another of its class
 * @ref: the reference
 * @subclass: lockdep subclass of this wait, below MAX_LOCKDEP_SUBCLASSES
 *	(8); SINGLE_DEPTH_NESTING for one level, as down_write_nested() takes
 *
 * As ex_rundown_wait(), for an owner that runs @ref down while it holds
 * protection on another reference of the same lockdep class, that is one
 * initialised at the same ex_rundown_init() call site: the parent and the
 * child in a tree of objects of one type, say. Lockdep cannot tell the two
 * apart and would report ex_rundown_wait() there as recursive locking; the
 * subclass tells it that this wait is one level further in. Without lockdep
 * it is ex_rundown_wait().
 *
 * Context: process context; sleeps (uninterruptibly).
 * Ordering: as ex_rundown_wait().
 */
void ex_rundown_wait_nested(struct ex_rundown_ref *ref, unsigned int subclass)
{
	ex_rundown_wait_untimed(ref, ex_rundown_dep(ref), &ex_rundown_wait_ops,
				subclass, TASK_UNINTERRUPTIBLE, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_wait_nested);

/**
 * ex_rundown_wait_killable() - run a reference down, unless killed
 * @ref: the reference
 *
 * As ex_rundown_wait(), but a fatal signal ends the sleep. The run-down has
 * begun either way: acquires keep failing, and a later wait resumes it. A
 * wait longer than hung_timeout_secs is reported as ex_rundown_wait()'s is.
 *
 * Context: process context; sleeps.
 * Ordering: ACQUIRE when it returns 0.
 * Return: 0 once drained, -ERESTARTSYS if a fatal signal interrupted it.
 */
int ex_rundown_wait_killable(struct ex_rundown_ref *ref)
{
	return ex_rundown_wait_untimed(ref, ex_rundown_dep(ref),
				       &ex_rundown_wait_ops, 0,
				       TASK_KILLABLE, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_wait_killable);

/**
 * ex_rundown_wait_timeout() - run a reference down, for at most @timeout
 * @ref: the reference
 * @timeout: the longest sleep, in jiffies
 *
 * As ex_rundown_wait(), but gives up after @timeout. The run-down has begun
 * either way: acquires keep failing, and a later wait resumes it.
 *
 * Lockdep does not treat it as a lock: a timed wait cannot deadlock (waiting
 * with a timeout while holding a lock that holders take, and backing off
 * when it expires, is a way to avoid one), so only might_sleep() checks it.
 *
 * Context: process context; sleeps.
 * Ordering: ACQUIRE when it returns non-zero.
 * Return: 0 if @timeout elapsed first, otherwise the jiffies left (at least
 * 1), as wait_var_event_timeout() returns.
 */
long ex_rundown_wait_timeout(struct ex_rundown_ref *ref, long timeout)
{
	return ex_rundown_wait_on(ref, &ex_rundown_wait_ops, "",
				  TASK_UNINTERRUPTIBLE, timeout, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_wait_timeout);

/**
 * ex_rundown_completed() - mark a reference as run down without waiting
 * @ref: the reference
 *
 * For an owner that knows by other means that no protection is held (or
 * that has just waited): acquires fail from now on until
 * ex_rundown_reinit(). Called with protections outstanding, it warns once
 * and leaves their count alone, so that their releases stay balanced.
 * NT: ExRundownCompleted.
 *
 * Context: any; never sleeps.
 * Ordering: fully ordered.
 */
void ex_rundown_completed(struct ex_rundown_ref *ref)
{
	long old = atomic_long_fetch_or(EX_RUNDOWN_DRAINING, &ref->count);

	/* Below zero: the excess of a release, being added back; no holder. */
	if (unlikely(old > (long)EX_RUNDOWN_DRAINING))
		ex_rundown_misuse("run-down completed with %lu protection(s) outstanding\n",
				  (unsigned long)old / EX_RUNDOWN_BIAS);
}
EXPORT_SYMBOL(ex_rundown_completed);

#define EX_RUNDOWN_HUNG_TIMEOUT_MAX	(24U * 60 * 60)

static unsigned int hung_timeout_secs = 30;

static int hung_timeout_set(const char *val, const struct kernel_param *kp)
{
	unsigned int secs;
	int ret;

	ret = kstrtouint(val, 0, &secs);
	if (ret || secs > EX_RUNDOWN_HUNG_TIMEOUT_MAX) {
		/* Without the newline of a sysfs write. */
		pr_err("hung_timeout_secs: '%.*s' is not a number of seconds from 0 (off) to %u\n",
		       (int)strcspn(val, "\n"), val, EX_RUNDOWN_HUNG_TIMEOUT_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(hung_timeout_secs, secs);
	return 0;
}

static const struct kernel_param_ops hung_timeout_ops = {
	.set = hung_timeout_set,
	.get = param_get_uint,
};
module_param_cb(hung_timeout_secs, &hung_timeout_ops, &hung_timeout_secs, 0644);
MODULE_PARM_DESC(hung_timeout_secs,
		 "Report a run-down wait still sleeping after this many seconds (0 = never, default 30)");

unsigned int ex_rundown_hung_timeout(void)
{
	return READ_ONCE(hung_timeout_secs);
}

/*
 * Like the hung-task detector: one report, then the wait goes on. The ref is
 * named by its address (a symbol if it is static) and, under lockdep, by the
 * expression its init was given.
 */
noinline void ex_rundown_report_hung(const void *ref, const char *name,
				     bool pcpu, unsigned long held,
				     unsigned int secs, unsigned long ip)
{
	trace_ex_rundown_hung(ref, pcpu, held, secs, ip);
	pr_warn("%s[%d] has waited %u s for the run-down of %s%s%pS in %pS: %lu protection(s) outstanding\n",
		current->comm, task_pid_nr(current), secs, name,
		*name ? " at " : "", ref, (void *)ip, held);
	ex_rundown_holders_report(ref);
	dump_stack();
}

atomic_long_t ex_rundown_misuses = ATOMIC_LONG_INIT(0);

/*
 * Enabled, before any user can exist, by a library that keeps books on
 * every protection: the fast paths inlined from include/ex_rundown.h then
 * call the exported slow paths, which keep them. Without lockdep that is
 * holder tracking (CONFIG_EX_RUNDOWN_DEBUG_HOLDERS), which code built
 * against the header cannot see from its own configuration.
 */
DEFINE_STATIC_KEY_FALSE(ex_rundown_bookkeeping_key);
EXPORT_SYMBOL(ex_rundown_bookkeeping_key);

/**
 * ex_rundown_misuse_count() - misuses detected so far
 *
 * Each misuse is reported with WARN_ONCE() at its call site and counted here,
 * so that tests and debugging sessions see the repeats the warning hides.
 *
 * Context: any.
 * Return: the number of misuses detected so far.
 */
unsigned long ex_rundown_misuse_count(void)
{
	return atomic_long_read(&ex_rundown_misuses);
}
EXPORT_SYMBOL(ex_rundown_misuse_count);

static int __init ex_rundown_init_once(void)
{
	/* Holder tracking needs the stack depot, whose setup may sleep. */
	int ret = ex_rundown_holders_init();

	if (!ret)
		ex_rundown_debugfs_init();
	return ret;
}

/*
 * Before any user can take protection: the holder tracking key must be on
 * before the first acquire it is to see. Built as a module, its init.
 */
postcore_initcall(ex_rundown_init_once);
