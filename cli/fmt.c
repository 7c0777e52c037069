/* SPDX-License-Identifier: ISC */
/* Formatting: fingerprints, times, JIDs, JSON strings and XML text. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void cli_fp_text(const uint8_t fp[ESESSION_FINGERPRINT_BYTES], char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < ESESSION_FINGERPRINT_BYTES; i += 2) {
        if (i > 0)
            out[o++] = ' ';
        if (i == ESESSION_FINGERPRINT_BYTES / 2)
            out[o++] = ' ';
        out[o++] = digits[fp[i] >> 4];
        out[o++] = digits[fp[i] & 15];
        out[o++] = digits[fp[i + 1] >> 4];
        out[o++] = digits[fp[i + 1] & 15];
    }
    out[o] = '\0';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int cli_fp_parse(const char *s, uint8_t fp[ESESSION_FINGERPRINT_BYTES], size_t *n)
{
    size_t k = 0;
    memset(fp, 0, ESESSION_FINGERPRINT_BYTES);
    for (; *s != '\0'; s++) {
        if (*s == ' ' || *s == ':')
            continue;
        int v = hexval(*s);
        if (v < 0 || k >= 2 * ESESSION_FINGERPRINT_BYTES)
            return -1;
        fp[k / 2] |= (uint8_t)(k % 2 == 0 ? v << 4 : v);
        k++;
    }
    if (k == 0)
        return -1;
    *n = k;
    return 0;
}

int cli_fp_prefix_match(const uint8_t fp[ESESSION_FINGERPRINT_BYTES], const uint8_t *want,
                        size_t ndigits)
{
    size_t full = ndigits / 2;
    if (memcmp(fp, want, full) != 0)
        return 0;
    if (ndigits % 2 == 1 && (fp[full] & 0xf0) != (want[full] & 0xf0))
        return 0;
    return 1;
}

void cli_time_text(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, n, "@%lld", (long long)t);
}

/* The library's JID rule, so that the tool takes exactly what the
 * library will. */
int cli_bare_jid_ok(const char *jid)
{
    return esession_jid_check(NULL, jid, ESESSION_JID_BARE) == ESESSION_OK;
}

int cli_full_jid_ok(const char *jid)
{
    return esession_jid_check(NULL, jid, ESESSION_JID_FULL) == ESESSION_OK;
}

/* ---- JSON */

void json_strn(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char ch = p[i];
        if (ch == '"' || ch == '\\') {
            fputc('\\', f);
            fputc(ch, f);
            i++;
        } else if (ch == '\n') {
            fputs("\\n", f);
            i++;
        } else if (ch == '\r') {
            fputs("\\r", f);
            i++;
        } else if (ch == '\t') {
            fputs("\\t", f);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(f, "\\u%04x", ch);
            i++;
        } else {
            size_t k = esession_utf8_char_len(s + i, n - i);
            if (k == 0) {
                fputs("\\ufffd", f); /* not UTF-8: JSON text must be */
                i++;
            } else {
                fwrite(p + i, 1, k, f);
                i += k;
            }
        }
    }
    fputc('"', f);
}

void json_str(FILE *f, const char *s)
{
    if (s == NULL)
        fputs("null", f);
    else
        json_strn(f, s, strlen(s));
}

void json_key(FILE *f, int *first, const char *key)
{
    if (!*first)
        fputc(',', f);
    *first = 0;
    json_str(f, key);
    fputc(':', f);
}

/* ---- XML */

/* The library's escaper, into a malloc'ed copy. */
int cli_xml_escape(const char *s, size_t n, int attr, char **out, size_t *outlen)
{
    size_t need = esession_xml_escape(NULL, 0, s, n, attr);
    char *o = need < SIZE_MAX ? malloc(need + 1) : NULL;
    if (o == NULL)
        return -1;
    (void)esession_xml_escape(o, need + 1, s, n, attr);
    *out = o;
    *outlen = need;
    return 0;
}

/* What the result says of the key that signed the session: in words, and
 * as a name for --json and delivery commands. */
const char *cli_key_state_word(esession_key_state k)
{
    switch (k) {
    case ESESSION_KEY_STATE_VERIFIED: return "verified";
    case ESESSION_KEY_STATE_TRUSTED: return "trusted, not verified";
    case ESESSION_KEY_STATE_HOST: return "trusted by the host";
    default: return "unknown (session from before 0.2)";
    }
}

const char *cli_key_state_name(esession_key_state k)
{
    switch (k) {
    case ESESSION_KEY_STATE_VERIFIED: return "verified";
    case ESESSION_KEY_STATE_TRUSTED: return "trusted";
    case ESESSION_KEY_STATE_HOST: return "host";
    default: return "unknown";
    }
}
