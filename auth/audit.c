/*
 * audit.c: the audit log: who did what, when, from where, to which object.
 *
 * Rows go to PostgreSQL's audit_log, which the schema makes append-only.
 * audit_record() is for events that stand alone (logins, logouts); a change
 * that must not happen unrecorded writes its row in the same statement or
 * transaction as the change itself. Admins read the log through
 * GET /api/v1/audit (api/audit.c), and that reading is recorded too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "auth.h"

static void
record_done(PGresult *res, const char *error, void *arg)
{
	char *action = arg;
	(void)res;
	if (error) {
		metrics_count("audit_write_errors_total");
		log_warnx("audit: could not record %s: %s", action, error);
	}
	free(action);
}

/* Records one event; every argument but `action` may be NULL. Nothing is kept. */
void
audit_record(const struct http_request *req, const char *actor_id, const char *actor_username,
             const char *action, const char *object_type, const char *object_id, const char *detail)
{
	const char *p[7] = {actor_id, actor_username, req && *req->client ? req->client : NULL,
	                    action,   object_type,    object_id,
	                    detail};
	char *tag = xstrdup(action);

	if (db_query("INSERT INTO audit_log (actor_id, actor_username, address, action, "
	             "object_type, object_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	             7, p, record_done, tag) == -1) {
		metrics_count("audit_write_errors_total");
		log_warnx("audit: could not record %s: database unavailable", action);
		free(tag);
	}
}
