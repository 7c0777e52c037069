/* SPDX-License-Identifier: ISC */
/* libsignal-protocol-c, in memory, as the peer for asynchronous
 * sessions: X3DH from a pre-key bundle (the initiator processing it and
 * encrypting a first message, the responder decrypting that message) and
 * a 1 KiB message one way on an established session. Bench-only. */
#include "bench.h"
#include "signal_glue.h"

#include <key_helper.h>
#include <protocol.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>

#include <stdlib.h>
#include <string.h>

#define BATCH 8u

struct bench_signal {
    signal_context *gc;
    bench_signal_account *init, *resp;     /* X3DH rounds */
    bench_signal_account *sender, *reader; /* the message session */
    session_cipher *send_c, *read_c;
    uint32_t next_id;
    char *msg;
    size_t msg_len;
};

static const signal_protocol_address to_resp = {"responder", 9, 1};
static const signal_protocol_address to_init = {"initiator", 9, 1};

/* The responder's bundle, with a fresh one-time pre-key and signed
 * pre-key stored on its side. */
static session_pre_key_bundle *bundle_of(bench_signal *s, bench_signal_account *resp)
{
    ec_key_pair *pair = NULL;
    session_pre_key *pk = NULL;
    session_signed_pre_key *spk = NULL;
    session_pre_key_bundle *b = NULL;
    uint32_t id = ++s->next_id;
    if (curve_generate_key_pair(s->gc, &pair) != 0 || session_pre_key_create(&pk, id, pair) != 0 ||
        signal_protocol_key_helper_generate_signed_pre_key(&spk, bench_signal_identity(resp), id,
                                                           1700000000000ull, s->gc) != 0 ||
        signal_protocol_pre_key_store_key(bench_signal_stores(resp), pk) != 0 ||
        signal_protocol_signed_pre_key_store_key(bench_signal_stores(resp), spk) != 0 ||
        session_pre_key_bundle_create(
            &b, bench_signal_registration(resp), 1, id, ec_key_pair_get_public(pair), id,
            ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)),
            session_signed_pre_key_get_signature(spk), session_signed_pre_key_get_signature_len(spk),
            ratchet_identity_key_pair_get_public(bench_signal_identity(resp))) != 0)
        bench_fail("libsignal: cannot make a pre-key bundle");
    SIGNAL_UNREF(pair);
    SIGNAL_UNREF(pk);
    SIGNAL_UNREF(spk);
    return b;
}

/* Initiator: X3DH from the bundle and the first message (serialized). */
static signal_buffer *initiate(bench_signal *s, bench_signal_account *init,
                               session_pre_key_bundle *b, const char *text, size_t len,
                               session_cipher **keep)
{
    session_builder *builder = NULL;
    session_cipher *c = NULL;
    ciphertext_message *m = NULL;
    if (session_builder_create(&builder, bench_signal_stores(init), &to_resp, s->gc) != 0 ||
        session_builder_process_pre_key_bundle(builder, b) != 0 ||
        session_cipher_create(&c, bench_signal_stores(init), &to_resp, s->gc) != 0 ||
        session_cipher_encrypt(c, (const uint8_t *)text, len, &m) != 0)
        bench_fail("libsignal: X3DH (initiator) failed");
    signal_buffer *wire = signal_buffer_copy(ciphertext_message_get_serialized(m));
    SIGNAL_UNREF(m);
    session_builder_free(builder);
    if (keep != NULL)
        *keep = c;
    else
        session_cipher_free(c);
    return wire;
}

/* Decrypt a message of either kind with c; the plaintext's length. */
static size_t open_wire(bench_signal *s, session_cipher *c, signal_buffer *wire, int prekey)
{
    signal_buffer *plain = NULL;
    int rc;
    if (prekey) {
        pre_key_signal_message *m = NULL;
        rc = pre_key_signal_message_deserialize(&m, signal_buffer_data(wire),
                                                signal_buffer_len(wire), s->gc);
        if (rc == 0)
            rc = session_cipher_decrypt_pre_key_signal_message(c, m, NULL, &plain);
        SIGNAL_UNREF(m);
    } else {
        signal_message *m = NULL;
        rc = signal_message_deserialize(&m, signal_buffer_data(wire), signal_buffer_len(wire),
                                        s->gc);
        if (rc == 0)
            rc = session_cipher_decrypt_signal_message(c, m, NULL, &plain);
        SIGNAL_UNREF(m);
    }
    if (rc != 0 || plain == NULL)
        bench_fail("libsignal: decryption failed (%d)", rc);
    size_t n = signal_buffer_len(plain);
    signal_buffer_bzero_free(plain);
    return n;
}

bench_signal *bench_signal_new(void)
{
    bench_signal *s = calloc(1, sizeof *s);
    if (s == NULL)
        bench_fail("out of memory");
    if (signal_context_create(&s->gc, NULL) != 0 ||
        signal_context_set_crypto_provider(s->gc, &bench_signal_crypto) != 0)
        bench_fail("libsignal: no context");
    s->init = bench_signal_account_new(s->gc, 1001);
    s->resp = bench_signal_account_new(s->gc, 1002);
    s->sender = bench_signal_account_new(s->gc, 1003);
    s->reader = bench_signal_account_new(s->gc, 1004);
    s->msg = bench_message(1024, &s->msg_len);
    /* The message session: established once, first message read. */
    session_pre_key_bundle *b = bundle_of(s, s->reader);
    signal_buffer *wire = initiate(s, s->sender, b, "hello", 5, &s->send_c);
    if (session_cipher_create(&s->read_c, bench_signal_stores(s->reader), &to_init, s->gc) != 0)
        bench_fail("libsignal: no cipher");
    (void)open_wire(s, s->read_c, wire, 1);
    signal_buffer_free(wire);
    SIGNAL_UNREF(b);
    return s;
}

void bench_signal_free(bench_signal *s)
{
    if (s == NULL)
        return;
    session_cipher_free(s->send_c);
    session_cipher_free(s->read_c);
    bench_signal_account_free(s->init);
    bench_signal_account_free(s->resp);
    bench_signal_account_free(s->sender);
    bench_signal_account_free(s->reader);
    signal_context_destroy(s->gc);
    free(s->msg);
    free(s);
}

void bench_signal_x3dh(bench_signal *s, double *initiator, double *responder)
{
    static const char first[] = "hello";
    session_cipher *c = NULL;
    bench_signal_forget_sessions(s->init);
    bench_signal_forget_sessions(s->resp);
    session_pre_key_bundle *b = bundle_of(s, s->resp);
    double t0 = bench_cpu_us();
    signal_buffer *wire = initiate(s, s->init, b, first, sizeof first - 1, NULL);
    double t1 = bench_cpu_us();
    if (session_cipher_create(&c, bench_signal_stores(s->resp), &to_init, s->gc) != 0)
        bench_fail("libsignal: no cipher");
    size_t n = open_wire(s, c, wire, 1);
    double t2 = bench_cpu_us();
    if (n != sizeof first - 1)
        bench_fail("libsignal: X3DH message garbled");
    session_cipher_free(c);
    signal_buffer_free(wire);
    SIGNAL_UNREF(b);
    *initiator = t1 - t0;
    *responder = t2 - t1;
}

double bench_signal_message(bench_signal *s)
{
    double t0 = bench_cpu_us();
    for (unsigned i = 0; i < BATCH; i++) {
        ciphertext_message *m = NULL;
        if (session_cipher_encrypt(s->send_c, (const uint8_t *)s->msg, s->msg_len, &m) != 0)
            bench_fail("libsignal: cannot encrypt");
        int prekey = ciphertext_message_get_type(m) == CIPHERTEXT_PREKEY_TYPE;
        signal_buffer *wire = ciphertext_message_get_serialized(m);
        if (open_wire(s, s->read_c, wire, prekey) != s->msg_len)
            bench_fail("libsignal: message garbled");
        SIGNAL_UNREF(m);
    }
    return (bench_cpu_us() - t0) / BATCH;
}
