/* SPDX-License-Identifier: ISC */
/* The decoders of keystore records (authenticated before they are
 * decoded, so damage here means a bug or a hostile passphrase holder):
 * one selector octet (mod 7), then the record.
 *   0  Alice's session record (es_rx_state_load; the record name is taken
 *      from the JID and thread inside, so that a good record loads)
 *   1  Bob's session record (es_sender_state_decode); round trip: a
 *      decoded record of the current format version encodes to the same
 *      octets
 *   2  signing key, 3 trust entry, 4 option set payloads
 *      (es_ks_*_decode); the same round trip
 *   5  an inbox record, stored in a batch and read by
 *      esession_receiver_pending, then rolled back
 *   6  an outbox record, the same way through esession_outbox_unsent */
#include "fuzz_common.h"

#include "../../core/bytes.h"
#include "../../session/receiver.h"
#include "../../session/sender.h"
#include "../../store/ks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static esession_ctx *ctx;
static esession_keystore *ks;
static esession_receiver *receiver;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_reseed(7);
    fz_party alice = {fz_ctx(), NULL};
    alice.ks = fz_keystore(alice.ctx, "records.ks");
    receiver = fz_receiver(&alice);
    ctx = alice.ctx;
    ks = alice.ks;
    return 0;
}

static void same(const uint8_t *p, size_t n, const esession_buf *b, const char *what)
{
    if (b->len != n || memcmp(b->data, p, n) != 0) {
        fprintf(stderr, "%s: a decoded record encodes differently\n", what);
        abort();
    }
}

/* The record name es_rx_state_load expects for the JID and thread the
 * record holds (layout in session/recv_state.c). */
static void rx_name(const uint8_t *p, size_t n, char name[ES_BLOB_NAME_MAX + 1])
{
    es_rd r = {p, n, 0, 0};
    es_rd_take(&r, 5);
    es_rd_take(&r, (size_t)es_rd_be(&r, 1));
    size_t bl = (size_t)es_rd_be(&r, 2);
    const uint8_t *bare = es_rd_take(&r, bl);
    size_t tl = (size_t)es_rd_be(&r, 2);
    const uint8_t *thread = es_rd_take(&r, tl);
    snprintf(name, ES_BLOB_NAME_MAX + 1, "%sx/y", ES_RX_BLOB_PREFIX);
    if (r.bad)
        return;
    char *b = strndup((const char *)bare, bl), *t = strndup((const char *)thread, tl);
    if (b == NULL || t == NULL)
        fz_die("out of memory");
    (void)es_rx_name_for(b, t, name);
    free(b);
    free(t);
}

static void rx_mode(const uint8_t *p, size_t n)
{
    char name[ES_BLOB_NAME_MAX + 1];
    es_rx_session *s = NULL;
    rx_name(p, n, name);
    if (es_rx_state_load(ctx, name, p, n, &s) == ESESSION_OK)
        es_rx_session_free(s);
}

static void sender_mode(const uint8_t *p, size_t n)
{
    es_sender_info info;
    es_sender_progress *prog = malloc(sizeof *prog);
    esession_buf b = {NULL, 0, 0};
    if (prog == NULL)
        fz_die("out of memory");
    memset(&info, 0, sizeof info);
    if (es_sender_state_decode(ctx, p, n, &info, prog) == ESESSION_OK) {
        fz_check(es_sender_state_encode(ctx, &info, prog, &b), ctx, "encode");
        /* An earlier format version is read, and written as the current one. */
        if (b.len > 4 && n > 4 && b.data[4] == (char)p[4])
            same(p, n, &b, "sender state");
        esession_buf_free(&b);
        es_sender_info_clear(&info);
    }
    free(prog);
}

/* Decode, encode, compare, free: one item kind. */
#define ITEM_MODE(name, type, decode, encode, item_free)                 \
    static void name(const uint8_t *p, size_t n)                          \
    {                                                                     \
        type *item = NULL;                                                \
        esession_buf b = {NULL, 0, 0};                                    \
        if (decode(ctx, p, n, &item) != ESESSION_OK)                      \
            return;                                                       \
        fz_check(encode(ctx, item, &b), ctx, #encode);                    \
        same(p, n, &b, #decode);                                          \
        esession_buf_free(&b);                                            \
        item_free(item);                                                  \
    }

ITEM_MODE(key_mode, es_ks_key, es_ks_key_decode, es_ks_key_encode, es_ks_key_free)
ITEM_MODE(trust_mode, es_ks_trust, es_ks_trust_decode, es_ks_trust_encode, es_ks_trust_free)
ITEM_MODE(optset_mode, es_ks_optset, es_ks_optset_decode, es_ks_optset_encode,
          es_ks_optset_free)

/* Store the record under name in a batch, read it back through the
 * public call, drop the batch. */
static void stored_mode(const char *name, const uint8_t *p, size_t n, int inbox)
{
    esession_result res;
    esession_buf *v = NULL;
    size_t count = 0;
    fz_check(esession_keystore_begin(ks), ctx, "begin");
    if (es_ks_blob_put(ks, name, p, n) == ESESSION_OK) {
        if (inbox && esession_receiver_pending(receiver, &count) == ESESSION_OK) {
            while (esession_receiver_next(receiver, &res))
                esession_result_free(&res);
        } else if (!inbox && esession_outbox_unsent(ctx, ks, NULL, &v, &count) == ESESSION_OK) {
            esession_outbox_free(v, count);
        }
    }
    esession_keystore_rollback(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 7) {
    case 0:
        rx_mode(p, n);
        break;
    case 1:
        sender_mode(p, n);
        break;
    case 2:
        key_mode(p, n);
        break;
    case 3:
        trust_mode(p, n);
        break;
    case 4:
        optset_mode(p, n);
        break;
    case 5:
        stored_mode(ES_RX_INBOX_PREFIX "0123456789abcdef0123456789abcdef", p, n, 1);
        break;
    default:
        stored_mode(ES_SENDER_OUTBOX_PREFIX "fuzz", p, n, 0);
        break;
    }
    return 0;
}
