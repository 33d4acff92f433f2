/*
 * alerts.c: the alerts' endpoints: GET /api/v1/outbox and POST
 * /api/v1/outbox/{id}/retry for admins (the rows handover/outbox.c could
 * not deliver), and GET/PUT /api/v1/me/alerts (one mail a day or one per
 * event).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "alerts.h"
#include "auth.h"
#include "api.h"

/* -- GET /api/v1/outbox, POST /api/v1/outbox/{id}/retry (admins) ------------------------ */

static void
outbox_listed(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	json_t *items = json_array(), *next = json_null();
	int n, limit;

	if (error || res == NULL) {
		json_decref(items);
		answer_db_error(req, error);
		return;
	}
	n = PQntuples(res);
	limit = n > 0 ? atoi(PQgetvalue(res, 0, 1)) : 0;
	for (int i = 0; i < n && i < limit; i++) {
		json_t *o = json_loads(PQgetvalue(res, i, 0), 0, NULL);
		if (o)
			json_array_append_new(items, o);
		if (i == limit - 1 && n > limit)
			next = json_integer(json_integer_value(json_object_get(o, "id")));
	}
	if (json_is_integer(next)) {
		char c[32];
		snprintf(c, sizeof(c), "%" JSON_INTEGER_FORMAT, json_integer_value(next));
		json_decref(next);
		next = json_string(c);
	}
	audit_record(req, req->auth.person_id, req->auth.username, "outbox.read", NULL, NULL, NULL);
	http_respond_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void
api_outbox_list(struct http_request *req)
{
	static const char *const known[] = {"state", "limit", "cursor", NULL};
	char state[16] = "", limit_s[16] = "", cursor[32] = "", lim[16];
	long limit = 50;
	char *end;

	if (!auth_has_role(req, ROLE_ADMIN)) {
		http_problem(req, 404, NULL, "No such resource.");
		return;
	}
	if (!http_query_check(req, known))
		return;
	if (http_query_has(req, "state") &&
	    (!http_query_param(req, "state", state, sizeof(state)) ||
	     (strcmp(state, "pending") && strcmp(state, "sent") && strcmp(state, "dead") &&
	      strcmp(state, "digest")))) {
		http_bad_param(req, "state", "Skal være pending, sent, dead eller digest.");
		return;
	}
	if (http_query_has(req, "limit") &&
	    (!http_query_param(req, "limit", limit_s, sizeof(limit_s)) ||
	     (limit = strtol(limit_s, &end, 10), *end) || limit < 1 || limit > 500)) {
		http_bad_param(req, "limit", "Skal være et tal fra 1 til 500.");
		return;
	}
	if (http_query_has(req, "cursor") &&
	    (!http_query_param(req, "cursor", cursor, sizeof(cursor)) || !*cursor ||
	     strspn(cursor, "0123456789") != strlen(cursor) || strlen(cursor) > 18)) {
		http_bad_param(req, "cursor", "Ugyldig markør.");
		return;
	}
	snprintf(lim, sizeof(lim), "%ld", limit);
	const char *params[3] = {*state ? state : NULL, *cursor ? cursor : NULL, lim};
	if (db_query(
	        "SELECT jsonb_build_object('id', o.id, 'event', o.event, 'state', o.state, "
	        "'attempts', o.attempts, 'ref', h.ref, 'route', h.route, 'recipients', "
	        "(SELECT COALESCE(jsonb_agg(r->>'email'), '[]') FROM "
	        "jsonb_array_elements(o.recipients) r), 'message_id', o.message_id, "
	        "'created_at', stafet_ts(o.created_at), 'next_attempt_at', "
	        "stafet_ts(o.next_attempt_at), 'sent_at', stafet_ts(o.sent_at), 'last_error', "
	        "o.last_error)::text, $3::int FROM outbox o LEFT JOIN handovers h ON h.id = "
	        "o.handover_id WHERE ($1::text IS NULL OR o.state = $1) AND ($2::bigint IS NULL "
	        "OR o.id < $2::bigint) ORDER BY o.id DESC LIMIT $3::int + 1",
	        3, params, outbox_listed, req) == -1)
		answer_db_error(req, "unavailable");
}

static void
retried(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	json_t *o;
	if (error || res == NULL) {
		answer_db_error(req, error);
		return;
	}
	if (PQntuples(res) != 1 || (o = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		http_problem(req, 409, NULL, "Only a dead alert can be tried again.");
		return;
	}
	http_respond_json(req, 200, o);
	outbox_kick();
}

void
api_outbox_retry(struct http_request *req)
{
	const char *rest = req->head.path + strlen("/api/v1/outbox/");
	char id[24];
	size_t n = strcspn(rest, "/");
	static const char *const none[] = {NULL};

	if (!auth_has_role(req, ROLE_ADMIN) || n == 0 || n > 18 ||
	    strspn(rest, "0123456789") != n) {
		http_problem(req, 404, NULL, "No such resource.");
		return;
	}
	if (!http_query_check(req, none))
		return;
	memcpy(id, rest, n);
	id[n] = '\0';
	const char *params[4] = {id, req->auth.person_id, req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query(
	        "WITH u AS (UPDATE outbox SET state = 'pending', attempts = 0, "
	        "next_attempt_at = now(), lease_until = NULL WHERE id = $1::bigint AND state = "
	        "'dead' RETURNING id, state), a AS (INSERT INTO audit_log (actor_id, "
	        "actor_username, address, action, object_type, object_id) SELECT $2, $3, $4, "
	        "'outbox.retry', 'outbox', id::text FROM u) "
	        "SELECT jsonb_build_object('id', id, 'state', state)::text FROM u",
	        4, params, retried, req) == -1)
		answer_db_error(req, "unavailable");
}

/* -- GET/PUT /api/v1/me/alerts ---------------------------------------------------------- */

static void
settings_done(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	if (error || res == NULL) {
		answer_db_error(req, error);
		return;
	}
	bool digest = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	http_respond_json(req, 200, json_pack("{s:b}", "digest", digest));
}

void
api_alert_settings_get(struct http_request *req)
{
	static const char *const none[] = {NULL};
	const char *params[1] = {req->auth.person_id};
	if (!http_query_check(req, none))
		return;
	if (db_query("SELECT digest FROM alert_preferences WHERE person_id = $1", 1, params,
	             settings_done, req) == -1)
		answer_db_error(req, "unavailable");
}

void
api_alert_settings_put(struct http_request *req)
{
	static const char *const none[] = {NULL};
	static const char *const known[] = {"digest", NULL};
	json_t *p, *v;

	if (!http_query_check(req, none) || !answer_body_object(req, known))
		return;
	v = json_object_get(req->json, "digest");
	if (!json_is_boolean(v)) {
		p = json_problem(400, NULL, "'digest' must be true or false.");
		json_problem_add_error(p, "digest", "type", "Skal være true eller false.");
		http_problem_json(req, p);
		return;
	}
	const char *params[2] = {req->auth.person_id, json_is_true(v) ? "t" : "f"};
	if (db_query("INSERT INTO alert_preferences (person_id, digest) VALUES ($1, $2::boolean) "
	             "ON CONFLICT (person_id) DO UPDATE SET digest = EXCLUDED.digest, updated_at = "
	             "now() RETURNING digest",
	             2, params, settings_done, req) == -1)
		answer_db_error(req, "unavailable");
}
