/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernels this tree builds against (5.10 to the newest) lack of
 * the newest kernel's API, provided under the newest kernel's names, so
 * that the sources are written against the newest kernel alone: the
 * upstream series (scripts/upstream.sh) leaves this file out, and with it
 * the line that includes it, and changes no other. For the modules of this
 * tree only: include/ex_rundown*.h need none of it, and neither does a
 * module built against them.
 *
 * Tested by feature rather than by version where a feature shows; where
 * only a header's content tells, the Kbuild looks (EX_RUNDOWN_HAVE_*).
 */
#ifndef _EX_RUNDOWN_COMPAT_H
#define _EX_RUNDOWN_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stackdepot.h>

/*
 * stack_depot_save_flags() came with 6.8. Before: __stack_depot_save() with
 * extra bits and can_alloc (6.1 has it) or, where neither is there (5.10,
 * 5.15), stack_depot_save(), which may always allocate.
 */
#ifndef STACK_DEPOT_FLAG_CAN_ALLOC
#define STACK_DEPOT_FLAG_CAN_ALLOC	1U

static inline depot_stack_handle_t
stack_depot_save_flags(unsigned long *entries, unsigned int nr, gfp_t gfp,
		       unsigned int depot_flags)
{
#ifdef STACK_DEPOT_EXTRA_BITS
	return __stack_depot_save(entries, nr, 0, gfp,
				  depot_flags & STACK_DEPOT_FLAG_CAN_ALLOC);
#else
	return stack_depot_save(entries, nr, gfp);
#endif
}
#endif

/*
 * kzalloc_obj() came with 7.0; only its one-argument form (GFP_KERNEL) is
 * used here.
 */
#ifndef kzalloc_obj
#define kzalloc_obj(P)	kzalloc(sizeof(P), GFP_KERNEL)
#endif

/* task_is_running() came with 5.14, when ->state became ->__state. */
#ifndef task_is_running
#define task_is_running(task)	(READ_ONCE((task)->state) == TASK_RUNNING)
#endif

/*
 * hrtimer_setup() came with 6.13 (later kernels have it alone): before,
 * hrtimer_init() and an assignment. A function, not a macro, so the Kbuild
 * looks for it in <linux/hrtimer.h>.
 */
#ifndef EX_RUNDOWN_HAVE_HRTIMER_SETUP
static inline void hrtimer_setup(struct hrtimer *timer,
				 enum hrtimer_restart (*function)(struct hrtimer *),
				 clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}
#endif

#endif /* _EX_RUNDOWN_COMPAT_H */
