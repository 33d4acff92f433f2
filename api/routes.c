/*
 * routes.c: GET /api/v1/routes and POST /api/v1/counterparts (API.md).
 * Both answer from memory: the routes in force (routes.c) and the
 * directory snapshot; resolution itself is directory/resolve.c. A CPR
 * number in a request is turned into a birth date, wiped from the parsed
 * body at once, and never stored, logged or echoed.
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

#define TEXT_MAX 200 /* surname, district, target group, kle */

static const char *const no_params[] = {NULL};

static struct ho_route_set *
routes_or_fail(struct http_request *req)
{
	struct ho_route_set *set = routes_current();
	if (set == NULL) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL,
		             "The routes have not been loaded from the database yet.");
	}
	return set;
}

void
api_routes_list(struct http_request *req)
{
	struct ho_route_set *set;
	json_t *items;

	if (!http_query_check(req, no_params))
		return;
	if ((set = routes_or_fail(req)) == NULL)
		return;
	items = json_array();
	for (size_t i = 0; i < set->n; i++) {
		const struct ho_route *r = &set->v[i];
		json_t *o;
		if (!r->enabled)
			continue;
		o = routes_to_json(r);
		json_object_del(o, "enabled");
		json_array_append_new(items, o);
	}
	http_respond_json(req, 200, json_pack("{s:o}", "items", items));
}

/* An optional string field of at most TEXT_MAX bytes; false after adding
 * an error to p. */
static bool
text_field(json_t *obj, const char *key, const char *field, json_t *p, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		json_problem_add_error(p, field, "type", "Skal være en tekst.");
		return false;
	}
	if (json_string_length(v) > TEXT_MAX) {
		json_problem_add_error(p, field, "too_long", "Teksten er for lang.");
		return false;
	}
	if (json_string_length(v) > 0)
		*out = json_string_value(v);
	return true;
}

/* kle: NN, NN.NN or NN.NN.NN. */
static void
read_kle(json_t *body, json_t *p, struct resolve_facts *f)
{
	if (text_field(body, "kle", "kle", p, &f->kle) && f->kle) {
		size_t n = strlen(f->kle);
		bool ok = n == 2 || n == 5 || n == 8;
		for (size_t i = 0; ok && i < n; i++)
			ok = (i % 3 == 2) ? f->kle[i] == '.'
			                  : (f->kle[i] >= '0' && f->kle[i] <= '9');
		if (!ok)
			json_problem_add_error(p, "kle", "invalid",
			                       "Et KLE-nummer skrives NN, NN.NN eller NN.NN.NN.");
	}
}

/* The lookup's date: the body's, or today in Copenhagen. */
static void
read_date(json_t *body, json_t *p, struct resolve_facts *f)
{
	json_t *v = json_object_get(body, "date");

	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    !clock_date_valid(json_string_value(v), json_string_length(v)))
			json_problem_add_error(p, "date", "invalid",
			                       "Datoen skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
		else
			memcpy(f->date, json_string_value(v), 11);
	}
	if (!*f->date)
		clock_today(f->date);
}

/* citizen.birthdate, then citizen.cpr: the birth date they give (they must
 * agree). The CPR number is wiped from the body once read. */
static void
read_birth(json_t *citizen, json_t *p, struct resolve_facts *f)
{
	json_t *v = json_object_get(citizen, "birthdate");
	const char *why = NULL;
	char born[11];
	int rc;

	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    !clock_date_valid(json_string_value(v), json_string_length(v)))
			json_problem_add_error(
			    p, "citizen.birthdate", "invalid",
			    "Fødselsdatoen skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
		else if (strcmp(json_string_value(v), f->date) > 0)
			json_problem_add_error(p, "citizen.birthdate", "future",
			                       "Fødselsdatoen ligger efter datoen for opslaget.");
		else
			memcpy(f->birthdate, json_string_value(v), 11);
	}
	v = json_object_get(citizen, "cpr");
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		json_problem_add_error(p, "citizen.cpr", "type", "Skal være en tekst.");
		return;
	}
	rc = dir_citizen_birthdate(json_string_value(v), json_string_length(v), born, &why);
	/* The number has done its work: gone from memory now. */
	explicit_wipe((char *)(uintptr_t)json_string_value(v), json_string_length(v));
	if (rc == -1)
		json_problem_add_error(p, "citizen.cpr", "invalid", why);
	else if (strcmp(born, f->date) > 0)
		json_problem_add_error(p, "citizen.cpr", "future",
		                       "CPR-nummerets fødselsdato ligger efter datoen for "
		                       "opslaget.");
	else if (*f->birthdate && strcmp(born, f->birthdate) != 0)
		json_problem_add_error(p, "citizen.cpr", "mismatch",
		                       "CPR-nummeret passer ikke med fødselsdatoen.");
	else
		memcpy(f->birthdate, born, 11);
}

/* The citizen's facts but the birth date: texts, placed, employment. */
static void
read_citizen(json_t *citizen, json_t *p, struct resolve_facts *f)
{
	json_t *v;
	const char *s;

	text_field(citizen, "surname", "citizen.surname", p, &f->surname);
	text_field(citizen, "district", "citizen.district", p, &f->district);
	text_field(citizen, "target_group", "citizen.target_group", p, &f->target_group);
	v = json_object_get(citizen, "placed");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			json_problem_add_error(p, "citizen.placed", "type",
			                       "Skal være true eller false.");
		else
			f->placed = json_is_true(v) ? 1 : 0;
	}
	if (text_field(citizen, "employment_status", "citizen.employment_status", p, &s) && s &&
	    (f->employment = dir_citizen_employment_parse(s)) == EMP_UNKNOWN)
		json_problem_add_error(p, "citizen.employment_status", "invalid",
		                       "Ukendt beskæftigelsesstatus; brug job, education, "
		                       "employment_case, education_case, pension_assessment, "
		                       "disability_pension eller old_age_pension.");
}

/* The body's shape: an object with known fields, citizen an object. */
static bool
body_shape_ok(struct http_request *req, json_t *body, json_t **citizen)
{
	static const char *const top[] = {"route", "citizen", "kle", "date", NULL};
	static const char *const cit[] = {
	    "birthdate", "cpr",          "surname",           "placed",
	    "district",  "target_group", "employment_status", NULL};
	json_t *p;

	if (!json_is_object(body)) {
		http_problem(req, 400, NULL, "The request body must be a JSON object.");
		return false;
	}
	if ((p = json_unknown_fields(body, top, NULL)) != NULL) {
		http_problem_json(req, p);
		return false;
	}
	*citizen = json_object_get(body, "citizen");
	if (*citizen && !json_is_object(*citizen)) {
		http_problem(req, 400, NULL, "'citizen' must be a JSON object.");
		return false;
	}
	if (*citizen && (p = json_unknown_fields(*citizen, cit, "citizen.")) != NULL) {
		http_problem_json(req, p);
		return false;
	}
	return true;
}

/*
 * The citizen's facts from the body. Structure errors (unknown fields,
 * wrong types) answer 400, values that cannot be used 422; false when
 * answered.
 */
static bool
read_facts(struct http_request *req, json_t *body, struct resolve_facts *f, const char **code)
{
	json_t *p, *citizen, *v;

	if (!body_shape_ok(req, body, &citizen))
		return false;
	p = json_problem(422, "Uanvendelige oplysninger",
	                 "Oplysningerne kan ikke bruges til at finde modtageren.");
	memset(f, 0, sizeof(*f));
	f->placed = -1;
	f->caller = DIR_NONE;

	v = json_object_get(body, "route");
	if (!json_is_string(v) || json_string_length(v) == 0)
		json_problem_add_error(p, "route", "required", "Angiv en rute.");
	else if (json_string_length(v) > 64)
		json_problem_add_error(p, "route", "unknown", "Ruten findes ikke.");
	else
		*code = json_string_value(v);
	read_kle(body, p, f);
	read_date(body, p, f);
	if (citizen == NULL || json_object_size(citizen) == 0) {
		json_problem_add_error(p, "citizen", "required",
		                       "Angiv mindst én oplysning om borgeren, fx fødselsdato.");
	} else {
		read_birth(citizen, p, f);
		read_citizen(citizen, p, f);
	}
	if (json_object_get(p, "errors") != NULL) {
		http_problem_json(req, p);
		return false;
	}
	json_decref(p);
	return true;
}

void
api_counterparts(struct http_request *req)
{
	struct resolve_facts f;
	struct resolve_route rr;
	const struct ho_route *route;
	struct ho_route_set *set;
	const struct dir_snapshot *s;
	const char *code = NULL;
	json_t *answer, *problem = NULL;
	struct evbuffer *b;

	if (!http_query_check(req, no_params))
		return;
	if (!read_facts(req, req->json, &f, &code))
		return;
	if ((set = routes_or_fail(req)) == NULL)
		return;
	if ((route = routes_find(set, code)) == NULL) {
		json_t *p = json_problem(422, "Ukendt rute", "Ruten findes ikke.");
		json_problem_add_error(
		    p, "route", "unknown",
		    "Ruten findes ikke; se listen over ruter (GET /api/v1/routes).");
		http_problem_json(req, p);
		return;
	}
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	f.caller = auth_person(req);
	routes_resolve_view(route, &rr);
	answer = json_pack("{s:o}", "directory", dir_sync_info());
	b = evbuffer_new();
	if (b == NULL)
		fatalx("counterparts: evbuffer_new");
	if (dir_resolve_render(s, &rr, &f, answer, &problem, b) == -1) {
		evbuffer_free(b);
		http_problem_json(req, problem);
		return;
	}
	http_respond_buffer(req, 200, "application/json", b);
	evbuffer_free(b);
}
