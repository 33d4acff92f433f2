/*
 * workdays.h: calendar arithmetic beyond handover.h's working days: day
 * numbers, Easter, the names of Danish holidays, quarters and the median the
 * quality reports need (the civil calendar and Copenhagen's time are
 * daemon/clock.c's). Pure
 * functions: no allocation, no time zone, no global state. Dates are
 * "YYYY-MM-DD" with years 1900-2200; anything else is a bad date.
 */
#ifndef HO_WORKDAYS_H
#define HO_WORKDAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define HO_YEAR_MIN 1900
#define HO_YEAR_MAX 2200

/* Days since 1970-01-01 of a well-formed date; 0 or -1. */
int workdays_date_days(const char *date, long *days);
/* The date of a day number, within HO_YEAR_MIN..HO_YEAR_MAX; 0 or -1. */
int workdays_date_from_days(long days, char out[11]);
/* Easter Sunday of a year (anonymous Gregorian algorithm); 0 or -1. */
int workdays_easter(int year, int *month, int *day);
/* The Danish name of the day off `date` is ("påskedag", "2. juledag",
 * "grundlovsdag" when HO_OFF_GRUNDLOVSDAG is in `off`, ...), whatever the
 * weekday; NULL for an ordinary day or a bad date. Static storage. */
const char *workdays_holiday_name(const char *date, unsigned off);
/* The optional days off the `days_off` key names, as HO_OFF_* bits; 0, or
 * -1 on a word that is none of them. */
int workdays_days_off(const char *list, unsigned *out) __attribute__((warn_unused_result));
/* The `days_off` key's check (app/config_keys.c's table). */
int workdays_check_days_off(const char *value, char *why, size_t whysize);

/* Quarter label of a date: "2026-Q3"; 0 or -1. */
int workdays_quarter_label(const char *date, char out[8]);
/* The first day of the quarter `back` quarters before the date's own
 * (0: its own quarter); 0 or -1 (bad date, or before HO_YEAR_MIN). */
int workdays_quarter_start(const char *date, int back, char out[11]);

#endif
