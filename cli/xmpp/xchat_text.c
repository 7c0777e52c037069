/* SPDX-License-Identifier: ISC */
/* xmpp-chat's text: lines typed, bodies received, and what reaches the
 * terminal. Received text is the peer's (or anybody's): control
 * characters would drive the terminal, so they are shown as '?'. */
#include "xchat.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NS_C "http://www.xmpp.org/extensions/xep-0200.html#ns"
#define NS_FEATURE "http://jabber.org/protocol/feature-neg"
#define NS_INIT "http://www.xmpp.org/extensions/xep-0116.html#ns-init"
#define INPUT_LINE_MAX (64u << 10)

/* ---- printing */

/* Length of the valid UTF-8 sequence at s (n octets left) and its code
 * point, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *out)
{
    size_t len;
    uint32_t cp, min;
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    if (s[0] < 0xe0) {
        len = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if (s[0] < 0xf0) {
        len = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else {
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0u) != 0x80u)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *out = cp;
    return len;
}

/* Text as it is, but controls (C0 other than TAB, DEL, C1) and octets
 * that are not UTF-8: one '?' each. */
static void put_clean(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            putchar(s[i] >= 0x20 && s[i] != 0x7f ? s[i] : s[i] == '\t' ? '\t' : '?');
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t k = utf8_seq(s + i, len - i, &cp);
        if (k == 0 || cp <= 0x9f)
            putchar('?');
        else
            fwrite(s + i, 1, k, stdout);
        i += k > 0 ? k : 1;
    }
}

void xchat_show(const char *prefix, const char *text, size_t len)
{
    char cont[4] = {prefix[0], '+', ' ', '\0'};
    size_t i = 0;
    do {
        size_t k = i;
        while (k < len && text[k] != '\n')
            k++;
        size_t e = k > i && text[k - 1] == '\r' ? k - 1 : k;
        fputs(i == 0 ? prefix : cont, stdout);
        put_clean(text + i, e - i);
        putchar('\n');
        i = k + 1;
    } while (i < len);
    fflush(stdout);
}

void xchat_say(const char *prefix, const char *fmt, ...)
{
    char buf[4 * CLI_JID_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    xchat_show(prefix, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---- XML bits */

static void put_utf8(char *out, size_t *o, uint32_t cp)
{
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        out[(*o)++] = '?';
    } else if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xc0 | cp >> 6);
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xe0 | cp >> 12);
        out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*o)++] = (char)(0xf0 | cp >> 18);
        out[(*o)++] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* A reference at t[i] ('&'): its characters into out; the octets read. */
static size_t reference(const char *t, size_t i, size_t end, char *out, size_t *o)
{
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t nl = strlen(named[k].name);
        if (end - i >= nl && memcmp(t + i, named[k].name, nl) == 0) {
            out[(*o)++] = named[k].ch;
            return nl;
        }
    }
    size_t j = i + 1;
    if (j < end && t[j] == '#') {
        int hex = j + 1 < end && t[j + 1] == 'x';
        uint32_t cp = 0;
        size_t d = 0;
        for (j += hex ? 2 : 1; j < end && t[j] != ';' && d < 8; j++, d++) {
            char ch = t[j];
            int v = ch >= '0' && ch <= '9'                ? ch - '0'
                    : hex && ch >= 'a' && ch <= 'f'       ? ch - 'a' + 10
                    : hex && ch >= 'A' && ch <= 'F'       ? ch - 'A' + 10
                                                          : -1;
            if (v < 0)
                break;
            cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
        }
        if (j < end && t[j] == ';' && d > 0) {
            put_utf8(out, o, cp);
            return j + 1 - i;
        }
    }
    out[(*o)++] = '&'; /* not a reference a parser would have let through */
    return 1;
}

/* Element text between inner and inner_end: references resolved, CDATA
 * kept, comments and tags left out. out holds inner_end - inner + 1. */
static size_t element_text(const char *t, size_t i, size_t end, char *out)
{
    size_t o = 0;
    while (i < end) {
        if (t[i] == '&') {
            i += reference(t, i, end, out, &o);
        } else if (t[i] != '<') {
            out[o++] = t[i++];
        } else if (end - i >= 9 && memcmp(t + i, "<![CDATA[", 9) == 0) {
            for (i += 9; i < end && !(end - i >= 3 && memcmp(t + i, "]]>", 3) == 0);)
                out[o++] = t[i++];
            i += 3;
        } else if (end - i >= 4 && memcmp(t + i, "<!--", 4) == 0) {
            for (i += 4; i < end && !(end - i >= 3 && memcmp(t + i, "-->", 3) == 0);)
                i++;
            i += 3;
        } else {
            while (i < end && t[i] != '>')
                i++;
            i++;
        }
    }
    out[o] = '\0';
    return o;
}

/* Whether e (of text) is named local, with any prefix. */
static int named(const char *text, const xs_elem *e, const char *local)
{
    size_t i = e->start + 1, n = strlen(local);
    size_t k = i;
    while (text[k] != '\0' && text[k] != ' ' && text[k] != '>' && text[k] != '/' &&
           text[k] != '\t' && text[k] != '\r' && text[k] != '\n')
        if (text[k++] == ':')
            i = k;
    return k - i == n && memcmp(text + i, local, n) == 0;
}

#define TOP_MAX 64

int xchat_body(const char *xml, size_t len, char **out, size_t *outlen)
{
    xs_elem top[TOP_MAX], body;
    int n = xs_split(xml, len, top, TOP_MAX);
    int found = 0;
    for (int i = 0; i < n && i < TOP_MAX && !found; i++) {
        if (named(xml, &top[i], "body")) {
            body = top[i];
            found = 1;
        } else {
            found = xs_find(xml, &top[i], "body", &body);
        }
    }
    if (!found)
        return 1;
    char *t = malloc(body.inner_end - body.inner + 1);
    if (t == NULL)
        return -1;
    *outlen = element_text(xml, body.inner, body.inner_end, t);
    *out = t;
    return 0;
}

/* The one top-level element of a stanza. */
static int stanza(const char *text, size_t len, xs_elem *e)
{
    return xs_split(text, len, e, 1) == 1;
}

static int child_in(const char *text, const xs_elem *parent, const char *local, const char *ns,
                    xs_elem *out)
{
    char v[128];
    return xs_find(text, parent, local, out) && xs_attr(text, out, "xmlns", v, sizeof v) &&
           strcmp(v, ns) == 0;
}

int xchat_is_esession(const char *text, size_t len)
{
    xs_elem m, e;
    return stanza(text, len, &m) &&
           (child_in(text, &m, "c", NS_C, &e) || child_in(text, &m, "feature", NS_FEATURE, &e) ||
            child_in(text, &m, "init", NS_INIT, &e));
}

int xchat_c_has(const char *text, size_t len, const char *local)
{
    xs_elem m, c, e;
    return stanza(text, len, &m) && child_in(text, &m, "c", NS_C, &c) && xs_find(text, &c, local, &e);
}

unsigned xchat_c_new(const char *text, size_t len)
{
    xs_elem m, c, e;
    if (!stanza(text, len, &m) || !child_in(text, &m, "c", NS_C, &c) || !xs_find(text, &c, "new", &e))
        return 0;
    unsigned long long k = 0;
    for (size_t i = e.inner; i < e.inner_end && text[i] >= '0' && text[i] <= '9' && k < 1u << 20; i++)
        k = k * 10 + (unsigned)(text[i] - '0');
    return (unsigned)k;
}

int xchat_attr(const char *text, size_t len, const char *name, char *out, size_t n)
{
    xs_elem m;
    return stanza(text, len, &m) && xs_attr(text, &m, name, out, n);
}

/* ---- standard input */

/* Hand the line gathered so far to fn, then wipe it. */
static int line_done(xchat *ch, int (*fn)(xchat *, char *, size_t))
{
    size_t e = ch->in_len > 0 && ch->in[ch->in_len - 1] == '\r' ? ch->in_len - 1 : ch->in_len;
    if (ch->in == NULL)
        return fn(ch, (char[]){'\0'}, 0);
    ch->in[e] = '\0';
    int rc = fn(ch, ch->in, e);
    sodium_memzero(ch->in, ch->in_len);
    ch->in_len = 0;
    return rc;
}

int xchat_input(xchat *ch, const char *data, size_t n, int (*fn)(xchat *, char *, size_t))
{
    int rc = CLI_OK;
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        if (data[i] == '\n') {
            rc = line_done(ch, fn);
            continue;
        }
        if (ch->in_len == INPUT_LINE_MAX) {
            xchat_say("! ", "a line over %u KiB is cut there", INPUT_LINE_MAX >> 10);
            if ((rc = line_done(ch, fn)) != CLI_OK)
                break;
        }
        if (ch->in_len == ch->in_cap) {
            /* grown by copies, each old copy wiped: the line is a message
             * in the clear */
            size_t cap = ch->in_cap ? 2 * ch->in_cap : 256;
            char *p = malloc(cap + 1);
            if (p == NULL) {
                cli_err(ch->c, "out of memory");
                return CLI_EXIT_INTERNAL;
            }
            if (ch->in_len > 0)
                memcpy(p, ch->in, ch->in_len);
            cli_free_wiped(ch->in, ch->in_cap + 1);
            ch->in = p;
            ch->in_cap = cap;
        }
        ch->in[ch->in_len++] = data[i];
    }
    return rc;
}

void xchat_queue_free(xchat *ch)
{
    for (size_t i = 0; i < ch->n_queued; i++)
        cli_free_wiped(ch->queued[i], strlen(ch->queued[i]));
    free(ch->queued);
    ch->queued = NULL;
    ch->n_queued = 0;
}

void xchat_input_free(xchat *ch)
{
    if (ch->in != NULL)
        cli_free_wiped(ch->in, ch->in_cap + 1);
    ch->in = NULL;
    ch->in_len = ch->in_cap = 0;
    xchat_queue_free(ch);
}
