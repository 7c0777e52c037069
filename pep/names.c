/* SPDX-License-Identifier: ISC */
/* Names of the PEP nodes and of the XMPP stanza error conditions. */
#include "pep.h"

#include <string.h>

static const char *const cond_names[] = {
    [ES_PEP_COND_BAD_REQUEST] = "bad-request",
    [ES_PEP_COND_CONFLICT] = "conflict",
    [ES_PEP_COND_FEATURE_NOT_IMPLEMENTED] = "feature-not-implemented",
    [ES_PEP_COND_FORBIDDEN] = "forbidden",
    [ES_PEP_COND_GONE] = "gone",
    [ES_PEP_COND_INTERNAL_SERVER_ERROR] = "internal-server-error",
    [ES_PEP_COND_ITEM_NOT_FOUND] = "item-not-found",
    [ES_PEP_COND_JID_MALFORMED] = "jid-malformed",
    [ES_PEP_COND_NOT_ACCEPTABLE] = "not-acceptable",
    [ES_PEP_COND_NOT_ALLOWED] = "not-allowed",
    [ES_PEP_COND_NOT_AUTHORIZED] = "not-authorized",
    [ES_PEP_COND_POLICY_VIOLATION] = "policy-violation",
    [ES_PEP_COND_RECIPIENT_UNAVAILABLE] = "recipient-unavailable",
    [ES_PEP_COND_REDIRECT] = "redirect",
    [ES_PEP_COND_REGISTRATION_REQUIRED] = "registration-required",
    [ES_PEP_COND_REMOTE_SERVER_NOT_FOUND] = "remote-server-not-found",
    [ES_PEP_COND_REMOTE_SERVER_TIMEOUT] = "remote-server-timeout",
    [ES_PEP_COND_RESOURCE_CONSTRAINT] = "resource-constraint",
    [ES_PEP_COND_SERVICE_UNAVAILABLE] = "service-unavailable",
    [ES_PEP_COND_SUBSCRIPTION_REQUIRED] = "subscription-required",
    [ES_PEP_COND_UNDEFINED_CONDITION] = "undefined-condition",
    [ES_PEP_COND_UNEXPECTED_REQUEST] = "unexpected-request",
};

const char *es_pep_node_name(es_pep_node node)
{
    switch (node) {
    case ES_PEP_NODE_SUBSCRIBERS:
        return ES_PEP_NODE_SUBSCRIBERS_NAME;
    case ES_PEP_NODE_OPEN:
        return ES_PEP_NODE_OPEN_NAME;
    }
    return NULL;
}

const char *es_pep_node_access_model(es_pep_node node)
{
    switch (node) {
    case ES_PEP_NODE_SUBSCRIBERS:
        return "presence";
    case ES_PEP_NODE_OPEN:
        return "open";
    }
    return NULL;
}

const char *es_pep_cond_name(es_pep_cond cond)
{
    if (cond == ES_PEP_COND_NONE)
        return "none";
    if ((size_t)cond < ES_ARRAY_LEN(cond_names) && cond_names[cond] != NULL)
        return cond_names[cond];
    return "other";
}

es_pep_cond es_pep_cond_from_name(const char *name)
{
    if (name == NULL)
        return ES_PEP_COND_OTHER;
    for (size_t i = 0; i < ES_ARRAY_LEN(cond_names); i++) {
        if (cond_names[i] != NULL && strcmp(cond_names[i], name) == 0)
            return (es_pep_cond)i;
    }
    return ES_PEP_COND_OTHER;
}
