/* SPDX-License-Identifier: ISC */
/* xmpp-receive: Alice back online (XEP-0187 §3.4) on a real server. She
 * withdraws her options (the empty item), then takes what the server stored
 * for her: with XEP-0013 (headers, then presence, then view each, open it,
 * hand the plaintext to durable output, and only then remove it), or by
 * plain flood delivery on presence (XEP-0160). */
#include "xcmd.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: esessionctl xmpp-receive -j JID [account options] [-k PATH]\n"
    "                                [--mode auto|pop3|flood] [--deliver CMD]\n"
    "                                [--idle SECONDS]\n"
    "Back online: log in, withdraw the offline options (publish the empty item),\n"
    "open every stanza the server stored, hand each message to the output, and only\n"
    "then let the server drop it. Once nothing is left unopened, the Diffie-Hellman\n"
    "exponents of the withdrawn options are destroyed.\n"
    "  --mode MODE             pop3: XEP-0013 (view, then remove each stanza after its\n"
    "                          message is stored); flood: the server sends everything\n"
    "                          on presence and forgets it; auto (default): pop3 when\n"
    "                          the server offers it\n"
    "  --deliver CMD           run CMD (by /bin/sh) for each message: plaintext on its\n"
    "                          standard input; ESESSION_FROM, ESESSION_FROM_BARE,\n"
    "                          ESESSION_THREAD, ESESSION_POSITION, ESESSION_CREATED and\n"
    "                          ESESSION_DELAY in its environment; exit status 0 means\n"
    "                          stored. A message may come again after an interrupted\n"
    "                          run: keep one per FROM_BARE, THREAD and POSITION.\n"
    "                          Default: standard output (synced if a file)\n"
    "  --idle SECONDS          flood: stop after this long without a message (default 2)\n"
    "In flood mode the server forgets what it sent: the stanzas are kept (encrypted)\n"
    "in KEYSTORE.unopened.xml until settled, and the next run opens them first.\n"
    XOPT_HELP XCMD_KS_HELP;

#define NS_OFFLINE "http://jabber.org/protocol/offline"
#define HEADERS_MAX 4096u
/* The journal holds at most what one run keeps: read back whole. */
#define JOURNAL_MAX (64u << 20)
#define NODE_MAX 256u

enum { O_MODE = 1, O_DELIVER, O_IDLE };
enum { MODE_AUTO = 0, MODE_POP3, MODE_FLOOD };

typedef struct rx_item {
    char node[NODE_MAX]; /* XEP-0013 node, "" for a flooded stanza */
    char *text;          /* the stanza's text, until handled */
    size_t len;
    int final;           /* last result kind; 0: none yet */
    int keep;            /* stays on the server / is saved */
    int settled;         /* may leave the server once the keystore is flushed */
    int waiting;         /* no session yet: waits for its session's first stanza */
} rx_item;

typedef struct xrecv {
    cli c;
    xopts x;
    int mode;
    const char *deliver;
    unsigned idle_ms;
    xconn *conn;
    esession_receiver *r;
    rx_item *items;
    size_t n, cap;
    /* the view being waited for ("" if none) */
    char want_node[NODE_MAX];
    char *viewed;
    size_t viewed_len;
    uint32_t run;  /* tags are run << 32 | index + 1: held stanzas outlive a run */
    char (*ended)[2][CLI_JID_MAX + 1]; /* sessions Bob terminated: bare JID, thread */
    size_t n_ended;
    size_t opened, plain, duplicates, terminated, rejected;
    int progress;  /* "12 of 240" on a terminal */
    int rc;        /* the exit code of the first rejected stanza */
    int fatal;     /* output or connection failure: stop */
} xrecv;

static int opt(cli *c, int id, const char *arg, void *u)
{
    xrecv *o = u;
    unsigned long long v;
    int r = xopts_take(c, &o->x, id, arg);
    if (r >= 0)
        return r;
    switch (id) {
    case O_MODE:
        if (strcmp(arg, "auto") == 0)
            o->mode = MODE_AUTO;
        else if (strcmp(arg, "pop3") == 0)
            o->mode = MODE_POP3;
        else if (strcmp(arg, "flood") == 0)
            o->mode = MODE_FLOOD;
        else
            return cli_usage_error(c, "--mode is auto, pop3 or flood");
        return 0;
    case O_DELIVER:
        o->deliver = arg;
        return 0;
    case O_IDLE:
        if (cli_parse_uint(arg, 1, 600, &v) != 0)
            return cli_usage_error(c, "--idle is a number of seconds from 1 to 600");
        o->idle_ms = (unsigned)v * 1000u;
        return 0;
    default:
        return cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
    }
}

static rx_item *add_item(xrecv *o)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        if (cap > HEADERS_MAX * 2)
            return NULL;
        rx_item *p = realloc(o->items, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        o->items = p;
        o->cap = cap;
    }
    rx_item *it = &o->items[o->n++];
    memset(it, 0, sizeof *it);
    return it;
}

/* ---- talking to the server */

/* Send <iq id='...' HEAD ARG TAIL, ARG escaped for an attribute value. */
static int send_iq(xrecv *o, const char *head, const char *arg, const char *tail,
                   xconn_answer *ans)
{
    char id[33], *esc = NULL;
    size_t elen = 0;
    xconn_new_id(id);
    if (cli_xml_escape(arg, strlen(arg), 1, &esc, &elen) != 0) {
        cli_err(&o->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    size_t n = strlen(head) + elen + strlen(tail) + sizeof id + 16;
    char *iq = malloc(n);
    if (iq == NULL) {
        free(esc);
        cli_err(&o->c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    int k = snprintf(iq, n, "<iq id='%s' %s%s%s", id, head, esc, tail);
    free(esc);
    int rc = xconn_iq(o->conn, iq, (size_t)k, id, ans);
    free(iq);
    return rc;
}

/* The children of the <query/> (or other first child) of an IQ answer. */
static int answer_children(const xconn_answer *ans, const char *child, const char **base,
                           xs_elem **out, int *n)
{
    xs_elem iq, q;
    *out = NULL;
    *n = 0;
    if (xs_split(ans->text, ans->len, &iq, 1) != 1 || !xs_find(ans->text, &iq, child, &q))
        return 0;
    *base = ans->text + q.inner;
    int k = xs_split(*base, q.inner_end - q.inner, NULL, 0);
    if (k <= 0)
        return 0;
    *out = calloc((size_t)k, sizeof **out);
    if (*out == NULL)
        return -1;
    *n = xs_split(*base, q.inner_end - q.inner, *out, (size_t)k);
    return 0;
}

static int offers_pop3(xrecv *o, int *yes)
{
    char domain[CLI_JID_MAX + 1];
    const char *at = strchr(xconn_jid(o->conn), '@');
    xcmd_bare(at ? at + 1 : xconn_jid(o->conn), domain, sizeof domain);
    xconn_answer ans;
    int rc = send_iq(o, "type='get' to='", domain,
                     "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", &ans);
    if (rc != CLI_OK)
        return rc;
    *yes = 0;
    const char *base = NULL;
    xs_elem *e = NULL;
    int n = 0;
    if (!ans.is_error && answer_children(&ans, "query", &base, &e, &n) == 0) {
        for (int i = 0; i < n; i++) {
            char var[128];
            if (xs_attr(base, &e[i], "var", var, sizeof var) && strcmp(var, NS_OFFLINE) == 0)
                *yes = 1;
        }
    }
    free(e);
    xconn_answer_free(&ans);
    return CLI_OK;
}

/* XEP-0013 §2.3: the headers, before presence so that nothing is flooded. */
static int get_headers(xrecv *o)
{
    xconn_answer ans;
    int rc = send_iq(o, "type='get'><query xmlns='http://jabber.org/protocol/disco#items' node='",
                 NS_OFFLINE, "'/></iq>", &ans);
    if (rc != CLI_OK)
        return rc;
    if (ans.is_error) {
        rc = xcmd_refused(&o->c, "listing the stored messages (XEP-0013)", &ans);
        xconn_answer_free(&ans);
        return rc;
    }
    const char *base = NULL;
    xs_elem *e = NULL;
    int n = 0;
    if (answer_children(&ans, "query", &base, &e, &n) != 0)
        rc = CLI_EXIT_INTERNAL;
    for (int i = 0; rc == CLI_OK && i < n && o->n < HEADERS_MAX; i++) {
        char node[NODE_MAX];
        if (!xs_attr(base, &e[i], "node", node, sizeof node) || node[0] == '\0')
            continue;
        rx_item *it = add_item(o);
        if (it == NULL)
            rc = CLI_EXIT_INTERNAL;
        else
            memcpy(it->node, node, sizeof node);
    }
    if (rc == CLI_EXIT_INTERNAL)
        cli_err(&o->c, "out of memory");
    free(e);
    xconn_answer_free(&ans);
    return rc;
}

/* A message that came with an XEP-0013 marker answers the view being
 * waited for; any other is flooded or live and handled afterwards. */
static void on_message(void *user, const char *text, size_t len)
{
    xrecv *o = user;
    xs_elem m, off, item;
    char node[NODE_MAX] = "";
    if (xs_split(text, len, &m, 1) == 1 && xs_find(text, &m, "offline", &off) &&
        xs_find(text, &off, "item", &item))
        (void)xs_attr(text, &item, "node", node, sizeof node);
    if (o->want_node[0] != '\0' && o->viewed == NULL && strcmp(node, o->want_node) == 0) {
        o->viewed = malloc(len + 1);
        if (o->viewed != NULL) {
            memcpy(o->viewed, text, len);
            o->viewed[len] = '\0';
            o->viewed_len = len;
        }
        return;
    }
    rx_item *it = add_item(o);
    char *copy = it ? malloc(len + 1) : NULL;
    if (copy == NULL) {
        if (it != NULL)
            o->n--;
        cli_err(&o->c, "out of memory: a received stanza was dropped");
        o->fatal = CLI_EXIT_INTERNAL;
        return;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    it->text = copy;
    it->len = len;
}

static int remove_node(xrecv *o, const char *node)
{
    xconn_answer ans;
    int rc = send_iq(o, "type='set'><offline xmlns='" NS_OFFLINE "'><item action='remove' node='",
                     node, "'/></offline></iq>", &ans);
    if (rc != CLI_OK)
        return rc;
    if (ans.is_error)
        rc = xcmd_refused(&o->c, "removing a stored message", &ans);
    xconn_answer_free(&ans);
    return rc;
}

/* ---- results */

static int permanent(esession_status e)
{
    switch (e) {
    case ESESSION_ERR_UNTRUSTED_KEY: /* trusting the key later opens it */
    case ESESSION_ERR_IO:
    case ESESSION_ERR_NO_MEMORY:
    case ESESSION_ERR_INTERNAL:
    case ESESSION_ERR_RANDOM:
    case ESESSION_ERR_CORRUPT:
        return 0;
    default:
        return 1;
    }
}

static rx_item *item_of(xrecv *o, uint64_t tag)
{
    uint64_t i = tag & 0xffffffffu;
    return tag >> 32 == o->run && i >= 1 && i <= o->n ? &o->items[i - 1] : NULL;
}

static uint64_t tag_of(const xrecv *o, size_t index)
{
    return (uint64_t)o->run << 32 | (uint64_t)(index + 1);
}

static void source_name(const xrecv *o, const rx_item *it, char *out, size_t n)
{
    if (it == NULL)
        snprintf(out, n, "held since an earlier run");
    else if (it->node[0] != '\0')
        snprintf(out, n, "stored %s", it->node);
    else
        snprintf(out, n, "received #%zu", (size_t)(it - o->items) + 1);
}

/* Could a session still begin? Only while some option set has its
 * exponents and has not expired: until then a stanza without a session
 * may yet find its first stanza. */
static int can_still_open(const xrecv *o)
{
    int64_t now = cli_now();
    size_t n = esession_optset_count(o->c.ks);
    for (size_t i = 0; i < n; i++) {
        esession_optset_info info;
        if (esession_optset_at(o->c.ks, i, &info) == ESESSION_OK && !info.secrets_destroyed &&
            info.expires > now)
            return 1;
    }
    return 0;
}

/* Remember a terminated session, to end it once the queue is drained. */
static void note_ended(xrecv *o, const esession_result *res)
{
    if (res->from_bare.data == NULL || res->thread.data == NULL ||
        res->from_bare.len > CLI_JID_MAX || res->thread.len > CLI_JID_MAX)
        return;
    void *p = realloc(o->ended, (o->n_ended + 1) * sizeof *o->ended);
    if (p == NULL)
        return; /* the session then simply stays, as Bob's may */
    o->ended = p;
    memcpy(o->ended[o->n_ended][0], res->from_bare.data, res->from_bare.len + 1);
    memcpy(o->ended[o->n_ended][1], res->thread.data, res->thread.len + 1);
    o->n_ended++;
}

/* One result. A message goes to the output whatever run its stanza came
 * in; a stanza of this run leaves the server only once it is settled. */
static int act(xrecv *o, const esession_result *res)
{
    cli *c = &o->c;
    /* A message from the inbox came in an earlier run: no item of ours. */
    rx_item *it = res->redelivered ? NULL : item_of(o, res->tag);
    char source[NODE_MAX + 32];
    if (res->redelivered)
        snprintf(source, sizeof source, "inbox");
    else
        source_name(o, it, source, sizeof source);
    int done = 1;
    switch (res->kind) {
    case ESESSION_RESULT_MESSAGE: {
        int rc = xdeliver(c, o->deliver, source, res);
        /* Out of the inbox once handed over (in the batch, with the rest). */
        if (rc == CLI_OK) {
            esession_status st = esession_receiver_confirm(o->r, res);
            if (st != ESESSION_OK)
                rc = cli_fail(c, st, "cannot confirm a delivered message");
        }
        if (rc != CLI_OK) {
            if (it != NULL)
                it->keep = 1;
            return rc;
        }
        if (o->deliver != NULL)
            printf("== %s: opened\n", source);
        o->opened++;
        break;
    }
    case ESESSION_RESULT_PLAIN: {
        /* Somebody's ordinary message: delivered, marked, never dropped. */
        int rc = xdeliver(c, o->deliver, source, res);
        if (rc != CLI_OK) {
            if (it != NULL)
                it->keep = 1;
            return rc;
        }
        if (o->deliver != NULL)
            printf("== %s: not encrypted\n", source);
        o->plain++;
        break;
    }
    case ESESSION_RESULT_DUPLICATE:
        printf("== %s: duplicate\n", source);
        o->duplicates++;
        break;
    case ESESSION_RESULT_TERMINATED:
        printf("== %s: terminated\n", source);
        o->terminated++;
        note_ended(o, res);
        break;
    case ESESSION_RESULT_HELD:
        printf("== %s: held\n", source);
        done = 0;
        break;
    default:
        if (res->error == ESESSION_ERR_NO_SESSION && it != NULL &&
            can_still_open(o)) {
            /* Its session's first stanza may come later (or in another
             * order): kept, fed again, reported only if it never can. */
            it->waiting = 1;
            done = 0;
            break;
        }
        printf("== %s: rejected (%s)\n", source, esession_status_name(res->error));
        cli_warn(c, "%s: %s", source, esession_status_string(res->error));
        if (o->rc == CLI_OK)
            o->rc = cli_exit_code(res->error);
        o->rejected++;
        done = permanent(res->error);
        break;
    }
    if (fflush(stdout) != 0)
        return CLI_EXIT_IO;
    if (it == NULL)
        return CLI_OK;
    it->final = (int)res->kind;
    it->keep = !done;
    it->settled = done && it->node[0] != '\0';
    return CLI_OK;
}

/* Let the server drop the stanzas settled so far. Each was opened in a
 * transaction of its own, its message kept in the keystore's inbox until
 * handed over: a crash before that hands it over again from the inbox
 * (same id and position), a crash after it finds the stanza a duplicate.
 * No keystore lock is held across the network. */
static int commit(xrecv *o)
{
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < o->n; i++) {
        if (!o->items[i].settled)
            continue;
        char node[NODE_MAX];
        memcpy(node, o->items[i].node, NODE_MAX); /* items may move meanwhile */
        o->items[i].settled = 0;
        rc = remove_node(o, node);
    }
    return rc;
}

static int drain(xrecv *o)
{
    int rc = CLI_OK;
    esession_result res;
    while (esession_receiver_next(o->r, &res)) {
        if (rc == CLI_OK) {
            rc = act(o, &res);
        } else {
            rx_item *it = item_of(o, res.tag);
            if (it != NULL)
                it->keep = 1; /* not handed out: keep it */
        }
        esession_result_free(&res);
    }
    return rc;
}

static int feed(xrecv *o, const char *text, size_t len, size_t index)
{
    esession_status st = esession_receiver_feed(o->r, text, len, tag_of(o, index));
    if (st != ESESSION_OK)
        return cli_fail(&o->c, st, "cannot process a stanza");
    int rc = drain(o);
    return rc == CLI_OK ? commit(o) : rc;
}

/* The queue is drained: a stanza still held in a session Bob terminated
 * fits none of its gaps and no other copy can come. End those sessions
 * (their held stanzas are given up as bad-mac; replay memory stays). */
static int end_terminated(xrecv *o)
{
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < o->n_ended; i++) {
        esession_status st = esession_receiver_end(o->r, o->ended[i][0], o->ended[i][1]);
        if (st != ESESSION_OK && st != ESESSION_ERR_NO_SESSION)
            rc = cli_fail(&o->c, st, "cannot end a terminated session");
        else if ((rc = drain(o)) == CLI_OK)
            rc = commit(o);
    }
    return rc;
}

/* "12 of 240" on a terminal, from the XEP-0013 count. */
static void show_progress(const xrecv *o, size_t done, size_t total)
{
    if (!o->progress)
        return;
    fprintf(stderr, "\rxmpp-receive: %zu of %zu%s", done, total, done == total ? "\n" : "");
    fflush(stderr);
}

static size_t count_waiting(const xrecv *o)
{
    size_t n = 0;
    for (size_t i = 0; i < o->n; i++)
        n += o->items[i].waiting;
    return n;
}

/* Stanzas that found no session are fed again while that helps: the
 * first stanza of their session may have come after them. What still
 * waits stays (on the server, or in the journal) for a later run. */
static int feed_waiting(xrecv *o)
{
    int rc = CLI_OK;
    size_t before = count_waiting(o);
    while (rc == CLI_OK && !o->fatal && before > 0) {
        for (size_t i = 0; rc == CLI_OK && i < o->n; i++) {
            if (!o->items[i].waiting || o->items[i].text == NULL)
                continue;
            o->items[i].waiting = 0;
            rc = feed(o, o->items[i].text, o->items[i].len, i);
        }
        size_t after = count_waiting(o);
        if (after >= before)
            break;
        before = after;
    }
    return rc;
}

static int view_all(xrecv *o, size_t from, size_t headers)
{
    int rc = CLI_OK;
    for (size_t i = from; rc == CLI_OK && !o->fatal && i < headers; i++) {
        /* o->items may move while waiting: messages arriving are added */
        xconn_answer ans;
        memcpy(o->want_node, o->items[i].node, NODE_MAX);
        rc = send_iq(o, "type='get'><offline xmlns='" NS_OFFLINE "'><item action='view' node='",
                     o->want_node, "'/></offline></iq>", &ans);
        if (rc != CLI_OK)
            break;
        int gone = ans.is_error;
        xconn_answer_free(&ans);
        if (o->viewed == NULL) {
            if (!gone)
                cli_warn(&o->c, "stored %s: the server sent no message for it", o->want_node);
            o->items[i].final = -1;
        } else {
            /* Kept with its item: fed again if it waits for its session. */
            o->items[i].text = o->viewed;
            o->items[i].len = o->viewed_len;
            o->viewed = NULL;
            rc = feed(o, o->items[i].text, o->items[i].len, i);
        }
        o->want_node[0] = '\0';
        show_progress(o, i + 1 - from, headers - from);
    }
    o->want_node[0] = '\0';
    return rc;
}

static int handle_flooded(xrecv *o)
{
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < o->n; i++) {
        if (o->items[i].text == NULL || o->items[i].final != 0)
            continue;
        rc = feed(o, o->items[i].text, o->items[i].len, i);
    }
    return rc;
}

/* ---- the journal of flooded stanzas
 * The server forgets a flooded stanza once sent: its text goes to
 * KEYSTORE.unopened.xml (encrypted as received) before anything is opened,
 * and stays there until it is settled, so that neither a crash nor a failed
 * delivery loses it. The next run reads it back first. */

static void journal_path(xrecv *o, char *out, size_t n)
{
    snprintf(out, n, "%s.unopened.xml", cli_keystore_path(&o->c));
}

/* Flooded stanzas still to be settled: never fed, or fed and kept (a
 * failed delivery, a local error). Held ones are kept by the library. */
static int in_journal(const rx_item *it)
{
    return it->node[0] == '\0' && it->text != NULL && it->final != ESESSION_RESULT_HELD &&
           (it->final == 0 || it->keep);
}

/* Replace the journal with the stanzas still to be settled (none: remove
 * it), atomically. */
static int journal_write(xrecv *o, size_t *count)
{
    char path[4200], tmp[4220];
    journal_path(o, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    *count = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < o->n; i++) {
        *count += in_journal(&o->items[i]);
        bytes += in_journal(&o->items[i]) ? o->items[i].len + 1 : 0;
    }
    if (bytes > JOURNAL_MAX) {
        cli_err(&o->c, "%s: the %zu stanzas to keep exceed %u MiB", path, *count, JOURNAL_MAX >> 20);
        return CLI_EXIT_IO;
    }
    if (*count == 0) {
        if (unlink(path) != 0 && errno != ENOENT) {
            cli_err(&o->c, "cannot remove %s: %s", path, strerror(errno));
            return CLI_EXIT_IO;
        }
        return CLI_OK;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int ok = fd >= 0;
    for (size_t i = 0; ok && i < o->n; i++) {
        const rx_item *it = &o->items[i];
        if (in_journal(it))
            ok = cli_write_all(fd, it->text, it->len) == 0 && cli_write_all(fd, "\n", 1) == 0;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        cli_err(&o->c, "cannot write %s: %s", path, strerror(errno));
        (void)unlink(tmp);
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

/* The stanzas an earlier run kept, as flooded stanzas of this one. */
static int journal_read(xrecv *o)
{
    char path[4200];
    journal_path(o, path, sizeof path);
    if (access(path, F_OK) != 0)
        return CLI_OK;
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_input(&o->c, path, JOURNAL_MAX, &text, &len);
    if (rc != CLI_OK)
        return rc;
    int n = xs_split(text, len, NULL, 0);
    xs_elem *e = n > 0 ? calloc((size_t)n, sizeof *e) : NULL;
    if (n < 0 || (n > 0 && e == NULL)) {
        cli_err(&o->c, "%s: %s", path, n < 0 ? "damaged (not a sequence of stanzas)" : "out of memory");
        free(text);
        return n < 0 ? CLI_EXIT_REJECTED : CLI_EXIT_INTERNAL;
    }
    (void)xs_split(text, len, e, (size_t)n);
    for (int i = 0; rc == CLI_OK && i < n; i++) {
        rx_item *it = add_item(o);
        char *copy = it ? malloc(e[i].end - e[i].start + 1) : NULL;
        if (copy == NULL) {
            cli_err(&o->c, "out of memory");
            rc = CLI_EXIT_INTERNAL;
            break;
        }
        it->len = e[i].end - e[i].start;
        memcpy(copy, text + e[i].start, it->len);
        copy[it->len] = '\0';
        it->text = copy;
    }
    free(e);
    free(text);
    if (rc == CLI_OK && n > 0)
        printf("%d stanza%s kept by an earlier run\n", n, n == 1 ? "" : "s");
    return rc;
}

static int withdraw(xrecv *o)
{
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    esession_status st = esession_online(o->c.ctx, o->c.ks, &iq, id);
    if (st != ESESSION_OK)
        return cli_fail(&o->c, st, "cannot withdraw the options");
    xconn_answer ans;
    int rc = xconn_iq(o->conn, iq.data, iq.len, id, &ans);
    esession_buf_free(&iq);
    if (rc != CLI_OK)
        return rc;
    if (ans.is_error) {
        /* Prosody 0.12 refuses an item without payload (bad-request):
         * retract the item instead, which empties the node just as well. */
        char cond[sizeof ans.condition];
        memcpy(cond, ans.condition, sizeof cond);
        xconn_answer_free(&ans);
        if ((st = esession_online_retract(o->c.ctx, &iq, id)) != ESESSION_OK)
            return cli_fail(&o->c, st, "cannot withdraw the options");
        rc = xconn_iq(o->conn, iq.data, iq.len, id, &ans);
        esession_buf_free(&iq);
        if (rc != CLI_OK)
            return rc;
        /* item-not-found: nothing is published (withdrawn before) */
        if (ans.is_error && strcmp(ans.condition, "item-not-found") != 0)
            cli_warn(&o->c, "the server refused the empty item (%s) and the retraction (%s); "
                            "the options stay published until they expire", cond,
                     ans.condition);
    }
    xconn_answer_free(&ans);
    return CLI_OK;
}

static int receive(xrecv *o)
{
    o->run = (uint32_t)randombytes_uniform(0xffffffffu) + 1u;
    int rc = journal_read(o);
    size_t kept_before = o->n;
    if (rc == CLI_OK)
        rc = withdraw(o);
    /* What an earlier run opened but never handed over goes out first. */
    esession_status st = ESESSION_OK;
    if (rc == CLI_OK && (st = esession_receiver_pending(o->r, NULL)) != ESESSION_OK)
        rc = cli_fail(&o->c, st, "cannot read the inbox");
    if (rc == CLI_OK)
        rc = drain(o);
    int pop3 = o->mode == MODE_POP3;
    if (rc == CLI_OK && o->mode == MODE_AUTO)
        rc = offers_pop3(o, &pop3);
    if (rc == CLI_OK && pop3)
        rc = get_headers(o);
    size_t headers = o->n; /* journal, then headers, then flooded stanzas */
    xconn_on_message(o->conn, on_message, o);
    if (rc == CLI_OK)
        rc = xconn_send(o->conn, "<presence/>", 11);
    if (rc == CLI_OK && pop3)
        rc = view_all(o, kept_before, headers);
    /* Flooded (or live) messages: wait until the server is quiet. The
     * server dropped what it flooded before the answer to the ping: into
     * the journal now, not after the wait, which a crash could cut short. */
    if (rc == CLI_OK && !o->fatal)
        rc = xconn_sync(o->conn);
    size_t journaled = 0;
    if (rc == CLI_OK && !o->fatal)
        rc = journal_write(o, &journaled);
    if (rc == CLI_OK && !o->fatal)
        rc = xconn_idle(o->conn, pop3 ? 200 : (o->idle_ms ? o->idle_ms : 2000));
    xconn_on_message(o->conn, NULL, NULL);
    if (rc == CLI_OK && !o->fatal)
        rc = journal_write(o, &journaled);
    if (rc == CLI_OK && !o->fatal)
        rc = handle_flooded(o);
    if (rc == CLI_OK && !o->fatal)
        rc = feed_waiting(o);
    if (rc == CLI_OK && !o->fatal)
        rc = end_terminated(o);
    if (rc == CLI_OK && o->fatal)
        rc = o->fatal;
    return rc;
}

int cmd_xmpp_receive(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, XOPT_DEFS,
                                      {"mode", 0, OPT_ARG_REQUIRED, O_MODE},
                                      {"deliver", 0, OPT_ARG_REQUIRED, O_DELIVER},
                                      {"idle", 0, OPT_ARG_REQUIRED, O_IDLE},
                                      CLI_OPT_END};
    xrecv o;
    memset(&o, 0, sizeof o);
    xopts_init(&o.x);
    o.progress = isatty(STDERR_FILENO);
    cli *c = &o.c;
    cli_begin(c, "xmpp-receive", usage);
    int rc = cli_parse_args(c, argc, argv, defs, NULL, 0, NULL, opt, &o);
    if (rc == CLI_OK)
        rc = xopts_check(c, &o.x);
    if (rc != CLI_OK)
        return cli_parse_exit(c, rc);
    if ((rc = cli_open_keystore(c)) == CLI_OK && (rc = xopts_connect(c, &o.x, &o.conn)) == CLI_OK) {
        esession_status st = esession_receiver_new(c->ctx, c->ks, &o.r);
        rc = st == ESESSION_OK ? receive(&o) : cli_fail(c, st, "cannot start receiving");
    }
    size_t held = 0, on_server = 0, saved = 0, waiting = count_waiting(&o);
    for (size_t i = 0; i < o.n; i++) {
        const rx_item *it = &o.items[i];
        held += it->final == ESESSION_RESULT_HELD;
        on_server += it->node[0] != '\0' && (it->keep || it->final == 0 || it->settled);
    }
    if (o.r != NULL) {
        int r = journal_write(&o, &saved);
        if (rc == CLI_OK)
            rc = r;
        if (saved > 0) {
            char path[4200];
            journal_path(&o, path, sizeof path);
            cli_warn(c, "%zu received stanza%s not settled yet, kept in %s for the next run", saved,
                     saved == 1 ? "" : "s", path);
        }
    }
    /* Expired sets go after the queue, so that what came under them is
     * reported as expired rather than unknown. */
    if (rc == CLI_OK && o.r != NULL) {
        esession_status st = esession_purge_expired(c->ctx, c->ks, NULL);
        if (st != ESESSION_OK)
            rc = cli_fail(c, st, "cannot destroy the expired option sets");
    }
    /* The exponents go only when nothing may still need them. */
    if (rc == CLI_OK && held == 0 && on_server == 0 && saved == 0) {
        esession_status st = esession_offline_queue_done(c->ctx, c->ks);
        if (st != ESESSION_OK)
            rc = cli_fail(c, st, "cannot destroy the withdrawn exponents");
    } else if (o.r != NULL && (held > 0 || on_server > 0 || waiting > 0)) {
        if (waiting > 0)
            cli_warn(c, "%zu stanza%s found no session yet and wait%s for the first stanza of "
                        "their session (reported as unreadable if it has not come when the "
                        "options expire)", waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
        cli_warn(c, "%zu stanza%s wait%s (held: %zu, left on the server: %zu); run xmpp-receive "
                    "again later (the withdrawn exponents are kept until then)",
                 held + on_server, held + on_server == 1 ? "" : "s",
                 held + on_server == 1 ? "s" : "", held, on_server);
    }
    if (o.r != NULL)
        printf("opened %zu, not encrypted %zu, duplicates %zu, terminated %zu, rejected %zu, "
               "waiting %zu\n", o.opened, o.plain, o.duplicates, o.terminated, o.rejected,
               held + on_server + saved);
    esession_receiver_free(o.r);
    xconn_close(o.conn);
    for (size_t i = 0; i < o.n; i++)
        free(o.items[i].text);
    free(o.items);
    free(o.viewed);
    free(o.ended);
    if (rc == CLI_OK)
        rc = o.rc;
    return cli_end(c, rc);
}
