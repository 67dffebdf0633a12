// SPDX-License-Identifier: GPL-2.0
/*
 * Run-down protection: what a person debugging a run-down can look at, in
 * /sys/kernel/debug/ex_rundown/, and the trace events (defined here, in
 * include/trace/events/ex_rundown.h).
 *
 *  waits	every run-down wait in progress: the task, the reference,
 *		where it was initialised, family, outstanding protection,
 *		how long it has waited and who called the wait
 *  holders	with holder tracking (CONFIG_EX_RUNDOWN_DEBUG_HOLDERS): the
 *		holders of each reference being waited for, and their stacks
 *  misuse	the misuse count, and the last misuse reported
 *
 * Nothing here is on a fast path. The waits are those already queued in
 * the library's wait table (src/ex_rundown_wait.c); a reader walks it under
 * its locks. A reference is one word and has no room for where it was
 * initialised, so the init functions note the site in a small table keyed
 * by address (below): an init costs two stores, an acquire nothing.
 */

#define pr_fmt(fmt) "ex_rundown: " fmt

#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/smp.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include <ex_rundown.h>

#include "ex_rundown_internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/ex_rundown.h>

/*
 * Where a reference was initialised, by address: one slot per hash of the
 * address, the newest init wins. A reference freed without a run-down
 * leaves its slot to be overwritten by the next init that hashes there; the
 * site shown is then "?", as the address must match. A reference defined
 * statically (DEFINE_EX_RUNDOWN_REF()) has no init call: "?" too.
 *
 * Lockless, as an init may run anywhere and often: the site is stored
 * before the address with RELEASE, and read after it with ACQUIRE. Two
 * inits racing for one slot may pair one's address with the other's site,
 * for as long as both run: a debugging aid can live with that. Without
 * debugfs nothing reads the table, and nothing writes it.
 */
#ifdef CONFIG_DEBUG_FS
#define EX_RUNDOWN_SITE_BITS	8

struct ex_rundown_site {
	const void *ref;
	unsigned long ip;
};

static struct ex_rundown_site ex_rundown_sites[1 << EX_RUNDOWN_SITE_BITS];

void ex_rundown_note_init(const void *ref, unsigned long ip)
{
	struct ex_rundown_site *s = &ex_rundown_sites[hash_ptr(ref, EX_RUNDOWN_SITE_BITS)];

	WRITE_ONCE(s->ip, ip);
	/* Pairs with the smp_load_acquire() of ex_rundown_init_site(). */
	smp_store_release(&s->ref, ref);
}

unsigned long ex_rundown_init_site(const void *ref)
{
	struct ex_rundown_site *s = &ex_rundown_sites[hash_ptr(ref, EX_RUNDOWN_SITE_BITS)];

	/* Pairs with the smp_store_release() of ex_rundown_note_init(). */
	if (smp_load_acquire(&s->ref) != ref)
		return 0;
	return READ_ONCE(s->ip);
}
#endif

/*
 * The last misuse, for debugfs: its message, and who and where. Per CPU,
 * so that misuse committed on many CPUs at once shares no lock and no cache
 * line but the counter, whose new value orders the records: the reader
 * shows the one with the highest. Formatting the message is what costs (the
 * KUnit suite commits misuse by the hundred thousand to find its races):
 * a CPU records at most one misuse per jiffy, so that under a flood "last"
 * is at most a jiffy old, and the count stays exact. A CPU writes its own
 * record with interrupts off; a reader may see one half-written, a
 * debugging aid can live with that.
 */
struct ex_rundown_misuse_record {
	unsigned long seq;	/* ex_rundown_misuses after this one */
	unsigned long stamp;	/* jiffies */
	unsigned long ip;
	pid_t pid;		/* 0: not in task context */
	char comm[TASK_COMM_LEN];
	char msg[96];
};

static DEFINE_PER_CPU(struct ex_rundown_misuse_record, ex_rundown_misuse_last);

void ex_rundown_misuse_note(unsigned long ip, const char *fmt, ...)
{
	struct ex_rundown_misuse_record *r;
	unsigned long seq, flags;
	bool record, trace;
	va_list args;
	char msg[sizeof(r->msg)];
	int len;

	seq = atomic_long_inc_return(&ex_rundown_misuses);
	trace = trace_ex_rundown_misuse_enabled();
	/* A first look with interrupts on: most of a flood stops here. */
	r = raw_cpu_ptr(&ex_rundown_misuse_last);
	if (!trace && READ_ONCE(r->seq) && !time_after(jiffies, READ_ONCE(r->stamp)))
		return;

	local_irq_save(flags);
	r = this_cpu_ptr(&ex_rundown_misuse_last);
	record = !r->seq || time_after(jiffies, r->stamp);
	if (record || trace) {
		va_start(args, fmt);
		len = vscnprintf(msg, sizeof(msg), fmt, args);
		va_end(args);
		if (len && msg[len - 1] == '\n')
			msg[len - 1] = '\0';
		trace_ex_rundown_misuse(msg, ip);
	}
	if (record) {
		memcpy(r->msg, msg, sizeof(r->msg));
		r->ip = ip;
		r->pid = in_task() ? task_pid_nr(current) : 0;
		memcpy(r->comm, current->comm, sizeof(r->comm));
		r->comm[sizeof(r->comm) - 1] = '\0';
		WRITE_ONCE(r->stamp, jiffies);
		WRITE_ONCE(r->seq, seq);
	}
	local_irq_restore(flags);
}

#ifdef CONFIG_DEBUG_FS
static struct dentry *ex_rundown_debugfs_dir;

static int waits_show(struct seq_file *m, void *v)
{
	seq_puts(m, "# pid comm family ref init-site held waited-ms caller\n");
	ex_rundown_waits_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(waits);

static int misuse_show(struct seq_file *m, void *v)
{
	struct ex_rundown_misuse_record r = { }, *c;
	int cpu, last_cpu = -1;

	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(&ex_rundown_misuse_last, cpu);
		if (READ_ONCE(c->seq) > r.seq) {
			r = *c;
			last_cpu = cpu;
		}
	}
	seq_printf(m, "count: %lu\nlast: ", ex_rundown_misuse_count());
	r.comm[sizeof(r.comm) - 1] = '\0';
	r.msg[sizeof(r.msg) - 1] = '\0';
	if (last_cpu < 0)
		seq_puts(m, "(none)\n");
	else if (r.pid)
		seq_printf(m, "%s[%d] in %pS: %s\n", r.comm, r.pid,
			   (void *)r.ip, r.msg);
	else
		seq_printf(m, "interrupt on CPU %d in %pS: %s\n", last_cpu,
			   (void *)r.ip, r.msg);
	return 0;
}

DEFINE_SHOW_ATTRIBUTE(misuse);

#ifdef CONFIG_EX_RUNDOWN_DEBUG_HOLDERS
static int holders_show(struct seq_file *m, void *v)
{
	ex_rundown_waits_holders_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(holders);
#endif

/* Failures are not fatal: debugfs is a debugging aid (as the kernel's own). */
void ex_rundown_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("ex_rundown", NULL);

	debugfs_create_file("waits", 0400, dir, NULL, &waits_fops);
	debugfs_create_file("misuse", 0400, dir, NULL, &misuse_fops);
#ifdef CONFIG_EX_RUNDOWN_DEBUG_HOLDERS
	debugfs_create_file("holders", 0400, dir, NULL, &holders_fops);
#endif
	ex_rundown_debugfs_dir = dir;
}

void ex_rundown_debugfs_exit(void)
{
	debugfs_remove_recursive(ex_rundown_debugfs_dir);
}
#endif
