/* SPDX-License-Identifier: ISC */
/* XML escaping (see xmlesc.h) and its public form, esession_xml_escape. */
#include "xmlesc.h"

#include "core.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* The octets replacement() may replace: the others are passed over
 * without a look at the flags, and without a branch on their value (text
 * such as base64 mixes digits and letters unpredictably). */
static const uint8_t may_replace[256] = {
    ['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* The offset of the first octet from i on that may be replaced, or n. */
static size_t next_candidate(const char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    /* Sixteen octets against the eight candidates at once. */
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>');
    const __m128i quot = _mm_set1_epi8('"'), apos = _mm_set1_epi8('\'');
    const __m128i tab = _mm_set1_epi8('\t'), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i a = _mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt));
        __m128i b = _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, quot));
        __m128i c = _mm_or_si128(_mm_cmpeq_epi8(v, apos), _mm_cmpeq_epi8(v, tab));
        __m128i d = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)));
        if (mask != 0)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (i < n && !may_replace[(unsigned char)s[i]])
        i++;
    return i;
}

void es_xml_escape(const char *s, size_t n, unsigned flags, es_xml_sink put, void *sink)
{
    size_t run = 0;
    for (size_t i = next_candidate(s, 0, n); i < n; i = next_candidate(s, i + 1, n)) {
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
