/*
 * pdf_render.c: lays a PDF document (pdf.h) out on A4 pages with cairo and
 * pango, on one worker thread, so the event loop never waits for it.
 *
 * The fonts are IBM Plex Sans, the UI's typeface, read at start from the
 * TrueType files Det Fælles Designsystem ships (web_root/dkfds/fonts/...;
 * scripts/ui-assets.sh copies them) into a fontconfig configuration of
 * their own: no system font is looked for or used, and cairo embeds the
 * subsets it draws. Without them PDF export is unavailable (logged once at
 * start; the endpoint answers 503), and the rest of the daemon runs on.
 *
 * A document is laid out twice with the same layouts: once to count the
 * pages (the footer says "Side x af y"; over max_pages stops early), once
 * to draw. Text is wrapped at words, and inside a word too long for the
 * line; a paragraph flows line by line across page breaks. The bytes go
 * to memory through cairo's stream writer, which refuses past max_bytes.
 * Jobs come back to the loop through a pipe, as directory/login.c's do.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <event2/event.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-fontmap.h>

#include "stafetd.h"
#include "pdf.h"

#define QUEUE_MAX 16
#define FONT_DIR  "/dkfds/fonts/IBMPlexSans/complete/ttf/"
#define FAMILY    "IBM Plex Sans"

/* A4 in points, and the page's frame. */
#define PAGE_W    595.2756
#define PAGE_H    841.8898
#define MARGIN_X  56.0
#define TOP       56.0
#define BOTTOM    (PAGE_H - 78.0)
#define CONTENT_W (PAGE_W - 2 * MARGIN_X)
#define LABEL_W   150.0

static const char *const font_files[] = {"IBMPlexSans-Regular.ttf", "IBMPlexSans-SemiBold.ttf"};

struct job {
	TAILQ_ENTRY(job) entry;
	struct pdf_doc *doc;
	pdf_done_cb cb;
	void *arg;
	enum pdf_result result;
	unsigned char *pdf;
	size_t len;
	int pages;
};
TAILQ_HEAD(job_list, job);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct job_list queue = TAILQ_HEAD_INITIALIZER(queue);
static struct job_list done = TAILQ_HEAD_INITIALIZER(done);
static size_t njobs; /* queued or running */
static atomic_bool stopping;
static bool running;
static pthread_t thread;
static int done_pipe[2] = {-1, -1};
static struct event *done_ev;
static FcConfig *fonts;
static char unavailable[4400] = "not started";

void
pdf_doc_add(struct pdf_doc *d, enum pdf_kind kind, const char *label, const char *text)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n].kind = kind;
	d->v[d->n].label = label ? xstrdup(label) : NULL;
	d->v[d->n].text = text ? xstrdup(text) : NULL;
	d->n++;
}

void
pdf_doc_free(struct pdf_doc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].label);
		free(d->v[i].text);
	}
	free(d->v);
	free(d->title);
	free(d->footer);
	free(d->hash_line);
	free(d);
}

/* -- layout ------------------------------------------------------------------------------ */

struct pager {
	cairo_t *cr; /* NULL while counting */
	cairo_surface_t *surface;
	PangoContext *ctx;
	const struct pdf_doc *doc;
	PangoFontDescription *body, *bold, *small, *heading, *subheading, *title;
	double y;
	int page, total;
	enum pdf_result err;
	/* each block's layouts (text, label), made while counting and drawn
	 * as they are: the same lines in both passes, shaped once */
	PangoLayout **cache;
	size_t cur; /* the block being laid out */
};

static PangoFontDescription *
font(const char *size, bool bold)
{
	char spec[64];
	snprintf(spec, sizeof(spec), FAMILY "%s %s", bold ? " SemiBold" : "", size);
	PangoFontDescription *f = pango_font_description_from_string(spec);
	pango_font_description_set_family(f, FAMILY);
	pango_font_description_set_weight(f, bold ? PANGO_WEIGHT_SEMIBOLD : PANGO_WEIGHT_NORMAL);
	return f;
}

static PangoLayout *
layout(struct pager *p, const char *text, const PangoFontDescription *f, double width)
{
	PangoLayout *l = pango_layout_new(p->ctx);
	pango_layout_set_font_description(l, f);
	pango_layout_set_width(l, (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_text(l, text ? text : "", -1);
	return l;
}

/* A layout of the block being laid out (slot 0: its text, 1: its label),
 * made once; the pager owns it. */
static PangoLayout *
block_layout(struct pager *p, int slot, const char *text, const PangoFontDescription *f,
             double width)
{
	PangoLayout **l = &p->cache[2 * p->cur + (size_t)slot];
	if (*l == NULL)
		*l = layout(p, text, f, width);
	return *l;
}

static double
height_of(PangoLayout *l)
{
	int w, h;
	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

static void
color(struct pager *p, double r, double g, double b)
{
	if (p->cr)
		cairo_set_source_rgb(p->cr, r, g, b);
}

/* The footer of the page begun: what the note is, its hash, Side x af y. */
static void
footer(struct pager *p)
{
	char where[64];
	double y = BOTTOM + 22;
	PangoLayout *l;

	cairo_set_source_rgb(p->cr, 0.6, 0.6, 0.6);
	cairo_set_line_width(p->cr, 0.5);
	cairo_move_to(p->cr, MARGIN_X, BOTTOM + 14);
	cairo_line_to(p->cr, PAGE_W - MARGIN_X, BOTTOM + 14);
	cairo_stroke(p->cr);
	cairo_set_source_rgb(p->cr, 0.25, 0.25, 0.25);
	snprintf(where, sizeof(where), "Side %d af %d", p->page, p->total);
	l = layout(p, where, p->small, CONTENT_W);
	pango_layout_set_alignment(l, PANGO_ALIGN_RIGHT);
	cairo_move_to(p->cr, MARGIN_X, y);
	pango_cairo_show_layout(p->cr, l);
	g_object_unref(l);
	l = layout(p, p->doc->footer, p->small, CONTENT_W - 90);
	cairo_move_to(p->cr, MARGIN_X, y);
	pango_cairo_show_layout(p->cr, l);
	y += height_of(l);
	g_object_unref(l);
	l = layout(p, p->doc->hash_line, p->small, CONTENT_W);
	cairo_move_to(p->cr, MARGIN_X, y);
	pango_cairo_show_layout(p->cr, l);
	g_object_unref(l);
	cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1);
}

static void
page_begin(struct pager *p)
{
	p->page++;
	p->y = TOP;
	if (atomic_load(&stopping))
		p->err = PDF_STOPPING;
	else if (p->page > p->doc->max_pages)
		p->err = PDF_TOO_MANY_PAGES;
	else if (p->cr)
		footer(p);
}

static void
page_break(struct pager *p)
{
	if (p->cr)
		cairo_show_page(p->cr);
	page_begin(p);
}

/* Room for `need` points on this page, else a new page. */
static void
room(struct pager *p, double need)
{
	if (p->y + need > BOTTOM && p->y > TOP)
		page_break(p);
}

/* Draws (or counts) a layout's lines at x from p->y, breaking the page
 * between lines. */
static void
flow(struct pager *p, PangoLayout *l, double x)
{
	PangoLayoutIter *it = pango_layout_get_iter(l);
	do {
		PangoRectangle r;
		pango_layout_iter_get_line_extents(it, NULL, &r);
		double h = (double)r.height / PANGO_SCALE;
		room(p, h);
		if (p->err)
			break;
		if (p->cr) {
			int base = pango_layout_iter_get_baseline(it);
			cairo_move_to(p->cr, x + (double)r.x / PANGO_SCALE,
			              p->y + (double)(base - r.y) / PANGO_SCALE);
			pango_cairo_show_layout_line(p->cr,
			                             pango_layout_iter_get_line_readonly(it));
		}
		p->y += h;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
}

/* The first line's height of a layout. */
static double
first_line(PangoLayout *l)
{
	PangoRectangle r;
	PangoLayoutIter *it = pango_layout_get_iter(l);
	pango_layout_iter_get_line_extents(it, NULL, &r);
	pango_layout_iter_free(it);
	return (double)r.height / PANGO_SCALE;
}

static void
heading(struct pager *p, const struct pdf_block *b, bool top)
{
	PangoLayout *l = block_layout(p, 0, b->text, top ? p->heading : p->subheading, CONTENT_W);
	p->y += top ? 14 : 8;
	/* keep a heading with the first lines after it */
	room(p, height_of(l) + (top ? 42 : 30));
	if (!p->err && p->cr && top) {
		char dest[96];
		snprintf(dest, sizeof(dest), "page=%d pos=[%.0f %.0f]", p->page, MARGIN_X, p->y);
		cairo_pdf_surface_add_outline(p->surface, CAIRO_PDF_OUTLINE_ROOT, b->text, dest, 0);
	}
	if (top)
		color(p, 0.0, 0.29, 0.58);
	flow(p, l, MARGIN_X);
	color(p, 0.1, 0.1, 0.1);
	if (top && p->cr && !p->err) {
		cairo_set_source_rgb(p->cr, 0.75, 0.8, 0.87);
		cairo_set_line_width(p->cr, 0.75);
		cairo_move_to(p->cr, MARGIN_X, p->y + 2);
		cairo_line_to(p->cr, PAGE_W - MARGIN_X, p->y + 2);
		cairo_stroke(p->cr);
		cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1);
	}
	p->y += top ? 8 : 3;
}

/* label | value, the value flowing across pages; the label beside its
 * first line. */
static void
field(struct pager *p, const struct pdf_block *b)
{
	PangoLayout *lab = block_layout(p, 1, b->label, p->bold, LABEL_W - 10);
	PangoLayout *val = block_layout(p, 0, b->text, p->body, CONTENT_W - LABEL_W);
	double lh = height_of(lab);

	room(p, lh > first_line(val) ? lh : first_line(val));
	if (!p->err) {
		double top = p->y;
		int page = p->page;
		if (p->cr) {
			color(p, 0.3, 0.3, 0.3);
			cairo_move_to(p->cr, MARGIN_X, p->y);
			pango_cairo_show_layout(p->cr, lab);
			color(p, 0.1, 0.1, 0.1);
		}
		flow(p, val, MARGIN_X + LABEL_W);
		if (p->page == page && p->y < top + lh)
			p->y = top + lh;
		p->y += 3;
	}
}

static void
paragraph(struct pager *p, const char *text, const PangoFontDescription *f, double after)
{
	flow(p, block_layout(p, 0, text, f, CONTENT_W), MARGIN_X);
	p->y += after;
}

static void
lay_out(struct pager *p)
{
	p->page = 0;
	page_begin(p);
	for (size_t i = 0; i < p->doc->n && !p->err; i++) {
		const struct pdf_block *b = &p->doc->v[i];
		p->cur = i;
		switch (b->kind) {
		case PDF_TITLE:
			color(p, 0.0, 0.29, 0.58);
			paragraph(p, b->text, p->title, 6);
			color(p, 0.1, 0.1, 0.1);
			break;
		case PDF_HEADING:
			heading(p, b, true);
			break;
		case PDF_SUBHEADING:
			heading(p, b, false);
			break;
		case PDF_FIELD:
			field(p, b);
			break;
		case PDF_TEXT:
			paragraph(p, b->text, p->body, 6);
			break;
		case PDF_NOTE:
			color(p, 0.35, 0.35, 0.35);
			paragraph(p, b->text, p->small, 4);
			color(p, 0.1, 0.1, 0.1);
			break;
		}
	}
}

/* -- rendering --------------------------------------------------------------------------- */

struct sink {
	unsigned char *buf;
	size_t len, cap, max;
	bool over;
};

static cairo_status_t
sink_write(void *closure, const unsigned char *data, unsigned int length)
{
	struct sink *s = closure;
	if (s->over || length > s->max - s->len) {
		s->over = true;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	if (s->len + length > s->cap) {
		s->cap = s->cap ? s->cap : 65536;
		while (s->cap < s->len + length)
			s->cap *= 2;
		s->buf = xrealloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, data, length);
	s->len += length;
	return CAIRO_STATUS_SUCCESS;
}

static void
pager_fonts(struct pager *p, bool free_them)
{
	PangoFontDescription **all[] = {&p->body,    &p->bold,       &p->small,
	                                &p->heading, &p->subheading, &p->title};
	if (free_them) {
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			pango_font_description_free(*all[i]);
		return;
	}
	p->body = font("10", false);
	p->bold = font("9.5", true);
	p->small = font("7.5", false);
	p->heading = font("13", true);
	p->subheading = font("10.5", true);
	p->title = font("20", true);
}

/* Draws the counted document into out. */
static enum pdf_result
draw(struct pager *p, struct sink *out)
{
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(sink_write, out, PAGE_W, PAGE_H);
	cairo_status_t st;

	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, p->doc->title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "Stafet " STAFET_VERSION);
	p->surface = s;
	p->cr = cairo_create(s);
	cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1);
	lay_out(p);
	if (!p->err)
		cairo_show_page(p->cr);
	cairo_destroy(p->cr);
	p->cr = NULL;
	cairo_surface_finish(s);
	st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	if (p->err)
		return p->err;
	if (out->over)
		return PDF_TOO_LARGE;
	if (st != CAIRO_STATUS_SUCCESS) {
		log_warnx("pdf: cairo: %s", cairo_status_to_string(st));
		return PDF_FAILED;
	}
	return PDF_OK;
}

static void
render(PangoFontMap *fm, struct job *j)
{
	struct sink out = {.max = j->doc->max_bytes};
	struct pager p = {.doc = j->doc};
	cairo_font_options_t *fo = cairo_font_options_create();

	p.ctx = pango_font_map_create_context(fm);
	pango_cairo_context_set_resolution(p.ctx, 72);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(p.ctx, fo);
	cairo_font_options_destroy(fo);
	pango_context_set_language(p.ctx, pango_language_from_string("da-dk"));
	pager_fonts(&p, false);
	p.cache = xcalloc(2 * j->doc->n + 1, sizeof(*p.cache));

	lay_out(&p); /* count */
	p.total = p.page;
	j->result = p.err ? p.err : draw(&p, &out);
	j->pages = p.total;
	for (size_t i = 0; i < 2 * j->doc->n; i++)
		if (p.cache[i])
			g_object_unref(p.cache[i]);
	free(p.cache);
	pager_fonts(&p, true);
	g_object_unref(p.ctx);
	if (j->result == PDF_OK) {
		j->pdf = out.buf;
		j->len = out.len;
	} else {
		free(out.buf);
	}
}

/* -- the worker and the queue ---------------------------------------------------------- */

static void *
worker_main(void *arg)
{
	PangoFontMap *fm = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
	(void)arg;

	pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(fm), fonts);
	pthread_mutex_lock(&mu);
	for (;;) {
		struct job *j;
		while (!atomic_load(&stopping) && TAILQ_EMPTY(&queue))
			pthread_cond_wait(&cond, &mu);
		if (atomic_load(&stopping))
			break;
		j = TAILQ_FIRST(&queue);
		TAILQ_REMOVE(&queue, j, entry);
		pthread_mutex_unlock(&mu);

		render(fm, j);

		pthread_mutex_lock(&mu);
		TAILQ_INSERT_TAIL(&done, j, entry);
		char one = 1;
		if (write(done_pipe[1], &one, 1) == -1 && errno != EAGAIN)
			log_warn("pdf: wake pipe");
	}
	pthread_mutex_unlock(&mu);
	/* pango keeps its reference to the configuration until told otherwise,
	 * even past the font map's end: give it back, so stop frees it */
	pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(fm), NULL);
	g_object_unref(fm);
	return NULL;
}

static void
deliver(struct job_list *list)
{
	struct job *j;
	while ((j = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, j, entry);
		njobs--;
		j->cb(j->result, j->pdf, j->len, j->pages, j->arg);
		pdf_doc_free(j->doc);
		free(j);
	}
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];
	struct job_list ready = TAILQ_HEAD_INITIALIZER(ready);
	(void)what;
	(void)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&mu);
	TAILQ_CONCAT(&ready, &done, entry);
	pthread_mutex_unlock(&mu);
	deliver(&ready);
}

bool
pdf_render_available(const char **why)
{
	if (why)
		*why = unavailable;
	return running;
}

size_t
pdf_render_queued(void)
{
	return njobs;
}

bool
pdf_render_submit(struct pdf_doc *doc, pdf_done_cb cb, void *arg)
{
	struct job *j;

	if (!running || njobs >= QUEUE_MAX) {
		pdf_doc_free(doc);
		return false;
	}
	j = xcalloc(1, sizeof(*j));
	j->doc = doc;
	j->cb = cb;
	j->arg = arg;
	njobs++;
	pthread_mutex_lock(&mu);
	TAILQ_INSERT_TAIL(&queue, j, entry);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
	return true;
}

/* Loads the TrueType files into a configuration of their own; false with
 * the reason in `unavailable`. */
static bool
load_fonts(const char *web_root)
{
	fonts = FcConfigCreate();
	for (size_t i = 0; i < sizeof(font_files) / sizeof(font_files[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s" FONT_DIR "%s", web_root, font_files[i]);
		if (access(path, R_OK) != 0 ||
		    !FcConfigAppFontAddFile(fonts, (const FcChar8 *)path)) {
			snprintf(unavailable, sizeof(unavailable),
			         "%s: %s (scripts/ui-assets.sh copies it from dkfds)", path,
			         access(path, R_OK) != 0 ? strerror(errno) : "not a font");
			FcConfigDestroy(fonts);
			fonts = NULL;
			return false;
		}
	}
	return true;
}

void
pdf_render_start(struct event_base *base, const struct config *c)
{
	atomic_store(&stopping, false);
	if (!load_fonts(c->web_root)) {
		log_warnx("pdf: the fonts are missing, PDF export is unavailable: %s", unavailable);
		return;
	}
	if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pdf: pipe");
	done_ev = event_new(base, done_pipe[0], EV_READ | EV_PERSIST, done_cb, NULL);
	event_add(done_ev, NULL);
	if (pthread_create(&thread, NULL, worker_main, NULL) != 0)
		fatalx("pdf: cannot start the worker thread");
	running = true;
	snprintf(unavailable, sizeof(unavailable), "running");
}

/* A render running is cut short at its next page; every job is answered. */
void
pdf_render_stop(void)
{
	struct job_list left = TAILQ_HEAD_INITIALIZER(left);

	if (running) {
		pthread_mutex_lock(&mu);
		atomic_store(&stopping, true);
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&mu);
		pthread_join(thread, NULL);
		running = false;
	}
	TAILQ_CONCAT(&left, &done, entry);
	TAILQ_CONCAT(&left, &queue, entry);
	struct job *j;
	TAILQ_FOREACH (j, &left, entry) {
		if (j->result == PDF_OK && j->pdf == NULL)
			j->result = PDF_STOPPING;
	}
	deliver(&left);
	if (done_ev) {
		event_free(done_ev);
		done_ev = NULL;
	}
	for (int i = 0; i < 2; i++)
		if (done_pipe[i] != -1) {
			close(done_pipe[i]);
			done_pipe[i] = -1;
		}
	if (fonts) {
		FcConfigDestroy(fonts);
		fonts = NULL;
	}
	snprintf(unavailable, sizeof(unavailable), "stopped");
}
