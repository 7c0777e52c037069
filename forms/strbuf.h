/* SPDX-License-Identifier: ISC */
/* A growable output buffer for the XML writers (private to forms/). */
#ifndef ESESSION_STRBUF_H
#define ESESSION_STRBUF_H

#include "../core/core.h"
#include "../core/xmlesc.h"

typedef struct es_sb {
    char *data;
    size_t len;
    size_t cap;
    size_t max;             /* hard bound on len */
    int secret;             /* grow in guarded memory, wipe what is left behind */
    const esession_ctx *ctx; /* whose pool a secret buffer grows in (NULL: regions of its own) */
    esession_status status; /* first failure; later writes are ignored */
} es_sb;

void es_sb_init(es_sb *b, size_t max, int secret);
/* The same, growing a secret buffer in ctx's pool of secret memory. */
void es_sb_init_in(es_sb *b, const esession_ctx *ctx, size_t max, int secret);
/* Append n octets. Failures are sticky in b->status. */
void es_sb_put(es_sb *b, const char *s, size_t n);
void es_sb_puts(es_sb *b, const char *s);
/* Append s escaped by es_xml_escape (flags: ES_XML_ATTR, ES_XML_CANONICAL). */
void es_sb_put_escaped(es_sb *b, const char *s, unsigned flags);
/* Hand the text over as an esession_buf (NUL-terminated); b is emptied.
 * Returns b->status if an earlier write failed (b is then freed). */
esession_status es_sb_finish(es_sb *b, esession_buf *out);
/* Wipe and release. */
void es_sb_free(es_sb *b);

#endif
