/*
 * handovers.c: the handover collection (API.md "Handovers"): a route's
 * template, live checks of a draft, filing a new note (the boxes and the
 * caller's own drafts are handovers_list.c; deleting one is drafts.c).
 * What a single note does (read, edit, move through its states, history)
 * is notes.c; both share the reading of a note's fields from a request
 * body, here.
 *
 * Structure errors in a body (unknown fields, wrong JSON types) answer
 * 400 naming the field; values that cannot be used (a CPR number with no
 * such date, a receiver outside the route's receiving unit) 422. A CPR
 * number is never logged; it is stored only in the note.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "auth.h"
#include "api.h"

#define NAME_MAX_LEN 200
#define CODE_MAX_LEN 64
#define ID_MAX_LEN   128

static const char *const no_params[] = {NULL};

/* -- shared with notes.c --------------------------------------------------------------- */

void
answer_db_error(struct http_request *req, const char *error)
{
	log_warnx("handovers: database: %s", error ? error : "no result");
	http_add_header(req, "Retry-After", "1");
	http_problem(req, 503, NULL, "Databasen svarer ikke lige nu. Prøv igen om lidt.");
}

void
answer_not_found(struct http_request *req)
{
	http_problem(req, 404, NULL, "Notatet findes ikke.");
}

/* The routes and templates, or NULL after answering 503. */
struct ho_route_set *
answer_routes_or_fail(struct http_request *req)
{
	struct ho_route_set *set = routes_current();
	if (set == NULL) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL, "Ruterne er ikke læst fra databasen endnu.");
	}
	return set;
}

/* Runs the template's checks on doc ({"citizen", "planned_date",
 * "receiver", "sections"}); the caller owns the array. */
json_t *
api_handovers_run_checks(const struct ho_template *t, const struct ho_route *r,
                         const struct dir_snapshot *s, const json_t *doc, bool submit,
                         int *completeness, int *failed)
{
	struct ho_check_ctx ctx;
	const char *unit = json_str(json_object_get(doc, "receiver"), "unit");
	int u = (s && unit) ? dir_lookup_unit(s, unit) : DIR_NONE;

	memset(&ctx, 0, sizeof(ctx));
	ctx.tmpl = t;
	ctx.note = doc;
	ctx.dir = s;
	ctx.receiving_department = u != DIR_NONE ? s->units[u].department : NULL;
	ctx.labour_market_department = r ? r->labour_market : NULL;
	ctx.pension_department = r ? r->pension : NULL;
	clock_today(ctx.today);
	ctx.submit = submit;
	return checks_run(&ctx, completeness, failed);
}

static bool
opt_text(json_t *obj, const char *key, const char *field, size_t max, bool empty_ok, json_t *p,
         int *status, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		json_problem_add_error(p, field, "type", "Skal være en tekst.");
		*status = 400;
		return false;
	}
	if (json_string_length(v) > max) {
		json_problem_add_error(p, field, "too_long", "Teksten er for lang.");
		if (*status != 400)
			*status = 422;
		return false;
	}
	if (json_string_length(v) == 0 && !empty_ok) {
		json_problem_add_error(p, field, "required", "Må ikke være tom.");
		if (*status != 400)
			*status = 422;
		return false;
	}
	*out = json_string_value(v);
	return true;
}

static void
value_error(json_t *p, int *status, const char *field, const char *code, const char *msg)
{
	json_problem_add_error(p, field, code, msg);
	if (*status != 400)
		*status = 422;
}

static void
shape_error(json_t *p, int *status, const char *field, const char *msg)
{
	json_problem_add_error(p, field, "type", msg);
	*status = 400;
}

/* citizen {"cpr", "name", "birthdate"} into out: "citizen" (cpr as
 * DDMMYY-SSSS) and "birthdate". strict: cpr and name required and a bad
 * CPR number is an error; else (live checks) it is left to the checks. */
static void
read_citizen(json_t *c, bool strict, json_t *out, json_t *p, int *status)
{
	static const char *const known[] = {"cpr", "name", "birthdate", NULL};
	const char *cpr = NULL, *name = NULL, *born = NULL;
	char from_cpr[11] = "", norm[12];
	json_t *cit = json_object(), *unknown;

	if (!json_is_object(c)) {
		shape_error(p, status, "citizen", "Skal være et objekt.");
		json_decref(cit);
		return;
	}
	if ((unknown = json_unknown_fields(c, known, "citizen.")) != NULL) {
		json_t *errs = json_object_get(unknown, "errors");
		size_t i;
		json_t *e;
		json_array_foreach (errs, i, e) {
			json_problem_add_error(p, json_str(e, "field"), "unknown",
			                       json_str(e, "message"));
		}
		*status = 400;
		json_decref(unknown);
	}
	opt_text(c, "cpr", "citizen.cpr", 16, false, p, status, &cpr);
	opt_text(c, "name", "citizen.name", NAME_MAX_LEN, false, p, status, &name);
	opt_text(c, "birthdate", "citizen.birthdate", 10, false, p, status, &born);
	if (cpr) {
		const char *why = NULL;
		if (dir_citizen_birthdate(cpr, strlen(cpr), from_cpr, &why) == -1) {
			if (strict)
				value_error(p, status, "citizen.cpr", "invalid", why);
			json_object_set_new(cit, "cpr", json_string(cpr));
			*from_cpr = '\0';
		} else {
			size_t n = strlen(cpr);
			memcpy(norm, cpr, 6);
			norm[6] = '-';
			memcpy(norm + 7, cpr + (n == 11 ? 7 : 6), 4);
			norm[11] = '\0';
			json_object_set_new(cit, "cpr", json_string(norm));
		}
	} else if (strict) {
		value_error(p, status, "citizen.cpr", "required", "Angiv borgerens CPR-nummer.");
	}
	if (name)
		json_object_set_new(cit, "name", json_string(name));
	else if (strict)
		value_error(p, status, "citizen.name", "required", "Angiv borgerens navn.");
	if (born && !clock_date_valid(born, strlen(born))) {
		value_error(p, status, "citizen.birthdate", "invalid",
		            "Fødselsdatoen skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
		born = NULL;
	}
	if (born && *from_cpr && strcmp(born, from_cpr) != 0 && strict)
		value_error(p, status, "citizen.cpr", "mismatch",
		            "CPR-nummeret passer ikke med fødselsdatoen.");
	if (born)
		json_object_set_new(cit, "birthdate", json_string(born));
	else if (*from_cpr)
		json_object_set_new(cit, "birthdate", json_string(from_cpr));
	if (json_object_get(cit, "birthdate"))
		json_object_set(out, "birthdate", json_object_get(cit, "birthdate"));
	else
		json_object_set_new(out, "birthdate", json_null());
	json_object_set_new(out, "citizen", cit);
}

/*
 * Reads the note fields of a body — citizen, planned_date, receiver,
 * sections — into `out` with the keys handover_write() takes ("citizen",
 * "birthdate", "planned_date", "receiver_unit", "receiver_person",
 * "sections"); only the fields present. `t` may be NULL when the template
 * is not known yet (sections are then not checked). patch: null removes a
 * section. strict: as for storing (the citizen must be named and valid).
 * Returns 0, or 400/422 with the errors added to p.
 */
int
api_handovers_read_fields(json_t *body, const struct ho_template *t, bool patch, bool strict,
                          json_t *out, json_t *p)
{
	int status = 0;
	json_t *v;
	const char *s;

	if ((v = json_object_get(body, "citizen")) != NULL)
		read_citizen(v, strict, out, p, &status);
	else if (strict && !patch)
		value_error(p, &status, "citizen", "required",
		            "Angiv borgeren (CPR-nummer og navn).");
	if ((v = json_object_get(body, "planned_date")) != NULL) {
		if (json_is_null(v)) {
			json_object_set_new(out, "planned_date", json_null());
		} else if (!json_is_string(v)) {
			shape_error(p, &status, "planned_date", "Skal være en dato (ÅÅÅÅ-MM-DD).");
		} else if (!clock_date_valid(json_string_value(v), json_string_length(v))) {
			value_error(p, &status, "planned_date", "invalid",
			            "Den planlagte dato skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
		} else {
			json_object_set(out, "planned_date", v);
		}
	}
	if ((v = json_object_get(body, "receiver")) != NULL && !json_is_null(v)) {
		static const char *const known[] = {"unit", "person", NULL};
		json_t *unknown;
		if (!json_is_object(v)) {
			shape_error(p, &status, "receiver", "Skal være et objekt.");
		} else if ((unknown = json_unknown_fields(v, known, "receiver.")) != NULL) {
			json_t *errs = json_object_get(unknown, "errors"), *e;
			size_t i;
			json_array_foreach (errs, i, e) {
				json_problem_add_error(p, json_str(e, "field"), "unknown",
				                       json_str(e, "message"));
			}
			json_decref(unknown);
			status = 400;
		} else {
			if (opt_text(v, "unit", "receiver.unit", CODE_MAX_LEN, false, p, &status,
			             &s) &&
			    s)
				json_object_set_new(out, "receiver_unit", json_string(s));
			if (opt_text(v, "person", "receiver.person", ID_MAX_LEN, false, p, &status,
			             &s))
				json_object_set_new(out, "receiver_person",
				                    s ? json_string(s) : json_null());
		}
	}
	if ((v = json_object_get(body, "sections")) != NULL) {
		if (!json_is_object(v)) {
			shape_error(p, &status, "sections", "Skal være et objekt.");
		} else if (t) {
			int rc = checks_sections_validate(t, v, patch, p);
			if (rc == 400 || (rc == 422 && status != 400))
				status = rc;
			if (rc == 0)
				json_object_set(out, "sections", v);
		}
	}
	return status;
}

/*
 * The receiver fields of `f` (receiver_unit, receiver_person) judged for
 * route r: the unit within the route's receiving unit, the person in the
 * directory and within the unit. Returns 0 or 422 (errors added to p).
 */
int
api_handovers_check_receiver(const struct dir_snapshot *s, const struct ho_route *r,
                             const char *unit, const char *person, json_t *p)
{
	int status = 0;
	int pi;

	if (unit == NULL) {
		json_problem_add_error(
		    p, "receiver.unit", "required",
		    "Angiv den modtagende enhed (ruten har ingen fast modtager).");
		return 422;
	}
	if (dir_lookup_unit(s, unit) == DIR_NONE) {
		json_problem_add_error(p, "receiver.unit", "unknown", "Enheden findes ikke.");
		return 422;
	}
	if (r && r->to_unit && !access_unit_code_within(s, unit, r->to_unit)) {
		json_problem_add_error(p, "receiver.unit", "outside_route",
		                       "Enheden hører ikke under rutens modtagende enhed.");
		status = 422;
	}
	if (person) {
		if ((pi = dir_lookup_person(s, person)) == DIR_NONE) {
			json_problem_add_error(p, "receiver.person", "unknown",
			                       "Modtageren findes ikke i kataloget.");
			status = 422;
		} else if (s->persons[pi].unit == DIR_NONE ||
		           !access_unit_within(s, s->persons[pi].unit, dir_lookup_unit(s, unit))) {
			json_problem_add_error(p, "receiver.person", "outside_unit",
			                       "Modtageren hører ikke til den modtagende enhed.");
			status = 422;
		}
	}
	return status;
}

/* The document the checks read, from a stored row with `changes` laid
 * over it (either may be NULL). The caller owns it. */
json_t *
api_handovers_check_doc(const json_t *row, const json_t *changes)
{
	json_t *doc = json_object();
	const json_t *v, *sections = NULL;
	const char *unit = json_str(row, "receiver_unit"),
	           *person = json_str(row, "receiver_person");

	v = changes ? json_object_get(changes, "citizen") : NULL;
	if (v == NULL && row)
		v = json_object_get(row, "citizen");
	json_object_set_new(doc, "citizen", v ? json_deep_copy(v) : json_object());
	v = changes ? json_object_get(changes, "planned_date") : NULL;
	if (v == NULL && row)
		v = json_object_get(row, "planned_date");
	json_object_set_new(doc, "planned_date", v ? json_deep_copy(v) : json_null());
	if (changes && json_str(changes, "receiver_unit"))
		unit = json_str(changes, "receiver_unit");
	if (changes && json_object_get(changes, "receiver_person"))
		person = json_str(changes, "receiver_person");
	json_object_set_new(doc, "receiver",
	                    json_pack("{s:o, s:o}", "unit", unit ? json_string(unit) : json_null(),
	                              "person", person ? json_string(person) : json_null()));
	if (row)
		sections = json_object_get(row, "sections");
	json_t *merged = json_is_object(sections) ? json_deep_copy(sections) : json_object();
	v = changes ? json_object_get(changes, "sections") : NULL;
	if (json_is_object(v)) {
		const char *k;
		json_t *sv;
		json_object_foreach ((json_t *)(uintptr_t)v, k, sv) {
			if (json_is_null(sv))
				json_object_del(merged, k);
			else
				json_object_set(merged, k, sv);
		}
	}
	json_object_set_new(doc, "sections", merged);
	return doc;
}

/* -- GET /api/v1/templates/{route} ------------------------------------------------------ */

void
api_templates_get(struct http_request *req)
{
	const char *code = req->head.path + strlen("/api/v1/templates/");
	struct ho_route_set *set;
	const struct ho_route *r;
	const struct ho_template *t;
	json_t *doc;

	if (!http_query_check(req, no_params))
		return;
	if ((set = answer_routes_or_fail(req)) == NULL)
		return;
	if ((r = routes_find(set, code)) == NULL) {
		http_problem(req, 404, NULL, "Ruten findes ikke.");
		return;
	}
	if ((t = routes_template_find(set, r->template, r->template_version)) == NULL) {
		log_warnx("handovers: route %s: template %s version %d is not loaded", r->code,
		          r->template, r->template_version);
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL, "Rutens skabelon er ikke indlæst.");
		return;
	}
	doc = json_deep_copy(template_json(t));
	json_object_set_new(doc, "route", json_string(r->code));
	http_respond_json(req, 200, doc);
}

/* -- POST /api/v1/handovers/check ------------------------------------------------------- */

static const char *const body_fields[] = {"route",    "citizen",      "receiver",
                                          "sections", "planned_date", NULL};

static bool
read_route(struct http_request *req, struct ho_route_set *set, const struct ho_route **r,
           const struct ho_template **t)
{
	json_t *v = json_object_get(req->json, "route");
	json_t *p;

	if (v && !json_is_string(v) && !json_is_null(v)) {
		p = json_problem(400, NULL, "'route' must be a string.");
		json_problem_add_error(p, "route", "type", "Skal være en tekst.");
		http_problem_json(req, p);
		return false;
	}
	if (!json_is_string(v) || (*r = routes_find(set, json_string_value(v))) == NULL) {
		p = json_problem(422, "Ukendt rute", "Ruten findes ikke.");
		json_problem_add_error(p, "route", v ? "unknown" : "required",
		                       "Angiv en rute fra listen over ruter (GET /api/v1/routes).");
		http_problem_json(req, p);
		return false;
	}
	if ((*t = routes_template_find(set, (*r)->template, (*r)->template_version)) == NULL) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL, "Rutens skabelon er ikke indlæst.");
		return false;
	}
	return true;
}

/* The body is a JSON object holding only `known` fields; false after
 * answering 400. */
bool
answer_body_object(struct http_request *req, const char *const *known)
{
	json_t *p;
	if (!json_is_object(req->json)) {
		http_problem(req, 400, NULL, "The request body must be a JSON object.");
		return false;
	}
	if ((p = json_unknown_fields(req->json, known, NULL)) != NULL) {
		http_problem_json(req, p);
		return false;
	}
	return true;
}

void
api_handovers_check(struct http_request *req)
{
	struct ho_route_set *set;
	const struct ho_route *r;
	const struct ho_template *t;
	json_t *fields, *p, *doc, *checks;
	int status, completeness, failed;

	if (!http_query_check(req, no_params) || !answer_body_object(req, body_fields))
		return;
	if ((set = answer_routes_or_fail(req)) == NULL || !read_route(req, set, &r, &t))
		return;
	fields = json_object();
	p = json_problem(422, "Ugyldige felter", "Notatets felter kan ikke bruges.");
	if ((status = api_handovers_read_fields(req->json, t, false, false, fields, p)) != 0) {
		json_object_set_new(p, "status", json_integer(status));
		http_problem_json(req, p);
		json_decref(fields);
		return;
	}
	json_decref(p);
	if (!json_object_get(fields, "receiver_unit") && r->to_unit)
		json_object_set_new(fields, "receiver_unit", json_string(r->to_unit));
	doc = api_handovers_check_doc(NULL, fields);
	checks =
	    api_handovers_run_checks(t, r, dir_sync_current(), doc, false, &completeness, &failed);
	json_decref(doc);
	json_decref(fields);
	http_respond_json(req, 200,
	                  json_pack("{s:o, s:i, s:i}", "checks", checks, "completeness",
	                            completeness, "failed_errors", failed));
}

/* -- POST /api/v1/handovers ------------------------------------------------------------- */

/* The sending unit a person files from for route r: their own unit when it
 * is within the route's sending unit, else a unit they lead that is. A lead
 * of a unit above the sending unit reads its notes but does not act for it
 * (need to know), so files none. */
static const char *
sending_unit(const struct dir_snapshot *s, int me, const struct ho_route *r)
{
	const struct dir_person *p = &s->persons[me];
	int from = r->from_unit ? dir_lookup_unit(s, r->from_unit) : DIR_NONE;

	if (r->from_unit && from == DIR_NONE)
		return NULL;
	if (p->unit != DIR_NONE && (from == DIR_NONE || access_unit_within(s, p->unit, from)))
		return s->units[p->unit].code;
	for (size_t u = 0; u < s->nunits; u++)
		if (s->units[u].lead == me &&
		    (from == DIR_NONE || access_unit_within(s, (int)u, from)))
			return s->units[u].code;
	return NULL;
}

static void
created(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	json_t *row;
	char etag[32], loc[128];

	if (error || res == NULL || PQntuples(res) != 1) {
		answer_db_error(req, error);
		return;
	}
	if ((row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, "unreadable row");
		return;
	}
	log_info("handovers: %s created by %s", json_str(row, "ref"), req->auth.person_id);
	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	snprintf(loc, sizeof(loc), "/api/v1/handovers/%s", json_str(row, "id"));
	http_add_header(req, "ETag", etag);
	http_add_header(req, "Location", loc);
	http_respond_json(
	    req, 201,
	    note_render(row, dir_sync_current(), HO_ACCESS_SENDER, false, true)); /* masked */
	json_decref(row);
}

void
api_handovers_create(struct http_request *req)
{
	struct ho_route_set *set;
	const struct ho_route *r;
	const struct ho_template *t;
	const struct dir_snapshot *s;
	const char *from;
	json_t *fields, *p, *doc, *checks;
	int status, completeness, failed, me;
	char *text;

	if (!http_query_check(req, no_params) || !answer_body_object(req, body_fields))
		return;
	if ((set = answer_routes_or_fail(req)) == NULL || !read_route(req, set, &r, &t))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	if ((me = auth_person(req)) == DIR_NONE || (from = sending_unit(s, me, r)) == NULL) {
		http_problem(
		    req, 403, NULL,
		    "Kun medarbejdere i rutens afsenderenhed kan oprette notater på ruten.");
		return;
	}
	fields = json_object();
	p = json_problem(422, "Ugyldige felter", "Notatets felter kan ikke bruges.");
	status = api_handovers_read_fields(req->json, t, false, true, fields, p);
	if (status != 400) {
		if (!json_object_get(fields, "receiver_unit") && r->to_unit)
			json_object_set_new(fields, "receiver_unit", json_string(r->to_unit));
		int rc = api_handovers_check_receiver(s, r, json_str(fields, "receiver_unit"),
		                                      json_str(fields, "receiver_person"), p);
		if (rc && !status)
			status = rc;
	}
	if (status) {
		json_object_set_new(p, "status", json_integer(status));
		http_problem_json(req, p);
		json_decref(fields);
		return;
	}
	json_decref(p);
	doc = api_handovers_check_doc(NULL, fields);
	checks = api_handovers_run_checks(t, r, s, doc, false, &completeness, &failed);
	json_decref(doc);
	json_object_set_new(fields, "route", json_string(r->code));
	json_object_set_new(fields, "template", json_string(template_code(t)));
	json_object_set_new(fields, "template_version", json_integer(template_version_of(t)));
	json_object_set_new(fields, "sender_unit", json_string(from));
	json_object_set_new(fields, "checks", checks);
	json_object_set_new(fields, "completeness", json_integer(completeness));
	text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	const char *params[4] = {text, req->auth.person_id, req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query("SELECT handover_json(h, true)::text FROM handover_create($1::jsonb, $2, $3, "
	             "$4) h",
	             4, params, created, req) == -1)
		answer_db_error(req, "unavailable");
	free(text);
}

static bool
uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		             (s[i] >= 'A' && s[i] <= 'F'))) {
			return false;
		}
	}
	return true;
}

bool
answer_uuid_ok(const char *s)
{
	return s && uuid_ok(s);
}

bool
answer_statuses_param(struct http_request *req, const char *const *known, const char *why,
                      char *arr, size_t n)
{
	char buf[160], *tok, *save = NULL;
	size_t len = 1;

	*arr = '\0';
	if (!http_query_has(req, "status"))
		return true;
	if (n < 3 || !http_query_param(req, "status", buf, sizeof(buf)))
		goto bad;
	strcpy(arr, "{");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i = 0, t = strlen(tok);
		while (known[i] && strcmp(tok, known[i]) != 0)
			i++;
		if (!known[i] || len + t + 3 > n)
			goto bad;
		if (len > 1)
			arr[len++] = ',';
		memcpy(arr + len, tok, t + 1);
		len += t;
	}
	if (len == 1) { /* only commas: no filter */
		*arr = '\0';
		return true;
	}
	memcpy(arr + len, "}", 2);
	return true;
bad:
	*arr = '\0';
	http_bad_param(req, "status", why);
	return false;
}

bool
answer_page_params(struct http_request *req, long *limit, char *cursor, size_t n,
                   bool (*key_ok)(const char *, size_t), const char **key, const char **id)
{
	char limit_s[16], *end, *dot;

	if (http_query_has(req, "limit") &&
	    (!http_query_param(req, "limit", limit_s, sizeof(limit_s)) ||
	     (*limit = strtol(limit_s, &end, 10), *end) || *limit < 1 || *limit > 500)) {
		http_bad_param(req, "limit", "Skal være et tal fra 1 til 500.");
		return false;
	}
	if (!http_query_has(req, "cursor"))
		return true;
	if (!http_query_param(req, "cursor", cursor, n) || (dot = strchr(cursor, '.')) == NULL ||
	    !key_ok(cursor, (size_t)(dot - cursor)) || !answer_uuid_ok(dot + 1)) {
		http_bad_param(req, "cursor", "Ugyldig markør.");
		return false;
	}
	*dot = '\0';
	*key = cursor;
	*id = dot + 1;
	return true;
}
