/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rundown_demo: a small filter manager (rundown_demo.ko) and a filter
 * (rundown_demo_filter.ko) that show run-down protection doing what it
 * exists for, after the example of the NT documentation: a filter manager
 * calls into an anti-virus filter driver from many threads at once, and the
 * filter can be unloaded at any time.
 *
 * The first half of this header is the user-space interface of
 * /dev/rundown_demo; the second half, for the kernel only, is the interface
 * between the manager and its filters.
 *
 * The device. Every read() or RUNDOWN_DEMO_IOC_REQUEST runs one request
 * through every registered filter and reports what they did:
 *  - read() needs a buffer of at least RUNDOWN_DEMO_READ_MIN bytes and
 *    returns one line of text: "seq N filters N ran N skipped N busy N
 *    uaf N matches N checksum XXXXXXXX\n". The request's data are made up
 *    by the manager;
 *  - RUNDOWN_DEMO_IOC_REQUEST takes the data from the caller and fills in
 *    the same results in struct rundown_demo_request;
 *  - anything else fails: a smaller read buffer, a request whose size is
 *    not sizeof(struct rundown_demo_request) or whose flags are not 0
 *    (-EINVAL), an unknown ioctl (-ENOTTY), a write (-EINVAL). A request
 *    that fails is not counted and reaches no filter.
 */
#ifndef _RUNDOWN_DEMO_H
#define _RUNDOWN_DEMO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RUNDOWN_DEMO_DATA_LEN	64
#define RUNDOWN_DEMO_READ_MIN	128
#define RUNDOWN_DEMO_MAX_FILTERS	4

/*
 * Logged, at most a few times a second, by a filter that finds the buffer it
 * was using freed under it. Only possible with protect=0; the test scripts
 * grep the kernel log for it.
 */
#define RUNDOWN_DEMO_UAF_MARKER	"RUNDOWN-DEMO-UAF"

/**
 * struct rundown_demo_request - argument of RUNDOWN_DEMO_IOC_REQUEST
 * @size: in: sizeof(struct rundown_demo_request)
 * @flags: in: 0 (no flag is defined)
 * @data: in: what the filters scan
 * @seq: out: the request's sequence number, counting every source
 * @filters: out: filters registered when the request went through
 * @ran: out: filters whose handler ran on it
 * @skipped: out: filters that were being run down (unloaded): not called
 * @busy: out: filters that ran but found their buffer being swapped
 * @uaf: out: filters that found their buffer freed under them (protect=0)
 * @matches: out: signatures the filters found in @data
 * @checksum: out: the filters' checksums of @data, xor-ed
 * @reserved: out: 0
 *
 * The out fields are ignored on input.
 */
struct rundown_demo_request {
	__u32 size;
	__u32 flags;
	__u8 data[RUNDOWN_DEMO_DATA_LEN];
	__u64 seq;
	__u32 filters;
	__u32 ran;
	__u32 skipped;
	__u32 busy;
	__u32 uaf;
	__u32 matches;
	__u32 checksum;
	__u32 reserved;
};

#define RUNDOWN_DEMO_IOC_MAGIC		0xE7
#define RUNDOWN_DEMO_IOC_REQUEST	_IOWR(RUNDOWN_DEMO_IOC_MAGIC, 0x01, \
					      struct rundown_demo_request)

#ifdef __KERNEL__

#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/module.h>

#include <asm/barrier.h>

#include <ex_rundown.h>

struct rundown_demo_filter;

/**
 * enum rundown_demo_result - what a filter's handler did with a request
 * @RUNDOWN_DEMO_DONE: scanned it
 * @RUNDOWN_DEMO_BUSY: did not scan it: its buffer was being swapped
 * @RUNDOWN_DEMO_UAF: found its buffer freed under it (protect=0 only)
 */
enum rundown_demo_result {
	RUNDOWN_DEMO_DONE,
	RUNDOWN_DEMO_BUSY,
	RUNDOWN_DEMO_UAF,
};

/**
 * struct rundown_demo_work - one request, as a filter sees it
 * @seq: sequence number of the request
 * @data: the data to scan
 * @len: length of @data
 * @protect: take protection on the filter's own buffer. False with the
 *	manager's protect=0, and in half of a timed run (see its run_ms), when
 *	nothing swaps the buffer
 * @result: set by the handler
 * @stray: set by the handler with %RUNDOWN_DEMO_BUSY: refused while no swap
 *	was running its buffer down, which would be a bug (see struct
 *	rundown_demo_window)
 * @matches: set by the handler: signatures found in @data
 * @checksum: set by the handler: its checksum of @data
 */
struct rundown_demo_work {
	u64 seq;
	const u8 *data;
	size_t len;
	bool protect;
	enum rundown_demo_result result;
	bool stray;
	u32 matches;
	u32 checksum;
};

/**
 * struct rundown_demo_window - tells a refusal inside a run-down from one outside
 * @seq: odd while a run-down window is open; bumped when it opens and closes
 *
 * The demo claims that protection is refused only while its object is run
 * down, and counts the refusals that say otherwise. The owner opens the
 * window before it starts the run-down and closes it once no caller can be
 * refused any more (after ex_rundown_reinit(), or once the object cannot be
 * found); windows of one object never overlap. A caller samples @seq before
 * its acquire and, if the acquire fails, looks again: the refusal was inside
 * a window if one was open at the first look or one opened or closed between
 * the two. A failed acquire read the draining bit, which the run-down's
 * owner set after opening the window (the smp_wmb() in open, the smp_rmb()
 * in refused); and a window closed before the first look had ended its
 * run-down before it closed, or made its object impossible to find (the
 * smp_wmb() in close, the smp_rmb() in sample), so the acquire cannot have
 * been refused by it. herd7 checks this: litmus/demo-window-*.litmus.
 */
struct rundown_demo_window {
	unsigned long seq;
};

static inline void rundown_demo_window_open(struct rundown_demo_window *w)
{
	WRITE_ONCE(w->seq, w->seq + 1);
	smp_wmb();	/* open, then run down: pairs with window_refused() */
}

static inline void rundown_demo_window_close(struct rundown_demo_window *w)
{
	smp_wmb();	/* the run-down's end, then close: pairs with window_sample() */
	WRITE_ONCE(w->seq, w->seq + 1);
}

static inline unsigned long
rundown_demo_window_sample(const struct rundown_demo_window *w)
{
	unsigned long seq = READ_ONCE(w->seq);

	smp_rmb();	/* the sample, then the acquire: pairs with window_close() */
	return seq;
}

/* After a failed acquire: was it refused inside a window? */
static inline bool rundown_demo_window_refused(const struct rundown_demo_window *w,
					       unsigned long sample)
{
	smp_rmb();	/* the acquire, then the look: pairs with window_open() */
	return (sample & 1) || READ_ONCE(w->seq) != sample;
}

/**
 * enum rundown_demo_window_kind - the run-downs the manager's timeline shows
 * @RUNDOWN_DEMO_WINDOW_UNLOAD: a filter being unregistered
 * @RUNDOWN_DEMO_WINDOW_SWAP: a filter's buffer being swapped
 */
enum rundown_demo_window_kind {
	RUNDOWN_DEMO_WINDOW_UNLOAD,
	RUNDOWN_DEMO_WINDOW_SWAP,
};

/**
 * struct rundown_demo_filter_ops - what the manager calls in a filter
 * @handle: process one request. Process context; may sleep. Called with
 *	run-down protection on the filter held, by many threads at once.
 * @swap_buffer: replace the filter's buffer (optional). Process context; may sleep.
 *	Called with run-down protection on the filter held, possibly while
 *	@handle runs. Return: 0 or a negative errno.
 */
struct rundown_demo_filter_ops {
	void (*handle)(struct rundown_demo_filter *filter,
		       struct rundown_demo_work *work);
	int (*swap_buffer)(struct rundown_demo_filter *filter);
};

/**
 * struct rundown_demo_filter - a filter, as the manager knows it
 * @name: shown in the manager's reports
 * @ops: the filter's entry points
 * @owner: the module the filter's code lives in (THIS_MODULE)
 * @rundown: run-down protection of the filter: every call into it holds it;
 *	rundown_demo_unregister() runs it down. Initialised by
 *	rundown_demo_register().
 * @id: set by rundown_demo_register(): the registration's number, unique
 *	while the manager is loaded; the manager's reports use it
 * @slot: set by rundown_demo_register(): the manager's slot for the filter
 *
 * Embedded in the filter's own state, which lives in the filter module: once
 * rundown_demo_unregister() returned the manager never touches it again.
 * Cache-line aligned, so that every call's acquire and release do not bounce
 * the line of what every call only reads: static state, or memory allocated
 * with that alignment.
 */
struct rundown_demo_filter {
	const char *name;
	const struct rundown_demo_filter_ops *ops;
	struct module *owner;
	/* Written by every call: not on the line of what every call reads. */
	struct ex_rundown_ref rundown ____cacheline_aligned_in_smp;
	u64 id;
	unsigned int slot;
};

/*
 * The account of one load of a filter, logged once it is gone by the manager
 * (from its own counters) and by the filter (from its own): the id, then
 * calls, busy, uaf and swaps. One format, so that a test compares the two
 * lines as they are.
 */
#define RUNDOWN_DEMO_LOAD_FMT	"load %llu calls %llu busy %llu uaf %llu swaps %llu\n"

int rundown_demo_register(struct rundown_demo_filter *filter);
void rundown_demo_unregister(struct rundown_demo_filter *filter);
bool rundown_demo_protected(void);
void rundown_demo_note_window(enum rundown_demo_window_kind kind, u64 start_ns,
			      u64 end_ns);

#endif /* __KERNEL__ */

#endif /* _RUNDOWN_DEMO_H */
