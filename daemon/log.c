/*
 * log.c: leveled logging to stderr, in the shape journald reads.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with an sd-daemon
 * priority prefix and carries no timestamp; elsewhere a UTC timestamp leads.
 * Every function saves and restores errno, so logging never disturbs the
 * caller's error handling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stafetd.h"

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

static void vlog(int, int, const char *, va_list) PRINTFLIKE(3, 0);

static void
vlog(int level, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[2048], stamp[40] = "";
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
	errno = saved;
}

#define LOGFN(fn, lvl, err)                                                                        \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(lvl, err, fmt, ap);                                                           \
		va_end(ap);                                                                        \
	}
LOGFN(log_debug, LOG_LVL_DEBUG, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_notice, LOG_LVL_NOTICE, 0)
LOGFN(log_warn, LOG_LVL_WARNING, 1)
LOGFN(log_warnx, LOG_LVL_WARNING, 0)
LOGFN(log_errx, LOG_LVL_ERR, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
