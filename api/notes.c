/*
 * notes.c: one handover note: read it (the receiving unit's first read
 * moves it to "received"), edit it (If-Match), move it through its states
 * (submit, return, accept, withdraw, forward), and read its history.
 *
 * Every operation loads the note, decides in C (who may, which state, the
 * checks, who hears of it), then writes with handover_write(): one
 * statement that changes the row only if it is still at the version read,
 * and in the same transaction adds the version, the event, the flags, the
 * outbox rows and the audit row. If the note moved on in between, an
 * If-Match request gets 412; otherwise the decision is made again on the
 * new state (at most three times).
 *
 * Who may (need to know, access.c): the members of the note's sending
 * unit, and — once it has been submitted — of its receiving unit, each for
 * their side; leads of a unit above either read it masked and may not act.
 * Everyone else gets 404, decided right after the load and before anything
 * in the request (its body, its If-Match) is judged, so no answer tells a
 * note one may not see from one that does not exist. Only the receiving
 * side moves a note past "submitted"; the sender edits only in "draft" and
 * "returned".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "states.h"
#include "auth.h"
#include "api.h"

#define TEXT_MAX  4000
#define FLAGS_MAX 50
#define TRIES     3

enum op_kind { OP_GET, OP_PATCH, OP_HISTORY, OP_ACTION };

struct op {
	struct http_request *req;
	enum op_kind kind;
	const struct states_transition *act;
	char id[40];
	long if_match;   /* -1: no If-Match */
	unsigned access; /* HO_ACCESS_* of the caller, from the last load */
	int tries;
	json_t *row;
	/* a submit's checks as written: its write answers the note without its
	 * sections and checks (p_body, migration 0014), which are these and
	 * the loaded row's */
	json_t *checks;
	bool wrote_receive;
	bool checked; /* the request itself was judged (after need to know) */
};

static void op_load(struct op *);

static void
op_free(struct op *op)
{
	json_decref(op->row);
	json_decref(op->checks);
	free(op);
}

static void
set_etag(struct http_request *req, const json_t *row)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	http_add_header(req, "ETag", etag);
}

/* A weak tag never matches: If-Match compares strongly (RFC 9110 13.1.1). */
#define IF_MATCH_NEVER 0x7fffffffL

/* If-Match: "N", or * (0: any version); W/"N" never matches
 * (IF_MATCH_NEVER); -1 when absent, -2 when unreadable. flags.c reads it
 * the same way. */
long
answer_if_match(const struct http_request *req)
{
	const char *h = http_request_header(req, "If-Match");
	char *end;
	long v;

	if (h == NULL)
		return -1;
	while (*h == ' ')
		h++;
	if (strcmp(h, "*") == 0)
		return 0;
	bool weak = strncmp(h, "W/", 2) == 0;
	if (weak)
		h += 2;
	if (*h != '"')
		return -2;
	v = strtol(h + 1, &end, 10);
	if (end == h + 1 || *end != '"' || v < 1)
		return -2;
	return weak ? IF_MATCH_NEVER : v;
}

static void
respond_note(struct op *op, int status)
{
	struct http_request *req = op->req;
	const struct dir_snapshot *s = dir_sync_current();

	set_etag(req, op->row);
	/* The CPR number whole only in GET /handovers/{id} (API.md), and only
	 * for the note's two sides: a write's answer masks it, as every other
	 * answer does. */
	http_respond_json(req, status,
	                  note_render(op->row, s, op->access,
	                              (req->head.method & (HTTP_GET | HTTP_HEAD)) != 0, true));
}

/* -- writing ---------------------------------------------------------------------------- */

static void
written(PGresult *res, const char *error, void *arg)
{
	struct op *op = arg;
	struct http_request *req = op->req;
	json_t *row;

	api_counterparts_changed(); /* open notes may have moved: ask again */
	if (error || res == NULL) {
		answer_db_error(req, error);
		op_free(op);
		return;
	}
	if (PQntuples(res) != 1) {
		/* The note moved on since it was read. */
		if (op->if_match > 0) {
			http_problem(
			    req, 412, NULL,
			    "Notatet er ændret af en anden siden du hentede det. Hent det igen.");
			op_free(op);
			return;
		}
		if (++op->tries >= TRIES) {
			http_problem(req, 409, NULL, "Notatet ændres af andre lige nu. Prøv igen.");
			op_free(op);
			return;
		}
		json_decref(op->row);
		op->row = NULL;
		op_load(op);
		return;
	}
	if ((row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, "unreadable row");
		op_free(op);
		return;
	}
	if (op->checks) {
		json_object_set(row, "sections", json_object_get(op->row, "sections"));
		json_object_set(row, "checks", op->checks);
	}
	json_decref(op->row);
	op->row = row;
	/* After a forward the former receiving side no longer sees the note
	 * whole: its answer is a reader's. */
	if (auth_person(req) == DIR_NONE ||
	    (op->access = access_of_note(dir_sync_current(), auth_person(req), row)) == 0)
		op->access = HO_ACCESS_READ;
	log_info("handovers: %s %s by %s, now %s (version %" JSON_INTEGER_FORMAT ")",
	         json_str(row, "ref"),
	         op->kind == OP_PATCH ? "edit"
	         : op->act            ? op->act->name
	                              : "receive",
	         req->auth.person_id, json_str(row, "status"),
	         json_integer_value(json_object_get(row, "version")));
	if (op->kind == OP_GET)
		audit_record(req, req->auth.person_id, req->auth.username, "handover.read",
		             "handover", op->id, NULL);
	respond_note(op, 200);
	op_free(op);
}

/* Writes one change; every json_t argument is stolen (may be NULL). */
static void
op_write(struct op *op, const char *action, json_t *head, json_t *detail, json_t *flags,
         json_t *outbox)
{
	struct http_request *req = op->req;
	char expect[32], *h, *d = NULL, *f = NULL, *o = NULL;
	long version = (long)json_integer_value(json_object_get(op->row, "version"));

	if (op->if_match > 0)
		version = op->if_match;
	snprintf(expect, sizeof(expect), "%ld", version);
	h = json_dumps(head, JSON_COMPACT);
	if (detail)
		d = json_dumps(detail, JSON_COMPACT);
	if (flags)
		f = json_dumps(flags, JSON_COMPACT);
	if (outbox && json_array_size(outbox))
		o = json_dumps(outbox, JSON_COMPACT);
	json_decref(head);
	json_decref(detail);
	json_decref(flags);
	json_decref(outbox);
	const char *params[11] = {op->id,
	                          expect,
	                          req->auth.person_id,
	                          req->auth.username,
	                          *req->client ? req->client : NULL,
	                          action,
	                          h,
	                          d,
	                          f,
	                          o,
	                          op->checks ? "f" : "t"};
	static struct db_stmt write_stmt = {
	    "notes_write",
	    "SELECT w::text FROM handover_write($1::uuid, $2::int, $3, $4, $5, $6, "
	    "$7::jsonb, $8::jsonb, $9::jsonb, $10::jsonb, $11::boolean) w WHERE w IS NOT NULL",
	    11, 0};
	if (db_query_stmt(&write_stmt, params, written, op) == -1) {
		answer_db_error(req, "unavailable");
		op_free(op);
	}
	free(h);
	free(d);
	free(f);
	free(o);
}

/* -- deciding --------------------------------------------------------------------------- */

static void
conflict(struct op *op, const char *what)
{
	const char *st = json_str(op->row, "status");
	char detail[256];
	snprintf(detail, sizeof(detail), "Notatet kan ikke %s, fordi det har status %s (%s).", what,
	         st ? st : "?", states_label(states_of(st)));
	http_problem(op->req, 409, NULL, detail);
}

static void
decide_get(struct op *op)
{
	struct http_request *req = op->req;

	/* HEAD is safe (RFC 9110): only a GET is the receiving unit's first read. */
	if (!op->wrote_receive && req->head.method == HTTP_GET &&
	    states_allowed(states_transition(HO_ACT_RECEIVE),
	                   states_of(json_str(op->row, "status"))) &&
	    (op->access & HO_ACCESS_BOTH) == HO_ACCESS_RECEIVER) {
		op->wrote_receive = true;
		op_write(op, "receive",
		         json_pack("{s:s}", "status",
		                   states_name(states_transition(HO_ACT_RECEIVE)->to)),
		         NULL, NULL, NULL);
		return;
	}
	audit_record(req, req->auth.person_id, req->auth.username, "handover.read", "handover",
	             op->id, NULL);
	respond_note(op, 200);
	op_free(op);
}

/* The template and route of a loaded note, or false after answering 503. */
static bool
note_template(struct op *op, const struct ho_template **t, const struct ho_route **r)
{
	struct ho_route_set *set = answer_routes_or_fail(op->req);
	if (set == NULL)
		return false;
	*r = routes_find_any(set, json_str(op->row, "route"));
	*t = routes_template_find(
	    set, json_str(op->row, "template"),
	    (int)json_integer_value(json_object_get(op->row, "template_version")));
	if (*t == NULL) {
		log_warnx("handovers: %s: template %s is not loaded", json_str(op->row, "ref"),
		          json_str(op->row, "template"));
		http_add_header(op->req, "Retry-After", "5");
		http_problem(op->req, 503, NULL, "Notatets skabelon er ikke indlæst.");
		return false;
	}
	return true;
}

static void
decide_patch(struct op *op, const struct dir_snapshot *s)
{
	struct http_request *req = op->req;
	const struct ho_template *t;
	const struct ho_route *r;
	json_t *fields, *p, *doc, *checks;
	int status, completeness, failed;

	if (!states_allowed(states_transition(HO_ACT_EDIT),
	                    states_of(json_str(op->row, "status")))) {
		conflict(op, "redigeres");
		op_free(op);
		return;
	}
	if (op->if_match > 0 &&
	    op->if_match != json_integer_value(json_object_get(op->row, "version"))) {
		http_problem(req, 412, NULL,
		             "Notatet er ændret af en anden siden du hentede det. Hent det igen.");
		op_free(op);
		return;
	}
	if (!note_template(op, &t, &r)) {
		op_free(op);
		return;
	}
	fields = json_object();
	p = json_problem(422, "Ugyldige felter", "Notatets felter kan ikke bruges.");
	status = api_handovers_read_fields(req->json, t, true, true, fields, p);
	if (status != 400 && (json_object_get(fields, "receiver_unit") ||
	                      json_object_get(fields, "receiver_person"))) {
		const char *unit = json_str(fields, "receiver_unit");
		const char *person = json_object_get(fields, "receiver_person")
		                         ? json_str(fields, "receiver_person")
		                         : json_str(op->row, "receiver_person");
		int rc = api_handovers_check_receiver(
		    s, r, unit ? unit : json_str(op->row, "receiver_unit"), person, p);
		if (rc && !status)
			status = rc;
	}
	if (status) {
		json_object_set_new(p, "status", json_integer(status));
		http_problem_json(req, p);
		json_decref(fields);
		op_free(op);
		return;
	}
	json_decref(p);
	doc = api_handovers_check_doc(op->row, fields);
	checks = api_handovers_run_checks(t, r, s, doc, false, &completeness, &failed);
	json_object_set(fields, "sections", json_object_get(doc, "sections"));
	json_decref(doc);
	json_object_set_new(fields, "checks", checks);
	json_object_set_new(fields, "completeness", json_integer(completeness));
	op_write(op, "edit", fields, NULL, NULL, NULL);
}

/* The receiving side's audience: the named caseworker, else the unit. */
static json_t *
receiver_audience(const json_t *row)
{
	const char *person = json_str(row, "receiver_person"),
	           *unit = json_str(row, "receiver_unit");
	if (person)
		return json_pack("[{s:s, s:s}]", "person", person, "unit", unit);
	return json_pack("[{s:s}]", "unit", unit);
}

static json_t *
sender_audience(const json_t *row)
{
	return json_pack("[{s:s, s:s}]", "person", json_str(row, "sender_person"), "unit",
	                 json_str(row, "sender_unit"));
}

static void
decide_submit(struct op *op, const struct dir_snapshot *s)
{
	struct http_request *req = op->req;
	const struct ho_template *t;
	const struct ho_route *r;
	json_t *doc, *checks, *outbox, *c;
	int completeness, failed;
	size_t i;
	bool resubmit = strcmp(json_str(op->row, "status"), "returned") == 0;

	if (!note_template(op, &t, &r)) {
		op_free(op);
		return;
	}
	doc = api_handovers_check_doc(op->row, NULL);
	checks = api_handovers_run_checks(t, r, s, doc, true, &completeness, &failed);
	json_decref(doc);
	if (failed > 0) {
		json_t *p = json_problem(422, "Notatet kan ikke sendes",
		                         "Ret fejlene i notatet, før det sendes.");
		json_array_foreach (checks, i, c) {
			if (json_is_true(json_object_get(c, "passed")) ||
			    strcmp(json_str(c, "severity") ? json_str(c, "severity") : "",
			           "error") != 0)
				continue;
			char field[160];
			const char *sec = json_str(c, "section");
			if (sec &&
			    (strcmp(sec, "citizen") == 0 || strcmp(sec, "planned_date") == 0 ||
			     strcmp(sec, "receiver") == 0))
				snprintf(field, sizeof(field), "%s", sec);
			else
				snprintf(field, sizeof(field), "sections.%s", sec ? sec : "?");
			json_problem_add_error(p, field, json_str(c, "id"), json_str(c, "message"));
		}
		json_object_set_new(p, "checks", checks);
		json_object_set_new(p, "completeness", json_integer(completeness));
		http_problem_json(req, p);
		op_free(op);
		return;
	}
	outbox = json_array();
	if (resubmit && json_str(op->row, "returned_by"))
		json_array_append_new(
		    outbox,
		    note_alert(s, "resubmitted",
		               json_pack("[{s:s, s:s}]", "person", json_str(op->row, "returned_by"),
		                         "unit", json_str(op->row, "receiver_unit"))));
	else
		json_array_append_new(outbox, note_alert(s, resubmit ? "resubmitted" : "submitted",
		                                         receiver_audience(op->row)));
	json_decref(op->checks);
	op->checks = json_incref(checks);
	op_write(op, "submit",
	         json_pack("{s:s, s:o, s:i}", "status", states_name(op->act->to), "checks", checks,
	                   "completeness", completeness),
	         NULL, NULL, outbox);
}

static bool
flag_section_ok(const struct ho_template *t, const char *sec)
{
	return strcmp(sec, "citizen") == 0 || strcmp(sec, "planned_date") == 0 ||
	       strcmp(sec, "receiver") == 0 || template_has_section(t, sec);
}

static void
decide_return(struct op *op, const struct dir_snapshot *s)
{
	struct http_request *req = op->req;
	const struct ho_template *t;
	const struct ho_route *r;
	json_t *flags = json_object_get(req->json, "flags"), *f, *out, *p;
	size_t i;

	if (!note_template(op, &t, &r)) {
		op_free(op);
		return;
	}
	p = json_problem(422, "Ugyldige markeringer", "Markeringerne kan ikke bruges.");
	out = json_array();
	json_array_foreach (flags, i, f) {
		char field[64];
		const char *sec = json_str(f, "section");
		snprintf(field, sizeof(field), "flags.%zu.section", i);
		if (!flag_section_ok(t, sec))
			json_problem_add_error(p, field, "unknown",
			                       "Afsnittet findes ikke i skabelonen.");
		json_array_append_new(
		    out,
		    json_pack("{s:s, s:s, s:s}", "section", sec, "kind", json_str(f, "kind"),
		              "comment", json_str(f, "comment") ? json_str(f, "comment") : ""));
	}
	if (json_object_get(p, "errors")) {
		json_decref(out);
		http_problem_json(req, p);
		op_free(op);
		return;
	}
	json_decref(p);
	op_write(op, "return",
	         json_pack("{s:s, s:s}", "status", states_name(op->act->to), "returned_by",
	                   req->auth.person_id),
	         NULL, out, json_pack("[o]", note_alert(s, "returned", sender_audience(op->row))));
}

static void
decide_forward(struct op *op, const struct dir_snapshot *s)
{
	struct http_request *req = op->req;
	const char *unit = json_str(req->json, "unit"), *reason = json_str(req->json, "reason");
	const char *sender = json_str(op->row, "sender_unit");
	json_t *p;
	/* The sending side would decide on its own note (and skip the flags a
	 * return needs): not to the sending unit, one below it or one above it. */
	bool own =
	    access_unit_code_within(s, unit, sender) || access_unit_code_within(s, sender, unit);

	if (dir_lookup_unit(s, unit) == DIR_NONE ||
	    strcmp(unit, json_str(op->row, "receiver_unit")) == 0 || own) {
		p = json_problem(422, "Ugyldig enhed", "Notatet kan ikke videresendes dertil.");
		json_problem_add_error(
		    p, "unit", "invalid",
		    dir_lookup_unit(s, unit) == DIR_NONE ? "Enheden findes ikke."
		    : strcmp(unit, json_str(op->row, "receiver_unit")) == 0
		        ? "Notatet ligger allerede hos den enhed."
		        : "Notatet kan ikke videresendes til den afsendende enhed. Send det retur "
		          "i stedet.");
		http_problem_json(req, p);
		op_free(op);
		return;
	}
	op_write(op, "forward",
	         json_pack("{s:s, s:s, s:n}", "status", states_name(op->act->to), "receiver_unit",
	                   unit, "receiver_person"),
	         json_pack("{s:s, s:s, s:s}", "from_unit", json_str(op->row, "receiver_unit"),
	                   "to_unit", unit, "reason", reason),
	         NULL,
	         json_pack("[o]", note_alert(s, "forwarded", json_pack("[{s:s}]", "unit", unit))));
}

static void
decide_accept(struct op *op, const struct dir_snapshot *s)
{
	const char *rb = op->req->json ? json_str(op->req->json, "readback") : NULL;
	op_write(op, "accept",
	         json_pack("{s:s, s:o}", "status", states_name(op->act->to), "readback",
	                   rb && *rb ? json_string(rb) : json_null()),
	         rb && *rb ? json_pack("{s:b}", "readback", 1) : NULL, NULL,
	         json_pack("[o]", note_alert(s, "accepted", sender_audience(op->row))));
}

static void
decide_withdraw(struct op *op, const struct dir_snapshot *s)
{
	const char *why = op->req->json ? json_str(op->req->json, "reason") : NULL;
	(void)s;
	op_write(op, "withdraw", json_pack("{s:s}", "status", states_name(op->act->to)),
	         why ? json_pack("{s:s}", "reason", why) : NULL, NULL, NULL);
}

/* What each action of the table (states.c) writes, once its row allows it. */
static void (*const decide[HO_NACTIONS])(struct op *, const struct dir_snapshot *) = {
    [HO_ACT_SUBMIT] = decide_submit,   [HO_ACT_RETURN] = decide_return,
    [HO_ACT_ACCEPT] = decide_accept,   [HO_ACT_WITHDRAW] = decide_withdraw,
    [HO_ACT_FORWARD] = decide_forward,
};

static void
decide_action(struct op *op, const struct dir_snapshot *s)
{
	const struct states_transition *a = op->act;
	struct http_request *req = op->req;
	bool receiver = a->side == HO_SIDE_RECEIVER;
	bool allowed = (op->access & (receiver ? HO_ACCESS_RECEIVER : HO_ACCESS_SENDER)) != 0;
	char detail[200];

	if (!allowed) {
		snprintf(detail, sizeof(detail), "Kun den %s enhed kan %s notatet.",
		         receiver ? "modtagende" : "afsendende", a->verb);
		http_problem(req, 403, NULL, detail);
		op_free(op);
		return;
	}
	if (!states_allowed(a, states_of(json_str(op->row, "status")))) {
		conflict(op, a->verb);
		op_free(op);
		return;
	}
	if (op->if_match > 0 &&
	    op->if_match != json_integer_value(json_object_get(op->row, "version"))) {
		http_problem(req, 412, NULL,
		             "Notatet er ændret af en anden siden du hentede det. Hent det igen.");
		op_free(op);
		return;
	}
	decide[a->action](op, s);
}

/* -- history ---------------------------------------------------------------------------- */

static void
history_done(PGresult *res, const char *error, void *arg)
{
	struct op *op = arg;
	struct http_request *req = op->req;
	const struct dir_snapshot *s = dir_sync_current();
	json_t *versions = json_array(), *events = json_array();
	bool reader = !(op->access & HO_ACCESS_BOTH);

	if (error || res == NULL) {
		answer_db_error(req, error);
		json_decref(versions);
		json_decref(events);
		op_free(op);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *r = json_loads(PQgetvalue(res, i, 1), 0, NULL);
		if (r == NULL)
			continue;
		if (*PQgetvalue(res, i, 0) == 'v') {
			json_t *doc = json_object_get(r, "doc"),
			       *c = json_object_get(doc, "citizen");
			char masked[12];
			if (json_str(c, "cpr")) {
				note_cpr_mask(json_str(c, "cpr"), masked);
				json_object_set_new(c, "cpr", json_string(masked));
			}
			if (reader && json_str(c, "name")) {
				char initials[64];
				note_name_initials(json_str(c, "name"), initials, sizeof(initials));
				json_object_set_new(c, "name", json_string(initials));
			}
			json_t *v = json_pack(
			    "{s:O, s:O, s:o, s:O, s:O, s:O}", "version",
			    json_object_get(r, "version"), "at", json_object_get(r, "at"), "by",
			    note_person_ref(s, json_str(r, "by")), "status",
			    json_object_get(r, "status"), "action", json_object_get(r, "action"),
			    "content_sha256", json_object_get(r, "content_sha256"));
			json_object_update(v, doc);
			json_array_append_new(versions, v);
		} else {
			json_array_append_new(events,
			                      json_pack("{s:O, s:o, s:O, s:O, s:O, s:O, s:O}", "at",
			                                json_object_get(r, "at"), "by",
			                                note_person_ref(s, json_str(r, "by")),
			                                "action", json_object_get(r, "action"),
			                                "from", json_object_get(r, "from"), "to",
			                                json_object_get(r, "to"), "version",
			                                json_object_get(r, "version"), "detail",
			                                json_object_get(r, "detail")));
		}
		json_decref(r);
	}
	audit_record(req, req->auth.person_id, req->auth.username, "handover.history", "handover",
	             op->id, NULL);
	http_respond_json(req, 200,
	                  json_pack("{s:o, s:o}", "versions", versions, "events", events));
	op_free(op);
}

static void
decide_history(struct op *op)
{
	const char *params[1] = {op->id};
	if (db_query(
	        "SELECT 'v', jsonb_build_object('version', version, 'at', stafet_ts(at), "
	        "'by', by_person, 'status', status, 'action', action, 'doc', doc, "
	        /* the content hash a note's PDF prints (pdf.c) */
	        "'content_sha256', encode(sha256(convert_to(doc::text, 'UTF8')), 'hex'))::text, "
	        "version::bigint FROM handover_versions WHERE handover_id = $1::uuid "
	        "UNION ALL SELECT 'e', jsonb_build_object('id', id, 'at', stafet_ts(at), "
	        "'by', by_person, 'action', action, 'from', from_status, 'to', to_status, "
	        "'version', version, 'detail', detail)::text, id "
	        "FROM handover_events WHERE handover_id = $1::uuid ORDER BY 1 DESC, 3",
	        1, params, history_done, op) == -1) {
		answer_db_error(op->req, "unavailable");
		op_free(op);
	}
}

/* -- loading ---------------------------------------------------------------------------- */

static bool op_check_request(struct op *);

static void
loaded(PGresult *res, const char *error, void *arg)
{
	struct op *op = arg;
	struct http_request *req = op->req;
	const struct dir_snapshot *s;
	int me;

	if (error || res == NULL) {
		answer_db_error(req, error);
		op_free(op);
		return;
	}
	if ((s = answer_snapshot_or_fail(req)) == NULL) {
		op_free(op);
		return;
	}
	me = auth_person(req);
	/* Need to know first: a reader above may not act, and so, as for
	 * anyone who may not see the note, it does not exist for them. */
	if (PQntuples(res) != 1 || (op->row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL ||
	    me == DIR_NONE || (op->access = access_of_note(s, me, op->row)) == 0 ||
	    (op->access == HO_ACCESS_READ && (op->kind == OP_PATCH || op->kind == OP_ACTION))) {
		answer_not_found(req);
		op_free(op);
		return;
	}
	if (!op->checked) {
		if (!op_check_request(op)) {
			op_free(op);
			return;
		}
		op->checked = true;
	}
	switch (op->kind) {
	case OP_GET:
		decide_get(op);
		break;
	case OP_PATCH:
		if (!(op->access & HO_ACCESS_SENDER)) {
			http_problem(req, 403, NULL,
			             "Kun den afsendende enhed kan redigere notatet.");
			op_free(op);
			return;
		}
		decide_patch(op, s);
		break;
	case OP_HISTORY:
		decide_history(op);
		break;
	case OP_ACTION:
		decide_action(op, s);
		break;
	}
}

static void
op_load(struct op *op)
{
	/* An action answers the note its write returns, and a submit computes
	 * the checks anew: its load leaves out the stored checks (6 KB of JSON
	 * to build, send and parse for nothing). A deleted draft (0009) is gone
	 * for the API: 404 as for no note. */
	const char *params[2] = {op->id, op->kind == OP_ACTION ? "f" : "t"};
	static struct db_stmt load_stmt = {
	    "notes_load",
	    "SELECT n::text FROM handover_load($1::uuid, $2::boolean) n WHERE n IS NOT NULL", 2, 0};
	if (db_query_stmt(&load_stmt, params, loaded, op) == -1) {
		answer_db_error(op->req, "unavailable");
		op_free(op);
	}
}

/* The note id of /api/v1/handovers/{id}[/...]; NULL after answering 404. */
static struct op *
op_new(struct http_request *req, enum op_kind kind)
{
	const char *rest = req->head.path + strlen("/api/v1/handovers/");
	size_t n = strcspn(rest, "/");
	struct op *op;
	char id[40];

	if (n != 36) {
		answer_not_found(req);
		return NULL;
	}
	memcpy(id, rest, 36);
	id[36] = '\0';
	if (!answer_uuid_ok(id)) {
		answer_not_found(req);
		return NULL;
	}
	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->kind = kind;
	op->if_match = -1;
	memcpy(op->id, id, 37);
	return op;
}

static const char *const no_params[] = {NULL};

void
api_handover_get(struct http_request *req)
{
	struct op *op;
	if (!http_query_check(req, no_params) || (op = op_new(req, OP_GET)) == NULL)
		return;
	op_load(op);
}

void
api_handover_history(struct http_request *req)
{
	struct op *op;
	if (!http_query_check(req, no_params) || (op = op_new(req, OP_HISTORY)) == NULL)
		return;
	op_load(op);
}

void
api_handover_patch(struct http_request *req)
{
	struct op *op;

	if (!http_query_check(req, no_params) || (op = op_new(req, OP_PATCH)) == NULL)
		return;
	op_load(op);
}

/* A text field of an action body: absent/null gives NULL; false after
 * answering 400/422. */
static bool
body_text(struct http_request *req, const char *key, size_t max, bool required, const char *what)
{
	json_t *v = json_object_get(req->json, key);
	char detail[160];

	if ((v == NULL || json_is_null(v)) && !required)
		return true;
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		json_t *p = json_problem(400, NULL, "Wrong type.");
		json_problem_add_error(p, key, "type", "Skal være en tekst.");
		http_problem_json(req, p);
		return false;
	}
	if (v == NULL || json_is_null(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max) {
		json_t *p = json_problem(422, NULL, NULL);
		snprintf(detail, sizeof(detail), "%s (højst %zu tegn).", what, max);
		json_problem_add_error(
		    p, key, v && json_string_length(v) > max ? "too_long" : "required", detail);
		http_problem_json(req, p);
		return false;
	}
	return true;
}

static bool
check_flags(struct http_request *req)
{
	json_t *flags = json_object_get(req->json, "flags"), *f, *p;
	static const char *const known[] = {"section", "kind", "comment", NULL};
	size_t i;

	if (!json_is_array(flags)) {
		p = json_problem(flags ? 400 : 422, NULL, "Angiv mindst én markering.");
		json_problem_add_error(p, "flags", flags ? "type" : "required",
		                       "En returnering skal have mindst én markering.");
		http_problem_json(req, p);
		return false;
	}
	if (json_array_size(flags) == 0 || json_array_size(flags) > FLAGS_MAX) {
		p = json_problem(422, NULL, "Angiv fra 1 til 50 markeringer.");
		json_problem_add_error(p, "flags", json_array_size(flags) ? "too_many" : "required",
		                       "En returnering skal have mindst én markering (højst 50).");
		http_problem_json(req, p);
		return false;
	}
	p = json_problem(422, NULL, "Markeringerne kan ikke bruges.");
	json_array_foreach (flags, i, f) {
		char field[64];
		json_t *u, *v;
		if (!json_is_object(f)) {
			snprintf(field, sizeof(field), "flags.%zu", i);
			json_problem_add_error(p, field, "type", "Skal være et objekt.");
			json_object_set_new(p, "status", json_integer(400));
			continue;
		}
		if ((u = json_unknown_fields(f, known, NULL)) != NULL) {
			snprintf(
			    field, sizeof(field), "flags.%zu.%s", i,
			    json_str(json_array_get(json_object_get(u, "errors"), 0), "field"));
			json_problem_add_error(p, field, "unknown", "Ukendt felt.");
			json_object_set_new(p, "status", json_integer(400));
			json_decref(u);
			continue;
		}
		v = json_object_get(f, "section");
		snprintf(field, sizeof(field), "flags.%zu.section", i);
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
			json_problem_add_error(p, field, "required", "Angiv afsnittet.");
		v = json_object_get(f, "kind");
		snprintf(field, sizeof(field), "flags.%zu.kind", i);
		if (!json_is_string(v) || (strcmp(json_string_value(v), "missing") != 0 &&
		                           strcmp(json_string_value(v), "imprecise") != 0))
			json_problem_add_error(
			    p, field, "invalid",
			    "Skal være missing (mangler) eller imprecise (upræcis).");
		v = json_object_get(f, "comment");
		snprintf(field, sizeof(field), "flags.%zu.comment", i);
		if (v && !json_is_null(v) &&
		    (!json_is_string(v) || json_string_length(v) > TEXT_MAX))
			json_problem_add_error(p, field, "invalid", "En tekst på højst 4000 tegn.");
	}
	if (json_object_get(p, "errors")) {
		http_problem_json(req, p);
		return false;
	}
	json_decref(p);
	return true;
}

/* The request judged once the caller may see the note: If-Match, the
 * body's fields. False after answering. */
static bool
op_check_request(struct op *op)
{
	struct http_request *req = op->req;
	const struct states_transition *t =
	    op->kind == OP_PATCH ? states_transition(HO_ACT_EDIT) : op->act;

	/* Reads are not conditional on If-Match: only changes are. */
	if (op->kind == OP_GET || op->kind == OP_HISTORY)
		return true;
	if ((op->if_match = answer_if_match(req)) == -2) {
		http_problem(req, 400, NULL, "If-Match must be an entity tag such as \"3\".");
		return false;
	}
	if (op->kind == OP_PATCH) {
		if (!answer_body_object(req, t->body))
			return false;
		if (op->if_match == -1) {
			http_problem(req, 428, NULL,
			             "Send If-Match med notatets ETag, så ingen ændring går tabt.");
			return false;
		}
		return true;
	}
	if (req->json && !answer_body_object(req, t->body))
		return false;
	switch (t->action) {
	case HO_ACT_RETURN:
		return check_flags(req);
	case HO_ACT_ACCEPT:
		return body_text(req, "readback", TEXT_MAX, false, "Tilbagemeldingen");
	case HO_ACT_WITHDRAW:
		return body_text(req, "reason", TEXT_MAX, false, "Begrundelsen");
	case HO_ACT_FORWARD:
		return body_text(req, "unit", 64, true, "Angiv enheden") &&
		       body_text(req, "reason", TEXT_MAX, true, "Angiv en begrundelse");
	default:
		return true;
	}
}

/* POST /api/v1/handovers/{id}/{submit,return,accept,withdraw,forward} */
void
api_handover_action(struct http_request *req)
{
	const struct states_transition *a =
	    states_transition_named(strrchr(req->head.path, '/') + 1);
	struct op *op;

	if (a == NULL) {
		http_problem(req, 404, NULL, "No such resource.");
		return;
	}
	if (!http_query_check(req, no_params) || (op = op_new(req, OP_ACTION)) == NULL)
		return;
	op->act = a;
	op_load(op);
}
