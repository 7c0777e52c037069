/* SPDX-License-Identifier: ISC */
/* The text rules every part of the library shares: the UTF-8 decoder
 * (core/utf8.c), the JID rule (core/jid.c, esession_jid_check) and the XML
 * escaper (core/xmlesc.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/jid.h"
#include "../../core/xmlesc.h"
#include "../../core/utf8.h"
#include "../../forms/xmlchars.h"
#include "esession.h"
#include "fixture.h"

/* ---- UTF-8 ------------------------------------------------------------ */

static size_t next(const char *s, size_t n, uint32_t *cp)
{
    return es_utf8_next((const uint8_t *)s, n, cp);
}

Test(utf8, decodes_every_length_at_its_bounds)
{
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } good[] = {
        {"\x00", 1, 0x0},
        {"\x7f", 1, 0x7f},
        {"\xc2\x80", 2, 0x80},
        {"\xdf\xbf", 2, 0x7ff},
        {"\xe0\xa0\x80", 3, 0x800},
        {"\xed\x9f\xbf", 3, 0xd7ff},
        {"\xee\x80\x80", 3, 0xe000},
        {"\xef\xbf\xbf", 3, 0xffff},
        {"\xf0\x90\x80\x80", 4, 0x10000},
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint32_t cp = 0xdeadbeef;
        cr_assert_eq(next(good[i].s, good[i].len, &cp), good[i].len, "case %zu", i);
        cr_assert_eq(cp, good[i].cp, "case %zu", i);
        /* Only the first character is read; what follows does not matter. */
        char two[8];
        memcpy(two, good[i].s, good[i].len);
        two[good[i].len] = '\xff';
        cr_assert_eq(next(two, good[i].len + 1, NULL), good[i].len, "case %zu", i);
        cr_assert_eq(esession_utf8_char_len(two, good[i].len + 1), good[i].len);
    }
}

Test(utf8, refuses_ill_formed_sequences)
{
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\x80", 1},                 /* stray continuation */
        {"\xbf", 1},
        {"\xc0\x80", 2},             /* overlong NUL */
        {"\xc1\xbf", 2},             /* overlong, 2 octets */
        {"\xe0\x80\xaf", 3},         /* overlong '/', 3 octets */
        {"\xe0\x9f\xbf", 3},         /* overlong U+07FF */
        {"\xf0\x8f\xbf\xbf", 4},     /* overlong U+FFFF */
        {"\xed\xa0\x80", 3},         /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3},         /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4},     /* U+110000 */
        {"\xf5\x80\x80\x80", 4},     /* lead F5 */
        {"\xff", 1},
        {"\xc3\x28", 2},             /* bad continuation */
        {"\xe2\x82", 2},             /* truncated */
        {"\xf0\x9f\x98", 3},         /* truncated, 4 octets */
        {"\xe2\x82\xac", 2},         /* complete, but only 2 octets available */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp = 7;
        cr_assert_eq(next(bad[i].s, bad[i].len, &cp), 0, "case %zu", i);
        cr_assert_eq(cp, 7, "case %zu: cp written", i);
        cr_assert_eq(esession_utf8_char_len(bad[i].s, bad[i].len), 0, "case %zu", i);
    }
    cr_assert_eq(next("a", 0, NULL), 0);
    cr_assert_eq(esession_utf8_char_len(NULL, 4), 0);
}

Test(utf8, xml_chars)
{
    static const uint32_t yes[] = {0x9, 0xa, 0xd, 0x20, 0xd7ff, 0xe000, 0xfffd, 0x10000, 0x10ffff};
    static const uint32_t no[] = {0x0, 0x8, 0xb, 0x1f, 0xd800, 0xdfff, 0xfffe, 0xffff, 0x110000};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(es_xml_char(yes[i]), "U+%04X", (unsigned)yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert_not(es_xml_char(no[i]), "U+%04X", (unsigned)no[i]);
}

/* The character check one character at a time, as es_xml_chars_ok did
 * before it learnt to skip plain ASCII a word at a time: its answers must
 * not change. */
static int chars_ok_ref(const char *s, size_t n, size_t *bad)
{
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = es_utf8_next(p + i, n - i, &c);
        if (k == 0 || !es_xml_char(c)) {
            *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

static void same_as_ref(const char *s, size_t n)
{
    size_t bad = 12345, want_bad = 12345;
    int want = chars_ok_ref(s, n, &want_bad);
    cr_assert_eq(es_xml_chars_ok(s, n, &bad), want, "length %zu", n);
    cr_assert_eq(bad, want_bad, "length %zu: offset %zu, not %zu", n, bad, want_bad);
    cr_assert_eq(es_xml_chars_ok(s, n, NULL), want);
}

Test(utf8, xml_chars_ok_known_answers)
{
    size_t bad = 99;
    cr_assert(es_xml_chars_ok("", 0, &bad));
    cr_assert_eq(bad, 99);
    cr_assert(es_xml_chars_ok("plain text\tand\nlines\r\x7f ~", 24, NULL));
    cr_assert_not(es_xml_chars_ok("0123456789abcdef\x01", 17, &bad));
    cr_assert_eq(bad, 16);
    cr_assert_not(es_xml_chars_ok("01234567\x1f", 9, &bad));
    cr_assert_eq(bad, 8);
    cr_assert_not(es_xml_chars_ok("abcdefghijk\xef\xbf\xbe", 14, &bad)); /* U+FFFE */
    cr_assert_eq(bad, 11);
    cr_assert_not(es_xml_chars_ok("abcdefgh\xed\xa0\x80xyz", 12, &bad)); /* surrogate */
    cr_assert_eq(bad, 8);
    cr_assert(es_xml_chars_ok("abcdefgh\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80zz", 19, NULL));
    cr_assert_not(es_xml_chars_ok("abcdefgh\0ijklmnop", 17, &bad));
    cr_assert_eq(bad, 8);
}

/* Every octet value at every offset of runs long and short, beside
 * ASCII, and the edge sequences at every alignment. */
Test(utf8, xml_chars_ok_same_as_one_at_a_time)
{
    static const char *const edges[] = {
        "\t", "\n", "\r", "\x0b", "\x1f", " ", "\x7f", "\xc2\x80", "\xdf\xbf", "\xc0\x80",
        "\xc1\xbf", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xee\x80\x80", "\xef\xbf\xbd", "\xef\xbf\xbe", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
        "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xe2\x82", "\xc3\x28", "\x80", "\xff",
    };
    char buf[64];
    for (size_t len = 1; len <= 40; len++)
        for (size_t at = 0; at < len; at++)
            for (unsigned v = 0; v < 256; v++) {
                memset(buf, 'a', len);
                buf[at] = (char)v;
                same_as_ref(buf, len);
            }
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
        size_t el = strlen(edges[e]);
        for (size_t at = 0; at + el <= 40; at++)
            for (size_t len = at + el; len <= 40; len++) {
                memset(buf, 'b', len);
                memcpy(buf + at, edges[e], el);
                same_as_ref(buf, len);
                /* Cut short: a sequence split at the end. */
                for (size_t cut = at + 1; cut < at + el; cut++)
                    same_as_ref(buf, cut);
            }
    }
    /* Mixed text from a fixed generator: ASCII, controls, multi-octet. */
    uint32_t x = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t len = 1 + round % 60;
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            unsigned r = (x >> 16) & 0xffu;
            buf[i] = (char)(r < 200 ? 0x20 + r % 0x5f : r < 215 ? r % 0x20 : r);
        }
        same_as_ref(buf, len);
    }
}

/* ---- JIDs ------------------------------------------------------------- */

static void ok(const char *jid, esession_jid_kind kind)
{
    cr_assert_eq(esession_jid_check(NULL, jid, kind), ESESSION_OK, "refused: %s", jid);
    cr_assert(es_jid_ok(jid, kind));
}

static void refused(const char *jid, esession_jid_kind kind, const char *detail)
{
    esession_ctx *ctx = NULL;
    ctx = fx_ctx_new();
    cr_assert_eq(esession_jid_check(ctx, jid, kind), ESESSION_ERR_INVALID_ARGUMENT,
                 "accepted: %s", jid != NULL ? jid : "(null)");
    cr_assert_str_eq(esession_ctx_error_detail(ctx), detail);
    cr_assert_not(es_jid_ok(jid, kind));
    /* The same answer without a context. */
    cr_assert_eq(esession_jid_check(NULL, jid, kind), ESESSION_ERR_INVALID_ARGUMENT);
    /* A good call clears the detail. */
    cr_assert_eq(esession_jid_check(ctx, "a@b", ESESSION_JID_BARE), ESESSION_OK);
    cr_assert_str_eq(esession_ctx_error_detail(ctx), "");
    esession_ctx_free(ctx);
}

Test(jid, bare)
{
    ok("example.org", ESESSION_JID_BARE);
    ok("alice@example.org", ESESSION_JID_BARE);
    ok("\xe7\xbe\x8e\xe5\x92\xb2@\xc3\xa9xample.org", ESESSION_JID_BARE);
    ok("a&b<c>d'e\"f@example.org", ESESSION_JID_BARE); /* escaped where written */
    ok("\xf0\x9f\x98\x80@example.org", ESESSION_JID_BARE);

    refused(NULL, ESESSION_JID_BARE, "not a bare JID: missing");
    refused("", ESESSION_JID_BARE, "not a bare JID: empty");
    refused("alice@example.org/pda", ESESSION_JID_BARE, "not a bare JID: a resource in a bare JID");
    refused("/", ESESSION_JID_BARE, "not a bare JID: a resource in a bare JID");
    refused("alice @example.org", ESESSION_JID_BARE,
            "not a bare JID: a space or '/' before the resource");
    refused("alice@example.org\n", ESESSION_JID_BARE, "not a bare JID: a control character");
    refused("al\tice@example.org", ESESSION_JID_BARE, "not a bare JID: a control character");
    refused("alice\x7f@example.org", ESESSION_JID_BARE, "not a bare JID: a control character");
    refused("alice\xc2\x85@example.org", ESESSION_JID_BARE,
            "not a bare JID: a control character"); /* C1: NEL */
    refused("\xc0\xaf@example.org", ESESSION_JID_BARE, "not a bare JID: not UTF-8 text");
    refused("\xed\xa0\x80@example.org", ESESSION_JID_BARE, "not a bare JID: not UTF-8 text");
    refused("\xef\xbf\xbe@example.org", ESESSION_JID_BARE, "not a bare JID: not UTF-8 text");
    refused("alice@example.org\xe2\x82", ESESSION_JID_BARE, "not a bare JID: not UTF-8 text");
    const char *at = "not a bare JID: an '@' without a localpart or a domainpart on each side";
    refused("@example.org", ESESSION_JID_BARE, at);
    refused("alice@", ESESSION_JID_BARE, at);
    refused("a@b@example.org", ESESSION_JID_BARE, at);
    refused("alice@example.org", (esession_jid_kind)9, "not a JID: an unknown kind of JID");
}

Test(jid, full_and_resource)
{
    ok("alice@example.org/pda", ESESSION_JID_FULL);
    ok("example.org/x", ESESSION_JID_FULL);
    ok("alice@example.org/Bob's laptop/2", ESESSION_JID_FULL); /* space, ' and / in a resource */
    ok("alice@example.org/@", ESESSION_JID_FULL);
    ok("Bob's laptop", ESESSION_JID_RESOURCE);
    ok("a/b @c", ESESSION_JID_RESOURCE);

    refused("alice@example.org", ESESSION_JID_FULL, "not a full JID: no resource");
    refused("alice@example.org/", ESESSION_JID_FULL, "not a full JID: an empty resource");
    refused("/pda", ESESSION_JID_FULL, "not a full JID: empty");
    refused("al ice@example.org/pda", ESESSION_JID_FULL,
            "not a full JID: a space or '/' before the resource");
    refused("alice@example.org/p\nda", ESESSION_JID_FULL, "not a full JID: a control character");
    refused("alice@example.org/\xff", ESESSION_JID_FULL, "not a full JID: not UTF-8 text");
    refused("@x/pda", ESESSION_JID_FULL,
            "not a full JID: an '@' without a localpart or a domainpart on each side");
    refused("", ESESSION_JID_RESOURCE, "not a resource: an empty resource");
    refused("a\rb", ESESSION_JID_RESOURCE, "not a resource: a control character");
}

Test(jid, lengths)
{
    char *jid = malloc(ESESSION_JID_MAX + 2);
    cr_assert_not_null(jid);

    /* A bare JID of exactly ESESSION_JID_MAX octets, then one more. */
    memset(jid, 'a', ESESSION_JID_MAX + 1);
    jid[ESESSION_JID_MAX] = '\0';
    ok(jid, ESESSION_JID_BARE);
    jid[ESESSION_JID_MAX] = 'a';
    jid[ESESSION_JID_MAX + 1] = '\0';
    refused(jid, ESESSION_JID_BARE, "not a bare JID: longer than 3071 octets");

    /* A full JID: the whole at most ESESSION_JID_MAX, the resource at most
     * ESESSION_RESOURCE_MAX. */
    memset(jid, 'a', ESESSION_JID_MAX);
    jid[ESESSION_JID_MAX] = '\0';
    size_t slash = ESESSION_JID_MAX - ESESSION_RESOURCE_MAX - 1;
    jid[slash] = '/';
    ok(jid, ESESSION_JID_FULL);
    ok(jid + slash + 1, ESESSION_JID_RESOURCE);
    jid[slash] = 'a';
    jid[slash - 1] = '/';
    refused(jid, ESESSION_JID_FULL, "not a full JID: a resource longer than 1023 octets");
    refused(jid + slash, ESESSION_JID_RESOURCE,
            "not a resource: a resource longer than 1023 octets");
    jid[slash - 1] = 'a';
    jid[slash] = '/';
    jid[ESESSION_JID_MAX] = 'a';
    jid[ESESSION_JID_MAX + 1] = '\0';
    refused(jid, ESESSION_JID_FULL, "not a full JID: longer than 3071 octets");
    free(jid);
}

/* ---- XML escaping ----------------------------------------------------- */

typedef struct collected {
    char text[512];
    size_t len;
    size_t calls;
} collected;

static void collect(void *sink, const char *p, size_t n)
{
    collected *c = sink;
    cr_assert(n > 0, "an empty run was written");
    cr_assert_lt(c->len + n, sizeof c->text);
    memcpy(c->text + c->len, p, n);
    c->len += n;
    c->text[c->len] = '\0';
    c->calls++;
}

static void escaped(const char *in, unsigned flags, const char *want)
{
    collected c = {{0}, 0, 0};
    es_xml_escape(in, strlen(in), flags, collect, &c);
    cr_assert_str_eq(c.text, want, "flags %u", flags);
}

/* Every special character, with plain runs between them. */
#define ALL "a&b<c>d\"e'f\tg\nh\ri"

Test(xml_escape, text_is_the_same_in_both_variants)
{
    const char *want = "a&amp;b&lt;c&gt;d\"e'f\tg\nh&#xD;i";
    escaped(ALL, ES_XML_TEXT, want);
    escaped(ALL, ES_XML_TEXT | ES_XML_CANONICAL, want);
}

Test(xml_escape, attribute_values)
{
    /* Plain: safe between either quote. */
    escaped(ALL, ES_XML_ATTR, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#x9;g&#xA;h&#xD;i");
    /* PROFILE §6 (Canonical XML 1.0): > and ' as they are. */
    escaped(ALL, ES_XML_ATTR | ES_XML_CANONICAL, "a&amp;b&lt;c>d&quot;e'f&#x9;g&#xA;h&#xD;i");
}

/* Every other octet, alone and in a run, is written as it is, whatever
 * the flags. */
Test(xml_escape, other_octets_untouched)
{
    static const unsigned variants[] = {ES_XML_TEXT, ES_XML_TEXT | ES_XML_CANONICAL, ES_XML_ATTR,
                                        ES_XML_ATTR | ES_XML_CANONICAL};
    for (unsigned v = 1; v < 256; v++) {
        if (strchr("&<>\"'\t\n\r", (int)v) != NULL)
            continue;
        char in[4] = {'x', (char)v, 'y', '\0'};
        for (size_t f = 0; f < sizeof variants / sizeof variants[0]; f++)
            escaped(in, variants[f], in);
    }
}

/* Long text (checked sixteen octets at a time where that is possible)
 * escapes as its octets one by one do, wherever the special ones are. */
Test(xml_escape, long_text_as_octet_by_octet)
{
    static const unsigned variants[] = {ES_XML_TEXT, ES_XML_TEXT | ES_XML_CANONICAL, ES_XML_ATTR,
                                        ES_XML_ATTR | ES_XML_CANONICAL};
    static const char specials[] = "&<>\"'\t\n\r";
    char in[72];
    for (size_t len = 1; len < sizeof in; len++)
        for (size_t at = 0; at < len; at++)
            for (size_t k = 0; k < sizeof specials - 1; k++)
                for (size_t f = 0; f < sizeof variants / sizeof variants[0]; f++) {
                    for (size_t i = 0; i < len; i++)
                        in[i] = "aZ09+/=\xc3"[i % 8];
                    in[at] = specials[k];
                    in[len - 1 - at] = specials[(k + 3) % (sizeof specials - 1)];
                    collected whole = {{0}, 0, 0}, one = {{0}, 0, 0};
                    es_xml_escape(in, len, variants[f], collect, &whole);
                    for (size_t i = 0; i < len; i++)
                        es_xml_escape(in + i, 1, variants[f], collect, &one);
                    cr_assert_str_eq(whole.text, one.text, "length %zu, at %zu", len, at);
                }
}

Test(xml_escape, each_octet_once)
{
    /* Already escaped text is escaped again, never recognized: the
     * namespace "urn:a&amp;b" is "urn:a&amp;amp;b" on the wire. */
    escaped("urn:a&amp;b", ES_XML_ATTR, "urn:a&amp;amp;b");
    escaped("urn:a&b", ES_XML_ATTR | ES_XML_CANONICAL, "urn:a&amp;b");
    /* Nothing to escape: one run; UTF-8 and NUL-free octets pass as they are. */
    collected c = {{0}, 0, 0};
    es_xml_escape("\xc3\xa9t\xc3\xa9", 6, ES_XML_ATTR, collect, &c);
    cr_assert_eq(c.calls, 1);
    cr_assert_str_eq(c.text, "\xc3\xa9t\xc3\xa9");
    escaped("", ES_XML_TEXT, "");
    escaped("&&", ES_XML_TEXT, "&amp;&amp;");
}

Test(xml_escape, public_call_is_like_snprintf)
{
    char out[64];
    const char *in = "a<'b'>";
    size_t n = strlen(in);
    cr_assert_eq(esession_xml_escape(NULL, 0, in, n, 1), strlen("a&lt;&apos;b&apos;&gt;"));
    cr_assert_eq(esession_xml_escape(out, sizeof out, in, n, 1), 22);
    cr_assert_str_eq(out, "a&lt;&apos;b&apos;&gt;");
    cr_assert_eq(esession_xml_escape(out, sizeof out, in, n, 0), 12);
    cr_assert_str_eq(out, "a&lt;'b'&gt;");
    /* Cut short: what fits, NUL-terminated; the length still whole. */
    memset(out, 'x', sizeof out);
    cr_assert_eq(esession_xml_escape(out, 4, in, n, 1), 22);
    cr_assert_str_eq(out, "a&l");
    cr_assert_eq(out[4], 'x');
    cr_assert_eq(esession_xml_escape(out, 1, in, n, 1), 22);
    cr_assert_str_eq(out, "");
    /* Only n octets are read. */
    cr_assert_eq(esession_xml_escape(out, sizeof out, "ab&c", 2, 0), 2);
    cr_assert_str_eq(out, "ab");
}
