// SPDX-License-Identifier: GPL-2.0
/*
 * Many threads at once: holders against the owner's wait, releases
 * against the free that follows it, releases of more than is held against
 * the real holder's, and ex_rundown_pcpu_exit() against acquires. A case
 * asserts only what the contract promises; how often a race was hit is
 * reported with kunit_info(), and judged only as far as that the moment a
 * case is about came at least once.
 */

#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/percpu.h>
#include <linux/slab.h>

#include "ex_rundown_test.h"

KUNIT_ARRAY_PARAM(exr_family, exr_families, exr_family_desc);

/*
 * Up to @n online CPUs other than the caller's, into @cpus: for workers that
 * spin, while the caller stays on its own (migrate_disable()). Returns how
 * many there are.
 */
static unsigned int exr_other_cpus(int *cpus, unsigned int n)
{
	int self = raw_smp_processor_id(), cpu;
	unsigned int found = 0;

	for_each_online_cpu(cpu) {
		if (found == n)
			break;
		if (cpu != self)
			cpus[found++] = cpu;
	}
	return found;
}

/*
 * A short delay that varies with @n, for threads that must start an
 * operation close together. Not cpu_relax(): QEMU's TCG (x86_64 KUnit)
 * leaves its CPU loop on every PAUSE to let another vCPU run, which makes
 * each one cost microseconds, more than the windows these threads race for.
 */
static void exr_spin(unsigned int n)
{
	while (n--)
		barrier();
}

/*
 * Wait for @round to be posted at @at (an acquire: what was written before
 * it is seen), spinning without cpu_relax() (see exr_spin()) so that the
 * threads that spin on one @at start together. False if the thread must
 * stop instead.
 */
static bool exr_spin_for_round(struct exr_thread *t, unsigned int *at,
			       unsigned int seen, unsigned int *round)
{
	unsigned long spins = 0;

	for (;;) {
		/* Pairs with the smp_store_release() that posts the round. */
		*round = smp_load_acquire(at);
		if (*round != seen)
			return true;
		if (!(++spins % 1024)) {
			if (exr_stopping(t))
				return false;
			cond_resched();
		}
	}
}

struct exr_stress {
	const struct exr_family *fam;
	struct exr_obj *obj;
	void *ref;
	atomic_t inside;		/* holders between acquire and release */
	atomic_t sections;		/* critical sections done, for pacing */
	int owner_returned;		/* the owner's wait has returned */
	atomic_t late_acquire;		/* acquired after the wait returned */
	atomic_t early_return;		/* the wait returned while inside */
	/* written by holder h alone, once it stops */
	unsigned long acquired[EXR_HOLDERS];
	unsigned long refused[EXR_HOLDERS];
	unsigned int round;
};

/*
 * Give the other threads a turn: UML has one CPU and no preemption, so
 * without a sleep here nobody else would run in the middle of a critical
 * section. Not much shorter than this: on UML a sleep of a few microseconds
 * has expired before the thread gets to schedule(), and then it does not
 * switch at all. The sleep varies, so that the interleavings do too.
 */
static void exr_relax(unsigned long i)
{
	if (i % 4 == 3)
		cond_resched();
	else
		usleep_range(20 + 10 * (i % 3), 60);
}

static void exr_holder_main(struct exr_thread *t)
{
	struct exr_stress *s = t->arg;
	const struct exr_family *fam = s->fam;
	unsigned int h = t->id;
	unsigned long i, mine = 0, refused_after = 0, refused = 0;
	/* Holders differ in how they take protection, to cover both paths. */
	unsigned long n = h == 1 ? 2 : 1;

	for (i = h + s->round; !exr_stopping(t); i++) {
		bool got = n == 1 ? fam->acquire(s->ref) :
				    fam->acquire_many(s->ref, n);

		if (got) {
			/*
			 * Pairs with the owner's smp_store_release(): if the
			 * wait has returned, it returned before this acquire.
			 */
			if (smp_load_acquire(&s->owner_returned))
				atomic_inc(&s->late_acquire);
			atomic_inc(&s->inside);
			exr_relax(i);
			/* Data written under protection: the waiter must see it. */
			WRITE_ONCE(s->obj->payload[h], s->obj->payload[h] + 1);
			mine++;
			exr_relax(i + 1);
			atomic_dec(&s->inside);
			atomic_inc(&s->sections);
			/* Likewise: still holding, the wait cannot be over. */
			if (smp_load_acquire(&s->owner_returned))
				atomic_inc(&s->early_return);
			if (n == 1) {
				fam->release(s->ref);
			} else if (i & 1) {
				fam->release_many(s->ref, n);
			} else {
				fam->release(s->ref);
				exr_relax(i);
				fam->release(s->ref);
			}
		} else {
			refused++;
			/* Seen the run-down through: enough tries after it. */
			if (smp_load_acquire(&s->owner_returned) &&
			    ++refused_after >= 8)
				break;
		}
		exr_relax(i + 2);
	}
	s->acquired[h] = mine;
	s->refused[h] = refused;
}

/*
 * Holders hammer acquire/write/release while the owner runs the reference
 * down: when the wait returns nobody is inside, nobody gets in afterwards,
 * and every write made under protection is visible to the owner.
 */
static void ex_rundown_test_stress_wait(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	struct exr_stress *s;
	struct exr_obj *obj = exr_new_obj(test);
	unsigned int round, rounds = 150, raced = 0, h;
	unsigned long seen, acquired, refused;
	unsigned long deadline;

	s = exr_shared_alloc(test, sizeof(*s));
	s->fam = fam;
	s->obj = obj;
	s->ref = exr_obj_ref(fam, obj);

	for (round = 0; round < rounds; round++) {
		enum exr_wait_kind kind = round % EXR_NR_WAIT_KINDS;
		long ret;

		atomic_set(&s->sections, 0);
		s->round = round;
		for (h = 0; h < EXR_HOLDERS; h++) {
			obj->payload[h] = 0;
			s->acquired[h] = 0;
		}
		for (h = 0; h < EXR_HOLDERS; h++)
			exr_thread_start(test, exr_holder_main, s);

		/* Let them get going: some will be inside when we begin. */
		deadline = jiffies + 2 * HZ;
		while (atomic_read(&s->sections) < 20 + round % 7 &&
		       time_before(jiffies, deadline))
			usleep_range(20, 60);
		if (atomic_read(&s->inside))
			raced++;

		ret = exr_do_wait(fam, s->ref, kind, 60 * HZ);
		/* Nothing between the return and these reads. */
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&s->inside), 0,
				    "round %u: %s returned with holders inside",
				    round, exr_wait_names[kind]);
		seen = 0;
		for (h = 0; h < EXR_HOLDERS; h++)
			seen += READ_ONCE(obj->payload[h]);
		/* Pairs with the holders' smp_load_acquire(): see there. */
		smp_store_release(&s->owner_returned, 1);
		KUNIT_EXPECT_EQ(test, ret > 0, kind == EXR_WAIT_TIMEOUT);

		if (!exr_join_all(test))
			return;
		acquired = 0;
		refused = 0;
		for (h = 0; h < EXR_HOLDERS; h++) {
			acquired += s->acquired[h];
			refused += s->refused[h];
		}
		KUNIT_EXPECT_EQ_MSG(test, seen, acquired,
				    "round %u: the owner saw %lu of %lu writes",
				    round, seen, acquired);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&s->late_acquire), 0,
				    "round %u: acquired after the wait returned",
				    round);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&s->early_return), 0,
				    "round %u: a holder was inside when the wait returned",
				    round);
		KUNIT_EXPECT_GE(test, refused, (unsigned long)EXR_HOLDERS * 8);
		EXR_EXPECT_MISUSES(test, 0);
		if (READ_ONCE(test->status) == KUNIT_FAILURE)
			return;

		/* Next round: the holders must not see the old "returned". */
		WRITE_ONCE(s->owner_returned, 0);
		fam->reinit(s->ref);
		EXR_EXPECT_MISUSES(test, 0);
	}
	/* How often the owner began with holders inside: up to the scheduler. */
	kunit_info(test, "%u of %u rounds began the wait with holders inside\n",
		   raced, rounds);
}

#define EXR_RELEASERS	3

struct exr_release_race {
	const struct exr_family *fam;
	struct exr_obj *obj;
	void *ref;
	unsigned int round;
	atomic_t holding;
	/* go[k]: the releaser k-th in line may drop its protection */
	struct completion go[EXR_RELEASERS];
};

#define EXR_PAYLOAD(round, h)	(0x5eed0000UL + (round) * EXR_HOLDERS + (h))

/*
 * Take protection before the owner waits; when its turn comes, dawdle,
 * write, and release. The turns rotate with the round, so that each
 * releaser is the last one in some rounds, and the last one dawdles after
 * the others are gone: a wait that returned before the final release would
 * find its write missing. After its final release the object may already
 * be gone, so this touches only struct exr_release_race from then on.
 */
static void exr_releaser_main(struct exr_thread *t)
{
	struct exr_release_race *r = t->arg;
	const struct exr_family *fam = r->fam;
	struct exr_obj *obj = r->obj;
	void *ref = r->ref;
	unsigned int h = t->id, round = r->round, i;
	unsigned int turn = (h + round) % EXR_RELEASERS;
	bool got;

	switch (h) {
	case 0:
		got = fam->acquire(ref);
		break;
	case 1:
		got = fam->acquire_many(ref, 2);
		break;
	default:
		got = fam->acquire_many(ref, 3);
		break;
	}
	if (got)
		atomic_inc(&r->holding);
	complete(&t->ready);
	wait_for_completion(&r->go[turn]);
	if (!got)
		goto next;

	for (i = 0; i <= round % 3; i++)
		exr_relax(round + i);
	switch (h) {
	case 0:
		WRITE_ONCE(obj->payload[h], EXR_PAYLOAD(round, h));
		fam->release(ref);
		break;
	case 1:
		/* Still protected by the second one: the wait must not end. */
		fam->release(ref);
		exr_relax(round);
		WRITE_ONCE(obj->payload[h], EXR_PAYLOAD(round, h));
		fam->release(ref);
		break;
	default:
		WRITE_ONCE(obj->payload[h], EXR_PAYLOAD(round, h));
		fam->release_many(ref, 3);
		break;
	}
next:
	if (turn + 1 < EXR_RELEASERS)
		complete(&r->go[turn + 1]);
}

/*
 * The owner frees the object that holds the reference the moment the wait
 * returns, while the releasers are still on their way out. A release that
 * touched the reference after the final decrement would be a use after
 * free: KASAN reports it where it is enabled; elsewhere the reference is
 * filled with a canary instead of freed, and must be intact once every
 * releaser is gone.
 */
static void ex_rundown_test_free_on_wait(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	const bool kasan = IS_ENABLED(CONFIG_KASAN);
	struct exr_release_race *r;
	struct exr_thread *t[EXR_RELEASERS];
	unsigned int round, rounds = 150, h;
	size_t off = exr_ref_offset(fam);
	u8 *canary = NULL;

	r = exr_shared_alloc(test, sizeof(*r));
	if (!kasan) {
		canary = kunit_kmalloc(test, fam->size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, canary);
		memset(canary, 0xa5, fam->size);
	}

	for (round = 0; round < rounds; round++) {
		enum exr_wait_kind kind = round % EXR_NR_WAIT_KINDS;
		struct exr_obj *obj = exr_new_obj(test);
		unsigned long bad = 0;

		r->fam = fam;
		r->obj = obj;
		r->ref = exr_obj_ref(fam, obj);
		r->round = round;
		atomic_set(&r->holding, 0);
		for (h = 0; h < EXR_RELEASERS; h++)
			init_completion(&r->go[h]);
		for (h = 0; h < EXR_RELEASERS; h++)
			t[h] = exr_thread_start(test, exr_releaser_main, r);
		for (h = 0; h < EXR_RELEASERS; h++)
			wait_for_completion(&t[h]->ready);
		KUNIT_EXPECT_EQ(test, atomic_read(&r->holding), EXR_RELEASERS);

		/* The first release may come before the wait begins, or after. */
		complete(&r->go[0]);
		exr_do_wait(fam, r->ref, kind, 60 * HZ);
		for (h = 0; h < EXR_RELEASERS; h++)
			if (READ_ONCE(obj->payload[h]) != EXR_PAYLOAD(round, h))
				bad++;
		if (kasan) {
			exr_free_obj(test, obj, true);
		} else {
			exr_free_obj(test, obj, false);
			memcpy((u8 *)obj + off, canary, fam->size);
		}

		if (!exr_join_all(test))
			return;
		KUNIT_EXPECT_EQ_MSG(test, bad, 0UL,
				    "round %u: %s returned before %lu write(s) under protection",
				    round, exr_wait_names[kind], bad);
		if (!kasan) {
			KUNIT_EXPECT_EQ_MSG(test,
					    memcmp((u8 *)obj + off, canary, fam->size), 0,
					    "round %u: the reference was written after the wait returned",
					    round);
			exr_free_obj(test, obj, true);
		}
		EXR_EXPECT_MISUSES(test, 0);
		if (READ_ONCE(test->status) == KUNIT_FAILURE)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* Releases of more than is held, racing with the real holder's.      */

/* How long an interrupt holds a racing thread up, at most. */
#define EXR_HOLD_UP_US		500

enum exr_race_role { EXR_RACE_M, EXR_RACE_H, EXR_RACE_W, EXR_RACE_ROLES };

enum exr_race_kind {
	EXR_RACE_IDLE,		/* no run-down */
	EXR_RACE_DRAINING,	/* a timed-out wait began it */
	EXR_RACE_WAITER,	/* and a waiter is asleep in it */
	EXR_NR_RACE_KINDS,
};

static const char * const exr_race_kind_names[EXR_NR_RACE_KINDS] = {
	[EXR_RACE_IDLE] = "idle",
	[EXR_RACE_DRAINING] = "draining",
	[EXR_RACE_WAITER] = "with a waiter",
};

/* Round @round's kind, and whether M is held up in it. */
static enum exr_race_kind exr_race_kind(unsigned int round)
{
	return round % EXR_NR_RACE_KINDS;
}

static bool exr_race_held(unsigned int round)
{
	return round / EXR_NR_RACE_KINDS % 2;
}

/*
 * One round: the reference has one holder; M, which holds nothing,
 * releases two protections while H, the holder, releases its own. Both
 * spin on @go, on CPUs of their own, so that they start together. In the
 * "held" rounds, M instead releases two again and again until an interrupt
 * on its CPU holds it up, wherever it was, and H releases while M is held
 * (a vCPU that QEMU runs late or the host deschedules does the same
 * unasked). W, the owner, waits in the rounds that have a waiter, and
 * when its wait returns frees the object, as an owner may: here it puts a
 * drained count back over the reference, so that a later write shows.
 */
struct exr_race {
	const struct exr_family *fam;
	void *ref;
	unsigned int go;		/* the round M and H may run */
	unsigned int w_round;		/* the round W is to wait in */
	unsigned int done[EXR_RACE_ROLES];	/* the last round each finished */
	unsigned int began[EXR_RACE_ROLES];	/* M, H: began their release */
	unsigned int held_up;		/* the round M's interrupt came in */
	unsigned long m_calls;		/* M's releases of two, this round */
	unsigned long m_began;		/* how many of them had begun so far */
	unsigned long m_ended;		/* and how many had returned */
	struct hrtimer timer;		/* on M's CPU */
	struct completion w_go;		/* W: wait in round @w_round */
	unsigned int w_entered;		/* W: the round it is waiting in */
	long w_ret;			/* what W's wait returned */
	bool w_after_both;		/* W returned after M and H began */
	bool w_in_flight;		/* and one of their releases had not returned */
	unsigned long w_m_began;	/* M's releases begun when W returned */
	long w_word;			/* the word W found when it returned */
};

static enum hrtimer_restart exr_race_hold_up(struct hrtimer *timer)
{
	struct exr_race *r = container_of(timer, struct exr_race, timer);
	unsigned int round = READ_ONCE(r->go), us;

	WRITE_ONCE(r->held_up, round);
	for (us = 0; us < EXR_HOLD_UP_US; us++) {
		/* Pairs with H's smp_store_release(): H has released. */
		if (smp_load_acquire(&r->done[EXR_RACE_H]) == round)
			break;
		udelay(1);
	}
	return HRTIMER_NORESTART;
}

/* M: release two, in a held round until the interrupt has come. */
static void exr_race_release_two(struct exr_race *r, unsigned int round)
{
	unsigned long deadline = jiffies + HZ / 10, calls = 0;
	bool held = exr_race_held(round);

	if (held)
		hrtimer_start(&r->timer,
			      ns_to_ktime((2 + round / 6 % 16) * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_PINNED_HARD);
	do {
		WRITE_ONCE(r->m_began, calls + 1);
		/* Began, then released: pairs with the owner's smp_mb(). */
		smp_mb();
		r->fam->release_many(r->ref, 2);
		calls++;
		/* Pairs with the owner's smp_load_acquire(): returned. */
		smp_store_release(&r->m_ended, calls);
	} while (held && READ_ONCE(r->held_up) != round &&
		 time_before(jiffies, deadline));
	if (held)
		hrtimer_cancel(&r->timer);
	r->m_calls = calls;
}

static void exr_race_releaser_main(struct exr_thread *t)
{
	struct exr_race *r = t->arg;
	unsigned int role = t->id, seen = 0, round;

	while (exr_spin_for_round(t, &r->go, seen, &round)) {
		unsigned long deadline = jiffies + HZ / 10;

		seen = round;
		if (!exr_race_held(round)) {
			/* Vary who comes first, and by how much: H -12 to +62. */
			exr_spin(role == EXR_RACE_M ? round % 4 * 4 :
				 round / 4 % 32 * 2);
		} else if (role == EXR_RACE_H) {
			while (READ_ONCE(r->held_up) != round &&
			       time_before(jiffies, deadline))
				barrier();
		}
		WRITE_ONCE(r->began[role], round);
		/* Began, then released: pairs with the owner's smp_mb(). */
		smp_mb();
		if (role == EXR_RACE_M)
			exr_race_release_two(r, round);
		else
			r->fam->release(r->ref);
		/* Pairs with exr_race_done() and the hold-up: released. */
		smp_store_release(&r->done[role], round);
	}
}

static void exr_race_owner_main(struct exr_thread *t)
{
	struct exr_race *r = t->arg;
	const struct exr_family *fam = r->fam;
	unsigned int round;

	for (;;) {
		wait_for_completion(&r->w_go);
		if (exr_stopping(t))
			return;
		round = READ_ONCE(r->w_round);
		WRITE_ONCE(r->w_entered, round);
		r->w_ret = fam->wait_timeout(r->ref, HZ / 4);
		/* Returned, then looks: pairs with the releasers' smp_mb(). */
		smp_mb();
		r->w_after_both = READ_ONCE(r->began[EXR_RACE_M]) == round &&
				  READ_ONCE(r->began[EXR_RACE_H]) == round;
		r->w_m_began = READ_ONCE(r->m_began);
		/* Pairs with M's smp_store_release(): returned. */
		r->w_in_flight = smp_load_acquire(&r->m_ended) != r->w_m_began;
		/* Pairs with H's smp_store_release(): returned. */
		r->w_in_flight |= smp_load_acquire(&r->done[EXR_RACE_H]) != round;
		/* The owner frees the object at once. */
		if (r->w_ret)
			r->w_word = atomic_long_xchg(fam->word(r->ref),
						     fam->word_drained);
		/* Pairs with exr_race_done(): what it found first. */
		smp_store_release(&r->done[EXR_RACE_W], round);
	}
}

/* Have M, H and (in a round with a waiter) W finished @round? */
static bool exr_race_done(struct exr_race *r, unsigned int round,
			  bool waiter)
{
	unsigned int role;

	for (role = 0; role < EXR_RACE_ROLES; role++) {
		if (role == EXR_RACE_W && !waiter)
			break;
		/* Pairs with their smp_store_release(): see what they did. */
		if (smp_load_acquire(&r->done[role]) != round)
			return false;
	}
	return true;
}

/*
 * Finding 1 of issue 10: releases of two protections by a task that holds
 * none, racing with the one holder's release. The rule: a release takes at
 * most what is held (the count never goes below zero), reports the excess
 * once, and the release that leaves nothing held ends the run-down. So
 * after every round the count is exactly zero, never one phantom holder
 * that nobody will release, and a wait returns at once.
 *
 * With a waiter asleep, its wait must return, and nothing may write the
 * reference after it has: the owner frees it then. Writes by a call that
 * began after the free are the caller's (a use after free), not the
 * library's, and so are those of a call that had begun but not yet
 * subtracted when the wait returned (M's first release may have taken H's
 * protection and ended the run-down while H is on its way in): from
 * outside, such a call cannot be told from one that subtracted before the
 * return and has its excess still to add back. So the reference (the count
 * W found when it freed, and the count after the round) is checked only in
 * the rounds where every release of M and H had begun and returned before
 * the wait returned; how many were is reported, and there must be some.
 * (What those rounds catch is a count left wrong. A wait that returns while
 * an add-back is still due leaves a release in flight, and such a round is
 * not judged: release_excess_addback catches that.) In held rounds M's first
 * release of two often takes H's protection and ends the run-down, and M
 * goes on releasing until its interrupt comes: a free under one of those
 * later releases can leave the freed memory with any count. The memory a
 * real free would hand to someone else holds here the drained count, on
 * which a late release finds nothing to take.
 *
 * Misuses: each of M's releases is one. H's is one more when M took H's
 * protection first, which nothing can tell from the other order. The
 * per-CPU family reports the excess of idle rounds once, at the wait that
 * sums the counters.
 *
 * Needs two CPUs: on one, ex_rundown_test_irq_release_excess does the
 * same. Rounds are bounded by count and by time (2.5 s); each costs the
 * per-CPU family a grace period.
 */
static void ex_rundown_test_release_excess_race(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	unsigned int rounds[EXR_NR_RACE_KINDS][2] = {};
	unsigned int phantom[EXR_NR_RACE_KINDS][2] = {};
	unsigned int hung = 0, at_return = 0, after_return = 0, not_held = 0;
	unsigned int misuse_off = 0, stuck = 0, late_rounds = 0, round, i;
	unsigned long end = jiffies + 5 * HZ / 2;
	struct exr_thread *t[EXR_RACE_ROLES];
	enum exr_race_kind kind;
	long bad_word = 0;
	struct exr_race *r;
	int cpus[2];

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU: see ex_rundown_test_irq_release_excess");
	KUNIT_ASSERT_EQ(test, ctx->nthreads, 0U);

	r = exr_shared_alloc(test, sizeof(*r));
	r->fam = fam;
	r->ref = exr_new_ref(test);
	init_completion(&r->w_go);
	hrtimer_setup(&r->timer, exr_race_hold_up, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_PINNED_HARD);
	t[EXR_RACE_M] = exr_thread_create(test, exr_race_releaser_main, r);
	t[EXR_RACE_H] = exr_thread_create(test, exr_race_releaser_main, r);
	t[EXR_RACE_W] = exr_thread_create(test, exr_race_owner_main, r);

	/* M and H on CPUs of their own if there are three; W on this one. */
	migrate_disable();
	if (exr_other_cpus(cpus, 2) < 2)
		cpus[1] = raw_smp_processor_id();
	kthread_bind(t[EXR_RACE_M]->task, cpus[0]);
	kthread_bind(t[EXR_RACE_H]->task, cpus[1]);
	kthread_bind(t[EXR_RACE_W]->task, raw_smp_processor_id());
	for (i = 0; i < EXR_RACE_ROLES; i++)
		exr_thread_run(t[i]);

	for (round = 1; round <= 30000 && time_before(jiffies, end); round++) {
		bool held = exr_race_held(round), per_release, late;
		unsigned long m, calls;
		void *ref = r->ref;
		long word;

		kind = exr_race_kind(round);
		per_release = kind != EXR_RACE_IDLE ||
			      (fam->flags & EXR_F_CHECKS_UNDERFLOW);
		if (round > 1)
			fam->reinit(ref);
		if (!fam->acquire(ref)) {
			KUNIT_FAIL(test, "round %u: acquire refused", round);
			break;
		}
		exr_hand_off(fam, ref, 1);
		if (kind != EXR_RACE_IDLE &&
		    fam->wait_timeout(ref, 0) != 0) {
			KUNIT_FAIL(test, "round %u: drained with a holder", round);
			break;
		}
		ctx->misuse_seen = ex_rundown_misuse_count();
		/* M and W are idle: go and w_go publish it. */
		WRITE_ONCE(r->m_began, 0);
		WRITE_ONCE(r->m_ended, 0);
		if (kind == EXR_RACE_WAITER) {
			WRITE_ONCE(r->w_round, round);
			complete(&r->w_go);
			if (!exr_poll(READ_ONCE(r->w_entered) == round &&
				      !task_is_running(t[EXR_RACE_W]->task),
				      1000)) {
				stuck++;
				break;
			}
		}

		/* Pairs with the releasers' smp_load_acquire(). */
		smp_store_release(&r->go, round);
		if (!exr_poll(exr_race_done(r, round, kind == EXR_RACE_WAITER),
			      2000)) {
			stuck++;
			break;
		}
		rounds[kind][held]++;
		if (held && READ_ONCE(r->held_up) != round)
			not_held++;
		calls = r->m_calls;
		/* A release began after the free: the count is not ours. */
		late = kind == EXR_RACE_WAITER && r->w_ret &&
		       (!r->w_after_both || r->w_in_flight ||
			calls > r->w_m_began);
		late_rounds += late;

		word = atomic_long_read(fam->word(ref));
		if (kind == EXR_RACE_WAITER && !late) {
			if (!r->w_ret)
				hung++;
			else if (r->w_word != fam->word_drained)
				at_return++;
			else if (word != fam->word_drained)
				after_return++;
		}

		if (fam->read_count(ref) ||
		    fam->wait_timeout(ref, 1) <= 0 ||
		    atomic_long_read(fam->word(ref)) != fam->word_drained) {
			if (!late) {
				bad_word = word;
				phantom[kind][held]++;
			}
			/* Drop the phantom, so that the next round is exact. */
			fam->release_many(ref, fam->read_count(ref));
			if (fam->wait_timeout(ref, 1) <= 0) {
				KUNIT_FAIL(test, "round %u: cannot drain: %lu held",
					   round, fam->read_count(ref));
				break;
			}
		}
		m = ex_rundown_misuse_count() - ctx->misuse_seen;
		ctx->misuse_seen += m;
		if (per_release ? m < calls || m > calls + 1 : m != 1)
			misuse_off++;
	}
	migrate_enable();

	WRITE_ONCE(ctx->stop, true);
	complete(&r->w_go);
	if (!exr_join_all(test))
		return;

	KUNIT_EXPECT_EQ_MSG(test, stuck, 0U, "a releaser or the waiter got stuck");
	for (kind = 0; kind < EXR_NR_RACE_KINDS; kind++)
		KUNIT_EXPECT_EQ_MSG(test, phantom[kind][0] + phantom[kind][1], 0U,
				    "%s: a phantom holder left in %u of %u rounds started together, %u of %u held (last word %#lx)",
				    exr_race_kind_names[kind], phantom[kind][0],
				    rounds[kind][0], phantom[kind][1],
				    rounds[kind][1], bad_word);
	KUNIT_EXPECT_EQ_MSG(test, hung, 0U,
			    "%u of %u waits did not return", hung,
			    rounds[EXR_RACE_WAITER][0] + rounds[EXR_RACE_WAITER][1]);
	KUNIT_EXPECT_EQ_MSG(test, at_return, 0U,
			    "%u waits returned while a release was still to change the count",
			    at_return);
	KUNIT_EXPECT_EQ_MSG(test, after_return, 0U,
			    "%u times the reference was written after the wait returned",
			    after_return);
	KUNIT_EXPECT_EQ_MSG(test, misuse_off, 0U,
			    "rounds whose misuses were not one per excess release (plus H's)");
	KUNIT_EXPECT_LT_MSG(test, late_rounds,
			    rounds[EXR_RACE_WAITER][0] + rounds[EXR_RACE_WAITER][1],
			    "no round with a waiter could be judged");
	kunit_info(test, "%u+%u idle, %u+%u draining, %u+%u waiter rounds (together+held; %u not held up, %u freed with a release in flight or begun late)\n",
		   rounds[EXR_RACE_IDLE][0], rounds[EXR_RACE_IDLE][1],
		   rounds[EXR_RACE_DRAINING][0], rounds[EXR_RACE_DRAINING][1],
		   rounds[EXR_RACE_WAITER][0], rounds[EXR_RACE_WAITER][1],
		   not_held, late_rounds);
}

/* ------------------------------------------------------------------ */
/* A wait while a release's excess is still to be added back.         */

/* How long the interrupt keeps M between its subtraction and add-back. */
#define EXR_ADDBACK_HOLD_US	2000
/* How many times a round's interrupt looks for M in that window. */
#define EXR_ADDBACK_TRIES	64

/*
 * A release of more than is held takes the shared-counter family's word
 * below zero, and only its add-back, a moment later, leaves the drained
 * value (__ex_rundown_release_end()). A wait that took the word in between
 * for drained would return with the add-back still to come: a write to the
 * reference after its owner may have freed it. The rounds that
 * release_excess_race judges have no release in flight, so it cannot see
 * that; this case makes the moment last, and waits in it.
 *
 * The reference is drained, its run-down begun, with no holder. M, on a CPU
 * of its own, releases two protections again and again: each is a misuse,
 * whose excess is added back. An interrupt on M's CPU comes at a varying
 * time, and again every few microseconds until it finds the word below
 * zero: M is then between a subtraction and its add-back, and stays there
 * while the interrupt spins. Meanwhile W, a thread on this CPU, begins a
 * wait; once W sleeps, the test thread wakes it (any task may be woken
 * spuriously), so that the wait looks at the word both as it begins and
 * after a wake-up. The wait must return, and not before the interrupt has
 * let M go on to its add-back.
 *
 * Rounds go on for 2 s (2000 at most). On a loaded machine, where the
 * interrupt seldom lands in the moment, they go on past that until
 * EXR_ADDBACK_WINDOWS rounds have found it, for 20 s at most: the case
 * judges waits in the moment, and must have some.
 */
#define EXR_ADDBACK_WINDOWS	16

struct exr_addback {
	const struct exr_family *fam;
	void *ref;
	unsigned int go;		/* the round M may run */
	unsigned int window;		/* the round the interrupt found M in it */
	unsigned int missed;		/* the round the interrupt gave up */
	unsigned int checked;		/* the round the test thread let M go */
	unsigned int closed;		/* the round the interrupt let M go */
	unsigned int m_done;		/* the round M stopped releasing */
	unsigned long m_calls;		/* M's releases of two, that round */
	unsigned int tries;		/* the interrupt's, this round */
	struct hrtimer timer;		/* on M's CPU */
	struct completion w_go;		/* W: wait in round @w_round */
	unsigned int w_round;
	unsigned int w_entered;		/* W: the round it is waiting in */
	unsigned int w_done;		/* W: the round its wait returned in */
	long w_ret;			/* what that wait returned */
	bool w_early;			/* and whether M was still held then */
};

static enum hrtimer_restart exr_addback_irq(struct hrtimer *timer)
{
	struct exr_addback *a = container_of(timer, struct exr_addback, timer);
	unsigned int round = READ_ONCE(a->go), us;

	/* Only M writes the word: below zero, M is between the two. */
	if (atomic_long_read(a->fam->word(a->ref)) >= 0) {
		unsigned int tries = READ_ONCE(a->tries) + 1;

		WRITE_ONCE(a->tries, tries);
		if (tries < EXR_ADDBACK_TRIES) {
			hrtimer_forward_now(timer, ns_to_ktime((1 + tries % 4) *
							       NSEC_PER_USEC));
			return HRTIMER_RESTART;
		}
		WRITE_ONCE(a->missed, round);
		return HRTIMER_NORESTART;
	}
	/* Pairs with the test thread's smp_load_acquire(): the word seen. */
	smp_store_release(&a->window, round);
	for (us = 0; us < EXR_ADDBACK_HOLD_US; us++) {
		/* Pairs with the test thread's smp_store_release(). */
		if (smp_load_acquire(&a->checked) == round)
			break;
		udelay(1);
	}
	/* Pairs with W's smp_load_acquire(): M goes on after this. */
	smp_store_release(&a->closed, round);
	return HRTIMER_NORESTART;
}

static void exr_addback_releaser_main(struct exr_thread *t)
{
	struct exr_addback *a = t->arg;
	unsigned int seen = 0, round;

	while (exr_spin_for_round(t, &a->go, seen, &round)) {
		unsigned long deadline = jiffies + HZ / 10, calls = 0;

		seen = round;
		WRITE_ONCE(a->tries, 0);
		hrtimer_start(&a->timer,
			      ns_to_ktime((2 + round % 16) * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_PINNED_HARD);
		do {
			a->fam->release_many(a->ref, 2);
			calls++;
		} while (READ_ONCE(a->window) != round &&
			 READ_ONCE(a->missed) != round &&
			 time_before(jiffies, deadline));
		hrtimer_cancel(&a->timer);
		a->m_calls = calls;
		/* Pairs with the test thread's smp_load_acquire(). */
		smp_store_release(&a->m_done, round);
	}
}

static void exr_addback_waiter_main(struct exr_thread *t)
{
	struct exr_addback *a = t->arg;
	unsigned int round;
	long ret;

	for (;;) {
		wait_for_completion(&a->w_go);
		if (exr_stopping(t))
			return;
		round = READ_ONCE(a->w_round);
		WRITE_ONCE(a->w_entered, round);
		ret = a->fam->wait_timeout(a->ref, HZ / 4);
		/* Pairs with the interrupt's smp_store_release(). */
		a->w_early = smp_load_acquire(&a->closed) != round;
		a->w_ret = ret;
		/* Pairs with the test thread's smp_load_acquire(). */
		smp_store_release(&a->w_done, round);
	}
}

/* Has the round at @at reached @round? What came before it is seen. */
static bool exr_addback_at(unsigned int *at, unsigned int round)
{
	/* Pairs with the smp_store_release() that posted it. */
	return smp_load_acquire(at) == round;
}

static void ex_rundown_test_release_excess_addback(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	const struct exr_family *fam = ctx->fam;
	unsigned int rounds = 0, windows = 0, kicked = 0, early = 0, hung = 0;
	unsigned int stuck = 0, bad = 0, round;
	unsigned long end = jiffies + 2 * HZ, last = jiffies + 20 * HZ;
	unsigned long calls = 0;
	struct exr_thread *m, *w;
	struct exr_addback *a;
	long bad_word = 0;
	int cpu;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	KUNIT_ASSERT_EQ(test, ctx->nthreads, 0U);

	a = exr_shared_alloc(test, sizeof(*a));
	a->fam = fam;
	a->ref = exr_new_ref(test);
	init_completion(&a->w_go);
	hrtimer_setup(&a->timer, exr_addback_irq, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_PINNED_HARD);
	KUNIT_ASSERT_GT(test, fam->wait_timeout(a->ref, 0), 0L);
	m = exr_thread_create(test, exr_addback_releaser_main, a);
	w = exr_thread_create(test, exr_addback_waiter_main, a);

	migrate_disable();
	exr_other_cpus(&cpu, 1);
	kthread_bind(m->task, cpu);
	kthread_bind(w->task, raw_smp_processor_id());
	exr_thread_run(m);
	exr_thread_run(w);

	for (round = 1; round <= 50000 && time_before(jiffies, last) &&
	     ((round <= 2000 && time_before(jiffies, end)) ||
	      windows < EXR_ADDBACK_WINDOWS); round++) {
		/* Pairs with M's smp_load_acquire(). */
		smp_store_release(&a->go, round);
		if (!exr_poll(exr_addback_at(&a->window, round) ||
			      exr_addback_at(&a->m_done, round), 1000)) {
			stuck++;
			break;
		}
		rounds++;
		if (READ_ONCE(a->window) == round) {
			windows++;
			WRITE_ONCE(a->w_round, round);
			complete(&a->w_go);
			/* W is asleep in its wait, or its wait has returned. */
			if (!exr_poll(exr_addback_at(&a->w_done, round) ||
				      (READ_ONCE(a->w_entered) == round &&
				       !task_is_running(w->task)), 1000)) {
				stuck++;
				break;
			}
			if (!exr_addback_at(&a->w_done, round)) {
				wake_up_process(w->task);
				kicked++;
				/* Until it has looked and gone back to sleep. */
				exr_poll(exr_addback_at(&a->w_done, round) ||
					 !task_is_running(w->task), 100);
			}
			/* Pairs with the interrupt's smp_load_acquire(). */
			smp_store_release(&a->checked, round);
			if (!exr_poll(exr_addback_at(&a->w_done, round),
				      1000)) {
				stuck++;
				break;
			}
			early += a->w_early;
			hung += a->w_ret <= 0;
		}
		if (!exr_poll(exr_addback_at(&a->m_done, round), 1000)) {
			stuck++;
			break;
		}
		calls += a->m_calls;
		if (atomic_long_read(fam->word(a->ref)) != fam->word_drained) {
			bad_word = atomic_long_read(fam->word(a->ref));
			bad++;
		}
	}
	migrate_enable();

	WRITE_ONCE(ctx->stop, true);
	complete(&a->w_go);
	if (!exr_join_all(test))
		return;

	KUNIT_EXPECT_EQ_MSG(test, stuck, 0U, "M or W got stuck");
	KUNIT_EXPECT_EQ_MSG(test, early, 0U,
			    "%u of %u waits returned while a release's excess was still to be added back",
			    early, windows);
	KUNIT_EXPECT_EQ_MSG(test, hung, 0U, "%u of %u waits did not return",
			    hung, windows);
	KUNIT_EXPECT_EQ_MSG(test, bad, 0U,
			    "%u rounds left the word at %#lx, not drained",
			    bad, bad_word);
	KUNIT_EXPECT_GT_MSG(test, windows, 0U,
			    "the interrupt never found a release between its subtraction and its add-back");
	EXR_EXPECT_MISUSES(test, calls);
	kunit_info(test, "%u rounds, %u with M held before its add-back, %u waits woken while it was, %lu releases\n",
		   rounds, windows, kicked, calls);
}

/* ------------------------------------------------------------------ */
/* ex_rundown_pcpu_exit() racing with acquires.                       */

#define EXR_EXIT_RACERS		3

struct exr_exit_race;

struct exr_exit_racer {
	struct hrtimer timer;		/* on the racer's CPU */
	struct exr_exit_race *x;
	unsigned int me;
};

/*
 * Each round one racer, on a CPU of its own, takes and drops protection on
 * @ref until it is refused, and an interrupt on its CPU holds it up,
 * wherever it was, until the test thread has run @ref down with
 * completed(), freed it with exit() and allocated a canary in its place.
 * The racers take turns, so that every CPU gets its go; one at a time,
 * because a second one still holding protection when exit() looks sends
 * exit() down its path for references with holders, which is safe.
 */
struct exr_exit_race {
	struct ex_rundown_pcpu ref;
	unsigned int nracers;
	unsigned int round;		/* the round the racers may run */
	unsigned int canary_round;	/* the round whose canary is in place */
	unsigned int running[EXR_EXIT_RACERS];	/* in that round, acquiring */
	unsigned int held_up[EXR_EXIT_RACERS];	/* its interrupt is spinning */
	unsigned int paused[EXR_EXIT_RACERS];	/* refused: done with it */
	unsigned long acquired[EXR_EXIT_RACERS];
	struct exr_exit_racer racer[EXR_EXIT_RACERS];
};

static enum hrtimer_restart exr_exit_hold_up(struct hrtimer *timer)
{
	struct exr_exit_racer *rc = container_of(timer, struct exr_exit_racer,
						 timer);
	struct exr_exit_race *x = rc->x;
	unsigned int round = READ_ONCE(x->round), us;

	WRITE_ONCE(x->held_up[rc->me], round);
	for (us = 0; us < EXR_HOLD_UP_US; us++) {
		if (READ_ONCE(x->canary_round) == round)
			break;
		udelay(1);
	}
	return HRTIMER_NORESTART;
}

static void exr_exit_racer_main(struct exr_thread *t)
{
	struct exr_exit_race *x = t->arg;
	unsigned int me = t->id, seen = 0, round;
	struct exr_exit_racer *rc = &x->racer[me];
	unsigned long got = 0;

	while (exr_spin_for_round(t, &x->round, seen, &round)) {
		seen = round;
		if (round % x->nracers != me) {
			WRITE_ONCE(x->running[me], round);
			/* Pairs with exr_exit_racers(). */
			smp_store_release(&x->paused[me], round);
			continue;
		}
		hrtimer_start(&rc->timer,
			      ns_to_ktime((2 + round / x->nracers % 16) * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_PINNED_HARD);
		WRITE_ONCE(x->running[me], round);
		/* Once refused, no acquire or release of ours is under way. */
		while (ex_rundown_pcpu_acquire(&x->ref)) {
			got++;
			ex_rundown_pcpu_release(&x->ref);
		}
		hrtimer_cancel(&rc->timer);
		/* Pairs with exr_exit_racers(): our last release first. */
		smp_store_release(&x->paused[me], round);
	}
	x->acquired[me] = got;
}

/* Are all racers running in @round, or have they all paused? */
static bool exr_exit_racers(struct exr_exit_race *x, unsigned int round,
			    bool paused)
{
	unsigned int i;

	for (i = 0; i < x->nracers; i++) {
		/* Pairs with the racer's smp_store_release(). */
		if (paused ? smp_load_acquire(&x->paused[i]) != round :
			     READ_ONCE(x->running[i]) != round)
			return false;
	}
	return true;
}

/*
 * Finding 3 of issue 10: completed() does not wait for acquires already
 * under way (it must not sleep), and such an acquire may still succeed.
 * exit() must therefore not free the per-CPU counters until those acquires
 * are done, or one of them adds to memory that is no longer its own. Each
 * round frees the counters while the racers hammer them, and at once
 * allocates a canary of the counters' size and alignment, which the per-CPU
 * allocator tends to place where they were: once the racers have stopped,
 * it must still read zero on every CPU.
 *
 * The racer must be caught between its acquire's read of the reference and
 * its add for that: a few instructions. The interrupt that holds it up
 * while the test thread runs completed() and exit() and allocates the
 * canary (for at most EXR_HOLD_UP_US: an exit() that waits for a grace
 * period waits for the interrupt too) lands in that window in about one
 * round in ten.
 *
 * Late holders are legal (the kernel-doc of completed() says so), and so is
 * completed() finding a holder, or exit() finding one that it waited for:
 * each is one misuse, and the late holder's release then stays balanced.
 * So a round reports at most two misuses; more means that a release was
 * refused.
 */
static void ex_rundown_test_pcpu_exit_races_acquire(struct kunit *test)
{
	struct exr_ctx *ctx = test->priv;
	size_t align = max_t(size_t, EX_RUNDOWN_PCPU_FLAGS + 1,
			     __alignof__(unsigned long));
	unsigned int written = 0, reused = 0, misuse_off = 0, stuck = 0;
	unsigned int held_up = 0, round, rounds = 0, nracers, found, i;
	unsigned long end = jiffies + 3 * HZ, misuses = 0, acquired = 0;
	unsigned long bad_val = 0;
	struct exr_thread *t[EXR_EXIT_RACERS];
	int cpus[EXR_EXIT_RACERS], cpu, bad_cpu = -1;
	struct exr_exit_race *x;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU: nothing can be under way in an acquire");
	KUNIT_ASSERT_EQ(test, ctx->nthreads, 0U);

	/* One racer on each other CPU, up to EXR_EXIT_RACERS. */
	nracers = min(num_online_cpus() - 1, (unsigned int)EXR_EXIT_RACERS);
	x = exr_shared_alloc(test, sizeof(*x));
	x->nracers = nracers;
	for (i = 0; i < nracers; i++) {
		x->racer[i].x = x;
		x->racer[i].me = i;
		hrtimer_setup(&x->racer[i].timer, exr_exit_hold_up,
			      CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL_PINNED_HARD);
		t[i] = exr_thread_create(test, exr_exit_racer_main, x);
	}
	migrate_disable();
	found = exr_other_cpus(cpus, nracers);
	for (i = 0; i < nracers; i++) {
		kthread_bind(t[i]->task, found ? cpus[i % found] :
				   raw_smp_processor_id());
		exr_thread_run(t[i]);
	}

	for (round = 1; round <= 20000 && time_before(jiffies, end); round++) {
		unsigned long __percpu *slots, *canary;
		unsigned long m;

		if (ex_rundown_pcpu_init(&x->ref, GFP_KERNEL)) {
			KUNIT_FAIL(test, "round %u: ex_rundown_pcpu_init failed", round);
			break;
		}
		slots = __ex_rundown_pcpu_slots(READ_ONCE(x->ref.state));
		ctx->misuse_seen = ex_rundown_misuse_count();
		/* Pairs with the racers' smp_load_acquire(). */
		smp_store_release(&x->round, round);
		if (!exr_poll(exr_exit_racers(x, round, false), 1000)) {
			stuck++;
			break;
		}
		if (exr_poll(READ_ONCE(x->held_up[round % nracers]) == round, 5))
			held_up++;

		ex_rundown_pcpu_completed(&x->ref);
		ex_rundown_pcpu_exit(&x->ref);
		canary = __alloc_percpu_gfp(sizeof(*canary), align, GFP_KERNEL);
		WRITE_ONCE(x->canary_round, round);
		if (!canary) {
			KUNIT_FAIL(test, "round %u: no memory for the canary", round);
			break;
		}
		if (canary == slots)
			reused++;

		if (!exr_poll(exr_exit_racers(x, round, true), 2000)) {
			/* A racer may still write it: leak the canary. */
			stuck++;
			break;
		}
		rounds++;
		for_each_possible_cpu(cpu) {
			unsigned long v = READ_ONCE(*per_cpu_ptr(canary, cpu));

			if (v) {
				bad_cpu = cpu;
				bad_val = v;
				written++;
				break;
			}
		}
		free_percpu(canary);
		m = ex_rundown_misuse_count() - ctx->misuse_seen;
		ctx->misuse_seen += m;
		misuses += m;
		if (m > 2)
			misuse_off++;
	}
	migrate_enable();

	WRITE_ONCE(ctx->stop, true);
	if (!exr_join_all(test))
		return;
	for (i = 0; i < nracers; i++)
		acquired += x->acquired[i];

	KUNIT_EXPECT_EQ_MSG(test, stuck, 0U, "a racer did not pause");
	KUNIT_EXPECT_EQ_MSG(test, written, 0U,
			    "freed counters written after exit() in %u of %u rounds (CPU %d: %#lx)",
			    written, rounds, bad_cpu, bad_val);
	KUNIT_EXPECT_EQ_MSG(test, misuse_off, 0U,
			    "%u rounds reported more than two misuses: a late holder's release was refused",
			    misuse_off);
	kunit_info(test, "%u rounds (%u held up), %u racers, %lu acquires, %lu misuses, canary in place in %u\n",
		   rounds, held_up, nracers, acquired, misuses, reused);
}

static struct kunit_case ex_rundown_stress_cases[] = {
	EXR_CASE(ex_rundown_test_stress_wait),
	EXR_CASE(ex_rundown_test_free_on_wait),
	EXR_CASE(ex_rundown_test_release_excess_race),
	KUNIT_CASE(ex_rundown_test_release_excess_addback),
	KUNIT_CASE(ex_rundown_test_pcpu_exit_races_acquire),
	{}
};

struct kunit_suite ex_rundown_stress_suite = {
	.name = "ex_rundown_stress",
	.init = exr_test_init,
	.exit = exr_test_exit,
	.test_cases = ex_rundown_stress_cases,
};
