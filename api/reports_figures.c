/*
 * reports_figures.c: the quality report's two computed figures, shared by
 * the JSON answer (reports.c) and the spreadsheets (reports_export.c): the
 * median of the working days to acceptance and the share returned, over
 * the values one per note or (the report as it is now read) a distribution;
 * and freeing a report (reports.c, reports_cache.c).
 */
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "api.h"
#include "reports_int.h"

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

double
reports_median(int *v, size_t n)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), int_cmp);
	if (n % 2)
		return v[n / 2];
	return ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

/* returned/filed in thousandths, rounded half up */
long
reports_share_milli(const struct group *g)
{
	if (g->filed == 0)
		return 0;
	return (g->returned * 2000 + g->filed) / (2 * g->filed);
}

long
reports_noticed_milli(const struct group *g)
{
	if (g->accepted == 0)
		return 0;
	return (g->noticed6 * 2000 + g->accepted) / (2 * g->accepted);
}

static double
quantile(const int *v, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)h;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

static int
hist_cmp(const void *a, const void *b)
{
	int x = ((const struct hist *)a)->v, y = ((const struct hist *)b)->v;
	return (x > y) - (x < y);
}

/* Sorts h by value, sums equal values (counts may be negative: pending
 * differences), drops those at zero or below; returns the notes it holds. */
static long
hist_sort(struct hist *h, size_t *nv)
{
	size_t o = 0, k = 0;
	long total = 0;

	if (*nv == 0)
		return 0; /* and h may be NULL, which qsort may not be given */
	qsort(h, *nv, sizeof(*h), hist_cmp);
	for (size_t i = 0; i < *nv; i++) {
		if (o && h[o - 1].v == h[i].v)
			h[o - 1].n += h[i].n;
		else
			h[o++] = h[i];
	}
	for (size_t i = 0; i < o; i++) {
		if (h[i].n <= 0)
			continue;
		h[k++] = h[i];
		total += h[i].n;
	}
	*nv = k;
	return total;
}

/* The value of the note at rank k (0-based) of a sorted distribution. */
static int
hist_at(const struct hist *h, size_t nv, long k)
{
	for (size_t i = 0; i < nv; i++) {
		if (k < h[i].n)
			return h[i].v;
		k -= h[i].n;
	}
	return nv ? h[nv - 1].v : 0;
}

double
reports_hist_median(struct hist *h, size_t *nv)
{
	long n = hist_sort(h, nv);

	if (n == 0)
		return -1;
	if (n % 2)
		return hist_at(h, *nv, n / 2);
	return ((double)hist_at(h, *nv, n / 2 - 1) + (double)hist_at(h, *nv, n / 2)) / 2;
}

static double
hist_quantile(const struct hist *h, size_t nv, long n, double p)
{
	double x = (double)(n - 1) * p;
	long lo = (long)x;
	int a;

	if (lo + 1 >= n)
		return hist_at(h, nv, n - 1);
	a = hist_at(h, nv, lo);
	return a + (x - (double)lo) * (hist_at(h, nv, lo + 1) - a);
}

void
reports_hist_quartiles(struct hist *h, size_t *nv, double q[3])
{
	long n = hist_sort(h, nv);

	q[0] = hist_quantile(h, *nv, n, 0.25);
	q[1] = hist_quantile(h, *nv, n, 0.5);
	q[2] = hist_quantile(h, *nv, n, 0.75);
}

void
reports_quartiles(int *v, size_t n, double q[3])
{
	qsort(v, n, sizeof(*v), int_cmp);
	q[0] = quantile(v, n, 0.25);
	q[1] = quantile(v, n, 0.5);
	q[2] = quantile(v, n, 0.75);
}

void
reports_group_clear(struct group *g)
{
	free(g->period);
	free(g->route);
	free(g->days);
	free(g->lead);
	for (size_t t = 0; t < g->ntop; t++)
		free(g->top[t].section);
	for (size_t t = 0; t < g->nflags; t++)
		free(g->flags[t].section);
	free(g->flags);
}

void
reports_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		reports_group_clear(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}
