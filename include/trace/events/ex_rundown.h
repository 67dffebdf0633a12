/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of run-down protection: waits, hung reports, misuse and the
 * per-CPU family's switch to one shared count. All of them fire in the
 * library's slow paths; the inline fast paths have none. Disabled, each is a
 * static branch (a NOP) where it sits.
 *
 *	echo 1 > /sys/kernel/tracing/events/ex_rundown/enable
 *	cat /sys/kernel/tracing/trace_pipe
 *
 * The references are printed with %p, hashed as in
 * /sys/kernel/debug/ex_rundown/waits, so that the two can be matched.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ex_rundown

#if !defined(_TRACE_EX_RUNDOWN_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_EX_RUNDOWN_H

#include <linux/tracepoint.h>

#define EX_RUNDOWN_TRACE_FAMILY(pcpu)	((pcpu) ? "pcpu" : "ref")

/* A wait of either family begins: @timeout in jiffies, or -1 if untimed. */
TRACE_EVENT(ex_rundown_wait_start,
	TP_PROTO(const void *ref, bool pcpu, long timeout, unsigned long ip),
	TP_ARGS(ref, pcpu, timeout, ip),
	TP_STRUCT__entry(
		__field(const void *, ref)
		__field(unsigned long, ip)
		__field(long, timeout)
		__field(bool, pcpu)
	),
	TP_fast_assign(
		__entry->ref = ref;
		__entry->ip = ip;
		__entry->timeout = timeout;
		__entry->pcpu = pcpu;
	),
	TP_printk("ref=%p family=%s timeout=%ld caller=%pS",
		  __entry->ref, EX_RUNDOWN_TRACE_FAMILY(__entry->pcpu),
		  __entry->timeout, (void *)__entry->ip)
);

/*
 * A wait returns, after @us: @ret is 0 for an untimed wait that completed,
 * -ERESTARTSYS for a killable one that a fatal signal ended; for a timed
 * one the jiffies left (at least 1), or 0 if it timed out.
 */
TRACE_EVENT(ex_rundown_wait_end,
	TP_PROTO(const void *ref, bool pcpu, long ret, u64 us, unsigned long ip),
	TP_ARGS(ref, pcpu, ret, us, ip),
	TP_STRUCT__entry(
		__field(const void *, ref)
		__field(unsigned long, ip)
		__field(long, ret)
		__field(u64, us)
		__field(bool, pcpu)
	),
	TP_fast_assign(
		__entry->ref = ref;
		__entry->ip = ip;
		__entry->ret = ret;
		__entry->us = us;
		__entry->pcpu = pcpu;
	),
	TP_printk("ref=%p family=%s ret=%ld waited_us=%llu caller=%pS",
		  __entry->ref, EX_RUNDOWN_TRACE_FAMILY(__entry->pcpu),
		  __entry->ret, (unsigned long long)__entry->us,
		  (void *)__entry->ip)
);

/* A wait has slept for hung_timeout_secs: the report is in the log. */
TRACE_EVENT(ex_rundown_hung,
	TP_PROTO(const void *ref, bool pcpu, unsigned long held,
		 unsigned int secs, unsigned long ip),
	TP_ARGS(ref, pcpu, held, secs, ip),
	TP_STRUCT__entry(
		__field(const void *, ref)
		__field(unsigned long, ip)
		__field(unsigned long, held)
		__field(unsigned int, secs)
		__field(bool, pcpu)
	),
	TP_fast_assign(
		__entry->ref = ref;
		__entry->ip = ip;
		__entry->held = held;
		__entry->secs = secs;
		__entry->pcpu = pcpu;
	),
	TP_printk("ref=%p family=%s held=%lu secs=%u caller=%pS",
		  __entry->ref, EX_RUNDOWN_TRACE_FAMILY(__entry->pcpu),
		  __entry->held, __entry->secs, (void *)__entry->ip)
);

/* A misuse, as ex_rundown_misuse_count() counts it; @msg as reported. */
TRACE_EVENT(ex_rundown_misuse,
	TP_PROTO(const char *msg, unsigned long ip),
	TP_ARGS(msg, ip),
	TP_STRUCT__entry(
		__field(unsigned long, ip)
		__array(char, msg, 96)
	),
	TP_fast_assign(
		__entry->ip = ip;
		strscpy(__entry->msg, msg, sizeof(__entry->msg));
	),
	TP_printk("caller=%pS msg=\"%s\"", (void *)__entry->ip, __entry->msg)
);

/*
 * The per-CPU family leaves per-CPU mode: a run-down (or exit) has
 * collected the per-CPU counters into one shared count, @held holders.
 */
TRACE_EVENT(ex_rundown_pcpu_atomic,
	TP_PROTO(const void *ref, unsigned long held),
	TP_ARGS(ref, held),
	TP_STRUCT__entry(
		__field(const void *, ref)
		__field(unsigned long, held)
	),
	TP_fast_assign(
		__entry->ref = ref;
		__entry->held = held;
	),
	TP_printk("ref=%p held=%lu", __entry->ref, __entry->held)
);

#endif /* _TRACE_EX_RUNDOWN_H */

/* This part must be outside the include guard. */
#include <trace/define_trace.h>
