/*
 * config.c: the configuration file, one typed table of keys.
 *
 * The file is "key = value" lines with # comments. Every key, its type, its
 * default and its range live in the table below and nowhere else; the man
 * page stafetd.conf(5) documents the same table. A file is checked as a
 * whole: every bad line is reported with its number, and a file with any
 * error is not used.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stafetd.h"

#define CONFIG_MAX_LINE 4096
#define SECRET_MAX      4096

enum cfg_type {
	CFG_STRING,
	CFG_LISTEN,
	CFG_INT,
	CFG_SIZE,
	CFG_DURATION,
	CFG_ENUM,
	CFG_SECRET_FILE,
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;
	double min, max;            /* CFG_INT, CFG_SIZE, CFG_DURATION */
	const char *const *choices; /* CFG_ENUM: index is the value */
	bool restart;               /* a change needs a restart, not a reload */
	const char *help;
};

static const char *const log_levels[] = {"debug", "info", "notice", "warning", "error", NULL};
static const char *const ts_modes[] = {"auto", "yes", "no", NULL};
static const char *const no_yes[] = {"no", "yes", NULL};
static const char *const layouts[] = {"openldap", "ad", NULL};
static const char *const starttls_modes[] = {"no", "optional", "required", NULL};

#define OFF(f) offsetof(struct config, f)
static const struct cfg_key keys[] = {
    {"listen", CFG_LISTEN, OFF(listen), "127.0.0.1:8080", 0, 0, NULL, true,
     "address and port of the HTTP server"},
    {"web_root", CFG_STRING, OFF(web_root), STAFET_DATADIR "/web", 0, 0, NULL, false,
     "folder of the web UI's files"},
    {"log_level", CFG_ENUM, OFF(log_level), "info", 0, 0, log_levels, false,
     "least severity logged"},
    {"log_timestamps", CFG_ENUM, OFF(log_timestamps), "auto", 0, 0, ts_modes, false,
     "timestamps on log lines (auto: none under systemd)"},
    {"db_conninfo", CFG_STRING, OFF(db_conninfo), "dbname=stafet", 0, 0, NULL, false,
     "libpq connection string"},
    {"db_password_file", CFG_SECRET_FILE, OFF(db_password), "", 0, 0, NULL, false,
     "file holding the database password"},
    {"db_pool_size", CFG_INT, OFF(db_pool_size), "4", 1, 64, NULL, true,
     "PostgreSQL connections per daemon"},
    {"db_connect_timeout", CFG_DURATION, OFF(db_connect_timeout), "5s", 0.1, 300, NULL, false,
     "time allowed to connect to PostgreSQL"},
    {"db_query_timeout", CFG_DURATION, OFF(db_query_timeout), "10s", 0.1, 3600, NULL, false,
     "time allowed for one query"},
    {"db_queue_max", CFG_INT, OFF(db_queue_max), "1000", 1, 1000000, NULL, false,
     "queries waiting for a connection before 503"},
    {"http_max_body", CFG_SIZE, OFF(http_max_body), "1M", 1024, 64.0 * 1024 * 1024, NULL, false,
     "largest request body"},
    {"http_max_header", CFG_SIZE, OFF(http_max_header), "64K", 1024, 1024 * 1024, NULL, false,
     "largest request head (request line and headers)"},
    {"http_max_connections", CFG_INT, OFF(http_max_connections), "1024", 1, 1000000, NULL, false,
     "open client connections at most"},
    {"http_max_connections_per_address", CFG_INT, OFF(http_max_connections_per_address), "64", 0,
     1000000, NULL, false,
     "open connections from one client address (IPv6: one /64) at most; more get 503; 0: no "
     "limit"},
    {"http_header_timeout", CFG_DURATION, OFF(http_header_timeout), "10s", 0.1, 3600, NULL, false,
     "time allowed for a request's head: from accept on a new connection, else from its first "
     "byte; a body's base time"},
    {"http_idle_timeout", CFG_DURATION, OFF(http_idle_timeout), "60s", 0.1, 86400, NULL, false,
     "keep-alive connection idle time"},
    {"http_shutdown_grace", CFG_DURATION, OFF(http_shutdown_grace), "5s", 0, 600, NULL, false,
     "time in-flight requests get to finish at stop"},
    {"ldap_uri", CFG_STRING, OFF(ldap_uri), "", 0, 0, NULL, false,
     "LDAP servers in priority order (spaces), equals joined by |; empty: no directory"},
    {"ldap_starttls", CFG_ENUM, OFF(ldap_starttls), "yes", 0, 0, no_yes, false,
     "StartTLS on ldap:// URIs"},
    {"ldap_allow_plaintext", CFG_ENUM, OFF(ldap_allow_plaintext), "no", 0, 0, no_yes, false,
     "allow ldap:// without StartTLS (tests only)"},
    {"ldap_ca_file", CFG_STRING, OFF(ldap_ca_file), "", 0, 0, NULL, false,
     "CA certificates that sign the LDAP servers' certificates"},
    {"ldap_bind_dn", CFG_STRING, OFF(ldap_bind_dn), "", 0, 0, NULL, false,
     "the service account's DN"},
    {"ldap_bind_password_file", CFG_SECRET_FILE, OFF(ldap_bind_password), "", 0, 0, NULL, false,
     "file holding the service account's password"},
    {"ldap_connect_timeout", CFG_DURATION, OFF(ldap_connect_timeout), "5s", 0.1, 300, NULL, false,
     "time allowed to connect to an LDAP server"},
    {"ldap_timeout", CFG_DURATION, OFF(ldap_timeout), "30s", 0.1, 3600, NULL, false,
     "time allowed for one LDAP operation"},
    {"ldap_page_size", CFG_INT, OFF(ldap_page_size), "500", 1, 1000, NULL, false,
     "entries per page of a paged search (AD serves at most 1000)"},
    {"directory_layout", CFG_ENUM, OFF(directory_layout), "openldap", 0, 0, layouts, false,
     "openldap (Stafet's schema) or ad (Active Directory)"},
    {"directory_people_base", CFG_STRING, OFF(directory_people_base), "", 0, 0, NULL, false,
     "search base for people"},
    {"directory_people_filter", CFG_STRING, OFF(directory_people_filter), "", 0, 0, NULL, false,
     "filter for people (default by layout)"},
    {"directory_units_base", CFG_STRING, OFF(directory_units_base), "", 0, 0, NULL, false,
     "search base for units"},
    {"directory_units_filter", CFG_STRING, OFF(directory_units_filter), "", 0, 0, NULL, false,
     "filter for units (default by layout)"},
    {"directory_groups_base", CFG_STRING, OFF(directory_groups_base), "", 0, 0, NULL, false,
     "search base for groups"},
    {"directory_groups_filter", CFG_STRING, OFF(directory_groups_filter), "", 0, 0, NULL, false,
     "filter for groups (default by layout)"},
    {"map_unit", CFG_STRING, OFF(map_unit), "", 0, 0, NULL, false,
     "a person's unit: an attribute holding the unit code, or group:PREFIX (default by layout)"},
    {"map_target_groups", CFG_STRING, OFF(map_target_groups), "", 0, 0, NULL, false,
     "target groups: an attribute, or group:PREFIX for groups named PREFIX<name>"},
    {"map_allocation", CFG_STRING, OFF(map_allocation), "", 0, 0, NULL, false,
     "attribute with allocation rules (kind:value, ';' between rules in one value)"},
    {"map_deputy", CFG_STRING, OFF(map_deputy), "", 0, 0, NULL, false,
     "attribute with the deputy's DN or username"},
    {"map_absent_from", CFG_STRING, OFF(map_absent_from), "", 0, 0, NULL, false,
     "attribute with the start of an absence (GeneralizedTime or YYYY-MM-DD)"},
    {"map_absent_until", CFG_STRING, OFF(map_absent_until), "", 0, 0, NULL, false,
     "attribute with the end of an absence"},
    {"directory_refresh_interval", CFG_DURATION, OFF(directory_refresh_interval), "60s", 0.1, 86400,
     NULL, false, "time between incremental refreshes"},
    {"directory_reconcile_interval", CFG_DURATION, OFF(directory_reconcile_interval), "1h", 1,
     7 * 86400, NULL, false, "time between full reloads (which catch deletions)"},
    {"directory_overlap", CFG_DURATION, OFF(directory_overlap), "5m", 0, 86400, NULL, false,
     "look back this far behind the last change seen, for clock skew and replication lag"},
    {"directory_probe_interval", CFG_DURATION, OFF(directory_probe_interval), "30s", 1, 86400, NULL,
     false, "how often to try to return to a preferred LDAP server"},
    {"directory_snapshot_file", CFG_STRING, OFF(directory_snapshot_file),
     "/var/lib/stafet/directory.json", 0, 0, NULL, false,
     "where the last snapshot is saved, to answer while LDAP is down after a restart"},
    {"directory_anonymous_read", CFG_ENUM, OFF(directory_anonymous_read), "no", 0, 0, no_yes, false,
     "answer directory reads (people, units) without login"},
    {"public_url", CFG_STRING, OFF(public_url), "", 0, 0, NULL, false,
     "the address users reach Stafet at (https://host[:port]); the Origin state-changing "
     "requests must carry"},
    {"http_tls_proxy", CFG_ENUM, OFF(http_tls_proxy), "no", 0, 0, no_yes, false,
     "a TLS-terminating proxy is in front: session cookies are Secure; needs public_url"},
    {"http_hsts", CFG_DURATION, OFF(http_hsts), "365d", 0, 2 * 365 * 86400, NULL, false,
     "max-age of the Strict-Transport-Security header sent with http_tls_proxy = yes; 0: none"},
    {"http_trusted_proxies", CFG_STRING, OFF(http_trusted_proxies), "", 0, 0, NULL, false,
     "proxy addresses (spaces) whose X-Forwarded-For names the client"},
    {"session_idle_timeout", CFG_DURATION, OFF(session_idle_timeout), "30min", 1, 30 * 86400, NULL,
     false, "a session unused this long ends"},
    {"session_cache", CFG_ENUM, OFF(session_cache), "yes", 0, 0, no_yes, true,
     "keep sessions in memory between requests while session ends are announced (LISTEN)"},
    {"session_absolute_timeout", CFG_DURATION, OFF(session_absolute_timeout), "10h", 1, 90 * 86400,
     NULL, false, "a session ends this long after login, used or not"},
    {"role_quality_group", CFG_STRING, OFF(role_quality_group), "", 0, 0, NULL, false,
     "DN of the group whose (nested) members have the quality role"},
    {"role_admin_group", CFG_STRING, OFF(role_admin_group), "", 0, 0, NULL, false,
     "DN of the group whose (nested) members have the admin role"},
    {"login_workers", CFG_INT, OFF(login_workers), "2", 1, 32, NULL, true,
     "threads that bind to LDAP as the users logging in"},
    {"login_queue_max", CFG_INT, OFF(login_queue_max), "64", 1, 100000, NULL, false,
     "logins waiting for a worker before 503"},
    {"login_failure_delay", CFG_DURATION, OFF(login_failure_delay), "300ms", 0, 10, NULL, false,
     "a failed login is answered no sooner than this"},
    {"login_failure_window", CFG_DURATION, OFF(login_failure_window), "15min", 1, 86400, NULL,
     false, "failed logins are counted over this time"},
    {"login_user_max_failures", CFG_INT, OFF(login_user_max_failures), "5", 1, 1000, NULL, false,
     "failures for one username within the window before it is blocked"},
    {"login_user_block", CFG_DURATION, OFF(login_user_block), "1min", 1, 86400, NULL, false,
     "how long a username stays blocked (short: an attacker must not lock users out)"},
    {"login_address_max_failures", CFG_INT, OFF(login_address_max_failures), "20", 1, 100000, NULL,
     false, "failures from one client address within the window before it is blocked"},
    {"login_address_block", CFG_DURATION, OFF(login_address_block), "15min", 1, 86400, NULL, false,
     "how long a client address stays blocked"},
    {"routes_reload_interval", CFG_DURATION, OFF(routes_reload_interval), "10s", 0.1, 86400, NULL,
     false, "how often the routes table is read again (SIGHUP reads it at once)"},
    {"smtp_url", CFG_STRING, OFF(smtp_url), "", 0, 0, NULL, false,
     "the SMTP relay: smtp://host[:port] (STARTTLS per smtp_starttls) or smtps://host[:port]; "
     "empty: alerts wait in the outbox"},
    {"smtp_starttls", CFG_ENUM, OFF(smtp_starttls), "required", 0, 0, starttls_modes, false,
     "STARTTLS on smtp:// (no, optional, required)"},
    {"smtp_ca_file", CFG_STRING, OFF(smtp_ca_file), "", 0, 0, NULL, false,
     "CA certificates that sign the relay's certificate (default: the system's)"},
    {"smtp_username", CFG_STRING, OFF(smtp_username), "", 0, 0, NULL, false,
     "SMTP AUTH user name; empty: no AUTH"},
    {"smtp_password_file", CFG_SECRET_FILE, OFF(smtp_password), "", 0, 0, NULL, false,
     "file holding the SMTP AUTH password"},
    {"smtp_from", CFG_STRING, OFF(smtp_from), "stafet@localhost", 0, 0, NULL, false,
     "the sender address of alerts"},
    {"smtp_timeout", CFG_DURATION, OFF(smtp_timeout), "30s", 0.1, 600, NULL, false,
     "time allowed to connect to the relay and for each mail"},
    {"alert_batch", CFG_INT, OFF(alert_batch), "50", 1, 1000, NULL, false,
     "alerts claimed from the outbox at a time"},
    {"alert_max_attempts", CFG_INT, OFF(alert_max_attempts), "5", 1, 1000, NULL, false,
     "attempts on permanent failures (5xx) before an alert is dead-lettered"},
    {"alert_retry_min", CFG_DURATION, OFF(alert_retry_min), "30s", 0.01, 86400, NULL, false,
     "first wait before a failed alert is tried again (doubling, with jitter)"},
    {"alert_retry_max", CFG_DURATION, OFF(alert_retry_max), "1h", 0.01, 7 * 86400, NULL, false,
     "longest wait between attempts"},
    {"alert_lease", CFG_DURATION, OFF(alert_lease), "5min", 1, 86400, NULL, false,
     "claimed alerts a daemon has not finished by then go to another daemon"},
    {"alert_poll_interval", CFG_DURATION, OFF(alert_poll_interval), "1s", 0.05, 3600, NULL, false,
     "how often the outbox is looked at"},
    {"reminder_interval", CFG_DURATION, OFF(reminder_interval), "5min", 0.1, 86400, NULL, false,
     "how often reminders are looked for"},
    {"reminder_undecided_days", CFG_INT, OFF(reminder_undecided_days), "5", 1, 365, NULL, false,
     "working days a submitted note may wait for a decision (routes may say otherwise)"},
    {"reminder_returned_days", CFG_INT, OFF(reminder_returned_days), "5", 1, 365, NULL, false,
     "working days a returned note may wait to be resubmitted"},
    {"reminder_draft_days", CFG_INT, OFF(reminder_draft_days), "10", 1, 365, NULL, false,
     "working days before the planned date at which a draft is reminded of"},
    {"days_off", CFG_STRING, OFF(days_off), "", 0, 0, NULL, false,
     "days off besides the public holidays: grundlovsdag juleaftensdag nytaarsaftensdag"},
    {"digest_time", CFG_STRING, OFF(digest_time), "07:00", 0, 0, NULL, false,
     "local time (HH:MM) of the daily digest for those who chose one"},
};
#undef OFF

static struct config *current;
static void check_alert_keys(const struct config *, const char *, struct strlist *);

const struct config *
config_current(void)
{
	return current;
}

/* Takes ownership of `cfg`; the previous configuration is freed. */
void
config_set_current(struct config *cfg)
{
	struct config *old = current;
	current = cfg;
	config_free(old);
}

/* Stores a typed value in the key's field (memcpy: no type-punned pointers). */
static void
set_slot(struct config *cfg, const struct cfg_key *k, const void *v, size_t n)
{
	memcpy((char *)cfg + k->offset, v, n);
}

static char **
str_slot(struct config *cfg, const struct cfg_key *k)
{
	return (char **)((char *)cfg + k->offset);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct cfg_key *k = &keys[i];
		if (k->type == CFG_STRING || k->type == CFG_LISTEN || k->type == CFG_SECRET_FILE) {
			char **s = str_slot(cfg, k);
			if (*s && k->type == CFG_SECRET_FILE)
				explicit_wipe(*s, strlen(*s));
			free(*s);
		}
	}
	free(cfg->listen_host);
	free(cfg->path);
	free(cfg);
}

/* "250ms", "10s", "5m", "2h", "1d", or bare seconds. */
int
config_parse_duration(const char *s, double *out)
{
	char *end;
	double v, mult = 1;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1;
	else if (strcmp(end, "ms") == 0)
		mult = 0.001;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else
		return -1;
	*out = v * mult;
	return 0;
}

/* "1048576", "512K", "1M", "1MiB", "2G". */
int
config_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		mult = 1024ULL;
	else if (*end == 'M')
		mult = 1024ULL * 1024;
	else if (*end == 'G')
		mult = 1024ULL * 1024 * 1024;
	else if (*end != '\0' && strcmp(end, "B") != 0)
		return -1;
	if (mult > 1) {
		end++;
		if (*end != '\0' && strcmp(end, "iB") != 0 && strcmp(end, "B") != 0)
			return -1;
	}
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

static int
parse_listen(const char *s, char **host, int *port)
{
	const char *colon;
	char *end;
	long p;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		*host = xstrndup(s + 1, (size_t)(close - s - 1));
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s)
			return -1;
		*host = xstrndup(s, (size_t)(colon - s));
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 0 || p > 65535) {
		free(*host);
		*host = NULL;
		return -1;
	}
	*port = (int)p;
	return 0;
}

/*
 * Reads a secret from a file. The file must not be readable or writable by
 * others; one trailing newline is dropped. Returns NULL with `why` set.
 */
static char *
read_secret_file(const char *path, const char **why)
{
	struct stat st;
	char buf[SECRET_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return NULL;
	}
	if (st.st_mode & S_IRWXO) {
		*why = "readable or writable by others (chmod o-rwx)";
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0) {
		*why = strerror(errno);
		explicit_wipe(buf, sizeof(buf));
		return NULL;
	}
	if (len == sizeof(buf) - 1) {
		*why = "longer than 4096 bytes";
		explicit_wipe(buf, sizeof(buf));
		return NULL;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\n', len) != NULL || len == 0) {
		*why = len == 0 ? "empty" : "more than one line";
		explicit_wipe(buf, sizeof(buf));
		return NULL;
	}
	char *s = xstrndup(buf, len);
	explicit_wipe(buf, sizeof(buf));
	return s;
}

/* Applies one value to the key; on error adds a report naming the line. */
static void
apply(struct config *cfg, const struct cfg_key *k, const char *v, const char *file, int line,
      struct strlist *errors)
{
	double d;
	size_t sz;
	long l;
	char *end;
	const char *why = NULL;

	switch (k->type) {
	case CFG_STRING: {
		char **s = str_slot(cfg, k);
		free(*s);
		*s = xstrdup(v);
		return;
	}
	case CFG_LISTEN: {
		char *host = NULL;
		int port;
		if (parse_listen(v, &host, &port) == -1) {
			strlist_add(errors, "%s:%d: %s: '%s' is not host:port", file, line, k->name,
			            v);
			return;
		}
		free(cfg->listen);
		free(cfg->listen_host);
		cfg->listen = xstrdup(v);
		cfg->listen_host = host;
		cfg->listen_port = port;
		return;
	}
	case CFG_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno || *end || end == v || l < k->min || l > k->max) {
			strlist_add(errors,
			            "%s:%d: %s: '%s' is not a whole number from %.0f to %.0f", file,
			            line, k->name, v, k->min, k->max);
			return;
		}
		set_slot(cfg, k, &(int){(int)l}, sizeof(int));
		return;
	case CFG_SIZE:
		if (config_parse_size(v, &sz) == -1 || sz < k->min || sz > k->max) {
			strlist_add(
			    errors,
			    "%s:%d: %s: '%s' is not a size from %.0f to %.0f bytes (e.g. 1M)", file,
			    line, k->name, v, k->min, k->max);
			return;
		}
		set_slot(cfg, k, &sz, sizeof(sz));
		return;
	case CFG_DURATION:
		if (config_parse_duration(v, &d) == -1 || d < k->min || d > k->max) {
			strlist_add(errors,
			            "%s:%d: %s: '%s' is not a duration from %gs to %gs (e.g. 10s)",
			            file, line, k->name, v, k->min, k->max);
			return;
		}
		set_slot(cfg, k, &d, sizeof(d));
		return;
	case CFG_ENUM:
		for (int i = 0; k->choices[i]; i++) {
			if (strcmp(k->choices[i], v) == 0) {
				set_slot(cfg, k, &i, sizeof(i));
				return;
			}
		}
		strlist_add(errors, "%s:%d: %s: '%s' is not one of the allowed values", file, line,
		            k->name, v);
		return;
	case CFG_SECRET_FILE: {
		char **s = str_slot(cfg, k);
		char *secret;
		if (*v == '\0') {
			free(*s);
			*s = NULL;
			return;
		}
		if ((secret = read_secret_file(v, &why)) == NULL) {
			strlist_add(errors, "%s:%d: %s: %s: %s", file, line, k->name, v, why);
			return;
		}
		if (*s) {
			explicit_wipe(*s, strlen(*s));
			free(*s);
		}
		*s = secret;
		return;
	}
	}
}

struct config *
config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct strlist errors = {0};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		apply(cfg, &keys[i], keys[i].def, "(defaults)", 0, &errors);
	if (errors.n)
		fatalx("built-in default is invalid: %s", errors.v[0]);
	return cfg;
}

static char *
trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Unquotes a "double-quoted" value in place, with \" and \\ escapes. */
static int
unquote(char *v)
{
	size_t n = strlen(v);
	char *w = v;

	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return -1;
	v[n - 1] = '\0';
	for (char *r = v + 1; *r; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		else if (*r == '"')
			return -1;
		*w++ = *r;
	}
	*w = '\0';
	return 0;
}

/* key=value form ("password=..."), or URI form ("postgresql://user:pw@host"). */
static bool
conninfo_has_password(const char *ci)
{
	const char *scheme = strstr(ci, "://"), *at, *colon;

	if (strstr(ci, "password") != NULL)
		return true;
	if (scheme == NULL)
		return false;
	scheme += 3;
	at = strchr(scheme, '@');
	colon = strchr(scheme, ':');
	return at != NULL && colon != NULL && colon < at;
}

/* A conninfo carrying a password must live in a file nobody else reads. */
static void
check_file_secrecy(const struct config *cfg, int fd, const char *path, struct strlist *errors)
{
	struct stat st;

	if (cfg->db_conninfo && conninfo_has_password(cfg->db_conninfo) && fstat(fd, &st) == 0 &&
	    (st.st_mode & S_IROTH))
		strlist_add(errors,
		            "%s: holds a password (db_conninfo) but is readable by others; use "
		            "db_password_file or chmod o-r",
		            path);
}

/*
 * Loads and checks a whole file. Returns a new config (caller frees), or NULL
 * with every problem found added to `errors`.
 */
/* Checks of values only a module can judge (an LDAP URI list), given by the
 * wiring (app/modules.c): the engine names no module. */
static const struct config_check *checks;
static size_t nchecks;

void
config_set_checks(const struct config_check *v, size_t n)
{
	checks = v;
	nchecks = n;
}

/* The value of a string key, or NULL for an unknown or other key. */
static const char *
config_string(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0 && keys[i].type == CFG_STRING)
			return *(char *const *)(const void *)((const char *)cfg + keys[i].offset);
	return NULL;
}

struct config *
config_load(const char *path, struct strlist *errors)
{
	struct config *cfg = config_defaults();
	char line[CONFIG_MAX_LINE + 2];
	bool seen[sizeof(keys) / sizeof(keys[0])] = {0};
	size_t before = errors->n;
	FILE *f;
	int lineno = 0;

	if ((f = fopen(path, "re")) == NULL) {
		strlist_add(errors, "%s: %s", path, strerror(errno));
		config_free(cfg);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *eq, *key, *val;
		size_t i;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			int c;
			strlist_add(errors, "%s:%d: line longer than %d bytes", path, lineno,
			            CONFIG_MAX_LINE);
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			strlist_add(errors, "%s:%d: expected 'key = value'", path, lineno);
			continue;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (unquote(val) == -1) {
			strlist_add(errors, "%s:%d: %s: unbalanced quotes", path, lineno, key);
			continue;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(keys[i].name, key) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			strlist_add(errors, "%s:%d: unknown key '%s'", path, lineno, key);
			continue;
		}
		if (seen[i])
			strlist_add(errors, "%s:%d: %s: set more than once", path, lineno, key);
		seen[i] = true;
		apply(cfg, &keys[i], val, path, lineno, errors);
	}
	if (ferror(f))
		strlist_add(errors, "%s: read error", path);
	check_file_secrecy(cfg, fileno(f), path, errors);
	fclose(f);
	const char *why = NULL;
	for (size_t c = 0; c < nchecks; c++) {
		const char *v = config_string(cfg, checks[c].key);
		if (v && *v && checks[c].check(v, &why) == -1)
			strlist_add(errors, "%s: %s: %s", path, checks[c].key, why);
	}
	if (*cfg->ldap_uri && !*cfg->directory_people_base)
		strlist_add(errors, "%s: ldap_uri is set but directory_people_base is not", path);
	if (*cfg->public_url && net_parse_origin(cfg->public_url, NULL, 0) == -1)
		strlist_add(errors,
		            "%s: public_url: '%s' is not http(s)://host[:port] without a path",
		            path, cfg->public_url);
	/* Behind a TLS proxy the origin is the operator's word, not a Host header's. */
	if (cfg->http_tls_proxy && !*cfg->public_url)
		strlist_add(errors,
		            "%s: http_tls_proxy = yes needs public_url (the https:// address users "
		            "reach Stafet at): without it the Origin check would trust the Host "
		            "header",
		            path);
	if (*cfg->http_trusted_proxies &&
	    net_check_addresses(cfg->http_trusted_proxies, &why) == -1)
		strlist_add(errors, "%s: http_trusted_proxies: %s", path, why);
	if (*cfg->role_quality_group && strchr(cfg->role_quality_group, '=') == NULL)
		strlist_add(errors, "%s: role_quality_group: '%s' is not a DN", path,
		            cfg->role_quality_group);
	if (*cfg->role_admin_group && strchr(cfg->role_admin_group, '=') == NULL)
		strlist_add(errors, "%s: role_admin_group: '%s' is not a DN", path,
		            cfg->role_admin_group);
	if (cfg->db_pool_size > cfg->db_queue_max)
		strlist_add(errors, "%s: db_queue_max must be at least db_pool_size", path);
	check_alert_keys(cfg, path, errors);
	if (errors->n > before) {
		config_free(cfg);
		return NULL;
	}
	cfg->path = xstrdup(path);
	return cfg;
}

/* The optional days off of `days_off` as HO_OFF_* bits; -1 on an unknown word. */
int
config_days_off(const char *list, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} days[] = {
	    {"grundlovsdag", 1u << 0}, {"juleaftensdag", 1u << 1}, {"nytaarsaftensdag", 1u << 2}};
	char word[32];
	*out = 0;
	while (list && *list) {
		size_t n = strcspn(list, " ,\t");
		bool ok = false;
		if (n > 0) {
			if (n >= sizeof(word))
				return -1;
			memcpy(word, list, n);
			word[n] = '\0';
			for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++)
				if (strcmp(word, days[i].name) == 0) {
					*out |= days[i].bit;
					ok = true;
				}
			if (!ok)
				return -1;
		}
		list += n;
		list += strspn(list, " ,\t");
	}
	return 0;
}

static void
check_alert_keys(const struct config *cfg, const char *path, struct strlist *errors)
{
	unsigned off;
	int hh, mm;
	char tail;

	if (*cfg->smtp_url && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
	    strncmp(cfg->smtp_url, "smtps://", 8) != 0)
		strlist_add(errors,
		            "%s: smtp_url: '%s' is not smtp://host[:port] or smtps://host[:port]",
		            path, cfg->smtp_url);
	if (cfg->smtp_password && *cfg->smtp_password && !*cfg->smtp_username)
		strlist_add(errors, "%s: smtp_password_file is set but smtp_username is not", path);
	if (strchr(cfg->smtp_from, '@') == NULL || strpbrk(cfg->smtp_from, "<>\r\n ,;") != NULL)
		strlist_add(errors, "%s: smtp_from: '%s' is not a plain address (user@host)", path,
		            cfg->smtp_from);
	if (cfg->alert_retry_min > cfg->alert_retry_max)
		strlist_add(errors, "%s: alert_retry_min must not exceed alert_retry_max", path);
	if (config_days_off(cfg->days_off, &off) == -1)
		strlist_add(
		    errors,
		    "%s: days_off: only grundlovsdag, juleaftensdag and nytaarsaftensdag may be "
		    "named",
		    path);
	if (strlen(cfg->digest_time) != 5 || !isdigit((unsigned char)cfg->digest_time[0]) ||
	    !isdigit((unsigned char)cfg->digest_time[1]) || cfg->digest_time[2] != ':' ||
	    !isdigit((unsigned char)cfg->digest_time[3]) ||
	    !isdigit((unsigned char)cfg->digest_time[4]) ||
	    sscanf(cfg->digest_time, "%2d:%2d%c", &hh, &mm, &tail) != 2 || hh > 23 || mm > 59)
		strlist_add(errors, "%s: digest_time: '%s' is not HH:MM", path, cfg->digest_time);
}

/* Lists the keys with their defaults, for --config-keys. */
void
config_print_keys(void)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf("%-22s %-16s %s%s\n", keys[i].name, *keys[i].def ? keys[i].def : "(none)",
		       keys[i].help, keys[i].restart ? " [restart]" : "");
}

/* Names the keys whose change a reload cannot apply. */
void
config_report_restart_keys(const struct config *old, const struct config *new)
{
	if (strcmp(old->listen, new->listen) != 0)
		log_warnx("config: listen changed to %s; takes effect at restart", new->listen);
	if (old->login_workers != new->login_workers)
		log_warnx("config: login_workers changed to %d; takes effect at restart",
		          new->login_workers);
}
