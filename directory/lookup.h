/*
 * lookup.h: the snapshot's hash tables, shared by lookup.c (which finds in
 * them) and snapshot.c (which builds them). Private to directory/.
 */
#ifndef DIRECTORY_LOOKUP_H
#define DIRECTORY_LOOKUP_H

#include <stdint.h>

enum dir_table_kind { T_ID, T_DN, T_USERNAME, T_UPN, T_UNIT };

/* FNV-1a of s; `fold`: ASCII case folded and spaces left out (DNs). */
uint32_t dir_lookup_hash(const char *s, bool fold);
/* A new table of s->table_size slots over the first n persons (or units);
 * the snapshot owns it (freed in dir_snapshot_unref). */
int *dir_lookup_table_build(const struct dir_snapshot *s, enum dir_table_kind k, size_t n);

#endif
