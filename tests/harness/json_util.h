/* SPDX-License-Identifier: ISC */
/* Small typed accessors over jansson for the vector files. */
#ifndef ESESSION_HARNESS_JSON_UTIL_H
#define ESESSION_HARNESS_JSON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Vector files are a few hundred KiB; anything far larger is a mistake. */
#define JU_MAX_FILE_BYTES (32u * 1024 * 1024)

/* Load a JSON object from path after checking that it is a regular file of
 * at most JU_MAX_FILE_BYTES. NULL with a message in err on failure. */
json_t *ju_load(const char *path, char *err, size_t errlen);

/* obj[key] as a string; NULL if absent or of another type. */
const char *ju_string(const json_t *obj, const char *key);
/* obj[key] as an integer; 0 on success, -1 if absent or of another type.
 * A decimal string ("256") is accepted too: older files quote sizes. */
int ju_integer(const json_t *obj, const char *key, long long *out);
/* obj[key] as an array; NULL if absent or of another type. */
json_t *ju_array(const json_t *obj, const char *key);
/* obj[key] as an object; NULL if absent or of another type. */
json_t *ju_object(const json_t *obj, const char *key);
/* obj[key], a hex string, decoded into a malloc'ed buffer (at least one
 * octet allocated, so empty values are non-NULL). NULL if absent or bad. */
uint8_t *ju_hex(const json_t *obj, const char *key, size_t *len);

#endif
