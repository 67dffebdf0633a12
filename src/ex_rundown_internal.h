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

#endif /* _EX_RUNDOWN_INTERNAL_H */
