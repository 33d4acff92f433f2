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
#include <stdint.h>

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

/*
 * The steps that settle equal colleagues (API.md "Counterparts: one
 * answer"), in the order a route gives them (rules.tie_break).
 */
enum resolve_step { STEP_CONTINUITY = 0, STEP_LOAD = 1, STEP_ROTATION = 2 };

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
	/* rules.ages: the citizen's age window on the lookup's date */
	bool has_ages;
	int age_min, age_max;
	/* rules.tie_break; none: continuity, load, rotation. Rotation always
	 * decides last (added when missing). */
	enum resolve_step tie_break[3];
	size_t ntie_break;
	/* rules.intake: new cases go to the unit's intake (mailbox and lead);
	 * a colleague who already received a note for the citizen still takes
	 * it when continuity is a step */
	bool intake;
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
	bool from_cpr;   /* the birth date came from a CPR number */
	/* Seeds the rotation: from the CPR number's key (see the API's
	 * counterparts handler), 0 when there is none (the birth date does). */
	uint64_t citizen_seed;
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
int dir_resolve_render(const struct dir_snapshot *, const struct resolve_route *,
                       const struct resolve_facts *, json_t *more, json_t **problem,
                       struct evbuffer *b);

struct evbuffer;

/*
 * One lookup in two halves, for a caller that fetches what settles a tie
 * (open notes per colleague, and who received a note for this citizen)
 * from PostgreSQL between them without blocking:
 *
 *   res = dir_resolution_begin(s, r, f, &problem);   ranks, finds the tie
 *   n = dir_resolution_wants(res, ids, max);         whose data would settle it
 *   dir_resolution_data(res, load, continuity);      which data came
 *   dir_resolution_set(res, id, open, received);     one colleague's
 *   dir_resolution_render(res, more, b);             the answer; frees res
 *
 * The snapshot must stay alive between the halves (dir_snapshot_ref); the
 * route and facts are read in begin only (nothing is kept that points into
 * them). Without data the steps that need it are passed over; rotation
 * always decides. Notices (DESIGN.md "Notices") are not there yet: when
 * they are, the caller counts them with the notes in `open` and `received`
 * and nothing here changes.
 */
struct dir_resolution;
/* NULL with *problem set as dir_resolve. The caller owns the result. */
struct dir_resolution *dir_resolution_begin(const struct dir_snapshot *,
                                            const struct resolve_route *,
                                            const struct resolve_facts *, json_t **problem);
/* The ids (borrowed from the snapshot) of the colleagues whose load and
 * continuity would settle the answer, at most max; 0: no data needed. */
size_t dir_resolution_wants(const struct dir_resolution *, const char **ids, size_t max);
/* Whether the route's steps use load / continuity at all. */
bool dir_resolution_uses(const struct dir_resolution *, enum resolve_step);
/* Which data came: load (open counts) and continuity (earlier receipts). */
void dir_resolution_data(struct dir_resolution *, bool load, bool continuity);
/* One colleague's data: open notes; received: when they last received a
 * note for this citizen (a sortable timestamp, "YYYY-MM-DDTHH:MM:SS...")
 * or NULL. An id not wanted is ignored. */
void dir_resolution_set(struct dir_resolution *, const char *id, int open, const char *received);
/* The same, looking first at the nth id dir_resolution_wants gave. */
void dir_resolution_set_nth(struct dir_resolution *, size_t nth, const char *id, int open,
                            const char *received);
/* A warning (Danish) added to the answer's "warnings". */
void dir_resolution_warn(struct dir_resolution *, const char *);
/* The answer as dir_resolve gives it; frees res. */
json_t *dir_resolution_json(struct dir_resolution *);
/* The answer as dir_resolve_render writes it; frees res and consumes more. */
void dir_resolution_render(struct dir_resolution *, json_t *more, struct evbuffer *b);
void dir_resolution_free(struct dir_resolution *);

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
