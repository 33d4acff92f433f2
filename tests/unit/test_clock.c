/*
 * test_clock.c: daemon/clock.c. The civil calendar and Copenhagen's date;
 * and the test clock: in a test build (make asan: STAFET_TEST_CLOCK) a
 * written offset and SIGUSR2 move the wall and monotonic clocks and fire
 * the loop's timers that the step reaches, a timer passed over keeps what
 * the steps advanced, and the monotonic clock never goes back; in the
 * production build (make) the same file and variable move nothing.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "stafetd.h"

static char clock_file[64];

static void
write_clock(double wall, double mono)
{
	FILE *f = fopen(clock_file, "w");
	assert_non_null(f);
	fprintf(f, "%.6f %.6f\n", wall, mono);
	fclose(f);
}

static void
test_calendar(void **state)
{
	char out[11];
	int y, m, d;

	(void)state;
	assert_true(clock_leap(2000));
	assert_false(clock_leap(1900));
	assert_true(clock_leap(2028));
	assert_int_equal(clock_month_days(2028, 2), 29);
	assert_int_equal(clock_month_days(2027, 2), 28);
	assert_int_equal(clock_days_from_civil(1970, 1, 1), 0);
	clock_civil_from_days(clock_days_from_civil(2027, 3, 28), &y, &m, &d);
	assert_true(y == 2027 && m == 3 && d == 28);
	assert_int_equal(clock_weekday(clock_days_from_civil(2026, 12, 6)), 7); /* Sunday */
	/* 2026-03-29 01:00 UTC: CEST starts; 2026-10-25 01:00 UTC: it ends */
	assert_int_equal(clock_copenhagen_offset(1774745999), 3600);
	assert_int_equal(clock_copenhagen_offset(1774746000), 7200);
	assert_int_equal(clock_copenhagen_offset(1792890000), 3600);
	/* 23:30 UTC on 31 December is the next year in Copenhagen */
	clock_date_copenhagen(1798759800, out);
	assert_string_equal(out, "2027-01-01");
	assert_int_equal(clock_minutes_copenhagen(1798759800), 30);
}

static int fired_once, fired_persist, fired_far;

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	++*(int *)arg;
}

/* Runs the loop until nothing is active (the signal, then the callbacks). */
static void
settle(struct event_base *base)
{
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
test_the_clock_moves_only_in_a_test_build(void **state)
{
	struct event_base *base = event_base_new();
	struct event *once = evtimer_new(base, count_cb, &fired_once);
	struct event *persist = event_new(base, -1, EV_PERSIST, count_cb, &fired_persist);
	struct event *far = evtimer_new(base, count_cb, &fired_far);
	struct timeval ten = clock_timeval(10), hour = clock_timeval(3600);
	double wall0 = clock_wall(), mono0 = clock_mono();
	char today[11], real[11];

	(void)state;
	snprintf(clock_file, sizeof(clock_file), "/tmp/stafet-clock-%d", (int)getpid());
	setenv("STAFET_TEST_CLOCK", clock_file, 1);
	write_clock(0, 0);
	clock_init(base);
	evtimer_add(once, &ten);
	event_add(persist, &ten);
	evtimer_add(far, &hour);

	/* two steps of 6 s reach the timers due in 10 s, not the one in an hour */
	write_clock(6, 6);
	raise(SIGUSR2);
	settle(base);
	write_clock(12, 12);
	raise(SIGUSR2);
	settle(base);
	if (!clock_is_test()) {
		/* SIGUSR2 has no handler: ignore it, or the default kills us */
		assert_true(clock_wall() - wall0 < 2);
		assert_true(clock_mono() - mono0 < 2);
		assert_int_equal(fired_once + fired_persist + fired_far, 0);
		assert_true(clock_db_offset() == 0);
		goto done;
	}
	assert_true(clock_wall() - wall0 >= 12 && clock_wall() - wall0 < 14);
	assert_true(clock_mono() - mono0 >= 12 && clock_mono() - mono0 < 14);
	assert_int_equal(fired_once, 1);
	assert_int_equal(fired_persist, 1);
	assert_int_equal(fired_far, 0);
	assert_true(event_pending(persist, EV_TIMEOUT, NULL)); /* a persistent one stays */
	assert_true(clock_db_offset() >= 12);

	/* a day: the far timer and the persistent one again; today moves */
	clock_date_copenhagen(time(NULL), real);
	write_clock(12 + 86400, 12 + 86400);
	raise(SIGUSR2);
	settle(base);
	assert_int_equal(fired_far, 1);
	assert_int_equal(fired_persist, 2);
	clock_today(today);
	assert_string_not_equal(today, real);

	/* the monotonic clock does not go back; the wall clock may, and the
	 * database's offset never goes below 0 */
	write_clock(-86400, 0);
	raise(SIGUSR2);
	settle(base);
	assert_true(clock_mono() - mono0 >= 86400);
	write_clock(-86400, 86412);
	raise(SIGUSR2);
	settle(base);
	assert_true(clock_wall() - wall0 < -86000);
	assert_true(clock_db_offset() == 0);
done:
	clock_stop();
	event_free(once);
	event_free(persist);
	event_free(far);
	event_base_free(base);
	unlink(clock_file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calendar),
	    cmocka_unit_test(test_the_clock_moves_only_in_a_test_build),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	/* a production build installs no handler: the default would kill us */
	if (!clock_is_test())
		signal(SIGUSR2, SIG_IGN);
	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
