/* SPDX-License-Identifier: ISC */
/* Shared pieces of the xmpp-* commands. */
#include "xcmd.h"

#include <stdlib.h>
#include <string.h>

int xcmd_refused(const cli *c, const char *what, const xconn_answer *ans)
{
    const char *cond = ans->condition[0] ? ans->condition : "undefined-condition";
    const char *hint = "";
    if (strcmp(cond, "forbidden") == 0 || strcmp(cond, "not-authorized") == 0 ||
        strcmp(cond, "presence-subscription-required") == 0)
        hint = " (reading a contact's offline options needs a presence subscription)";
    else if (strcmp(cond, "item-not-found") == 0)
        hint = " (nothing is published there)";
    else if (strcmp(cond, "feature-not-implemented") == 0 ||
             strcmp(cond, "service-unavailable") == 0)
        hint = " (the server does not offer this)";
    cli_err(c, "%s: the server refused: %s%s", what, cond, hint);
    return CLI_EXIT_REJECTED;
}

void xcmd_bare(const char *jid, char *out, size_t n)
{
    size_t k = strcspn(jid, "/");
    if (k >= n)
        k = n - 1;
    memcpy(out, jid, k);
    out[k] = '\0';
}

/* The stanza with its from address set to the account's full JID: a
 * server closes the stream of a client that sends under another resource
 * (Bob resumes a session from another device). */
int xcmd_restamp(const char *text, size_t len, const char *from, char **out, size_t *outlen)
{
    xs_elem m;
    if (xs_split(text, len, &m, 1) != 1)
        return -1;
    /* the start tag's attributes: name='value' or name="value" */
    size_t i = m.start + 1;
    while (i < len && text[i] != ' ' && text[i] != '>' && text[i] != '/')
        i++;
    size_t v = 0, vend = 0;
    while (i < len && text[i] != '>' && text[i] != '/') {
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            i++;
        size_t a = i;
        while (i < len && text[i] != '=' && text[i] != '>')
            i++;
        if (i + 1 >= len || text[i] != '=' || (text[i + 1] != '\'' && text[i + 1] != '"'))
            return -1;
        char q = text[i + 1];
        size_t s0 = i + 2, e = s0;
        while (e < len && text[e] != q)
            e++;
        if (e >= len)
            return -1;
        if (i - a == 4 && memcmp(text + a, "from", 4) == 0) {
            v = s0;
            vend = e;
        }
        i = e + 1;
    }
    char *jid = NULL;
    size_t jlen;
    if (v == 0 || cli_xml_escape(from, strlen(from), 1, &jid, &jlen) != 0) {
        free(jid);
        return -1;
    }
    size_t n = len - (vend - v) + jlen;
    char *o = malloc(n + 1);
    if (o != NULL) {
        memcpy(o, text, v);
        memcpy(o + v, jid, jlen);
        memcpy(o + v + jlen, text + vend, len - vend);
        o[n] = '\0';
        *out = o;
        *outlen = n;
    }
    free(jid);
    return o != NULL ? 0 : -1;
}
