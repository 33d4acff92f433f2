/*
 * reports_cache.c: the quality reports reports.c computed lately, kept so
 * that a dashboard read again while no note changed costs one statement
 * (report_version(), migration 0016) instead of report_quality() and the
 * parsing of its arrays.
 *
 * An entry is the report as report_build() left it (every form is rendered
 * from it, names read at render time; rendering sorts and merges its
 * distributions in place, which a second time changes nothing) and, once
 * asked for, its JSON text, under the request's key (range, route, days
 * off, the reader's scope: see reports.c) and the figures' version read
 * before report_quality() ran. It is served only to a request whose
 * version read equals it: the version changes with every change the report
 * could see and never comes back, so an entry holds the state of its
 * version or a newer one, never an older. At most ENTRIES_MAX entries of
 * at most ENTRY_BYTES_MAX each, the least recently used one dropped first.
 * The request thread only: the handlers and the pool's callbacks run on
 * the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "reports_int.h"

#define ENTRIES_MAX     32
#define KEY_BYTES_MAX   (64 * 1024)
#define ENTRY_BYTES_MAX (1024 * 1024)

struct entry {
	char *key; /* owned; NULL for a free slot */
	struct report_version version;
	unsigned long long used; /* the tick of its last use */
	struct report_cached c;
};

static struct entry entries[ENTRIES_MAX];
static unsigned long long tick;
static bool stopped;

static void
entry_clear(struct entry *e)
{
	free(e->key);
	reports_free(&e->c.r);
	free(e->c.json);
	memset(e, 0, sizeof(*e));
}

/* What an entry holds, roughly, in bytes. */
static size_t
report_bytes(const struct report *r)
{
	size_t n = r->n * sizeof(*r->v);

	for (size_t i = 0; i < r->n; i++) {
		const struct group *g = &r->v[i];
		n += strlen(g->period) + strlen(g->route) + 2;
		n += (g->ndaysv + g->nleadv) * sizeof(struct hist);
		for (size_t t = 0; t < g->ntop; t++)
			n += strlen(g->top[t].section) + 1;
	}
	return n;
}

/* a is newer than b: the generation only grows, and the deltas within one */
static bool
newer(const struct report_version *a, const struct report_version *b)
{
	return a->generation != b->generation ? a->generation > b->generation
	                                      : a->deltas > b->deltas;
}

struct report_cached *
reports_cache_find(const char *key, const struct report_version *v)
{
	for (size_t i = 0; i < ENTRIES_MAX; i++) {
		struct entry *e = &entries[i];
		if (e->key && e->version.generation == v->generation &&
		    e->version.deltas == v->deltas && strcmp(e->key, key) == 0) {
			e->used = ++tick;
			return &e->c;
		}
	}
	return NULL;
}

struct report_cached *
reports_cache_put(const char *key, const struct report_version *v, struct report *r, long notes)
{
	struct entry *e = NULL;
	size_t klen = strlen(key);

	if (stopped || klen > KEY_BYTES_MAX ||
	    report_bytes(r) + klen + sizeof(struct entry) > ENTRY_BYTES_MAX)
		return NULL;
	for (size_t i = 0; i < ENTRIES_MAX; i++)
		if (entries[i].key && strcmp(entries[i].key, key) == 0) {
			e = &entries[i];
			break;
		}
	if (e) {
		/* a slower request's older answer does not replace a newer one */
		if (!newer(v, &e->version))
			return NULL;
	} else {
		for (size_t i = 0; i < ENTRIES_MAX; i++)
			if (e == NULL || entries[i].key == NULL || entries[i].used < e->used) {
				e = &entries[i];
				if (e->key == NULL)
					break;
			}
	}
	entry_clear(e);
	e->key = xstrdup(key);
	e->version = *v;
	e->used = ++tick;
	e->c.r = *r;
	e->c.notes = notes;
	memset(r, 0, sizeof(*r));
	return &e->c;
}

void
reports_cache_stop(void)
{
	stopped = true;
	for (size_t i = 0; i < ENTRIES_MAX; i++)
		entry_clear(&entries[i]);
}
