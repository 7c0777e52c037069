/* SPDX-License-Identifier: ISC */
/* The public online API over the engine: keys, trust and retained
 * secrets from the keystore. Private to online/. */
#ifndef ESESSION_OL_API_H
#define ESESSION_OL_API_H

#include "online.h"

struct esession_online_session {
    esession_ctx *ctx;
    esession_keystore *ks;
    es_ol *s;
    char *peer_bare;
    int retain;              /* retained secrets are kept in ks */
    int rekey_next;          /* the caller asked for a re-key */
};

/* Stanzas sealed under one sending key before a re-key is made on its own. */
#define ES_OL_AUTO_REKEY 100u

/* The retained secrets kept in ks for a peer bare JID (ol_rsstore.c);
 * none is an empty list. */
esession_status ol_rs_load(esession_ctx *ctx, esession_keystore *ks, const char *bare,
                           es_ol_rs_list *out);
/* Apply changes to the stored list, in one transaction. */
esession_status ol_rs_store(esession_ctx *ctx, esession_keystore *ks, const char *bare,
                            const es_ol_rs_op *ops, size_t n);

#endif
