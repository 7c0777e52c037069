/* SPDX-License-Identifier: ISC */
/* Byte offsets of elements in serialized XML. The library wants stanzas
 * exactly as received (their text is hashed for replay detection), and a
 * published form is signed as written, so they are cut out of the input
 * rather than parsed and written again. Well-formedness is the library's
 * job; this only finds boundaries, and refuses what it does not follow
 * (DOCTYPE, unterminated constructs, unbalanced tags). */
#include "cli.h"

#include <string.h>

#define XS_DEPTH_MAX 256

typedef enum { T_END_OF_INPUT, T_TEXT, T_START, T_EMPTY, T_CLOSE, T_BAD } tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t start, end;     /* the token's octets */
    size_t name, name_len; /* tags: the qualified name */
} tok;

static int starts(const char *t, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return len - i >= n && memcmp(t + i, lit, n) == 0;
}

static size_t find(const char *t, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    for (; i + n <= len; i++)
        if (memcmp(t + i, lit, n) == 0)
            return i;
    return len + 1;
}

static int name_char(char ch)
{
    return ch != '\0' && ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n' && ch != '/' &&
           ch != '>' && ch != '=' && ch != '<' && ch != '"' && ch != '\'';
}

static tok next_tok(const char *t, size_t len, size_t i)
{
    tok k;
    memset(&k, 0, sizeof k);
    k.start = i;
    if (i >= len) {
        k.kind = T_END_OF_INPUT;
        k.end = i;
        return k;
    }
    if (t[i] != '<') {
        size_t j = i;
        while (j < len && t[j] != '<')
            j++;
        k.kind = T_TEXT;
        k.end = j;
        return k;
    }
    size_t e;
    if (starts(t, len, i, "<!--")) {
        e = find(t, len, i + 4, "-->");
        k.kind = e > len ? T_BAD : T_TEXT;
        k.end = e > len ? len : e + 3;
        return k;
    }
    if (starts(t, len, i, "<![CDATA[")) {
        e = find(t, len, i + 9, "]]>");
        k.kind = e > len ? T_BAD : T_TEXT;
        k.end = e > len ? len : e + 3;
        return k;
    }
    if (starts(t, len, i, "<?")) {
        e = find(t, len, i + 2, "?>");
        k.kind = e > len ? T_BAD : T_TEXT;
        k.end = e > len ? len : e + 2;
        return k;
    }
    if (starts(t, len, i, "<!")) {
        k.kind = T_BAD; /* DOCTYPE and the like: not in stanzas */
        k.end = len;
        return k;
    }
    int closing = starts(t, len, i, "</");
    size_t j = i + (closing ? 2 : 1);
    k.name = j;
    while (j < len && name_char(t[j]))
        j++;
    k.name_len = j - k.name;
    if (k.name_len == 0) {
        k.kind = T_BAD;
        k.end = len;
        return k;
    }
    /* Attributes: skip quoted values, which may hold '>' and '/'. */
    char quote = 0;
    for (; j < len; j++) {
        if (quote != 0) {
            if (t[j] == quote)
                quote = 0;
        } else if (t[j] == '\'' || t[j] == '"') {
            quote = t[j];
        } else if (t[j] == '<') {
            break;
        } else if (t[j] == '>') {
            k.end = j + 1;
            if (closing)
                k.kind = T_CLOSE;
            else
                k.kind = t[j - 1] == '/' ? T_EMPTY : T_START;
            return k;
        }
    }
    k.kind = T_BAD;
    k.end = len;
    return k;
}

/* The element whose start tag begins at i; 0 on success. */
static int scan_element(const char *t, size_t len, size_t i, xs_elem *out)
{
    tok first = next_tok(t, len, i);
    if (first.kind == T_EMPTY) {
        out->start = i;
        out->inner = out->inner_end = out->end = first.end;
        out->empty = 1;
        return 0;
    }
    if (first.kind != T_START)
        return -1;
    /* Names of the open elements, to match each end tag. */
    size_t names[XS_DEPTH_MAX], lens[XS_DEPTH_MAX];
    size_t depth = 0;
    names[depth] = first.name;
    lens[depth] = first.name_len;
    depth++;
    size_t pos = first.end;
    for (;;) {
        tok k = next_tok(t, len, pos);
        switch (k.kind) {
        case T_TEXT:
        case T_EMPTY:
            break;
        case T_START:
            if (depth == XS_DEPTH_MAX)
                return -1;
            names[depth] = k.name;
            lens[depth] = k.name_len;
            depth++;
            break;
        case T_CLOSE:
            depth--;
            if (lens[depth] != k.name_len || memcmp(t + names[depth], t + k.name, k.name_len) != 0)
                return -1;
            if (depth == 0) {
                out->start = i;
                out->inner = first.end;
                out->inner_end = k.start;
                out->end = k.end;
                out->empty = 0;
                return 0;
            }
            break;
        default:
            return -1;
        }
        pos = k.end;
    }
}

static int only_space(const char *t, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n')
            return 0;
    return 1;
}

int xs_split(const char *text, size_t len, xs_elem *out, size_t max)
{
    size_t pos = 0;
    int count = 0;
    for (;;) {
        while (pos < len && only_space(text, pos, pos + 1))
            pos++;
        if (pos >= len)
            return count;
        xs_elem e;
        if (text[pos] != '<' || scan_element(text, len, pos, &e) != 0)
            return -1;
        if ((size_t)count < max)
            out[count] = e;
        if (count == 1 << 20)
            return -1;
        count++;
        pos = e.end;
    }
}

static int local_is(const char *t, const tok *k, const char *local)
{
    size_t s = k->name, n = k->name_len;
    for (size_t i = k->name; i < k->name + k->name_len; i++) {
        if (t[i] == ':') {
            s = i + 1;
            n = k->name + k->name_len - s;
        }
    }
    return strlen(local) == n && memcmp(t + s, local, n) == 0;
}

int xs_find(const char *text, const xs_elem *parent, const char *local, xs_elem *out)
{
    size_t pos = parent->inner;
    while (pos < parent->inner_end) {
        tok k = next_tok(text, parent->inner_end, pos);
        if (k.kind == T_BAD || k.kind == T_END_OF_INPUT)
            return 0;
        if ((k.kind == T_START || k.kind == T_EMPTY) && local_is(text, &k, local))
            return scan_element(text, parent->inner_end, pos, out) == 0;
        pos = k.end;
    }
    return 0;
}

int xs_attr(const char *text, const xs_elem *e, const char *name, char *out, size_t n)
{
    tok k = next_tok(text, e->end, e->start);
    if (k.kind != T_START && k.kind != T_EMPTY)
        return 0;
    size_t i = k.name + k.name_len, end = k.end - 1;
    size_t nl = strlen(name);
    while (i < end) {
        while (i < end && !name_char(text[i]))
            i++;
        size_t a = i;
        while (i < end && name_char(text[i]))
            i++;
        size_t alen = i - a;
        while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            i++;
        if (alen == 0 || i >= end || text[i] != '=')
            return 0;
        i++;
        while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            i++;
        if (i >= end || (text[i] != '\'' && text[i] != '"'))
            return 0;
        char q = text[i++];
        size_t v = i;
        while (i < end && text[i] != q)
            i++;
        if (i >= end)
            return 0;
        size_t vlen = i - v;
        i++;
        if (alen != nl || memcmp(text + a, name, nl) != 0)
            continue;
        /* Unescape the predefined entities; anything else is kept. */
        size_t o = 0;
        for (size_t j = v; j < v + vlen; j++) {
            static const struct { const char *ent; char ch; } ents[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
            char ch = text[j];
            for (size_t x = 0; x < sizeof ents / sizeof ents[0]; x++) {
                size_t el = strlen(ents[x].ent);
                if (v + vlen - j >= el && memcmp(text + j, ents[x].ent, el) == 0) {
                    ch = ents[x].ch;
                    j += el - 1;
                    break;
                }
            }
            if (o + 1 >= n)
                return 0;
            out[o++] = ch;
        }
        out[o] = '\0';
        return 1;
    }
    return 0;
}
