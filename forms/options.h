/* SPDX-License-Identifier: ISC */
/* The options form Alice publishes (PROFILE §7, layout §11; XEP-0187
 * §3.1-3.2): building it and reading a received one. Signing, signature
 * checks and expiry are session/options_sig.h's. */
#ifndef ESESSION_OPTIONS_H
#define ESESSION_OPTIONS_H

#include "dataform.h"

#define ES_OPT_MAX_LIST 16u   /* offered values per list field */
#define ES_OPT_MAX_GROUPS 8u  /* modp options, so dhkeys values */
#define ES_OPT_NONCE_MIN 16u
#define ES_OPT_NONCE_MAX 64u
#define ES_SSN_FORM_TYPE "urn:xmpp:ssn"

typedef struct es_strlist {
    size_t n;
    const char *const *v;
} es_strlist;

/* Alice's offer, in her order of preference. */
typedef struct es_offer {
    es_strlist otr, disclosure, security, modp, crypt_algs, hash_algs, sign_algs, compress,
        stanzas, ver;
    uint32_t rekey_freq;        /* >= 1 */
    int64_t expires;            /* seconds since the epoch, UTC */
    const char *match_resource; /* NULL: none */
} es_offer;

/* Check an offer and build the unsigned form (<x xmlns='jabber:x:data'
 * type='form'>, every field but signs in the order of XEP-0187 Listing 3)
 * with my_nonce = nonce and one dhkeys value per modp option (dhkeys[i] =
 * mpint(e) for offer->modp.v[i]). Invalid offers (empty or oversized
 * lists, iq in stanzas, a match_resource with stanzas other than message,
 * rekey_freq 0, a nonce outside 16..64 octets) are
 * ESESSION_ERR_INVALID_ARGUMENT. */
esession_status es_options_form_new(esession_ctx *ctx, const es_offer *offer,
                                    const uint8_t *nonce, size_t nonce_len,
                                    const esession_buf *dhkeys, es_form **out);

/* The text the signs values cover: normalize(x, {signs}) (PROFILE §7).
 * A form built here (built 1) is first written and parsed back, so that
 * the text is exactly what a receiver will normalize; a parsed one
 * (built 0) is normalized as received. */
esession_status es_options_signed_text(esession_ctx *ctx, const es_form *form, int built,
                                       esession_buf *out);

/* Add base64(v) as a value of f. */
esession_status es_options_add_b64(esession_ctx *ctx, es_form_field *f, const uint8_t *v,
                                   size_t n);

/* A received options form, checked. Lists point into `form`. */
typedef struct es_options {
    es_form *form;
    es_offer offer;
    uint8_t nonce[ES_OPT_NONCE_MAX];
    size_t nonce_len;
    size_t n_dhkeys;                       /* == offer.modp.n */
    uint8_t *dhkeys[ES_OPT_MAX_GROUPS];    /* mpint(e), minimal */
    size_t dhkey_len[ES_OPT_MAX_GROUPS];
    size_t signer;                         /* index into the trusted keys */
} es_options;

/* Read a received <x> (x must outlive the result): structure (form type
 * 'form', FORM_TYPE urn:xmpp:ssn, every field of §7 present once with
 * the right shape, no accept/init_pubkey/resp_pubkey, a dhkeys count
 * equal to the modp count, no iq in stanzas, base64, nonce size, minimal
 * mpints, rekey_freq in 1..2^32-1, a valid expires) or
 * ESESSION_ERR_MALFORMED. No signature and no expiry check: those are
 * es_options_check's (session/options_sig.h). */
esession_status es_options_read(esession_ctx *ctx, const xmlNode *x, es_options **out);

void es_options_free(es_options *opt);

/* The value lists of the §7 fields in their form order (for iteration). */
extern const char *const es_options_list_fields[10];

#endif
