/*
 * people.c: the directory endpoints of API.md: people (search and one), units
 * (the tree and one with its members). They read the loop's current
 * snapshot only, never LDAP, and say how old it is and whether it is stale.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "api.h"

#define QUERY_MAX    (16 * 1024) /* a 10 KiB search term still gets an answer */
#define LIST_DEFAULT 50
#define LIST_MAX     500

/* The snapshot to answer from, or NULL after answering 503/404 already. */
const struct dir_snapshot *
answer_snapshot_or_fail(struct http_request *req)
{
	const struct dir_snapshot *s = dir_sync_current();

	if (!dir_sync_configured()) {
		http_problem(req, 503, "Directory not configured",
		             "Der er ikke konfigureret et LDAP-katalog.");
		return NULL;
	}
	if (s == NULL) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, "Directory not loaded yet",
		             "Kataloget er ikke hentet endnu. Prøv igen om lidt.");
		return NULL;
	}
	return s;
}

static bool
param_limit(struct http_request *req, size_t *limit)
{
	char buf[16];
	const char *v = http_query_param(req, "limit", buf, sizeof(buf));
	char *end;
	long l;

	*limit = LIST_DEFAULT;
	if (v == NULL && http_query_has(req, "limit")) {
		http_bad_param(req, "limit", "Skal være et tal fra 1 til 500.");
		return false;
	}
	if (v == NULL)
		return true;
	l = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || l < 1 || l > LIST_MAX) {
		http_bad_param(req, "limit", "Skal være et tal fra 1 til 500.");
		return false;
	}
	*limit = (size_t)l;
	return true;
}

/* A parameter that may be long or hostile: too long or not UTF-8 is a 400. */
static bool
param_text(struct http_request *req, const char *name, char *buf, size_t bufsz, const char **out)
{
	*out = http_query_param(req, name, buf, bufsz);
	if (*out == NULL && http_query_has(req, name)) {
		http_bad_param(req, name, "Værdien er for lang eller ikke gyldig tekst.");
		return false;
	}
	if (*out && **out == '\0')
		*out = NULL;
	return true;
}

void
api_people_list(struct http_request *req)
{
	static const char *const allowed[] = {"q",     "unit",   "department", "target_group",
	                                      "limit", "cursor", NULL};
	char qbuf[QUERY_MAX], ubuf[64], dbuf[64], tbuf[128], cbuf[256];
	const char *q, *unit, *dep, *tg, *cursor;
	const struct dir_snapshot *s;
	struct dir_query dq;
	size_t limit;
	int *out, n;
	char *next = NULL;
	json_t *items;

	if (!http_query_check(req, allowed) || !param_limit(req, &limit) ||
	    !param_text(req, "q", qbuf, sizeof(qbuf), &q) ||
	    !param_text(req, "unit", ubuf, sizeof(ubuf), &unit) ||
	    !param_text(req, "department", dbuf, sizeof(dbuf), &dep) ||
	    !param_text(req, "target_group", tbuf, sizeof(tbuf), &tg) ||
	    !param_text(req, "cursor", cbuf, sizeof(cbuf), &cursor))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	memset(&dq, 0, sizeof(dq));
	dq.q = q;
	dq.unit = DIR_NONE;
	dq.department = dep;
	dq.target_group = tg;
	dq.limit = limit;
	dq.cursor = cursor;
	items = json_array();
	if (unit && (dq.unit = dir_lookup_unit(s, unit)) == DIR_NONE) {
		/* An unknown unit matches nobody; it is not an error to ask. */
		http_respond_json(req, 200,
		                  json_pack("{s:o, s:n, s:o}", "items", items, "next_cursor",
		                            "directory", dir_sync_info()));
		return;
	}
	out = xmalloc(limit * sizeof(int));
	n = dir_index_search(s, &dq, out, &next);
	if (n < 0) {
		free(out);
		json_decref(items);
		http_bad_param(req, "cursor", "Ugyldig fortsættelse; start forfra.");
		return;
	}
	json_decref(items);
	struct evbuffer *b = evbuffer_new();
	char now[11];
	clock_today(now);
	evbuffer_add(b, "{\"items\":[", 10);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(b, ",", 1);
		dir_render_person_append(b, &s->persons[out[i]], now);
	}
	free(out);
	/* the cursor is made of [0-9a-f.] only: nothing to escape */
	if (next)
		evbuffer_add_printf(b, "],\"next_cursor\":\"%s\",\"directory\":", next);
	else
		evbuffer_add_printf(b, "],\"next_cursor\":null,\"directory\":");
	json_t *info = dir_sync_info();
	char *info_text = json_dump_compact(info);
	json_decref(info);
	evbuffer_add_printf(b, "%s}", info_text);
	free(info_text);
	free(next);
	http_respond_buffer(req, 200, "application/json", b);
	evbuffer_free(b);
}

static const char *const no_params[] = {NULL};

/* The last path segment, decoded: /api/v1/people/{id} */
static const char *
last_segment(const struct http_request *req)
{
	const char *slash = strrchr(req->head.path, '/');
	return slash ? slash + 1 : "";
}

void
api_people_get(struct http_request *req)
{
	const struct dir_snapshot *s;
	int i;

	if (!http_query_check(req, no_params))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	if ((i = dir_lookup_person(s, last_segment(req))) == DIR_NONE) {
		http_problem(req, 404, NULL, "No such person.");
		return;
	}
	json_t *p = dir_render_person_json(s, i);
	json_object_set_new(p, "directory", dir_sync_info());
	http_respond_json(req, 200, p);
}

void
api_units_list(struct http_request *req)
{
	const struct dir_snapshot *s;
	json_t *items;

	if (!http_query_check(req, no_params))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	items = json_array();
	for (size_t i = 0; i < s->nunits; i++)
		if (s->units[i].parent == DIR_NONE)
			json_array_append_new(items, dir_render_unit(s, (int)i, true));
	http_respond_json(req, 200,
	                  json_pack("{s:o, s:o}", "items", items, "directory", dir_sync_info()));
}

void
api_units_get(struct http_request *req)
{
	const struct dir_snapshot *s;
	json_t *o, *members;
	int i;

	if (!http_query_check(req, no_params))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	if ((i = dir_lookup_unit(s, last_segment(req))) == DIR_NONE) {
		http_problem(req, 404, NULL, "No such unit.");
		return;
	}
	o = dir_render_unit(s, i, false);
	members = json_array();
	for (size_t m = 0; m < s->units[i].nmembers; m++)
		json_array_append_new(members, dir_render_person_json(s, s->units[i].members[m]));
	json_object_set_new(o, "members", members);
	json_t *children = json_array();
	for (size_t c = 0; c < s->units[i].nchildren; c++)
		json_array_append_new(children,
		                      json_string(s->units[s->units[i].children[c]].code));
	json_object_set_new(o, "children", children);
	json_object_set_new(o, "directory", dir_sync_info());
	http_respond_json(req, 200, o);
}
