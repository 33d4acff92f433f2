/*
 * pdf.h: a note as a PDF (GET /api/v1/handovers/{id}/pdf). pdf.c builds, on
 * the loop, a document of plain Danish text blocks from the note as its
 * reader may see it; pdf_render.c lays the blocks out on A4 pages with
 * cairo and pango on a worker thread, in IBM Plex Sans read from web_root,
 * and hands the bytes back to the loop. Only api/ includes this.
 */
#ifndef STAFET_API_PDF_H
#define STAFET_API_PDF_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct config;

enum pdf_kind {
	PDF_TITLE,      /* the document's title */
	PDF_HEADING,    /* a part: "Borgeren", a section's label (in the outline) */
	PDF_SUBHEADING, /* an item inside a part: a goal, an action, a flag */
	PDF_FIELD,      /* label: value, in two columns */
	PDF_TEXT,       /* a paragraph */
	PDF_NOTE,       /* a small grey line: an explanation */
};

/* One block; label and text are owned (either may be NULL). */
struct pdf_block {
	enum pdf_kind kind;
	char *label;
	char *text;
};

/*
 * What the worker renders: no pointer into the directory snapshot or the
 * note, so the loop may move on. The strings are owned. title: the PDF's
 * Title (the ref and version only: no name, no CPR number); footer: the
 * first footer line of every page; hash_line: the second.
 */
struct pdf_doc {
	struct pdf_block *v;
	size_t n, cap;
	char *title;
	char *footer;
	char *hash_line;
	int max_pages;
	size_t max_bytes;
};

/* Appends a block; label and text are copied (either may be NULL). */
void pdf_doc_add(struct pdf_doc *, enum pdf_kind, const char *label, const char *text);
/* Frees what the document owns and the document itself; NULL is a no-op. */
void pdf_doc_free(struct pdf_doc *);

enum pdf_result {
	PDF_OK,
	PDF_TOO_MANY_PAGES, /* over max_pages */
	PDF_TOO_LARGE,      /* over max_bytes */
	PDF_FAILED,         /* cairo or pango failed (logged) */
	PDF_STOPPING,       /* the daemon stops */
};

/* Runs on the loop. On PDF_OK `pdf` (len bytes) is the caller's to free;
 * otherwise NULL. pages: the pages laid out. */
typedef void (*pdf_done_cb)(enum pdf_result, unsigned char *pdf, size_t len, int pages, void *arg);

/* Whether the fonts loaded at start: false when web_root lacks them (the
 * reason in `why`, English, for the log). */
bool pdf_render_available(const char **why);
/* Queues a render; the document is stolen. False (nothing queued, doc
 * freed) when the queue is full or rendering is unavailable. */
bool pdf_render_submit(struct pdf_doc *, pdf_done_cb, void *arg);
/* The module row (app/modules.c): fonts and the worker thread. Stop answers
 * every job still queued or running with PDF_STOPPING. */
void pdf_render_start(struct event_base *, const struct config *);
void pdf_render_stop(void);
/* The jobs queued or running (the metrics' gauge). */
size_t pdf_render_queued(void);

#endif
