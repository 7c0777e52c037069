/* SPDX-License-Identifier: ISC */
/* xmpp-send: Bob writes to Alice while she is offline (XEP-0187 §3.2, §3.3)
 * over a real server: fetch her options from PEP, verify them, seal each
 * message, send; the server stores them for her. */
#include "xcmd.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: esessionctl xmpp-send -j JID [account options] [-k PATH] [--terminate]\n"
    "                             [--rekey-freq N] [--allow-weak-groups] CONTACT\n"
    "                             [MESSAGE...|-]\n"
    "Log in, continue the open session with CONTACT or start one from the offline\n"
    "options CONTACT published (their signature is checked against the keys you\n"
    "trust for CONTACT), send each MESSAGE encrypted as a chat <body>, and log out\n"
    "once the server has taken every stanza. '-' or no MESSAGE: one message per\n"
    "non-empty line of standard input.\n"
    "  --terminate             end the session after the messages (its keys are erased)\n"
    "  --rekey-freq N          your re-key frequency preference (default 100)\n"
    "  --allow-weak-groups     accept MODP groups below 2048 bits\n" XOPT_HELP XCMD_KS_HELP;

enum { O_TERMINATE = 1, O_REKEY, O_WEAK };

#define PRESENCE_WAIT_MS 400u

typedef struct xsend {
    xopts x;
    esession_sender_options so;
    int terminate;
    esession_buf *out; /* stanzas sent this run, to mark sent once the server has them */
    char (*ids)[33];   /* the id each was sent with */
    size_t n_out, cap_out;
} xsend;

/* The id a stanza is sent with: a hash of its text, so that the same
 * stanza sent again by a later run has the same id, and a bounce names
 * the stanza it returns. The id is outside everything Alice checks. */
static void stanza_id(const esession_buf *stanza, char id[33])
{
    uint8_t h[16];
    crypto_generichash(h, sizeof h, (const uint8_t *)stanza->data, stanza->len, NULL, 0);
    sodium_bin2hex(id, 33, h, sizeof h);
}

/* Send a stanza with its id and remember it until the server's answer. */
static int send_kept(cli *c, xconn *x, xsend *o, const esession_buf *stanza)
{
    static const char head[] = "<message ";
    if (o->n_out == o->cap_out) {
        size_t cap = o->cap_out ? 2 * o->cap_out : 16;
        esession_buf *v = realloc(o->out, cap * sizeof *v);
        char(*ids)[33] = v != NULL ? realloc(o->ids, cap * sizeof *ids) : NULL;
        if (v != NULL)
            o->out = v;
        if (ids == NULL) {
            cli_err(c, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        o->ids = ids;
        o->cap_out = cap;
    }
    char *id = o->ids[o->n_out];
    stanza_id(stanza, id);
    int rc;
    char *from = NULL;
    size_t from_len = 0;
    if (stanza->len > sizeof head - 1 && memcmp(stanza->data, head, sizeof head - 1) == 0 &&
        xcmd_restamp(stanza->data, stanza->len, xconn_jid(x), &from, &from_len) == 0) {
        /* From this connection's resource (the session may have begun on
         * another), with its id; both outside everything Alice checks. */
        size_t n = from_len + 48;
        char *text = malloc(n);
        if (text == NULL) {
            free(from);
            cli_err(c, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        int k = snprintf(text, n, "<message id='%s' %s", id, from + sizeof head - 1);
        free(from);
        rc = xconn_send(x, text, (size_t)k);
        free(text);
    } else {
        rc = xconn_send(x, stanza->data, stanza->len);
    }
    if (rc == CLI_OK) {
        o->out[o->n_out] = *stanza;
        o->n_out++;
    }
    return rc;
}

/* What the server took leaves the outbox; what it bounced stays there
 * for the next run to send again, and is reported: Bob is never told
 * "sent" for a stanza Alice will not get. */
static int settle(cli *c, xconn *x, xsend *o, const char *to)
{
    int rc = CLI_OK;
    size_t bounced = 0, first = 0;
    const char *why = NULL;
    for (size_t i = 0; i < o->n_out; i++) {
        const char *cond = xconn_bounced(x, o->ids[i]);
        if (cond != NULL) {
            bounced++;
            why = cond;
            first += strstr(o->out[i].data, "<init xmlns=") != NULL;
            continue;
        }
        esession_status st = esession_sender_sent(c->ctx, c->ks, &o->out[i]);
        if (st != ESESSION_OK && rc == CLI_OK)
            rc = cli_fail(c, st, "cannot mark a stanza sent");
    }
    size_t unknown = xconn_message_errors(x) > bounced ? xconn_message_errors(x) - bounced : 0;
    if (bounced > 0) {
        cli_err(c, "the server did not store %zu stanza%s for %s (%s); kept in the outbox, the next "
                   "xmpp-send sends %s again%s", bounced, bounced == 1 ? "" : "s", to, why,
                bounced == 1 ? "it" : "them",
                first ? "; it holds the session's first stanza: nothing of this session can be "
                        "read until it is delivered" : "");
        if (rc == CLI_OK)
            rc = CLI_EXIT_IO;
    }
    if (unknown > 0 && rc == CLI_OK) {
        cli_err(c, "the server bounced %zu message%s it could not name", unknown,
                unknown == 1 ? "" : "s");
        rc = CLI_EXIT_IO;
    }
    return rc;
}

/* Stanzas sealed by an earlier run that never reached the server. */
static int send_unsent(cli *c, xconn *x, xsend *o, const char *to)
{
    esession_buf *v = NULL;
    size_t n = 0;
    esession_status st = esession_outbox_unsent(c->ctx, c->ks, to, &v, &n);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot read the outbox");
    if (n > 0)
        cli_warn(c, "%zu stanza%s sealed earlier for %s never reached the server; sent first", n,
                 n == 1 ? "" : "s", to);
    int rc = CLI_OK;
    size_t i = 0;
    for (; rc == CLI_OK && i < n; i++) {
        rc = send_kept(c, x, o, &v[i]);
        if (rc == CLI_OK)
            v[i] = (esession_buf){NULL, 0, 0}; /* now in o->out */
    }
    esession_outbox_free(v, n);
    return rc;
}

static int opt(cli *c, int id, const char *arg, void *u)
{
    xsend *o = u;
    unsigned long long v;
    int r = xopts_take(c, &o->x, id, arg);
    if (r >= 0)
        return r;
    switch (id) {
    case O_TERMINATE: o->terminate = 1; return 0;
    case O_WEAK: o->so.allow_weak_groups = 1; return 0;
    case O_REKEY:
        if (cli_parse_uint(arg, 1, 0xffffffffull, &v) != 0)
            return cli_usage_error(c, "--rekey-freq is a number from 1 to 4294967295");
        o->so.rekey_freq = (uint32_t)v;
        return 0;
    default:
        return cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
    }
}

/* Our presence goes out with a negative priority, so that the server
 * tells us who is online without delivering our own stored messages to
 * this connection (RFC 6121 §8.5.2.1.1); the round trip lets the
 * contacts' presence arrive. */
static int watch_presence(xconn *x)
{
    static const char p[] = "<presence><priority>-1</priority></presence>";
    int rc = xconn_send(x, p, sizeof p - 1);
    if (rc == CLI_OK)
        rc = xconn_sync(x);
    /* The contacts' presence comes from their sessions, not in step with
     * our round trip: a moment more for it. */
    return rc == CLI_OK ? xconn_idle(x, PRESENCE_WAIT_MS) : rc;
}

/* Alice is online: end the offline session with her, if one is open (its
 * termination goes out like any stanza, kept until the server has it). */
static int end_for_online(cli *c, xconn *x, xsend *o, const char *to)
{
    esession_buf out = {0};
    esession_status st = esession_sender_peer_online(c->ctx, c->ks, to, &out);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot end the offline session");
    int rc = CLI_OK;
    if (out.len > 0) {
        cli_warn(c, "%s is online: the offline session with %s is ended (XEP-0187 §5)", to,
                 to);
        if ((rc = send_kept(c, x, o, &out)) == CLI_OK)
            out = (esession_buf){NULL, 0, 0}; /* now in o->out */
    }
    esession_buf_free(&out);
    return rc;
}

/* The open session with `to`, or a new one from the options it published. */
static int session(cli *c, xconn *x, const xsend *o, const char *to, esession_sender **s)
{
    esession_status st = esession_sender_resume(c->ctx, c->ks, to, s);
    if (st == ESESSION_OK)
        return CLI_OK;
    if (st != ESESSION_ERR_NO_SESSION)
        return cli_fail(c, st, "cannot continue the session");
    /* The presence subscribers' node first; refused there (no
     * subscription) or empty, the open node (XEP-0187 §3.2). Neither: the
     * subscribers' node's answer is the one reported. */
    xconn_answer first;
    esession_status first_st = ESESSION_OK;
    int rc = CLI_OK;
    memset(&first, 0, sizeof first);
    for (int open = 0; open <= 1; open++) {
        esession_buf iq = {0};
        char id[ESESSION_IQ_ID_MAX];
        st = open ? esession_fetch_open_options_iq(c->ctx, to, &iq, id)
                  : esession_fetch_options_iq(c->ctx, to, &iq, id);
        if (st != ESESSION_OK) {
            rc = cli_fail(c, st, "cannot build the request for the options");
            break;
        }
        xconn_answer ans;
        rc = xconn_iq(x, iq.data, iq.len, id, &ans);
        esession_buf_free(&iq);
        if (rc != CLI_OK)
            break;
        esession_sender_options so = o->so;
        so.open_node = open;
        /* The library reads error answers too (no options, forbidden, ...). */
        st = esession_sender_start(c->ctx, c->ks, xconn_jid(x), to, id, ans.text, ans.len, &so,
                                   s);
        int absent = st == ESESSION_ERR_PUBSUB || st == ESESSION_ERR_NO_OPTIONS;
        if (!open && absent) {
            first = ans; /* kept for the report */
            first_st = st;
            continue;
        }
        const xconn_answer *why = open && absent ? &first : &ans;
        esession_status why_st = open && absent ? first_st : st;
        if (st == ESESSION_OK) {
            rc = CLI_OK;
            if (open)
                cli_warn(c, "%s: using the options of the open node (the presence subscribers' "
                            "node gave none)", to);
        } else if (why->is_error && why_st == ESESSION_ERR_PUBSUB) {
            rc = xcmd_refused(c, "reading the contact's offline options", why);
        } else {
            rc = cli_start_failed(c, why_st, to);
        }
        xconn_answer_free(&ans);
        break;
    }
    xconn_answer_free(&first);
    return rc;
}

/* Alice's options expired under the open session (XEP-0187 §3.2: Bob MUST
 * NOT send under them): end it without a word to her (she discards what
 * comes under expired options) and start again from what she publishes
 * now. */
static int restart_expired(cli *c, xconn *x, xsend *o, const char *to, esession_sender **s)
{
    esession_buf out = {0};
    esession_status st = esession_sender_terminate(*s, &out);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot end the expired session");
    /* Its termination would only be discarded: out of the outbox unsent. */
    if (out.len > 0 && (st = esession_sender_sent(c->ctx, c->ks, &out)) != ESESSION_OK) {
        esession_buf_free(&out);
        return cli_fail(c, st, "cannot end the expired session");
    }
    esession_buf_free(&out);
    esession_sender_free(*s);
    *s = NULL;
    cli_warn(c, "%s's offline options expired: that session is ended; starting a new one from "
                "the options published now", to);
    return session(c, x, o, to, s);
}

static int send_sealed(cli *c, xconn *x, xsend *o, esession_sender **sp, const char *to,
                       const char *text, size_t len)
{
    char *msg = NULL;
    size_t mlen = 0;
    int rc = cli_text_message(c, to, text, len, &msg, &mlen);
    if (rc != CLI_OK)
        return rc;
    esession_buf out = {0};
    esession_status st = esession_sender_seal(*sp, msg, mlen, &out);
    if (st == ESESSION_ERR_EXPIRED) {
        rc = restart_expired(c, x, o, to, sp);
        st = rc == CLI_OK ? esession_sender_seal(*sp, msg, mlen, &out) : ESESSION_OK;
    }
    cli_free_wiped(msg, mlen);
    if (rc != CLI_OK)
        return rc;
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot seal the message");
    rc = send_kept(c, x, o, &out);
    if (rc != CLI_OK)
        esession_buf_free(&out); /* still in the outbox for the next run */
    return rc;
}

/* Messages from stdin: one per non-empty line. */
static int send_lines(cli *c, xconn *x, xsend *o, esession_sender **s, const char *to,
                      size_t *sent)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_input(c, "-", CLI_INPUT_MAX, &text, &len);
    for (size_t i = 0; rc == CLI_OK && i < len;) {
        size_t k = i;
        while (k < len && text[k] != '\n')
            k++;
        size_t e = k > i && text[k - 1] == '\r' ? k - 1 : k;
        if (e > i) {
            rc = send_sealed(c, x, o, s, to, text + i, e - i);
            *sent += rc == CLI_OK;
        }
        i = k + 1;
    }
    cli_free_wiped(text, len); /* the messages, in the clear */
    return rc;
}

int cmd_xmpp_send(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, XOPT_DEFS,
                                      {"terminate", 0, OPT_ARG_NONE, O_TERMINATE},
                                      {"rekey-freq", 0, OPT_ARG_REQUIRED, O_REKEY},
                                      {"allow-weak-groups", 0, OPT_ARG_NONE, O_WEAK},
                                      CLI_OPT_END};
    cli c;
    xsend o;
    memset(&o, 0, sizeof o);
    xopts_init(&o.x);
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    o.so = so;
    cli_begin(&c, "xmpp-send", usage);
    const char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
    if (pos == NULL) {
        cli_err(&c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    size_t npos = 0;
    int rc = cli_parse_args(&c, argc, argv, defs, pos, (size_t)argc, &npos, opt, &o);
    if (rc == CLI_OK)
        rc = xopts_check(&c, &o.x);
    if (rc == CLI_OK && npos == 0)
        rc = cli_usage_error(&c, "the contact's bare JID is required");
    if (rc == CLI_OK && !cli_bare_jid_ok(pos[0]))
        rc = cli_usage_error(&c, "'%s' is not a bare JID", pos[0]);
    if (rc != CLI_OK) {
        free(pos);
        return cli_parse_exit(&c, rc);
    }
    const char *to = pos[0];
    xconn *x = NULL;
    esession_sender *s = NULL;
    size_t sent = 0;
    int online = 0;
    if ((rc = cli_open_keystore(&c)) == CLI_OK && (rc = xopts_connect(&c, &o.x, &x)) == CLI_OK)
        rc = watch_presence(x);
    if (rc == CLI_OK)
        rc = send_unsent(&c, x, &o, to);
    /* XEP-0187 §5: Alice online, the offline session ends. */
    if (rc == CLI_OK && (online = xconn_available(x, to)) != 0 &&
        (rc = end_for_online(&c, x, &o, to)) == CLI_OK) {
        cli_err(&c, "%s is online: offline sessions are for contacts who are not (XEP-0187 §5); "
                    "no message was sent. To write while %s is online: esessionctl xmpp-chat %s",
                to, to, to);
        rc = CLI_EXIT_REJECTED;
    }
    if (rc == CLI_OK)
        rc = session(&c, x, &o, to, &s);
    if (rc != CLI_OK || s == NULL) {
        /* nothing to seal with */
    } else if (npos == 1 || (npos == 2 && strcmp(pos[1], "-") == 0)) {
        rc = send_lines(&c, x, &o, &s, to, &sent);
    } else {
        for (size_t i = 1; rc == CLI_OK && i < npos; i++) {
            rc = send_sealed(&c, x, &o, &s, to, pos[i], strlen(pos[i]));
            sent += rc == CLI_OK;
        }
    }
    if (rc == CLI_OK && !o.terminate && s != NULL && (rc = xconn_sync(x)) == CLI_OK &&
        xconn_available(x, to)) {
        /* She came online while we sent: the session ends after them. */
        o.terminate = 1;
        online = 1;
        cli_warn(&c, "%s came online: the offline session is ended after these messages "
                     "(XEP-0187 §5)", to);
    }
    if (rc == CLI_OK && o.terminate) {
        esession_buf out = {0};
        esession_status st = esession_sender_terminate(s, &out);
        if (st != ESESSION_OK)
            rc = cli_fail(&c, st, "cannot end the session");
        else if (out.len > 0 && (rc = send_kept(&c, x, &o, &out)) == CLI_OK)
            out = (esession_buf){NULL, 0, 0}; /* now in o.out */
        esession_buf_free(&out);
    }
    /* The server has taken (or bounced) every stanza once the ping
     * returns. Taken: out of the outbox. Bounced, or no answer (a broken
     * connection, a crash): they stay there, and the next run sends them
     * again. */
    if (x != NULL && o.n_out > 0 && xconn_sync(x) == CLI_OK) {
        int r = settle(&c, x, &o, to);
        if (rc == CLI_OK)
            rc = r;
    } else if (o.n_out > 0 && rc == CLI_OK) {
        rc = CLI_EXIT_IO; /* the server's answer never came: all kept */
    }
    esession_outbox_free(o.out, o.n_out);
    free(o.ids);
    if (s != NULL)
        printf("sent %zu message%s to %s (thread %s)%s\n", sent, sent == 1 ? "" : "s", to,
               esession_sender_thread(s), rc == CLI_OK && o.terminate ? "; session ended" : "");
    esession_sender_free(s);
    xconn_close(x);
    free(pos);
    return cli_end(&c, rc);
}
