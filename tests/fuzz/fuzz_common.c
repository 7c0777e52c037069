/* SPDX-License-Identifier: ISC */
#include "fuzz_common.h"

#include "../../session/receiver.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FZ_DATA_DIR
#define FZ_DATA_DIR "tests/data"
#endif

/* ---- guarded memory ------------------------------------------------------ */

/* The library keeps secrets in sodium_malloc memory: pages of their own,
 * which LeakSanitizer does not scan (so objects referenced only from there
 * look leaked) and where ASan sees no overflow. These definitions take the
 * place of libsodium's for the library linked into the targets: plain heap
 * memory under ASan, and no page protection. */
void *sodium_malloc(const size_t size)
{
    return malloc(size > 0 ? size : 1);
}

void sodium_free(void *ptr)
{
    free(ptr);
}

int sodium_mprotect_noaccess(void *ptr)
{
    (void)ptr;
    return 0;
}

int sodium_mprotect_readonly(void *ptr)
{
    (void)ptr;
    return 0;
}

int sodium_mprotect_readwrite(void *ptr)
{
    (void)ptr;
    return 0;
}

/* ---- deterministic host operations ------------------------------------ */

static uint8_t stream_key[crypto_stream_chacha20_ietf_KEYBYTES];
static uint64_t stream_calls;

void fz_reseed(uint64_t seed)
{
    memset(stream_key, 0, sizeof stream_key);
    memcpy(stream_key, &seed, sizeof seed);
    stream_calls = 0;
}

static int fz_random(void *user, uint8_t *buf, size_t len)
{
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    (void)user;
    memcpy(nonce, &stream_calls, sizeof stream_calls);
    stream_calls++;
    crypto_stream_chacha20_ietf(buf, len, nonce, stream_key);
    return 0;
}

static int64_t fz_now(void *user)
{
    (void)user;
    return FZ_NOW;
}

static const esession_host_ops fz_ops = {.random = fz_random, .now = fz_now};

void fz_die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

void fz_check(esession_status st, esession_ctx *ctx, const char *what)
{
    if (st == ESESSION_OK)
        return;
    fprintf(stderr, "fuzz: %s: %s (%s)\n", what, esession_status_name(st),
            ctx != NULL ? esession_ctx_error_detail(ctx) : "");
    abort();
}

esession_ctx *fz_ctx(void)
{
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    esession_ctx *ctx = NULL;
    o.ops = &fz_ops;
    fz_check(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR), NULL,
             "context");
    return ctx;
}

/* ---- files ------------------------------------------------------------- */

static char tmp_dir[64];

static void remove_dir(void)
{
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    char path[320];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(tmp_dir);
}

const char *fz_dir(void)
{
    if (tmp_dir[0] != '\0')
        return tmp_dir;
    snprintf(tmp_dir, sizeof tmp_dir, "/dev/shm/esession-fuzz-XXXXXX");
    if (access("/dev/shm", W_OK) != 0 || mkdtemp(tmp_dir) == NULL) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/esession-fuzz-XXXXXX");
        if (mkdtemp(tmp_dir) == NULL)
            fz_die("mkdtemp");
    }
    atexit(remove_dir);
    return tmp_dir;
}

esession_keystore *fz_keystore(esession_ctx *ctx, const char *name)
{
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    esession_keystore *ks = NULL;
    char path[320];
    o.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    o.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    fz_check(esession_keystore_create(ctx, &ks, path, "fuzz", 4, &o), ctx, path);
    return ks;
}

esession_key *fz_key(esession_ctx *ctx, const char *file)
{
    char path[512], pem[16384];
    snprintf(path, sizeof path, "%s/%s", FZ_DATA_DIR, file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fz_die(path);
    size_t n = fread(pem, 1, sizeof pem, f);
    fclose(f);
    esession_key *k = NULL;
    fz_check(esession_key_from_pem(ctx, &k, pem, n), ctx, path);
    return k;
}

/* ---- the two parties ---------------------------------------------------- */

static fz_party party(const char *ks_name, const char *own, const char *peer_jid,
                      const char *peer)
{
    fz_party p;
    unsigned alerts;
    p.ctx = fz_ctx();
    p.ks = fz_keystore(p.ctx, ks_name);
    esession_key *mine = fz_key(p.ctx, own), *theirs = fz_key(p.ctx, peer);
    fz_check(esession_keystore_add_key(p.ks, mine), p.ctx, "add key");
    fz_check(esession_trust_add(p.ks, peer_jid, theirs, "", &alerts), p.ctx, "trust");
    esession_key_free(mine);
    esession_key_free(theirs);
    return p;
}

fz_party fz_alice(const char *ks_name)
{
    return party(ks_name, "vec_rsa_alice.pem", FZ_BOB_BARE, "vec_rsa_bob.pem");
}

fz_party fz_bob(const char *ks_name)
{
    return party(ks_name, "vec_rsa_bob.pem", FZ_ALICE, "vec_rsa_alice.pem");
}

void fz_party_free(fz_party *p)
{
    esession_keystore_free(p->ks);
    esession_ctx_free(p->ctx);
    p->ks = NULL;
    p->ctx = NULL;
}

char *fz_items_result(const char *payload)
{
    static const char head[] = "<iq type='result' from='" FZ_ALICE "' to='" FZ_BOB
                               "' id='" FZ_IQ_ID "'><pubsub xmlns='http://jabber.org/"
                               "protocol/pubsub'><items node='" FZ_NODE "'><item id='current'>";
    static const char tail[] = "</item></items></pubsub></iq>";
    size_t n = strlen(payload);
    char *s = malloc(sizeof head + n + sizeof tail);
    if (s == NULL)
        fz_die("out of memory");
    memcpy(s, head, sizeof head - 1);
    memcpy(s + sizeof head - 1, payload, n);
    memcpy(s + sizeof head - 1 + n, tail, sizeof tail);
    return s;
}

void fz_publish(fz_party *alice, int group, esession_publication *pub)
{
    esession_publish_options o = ESESSION_PUBLISH_OPTIONS_INIT;
    o.groups = &group;
    o.n_groups = 1;
    o.allow_weak_groups = 1;
    o.rekey_freq = 1;
    fz_check(esession_publish(alice->ctx, alice->ks, &o, pub), alice->ctx, "publish");
}

esession_sender *fz_start(fz_party *bob, const esession_publication *pub, uint32_t rekey_freq)
{
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    esession_sender *s = NULL;
    char *items = fz_items_result(pub->form.data);
    o.rekey_freq = rekey_freq;
    o.allow_weak_groups = 1;
    fz_check(esession_sender_start(bob->ctx, bob->ks, FZ_BOB, FZ_ALICE, FZ_IQ_ID, items,
                                   strlen(items), &o, &s),
             bob->ctx, "start");
    free(items);
    return s;
}

char *fz_message(const char *body, size_t len)
{
    static const char head[] = "<message to='" FZ_ALICE "' type='chat'><body>";
    static const char tail[] = "</body></message>";
    char *s = malloc(sizeof head + 6 * len + sizeof tail), *p;
    if (s == NULL)
        fz_die("out of memory");
    memcpy(s, head, sizeof head - 1);
    p = s + sizeof head - 1;
    for (size_t i = 0; i < len; i++) {
        const char *esc = body[i] == '&' ? "&amp;" : body[i] == '<' ? "&lt;"
                        : body[i] == '>' ? "&gt;" : body[i] == '\r' ? "&#13;" : NULL;
        if (esc != NULL) {
            memcpy(p, esc, strlen(esc));
            p += strlen(esc);
        } else {
            *p++ = body[i];
        }
    }
    memcpy(p, tail, sizeof tail);
    return s;
}

esession_status fz_seal(fz_party *bob, esession_sender *s, const char *msg, esession_buf *out)
{
    esession_buf st = {NULL, 0, 0};
    esession_status rc = esession_sender_seal(s, msg, strlen(msg), &st);
    if (rc == ESESSION_OK)
        fz_check(esession_sender_sent(bob->ctx, bob->ks, &st), bob->ctx, "sent");
    *out = st;
    return rc;
}

esession_receiver *fz_receiver(fz_party *p)
{
    esession_receiver *r = NULL;
    fz_check(esession_receiver_new(p->ctx, p->ks, &r), p->ctx, "receiver");
    es_rx_set_window(r, FZ_WINDOW);
    return r;
}

void fz_bob_reset(fz_party *bob)
{
    esession_buf term = {NULL, 0, 0}, *unsent = NULL;
    size_t n = 0;
    fz_check(esession_sender_peer_online(bob->ctx, bob->ks, FZ_ALICE, &term), bob->ctx,
             "peer_online");
    esession_buf_free(&term);
    fz_check(esession_outbox_unsent(bob->ctx, bob->ks, NULL, &unsent, &n), bob->ctx, "unsent");
    for (size_t i = 0; i < n; i++)
        fz_check(esession_sender_sent(bob->ctx, bob->ks, &unsent[i]), bob->ctx, "sent");
    esession_outbox_free(unsent, n);
}

size_t fz_feed_drain(esession_receiver *r, const char *stanza, size_t len, uint64_t tag)
{
    esession_result res;
    size_t messages = 0;
    if (esession_receiver_feed(r, stanza, len, tag) != ESESSION_OK)
        fz_die("receiver_feed refused a stanza");
    while (esession_receiver_next(r, &res)) {
        messages += res.kind == ESESSION_RESULT_MESSAGE;
        esession_result_free(&res);
    }
    return messages;
}

/* ---- the session of fuzz_stanza_open ------------------------------------ */

static const char *const open_messages[FZ_OPEN_STANZAS - 1] = {
    "<message to='" FZ_ALICE "' type='chat'><body>hello</body></message>",
    "<message to='" FZ_ALICE "' type='chat'><body>caf\xc3\xa9 &amp; &lt;tags&gt; \"q\" "
    "\xf0\x9f\x99\x82</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    "<message to='" FZ_ALICE "'><subject>re</subject><body>normal</body>"
    "<thread>t1</thread></message>",
    "<message to='" FZ_ALICE "' type='chat'><body>x</body><html "
    "xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>"
    "<p>x <em>y</em></p></body></html></message>",
    "<message to='" FZ_ALICE "/pda' type='chat'><x xmlns='jabber:x:data' type='form'>"
    "<field var='a' type='text-single'><value>1</value></field></x></message>",
    "<message to='" FZ_ALICE "' type='chat'><foo xmlns='urn:example:foo' a='1'>"
    "<bar/>text</foo><body>last</body></message>",
    "<message to='" FZ_ALICE "' type='chat'><body></body>"
    "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
};

void fz_open_session_make(fz_open_session *o)
{
    esession_publication pub;
    memset(o, 0, sizeof *o);
    fz_reseed(1);
    o->alice = fz_alice("alice.ks");
    fz_party bob = fz_bob("bob.ks");
    fz_publish(&o->alice, 14, &pub);

    esession_sender *s = fz_start(&bob, &pub, 2);
    for (size_t i = 0; i + 1 < FZ_OPEN_STANZAS; i++)
        fz_check(fz_seal(&bob, s, open_messages[i], &o->stanza[i]), bob.ctx, open_messages[i]);
    fz_check(esession_sender_terminate(s, &o->stanza[FZ_OPEN_STANZAS - 1]), bob.ctx,
             "terminate");
    esession_sender_free(s);

    s = fz_start(&bob, &pub, 2);
    fz_check(fz_seal(&bob, s, open_messages[0], &o->other_init), bob.ctx, "second init");
    esession_sender_free(s);

    o->receiver = fz_receiver(&o->alice);
    if (fz_feed_drain(o->receiver, o->stanza[0].data, o->stanza[0].len, 0) != 1)
        fz_die("the first stanza did not open");
    esession_publication_free(&pub);
    fz_party_free(&bob);
}
