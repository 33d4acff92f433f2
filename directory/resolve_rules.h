/*
 * resolve_rules.h: the allocation rules of a snapshot, compiled for
 * resolve.c (resolve_rules.c). Internal to the directory module.
 */
#ifndef STAFET_RESOLVE_RULES_H
#define STAFET_RESOLVE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory.h"

#define NO_LETTER      (-1)
#define DANISH_LETTERS 29 /* A..Z Æ Ø Å */
#define BIRTHDAY_DAYS  31

/* Allocation kinds, in the order a reason names them. */
enum kind { K_TARGET_GROUP, K_DISTRICT, K_SURNAME, K_BIRTHDAY, NKINDS };
extern const char *const dir_rules_kind_names[NKINDS];

/*
 * The snapshot's allocation rules compiled once (on the first resolution
 * against it): per unit, its members that have any rule (the lead left out)
 * in one array, their rules in another and their target groups in a third,
 * each member's consecutive. Day and letter ranges are integers, districts
 * and target groups folded and numbered (the same name, the same number),
 * kind names bits. A resolution then walks three arrays in order and
 * compares integers, touching neither the people nor their strings: the
 * profile of the version that followed pointers per member showed two
 * thirds of dir_resolve in cache misses (bench/README.md).
 */
struct crule {
	int kind;
	int lo, hi;   /* birthday days, surname letters */
	int district; /* its number */
	long width;   /* in 1/(31*29) */
	const struct dir_alloc *a;
};
struct cmember {
	uint64_t idhash; /* dir_rules_id_hash of the person's id: the rotation's */
	int person;
	int pos;        /* place in the unit's member order */
	unsigned kinds; /* bit k: has a readable rule of kind k */
	int rule0, nrules;
	int group0, ngroups; /* numbers of the folded target groups, in the person's order */
};
/*
 * Members whose rules are the same (kinds, each rule's kind, range and
 * district in order, target groups in order) are judged the same for
 * every citizen: one class. A resolution judges one member per class and
 * touches the others only to pick the few it shows, so its cost follows
 * the number of classes (a handful per unit), not of members.
 */
struct cclass {
	uint32_t m0, n; /* its members: m[m0 .. m0 + n), in the unit's order */
};
struct cunit {
	struct cmember *m; /* grouped by class, each class in the unit's order */
	size_t n;
	struct crule *rules;
	int *groups;
	unsigned uses; /* bit k: some member has a rule of kind k */
	struct cclass *classes;
	size_t nclasses;
	/* by_rot[m0 .. m0 + n): a class's members (indices into m) by the
	 * rotation's hash, then by their order: walked as a binary trie to
	 * find the first by hash ^ seed without visiting all */
	uint32_t *by_rot;
	/* rot_hi[i]: the high half of by_rot[i]'s hash, so that the trie's
	 * upper levels read one small array, not the members */
	uint32_t *rot_hi;
};
struct resolve_cache {
	struct cunit *units;
	size_t nunits;
	char **names; /* folded district and target group names, by number */
	size_t nnames, cap;
	int *slots; /* open addressing over names: number + 1, 0 free */
	size_t nslots;
};

/* The Danish alphabet position (A=0 .. Å=28) a name sorts by; NO_LETTER if none. */
int dir_rules_letter(const char *name);
/* A range rule's days or letters and its width in 1/(31*29); -1 if malformed. */
long dir_rules_width(int kind, const struct dir_alloc *a, int *lo, int *hi);
/* s folded (dir_fold), in a new string. */
char *dir_rules_folded(const char *s);
/* A folded name's number; with add, a new one is numbered; else -2. */
int dir_rules_name_number(struct resolve_cache *, const char *folded, bool add);
/* A stable hash of a person's id (the rotation's, resolve.c). */
uint64_t dir_rules_id_hash(const char *id);
/* The snapshot's compiled rules; built on first use (loop thread only). */
struct resolve_cache *dir_rules_of(const struct dir_snapshot *);

#endif
