/*
 * ops.c: the operations endpoints: liveness, readiness, metrics and the
 * OpenAPI document. None needs authentication and none shows personal data,
 * nor where the database is: /readyz says "database unavailable", and the
 * log says which host, port and role failed.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "handover.h"
#include "api.h"

void
ops_healthz(struct http_request *req)
{
	http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void
not_ready(struct http_request *req, const char *why)
{
	json_t *p = json_problem(503, "Not ready", why);
	json_object_set_new(p, "checks", json_pack("{s:s}", "database", why));
	http_add_header(req, "Retry-After", "1");
	http_problem_json(req, p);
}

/* Logs a failed readiness query once per distinct error, not per probe. */
static void
log_query_error(const char *error)
{
	static char last[256];

	if (strncmp(last, error, sizeof(last) - 1) == 0)
		return;
	snprintf(last, sizeof(last), "%s", error);
	log_warnx("readyz: the database query failed: %s", error);
}

static void
readyz_done(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	const char *why = NULL;

	if (res == NULL || error != NULL) {
		/* libpq's text names host, port and role: the log's, not the answer's */
		log_query_error(error ? error : "no result");
		not_ready(req, db_available(&why) ? "database query failed" : why);
		return;
	}
	if (routes_current() == NULL) {
		/* the database answers, but the routes and templates are not read yet */
		json_t *p =
		    json_problem(503, "Not ready", "routes: not loaded from the database yet");
		json_object_set_new(
		    p, "checks",
		    json_pack("{s:s, s:s}", "database", "ok", "routes", "not loaded yet"));
		http_add_header(req, "Retry-After", "1");
		http_problem_json(req, p);
		return;
	}
	json_t *checks = json_pack("{s:s, s:s}", "database", "ok", "routes", "ok");
	if (dir_sync_configured())
		json_object_set_new(checks, "directory",
		                    json_string(dir_sync_stale() ? "stale snapshot" : "ok"));
	char *schema = dir_sync_configured() ? dir_schema_status() : NULL;
	if (schema) /* mapped attributes the schema lacks: said, still ready */
		json_object_set_new(checks, "directory_schema", json_string(schema));
	free(schema);
	http_respond_json(req, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
}

/* Ready when PostgreSQL answers a query now, not merely when a socket is
 * open, the directory snapshot is there (when configured), and the routes
 * and templates have been read. */
void
ops_readyz(struct http_request *req)
{
	const char *why = NULL;

	if (dir_sync_configured() && dir_sync_current() == NULL) {
		json_t *p = json_problem(503, "Not ready", "directory: no snapshot loaded yet");
		json_object_set_new(p, "checks",
		                    json_pack("{s:s}", "directory", "no snapshot yet"));
		http_add_header(req, "Retry-After", "1");
		http_problem_json(req, p);
		return;
	}
	if (!db_available(&why)) {
		not_ready(req, why);
		return;
	}
	if (db_query("SELECT 1", 0, NULL, readyz_done, req) == -1)
		not_ready(req, db_available(&why) ? "database busy: query queue full" : why);
}

void
ops_metrics(struct http_request *req)
{
	struct evbuffer *b = evbuffer_new();
	metrics_render(b);
	http_respond_buffer(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

void
ops_openapi(struct http_request *req)
{
	http_respond(req, 200, "application/json", openapi_json, openapi_json_len);
}
