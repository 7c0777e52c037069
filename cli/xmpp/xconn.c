/* SPDX-License-Identifier: ISC */
/* A blocking XMPP client connection on libstrophe. Every wait is bounded by
 * the connection's timeout; TLS is mandatory and the certificate verified.
 * libstrophe's heap is wiped on free: it holds the account password. */
#include "xconn.h"
#include "xcmd.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <time.h>

#define XMPP_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XMPP_NS_PING "urn:xmpp:ping"

enum { XC_CONNECTING = 0, XC_CONNECTED = 1, XC_FAILED = 2, XC_CLOSED = 3 };

struct xconn {
    const cli *c;
    xmpp_mem_t mem;
    xmpp_log_t log;
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    int state;
    int verbose;
    unsigned timeout_ms;
    char last_error[512];
    char jid[CLI_JID_MAX + 1];
    /* the IQ being waited for */
    const char *wait_id;
    int answered;
    xconn_answer *answer;
    int answer_rc;
    xconn_message_fn on_message;
    void *msg_user;
    int pass_errors;
    xconn_presence_fn on_presence;
    void *presence_user;
    xconn_message_fn on_iq;
    void *iq_user;
    size_t received;
    uint64_t last_message_ms;
    size_t message_errors;
    /* ids of the messages bounced, with their conditions */
    struct xconn_bounce *bounced;
    size_t n_bounced;
    /* bare JIDs seen available (presence), for xconn_available */
    char (*available)[CLI_JID_MAX + 1];
    size_t n_available;
};

typedef struct xconn_bounce {
    char id[XCONN_ID_MAX + 1];
    char condition[64];
} xconn_bounce;

/* ---- memory: a size header so that free can wipe the block */

#define HDR 16u

static void *mem_alloc(size_t size, void *u)
{
    (void)u;
    if (size > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(size + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    return p + HDR;
}

static void mem_free(void *ptr, void *u)
{
    (void)u;
    if (ptr == NULL)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    sodium_memzero(p, size + HDR);
    free(p);
}

static void *mem_realloc(void *ptr, size_t size, void *u)
{
    if (ptr == NULL)
        return mem_alloc(size, u);
    unsigned char *q = mem_alloc(size, u);
    if (q == NULL)
        return NULL;
    size_t old;
    memcpy(&old, (unsigned char *)ptr - HDR, sizeof old);
    memcpy(q, ptr, old < size ? old : size);
    mem_free(ptr, u);
    return q;
}

/* ---- log: keep the last error for the failure message */

static void on_log(void *user, xmpp_log_level_t level, const char *area, const char *msg)
{
    xconn *x = user;
    if (level < XMPP_LEVEL_WARN)
        return;
    if (level == XMPP_LEVEL_ERROR)
        snprintf(x->last_error, sizeof x->last_error, "%s: %s", area, msg);
    if (x->verbose)
        fprintf(stderr, "esessionctl %s: xmpp %s: %s: %s\n", x->c->cmd,
                level == XMPP_LEVEL_ERROR ? "error" : "warning", area, msg);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- handlers */

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
                    xmpp_stream_error_t *se, void *user)
{
    xconn *x = user;
    (void)conn;
    if (ev == XMPP_CONN_CONNECT) {
        x->state = XC_CONNECTED;
        return;
    }
    if (x->state == XC_CONNECTING && x->last_error[0] == '\0') {
        if (se != NULL && se->text != NULL)
            snprintf(x->last_error, sizeof x->last_error, "stream error: %s", se->text);
        else if (error != 0)
            snprintf(x->last_error, sizeof x->last_error, "%s", strerror(error));
    }
    x->state = x->state == XC_CONNECTING ? XC_FAILED : XC_CLOSED;
}

static int stanza_text(xmpp_stanza_t *st, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    if (xmpp_stanza_to_text(st, &buf, &n) != XMPP_EOK || buf == NULL)
        return -1;
    char *copy = malloc(n + 1);
    if (copy != NULL) {
        memcpy(copy, buf, n);
        copy[n] = '\0';
    }
    xmpp_free(xmpp_stanza_get_context(st), buf);
    if (copy == NULL)
        return -1;
    *out = copy;
    *len = n;
    return 0;
}

static void error_condition(xmpp_stanza_t *st, char *out, size_t n)
{
    out[0] = '\0';
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    for (xmpp_stanza_t *ch = err ? xmpp_stanza_get_children(err) : NULL; ch != NULL;
         ch = xmpp_stanza_get_next(ch)) {
        const char *ns = xmpp_stanza_get_ns(ch);
        const char *name = xmpp_stanza_get_name(ch);
        if (ns != NULL && name != NULL && strcmp(ns, XMPP_NS_STANZAS) == 0 &&
            strcmp(name, "text") != 0) {
            snprintf(out, n, "%s", name);
            return;
        }
    }
    snprintf(out, n, "undefined-condition");
}

static int on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *user)
{
    xconn *x = user;
    (void)conn;
    const char *type = xmpp_stanza_get_type(st);
    if (type == NULL || (strcmp(type, "result") != 0 && strcmp(type, "error") != 0))
        return 0;
    if (x->answer != NULL) {
        x->answer->is_error = strcmp(type, "error") == 0;
        if (x->answer->is_error)
            error_condition(st, x->answer->condition, sizeof x->answer->condition);
        x->answer_rc = stanza_text(st, &x->answer->text, &x->answer->len) == 0 ? CLI_OK
                                                                                : CLI_EXIT_INTERNAL;
    }
    x->answered = 1;
    return 0; /* one answer per id */
}

static void note_bounce(xconn *x, const char *id, const char *cond)
{
    if (id == NULL || strlen(id) > XCONN_ID_MAX)
        return; /* not one of ours: only counted */
    xconn_bounce *v = realloc(x->bounced, (x->n_bounced + 1) * sizeof *v);
    if (v == NULL)
        return; /* counted all the same: the caller keeps everything */
    x->bounced = v;
    snprintf(v[x->n_bounced].id, sizeof v->id, "%s", id);
    snprintf(v[x->n_bounced].condition, sizeof v->condition, "%s", cond);
    x->n_bounced++;
}

static long available_index(const xconn *x, const char *bare)
{
    for (size_t i = 0; i < x->n_available; i++)
        if (strcmp(x->available[i], bare) == 0)
            return (long)i;
    return -1;
}

/* Who is online, as far as the server tells us (RFC 6121 §4.4): a
 * presence without type is available, type unavailable is gone. */
static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *user)
{
    xconn *x = user;
    (void)conn;
    const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
    char bare[CLI_JID_MAX + 1];
    if (from == NULL || strlen(from) > CLI_JID_MAX)
        return 1;
    xcmd_bare(from, bare, sizeof bare);
    long i = available_index(x, bare);
    if (type == NULL && i < 0) {
        void *v = realloc(x->available, (x->n_available + 1) * sizeof *x->available);
        if (v != NULL) {
            x->available = v;
            snprintf(x->available[x->n_available++], CLI_JID_MAX + 1, "%s", bare);
        }
    } else if (type != NULL && strcmp(type, "unavailable") == 0 && i >= 0) {
        memmove(&x->available[i], &x->available[i + 1],
                (x->n_available - (size_t)i - 1) * sizeof *x->available);
        x->n_available--;
    }
    if (x->on_presence != NULL) {
        x->received++;
        x->on_presence(x->presence_user, from, type);
    }
    return 1;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *user)
{
    xconn *x = user;
    (void)conn;
    x->last_message_ms = now_ms();
    const char *type = xmpp_stanza_get_type(st);
    if (type != NULL && strcmp(type, "error") == 0) {
        char cond[64];
        error_condition(st, cond, sizeof cond);
        x->message_errors++;
        note_bounce(x, xmpp_stanza_get_id(st), cond);
        if (!x->pass_errors || x->on_message == NULL) {
            cli_warn(x->c, "the server returned a message as undeliverable (%s)", cond);
            return 1;
        }
    }
    if (x->on_message == NULL)
        return 1;
    x->received++;
    char *text;
    size_t len;
    if (stanza_text(st, &text, &len) != 0) {
        cli_err(x->c, "out of memory serializing a received message");
        x->message_errors++;
        return 1;
    }
    x->on_message(x->msg_user, text, len);
    free(text);
    return 1;
}

/* Answer the server's pings so that it keeps us. */
static int on_ping(xmpp_conn_t *conn, xmpp_stanza_t *st, void *user)
{
    (void)user;
    const char *type = xmpp_stanza_get_type(st);
    const char *id = xmpp_stanza_get_id(st);
    if (type == NULL || strcmp(type, "get") != 0 || id == NULL ||
        xmpp_stanza_get_child_by_ns(st, XMPP_NS_PING) == NULL)
        return 1;
    xmpp_stanza_t *res = xmpp_stanza_reply(st);
    if (res != NULL) {
        xmpp_stanza_set_type(res, "result");
        xmpp_send(conn, res);
        xmpp_stanza_release(res);
    }
    return 1;
}

/* Every other IQ, for the caller: requests it must answer, and answers
 * to its own requests sent without waiting. */
static int on_other_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *user)
{
    xconn *x = user;
    (void)conn;
    const char *type = xmpp_stanza_get_type(st), *id = xmpp_stanza_get_id(st);
    if (x->on_iq == NULL || type == NULL)
        return 1;
    if (strcmp(type, "get") == 0 && xmpp_stanza_get_child_by_ns(st, XMPP_NS_PING) != NULL)
        return 1; /* on_ping's */
    if (x->wait_id != NULL && id != NULL && strcmp(id, x->wait_id) == 0)
        return 1; /* xconn_iq's */
    char *text;
    size_t len;
    if (stanza_text(st, &text, &len) != 0) {
        cli_err(x->c, "out of memory serializing a received IQ");
        return 1;
    }
    x->received++;
    x->on_iq(x->iq_user, text, len);
    free(text);
    return 1;
}

/* ---- running the loop */

/* libstrophe's last error, in the user's terms. */
static const char *failure(const xconn *x)
{
    if (strstr(x->last_error, "certfail") != NULL || strstr(x->last_error, "certificate") != NULL)
        return "the server's certificate could not be verified for this domain (for a private "
               "or test CA, give it with --cafile)";
    if (strncmp(x->last_error, "auth:", 5) == 0)
        return "authentication failed (wrong JID or password, or no common method)";
    if (x->last_error[0] == '\0')
        return x->state == XC_CLOSED ? "closed by the server"
                                     : "refused, unreachable, or closed by the server";
    return x->last_error;
}

static int run_until(xconn *x, int (*done)(const xconn *), const char *what)
{
    uint64_t deadline = now_ms() + x->timeout_ms;
    while (!done(x)) {
        if (x->state == XC_FAILED || x->state == XC_CLOSED) {
            cli_err(x->c, "%s: the connection %s: %s", what,
                    x->state == XC_FAILED ? "failed" : "closed", failure(x));
            return CLI_EXIT_IO;
        }
        uint64_t t = now_ms();
        if (t >= deadline) {
            cli_err(x->c, "%s: no answer from the server within %u s", what, x->timeout_ms / 1000);
            return CLI_EXIT_IO;
        }
        xmpp_run_once(x->ctx, deadline - t < 100 ? (unsigned long)(deadline - t) : 100);
    }
    return CLI_OK;
}

static int is_connected(const xconn *x)
{
    return x->state == XC_CONNECTED;
}

static int is_answered(const xconn *x)
{
    return x->answered;
}

static int is_flushed(const xconn *x)
{
    return xmpp_conn_send_queue_len(x->conn) == 0;
}

int xconn_open(const cli *c, const xconn_opts *o, xconn **out)
{
    xconn *x = calloc(1, sizeof *x);
    if (x == NULL) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    x->c = c;
    x->verbose = o->verbose;
    x->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
    xmpp_initialize();
    x->mem = (xmpp_mem_t){.alloc = mem_alloc, .free = mem_free, .realloc = mem_realloc};
    x->log = (xmpp_log_t){.handler = on_log, .userdata = x};
    x->ctx = xmpp_ctx_new(&x->mem, &x->log);
    x->conn = x->ctx ? xmpp_conn_new(x->ctx) : NULL;
    if (x->conn == NULL) {
        cli_err(c, "cannot set up the XMPP connection");
        xconn_close(x);
        return CLI_EXIT_INTERNAL;
    }
    /* Stream management would resend stanzas on its own; the commands
     * decide themselves what was delivered. */
    xmpp_conn_set_flags(x->conn, XMPP_CONN_FLAG_MANDATORY_TLS | XMPP_CONN_FLAG_DISABLE_SM);
    if (o->cafile != NULL)
        xmpp_conn_set_cafile(x->conn, o->cafile);
    xmpp_conn_set_jid(x->conn, o->jid);
    xmpp_conn_set_pass(x->conn, o->password);
    xmpp_handler_add(x->conn, on_message, NULL, "message", NULL, x);
    xmpp_handler_add(x->conn, on_ping, XMPP_NS_PING, "iq", "get", x);
    xmpp_handler_add(x->conn, on_presence, NULL, "presence", NULL, x);
    xmpp_handler_add(x->conn, on_other_iq, NULL, "iq", NULL, x);
    if (xmpp_connect_client(x->conn, o->host, (unsigned short)o->port, on_conn, x) != XMPP_EOK) {
        cli_err(c, "cannot connect to %s: %s", o->host ? o->host : o->jid,
                x->last_error[0] ? x->last_error : "connection refused or name unknown");
        xconn_close(x);
        return CLI_EXIT_IO;
    }
    char what[CLI_JID_MAX + 32];
    snprintf(what, sizeof what, "logging in as %s", o->jid);
    int rc = run_until(x, is_connected, what);
    if (rc == CLI_OK && !xmpp_conn_is_secured(x->conn)) {
        cli_err(c, "%s: the connection is not encrypted", what);
        rc = CLI_EXIT_IO;
    }
    if (rc != CLI_OK) {
        xconn_close(x);
        return rc;
    }
    const char *bound = xmpp_conn_get_bound_jid(x->conn);
    snprintf(x->jid, sizeof x->jid, "%s", bound ? bound : o->jid);
    *out = x;
    return CLI_OK;
}

void xconn_on_message(xconn *x, xconn_message_fn fn, void *user)
{
    x->on_message = fn;
    x->msg_user = user;
}

void xconn_pass_errors(xconn *x, int on)
{
    x->pass_errors = on;
}

void xconn_on_presence(xconn *x, xconn_presence_fn fn, void *user)
{
    x->on_presence = fn;
    x->presence_user = user;
}

void xconn_on_iq(xconn *x, xconn_message_fn fn, void *user)
{
    x->on_iq = fn;
    x->iq_user = user;
}

size_t xconn_received(const xconn *x)
{
    return x->received;
}

int xconn_run(xconn *x, unsigned ms)
{
    if (x->state == XC_CONNECTED)
        xmpp_run_once(x->ctx, ms);
    if (x->state != XC_CONNECTED) {
        cli_err(x->c, "the connection %s: %s", x->state == XC_FAILED ? "failed" : "closed",
                failure(x));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

const char *xconn_jid(const xconn *x)
{
    return x->jid;
}

const char *xconn_bounced(const xconn *x, const char *id)
{
    for (size_t i = 0; x != NULL && id != NULL && i < x->n_bounced; i++)
        if (strcmp(x->bounced[i].id, id) == 0)
            return x->bounced[i].condition;
    return NULL;
}

int xconn_available(const xconn *x, const char *bare)
{
    return x != NULL && available_index(x, bare) >= 0;
}

size_t xconn_message_errors(const xconn *x)
{
    return x->message_errors;
}

int xconn_send(xconn *x, const char *text, size_t len)
{
    if (x->state != XC_CONNECTED) {
        cli_err(x->c, "not connected");
        return CLI_EXIT_IO;
    }
    xmpp_send_raw(x->conn, text, len);
    /* The loop writes its queue before it waits for input: one turn that
     * does not wait usually sends it all, where run_until's first turn
     * would then sit up to 100 ms waiting for input. */
    xmpp_run_once(x->ctx, 0);
    return run_until(x, is_flushed, "sending");
}

int xconn_iq(xconn *x, const char *text, size_t len, const char *id, xconn_answer *ans)
{
    memset(ans, 0, sizeof *ans);
    x->answered = 0;
    x->answer = ans;
    x->answer_rc = CLI_OK;
    x->wait_id = id;
    xmpp_id_handler_add(x->conn, on_iq, id, x);
    int rc = xconn_send(x, text, len);
    if (rc == CLI_OK)
        rc = run_until(x, is_answered, "waiting for the server's answer");
    xmpp_id_handler_delete(x->conn, on_iq, id);
    x->answer = NULL;
    x->wait_id = NULL;
    if (rc == CLI_OK)
        rc = x->answer_rc;
    if (rc != CLI_OK)
        xconn_answer_free(ans);
    return rc;
}

void xconn_answer_free(xconn_answer *ans)
{
    free(ans->text);
    memset(ans, 0, sizeof *ans);
}

void xconn_new_id(char out[33])
{
    uint8_t r[16];
    randombytes_buf(r, sizeof r);
    cli_hex(r, sizeof r, out);
}

int xconn_sync(xconn *x)
{
    char id[33], iq[160];
    xconn_new_id(id);
    int n = snprintf(iq, sizeof iq, "<iq type='get' id='%s'><ping xmlns='" XMPP_NS_PING "'/></iq>",
                     id);
    xconn_answer ans;
    int rc = xconn_iq(x, iq, (size_t)n, id, &ans);
    /* An error answer (ping unsupported) still ends the round trip. */
    xconn_answer_free(&ans);
    return rc;
}

int xconn_idle(xconn *x, unsigned idle_ms)
{
    x->last_message_ms = now_ms();
    uint64_t deadline = x->last_message_ms + x->timeout_ms;
    for (;;) {
        uint64_t t = now_ms();
        if (t - x->last_message_ms >= idle_ms)
            return CLI_OK;
        if (x->state != XC_CONNECTED) {
            cli_err(x->c, "the connection closed: %s", x->last_error);
            return CLI_EXIT_IO;
        }
        if (t >= deadline) /* messages keep coming: let the caller go on */
            return CLI_OK;
        xmpp_run_once(x->ctx, 50);
    }
}

void xconn_close(xconn *x)
{
    if (x == NULL)
        return;
    if (x->conn != NULL) {
        if (x->state == XC_CONNECTED) {
            xmpp_disconnect(x->conn);
            uint64_t deadline = now_ms() + 3000;
            while (x->state == XC_CONNECTED && now_ms() < deadline)
                xmpp_run_once(x->ctx, 50);
        }
        xmpp_conn_release(x->conn);
    }
    if (x->ctx != NULL)
        xmpp_ctx_free(x->ctx);
    xmpp_shutdown();
    free(x->bounced);
    free(x->available);
    sodium_memzero(x, sizeof *x);
    free(x);
}
