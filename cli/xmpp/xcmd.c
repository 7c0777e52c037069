/* SPDX-License-Identifier: ISC */
/* Shared pieces of the xmpp-* commands. */
#include "xcmd.h"

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
