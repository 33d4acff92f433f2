/*
 * audit.c: GET /api/v1/audit (API.md, "Audit"): admins read the audit log,
 * newest first, filtered by person, object and action, a page at a time;
 * the reading is recorded too (auth/audit.c writes the rows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "auth.h"
#include "api.h"

#define AUDIT_PARAM_MAX 256

struct list_ctx {
	struct http_request *req;
	int limit;
	char person[AUDIT_PARAM_MAX], object[AUDIT_PARAM_MAX]; /* whose log was read */
	char filter[64]; /* what was asked for, for the audit row of this read */
};

static json_t *
null_or_str(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static void
list_done(PGresult *res, const char *error, void *arg)
{
	struct list_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	int n;

	if (error || res == NULL) {
		log_warnx("audit: listing: %s", error ? error : "no result");
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The audit log is unavailable.");
		free(ctx);
		return;
	}
	n = PQntuples(res);
	json_t *items = json_array();
	for (int i = 0; i < n && i < ctx->limit; i++) {
		json_t *object = json_null();
		if (!PQgetisnull(res, i, 7))
			object = json_pack("{s:o, s:s}", "type", null_or_str(res, i, 6), "id",
			                   PQgetvalue(res, i, 7));
		json_array_append_new(
		    items, json_pack("{s:I, s:s, s:{s:o, s:o}, s:o, s:s, s:o, s:o}", "id",
		                     (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "at",
		                     PQgetvalue(res, i, 1), "actor", "id", null_or_str(res, i, 2),
		                     "username", null_or_str(res, i, 3), "address",
		                     null_or_str(res, i, 4), "action", PQgetvalue(res, i, 5),
		                     "object", object, "detail", null_or_str(res, i, 8)));
	}
	json_t *next = json_null();
	if (n > ctx->limit)
		next = json_string(PQgetvalue(res, ctx->limit - 1, 0));
	/* whose trail an admin read is itself on the record */
	audit_record(req, req->auth.person_id, req->auth.username, "audit.read",
	             *ctx->person   ? "person"
	             : *ctx->object ? "object"
	                            : NULL,
	             *ctx->person   ? ctx->person
	             : *ctx->object ? ctx->object
	                            : NULL,
	             *ctx->filter ? ctx->filter + 1 : NULL);
	http_respond_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
	free(ctx);
}

static bool
param(struct http_request *req, const char *name, char *buf, size_t n, const char **out)
{
	*out = NULL;
	if (!http_query_has(req, name))
		return true;
	const char *v = http_query_param(req, name, buf, n);
	if (v == NULL) {
		http_bad_param(req, name, "Værdien er for lang eller ugyldig.");
		return false;
	}
	*out = *v ? v : NULL;
	return true;
}

/*
 * Admins only (404 for everyone else, as for anything one may not see).
 * Filters: person (id or username), object (id), action; newest first,
 * keyset pages by id.
 */
void
api_audit_list(struct http_request *req)
{
	static const char *const known[] = {"person", "object", "action", "limit", "cursor", NULL};
	char person[AUDIT_PARAM_MAX], object[AUDIT_PARAM_MAX], action[AUDIT_PARAM_MAX];
	char limit_s[16], cursor_s[32], limit_q[16];
	const char *pv, *ov, *av, *lv, *cv;
	long limit = 50;

	if (!auth_has_role(req, ROLE_ADMIN)) {
		http_problem(req, 404, NULL, "No such resource.");
		return;
	}
	if (!http_query_check(req, known))
		return;
	if (!param(req, "person", person, sizeof(person), &pv) ||
	    !param(req, "object", object, sizeof(object), &ov) ||
	    !param(req, "action", action, sizeof(action), &av) ||
	    !param(req, "limit", limit_s, sizeof(limit_s), &lv) ||
	    !param(req, "cursor", cursor_s, sizeof(cursor_s), &cv))
		return;
	if (lv) {
		char *end;
		limit = strtol(lv, &end, 10);
		if (*end || limit < 1 || limit > 500) {
			http_bad_param(req, "limit", "Skal være et tal fra 1 til 500.");
			return;
		}
	}
	if (cv && (strspn(cv, "0123456789") != strlen(cv) || strlen(cv) > 18)) {
		http_bad_param(req, "cursor", "Ugyldig markør.");
		return;
	}
	snprintf(limit_q, sizeof(limit_q), "%ld", limit + 1);
	const char *params[5] = {pv, ov, av, cv, limit_q};
	struct list_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->limit = (int)limit;
	snprintf(ctx->person, sizeof(ctx->person), "%s", pv ? pv : "");
	snprintf(ctx->object, sizeof(ctx->object), "%s", ov ? ov : "");
	snprintf(ctx->filter, sizeof(ctx->filter), "%s%s%s", pv ? " person" : "",
	         ov ? " object" : "", av ? " action" : "");
	if (db_query(
	        "SELECT id, to_char(at AT TIME ZONE 'UTC', "
	        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor_id, actor_username, address, "
	        "action, object_type, object_id, detail FROM audit_log "
	        "WHERE ($1::text IS NULL OR actor_id = $1 OR lower(actor_username) = lower($1)) "
	        "AND ($2::text IS NULL OR object_id = $2) "
	        "AND ($3::text IS NULL OR action = $3) "
	        "AND ($4::bigint IS NULL OR id < $4::bigint) "
	        "ORDER BY id DESC LIMIT $5::int",
	        5, params, list_done, ctx) == -1) {
		free(ctx);
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The audit log is unavailable.");
	}
}
