/*
 * fuzz_template.c: the template loader (handover/template.c) on fuzzed
 * documents, through the file reader template_load() as the daemon's
 * --migrate seeding and the routes reload use it. A template it takes
 * gives back the document it read, knows each of its sections, loads the
 * same from its own text, and runs its checks on an empty and a null note;
 * one it refuses says why in a terminated message that fits.
 */
#include <sys/mman.h>

#include <unistd.h>

#include "fuzz_common.h"
#include "stafetd.h"
#include "checks.h"

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	fd = memfd_create("template.json", 0);
	FUZZ_ASSERT(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static void
run_checks(const struct ho_template *t, json_t *note)
{
	struct ho_check_ctx ctx;
	int completeness = -1, failed = -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.tmpl = t;
	ctx.note = note;
	snprintf(ctx.today, sizeof(ctx.today), "%s", "2026-05-01");
	ctx.submit = true;
	json_t *res = checks_run(&ctx, &completeness, &failed);
	FUZZ_ASSERT(json_is_array(res) && json_array_size(res) >= 2);
	FUZZ_ASSERT(completeness >= 0 && completeness <= 100);
	FUZZ_ASSERT(failed >= 0 && (size_t)failed <= json_array_size(res));
	json_decref(res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];

	FUZZ_ASSERT(ftruncate(fd, 0) == 0);
	FUZZ_ASSERT(pwrite(fd, data, size, 0) == (ssize_t)size);
	memset(err, 'X', sizeof(err));
	struct ho_template *t = template_load(path, err, sizeof(err));
	if (t == NULL) {
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		return 0;
	}
	const char *code = template_code(t), *name = template_name(t);
	const char *prefix = template_id_prefix(t);
	FUZZ_ASSERT(code && *code && name && *name && prefix && *prefix);
	FUZZ_ASSERT(template_version_of(t) >= 1);

	/* the document it keeps is the one read */
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	FUZZ_ASSERT(doc != NULL && json_equal(doc, template_json(t)));
	json_t *sections = json_object_get(doc, "sections"), *s;
	size_t i;
	FUZZ_ASSERT(json_is_array(sections));
	json_array_foreach (sections, i, s)
		FUZZ_ASSERT(template_has_section(t, json_string_value(json_object_get(s, "key"))));
	FUZZ_ASSERT(!template_has_section(t, "no such section \xc3\xa6"));

	/* its own text loads to the same template */
	char *text = json_dumps(template_json(t), JSON_COMPACT);
	json_t *again = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	struct ho_template *t2 = template_parse(again, err, sizeof(err));
	FUZZ_ASSERT(t2 != NULL);
	FUZZ_ASSERT(strcmp(template_code(t2), code) == 0);
	FUZZ_ASSERT(template_version_of(t2) == template_version_of(t));
	template_free(t2);
	json_decref(again);
	free(text);

	/* the checks run on a note with nothing in it */
	json_t *empty = json_object();
	run_checks(t, empty);
	json_decref(empty);
	run_checks(t, NULL);
	json_decref(doc);
	template_free(t);
	return 0;
}
