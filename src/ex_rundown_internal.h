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
