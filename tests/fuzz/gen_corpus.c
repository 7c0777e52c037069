/* SPDX-License-Identifier: ISC */
/* gen_corpus: write the library-made seeds of tests/fuzz/corpus/ (make
 * fuzz-corpus). The stanzas of fuzz_stanza_open come from the very session
 * its LLVMFuzzerInitialize builds (fz_open_session_make, deterministic), so
 * they open there; the other seeds are real publications, records and
 * payloads. Seeds copied from vectors/ are not touched. */
#include "fuzz_common.h"

#include "../../store/ks.h"
#include "../../session/receiver.h"
#include "../../session/sender.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fz_die(path);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fz_die(path);
}

static void put_str(const char *target, const char *name, const char *s)
{
    put(target, name, s, strlen(s));
}

/* A selector octet, then data: the input of the multi-mode targets. */
static void put_mode(const char *target, const char *name, uint8_t mode, const void *data,
                     size_t len)
{
    uint8_t *b = malloc(len + 1);
    if (b == NULL)
        fz_die("out of memory");
    b[0] = mode;
    memcpy(b + 1, data, len);
    put(target, name, b, len + 1);
    free(b);
}

/* Stanzas joined by NUL octets (fuzz_stanza_open's sequences). */
static void put_seq(const char *name, const esession_buf *st, const int *order, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += st[order[i]].len + 1;
    char *b = malloc(len), *p = b;
    if (b == NULL)
        fz_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        memcpy(p, st[order[i]].data, st[order[i]].len);
        p += st[order[i]].len;
        *p++ = '\0';
    }
    put("fuzz_stanza_open", name, b, len - 1);
    free(b);
}

/* ---- fuzz_stanza_open, and the session records of fuzz_records -------- */

static esession_status save_inbox(void *arg, const char *name, const uint8_t *data, size_t len,
                                  uint64_t version)
{
    (void)arg;
    (void)name;
    (void)version;
    put_mode("fuzz_records", "inbox_message", 5, data, len);
    return ESESSION_ERR_LIMIT; /* one is enough */
}

static esession_status save_rx(void *arg, const char *name, const uint8_t *data, size_t len,
                               uint64_t version)
{
    (void)name;
    (void)version;
    put_mode("fuzz_records", (const char *)arg, 0, data, len);
    return ESESSION_OK;
}

static void gen_stanza_open(void)
{
    fz_open_session o;
    char name[32];
    fz_open_session_make(&o);
    for (size_t i = 0; i < FZ_OPEN_STANZAS; i++) {
        snprintf(name, sizeof name, "stanza%zu", i);
        put("fuzz_stanza_open", name, o.stanza[i].data, o.stanza[i].len);
    }
    put("fuzz_stanza_open", "other_init", o.other_init.data, o.other_init.len);
    static const int all[] = {1, 2, 3, 4, 5, 6, 7};
    static const int reverse[] = {6, 5, 4, 3, 2, 1};
    static const int dup[] = {1, 1, 0, 2, 3, 3};
    put_seq("seq_all", o.stanza, all, 7);
    put_seq("seq_reverse", o.stanza, reverse, 6);
    put_seq("seq_duplicates", o.stanza, dup, 6);

    if (es_ks_blob_list(o.alice.ks, ES_RX_BLOB_PREFIX, save_rx, "rx_open") != ESESSION_OK ||
        es_ks_blob_list(o.alice.ks, ES_RX_INBOX_PREFIX, save_inbox, NULL) != ESESSION_ERR_LIMIT)
        fz_die("session records");
    /* Stanzas 1 and 3 re-key: 2 and 4 are held until 1 and 3 open. */
    fz_feed_drain(o.receiver, o.stanza[4].data, o.stanza[4].len, 1);
    fz_feed_drain(o.receiver, o.stanza[2].data, o.stanza[2].len, 2);
    fz_check(es_ks_blob_list(o.alice.ks, ES_RX_BLOB_PREFIX, save_rx, "rx_two_held"), NULL,
             "list");
    if (fz_feed_drain(o.receiver, o.stanza[1].data, o.stanza[1].len, 3) != 2)
        fz_die("stanza 1 did not release stanza 2");
    fz_check(es_ks_blob_list(o.alice.ks, ES_RX_BLOB_PREFIX, save_rx, "rx_two_epochs"), NULL,
             "list");
    for (size_t i = 0; i < FZ_OPEN_STANZAS; i++)
        esession_buf_free(&o.stanza[i]);
    esession_buf_free(&o.other_init);
    esession_receiver_free(o.receiver);
    fz_party_free(&o.alice);
}

/* ---- fuzz_options_items, Bob's records, item payloads, forms ----------- */

static void put_items(const char *name, const char *payload)
{
    char *items = fz_items_result(payload);
    put_str("fuzz_options_items", name, items);
    put_str("fuzz_cli_split", name, items);
    free(items);
}

static void put_item_payloads(esession_keystore *ks)
{
    esession_buf b = {NULL, 0, 0};
    if (esession_keystore_key_count(ks) < 1 || esession_trust_count(ks) < 1 ||
        esession_optset_count(ks) < 1)
        fz_die("keystore items");
    fz_check(es_ks_key_encode(NULL, ks->keys.v[0], &b), NULL, "key");
    put_mode("fuzz_records", "key", 2, b.data, b.len);
    esession_buf_free(&b);
    fz_check(es_ks_trust_encode(NULL, ks->trust.v[0], &b), NULL, "trust");
    put_mode("fuzz_records", "trust", 3, b.data, b.len);
    esession_buf_free(&b);
    fz_check(es_ks_optset_encode(NULL, ks->optsets.v[0], &b), NULL, "optset");
    put_mode("fuzz_records", "optset", 4, b.data, b.len);
    esession_buf_free(&b);
}

typedef struct record_seed {
    const char *name;
    uint8_t mode;
} record_seed;

static esession_status save_first(void *arg, const char *name, const uint8_t *data, size_t len,
                                  uint64_t version)
{
    const record_seed *seed = arg;
    (void)name;
    (void)version;
    put_mode("fuzz_records", seed->name, seed->mode, data, len);
    return ESESSION_ERR_LIMIT; /* one is enough */
}

/* Bob's session record before and after his first stanza, and an outbox
 * record. */
static void put_sender_records(const esession_publication *pub)
{
    fz_party bob = fz_bob("gen_bob.ks");
    esession_sender *s = fz_start(&bob, pub, 3);
    static const char msg[] = "<message to='" FZ_ALICE "/pda'><body>b</body></message>";
    record_seed pending = {"sender_init_pending", 1}, sealed = {"sender_sealed", 1},
                outbox = {"outbox_stanza", 6};
    esession_buf st = {NULL, 0, 0};
    es_ks_blob_list(bob.ks, ES_SENDER_BLOB_PREFIX, save_first, &pending);
    fz_check(esession_sender_seal(s, msg, sizeof msg - 1, &st), bob.ctx, "seal");
    es_ks_blob_list(bob.ks, ES_SENDER_BLOB_PREFIX, save_first, &sealed);
    es_ks_blob_list(bob.ks, ES_SENDER_OUTBOX_PREFIX, save_first, &outbox);
    esession_buf_free(&st);
    esession_sender_free(s);
    fz_party_free(&bob);
}

static void gen_items(void)
{
    static const int weak[] = {5, 14}, one[] = {15};
    static const char *const aes128[] = {"aes128-ctr"}, *const sha512[] = {"sha512"};
    esession_publication pub[3];
    esession_publish_options o[3] = {ESESSION_PUBLISH_OPTIONS_INIT, ESESSION_PUBLISH_OPTIONS_INIT,
                                     ESESSION_PUBLISH_OPTIONS_INIT};
    static const char *const names[3] = {"default_rsa_dsa", "weak_match_resource", "group15"};

    fz_reseed(8);
    fz_party alice = fz_alice("gen_alice.ks");
    esession_key *dsa = fz_key(alice.ctx, "vec_dsa_alice.pem");
    fz_check(esession_keystore_add_key(alice.ks, dsa), alice.ctx, "add key");
    esession_key_free(dsa);
    o[1].groups = weak;
    o[1].n_groups = 2;
    o[1].allow_weak_groups = 1;
    o[1].ciphers = aes128;
    o[1].n_ciphers = 1;
    o[1].hashes = sha512;
    o[1].n_hashes = 1;
    o[1].rekey_freq = 7;
    o[1].match_resource = "pda";
    o[2].groups = one;
    o[2].n_groups = 1;
    o[2].lifetime = 60;
    for (size_t i = 0; i < 3; i++) {
        fz_check(esession_publish(alice.ctx, alice.ks, &o[i], &pub[i]), alice.ctx, "publish");
        put_items(names[i], pub[i].form.data);
        put_mode("fuzz_forms", names[i], 0, pub[i].form.data, pub[i].form.len);
    }
    put_str("fuzz_cli_split", "publish_iq", pub[0].publish_iq.data);
    put_str("fuzz_cli_split", "create_iq", pub[0].create_iq.data);
    put_items("empty_item", "");
    put_str("fuzz_options_items", "error",
            "<iq type='error' from='" FZ_ALICE "' id='" FZ_IQ_ID "'><error type='auth'>"
            "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<presence-subscription-required xmlns='http://jabber.org/protocol/pubsub#errors'/>"
            "</error></iq>");
    put_str("fuzz_options_items", "no_items",
            "<iq type='result' from='" FZ_ALICE "' id='" FZ_IQ_ID "'><pubsub xmlns='http://"
            "jabber.org/protocol/pubsub'><items node='" FZ_NODE "'/></pubsub></iq>");
    put_item_payloads(alice.ks);
    put_sender_records(&pub[1]);
    for (size_t i = 0; i < 3; i++)
        esession_publication_free(&pub[i]);
    fz_party_free(&alice);
}

/* ---- fuzz_seal_open ------------------------------------------------------ */

static void gen_seal_open(void)
{
    static const char plain[] = "\x00hello\0second message\0caf\xc3\xa9 & <b> \r\n end";
    static const char rekey_reverse[] = "\x14one\0two\0three\0four\0five";
    static const char twice[] = "\x19" "a\0\0" "c";
    static const char raw[] = "\x21<body>x</body><active xmlns='http://jabber.org/protocol/"
                              "chatstates'/>\0<subject>s</subject><body a='1'>y</body>\0"
                              "<html xmlns='http://jabber.org/protocol/xhtml-im'><body "
                              "xmlns='http://www.w3.org/1999/xhtml'><p>z</p></body></html>";
    put("fuzz_seal_open", "plain", plain, sizeof plain - 1);
    put("fuzz_seal_open", "rekey_reverse_terminate", rekey_reverse, sizeof rekey_reverse - 1);
    put("fuzz_seal_open", "twice", twice, sizeof twice - 1);
    put("fuzz_seal_open", "raw", raw, sizeof raw - 1);
}

/* ---- text seeds of fuzz_forms ------------------------------------------- */

static void gen_forms(void)
{
    static const char *const datetimes[] = {"2026-01-01T00:00:00Z",
                                            "1969-12-31T23:59:59.999999Z",
                                            "2024-02-29T12:30:00+14:00",
                                            "0001-01-01T00:00:00-02:30"};
    static const char *const b64[] = {"", "Zg==", "Zm9v YmFy\r\n", "AAECAwQFBgcICQ=="};
    char name[32];
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "datetime%zu", i);
        put_mode("fuzz_forms", name, 1, datetimes[i], strlen(datetimes[i]));
        snprintf(name, sizeof name, "base64_%zu", i);
        put_mode("fuzz_forms", name, 2, b64[i], strlen(b64[i]));
    }
    static const char content[] =
        "<body>hi</body><headers xmlns='http://jabber.org/protocol/shim'><header "
        "name='Created'>2026-01-01T00:00:00Z</header></headers>";
    put_mode("fuzz_forms", "content", 3, content, sizeof content - 1);
    put_mode("fuzz_forms", "content_terminate", 3, es_sender_term_content,
             strlen(es_sender_term_content));
    static const char message[] =
        "<message xmlns='jabber:client' to='" FZ_ALICE "/pda' type='chat'><thread>t</thread>"
        "<body>x</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";
    put_mode("fuzz_forms", "message", 4, message, sizeof message - 1);
    static const char form[] =
        "<x xmlns='jabber:x:data' type='submit'><title>t</title><field var='FORM_TYPE' "
        "type='hidden'><value>urn:xmpp:ssn</value></field><field var='b' type='boolean'>"
        "<value>1</value></field><field var='l' type='list-multi'><required/><value>a</value>"
        "<option label='A'><value>a</value></option><option><value>b&amp;c</value></option>"
        "</field><field type='fixed'><value>f</value></field><field var='j' "
        "type='jid-multi'><value>a@b</value><value>c@d</value></field></x>";
    put_mode("fuzz_forms", "form_submit", 0, form, sizeof form - 1);

    esession_ctx *ctx = fz_ctx();
    static const char *const keys[] = {"vec_rsa_bob.pem", "vec_dsa_bob.pem"};
    for (size_t i = 0; i < 2; i++) {
        esession_key *k = fz_key(ctx, keys[i]);
        esession_buf kv = {NULL, 0, 0};
        fz_check(esession_key_to_keyvalue(ctx, k, &kv), ctx, "keyvalue");
        put_mode("fuzz_forms", i == 0 ? "keyvalue_rsa" : "keyvalue_dsa", 5, kv.data, kv.len);
        esession_buf_free(&kv);
        esession_key_free(k);
    }
    esession_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        fz_die(out_dir);
    gen_stanza_open();
    gen_items();
    gen_seal_open();
    gen_forms();
    return 0;
}
