/*
 * modules.c: the module table. Every part of the daemon that starts, is
 * reconfigured on SIGHUP, stops, renders metrics or seeds what a migration
 * made is one row here, in the order they start; main.c and the core call
 * the table, never a module by name.
 */
#include <stddef.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "alerts.h"
#include "auth.h"
#include "api.h"
#include "app.h"

static void
auth_start_any(struct event_base *base, const struct config *c)
{
	(void)c;
	auth_start(base);
}

static void
api_session_start_any(struct event_base *base, const struct config *c)
{
	(void)c;
	api_session_start(base);
}

static const struct module modules[] = {
    /* name, start, reconfigure first?, reconfigure, stop first?, stop, metrics */
    {"database", db_pool_start, true, db_pool_reconfigure, false, db_pool_stop, db_metrics_render},
    {"session cache", session_cache_start, false, session_cache_reconfigure, false,
     session_cache_stop, session_cache_metrics},
    {"directory", dir_sync_start, true, dir_sync_reconfigure, false, dir_sync_stop,
     dir_sync_metrics_render},
    {"directory logins", dir_login_start, true, dir_login_reconfigure, true, dir_login_stop, NULL},
    {"sessions", auth_start_any, false, NULL, false, auth_stop, NULL},
    {"logins", api_session_start_any, false, NULL, true, api_session_stop, NULL},
    {"pdf", api_pdf_start, false, NULL, true, api_pdf_stop, NULL},
    {"routes", routes_start, false, routes_reconfigure, false, routes_stop, routes_metrics_render},
    {"reports", api_reports_start, false, NULL, false, api_reports_stop, NULL},
    {"counterparts", api_counterparts_start, false, NULL, false, api_counterparts_stop, NULL},
    {"alerts", outbox_start, false, outbox_reconfigure, false, outbox_stop, outbox_metrics_render},
    {"reminders", reminders_start, false, reminders_reconfigure, false, reminders_stop,
     reminders_metrics_render},
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

/* What a migration made is filled when it is applied: the routes that ship
 * with 0003, the templates with 0004 (and templates shipped since, at every
 * --migrate). */
static const struct migrate_seed seeds[] = {
    {3, "routes", routes_seed, false},
    {4, "templates", routes_templates_seed, true},
};

void
modules_init(void)
{
	for (size_t i = 0; i < NMODULES; i++)
		if (modules[i].metrics)
			metrics_add_renderer(modules[i].metrics);
	migrate_set_seeds(seeds, sizeof(seeds) / sizeof(seeds[0]));
}

void
modules_start(struct event_base *base, const struct config *c)
{
	for (size_t i = 0; i < NMODULES; i++)
		modules[i].start(base, c);
}

void
modules_reconfigure(const struct config *c, bool first)
{
	for (size_t i = 0; i < NMODULES; i++)
		if (modules[i].reconfigure && modules[i].reconfigure_first == first)
			modules[i].reconfigure(c);
}

void
modules_stop(void)
{
	for (size_t i = 0; i < NMODULES; i++)
		if (modules[i].stop_first)
			modules[i].stop();
	for (size_t i = NMODULES; i-- > 0;)
		if (!modules[i].stop_first)
			modules[i].stop();
}
