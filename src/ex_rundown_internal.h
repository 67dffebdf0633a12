/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two run-down families share inside the library; not for users.
 */
#ifndef _EX_RUNDOWN_INTERNAL_H
#define _EX_RUNDOWN_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/lockdep.h>
#include <linux/preempt.h>

extern atomic_long_t ex_rundown_misuses;

/*
 * Report a misuse: once per call site with WARN_ONCE(), every time in
 * ex_rundown_misuse_count(), the debugfs misuse file and the trace event.
 * The caller then leaves the reference as it was. The arguments are
 * evaluated twice, and some calls come after the last access to the
 * reference: they must be values, never reads of *ref.
 */
#define ex_rundown_misuse(fmt, ...)					\
({									\
	ex_rundown_misuse_note(_RET_IP_, fmt, ##__VA_ARGS__);		\
	WARN_ONCE(1, pr_fmt(fmt), ##__VA_ARGS__);			\
})

/*
 * What src/ex_rundown_debugfs.c keeps: the misuse count, the last misuse
 * (for debugfs and the trace event) and where references were initialised.
 */
__printf(2, 3) void ex_rundown_misuse_note(unsigned long ip, const char *fmt, ...);
#ifdef CONFIG_DEBUG_FS
void ex_rundown_note_init(const void *ref, unsigned long ip);
unsigned long ex_rundown_init_site(const void *ref);
void ex_rundown_debugfs_init(void);
void ex_rundown_debugfs_exit(void);
#else
static inline void ex_rundown_note_init(const void *ref, unsigned long ip) { }
static inline unsigned long ex_rundown_init_site(const void *ref) { return 0; }
static inline void ex_rundown_debugfs_init(void) { }
static inline void ex_rundown_debugfs_exit(void) { }
#endif

unsigned int ex_rundown_hung_timeout(void);

void ex_rundown_report_hung(const void *ref, const char *name, bool pcpu,
			    unsigned long held, unsigned int secs,
			    unsigned long ip);

/*
 * Lockdep's view of both families: holding protection is a shared,
 * recursive trylock (a holder may nest, and taking protection never blocks,
 * so it orders nothing before it), a wait is an exclusive acquisition held
 * for the whole sleep. Lockdep then sees the holder that waits for its own
 * reference, the lock a holder takes while the waiter holds it, and the
 * wait in atomic context (the map's wait type is LD_WAIT_SLEEP; trylocks
 * are exempt from that check).
 *
 * Only task context is annotated: an interrupt that holds protection cannot
 * sleep, so it cannot be part of a sleeping deadlock, and annotating it
 * would make lockdep see irq-unsafe "write" acquisitions in every waiter.
 *
 * Protection is not owned: it may be released by another task or in an
 * interrupt, which lockdep would call an unbalanced unlock. A release
 * therefore ends the annotation only if the releasing task holds it; a
 * protection taken in task context and handed to someone else stays, in
 * lockdep's eyes, with the task that took it (as a rwsem read lock would)
 * until that task calls ex_rundown_hand_off(), the counterpart of
 * up_read_non_owner() and percpu_rwsem_release(). acquire_many() is one
 * annotation, however many it takes (MAX_LOCK_DEPTH is 48); release_many()
 * ends as many as the task holds, up to its count.
 *
 * A timed wait is not annotated: it cannot deadlock.
 */
#ifdef CONFIG_DEBUG_LOCK_ALLOC
#define ex_rundown_dep(ref)		(&(ref)->dep_map)

static inline void ex_rundown_dep_acquire_read(struct lockdep_map *dep,
					       unsigned long ip)
{
	if (in_task())
		lock_acquire_shared_recursive(dep, 0, 1, NULL, ip);
}

static inline void ex_rundown_dep_release_read(struct lockdep_map *dep,
					       unsigned long count,
					       unsigned long ip)
{
	if (!in_task())
		return;
	while (count-- && lock_is_held(dep) == LOCK_STATE_HELD)
		lock_release(dep, ip);
}

static inline void ex_rundown_dep_wait(struct lockdep_map *dep,
				       unsigned int subclass, unsigned long ip)
{
	lock_acquire_exclusive(dep, subclass, 0, NULL, ip);
}

static inline void ex_rundown_dep_wait_done(struct lockdep_map *dep,
					    unsigned long ip)
{
	lock_release(dep, ip);
}

/* What the hung report calls a reference besides its address. */
static inline const char *ex_rundown_dep_name(struct lockdep_map *dep)
{
	return dep->name ?: "";
}
#else
#define ex_rundown_dep(ref)		((void)(ref), (struct lockdep_map *)NULL)

static inline void ex_rundown_dep_acquire_read(struct lockdep_map *dep,
					       unsigned long ip) { }
static inline void ex_rundown_dep_release_read(struct lockdep_map *dep,
					       unsigned long count,
					       unsigned long ip) { }
static inline void ex_rundown_dep_wait(struct lockdep_map *dep,
				       unsigned int subclass,
				       unsigned long ip) { }
static inline void ex_rundown_dep_wait_done(struct lockdep_map *dep,
					    unsigned long ip) { }
static inline const char *ex_rundown_dep_name(struct lockdep_map *dep)
{
	return "";
}
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
 * @held: the outstanding count, for the hung report and debugfs; under
 *	the lock too
 * @pcpu: the family, for debugfs and the trace events
 */
struct ex_rundown_wait_ops {
	bool pcpu;
	unsigned long (*begin)(void *ref);
	void (*begin_sleep)(void *ref, unsigned long cookie);
	bool (*drained)(const void *ref);
	unsigned long (*held)(const void *ref);
};

long ex_rundown_wait_on(void *ref, const struct ex_rundown_wait_ops *ops,
			const char *name, unsigned int state, long timeout,
			unsigned long ip);
int ex_rundown_wait_untimed(void *ref, struct lockdep_map *dep,
			    const struct ex_rundown_wait_ops *ops,
			    unsigned int subclass, unsigned int state,
			    unsigned long ip);
void ex_rundown_wake(const void *ref);
unsigned long ex_rundown_wait_lock(const void *ref);
void ex_rundown_wait_unlock(const void *ref, unsigned long flags);
void ex_rundown_end_waits_locked(const void *ref);
struct seq_file;
void ex_rundown_waits_show(struct seq_file *m);
void ex_rundown_waits_holders_show(struct seq_file *m);

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
void ex_rundown_holders_show(struct seq_file *m, const void *ref);
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
