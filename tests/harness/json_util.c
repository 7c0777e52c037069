/* SPDX-License-Identifier: ISC */
/* Typed jansson accessors and a bounded loader. */
#include "json_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/vecfile.h"

json_t *ju_load(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot stat: %s", strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return NULL;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > JU_MAX_FILE_BYTES) {
        snprintf(err, errlen, "file too large for a vector file (%lld octets, limit %u)",
                 (long long)st.st_size, JU_MAX_FILE_BYTES);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, errlen, "JSON error at line %d: %s", je.line, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "JSON top level is not an object");
        return NULL;
    }
    return root;
}

const char *ju_string(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int ju_integer(const json_t *obj, const char *key, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (s[0] == '\0' || *end != '\0' || errno != 0)
            return -1;
        *out = n;
        return 0;
    }
    return -1;
}

json_t *ju_array(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_array(v) ? v : NULL;
}

json_t *ju_object(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_object(v) ? v : NULL;
}

uint8_t *ju_hex(const json_t *obj, const char *key, size_t *len)
{
    const char *s = ju_string(obj, key);
    if (s == NULL)
        return NULL;
    return vec_hex(s, len);
}
