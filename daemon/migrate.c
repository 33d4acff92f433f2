/*
 * migrate.c: the SQL migrations, applied by `stafetd --migrate`.
 *
 * The migrations are compiled in (scripts/embed.sh), so a binary always
 * knows exactly which schema it was built for. Each one runs in its own
 * transaction together with its ledger row; an advisory lock keeps two
 * migrators from racing. This runs before any event loop exists, so plain
 * blocking libpq is right here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"

/* Arbitrary, fixed: the advisory lock all stafetd migrators share. */
#define MIGRATE_LOCK_KEY "7301460329"

int
migrate_latest(void)
{
	return migrations_count ? migrations[migrations_count - 1].version : 0;
}

static const struct migrate_seed *seeds;
static size_t nseeds;

void
migrate_set_seeds(const struct migrate_seed *v, size_t n)
{
	seeds = v;
	nseeds = n;
}

static void
one_line(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

/* Runs a statement; on failure says why and returns -1. */
static int
exec_ok(PGconn *pg, const char *sql, int n, const char *const *params, const char *what)
{
	PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char *msg = xstrdup(PQresultErrorMessage(r));
		one_line(msg);
		log_errx("migrate: %s: %s", what, msg);
		free(msg);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/* The schema version in the database; 0 for an empty one, -1 on error. */
static int
current_version(PGconn *pg)
{
	PGresult *r = PQexec(pg, "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL "
	                         "THEN -1 ELSE 0 END");
	int v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v == -1)
		return 0;
	r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* Warns about applied migrations whose text has changed since. */
static void
verify_checksums(PGconn *pg, int upto)
{
	for (size_t i = 0; i < migrations_count && migrations[i].version <= upto; i++) {
		char ver[16];
		const char *p[2] = {ver, migrations[i].sql};
		snprintf(ver, sizeof(ver), "%d", migrations[i].version);
		PGresult *r = PQexecParams(pg,
		                           "SELECT 1 FROM schema_migrations WHERE version = $1 "
		                           "AND checksum <> md5($2)",
		                           2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
			log_warnx("migrate: %04d_%s was changed after it was applied",
			          migrations[i].version, migrations[i].name);
		PQclear(r);
	}
}

static int
apply_one(PGconn *pg, const struct migration *m)
{
	char ver[16], what[128];
	const char *p[3] = {ver, m->name, m->sql};
	PGresult *r;

	snprintf(ver, sizeof(ver), "%d", m->version);
	snprintf(what, sizeof(what), "%04d_%s", m->version, m->name);
	if (exec_ok(pg, "BEGIN", 0, NULL, what) == -1)
		return -1;
	/* PQexec: a migration file may hold several statements. */
	r = PQexec(pg, m->sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		char *msg = xstrdup(PQresultErrorMessage(r));
		one_line(msg);
		log_errx("migrate: %s: %s", what, msg);
		free(msg);
		PQclear(r);
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	/* What the migration made is filled with what ships (the seeds the
	 * wiring gives, app/modules.c), in the same transaction. */
	for (size_t i = 0; i < nseeds; i++)
		if (seeds[i].version == m->version && seeds[i].seed(pg) == -1) {
			PQclear(PQexec(pg, "ROLLBACK"));
			return -1;
		}
	if (exec_ok(
	        pg,
	        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, md5($3))",
	        3, p, what) == -1 ||
	    exec_ok(pg, "COMMIT", 0, NULL, what) == -1) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	log_notice("migrate: applied %s", what);
	return 0;
}

/* Brings the database to the latest schema. Returns 0, or -1 said why. */
int
migrate_run(const struct config *cfg)
{
	PGconn *pg = db_connect_blocking(cfg);
	int version, applied = 0, rc = -1;

	if (PQstatus(pg) != CONNECTION_OK) {
		char *msg = xstrdup(PQerrorMessage(pg));
		one_line(msg);
		log_errx("migrate: cannot connect to the database: %s", msg);
		free(msg);
		PQfinish(pg);
		return -1;
	}
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, "lock") == -1)
		goto out;
	if ((version = current_version(pg)) < 0) {
		log_errx("migrate: cannot read the schema version: %s", PQerrorMessage(pg));
		goto out;
	}
	if (version > migrate_latest()) {
		log_errx(
		    "migrate: database schema version %d is newer than this stafetd knows (%d); "
		    "upgrade stafetd",
		    version, migrate_latest());
		goto out;
	}
	verify_checksums(pg, version);
	for (size_t i = 0; i < migrations_count; i++) {
		if (migrations[i].version <= version)
			continue;
		if (apply_one(pg, &migrations[i]) == -1)
			goto out;
		applied++;
	}
	/* Seeds that grow (template versions shipped since their migration
	 * ran) go in now; what is stored is never changed. */
	for (size_t i = 0; i < nseeds; i++)
		if (seeds[i].every_run && version >= seeds[i].version && seeds[i].seed(pg) == -1)
			goto out;
	printf("schema at version %d (%d migration%s applied)\n", migrate_latest(), applied,
	       applied == 1 ? "" : "s");
	rc = 0;
out:
	PQfinish(pg);
	return rc;
}

/*
 * At start: refuse a schema newer than this binary. An unreachable database
 * is not fatal; the pool keeps trying and /readyz says why.
 */
int
migrate_check_startup(const struct config *cfg)
{
	PGconn *pg = db_connect_blocking(cfg);
	int version, rc = 0;

	if (PQstatus(pg) != CONNECTION_OK) {
		char *msg = xstrdup(PQerrorMessage(pg));
		one_line(msg);
		log_warnx("db: not reachable at start (%s); will keep trying", msg);
		free(msg);
		PQfinish(pg);
		return 0;
	}
	version = current_version(pg);
	if (version > migrate_latest()) {
		log_errx("db: database schema version %d is newer than this stafetd knows (%d); "
		         "refusing to start: upgrade stafetd",
		         version, migrate_latest());
		rc = -1;
	} else if (version >= 0 && version < migrate_latest()) {
		log_warnx("db: database schema version %d, stafetd needs %d: run stafetd --migrate",
		          version, migrate_latest());
	}
	PQfinish(pg);
	return rc;
}
