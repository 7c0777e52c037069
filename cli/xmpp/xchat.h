/* SPDX-License-Identifier: ISC */
/* xmpp-chat: an online ESession (XEP-0116, XEP-0200) in a terminal. One
 * session per run: find the contact's client, negotiate (or answer its
 * request), chat, terminate. The pieces:
 *   cmd_xchat.c    options, the loop over standard input and the server
 *   xchat_peer.c   who is online (presence, disco), the offline handover,
 *                  routing of received stanzas
 *   xchat_sess.c   the session: negotiation, messages both ways, re-keys,
 *                  SAS and key state, termination
 *   xchat_text.c   input lines, message bodies, printing untrusted text
 * What it prints is one line per event, its first characters saying what:
 *   "* " an event of the session, "< " a message received (encrypted),
 *   "! " a warning (NOT ENCRYPTED messages among them). */
#ifndef ESESSIONCTL_XCHAT_H
#define ESESSIONCTL_XCHAT_H

#include "xcmd.h"

#include <stdint.h>

/* The feature of XEP-0155 sessions (and so of XEP-0116), in disco. */
#define XCHAT_FEATURE "urn:xmpp:ssn"
#define XCHAT_DISCO_INFO "http://jabber.org/protocol/disco#info"

typedef enum xchat_phase {
    XCHAT_WAITING = 0,     /* no session: waiting for the contact's client */
    XCHAT_NEGOTIATING = 1, /* a request sent or answered */
    XCHAT_OPEN = 2,
    XCHAT_ENDING = 3,      /* our termination sent, waiting for its acknowledgement */
    XCHAT_DONE = 4
} xchat_phase;

typedef enum xchat_event_kind { XE_MESSAGE = 1, XE_PRESENCE, XE_IQ } xchat_event_kind;

/* A stanza received while something else ran, handled in order later. */
typedef struct xchat_event {
    xchat_event_kind kind;
    char *text;         /* message or IQ: serialized; presence: the sender */
    size_t len;
    int unavailable;    /* presence of type unavailable */
} xchat_event;

#define XCHAT_DISCO_MAX 16

typedef struct xchat_disco {
    char id[33];
    char jid[CLI_JID_MAX + 1];
} xchat_disco;

typedef struct xchat {
    cli *c;
    xconn *x;
    /* the contact */
    char peer_bare[CLI_JID_MAX + 1];
    char peer_full[CLI_JID_MAX + 1]; /* the one resource asked for, or "" */
    char candidate[CLI_JID_MAX + 1]; /* its client that offers ESessions, or "" */
    xchat_disco disco[XCHAT_DISCO_MAX];
    size_t n_disco;
    int handover_done;               /* the offline session is ended (or there was none) */
    /* policy */
    esession_online_options opt;
    int wait;                        /* --wait: answer, never start */
    unsigned rekey_every;            /* re-key after this many messages (0: the library's) */
    unsigned timeout_ms;
    /* the session */
    esession_online_session *s;
    xchat_phase phase;
    int mine;                        /* we sent the request */
    uint64_t phase_since_ms;
    unsigned sent_since_rekey;
    unsigned keys_unacked;           /* our new keys the peer's <new> has not counted yet */
    /* standard input: a partial line, and lines waiting for the session */
    char *in;
    size_t in_len, in_cap;
    char **queued;
    size_t n_queued;
    int in_eof;
    int quit;                        /* leave once the queue is sent */
    /* stanzas received, not yet handled */
    xchat_event *ev;
    size_t n_ev, cap_ev;
    int rc;                          /* the exit status */
    size_t received, sent;
} xchat;

/* ---- xchat_text.c */
/* Print a line of the chat (prefix and text with control characters made
 * harmless), flushed at once. */
void xchat_say(const char *prefix, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print untrusted text after prefix, one line per line of it. */
void xchat_show(const char *prefix, const char *text, size_t len);
/* The text of the first <body> in xml (element text unescaped) into *out
 * (free with cli_free_wiped(*out, *len)); 0 if found, 1 if none, -1 if out
 * of memory. */
int xchat_body(const char *xml, size_t len, char **out, size_t *outlen);
/* Whether a message stanza carries an ESession element: <c> of XEP-0200,
 * a feature negotiation form, or the <init> of XEP-0116's last steps. */
int xchat_is_esession(const char *stanza, size_t len);
/* Whether the <c> of an encrypted stanza holds the child named local
 * (key, new). */
int xchat_c_has(const char *stanza, size_t len, const char *local);
/* The <new> count of an encrypted stanza (0: none). */
unsigned xchat_c_new(const char *stanza, size_t len);
/* The value of attribute name of the stanza's top element into out. */
int xchat_attr(const char *stanza, size_t len, const char *name, char *out, size_t n);
/* Add octets read from standard input; complete lines go to fn. */
int xchat_input(xchat *ch, const char *data, size_t n, int (*fn)(xchat *, char *, size_t));
/* The lines waiting for the session, wiped; then the partial line too. */
void xchat_queue_free(xchat *ch);
void xchat_input_free(xchat *ch);

/* ---- xchat_peer.c */
/* The callbacks of the connection: each stanza is queued. */
void xchat_on_message(void *user, const char *stanza, size_t len);
void xchat_on_presence(void *user, const char *from, const char *type);
void xchat_on_iq(void *user, const char *stanza, size_t len);
/* Handle the queued stanzas, oldest first. */
int xchat_drain(xchat *ch);
void xchat_events_free(xchat *ch);
/* Our own available presence (negative priority: the server keeps
 * messages to the bare JID for xmpp-receive). */
int xchat_announce(xchat *ch);
/* XEP-0187 §5: end the offline session with the contact, if one is open. */
int xchat_handover(xchat *ch);

/* ---- xchat_sess.c */
int xchat_initiate(xchat *ch, const char *to);
/* A request from the contact (msg1), crossing ours or not. */
int xchat_request(xchat *ch, const char *stanza, size_t len, const char *from);
/* A stanza of the session. */
int xchat_feed(xchat *ch, const char *stanza, size_t len);
/* A line typed: a command or a message. */
int xchat_line(xchat *ch, char *line, size_t len);
/* Leave: terminate an open session, abandon a negotiation. */
int xchat_leave(xchat *ch, const char *why);
/* Time passes: negotiation and acknowledgement limits. */
int xchat_tick(xchat *ch);
/* The contact's client went away. */
void xchat_peer_gone(xchat *ch, const char *from);
void xchat_set_phase(xchat *ch, xchat_phase p);
uint64_t xchat_now_ms(void);

#endif
