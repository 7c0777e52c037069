/* SPDX-License-Identifier: ISC */
/* XEP-0082 DateTime: the published examples, the calendar, and every
 * rejection. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../forms/datetime.h"
#include "../common/vecfile.h"

static esession_status parse(const char *s, int64_t *secs, uint32_t *us)
{
    return es_datetime_parse(s, strlen(s), secs, us);
}

static void parses_to(const char *s, int64_t want, uint32_t want_us)
{
    int64_t secs = 0;
    uint32_t us = 99;
    cr_assert_eq(parse(s, &secs, &us), ESESSION_OK, "rejected %s", s);
    cr_assert_eq(secs, want, "%s: %lld", s, (long long)secs);
    cr_assert_eq(us, want_us, "%s: %u us", s, us);
}

static void rejected(const char *s)
{
    int64_t secs = 12345;
    uint32_t us = 678;
    cr_assert_eq(parse(s, &secs, &us), ESESSION_ERR_MALFORMED, "accepted %s", s);
    cr_assert_eq(secs, 12345);
    cr_assert_eq(us, 678);
}

static void formats_to(int64_t secs, const char *want)
{
    char out[ES_DATETIME_LEN + 1];
    cr_assert_eq(es_datetime_format(secs, out), ESESSION_OK);
    cr_assert_str_eq(out, want);
}

static void xep0082_vectors(void)
{
    vec_file f;
    cr_assert_eq(vec_file_load(&f, "vectors/xep0082_datetimes.txt"), 0);
    size_t good = 0, bad = 0, other = 0;
    for (size_t i = 0; i < f.count; i++) {
        const vec_record *r = &f.records[i];
        const char *input = vec_get(r, "input");
        const char *profile = vec_get(r, "profile");
        cr_assert_not_null(input);
        cr_assert_not_null(profile);
        const char *lex = vec_get(r, "xep0082_datetime");
        if (strcmp(profile, "datetime") == 0 && (lex == NULL || strcmp(lex, "yes") == 0)) {
            int64_t secs;
            cr_assert_eq(parse(input, &secs, NULL), ESESSION_OK, "line %u: %s", r->line, input);
            cr_assert_eq(secs, strtoll(vec_get(r, "unix_time"), NULL, 10), "line %u", r->line);
            char out[ES_DATETIME_LEN + 1];
            cr_assert_eq(es_datetime_format(secs, out), ESESSION_OK);
            cr_assert_str_eq(out, vec_get(r, "utc"), "line %u", r->line);
            good++;
        } else if (strcmp(profile, "datetime") == 0) {
            rejected(input);
            bad++;
        } else {
            rejected(input); /* a Date or a Time is not a DateTime */
            other++;
        }
    }
    cr_assert_geq(good, 8);
    cr_assert_geq(bad, 3);
    cr_assert_geq(other, 2);
    vec_file_free(&f);
}

static void fractional_seconds(void)
{
    parses_to("2026-11-30T10:00:00.5Z", 1796032800, 500000);
    parses_to("2026-11-30T10:00:00.000001Z", 1796032800, 1);
    parses_to("2026-11-30T10:00:00.123456Z", 1796032800, 123456); /* ejabberd */
    parses_to("2026-11-30T10:00:00.1234567891234567890123Z", 1796032800, 123456);
    parses_to("2026-11-30T10:00:00.999999999Z", 1796032800, 999999); /* truncated, not rounded */
    parses_to("2026-11-30T10:00:00.000Z", 1796032800, 0);
    int64_t secs = 0;
    cr_assert_eq(parse("2026-11-30T10:00:00.5Z", &secs, NULL), ESESSION_OK);
    rejected("2026-11-30T10:00:00.Z");
    rejected("2026-11-30T10:00:00,5Z");
    rejected("2026-11-30T10:00:00.5");
    rejected("2026-11-30T10:00:00.5.5Z");
}

static void zones(void)
{
    parses_to("2026-11-30T10:00:00Z", 1796032800, 0);
    parses_to("2026-11-30T10:00:00+00:00", 1796032800, 0);
    parses_to("2026-11-30T10:00:00-00:00", 1796032800, 0);
    parses_to("2026-11-30T15:30:00+05:30", 1796032800, 0);
    parses_to("2026-11-30T04:15:00-05:45", 1796032800, 0);
    parses_to("2026-12-01T00:00:00+14:00", 1796032800, 0);
    parses_to("2026-11-30T00:00:00-14:00", 1796047200, 0);
    parses_to("1970-01-01T00:59:59+01:00", -1, 0);
    rejected("2026-11-30T10:00:00+14:01");
    rejected("2026-11-30T10:00:00+15:00");
    rejected("2026-11-30T10:00:00+05:60");
    rejected("2026-11-30T10:00:00+0500");
    rejected("2026-11-30T10:00:00+5:00");
    rejected("2026-11-30T10:00:00 +05:00");
    rejected("2026-11-30T10:00:00z");
    rejected("2026-11-30T10:00:00");
    rejected("2026-11-30T10:00:00UTC");
}

static void impossible_dates_and_times(void)
{
    parses_to("2024-02-29T00:00:00Z", 1709164800, 0);
    parses_to("2000-02-29T00:00:00Z", 951782400, 0);
    rejected("2023-02-29T00:00:00Z");
    rejected("1900-02-29T00:00:00Z");
    rejected("2024-02-30T00:00:00Z");
    rejected("2023-04-31T00:00:00Z");
    rejected("2023-06-31T00:00:00Z");
    rejected("2023-09-31T00:00:00Z");
    rejected("2023-11-31T00:00:00Z");
    rejected("2023-13-01T00:00:00Z");
    rejected("2023-00-01T00:00:00Z");
    rejected("2023-01-00T00:00:00Z");
    rejected("2023-01-32T00:00:00Z");
    rejected("2023-01-01T24:00:00Z");
    rejected("2023-01-01T23:60:00Z");
    rejected("2016-12-31T23:59:60Z"); /* a real leap second: rejected */
    parses_to("2023-12-31T23:59:59Z", 1704067199, 0);
    parses_to("2023-01-31T00:00:00Z", 1675123200, 0);
}

static void year_range(void)
{
    parses_to("0000-01-01T00:00:00Z", -62167219200LL, 0);
    parses_to("0000-02-29T00:00:00Z", -62167219200LL + 59 * 86400, 0); /* year 0 is leap */
    parses_to("9999-12-31T23:59:59Z", 253402300799LL, 0);
    parses_to("1969-07-21T02:56:15Z", -14159025, 0);
    /* Offsets may carry the instant just outside 0000..9999. */
    parses_to("0000-01-01T00:00:00+01:00", -62167219200LL - 3600, 0);
    parses_to("9999-12-31T23:59:59-01:00", 253402300799LL + 3600, 0);
    rejected("10000-01-01T00:00:00Z");
    rejected("-0001-01-01T00:00:00Z");
    rejected("+2026-01-01T00:00:00Z");
    rejected("999-01-01T00:00:00Z");
}

static void syntax(void)
{
    rejected("");
    rejected("2004-02-19T21:12Z");
    rejected("2004-02-19");
    rejected("21:12:00Z");
    rejected("2004-02-19t21:12:00Z");
    rejected("2004-02-19 21:12:00Z");
    rejected("20040219T21:12:00Z"); /* legacy XEP-0090 form */
    rejected("2004-2-19T21:12:00Z");
    rejected("2004-02-19T21:12:0Z");
    rejected(" 2004-02-19T21:12:00Z");
    rejected("2004-02-19T21:12:00Z ");
    rejected("2004-02-19T21:12:00Zjunk");
    rejected("2004-02-19T2a:12:00Z");
    rejected("2004-02-19T21-12-00Z");
    rejected("2004/02/19T21:12:00Z");
    int64_t secs = 7;
    /* The length is honoured: no NUL terminator needed, none accepted inside. */
    cr_assert_eq(es_datetime_parse("2004-02-19T21:12:00Zjunk", 20, &secs, NULL), ESESSION_OK);
    cr_assert_eq(secs, 1077225120);
    cr_assert_eq(es_datetime_parse("2004-02-19T21:12:00Z\0", 21, &secs, NULL),
                 ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_datetime_parse("2004-02-19T21:12:00Z", 19, &secs, NULL),
                 ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_datetime_parse("2004-02-19T21:12:00Z", 5, &secs, NULL),
                 ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_datetime_parse(NULL, 0, &secs, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_datetime_parse("2004-02-19T21:12:00Z", 20, NULL, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(secs, 1077225120);
}

static void format(void)
{
    formats_to(0, "1970-01-01T00:00:00Z");
    formats_to(-1, "1969-12-31T23:59:59Z");
    formats_to(1796032800, "2026-11-30T10:00:00Z");
    formats_to(951782400, "2000-02-29T00:00:00Z");
    formats_to(-62167219200LL, "0000-01-01T00:00:00Z");
    formats_to(253402300799LL, "9999-12-31T23:59:59Z");
    char out[ES_DATETIME_LEN + 1] = "untouched";
    cr_assert_eq(es_datetime_format(-62167219201LL, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_datetime_format(253402300800LL, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_datetime_format(INT64_MIN, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_datetime_format(INT64_MAX, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_str_eq(out, "untouched");
    cr_assert_eq(es_datetime_format(0, NULL), ESESSION_ERR_INVALID_ARGUMENT);
}

/* Across the whole range, format and parse invert each other; inside the
 * range of the C library, both agree with gmtime_r. */
static void round_trip_and_libc_agreement(void)
{
    uint64_t state = 0x9e3779b97f4a7c15u;
    const int64_t lo = -62167219200LL, span = 253402300799LL - lo + 1;
    for (int i = 0; i < 20000; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        int64_t secs = lo + (int64_t)((state >> 11) % (uint64_t)span);
        if (i < 4)
            secs = (int64_t[]){ lo, lo + span - 1, 0, -1 }[i];
        char out[ES_DATETIME_LEN + 1];
        cr_assert_eq(es_datetime_format(secs, out), ESESSION_OK);
        int64_t back;
        cr_assert_eq(es_datetime_parse(out, ES_DATETIME_LEN, &back, NULL), ESESSION_OK, "%s", out);
        cr_assert_eq(back, secs, "%s", out);

        time_t t = (time_t)secs;
        struct tm tm;
        if ((int64_t)t == secs && gmtime_r(&t, &tm) != NULL) {
            char want[64];
            snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
            cr_assert_str_eq(out, want);
        }
    }
}

Test(datetime, vectors)
{
    xep0082_vectors();
}

Test(datetime, accepted)
{
    fractional_seconds();
    zones();
    year_range();
}

Test(datetime, rejected)
{
    impossible_dates_and_times();
    syntax();
}

Test(datetime, format_and_round_trip)
{
    format();
    round_trip_and_libc_agreement();
}
