/* SPDX-License-Identifier: ISC */
/* The batch of record nonces a keystore handle makes ahead (record.c). A
 * child process must never use nonces its parent made (both would):
 * where the system offers it (Linux 4.14 on: MADV_WIPEONFORK), the batch
 * lives in a page that a child gets zeroed, so that it finds the batch
 * empty at no cost; elsewhere the process id is compared at the start of
 * every transaction, a system call each time. */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS, madvise */
#include "ks.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(MADV_WIPEONFORK)
static size_t page_bytes(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t size = sizeof(es_ks_nonces);
    if (page <= 0)
        return 0;
    return (size + (size_t)page - 1) / (size_t)page * (size_t)page;
}
#endif

esession_status es_ks_nonces_new(esession_keystore *ks)
{
#if defined(MADV_WIPEONFORK)
    size_t size = page_bytes();
    void *p = size > 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0)
                       : MAP_FAILED;
    if (p != MAP_FAILED && madvise(p, size, MADV_WIPEONFORK) == 0) {
        ks->nonces = p; /* zero, as mapped */
        ks->nonces_wiped_on_fork = 1;
        return ESESSION_OK;
    }
    if (p != MAP_FAILED)
        (void)munmap(p, size);
#endif
    ks->nonces = calloc(1, sizeof *ks->nonces);
    ks->nonces_wiped_on_fork = 0;
    return ks->nonces != NULL ? ESESSION_OK : ESESSION_ERR_NO_MEMORY;
}

void es_ks_nonces_free(esession_keystore *ks)
{
    if (ks->nonces == NULL)
        return;
    sodium_memzero(ks->nonces, sizeof *ks->nonces);
#if defined(MADV_WIPEONFORK)
    if (ks->nonces_wiped_on_fork) {
        (void)munmap(ks->nonces, page_bytes());
        ks->nonces = NULL;
        return;
    }
#endif
    free(ks->nonces);
    ks->nonces = NULL;
}

void es_ks_nonces_check(esession_keystore *ks)
{
    es_ks_nonces *n = ks->nonces;
    if (ks->nonces_wiped_on_fork || n->left == 0 || n->pid == (long)getpid())
        return;
    sodium_memzero(n->v, sizeof n->v);
    n->left = 0;
}

void es_ks_nonces_drawn(esession_keystore *ks)
{
    ks->nonces->left = ES_KS_NONCE_BATCH;
    if (!ks->nonces_wiped_on_fork)
        ks->nonces->pid = (long)getpid();
}
