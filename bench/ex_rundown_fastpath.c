// SPDX-License-Identifier: GPL-2.0
/*
 * The fast paths as a user of include/ex_rundown.h gets them. They are
 * inline, so ex_rundown.ko has no copy of its own to look at: here each is
 * compiled once, out of line, into ex_rundown_bench.ko, for
 * scripts/fastpath.sh to count the locked instructions and the calls on its
 * common path in the disassembly. Nothing calls these functions.
 *
 * The counts of the _many forms are parameters, as in a caller that does
 * not know them at compile time: a constant would let the compiler drop
 * the checks that depend on it.
 */

#include <linux/compiler.h>

#include <ex_rundown_pcpu.h>

/* exr_fastpath_<fn>() and exr_fastpath_<fn>_many(), for acquires... */
#define EXR_FASTPATH_BOOL(fn, type)					\
static __used noinline bool exr_fastpath_##fn(type ref)			\
{									\
	return fn(ref);							\
}									\
static __used noinline bool exr_fastpath_##fn##_many(type ref,		\
						     unsigned long count) \
{									\
	return fn##_many(ref, count);					\
}

/* ... and for releases. */
#define EXR_FASTPATH_VOID(fn, type)					\
static __used noinline void exr_fastpath_##fn(type ref)			\
{									\
	fn(ref);							\
}									\
static __used noinline void exr_fastpath_##fn##_many(type ref,		\
						     unsigned long count) \
{									\
	fn##_many(ref, count);						\
}

EXR_FASTPATH_BOOL(ex_rundown_acquire, struct ex_rundown_ref *)
EXR_FASTPATH_VOID(ex_rundown_release, struct ex_rundown_ref *)
EXR_FASTPATH_BOOL(ex_rundown_pcpu_acquire, struct ex_rundown_pcpu *)
EXR_FASTPATH_VOID(ex_rundown_pcpu_release, struct ex_rundown_pcpu *)
