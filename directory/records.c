/*
 * records.c: the records the sync reads (people, units and groups, with
 * references still as DNs) and their file format: the saved snapshot is
 * the records as JSON, format RECORDS_FORMAT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"

#define RECORDS_FORMAT 1

/* -- records ------------------------------------------------------------- */

static bool
in_pack(const struct dir_prec *p, const void *s)
{
	return p->packed != NULL && s != NULL && (const char *)s >= p->packed &&
	       (const char *)s < p->packed + p->packed_len;
}

static void
free_list(const struct dir_prec *p, struct strlist *l)
{
	if (!in_pack(p, l->v)) {
		strlist_free(l);
		return;
	}
	l->v = NULL;
	l->n = l->cap = 0;
}

void
dir_records_free_person(struct dir_prec *p)
{
	char **fields[] = {&p->dn,           &p->id,         &p->username,   &p->upn,
	                   &p->display_name, &p->given_name, &p->surname,    &p->title,
	                   &p->email,        &p->phone,      &p->mobile,     &p->office,
	                   &p->unit_code,    &p->deputy_dn,  &p->manager_dn, &p->absent_from,
	                   &p->absent_until, &p->modified};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!in_pack(p, *fields[i]))
			free(*fields[i]);
		*fields[i] = NULL;
	}
	free_list(p, &p->target_groups);
	free_list(p, &p->allocation);
	strlist_free(&p->member_of);
	free(p->packed);
	p->packed = NULL;
	p->packed_len = 0;
}

void
dir_records_pack_person(struct dir_prec *p)
{
	/* not deputy_dn, manager_dn, member_of: a rename replaces them */
	char **fields[] = {&p->dn,           &p->id,          &p->username,     &p->upn,
	                   &p->display_name, &p->given_name,  &p->surname,      &p->title,
	                   &p->email,        &p->phone,       &p->mobile,       &p->office,
	                   &p->unit_code,    &p->absent_from, &p->absent_until, &p->modified};
	struct strlist *lists[] = {&p->target_groups, &p->allocation};
	size_t nf = sizeof(fields) / sizeof(fields[0]), vec = 0, text = 0;
	char *block, *w;
	char **v;

	if (p->packed != NULL)
		return;
	for (size_t i = 0; i < nf; i++)
		text += *fields[i] ? strlen(*fields[i]) + 1 : 0;
	for (size_t k = 0; k < 2; k++) {
		vec += lists[k]->n * sizeof(char *);
		for (size_t i = 0; i < lists[k]->n; i++)
			text += strlen(lists[k]->v[i]) + 1;
	}
	/* the vectors first: their pointers are aligned there */
	block = xmalloc(vec + text ? vec + text : 1);
	v = (char **)(void *)block;
	w = block + vec;
	for (size_t k = 0; k < 2; k++) {
		struct strlist *l = lists[k];
		for (size_t i = 0; i < l->n; i++) {
			size_t n = strlen(l->v[i]) + 1;
			memcpy(w, l->v[i], n);
			free(l->v[i]);
			v[i] = w;
			w += n;
		}
		free(l->v);
		l->v = l->n ? v : NULL;
		l->cap = l->n;
		v += l->n;
	}
	for (size_t i = 0; i < nf; i++) {
		size_t n;
		if (*fields[i] == NULL)
			continue;
		n = strlen(*fields[i]) + 1;
		memcpy(w, *fields[i], n);
		free(*fields[i]);
		*fields[i] = w;
		w += n;
	}
	p->packed = block;
	p->packed_len = vec + text;
}

void
dir_records_free_unit(struct dir_urec *u)
{
	char **fields[] = {&u->dn,      &u->id,      &u->code,      &u->name,     &u->department,
	                   &u->mailbox, &u->lead_dn, &u->parent_dn, &u->modified, &u->intake};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
	for (int k = 0; k < 3; k++)
		strlist_free(&u->kle[k]);
	strlist_free(&u->members);
	strlist_free(&u->member_of);
}

void
dir_records_free_group(struct dir_grec *g)
{
	free(g->dn);
	free(g->id);
	free(g->name);
	free(g->modified);
	g->dn = g->id = g->name = g->modified = NULL;
	strlist_free(&g->members);
}

void
dir_records_free(struct dir_records *r)
{
	for (size_t i = 0; i < r->np; i++)
		dir_records_free_person(&r->p[i]);
	for (size_t i = 0; i < r->nu; i++)
		dir_records_free_unit(&r->u[i]);
	for (size_t i = 0; i < r->ng; i++)
		dir_records_free_group(&r->g[i]);
	free(r->p);
	free(r->u);
	free(r->g);
	json_decref(r->aliases);
	memset(r, 0, sizeof(*r));
}

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap)*2 : 64;                                              \
			(arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                           \
		}                                                                                  \
	} while (0)

struct dir_prec *
dir_records_add_person(struct dir_records *r)
{
	GROW(r->p, r->np, r->capp);
	memset(&r->p[r->np], 0, sizeof(r->p[0]));
	return &r->p[r->np++];
}

struct dir_urec *
dir_records_add_unit(struct dir_records *r)
{
	GROW(r->u, r->nu, r->capu);
	memset(&r->u[r->nu], 0, sizeof(r->u[0]));
	return &r->u[r->nu++];
}

struct dir_grec *
dir_records_add_group(struct dir_records *r)
{
	GROW(r->g, r->ng, r->capg);
	memset(&r->g[r->ng], 0, sizeof(r->g[0]));
	return &r->g[r->ng++];
}

/* -- persistence --------------------------------------------------------------- */

static void
put_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void
put_strv(json_t *o, const char *k, const struct strlist *v)
{
	if (v->n == 0)
		return;
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	json_object_set_new(o, k, a);
}

static json_t *
person_to_json(const struct dir_prec *p)
{
	json_t *o = json_object();
	put_str(o, "dn", p->dn);
	put_str(o, "id", p->id);
	put_str(o, "username", p->username);
	put_str(o, "upn", p->upn);
	put_str(o, "display_name", p->display_name);
	put_str(o, "given_name", p->given_name);
	put_str(o, "surname", p->surname);
	put_str(o, "title", p->title);
	put_str(o, "email", p->email);
	put_str(o, "phone", p->phone);
	put_str(o, "mobile", p->mobile);
	put_str(o, "office", p->office);
	put_str(o, "unit", p->unit_code);
	put_str(o, "deputy", p->deputy_dn);
	put_str(o, "manager", p->manager_dn);
	put_str(o, "absent_from", p->absent_from);
	put_str(o, "absent_until", p->absent_until);
	put_str(o, "modified", p->modified);
	put_strv(o, "target_groups", &p->target_groups);
	put_strv(o, "allocation", &p->allocation);
	put_strv(o, "member_of", &p->member_of);
	return o;
}

static json_t *
unit_to_json(const struct dir_urec *u)
{
	json_t *o = json_object();
	put_str(o, "dn", u->dn);
	put_str(o, "id", u->id);
	put_str(o, "code", u->code);
	put_str(o, "name", u->name);
	put_str(o, "department", u->department);
	put_str(o, "mailbox", u->mailbox);
	put_str(o, "lead", u->lead_dn);
	put_str(o, "parent", u->parent_dn);
	put_str(o, "modified", u->modified);
	put_str(o, "intake", u->intake);
	put_strv(o, "kle_responsible", &u->kle[0]);
	put_strv(o, "kle_performing", &u->kle[1]);
	put_strv(o, "kle_insight", &u->kle[2]);
	put_strv(o, "members", &u->members);
	put_strv(o, "member_of", &u->member_of);
	return o;
}

static json_t *
group_to_json(const struct dir_grec *g)
{
	json_t *o = json_object();
	put_str(o, "dn", g->dn);
	put_str(o, "id", g->id);
	put_str(o, "name", g->name);
	put_str(o, "modified", g->modified);
	put_strv(o, "members", &g->members);
	return o;
}

/* The document without its three lists. */
static json_t *
records_head(const struct dir_records *r)
{
	return json_pack("{s:i, s:f, s:s, s:s, s:s, s:b, s:O}", "format", RECORDS_FORMAT,
	                 "synced_at", r->synced_at, "source", r->source, "target_group_prefix",
	                 r->target_group_prefix, "intake_prefix", r->intake_prefix, "lists_whole",
	                 r->lists_whole, "aliases", r->aliases ? r->aliases : json_null());
}

/* The caller owns the returned JSON. */
json_t *
dir_records_to_json(const struct dir_records *r)
{
	json_t *doc = records_head(r), *people = json_array(), *units = json_array(),
	       *groups = json_array();

	for (size_t i = 0; i < r->np; i++)
		json_array_append_new(people, person_to_json(&r->p[i]));
	for (size_t i = 0; i < r->nu; i++)
		json_array_append_new(units, unit_to_json(&r->u[i]));
	for (size_t i = 0; i < r->ng; i++)
		json_array_append_new(groups, group_to_json(&r->g[i]));
	json_object_set_new(doc, "people", people);
	json_object_set_new(doc, "units", units);
	json_object_set_new(doc, "groups", groups);
	return doc;
}

/* One record as JSON on f, a comma before all but the first; 0 or -1. */
static int
write_item(FILE *f, json_t *o, size_t i)
{
	int rc = (i > 0 && fputc(',', f) == EOF) || json_dumpf(o, f, JSON_COMPACT) != 0 ? -1 : 0;
	json_decref(o);
	return rc;
}

/*
 * The same document as dir_records_to_json's, written to f one record at a
 * time: the whole document as JSON objects is ~3 KB a person (613 MB at
 * 200,000 people, on every full sync), one record's is a few hundred
 * bytes. 0, or -1 on a write error (f's error flag tells).
 */
int
dir_records_write(FILE *f, const struct dir_records *r)
{
	json_t *head = records_head(r);
	char *text = json_dumps(head, JSON_COMPACT);
	size_t n;
	int rc = 0;

	json_decref(head);
	if (text == NULL)
		return -1;
	n = strlen(text);
	/* the head without its closing brace, then the lists */
	if (n < 2 || fwrite(text, 1, n - 1, f) != n - 1)
		rc = -1;
	free(text);
	if (rc == 0 && fputs(",\"people\":[", f) == EOF)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < r->np; i++)
		rc = write_item(f, person_to_json(&r->p[i]), i);
	if (rc == 0 && fputs("],\"units\":[", f) == EOF)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < r->nu; i++)
		rc = write_item(f, unit_to_json(&r->u[i]), i);
	if (rc == 0 && fputs("],\"groups\":[", f) == EOF)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < r->ng; i++)
		rc = write_item(f, group_to_json(&r->g[i]), i);
	if (rc == 0 && fputs("]}", f) == EOF)
		rc = -1;
	return rc;
}

static char *
get_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static void
get_strv(json_t *o, const char *k, struct strlist *out)
{
	json_t *a = json_object_get(o, k), *v;
	size_t i;
	json_array_foreach (a, i, v) {
		if (json_is_string(v))
			strlist_push(out, json_string_value(v));
	}
}

/* The document's fields but the three lists, into r; -1 for another format. */
static int
head_from_json(json_t *doc, struct dir_records *r)
{
	if (json_integer_value(json_object_get(doc, "format")) != RECORDS_FORMAT)
		return -1;
	r->synced_at = json_number_value(json_object_get(doc, "synced_at"));
	r->lists_whole = json_is_true(json_object_get(doc, "lists_whole"));
	if (json_is_object(json_object_get(doc, "aliases"))) {
		const char *k;
		json_t *v;
		r->aliases = json_object();
		json_object_foreach (json_object_get(doc, "aliases"), k, v)
			if (json_is_string(v))
				json_object_set(r->aliases, k, v);
	}
	snprintf(r->source, sizeof(r->source), "%s",
	         json_string_value(json_object_get(doc, "source"))
	             ? json_string_value(json_object_get(doc, "source"))
	             : "");
	snprintf(r->target_group_prefix, sizeof(r->target_group_prefix), "%s",
	         json_string_value(json_object_get(doc, "target_group_prefix"))
	             ? json_string_value(json_object_get(doc, "target_group_prefix"))
	             : "");
	snprintf(r->intake_prefix, sizeof(r->intake_prefix), "%s",
	         json_string_value(json_object_get(doc, "intake_prefix"))
	             ? json_string_value(json_object_get(doc, "intake_prefix"))
	             : "");
	return 0;
}

static void
person_from_json(json_t *o, struct dir_records *r)
{
	struct dir_prec *p = dir_records_add_person(r);
	p->dn = get_str(o, "dn");
	p->id = get_str(o, "id");
	p->username = get_str(o, "username");
	p->upn = get_str(o, "upn");
	p->display_name = get_str(o, "display_name");
	p->given_name = get_str(o, "given_name");
	p->surname = get_str(o, "surname");
	p->title = get_str(o, "title");
	p->email = get_str(o, "email");
	p->phone = get_str(o, "phone");
	p->mobile = get_str(o, "mobile");
	p->office = get_str(o, "office");
	p->unit_code = get_str(o, "unit");
	p->deputy_dn = get_str(o, "deputy");
	p->manager_dn = get_str(o, "manager");
	p->absent_from = get_str(o, "absent_from");
	p->absent_until = get_str(o, "absent_until");
	p->modified = get_str(o, "modified");
	get_strv(o, "target_groups", &p->target_groups);
	get_strv(o, "allocation", &p->allocation);
	get_strv(o, "member_of", &p->member_of);
	dir_records_pack_person(p);
}

static void
unit_from_json(json_t *o, struct dir_records *r)
{
	struct dir_urec *u = dir_records_add_unit(r);
	u->dn = get_str(o, "dn");
	u->id = get_str(o, "id");
	u->code = get_str(o, "code");
	u->name = get_str(o, "name");
	u->department = get_str(o, "department");
	u->mailbox = get_str(o, "mailbox");
	u->lead_dn = get_str(o, "lead");
	u->parent_dn = get_str(o, "parent");
	u->modified = get_str(o, "modified");
	u->intake = get_str(o, "intake");
	get_strv(o, "kle_responsible", &u->kle[0]);
	get_strv(o, "kle_performing", &u->kle[1]);
	get_strv(o, "kle_insight", &u->kle[2]);
	get_strv(o, "members", &u->members);
	get_strv(o, "member_of", &u->member_of);
}

static void
group_from_json(json_t *o, struct dir_records *r)
{
	struct dir_grec *g = dir_records_add_group(r);
	g->dn = get_str(o, "dn");
	g->id = get_str(o, "id");
	g->name = get_str(o, "name");
	g->modified = get_str(o, "modified");
	get_strv(o, "members", &g->members);
}

static void (*const list_from_json[3])(json_t *, struct dir_records *) = {
    person_from_json, unit_from_json, group_from_json};
static const char *const list_keys[3] = {"people", "units", "groups"};

/* Loads records saved by dir_records_to_json(); returns -1 on a bad document. */
int
dir_records_from_json(json_t *doc, struct dir_records *r)
{
	json_t *o;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (head_from_json(doc, r) == -1)
		return -1;
	for (int k = 0; k < 3; k++)
		json_array_foreach (json_object_get(doc, list_keys[k]), i, o)
			if (json_is_object(o))
				list_from_json[k](o, r);
	return 0;
}

static size_t
skip_ws(const char *b, size_t n, size_t i)
{
	while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
		i++;
	return i;
}

/* The JSON value at b + *i (moved past it), or NULL. */
static json_t *
value_at(const char *b, size_t n, size_t *i)
{
	json_error_t err;
	json_t *v = json_loadb(b + *i, n - *i, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &err);

	if (v != NULL)
		*i += (size_t)err.position;
	return v;
}

/*
 * The same document read from its text a record at a time: the document
 * whole, as JSON objects, is ~3 KB a person (613 MB at 200,000 people, at
 * the start of a daemon that has a saved file); one record's is a few
 * hundred bytes. 0, or -1 (r emptied) for text this does not read (the
 * caller may try dir_records_from_json) or another format.
 */
int
dir_records_read(const char *b, size_t n, struct dir_records *r)
{
	json_t *head = json_object(), *key = NULL;
	size_t i = skip_ws(b, n, 0);

	memset(r, 0, sizeof(*r));
	if (i >= n || b[i] != '{')
		goto fail;
	i = skip_ws(b, n, i + 1);
	while (i < n && b[i] != '}') {
		int kind = -1;
		key = value_at(b, n, &i);
		if (!json_is_string(key))
			goto fail;
		i = skip_ws(b, n, i);
		if (i >= n || b[i] != ':')
			goto fail;
		i = skip_ws(b, n, i + 1);
		for (int k = 0; k < 3; k++)
			if (strcmp(json_string_value(key), list_keys[k]) == 0)
				kind = k;
		if (kind >= 0) {
			if (i >= n || b[i] != '[')
				goto fail;
			i = skip_ws(b, n, i + 1);
			while (i < n && b[i] != ']') {
				json_t *o = value_at(b, n, &i);
				if (o == NULL)
					goto fail;
				if (json_is_object(o))
					list_from_json[kind](o, r);
				json_decref(o);
				i = skip_ws(b, n, i);
				if (i < n && b[i] == ',')
					i = skip_ws(b, n, i + 1);
				else if (i >= n || b[i] != ']')
					goto fail;
			}
			if (i >= n)
				goto fail;
			i++;
		} else {
			json_t *v = value_at(b, n, &i);
			if (v == NULL)
				goto fail;
			json_object_set_new(head, json_string_value(key), v);
		}
		json_decref(key);
		key = NULL;
		i = skip_ws(b, n, i);
		if (i < n && b[i] == ',')
			i = skip_ws(b, n, i + 1);
		else if (i >= n || b[i] != '}')
			goto fail;
	}
	if (i >= n || head_from_json(head, r) == -1)
		goto fail;
	json_decref(head);
	return 0;
fail:
	json_decref(key);
	json_decref(head);
	dir_records_free(r);
	return -1;
}
