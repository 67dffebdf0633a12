/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two run-down families share inside ex_rundown.ko; not for users.
 */
#ifndef _EX_RUNDOWN_INTERNAL_H
#define _EX_RUNDOWN_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bug.h>

extern atomic_long_t ex_rundown_misuses;

/*
 * Report a misuse: once per call site with WARN_ONCE(), every time in
 * ex_rundown_misuse_count(). The caller then leaves the reference as it was.
 */
#define ex_rundown_misuse(fmt, ...)					\
({									\
	atomic_long_inc(&ex_rundown_misuses);				\
	WARN_ONCE(1, pr_fmt(fmt), ##__VA_ARGS__);			\
})

unsigned int ex_rundown_hung_timeout(void);

void ex_rundown_report_hung(const void *ref, const char *name,
			    unsigned long held, unsigned int secs,
			    unsigned long ip);

/* What the hung report calls a reference besides its address. */
#ifdef CONFIG_DEBUG_LOCK_ALLOC
#define ex_rundown_ref_name(ref)	((ref)->dep_map.name ?: "")
#else
#define ex_rundown_ref_name(ref)	((void)(ref), "")
#endif

/*
 * The wait queues of both families (src/ex_rundown_wait.c): a hashed table
 * of lists under raw spinlocks, so that a release may wake the waiters from
 * any context, also on PREEMPT_RT.
 *
 * struct ex_rundown_wait_ops is what a family tells the one wait loop:
 * @begin: forbid new protection; called with the queue's lock held, just
 *	after the waiter went on the queue, so it must not sleep. Returns 0,
 *	or a cookie for @begin_sleep
 * @begin_sleep: the part of beginning that sleeps (the per-CPU family's
 *	grace period and collection), outside the lock; only if @begin
 *	returned a cookie
 * @drained: has every protection been released? Called with the queue's
 *	lock held (see ex_rundown_wait.c for why)
 * @held: the outstanding count, for the hung report; under the lock too
 */
struct ex_rundown_wait_ops {
	unsigned long (*begin)(void *ref);
	void (*begin_sleep)(void *ref, unsigned long cookie);
	bool (*drained)(const void *ref);
	unsigned long (*held)(const void *ref);
};

long ex_rundown_wait_on(void *ref, const struct ex_rundown_wait_ops *ops,
			const char *name, unsigned int state, long timeout,
			unsigned long ip);
void ex_rundown_wake(const void *ref);
unsigned long ex_rundown_wait_lock(const void *ref);
void ex_rundown_wait_unlock(const void *ref, unsigned long flags);
void ex_rundown_end_waits_locked(const void *ref);

/*
 * Holder tracking for the hung-wait report (src/ex_rundown_holders.c). Keyed
 * by the reference's address, so both families can use it. The release side
 * must run before the final decrement: see the comment in that file.
 */
#ifdef CONFIG_EX_RUNDOWN_DEBUG_HOLDERS
int ex_rundown_holders_init(void);
void ex_rundown_holders_add(const void *ref, unsigned long count);
void ex_rundown_holders_del(const void *ref, unsigned long count);
void ex_rundown_holders_forget(const void *ref);
void ex_rundown_holders_report(const void *ref);
#else
static inline int ex_rundown_holders_init(void) { return 0; }
static inline void ex_rundown_holders_add(const void *ref,
					  unsigned long count) { }
static inline void ex_rundown_holders_del(const void *ref,
					  unsigned long count) { }
static inline void ex_rundown_holders_forget(const void *ref) { }
static inline void ex_rundown_holders_report(const void *ref) { }
#endif

#endif /* _EX_RUNDOWN_INTERNAL_H */
