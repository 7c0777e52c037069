/* SPDX-License-Identifier: ISC */
/* XEP-0082 DateTime (PROFILE §1). */
#ifndef ESESSION_DATETIME_H
#define ESESSION_DATETIME_H

#include "../core/core.h"

#define ES_DATETIME_LEN 20 /* "YYYY-MM-DDThh:mm:ssZ" */

/* Parse CCYY-MM-DDThh:mm:ss[.s+](Z|+hh:mm|-hh:mm) into seconds since the
 * Unix epoch (UTC). Fractional seconds are accepted and truncated (their
 * microseconds, if micros is non-NULL, rounded down). Impossible dates and
 * times (2023-02-29, 24:00:00, minute 60, offset beyond 14:00), missing
 * seconds or zone, and trailing text are ESESSION_ERR_MALFORMED. */
esession_status es_datetime_parse(const char *s, size_t len, int64_t *secs, uint32_t *micros);

/* Format secs as "YYYY-MM-DDThh:mm:ssZ" into out (ES_DATETIME_LEN + 1).
 * Years outside 0000..9999 are ESESSION_ERR_INVALID_ARGUMENT. */
esession_status es_datetime_format(int64_t secs, char out[ES_DATETIME_LEN + 1]);

#endif
