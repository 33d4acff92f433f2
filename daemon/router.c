/*
 * router.c: the request dispatch table.
 *
 * A pattern is a path whose "*" segments match any one segment. The table is
 * searched in order; a path that matches with the wrong method answers 405
 * with Allow, one that matches nothing 404 (under /api/v1 only after a
 * login). Paths outside /api/ and the operations endpoints are the web UI's
 * files.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "../handover/handover.h"
#include "../handover/alerts.h"

static struct route routes[] = {
    {HTTP_GET | HTTP_HEAD, "/healthz", ops_healthz, ROUTE_PUBLIC, 0},
    {HTTP_GET | HTTP_HEAD, "/readyz", ops_readyz, ROUTE_PUBLIC, 0},
    {HTTP_GET | HTTP_HEAD, "/metrics", ops_metrics, ROUTE_PUBLIC, 0},
    {HTTP_GET | HTTP_HEAD, "/openapi.json", ops_openapi, ROUTE_PUBLIC, 0},
    {HTTP_POST, "/api/v1/session", api_session_create, ROUTE_PUBLIC | ROUTE_JSON, 0},
    {HTTP_DELETE, "/api/v1/session", api_session_delete, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/me", api_me, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/audit", api_audit_list, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/people", api_people_list, ROUTE_DIRECTORY, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/people/*", api_people_get, ROUTE_DIRECTORY, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/units", api_units_list, ROUTE_DIRECTORY, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/units/*", api_units_get, ROUTE_DIRECTORY, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/routes", api_routes_list, 0, 0},
    {HTTP_POST, "/api/v1/counterparts", api_counterparts, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/templates/*", api_templates_get, 0, 0},
    {HTTP_POST, "/api/v1/handovers/check", api_handovers_check, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/handovers", api_handovers_list, 0, 0},
    {HTTP_POST, "/api/v1/handovers", api_handovers_create, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/handovers/*", api_handover_get, 0, 0},
    {HTTP_PATCH, "/api/v1/handovers/*", api_handover_patch, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/handovers/*/history", api_handover_history, 0, 0},
    {HTTP_POST, "/api/v1/handovers/*/submit", api_handover_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/handovers/*/return", api_handover_action, ROUTE_JSON, 0},
    {HTTP_POST, "/api/v1/handovers/*/accept", api_handover_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/handovers/*/withdraw", api_handover_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/handovers/*/forward", api_handover_action, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/reports/quality", api_reports_quality, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/me/alerts", api_alert_settings_get, 0, 0},
    {HTTP_PUT, "/api/v1/me/alerts", api_alert_settings_put, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/outbox", api_outbox_list, 0, 0},
    {HTTP_POST, "/api/v1/outbox/*/retry", api_outbox_retry, 0, 0},
    /* The web UI: everything else that is not under /api/. */
    {HTTP_GET | HTTP_HEAD, "/", static_serve, ROUTE_PUBLIC | ROUTE_PREFIX, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Numbers the routes for the metrics tables. */
void
router_init(void)
{
	for (size_t i = 0; i < NROUTES; i++)
		routes[i].index = (int)i;
}

size_t
router_count(void)
{
	return NROUTES;
}

const struct route *
router_get(size_t i)
{
	return i < NROUTES ? &routes[i] : NULL;
}

static bool
pattern_match(const char *pat, const char *path)
{
	while (*pat && *path) {
		if (*pat == '*') {
			const char *slash = strchr(path, '/');
			if (slash == path)
				return false; /* "*" wants a non-empty segment */
			pat++;
			path = slash ? slash : path + strlen(path);
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	return *pat == '\0' && *path == '\0';
}

static bool
route_matches(const struct route *r, const char *path)
{
	if (r->flags & ROUTE_PREFIX) {
		size_t n = strlen(r->pattern);
		return strncmp(path, r->pattern, n) == 0 && strncmp(path, "/api/", 5) != 0 &&
		       strcmp(path, "/api") != 0;
	}
	return pattern_match(r->pattern, path);
}

static void
allow_header(struct http_request *req, unsigned methods)
{
	static const struct {
		unsigned m;
		const char *name;
	} names[] = {{HTTP_GET, "GET"},        {HTTP_HEAD, "HEAD"},   {HTTP_POST, "POST"},
	             {HTTP_PUT, "PUT"},        {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"},
	             {HTTP_OPTIONS, "OPTIONS"}};
	char buf[128] = "";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (methods & names[i].m) {
			if (*buf)
				strcat(buf, ", ");
			strcat(buf, names[i].name);
		}
	}
	http_add_header(req, "Allow", buf);
}

/* Is the body declared as JSON ("application/json", any parameters)? */
static bool
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");
	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool
parse_json_body(struct http_request *req)
{
	static const struct json_limits lim = {32, 64 * 1024};
	size_t len = evbuffer_get_length(req->body);
	char detail[256];
	int status;

	if (len == 0 && (req->route->flags & ROUTE_JSON_OPTIONAL))
		return true;
	if (len == 0) {
		http_problem(req, 400, NULL, "A JSON request body is required.");
		return false;
	}
	if (!is_json_type(http_request_header(req, "Content-Type"))) {
		http_problem(req, 415, NULL, "The request body must be application/json.");
		return false;
	}
	const char *data = (const char *)evbuffer_pullup(req->body, -1);
	req->json = json_parse_limited(data, len, &lim, &status, detail, sizeof(detail));
	if (req->json == NULL) {
		http_problem(req, status, NULL, detail);
		return false;
	}
	return true;
}

/* After authentication: the body, then the route's handler. */
static void
run_handler(struct http_request *req)
{
	if ((req->route->flags & (ROUTE_JSON | ROUTE_JSON_OPTIONAL)) && !parse_json_body(req))
		return;
	req->route->handler(req);
}

/* The methods some route allows on a path, 0 when no route names it. */
static unsigned
path_methods(const char *path)
{
	unsigned allowed = 0;
	for (size_t i = 0; i < NROUTES; i++)
		if (route_matches(&routes[i], path))
			allowed |= routes[i].methods;
	return allowed;
}

/* 405 with Allow, or 404: the answer to a request no route takes. */
static void
answer_unrouted(struct http_request *req)
{
	unsigned allowed = path_methods(req->head.path);
	if (allowed) {
		allow_header(req, allowed);
		http_problem(req, 405, NULL, "This method is not allowed on this resource.");
		return;
	}
	http_problem(req, 404, NULL, "No such resource.");
}

void
router_dispatch(struct http_request *req)
{
	const char *path = req->head.path;

	auth_client_address(req);

	for (size_t i = 0; i < NROUTES; i++) {
		const struct route *r = &routes[i];
		if (!route_matches(r, path) || !(r->methods & req->head.method))
			continue;
		req->route = r;
		if (!(r->flags & ROUTE_PUBLIC) &&
		    !((r->flags & ROUTE_DIRECTORY) && config_current()->directory_anonymous_read)) {
			auth_authenticate(req, run_handler);
			return;
		}
		run_handler(req);
		return;
	}
	/*
	 * Everything under /api/v1 but POST /session needs a login (API.md),
	 * also a path or method that names nothing: so an anonymous client
	 * learns nothing of which resources exist. The operations endpoints
	 * and the web UI's files answer at once.
	 */
	if (strncmp(path, "/api/v1/", 8) == 0 || strcmp(path, "/api/v1") == 0) {
		auth_authenticate(req, answer_unrouted);
		return;
	}
	answer_unrouted(req);
}
