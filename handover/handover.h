/*
 * handover.h: routes (the handover paths between units, as data in
 * PostgreSQL) and the counterpart API built on them.
 */
#ifndef HANDOVER_H
#define HANDOVER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "../directory/resolve.h"

struct event_base;
struct config;
struct http_request;
struct evbuffer;

/* One route, as loaded and checked. */
struct ho_route {
	char *code, *name, *from_unit, *to_unit, *template, *kle;
	int template_version;
	bool enabled;
	json_t *rules; /* as stored */
	char **allocation;
	size_t nallocation;
	char *placed_target_group;
	char *labour_market, *pension; /* the myndighedssnit's departments */
};

/* The routes in force: immutable once published, shared by reference. */
struct ho_route_set {
	int refs;
	struct ho_route *v;
	size_t n;
	double loaded_at; /* wall clock */
};

/* routes.c */
#define HO_ROUTE_KINDS "birthday, surname, district, target_group"
int ho_route_from_json(json_t *doc, struct ho_route *, char *err, size_t errsz) WUR;
void ho_route_clear(struct ho_route *);
json_t *ho_route_to_json(const struct ho_route *);
void ho_route_resolve_view(const struct ho_route *, struct resolve_route *);
const struct ho_route *ho_route_find(const struct ho_route_set *, const char *code);
struct ho_route_set *ho_routes_current(void);
void ho_routes_start(struct event_base *, const struct config *);
void ho_routes_reconfigure(const struct config *);
void ho_routes_reload(void);
void ho_routes_stop(void);
int ho_routes_seed(PGconn *) WUR;
int ho_routes_import(const struct config *, char *const *files, int nfiles) WUR;
int ho_routes_export(const struct config *) WUR;
void ho_routes_metrics_render(struct evbuffer *);

/* api_routes.c */
void api_routes_list(struct http_request *);
void api_counterparts(struct http_request *);

#endif
