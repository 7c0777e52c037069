/* SPDX-License-Identifier: ISC */
/* Alice's exponents x, kept ready between stanzas: every init and every
 * re-key needs d^x (or d'^x) under the x of its option set. An entry goes as
 * soon as its set is gone or its secrets were destroyed (the keystore
 * wipes its copy then; this one must not outlive it). */
#include "receiver.h"

#include "../forms/options.h"
#include "../forms/xml.h"

#include <string.h>

static void drop(esession_receiver *r, size_t i)
{
    es_dh_free(r->dh[i].dh); /* x is wiped */
    memmove(r->dh + i, r->dh + i + 1, (r->n_dh - i - 1) * sizeof *r->dh);
    r->n_dh--;
    memset(&r->dh[r->n_dh], 0, sizeof r->dh[r->n_dh]);
}

static int still_usable(const esession_receiver *r, const es_rx_dh_entry *e)
{
    const es_optset *set = es_ks_optset_find(r->ks, e->nonce, e->nonce_len);
    return set != NULL && !set->secrets_destroyed;
}

static void drop_offer(esession_receiver *r, size_t i)
{
    es_options_free(r->offers[i].opt);
    xmlFreeDoc(r->offers[i].doc);
    memmove(r->offers + i, r->offers + i + 1, (r->n_offers - i - 1) * sizeof *r->offers);
    r->n_offers--;
    memset(&r->offers[r->n_offers], 0, sizeof r->offers[r->n_offers]);
}

void es_rx_dh_sweep(esession_receiver *r, int all)
{
    size_t i = 0;
    while (i < r->n_dh) {
        if (all || !still_usable(r, &r->dh[i]))
            drop(r, i);
        else
            i++;
    }
    i = 0;
    while (i < r->n_offers) {
        const es_rx_offer_entry *e = &r->offers[i];
        if (all || es_ks_optset_find(r->ks, e->nonce, e->nonce_len) == NULL)
            drop_offer(r, i);
        else
            i++;
    }
}

esession_status es_rx_offer(esession_receiver *r, const es_optset *set,
                            const struct es_options **out)
{
    for (size_t i = 0; i < r->n_offers; i++) {
        const es_rx_offer_entry *e = &r->offers[i];
        if (e->nonce_len == set->nonce_len && memcmp(e->nonce, set->nonce, set->nonce_len) == 0) {
            *out = e->opt;
            return ESESSION_OK;
        }
    }
    xmlDocPtr doc = NULL;
    es_options *opt = NULL;
    esession_status rc = es_xml_parse(r->ctx, set->form.data, set->form.len, &doc);
    if (rc == ESESSION_OK)
        rc = es_options_read(r->ctx, xmlDocGetRootElement(doc), &opt);
    if (rc != ESESSION_OK) {
        xmlFreeDoc(doc);
        return es_fail(r->ctx, rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_ERR_CORRUPT,
                       "the stored options form cannot be read");
    }
    if (r->n_offers == ES_RX_DH_CACHE)
        drop_offer(r, 0); /* the least recently parsed */
    es_rx_offer_entry *e = &r->offers[r->n_offers++];
    memcpy(e->nonce, set->nonce, set->nonce_len);
    e->nonce_len = set->nonce_len;
    e->doc = doc;
    e->opt = opt;
    *out = opt;
    return ESESSION_OK;
}

esession_status es_rx_dh(esession_receiver *r, const uint8_t *n_a, size_t n_a_len, int group,
                         const es_dh **out)
{
    const es_optset *set = es_ks_optset_find(r->ks, n_a, n_a_len);
    es_dh *dh = NULL;
    esession_status rc;
    size_t i;

    es_rx_dh_sweep(r, 0);
    if (set == NULL || set->secrets_destroyed)
        return es_fail(r->ctx, ESESSION_ERR_UNKNOWN_OPTIONS,
                       "the option set or its exponents are gone");
    for (i = 0; i < r->n_dh; i++) {
        if (r->dh[i].group == group && r->dh[i].nonce_len == n_a_len &&
            memcmp(r->dh[i].nonce, n_a, n_a_len) == 0) {
            *out = r->dh[i].dh;
            return ESESSION_OK;
        }
    }
    for (i = 0; i < set->n_groups && set->groups[i] != group; i++)
        ;
    if (i == set->n_groups)
        return es_fail(r->ctx, ESESSION_ERR_INTERNAL, "no exponent stored for group %d", group);
    /* Only d^x is ever needed here: no g^x. */
    rc = es_dh_from_private_only(r->ctx, &dh, group, (const uint8_t *)set->x[i].data,
                                 set->x[i].len);
    if (rc != ESESSION_OK)
        return rc;
    if (r->n_dh == ES_RX_DH_CACHE)
        drop(r, 0); /* the least recently loaded */
    es_rx_dh_entry *e = &r->dh[r->n_dh++];
    memcpy(e->nonce, n_a, n_a_len);
    e->nonce_len = n_a_len;
    e->group = group;
    e->dh = dh;
    *out = dh;
    return ESESSION_OK;
}
