/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels ex_rundown.ko builds against, in one
 * place, tested by feature rather than by version where a feature shows.
 * Inside the module only: include/ex_rundown.h needs none of it.
 */
#ifndef _EX_RUNDOWN_COMPAT_H
#define _EX_RUNDOWN_COMPAT_H

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

#endif /* _EX_RUNDOWN_COMPAT_H */
