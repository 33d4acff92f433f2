/*
 * router.c: the request dispatch engine; the table is the wiring's
 * (app/routes.c).
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

static void router_dispatch(struct http_request *);

/* The route table and the login check, given by the wiring (app/routes.c). */
static struct route *routes;
static size_t NROUTES;
static void (*authenticate)(struct http_request *, http_handler next);
static void (*client_address)(struct http_request *);

/* The table, numbered for the metrics tables; the login check that runs
 * before a route that is not public, and the function that sets the
 * request's client address. The server's requests come to router_dispatch
 * through the pointer set here: the router sits above the server, and the
 * server never names it. */
void
router_init(struct route *table, size_t n, void (*login)(struct http_request *, http_handler),
            void (*client)(struct http_request *))
{
	routes = table;
	NROUTES = n;
	authenticate = login;
	client_address = client;
	for (size_t i = 0; i < NROUTES; i++)
		routes[i].index = (int)i;
	metrics_routes(NROUTES);
	http_set_dispatch(router_dispatch);
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

static void
router_dispatch(struct http_request *req)
{
	const char *path = req->head.path;

	client_address(req);

	for (size_t i = 0; i < NROUTES; i++) {
		const struct route *r = &routes[i];
		if (!route_matches(r, path) || !(r->methods & req->head.method))
			continue;
		req->route = r;
		if (!(r->flags & ROUTE_PUBLIC) &&
		    !((r->flags & ROUTE_DIRECTORY) && config_current()->directory_anonymous_read)) {
			authenticate(req, run_handler);
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
		authenticate(req, answer_unrouted);
		return;
	}
	answer_unrouted(req);
}
