/*
 * resolve.h: counterpart resolution (DESIGN.md "Finding the counterpart"):
 * for a route and a few facts about a citizen, the receiving unit and its
 * caseworkers ranked by the allocation rules in the directory, with
 * deputies for the absent, a fallback (mailbox and lead) and a Danish
 * reason for each answer. Pure: reads a snapshot, does no I/O, keeps
 * nothing (a CPR number given is never stored or logged).
 */
#ifndef RESOLVE_H
#define RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "directory.h"

/* The citizen's relation to the labour market (the myndighedssnit). */
enum resolve_employment {
	EMP_UNKNOWN = 0,
	EMP_JOB,
	EMP_EDUCATION,
	EMP_EMPLOYMENT_CASE,
	EMP_EDUCATION_CASE,
	EMP_PENSION_ASSESSMENT,
	EMP_DISABILITY_PENSION,
	EMP_OLD_AGE_PENSION,
};

/* What resolution needs of a route (the routes table, see routes.c). */
struct resolve_route {
	const char *code;      /* "BUR-UR" */
	const char *name;      /* Danish */
	const char *from_unit; /* unit code, or NULL: any unit */
	const char *to_unit;   /* unit code, or NULL: the KLE number decides */
	const char *kle;       /* KLE number the route is about, or NULL */
	/* Allocation kinds considered ("birthday", "surname", "district",
	 * "target_group"); none: all kinds. */
	const char *const *allocation;
	size_t nallocation;
	/* The target group a placed citizen belongs to (e.g. "anbragt"): a
	 * placed citizen counts as in it, a citizen known not to be placed
	 * as not in it. NULL: placement says nothing. */
	const char *placed_target_group;
	/* The myndighedssnit: the department codes holding the labour-market
	 * side (job, education, their cases, pension assessment) and the
	 * pension side (disability or old-age pension granted). Both NULL:
	 * the route has no myndighedssnit. */
	const char *labour_market_department;
	const char *pension_department;
};

struct resolve_facts {
	char birthdate[11];       /* YYYY-MM-DD, "" unknown (from a CPR number or given) */
	const char *surname;      /* or NULL */
	const char *district;     /* or NULL */
	const char *target_group; /* or NULL */
	int placed;               /* -1 unknown, 0 no, 1 yes */
	enum resolve_employment employment;
	const char *kle; /* from the request; overrides the route's; or NULL */
	char date[11];   /* the day that decides who is absent (YYYY-MM-DD) */
	int caller;      /* person index of the caller, or DIR_NONE */
};

/*
 * Resolves; returns the body of a 200 answer for POST /counterparts (see
 * API.md) without "directory", or NULL with *problem set to a 422 problem
 * document (RFC 9457, Danish detail, "errors" naming the field) when the
 * route leads nowhere (e.g. the generic route without a KLE number, or a
 * KLE number no unit holds).
 */
json_t *dir_resolve(const struct dir_snapshot *, const struct resolve_route *,
                    const struct resolve_facts *, json_t **problem);

/*
 * The same answer written to b as JSON, each candidate's person copied from
 * the snapshot's pre-rendered JSON instead of built (the HTTP handler's
 * way: a fraction of the allocations). The members of `more` (consumed)
 * are added to the answer. Returns 0, or -1 with *problem set as above.
 */
struct evbuffer;
int dir_resolve_render(const struct dir_snapshot *, const struct resolve_route *,
                       const struct resolve_facts *, json_t *more, json_t **problem,
                       struct evbuffer *b);

/*
 * CPR numbers: "DDMMYY-SSSS" or "DDMMYYSSSS" (ASCII digits, the hyphen
 * optional). The century comes from the 7th digit (0-3: 1900s; 4 and 9:
 * 2000s for years 00-36, else 1900s; 5-8: 2000s for 00-57, else 1800s).
 * The date must exist; modulus 11 is not checked (numbers issued since
 * 2007 need not satisfy it). Writes YYYY-MM-DD and returns 0, or returns
 * -1 with *why set to a Danish message.
 */
int dir_citizen_birthdate(const char *cpr, size_t len, char out[11], const char **why);

/* Parses an employment_status value of API.md; EMP_UNKNOWN if not one. */
enum resolve_employment dir_citizen_employment_parse(const char *);

#endif
