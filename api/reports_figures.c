/*
 * reports_figures.c: the quality report's two computed figures, shared by
 * the JSON answer (reports.c) and the spreadsheets (reports_export.c): the
 * median of the working days to acceptance and the share returned.
 */
#include <stdlib.h>

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

void
reports_quartiles(int *v, size_t n, double q[3])
{
	qsort(v, n, sizeof(*v), int_cmp);
	q[0] = quantile(v, n, 0.25);
	q[1] = quantile(v, n, 0.5);
	q[2] = quantile(v, n, 0.75);
}
