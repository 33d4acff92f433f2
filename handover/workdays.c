/*
 * workdays.c: Danish working days, for alerts, reminders and the quality
 * reports' "working days to acceptance".
 *
 * A working day is Monday to Friday and not a public holiday: nytårsdag,
 * skærtorsdag, langfredag, påskedag, 2. påskedag, store bededag (the 4th
 * Friday after Easter, abolished from 2024), Kristi himmelfartsdag,
 * pinsedag, 2. pinsedag, juledag and 2. juledag; nor one of the days many
 * workplaces give off (grundlovsdag, juleaftensdag, nytårsaftensdag) when
 * the caller asks. Everything works on day numbers (days since 1970-01-01,
 * proleptic Gregorian), so no time zone or mktime() is involved, and
 * counting spans is arithmetic on weeks plus a pass over each year's dozen
 * holidays rather than a walk over every day.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "workdays.h"

#define HOLIDAYS_MAX 16 /* 11 public + 3 optional, with room */

struct holiday {
	long days;
	const char *name;
};

static int
parse_ymd(const char *s, int *y, int *m, int *d)
{
	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	if (*y < HO_YEAR_MIN || *y > HO_YEAR_MAX || *m < 1 || *m > 12 || *d < 1 ||
	    *d > clock_month_days(*y, *m))
		return -1;
	return 0;
}

int
workdays_date_days(const char *date, long *days)
{
	int y, m, d;
	if (parse_ymd(date, &y, &m, &d) == -1)
		return -1;
	*days = clock_days_from_civil(y, m, d);
	return 0;
}

int
workdays_date_from_days(long days, char out[11])
{
	int y, m, d;
	if (days < clock_days_from_civil(HO_YEAR_MIN, 1, 1) ||
	    days > clock_days_from_civil(HO_YEAR_MAX, 12, 31))
		return -1;
	clock_civil_from_days(days, &y, &m, &d);
	clock_put_date(out, y, m, d);
	return 0;
}

int
workdays_easter(int year, int *month, int *day)
{
	int a, b, c, d, e, f, g, h, i, k, l, m;

	if (year < HO_YEAR_MIN || year > HO_YEAR_MAX)
		return -1;
	a = year % 19;
	b = year / 100;
	c = year % 100;
	d = b / 4;
	e = b % 4;
	f = (b + 8) / 25;
	g = (b - f + 1) / 3;
	h = (19 * a + b - d - g + 15) % 30;
	i = c / 4;
	k = c % 4;
	l = (32 + 2 * e + 2 * i - h - k) % 7;
	m = (a + 11 * h + 22 * l) / 451;
	*month = (h + l - 7 * m + 114) / 31;
	*day = (h + l - 7 * m + 114) % 31 + 1;
	return 0;
}

/* The year's days off, in date order; returns how many. */
static size_t
year_holidays(int y, unsigned off, struct holiday *h)
{
	int em, ed;
	long easter;
	size_t n = 0;

	if (workdays_easter(y, &em, &ed) == -1)
		return 0;
	easter = clock_days_from_civil(y, em, ed);
	h[n++] = (struct holiday){clock_days_from_civil(y, 1, 1), "nytårsdag"};
	h[n++] = (struct holiday){easter - 3, "skærtorsdag"};
	h[n++] = (struct holiday){easter - 2, "langfredag"};
	h[n++] = (struct holiday){easter, "påskedag"};
	h[n++] = (struct holiday){easter + 1, "2. påskedag"};
	if (y <= 2023)
		h[n++] = (struct holiday){easter + 26, "store bededag"};
	h[n++] = (struct holiday){easter + 39, "Kristi himmelfartsdag"};
	h[n++] = (struct holiday){easter + 49, "pinsedag"};
	h[n++] = (struct holiday){easter + 50, "2. pinsedag"};
	/* Whit Monday can fall on 5 June (2017, 2028): counted once */
	if ((off & HO_OFF_GRUNDLOVSDAG) && easter + 49 != clock_days_from_civil(y, 6, 5) &&
	    easter + 50 != clock_days_from_civil(y, 6, 5))
		h[n++] = (struct holiday){clock_days_from_civil(y, 6, 5), "grundlovsdag"};
	if (off & HO_OFF_JULEAFTENSDAG)
		h[n++] = (struct holiday){clock_days_from_civil(y, 12, 24), "juleaftensdag"};
	h[n++] = (struct holiday){clock_days_from_civil(y, 12, 25), "juledag"};
	h[n++] = (struct holiday){clock_days_from_civil(y, 12, 26), "2. juledag"};
	if (off & HO_OFF_NYTAARSAFTENSDAG)
		h[n++] = (struct holiday){clock_days_from_civil(y, 12, 31), "nytårsaftensdag"};
	return n;
}

static const char *
holiday_of(long days, unsigned off)
{
	struct holiday h[HOLIDAYS_MAX];
	int y, m, d;
	size_t n;

	clock_civil_from_days(days, &y, &m, &d);
	n = year_holidays(y, off, h);
	for (size_t i = 0; i < n; i++)
		if (h[i].days == days)
			return h[i].name;
	return NULL;
}

static bool
workday(long days, unsigned off)
{
	return clock_weekday(days) <= 5 && holiday_of(days, off) == NULL;
}

const char *
workdays_holiday_name(const char *date, unsigned off)
{
	long days;
	if (workdays_date_days(date, &days) == -1)
		return NULL;
	return holiday_of(days, off);
}

/* The optional days off of `days_off` as HO_OFF_* bits; -1 on an unknown word. */
int
workdays_days_off(const char *list, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} days[] = {{"grundlovsdag", HO_OFF_GRUNDLOVSDAG},
	            {"juleaftensdag", HO_OFF_JULEAFTENSDAG},
	            {"nytaarsaftensdag", HO_OFF_NYTAARSAFTENSDAG}};
	char word[32];
	*out = 0;
	while (list && *list) {
		size_t n = strcspn(list, " ,\t");
		bool ok = false;
		if (n > 0) {
			if (n >= sizeof(word))
				return -1;
			memcpy(word, list, n);
			word[n] = '\0';
			for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++)
				if (strcmp(word, days[i].name) == 0) {
					*out |= days[i].bit;
					ok = true;
				}
			if (!ok)
				return -1;
		}
		list += n;
		list += strspn(list, " ,\t");
	}
	return 0;
}

int
workdays_check_days_off(const char *v, char *why, size_t n)
{
	unsigned off;

	if (workdays_days_off(v, &off) == 0)
		return 0;
	snprintf(why, n, "only grundlovsdag, juleaftensdag and nytaarsaftensdag may be named");
	return -1;
}

bool
workdays_is_workday(const char *date, unsigned off)
{
	long days;
	return workdays_date_days(date, &days) == 0 && workday(days, off);
}

/* Monday to Friday among the day numbers before `days`, counted from a
 * Monday (1970-01-05); only differences of it mean anything. */
static long
weekdays_before(long days)
{
	long n = days - 4;
	long r = n - clock_floor_div(n, 7) * 7;
	return clock_floor_div(n, 7) * 5 + (r < 5 ? r : 5);
}

int
workdays_between(const char *from, const char *to, unsigned off)
{
	long a, b, n;
	int ya, yb, m, d;

	if (workdays_date_days(from, &a) == -1 || workdays_date_days(to, &b) == -1)
		return -1;
	if (b <= a)
		return 0;
	n = weekdays_before(b + 1) - weekdays_before(a + 1);
	clock_civil_from_days(a, &ya, &m, &d);
	clock_civil_from_days(b, &yb, &m, &d);
	for (int y = ya; y <= yb; y++) {
		struct holiday h[HOLIDAYS_MAX];
		size_t nh = year_holidays(y, off, h);
		for (size_t i = 0; i < nh; i++)
			if (h[i].days > a && h[i].days <= b && clock_weekday(h[i].days) <= 5)
				n--;
	}
	return (int)n;
}

int
workdays_add(const char *date, int days, unsigned off, char out[11])
{
	long at, last = clock_days_from_civil(HO_YEAR_MAX, 12, 31);

	if (days < 0 || workdays_date_days(date, &at) == -1)
		return -1;
	if ((long)days > last - at)
		return -1; /* past HO_YEAR_MAX whatever the holidays */
	while (days > 0) {
		if (++at > last)
			return -1;
		if (workday(at, off))
			days--;
	}
	return workdays_date_from_days(at, out);
}

int
workdays_quarter_label(const char *date, char out[8])
{
	char buf[11];
	int y, m, d;
	if (parse_ymd(date, &y, &m, &d) == -1)
		return -1;
	clock_put_date(buf, y, m, d);
	memcpy(out, buf, 5);
	out[5] = 'Q';
	out[6] = (char)('1' + (m - 1) / 3);
	out[7] = '\0';
	return 0;
}

int
workdays_quarter_start(const char *date, int back, char out[11])
{
	int y, m, d, q;
	if (back < 0 || back > 4 * (HO_YEAR_MAX - HO_YEAR_MIN + 1) ||
	    parse_ymd(date, &y, &m, &d) == -1)
		return -1;
	q = y * 4 + (m - 1) / 3 - back;
	if (q / 4 < HO_YEAR_MIN)
		return -1;
	clock_put_date(out, q / 4, q % 4 * 3 + 1, 1);
	return 0;
}
