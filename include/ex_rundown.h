/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run-down protection, after Windows NT's EX_RUNDOWN_REF.
 *
 * A run-down reference guards an object that is nearly always there but must
 * sometimes be torn down or replaced: a filter a driver calls into, a buffer
 * that gets swapped, a module that gets unloaded. Users take *protection*
 * before touching the object and drop it afterwards; the owner *runs the
 * object down*: it forbids new protection and sleeps until every outstanding
 * protection is released, after which nobody can be inside and the object can
 * be freed, replaced or unloaded.
 *
 *	if (!ex_rundown_acquire(&f->rundown))
 *		return -ENODEV;			// being torn down: skip it
 *	f->ops->handle(f, req);
 *	ex_rundown_release(&f->rundown);
 *
 *	// owner, on teardown
 *	ex_rundown_wait(&f->rundown);		// no holder left, none can come
 *	kfree(f);
 *
 * The reference is one atomic_long_t: a count of holders and a "draining"
 * bit. Acquire and release are inline, one atomic read-modify-write each
 * in the common case, and may be called from any context, hard interrupts
 * included; only the waits sleep.
 *
 * Two families share these rules. struct ex_rundown_ref, here, keeps the
 * count in one shared word: cheapest when few CPUs use the object at once.
 * struct ex_rundown_pcpu (NT's cache-aware run-down, <ex_rundown_pcpu.h>)
 * spreads it over per-CPU counters so that acquire and release touch no
 * shared cache line.
 *
 * Misuse (a release without protection, re-initialising a reference that is
 * still in use, ...) is reported once with WARN_ONCE(), counted in
 * ex_rundown_misuse_count(), and survived: the holder count never goes below
 * zero, and a release of more than is held releases what is held and drops
 * the rest. What no counter can tell is *whose* protection a release ends:
 * a release without protection while others hold protection uses up one of
 * theirs, so a wait may then return while a real holder is still inside
 * (NT has the same limit). Misuse is caught only once the count shows it.
 *
 * Waiters sleep in a hashed table of wait queues of the library's own, under
 * raw spinlocks, so that the release that wakes them may run in any context,
 * hard interrupts included, also on PREEMPT_RT (where wake_up_var()'s
 * spinlock_t sleeps). A reference costs no space beyond its counter.
 *
 * Under lockdep (CONFIG_DEBUG_LOCK_ALLOC) protection taken in task context
 * counts as a read lock of the task that took it, and ex_rundown_wait() as a
 * write lock: lockdep reports a holder that waits for its own reference, a
 * waiter that holds a lock some holder takes, and a wait in atomic context.
 * A protection that another task or an interrupt will release is first
 * handed over with ex_rundown_hand_off(). Without lockdep a reference is one
 * atomic_long_t and none of this costs anything.
 */
#ifndef _EX_RUNDOWN_H
#define _EX_RUNDOWN_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/jump_label.h>
#include <linux/lockdep.h>
/*
 * For the guard classes: <linux/cleanup.h> came with 6.5 (Debian's 6.1 has
 * a backport), and <linux/spinlock.h> includes it wherever it exists;
 * sparse does not understand __has_include().
 */
#include <linux/spinlock.h>
#include <linux/types.h>

#include <ex_rundown_module.h>

/**
 * struct ex_rundown_ref - run-down protection for one object
 * @count: holders in bits 1 and up, EX_RUNDOWN_DRAINING in bit 0
 * @dep_map: lockdep's view of the reference (CONFIG_DEBUG_LOCK_ALLOC only):
 *	protection is a shared trylock, a wait an exclusive acquisition
 *
 * Treat as opaque; initialise with ex_rundown_init(), EX_RUNDOWN_REF_INIT()
 * or DEFINE_EX_RUNDOWN_REF().
 */
struct ex_rundown_ref {
	atomic_long_t count;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
#endif
};

/*
 * Bit 0 says that a run-down has begun (NT's EX_RUNDOWN_ACTIVE); each holder
 * adds EX_RUNDOWN_BIAS. The count stays non-negative: at most
 * EX_RUNDOWN_COUNT_MAX holders, checked on every acquire, so it never wraps.
 */
#define EX_RUNDOWN_DRAINING	1UL
#define EX_RUNDOWN_BIAS		2UL
#define EX_RUNDOWN_COUNT_MAX	(LONG_MAX / EX_RUNDOWN_BIAS)

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/* Not "name": the preprocessor would replace the .name designator too. */
#define __EX_RUNDOWN_DEP_MAP_INIT(lockname)				\
	, .dep_map = { .name = #lockname, .wait_type_inner = LD_WAIT_SLEEP }
#else
#define __EX_RUNDOWN_DEP_MAP_INIT(name)
#endif

/**
 * EX_RUNDOWN_REF_INIT() - initialiser for a static run-down reference
 * @name: the variable being initialised (lockdep names its class after it)
 */
#define EX_RUNDOWN_REF_INIT(name)					\
	{ .count = ATOMIC_LONG_INIT(0) __EX_RUNDOWN_DEP_MAP_INIT(name) }

/**
 * DEFINE_EX_RUNDOWN_REF() - define and initialise a run-down reference
 * @name: name of the variable
 */
#define DEFINE_EX_RUNDOWN_REF(name)					\
	struct ex_rundown_ref name = EX_RUNDOWN_REF_INIT(name)

void __ex_rundown_init(struct ex_rundown_ref *ref, const char *name,
		       struct lock_class_key *key);

/**
 * ex_rundown_init() - initialise a run-down reference
 * @ref: the reference
 *
 * Leaves @ref idle: no holder, no run-down. NT: ExInitializeRundownProtection.
 * Under lockdep every call site gets its own lock class, as init_rwsem() does.
 *
 * Context: any. Must not race with any other use of @ref.
 */
#define ex_rundown_init(ref)						\
do {									\
	static struct lock_class_key __key;				\
									\
	__ex_rundown_init((ref), #ref, &__key);				\
} while (0)

void ex_rundown_reinit(struct ex_rundown_ref *ref);
void ex_rundown_hand_off(struct ex_rundown_ref *ref);
void ex_rundown_wait(struct ex_rundown_ref *ref);
void ex_rundown_wait_nested(struct ex_rundown_ref *ref, unsigned int subclass);
int __must_check ex_rundown_wait_killable(struct ex_rundown_ref *ref);
long ex_rundown_wait_timeout(struct ex_rundown_ref *ref, long timeout);
void ex_rundown_completed(struct ex_rundown_ref *ref);

/*
 * The fast paths below are inline, as refcount_t's and percpu_ref's are: a
 * call and return would cost about as much as the atomic itself. Everything
 * rare goes to an exported slow path: a run-down in progress is handled
 * inline only where the answer is simply "no". So does every call while the
 * library keeps books on each protection: under lockdep (known when this
 * header is compiled) or with holder tracking, which the library was built
 * with or not, and which it announces to code built against this header by
 * enabling ex_rundown_bookkeeping_key at its init.
 */
DECLARE_STATIC_KEY_FALSE(ex_rundown_bookkeeping_key);

static __always_inline bool __ex_rundown_bookkeeping(void)
{
	return IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) ||
	       static_branch_unlikely(&ex_rundown_bookkeeping_key);
}

bool __ex_rundown_acquire_slow(struct ex_rundown_ref *ref, unsigned long count);
void __ex_rundown_release_slow(struct ex_rundown_ref *ref, unsigned long count);
void __ex_rundown_release_end(struct ex_rundown_ref *ref, unsigned long count,
			      long new);

/*
 * Add @count holders (at most EX_RUNDOWN_COUNT_MAX) unless a run-down has
 * begun or the count would pass EX_RUNDOWN_COUNT_MAX. Return: 1 if added,
 * 0 if refused, -1 on overflow. The exchange is an ACQUIRE: it pairs with
 * the RELEASE of ex_rundown_reinit().
 *
 * A negative count is the passing trace of a release of more than was held,
 * whose excess __ex_rundown_release_end() is about to add back: refused, as
 * a protection granted on it would be counted again by the add-back (see
 * __ex_rundown_sub()). The overflow test catches it, as a huge unsigned
 * value, so the fast path pays nothing for it.
 */
static __always_inline int __ex_rundown_add(struct ex_rundown_ref *ref,
					    unsigned long count)
{
	long old = atomic_long_read(&ref->count);

	do {
		if (unlikely(old & EX_RUNDOWN_DRAINING))
			return 0;
		if (unlikely((unsigned long)old / EX_RUNDOWN_BIAS >
			     EX_RUNDOWN_COUNT_MAX - count))
			return old < 0 ? 0 : -1;
	} while (!atomic_long_try_cmpxchg_acquire(&ref->count, &old,
						  old + count * EX_RUNDOWN_BIAS));
	return 1;
}

/*
 * Take @count holders (at most EX_RUNDOWN_COUNT_MAX) away. One
 * fetch-and-subtract, like refcount_dec_and_test(), rather than a
 * compare-and-exchange loop that checks first: it always succeeds at the
 * first try, however many CPUs share the reference. Fully ordered, as
 * refcount_dec_and_test() is: it pairs with the ACQUIRE of the waiter (the
 * wake-up itself is ordered by the wait queue's lock, see
 * src/ex_rundown_wait.c). Two results are rare and go
 * out of line, to __ex_rundown_release_end(): the last release of a
 * run-down (DRAINING alone is left), which wakes the waiters, and a count
 * below zero, a release of more than was held, which is clamped there. No
 * access to *ref follows the last release: the owner may free it then.
 *
 * Why the clamp leaves the count exact: __ex_rundown_release_end() adds back
 * only the part of its own subtraction that went below zero (all of it if
 * the count was negative already). Whatever the interleaving, while any
 * such add-back is still to come the count is exactly minus the sum of the
 * add-backs to come: it can only be negative then, and it reaches zero (or
 * DRAINING) with the last one, which is the one that wakes the waiters.
 * Decisions made on the passing negative value are safe too: an acquire
 * refuses it (__ex_rundown_add()), so no protection is granted that an
 * add-back would then count twice; a waiter sees it as "not drained" and is
 * woken by the last add-back; a release that lands on it is clamped in
 * turn. What it cannot tell is which release was the bad one: that is the
 * limit described at the top of this file. (Exact as long as the excess of
 * the releases racing below zero at once stays within EX_RUNDOWN_COUNT_MAX,
 * the most one release may drop.)
 */
static __always_inline void __ex_rundown_sub(struct ex_rundown_ref *ref,
					     unsigned long count)
{
	long new = atomic_long_sub_return(count * EX_RUNDOWN_BIAS, &ref->count);

	if (unlikely(new < 0 || new == EX_RUNDOWN_DRAINING))
		__ex_rundown_release_end(ref, count, new);
}

/**
 * ex_rundown_acquire_many() - take protection @count times at once
 * @ref: the reference
 * @count: how many protections to take
 *
 * All or nothing: either @count protections are granted, to be released by
 * @count releases in any grouping, or none is. A @count of 0 takes nothing
 * and succeeds. A @count that would take the holder count past
 * EX_RUNDOWN_COUNT_MAX fails and warns once. NT: ExAcquireRundownProtectionEx.
 *
 * Inline: one compare-and-exchange on the reference, retried only if
 * another CPU changed it in between.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: ACQUIRE on success, none on failure.
 * Return: true if protection was granted, false if a run-down has begun.
 */
static __always_inline bool __must_check
ex_rundown_acquire_many(struct ex_rundown_ref *ref, unsigned long count)
{
	int ret;

	if (unlikely(!count))
		return true;
	if (__ex_rundown_bookkeeping() || unlikely(count > EX_RUNDOWN_COUNT_MAX))
		return __ex_rundown_acquire_slow(ref, count);
	ret = __ex_rundown_add(ref, count);
	if (unlikely(ret < 0))
		return __ex_rundown_acquire_slow(ref, count);	/* warns */
	return ret;
}

/**
 * ex_rundown_acquire() - take protection
 * @ref: the reference
 *
 * Fails once a run-down has begun, and keeps failing (through
 * ex_rundown_completed()) until ex_rundown_reinit(). NT:
 * ExAcquireRundownProtection.
 *
 * Inline: one compare-and-exchange on the reference, retried only if
 * another CPU changed it in between.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: ACQUIRE on success, none on failure.
 * Return: true if protection was granted: the caller must release it with
 * ex_rundown_release(). False if the object is being run down.
 */
static __always_inline bool __must_check
ex_rundown_acquire(struct ex_rundown_ref *ref)
{
	return ex_rundown_acquire_many(ref, 1);
}

/**
 * ex_rundown_release_many() - drop @count protections at once
 * @ref: the reference
 * @count: how many protections to drop; 0 does nothing
 *
 * The protections may have been taken by any mix of acquires, in any
 * context. Releasing more than is held releases what is held, warns once
 * and drops the rest: the count never goes below zero. A @count above
 * EX_RUNDOWN_COUNT_MAX can never be held and is refused with a warning.
 * The release that drops the last protection during a run-down wakes the
 * waiters; from then on the owner may free @ref, and this function does not
 * touch it again. NT: ExReleaseRundownProtectionEx.
 *
 * Inline: one fetch-and-subtract on the reference; the last release of a
 * run-down and a release of more than is held go on out of line. Until the
 * excess of such a release is added back, acquires racing with it on other
 * CPUs (or in an interrupt on this one) may be refused.
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: fully ordered; pairs with the ACQUIRE of the waiter.
 */
static __always_inline void
ex_rundown_release_many(struct ex_rundown_ref *ref, unsigned long count)
{
	if (unlikely(!count))
		return;
	if (__ex_rundown_bookkeeping() || unlikely(count > EX_RUNDOWN_COUNT_MAX))
		__ex_rundown_release_slow(ref, count);
	else
		__ex_rundown_sub(ref, count);
}

/**
 * ex_rundown_release() - drop protection
 * @ref: the reference
 *
 * Releasing with no protection held warns once and changes nothing; with
 * protection held by others, it uses one of theirs up, which no counter can
 * tell (see the top of this file). The release that drops the last
 * protection during a run-down wakes the waiters; from then on the owner may
 * free @ref, and this function does not touch it again. NT:
 * ExReleaseRundownProtection.
 *
 * Inline, as ex_rundown_release_many().
 *
 * Context: any, hard interrupts included; never sleeps.
 * Ordering: fully ordered; pairs with the ACQUIRE of the waiter.
 */
static __always_inline void ex_rundown_release(struct ex_rundown_ref *ref)
{
	ex_rundown_release_many(ref, 1);
}

/**
 * ex_rundown_read_count() - number of outstanding protections (debug aid)
 * @ref: the reference
 *
 * A snapshot that may be stale the moment it is returned: for reports and
 * tests, never for decisions.
 *
 * Return: the number of holders.
 */
static inline unsigned long ex_rundown_read_count(const struct ex_rundown_ref *ref)
{
	long count = atomic_long_read(&ref->count);

	/* Negative only while the excess of a release is added back. */
	return count < 0 ? 0 : (unsigned long)count / EX_RUNDOWN_BIAS;
}

/**
 * ex_rundown_is_draining() - has a run-down begun? (debug aid)
 * @ref: the reference
 *
 * True from the first wait (or ex_rundown_completed()) until
 * ex_rundown_reinit(). A snapshot, like ex_rundown_read_count().
 *
 * Return: true while acquires fail.
 */
static inline bool ex_rundown_is_draining(const struct ex_rundown_ref *ref)
{
	return atomic_long_read(&ref->count) & EX_RUNDOWN_DRAINING;
}

unsigned long ex_rundown_misuse_count(void);

/*
 * Scoped protection: the protection is released on every way out of the
 * scope.
 *
 *	scoped_cond_guard(ex_rundown, return -ENODEV, &f->rundown) {
 *		...			// protected; may return, break, goto
 *	}
 *
 *	CLASS(ex_rundown, prot)(&f->rundown);
 *	if (!prot)
 *		return -ENODEV;		// released at the end of the block
 *
 * Both classes are conditional, like mutex_trylock's: scoped_guard() skips
 * its body when protection is refused. Never use the bare guard() form: it
 * cannot tell the caller that protection was refused.
 */
/*
 * Kernels before 6.5 have no scoped_cond_guard(). Not a test for
 * <linux/cleanup.h>: the 6.1 backport's scoped_guard() is unconditional,
 * and would run the body without protection.
 */
#ifdef scoped_cond_guard
/* The destructor: a refused protection (NULL) releases nothing. */
static inline void __ex_rundown_guard_exit(struct ex_rundown_ref *ref)
{
	if (ref)
		ex_rundown_release(ref);
}

DEFINE_CLASS(ex_rundown, struct ex_rundown_ref *,
	     __ex_rundown_guard_exit(_T),
	     ex_rundown_acquire(ref) ? ref : NULL,
	     struct ex_rundown_ref *ref);

static inline void *class_ex_rundown_lock_ptr(class_ex_rundown_t *_T)
{
	return *_T;
}

static __maybe_unused const bool class_ex_rundown_is_conditional = true;
#endif /* scoped_cond_guard */

#endif /* _EX_RUNDOWN_H */
