/*
 * fuzz_json.c: the JSON body reader every handler's input goes through
 * (daemon/json.c, daemon/utf8.c): utf8_valid() against a reference decoder,
 * json_precheck()'s limits against the parsed value's real depth and string
 * lengths, json_parse_limited()'s answers (a 400 with a detail that is
 * itself valid JSON text), and json_unknown_fields()' problem document.
 */
#include "fuzz_common.h"
#include "stafetd.h"

/* Strict UTF-8 by code point ranges (RFC 3629 table 4). */
static bool
ref_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Depth of nesting (a scalar 0) and the longest string or key, in bytes. */
static size_t
measure(const json_t *j, size_t *longest)
{
	size_t depth = 0, d;
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach ((json_t *)(uintptr_t)j, key, v) {
			if (strlen(key) > *longest)
				*longest = strlen(key);
			if ((d = measure(v, longest)) > depth)
				depth = d;
		}
		return depth + 1;
	case JSON_ARRAY:
		json_array_foreach (j, i, v)
			if ((d = measure(v, longest)) > depth)
				depth = d;
		return depth + 1;
	case JSON_STRING:
		if (json_string_length(j) > *longest)
			*longest = json_string_length(j);
		return 0;
	default:
		return 0;
	}
}

static void
check_problem_text(int status, const char *detail)
{
	json_t *p = json_problem(status, NULL, detail);
	FUZZ_ASSERT(json_integer_value(json_object_get(p, "status")) == status);
	/* the detail reaches the client: it must survive as a JSON string */
	FUZZ_ASSERT(json_is_string(json_object_get(p, "detail")));
	char *s = json_dump_compact(p);
	FUZZ_ASSERT(s != NULL && utf8_valid(s, strlen(s)));
	free(s);
	json_decref(p);
}

static void
check_unknown(json_t *obj)
{
	static const char *const allowed[] = {"title", "citizen", "sections", "receiver", NULL};
	const char *key;
	json_t *v;
	bool all_known = true;

	json_object_foreach (obj, key, v) {
		(void)v;
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(allowed[i], key) == 0;
		all_known &= ok;
	}
	json_t *p = json_unknown_fields(obj, allowed, "citizen.");
	FUZZ_ASSERT((p == NULL) == all_known);
	if (p) {
		FUZZ_ASSERT(json_integer_value(json_object_get(p, "status")) == 400);
		FUZZ_ASSERT(json_is_string(json_object_get(p, "detail")));
		json_t *errs = json_object_get(p, "errors");
		FUZZ_ASSERT(json_array_size(errs) == 1);
		const char *field =
		    json_string_value(json_object_get(json_array_get(errs, 0), "field"));
		FUZZ_ASSERT(field && strncmp(field, "citizen.", 8) == 0);
		json_decref(p);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	/* the router's limits, and tight ones that the fuzzer can reach */
	static const struct json_limits lims[] = {{32, 64 * 1024}, {3, 8}};
	bool valid = utf8_valid(s, size);

	FUZZ_ASSERT(valid == ref_utf8(data, size));
	for (size_t l = 0; l < sizeof(lims) / sizeof(lims[0]); l++) {
		char detail[256];
		int status = 0;
		size_t off = (size_t)-1;
		enum json_check pc = json_precheck(s, size, &lims[l], &off);
		json_t *j = json_parse_limited(s, size, &lims[l], &status, detail, sizeof(detail));
		if (pc != JSON_CHECK_OK)
			FUZZ_ASSERT(off <= size && j == NULL);
		if (!valid)
			FUZZ_ASSERT(pc == JSON_CHECK_UTF8);
		if (j == NULL) {
			FUZZ_ASSERT(status == 400);
			check_problem_text(status, detail);
			continue;
		}
		FUZZ_ASSERT(valid && pc == JSON_CHECK_OK);
		FUZZ_ASSERT(json_is_object(j) || json_is_array(j));
		size_t longest = 0, depth = measure(j, &longest);
		FUZZ_ASSERT(depth <= lims[l].max_depth);
		FUZZ_ASSERT(longest <= lims[l].max_string);
		/* what we send back out of it parses to the same value */
		char *out = json_dump_compact(j);
		json_error_t err;
		json_t *again = json_loads(out, JSON_REJECT_DUPLICATES, &err);
		FUZZ_ASSERT(again != NULL && json_equal(j, again));
		json_decref(again);
		free(out);
		if (json_is_object(j))
			check_unknown(j);
		json_decref(j);
	}
	return 0;
}
