/* SPDX-License-Identifier: ISC */
/* Differential: what Bob seals, Alice opens, exactly and in order.
 *
 * Input: one flags octet, then up to MAX_MESSAGES segments separated by
 * NUL octets. Flags: bits 0-1 Bob's re-key frequency minus one (Alice
 * allows 1), bit 2 deliver the first stanza (the <init>, without which
 * nothing opens) and then the others in reverse order, bit 3 every stanza
 * twice, bit 4 end with Bob's termination, bit 5 raw mode. A segment is
 * the text of a <body> (escaped here), or in raw mode the children of the
 * client's <message/> as XML.
 *
 * Every run starts a new session with the same random stream (so it is
 * reproducible alone) and Alice's side runs in a batch that is rolled
 * back. Segments the library refuses to seal are skipped. The run aborts
 * if a sealed stanza does not open (ERROR, or still held at the end), if
 * a body differs (text mode: the <body> text Alice gets is the segment;
 * raw mode: Alice's plaintext is the content es_sender_message_in makes),
 * if the bodies do not come out in sealing order (by counter), or if the
 * termination is not reported. */
#include "fuzz_common.h"

#include "../../session/sender.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGES 12
#define F_REVERSE 4u
#define F_TWICE 8u
#define F_TERMINATE 16u
#define F_RAW 32u

typedef struct opened {
    uint8_t counter[16];
    char *plain; /* what Alice got (MESSAGE) */
} opened;

static fz_party alice, bob;
static esession_receiver *receiver;
static esession_publication pub;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_reseed(3);
    alice = fz_alice("alice.ks");
    bob = fz_bob("bob.ks");
    fz_publish(&alice, 2, &pub); /* 1024 bits: the key exchange is not what is tested */
    receiver = fz_receiver(&alice);
    return 0;
}

static void fail(const char *what, size_t i)
{
    fprintf(stderr, "fuzz_seal_open: %s (message %zu)\n", what, i);
    abort();
}

/* The text of the first <body> of Alice's plaintext, malloc'ed. */
static char *body_text(const char *plain)
{
    static const char open[] = "<m xmlns='jabber:client'>", close[] = "</m>";
    size_t n = strlen(plain);
    char *w = malloc(sizeof open + n + sizeof close);
    if (w == NULL)
        fz_die("out of memory");
    snprintf(w, sizeof open + n + sizeof close, "%s%s%s", open, plain, close);
    xmlDocPtr doc = xmlReadMemory(w, (int)strlen(w), NULL, NULL, XML_PARSE_NONET);
    free(w);
    char *text = NULL;
    xmlNodePtr root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    for (xmlNodePtr c = root != NULL ? root->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "body") == 0) {
            xmlChar *t = xmlNodeGetContent(c);
            text = strdup(t != NULL ? (const char *)t : "");
            xmlFree(t);
            break;
        }
    }
    xmlFreeDoc(doc);
    return text;
}

/* What Alice must read for a raw segment: the content Bob's side makes. */
static char *raw_expected(const char *msg)
{
    char type[ES_SENDER_TYPE_MAX];
    esession_buf m = {NULL, 0, 0};
    if (es_sender_message_in(bob.ctx, FZ_ALICE, msg, strlen(msg), FZ_NOW, type, &m) !=
        ESESSION_OK)
        fail("es_sender_message_in refused what seal took", 0);
    char *s = strndup(m.data, m.len);
    esession_buf_free(&m);
    return s;
}

static char *raw_message(const char *seg, size_t len)
{
    static const char head[] = "<message to='" FZ_ALICE "' type='chat'>", tail[] = "</message>";
    char *s = malloc(sizeof head + len + sizeof tail);
    if (s == NULL)
        fz_die("out of memory");
    memcpy(s, head, sizeof head - 1);
    memcpy(s + sizeof head - 1, seg, len);
    memcpy(s + sizeof head - 1 + len, tail, sizeof tail);
    return s;
}

static int by_counter(const void *a, const void *b)
{
    /* C_B is random and the session short: no wrap at 2^128 in practice. */
    return memcmp(((const opened *)a)->counter, ((const opened *)b)->counter, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    esession_buf st[MAX_MESSAGES + 1];
    char *expect[MAX_MESSAGES];
    opened got[2 * MAX_MESSAGES + 2];
    size_t n_st = 0, n_got = 0, terminated = 0, start = 1;
    const char *text = (const char *)data;

    if (size == 0)
        return 0;
    unsigned flags = data[0];
    fz_reseed(4);
    esession_sender *s = fz_start(&bob, &pub, 1 + (flags & 3u));

    /* Bob seals. */
    while (start <= size && n_st < MAX_MESSAGES) {
        const char *nul = size > start ? memchr(text + start, '\0', size - start) : NULL;
        size_t end = nul != NULL ? (size_t)(nul - text) : size;
        char *msg = flags & F_RAW ? raw_message(text + start, end - start)
                                  : fz_message(text + start, end - start);
        if (fz_seal(&bob, s, msg, &st[n_st]) == ESESSION_OK) {
            expect[n_st] = flags & F_RAW ? raw_expected(msg) : strndup(text + start, end - start);
            n_st++;
        }
        free(msg);
        start = end + 1;
    }
    esession_buf term = {NULL, 0, 0};
    if (esession_sender_terminate(s, &term) != ESESSION_OK)
        fail("terminate failed", n_st);
    esession_sender_free(s);
    if (term.data != NULL)
        fz_check(esession_sender_sent(bob.ctx, bob.ks, &term), bob.ctx, "sent");

    /* Alice opens. */
    fz_check(esession_keystore_begin(alice.ks), alice.ctx, "begin");
    size_t rounds = flags & F_TWICE ? 2 : 1;
    for (size_t k = 0; k < n_st * rounds + 1; k++) {
        const esession_buf *b;
        if (k == n_st * rounds)
            b = flags & F_TERMINATE && term.data != NULL ? &term : NULL;
        else {
            size_t i = k / rounds;
            b = &st[flags & F_REVERSE && i > 0 ? n_st - i : i];
        }
        if (b == NULL)
            break;
        if (esession_receiver_feed(receiver, b->data, b->len, k) != ESESSION_OK)
            fz_die("receiver_feed refused a stanza");
        esession_result res;
        while (esession_receiver_next(receiver, &res)) {
            if (res.kind == ESESSION_RESULT_ERROR) {
                fprintf(stderr, "error %s for stanza %llu\n", esession_status_name(res.error),
                        (unsigned long long)res.tag);
                fail("a sealed stanza did not open", (size_t)res.tag);
            }
            if (res.kind == ESESSION_RESULT_MESSAGE) {
                if (n_got == sizeof got / sizeof got[0])
                    fail("more messages than stanzas", n_got);
                memcpy(got[n_got].counter, res.counter, 16);
                got[n_got++].plain = strndup(res.plaintext.data, res.plaintext.len);
            }
            terminated += res.kind == ESESSION_RESULT_TERMINATED;
            esession_result_free(&res);
        }
    }
    esession_keystore_rollback(alice.ks);

    /* Compare. */
    if (n_got != n_st)
        fail("not every sealed stanza opened once", n_got);
    if (terminated != (flags & F_TERMINATE && term.data != NULL ? 1u : 0u))
        fail("termination not reported once", n_st);
    qsort(got, n_got, sizeof got[0], by_counter);
    for (size_t i = 0; i < n_st; i++) {
        char *b = flags & F_RAW ? strdup(got[i].plain) : body_text(got[i].plain);
        if (b == NULL || strcmp(b, expect[i]) != 0) {
            fprintf(stderr, "sealed:  [%s]\nopened:  [%s]\nplaintext: [%s]\n", expect[i],
                    b != NULL ? b : "(no body)", got[i].plain);
            fail("body differs", i);
        }
        free(b);
    }
    for (size_t i = 0; i < n_st; i++) {
        free(expect[i]);
        free(got[i].plain);
        esession_buf_free(&st[i]);
    }
    esession_buf_free(&term);
    fz_bob_reset(&bob);
    return 0;
}
