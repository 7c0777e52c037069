/* SPDX-License-Identifier: ISC */
/* Hex digits and joined names (the big-endian fields are inline in
 * bytes.h). */
#include "bytes.h"

#include <string.h>

void es_hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t es_join(char *out, size_t cap, const char *const *parts, size_t n)
{
    size_t at = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        size_t room = cap - 1 - at;
        size_t take = len < room ? len : room;
        memcpy(out + at, parts[i], take);
        at += take;
        total += len;
    }
    out[at] = '\0';
    return total;
}
