/* SPDX-License-Identifier: ISC */
/* xmpp-chat and the network: stanzas are queued by the connection's
 * callbacks and handled here in order, outside of any send (a send runs
 * the event loop, and a session must not change under its caller). Who
 * is online comes from presence; whether a client of the contact can
 * negotiate, from service discovery (XEP-0030): only a client that
 * offers urn:xmpp:ssn gets a request, never a bare JID, so that no
 * request lands in an offline store. */
#include "xchat.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the queue */

static void push(xchat *ch, xchat_event_kind kind, const char *text, size_t len, int unavailable)
{
    if (ch->n_ev == ch->cap_ev) {
        size_t cap = ch->cap_ev ? 2 * ch->cap_ev : 16;
        xchat_event *v = realloc(ch->ev, cap * sizeof *v);
        if (v == NULL)
            goto oom;
        ch->ev = v;
        ch->cap_ev = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        goto oom;
    memcpy(copy, text, len);
    copy[len] = '\0';
    ch->ev[ch->n_ev++] = (xchat_event){kind, copy, len, unavailable};
    return;
oom:
    /* A stanza dropped unseen would be a silent loss: stop instead. */
    cli_err(ch->c, "out of memory queueing a received stanza");
    ch->rc = CLI_EXIT_INTERNAL;
    xchat_set_phase(ch, XCHAT_DONE);
}

void xchat_on_message(void *user, const char *stanza, size_t len)
{
    push(user, XE_MESSAGE, stanza, len, 0);
}

void xchat_on_iq(void *user, const char *stanza, size_t len)
{
    push(user, XE_IQ, stanza, len, 0);
}

void xchat_on_presence(void *user, const char *from, const char *type)
{
    if (type != NULL && strcmp(type, "unavailable") != 0)
        return; /* subscriptions, errors, probes: nothing for the chat */
    push(user, XE_PRESENCE, from, strlen(from), type != NULL);
}

void xchat_events_free(xchat *ch)
{
    for (size_t i = 0; i < ch->n_ev; i++)
        cli_free_wiped(ch->ev[i].text, ch->ev[i].len); /* a plain message, perhaps */
    free(ch->ev);
    ch->ev = NULL;
    ch->n_ev = ch->cap_ev = 0;
}

/* ---- who is who */

/* Whether jid is of the contact (its bare JID; ASCII case aside, as
 * servers send it normalized) and, if one resource was asked for, that. */
static int of_peer(const xchat *ch, const char *jid)
{
    size_t b = strcspn(jid, "/");
    if (b != strlen(ch->peer_bare) || strncasecmp(jid, ch->peer_bare, b) != 0)
        return 0;
    return ch->peer_full[0] == '\0' || strcmp(jid + b, ch->peer_full + b) == 0;
}

/* ---- service discovery */

/* <iq type='type' id='id' to='to'>inner</iq>, id and to escaped. */
static int send_iq(xchat *ch, const char *type, const char *id, const char *to, const char *inner)
{
    char *eid = NULL, *eto = NULL;
    size_t n1, n2;
    if (cli_xml_escape(id, strlen(id), 1, &eid, &n1) != 0 ||
        cli_xml_escape(to, strlen(to), 1, &eto, &n2) != 0) {
        free(eid);
        cli_err(ch->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    size_t n = n1 + n2 + strlen(inner) + 64;
    char *text = malloc(n);
    int rc = CLI_EXIT_INTERNAL;
    if (text != NULL) {
        int k = snprintf(text, n, "<iq type='%s' id='%s' to='%s'>%s</iq>", type, eid, eto, inner);
        rc = xconn_send(ch->x, text, (size_t)k);
        free(text);
    } else {
        cli_err(ch->c, "out of memory");
    }
    free(eid);
    free(eto);
    return rc;
}

static int ask_disco(xchat *ch, const char *jid)
{
    for (size_t i = 0; i < ch->n_disco; i++)
        if (strcmp(ch->disco[i].jid, jid) == 0)
            return CLI_OK; /* asked already */
    if (ch->n_disco == XCHAT_DISCO_MAX) { /* the oldest question is dropped */
        memmove(&ch->disco[0], &ch->disco[1], (XCHAT_DISCO_MAX - 1) * sizeof ch->disco[0]);
        ch->n_disco--;
    }
    xchat_disco *d = &ch->disco[ch->n_disco];
    xconn_new_id(d->id);
    snprintf(d->jid, sizeof d->jid, "%s", jid);
    ch->n_disco++;
    return send_iq(ch, "get", d->id, jid, "<query xmlns='" XCHAT_DISCO_INFO "'/>");
}

/* Whether an answer to disco#info lists XCHAT_FEATURE. */
static int offers_esession(const char *text, size_t len)
{
    xs_elem iq, q, kids[64];
    char var[64];
    if (xs_split(text, len, &iq, 1) != 1 || !xs_find(text, &iq, "query", &q))
        return 0;
    int n = xs_split(text + q.inner, q.inner_end - q.inner, kids, 64);
    for (int i = 0; i < n && i < 64; i++)
        if (xs_attr(text + q.inner, &kids[i], "var", var, sizeof var) &&
            strcmp(var, XCHAT_FEATURE) == 0)
            return 1;
    return 0;
}

static int disco_answer(xchat *ch, const char *text, size_t len, const char *id, int ok)
{
    size_t i = 0;
    while (i < ch->n_disco && strcmp(ch->disco[i].id, id) != 0)
        i++;
    if (i == ch->n_disco)
        return CLI_OK; /* not ours, or given up */
    char jid[CLI_JID_MAX + 1];
    snprintf(jid, sizeof jid, "%s", ch->disco[i].jid);
    memmove(&ch->disco[i], &ch->disco[i + 1], (ch->n_disco - i - 1) * sizeof ch->disco[0]);
    ch->n_disco--;
    if (!ok || !offers_esession(text, len)) {
        xchat_say("* ", "%s is online but does not offer ESessions", jid);
        return CLI_OK;
    }
    if (ch->candidate[0] != '\0')
        return CLI_OK;
    snprintf(ch->candidate, sizeof ch->candidate, "%s", jid);
    if (ch->phase != XCHAT_WAITING)
        return CLI_OK;
    if (ch->wait) {
        xchat_say("* ", "%s offers ESessions; waiting for its request (/start sends ours)", jid);
        return CLI_OK;
    }
    return xchat_initiate(ch, jid);
}

/* Requests: disco#info about us is answered, anything else refused, as
 * RFC 6120 §8.2.3 wants. */
static int handle_iq(xchat *ch, const char *text, size_t len)
{
    char type[16], id[256], from[CLI_JID_MAX + 1];
    if (!xchat_attr(text, len, "type", type, sizeof type) ||
        !xchat_attr(text, len, "id", id, sizeof id))
        return CLI_OK;
    if (!xchat_attr(text, len, "from", from, sizeof from))
        from[0] = '\0';
    if (strcmp(type, "result") == 0 || strcmp(type, "error") == 0)
        return disco_answer(ch, text, len, id, type[0] == 'r');
    if (strcmp(type, "get") != 0 && strcmp(type, "set") != 0)
        return CLI_OK;
    if (from[0] == '\0')
        snprintf(from, sizeof from, "%s", ch->peer_bare); /* never: the server stamps it */
    xs_elem iq, q;
    char ns[128];
    if (strcmp(type, "get") == 0 && xs_split(text, len, &iq, 1) == 1 &&
        xs_find(text, &iq, "query", &q) && xs_attr(text, &q, "xmlns", ns, sizeof ns) &&
        strcmp(ns, XCHAT_DISCO_INFO) == 0)
        return send_iq(ch, "result", id, from,
                       "<query xmlns='" XCHAT_DISCO_INFO "'>"
                       "<identity category='client' type='pc' name='esessionctl'/>"
                       "<feature var='" XCHAT_DISCO_INFO "'/><feature var='" XCHAT_FEATURE "'/>"
                       "</query>");
    return send_iq(ch, "error", id, from,
                   "<error type='cancel'><service-unavailable "
                   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");
}

/* ---- presence */

int xchat_announce(xchat *ch)
{
    /* Negative priority: messages to our bare JID (an offline session's
     * stanzas among them) stay on the server for xmpp-receive, and no
     * offline queue is flooded to us (RFC 6121 §8.5.2.1). */
    static const char p[] = "<presence><priority>-1</priority></presence>";
    return xconn_send(ch->x, p, sizeof p - 1);
}

static int handle_presence(xchat *ch, const char *from, int unavailable)
{
    if (strcmp(from, xconn_jid(ch->x)) == 0 || !of_peer(ch, from) || strchr(from, '/') == NULL)
        return CLI_OK;
    if (unavailable) {
        for (size_t i = 0; i < ch->n_disco; i++) {
            if (strcmp(ch->disco[i].jid, from) == 0) {
                memmove(&ch->disco[i], &ch->disco[i + 1],
                        (ch->n_disco - i - 1) * sizeof ch->disco[0]);
                ch->n_disco--;
                break;
            }
        }
        if (strcmp(ch->candidate, from) == 0)
            ch->candidate[0] = '\0';
        xchat_peer_gone(ch, from);
        return CLI_OK;
    }
    /* XEP-0187 §5: the contact is online, the offline session ends now. */
    int rc = xchat_handover(ch);
    if (rc == CLI_OK && ch->phase == XCHAT_WAITING && ch->candidate[0] == '\0')
        rc = ask_disco(ch, from);
    return rc;
}

/* ---- messages */

static void show_plain(const char *text, size_t len, const char *from)
{
    char *body = NULL;
    size_t blen = 0;
    int r = xchat_body(text, len, &body, &blen);
    if (r < 0) {
        xchat_say("! ", "NOT ENCRYPTED from %s: (out of memory showing it)", from);
        return;
    }
    if (r > 0)
        return; /* chat states and the like: nothing to show */
    size_t n = strlen(from) + blen + 32;
    char *line = malloc(n);
    if (line != NULL) {
        int k = snprintf(line, n, "NOT ENCRYPTED from %s: %s", from, body);
        xchat_show("! ", line, (size_t)k);
        cli_free_wiped(line, (size_t)k);
    }
    cli_free_wiped(body, blen);
}

static int handle_message(xchat *ch, const char *text, size_t len)
{
    char from[CLI_JID_MAX + 1], type[16];
    if (!xchat_attr(text, len, "from", from, sizeof from))
        return CLI_OK;
    if (!xchat_attr(text, len, "type", type, sizeof type))
        type[0] = '\0';
    int esession = xchat_is_esession(text, len);
    int error = strcmp(type, "error") == 0;
    if (!of_peer(ch, from)) {
        if (esession || error)
            xchat_say("! ", "ignored %s from %s (this chat is with %s)",
                      error ? "an error" : "an ESession stanza", from, ch->peer_bare);
        else
            show_plain(text, len, from);
        return CLI_OK;
    }
    if (!esession && !error) {
        show_plain(text, len, from);
        return CLI_OK;
    }
    esession_online_info info;
    esession_status st = esession_online_inspect(ch->c->ctx, text, len, &info);
    if (st != ESESSION_OK) {
        xchat_say("! ", "ignored a malformed stanza from %s (%s)", from, esession_status_name(st));
        return CLI_OK;
    }
    int rc = CLI_OK;
    const char *thread = info.thread.data != NULL ? info.thread.data : "";
    if (error && (ch->s == NULL || strcmp(thread, esession_online_thread(ch->s)) != 0))
        xchat_say("! ", "a message to %s came back as undeliverable", from);
    else if (info.request && !error)
        rc = xchat_request(ch, text, len, from);
    else if (ch->s != NULL)
        rc = xchat_feed(ch, text, len); /* an error on our thread ends the attempt */
    else
        xchat_say("! ", "ignored an encrypted stanza from %s: no session is open", from);
    esession_online_info_free(&info);
    return rc;
}

int xchat_drain(xchat *ch)
{
    int rc = CLI_OK;
    size_t i = 0;
    /* Handling one may queue more (a send runs the loop): by index. */
    for (; i < ch->n_ev && rc == CLI_OK && ch->phase != XCHAT_DONE; i++) {
        xchat_event e = ch->ev[i];
        switch (e.kind) {
        case XE_MESSAGE: rc = handle_message(ch, e.text, e.len); break;
        case XE_PRESENCE: rc = handle_presence(ch, e.text, e.unavailable); break;
        case XE_IQ: rc = handle_iq(ch, e.text, e.len); break;
        }
        cli_free_wiped(ch->ev[i].text, ch->ev[i].len);
        ch->ev[i].text = NULL;
    }
    /* What is left once the chat is over is dropped with the rest. */
    memmove(ch->ev, ch->ev + i, (ch->n_ev - i) * sizeof *ch->ev);
    ch->n_ev -= i;
    return rc;
}

/* ---- the offline handover (XEP-0187 §5, PROFILE §12.13) */

/* An offline session's stanza, from this client. */
static int send_offline(xchat *ch, const esession_buf *b)
{
    char *text = NULL;
    size_t len = 0;
    if (xcmd_restamp(b->data, b->len, xconn_jid(ch->x), &text, &len) != 0) {
        cli_err(ch->c, "cannot readdress a stanza of the offline session");
        return CLI_EXIT_INTERNAL;
    }
    int rc = xconn_send(ch->x, text, len);
    free(text);
    return rc;
}

int xchat_handover(xchat *ch)
{
    if (ch->handover_done)
        return CLI_OK;
    ch->handover_done = 1;
    cli *c = ch->c;
    esession_buf *v = NULL, term = {0};
    size_t n = 0;
    /* Stanzas an earlier xmpp-send sealed but never got to the server go
     * first, the termination after them. */
    esession_status st = esession_outbox_unsent(c->ctx, c->ks, ch->peer_bare, &v, &n);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot read the outbox");
    st = esession_sender_peer_online(c->ctx, c->ks, ch->peer_bare, &term);
    if (st != ESESSION_OK) {
        esession_outbox_free(v, n);
        return cli_fail(c, st, "cannot end the offline session");
    }
    size_t errors = xconn_message_errors(ch->x);
    int rc = CLI_OK;
    for (size_t i = 0; i < n && rc == CLI_OK; i++)
        rc = send_offline(ch, &v[i]);
    if (rc == CLI_OK && term.len > 0)
        rc = send_offline(ch, &term);
    if (rc == CLI_OK && (n > 0 || term.len > 0))
        rc = xconn_sync(ch->x);
    /* Taken by the server (for the contact's xmpp-receive): out of the
     * outbox. Bounced: kept, and the next xmpp-send or chat sends them. */
    int bounced = rc == CLI_OK && xconn_message_errors(ch->x) != errors;
    for (size_t i = 0; i < n && rc == CLI_OK && !bounced; i++)
        if ((st = esession_sender_sent(c->ctx, c->ks, &v[i])) != ESESSION_OK)
            rc = cli_fail(c, st, "cannot mark a stanza sent");
    if (rc == CLI_OK && !bounced && term.len > 0 &&
        (st = esession_sender_sent(c->ctx, c->ks, &term)) != ESESSION_OK)
        rc = cli_fail(c, st, "cannot mark the termination sent");
    if (rc == CLI_OK && bounced)
        xchat_say("! ", "the server refused the offline session's last stanzas; they stay in "
                        "the outbox and go again next time");
    if (rc == CLI_OK && term.len > 0)
        xchat_say("* ", "%s is online: the offline session with %s is ended (XEP-0187 §5)%s",
                  ch->peer_bare, ch->peer_bare,
                  n > 0 ? ", after the stanzas it still had to send" : "");
    esession_outbox_free(v, n);
    esession_buf_free(&term);
    return rc;
}
