/* SPDX-License-Identifier: ISC */
/* IQ ids: unpredictable, so that only the server that got the request can
 * answer it, and unique per call without any shared counter. */
#include "pep.h"

#include <string.h>

#define ID_OCTETS (ES_PEP_ID_LEN / 2u)

esession_status es_pep_new_id(esession_ctx *ctx, char id[ES_PEP_ID_LEN + 1])
{
    if (id == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: no id buffer");
    uint8_t raw[ID_OCTETS];
    esession_status rc = es_random(ctx, raw, sizeof raw);
    if (rc != ESESSION_OK)
        return rc;
    char hex[ES_PEP_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    memcpy(id, hex, sizeof hex);
    ES_WIPE(raw);
    return ESESSION_OK;
}
