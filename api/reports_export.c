/*
 * reports_export.c: the quality report as spreadsheets Danes open (API.md
 * "Exports"; issue 21): CSV with a BOM, ';' between fields and a decimal
 * comma, so Danish Excel reads columns and 0,5 as a half; and an XLSX
 * workbook with typed cells (libxlsxwriter). Both name routes, quarters and
 * sections in Danish ("3. kvartal 2026", "Fra Børn- og Ungerådgivningen
 * til Ungerådgivningen", "Mål for overgangen") rather than codes; a code
 * the loaded routes do not know is shown as it is. The report holds
 * counts only: no citizen, no person.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <xlsxwriter.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "checks.h"
#include "api.h"
#include "reports_int.h"

#define NCOLS 10

static const char *const headers[NCOLS] = {"Kvartal",
                                           "Rute",
                                           "Rutekode",
                                           "Indsendte notater",
                                           "Returnerede",
                                           "Andel returneret",
                                           "Median arbejdsdage til accept",
                                           "Hyppigst markerede afsnit (antal)",
                                           "Median dage fra varsel til accept",
                                           "Andel varslet mindst 6 måneder før accept"};

/* The route's Danish name, or its code. */
static const char *
route_name(const struct ho_route_set *set, const char *code)
{
	const struct ho_route *r = set ? routes_find(set, code) : NULL;
	return r && r->name && *r->name ? r->name : code;
}

/* A section's label in the route's template, or its key. */
static const char *
section_label(const struct ho_route_set *set, const char *route, const char *key)
{
	const struct ho_route *r = set ? routes_find(set, route) : NULL;
	const char *label =
	    r ? template_section_label(routes_template_find(set, r->template, r->template_version),
	                               key)
	      : NULL;
	return label ? label : key;
}

/* "2026-Q3" as "3. kvartal 2026"; anything else as it is. */
static void
quarter_label(const char *period, char *out, size_t n)
{
	if (strlen(period) == 7 && period[4] == '-' && period[5] == 'Q' && period[6] >= '1' &&
	    period[6] <= '4')
		snprintf(out, n, "%c. kvartal %.4s", period[6], period);
	else
		snprintf(out, n, "%s", period);
}

/* "Mål for overgangen (2), Kontakt (2)": the flagged sections, most first. */
static char *
top_text(const struct ho_route_set *set, const struct group *g)
{
	struct evbuffer *b = evbuffer_new();
	char *s;
	size_t n;

	for (size_t t = 0; t < g->ntop; t++)
		evbuffer_add_printf(b, "%s%s (%ld)", t ? ", " : "",
		                    section_label(set, g->route, g->top[t].section),
		                    g->top[t].count);
	n = evbuffer_get_length(b);
	s = xmalloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* One CSV field: quoted (quotes doubled) when it holds ';', '"' or a line end. */
static void
csv_field(struct evbuffer *b, const char *s)
{
	if (strpbrk(s, ";\"\r\n") == NULL) {
		evbuffer_add(b, s, strlen(s));
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		evbuffer_add(b, s, 1);
		if (*s == '"')
			evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* A figure with a decimal comma and at most two decimals ("3", "3,5", "2,25"). */
static void
csv_number(struct evbuffer *b, double m)
{
	char s[48], *p;

	snprintf(s, sizeof(s), "%.2f", m);
	if ((p = strchr(s, '.')) != NULL) {
		size_t n = strlen(s);
		while (n > 0 && s[n - 1] == '0')
			s[--n] = '\0';
		if (s[n - 1] == '.')
			s[--n] = '\0';
		else
			*p = ',';
	}
	evbuffer_add(b, s, strlen(s));
}

/* The lead time's median and the share noticed six months ahead, each
 * empty when there is none: ";median;share". */
static void
csv_notice_figures(struct evbuffer *b, struct group *g)
{
	double q[3];
	long milli = reports_noticed_milli(g);

	evbuffer_add(b, ";", 1);
	if (g->nlead) {
		reports_hist_quartiles(g->lead, &g->nleadv, q);
		csv_number(b, q[1]);
	}
	evbuffer_add(b, ";", 1);
	if (g->accepted)
		evbuffer_add_printf(b, "%ld,%03ld", milli / 1000, milli % 1000);
}

void
reports_csv(struct evbuffer *b, struct report *r)
{
	const struct ho_route_set *set = routes_current();
	char q[32];

	evbuffer_add(b, "\xEF\xBB\xBF", 3); /* the BOM: Excel reads UTF-8 then */
	for (int c = 0; c < NCOLS; c++) {
		if (c)
			evbuffer_add(b, ";", 1);
		csv_field(b, headers[c]);
	}
	evbuffer_add(b, "\r\n", 2);
	for (size_t i = 0; i < r->n; i++) {
		struct group *g = &r->v[i];
		long milli = reports_share_milli(g);
		char *top = top_text(set, g);

		quarter_label(g->period, q, sizeof(q));
		csv_field(b, q);
		evbuffer_add(b, ";", 1);
		csv_field(b, route_name(set, g->route));
		evbuffer_add(b, ";", 1);
		csv_field(b, g->route);
		evbuffer_add_printf(b, ";%ld;%ld;%ld,%03ld;", g->filed, g->returned, milli / 1000,
		                    milli % 1000);
		if (g->ndays)
			csv_number(b, reports_hist_median(g->days, &g->ndaysv));
		evbuffer_add(b, ";", 1);
		csv_field(b, top);
		csv_notice_figures(b, g);
		evbuffer_add(b, "\r\n", 2);
		free(top);
	}
}

/* ---- XLSX ---- */

static int
xlsx_rows(lxw_worksheet *ws, struct report *r, lxw_format *pct, lxw_format *dec)
{
	const struct ho_route_set *set = routes_current();
	char q[32];
	int err = 0;

	for (size_t i = 0; i < r->n && !err; i++) {
		struct group *g = &r->v[i];
		lxw_row_t row = (lxw_row_t)(i + 1);
		char *top = top_text(set, g);

		quarter_label(g->period, q, sizeof(q));
		err |= worksheet_write_string(ws, row, 0, q, NULL);
		err |= worksheet_write_string(ws, row, 1, route_name(set, g->route), NULL);
		err |= worksheet_write_string(ws, row, 2, g->route, NULL);
		err |= worksheet_write_number(ws, row, 3, (double)g->filed, NULL);
		err |= worksheet_write_number(ws, row, 4, (double)g->returned, NULL);
		err |=
		    worksheet_write_number(ws, row, 5, (double)reports_share_milli(g) / 1000, pct);
		if (g->ndays)
			err |= worksheet_write_number(
			    ws, row, 6, reports_hist_median(g->days, &g->ndaysv), dec);
		if (*top)
			err |= worksheet_write_string(ws, row, 7, top, NULL);
		free(top);
		if (g->nlead) {
			double quart[3];
			reports_hist_quartiles(g->lead, &g->nleadv, quart);
			err |= worksheet_write_number(ws, row, 8, quart[1], dec);
		}
		if (g->accepted)
			err |= worksheet_write_number(ws, row, 9,
			                              (double)reports_noticed_milli(g) / 1000, pct);
	}
	return err ? -1 : 0;
}

/* The workbook written to path: 0, or an lxw_error. */
static int
xlsx_write(const char *path, struct report *r, const char *from, const char *to)
{
	static const double widths[NCOLS] = {16, 60, 12, 18, 13, 17, 30, 60, 30, 40};
	lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	lxw_worksheet *ws;
	lxw_format *bold, *pct, *dec;
	char comment[96];
	lxw_doc_properties props = {0};

	if (wb == NULL)
		return LXW_ERROR_CREATING_XLSX_FILE;
	snprintf(comment, sizeof(comment), "Indsendt fra %s til %s", from, to);
	props.title = (char *)"Stafet: kvaliteten af overdragelser";
	props.author = (char *)"Stafet";
	props.comments = comment;
	workbook_set_properties(wb, &props);
	ws = workbook_add_worksheet(wb, "Kvalitet");
	bold = workbook_add_format(wb);
	format_set_bold(bold);
	format_set_text_wrap(bold);
	pct = workbook_add_format(wb);
	format_set_num_format(pct, "0.0%");
	dec = workbook_add_format(wb);
	format_set_num_format(dec, "0.0");
	for (int c = 0; c < NCOLS; c++) {
		worksheet_write_string(ws, 0, (lxw_col_t)c, headers[c], bold);
		worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, widths[c], NULL);
	}
	worksheet_freeze_panes(ws, 1, 0);
	worksheet_autofilter(ws, 0, 0, (lxw_row_t)r->n, NCOLS - 1);
	if (xlsx_rows(ws, r, pct, dec) == -1) {
		workbook_close(wb); /* the file is removed by the caller */
		return LXW_ERROR_MEMORY_MALLOC_FAILED;
	}
	return (int)workbook_close(wb);
}

int
reports_xlsx(struct evbuffer *b, struct report *r, const char *from, const char *to)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[600];
	FILE *f;
	int err, rc = -1;

	/* libxlsxwriter writes files only: a private directory of our own
	 * for the workbook, removed at once (the figures are counts) */
	snprintf(dir, sizeof(dir), "%s/stafet-xlsx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		log_warn("reports: mkdtemp");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/kvalitet.xlsx", dir);
	if ((err = xlsx_write(path, r, from, to)) != 0) {
		log_warnx("reports: the workbook could not be written: %s",
		          lxw_strerror((lxw_error)err));
	} else if ((f = fopen(path, "rb")) == NULL) {
		log_warn("reports: %s", path);
	} else {
		char chunk[16384];
		size_t n;
		rc = 0;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			evbuffer_add(b, chunk, n);
		if (ferror(f)) {
			log_warn("reports: reading the workbook");
			rc = -1;
		}
		fclose(f);
	}
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("reports: %s", path);
	if (rmdir(dir) == -1)
		log_warn("reports: %s", dir);
	return rc;
}
