/* SPDX-License-Identifier: ISC */
/* xmpp-chat's session: the library's online calls (esession_online_*)
 * and what the user sees of them. Nothing typed is ever sent in the
 * clear: a line goes out sealed, or not at all and the user is told. */
#include "xchat.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define QUEUE_MAX 1000u
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"

uint64_t xchat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void xchat_set_phase(xchat *ch, xchat_phase p)
{
    ch->phase = p;
    ch->phase_since_ms = xchat_now_ms();
}

static void end_session(xchat *ch, int rc)
{
    esession_online_free(ch->s); /* wipes its keys */
    ch->s = NULL;
    if (ch->rc == CLI_OK)
        ch->rc = rc;
    xchat_set_phase(ch, XCHAT_DONE);
}

static int send_buf(xchat *ch, const esession_buf *b)
{
    return b->len > 0 ? xconn_send(ch->x, b->data, b->len) : CLI_OK;
}

/* A library failure as a chat line: "! what: reason (name: detail)". */
static void say_failure(xchat *ch, esession_status st, const char *what)
{
    const char *detail = esession_ctx_error_detail(ch->c->ctx);
    xchat_say("! ", "%s: %s (%s%s%s)", what, esession_status_string(st), esession_status_name(st),
              detail[0] ? ": " : "", detail);
}

/* ---- key state */

/* The peer's key in words: from our trust store, else from the session
 * (a retained secret or the SAS confirmed), else unverified. */
static void show_key(xchat *ch)
{
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    char fptext[CLI_FP_TEXT];
    int have = esession_online_peer_fingerprint(ch->s, fp) == ESESSION_OK;
    const char *word = esession_online_verified(ch->s) ? "verified (SAS or retained secret)"
                                                       : "unverified";
    size_t n = esession_trust_count(ch->c->ks);
    for (size_t i = 0; have && i < n; i++) {
        esession_trust_entry e;
        if (esession_trust_at(ch->c->ks, i, &e) != ESESSION_OK ||
            strcasecmp(e.jid, ch->peer_bare) != 0 ||
            sodium_memcmp(e.fingerprint, fp, sizeof fp) != 0)
            continue;
        word = e.verified ? "verified (fingerprint checked out of band)" : "trusted";
        break;
    }
    if (have)
        cli_fp_text(fp, fptext);
    xchat_say("* ", "key: %s, %s%s", word, have ? "fingerprint " : "no key was sent",
              have ? fptext : "");
}

/* ---- sending */

/* Seal a <message/> (text, wiped here) and send it. Fail closed: a
 * message that cannot be sealed is not sent, and the user is told. */
static int send_sealed(xchat *ch, char *msg, size_t mlen, int counts)
{
    esession_buf out = {0};
    esession_status st = esession_online_seal(ch->s, msg, mlen, &out);
    cli_free_wiped(msg, mlen);
    if (st != ESESSION_OK) {
        say_failure(ch, st, counts ? "NOT SENT, nothing went out" : "re-key not sent");
        if (st == ESESSION_ERR_COUNTER_EXHAUSTED)
            return xchat_leave(ch, "the key is used up");
        return CLI_OK;
    }
    int rc = send_buf(ch, &out);
    if (rc == CLI_OK) {
        ch->sent += counts != 0;
        if (xchat_c_has(out.data, out.len, "key")) {
            xchat_say("* ", "rekeyed");
            ch->sent_since_rekey = 0;
            ch->keys_unacked++;
        } else {
            ch->sent_since_rekey += counts != 0;
            if (!counts)
                xchat_say("* ", "re-key deferred: the next message carries the new key once the "
                                "peer's rekey_freq allows");
        }
    }
    esession_buf_free(&out);
    return rc;
}

static int send_text(xchat *ch, const char *text, size_t len)
{
    if (ch->rekey_every > 0 && ch->sent_since_rekey >= ch->rekey_every) {
        esession_status st = esession_online_rekey(ch->s);
        if (st != ESESSION_OK)
            say_failure(ch, st, "no re-key");
    }
    char *msg = NULL;
    size_t mlen = 0;
    int rc = cli_text_message(ch->c, esession_online_peer(ch->s), text, len, &msg, &mlen);
    return rc == CLI_OK ? send_sealed(ch, msg, mlen, 1) : rc;
}

/* /rekey: the new key goes at once, in a stanza with only a chat state. */
static int rekey_now(xchat *ch)
{
    esession_status st = esession_online_rekey(ch->s);
    if (st != ESESSION_OK) {
        say_failure(ch, st, "no re-key");
        return CLI_OK;
    }
    char *to = NULL, *msg;
    size_t tlen;
    const char *peer = esession_online_peer(ch->s);
    if (cli_xml_escape(peer, strlen(peer), 1, &to, &tlen) != 0 || (msg = malloc(tlen + 128)) == NULL) {
        free(to);
        cli_err(ch->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    int k = snprintf(msg, tlen + 128,
                     "<message to='%s' type='chat'><active xmlns='" NS_CHATSTATES "'/></message>",
                     to);
    free(to);
    return send_sealed(ch, msg, (size_t)k, 0);
}

static int queue_line(xchat *ch, const char *text, size_t len)
{
    if (ch->n_queued == QUEUE_MAX) {
        xchat_say("! ", "NOT SENT: %u lines already wait for the session", QUEUE_MAX);
        return CLI_OK;
    }
    char **v = realloc(ch->queued, (ch->n_queued + 1) * sizeof *v);
    char *copy = malloc(len + 1);
    if (v != NULL)
        ch->queued = v;
    if (v == NULL || copy == NULL) {
        free(copy);
        cli_err(ch->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    ch->queued[ch->n_queued++] = copy;
    return CLI_OK;
}

/* Oldest first, each taken off the queue before it is sent (sending may
 * end the session, and the queue with it). */
static int send_queued(xchat *ch)
{
    int rc = CLI_OK;
    while (rc == CLI_OK && ch->n_queued > 0 && ch->phase == XCHAT_OPEN) {
        char *line = ch->queued[0];
        memmove(ch->queued, ch->queued + 1, (ch->n_queued - 1) * sizeof *ch->queued);
        ch->n_queued--;
        size_t len = strlen(line);
        rc = send_text(ch, line, len);
        cli_free_wiped(line, len);
    }
    return rc;
}

/* ---- negotiation */

static int opened(xchat *ch)
{
    char sas[6];
    int four = esession_online_sas(ch->s, sas) == ESESSION_OK;
    xchat_set_phase(ch, XCHAT_OPEN);
    xchat_say("* ", "negotiated: %s-message session with %s (thread %s)", four ? "4" : "3",
              esession_online_peer(ch->s), esession_online_thread(ch->s));
    if (four)
        xchat_say("* ", "sas: %s", sas);
    show_key(ch);
    if (four && !esession_online_verified(ch->s))
        xchat_say("* ", "compare the SAS with %s's (by voice or in person); /sas-ok if they match",
                  ch->peer_bare);
    return send_queued(ch);
}

int xchat_initiate(xchat *ch, const char *to)
{
    if (ch->phase != XCHAT_WAITING)
        return CLI_OK;
    int rc = xchat_handover(ch);
    if (rc != CLI_OK)
        return rc;
    esession_buf m1 = {0};
    esession_status st = esession_online_initiate(ch->c->ctx, ch->c->ks, xconn_jid(ch->x), to,
                                                  &ch->opt, &ch->s, &m1);
    if (st != ESESSION_OK)
        return cli_fail(ch->c, st, "cannot start the session");
    ch->mine = 1;
    xchat_set_phase(ch, XCHAT_NEGOTIATING);
    xchat_say("* ", "negotiating with %s (%s-message request sent)", to,
              ch->opt.three_message ? "3" : "4");
    rc = send_buf(ch, &m1);
    esession_buf_free(&m1);
    return rc;
}

int xchat_request(xchat *ch, const char *stanza, size_t len, const char *from)
{
    int rc = xchat_handover(ch); /* before our answer (PROFILE §12.13) */
    if (rc != CLI_OK)
        return rc;
    if (ch->phase == XCHAT_NEGOTIATING && ch->mine) {
        int answer = 0;
        esession_status st = esession_online_crossing(ch->s, stanza, len, &answer);
        if (st != ESESSION_OK) {
            xchat_say("! ", "ignored a request from %s: ours is under way", from);
            return CLI_OK;
        }
        if (!answer) {
            xchat_say("* ", "crossing requests: ours goes on, %s's is ignored", from);
            return CLI_OK;
        }
        xchat_say("* ", "crossing requests: ours yields, answering %s's", from);
        esession_online_free(ch->s);
        ch->s = NULL;
        xchat_set_phase(ch, XCHAT_WAITING);
    } else if (ch->phase == XCHAT_ENDING) {
        xchat_say("! ", "ignored a request from %s: this chat is ending", from);
        return CLI_OK;
    } else if (ch->s != NULL) {
        xchat_say("* ", "%s starts a new session: the current one is dropped", from);
        esession_online_free(ch->s);
        ch->s = NULL;
        xchat_set_phase(ch, XCHAT_WAITING);
    }
    esession_buf reply = {0};
    esession_status st = esession_online_respond(ch->c->ctx, ch->c->ks, xconn_jid(ch->x), stanza,
                                                 len, &ch->opt, &ch->s, &reply);
    rc = send_buf(ch, &reply);
    esession_buf_free(&reply);
    switch (st) {
    case ESESSION_OK:
        ch->mine = 0;
        xchat_set_phase(ch, XCHAT_NEGOTIATING);
        xchat_say("* ", "answering the session request of %s", from);
        return rc;
    case ESESSION_ERR_MALFORMED:
    case ESESSION_ERR_UNSUPPORTED_OPTION:
    case ESESSION_ERR_REFUSED:
    case ESESSION_ERR_INVALID_DH_VALUE:
    case ESESSION_ERR_UNSUPPORTED:
        ch->s = NULL;
        say_failure(ch, st, "refused a session request");
        return rc;
    default:
        ch->s = NULL;
        return cli_fail(ch->c, st, "cannot answer the session request");
    }
}

/* ---- received stanzas */

static void show_message(xchat *ch, const esession_online_result *r, const char *stanza,
                         size_t len)
{
    /* <new>k: the peer has seen k more of our keys (in order). A key of
     * its own while one of ours is unseen: both re-keyed at once. */
    unsigned seen = xchat_c_new(stanza, len);
    ch->keys_unacked -= seen < ch->keys_unacked ? seen : ch->keys_unacked;
    int key = xchat_c_has(stanza, len, "key");
    int crossing = key && ch->keys_unacked > 0;
    char *body = NULL;
    size_t blen = 0;
    int b = xchat_body(r->plaintext.data, r->plaintext.len, &body, &blen);
    if (b == 0) {
        ch->received++;
        xchat_show("< ", body, blen);
        cli_free_wiped(body, blen);
    } else if (b < 0) {
        xchat_say("! ", "a message arrived but could not be shown (out of memory)");
    }
    if (key)
        xchat_say("* ", "peer rekeyed%s", crossing ? " (crossing ours)" : "");
}

int xchat_feed(xchat *ch, const char *stanza, size_t len)
{
    esession_online_result r;
    esession_status st = esession_online_feed(ch->s, stanza, len, &r);
    if (st == ESESSION_ERR_NO_SESSION) {
        xchat_say("! ", "ignored a stanza of another session");
        return CLI_OK;
    }
    if (st != ESESSION_OK) {
        say_failure(ch, st, "ignored a stanza");
        return CLI_OK;
    }
    int rc = send_buf(ch, &r.reply);
    if (r.storage != ESESSION_OK)
        xchat_say("! ", "the retained secret could not be stored (%s): the next session starts "
                        "without it", esession_status_name(r.storage));
    if (rc == CLI_OK && r.established)
        rc = opened(ch);
    switch (r.kind) {
    case ESESSION_ONLINE_MESSAGE:
        show_message(ch, &r, stanza, len);
        break;
    case ESESSION_ONLINE_DUPLICATE:
        xchat_say("* ", "a copy of a stanza already read was dropped");
        break;
    case ESESSION_ONLINE_TERMINATED:
        xchat_say("* ", r.crossing ? "terminated (both ended at once)" : "terminated by %s",
                  ch->peer_bare);
        end_session(ch, CLI_OK);
        break;
    case ESESSION_ONLINE_ACKNOWLEDGED:
        xchat_say("* ", "terminated");
        end_session(ch, CLI_OK);
        break;
    case ESESSION_ONLINE_ERROR:
        if (r.error == ESESSION_ERR_PEER_ERROR)
            xchat_say("! ", "the session failed: %s answered with an error (%s)", ch->peer_bare,
                      r.condition[0] ? r.condition : "no condition");
        else
            say_failure(ch, r.error, "the session failed");
        if (r.error == ESESSION_ERR_UNTRUSTED_KEY)
            xchat_say("! ", "a 3-message session needs the contact's key trusted (esessionctl "
                            "trust); without --three-message, compare the SAS instead");
        end_session(ch, cli_exit_code(r.error));
        break;
    default: /* a step of the negotiation, or nothing after the end */
        break;
    }
    esession_online_result_free(&r);
    return rc;
}

/* ---- lines typed */

static void help(void)
{
    xchat_say("* ", "commands: /sas-ok (the SAS matches), /rekey (new keys now), /start (send "
                    "our request), /status, /quit; a line starting with // is sent with one /");
}

static void status(xchat *ch)
{
    static const char *const names[] = {"waiting for the contact", "negotiating", "open",
                                        "ending", "over"};
    xchat_say("* ", "status: %s; %zu sent, %zu received", names[ch->phase], ch->sent,
              ch->received);
    if (ch->phase == XCHAT_OPEN) {
        char sas[6];
        if (esession_online_sas(ch->s, sas) == ESESSION_OK)
            xchat_say("* ", "sas: %s", sas);
        show_key(ch);
    }
}

static int command(xchat *ch, const char *cmd)
{
    if (strcmp(cmd, "/quit") == 0)
        return xchat_leave(ch, "quit");
    if (strcmp(cmd, "/help") == 0) {
        help();
        return CLI_OK;
    }
    if (strcmp(cmd, "/status") == 0) {
        status(ch);
        return CLI_OK;
    }
    if (strcmp(cmd, "/start") == 0) {
        if (ch->phase != XCHAT_WAITING)
            xchat_say("! ", "a session is already under way");
        else if (ch->candidate[0] == '\0')
            xchat_say("! ", "no client of %s offering ESessions is online yet", ch->peer_bare);
        else
            return xchat_initiate(ch, ch->candidate);
        return CLI_OK;
    }
    if (strcmp(cmd, "/sas-ok") == 0 || strcmp(cmd, "/rekey") == 0) {
        if (ch->phase != XCHAT_OPEN) {
            xchat_say("! ", "no open session");
            return CLI_OK;
        }
        if (cmd[1] == 'r')
            return rekey_now(ch);
        esession_status st = esession_online_confirm_sas(ch->s);
        if (st != ESESSION_OK)
            say_failure(ch, st, "the SAS is not confirmed");
        else
            xchat_say("* ", "sas confirmed: %s is verified (and remembered for the next sessions)",
                      ch->peer_bare);
        return CLI_OK;
    }
    xchat_say("! ", "NOT SENT: %s is no command (/help lists them; // sends a line starting "
                    "with /)", cmd);
    return CLI_OK;
}

int xchat_line(xchat *ch, char *line, size_t len)
{
    if (len == 0)
        return CLI_OK;
    if (line[0] == '/' && !(len > 1 && line[1] == '/')) {
        char cmd[32];
        size_t k = strcspn(line, " \t");
        snprintf(cmd, sizeof cmd, "%.*s", (int)(k < sizeof cmd - 1 ? k : sizeof cmd - 1), line);
        return command(ch, cmd);
    }
    if (line[0] == '/') {
        line++;
        len--;
    }
    switch (ch->phase) {
    case XCHAT_OPEN:
        return send_text(ch, line, len);
    case XCHAT_WAITING:
    case XCHAT_NEGOTIATING:
        return queue_line(ch, line, len);
    default:
        xchat_say("! ", "NOT SENT: the session is over");
        return CLI_OK;
    }
}

/* ---- the end */

int xchat_leave(xchat *ch, const char *why)
{
    if (ch->n_queued > 0 && ch->phase != XCHAT_DONE)
        xchat_say("! ", "NOT SENT: %zu line%s waiting for the session", ch->n_queued,
                  ch->n_queued == 1 ? "" : "s");
    xchat_queue_free(ch);
    switch (ch->phase) {
    case XCHAT_WAITING:
        xchat_set_phase(ch, XCHAT_DONE);
        return CLI_OK;
    case XCHAT_NEGOTIATING:
        xchat_say("* ", "left before the session was open (%s)", why);
        end_session(ch, CLI_OK);
        return CLI_OK;
    case XCHAT_OPEN: {
        esession_buf out = {0};
        esession_status st = esession_online_terminate(ch->s, &out);
        if (st != ESESSION_OK) {
            say_failure(ch, st, "cannot terminate");
            end_session(ch, cli_exit_code(st));
            return CLI_OK;
        }
        xchat_set_phase(ch, XCHAT_ENDING);
        xchat_say("* ", "terminating (%s): waiting for the acknowledgement", why);
        int rc = send_buf(ch, &out);
        esession_buf_free(&out);
        return rc;
    }
    case XCHAT_ENDING:
        xchat_say("* ", "gave up waiting for the acknowledgement: %s's last messages may be "
                        "missing", ch->peer_bare);
        end_session(ch, CLI_OK);
        return CLI_OK;
    default:
        return CLI_OK;
    }
}

int xchat_tick(xchat *ch)
{
    uint64_t waited = xchat_now_ms() - ch->phase_since_ms;
    if (ch->phase == XCHAT_NEGOTIATING && waited > ch->timeout_ms) {
        xchat_say("! ", "no answer from %s within %u s: no session", esession_online_peer(ch->s),
                  ch->timeout_ms / 1000);
        end_session(ch, CLI_EXIT_IO);
    } else if (ch->phase == XCHAT_ENDING) {
        int timed_out = 0;
        esession_status st = esession_online_poll(ch->s, &timed_out);
        if (st == ESESSION_OK && timed_out) {
            xchat_say("* ", "terminated without acknowledgement: %s's last messages may be "
                            "missing", ch->peer_bare);
            end_session(ch, CLI_OK);
        }
    } else if (ch->quit && ch->n_queued == 0 && ch->phase != XCHAT_DONE) {
        return xchat_leave(ch, "end of input");
    }
    return CLI_OK;
}

void xchat_peer_gone(xchat *ch, const char *from)
{
    if (ch->s == NULL || strcmp(from, esession_online_peer(ch->s)) != 0)
        return;
    int ending = ch->phase == XCHAT_ENDING;
    xchat_say("! ", "%s went offline: the session is over%s", from,
              ending ? " (no acknowledgement)" : " without its termination");
    end_session(ch, ending ? CLI_OK : CLI_EXIT_IO);
}
