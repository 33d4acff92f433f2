/*
 * ldapbench.c: load generator for "one LDAP search per request", the peer
 * that stafetd's people search is measured against (bench/README.md).
 *
 * It does what a directory page that asks LDAP on every request would do,
 * as cheaply as a client can: T threads, each with its own connections,
 * every connection bound once and keeping N searches in flight with the
 * asynchronous API (ldap_search_ext + ldap_result), for a fixed time. Each
 * search is one of the queries in the query file, in turn:
 *
 *   q<TAB>søren bøgh   every word, RFC 4515-escaped, must prefix-match one
 *                      of the -a attributes (default cn,sn,givenName,uid,
 *                      mail,title: the fields stafetd searches)
 *   unit<TAB>UR        (stafetUnitCode=UR)
 *   filter<TAB>(...)   the filter as given (e.g. a unit's members with
 *                      allocation rules, for the counterpart peer)
 *
 * ANDed with (objectClass=inetOrgPerson), size limit 50 (stafetd's default
 * page; "size limit exceeded" after 50 entries counts as an answer; -z 0:
 * none), asking for the attributes stafetd's Person shows, which include
 * those counterpart resolution reads (allocation, target groups, absence,
 * deputy). It prints one line:
 *
 *   searches=N seconds=S rate=R p50_us=A p90_us=B p99_us=C errors=E entries=M
 *
 * Usage: ldapbench -H uri -D binddn -y passwordfile -b base -f queries
 *                  [-t threads] [-c connections] [-n inflight] [-d seconds]
 *                  [-z sizelimit] [-a attr,attr,...]
 * -c is the total number of connections (spread over the threads), -n the
 * searches in flight on each; -c 4 -n 4 keeps 16 in flight, like wrk -c16.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LDAP_DEPRECATED 0
#include <lber.h>
#include <ldap.h>

static const char *uri, *bind_dn, *base, *password;
static char **filters;
static size_t nfilters;
static int nthreads = 2, nconns = 4, inflight = 4, sizelimit = 50;
static double duration = 10;
static char *fields[16];
static size_t nfields;

static char *attrs[] = {"entryUUID",
                        "uid",
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
                        "stafetUnitCode",
                        "stafetTargetGroup",
                        "stafetAllocation",
                        "stafetDeputy",
                        "stafetAbsentFrom",
                        "stafetAbsentUntil",
                        NULL};

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "ldapbench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die("out of memory", NULL);
	return p;
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends s to the growing string *buf. */
static void
append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		char *nb = realloc(*buf, *cap);
		if (nb == NULL)
			die("out of memory", NULL);
		*buf = nb;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* The filter for one line of the query file, or NULL to skip the line. */
static char *
make_filter(char *line)
{
	char *tab = strchr(line, '\t'), *buf = NULL, *save = NULL;
	size_t len = 0, cap = 0;

	if (tab == NULL)
		return NULL;
	*tab = '\0';
	append(&buf, &len, &cap, "(&(objectClass=inetOrgPerson)");
	if (strcmp(line, "filter") == 0) {
		append(&buf, &len, &cap, tab + 1);
		append(&buf, &len, &cap, ")");
		return buf;
	}
	for (char *w = strtok_r(tab + 1, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct berval in = {strlen(w), w}, out = {0, NULL};
		char part[512];
		if (ldap_bv2escaped_filter_value(&in, &out) != 0)
			die("ldap_bv2escaped_filter_value", w);
		if (strcmp(line, "unit") == 0) {
			snprintf(part, sizeof(part), "(stafetUnitCode=%s)", out.bv_val);
			append(&buf, &len, &cap, part);
		} else if (strcmp(line, "q") == 0) {
			append(&buf, &len, &cap, "(|");
			for (size_t i = 0; i < nfields; i++) {
				snprintf(part, sizeof(part), "(%s=%s*)", fields[i], out.bv_val);
				append(&buf, &len, &cap, part);
			}
			append(&buf, &len, &cap, ")");
		} else {
			die("unknown query kind (want q, unit or filter)", line);
		}
		ldap_memfree(out.bv_val);
	}
	append(&buf, &len, &cap, ")");
	return buf;
}

static void
read_queries(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t cap = 0;

	if (f == NULL)
		die("cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *flt = make_filter(line);
		if (flt == NULL)
			continue;
		if (nfilters == cap) {
			cap = cap ? cap * 2 : 64;
			filters = realloc(filters, cap * sizeof(*filters));
			if (filters == NULL)
				die("out of memory", NULL);
		}
		filters[nfilters++] = flt;
	}
	fclose(f);
	if (nfilters == 0)
		die("no queries in", path);
}

static char *
read_password(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[512];
	if (f == NULL || fgets(buf, sizeof(buf), f) == NULL)
		die("cannot read the password file", path);
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

struct slot {
	int msgid; /* 0: free */
	double sent;
};

struct conn {
	LDAP *ld;
	int fd;
	struct slot *slots;
};

struct worker {
	pthread_t tid;
	int index, nconns;
	struct conn *conns;
	size_t next_query;
	unsigned long long searches, errors, entries;
	uint32_t *lat; /* microseconds, one per search answered in time */
	size_t nlat, latcap;
	double t_end;
};

static LDAP *
connect_bound(int *fd)
{
	LDAP *ld;
	int version = LDAP_VERSION3, rc;
	struct berval cred = {strlen(password), (char *)password};

	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS)
		die("ldap_initialize", ldap_err2string(rc));
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	rc = ldap_sasl_bind_s(ld, bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		die("bind", ldap_err2string(rc));
	if (ldap_get_option(ld, LDAP_OPT_DESC, fd) != LDAP_OPT_SUCCESS || *fd < 0)
		die("no socket after bind", NULL);
	return ld;
}

static void
send_search(struct worker *w, struct conn *c, struct slot *s)
{
	const char *flt = filters[(w->next_query++ * (size_t)nthreads + (size_t)w->index) % nfilters];
	int rc = ldap_search_ext(c->ld, base, LDAP_SCOPE_SUBTREE, flt, attrs, 0, NULL, NULL, NULL,
	                         sizelimit, &s->msgid);
	if (rc != LDAP_SUCCESS)
		die("ldap_search_ext", ldap_err2string(rc));
	s->sent = now();
}

static void
record(struct worker *w, double us)
{
	if (w->nlat == w->latcap) {
		w->latcap = w->latcap ? w->latcap * 2 : 65536;
		w->lat = realloc(w->lat, w->latcap * sizeof(*w->lat));
		if (w->lat == NULL)
			die("out of memory", NULL);
	}
	w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Takes every finished search off c; sends the next one in its slot. */
static void
drain(struct worker *w, struct conn *c)
{
	struct timeval zero = {0, 0};
	LDAPMessage *res;
	int rc;

	while ((rc = ldap_result(c->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &zero, &res)) > 0) {
		int msgid = ldap_msgid(res), err = LDAP_OTHER;
		double t = now();
		struct slot *s = NULL;
		for (int i = 0; i < inflight; i++)
			if (c->slots[i].msgid == msgid)
				s = &c->slots[i];
		if (s == NULL) {
			ldap_msgfree(res);
			continue;
		}
		for (LDAPMessage *m = ldap_first_message(c->ld, res); m;
		     m = ldap_next_message(c->ld, m))
			if (ldap_msgtype(m) == LDAP_RES_SEARCH_RESULT)
				ldap_parse_result(c->ld, m, &err, NULL, NULL, NULL, NULL, 0);
		if (t <= w->t_end) {
			if (err == LDAP_SUCCESS || err == LDAP_SIZELIMIT_EXCEEDED) {
				w->searches++;
				w->entries += (unsigned long long)ldap_count_entries(c->ld, res);
				record(w, (t - s->sent) * 1e6);
			} else {
				w->errors++;
			}
		}
		ldap_msgfree(res);
		s->msgid = 0;
		if (t < w->t_end)
			send_search(w, c, s);
	}
	if (rc < 0)
		die("ldap_result", ldap_err2string(rc));
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd *pfd = xmalloc((size_t)w->nconns * sizeof(*pfd));

	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		for (int k = 0; k < inflight; k++)
			send_search(w, c, &c->slots[k]);
	}
	for (;;) {
		double left = w->t_end - now();
		int busy = 0;
		for (int i = 0; i < w->nconns; i++) {
			pfd[i].fd = w->conns[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			for (int k = 0; k < inflight; k++)
				busy |= w->conns[i].slots[k].msgid != 0;
		}
		if (left <= 0 || !busy)
			break;
		int n = poll(pfd, (nfds_t)w->nconns, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			die("poll", strerror(errno));
		for (int i = 0; i < w->nconns; i++)
			if (pfd[i].revents)
				drain(w, &w->conns[i]);
	}
	free(pfd);
	return NULL;
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *queries = NULL, *pwfile = NULL;
	char fieldlist[256] = "cn,sn,givenName,uid,mail,title", *save = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "H:D:y:b:f:t:c:n:d:z:a:")) != -1) {
		switch (opt) {
		case 'H': uri = optarg; break;
		case 'D': bind_dn = optarg; break;
		case 'y': pwfile = optarg; break;
		case 'b': base = optarg; break;
		case 'f': queries = optarg; break;
		case 't': nthreads = atoi(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 'n': inflight = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'z': sizelimit = atoi(optarg); break;
		case 'a': snprintf(fieldlist, sizeof(fieldlist), "%s", optarg); break;
		default:
			fprintf(stderr, "usage: ldapbench -H uri -D binddn -y pwfile -b base -f queries "
			                "[-t threads] [-c conns] [-n inflight] [-d secs] [-z sizelimit] "
			                "[-a attrs]\n");
			return 2;
		}
	}
	if (!uri || !bind_dn || !pwfile || !base || !queries || nthreads < 1 || nconns < nthreads ||
	    inflight < 1 || duration <= 0)
		die("bad arguments (see the head of bench/ldapbench.c)", NULL);
	for (char *a = strtok_r(fieldlist, ",", &save); a && nfields < 16;
	     a = strtok_r(NULL, ",", &save))
		fields[nfields++] = a;
	if (nfields == 0)
		die("-a names no attribute", NULL);
	password = read_password(pwfile);
	read_queries(queries);

	struct worker *ws = calloc((size_t)nthreads, sizeof(*ws));
	if (ws == NULL)
		die("out of memory", NULL);
	for (int t = 0; t < nthreads; t++) {
		struct worker *w = &ws[t];
		w->index = t;
		w->nconns = nconns / nthreads + (t < nconns % nthreads);
		w->conns = calloc((size_t)w->nconns, sizeof(*w->conns));
		if (w->conns == NULL)
			die("out of memory", NULL);
		for (int i = 0; i < w->nconns; i++) {
			w->conns[i].ld = connect_bound(&w->conns[i].fd);
			w->conns[i].slots = calloc((size_t)inflight, sizeof(struct slot));
			if (w->conns[i].slots == NULL)
				die("out of memory", NULL);
		}
	}
	double t0 = now();
	for (int t = 0; t < nthreads; t++) {
		ws[t].t_end = t0 + duration;
		if (pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]) != 0)
			die("pthread_create", NULL);
	}
	unsigned long long searches = 0, errors = 0, entries = 0;
	size_t nlat = 0;
	for (int t = 0; t < nthreads; t++) {
		pthread_join(ws[t].tid, NULL);
		searches += ws[t].searches;
		errors += ws[t].errors;
		entries += ws[t].entries;
		nlat += ws[t].nlat;
	}
	double secs = now() - t0;
	if (secs > duration)
		secs = duration; /* answers after the end are not counted */
	uint32_t *lat = xmalloc(nlat * sizeof(*lat));
	size_t k = 0;
	for (int t = 0; t < nthreads; t++) {
		memcpy(lat + k, ws[t].lat, ws[t].nlat * sizeof(*lat));
		k += ws[t].nlat;
		for (int i = 0; i < ws[t].nconns; i++) {
			ldap_unbind_ext_s(ws[t].conns[i].ld, NULL, NULL);
			free(ws[t].conns[i].slots);
		}
		free(ws[t].conns);
		free(ws[t].lat);
	}
	qsort(lat, nlat, sizeof(*lat), u32cmp);
#define PCT(p) (nlat ? lat[(size_t)((double)(nlat - 1) * (p) / 100.0 + 0.5)] : 0)
	printf("searches=%llu seconds=%.3f rate=%.1f p50_us=%u p90_us=%u p99_us=%u errors=%llu "
	       "entries=%llu\n",
	       searches, secs, (double)searches / secs, PCT(50), PCT(90), PCT(99), errors, entries);
	free(lat);
	free(ws);
	for (size_t i = 0; i < nfilters; i++)
		free(filters[i]);
	free(filters);
	return errors ? 1 : 0;
}
