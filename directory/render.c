/*
 * render.c: the directory's people and units as the API shows them (JSON),
 * and a person's answer rendered once per snapshot and kept with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "names.h"

static json_t *
str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *
person_ref(const struct dir_snapshot *s, int i)
{
	if (i == DIR_NONE)
		return json_null();
	return json_pack("{s:s, s:s}", "id", s->persons[i].id, "display_name",
	                 s->persons[i].display_name);
}

static json_t *
alloc_json(const struct dir_alloc *a)
{
	json_t *o = json_pack("{s:s}", "kind", a->kind);
	if (strcmp(a->kind, "birthday") == 0) {
		json_object_set_new(o, "from", json_integer(atoi(a->from)));
		json_object_set_new(o, "to", json_integer(atoi(a->to ? a->to : a->from)));
	} else if (a->to) {
		json_object_set_new(o, "from", json_string(a->from));
		json_object_set_new(o, "to", json_string(a->to));
	} else {
		json_object_set_new(o, "value", json_string(a->from));
	}
	return o;
}

/* An absence is shown while it lasts or lies ahead. */
static bool
absence_shown(const struct dir_person *p, const char *now)
{
	return *p->absent_from && (!*p->absent_until || strcmp(p->absent_until, now) > 0);
}

/* The API's Person, all but "absent", which depends on the day. */
static json_t *
person_json_base(const struct dir_snapshot *s, int i)
{
	const struct dir_person *p = &s->persons[i];
	json_t *tg = json_array(), *al = json_array(), *unit = json_null();

	for (size_t k = 0; k < p->ntarget_groups; k++)
		json_array_append_new(tg, json_string(p->target_groups[k]));
	for (size_t k = 0; k < p->nalloc; k++)
		json_array_append_new(al, alloc_json(&p->alloc[k]));
	if (p->unit != DIR_NONE) {
		const struct dir_unit *u = &s->units[p->unit];
		unit = json_pack("{s:s, s:s, s:o}", "code", u->code, "name", u->name, "department",
		                 str_or_null(u->department));
	}
	return json_pack(
	    "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o}",
	    "id", p->id, "username", p->username, "display_name", p->display_name, "given_name",
	    str_or_null(p->given_name), "surname", str_or_null(p->surname), "title",
	    str_or_null(p->title), "email", str_or_null(p->email), "phone", str_or_null(p->phone),
	    "mobile", str_or_null(p->mobile), "office", str_or_null(p->office), "unit", unit,
	    "target_groups", tg, "target_group_names",
	    names_target_group_map((const char *const *)p->target_groups, p->ntarget_groups),
	    "allocation", al, "deputy", person_ref(s, p->deputy), "manager",
	    person_ref(s, p->manager));
}

/* A person as the API shows them; the caller owns the object. */
json_t *
dir_render_person_json(const struct dir_snapshot *s, int i)
{
	char now[11];

	clock_today(now);
	return dir_render_person_json_on(s, i, now);
}

/* The same, with "absent" as it stands on `date` (YYYY-MM-DD). */
json_t *
dir_render_person_json_on(const struct dir_snapshot *s, int i, const char *now)
{
	const struct dir_person *p = &s->persons[i];
	json_t *o = person_json_base(s, i);

	json_object_set_new(o, "absent",
	                    absence_shown(p, now) ? json_pack("{s:s, s:o}", "from", p->absent_from,
	                                                      "until", str_or_null(p->absent_until))
	                                          : json_null());
	return o;
}

/*
 * A person's JSON rendered once, when the snapshot is built (on the sync
 * thread): everything but "absent" and the closing brace. Searches then
 * copy bytes instead of building and dumping objects (which was 80 % of
 * a search's time). The caller frees.
 */
char *
dir_render_person(const struct dir_snapshot *s, int i, size_t *len)
{
	json_t *o = person_json_base(s, i);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		fatalx("directory: json_dumps");
	*len = strlen(text) - 1; /* drop the "}" */
	text[*len] = '\0';
	return text;
}

/* Appends a person from their pre-rendered JSON (its three parts, copied
 * into one reserved extent), adding "absent". */
void
dir_render_person_append(struct evbuffer *b, const struct dir_person *p, const char *now)
{
	static const char none[] = ",\"absent\":null}";
	bool absent = absence_shown(p, now);
	size_t n = (size_t)p->json_len + p->json_mid_len + p->json_refs_len,
	       total = n + (absent ? 0 : sizeof(none) - 1);
	struct evbuffer_iovec v;

	if (evbuffer_reserve_space(b, (ev_ssize_t)total, &v, 1) == 1 && v.iov_len >= total) {
		char *w = v.iov_base;
		memcpy(w, p->json, p->json_len);
		w += p->json_len;
		memcpy(w, p->json_mid, p->json_mid_len);
		w += p->json_mid_len;
		memcpy(w, p->json_refs, p->json_refs_len);
		w += p->json_refs_len;
		if (!absent)
			memcpy(w, none, sizeof(none) - 1);
		v.iov_len = total;
		evbuffer_commit_space(b, &v, 1);
	} else {
		evbuffer_add(b, p->json, p->json_len);
		evbuffer_add(b, p->json_mid, p->json_mid_len);
		evbuffer_add(b, p->json_refs, p->json_refs_len);
		if (!absent)
			evbuffer_add(b, none, sizeof(none) - 1);
	}
	if (absent) {
		evbuffer_add_printf(b, ",\"absent\":{\"from\":\"%s\",\"until\":", p->absent_from);
		if (*p->absent_until)
			evbuffer_add_printf(b, "\"%s\"}}", p->absent_until);
		else
			evbuffer_add(b, "null}}", 6);
	}
}

json_t *
dir_render_unit(const struct dir_snapshot *s, int i, bool tree)
{
	const struct dir_unit *u = &s->units[i];
	json_t *o =
	    json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "code", u->code, "name", u->name,
	              "department", str_or_null(u->department), "parent",
	              u->parent == DIR_NONE ? json_null() : json_string(s->units[u->parent].code),
	              "mailbox", str_or_null(u->mailbox), "lead", person_ref(s, u->lead));
	json_object_set_new(o, "intake", json_boolean(dir_lookup_intake(s, i)));
	static const char *const aspects[] = {"responsible", "performing", "insight"};
	json_t *kle = json_object(), *kle_names = json_object();
	for (int k = 0; k < 3; k++) {
		json_t *a = json_array(), *named;
		for (size_t j = 0; j < u->nkle[k]; j++)
			json_array_append_new(a, json_string(u->kle[k][j]));
		json_object_set_new(kle, aspects[k], a);
		named = names_kle_map((const char *const *)u->kle[k], u->nkle[k]);
		json_object_update(kle_names, named);
		json_decref(named);
	}
	json_object_set_new(o, "kle", kle);
	json_object_set_new(o, "kle_names", kle_names);
	if (tree) {
		json_t *children = json_array();
		for (size_t c = 0; c < u->nchildren; c++)
			json_array_append_new(children, dir_render_unit(s, u->children[c], true));
		json_object_set_new(o, "children", children);
	}
	return o;
}
