/*
 * fuzz_cpr.c: the CPR number and date code: dir_citizen_birthdate()
 * (directory/resolve.c), clock_date_valid() (daemon/clock.c), note_cpr_mask() (handover/note.c),
 * checks_note_birthdate(), checks_age_on() and checks_date_add_months()
 * (handover/checks.c). Held against a reference written from the CPR
 * office's century table, and to: a masked number never shows the last
 * four digits, months added and taken away again give the date back
 * (unless the day was clamped), a birthday N years on makes one N.
 */
#include <ctype.h>

#include "fuzz_common.h"
#include "stafetd.h"
#include "resolve.h"
#include "checks.h"
#include "handover.h"

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* The CPR office's table: the 7th digit and the year give the century. */
static int
ref_cpr(const char *s, size_t len, char out[11])
{
	char d[10];
	size_t n = 0;

	if (len != 10 && len != 11)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (len == 11 && i == 6) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d[n++] = s[i];
	}
	int dd = (d[0] - '0') * 10 + d[1] - '0', mm = (d[2] - '0') * 10 + d[3] - '0';
	int yy = (d[4] - '0') * 10 + d[5] - '0', c7 = d[6] - '0', year;
	if (c7 <= 3)
		year = 1900 + yy;
	else if (c7 == 4 || c7 == 9)
		year = yy <= 36 ? 2000 + yy : 1900 + yy;
	else
		year = yy <= 57 ? 2000 + yy : 1800 + yy;
	if (mm < 1 || mm > 12 || dd < 1 || dd > mdays(year, mm))
		return -1;
	snprintf(out, 11, "%04d-%02d-%02d", year, mm, dd);
	return 0;
}

static bool
ref_date(const char *s, size_t len, int *y, int *m, int *d)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	*y = atoi(s);
	*m = (s[5] - '0') * 10 + s[6] - '0';
	*d = (s[8] - '0') * 10 + s[9] - '0';
	return *y >= 1800 && *y <= 2199 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= mdays(*y, *m);
}

static void
check_mask(const char *s)
{
	char out[12];
	memset(out, '!', sizeof(out));
	note_cpr_mask(s, out);
	FUZZ_ASSERT(strlen(out) == 11);
	FUZZ_ASSERT(strcmp(out + 6, "-XXXX") == 0);
	if (strncmp(out, "XXXXXX", 6) != 0) {
		FUZZ_ASSERT(strncmp(out, s, 6) == 0);
		for (int i = 0; i < 6; i++)
			FUZZ_ASSERT(isdigit((unsigned char)out[i]));
	}
}

static void
check_dates(const char *a, const char *b, int months)
{
	int y, m, d, y2, m2, d2;
	bool va = ref_date(a, strlen(a), &y, &m, &d), vb = ref_date(b, strlen(b), &y2, &m2, &d2);
	FUZZ_ASSERT(clock_date_valid(a, strlen(a)) == va);
	int age = checks_age_on(a, b);
	if (!va || !vb) {
		FUZZ_ASSERT(age == -1);
	} else {
		int ref = y2 - y - (m2 < m || (m2 == m && d2 < d));
		FUZZ_ASSERT(age == (ref < 0 ? -1 : ref));
	}
	char out[11], back[11];
	if (checks_date_add_months(a, months, out) == 0) {
		FUZZ_ASSERT(va);
		FUZZ_ASSERT(clock_date_valid(out, strlen(out)));
		int oy, om, od;
		FUZZ_ASSERT(ref_date(out, 10, &oy, &om, &od));
		FUZZ_ASSERT(oy * 12 + om - (y * 12 + m) == months);
		FUZZ_ASSERT(od == (d < mdays(oy, om) ? d : mdays(oy, om)));
		FUZZ_ASSERT(checks_date_add_months(out, -months, back) == 0);
		if (d <= 28)
			FUZZ_ASSERT(strcmp(back, a) == 0);
		if (months >= 0 && months % 12 == 0) {
			int k = months / 12, got = checks_age_on(a, out);
			FUZZ_ASSERT(got == k || (got == k - 1 && m == 2 && d == 29));
		}
	} else if (va) {
		/* only a year outside 1800-2199 or a huge step is refused */
		long total = (long)y * 12 + (m - 1) + months;
		FUZZ_ASSERT(months < -4800 || months > 4800 || total / 12 < 1800 ||
		            total / 12 > 2199);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char got[11], ref[11];
	const char *why = (const char *)1;

	/* the whole input as a CPR number (NULs included) */
	int rc = dir_citizen_birthdate((const char *)data, size, got, &why);
	FUZZ_ASSERT(rc == ref_cpr((const char *)data, size, ref));
	if (rc == 0) {
		FUZZ_ASSERT(why == NULL);
		FUZZ_ASSERT(strcmp(got, ref) == 0);
		FUZZ_ASSERT(clock_date_valid(got, strlen(got)));
	} else {
		FUZZ_ASSERT(why != NULL && strstr(why, "CPR-nummeret") != NULL);
	}
	check_mask(s);

	/* a note's citizen: birthdate wins when it is a date, else the CPR number */
	size_t half = strlen(s) / 2;
	char *cpr = strndup(s, half), *born = strdup(s + half);
	json_t *note = json_pack("{s:{}}", "citizen");
	json_t *c = json_object_get(note, "citizen");
	json_object_set_new(c, "cpr", json_stringn_nocheck(cpr, strlen(cpr)));
	json_object_set_new(c, "birthdate", json_stringn_nocheck(born, strlen(born)));
	char nb[11];
	rc = checks_note_birthdate(note, nb);
	if (clock_date_valid(born, strlen(born))) {
		FUZZ_ASSERT(rc == 0 && strcmp(nb, born) == 0);
	} else if (ref_cpr(cpr, strlen(cpr), ref) == 0) {
		FUZZ_ASSERT(rc == 0 && strcmp(nb, ref) == 0);
	} else {
		FUZZ_ASSERT(rc == -1);
	}
	json_decref(note);

	/* two dates and a number of months */
	int months = 0;
	if (size >= 4)
		memcpy(&months, data + size - 4, 4);
	months %= 6000;
	check_dates(cpr, born, months);
	if (size >= 20) {
		char a[11], b[11];
		memcpy(a, data, 10);
		a[10] = '\0';
		memcpy(b, data + 10, 10);
		b[10] = '\0';
		check_dates(a, b, months);
	}
	free(cpr);
	free(born);
	free(s);
	return 0;
}
