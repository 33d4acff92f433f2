/*
 * citizen.c: the citizen's facts as a request gives them: the birth date in
 * a CPR number (the number itself is never kept: the copy is wiped) and the
 * employment status. Declared in resolve.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"

static int
digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
dir_citizen_birthdate(const char *cpr, size_t len, char out[11], const char **why)
{
	char d[10];
	int dd, mm, yy, seventh, year;
	size_t n = 0;

	*why = "CPR-nummeret skal have 10 cifre.";
	if (cpr == NULL || (len != 10 && len != 11))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (len == 11 && i == 6) {
			if (cpr[i] != '-')
				return -1;
			continue;
		}
		if (!isdigit((unsigned char)cpr[i]))
			return -1;
		d[n++] = cpr[i];
	}
	dd = digits(d, 2);
	mm = digits(d + 2, 2);
	yy = digits(d + 4, 2);
	seventh = d[6] - '0';
	if (seventh <= 3)
		year = 1900 + yy;
	else if (seventh == 4 || seventh == 9)
		year = (yy <= 36 ? 2000 : 1900) + yy;
	else
		year = (yy <= 57 ? 2000 : 1800) + yy;
	if (mm < 1 || mm > 12 || dd < 1 || dd > clock_month_days(year, mm)) {
		explicit_wipe(d, sizeof(d));
		*why = "CPR-nummeret indeholder ikke en gyldig dato.";
		return -1;
	}
	snprintf(out, 11, "%04u-%.2s-%.2s", (unsigned)year % 10000u, d + 2, d);
	explicit_wipe(d, sizeof(d)); /* the copy of the number goes too */
	*why = NULL;
	return 0;
}

enum resolve_employment
dir_citizen_employment_parse(const char *s)
{
	static const struct {
		const char *name;
		enum resolve_employment e;
	} tab[] = {
	    {"job", EMP_JOB},
	    {"education", EMP_EDUCATION},
	    {"employment_case", EMP_EMPLOYMENT_CASE},
	    {"education_case", EMP_EDUCATION_CASE},
	    {"pension_assessment", EMP_PENSION_ASSESSMENT},
	    {"disability_pension", EMP_DISABILITY_PENSION},
	    {"old_age_pension", EMP_OLD_AGE_PENSION},
	};

	if (s == NULL)
		return EMP_UNKNOWN;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].name) == 0)
			return tab[i].e;
	return EMP_UNKNOWN;
}
