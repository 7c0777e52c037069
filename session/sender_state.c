/* SPDX-License-Identifier: ISC */
/* Bob's session record in the keystore: a versioned binary layout,
 * written whole before any stanza leaves, read back with every length
 * bounded.
 *
 *   "ESBS" | version 2 | flags | seq u64 | expires i64 (Alice's options)
 *   10 x (u8 len, chosen value) | rekey_freq u32
 *   e (u16 len) | KC_B (u8 len) | KM_B (u8 len)
 *   C (16) | stanzas u64 | blocks u64 | epoch u32 | thread (32)
 *   Bob's JID (u16 len) | Alice's JID (u16 len) | match_resource (u16 len)
 *   init (u32 len, only while it is pending)
 *
 * Integers are big-endian. Version 1 (without expires) is still read; its
 * expiry is then unknown. */
#include "../core/bytes.h"
#include "sender.h"

#include "../forms/xml.h"
#include "../store/store.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "ESBS"
#define VERSION 2u
#define VERSION_NO_EXPIRY 1u /* read, never written */
#define FLAG_SINGLE 1u
#define FLAG_INIT 2u
#define FLAG_RESOURCE 4u
#define FLAG_NO_FALLBACK 8u
#define FLAGS_KNOWN (FLAG_SINGLE | FLAG_INIT | FLAG_RESOURCE | FLAG_NO_FALLBACK)
#define VALUE_MAX 64u

/* ---- writing ---------------------------------------------------------- */

static void put_field(es_wr *w, const void *s, size_t n, unsigned len_octets)
{
    es_wr_be(w, n, len_octets);
    es_wr_put(w, s, n);
}

static void put_str(es_wr *w, const char *s, unsigned len_octets)
{
    put_field(w, s, s != NULL ? strlen(s) : 0, len_octets);
}

/* Run once to measure (w->p NULL), once to write. */
static void write_all(es_wr *w, const es_sender_info *info, const es_sender_progress *prog)
{
    unsigned flags = (info->single_stanza ? FLAG_SINGLE : 0) |
                     (prog->init_pending ? FLAG_INIT : 0) |
                     (info->match_resource != NULL ? FLAG_RESOURCE : 0) |
                     (info->no_fallback ? FLAG_NO_FALLBACK : 0);
    es_wr_put(w, MAGIC, 4);
    es_wr_be(w, VERSION, 1);
    es_wr_be(w, flags, 1);
    es_wr_be(w, prog->seq, 8);
    es_wr_be(w, (uint64_t)info->expires, 8);
    for (size_t i = 0; i < ES_CH_COUNT; i++)
        put_str(w, info->choice.value[i], 1);
    es_wr_be(w, info->choice.rekey_freq, 4);
    put_field(w, info->e, info->e_len, 2);
    put_field(w, prog->keys.kc, prog->keys.kc_len, 1);
    put_field(w, prog->keys.km, prog->keys.km_len, 1);
    es_wr_put(w, prog->ctr, ES_AES_BLOCK);
    es_wr_be(w, prog->stanzas, 8);
    es_wr_be(w, prog->blocks, 8);
    es_wr_be(w, prog->epoch, 4);
    es_wr_put(w, info->thread, ES_SENDER_THREAD_HEX);
    put_str(w, info->bob_jid, 2);
    put_str(w, info->alice_jid, 2);
    put_str(w, info->match_resource, 2);
    if (prog->init_pending)
        put_field(w, info->init, info->init_len, 4);
    else
        es_wr_be(w, 0, 4);
}

esession_status es_sender_state_encode(esession_ctx *ctx, const es_sender_info *info,
                                       const es_sender_progress *prog, esession_buf *out)
{
    if (info == NULL || prog == NULL || out == NULL || info->bob_jid == NULL ||
        info->alice_jid == NULL || (prog->init_pending && info->init == NULL))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "session record: bad arguments");
    es_wr w = {NULL, 0, SIZE_MAX, 0};
    write_all(&w, info, prog);
    esession_buf tmp;
    esession_status rc = es_buf_alloc_in(ctx, &tmp, w.pos, 1);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory for the session record");
    w = (es_wr){(uint8_t *)tmp.data, 0, tmp.len, 0};
    write_all(&w, info, prog);
    *out = tmp;
    return ESESSION_OK;
}

/* ---- reading ---------------------------------------------------------- */

/* A length-prefixed field of at most max octets. */
static const uint8_t *get_field(es_rd *r, unsigned len_octets, size_t max, size_t *n)
{
    uint64_t l = es_rd_be(r, len_octets);
    if (r->bad || l > max) {
        r->bad = 1;
        return NULL;
    }
    *n = (size_t)l;
    return es_rd_take(r, (size_t)l);
}

/* A text field: no NUL inside, copied with a NUL. */
static char *get_str(es_rd *r, unsigned len_octets, size_t min, size_t max)
{
    size_t n = 0;
    const uint8_t *s = get_field(r, len_octets, max, &n);
    if (s == NULL || n < min || memchr(s, '\0', n) != NULL) {
        r->bad = 1;
        return NULL;
    }
    char *p = malloc(n + 1);
    if (p == NULL) {
        r->bad = 1;
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int thread_ok(const char *t)
{
    for (size_t i = 0; i < ES_SENDER_THREAD_HEX; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return 0;
    return 1;
}

/* The choice, rebuilt through the chooser from the stored names so that
 * only values Bob supports come back. */
static int read_choice(esession_ctx *ctx, es_rd *r, es_choice *c)
{
    char names[ES_CH_COUNT][VALUE_MAX + 1];
    const char *one[ES_CH_COUNT];
    for (size_t i = 0; i < ES_CH_COUNT; i++) {
        size_t n = 0;
        const uint8_t *s = get_field(r, 1, VALUE_MAX, &n);
        if (s == NULL || memchr(s, '\0', n) != NULL)
            return 0;
        memcpy(names[i], s, n);
        names[i][n] = '\0';
        one[i] = names[i];
    }
    uint32_t freq = (uint32_t)es_rd_be(r, 4);
    if (r->bad || freq == 0)
        return 0;
    es_offer offer;
    memset(&offer, 0, sizeof offer);
    es_strlist *lists[ES_CH_COUNT] = {
        &offer.otr, &offer.disclosure, &offer.security, &offer.modp, &offer.crypt_algs,
        &offer.hash_algs, &offer.sign_algs, &offer.compress, &offer.stanzas, &offer.ver,
    };
    for (size_t i = 0; i < ES_CH_COUNT; i++) {
        lists[i]->n = 1;
        lists[i]->v = &one[i];
    }
    offer.rekey_freq = freq;
    es_bob_caps caps = {1, freq, ~0u};
    return es_sender_choose(ctx, &offer, &caps, c) == ESESSION_OK;
}

static int read_all(esession_ctx *ctx, es_rd *r, es_sender_info *info, es_sender_progress *prog)
{
    const uint8_t *magic = es_rd_take(r, 4);
    uint64_t version = es_rd_be(r, 1);
    if (magic == NULL || memcmp(magic, MAGIC, 4) != 0 ||
        (version != VERSION && version != VERSION_NO_EXPIRY))
        return 0;
    unsigned flags = (unsigned)es_rd_be(r, 1);
    if (r->bad || (flags & ~FLAGS_KNOWN) != 0)
        return 0;
    info->single_stanza = (flags & FLAG_SINGLE) != 0;
    info->no_fallback = (flags & FLAG_NO_FALLBACK) != 0;
    prog->init_pending = (flags & FLAG_INIT) != 0;
    prog->seq = es_rd_be(r, 8);
    info->expires = version == VERSION ? (int64_t)es_rd_be(r, 8) : INT64_MAX;
    if (!read_choice(ctx, r, &info->choice))
        return 0;

    size_t n = 0;
    const uint8_t *s = get_field(r, 2, ES_SENDER_E_MAX, &n);
    if (s == NULL || es_dh_check_public(info->choice.group, s, n) != ESESSION_OK)
        return 0;
    memcpy(info->e, s, n);
    info->e_len = n;

    prog->keys.suite = info->choice.suite;
    prog->keys.kc_len = es_cipher_key_size(info->choice.suite.cipher);
    prog->keys.km_len = es_hash_size(info->choice.suite.hash);
    if ((s = get_field(r, 1, ES_CIPHER_KEY_MAX, &n)) == NULL || n != prog->keys.kc_len)
        return 0;
    memcpy(prog->keys.kc, s, n);
    if ((s = get_field(r, 1, ES_HASH_MAX_BYTES, &n)) == NULL || n != prog->keys.km_len)
        return 0;
    memcpy(prog->keys.km, s, n);
    if ((s = es_rd_take(r, ES_AES_BLOCK)) == NULL)
        return 0;
    memcpy(prog->ctr, s, ES_AES_BLOCK);
    prog->stanzas = es_rd_be(r, 8);
    prog->blocks = es_rd_be(r, 8);
    prog->epoch = (uint32_t)es_rd_be(r, 4);
    if (r->bad || prog->blocks >= ES_SENDER_BLOCK_LIMIT)
        return 0;
    if ((s = es_rd_take(r, ES_SENDER_THREAD_HEX)) == NULL)
        return 0;
    memcpy(info->thread, s, ES_SENDER_THREAD_HEX);
    info->thread[ES_SENDER_THREAD_HEX] = '\0';
    if (!thread_ok(info->thread))
        return 0;

    info->bob_jid = get_str(r, 2, 3, ESESSION_JID_MAX);
    info->alice_jid = get_str(r, 2, 3, ESESSION_JID_MAX);
    char *res = get_str(r, 2, 0, ESESSION_RESOURCE_MAX);
    if (res != NULL && (flags & FLAG_RESOURCE) != 0 && res[0] != '\0')
        info->match_resource = res;
    else if (res != NULL && (flags & FLAG_RESOURCE) == 0 && res[0] == '\0')
        free(res);
    else {
        free(res);
        return 0;
    }
    if (r->bad)
        return 0;
    if (prog->init_pending) {
        info->init = get_str(r, 4, 1, ES_XML_MAX_BYTES);
        if (info->init == NULL)
            return 0;
        info->init_len = strlen(info->init);
    } else if (es_rd_be(r, 4) != 0) {
        return 0;
    }
    return !r->bad && r->pos == r->len;
}

esession_status es_sender_state_decode(esession_ctx *ctx, const uint8_t *data, size_t len,
                                       es_sender_info *info, es_sender_progress *prog)
{
    if (data == NULL || info == NULL || prog == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "session record: bad arguments");
    es_sender_info i;
    es_sender_progress *p = es_secret_alloc_in(ctx, sizeof *p);
    if (p == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    memset(&i, 0, sizeof i);
    memset(p, 0, sizeof *p);
    es_rd r = {data, len, 0, 0};
    int ok = read_all(ctx, &r, &i, p);
    if (ok) {
        *info = i;
        *prog = *p;
    } else {
        es_sender_info_clear(&i);
    }
    es_secret_free(p);
    if (!ok)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "the stored session record is damaged");
    return ESESSION_OK;
}

void es_sender_info_clear(es_sender_info *info)
{
    if (info == NULL)
        return;
    free(info->bob_jid);
    free(info->alice_jid);
    free(info->match_resource);
    free(info->init);
    sodium_memzero(info, sizeof *info);
}

esession_status es_sender_blob_name(esession_ctx *ctx, const char *alice_bare_jid, char *name,
                                    size_t cap)
{
    size_t pl = strlen(ES_SENDER_BLOB_PREFIX);
    size_t jl = strnlen(alice_bare_jid, ES_BLOB_NAME_MAX + 1);
    if (pl + jl > ES_BLOB_NAME_MAX || pl + jl + 1 > cap)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "Alice's JID is too long for a session record");
    memcpy(name, ES_SENDER_BLOB_PREFIX, pl);
    memcpy(name + pl, alice_bare_jid, jl + 1);
    return ESESSION_OK;
}
