/*
 * handover.h: routes (the handover paths between units, as data in
 * PostgreSQL) and the counterpart API built on them.
 */
#ifndef HANDOVER_H
#define HANDOVER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "resolve.h"
#include "checks.h"

struct event_base;
struct config;
struct http_request;
struct evbuffer;

/* One route, as loaded and checked. */
struct ho_route {
	char *code, *name, *from_unit, *to_unit, *template, *kle;
	int template_version;
	bool enabled;
	json_t *rules; /* as stored */
	char **allocation;
	size_t nallocation;
	char *placed_target_group;
	char *labour_market, *pension; /* the myndighedssnit's departments */
	/* rules.reminders; 0: the configured default */
	int undecided_days, returned_days, draft_days;
	int months_before_18[4];
	size_t nmonths_before_18;
	/* rules.ages: the citizen's age window on the lookup's date; -1: none */
	int age_min, age_max;
	/* rules.tie_break: the steps that settle equal colleagues, in order
	 * (enum resolve_step); rotation always ends the list */
	int tie_break[3];
	size_t ntie_break;
	bool intake; /* rules.intake: new cases go to the unit's intake */
};

struct ho_template;

/* The routes and templates in force: immutable once published. */
struct ho_route_set {
	int refs;
	struct ho_route *v;
	size_t n;
	struct ho_template **templates;
	size_t ntemplates;
	double loaded_at; /* wall clock */
};

/* routes.c */
#define HO_ROUTE_KINDS "birthday, surname, district, target_group"
/* Fills the route from doc (borrowed): it owns copies of the strings and a
 * reference of its own to doc's "rules"; release with routes_clear().
 * On -1 (err says why) nothing is left to release. */
int routes_from_json(json_t *doc, struct ho_route *, char *err, size_t errsz) WUR;
/* Frees what the route owns and zeroes it; not the struct itself. */
void routes_clear(struct ho_route *);
/* A new object the caller owns; it holds its own reference to the rules. */
json_t *routes_to_json(const struct ho_route *);
/* Fills the view with pointers into the route: valid while the route is. */
void routes_resolve_view(const struct ho_route *, struct resolve_route *);
/* Borrowed from the set (valid while the set is); NULL if none. */
const struct ho_route *routes_find(const struct ho_route_set *, const char *code);
/* Borrowed: valid until the loop runs again; NULL before the first load. */
struct ho_route_set *routes_current(void);
/* Loads the routes at start, every routes_reload_interval and on
 * routes_reload (SIGHUP); c is read, not kept; stop frees the sets. */
void routes_start(struct event_base *, const struct config *);
void routes_reconfigure(const struct config *);
void routes_reload(void);
void routes_stop(void);
/* Migration seeds: the shipped routes and templates into their tables on
 * the caller's connection, in the caller's transaction. 0 or -1. */
int routes_seed(PGconn *) WUR;
int routes_templates_seed(PGconn *) WUR;
/* Borrowed from the set (valid while the set is); NULL if not loaded. */
const struct ho_template *routes_template_find(const struct ho_route_set *, const char *code,
                                               int version);
/* The file names are borrowed; 0 or -1. */
int routes_import(const struct config *, char *const *files, int nfiles) WUR;
/* Writes the routes as JSON to standard output; 0 or -1. */
int routes_export(const struct config *) WUR;
/* Appends the routes' metrics to b (copied). */
void routes_metrics_render(struct evbuffer *b);

/* access.c: need to know. A note's sending and receiving units (the units
 * themselves: the people placed in them, and their leads) see and act for
 * their side; the receiving side once it was first submitted. Leads of a
 * unit above either read it masked and may not act (HO_ACCESS_READ);
 * everyone else sees nothing (0: answer 404). */
#define HO_ACCESS_SENDER   (1u << 0)
#define HO_ACCESS_RECEIVER (1u << 1)
#define HO_ACCESS_BOTH     (HO_ACCESS_SENDER | HO_ACCESS_RECEIVER)
#define HO_ACCESS_READ     (1u << 2)
/* Whether unit is top or below it (by index, or by code); reads only. */
bool access_unit_within(const struct dir_snapshot *, int unit, int top);
bool access_unit_code_within(const struct dir_snapshot *, const char *code, const char *top);
/* Placed in the unit itself, or its lead. */
bool access_member_of(const struct dir_snapshot *, int person, const char *unit_code);
/* Leads a unit strictly above the unit. */
bool access_leads_above(const struct dir_snapshot *, int person, const char *unit_code);
/* The HO_ACCESS_* bits of a person for a row of handover_json(). */
unsigned access_of_note(const struct dir_snapshot *, int person, const json_t *row);
unsigned access_of_units(const struct dir_snapshot *, int person, const char *sender_unit,
                         const char *receiver_unit, bool submitted);
/* "sender", "receiver", "both" or "read": the API's `access`. */
const char *access_name(unsigned access);
/* The units whose notes a person may find in lists and reports: their own
 * unit, the units they lead and every unit below those. */
size_t access_visible_units(const struct dir_snapshot *, int person, int *out, size_t max);
/* The same as a PostgreSQL text[] literal; the caller frees it. */
char *access_visible_units_array(const struct dir_snapshot *, int person);

/* workdays.c: Danish working days: not Saturday or Sunday, not a public
 * holiday (computed from Easter; Store Bededag up to and including 2023),
 * nor one of the optional days off in `off`. Dates are YYYY-MM-DD. */
#define HO_OFF_GRUNDLOVSDAG     (1u << 0) /* 5 June */
#define HO_OFF_JULEAFTENSDAG    (1u << 1) /* 24 December */
#define HO_OFF_NYTAARSAFTENSDAG (1u << 2) /* 31 December */
bool workdays_is_workday(const char *date, unsigned off);
/* Working days after `from` up to and including `to` (0 when to <= from);
 * -1 on a bad date. */
int workdays_between(const char *from, const char *to, unsigned off);
/* The date `days` working days after `date` (days >= 0); 0 or -1. */
int workdays_add(const char *date, int days, unsigned off, char out[11]);

/* routes.c */
/* Borrowed from the set, enabled or not; NULL if none. */
const struct ho_route *routes_find_any(const struct ho_route_set *, const char *code);

/* note.c */
/* {"id", "display_name"}: a new object (json null for a NULL id) the caller
 * owns; id is copied. */
json_t *note_person_ref(const struct dir_snapshot *, const char *id);
/* A note's flags (handover_flags_json()) as the API shows them. */
json_t *note_render_flags(const json_t *flags, const struct dir_snapshot *);
/* Writes the masked CPR number into the caller's out. */
void note_cpr_mask(const char *cpr, char out[12]);
/* "Mette Hansen" -> "M. H.": the name a masked reader sees. */
void note_name_initials(const char *name, char *out, size_t size);
/* The API's Handover for a caller with the HO_ACCESS_* bits `access`
 * (HO_ACCESS_READ: CPR masked and the name as initials whatever full_cpr
 * says); the caller owns it. */
json_t *note_render(const json_t *row, const struct dir_snapshot *, unsigned access, bool full_cpr,
                    bool with_body);
/* The addresses of an alert's audience (borrowed) on day: a new array the
 * caller owns. */
json_t *note_recipients(const struct dir_snapshot *, const json_t *audience, const char *day);
/* An outbox entry: a new object the caller owns. Steals the reference to
 * audience (the entry holds it: do not decref it after the call); event is
 * copied. */
json_t *note_alert(const struct dir_snapshot *, const char *event, json_t *audience);

#endif
