/*
 * fuzz_checks.c: a fuzzed note body judged against the real templates
 * (schema/templates/, compiled in as the daemon seeds them): the
 * handlers' reader api_handovers_read_fields() with checks_sections_validate(), then
 * every quality check (checks_run()) against a small directory. The
 * first byte picks the template and the mode (patch, strict, submit), the
 * rest is the body.
 *
 * Held to: 0, 400 or 422, and errors exactly when not 0, each naming a
 * field with a known code; checks with unique ids under the template's
 * prefix, counts that add up; and no text of the note (a CPR number, a
 * name, a section's text) in any message or field name: those reach logs
 * and other people.
 */
#include "fuzz_common.h"
#include "stafetd.h"
#include "directory.h"
#include "checks.h"
#include "handover.h"
#include "api.h"

#define MAX_TEMPLATES 16

static struct ho_template *tmpl[MAX_TEMPLATES];
static char *tmpl_text[MAX_TEMPLATES];
static size_t ntmpl;
static struct dir_snapshot *snap;

static char *
dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Two departments, a unit in each, a person in each. */
static struct dir_snapshot *
small_directory(void)
{
	static const char *const units[][4] = {
	    {"ou=bsf,dc=k,dc=dk", "BSF", "Beskæftigelses- og Socialforvaltningen", "BSF"},
	    {"ou=ur,ou=bsf,dc=k,dc=dk", "UR", "Ungerådgivningen", "BSF"},
	    {"ou=buf,dc=k,dc=dk", "BUF", "Børne- og Ungeforvaltningen", "BUF"},
	    {"ou=bur,ou=buf,dc=k,dc=dk", "BUR", "Børn- og Ungerådgivningen", "BUF"},
	};
	static const char *const persons[][4] = {
	    {"uid=anna,ou=ur,ou=bsf,dc=k,dc=dk", "p-anna", "anna", "UR"},
	    {"uid=bo,ou=bur,ou=buf,dc=k,dc=dk", "p-bo", "bo", "BUR"},
	};
	struct dir_records r;
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct dir_urec *u = dir_records_add_unit(&r);
		u->dn = dup(units[i][0]);
		u->code = dup(units[i][1]);
		u->name = dup(units[i][2]);
		u->department = dup(units[i][3]);
	}
	for (size_t i = 0; i < sizeof(persons) / sizeof(persons[0]); i++) {
		struct dir_prec *p = dir_records_add_person(&r);
		p->dn = dup(persons[i][0]);
		p->id = dup(persons[i][1]);
		p->username = dup(persons[i][2]);
		p->display_name = dup(persons[i][2]);
		p->unit_code = dup(persons[i][3]);
	}
	struct dir_snapshot *s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	return s;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	for (size_t i = 0; i < template_seeds_count && ntmpl < MAX_TEMPLATES; i++) {
		json_error_t je;
		char err[256];
		json_t *doc = json_loads(template_seeds[i].text, JSON_REJECT_DUPLICATES, &je);
		FUZZ_ASSERT(doc != NULL);
		tmpl[ntmpl] = template_parse(doc, err, sizeof(err));
		FUZZ_ASSERT(tmpl[ntmpl] != NULL);
		tmpl_text[ntmpl] = json_dumps(doc, 0);
		json_decref(doc);
		ntmpl++;
	}
	FUZZ_ASSERT(ntmpl > 0);
	snap = small_directory();
	return 0;
}

/* Strings of the note that no message may repeat. */
struct secrets {
	const char *v[64];
	size_t n;
};

static void
collect(const json_t *j, const char *tt, struct secrets *s)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		const char *t = json_string_value(j);
		/* long enough not to turn up by chance, and not the template's own words */
		if (json_string_length(j) >= 10 && strlen(t) == json_string_length(j) &&
		    strstr(tt, t) == NULL && !checks_text_placeholder(t) && s->n < 64)
			s->v[s->n++] = t;
	} else if (json_is_object(j)) {
		json_object_foreach ((json_t *)(uintptr_t)j, key, v)
			collect(v, tt, s);
	} else if (json_is_array(j)) {
		json_array_foreach (j, i, v)
			collect(v, tt, s);
	}
}

static void
no_secret_in(const char *text, const struct secrets *s)
{
	if (text == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (strstr(text, s->v[i]) != NULL)
			fprintf(stderr, "note text [%s] in a message [%s]\n", s->v[i], text);
		FUZZ_ASSERT(strstr(text, s->v[i]) == NULL);
	}
}

static void
check_problem(const json_t *p, int status, const struct secrets *s)
{
	static const char *const codes[] = {"unknown",  "type",     "too_many",
	                                    "too_long", "invalid",  "not_allowed",
	                                    "required", "mismatch", NULL};
	const json_t *errs = json_object_get(p, "errors"), *e;
	size_t i;

	FUZZ_ASSERT(status == 0 || status == 400 || status == 422);
	FUZZ_ASSERT((status == 0) == (json_array_size(errs) == 0));
	FUZZ_ASSERT(json_array_size(errs) <= 210);
	json_array_foreach (errs, i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		const char *c = json_string_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(e, "message"));
		FUZZ_ASSERT(f && *f && c && m && *m);
		bool known = false;
		for (size_t k = 0; codes[k]; k++)
			known |= strcmp(codes[k], c) == 0;
		FUZZ_ASSERT(known);
		no_secret_in(m, s);
	}
}

static void
check_results(const struct ho_template *t, json_t *res, int completeness, int failed,
              const struct secrets *s)
{
	const char *prefix = template_id_prefix(t);
	size_t n = json_array_size(res), passed = 0, ferr = 0, i;
	json_t *r;

	FUZZ_ASSERT(json_is_array(res) && n > 0);
	json_array_foreach (res, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *sev = json_string_value(json_object_get(r, "severity"));
		const char *msg = json_string_value(json_object_get(r, "message"));
		json_t *ok = json_object_get(r, "passed");
		FUZZ_ASSERT(id && strncmp(id, prefix, strlen(prefix)) == 0 &&
		            id[strlen(prefix)] == '.');
		FUZZ_ASSERT(sev && (strcmp(sev, "error") == 0 || strcmp(sev, "warning") == 0));
		FUZZ_ASSERT(json_is_boolean(ok) && msg && *msg);
		no_secret_in(msg, s);
		for (size_t k = 0; k < i; k++)
			FUZZ_ASSERT(strcmp(id, json_string_value(json_object_get(
			                           json_array_get(res, k), "id"))) != 0);
		if (json_is_true(ok))
			passed++;
		else if (strcmp(sev, "error") == 0)
			ferr++;
	}
	FUZZ_ASSERT(failed == (int)ferr);
	FUZZ_ASSERT(completeness == (int)(100 * passed / n));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct json_limits lim = {32, 64 * 1024};
	char detail[256];
	int status;

	if (size < 1)
		return 0;
	size_t ti = (data[0] & 0x0f) % ntmpl;
	bool patch = data[0] & 0x10, strict = data[0] & 0x20, submit = data[0] & 0x40,
	     with_dir = !(data[0] & 0x80);
	const struct ho_template *t = tmpl[ti];
	json_t *body = json_parse_limited((const char *)data + 1, size - 1, &lim, &status, detail,
	                                  sizeof(detail));
	if (body == NULL)
		return 0;
	struct secrets sec = {{0}, 0};
	collect(body, tmpl_text[ti], &sec);

	/* the handlers' reader */
	if (json_is_object(body)) {
		json_t *out = json_object(), *p = json_problem(400, NULL, NULL);
		status = api_handovers_read_fields(body, t, patch, strict, out, p);
		check_problem(p, status, &sec);
		json_decref(out);
		json_decref(p);
		/* the sections alone, as a PATCH of them is judged */
		json_t *sections = json_object_get(body, "sections");
		if (sections) {
			p = json_problem(400, NULL, NULL);
			status = checks_sections_validate(t, sections, patch, p);
			check_problem(p, status, &sec);
			json_decref(p);
		}
	}

	/* the checks, whatever the shape */
	struct ho_check_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.tmpl = t;
	ctx.note = body;
	ctx.dir = with_dir ? snap : NULL;
	ctx.receiving_department = "BSF";
	ctx.labour_market_department = "BSF";
	ctx.pension_department = "PEN";
	snprintf(ctx.today, sizeof(ctx.today), "%s", "2026-05-01");
	ctx.submit = submit;
	int completeness = -1, failed = -1;
	json_t *res = checks_run(&ctx, &completeness, &failed);
	check_results(t, res, completeness, failed, &sec);
	json_decref(res);
	json_decref(body);
	return 0;
}
