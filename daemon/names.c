/*
 * names.c: Danish names for KLE numbers and target groups, from the JSON
 * files of schema/names/ built into the binary (build/gen/names_gen.c).
 * Parsed once, on first use; never changed afterwards.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"
#include "names.h"

extern const struct embedded_file names_data[]; /* schema/names/NAME.json */
extern const size_t names_data_count;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static json_t *kle, *groups; /* {key: name}; never freed */

static json_t *
load(const char *file)
{
	json_error_t e;
	json_t *doc = NULL, *names;

	for (size_t i = 0; i < names_data_count; i++)
		if (strcmp(names_data[i].name, file) == 0)
			doc = json_loads(names_data[i].text, JSON_REJECT_DUPLICATES, &e);
	/* make checks the files parse; a broken one is a build error */
	if (doc == NULL || !json_is_object(names = json_object_get(doc, "names")))
		fatalx("names: schema/names/%s is not {\"names\": {...}}", file);
	json_incref(names);
	json_decref(doc);
	return names;
}

static void
init(void)
{
	kle = load("kle.json");
	groups = load("target-groups.json");
}

static const char *
lookup(json_t *o, const char *key, bool fold)
{
	const char *k;
	json_t *v;

	if (key == NULL)
		return NULL;
	if ((v = json_object_get(o, key)) != NULL)
		return json_string_value(v);
	if (fold)
		json_object_foreach (o, k, v)
			if (strcasecmp(k, key) == 0)
				return json_string_value(v);
	return NULL;
}

/* NN, NN.NN or NN.NN.NN */
static bool
kle_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 2 && n != 5 && n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (i % 3 == 2 ? s[i] != '.' : (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* {"kle": {NUMBER: NAME}, "target_groups": {KEY: NAME}}, both optional. */
static json_t *
read_file(const char *path, char *err, size_t errsz)
{
	static const char *const parts[] = {"kle", "target_groups"};
	json_error_t e;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &e), *v;
	const char *key;

	if (doc == NULL) {
		snprintf(err, errsz, "%s: %s (line %d)", path, e.text, e.line);
		return NULL;
	}
	if (!json_is_object(doc))
		goto bad;
	json_object_foreach (doc, key, v) {
		const char *k;
		json_t *name;
		if (strcmp(key, parts[0]) != 0 && strcmp(key, parts[1]) != 0)
			goto bad;
		if (!json_is_object(v) || json_object_size(v) > 10000)
			goto bad;
		json_object_foreach (v, k, name) {
			size_t len = json_string_length(name);
			if (!json_is_string(name) || len == 0 || len > 200 || strlen(k) == 0 ||
			    strlen(k) > 64 || (strcmp(key, "kle") == 0 && !kle_ok(k))) {
				snprintf(err, errsz,
				         "%s: %s \"%.64s\": a name is a string of 1-200 bytes%s",
				         path, key, k,
				         strcmp(key, "kle") == 0 ? ", a number NN.NN.NN" : "");
				json_decref(doc);
				return NULL;
			}
		}
	}
	return doc;
bad:
	snprintf(err, errsz,
	         "%s: must be {\"kle\": {NUMBER: NAME}, \"target_groups\": {KEY: NAME}}", path);
	json_decref(doc);
	return NULL;
}

int
names_check_file(const char *path, char *err, size_t errsz)
{
	json_t *doc = read_file(path, err, errsz);

	json_decref(doc);
	return doc ? 0 : -1;
}

int
names_load_file(const char *path, char *err, size_t errsz)
{
	json_t *doc = read_file(path, err, errsz);

	if (doc == NULL)
		return -1;
	pthread_once(&once, init);
	json_object_update(kle, json_object_get(doc, "kle"));
	json_object_update(groups, json_object_get(doc, "target_groups"));
	json_decref(doc);
	return 0;
}

const char *
names_kle(const char *number)
{
	pthread_once(&once, init);
	return lookup(kle, number, false);
}

const char *
names_target_group(const char *key)
{
	pthread_once(&once, init);
	return lookup(groups, key, true);
}

static json_t *
map(const char *(*name_of)(const char *), const char *const *keys, size_t n)
{
	json_t *o = json_object();
	const char *name;

	if (o == NULL)
		fatalx("json_object");
	for (size_t i = 0; i < n; i++)
		if (keys[i] && (name = name_of(keys[i])) != NULL)
			json_object_set_new(o, keys[i], json_string(name));
	return o;
}

json_t *
names_kle_map(const char *const *keys, size_t n)
{
	return map(names_kle, keys, n);
}

json_t *
names_target_group_map(const char *const *keys, size_t n)
{
	return map(names_target_group, keys, n);
}
