// SPDX-License-Identifier: GPL-2.0
/*
 * rundown_demo_client: the user-space side of the demo, built static on the
 * host (gcc -static) and run inside the QEMU guest, whose busybox has no way
 * to issue an ioctl.
 *
 *   rundown_demo_client ioctl STOPFILE [PAUSE_US]
 *                                        requests by ioctl until STOPFILE
 *                                        exists, PAUSE_US (default 0) apart
 *   rundown_demo_client read STOPFILE [PAUSE_US]
 *                                        the same with read()
 *   rundown_demo_client badinput STATS   bad input must fail and change nothing
 *
 * The first two print their totals as "EXR-COUNT requests_MODE N" and
 * "EXR-COUNT errors N" (MODE: ioctl or read, the names of the manager's own
 * counters, with which the test compares them), then "EXR-COUNT served_calls
 * N" and "EXR-COUNT served_ns N": the requests the filter served (ran,
 * neither refused nor busy) and the time they took, added up; and exit 1 if
 * a call failed or a reply did not add up. badinput
 * prints one "EXR-CHECK ok|FAIL name" line per case and exits 1 if any
 * failed; STATS is the manager's debugfs stats file, read around every case
 * to prove that a refused request reached no filter and was not counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "rundown_demo.h"

#define DEVICE	"/dev/rundown_demo"

/* The line read() returns: see rundown_demo.h. */
#define REPLY_FMT "seq %llu filters %u ran %u skipped %u busy %u uaf %u matches %u checksum %x"

static void fill(unsigned char *data, size_t len, unsigned long long n)
{
	size_t i;

	for (i = 0; i < len; i++) {
		n = n * 6364136223846793005ULL + 1442695040888963407ULL;
		data[i] = n >> 56;
	}
}

/* One reply, from either interface: does it add up? */
static int consistent(unsigned long long seq, unsigned long long *last_seq,
		      unsigned int filters, unsigned int ran,
		      unsigned int skipped, unsigned int busy, unsigned int uaf)
{
	int ok = seq > *last_seq && ran + skipped == filters &&
		 busy + uaf <= ran && filters <= RUNDOWN_DEMO_MAX_FILTERS;

	*last_seq = seq;
	return ok;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int run(const char *mode, const char *stopfile, unsigned long pause_us)
{
	int use_ioctl = !strcmp(mode, "ioctl");
	unsigned long long last_seq = 0, requests = 0, errors = 0;
	unsigned long long served_calls = 0, served_ns = 0;
	int fd;

	fd = open(DEVICE, O_RDONLY);
	if (fd < 0) {
		perror(DEVICE);
		return 1;
	}
	while (access(stopfile, F_OK) != 0) {
		unsigned long long seq, t0;
		unsigned int filters, ran, skipped, busy, uaf, matches, sum;

		if (pause_us)
			usleep(pause_us);
		t0 = now_ns();
		if (use_ioctl) {
			struct rundown_demo_request req = {
				.size = sizeof(req),
			};

			fill(req.data, sizeof(req.data), requests);
			if (ioctl(fd, RUNDOWN_DEMO_IOC_REQUEST, &req) < 0) {
				if (!errors++)
					perror("ioctl");
				continue;
			}
			seq = req.seq;
			filters = req.filters;
			ran = req.ran;
			skipped = req.skipped;
			busy = req.busy;
			uaf = req.uaf;
			matches = req.matches;
			sum = req.checksum;
		} else {
			char line[RUNDOWN_DEMO_READ_MIN + 1];
			ssize_t n = read(fd, line, RUNDOWN_DEMO_READ_MIN);

			if (n <= 0) {
				if (!errors++)
					perror("read");
				continue;
			}
			line[n] = '\0';
			if (sscanf(line, REPLY_FMT, &seq, &filters, &ran, &skipped, &busy, &uaf,
				   &matches, &sum) != 8) {
				if (!errors++)
					fprintf(stderr, "read: cannot parse '%s'\n", line);
				continue;
			}
		}
		if (ran && !skipped && !busy && !uaf) {
			served_ns += now_ns() - t0;
			served_calls++;
		}
		if (!consistent(seq, &last_seq, filters, ran, skipped, busy, uaf)) {
			if (!errors++)
				fprintf(stderr, "%s: inconsistent reply: " REPLY_FMT "\n",
					mode, seq, filters, ran, skipped, busy, uaf,
					matches, sum);
		}
		requests++;
	}
	close(fd);
	printf("EXR-COUNT requests_%s %llu\nEXR-COUNT errors %llu\n", mode,
	       requests, errors);
	printf("EXR-COUNT served_calls %llu\nEXR-COUNT served_ns %llu\n",
	       served_calls, served_ns);
	return errors ? 1 : 0;
}

/* The value of KEY in the manager's stats file, -1 if it cannot be read. */
static long long stat_get(const char *stats, const char *key)
{
	char name[64];
	long long v, found = -1;
	FILE *f = fopen(stats, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (!strcmp(name, key))
			found = v;
	fclose(f);
	return found;
}

static long long user_requests(const char *stats)
{
	return stat_get(stats, "requests_read") + stat_get(stats, "requests_ioctl");
}

static int failures;

static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("EXR-CHECK ok %s\n", name);
		return;
	}
	failures++;
	printf("EXR-CHECK FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Did a refused call fail with @want and leave the counters alone? */
static void check_refused(const char *name, const char *stats, long long before,
			  int ret, int err, int want)
{
	long long after = user_requests(stats);

	check(name, ret < 0 && err == want && after == before,
	      "returned %d (%s), want -1 (%s); user requests %lld -> %lld",
	      ret, ret < 0 ? strerror(err) : "no error", strerror(want),
	      before, after);
}

struct wrong_size {
	char c[8];
};

static int badinput(const char *stats)
{
	struct rundown_demo_request req;
	char buf[RUNDOWN_DEMO_READ_MIN + 1];
	long long before;
	unsigned long long seq;
	unsigned int filters, ran, skipped, busy, uaf, matches, sum;
	ssize_t n;
	int fd, ret;

	fd = open(DEVICE, O_RDWR);
	if (fd < 0 || user_requests(stats) < 0) {
		check("open", 0, "cannot open %s or read %s: %s", DEVICE, stats,
		      strerror(errno));
		return 1;
	}

	before = user_requests(stats);
	ret = ioctl(fd, _IO(RUNDOWN_DEMO_IOC_MAGIC, 0x7f));
	check_refused("ioctl-unknown-command", stats, before, ret, errno, ENOTTY);

	before = user_requests(stats);
	ret = ioctl(fd, _IOWR(RUNDOWN_DEMO_IOC_MAGIC, 0x01, struct wrong_size),
		    &req);
	check_refused("ioctl-command-of-wrong-size", stats, before, ret, errno,
		      ENOTTY);

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req) - 8;
	before = user_requests(stats);
	ret = ioctl(fd, RUNDOWN_DEMO_IOC_REQUEST, &req);
	check_refused("ioctl-bad-size-field", stats, before, ret, errno, EINVAL);

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = 1;
	before = user_requests(stats);
	ret = ioctl(fd, RUNDOWN_DEMO_IOC_REQUEST, &req);
	check_refused("ioctl-unknown-flag", stats, before, ret, errno, EINVAL);

	before = user_requests(stats);
	ret = ioctl(fd, RUNDOWN_DEMO_IOC_REQUEST, NULL);
	check_refused("ioctl-bad-pointer", stats, before, ret, errno, EFAULT);

	before = user_requests(stats);
	ret = read(fd, buf, RUNDOWN_DEMO_READ_MIN - 1);
	check_refused("read-short-buffer", stats, before, ret, errno, EINVAL);

	before = user_requests(stats);
	ret = write(fd, "1", 1);
	check_refused("write", stats, before, ret, errno, EINVAL);

	/* The same calls done right are accepted and counted once each. */
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.reserved = 0xdead;
	before = user_requests(stats);
	ret = ioctl(fd, RUNDOWN_DEMO_IOC_REQUEST, &req);
	check("ioctl-good-request", ret == 0 && req.seq > 0 && !req.reserved &&
	      req.ran + req.skipped == req.filters &&
	      user_requests(stats) == before + 1,
	      "returned %d (%s), seq %llu, reserved %#x, user requests %lld -> %lld",
	      ret, ret ? strerror(errno) : "ok", (unsigned long long)req.seq,
	      req.reserved, before, user_requests(stats));

	before = user_requests(stats);
	n = read(fd, buf, RUNDOWN_DEMO_READ_MIN);
	if (n > 0)
		buf[n] = '\0';
	else
		buf[0] = '\0';
	check("read-good-request", n > 0 && buf[n - 1] == '\n' &&
	      sscanf(buf, REPLY_FMT, &seq, &filters, &ran, &skipped, &busy, &uaf, &matches,
		     &sum) == 8 && user_requests(stats) == before + 1,
	      "returned %zd: '%s'", n, buf);

	close(fd);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char *end = "";
	unsigned long pause_us = 0;

	if (argc == 4)
		pause_us = strtoul(argv[3], &end, 10);
	if ((argc == 3 || (argc == 4 && *argv[3] && !*end && pause_us <= 1000000)) &&
	    (!strcmp(argv[1], "ioctl") || !strcmp(argv[1], "read")))
		return run(argv[1], argv[2], pause_us);
	if (argc == 3 && !strcmp(argv[1], "badinput"))
		return badinput(argv[2]);
	fprintf(stderr, "usage: %s ioctl|read STOPFILE [PAUSE_US, 0 to 1000000]\n"
		"       %s badinput STATSFILE\n", argv[0], argv[0]);
	return 2;
}
