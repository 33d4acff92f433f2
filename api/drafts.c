/*
 * drafts.c: DELETE /api/v1/handovers/{id} (API.md 1.1 "Drafts, tasks"):
 * the sending unit deletes a draft.
 *
 * Judged in the order notes.c judges a change, so no answer tells a note
 * one may not see from one that does not exist: first need to know (404
 * for anyone who may not see the note, and for a lead above, who may not
 * act: the very answer a missing or deleted note gets), then the request
 * (If-Match: 400 unreadable, 428 absent), then the side (403 for the
 * receiving side), the state (409: only a draft), the version (412).
 *
 * The delete is soft (migration 0009, handover_delete_draft): the row
 * stays with deleted_at set, its versions and events stay and gain one
 * recording the deletion, with an audit row in the same statement; for the
 * API the draft is gone (every list, GET, the tasks, the reminders).
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

#define TRIES 3

struct del {
	struct http_request *req;
	char id[40];
	long if_match; /* 0: "*"; > 0 the version asked for */
	long version;  /* as last loaded */
	int tries;
	bool checked;
};

static void del_load(struct del *);

static void
stale(struct http_request *req)
{
	http_problem(req, 412, NULL,
	             "Notatet er ændret af en anden siden du hentede det. Hent det igen.");
}

/* If-Match as notes.c reads it: "N", or * (0); W/"N" never matches
 * (LONG_MAX); -1 when absent, -2 when unreadable. */
static long
if_match_of(const struct http_request *req)
{
	const char *h = http_request_header(req, "If-Match");
	char *end;
	long v;
	bool weak;

	if (h == NULL)
		return -1;
	while (*h == ' ')
		h++;
	if (strcmp(h, "*") == 0)
		return 0;
	if ((weak = strncmp(h, "W/", 2) == 0))
		h += 2;
	if (*h != '"')
		return -2;
	v = strtol(h + 1, &end, 10);
	if (end == h + 1 || *end != '"' || v < 1)
		return -2;
	return weak ? 0x7fffffffL : v;
}

static void
deleted(PGresult *res, const char *error, void *arg)
{
	struct del *d = arg;
	struct http_request *req = d->req;

	if (error || res == NULL) {
		answer_db_error(req, error);
		free(d);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		/* It moved on since it was read: judged again on the new row. */
		if (d->if_match > 0) {
			stale(req);
			free(d);
		} else if (++d->tries >= TRIES) {
			http_problem(req, 409, NULL, "Notatet ændres af andre lige nu. Prøv igen.");
			free(d);
		} else {
			del_load(d);
		}
		return;
	}
	log_info("handovers: draft %s deleted by %s", PQgetvalue(res, 0, 0), req->auth.person_id);
	http_respond(req, 204, NULL, NULL, 0);
	free(d);
}

/* The request itself, judged once the caller may see the note; false
 * after answering. */
static bool
del_check_request(struct del *d)
{
	if ((d->if_match = if_match_of(d->req)) == -2) {
		http_problem(d->req, 400, NULL, "If-Match must be an entity tag such as \"3\".");
		return false;
	}
	if (d->if_match == -1) {
		http_problem(
		    d->req, 428, NULL,
		    "Send If-Match med kladdens ETag, så du ikke sletter en nyere udgave.");
		return false;
	}
	return true;
}

static void
del_write(struct del *d)
{
	struct http_request *req = d->req;
	char expect[32];

	snprintf(expect, sizeof(expect), "%ld", d->version);
	const char *params[5] = {d->id, expect, req->auth.person_id, req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query("SELECT handover_delete_draft($1::uuid, $2::int, $3, $4, $5)", 5, params,
	             deleted, d) == -1) {
		answer_db_error(req, "unavailable");
		free(d);
	}
}

/* Who may, then the request, the side, the state, the version: true when
 * the draft may be deleted (d->version set), false after answering. */
static bool
del_judge(struct del *d, const json_t *row, unsigned access)
{
	struct http_request *req = d->req;
	const char *st = json_str(row, "status");
	char detail[256];

	if (access == 0 || access == HO_ACCESS_READ) {
		answer_not_found(req);
		return false;
	}
	if (!d->checked && !del_check_request(d))
		return false;
	d->checked = true;
	if (!(access & HO_ACCESS_SENDER)) {
		http_problem(req, 403, NULL, "Kun den afsendende enhed kan slette en kladde.");
		return false;
	}
	if (states_of(st) != HO_DRAFT) {
		snprintf(detail, sizeof(detail),
		         "Notatet kan ikke slettes, fordi det har status %s (%s). Kun en kladde "
		         "kan slettes.",
		         st ? st : "?", states_label(states_of(st)));
		http_problem(req, 409, NULL, detail);
		return false;
	}
	d->version = (long)json_integer_value(json_object_get(row, "version"));
	if (d->if_match > 0 && d->if_match != d->version) {
		stale(req);
		return false;
	}
	return true;
}

static void
loaded(PGresult *res, const char *error, void *arg)
{
	struct del *d = arg;
	const struct dir_snapshot *s;
	json_t *row = NULL;
	unsigned access = 0;
	int me;
	bool go;

	if (error || res == NULL) {
		answer_db_error(d->req, error);
		free(d);
		return;
	}
	if ((s = answer_snapshot_or_fail(d->req)) == NULL) {
		free(d);
		return;
	}
	me = auth_person(d->req);
	/* Need to know first: a missing note, a deleted draft, one the caller
	 * may not see and one they may only read are all the same 404. */
	if (PQntuples(res) == 1 && me != DIR_NONE &&
	    (row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) != NULL)
		access = access_of_note(s, me, row);
	go = del_judge(d, row, access);
	json_decref(row);
	if (go)
		del_write(d);
	else
		free(d);
}

static void
del_load(struct del *d)
{
	const char *params[1] = {d->id};
	if (db_query("SELECT handover_json(h, false)::text FROM handovers h "
	             "WHERE id = $1::uuid AND h.deleted_at IS NULL",
	             1, params, loaded, d) == -1) {
		answer_db_error(d->req, "unavailable");
		free(d);
	}
}

void
api_handover_delete(struct http_request *req)
{
	static const char *const no_params[] = {NULL};
	const char *id = req->head.path + strlen("/api/v1/handovers/");
	struct del *d;

	if (!http_query_check(req, no_params))
		return;
	if (strlen(id) != 36 || !answer_uuid_ok(id)) {
		answer_not_found(req);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->req = req;
	d->if_match = -1;
	memcpy(d->id, id, 37);
	del_load(d);
}
