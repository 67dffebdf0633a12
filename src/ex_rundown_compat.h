/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels this tree builds against (5.10 to the
 * newest), in one place, tested by feature rather than by version where a
 * feature shows. For the modules of this tree only (the library, its tests,
 * the benchmark): include/ex_rundown*.h need none of it, and neither does
 * a module built against them.
 */
#ifndef _EX_RUNDOWN_COMPAT_H
#define _EX_RUNDOWN_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/stackdepot.h>

/*
 * Save a stack in the depot, allocating a new pool only if @can_alloc:
 * stack_depot_save_flags() since 6.8; __stack_depot_save() with extra bits
 * and can_alloc before (6.1 has it); where neither is there (5.10, 5.15),
 * stack_depot_save(), which may always allocate.
 */
static inline depot_stack_handle_t
ex_rundown_stack_depot_save(unsigned long *entries, unsigned int nr,
			    gfp_t gfp, bool can_alloc)
{
#if defined(STACK_DEPOT_FLAG_CAN_ALLOC)
	return stack_depot_save_flags(entries, nr, gfp,
				      can_alloc ? STACK_DEPOT_FLAG_CAN_ALLOC : 0);
#elif defined(STACK_DEPOT_EXTRA_BITS)
	return __stack_depot_save(entries, nr, 0, gfp, can_alloc);
#else
	return stack_depot_save(entries, nr, gfp);
#endif
}

/* task_is_running() came with 5.14, when ->state became ->__state. */
#ifndef task_is_running
#define task_is_running(task)	(READ_ONCE((task)->state) == TASK_RUNNING)
#endif

/*
 * Set up @timer to call @fn: hrtimer_setup() since 6.13, which later
 * kernels keep alone; hrtimer_init() and an assignment before. Both are
 * functions: the Kbuild looks for hrtimer_setup in <linux/hrtimer.h>.
 */
static inline void
ex_rundown_hrtimer_setup(struct hrtimer *timer,
			 enum hrtimer_restart (*fn)(struct hrtimer *),
			 clockid_t clock, enum hrtimer_mode mode)
{
#ifdef EX_RUNDOWN_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, fn, clock, mode);
#else
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
#endif
}

#endif /* _EX_RUNDOWN_COMPAT_H */
