/*
 * pdf.c: GET /api/v1/handovers/{id}/pdf, a note as a PDF to journalise in
 * the case system (ESDH).
 *
 * Need to know first, as for GET /handovers/{id} (notes.c): the note's two
 * units see it whole, the leads of a unit above either read it with the
 * CPR number masked and the name as initials, anyone else gets the 404 a
 * note that does not exist gets, before anything else is judged. Reading
 * the PDF does not receive a note (only opening it in Stafet does).
 *
 * The document is built here, on the loop, as Danish text blocks (pdf.h)
 * with the names the directory gives now; pdf_render.c lays it out on a
 * worker thread. Every page's footer carries the SHA-256 of the version's
 * content: the hex digest of the UTF-8 bytes of PostgreSQL's text form of
 * the version's stored document (handover_versions.doc::text, computed in
 * the query), which GET /handovers/{id}/history gives for every version as
 * content_sha256, so a journalised copy can be checked against Stafet
 * later. An export is audited as handover.pdf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "states.h"
#include "auth.h"
#include "api.h"
#include "pdf.h"

/* A note with every text at its limit fits well inside (bench/README.md). */
#define PDF_MAX_PAGES  500
#define PDF_MAX_BYTES  (32u * 1024 * 1024)
#define HISTORY_EVENTS 500

struct pdf_op {
	struct http_request *req;
	char id[40];
	char ref[64];
	long version;
	double started;
};

static const char *const months[] = {"januar",    "februar", "marts",    "april",
                                     "maj",       "juni",    "juli",     "august",
                                     "september", "oktober", "november", "december"};

/* "2027-03-14" as "14. marts 2027"; anything else as it is. */
static void
da_date(const char *ymd, char *out, size_t size)
{
	int y, m, d;
	if (ymd && strlen(ymd) >= 10 && clock_date_valid(ymd, 10) &&
	    sscanf(ymd, "%4d-%2d-%2d", &y, &m, &d) == 3)
		snprintf(out, size, "%d. %s %d", d, months[m - 1], y);
	else
		snprintf(out, size, "%s", ymd ? ymd : "–");
}

/* An RFC 3339 UTC time ("2027-03-14T09:32:00.000Z") in Copenhagen's time:
 * "14. marts 2027 kl. 10.32". */
static void
da_time(const char *ts, char *out, size_t size)
{
	int y, mo, d, h, mi;
	if (ts == NULL || strlen(ts) < 16 || !clock_date_valid(ts, 10) ||
	    sscanf(ts, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5) {
		snprintf(out, size, "%s", ts ? ts : "–");
		return;
	}
	time_t t = (time_t)(clock_days_from_civil(y, mo, d) * 86400L + h * 3600L + mi * 60L);
	t += clock_copenhagen_offset(t);
	long days = clock_floor_div((long)t, 86400);
	long secs = (long)t - days * 86400;
	clock_civil_from_days(days, &y, &mo, &d);
	snprintf(out, size, "%d. %s %d kl. %02ld.%02ld", d, months[mo - 1], y, secs / 3600,
	         secs / 60 % 60);
}

static const char *
unit_name(const struct dir_snapshot *s, const char *code)
{
	int u = code ? dir_lookup_unit(s, code) : DIR_NONE;
	if (u == DIR_NONE)
		return code ? code : "–";
	return s->units[u].name && *s->units[u].name ? s->units[u].name : code;
}

/* The display name of a rendered {"id", "display_name"}. */
static const char *
person_name(const json_t *ref)
{
	const char *n = json_str(ref, "display_name");
	if (n)
		return n;
	return json_is_object(ref) ? "(ikke længere i kataloget)" : NULL;
}

static void
add_field(struct pdf_doc *d, const char *label, const char *text)
{
	pdf_doc_add(d, PDF_FIELD, label, text && *text ? text : "–");
}

static void
add_date_field(struct pdf_doc *d, const char *label, const char *ymd)
{
	char buf[64];
	if (ymd == NULL)
		return;
	da_date(ymd, buf, sizeof(buf));
	add_field(d, label, buf);
}

static void
add_time_field(struct pdf_doc *d, const char *label, const char *ts)
{
	char buf[64];
	if (ts == NULL)
		return;
	da_time(ts, buf, sizeof(buf));
	add_field(d, label, buf);
}

/* The label of an option or goal area (`list` of {key|value, label}). */
static const char *
option_label(const json_t *list, const char *idkey, const char *value)
{
	size_t i;
	const json_t *o;
	json_array_foreach (list, i, o) {
		const char *k = json_str(o, idkey);
		if (k && value && strcmp(k, value) == 0 && json_str(o, "label"))
			return json_str(o, "label");
	}
	return value;
}

/* -- a section's value ----------------------------------------------------------------- */

static void
add_goals(struct pdf_doc *d, const json_t *sec, const json_t *v)
{
	size_t i;
	const json_t *g;
	json_array_foreach (v, i, g) {
		pdf_doc_add(
		    d, PDF_SUBHEADING, NULL,
		    option_label(json_object_get(sec, "areas"), "key", json_str(g, "area")));
		add_field(d, "Mål", json_str(g, "goal"));
		add_field(d, "Tidsramme", json_str(g, "timeframe"));
	}
}

static void
add_actions(struct pdf_doc *d, const json_t *v)
{
	size_t i;
	const json_t *a;
	json_array_foreach (v, i, a) {
		char head[32];
		snprintf(head, sizeof(head), "Handling %zu", i + 1);
		pdf_doc_add(d, PDF_SUBHEADING, NULL, head);
		add_field(d, "Handling", json_str(a, "action"));
		add_field(d, "Ansvarlig", json_str(a, "owner"));
		if (json_str(a, "due"))
			add_date_field(d, "Frist", json_str(a, "due"));
		else
			add_field(d, "Frist", NULL);
	}
}

static void
add_benefits(struct pdf_doc *d, const json_t *v)
{
	size_t i;
	const json_t *b;
	json_array_foreach (v, i, b) {
		char head[32];
		snprintf(head, sizeof(head), "Ydelse %zu", i + 1);
		pdf_doc_add(d, PDF_SUBHEADING, NULL, head);
		add_field(d, "Børneydelse", json_str(b, "child_benefit"));
		add_field(d, "Voksenydelse", json_str(b, "adult_benefit"));
		add_field(d, "Ophører uden afløser",
		          json_is_true(json_object_get(b, "ends_without_successor")) ? "Ja"
		                                                                     : "Nej");
	}
}

static void
add_consent(struct pdf_doc *d, const json_t *v)
{
	static const char *const bases[][2] = {
	    {"consent", "Samtykke fra borgeren"},
	    {"law", "Lovkrav (hjemmel i loven)"},
	    {"significant_importance", "Væsentlig betydning for modtagerens opgave"},
	};
	const char *basis = json_str(v, "basis");
	for (size_t i = 0; basis && i < sizeof(bases) / sizeof(bases[0]); i++)
		if (strcmp(basis, bases[i][0]) == 0)
			basis = bases[i][1];
	add_field(d, "Grundlag", basis);
	add_date_field(d, "Dato", json_str(v, "date"));
	if (json_str(v, "purpose"))
		add_field(d, "Formål", json_str(v, "purpose"));
	if (json_str(v, "recipients"))
		add_field(d, "Modtagere", json_str(v, "recipients"));
	if (json_str(v, "law_reference"))
		add_field(d, "Lovhenvisning", json_str(v, "law_reference"));
	if (json_is_true(json_object_get(v, "withdrawn")))
		add_field(d, "Trukket tilbage", "Ja");
}

/* One section: its label as a heading, then its value as its kind says. */
static void
add_section(struct pdf_doc *d, const json_t *sec, const json_t *v)
{
	const char *kind = json_str(sec, "kind");
	char buf[64];

	pdf_doc_add(d, PDF_HEADING, NULL, json_str(sec, "label"));
	if (v == NULL || json_is_null(v)) {
		pdf_doc_add(d, PDF_NOTE, NULL, "Ikke udfyldt.");
	} else if (json_is_object(v) && json_str(v, "empty_reason")) {
		add_field(d, "Tomt med vilje", json_str(v, "empty_reason"));
		if (json_str(v, "comment"))
			add_field(d, "Kommentar", json_str(v, "comment"));
	} else if (strcmp(kind, "text") == 0 && json_is_string(v)) {
		pdf_doc_add(d, PDF_TEXT, NULL, json_string_value(v));
	} else if (strcmp(kind, "date") == 0 && json_is_string(v)) {
		da_date(json_string_value(v), buf, sizeof(buf));
		pdf_doc_add(d, PDF_TEXT, NULL, buf);
	} else if (strcmp(kind, "boolean") == 0 && json_is_boolean(v)) {
		pdf_doc_add(d, PDF_TEXT, NULL, json_is_true(v) ? "Ja" : "Nej");
	} else if (strcmp(kind, "choice") == 0 && json_is_string(v)) {
		pdf_doc_add(
		    d, PDF_TEXT, NULL,
		    option_label(json_object_get(sec, "options"), "value", json_string_value(v)));
	} else if (strcmp(kind, "goals") == 0 && json_is_array(v)) {
		add_goals(d, sec, v);
	} else if (strcmp(kind, "actions") == 0 && json_is_array(v)) {
		add_actions(d, v);
	} else if (strcmp(kind, "benefits") == 0 && json_is_array(v)) {
		add_benefits(d, v);
	} else if (strcmp(kind, "consent") == 0 && json_is_object(v)) {
		add_consent(d, v);
	} else if (strcmp(kind, "decision") == 0 && json_is_object(v)) {
		add_date_field(d, "Dato", json_str(v, "date"));
		add_field(d, "Afgørelse", json_str(v, "text"));
	} else {
		char *s = json_dumps(v, JSON_INDENT(2));
		pdf_doc_add(d, PDF_TEXT, NULL, s ? s : "");
		free(s);
	}
}

/* -- the parts around the sections ------------------------------------------------------ */

static const char *
section_label(const json_t *sections, const char *key)
{
	static const char *const fixed[][2] = {
	    {"citizen", "Borgeren"},
	    {"planned_date", "Planlagt overdragelsesdato"},
	    {"receiver", "Modtager"},
	};
	size_t i;
	const json_t *s;
	for (i = 0; key && i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(key, fixed[i][0]) == 0)
			return fixed[i][1];
	json_array_foreach (sections, i, s)
		if (key && json_str(s, "key") && strcmp(json_str(s, "key"), key) == 0)
			return json_str(s, "label");
	return key ? key : "–";
}

static void
add_flags(struct pdf_doc *d, const json_t *note, const json_t *sections)
{
	const json_t *flags = json_object_get(note, "flags"), *f;
	size_t i;
	char head[512], when[64], by[256];

	if (json_array_size(flags) == 0)
		return;
	pdf_doc_add(d, PDF_HEADING, NULL, "Markeringer og svar");
	json_array_foreach (flags, i, f) {
		const char *kind = json_str(f, "kind");
		const json_t *reply = json_object_get(f, "reply");
		snprintf(head, sizeof(head), "%s – %s",
		         section_label(sections, json_str(f, "section")),
		         kind && strcmp(kind, "missing") == 0 ? "mangler" : "upræcist");
		pdf_doc_add(d, PDF_SUBHEADING, NULL, head);
		if (json_str(f, "comment") && *json_str(f, "comment"))
			add_field(d, "Kommentar", json_str(f, "comment"));
		da_time(json_str(f, "at"), when, sizeof(when));
		snprintf(by, sizeof(by), "%s, %s", person_name(json_object_get(f, "by")), when);
		add_field(d, "Markeret af", by);
		add_field(d, "Status",
		          json_is_true(json_object_get(f, "resolved")) ? "Løst (sendt igen)"
		                                                       : "Åben");
		if (json_is_object(reply)) {
			add_field(d, "Svar", json_str(reply, "text"));
			da_time(json_str(reply, "at"), when, sizeof(when));
			snprintf(by, sizeof(by), "%s, %s",
			         person_name(json_object_get(reply, "by")), when);
			add_field(d, "Svaret af", by);
		}
	}
}

static const char *
action_name(const char *a)
{
	static const char *const names[][2] = {
	    {"create", "Oprettet"},
	    {"edit", "Redigeret"},
	    {"submit", "Sendt"},
	    {"receive", "Åbnet af modtager"},
	    {"return", "Returneret"},
	    {"accept", "Godkendt"},
	    {"withdraw", "Trukket tilbage"},
	    {"forward", "Videresendt"},
	    {"reroute", "Omdirigeret"},
	    {"reply", "Svar på markering"},
	    {"delete", "Slettet"},
	};
	for (size_t i = 0; a && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(a, names[i][0]) == 0)
			return names[i][1];
	return a ? a : "–";
}

/* The events, oldest first; a run of edits by one person on one day is
 * one line ("Redigeret 4 gange"). */
static void
add_history(struct pdf_doc *d, const struct dir_snapshot *s, const json_t *events, bool more)
{
	size_t i, n = json_array_size(events);
	char when[64], day[64], next_day[64], what[512];

	pdf_doc_add(d, PDF_HEADING, NULL, "Historik");
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(events, i);
		const char *action = json_str(e, "action"), *by = json_str(e, "by");
		size_t same = 1;
		da_time(json_str(e, "at"), when, sizeof(when));
		da_date(json_str(e, "at"), day, sizeof(day));
		while (action && strcmp(action, "edit") == 0 && i + same < n) {
			const json_t *x = json_array_get(events, i + same);
			da_date(json_str(x, "at"), next_day, sizeof(next_day));
			if (!json_str(x, "action") || strcmp(json_str(x, "action"), "edit") != 0 ||
			    !json_str(x, "by") || !by || strcmp(json_str(x, "by"), by) != 0 ||
			    strcmp(day, next_day) != 0)
				break;
			same++;
		}
		json_t *who = note_person_ref(s, by);
		int w = snprintf(what, sizeof(what), "%s af %s", action_name(action),
		                 person_name(who) ? person_name(who) : "–");
		json_decref(who);
		if (same > 1 && w > 0 && (size_t)w < sizeof(what))
			snprintf(what + w, sizeof(what) - (size_t)w, " (%zu gange)", same);
		else if (action && strcmp(action, "forward") == 0 && w > 0 &&
		         (size_t)w < sizeof(what))
			snprintf(what + w, sizeof(what) - (size_t)w, " til %s",
			         unit_name(s, json_str(json_object_get(e, "detail"), "to_unit")));
		add_field(d, when, what);
		i += same - 1;
	}
	if (more)
		pdf_doc_add(d, PDF_NOTE, NULL, "Kun de første 500 hændelser er vist.");
}

/* The top: what the note is, the citizen, the two sides. */
static void
add_head(struct pdf_doc *d, const struct dir_snapshot *s, const json_t *note, const char *route,
         unsigned access)
{
	const json_t *c = json_object_get(note, "citizen");
	const json_t *snd = json_object_get(note, "sender"),
	             *rcv = json_object_get(note, "receiver");
	char buf[128];

	pdf_doc_add(d, PDF_TITLE, NULL, "Overdragelsesnotat");
	add_field(d, "Reference", json_str(note, "ref"));
	add_field(d, "Rute", route);
	snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(note, "version")));
	add_field(d, "Version", buf);
	snprintf(buf, sizeof(buf), "%s", states_label(states_of(json_str(note, "status"))));
	if (*buf >= 'a' && *buf <= 'z')
		*buf = (char)(*buf - 'a' + 'A');
	add_field(d, "Status", buf);
	add_date_field(d, "Planlagt overdragelse", json_str(note, "planned_date"));
	add_time_field(d, "Oprettet", json_str(note, "created_at"));
	add_time_field(d, "Sendt", json_str(note, "submitted_at"));
	add_time_field(d, "Modtaget", json_str(note, "received_at"));
	add_time_field(d, "Afgjort", json_str(note, "decided_at"));
	add_time_field(d, "Senest ændret", json_str(note, "updated_at"));

	pdf_doc_add(d, PDF_HEADING, NULL, "Borgeren");
	add_field(d, "Navn", json_str(c, "name"));
	add_field(d, "CPR-nummer", json_str(c, "cpr"));
	add_date_field(d, "Fødselsdato", json_str(c, "birthdate"));
	if (json_is_integer(json_object_get(c, "age_at_handover"))) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT " år",
		         json_integer_value(json_object_get(c, "age_at_handover")));
		add_field(d, "Alder ved overdragelsen", buf);
	}
	if (!(access & HO_ACCESS_BOTH))
		pdf_doc_add(d, PDF_NOTE, NULL,
		            "Du læser notatet som leder af en enhed over afsender eller modtager: "
		            "CPR-nummeret er maskeret, og navnet er vist som initialer.");

	pdf_doc_add(d, PDF_HEADING, NULL, "Afsender og modtager");
	add_field(d, "Afsender", person_name(json_object_get(snd, "person")));
	add_field(d, "Afsendende enhed", unit_name(s, json_str(snd, "unit")));
	add_field(d, "Modtagende enhed", unit_name(s, json_str(rcv, "unit")));
	add_field(d, "Modtager",
	          json_is_object(json_object_get(rcv, "person"))
	              ? person_name(json_object_get(rcv, "person"))
	              : "Enheden (ingen navngiven modtager)");
}

/* The whole document for the rendered note (borrowed); a new one the
 * caller owns. */
static struct pdf_doc *
build(const struct dir_snapshot *s, const json_t *note, const struct ho_route *r,
      const struct ho_template *t, unsigned access, const json_t *events, bool more,
      const char *sha)
{
	struct pdf_doc *d = xcalloc(1, sizeof(*d));
	const json_t *tsections = json_object_get(template_json(t), "sections"), *sec;
	const json_t *values = json_object_get(note, "sections");
	const char *ref = json_str(note, "ref");
	json_int_t version = json_integer_value(json_object_get(note, "version"));
	char now[64], today[64];
	size_t i;

	d->max_pages = PDF_MAX_PAGES;
	d->max_bytes = PDF_MAX_BYTES;
	xasprintf(&d->title, "Overdragelsesnotat %s version %" JSON_INTEGER_FORMAT, ref, version);
	clock_today(today);
	da_date(today, now, sizeof(now));
	xasprintf(&d->footer, "%s · version %" JSON_INTEGER_FORMAT " · udskrevet %s", ref, version,
	          now);
	xasprintf(&d->hash_line, "SHA-256 af versionens indhold: %s", sha);

	add_head(d, s, note, r && r->name ? r->name : json_str(note, "route"), access);
	json_array_foreach (tsections, i, sec)
		add_section(d, sec, json_object_get(values, json_str(sec, "key")));
	add_flags(d, note, tsections);
	if (json_str(note, "readback")) {
		pdf_doc_add(d, PDF_HEADING, NULL, "Modtagerens tilbagemelding");
		pdf_doc_add(d, PDF_TEXT, NULL, json_str(note, "readback"));
	}
	add_history(d, s, events, more);
	pdf_doc_add(d, PDF_HEADING, NULL, "Om dette dokument");
	{
		char *why = NULL;
		xasprintf(
		    &why,
		    "Dokumentet viser version %" JSON_INTEGER_FORMAT
		    " af notatet, som det stod i Stafet, da det blev udskrevet. "
		    "Kontrolsummen i sidefoden (SHA-256) er beregnet af versionens indhold, "
		    "som Stafet har gemt det. Den står også ved versionen i notatets historik i "
		    "Stafet, så en journaliseret kopi kan kontrolleres mod Stafet senere.",
		    version);
		pdf_doc_add(d, PDF_NOTE, NULL, why);
		free(why);
	}
	return d;
}

/* -- the request ------------------------------------------------------------------------- */

static bool
ref_safe(const char *ref)
{
	return ref && *ref && strlen(ref) < 48 &&
	       strspn(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	           strlen(ref);
}

static void
rendered(enum pdf_result res, unsigned char *pdf, size_t len, int pages, void *arg)
{
	struct pdf_op *op = arg;
	struct http_request *req = op->req;
	char detail[256], disp[128];

	switch (res) {
	case PDF_OK:
		/* HEAD renders it too (the same headers), but nothing leaves */
		snprintf(detail, sizeof(detail), "%s v%ld", op->ref, op->version);
		if (req->head.method == HTTP_GET)
			audit_record(req, req->auth.person_id, req->auth.username, "handover.pdf",
			             "handover", op->id, detail);
		log_info("pdf: %s version %ld, %d pages, %zu bytes in %.0f ms", op->ref,
		         op->version, pages, len, (clock_mono() - op->started) * 1000);
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s-v%ld.pdf\"",
		         ref_safe(op->ref) ? op->ref : "notat", op->version);
		http_add_header(req, "Content-Disposition", disp);
		http_add_header(req, "Cache-Control", "no-store");
		http_respond(req, 200, "application/pdf", pdf, len);
		free(pdf);
		break;
	case PDF_TOO_MANY_PAGES:
	case PDF_TOO_LARGE:
		log_warnx("pdf: %s version %ld is over the limit (%s)", op->ref, op->version,
		          res == PDF_TOO_LARGE ? "bytes" : "pages");
		snprintf(detail, sizeof(detail),
		         res == PDF_TOO_LARGE
		             ? "Notatet er for stort til en PDF (over %u MB). Hent det i stedet "
		               "fra Stafet."
		             : "Notatet er for stort til en PDF (over %u sider). Hent det i stedet "
		               "fra Stafet.",
		         res == PDF_TOO_LARGE ? PDF_MAX_BYTES / (1024 * 1024) : PDF_MAX_PAGES);
		http_problem(req, 422, "Notatet er for stort til en PDF", detail);
		break;
	case PDF_STOPPING:
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL, "Stafet genstarter. Prøv igen om lidt.");
		break;
	case PDF_FAILED:
		http_problem(req, 500, NULL, "PDF'en kunne ikke dannes.");
		break;
	}
	free(op);
}

/* The events of the query's third column, and whether there were more. */
static json_t *
events_of(PGresult *res, bool *more)
{
	json_t *ev = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	if (!json_is_array(ev)) {
		json_decref(ev);
		ev = json_array();
	}
	*more = json_array_size(ev) > HISTORY_EVENTS;
	if (*more)
		json_array_remove(ev, HISTORY_EVENTS);
	return ev;
}

/* The template the note was written against, or NULL after answering 503. */
static const struct ho_template *
template_of(struct http_request *req, const json_t *row, const struct ho_route **r)
{
	struct ho_route_set *set = answer_routes_or_fail(req);
	const struct ho_template *t;
	if (set == NULL)
		return NULL;
	*r = routes_find_any(set, json_str(row, "route"));
	t = routes_template_find(set, json_str(row, "template"),
	                         (int)json_integer_value(json_object_get(row, "template_version")));
	if (t == NULL) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL, "Notatets skabelon er ikke indlæst.");
	}
	return t;
}

static void
loaded(PGresult *res, const char *error, void *arg)
{
	struct pdf_op *op = arg;
	struct http_request *req = op->req;
	const struct dir_snapshot *s;
	const struct ho_template *t;
	const struct ho_route *r = NULL;
	json_t *row = NULL, *note, *events;
	unsigned access = 0;
	bool more;
	const char *why;

	if (error || res == NULL) {
		answer_db_error(req, error);
		free(op);
		return;
	}
	if ((s = answer_snapshot_or_fail(req)) == NULL) {
		free(op);
		return;
	}
	/* Need to know before anything else: 404 as for a note that does not exist. */
	if (PQntuples(res) != 1 || (row = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL ||
	    auth_person(req) == DIR_NONE ||
	    (access = access_of_note(s, auth_person(req), row)) == 0) {
		json_decref(row);
		answer_not_found(req);
		free(op);
		return;
	}
	if (!pdf_render_available(&why)) {
		json_decref(row);
		http_problem(req, 503, NULL,
		             "PDF er ikke tilgængelig: skrifttypen mangler på serveren. Kontakt "
		             "driften.");
		free(op);
		return;
	}
	if ((t = template_of(req, row, &r)) == NULL) {
		json_decref(row);
		free(op);
		return;
	}
	note = note_render(row, s, access, true, true);
	snprintf(op->ref, sizeof(op->ref), "%s",
	         json_str(note, "ref") ? json_str(note, "ref") : "");
	op->version = (long)json_integer_value(json_object_get(note, "version"));
	events = events_of(res, &more);
	struct pdf_doc *d = build(s, note, r, t, access, events, more, PQgetvalue(res, 0, 1));
	json_decref(events);
	json_decref(note);
	json_decref(row);
	if (!pdf_render_submit(d, rendered, op)) {
		http_add_header(req, "Retry-After", "2");
		http_problem(req, 503, NULL, "Der dannes mange PDF'er lige nu. Prøv igen om lidt.");
		free(op);
	}
}

static const char *const no_params[] = {NULL};

/* GET /api/v1/handovers/{id}/pdf */
void
api_handover_pdf(struct http_request *req)
{
	const char *rest = req->head.path + strlen("/api/v1/handovers/");
	size_t n = strcspn(rest, "/");
	char limit[16];
	struct pdf_op *op;

	if (!http_query_check(req, no_params))
		return;
	if (n != 36) {
		answer_not_found(req);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->started = clock_mono();
	memcpy(op->id, rest, 36);
	if (!answer_uuid_ok(op->id)) {
		answer_not_found(req);
		free(op);
		return;
	}
	snprintf(limit, sizeof(limit), "%d", HISTORY_EVENTS + 1);
	const char *params[2] = {op->id, limit};
	/* the content hash as pdf.c's comment defines it; a deleted draft is gone */
	if (db_query(
	        "SELECT handover_json(h, true)::text, "
	        "(SELECT encode(sha256(convert_to(v.doc::text, 'UTF8')), 'hex') "
	        " FROM handover_versions v WHERE v.handover_id = h.id AND v.version = h.version), "
	        "(SELECT COALESCE(jsonb_agg(e ORDER BY e.id), '[]')::text FROM "
	        " (SELECT id, stafet_ts(at) AS at, by_person AS by, action, detail "
	        "  FROM handover_events WHERE handover_id = h.id ORDER BY id LIMIT $2::int) e) "
	        "FROM handovers h WHERE h.id = $1::uuid AND h.deleted_at IS NULL",
	        2, params, loaded, op) == -1) {
		answer_db_error(req, "unavailable");
		free(op);
	}
}

/* The module row's start and stop (app/modules.c). */
void
api_pdf_start(struct event_base *base, const struct config *c)
{
	pdf_render_start(base, c);
}

void
api_pdf_stop(void)
{
	pdf_render_stop();
}
