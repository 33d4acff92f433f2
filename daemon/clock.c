/*
 * clock.c: the daemon's one clock. Every wall time, monotonic time and
 * "today" the daemon reads comes from here, and so does the offset its SQL
 * adds to PostgreSQL's now().
 *
 * A test build (compiled with -DSTAFET_TEST_CLOCK: build/asan/stafetd,
 * never build/stafetd nor an installed one) may move this clock, so that
 * what waits on time (reminders across holidays, session expiry, outbox
 * backoff and leases, the janitor, the session cache's look for its
 * triggers) is tested in milliseconds. The test writes two offsets in
 * seconds, "WALL MONO", to the file named by the environment variable
 * STAFET_TEST_CLOCK and sends SIGUSR2; the daemon reads them, and every
 * timer of the event loop that the monotonic step reaches fires at once.
 * The monotonic offset never goes back. A production build has no offset,
 * no variable and no signal handler for it: nothing in a configuration file
 * or a request can move its clock.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "stafetd.h"

#ifdef STAFET_TEST_CLOCK
/* Nanoseconds added to the real clocks; read by every thread. */
static _Atomic int64_t off_wall_ns, off_mono_ns;
#endif

static double
ts_seconds(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

double
clock_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
#ifdef STAFET_TEST_CLOCK
	return ts_seconds(&ts) + (double)atomic_load(&off_mono_ns) / 1e9;
#else
	return ts_seconds(&ts);
#endif
}

/* The monotonic clock that no test clock moves: for the deadlines that
 * guard a server's answer (db.c's connects and queries), whose time a
 * step does not move either. */
double
clock_mono_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_seconds(&ts);
}

double
clock_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
#ifdef STAFET_TEST_CLOCK
	return ts_seconds(&ts) + (double)atomic_load(&off_wall_ns) / 1e9;
#else
	return ts_seconds(&ts);
#endif
}

time_t
clock_time(void)
{
	return (time_t)floor(clock_wall());
}

/* The database's time moves forward with a test clock, never back: rows
 * PostgreSQL stamps itself (DEFAULT now()) carry its real time, and a test
 * that sets an earlier date must still find them due. */
double
clock_db_offset(void)
{
#ifdef STAFET_TEST_CLOCK
	int64_t off = atomic_load(&off_wall_ns);
	return off > 0 ? (double)off / 1e9 : 0;
#else
	return 0;
#endif
}

const char *
clock_db_offset_param(char buf[32])
{
	snprintf(buf, 32, "%.6f", clock_db_offset());
	return buf;
}

struct timeval
clock_timeval(double secs)
{
	struct timeval tv;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* -- the civil calendar: day numbers (days since 1970-01-01, proleptic
 * Gregorian), so no time zone or mktime() is involved -------------------- */

long
clock_floor_div(long a, long b)
{
	long q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool
clock_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
clock_month_days(int y, int m)
{
	static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && clock_leap(y) ? 29 : n[m - 1];
}

bool
clock_date_valid(const char *s, size_t len)
{
	int y, m, d;

	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return y >= 1800 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 && d <= clock_month_days(y, m);
}

/* H. Hinnant's days_from_civil, for years >= 0. */
long
clock_days_from_civil(int y, int m, int d)
{
	long yy = m <= 2 ? y - 1 : y;
	long era = yy / 400;
	long yoe = yy - era * 400;
	long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
clock_civil_from_days(long z, int *y, int *m, int *d)
{
	z += 719468;
	long era = clock_floor_div(z, 146097);
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
clock_weekday(long days)
{
	/* 1970-01-01 was a Thursday */
	return (int)((days + 3) - clock_floor_div(days + 3, 7) * 7) + 1;
}

long
clock_copenhagen_offset(time_t t)
{
	long utc_days = clock_floor_div((long)t, 86400);
	long start, end;
	int y, m, d;

	clock_civil_from_days(utc_days, &y, &m, &d);
	/* the last Sunday of March and of October, at 01:00 UTC */
	start = clock_days_from_civil(y, 3, 31);
	start -= clock_weekday(start) % 7;
	end = clock_days_from_civil(y, 10, 31);
	end -= clock_weekday(end) % 7;
	if ((long)t >= start * 86400 + 3600 && (long)t < end * 86400 + 3600)
		return 7200;
	return 3600;
}

void
clock_put_date(char out[11], int y, int m, int d)
{
	/* digits by hand: the compiler cannot prove snprintf's bound */
	out[0] = (char)('0' + y / 1000 % 10);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10 % 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10 % 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

void
clock_date_copenhagen(time_t t, char out[11])
{
	int y, m, d;
	clock_civil_from_days(clock_floor_div((long)t + clock_copenhagen_offset(t), 86400), &y, &m,
	                      &d);
	clock_put_date(out, y, m, d);
}

int
clock_minutes_copenhagen(time_t t)
{
	long local = (long)t + clock_copenhagen_offset(t);
	return (int)((local - clock_floor_div(local, 86400) * 86400) / 60);
}

void
clock_today(char out[11])
{
	/* the municipality's day, whatever the server's time zone */
	clock_date_copenhagen(clock_time(), out);
}

bool
clock_is_test(void)
{
#ifdef STAFET_TEST_CLOCK
	return true;
#else
	return false;
#endif
}

#ifdef STAFET_TEST_CLOCK

/*
 * The timers of the loop, as the last step saw them: a timer that was
 * passed over keeps what the steps since have advanced, so two steps of
 * 5 s reach a timer due in 10 s. A timer whose due time changed (it fired,
 * or was added again) starts over.
 */
struct seen {
	const struct event *ev;
	struct timeval due;
	double ahead;
};
static struct seen *seen;
static size_t nseen;
static struct event_base *loop_base;

struct collect {
	struct event **v;
	size_t n, cap;
};

static int
collect_timer(const struct event_base *base, const struct event *ev, void *arg)
{
	struct collect *c = arg;
	(void)base;
	if (!event_pending(ev, EV_TIMEOUT, NULL))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = (struct event *)(uintptr_t)ev;
	return 0;
}

static double
tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Fires every timer the step of `step` seconds reaches. */
static size_t
step_timers(double step)
{
	struct collect c = {0};
	struct seen *next;
	size_t nnext = 0, fired = 0;
	struct timeval now;

	event_base_foreach_event(loop_base, collect_timer, &c);
	/* event_pending() gives a timer's due time on the wall clock */
	gettimeofday(&now, NULL);
	next = xcalloc(c.n ? c.n : 1, sizeof(*next));
	for (size_t i = 0; i < c.n; i++) {
		struct timeval due;
		double ahead = 0;
		event_pending(c.v[i], EV_TIMEOUT, &due);
		for (size_t k = 0; k < nseen; k++)
			if (seen[k].ev == c.v[i] && seen[k].due.tv_sec == due.tv_sec &&
			    seen[k].due.tv_usec == due.tv_usec)
				ahead = seen[k].ahead;
		ahead += step;
		if (tv_seconds(&due) - tv_seconds(&now) <= ahead) {
			event_active(c.v[i], EV_TIMEOUT, 1);
			fired++;
			continue;
		}
		next[nnext++] = (struct seen){c.v[i], due, ahead};
	}
	free(seen);
	seen = next;
	nseen = nnext;
	free(c.v);
	return fired;
}

static void
clock_step(evutil_socket_t sig, short what, void *arg)
{
	const char *path = getenv("STAFET_TEST_CLOCK");
	double wall, mono, step;
	FILE *f;

	(void)sig;
	(void)what;
	(void)arg;
	if (path == NULL || (f = fopen(path, "r")) == NULL) {
		log_warnx("test clock: cannot read %s: %s", path ? path : "(unset)",
		          path ? strerror(errno) : "STAFET_TEST_CLOCK is not set");
		return;
	}
	if (fscanf(f, "%lf %lf", &wall, &mono) != 2 || !isfinite(wall) || !isfinite(mono)) {
		fclose(f);
		log_warnx("test clock: %s does not hold two numbers", path);
		return;
	}
	fclose(f);
	step = mono - (double)atomic_load(&off_mono_ns) / 1e9;
	if (step < 0) {
		log_warnx("test clock: the monotonic clock does not go back (%.3f s)", step);
		return;
	}
	atomic_store(&off_wall_ns, (int64_t)llround(wall * 1e9));
	atomic_store(&off_mono_ns, (int64_t)llround(mono * 1e9));
	char today[11];
	clock_today(today);
	log_always(LOG_LVL_INFO,
	           "test clock: wall %+.3f s (today %s), monotonic %+.3f s; %zu timers fired", wall,
	           today, mono, step > 0 ? step_timers(step) : (size_t)0);
}

static struct event *usr2;

void
clock_init(struct event_base *base)
{
	const char *path = getenv("STAFET_TEST_CLOCK");
	loop_base = base;
	if (path == NULL)
		return;
	usr2 = evsignal_new(base, SIGUSR2, clock_step, NULL);
	if (usr2 == NULL || evsignal_add(usr2, NULL) == -1)
		fatalx("test clock: cannot handle SIGUSR2");
	/* a clock file written before the start applies from the start */
	if (access(path, R_OK) == 0)
		clock_step(SIGUSR2, EV_SIGNAL, NULL);
	log_info("test clock: moved by SIGUSR2 and %s", path);
}

void
clock_stop(void)
{
	if (usr2)
		event_free(usr2);
	usr2 = NULL;
	free(seen);
	seen = NULL;
	nseen = 0;
	loop_base = NULL;
}

#else

void
clock_init(struct event_base *base)
{
	(void)base;
}

void
clock_stop(void)
{
}

#endif
