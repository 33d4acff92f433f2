/*
 * template.c: handover templates as data. Parses and validates a template
 * document (schema/templates/README.md) into the form checks.c runs.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "resolve.h"

#define HO_TEMPLATE_INTERNAL
#include "checks.h"

#define MAX_SECTIONS 100
#define MAX_CHECKS   200
#define MAX_OPTIONS  100
#define MAX_KEY      64

static const struct {
	const char *name;
	enum ho_kind kind;
} kinds[] = {
    {"text", HO_TEXT},       {"date", HO_DATE},         {"boolean", HO_BOOLEAN},
    {"choice", HO_CHOICE},   {"goals", HO_GOALS},       {"actions", HO_ACTIONS},
    {"consent", HO_CONSENT}, {"decision", HO_DECISION}, {"benefits", HO_BENEFITS},
};

/* The check kinds: the fixed section a kind is about, or the section kind
 * it must name; and the parameters it takes. */
enum { P_AGE = 1, P_MONTHS = 2, P_MONTHS_BEFORE = 4, P_UNKNOWN_MSG = 8 };
static const struct {
	const char *name;
	enum ho_check_kind kind;
	const char *fixed_section;
	enum ho_kind section_kind;
	unsigned params;
	int age, months; /* defaults */
} check_kinds[] = {
    {"cpr_valid", HO_CK_CPR_VALID, "citizen", HO_TEXT, 0, 0, 0},
    {"cpr_matches_birthdate", HO_CK_CPR_MATCHES_BIRTHDATE, "citizen", HO_TEXT, 0, 0, 0},
    {"age_window", HO_CK_AGE_WINDOW, "planned_date", HO_TEXT, 0, 0, 0},
    {"planned_date_future", HO_CK_PLANNED_DATE_FUTURE, "planned_date", HO_TEXT, 0, 0, 0},
    {"planned_before_18", HO_CK_PLANNED_BEFORE_AGE, "planned_date", HO_TEXT, P_AGE, 18, 0},
    {"receiver_in_unit", HO_CK_RECEIVER_IN_UNIT, "receiver", HO_TEXT, P_UNKNOWN_MSG, 0, 0},
    {"goals_complete", HO_CK_GOALS_COMPLETE, NULL, HO_GOALS, 0, 0, 0},
    {"actions_complete", HO_CK_ACTIONS_COMPLETE, NULL, HO_ACTIONS, 0, 0, 0},
    {"consent_recorded", HO_CK_CONSENT_RECORDED, NULL, HO_CONSENT, 0, 0, 0},
    {"ungeplan_deadline", HO_CK_UNGEPLAN_DEADLINE, NULL, HO_DECISION, P_AGE | P_MONTHS, 16, 3},
    {"support_after_18_deadline", HO_CK_SUPPORT_DEADLINE, NULL, HO_DECISION,
     P_AGE | P_MONTHS_BEFORE, 18, 6},
    {"benefits_matched", HO_CK_BENEFITS_MATCHED, NULL, HO_BENEFITS, 0, 0, 0},
    {"myndighedssnit", HO_CK_MYNDIGHEDSSNIT, NULL, HO_CHOICE, 0, 0, 0},
};

static const char *const top_fields[] = {"code",        "version",   "name",
                                         "description", "id_prefix", "age_window",
                                         "sections",    "checks",    NULL};
static const char *const section_fields[] = {"key",
                                             "label",
                                             "help",
                                             "kind",
                                             "required",
                                             "required_if",
                                             "min_length",
                                             "max_length",
                                             "empty_reasons",
                                             "options",
                                             "areas",
                                             "required_message",
                                             "required_message_passed",
                                             NULL};
static const char *const tcheck_fields[] = {
    "id",  "kind",   "severity",      "section",        "message", "message_unknown",
    "age", "months", "months_before", "message_passed", NULL};
static const char *const reserved_keys[] = {"citizen", "planned_date", "receiver", NULL};

static int fail(char *, size_t, const char *, ...) PRINTFLIKE(3, 4);
static bool listed(const char *const *, const char *);
static int unknown_field(json_t *, const char *const *, const char *, char *, size_t);
static bool key_ok(const char *, bool upper);
static int get_string(json_t *, const char *, bool, char **, const char *, char *, size_t);
static int get_int(json_t *, const char *, int, int, int *, const char *, char *, size_t);
static int parse_options(json_t *, struct ho_section *, const char *, char *, size_t);
static int parse_section(struct ho_template *, json_t *, struct ho_section *, char *, size_t);
static int parse_condition(struct ho_template *, struct ho_section *, json_t *, char *, size_t);
static void required_message(const struct ho_template *, struct ho_section *);
static int parse_check(struct ho_template *, json_t *, struct ho_tcheck *, char *, size_t);
static int ids_unique(const struct ho_template *, char *, size_t);

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool
listed(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static int
unknown_field(json_t *obj, const char *const *allowed, const char *where, char *err, size_t errsz)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		(void)v;
		if (!listed(allowed, key))
			return fail(err, errsz, "%s: unknown field \"%.64s\"", where, key);
	}
	return 0;
}

/* Keys: [a-z][a-z0-9_]*, at most MAX_KEY; `upper` also allows A-Z and '-'. */
static bool
key_ok(const char *s, bool upper)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_KEY || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '_' || (upper && (isupper(c) || c == '-'))))
			return false;
	}
	return true;
}

/* A string field; a missing optional one leaves *out NULL. */
static int
get_string(json_t *obj, const char *field, bool required, char **out, const char *where, char *err,
           size_t errsz)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return fail(err, errsz, "%s: \"%s\" must be a non-empty string", where, field);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An integer field in [lo, hi]; a missing one leaves *out as it was. */
static int
get_int(json_t *obj, const char *field, int lo, int hi, int *out, const char *where, char *err,
        size_t errsz)
{
	json_t *v = json_object_get(obj, field);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(err, errsz, "%s: \"%s\" must be an integer from %d to %d", where, field,
		            lo, hi);
	*out = (int)json_integer_value(v);
	return 0;
}

/* A copy of msg with every "{name}" replaced by value; the caller frees it. */
char *
template_subst(const char *msg, const char *name, const char *value)
{
	char pat[40];
	size_t plen, vlen = strlen(value), n = 0;
	const char *p, *q;
	char *out, *w;

	snprintf(pat, sizeof(pat), "{%s}", name);
	plen = strlen(pat);
	for (p = msg; (q = strstr(p, pat)) != NULL; p = q + plen)
		n++;
	out = xmalloc(strlen(msg) + n * vlen + 1);
	w = out;
	for (p = msg; (q = strstr(p, pat)) != NULL; p = q + plen) {
		memcpy(w, p, (size_t)(q - p));
		w += q - p;
		memcpy(w, value, vlen);
		w += vlen;
	}
	strcpy(w, p);
	return out;
}

static int
parse_options(json_t *arr, struct ho_section *s, const char *where, char *err, size_t errsz)
{
	const char *vname = s->kind == HO_CHOICE ? "value" : "key";
	static const char *const choice_fields[] = {"value", "label", NULL};
	static const char *const area_fields[] = {"key", "label", NULL};
	size_t i;
	json_t *o;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_OPTIONS)
		return fail(err, errsz, "%s: \"%s\" must be a list of 1 to %d items", where,
		            s->kind == HO_CHOICE ? "options" : "areas", MAX_OPTIONS);
	s->options = xcalloc(json_array_size(arr), sizeof(*s->options));
	json_array_foreach (arr, i, o) {
		struct ho_option *opt = &s->options[s->noptions];
		if (!json_is_object(o))
			return fail(err, errsz, "%s: option %zu is not an object", where, i);
		if (unknown_field(o, s->kind == HO_CHOICE ? choice_fields : area_fields, where, err,
		                  errsz) < 0)
			return -1;
		if (get_string(o, vname, true, &opt->value, where, err, errsz) < 0 ||
		    get_string(o, "label", true, &opt->label, where, err, errsz) < 0) {
			free(opt->value);
			opt->value = NULL;
			return -1;
		}
		s->noptions++;
		if (s->kind == HO_GOALS && !key_ok(opt->value, false))
			return fail(err, errsz, "%s: bad area key \"%.64s\"", where, opt->value);
		for (size_t j = 0; j + 1 < s->noptions; j++)
			if (strcmp(s->options[j].value, opt->value) == 0)
				return fail(err, errsz, "%s: duplicate %s \"%.64s\"", where, vname,
				            opt->value);
	}
	return 0;
}

static int
parse_section(struct ho_template *t, json_t *o, struct ho_section *s, char *err, size_t errsz)
{
	char where[96];
	const char *kind;
	bool found = false;
	json_t *v;
	int n;

	if (!json_is_object(o))
		return fail(err, errsz, "section %zu is not an object", t->nsections);
	if (get_string(o, "key", true, &s->key, "section", err, errsz) < 0)
		return -1;
	snprintf(where, sizeof(where), "section \"%.64s\"", s->key);
	if (!key_ok(s->key, false))
		return fail(err, errsz, "%s: a key is [a-z][a-z0-9_]*, at most %d long", where,
		            MAX_KEY);
	if (listed(reserved_keys, s->key))
		return fail(err, errsz, "%s: the key is reserved", where);
	for (size_t i = 0; i < t->nsections; i++)
		if (strcmp(t->sections[i].key, s->key) == 0)
			return fail(err, errsz, "%s: duplicate key", where);
	if (unknown_field(o, section_fields, where, err, errsz) < 0 ||
	    get_string(o, "label", true, &s->label, where, err, errsz) < 0)
		return -1;
	if ((v = json_object_get(o, "help")) != NULL && !json_is_string(v))
		return fail(err, errsz, "%s: \"help\" must be a string", where);
	kind = json_string_value(json_object_get(o, "kind"));
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, kind) == 0) {
			s->kind = kinds[i].kind;
			found = true;
		}
	if (!found)
		return fail(err, errsz, "%s: unknown kind \"%.32s\"", where, kind ? kind : "");
	if ((v = json_object_get(o, "required")) != NULL) {
		if (!json_is_boolean(v))
			return fail(err, errsz, "%s: \"required\" must be true or false", where);
		s->required = json_is_true(v);
	}
	if (json_object_get(o, "required_if") && s->required)
		return fail(err, errsz, "%s: both \"required\" and \"required_if\"", where);

	n = 0;
	if (get_int(o, "min_length", 0, HO_MAX_TEXT, &n, where, err, errsz) < 0)
		return -1;
	s->min_length = (size_t)n;
	n = HO_DEFAULT_TEXT;
	if (get_int(o, "max_length", 1, HO_MAX_TEXT, &n, where, err, errsz) < 0)
		return -1;
	s->max_length = (size_t)n;
	if ((json_object_get(o, "min_length") || json_object_get(o, "max_length")) &&
	    s->kind != HO_TEXT && s->kind != HO_DECISION)
		return fail(err, errsz, "%s: min_length and max_length are for text and decision",
		            where);
	if (s->min_length > s->max_length)
		return fail(err, errsz, "%s: min_length above max_length", where);

	if ((v = json_object_get(o, "empty_reasons")) != NULL) {
		size_t i;
		json_t *r;
		if (!json_is_array(v) || json_array_size(v) > 20)
			return fail(err, errsz, "%s: \"empty_reasons\" must be a list of strings",
			            where);
		s->empty_reasons = xcalloc(json_array_size(v) + 1, sizeof(char *));
		json_array_foreach (v, i, r) {
			if (!json_is_string(r) || json_string_length(r) == 0)
				return fail(err, errsz, "%s: empty reason %zu is not a string",
				            where, i);
			for (size_t j = 0; j < s->nempty; j++)
				if (strcmp(s->empty_reasons[j], json_string_value(r)) == 0)
					return fail(err, errsz, "%s: duplicate empty reason",
					            where);
			s->empty_reasons[s->nempty++] = xstrdup(json_string_value(r));
		}
	}

	v = json_object_get(o, "options");
	if ((v != NULL) != (s->kind == HO_CHOICE))
		return fail(err, errsz, "%s: \"options\" belongs to (and is needed by) a choice",
		            where);
	if (v && parse_options(v, s, where, err, errsz) < 0)
		return -1;
	v = json_object_get(o, "areas");
	if ((v != NULL) != (s->kind == HO_GOALS))
		return fail(err, errsz, "%s: \"areas\" belongs to (and is needed by) goals", where);
	if (v && parse_options(v, s, where, err, errsz) < 0)
		return -1;
	if (get_string(o, "required_message", false, &s->required_message, where, err, errsz) < 0 ||
	    get_string(o, "required_message_passed", false, &s->required_message_passed, where, err,
	               errsz) < 0)
		return -1;
	if (xasprintf(&s->required_id, "%s.%s.required", t->id_prefix, s->key) < 0)
		fatalx("xasprintf");
	return 0;
}

/* After all sections are read: a condition may name any other section. */
static int
parse_condition(struct ho_template *t, struct ho_section *s, json_t *c, char *err, size_t errsz)
{
	static const char *const fields[] = {"age_at_least", "section", "equals", NULL};
	char where[96];
	const struct ho_section *ref;
	const char *key;
	json_t *eq;

	snprintf(where, sizeof(where), "section \"%.64s\": required_if", s->key);
	if (!json_is_object(c) || unknown_field(c, fields, where, err, errsz) < 0)
		return fail(err, errsz,
		            "%s: must be {\"age_at_least\": N} or {\"section\", \"equals\"}",
		            where);
	if (json_object_get(c, "age_at_least")) {
		if (json_object_size(c) != 1)
			return fail(err, errsz, "%s: age_at_least stands alone", where);
		s->cond = HO_COND_AGE;
		return get_int(c, "age_at_least", 0, 130, &s->cond_age, where, err, errsz);
	}
	key = json_string_value(json_object_get(c, "section"));
	eq = json_object_get(c, "equals");
	if (key == NULL || eq == NULL)
		return fail(err, errsz, "%s: needs \"section\" and \"equals\"", where);
	ref = template_section(t, key, &s->cond_section);
	if (ref == NULL)
		return fail(err, errsz, "%s: unknown section \"%.64s\"", where, key);
	if (ref == s)
		return fail(err, errsz, "%s: a section cannot depend on itself", where);
	if (ref->kind == HO_BOOLEAN) {
		if (!json_is_boolean(eq))
			return fail(err, errsz, "%s: \"%s\" is a boolean", where, key);
	} else if (ref->kind == HO_CHOICE) {
		bool ok = false;
		for (size_t i = 0; json_is_string(eq) && i < ref->noptions; i++)
			if (strcmp(ref->options[i].value, json_string_value(eq)) == 0)
				ok = true;
		if (!ok)
			return fail(err, errsz, "%s: not one of the options of \"%s\"", where, key);
	} else
		return fail(err, errsz, "%s: \"%s\" is neither a boolean nor a choice", where, key);
	s->cond = HO_COND_SECTION;
	s->cond_equals = json_deep_copy(eq);
	return 0;
}

/* What a required section needs, in Danish, from the template's labels. */
static void
required_message(const struct ho_template *t, struct ho_section *s)
{
	char base[512], extra[512] = "", when[256] = "";
	size_t w;

	if (s->required_message_passed == NULL &&
	    xasprintf(&s->required_message_passed, "Afsnittet »%s« er udfyldt.", s->label) < 0)
		fatalx("xasprintf");
	if (s->required_message)
		return;
	switch (s->kind) {
	case HO_TEXT:
		snprintf(base, sizeof(base),
		         "Afsnittet »%s« skal udfyldes med mindst %zu tegn og må ikke være en "
		         "pladsholder som »-« eller »se journal«.",
		         s->label, s->min_length ? s->min_length : 1);
		break;
	case HO_DATE:
		snprintf(base, sizeof(base), "Afsnittet »%s« skal have en gyldig dato.", s->label);
		break;
	case HO_BOOLEAN:
		snprintf(base, sizeof(base), "Afsnittet »%s« skal besvares med ja eller nej.",
		         s->label);
		break;
	case HO_CHOICE:
		snprintf(base, sizeof(base), "Afsnittet »%s« skal have en af de mulige værdier.",
		         s->label);
		break;
	case HO_GOALS:
		snprintf(base, sizeof(base), "Afsnittet »%s« skal indeholde mindst ét mål.",
		         s->label);
		break;
	case HO_ACTIONS:
		snprintf(base, sizeof(base), "Afsnittet »%s« skal indeholde mindst én handling.",
		         s->label);
		break;
	case HO_BENEFITS:
		snprintf(base, sizeof(base), "Afsnittet »%s« skal indeholde mindst én ydelse.",
		         s->label);
		break;
	case HO_CONSENT:
		snprintf(
		    base, sizeof(base),
		    "Afsnittet »%s« skal angive grundlaget for videregivelsen: samtykke, lovkrav "
		    "eller væsentlig betydning.",
		    s->label);
		break;
	case HO_DECISION:
	default:
		snprintf(base, sizeof(base),
		         "Afsnittet »%s« skal have afgørelsens dato og indhold.", s->label);
		break;
	}
	if (s->nempty) {
		w = (size_t)snprintf(extra, sizeof(extra),
		                     " Det kan i stedet markeres som tomt med begrundelsen ");
		for (size_t i = 0; i < s->nempty && w < sizeof(extra); i++)
			w += (size_t)snprintf(extra + w, sizeof(extra) - w, "%s»%s«",
			                      i == 0 ? "" : (i + 1 == s->nempty ? " eller " : ", "),
			                      s->empty_reasons[i]);
		if (w < sizeof(extra))
			snprintf(extra + w, sizeof(extra) - w, ".");
	}
	if (s->cond == HO_COND_AGE)
		snprintf(
		    when, sizeof(when),
		    " Kræves, når borgeren er mindst %d år på den planlagte overdragelsesdato.",
		    s->cond_age);
	else if (s->cond == HO_COND_SECTION) {
		const struct ho_section *ref = &t->sections[s->cond_section];
		const char *what = json_is_true(s->cond_equals) ? "ja" : "nej";
		for (size_t i = 0; i < ref->noptions; i++)
			if (json_is_string(s->cond_equals) &&
			    strcmp(ref->options[i].value, json_string_value(s->cond_equals)) == 0)
				what = ref->options[i].label;
		snprintf(when, sizeof(when), " Kræves, når »%s« er besvaret med »%s«.", ref->label,
		         what);
	}
	if (xasprintf(&s->required_message, "%s%s%s", base, when, extra) < 0)
		fatalx("xasprintf");
}

/* The check's section: the kind's fixed one, or one of the template's of
 * the kind the check reads (c->section_i). Takes `section` (freed or kept
 * in c). */
static int
check_section(struct ho_template *t, struct ho_tcheck *c, size_t k, char *section,
              const char *where, char *err, size_t errsz)
{
	const char *kind = check_kinds[k].name;
	const struct ho_section *s;

	if (check_kinds[k].fixed_section) {
		if (section && strcmp(section, check_kinds[k].fixed_section) != 0) {
			free(section);
			return fail(err, errsz, "%s: the section of %s is \"%s\"", where, kind,
			            check_kinds[k].fixed_section);
		}
		free(section);
		c->section = xstrdup(check_kinds[k].fixed_section);
		return 0;
	}
	if (section == NULL)
		return fail(err, errsz, "%s: \"section\" is needed", where);
	c->section = section;
	s = template_section(t, section, &c->section_i);
	if (s == NULL)
		return fail(err, errsz, "%s: unknown section \"%.64s\"", where, section);
	if (s->kind != check_kinds[k].section_kind)
		return fail(err, errsz, "%s: section \"%.64s\" is not of the kind %s needs", where,
		            section, kind);
	return 0;
}

/* The parameters the kind takes (age, months, months_before,
 * message_unknown), with the kind's defaults; any other is an error. */
static int
check_params(json_t *o, struct ho_tcheck *c, size_t k, const char *where, char *err, size_t errsz)
{
	if (((json_object_get(o, "age") && !(check_kinds[k].params & P_AGE)) ||
	     (json_object_get(o, "months") && !(check_kinds[k].params & P_MONTHS)) ||
	     (json_object_get(o, "months_before") && !(check_kinds[k].params & P_MONTHS_BEFORE)) ||
	     (json_object_get(o, "message_unknown") && !(check_kinds[k].params & P_UNKNOWN_MSG))))
		return fail(err, errsz, "%s: a parameter %s does not take", where,
		            check_kinds[k].name);
	c->age = check_kinds[k].age;
	c->months = check_kinds[k].months;
	if (get_int(o, "age", 0, 30, &c->age, where, err, errsz) < 0 ||
	    get_int(o, "months", 0, 60, &c->months, where, err, errsz) < 0 ||
	    get_int(o, "months_before", 0, 60, &c->months, where, err, errsz) < 0)
		return -1;
	if (c->kind == HO_CK_SUPPORT_DEADLINE)
		c->months = -c->months;
	if (get_string(o, "message_unknown", false, &c->message_unknown, where, err, errsz) < 0)
		return -1;
	return 0;
}

/* What a kind prepares once at load: the age window in its message, one
 * result per goal area, the employment statuses its options must name. */
static int
check_kind_setup(struct ho_template *t, struct ho_tcheck *c, const char *where, char *err,
                 size_t errsz)
{
	switch (c->kind) {
	case HO_CK_AGE_WINDOW: {
		char num[16], *m;
		if (!t->has_age_window)
			return fail(err, errsz, "%s: the template has no age_window", where);
		snprintf(num, sizeof(num), "%d", t->age_min);
		m = template_subst(c->message, "min", num);
		free(c->message);
		snprintf(num, sizeof(num), "%d", t->age_max);
		c->message = template_subst(m, "max", num);
		free(m);
		if (c->message_passed) {
			snprintf(num, sizeof(num), "%d", t->age_min);
			m = template_subst(c->message_passed, "min", num);
			free(c->message_passed);
			snprintf(num, sizeof(num), "%d", t->age_max);
			c->message_passed = template_subst(m, "max", num);
			free(m);
		}
		break;
	}
	case HO_CK_GOALS_COMPLETE: {
		const struct ho_section *s = &t->sections[c->section_i];
		c->area_ids = xcalloc(s->noptions, sizeof(char *));
		c->area_messages = xcalloc(s->noptions, sizeof(char *));
		c->area_messages_passed = xcalloc(s->noptions, sizeof(char *));
		for (size_t i = 0; i < s->noptions; i++) {
			if (xasprintf(&c->area_ids[i], "%s.%s", c->id, s->options[i].value) < 0)
				fatalx("xasprintf");
			c->area_messages[i] =
			    template_subst(c->message, "area", s->options[i].label);
			c->area_messages_passed[i] =
			    template_subst(c->message_passed ? c->message_passed : c->message,
			                   "area", s->options[i].label);
			c->nareas++;
		}
		break;
	}
	case HO_CK_MYNDIGHEDSSNIT: {
		const struct ho_section *s = &t->sections[c->section_i];
		for (size_t i = 0; i < s->noptions; i++)
			if (dir_citizen_employment_parse(s->options[i].value) == EMP_UNKNOWN)
				return fail(err, errsz,
				            "%s: option \"%.64s\" is not an employment status",
				            where, s->options[i].value);
		break;
	}
	default:
		break;
	}
	return 0;
}

static int
parse_check(struct ho_template *t, json_t *o, struct ho_tcheck *c, char *err, size_t errsz)
{
	char where[128];
	const char *kind, *sev;
	size_t k = SIZE_MAX, plen = strlen(t->id_prefix);
	char *section = NULL;

	if (!json_is_object(o))
		return fail(err, errsz, "check %zu is not an object", t->nchecks);
	if (get_string(o, "id", true, &c->id, "check", err, errsz) < 0)
		return -1;
	snprintf(where, sizeof(where), "check \"%.96s\"", c->id);
	if (strncmp(c->id, t->id_prefix, plen) != 0 || c->id[plen] != '.' || strlen(c->id) > 200)
		return fail(err, errsz, "%s: an id starts with \"%s.\"", where, t->id_prefix);
	if (unknown_field(o, tcheck_fields, where, err, errsz) < 0)
		return -1;
	kind = json_string_value(json_object_get(o, "kind"));
	for (size_t i = 0; kind && i < sizeof(check_kinds) / sizeof(check_kinds[0]); i++)
		if (strcmp(check_kinds[i].name, kind) == 0)
			k = i;
	if (k == SIZE_MAX)
		return fail(err, errsz, "%s: unknown kind \"%.32s\"", where, kind ? kind : "");
	c->kind = check_kinds[k].kind;
	sev = json_string_value(json_object_get(o, "severity"));
	if (sev == NULL || (strcmp(sev, "error") != 0 && strcmp(sev, "warning") != 0))
		return fail(err, errsz, "%s: severity is \"error\" or \"warning\"", where);
	c->error = strcmp(sev, "error") == 0;
	if (get_string(o, "message", true, &c->message, where, err, errsz) < 0 ||
	    get_string(o, "message_passed", false, &c->message_passed, where, err, errsz) < 0 ||
	    get_string(o, "section", false, &section, where, err, errsz) < 0)
		return -1;
	if (check_section(t, c, k, section, where, err, errsz) < 0 ||
	    check_params(o, c, k, where, err, errsz) < 0)
		return -1;
	return check_kind_setup(t, c, where, err, errsz);
}

/* Every result id a template can give is distinct. */
static int
ids_unique(const struct ho_template *t, char *err, size_t errsz)
{
	struct strlist ids = {0};
	int rc = 0;

	strlist_add(&ids, "%s", t->citizen_id);
	strlist_add(&ids, "%s", t->planned_id);
	for (size_t i = 0; i < t->nsections; i++) {
		strlist_add(&ids, "%s", t->sections[i].required_id);
		if (t->sections[i].kind == HO_TEXT || t->sections[i].kind == HO_DECISION)
			strlist_add(&ids, "%s.%s.similar", t->id_prefix, t->sections[i].key);
	}
	for (size_t i = 0; i < t->nchecks; i++) {
		const struct ho_tcheck *c = &t->checks[i];
		if (c->kind != HO_CK_GOALS_COMPLETE) {
			strlist_add(&ids, "%s", c->id);
			continue;
		}
		for (size_t j = 0; j < c->nareas; j++)
			strlist_add(&ids, "%s", c->area_ids[j]);
	}
	for (size_t i = 0; i < ids.n && rc == 0; i++)
		for (size_t j = i + 1; j < ids.n && rc == 0; j++)
			if (strcmp(ids.v[i], ids.v[j]) == 0)
				rc = fail(err, errsz, "duplicate check id \"%.128s\"", ids.v[i]);
	strlist_free(&ids);
	return rc;
}

struct ho_template *
template_parse(json_t *doc, char *err, size_t errsz)
{
	struct ho_template *t;
	json_t *v, *o;
	size_t i;

	if (!json_is_object(doc)) {
		fail(err, errsz, "a template is a JSON object");
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	if (unknown_field(doc, top_fields, "template", err, errsz) < 0 ||
	    get_string(doc, "code", true, &t->code, "template", err, errsz) < 0 ||
	    get_string(doc, "name", true, &t->name, "template", err, errsz) < 0 ||
	    get_string(doc, "id_prefix", true, &t->id_prefix, "template", err, errsz) < 0)
		goto bad;
	if (!key_ok(t->id_prefix, true)) {
		fail(err, errsz, "template: bad id_prefix");
		goto bad;
	}
	for (const char *p = t->code; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') {
			fail(err, errsz, "template: a code is [a-z0-9-]");
			goto bad;
		}
	if ((v = json_object_get(doc, "description")) != NULL && !json_is_string(v)) {
		fail(err, errsz, "template: \"description\" must be a string");
		goto bad;
	}
	if (!json_is_integer(json_object_get(doc, "version"))) {
		fail(err, errsz, "template: \"version\" must be an integer");
		goto bad;
	}
	if (get_int(doc, "version", 1, 1000000, &t->version, "template", err, errsz) < 0)
		goto bad;
	if ((v = json_object_get(doc, "age_window")) != NULL) {
		static const char *const aw[] = {"min", "max", NULL};
		if (!json_is_object(v) || unknown_field(v, aw, "age_window", err, errsz) < 0 ||
		    !json_is_integer(json_object_get(v, "min")) ||
		    !json_is_integer(json_object_get(v, "max")) ||
		    get_int(v, "min", 0, 130, &t->age_min, "age_window", err, errsz) < 0 ||
		    get_int(v, "max", 0, 130, &t->age_max, "age_window", err, errsz) < 0 ||
		    t->age_min > t->age_max) {
			fail(err, errsz,
			     "template: age_window is {\"min\": N, \"max\": M}, N <= M");
			goto bad;
		}
		t->has_age_window = true;
	}
	if (xasprintf(&t->citizen_id, "%s.citizen.required", t->id_prefix) < 0 ||
	    xasprintf(&t->planned_id, "%s.planned_date.required", t->id_prefix) < 0)
		fatalx("xasprintf");

	v = json_object_get(doc, "sections");
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_SECTIONS) {
		fail(err, errsz, "template: \"sections\" must be a list of 1 to %d", MAX_SECTIONS);
		goto bad;
	}
	t->sections = xcalloc(json_array_size(v), sizeof(*t->sections));
	json_array_foreach (v, i, o) {
		int rc = parse_section(t, o, &t->sections[t->nsections], err, errsz);
		t->nsections++; /* counted either way, so a half-read section is freed */
		if (rc < 0)
			goto bad;
	}
	json_array_foreach (v, i, o) {
		json_t *c = json_object_get(o, "required_if");
		if (c && parse_condition(t, &t->sections[i], c, err, errsz) < 0)
			goto bad;
	}
	for (i = 0; i < t->nsections; i++)
		required_message(t, &t->sections[i]);

	v = json_object_get(doc, "checks");
	if (v && (!json_is_array(v) || json_array_size(v) > MAX_CHECKS)) {
		fail(err, errsz, "template: \"checks\" must be a list of at most %d", MAX_CHECKS);
		goto bad;
	}
	if (v && json_array_size(v))
		t->checks = xcalloc(json_array_size(v), sizeof(*t->checks));
	json_array_foreach (v, i, o) {
		int rc = parse_check(t, o, &t->checks[t->nchecks], err, errsz);
		t->nchecks++;
		if (rc < 0)
			goto bad;
	}
	if (ids_unique(t, err, errsz) < 0)
		goto bad;
	t->doc = json_deep_copy(doc);
	if (t->doc == NULL)
		fatalx("json_deep_copy");
	return t;
bad:
	template_free(t);
	return NULL;
}

struct ho_template *
template_load(const char *path, char *err, size_t errsz)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	struct ho_template *t;

	if (doc == NULL) {
		fail(err, errsz, "%s:%d: %s", path, je.line, je.text);
		return NULL;
	}
	t = template_parse(doc, err, errsz);
	json_decref(doc);
	return t;
}

void
template_free(struct ho_template *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nsections; i++) {
		struct ho_section *s = &t->sections[i];
		free(s->key);
		free(s->label);
		json_decref(s->cond_equals);
		for (size_t j = 0; j < s->nempty; j++)
			free(s->empty_reasons[j]);
		free(s->empty_reasons);
		for (size_t j = 0; j < s->noptions; j++) {
			free(s->options[j].value);
			free(s->options[j].label);
		}
		free(s->options);
		free(s->required_id);
		free(s->required_message);
		free(s->required_message_passed);
	}
	free(t->sections);
	for (size_t i = 0; i < t->nchecks; i++) {
		struct ho_tcheck *c = &t->checks[i];
		for (size_t j = 0; j < c->nareas; j++) {
			free(c->area_ids[j]);
			free(c->area_messages[j]);
			free(c->area_messages_passed[j]);
		}
		free(c->area_ids);
		free(c->area_messages);
		free(c->area_messages_passed);
		free(c->id);
		free(c->section);
		free(c->message);
		free(c->message_unknown);
		free(c->message_passed);
	}
	free(t->checks);
	json_decref(t->doc);
	free(t->code);
	free(t->name);
	free(t->id_prefix);
	free(t->citizen_id);
	free(t->planned_id);
	free(t);
}

const char *
template_code(const struct ho_template *t)
{
	return t->code;
}

int
template_version_of(const struct ho_template *t)
{
	return t->version;
}

const char *
template_name(const struct ho_template *t)
{
	return t->name;
}

const char *
template_id_prefix(const struct ho_template *t)
{
	return t->id_prefix;
}

json_t *
template_json(const struct ho_template *t)
{
	return t->doc;
}

const struct ho_section *
template_section(const struct ho_template *t, const char *key, size_t *index)
{
	for (size_t i = 0; key && i < t->nsections; i++)
		if (t->sections[i].key && strcmp(t->sections[i].key, key) == 0) {
			if (index)
				*index = i;
			return &t->sections[i];
		}
	return NULL;
}

bool
template_has_section(const struct ho_template *t, const char *key)
{
	return template_section(t, key, NULL) != NULL;
}

const char *
template_section_label(const struct ho_template *t, const char *key)
{
	const struct ho_section *s = t ? template_section(t, key, NULL) : NULL;
	return s && s->label ? s->label : NULL;
}
