/*
 * resolve_answer.c: settling equal colleagues and the one answer of a
 * counterpart resolution (resolve.c; API.md "Counterparts: one answer"):
 * the route's steps (continuity, load, rotation), the order they give and
 * a Danish sentence for each step, the candidates' reasons and JSON, the
 * answer (built or written), and the age against the route's window.
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

/* ---- settling a tie (API.md "Counterparts: one answer") ---- */

/* splitmix64's finalizer: every bit of the input moves every bit. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The rotation's seed: the citizen (their CPR number's key, else their
 * birth date) and the day. The same lookup on the same day gets the same
 * turn on every daemon; another citizen, or the next day, another.
 */
uint64_t
dir_ranswer_seed(const struct resolve_facts *f)
{
	uint64_t h = f->citizen_seed ? f->citizen_seed : dir_rules_id_hash(f->birthdate);
	return mix64(h ^ mix64(dir_rules_id_hash(f->date)));
}

/* The route's steps, in force: its list, rotation last. */
void
dir_ranswer_steps(struct dir_resolution *res, const struct resolve_route *r)
{
	bool rot = false;

	res->nsteps = 0;
	for (size_t i = 0; i < r->ntie_break && i < 3; i++) {
		if ((int)r->tie_break[i] < 0 || (int)r->tie_break[i] > STEP_ROTATION)
			continue;
		res->steps[res->nsteps++] = r->tie_break[i];
		rot = rot || r->tie_break[i] == STEP_ROTATION;
	}
	if (r->ntie_break == 0) {
		res->steps[0] = STEP_CONTINUITY;
		res->steps[1] = STEP_LOAD;
		res->nsteps = 2;
	}
	if (!rot && res->nsteps < 3)
		res->steps[res->nsteps++] = STEP_ROTATION;
}

static const char *const step_names[] = {"continuity", "load", "rotation"};

static const struct tie *
tie_of(const struct dir_resolution *res, const struct cand *c)
{
	return c->tie >= 0 ? &res->ties[c->tie] : NULL;
}

/*
 * Orders two equal colleagues by the route's steps; *step gets the step
 * that told them apart. A step without data for both is passed over.
 */
static int
step_cmp(const struct dir_resolution *res, const struct cand *a, const struct cand *b, int *step)
{
	const struct tie *x = tie_of(res, a), *y = tie_of(res, b);

	for (size_t i = 0; i < res->nsteps; i++) {
		int c = 0;
		switch (res->steps[i]) {
		case STEP_CONTINUITY:
			if (!res->have_cont || !x || !y)
				continue;
			if (x->cont != y->cont)
				c = x->cont ? -1 : 1;
			else if (x->cont)
				c = -strcmp(x->cont_at, y->cont_at);
			break;
		case STEP_LOAD:
			if (!res->have_load || !x || !y || x->open < 0 || y->open < 0)
				continue;
			/* Load and rotation choose among those present: an absent
			 * colleague's desk does not fill, and their deputy would
			 * take every case. Continuity alone may choose the absent. */
			if (x->away != y->away)
				c = x->away ? 1 : -1;
			else
				c = x->open < y->open ? -1 : x->open > y->open;
			break;
		case STEP_ROTATION:
			if (x && y && x->away != y->away)
				c = x->away ? 1 : -1;
			else
				c = a->rot < b->rot ? -1 : a->rot > b->rot;
			break;
		}
		if (c) {
			*step = (int)res->steps[i];
			return c;
		}
	}
	*step = STEP_ROTATION;
	return a->pos - b->pos;
}

/*
 * The equal colleagues with data in the steps' order (at most TIE_MAX:
 * insertion sort), and each one's tie_break: the step that told it from
 * the next (the last: from the one before; those past TIE_MAX stand later
 * in the rotation).
 */
void
dir_ranswer_settle(struct dir_resolution *res)
{
	struct cand *cs = res->cs;
	int step;

	for (size_t i = 1; i < res->ntie; i++) {
		struct cand c = cs[i];
		size_t j = i;
		while (j > 0 && step_cmp(res, &c, &cs[j - 1], &step) < 0) {
			cs[j] = cs[j - 1];
			j--;
		}
		cs[j] = c;
	}
	for (size_t i = 0; i < res->ntie; i++) {
		struct tie *t = &res->ties[cs[i].tie];
		if (res->ngroup < 2)
			t->step = -1;
		else if (i + 1 < res->ntie)
			step_cmp(res, &cs[i], &cs[i + 1], &t->step);
		else if (res->ntie < res->ngroup)
			t->step = STEP_ROTATION;
		else
			step_cmp(res, &cs[i - 1], &cs[i], &t->step);
	}
}

/* The day of an earlier receipt ("6. marts"). */
static void
sb_cont_day(struct sb *b, const struct tie *t, const char *date)
{
	char day[11];
	memcpy(day, t->cont_at, 10);
	day[10] = '\0';
	dir_rtext_day(b, day, date);
}

static const char *
pname(const struct dir_resolution *res, const struct cand *c)
{
	return res->s->persons[c->person].display_name;
}

/* Between a present and an absent colleague: the present one first. */
static void
sb_away(struct sb *b, const struct dir_resolution *res, const struct cand *c, const struct cand *o,
        bool c_away)
{
	if (c_away)
		dir_rtext_printf(b, "%s er fraværende, så %s går foran.", pname(res, c),
		                 pname(res, o));
	else
		dir_rtext_printf(b, "%s går foran %s, som er fraværende.", pname(res, c),
		                 pname(res, o));
}

/*
 * What tells equal colleague gi from the next (the last: from the one
 * before), in Danish, appended to b; returns the step (tie_break).
 */
int
dir_ranswer_tie(struct sb *b, const struct dir_resolution *res, size_t gi)
{
	const struct cand *c = &res->cs[gi], *o;
	const struct tie *x = tie_of(res, c), *y;
	bool last = gi + 1 >= res->ngroup;
	int step = x ? x->step : STEP_ROTATION;

	if (x == NULL) { /* past TIE_MAX: no data, later in the turn */
		dir_rtext_printf(b, "%s står senere i dagens tur blandt %zu ligestillede kolleger.",
		                 pname(res, c), res->ngroup);
		return STEP_ROTATION;
	}
	o = last ? &res->cs[gi - 1] : &res->cs[gi + 1];
	y = tie_of(res, o);
	switch (step) {
	case STEP_CONTINUITY:
		if (!last && x->cont && y && y->cont) {
			dir_rtext_printf(b, "%s modtog senest en overdragelse om borgeren (",
			                 pname(res, c));
			sb_cont_day(b, x, res->date);
			dir_rtext_printf(b, "); %s før det.", pname(res, o));
		} else if (!last) {
			dir_rtext_printf(b, "%s har før modtaget en overdragelse om borgeren (",
			                 pname(res, c));
			sb_cont_day(b, x, res->date);
			dir_rtext_printf(b, ").");
		} else if (x->cont) {
			dir_rtext_printf(b, "%s modtog en overdragelse om borgeren før %s gjorde.",
			                 pname(res, o), pname(res, c));
		} else {
			dir_rtext_printf(b, "%s har ikke før modtaget en overdragelse om borgeren.",
			                 pname(res, c));
		}
		break;
	case STEP_LOAD:
		if (y && x->away != y->away) {
			sb_away(b, res, c, o, x->away);
			break;
		}
		if (gi == 0)
			dir_rtext_printf(b, "%s har færrest åbne overdragelser (%d).",
			                 pname(res, c), x->open);
		else if (!last && y)
			dir_rtext_printf(b, "%s har færre åbne overdragelser (%d) end %s (%d).",
			                 pname(res, c), x->open, pname(res, o), y->open);
		else if (y)
			dir_rtext_printf(b, "%s har flere åbne overdragelser (%d) end %s (%d).",
			                 pname(res, c), x->open, pname(res, o), y->open);
		break;
	default:
		if (y && x->away != y->away) {
			sb_away(b, res, c, o, x->away);
			break;
		}
		if (res->have_load && x->open >= 0 && y && y->open == x->open)
			dir_rtext_printf(b, "%s og %s har lige mange åbne overdragelser (%d); ",
			                 pname(res, c), pname(res, o), x->open);
		if (last)
			dir_rtext_printf(b, "%s står efter %s i dagens tur.", pname(res, c),
			                 pname(res, o));
		else
			dir_rtext_printf(b, "%s står før %s i dagens tur.", pname(res, c),
			                 pname(res, o));
		break;
	}
	return step;
}

/* ---- the candidates: their reasons and JSON ---- */

/* "målgruppe »Unge med sociale problemer« og fødselsdag 11.–20." */
void
dir_ranswer_rules(struct sb *b, const struct dir_snapshot *s, const struct cand *c)
{
	int n = 0;

	for (int k = 0; k < NKINDS; k++) {
		const struct dir_alloc *a;
		int lo, hi;

		if (!c->matched[k])
			continue;
		a = c->rule[k]; /* never set for K_TARGET_GROUP: group_idx says */
		if (n > 0)
			dir_rtext_printf(b, "%s", n + 1 == c->nmatched ? " og " : ", ");
		n++;
		switch (k) {
		case K_TARGET_GROUP:
			dir_rtext_printf(b, "målgruppe ");
			dir_rtext_group(b, s->persons[c->person].target_groups[c->group_idx]);
			break;
		case K_DISTRICT:
			dir_rtext_printf(b, "distrikt %s", a->from);
			break;
		case K_SURNAME:
			if (a->to)
				dir_rtext_printf(b, "efternavn %s–%s", a->from, a->to);
			else
				dir_rtext_printf(b, "efternavn %s", a->from);
			break;
		case K_BIRTHDAY:
			dir_rules_width(K_BIRTHDAY, a, &lo, &hi);
			if (hi != lo)
				dir_rtext_printf(b, "fødselsdag %d.–%d.", lo, hi);
			else
				dir_rtext_printf(b, "fødselsdag %d.", lo);
			break;
		}
	}
}

void
dir_ranswer_absence(struct sb *b, const struct dir_person *p, const char *date)
{
	if (*p->absent_until) {
		dir_rtext_printf(b, "%s er fraværende til ", p->display_name);
		dir_rtext_day(b, p->absent_until, date);
	} else {
		dir_rtext_printf(b, "%s er fraværende indtil videre", p->display_name);
	}
}

json_t *
dir_ranswer_shown_json(const struct dir_resolution *res, const struct shown *c, size_t rank)
{
	json_t *o = json_object();

	json_object_set_new(o, "rank", json_integer((json_int_t)rank));
	json_object_set_new(o, "reason", dir_rtext_jstr(c->reason ? c->reason : ""));
	json_object_set_new(o, "tie_break",
	                    c->step >= 0 ? json_string(step_names[c->step]) : json_null());
	json_object_set_new(o, "available", json_boolean(c->available));
	json_object_set_new(o, "acting_for",
	                    c->acting_for != DIR_NONE ? dir_rtext_person_ref(res->s, c->acting_for)
	                                              : json_null());
	return o;
}

/* A candidate but its "person" (written before it), as dir_ranswer_shown_json has it. */
void
dir_ranswer_shown_write(struct evbuffer *b, const struct dir_resolution *res, const struct shown *c,
                        size_t rank)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%zu", rank);

	ADD_LIT(b, ",\"rank\":");
	evbuffer_add(b, num, (size_t)n);
	ADD_LIT(b, ",\"reason\":");
	dir_rtext_ev_str(b, c->reason ? c->reason : "", c->reason ? c->len : 0);
	ADD_LIT(b, ",\"tie_break\":");
	if (c->step >= 0) {
		ADD_LIT(b, "\"");
		evbuffer_add(b, step_names[c->step], strlen(step_names[c->step]));
		ADD_LIT(b, "\"");
	} else {
		ADD_LIT(b, "null");
	}
	if (c->available)
		ADD_LIT(b, ",\"available\":true,\"acting_for\":");
	else
		ADD_LIT(b, ",\"available\":false,\"acting_for\":");
	dir_rtext_ref_write(b, res->s, c->acting_for);
}

/* ---- plausibility ---- */

/* Whole years from born to date (both YYYY-MM-DD); -1 unknown. */
static int
age_on(const char *born, const char *date)
{
	int y;

	if (!clock_date_valid(born, strlen(born)) || !clock_date_valid(date, strlen(date)))
		return -1;
	y = dir_rtext_digits(date, 4) - dir_rtext_digits(born, 4);
	if (strcmp(date + 5, born + 5) < 0)
		y--;
	return y < 0 ? -1 : y;
}

/*
 * "citizen" {birthdate, age_on_date} and "plausibility" {ok, route_ages,
 * message}: the age on the lookup's date against the route's window, the
 * message naming the units, not their codes.
 */
void
dir_ranswer_plausibility(json_t *o, const struct dir_snapshot *s, const struct resolve_route *r,
                         const struct resolve_facts *f, int u, bool known)
{
	static const char *const months[] = {"januar",    "februar", "marts",    "april",
	                                     "maj",       "juni",    "juli",     "august",
	                                     "september", "oktober", "november", "december"};
	int age = known ? age_on(f->birthdate, f->date) : -1, from;
	bool ok = age < 0 || !r->has_ages || (age >= r->age_min && age <= r->age_max);
	json_t *p = json_object();
	struct sb b = {0};

	json_object_set_new(o, "citizen",
	                    json_pack("{s:o, s:o}", "birthdate",
	                              dir_rtext_or_null(known ? f->birthdate : NULL), "age_on_date",
	                              age >= 0 ? json_integer(age) : json_null()));
	json_object_set_new(p, "ok", json_boolean(ok));
	json_object_set_new(p, "route_ages",
	                    r->has_ages ? json_pack("[i, i]", r->age_min, r->age_max)
	                                : json_null());
	if (!ok) {
		from = r->from_unit ? dir_lookup_unit(s, r->from_unit) : DIR_NONE;
		dir_rtext_printf(&b, "Borgeren er %d år den %d. %s %.4s; ruten ", age,
		                 dir_rtext_digits(f->date + 8, 2),
		                 months[dir_rtext_digits(f->date + 5, 2) - 1], f->date);
		if (from != DIR_NONE)
			dir_rtext_printf(&b, "fra %s ", s->units[from].name);
		dir_rtext_printf(
		    &b, "til %s er for %s på %d–%d år. Er %s rigtig%s?", s->units[u].name,
		    r->age_max <= 25 ? "unge" : "borgere", r->age_min, r->age_max,
		    f->from_cpr ? "CPR-nummeret" : "fødselsdatoen", f->from_cpr ? "t" : "");
		json_object_set_new(p, "message", dir_rtext_json(&b));
	} else {
		json_object_set_new(p, "message", json_null());
	}
	json_object_set_new(o, "plausibility", p);
}

/* ---- the answer ---- */

/* "Henrik Iversen tager sagen: ..." for the answer */
static void
sb_why(struct sb *b, const struct dir_resolution *res, const struct entry *e, const char *by)
{
	const struct dir_snapshot *s = res->s;
	const struct dir_unit *unit = &s->units[res->u];
	const struct dir_person *p = &s->persons[e->c->person];
	size_t gi = (size_t)(e->c - res->cs);

	if (e->deputy != DIR_NONE) {
		dir_rtext_printf(
		    b, "%s tager sagen som stedfortræder: ", s->persons[e->deputy].display_name);
		dir_ranswer_absence(b, p, res->date);
		dir_rtext_printf(b, ". ");
	} else {
		dir_rtext_printf(b, "%s tager sagen: ", p->display_name);
	}
	if (strcmp(by, "continuity") == 0 && res->ngroup < 2) {
		dir_rtext_printf(b, "%s tager nye sager ind gennem visitationen, men ", unit->name);
		dir_rtext_printf(b, "%s har før modtaget en overdragelse om borgeren (",
		                 p->display_name);
		sb_cont_day(b, tie_of(res, e->c), res->date);
		dir_rtext_printf(b, ").");
	} else if (res->ngroup >= 2 && gi < res->ngroup) {
		dir_rtext_printf(b, "%zu kolleger i %s passer lige godt på fordelingen (",
		                 res->ngroup, unit->name);
		dir_ranswer_rules(b, s, e->c);
		dir_rtext_printf(b, "). ");
		dir_ranswer_tie(b, res, gi);
	} else {
		dir_rtext_printf(b, "%s fordeler efter ", unit->name);
		dir_ranswer_rules(b, s, e->c);
		dir_rtext_printf(b, " → %s.", p->display_name);
	}
}

/* The answer: the first available entry, or the unit's intake. */
void
dir_ranswer_fill(struct dir_resolution *res, const struct entry *es, size_t ne)
{
	const struct dir_snapshot *s = res->s;
	const struct dir_unit *unit = &s->units[res->u];
	const struct entry *e = NULL;
	const struct tie *t;
	const char *by;
	struct sb b = {0};
	struct answer *o = &res->answer;
	bool cont;

	for (size_t i = 0; i < ne && e == NULL; i++)
		if (es[i].available)
			e = &es[i];
	t = e ? tie_of(res, e->c) : NULL;
	cont = t && res->have_cont && t->cont && (size_t)(e->c - res->cs) == 0;
	if (e == NULL || (res->intake && !cont)) {
		o->intake = true;
		o->person = res->lead;
		o->decided_by = "intake";
		if (e == NULL)
			dir_rtext_printf(
			    &b,
			    "Ingen i %s er til rådighed efter fordelingsreglerne, så sagen "
			    "går til visitationen: ",
			    unit->name);
		else
			dir_rtext_printf(
			    &b, "%s tager nye sager ind gennem visitationen: ", unit->name);
		if (res->mailbox)
			dir_rtext_printf(&b, "skriv til %s", res->mailbox);
		if (res->mailbox && res->lead != DIR_NONE)
			dir_rtext_printf(&b, "; ");
		if (res->lead != DIR_NONE)
			dir_rtext_printf(&b, "lederen %s fordeler sagen",
			                 s->persons[res->lead].display_name);
		if (!res->mailbox && res->lead == DIR_NONE)
			dir_rtext_printf(&b,
			                 "%s har hverken en postkasse eller en leder i kataloget",
			                 unit->name);
		dir_rtext_printf(&b, ".");
		o->why = b.s;
		o->len = b.len;
		return;
	}
	if (e->deputy != DIR_NONE)
		by = "deputy";
	else if (res->intake)
		by = "continuity";
	else if (res->ngroup >= 2 && (size_t)(e->c - res->cs) < res->ngroup)
		by = step_names[t ? (t->step >= 0 ? t->step : STEP_ROTATION) : STEP_ROTATION];
	else
		by = "rule";
	o->intake = false;
	o->person = e->shown;
	o->decided_by = by;
	sb_why(&b, res, e, by);
	o->why = b.s;
	o->len = b.len;
}

json_t *
dir_ranswer_json(const struct dir_resolution *res)
{
	const struct answer *a = &res->answer;

	return json_pack(
	    "{s:s, s:o, s:o, s:s, s:o}", "kind", a->intake ? "intake" : "person", "person",
	    a->person != DIR_NONE ? dir_rtext_person_ref(res->s, a->person) : json_null(), "unit",
	    dir_rtext_jstr(res->s->units[res->u].code), "decided_by", a->decided_by, "why",
	    dir_rtext_jstr(a->why ? a->why : ""));
}

/* "answer":{...}, as dir_ranswer_json has it. */
void
dir_ranswer_write(struct evbuffer *b, const struct dir_resolution *res)
{
	const struct answer *a = &res->answer;
	const char *code = res->s->units[res->u].code;

	ADD_LIT(b, "\"answer\":{\"kind\":\"");
	evbuffer_add(b, a->intake ? "intake" : "person", 6);
	ADD_LIT(b, "\",\"person\":");
	dir_rtext_ref_write(b, res->s, a->person);
	ADD_LIT(b, ",\"unit\":");
	dir_rtext_ev_str(b, code, strlen(code));
	ADD_LIT(b, ",\"decided_by\":\"");
	evbuffer_add(b, a->decided_by, strlen(a->decided_by));
	ADD_LIT(b, "\",\"why\":");
	dir_rtext_ev_str(b, a->why ? a->why : "", a->why ? a->len : 0);
	ADD_LIT(b, "},");
}
