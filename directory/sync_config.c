/*
 * sync_config.c: the sync's own copy of its settings (struct dir_ldap_cfg):
 * the layouts' defaults (OpenLDAP with Stafet's schema, Active Directory),
 * the map_* keys over them, and the attributes each search asks for.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

/*
 * The two layouts. OpenLDAP: Stafet's schema (schema/ldap/stafet.schema),
 * units are organizationalUnits nested by DN. Active Directory: the schema
 * is not extended, so units are groups named PREFIX<code> nested by
 * membership, target groups are groups too, and the rest sits in
 * extensionAttributes; ids are objectGUIDs; disabled and expired accounts
 * are left out. The map_* keys change any of the mapped attributes (the
 * KLE numbers by map_kle_*); an AD that Exchange never extended has no
 * extensionAttributes, which schema.c tells.
 */
static const struct dir_layout layouts[] = {
    [DIR_LAYOUT_OPENLDAP] = {"(objectClass=inetOrgPerson)",
                             "(objectClass=stafetUnit)",
                             "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
                             "entryUUID",
                             "uid",
                             NULL,
                             "modifyTimestamp",
                             "memberOf",
                             "stafetUnitCode",
                             "stafetTargetGroup",
                             "stafetAllocation",
                             "stafetDeputy",
                             "stafetAbsentFrom",
                             "stafetAbsentUntil",
                             "stafetUnitCode",
                             "description",
                             "stafetDepartment",
                             "stafetMailbox",
                             "stafetLead",
                             {"stafetKleResponsible", "stafetKlePerforming", "stafetKleInsight"},
                             "stafetIntake"},
    [DIR_LAYOUT_AD] = {"(&(objectCategory=person)(objectClass=user))",
                       "(&(objectClass=group)(cn=stafet-unit-*))",
                       "(objectClass=group)",
                       "objectGUID",
                       "sAMAccountName",
                       "userPrincipalName",
                       "uSNChanged",
                       "memberOf",
                       "group:stafet-unit-",
                       "group:stafet-tg-",
                       "extensionAttribute2",
                       "extensionAttribute3",
                       "extensionAttribute4",
                       "extensionAttribute5",
                       "group:stafet-unit-",
                       "description",
                       NULL,
                       "mail",
                       "managedBy",
                       {"extensionAttribute1", "extensionAttribute2", "extensionAttribute3"},
                       "group:stafet-intake"},
};

/* "group:PREFIX" → PREFIX; NULL for a plain attribute. */
const char *
dir_cfg_group_prefix(const char *map)
{
	return map && strncmp(map, "group:", 6) == 0 ? map + 6 : NULL;
}

static void
attrs_add(char ***v, size_t *n, const char *a)
{
	if (a == NULL || *a == '\0' || dir_cfg_group_prefix(a))
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp((*v)[i], a) == 0)
			return;
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(a);
	(*v)[*n] = NULL;
}

static void
attrs_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

const struct dir_layout *
dir_cfg_layout_of(int layout)
{
	return &layouts[layout];
}

static char *
dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

/* A copy of what the LDAP code needs from the configuration; see sync.h. */
struct dir_ldap_cfg *
dir_cfg_new(const struct config *c)
{
	struct dir_ldap_cfg *d = xcalloc(1, sizeof(*d));
	const char *why = NULL;

	if (dir_ldap_parse_uris(c->ldap_uri, &d->servers, &d->nservers, &why) == -1)
		log_warnx("directory: ldap_uri: %s", why); /* --check-config said so too */
	d->starttls = c->ldap_starttls;
	d->allow_plaintext = c->ldap_allow_plaintext;
	d->ca_file = dup_or_null(c->ldap_ca_file);
	d->bind_dn = dup_or_null(c->ldap_bind_dn);
	d->bind_password = dup_or_null(c->ldap_bind_password);
	d->connect_timeout = c->ldap_connect_timeout;
	d->timeout = c->ldap_timeout;
	d->page_size = c->ldap_page_size;
	d->layout = c->directory_layout;
	d->people_base = xstrdup(c->directory_people_base);
	d->people_filter = xstrdup(c->directory_people_filter);
	d->units_base =
	    xstrdup(*c->directory_units_base ? c->directory_units_base : c->directory_people_base);
	d->units_filter = xstrdup(c->directory_units_filter);
	d->groups_base = xstrdup(*c->directory_groups_base ? c->directory_groups_base
	                                                   : c->directory_people_base);
	d->groups_filter = xstrdup(c->directory_groups_filter);
	d->refresh_interval = c->directory_refresh_interval;
	d->reconcile_interval = c->directory_reconcile_interval;
	d->overlap = c->directory_overlap;
	d->probe_interval = c->directory_probe_interval;
	d->snapshot_file = dup_or_null(c->directory_snapshot_file);

	const struct dir_layout *l = &layouts[d->layout];
	if (!*c->directory_people_filter) {
		free(d->people_filter);
		d->people_filter = xstrdup(l->people_filter);
	}
	if (!*c->directory_units_filter) {
		free(d->units_filter);
		d->units_filter = xstrdup(l->units_filter);
	}
	if (!*c->directory_groups_filter) {
		free(d->groups_filter);
		d->groups_filter = xstrdup(l->groups_filter);
	}
	d->map_unit = xstrdup(*c->map_unit ? c->map_unit : l->unit);
	d->map_target_groups =
	    xstrdup(*c->map_target_groups ? c->map_target_groups : l->target_groups);
	d->map_allocation = xstrdup(*c->map_allocation ? c->map_allocation : l->allocation);
	d->map_deputy = xstrdup(*c->map_deputy ? c->map_deputy : l->deputy);
	d->map_absent_from = xstrdup(*c->map_absent_from ? c->map_absent_from : l->absent_from);
	d->map_absent_until = xstrdup(*c->map_absent_until ? c->map_absent_until : l->absent_until);
	const char *kle[3] = {c->map_kle_responsible, c->map_kle_performing, c->map_kle_insight};
	for (int k = 0; k < 3; k++)
		d->map_kle[k] = xstrdup(*kle[k] ? kle[k] : l->kle[k]);
	d->map_unit_intake = xstrdup(*c->map_unit_intake ? c->map_unit_intake : l->unit_intake);

	size_t np = 0, nu = 0, ng = 0;
	const char *pa[] = {l->id,
	                    l->username,
	                    l->upn,
	                    "displayName",
	                    "cn",
	                    "givenName",
	                    "sn",
	                    "title",
	                    "mail",
	                    "telephoneNumber",
	                    "mobile",
	                    "physicalDeliveryOfficeName",
	                    "manager",
	                    l->member_of,
	                    d->map_unit,
	                    d->map_target_groups,
	                    d->map_allocation,
	                    d->map_deputy,
	                    d->map_absent_from,
	                    d->map_absent_until,
	                    l->change,
	                    "entryCSN",
	                    d->layout == DIR_LAYOUT_AD ? "userAccountControl"
	                                               : "pwdAccountLockedTime",
	                    d->layout == DIR_LAYOUT_AD ? "accountExpires" : "shadowExpire"};
	for (size_t i = 0; i < sizeof(pa) / sizeof(pa[0]); i++)
		attrs_add(&d->person_attrs, &np, pa[i]);
	const char *ua[] = {
	    l->unit_code,      "cn",         "ou",          l->unit_name,  l->unit_department,
	    l->unit_mailbox,   l->unit_lead, d->map_kle[0], d->map_kle[1], d->map_kle[2],
	    l->change,         "entryCSN",   "member",      l->member_of,  l->id,
	    d->map_unit_intake};
	for (size_t i = 0; i < sizeof(ua) / sizeof(ua[0]); i++)
		attrs_add(&d->unit_attrs, &nu, ua[i]);
	const char *ga[] = {"cn", "member", "uniqueMember", l->change, "entryCSN", l->id};
	for (size_t i = 0; i < sizeof(ga) / sizeof(ga[0]); i++)
		attrs_add(&d->group_attrs, &ng, ga[i]);
	return d;
}

void
dir_cfg_free(struct dir_ldap_cfg *d)
{
	if (d == NULL)
		return;
	dir_ldap_free_servers(d->servers, d->nservers);
	if (d->bind_password)
		explicit_wipe(d->bind_password, strlen(d->bind_password));
	free(d->bind_password);
	free(d->ca_file);
	free(d->bind_dn);
	free(d->people_base);
	free(d->people_filter);
	free(d->units_base);
	free(d->units_filter);
	free(d->groups_base);
	free(d->groups_filter);
	free(d->snapshot_file);
	free(d->map_unit);
	free(d->map_target_groups);
	free(d->map_allocation);
	free(d->map_deputy);
	free(d->map_absent_from);
	free(d->map_absent_until);
	for (int k = 0; k < 3; k++)
		free(d->map_kle[k]);
	free(d->map_unit_intake);
	attrs_free(d->person_attrs);
	attrs_free(d->unit_attrs);
	attrs_free(d->group_attrs);
	free(d);
}
