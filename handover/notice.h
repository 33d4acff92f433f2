/*
 * notice.h: notices (varsler): the milestones of a route as data, their due
 * dates, who sees a notice, and a notice as the API shows it (notice.c).
 */
#ifndef HO_NOTICE_H
#define HO_NOTICE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct dir_snapshot;
struct ho_route;

#define NOTICE_MILESTONES_MAX 12
/* The working days before the expected date by which the note should be
 * sent (the milestone "notat_sendt" every route has). */
#define NOTICE_NOTE_WORKDAYS 10

/* rules.milestones (borrowed; NULL is none): a list of at most
 * NOTICE_MILESTONES_MAX {"key", "label", "law"?, "from": "birthdate" |
 * "expected_date", "months": -600..600, "workdays"?: -60..60}; the keys
 * unique and not one of the two every route has. 0, or -1 with err. */
int notice_milestones_check(const json_t *list, char *err, size_t errsz);

/* The due date of a rule: `from` plus `months` (a day past the end of the
 * month falls on its last day: 29 February on 28 February in other years),
 * plus `workdays` working days (negative: before); a day that is no
 * working day then moves to the working day before it (a deadline is never
 * later than the law's). 0, or -1 on a bad date. */
int notice_due(const char *from, int months, int workdays, unsigned off, char out[11]);

/* The milestones of a notice (a row of notice_json(), borrowed) on route r
 * (may be NULL: only the two every route has): a new array the caller
 * owns, earliest due first. */
json_t *notice_milestones(const struct ho_route *r, const json_t *row, unsigned off);

/* Need to know for a notice, as for a note (HO_ACCESS_* bits): the members
 * and leads of the sending and receiving units each for their side, the
 * leads of units above either read it masked, everyone else nothing. */
unsigned notice_access(const struct dir_snapshot *, int person, const json_t *row);

/* The API's Notice for a caller with the HO_ACCESS_* bits `access`: the
 * CPR number whole only when full_cpr and not a reader's (HO_ACCESS_READ:
 * the name as initials too). A new object the caller owns. */
json_t *notice_render(const json_t *row, const struct dir_snapshot *, const struct ho_route *r,
                      unsigned access, bool full_cpr, unsigned off);

#endif
