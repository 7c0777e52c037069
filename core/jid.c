/* SPDX-License-Identifier: ISC */
/* The one JID rule (see esession_jid_check in the public header). */
#include "jid.h"

#include "utf8.h"

#include <string.h>

/* Why s (n octets, NUL-free) is not a resourcepart (in_bare 0) or a bare
 * JID's text (in_bare 1), or NULL. */
static const char *part_problem(const char *s, size_t n, int in_bare)
{
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = es_utf8_next(p + i, n - i, &c);
        if (k == 0 || !es_xml_char(c))
            return "not UTF-8 text";
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            return "a control character";
        if (in_bare && (c == ' ' || c == '/'))
            return "a space or '/' before the resource";
        i += k;
    }
    return NULL;
}

static const char *bare_problem(const char *s, size_t n)
{
    if (n == 0)
        return "empty";
    const char *at = memchr(s, '@', n);
    if (at != NULL &&
        (at == s || at + 1 == s + n || memchr(at + 1, '@', n - (size_t)(at - s) - 1) != NULL))
        return "an '@' without a localpart or a domainpart on each side";
    return part_problem(s, n, 1);
}

static const char *resource_problem(const char *s, size_t n)
{
    if (n == 0)
        return "an empty resource";
    if (n > ESESSION_RESOURCE_MAX)
        return "a resource longer than " ES_STR(ESESSION_RESOURCE_MAX) " octets";
    return part_problem(s, n, 0);
}

const char *es_jid_problem(const char *jid, esession_jid_kind kind)
{
    if (jid == NULL)
        return "missing";
    size_t n = strnlen(jid, ESESSION_JID_MAX + 1);
    if (n > ESESSION_JID_MAX)
        return "longer than " ES_STR(ESESSION_JID_MAX) " octets";
    const char *slash = memchr(jid, '/', n);
    switch (kind) {
    case ESESSION_JID_BARE:
        return slash != NULL ? "a resource in a bare JID" : bare_problem(jid, n);
    case ESESSION_JID_FULL:
        if (slash == NULL)
            return "no resource";
        const char *why = bare_problem(jid, (size_t)(slash - jid));
        return why != NULL ? why : resource_problem(slash + 1, n - (size_t)(slash - jid) - 1);
    case ESESSION_JID_RESOURCE:
        return resource_problem(jid, n);
    }
    return "an unknown kind of JID";
}

int es_jid_ok(const char *jid, esession_jid_kind kind)
{
    return es_jid_problem(jid, kind) == NULL;
}

static const char *kind_name(esession_jid_kind kind)
{
    switch (kind) {
    case ESESSION_JID_BARE: return "a bare JID";
    case ESESSION_JID_FULL: return "a full JID";
    case ESESSION_JID_RESOURCE: return "a resource";
    }
    return "a JID";
}

esession_status es_jid_check(esession_ctx *ctx, const char *jid, esession_jid_kind kind)
{
    const char *why = es_jid_problem(jid, kind);
    if (why == NULL)
        return ESESSION_OK;
    return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "not %s: %s", kind_name(kind), why);
}

esession_status esession_jid_check(esession_ctx *ctx, const char *jid, esession_jid_kind kind)
{
    es_clear_detail(ctx);
    return es_jid_check(ctx, jid, kind);
}
