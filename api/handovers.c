/*
 * handovers.c: the handover collection (API.md "Handovers"): a route's
 * template, live checks of a draft, filing a new note, and the incoming
 * and outgoing boxes and the caller's own drafts (deleting one is
 * drafts.c). What a single note does (read, edit, move through its
 * states, history) is notes.c; both share the reading of a note's fields
 * from a request body, here.
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

/* -- GET /api/v1/handovers -------------------------------------------------------------- */

struct list_ctx {
	struct http_request *req;
	int me;
	int limit;
	char box[16];
};

static const char *const statuses[] = {"draft",    "submitted", "received", "returned",
                                       "accepted", "withdrawn", NULL};

/* -- the list's rendering: JSON written straight from the columns -------------------- */

/* The columns of handover_list() (migration 0014), in order. */
enum {
	L_ID,
	L_REF,
	L_ROUTE,
	L_TEMPLATE,
	L_TEMPLATE_VERSION,
	L_STATUS,
	L_VERSION,
	L_SENDER_PERSON,
	L_SENDER_UNIT,
	L_RECEIVER_UNIT,
	L_RECEIVER_PERSON,
	L_CPR,
	L_NAME,
	L_BIRTHDATE,
	L_PLANNED_DAY,
	L_COMPLETENESS,
	L_READBACK,
	L_CREATED,
	L_UPDATED,
	L_SUBMITTED,
	L_RECEIVED,
	L_DECIDED,
	L_FILED,
	L_FLAGS,
	L_FAILED_CHECKS,
	L_NCOLS
};

/* A JSON string as jansson's json_dumps writes it (UTF-8 as is; ", \ and
 * the control characters escaped), or null for NULL. */
static void
put_str(struct evbuffer *b, const char *v)
{
	const char *run;

	if (v == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (run = v; *v; v++) {
		unsigned char c = (unsigned char)*v;
		const char *esc = NULL;
		char u[8];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		evbuffer_add(b, run, (size_t)(v - run));
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			snprintf(u, sizeof(u), "\\u%04X", c);
			esc = u;
		}
		evbuffer_add(b, esc, strlen(esc));
		run = v + 1;
	}
	evbuffer_add(b, run, (size_t)(v - run));
	evbuffer_add(b, "\"", 1);
}

static const char *
col(const PGresult *res, int row, int c)
{
	return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

/* A time in microseconds since the epoch as stafet_ts() writes it
 * (RFC 3339, UTC, milliseconds cut off), or null. */
static void
put_digits(char *out, long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

static void
put_time(struct evbuffer *b, const char *us_text)
{
	char out[26] = "\"0000-00-00T00:00:00.000Z\"";
	long long us, secs;
	long days, rem;
	int y, m, d;

	if (us_text == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	us = strtoll(us_text, NULL, 10);
	secs = us / 1000000 - (us % 1000000 < 0);
	days = clock_floor_div((long)secs, 86400);
	rem = (long)(secs - (long long)days * 86400);
	clock_civil_from_days(days, &y, &m, &d);
	put_digits(out + 1, y, 4);
	put_digits(out + 6, m, 2);
	put_digits(out + 9, d, 2);
	put_digits(out + 12, rem / 3600, 2);
	put_digits(out + 15, rem / 60 % 60, 2);
	put_digits(out + 18, rem % 60, 2);
	put_digits(out + 21, (long)((us - secs * 1000000) / 1000), 3);
	evbuffer_add(b, out, sizeof(out));
}

/* An integer column as PostgreSQL wrote it (its decimal text is jansson's). */
static void
put_int(struct evbuffer *b, const PGresult *res, int row, int c)
{
	evbuffer_add(b, PQgetvalue(res, row, c), (size_t)PQgetlength(res, row, c));
}

/* {"id", "display_name"} of a person id, or null: note_person_ref()'s. */
static void
put_person(struct evbuffer *b, const struct dir_snapshot *s, const char *id)
{
	int p;

	if (id == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	p = s ? dir_lookup_person(s, id) : DIR_NONE;
	evbuffer_add(b, "{\"id\":", 6);
	put_str(b, id);
	evbuffer_add(b, ",\"display_name\":", 16);
	put_str(b, p == DIR_NONE ? NULL : s->persons[p].display_name);
	evbuffer_add(b, "}", 1);
}

/* One item, as note_render() without the sections, then the checks that
 * did not pass as stored; the same bytes note_render() and json_dumps()
 * gave (bench/handover_bench.py compares the two). */
static void
put_item(struct evbuffer *b, const PGresult *res, int i, const struct dir_snapshot *s,
         unsigned access)
{
	bool reader = !(access & HO_ACCESS_BOTH);
	const char *cpr = col(res, i, L_CPR), *name = col(res, i, L_NAME),
	           *born = col(res, i, L_BIRTHDATE), *day = col(res, i, L_PLANNED_DAY);
	char planned[11] = "", masked[12], initials[64];
	int age = -1;

	evbuffer_add(b, "{\"id\":", 6);
	put_str(b, col(res, i, L_ID));
	evbuffer_add(b, ",\"ref\":", 7);
	put_str(b, col(res, i, L_REF));
	evbuffer_add(b, ",\"route\":", 9);
	put_str(b, col(res, i, L_ROUTE));
	evbuffer_add(b, ",\"status\":", 10);
	put_str(b, col(res, i, L_STATUS));
	evbuffer_add(b, ",\"version\":", 11);
	put_int(b, res, i, L_VERSION);
	evbuffer_add(b, ",\"template\":{\"code\":", 20);
	put_str(b, col(res, i, L_TEMPLATE));
	evbuffer_add(b, ",\"version\":", 11);
	put_int(b, res, i, L_TEMPLATE_VERSION);
	evbuffer_add(b, "},\"access\":", 11);
	put_str(b, access_name(access));
	evbuffer_add(b, ",\"citizen\":{\"cpr\":", 18);
	if (cpr) {
		note_cpr_mask(cpr, masked);
		cpr = masked;
	}
	put_str(b, cpr);
	evbuffer_add(b, ",\"name\":", 8);
	if (reader && name) {
		note_name_initials(name, initials, sizeof(initials));
		name = initials;
	}
	put_str(b, name);
	evbuffer_add(b, ",\"birthdate\":", 13);
	put_str(b, born);
	if (day) {
		int y, m, d;
		clock_civil_from_days(strtol(day, NULL, 10), &y, &m, &d);
		clock_put_date(planned, y, m, d);
	}
	if (born && *planned)
		age = checks_age_on(born, planned);
	evbuffer_add(b, ",\"age_at_handover\":", 19);
	if (age >= 0) {
		char digits[12];
		int n = snprintf(digits, sizeof(digits), "%d", age);
		evbuffer_add(b, digits, (size_t)n);
	} else {
		evbuffer_add(b, "null", 4);
	}
	evbuffer_add(b, "},\"sender\":{\"person\":", 21);
	put_person(b, s, col(res, i, L_SENDER_PERSON));
	evbuffer_add(b, ",\"unit\":", 8);
	put_str(b, col(res, i, L_SENDER_UNIT));
	evbuffer_add(b, "},\"receiver\":{\"unit\":", 21);
	put_str(b, col(res, i, L_RECEIVER_UNIT));
	evbuffer_add(b, ",\"person\":", 10);
	put_person(b, s, col(res, i, L_RECEIVER_PERSON));
	evbuffer_add(b, "},\"planned_date\":", 17);
	put_str(b, *planned ? planned : NULL);
	evbuffer_add(b, ",\"completeness\":", 16);
	put_int(b, res, i, L_COMPLETENESS);
	evbuffer_add(b, ",\"flags\":", 9);
	/* flags are few: those notes that have them go through jansson */
	json_t *flags = col(res, i, L_FLAGS) ? json_loads(col(res, i, L_FLAGS), 0, NULL) : NULL;
	if (flags) {
		json_t *shown = note_render_flags(flags, s);
		char *text = json_dumps(shown, JSON_COMPACT);
		evbuffer_add(b, text, strlen(text));
		free(text);
		json_decref(shown);
		json_decref(flags);
	} else {
		evbuffer_add(b, "[]", 2);
	}
	evbuffer_add(b, ",\"readback\":", 12);
	put_str(b, col(res, i, L_READBACK));
	evbuffer_add(b, ",\"created_at\":", 14);
	put_time(b, col(res, i, L_CREATED));
	evbuffer_add(b, ",\"updated_at\":", 14);
	put_time(b, col(res, i, L_UPDATED));
	evbuffer_add(b, ",\"submitted_at\":", 16);
	put_time(b, col(res, i, L_SUBMITTED));
	evbuffer_add(b, ",\"received_at\":", 15);
	put_time(b, col(res, i, L_RECEIVED));
	evbuffer_add(b, ",\"decided_at\":", 14);
	put_time(b, col(res, i, L_DECIDED));
	evbuffer_add(b, ",\"checks\":", 10);
	if (col(res, i, L_FAILED_CHECKS))
		put_int(b, res, i, L_FAILED_CHECKS); /* the stored JSON as it is */
	else
		evbuffer_add(b, "[]", 2);
	evbuffer_add(b, "}", 1);
}

static void
listed(PGresult *res, const char *error, void *arg)
{
	struct list_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	const struct dir_snapshot *s = dir_sync_current();
	struct evbuffer *b;
	char next[96] = "";
	int n;

	if (error || res == NULL || PQnfields(res) != L_NCOLS) {
		answer_db_error(req, error ? error : "unexpected columns");
		free(ctx);
		return;
	}
	n = PQntuples(res);
	b = evbuffer_new();
	evbuffer_add(b, "{\"items\":[", 10);
	for (int i = 0, shown = 0; i < n && i < ctx->limit; i++) {
		unsigned access;
		/* The units' notes: each as its reader may see it (a lead above
		 * reads them masked); none, were the snapshot to change between
		 * the query and its answer, that the reader no longer may see. */
		access = access_of_units(s, ctx->me, col(res, i, L_SENDER_UNIT),
		                         col(res, i, L_RECEIVER_UNIT),
		                         strcmp(PQgetvalue(res, i, L_FILED), "t") == 0);
		if (access == 0 ||
		    (strcmp(ctx->box, "drafts") == 0 && !(access & HO_ACCESS_SENDER)))
			continue;
		if (shown++)
			evbuffer_add(b, ",", 1);
		put_item(b, res, i, s, access);
		if (n > ctx->limit && i == ctx->limit - 1)
			snprintf(next, sizeof(next), "\"%s.%s\"", PQgetvalue(res, i, L_UPDATED),
			         PQgetvalue(res, i, L_ID));
	}
	evbuffer_add_printf(b, "],\"next_cursor\":%s}", *next ? next : "null");
	http_respond_buffer(req, 200, "application/json", b);
	evbuffer_free(b);
	free(ctx);
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

/* ?status=a,b as a PostgreSQL array literal "{a,b}" in arr (empty when none
 * is given); false when a status is unknown, the answer sent. */
static bool
list_statuses_param(struct http_request *req, char status_s[128], char arr[160])
{
	char *tok, *save = NULL;

	if (!http_query_has(req, "status"))
		return true;
	if (!http_query_param(req, "status", status_s, 128)) {
		http_bad_param(req, "status", "Ugyldig status.");
		return false;
	}
	strcpy(arr, "{");
	for (tok = strtok_r(status_s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool ok = false;
		for (size_t i = 0; statuses[i]; i++)
			ok = ok || strcmp(tok, statuses[i]) == 0;
		if (!ok) {
			http_bad_param(req, "status",
			               "Ukendt status; brug draft, submitted, received, returned, "
			               "accepted eller withdrawn (flere adskilt af komma).");
			return false;
		}
		if (strlen(arr) > 1)
			strcat(arr, ",");
		strcat(arr, tok);
	}
	strcat(arr, "}");
	if (strcmp(arr, "{}") == 0)
		*arr = '\0';
	return true;
}

/* ?cursor=MICROSECONDS.UUID, split in place into *us and *id (left NULL when
 * there is none); false when malformed, the answer sent. */
static bool
list_cursor_param(struct http_request *req, char cursor[96], const char **us, const char **id)
{
	char *dot;

	if (!http_query_has(req, "cursor"))
		return true;
	if (!http_query_param(req, "cursor", cursor, 96) || (dot = strchr(cursor, '.')) == NULL ||
	    dot == cursor || strspn(cursor, "0123456789") != (size_t)(dot - cursor) ||
	    dot - cursor > 18 || !uuid_ok(dot + 1)) {
		http_bad_param(req, "cursor", "Ugyldig markør.");
		return false;
	}
	*dot = '\0';
	*us = cursor;
	*id = dot + 1;
	return true;
}

void
api_handovers_list(struct http_request *req)
{
	static const char *const known[] = {"box", "status", "route", "limit", "cursor", NULL};
	char box[16] = "", status_s[128] = "", route[72] = "", limit_s[16] = "", cursor[96] = "";
	char statuses_arr[160] = "", limit_q[16], *units;
	const char *cur_us = NULL, *cur_id = NULL;
	const struct dir_snapshot *s;
	long limit = 50;
	int me;

	if (!http_query_check(req, known))
		return;
	if ((http_query_has(req, "box") && !http_query_param(req, "box", box, sizeof(box))) ||
	    (*box && strcmp(box, "incoming") != 0 && strcmp(box, "outgoing") != 0 &&
	     strcmp(box, "drafts") != 0)) {
		http_bad_param(req, "box", "Skal være incoming, outgoing eller drafts.");
		return;
	}
	if (!list_statuses_param(req, status_s, statuses_arr))
		return;
	if (http_query_has(req, "route") &&
	    (!http_query_param(req, "route", route, sizeof(route)) || strlen(route) > 64)) {
		http_bad_param(req, "route", "Ugyldig rute.");
		return;
	}
	if (http_query_has(req, "limit")) {
		char *end;
		if (!http_query_param(req, "limit", limit_s, sizeof(limit_s)) ||
		    (limit = strtol(limit_s, &end, 10), *end) || limit < 1 || limit > 500) {
			http_bad_param(req, "limit", "Skal være et tal fra 1 til 500.");
			return;
		}
	}
	if (!list_cursor_param(req, cursor, &cur_us, &cur_id))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	me = auth_person(req);
	units = access_visible_units_array(s, me);
	snprintf(limit_q, sizeof(limit_q), "%ld", limit + 1);
	struct list_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->me = me;
	ctx->limit = (int)limit;
	snprintf(ctx->box, sizeof(ctx->box), "%s", *box ? box : "all");
	/* the page and the read's audit row in one statement (migration 0014) */
	const char *params[10] = {ctx->box,
	                          units,
	                          *statuses_arr ? statuses_arr : NULL,
	                          *route ? route : NULL,
	                          cur_us,
	                          cur_id,
	                          limit_q,
	                          req->auth.person_id,
	                          req->auth.username,
	                          *req->client ? req->client : NULL};
	static struct db_stmt list_stmt = {"handovers_list",
	                                   "SELECT * FROM handover_list($1, $2::text[], "
	                                   "$3::text[], $4, $5::bigint, $6::uuid, $7::int, $8, "
	                                   "$9, $10)",
	                                   10, 0};
	if (db_query_stmt(&list_stmt, params, listed, ctx) == -1) {
		free(ctx);
		answer_db_error(req, "unavailable");
	}
	free(units);
}
