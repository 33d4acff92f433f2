/*
 * resolve_unit.c: the receiving unit of a counterpart resolution
 * (resolve.c): by route or KLE number (own marks, inherited ones), the
 * unit's intake (mailbox and lead) and the fallback, the myndighedssnit,
 * and hints for the facts the unit's rules need but the request lacks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"
#include "resolve_int.h"

/* ---- KLE and the unit tree ---- */

/* A mark covers a number it equals or that it prefixes on a dot boundary. */
static bool
kle_covers(const char *mark, const char *kle)
{
	size_t n = strlen(mark);
	return n > 0 && strncmp(mark, kle, n) == 0 && (kle[n] == '\0' || kle[n] == '.');
}

static bool
kle_own(const struct dir_unit *u, int aspect, const char *kle)
{
	for (size_t i = 0; i < u->nkle[aspect]; i++)
		if (u->kle[aspect][i] && kle_covers(u->kle[aspect][i], kle))
			return true;
	return false;
}

/* Parent links are data from LDAP: every walk up stops after nunits steps. */
static int
unit_depth(const struct dir_snapshot *s, int u)
{
	int d = 0;
	for (size_t n = 0; s->units[u].parent != DIR_NONE && n < s->nunits; n++, d++)
		u = s->units[u].parent;
	return d;
}

static bool
unit_within(const struct dir_snapshot *s, int u, int root)
{
	for (size_t n = 0; u != DIR_NONE && n <= s->nunits; n++, u = s->units[u].parent)
		if (u == root)
			return true;
	return false;
}

/* The nearest strict ancestor with its own mark, or DIR_NONE. */
static int
kle_inherited(const struct dir_snapshot *s, int u, int aspect, const char *kle)
{
	u = s->units[u].parent;
	for (size_t n = 0; u != DIR_NONE && n < s->nunits; n++, u = s->units[u].parent)
		if (kle_own(&s->units[u], aspect, kle))
			return u;
	return DIR_NONE;
}

/*
 * The unit for a KLE number in the scope (root and its subtree, or every
 * unit): the deepest unit with its own mark of the aspect, else the root
 * when it inherits one. *from gets the unit the mark was inherited from, or
 * DIR_NONE.
 */
static int
kle_find(const struct dir_snapshot *s, int root, int aspect, const char *kle, int *from)
{
	int best = DIR_NONE, best_depth = -1;

	*from = DIR_NONE;
	for (size_t i = 0; i < s->nunits; i++) {
		int u = (int)i, d;
		if (!kle_own(&s->units[i], aspect, kle))
			continue;
		if (root != DIR_NONE && !unit_within(s, u, root))
			continue;
		d = unit_depth(s, u);
		if (d > best_depth ||
		    (d == best_depth && strcmp(s->units[i].code, s->units[best].code) < 0)) {
			best = u;
			best_depth = d;
		}
	}
	if (best != DIR_NONE || root == DIR_NONE)
		return best;
	if ((*from = kle_inherited(s, root, aspect, kle)) != DIR_NONE)
		return root;
	return DIR_NONE;
}

/* A unit's name by its code; the code when the directory has no such unit. */
static const char *
unit_name(const struct dir_snapshot *s, const char *code)
{
	int u = dir_lookup_unit(s, code);
	return u != DIR_NONE ? s->units[u].name : code;
}

static json_t *
problem_422(const char *field, const char *code, const char *message)
{
	json_t *p = json_problem(422, NULL, message);
	json_problem_add_error(p, field, code, message);
	return p;
}

/*
 * The receiving unit and why; DIR_NONE with *problem set when there is none.
 * A warning may be added.
 */
int
dir_runit_receiving(const struct dir_snapshot *s, const struct resolve_route *r, const char *kle,
                    struct sb *reason, json_t *warnings, json_t **problem)
{
	static const char *const verbs[] = {"er ansvarlig for", "udfører"};
	/* the route by its name (the caseworker chose it by name) */
	const char *name = r->name && *r->name ? r->name : r->code ? r->code : "";
	int to = DIR_NONE, u = DIR_NONE, from = DIR_NONE, aspect;
	struct sb m = {0};

	if (r->to_unit && (to = dir_lookup_unit(s, r->to_unit)) == DIR_NONE) {
		dir_rtext_printf(&m,
		                 "Ruten »%s« sender til enheden %s, som ikke findes i kataloget.",
		                 name, r->to_unit);
		*problem = problem_422("route", "unit_missing", m.s);
		free(m.s);
		return DIR_NONE;
	}
	if (kle == NULL) {
		if (to == DIR_NONE) {
			dir_rtext_printf(&m,
			                 "Ruten »%s« finder modtageren ud fra et KLE-nummer; angiv "
			                 "et KLE-nummer.",
			                 name);
			*problem = problem_422("kle", "required", m.s);
			free(m.s);
			return DIR_NONE;
		}
		dir_rtext_printf(reason, "Ruten sender til %s.", s->units[to].name);
		return to;
	}
	for (aspect = 0; aspect < 2; aspect++)
		if ((u = kle_find(s, to, aspect, kle, &from)) != DIR_NONE)
			break;
	if (u != DIR_NONE) {
		dir_rtext_printf(reason, "%s %s ", s->units[u].name, verbs[aspect]);
		dir_rtext_kle(reason, kle);
		if (from != DIR_NONE)
			dir_rtext_printf(reason, " (arvet fra %s)", s->units[from].name);
		dir_rtext_printf(reason, ".");
		return u;
	}
	if (to == DIR_NONE) {
		dir_rtext_printf(&m, "Ingen enhed er ansvarlig for eller udfører ");
		dir_rtext_kle(&m, kle);
		dir_rtext_printf(&m, ".");
		*problem = problem_422("kle", "no_unit", m.s);
		free(m.s);
		return DIR_NONE;
	}
	dir_rtext_printf(&m, "Ingen enhed under %s er markeret med ", s->units[to].name);
	dir_rtext_kle(&m, kle);
	dir_rtext_printf(&m, "; ruten sender til %s.", s->units[to].name);
	json_array_append_new(warnings, dir_rtext_json(&m));
	dir_rtext_printf(reason, "Ruten sender til %s.", s->units[to].name);
	return to;
}

/* Hints for facts the unit's rules need but the request lacks. */
void
dir_runit_missing_facts(const struct dir_snapshot *s, const struct resolve_facts *f, int u,
                        const struct citizen *z, json_t *warnings)
{
	unsigned uses = dir_rules_of(s)->units[u].uses & z->allowed;
	const char *name = s->units[u].name;
	struct sb b = {0};

	if ((uses & (1u << K_BIRTHDAY)) && z->day == 0) {
		dir_rtext_printf(
		    &b,
		    "Fødselsdato mangler: %s fordeler efter fødselsdag; angiv fødselsdato "
		    "eller CPR-nummer.",
		    name);
		json_array_append_new(warnings, dir_rtext_json(&b));
	}
	if ((uses & (1u << K_SURNAME)) && z->letter == NO_LETTER) {
		if (f->surname && *f->surname)
			dir_rtext_printf(
			    &b,
			    "Efternavnet begynder ikke med et bogstav fra A til Å, men %s "
			    "fordeler efter efternavn.",
			    name);
		else
			dir_rtext_printf(
			    &b, "Efternavn mangler: %s fordeler efter efternavn; angiv efternavn.",
			    name);
		json_array_append_new(warnings, dir_rtext_json(&b));
	}
	if ((uses & (1u << K_DISTRICT)) && z->district == NULL) {
		dir_rtext_printf(
		    &b, "Distrikt mangler: %s fordeler efter distrikt; angiv distrikt.", name);
		json_array_append_new(warnings, dir_rtext_json(&b));
	}
}

/* ---- fallback ---- */

/* The unit's intake: the nearest functional mailbox and the nearest lead
 * up the tree (never the caller). */
void
dir_runit_intake(const struct dir_snapshot *s, int caller, int u, const char **mailbox, int *lead,
                 int *lead_unit)
{
	size_t n = 0;

	*mailbox = NULL;
	*lead = *lead_unit = DIR_NONE;
	for (int v = u; v != DIR_NONE && n <= s->nunits; v = s->units[v].parent, n++) {
		const struct dir_unit *w = &s->units[v];
		if (*mailbox == NULL && w->mailbox && *w->mailbox)
			*mailbox = w->mailbox;
		if (*lead == DIR_NONE && w->lead >= 0 && (size_t)w->lead < s->npersons &&
		    w->lead != caller) {
			*lead = w->lead;
			*lead_unit = v;
		}
	}
}

json_t *
dir_runit_fallback(const struct dir_snapshot *s, const struct resolve_facts *f, int u, bool none)
{
	const char *mailbox;
	int lead, lead_unit;
	json_t *o = json_object(), *l = json_null();
	struct sb b = {0};

	dir_runit_intake(s, f->caller, u, &mailbox, &lead, &lead_unit);
	if (lead != DIR_NONE) {
		const struct dir_person *p = &s->persons[lead];
		l = dir_rtext_person_ref(s, lead);
		json_object_set_new(l, "email", dir_rtext_or_null(p->email));
		json_object_set_new(l, "phone", dir_rtext_or_null(p->phone));
	}
	json_object_set_new(o, "mailbox", dir_rtext_or_null(mailbox));
	json_object_set_new(o, "lead", l);

	dir_rtext_printf(&b, "%s",
	                 none ? "Ingen sagsbehandler matcher fordelingsreglerne; "
	                      : "Hvis ingen af kandidaterne kan tage sagen: ");
	if (mailbox)
		dir_rtext_printf(&b, "skriv til %s", mailbox);
	if (mailbox && lead != DIR_NONE)
		dir_rtext_printf(&b, " eller ");
	if (lead != DIR_NONE) {
		dir_rtext_printf(&b, "kontakt lederen %s", s->persons[lead].display_name);
		if (lead_unit != u)
			dir_rtext_printf(&b, " (leder for %s)", s->units[lead_unit].name);
	}
	if (!mailbox && lead == DIR_NONE)
		dir_rtext_printf(&b, "%s har hverken en postkasse eller en leder i kataloget",
		                 s->units[u].name);
	dir_rtext_printf(&b, ".");
	json_object_set_new(o, "reason", dir_rtext_json(&b));
	return o;
}

/* ---- the myndighedssnit ---- */

json_t *
dir_runit_myndighedssnit(const struct dir_snapshot *s, const struct resolve_route *r,
                         const struct resolve_facts *f, int u, json_t *warnings)
{
	/* indexed by enum resolve_employment */
	static const char *const says[] = {
	    NULL,
	    "er i job",
	    "er under uddannelse",
	    "har en beskæftigelsessag",
	    "har en uddannelsessag",
	    "er under afklaring til førtidspension",
	    "har fået tilkendt førtidspension",
	    "har fået tilkendt folkepension",
	};
	static const char *const status[] = {
	    NULL,
	    "i job",
	    "under uddannelse",
	    "beskæftigelsessag",
	    "uddannelsessag",
	    "under afklaring til førtidspension",
	    "tilkendt førtidspension",
	    "tilkendt folkepension",
	};
	const char *dept, *why, *have = s->units[u].department;
	struct sb b = {0};
	json_t *o;

	if (r->labour_market_department == NULL || r->pension_department == NULL)
		return json_null();
	if ((int)f->employment <= (int)EMP_UNKNOWN ||
	    (int)f->employment > (int)EMP_OLD_AGE_PENSION) {
		dir_rtext_printf(&b, "Angiv borgerens beskæftigelsesstatus: ruten følger "
		                     "myndighedssnittet.");
		json_array_append_new(warnings, dir_rtext_json(&b));
		return json_null();
	}
	if (f->employment == EMP_DISABILITY_PENSION || f->employment == EMP_OLD_AGE_PENSION) {
		dept = r->pension_department;
		why = "tilkendt pension";
	} else {
		dept = r->labour_market_department;
		why = "tilknytning til arbejdsmarkedet";
	}
	o = json_object();
	json_object_set_new(o, "department", dir_rtext_jstr(dept));
	dir_rtext_printf(&b, "Borgeren %s og hører til %s efter myndighedssnittet (%s).",
	                 says[f->employment], unit_name(s, dept), why);
	json_object_set_new(o, "reason", dir_rtext_json(&b));
	if (have == NULL || strcmp(have, dept) != 0) {
		dir_rtext_printf(&b,
		                 "Efter myndighedssnittet hører borgeren til %s (%s), men ruten "
		                 "sender til %s. Overvej den modsatte rute.",
		                 unit_name(s, dept), status[f->employment],
		                 have ? unit_name(s, have) : s->units[u].name);
		json_array_append_new(warnings, dir_rtext_json(&b));
	}
	return o;
}
