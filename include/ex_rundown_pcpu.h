/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cache-aware run-down protection, after Windows NT's
 * EX_RUNDOWN_REF_CACHE_AWARE.
 *
 * The rules of <ex_rundown.h>, with the count spread over per-CPU
 * counters (see src/ex_rundown_pcpu.c) so that acquire and release touch
 * no shared cache line: for objects that many CPUs use at once. These are
 * the differences, all forced by the per-CPU design:
 *  - a run-down starts with one RCU grace period, after which the counters
 *    are summed: a wait on an idle reference sleeps that long, and an
 *    acquire racing with the start of a wait on another CPU may succeed
 *    until the grace period ends; the wait counts it and waits for it, and
 *    no acquire succeeds once any wait has returned;
 *  - completed() does not wait for that grace period either (it must not
 *    sleep): an acquire already under way when it runs, for instance one
 *    that an interrupt running completed() cut short, may still succeed.
 *    Call it after a wait, or where no acquire can race with it;
 *  - a release of more than is held is caught only once a wait has summed
 *    the counters (if it came before, that wait reports it and clamps the
 *    sum at zero); until then the excess cancels protections taken after
 *    it, as a release without protection always uses up someone's;
 *  - acquire_many() checks its own count against EX_RUNDOWN_COUNT_MAX, not
 *    the total over all CPUs;
 *  - the counters are allocated: ex_rundown_pcpu_init() may fail, and
 *    ex_rundown_pcpu_exit() frees them, after one RCU grace period unless
 *    a wait has collected them (an acquire racing with completed() may
 *    still be adding to them until then).
 *
 * Misuse reports, holder tracking, lockdep and the scoped guards work as in
 * <ex_rundown.h>, which this header includes.
 */
#ifndef _EX_RUNDOWN_PCPU_H
#define _EX_RUNDOWN_PCPU_H

#include <linux/build_bug.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>

#include <ex_rundown.h>

/**
 * struct ex_rundown_pcpu - run-down protection with per-CPU counters
 * @state: address of the per-CPU counters, with EX_RUNDOWN_PCPU_DEAD and
 *	EX_RUNDOWN_PCPU_ATOMIC in its low bits; the only word the fast paths
 *	read, and they never write it
 * @count: EX_RUNDOWN_PCPU_BIAS until a wait has collected the per-CPU
 *	counters, then the exact number of holders
 * @dep_map: lockdep's view of the reference (CONFIG_DEBUG_LOCK_ALLOC only),
 *	as in struct ex_rundown_ref
 *
 * Treat as opaque; set up with ex_rundown_pcpu_init(), free with
 * ex_rundown_pcpu_exit().
 */
struct ex_rundown_pcpu {
	unsigned long state;
	atomic_long_t count;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
#endif
};

/*
 * DEAD: a run-down has begun, acquires fail. ATOMIC: releases go to @count,
 * whose bias the wait replaces with the sum of the per-CPU counters. The
 * counters are allocated with an alignment that leaves these bits free.
 */
#define EX_RUNDOWN_PCPU_DEAD		1UL
#define EX_RUNDOWN_PCPU_ATOMIC		2UL
#define EX_RUNDOWN_PCPU_FLAGS		(EX_RUNDOWN_PCPU_DEAD | EX_RUNDOWN_PCPU_ATOMIC)
#define EX_RUNDOWN_PCPU_BIAS		(1UL << (BITS_PER_LONG - 1))

/*
 * @count tells by its value alone whether a wait has collected the per-CPU
 * counters: below EX_RUNDOWN_PCPU_BIAS / 2 it is a holder count (see the top
 * of src/ex_rundown_pcpu.c). That holds only while no holder count can
 * reach half the bias.
 */
static_assert(EX_RUNDOWN_COUNT_MAX < EX_RUNDOWN_PCPU_BIAS / 2);

int __must_check __ex_rundown_pcpu_init(struct ex_rundown_pcpu *ref, gfp_t gfp,
					const char *name,
					struct lock_class_key *key);

/**
 * ex_rundown_pcpu_init() - set up a cache-aware run-down reference
 * @ref: the reference
 * @gfp: allocation flags for the per-CPU counters
 *
 * Leaves @ref idle: no holder, no run-down. Under lockdep every call site
 * gets its own lock class, as with ex_rundown_init() (the key is made in a
 * statement expression of its own so that the call stays __must_check). NT:
 * ExAllocateCacheAwareRundownProtection, ExInitializeRundownProtectionCacheAware.
 *
 * Context: may sleep unless @gfp forbids it. Must not race with any other
 * use of @ref.
 * Return: 0, or -ENOMEM; on failure @ref is left run down (acquires fail,
 * waits return at once) and ex_rundown_pcpu_exit() is a no-op on it.
 */
#define ex_rundown_pcpu_init(ref, gfp)					\
	__ex_rundown_pcpu_init((ref), (gfp), #ref,			\
			       ({ static struct lock_class_key __key; &__key; }))

void ex_rundown_pcpu_exit(struct ex_rundown_pcpu *ref);
void ex_rundown_pcpu_reinit(struct ex_rundown_pcpu *ref);
void ex_rundown_pcpu_hand_off(struct ex_rundown_pcpu *ref);
void ex_rundown_pcpu_wait(struct ex_rundown_pcpu *ref);
void ex_rundown_pcpu_wait_nested(struct ex_rundown_pcpu *ref,
				 unsigned int subclass);
int __must_check ex_rundown_pcpu_wait_killable(struct ex_rundown_pcpu *ref);
long ex_rundown_pcpu_wait_timeout(struct ex_rundown_pcpu *ref, long timeout);
void ex_rundown_pcpu_completed(struct ex_rundown_pcpu *ref);
unsigned long ex_rundown_pcpu_read_count(const struct ex_rundown_pcpu *ref);

bool __ex_rundown_pcpu_acquire_slow(struct ex_rundown_pcpu *ref,
				    unsigned long count);
void __ex_rundown_pcpu_release_slow(struct ex_rundown_pcpu *ref,
				    unsigned long count);

static __always_inline unsigned long __percpu *
__ex_rundown_pcpu_slots(unsigned long state)
{
	return (unsigned long __percpu *)(state & ~EX_RUNDOWN_PCPU_FLAGS);
}

/*
 * The per-CPU halves of acquire and release (see src/ex_rundown_pcpu.c for
 * why they are safe): read @state and add to or subtract from this CPU's
 * slot, inside an RCU-sched read-side critical section, which the wait's
 * grace period waits out. No shared line is written, no atomic
 * read-modify-write is done.
 *
 * __ex_rundown_pcpu_add() returns false once a run-down has begun. Its read
 * of @state is an ACQUIRE, pairing with the RELEASE of every write of
 * @state (such as reinit's).
 */
static __always_inline bool __ex_rundown_pcpu_add(struct ex_rundown_pcpu *ref,
						  unsigned long count)
{
	unsigned long state;

	rcu_read_lock_sched();
	/* ACQUIRE: pairs with the RELEASE of every write of @state. */
	state = smp_load_acquire(&ref->state);
	if (likely(!(state & EX_RUNDOWN_PCPU_DEAD)))
		this_cpu_add(*__ex_rundown_pcpu_slots(state), count);
	rcu_read_unlock_sched();
	return !(state & EX_RUNDOWN_PCPU_DEAD);
}

/*
 * __ex_rundown_pcpu_sub() returns false, having changed nothing, once a
 * wait has switched the reference to atomic mode: the slow path releases
 * then.
 */
static __always_inline bool __ex_rundown_pcpu_sub(struct ex_rundown_pcpu *ref,
						  unsigned long count)
{
	unsigned long state;

	rcu_read_lock_sched();
	state = READ_ONCE(ref->state);
	if (likely(!(state & EX_RUNDOWN_PCPU_ATOMIC)))
		this_cpu_sub(*__ex_rundown_pcpu_slots(state), count);
	rcu_read_unlock_sched();
	return !(state & EX_RUNDOWN_PCPU_ATOMIC);
}

/**
 * ex_rundown_pcpu_acquire_many() - take protection @count times at once
 * @ref: the reference
 * @count: how many protections to take
 *
 * All or nothing, as ex_rundown_acquire_many(): a @count of 0 takes nothing
 * and succeeds. A @count above EX_RUNDOWN_COUNT_MAX fails and warns once;
 * unlike the shared-counter family this one cannot check the total over all
 * CPUs (that would take a sum over every CPU in each acquire), so the caller
 * must keep it within EX_RUNDOWN_COUNT_MAX. NT:
 * ExAcquireRundownProtectionCacheAwareEx.
 *
 * While a wait collects the per-CPU counters (one RCU grace period after it
 * began), an acquire on another CPU may still succeed; the wait counts it and
 * waits for its release. None succeeds once any wait has returned.
 *
 * Inline: a read of the reference and an add to this CPU's counter with
 * preemption disabled; no atomic read-modify-write, no shared line written.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: ACQUIRE on success, none on failure.
 * Return: true if protection was granted, false if a run-down has begun.
 */
static __always_inline bool __must_check
ex_rundown_pcpu_acquire_many(struct ex_rundown_pcpu *ref, unsigned long count)
{
	if (unlikely(!count))
		return true;
	if (__ex_rundown_bookkeeping() || unlikely(count > EX_RUNDOWN_COUNT_MAX))
		return __ex_rundown_pcpu_acquire_slow(ref, count);
	return __ex_rundown_pcpu_add(ref, count);
}

/**
 * ex_rundown_pcpu_acquire() - take protection
 * @ref: the reference
 *
 * Fails once a run-down has begun, and keeps failing (through
 * ex_rundown_pcpu_completed()) until ex_rundown_pcpu_reinit(); see
 * ex_rundown_pcpu_acquire_many() for the grace period during which an
 * acquire on another CPU may still succeed. NT:
 * ExAcquireRundownProtectionCacheAware.
 *
 * Inline, as ex_rundown_pcpu_acquire_many().
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: ACQUIRE on success, none on failure.
 * Return: true if protection was granted: the caller must release it with
 * ex_rundown_pcpu_release(), on any CPU. False if the object is being run
 * down.
 */
static __always_inline bool __must_check
ex_rundown_pcpu_acquire(struct ex_rundown_pcpu *ref)
{
	return ex_rundown_pcpu_acquire_many(ref, 1);
}

/**
 * ex_rundown_pcpu_release_many() - drop @count protections at once
 * @ref: the reference
 * @count: how many protections to drop; 0 does nothing
 *
 * The protections may have been taken by any mix of acquires, on any CPUs,
 * in any context. Releasing more than is held releases what is held, warns
 * once and drops the rest, as ex_rundown_release_many() does, but only once
 * a wait has collected the per-CPU counters; before that only the sum of all
 * CPUs' counters means anything, and the wait that collects them reports
 * and drops the excess. A @count above EX_RUNDOWN_COUNT_MAX can
 * never be held and is refused with a warning. The release that drops the
 * last protection during a run-down wakes the waiters; from then on the
 * owner may free @ref, and this function does not touch it again. NT:
 * ExReleaseRundownProtectionCacheAwareEx.
 *
 * Inline, as ex_rundown_pcpu_acquire_many(), until a wait has begun; then
 * out of line, on the reference's shared count.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: RELEASE (in per-CPU mode through the grace period, see
 * src/ex_rundown_pcpu.c); pairs with the ACQUIRE of the waiter.
 */
static __always_inline void
ex_rundown_pcpu_release_many(struct ex_rundown_pcpu *ref, unsigned long count)
{
	if (unlikely(!count))
		return;
	if (__ex_rundown_bookkeeping() || unlikely(count > EX_RUNDOWN_COUNT_MAX) ||
	    unlikely(!__ex_rundown_pcpu_sub(ref, count)))
		__ex_rundown_pcpu_release_slow(ref, count);
}

/**
 * ex_rundown_pcpu_release() - drop protection
 * @ref: the reference
 *
 * May run on another CPU than the acquire. A release without protection is
 * caught once a wait has collected the per-CPU counters, as described at
 * ex_rundown_pcpu_release_many(). The release that drops the last
 * protection during a run-down wakes the waiters; from then on the owner
 * may free @ref, and this function does not touch it again. NT:
 * ExReleaseRundownProtectionCacheAware.
 *
 * Inline, as ex_rundown_pcpu_release_many().
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: RELEASE; pairs with the ACQUIRE of the waiter.
 */
static __always_inline void ex_rundown_pcpu_release(struct ex_rundown_pcpu *ref)
{
	ex_rundown_pcpu_release_many(ref, 1);
}

/**
 * ex_rundown_pcpu_is_draining() - has a run-down begun? (debug aid)
 * @ref: the reference
 *
 * True from the first wait (or ex_rundown_pcpu_completed()) until
 * ex_rundown_pcpu_reinit(). A snapshot, like ex_rundown_is_draining().
 *
 * Return: true once acquires that start on this CPU fail.
 */
static inline bool ex_rundown_pcpu_is_draining(const struct ex_rundown_pcpu *ref)
{
	return READ_ONCE(ref->state) & EX_RUNDOWN_PCPU_DEAD;
}

/*
 * Scoped protection, as with the ex_rundown class of <ex_rundown.h>:
 *
 *	scoped_cond_guard(ex_rundown_pcpu, return -ENODEV, &f->rundown) {
 *		...
 *	}
 */
/* Kernels before 6.5: as in <ex_rundown.h>. */
#ifdef scoped_cond_guard
static inline void __ex_rundown_pcpu_guard_exit(struct ex_rundown_pcpu *ref)
{
	if (ref)
		ex_rundown_pcpu_release(ref);
}

DEFINE_CLASS(ex_rundown_pcpu, struct ex_rundown_pcpu *,
	     __ex_rundown_pcpu_guard_exit(_T),
	     ex_rundown_pcpu_acquire(ref) ? ref : NULL,
	     struct ex_rundown_pcpu *ref);

static inline void *class_ex_rundown_pcpu_lock_ptr(class_ex_rundown_pcpu_t *_T)
{
	return *_T;
}

static __maybe_unused const bool class_ex_rundown_pcpu_is_conditional = true;
#endif /* scoped_cond_guard */

#endif /* _EX_RUNDOWN_PCPU_H */
