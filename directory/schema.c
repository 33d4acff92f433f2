/*
 * schema.c: whether the directory's schema has the attributes the mapping
 * reads. An AD that Exchange never extended (Samba's too) has no
 * extensionAttribute1-15, which the ad layout maps by default; a search
 * asking for an attribute the schema lacks just finds no values, so
 * allocation, deputies, absences and KLE numbers would be empty without a
 * word. At start and at each full load the sync thread reads the rootDSE's
 * subschemaSubentry and that entry's attributeTypes, warns once of each
 * mapped attribute the schema lacks (again only when the set changes), and
 * keeps the list for /readyz and the metrics. A schema it cannot read
 * (no subschemaSubentry, no rights) is said once and claims nothing.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

/* An attribute the mapping reads and what maps it (a key, or the layout). */
struct wanted {
	const char *attr;
	const char *by;
};

/* Shared with the loop, under `mu`. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool known;           /* the schema was read: `missing` holds */
static bool tried;           /* a read was tried */
static json_t *missing;      /* [[attr, by], ...] */
static char why_unread[256]; /* the failure, when !known */

/* The sync thread's own: what was last warned of ("attr\tby\n"...). */
static char *warned;

/* Adds the lowercased NAMEs of one attributeTypes value to `names`:
 * ( OID NAME 'x' ...) or ( OID NAME ( 'x' 'y' ) ...), quoted strings
 * (DESC's) skipped while looking for the NAME keyword. */
void
dir_schema_names(json_t *names, const char *v)
{
	const char *p = v;

	while (*p) {
		if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (q == NULL)
				return;
			p = q + 1;
			continue;
		}
		if (strncasecmp(p, "NAME", 4) == 0 && (p == v || isspace((unsigned char)p[-1])) &&
		    (isspace((unsigned char)p[4]) || p[4] == '\'' || p[4] == '(')) {
			p += 4;
			while (isspace((unsigned char)*p))
				p++;
			bool list = *p == '(';
			if (list)
				p++;
			for (;;) {
				while (isspace((unsigned char)*p))
					p++;
				if (*p != '\'')
					return;
				const char *q = strchr(p + 1, '\'');
				if (q == NULL || q - p - 1 > 255)
					return;
				char name[256];
				size_t n = (size_t)(q - p - 1);
				for (size_t i = 0; i < n; i++)
					name[i] = (char)tolower((unsigned char)p[1 + i]);
				name[n] = '\0';
				json_object_set_new(names, name, json_true());
				p = q + 1;
				if (!list)
					return;
			}
		}
		p++;
	}
}

/* One base-scope search of `dn` for `attr`; the result is the caller's. */
static int
read_base(LDAP *ld, const struct dir_ldap_cfg *cfg, const char *dn, const char *filter, char *attr,
          LDAPMessage **res)
{
	char *attrs[] = {attr, NULL};
	struct timeval tv = clock_timeval(cfg->timeout);
	*res = NULL;
	return ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, filter, attrs, 0, NULL, NULL, &tv, 0,
	                         res);
}

/*
 * Takes the attributeTypes values (or one range of them, as AD may hand a
 * long list: "attributeTypes;range=0-1499") from entry e into names; *next
 * gets the next range to ask for ("attributeTypes;range=1500-*", malloc'd)
 * or NULL when it was the last.
 */
static size_t
take_types(LDAP *ld, LDAPMessage *e, json_t *names, char **next)
{
	BerElement *ber = NULL;
	size_t n = 0;

	*next = NULL;
	for (char *a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
		const char *range = NULL;
		if (strncasecmp(a, "attributeTypes", 14) == 0 && a[14] == ';')
			range = strcasestr(a + 14, ";range=");
		if (strcasecmp(a, "attributeTypes") == 0 || range) {
			struct berval **vals = ldap_get_values_len(ld, e, a);
			for (size_t i = 0; vals && vals[i]; i++, n++) {
				char *s = xstrndup(vals[i]->bv_val, vals[i]->bv_len);
				dir_schema_names(names, s);
				free(s);
			}
			ldap_value_free_len(vals);
			const char *dash = range ? strchr(range, '-') : NULL;
			if (dash && dash[1] != '*') {
				free(*next);
				xasprintf(next, "attributeTypes;range=%lld-*", atoll(dash + 1) + 1);
			}
		}
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	return n;
}

/* The schema's attribute names, lowercased, as a set; NULL with why set. */
static json_t *
read_schema(LDAP *ld, const struct dir_ldap_cfg *cfg, char *why, size_t whysz)
{
	LDAPMessage *res = NULL, *e;
	char *sub = NULL, *next = NULL;
	json_t *names = NULL;
	size_t n = 0;
	int rc = read_base(ld, cfg, "", "(objectClass=*)", "subschemaSubentry", &res);

	if (rc == LDAP_SUCCESS && (e = ldap_first_entry(ld, res)) != NULL)
		sub = dir_ldap_first(ld, e, "subschemaSubentry");
	ldap_msgfree(res);
	if (sub == NULL) {
		snprintf(why, whysz, "the rootDSE names no subschemaSubentry%s%s",
		         rc != LDAP_SUCCESS ? ": " : "",
		         rc != LDAP_SUCCESS ? ldap_err2string(rc) : "");
		return NULL;
	}
	names = json_object();
	next = xstrdup("attributeTypes");
	for (int step = 0; next && step < 100; step++) {
		char *more = NULL;
		rc = read_base(ld, cfg, sub, "(objectClass=subschema)", next, &res);
		if (rc == LDAP_SUCCESS && (e = ldap_first_entry(ld, res)) != NULL)
			n += take_types(ld, e, names, &more);
		ldap_msgfree(res);
		free(next);
		next = more;
		if (rc != LDAP_SUCCESS)
			break;
	}
	if (rc != LDAP_SUCCESS || next != NULL || n == 0) {
		snprintf(why, whysz, "%s: %s", sub,
		         rc != LDAP_SUCCESS ? ldap_err2string(rc)
		         : n == 0           ? "no attributeTypes readable"
		                            : "too many ranges of attributeTypes");
		json_decref(names);
		names = NULL;
	}
	free(next);
	free(sub);
	return names;
}

/* Adds the attribute to w unless it is a "group:PREFIX" or empty. */
static void
want(struct wanted *w, size_t *n, const char *attr, const char *by)
{
	if (attr && *attr && dir_cfg_group_prefix(attr) == NULL)
		w[(*n)++] = (struct wanted){attr, by};
}

/* The attributes the mapping reads whose absence leaves something out. */
static size_t
wanted_of(const struct dir_ldap_cfg *cfg, struct wanted *w)
{
	const struct dir_layout *l = dir_cfg_layout_of(cfg->layout);
	const char *lay = cfg->layout == DIR_LAYOUT_AD ? "directory_layout ad" : "directory_layout";
	size_t n = 0;

	want(w, &n, cfg->map_unit, "map_unit");
	want(w, &n, cfg->map_target_groups, "map_target_groups");
	want(w, &n, cfg->map_allocation, "map_allocation");
	want(w, &n, cfg->map_deputy, "map_deputy");
	want(w, &n, cfg->map_absent_from, "map_absent_from");
	want(w, &n, cfg->map_absent_until, "map_absent_until");
	want(w, &n, cfg->map_kle[0], "map_kle_responsible");
	want(w, &n, cfg->map_kle[1], "map_kle_performing");
	want(w, &n, cfg->map_kle[2], "map_kle_insight");
	want(w, &n, cfg->map_unit_intake, "map_unit_intake");
	want(w, &n, l->id, lay);
	want(w, &n, l->username, lay);
	want(w, &n, l->upn, lay);
	want(w, &n, l->change, lay);
	want(w, &n, l->unit_code, lay);
	want(w, &n, l->unit_name, lay);
	want(w, &n, l->unit_department, lay);
	want(w, &n, l->unit_mailbox, lay);
	want(w, &n, l->unit_lead, lay);
	return n;
}

/* Whether "attr\tby\n" is a line of the set s. */
static bool
in_set(const char *s, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = s; p && *p;) {
		if (strncasecmp(p, line, n) == 0)
			return true;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return false;
}

/*
 * Reads the schema over ld and compares the attributes cfg maps with it;
 * warns of each one missing that was not missing at the last check. Sync
 * thread only; a failure is logged and changes nothing else.
 */
void
dir_schema_check(LDAP *ld, const struct dir_ldap_cfg *cfg)
{
	char why[256] = "";
	json_t *names = read_schema(ld, cfg, why, sizeof(why));
	struct wanted w[32];
	size_t nw = names ? wanted_of(cfg, w) : 0;
	json_t *gone = json_array();
	struct evbuffer *set = evbuffer_new();

	for (size_t i = 0; i < nw; i++) {
		char key[256], by[256], line[600];
		size_t j, k;
		for (k = 0; k < sizeof(key) - 1 && w[i].attr[k]; k++)
			key[k] = (char)tolower((unsigned char)w[i].attr[k]);
		key[k] = '\0';
		for (j = 0; j < i; j++) /* mapped by several keys: said once, with all of them */
			if (strcasecmp(w[j].attr, w[i].attr) == 0)
				break;
		if (j < i || json_object_get(names, key))
			continue;
		snprintf(by, sizeof(by), "%s", w[i].by);
		for (j = i + 1; j < nw; j++)
			if (strcasecmp(w[j].attr, w[i].attr) == 0 && strcmp(w[j].by, w[i].by) != 0)
				snprintf(by + strlen(by), sizeof(by) - strlen(by), ", %s", w[j].by);
		json_array_append_new(gone, json_pack("[s,s]", w[i].attr, by));
		snprintf(line, sizeof(line), "%s\t%s\n", w[i].attr, by);
		evbuffer_add(set, line, strlen(line));
		if (!in_set(warned, line))
			log_warnx("directory: the schema has no attribute %s (%s): it is read as "
			          "empty",
			          w[i].attr, by);
	}
	if (names) {
		size_t len = evbuffer_get_length(set);
		char *now = xmalloc(len + 1);
		evbuffer_remove(set, now, len);
		now[len] = '\0';
		if (warned && *warned && !*now)
			log_notice("directory: the schema has every attribute mapped");
		free(warned);
		warned = now;
	}
	evbuffer_free(set);

	pthread_mutex_lock(&mu);
	bool said = tried && !known && strcmp(why_unread, why) == 0;
	tried = true;
	known = names != NULL;
	json_decref(missing);
	missing = gone;
	snprintf(why_unread, sizeof(why_unread), "%s", names ? "" : why);
	pthread_mutex_unlock(&mu);
	if (!names && !said)
		log_info("directory: the schema could not be read (%s); mapped attributes are not "
		         "checked",
		         why);
	json_decref(names);
}

/* See directory.h. */
char *
dir_schema_status(void)
{
	char *s = NULL;
	pthread_mutex_lock(&mu);
	if (!tried) {
		s = NULL;
	} else if (!known) {
		xasprintf(&s, "not read: %s", why_unread);
	} else if (json_array_size(missing) == 0) {
		s = xstrdup("ok");
	} else {
		struct evbuffer *b = evbuffer_new();
		size_t i;
		json_t *m;
		evbuffer_add_printf(b, "missing:");
		json_array_foreach (missing, i, m) {
			evbuffer_add_printf(b, "%s %s (%s)", i ? "," : "",
			                    json_string_value(json_array_get(m, 0)),
			                    json_string_value(json_array_get(m, 1)));
		}
		size_t len = evbuffer_get_length(b);
		s = xmalloc(len + 1);
		evbuffer_remove(b, s, len);
		s[len] = '\0';
		evbuffer_free(b);
	}
	pthread_mutex_unlock(&mu);
	return s;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
label(struct evbuffer *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

/* See directory.h. */
void
dir_schema_metrics_render(struct evbuffer *b)
{
	size_t i;
	json_t *m;

	pthread_mutex_lock(&mu);
	evbuffer_add_printf(
	    b,
	    "# HELP stafet_directory_schema_read Whether the directory's schema was read (then "
	    "the mapped attributes are checked against it).\n"
	    "# TYPE stafet_directory_schema_read gauge\nstafet_directory_schema_read %d\n"
	    "# HELP stafet_directory_schema_missing Mapped attributes the directory's schema "
	    "lacks (read as empty).\n"
	    "# TYPE stafet_directory_schema_missing gauge\nstafet_directory_schema_missing %zu\n",
	    known, known ? json_array_size(missing) : 0);
	if (known && json_array_size(missing) > 0) {
		evbuffer_add_printf(
		    b, "# HELP stafet_directory_schema_missing_attribute A mapped attribute the "
		       "directory's schema lacks, and the key that maps it.\n"
		       "# TYPE stafet_directory_schema_missing_attribute gauge\n");
		json_array_foreach (missing, i, m) {
			evbuffer_add_printf(
			    b, "stafet_directory_schema_missing_attribute{attribute=\"");
			label(b, json_string_value(json_array_get(m, 0)));
			evbuffer_add_printf(b, "\",key=\"");
			label(b, json_string_value(json_array_get(m, 1)));
			evbuffer_add_printf(b, "\"} 1\n");
		}
	}
	pthread_mutex_unlock(&mu);
}
