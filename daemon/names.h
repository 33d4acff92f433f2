/*
 * names.h: the Danish names of codes caseworkers would otherwise see: KLE
 * numbers and target groups (the JSON files of schema/names/, built into the binary).
 * Read-only after the first call, so any thread may ask.
 */
#ifndef STAFET_NAMES_H
#define STAFET_NAMES_H

#include <stddef.h>

#include <jansson.h>

/*
 * An operator's names file, {"kle": {NUMBER: NAME}, "target_groups": {KEY:
 * NAME}} (both optional): names_check_file only reads it; names_load_file
 * adds its names to the built-in ones, replacing those of the same code.
 * Load before any other thread asks (at start). 0, or -1 with err filled.
 */
int names_check_file(const char *path, char *err, size_t errsz);
int names_load_file(const char *path, char *err, size_t errsz);
/* The name of a KLE number ("27.20.00"), or NULL when none is known. */
const char *names_kle(const char *number);
/* The name of a target group by its key ("socialt-udsat"; any case), or NULL. */
const char *names_target_group(const char *key);
/* {key: name} for those of `keys` that have a name: a new object. */
json_t *names_kle_map(const char *const *keys, size_t n);
json_t *names_target_group_map(const char *const *keys, size_t n);

#endif
