/*
 * log.c: leveled logging to stderr, in the shape journald reads.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with an sd-daemon
 * priority prefix and carries no timestamp; elsewhere a UTC timestamp leads.
 * Every function saves and restores errno, so logging never disturbs the
 * caller's error handling.
 *
 * A burst is logged once with its count: past BURST_LINES lines from one
 * call site (one format) within BURST_WINDOW seconds, the rest of that
 * window's lines from it are counted, not written, and one line says how
 * many there were and what the last one said (an SMTP outage with a backlog
 * wrote a retry line per mail: 6,917 in a minute). Errors are never held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stafetd.h"

#define BURST_WINDOW 10.0 /* seconds */
#define BURST_LINES  50   /* lines of one call site a window, then counted */
#define BURST_SLOTS  64

static int log_level = LOG_LVL_INFO;
static int log_stamps = 1;
static int log_journal;

static const struct {
	const char *name;
	int sdprio; /* syslog priority for the <N> prefix */
} levels[] = {
    [LOG_LVL_DEBUG] = {"debug", 7},   [LOG_LVL_INFO] = {"info", 6},
    [LOG_LVL_NOTICE] = {"notice", 5}, [LOG_LVL_WARNING] = {"warning", 4},
    [LOG_LVL_ERR] = {"error", 3},
};

void
log_init(int level, int timestamps)
{
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	log_level = level;
	if (timestamps == LOG_TS_AUTO)
		log_stamps = !log_journal && getenv("INVOCATION_ID") == NULL;
	else
		log_stamps = timestamps == LOG_TS_YES;
}

void
log_set_level(int level)
{
	log_level = level;
}

bool
log_enabled(int level)
{
	return level >= log_level;
}

static void
emit(int level, const char *msg)
{
	char stamp[40] = "";
	size_t n;

	if (log_stamps) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", levels[level].sdprio, msg);
	else
		fprintf(stderr, "%s%s: %s\n", stamp, levels[level].name, msg);
}

/* -- bursts: one call site's lines counted past BURST_LINES a window ---------------- */

static struct burst {
	const char *fmt; /* the call site */
	int level;
	double start;   /* of the window */
	unsigned lines; /* written this window */
	unsigned long held;
	char last[512];
} bursts[BURST_SLOTS];
static pthread_mutex_t burst_mu = PTHREAD_MUTEX_INITIALIZER;
static double burst_sweep_at;

static double
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
burst_report(struct burst *b, double now)
{
	char line[700];
	if (b->held == 0)
		return;
	snprintf(line, sizeof(line), "%lu more like this in %.0fs, the last: %s", b->held,
	         now - b->start, b->last);
	emit(b->level, line);
	b->held = 0;
}

/* Whether to write this line now; under burst_mu. */
static bool
burst_pass(int level, const char *fmt, const char *msg, double now)
{
	size_t h = ((uintptr_t)fmt >> 3) % BURST_SLOTS;
	struct burst *b = NULL;

	for (size_t i = 0; i < BURST_SLOTS && b == NULL; i++) {
		struct burst *s = &bursts[(h + i) % BURST_SLOTS];
		if (s->fmt == fmt || s->fmt == NULL || now - s->start > BURST_WINDOW * 6)
			b = s;
	}
	if (b == NULL)
		return true; /* a full table: write it */
	if (b->fmt != fmt || now - b->start > BURST_WINDOW) {
		if (b->fmt != NULL)
			burst_report(b, now);
		b->fmt = fmt;
		b->level = level;
		b->start = now;
		b->lines = 0;
	}
	if (++b->lines <= BURST_LINES)
		return true;
	b->held++;
	/* the last line, cut to fit (memcpy: a cut line is meant) */
	size_t len = strlen(msg);
	if (len >= sizeof(b->last))
		len = sizeof(b->last) - 1;
	memcpy(b->last, msg, len);
	b->last[len] = '\0';
	return false;
}

/* The counts of bursts whose window is over. */
static void
burst_sweep(double now, bool all)
{
	if (!all && now < burst_sweep_at)
		return;
	burst_sweep_at = now + 1;
	for (size_t i = 0; i < BURST_SLOTS; i++)
		if (bursts[i].held && (all || now - bursts[i].start > BURST_WINDOW))
			burst_report(&bursts[i], now);
}

void
log_flush(void)
{
	int saved = errno;
	pthread_mutex_lock(&burst_mu);
	burst_sweep(mono_now(), true);
	pthread_mutex_unlock(&burst_mu);
	errno = saved;
}

static void vlog(int, int, bool, const char *, va_list) PRINTFLIKE(4, 0);

static void
vlog(int level, int with_errno, bool limited, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[2048];
	size_t n;

	if (level < log_level) {
		errno = saved;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	/* One line per message: a newline in a value must not forge a line. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pthread_mutex_lock(&burst_mu);
	double now = mono_now();
	burst_sweep(now, false);
	if (!limited || level >= LOG_LVL_ERR || burst_pass(level, fmt, msg, now))
		emit(level, msg);
	pthread_mutex_unlock(&burst_mu);
	errno = saved;
}

#define LOGFN(fn, lvl, err)                                                                        \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(lvl, err, true, fmt, ap);                                                     \
		va_end(ap);                                                                        \
	}
LOGFN(log_debug, LOG_LVL_DEBUG, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_notice, LOG_LVL_NOTICE, 0)
LOGFN(log_warn, LOG_LVL_WARNING, 1)
LOGFN(log_warnx, LOG_LVL_WARNING, 0)
LOGFN(log_errx, LOG_LVL_ERR, 0)

void
log_always(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, 0, false, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 1, false, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 0, false, fmt, ap);
	va_end(ap);
	exit(1);
}
