/*
 * validate.c: the shape of a note's "sections" against its template: the
 * 400s and 422s a save answers before any check runs
 * (checks_sections_validate, checks.h). Moved out of checks.c as it is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"

#define HO_TEMPLATE_INTERNAL
#include "checks.h"

#define MAX_VALIDATE_ERRORS 200

struct vstate {
	json_t *problem;
	bool structural, value;
	int n;
};

enum ftype { F_TEXT, F_DATE, F_BOOL, F_TEXT_OR_NULL };

struct field {
	const char *name;
	enum ftype type;
};

static const struct field goal_fields[] = {
    {"area", F_TEXT}, {"goal", F_TEXT}, {"timeframe", F_TEXT}, {NULL, F_TEXT}};
static const struct field action_fields[] = {
    {"action", F_TEXT}, {"owner", F_TEXT}, {"due", F_DATE}, {NULL, F_TEXT}};
static const struct field benefit_fields[] = {{"child_benefit", F_TEXT},
                                              {"adult_benefit", F_TEXT_OR_NULL},
                                              {"ends_without_successor", F_BOOL},
                                              {NULL, F_TEXT}};
static const struct field consent_fields[] = {
    {"basis", F_TEXT},         {"date", F_DATE},      {"purpose", F_TEXT}, {"recipients", F_TEXT},
    {"law_reference", F_TEXT}, {"withdrawn", F_BOOL}, {NULL, F_TEXT}};
static const struct field decision_fields[] = {{"date", F_DATE}, {"text", F_TEXT}, {NULL, F_TEXT}};

static json_t *unconst(const json_t *);
static void verr(struct vstate *, bool, const char *, const char *, const char *);
static void check_text(struct vstate *, const json_t *, size_t, const char *);
static void check_fields(struct vstate *, const struct ho_section *, const json_t *,
                         const struct field *, const char *);
static void check_list(struct vstate *, const struct ho_section *, const json_t *, size_t,
                       const struct field *, const char *);
static void check_empty(struct vstate *, const struct ho_section *, const json_t *, const char *);
static void check_section(struct vstate *, const struct ho_section *, const json_t *, const char *);

/* jansson's iterators take no const; nothing here writes through it. */
static json_t *
unconst(const json_t *j)
{
	return (json_t *)(uintptr_t)j;
}

static void
verr(struct vstate *v, bool structural, const char *field, const char *code, const char *msg)
{
	if (structural)
		v->structural = true;
	else
		v->value = true;
	if (v->n++ < MAX_VALIDATE_ERRORS && v->problem)
		json_problem_add_error(v->problem, field, code, msg);
}

static void
check_text(struct vstate *v, const json_t *s, size_t max, const char *field)
{
	char msg[96];

	if (!json_is_string(s)) {
		verr(v, true, field, "type", "Skal være en tekst.");
		return;
	}
	if (json_string_length(s) > max) {
		snprintf(msg, sizeof(msg), "Teksten er for lang: højst %zu byte.", max);
		verr(v, false, field, "too_long", msg);
	}
}

/* An object's fields against their types; null stands for absent. */
static void
check_fields(struct vstate *v, const struct ho_section *s, const json_t *obj,
             const struct field *fields, const char *prefix)
{
	const char *key;
	json_t *val;
	char *f;

	json_object_foreach (unconst(obj), key, val) {
		const struct field *fd = NULL;
		for (size_t i = 0; fields[i].name; i++)
			if (strcmp(fields[i].name, key) == 0)
				fd = &fields[i];
		if (xasprintf(&f, "%s.%s", prefix, key) < 0)
			fatalx("xasprintf");
		if (fd == NULL)
			verr(v, true, f, "unknown", "Ukendt felt.");
		else if (json_is_null(val))
			;
		else if (fd->type == F_BOOL) {
			if (!json_is_boolean(val))
				verr(v, true, f, "type", "Skal være sand eller falsk.");
		} else if (fd->type == F_DATE) {
			if (!json_is_string(val))
				verr(v, true, f, "type", "Skal være en dato (ÅÅÅÅ-MM-DD).");
			else if (!clock_date_valid(json_string_value(val), json_string_length(val)))
				verr(v, false, f, "invalid", "Datoen findes ikke (ÅÅÅÅ-MM-DD).");
		} else
			check_text(v, val, s->max_length, f);
		free(f);
	}
}

static void
check_list(struct vstate *v, const struct ho_section *s, const json_t *arr, size_t max,
           const struct field *fields, const char *prefix)
{
	char msg[96], *f;
	size_t i;
	json_t *item;

	if (!json_is_array(arr)) {
		verr(v, true, prefix, "type", "Skal være en liste.");
		return;
	}
	if (json_array_size(arr) > max) {
		snprintf(msg, sizeof(msg), "Listen må højst have %zu elementer.", max);
		verr(v, true, prefix, "too_many", msg);
		return;
	}
	json_array_foreach (arr, i, item) {
		if (xasprintf(&f, "%s.%zu", prefix, i) < 0)
			fatalx("xasprintf");
		if (!json_is_object(item))
			verr(v, true, f, "type", "Skal være et objekt.");
		else {
			check_fields(v, s, item, fields, f);
			if (s->kind == HO_GOALS) {
				json_t *a = json_object_get(item, "area");
				bool ok = false;
				for (size_t j = 0; json_is_string(a) && j < s->noptions; j++)
					if (strcmp(s->options[j].value, json_string_value(a)) == 0)
						ok = true;
				if (json_is_string(a) && !ok) {
					char *af;
					if (xasprintf(&af, "%s.area", f) < 0)
						fatalx("xasprintf");
					verr(v, false, af, "invalid", "Ukendt målområde.");
					free(af);
				}
			}
		}
		free(f);
	}
}

/* {"empty_reason", "comment"}: deliberately empty, where the template allows it. */
static void
check_empty(struct vstate *v, const struct ho_section *s, const json_t *val, const char *prefix)
{
	const char *key;
	json_t *x;
	char *f;
	bool ok = false;

	json_object_foreach (unconst(val), key, x) {
		if (xasprintf(&f, "%s.%s", prefix, key) < 0)
			fatalx("xasprintf");
		if (strcmp(key, "empty_reason") == 0) {
			if (!json_is_string(x))
				verr(v, true, f, "type", "Skal være en tekst.");
		} else if (strcmp(key, "comment") == 0) {
			if (!json_is_null(x))
				check_text(v, x, HO_MAX_COMMENT, f);
		} else
			verr(v, true, f, "unknown", "Ukendt felt.");
		free(f);
	}
	x = json_object_get(val, "empty_reason");
	if (!json_is_string(x))
		return;
	for (size_t i = 0; i < s->nempty; i++)
		if (strcmp(s->empty_reasons[i], json_string_value(x)) == 0)
			ok = true;
	if (!ok) {
		if (xasprintf(&f, "%s.empty_reason", prefix) < 0)
			fatalx("xasprintf");
		verr(v, false, f, "not_allowed",
		     s->nempty ? "Begrundelsen er ikke en af dem, afsnittet tillader."
		               : "Afsnittet kan ikke markeres som tomt.");
		free(f);
	}
}

static void
check_section(struct vstate *v, const struct ho_section *s, const json_t *val, const char *prefix)
{
	if (json_is_object(val) && json_object_get(val, "empty_reason")) {
		check_empty(v, s, val, prefix);
		return;
	}
	switch (s->kind) {
	case HO_TEXT:
		check_text(v, val, s->max_length, prefix);
		break;
	case HO_DATE:
		if (!json_is_string(val))
			verr(v, true, prefix, "type", "Skal være en dato (ÅÅÅÅ-MM-DD).");
		else if (!clock_date_valid(json_string_value(val), json_string_length(val)))
			verr(v, false, prefix, "invalid", "Datoen findes ikke (ÅÅÅÅ-MM-DD).");
		break;
	case HO_BOOLEAN:
		if (!json_is_boolean(val))
			verr(v, true, prefix, "type", "Skal være sand eller falsk.");
		break;
	case HO_CHOICE: {
		bool ok = false;
		if (!json_is_string(val)) {
			verr(v, true, prefix, "type", "Skal være en tekst.");
			break;
		}
		for (size_t i = 0; i < s->noptions; i++)
			if (strcmp(s->options[i].value, json_string_value(val)) == 0)
				ok = true;
		if (!ok)
			verr(v, false, prefix, "invalid", "Værdien er ikke en af de mulige valg.");
		break;
	}
	case HO_GOALS:
		check_list(v, s, val, HO_MAX_GOALS, goal_fields, prefix);
		break;
	case HO_ACTIONS:
		check_list(v, s, val, HO_MAX_ACTIONS, action_fields, prefix);
		break;
	case HO_BENEFITS:
		check_list(v, s, val, HO_MAX_BENEFITS, benefit_fields, prefix);
		break;
	case HO_CONSENT: {
		const char *b = json_string_value(json_object_get(val, "basis"));
		if (!json_is_object(val)) {
			verr(v, true, prefix, "type", "Skal være et objekt.");
			break;
		}
		check_fields(v, s, val, consent_fields, prefix);
		if (b && strcmp(b, "consent") != 0 && strcmp(b, "law") != 0 &&
		    strcmp(b, "significant_importance") != 0) {
			char *f;
			if (xasprintf(&f, "%s.basis", prefix) < 0)
				fatalx("xasprintf");
			verr(v, false, f, "invalid",
			     "Grundlaget skal være consent, law eller significant_importance.");
			free(f);
		}
		break;
	}
	case HO_DECISION:
		if (!json_is_object(val)) {
			verr(v, true, prefix, "type", "Skal være et objekt.");
			break;
		}
		check_fields(v, s, val, decision_fields, prefix);
		break;
	}
}

int
checks_sections_validate(const struct ho_template *t, const json_t *sections, bool allow_null,
                         json_t *problem)
{
	struct vstate v = {problem, false, false, 0};
	const char *key;
	json_t *val;
	char *prefix;

	if (!json_is_object(sections)) {
		verr(&v, true, "sections", "type", "Skal være et objekt.");
		return 400;
	}
	json_object_foreach (unconst(sections), key, val) {
		const struct ho_section *s = template_section(t, key, NULL);
		if (xasprintf(&prefix, "sections.%s", key) < 0)
			fatalx("xasprintf");
		if (s == NULL)
			verr(&v, true, prefix, "unknown", "Ukendt afsnit.");
		else if (json_is_null(val)) {
			if (!allow_null)
				verr(&v, true, prefix, "type", "Afsnittet kan ikke være null her.");
		} else
			check_section(&v, s, val, prefix);
		free(prefix);
	}
	return v.structural ? 400 : v.value ? 422 : 0;
}
