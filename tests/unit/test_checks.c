/*
 * test_checks.c: handover templates and quality checks. Every template in
 * schema/templates/ parses (run from the repository root); bad templates
 * are refused; the shape of a note's sections gives 400s and 422s; and the
 * checks judge notes the way DESIGN.md says: required and required-if
 * sections, placeholders, goals per area, the Barnets Lov deadlines, CPR
 * numbers, the myndighedssnit, benefits, the planned date, the directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "directory.h"
#include "checks.h"

enum { T_BUR_UR, T_BURH, T_MYND, T_GEN, NTEMPLATES };
static const char *const template_files[NTEMPLATES] = {
    "schema/templates/bur-ur.json",
    "schema/templates/burh-voksen.json",
    "schema/templates/myndighedssnit.json",
    "schema/templates/generisk.json",
};
static struct ho_template *tmpl[NTEMPLATES];

/* ---- helpers ---- */

static json_t *
J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s (%s)", e.text, text);
	return j;
}

static void
set_section(json_t *note, const char *key, const char *value)
{
	json_t *sections = json_object_get(note, "sections");

	if (value == NULL)
		json_object_del(sections, key);
	else
		json_object_set_new(sections, key, J(value));
}

static void
set_citizen(json_t *note, const char *cpr, const char *birthdate)
{
	json_t *c = json_object_get(note, "citizen");

	if (cpr)
		json_object_set_new(c, "cpr", json_string(cpr));
	else
		json_object_del(c, "cpr");
	if (birthdate)
		json_object_set_new(c, "birthdate", json_string(birthdate));
	else
		json_object_del(c, "birthdate");
}

static struct ho_check_ctx
ctx_for(int t, const json_t *note)
{
	struct ho_check_ctx c;

	memset(&c, 0, sizeof(c));
	c.tmpl = tmpl[t];
	c.note = note;
	snprintf(c.today, sizeof(c.today), "%s", "2026-05-01");
	return c;
}

static json_t *
run(const struct ho_check_ctx *c, int *completeness, int *failed)
{
	int comp, fe;
	json_t *res = checks_run(c, &comp, &fe);

	assert_non_null(res);
	assert_true(json_is_array(res));
	if (completeness)
		*completeness = comp;
	if (failed)
		*failed = fe;
	return res;
}

static json_t *
find(json_t *results, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach (results, i, r)
		if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
			return r;
	return NULL;
}

/* 1 passed, 0 failed, -1 not listed */
static int
outcome(json_t *results, const char *id)
{
	json_t *r = find(results, id);

	if (r == NULL)
		return -1;
	return json_is_true(json_object_get(r, "passed")) ? 1 : 0;
}

/* The outcome of one check id on a note under template t. */
static int
check_one(int t, const json_t *note, const char *id)
{
	struct ho_check_ctx c = ctx_for(t, note);
	json_t *res = run(&c, NULL, NULL);
	int o = outcome(res, id);

	json_decref(res);
	return o;
}

static bool
mod11(const char *cpr)
{
	static const int w[] = {4, 3, 2, 7, 6, 5, 4, 3, 2, 1};
	int sum = 0, k = 0;

	for (const char *p = cpr; *p; p++)
		if (*p != '-')
			sum += (*p - '0') * w[k++];
	return sum % 11 == 0;
}

/* A BUR-UR note that passes every check: 17 at the planned date, placed. */
static const char bur_ur_complete[] =
    "{\"citizen\": {\"cpr\": \"140309-4123\", \"name\": \"Test Testesen\","
    "  \"birthdate\": \"2009-03-14\"},"
    " \"planned_date\": \"2026-08-03\","
    " \"receiver\": {\"unit\": \"UR\", \"person\": \"id-anna\"},"
    " \"sections\": {"
    "  \"situation\": \"Går i 10. klasse og afslutter grundskolen til sommer.\","
    "  \"background\": \"Anbragt i plejefamilie siden 2019 efter underretninger.\","
    "  \"assessment\": \"Stabil i plejefamilien, men har brug for støtte til uddannelse.\","
    "  \"youth_voice\": \"Vil gerne på EUD som tømrer og bo tæt på plejefamilien.\","
    "  \"placed\": true,"
    "  \"goals\": ["
    "   {\"area\": \"uddannelse\", \"goal\": \"Starte på EUD\", \"timeframe\": \"August 2026\"},"
    "   {\"area\": \"beskaeftigelse\", \"goal\": \"Fritidsjob\", \"timeframe\": \"Inden jul\"},"
    "   {\"area\": \"bolig\", \"goal\": \"Eget værelse\", \"timeframe\": \"Marts 2027\"},"
    "   {\"area\": \"oekonomi\", \"goal\": \"Eget budget\", \"timeframe\": \"Efterår 2026\"}],"
    "  \"own_room\": \"Klarer indkøb og tøjvask; øver madlavning med plejemor.\","
    "  \"ungeplan\": {\"date\": \"2025-05-14\", \"text\": \"Ungeplan med mål for uddannelse.\"},"
    "  \"support_after_18\": {\"date\": \"2026-04-01\", \"text\": \"Efterværn til 23 år.\"},"
    "  \"education_plan\": {\"empty_reason\": \"ikke oplyst\"},"
    "  \"consent\": {\"basis\": \"consent\", \"date\": \"2026-04-20\","
    "   \"purpose\": \"Overdragelse til UR\", \"recipients\": \"Ungerådgivningen\","
    "   \"withdrawn\": false},"
    "  \"actions\": [{\"action\": \"Overleveringsmøde\", \"owner\": \"BUR\","
    "   \"due\": \"2026-07-01\"}],"
    "  \"contingency\": \"Hvis anbringelsen bryder sammen, så kontakt vagten.\"}}";

static const char burh_complete[] =
    "{\"citizen\": {\"cpr\": \"140309-4123\", \"name\": \"Test Testesen\","
    "  \"birthdate\": \"2009-03-14\"},"
    " \"planned_date\": \"2026-08-03\","
    " \"sections\": {"
    "  \"situation\": \"Går i specialklasse og bor hjemme hos forældrene.\","
    "  \"background\": \"Medfødt cerebral parese; aflastning siden 2015.\","
    "  \"assessment\": \"Har brug for bostøtte og et beskyttet beskæftigelsestilbud.\","
    "  \"youth_voice\": \"Vil gerne bo i egen lejlighed med støtte.\","
    "  \"meeting_16\": {\"date\": \"2025-04-02\", \"text\": \"Temaer: bolig og uddannelse.\"},"
    "  \"support_needs\": \"Støtte til personlig pleje morgen og aften.\","
    "  \"education\": \"STU fra august 2027 efter specialskolen.\","
    "  \"employment_income\": \"Afklaring af førtidspension; indtil da uddannelseshjælp.\","
    "  \"housing\": \"Egen bolig med bostøtte frem for botilbud.\","
    "  \"social_conditions\": \"Tæt på forældre og søskende; går til svømning.\","
    "  \"other_matters\": {\"empty_reason\": \"ikke relevant\"},"
    "  \"functional_ability\": \"Kørestolsbruger; klarer selv spisning og computer.\","
    "  \"aids\": \"Elkørestol og loftlift; skal søges på ny efter voksenreglerne.\","
    "  \"benefits\": [{\"child_benefit\": \"Merudgifter\", \"adult_benefit\": \"Merudgifter\"},"
    "   {\"child_benefit\": \"Tabt arbejdsfortjeneste\", \"adult_benefit\": null,"
    "    \"ends_without_successor\": true}],"
    "  \"pension\": \"Sag om førtidspension rejses i foråret 2027.\","
    "  \"parents_info\": \"Forældrene ved, at den unge selv er part fra 18 år.\","
    "  \"consent\": {\"basis\": \"law\", \"law_reference\": \"Barnets Lov § 123\"},"
    "  \"actions\": [{\"action\": \"Ansøgning om bostøtte\", \"owner\": \"BUR-H\","
    "   \"due\": \"2026-09-01\"}],"
    "  \"contingency\": \"Hvis forældrene ikke kan passe den unge, så aflastning.\"}}";

static const char mynd_complete[] =
    "{\"citizen\": {\"cpr\": \"010170-1234\", \"name\": \"Test Testesen\"},"
    " \"planned_date\": \"2026-06-01\","
    " \"sections\": {"
    "  \"situation\": \"Har fået tilkendt førtidspension i april 2026.\","
    "  \"background\": \"Ressourceforløb 2022–2025 uden progression i arbejdsevnen.\","
    "  \"assessment\": \"Har brug for bostøtte; sagen hører nu til voksenhandicap.\","
    "  \"employment_status\": \"disability_pension\","
    "  \"consent\": {\"basis\": \"significant_importance\", \"purpose\": \"Bostøtte\"},"
    "  \"actions\": [{\"action\": \"Møde\", \"owner\": \"VH\", \"due\": \"2026-06-15\"}],"
    "  \"contingency\": \"Hvis bostøtten ophører, så kontakt jobcentret.\"}}";

static const char gen_complete[] =
    "{\"citizen\": {\"cpr\": \"010170-1234\", \"name\": \"Test Testesen\"},"
    " \"planned_date\": \"2026-06-01\","
    " \"sections\": {"
    "  \"situation\": \"Flytter til en anden del af kommunen.\","
    "  \"background\": \"Har haft socialpædagogisk støtte i to år.\","
    "  \"assessment\": \"Støtten bør fortsætte i samme omfang.\","
    "  \"consent\": {\"basis\": \"law\", \"law_reference\": \"Serviceloven § 85\"},"
    "  \"actions\": [{\"action\": \"Møde\", \"owner\": \"Modtager\", \"due\": \"2026-06-15\"}]}}";

/* ---- a small directory ---- */

static char *
dn(const char *rdn, const char *name)
{
	char *s;

	if (xasprintf(&s, "%s=%s,dc=stafet,dc=example", rdn, name) < 0)
		fail();
	return s;
}

static struct dir_snapshot *
directory(void)
{
	static const struct {
		const char *code, *department, *parent;
	} units[] = {
	    {"BSF", "BSF", NULL},  {"UR", "BSF", "BSF"},  {"UR-ANB", "BSF", "UR"},
	    {"AEHF", "ÆHF", NULL}, {"VH", "ÆHF", "AEHF"},
	};
	static const struct {
		const char *user, *unit;
	} people[] = {{"anna", "UR-ANB"}, {"bent", "VH"}, {"carl", "UR"}};
	struct dir_records r = {0};
	struct dir_snapshot *s;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct dir_urec *u = dir_records_add_unit(&r);
		u->dn = dn("ou", units[i].code);
		u->code = xstrdup(units[i].code);
		u->name = xstrdup(units[i].code);
		u->department = xstrdup(units[i].department);
		u->parent_dn = units[i].parent ? dn("ou", units[i].parent) : NULL;
	}
	for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
		struct dir_prec *p = dir_records_add_person(&r);
		p->dn = dn("uid", people[i].user);
		if (xasprintf(&p->id, "id-%s", people[i].user) < 0)
			fail();
		p->username = xstrdup(people[i].user);
		p->display_name = xstrdup(people[i].user);
		p->unit_code = xstrdup(people[i].unit);
	}
	s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	assert_non_null(s);
	return s;
}

/* ---- templates ---- */

static int
setup(void **state)
{
	char err[256];

	(void)state;
	for (int i = 0; i < NTEMPLATES; i++) {
		tmpl[i] = template_load(template_files[i], err, sizeof(err));
		if (tmpl[i] == NULL) {
			fprintf(stderr, "%s: %s\n", template_files[i], err);
			return -1;
		}
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NTEMPLATES; i++)
		template_free(tmpl[i]);
	return 0;
}

static void
test_templates_load(void **state)
{
	static const char *const bur_ur_keys[] = {
	    "situation", "background", "assessment", "youth_voice",      "placed",
	    "goals",     "own_room",   "ungeplan",   "support_after_18", "education_plan",
	    "consent",   "actions",    "contingency"};
	static const char *const codes[NTEMPLATES] = {"bur-ur", "burh-voksen", "myndighedssnit",
	                                              "generisk"};
	static const char *const prefixes[NTEMPLATES] = {"BUR-UR", "BURH", "MYND", "GEN"};

	(void)state;
	for (int i = 0; i < NTEMPLATES; i++) {
		assert_non_null(tmpl[i]);
		assert_string_equal(template_code(tmpl[i]), codes[i]);
		assert_string_equal(template_id_prefix(tmpl[i]), prefixes[i]);
		assert_int_equal(template_version_of(tmpl[i]), 1);
		assert_non_null(template_name(tmpl[i]));
		assert_true(json_is_object(template_json(tmpl[i])));
		assert_true(template_has_section(tmpl[i], "situation"));
		assert_true(template_has_section(tmpl[i], "consent"));
		assert_true(template_has_section(tmpl[i], "actions"));
		assert_false(template_has_section(tmpl[i], "citizen"));
	}
	for (size_t i = 0; i < sizeof(bur_ur_keys) / sizeof(bur_ur_keys[0]); i++)
		assert_true(template_has_section(tmpl[T_BUR_UR], bur_ur_keys[i]));
	assert_int_equal(
	    json_array_size(json_object_get(template_json(tmpl[T_BUR_UR]), "sections")),
	    sizeof(bur_ur_keys) / sizeof(bur_ur_keys[0]));
	assert_true(template_has_section(tmpl[T_BURH], "meeting_16"));
	assert_true(template_has_section(tmpl[T_BURH], "benefits"));
	assert_true(template_has_section(tmpl[T_MYND], "employment_status"));
}

/* A valid template with one part replaced; must be refused. */
static void
refused(const char *sections, const char *checks, const char *why)
{
	char *text, err[256] = "";
	json_t *doc;
	struct ho_template *t;

	if (xasprintf(&text,
	              "{\"code\": \"x\", \"version\": 1, \"name\": \"X\", \"id_prefix\": \"X\","
	              " \"sections\": %s, \"checks\": %s}",
	              sections, checks) < 0)
		fail();
	doc = J(text);
	t = template_parse(doc, err, sizeof(err));
	if (t != NULL)
		fail_msg("accepted: %s", why);
	assert_true(err[0] != '\0');
	json_decref(doc);
	free(text);
}

static void
test_bad_templates(void **state)
{
	static const char ok_sections[] =
	    "[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\", \"required\": true},"
	    " {\"key\": \"p\", \"label\": \"P\", \"kind\": \"boolean\"},"
	    " {\"key\": \"g\", \"label\": \"G\", \"kind\": \"goals\","
	    "  \"areas\": [{\"key\": \"bolig\", \"label\": \"Bolig\"}]}]";
	char err[256];
	json_t *doc;
	struct ho_template *t;

	(void)state;
	/* the base is fine */
	doc = J("{\"code\": \"x\", \"version\": 1, \"name\": \"X\", \"id_prefix\": \"X\","
	        " \"sections\": [{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\","
	        "  \"required_if\": {\"section\": \"p\", \"equals\": true}},"
	        " {\"key\": \"p\", \"label\": \"P\", \"kind\": \"boolean\"}], \"checks\": []}");
	t = template_parse(doc, err, sizeof(err));
	assert_non_null(t);
	template_free(t);
	json_decref(doc);

	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"essay\"}]", "[]", "unknown kind");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\"},"
	        " {\"key\": \"a\", \"label\": \"B\", \"kind\": \"date\"}]",
	        "[]", "duplicate key");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\","
	        "  \"required_if\": {\"section\": \"nope\", \"equals\": true}}]",
	        "[]", "required_if naming an unknown section");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\","
	        "  \"required_if\": {\"section\": \"a\", \"equals\": true}}]",
	        "[]", "required_if naming itself");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\"},"
	        " {\"key\": \"b\", \"label\": \"B\", \"kind\": \"text\","
	        "  \"required_if\": {\"section\": \"a\", \"equals\": true}}]",
	        "[]", "required_if on a text section");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\","
	        "  \"required_if\": {\"age_at_least\": \"15\"}}]",
	        "[]", "age_at_least not a number");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\", \"required\": true,"
	        "  \"required_if\": {\"age_at_least\": 15}}]",
	        "[]", "required and required_if");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\", \"colour\": \"red\"}]",
	        "[]", "unknown section field");
	refused("[{\"key\": \"citizen\", \"label\": \"A\", \"kind\": \"text\"}]", "[]",
	        "reserved key");
	refused("[{\"key\": \"c\", \"label\": \"C\", \"kind\": \"choice\"}]", "[]",
	        "choice without options");
	refused("[{\"key\": \"a\", \"label\": \"A\", \"kind\": \"text\", \"max_length\": 70000}]",
	        "[]", "max_length over the hard cap");
	refused("[]", "[]", "no sections");
	refused(ok_sections,
	        "[{\"id\": \"X.a.b\", \"kind\": \"spellcheck\", \"severity\": \"error\","
	        "  \"message\": \"m\"}]",
	        "unknown check kind");
	refused(ok_sections,
	        "[{\"id\": \"X.a.b\", \"kind\": \"actions_complete\", \"severity\": \"error\","
	        "  \"section\": \"a\", \"message\": \"m\"}]",
	        "check on a section of the wrong kind");
	refused(ok_sections,
	        "[{\"id\": \"Y.a\", \"kind\": \"cpr_valid\", \"severity\": \"error\","
	        "  \"message\": \"m\"}]",
	        "id without the prefix");
	refused(ok_sections,
	        "[{\"id\": \"X.c\", \"kind\": \"cpr_valid\", \"severity\": \"fatal\","
	        "  \"message\": \"m\"}]",
	        "unknown severity");
	refused(ok_sections,
	        "[{\"id\": \"X.c\", \"kind\": \"cpr_valid\", \"severity\": \"error\","
	        "  \"message\": \"m\"},"
	        " {\"id\": \"X.c\", \"kind\": \"planned_date_future\", \"severity\": \"error\","
	        "  \"message\": \"m\"}]",
	        "duplicate check id");
	refused(ok_sections,
	        "[{\"id\": \"X.a.required\", \"kind\": \"cpr_valid\", \"severity\": \"error\","
	        "  \"message\": \"m\"}]",
	        "check id colliding with an implicit one");
	refused(ok_sections,
	        "[{\"id\": \"X.age\", \"kind\": \"age_window\", \"severity\": \"error\","
	        "  \"message\": \"m\"}]",
	        "age_window without an age window");
	refused(ok_sections,
	        "[{\"id\": \"X.c\", \"kind\": \"cpr_valid\", \"severity\": \"error\","
	        "  \"message\": \"m\", \"months\": 3}]",
	        "a parameter the kind does not take");

	doc = J("[1, 2]");
	assert_null(template_parse(doc, err, sizeof(err)));
	json_decref(doc);
	assert_null(template_load("schema/templates/does-not-exist.json", err, sizeof(err)));
}

/* ---- notes ---- */

/* "skal", "må" or "bør" outside the »quoted« labels */
static bool
reads_as_order(const char *msg)
{
	char buf[1024] = " ";
	size_t w = 1;
	int depth = 0;

	for (const char *p = msg; *p && w + 1 < sizeof(buf); p++) {
		if (strncmp(p, "»", 2) == 0)
			depth++;
		else if (strncmp(p, "«", 2) == 0 && depth > 0)
			depth--;
		else if (depth == 0)
			buf[w++] = *p;
	}
	buf[w] = '\0';
	return strstr(buf, " skal ") || strstr(buf, " må ") || strstr(buf, " bør ");
}

static void
test_complete_notes(void **state)
{
	static const char *const bur_ur_ids[] = {"BUR-UR.citizen.required",
	                                         "BUR-UR.planned_date.required",
	                                         "BUR-UR.situation.required",
	                                         "BUR-UR.youth_voice.required",
	                                         "BUR-UR.placed.required",
	                                         "BUR-UR.goals.required",
	                                         "BUR-UR.own_room.required",
	                                         "BUR-UR.ungeplan.required",
	                                         "BUR-UR.support_after_18.required",
	                                         "BUR-UR.consent.required",
	                                         "BUR-UR.actions.required",
	                                         "BUR-UR.contingency.required",
	                                         "BUR-UR.citizen.cpr",
	                                         "BUR-UR.citizen.birthdate",
	                                         "BUR-UR.planned_date.age",
	                                         "BUR-UR.planned_date.future",
	                                         "BUR-UR.receiver.person",
	                                         "BUR-UR.goals.uddannelse",
	                                         "BUR-UR.goals.beskaeftigelse",
	                                         "BUR-UR.goals.bolig",
	                                         "BUR-UR.goals.oekonomi",
	                                         "BUR-UR.ungeplan.deadline",
	                                         "BUR-UR.support_after_18.deadline",
	                                         "BUR-UR.consent.recorded",
	                                         "BUR-UR.actions.complete"};
	static const char *const notes[NTEMPLATES] = {bur_ur_complete, burh_complete, mynd_complete,
	                                              gen_complete};
	struct dir_snapshot *dir = directory();
	json_t *problem = json_object();

	(void)state;
	for (int t = 0; t < NTEMPLATES; t++) {
		json_t *note = J(notes[t]), *res, *r;
		struct ho_check_ctx c = ctx_for(t, note);
		int comp = -1, fe = -1;
		size_t i;

		c.dir = dir;
		c.receiving_department = "ÆHF";
		c.labour_market_department = "BSF";
		c.pension_department = "ÆHF";
		c.submit = true;
		assert_int_equal(checks_sections_validate(
		                     tmpl[t], json_object_get(note, "sections"), false, problem),
		                 0);
		res = run(&c, &comp, &fe);
		json_array_foreach (res, i, r) {
			if (!json_is_true(json_object_get(r, "passed")))
				fail_msg("%s: %s failed", template_files[t],
				         json_string_value(json_object_get(r, "id")));
			assert_non_null(json_string_value(json_object_get(r, "message")));
			assert_non_null(json_string_value(json_object_get(r, "section")));
			/* a passed check states a fact, not an order */
			if (reads_as_order(json_string_value(json_object_get(r, "message"))))
				fail_msg("%s: passed, but reads as an order: %s",
				         json_string_value(json_object_get(r, "id")),
				         json_string_value(json_object_get(r, "message")));
			assert_null(json_object_get(r, "sections"));
		}
		assert_int_equal(comp, 100);
		assert_int_equal(fe, 0);
		if (t == T_BUR_UR) {
			for (i = 0; i < sizeof(bur_ur_ids) / sizeof(bur_ur_ids[0]); i++)
				if (outcome(res, bur_ur_ids[i]) != 1)
					fail_msg("%s not listed as passed", bur_ur_ids[i]);
			/* an optional section has no required check */
			assert_int_equal(outcome(res, "BUR-UR.education_plan.required"), -1);
			assert_string_equal(json_string_value(json_object_get(
			                        find(res, "BUR-UR.goals.bolig"), "section")),
			                    "goals");
		}
		if (t == T_BURH) {
			assert_int_equal(outcome(res, "BURH.benefits.matched"), 1);
			assert_int_equal(outcome(res, "BURH.planned_date.before_18"), 1);
			assert_int_equal(outcome(res, "BURH.meeting_16.required"), 1);
		}
		if (t == T_MYND)
			assert_int_equal(outcome(res, "MYND.employment_status.department"), 1);
		json_decref(res);
		json_decref(note);
	}
	assert_null(json_object_get(problem, "errors"));
	json_decref(problem);
	dir_snapshot_unref(dir);
}

static void
test_goals_required_if(void **state)
{
	json_t *note = J(bur_ur_complete);

	(void)state;
	/* 14 at 2026-08-03: no goals needed, and none judged */
	set_citizen(note, "100112-4123", "2012-01-10");
	set_section(note, "goals", NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.required"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.bolig"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.age"), 1);
	/* 15: required and missing: one problem, so the areas wait for it */
	set_citizen(note, "100111-4123", "2011-01-10");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.required"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.bolig"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.uddannelse"), -1);
	/* the birthday decides: 15 on the planned date itself */
	set_citizen(note, "030811-4123", "2011-08-03");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.required"), 0);
	set_citizen(note, "040811-4123", "2011-08-04");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.required"), -1);
	/* an empty list is not filled */
	set_citizen(note, "100111-4123", "2011-01-10");
	set_section(note, "goals", "[]");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.required"), 0);
	json_decref(note);
}

static void
test_placed_required_if(void **state)
{
	json_t *note = J(bur_ur_complete);

	(void)state;
	set_section(note, "own_room", NULL);
	set_section(note, "support_after_18", NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.own_room.required"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.required"), 0);
	/* the missing decision is one problem: the deadline waits for it */
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), -1);
	set_section(note, "support_after_18",
	            "{\"date\": \"2026-10-01\", \"text\": \"Efterværn bevilget.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), 0);
	set_section(note, "support_after_18", NULL);
	set_section(note, "placed", "false");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.own_room.required"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.required"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.placed.required"), 1);
	/* unanswered: placed itself fails, and nothing hangs on it */
	set_section(note, "placed", NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.placed.required"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.own_room.required"), -1);
	json_decref(note);
}

static void
test_ungeplan_required_if(void **state)
{
	json_t *note = J(bur_ur_complete);

	(void)state;
	set_section(note, "ungeplan", NULL);
	/* 15 at the planned date */
	set_citizen(note, "100111-4123", "2011-01-10");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.required"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), -1);
	/* 16 */
	set_citizen(note, "100110-4123", "2010-01-10");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.required"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), -1);
	/* not taken yet: the reason passes "required"; the deadline wants a comment */
	set_section(note, "ungeplan", "{\"empty_reason\": \"ikke truffet endnu\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.required"), 1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), 0);
	set_section(note, "ungeplan",
	            "{\"empty_reason\": \"ikke truffet endnu\", \"comment\": \"Møde 3. juni.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), 1);
	/* a reason the section does not allow is not "deliberately empty" */
	set_section(note, "ungeplan", "{\"empty_reason\": \"ikke relevant\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.required"), 0);
	/* a decision without its text is not filled */
	set_section(note, "ungeplan", "{\"date\": \"2026-02-01\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.required"), 0);
	json_decref(note);
}

static void
test_placeholders(void **state)
{
	static const char *const bad[] = {
	    "\"-\"",
	    "\"Se journal.\"",
	    "\"xx\"",
	    "\"  N/A  \"",
	    "\"Følger\"",
	    "\"FØLGER!\"",
	    "\"ukendt\"",
	    "\"?\"",
	    "\"...\"",
	    "\"\"",
	    "\"   \"",
	    "\"Kort tekst.\"",
	    "\"æææææææææææææææææææææææææææææ\"" /* 29 characters, 58 bytes */};
	json_t *note = J(bur_ur_complete);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_section(note, "situation", bad[i]);
		if (check_one(T_BUR_UR, note, "BUR-UR.situation.required") != 0)
			fail_msg("%s passed", bad[i]);
	}
	/* 30 characters count, not bytes */
	set_section(note, "situation", "\"ææææææææææææææææææææææææææææææ\"");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.situation.required"), 1);
	/* goals, actions and consent judge their texts the same way */
	set_section(
	    note, "goals",
	    "[{\"area\": \"uddannelse\", \"goal\": \"Se journal.\", \"timeframe\": \"2026\"},"
	    " {\"area\": \"bolig\", \"goal\": \"Eget værelse\", \"timeframe\": \"xx\"}]");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.required"), 1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.uddannelse"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.goals.bolig"), 0);
	set_section(note, "actions",
	            "[{\"action\": \"Møde\", \"owner\": \"-\", \"due\": \"2026-07-01\"}]");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.actions.complete"), 0);

	assert_true(checks_text_placeholder("n/a."));
	assert_true(checks_text_placeholder(" Se journalen "));
	assert_true(checks_text_placeholder("--"));
	assert_true(checks_text_placeholder(NULL));
	assert_false(checks_text_placeholder("Ja"));
	assert_false(checks_text_placeholder("Se journal fra 2019 om anbringelsen"));
	assert_false(checks_text_placeholder("ukendt adresse"));
	json_decref(note);
}

static void
test_empty_reasons(void **state)
{
	json_t *s, *p, *err;

	(void)state;
	s = J("{\"education_plan\": {\"empty_reason\": \"ikke relevant\", \"comment\": \"Har "
	      "job.\"}}");
	p = json_object();
	assert_int_equal(checks_sections_validate(tmpl[T_BUR_UR], s, false, p), 0);
	assert_null(json_object_get(p, "errors"));
	json_decref(s);
	json_decref(p);

	s = J("{\"education_plan\": {\"empty_reason\": \"borgeren ønsker det ikke oplyst\"}}");
	p = json_object();
	assert_int_equal(checks_sections_validate(tmpl[T_BUR_UR], s, false, p), 422);
	err = json_array_get(json_object_get(p, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(err, "field")),
	                    "sections.education_plan.empty_reason");
	assert_string_equal(json_string_value(json_object_get(err, "code")), "not_allowed");
	json_decref(s);
	json_decref(p);

	/* a section with no reasons at all */
	s = J("{\"situation\": {\"empty_reason\": \"ikke oplyst\"}}");
	p = json_object();
	assert_int_equal(checks_sections_validate(tmpl[T_BUR_UR], s, false, p), 422);
	json_decref(s);
	json_decref(p);

	/* anything but a comment beside the reason is structure */
	s = J("{\"education_plan\": {\"empty_reason\": \"ikke relevant\", \"why\": \"x\"}}");
	p = json_object();
	assert_int_equal(checks_sections_validate(tmpl[T_BUR_UR], s, false, p), 400);
	json_decref(s);
	json_decref(p);

	/* the allowed reason passes a required section in the checks */
	{
		json_t *note = J(burh_complete);
		assert_int_equal(check_one(T_BURH, note, "BURH.other_matters.required"), 1);
		set_section(note, "other_matters", "{\"empty_reason\": \"ikke oplyst\"}");
		assert_int_equal(check_one(T_BURH, note, "BURH.other_matters.required"), 0);
		json_decref(note);
	}
}

static const char *
first_error(json_t *p, const char *what)
{
	json_t *e = json_array_get(json_object_get(p, "errors"), 0);

	assert_non_null(e);
	return json_string_value(json_object_get(e, what));
}

/* The status and first error of validating `sections` under BUR-UR. */
static void
shape(const char *sections, bool allow_null, int status, const char *field, const char *code)
{
	json_t *s = J(sections), *p = json_problem(400, NULL, NULL);
	int rc = checks_sections_validate(tmpl[T_BUR_UR], s, allow_null, p);

	if (rc != status)
		fail_msg("%s: %d, not %d", sections, rc, status);
	if (field) {
		assert_string_equal(first_error(p, "field"), field);
		assert_string_equal(first_error(p, "code"), code);
		assert_non_null(first_error(p, "message"));
	}
	json_decref(s);
	json_decref(p);
}

static void
test_shape(void **state)
{
	char *many, *w, *big;

	(void)state;
	shape("[]", false, 400, "sections", "type");
	shape("{}", false, 0, NULL, NULL);
	shape("{\"hobby\": \"fodbold\"}", false, 400, "sections.hobby", "unknown");
	shape("{\"situation\": 5}", false, 400, "sections.situation", "type");
	shape("{\"placed\": \"ja\"}", false, 400, "sections.placed", "type");
	shape("{\"goals\": {\"area\": \"bolig\"}}", false, 400, "sections.goals", "type");
	shape("{\"goals\": [{\"area\": \"bolig\", \"goal\": \"x\", \"deadline\": \"y\"}]}", false,
	      400, "sections.goals.0.deadline", "unknown");
	shape("{\"goals\": [{\"area\": \"bolig\", \"goal\": 7}]}", false, 400,
	      "sections.goals.0.goal", "type");
	shape("{\"goals\": [{\"area\": \"sport\", \"goal\": \"x\"}]}", false, 422,
	      "sections.goals.0.area", "invalid");
	shape("{\"actions\": [{\"action\": \"x\", \"due\": \"2026-02-30\"}]}", false, 422,
	      "sections.actions.0.due", "invalid");
	shape("{\"actions\": [{\"action\": \"x\", \"due\": 20260201}]}", false, 400,
	      "sections.actions.0.due", "type");
	shape("{\"consent\": {\"basis\": \"mood\"}}", false, 422, "sections.consent.basis",
	      "invalid");
	shape("{\"consent\": {\"basis\": \"consent\", \"withdrawn\": \"no\"}}", false, 400,
	      "sections.consent.withdrawn", "type");
	shape("{\"ungeplan\": {\"date\": \"2025-13-01\", \"text\": \"x\"}}", false, 422,
	      "sections.ungeplan.date", "invalid");
	shape("{\"ungeplan\": \"2025-05-01\"}", false, 400, "sections.ungeplan", "type");
	shape("{\"situation\": null}", false, 400, "sections.situation", "type");
	shape("{\"situation\": null}", true, 0, NULL, NULL);
	/* both kinds: 400 wins */
	shape("{\"goals\": [{\"area\": \"sport\"}], \"situation\": 5}", false, 400, NULL, NULL);

	/* too many goals */
	many = xmalloc(51 * 32 + 16);
	w = many + sprintf(many, "{\"goals\": [");
	for (int i = 0; i < 51; i++)
		w += sprintf(w, "%s{\"area\": \"bolig\"}", i ? "," : "");
	sprintf(w, "]}");
	shape(many, false, 400, "sections.goals", "too_many");
	free(many);

	/* text over max_length (20000 bytes by default) */
	big = xmalloc(20001 + 32);
	w = big + sprintf(big, "{\"situation\": \"");
	memset(w, 'a', 20001);
	w += 20001;
	sprintf(w, "\"}");
	shape(big, false, 422, "sections.situation", "too_long");
	big[strlen("{\"situation\": \"") + 20000] = '"';
	big[strlen("{\"situation\": \"") + 20001] = '}';
	big[strlen("{\"situation\": \"") + 20002] = '\0';
	shape(big, false, 0, NULL, NULL);
	free(big);

	/* MYND: a choice among the options */
	{
		json_t *s = J("{\"employment_status\": \"unemployed\"}"), *p = json_object();
		assert_int_equal(checks_sections_validate(tmpl[T_MYND], s, false, p), 422);
		assert_string_equal(first_error(p, "field"), "sections.employment_status");
		json_decref(s);
		json_decref(p);
	}
}

static void
test_goals_per_area(void **state)
{
	json_t *note = J(bur_ur_complete), *res, *r;
	struct ho_check_ctx c;
	int comp, fe;

	(void)state;
	/* drop the housing goal */
	json_array_remove(json_object_get(json_object_get(note, "sections"), "goals"), 2);
	c = ctx_for(T_BUR_UR, note);
	res = run(&c, &comp, &fe);
	assert_int_equal(outcome(res, "BUR-UR.goals.bolig"), 0);
	assert_int_equal(outcome(res, "BUR-UR.goals.uddannelse"), 1);
	assert_int_equal(outcome(res, "BUR-UR.goals.beskaeftigelse"), 1);
	assert_int_equal(outcome(res, "BUR-UR.goals.oekonomi"), 1);
	assert_int_equal(outcome(res, "BUR-UR.goals.required"), 1);
	r = find(res, "BUR-UR.goals.bolig");
	assert_string_equal(json_string_value(json_object_get(r, "severity")), "error");
	assert_string_equal(json_string_value(json_object_get(r, "section")), "goals");
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")), "Bolig"));
	assert_int_equal(fe, 1);
	assert_true(comp < 100);
	/* completeness = floor(100 * passed / listed) */
	assert_int_equal(comp, (int)(100 * (json_array_size(res) - 1) / json_array_size(res)));
	json_decref(res);
	json_decref(note);
}

static void
test_deadlines(void **state)
{
	json_t *note = J(bur_ur_complete);

	(void)state;
	/* 16th birthday 2025-03-14: 2 months after is in time, 4 is late */
	set_section(note, "ungeplan", "{\"date\": \"2025-05-14\", \"text\": \"Ungeplan.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), 1);
	set_section(note, "ungeplan", "{\"date\": \"2025-06-14\", \"text\": \"Ungeplan.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), 1);
	set_section(note, "ungeplan", "{\"date\": \"2025-06-15\", \"text\": \"Ungeplan.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), 0);
	set_section(note, "ungeplan", "{\"date\": \"2025-07-14\", \"text\": \"Ungeplan.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), 0);
	/* the late decision is still a decision: "required" passes */
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.required"), 1);

	/* 18th birthday 2027-03-14: 7 months before is in time, 5 is late */
	set_section(note, "support_after_18",
	            "{\"date\": \"2026-08-14\", \"text\": \"Efterværn.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), 1);
	set_section(note, "support_after_18",
	            "{\"date\": \"2026-09-14\", \"text\": \"Efterværn.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), 1);
	set_section(note, "support_after_18",
	            "{\"date\": \"2026-10-14\", \"text\": \"Efterværn.\"}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), 0);
	/* without a birth date the deadlines cannot be judged */
	set_citizen(note, NULL, NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.support_after_18.deadline"), -1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.ungeplan.deadline"), -1);
	json_decref(note);
}

static void
test_cpr(void **state)
{
	json_t *note = J(bur_ur_complete);
	char b[11];

	(void)state;
	/* the note's number fails modulus 11 and is still fine */
	assert_false(mod11("140309-4123"));
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.cpr"), 1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.birthdate"), 1);
	/* 31 February does not exist */
	set_citizen(note, "310209-4123", NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.cpr"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.birthdate"), -1);
	set_citizen(note, "14030941", NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.cpr"), 0);
	/* inconsistent with the birth date */
	set_citizen(note, "140309-4123", "2009-03-15");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.cpr"), 1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.birthdate"), 0);
	/* the century from the 7th digit: 140309-3123 is born in 1909 */
	set_citizen(note, "1403093123", "2009-03-14");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.birthdate"), 0);
	/* the birth date from the CPR number alone drives the age checks */
	set_citizen(note, "1403094123", NULL);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.age"), 1);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.birthdate"), -1);
	assert_int_equal(checks_note_birthdate(note, b), 0);
	assert_string_equal(b, "2009-03-14");
	/* no number: the citizen is incomplete, and the number check is not listed */
	set_citizen(note, NULL, "2009-03-14");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.required"), 0);
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.cpr"), -1);
	json_object_del(json_object_get(note, "citizen"), "name");
	set_citizen(note, "140309-4123", "2009-03-14");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.citizen.required"), 0);
	json_decref(note);
}

static void
test_age_window(void **state)
{
	json_t *note = J(bur_ur_complete);
	json_t *res;
	struct ho_check_ctx c;

	(void)state;
	set_citizen(note, "100106-4123", "2006-01-10"); /* 20 */
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.age"), 0);
	set_citizen(note, "040807-4123", "2007-08-04"); /* 18, a day short of 19 */
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.age"), 1);
	set_citizen(note, "100113-4123", "2013-01-10"); /* 13 */
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.age"), 0);
	c = ctx_for(T_BUR_UR, note);
	res = run(&c, NULL, NULL);
	assert_non_null(strstr(
	    json_string_value(json_object_get(find(res, "BUR-UR.planned_date.age"), "message")),
	    "mellem 14 og 19 år"));
	json_decref(res);
	json_decref(note);
}

static void
test_myndighedssnit(void **state)
{
	json_t *note = J(mynd_complete), *res, *r;
	struct ho_check_ctx c = ctx_for(T_MYND, note);
	const char *msg;

	(void)state;
	c.labour_market_department = "BSF";
	c.pension_department = "ÆHF";
	/* BSF -> ÆHF with a disability pension: right */
	c.receiving_department = "ÆHF";
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "MYND.employment_status.department"), 1);
	json_decref(res);
	/* ÆHF -> BSF with a disability pension: wrong; the case is ÆHF's */
	c.receiving_department = "BSF";
	res = run(&c, NULL, NULL);
	r = find(res, "MYND.employment_status.department");
	assert_non_null(r);
	assert_false(json_is_true(json_object_get(r, "passed")));
	msg = json_string_value(json_object_get(r, "message"));
	assert_non_null(strstr(msg, "ÆHF"));
	assert_null(strstr(msg, "{department}"));
	json_decref(res);
	/* in a job: BSF's */
	set_section(note, "employment_status", "\"job\"");
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "MYND.employment_status.department"), 1);
	json_decref(res);
	c.receiving_department = "ÆHF";
	res = run(&c, NULL, NULL);
	r = find(res, "MYND.employment_status.department");
	assert_false(json_is_true(json_object_get(r, "passed")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")), "BSF"));
	json_decref(res);
	set_section(note, "employment_status", "\"pension_assessment\"");
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "MYND.employment_status.department"),
	                 0);
	json_decref(res);
	set_section(note, "employment_status", "\"old_age_pension\"");
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "MYND.employment_status.department"),
	                 1);
	json_decref(res);
	/* without the route's rule, or with no status, it is not judged */
	c.pension_department = NULL;
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "MYND.employment_status.department"),
	                 -1);
	json_decref(res);
	c.pension_department = "ÆHF";
	set_section(note, "employment_status", NULL);
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "MYND.employment_status.department"), -1);
	assert_int_equal(outcome(res, "MYND.employment_status.required"), 0);
	json_decref(res);
	json_decref(note);
}

static void
test_benefits(void **state)
{
	json_t *note = J(burh_complete);

	(void)state;
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.matched"), 1);
	set_section(note, "benefits",
	            "[{\"child_benefit\": \"Merudgifter\", \"adult_benefit\": \"Merudgifter\"},"
	            " {\"child_benefit\": \"Tabt arbejdsfortjeneste\", \"adult_benefit\": null}]");
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.matched"), 0);
	set_section(note, "benefits",
	            "[{\"child_benefit\": \"Tabt arbejdsfortjeneste\", \"adult_benefit\": \"\","
	            "  \"ends_without_successor\": false}]");
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.matched"), 0);
	set_section(note, "benefits", "[]");
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.required"), 0);
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.matched"), -1);
	set_section(note, "benefits", "{\"empty_reason\": \"ikke relevant\"}");
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.required"), 1);
	assert_int_equal(check_one(T_BURH, note, "BURH.benefits.matched"), -1);
	/* planned after the 18th birthday (2027-03-14): a warning */
	json_object_set_new(note, "planned_date", json_string("2027-03-15"));
	assert_int_equal(check_one(T_BURH, note, "BURH.planned_date.before_18"), 0);
	json_object_set_new(note, "planned_date", json_string("2027-03-14"));
	assert_int_equal(check_one(T_BURH, note, "BURH.planned_date.before_18"), 1);
	json_decref(note);
}

static void
test_consent(void **state)
{
	static const struct {
		const char *consent;
		int passed;
	} cases[] = {
	    {"{\"basis\": \"consent\", \"date\": \"2026-04-20\", \"purpose\": \"Overdragelse\","
	     " \"recipients\": \"UR\"}",
	     1},
	    {"{\"basis\": \"consent\", \"date\": \"2026-04-20\", \"purpose\": \"Overdragelse\","
	     " \"recipients\": \"UR\", \"withdrawn\": true}",
	     0},
	    {"{\"basis\": \"consent\", \"purpose\": \"Overdragelse\", \"recipients\": \"UR\"}", 0},
	    {"{\"basis\": \"consent\", \"date\": \"2026-04-20\", \"purpose\": \"Overdragelse\"}",
	     0},
	    {"{\"basis\": \"law\", \"law_reference\": \"Barnets Lov § 111\"}", 1},
	    {"{\"basis\": \"law\"}", 0},
	    {"{\"basis\": \"significant_importance\", \"purpose\": \"Akut behov\"}", 1},
	    {"{\"basis\": \"significant_importance\", \"purpose\": \"ukendt\"}", 0},
	    {"{}", -1}, /* no basis: the required check's problem, listed once */
	};
	json_t *note = J(bur_ur_complete);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_section(note, "consent", cases[i].consent);
		if (check_one(T_BUR_UR, note, "BUR-UR.consent.recorded") != cases[i].passed)
			fail_msg("consent case %zu", i);
	}
	set_section(note, "consent", "{}");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.consent.required"), 0);
	json_decref(note);
}

static void
test_actions(void **state)
{
	json_t *note = J(gen_complete);

	(void)state;
	assert_int_equal(check_one(T_GEN, note, "GEN.actions.complete"), 1);
	set_section(note, "actions",
	            "[{\"action\": \"Møde\", \"owner\": \"UR\", \"due\": \"2026-06-15\"},"
	            " {\"action\": \"Ring\", \"owner\": \"UR\"}]");
	assert_int_equal(check_one(T_GEN, note, "GEN.actions.complete"), 0);
	set_section(note, "actions", "[]");
	assert_int_equal(check_one(T_GEN, note, "GEN.actions.complete"), -1);
	assert_int_equal(check_one(T_GEN, note, "GEN.actions.required"), 0);
	/* an optional section is not listed, filled or not */
	assert_int_equal(check_one(T_GEN, note, "GEN.contingency.required"), -1);
	json_decref(note);
}

static void
test_planned_date(void **state)
{
	json_t *note = J(bur_ur_complete), *res, *r;
	struct ho_check_ctx c;
	int fe;

	(void)state;
	json_object_set_new(note, "planned_date", json_string("2026-04-30")); /* today: 05-01 */
	c = ctx_for(T_BUR_UR, note);
	res = run(&c, NULL, &fe);
	r = find(res, "BUR-UR.planned_date.future");
	assert_false(json_is_true(json_object_get(r, "passed")));
	assert_string_equal(json_string_value(json_object_get(r, "severity")), "warning");
	assert_int_equal(fe, 0);
	json_decref(res);
	c.submit = true;
	res = run(&c, NULL, &fe);
	r = find(res, "BUR-UR.planned_date.future");
	assert_false(json_is_true(json_object_get(r, "passed")));
	assert_string_equal(json_string_value(json_object_get(r, "severity")), "error");
	assert_int_equal(fe, 1);
	json_decref(res);
	/* today itself is fine */
	json_object_set_new(note, "planned_date", json_string("2026-05-01"));
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.future"), 1);
	/* missing: the date is required, and what needs it is not listed */
	json_object_del(note, "planned_date");
	c.submit = false;
	res = run(&c, NULL, &fe);
	assert_int_equal(outcome(res, "BUR-UR.planned_date.required"), 0);
	assert_int_equal(outcome(res, "BUR-UR.planned_date.future"), -1);
	assert_int_equal(outcome(res, "BUR-UR.planned_date.age"), -1);
	assert_int_equal(outcome(res, "BUR-UR.goals.required"), -1);
	assert_int_equal(outcome(res, "BUR-UR.ungeplan.deadline"), -1);
	assert_string_equal(json_string_value(json_object_get(
	                        find(res, "BUR-UR.planned_date.required"), "section")),
	                    "planned_date");
	assert_true(fe >= 1);
	json_decref(res);
	json_object_set_new(note, "planned_date", json_string("2026-02-30"));
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.planned_date.required"), 0);
	json_decref(note);
}

static void
test_receiver(void **state)
{
	struct dir_snapshot *dir = directory();
	json_t *note = J(gen_complete), *recv, *res, *r;
	struct ho_check_ctx c = ctx_for(T_GEN, note);

	(void)state;
	recv = J("{\"unit\": \"UR\", \"person\": \"id-anna\"}");
	json_object_set_new(note, "receiver", recv);
	/* no snapshot: not judged */
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "GEN.receiver.person"), -1);
	json_decref(res);
	c.dir = dir;
	/* in a unit below UR */
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "GEN.receiver.person"), 1);
	json_decref(res);
	json_object_set_new(recv, "person", J("{\"id\": \"id-carl\", \"display_name\": \"c\"}"));
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "GEN.receiver.person"), 1);
	json_decref(res);
	/* UR-ANB does not hold a person of UR */
	json_object_set_new(recv, "unit", json_string("UR-ANB"));
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "GEN.receiver.person"), 0);
	json_decref(res);
	/* another department */
	json_object_set_new(recv, "unit", json_string("UR"));
	json_object_set_new(recv, "person", json_string("id-bent"));
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "GEN.receiver.person"), 0);
	json_decref(res);
	/* not in the directory */
	json_object_set_new(recv, "person", json_string("id-nobody"));
	res = run(&c, NULL, NULL);
	r = find(res, "GEN.receiver.person");
	assert_false(json_is_true(json_object_get(r, "passed")));
	assert_non_null(
	    strstr(json_string_value(json_object_get(r, "message")), "findes ikke i kataloget"));
	json_decref(res);
	/* no unit named: the person's existence is all that passes */
	json_object_set_new(recv, "person", json_string("id-anna"));
	json_object_del(recv, "unit");
	res = run(&c, NULL, NULL);
	r = find(res, "GEN.receiver.person");
	assert_true(json_is_true(json_object_get(r, "passed")));
	assert_string_equal(json_string_value(json_object_get(r, "message")),
	                    "Den navngivne modtager findes i kataloget.");
	json_decref(res);
	/* no named person: not judged */
	json_object_set_new(recv, "person", json_null());
	assert_int_equal(outcome(res = run(&c, NULL, NULL), "GEN.receiver.person"), -1);
	json_decref(res);
	json_decref(note);
	dir_snapshot_unref(dir);
}

static void
test_missing_inputs(void **state)
{
	json_t *note = J("{}"), *res;
	struct ho_check_ctx c = ctx_for(T_BUR_UR, note);
	int comp, fe;

	(void)state;
	res = run(&c, &comp, &fe);
	assert_int_equal(outcome(res, "BUR-UR.citizen.required"), 0);
	assert_int_equal(outcome(res, "BUR-UR.planned_date.required"), 0);
	assert_int_equal(outcome(res, "BUR-UR.situation.required"), 0);
	assert_int_equal(outcome(res, "BUR-UR.citizen.cpr"), -1);
	assert_int_equal(outcome(res, "BUR-UR.planned_date.age"), -1);
	assert_int_equal(outcome(res, "BUR-UR.goals.required"), -1);
	assert_int_equal(outcome(res, "BUR-UR.own_room.required"), -1);
	/* a missing section is one problem: its content checks wait */
	assert_int_equal(outcome(res, "BUR-UR.consent.required"), 0);
	assert_int_equal(outcome(res, "BUR-UR.consent.recorded"), -1);
	assert_int_equal(outcome(res, "BUR-UR.actions.required"), 0);
	assert_int_equal(outcome(res, "BUR-UR.actions.complete"), -1);
	assert_int_equal(comp, 0);
	assert_int_equal(fe, (int)json_array_size(res));
	json_decref(res);
	json_decref(note);

	/* no note at all, and every part of the wrong type */
	c.note = NULL;
	res = run(&c, &comp, NULL);
	assert_int_equal(outcome(res, "BUR-UR.citizen.required"), 0);
	json_decref(res);
	note = J("{\"citizen\": 7, \"planned_date\": [], \"receiver\": \"UR\", \"sections\": 3}");
	c.note = note;
	res = run(&c, &comp, NULL);
	assert_int_equal(comp, 0);
	json_decref(res);
	json_decref(note);
	note = J("{\"sections\": {\"goals\": [1, \"x\", {\"area\": 5}], \"actions\": {\"a\": 1},"
	         " \"consent\": [], \"ungeplan\": \"x\", \"placed\": \"yes\"}}");
	c.note = note;
	res = run(&c, &comp, NULL);
	assert_int_equal(comp, 0);
	json_decref(res);
	json_decref(note);
	/* no template: nothing listed */
	c.tmpl = NULL;
	res = run(&c, &comp, &fe);
	assert_int_equal(json_array_size(res), 0);
	assert_int_equal(comp, 100);
	assert_int_equal(fe, 0);
	json_decref(res);
}

/* No CPR number, name or note text in any message. */
static void
test_no_personal_data(void **state)
{
	json_t *note = J(bur_ur_complete), *res, *r;
	struct ho_check_ctx c = ctx_for(T_BUR_UR, note);
	size_t i;

	(void)state;
	/* fail as much as possible with distinctive text */
	set_section(note, "situation", "\"Hemmelig\"");
	set_section(note, "goals", "[{\"area\": \"bolig\", \"goal\": \"Hemmelig\"}]");
	set_citizen(note, "140309-4123", "2009-03-15");
	json_object_set_new(note, "planned_date", json_string("2026-04-01"));
	c.submit = true;
	res = run(&c, NULL, NULL);
	json_array_foreach (res, i, r) {
		const char *m = json_string_value(json_object_get(r, "message"));
		assert_non_null(m);
		assert_true(strlen(m) > 10);
		assert_null(strstr(m, "1403"));
		assert_null(strstr(m, "Testesen"));
		assert_null(strstr(m, "Hemmelig"));
		assert_null(strstr(m, "2009"));
	}
	json_decref(res);
	json_decref(note);
}

static void
test_age_on(void **state)
{
	(void)state;
	assert_int_equal(checks_age_on("2009-03-14", "2026-03-13"), 16);
	assert_int_equal(checks_age_on("2009-03-14", "2026-03-14"), 17);
	assert_int_equal(checks_age_on("2008-02-29", "2009-02-28"), 0);
	assert_int_equal(checks_age_on("2008-02-29", "2009-03-01"), 1);
	assert_int_equal(checks_age_on("2008-02-29", "2026-02-28"), 17);
	assert_int_equal(checks_age_on("2008-02-29", "2026-03-01"), 18);
	assert_int_equal(checks_age_on("2008-02-29", "2024-02-29"), 16);
	assert_int_equal(checks_age_on("2008-02-29", "2024-02-28"), 15);
	assert_int_equal(checks_age_on("2009-03-14", "2009-03-14"), 0);
	assert_int_equal(checks_age_on("2009-03-14", "2009-03-13"), -1);
	assert_int_equal(checks_age_on("2009-02-30", "2026-01-01"), -1);
	assert_int_equal(checks_age_on("2009-03-14", "26-01-01"), -1);
	assert_int_equal(checks_age_on(NULL, "2026-01-01"), -1);
}

static void
test_add_months(void **state)
{
	char out[11];

	(void)state;
	assert_int_equal(checks_date_add_months("2024-01-31", 1, out), 0);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(checks_date_add_months("2023-01-31", 1, out), 0);
	assert_string_equal(out, "2023-02-28");
	assert_int_equal(checks_date_add_months("2024-03-31", -1, out), 0);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(checks_date_add_months("2025-11-15", 3, out), 0);
	assert_string_equal(out, "2026-02-15");
	assert_int_equal(checks_date_add_months("2026-03-14", -6, out), 0);
	assert_string_equal(out, "2025-09-14");
	assert_int_equal(checks_date_add_months("2025-01-01", -1, out), 0);
	assert_string_equal(out, "2024-12-01");
	assert_int_equal(checks_date_add_months("2009-03-14", 12 * 18 - 6, out), 0);
	assert_string_equal(out, "2026-09-14");
	assert_int_equal(checks_date_add_months("2008-02-29", 12 * 16 + 3, out), 0);
	assert_string_equal(out, "2024-05-29");
	assert_int_equal(checks_date_add_months("2024-05-31", 0, out), 0);
	assert_string_equal(out, "2024-05-31");
	assert_int_equal(checks_date_add_months("2024-02-30", 1, out), -1);
	assert_int_equal(checks_date_add_months("2199-12-01", 1, out), -1);
	assert_int_equal(checks_date_add_months("", 1, out), -1);
}

/* The message follows the outcome: the fact when passed, what to do when
 * failed. */
static void
test_messages_follow_outcome(void **state)
{
	json_t *note = J(bur_ur_complete), *res;
	struct ho_check_ctx c = ctx_for(T_BUR_UR, note);

	(void)state;
	res = run(&c, NULL, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.citizen.required"), "message")),
	    "Borgerens CPR-nummer og navn er udfyldt.");
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.situation.required"), "message")),
	    "Afsnittet »Situation« er udfyldt.");
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.goals.bolig"), "message")),
	    "Handleplanen har et konkret mål for området »Bolig« med en tidsramme (Barnets Lov "
	    "§ 109).");
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.planned_date.age"), "message")),
	    "Den unge er mellem 14 og 19 år på den planlagte overdragelsesdato.");
	json_decref(res);

	json_object_set_new(json_object_get(note, "citizen"), "name", json_string(""));
	set_section(note, "situation", "\"se journal\"");
	set_section(note, "goals",
	            "[{\"area\": \"uddannelse\", \"goal\": \"EUD\","
	            " \"timeframe\": \"2026\"}]");
	set_section(note, "ungeplan",
	            "{\"empty_reason\": \"ikke truffet endnu\", \"comment\": \"Møde i juni.\"}");
	res = run(&c, NULL, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.citizen.required"), "message")),
	    "Udfyld borgerens CPR-nummer og navn.");
	assert_non_null(strstr(
	    json_string_value(json_object_get(find(res, "BUR-UR.situation.required"), "message")),
	    "skal udfyldes"));
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.goals.bolig"), "message")),
	    "Handleplanen skal have et konkret mål for området »Bolig« med en tidsramme (Barnets "
	    "Lov § 109).");
	/* deliberately empty: the fact names the reason */
	assert_int_equal(outcome(res, "BUR-UR.ungeplan.required"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(find(res, "BUR-UR.ungeplan.required"), "message")),
	    "Afsnittet »Afgørelse om ungeplan« er markeret som tomt: »ikke truffet endnu«.");
	json_decref(res);
	json_decref(note);
}

/* One result per problem: a missing consent or actions section is its
 * required check alone. */
static void
test_one_entry_per_problem(void **state)
{
	json_t *note = J(bur_ur_complete), *res, *r;
	struct ho_check_ctx c = ctx_for(T_BUR_UR, note);
	size_t i, consent = 0, actions = 0;

	(void)state;
	set_section(note, "consent", NULL);
	set_section(note, "actions", NULL);
	res = run(&c, NULL, NULL);
	json_array_foreach (res, i, r) {
		const char *sec = json_string_value(json_object_get(r, "section"));
		if (json_is_true(json_object_get(r, "passed")))
			continue;
		consent += strcmp(sec, "consent") == 0;
		actions += strcmp(sec, "actions") == 0;
	}
	assert_int_equal(consent, 1);
	assert_int_equal(actions, 1);
	json_decref(res);
	/* filled but incomplete: now the content check speaks, once */
	set_section(note, "consent", "{\"basis\": \"law\"}");
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "BUR-UR.consent.required"), 1);
	assert_int_equal(outcome(res, "BUR-UR.consent.recorded"), 0);
	json_decref(res);
	json_decref(note);
}

static void
test_text_similarity(void **state)
{
	char *n;

	(void)state;
	n = checks_text_normalise("  Hej, MED dig!  Ærø og Øster-Åby...  ");
	assert_string_equal(n, "hej med dig ærø og øster åby");
	free(n);
	n = checks_text_normalise("");
	assert_string_equal(n, "");
	free(n);
	assert_true(checks_text_similarity("a b c d e", "a b c d e") == 1.0);
	assert_true(checks_text_similarity("a b c d e", "v w x y z") == 0.0);
	/* one word of many changed: still near-identical */
	assert_true(checks_text_similarity("den unge går i skole og trives godt med kammerater og "
	                                   "lærere hver dag i ugen hele året rundt",
	                                   "den unge går i skole og trives godt med kammerater og "
	                                   "lærere hver dag i ugen hele året igennem") >= 0.8);
	/* the same words in another order are not */
	assert_true(checks_text_similarity("a b c d e f g h", "h g f e d c b a") < 0.8);
	/* fewer words than a shingle: compared whole */
	assert_true(checks_text_similarity("a b", "a b") == 1.0);
	assert_true(checks_text_similarity("a b", "a c") == 0.0);
}

static size_t
text_chars(const char *s)
{
	return checks_text_chars(s, strlen(s));
}

/* Filler does not count towards min_length. */
static void
test_filler_not_counted(void **state)
{
	static const char *const fill = "bla bla bla bla bla bla bla bla bla bla bla bla bla";
	json_t *note = J(bur_ur_complete);

	(void)state;
	assert_int_equal(text_chars("Hej med dig"), 11);
	assert_int_equal(text_chars("  Hej   med\n dig "), 11);
	assert_int_equal(text_chars("test test TEST test."), 4);
	assert_int_equal(text_chars("Meget, meget godt"), 11);
	assert_int_equal(text_chars("aaaaaaaaaaaaaaaa"), 2);
	assert_int_equal(text_chars("Lærer lærer skole"), 11);
	assert_int_equal(text_chars(""), 0);
	/* 51 characters, 3 counted: not the 30 the section asks */
	assert_true(strlen(fill) >= 30);
	set_section(note, "situation", "\"bla bla bla bla bla bla bla bla bla bla bla bla bla\"");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.situation.required"), 0);
	set_section(note, "situation", "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.situation.required"), 0);
	/* a real sentence of that length passes */
	set_section(note, "situation", "\"Går i 10. klasse og afslutter skolen til sommer.\"");
	assert_int_equal(check_one(T_BUR_UR, note, "BUR-UR.situation.required"), 1);
	json_decref(note);
}

static void
test_near_identical_sections(void **state)
{
	static const char same[] = "\"Borgeren har brug for hjælp og støtte i hverdagen, og det "
	                           "skal fortsætte efter overdragelsen.\"";
	static const char *const text_keys[] = {"situation",   "background", "assessment",
	                                        "youth_voice", "own_room",   "contingency"};
	json_t *note = J(bur_ur_complete), *res, *r, *keys;
	struct ho_check_ctx c = ctx_for(T_BUR_UR, note);
	int comp, fe, fe_before;
	size_t i, n = 0;

	(void)state;
	res = run(&c, NULL, &fe_before);
	json_array_foreach (res, i, r)
		assert_null(strstr(json_string_value(json_object_get(r, "id")), ".similar"));
	json_decref(res);

	/* the same sentence pasted into every text section */
	for (i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++)
		set_section(note, text_keys[i], same);
	set_section(note, "ungeplan",
	            "{\"date\": \"2025-05-14\", \"text\": \"BORGEREN har brug for hjælp og "
	            "støtte i hverdagen - og det skal fortsætte efter overdragelsen!\"}");
	res = run(&c, &comp, &fe);
	assert_int_equal(fe, fe_before); /* a warning: nothing more blocks a submit */
	assert_true(comp < 100);
	json_array_foreach (res, i, r) {
		if (strstr(json_string_value(json_object_get(r, "id")), ".similar") == NULL)
			continue;
		n++;
		assert_string_equal(json_string_value(json_object_get(r, "id")),
		                    "BUR-UR.situation.similar");
		assert_string_equal(json_string_value(json_object_get(r, "severity")), "warning");
		assert_string_equal(json_string_value(json_object_get(r, "section")), "situation");
		assert_false(json_is_true(json_object_get(r, "passed")));
		keys = json_object_get(r, "sections");
		assert_int_equal(json_array_size(keys), 7);
		assert_string_equal(json_string_value(json_array_get(keys, 0)), "situation");
		assert_string_equal(json_string_value(json_array_get(keys, 6)), "contingency");
		assert_non_null(strstr(json_string_value(json_object_get(r, "message")),
		                       "Afsnittene »Situation«, »Baggrund«, "));
		assert_non_null(strstr(json_string_value(json_object_get(r, "message")),
		                       " og »Hvis–så« har næsten samme tekst. Skriv hvert afsnit "
		                       "for sig."));
		assert_null(strstr(json_string_value(json_object_get(r, "message")), "Borgeren"));
	}
	assert_int_equal(n, 1);
	json_decref(res);

	/* two groups: each its own warning */
	set_section(note, "situation",
	            "\"Går i 10. klasse og afslutter grundskolen til sommer "
	            "og vil gerne videre på en erhvervsuddannelse.\"");
	set_section(note, "background",
	            "\"går i 10. klasse, og afslutter grundskolen til sommer "
	            "og vil gerne videre på en erhvervsuddannelse\"");
	res = run(&c, NULL, NULL);
	assert_int_equal(outcome(res, "BUR-UR.situation.similar"), 0);
	assert_int_equal(
	    json_array_size(json_object_get(find(res, "BUR-UR.situation.similar"), "sections")), 2);
	assert_int_equal(outcome(res, "BUR-UR.assessment.similar"), 0);
	json_decref(res);

	/* short texts are not compared */
	for (i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++)
		set_section(note, text_keys[i], "\"Ingen bemærkninger her.\"");
	set_section(note, "ungeplan", "{\"date\": \"2025-05-14\", \"text\": \"Ja.\"}");
	res = run(&c, NULL, NULL);
	json_array_foreach (res, i, r)
		assert_null(strstr(json_string_value(json_object_get(r, "id")), ".similar"));
	json_decref(res);
	json_decref(note);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_templates_load),
	    cmocka_unit_test(test_bad_templates),
	    cmocka_unit_test(test_complete_notes),
	    cmocka_unit_test(test_goals_required_if),
	    cmocka_unit_test(test_placed_required_if),
	    cmocka_unit_test(test_ungeplan_required_if),
	    cmocka_unit_test(test_placeholders),
	    cmocka_unit_test(test_empty_reasons),
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_goals_per_area),
	    cmocka_unit_test(test_deadlines),
	    cmocka_unit_test(test_cpr),
	    cmocka_unit_test(test_age_window),
	    cmocka_unit_test(test_myndighedssnit),
	    cmocka_unit_test(test_benefits),
	    cmocka_unit_test(test_consent),
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_planned_date),
	    cmocka_unit_test(test_receiver),
	    cmocka_unit_test(test_missing_inputs),
	    cmocka_unit_test(test_no_personal_data),
	    cmocka_unit_test(test_age_on),
	    cmocka_unit_test(test_add_months),
	    cmocka_unit_test(test_messages_follow_outcome),
	    cmocka_unit_test(test_one_entry_per_problem),
	    cmocka_unit_test(test_text_similarity),
	    cmocka_unit_test(test_near_identical_sections),
	    cmocka_unit_test(test_filler_not_counted),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("checks", tests, setup, teardown);
}
