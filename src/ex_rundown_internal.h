/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two run-down families share inside ex_rundown.ko; not for users.
 */
#ifndef _EX_RUNDOWN_INTERNAL_H
#define _EX_RUNDOWN_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/wait_bit.h>

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
 * wait_var_event_timeout() in task state @state: TASK_UNINTERRUPTIBLE, or
 * TASK_KILLABLE, for which <linux/wait_bit.h> has no timed variant. Built
 * as its wait_var_event_timeout() is, from ___wait_var_event() (the same in
 * 6.1 and 6.12); MAX_SCHEDULE_TIMEOUT sleeps until @cond. Return: the
 * jiffies left (at least 1) once @cond holds, 0 on timeout, -ERESTARTSYS
 * if a fatal signal ended a TASK_KILLABLE sleep.
 */
#define ex_rundown_wait_var_timeout(var, cond, state, timeout)		\
({									\
	long __ret = (timeout);						\
									\
	might_sleep();							\
	if (!___wait_cond_timeout(cond))				\
		__ret = ___wait_var_event(var, ___wait_cond_timeout(cond), \
					  state, 0, timeout,		\
					  __ret = schedule_timeout(__ret)); \
	__ret;								\
})

/*
 * Every untimed wait of both families: sleep on @ref in task state @state
 * until @cond, and if that takes longer than hung_timeout_secs, report once
 * (naming @held holders) and sleep on, as the hung-task detector does. That
 * detector skips killable sleeps, so for those this report is the only one.
 * Return: 0 once @cond holds, -ERESTARTSYS if a fatal signal ended a
 * TASK_KILLABLE wait.
 */
#define ex_rundown_wait_reporting(ref, cond, held, state, ip)		\
({									\
	unsigned int __secs = ex_rundown_hung_timeout();		\
	long __r;							\
									\
	__r = ex_rundown_wait_var_timeout(ref, cond, state, __secs ?	\
					  __secs * HZ : MAX_SCHEDULE_TIMEOUT); \
	if (!__r) {							\
		ex_rundown_report_hung(ref, ex_rundown_ref_name(ref),	\
				       held, __secs, ip);		\
		__r = ex_rundown_wait_var_timeout(ref, cond, state,	\
						  MAX_SCHEDULE_TIMEOUT); \
	}								\
	__r < 0 ? (int)__r : 0;						\
})

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
