/*
 * resolve_int.h: what the files of counterpart resolution share (resolve.c,
 * resolve_unit.c, resolve_answer.c, resolve_text.c): the resolution's
 * types and each file's functions for the others. Internal to them; calls
 * run one way: resolve.c to resolve_answer.c and resolve_unit.c, all three
 * to resolve_text.c.
 */
#ifndef STAFET_RESOLVE_INT_H
#define STAFET_RESOLVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"

struct evbuffer;

#define MAX_CANDIDATES 10

/* A growable string for reasons and messages. */
struct sb {
	char *s;
	size_t len, cap;
};

/* What one person's rules say about the citizen. */
struct cand {
	int person;
	int pos; /* in the unit's member order (by display name) */
	int nmatched;
	long width; /* sum of matched widths, in 1/(31*29) */
	bool matched[NKINDS];
	const struct dir_alloc *rule[NKINDS]; /* narrowest matching rule */
	int group_idx;                        /* the matching target group, in the person's list */
	uint64_t rot;                         /* the rotation's turn (equal colleagues only) */
	int tie;                              /* its data in the resolution's ties, or -1 */
};

/* What settles a tie for one of the equal colleagues (from the caller). */
struct tie {
	int open;         /* open notes on their desk; -1 unknown */
	bool cont;        /* they received a note for this citizen before */
	char cont_at[32]; /* when, last (sortable) */
	int step;         /* tie_break: the step that decided their place; -1 none */
	bool away;        /* absent on the lookup's date */
};

/* The one answer (API.md "Counterparts: one answer"). */
struct answer {
	bool intake;            /* kind intake, else person */
	int person;             /* the person, the intake's lead, or DIR_NONE */
	const char *decided_by; /* static */
	char *why;              /* owned */
	size_t len;
};

/* A candidate as the answer shows it. */
struct shown {
	int person;     /* the person shown (a deputy, for the absent) */
	int acting_for; /* the absent one a deputy stands in for, or DIR_NONE */
	bool available;
	int step;     /* tie_break, or -1 */
	char *reason; /* owned */
	size_t len;
};

#define ADD_LIT(b, lit) evbuffer_add((b), (lit), sizeof(lit) - 1)

/* The citizen's facts, reduced to what allocation compares. */
struct citizen {
	int day;                  /* 1..31, 0 unknown */
	int letter;               /* NO_LETTER unknown */
	const char *district;     /* folded; NULL unknown */
	const char *group;        /* folded; the citizen is in it; NULL unknown */
	const char *not_in_group; /* folded; the citizen is known not to be in it */
	unsigned allowed;         /* bit k: kind k counts on this route */
};

#define TIE_MAX 32 /* equal colleagues whose data is asked for */

/* The citizen's names as the rules cache's numbers: -1 not given, -2 no one's. */
struct znums {
	int district, group, not_in_group;
};

/* A class of the unit's members (resolve_rules.h) that matches, its key. */
struct mclass {
	uint32_t c;
	int nmatched;
	long width;
};

struct dir_resolution {
	const struct dir_snapshot *s;
	int u;
	char date[11];
	enum resolve_step steps[3];
	size_t nsteps;
	bool intake, have_load, have_cont;
	/* cs[0..nmat): the candidates judged so far, in the order the walk
	 * takes them (the chosen equal ones first, then rank order); nc:
	 * how many match in all (most are never judged one by one) */
	struct cand *cs;
	size_t nc, nmat, cap;
	/* what judging the rest needs (resolve.c, next_rest) */
	const struct cunit *cu;
	struct citizen z;
	struct znums zn;
	char *fdistrict, *fgroup; /* z points into them */
	struct mclass *mc;        /* the matching classes, by rank */
	size_t nmc, grp0, grp1;   /* mc[grp0..grp1): the key being walked */
	uint32_t *cur;            /* per mc: its next member */
	uint32_t *heap;           /* mc[grp0..grp1) with members left, by the next's order */
	size_t nheap;
	uint32_t chosen[TIE_MAX]; /* members in cs[0..nchosen): skipped by the rest */
	size_t nchosen;
	size_t ngroup; /* cs[0..ngroup): equal by the rules, the best */
	size_t ntie;   /* cs[0..ntie) of them: with data, ordered by the steps */
	struct tie ties[TIE_MAX];
	int lead;            /* the intake's lead, or DIR_NONE */
	const char *mailbox; /* the intake's mailbox (the snapshot's), or NULL */
	struct shown shown[MAX_CANDIDATES];
	size_t nshown;
	struct answer answer;
	json_t *o; /* the answer but "candidates" and "answer" */
};

struct entry {
	const struct cand *c;
	size_t ci; /* c's index in cs (cs may move while the walk grows it) */
	int shown; /* the person the entry shows */
	bool available;
	int deputy; /* when the absent candidate's deputy stands in */
};

/* resolve_text.c */
void dir_rtext_printf(struct sb *, const char *, ...) PRINTFLIKE(2, 3);
json_t *dir_rtext_jstr(const char *);
json_t *dir_rtext_json(struct sb *);
json_t *dir_rtext_or_null(const char *);
int dir_rtext_digits(const char *, size_t);
void dir_rtext_day(struct sb *, const char *ymd, const char *date);
json_t *dir_rtext_person_ref(const struct dir_snapshot *, int);
void dir_rtext_ev_str(struct evbuffer *, const char *, size_t);
void dir_rtext_ref_write(struct evbuffer *, const struct dir_snapshot *, int);
bool dir_rtext_members(struct evbuffer *, const json_t *);
/* "KLE 27.39.00 »name«" (the name from daemon/names.c, when known). */
void dir_rtext_kle(struct sb *, const char *kle);
/* A target group's Danish name in »«, or its key when it has none. */
void dir_rtext_group(struct sb *, const char *key);

/* resolve_unit.c */
int dir_runit_receiving(const struct dir_snapshot *, const struct resolve_route *, const char *kle,
                        struct sb *reason, json_t *warnings, json_t **problem);
void dir_runit_missing_facts(const struct dir_snapshot *, const struct resolve_facts *, int u,
                             const struct citizen *, json_t *warnings);
void dir_runit_intake(const struct dir_snapshot *, int caller, int u, const char **mailbox,
                      int *lead, int *lead_unit);
json_t *dir_runit_fallback(const struct dir_snapshot *, const struct resolve_facts *, int u,
                           bool none);
json_t *dir_runit_myndighedssnit(const struct dir_snapshot *, const struct resolve_route *,
                                 const struct resolve_facts *, int u, json_t *warnings);

/* resolve_answer.c */
void dir_ranswer_steps(struct dir_resolution *, const struct resolve_route *);
uint64_t dir_ranswer_seed(const struct resolve_facts *);
void dir_ranswer_settle(struct dir_resolution *);
int dir_ranswer_tie(struct sb *, const struct dir_resolution *, size_t gi);
void dir_ranswer_rules(struct sb *, const struct dir_snapshot *, const struct cand *);
void dir_ranswer_absence(struct sb *, const struct dir_person *, const char *date);
json_t *dir_ranswer_shown_json(const struct dir_resolution *, const struct shown *, size_t rank);
void dir_ranswer_shown_write(struct evbuffer *, const struct dir_resolution *, const struct shown *,
                             size_t rank);
void dir_ranswer_plausibility(json_t *o, const struct dir_snapshot *, const struct resolve_route *,
                              const struct resolve_facts *, int u, bool known);
void dir_ranswer_fill(struct dir_resolution *, const struct entry *, size_t ne);
json_t *dir_ranswer_json(const struct dir_resolution *);
void dir_ranswer_write(struct evbuffer *, const struct dir_resolution *);

#endif
