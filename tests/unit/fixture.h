/* SPDX-License-Identifier: ISC */
/* The set-up the unit tests share: a context, the hardened parser with an
 * assertion, the first data form of a document, and the files of
 * tests/data. Each helper asserts, so a test reads as what it checks. */
#ifndef ESESSION_TEST_FIXTURE_H
#define ESESSION_TEST_FIXTURE_H

#include "esession.h"

#include <libxml/tree.h>
#include <stddef.h>

/* A new context with the default host operations. */
esession_ctx *fx_ctx_new(void);

/* A Criterion suite `name` whose every test has a fresh context in the
 * file's `ctx`, freed after it. */
#define FX_SUITE_WITH_CTX(name)                                                                \
    static esession_ctx *ctx;                                                                   \
    static void fx_setup_##name(void)                                                           \
    {                                                                                           \
        ctx = fx_ctx_new();                                                                     \
    }                                                                                           \
    static void fx_teardown_##name(void)                                                        \
    {                                                                                           \
        esession_ctx_free(ctx);                                                                 \
    }                                                                                           \
    TestSuite(name, .init = fx_setup_##name, .fini = fx_teardown_##name)

/* Under valgrind, the slowest cases are left out (the same code paths run
 * natively and under ASan). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* text parsed by es_xml_parse (the library's hardened parser). */
xmlDocPtr fx_parse(esession_ctx *ctx, const char *text);

/* The first jabber:x:data <x> at or below n in document order, or NULL. */
xmlNodePtr fx_find_x(xmlNodePtr n);

/* The contents of tests/data/name, NUL-terminated; *len (may be NULL)
 * gets its length. Free with free(). */
char *fx_data(const char *name, size_t *len);

/* The key in the PEM file tests/data/name. */
esession_key *fx_key(esession_ctx *ctx, const char *name);

/* The server's answer to Bob's items request `id`, from Alice's bare JID
 * `from` to `to`, carrying `form` in the subscribers' node. Free with
 * free(). */
char *fx_items_result(const char *from, const char *to, const char *id, const char *form);

#endif
