/* SPDX-License-Identifier: ISC */
/* Where esession sits in a real XMPP client (libstrophe): the library does
 * no I/O, the client moves its stanzas. Two jobs:
 *
 *   strophe_client JID PASSWORD KEYSTORE PASSPHRASE --to CONTACT TEXT
 *       Bob: fetch CONTACT's offline options (PEP), start or resume the
 *       session, send TEXT encrypted, and mark it sent once the server
 *       has answered a ping sent after it.
 *   strophe_client JID PASSWORD KEYSTORE PASSPHRASE
 *       Alice: come online and open the stored messages the server
 *       delivers for ten seconds, confirming each once printed.
 *
 *   cc strophe_client.c $(pkg-config --cflags --libs esession libstrophe)
 *
 * A demonstration: the password and passphrase come from the command line
 * and errors end the program; esessionctl's xmpp-* commands are the
 * careful version of the same flow. */
#include <esession.h>
#include <strophe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client {
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_receiver *r;
    const char *to, *text;
    esession_buf sealed;   /* the stanza sent, until the server has it */
    char fetch_id[ESESSION_IQ_ID_MAX];
    int done, failed;
} client;

static void fail(client *c, xmpp_conn_t *conn, const char *what, esession_status st)
{
    fprintf(stderr, "strophe_client: %s: %s (%s)\n", what, esession_status_name(st),
            esession_ctx_error_detail(c->ctx));
    c->failed = 1;
    xmpp_disconnect(conn);
}

/* The server answered the ping sent after the message: it has it. */
static int on_pong(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
    client *c = arg;
    (void)st;
    esession_status rc = esession_sender_sent(c->ctx, c->ks, &c->sealed);
    if (rc != ESESSION_OK)
        fail(c, conn, "sent", rc);
    else
        printf("sent to %s\n", c->to);
    c->done = 1;
    xmpp_disconnect(conn);
    return 0;
}

/* Bob: the options arrived; seal and send instead of the plain message. */
static int on_options(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
    client *c = arg;
    char *text = NULL;
    size_t len = 0;
    esession_sender *s = NULL;
    if (xmpp_stanza_to_text(st, &text, &len) != XMPP_EOK)
        return 0;
    esession_status rc = esession_sender_resume(c->ctx, c->ks, c->to, &s);
    if (rc == ESESSION_ERR_NO_SESSION)
        rc = esession_sender_start(c->ctx, c->ks, xmpp_conn_get_bound_jid(conn), c->to,
                                   c->fetch_id, text, len, NULL, &s);
    xmpp_free(xmpp_conn_get_context(conn), text);
    char msg[1024];
    snprintf(msg, sizeof msg, "<message to='%s' type='chat'><body>%s</body></message>", c->to,
             c->text);
    if (rc == ESESSION_OK)
        rc = esession_sender_seal(s, msg, strlen(msg), &c->sealed);
    esession_sender_free(s);
    if (rc != ESESSION_OK) {
        /* Nothing leaves: never the message in the clear. */
        fail(c, conn, "seal", rc);
        return 0;
    }
    xmpp_send_raw(conn, c->sealed.data, c->sealed.len);
    xmpp_stanza_t *ping = xmpp_iq_new(xmpp_conn_get_context(conn), "get", "esession-ping");
    xmpp_stanza_t *p = xmpp_stanza_new(xmpp_conn_get_context(conn));
    xmpp_stanza_set_name(p, "ping");
    xmpp_stanza_set_ns(p, "urn:xmpp:ping");
    xmpp_stanza_add_child(ping, p);
    xmpp_stanza_release(p);
    xmpp_id_handler_add(conn, on_pong, "esession-ping", c);
    xmpp_send(conn, ping);
    xmpp_stanza_release(ping);
    return 0;
}

/* Alice: every <message/> the server delivers goes to the receiver as it
 * came; a plain one is for the client's ordinary path. */
static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
    client *c = arg;
    char *text = NULL;
    size_t len = 0;
    esession_result res;
    if (xmpp_stanza_get_child_by_ns(st, "http://www.xmpp.org/extensions/xep-0200.html#ns") ==
            NULL ||
        xmpp_stanza_to_text(st, &text, &len) != XMPP_EOK)
        return 1;
    esession_status rc = esession_receiver_feed(c->r, text, len, 0);
    xmpp_free(xmpp_conn_get_context(conn), text);
    if (rc != ESESSION_OK) {
        fail(c, conn, "feed", rc);
        return 0;
    }
    while (esession_receiver_next(c->r, &res)) {
        if (res.kind == ESESSION_RESULT_MESSAGE) {
            printf("%s: %s\n", res.from.data, res.plaintext.data); /* stored by the client */
            if ((rc = esession_receiver_confirm(c->r, &res)) != ESESSION_OK)
                fail(c, conn, "confirm", rc);
        } else if (res.kind == ESESSION_RESULT_ERROR) {
            printf("discarded: %s\n", esession_status_name(res.error));
        }
        esession_result_free(&res);
    }
    return 1;
}

static void on_connect(xmpp_conn_t *conn, xmpp_conn_event_t ev, int err,
                       xmpp_stream_error_t *se, void *arg)
{
    client *c = arg;
    (void)err;
    (void)se;
    if (ev != XMPP_CONN_CONNECT) {
        xmpp_stop(xmpp_conn_get_context(conn));
        return;
    }
    if (c->to != NULL) {
        esession_buf iq = {0};
        esession_status rc = esession_fetch_options_iq(c->ctx, c->to, &iq, c->fetch_id);
        if (rc != ESESSION_OK) {
            fail(c, conn, "fetch", rc);
            return;
        }
        xmpp_id_handler_add(conn, on_options, c->fetch_id, c);
        xmpp_send_raw(conn, iq.data, iq.len);
        esession_buf_free(&iq);
        return;
    }
    /* Alice: what an earlier run left unconfirmed first, then presence,
     * after which the server delivers what it stored. */
    esession_result res;
    if (esession_receiver_pending(c->r, NULL) == ESESSION_OK)
        while (esession_receiver_next(c->r, &res)) {
            printf("%s (again): %s\n", res.from.data, res.plaintext.data);
            esession_status rc = esession_receiver_confirm(c->r, &res);
            esession_result_free(&res);
            if (rc != ESESSION_OK) {
                fail(c, conn, "confirm", rc);
                return;
            }
        }
    xmpp_handler_add(conn, on_message, NULL, "message", NULL, c);
    xmpp_stanza_t *pres = xmpp_presence_new(xmpp_conn_get_context(conn));
    xmpp_send(conn, pres);
    xmpp_stanza_release(pres);
}

int main(int argc, char **argv)
{
    client c;
    memset(&c, 0, sizeof c);
    if (argc != 5 && !(argc == 8 && strcmp(argv[5], "--to") == 0)) {
        fprintf(stderr, "usage: %s JID PASSWORD KEYSTORE PASSPHRASE [--to CONTACT TEXT]\n",
                argv[0]);
        return 2;
    }
    if (argc == 8) {
        c.to = argv[6];
        c.text = argv[7];
    }
    esession_status rc = esession_ctx_new(&c.ctx, NULL, ESESSION_VERSION_MAJOR,
                                          ESESSION_VERSION_MINOR);
    if (rc == ESESSION_OK)
        rc = esession_keystore_open(c.ctx, &c.ks, argv[3], argv[4], strlen(argv[4]));
    if (rc == ESESSION_OK && c.to == NULL)
        rc = esession_receiver_new(c.ctx, c.ks, &c.r);
    if (rc != ESESSION_OK) {
        fprintf(stderr, "strophe_client: %s (%s)\n", esession_status_name(rc),
                c.ctx ? esession_ctx_error_detail(c.ctx) : "");
        return 1;
    }
    xmpp_initialize();
    xmpp_ctx_t *xctx = xmpp_ctx_new(NULL, NULL);
    xmpp_conn_t *conn = xmpp_conn_new(xctx);
    xmpp_conn_set_flags(conn, XMPP_CONN_FLAG_MANDATORY_TLS);
    xmpp_conn_set_jid(conn, argv[1]);
    xmpp_conn_set_pass(conn, argv[2]);
    if (xmpp_connect_client(conn, NULL, 0, on_connect, &c) == XMPP_EOK) {
        /* Receiving: ten seconds; sending: until the server answered. */
        for (int i = 0; i < 100 && !c.done && !c.failed; i++)
            xmpp_run_once(xctx, 100);
        xmpp_disconnect(conn);
        xmpp_run_once(xctx, 100);
    } else {
        c.failed = 1;
    }
    xmpp_conn_release(conn);
    xmpp_ctx_free(xctx);
    xmpp_shutdown();
    esession_buf_free(&c.sealed);
    esession_receiver_free(c.r);
    esession_keystore_free(c.ks);
    esession_ctx_free(c.ctx);
    return c.failed ? 1 : 0;
}
