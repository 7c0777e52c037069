/* SPDX-License-Identifier: ISC */
/* XML escaping (see xmlesc.h) and its public form, esession_xml_escape. */
#include "xmlesc.h"

#include "core.h"

#include <stdint.h>
#include <string.h>

static const char *replacement(char c, unsigned flags)
{
    int attr = (flags & ES_XML_ATTR) != 0;
    int canonical = (flags & ES_XML_CANONICAL) != 0;
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return attr && canonical ? NULL : "&gt;";
    case '"': return attr ? "&quot;" : NULL;
    case '\'': return attr && !canonical ? "&apos;" : NULL;
    case '\t': return attr ? "&#x9;" : NULL;
    case '\n': return attr ? "&#xA;" : NULL;
    case '\r': return "&#xD;";
    default: return NULL;
    }
}

/* The octets replacement() may replace: the others are passed over with
 * one table look-up, without a branch on their value (text such as base64
 * mixes digits and letters unpredictably). */
static const uint8_t may_replace[256] = {
    ['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

void es_xml_escape(const char *s, size_t n, unsigned flags, es_xml_sink put, void *sink)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (!may_replace[(unsigned char)s[i]])
            continue;
        const char *rep = replacement(s[i], flags);
        if (rep == NULL)
            continue;
        if (i > run)
            put(sink, s + run, i - run);
        put(sink, rep, strlen(rep));
        run = i + 1;
    }
    if (n > run)
        put(sink, s + run, n - run);
}

/* A caller's buffer: counts everything, writes what fits. */
typedef struct bounded {
    char *out;
    size_t cap;
    size_t len;
} bounded;

static void put_bounded(void *sink, const char *p, size_t n)
{
    bounded *b = sink;
    if (b->out != NULL && b->len < b->cap)
        memcpy(b->out + b->len, p, n < b->cap - b->len ? n : b->cap - b->len);
    b->len += n;
}

size_t esession_xml_escape(char *out, size_t cap, const char *s, size_t n, int attr)
{
    bounded b = {out, cap, 0};
    if (s != NULL)
        es_xml_escape(s, n, attr ? ES_XML_ATTR : ES_XML_TEXT, put_bounded, &b);
    if (out != NULL && cap > 0)
        out[b.len < cap ? b.len : cap - 1] = '\0';
    return b.len;
}
