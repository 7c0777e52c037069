/* SPDX-License-Identifier: ISC */
/* Releasing keystore items (secret parts wiped) and shared input checks. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

void es_ks_key_free(void *item)
{
    es_ks_key *k = item;
    if (k == NULL)
        return;
    esession_buf_free(&k->pem);
    esession_key_free(k->decoded);
    sodium_memzero(k, sizeof *k);
    free(k);
}

/* Strings that are private but not secret (who one talks to): wiped anyway
 * since it costs nothing. */
static void free_str(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

void es_ks_trust_free(void *item)
{
    es_ks_trust *t = item;
    if (t == NULL)
        return;
    free_str(t->jid);
    free_str(t->petname);
    free(t->keyvalue);
    esession_key_free(t->decoded);
    sodium_memzero(t, sizeof *t);
    free(t);
}

void es_ks_optset_free(void *item)
{
    es_ks_optset *o = item;
    if (o == NULL)
        return;
    for (size_t i = 0; i < ES_OPTSET_MAX_GROUPS; i++)
        esession_buf_free(&o->pub.x[i]);
    esession_buf_free(&o->pub.form);
    sodium_memzero(o, sizeof *o);
    free(o);
}

void es_ks_blob_free(void *item)
{
    es_ks_blob *b = item;
    if (b == NULL)
        return;
    esession_buf_free(&b->data);
    free_str(b->name);
    sodium_memzero(b, sizeof *b);
    free(b);
}

int es_ks_text_ok(const char *s, size_t len)
{
    return len == 0 || memchr(s, '\0', len) == NULL;
}

int es_ks_jid_ok(const char *jid, size_t len)
{
    /* The shape of a stored name only: new ones passed esession_jid_check
     * at the entry point, and a record written under an earlier, looser
     * rule must still read. */
    return len > 0 && len <= ES_KS_JID_MAX && es_ks_text_ok(jid, len) &&
           memchr(jid, '/', len) == NULL;
}

int es_ks_blob_name_ok(const char *name, size_t len)
{
    return len > 0 && len <= ES_BLOB_NAME_MAX && es_ks_text_ok(name, len);
}
