/*
 * directory.h: the directory mirror: an immutable in-memory snapshot of
 * people and units read from LDAP, its search index, and the sync that
 * builds it. Prototypes grouped by the file that defines them.
 */
#ifndef DIRECTORY_H
#define DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define DIR_NONE (-1)

/* An allocation rule: "birthday:11-20", "surname:A-K", "district:Vollsmose". */
struct dir_alloc {
	const char *kind; /* birthday, surname, district, ... */
	const char *from; /* "11", "A", or the whole value for district-like kinds */
	const char *to;   /* "20", "K", or NULL */
};

struct dir_person {
	const char *id; /* entryUUID, or objectGUID as a UUID string */
	const char *dn;
	const char *username;
	const char *upn; /* AD userPrincipalName, or NULL */
	const char *display_name;
	const char *given_name;
	const char *surname;
	const char *title;
	const char *email;
	const char *phone;
	const char *mobile;
	const char *office;
	int unit; /* index into snapshot units, or DIR_NONE */
	const char **target_groups;
	size_t ntarget_groups;
	struct dir_alloc *alloc;
	size_t nalloc;
	char absent_from[11]; /* YYYY-MM-DD, "" when none */
	char absent_until[11];
	int deputy;          /* person index, or DIR_NONE */
	int manager;         /* person index, or DIR_NONE */
	const char **groups; /* DNs of groups, nested membership resolved */
	size_t ngroups;
	/* The API's JSON, pre-rendered but "absent" and the final "}", in
	 * three parts: the person's own fields (json), "unit" to "allocation"
	 * (json_mid) and "deputy" and "manager" (json_refs); the last two are
	 * kept once per snapshot for all who have the same (render.c). */
	const char *json, *json_mid, *json_refs;
	uint32_t json_len, json_mid_len, json_refs_len;
};

struct dir_unit {
	const char *code;
	const char *name;
	const char *department; /* code of the department (a top-level unit) */
	const char *mailbox;
	const char *dn;
	/* Whether new cases go to its intake (mailbox and lead): 1 yes, 0 no,
	 * -1 the directory does not say (the nearest unit above that says
	 * decides: dir_lookup_intake) */
	signed char intake;
	int parent;          /* unit index, or DIR_NONE */
	int lead;            /* person index, or DIR_NONE */
	const char **kle[3]; /* responsible, performing, insight */
	size_t nkle[3];
	int *children; /* unit indexes, sorted by code */
	size_t nchildren;
	int *members; /* person indexes, sorted by display name */
	size_t nmembers;
};

struct dir_index;
struct dir_arena;
struct dir_strings;

/*
 * A snapshot never changes once published. The loop holds one reference
 * as "current"; a request that keeps a snapshot across an asynchronous step
 * takes its own with dir_snapshot_ref().
 */
struct dir_snapshot {
	int refs;
	uint64_t generation;
	double synced_at; /* wall clock of the LDAP read it holds */
	char source[256]; /* the server it was read from */
	struct dir_person *persons;
	size_t npersons;
	struct dir_unit *units;
	size_t nunits;
	int *by_name; /* person indexes sorted by display name, then id */
	struct dir_index *index;
	struct dir_arena *arena;
	struct dir_strings *strings; /* while it is built: the strings kept once */
	/* resolve.c's compiled allocation rules, built on first use by the
	 * loop thread (the only one that resolves); freed with the snapshot. */
	struct resolve_cache *resolve_cache;
	/* lookups: open-addressing hash tables of indexes */
	int *id_table, *dn_table, *username_table, *upn_table, *unit_table;
	size_t table_size;
};

/*
 * Records: what the sync read from LDAP, mapped to our fields but with
 * references still as DNs. The sync keeps the record set between runs and
 * builds each snapshot from it; the persisted snapshot file holds records.
 */
struct dir_prec {
	char *dn, *id, *username, *upn, *display_name, *given_name, *surname, *title, *email,
	    *phone, *mobile, *office, *unit_code, *deputy_dn, *manager_dn, *absent_from,
	    *absent_until, *modified;
	struct strlist target_groups, allocation, member_of;
	/* dir_records_pack_person: one block holding the strings (and the
	 * target_groups and allocation lists) that a rename never rewrites;
	 * NULL when each string is its own allocation */
	char *packed;
	size_t packed_len;
};
struct dir_urec {
	char *dn, *id, *code, *name, *department, *mailbox, *lead_dn, *parent_dn, *modified;
	char *intake; /* the intake flag's value as read (LDAP Boolean), or NULL */
	struct strlist kle[3];
	struct strlist members, member_of; /* AD: units are groups, nested for the tree */
};
struct dir_grec {
	char *dn, *id, *name, *modified;
	struct strlist members;
};
struct dir_records {
	struct dir_prec *p;
	size_t np, capp;
	struct dir_urec *u;
	size_t nu, capu;
	struct dir_grec *g;
	size_t ng, capg;
	double synced_at;
	char source[256];
	char target_group_prefix[64]; /* AD: target groups are groups named so */
	char intake_prefix[64];       /* AD: units in a group named so take cases by intake */
	/* The groups' and unit groups' member lists were read whole: they, not
	 * the members' memberOf (which AD computes and which an incremental
	 * refresh does not re-read when only the group changed), say who is
	 * in which group and unit. False for records saved before this flag. */
	bool lists_whole;
	/* Renames seen (lowercased old DN → the DN now), kept across rounds and
	 * restarts: a reference the directory did not carry along (a deputy
	 * in a free-text attribute, a member list slapd keeps without refint)
	 * still finds the entry. NULL when none. */
	json_t *aliases;
};
/* records.c. A record owns its strings and lists; the *_free functions free
 * them and leave the record empty (the record itself is the caller's). */
void dir_records_free_person(struct dir_prec *);
/* Moves p's strings into one allocation (p->packed), all but deputy_dn,
 * manager_dn and member_of, which a rename may replace one by one: ~18
 * allocations a person become ~5 (984 bytes a person in records at
 * 200,000 people, ~630 after). A packed record's other strings and its
 * target_groups and allocation lists are not changed after; freeing it is
 * dir_records_free_person as before. Packing a packed record does nothing. */
void dir_records_pack_person(struct dir_prec *);
void dir_records_free_unit(struct dir_urec *);
void dir_records_free_group(struct dir_grec *);
/* Frees every record and the arrays; r itself is the caller's. */
void dir_records_free(struct dir_records *);
/* A new zeroed record at the end of r, owned by r: what the caller puts in
 * it (malloc'd strings, strlists) r frees. The pointer is valid only until
 * the next add. */
struct dir_prec *dir_records_add_person(struct dir_records *);
struct dir_urec *dir_records_add_unit(struct dir_records *);
struct dir_grec *dir_records_add_group(struct dir_records *);
/* A new JSON document of the records (the saved file's format); the caller
 * owns it (json_decref). r is only read. */
json_t *dir_records_to_json(const struct dir_records *);
/* The same document written to f one record at a time, never whole in
 * memory; 0, or -1 on a write error. r is only read. */
int dir_records_write(FILE *, const struct dir_records *);
/* Fills r (overwritten, not freed first) from a document of that format;
 * 0, or -1 for another format. Either way r owns what it holds and the
 * caller frees it with dir_records_free; nothing of doc is kept. */
int dir_records_from_json(json_t *, struct dir_records *);
/* The same from the document's text (len bytes, read only), a record at a
 * time, never whole in memory as JSON objects; 0, or -1 (r empty) for text
 * it does not read (dir_records_from_json may) or another format. */
int dir_records_read(const char *, size_t, struct dir_records *);

/* snapshot.c */
/* A new snapshot holding one reference, which the caller owns (give it back
 * with dir_snapshot_unref). The records are copied: the caller keeps them. */
struct dir_snapshot *dir_snapshot_build(const struct dir_records *, uint64_t generation);
/* One more reference, for the caller (loop thread only). */
void dir_snapshot_ref(struct dir_snapshot *);
/* Gives one reference back; the last frees the snapshot and everything
 * pointing into it. NULL is a no-op. */
void dir_snapshot_unref(struct dir_snapshot *);
/* Whether a freed snapshot's pages wait to be given back; dir_snapshot_trim
 * gives them back (slow: the sync thread's) and says whether any waited. */
bool dir_snapshot_trim_due(void);
bool dir_snapshot_trim(void);
/* Marks the pages freed by something else than a snapshot (a full load's
 * reading, the old records) as waiting for dir_snapshot_trim. */
void dir_snapshot_trim_soon(void);
/* "20260303000000Z" or "2026-03-03..." as "2026-03-03" written into out;
 * returns out, or NULL (out empty) when v is not a date. v is only read. */
char *dir_snapshot_date_from_ldap(const char *generalized, char out[11]);

/* lookup.c. An index into s->persons (s->units), or DIR_NONE; nothing is
 * allocated, and the index is valid as long as the caller's reference to
 * s. s and the key may be NULL (DIR_NONE). */
int dir_lookup_person(const struct dir_snapshot *, const char *id);
int dir_lookup_dn(const struct dir_snapshot *, const char *dn);
int dir_lookup_username(const struct dir_snapshot *, const char *username);
/* By username, else (a name with '@') by userPrincipalName. */
int dir_lookup_login(const struct dir_snapshot *, const char *name);
int dir_lookup_unit(const struct dir_snapshot *, const char *code);
/* Whether unit u takes new cases in through its intake (mailbox and lead):
 * what the unit says, else the nearest unit above that says; false when
 * none does (or u is DIR_NONE). */
bool dir_lookup_intake(const struct dir_snapshot *, int u);
/* DN equality: case (ASCII's and Latin-1's) and spaces after commas
 * ignored. Reads only. */
bool dir_lookup_dn_equal(const char *, const char *);

/* resolve.c */
struct resolve_cache;
/* Frees a snapshot's resolution cache (dir_snapshot_unref calls it); NULL is a no-op. */
void dir_rules_cache_free(struct resolve_cache *);

/* Away on `date` ("YYYY-MM-DD"): from the start date up to, not including,
 * the end date (the day one is back); false for an empty date. Reads only. */
bool dir_resolve_absent_on(const struct dir_person *, const char *date);

/* render.c: people and units as the API shows them. */
/* Person i as a new JSON object, "absent" as it stands today (or on
 * `date`, YYYY-MM-DD); the caller owns it. */
json_t *dir_render_person_json(const struct dir_snapshot *, int);
/* The same, absent as it stands on `date` (read, not kept); the caller owns it. */
json_t *dir_render_person_json_on(const struct dir_snapshot *, int, const char *date);
struct evbuffer;
/* The same from the pre-rendered JSON (p->json), appended to b (copied). */
void dir_render_person_append(struct evbuffer *b, const struct dir_person *p, const char *date);
/* Person i's pre-rendered JSON text: a new malloc'd string (the caller
 * frees it), its length in *len. */
char *dir_render_person(const struct dir_snapshot *, int, size_t *len);
/* A unit as the API shows it (with its subtree when tree); the caller owns it. */
json_t *dir_render_unit(const struct dir_snapshot *, int, bool tree);

/* fold.c: Danish-aware folding for search. */
/* Folds in into the caller's out (outsz bytes, NUL-terminated when
 * outsz > 0); returns the length written. in may be NULL. */
size_t dir_fold(const char *in, char *out, size_t outsz);
/* The base letter (a-z) of a Latin-1 letter U+00C0..U+00FF as dir_fold
 * gives it (é -> 'e', ø -> 'o', å -> 'a', ÿ -> 'y'); 0 when it folds to two
 * letters (æ, þ, ß) or is no letter (×, ÷) or is outside the range. */
char dir_fold_latin1_letter(unsigned int cp);
/* Splits a folded string into at most max words: tokens[i] points into
 * folded (nothing is allocated; not NUL-terminated), lens[i] its length. */
size_t dir_fold_tokens(const char *folded, const char **tokens, size_t *lens, size_t max);

/* index.c: the search index over a snapshot. */
struct dir_query {
	const char *q;            /* may be NULL or empty: all, by name */
	int unit;                 /* unit index filter, or DIR_NONE */
	const char *department;   /* department code filter, or NULL */
	const char *target_group; /* or NULL */
	size_t limit;
	const char *cursor; /* opaque, from a previous page, or NULL */
};
/* A new index over s (s is read, not kept); the caller owns it and frees it
 * with dir_index_free (which takes NULL), usually by storing it in
 * s->index. NULL only for a snapshot too large to index. */
struct dir_index *dir_index_build(const struct dir_snapshot *);
/* Frees the index and all it holds; NULL is a no-op. */
void dir_index_free(struct dir_index *);
/* Fills out[] with up to q->limit person indexes; *next gets a malloc'd
 * cursor or NULL at the end. Returns the count, or -1 for a bad cursor. */
int dir_index_search(const struct dir_snapshot *, const struct dir_query *, int *out, char **next);

/* login.c: LDAP binds as users, on worker threads. */
enum dir_login_result { DIR_LOGIN_OK, DIR_LOGIN_DENIED, DIR_LOGIN_UNAVAILABLE };
typedef void (*dir_login_cb)(enum dir_login_result, const char *reason, void *arg);
/* The workers start with their own copy of the settings (c is not kept),
 * take a new copy on a reload, and at stop every waiting caller hears
 * DIR_LOGIN_UNAVAILABLE. */
void dir_login_start(struct event_base *, const struct config *);
void dir_login_reconfigure(const struct config *);
void dir_login_stop(void);
/* Binds as dn with the password (copied; wiped when done); id, the
 * person's stable id, finds the entry if dn has gone (a rename since the
 * snapshot). dn NULL: a decoy bind, always denied. cb runs on the loop. */
int dir_login_submit(const char *dn, const char *id, const char *password, size_t pwlen,
                     dir_login_cb, void *arg) WUR;

/* schema.c: what the sync found of the mapped attributes in the schema. */
/* NULL before the schema was first read; else a malloc'd string the caller
 * frees: "ok", "missing: ATTR (KEY), ...", or "not read: WHY". */
char *dir_schema_status(void);
/* stafet_directory_schema_read, _missing and _missing_attribute{...}. */
void dir_schema_metrics_render(struct evbuffer *);

/* sync.c: the directory mirror as the loop sees it. */
struct dir_snapshot;
/* The sync thread starts with its own copy of the settings (c is not
 * kept) and takes a new copy on a reload; stop joins it. */
void dir_sync_start(struct event_base *, const struct config *);
void dir_sync_reconfigure(const struct config *);
void dir_sync_stop(void);
/* Whether ldap_uri is set. */
bool dir_sync_configured(void);
/* 0 when the ldap_uri value parses, else -1 with *why a static string. */
int dir_ldap_check_uris(const char *, const char **why) WUR;
/* The snapshot served now, or NULL: borrowed (loop thread only), valid
 * until the loop next runs an event; dir_snapshot_ref to keep it longer. */
struct dir_snapshot *dir_sync_current(void);
/* Whether the snapshot served is stale (the directory failed the last
 * round, or none succeeded yet), and when it was read (seconds, wall). */
bool dir_sync_stale(void);
double dir_sync_synced_at(void);
/* Appends the directory's metrics to b (copied). */
void dir_sync_metrics_render(struct evbuffer *b);
/* {"synced_at", "stale"} for answers from the snapshot: a new object, the caller's. */
json_t *dir_sync_info(void);

#endif
