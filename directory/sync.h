/*
 * sync.h: the directory sync thread and the LDAP connection code it uses.
 * Only sync.c and ldap.c include this; the rest of the daemon sees
 * dir_current() and friends through stafetd.h.
 */
#ifndef DIRECTORY_SYNC_H
#define DIRECTORY_SYNC_H

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
	char **person_attrs, **unit_attrs, **group_attrs; /* what to ask for */
};

typedef int (*dir_entry_cb)(LDAP *, LDAPMessage *, void *);

/* ldap.c */
int dir_parse_uris(const char *, struct dir_server **, size_t *, const char **why);
void dir_free_servers(struct dir_server *, size_t);
LDAP *dir_ldap_open(const struct dir_ldap_cfg *, const char *uri, char *err, size_t errsz);
LDAP *dir_ldap_connect(const struct dir_ldap_cfg *, int below, size_t *chosen, char *err,
                       size_t errsz);
int dir_ldap_search(LDAP *, const struct dir_ldap_cfg *, const char *base, const char *filter,
                    char **attrs, dir_entry_cb, void *arg, char *err, size_t errsz);
char *dir_ldap_first(LDAP *, LDAPMessage *, const char *attr);
void dir_ldap_all(LDAP *, LDAPMessage *, const char *attr, struct strv *);
char *dir_guid_string(const unsigned char *, size_t);
const char *dir_account_state(LDAP *, LDAPMessage *, int layout);

/* sync.c */
bool dir_sync_stopping(void);
struct dir_ldap_cfg *dir_ldap_cfg_new(const struct config *);
void dir_ldap_cfg_free(struct dir_ldap_cfg *);

#endif
