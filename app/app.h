/*
 * app.h: the wiring (DESIGN.md "Architecture", layer 4). The module table
 * hands the core what it must call without naming a module: each module's
 * start, reconfigure, stop, metrics and migration seeds; the route table
 * (routes.c) hands the router its routes and the login check.
 */
#ifndef STAFET_APP_H
#define STAFET_APP_H

#include <stdbool.h>

struct event_base;
struct config;
struct evbuffer;

struct module {
	const char *name;
	void (*start)(struct event_base *, const struct config *);
	/* reloaded before the new configuration is current (it reads both) */
	bool reconfigure_first;
	void (*reconfigure)(const struct config *);
	/* stopped before the others: what answers requests still in flight */
	bool stop_first;
	void (*stop)(void);
	void (*metrics)(struct evbuffer *);
};

/* Registers the metrics and migration seeds with the core. */
void modules_init(void);
void modules_start(struct event_base *, const struct config *);
/* Before and after the new configuration is made current. */
void modules_reconfigure(const struct config *, bool first);
void modules_stop(void);

/* config_keys.c: the key table, given to the config engine; before
 * --config-keys or any load. */
void app_config_keys_init(void);

/* routes.c: the route table and the login check, given to the router. */
void app_routes_init(void);

#endif
