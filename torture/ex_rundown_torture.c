// SPDX-License-Identifier: GPL-2.0
/*
 * ex_rundown_torture: a long randomised soak of both run-down families,
 * after kernel/locking/locktorture.c.
 *
 * Each family gets one slot through which everybody finds the object it
 * guards, an RCU-protected pointer to a struct exr_tt_obj that embeds the
 * reference. Around that slot run, for as long as asked:
 *
 *  - holders in process context, taking one to three protections and
 *    holding them for a random time: spinning, sleeping (preempted) or
 *    moved to another CPU while holding;
 *  - holders in softirq and hard-IRQ context (hrtimers), one of which may
 *    keep its protection until its next run;
 *  - an owner that runs the object down again and again, with a plain,
 *    killable or timed wait (random timeouts, retried), joined by waiter
 *    threads and by a killable waiter that is sent SIGKILL at a random
 *    moment; then it either reinitialises the object or replaces it,
 *    freeing the old one (and, for the per-CPU family, its counters) once
 *    RCU says nobody can still be looking at it;
 *  - a thread that commits misuse at a known rate, on references of its
 *    own, so that the count the library reports can be checked;
 *  - a thread that takes CPUs offline and brings them back.
 *
 * What must hold, checked all along:
 *  - a wait returns only when no holder is inside (@inside is zero);
 *  - no protection is granted on an object whose run-down is over (@dead);
 *  - no run-down takes longer than @bound seconds: a lost wake-up;
 *  - the misuse reported is exactly the misuse committed (the library's
 *    count is global: nothing else may use it during a run);
 *  - at the end every reference reads as free, and a wait on it returns.
 * Any report of KASAN, KCSAN, lockdep or a WARNING is the harness's to
 * find in the kernel log (scripts/torture.sh).
 *
 * Statistics are printed every @stat_interval seconds, and a verdict line,
 * "ex_rundown_torture: verdict: PASS" or "... FAIL: ...", at the end: after
 * @duration seconds, or at rmmod. As a module it starts when loaded; built
 * into a kernel (the KUnit-built kernels of scripts/torture.sh, which have
 * no user space) it runs only with ex_rundown_torture.run=1 on the command
 * line, holds up the boot until it is done, and with shutdown=1 then powers
 * the machine off (or restarts it, where it cannot power off). Grace
 * periods are expedited until the boot is over: add rcupdate.rcu_normal=1
 * to give the per-CPU family's waits normal ones.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/reboot.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>

#include <ex_rundown.h>
#include <ex_rundown_pcpu.h>

#include "../src/ex_rundown_compat.h"

/*
 * Where the kernel has its torture framework (kernel/torture.c, behind
 * CONFIG_TORTURE_TEST, which this test's Kconfig entry selects in-tree),
 * CPU hotplug, the shuffling of threads between CPUs, stuttering and the
 * random numbers come from it, as in locktorture. Debian's kernels lack
 * it: this file then takes CPUs offline and back, and draws its random
 * numbers, on its own.
 */
#if IS_REACHABLE(CONFIG_TORTURE_TEST)
#include <linux/torture.h>
#define EXR_TT_FRAMEWORK	1
#else
#define EXR_TT_FRAMEWORK	0
#endif

/* ------------------------------------------------------------------ */
/* Parameters, checked when set: a bad one fails the load with -EINVAL. */

#define EXR_TT_MAX_DURATION	(7 * 24 * 3600)
#define EXR_TT_MAX_HOLDERS	64
#define EXR_TT_MAX_WAITERS	16
#define EXR_TT_MAX_ONOFF_MS	60000
#define EXR_TT_MAX_STAT_S	3600
#define EXR_TT_MAX_BOUND_S	3600
#define EXR_TT_MAX_MISUSE_MS	60000

/* Fault sources, the bits of @faults. */
enum {
	EXR_TT_PREEMPT,		/* process-context holders sleep while holding */
	EXR_TT_MIGRATE,		/* and move to another CPU while holding */
	EXR_TT_SOFTIRQ,		/* holders in softirq context */
	EXR_TT_HARDIRQ,		/* holders in hard-IRQ context */
	EXR_TT_TIMEOUT,		/* timed waits with random timeouts */
	EXR_TT_SIGNAL,		/* killable waiters sent SIGKILL */
	EXR_TT_FREE,		/* objects freed and replaced after a run-down */
	EXR_TT_MISUSE,		/* misuse committed at a known rate */
	EXR_TT_HOTPLUG,		/* CPUs taken offline and back by this module */
	EXR_TT_NR_FAULTS,
};

static const char * const exr_tt_fault_names[EXR_TT_NR_FAULTS] = {
	[EXR_TT_PREEMPT] = "preempt",
	[EXR_TT_MIGRATE] = "migrate",
	[EXR_TT_SOFTIRQ] = "softirq",
	[EXR_TT_HARDIRQ] = "hardirq",
	[EXR_TT_TIMEOUT] = "timeout",
	[EXR_TT_SIGNAL] = "signal",
	[EXR_TT_FREE] = "free",
	[EXR_TT_MISUSE] = "misuse",
	[EXR_TT_HOTPLUG] = "hotplug",
};

#define EXR_TT_ALL_FAULTS	(BIT(EXR_TT_NR_FAULTS) - 1)

/* The families, the bits of @family. */
enum { EXR_TT_REF, EXR_TT_PCPU, EXR_TT_NR_FAMILIES };

/* Deliberate bugs in the torture's own use of the API: negative controls. */
enum { EXR_TT_BROKEN_NONE, EXR_TT_BROKEN_EARLY_RELEASE };

static unsigned int duration = 60;
static unsigned int family = BIT(EXR_TT_REF) | BIT(EXR_TT_PCPU);
static unsigned int holders = 4;
static unsigned int waiters = 2;
static unsigned int faults = EXR_TT_ALL_FAULTS;
static unsigned int onoff_interval = 200;
static unsigned int stat_interval = 5;
static unsigned int bound = 60;
static unsigned int misuse_interval = 100;
static unsigned int broken;
#ifdef MODULE
static bool run = true;
#else
static bool run;
#endif
static bool shutdown;

static int exr_tt_set_uint(const char *val, const struct kernel_param *kp,
			   unsigned int min, unsigned int max)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < min || v > max) {
		pr_err("%s: '%.*s' is not a whole number from %u to %u\n",
		       kp->name, (int)strcspn(val, "\n"), val, min, max);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = v;
	return 0;
}

#define EXR_TT_UINT_PARAM(name, min, max, desc)				\
static int exr_tt_set_##name(const char *val, const struct kernel_param *kp) \
{									\
	return exr_tt_set_uint(val, kp, min, max);			\
}									\
static const struct kernel_param_ops exr_tt_##name##_ops = {		\
	.set = exr_tt_set_##name,					\
	.get = param_get_uint,						\
};									\
module_param_cb(name, &exr_tt_##name##_ops, &name, 0444);		\
MODULE_PARM_DESC(name, desc)

EXR_TT_UINT_PARAM(duration, 1, EXR_TT_MAX_DURATION,
		  "Seconds to run, 1 to 604800 (default 60)");
EXR_TT_UINT_PARAM(holders, 0, EXR_TT_MAX_HOLDERS,
		  "Process-context holder threads per family, 0 to 64 (default 4)");
EXR_TT_UINT_PARAM(waiters, 0, EXR_TT_MAX_WAITERS,
		  "Waiter threads joining each run-down, per family, 0 to 16 (default 2)");
EXR_TT_UINT_PARAM(onoff_interval, 1, EXR_TT_MAX_ONOFF_MS,
		  "Milliseconds between CPU hotplug operations, 1 to 60000 (default 200)");
EXR_TT_UINT_PARAM(stat_interval, 1, EXR_TT_MAX_STAT_S,
		  "Seconds between statistics, 1 to 3600 (default 5)");
EXR_TT_UINT_PARAM(bound, 1, EXR_TT_MAX_BOUND_S,
		  "Seconds a run-down may take before it counts as lost, 1 to 3600 (default 60)");
EXR_TT_UINT_PARAM(misuse_interval, 1, EXR_TT_MAX_MISUSE_MS,
		  "Milliseconds between misuses committed, 1 to 60000 (default 100)");

/*
 * A comma-separated list of names out of @names (or "all", or "none"),
 * into a bit mask.
 */
static int exr_tt_set_names(const char *val, const struct kernel_param *kp,
			    const char * const *names, unsigned int n,
			    bool allow_none)
{
	size_t len = strcspn(val, "\n"), l;
	unsigned int mask = 0, i;
	const char *p = val, *end = val + len;
	char list[128];

	if (len == 3 && !strncmp(val, "all", 3)) {
		mask = BIT(n) - 1;
	} else if (len == 4 && !strncmp(val, "none", 4) && allow_none) {
		mask = 0;
	} else {
		while (p < end) {
			l = strcspn(p, ",\n");

			for (i = 0; i < n; i++)
				if (strlen(names[i]) == l && !strncmp(p, names[i], l))
					break;
			if (i == n || !l)
				goto bad;
			mask |= BIT(i);
			p += l + (p + l < end);
		}
		if (!mask)
			goto bad;
	}
	*(unsigned int *)kp->arg = mask;
	return 0;
bad:
	for (i = 0, l = 0; i < n; i++)
		l += scnprintf(list + l, sizeof(list) - l, " %s", names[i]);
	pr_err("%s: '%.*s' is not %sall, or a comma-separated list of:%s\n",
	       kp->name, (int)len, val, allow_none ? "none, " : "", list);
	return -EINVAL;
}

static int exr_tt_get_names(char *buf, const struct kernel_param *kp,
			    const char * const *names, unsigned int n)
{
	unsigned int mask = *(unsigned int *)kp->arg, i;
	int len = 0;

	if (!mask)
		return sysfs_emit(buf, "none\n");
	for (i = 0; i < n; i++)
		if (mask & BIT(i))
			len += scnprintf(buf + len, PAGE_SIZE - len, "%s%s",
					 len ? "," : "", names[i]);
	return len + scnprintf(buf + len, PAGE_SIZE - len, "\n");
}

static int exr_tt_set_faults(const char *val, const struct kernel_param *kp)
{
	return exr_tt_set_names(val, kp, exr_tt_fault_names,
				EXR_TT_NR_FAULTS, true);
}

static int exr_tt_get_faults(char *buf, const struct kernel_param *kp)
{
	return exr_tt_get_names(buf, kp, exr_tt_fault_names,
				EXR_TT_NR_FAULTS);
}

static const struct kernel_param_ops exr_tt_faults_ops = {
	.set = exr_tt_set_faults,
	.get = exr_tt_get_faults,
};
module_param_cb(faults, &exr_tt_faults_ops, &faults, 0444);
MODULE_PARM_DESC(faults,
		 "Fault sources: all (default), none, or a comma-separated list of preempt, migrate, softirq, hardirq, timeout, signal, free, misuse, hotplug");

static const char * const exr_tt_family_names[EXR_TT_NR_FAMILIES] = {
	[EXR_TT_REF] = "ref",
	[EXR_TT_PCPU] = "pcpu",
};

static int exr_tt_set_family(const char *val, const struct kernel_param *kp)
{
	return exr_tt_set_names(val, kp, exr_tt_family_names,
				EXR_TT_NR_FAMILIES, false);
}

static int exr_tt_get_family(char *buf, const struct kernel_param *kp)
{
	return exr_tt_get_names(buf, kp, exr_tt_family_names,
				EXR_TT_NR_FAMILIES);
}

static const struct kernel_param_ops exr_tt_family_ops = {
	.set = exr_tt_set_family,
	.get = exr_tt_get_family,
};
module_param_cb(family, &exr_tt_family_ops, &family, 0444);
MODULE_PARM_DESC(family,
		 "Families to torture: all (default), ref (struct ex_rundown_ref), pcpu (struct ex_rundown_pcpu), or ref,pcpu");

static const char * const exr_tt_broken_names[] = {
	[EXR_TT_BROKEN_NONE] = "none",
	[EXR_TT_BROKEN_EARLY_RELEASE] = "early_release",
};

static int exr_tt_set_broken(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(exr_tt_broken_names, val);

	if (i < 0) {
		pr_err("%s: '%.*s' is not none or early_release\n", kp->name,
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = i;
	return 0;
}

static int exr_tt_get_broken(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", exr_tt_broken_names[broken]);
}

static const struct kernel_param_ops exr_tt_broken_ops = {
	.set = exr_tt_set_broken,
	.get = exr_tt_get_broken,
};
module_param_cb(broken, &exr_tt_broken_ops, &broken, 0444);
MODULE_PARM_DESC(broken,
		 "Negative control: early_release makes holders drop protection before they leave, which the run must catch (default none)");

static int exr_tt_set_bool(const char *val, const struct kernel_param *kp)
{
	bool v;

	if (kstrtobool(val, &v)) {
		pr_err("%s: '%.*s' is not a boolean (1/0, y/n, on/off)\n",
		       kp->name, (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	*(bool *)kp->arg = v;
	return 0;
}

static const struct kernel_param_ops exr_tt_bool_ops = {
	.set = exr_tt_set_bool,
	.get = param_get_bool,
};
module_param_cb(run, &exr_tt_bool_ops, &run, 0444);
MODULE_PARM_DESC(run,
		 "Run at all (default: yes as a module; built in, only if set on the command line)");
module_param_cb(shutdown, &exr_tt_bool_ops, &shutdown, 0444);
MODULE_PARM_DESC(shutdown, "Power the machine off (or restart it) after the verdict (default no)");

static bool exr_tt_on(unsigned int fault)
{
	return faults & BIT(fault);
}

/* ------------------------------------------------------------------ */
/* Errors: each kind is counted, and its first few occurrences logged.  */

enum {
	EXR_TT_ERR_INSIDE,	/* a wait returned with a holder inside */
	EXR_TT_ERR_LATE,	/* protection granted after the run-down */
	EXR_TT_ERR_BOUND,	/* a run-down took longer than @bound */
	EXR_TT_ERR_MISUSE,	/* misuse reported is not misuse committed */
	EXR_TT_ERR_COUNT,	/* a count not exact at the end */
	EXR_TT_ERR_WAIT,	/* a wait returned what it may not */
	EXR_TT_NR_ERRS,
};

static const char * const exr_tt_err_names[EXR_TT_NR_ERRS] = {
	[EXR_TT_ERR_INSIDE] = "waits returned with holders inside",
	[EXR_TT_ERR_LATE] = "protections granted after a run-down",
	[EXR_TT_ERR_BOUND] = "run-downs over their bound (lost wake-ups)",
	[EXR_TT_ERR_MISUSE] = "misuse counts that differ",
	[EXR_TT_ERR_COUNT] = "counts not exact at the end",
	[EXR_TT_ERR_WAIT] = "waits that returned an error",
};

static atomic_t exr_tt_errs[EXR_TT_NR_ERRS];

static __printf(2, 3) void exr_tt_error(unsigned int kind, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (atomic_inc_return(&exr_tt_errs[kind]) > 5)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("ERROR: %pV", &vaf);
	va_end(args);
}

/* ------------------------------------------------------------------ */
/* The families, behind one set of operations.                        */

/*
 * An object guarded by a reference. @inside counts the holders between
 * their acquire and their release; @dead is set by the owner once every
 * wait of a run-down has returned, and cleared before the reinit that
 * makes the object usable again (whose RELEASE publishes it).
 */
struct exr_tt_obj {
	union {
		struct ex_rundown_ref ref;
		struct ex_rundown_pcpu pcpu;
	};
	atomic_t inside;
	atomic_long_t uses;
	bool dead;
	int last_cpu;
};

struct exr_tt_ops {
	int (*init)(struct exr_tt_obj *o);
	void (*exit)(struct exr_tt_obj *o);
	bool (*acquire_many)(struct exr_tt_obj *o, unsigned long n);
	void (*release_many)(struct exr_tt_obj *o, unsigned long n);
	void (*hand_off)(struct exr_tt_obj *o);
	void (*wait)(struct exr_tt_obj *o);
	int (*wait_killable)(struct exr_tt_obj *o);
	long (*wait_timeout)(struct exr_tt_obj *o, long timeout);
	void (*completed)(struct exr_tt_obj *o);
	void (*reinit)(struct exr_tt_obj *o);
	unsigned long (*read_count)(struct exr_tt_obj *o);
	bool (*is_draining)(struct exr_tt_obj *o);
};

/* Each family's reference in an object, for EXR_TT_FAMILY(). */
static struct ex_rundown_ref *exr_tt_ref_of(struct exr_tt_obj *o)
{
	return &o->ref;
}

static struct ex_rundown_pcpu *exr_tt_pcpu_of(struct exr_tt_obj *o)
{
	return &o->pcpu;
}

#define EXR_TT_FAMILY(tag, prefix)				\
static bool exr_tt_##tag##_acquire_many(struct exr_tt_obj *o, unsigned long n) \
{									\
	return prefix##_acquire_many(exr_tt_##tag##_of(o), n);			\
}									\
static void exr_tt_##tag##_release_many(struct exr_tt_obj *o, unsigned long n) \
{									\
	prefix##_release_many(exr_tt_##tag##_of(o), n);				\
}									\
static void exr_tt_##tag##_hand_off(struct exr_tt_obj *o)		\
{									\
	prefix##_hand_off(exr_tt_##tag##_of(o));					\
}									\
static void exr_tt_##tag##_wait(struct exr_tt_obj *o)			\
{									\
	prefix##_wait(exr_tt_##tag##_of(o));					\
}									\
static int exr_tt_##tag##_wait_killable(struct exr_tt_obj *o)		\
{									\
	return prefix##_wait_killable(exr_tt_##tag##_of(o));			\
}									\
static long exr_tt_##tag##_wait_timeout(struct exr_tt_obj *o, long timeout) \
{									\
	return prefix##_wait_timeout(exr_tt_##tag##_of(o), timeout);		\
}									\
static void exr_tt_##tag##_completed(struct exr_tt_obj *o)		\
{									\
	prefix##_completed(exr_tt_##tag##_of(o));					\
}									\
static void exr_tt_##tag##_reinit(struct exr_tt_obj *o)		\
{									\
	prefix##_reinit(exr_tt_##tag##_of(o));					\
}									\
static unsigned long exr_tt_##tag##_read_count(struct exr_tt_obj *o)	\
{									\
	return prefix##_read_count(exr_tt_##tag##_of(o));				\
}									\
static bool exr_tt_##tag##_is_draining(struct exr_tt_obj *o)		\
{									\
	return prefix##_is_draining(exr_tt_##tag##_of(o));			\
}

#define EXR_TT_OPS(tag)							\
	.acquire_many = exr_tt_##tag##_acquire_many,			\
	.release_many = exr_tt_##tag##_release_many,			\
	.hand_off = exr_tt_##tag##_hand_off,				\
	.wait = exr_tt_##tag##_wait,					\
	.wait_killable = exr_tt_##tag##_wait_killable,			\
	.wait_timeout = exr_tt_##tag##_wait_timeout,			\
	.completed = exr_tt_##tag##_completed,				\
	.reinit = exr_tt_##tag##_reinit,				\
	.read_count = exr_tt_##tag##_read_count,			\
	.is_draining = exr_tt_##tag##_is_draining

EXR_TT_FAMILY(ref, ex_rundown)

static int exr_tt_ref_init(struct exr_tt_obj *o)
{
	ex_rundown_init(&o->ref);
	return 0;
}

static void exr_tt_ref_exit(struct exr_tt_obj *o)
{
}

EXR_TT_FAMILY(pcpu, ex_rundown_pcpu)

static int exr_tt_pcpu_init(struct exr_tt_obj *o)
{
	return ex_rundown_pcpu_init(&o->pcpu, GFP_KERNEL);
}

static void exr_tt_pcpu_exit(struct exr_tt_obj *o)
{
	ex_rundown_pcpu_exit(&o->pcpu);
}

static const struct exr_tt_ops exr_tt_ops[EXR_TT_NR_FAMILIES] = {
	[EXR_TT_REF] = {
		.init = exr_tt_ref_init,
		.exit = exr_tt_ref_exit,
		EXR_TT_OPS(ref),
	},
	[EXR_TT_PCPU] = {
		.init = exr_tt_pcpu_init,
		.exit = exr_tt_pcpu_exit,
		EXR_TT_OPS(pcpu),
	},
};

/* ------------------------------------------------------------------ */
/* State.                                                             */

/* A small, fast generator per thread or timer: no shared state. */
struct exr_tt_rand {
#if EXR_TT_FRAMEWORK
	struct torture_random_state trs;
#else
	u64 s;
#endif
};

#if EXR_TT_FRAMEWORK
static void exr_tt_seed(struct exr_tt_rand *r)
{
	/* torture_random() seeds itself on first use. */
	memset(&r->trs, 0, sizeof(r->trs));
}

static u32 exr_tt_random(struct exr_tt_rand *r)
{
	return torture_random(&r->trs);
}
#else
static void exr_tt_seed(struct exr_tt_rand *r)
{
	r->s = get_random_u64() | 1;
}

static u32 exr_tt_random(struct exr_tt_rand *r)
{
	/* xorshift64*: plenty for picking among a few choices. */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (r->s * 0x2545f4914f6cdd1dULL) >> 32;
}
#endif

/* Uniform in [0, n), n > 0. */
static u32 exr_tt_below(struct exr_tt_rand *r, u32 n)
{
	return ((u64)exr_tt_random(r) * n) >> 32;
}

/* Counters a thread or timer keeps for itself; summed for statistics. */
struct exr_tt_stats {
	unsigned long acquires;
	unsigned long refused;
};

struct exr_tt_family;

/* An interrupt holder: an hrtimer in softirq or hard-IRQ mode. */
struct exr_tt_irq {
	struct hrtimer timer;
	struct exr_tt_family *f;
	struct exr_tt_rand rand;
	struct exr_tt_stats stats;
	struct exr_tt_obj *kept;	/* a protection kept until the next run */
	bool hard;
};

struct exr_tt_family {
	unsigned int id;
	const char *name;
	const struct exr_tt_ops *ops;
	struct exr_tt_obj __rcu *obj;	/* where everybody finds the object */

	/* The owner's run-down, for the waiters and the watchdog. */
	struct exr_tt_obj *cur;
	unsigned int gen;		/* run-downs begun */
	unsigned long began;		/* jiffies, while @rundown */
	bool rundown;
	unsigned int bound_reported;	/* the last @gen reported as lost */
	wait_queue_head_t wq;		/* waiters: a new @gen, or stop */
	atomic_t waiters_left;
	struct completion waiters_done;

	struct task_struct *owner;
	struct task_struct *waiter[EXR_TT_MAX_WAITERS];
	struct task_struct *holder[EXR_TT_MAX_HOLDERS];
	struct exr_tt_stats holder_stats[EXR_TT_MAX_HOLDERS];
	struct exr_tt_irq irq[2];

	/* The owner's statistics. */
	unsigned long rundowns;
	unsigned long longest_us;
	unsigned long timeouts;		/* timed waits that timed out */
	unsigned long signalled;	/* killable waiters sent SIGKILL */
	unsigned long killed;		/* and whose wait it ended */
	unsigned long replaced;
	unsigned long misuse_done;	/* misuse committed on this family */
};

static struct exr_tt_family exr_tt_fam[EXR_TT_NR_FAMILIES];
static bool exr_tt_stopping;		/* finish now */
static bool exr_tt_started, exr_tt_finished;
static struct task_struct *exr_tt_control_task, *exr_tt_onoff_task;
static struct task_struct *exr_tt_misuse_task;
static DECLARE_COMPLETION(exr_tt_done);
static unsigned long exr_tt_misuse_base;
static atomic_long_t exr_tt_cpu_offline, exr_tt_cpu_online;
static unsigned long exr_tt_onoff_fail;
static int exr_tt_cpuhp_state = -1;

static bool exr_tt_should_stop(void)
{
	return READ_ONCE(exr_tt_stopping) || kthread_should_stop();
}

/*
 * A thread done with its work stays until kthread_stop(): one that
 * returned by itself could be freed before kthread_stop() looks at it.
 */
static int exr_tt_thread_end(void)
{
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

#if EXR_TT_FRAMEWORK
static bool exr_tt_fw_begun, exr_tt_fw_stopped;

/*
 * The framework's threads: hotplug every @onoff_interval ms after a
 * second, the holders and waiters shuffled between CPUs every 3 s (with
 * the migrate fault), and holders paused for 1 s in every 5 (stutter_wait()
 * in their loop), so that run-downs also run with nobody inside.
 */
static int exr_tt_fw_start(void)
{
	int ret = 0;

	if (exr_tt_on(EXR_TT_HOTPLUG))
		ret = torture_onoff_init(HZ, msecs_to_jiffies(onoff_interval),
					 NULL);
	if (!ret && exr_tt_on(EXR_TT_MIGRATE))
		ret = torture_shuffle_init(3 * HZ);
	if (!ret)
		ret = torture_stutter_init(HZ, 4 * HZ);
	return ret;
}

/* Its threads stopped, before ours: shuffling reaches into our tasks. */
static void exr_tt_fw_stop(void)
{
	if (exr_tt_fw_begun && !exr_tt_fw_stopped)
		torture_cleanup_begin();
	exr_tt_fw_stopped = true;
}

/* Once ours are gone too: the next torture test may begin. */
static void exr_tt_fw_end(void)
{
	exr_tt_fw_stop();
	if (exr_tt_fw_begun)
		torture_cleanup_end();
	exr_tt_fw_begun = false;
}

static void exr_tt_fw_register(struct task_struct *t)
{
	if (exr_tt_on(EXR_TT_MIGRATE))
		torture_shuffle_task_register(t);
}

static void exr_tt_stutter(void)
{
	stutter_wait("exr_tt_hold");
}
#else
static void exr_tt_fw_stop(void) { }
static void exr_tt_fw_end(void) { }
static void exr_tt_fw_register(struct task_struct *t) { }
static void exr_tt_stutter(void) { }
#endif

/* ------------------------------------------------------------------ */
/* Holders.                                                           */

/* Just granted @n protections on @o: check, and go in. */
static void exr_tt_enter(struct exr_tt_family *f, struct exr_tt_obj *o)
{
	if (READ_ONCE(o->dead))
		exr_tt_error(EXR_TT_ERR_LATE,
			     "%s: protection granted on an object run down (%lu held)\n",
			     f->name, f->ops->read_count(o));
	atomic_inc(&o->inside);
	atomic_long_inc(&o->uses);
	WRITE_ONCE(o->last_cpu, raw_smp_processor_id());
}

static void exr_tt_leave(struct exr_tt_obj *o)
{
	atomic_dec(&o->inside);
}

/* The object holders find, with @n protections on it, or NULL. */
static struct exr_tt_obj *exr_tt_acquire(struct exr_tt_family *f,
					 unsigned long n)
{
	struct exr_tt_obj *o;
	bool ok;

	rcu_read_lock();
	o = rcu_dereference(f->obj);
	ok = f->ops->acquire_many(o, n);
	rcu_read_unlock();
	/* The protection keeps @o: the owner frees it only once run down. */
	return ok ? o : NULL;
}

/* A process-context holder's time inside, with the faults it may meet. */
static void exr_tt_hold(struct exr_tt_rand *r, const struct cpumask *home)
{
	unsigned int cpu;

	switch (exr_tt_below(r, 16)) {
	case 0:
		if (exr_tt_on(EXR_TT_PREEMPT)) {
			schedule_timeout_uninterruptible(1 + exr_tt_below(r, 2));
			break;
		}
		fallthrough;
	case 1:
		if (exr_tt_on(EXR_TT_MIGRATE)) {
			/* The first online CPU from a random one on. */
			cpu = cpumask_next(exr_tt_below(r, nr_cpu_ids) - 1,
					   cpu_online_mask);
			if (cpu < nr_cpu_ids &&
			    !set_cpus_allowed_ptr(current, cpumask_of(cpu)))
				udelay(exr_tt_below(r, 20));
			set_cpus_allowed_ptr(current, home);
			break;
		}
		fallthrough;
	case 2:
	case 3:
		if (exr_tt_on(EXR_TT_PREEMPT)) {
			cond_resched();
			break;
		}
		fallthrough;
	default:
		udelay(exr_tt_below(r, 20));
	}
}

static int exr_tt_holder(void *arg)
{
	struct exr_tt_family *f = arg;
	unsigned int id = 0, i;
	cpumask_var_t home;
	struct exr_tt_stats *st;
	struct exr_tt_rand r;

	if (!alloc_cpumask_var(&home, GFP_KERNEL))
		return exr_tt_thread_end();
	/* Where the thread may run: the kthread housekeeping CPUs. */
	cpumask_copy(home, current->cpus_ptr);
	while (id < EXR_TT_MAX_HOLDERS && f->holder[id] != current)
		id++;
	st = &f->holder_stats[id % EXR_TT_MAX_HOLDERS];
	exr_tt_seed(&r);
	while (!exr_tt_should_stop()) {
		unsigned long n = exr_tt_below(&r, 4) ? 1 : 2 + exr_tt_below(&r, 2);
		struct exr_tt_obj *o;

		exr_tt_stutter();
		o = exr_tt_acquire(f, n);

		if (!o) {
			WRITE_ONCE(st->refused, st->refused + 1);
			usleep_range(10, 100);
			continue;
		}
		exr_tt_enter(f, o);
		exr_tt_hold(&r, home);
		if (broken == EXR_TT_BROKEN_EARLY_RELEASE &&
		    !exr_tt_below(&r, 8)) {
			/*
			 * The bug the run must catch: out before done. Stay
			 * inside until a run-down has ended (or 100 ms), so
			 * that its wait returns with this holder inside.
			 */
			f->ops->release_many(o, n);
			for (i = 0; i < 1000 && !READ_ONCE(o->dead); i++)
				usleep_range(100, 200);
			exr_tt_leave(o);
		} else {
			exr_tt_leave(o);
			f->ops->release_many(o, n);
		}
		WRITE_ONCE(st->acquires, st->acquires + n);
		if (!exr_tt_below(&r, 64))
			cond_resched();
	}
	free_cpumask_var(home);
	return exr_tt_thread_end();
}

/*
 * An interrupt holder: takes protection, holds it for up to a few
 * microseconds, and one time in eight keeps it until its next run (in
 * between, the owner's wait must wait for it). Re-armed at a random
 * period until told to stop.
 */
static enum hrtimer_restart exr_tt_irq_fn(struct hrtimer *timer)
{
	struct exr_tt_irq *irq = container_of(timer, struct exr_tt_irq, timer);
	struct exr_tt_family *f = irq->f;
	struct exr_tt_obj *o;

	if (irq->kept) {
		exr_tt_leave(irq->kept);
		f->ops->release_many(irq->kept, 1);
		irq->kept = NULL;
	}
	if (READ_ONCE(exr_tt_stopping))
		return HRTIMER_NORESTART;
	o = exr_tt_acquire(f, 1);
	if (o) {
		exr_tt_enter(f, o);
		WRITE_ONCE(irq->stats.acquires, irq->stats.acquires + 1);
		if (!exr_tt_below(&irq->rand, 8)) {
			irq->kept = o;
		} else {
			udelay(exr_tt_below(&irq->rand, 4));
			exr_tt_leave(o);
			f->ops->release_many(o, 1);
		}
	} else {
		WRITE_ONCE(irq->stats.refused, irq->stats.refused + 1);
	}
	hrtimer_forward_now(timer, ns_to_ktime((50 + exr_tt_below(&irq->rand, 450)) *
					       NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void exr_tt_irq_start(struct exr_tt_family *f, unsigned int i, bool hard)
{
	struct exr_tt_irq *irq = &f->irq[i];

	irq->f = f;
	irq->hard = hard;
	exr_tt_seed(&irq->rand);
	hrtimer_setup(&irq->timer, exr_tt_irq_fn, CLOCK_MONOTONIC,
		      hard ? HRTIMER_MODE_REL_HARD :
			     HRTIMER_MODE_REL_SOFT);
	hrtimer_start(&irq->timer, ns_to_ktime(100 * NSEC_PER_USEC),
		      hard ? HRTIMER_MODE_REL_HARD : HRTIMER_MODE_REL_SOFT);
}

/* After @exr_tt_stopping: the callback no longer re-arms, or keeps. */
static void exr_tt_irq_stop(struct exr_tt_irq *irq)
{
	if (!irq->f)
		return;
	hrtimer_cancel(&irq->timer);
	if (irq->kept) {
		exr_tt_leave(irq->kept);
		irq->f->ops->release_many(irq->kept, 1);
		irq->kept = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Waiters and the owner.                                             */

/* The check every wait makes as it returns: nobody may be inside. */
static void exr_tt_check_empty(struct exr_tt_family *f, struct exr_tt_obj *o,
			       const char *who)
{
	int in = atomic_read(&o->inside);

	if (in)
		exr_tt_error(EXR_TT_ERR_INSIDE,
			     "%s: %s returned with %d holder(s) inside (%lu held)\n",
			     f->name, who, in, f->ops->read_count(o));
}

/* A timed wait, retried with random timeouts until the run-down is over. */
static void exr_tt_wait_timed(struct exr_tt_family *f, struct exr_tt_obj *o,
			      struct exr_tt_rand *r, unsigned long *timeouts)
{
	long ret;

	while (!(ret = f->ops->wait_timeout(o, 1 + exr_tt_below(r, 4))))
		WRITE_ONCE(*timeouts, *timeouts + 1);
	if (ret < 0)
		exr_tt_error(EXR_TT_ERR_WAIT, "%s: timed wait returned %ld\n",
			     f->name, ret);
}

/* One wait of a random kind, for the owner or a waiter thread. */
static void exr_tt_wait_any(struct exr_tt_family *f, struct exr_tt_obj *o,
			    struct exr_tt_rand *r, unsigned long *timeouts)
{
	int ret;

	switch (exr_tt_below(r, 3)) {
	case 0:
		f->ops->wait(o);
		break;
	case 1:
		ret = f->ops->wait_killable(o);
		if (ret)
			exr_tt_error(EXR_TT_ERR_WAIT,
				     "%s: killable wait of an unsignalled task returned %d\n",
				     f->name, ret);
		break;
	default:
		if (exr_tt_on(EXR_TT_TIMEOUT)) {
			exr_tt_wait_timed(f, o, r, timeouts);
			break;
		}
		f->ops->wait(o);
	}
}

/* Has the owner begun a run-down since @seen? Then @cur is its object. */
static bool exr_tt_new_gen(struct exr_tt_family *f, unsigned int seen,
			   unsigned int *gen)
{
	/* Pairs with the owner's smp_store_release(): @cur first. */
	*gen = smp_load_acquire(&f->gen);
	return *gen != seen;
}

/* A waiter thread: joins every run-down the owner begins. */
static int exr_tt_waiter(void *arg)
{
	struct exr_tt_family *f = arg;
	unsigned int seen = 0, gen;
	unsigned long timeouts = 0;
	struct exr_tt_obj *o;
	struct exr_tt_rand r;

	exr_tt_seed(&r);
	for (;;) {
		wait_event(f->wq,
			   exr_tt_new_gen(f, seen, &gen) || kthread_should_stop());
		if (kthread_should_stop())
			break;
		seen = gen;
		o = READ_ONCE(f->cur);
		exr_tt_wait_any(f, o, &r, &timeouts);
		exr_tt_check_empty(f, o, "a waiter's wait");
		if (atomic_dec_and_test(&f->waiters_left))
			complete(&f->waiters_done);
	}
	return 0;
}

/* A killable waiter, one per run-down: its wait, then its end. */
struct exr_tt_killable {
	struct exr_tt_family *f;
	struct exr_tt_obj *o;
	struct completion ready;	/* SIGKILL allowed: it will not be lost */
	bool returned;			/* its wait has returned */
};

/*
 * Its result goes back through kthread_stop(), which the owner calls while
 * it holds a reference to the task: so the thread may end on its own, and
 * be done with this module's code once kthread_stop() returns.
 */
static int exr_tt_killable_fn(void *arg)
{
	struct exr_tt_killable *k = arg;
	int ret;

	allow_signal(SIGKILL);
	complete(&k->ready);
	ret = k->f->ops->wait_killable(k->o);
	WRITE_ONCE(k->returned, true);
	if (!ret)
		exr_tt_check_empty(k->f, k->o, "a killable wait");
	else if (ret != -ERESTARTSYS)
		exr_tt_error(EXR_TT_ERR_WAIT, "%s: killable wait returned %d\n",
			     k->f->name, ret);
	return ret;
}

/* A killable waiter for @o, running and ready for SIGKILL, or NULL. */
static struct task_struct *exr_tt_killable_start(struct exr_tt_family *f,
						 struct exr_tt_obj *o,
						 struct exr_tt_killable *k)
{
	struct task_struct *kt;

	k->f = f;
	k->o = o;
	k->returned = false;
	init_completion(&k->ready);
	kt = kthread_create(exr_tt_killable_fn, k, "exr_tt_kill/%s", f->name);
	if (IS_ERR(kt))
		return NULL;
	get_task_struct(kt);
	wake_up_process(kt);
	wait_for_completion(&k->ready);
	return kt;
}

/* Did @o take a protection since @uses, or have one inside? */
static void exr_tt_check_dead(struct exr_tt_family *f, struct exr_tt_obj *o,
			      long uses)
{
	long now = atomic_long_read(&o->uses);

	if (now != uses || atomic_read(&o->inside))
		exr_tt_error(EXR_TT_ERR_LATE,
			     "%s: %ld protection(s) granted after the run-down, %d inside\n",
			     f->name, now - uses, atomic_read(&o->inside));
}

/* Put @o back into use: @dead off first, published by the reinit. */
static void exr_tt_revive(struct exr_tt_family *f, struct exr_tt_obj *o)
{
	WRITE_ONCE(o->dead, false);
	f->ops->reinit(o);
}

/* Replace @o by a new object, and free @o once nobody can look at it. */
static bool exr_tt_replace(struct exr_tt_family *f, struct exr_tt_obj *o)
{
	struct exr_tt_obj *n = kzalloc(sizeof(*n), GFP_KERNEL);

	if (!n || f->ops->init(n)) {
		kfree(n);
		return false;
	}
	rcu_assign_pointer(f->obj, n);
	/* Holders that found @o have tried it (and been refused) or left. */
	synchronize_rcu();
	f->ops->exit(o);
	kfree(o);
	WRITE_ONCE(f->replaced, f->replaced + 1);
	return true;
}

static void exr_tt_rundown(struct exr_tt_family *f, struct exr_tt_rand *r)
{
	struct exr_tt_obj *o = rcu_dereference_protected(f->obj, true);
	struct task_struct *kt = NULL;
	struct exr_tt_killable k;
	unsigned int nwaiters = 0, i;
	unsigned long us;
	ktime_t t0;
	long uses;

	for (i = 0; i < waiters; i++)
		nwaiters += !!f->waiter[i];
	WRITE_ONCE(f->cur, o);
	atomic_set(&f->waiters_left, nwaiters + 1);
	reinit_completion(&f->waiters_done);
	t0 = ktime_get();
	WRITE_ONCE(f->began, jiffies);
	/* Pairs with the watchdog's smp_load_acquire(): @cur, @began first. */
	smp_store_release(&f->rundown, true);
	/* Pairs with the waiters' smp_load_acquire(): @cur first. */
	smp_store_release(&f->gen, f->gen + 1);
	wake_up_all(&f->wq);

	if (exr_tt_on(EXR_TT_SIGNAL) && exr_tt_below(r, 2))
		kt = exr_tt_killable_start(f, o, &k);

	if (kt && exr_tt_below(r, 2)) {
		/* Before the owner's wait: often while the killable one sleeps. */
		usleep_range(10, 10 + exr_tt_below(r, 2000));
		send_sig(SIGKILL, kt, 1);
		WRITE_ONCE(f->signalled, f->signalled + 1);
	}
	exr_tt_wait_any(f, o, r, &f->timeouts);
	us = ktime_us_delta(ktime_get(), t0);
	exr_tt_check_empty(f, o, "the owner's wait");
	if (atomic_dec_and_test(&f->waiters_left))
		complete(&f->waiters_done);
	if (kt && !READ_ONCE(k.returned) && exr_tt_below(r, 2)) {
		/* Or after: its wait may be over before the signal comes. */
		send_sig(SIGKILL, kt, 1);
		WRITE_ONCE(f->signalled, f->signalled + 1);
	}
	wait_for_completion(&f->waiters_done);
	if (kt) {
		if (kthread_stop(kt) == -ERESTARTSYS)
			WRITE_ONCE(f->killed, f->killed + 1);
		put_task_struct(kt);
	}
	WRITE_ONCE(f->rundown, false);

	/* Nobody may get in now, until the reinit. */
	WRITE_ONCE(o->dead, true);
	uses = atomic_long_read(&o->uses);
	if (!exr_tt_below(r, 4))
		f->ops->completed(o);
	usleep_range(1, 1 + exr_tt_below(r, 500));
	exr_tt_check_dead(f, o, uses);

	WRITE_ONCE(f->rundowns, f->rundowns + 1);
	if (us > f->longest_us)
		WRITE_ONCE(f->longest_us, us);
	if (!(exr_tt_on(EXR_TT_FREE) && exr_tt_below(r, 2) &&
	      exr_tt_replace(f, o)))
		exr_tt_revive(f, o);
}

static int exr_tt_owner(void *arg)
{
	struct exr_tt_family *f = arg;
	struct exr_tt_rand r;

	exr_tt_seed(&r);
	while (!exr_tt_should_stop()) {
		/* Let holders in for a while: 0 to 20 ms. */
		usleep_range(100, 100 + exr_tt_below(&r, 20000));
		exr_tt_rundown(f, &r);
	}
	return exr_tt_thread_end();
}

/* ------------------------------------------------------------------ */
/* Misuse, committed on references of its own, and counted.           */

static void exr_tt_misuse_one(struct exr_tt_family *f)
{
	struct exr_tt_obj *o = kzalloc(sizeof(*o), GFP_KERNEL);

	if (!o || f->ops->init(o)) {
		kfree(o);
		return;
	}
	/*
	 * One release without protection: reported at once by the shared
	 * counter, by the per-CPU family when the wait sums its counters.
	 * Either way, one misuse.
	 */
	f->ops->release_many(o, 1);
	f->ops->wait(o);
	f->ops->exit(o);
	kfree(o);
	WRITE_ONCE(f->misuse_done, f->misuse_done + 1);
}

static int exr_tt_misuse(void *arg)
{
	unsigned int i;

	while (!exr_tt_should_stop()) {
		schedule_timeout_interruptible(msecs_to_jiffies(misuse_interval));
		for (i = 0; i < EXR_TT_NR_FAMILIES; i++)
			if (exr_tt_fam[i].ops && !exr_tt_should_stop())
				exr_tt_misuse_one(&exr_tt_fam[i]);
	}
	return exr_tt_thread_end();
}

/* ------------------------------------------------------------------ */
/* CPU hotplug.                                                       */

static int exr_tt_cpu_up(unsigned int cpu)
{
	atomic_long_inc(&exr_tt_cpu_online);
	return 0;
}

static int exr_tt_cpu_down(unsigned int cpu)
{
	atomic_long_inc(&exr_tt_cpu_offline);
	return 0;
}

/* At the end, whoever took them offline: every CPU back. */
static void exr_tt_all_online(void)
{
#ifdef CONFIG_HOTPLUG_CPU
	unsigned int cpu;

	for_each_present_cpu(cpu)
		if (!cpu_online(cpu) && add_cpu(cpu))
			pr_warn("CPU %u stays offline\n", cpu);
#endif
}

#if !EXR_TT_FRAMEWORK && defined(CONFIG_HOTPLUG_CPU)
/* Take a random CPU offline, or bring it back, every @onoff_interval ms. */
static int exr_tt_onoff(void *arg)
{
	struct exr_tt_rand r;
	unsigned int cpu;
	int ret;

	exr_tt_seed(&r);
	while (!exr_tt_should_stop()) {
		schedule_timeout_interruptible(msecs_to_jiffies(onoff_interval));
		cpu = exr_tt_below(&r, nr_cpu_ids);
		if (!cpu_present(cpu) || exr_tt_should_stop())
			continue;
		ret = cpu_online(cpu) ? remove_cpu(cpu) : add_cpu(cpu);
		/* -EBUSY: the last CPU, or one that cannot go; not an error. */
		if (ret)
			WRITE_ONCE(exr_tt_onoff_fail, exr_tt_onoff_fail + 1);
	}
	return exr_tt_thread_end();
}
#endif

/* ------------------------------------------------------------------ */
/* Statistics, the watchdog and the verdict.                          */

static void exr_tt_stats(bool final)
{
	unsigned long misuse_done = 0, misuse_seen;
	char by[40];
	unsigned int i, j;

	for (i = 0; i < EXR_TT_NR_FAMILIES; i++) {
		struct exr_tt_family *f = &exr_tt_fam[i];
		unsigned long acq = 0, ref = 0;

		if (!f->ops)
			continue;
		for (j = 0; j < EXR_TT_MAX_HOLDERS; j++) {
			acq += READ_ONCE(f->holder_stats[j].acquires);
			ref += READ_ONCE(f->holder_stats[j].refused);
		}
		for (j = 0; j < ARRAY_SIZE(f->irq); j++) {
			acq += READ_ONCE(f->irq[j].stats.acquires);
			ref += READ_ONCE(f->irq[j].stats.refused);
		}
		misuse_done += READ_ONCE(f->misuse_done);
		pr_info("%s%s: %lu acquires, %lu refused, %lu run-downs (longest %lu us), %lu timed waits timed out, %lu of %lu signalled waits killed, %lu objects replaced\n",
			final ? "end: " : "", f->name, acq, ref,
			READ_ONCE(f->rundowns), READ_ONCE(f->longest_us),
			READ_ONCE(f->timeouts), READ_ONCE(f->killed),
			READ_ONCE(f->signalled), READ_ONCE(f->replaced));
	}
	misuse_seen = ex_rundown_misuse_count() - exr_tt_misuse_base;
	/*
	 * Who takes CPUs offline: the framework's torture_onoff (which keeps
	 * its refusals to itself), our own thread, or somebody else (sysfs).
	 */
	if (!exr_tt_on(EXR_TT_HOTPLUG))
		scnprintf(by, sizeof(by), "by others");
	else if (EXR_TT_FRAMEWORK)
		scnprintf(by, sizeof(by), "by torture_onoff");
	else
		scnprintf(by, sizeof(by), "by its own thread, %lu refused",
			  READ_ONCE(exr_tt_onoff_fail));
	pr_info("%scpu hotplug: %ld offline, %ld online (%s); misuse: %lu committed, %lu reported\n",
		final ? "end: " : "",
		atomic_long_read(&exr_tt_cpu_offline),
		atomic_long_read(&exr_tt_cpu_online), by, misuse_done,
		misuse_seen);
}

/* A run-down over its bound: report it once, with what the count says. */
static void exr_tt_watchdog(void)
{
	unsigned int i;

	for (i = 0; i < EXR_TT_NR_FAMILIES; i++) {
		struct exr_tt_family *f = &exr_tt_fam[i];
		unsigned int gen = READ_ONCE(f->gen);
		struct exr_tt_obj *o;

		/*
		 * The owner frees an object only after a grace period that
		 * follows the end of its run-down: in here, one seen under
		 * way stays allocated.
		 */
		rcu_read_lock();
		/* Pairs with the owner's smp_store_release(). */
		if (f->ops && smp_load_acquire(&f->rundown) &&
		    time_after(jiffies, READ_ONCE(f->began) + bound * HZ) &&
		    f->bound_reported != gen) {
			o = READ_ONCE(f->cur);
			f->bound_reported = gen;
			exr_tt_error(EXR_TT_ERR_BOUND,
				     "%s: run-down %u has lasted over %u s: %lu held, draining %d\n",
				     f->name, gen, bound, f->ops->read_count(o),
				     f->ops->is_draining(o));
		}
		rcu_read_unlock();
	}
}

static void exr_tt_verdict(void)
{
	unsigned int i;
	char why[256];
	int len = 0;

	for (i = 0; i < EXR_TT_NR_ERRS; i++)
		if (atomic_read(&exr_tt_errs[i]))
			len += scnprintf(why + len, sizeof(why) - len, " %d %s;",
					 atomic_read(&exr_tt_errs[i]),
					 exr_tt_err_names[i]);
	if (!len)
		pr_info("verdict: PASS\n");
	else
		pr_err("verdict: FAIL:%s\n", why);
}

static void exr_tt_stop_thread(struct task_struct **t)
{
	if (*t)
		kthread_stop(*t);
	*t = NULL;
}

/* Stop everything, check the end state, free, and give the verdict. */
static void exr_tt_finish(bool verdict)
{
	unsigned long misuse_done = 0, misuse_seen;
	unsigned int i, j;

	WRITE_ONCE(exr_tt_stopping, true);
	exr_tt_fw_stop();
	exr_tt_stop_thread(&exr_tt_onoff_task);
	exr_tt_stop_thread(&exr_tt_misuse_task);
	for (i = 0; i < EXR_TT_NR_FAMILIES; i++)
		exr_tt_stop_thread(&exr_tt_fam[i].owner);
	for (i = 0; i < EXR_TT_NR_FAMILIES; i++) {
		struct exr_tt_family *f = &exr_tt_fam[i];

		for (j = 0; j < EXR_TT_MAX_WAITERS; j++)
			exr_tt_stop_thread(&f->waiter[j]);
		for (j = 0; j < EXR_TT_MAX_HOLDERS; j++)
			exr_tt_stop_thread(&f->holder[j]);
		for (j = 0; j < ARRAY_SIZE(f->irq); j++)
			exr_tt_irq_stop(&f->irq[j]);
	}

	for (i = 0; i < EXR_TT_NR_FAMILIES; i++) {
		struct exr_tt_family *f = &exr_tt_fam[i];
		struct exr_tt_obj *o = rcu_dereference_protected(f->obj, true);
		unsigned long held;

		if (!o)
			continue;
		misuse_done += f->misuse_done;
		held = f->ops->read_count(o);
		if (held || atomic_read(&o->inside) || f->ops->is_draining(o))
			exr_tt_error(EXR_TT_ERR_COUNT,
				     "%s: at the end %lu held, %d inside, draining %d\n",
				     f->name, held, atomic_read(&o->inside),
				     f->ops->is_draining(o));
		if (f->ops->wait_timeout(o, bound * HZ) <= 0 ||
		    f->ops->read_count(o))
			exr_tt_error(EXR_TT_ERR_COUNT,
				     "%s: the last wait found %lu held\n",
				     f->name, f->ops->read_count(o));
		RCU_INIT_POINTER(f->obj, NULL);
		f->ops->exit(o);
		kfree(o);
	}

	misuse_seen = ex_rundown_misuse_count() - exr_tt_misuse_base;
	if (misuse_seen != misuse_done)
		exr_tt_error(EXR_TT_ERR_MISUSE,
			     "%lu misuses committed, %lu reported\n",
			     misuse_done, misuse_seen);
	exr_tt_all_online();
	exr_tt_fw_end();
	WRITE_ONCE(exr_tt_finished, true);
	if (!verdict)
		return;
	exr_tt_stats(true);
	exr_tt_verdict();
}

static int exr_tt_control(void *arg)
{
	unsigned long end = jiffies + duration * HZ;
	unsigned long next = jiffies + stat_interval * HZ;

	while (!kthread_should_stop() && time_before(jiffies, end)) {
		schedule_timeout_interruptible(HZ / 10);
		exr_tt_watchdog();
		if (time_after_eq(jiffies, next)) {
			exr_tt_stats(false);
			next += stat_interval * HZ;
		}
	}
	exr_tt_finish(true);
	/*
	 * Power off before the boot can go on: built in, with no root file
	 * system to mount, it would end in a panic instead. A kernel that
	 * cannot power off (an x86 one without ACPI, say) returns from
	 * kernel_power_off(): restart it then.
	 */
	if (shutdown) {
		kernel_power_off();
		kernel_restart(NULL);
	}
	complete(&exr_tt_done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Start and end.                                                     */

static int exr_tt_thread(struct task_struct **t, int (*fn)(void *), void *arg,
			 const char *name, const char *fam, unsigned int i)
{
	struct task_struct *task = kthread_run(fn, arg, "%s/%s:%u", name, fam, i);

	if (IS_ERR(task))
		return PTR_ERR(task);
	*t = task;
	return 0;
}

static int exr_tt_start_family(struct exr_tt_family *f, unsigned int id)
{
	struct exr_tt_obj *o;
	unsigned int i;
	int ret;

	f->id = id;
	f->name = exr_tt_family_names[id];
	init_waitqueue_head(&f->wq);
	init_completion(&f->waiters_done);
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	ret = exr_tt_ops[id].init(o);
	if (ret) {
		kfree(o);
		return ret;
	}
	RCU_INIT_POINTER(f->obj, o);
	f->ops = &exr_tt_ops[id];

	/*
	 * Holder threads are created stopped so that each can find its own
	 * statistics slot by its task pointer, then woken.
	 */
	for (i = 0; i < holders; i++) {
		struct task_struct *t = kthread_create(exr_tt_holder, f,
						       "exr_tt_hold/%s:%u",
						       f->name, i);

		if (IS_ERR(t))
			return PTR_ERR(t);
		f->holder[i] = t;
		exr_tt_fw_register(t);
		wake_up_process(t);
	}
	for (i = 0; i < waiters; i++) {
		ret = exr_tt_thread(&f->waiter[i], exr_tt_waiter, f,
				    "exr_tt_wait", f->name, i);
		if (ret)
			return ret;
		exr_tt_fw_register(f->waiter[i]);
	}
	if (exr_tt_on(EXR_TT_SOFTIRQ))
		exr_tt_irq_start(f, 0, false);
	if (exr_tt_on(EXR_TT_HARDIRQ))
		exr_tt_irq_start(f, 1, true);
	return exr_tt_thread(&f->owner, exr_tt_owner, f, "exr_tt_own",
			     f->name, 0);
}

static int __exr_tt_start(void)
{
	unsigned int i;
	int ret;

	if (exr_tt_on(EXR_TT_HOTPLUG) && !IS_ENABLED(CONFIG_HOTPLUG_CPU)) {
		pr_err("faults: hotplug asked for, but this kernel has no CONFIG_HOTPLUG_CPU\n");
		return -EINVAL;
	}
	if (broken && exr_tt_on(EXR_TT_FREE)) {
		/* A holder still inside may touch the object once freed. */
		faults &= ~BIT(EXR_TT_FREE);
		pr_info("broken=%s: objects are not freed\n",
			exr_tt_broken_names[broken]);
	}
	pr_info("start: family=%s%s%s holders=%u waiters=%u faults=%#x duration=%u s bound=%u s broken=%s, %u CPUs online\n",
		family & BIT(EXR_TT_REF) ? "ref" : "",
		family == (BIT(EXR_TT_REF) | BIT(EXR_TT_PCPU)) ? "," : "",
		family & BIT(EXR_TT_PCPU) ? "pcpu" : "", holders, waiters,
		faults, duration, bound, exr_tt_broken_names[broken],
		num_online_cpus());
	exr_tt_started = true;
	exr_tt_misuse_base = ex_rundown_misuse_count();
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "ex_rundown_torture",
					exr_tt_cpu_up, exr_tt_cpu_down);
	if (ret < 0)
		return ret;
	exr_tt_cpuhp_state = ret;

	for (i = 0; i < EXR_TT_NR_FAMILIES; i++) {
		if (!(family & BIT(i)))
			continue;
		ret = exr_tt_start_family(&exr_tt_fam[i], i);
		if (ret)
			return ret;
	}
	if (exr_tt_on(EXR_TT_MISUSE)) {
		ret = exr_tt_thread(&exr_tt_misuse_task, exr_tt_misuse, NULL,
				    "exr_tt_misuse", "all", 0);
		if (ret)
			return ret;
	}
#if EXR_TT_FRAMEWORK
	ret = exr_tt_fw_start();
	if (ret)
		return ret;
#elif defined(CONFIG_HOTPLUG_CPU)
	if (exr_tt_on(EXR_TT_HOTPLUG)) {
		ret = exr_tt_thread(&exr_tt_onoff_task, exr_tt_onoff, NULL,
				    "exr_tt_onoff", "all", 0);
		if (ret)
			return ret;
	}
#endif
	return exr_tt_thread(&exr_tt_control_task, exr_tt_control, NULL,
			     "exr_tt_control", "all", 0);
}

static int exr_tt_start(void)
{
#if EXR_TT_FRAMEWORK
	int ret;

	/* Holds the framework's mutex until torture_init_end(). */
	if (!torture_init_begin(KBUILD_MODNAME, 0)) {
		pr_err("another torture test is running\n");
		return -EBUSY;
	}
	exr_tt_fw_begun = true;
	ret = __exr_tt_start();
	torture_init_end();
	return ret;
#else
	return __exr_tt_start();
#endif
}

static void exr_tt_cleanup(void)
{
	if (exr_tt_control_task)
		exr_tt_stop_thread(&exr_tt_control_task);
	else if (exr_tt_started && !exr_tt_finished)
		exr_tt_finish(false);
	if (exr_tt_cpuhp_state >= 0)
		cpuhp_remove_state_nocalls(exr_tt_cpuhp_state);
	exr_tt_cpuhp_state = -1;
	/* A start that failed before anything ran. */
	exr_tt_fw_end();
}

static int __init exr_tt_init(void)
{
	int ret;

	if (!run)
		return 0;
	ret = exr_tt_start();
	if (ret) {
		pr_err("cannot start: %d\n", ret);
		exr_tt_cleanup();
		return ret;
	}
	/*
	 * Built in, there is no user space to unload us: hold the boot until
	 * the verdict, waking now and then so that the hung-task detector
	 * does not count this as a task stuck.
	 */
#ifndef MODULE
	while (!wait_for_completion_timeout(&exr_tt_done, 10 * HZ))
		;
#endif
	return 0;
}

/* Built in: after ex_rundown's own initcall. */
late_initcall(exr_tt_init);

static void __exit exr_tt_exit(void)
{
	exr_tt_cleanup();
}
module_exit(exr_tt_exit);

MODULE_DESCRIPTION("Randomised soak of ex_rundown, after locktorture");
MODULE_AUTHOR("The ex_rundown developers");
MODULE_LICENSE("GPL");
