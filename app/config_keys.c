/*
 * config_keys.c: the configuration's keys, one typed table (the wiring's,
 * DESIGN.md "Architecture"): every key, its type, default, range, help and
 * the check of its value, in the order stafetd --config-keys lists them; the
 * man page stafetd.conf(5) documents the same table. The engine
 * (daemon/config.c) parses and applies; a module judges its own keys' values
 * (the directory its LDAP URIs, the alerts their SMTP keys) and those that
 * relate (check_relations here, outbox_check_keys).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "stafetd.h"
#include "names.h"
#include "handover.h"
#include "alerts.h"
#include "workdays.h"
#include "app.h"

/* The directory's and the core's judges, which give a fixed sentence. */
static int
check_ldap_uris(const char *v, char *why, size_t n)
{
	const char *w = "";
	if (!*v || dir_ldap_check_uris(v, &w) == 0)
		return 0;
	snprintf(why, n, "%s", w);
	return -1;
}

static int
check_proxies(const char *v, char *why, size_t n)
{
	const char *w = "";
	if (!*v || net_check_addresses(v, &w) == 0)
		return 0;
	snprintf(why, n, "%s", w);
	return -1;
}

static int
check_names_file(const char *v, char *why, size_t n)
{
	return !*v ? 0 : names_check_file(v, why, n);
}

static int
check_origin(const char *v, char *why, size_t n)
{
	if (!*v || net_parse_origin(v, NULL, 0) == 0)
		return 0;
	snprintf(why, n, "'%s' is not http(s)://host[:port] without a path", v);
	return -1;
}

static int
check_dn(const char *v, char *why, size_t n)
{
	if (!*v || strchr(v, '=') != NULL)
		return 0;
	snprintf(why, n, "'%s' is not a DN", v);
	return -1;
}

static const char *const log_levels[] = {"debug", "info", "notice", "warning", "error", NULL};
static const char *const ts_modes[] = {"auto", "yes", "no", NULL};
static const char *const no_yes[] = {"no", "yes", NULL};
static const char *const layouts[] = {"openldap", "ad", NULL};
static const char *const starttls_modes[] = {"no", "optional", "required", NULL};

#define OFF(f) offsetof(struct config, f)
static const struct cfg_key keys[] = {
    {"listen", CFG_LISTEN, OFF(listen), "127.0.0.1:8080", 0, 0, NULL, true,
     "address and port of the HTTP server", NULL},
    {"web_root", CFG_STRING, OFF(web_root), STAFET_DATADIR "/web", 0, 0, NULL, false,
     "folder of the web UI's files", NULL},
    {"log_level", CFG_ENUM, OFF(log_level), "info", 0, 0, log_levels, false,
     "least severity logged", NULL},
    {"log_timestamps", CFG_ENUM, OFF(log_timestamps), "auto", 0, 0, ts_modes, false,
     "timestamps on log lines (auto: none under systemd)", NULL},
    {"db_conninfo", CFG_STRING, OFF(db_conninfo), "dbname=stafet", 0, 0, NULL, false,
     "libpq connection string", NULL},
    {"db_password_file", CFG_SECRET_FILE, OFF(db_password), "", 0, 0, NULL, false,
     "file holding the database password", NULL},
    {"db_pool_size", CFG_INT, OFF(db_pool_size), "4", 1, 64, NULL, true,
     "PostgreSQL connections per daemon", NULL},
    {"db_connect_timeout", CFG_DURATION, OFF(db_connect_timeout), "5s", 0.1, 300, NULL, false,
     "time allowed to connect to PostgreSQL", NULL},
    {"db_query_timeout", CFG_DURATION, OFF(db_query_timeout), "10s", 0.1, 3600, NULL, false,
     "time allowed for one query", NULL},
    {"db_queue_max", CFG_INT, OFF(db_queue_max), "1000", 1, 1000000, NULL, false,
     "queries waiting for a connection before 503", NULL},
    {"http_max_body", CFG_SIZE, OFF(http_max_body), "1M", 1024, 64.0 * 1024 * 1024, NULL, false,
     "largest request body", NULL},
    {"http_max_header", CFG_SIZE, OFF(http_max_header), "64K", 1024, 1024 * 1024, NULL, false,
     "largest request head (request line and headers)", NULL},
    {"http_max_connections", CFG_INT, OFF(http_max_connections), "1024", 1, 1000000, NULL, false,
     "open client connections at most", NULL},
    {"http_max_connections_per_address", CFG_INT, OFF(http_max_connections_per_address), "64", 0,
     1000000, NULL, false,
     "open connections from one client address (IPv6: one /64) at most; more get 503; 0: no "
     "limit",
     NULL},
    {"http_header_timeout", CFG_DURATION, OFF(http_header_timeout), "10s", 0.1, 3600, NULL, false,
     "time allowed for a request's head: from accept on a new connection, else from its first "
     "byte; a body's base time",
     NULL},
    {"http_idle_timeout", CFG_DURATION, OFF(http_idle_timeout), "60s", 0.1, 86400, NULL, false,
     "keep-alive connection idle time", NULL},
    {"http_shutdown_grace", CFG_DURATION, OFF(http_shutdown_grace), "5s", 0, 600, NULL, false,
     "time in-flight requests get to finish at stop", NULL},
    {"ldap_uri", CFG_STRING, OFF(ldap_uri), "", 0, 0, NULL, false,
     "LDAP servers in priority order (spaces), equals joined by |; empty: no directory",
     check_ldap_uris},
    {"ldap_starttls", CFG_ENUM, OFF(ldap_starttls), "yes", 0, 0, no_yes, false,
     "StartTLS on ldap:// URIs", NULL},
    {"ldap_allow_plaintext", CFG_ENUM, OFF(ldap_allow_plaintext), "no", 0, 0, no_yes, false,
     "allow ldap:// without StartTLS (tests only)", NULL},
    {"ldap_ca_file", CFG_STRING, OFF(ldap_ca_file), "", 0, 0, NULL, false,
     "CA certificates that sign the LDAP servers' certificates", NULL},
    {"ldap_bind_dn", CFG_STRING, OFF(ldap_bind_dn), "", 0, 0, NULL, false,
     "the service account's DN", NULL},
    {"ldap_bind_password_file", CFG_SECRET_FILE, OFF(ldap_bind_password), "", 0, 0, NULL, false,
     "file holding the service account's password", NULL},
    {"ldap_connect_timeout", CFG_DURATION, OFF(ldap_connect_timeout), "5s", 0.1, 300, NULL, false,
     "time allowed to connect to an LDAP server", NULL},
    {"ldap_timeout", CFG_DURATION, OFF(ldap_timeout), "30s", 0.1, 3600, NULL, false,
     "time allowed for one LDAP operation", NULL},
    {"ldap_page_size", CFG_INT, OFF(ldap_page_size), "500", 1, 1000, NULL, false,
     "entries per page of a paged search (AD serves at most 1000)", NULL},
    {"directory_layout", CFG_ENUM, OFF(directory_layout), "openldap", 0, 0, layouts, false,
     "openldap (Stafet's schema) or ad (Active Directory)", NULL},
    {"directory_people_base", CFG_STRING, OFF(directory_people_base), "", 0, 0, NULL, false,
     "search base for people", NULL},
    {"directory_people_filter", CFG_STRING, OFF(directory_people_filter), "", 0, 0, NULL, false,
     "filter for people (default by layout)", NULL},
    {"directory_units_base", CFG_STRING, OFF(directory_units_base), "", 0, 0, NULL, false,
     "search base for units", NULL},
    {"directory_units_filter", CFG_STRING, OFF(directory_units_filter), "", 0, 0, NULL, false,
     "filter for units (default by layout)", NULL},
    {"directory_groups_base", CFG_STRING, OFF(directory_groups_base), "", 0, 0, NULL, false,
     "search base for groups", NULL},
    {"directory_groups_filter", CFG_STRING, OFF(directory_groups_filter), "", 0, 0, NULL, false,
     "filter for groups (default by layout)", NULL},
    {"map_unit", CFG_STRING, OFF(map_unit), "", 0, 0, NULL, false,
     "a person's unit: an attribute holding the unit code, or group:PREFIX (default by layout)",
     NULL},
    {"map_target_groups", CFG_STRING, OFF(map_target_groups), "", 0, 0, NULL, false,
     "target groups: an attribute, or group:PREFIX for groups named PREFIX<name>", NULL},
    {"map_allocation", CFG_STRING, OFF(map_allocation), "", 0, 0, NULL, false,
     "attribute with allocation rules (kind:value, ';' between rules in one value)", NULL},
    {"map_deputy", CFG_STRING, OFF(map_deputy), "", 0, 0, NULL, false,
     "attribute with the deputy's DN or username", NULL},
    {"map_absent_from", CFG_STRING, OFF(map_absent_from), "", 0, 0, NULL, false,
     "attribute with the start of an absence (GeneralizedTime or YYYY-MM-DD)", NULL},
    {"map_absent_until", CFG_STRING, OFF(map_absent_until), "", 0, 0, NULL, false,
     "attribute with the end of an absence", NULL},
    {"map_kle_responsible", CFG_STRING, OFF(map_kle_responsible), "", 0, 0, NULL, false,
     "attribute of a unit with the KLE numbers it is responsible for (';' between numbers in "
     "one value)",
     NULL},
    {"map_kle_performing", CFG_STRING, OFF(map_kle_performing), "", 0, 0, NULL, false,
     "attribute of a unit with the KLE numbers it performs", NULL},
    {"map_kle_insight", CFG_STRING, OFF(map_kle_insight), "", 0, 0, NULL, false,
     "attribute of a unit with the KLE numbers it has insight into", NULL},
    {"map_unit_intake", CFG_STRING, OFF(map_unit_intake), "", 0, 0, NULL, false,
     "whether a unit takes new cases in through its intake: a boolean attribute of the unit, or "
     "group:PREFIX for unit groups that are members of a group named so (default by layout)",
     NULL},
    {"directory_refresh_interval", CFG_DURATION, OFF(directory_refresh_interval), "60s", 0.1, 86400,
     NULL, false, "time between incremental refreshes", NULL},
    {"directory_reconcile_interval", CFG_DURATION, OFF(directory_reconcile_interval), "1h", 1,
     7 * 86400, NULL, false, "time between full reloads (which catch deletions)", NULL},
    {"directory_overlap", CFG_DURATION, OFF(directory_overlap), "5m", 0, 86400, NULL, false,
     "look back this far behind the last change seen, for clock skew and replication lag", NULL},
    {"directory_probe_interval", CFG_DURATION, OFF(directory_probe_interval), "30s", 1, 86400, NULL,
     false, "how often to try to return to a preferred LDAP server", NULL},
    {"directory_snapshot_file", CFG_STRING, OFF(directory_snapshot_file),
     "/var/lib/stafet/directory.json", 0, 0, NULL, false,
     "where the last snapshot is saved, to answer while LDAP is down after a restart", NULL},
    {"directory_anonymous_read", CFG_ENUM, OFF(directory_anonymous_read), "no", 0, 0, no_yes, false,
     "answer directory reads (people, units) without login", NULL},
    {"public_url", CFG_STRING, OFF(public_url), "", 0, 0, NULL, false,
     "the address users reach Stafet at (https://host[:port]); the Origin state-changing "
     "requests must carry",
     check_origin},
    {"http_tls_proxy", CFG_ENUM, OFF(http_tls_proxy), "no", 0, 0, no_yes, false,
     "a TLS-terminating proxy is in front: session cookies are Secure; needs public_url", NULL},
    {"http_hsts", CFG_DURATION, OFF(http_hsts), "365d", 0, 2 * 365 * 86400, NULL, false,
     "max-age of the Strict-Transport-Security header sent with http_tls_proxy = yes; 0: none",
     NULL},
    {"http_trusted_proxies", CFG_STRING, OFF(http_trusted_proxies), "", 0, 0, NULL, false,
     "proxy addresses (spaces) whose X-Forwarded-For names the client", check_proxies},
    {"session_idle_timeout", CFG_DURATION, OFF(session_idle_timeout), "30min", 1, 30 * 86400, NULL,
     false, "a session unused this long ends", NULL},
    {"session_cache", CFG_ENUM, OFF(session_cache), "yes", 0, 0, no_yes, true,
     "keep sessions in memory between requests while session ends are announced (LISTEN)", NULL},
    {"session_absolute_timeout", CFG_DURATION, OFF(session_absolute_timeout), "10h", 1, 90 * 86400,
     NULL, false, "a session ends this long after login, used or not", NULL},
    {"role_quality_group", CFG_STRING, OFF(role_quality_group), "", 0, 0, NULL, false,
     "DN of the group whose (nested) members have the quality role", check_dn},
    {"role_admin_group", CFG_STRING, OFF(role_admin_group), "", 0, 0, NULL, false,
     "DN of the group whose (nested) members have the admin role", check_dn},
    {"login_workers", CFG_INT, OFF(login_workers), "2", 1, 32, NULL, true,
     "threads that bind to LDAP as the users logging in", NULL},
    {"login_queue_max", CFG_INT, OFF(login_queue_max), "64", 1, 100000, NULL, false,
     "logins waiting for a worker before 503", NULL},
    {"login_failure_delay", CFG_DURATION, OFF(login_failure_delay), "300ms", 0, 10, NULL, false,
     "a failed login is answered no sooner than this", NULL},
    {"login_failure_window", CFG_DURATION, OFF(login_failure_window), "15min", 1, 86400, NULL,
     false, "failed logins are counted over this time", NULL},
    {"login_user_max_failures", CFG_INT, OFF(login_user_max_failures), "5", 1, 1000, NULL, false,
     "failures for one username within the window before it is blocked", NULL},
    {"login_user_block", CFG_DURATION, OFF(login_user_block), "1min", 1, 86400, NULL, false,
     "how long a username stays blocked (short: an attacker must not lock users out)", NULL},
    {"login_address_max_failures", CFG_INT, OFF(login_address_max_failures), "20", 1, 100000, NULL,
     false, "failures from one client address within the window before it is blocked", NULL},
    {"login_address_block", CFG_DURATION, OFF(login_address_block), "15min", 1, 86400, NULL, false,
     "how long a client address stays blocked", NULL},
    {"calendar_fetch_max", CFG_INT, OFF(calendar_fetch_max), "120", 1, 1000000, NULL, false,
     "deadline calendar fetches from one client address in a minute before a minute of 429", NULL},
    {"calendar_miss_max", CFG_INT, OFF(calendar_miss_max), "30", 1, 100000, NULL, false,
     "unknown calendar addresses from one client address in 10 minutes before 10 minutes of 429",
     NULL},
    {"routes_reload_interval", CFG_DURATION, OFF(routes_reload_interval), "10s", 0.1, 86400, NULL,
     false, "how often the routes table is read again (SIGHUP reads it at once)", NULL},
    {"names_file", CFG_STRING, OFF(names_file), "", 0, 0, NULL, true,
     "JSON file of Danish names for KLE numbers and target groups, added to the built-in "
     "ones; empty: the built-in ones only",
     check_names_file},
    {"smtp_url", CFG_STRING, OFF(smtp_url), "", 0, 0, NULL, false,
     "the SMTP relay: smtp://host[:port] (STARTTLS per smtp_starttls) or smtps://host[:port]; "
     "empty: alerts wait in the outbox",
     outbox_check_smtp_url},
    {"smtp_starttls", CFG_ENUM, OFF(smtp_starttls), "required", 0, 0, starttls_modes, false,
     "STARTTLS on smtp:// (no, optional, required)", NULL},
    {"smtp_ca_file", CFG_STRING, OFF(smtp_ca_file), "", 0, 0, NULL, false,
     "CA certificates that sign the relay's certificate (default: the system's)", NULL},
    {"smtp_username", CFG_STRING, OFF(smtp_username), "", 0, 0, NULL, false,
     "SMTP AUTH user name; empty: no AUTH", NULL},
    {"smtp_password_file", CFG_SECRET_FILE, OFF(smtp_password), "", 0, 0, NULL, false,
     "file holding the SMTP AUTH password", NULL},
    {"smtp_from", CFG_STRING, OFF(smtp_from), "stafet@localhost", 0, 0, NULL, false,
     "the sender address of alerts", outbox_check_smtp_from},
    {"smtp_timeout", CFG_DURATION, OFF(smtp_timeout), "30s", 0.1, 600, NULL, false,
     "time allowed to connect to the relay and for each mail", NULL},
    {"alert_batch", CFG_INT, OFF(alert_batch), "50", 1, 1000, NULL, false,
     "alerts claimed from the outbox at a time", NULL},
    {"alert_max_attempts", CFG_INT, OFF(alert_max_attempts), "5", 1, 1000, NULL, false,
     "attempts on permanent failures (5xx) before an alert is dead-lettered", NULL},
    {"alert_retry_min", CFG_DURATION, OFF(alert_retry_min), "30s", 0.01, 86400, NULL, false,
     "first wait before a failed alert is tried again (doubling, with jitter)", NULL},
    {"alert_retry_max", CFG_DURATION, OFF(alert_retry_max), "1h", 0.01, 7 * 86400, NULL, false,
     "longest wait between attempts", NULL},
    {"alert_lease", CFG_DURATION, OFF(alert_lease), "5min", 1, 86400, NULL, false,
     "claimed alerts a daemon has not finished by then go to another daemon", NULL},
    {"alert_poll_interval", CFG_DURATION, OFF(alert_poll_interval), "1s", 0.05, 3600, NULL, false,
     "how often the outbox is looked at", NULL},
    {"reminder_interval", CFG_DURATION, OFF(reminder_interval), "5min", 0.1, 86400, NULL, false,
     "how often reminders are looked for", NULL},
    {"reminder_undecided_days", CFG_INT, OFF(reminder_undecided_days), "5", 1, 365, NULL, false,
     "working days a submitted note may wait for a decision (routes may say otherwise)", NULL},
    {"reminder_returned_days", CFG_INT, OFF(reminder_returned_days), "5", 1, 365, NULL, false,
     "working days a returned note may wait to be resubmitted", NULL},
    {"reminder_draft_days", CFG_INT, OFF(reminder_draft_days), "10", 1, 365, NULL, false,
     "working days before the planned date at which a draft is reminded of", NULL},
    {"days_off", CFG_STRING, OFF(days_off), "", 0, 0, NULL, false,
     "days off besides the public holidays: grundlovsdag juleaftensdag nytaarsaftensdag",
     workdays_check_days_off},
    {"digest_time", CFG_STRING, OFF(digest_time), "07:00", 0, 0, NULL, false,
     "local time (HH:MM) of the daily digest for those who chose one", outbox_check_digest_time},
};
#undef OFF

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Keys of the core and the directory that relate. */
static void
check_relations(const struct config *cfg, const char *path, struct strlist *errors)
{
	if (*cfg->ldap_uri && !*cfg->directory_people_base)
		strlist_add(errors, "%s: ldap_uri is set but directory_people_base is not", path);
	/* Behind a TLS proxy the origin is the operator's word, not a Host header's. */
	if (cfg->http_tls_proxy && !*cfg->public_url)
		strlist_add(errors,
		            "%s: http_tls_proxy = yes needs public_url (the https:// address users "
		            "reach Stafet at): without it the Origin check would trust the Host "
		            "header",
		            path);
	if (cfg->db_pool_size > cfg->db_queue_max)
		strlist_add(errors, "%s: db_queue_max must be at least db_pool_size", path);
}

static cfg_relation_fn *const relations[] = {check_relations, outbox_check_keys};

void
app_config_keys_init(void)
{
	config_set_keys(keys, NKEYS, relations, sizeof(relations) / sizeof(relations[0]));
}
