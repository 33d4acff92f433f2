/*
 * vcard.c: GET /api/v1/people/{id}/vcard (API.md 1.1 "Exports"): a
 * colleague as a vCard 4.0 (RFC 6350) to save in an address book or a
 * phone, from the directory snapshot like GET /api/v1/people/{id}, and to
 * the same callers (a login, unless directory_anonymous_read).
 *
 * The card: FN, N, TITLE, ORG (the department's name, then the unit's),
 * EMAIL, TEL (work voice, cell), ADR (the office, as the extended address),
 * UID; text escaped (backslash, comma, semicolon, newline), lines folded at
 * 75 octets without splitting a UTF-8 sequence, CRLF. Saved as
 * "<username>.vcf".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "api.h"

/* A text value escaped as RFC 6350 3.4 says, appended to b; control
 * characters other than newline are dropped. */
static void
vc_escape(struct evbuffer *b, const char *v)
{
	for (; v && *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '\\' || c == ',' || c == ';') {
			char e[2] = {'\\', (char)c};
			evbuffer_add(b, e, 2);
		} else if (c == '\n') {
			evbuffer_add(b, "\\n", 2);
		} else if (c >= 0x20 && c != 0x7f) {
			evbuffer_add(b, v, 1);
		}
	}
}

/* NAME:value, or NAME:a;b;... for a structured value (n parts), written
 * only when some part is not empty. */
static void
vc_prop(struct evbuffer *out, const char *name, const char *const *parts, size_t n)
{
	struct evbuffer *b;
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any = any || (parts[i] && *parts[i]);
	if (!any)
		return;
	b = evbuffer_new();
	evbuffer_add_printf(b, "%s:", name);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(b, ";", 1);
		vc_escape(b, parts[i]);
	}
	evbuffer_add(b, "", 1);
	api_content_line(out, (const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
}

static void
vc_text(struct evbuffer *out, const char *name, const char *value)
{
	const char *parts[1] = {value};
	vc_prop(out, name, parts, 1);
}

/* The file name: the username if it is plain, else "kontakt". */
static void
vc_filename(const char *username, char *out, size_t n)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	if (username && *username && *username != '.' && strlen(username) < 100 &&
	    strspn(username, ok) == strlen(username))
		snprintf(out, n, "%s.vcf", username);
	else
		snprintf(out, n, "kontakt.vcf");
}

static bool
looks_like_uuid(const char *id)
{
	if (id == NULL || strlen(id) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : !strchr("0123456789abcdefABCDEF", id[i]))
			return false;
	}
	return true;
}

static void
vc_card(struct evbuffer *b, const struct dir_snapshot *s, const struct dir_person *p)
{
	const struct dir_unit *u = p->unit != DIR_NONE ? &s->units[p->unit] : NULL;
	const char *dep_name = NULL;
	char line[128];

	if (u && u->department) {
		int d = dir_lookup_unit(s, u->department);
		if (d != DIR_NONE && d != p->unit)
			dep_name = s->units[d].name ? s->units[d].name : s->units[d].code;
	}
	api_content_line(b, "BEGIN:VCARD");
	api_content_line(b, "VERSION:4.0");
	api_content_line(b, "KIND:individual");
	api_content_line(b, "PRODID:-//Stafet//Stafet//DA");
	if (looks_like_uuid(p->id)) {
		snprintf(line, sizeof(line), "UID:urn:uuid:%s", p->id);
		api_content_line(b, line);
	}
	vc_text(b, "FN", p->display_name && *p->display_name ? p->display_name : p->username);
	const char *n[5] = {p->surname, p->given_name, "", "", ""};
	if ((p->surname && *p->surname) || (p->given_name && *p->given_name))
		vc_prop(b, "N", n, 5);
	else
		api_content_line(b, "N:;;;;");
	vc_text(b, "TITLE", p->title);
	const char *org[2] = {dep_name ? dep_name : (u ? u->name : NULL),
	                      dep_name && u ? u->name : ""};
	vc_prop(b, "ORG", org, dep_name ? 2 : 1);
	vc_text(b, "EMAIL;TYPE=work", p->email);
	vc_text(b, "TEL;TYPE=work,voice", p->phone);
	vc_text(b, "TEL;TYPE=cell", p->mobile);
	const char *adr[7] = {"", p->office, "", "", "", "", ""};
	vc_prop(b, "ADR;TYPE=work", adr, 7);
	api_content_line(b, "END:VCARD");
}

/* GET /api/v1/people/{id}/vcard */
void
api_people_vcard(struct http_request *req)
{
	static const char *const no_params[] = {NULL};
	const char *path = req->head.path, *prefix = "/api/v1/people/";
	const struct dir_snapshot *s;
	char id[512], disp[600];
	size_t idlen;
	int i;

	if (!http_query_check(req, no_params))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	idlen = strlen(path) - strlen(prefix) - strlen("/vcard");
	if (idlen >= sizeof(id)) {
		http_problem(req, 404, NULL, "No such person.");
		return;
	}
	memcpy(id, path + strlen(prefix), idlen);
	id[idlen] = '\0';
	if ((i = dir_lookup_person(s, id)) == DIR_NONE) {
		http_problem(req, 404, NULL, "No such person.");
		return;
	}
	struct evbuffer *b = evbuffer_new();
	vc_card(b, s, &s->persons[i]);
	vc_filename(s->persons[i].username, id, sizeof(id));
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", id);
	http_add_header(req, "Content-Disposition", disp);
	http_respond_buffer(req, 200, "text/vcard; charset=utf-8", b);
	evbuffer_free(b);
}
