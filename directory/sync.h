/*
 * sync.h: the directory sync thread's files (sync*.c) and what they share;
 * the rest of stafetd sees dir_sync_current() and friends through
 * directory.h.
 */
#ifndef DIRECTORY_SYNC_H
#define DIRECTORY_SYNC_H

#include "dir_ldap.h"

/* sync_config.c: the layouts' defaults and the settings' copy. */
/* A layout's attribute names and filters (see sync_config.c). */
struct dir_layout {
	const char *people_filter, *units_filter, *groups_filter;
	const char *id, *username, *upn, *change, *member_of;
	const char *unit, *target_groups, *allocation, *deputy, *absent_from, *absent_until;
	const char *unit_code, *unit_name, *unit_department, *unit_mailbox, *unit_lead;
	const char *kle[3];      /* the defaults of map_kle_responsible, _performing, _insight */
	const char *unit_intake; /* the default of map_unit_intake */
};
/* The layout's row (DIR_LAYOUT_*); static, never freed. */
const struct dir_layout *dir_cfg_layout_of(int layout);
/* "group:PREFIX" → PREFIX, a pointer into `map`; NULL for a plain attribute. */
const char *dir_cfg_group_prefix(const char *map);
/* A new copy of what the sync needs from `c` (nothing of `c` is kept);
 * the caller frees it with dir_cfg_free, which takes NULL. */
struct dir_ldap_cfg *dir_cfg_new(const struct config *);
void dir_cfg_free(struct dir_ldap_cfg *);

/* sync_map.c: LDAP entries to records. */
struct dir_load {
	const struct dir_ldap_cfg *cfg;
	struct dir_records *r;
	double newest;    /* the highest change mark seen: modifyTimestamp s, or uSNChanged */
	size_t changed;   /* entries new or different from the record held */
	size_t skipped;   /* AD accounts disabled or expired */
	bool full;        /* a full load into empty records: nothing to look up */
	bool failed;      /* a ranged attribute could not be read whole */
	json_t *by_dn[3]; /* incremental: "i:"id and "d:"DN (lowercased) → record index, per kind */
	size_t renamed;   /* how many */
};
/*
 * Reads people, units and groups into l->r: all of them (`since` < 0), or
 * those changed since the mark. Returns an LDAP result code, with err set
 * on failure; the records read stay in l->r either way (owned by its
 * owner). dir_map_load_done frees the run's lookup tables.
 */
int dir_map_read(LDAP *, const struct dir_ldap_cfg *, double since, struct dir_load *, char *err,
                 size_t errsz);
void dir_map_load_done(struct dir_load *);

/* schema.c: the mapped attributes against the directory's schema. */
/* Reads the schema over the connection and notes (and warns once of) each
 * attribute cfg maps that it lacks; a schema it cannot read is logged and
 * claims nothing. Sync thread only; nothing of cfg is kept. */
void dir_schema_check(LDAP *, const struct dir_ldap_cfg *);
/* Adds the lowercased NAMEs of one attributeTypes value (RFC 4512) to
 * names (an object; keys copied): ( OID NAME 'x' ...) or
 * ( OID NAME ( 'x' 'y' ) ...). v is only read. */
void dir_schema_names(json_t *names, const char *v);

/* sync_save.c: the disk cache. */
/* 0, or -1 (logged). Nothing is kept of r. */
int dir_save_write(const char *path, const struct dir_records *r) WUR;
int dir_save_load(const char *path, struct dir_records *r) WUR;

#endif
