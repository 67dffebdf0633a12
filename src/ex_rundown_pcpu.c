// SPDX-License-Identifier: GPL-2.0
/*
 * Run-down protection: the cache-aware family (struct ex_rundown_pcpu), NT's
 * EX_RUNDOWN_REF_CACHE_AWARE.
 *
 * Each protection is counted in a per-CPU slot: acquire adds to the slot of
 * the CPU it runs on, release subtracts from the slot of the CPU it runs on,
 * which may be another one. A slot may therefore go negative or wrap; only
 * the sum over every possible CPU means anything, and modular arithmetic
 * makes that sum exact (as in lib/percpu-refcount.c). The slot of a CPU that
 * went offline keeps its share and is still summed.
 *
 * @state holds the address of the slots and two mode bits:
 *
 *	EX_RUNDOWN_PCPU_DEAD	a run-down has begun: acquires fail
 *	EX_RUNDOWN_PCPU_ATOMIC	releases go to @count, not to the slots
 *
 * The fast paths read @state and add to or subtract from their CPU's slot
 * with a this_cpu operation, inside an RCU-sched read-side critical section
 * (preemption disabled). They take no lock, do no atomic read-modify-write
 * and write no cache line that another CPU uses; they read @state, which
 * only the rare mode changes write. They are inline, in
 * include/ex_rundown_pcpu.h (__ex_rundown_pcpu_add(),
 * __ex_rundown_pcpu_sub()); this file has their slow paths (bookkeeping,
 * misuse, releases in atomic mode) and the rest.
 *
 * A wait sets DEAD and ATOMIC, then waits for an RCU grace period. Since
 * v5.0, synchronize_rcu() waits for every region with preemption disabled,
 * so when it returns no CPU is still inside a fast path that read @state
 * without those bits: the slots are final. The wait adds their sum to
 * @count, which held EX_RUNDOWN_PCPU_BIAS until then, so that the releases
 * that went to @count during the grace period could not take it to zero
 * early; the bias comes off in the same addition. From then on @count is the
 * exact number of holders: releases decrement it, never below zero (a
 * release of more than is held is clamped and reported), and the one that
 * takes it to zero wakes the waiters. Only the waiter
 * that set ATOMIC collects; the others wait for @count to reach zero.
 *
 * Before the collection, @count is at least EX_RUNDOWN_PCPU_BIAS / 2 (it
 * starts at the bias, and fewer than that many releases can reach it); after
 * it, at most EX_RUNDOWN_COUNT_MAX. Its value alone says which phase it is
 * in, so releases read no flag that could change under them. (The one
 * exception: a sum that found more releases than acquires leaves @count
 * below zero until the collector clamps it, and it reads as "not collected"
 * meanwhile; releases in that window are clamped away with it.)
 *
 * The grace period is the one difference from the shared-counter family: an
 * acquire on another CPU that read @state just before the wait set DEAD may
 * still succeed while the wait collects. It is counted, and waited for. Every
 * wait, even one that is interrupted or times out, returns only after the
 * grace period, so no acquire succeeds after any wait has returned. An
 * acquire that reads @state after it changed fails at once, as one on the
 * waiter's own CPU always does.
 *
 * ex_rundown_pcpu_completed() sets DEAD only: it must not sleep, so it
 * leaves the slots as they are (the sum stays exact whatever the mode) and
 * a later wait collects them, or ex_rundown_pcpu_reinit() clears DEAD again.
 *
 * ex_rundown_pcpu_exit() frees the slots, so it must first know that no
 * fast path still uses them: after completed() (an acquire racing with it
 * may still be adding to them) it collects them as a wait does, grace
 * period first, and counts what it finds.
 *
 * Mode changes (the start of a wait, completed, reinit, exit) are serialised
 * by one global lock, as lib/percpu-refcount.c's are: they are rare, and a
 * lock of its own would make every reference bigger. The fast paths never
 * take it. It is a raw spinlock: completed() and reinit() may be called in
 * any context, hard interrupts and PREEMPT_RT included.
 *
 * Memory ordering, in the terms of Documentation/atomic_t.txt:
 *  - a successful acquire is an ACQUIRE (smp_load_acquire() of @state): the
 *    holder's accesses cannot move before it, and it pairs with the RELEASE
 *    of reinit;
 *  - a release in per-CPU mode is ordered by the grace period: every CPU
 *    that ran a fast path which began before the grace period executes a
 *    full barrier between its end and the end of synchronize_rcu(), so the
 *    holder's accesses are visible to the collecting waiter;
 *  - a release in atomic mode is a fully ordered compare-and-exchange, and
 *    the collection a fully ordered add;
 *  - the waiter reads @count with ACQUIRE: whatever holders wrote is visible
 *    once wait returns;
 *  - every write of @state is a RELEASE, made under the global lock, so a
 *    release that sees ATOMIC sees @count as reinit left it.
 *
 * As in src/ex_rundown.c, nothing here touches @ref after the decrement or
 * the collection that takes @count to zero: ex_rundown_wake() only hashes
 * the address.
 *
 * Why not percpu_ref, which keeps per-CPU counters with a kill switch? Its
 * fast paths bracket themselves with rcu_read_lock(), which on
 * CONFIG_PREEMPT_RCU=y kernels is a call to __rcu_read_lock() and one to
 * __rcu_read_unlock(); preemption disabling costs no call. Its switch to
 * atomic mode runs from an RCU callback that touches the reference after
 * the count reaches zero (percpu_ref_put_many() reads ref->data->release
 * after the decrement), so a waiter could only return from the release
 * callback. And percpu_ref_resurrect() sleeps while a switch is in flight,
 * so completed-then-reinit could not both stay non-sleeping.
 */

#define pr_fmt(fmt) "ex_rundown: " fmt

#include <linux/export.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/debug.h>
#include <linux/spinlock.h>

#include <ex_rundown_pcpu.h>

#include "ex_rundown_internal.h"

#include <trace/events/ex_rundown.h>

static DEFINE_RAW_SPINLOCK(ex_rundown_pcpu_lock);

/*
 * Every write of @state, under ex_rundown_pcpu_lock. RELEASE: a fast path
 * that sees the new value sees what was written before it, among which
 * @count as reinit or exit left it, and the stores a reinit publishes.
 * Pairs with the smp_load_acquire() of acquire and with the
 * smp_acquire__after_ctrl_dep() of a release that finds ATOMIC set.
 */
static inline void ex_rundown_pcpu_set_state(struct ex_rundown_pcpu *ref,
					     unsigned long state)
{
	lockdep_assert_held(&ex_rundown_pcpu_lock);
	/* RELEASE, as explained above. */
	smp_store_release(&ref->state, state);
}

/* Has a wait added the slots into @count? See the comment at the top. */
static inline bool ex_rundown_pcpu_collected(long count)
{
	return (unsigned long)count < EX_RUNDOWN_PCPU_BIAS / 2;
}

/*
 * The sum of the slots: exact once the slots are quiescent (after the grace
 * period of a collection), a snapshot while fast paths run.
 */
static unsigned long ex_rundown_pcpu_sum(unsigned long __percpu *slots)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(slots, cpu));
	return sum;
}

/* Reset the slots for a reinit, once nothing can be using them. */
static void ex_rundown_pcpu_zero(unsigned long __percpu *slots)
{
	int cpu;

	for_each_possible_cpu(cpu)
		WRITE_ONCE(*per_cpu_ptr(slots, cpu), 0);
}

/**
 * __ex_rundown_pcpu_init() - set up a cache-aware reference (use ex_rundown_pcpu_init())
 * @ref: the reference
 * @gfp: allocation flags for the per-CPU counters
 * @name: lockdep class name
 * @key: lockdep class key, one per ex_rundown_pcpu_init() call site
 *
 * Context: may sleep unless @gfp forbids it; must not race with other uses
 * of @ref.
 * Return: 0, or -ENOMEM with @ref left run down and nothing to free.
 */
int __ex_rundown_pcpu_init(struct ex_rundown_pcpu *ref, gfp_t gfp,
			   const char *name, struct lock_class_key *key)
{
	/* Leave the low bits of the address free for the mode bits. */
	size_t align = max_t(size_t, EX_RUNDOWN_PCPU_FLAGS + 1,
			     __alignof__(unsigned long));
	unsigned long __percpu *slots;

#ifdef CONFIG_DEBUG_LOCK_ALLOC
	lockdep_init_map_wait(&ref->dep_map, name, key, 0, LD_WAIT_SLEEP);
#endif
	ex_rundown_holders_forget(ref);

	slots = __alloc_percpu_gfp(sizeof(*slots), align, gfp);
	if (!slots) {
		atomic_long_set(&ref->count, 0);
		ref->state = EX_RUNDOWN_PCPU_DEAD | EX_RUNDOWN_PCPU_ATOMIC;
		return -ENOMEM;
	}
	ex_rundown_note_init(ref, _RET_IP_);
	atomic_long_set(&ref->count, EX_RUNDOWN_PCPU_BIAS);
	ref->state = (unsigned long)slots;
	return 0;
}
EXPORT_SYMBOL(__ex_rundown_pcpu_init);

/* As the shared-counter family: a run-down makes it fail quietly. */
static noinline bool ex_rundown_pcpu_acquire_overflow(struct ex_rundown_pcpu *ref,
						      unsigned long count)
{
	if (!ex_rundown_pcpu_is_draining(ref))
		ex_rundown_misuse("acquire of %lu would overflow the holder count\n",
				  count);
	return false;
}

/**
 * __ex_rundown_pcpu_acquire_slow() - acquire, out of line (for the header's use)
 * @ref: the reference
 * @count: how many protections to take, at least 1
 *
 * ex_rundown_pcpu_acquire_many() calls this instead of adding inline while
 * protections are tracked (lockdep, holder tracking), and for a @count
 * above EX_RUNDOWN_COUNT_MAX, which is refused here with a warning.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: ACQUIRE on success, none on failure.
 * Return: as ex_rundown_pcpu_acquire_many().
 */
bool __ex_rundown_pcpu_acquire_slow(struct ex_rundown_pcpu *ref,
				    unsigned long count)
{
	if (unlikely(count > EX_RUNDOWN_COUNT_MAX))
		return ex_rundown_pcpu_acquire_overflow(ref, count);
	if (!__ex_rundown_pcpu_add(ref, count))
		return false;
	ex_rundown_dep_acquire_read(ex_rundown_dep(ref), _RET_IP_);
	ex_rundown_holders_add(ref, count);
	return true;
}
EXPORT_SYMBOL(__ex_rundown_pcpu_acquire_slow);

/*
 * A release once ATOMIC is set: @count is the authority. Before the
 * collection it still carries the bias and cannot reach zero; after it, it
 * is exact, and a release of more than is held is clamped here at zero.
 */
static void ex_rundown_pcpu_release_atomic(struct ex_rundown_pcpu *ref,
					   unsigned long count)
{
	long old, new;

	/*
	 * __ex_rundown_pcpu_sub() branched on ATOMIC: order the read of
	 * @count after that of @state, pairing with the RELEASE that set the
	 * bit.
	 */
	smp_acquire__after_ctrl_dep();
	old = atomic_long_read(&ref->count);
	do {
		new = (unsigned long)old < count ? 0 : old - count;
	} while (!atomic_long_try_cmpxchg(&ref->count, &old, new));

	/* No access to *ref past this point: see the comment at the top. */
	if (unlikely(!new))
		ex_rundown_wake(ref);
	if (unlikely((unsigned long)old < count))
		ex_rundown_misuse("release of %lu protection(s) with %ld held (run down)\n",
				  count, old);
}

/**
 * __ex_rundown_pcpu_release_slow() - release, out of line (for the header's use)
 * @ref: the reference
 * @count: how many protections to drop, at least 1
 *
 * ex_rundown_pcpu_release_many() calls this instead of subtracting inline
 * while protections are tracked, for a @count above EX_RUNDOWN_COUNT_MAX
 * (refused here with a warning), and once a wait has switched @ref to
 * atomic mode: the release then goes to the shared count, which a release
 * of more than is held cannot take below zero (it is clamped and reported),
 * and the last one wakes the waiters.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: RELEASE, as ex_rundown_pcpu_release_many(); fully ordered in
 * atomic mode.
 */
void __ex_rundown_pcpu_release_slow(struct ex_rundown_pcpu *ref,
				    unsigned long count)
{
	if (unlikely(count > EX_RUNDOWN_COUNT_MAX)) {
		ex_rundown_misuse("release of %lu protections, more than can be held\n",
				  count);
		return;
	}

	/* Bookkeeping first: the final decrement may free @ref. */
	ex_rundown_dep_release_read(ex_rundown_dep(ref), count, _RET_IP_);
	ex_rundown_holders_del(ref, count);

	/* To this CPU's slot, or, once a wait set ATOMIC, to @count. */
	if (unlikely(!__ex_rundown_pcpu_sub(ref, count)))
		ex_rundown_pcpu_release_atomic(ref, count);
}
EXPORT_SYMBOL(__ex_rundown_pcpu_release_slow);

/**
 * ex_rundown_pcpu_hand_off() - let another context release a protection
 * @ref: the reference, on which the calling task took protection
 *
 * For lockdep only, as ex_rundown_hand_off(): the calling task stops
 * counting as a holder of a protection that another task or an interrupt
 * will release. The protection itself is untouched.
 *
 * Context: the task that took the protection.
 */
void ex_rundown_pcpu_hand_off(struct ex_rundown_pcpu *ref)
{
	ex_rundown_dep_release_read(ex_rundown_dep(ref), 1, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_pcpu_hand_off);

/*
 * The family's side of ex_rundown_wait_on(). drained() pairs with the fully
 * ordered operation that took @count to zero.
 */
static bool ex_rundown_pcpu_drained(const void *ref)
{
	const struct ex_rundown_pcpu *r = ref;

	return !atomic_long_read_acquire(&r->count);
}

static unsigned long ex_rundown_pcpu_held(const void *ref)
{
	return ex_rundown_pcpu_read_count(ref);
}

/*
 * The second half of the start of a wait, by the waiter that set ATOMIC:
 * wait out every fast path that may still use the slots, then move their
 * sum into @count. Sleeps for one RCU grace period.
 */
static void ex_rundown_pcpu_collect(struct ex_rundown_pcpu *ref,
				    unsigned long __percpu *slots)
{
	unsigned long sum;
	long count;

	synchronize_rcu();

	/*
	 * Quiescent now. Left as they are, not zeroed, so that a concurrent
	 * ex_rundown_pcpu_read_count() sums a stable set until @count says
	 * collected; reinit zeroes them, exit frees them.
	 */
	sum = ex_rundown_pcpu_sum(slots);

	count = atomic_long_add_return((long)(sum - EX_RUNDOWN_PCPU_BIAS),
				       &ref->count);
	/* The address only: at zero, the owner may free *ref already. */
	trace_ex_rundown_pcpu_atomic(ref, count < 0 ? 0 : count);
	if (unlikely(count < 0)) {
		/*
		 * More releases than acquires: report them and count none,
		 * so that the waiters return and later releases are refused
		 * instead of taking @count further below zero.
		 */
		ex_rundown_misuse("run-down found %lu more release(s) than acquires\n",
				  -(unsigned long)count);
		while (count < 0 &&
		       !atomic_long_try_cmpxchg(&ref->count, &count, 0))
			;
		count = 0;
	}

	/* No access to *ref past this point: see the comment at the top. */
	if (!count)
		ex_rundown_wake(ref);
}

/* @begin's cookie when the waiter only has to wait out a grace period. */
#define EX_RUNDOWN_PCPU_GRACE_PERIOD	1UL

/*
 * Forbid new protection, under the wait queue's lock (ex_rundown_wait_on()).
 * The first waiter of a run-down is to collect the per-CPU counters: its
 * cookie is their address. A later one, if the collection is still to come,
 * waits out a grace period too: it may time out and return before the
 * collector, and no acquire may succeed after any wait has returned.
 */
static unsigned long ex_rundown_pcpu_begin(void *ref)
{
	struct ex_rundown_pcpu *r = ref;
	unsigned long state, cookie = 0;

	raw_spin_lock(&ex_rundown_pcpu_lock);
	state = r->state;
	if (!(state & EX_RUNDOWN_PCPU_ATOMIC)) {
		ex_rundown_pcpu_set_state(r, state | EX_RUNDOWN_PCPU_FLAGS);
		cookie = (unsigned long)__ex_rundown_pcpu_slots(state);
	} else if (!ex_rundown_pcpu_collected(atomic_long_read(&r->count))) {
		cookie = EX_RUNDOWN_PCPU_GRACE_PERIOD;
	}
	raw_spin_unlock(&ex_rundown_pcpu_lock);
	return cookie;
}

/*
 * When this returns the grace period that makes every acquire fail is over,
 * and @count is exact or about to be. The collector may touch @ref here: no
 * wait can return before its collection.
 */
static void ex_rundown_pcpu_begin_sleep(void *ref, unsigned long cookie)
{
	if (cookie == EX_RUNDOWN_PCPU_GRACE_PERIOD)
		synchronize_rcu();
	else
		ex_rundown_pcpu_collect(ref, (unsigned long __percpu *)cookie);
}

static const struct ex_rundown_wait_ops ex_rundown_pcpu_wait_ops = {
	.pcpu = true,
	.begin = ex_rundown_pcpu_begin,
	.begin_sleep = ex_rundown_pcpu_begin_sleep,
	.drained = ex_rundown_pcpu_drained,
	.held = ex_rundown_pcpu_held,
};

/**
 * ex_rundown_pcpu_wait() - run a cache-aware reference down
 * @ref: the reference
 *
 * Forbids new protection, collects the per-CPU counters (which takes one
 * RCU grace period, also on an idle reference) and sleeps until every
 * protection granted before has been released. On a reference already
 * drained it returns at once. Several tasks may wait at once; all return
 * once the reference is drained, and @ref may be freed once all of them
 * have returned. Afterwards acquires keep failing until
 * ex_rundown_pcpu_reinit(). NT: ExWaitForRundownProtectionReleaseCacheAware.
 *
 * A wait that lasts longer than the parameter ex_rundown.hung_timeout_secs
 * is reported once, as by ex_rundown_wait(); the wait goes on.
 *
 * Context: process context; sleeps (uninterruptibly). Must not be called
 * while holding protection on @ref.
 * Ordering: ACQUIRE on return: every store a holder made before its release
 * is visible to the caller.
 */
void ex_rundown_pcpu_wait(struct ex_rundown_pcpu *ref)
{
	ex_rundown_wait_untimed(ref, ex_rundown_dep(ref),
				&ex_rundown_pcpu_wait_ops, 0,
				TASK_UNINTERRUPTIBLE, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_pcpu_wait);

/**
 * ex_rundown_pcpu_wait_nested() - run a cache-aware reference down inside another of its class
 * @ref: the reference
 * @subclass: lockdep subclass of this wait, below MAX_LOCKDEP_SUBCLASSES
 *	(8); SINGLE_DEPTH_NESTING for one level
 *
 * As ex_rundown_pcpu_wait(), for an owner that holds protection on another
 * reference initialised at the same ex_rundown_pcpu_init() call site; see
 * ex_rundown_wait_nested(). Without lockdep it is ex_rundown_pcpu_wait().
 *
 * Context: process context; sleeps (uninterruptibly).
 * Ordering: as ex_rundown_pcpu_wait().
 */
void ex_rundown_pcpu_wait_nested(struct ex_rundown_pcpu *ref,
				 unsigned int subclass)
{
	ex_rundown_wait_untimed(ref, ex_rundown_dep(ref),
				&ex_rundown_pcpu_wait_ops, subclass,
				TASK_UNINTERRUPTIBLE, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_pcpu_wait_nested);

/**
 * ex_rundown_pcpu_wait_killable() - run a cache-aware reference down, unless killed
 * @ref: the reference
 *
 * As ex_rundown_pcpu_wait(), but a fatal signal ends the sleep for the
 * holders; the grace period that collects the per-CPU counters is not
 * interruptible (it is short). The run-down has begun either way: acquires
 * keep failing, and a later wait resumes it. A wait longer than
 * hung_timeout_secs is reported as ex_rundown_pcpu_wait()'s is.
 *
 * Context: process context; sleeps.
 * Ordering: ACQUIRE when it returns 0.
 * Return: 0 once drained, -ERESTARTSYS if a fatal signal interrupted it.
 */
int ex_rundown_pcpu_wait_killable(struct ex_rundown_pcpu *ref)
{
	return ex_rundown_wait_untimed(ref, ex_rundown_dep(ref),
				       &ex_rundown_pcpu_wait_ops, 0,
				       TASK_KILLABLE, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_pcpu_wait_killable);

/**
 * ex_rundown_pcpu_wait_timeout() - run a cache-aware reference down, for at most @timeout
 * @ref: the reference
 * @timeout: the longest sleep, in jiffies
 *
 * As ex_rundown_pcpu_wait(), but gives up after @timeout, or after the grace
 * period that collects the per-CPU counters if that is longer: even a
 * @timeout of 0 returns only once no acquire can succeed any more. The
 * run-down has begun either way: acquires keep failing, and a later wait
 * resumes it.
 *
 * Lockdep does not treat it as a lock, as with ex_rundown_wait_timeout(): a
 * timed wait cannot deadlock.
 *
 * Context: process context; sleeps.
 * Ordering: ACQUIRE when it returns non-zero.
 * Return: 0 if @timeout elapsed first, otherwise the jiffies left (at least
 * 1), as wait_var_event_timeout() returns.
 */
long ex_rundown_pcpu_wait_timeout(struct ex_rundown_pcpu *ref, long timeout)
{
	/* The grace period counts against @timeout. */
	return ex_rundown_wait_on(ref, &ex_rundown_pcpu_wait_ops, "",
				  TASK_UNINTERRUPTIBLE, timeout, _RET_IP_);
}
EXPORT_SYMBOL(ex_rundown_pcpu_wait_timeout);

/**
 * ex_rundown_pcpu_completed() - mark a cache-aware reference as run down without waiting
 * @ref: the reference
 *
 * For an owner that knows by other means that no protection is held (or
 * that has just waited): acquires fail from now on until
 * ex_rundown_pcpu_reinit(), with the same grace period for acquires that
 * race with it on other CPUs as a wait has (a later wait counts them). It
 * does not collect the per-CPU counters, so that it need not sleep; it adds
 * them up to check that none is held. Called with protections outstanding,
 * it warns once and leaves their count alone, so that their releases stay
 * balanced. NT: ExRundownCompletedCacheAware.
 *
 * Context: any; never sleeps.
 * Ordering: RELEASE: an acquire that fails has seen the stores made before.
 */
void ex_rundown_pcpu_completed(struct ex_rundown_pcpu *ref)
{
	unsigned long flags, state;
	long held = 0;

	raw_spin_lock_irqsave(&ex_rundown_pcpu_lock, flags);
	state = ref->state;
	if (!(state & EX_RUNDOWN_PCPU_DEAD))
		ex_rundown_pcpu_set_state(ref, state | EX_RUNDOWN_PCPU_DEAD);
	if (!(state & EX_RUNDOWN_PCPU_ATOMIC))
		held = ex_rundown_pcpu_sum(__ex_rundown_pcpu_slots(state));
	else if (ex_rundown_pcpu_collected(atomic_long_read(&ref->count)))
		held = atomic_long_read(&ref->count);
	/* else a wait is collecting: it counts the holders and waits. */
	raw_spin_unlock_irqrestore(&ex_rundown_pcpu_lock, flags);

	if (unlikely(held))
		ex_rundown_misuse("run-down completed with %ld protection(s) outstanding\n",
				  held);
}
EXPORT_SYMBOL(ex_rundown_pcpu_completed);

/**
 * ex_rundown_pcpu_reinit() - make a drained cache-aware reference usable again
 * @ref: the reference
 *
 * Legal once the run-down is over: after a wait returned or after
 * ex_rundown_pcpu_completed(). Acquires succeed again from here on. Waits
 * still under way on @ref return, as ex_rundown_reinit() describes. NT:
 * ExReInitializeRundownProtectionCacheAware.
 *
 * On a reference that is not drained (idle, held, with a wait in progress,
 * or after ex_rundown_pcpu_exit()) it warns once and changes nothing.
 *
 * Context: any; never sleeps.
 * Ordering: RELEASE; a holder whose acquire succeeds afterwards sees every
 * store made before the reinit (such as a newly installed object).
 */
void ex_rundown_pcpu_reinit(struct ex_rundown_pcpu *ref)
{
	unsigned long wflags, state, slots;
	const char *why = NULL;
	long held = 0;

	/*
	 * As in ex_rundown_reinit(): end the waits in the same step. The wait
	 * queue's lock comes first, as in ex_rundown_wait_on().
	 */
	wflags = ex_rundown_wait_lock(ref);
	raw_spin_lock(&ex_rundown_pcpu_lock);
	state = ref->state;
	slots = state & ~EX_RUNDOWN_PCPU_FLAGS;
	if (!slots) {
		why = "after exit";
	} else if (!(state & EX_RUNDOWN_PCPU_DEAD)) {
		why = "no run-down";
		held = ex_rundown_pcpu_sum(__ex_rundown_pcpu_slots(state));
	} else if (!(state & EX_RUNDOWN_PCPU_ATOMIC)) {
		/* Completed without a wait: the slots still count. */
		held = ex_rundown_pcpu_sum(__ex_rundown_pcpu_slots(state));
		if (held)
			why = "completed";
		else
			ex_rundown_pcpu_set_state(ref, slots);
		/* No wait has begun (a waiter sets ATOMIC): none to end. */
	} else {
		held = atomic_long_read(&ref->count);
		if (!ex_rundown_pcpu_collected(held)) {
			why = "waiting";
			held = 0;
		} else if (held) {
			why = "run down";
		} else {
			/*
			 * Drained. The collection left the slots as it found
			 * them (see ex_rundown_pcpu_collect()), and no fast
			 * path has used them since: zero them before the
			 * RELEASE that hands them back to the fast paths.
			 */
			ex_rundown_pcpu_zero(__ex_rundown_pcpu_slots(state));
			atomic_long_set(&ref->count, EX_RUNDOWN_PCPU_BIAS);
			ex_rundown_pcpu_set_state(ref, slots);
			ex_rundown_end_waits_locked(ref);
		}
	}
	raw_spin_unlock(&ex_rundown_pcpu_lock);
	ex_rundown_wait_unlock(ref, wflags);

	if (unlikely(why))
		ex_rundown_misuse("reinit of a reference that is not drained (%ld holder(s), %s)\n",
				  held, why);
}
EXPORT_SYMBOL(ex_rundown_pcpu_reinit);

/**
 * ex_rundown_pcpu_exit() - free a cache-aware reference's per-CPU counters
 * @ref: the reference
 *
 * For a reference that is drained, or idle and out of everyone else's
 * reach. Afterwards acquires fail and waits return at once; reinit is
 * refused. A no-op on a reference whose init failed or that was exited
 * already. NT: ExFreeCacheAwareRundownProtection.
 *
 * After ex_rundown_pcpu_completed() without a wait, an acquire that raced
 * with it may still be adding to the counters: exit then collects them as a
 * wait does, after one RCU grace period, so that nothing adds to them once
 * they are freed. With protections outstanding (found there, or by a wait)
 * it warns once and keeps their count in the reference, so that their
 * releases stay balanced and touch no freed memory. With a wait still
 * collecting the counters it warns once and frees nothing.
 *
 * Context: process context; may sleep (one RCU grace period, after
 * completed() or with holders).
 * Ordering: the counters are freed only after every acquire that read the
 * reference before completed() has added to them, and their sum sees it.
 */
void ex_rundown_pcpu_exit(struct ex_rundown_pcpu *ref)
{
	unsigned long flags, state;
	unsigned long __percpu *slots;
	bool collect = false;
	long held = 0;

	might_sleep();
	raw_spin_lock_irqsave(&ex_rundown_pcpu_lock, flags);
	state = ref->state;
	slots = __ex_rundown_pcpu_slots(state);
	if (!slots) {
		raw_spin_unlock_irqrestore(&ex_rundown_pcpu_lock, flags);
		return;
	}
	if (state & EX_RUNDOWN_PCPU_ATOMIC) {
		held = atomic_long_read(&ref->count);
		if (!ex_rundown_pcpu_collected(held)) {
			raw_spin_unlock_irqrestore(&ex_rundown_pcpu_lock, flags);
			ex_rundown_misuse("exit of a reference with a wait in progress\n");
			return;
		}
	} else if (state & EX_RUNDOWN_PCPU_DEAD ||
		   ex_rundown_pcpu_sum(slots)) {
		/* Completed, or held: collect, as the first waiter would. */
		ex_rundown_pcpu_set_state(ref, state | EX_RUNDOWN_PCPU_FLAGS);
		collect = true;
	} else {
		atomic_long_set(&ref->count, 0);
	}
	if (!collect)
		ex_rundown_pcpu_set_state(ref, EX_RUNDOWN_PCPU_FLAGS);
	raw_spin_unlock_irqrestore(&ex_rundown_pcpu_lock, flags);

	if (collect) {
		ex_rundown_pcpu_collect(ref, slots);
		raw_spin_lock_irqsave(&ex_rundown_pcpu_lock, flags);
		held = atomic_long_read(&ref->count);
		ex_rundown_pcpu_set_state(ref, EX_RUNDOWN_PCPU_FLAGS);
		raw_spin_unlock_irqrestore(&ex_rundown_pcpu_lock, flags);
	}
	if (unlikely(held))
		ex_rundown_misuse("exit of a reference with %ld protection(s) outstanding\n",
				  held);
	free_percpu(slots);
}
EXPORT_SYMBOL(ex_rundown_pcpu_exit);

/**
 * ex_rundown_pcpu_read_count() - number of outstanding protections (debug aid)
 * @ref: the reference
 *
 * A snapshot that may be stale the moment it is returned, and, while
 * protections are taken and dropped on other CPUs, a sum of per-CPU
 * counters read at slightly different times: for reports and tests, never
 * for decisions. While none is taken or dropped, and no reinit runs, it is
 * exact, also during the collection that starts a wait.
 *
 * Context: any.
 * Return: the number of holders.
 */
unsigned long ex_rundown_pcpu_read_count(const struct ex_rundown_pcpu *ref)
{
	unsigned long state = READ_ONCE(ref->state);
	unsigned long __percpu *slots = __ex_rundown_pcpu_slots(state);
	long count = atomic_long_read(&ref->count);
	long held;

	/*
	 * A collected @count is the number of holders. An earlier one still
	 * needs the slots, which the collection leaves as they are: summed
	 * before or after it, they count the same holders.
	 */
	if (!slots || ex_rundown_pcpu_collected(count))
		return max(count, 0L);
	held = (long)(ex_rundown_pcpu_sum(slots) + (unsigned long)count -
		      EX_RUNDOWN_PCPU_BIAS);
	/* A snapshot may catch a release before its acquire: never below 0. */
	return max(held, 0L);
}
EXPORT_SYMBOL(ex_rundown_pcpu_read_count);
