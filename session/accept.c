/* SPDX-License-Identifier: ISC */
/* Accepting one stanza whose a_mac verified at S (PROFILE §9, §11): it is
 * decrypted, a <key> installs the next epoch from the end of its range,
 * the session state is written to the keystore with the message in the
 * inbox, and only then is the result handed out, so that no plaintext is
 * ever opened twice nor lost before the client confirms it. */
#include "receiver.h"

#include <string.h>

/* The keys of a re-key value d' (validated like d), from Alice's x of the
 * session's group. */
static esession_status rekey(esession_receiver *r, const es_rx_session *s, const uint8_t *d,
                             size_t d_len, uint64_t start, es_rx_epoch **out)
{
    es_dir_keys *keys = NULL;
    const es_dh *dh = NULL;
    esession_status rc = es_rx_dh(r, s->n_a, s->n_a_len, s->group, &dh);

    if (rc == ESESSION_ERR_UNKNOWN_OPTIONS)
        return es_fail(r->ctx, rc, "re-key: the exponent of this option set was destroyed");
    if (rc == ESESSION_OK)
        rc = es_rekey_accept(r->ctx, s->suite, dh, d, d_len, &keys);
    if (rc == ESESSION_OK)
        rc = es_rx_epoch_new(r->ctx, keys, start, out);
    es_dir_keys_free(keys);
    return rc;
}

/* Who signed the session, and what Alice's side knows of that key now
 * (it may have been verified since the session opened). */
static void key_of(const esession_receiver *r, const es_rx_session *s, esession_result *out)
{
    memcpy(out->key_fingerprint, s->key_fp, ESESSION_FINGERPRINT_BYTES);
    if (!s->key_known)
        out->key_state = ESESSION_KEY_STATE_UNKNOWN;
    else if (s->key_by_host)
        out->key_state = ESESSION_KEY_STATE_HOST;
    else if (es_ks_trust_verified(r->ks, s->bare, s->key_fp))
        out->key_state = ESESSION_KEY_STATE_VERIFIED;
    else
        out->key_state = ESESSION_KEY_STATE_TRUSTED;
}

/* Problems of an authentic stanza that keep its content from the user
 * but not its counter range from being used. */
static int content_error(esession_status rc)
{
    return rc == ESESSION_ERR_MALFORMED || rc == ESESSION_ERR_INVALID_DH_VALUE;
}

esession_status es_rx_accept(esession_receiver *r, es_rx_session *s, const es_rx_stanza *st,
                             uint64_t off, es_rx_epoch *ep, int checked, int deliver,
                             long held_index, int terminate_after, uint64_t tag,
                             esession_result *res)
{
    esession_ctx *ctx = r->ctx;
    uint8_t S[ES_AES_BLOCK], saved[ES_RX_MAC_PRINT];
    esession_buf plain = {NULL, 0, 0};
    esession_result out;
    es_rx_core before;
    es_rx_held *taken;
    es_rx_content content;
    es_rx_epoch *next = NULL, *dropped = NULL;
    esession_result_kind kind = ESESSION_RESULT_MESSAGE;
    esession_status error = ESESSION_OK, rc;
    size_t key_len = 0, mac_len = 0;
    const uint8_t *key = es_c_key(st->copen, &key_len);
    const uint8_t *mac = es_c_mac(st->copen, &mac_len);
    uint64_t end = off + es_c_blocks(st->copen);

    memset(&content, 0, sizeof content);
    memset(&out, 0, sizeof out);
    es_rx_counter(s, off, S);
    /* The reference check, whatever the search found (unless the caller
     * has just made it). */
    if ((rc = es_rx_epoch_keyed(ep)) != ESESSION_OK)
        return rc;
    rc = checked ? es_c_decrypt_verified(ctx, st->copen, ep->chan, S, &plain)
                 : es_c_decrypt(ctx, st->copen, ep->chan, S, &plain);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_rx_content_read(ctx, (const uint8_t *)plain.data, plain.len, &content);
    if (content_error(rc)) {
        kind = ESESSION_RESULT_ERROR;
        error = rc;
    } else if (rc != ESESSION_OK) {
        goto fail;
    } else if (content.terminate) {
        kind = ESESSION_RESULT_TERMINATED;
    }
    if (key != NULL) {
        rc = rekey(r, s, key, key_len, end, &next);
        if (content_error(rc) && kind != ESESSION_RESULT_ERROR) {
            kind = ESESSION_RESULT_ERROR;
            error = rc;
        } else if (rc != ESESSION_OK && !content_error(rc) && rc != ESESSION_ERR_UNKNOWN_OPTIONS) {
            goto fail;
        }
        /* Without x (destroyed) the stanza still opens; what follows it
         * under the new keys cannot, and ends up reported as bad-mac. */
    }
    if (!deliver)
        kind = ESESSION_RESULT_DUPLICATE;
    if ((rc = es_rx_result_init(&out, tag, kind, error, st)) != ESESSION_OK ||
        (rc = es_rx_mac_reserve(s)) != ESESSION_OK)
        goto fail;
    if (kind == ESESSION_RESULT_MESSAGE &&
        (rc = es_rx_message_id(s->bare, s->thread, S, out.id)) != ESESSION_OK)
        goto fail;

    /* One change, written before anything is reported; undone if the
     * write fails. */
    before = s->core;
    es_rx_range_add(&s->core, off, end);
    es_rx_mac_add(s, mac, mac_len, saved);
    if (next != NULL)
        es_rx_epoch_add(&s->core, next, &dropped);
    if (kind == ESESSION_RESULT_TERMINATED || terminate_after)
        s->core.terminated = 1;
    taken = held_index >= 0 ? es_rx_held_take(&s->core, (size_t)held_index) : NULL;
    if (kind == ESESSION_RESULT_MESSAGE || kind == ESESSION_RESULT_TERMINATED) {
        memcpy(out.counter, S, ES_AES_BLOCK);
        out.has_created = content.has_created;
        out.created = content.created;
        out.profile = content.profile;
        key_of(r, s, &out);
    }
    if (kind == ESESSION_RESULT_MESSAGE) {
        out.plaintext = plain;
        plain = (esession_buf){NULL, 0, 0};
    }
    /* The state and, for a message, its inbox entry: both or neither. */
    if ((rc = es_tx_begin(r->ks, 1)) == ESESSION_OK) {
        rc = es_rx_state_save(r->ks, s);
        if (rc == ESESSION_OK && kind == ESESSION_RESULT_MESSAGE)
            rc = es_rx_inbox_put(r->ks, &out);
        rc = es_tx_end(r->ks, rc);
    }
    if (rc != ESESSION_OK) {
        s->core = before;
        es_rx_mac_undo(s, &before, saved); /* the held list comes back with the core */
        goto fail;
    }
    es_rx_epoch_free(dropped);
    sodium_memzero(saved, sizeof saved);
    esession_buf_free(&plain);
    *res = out;
    es_rx_held_free(taken); /* st may be its stanza: released last */
    return ESESSION_OK;

fail:
    es_rx_epoch_free(next); /* never part of the session after a failure */
    esession_result_free(&out);
    esession_buf_free(&plain);
    sodium_memzero(saved, sizeof saved);
    return rc;
}
