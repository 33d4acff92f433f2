/*
 * checks.h: handover templates (the JSON files in schema/templates/, their
 * format in schema/templates/README.md) and the quality checks of DESIGN.md run
 * against a note. Pure: no I/O but template_load(), nothing kept
 * between calls, and no personal data in any message it writes.
 */
#ifndef HO_CHECKS_H
#define HO_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define HO_WUR __attribute__((warn_unused_result))

struct dir_snapshot;
struct ho_template; /* opaque: a parsed, validated template */

/* template.c */

/*
 * Parses and validates a template document. The document is not stolen:
 * the template keeps a deep copy. NULL with `err` filled (English, for
 * operators) on any error: an unknown field or kind, a duplicate key or
 * check id, a required_if naming an unknown section, and so on.
 */
struct ho_template *template_parse(json_t *doc, char *err, size_t errsz) HO_WUR;
/* Reads and parses a template file; NULL with `err` filled. */
struct ho_template *template_load(const char *path, char *err, size_t errsz) HO_WUR;
void template_free(struct ho_template *); /* NULL is a no-op */
const char *template_code(const struct ho_template *);
int template_version_of(const struct ho_template *);
const char *template_name(const struct ho_template *);
const char *template_id_prefix(const struct ho_template *);
/* Borrowed: the document as loaded, for GET /templates/{route}. */
json_t *template_json(const struct ho_template *);
bool template_has_section(const struct ho_template *, const char *key);
/* The section's Danish label; NULL when the template (NULL too) has no such section. */
const char *template_section_label(const struct ho_template *, const char *key);

/*
 * Checks the shape of a note's "sections" object against the template.
 * Returns 0 when fine; 400 for structure errors (not an object, unknown
 * section key, wrong JSON type, unknown field in an item or object, too
 * many items, null where not allowed) and 422 for value errors (a date
 * that does not exist, a choice not among the options, an area or basis
 * not known, an empty_reason the section does not allow, text over its
 * max_length). Each error is added to `problem` with
 * json_problem_add_error(problem, "sections.<key>[.<index>][.<field>]",
 * code, Danish message); codes: unknown, type, too_many, too_long,
 * invalid, not_allowed. At most 200 errors are added. When both kinds
 * occur, 400 wins. The caller sets the problem's status from the return.
 * A null section value is accepted only when `allow_null` (a PATCH
 * removing the section).
 */
int checks_sections_validate(const struct ho_template *, const json_t *sections, bool allow_null,
                             json_t *problem) HO_WUR;

/* checks.c */

struct ho_check_ctx {
	const struct ho_template *tmpl;
	/* {"citizen": {"cpr", "name", "birthdate"}, "planned_date",
	 * "receiver": {"unit", "person"}, "sections": {...}}; any part may be
	 * missing or null. receiver.unit is a unit code (or {"code"}),
	 * receiver.person a person id (or {"id"}). */
	const json_t *note;
	const struct dir_snapshot *dir;       /* NULL: directory checks are skipped */
	const char *receiving_department;     /* department code of the receiving unit, or NULL */
	const char *labour_market_department; /* from the route's myndighedssnit rule, or NULL */
	const char *pension_department;
	char today[11]; /* YYYY-MM-DD */
	bool submit;    /* true: the checks a submit is judged by */
};

/*
 * Runs every check. Returns a new JSON array of results, each
 * {"id", "severity", "section", "passed", "message"}: first
 * "<prefix>.citizen.required" and "<prefix>.planned_date.required", then
 * each required section's "<prefix>.<key>.required" in template order,
 * then the template's checks in their order, then one
 * "<prefix>.<key>.similar" warning for each group of sections whose texts
 * are near-identical (with "sections": the group's keys). The message
 * states a fact when the result passes and what to do when it fails. A
 * section's content checks are left out while its required check fails,
 * so each problem is listed once. *completeness gets
 * floor(100 * passed / listed) (100 when none is listed), *failed_errors
 * the number of failed error-severity results. Either pointer may be NULL.
 */
json_t *checks_run(const struct ho_check_ctx *, int *completeness, int *failed_errors);

/*
 * Age in whole years on `date` of someone born on `birthdate` (both
 * YYYY-MM-DD); -1 on bad input or a date before the birth. Leap-day
 * birthdays turn a year older on 1 March in non-leap years.
 */
int checks_age_on(const char *birthdate, const char *date);

/* date + months (may be negative), the day clamped to the month's end,
 * as YYYY-MM-DD into out. 0, or -1 on bad input or a year out of range. */
int checks_date_add_months(const char *date, int months, char out[11]) HO_WUR;

/* The citizen's birth date from a note: citizen.birthdate when it is a
 * valid date, else the one in citizen.cpr. 0, or -1 when neither gives one. */
int checks_note_birthdate(const json_t *note, char out[11]) HO_WUR;

/* True when a text, trimmed and with trailing punctuation dropped, is a
 * placeholder ("-", "n/a", "se journal", "følger", "xx", "ukendt", ...)
 * or empty. */
bool checks_text_placeholder(const char *);

/* The characters of a text as min_length counts them: UTF-8 characters,
 * one space between words, without filler: a word that repeats the one
 * before it (case and trailing punctuation aside) and any character
 * beyond the second of a run of the same one ("aaaa" counts 2). */
size_t checks_text_chars(const char *, size_t);
/* Texts as the near-identical check compares them: lower case, letters
 * and digits only, one space between words. The caller frees it. */
char *checks_text_normalise(const char *);
/* Jaccard similarity (0..1) of the two normalised texts' word 3-shingles. */
double checks_text_similarity(const char *a, const char *b);

#ifdef HO_TEMPLATE_INTERNAL
/* The parsed template: shared by template.c and checks.c only. */
enum ho_kind {
	HO_TEXT,
	HO_DATE,
	HO_BOOLEAN,
	HO_CHOICE,
	HO_GOALS,
	HO_ACTIONS,
	HO_CONSENT,
	HO_DECISION,
	HO_BENEFITS,
};

enum ho_cond { HO_COND_NONE, HO_COND_AGE, HO_COND_SECTION };

enum ho_check_kind {
	HO_CK_CPR_VALID,
	HO_CK_CPR_MATCHES_BIRTHDATE,
	HO_CK_AGE_WINDOW,
	HO_CK_PLANNED_DATE_FUTURE,
	HO_CK_PLANNED_BEFORE_AGE,
	HO_CK_RECEIVER_IN_UNIT,
	HO_CK_GOALS_COMPLETE,
	HO_CK_ACTIONS_COMPLETE,
	HO_CK_CONSENT_RECORDED,
	HO_CK_UNGEPLAN_DEADLINE,
	HO_CK_SUPPORT_DEADLINE,
	HO_CK_BENEFITS_MATCHED,
	HO_CK_MYNDIGHEDSSNIT,
};

#define HO_MAX_TEXT     65536
#define HO_DEFAULT_TEXT 20000
#define HO_MAX_COMMENT  2000
#define HO_MAX_GOALS    50
#define HO_MAX_ACTIONS  100
#define HO_MAX_BENEFITS 50

struct ho_option {
	char *value; /* choice value, or goal area key */
	char *label;
};

struct ho_section {
	char *key, *label;
	enum ho_kind kind;
	bool required;
	enum ho_cond cond;
	int cond_age;
	size_t cond_section; /* index of the section the condition reads */
	json_t *cond_equals; /* owned */
	size_t min_length;   /* UTF-8 characters, after trimming */
	size_t max_length;   /* bytes, for each text in the section */
	char **empty_reasons;
	size_t nempty;
	struct ho_option *options; /* choice options, or goal areas */
	size_t noptions;
	char *required_id, *required_message;
	char *required_message_passed; /* the fact stated when the check passes */
};

struct ho_tcheck {
	char *id;
	enum ho_check_kind kind;
	bool error;
	char *section;    /* a section key, or "citizen", "planned_date", "receiver" */
	size_t section_i; /* index when a template section */
	char *message, *message_unknown;
	char *message_passed;             /* the fact when it passes; NULL: message */
	char **area_ids, **area_messages; /* goals_complete: one per area */
	char **area_messages_passed;
	size_t nareas;
	int age, months; /* deadlines: months after (+) or before (-) the birthday */
};

struct ho_template {
	json_t *doc;
	char *code, *name, *id_prefix;
	int version;
	bool has_age_window;
	int age_min, age_max;
	struct ho_section *sections;
	size_t nsections;
	struct ho_tcheck *checks;
	size_t nchecks;
	char *citizen_id, *planned_id;
};

const struct ho_section *template_section(const struct ho_template *, const char *key,
                                          size_t *index);
size_t checks_utf8_chars(const char *, size_t);
/* A text that is not a placeholder and has at least `min` characters. */
bool checks_text_ok(const char *, size_t min);
/* A copy of msg with every "{name}" replaced by value; the caller frees it. */
char *template_subst(const char *msg, const char *name, const char *value);
#endif

#endif
