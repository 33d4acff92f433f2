/*
 * resolve_bench.c: the counterpart walk alone, without HTTP: CPU time per
 * lookup (CLOCK_THREAD_CPUTIME_ID) of dir_resolution_begin, _wants and
 * _render against a directory snapshot file (the directory_snapshot_file a
 * running stafetd writes, e.g. one of bench/growth_bench.py's), for the
 * request bodies of bench/directory_bench.py (one JSON body a line, as
 * bench/counterparts.lua sends them), with the shipped routes
 * (schema/routes/*.json). No tie data is given (no PostgreSQL): the steps
 * that need it are passed over, rotation decides, as with an empty
 * database. Prints one line: lookups, µs per lookup (the best and the
 * median of the passes), people. With COLD set in the environment, 64 MB
 * are read between two lookups (not timed): every lookup starts with cold
 * caches, as in the daemon, where HTTP, JSON and the other threads run
 * between two lookups.
 *
 * Build (after `make unit`, which makes the layer archives):
 *   cc -std=c11 -D_GNU_SOURCE -O2 -g -Idaemon -Idirectory -Iauth -Ihandover \
 *      -Iapi -Iapp -Ibuild/gen $(pkg-config --cflags jansson libevent libpq) \
 *      bench/resolve_bench.c build/unit/libhandover.a build/unit/libauth.a \
 *      build/unit/libdirectory.a build/unit/libdaemon.a \
 *      $(pkg-config --libs libevent jansson ldap libpq libcurl libcrypto) \
 *      -lm -pthread -o build/resolve_bench
 * Run: build/resolve_bench SNAPSHOT.json BODIES.txt [PASSES]
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"
#include "handover.h"

#define FLUSH_BYTES (64u << 20)

struct lookup {
	struct resolve_route rr;
	struct resolve_facts f;
	char *surname, *district, *target_group, *kle;
};

static double
thread_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static char *
dup_of(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? xstrdup(s) : NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct ho_route routes[16];
	struct lookup ls[4096];
	size_t nroutes = 0, nl = 0;
	int passes = argc > 3 ? atoi(argv[3]) : 20;
	struct dir_records rec = {0};
	struct dir_snapshot *s;
	json_error_t err;
	json_t *doc;
	glob_t g;
	FILE *fp;
	char line[4096];
	double *per = NULL;
	struct evbuffer *b = evbuffer_new();
	bool cold = getenv("COLD") != NULL;
	unsigned char *flush = NULL;
	volatile unsigned sink = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SNAPSHOT.json BODIES.txt [PASSES]\n", argv[0]);
		return 2;
	}
	if ((doc = json_load_file(argv[1], 0, &err)) == NULL ||
	    dir_records_from_json(doc, &rec) != 0) {
		fprintf(stderr, "%s: cannot read: %s\n", argv[1], err.text);
		return 1;
	}
	json_decref(doc);
	s = dir_snapshot_build(&rec, 1);
	dir_records_free(&rec);
	if (glob("schema/routes/*.json", 0, NULL, &g) != 0)
		return 1;
	for (size_t i = 0; i < g.gl_pathc && nroutes < 16; i++) {
		char e[256];
		json_t *r = json_load_file(g.gl_pathv[i], 0, &err);
		if (r && routes_from_json(r, &routes[nroutes], e, sizeof(e)) == 0)
			nroutes++;
		json_decref(r);
	}
	globfree(&g);
	if ((fp = fopen(argv[2], "r")) == NULL)
		return 1;
	while (fgets(line, sizeof(line), fp) && nl < 4096) {
		json_t *body = json_loads(line, 0, &err), *c;
		struct lookup *l = &ls[nl];
		const char *code, *v;
		size_t r;

		if (body == NULL)
			continue;
		code = json_string_value(json_object_get(body, "route"));
		for (r = 0; r < nroutes; r++)
			if (code && strcmp(routes[r].code, code) == 0)
				break;
		if (r == nroutes) {
			json_decref(body);
			continue;
		}
		memset(l, 0, sizeof(*l));
		routes_resolve_view(&routes[r], &l->rr);
		c = json_object_get(body, "citizen");
		l->f.placed = -1;
		l->f.caller = DIR_NONE;
		snprintf(l->f.date, sizeof(l->f.date), "%s",
		         json_string_value(json_object_get(body, "date")));
		if ((v = json_string_value(json_object_get(c, "birthdate"))) != NULL)
			snprintf(l->f.birthdate, sizeof(l->f.birthdate), "%s", v);
		if ((v = json_string_value(json_object_get(c, "cpr"))) != NULL) {
			const char *why;
			if (dir_citizen_birthdate(v, strlen(v), l->f.birthdate, &why) == 0) {
				l->f.from_cpr = true;
				l->f.citizen_seed = dir_rules_id_hash(v) | 1;
			}
		}
		l->f.surname = l->surname = dup_of(c, "surname");
		l->f.district = l->district = dup_of(c, "district");
		l->f.target_group = l->target_group = dup_of(c, "target_group");
		l->f.kle = l->kle = dup_of(body, "kle");
		if (json_object_get(c, "placed"))
			l->f.placed = json_is_true(json_object_get(c, "placed"));
		if ((v = json_string_value(json_object_get(c, "employment_status"))) != NULL)
			l->f.employment = dir_citizen_employment_parse(v);
		json_decref(body);
		nl++;
	}
	fclose(fp);
	per = xcalloc((size_t)passes + 1, sizeof(*per));
	if (cold) {
		flush = xmalloc(FLUSH_BYTES);
		memset(flush, 1, FLUSH_BYTES);
	}
	for (int p = 0; p <= passes; p++) { /* pass 0: warm-up (the rules compiled) */
		double t = 0, t0 = thread_us();
		for (int rep = 0; rep < 20; rep++)
			for (size_t i = 0; i < nl; i++) {
				json_t *problem = NULL;
				const char *ids[32];
				struct dir_resolution *res;

				if (cold) {
					t += thread_us() - t0;
					for (size_t k = 0; k < FLUSH_BYTES; k += 64)
						sink += flush[k];
					t0 = thread_us();
				}
				res = dir_resolution_begin(s, &ls[i].rr, &ls[i].f, &problem);
				if (res == NULL) {
					json_decref(problem);
					continue;
				}
				(void)dir_resolution_wants(res, ids, 32);
				dir_resolution_data(res, false, false);
				dir_resolution_render(res, json_object(), b);
				evbuffer_drain(b, evbuffer_get_length(b));
			}
		t += thread_us() - t0;
		per[p] = t / (20.0 * (double)nl);
	}
	free(flush);
	qsort(per + 1, (size_t)passes, sizeof(*per), cmp_double);
	printf("resolve_bench: %zu lookups x 20 x %d passes, %zu people%s: best %.1f us, median "
	       "%.1f us per lookup\n",
	       nl, passes, s->npersons, cold ? ", cold caches" : "", per[1], per[1 + passes / 2]);
	(void)sink;
	free(per);
	evbuffer_free(b);
	dir_snapshot_unref(s);
	for (size_t i = 0; i < nl; i++) {
		free(ls[i].surname);
		free(ls[i].district);
		free(ls[i].target_group);
		free(ls[i].kle);
	}
	for (size_t r = 0; r < nroutes; r++)
		routes_clear(&routes[r]);
	return 0;
}
