/* SPDX-License-Identifier: ISC */
/* XEP-0082 DateTime, proleptic Gregorian calendar, years 0000..9999.
 * Leap seconds (ss = 60) are rejected: the Unix time scale has none, and
 * no XMPP stamp needs one. */
#include "datetime.h"

#include <string.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define MIN_SECS (-62167219200LL)
#define MAX_SECS (253402300799LL)
#define MAX_OFFSET_MIN (14 * 60)

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d: count in 400-year eras of 146097 days,
 * with years starting in March so the leap day comes last. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                              /* 0..399 */
    int64_t mp = m > 2 ? m - 3 : m + 9;                       /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;                 /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;      /* 0..146096 */
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at s[*i]; advances *i. -1 if not all digits. */
static int digits(const char *s, size_t len, size_t *i, size_t n)
{
    int v = 0;
    if (len - *i < n)
        return -1;
    for (size_t k = 0; k < n; k++) {
        char c = s[*i + k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *i += n;
    return v;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return -1;
    (*i)++;
    return 0;
}

esession_status es_datetime_parse(const char *s, size_t len, int64_t *secs, uint32_t *micros)
{
    if (s == NULL || secs == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    size_t i = 0;
    int year = digits(s, len, &i, 4);
    if (year < 0 || expect(s, len, &i, '-') != 0)
        return ESESSION_ERR_MALFORMED;
    int mon = digits(s, len, &i, 2);
    if (mon < 1 || mon > 12 || expect(s, len, &i, '-') != 0)
        return ESESSION_ERR_MALFORMED;
    int day = digits(s, len, &i, 2);
    if (day < 1 || day > days_in_month(year, mon) || expect(s, len, &i, 'T') != 0)
        return ESESSION_ERR_MALFORMED;
    int hh = digits(s, len, &i, 2);
    if (hh < 0 || hh > 23 || expect(s, len, &i, ':') != 0)
        return ESESSION_ERR_MALFORMED;
    int mm = digits(s, len, &i, 2);
    if (mm < 0 || mm > 59 || expect(s, len, &i, ':') != 0)
        return ESESSION_ERR_MALFORMED;
    int ss = digits(s, len, &i, 2);
    if (ss < 0 || ss > 59)
        return ESESSION_ERR_MALFORMED;

    uint32_t us = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 6)
                us = us * 10u + (uint32_t)(s[i] - '0');
            i++;
        }
        if (i == start)
            return ESESSION_ERR_MALFORMED;
        for (size_t k = i - start; k < 6; k++)
            us *= 10u;
    }

    int offset_min = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        int oh = digits(s, len, &i, 2);
        if (oh < 0 || expect(s, len, &i, ':') != 0)
            return ESESSION_ERR_MALFORMED;
        int om = digits(s, len, &i, 2);
        if (om < 0 || om > 59 || oh * 60 + om > MAX_OFFSET_MIN)
            return ESESSION_ERR_MALFORMED;
        offset_min = sign * (oh * 60 + om);
    } else {
        return ESESSION_ERR_MALFORMED; /* the zone is required */
    }
    if (i != len)
        return ESESSION_ERR_MALFORMED;

    int64_t t = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    *secs = t - (int64_t)offset_min * 60;
    if (micros != NULL)
        *micros = us;
    return ESESSION_OK;
}

esession_status es_datetime_format(int64_t secs, char out[ES_DATETIME_LEN + 1])
{
    if (out == NULL || secs < MIN_SECS || secs > MAX_SECS)
        return ESESSION_ERR_INVALID_ARGUMENT;
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int v[6] = { (int)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60) };
    static const char layout[] = "0000-00-00T00:00:00Z";
    /* Field widths and their positions in the layout. */
    static const unsigned pos[6] = { 0, 5, 8, 11, 14, 17 };
    static const unsigned width[6] = { 4, 2, 2, 2, 2, 2 };
    memcpy(out, layout, sizeof layout);
    for (size_t f = 0; f < 6; f++) {
        int x = v[f];
        for (unsigned k = width[f]; k-- > 0;) {
            out[pos[f] + k] = (char)('0' + x % 10);
            x /= 10;
        }
    }
    return ESESSION_OK;
}
