/* SPDX-License-Identifier: ISC */
/* The whole offline flow in one process, with the public API only: Alice
 * publishes her options and goes offline, Bob fetches them, seals three
 * messages, Alice comes back and opens them. Where a real client talks to
 * its server, this program hands the stanza across directly (see
 * strophe_client.c for that part).
 *
 *   cc offline_flow.c $(pkg-config --cflags --libs esession) -o offline_flow
 *   ./offline_flow [DIR]      (keystores in DIR, default a new one in /tmp)
 */
#include <esession.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALICE "alice@example.org"
#define BOB "bob@example.com"
#define BOB_FULL "bob@example.com/laptop"
#define NODE "http://www.xmpp.org/extensions/xep-0187.html#ns"

static int check(const char *what, esession_ctx *ctx, esession_status st)
{
    if (st == ESESSION_OK)
        return 0;
    fprintf(stderr, "offline_flow: %s: %s (%s)\n", what, esession_status_name(st),
            ctx != NULL ? esession_ctx_error_detail(ctx) : "");
    return -1;
}

#define TRY(what, ctx, call) do { if (check(what, ctx, call) != 0) goto out; } while (0)

/* A keystore with one new RSA signing key, at the cheapest KDF cost: this
 * is a demonstration; a real client keeps the default. */
static esession_status new_party(esession_ctx *ctx, const char *path, const char *pass,
                                 esession_keystore **ks, esession_key **key)
{
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    o.kdf_opslimit = 1;
    o.kdf_memlimit = 8192;
    esession_status st = esession_keystore_create(ctx, ks, path, pass, strlen(pass), &o);
    if (st == ESESSION_OK)
        st = esession_key_generate(ctx, key, ESESSION_KEY_RSA, 2048);
    if (st == ESESSION_OK)
        st = esession_keystore_add_key(*ks, *key);
    return st;
}

/* What Alice's server answers to Bob's PEP request: her published form. */
static char *server_answer(const char *id, const esession_buf *form)
{
    size_t n = form->len + 512;
    char *iq = malloc(n);
    if (iq != NULL)
        snprintf(iq, n, "<iq type='result' from='" ALICE "' to='" BOB_FULL "' id='%s'>"
                        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" NODE
                        "'><item id='current'>%s</item></items></pubsub></iq>",
                 id, form->data);
    return iq;
}

int main(int argc, char **argv)
{
    static const char *const texts[] = {"Are we still on for Friday?", "I'll bring the maps.",
                                        "And the thermos."};
    char dir[256], apath[300], bpath[300];
    esession_ctx *actx = NULL, *bctx = NULL;
    esession_keystore *aks = NULL, *bks = NULL;
    esession_key *akey = NULL, *bkey = NULL;
    esession_publication pub;
    esession_sender *s = NULL;
    esession_receiver *r = NULL;
    esession_buf iq = {0}, stanza[3] = {{0}, {0}, {0}};
    char *answer = NULL, id[ESESSION_IQ_ID_MAX];
    int opened = 0, ok = 0;

    memset(&pub, 0, sizeof pub);
    if (argc > 1)
        snprintf(dir, sizeof dir, "%s", argv[1]);
    else if (snprintf(dir, sizeof dir, "/tmp/esession-example-XXXXXX") < 0 || !mkdtemp(dir))
        return 1;
    snprintf(apath, sizeof apath, "%s/alice.ks", dir);
    snprintf(bpath, sizeof bpath, "%s/bob.ks", dir);

    /* One context per party here; a client has one for its account. */
    TRY("context", NULL, esession_ctx_new(&actx, NULL, ESESSION_VERSION_MAJOR,
                                          ESESSION_VERSION_MINOR));
    TRY("context", NULL, esession_ctx_new(&bctx, NULL, ESESSION_VERSION_MAJOR,
                                          ESESSION_VERSION_MINOR));
    TRY("Alice's keystore", actx, new_party(actx, apath, "alice's passphrase", &aks, &akey));
    TRY("Bob's keystore", bctx, new_party(bctx, bpath, "bob's passphrase", &bks, &bkey));
    /* Out of band, each learns the other's public key. */
    TRY("trust", actx, esession_trust_add(aks, BOB, bkey, "Bob", NULL));
    TRY("trust", bctx, esession_trust_add(bks, ALICE, akey, "Alice", NULL));

    /* Alice, before going offline: her exponents are stored before any IQ
     * exists; she sends pub.create_iq and pub.publish_iq to her server. */
    TRY("publish", actx, esession_publish(actx, aks, NULL, &pub));

    /* Bob: the request he sends, and the server's answer. */
    TRY("fetch", bctx, esession_fetch_options_iq(bctx, ALICE, &iq, id));
    if ((answer = server_answer(id, &pub.form)) == NULL)
        goto out;
    TRY("start", bctx, esession_sender_start(bctx, bks, BOB_FULL, ALICE, id, answer,
                                             strlen(answer), NULL, &s));
    for (size_t i = 0; i < 3; i++) {
        char msg[256];
        snprintf(msg, sizeof msg, "<message to='" ALICE "' type='chat'><body>%s</body></message>",
                 texts[i]);
        /* On failure nothing may be sent: never the message in the clear. */
        TRY("seal", bctx, esession_sender_seal(s, msg, strlen(msg), &stanza[i]));
        /* ... the client sends stanza[i] instead of msg; once the server
         * has it (an XEP-0198 ack, or a round trip): */
        TRY("sent", bctx, esession_sender_sent(bctx, bks, &stanza[i]));
    }

    /* Alice is back: first what an earlier run left unconfirmed, then the
     * stored stanzas as the server delivers them. */
    TRY("receiver", actx, esession_receiver_new(actx, aks, &r));
    TRY("pending", actx, esession_receiver_pending(r, NULL));
    for (size_t i = 0; i < 3; i++) {
        esession_result res;
        TRY("feed", actx, esession_receiver_feed(r, stanza[i].data, stanza[i].len, i));
        while (esession_receiver_next(r, &res)) {
            if (res.kind == ESESSION_RESULT_MESSAGE) {
                /* Store the message, keyed by res.id, then confirm it. */
                printf("%s (thread %s, id %s): %s\n", res.from.data, res.thread.data, res.id,
                       res.plaintext.data);
                opened += strstr(res.plaintext.data, texts[i]) != NULL;
                if (check("confirm", actx, esession_receiver_confirm(r, &res)) != 0) {
                    esession_result_free(&res);
                    goto out;
                }
            } else {
                printf("stanza %llu: %s\n", (unsigned long long)res.tag,
                       esession_status_name(res.error));
            }
            esession_result_free(&res);
        }
    }
    ok = opened == 3;
    printf("%d of 3 messages opened\n", opened);
out:
    for (size_t i = 0; i < 3; i++)
        esession_buf_free(&stanza[i]);
    free(answer);
    esession_buf_free(&iq);
    esession_receiver_free(r);
    esession_sender_free(s);
    esession_publication_free(&pub);
    esession_key_free(akey);
    esession_key_free(bkey);
    esession_keystore_free(aks);
    esession_keystore_free(bks);
    esession_ctx_free(actx);
    esession_ctx_free(bctx);
    if (argc <= 1) {
        static const char *const files[] = {"alice.ks", "bob.ks"};
        for (size_t i = 0; i < 2; i++) {
            char p[320];
            snprintf(p, sizeof p, "%s/%s", dir, files[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return ok ? 0 : 1;
}
