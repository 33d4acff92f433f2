/*
 * db_conn.c: how stafetd connects to PostgreSQL, whoever connects: the libpq
 * parameters a configuration gives, the connection's notices into the log,
 * and the blocking connection of the one-shot commands. The pool (db.c),
 * the migrations (migrate.c) and the session cache use it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"

/* libpq's notices and the server's asynchronous messages (a "FATAL:
 * terminating connection" when PostgreSQL stops) go to our log with a
 * level, not raw to stderr. */
static void
db_notice(void *arg, const char *message)
{
	char line[1024];
	size_t n;

	snprintf(line, sizeof(line), "%s", message ? message : "");
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	log_notice("%s: postgresql says: %s", (const char *)arg, line);
}

void
db_notices_to_log(PGconn *pg, const char *who)
{
	if (pg)
		PQsetNoticeProcessor(pg, db_notice, (void *)(uintptr_t)who);
}

/* Frees keyword arrays from db_conn_params(), wiping the password. */
void
db_conn_params_free(char **kw, char **val)
{
	if (kw == NULL)
		return;
	for (int i = 0; kw[i]; i++) {
		if (strcmp(kw[i], "password") == 0)
			explicit_wipe(val[i], strlen(val[i]));
		free(kw[i]);
		free(val[i]);
	}
	free(kw);
	free(val);
}

/*
 * The libpq keyword arrays for a configuration: the conninfo string expanded
 * as dbname, then the password from its file, then our defaults.
 */
void
db_conn_params(const struct config *cfg, char ***kw, char ***val)
{
	char **k = xcalloc(6, sizeof(char *)), **v = xcalloc(6, sizeof(char *));
	int n = 0;
	char buf[32];

	k[n] = xstrdup("dbname");
	v[n++] = xstrdup(cfg->db_conninfo);
	if (cfg->db_password) {
		k[n] = xstrdup("password");
		v[n++] = xstrdup(cfg->db_password);
	}
	snprintf(buf, sizeof(buf), "%d", (int)ceil(cfg->db_connect_timeout));
	k[n] = xstrdup("connect_timeout");
	v[n++] = xstrdup(buf);
	k[n] = xstrdup("fallback_application_name");
	v[n++] = xstrdup("stafetd");
	*kw = k;
	*val = v;
}

/* A blocking connection for the one-shot commands (--migrate,
 * --import-routes, ...) that run before any loop; check its status. */
PGconn *
db_connect_blocking(const struct config *cfg)
{
	char **kw, **val;
	PGconn *pg;

	db_conn_params(cfg, &kw, &val);
	pg = PQconnectdbParams((const char *const *)kw, (const char *const *)val, 1);
	db_conn_params_free(kw, val);
	db_notices_to_log(pg, "migrate");
	return pg;
}
