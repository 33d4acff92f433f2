/*
 * lookup.c: a snapshot's hash tables (open addressing over indexes) and the
 * lookups by id, DN, username, userPrincipalName and unit code. DNs match
 * without regard to case and to spaces after commas, as LDAP does for the
 * attribute types in them; usernames without regard to case. Case is
 * ASCII's and Latin-1's (UTF-8 "Ø" and "ø" are one letter, as AD, which
 * compares names without regard to case in all of Unicode, sees them).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"
#include "directory.h"
#include "lookup.h"

/* -- lookups --------------------------------------------------------------- */

/* Byte c of a UTF-8 string, after `prev`, in lower case: ASCII, and the
 * second byte of U+00C0..U+00DE (À..Þ but ×), which is U+00E0..U+00FE's
 * less 0x20. */
static unsigned char
fold_byte(unsigned char prev, unsigned char c)
{
	if (prev == 0xC3 && c >= 0x80 && c <= 0x9E && c != 0x97)
		return (unsigned char)(c + 0x20);
	return (unsigned char)tolower(c);
}

uint32_t
dir_lookup_hash(const char *s, bool fold)
{
	uint32_t h = 2166136261u;
	unsigned char prev = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (fold && c == ' ')
			continue; /* "ou=a, dc=b" and "ou=a,dc=b" are one DN */
		if (fold)
			c = fold_byte(prev, c);
		prev = (unsigned char)*s;
		h = (h ^ c) * 16777619u;
	}
	return h;
}

/* Equality without regard to case (fold_byte's); with spaces, DN equality
 * as LDAP sees it for our purposes: spaces after commas do not count. */
static bool
fold_equal(const char *a, const char *b, bool spaces)
{
	unsigned char pa = 0, pb = 0;
	for (;;) {
		while (spaces && *a == ' ')
			a++;
		while (spaces && *b == ' ')
			b++;
		if (fold_byte(pa, (unsigned char)*a) != fold_byte(pb, (unsigned char)*b))
			return false;
		if (*a == '\0')
			return true;
		pa = (unsigned char)*a++;
		pb = (unsigned char)*b++;
	}
}

static bool
dn_equal(const char *a, const char *b)
{
	return fold_equal(a, b, true);
}

static const char *
table_key(const struct dir_snapshot *s, enum dir_table_kind k, int i)
{
	switch (k) {
	case T_ID:
		return s->persons[i].id;
	case T_DN:
		return s->persons[i].dn;
	case T_USERNAME:
		return s->persons[i].username;
	case T_UPN:
		return s->persons[i].upn;
	case T_UNIT:
		return s->units[i].code;
	}
	return NULL;
}

static bool
key_equal(enum dir_table_kind k, const char *a, const char *b)
{
	if (k == T_DN)
		return dn_equal(a, b);
	if (k == T_USERNAME || k == T_UPN)
		return fold_equal(a, b, false);
	return strcmp(a, b) == 0;
}

static bool
kind_folds(enum dir_table_kind k)
{
	return k == T_DN || k == T_USERNAME || k == T_UPN;
}

int *
dir_lookup_table_build(const struct dir_snapshot *s, enum dir_table_kind k, size_t n)
{
	int *t = xmalloc(s->table_size * sizeof(int));
	size_t mask = s->table_size - 1;

	for (size_t i = 0; i < s->table_size; i++)
		t[i] = DIR_NONE;
	for (size_t i = 0; i < n; i++) {
		const char *key = table_key(s, k, (int)i);
		if (key == NULL || *key == '\0')
			continue;
		size_t h = dir_lookup_hash(key, kind_folds(k)) & mask;
		while (t[h] != DIR_NONE) {
			if (key_equal(k, table_key(s, k, t[h]), key))
				break; /* a duplicate: the first one wins */
			h = (h + 1) & mask;
		}
		if (t[h] == DIR_NONE)
			t[h] = (int)i;
	}
	return t;
}

static int
table_find(const struct dir_snapshot *s, const int *t, enum dir_table_kind k, const char *key)
{
	if (s == NULL || t == NULL || key == NULL)
		return DIR_NONE;
	size_t mask = s->table_size - 1;
	size_t h = dir_lookup_hash(key, kind_folds(k)) & mask;
	while (t[h] != DIR_NONE) {
		if (key_equal(k, table_key(s, k, t[h]), key))
			return t[h];
		h = (h + 1) & mask;
	}
	return DIR_NONE;
}

int
dir_lookup_person(const struct dir_snapshot *s, const char *id)
{
	return table_find(s, s ? s->id_table : NULL, T_ID, id);
}

int
dir_lookup_dn(const struct dir_snapshot *s, const char *dn)
{
	return table_find(s, s ? s->dn_table : NULL, T_DN, dn);
}

int
dir_lookup_username(const struct dir_snapshot *s, const char *username)
{
	return table_find(s, s ? s->username_table : NULL, T_USERNAME, username);
}

/* A login name: the username (uid, sAMAccountName), else the AD userPrincipalName. */
int
dir_lookup_login(const struct dir_snapshot *s, const char *name)
{
	int i = dir_lookup_username(s, name);
	if (i == DIR_NONE && strchr(name, '@'))
		i = table_find(s, s ? s->upn_table : NULL, T_UPN, name);
	return i;
}

bool
dir_lookup_dn_equal(const char *a, const char *b)
{
	return dn_equal(a, b);
}

int
dir_lookup_unit(const struct dir_snapshot *s, const char *code)
{
	return table_find(s, s ? s->unit_table : NULL, T_UNIT, code);
}

/* The unit's own intake flag, else the nearest unit above that has one. */
bool
dir_lookup_intake(const struct dir_snapshot *s, int u)
{
	for (int guard = 0; u >= 0 && (size_t)u < s->nunits && guard < 64; guard++) {
		if (s->units[u].intake >= 0)
			return s->units[u].intake == 1;
		u = s->units[u].parent;
	}
	return false;
}
