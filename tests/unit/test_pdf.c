/*
 * test_pdf.c: the PDF renderer (api/pdf_render.c) on its worker thread,
 * through an event loop as the daemon runs it: a document renders to a
 * PDF; one over its page limit or its byte limit is refused, and says
 * which; jobs still queued when it stops are answered; without the fonts
 * nothing is queued. The fonts are the dkfds TTFs under web/ (make deps;
 * STAFET_WEB_ROOT overrides the path).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "stafetd.h"
#include "pdf.h"

struct outcome {
	int calls;
	enum pdf_result res;
	size_t len;
	int pages;
	bool pdf_header;
};

static struct event_base *base;

/*
 * LeakSanitizer's suppressions for this test (make check runs it with
 * detect_leaks=1 and the fast unwinder, whose stacks end inside
 * libfontconfig), as tests/sanitizers/lsan.supp has them for the daemon:
 * fontconfig keeps a pattern's elements and a character set's leaves
 * behind offsets, not pointers (FcPattern.elts_offset,
 * FcCharSet.leaves_offset), which LeakSanitizer cannot follow, so the
 * patterns of the fonts read, which pango keeps for the process's life,
 * and of the configuration pango's initialisation thread parses (expat)
 * look lost. A leak of the renderer's own still fails.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\nleak:libexpat.so\n";
}

static void
done(enum pdf_result res, unsigned char *pdf, size_t len, int pages, void *arg)
{
	struct outcome *o = arg;
	o->calls++;
	o->res = res;
	o->len = len;
	o->pages = pages;
	o->pdf_header = pdf && len > 5 && memcmp(pdf, "%PDF-", 5) == 0;
	free(pdf);
	event_base_loopbreak(base);
}

static void
start(const char *web_root)
{
	struct config c = {0};
	const char *env = getenv("STAFET_WEB_ROOT");
	c.web_root = (char *)(uintptr_t)(web_root ? web_root : env ? env : "web");
	base = event_base_new();
	assert_non_null(base);
	pdf_render_start(base, &c);
}

static void
stop(void)
{
	pdf_render_stop();
	event_base_free(base);
	base = NULL;
}

/* A document of n paragraphs of a long Danish text. */
static struct pdf_doc *
doc_of(size_t n, int max_pages, size_t max_bytes)
{
	struct pdf_doc *d = xcalloc(1, sizeof(*d));
	char text[2048];
	size_t len = 0;

	while (len + 80 < sizeof(text))
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "Den unge går i 10. klasse, æøå ÆØÅ, og skal videre. ");
	d->title = xstrdup("Overdragelsesnotat STF-2026-000001 version 1");
	d->footer = xstrdup("STF-2026-000001 · version 1");
	d->hash_line = xstrdup("SHA-256 af versionens indhold: 00");
	d->max_pages = max_pages;
	d->max_bytes = max_bytes;
	pdf_doc_add(d, PDF_TITLE, NULL, "Overdragelsesnotat");
	pdf_doc_add(d, PDF_FIELD, "Reference", "STF-2026-000001");
	for (size_t i = 0; i < n; i++) {
		pdf_doc_add(d, PDF_HEADING, NULL, "Situation");
		pdf_doc_add(d, PDF_TEXT, NULL, text);
		pdf_doc_add(d, PDF_FIELD, "Tidsramme", text);
	}
	pdf_doc_add(d, PDF_NOTE, NULL,
	            "Ord uden mellemrum: Overdragelsesnotatsafsnitsordet"
	            "Overdragelsesnotatsafsnitsordet"
	            "Overdragelsesnotatsafsnitsordet"
	            "Overdragelsesnotatsafsnitsordet");
	return d;
}

static struct outcome
render(struct pdf_doc *d)
{
	struct outcome o = {0};
	assert_true(pdf_render_submit(d, done, &o));
	assert_int_equal(pdf_render_queued(), 1);
	event_base_dispatch(base);
	assert_int_equal(o.calls, 1);
	assert_int_equal(pdf_render_queued(), 0);
	return o;
}

static void
test_renders(void **state)
{
	(void)state;
	start(NULL);
	assert_true(pdf_render_available(NULL));
	struct outcome o = render(doc_of(20, 100, 8u << 20));
	assert_int_equal(o.res, PDF_OK);
	assert_true(o.pdf_header);
	assert_true(o.pages > 2);
}

static void
test_page_limit(void **state)
{
	(void)state;
	struct outcome o = render(doc_of(20, 2, 8u << 20));
	assert_int_equal(o.res, PDF_TOO_MANY_PAGES);
	assert_int_equal(o.len, 0);
}

static void
test_byte_limit(void **state)
{
	(void)state;
	struct outcome o = render(doc_of(20, 100, 4096));
	assert_int_equal(o.res, PDF_TOO_LARGE);
	assert_int_equal(o.len, 0);
}

/* Stopping answers what is queued or running: each job once. */
static void
test_stop_answers_every_job(void **state)
{
	struct outcome o[4] = {{0}};
	(void)state;
	for (size_t i = 0; i < 4; i++)
		assert_true(pdf_render_submit(doc_of(200, 1000, 64u << 20), done, &o[i]));
	pdf_render_stop();
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(o[i].calls, 1);
		assert_true(o[i].res == PDF_STOPPING || o[i].res == PDF_OK);
	}
	assert_int_equal(o[3].res, PDF_STOPPING);
	assert_int_equal(pdf_render_queued(), 0);
	event_base_free(base);
	base = NULL;
}

static void
test_without_fonts(void **state)
{
	const char *why;
	struct outcome o = {0};
	(void)state;
	start("/nonexistent/web");
	assert_false(pdf_render_available(&why));
	assert_non_null(strstr(why, "IBMPlexSans-Regular.ttf"));
	assert_false(pdf_render_submit(doc_of(1, 10, 1u << 20), done, &o));
	assert_int_equal(o.calls, 0);
	stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_renders),       cmocka_unit_test(test_page_limit),
	    cmocka_unit_test(test_byte_limit),    cmocka_unit_test(test_stop_answers_every_job),
	    cmocka_unit_test(test_without_fonts),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("pdf", tests, NULL, NULL);
}
