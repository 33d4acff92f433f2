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
