/* SPDX-License-Identifier: ISC */
/* xmpp-send: Bob writes to Alice while she is offline (XEP-0187 §3.2, §3.3)
 * over a real server: fetch her options from PEP, verify them, seal each
 * message, send; the server stores them for her. */
#include "xcmd.h"

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

typedef struct xsend {
    xopts x;
    esession_sender_options so;
    int terminate;
    esession_buf *out; /* stanzas sent this run, to mark sent once the server has them */
    size_t n_out, cap_out;
} xsend;

/* Send a stanza and remember it until the server's answer. */
static int send_kept(cli *c, xconn *x, xsend *o, const esession_buf *stanza)
{
    if (o->n_out == o->cap_out) {
        size_t cap = o->cap_out ? 2 * o->cap_out : 16;
        esession_buf *v = realloc(o->out, cap * sizeof *v);
        if (v == NULL) {
            cli_err(c, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        o->out = v;
        o->cap_out = cap;
    }
    int rc = xconn_send(x, stanza->data, stanza->len);
    if (rc == CLI_OK) {
        o->out[o->n_out] = *stanza;
        o->n_out++;
    }
    return rc;
}

/* Everything the server took leaves the outbox. */
static int mark_sent(cli *c, xsend *o)
{
    int rc = CLI_OK;
    for (size_t i = 0; i < o->n_out; i++) {
        esession_status st = esession_sender_sent(c->ctx, c->ks, &o->out[i]);
        if (st != ESESSION_OK && rc == CLI_OK)
            rc = cli_fail(c, st, "cannot mark a stanza sent");
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

/* The open session with `to`, or a new one from the options it published. */
static int session(cli *c, xconn *x, const xsend *o, const char *to, esession_sender **s)
{
    esession_status st = esession_sender_resume(c->ctx, c->ks, to, s);
    if (st == ESESSION_OK)
        return CLI_OK;
    if (st != ESESSION_ERR_NO_SESSION)
        return cli_fail(c, st, "cannot continue the session");
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    st = esession_fetch_options_iq(c->ctx, to, &iq, id);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot build the request for the options");
    xconn_answer ans;
    int rc = xconn_iq(x, iq.data, iq.len, id, &ans);
    esession_buf_free(&iq);
    if (rc != CLI_OK)
        return rc;
    /* The library reads error answers too (no options, forbidden, ...). */
    st = esession_sender_start(c->ctx, c->ks, xconn_jid(x), to, id, ans.text, ans.len, &o->so, s);
    if (st != ESESSION_OK)
        rc = ans.is_error && st == ESESSION_ERR_PUBSUB
                 ? xcmd_refused(c, "reading the contact's offline options", &ans)
                 : cli_start_failed(c, st, to);
    xconn_answer_free(&ans);
    return rc;
}

static int send_sealed(cli *c, xconn *x, xsend *o, esession_sender *s, const char *to,
                       const char *text, size_t len)
{
    char *msg = NULL;
    size_t mlen = 0;
    int rc = cli_text_message(c, to, text, len, &msg, &mlen);
    if (rc != CLI_OK)
        return rc;
    esession_buf out = {0};
    esession_status st = esession_sender_seal(s, msg, mlen, &out);
    cli_free_wiped(msg, mlen);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot seal the message");
    rc = send_kept(c, x, o, &out);
    if (rc != CLI_OK)
        esession_buf_free(&out); /* still in the outbox for the next run */
    return rc;
}

/* Messages from stdin: one per non-empty line. */
static int send_lines(cli *c, xconn *x, xsend *o, esession_sender *s, const char *to,
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
    if ((rc = cli_open_keystore(&c)) == CLI_OK && (rc = xopts_connect(&c, &o.x, &x)) == CLI_OK)
        rc = session(&c, x, &o, to, &s);
    if (rc == CLI_OK)
        rc = send_unsent(&c, x, &o, to);
    if (rc == CLI_OK && (npos == 1 || (npos == 2 && strcmp(pos[1], "-") == 0))) {
        rc = send_lines(&c, x, &o, s, to, &sent);
    } else {
        for (size_t i = 1; rc == CLI_OK && i < npos; i++) {
            rc = send_sealed(&c, x, &o, s, to, pos[i], strlen(pos[i]));
            sent += rc == CLI_OK;
        }
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
    /* The server has taken (or bounced) every stanza once the ping returns. */
    if (x != NULL && (rc == CLI_OK || sent > 0)) {
        int r = xconn_sync(x);
        if (rc == CLI_OK)
            rc = r;
    }
    if (rc == CLI_OK && xconn_message_errors(x) > 0) {
        cli_err(&c, "the server bounced %zu stanza%s; they were not stored for %s",
                xconn_message_errors(x), xconn_message_errors(x) == 1 ? "" : "s", to);
        rc = CLI_EXIT_IO;
    }
    /* Taken by the server, nothing bounced: out of the outbox. Otherwise
     * they stay there, and the next run sends them again. */
    if (rc == CLI_OK)
        rc = mark_sent(&c, &o);
    esession_outbox_free(o.out, o.n_out);
    if (s != NULL)
        printf("sent %zu message%s to %s (thread %s)%s\n", sent, sent == 1 ? "" : "s", to,
               esession_sender_thread(s), rc == CLI_OK && o.terminate ? "; session ended" : "");
    esession_sender_free(s);
    xconn_close(x);
    free(pos);
    return cli_end(&c, rc);
}
