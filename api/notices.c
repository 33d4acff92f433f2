/*
 * notices.c: notices (varsler; API.md 1.1 "Notices"): filing one, the
 * lists, one notice (read, PATCH with If-Match), and its actions
 * (acknowledge, cancel, handover: the draft note made from it). The CSV
 * import and the pipeline are notices_import.c.
 *
 * Need to know as for notes (notice.c): the members and leads of the
 * sending and receiving units each for their side, the leads of units
 * above read masked and may not act, everyone else 404, decided right
 * after the load and before anything in the request is judged, so no
 * answer tells a notice one may not see from one that does not exist.
 * Then the request (body, If-Match), the side (403), the state (409), the
 * version (412). Every write is one statement (migration 0013) that
 * changes the row only at the version read and adds the version, the
 * event, the outbox rows and the audit row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "workdays.h"
#include "notice.h"
#include "auth.h"
#include "api.h"

#define COMMENT_MAX 2000
#define REASON_MAX  1000
#define TRIES       3

enum act { A_GET, A_PATCH, A_ACK, A_CANCEL, A_HANDOVER };

struct op {
	struct http_request *req;
	enum act act;
	char id[40];
	long if_match; /* -1 absent, 0 "*", > 0 a version */
	unsigned access;
	int tries;
	bool checked;
	json_t *row;
	json_t *head; /* the change, once judged */
};

static void op_load(struct op *);

static void
op_free(struct op *op)
{
	json_decref(op->row);
	json_decref(op->head);
	free(op);
}

unsigned
api_notices_days_off(void)
{
	const struct config *c = config_current();
	unsigned off = 0;
	if (c == NULL || workdays_days_off(c->days_off, &off) == -1)
		off = 0;
	return off;
}

static void
notice_not_found(struct http_request *req)
{
	http_problem(req, 404, NULL, "Varslet findes ikke.");
}

static void
set_etag(struct http_request *req, const json_t *row)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	http_add_header(req, "ETag", etag);
}

/* The API's Notice for the caller (routes_current() for the milestones). */
json_t *
api_notice_render(const json_t *row, unsigned access, bool full_cpr)
{
	struct ho_route_set *set = routes_current();
	const struct ho_route *r = set ? routes_find_any(set, json_str(row, "route")) : NULL;
	return notice_render(row, dir_sync_current(), r, access, full_cpr, api_notices_days_off());
}

/* expected_date: a valid date, not in the past, at most 20 years ahead;
 * false with the error added to p. */
bool
api_notice_expected_ok(const json_t *v, json_t *p, int *status)
{
	char today[11], limit[11];

	if (!json_is_string(v)) {
		json_problem_add_error(p, "expected_date", "type",
		                       "Skal være en dato (ÅÅÅÅ-MM-DD).");
		*status = 400;
		return false;
	}
	if (!clock_date_valid(json_string_value(v), json_string_length(v))) {
		json_problem_add_error(
		    p, "expected_date", "invalid",
		    "Den forventede dato skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
	} else {
		clock_today(today);
		if (strcmp(json_string_value(v), today) < 0) {
			json_problem_add_error(
			    p, "expected_date", "past",
			    "Den forventede dato er overskredet. Vælg en dato fra i "
			    "dag og frem.");
		} else if (checks_date_add_months(today, 240, limit) == 0 &&
		           strcmp(json_string_value(v), limit) > 0) {
			json_problem_add_error(
			    p, "expected_date", "too_far",
			    "Den forventede dato ligger mere end 20 år ude i fremtiden.");
		} else {
			return true;
		}
	}
	if (*status != 400)
		*status = 422;
	return false;
}

/* -- POST /api/v1/notices ------------------------------------------------------------------ */

/* The sending unit a person files from for route r (as handovers.c): their
 * own unit within the route's sending unit, else a unit they lead that is. */
const char *
api_notice_sending_unit(const struct dir_snapshot *s, int me, const struct ho_route *r)
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

/* The 409 of an existing open notice or unfinished note (conflict borrowed). */
void
api_notice_conflict(struct http_request *req, const json_t *conflict)
{
	const char *kind = json_str(conflict, "kind");
	bool notice = kind && strcmp(kind, "notice") == 0;
	char detail[300];
	json_t *p;

	snprintf(detail, sizeof(detail),
	         notice ? "Der er allerede et åbent varsel for borgeren på ruten: %s (id %s)."
	                : "Der er allerede et notat i gang for borgeren på ruten: %s (id %s).",
	         json_str(conflict, "ref") ? json_str(conflict, "ref") : "-",
	         json_str(conflict, "id") ? json_str(conflict, "id") : "-");
	p = json_problem(409, notice ? "Varslet findes allerede" : "Et notat er i gang", detail);
	json_object_set(p, "existing", (json_t *)(uintptr_t)conflict);
	http_problem_json(req, p);
}

static void
created(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	json_t *row, *c;
	char loc[96];

	if (error || res == NULL || PQntuples(res) != 1) {
		answer_db_error(req, error);
		return;
	}
	if ((row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, "unreadable row");
		return;
	}
	if ((c = json_object_get(row, "conflict")) != NULL) {
		api_notice_conflict(req, c);
		json_decref(row);
		return;
	}
	log_info("notices: %s created by %s", json_str(row, "ref"), req->auth.person_id);
	api_counterparts_changed();
	set_etag(req, row);
	snprintf(loc, sizeof(loc), "/api/v1/notices/%s", json_str(row, "id"));
	http_add_header(req, "Location", loc);
	http_respond_json(req, 201, api_notice_render(row, HO_ACCESS_SENDER, false));
	json_decref(row);
}

void
api_notices_create(struct http_request *req)
{
	static const char *const known[] = {"route",   "citizen",  "expected_date",
	                                    "comment", "receiver", NULL};
	static const char *const no_params[] = {NULL};
	struct ho_route_set *set;
	const struct ho_route *r;
	const struct dir_snapshot *s;
	const char *from, *comment = "";
	json_t *v, *fields, *p;
	int status = 0, me;
	char *text;

	if (!http_query_check(req, no_params) || !answer_body_object(req, known))
		return;
	if ((set = answer_routes_or_fail(req)) == NULL ||
	    (s = answer_snapshot_or_fail(req)) == NULL)
		return;
	v = json_object_get(req->json, "route");
	if (v && !json_is_string(v)) {
		p = json_problem(400, NULL, "'route' must be a string.");
		json_problem_add_error(p, "route", "type", "Skal være en tekst.");
		http_problem_json(req, p);
		return;
	}
	if ((r = v ? routes_find(set, json_string_value(v)) : NULL) == NULL) {
		p = json_problem(422, "Ukendt rute", "Ruten findes ikke.");
		json_problem_add_error(p, "route", v ? "unknown" : "required",
		                       "Angiv en rute fra listen over ruter.");
		http_problem_json(req, p);
		return;
	}
	if ((me = auth_person(req)) == DIR_NONE ||
	    (from = api_notice_sending_unit(s, me, r)) == NULL) {
		http_problem(req, 403, NULL,
		             "Kun medarbejdere i rutens afsenderenhed kan varsle på ruten.");
		return;
	}
	fields = json_object();
	p = json_problem(422, "Ugyldige felter", "Varslets felter kan ikke bruges.");
	status = api_handovers_read_fields(req->json, NULL, false, true, fields, p);
	if ((v = json_object_get(req->json, "expected_date")) == NULL) {
		json_problem_add_error(p, "expected_date", "required",
		                       "Angiv den forventede dato.");
		status = status ? status : 422;
	} else if (api_notice_expected_ok(v, p, &status)) {
		json_object_set(fields, "expected_date", v);
	}
	if ((v = json_object_get(req->json, "comment")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			json_problem_add_error(p, "comment", "type", "Skal være en tekst.");
			status = 400;
		} else if (json_string_length(v) > COMMENT_MAX) {
			json_problem_add_error(p, "comment", "too_long", "Højst 2000 tegn.");
			status = status ? status : 422;
		} else {
			comment = json_string_value(v);
		}
	}
	if (status != 400) {
		if (!json_str(fields, "receiver_unit") && r->to_unit)
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
	json_object_set_new(fields, "route", json_string(r->code));
	json_object_set_new(fields, "sender_unit", json_string(from));
	json_object_set_new(fields, "comment", json_string(comment));
	text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	const char *params[4] = {text, req->auth.person_id, req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query("SELECT notice_create($1::jsonb, $2, $3, $4)::text", 4, params, created,
	             req) == -1)
		answer_db_error(req, "unavailable");
	free(text);
}

/* -- GET /api/v1/notices ------------------------------------------------------------------- */

struct list_ctx {
	struct http_request *req;
	int me, limit;
	char box[16];
};

static void
listed(PGresult *res, const char *error, void *arg)
{
	struct list_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	const struct dir_snapshot *s = dir_sync_current();
	json_t *items = json_array(), *next = json_null();
	int n;

	if (error || res == NULL) {
		answer_db_error(req, error);
		json_decref(items);
		free(ctx);
		return;
	}
	n = PQntuples(res);
	for (int i = 0; i < n && i < ctx->limit; i++) {
		json_t *row = json_loads(PQgetvalue(res, i, 0), 0, NULL);
		unsigned access;
		if (row == NULL)
			continue;
		if (n > ctx->limit && i == ctx->limit - 1) {
			char cur[64];
			snprintf(cur, sizeof(cur), "%s.%s", json_str(row, "expected_date"),
			         json_str(row, "id"));
			json_decref(next);
			next = json_string(cur);
		}
		if ((access = notice_access(s, ctx->me, row)) != 0)
			json_array_append_new(items, api_notice_render(row, access, false));
		json_decref(row);
	}
	audit_record(req, req->auth.person_id, req->auth.username, "notice.list", NULL, NULL,
	             ctx->box);
	http_respond_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
	free(ctx);
}

static bool
date_param(struct http_request *req, const char *name, char out[16])
{
	if (!http_query_has(req, name))
		return true;
	if (!http_query_param(req, name, out, 16) || !clock_date_valid(out, strlen(out))) {
		http_bad_param(req, name, "Skal være en dato (ÅÅÅÅ-MM-DD).");
		return false;
	}
	return true;
}

static const char *const notice_statuses[] = {"open", "acknowledged", "converted", "cancelled",
                                              NULL};

void
api_notices_list(struct http_request *req)
{
	static const char *const known[] = {"box", "status", "from", "to", "limit", "cursor", NULL};
	char box[16] = "", statuses[96], from[16] = "", to[16] = "", cursor[80] = "", limit_q[24],
	     *units;
	const char *cur_day = NULL, *cur_id = NULL;
	const struct dir_snapshot *s;
	long limit = 50;

	if (!http_query_check(req, known))
		return;
	if ((http_query_has(req, "box") && !http_query_param(req, "box", box, sizeof(box))) ||
	    (*box && strcmp(box, "incoming") != 0 && strcmp(box, "outgoing") != 0)) {
		http_bad_param(req, "box", "Skal være incoming eller outgoing.");
		return;
	}
	if (!answer_statuses_param(req, notice_statuses,
	                           "Ukendt status; brug open, acknowledged, converted eller "
	                           "cancelled (flere adskilt af komma).",
	                           statuses, sizeof(statuses)) ||
	    !date_param(req, "from", from) || !date_param(req, "to", to))
		return;
	if (!answer_page_params(req, &limit, cursor, sizeof(cursor), clock_date_valid, &cur_day,
	                        &cur_id))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	struct list_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->me = auth_person(req);
	ctx->limit = (int)limit;
	snprintf(ctx->box, sizeof(ctx->box), "%s", *box ? box : "all");
	units = access_visible_units_array(s, ctx->me);
	snprintf(limit_q, sizeof(limit_q), "%ld", limit + 1);
	const char *params[8] = {units,
	                         *statuses ? statuses : NULL,
	                         *from ? from : NULL,
	                         *to ? to : NULL,
	                         cur_day,
	                         cur_id,
	                         limit_q,
	                         ctx->box};
	if (db_query("SELECT notice_json(n)::text FROM notices n WHERE "
	             "(($8 <> 'incoming' AND n.sender_unit = ANY($1::text[])) OR "
	             "($8 <> 'outgoing' AND n.receiver_unit = ANY($1::text[]))) "
	             "AND ($2::text[] IS NULL OR n.status = ANY($2::text[])) "
	             "AND ($3::date IS NULL OR n.expected_date >= $3::date) "
	             "AND ($4::date IS NULL OR n.expected_date <= $4::date) "
	             "AND ($5::date IS NULL OR (n.expected_date, n.id) > ($5::date, $6::uuid)) "
	             "ORDER BY n.expected_date, n.id LIMIT $7::int",
	             8, params, listed, ctx) == -1) {
		free(ctx);
		answer_db_error(req, "unavailable");
	}
	free(units);
}

/* -- one notice ---------------------------------------------------------------------------- */

static void
respond(struct op *op, int status)
{
	set_etag(op->req, op->row);
	http_respond_json(op->req, status,
	                  api_notice_render(op->row, op->access, op->act == A_GET));
}

static void
written(PGresult *res, const char *error, void *arg)
{
	struct op *op = arg;
	struct http_request *req = op->req;
	json_t *row;

	if (error || res == NULL) {
		answer_db_error(req, error);
		op_free(op);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		if (op->if_match > 0) {
			http_problem(
			    req, 412, NULL,
			    "Varslet er ændret af en anden siden du hentede det. Hent det igen.");
		} else if (++op->tries >= TRIES) {
			http_problem(req, 409, NULL, "Varslet ændres af andre lige nu. Prøv igen.");
		} else {
			json_decref(op->row);
			op->row = NULL;
			op_load(op); /* judged again; the request's change is kept */
			return;
		}
		op_free(op);
		return;
	}
	if ((row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, "unreadable row");
		op_free(op);
		return;
	}
	api_counterparts_changed();
	json_decref(op->row);
	op->row = row;
	log_info("notices: %s %s by %s, now %s", json_str(row, "ref"),
	         op->act == A_PATCH ? "edit"
	         : op->act == A_ACK ? "acknowledge"
	                            : "cancel",
	         req->auth.person_id, json_str(row, "status"));
	respond(op, 200);
	op_free(op);
}

static void
op_write(struct op *op, const char *action, json_t *detail, json_t *outbox)
{
	struct http_request *req = op->req;
	char expect[32], *h, *d = NULL, *o = NULL;

	snprintf(expect, sizeof(expect), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(op->row, "version")));
	h = json_dumps(op->head, JSON_COMPACT);
	if (detail)
		d = json_dumps(detail, JSON_COMPACT);
	if (outbox)
		o = json_dumps(outbox, JSON_COMPACT);
	json_decref(detail);
	json_decref(outbox);
	const char *params[9] = {op->id,
	                         expect,
	                         req->auth.person_id,
	                         req->auth.username,
	                         *req->client ? req->client : NULL,
	                         action,
	                         h,
	                         d,
	                         o};
	if (db_query("SELECT notice_write($1::uuid, $2::int, $3, $4, $5, $6, $7::jsonb, $8::jsonb, "
	             "$9::jsonb)::text",
	             9, params, written, op) == -1) {
		answer_db_error(req, "unavailable");
		op_free(op);
	}
	free(h);
	free(d);
	free(o);
}

/* The request's body and If-Match, judged once the caller may see the
 * notice; the change into op->head. false after answering. */
static bool
judge_request(struct op *op)
{
	static const char *const patch_known[] = {"expected_date", "comment", "milestones_done",
	                                          NULL};
	static const char *const ack_known[] = {"person", NULL};
	static const char *const cancel_known[] = {"reason", NULL};
	static const char *const none[] = {NULL};
	struct http_request *req = op->req;
	const char *const *known = op->act == A_PATCH    ? patch_known
	                           : op->act == A_ACK    ? ack_known
	                           : op->act == A_CANCEL ? cancel_known
	                                                 : none;
	json_t *body = req->json, *v, *p;
	int status = 0;

	if ((op->if_match = answer_if_match(req)) == -2) {
		http_problem(req, 400, NULL, "If-Match must be an entity tag such as \"3\".");
		return false;
	}
	if (op->if_match == -1 && op->act == A_PATCH) {
		http_problem(
		    req, 428, NULL,
		    "Send If-Match med varslets ETag, så du ikke overskriver en nyere udgave.");
		return false;
	}
	if (body && !answer_body_object(req, known))
		return false;
	if (body == NULL && op->act == A_PATCH) {
		http_problem(req, 400, NULL, "The request body must be a JSON object.");
		return false;
	}
	op->head = json_object();
	p = json_problem(422, "Ugyldige felter", "Varslets felter kan ikke bruges.");
	if (op->act == A_PATCH) {
		if ((v = json_object_get(body, "expected_date")) != NULL &&
		    api_notice_expected_ok(v, p, &status))
			json_object_set(op->head, "expected_date", v);
		if ((v = json_object_get(body, "comment")) != NULL) {
			if (!json_is_string(v)) {
				json_problem_add_error(p, "comment", "type", "Skal være en tekst.");
				status = 400;
			} else if (json_string_length(v) > COMMENT_MAX) {
				json_problem_add_error(p, "comment", "too_long",
				                       "Højst 2000 tegn.");
				status = status ? status : 422;
			} else {
				json_object_set(op->head, "comment", v);
			}
		}
		if ((v = json_object_get(body, "milestones_done")) != NULL) {
			size_t i;
			json_t *k;
			bool ok =
			    json_is_array(v) && json_array_size(v) <= NOTICE_MILESTONES_MAX + 2;
			json_array_foreach (v, i, k) {
				ok = ok && json_is_string(k) && json_string_length(k) <= 40;
			}
			if (!ok) {
				json_problem_add_error(p, "milestones_done", "type",
				                       "Skal være en liste af milepælenes nøgler.");
				status = 400;
			} else {
				json_object_set(op->head, "milestones_done", v);
			}
		}
	} else if (op->act == A_CANCEL) {
		v = json_object_get(body, "reason");
		if (v && !json_is_string(v)) {
			json_problem_add_error(p, "reason", "type", "Skal være en tekst.");
			status = 400;
		} else if (v == NULL || json_string_length(v) == 0 ||
		           json_string_length(v) > REASON_MAX) {
			json_problem_add_error(
			    p, "reason", v ? "invalid" : "required",
			    "Skriv kort, hvorfor varslet annulleres (højst 1000 tegn).");
			status = status ? status : 422;
		} else {
			json_object_set(op->head, "cancel_reason", v);
		}
	} else if (op->act == A_ACK) {
		v = json_object_get(body, "person");
		if (v && !json_is_string(v) && !json_is_null(v)) {
			json_problem_add_error(p, "person", "type", "Skal være en persons id.");
			status = 400;
		} else if (v && json_is_string(v)) {
			json_object_set(op->head, "receiver_person", v);
		}
	}
	if (status) {
		json_object_set_new(p, "status", json_integer(status));
		http_problem_json(req, p);
		return false;
	}
	json_decref(p);
	return true;
}

static bool
state_ok(struct op *op)
{
	const char *st = json_str(op->row, "status");
	bool open = st && (strcmp(st, "open") == 0 || strcmp(st, "acknowledged") == 0);
	char detail[200];

	if (open)
		return true;
	snprintf(detail, sizeof(detail), "Varslet har status %s og kan ikke længere ændres.",
	         st && strcmp(st, "converted") == 0 ? "»omdannet til notat«" : "»annulleret«");
	http_problem(op->req, 409, NULL, detail);
	return false;
}

static void op_convert(struct op *);

/* PATCH's milestones_done: the keys of the route's own milestones (the two
 * every route has are done by the note's state); false after answering 422. */
static bool
milestones_known(struct op *op)
{
	json_t *ms = api_notice_render(op->row, op->access, false), *k;
	const json_t *list = json_object_get(ms, "milestones"), *m;
	size_t i, j;
	bool ok = true;

	json_array_foreach (json_object_get(op->head, "milestones_done"), i, k) {
		bool found = false;
		json_array_foreach (list, j, m) {
			const char *key = json_str(m, "key");
			found = found || (strcmp(key, json_string_value(k)) == 0 &&
			                  strcmp(key, "notat_sendt") != 0 &&
			                  strcmp(key, "overdragelse") != 0);
		}
		ok = ok && found;
	}
	json_decref(ms);
	if (!ok) {
		json_t *p = json_problem(422, "Ukendt milepæl", "Varslet har ikke den milepæl.");
		json_problem_add_error(p, "milestones_done", "unknown",
		                       "Markér kun rutens egne milepæle som klaret.");
		http_problem_json(op->req, p);
	}
	return ok;
}

/* Who may, the request, the side, the state, the version; then the write.
 * Answers when it may not. */
static void
judge(struct op *op)
{
	struct http_request *req = op->req;
	const struct dir_snapshot *s = dir_sync_current();
	bool receiver = op->act == A_ACK;
	json_t *p;

	if (op->access == 0 || (op->act != A_GET && op->access == HO_ACCESS_READ)) {
		notice_not_found(req);
		op_free(op);
		return;
	}
	if (op->act == A_GET) {
		audit_record(req, req->auth.person_id, req->auth.username, "notice.read", "notice",
		             op->id, json_str(op->row, "ref"));
		respond(op, 200);
		op_free(op);
		return;
	}
	if (!op->checked && !judge_request(op)) {
		op_free(op);
		return;
	}
	op->checked = true;
	if (!(op->access & (receiver ? HO_ACCESS_RECEIVER : HO_ACCESS_SENDER))) {
		http_problem(req, 403, NULL,
		             receiver
		                 ? "Kun den modtagende enhed kan kvittere for et varsel."
		                 : "Kun den afsendende enhed kan ændre, annullere eller omdanne "
		                   "et varsel.");
		op_free(op);
		return;
	}
	if (!state_ok(op)) {
		op_free(op);
		return;
	}
	if (op->if_match > 0 &&
	    op->if_match != (long)json_integer_value(json_object_get(op->row, "version"))) {
		http_problem(req, 412, NULL,
		             "Varslet er ændret af en anden siden du hentede det. Hent det igen.");
		op_free(op);
		return;
	}
	if (op->act == A_HANDOVER) {
		op_convert(op);
		return;
	}
	if (op->act == A_ACK) {
		const char *person = json_str(op->head, "receiver_person");
		p = json_problem(422, "Ugyldig modtager", "Modtageren kan ikke bruges.");
		if (person && api_handovers_check_receiver(
		                  s, NULL, json_str(op->row, "receiver_unit"), person, p) != 0) {
			json_object_set_new(p, "status", json_integer(422));
			http_problem_json(req, p);
			op_free(op);
			return;
		}
		json_decref(p);
		json_object_set_new(op->head, "status", json_string("acknowledged"));
		json_object_set_new(op->head, "acknowledged", json_true());
		/* the sender hears of the first acknowledgement: the ref only
		 * (mail.c); naming another receiver later tells no one */
		json_t *ob = NULL;
		if (strcmp(json_str(op->row, "status"), "open") == 0) {
			ob = json_array();
			json_array_append_new(
			    ob, note_alert(s, "notice_acknowledged",
			                   json_pack("[{s:s}]", "person",
			                             json_str(op->row, "sender_person"))));
		}
		op_write(op, "acknowledge",
		         person ? json_pack("{s:s}", "receiver_person", person) : NULL, ob);
		return;
	}
	if (op->act == A_CANCEL) {
		json_object_set_new(op->head, "status", json_string("cancelled"));
		op_write(op, "cancel", NULL, NULL);
		return;
	}
	if (json_object_get(op->head, "milestones_done") && !milestones_known(op)) {
		op_free(op);
		return;
	}
	op_write(op, "edit", NULL, NULL);
}

static void
loaded(PGresult *res, const char *error, void *arg)
{
	struct op *op = arg;
	const struct dir_snapshot *s;
	int me;

	if (error || res == NULL) {
		answer_db_error(op->req, error);
		op_free(op);
		return;
	}
	if ((s = answer_snapshot_or_fail(op->req)) == NULL) {
		op_free(op);
		return;
	}
	me = auth_person(op->req);
	op->access = 0;
	if (PQntuples(res) == 1 && me != DIR_NONE &&
	    (op->row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) != NULL)
		op->access = notice_access(s, me, op->row);
	judge(op);
}

static void
op_load(struct op *op)
{
	const char *params[1] = {op->id};
	if (db_query("SELECT notice_json(n)::text FROM notices n WHERE n.id = $1::uuid", 1, params,
	             loaded, op) == -1) {
		answer_db_error(op->req, "unavailable");
		op_free(op);
	}
}

/* The id in /api/v1/notices/{id}[/action], then the notice loaded and
 * judged; a bad id is the 404 of a missing notice. */
static void
op_start(struct http_request *req, enum act act)
{
	static const char *const no_params[] = {NULL};
	const char *id = req->head.path + strlen("/api/v1/notices/");
	const char *slash = strchr(id, '/');
	size_t n = slash ? (size_t)(slash - id) : strlen(id);
	struct op *op;

	if (!http_query_check(req, no_params))
		return;
	if (n != 36) {
		notice_not_found(req);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	memcpy(op->id, id, 36);
	if (!answer_uuid_ok(op->id)) {
		free(op);
		notice_not_found(req);
		return;
	}
	op->req = req;
	op->act = act;
	op->if_match = -1;
	op_load(op);
}

void
api_notice_get(struct http_request *req)
{
	op_start(req, A_GET);
}

void
api_notice_patch(struct http_request *req)
{
	op_start(req, A_PATCH);
}

void
api_notice_action(struct http_request *req)
{
	const char *path = req->head.path, *last = strrchr(path, '/');

	if (last && strcmp(last, "/acknowledge") == 0)
		op_start(req, A_ACK);
	else if (last && strcmp(last, "/cancel") == 0)
		op_start(req, A_CANCEL);
	else
		op_start(req, A_HANDOVER);
}

/* -- POST /api/v1/notices/{id}/handover ---------------------------------------------------- */

static void
converted(PGresult *res, const char *error, void *arg)
{
	struct op *op = arg;
	struct http_request *req = op->req;
	json_t *row, *c;
	char etag[32], loc[96];

	api_counterparts_changed();
	if (error || res == NULL) {
		answer_db_error(req, error);
		op_free(op);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		written(res, NULL, op); /* moved on: 412, or judged again */
		return;
	}
	if ((row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, "unreadable row");
		op_free(op);
		return;
	}
	if ((c = json_object_get(row, "conflict")) != NULL) {
		api_notice_conflict(req, c);
		json_decref(row);
		op_free(op);
		return;
	}
	log_info("notices: %s converted to %s by %s", json_str(op->row, "ref"),
	         json_str(row, "ref"), req->auth.person_id);
	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	snprintf(loc, sizeof(loc), "/api/v1/handovers/%s", json_str(row, "id"));
	http_add_header(req, "ETag", etag);
	http_add_header(req, "Location", loc);
	http_respond_json(req, 201,
	                  note_render(row, dir_sync_current(), HO_ACCESS_SENDER, false, true));
	json_decref(row);
	op_free(op);
}

static void
op_convert(struct op *op)
{
	struct http_request *req = op->req;
	struct ho_route_set *set = answer_routes_or_fail(req);
	const struct ho_route *r;
	const struct ho_template *t;
	json_t *fields, *doc, *checks;
	int completeness, failed;
	char expect[32], *text;

	if (set == NULL) {
		op_free(op);
		return;
	}
	if ((r = routes_find(set, json_str(op->row, "route"))) == NULL ||
	    (t = routes_template_find(set, r->template, r->template_version)) == NULL) {
		http_problem(
		    req, 409, NULL,
		    "Ruten findes ikke længere eller er slået fra, så der kan ikke oprettes et "
		    "notat fra varslet.");
		op_free(op);
		return;
	}
	fields = json_pack("{s:O, s:O, s:O, s:O}", "citizen", json_object_get(op->row, "citizen"),
	                   "planned_date", json_object_get(op->row, "expected_date"),
	                   "receiver_unit", json_object_get(op->row, "receiver_unit"),
	                   "receiver_person", json_object_get(op->row, "receiver_person"));
	doc = api_handovers_check_doc(NULL, fields);
	checks =
	    api_handovers_run_checks(t, r, dir_sync_current(), doc, false, &completeness, &failed);
	json_decref(doc);
	json_decref(fields);
	fields = json_pack("{s:s, s:i, s:o, s:i}", "template", template_code(t), "template_version",
	                   template_version_of(t), "checks", checks, "completeness", completeness);
	text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	snprintf(expect, sizeof(expect), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(op->row, "version")));
	const char *params[6] = {op->id,
	                         expect,
	                         text,
	                         req->auth.person_id,
	                         req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query("SELECT notice_convert($1::uuid, $2::int, $3::jsonb, $4, $5, $6)::text", 6,
	             params, converted, op) == -1) {
		answer_db_error(req, "unavailable");
		op_free(op);
	}
	free(text);
}
