/*
 * dir_ldap.h: ldap.c, the connections to the directory servers (the list,
 * TLS, failover, the service bind) and the searches, for the sync thread
 * (sync*.c) and the login workers (login.c). It knows neither.
 */
#ifndef DIRECTORY_DIR_LDAP_H
#define DIRECTORY_DIR_LDAP_H

#include <ldap.h>

struct dir_server {
	char *uri;
	int priority; /* 0 is the most preferred */
};

/* What the sync thread needs from the configuration: its own copy. */
struct dir_ldap_cfg {
	struct dir_server *servers;
	size_t nservers;
	bool starttls;
	bool allow_plaintext;
	char *ca_file;
	char *bind_dn;
	char *bind_password;
	double connect_timeout;
	double timeout;
	int page_size;
	int layout; /* DIR_LAYOUT_* */
	char *people_base, *people_filter;
	char *units_base, *units_filter;
	char *groups_base, *groups_filter;
	double refresh_interval;
	double reconcile_interval;
	double overlap;
	double probe_interval;
	char *snapshot_file;
	/* the mapping: attribute names, or "group:PREFIX" */
	char *map_unit, *map_target_groups, *map_allocation, *map_deputy, *map_absent_from,
	    *map_absent_until;
	char *map_kle[3];      /* a unit's KLE numbers: responsible, performing, insight */
	char *map_unit_intake; /* a unit's intake flag */
	char **person_attrs, **unit_attrs, **group_attrs; /* what to ask for */
	/* Whether the caller is stopping: dir_ldap_connect tries no further
	 * server once it says so. NULL: never. */
	bool (*stopping)(void);
};

typedef int (*dir_entry_cb)(LDAP *, LDAPMessage *, void *);

int dir_ldap_parse_uris(const char *, struct dir_server **, size_t *, const char **why);
void dir_ldap_free_servers(struct dir_server *, size_t);
LDAP *dir_ldap_open(const struct dir_ldap_cfg *, const char *uri, char *err, size_t errsz);
LDAP *dir_ldap_connect(const struct dir_ldap_cfg *, int below, size_t *chosen, char *err,
                       size_t errsz);
int dir_ldap_search(LDAP *, const struct dir_ldap_cfg *, const char *base, const char *filter,
                    char **attrs, dir_entry_cb, void *arg, char *err, size_t errsz);
/* An idle connection's state, seen without waiting. */
enum dir_ldap_idle { DIR_LDAP_QUIET, DIR_LDAP_UNREAD, DIR_LDAP_GONE };
enum dir_ldap_idle dir_ldap_idle_check(LDAP *);
/* LDAP_SUCCESS when the server answers a read of the root DSE in time. */
int dir_ldap_probe(LDAP *, double timeout, char *err, size_t errsz) WUR;
char *dir_ldap_first(LDAP *, LDAPMessage *, const char *attr);
void dir_ldap_all(LDAP *, LDAPMessage *, const char *attr, struct strlist *);
char *dir_ldap_guid_string(const unsigned char *, size_t);
const char *dir_ldap_account_state(LDAP *, LDAPMessage *, int layout);

#endif
