/* SPDX-License-Identifier: ISC */
/* PEP stanzas of offline sessions (PROFILE §7, XEP-0187 §3.1-3.4 over
 * XEP-0163/XEP-0060): building the IQs Alice and Bob send, and checking the
 * server's answers. No I/O: the caller sends and receives the text. */
#ifndef ESESSION_PEP_H
#define ESESSION_PEP_H

#include "../core/core.h"
#include "../forms/xml.h"

/* The two nodes of PROFILE §7. */
typedef enum es_pep_node {
    ES_PEP_NODE_SUBSCRIBERS = 0, /* ...xep-0187.html#ns, access model "presence" */
    ES_PEP_NODE_OPEN = 1         /* ...xep-0116.html#ns, access model "open" */
} es_pep_node;

#define ES_PEP_NODE_SUBSCRIBERS_NAME "http://www.xmpp.org/extensions/xep-0187.html#ns"
#define ES_PEP_NODE_OPEN_NAME "http://www.xmpp.org/extensions/xep-0116.html#ns"

/* The one item id used for every publish, so that a new option set (or the
 * empty item of XEP-0187 Listing 8) replaces the previous one. */
#define ES_PEP_ITEM_ID "current"

/* IQ ids: 16 octets from es_random as 32 lowercase hex digits. */
#define ES_PEP_ID_LEN 32u
/* Longest JID accepted: the library's one limit. */
#define ES_PEP_JID_MAX ESESSION_JID_MAX
/* Largest options form accepted for publishing, and its deepest nesting
 * (x = 1), so that Bob's items result stays within the es_xml_parse limits:
 * iq/pubsub/items/item add four levels. */
#define ES_PEP_PAYLOAD_MAX (ES_XML_MAX_BYTES / 4u * 3u)
#define ES_PEP_PAYLOAD_DEPTH_MAX (ES_XML_MAX_DEPTH - 4u)

/* Returned by the items parser when there is nothing to use: no item, or
 * the empty item Alice publishes when she comes back online. The caller
 * tells it from other failures by this code. */
#define ES_PEP_NO_OPTIONS ESESSION_ERR_NO_OPTIONS

typedef enum es_pep_kind {
    ES_PEP_CREATE = 1,        /* create-node with configuration (Alice) */
    ES_PEP_PUBLISH = 2,       /* publish an options form (Alice) */
    ES_PEP_PUBLISH_EMPTY = 3, /* publish the empty item (Alice, Listing 8) */
    ES_PEP_ITEMS = 4,         /* fetch the options of a contact (Bob) */
    ES_PEP_RETRACT = 5        /* retract the options item (Alice, where the empty item is refused) */
} es_pep_kind;

/* What one built IQ asked; filled by a builder, read by the parsers to
 * match the response. Plain data: copy it, keep it, no free needed. */
typedef struct es_pep_request {
    es_pep_kind kind;
    es_pep_node node;
    char id[ES_PEP_ID_LEN + 1];   /* the IQ's id attribute, NUL-terminated */
    char to[ES_PEP_JID_MAX + 1];  /* ES_PEP_ITEMS: the bare JID asked; else "" */
} es_pep_request;

/* Defined conditions of RFC 6120 §8.3.3, plus OTHER for any other name. */
typedef enum es_pep_cond {
    ES_PEP_COND_NONE = 0, /* no error */
    ES_PEP_COND_BAD_REQUEST,
    ES_PEP_COND_CONFLICT,          /* create: the node exists (fine) */
    ES_PEP_COND_FEATURE_NOT_IMPLEMENTED,
    ES_PEP_COND_FORBIDDEN,         /* Prosody: Bob may not read the node */
    ES_PEP_COND_GONE,
    ES_PEP_COND_INTERNAL_SERVER_ERROR,
    ES_PEP_COND_ITEM_NOT_FOUND,    /* no such node */
    ES_PEP_COND_JID_MALFORMED,
    ES_PEP_COND_NOT_ACCEPTABLE,
    ES_PEP_COND_NOT_ALLOWED,
    ES_PEP_COND_NOT_AUTHORIZED,    /* ejabberd: + presence-subscription-required */
    ES_PEP_COND_POLICY_VIOLATION,
    ES_PEP_COND_RECIPIENT_UNAVAILABLE,
    ES_PEP_COND_REDIRECT,
    ES_PEP_COND_REGISTRATION_REQUIRED,
    ES_PEP_COND_REMOTE_SERVER_NOT_FOUND,
    ES_PEP_COND_REMOTE_SERVER_TIMEOUT,
    ES_PEP_COND_RESOURCE_CONSTRAINT,
    ES_PEP_COND_SERVICE_UNAVAILABLE,
    ES_PEP_COND_SUBSCRIPTION_REQUIRED,
    ES_PEP_COND_UNDEFINED_CONDITION,
    ES_PEP_COND_UNEXPECTED_REQUEST,
    ES_PEP_COND_OTHER              /* unknown name (see .name) or none at all */
} es_pep_cond;

#define ES_PEP_NAME_MAX 64u

/* An IQ error as received. A string field is "" when absent, longer than
 * ES_PEP_NAME_MAX - 1 octets, or not printable ASCII. */
typedef struct es_pep_error {
    es_pep_cond cond;
    char name[ES_PEP_NAME_MAX];    /* the urn:ietf:params:xml:ns:xmpp-stanzas element */
    char type[ES_PEP_NAME_MAX];    /* <error type=...>: auth, cancel, modify, wait, continue */
    char app[ES_PEP_NAME_MAX];     /* the http://jabber.org/protocol/pubsub#errors element,
                                    * e.g. "presence-subscription-required" */
    char feature[ES_PEP_NAME_MAX]; /* its feature attribute (<unsupported feature=.../>) */
} es_pep_error;

/* Node name and access model ("presence" / "open"); NULL for a bad node. */
const char *es_pep_node_name(es_pep_node node);
const char *es_pep_node_access_model(es_pep_node node);
/* RFC 6120 name of a condition ("forbidden"); "other" / "none" otherwise. */
const char *es_pep_cond_name(es_pep_cond cond);
/* The condition of an RFC 6120 name; ES_PEP_COND_OTHER if unknown. */
es_pep_cond es_pep_cond_from_name(const char *name);

/* A fresh IQ id: ES_PEP_ID_LEN lowercase hex digits and a NUL. */
esession_status es_pep_new_id(esession_ctx *ctx, char id[ES_PEP_ID_LEN + 1]);

/* ---- builders (UTF-8 text in a non-secret buffer; req filled on success) */

/* Alice: create `node` with its configuration in the request (a submit form
 * of pubsub#node_config with plain values): access_model (per node),
 * deliver_notifications 0, send_last_published_item never, persist_items 1,
 * max_items 1. Sent to her own account (no 'to'). */
esession_status es_pep_build_create(esession_ctx *ctx, es_pep_node node,
                                    esession_buf *out, es_pep_request *req);

/* Alice: publish one item (id ES_PEP_ITEM_ID) whose payload is `form`
 * inserted byte for byte: a serialized <x xmlns='jabber:x:data'> element
 * that declares the default namespace itself, with nothing before or after
 * it (no XML declaration, whitespace or comment), at most ES_PEP_PAYLOAD_MAX
 * octets and ES_PEP_PAYLOAD_DEPTH_MAX levels. Anything else is
 * ESESSION_ERR_INVALID_ARGUMENT (ESESSION_ERR_LIMIT for size and depth). */
esession_status es_pep_build_publish(esession_ctx *ctx, es_pep_node node,
                                     const char *form, size_t form_len,
                                     esession_buf *out, es_pep_request *req);

/* The same for a form the library itself has just written with
 * es_form_serialize (es_options_build): one <x xmlns='jabber:x:data'> by
 * construction, so it is not parsed again to be checked; only its size
 * and its two ends are. */
esession_status es_pep_build_publish_built(esession_ctx *ctx, es_pep_node node,
                                           const char *form, size_t form_len,
                                           esession_buf *out, es_pep_request *req);

/* Alice back online: publish the empty item (id ES_PEP_ITEM_ID, no payload)
 * to `node`; XEP-0187 Listing 8 uses ES_PEP_NODE_SUBSCRIBERS. */
esession_status es_pep_build_publish_empty(esession_ctx *ctx, es_pep_node node,
                                           esession_buf *out, es_pep_request *req);

/* Alice back online, on a server that refuses an item without payload
 * (Prosody 0.12: bad-request): retract item ES_PEP_ITEM_ID of `node`
 * (XEP-0060 §7.2), which leaves the node just as empty. */
esession_status es_pep_build_retract(esession_ctx *ctx, es_pep_node node, esession_buf *out,
                                     es_pep_request *req);

/* Bob: ask `jid` (a bare JID by esession_jid_check) for the last item of
 * `node` (max_items='1'). Try ES_PEP_NODE_SUBSCRIBERS first, then
 * ES_PEP_NODE_OPEN. */
esession_status es_pep_build_items(esession_ctx *ctx, const char *jid, es_pep_node node,
                                   esession_buf *out, es_pep_request *req);

/* ---- parsers
 * The response must be an <iq> (no namespace, jabber:client or jabber:server)
 * with the request's id, and 'from' equal to req->to (ASCII case-insensitive)
 * for ES_PEP_ITEMS, absent or a JID without resource otherwise. Then:
 *   type='result' -> as below;
 *   type='error'  -> ESESSION_ERR_PUBSUB, *err filled (cond OTHER with
 *                    empty name if the server gave no condition);
 *   anything else -> ESESSION_ERR_MALFORMED (also a wrong id or 'from').
 * err may be NULL; it is zeroed on success, filled on ESESSION_ERR_PUBSUB,
 * untouched on any other failure. A req of the wrong kind is
 * ESESSION_ERR_INVALID_ARGUMENT. */

/* Response to a create or publish (either kind): ESESSION_OK on a result.
 * A create answered with cond CONFLICT means the node already exists. */
esession_status es_pep_parse_ack(esession_ctx *ctx, const es_pep_request *req,
                                 const char *text, size_t len, es_pep_error *err);
esession_status es_pep_check_ack(esession_ctx *ctx, const es_pep_request *req,
                                 const xmlNode *iq, es_pep_error *err);

/* Response to an items request. On ESESSION_OK, *x_out is the
 * <x xmlns='jabber:x:data'> payload of the single item, inside *doc_out
 * (the parsed response; the caller frees it with xmlFreeDoc). The form is
 * not checked further: the caller normalizes it as received.
 * No item, or an item without payload: ES_PEP_NO_OPTIONS. Two or more items,
 * a payload that is not one jabber:x:data <x>, a node other than req->node,
 * or any other structure: ESESSION_ERR_MALFORMED. */
esession_status es_pep_parse_items(esession_ctx *ctx, const es_pep_request *req,
                                   const char *text, size_t len,
                                   xmlDocPtr *doc_out, xmlNodePtr *x_out, es_pep_error *err);
/* The same over an already parsed <iq>; *x_out points into iq's tree. */
esession_status es_pep_check_items(esession_ctx *ctx, const es_pep_request *req,
                                   xmlNode *iq, xmlNodePtr *x_out, es_pep_error *err);

#endif
