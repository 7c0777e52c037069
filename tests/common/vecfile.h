/* SPDX-License-Identifier: ISC */
/* Readers for test data: hex, whole files, and the `name = value` record
 * files under vectors/ (see vectors/README.md). */
#ifndef ESESSION_TEST_VECFILE_H
#define ESESSION_TEST_VECFILE_H

#include <stddef.h>
#include <stdint.h>

#define VEC_MAX_FIELDS 32

typedef struct vec_field {
    char *name;
    char *value;
} vec_field;

typedef struct vec_record {
    vec_field fields[VEC_MAX_FIELDS];
    size_t count;
    unsigned line; /* line of the record's first field */
} vec_record;

typedef struct vec_file {
    vec_record *records;
    size_t count;
    char *text; /* owns every string above */
} vec_file;

/* Read a whole file; returns a malloc'ed NUL-terminated text or NULL. */
char *vec_read_file(const char *path, size_t *len);

/* Parse a record file; 0 on success, -1 on I/O or format error. */
int vec_file_load(vec_file *f, const char *path);
void vec_file_free(vec_file *f);

/* A field's value, or NULL if the record has none. */
const char *vec_get(const vec_record *r, const char *name);

/* Decode lowercase/uppercase hex into a malloc'ed buffer (NULL-safe for
 * empty: returns a 1-byte allocation with *len = 0). NULL on bad hex. */
uint8_t *vec_hex(const char *hex, size_t *len);

#endif
