/* SPDX-License-Identifier: ISC */
/* Sealing stanza content (PROFILE §9, XEP-0200 "Encrypting a Stanza"):
 * m_final, a_mac and the <c> element text. */
#include "scrypto.h"

#include "../crypto/base64.h"
#include "../forms/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OPEN "<c xmlns='" ES_C_NS "'>"
#define C_CLOSE "</c>"
#define NEW_DIGITS_MAX 10 /* 2^32 - 1 */

/* `<name>` + n text octets + `</name>` */
static size_t elem_len(const char *name, size_t n)
{
    return 2 * strlen(name) + 5 + n;
}

typedef struct writer {
    char *p;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    memcpy(w->p, s, n);
    w->p += n;
}

static void put_open(writer *w, const char *name, int close)
{
    put(w, close ? "</" : "<", close ? 2 : 1);
    put(w, name, strlen(name));
    put(w, ">", 1);
}

static void put_b64_elem(writer *w, const char *name, const uint8_t *v, size_t n)
{
    put_open(w, name, 0);
    es_base64_encode_public(w->p, v, n); /* writes a NUL, overwritten next */
    w->p += es_base64_encoded_len(n);
    put_open(w, name, 1);
}

/* Add n to *total unless the result would pass max. */
static int add(size_t *total, size_t n, size_t max)
{
    if (n > max || *total > max - n)
        return 0;
    *total += n;
    return 1;
}

static int b64_fits(size_t *total, const char *name, size_t n)
{
    return n <= ES_XML_MAX_BYTES &&
           add(total, elem_len(name, es_base64_encoded_len(n)), ES_XML_MAX_BYTES);
}

static esession_status check_extras(const es_c_extras *x)
{
    if (x == NULL)
        return ESESSION_OK;
    if (x->key == NULL && x->key_len > 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (x->n_old > 0 && (x->old == NULL || x->old_len == NULL))
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < x->n_old; i++)
        if (x->old[i] == NULL && x->old_len[i] > 0)
            return ESESSION_ERR_INVALID_ARGUMENT;
    return ESESSION_OK;
}

esession_status es_c_seal(esession_ctx *ctx, es_chan *chan, uint8_t ctr[ES_AES_BLOCK],
                          const uint8_t *m, size_t m_len, const es_c_extras *extras,
                          esession_buf *out, uint8_t *a_mac)
{
    static const es_c_extras none = {NULL, 0, 0, NULL, NULL, 0};
    const es_c_extras *x = extras != NULL ? extras : &none;
    uint8_t mac[ES_HASH_MAX_BYTES], next[ES_AES_BLOCK];
    char digits[NEW_DIGITS_MAX + 1] = "";
    size_t total = 0, mac_len = es_chan_mac_size(chan);
    uint8_t *m_final = NULL;
    esession_buf tmp = {NULL, 0, 0};
    esession_status rc;
    writer w;

    if (chan == NULL || ctr == NULL || out == NULL || (m == NULL && m_len > 0) ||
        check_extras(extras) != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "seal: bad arguments");
    if (x->new_count > 0)
        snprintf(digits, sizeof digits, "%lu", (unsigned long)x->new_count);

    int fits = add(&total, strlen(C_OPEN) + strlen(C_CLOSE), ES_XML_MAX_BYTES) &&
               (m_len == 0 || b64_fits(&total, "data", m_len)) &&
               (x->key == NULL || b64_fits(&total, "key", x->key_len)) &&
               add(&total, x->new_count > 0 ? elem_len("new", strlen(digits)) : 0,
                   ES_XML_MAX_BYTES) &&
               b64_fits(&total, "mac", mac_len);
    for (size_t i = 0; fits && i < x->n_old; i++)
        fits = b64_fits(&total, "old", x->old_len[i]);
    if (!fits)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "seal: <c> longer than %u octets",
                       ES_XML_MAX_BYTES);

    if ((rc = es_buf_alloc(&tmp, total, 0)) != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory for <c>");
    if (m_len > 0 && (m_final = malloc(m_len)) == NULL) {
        esession_buf_free(&tmp);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory for m_final");
    }
    memcpy(next, ctr, ES_AES_BLOCK);
    if (m_len > 0)
        rc = es_chan_crypt(chan, next, m, m_final, m_len);
    else
        es_ctr_add(next, 1); /* no data: one counter value for the MAC alone */
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "seal: encryption failed");
        goto out;
    }
    ES_DECLASSIFY(m_final, m_len); /* the ciphertext is sent */

    w.p = tmp.data;
    put(&w, C_OPEN, strlen(C_OPEN));
    const char *content = w.p;
    if (m_len > 0)
        put_b64_elem(&w, "data", m_final, m_len);
    if (x->key != NULL)
        put_b64_elem(&w, "key", x->key, x->key_len);
    if (x->new_count > 0) {
        put_open(&w, "new", 0);
        put(&w, digits, strlen(digits));
        put_open(&w, "new", 1);
    }
    for (size_t i = 0; i < x->n_old; i++)
        put_b64_elem(&w, "old", x->old[i], x->old_len[i]);
    /* a_mac = HMAC(KM, m_content || C), C before this stanza's data. */
    rc = es_chan_mac(chan, (const uint8_t *)content, (size_t)(w.p - content), ctr,
                     ES_AES_BLOCK, mac);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "seal: HMAC failed");
        goto out;
    }
    ES_DECLASSIFY(mac, mac_len); /* and so is its MAC */
    put_b64_elem(&w, "mac", mac, mac_len);
    put(&w, C_CLOSE, strlen(C_CLOSE));
    *w.p = '\0';

    *out = tmp;
    tmp.data = NULL;
    memcpy(ctr, next, ES_AES_BLOCK);
    if (a_mac != NULL)
        memcpy(a_mac, mac, mac_len);
out:
    esession_buf_free(&tmp);
    free(m_final);
    ES_WIPE(next);
    return rc;
}
