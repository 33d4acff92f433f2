/*
 * test_workdays.c: Danish working days (Easter, each public holiday, store
 * bededag before and after its abolition, the optional days off, spans
 * across Easter and Christmas, adding working days), the Copenhagen date of
 * an instant, and the quality reports' quarters and medians; bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "handover.h"
#include "workdays.h"

#define ALL_OFF (HO_OFF_GRUNDLOVSDAG | HO_OFF_JULEAFTENSDAG | HO_OFF_NYTAARSAFTENSDAG)

static void
check_between(const char *from, const char *to, unsigned off, int want)
{
	int got = workdays_between(from, to, off);
	if (got != want)
		fail_msg("between(%s, %s, %u) = %d, want %d", from, to, off, got, want);
}

static void
check_add(const char *date, int days, unsigned off, const char *want)
{
	char out[11] = "";
	if (workdays_add(date, days, off, out) != 0)
		fail_msg("add(%s, %d, %u) failed", date, days, off);
	if (strcmp(out, want) != 0)
		fail_msg("add(%s, %d, %u) = %s, want %s", date, days, off, out, want);
}

static void
check_name(const char *date, unsigned off, const char *want)
{
	const char *got = workdays_holiday_name(date, off);
	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("holiday_name(%s, %u) = %s, want %s", date, off, got ? got : "NULL",
		         want ? want : "NULL");
}

static void
test_easter(void **state)
{
	static const struct {
		int year, month, day;
	} want[] = {
	    {2024, 3, 31}, {2025, 4, 20}, {2026, 4, 5},  {2027, 3, 28}, {2028, 4, 16},
	    {2029, 4, 1},  {2030, 4, 21}, {1900, 4, 15}, {2000, 4, 23}, {2038, 4, 25},
	    {2200, 4, 6},  {1913, 3, 23}, {2008, 3, 23}, {2011, 4, 24}, {2019, 4, 21},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int m = 0, d = 0;
		assert_int_equal(workdays_easter(want[i].year, &m, &d), 0);
		if (m != want[i].month || d != want[i].day)
			fail_msg("easter(%d) = %d-%d, want %d-%d", want[i].year, m, d,
			         want[i].month, want[i].day);
	}
	int m, d;
	assert_int_equal(workdays_easter(1899, &m, &d), -1);
	assert_int_equal(workdays_easter(2201, &m, &d), -1);
}

/* Every public holiday of 2023, 2024 and 2027 by name, and not a workday
 * even when it falls on a weekday. */
static void
test_holidays(void **state)
{
	static const char *const days[][2] = {
	    /* 2023: Easter 9 April */
	    {"2023-01-01", "nytårsdag"},
	    {"2023-04-06", "skærtorsdag"},
	    {"2023-04-07", "langfredag"},
	    {"2023-04-09", "påskedag"},
	    {"2023-04-10", "2. påskedag"},
	    {"2023-05-05", "store bededag"},
	    {"2023-05-18", "Kristi himmelfartsdag"},
	    {"2023-05-28", "pinsedag"},
	    {"2023-05-29", "2. pinsedag"},
	    {"2023-12-25", "juledag"},
	    {"2023-12-26", "2. juledag"},
	    /* 2024: Easter 31 March; no store bededag */
	    {"2024-01-01", "nytårsdag"},
	    {"2024-03-28", "skærtorsdag"},
	    {"2024-03-29", "langfredag"},
	    {"2024-03-31", "påskedag"},
	    {"2024-04-01", "2. påskedag"},
	    {"2024-05-09", "Kristi himmelfartsdag"},
	    {"2024-05-19", "pinsedag"},
	    {"2024-05-20", "2. pinsedag"},
	    {"2024-12-25", "juledag"},
	    {"2024-12-26", "2. juledag"},
	    /* 2027: Easter 28 March */
	    {"2027-01-01", "nytårsdag"},
	    {"2027-03-25", "skærtorsdag"},
	    {"2027-03-26", "langfredag"},
	    {"2027-03-28", "påskedag"},
	    {"2027-03-29", "2. påskedag"},
	    {"2027-05-06", "Kristi himmelfartsdag"},
	    {"2027-05-16", "pinsedag"},
	    {"2027-05-17", "2. pinsedag"},
	    {"2027-12-25", "juledag"},
	    {"2027-12-26", "2. juledag"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		check_name(days[i][0], 0, days[i][1]);
		if (workdays_is_workday(days[i][0], 0))
			fail_msg("%s (%s) is a workday", days[i][0], days[i][1]);
	}
	/* store bededag: 2023 yes, from 2024 an ordinary Friday */
	assert_false(workdays_is_workday("2023-05-05", 0));
	assert_false(workdays_is_workday("2022-05-13", 0));
	assert_true(workdays_is_workday("2024-04-26", 0));
	assert_true(workdays_is_workday("2025-05-16", 0));
	assert_true(workdays_is_workday("2027-04-23", 0));
	check_name("2024-04-26", ALL_OFF, NULL);
	/* the day after Ascension Day is no holiday */
	assert_true(workdays_is_workday("2024-05-10", 0));
	/* ordinary days and weekends */
	assert_true(workdays_is_workday("2024-04-02", 0));
	assert_true(workdays_is_workday("2027-03-24", 0));
	assert_true(workdays_is_workday("2027-03-30", 0));
	assert_false(workdays_is_workday("2026-06-06", 0)); /* Saturday */
	assert_false(workdays_is_workday("2026-06-07", 0)); /* Sunday */
	check_name("2026-06-06", ALL_OFF, NULL);
	assert_true(workdays_is_workday("2024-02-29", 0)); /* leap day, a Thursday */
}

/* Christmas and New Year on weekends: nothing moves to a weekday. */
static void
test_christmas_new_year(void **state)
{
	(void)state;
	/* 2027: juledag Saturday, 2. juledag Sunday: the Monday after works */
	assert_false(workdays_is_workday("2027-12-25", 0));
	assert_false(workdays_is_workday("2027-12-26", 0));
	assert_true(workdays_is_workday("2027-12-27", 0));
	assert_true(workdays_is_workday("2027-12-24", 0));
	assert_false(workdays_is_workday("2027-12-24", HO_OFF_JULEAFTENSDAG));
	/* 2022-01-01 Saturday; 2023-01-01 Sunday: 2 January works */
	assert_true(workdays_is_workday("2022-01-03", 0));
	assert_true(workdays_is_workday("2023-01-02", 0));
	/* 2026: juleaften Thursday, juledag Friday, 31 Dec Thursday, 1 Jan Friday */
	assert_true(workdays_is_workday("2026-12-24", 0));
	assert_false(workdays_is_workday("2026-12-25", 0));
	assert_true(workdays_is_workday("2026-12-28", 0));
	assert_true(workdays_is_workday("2026-12-31", 0));
	assert_false(workdays_is_workday("2026-12-31", HO_OFF_NYTAARSAFTENSDAG));
	assert_false(workdays_is_workday("2027-01-01", 0));
	assert_true(workdays_is_workday("2027-01-04", 0));
	/* 2. juledag 2024 Thursday, the Friday after works */
	assert_true(workdays_is_workday("2024-12-27", 0));
}

static void
test_optional_days_off(void **state)
{
	(void)state;
	/* grundlovsdag 2026 is a Friday */
	assert_true(workdays_is_workday("2026-06-05", 0));
	assert_false(workdays_is_workday("2026-06-05", HO_OFF_GRUNDLOVSDAG));
	assert_true(
	    workdays_is_workday("2026-06-05", HO_OFF_JULEAFTENSDAG | HO_OFF_NYTAARSAFTENSDAG));
	check_name("2026-06-05", 0, NULL);
	check_name("2026-06-05", HO_OFF_GRUNDLOVSDAG, "grundlovsdag");
	check_name("2026-12-24", HO_OFF_JULEAFTENSDAG, "juleaftensdag");
	check_name("2026-12-31", HO_OFF_NYTAARSAFTENSDAG, "nytårsaftensdag");
	check_name("2026-12-24", HO_OFF_GRUNDLOVSDAG | HO_OFF_NYTAARSAFTENSDAG, NULL);
	assert_true(
	    workdays_is_workday("2025-12-24", HO_OFF_GRUNDLOVSDAG | HO_OFF_NYTAARSAFTENSDAG));
	assert_false(workdays_is_workday("2025-12-24", HO_OFF_JULEAFTENSDAG));
	/* 2028: 2. pinsedag is 5 June; counted once, named as the public holiday */
	check_name("2028-06-05", HO_OFF_GRUNDLOVSDAG, "2. pinsedag");
	check_between("2028-06-02", "2028-06-06", 0, 1);
	check_between("2028-06-02", "2028-06-06", HO_OFF_GRUNDLOVSDAG, 1);
	/* a year of working days: 2026 has 261 weekdays, 7 holidays on them */
	check_between("2025-12-31", "2026-12-31", 0, 254);
	/* and grundlovsdag, juleaftensdag and nytårsaftensdag are weekdays too */
	check_between("2025-12-31", "2026-12-31", ALL_OFF, 251);
	/* 2023 with store bededag; 2024 without (a leap year) */
	check_between("2022-12-31", "2023-12-31", 0, 252);
	check_between("2023-12-31", "2024-12-31", 0, 254);
}

static void
test_between(void **state)
{
	(void)state;
	/* Easter 2027 (Sunday 28 March): Wednesday to Wednesday, two working days */
	check_between("2027-03-24", "2027-03-31", 0, 2);
	check_between("2027-03-24", "2027-03-30", 0, 1);
	check_between("2027-03-24", "2027-03-29", 0, 0);
	check_between("2027-03-24", "2027-03-25", 0, 0);
	check_between("2027-03-19", "2027-04-02", 0, 7);
	/* Christmas 2026 to the first Monday of 2027 */
	check_between("2026-12-23", "2027-01-04", 0, 6);
	check_between("2026-12-23", "2027-01-04", HO_OFF_JULEAFTENSDAG, 5);
	check_between("2026-12-23", "2027-01-04", ALL_OFF, 4);
	check_between("2026-12-24", "2026-12-28", 0, 1);
	/* the same day, backwards, a weekend */
	check_between("2026-03-02", "2026-03-02", 0, 0);
	check_between("2026-03-10", "2026-03-02", 0, 0);
	check_between("2026-03-06", "2026-03-08", 0, 0);
	check_between("2026-03-06", "2026-03-09", 0, 1);
	/* the counted end is `to`, not `from` */
	check_between("2027-03-26", "2027-03-30", 0, 1);
	/* long spans: the whole range */
	check_between("1900-01-01", "2200-12-31", 0,
	              workdays_between("1900-01-01", "2050-01-01", 0) +
	                  workdays_between("2050-01-01", "2200-12-31", 0));
}

/* The arithmetic count agrees with a walk over each day, for every set of
 * optional days off, across many spans and year ends. */
static void
test_between_matches_walk(void **state)
{
	static const char *const starts[] = {"1900-01-01", "1999-12-20", "2023-03-30",
	                                     "2026-12-20", "2027-03-20", "2028-05-30",
	                                     "2199-12-01", "1969-12-25"};
	(void)state;
	for (unsigned off = 0; off <= ALL_OFF; off++) {
		for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
			long a;
			char from[11], to[11];
			int walked = 0;
			assert_int_equal(workdays_date_days(starts[s], &a), 0);
			assert_int_equal(workdays_date_from_days(a, from), 0);
			assert_string_equal(from, starts[s]);
			for (long b = a + 1; b <= a + 400; b++) {
				if (workdays_date_from_days(b, to) == -1)
					break;
				walked += workdays_is_workday(to, off);
				if (workdays_between(from, to, off) != walked)
					fail_msg("between(%s, %s, %u) = %d, walked %d", from, to,
					         off, workdays_between(from, to, off), walked);
			}
		}
	}
}

static void
test_add(void **state)
{
	(void)state;
	check_add("2027-03-24", 0, 0, "2027-03-24");
	check_add("2027-03-27", 0, 0, "2027-03-27"); /* zero days: the day itself */
	check_add("2027-03-24", 1, 0, "2027-03-30"); /* over Easter */
	check_add("2027-03-24", 2, 0, "2027-03-31");
	check_add("2027-03-24", 5, 0, "2027-04-05");
	check_add("2026-12-23", 1, 0, "2026-12-24");
	check_add("2026-12-23", 1, HO_OFF_JULEAFTENSDAG, "2026-12-28");
	check_add("2026-12-30", 1, 0, "2026-12-31");
	check_add("2026-12-30", 1, ALL_OFF, "2027-01-04");
	check_add("2023-05-04", 1, 0, "2023-05-08"); /* store bededag 2023 */
	check_add("2024-04-25", 1, 0, "2024-04-26"); /* not in 2024 */
	check_add("2024-05-08", 1, 0, "2024-05-10"); /* Kristi himmelfartsdag */
	check_add("2024-05-17", 1, 0, "2024-05-21"); /* 2. pinsedag */
	check_add("2026-06-04", 1, HO_OFF_GRUNDLOVSDAG, "2026-06-08");
	check_add("2026-01-01", 5, 0, "2026-01-08");
	/* add and between agree */
	char out[11];
	for (int n = 0; n < 300; n += 7) {
		assert_int_equal(workdays_add("2026-11-02", n, ALL_OFF, out), 0);
		assert_int_equal(workdays_between("2026-11-02", out, ALL_OFF), n);
		assert_true(n == 0 || workdays_is_workday(out, ALL_OFF));
	}
	check_add("2200-12-30", 1, 0, "2200-12-31");
}

static void
test_bad_input(void **state)
{
	static const char *const bad[] = {
	    "",           "2026-1-01",  "2026-01-1",  "2026/01/01", "2026-01-01x", " 2026-01-01",
	    "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-32", "2026-02-29",  "2024-02-30",
	    "2100-02-29", "1899-12-31", "2201-01-01", "20260101",   "2026-0a-01",  "-026-01-01",
	    "+026-01-01", "2026-04-31", "9999-12-31", "0000-01-01",
	};
	char out[11] = "unchanged";
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long days;
		if (workdays_date_days(bad[i], &days) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_false(workdays_is_workday(bad[i], 0));
		assert_int_equal(workdays_between(bad[i], "2026-01-05", 0), -1);
		assert_int_equal(workdays_between("2026-01-05", bad[i], 0), -1);
		assert_int_equal(workdays_add(bad[i], 1, 0, out), -1);
		assert_null(workdays_holiday_name(bad[i], ALL_OFF));
		assert_int_equal(workdays_quarter_label(bad[i], out), -1);
	}
	assert_false(workdays_is_workday(NULL, 0));
	assert_int_equal(workdays_between(NULL, "2026-01-05", 0), -1);
	/* a bad date is -1 even where the span would be empty */
	assert_int_equal(workdays_between("2026-01-05", "2026-02-30", 0), -1);
	assert_int_equal(workdays_add("2026-01-05", -1, 0, out), -1);
	assert_int_equal(workdays_add("2200-12-31", 1, 0, out), -1);
	assert_int_equal(workdays_add("2026-01-05", 1 << 30, 0, out), -1);
	assert_int_equal(workdays_add("2026-01-05", 80000, 0, out), -1);
	assert_string_equal(out, "unchanged");
	assert_int_equal(workdays_date_from_days(-25568, out), -1); /* 1899-12-31 */
	assert_int_equal(workdays_date_from_days(-25567, out), 0);
	assert_string_equal(out, "1900-01-01");
	assert_int_equal(workdays_date_from_days(0, out), 0);
	assert_string_equal(out, "1970-01-01");
}

static void
test_weekday(void **state)
{
	long d;
	(void)state;
	assert_int_equal(workdays_date_days("1970-01-01", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(clock_weekday(d), 4); /* Thursday */
	assert_int_equal(workdays_date_days("1900-01-01", &d), 0);
	assert_int_equal(clock_weekday(d), 1); /* Monday */
	assert_int_equal(workdays_date_days("2027-03-28", &d), 0);
	assert_int_equal(clock_weekday(d), 7);
	assert_int_equal(workdays_date_days("2200-12-31", &d), 0);
	assert_int_equal(clock_weekday(d), 3); /* Wednesday */
}

static void
test_copenhagen(void **state)
{
	static const struct {
		long long t;
		const char *date;
	} want[] = {
	    {1774737000LL, "2026-03-28"}, /* 2026-03-28T22:30:00Z, CET */
	    {1774821599LL, "2026-03-29"}, /* 2026-03-29T21:59:59Z, CEST */
	    {1774821600LL, "2026-03-30"}, /* 2026-03-29T22:00:00Z */
	    {1782856799LL, "2026-06-30"}, /* 2026-06-30T21:59:59Z */
	    {1782856800LL, "2026-07-01"}, /* 2026-06-30T22:00:00Z: Q3 starts */
	    {1792879199LL, "2026-10-24"}, /* 2026-10-24T21:59:59Z */
	    {1792879200LL, "2026-10-25"}, /* 2026-10-24T22:00:00Z */
	    {1792969199LL, "2026-10-25"}, /* 2026-10-25T22:59:59Z, CET again */
	    {1792969200LL, "2026-10-26"}, /* 2026-10-25T23:00:00Z */
	    {1798757999LL, "2026-12-31"}, /* 2026-12-31T22:59:59Z */
	    {1798758000LL, "2027-01-01"}, /* 2026-12-31T23:00:00Z */
	    {1709161200LL, "2024-02-29"}, /* 2024-02-28T23:00:00Z */
	    {0LL, "1970-01-01"},
	};
	char out[11];
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		clock_date_copenhagen((time_t)want[i].t, out);
		if (strcmp(out, want[i].date) != 0)
			fail_msg("copenhagen(%lld) = %s, want %s", want[i].t, out, want[i].date);
	}
}

static void
test_quarters(void **state)
{
	static const char *const labels[][2] = {
	    {"2026-01-01", "2026-Q1"}, {"2026-03-31", "2026-Q1"}, {"2026-04-01", "2026-Q2"},
	    {"2026-06-30", "2026-Q2"}, {"2026-07-01", "2026-Q3"}, {"2026-09-30", "2026-Q3"},
	    {"2026-10-01", "2026-Q4"}, {"2026-12-31", "2026-Q4"}, {"1900-01-01", "1900-Q1"},
	    {"2200-12-31", "2200-Q4"},
	};
	char q[8], d[11];
	(void)state;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		assert_int_equal(workdays_quarter_label(labels[i][0], q), 0);
		assert_string_equal(q, labels[i][1]);
	}
	assert_int_equal(workdays_quarter_start("2026-07-15", 0, d), 0);
	assert_string_equal(d, "2026-07-01");
	assert_int_equal(workdays_quarter_start("2026-07-15", 4, d), 0);
	assert_string_equal(d, "2025-07-01");
	assert_int_equal(workdays_quarter_start("2026-02-10", 4, d), 0);
	assert_string_equal(d, "2025-01-01");
	assert_int_equal(workdays_quarter_start("2026-02-10", 1, d), 0);
	assert_string_equal(d, "2025-10-01");
	assert_int_equal(workdays_quarter_start("2026-12-31", 3, d), 0);
	assert_string_equal(d, "2026-01-01");
	assert_int_equal(workdays_quarter_start("1900-03-01", 0, d), 0);
	assert_string_equal(d, "1900-01-01");
	assert_int_equal(workdays_quarter_start("1900-03-01", 1, d), -1);
	assert_int_equal(workdays_quarter_start("2026-03-01", -1, d), -1);
	assert_int_equal(workdays_quarter_start("2026-02-30", 0, d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_easter),
	    cmocka_unit_test(test_holidays),
	    cmocka_unit_test(test_christmas_new_year),
	    cmocka_unit_test(test_optional_days_off),
	    cmocka_unit_test(test_between),
	    cmocka_unit_test(test_between_matches_walk),
	    cmocka_unit_test(test_add),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_weekday),
	    cmocka_unit_test(test_copenhagen),
	    cmocka_unit_test(test_quarters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
