/*
 * flags.c: POST /api/v1/handovers/{id}/flags/{index}/reply, the sending
 * side's reply to one of a returned note's flags (index 0 is the note's
 * oldest flag, as GET /handovers/{id} lists them).
 *
 * As every action on a note (notes.c): need to know first — a note the
 * caller may not see, or only reads as a lead above (who acts on nothing),
 * is 404 before anything in the request is judged; then the request
 * itself (If-Match required, the body {"text"}); then the side (only the
 * sending unit replies: 403 to the receiving side), the state (only a
 * returned note: 409), the version (412), and the flag (404 when the note
 * has no such flag; 409 when the flag belongs to an earlier return, which
 * a resubmit resolved). The write is handover_flag_reply() (migration
 * 0010): a version, an event "reply" with the reply in its detail, the
 * audit row and the reply stored with the flag, in one statement that
 * changes nothing if the note moved on.
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

#define REPLY_MAX 2000
#define TRIES     3

struct reply {
	struct http_request *req;
	char id[40];
	char index[8];
	long if_match; /* 0: "*" (any version) */
	unsigned access;
	int tries;
	json_t *row;
	bool checked;
};

static void reply_load(struct reply *);

static void
reply_free(struct reply *r)
{
	json_decref(r->row);
	free(r);
}

/* Characters (code points) of valid UTF-8; *ctl set when a control
 * character other than tab, line feed and carriage return is in it. */
static size_t
utf8_chars(const char *s, bool *ctl)
{
	size_t n = 0;
	*ctl = false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c & 0xc0) != 0x80)
			n++;
		if ((*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') || *c == 0x7f)
			*ctl = true;
	}
	return n;
}

static bool
blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* The request judged once the caller may see the note: If-Match, then
 * the body {"text"}. False after answering. */
static bool
reply_check_request(struct reply *r)
{
	static const char *const known[] = {"text", NULL};
	struct http_request *req = r->req;
	json_t *v, *p;
	bool ctl = false;
	size_t n = 0;

	if ((r->if_match = answer_if_match(req)) == -2) {
		http_problem(req, 400, NULL, "If-Match must be an entity tag such as \"3\".");
		return false;
	}
	if (!answer_body_object(req, known))
		return false;
	if (r->if_match == -1) {
		http_problem(req, 428, NULL,
		             "Send If-Match med notatets ETag, så intet svar går tabt.");
		return false;
	}
	v = json_object_get(req->json, "text");
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		p = json_problem(400, NULL, "Wrong type.");
		json_problem_add_error(p, "text", "type", "Skal være en tekst.");
		http_problem_json(req, p);
		return false;
	}
	if (json_is_string(v))
		n = utf8_chars(json_string_value(v), &ctl);
	if (!json_is_string(v) || blank(json_string_value(v)) || n > REPLY_MAX || ctl) {
		p = json_problem(422, "Ugyldigt svar", "Svaret kan ikke bruges.");
		json_problem_add_error(p, "text",
		                       !json_is_string(v) || blank(json_string_value(v))
		                           ? "required"
		                       : ctl ? "invalid"
		                             : "too_long",
		                       ctl ? "Svaret må ikke indeholde styretegn."
		                           : "Skriv et svar på markeringen (højst 2000 tegn).");
		http_problem_json(req, p);
		return false;
	}
	return true;
}

static void
replied(PGresult *res, const char *error, void *arg)
{
	struct reply *r = arg;
	struct http_request *req = r->req;
	json_t *row;
	char etag[32];

	if (error || res == NULL) {
		answer_db_error(req, error);
		reply_free(r);
		return;
	}
	if (PQntuples(res) != 1) {
		/* The note moved on since it was read. */
		if (r->if_match > 0 || ++r->tries >= TRIES) {
			http_problem(
			    req, 412, NULL,
			    "Notatet er ændret af en anden siden du hentede det. Hent det igen.");
			reply_free(r);
			return;
		}
		json_decref(r->row);
		r->row = NULL;
		reply_load(r);
		return;
	}
	if ((row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, "unreadable row");
		reply_free(r);
		return;
	}
	json_decref(r->row);
	r->row = row;
	log_info("handovers: %s reply to flag %s by %s (version %" JSON_INTEGER_FORMAT ")",
	         json_str(row, "ref"), r->index, req->auth.person_id,
	         json_integer_value(json_object_get(row, "version")));
	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	http_add_header(req, "ETag", etag);
	http_respond_json(req, 200, note_render(row, dir_sync_current(), r->access, false, true));
	reply_free(r);
}

/* Side, state, version and flag, in that order; then the write. */
static void
reply_decide(struct reply *r)
{
	struct http_request *req = r->req;
	const char *st = json_str(r->row, "status");
	long version = (long)json_integer_value(json_object_get(r->row, "version"));
	json_t *flag =
	    json_array_get(json_object_get(r->row, "flags"), strtoul(r->index, NULL, 10));
	char detail[256], expect[32];

	if (!(r->access & HO_ACCESS_SENDER)) {
		http_problem(req, 403, NULL, "Kun den afsendende enhed kan svare på en markering.");
		reply_free(r);
		return;
	}
	if (states_of(st) != HO_RETURNED) {
		snprintf(detail, sizeof(detail),
		         "Notatet kan ikke få svar på markeringer, fordi det har status %s (%s).",
		         st ? st : "?", states_label(states_of(st)));
		http_problem(req, 409, NULL, detail);
		reply_free(r);
		return;
	}
	if (r->if_match > 0 && r->if_match != version) {
		http_problem(req, 412, NULL,
		             "Notatet er ændret af en anden siden du hentede det. Hent det igen.");
		reply_free(r);
		return;
	}
	if (flag == NULL) {
		http_problem(req, 404, NULL, "Notatet har ingen sådan markering.");
		reply_free(r);
		return;
	}
	if (json_is_true(json_object_get(flag, "resolved"))) {
		http_problem(req, 409, NULL,
		             "Markeringen hører til en tidligere returnering og er rettet. Svar på "
		             "markeringerne fra den seneste returnering.");
		reply_free(r);
		return;
	}
	snprintf(expect, sizeof(expect), "%ld", r->if_match > 0 ? r->if_match : version);
	const char *params[7] = {r->id,
	                         expect,
	                         r->index,
	                         json_str(req->json, "text"),
	                         req->auth.person_id,
	                         req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query("SELECT w::text FROM handover_flag_reply($1::uuid, $2::int, $3::int, $4, $5, "
	             "$6, $7) w WHERE w IS NOT NULL",
	             7, params, replied, r) == -1) {
		answer_db_error(req, "unavailable");
		reply_free(r);
	}
}

static void
reply_loaded(PGresult *res, const char *error, void *arg)
{
	struct reply *r = arg;
	struct http_request *req = r->req;
	const struct dir_snapshot *s;
	int me;

	if (error || res == NULL) {
		answer_db_error(req, error);
		reply_free(r);
		return;
	}
	if ((s = answer_snapshot_or_fail(req)) == NULL) {
		reply_free(r);
		return;
	}
	me = auth_person(req);
	/* Need to know first: a reader above acts on nothing, so for them, as
	 * for anyone who may not see the note, it does not exist. */
	if (PQntuples(res) != 1 || (r->row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL ||
	    me == DIR_NONE || (r->access = access_of_note(s, me, r->row)) == 0 ||
	    r->access == HO_ACCESS_READ) {
		answer_not_found(req);
		reply_free(r);
		return;
	}
	if (!r->checked) {
		if (!reply_check_request(r)) {
			reply_free(r);
			return;
		}
		r->checked = true;
	}
	reply_decide(r);
}

static void
reply_load(struct reply *r)
{
	const char *params[1] = {r->id};
	/* a deleted draft is gone: 404, as for a note that never was */
	if (db_query("SELECT handover_json(h, true)::text FROM handovers h WHERE id = $1::uuid "
	             "AND h.deleted_at IS NULL",
	             1, params, reply_loaded, r) == -1) {
		answer_db_error(r->req, "unavailable");
		reply_free(r);
	}
}

/* POST /api/v1/handovers/{id}/flags/{index}/reply */
void
api_handover_flag_reply(struct http_request *req)
{
	static const char *const no_params[] = {NULL};
	const char *rest = req->head.path + strlen("/api/v1/handovers/");
	const char *ix = "";
	size_t n = 0;
	struct reply *r;

	if (!http_query_check(req, no_params))
		return;
	/* The router matched /api/v1/handovers/x/flags/y/reply: the id is
	 * 36 characters and the index at most four digits, or there is no
	 * such resource (the same answer as a note that does not exist). */
	if (strcspn(rest, "/") == 36 && strncmp(rest + 36, "/flags/", 7) == 0) {
		ix = rest + 36 + 7;
		n = strspn(ix, "0123456789");
	}
	if (n == 0 || n > 4 || strcmp(ix + n, "/reply") != 0 || (n > 1 && *ix == '0')) {
		answer_not_found(req);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	memcpy(r->id, rest, 36);
	if (!answer_uuid_ok(r->id)) {
		free(r);
		answer_not_found(req);
		return;
	}
	memcpy(r->index, ix, n);
	r->req = req;
	r->if_match = -1;
	reply_load(r);
}
