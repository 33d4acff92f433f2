/*
 * routes.c: the route table: every path and method the daemon answers, its
 * handler, and whether it needs a login (ROUTE_PUBLIC: no) or a JSON body.
 * The router (daemon/router.c) searches it in order.
 */
#include <stddef.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "alerts.h"
#include "auth.h"
#include "api.h"
#include "app.h"

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
    {HTTP_GET | HTTP_HEAD, "/api/v1/people/*/vcard", api_people_vcard, ROUTE_DIRECTORY, 0},
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
    {HTTP_DELETE, "/api/v1/handovers/*", api_handover_delete, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/handovers/*/history", api_handover_history, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/handovers/*/pdf", api_handover_pdf, 0, 0},
    {HTTP_POST, "/api/v1/handovers/*/submit", api_handover_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/handovers/*/return", api_handover_action, ROUTE_JSON, 0},
    {HTTP_POST, "/api/v1/handovers/*/accept", api_handover_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/handovers/*/withdraw", api_handover_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/handovers/*/forward", api_handover_action, ROUTE_JSON, 0},
    {HTTP_POST, "/api/v1/handovers/*/flags/*/reply", api_handover_flag_reply, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/notices", api_notices_list, 0, 0},
    {HTTP_POST, "/api/v1/notices", api_notices_create, ROUTE_JSON, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/notices/pipeline", api_notices_pipeline, 0, 0},
    {HTTP_POST, "/api/v1/notices/import", api_notices_import, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/notices/*", api_notice_get, 0, 0},
    {HTTP_PATCH, "/api/v1/notices/*", api_notice_patch, ROUTE_JSON, 0},
    {HTTP_POST, "/api/v1/notices/*/acknowledge", api_notice_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_POST, "/api/v1/notices/*/cancel", api_notice_action, ROUTE_JSON, 0},
    {HTTP_POST, "/api/v1/notices/*/handover", api_notice_action, ROUTE_JSON_OPTIONAL, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/reports/quality", api_reports_quality, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/me/alerts", api_alert_settings_get, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/me/tasks", api_me_tasks, 0, 0},
    {HTTP_PUT, "/api/v1/me/alerts", api_alert_settings_put, ROUTE_JSON, 0},
    {HTTP_POST, "/api/v1/me/calendar", api_calendar_create, 0, 0},
    {HTTP_DELETE, "/api/v1/me/calendar", api_calendar_delete, 0, 0},
    {HTTP_GET | HTTP_HEAD, "/api/v1/outbox", api_outbox_list, 0, 0},
    {HTTP_POST, "/api/v1/outbox/*/retry", api_outbox_retry, 0, 0},
    /* The deadline feed: no session, the secret in the path (the access
     * log shows it hashed: api_calendar_log_path). */
    {HTTP_GET | HTTP_HEAD, "/cal/*", api_calendar_feed, ROUTE_PUBLIC, 0},
    /* The web UI: everything else that is not under /api/. */
    {HTTP_GET | HTTP_HEAD, "/", static_serve, ROUTE_PUBLIC | ROUTE_PREFIX, 0},
};

void
app_routes_init(void)
{
	router_init(routes, sizeof(routes) / sizeof(routes[0]), auth_authenticate,
	            auth_client_address);
	http_set_log_path(api_calendar_log_path);
}
