/* SPDX-License-Identifier: ISC */
/* A blocking XMPP client connection on libstrophe, for the xmpp-* commands:
 * log in, send stanzas as text, wait for IQ answers, collect messages; and,
 * for an interactive client, one turn of the event loop at a time. */
#ifndef ESESSIONCTL_XCONN_H
#define ESESSIONCTL_XCONN_H

#include "../cli.h"

#include <stddef.h>

typedef struct xconn xconn;

typedef struct xconn_opts {
    const char *jid;       /* the account: bare or full JID */
    const char *password;  /* NUL-terminated; copied into wiped memory */
    const char *host;      /* NULL: the JID's domain (DNS SRV) */
    unsigned port;         /* 0: the default */
    const char *cafile;    /* trust anchors for the server's certificate, or NULL */
    unsigned timeout_ms;   /* the longest wait for any answer */
    int verbose;           /* libstrophe's warnings and errors on stderr */
} xconn_opts;

/* A received message stanza, serialized; the callback may keep nothing. */
typedef void (*xconn_message_fn)(void *user, const char *stanza, size_t len);

/* Connect, require TLS, authenticate, bind; CLI_OK or an exit code after a
 * message. */
int xconn_open(const cli *c, const xconn_opts *o, xconn **out);
/* Messages received from now on go to fn (NULL: dropped). */
void xconn_on_message(xconn *x, xconn_message_fn fn, void *user);
/* Message errors (type='error') go to the message callback too, instead of
 * the warning; they are still counted and their ids noted. */
void xconn_pass_errors(xconn *x, int on);

/* A received presence: its sender and type (NULL: available). */
typedef void (*xconn_presence_fn)(void *user, const char *from, const char *type);
void xconn_on_presence(xconn *x, xconn_presence_fn fn, void *user);
/* IQs nothing here handles (requests other than pings, answers nobody
 * waits for with xconn_iq), serialized. A get or set must be answered. */
void xconn_on_iq(xconn *x, xconn_message_fn fn, void *user);

/* One turn of the event loop, waiting at most ms for the server; the
 * callbacks run from here. CLI_OK, or CLI_EXIT_IO once the connection is
 * gone (after a message). */
int xconn_run(xconn *x, unsigned ms);
/* Stanzas handed to the callbacks so far: whether a turn received any. */
size_t xconn_received(const xconn *x);

/* The full JID the server bound. */
const char *xconn_jid(const xconn *x);

/* Queue a stanza given as text. */
int xconn_send(xconn *x, const char *text, size_t len);

/* The answer to an IQ. */
typedef struct xconn_answer {
    int is_error;          /* type='error' */
    char condition[64];    /* the error's defined condition, or "" */
    char *text;            /* the whole answer, serialized (free()) */
    size_t len;
} xconn_answer;

/* Send an IQ (text, with this id) and wait for its answer. CLI_OK with *ans
 * filled (an error answer included), or an exit code after a message. */
int xconn_iq(xconn *x, const char *text, size_t len, const char *id, xconn_answer *ans);
void xconn_answer_free(xconn_answer *ans);

/* A ping round trip: every stanza sent before it has been processed by the
 * server, and every stanza it sent before its answer has been received. */
int xconn_sync(xconn *x);
/* Keep receiving until idle_ms pass without a message. */
int xconn_idle(xconn *x, unsigned idle_ms);

/* Message errors (type='error') the server returned so far. */
size_t xconn_message_errors(const xconn *x);
/* The error condition of the bounced message with this id, or NULL if no
 * message with it came back. */
#define XCONN_ID_MAX 64
const char *xconn_bounced(const xconn *x, const char *id);
/* Whether bare has sent available presence (and not unavailable since):
 * only after our own presence has gone out, for contacts we see. */
int xconn_available(const xconn *x, const char *bare);

/* Close the stream and release everything. NULL-safe. */
void xconn_close(xconn *x);

/* A fresh id for a stanza: 16 random octets in hex. */
void xconn_new_id(char out[33]);

#endif
