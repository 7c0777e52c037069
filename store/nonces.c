/* SPDX-License-Identifier: ISC */
/* The batch of record nonces a keystore handle makes ahead (record.c). A
 * child process must never use nonces its parent made (both would): the
 * batch names the process that made it, and a transaction started by any
 * other process finds it empty. A page wiped on fork (MADV_WIPEONFORK)
 * would save the process id check, but not every place the library runs
 * honours it (valgrind, for one, accepts the advice and copies the page),
 * and a nonce used twice under one key is not a risk worth a system call. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

esession_status es_ks_nonces_new(esession_keystore *ks)
{
    ks->nonces = calloc(1, sizeof *ks->nonces);
    return ks->nonces != NULL ? ESESSION_OK : ESESSION_ERR_NO_MEMORY;
}

void es_ks_nonces_free(esession_keystore *ks)
{
    if (ks->nonces == NULL)
        return;
    sodium_memzero(ks->nonces, sizeof *ks->nonces);
    free(ks->nonces);
    ks->nonces = NULL;
}

void es_ks_nonces_check(esession_keystore *ks)
{
    es_ks_nonces *n = ks->nonces;
    if (n->left == 0 || n->pid == (long)getpid())
        return;
    sodium_memzero(n->v, sizeof n->v);
    n->left = 0;
}

void es_ks_nonces_drawn(esession_keystore *ks)
{
    ks->nonces->left = ES_KS_NONCE_BATCH;
    ks->nonces->pid = (long)getpid();
}
