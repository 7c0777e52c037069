/* SPDX-License-Identifier: ISC */
/* OpenSSL's secure heap, on the program's request. The private integers of
 * RSA and DSA keys are allocated by OpenSSL itself (BN_secure_new when it
 * decodes or generates a key); they land in locked, non-dumpable pages only
 * once the process has set that heap up. It is one heap per process, so
 * the library never sets it up on its own (docs/crypto.md). */
#include "sig.h"

#include <openssl/crypto.h>

/* OpenSSL aborts on a size that is not a power of two: checked here. */
#define HEAP_MIN 4096u
#define HEAP_MAX (1u << 30)
#define HEAP_MIN_ALLOC 16u /* smallest block handed out */

esession_status esession_secure_heap_init(size_t size, int *locked)
{
    if (size < HEAP_MIN || size > HEAP_MAX || (size & (size - 1)) != 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (CRYPTO_secure_malloc_initialized())
        return ESESSION_ERR_STATE;
    int r = CRYPTO_secure_malloc_init(size, HEAP_MIN_ALLOC);
    if (r == 0)
        return ESESSION_ERR_NO_MEMORY;
    if (locked != NULL)
        *locked = r == 1; /* 2: mapped with guard pages, but mlock or madvise was refused */
    return ESESSION_OK;
}

const char *es_secure_heap_hint(void)
{
    /* OpenSSL reports a full heap as a decoding or encoding failure. */
    return CRYPTO_secure_malloc_initialized() ? " (or OpenSSL's secure heap is full)" : "";
}
