/*
 * reports_int.h: the quality report as reports.c builds it, for the
 * spreadsheet forms in reports_export.c. Nothing outside api/reports*.c
 * includes it.
 */
#ifndef API_REPORTS_INT_H
#define API_REPORTS_INT_H

#include <stddef.h>

struct evbuffer;

#define REPORT_TOP 5

struct top {
	char *section;
	long count;
};

/* A distribution: how many notes (n) had the value v. */
struct hist {
	int v;
	long n;
};

struct group {
	char *period, *route; /* owned */
	long filed, returned;
	struct hist *days;          /* working days to accept, over the accepted notes */
	size_t ndaysv;              /* entries of days */
	long ndays;                 /* notes in days */
	struct top top[REPORT_TOP]; /* the most flagged sections, most first */
	size_t ntop;
	struct top *flags; /* every section flagged, while the report is read */
	size_t nflags;
	long accepted;     /* notes accepted */
	long noticed6;     /* of them, with a notice six months or more before */
	struct hist *lead; /* days from the notice to acceptance, over the noticed notes */
	size_t nleadv;     /* entries of lead */
	long nlead;        /* notes in lead */
};

struct report {
	struct group *v;
	size_t n, cap;
};

/* Frees what a group holds (not g itself). */
void reports_group_clear(struct group *g);
/* Frees what the report holds (not r itself); r is left empty. */
void reports_free(struct report *r);

/* reports_cache.c: the reports computed lately (see there). */
/* The figures' version: report_version()'s two columns (migration 0016). */
struct report_version {
	long long generation, deltas;
};

struct report_cached {
	struct report r;
	long notes;
	char *json; /* the JSON answer once rendered, owned; or NULL */
};

/* The entry kept under key and exactly version v, or NULL. Borrowed: valid
 * until the next reports_cache_put() or reports_cache_stop(). */
struct report_cached *reports_cache_find(const char *key, const struct report_version *v);
/* Keeps r under key and v, taking what r holds (r is left empty), and
 * returns the entry (borrowed, as above); or NULL, r untouched, when it is
 * not kept (too large, an answer of a newer version kept, stopped). The
 * key is copied. */
struct report_cached *reports_cache_put(const char *key, const struct report_version *v,
                                        struct report *r, long notes);
/* Frees every entry; nothing is kept after it. */
void reports_cache_stop(void);

/* returned/filed in thousandths, rounded half up; 0 when none was filed */
long reports_share_milli(const struct group *);
/* noticed6/accepted in thousandths, rounded half up; 0 when none was accepted */
long reports_noticed_milli(const struct group *);
/* The quartiles of v (sorted here): q[0] the 25th percentile, q[1] the
 * median, q[2] the 75th, each by linear interpolation between ranks
 * (Hyndman and Fan's type 7, as spreadsheets compute them); n > 0. */
void reports_quartiles(int *v, size_t n, double q[3]);
/* The same two over a distribution of nv entries (sorted here, the equal
 * values merged; the notes it holds > 0 for the quartiles): the median
 * as reports_median() gives it for the values laid out one per note, -1
 * when it holds none. */
double reports_hist_median(struct hist *h, size_t *nv);
void reports_hist_quartiles(struct hist *h, size_t *nv, double q[3]);

/*
 * The report as the CSV Danish spreadsheets open as columns (API.md
 * "Exports"): UTF-8 with a BOM, ';' between fields, CRLF, decimal comma,
 * Danish headers, route and section names rather than codes. Appended to b.
 */
void reports_csv(struct evbuffer *b, struct report *);
/*
 * The same as an XLSX workbook (libxlsxwriter): one sheet "Kvalitet", a
 * bold frozen header row with a filter, numbers as numbers, the share as
 * a percentage. Appended to b; 0, or -1 (logged) when it could not be
 * written. `from` and `to` go into the document's properties.
 */
int reports_xlsx(struct evbuffer *b, struct report *, const char *from, const char *to);

#endif
